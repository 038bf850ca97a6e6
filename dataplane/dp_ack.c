/* SPDX-License-Identifier: BSD-3-Clause */
/* dp_ack.c - coalesced acknowledgements of the data plane, see dp_ack.h. */
#include <rte_branch_prediction.h>

#include "dp_ack.h"
#include "dp_priv.h"
#include "sga_hop.h"

void dp_ack_note(struct dp_lcore *lc, struct dp_session *s, uint8_t role, uint64_t e2e_seq)
{
	struct dp_member *mb = &s->m[role];
	struct dp_ack_entry *e;
	int in;

	/* LAB ONLY (hop_replay_off): a generator looping over a pcap starts its
	 * e2e numbering again. Left alone, every message of the new lap lies 64 or
	 * more below top and gets a DATA_ACK of its own; so the window starts
	 * again with the lap, after the ACK it owes is sent. */
	if (unlikely(lc->dp->cfg.hop_replay_off) && mb->ack.top > 64 &&
	    e2e_seq < mb->ack.top - 64) {
		if (mb->ack_dirty)
			dp_ack_flush(lc->dp, lc);
		mb->ack.top = 0;
		mb->ack.bits = 0;
	}
	in = sga_ack_win_note(&mb->ack, e2e_seq);

	if (unlikely(in < 0))
		return; /* e2e_seq UINT64_MAX: no DATA_ACK can name it */
	dp_ctr_inc(lc, DP_C_ACKED_MSGS);
	if (likely(in) && mb->ack_dirty)
		return; /* the flush to come sends the window, this one included */
	if (unlikely(lc->acks.n == DP_ACK_PENDING))
		dp_ack_flush(lc->dp, lc);
	e = &lc->acks.e[lc->acks.n++];
	e->s = s;
	e->role = role;
	e->single = !in;
	e->e2e_seq = e2e_seq;
	if (in)
		mb->ack_dirty = 1;
}

void dp_ack_flush(struct dp *dp, struct dp_lcore *lc)
{
	for (unsigned i = 0; i < lc->acks.n; i++) {
		const struct dp_ack_entry *e = &lc->acks.e[i];
		struct dp_member *mb = &e->s->m[e->role];
		struct sga_data_ack_plain a;

		if (e->single) {
			/* 64 or more below top: a frame naming it alone. */
			a.top = e->e2e_seq + 1;
			a.bits = 1;
		} else {
			a.top = mb->ack.top;
			a.bits = mb->ack.bits;
			mb->ack_dirty = 0;
		}
		dp_ack_send(dp, lc, e->s, e->role, &a);
	}
	lc->acks.n = 0;
}
