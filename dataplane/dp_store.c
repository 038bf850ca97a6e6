/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_store.c - store and forward for one data-plane lcore (see dp_store.h).
 *
 * Three structures, all preallocated at start-up and touched by the owning lcore
 * only:
 *   - a pool of pending messages (payload copy + metadata), found by
 *     (session id, recipient role, e2e_seq) through an rte_hash;
 *   - one "recipient" record per (session id, role) with messages pending: the
 *     e2e_seq range held, what was delivered, and the re-send timer; the
 *     recipients with something to deliver are on an active list and on a
 *     timer wheel by their next attempt, so the re-send scan visits only the
 *     ones due, whatever the number of recipients waiting (see "Re-send
 *     timer wheel" below);
 *   - a FIFO of DATA_ACKs waiting for their message to become durable.
 * Messages of one direction carry consecutive e2e_seq numbers, so the range
 * [lo, hi) of a recipient is scanned directly instead of keeping a sorted
 * structure; lo follows the oldest held message (it may lag behind it over a
 * gap, never pass it), so the scans stay short whatever the numbers are, also
 * for a backlog recovered after a restart.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_log.h>
#include <rte_malloc.h>

#include "dp_store.h"
#include "sga_replay.h"
#include "sga_wire.h"

RTE_LOG_REGISTER(dp_store_logtype, sga.store, INFO);
#define STORE_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, dp_store_logtype, "sga.store: " fmt "\n", ##__VA_ARGS__)

#define MAX_LOGS         8   /* own log + logs left by a larger lcore count */
#define RESEND_PER_RECIP 16  /* re-sends per recipient and round */
#define EXPIRE_SWEEP     256 /* pool entries checked for age per round */

/* A recipient's delivery window is [lo, lo + DP_STORE_HOLD_AHEAD): only what
 * lies there is ever sent to it (relayed at once or re-sent by the scan). That
 * plus a sender's window (up to 512 messages, device/sga_client.h) must stay
 * inside the E2E replay window. */
_Static_assert(DP_STORE_HOLD_AHEAD + 512 <= SGA_REPLAY_WINDOW - 64,
               "held messages must stay inside the recipient's E2E replay window");
#define NONE UINT32_MAX

struct pend_key {
	uint64_t sid;
	uint64_t e2e_seq;
	uint8_t role;
	uint8_t pad[7];
};

struct recip_key {
	uint64_t sid;
	uint8_t role;
	uint8_t pad[7];
};

struct pend {
	uint64_t sid;
	uint64_t e2e_seq;
	uint64_t lsn;
	uint64_t arrived_ms;
	uint64_t sent_ms; /* last (re-)delivery attempt */
	uint32_t recip;
	uint32_t next_free;
	uint16_t len;
	uint8_t role; /* recipient */
	uint8_t log;  /* index in st->logs */
	uint8_t used;
	uint8_t recovered; /* from a log at start-up (not appended in this run) */
	uint8_t inner[SGA_FRAME_MAX];
};

struct recip {
	uint64_t sid;
	uint8_t role;
	uint8_t in_use;
	uint32_t count;      /* messages pending */
	uint32_t active_pos; /* index in st->active, NONE if not listed */
	uint32_t wheel_prev; /* links in the timer wheel's slot list (active only) */
	uint32_t wheel_next;
	uint32_t wheel_slot;     /* the slot it is linked in, NONE: not linked */
	uint64_t delivered_next; /* every e2e_seq below was delivered and released */
	uint64_t lo;             /* no message below is held (count > 0) */
	uint64_t hi;             /* one past the highest e2e_seq held */
	uint64_t next_try_ms;
	uint32_t backoff_ms;
	uint32_t pass_sent;   /* re-sent in the current pass over the window */
	uint64_t fast_resent; /* 1 + the hole last re-sent on a repeated report, 0: none */
	uint64_t gap;         /* 1 + the lowest message refused (see refuse()), 0: none */
	uint8_t behind;       /* a message was refused behind the gap since it was set */
	uint64_t skip_to;     /* DATA_SKIP(skip_to) until delivered_next reaches it (expiry) */
	uint64_t mark_lsn;    /* its live delivered mark (see mark_write), 0: none */
	uint8_t mark_log;     /* the log holding it (index in st->logs) */
	uint8_t in_pass;      /* a re-send pass is under way (continued next round) */
	uint64_t pass_end_ms; /* when the last pass ended (dp_store_kick spaces them) */
	uint32_t next_free;
};

struct ack_wait {
	uint64_t lsn; /* 0: durable already */
	uint64_t sid;
	uint64_t e2e_seq;
	uint8_t role; /* sender */
};

struct dp_store {
	struct dp_store_config cfg;
	struct msg_log *logs[MAX_LOGS];
	unsigned n_logs;

	struct pend *pend;
	/* 1 + arrived_ms of each used pool entry, 0: free. A compact copy for
	 * oldest_sweep, which reads it sequentially (the entries are ~1.6 KiB). */
	uint64_t *pend_arrived;
	uint64_t oldest_cycle; /* 1 + the oldest arrival seen in the current sweep cycle */
	uint64_t oldest_seen;  /* 1 + the oldest arrival of the last full cycle, 0: none */
	uint32_t oldest_cursor;
	uint32_t pend_free;
	struct rte_hash *pend_idx;

	struct recip *recip;
	uint32_t n_recip, recip_free, recip_clock;
	struct rte_hash *recip_idx;
	uint32_t *active;
	uint32_t n_active;
	uint32_t *wheel;     /* WHEEL_HEADS list heads (recipient index, NONE: empty) */
	uint64_t wheel_done; /* the last millisecond whose slot the scan went through */
	uint32_t due_cur;    /* the due list new overdue recipients go to (0, 1) */

	struct ack_wait *acks;
	uint32_t ack_cap, ack_head, ack_tail; /* head: oldest */

	/* statistics (single writer: the lcore; readers take snapshots) */
	uint64_t pending, stored, held, delivered, resent, refused_full, refused_error,
	    refused_behind_gap, expired, skips, release_lost, lab_reappended, marks_written,
	    marks_lost, resealed_relayed, resealed_replaced, skips_deferred, resends_deferred,
	    closed_released, adopted, adopt_have, adopt_done, adopt_refused;
	void *repl_ctx[MAX_LOGS]; /* the replication hook's context per log */
	uint64_t last_lsn;        /* the last lsn appended to logs[0] */
	uint64_t mark_refresh;    /* a mark this many lsns old is written again (see mark_sweep) */
	uint32_t expire_cursor, mark_cursor;
	/* Marks superseded during start-up (two marks of one stream: a crash between
	 * a new mark and the release of the old one), released once their log is
	 * open; more are left in the log (the next start finds them again). */
	struct {
		uint64_t lsn;
		uint8_t log;
	} stale[64];
	unsigned n_stale;
	uint32_t reserve; /* pool slots only a message filling a hole may take */
};

static uint64_t real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void log_sink(void *ctx, enum msg_log_level level, const char *msg)
{
	(void)ctx;
	if (level == MSG_LOG_LVL_ERR)
		STORE_LOG(ERR, "%s", msg);
	else if (level == MSG_LOG_LVL_WARN)
		STORE_LOG(WARNING, "%s", msg);
	else
		STORE_LOG(INFO, "%s", msg);
}

/* ---- recipients ---------------------------------------------------------------- */

/* Something to deliver: messages held, or a DATA_SKIP not yet acknowledged.
 * Exactly the recipients in st->active; only the others may be recycled. */
static bool skip_due(const struct recip *rc)
{
	return rc->skip_to > rc->delivered_next;
}

static bool recip_busy(const struct recip *rc)
{
	return rc->count || skip_due(rc);
}

/*
 * Re-send timer wheel. The scan runs once a millisecond; it used to walk
 * every active recipient to find the few whose next_try_ms had come: ~29
 * instructions (and, with many sessions, a cache miss or two) per recipient
 * waiting for a DATA_DELIVERED, every millisecond; at M2M scale thousands
 * wait at any moment (callgrind, 2,000 waiting: 58,700 instructions a scan;
 * with the wheel 14,700, nearly all of them the oldest-message sweep, and
 * the same with any number waiting). Now each active recipient sits in
 * the slot of its next attempt (one slot per millisecond, WHEEL_SLOTS of
 * them), and the scan takes the slots of the milliseconds that passed. An
 * attempt further ahead than the wheel reaches sits in the farthest slot and
 * is linked again when that slot comes; one at or before the last millisecond
 * gone through (a report's "at once", a pass continued next round) sits on a
 * due list, taken by the next scan whatever its clock says. Two due lists,
 * so that a scan does not take again what it linked: the one a scan takes is
 * not the one it links to. So every recipient is visited at its time or
 * before it (then linked again), never later, and once a round at most.
 */
#define WHEEL_SLOTS 8192u /* > the default resend_max_ms (5,000): no re-link */
#define WHEEL_MASK  (WHEEL_SLOTS - 1)
#define WHEEL_DUE   WHEEL_SLOTS /* heads WHEEL_DUE + 0 and + 1: the due lists */
#define WHEEL_HEADS (WHEEL_SLOTS + 2)

static void wheel_unlink(struct dp_store *st, uint32_t r)
{
	struct recip *rc = &st->recip[r];

	if (rc->wheel_slot == NONE)
		return;
	if (rc->wheel_prev != NONE)
		st->recip[rc->wheel_prev].wheel_next = rc->wheel_next;
	else
		st->wheel[rc->wheel_slot] = rc->wheel_next;
	if (rc->wheel_next != NONE)
		st->recip[rc->wheel_next].wheel_prev = rc->wheel_prev;
	rc->wheel_slot = NONE;
}

static void wheel_link(struct dp_store *st, uint32_t r)
{
	struct recip *rc = &st->recip[r];
	uint64_t t = rc->next_try_ms;
	uint32_t slot;

	if (t <= st->wheel_done)
		slot = WHEEL_DUE + st->due_cur;
	else if (t > st->wheel_done + WHEEL_SLOTS - 1)
		slot = (uint32_t)((st->wheel_done + WHEEL_SLOTS - 1) & WHEEL_MASK);
	else
		slot = (uint32_t)(t & WHEEL_MASK);
	rc->wheel_slot = slot;
	rc->wheel_prev = NONE;
	rc->wheel_next = st->wheel[slot];
	if (rc->wheel_next != NONE)
		st->recip[rc->wheel_next].wheel_prev = r;
	st->wheel[slot] = r;
}

/* The next attempt of recipient r is at t (ms; 0: the next round). */
static void recip_schedule(struct dp_store *st, uint32_t r, uint64_t t)
{
	st->recip[r].next_try_ms = t;
	if (st->recip[r].active_pos == NONE)
		return; /* linked by active_add */
	wheel_unlink(st, r);
	wheel_link(st, r);
}

static void active_add(struct dp_store *st, uint32_t r)
{
	if (st->recip[r].active_pos != NONE)
		return;
	st->recip[r].active_pos = st->n_active;
	st->active[st->n_active++] = r;
	wheel_link(st, r);
}

static void active_del(struct dp_store *st, uint32_t r)
{
	uint32_t pos = st->recip[r].active_pos, last;

	if (pos == NONE)
		return;
	wheel_unlink(st, r);
	last = st->active[--st->n_active];
	st->active[pos] = last;
	st->recip[last].active_pos = pos;
	st->recip[r].active_pos = NONE;
}

static int32_t recip_find(const struct dp_store *st, uint64_t sid, uint8_t role)
{
	struct recip_key k = {.sid = sid, .role = role};
	void *data;

	if (rte_hash_lookup_data(st->recip_idx, &k, &data) < 0)
		return -1;
	return (int32_t)(uintptr_t)data;
}

/*
 * Delivered marks. What a recipient reported with DATA_DELIVERED (every
 * e2e_seq below delivered_next reached it) is what makes a late copy of a
 * delivered message DP_STORE_DONE rather than a new message. A restart used to
 * lose it with the recipient record, so a re-sealed or replayed copy of a
 * delivered and released message was stored and re-sent again as if new, for
 * good to a recipient that had left (it never reports it again). So the report
 * is kept in the log as well: a MSG record with flags DP_STORE_REC_MARK, no
 * payload, e2e_seq = delivered_next, role = the recipient; one live per
 * recipient, the previous one released when a newer one is written. It is
 * appended before the RELEASEs of the messages the report delivers, and the
 * writer keeps ring order: a crash never finds them released and the mark
 * missing. At start marks rebuild delivered_next (on_recover), and a message
 * below its recipient's mark (its RELEASE was lost) is released rather than
 * delivered again (drop_delivered). A mark that grows old is written again
 * (mark_sweep), so that it does not keep old segments on disk; a recipient
 * record recycled for another recipient takes its mark with it (mark_drop),
 * as it forgets the report in memory too.
 */
static int mark_write(struct dp_store *st, uint32_t r, uint64_t delivered_next)
{
	struct recip *rc = &st->recip[r];
	struct msg_rec meta;
	uint64_t lsn;

	memset(&meta, 0, sizeof(meta));
	meta.session_id = rc->sid;
	meta.e2e_seq = delivered_next;
	meta.role = rc->role;
	meta.flags = DP_STORE_REC_MARK;
	if (msg_log_append(st->logs[0], &meta, NULL, 0, &lsn)) {
		st->marks_lost++; /* ring full or error state: the next report writes one */
		return -1;
	}
	st->last_lsn = lsn;
	if (rc->mark_lsn && msg_log_release(st->logs[rc->mark_log], rc->mark_lsn))
		st->release_lost++;
	rc->mark_lsn = lsn;
	rc->mark_log = 0;
	st->marks_written++;
	return 0;
}

/* Release a record: at once if its log is open, else (start-up, the log being
 * recovered) once it is. */
static void release_when_open(struct dp_store *st, uint64_t lsn, uint8_t log)
{
	if (log < st->n_logs) {
		if (msg_log_release(st->logs[log], lsn))
			st->release_lost++;
	} else if (st->n_stale < RTE_DIM(st->stale)) {
		st->stale[st->n_stale].lsn = lsn;
		st->stale[st->n_stale].log = log;
		st->n_stale++;
	}
}

static void mark_drop(struct dp_store *st, uint32_t r)
{
	struct recip *rc = &st->recip[r];

	if (!rc->mark_lsn)
		return;
	release_when_open(st, rc->mark_lsn, rc->mark_log);
	rc->mark_lsn = 0;
}

/* A recipient record, created if needed. An idle record (nothing pending) may be
 * recycled for a new recipient when none is free: it only remembers what was
 * delivered (and its mark), which is then lost: a late copy of a delivered
 * message is stored and relayed again, and dropped as a duplicate by the
 * device. */
static int32_t recip_get(struct dp_store *st, uint64_t sid, uint8_t role)
{
	struct recip_key k = {.sid = sid, .role = role};
	int32_t r = recip_find(st, sid, role);
	uint32_t i;

	if (r >= 0)
		return r;
	if (st->recip_free != NONE) {
		i = st->recip_free;
		st->recip_free = st->recip[i].next_free;
	} else {
		uint32_t tries;

		for (tries = 0; tries < st->n_recip; tries++) {
			i = st->recip_clock++ % st->n_recip;
			if (st->recip[i].in_use && !recip_busy(&st->recip[i]))
				break;
		}
		if (tries == st->n_recip)
			return -1;
		struct recip_key old = {.sid = st->recip[i].sid, .role = st->recip[i].role};
		rte_hash_del_key(st->recip_idx, &old);
		/* What it remembers goes, durably too: a mark nobody holds would
		 * keep its segment on disk for good. */
		mark_drop(st, i);
	}
	memset(&st->recip[i], 0, sizeof(st->recip[i]));
	st->recip[i].sid = sid;
	st->recip[i].role = role;
	st->recip[i].in_use = 1;
	st->recip[i].active_pos = NONE;
	st->recip[i].wheel_slot = NONE;
	st->recip[i].backoff_ms = st->cfg.resend_min_ms;
	if (rte_hash_add_key_data(st->recip_idx, &k, (void *)(uintptr_t)i) < 0) {
		st->recip[i].in_use = 0;
		st->recip[i].next_free = st->recip_free;
		st->recip_free = i;
		return -1;
	}
	return (int32_t)i;
}

/* ---- pending messages ------------------------------------------------------------ */

static int32_t pend_find(const struct dp_store *st, uint64_t sid, uint8_t role, uint64_t seq)
{
	struct pend_key k = {.sid = sid, .e2e_seq = seq, .role = role};
	void *data;

	if (rte_hash_lookup_data(st->pend_idx, &k, &data) < 0)
		return -1;
	return (int32_t)(uintptr_t)data;
}

/*
 * Release held message p's record, naming it (session, recipient, e2e_seq) in
 * the RELEASE so that a replica deletes it by key (msg_log_release_key). Only
 * for a message that is gone from the store: a copy replaced by a newer one
 * of the same key (held_replace, a duplicate at start-up) and a delivered
 * mark are released anonymously, as their key lives on in the newer record.
 */
static int pend_release(struct dp_store *st, const struct pend *p)
{
	return msg_log_release_key(st->logs[p->log], p->lsn, p->sid, p->role, p->e2e_seq);
}

/* Take a pool entry for (sid, role, seq) and index it; -1 when full. */
static int32_t pend_new(struct dp_store *st, uint32_t r, uint64_t sid, uint8_t role, uint64_t seq,
                        const uint8_t *inner, size_t len, uint64_t arrived_ms)
{
	struct pend_key k = {.sid = sid, .e2e_seq = seq, .role = role};
	uint32_t i = st->pend_free;
	struct pend *p;

	if (i == NONE || len > SGA_FRAME_MAX)
		return -1;
	p = &st->pend[i];
	if (rte_hash_add_key_data(st->pend_idx, &k, (void *)(uintptr_t)i) < 0)
		return -1;
	st->pend_free = p->next_free;
	p->sid = sid;
	p->e2e_seq = seq;
	p->role = role;
	p->recip = r;
	p->len = (uint16_t)len;
	p->arrived_ms = arrived_ms;
	st->pend_arrived[i] = arrived_ms + 1;
	p->sent_ms = arrived_ms;
	memcpy(p->inner, inner, len);
	p->used = 1;
	p->recovered = 0;
	if (st->recip[r].count == 0 || seq < st->recip[r].lo)
		st->recip[r].lo = seq;
	st->recip[r].count++;
	if (seq + 1 > st->recip[r].hi)
		st->recip[r].hi = seq + 1;
	st->pending++;
	active_add(st, r);
	return (int32_t)i;
}

static void pend_free(struct dp_store *st, uint32_t i)
{
	struct pend *p = &st->pend[i];
	struct pend_key k = {.sid = p->sid, .e2e_seq = p->e2e_seq, .role = p->role};
	struct recip *r = &st->recip[p->recip];

	rte_hash_del_key(st->pend_idx, &k);
	p->used = 0;
	st->pend_arrived[i] = 0;
	r->count--;
	if (!recip_busy(r))
		active_del(st, p->recip);
	st->pending--;
	p->next_free = st->pend_free;
	st->pend_free = i;
}

/* Frees the messages held for recipient rc (sid, role) below end and queues
 * their log releases; returns how many. Everything held lies in [lo, hi). A
 * release that cannot be queued now is harmless: the record stays in the log
 * and comes back after a restart as a duplicate the device drops. Always
 * inlined: dp_store_delivered runs for each DELIVERED report. */
static __rte_always_inline unsigned release_below(struct dp_store *st, struct recip *rc,
                                                  uint64_t sid, uint8_t role, uint64_t end)
{
	unsigned released = 0;

	if (end > rc->hi)
		end = rc->hi;
	for (uint64_t s = rc->lo; s < end && rc->count; s++) {
		int32_t i = pend_find(st, sid, role, s);

		if (i < 0)
			continue;
		if (pend_release(st, &st->pend[i]))
			st->release_lost++;
		pend_free(st, (uint32_t)i);
		released++;
	}
	return released;
}

/* ---- start-up ---------------------------------------------------------------------- */

struct recover_ctx {
	struct dp_store *st;
	uint8_t log;
	uint64_t now;      /* CLOCK_MONOTONIC_COARSE ms */
	uint64_t now_real; /* CLOCK_REALTIME ms: record timestamps */
	uint64_t dropped;
	uint64_t marks;      /* delivered marks among the live records */
	uint64_t duplicates; /* second copies of a held message, released */
};

static void on_recover(void *arg, const struct msg_rec *meta, const void *payload, size_t len)
{
	struct recover_ctx *rc = arg;
	struct dp_store *st = rc->st;
	int32_t r = recip_get(st, meta->session_id, meta->role), i = -1;
	/* Its age carries over the restart (for max_age_ms). */
	uint64_t age = rc->now_real > meta->timestamp_ms ? rc->now_real - meta->timestamp_ms : 0;

	if (meta->flags & DP_STORE_REC_MARK) {
		rc->marks++;
		if (r < 0)
			return; /* no record for it: a copy may be stored again, as before */
		struct recip *rp = &st->recip[r];

		if (rp->mark_lsn && rp->delivered_next > meta->e2e_seq) {
			release_when_open(st, meta->lsn, rc->log); /* an older report */
			return;
		}
		if (rp->mark_lsn)
			release_when_open(st, rp->mark_lsn, rp->mark_log);
		rp->mark_lsn = meta->lsn;
		rp->mark_log = rc->log;
		rp->delivered_next = meta->e2e_seq;
		return;
	}
	if (r >= 0 && (i = pend_find(st, meta->session_id, meta->role, meta->e2e_seq)) >= 0 &&
	    len <= SGA_FRAME_MAX) {
		/* Another copy of a held message (a re-sealed one replaced it, and
		 * the crash came before the older copy's RELEASE): the later one
		 * is the sender's, as at run time (dp_store_reseal). Logs are
		 * recovered newest first (ours, then former lcores'), lsns in
		 * order within each. */
		struct pend *p = &st->pend[i];

		rc->duplicates++;
		if (p->log != rc->log) {
			release_when_open(st, meta->lsn, rc->log); /* an older log's */
			return;
		}
		release_when_open(st, p->lsn, p->log);
		p->lsn = meta->lsn;
		p->log = rc->log;
		p->len = (uint16_t)len;
		memcpy(p->inner, payload, len);
		return;
	}
	i = -1;
	if (r >= 0)
		i = pend_new(st, (uint32_t)r, meta->session_id, meta->role, meta->e2e_seq, payload,
		             len, rc->now > age ? rc->now - age : 0);
	if (i < 0) {
		rc->dropped++;
		return;
	}
	st->pend[i].lsn = meta->lsn;
	st->pend[i].log = rc->log;
	st->pend[i].sent_ms = 0; /* not sent since the restart */
	st->pend[i].recovered = 1;
	recip_schedule(st, (uint32_t)r, rc->now); /* deliver soon after start */
}

/* Marks superseded while their log was being recovered: released now that it
 * is open. */
static void release_stale(struct dp_store *st)
{
	unsigned keep = 0;

	for (unsigned k = 0; k < st->n_stale; k++) {
		if (st->stale[k].log < st->n_logs) {
			if (msg_log_release(st->logs[st->stale[k].log], st->stale[k].lsn))
				st->release_lost++;
		} else {
			st->stale[keep++] = st->stale[k];
		}
	}
	st->n_stale = keep;
}

/* After start-up: a recovered message below its recipient's mark reached it
 * (the RELEASE its report queued was lost, or the mark came later in the
 * log): released, not delivered again. Returns how many. */
static uint64_t drop_delivered(struct dp_store *st)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < st->cfg.pending_max; i++) {
		struct pend *p = &st->pend[i];

		if (!p->used || p->e2e_seq >= st->recip[p->recip].delivered_next)
			continue;
		if (pend_release(st, p))
			st->release_lost++;
		pend_free(st, i);
		n++;
	}
	for (uint32_t r = 0; r < st->n_recip; r++) {
		struct recip *rc = &st->recip[r];

		if (rc->in_use && rc->lo < rc->delivered_next)
			rc->lo = rc->delivered_next;
	}
	return n;
}

