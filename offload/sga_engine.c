/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_engine.c - loading the asymmetric-crypto accelerator (OpenSSL 3 provider
 * or legacy ENGINE) under the configured policy, and the ASYNC job pool that
 * keeps many of its operations in flight. See sga_engine.h.
 *
 * Job stacks: OpenSSL 3.0 runs every ASYNC job on a 32 KiB malloc'd stack with
 * no guard page and no way to ask for more (ASYNC_set_mem_functions arrived in
 * 3.2). The control plane runs a whole frame handler as a job, and hiredis
 * alone puts a 16 KiB read buffer on the stack (redisBufferRead) under a
 * handler whose own frames take about 20 KiB: that would overflow silently.
 * So sga_async_create_stack gives each slot an mmap'd stack with a guard page
 * and the job's entry function switches to it (makecontext/swapcontext) to run
 * fn. Pausing still works: ASYNC_pause_job saves the registers, stack pointer
 * included, with setjmp (or swapcontext) and the resume restores them, so it
 * does not matter which memory the stack pointer is in.
 */
/* The QAT engine is an OpenSSL ENGINE; that API is deprecated in 3.0 but is how
 * qatengine is loaded, so this one file opts back in. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <openssl/async.h>
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/provider.h>

#include "sga_engine.h"

static OSSL_PROVIDER *g_prov;
static OSSL_PROVIDER *g_default; /* our reference to "default", held until unload */
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

/* The first OpenSSL error as text, for the report: it is the cause (e.g. "could
 * not load the shared library: filename(.../qatprovider.so): ... No such file
 * or directory"); the later ones only say that loading failed. */
