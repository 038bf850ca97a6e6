/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gw_prometheus.h - the Prometheus / OpenMetrics scrape endpoint: an HTTP
 * server (libmicrohttpd, its own thread) answering GET /metrics with
 * gw_metrics_prometheus of a fresh snapshot. Off unless [gateway]
 * metrics_listen names an address; a reload may move it.
 */
#ifndef SGA_GW_PROMETHEUS_H
#define SGA_GW_PROMETHEUS_H

#include <stddef.h>

#include "gw_telemetry.h"

struct gw_prom;

/** Listen on "IPv4:PORT" and serve /metrics from src (which must outlive the
 *  endpoint). NULL on failure with one line in err (bad address, cannot
 *  listen, or built without libmicrohttpd). */
struct gw_prom *gw_prom_start(const char *listen, const struct gw_telemetry_src *src, char *err,
                              size_t err_len);

/** Stop serving (waits for a scrape in progress) and free. NULL is a no-op. */
void gw_prom_stop(struct gw_prom *p);

#endif /* SGA_GW_PROMETHEUS_H */