static struct rte_hash *make_hash(const char *what, unsigned lcore, uint32_t entries,
                                  uint32_t key_len)
{
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters p = {
	    /* Twice the records it indexes: a cuckoo table near full refuses an
	     * add (-ENOSPC) while records are still free, and a refused add is a
	     * refused message (seen at 100,000 sessions: store_refused_full). */
	    .entries = entries < 8 ? 16 : 2 * entries,
	    .key_len = key_len,
	    .hash_func = rte_jhash,
	    .socket_id = SOCKET_ID_ANY,
	    .name = name,
	};

	snprintf(name, sizeof(name), "sga_%s_%u", what, lcore);
	return rte_hash_create(&p);
}

struct dp_store *dp_store_create(const struct dp_store_config *cfg, struct dp_store_report *rep)
{
	struct dp_store *st;
	uint32_t n;

	memset(rep, 0, sizeof(*rep));
	if (!cfg->dir || !cfg->n_lcores || cfg->lcore_index >= cfg->n_lcores || !cfg->pending_max) {
		errno = EINVAL;
		return NULL;
	}
	if (mkdir(cfg->dir, 0700) && errno != EEXIST) {
		int e = errno;
		STORE_LOG(ERR, "%s: cannot create the store directory: %s", cfg->dir, strerror(e));
		errno = e;
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->cfg = *cfg;
	if (!st->cfg.resend_min_ms)
		st->cfg.resend_min_ms = 200;
	if (!st->cfg.resend_max_ms)
		st->cfg.resend_max_ms = 5000;
	n = cfg->pending_max;
	st->reserve = n / DP_STORE_RESERVE_DIV;
	st->mark_refresh = 4ull * n > 65536 ? 4ull * n : 65536;
	st->n_recip = n;
	st->ack_cap = 2 * n;
	st->pend = rte_zmalloc("sga_store_pend", (size_t)n * sizeof(*st->pend), 0);
	st->pend_arrived =
	    rte_zmalloc("sga_store_arrived", (size_t)n * sizeof(*st->pend_arrived), 0);
	st->recip = rte_zmalloc("sga_store_recip", (size_t)n * sizeof(*st->recip), 0);
	st->active = rte_zmalloc("sga_store_active", (size_t)n * sizeof(*st->active), 0);
	st->wheel = rte_malloc("sga_store_wheel", WHEEL_HEADS * sizeof(*st->wheel), 0);
	if (st->wheel)
		memset(st->wheel, 0xff, WHEEL_HEADS * sizeof(*st->wheel)); /* NONE */
	st->acks = rte_zmalloc("sga_store_acks", (size_t)st->ack_cap * sizeof(*st->acks), 0);
	st->pend_idx = make_hash("pend", cfg->lcore_index, n, sizeof(struct pend_key));
	st->recip_idx = make_hash("recip", cfg->lcore_index, n, sizeof(struct recip_key));
	if (!st->pend || !st->pend_arrived || !st->recip || !st->active || !st->wheel ||
	    !st->acks || !st->pend_idx || !st->recip_idx) {
		STORE_LOG(ERR, "lcore %u: cannot allocate the pending index for %u messages",
		          cfg->lcore_index, n);
		dp_store_destroy(st);
		errno = ENOMEM;
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++) {
		st->pend[i].next_free = i + 1 < n ? i + 1 : NONE;
		st->recip[i].next_free = i + 1 < n ? i + 1 : NONE;
	}
	st->pend_free = 0;
	st->recip_free = 0;

	/* Our own log first (new messages go there), then logs of lcores that no
	 * longer exist whose index maps to us. */
	for (unsigned k = cfg->lcore_index; k < cfg->lcore_index + MAX_LOGS * cfg->n_lcores;
	     k += cfg->n_lcores) {
		char dir[512];
		struct msg_log_config lc = {
		    .dir = dir,
		    .fsync = cfg->fsync,
		    .fsync_interval_ms = cfg->fsync_interval_ms,
		    .segment_bytes = cfg->segment_bytes,
		    .max_bytes = cfg->max_bytes,
		    .ring_bytes = (size_t)cfg->ring_bytes,
		    /* Age retention is ours (expire_sweep): the log would drop old
		     * records unseen at start-up, and their recipient would never
		     * hear of it (no DATA_SKIP). */
		    .max_age_ms = 0,
		    .log_fn = log_sink,
		    .writer_cpus = cfg->writer_cpus,
		};
		struct recover_ctx rc = {.st = st,
		                         .log = (uint8_t)st->n_logs,
		                         .now = dp_store_now_ms(),
		                         .now_real = real_ms()};
		struct msg_log_recovery rr;
		struct msg_log *lg;

		snprintf(dir, sizeof(dir), "%s/lcore-%u", cfg->dir, k);
		if (k != cfg->lcore_index && access(dir, F_OK) != 0)
			continue;
		if (st->n_logs == MAX_LOGS)
			break;
		if (cfg->replica) {
			void *ctx = cfg->replica->open(cfg->replica->arg, k);

			if (!ctx) {
				int e = errno ? errno : ENOMEM;
				STORE_LOG(ERR, "%s: cannot set up the log's replica: %s", dir,
				          strerror(e));
				dp_store_destroy(st);
				errno = e;
				return NULL;
			}
			lc.replicate = cfg->replica->hook;
			lc.replicate_ctx = ctx;
			st->repl_ctx[st->n_logs] = ctx;
		}
		lg = msg_log_open(&lc, on_recover, &rc, &rr);
		if (!lg) {
			int e = errno;
			STORE_LOG(ERR, "%s: cannot open the message log: %s", dir, strerror(e));
			dp_store_destroy(st);
			errno = e;
			return NULL;
		}
		st->logs[st->n_logs++] = lg;
		if (st->n_logs == 1)
			st->last_lsn = rr.next_lsn ? rr.next_lsn - 1 : 0;
		release_stale(st);
		rr.live -= rc.marks + rc.duplicates; /* bookkeeping, not messages */
		rep->logs++;
		rep->marks += rc.marks;
		rep->live += rr.live - rc.dropped;
		rep->dropped += rc.dropped;
		rep->bytes_cut += rr.bytes_cut;
		rep->issues += rr.n_issues;
		if (rc.dropped)
			STORE_LOG(ERR,
			          "%s: %llu stored messages do not fit pending_max = %u and were "
			          "not loaded",
			          dir, (unsigned long long)rc.dropped, n);
		if (rr.live || rr.n_issues)
			STORE_LOG(INFO,
			          "%s: recovered %llu pending messages from %u segments (%u "
			          "issues, %llu bytes cut)",
			          dir, (unsigned long long)(rr.live - rc.dropped), rr.segments,
			          rr.n_issues, (unsigned long long)rr.bytes_cut);
	}
	rep->dropped_delivered = drop_delivered(st);
	rep->live -= rep->dropped_delivered;
	if (rep->dropped_delivered)
		STORE_LOG(INFO,
		          "lcore %u: %llu recovered messages were delivered already (below their "
		          "recipient's report) and were released",
		          cfg->lcore_index, (unsigned long long)rep->dropped_delivered);
	return st;
}

void dp_store_set_max_age(struct dp_store *st, uint64_t max_age_ms)
{
	__atomic_store_n(&st->cfg.max_age_ms, max_age_ms, __ATOMIC_RELAXED);
}

void dp_store_destroy(struct dp_store *st)
{
	if (!st)
		return;
	for (unsigned i = 0; i < st->n_logs; i++)
		msg_log_close(st->logs[i]);
	for (unsigned i = 0; i < MAX_LOGS; i++)
		if (st->repl_ctx[i] && st->cfg.replica)
			st->cfg.replica->close(st->repl_ctx[i]);
	rte_hash_free(st->pend_idx);
	rte_hash_free(st->recip_idx);
	if (st->pend)
		memset(st->pend, 0,
		       (size_t)st->cfg.pending_max *
		           sizeof(*st->pend)); /* E2E ciphertext only, still */
	rte_free(st->pend);
	rte_free(st->pend_arrived);
	rte_free(st->recip);
	rte_free(st->active);
	rte_free(st->wheel);
	rte_free(st->acks);
	free(st);
}

/* ---- lcore operations ---------------------------------------------------------------- */

static int ack_push(struct dp_store *st, uint64_t lsn, uint64_t sid, uint8_t sender, uint64_t seq)
{
	uint32_t next = (st->ack_tail + 1) % st->ack_cap;

	if (next == st->ack_head)
		return -ENOSPC;
	st->acks[st->ack_tail] =
	    (struct ack_wait){.lsn = lsn, .sid = sid, .e2e_seq = seq, .role = sender};
	st->ack_tail = next;
	return 0;
}

/*
 * A message the store cannot take leaves a hole in what it holds for the
 * recipient. If later messages were stored and acknowledged while the hole
 * stays open (the sender gives up on it: its session ends), the recipient,
 * which delivers in order, would wait at the hole for good and the stored ones
 * behind it would never reach its application. So the recipient's record
 * remembers the lowest refused message, and nothing after it is taken (nor
 * relayed, nor acknowledged: the sender keeps it) until that one is stored:
 * go-back-N, as the sender re-sends its unacknowledged messages oldest first.
 * If the refused one reaches the recipient unstored instead (its report moves
 * past it), the messages refused behind it are still missing: the gap moves to
 * the first one the recipient lacks rather than vanishing (dp_store_put).
 * Together with the pool's reserve for holes (DP_STORE_RESERVE_DIV) this keeps
 * the pool from filling with messages the recipient cannot confirm.
 */
static enum dp_store_put_rc refuse(struct dp_store *st, uint64_t sid, uint8_t to, uint64_t e2e_seq,
                                   bool hold, int why)
{
	int32_t r = recip_get(st, sid, to);

	if (why == -EIO)
		st->refused_error++;
	else
		st->refused_full++;
	if (r >= 0 && !st->recip[r].gap)
		st->recip[r].behind = 0;
	if (r >= 0 && (!st->recip[r].gap || e2e_seq < st->recip[r].gap - 1))
		st->recip[r].gap = e2e_seq + 1;
	if (hold)
		return DP_STORE_REFUSED_HOLD;
	return why == -EIO ? DP_STORE_ERROR : DP_STORE_FULL;
}

/* Pool entry i takes the copy appended as lsn (inner, len) in place of the
 * one it held, whose record is released: queued after the new MSG on the same
 * ring, and the writer keeps ring order, so a crash never finds the old copy
 * gone and the new one missing. Relayed now. */
static void held_replace(struct dp_store *st, uint32_t i, uint64_t lsn, const uint8_t *inner,
                         size_t len)
{
	struct pend *p = &st->pend[i];

	if (msg_log_release(st->logs[p->log], p->lsn))
		st->release_lost++;
	p->lsn = lsn;
	p->log = 0;
	p->recovered = 0;
	p->len = (uint16_t)len;
	memcpy(p->inner, inner, len);
	p->sent_ms = dp_store_now_ms();
}

/*
 * LAB ONLY (cfg.lab_replay, dp_store.h): a replayed message is appended again,
 * as a new MSG record, and taken as fresh. held >= 0: its key is held in pool
 * entry `held`; the new record replaces the old one there (payload, lsn,
 * arrival) and the old record is released, so the pool keeps one entry per
 * distinct message. The RELEASE is queued after the new MSG on the same ring
 * and the writer keeps ring order, so a crash never finds the old copy gone
 * and the new one missing. held < 0: the key was delivered already (below the
 * recipient's report); the new record is released at once, as its delivery
 * is done: real disk work, nothing held, the recipient's window untouched.
 * Either way its DATA_ACK waits for durability as any other's, and the caller
 * relays it. Refused (ring full, error state): relayed unstored, no DATA_ACK;
 * no gap is set (the message is held or delivered already).
 */
static enum dp_store_put_rc lab_put_again(struct dp_store *st, int32_t held, uint64_t sid,
                                          uint8_t from, uint64_t e2e_seq, const uint8_t *inner,
                                          size_t len)
{
	struct msg_rec meta;
	uint64_t lsn;
	int rc;

	if (len > SGA_FRAME_MAX || (st->ack_tail + 1) % st->ack_cap == st->ack_head) {
		st->refused_full++;
		return DP_STORE_FULL;
	}
	memset(&meta, 0, sizeof(meta));
	meta.session_id = sid;
	meta.e2e_seq = e2e_seq;
	meta.role = from ^ 1;
	rc = msg_log_append(st->logs[0], &meta, inner, len, &lsn);
	if (rc == -EIO) {
		st->refused_error++;
		return DP_STORE_ERROR;
	}
	if (rc) {
		st->refused_full++;
		return DP_STORE_FULL;
	}
	st->last_lsn = lsn;
	if (held >= 0) {
		held_replace(st, (uint32_t)held, lsn, inner, len);
		st->pend[held].arrived_ms = st->pend[held].sent_ms; /* taken as fresh */
		st->pend_arrived[held] = st->pend[held].arrived_ms + 1;
	} else if (msg_log_release_key(st->logs[0], lsn, sid, from ^ 1, e2e_seq)) {
		st->release_lost++;
	}
	st->stored++;
	st->lab_reappended++;
	(void)ack_push(st, lsn, sid, from, e2e_seq); /* room was checked */
	return DP_STORE_RELAY;
}

/* A recovered held message appended again to logs[0] (its older record
 * released anonymously: the key lives on in the new one), so that what is
 * acknowledged from here on has passed the replication hook in this run.
 * false: the log refused it (ring full, error state), nothing changed. */
static bool recovered_again(struct dp_store *st, uint32_t i)
{
	struct pend *p = &st->pend[i];
	struct msg_rec meta;
	uint64_t lsn;

	memset(&meta, 0, sizeof(meta));
	meta.session_id = p->sid;
	meta.e2e_seq = p->e2e_seq;
	meta.role = p->role;
	if (msg_log_append(st->logs[0], &meta, p->inner, p->len, &lsn))
		return false;
	st->last_lsn = lsn;
	if (msg_log_release(st->logs[p->log], p->lsn))
		st->release_lost++;
	p->lsn = lsn;
	p->log = 0;
	p->recovered = 0;
	return true;
}

enum dp_store_put_rc dp_store_put(struct dp_store *st, uint64_t sid, uint8_t from, uint64_t e2e_seq,
                                  const uint8_t *inner, size_t len)
{
	uint8_t to = from ^ 1;
	int32_t r = recip_find(st, sid, to), i;
	struct msg_rec meta;
	uint64_t lsn;
	bool hold;
	int rc;

	if (r >= 0 && e2e_seq < st->recip[r].delivered_next) {
		if (unlikely(st->cfg.lab_replay))
			return lab_put_again(st, -1, sid, from, e2e_seq, inner, len);
		return DP_STORE_DONE;
	}
	if (r >= 0 && (i = pend_find(st, sid, to, e2e_seq)) >= 0) {
		/* Held already: acknowledge once durable (the sender lost our ACK). */
		struct pend *p = &st->pend[i];
		uint64_t lsn_wait = p->log == 0 ? p->lsn : 0;

		if (unlikely(st->cfg.lab_replay))
			return lab_put_again(st, i, sid, from, e2e_seq, inner, len);

		if (unlikely(p->recovered && st->cfg.replica)) {
			/* Recovered at start: it may never have reached the replica
			 * (the crash came between the local write and the replication,
			 * so it was never acknowledged). Appended again, so that this
			 * DATA_ACK waits for the replica too. */
			if ((st->ack_tail + 1) % st->ack_cap == st->ack_head ||
			    !recovered_again(st, (uint32_t)i))
				return DP_STORE_REFUSED_HOLD; /* no ACK now; it is held anyway */
			lsn_wait = p->lsn;
		}
		if (ack_push(st, lsn_wait, sid, from, e2e_seq))
			return DP_STORE_REFUSED_HOLD; /* no ACK now; it is held anyway */
		return DP_STORE_HAVE;
	}
	if (r >= 0 && st->recip[r].gap && st->recip[r].gap - 1 < st->recip[r].delivered_next) {
		/* The refused one reached the recipient after all (relayed
		 * unstored). Those refused behind it did not: the hole is now
		 * where the recipient's report says, and only that message may
		 * come next. Forgetting them let their later copies be overtaken
		 * by newer messages that filled the pool above the hole (the
		 * bench_relay stall). */
		struct recip *rp = &st->recip[r];

		rp->gap = rp->behind ? rp->delivered_next + 1 : 0;
		rp->behind = 0;
	}
	if (r >= 0 && st->recip[r].gap && e2e_seq >= st->recip[r].gap) {
		/* Behind a message we refused: take nothing after it until its
		 * sender has it stored (see refuse()). */
		st->refused_behind_gap++;
		st->recip[r].behind = 1;
		return DP_STORE_REFUSED_HOLD;
	}
	/* LAB ONLY: nothing is held back (dp_store.h: a replaying generator never
	 * reports delivery, and the held ones would never go out). */
	hold = !st->cfg.lab_replay && r >= 0 && st->recip[r].count &&
	       e2e_seq >= st->recip[r].lo + DP_STORE_HOLD_AHEAD;
	if (st->pend_free == NONE || (st->ack_tail + 1) % st->ack_cap == st->ack_head ||
	    (st->cfg.pending_max - st->pending <= st->reserve &&
	     !(r >= 0 && st->recip[r].count && e2e_seq < st->recip[r].hi)))
		return refuse(st, sid, to, e2e_seq, hold, -ENOSPC);
	r = recip_get(st, sid, to);
	if (r < 0)
		return refuse(st, sid, to, e2e_seq, false, -ENOSPC);
	memset(&meta, 0, sizeof(meta));
	meta.session_id = sid;
	meta.e2e_seq = e2e_seq;
	meta.role = to;
	rc = msg_log_append(st->logs[0], &meta, inner, len, &lsn);
	if (rc)
		return refuse(st, sid, to, e2e_seq, hold, rc == -EIO ? -EIO : -ENOSPC);
	st->last_lsn = lsn;
	if (st->recip[r].gap == e2e_seq + 1) {
		st->recip[r].gap = 0; /* the hole is filled: take the ones after it again */
		st->recip[r].behind = 0;
	}
	if (st->recip[r].count == 0) {
		/* The relay delivers it now; re-send only if no DATA_DELIVERED comes. */
		recip_schedule(st, (uint32_t)r, dp_store_now_ms() + st->cfg.resend_min_ms);
		st->recip[r].backoff_ms = st->cfg.resend_min_ms;
	}
	i = pend_new(st, (uint32_t)r, sid, to, e2e_seq, inner, len, dp_store_now_ms());
	if (i < 0) {
		/* Cannot happen (checked above); keep the log consistent anyway. */
		if (msg_log_release_key(st->logs[0], lsn, sid, to, e2e_seq))
			STORE_LOG(WARNING, "release of lsn %llu not queued",
			          (unsigned long long)lsn);
		return refuse(st, sid, to, e2e_seq, hold, -ENOSPC);
	}
	st->pend[i].lsn = lsn;
	st->pend[i].log = 0;
	st->stored++;
	(void)ack_push(st, lsn, sid, from, e2e_seq); /* room was checked */
	if (hold) {
		/* Never sent: goes out when the recipient's window reaches it
		 * (dp_store_delivered, or the scan). */
		st->pend[i].sent_ms = 0;
		st->held++;
		return DP_STORE_HOLD;
	}
	return DP_STORE_RELAY;
}

enum dp_store_adopt_rc dp_store_adopt_put(struct dp_store *st, uint64_t sid, uint8_t to,
                                          uint64_t e2e_seq, const uint8_t *inner, size_t len,
                                          uint64_t now_ms)
{
	int32_t r = recip_find(st, sid, to), i;
	struct msg_rec meta;
	uint64_t lsn;
	int rc;

	if (r >= 0 && e2e_seq < st->recip[r].delivered_next) {
		st->adopt_done++;
		return DP_STORE_ADOPT_DONE;
	}
	if (r >= 0 && pend_find(st, sid, to, e2e_seq) >= 0) {
		st->adopt_have++;
		return DP_STORE_ADOPT_HAVE;
	}
	if (st->pend_free == NONE || len > SGA_FRAME_MAX || (r = recip_get(st, sid, to)) < 0) {
		st->adopt_refused++;
		return DP_STORE_ADOPT_FULL;
	}
	memset(&meta, 0, sizeof(meta));
	meta.session_id = sid;
	meta.e2e_seq = e2e_seq;
	meta.role = to;
	rc = msg_log_append(st->logs[0], &meta, inner, len, &lsn);
	if (rc) {
		st->adopt_refused++;
		return rc == -EIO ? DP_STORE_ADOPT_ERROR : DP_STORE_ADOPT_FULL;
	}
	st->last_lsn = lsn;
	i = pend_new(st, (uint32_t)r, sid, to, e2e_seq, inner, len, now_ms);
	if (i < 0) {
		/* Cannot happen (checked above); keep the log consistent anyway. */
		if (msg_log_release_key(st->logs[0], lsn, sid, to, e2e_seq))
			st->release_lost++;
		st->adopt_refused++;
		return DP_STORE_ADOPT_FULL;
	}
	st->pend[i].lsn = lsn;
	st->pend[i].log = 0;
	st->pend[i].sent_ms = 0; /* never sent from here: the scan delivers it */
	if (st->recip[r].gap == e2e_seq + 1) {
		st->recip[r].gap = 0; /* the hole is filled (see refuse()) */
		st->recip[r].behind = 0;
	}
	if (!st->recip[r].in_pass) {
		st->recip[r].backoff_ms = st->cfg.resend_min_ms;
		recip_schedule(st, (uint32_t)r, now_ms);
	}
	st->adopted++;
	return DP_STORE_ADOPTED;
}

void dp_store_adopt_mark(struct dp_store *st, uint64_t sid, uint8_t role, uint64_t delivered_next)
{
	int32_t r = recip_get(st, sid, role);
	struct recip *rc;

	if (r < 0 || delivered_next <= st->recip[r].delivered_next)
		return;
	rc = &st->recip[r];
	/* Durable first, then the releases it justifies (see mark_write). */
	(void)mark_write(st, (uint32_t)r, delivered_next);
	st->delivered += release_below(st, rc, sid, role, delivered_next);
	rc->delivered_next = delivered_next;
	if (rc->lo < delivered_next)
		rc->lo = delivered_next;
	if (!recip_busy(rc))
		active_del(st, (uint32_t)r);
}

bool dp_store_reseal(struct dp_store *st, uint64_t sid, uint8_t from, uint64_t e2e_seq,
                     const uint8_t *inner, size_t len)
{
	uint8_t to = from ^ 1;
	int32_t r = recip_find(st, sid, to), i;
	struct msg_rec meta;
	struct pend *p;
	uint64_t lsn;

	if (r < 0 || (i = pend_find(st, sid, to, e2e_seq)) < 0)
		return false;
	p = &st->pend[i];
	if (!p->sent_ms)
		return false; /* held back: it goes out in order (dp_store_delivered) */
	if (p->len != len || memcmp(p->inner, inner, len)) {
		/* The sender's bytes are the message; a held copy that differs is
		 * one the recipient may never open (and so never report), waiting
		 * at it for good: this copy takes its place, on disk too. Refused
		 * by the log (ring full, error state): relayed all the same, the
		 * held copy kept. */
		memset(&meta, 0, sizeof(meta));
		meta.session_id = sid;
		meta.e2e_seq = e2e_seq;
		meta.role = to;
		if (len <= SGA_FRAME_MAX && !msg_log_append(st->logs[0], &meta, inner, len, &lsn)) {
			st->last_lsn = lsn;
			held_replace(st, (uint32_t)i, lsn, inner, len);
			st->resealed_replaced++;
		}
	}
	p->sent_ms = dp_store_now_ms();
	st->resealed_relayed++;
	return true;
}

unsigned dp_store_acks_due(struct dp_store *st, struct dp_store_ack *out, unsigned n)
{
	uint64_t durable = msg_log_durable_lsn(st->logs[0]);
	unsigned k = 0;

	while (k < n && st->ack_head != st->ack_tail) {
		struct ack_wait *a = &st->acks[st->ack_head];

		if (a->lsn > durable)
			break;
		out[k++] = (struct dp_store_ack){
		    .session_id = a->sid, .role = a->role, .e2e_seq = a->e2e_seq};
		st->ack_head = (st->ack_head + 1) % st->ack_cap;
	}
	return k;
}

unsigned dp_store_delivered(struct dp_store *st, uint64_t sid, uint8_t role, uint64_t next_e2e_seq,
                            uint64_t now_ms, struct dp_store_resend *out, unsigned n)
{
	int32_t r = recip_find(st, sid, role);
	struct recip *rc;
	uint64_t old_top, end;
	unsigned k = 0;

	if (r < 0)
		return 0;
	rc = &st->recip[r];
	if (next_e2e_seq < rc->delivered_next)
		return 0; /* an older report, overtaken */
	if (next_e2e_seq == rc->delivered_next) {
		/* No progress: the recipient got later messages but lacks this one
		 * (it repeats its report as they arrive). Send it again now rather
		 * than at its timer, once per hole: if this copy is lost too, the
		 * timer takes over. */
		int32_t i = pend_find(st, sid, role, next_e2e_seq);

		if (i < 0 || n == 0 || !st->pend[i].sent_ms || rc->fast_resent == next_e2e_seq + 1)
			return 0;
		rc->fast_resent = next_e2e_seq + 1;
		st->pend[i].sent_ms = now_ms;
		out[0] = (struct dp_store_resend){.session_id = sid,
		                                  .role = role,
		                                  .e2e_seq = next_e2e_seq,
		                                  .inner = st->pend[i].inner,
		                                  .len = st->pend[i].len};
		st->resent++;
		return 1;
	}
	/* Durable first, then the releases it justifies (see mark_write). */
	(void)mark_write(st, (uint32_t)r, next_e2e_seq);
	old_top = rc->lo + DP_STORE_HOLD_AHEAD;
	st->delivered += release_below(st, rc, sid, role, next_e2e_seq);
	rc->delivered_next = next_e2e_seq;
	if (rc->lo < next_e2e_seq)
		rc->lo = next_e2e_seq;
	if (!recip_busy(rc))
		active_del(st, (uint32_t)r); /* and no DATA_SKIP is due any more */
	/* The window moved up: held messages now inside it go out at once, in
	 * order (the ones that were inside already went out before). */
	end = rc->lo + DP_STORE_HOLD_AHEAD < rc->hi ? rc->lo + DP_STORE_HOLD_AHEAD : rc->hi;
	for (uint64_t s = old_top > rc->lo ? old_top : rc->lo; s < end && k < n; s++) {
		int32_t i = pend_find(st, sid, role, s);
		struct pend *p;

		if (i < 0 || st->pend[i].sent_ms)
			continue;
		p = &st->pend[i];
		p->sent_ms = now_ms;
		out[k++] = (struct dp_store_resend){.session_id = sid,
		                                    .role = role,
		                                    .e2e_seq = s,
		                                    .inner = p->inner,
		                                    .len = p->len};
	}
	st->resent += k;
	/* Progress: the recipient is there. What it still lacks goes out on the
	 * next scan (messages sent less than resend_min_ms ago are left alone: they
	 * are most likely still on their way). */
	rc->backoff_ms = st->cfg.resend_min_ms;
	recip_schedule(st, (uint32_t)r, 0);
	rc->pass_sent = 0;
	rc->in_pass = 0; /* a new pass, with its notice if one is due */
	return k;
}

unsigned dp_store_forget(struct dp_store *st, uint64_t sid)
{
	unsigned released = 0;

	for (uint8_t role = 0; role < 2; role++) {
		struct recip_key k = {.sid = sid, .role = role};
		int32_t r = recip_find(st, sid, role);
		struct recip *rc;

		if (r < 0)
			continue;
		rc = &st->recip[r];
		released += release_below(st, rc, sid, role, rc->hi);
		active_del(st, (uint32_t)r);
		mark_drop(st, (uint32_t)r);
		rte_hash_del_key(st->recip_idx, &k);
		rc->in_use = 0;
		rc->next_free = st->recip_free;
		st->recip_free = (uint32_t)r;
	}
	st->closed_released += released;
	return released;
}

uint32_t dp_store_pending(const struct dp_store *st, uint64_t sid, uint8_t role)
{
	int32_t r = recip_find(st, sid, role);

	return r < 0 || !recip_busy(&st->recip[r]) ? 0 : st->recip[r].count;
}

uint32_t dp_store_backoff_ms(const struct dp_store *st, uint64_t sid, uint8_t role)
{
	int32_t r = recip_find(st, sid, role);

	return r < 0 || !recip_busy(&st->recip[r]) ? 0 : st->recip[r].backoff_ms;
}

void dp_store_kick(struct dp_store *st, uint64_t sid, uint8_t role)
{
	int32_t r = recip_find(st, sid, role);
	struct recip *rc;

	if (r < 0 || !recip_busy(&st->recip[r]))
		return;
	rc = &st->recip[r];
	if (rc->backoff_ms > st->cfg.resend_min_ms) {
		/* It was away: the backlog goes out at once - but no sooner than
		 * resend_min_ms after the last pass, as every frame it sends kicks
		 * (a recipient that sends without reporting would otherwise get a
		 * pass, and a DATA_SKIP, per frame of its own). */
		rc->backoff_ms = st->cfg.resend_min_ms;
		if (!rc->in_pass) /* else the pass under way goes on */
			recip_schedule(st, (uint32_t)r, rc->pass_end_ms + st->cfg.resend_min_ms);
	}
}

/*
 * Age retention for what is held in memory (the log expires its records on its
 * own): a message older than max_age_ms is released undelivered, and with it
 * every older-numbered one of its recipient, so that what the recipient lacks
 * below it is gone for good and a DATA_SKIP may say so (nothing still held is
 * ever skipped). EXPIRE_SWEEP pool entries per round: the whole pool in
 * pending_max / EXPIRE_SWEEP rounds (milliseconds).
 */
static void expire_sweep(struct dp_store *st, uint64_t now_ms, uint64_t max_age_ms)
{
	for (unsigned k = 0; k < EXPIRE_SWEEP && k < st->cfg.pending_max; k++) {
		struct pend *p = &st->pend[st->expire_cursor++ % st->cfg.pending_max];
		struct recip *rc;
		uint64_t upto;
		bool notice_due;

		if (!p->used || p->arrived_ms + max_age_ms > now_ms)
			continue;
		rc = &st->recip[p->recip];
		upto = p->e2e_seq + 1;
		notice_due = skip_due(rc);
		for (uint64_t s = rc->lo; s < upto && rc->count; s++) {
			int32_t i = pend_find(st, rc->sid, rc->role, s);

			if (i < 0)
				continue;
			if (pend_release(st, &st->pend[i]))
				st->release_lost++;
			if (!rc->skip_to || rc->skip_to < upto)
				rc->skip_to = upto; /* before pend_free: keeps it listed */
			pend_free(st, (uint32_t)i);
			st->expired++;
		}
		if (rc->lo < upto)
			rc->lo = upto;
		if (skip_due(rc)) {
			active_add(st, p->recip);
			if (!notice_due)
				recip_schedule(st, p->recip,
				               0); /* tell it now; later on the timer */
		}
	}
}

/*
 * The oldest pending message, for the statistics: OLDEST_SWEEP entries of
 * pend_arrived per round, published at the end of each cycle over the pool
 * (pending_max / OLDEST_SWEEP rounds, milliseconds). The log's own oldest live
 * record is not it: delivered marks are live records too.
 */
#define OLDEST_SWEEP 1024

static void oldest_sweep(struct dp_store *st)
{
	for (unsigned k = 0; k < OLDEST_SWEEP; k++) {
		uint64_t a = st->pend_arrived[st->oldest_cursor];

		if (a && (!st->oldest_cycle || a < st->oldest_cycle))
			st->oldest_cycle = a;
		if (++st->oldest_cursor == st->cfg.pending_max) {
			st->oldest_cursor = 0;
			__atomic_store_n(&st->oldest_seen, st->oldest_cycle, __ATOMIC_RELAXED);
			st->oldest_cycle = 0;
		}
	}
}

/*
 * Delivered marks that grew old are written again (mark_write), a few
 * recipient records per round: a mark mark_refresh lsns behind the log's head
 * (or in the log of a former lcore) would keep its segment on disk for good,
 * as nothing else releases it while its recipient stays quiet. mark_refresh is
 * at least four times the records that can hold a mark, so refreshing costs at
 * most one MSG and one RELEASE per four records appended.
 */
#define MARK_SWEEP 16

static void mark_sweep(struct dp_store *st)
{
	for (unsigned k = 0; k < MARK_SWEEP && k < st->n_recip; k++) {
		uint32_t r = st->mark_cursor++ % st->n_recip;
		struct recip *rc = &st->recip[r];

		if (rc->in_use && rc->mark_lsn &&
		    (rc->mark_log != 0 || st->last_lsn - rc->mark_lsn > st->mark_refresh))
			(void)mark_write(st, r, rc->delivered_next);
	}
}

/* One visit of the scan to recipient r, unlinked from its slot: when due at
 * now_ms its notice and re-sends go to out from out[k], at most out[n - 1],
 * and its next attempt is set (the caller links it again); returns the new k. */
static unsigned resend_pass(struct dp_store *st, uint32_t r, uint64_t now_ms,
                            struct dp_store_resend *out, unsigned k, unsigned n)
{
	struct recip *rc = &st->recip[r];
	unsigned sent = 0;
	bool found = false;

