/* SPDX-License-Identifier: BSD-3-Clause */
/* gw_metrics.c - see gw_metrics.h. */
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "gw_metrics.h"
#include "sga_crypto.h"

static struct gw_metric *add(struct gw_metrics *m, const char *group, const char *name,
                             const char *help, uint8_t kind, uint64_t v)
{
	struct gw_metric *x;

	if (m->n == GW_METRICS_MAX)
		return NULL;
	x = &m->m[m->n++];
	memset(x, 0, sizeof(*x));
	x->group = group;
	x->name = name;
	x->help = help;
	x->kind = kind;
	x->value = v;
	return x;
}

/* The control plane's and the store's figures: one table each, so a field
 * appears under one name everywhere. */
#define CP_FIELD(f, h)                              \
	{                                           \
#f, h, offsetof(struct cp_stats, f) \
	}
static const struct {
	const char *name, *help;
	size_t off;
} cp_fields[] = {
    CP_FIELD(handled, "control frames processed"),
    CP_FIELD(rejected, "control frames refused by their handler"),
    CP_FIELD(unavailable, "control frames refused because Redis was down"),
    CP_FIELD(sessions, "sessions established"),
    CP_FIELD(registered, "devices registered"),
    CP_FIELD(reconnects, "Redis reconnections"),
    CP_FIELD(redis_moved, "Redis Cluster MOVED redirections followed (a slot changed owner)"),
    CP_FIELD(redis_asked, "Redis Cluster ASK redirections followed (a slot being migrated)"),
    CP_FIELD(redis_primary_changes, "Redis Sentinel failovers seen (the primary at a new address)"),
    CP_FIELD(undelivered, "replies lost: recipient address unknown or TX full"),
    CP_FIELD(restored, "sessions installed from Redis at start"),
    CP_FIELD(adopted, "sessions adopted on a frame of theirs ([sessions] adopt)"),
    CP_FIELD(adopt_refused, "frames that asked for an adoption and got none"),
    CP_FIELD(owner_lost, "sessions let go: another gateway adopted them ([sessions] adopt)"),
    CP_FIELD(backlog_msgs, "replicated messages adoptions handed to the data plane"),
    CP_FIELD(backlog_failed, "adoptions whose replicated messages could not be read"),
    CP_FIELD(to_owner, "[cluster] sessions whose frames this gateway forwards to their owner"),
    CP_FIELD(misrouted, "[cluster] frames a peer forwarded of sessions another gateway owns"),
    CP_FIELD(lease_lost, "[cluster] renewals of this gateway's lease that failed"),
    CP_FIELD(peers_down, "[cluster] times a peer's lease was found lapsed"),
    CP_FIELD(rekeys, "session rekeys completed"),
    CP_FIELD(reservations, "hop TX ranges reserved for the data plane"),
    CP_FIELD(persisted, "session marks written to Redis"),
    CP_FIELD(mark_passes, "housekeeping passes over the replay marks"),
    CP_FIELD(marks_deferred, "sessions whose moved marks waited a pass (mark_step)"),
    CP_FIELD(lab_sessions, "LAB ONLY: sessions installed by lab provisioning"),
    CP_FIELD(cookie_sent, "COOKIE_REPLY frames sent (frames not handled: under load)"),
    CP_FIELD(cookie_valid, "COOKIE_ECHO frames whose cookie verified"),
    CP_FIELD(cookie_invalid, "COOKIE_ECHO frames malformed or with a wrong or stale cookie"),
    CP_FIELD(forwarded, "frames handed to the worker their key names"),
    CP_FIELD(load_events, "times the control plane went under load"),
    CP_FIELD(closed, "sessions closed (by a member, the timers, the operator, a revocation)"),
    CP_FIELD(expired_idle, "sessions closed idle ([sessions] idle_s)"),
    CP_FIELD(expired_life, "sessions closed at their maximum lifetime ([sessions] max_life_s)"),
    CP_FIELD(revoked, "devices revoked"),
};

#define ST_FIELD(f, k, h)                                    \
	{                                                    \
#f, h, k, offsetof(struct dp_store_stats, f) \
	}
