/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store_replica.h - the message store's Redis replica ([store] replicate =
 * redis): the replication hook of a message log (msg_log.h "Replication"),
 * and what a gateway that adopts a session reads back.
 *
 * Every batch the log's writer commits locally is applied to the sessions'
 * sga:{sess:<sid>}:held hashes (store.h) before the log reports it durable:
 *   MSG record                     HSET "<role>:<e2e_seq>" = the record's bytes
 *   MSG record, DP_STORE_REC_MARK  raise "m<role>" to its e2e_seq (the
 *                                  recipient's delivered mark; never lowered)
 *   RELEASE naming a message       HDEL "<role>:<e2e_seq>"
 *   anonymous RELEASE (session 0)  nothing: the release of a delivered mark or
 *                                  of a copy replaced by a newer one of the
 *                                  same key, whose field lives on
 * coalesced per batch (a message stored and deleted within one batch is never
 * written, only its HDEL sent; one mark per session and role, the highest;
 * the HDELs of a session hash one command, its HSETs another), pipelined (STORE_HELD_PIPE commands a round trip), then WAIT <replicas>
 * <timeout_ms> on every connection the batch wrote to. Any failure (Redis
 * unavailable, an error reply, fewer replicas than asked within the timeout)
 * refuses the batch: the log holds durable_lsn back and offers the same
 * records again (msg_log.h), so no STORED is sent for a message Redis may
 * lose. Replaying a batch is idempotent: HSET of the same bytes, HDEL of a
 * field already gone, a mark not lowered.
 *
 * A hash rather than a stream: messages are deleted by identity by whichever
 * gateway saw the delivery, and a message stored by two gateways (the new
 * owner appends the adopted backlog to its own log) is one field.
 *
 * Threads: one struct store_replica per message log, used by that log's
 * writer thread only (it owns a struct store: hiredis contexts are not
 * thread-safe); the statistics are read from any thread.
 */
#ifndef SGA_STORE_REPLICA_H
#define SGA_STORE_REPLICA_H

#include <stdint.h>
#include <sys/uio.h>

#include "store.h"

struct store_replica;

/** A replica for one log; connects lazily (the writer's first batch).
 *  replicas: WAIT's count (0: the primary's reply is enough, no WAIT);
 *  timeout_ms: WAIT's timeout (> 0). NULL + errno on ENOMEM/EINVAL. */
struct store_replica *store_replica_open(const struct store_config *scfg, unsigned replicas,
                                         unsigned timeout_ms);
void store_replica_close(struct store_replica *r);

/** The msg_log_replicate_fn (msg_log.h): ctx is a struct store_replica.
 *  0, or -EHOSTDOWN (Redis unavailable or an error reply), -EREMOTEIO (fewer
 *  replicas than asked confirmed), -EPROTO (a malformed record: a bug),
 *  -ENOMEM (no memory for the batch's ops; offered again). */
int store_replica_hook(void *ctx, const struct iovec *iov, int iovcnt, uint64_t last_lsn);

struct store_replica_stats {
	uint64_t batches;       /* batches replicated (WAIT satisfied) */
	uint64_t failures;      /* batches refused (each is offered again) */
	uint64_t records;       /* records applied in replicated batches */
	uint64_t short_waits;   /* of the failures: WAIT confirmed too few replicas */
	uint64_t last_lsn;      /* the highest MSG lsn replicated */
	uint64_t last_acked;    /* replicas the last WAIT confirmed */
	uint64_t ops_sent;      /* ops those batches sent (HSET, HDEL, mark of one field) */
	uint64_t ops_coalesced; /* ops a later one in the same batch made needless */
	uint64_t commands;      /* Redis commands the ops took (one per session hash and kind) */
};
/** Any thread (relaxed loads). */
void store_replica_stats(const struct store_replica *r, struct store_replica_stats *out);

/** One held message read back from Redis (store_replica_load). */
struct store_replica_msg {
	uint64_t sid;
	uint64_t e2e_seq;
	uint8_t role; /* recipient */
	uint16_t len;
	const uint8_t *payload; /* valid during the callback */
	uint64_t timestamp_ms;  /* when the first gateway stored it (CLOCK_REALTIME) */
};

/**
 * The replicated backlog of session sid: fn for each held message whose
 * record is intact (magic, version, CRC-32C, type MSG, and the session, role
 * and e2e_seq of its field), in ascending e2e_seq per role; marks[role] =
 * the recipient's delivered mark (0: none), set before the first call of fn;
 * *bad = fields skipped as malformed. 0 or a negated SGA_E_* code (store.h). Allocates (control
 * plane only).
 */
int store_replica_load(struct store *st, uint64_t sid,
                       void (*fn)(void *arg, const struct store_replica_msg *m), void *arg,
                       uint64_t marks[2], unsigned *bad);

#endif /* SGA_STORE_REPLICA_H */