	if (rc->next_try_ms > now_ms)
		return k; /* further ahead than the wheel reached: linked again */
	if (skip_due(rc)) {
		if (!rc->in_pass) {
			/* Expired below skip_to: say so, once a pass, until its
			 * report gets there. The rounds it waited for the
			 * backoff since the last pass are counted. */
			if (rc->pass_end_ms && now_ms > rc->pass_end_ms + 1)
				st->skips_deferred += now_ms - rc->pass_end_ms - 1;
			out[k++] = (struct dp_store_resend){
			    .session_id = rc->sid, .role = rc->role, .e2e_seq = rc->skip_to};
			st->skips++;
			sent++;
		} else {
			st->skips_deferred++;
		}
	}
	for (uint64_t s = rc->lo, start = rc->lo, end = rc->hi;
	     s < end && s - start < DP_STORE_HOLD_AHEAD && sent < RESEND_PER_RECIP && k < n; s++) {
		int32_t i = pend_find(st, rc->sid, rc->role, s);
		struct pend *p;

		if (i < 0) {
			if (!found)
				rc->lo = s + 1; /* a gap at the bottom: skip it for good */
			continue;
		}
		found = true;
		p = &st->pend[i];
		/* Sent less than resend_min_ms ago (also when now_ms lags). */
		if (p->sent_ms + st->cfg.resend_min_ms > now_ms) {
			if (p->sent_ms)
				st->resends_deferred++;
			continue;
		}
		p->sent_ms = now_ms;
		out[k++] = (struct dp_store_resend){.session_id = rc->sid,
		                                    .role = rc->role,
		                                    .e2e_seq = s,
		                                    .inner = p->inner,
		                                    .len = p->len};
		sent++;
	}
	st->resent += sent;
	rc->pass_sent += sent;
	if (rc->count && (sent >= RESEND_PER_RECIP || k == n || !found)) {
		/* More to go, or a gap crossed (nothing found; lo moved up to
		 * what was scanned): the same pass, next round. */
		rc->next_try_ms = now_ms;
		rc->in_pass = 1;
		return k;
	}
	rc->in_pass = 0;
	rc->pass_end_ms = now_ms;
	if (rc->pass_sent) {
		/* A pass over what the scan reaches is done and sent
		 * something: wait, doubling up to resend_max_ms while the
		 * recipient reports no progress. */
		rc->next_try_ms = now_ms + rc->backoff_ms;
		rc->backoff_ms = rc->backoff_ms * 2 > st->cfg.resend_max_ms ? st->cfg.resend_max_ms
		                                                            : rc->backoff_ms * 2;
	} else {
		/* Everything went out less than resend_min_ms ago (relayed
		 * or re-sent in the last pass): not lost yet. */
		rc->next_try_ms = now_ms + st->cfg.resend_min_ms;
	}
	rc->pass_sent = 0;
	return k;
}

/*
 * One backoff per recipient governs everything the scan sends it: a pass over
 * its delivery window (up to RESEND_PER_RECIP messages a round, continued on
 * the next rounds until the window is covered) carries at most one DATA_SKIP
 * notice, at its start, and every message at most once, and only one sent at
 * least resend_min_ms ago. A pass that sent anything is followed by a pause of
 * the recipient's backoff, which doubles from resend_min_ms up to
 * resend_max_ms while the recipient reports no progress (dp_store_delivered
 * resets it, and dp_store_kick when the recipient sends again, though no
 * sooner than resend_min_ms after the last pass). So a silent recipient gets
 * at most one notice and one copy of each message per backoff period:
 * counted in skips and resent. skips_deferred counts the rounds (one a
 * millisecond) in which a recipient owed a notice got none because of its
 * backoff, resends_deferred the copies a pass left out because the last one
 * went out less than resend_min_ms ago.
 */
/* Visit the recipients of wheel list head (a slot or a due list) while out
 * has room: each unlinked, passed over and linked again at its next attempt.
 * Returns the new k; the list is left with what did not fit. */
static unsigned resend_list(struct dp_store *st, uint32_t head, uint64_t now_ms,
                            struct dp_store_resend *out, unsigned k, unsigned n)
{
	uint32_t r;

