/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_ratelimit.h - per-source token buckets in front of the control rings.
 * Every control frame costs its sender's source one token - its IPv4
 * address, or the /64 prefix of its IPv6 address (dp_rl_key); a bucket holds
 * at most `burst` tokens and gains `rate` a second. A frame
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
 *
 * Why the /64 for IPv6: a host is normally given a whole /64 (SLAAC, RFC
 * 4862; privacy addresses, RFC 8981) and can source frames from any of its
 * 2^64 addresses, so buckets per full address would not limit a single
 * sender at all. On cellular M2M networks (NB-IoT, LTE-M) every device gets a
 * /64 of its own (3GPP, RFC 6459 5.2), so a /64 is a device there. The price
 * is paid where several devices share one /64 (an Ethernet or Wi-Fi LAN
 * behind one router): they share one bucket, so ctrl_rate / ctrl_burst must
 * cover their handshakes together (docs/OPERATIONS.md, "IPv6").
 */
#ifndef SGA_DP_RATELIMIT_H
#define SGA_DP_RATELIMIT_H

#include <stdint.h>
#include <string.h>

#include "dp.h"

#define DP_RL_SLOTS 4096u /* per lcore; power of two */

struct dp_rl_slot {
	uint64_t key;    /* dp_rl_key; 0: free */
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

/** The bucket a source belongs to: for IPv4 the low 64 bits of its mapped
 *  form (0:0:ffff:a.b.c.d, never 0), for IPv6 its /64 prefix; the bytes as
 *  in memory. 0 only for an unset address. */
static inline uint64_t dp_rl_key(const struct dp_addr *a)
{
	uint64_t k;

	memcpy(&k, a->family == DP_AF_IPV6 ? a->ip : a->ip + 8, sizeof(k));
	return k;
}

/** 1 if a frame from the source with key (dp_rl_key) may pass at TSC now, 0
 *  to drop it. */
static inline int dp_rl_allow(struct dp_rl *rl, uint64_t key, uint64_t now)
{
	struct dp_rl_slot *s = &rl->slot[(key * 0x9e3779b97f4a7c15ull) >> (64 - 12)];
	uint64_t cost = __atomic_load_n(&rl->cost, __ATOMIC_RELAXED);
	uint64_t cap = __atomic_load_n(&rl->cap, __ATOMIC_RELAXED);
	uint64_t credit;

	if (s->key != key || !key) {
		s->key = key;
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
