/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_asym.c - the modexp service (offload/sga_asym.h) on the crypto_openssl
 * PMD: device choice and its report, results equal to sga_soft_modexp byte for
 * byte in both groups (random exponents and bases, the generator, results with
 * leading zero bytes), concurrent callers each getting their own result while
 * the service really batches them, ASYNC jobs keeping several requests of one
 * thread in flight, the sga_crypto backend install/uninstall, argument checks
 * and a restart. Each test process runs its own EAL (--no-huge --no-pci
 * --no-shconf, a per-process file prefix), with --vdev crypto_openssl0 as a
 * deployment would have it: the service must leave that device alone.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/async.h>
#include <rte_eal.h>
#include <rte_errno.h>

#include "sga_asym.h"
#include "sga_crypto.h"
#include "sga_crypto_priv.h"
#include "sga_engine.h"
#include "eal_tidy.h"

static char report[256];

static void eal_up(void)
{
	static int done;
	char prefix[64];
	char *argv[] = {"test_asym", "--no-pci",    "--no-huge",       "-m",
	                "512",       "--no-shconf", "--no-telemetry",  "-l",
	                "0",         "--vdev",      "crypto_openssl0", "--log-level=lib.*:error",
	                prefix};
	int argc = (int)(sizeof(argv) / sizeof(argv[0]));

	if (done)
		return;
	snprintf(prefix, sizeof(prefix), "--file-prefix=sgaasym%d", (int)getpid());
	cr_assert_geq(rte_eal_init(argc, argv), 0, "rte_eal_init: %s", rte_strerror(rte_errno));
	eal_tidy();
	done = 1;
}

static struct sga_asym *start(enum sga_asym_mode mode, enum sga_asym_device dev, unsigned burst)
{
	struct sga_asym_config cfg = {.mode = mode, .device = dev, .burst = burst, .socket_id = -1};
	struct sga_asym *a = NULL;

	eal_up();
	cr_assert_eq(sga_asym_start(&cfg, &a, report, sizeof(report)), 0, "%s", report);
	return a;
}

static const struct sga_group_info *G2048(void)
{
	return sga_group_get(SGA_GROUP_FFDHE2048);
}

static const struct sga_group_info *G3072(void)
{
	return sga_group_get(SGA_GROUP_FFDHE3072);
}

/* A random group element: g^x for a random x (so it lies in [2, p-2]). */
static void random_element(const struct sga_group_info *grp, uint8_t *elem)
{
	uint8_t x[SGA_EXPONENT_LEN];

	cr_assert_eq(sga_exponent_random(x), 0);
	cr_assert_eq(sga_soft_modexp(grp, NULL, x, sizeof(x), elem), 0);
}

/* base^exp through the service equals the software result, byte for byte. */
static void check_one(struct sga_asym *a, const struct sga_group_info *grp, const uint8_t *base,
                      const uint8_t *exp, size_t exp_len)
{
	uint8_t want[SGA_GROUP_MAX_LEN], got[SGA_GROUP_MAX_LEN];

	memset(got, 0xA5, sizeof(got));
	cr_assert_eq(sga_soft_modexp(grp, base, exp, exp_len, want), 0);
	cr_assert_eq(sga_asym_modexp(a, grp, base, exp, exp_len, got), 0);
	cr_assert_arr_eq(got, want, grp->len, "%s, exp_len %zu", grp->name, exp_len);
}

TestSuite(asym, .timeout = 300);