	while ((r = st->wheel[head]) != NONE && k < n) {
		wheel_unlink(st, r);
		k = resend_pass(st, r, now_ms, out, k, n);
		wheel_link(st, r);
	}
	return k;
}

unsigned dp_store_resends_due(struct dp_store *st, uint64_t now_ms, struct dp_store_resend *out,
                              unsigned n)
{
	uint64_t max_age_ms = __atomic_load_n(&st->cfg.max_age_ms, __ATOMIC_RELAXED);
	uint32_t due = WHEEL_DUE + st->due_cur;
	unsigned k = 0;

	if (max_age_ms)
		expire_sweep(st, now_ms, max_age_ms);
	mark_sweep(st);
	oldest_sweep(st);

	/* This scan takes one due list; what it links as due goes to the other. */
	st->due_cur ^= 1;
	/* First the slots of the milliseconds passed, every slot once at most
	 * (after a longer pause each holds what is due), then the due list, which
	 * also holds what was scheduled for a millisecond gone through already. */
	if (now_ms > st->wheel_done + WHEEL_SLOTS)
		st->wheel_done = now_ms - WHEEL_SLOTS;
	while (st->wheel_done < now_ms && k < n) {
		uint32_t slot = (uint32_t)((st->wheel_done + 1) & WHEEL_MASK);

		/* The slot's millisecond is gone through from here on: a recipient
		 * scheduled for it or earlier now goes on the due list. */
		st->wheel_done++;
		k = resend_list(st, slot, now_ms, out, k, n);
		if (st->wheel[slot] != NONE)
			st->wheel_done--; /* out is full: the rest of this slot next time */
	}
	return resend_list(st, due, now_ms, out, k, n);
}

void dp_store_stats(const struct dp_store *st, struct dp_store_stats *out)
{
	uint64_t oldest = __atomic_load_n(&st->oldest_seen, __ATOMIC_RELAXED);

	memset(out, 0, sizeof(*out));
	out->pending = st->pending;
	out->recipients = st->n_active;
	out->stored = st->stored;
	out->held = st->held;
	out->delivered = st->delivered;
	out->resent = st->resent;
	out->refused_full = st->refused_full;
	out->refused_error = st->refused_error;
	out->refused_behind_gap = st->refused_behind_gap;
	out->expired = st->expired;
	out->closed_released = st->closed_released;
	out->skips = st->skips;
	out->lab_reappended = st->lab_reappended;
	out->skips_deferred = st->skips_deferred;
	out->resends_deferred = st->resends_deferred;
	out->resealed_relayed = st->resealed_relayed;
	out->resealed_replaced = st->resealed_replaced;
	out->marks_written = st->marks_written;
	out->marks_lost = st->marks_lost;
	out->adopted = st->adopted;
	out->adopt_have = st->adopt_have;
	out->adopt_done = st->adopt_done;
	out->adopt_refused = st->adopt_refused;
	for (unsigned i = 0; i < st->n_logs; i++) {
		struct msg_log_stats ls;

		msg_log_stats(st->logs[i], &ls);
		out->replicated += ls.replicated;
		out->replicate_failures += ls.replicate_failures;
		out->ring_full += ls.refused_full;
		if (ls.ring_peak > out->ring_peak)
			out->ring_peak = ls.ring_peak;
		if (i == 0 && st->cfg.replica && ls.last_lsn > ls.replicated_lsn)
			out->replica_lag = ls.last_lsn - ls.replicated_lsn;
		out->bytes_on_disk += ls.bytes_on_disk;
		out->expired += ls.expired_age + ls.expired_size; /* size only: age is ours */
		if (ls.error && !out->error)
			out->error = ls.error;
	}
	/* CLOCK_REALTIME of the oldest pending message's arrival (oldest_sweep) */
	if (oldest && st->pending) {
		uint64_t now = dp_store_now_ms(), age = now > oldest - 1 ? now - (oldest - 1) : 0;

		out->oldest_ms = real_ms() > age ? real_ms() - age : 1;
	}
}

void dp_store_foreach_recipient(const struct dp_store *st,
                                void (*fn)(void *arg, uint64_t sid, uint8_t role, uint64_t pending,
                                           uint64_t oldest_ms),
                                void *arg)
{
	for (uint32_t a = 0; a < st->n_active; a++) {
		const struct recip *rc = &st->recip[st->active[a]];
		uint64_t oldest = 0;

		for (uint64_t s = rc->lo; s < rc->hi && s - rc->lo < DP_STORE_HOLD_AHEAD; s++) {
			int32_t i = pend_find(st, rc->sid, rc->role, s);

			if (i >= 0 && (!oldest || st->pend[i].arrived_ms < oldest))
				oldest = st->pend[i].arrived_ms;
		}
		fn(arg, rc->sid, rc->role, rc->count, oldest);
	}
}
