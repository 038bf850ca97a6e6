/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_ratelimit.h - per-source token buckets in front of the control rings.
 * Every control frame costs its sender's IPv4 source address one token; a
 * bucket holds at most `burst` tokens and gains `rate` a second. A frame
 * finding its bucket empty is dropped (drop_ctrl_rate) before it reaches a
 * control ring, so one chatty or hostile address cannot fill the rings that
 * honest registrations wait in.
 *
 * Each lcore owns one fixed table of DP_RL_SLOTS buckets, indexed by a hash
 * of the address: no lock, no allocation, one cache line touched per frame.
 * An address whose slot another address holds takes the slot over with a
 * full bucket, so sources that collide never limit each other below the
 * configured rate; a flood from many forged addresses is therefore not
 * limited here - that is what the cookie challenge is for (sga_cookie.h).
 * Credit is counted in TSC cycles: a token is tsc_hz / rate cycles, so the
 * refill is one subtraction and a compare, no division per frame.
 *
 * SIGHUP may change rate and burst while the lcores run (dp_rl_set): cost and
 * cap are stored and loaded relaxed, one aligned word each; a frame that sees
 * one new and one old value is judged by a bucket between the two settings.
 */
#ifndef SGA_DP_RATELIMIT_H
#define SGA_DP_RATELIMIT_H

#include <stdint.h>

#define DP_RL_SLOTS 4096u /* per lcore; power of two */

struct dp_rl_slot {
	uint32_t ip;     /* network order; 0: free */
	uint64_t credit; /* cycles' worth of tokens */
	uint64_t last;   /* TSC of the last refill */
};

struct dp_rl {
	uint64_t cost; /* cycles per token: tsc_hz / rate (relaxed atomic) */
	uint64_t cap;  /* cost * burst (relaxed atomic) */
	struct dp_rl_slot slot[DP_RL_SLOTS];
};

/** Set up a table (zeroed memory) for rate tokens/s and burst tokens at tsc_hz. */
void dp_rl_init(struct dp_rl *rl, uint32_t rate, uint32_t burst, uint64_t tsc_hz);

/** A new rate and burst for a table in use (any thread; the buckets keep
 *  their credit, clamped to the new burst at their next frame). */
void dp_rl_set(struct dp_rl *rl, uint32_t rate, uint32_t burst, uint64_t tsc_hz);

/** 1 if a frame from ip (network order) may pass at TSC now, 0 to drop it. */
static inline int dp_rl_allow(struct dp_rl *rl, uint32_t ip, uint64_t now)
{
	struct dp_rl_slot *s = &rl->slot[(ip * 0x9e3779b1u) >> (32 - 12)];
	uint64_t cost = __atomic_load_n(&rl->cost, __ATOMIC_RELAXED);
	uint64_t cap = __atomic_load_n(&rl->cap, __ATOMIC_RELAXED);
	uint64_t credit;

	if (s->ip != ip || !ip) {
		s->ip = ip;
		s->credit = cap - cost;
		s->last = now;
		return 1;
	}
	credit = s->credit + (now - s->last);
	s->last = now;
	if (credit > cap)
		credit = cap;
	if (credit < cost) {
		s->credit = credit;
		return 0;
	}
	s->credit = credit - cost;
	return 1;
}

#endif /* SGA_DP_RATELIMIT_H */
