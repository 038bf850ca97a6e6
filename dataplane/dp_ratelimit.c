/* SPDX-License-Identifier: BSD-3-Clause */
/* dp_ratelimit.c - set-up of the per-source token buckets (dp_ratelimit.h). */
#include <string.h>

#include "dp_ratelimit.h"

_Static_assert((DP_RL_SLOTS & (DP_RL_SLOTS - 1)) == 0 && DP_RL_SLOTS == 1u << 12,
               "dp_rl_allow takes the top 12 bits of the hash");

void dp_rl_set(struct dp_rl *rl, uint32_t rate, uint32_t burst, uint64_t tsc_hz)
{
	uint64_t cost = rate ? tsc_hz / rate : 1;

	if (!cost)
		cost = 1;
	__atomic_store_n(&rl->cost, cost, __ATOMIC_RELAXED);
	__atomic_store_n(&rl->cap, cost * (burst ? burst : 1), __ATOMIC_RELAXED);
}

void dp_rl_init(struct dp_rl *rl, uint32_t rate, uint32_t burst, uint64_t tsc_hz)
{
	memset(rl, 0, sizeof(*rl));
	dp_rl_set(rl, rate, burst, tsc_hz);
}
