/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * eal_tidy.h - for test processes that start EAL with --no-shconf --no-telemetry.
 *
 * EAL makes a runtime folder (/var/run/dpdk/<file-prefix>) even when it keeps
 * nothing in it, and never removes it: one per test process (Criterion forks
 * one per test), hundreds over a suite. Under --no-shconf and --no-telemetry nothing is ever
 * written there (no config files, no multi-process or telemetry socket), so the folder can
 * go right after rte_eal_init(); Criterion's workers end with _exit, so an
 * atexit handler would never run.
 */
#ifndef SGA_TEST_EAL_TIDY_H
#define SGA_TEST_EAL_TIDY_H

#include <unistd.h>

#include <rte_eal.h>

static inline void eal_tidy(void)
{
	(void)rmdir(rte_eal_get_runtime_dir()); /* refused, harmlessly, if not empty */
}

#endif