Test(asym, config_words)
{
	enum sga_asym_mode m;
	enum sga_asym_device d;

	cr_assert_eq(sga_asym_mode_parse("auto", &m), 0);
	cr_assert_eq(m, SGA_ASYM_MODE_AUTO);
	cr_assert_eq(sga_asym_mode_parse("cryptodev", &m), 0);
	cr_assert_eq(m, SGA_ASYM_MODE_CRYPTODEV);
	cr_assert_eq(sga_asym_mode_parse("cpu", &m), 0);
	cr_assert_eq(m, SGA_ASYM_MODE_CPU);
	cr_assert_eq(sga_asym_mode_parse("qat", &m), -EINVAL);
	cr_assert_eq(sga_asym_device_parse("auto", &d), 0);
	cr_assert_eq(d, SGA_ASYM_DEV_AUTO);
	cr_assert_eq(sga_asym_device_parse("crypto_qat", &d), 0);
	cr_assert_eq(d, SGA_ASYM_DEV_QAT);
	cr_assert_eq(sga_asym_device_parse("crypto_openssl", &d), 0);
	cr_assert_eq(d, SGA_ASYM_DEV_OPENSSL);
	cr_assert_eq(sga_asym_device_parse("crypto_aesni_mb", &d), -EINVAL);
}

Test(asym, cpu_mode_is_openssl_bn)
{
	uint8_t e[SGA_EXPONENT_LEN];
	struct sga_asym *a = start(SGA_ASYM_MODE_CPU, SGA_ASYM_DEV_AUTO, 0);

	cr_assert_null(a);
	cr_assert(strstr(report, "openssl BN"), "%s", report);
	cr_assert_str_eq(sga_asym_name(a), "openssl BN");
	cr_assert_eq(sga_asym_serves_group(a, SGA_GROUP_FFDHE2048), 0);
	cr_assert_eq(sga_exponent_random(e), 0);
	check_one(a, G2048(), NULL, e, sizeof(e)); /* NULL service = software */
	cr_assert_eq(sga_asym_backend_install(a), -EINVAL);
}

/* No QAT on a test machine: modexp = auto stays on OpenSSL BN (constant-time,
 * scales with the workers) and says why. */
Test(asym, auto_without_qat_stays_on_bn)
{
	struct sga_asym *a = start(SGA_ASYM_MODE_AUTO, SGA_ASYM_DEV_AUTO, 0);

	cr_assert_null(a);
	cr_assert(strstr(report, "openssl BN: no crypto_qat device with MODEX (modexp = auto)"),
	          "%s", report);
}

/* modexp = cryptodev without QAT: a crypto_openssl vdev of its own. */
Test(asym, cryptodev_picks_crypto_openssl_and_reports_it)
{
	struct sga_asym *a = start(SGA_ASYM_MODE_CRYPTODEV, SGA_ASYM_DEV_AUTO, 0);

	cr_assert_not_null(a, "%s", report);
	cr_assert_str_eq(sga_asym_name(a), "crypto_openssl");
	cr_assert(strstr(report, "cryptodev crypto_openssl"), "%s", report);
	cr_assert(strstr(report, "crypto_openssl_sga_mx"), "its own vdev, not crypto_openssl0: %s",
	          report);
	cr_assert(strstr(report, "created"), "%s", report);
	cr_assert(strstr(report, "ffdhe2048") && strstr(report, "ffdhe3072"), "%s", report);
	cr_assert(!strstr(report, "in software"), "both groups on the device: %s", report);
	cr_assert(strstr(report, "variable-time"), "the exposure is reported: %s", report);
	cr_assert_eq(sga_asym_serves_group(a, SGA_GROUP_FFDHE2048), 1);
	cr_assert_eq(sga_asym_serves_group(a, SGA_GROUP_FFDHE3072), 1);
	sga_asym_stop(a);
}

Test(asym, qat_required_but_absent)
{
	struct sga_asym_config cfg = {
	    .mode = SGA_ASYM_MODE_CRYPTODEV, .device = SGA_ASYM_DEV_QAT, .socket_id = -1};
	struct sga_asym *a = (struct sga_asym *)&cfg; /* must be reset to NULL */

	eal_up();
	cr_assert_eq(sga_asym_start(&cfg, &a, report, sizeof(report)), -ENODEV);
	cr_assert_null(a);
	cr_assert(strstr(report, "modexp = cryptodev") && strstr(report, "no crypto_qat device"),
	          "%s", report);
	/* auto with crypto_qat: falls back to the CPU and says so */
	cfg.mode = SGA_ASYM_MODE_AUTO;
	cr_assert_eq(sga_asym_start(&cfg, &a, report, sizeof(report)), 0);
	cr_assert_null(a);
	cr_assert(strstr(report, "openssl BN: no crypto_qat device") &&
	              strstr(report, "modexp = auto"),
	          "%s", report);
	/* bad sizes are refused, not clamped */
	cfg.burst = 4096;
	cr_assert_eq(sga_asym_start(&cfg, &a, report, sizeof(report)), -EINVAL);
}

