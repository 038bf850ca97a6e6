/* SPDX-License-Identifier: BSD-3-Clause */
/* gw_log.c - see gw_log.h. */
#include <stdlib.h>
#include <string.h>

#include <rte_log.h>

#include "gw_log.h"

_Static_assert(SGA_LOG_ERR == RTE_LOG_ERR && SGA_LOG_WARNING == RTE_LOG_WARNING &&
                   SGA_LOG_NOTICE == RTE_LOG_NOTICE && SGA_LOG_INFO == RTE_LOG_INFO &&
                   SGA_LOG_DEBUG == RTE_LOG_DEBUG,
               "sga_log levels are rte_log's");

RTE_LOG_REGISTER(gw_logtype, sga.gw, INFO);
RTE_LOG_REGISTER(gw_cp_logtype, sga.cp, INFO);

static int type_of(enum sga_log_source src)
{
	return src == SGA_LOG_SRC_CP ? gw_cp_logtype : gw_logtype;
}

/*
 * Until EAL has parsed --log-level the levels are not known: lines below error
 * are held (main thread only, before any other thread exists) and replayed
 * through rte_log by gw_log_release, so that --log-level=sga.*:error silences
 * the start-up's info lines too. An error releases them at once: the program
 * is usually about to exit.
 */
#define HELD_MAX 24
static struct {
	int holding;
	unsigned n;
	struct {
		enum sga_log_source src;
		int level;
		char line[600];
	} l[HELD_MAX];
} g_held;

static void emit(enum sga_log_source src, int level, const char *line)
{
	rte_log((uint32_t)level, (uint32_t)type_of(src), "%s\n", line);
}

static void rte_sink(enum sga_log_source src, int level, const char *line)
{
	if (g_held.holding && level > SGA_LOG_ERR && g_held.n < HELD_MAX) {
		g_held.l[g_held.n].src = src;
		g_held.l[g_held.n].level = level;
		snprintf(g_held.l[g_held.n].line, sizeof(g_held.l[0].line), "%s", line);
		g_held.n++;
		return;
	}
	if (g_held.holding)
		gw_log_release();
	emit(src, level, line);
}

static int rte_gate(enum sga_log_source src, int level)
{
	return g_held.holding || rte_log_can_log((uint32_t)type_of(src), (uint32_t)level);
}

void gw_log_release(void)
{
	if (!g_held.holding)
		return;
	g_held.holding = 0;
	for (unsigned i = 0; i < g_held.n; i++)
		emit(g_held.l[i].src, g_held.l[i].level, g_held.l[i].line);
	g_held.n = 0;
}

void gw_log_init(void)
{
	g_held.holding = 1;
	sga_log_route(rte_sink, rte_gate);
	atexit(gw_log_release); /* --check, --init-keys and early exits */
}

void gw_log_set_level(unsigned level)
{
	if (!level)
		return;
	rte_log_set_global_level(level);
	(void)rte_log_set_level_pattern("sga.*", level);
}
