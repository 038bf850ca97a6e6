/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cp_log.c - the control plane's log sink (see cp_log.h): a formatted line to
 * a replaceable function, stderr by default.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "cp_log.h"

static _Atomic(cp_log_fn) g_sink;

void cp_log_set(cp_log_fn fn)
{
	atomic_store(&g_sink, fn);
}

static const char *level_name(int level)
{
	if (level <= CP_LOG_ERR)
		return "error";
	return level <= CP_LOG_WARNING ? "warning" : "info";
}

void cp_log(int level, const char *fmt, ...)
{
	cp_log_fn fn = atomic_load(&g_sink);
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (fn) {
		fn(level, msg);
		return;
	}
	fprintf(stderr, "sga-cp: %s: %s\n", level_name(level), msg);
}
