/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_store.h - store and forward for one data-plane lcore.
 *
 * Every fresh DATA_UP is appended to the lcore's durable message log
 * (msgstore/msg_log.h) before its sender gets a DATA_ACK ("stored"), and stays in
 * a pending index until the recipient acknowledges delivery with DATA_DELIVERED.
 * Pending messages are re-sent to the recipient with exponential backoff, and at
 * once when the recipient shows up again (any authentic frame from it). At start
 * the log's live records rebuild the pending index, so a crash loses nothing that
 * was acknowledged, and the recipients' last delivery reports (delivered marks,
 * DP_STORE_REC_MARK below), so a late copy of a delivered message is not taken
 * for a new one after a restart either. One backoff per recipient paces every
 * re-send and DATA_SKIP notice (dp_store_resends_due).
 *
 * Why the payload is also kept in memory: re-sending from memory keeps disk
 * reads (syscalls) off the lcore; the log is for durability, the pool for the
 * working set. The pool is preallocated (pending_max entries of one frame each):
 * no allocation after start-up. A full pool or a log in its error state (disk
 * full, I/O error) refuses the message: the sender gets no DATA_ACK and sends it
 * again later.
 *
 * Threads: everything but create/destroy/stats runs on the owning lcore only.
 * Pending state is keyed by (session id, recipient role, e2e_seq), so it does not
 * depend on when the control plane (re)installs the session.
 */
#ifndef SGA_DP_STORE_H
#define SGA_DP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "msg_log.h"

struct dp_store; /* opaque */

/** The store's clock, the now_ms its calls take: CLOCK_MONOTONIC_COARSE in
 *  milliseconds (vDSO: no system call on the lcore). */
static inline uint64_t dp_store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * Replication of the logs (optional, [store] replicate = redis): each log's
 * writer offers its batches to hook (msg_log.h "Replication") with a context
 * of its own, made by open for that log (lcore-<k>) before the log is opened
 * and closed by close after it is (a writer thread per log, and a context is
 * used by its writer only). open returning NULL fails dp_store_create.
 */
struct dp_store_replica {
	msg_log_replicate_fn hook;
	void *(*open)(void *arg, unsigned log_dir_index);
	void (*close)(void *ctx);
	void *arg;
};

struct dp_store_config {
	const char *dir;            /* store root; this lcore uses <dir>/lcore-<index> */
	unsigned lcore_index;       /* 0 .. n_lcores-1 */
	unsigned n_lcores;          /* logs lcore-<k> with k % n_lcores == index are ours too */
	enum msg_log_fsync fsync;   /* none | interval | always */
	uint32_t fsync_interval_ms; /* for interval */
	uint64_t segment_bytes;     /* 0: library default */
	uint64_t max_bytes;         /* size retention, 0: none */
	uint64_t max_age_ms;        /* age retention, 0: none */
	unsigned pending_max;       /* messages held for delivery (memory: ~1.6 KiB each) */
	uint64_t ring_bytes;        /* each log's ring (msg_log_config); 0: its default */
	uint32_t resend_min_ms;     /* first re-send delay [200] */
	uint32_t resend_max_ms;     /* backoff cap [5000] */
	/* LAB ONLY ([lab] hop_replay_window = off): replayed messages are stored
	 * again, see DP_STORE lab mode below. 0: the production rules. */
	int lab_replay;
	const cpu_set_t *writer_cpus;           /* the log writers' CPUs; NULL: the caller's */
	const struct dp_store_replica *replica; /* NULL: local durability only */
};

/** What the start-up recovery found, summed over this lcore's logs. */
struct dp_store_report {
	unsigned logs;
	uint64_t live;      /* messages back in the pending index */
	uint64_t dropped;   /* live records that did not fit the pool (counted, logged) */
	uint64_t bytes_cut; /* torn tails cut */
	uint32_t issues;    /* torn tails and corrupt segments (each logged with file and offset) */
	uint64_t marks;     /* delivered marks found (recipients' last reports, see below) */
	uint64_t dropped_delivered; /* live records below their recipient's mark: released */
};

/* The flags of a MSG record that is a delivered mark, not a message: no
 * payload, e2e_seq = the recipient's last DATA_DELIVERED report (every e2e_seq
 * below it reached the recipient), role = the recipient. One live per
 * recipient; it survives a restart, so a late copy of a delivered message is
 * DP_STORE_DONE then too (dp_store.c, "Delivered marks"). */
#define DP_STORE_REC_MARK 0x01

