/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_log.c - the log hook (see sga_log.h): one formatted line to a replaceable
 * sink, stderr by default.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>

#include "sga_log.h"

static _Atomic(sga_log_sink_fn) g_sink;
static _Atomic(sga_log_gate_fn) g_gate;

void sga_log_route(sga_log_sink_fn sink, sga_log_gate_fn gate)
{
	atomic_store(&g_gate, gate);
	atomic_store(&g_sink, sink);
}

int sga_log_on(enum sga_log_source src, int level)
{
	sga_log_gate_fn gate = atomic_load(&g_gate);

	return gate ? gate(src, level) : level <= SGA_LOG_INFO;
}

static const char *source_name(enum sga_log_source src)
{
	/* The gateway's own lines carry the program's name: sga-admin shares
	 * gw_store.c with it. */
	return src == SGA_LOG_SRC_CP ? "sga-cp" : program_invocation_short_name;
}

static const char *level_tag(int level)
{
	if (level <= SGA_LOG_ERR)
		return "error: ";
	if (level == SGA_LOG_WARNING)
		return "warning: ";
	return level >= SGA_LOG_DEBUG ? "debug: " : "";
}

void sga_vlog(enum sga_log_source src, int level, const char *fmt, va_list ap)
{
	sga_log_sink_fn sink = atomic_load(&g_sink);
	char msg[512], line[600];

	if (!sga_log_on(src, level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	snprintf(line, sizeof(line), "%s: %s%s", source_name(src), level_tag(level), msg);
	if (sink)
		sink(src, level, line);
	else
		fprintf(stderr, "%s\n", line);
}

void sga_log(enum sga_log_source src, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sga_vlog(src, level, fmt, ap);
	va_end(ap);
}
