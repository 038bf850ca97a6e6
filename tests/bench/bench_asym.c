/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_asym.c - sga-bench-asym: the gateway's asymmetric crypto through the
 * offload layer, next to `openssl speed` for the same operation, in the same
 * run (figures on these VMs drift by up to 1.7x between runs minutes apart, so
 * only same-run ratios mean anything):
 *   - modexp (256-bit exponent, ffdhe2048 by default) through sga_modexp with
 *     OpenSSL BN on the calling thread, and with the cryptodev MODEX service on
 *     crypto_openssl, from 1, 2 and 4 threads and from one thread running 8
 *     ASYNC jobs; vs `openssl speed ffdh2048` (op/s of a DH derive, whose
 *     private exponent is 224 bits: the same work);
 *   - RSA-2048 OAEP decryption through sga_rsa_oaep_decrypt vs `openssl speed
 *     rsa2048` (sign/s: the same private-key operation without OAEP);
 *   - full session setups (A1-A4 + B1-B7) per second with 1 and 2 control
 *     workers: threads each drive their own in-memory harness (two devices and
 *     a gateway), concurrently. Device-side work runs on the same threads but
 *     is not counted: "gateway capacity" adds up each thread's sessions per
 *     second of gateway-handler time; "wall" is whole handshakes (devices
 *     included) per second of wall-clock time. With the cryptodev service only
 *     the gateway's modexps go to it (a thread-local flag picks the route), as
 *     in the real gateway, where devices are elsewhere.
 * A benchmark, not a test: it asserts nothing and exits 0 unless set-up fails.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/async.h>
#include <rte_eal.h>
#include <rte_errno.h>

#include "harness.h"
#include "sga_asym.h"
#include "sga_crypto_priv.h"
#include "sga_engine.h"

#define N_EXP 16

static const uint8_t all_suites[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_AES256_GCM,
                                     SGA_SUITE_CHACHA20_POLY1305, SGA_SUITE_AES128_CCM8};

static const struct sga_group_info *grp;
static double secs = 2.0;
static uint8_t exps[N_EXP][SGA_EXPONENT_LEN];
static uint8_t base[SGA_GROUP_MAX_LEN];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- openssl speed ----------------------------------------------------------------- */

/*
 * Run `openssl speed -seconds S ALG` and return the figure of its result line:
 * "2048 bits ffdh   0.0003s   3660.9" (op/s, the last field) or
 * "rsa 2048 bits 0.000240s 0.000017s   4171.4  59225.9" (sign/s, the sixth).
 */
static double openssl_speed(const char *alg, const char *line_has, int field)
{
	char cmd[128], line[512];
	double v = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "openssl speed -seconds %d %s 2>/dev/null", (int)(secs + 0.5),
	         alg);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		char *tok[16], *save = NULL;
		int n = 0;

		if (!strstr(line, line_has) || !strstr(line, "bits"))
			continue;
		for (char *t = strtok_r(line, " \t\n", &save); t && n < 16;
		     t = strtok_r(NULL, " \t\n", &save))
			tok[n++] = t;
		if (field < 0 && n > 0)
			v = strtod(tok[n - 1], NULL);
		else if (field < n)
			v = strtod(tok[field], NULL);
	}
	pclose(p);
	return v;
}

/* ---- modexp -------------------------------------------------------------------------- */

struct mx_arg {
	double end;
	unsigned long ops;
	int fail;
};

static atomic_int go;

static void *mx_thread(void *p)
{
	struct mx_arg *m = p;
	uint8_t out[SGA_GROUP_MAX_LEN];

	while (!atomic_load(&go))
		;
	while (now_s() < m->end) {
		for (int i = 0; i < N_EXP; i++, m->ops++)
			if (sga_modexp(grp, base, exps[i], SGA_EXPONENT_LEN, out)) {
				m->fail = 1;
				return NULL;
			}
	}
	return NULL;
}

/* Aggregate sga_modexp/s from n threads for `secs`. */
static double bench_modexp(int n)
{
	struct mx_arg m[8];
	pthread_t th[8];
	unsigned long ops = 0;
	double t0, end;

	atomic_store(&go, 0);
	end = now_s() + secs;
	for (int i = 0; i < n; i++) {
		m[i] = (struct mx_arg){.end = end};
		if (pthread_create(&th[i], NULL, mx_thread, &m[i]))
			return -1;
	}
	t0 = now_s();
	atomic_store(&go, 1);
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		if (m[i].fail)
			return -1;
		ops += m[i].ops;
	}
	return (double)ops / (now_s() - t0);
}