/** Open the logs and rebuild the pending index. Main thread, before the lcore
 *  runs. NULL + errno (and a log line) on an unusable directory. */
struct dp_store *dp_store_create(const struct dp_store_config *cfg, struct dp_store_report *rep);
/** Close the logs (their writers flush and sync); lcore stopped. */
void dp_store_destroy(struct dp_store *st);

/** A new max_age_ms (0: none) for a store in use: a relaxed store, read by its
 *  lcore at the next dp_store_resends_due. Any thread. */
void dp_store_set_max_age(struct dp_store *st, uint64_t max_age_ms);

/*
 * A recipient's delivery window: messages up to DP_STORE_HOLD_AHEAD above its
 * oldest held one ("lo") are sent to it, later ones are stored and held until
 * its DATA_DELIVERED moves the window up. Why: a device's E2E replay window
 * refuses anything more than SGA_REPLAY_WINDOW - 64 = 960 below the newest
 * message it accepted. If newer messages were relayed freely while an old one
 * waits for a re-send (the recipient's socket overflowed, it was away), the
 * re-sent copy would arrive "too old" and be lost although the sender was told
 * it was STORED. 384 leaves room for a sender's window of up to 512 messages
 * arriving out of order (a lost one re-sent after the ones behind it). It is
 * also the most a recipient has in flight: 384 messages per round trip of its
 * DATA_DELIVERED.
 */
#define DP_STORE_HOLD_AHEAD 384

/*
 * The last pending_max / DP_STORE_RESERVE_DIV pool slots take only messages
 * that fill a hole below what their recipient has held (e2e_seq below the
 * highest one held). Why: a pool full of messages above a hole deadlocks. The
 * recipient's report is cumulative, so none of them can be released before
 * the hole is filled, and with no slot left every message of the hole is
 * refused (relayed unstored: the recipient gained one message per sender
 * retransmission and its backoff - the store=always bench_relay stall). With
 * the reserve a hole can always be stored; the recipient's report then moves
 * past it and frees the pool. New messages see a pool of pending_max minus
 * the reserve.
 */
#define DP_STORE_RESERVE_DIV 8

/*
 * Lab mode (cfg.lab_replay; LAB ONLY, [lab] hop_replay_window = off). A
 * generator replaying a pcap in a loop (Pktgen-DPDK) sends every message of
 * its file again on each pass: the same (session, recipient, e2e_seq), and its
 * recipients never send DATA_DELIVERED. The production rules would answer
 * HAVE or DONE from the second pass on (neither appended nor relayed: the
 * benchmark would measure a shortcut) and hold everything beyond
 * DP_STORE_HOLD_AHEAD for a report that never comes. In lab mode:
 *  - a message whose key is held is appended again as a new MSG record; it
 *    replaces the held copy in its pool entry and the older record is
 *    released (a RELEASE record): DP_STORE_RELAY, acknowledged once durable;
 *  - a message below the recipient's report (delivered and released) is
 *    appended again and released at once: DP_STORE_RELAY as well, nothing
 *    held, the recipient's window unchanged;
 *  - nothing is held back: DP_STORE_HOLD is never returned (the window exists
 *    for a real device's E2E replay window, which a lab replay defeats
 *    anyway), so a file with more than DP_STORE_HOLD_AHEAD messages per
 *    recipient is relayed whole, not stuck behind a report;
 *  - the rest is the production path: new keys take a pool entry, the reserve
 *    and go-back-N refusals apply (a refused message comes again on the next
 *    pass and fills its hole), re-sends and age expiry run.
 * So every frame is opened, appended and sealed, and the pool stays bounded
 * by the number of distinct messages in the file: size pending_max to hold
 * them, plus the reserve (1/DP_STORE_RESERVE_DIV). Counted as lab_reappended.
 */

/** What dp_store_put did with a message, and what the caller does next. */
enum dp_store_put_rc {
	DP_STORE_RELAY,        /* stored: relay it now; DATA_ACK from dp_store_acks_due */
	DP_STORE_HOLD,         /* stored, not relayed: the recipient's backlog reaches
	                    * DP_STORE_HOLD_AHEAD; re-sent in order; DATA_ACK as above */
	DP_STORE_HAVE,         /* held already (a retransmission): DATA_ACK as above; a
	                        * re-sealed one is relayed if dp_store_reseal says so */
	DP_STORE_DONE,         /* delivered and released already: DATA_ACK now, no relay */
	DP_STORE_FULL,         /* refused, pool or ring full: relay it unstored, no DATA_ACK */
	DP_STORE_ERROR,        /* refused, the log is in its error state (disk full, I/O
	                    * error): relay it unstored, no DATA_ACK */
	DP_STORE_REFUSED_HOLD, /* refused (full or error) and as far ahead as
	                        * DP_STORE_HOLD: neither relay nor DATA_ACK; the
	                        * sender sends it again */
};