Test(asym, equals_software_in_both_groups)
{
	const struct sga_group_info *grps[2] = {G2048(), G3072()};
	struct sga_asym *a = start(SGA_ASYM_MODE_CRYPTODEV, SGA_ASYM_DEV_OPENSSL, 0);
	struct sga_asym_stats st;
	unsigned n = 0;

	cr_assert_not_null(a);
	for (int k = 0; k < 2; k++) {
		const struct sga_group_info *grp = grps[k];
		uint8_t base[SGA_GROUP_MAX_LEN], e[SGA_GROUP_MAX_LEN];

		for (int i = 0; i < 48; i++, n += 2) {
			cr_assert_eq(sga_exponent_random(e), 0);
			random_element(grp, base);
			check_one(a, grp, base, e, SGA_EXPONENT_LEN);
			check_one(a, grp, NULL, e, SGA_EXPONENT_LEN); /* generator */
		}
		/* short, leading-zero and full-length exponents */
		memset(e, 0, sizeof(e));
		e[SGA_EXPONENT_LEN - 1] = 3;
		check_one(a, grp, base, e, SGA_EXPONENT_LEN);
		check_one(a, grp, base, e + SGA_EXPONENT_LEN - 1, 1);
		cr_assert_eq(sga_random_bytes(e, grp->len), 0);
		check_one(a, grp, base, e, grp->len);
		/* the smallest base */
		memset(base, 0, grp->len);
		base[grp->len - 1] = 2;
		check_one(a, grp, base, e, SGA_EXPONENT_LEN);
		n += 4;
	}
	sga_asym_get_stats(a, &st);
	cr_assert_eq(st.requests, n, "every request went to the device");
	cr_assert_eq(st.completed, n);
	cr_assert_eq(st.soft, 0);
	cr_assert_eq(st.dev_errors, 0);
	sga_asym_stop(a);
}

/* crypto_openssl returns BN_bn2bin's minimal encoding: results with a leading
 * zero byte must come back left-padded. */
Test(asym, short_results_are_left_padded)
{
	const struct sga_group_info *grp = G2048();
	struct sga_asym *a = start(SGA_ASYM_MODE_CRYPTODEV, SGA_ASYM_DEV_OPENSSL, 0);
	uint8_t e[SGA_EXPONENT_LEN], r[SGA_GROUP_MAX_LEN];
	int found = 0;

	cr_assert_not_null(a);
	for (int tries = 0; tries < 20000 && found < 2; tries++) {
		cr_assert_eq(sga_exponent_random(e), 0);
		cr_assert_eq(sga_soft_modexp(grp, NULL, e, sizeof(e), r), 0);
		if (r[0] != 0)
			continue;
		found++;
		check_one(a, grp, NULL, e, sizeof(e));
	}
	cr_assert_eq(found, 2, "exponents with a leading-zero result are found quickly");
	sga_asym_stop(a);
}

/* ---- concurrency ------------------------------------------------------------------ */

#define N_THREADS  4
#define PER_THREAD 40

struct worker {
	struct sga_asym *a;
	int ok;
};

static atomic_int go;

