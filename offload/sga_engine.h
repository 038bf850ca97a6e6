/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_engine.h - choosing what serves the gateway's asymmetric crypto (RSA-OAEP
 * decryption, the F_G inversion) and running it asynchronously.
 *
 * On a QAT server OpenSSL 3 reaches the accelerator through the QAT provider
 * ("qatprovider") or the older QAT engine ("qatengine"). Which one, and what to
 * do when it cannot be loaded, comes from the configuration:
 *   require - start-up fails with a clear error if it cannot be loaded;
 *   prefer  - warn, fall back to OpenSSL's software implementation, and say so;
 *   off     - do not try.
 * Once loaded, RSA operations ask OpenSSL for that provider's implementation
 * first ("?provider=NAME"), and fall back to the default provider for any
 * algorithm it lacks. OpenSSL's own "default" and "legacy" providers stand in
 * for QAT in tests.
 *
 * Asynchronous jobs: an accelerator is fast only with many operations in
 * flight. sga_async_* runs each unit of work (one control frame's handler, say)
 * as an OpenSSL ASYNC job; when the engine pauses a job while the card works, the
 * worker starts the next one and resumes the paused ones as they become ready.
 * With a synchronous provider a job simply runs to completion.
 */
#ifndef SGA_ENGINE_H
#define SGA_ENGINE_H

#include <stddef.h>

#include "sga_crypto.h"

enum sga_engine_policy {
	SGA_ENGINE_OFF = 0,
	SGA_ENGINE_PREFER = 1,
	SGA_ENGINE_REQUIRE = 2,
};

/** Parse "off" / "prefer" / "require"; -EINVAL otherwise. */
int sga_engine_policy_parse(const char *s, enum sga_engine_policy *out);

/**
 * Load the provider (or, for a name ending in "engine", the ENGINE) called name
 * under policy. Writes one human-readable sentence into report saying what now
 * serves RSA (e.g. "RSA-OAEP on provider 'qatprovider'" or "RSA-OAEP on OpenSSL
 * software: provider 'qatprovider' not available (prefer)"). Returns 0, or
 * -ENOENT when policy is require and loading failed. Call once at start-up,
 * before worker threads run.
 */
int sga_engine_load(const char *name, enum sga_engine_policy policy, char *report,
                    size_t report_len);

/** What serves RSA now: "openssl" or the loaded provider/engine name. */
const char *sga_engine_rsa_name(void);

/** The OpenSSL property query RSA operations use (NULL for the default). */
const char *sga_engine_propq(void);

/** Unload what sga_engine_load loaded (tests; end of process). */
void sga_engine_unload(void);

/* ---- asynchronous jobs ------------------------------------------------------- */

struct sga_async; /* opaque; one per thread */

/** A pool for up to max_inflight concurrent jobs of the calling thread. NULL + errno. */
struct sga_async *sga_async_create(unsigned max_inflight);
void sga_async_destroy(struct sga_async *a);

/**
 * Start fn(arg) as a job. Returns 0 when it ran to completion, 1 when it paused
 * and is in flight, -EBUSY when max_inflight jobs are already in flight (call
 * sga_async_poll first), -EIO if OpenSSL could not start a job (then the caller
 * runs fn directly). done(arg, fn's return value) is called when the job
 * finishes, from sga_async_submit or sga_async_poll, on this thread.
 */
int sga_async_submit(struct sga_async *a, int (*fn)(void *arg), void *arg,
                     void (*done)(void *arg, int rc));

/** Resume paused jobs once; returns the number still in flight. */
unsigned sga_async_poll(struct sga_async *a);

/** Jobs in flight. */
unsigned sga_async_inflight(const struct sga_async *a);

#endif /* SGA_ENGINE_H */