/* One thread, `jobs` ASYNC jobs each looping on sga_modexp: what one control
 * worker with async_jobs = jobs can push through the service. */
static int mx_job(void *p)
{
	struct mx_arg *m = p;
	uint8_t out[SGA_GROUP_MAX_LEN];

	while (now_s() < m->end)
		for (int i = 0; i < N_EXP; i++, m->ops++)
			if (sga_modexp(grp, base, exps[i], SGA_EXPONENT_LEN, out))
				return -1;
	return 0;
}

static void mx_job_done(void *p, int rc)
{
	((struct mx_arg *)p)->fail = rc != 0;
}

static double bench_modexp_jobs(unsigned jobs)
{
	struct sga_async *a = sga_async_create(jobs);
	struct mx_arg m[16];
	unsigned long ops = 0;
	double t0 = now_s();

	if (!a || jobs > 16)
		return -1;
	for (unsigned i = 0; i < jobs; i++) {
		m[i] = (struct mx_arg){.end = t0 + secs};
		if (sga_async_submit(a, mx_job, &m[i], mx_job_done) < 0)
			return -1;
	}
	for (;;) {
		unsigned seq = sga_async_wake_seq();

		if (!sga_async_poll(a))
			break;
		sga_async_wait(seq, 20000); /* as a control-plane worker does */
	}
	for (unsigned i = 0; i < jobs; i++) {
		if (m[i].fail)
			return -1;
		ops += m[i].ops;
	}
	sga_async_destroy(a);
	return (double)ops / (now_s() - t0);
}

/* ---- RSA ----------------------------------------------------------------------------- */

static double bench_rsa(const struct sga_rsa_key *k)
{
	uint8_t r[SGA_EXPONENT_LEN] = {1}, ct[SGA_RSA_MAX_LEN], pt[SGA_RSA_MAX_LEN];
	size_t ct_len, pt_len;
	unsigned long n = 0;
	double t0, t;

	if (sga_rsa_oaep_encrypt(k, r, sizeof(r), ct, sizeof(ct), &ct_len))
		return -1;
	t0 = now_s();
	do {
		for (int i = 0; i < 16; i++, n++)
			if (sga_rsa_oaep_decrypt(k, ct, ct_len, pt, sizeof(pt), &pt_len))
				return -1;
		t = now_s() - t0;
	} while (t < secs);
	return (double)n / t;
}

/* ---- session setups -------------------------------------------------------------------- */

/* Route: the gateway's modexps to the service (when running), devices' to BN. */
static __thread int tls_gateway;
static struct sga_asym *g_service;

static int route_modexp(const struct sga_group_info *g, const uint8_t *b, const uint8_t *e,
                        size_t e_len, uint8_t *out)
{
	if (tls_gateway && g_service)
		return sga_asym_modexp(g_service, g, b, e, e_len, out);
	return sga_soft_modexp(g, b, e, e_len, out);
}

static const struct sga_crypto_backend route_backend = {.name = "bench-route",
                                                        .modexp = route_modexp};

static double gw_begin(void)
{
	tls_gateway = 1;
	return now_s();
}

static double gw_end(double t)
{
	tls_gateway = 0;
	return now_s() - t;
}

/* One session (A1-A4, B1-B7); *gw += seconds spent in gateway handlers. */
static int one_session(struct harness *h, double *gw)
{
	int rc = harness_session_timed(h, all_suites, 1, gw_begin, gw_end, gw);

	if (rc)
		fprintf(stderr, "sga-bench-asym: session failed: %s\n", sga_err_name(rc));
	return rc;
}

struct ss_arg {
	struct harness *h;
	double end;
	unsigned long n;
	double gw;
	int fail;
};

static void *ss_thread(void *p)
{
	struct ss_arg *s = p;

	while (!atomic_load(&go))
		;
	while (now_s() < s->end) {
		if (one_session(s->h, &s->gw)) {
			s->fail = 1;
			break;
		}
		s->n++;
	}
	return NULL;
}

