/* SPDX-License-Identifier: BSD-3-Clause */
/* test_engine.c - accelerator loading policy (require / prefer / off) with
 * OpenSSL's own providers standing in for QAT, and the ASYNC job pool with a
 * job that pauses the way an asynchronous engine does, also on a job stack of
 * its own that is larger than OpenSSL's 32 KiB, and the wake-up that lets the
 * thread driving the jobs sleep until one of them can go on. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/async.h>

#include "sga_crypto.h"
#include "sga_engine.h"

static char report[512];

Test(engine, policy_parse)
{
	enum sga_engine_policy p;

	cr_assert_eq(sga_engine_policy_parse("require", &p), 0);
	cr_assert_eq(p, SGA_ENGINE_REQUIRE);
	cr_assert_eq(sga_engine_policy_parse("prefer", &p), 0);
	cr_assert_eq(p, SGA_ENGINE_PREFER);
	cr_assert_eq(sga_engine_policy_parse("off", &p), 0);
	cr_assert_eq(p, SGA_ENGINE_OFF);
	cr_assert_eq(sga_engine_policy_parse("maybe", &p), -EINVAL);
}

/* RSA still round-trips, whatever serves it. */
static void rsa_roundtrip(void)
{
	static struct sga_rsa_key *k;
	uint8_t pt[32] = {1, 2, 3}, ct[512], out[512];
	size_t ct_len, out_len;

	if (!k)
		cr_assert_eq(sga_rsa_generate(2048, &k), 0);
	cr_assert_eq(sga_rsa_oaep_encrypt(k, pt, sizeof(pt), ct, sizeof(ct), &ct_len), 0);
	cr_assert_eq(sga_rsa_oaep_decrypt(k, ct, ct_len, out, sizeof(out), &out_len), 0);
	cr_assert_eq(out_len, sizeof(pt));
	cr_assert_eq(memcmp(out, pt, sizeof(pt)), 0);
}

Test(engine, existing_provider_loads_under_require)
{
	cr_assert_eq(sga_engine_load("legacy", SGA_ENGINE_REQUIRE, report, sizeof(report)), 0, "%s",
	             report);
	cr_assert_str_eq(sga_engine_rsa_name(), "legacy");
	cr_assert_str_eq(sga_engine_propq(), "?provider=legacy");
	cr_assert(strstr(report, "provider 'legacy'"), "%s", report);
	/* legacy has no RSA: the '?' preference falls back to the default provider. */
	rsa_roundtrip();
	sga_engine_unload();
	cr_assert_str_eq(sga_engine_rsa_name(), "openssl");
	cr_assert_null(sga_engine_propq());
}

Test(engine, default_provider_loads)
{
	cr_assert_eq(sga_engine_load("default", SGA_ENGINE_PREFER, report, sizeof(report)), 0, "%s",
	             report);
	cr_assert_str_eq(sga_engine_rsa_name(), "default");
	rsa_roundtrip();
	sga_engine_unload();
}

Test(engine, missing_provider_fails_under_require)
{
	cr_assert_eq(
	    sga_engine_load("qatprovider-missing", SGA_ENGINE_REQUIRE, report, sizeof(report)),
	    -ENOENT);
	cr_assert(strstr(report, "cannot load 'qatprovider-missing' (require)"), "%s", report);
	cr_assert(strstr(report, "qatprovider-missing.so"), "the cause, not only the failure: %s",
	          report);
	cr_assert_str_eq(sga_engine_rsa_name(), "openssl");
	sga_engine_unload();
}

Test(engine, missing_provider_falls_back_under_prefer)
{
	cr_assert_eq(
	    sga_engine_load("qatprovider-missing", SGA_ENGINE_PREFER, report, sizeof(report)), 0);
	cr_assert(strstr(report, "OpenSSL software: 'qatprovider-missing' not available (prefer)"),
	          "%s", report);
	cr_assert_str_eq(sga_engine_rsa_name(), "openssl");
	cr_assert_null(sga_engine_propq());
	rsa_roundtrip();
	sga_engine_unload();
}

Test(engine, missing_engine_falls_back_under_prefer_and_fails_under_require)
{
	cr_assert_eq(sga_engine_load("nosuchengine", SGA_ENGINE_PREFER, report, sizeof(report)), 0);
	cr_assert(strstr(report, "not available (prefer)"), "%s", report);
	cr_assert_eq(sga_engine_load("nosuchengine", SGA_ENGINE_REQUIRE, report, sizeof(report)),
	             -ENOENT);
	sga_engine_unload();
}

/* The gateway's default: no rsa_engine, policy prefer. */
Test(engine, nothing_named)
{
	cr_assert_eq(sga_engine_load("", SGA_ENGINE_PREFER, report, sizeof(report)), 0);
	cr_assert(strstr(report, "OpenSSL software (no accelerator named)"), "%s", report);
	cr_assert_str_eq(sga_engine_rsa_name(), "openssl");
	cr_assert_null(sga_engine_propq());
	cr_assert_eq(sga_engine_load(NULL, SGA_ENGINE_PREFER, report, sizeof(report)), 0);
	cr_assert_eq(sga_engine_load("", SGA_ENGINE_REQUIRE, report, sizeof(report)), -ENOENT);
	cr_assert(strstr(report, "require but no provider/engine named"), "%s", report);
	rsa_roundtrip();
}

Test(engine, off_loads_nothing)
{
	cr_assert_eq(sga_engine_load("qatprovider", SGA_ENGINE_OFF, report, sizeof(report)), 0);
	cr_assert(strstr(report, "policy off"), "%s", report);
	cr_assert_str_eq(sga_engine_rsa_name(), "openssl");
}