/**
 * Persist the inner bytes (e2e_seq | e2e ciphertext) of a DATA_UP from role
 * `from` of session sid; the recipient is from ^ 1.
 */
enum dp_store_put_rc dp_store_put(struct dp_store *st, uint64_t sid, uint8_t from, uint64_t e2e_seq,
                                  const uint8_t *inner, size_t len);

/**
 * A re-sealed DATA_UP (a fresh hop seq, the same e2e_seq) of a message
 * dp_store_put answered DP_STORE_HAVE: whether to relay it now (PROTOCOL.md
 * 9.4). The sender re-seals a message it holds unacknowledged, and the
 * recipient may lack it: true when the message is inside the recipient's
 * delivery window (it went out before), false when it is held back (it goes
 * out in order). If the held copy's bytes differ from these, the held copy is
 * one the recipient may never open: these replace it (a new MSG record, the
 * old one released), so what is relayed and re-sent from now on is the
 * sender's latest copy. Its DATA_ACK is the one dp_store_put queued.
 */
bool dp_store_reseal(struct dp_store *st, uint64_t sid, uint8_t from, uint64_t e2e_seq,
                     const uint8_t *inner, size_t len);

struct dp_store_ack {
	uint64_t session_id;
	uint8_t role; /* the sender, who gets the DATA_ACK */
	uint64_t e2e_seq;
};
/** DATA_ACKs whose messages are now durable, oldest first: up to n. */
unsigned dp_store_acks_due(struct dp_store *st, struct dp_store_ack *out, unsigned n);

struct dp_store_resend {
	uint64_t session_id;
	uint8_t role;         /* recipient */
	uint64_t e2e_seq;     /* inner NULL: send DATA_SKIP(e2e_seq) instead */
	const uint8_t *inner; /* valid until the next call into the store */
	size_t len;
};

/** The recipient `role` of sid holds every message below next_e2e_seq: release
 *  them. Held messages that the moved window now reaches are returned (up to n,
 *  in order) to be sent now; the re-send scan sends any beyond n. */
unsigned dp_store_delivered(struct dp_store *st, uint64_t sid, uint8_t role, uint64_t next_e2e_seq,
                            uint64_t now_ms, struct dp_store_resend *out, unsigned n);

/** Session sid is closed (its slot is gone: nothing can store a message for
 *  it any more): every message held for either member is released from the
 *  log undelivered, and the members' delivered marks and records go too.
 *  Returns the number of messages released. */
unsigned dp_store_forget(struct dp_store *st, uint64_t sid);

/** The recipient `role` of sid sent an authentic frame: re-send its backlog now. */
void dp_store_kick(struct dp_store *st, uint64_t sid, uint8_t role);

/** Messages held for the recipient `role` of sid (0: none). */
uint32_t dp_store_pending(const struct dp_store *st, uint64_t sid, uint8_t role);

/** Tests only: the recipient's current re-send backoff (0: nothing held). */
uint32_t dp_store_backoff_ms(const struct dp_store *st, uint64_t sid, uint8_t role);

/** Messages due for (re-)delivery at now_ms (and DATA_SKIP notices for messages
 *  expired by max_age_ms, which this call also releases), up to n, oldest first per
 *  recipient; their next attempt moves back with exponential backoff. */
unsigned dp_store_resends_due(struct dp_store *st, uint64_t now_ms, struct dp_store_resend *out,
                              unsigned n);

/*
 * Adoption of a replicated backlog (PROTOCOL.md 9.5, [store] replicate =
 * redis). The gateway that adopts a session reads the messages another
 * gateway stored and acknowledged for it (controlplane/store_replica.h) and
 * its lcore puts them here: each is appended to this store's own log (which
 * replicates it again: the same field, idempotent) and held as if it had
 * arrived here, but never acknowledged (its sender got its DATA_ACK from the
 * first gateway) and not relayed: the re-send scan delivers it soon, in
 * order, inside the recipient's window, with the normal backoff. The
 * recipient's delivered mark goes first (dp_store_adopt_mark): a message below
 * it was delivered and is not taken again. Its age (max_age_ms) counts from
 * its adoption.
 */
