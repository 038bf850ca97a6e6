/* SPDX-License-Identifier: BSD-3-Clause */
/* gw_telemetry.c - stats file, log line and DPDK telemetry commands, all
 * rendered from one gw_metrics snapshot (gw_metrics.h). */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_telemetry.h>

#include "dp_store.h"
#include "gw_log.h"
#include "gw_metrics.h"
#include "gw_telemetry.h"
#include "sga_crypto.h"

static const struct gw_telemetry_src *tel_src;

void gw_telemetry_json(const struct gw_telemetry_src *src, FILE *f)
{
	struct gw_metrics *m = malloc(sizeof(*m));

	if (!m)
		return;
	gw_metrics_take(src, m);
	gw_metrics_json(m, f);
	free(m);
}

int gw_telemetry_write_file(const struct gw_telemetry_src *src, const char *path)
{
	char tmp[512];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	gw_telemetry_json(src, f);
	if (fflush(f) || ferror(f)) {
		int e = errno ? errno : EIO;
		fclose(f);
		unlink(tmp);
		return -e;
	}
	fclose(f);
	if (rename(tmp, path)) {
		int e = errno;
		unlink(tmp);
		return -e;
	}
	return 0;
}

void gw_telemetry_log(const struct gw_telemetry_src *src)
{
	uint64_t c[DP_C__COUNT], drops = 0;
	struct cp_stats cs;

	dp_counters(src->dp, c);
	cp_get_stats(src->cp, &cs);
	for (int i = 0; i < DP_C__COUNT; i++)
		if (!strncmp(dp_counter_name((enum dp_counter)i), "drop_", 5))
			drops += c[i];
	GW_LOG(
	    "info",
	    "stats: rx %llu tx %llu relayed %llu dropped %llu | control handled %llu rejected %llu "
	    "unavailable %llu | sessions %u",
	    (unsigned long long)c[DP_C_RX], (unsigned long long)c[DP_C_TX],
	    (unsigned long long)c[DP_C_RELAYED], (unsigned long long)drops,
	    (unsigned long long)cs.handled, (unsigned long long)cs.rejected,
	    (unsigned long long)cs.unavailable, dp_session_count(src->dp));
}

/* /sga/stats: the snapshot as one flat dict (DPDK 22.11 nests only arrays):
 * data-plane names as they are, the others prefixed "cp_" and "store_". */
static int tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct gw_telemetry_src *src = __atomic_load_n(&tel_src, __ATOMIC_ACQUIRE);
	struct gw_metrics *m;

	(void)cmd;
	(void)params;
	if (!src || !(m = malloc(sizeof(*m))))
		return -1;
	gw_metrics_take(src, m);
	rte_tel_data_start_dict(d);
	for (unsigned i = 0; i < m->n; i++) {
		const struct gw_metric *x = &m->m[i];
		char key[64];

		if (!strcmp(x->group, "dataplane"))
			snprintf(key, sizeof(key), "%s", x->name);
		else
			snprintf(key, sizeof(key), "%s_%s",
			         !strcmp(x->group, "controlplane") ? "cp" : x->group, x->name);
		rte_tel_data_add_dict_u64(d, key, x->value);
	}
	free(m);
	return 0;
}

static int tel_engines(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct gw_telemetry_src *src = __atomic_load_n(&tel_src, __ATOMIC_ACQUIRE);
	struct rte_tel_data *aead;
	struct gw_metrics *m;

	(void)cmd;
	(void)params;
	if (!src || !(m = malloc(sizeof(*m))))
		return -1;
	gw_metrics_take(src, m);
	rte_tel_data_start_dict(d);
	/* The hop AEAD per suite, as in the stats file. */
	aead = rte_tel_data_alloc();
	if (aead) {
		rte_tel_data_start_dict(aead);
		for (unsigned i = 0; i < m->n_suites; i++) {
			char key[32];

			/* Telemetry names are [A-Za-z0-9_/]: aes_128_gcm. */
			snprintf(key, sizeof(key), "%s", m->aead_suite[i]);
			for (char *c = key; *c; c++)
				if (*c == '-')
					*c = '_';
			rte_tel_data_add_dict_string(aead, key, m->aead_engine[i]);
		}
		if (rte_tel_data_add_dict_container(d, "aead", aead, 0))
			rte_tel_data_free(aead);
	}
	rte_tel_data_add_dict_string(d, "aead_cpu", m->aead_cpu);
	rte_tel_data_add_dict_string(d, "rsa", m->rsa);
	rte_tel_data_add_dict_string(d, "modexp", m->modexp);
	free(m);
	return 0;
}

void gw_telemetry_register(const struct gw_telemetry_src *src)
{
	tel_src = src;
	rte_telemetry_register_cmd("/sga/stats", tel_stats,
	                           "SGA data-plane counters and control-plane statistics");
	rte_telemetry_register_cmd("/sga/engines", tel_engines,
	                           "Which crypto engine serves each operation");
}

void gw_telemetry_detach(void)
{
	__atomic_store_n(&tel_src, NULL, __ATOMIC_RELEASE);
}