static void *submitter(void *arg)
{
	struct worker *w = arg;
	const struct sga_group_info *grp = G2048();

	while (!atomic_load(&go))
		;
	w->ok = 0;
	for (int i = 0; i < PER_THREAD; i++) {
		uint8_t e[SGA_EXPONENT_LEN], base[SGA_GROUP_MAX_LEN];
		uint8_t want[SGA_GROUP_MAX_LEN], got[SGA_GROUP_MAX_LEN];

		if (sga_exponent_random(e) || sga_exponent_random(base + grp->len - 32))
			return NULL;
		memset(base, 0, grp->len - 32); /* a valid element: 32 random low bytes */
		base[grp->len - 1] |= 2;
		if (sga_soft_modexp(grp, base, e, sizeof(e), want) ||
		    sga_asym_modexp(w->a, grp, base, e, sizeof(e), got) ||
		    memcmp(want, got, grp->len))
			return NULL;
	}
	w->ok = 1;
	return NULL;
}

Test(asym, concurrent_callers_get_their_own_results_in_shared_bursts)
{
	struct sga_asym *a = start(SGA_ASYM_MODE_CRYPTODEV, SGA_ASYM_DEV_OPENSSL, 0);
	struct worker w[N_THREADS];
	pthread_t th[N_THREADS];
	struct sga_asym_stats st;

	cr_assert_not_null(a);
	for (int i = 0; i < N_THREADS; i++) {
		w[i].a = a;
		w[i].ok = 0;
		cr_assert_eq(pthread_create(&th[i], NULL, submitter, &w[i]), 0);
	}
	atomic_store(&go, 1);
	for (int i = 0; i < N_THREADS; i++) {
		pthread_join(th[i], NULL);
		cr_assert(w[i].ok, "thread %d got a wrong or failed result", i);
	}
	sga_asym_get_stats(a, &st);
	cr_assert_eq(st.requests, N_THREADS * PER_THREAD);
	cr_assert_eq(st.completed, N_THREADS * PER_THREAD);
	cr_assert_eq(st.soft, 0);
	cr_assert(st.multi_bursts > 0 && st.max_burst > 1,
	          "requests of several threads share device bursts (%llu bursts, %llu multi, "
	          "max %llu)",
	          (unsigned long long)st.bursts, (unsigned long long)st.multi_bursts,
	          (unsigned long long)st.max_burst);
	cr_assert(st.bursts < N_THREADS * PER_THREAD, "fewer bursts than requests");
	sga_asym_stop(a);
}

/* ---- ASYNC jobs: one thread, many requests in flight ---------------------------------- */

struct job {
	struct sga_asym *a;
	const struct sga_group_info *grp;
	uint8_t e[SGA_GROUP_MAX_LEN];
	size_t e_len;
	uint8_t got[SGA_GROUP_MAX_LEN];
	int rc;
	int finished;
};

static int job_fn(void *arg)
{
	struct job *j = arg;

	return sga_asym_modexp(j->a, j->grp, NULL, j->e, j->e_len, j->got);
}

static void job_done(void *arg, int rc)
{
	struct job *j = arg;

	j->rc = rc;
	j->finished = 1;
}

/*
 * Job 0 is a long exponentiation (3072-bit exponent in ffdhe3072, tens of ms
 * on crypto_openssl): while the service computes it, jobs 1..7 of the same
 * thread are submitted, pause, and wait in the ring; they reach the device as
 * one burst. Without jobs, one thread could only ever have one request out.
 */
