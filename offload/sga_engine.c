/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_engine.c - loading the asymmetric-crypto accelerator (OpenSSL 3 provider
 * or legacy ENGINE) under the configured policy, and the ASYNC job pool that
 * keeps many of its operations in flight. See sga_engine.h.
 */
/* The QAT engine is an OpenSSL ENGINE; that API is deprecated in 3.0 but is how
 * qatengine is loaded, so this one file opts back in. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/async.h>
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/provider.h>

#include "sga_engine.h"

static OSSL_PROVIDER *g_prov;
static ENGINE *g_engine;
static char g_name[64] = "openssl";
static char g_propq[96];

int sga_engine_policy_parse(const char *s, enum sga_engine_policy *out)
{
	if (!strcmp(s, "off"))
		*out = SGA_ENGINE_OFF;
	else if (!strcmp(s, "prefer"))
		*out = SGA_ENGINE_PREFER;
	else if (!strcmp(s, "require"))
		*out = SGA_ENGINE_REQUIRE;
	else
		return -EINVAL;
	return 0;
}

static const char *policy_name(enum sga_engine_policy p)
{
	return p == SGA_ENGINE_REQUIRE ? "require" : p == SGA_ENGINE_PREFER ? "prefer" : "off";
}

/* Last OpenSSL error as text, for the report. */
static void ossl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "not found");
	ERR_clear_error();
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

static int load_engine(const char *name, char *why, size_t why_len)
{
	ENGINE *e;

	ENGINE_load_builtin_engines();
	e = ENGINE_by_id(name);
	if (!e) {
		ossl_reason(why, why_len);
		return -1;
	}
	if (!ENGINE_init(e)) {
		ossl_reason(why, why_len);
		ENGINE_free(e);
		return -1;
	}
	if (!ENGINE_set_default(e, ENGINE_METHOD_RSA)) {
		ossl_reason(why, why_len);
		ENGINE_finish(e);
		ENGINE_free(e);
		return -1;
	}
	g_engine = e;
	return 0;
}

int sga_engine_load(const char *name, enum sga_engine_policy policy, char *report,
                    size_t report_len)
{
	char why[256] = "";
	int ok;

	if (policy == SGA_ENGINE_OFF || !name || !*name) {
		snprintf(report, report_len,
		         "RSA-OAEP on OpenSSL software (accelerator policy off)");
		return 0;
	}
	if (strlen(name) >= sizeof(g_name)) {
		snprintf(why, sizeof(why), "name too long");
		ok = 0;
	} else if (ends_with(name, "engine")) {
		ok = load_engine(name, why, sizeof(why)) == 0;
	} else {
		/* Keep the default provider available for what the accelerator lacks. */
		OSSL_PROVIDER_try_load(NULL, "default", 1);
		g_prov = OSSL_PROVIDER_try_load(NULL, name, 1);
		ok = g_prov != NULL;
		if (!ok)
			ossl_reason(why, sizeof(why));
	}
	if (ok) {
		snprintf(g_name, sizeof(g_name), "%s", name);
		if (g_prov)
			snprintf(g_propq, sizeof(g_propq), "?provider=%s", name);
		snprintf(report, report_len, "RSA-OAEP on %s '%s' (%s)",
		         g_engine ? "engine" : "provider", name, policy_name(policy));
		return 0;
	}
	if (policy == SGA_ENGINE_REQUIRE) {
		snprintf(report, report_len, "cannot load '%s' (require): %s", name, why);
		return -ENOENT;
	}
	snprintf(report, report_len,
	         "RSA-OAEP on OpenSSL software: '%s' not available (prefer): %s", name, why);
	return 0;
}

const char *sga_engine_rsa_name(void)
{
	return g_name;
}

const char *sga_engine_propq(void)
{
	return g_propq[0] ? g_propq : NULL;
}

void sga_engine_unload(void)
{
	if (g_engine) {
		ENGINE_unregister_RSA(g_engine);
		ENGINE_finish(g_engine);
		ENGINE_free(g_engine);
		g_engine = NULL;
	}
	if (g_prov) {
		OSSL_PROVIDER_unload(g_prov);
		g_prov = NULL;
	}
	snprintf(g_name, sizeof(g_name), "openssl");
	g_propq[0] = '\0';
}

/* ---- ASYNC job pool ------------------------------------------------------------ */

struct async_slot {
	ASYNC_JOB *job;
	ASYNC_WAIT_CTX *wctx;
	int (*fn)(void *);
	void *arg;
	void (*done)(void *, int);
	int in_use;
};

struct sga_async {
	unsigned max;
	unsigned inflight;
	struct async_slot slots[];
};

/* ASYNC_start_job copies its argument block; we pass the slot pointer. */
static int job_entry(void *p)
{
	struct async_slot *s = *(struct async_slot **)p;
	return s->fn(s->arg);
}

struct sga_async *sga_async_create(unsigned max_inflight)
{
	struct sga_async *a;

	if (max_inflight == 0 || max_inflight > 1024) {
		errno = EINVAL;
		return NULL;
	}
	a = calloc(1, sizeof(*a) + max_inflight * sizeof(a->slots[0]));
	if (!a) {
		errno = ENOMEM;
		return NULL;
	}
	a->max = max_inflight;
	for (unsigned i = 0; i < max_inflight; i++) {
		a->slots[i].wctx = ASYNC_WAIT_CTX_new();
		if (!a->slots[i].wctx) {
			sga_async_destroy(a);
			errno = ENOMEM;
			return NULL;
		}
	}
	return a;
}

void sga_async_destroy(struct sga_async *a)
{
	if (!a)
		return;
	for (unsigned i = 0; i < a->max; i++)
		ASYNC_WAIT_CTX_free(a->slots[i].wctx);
	free(a);
}

/* Run or resume slot s; 0 finished, 1 paused, -EIO error. */
static int step(struct sga_async *a, struct async_slot *s)
{
	int ret = 0;
	struct async_slot *self = s;

	switch (ASYNC_start_job(&s->job, s->wctx, &ret, job_entry, &self, sizeof(self))) {
	case ASYNC_PAUSE:
		return 1;
	case ASYNC_FINISH:
		s->job = NULL;
		s->in_use = 0;
		a->inflight--;
		if (s->done)
			s->done(s->arg, ret);
		return 0;
	default: /* ASYNC_ERR, ASYNC_NO_JOBS */
		return -EIO;
	}
}

int sga_async_submit(struct sga_async *a, int (*fn)(void *arg), void *arg,
                     void (*done)(void *arg, int rc))
{
	struct async_slot *s = NULL;
	int rc;

	for (unsigned i = 0; i < a->max && !s; i++)
		if (!a->slots[i].in_use)
			s = &a->slots[i];
	if (!s)
		return -EBUSY;
	s->fn = fn;
	s->arg = arg;
	s->done = done;
	s->job = NULL;
	s->in_use = 1;
	a->inflight++;
	rc = step(a, s);
	if (rc < 0) {
		s->in_use = 0;
		a->inflight--;
	}
	return rc;
}

unsigned sga_async_poll(struct sga_async *a)
{
	for (unsigned i = 0; i < a->max; i++)
		if (a->slots[i].in_use && a->slots[i].job)
			(void)step(a, &a->slots[i]);
	return a->inflight;
}

unsigned sga_async_inflight(const struct sga_async *a)
{
	return a->inflight;
}
