/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cp_log.h - the control plane's one log sink.
 *
 * The control plane logs rare events only (Redis lost or back, a session that
 * could not be installed or restored); per-frame rejections are counted, never
 * logged, so a flood of bad frames cannot flood the log. Messages never carry
 * secrets: ids and session ids at most. The sink defaults to stderr; the gateway
 * may route it to its own logger (rte_log, syslog) at start-up.
 */
#ifndef SGA_CP_LOG_H
#define SGA_CP_LOG_H

enum cp_log_level {
	CP_LOG_ERR = 3,
	CP_LOG_WARNING = 4,
	CP_LOG_INFO = 6,
};

/** A sink receives one formatted line (no trailing newline). */
typedef void (*cp_log_fn)(int level, const char *msg);

/** Route control-plane messages to fn (NULL restores stderr). Any thread. */
void cp_log_set(cp_log_fn fn);

/** Format and emit one message at level (enum cp_log_level). */
void cp_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* SGA_CP_LOG_H */
