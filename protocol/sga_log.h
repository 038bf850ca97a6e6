/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_log.h - the log hook of the code that links without DPDK (the control
 * plane's Redis and handler code, the gateway's helpers shared with sga-admin).
 *
 * One formatted line per event, "<source>: <level>: <message>" ("<source>:
 * <message>" at info and notice), handed to a sink. Without a sink the line goes
 * to stderr and debug lines are dropped; the gateway routes every source to a
 * registered rte_log type (sga.gw, sga.cp) so that EAL's --log-level and
 * --syslog govern them. The gate is asked before formatting, so a debug line
 * costs one call when it is off. Lines never carry secrets.
 */
#ifndef SGA_LOG_H
#define SGA_LOG_H

#include <stdarg.h>

/** Where a line comes from: one rte_log type each in the gateway. */
enum sga_log_source {
	SGA_LOG_SRC_GW, /* the gateway program ("sga-gateway") */
	SGA_LOG_SRC_CP, /* the control plane and its Redis store ("sga-cp") */
	SGA_LOG_SRC__COUNT,
};

/** Levels, numbered as rte_log's (RTE_LOG_ERR .. RTE_LOG_DEBUG). */
enum sga_log_level {
	SGA_LOG_ERR = 4,
	SGA_LOG_WARNING = 5,
	SGA_LOG_NOTICE = 6,
	SGA_LOG_INFO = 7,
	SGA_LOG_DEBUG = 8,
};

/** A sink receives one formatted line (no trailing newline). */
typedef void (*sga_log_sink_fn)(enum sga_log_source src, int level, const char *line);
/** A gate says whether a line of src at level would be emitted at all. */
typedef int (*sga_log_gate_fn)(enum sga_log_source src, int level);

/** Route every source to sink, filtered by gate (NULL, NULL: stderr, info and
 * above). Set once at start-up, before other threads log. */
void sga_log_route(sga_log_sink_fn sink, sga_log_gate_fn gate);

/** Whether a line of src at level would be emitted. */
int sga_log_on(enum sga_log_source src, int level);

/** Format and emit one line (fmt without a trailing newline). Any thread. */
void sga_log(enum sga_log_source src, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sga_vlog(enum sga_log_source src, int level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif /* SGA_LOG_H */
