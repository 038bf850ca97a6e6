/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gw_log.h - the gateway process's one logging path: every line goes through a
 * registered rte_log type, so EAL's --log-level and --syslog govern all of it.
 *
 *   sga.gw       the program (start-up, reload, stop, stats)    gw_log.c
 *   sga.cp       control plane and its Redis store (sga_log.h)  gw_log.c
 *   sga.dp       data plane                                     dataplane/dp.c
 *   sga.store    durable message store (dp_store, msgstore)     dataplane/dp_store.c
 *   sga.offload  crypto devices (cryptodev AEAD)                offload/sga_cdev.c
 *
 * Before EAL is initialised rte_log writes to stderr, so configuration errors
 * read the same on every path; lesser lines wait for EAL's levels (gw_log.c). --help, --version and the results of
 * --init-keys / --check stay plain stdout.
 */
#ifndef SGA_GW_LOG_H
#define SGA_GW_LOG_H

#include "sga_log.h"

/* GW_LOG("error" | "warning" | "info" | "debug", fmt, ...): one sga.gw line. */
#define GW_LOG(level, fmt, ...) sga_log(SGA_LOG_SRC_GW, gw_log_level_of(level), fmt, ##__VA_ARGS__)

static inline int gw_log_level_of(const char *name)
{
	return name[0] == 'e'   ? SGA_LOG_ERR
	       : name[0] == 'w' ? SGA_LOG_WARNING
	       : name[0] == 'd' ? SGA_LOG_DEBUG
	                        : SGA_LOG_INFO;
}

/** Route the sga_log.h sources (sga.gw, sga.cp) to their rte_log types. First
 * thing in main: the types exist from the constructors on. Lines below error
 * are held until gw_log_release (or exit). */
void gw_log_init(void);

/** Right after rte_eal_init: replay the held lines under the levels of
 * --log-level, and log directly from now on. */
void gw_log_release(void);

/** [gateway] log_level: EAL's global threshold and every sga.* type. */
void gw_log_set_level(unsigned level);

#endif /* SGA_GW_LOG_H */