static const struct {
	const char *name, *help;
	uint8_t kind;
	size_t off;
} store_fields[] = {
    ST_FIELD(pending, GW_GAUGE, "messages held for delivery"),
    ST_FIELD(recipients, GW_GAUGE, "recipients with messages pending"),
    ST_FIELD(stored, GW_COUNTER, "messages persisted"),
    ST_FIELD(held, GW_COUNTER, "messages held back behind a gap"),
    ST_FIELD(delivered, GW_COUNTER, "messages released by DATA_DELIVERED"),
    ST_FIELD(resent, GW_COUNTER, "re-deliveries"),
    ST_FIELD(refused_full, GW_COUNTER, "messages refused: pool or ring full"),
    ST_FIELD(refused_error, GW_COUNTER, "messages refused: log error state"),
    ST_FIELD(refused_behind_gap, GW_COUNTER, "messages refused after a refused one"),
    ST_FIELD(skips, GW_COUNTER, "DATA_SKIP notices for messages expired by age"),
    ST_FIELD(expired, GW_COUNTER, "messages dropped by retention"),
    ST_FIELD(closed_released, GW_COUNTER, "messages released undelivered: their session closed"),
    ST_FIELD(bytes_on_disk, GW_GAUGE, "bytes of the message logs"),
    ST_FIELD(lab_reappended, GW_COUNTER, "LAB ONLY: replayed messages appended again"),
    ST_FIELD(skips_deferred, GW_COUNTER, "DATA_SKIP notices held back by the recipient's backoff"),
    ST_FIELD(resends_deferred, GW_COUNTER, "copies left out: sent less than 200 ms before"),
    ST_FIELD(resealed_relayed, GW_COUNTER, "re-sealed DATA_UPs of stored messages relayed again"),
    ST_FIELD(resealed_replaced, GW_COUNTER, "stored copies replaced by a differing re-seal"),
    ST_FIELD(marks_written, GW_COUNTER, "delivered marks written to the log"),
    ST_FIELD(marks_lost, GW_COUNTER, "delivered marks the log refused"),
    ST_FIELD(ring_full, GW_COUNTER,
             "log appends and releases refused: ring full ([store] ring_mb)"),
    ST_FIELD(ring_peak, GW_GAUGE, "most bytes one lcore's log ring has held"),
    ST_FIELD(replicated, GW_COUNTER, "log batches replicated to Redis ([store] replicate)"),
    ST_FIELD(replicate_failures, GW_COUNTER, "log batches Redis refused (STORED held back)"),
    ST_FIELD(replica_lag, GW_GAUGE, "messages appended but not yet replicated"),
    ST_FIELD(adopted, GW_COUNTER, "messages of adopted sessions' backlogs now held here"),
    ST_FIELD(adopt_have, GW_COUNTER, "backlog messages held here already"),
    ST_FIELD(adopt_done, GW_COUNTER, "backlog messages below the recipient's mark"),
    ST_FIELD(adopt_refused, GW_COUNTER, "backlog messages refused (pool, ring, error)"),
    ST_FIELD(adopt_lost, GW_COUNTER, "backlog messages not queued to their lcore"),
};