Test(asym, async_jobs_keep_one_thread_s_requests_in_flight)
{
	struct sga_asym *a = start(SGA_ASYM_MODE_CRYPTODEV, SGA_ASYM_DEV_OPENSSL, 0);
	struct sga_async *as = sga_async_create(8);
	static struct job jobs[8];
	struct sga_asym_stats st;
	unsigned peak = 0;
	time_t t0;

	cr_assert_not_null(a);
	cr_assert_not_null(as);
	for (int i = 0; i < 8; i++) {
		struct job *j = &jobs[i];
		int rc;

		j->a = a;
		j->grp = i == 0 ? G3072() : G2048();
		j->e_len = i == 0 ? j->grp->len : SGA_EXPONENT_LEN;
		j->finished = 0;
		cr_assert_eq(sga_random_bytes(j->e, j->e_len), 0);
		j->e[0] |= 0x80;
		rc = sga_async_submit(as, job_fn, j, job_done);
		cr_assert(rc == 0 || rc == 1, "submit %d", rc);
		if (sga_async_inflight(as) > peak)
			peak = sga_async_inflight(as);
	}
	cr_assert_geq(peak, 2, "one thread has several requests in flight");
	/* Driven as a control-plane worker drives its jobs, but with a timeout so
	 * long that only the service's notify can keep this fast. */
	t0 = time(NULL);
	for (;;) {
		unsigned seq = sga_async_wake_seq();

		if (!sga_async_poll(as))
			break;
		sga_async_wait(seq, 20L * 1000000000L);
	}
	cr_assert_eq(sga_async_inflight(as), 0);
	cr_assert_lt(time(NULL) - t0, 15, "woken by the service, not by the 20 s timeout");
	for (int i = 0; i < 8; i++) {
		uint8_t want[SGA_GROUP_MAX_LEN];

		cr_assert(jobs[i].finished);
		cr_assert_eq(jobs[i].rc, 0);
		cr_assert_eq(sga_soft_modexp(jobs[i].grp, NULL, jobs[i].e, jobs[i].e_len, want), 0);
		cr_assert_arr_eq(jobs[i].got, want, jobs[i].grp->len, "job %d", i);
	}
	sga_asym_get_stats(a, &st);
	cr_assert_eq(st.async_waits, 8, "every request waited by pausing its job");
	cr_assert(st.max_burst > 1, "one thread's jobs batched together (max burst %llu)",
	          (unsigned long long)st.max_burst);
	sga_async_destroy(as);
	sga_asym_stop(a);
}

/* ---- the sga_crypto backend ------------------------------------------------------------- */

static int fake_seal(uint8_t suite, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                     size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *ct, size_t ct_cap)
{
	return sga_soft_aead_seal(suite, key, nonce, aad, aad_len, pt, pt_len, ct, ct_cap);
}

Test(asym, backend_install_and_uninstall)
{
	static const struct sga_crypto_backend aead_only = {.name = "fake-aead",
	                                                    .aead_seal = fake_seal};
	struct sga_asym *a = start(SGA_ASYM_MODE_CRYPTODEV, SGA_ASYM_DEV_OPENSSL, 0);
	const struct sga_crypto_backend *b;
	uint8_t e[SGA_EXPONENT_LEN], want[SGA_GROUP_MAX_LEN], got[SGA_GROUP_MAX_LEN];
	struct sga_asym_stats st;

	cr_assert_not_null(a);
	cr_assert_eq(sga_exponent_random(e), 0);

	/* over the software backend: only modexp is set */
	cr_assert_eq(sga_asym_backend_install(a), 0);
	cr_assert_eq(sga_asym_backend_install(a), -EBUSY);
	b = sga_crypto_backend_get();
	cr_assert_str_eq(b->name, "openssl+crypto_openssl");
	cr_assert_not_null(b->modexp);
	cr_assert_null(b->aead_seal);
	cr_assert_null(b->aead_open);
	cr_assert_null(b->rsa_oaep_decrypt);
	cr_assert_eq(sga_modexp(G3072(), NULL, e, sizeof(e), got), 0);
	cr_assert_eq(sga_soft_modexp(G3072(), NULL, e, sizeof(e), want), 0);
	cr_assert_arr_eq(got, want, G3072()->len);
	/* the dispatcher's checks still apply */
	memset(got, 0, sizeof(got));
	got[G2048()->len - 1] = 1;
	cr_assert_eq(sga_modexp(G2048(), got, e, sizeof(e), want), -EINVAL);
	sga_asym_get_stats(a, &st);
	cr_assert_eq(st.requests, 1, "sga_modexp went through the service");
	sga_asym_backend_uninstall();
	cr_assert_eq(sga_crypto_backend_get(), sga_crypto_backend_software());
	cr_assert_eq(sga_modexp(G2048(), NULL, e, sizeof(e), got), 0);
	sga_asym_get_stats(a, &st);
	cr_assert_eq(st.requests, 1, "uninstalled: software again");

	/* over another backend: its members are kept, and it comes back */
	sga_crypto_backend_set(&aead_only);
	cr_assert_eq(sga_asym_backend_install(a), 0);
	b = sga_crypto_backend_get();
	cr_assert_str_eq(b->name, "fake-aead+crypto_openssl");
	cr_assert_eq(b->aead_seal, fake_seal);
	cr_assert_not_null(b->modexp);
	/* stopping the service takes its backend out first */
	sga_asym_stop(a);
	cr_assert_eq(sga_crypto_backend_get(), &aead_only);
	sga_crypto_backend_set(NULL);
}

