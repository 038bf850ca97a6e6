/* SPDX-License-Identifier: BSD-3-Clause */
/* test_log.c - the log hook of the code that links without DPDK (sga_log.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sga_log.h"

static char got[8][640];
static int got_level[8];
static unsigned n_got, n_gate;

static void capture(enum sga_log_source src, int level, const char *line)
{
	(void)src;
	if (n_got < 8) {
		snprintf(got[n_got], sizeof(got[0]), "%s", line);
		got_level[n_got++] = level;
	}
}

/* Only the control plane, and only up to warning. */
static int cp_warnings(enum sga_log_source src, int level)
{
	n_gate++;
	return src == SGA_LOG_SRC_CP && level <= SGA_LOG_WARNING;
}

static void reset(void)
{
	n_got = n_gate = 0;
	memset(got, 0, sizeof(got));
}

Test(log, default_route_is_info_and_above)
{
	sga_log_route(NULL, NULL);
	cr_assert(sga_log_on(SGA_LOG_SRC_CP, SGA_LOG_ERR));
	cr_assert(sga_log_on(SGA_LOG_SRC_GW, SGA_LOG_INFO));
	cr_assert(!sga_log_on(SGA_LOG_SRC_CP, SGA_LOG_DEBUG));
}

/* One line per event: source, level tag (none at info), message. */
Test(log, lines_name_source_and_level)
{
	char want[128];

	reset();
	sga_log_route(capture, NULL);
	sga_log(SGA_LOG_SRC_CP, SGA_LOG_WARNING, "redis at %s unavailable", "x.sock");
	sga_log(SGA_LOG_SRC_CP, SGA_LOG_INFO, "control plane: %u worker thread(s) started", 2u);
	sga_log(SGA_LOG_SRC_GW, SGA_LOG_ERR, "[redis] password_file %s: %s", "p", "bad");
	sga_log(SGA_LOG_SRC_CP, SGA_LOG_DEBUG, "dropped: debug is off by default");
	sga_log_route(NULL, NULL);
	cr_assert_eq(n_got, 3);
	cr_assert_str_eq(got[0], "sga-cp: warning: redis at x.sock unavailable");
	cr_assert_eq(got_level[0], SGA_LOG_WARNING);
	cr_assert_str_eq(got[1], "sga-cp: control plane: 2 worker thread(s) started");
	/* The gateway's own source carries the program's name (sga-admin shares it). */
	snprintf(want, sizeof(want), "%s: error: [redis] password_file p: bad",
	         program_invocation_short_name);
	cr_assert_str_eq(got[2], want);
}

/* The gate decides before anything is formatted, per source and level. */
Test(log, gate_filters_per_source)
{
	reset();
	sga_log_route(capture, cp_warnings);
	sga_log(SGA_LOG_SRC_CP, SGA_LOG_ERR, "kept");
	sga_log(SGA_LOG_SRC_CP, SGA_LOG_INFO, "filtered");
	sga_log(SGA_LOG_SRC_GW, SGA_LOG_ERR, "other source: filtered");
	sga_log(SGA_LOG_SRC_CP, SGA_LOG_DEBUG, "on at debug: %s", "yes");
	cr_assert(!sga_log_on(SGA_LOG_SRC_GW, SGA_LOG_WARNING));
	sga_log_route(NULL, NULL);
	cr_assert_eq(n_gate, 5);
	cr_assert_eq(n_got, 1);
	cr_assert_str_eq(got[0], "sga-cp: error: kept");
}

/* A message longer than the line is cut, never overrun. */
Test(log, long_message_is_cut)
{
	char big[2000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	reset();
	sga_log_route(capture, NULL);
	sga_log(SGA_LOG_SRC_CP, SGA_LOG_ERR, "%s", big);
	sga_log_route(NULL, NULL);
	cr_assert_eq(n_got, 1);
	cr_assert(strlen(got[0]) > 400 && strlen(got[0]) < sizeof(got[0]));
	cr_assert(!strncmp(got[0], "sga-cp: error: aaa", 18));
}