void gw_metrics_take(const struct gw_telemetry_src *src, struct gw_metrics *m)
{
	uint64_t total[DP_C__COUNT], lc[GW_METRICS_LCORES + 1][DP_C__COUNT];
	unsigned n_lc = dp_lcore_count(src->dp);
	struct gw_metric *x;
	struct cp_stats cs;
	struct dp_store_stats ss;
	struct timespec ts;
	uint64_t now_ms;

	memset(m, 0, offsetof(struct gw_metrics, m));
	m->n = 0;
	dp_counters(src->dp, total);
	if (n_lc > GW_METRICS_LCORES)
		n_lc = 0; /* totals only */
	for (unsigned l = 0; n_lc && l <= n_lc; l++)
		dp_lcore_counters(src->dp, l, lc[l]);
	for (int i = 0; i < DP_C__COUNT; i++) {
		x = add(m, "dataplane", dp_counter_name((enum dp_counter)i),
		        dp_counter_desc((enum dp_counter)i), GW_COUNTER, total[i]);
		if (x && n_lc) {
			x->n_lcores = n_lc;
			for (unsigned l = 0; l <= n_lc; l++)
				x->per_lcore[l] = lc[l][i];
		}
	}
	add(m, "dataplane", "lab_hop_replay_off",
	    "LAB ONLY when 1: [lab] hop_replay_window = off (replays relayed)", GW_GAUGE,
	    !dp_hop_replay_window(src->dp));
	add(m, "dataplane", "sessions_installed", "sessions installed in the data plane", GW_GAUGE,
	    dp_session_count(src->dp));

	cp_get_stats(src->cp, &cs);
	for (size_t i = 0; i < sizeof(cp_fields) / sizeof(cp_fields[0]); i++)
		add(m, "controlplane", cp_fields[i].name, cp_fields[i].help, GW_COUNTER,
		    *(const uint64_t *)((const char *)&cs + cp_fields[i].off));
	add(m, "controlplane", "under_load", "1 while bare handshake frames get a cookie", GW_GAUGE,
	    cs.under_load);

	dp_store_totals(src->dp, &ss);
	clock_gettime(CLOCK_REALTIME, &ts);
	now_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	for (size_t i = 0; i < sizeof(store_fields) / sizeof(store_fields[0]); i++)
		add(m, "store", store_fields[i].name, store_fields[i].help, store_fields[i].kind,
		    *(const uint64_t *)((const char *)&ss + store_fields[i].off));
	add(m, "store", "oldest_pending_age_ms", "age of the oldest pending message", GW_GAUGE,
	    ss.oldest_ms && now_ms > ss.oldest_ms ? now_ms - ss.oldest_ms : 0);
	m->store_error = ss.error ? strerror(ss.error) : "";
	m->n_recips = dp_store_recipients(src->dp, m->recips, GW_METRICS_RECIPS);

	{
		size_t n;
		const struct sga_suite_info *list = sga_suite_list(&n);

		for (size_t i = 0; i < n && i < 8; i++) {
			m->aead_suite[i] = list[i].name;
			m->aead_engine[i] = dp_aead_engine(src->dp, list[i].id);
		}
		m->n_suites = n < 8 ? (unsigned)n : 8;
	}
	m->aead_cpu = src->crypto_backend;
	m->rsa = src->rsa_engine ? src->rsa_engine : src->crypto_backend;
	m->modexp = src->modexp_engine ? src->modexp_engine : src->crypto_backend;
}

/* ---- JSON (the stats file) ---------------------------------------------------- */

static void json_group(const struct gw_metrics *m, FILE *f, const char *group)
{
	int first = 1;

	fprintf(f, "  \"%s\": {", group);
	for (unsigned i = 0; i < m->n; i++) {
		if (strcmp(m->m[i].group, group))
			continue;
		fprintf(f, "%s\n    \"%s\": %llu", first ? "" : ",", m->m[i].name,
		        (unsigned long long)m->m[i].value);
		first = 0;
	}
}

void gw_metrics_json(const struct gw_metrics *m, FILE *f)
{
	fprintf(f, "{\n");
	json_group(m, f, "dataplane");
	/* Per lcore ("main": what non-EAL threads counted). */
	if (m->m[0].n_lcores) {
		fprintf(f, ",\n    \"per_lcore\": [");
		for (unsigned l = 0; l <= m->m[0].n_lcores; l++) {
			fprintf(f, "%s\n      {\"lcore\": ", l ? "," : "");
			if (l < m->m[0].n_lcores)
				fprintf(f, "%u", l);
			else
				fprintf(f, "\"main\"");
			for (unsigned i = 0; i < m->n; i++) {
				if (!m->m[i].n_lcores || !m->m[i].per_lcore[l])
					continue; /* zeros left out: most counters are */
				fprintf(f, ", \"%s\": %llu", m->m[i].name,
				        (unsigned long long)m->m[i].per_lcore[l]);
			}
			fprintf(f, "}");
		}
		fprintf(f, "\n    ]");
	}
	fprintf(f, "\n  },\n");
	json_group(m, f, "controlplane");
	fprintf(f, "\n  },\n");
	json_group(m, f, "store");
	fprintf(f, ",\n    \"error\": \"%s\",\n    \"pending_per_recipient\": [", m->store_error);
	for (unsigned i = 0; i < m->n_recips; i++)
		fprintf(f,
		        "%s\n      {\"session\": \"%016llx\", \"role\": %u, \"pending\": %llu, "
		        "\"oldest_age_ms\": %llu}",
		        i ? "," : "", (unsigned long long)m->recips[i].session_id,
		        m->recips[i].role, (unsigned long long)m->recips[i].pending,
		        (unsigned long long)m->recips[i].oldest_age_ms);
	fprintf(f, "%s]\n  },\n", m->n_recips ? "\n    " : "");
	/* aead: the data plane's hop AEAD per suite ("cryptodev:<driver>" or
	 * "cpu"); aead_cpu: what "cpu" means, the sga_crypto backend, which also
	 * seals the control plane's envelopes. */
	fprintf(f, "  \"engines\": {\n    \"aead\": {");
	for (unsigned i = 0; i < m->n_suites; i++)
		fprintf(f, "%s\n      \"%s\": \"%s\"", i ? "," : "", m->aead_suite[i],
		        m->aead_engine[i]);
	fprintf(f, "\n    },\n    \"aead_cpu\": \"%s\",\n", m->aead_cpu);
	fprintf(f, "    \"rsa\": \"%s\",\n    \"modexp\": \"%s\"\n  }\n}\n", m->rsa, m->modexp);
}