Test(asym, bad_arguments_are_refused_like_sga_modexp)
{
	const struct sga_group_info *grp = G2048();
	struct sga_asym *a = start(SGA_ASYM_MODE_CRYPTODEV, SGA_ASYM_DEV_OPENSSL, 0);
	uint8_t e[SGA_EXPONENT_LEN] = {1}, base[SGA_GROUP_MAX_LEN], out[SGA_GROUP_MAX_LEN];
	struct sga_asym_stats st;

	cr_assert_not_null(a);
	memset(base, 0, sizeof(base));
	cr_assert_eq(sga_asym_modexp(a, grp, base, e, sizeof(e), out), -EINVAL); /* 0 */
	base[grp->len - 1] = 1;
	cr_assert_eq(sga_asym_modexp(a, grp, base, e, sizeof(e), out), -EINVAL); /* 1 */
	memcpy(base, grp->p, grp->len);
	base[grp->len - 1] -= 1;
	cr_assert_eq(sga_asym_modexp(a, grp, base, e, sizeof(e), out), -EINVAL); /* p-1 */
	cr_assert_eq(sga_asym_modexp(a, grp, NULL, NULL, sizeof(e), out), -EINVAL);
	cr_assert_eq(sga_asym_modexp(a, grp, NULL, e, 0, out), -EINVAL);
	cr_assert_eq(sga_asym_modexp(a, grp, NULL, e, sizeof(e), NULL), -EINVAL);
	cr_assert_eq(sga_asym_modexp(a, NULL, NULL, e, sizeof(e), out), -EINVAL);
	sga_asym_get_stats(a, &st);
	cr_assert_eq(st.requests, 0, "nothing reached the device");
	sga_asym_stop(a);
}

/* A group outside the registry (here: ffdhe2048's prime under another
 * descriptor) has no prepared xform: computed in software, and counted. */
Test(asym, unknown_group_runs_in_software)
{
	struct sga_group_info other = *G2048();
	struct sga_asym *a = start(SGA_ASYM_MODE_CRYPTODEV, SGA_ASYM_DEV_OPENSSL, 0);
	uint8_t e[SGA_EXPONENT_LEN];
	struct sga_asym_stats st;

	cr_assert_not_null(a);
	cr_assert_eq(sga_exponent_random(e), 0);
	check_one(a, &other, NULL, e, sizeof(e));
	sga_asym_get_stats(a, &st);
	cr_assert_eq(st.requests, 0);
	cr_assert_eq(st.soft, 1);
	sga_asym_stop(a);
}

Test(asym, stop_and_start_again)
{
	uint8_t e[SGA_EXPONENT_LEN];

	cr_assert_eq(sga_exponent_random(e), 0);
	for (int i = 0; i < 3; i++) {
		struct sga_asym *a = start(SGA_ASYM_MODE_AUTO, SGA_ASYM_DEV_OPENSSL, 8);

		cr_assert_not_null(a, "%s", report);
		check_one(a, G2048(), NULL, e, sizeof(e));
		sga_asym_stop(a);
	}
	sga_asym_stop(NULL);
}