/* n workers, each on its own harness; returns 0 and the two rates. */
static int bench_sessions(struct harness **hs, int n, double *capacity, double *wall)
{
	struct ss_arg s[2];
	pthread_t th[2];
	unsigned long total = 0;
	double t0;

	atomic_store(&go, 0);
	for (int i = 0; i < n; i++) {
		s[i] = (struct ss_arg){.h = hs[i], .end = now_s() + secs + 1};
		if (pthread_create(&th[i], NULL, ss_thread, &s[i]))
			return -1;
	}
	t0 = now_s();
	atomic_store(&go, 1);
	*capacity = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		if (s[i].fail || !s[i].n)
			return -1;
		total += s[i].n;
		*capacity += (double)s[i].n / s[i].gw;
	}
	*wall = (double)total / (now_s() - t0);
	return 0;
}

/* ---- main ---------------------------------------------------------------------------------- */

static int eal_up(void)
{
	char prefix[64];
	char *argv[] = {"sga-bench-asym",
	                "--no-pci",
	                "--no-huge",
	                "-m",
	                "512",
	                "--no-shconf",
	                "-l",
	                "0",
	                "--log-level=lib.*:error",
	                prefix};

	cpu_set_t all;

	/* EAL pins this thread to lcore 0's CPU, and threads inherit it: put this
	 * thread back on every CPU it had, or "2 workers" would share one. */
	if (sched_getaffinity(0, sizeof(all), &all))
		CPU_ZERO(&all);
	snprintf(prefix, sizeof(prefix), "--file-prefix=sgabench%d", (int)getpid());
	if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])), argv) < 0) {
		fprintf(stderr, "sga-bench-asym: rte_eal_init: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	if (CPU_COUNT(&all))
		pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
	return 0;
}

static void row(const char *what, double v, double ref)
{
	if (ref > 0)
		printf("  %-46s %10.0f /s   %5.2fx openssl speed\n", what, v, v / ref);
	else
		printf("  %-46s %10.0f /s\n", what, v);
}

/* A row through the service, with what the service saw meanwhile: the mean
 * number of ops per device burst and the callers' session create+free time
 * per request (wall clock: it includes preemption when threads > CPUs). */
static void svc_row(struct sga_asym *svc, const char *what, double v, double ref,
                    const struct sga_asym_stats *before)
{
	struct sga_asym_stats st;
	double reqs, bursts;

	sga_asym_get_stats(svc, &st);
	reqs = (double)(st.completed - before->completed);
	bursts = (double)(st.bursts - before->bursts);
	row(what, v, ref);
	printf("  %-46s %10s     %.2f ops/burst, session create+free %.1f us/op\n", "", "",
	       bursts > 0 ? reqs / bursts : 0.0,
	       reqs > 0 ? (double)(st.session_ns - before->session_ns) / reqs / 1e3 : 0.0);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"group", required_argument, NULL, 'g'},
	    {"seconds", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct sga_asym_config acfg = {
	    .mode = SGA_ASYM_MODE_CRYPTODEV, .device = SGA_ASYM_DEV_OPENSSL, .socket_id = -1};
	struct harness *hs[2] = {NULL, NULL};
	struct sga_asym_stats st;
	struct sga_asym *svc = NULL;
	char report[256], speed_alg[32];
	double ref_mx, ref_rsa, v, cap, wall;
	char *end;
	int c;

	grp = sga_group_get(SGA_GROUP_FFDHE2048);
	while ((c = getopt_long(argc, argv, "g:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'g':
			grp = sga_group_by_name(optarg);
			if (!grp) {
				fprintf(stderr, "sga-bench-asym: unknown group '%s'\n", optarg);
				return 2;
			}
			break;
		case 't':
			secs = strtod(optarg, &end);
			if (*end || secs < 1 || secs > 60) {
				fprintf(stderr, "sga-bench-asym: --seconds must be in [1, 60]\n");
				return 2;
			}
			break;
		case 'h':
			printf("Usage: sga-bench-asym [-g ffdhe2048|ffdhe3072] [-t SECONDS]\n"
			       "Modexp and RSA through the offload layer vs openssl speed; session "
			       "setups/s with 1 and 2 workers.\n");
			return 0;
		default:
			return 2;
		}
	}
	if (eal_up())
		return 1;
	for (int i = 0; i < N_EXP; i++)
		if (sga_exponent_random(exps[i]))
			return 1;
	if (sga_soft_modexp(grp, NULL, exps[0], SGA_EXPONENT_LEN, base))
		return 1;
	for (int i = 0; i < 2; i++) {
		hs[i] = calloc(1, sizeof(*hs[i]));
		if (!hs[i] ||
		    harness_init(hs[i], grp->id, all_suites, sizeof(all_suites), all_suites,
		                 sizeof(all_suites)) ||
		    harness_register(hs[i], 0) || harness_register(hs[i], 1)) {
			fprintf(stderr, "sga-bench-asym: harness set-up failed\n");
			return 1;
		}
	}
	printf("sga-bench-asym: %s, 256-bit exponents, RSA-%zu, %.0f s per figure, %ld CPUs\n",
	       grp->name, 8 * sga_rsa_size(hs[0]->gw.prof[0].tpk.rsa), secs,
	       sysconf(_SC_NPROCESSORS_ONLN));

	/* -- modexp -- */
	snprintf(speed_alg, sizeof(speed_alg), "ffdh%zu", grp->len * 8);
	ref_mx = openssl_speed(speed_alg, "ffdh", -1);
	printf("\nmodexp (%s)\n", grp->name);
	printf("  %-46s %10.0f /s\n", "openssl speed ffdh (derive)", ref_mx);
	row("sga_modexp, OpenSSL BN, 1 thread", bench_modexp(1), ref_mx);
	row("sga_modexp, OpenSSL BN, 2 threads", bench_modexp(2), ref_mx);
	if (sga_asym_start(&acfg, &svc, report, sizeof(report)) || !svc ||
	    sga_asym_backend_install(svc)) {
		fprintf(stderr, "sga-bench-asym: modexp service: %s\n", report);
		return 1;
	}
	printf("  service: %s\n", report);
	for (int n = 1; n <= 4; n *= 2) {
		char what[64];

		snprintf(what, sizeof(what), "sga_modexp, cryptodev crypto_openssl, %d thread%s", n,
		         n > 1 ? "s" : "");
		sga_asym_get_stats(svc, &st);
		v = bench_modexp(n);
		svc_row(svc, what, v, ref_mx, &st);
	}
	sga_asym_get_stats(svc, &st);
	v = bench_modexp_jobs(8);
	svc_row(svc, "sga_modexp, cryptodev, 1 thread x 8 ASYNC jobs", v, ref_mx, &st);
	sga_asym_get_stats(svc, &st);
	printf("  service total: %llu requests, %llu bursts (%llu of >1 op, largest %llu), %llu "
	       "in software\n",
	       (unsigned long long)st.requests, (unsigned long long)st.bursts,
	       (unsigned long long)st.multi_bursts, (unsigned long long)st.max_burst,
	       (unsigned long long)st.soft);
	sga_asym_backend_uninstall();

	/* -- RSA -- */
	ref_rsa = openssl_speed("rsa2048", "rsa", 5);
	printf("\nRSA-2048 private key\n");
	printf("  %-46s %10.0f /s\n", "openssl speed rsa2048 (sign)", ref_rsa);
	v = sga_rsa_size(hs[0]->gw.prof[0].tpk.rsa) == 256 ? bench_rsa(hs[0]->gw.prof[0].tpk.rsa)
	                                                   : -1;
	row("sga_rsa_oaep_decrypt, OpenSSL, 1 thread", v, ref_rsa);

	/* -- session setups -- */
	printf("\nsession setups (A1-A4 + B1-B7: 2 RSA + 4 modexp at the gateway)\n");
	sga_crypto_backend_set(&route_backend);
	for (int mode = 0; mode < 2; mode++) {
		g_service = mode ? svc : NULL;
		for (int n = 1; n <= 2; n++) {
			char what[96];

			if (bench_sessions(hs, n, &cap, &wall)) {
				fprintf(stderr, "sga-bench-asym: session benchmark failed\n");
				return 1;
			}
			snprintf(what, sizeof(what), "modexp %s, %d worker%s",
			         mode ? "cryptodev" : "BN", n, n > 1 ? "s" : "");
			printf("  %-30s gateway capacity %8.0f /s   wall (devices too) %7.0f /s\n",
			       what, cap, wall);
		}
	}
	sga_crypto_backend_set(NULL);
	g_service = NULL;
	sga_asym_stop(svc);
	for (int i = 0; i < 2; i++) {
		harness_fini(hs[i]);
		free(hs[i]);
	}
	rte_eal_cleanup();
	return 0;
}