enum dp_store_adopt_rc {
	DP_STORE_ADOPTED = 0, /* held now, delivered by the re-send scan */
	DP_STORE_ADOPT_HAVE,  /* held already (this gateway stored it too) */
	DP_STORE_ADOPT_DONE,  /* below the recipient's mark: delivered already */
	DP_STORE_ADOPT_FULL,  /* refused: pool or ring full (counted; it stays in Redis) */
	DP_STORE_ADOPT_ERROR, /* refused: the log is in its error state */
};
/** Hold adopted message e2e_seq for recipient `to` of sid (inner as for
 *  dp_store_put). Owning lcore. */
enum dp_store_adopt_rc dp_store_adopt_put(struct dp_store *st, uint64_t sid, uint8_t to,
                                          uint64_t e2e_seq, const uint8_t *inner, size_t len,
                                          uint64_t now_ms);
/** The recipient `role` of sid reported every e2e_seq below delivered_next
 *  (its mark, as another gateway kept it): raised to that if higher, what is
 *  held below released, and the mark written to this store's log. Owning
 *  lcore. */
void dp_store_adopt_mark(struct dp_store *st, uint64_t sid, uint8_t role, uint64_t delivered_next);

struct dp_store_stats {
	uint64_t pending;    /* messages held for delivery */
	uint64_t recipients; /* recipients (session, role) with messages pending */
	uint64_t
	    oldest_ms; /* when the oldest pending message was stored (CLOCK_REALTIME ms), 0: none */
	uint64_t stored;             /* messages persisted since start */
	uint64_t held;               /* of those, held back (DP_STORE_HOLD) */
	uint64_t delivered;          /* messages released by DATA_DELIVERED */
	uint64_t resent;             /* re-deliveries */
	uint64_t refused_full;       /* messages refused: pool or ring full */
	uint64_t refused_error;      /* messages refused: log error state */
	uint64_t refused_behind_gap; /* messages refused: after a refused one (go-back-N) */
	uint64_t skips;              /* DATA_SKIP notices handed out for messages expired by age */
	uint64_t lab_reappended;     /* LAB ONLY: replayed messages appended again (lab mode) */
	uint64_t skips_deferred;     /* rounds a DATA_SKIP was due but held back by the backoff */
	uint64_t resends_deferred;   /* copies left out: sent less than resend_min_ms ago */
	uint64_t resealed_relayed;   /* re-sealed DATA_UPs of held messages relayed again */
	uint64_t resealed_replaced;  /* of those, replacing a held copy with other bytes */
	uint64_t marks_written;      /* delivered marks appended (dp_store.c) */
	uint64_t marks_lost;         /* delivered marks the log refused (ring full, error) */
	uint64_t ring_full;          /* appends and releases the logs' rings refused (full) */
	uint64_t ring_peak;          /* the most bytes one log's ring held (of ring_bytes) */
	uint64_t bytes_on_disk;      /* over this lcore's logs */
	uint64_t expired;            /* dropped by retention (age or size) */
	uint64_t closed_released;    /* released undelivered: their session closed */
	uint64_t adopted;            /* messages of an adopted backlog now held here */
	uint64_t adopt_have;         /* of a backlog, held here already */
	uint64_t adopt_done;         /* of a backlog, below the recipient's mark */
	uint64_t adopt_refused;      /* of a backlog, refused (pool, ring or error) */
	uint64_t adopt_lost;         /* of a backlog, not queued to the lcore (dp_store_totals) */
	uint64_t replicated;         /* batches the replication hook accepted, all logs */
	uint64_t replicate_failures; /* batches it refused (offered again) */
	uint64_t replica_lag;        /* lsns appended to logs[0] not yet replicated */
	int error;                   /* a log's error state (errno) or 0 */
};
/** Readable from any thread (values read without locks: a snapshot). */
void dp_store_stats(const struct dp_store *st, struct dp_store_stats *out);

/** Calls fn for every recipient with pending messages; oldest_ms is when the
 *  oldest of them arrived (CLOCK_MONOTONIC ms). Owning lcore only (or while it
 *  is stopped). */
void dp_store_foreach_recipient(const struct dp_store *st,
                                void (*fn)(void *arg, uint64_t sid, uint8_t role, uint64_t pending,
                                           uint64_t oldest_ms),
                                void *arg);

#endif /* SGA_DP_STORE_H */
