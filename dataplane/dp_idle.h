/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_idle.h - when an idle data-plane lcore sleeps ([dataplane] idle_sleep_us).
 *
 * A busy-polling lcore takes its whole core whether or not frames arrive: on
 * a gateway server that is the price of line rate, but where gateways share a
 * small machine (several on one host, a cluster test on two cores) an idle
 * one starves the others. With idle_sleep_us set, the lcore sleeps once
 * DP_IDLE_POLLS iterations in a row found nothing to do, 1 us at first and
 * twice as long each time up to idle_sleep_us, and polls at full speed again
 * from the first iteration that finds work (the approach of DPDK's power
 * examples, without frequency scaling). What that costs is latency for the
 * first frame after a quiet spell (at most idle_sleep_us plus the timer
 * slack of the kernel); it never sleeps while frames keep coming, so there
 * is no syscall per packet. No EAL state here, so the policy is unit-tested
 * on its own (test_dp_pkt.c).
 */
#ifndef SGA_DP_IDLE_H
#define SGA_DP_IDLE_H

#define DP_IDLE_POLLS 64 /* empty iterations in a row before the first sleep */

struct dp_idle {
	unsigned empty;    /* empty iterations in a row */
	unsigned sleep_us; /* the last sleep (0: none since the last work) */
};

/** After an iteration that did `work` (frames, completions, timers): how many
 *  microseconds to sleep now, 0 for none. max_us 0: never (busy polling). */
static inline unsigned dp_idle_next(struct dp_idle *st, unsigned work, unsigned max_us)
{
	if (work || !max_us) {
		st->empty = 0;
		st->sleep_us = 0;
		return 0;
	}
	if (st->empty < DP_IDLE_POLLS) {
		st->empty++;
		return 0;
	}
	st->sleep_us = st->sleep_us ? 2 * st->sleep_us : 1;
	if (st->sleep_us > max_us)
		st->sleep_us = max_us;
	return st->sleep_us;
}

#endif /* SGA_DP_IDLE_H */