static void ossl_reason(char *buf, size_t len)
{
	const char *data = NULL, *r;
	int flags = 0;
	unsigned long e = ERR_peek_error_data(&data, &flags);

	r = e ? ERR_reason_error_string(e) : NULL;
	if (!e)
		snprintf(buf, len, "not found");
	else if ((flags & ERR_TXT_STRING) && data && *data)
		snprintf(buf, len, "%s: %s", r ? r : "error", data);
	else if (r)
		snprintf(buf, len, "%s", r);
	else
		ERR_error_string_n(e, buf, len);
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

	if (policy == SGA_ENGINE_OFF) {
		snprintf(report, report_len,
		         "RSA-OAEP on OpenSSL software (accelerator policy off)");
		return 0;
	}
	if (!name || !*name) {
		/* require with nothing named is a configuration mistake, not a fallback */
		if (policy == SGA_ENGINE_REQUIRE) {
			snprintf(report, report_len, "policy require but no provider/engine named");
			return -ENOENT;
		}
		snprintf(report, report_len, "RSA-OAEP on OpenSSL software (no accelerator named)");
		return 0;
	}
	if (strlen(name) >= sizeof(g_name)) {
		snprintf(why, sizeof(why), "name too long");
		ok = 0;
	} else if (ends_with(name, "engine")) {
		ok = load_engine(name, why, sizeof(why)) == 0;
	} else {
		/* Keep the default provider available for what the accelerator lacks. */
		if (!g_default)
			g_default = OSSL_PROVIDER_try_load(NULL, "default", 1);
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
	if (g_default) {
		OSSL_PROVIDER_unload(g_default);
		g_default = NULL;
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
	/* own stack (sga_async_create_stack), else NULL */
	void *map; /* the mapping: guard page + stack */
	size_t map_len;
	uint8_t *stack; /* lowest usable byte, just above the guard page */
	size_t stack_len;
	ucontext_t run; /* fn's context on the own stack */
	int rc;         /* fn's return value, from the own stack */
};

struct sga_async {
	unsigned max;
	unsigned inflight;
	struct async_slot slots[];
};

/* The slot whose fn the own-stack trampoline is about to run (makecontext
 * passes only int arguments; this thread sets it just before switching). */
static __thread struct async_slot *tls_starting;

static void own_stack_main(void)
{
	struct async_slot *s = tls_starting;

	s->rc = s->fn(s->arg);
	/* returning resumes run.uc_link: job_entry, back on the job's stack */
}

/* ASYNC_start_job copies its argument block; we pass the slot pointer. */
static int job_entry(void *p)
{
	struct async_slot *s = *(struct async_slot **)p;
	ucontext_t back;

	if (!s->stack)
		return s->fn(s->arg);
	if (getcontext(&s->run) != 0)
		return -EIO; /* never on Linux; fn must not run on the small stack */
	s->run.uc_stack.ss_sp = s->stack;
	s->run.uc_stack.ss_size = s->stack_len;
	s->run.uc_link = &back;
	makecontext(&s->run, own_stack_main, 0);
	tls_starting = s;
	if (swapcontext(&back, &s->run) != 0)
		return -EIO;
	return s->rc;
}

struct sga_async *sga_async_create(unsigned max_inflight)
{
	return sga_async_create_stack(max_inflight, 0);
}

static int slot_stack(struct async_slot *s, size_t stack_size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = (stack_size + page - 1) / page * page;

	s->map = mmap(NULL, len + page, PROT_READ | PROT_WRITE,
	              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (s->map == MAP_FAILED) {
		s->map = NULL;
		return -1;
	}
	s->map_len = len + page;
	/* Stacks grow down: the guard page is the lowest one. */
	if (mprotect(s->map, page, PROT_NONE) != 0)
		return -1;
	s->stack = (uint8_t *)s->map + page;
	s->stack_len = len;
	return 0;
}

struct sga_async *sga_async_create_stack(unsigned max_inflight, size_t stack_size)
{
	struct sga_async *a;

	if (max_inflight == 0 || max_inflight > 1024 || stack_size > ((size_t)64 << 20)) {
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
		if (!a->slots[i].wctx || (stack_size && slot_stack(&a->slots[i], stack_size))) {
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
	for (unsigned i = 0; i < a->max; i++) {
		ASYNC_WAIT_CTX_free(a->slots[i].wctx);
		if (a->slots[i].map)
			munmap(a->slots[i].map, a->slots[i].map_len);
	}
	free(a);
}

size_t sga_async_stack_peak(const struct sga_async *a)
{
	size_t peak = 0;

	for (unsigned i = 0; a && i < a->max; i++) {
		const struct async_slot *s = &a->slots[i];
		size_t k = 0;

		if (!s->stack)
			continue;
		/* Fresh anonymous memory is zero: the first non-zero byte from the
		 * bottom is the deepest one ever written. */
		while (k < s->stack_len && s->stack[k] == 0)
			k++;
		if (s->stack_len - k > peak)
			peak = s->stack_len - k;
	}
	return peak;
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

/* ---- waking the driving thread ----------------------------------------------------- */

/* One futex word per thread, bumped by every notify aimed at the thread. It
 * lives as long as the thread, which outlives the jobs that hand it out. */
static __thread _Atomic unsigned tls_wake;

unsigned sga_async_wake_seq(void)
{
	return atomic_load(&tls_wake);
}

void sga_async_wait(unsigned seq, long timeout_ns)
{
	struct timespec ts = {timeout_ns / 1000000000L, timeout_ns % 1000000000L};

	/* Returns at once if a notify came after seq was read (the value moved);
	 * EINTR and ETIMEDOUT need nothing either: the caller polls anyway. */
	(void)syscall(SYS_futex, (unsigned *)&tls_wake, FUTEX_WAIT_PRIVATE, seq, &ts, NULL, 0);
}

void *sga_async_waker(void)
{
	return (void *)&tls_wake;
}

void sga_async_notify(void *waker)
{
	_Atomic unsigned *w = waker;

	if (!w)
		return;
	atomic_fetch_add(w, 1);
	(void)syscall(SYS_futex, (unsigned *)w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}
