/* SPDX-License-Identifier: BSD-3-Clause */
/* gw_telemetry.c - stats file, log line and DPDK telemetry commands. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_log.h>
#include <rte_telemetry.h>

#include "dp_store.h"
#include "gw_telemetry.h"
#include "sga_crypto.h"

static const struct gw_telemetry_src *tel_src;

void gw_telemetry_json(const struct gw_telemetry_src *src, FILE *f)
{
	uint64_t c[DP_C__COUNT];
	struct cp_stats cs;

	dp_counters(src->dp, c);
	cp_get_stats(src->cp, &cs);
	fprintf(f, "{\n  \"dataplane\": {\n");
	for (int i = 0; i < DP_C__COUNT; i++)
		fprintf(f, "    \"%s\": %llu,\n", dp_counter_name((enum dp_counter)i),
		        (unsigned long long)c[i]);
	/* LAB ONLY when 1: [lab] hop_replay_window = off (replays relayed). */
	fprintf(f, "    \"lab_hop_replay_off\": %d,\n", !dp_hop_replay_window(src->dp));
	fprintf(f, "    \"sessions_installed\": %u\n  },\n", dp_session_count(src->dp));
	fprintf(f,
	        "  \"controlplane\": {\n    \"handled\": %llu,\n    \"rejected\": %llu,\n"
	        "    \"unavailable\": %llu,\n    \"sessions\": %llu,\n    \"registered\": %llu,\n"
	        "    \"reconnects\": %llu,\n    \"lab_sessions\": %llu,\n"
	        "    \"under_load\": %llu,\n    \"load_events\": %llu,\n"
	        "    \"cookie_sent\": %llu,\n    \"cookie_valid\": %llu,\n"
	        "    \"cookie_invalid\": %llu,\n    \"forwarded\": %llu\n  },\n",
	        (unsigned long long)cs.handled, (unsigned long long)cs.rejected,
	        (unsigned long long)cs.unavailable, (unsigned long long)cs.sessions,
	        (unsigned long long)cs.registered, (unsigned long long)cs.reconnects,
	        (unsigned long long)cs.lab_sessions, (unsigned long long)cs.under_load,
	        (unsigned long long)cs.load_events, (unsigned long long)cs.cookie_sent,
	        (unsigned long long)cs.cookie_valid, (unsigned long long)cs.cookie_invalid,
	        (unsigned long long)cs.forwarded);
	{
		/* Store and forward: totals, and the longest backlogs per recipient. */
		struct dp_store_stats ss;
		struct dp_store_recip rr[64];
		unsigned nr = dp_store_recipients(src->dp, rr, 64);
		struct timespec ts;
		uint64_t now_ms;

		clock_gettime(CLOCK_REALTIME, &ts);
		now_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
		dp_store_totals(src->dp, &ss);
		fprintf(
		    f,
		    "  \"store\": {\n    \"pending\": %llu,\n    \"recipients\": %llu,\n"
		    "    \"oldest_pending_age_ms\": %llu,\n    \"stored\": %llu,\n    "
		    "\"held\": %llu,\n    \"delivered\": %llu,\n"
		    "    \"resent\": %llu,\n    \"refused_full\": %llu,\n    \"refused_error\": "
		    "%llu,\n    \"refused_behind_gap\": %llu,\n    \"skips\": %llu,\n"
		    "    \"expired\": %llu,\n    \"bytes_on_disk\": %llu,\n    \"error\": \"%s\",\n"
		    "    \"lab_reappended\": %llu,\n"
		    "    \"pending_per_recipient\": [",
		    (unsigned long long)ss.pending, (unsigned long long)ss.recipients,
		    (unsigned long long)(ss.oldest_ms && now_ms > ss.oldest_ms
		                             ? now_ms - ss.oldest_ms
		                             : 0),
		    (unsigned long long)ss.stored, (unsigned long long)ss.held,
		    (unsigned long long)ss.delivered, (unsigned long long)ss.resent,
		    (unsigned long long)ss.refused_full, (unsigned long long)ss.refused_error,
		    (unsigned long long)ss.refused_behind_gap, (unsigned long long)ss.skips,
		    (unsigned long long)ss.expired, (unsigned long long)ss.bytes_on_disk,
		    ss.error ? strerror(ss.error) : "", (unsigned long long)ss.lab_reappended);
		for (unsigned i = 0; i < nr; i++)
			fprintf(
			    f,
			    "%s\n      {\"session\": \"%016llx\", \"role\": %u, \"pending\": %llu, "
			    "\"oldest_age_ms\": %llu}",
			    i ? "," : "", (unsigned long long)rr[i].session_id, rr[i].role,
			    (unsigned long long)rr[i].pending,
			    (unsigned long long)rr[i].oldest_age_ms);
		fprintf(f, "%s]\n  },\n", nr ? "\n    " : "");
	}
	/* aead: the data plane's hop AEAD per suite ("cryptodev:<driver>" or
	 * "cpu"); aead_cpu: what "cpu" means, the sga_crypto backend, which also
	 * seals the control plane's envelopes. */
	fprintf(f, "  \"engines\": {\n    \"aead\": {");
	{
		const struct sga_suite_info *list;
		size_t n;

		list = sga_suite_list(&n);
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%s\n      \"%s\": \"%s\"", i ? "," : "", list[i].name,
			        dp_aead_engine(src->dp, list[i].id));
	}
	fprintf(f, "\n    },\n    \"aead_cpu\": \"%s\",\n", src->crypto_backend);
	fprintf(f, "    \"rsa\": \"%s\",\n    \"modexp\": \"%s\"\n  }\n}\n",
	        src->rsa_engine ? src->rsa_engine : src->crypto_backend,
	        src->modexp_engine ? src->modexp_engine : src->crypto_backend);
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
	RTE_LOG(
	    INFO, USER1,
	    "stats: rx %llu tx %llu relayed %llu dropped %llu | control handled %llu rejected %llu "
	    "unavailable %llu | sessions %u\n",
	    (unsigned long long)c[DP_C_RX], (unsigned long long)c[DP_C_TX],
	    (unsigned long long)c[DP_C_RELAYED], (unsigned long long)drops,
	    (unsigned long long)cs.handled, (unsigned long long)cs.rejected,
	    (unsigned long long)cs.unavailable, dp_session_count(src->dp));
}

