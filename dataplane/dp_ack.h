/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_ack.h - coalesced acknowledgements: one DATA_ACK per sender and lcore
 * loop iteration, naming every message taken charge of since the last one.
 *
 * A DATA_ACK (PROTOCOL.md 7.11) carries (top, bits): the 64 highest e2e_seqs
 * the gateway took charge of from that sender. Each member of a session keeps
 * that window in its slot (struct dp_member.ack, owner lcore only); noting a
 * message sets its bit and puts the member on its lcore's dirty list, once; the
 * end of the iteration seals one frame per dirty member with the window as it
 * then is. So a burst of N messages from one device costs one AEAD operation,
 * one mbuf and one frame instead of N, and a DATA_ACK lost on the way is
 * covered by the next one while its messages stay within 64 of top. A message
 * older than that (a late duplicate, a store batch far behind) gets a frame of
 * its own naming it alone.
 *
 * "Taken charge of" is the caller's decision: relayed without a store; durable
 * with one (dp_store_acks_due, or a duplicate of a message already delivered).
 * An authentic duplicate is noted again, which re-sends the window (the sender
 * lost our ACK).
 *
 * The list is per lcore, preallocated and bounded (DP_ACK_PENDING entries):
 * when it fills within one iteration it is flushed early, so noting never
 * fails and never allocates. No locks: the member state and the list are
 * written by the owner lcore only.
 */
#ifndef SGA_DP_ACK_H
#define SGA_DP_ACK_H

#include <stdint.h>

#include "sga_wire.h"

#define DP_ACK_PENDING 256 /* dirty members (and single ACKs) per lcore between flushes */

struct dp;
struct dp_lcore;
struct dp_session;

/** One DATA_ACK to send at the next flush. */
struct dp_ack_entry {
	struct dp_session *s; /* valid until flushed: no quiescent state before (dp_rcu.c) */
	uint64_t e2e_seq;     /* single: the message it names alone */
	uint8_t role;         /* the sender, to whom the ACK goes */
	uint8_t single;       /* 0: the member's window; 1: e2e_seq alone */
};

/** An lcore's DATA_ACKs due at the end of its loop iteration. */
struct dp_ack_list {
	unsigned n;
	struct dp_ack_entry e[DP_ACK_PENDING];
};

/**
 * Member `role` of s (the sender) has had its message e2e_seq taken charge of:
 * set it in the member's window and make sure the next dp_ack_flush sends a
 * DATA_ACK naming it. Owner lcore only. O(1), unless the list is full, when it
 * first flushes it (at most DP_ACK_PENDING frames).
 */
void dp_ack_note(struct dp_lcore *lc, struct dp_session *s, uint8_t role, uint64_t e2e_seq);

/**
 * Send the DATA_ACKs noted since the last call: one per dirty member (its
 * window as it is now), one per single entry. Called once per loop iteration,
 * before the TX flush. Bounded by DP_ACK_PENDING frames.
 */
void dp_ack_flush(struct dp *dp, struct dp_lcore *lc);

/**
 * Seal and send one DATA_ACK naming what a names to member `role` of s, at its
 * last authenticated address (nothing if none is known yet), through the
 * lcore's seal path (crypto device or CPU) and within the member's reserved
 * hop sequence range. Provided by dp_lcore.c, which owns the frames and the
 * crypto ops.
 */
void dp_ack_send(struct dp *dp, struct dp_lcore *lc, struct dp_session *s, uint8_t role,
                 const struct sga_data_ack_plain *a);

#endif /* SGA_DP_ACK_H */