/* A job that pauses `pauses` times before finishing, as an engine does while
 * the accelerator works. */
struct pausing {
	int pauses;
	int resumed;
	int finished;
	int rc_seen;
};

static int pausing_job(void *arg)
{
	struct pausing *p = arg;

	for (int i = 0; i < p->pauses; i++) {
		ASYNC_pause_job();
		p->resumed++;
	}
	return 42;
}

static void pausing_done(void *arg, int rc)
{
	struct pausing *p = arg;

	p->finished = 1;
	p->rc_seen = rc;
}

Test(engine, async_jobs_overlap_and_finish)
{
	struct sga_async *a = sga_async_create(4);
	struct pausing p[5] = {
	    {.pauses = 2}, {.pauses = 1}, {.pauses = 0}, {.pauses = 3}, {.pauses = 1}};

	cr_assert_not_null(a);
	cr_assert_eq(sga_async_submit(a, pausing_job, &p[0], pausing_done), 1);
	cr_assert_eq(sga_async_submit(a, pausing_job, &p[1], pausing_done), 1);
	cr_assert_eq(sga_async_submit(a, pausing_job, &p[2], pausing_done),
	             0); /* ran to completion */
	cr_assert(p[2].finished);
	cr_assert_eq(sga_async_submit(a, pausing_job, &p[3], pausing_done), 1);
	cr_assert_eq(sga_async_inflight(a), 3);
	cr_assert_eq(sga_async_submit(a, pausing_job, &p[4], pausing_done), 1);
	cr_assert_eq(sga_async_submit(a, pausing_job, &p[4], pausing_done), -EBUSY);
	for (int round = 0; round < 10 && sga_async_poll(a); round++)
		;
	cr_assert_eq(sga_async_inflight(a), 0);
	for (int i = 0; i < 5; i++) {
		cr_assert(p[i].finished, "job %d", i);
		cr_assert_eq(p[i].rc_seen, 42);
		cr_assert_eq(p[i].resumed, p[i].pauses);
	}
	sga_async_destroy(a);
}

/* A job that needs more stack than OpenSSL's own 32 KiB job stack (as the
 * control-plane handler does: hiredis alone takes 16 KiB), pausing in the
 * middle with the stack pointer on the slot's own stack. */
struct deep {
	int pauses;
	int finished;
	int rc_seen;
	unsigned sum;
};

static int deep_job(void *arg)
{
	struct deep *d = arg;
	volatile uint8_t big[96 * 1024];
	unsigned sum = 0;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	for (int i = 0; i < d->pauses; i++)
		ASYNC_pause_job();
	for (size_t i = 0; i < sizeof(big); i++)
		sum += big[i]; /* the buffer survived the pauses */
	d->sum = sum;
	return 7;
}

static void deep_done(void *arg, int rc)
{
	struct deep *d = arg;

	d->finished = 1;
	d->rc_seen = rc;
}

Test(engine, own_stack_jobs_run_deep_code_and_pause)
{
	struct sga_async *a = sga_async_create_stack(3, 256 * 1024);
	struct deep d[3] = {{.pauses = 2}, {.pauses = 0}, {.pauses = 1}};
	unsigned want = 0;

	cr_assert_not_null(a);
	for (size_t i = 0; i < 96 * 1024; i++)
		want += (uint8_t)i;
	cr_assert_eq(sga_async_stack_peak(a), 0);
	cr_assert_eq(sga_async_submit(a, deep_job, &d[0], deep_done), 1);
	cr_assert_eq(sga_async_submit(a, deep_job, &d[1], deep_done), 0);
	cr_assert_eq(sga_async_submit(a, deep_job, &d[2], deep_done), 1);
	cr_assert_eq(sga_async_inflight(a), 2);
	for (int round = 0; round < 10 && sga_async_poll(a); round++)
		;
	cr_assert_eq(sga_async_inflight(a), 0);
	for (int i = 0; i < 3; i++) {
		cr_assert(d[i].finished, "job %d", i);
		cr_assert_eq(d[i].rc_seen, 7);
		cr_assert_eq(d[i].sum, want, "job %d's stack survived its pauses", i);
	}
	cr_assert_geq(sga_async_stack_peak(a), 96 * 1024, "peak %zu", sga_async_stack_peak(a));
	cr_assert_lt(sga_async_stack_peak(a), 256 * 1024);
	/* slots are reused */
	d[0].finished = 0;
	cr_assert_eq(sga_async_submit(a, deep_job, &d[0], deep_done), 1);
	while (sga_async_poll(a))
		;
	cr_assert(d[0].finished);
	sga_async_destroy(a);
	cr_assert_null(sga_async_create_stack(0, 4096));
}

/* The driving thread sleeps until something it waits for is done. */
static void *notify_later(void *waker)
{
	usleep(50 * 1000);
	sga_async_notify(waker);
	return NULL;
}

Test(engine, notify_wakes_the_driving_thread)
{
	unsigned seq = sga_async_wake_seq();
	pthread_t th;
	time_t t0;

	/* a notify that came before the wait: no sleep at all */
	sga_async_notify(sga_async_waker());
	t0 = time(NULL);
	sga_async_wait(seq, 20L * 1000000000L);
	cr_assert_lt(time(NULL) - t0, 5);
	/* one from another thread while this one sleeps */
	seq = sga_async_wake_seq();
	cr_assert_eq(pthread_create(&th, NULL, notify_later, sga_async_waker()), 0);
	sga_async_wait(seq, 20L * 1000000000L);
	cr_assert_lt(time(NULL) - t0, 5, "woken by the notify, not the 20 s timeout");
	pthread_join(th, NULL);
	cr_assert_neq(sga_async_wake_seq(), seq);
	sga_async_notify(NULL); /* no-op */
}