/* ---- Prometheus text format --------------------------------------------------- */

/* Label values: backslash, double quote and newline escaped. */
static void prom_label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void prom_series(FILE *f, const struct gw_metric *x, const char *metric, const char *reason)
{
	for (unsigned l = 0; l <= x->n_lcores; l++) {
		fprintf(f, "%s{", metric);
		if (reason)
			fprintf(f, "reason=\"%s\",", reason);
		if (l < x->n_lcores)
			fprintf(f, "lcore=\"%u\"} %llu\n", l, (unsigned long long)x->per_lcore[l]);
		else if (x->n_lcores)
			fprintf(f, "lcore=\"main\"} %llu\n", (unsigned long long)x->per_lcore[l]);
		else
			fprintf(f, "lcore=\"all\"} %llu\n", (unsigned long long)x->value);
	}
}

static int is_drop(const struct gw_metric *x)
{
	return !strcmp(x->group, "dataplane") && !strncmp(x->name, "drop_", 5);
}

void gw_metrics_prometheus(const struct gw_metrics *m, FILE *f)
{
	for (unsigned i = 0; i < m->n; i++) {
		const struct gw_metric *x = &m->m[i];
		char metric[96];

		if (is_drop(x))
			continue; /* one family below */
		snprintf(metric, sizeof(metric), "sga_%s_%s%s", x->group, x->name,
		         x->kind == GW_COUNTER ? "_total" : "");
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", metric, x->help, metric,
		        x->kind == GW_COUNTER ? "counter" : "gauge");
		if (x->n_lcores)
			prom_series(f, x, metric, NULL);
		else
			fprintf(f, "%s %llu\n", metric, (unsigned long long)x->value);
	}
	/* Every drop reason in one family (its lines must be contiguous): sum()
	 * over it is "dropped"; the reason names are dp.h's, without "drop_". */
	fprintf(f, "# HELP sga_dataplane_dropped_total frames dropped by the data plane, by "
	           "reason\n# TYPE sga_dataplane_dropped_total counter\n");
	for (unsigned i = 0; i < m->n; i++)
		if (is_drop(&m->m[i]))
			prom_series(f, &m->m[i], "sga_dataplane_dropped_total", m->m[i].name + 5);
	fprintf(f, "# HELP sga_engine_info which engine serves each operation\n"
	           "# TYPE sga_engine_info gauge\n");
	for (unsigned i = 0; i < m->n_suites; i++) {
		fprintf(f, "sga_engine_info{op=\"aead\",suite=\"");
		prom_label(f, m->aead_suite[i]);
		fprintf(f, "\",engine=\"");
		prom_label(f, m->aead_engine[i]);
		fprintf(f, "\"} 1\n");
	}
	{
		const char *ops[3][2] = {
		    {"aead_cpu", m->aead_cpu}, {"rsa", m->rsa}, {"modexp", m->modexp}};

		for (int i = 0; i < 3; i++) {
			fprintf(f, "sga_engine_info{op=\"%s\",engine=\"", ops[i][0]);
			prom_label(f, ops[i][1]);
			fprintf(f, "\"} 1\n");
		}
	}
	fprintf(f,
	        "# HELP sga_store_error 1 while a message log is in an error state\n"
	        "# TYPE sga_store_error gauge\nsga_store_error %d\n",
	        m->store_error[0] != '\0');
}