static int tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	uint64_t c[DP_C__COUNT];
	struct cp_stats cs;

	(void)cmd;
	(void)params;
	if (!tel_src)
		return -1;
	dp_counters(tel_src->dp, c);
	cp_get_stats(tel_src->cp, &cs);
	rte_tel_data_start_dict(d);
	for (int i = 0; i < DP_C__COUNT; i++)
		rte_tel_data_add_dict_u64(d, dp_counter_name((enum dp_counter)i), c[i]);
	rte_tel_data_add_dict_u64(d, "sessions_installed", dp_session_count(tel_src->dp));
	rte_tel_data_add_dict_u64(d, "cp_handled", cs.handled);
	rte_tel_data_add_dict_u64(d, "cp_rejected", cs.rejected);
	rte_tel_data_add_dict_u64(d, "cp_unavailable", cs.unavailable);
	rte_tel_data_add_dict_u64(d, "cp_sessions", cs.sessions);
	rte_tel_data_add_dict_u64(d, "cp_registered", cs.registered);
	rte_tel_data_add_dict_u64(d, "cp_reconnects", cs.reconnects);
	rte_tel_data_add_dict_u64(d, "cp_lab_sessions", cs.lab_sessions); /* LAB ONLY if > 0 */
	rte_tel_data_add_dict_u64(d, "cp_under_load", cs.under_load);
	rte_tel_data_add_dict_u64(d, "cp_load_events", cs.load_events);
	rte_tel_data_add_dict_u64(d, "cp_cookie_sent", cs.cookie_sent);
	rte_tel_data_add_dict_u64(d, "cp_cookie_valid", cs.cookie_valid);
	rte_tel_data_add_dict_u64(d, "cp_cookie_invalid", cs.cookie_invalid);
	rte_tel_data_add_dict_u64(d, "cp_forwarded", cs.forwarded);
	/* LAB ONLY if 1: [lab] hop_replay_window = off */
	rte_tel_data_add_dict_u64(d, "lab_hop_replay_off", !dp_hop_replay_window(tel_src->dp));
	return 0;
}

static int tel_engines(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct rte_tel_data *aead;

	(void)cmd;
	(void)params;
	if (!tel_src)
		return -1;
	rte_tel_data_start_dict(d);
	/* The hop AEAD per suite, as in the stats file. */
	aead = rte_tel_data_alloc();
	if (aead) {
		const struct sga_suite_info *list;
		size_t n;

		list = sga_suite_list(&n);
		rte_tel_data_start_dict(aead);
		for (size_t i = 0; i < n; i++) {
			char key[32];

			/* Telemetry names are [A-Za-z0-9_/]: aes_128_gcm. */
			snprintf(key, sizeof(key), "%s", list[i].name);
			for (char *c = key; *c; c++)
				if (*c == '-')
					*c = '_';
			rte_tel_data_add_dict_string(aead, key,
			                             dp_aead_engine(tel_src->dp, list[i].id));
		}
		if (rte_tel_data_add_dict_container(d, "aead", aead, 0))
			rte_tel_data_free(aead);
	}
	rte_tel_data_add_dict_string(d, "aead_cpu", tel_src->crypto_backend);
	rte_tel_data_add_dict_string(
	    d, "rsa", tel_src->rsa_engine ? tel_src->rsa_engine : tel_src->crypto_backend);
	rte_tel_data_add_dict_string(
	    d, "modexp", tel_src->modexp_engine ? tel_src->modexp_engine : tel_src->crypto_backend);
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
