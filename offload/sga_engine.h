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
 * -ENOENT when policy is require and loading failed. An empty (or NULL) name
 * loads nothing: "RSA-OAEP on OpenSSL software (no accelerator named)", or
 * -ENOENT under require. Call once at start-up, before worker threads run.
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

/** A pool for up to max_inflight concurrent jobs of the calling thread. NULL + errno.
 *  fn runs on the job's own stack, which OpenSSL 3.0 fixes at 32 KiB (no setter
 *  before 3.2): fine for crypto calls, too small for code that uses hiredis. */
struct sga_async *sga_async_create(unsigned max_inflight);

/**
 * The same, but each job's fn runs on a stack of stack_size bytes of its own
 * (rounded up to pages; mmap'd, with a PROT_NONE guard page below it so an
 * overflow faults instead of corrupting memory). The OpenSSL job still
 * exists, so ASYNC_pause_job() (ours, or an engine's) pauses it as usual:
 * OpenSSL saves and restores the stack pointer wherever it points. Use this to
 * run a whole control-frame handler (Redis I/O included) as a job.
 * stack_size 0 is sga_async_create.
 */
struct sga_async *sga_async_create_stack(unsigned max_inflight, size_t stack_size);
void sga_async_destroy(struct sga_async *a);

/** Deepest stack use seen so far by any job of a (bytes), measured from the
 *  untouched (still zero) part of the stacks; 0 without own stacks. */
size_t sga_async_stack_peak(const struct sga_async *a);

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

/*
 * Waking the thread that drives jobs. Code that completes work a paused job
 * waits for (the modexp service) notifies that job's thread, so the thread can
 * sleep until then instead of polling on a timer:
 *   driver:    seq = sga_async_wake_seq(); ...poll, start work...;
 *              if idle: sga_async_wait(seq, timeout_ns);
 *   completer: w = sga_async_waker() taken on the job's thread before the work
 *              is handed over; later, from any thread, sga_async_notify(w).
 * A notify after sga_async_wake_seq() makes sga_async_wait return at once.
 * Paused jobs that nobody notifies (an engine's) are still resumed on timeout.
 */
unsigned sga_async_wake_seq(void);
void sga_async_wait(unsigned seq, long timeout_ns);
void *sga_async_waker(void);
void sga_async_notify(void *waker);

/** Jobs in flight. */
unsigned sga_async_inflight(const struct sga_async *a);

#endif /* SGA_ENGINE_H */
