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

/* "0123456789abcdef" (16 hex digits, as sga-admin and the logs print ids). */
static int sid_param(const char *params, uint64_t *sid)
{
	char *end;

	if (!params || strlen(params) != 16)
		return -1;
	errno = 0;
	*sid = strtoull(params, &end, 16);
	return errno || *end || !*sid ? -1 : 0;
}

static void tel_result(struct rte_tel_data *d, int rc)
{
	rte_tel_data_add_dict_string(d, "result",
	                             rc == 0         ? "ok"
	                             : rc == -ENOENT ? "not found"
	                             : rc == -EAGAIN ? "redis unavailable"
	                             : rc == -EINVAL ? "bad argument"
	                             : rc == -EXDEV  ? "owned elsewhere"
	                                             : "failed");
}

/* /sga/close,<session id>: the operator closes a session (cp_close). */
static int tel_close(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct gw_telemetry_src *src = __atomic_load_n(&tel_src, __ATOMIC_ACQUIRE);
	uint64_t sid;

	(void)cmd;
	if (!src)
		return -1;
	char owner[64] = "";
	int rc;

	rte_tel_data_start_dict(d);
	rc = sid_param(params, &sid) ? -EINVAL : cp_close(src->cp, sid, owner, sizeof(owner));
	tel_result(d, rc);
	if (rc == -EXDEV)
		rte_tel_data_add_dict_string(d, "owner", owner);
	return 0;
}

/* /sga/revoke,<device id>: every session of the device closed, its identity
 * refused (cp_revoke). */
static int tel_revoke(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct gw_telemetry_src *src = __atomic_load_n(&tel_src, __ATOMIC_ACQUIRE);
	size_t n = params ? strlen(params) : 0;
	int rc;

	(void)cmd;
	if (!src)
		return -1;
	rte_tel_data_start_dict(d);
	rc = n && n <= 32 ? cp_revoke(src->cp, (const uint8_t *)params, (uint8_t)n) : -EINVAL;
	tel_result(d, rc < 0 ? rc : 0);
	if (rc >= 0)
		rte_tel_data_add_dict_u64(d, "sessions_closed", (uint64_t)rc);
	return 0;
}

/* /sga/session,<session id>: what the data plane shows of one session (age,
 * idle time, traffic each way, delivery reports) and its store backlog per
 * recipient as the lcores last published it. */
static int tel_session(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct gw_telemetry_src *src = __atomic_load_n(&tel_src, __ATOMIC_ACQUIRE);
	struct dp_store_recip r[64];
	struct dp_session_view v;
	uint64_t sid, backlog[2] = {0, 0};
	unsigned n;
	int rc;

	(void)cmd;
	if (!src)
		return -1;
	rte_tel_data_start_dict(d);
	rc = sid_param(params, &sid) ? -EINVAL : cp_session_view(src->cp, sid, &v);
	tel_result(d, rc);
	if (rc)
		return 0;
	n = dp_store_recipients(src->dp, r, RTE_DIM(r));
	for (unsigned i = 0; i < n; i++)
		if (r[i].session_id == sid && r[i].role < 2)
			backlog[r[i].role] += r[i].pending;
	rte_tel_data_add_dict_u64(d, "age_s", v.age_ms / 1000);
	rte_tel_data_add_dict_u64(d, "idle_s", v.idle_ms / 1000);
	for (int k = 0; k < 2; k++) {
		char key[32];

		snprintf(key, sizeof(key), "frames_from_%d", k);
		rte_tel_data_add_dict_u64(d, key, v.frames[k]);
		snprintf(key, sizeof(key), "bytes_from_%d", k);
		rte_tel_data_add_dict_u64(d, key, v.bytes[k]);
		snprintf(key, sizeof(key), "delivered_to_%d", k);
		rte_tel_data_add_dict_u64(d, key, v.delivered[k]);
		snprintf(key, sizeof(key), "backlog_to_%d", k);
		rte_tel_data_add_dict_u64(d, key, backlog[k]);
	}
	return 0;
}

void gw_telemetry_register(const struct gw_telemetry_src *src)
{
	tel_src = src;
	rte_telemetry_register_cmd("/sga/stats", tel_stats,
	                           "SGA data-plane counters and control-plane statistics");
	rte_telemetry_register_cmd("/sga/engines", tel_engines,
	                           "Which crypto engine serves each operation");
	rte_telemetry_register_cmd("/sga/close", tel_close,
	                           "Close a session. Parameters: session id (16 hex digits)");
	rte_telemetry_register_cmd("/sga/revoke", tel_revoke,
	                           "Revoke a device: its sessions closed, its identity refused. "
	                           "Parameters: device id");
	rte_telemetry_register_cmd(
	    "/sga/session", tel_session,
	    "One session's age, traffic and backlog. Parameters: session id");
}

void gw_telemetry_detach(void)
{
	__atomic_store_n(&tel_src, NULL, __ATOMIC_RELEASE);
}
