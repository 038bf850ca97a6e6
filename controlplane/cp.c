/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cp.c - the control plane's threads (see cp.h): n workers, each polling its
 * own control ring of the data plane and running cp_handle_frame with its own
 * Redis connection, and one housekeeping thread that serves the data plane's
 * hop-sequence reservation requests and persists replay marks and addresses.
 *
 * Workers poll rather than block: dp_ctrl_dequeue is a lock-free ring read,
 * and an idle worker sleeps 200 us between polls, which keeps handshake latency
 * far below one Redis round trip while costing an idle core almost nothing.
 * Installs into the data plane's session table are serialised by one mutex
 * (dp_session_install allows one writer; installs are rare and off the data
 * path). Nothing here allocates per frame.
 *
 * Asynchronous jobs. A worker runs each control frame's handler as an OpenSSL
 * ASYNC job (sga_async, up to [controlplane] async_jobs at once). When the
 * handler waits for an accelerator - an asynchronous RSA engine/provider, or
 * the cryptodev modexp service (sga_asym.c) - its job pauses and the worker
 * dequeues and starts other frames, resuming paused jobs on every pass. With
 * jobs waiting and nothing else to do it sleeps until the modexp service
 * signals a result for one of them (sga_async_notify), or 20 us at most (an
 * engine's paused jobs are resumed on that timer). That is how one worker
 * keeps many RSA/modexp operations in flight. With a synchronous provider and
 * modexp on the CPU nothing ever pauses: each job runs to completion inside
 * sga_async_submit, exactly as a direct call would.
 *
 * What jobs of one worker share, and why that is safe:
 *  - The Redis connection (struct store, hiredis, blocking). A job can only
 *    pause inside the crypto calls the protocol makes (sga_rsa_oaep_decrypt,
 *    sga_modexp, and the OpenSSL calls under them); hiredis never pauses, and
 *    store.c runs each exchange (append the commands, read all the replies) in
 *    one st_run call with no crypto between the send and the last reply:
 *    records are sealed before st_run and unsealed after it. So a paused job
 *    never leaves a command/response pair half done on the connection, and the
 *    next job starts on a clean connection.
 *  - The records. Two jobs that read a record, pause, and write it back would
 *    lose one update (two KEX_INITs of one session: each would think it came
 *    first). The data plane already sends one device's NEG frames, and one
 *    session's KEX_INITs, to one worker so that they run one after the other;
 *    the worker keeps that promise: a frame whose device (NEG_REQ, NEG_ACCEPT)
 *    or session (KEX_INIT) matches a job in flight, or an earlier frame still
 *    waiting, waits for it. A REG_REQ is keyed by the frame itself
 *    (sga_route.h): a retransmission waits for its original on the same
 *    worker; a re-encrypted copy may still run elsewhere, and the store makes
 *    that safe (atomic create; the loser re-reads the record and answers as
 *    for a retransmission, cp_handler.c). PKG_REQ has no key.
 *  - Load control. Before a frame costs any RSA, modexp or Redis work, admit()
 *    opens a COOKIE_ECHO and checks its cookie, and under load (a worker's
 *    backlog at [controlplane] cookie_threshold) answers a bare REG_REQ,
 *    NEG_REQ or KEX_INIT with a COOKIE_REPLY instead (sga_cookie.h). While
 *    under load the data plane spreads those bare frames over all workers;
 *    a frame that is to be handled and reached a worker its key does not
 *    name is handed to the one it names (dp_ctrl_forward), so the ordering
 *    above holds whichever worker the data plane picked.
 *  - The stack. The handler needs about 36 KiB (on_kex_init -> store -> 16 KiB
 *    in hiredis' redisBufferRead), more than OpenSSL 3.0's fixed 32 KiB job
 *    stack: each job slot gets a 256 KiB stack of its own with a guard page
 *    (sga_async_create_stack).
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/async.h>
#include <rte_mbuf.h>

#include "cp.h"
#include "cp_handler.h"
#include "cp_lab.h"
#include "cp_lifecycle.h"
#include "cp_log.h"
#include "dp_peer.h"
#include "sga_cookie.h"
#include "sga_engine.h"
#include "sga_route.h"
#include "store_replica.h"

#define CP_BURST              32
#define CP_IDLE_NS            200000L  /* worker poll period when its ring is empty */
#define CP_HK_NS              1000000L /* housekeeping tick */
#define CP_PERSIST_DEFAULT_MS 1000u
#define CP_LEASE_DEFAULT_MS   3000u /* [cluster] lease_ms */
#define CP_RESV_BURST         64
#define CP_RESV_RETRY_MAX     1024 /* reservation requests kept while Redis is down */
#define CP_CLOSE_RETRY_MAX    1024 /* expired sessions whose Redis delete waits for Redis */
#define CP_MAX_WORKERS        1024
#define CP_ASYNC_DEFAULT      8u
#define CP_ASYNC_MAX          256u
#define CP_PENDING            64u          /* frames dequeued, waiting for a slot or their turn */
#define CP_JOB_STACK          (256u << 10) /* each job's own stack; see the file comment */
#define CP_BACKLOG_WAIT_MS    2000   /* an adoption ring that stays full this long: item lost */
#define CP_JOB_POLL_NS        20000L /* poll period while jobs wait for an accelerator */
#define CP_DEFER_SLOTS        8u     /* frames a worker may hold back at once (CP_DEFERRED) */
#define CP_DEFER_MS           2u     /* ... for this long each time */
#define CP_DEFER_TRIES        50u    /* ... this many times, then it is handled as it is */

#define CP_COOKIE_THRESHOLD_DEFAULT 32u   /* backlog (ring + pending) that means "under load" */
#define CP_LOAD_HOLD_MS             1000u /* under load at least this long once triggered */

struct cp_frame {
	struct rte_mbuf *m;
	const uint8_t *frame; /* inside m (the inner frame of a COOKIE_ECHO) */
	size_t len;
	struct dp_addr src;
	struct sga_route_key key; /* frames with equal keys never overlap (sga_route.h) */
	uint64_t not_before_ms;   /* held back (CP_DEFERRED) until then; 0: due */
	unsigned tries;           /* times it was held back */
};

struct cp_worker;

struct cp_job {
	struct cp_worker *w;
	struct cp_frame f;
	int busy;
	int may_defer; /* holds one of the worker's CP_DEFER_SLOTS */
};

struct cp_worker {
	struct cp *cp;
	unsigned idx;
	pthread_t th;
	int started;
	struct store *st;
	struct sga_async *async;
	struct cp_job *jobs; /* async_jobs slots */
	unsigned n_jobs;
	struct cp_frame pend[CP_PENDING]; /* in arrival order (held-back ones re-queued last) */
	unsigned n_pend;
	unsigned n_defer; /* jobs that may come back CP_DEFERRED: room kept in pend for them */
	struct sga_cookie_key ck; /* this worker's cached cookie secrets */
	unsigned rr;              /* where a frame of no key would go (never forwarded) */
};

/* What the housekeeping thread last persisted for the session in a slot
 * (cp->marks[slot]; sid 0: none yet). */
struct cp_mark {
	uint64_t sid;
	uint64_t rx_next[2];    /* as written to Redis, when saved */
	struct dp_addr addr[2]; /* likewise */
	uint64_t saved_ms;      /* when they were written */
	int saved;              /* Redis holds rx_next and addr (or the session is gone) */
	int waiting;            /* a move of it waits on cp->due */
};

/* A move that waits (mark_may_wait) to be written by due_ms at the latest.
 * The session is not visited again unless it moves, so this is what brings
 * it back. In a FIFO: due_ms = the pass's time + mark_max_age_ms, so the
 * entries come in the order they fall due. */
struct cp_mark_due {
	uint64_t sid;
	uint64_t due_ms;
	uint32_t slot;
};

/* The sessions an expiry pass found due to close (expire_visit). */
struct cp_expired {
	struct cp_expiry e;
	struct {
		uint64_t sid;
		uint8_t why;
	} * v;
	size_t n, cap;
};

struct cp {
	const struct sga_gw *gw;
	struct dp *dp;
	atomic_int stop;
	struct cp_counters ctr;
	_Atomic uint64_t reservations;
	_Atomic uint64_t owner_lost; /* sessions disowned: another gateway owns them */
	_Atomic uint64_t persisted, mark_passes, marks_deferred;
	/* Lab provisioning (cp_lab_run; under main_mu): the file's sessions are
	 * installed by it, so cp_restore_sessions leaves them alone. */
	struct sga_lab_params lab;
	int lab_on;
	_Atomic uint64_t lab_sessions;
	struct cp_handler h;
	pthread_mutex_t install_mu;
	int install_mu_ok;
	/* Load control (sga_cookie.h): under load, bare REG_REQ / NEG_REQ /
	 * KEX_INIT frames get a COOKIE_REPLY and no further work. */
	enum cp_cookie_mode cookie_mode;
	unsigned cookie_threshold;
	uint8_t cookie_root[SGA_COOKIE_ROOT_LEN]; /* random per process; workers derive from it */
	_Atomic uint64_t load_until_ms;           /* under load until then (auto mode); 0: not */
	_Atomic uint64_t cookie_mark;             /* cookie replies counted when the hold began */
	atomic_int spread;                        /* what dp_ctrl_set_spread was last told */
	_Atomic uint64_t cookie_sent, cookie_valid, cookie_invalid, forwarded, load_events;
	_Atomic uint64_t expired_idle, expired_life;
	unsigned persist_ms;
	uint64_t mark_step;       /* a mark is written when it moved this far ... */
	uint64_t mark_max_age_ms; /* ... or its last write is this old */
	uint64_t tx_block;
	struct cp_expiry expiry; /* idle and lifetime limits (atomics: a reload sets them) */

	unsigned n_workers;
	struct cp_worker *w;

	/* cp_restore_sessions' connection (any thread, under main_mu). */
	pthread_mutex_t main_mu;
	int main_mu_ok;
	struct store *main_st;

	/* housekeeping thread only */
	pthread_t hk;
	int hk_started;
	struct store *hk_st;
	struct cp_mark *marks;
	size_t n_marks;
	struct cp_mark_due *due; /* ring: due_n entries from due_head */
	size_t due_cap, due_head, due_n;
	struct dp_resv_req retry[CP_RESV_RETRY_MAX];
	unsigned n_retry;
	/* Expired sessions out of the data plane whose Redis records could not be
	 * deleted yet (Redis down): retried on every pass, or a restart would
	 * restore them. */
	struct {
		uint64_t sid;
		uint8_t why;
	} close_retry[CP_CLOSE_RETRY_MAX];
	unsigned n_close_retry;
	unsigned expire_next; /* the expiry's next slice starts at this slot */

	/* [cluster]: the lease thread (its own connection: a long persist pass
	 * must not delay a renewal). */
	struct dp_nodes nodes;
	unsigned lease_ms;
	char lease_val[40]; /* this run's random id: who holds the lease */
	pthread_t lease_th;
	int lease_started;
	struct store *lease_st;
	_Atomic uint64_t lease_lost, peers_down;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ns(long ns)
{
	struct timespec ts = {0, ns};

	nanosleep(&ts, NULL);
}

static int stopping(struct cp *cp)
{
	return atomic_load_explicit(&cp->stop, memory_order_acquire);
}

/* ---- handler callbacks ------------------------------------------------------------ */

static int cb_send(void *ctx, const struct dp_addr *dst, const uint8_t *frame, size_t len)
{
	struct cp *cp = ctx;

	return dp_ctrl_send(cp->dp, dst, frame, len);
}

static int cb_install(void *ctx, const struct sga_gw_session *s, const struct dp_addr addr[2],
                      const uint64_t tx_seq[2], const uint64_t tx_limit[2],
                      const uint64_t rx_next[2])
{
	struct cp *cp = ctx;
	int rc;

	pthread_mutex_lock(&cp->install_mu);
	rc = dp_session_install(cp->dp, s, addr, tx_seq, tx_limit, rx_next);
	pthread_mutex_unlock(&cp->install_mu);
	return rc;
}

/* A close takes the session out of the data plane (dp_session_remove, the
 * same one-writer rule as installs). */
static int cb_remove(void *ctx, uint64_t session_id, struct dp_session_view *final)
{
	struct cp *cp = ctx;
	int rc;

	pthread_mutex_lock(&cp->install_mu);
	rc = dp_session_remove(cp->dp, session_id, final);
	pthread_mutex_unlock(&cp->install_mu);
	return rc;
}

/* A fresh WAKE (PROTOCOL.md 7.16, step 3): the owner lcores move the
 * device's session addresses and answer within an iteration or so; the wait
 * is bounded for an lcore that is stopped. Under the install mutex: the
 * device index and the one completion are the table writer's. */
#define CP_WAKE_WAIT_US 5000u

static int cb_wake(void *ctx, const uint8_t *id, uint8_t id_len, const struct dp_addr *addr,
                   uint8_t flags)
{
	struct cp *cp = ctx;
	struct dp_wake_result res;
	int rc;

	pthread_mutex_lock(&cp->install_mu);
	rc = dp_session_wake(cp->dp, id, id_len, addr, flags, CP_WAKE_WAIT_US, &res);
	pthread_mutex_unlock(&cp->install_mu);
	return rc;
}

/* Adoption's question: is the session in the data plane now? Under the
 * install mutex, the table writer's. */
static int cb_present(void *ctx, uint64_t session_id)
{
	struct cp *cp = ctx;
	struct dp_session_view v;
	int rc;

	pthread_mutex_lock(&cp->install_mu);
	rc = dp_session_get(cp->dp, session_id, &v);
	pthread_mutex_unlock(&cp->install_mu);
	sga_memzero(&v, sizeof(v));
	return rc == 0;
}

/* [cluster] (cp_handler.h, cluster). */
static int cb_alive(void *ctx, unsigned node)
{
	struct cp *cp = ctx;

	return dp_peer_alive(cp->dp, node);
}

static int cb_forward(void *ctx, uint64_t sid, unsigned node, const struct dp_addr *src,
                      const uint8_t *frame, size_t len)
{
	struct cp *cp = ctx;
	int had = dp_peer_fwd_get(cp->dp, sid) == node, rc = 0;

	if (!had)
		rc = dp_peer_fwd_set(cp->dp, sid, node);
	if (!rc)
		rc = dp_peer_forward(cp->dp, node, src, frame, len);
	return rc ? rc : had;
}

/* The replicated backlog of an adopted session (cp_handler.h, backlog): the
 * recipients' marks first, then every held message, to the owner lcore. */
struct backlog_ctx {
	struct cp *cp;
	uint64_t sid;
	uint64_t marks[2];
	int marks_sent;
	int queued, lost;
	struct dp_adopt_msg m;
};

static void backlog_marks(struct backlog_ctx *c)
{
	c->marks_sent = 1;
	for (uint8_t role = 0; role < 2; role++) {
		if (!c->marks[role])
			continue;
		memset(&c->m, 0, offsetof(struct dp_adopt_msg, inner));
		c->m.sid = c->sid;
		c->m.role = role;
		c->m.mark = 1;
		c->m.e2e_seq = c->marks[role];
		if (dp_store_adopt(c->cp->dp, &c->m, CP_BACKLOG_WAIT_MS))
			c->lost++;
	}
}

static void backlog_one(void *arg, const struct store_replica_msg *msg)
{
	struct backlog_ctx *c = arg;

	if (!c->marks_sent)
		backlog_marks(c); /* store_replica_load set them before this call */
	if (msg->len > sizeof(c->m.inner)) {
		c->lost++;
		return;
	}
	memset(&c->m, 0, offsetof(struct dp_adopt_msg, inner));
	c->m.sid = msg->sid;
	c->m.role = msg->role;
	c->m.e2e_seq = msg->e2e_seq;
	c->m.len = msg->len;
	memcpy(c->m.inner, msg->payload, msg->len);
	if (dp_store_adopt(c->cp->dp, &c->m, CP_BACKLOG_WAIT_MS))
		c->lost++;
	else
		c->queued++;
}

static int cb_backlog(void *ctx, struct store *st, uint64_t session_id)
{
	struct backlog_ctx *c = calloc(1, sizeof(*c)); /* ~1.5 KiB: not on a job's stack */
	unsigned bad = 0;
	int rc;

	if (!c)
		return -SGA_E_INTERNAL;
	c->cp = ctx;
	c->sid = session_id;
	rc = store_replica_load(st, session_id, backlog_one, c, c->marks, &bad);
	if (!rc && !c->marks_sent)
		backlog_marks(c);
	if (bad)
		cp_log(
		    CP_LOG_WARNING,
		    "session %016llx: %u replicated fields do not hold an intact record; skipped",
		    (unsigned long long)session_id, bad);
	if (c->lost)
		cp_log(CP_LOG_ERR,
		       "session %016llx: %d replicated items not handed to the data plane (its "
		       "adoption ring stayed full)",
		       (unsigned long long)session_id, c->lost);
	if (!rc)
		rc = c->queued;
	sga_memzero(&c->m, sizeof(c->m));
	free(c);
	return rc;
}

/* Restore's question (under main_mu): installed by cp_lab_run already? */
static int cb_installed(void *ctx, uint64_t session_id)
{
	struct cp *cp = ctx;

	return cp->lab_on && sga_lab_index(&cp->lab, session_id) >= 0;
}

/* ---- workers ---------------------------------------------------------------------- */

/* 1 if pend[i] must wait: a job in flight or an earlier waiting frame has its key. */
static int must_wait(const struct cp_worker *w, unsigned i)
{
	const struct sga_route_key *k = &w->pend[i].key;

	if (!k->kind)
		return 0;
	for (unsigned j = 0; j < w->n_jobs; j++)
		if (w->jobs[j].busy && sga_route_key_eq(&w->jobs[j].f.key, k))
			return 1;
	for (unsigned j = 0; j < i; j++)
		if (sga_route_key_eq(&w->pend[j].key, k))
			return 1;
	return 0;
}

static int run_frame(void *arg)
{
	struct cp_job *j = arg;

	return cp_handle_frame(&j->w->cp->h, j->w->st, j->f.frame, j->f.len, &j->f.src,
	                       j->may_defer ? CP_F_MAY_DEFER : 0);
}

/* On the worker's own stack, after the job finished (sga_async_submit/poll). */
static void frame_done(void *arg, int rc)
{
	struct cp_job *j = arg;
	struct cp_worker *w = j->w;

	if (j->may_defer) {
		w->n_defer--;
		j->may_defer = 0;
		if (rc == CP_DEFERRED) {
			/* Back to the queue, last; take_frames kept room for it. */
			j->f.tries++;
			j->f.not_before_ms = mono_ms() + CP_DEFER_MS;
			w->pend[w->n_pend++] = j->f;
			j->busy = 0;
			return;
		}
	}
	/* Otherwise counted by the handler. */
	rte_pktmbuf_free(j->f.m);
	j->busy = 0;
}

/* Start every waiting frame that may start now, in arrival order, while job
 * slots are free. Returns how many were started. */
static unsigned start_frames(struct cp_worker *w)
{
	unsigned started = 0, i = 0;
	uint64_t now = 0;

	while (i < w->n_pend) {
		struct cp_job *j = NULL;

		for (unsigned k = 0; k < w->n_jobs && !j; k++)
			if (!w->jobs[k].busy)
				j = &w->jobs[k];
		if (!j)
			break;
		if (w->pend[i].not_before_ms) {
			if (!now)
				now = mono_ms();
			if (now < w->pend[i].not_before_ms) {
				i++;
				continue;
			}
		}
		if (must_wait(w, i)) {
			i++;
			continue;
		}
		j->f = w->pend[i];
		j->busy = 1;
		/* Only a KEX_INIT can be held back; at most CP_DEFER_SLOTS at once
		 * (a flood of forged ones cannot fill the queue), and not forever. */
		j->may_defer = j->f.key.kind == SGA_ROUTE_SESSION && j->f.tries < CP_DEFER_TRIES &&
		               w->n_defer < CP_DEFER_SLOTS;
		w->n_defer += (unsigned)j->may_defer;
		w->n_pend--;
		memmove(&w->pend[i], &w->pend[i + 1], (w->n_pend - i) * sizeof(w->pend[0]));
		started++;
		/* -EIO: OpenSSL could not start a job (out of memory): run it here. */
		if (sga_async_submit(w->async, run_frame, j, frame_done) < 0)
			frame_done(j, run_frame(j));
	}
	return started;
}

/* ---- load control ------------------------------------------------------------------- */

static int under_load(struct cp *cp, uint64_t now)
{
	if (cp->cookie_mode == CP_COOKIE_ALWAYS)
		return 1;
	if (cp->cookie_mode == CP_COOKIE_OFF)
		return 0;
	return now < atomic_load_explicit(&cp->load_until_ms, memory_order_relaxed);
}

static void set_spread(struct cp *cp, int on)
{
	if (atomic_exchange_explicit(&cp->spread, on, memory_order_relaxed) != on)
		dp_ctrl_set_spread(cp->dp, on);
}

/*
 * Once per worker pass, before dequeuing: the gateway is under load when a
 * worker's backlog (its ring and the frames it holds) reaches the threshold,
 * and stays so for CP_LOAD_HOLD_MS; the hold is renewed while that many
 * frames a hold still had to be answered with a cookie (the flood goes on,
 * only the cookies keep the backlog short). Any worker may end it.
 */
static void watch_load(struct cp_worker *w, uint64_t now)
{
	struct cp *cp = w->cp;
	uint64_t until, sent;

	if (cp->cookie_mode != CP_COOKIE_AUTO)
		return;
	until = atomic_load_explicit(&cp->load_until_ms, memory_order_relaxed);
	if (dp_ctrl_backlog(cp->dp, w->idx) + w->n_pend >= cp->cookie_threshold) {
		if (!until) {
			atomic_store_explicit(
			    &cp->cookie_mark,
			    atomic_load_explicit(&cp->cookie_sent, memory_order_relaxed),
			    memory_order_relaxed);
			atomic_fetch_add_explicit(&cp->load_events, 1, memory_order_relaxed);
			cp_log(CP_LOG_WARNING,
			       "control plane under load (worker %u backlog >= %u): cookie "
			       "challenge on",
			       w->idx, cp->cookie_threshold);
		}
		if (now + CP_LOAD_HOLD_MS > until)
			atomic_store_explicit(&cp->load_until_ms, now + CP_LOAD_HOLD_MS,
			                      memory_order_relaxed);
		set_spread(cp, 1);
		return;
	}
	if (!until || now < until)
		return;
	sent = atomic_load_explicit(&cp->cookie_sent, memory_order_relaxed);
	if (!atomic_compare_exchange_strong_explicit(&cp->load_until_ms, &until,
	                                             now + CP_LOAD_HOLD_MS, memory_order_relaxed,
	                                             memory_order_relaxed))
		return; /* another worker decided */
	if (sent - atomic_exchange_explicit(&cp->cookie_mark, sent, memory_order_relaxed) >=
	    cp->cookie_threshold)
		return; /* renewed */
	atomic_store_explicit(&cp->load_until_ms, 0, memory_order_relaxed);
	set_spread(cp, 0);
	cp_log(CP_LOG_INFO, "control plane load back to normal: cookie challenge off");
}

/* Answer f with a COOKIE_REPLY to its source (never larger than f). */
static void send_cookie(struct cp_worker *w, const struct cp_frame *f, uint64_t now)
{
	uint8_t cookie[SGA_COOKIE_LEN], digest[SGA_COOKIE_DIGEST_LEN], out[SGA_COOKIE_REPLY_LEN];
	size_t n;

	if (SGA_COOKIE_REPLY_LEN > f->len ||
	    sga_cookie_make_addr(&w->ck, now, f->src.ip, f->src.port, f->frame, f->len, cookie) ||
	    sga_cookie_digest(f->frame, f->len, digest) ||
	    sga_cookie_reply_encode(digest, cookie, out, sizeof(out), &n))
		return;
	if (dp_ctrl_send(w->cp->dp, &f->src, out, n))
		atomic_fetch_add_explicit(&w->cp->ctr.undelivered, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&w->cp->cookie_sent, 1, memory_order_relaxed);
}

/*
 * A dequeued frame's gate, before any RSA, modexp or Redis work: a COOKIE_ECHO
 * is opened and its cookie checked (a few microseconds of hashing); under load
 * a REG_REQ, NEG_REQ or KEX_INIT without a valid cookie is answered with a
 * COOKIE_REPLY and goes no further. A frame to be handled that reached the
 * wrong worker (spread while the load ended) is handed to the one its key
 * names, so the ordering promise holds. 1: keep f; 0: f->m is gone.
 */
static int admit(struct cp_worker *w, struct cp_frame *f)
{
	struct cp *cp = w->cp;
	uint64_t now = mono_ms();
	int valid = 0;
	unsigned owner;

	if (f->len >= SGA_HDR_LEN && f->frame[1] == SGA_MSG_COOKIE_ECHO) {
		const uint8_t *cookie, *inner;
		size_t inner_len;

		if (sga_cookie_echo_decode(f->frame, f->len, &cookie, &inner, &inner_len)) {
			atomic_fetch_add_explicit(&cp->cookie_invalid, 1, memory_order_relaxed);
			goto drop;
		}
		valid = !sga_cookie_check_addr(&w->ck, now, f->src.ip, f->src.port, inner,
		                               inner_len, cookie);
		atomic_fetch_add_explicit(valid ? &cp->cookie_valid : &cp->cookie_invalid, 1,
		                          memory_order_relaxed);
		/* A stale cookie is no worse than none: the frame is judged bare. */
		f->frame = inner;
		f->len = inner_len;
	}
	if (!valid && f->len >= SGA_HDR_LEN && sga_cookie_type(f->frame[1]) &&
	    under_load(cp, now)) {
		send_cookie(w, f, now);
		goto drop;
	}
	sga_route_key(f->frame, f->len, &f->key);
	if (f->key.kind == SGA_ROUTE_ANY)
		return 1;
	owner = sga_route_worker(&f->key, cp->n_workers, &w->rr);
	if (owner == w->idx)
		return 1;
	if (dp_ctrl_forward(cp->dp, owner, f->m)) {
		atomic_fetch_add_explicit(&cp->ctr.rejected, 1, memory_order_relaxed);
		goto drop;
	}
	atomic_fetch_add_explicit(&cp->forwarded, 1, memory_order_relaxed);
	return 0;
drop:
	rte_pktmbuf_free(f->m);
	return 0;
}

/* Dequeue as many frames as there is room to keep waiting. */
static unsigned take_frames(struct cp_worker *w)
{
	struct rte_mbuf *pkts[CP_BURST];
	unsigned room = CP_PENDING - w->n_pend - w->n_defer; /* room for held-back frames */
	unsigned n = dp_ctrl_dequeue(w->cp->dp, w->idx, pkts, room < CP_BURST ? room : CP_BURST);

	for (unsigned i = 0; i < n; i++) {
		struct cp_frame *f = &w->pend[w->n_pend];

		if (dp_ctrl_payload(pkts[i], &f->frame, &f->len, &f->src)) {
			rte_pktmbuf_free(pkts[i]);
			continue;
		}
		f->m = pkts[i];
		f->not_before_ms = 0;
		f->tries = 0;
		if (!admit(w, f))
			continue; /* answered with a cookie, dropped or handed on */
		w->n_pend++;
	}
	return n;
}

static void *worker_main(void *arg)
{
	struct cp_worker *w = arg;
	struct cp *cp = w->cp;
	struct rte_mbuf *pkts[CP_BURST];
	unsigned n;

	for (;;) {
		unsigned seq = sga_async_wake_seq(); /* before polling: see sga_engine.h */
		int stop = stopping(cp);
		unsigned progress = 0, before;

		if (!stop && w->n_pend < CP_PENDING) {
			watch_load(w, mono_ms());
			progress += take_frames(w);
		}
		if (stop) {
			/* Not handled after stop (as queued frames are not); jobs
			 * already running are finished: they may hold requests of
			 * the modexp service. */
			for (unsigned i = 0; i < w->n_pend; i++)
				rte_pktmbuf_free(w->pend[i].m);
			w->n_pend = 0;
		}
		progress += start_frames(w);
		before = sga_async_inflight(w->async);
		if (before && sga_async_poll(w->async) < before)
			progress += 1 + start_frames(w);
		if (stop && !sga_async_inflight(w->async))
			break;
		if (!progress && sga_async_inflight(w->async))
			sga_async_wait(seq, CP_JOB_POLL_NS); /* the modexp service wakes us */
		else if (!progress)
			sleep_ns(CP_IDLE_NS);
	}
	/* Frames still queued are not handled after stop: free their mbufs (held-back
	 * ones may have come back from the last jobs). */
	for (unsigned i = 0; i < w->n_pend; i++)
		rte_pktmbuf_free(w->pend[i].m);
	w->n_pend = 0;
	while ((n = dp_ctrl_dequeue(cp->dp, w->idx, pkts, CP_BURST)) > 0)
		for (unsigned i = 0; i < n; i++)
			rte_pktmbuf_free(pkts[i]);
	ASYNC_cleanup_thread(); /* this thread's OpenSSL job pool */
	return NULL;
}

/* ---- housekeeping: reservations ------------------------------------------------------ */

/*
 * A fenced write was refused (-STORE_E_NOT_OWNER): another gateway adopted
 * the session ([sessions] adopt, PROTOCOL.md 9.5), so this one stops relaying
 * it: out of the data plane, its held messages left in the store (they are
 * the session's; dp_session_disown). A frame of it that reaches this gateway
 * again is adopted back, which fences the other one in turn.
 */
static void disown(struct cp *cp, uint64_t sid)
{
	int rc;

	pthread_mutex_lock(&cp->install_mu);
	rc = dp_session_disown(cp->dp, sid);
	pthread_mutex_unlock(&cp->install_mu);
	if (rc)
		return; /* gone already */
	atomic_fetch_add_explicit(&cp->owner_lost, 1, memory_order_relaxed);
	cp_log(CP_LOG_INFO, "session %016llx: another gateway owns it now; no longer relayed here",
	       (unsigned long long)sid);
}

/* 0 done (or moot: the session is gone), -SGA_E_UNAVAILABLE to retry. */
static int reserve_one(struct cp *cp, const struct dp_resv_req *r)
{
	uint64_t limit;
	int rc = store_session_reserve(cp->hk_st, r->session_id, r->role, cp->tx_block, &limit);

	if (rc == -SGA_E_UNAVAILABLE)
		return rc;
	if (rc == -STORE_E_NOT_OWNER) {
		disown(cp, r->session_id);
		return 0;
	}
	if (rc) {
		/* Deleted session, or its 63-bit range is spent: the data plane
		 * stops sending on it at its current limit. */
		return 0;
	}
	atomic_fetch_add_explicit(&cp->reservations, 1, memory_order_relaxed);
	/* Fails only if the session was closed meanwhile: nothing to do. Under the
	 * install mutex: a closed session's slot may be reused. */
	pthread_mutex_lock(&cp->install_mu);
	(void)dp_session_extend(cp->dp, r->session_id, r->role, limit);
	pthread_mutex_unlock(&cp->install_mu);
	return 0;
}

static void retry_add(struct cp *cp, const struct dp_resv_req *r)
{
	for (unsigned i = 0; i < cp->n_retry; i++)
		if (cp->retry[i].session_id == r->session_id && cp->retry[i].role == r->role)
			return;
	if (cp->n_retry < CP_RESV_RETRY_MAX)
		cp->retry[cp->n_retry++] = *r;
	else
		cp_log(CP_LOG_WARNING, "reservation for session %016llx dropped: retry list full",
		       (unsigned long long)r->session_id);
}

static void serve_reservations(struct cp *cp)
{
	struct dp_resv_req reqs[CP_RESV_BURST];
	unsigned n, kept = 0;

	/* Requests that met an outage first, in order; stop at the next failure. */
	for (unsigned i = 0; i < cp->n_retry; i++)
		if (kept || reserve_one(cp, &cp->retry[i]))
			cp->retry[kept++] = cp->retry[i];
	cp->n_retry = kept;
	while ((n = dp_resv_dequeue(cp->dp, reqs, CP_RESV_BURST)) > 0) {
		for (unsigned i = 0; i < n; i++)
			if (cp->n_retry || reserve_one(cp, &reqs[i]))
				retry_add(cp, &reqs[i]);
		if (n < CP_RESV_BURST)
			break;
	}
}

/* ---- housekeeping: marks ------------------------------------------------------------- */

static int addr_eq(const struct dp_addr *a, const struct dp_addr *b)
{
	return a->port == b->port && a->family == b->family && a->vlan == b->vlan &&
	       !memcmp(a->ip, b->ip, sizeof(a->ip)) && !memcmp(a->mac, b->mac, sizeof(a->mac));
}

/* One persist pass: what to write, decided per session while
 * dp_session_foreach runs (under the install mutex), written after it. */
struct mark_pass {
	struct cp *cp;
	uint64_t now;
	int force;
	struct store_marks *todo; /* the sessions to write ... */
	uint32_t *slot;           /* ... and their slots */
	size_t n, cap;
	uint64_t deferred;
	int oom;
};

/*
 * 1 if the move of a session from what Redis holds (old) to v may wait for a
 * later pass: its addresses are the same (a moved address is written at once:
 * delivery after a restart goes there) and neither mark moved mark_step
 * frames. What waits is bounded in frames and in time (the pass that first
 * lets a move wait queues it on cp->due, to be written mark_max_age_ms later
 * whatever happens): after a crash, at most that many more frames of a member
 * lie above its restored mark, to be taken at most once and never to move an
 * address (PROTOCOL.md 9.3). M2M sessions each move a little per pass, so
 * without this every active session cost one Redis call per
 * persist_interval_ms.
 */
static int mark_may_wait(const struct cp *cp, const struct cp_mark *old,
                         const struct dp_session_view *v)
{
	for (int d = 0; d < 2; d++)
		if (!addr_eq(&old->addr[d], &v->addr[d]) ||
		    v->rx_next[d] - old->rx_next[d] >= cp->mark_step) /* a fall wraps: written */
			return 0;
	return 1;
}

/* Room for slot in cp->marks (zeroed: no session). */
static int marks_reserve(struct cp *cp, uint32_t slot)
{
	size_t want = cp->n_marks ? 2 * cp->n_marks : 1024;
	struct cp_mark *grown;

	if (slot < cp->n_marks)
		return 0;
	if (want <= slot)
		want = (size_t)slot + 1;
	grown = realloc(cp->marks, want * sizeof(*grown));
	if (!grown)
		return -1;
	memset(grown + cp->n_marks, 0, (want - cp->n_marks) * sizeof(*grown));
	cp->marks = grown;
	cp->n_marks = want;
	return 0;
}

/* Queue slot's waiting move, due mark_max_age_ms from now. */
static int due_push(struct cp *cp, uint32_t slot, uint64_t sid, uint64_t now)
{
	if (cp->due_n == cp->due_cap) {
		size_t cap = cp->due_cap ? 2 * cp->due_cap : 1024;
		struct cp_mark_due *grown = malloc(cap * sizeof(*grown));

		if (!grown)
			return -1;
		for (size_t k = 0; k < cp->due_n; k++) /* unwrap the ring */
			grown[k] = cp->due[(cp->due_head + k) % cp->due_cap];
		free(cp->due);
		cp->due = grown;
		cp->due_cap = cap;
		cp->due_head = 0;
	}
	cp->due[(cp->due_head + cp->due_n++) % cp->due_cap] =
	    (struct cp_mark_due){sid, now + cp->mark_max_age_ms, slot};
	return 0;
}

/* Decide for one session (its slot's view v) whether its marks and addresses
 * go to Redis in this pass; force: whatever mark_may_wait says. */
static void mark_consider(struct mark_pass *p, const struct dp_session_view *v, int force)
{
	struct cp *cp = p->cp;
	struct cp_mark *m;

	if (p->oom || marks_reserve(cp, v->slot)) {
		p->oom = 1;
		dp_session_moved_again(cp->dp, v->slot); /* its bit is spent */
		return;
	}
	m = &cp->marks[v->slot];
	if (m->sid != v->session_id) { /* a new session in this slot */
		memset(m, 0, sizeof(*m));
		m->sid = v->session_id;
	} else if (m->saved) {
		if (m->rx_next[0] == v->rx_next[0] && m->rx_next[1] == v->rx_next[1] &&
		    addr_eq(&m->addr[0], &v->addr[0]) && addr_eq(&m->addr[1], &v->addr[1]))
			return;
		if (!force && mark_may_wait(cp, m, v)) {
			if (!m->waiting) {
				if (due_push(cp, v->slot, v->session_id, p->now)) {
					p->oom = 1;
					dp_session_moved_again(cp->dp, v->slot);
					return;
				}
				m->waiting = 1;
			}
			p->deferred++;
			return;
		}
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 256;
		struct store_marks *t = realloc(p->todo, cap * sizeof(*t));
		uint32_t *sl = t ? realloc(p->slot, cap * sizeof(*sl)) : NULL;

		if (t)
			p->todo = t;
		if (!sl) {
			p->oom = 1;
			dp_session_moved_again(cp->dp, v->slot);
			return;
		}
		p->slot = sl;
		p->cap = cap;
	}
	p->todo[p->n].sid = v->session_id;
	memcpy(p->todo[p->n].rx_next, v->rx_next, sizeof(v->rx_next));
	memcpy(p->todo[p->n].addr, v->addr, sizeof(v->addr));
	p->slot[p->n++] = v->slot;
}

static void mark_visit(const struct dp_session_view *v, void *arg)
{
	mark_consider(arg, v, ((struct mark_pass *)arg)->force);
}

/* The waiting moves due by now: written if their session is still the slot's
 * and still differs from what Redis holds (a later move may have been
 * written since). A session also in the walk of what moved may go into the
 * pass twice, with the same values: harmless (marks only rise). */
static void marks_due(struct mark_pass *p)
{
	struct cp *cp = p->cp;

	while (cp->due_n && cp->due[cp->due_head].due_ms <= p->now && !p->oom) {
		struct cp_mark_due d = cp->due[cp->due_head];
		struct dp_session_view v;

		cp->due_head = (cp->due_head + 1) % cp->due_cap;
		cp->due_n--;
		if (d.slot >= cp->n_marks || cp->marks[d.slot].sid != d.sid)
			continue; /* the slot holds another session now: its entry is spent */
		cp->marks[d.slot].waiting = 0;
		if (dp_session_get(cp->dp, d.sid, &v) || v.slot != d.slot)
			continue; /* closed or re-installed: its marks went with that */
		mark_consider(p, &v, 1);
	}
}

/*
 * Persist the marks and addresses of the installed sessions whose values
 * changed since the last successful write, unless mark_may_wait (all of them
 * when force, at stop), STORE_MARKS_BATCH sessions per Redis round trip (with
 * 100,000 active sessions one round trip each was a busy core: this thread
 * and redis-server). A pass visits the sessions the data plane says moved
 * (dp_session_foreach_moved) and those whose wait fell due (cp->due); what
 * Redis holds is kept per slot (cp->marks), so there is no copy of the table
 * and no sort. At 1,000,000 quiet sessions, a walk of every slot each pass
 * was most of the core the load generator shares; a copy and sort of them
 * all, before that, half of it. After a failure the rest of the pass is
 * skipped; the data plane's bits for what it held are spent, so those
 * sessions get theirs back, for the next pass.
 */
static void persist_marks(struct cp *cp, int force)
{
	struct mark_pass p = {cp, mono_ms(), force, NULL, NULL, 0, 0, 0, 0};
	size_t k = 0;

	/* Under the install mutex: a closed session's slot may be reused. */
	pthread_mutex_lock(&cp->install_mu);
	if (force) {
		dp_session_foreach(cp->dp, mark_visit, &p);
	} else {
		marks_due(&p);
		dp_session_foreach_moved(cp->dp, mark_visit, &p);
	}
	pthread_mutex_unlock(&cp->install_mu);
	for (; k < p.n && !p.oom; k += STORE_MARKS_BATCH) {
		unsigned nb = p.n - k < STORE_MARKS_BATCH ? (unsigned)(p.n - k) : STORE_MARKS_BATCH;
		int rcs[STORE_MARKS_BATCH];

		if (store_session_set_marks_n(cp->hk_st, p.todo + k, nb, rcs))
			break; /* Redis down */
		for (unsigned b = 0; b < nb; b++) {
			struct cp_mark *m = &cp->marks[p.slot[k + b]];

			/* This thread alone writes marks[]: the slot still names the
			 * session whose values these are. */
			memcpy(m->rx_next, p.todo[k + b].rx_next, sizeof(m->rx_next));
			memcpy(m->addr, p.todo[k + b].addr, sizeof(m->addr));
			m->saved_ms = p.now;
			m->saved = 1; /* written, or the session is gone */
			if (!rcs[b])
				atomic_fetch_add_explicit(&cp->persisted, 1, memory_order_relaxed);
			else if (rcs[b] == -STORE_E_NOT_OWNER)
				disown(cp, p.todo[k + b].sid);
		}
	}
	/* Not written (Redis down, out of memory): the data plane's bits for
	 * them are spent, so they are handed back for the next pass. */
	for (; k < p.n && !force; k++)
		dp_session_moved_again(cp->dp, p.slot[k]);
	free(p.todo);
	free(p.slot);
	atomic_fetch_add_explicit(&cp->marks_deferred, p.deferred, memory_order_relaxed);
	atomic_fetch_add_explicit(&cp->mark_passes, 1, memory_order_relaxed);
}

/* ---- housekeeping: lifecycle -------------------------------------------------------- */

static void expire_visit(const struct dp_session_view *v, void *arg)
{
	struct cp_expired *x = arg;
	uint8_t why = cp_session_expired(&x->e, v);

	if (!why)
		return;
	if (x->n == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 64;
		void *grown = realloc(x->v, cap * sizeof(*x->v));

		if (!grown)
			return; /* found again by the next sweep */
		x->v = grown;
		x->cap = cap;
	}
	x->v[x->n].sid = v->session_id;
	x->v[x->n++].why = why;
}

/*
 * Once a second: close the sessions past [sessions] idle_s or max_life_s
 * (cp_lifecycle.h). The lcores only keep each slot's last-activity time; the
 * decision and the close are made here, off the data path. Each pass looks
 * at one slice of the table, so that the whole is seen once per
 * cp_expiry_sweep_s (a close is that much late at most): with an hour's
 * idle_s, a walk of 1,000,000 sessions every second would be a core's work
 * for closes that can wait a minute. A close that fails (Redis down) is tried
 * again on the next pass: the session is still in the data plane then only
 * if its removal did not happen either.
 */
static void expire_sessions(struct cp *cp)
{
	struct cp_expired x = {{__atomic_load_n(&cp->expiry.idle_s, __ATOMIC_RELAXED),
	                        __atomic_load_n(&cp->expiry.max_life_s, __ATOMIC_RELAXED)},
	                       NULL,
	                       0,
	                       0};
	unsigned kept = 0, slots, slice;

	/* First the closes Redis refused before: out of the data plane already,
	 * their records go now (the devices are told at their device address). */
	for (unsigned i = 0; i < cp->n_close_retry; i++)
		if (kept || cp_session_close(&cp->h, cp->hk_st, cp->close_retry[i].sid,
		                             cp->close_retry[i].why) == -SGA_E_UNAVAILABLE)
			cp->close_retry[kept++] = cp->close_retry[i];
	cp->n_close_retry = kept;
	if (!x.e.idle_s && !x.e.max_life_s)
		return;
	slots = dp_session_slots(cp->dp);
	slice = (slots + cp_expiry_sweep_s(&x.e) - 1) / cp_expiry_sweep_s(&x.e);
	if (cp->expire_next >= slots)
		cp->expire_next = 0;
	pthread_mutex_lock(&cp->install_mu);
	dp_session_foreach_slice(cp->dp, cp->expire_next, slice, expire_visit, &x);
	pthread_mutex_unlock(&cp->install_mu);
	cp->expire_next += slice;
	for (size_t i = 0; i < x.n && !stopping(cp); i++) {
		int rc = cp_session_close(&cp->h, cp->hk_st, x.v[i].sid, x.v[i].why);

		if (rc == -SGA_E_UNAVAILABLE) {
			/* Out of the data plane or not, its record stays: again next pass. */
			if (cp->n_close_retry < CP_CLOSE_RETRY_MAX) {
				cp->close_retry[cp->n_close_retry].sid = x.v[i].sid;
				cp->close_retry[cp->n_close_retry++].why = x.v[i].why;
			}
			continue;
		}
		atomic_fetch_add_explicit(x.v[i].why == SGA_CLOSE_IDLE ? &cp->expired_idle
		                                                       : &cp->expired_life,
		                          1, memory_order_relaxed);
	}
	free(x.v);
}

static void *hk_main(void *arg)
{
	struct cp *cp = arg;
	uint64_t next = mono_ms() + cp->persist_ms, next_life = mono_ms() + 1000;

	while (!stopping(cp)) {
		serve_reservations(cp);
		if (mono_ms() >= next) {
			persist_marks(cp, 0);
			next = mono_ms() + cp->persist_ms;
		}
		if (mono_ms() >= next_life) {
			expire_sessions(cp);
			next_life = mono_ms() + 1000;
		}
		/* Closed and replaced slots back to the free list as soon as the
		 * lcores allow (an install would do it too, but only when short). */
		pthread_mutex_lock(&cp->install_mu);
		dp_session_reclaim(cp->dp);
		pthread_mutex_unlock(&cp->install_mu);
		sleep_ns(CP_HK_NS);
	}
	return NULL;
}

/* ---- [cluster]: the lease ------------------------------------------------------------------ */

/*
 * This gateway's lease, sga:{node:<name>}, for lease_ms, renewed every
 * lease_ms / 3; and every peer's looked at as often, for the data plane
 * (dp_peer_set_alive: a peer whose lease lapsed is down, its sessions'
 * frames are adopted from then on, PROTOCOL.md 9.6). A peer is taken as
 * down only when Redis answers that its lease is gone: Redis down leaves
 * every peer as it was (nothing can be adopted then anyway).
 */
static void *lease_main(void *arg)
{
	struct cp *cp = arg;
	const unsigned period = cp->lease_ms / 3 ? cp->lease_ms / 3 : 1;
	const char *self = cp->nodes.node[cp->nodes.self - 1].name;
	int held = -1; /* unknown */

	while (!stopping(cp)) {
		uint64_t t0 = mono_ms();
		int rc = store_node_lease(cp->lease_st, self, cp->lease_val, cp->lease_ms);

		if (rc && held != 0) {
			atomic_fetch_add_explicit(&cp->lease_lost, 1, memory_order_relaxed);
			cp_log(CP_LOG_WARNING,
			       "[cluster] lease of %s not renewed (%d): the other gateways take "
			       "its sessions over once it lapses",
			       self, rc);
		} else if (!rc && held == 0) {
			cp_log(CP_LOG_INFO, "[cluster] lease of %s renewed again", self);
		}
		held = !rc;
		for (unsigned k = 1; k <= cp->nodes.n; k++) {
			int alive;

			if (k == cp->nodes.self)
				continue;
			alive = store_node_alive(cp->lease_st, cp->nodes.node[k - 1].name);
			if (alive < 0)
				continue;
			if (dp_peer_alive(cp->dp, k) != alive) {
				if (!alive)
					atomic_fetch_add_explicit(&cp->peers_down, 1,
					                          memory_order_relaxed);
				cp_log(alive ? CP_LOG_INFO : CP_LOG_WARNING,
				       "[cluster] %s is %s (its lease %s)",
				       cp->nodes.node[k - 1].name, alive ? "up" : "down",
				       alive ? "is held" : "lapsed");
			}
			dp_peer_set_alive(cp->dp, k, alive);
		}
		while (!stopping(cp) && mono_ms() - t0 < period)
			sleep_ns(10 * 1000 * 1000);
	}
	/* A clean stop: the data plane has stopped and its logs are flushed
	 * (sga-gateway stops it first), so the other gateways may take the
	 * sessions over now rather than once the lease lapses. Only this run's
	 * lease is deleted. */
	if (held == 1 && store_node_release(cp->lease_st, self, cp->lease_val) == 1)
		cp_log(
		    CP_LOG_INFO,
		    "[cluster] lease of %s given back: the other gateways take its sessions over "
		    "at their next frame",
		    self);
	return NULL;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

static void cp_free(struct cp *cp)
{
	if (cp->w) {
		for (unsigned i = 0; i < cp->n_workers; i++) {
			store_close(cp->w[i].st);
			sga_cookie_key_wipe(&cp->w[i].ck);
			sga_async_destroy(cp->w[i].async);
			free(cp->w[i].jobs);
		}
		free(cp->w);
	}
	store_close(cp->hk_st);
	store_close(cp->lease_st);
	store_close(cp->main_st);
	if (cp->install_mu_ok)
		pthread_mutex_destroy(&cp->install_mu);
	if (cp->main_mu_ok)
		pthread_mutex_destroy(&cp->main_mu);
	free(cp->marks);
	free(cp->due);
	sga_memzero(&cp->lab, sizeof(cp->lab)); /* the lab seed */
	sga_memzero(cp->cookie_root, sizeof(cp->cookie_root));
	free(cp);
}

static void cp_join(struct cp *cp)
{
	atomic_store_explicit(&cp->stop, 1, memory_order_release);
	for (unsigned i = 0; cp->w && i < cp->n_workers; i++)
		if (cp->w[i].started) {
			pthread_join(cp->w[i].th, NULL);
			cp->w[i].started = 0;
		}
	if (cp->hk_started) {
		pthread_join(cp->hk, NULL);
		cp->hk_started = 0;
	}
	if (cp->lease_started) {
		pthread_join(cp->lease_th, NULL);
		cp->lease_started = 0;
	}
}

/* Best effort: a CPU set the kernel refuses leaves the inherited affinity. */
static void set_affinity(pthread_t th, const cpu_set_t *cpus)
{
	if (cpus && CPU_COUNT(cpus) > 0 && pthread_setaffinity_np(th, sizeof(*cpus), cpus))
		cp_log(CP_LOG_WARNING, "cannot set the control-plane threads' CPU affinity");
}

struct cp *cp_start(const struct cp_config *cfg, const struct sga_gw *gw, struct dp *dp)
{
	struct store_config scfg;
	struct cp *cp = NULL;
	char name[16];
	int err = 0;

	if (!cfg || !gw || !dp || cfg->n_workers == 0 || cfg->n_workers > CP_MAX_WORKERS ||
	    cfg->async_jobs > CP_ASYNC_MAX || cfg->cookie_mode > CP_COOKIE_OFF) {
		errno = EINVAL;
		return NULL;
	}
	scfg = cfg->store;
	if (!scfg.backoff_max_ms)
		scfg.backoff_max_ms = cfg->backoff_max_ms;
	cp = calloc(1, sizeof(*cp));
	if (!cp) {
		err = ENOMEM;
		goto out;
	}
	cp->gw = gw;
	cp->dp = dp;
	cp->persist_ms =
	    cfg->persist_interval_ms ? cfg->persist_interval_ms : CP_PERSIST_DEFAULT_MS;
	cp->mark_step = cfg->mark_step ? cfg->mark_step : 1;
	cp->mark_max_age_ms =
	    cfg->mark_max_age_ms ? cfg->mark_max_age_ms : 10 * (uint64_t)cp->persist_ms;
	cp->tx_block = cfg->tx_seq_block ? cfg->tx_seq_block : CP_TX_BLOCK_DEFAULT;
	cp->h.gw = gw;
	cp->h.send.fn = cb_send;
	cp->h.send.ctx = cp;
	cp->h.install.fn = cb_install;
	cp->h.install.ctx = cp;
	cp->h.installed.fn = cb_installed;
	cp->h.installed.ctx = cp;
	cp->h.remove.fn = cb_remove;
	cp->h.remove.ctx = cp;
	cp->h.wake.fn = cb_wake;
	cp->h.wake.ctx = cp;
	if (cfg->adopt_sessions) {
		cp->h.adopt.fn = cb_present;
		cp->h.adopt.ctx = cp;
		if (cfg->replicate_store) {
			cp->h.backlog.fn = cb_backlog;
			cp->h.backlog.ctx = cp;
		}
	}
	if (cfg->nodes && cfg->nodes->n) {
		uint8_t id[8];

		cp->nodes = *cfg->nodes;
		cp->lease_ms = cfg->lease_ms ? cfg->lease_ms : CP_LEASE_DEFAULT_MS;
		if (sga_random_bytes(id, sizeof(id))) {
			err = EIO;
			goto out;
		}
		snprintf(cp->lease_val, sizeof(cp->lease_val), "%02x%02x%02x%02x%02x%02x%02x%02x",
		         id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7]);
		cp->h.cluster.nodes = &cp->nodes;
		cp->h.cluster.alive = cb_alive;
		cp->h.cluster.forward = cb_forward;
		cp->h.cluster.ctx = cp;
	}
	cp->expiry.idle_s = cfg->session_idle_s;
	cp->expiry.max_life_s = cfg->session_max_life_s;
	cp->h.tx_block = cp->tx_block;
	cp->h.ctr = &cp->ctr;
	cp->cookie_mode = cfg->cookie_mode;
	cp->cookie_threshold =
	    cfg->cookie_threshold ? cfg->cookie_threshold : CP_COOKIE_THRESHOLD_DEFAULT;
	if (sga_random_bytes(cp->cookie_root, sizeof(cp->cookie_root))) {
		err = EIO;
		goto out;
	}
	if ((err = pthread_mutex_init(&cp->install_mu, NULL)) != 0)
		goto out;
	cp->install_mu_ok = 1;
	if ((err = pthread_mutex_init(&cp->main_mu, NULL)) != 0)
		goto out;
	cp->main_mu_ok = 1;
	cp->main_st = store_open(&scfg);
	cp->hk_st = store_open(&scfg);
	cp->w = calloc(cfg->n_workers, sizeof(*cp->w));
	if (!cp->main_st || !cp->hk_st || !cp->w) {
		err = ENOMEM;
		goto out;
	}
	cp->n_workers = cfg->n_workers;
	for (unsigned i = 0; i < cp->n_workers; i++) {
		cp->w[i].cp = cp;
		cp->w[i].idx = i;
		cp->w[i].st = store_open(&scfg);
		cp->w[i].n_jobs = cfg->async_jobs ? cfg->async_jobs : CP_ASYNC_DEFAULT;
		sga_cookie_key_init(&cp->w[i].ck, cp->cookie_root);
		cp->w[i].jobs = calloc(cp->w[i].n_jobs, sizeof(*cp->w[i].jobs));
		cp->w[i].async = sga_async_create_stack(cp->w[i].n_jobs, CP_JOB_STACK);
		if (!cp->w[i].st || !cp->w[i].jobs || !cp->w[i].async) {
			err = ENOMEM;
			goto out;
		}
		for (unsigned k = 0; k < cp->w[i].n_jobs; k++)
			cp->w[i].jobs[k].w = &cp->w[i];
	}
	if (cp->cookie_mode == CP_COOKIE_ALWAYS)
		set_spread(cp, 1);
	for (unsigned i = 0; i < cp->n_workers; i++) {
		if ((err = pthread_create(&cp->w[i].th, NULL, worker_main, &cp->w[i])) != 0)
			goto out;
		cp->w[i].started = 1;
		snprintf(name, sizeof(name), "sga-cp-%u", i % 1000u); /* 15 chars + NUL */
		pthread_setname_np(cp->w[i].th, name);
		set_affinity(cp->w[i].th, cfg->cpus);
	}
	if (cp->nodes.n) {
		cp->lease_st = store_open(&scfg);
		if (!cp->lease_st) {
			err = ENOMEM;
			goto out;
		}
		if ((err = pthread_create(&cp->lease_th, NULL, lease_main, cp)) != 0)
			goto out;
		cp->lease_started = 1;
		pthread_setname_np(cp->lease_th, "sga-cp-lease");
		set_affinity(cp->lease_th, cfg->cpus);
	}
	if ((err = pthread_create(&cp->hk, NULL, hk_main, cp)) != 0)
		goto out;
	cp->hk_started = 1;
	pthread_setname_np(cp->hk, "sga-cp-hk");
	set_affinity(cp->hk, cfg->cpus);
	cp_log(CP_LOG_INFO, "control plane: %u worker thread(s) started", cp->n_workers);
out:
	sga_memzero(&scfg, sizeof(scfg));
	if (err) {
		if (cp) {
			cp_join(cp);
			cp_free(cp);
		}
		errno = err;
		return NULL;
	}
	return cp;
}

int cp_restore_sessions(struct cp *cp)
{
	int rc;

	pthread_mutex_lock(&cp->main_mu);
	rc = cp_core_restore(&cp->h, cp->main_st);
	pthread_mutex_unlock(&cp->main_mu);
	if (rc >= 0)
		return rc;
	if (rc == -SGA_E_UNAVAILABLE)
		return store_auth_refused(cp->main_st) ? -EACCES : -EAGAIN;
	return -EIO;
}

int cp_lab_run(struct cp *cp, const struct sga_lab_params *p, struct cp_lab_report *rep)
{
	int rc;

	pthread_mutex_lock(&cp->main_mu);
	rc = cp_lab_provision(&cp->h, cp->main_st, p, rep);
	atomic_store_explicit(&cp->lab_sessions, rep->installed, memory_order_relaxed);
	if (!rc) {
		cp->lab = *p;
		cp->lab_on = 1;
	}
	pthread_mutex_unlock(&cp->main_mu);
	if (!rc)
		return 0;
	return rc == -SGA_E_UNAVAILABLE ? -EAGAIN : rc == -SGA_E_BAD_FIELD ? -EINVAL : -EIO;
}

void cp_set_expiry(struct cp *cp, unsigned idle_s, unsigned max_life_s)
{
	if (!cp)
		return;
	__atomic_store_n(&cp->expiry.idle_s, idle_s, __ATOMIC_RELAXED);
	__atomic_store_n(&cp->expiry.max_life_s, max_life_s, __ATOMIC_RELAXED);
}

/* The operator's commands (the telemetry thread): on main_st, under main_mu. */
/* [cluster]: the live gateway other than this one that owns sid (its name in
 * owner), 0 when none (or no cluster), or a negated SGA_E_*. */
static int owner_elsewhere(struct cp *cp, uint64_t sid, char owner[STORE_OWNER_MAX])
{
	const struct cp_cluster *cl = &cp->h.cluster;
	unsigned node;
	int rc;

	owner[0] = '\0';
	if (!cl->nodes)
		return 0;
	rc = store_session_owner(cp->main_st, sid, owner, STORE_OWNER_MAX);
	if (rc)
		return rc;
	node = owner[0] ? dp_nodes_find(cl->nodes, owner, strlen(owner)) : 0;
	return node && node != cl->nodes->self && cl->alive(cl->ctx, node) ? 1 : 0;
}

int cp_close(struct cp *cp, uint64_t session_id, char *owner, size_t owner_len)
{
	char who[STORE_OWNER_MAX];
	int rc;

	if (!cp)
		return -EINVAL;
	pthread_mutex_lock(&cp->main_mu);
	rc = owner_elsewhere(cp, session_id, who);
	if (rc == 1) {
		if (owner && owner_len)
			snprintf(owner, owner_len, "%s", who);
		rc = -SGA_E_BAD_STATE;
	} else if (!rc) {
		rc = cp_session_close(&cp->h, cp->main_st, session_id, SGA_CLOSE_OPERATOR);
	}
	pthread_mutex_unlock(&cp->main_mu);
	return rc == -SGA_E_UNKNOWN_SESSION ? -ENOENT
	       : rc == -SGA_E_UNAVAILABLE   ? -EAGAIN
	       : rc == -SGA_E_BAD_STATE     ? -EXDEV
	       : rc                         ? -EIO
	                                    : 0;
}

int cp_session_view(struct cp *cp, uint64_t session_id, struct dp_session_view *v)
{
	int rc;

	if (!cp || !v)
		return -EINVAL;
	pthread_mutex_lock(&cp->install_mu);
	rc = dp_session_get(cp->dp, session_id, v);
	pthread_mutex_unlock(&cp->install_mu);
	return rc;
}

int cp_revoke(struct cp *cp, const uint8_t *id, uint8_t id_len)
{
	int rc;

	if (!cp || !id || !id_len)
		return -EINVAL;
	pthread_mutex_lock(&cp->main_mu);
	rc = cp_device_revoke(&cp->h, cp->main_st, id, id_len);
	pthread_mutex_unlock(&cp->main_mu);
	if (rc >= 0)
		return rc;
	return rc == -SGA_E_UNKNOWN_DEVICE ? -ENOENT
	       : rc == -SGA_E_UNAVAILABLE  ? -EAGAIN
	       : rc == -SGA_E_BAD_FIELD    ? -EINVAL
	                                   : -EIO;
}

void cp_stop(struct cp *cp)
{
	if (!cp)
		return;
	cp_join(cp);
	/* Last marks: what the lcores accepted up to now (they may still run),
	 * none deferred. */
	persist_marks(cp, 1);
	cp_free(cp);
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

void cp_get_stats(const struct cp *cp, struct cp_stats *out)
{
	struct cp *c = (struct cp *)cp; /* atomics are read, never written, here */

	memset(out, 0, sizeof(*out));
	out->handled = atomic_load_explicit(&c->ctr.handled, memory_order_relaxed);
	out->rejected = atomic_load_explicit(&c->ctr.rejected, memory_order_relaxed);
	out->unavailable = atomic_load_explicit(&c->ctr.unavailable, memory_order_relaxed);
	out->sessions = atomic_load_explicit(&c->ctr.sessions, memory_order_relaxed);
	out->registered = atomic_load_explicit(&c->ctr.registered, memory_order_relaxed);
	out->undelivered = atomic_load_explicit(&c->ctr.undelivered, memory_order_relaxed);
	out->restored = atomic_load_explicit(&c->ctr.restored, memory_order_relaxed);
	out->rekeys = atomic_load_explicit(&c->ctr.rekeys, memory_order_relaxed);
	out->adopted = atomic_load_explicit(&c->ctr.adopted, memory_order_relaxed);
	out->adopt_refused = atomic_load_explicit(&c->ctr.adopt_refused, memory_order_relaxed);
	out->backlog_msgs = atomic_load_explicit(&c->ctr.backlog_msgs, memory_order_relaxed);
	out->backlog_failed = atomic_load_explicit(&c->ctr.backlog_failed, memory_order_relaxed);
	out->to_owner = atomic_load_explicit(&c->ctr.to_owner, memory_order_relaxed);
	out->misrouted = atomic_load_explicit(&c->ctr.misrouted, memory_order_relaxed);
	out->lease_lost = atomic_load_explicit(&c->lease_lost, memory_order_relaxed);
	out->peers_down = atomic_load_explicit(&c->peers_down, memory_order_relaxed);
	out->reservations = atomic_load_explicit(&c->reservations, memory_order_relaxed);
	out->persisted = atomic_load_explicit(&c->persisted, memory_order_relaxed);
	out->mark_passes = atomic_load_explicit(&c->mark_passes, memory_order_relaxed);
	out->marks_deferred = atomic_load_explicit(&c->marks_deferred, memory_order_relaxed);
	out->lab_sessions = atomic_load_explicit(&c->lab_sessions, memory_order_relaxed);
	out->owner_lost = atomic_load_explicit(&c->owner_lost, memory_order_relaxed);
	out->cookie_sent = atomic_load_explicit(&c->cookie_sent, memory_order_relaxed);
	out->cookie_valid = atomic_load_explicit(&c->cookie_valid, memory_order_relaxed);
	out->cookie_invalid = atomic_load_explicit(&c->cookie_invalid, memory_order_relaxed);
	out->forwarded = atomic_load_explicit(&c->forwarded, memory_order_relaxed);
	out->load_events = atomic_load_explicit(&c->load_events, memory_order_relaxed);
	out->closed = atomic_load_explicit(&c->ctr.closed, memory_order_relaxed);
	out->revoked = atomic_load_explicit(&c->ctr.revoked, memory_order_relaxed);
	out->expired_idle = atomic_load_explicit(&c->expired_idle, memory_order_relaxed);
	out->expired_life = atomic_load_explicit(&c->expired_life, memory_order_relaxed);
	out->under_load = under_load(c, mono_ms());
	for (unsigned i = 0; i < c->n_workers; i++) {
		out->reconnects += store_reconnects(c->w[i].st);
		out->redis_moved += store_moved(c->w[i].st);
		out->redis_asked += store_asked(c->w[i].st);
		out->redis_primary_changes =
		    max_u64(out->redis_primary_changes, store_primary_changes(c->w[i].st));
	}
	out->redis_primary_changes =
	    max_u64(out->redis_primary_changes, store_primary_changes(c->hk_st));
	out->redis_primary_changes =
	    max_u64(out->redis_primary_changes, store_primary_changes(c->main_st));
	out->reconnects += store_reconnects(c->hk_st) + store_reconnects(c->main_st);
	out->redis_moved += store_moved(c->hk_st) + store_moved(c->main_st);
	out->redis_asked += store_asked(c->hk_st) + store_asked(c->main_st);
}
