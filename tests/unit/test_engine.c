/* SPDX-License-Identifier: BSD-3-Clause */
/* test_engine.c - accelerator loading policy (require / prefer / off) with
 * OpenSSL's own providers standing in for QAT, and the ASYNC job pool with a
 * job that pauses the way an asynchronous engine does. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

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
	cr_assert_str_eq(sga_engine_rsa_name(), "openssl");
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
}

Test(engine, missing_engine_falls_back_under_prefer_and_fails_under_require)
{
	cr_assert_eq(sga_engine_load("nosuchengine", SGA_ENGINE_PREFER, report, sizeof(report)), 0);
	cr_assert(strstr(report, "not available (prefer)"), "%s", report);
	cr_assert_eq(sga_engine_load("nosuchengine", SGA_ENGINE_REQUIRE, report, sizeof(report)),
	             -ENOENT);
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
