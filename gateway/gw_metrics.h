/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gw_metrics.h - one snapshot of everything the gateway reports, and the
 * three renderings of it: the JSON stats file, the DPDK telemetry commands and
 * the Prometheus / OpenMetrics text exposition. All three read the same
 * snapshot, taken by gw_metrics_take, so no figure can appear in one and not
 * in another, or differ between them.
 *
 * Metrics are (group, name, value) with an optional data-plane lcore: the
 * data-plane counters (dp.h's X-macro list, with its descriptions as help
 * text) per lcore and in total, the control plane's statistics, the store's
 * totals and longest backlogs, and which engine serves each operation.
 */
#ifndef SGA_GW_METRICS_H
#define SGA_GW_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include "dp.h"
#include "dp_store.h"
#include "gw_telemetry.h"

#define GW_METRICS_MAX    192
#define GW_METRICS_LCORES 16 /* per-lcore series beyond this are summed only */
#define GW_METRICS_RECIPS 64 /* longest store backlogs listed */

enum gw_metric_kind { GW_COUNTER, GW_GAUGE };

struct gw_metric {
	const char *group; /* "dataplane", "controlplane", "store" */
	const char *name;  /* "relayed", "drop_hop_auth", ... */
	const char *help;
	uint8_t kind; /* enum gw_metric_kind */
	uint64_t value;
	/* dataplane counters: value per lcore [0, n_lcores), and what non-EAL
	 * threads counted ([n_lcores], "main"). */
	unsigned n_lcores;
	uint64_t per_lcore[GW_METRICS_LCORES + 1];
};

struct gw_metrics {
	unsigned n;
	struct gw_metric m[GW_METRICS_MAX];
	const char *store_error; /* "" or strerror of a log's error state */
	unsigned n_recips;
	struct dp_store_recip recips[GW_METRICS_RECIPS];
	/* engines */
	unsigned n_suites;
	const char *aead_suite[8], *aead_engine[8];
	const char *aead_cpu, *rsa, *modexp;
};

/** Take the snapshot (racy per counter, as the counters are). Any thread. */
void gw_metrics_take(const struct gw_telemetry_src *src, struct gw_metrics *m);

/** The stats file's JSON document. */
void gw_metrics_json(const struct gw_metrics *m, FILE *f);

/** Prometheus text exposition format 0.0.4 (also what OpenMetrics scrapers
 *  accept as text/plain): sga_<group>_<name>[_total], data-plane series per
 *  lcore, drops as sga_dataplane_dropped_total{reason=...}, engines as
 *  sga_engine_info{...} 1. */
void gw_metrics_prometheus(const struct gw_metrics *m, FILE *f);

#endif /* SGA_GW_METRICS_H */
