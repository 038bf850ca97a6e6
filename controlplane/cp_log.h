/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cp_log.h - the control plane's log lines, through the shared log hook
 * (sga_log.h, source "sga-cp"; rte_log type sga.cp in the gateway).
 *
 * The control plane logs rare events only (Redis lost or back, a session that
 * could not be installed or restored); per-frame rejections are counted, never
 * logged, so a flood of bad frames cannot flood the log. Debug lines (off unless
 * --log-level=sga.cp:debug) may name each registration and session. Messages
 * never carry secrets: ids and session ids at most.
 */
#ifndef SGA_CP_LOG_H
#define SGA_CP_LOG_H

#include "sga_log.h"

enum cp_log_level {
	CP_LOG_ERR = SGA_LOG_ERR,
	CP_LOG_WARNING = SGA_LOG_WARNING,
	CP_LOG_INFO = SGA_LOG_INFO,
	CP_LOG_DEBUG = SGA_LOG_DEBUG,
};

/** Format and emit one message at level (enum cp_log_level). */
#define cp_log(level, ...) sga_log(SGA_LOG_SRC_CP, (level), __VA_ARGS__)

#endif /* SGA_CP_LOG_H */
