/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gw_telemetry.h - what the gateway tells its operator: the data-plane counters,
 * control-plane statistics and which engine serves which operation, as a JSON
 * stats file (rewritten atomically), a log line, and DPDK telemetry commands
 * (/sga/stats, /sga/engines) readable with dpdk-telemetry.py.
 */
#ifndef SGA_GW_TELEMETRY_H
#define SGA_GW_TELEMETRY_H

#include <stdio.h>

#include "cp.h"
#include "dp.h"

struct gw_telemetry_src {
	struct dp *dp;
	struct cp *cp;
	const char *crypto_backend;
	const char *rsa_engine;    /* RSA-OAEP decryption: "openssl" or the provider/engine name */
	const char *modexp_engine; /* modexp: a cryptodev driver name or "openssl BN" */
};

/** Register the DPDK telemetry commands reading from src (must outlive EAL). */
void gw_telemetry_register(const struct gw_telemetry_src *src);
/** Stop answering telemetry commands (before the data plane is destroyed). */
void gw_telemetry_detach(void);
/** Write the JSON document to f. */
void gw_telemetry_json(const struct gw_telemetry_src *src, FILE *f);
/** Write the JSON document to path atomically (temp + rename). 0 or -errno. */
int gw_telemetry_write_file(const struct gw_telemetry_src *src, const char *path);
/** One log line with the main figures. */
void gw_telemetry_log(const struct gw_telemetry_src *src);

#endif /* SGA_GW_TELEMETRY_H */
