/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_asym.c - the modexp service over rte_cryptodev asymmetric MODEX (see
 * sga_asym.h): device choice, one queue pair, the request ring, the service
 * thread that batches requests from every worker into device bursts, and the
 * sga_crypto backend that routes sga_modexp here.
 *
 * DPDK 22.11 puts the MODEX *exponent* in the xform (struct
 * rte_crypto_modex_xform { modulus, exponent }), i.e. in the session, and only
 * the base and the result in the op (struct rte_crypto_mod_op_param). Every
 * exponent SGA uses is a fresh secret (r_i, r_j decrypted from F_G, R_s drawn
 * per session), so there is nothing to reuse: each request creates its own
 * session from a session pool and frees it when the result is back. The
 * caller's thread does that (session create/free run in parallel on the
 * workers, not on the service thread); the cost is measured by
 * sga-bench-asym. Sessionless ops (RTE_CRYPTODEV_FF_ASYM_SESSIONLESS) would
 * avoid it on QAT, but crypto_openssl does not offer them and this build can
 * only test what it can run, so there is one code path.
 *
 * Buffers: the op's base points at the caller's big-endian element (or at
 * grp->g, one byte, for the generator); the result goes to a buffer in the
 * request on the caller's stack; the exponent is read from the caller's buffer
 * when the session is created and never copied by us. Both PMDs used here read
 * and write these through virtual addresses (crypto_openssl with BN_bin2bn /
 * BN_bn2bin; crypto_qat memcpy's them into its own IOVA-mapped cookies), so no
 * rte_malloc'd staging is needed. crypto_openssl returns the minimal big-endian
 * encoding and its length; crypto_qat writes the modulus length and reports its
 * internal operand size: both are turned into exactly grp->len bytes.
 *
 * Constant time. The exponent is secret. What each PMD guarantees in 22.11:
 *  - crypto_openssl loads the exponent with BN_bin2bn (no BN_FLG_CONSTTIME) and
 *    calls BN_mod_exp; with an odd modulus and a full-size base that is
 *    BN_mod_exp_mont, a sliding-window exponentiation whose sequence of
 *    squarings and multiplications, and whose table accesses, depend on the
 *    exponent bits. It is NOT constant-time. The exposure: a process sharing
 *    the gateway's CPU caches could learn bits of r (hence the one-session MAC
 *    key K = N^r) or of R_s. Each exponent is used in one (r) or two (R_s)
 *    operations, so an attacker gets one or two traces per secret, and the
 *    session key K_isj does not depend on r or on R_s alone; but this is
 *    weaker than the software path, which uses BN_mod_exp_mont_consttime.
 *    Operators who share hosts should set [crypto] modexp = cpu (or use QAT).
 *  - crypto_qat hands the operands to the QAT firmware; DPDK documents no
 *    timing property. The computation does not run on the host's cores or
 *    caches, which removes the cache channel above; we claim nothing more.
 *  - PMD copies of the exponent: crypto_openssl keeps it in a BN_CTX that is
 *    BN_clear_free'd when the session is freed; crypto_qat copies it into
 *    rte_malloc'd memory that session_clear_modexp zeroes and frees. Freeing
 *    the session at the end of each request therefore wipes it.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <openssl/async.h>

#include <rte_common.h>
#include <rte_crypto.h>
#include <rte_crypto_asym.h>
#include <rte_cryptodev.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "sga_asym.h"
#include "sga_crypto_priv.h"
#include "sga_engine.h"

#define ASYM_BURST_DEFAULT 32u
#define ASYM_BURST_MAX     128u
#define ASYM_DEPTH_DEFAULT 1024u
#define ASYM_DEPTH_MAX     65536u
#define ASYM_QP            0
#define ASYM_QP_DESC       512u       /* device descriptors; a power of two for crypto_qat */
#define ASYM_YIELDS        16u        /* idle polls of a busy device that only yield the CPU */
#define ASYM_POLL_NS       10000L     /* then sleep this long between dequeue polls */
#define ASYM_DOORBELL_NS   100000000L /* an idle service re-checks its stop flag this often */
#define ASYM_OPENSSL_VDEV  "crypto_openssl_sga_mx"

/* The groups the service prepares an xform for (the registry's). */
static const uint8_t group_ids[] = {SGA_GROUP_FFDHE2048, SGA_GROUP_FFDHE3072};
#define N_GROUPS (sizeof(group_ids) / sizeof(group_ids[0]))

/*
 * A request's futex word: PENDING until the service has the result, SLEEPING
 * once a blocked caller announced it sleeps in FUTEX_WAIT, DONE afterwards.
 * The service's last touch of a request is the exchange to DONE: the caller
 * may return (and its stack frame go) right after it.
 */
enum { REQ_PENDING = 0, REQ_SLEEPING = 1, REQ_DONE = 2 };

struct asym_req {
	_Atomic uint32_t state;
	uint8_t status;      /* the op's rte_crypto_op_status, copied by the service */
	uint32_t result_len; /* the op's result.length, copied by the service */
	void *waker;         /* sga_async_waker() of the job's thread; NULL outside a job */
	struct rte_crypto_op *op;
	uint8_t result[SGA_GROUP_MAX_LEN];
};

struct sga_asym {
	uint8_t dev_id;
	char dev_name[RTE_CRYPTODEV_NAME_MAX_LEN];
	char driver[RTE_CRYPTODEV_NAME_MAX_LEN];
	int created; /* we created the vdev: remove it on stop */
	int configured, started;
	unsigned burst, depth;
	struct rte_ring *ring;
	struct rte_mempool *op_pool, *sess_pool;
	struct {
		const struct sga_group_info *grp;
		int ok; /* modulus length within the device's MODEX capability */
		struct rte_crypto_asym_xform xf; /* exponent filled in per request */
	} g[N_GROUPS];

	pthread_t th;
	int th_started;
	atomic_int stop;
	_Atomic uint32_t doorbell; /* futex word the idle service sleeps on */
	atomic_int svc_sleeping;

	_Atomic uint64_t requests, completed, soft, dev_errors;
	_Atomic uint64_t bursts, multi_bursts, max_burst, async_waits, session_ns;
};

static atomic_uint instance; /* unique ring/pool/vdev names per start */

/* ---- config words -------------------------------------------------------------- */

int sga_asym_mode_parse(const char *s, enum sga_asym_mode *out)
{
	if (!s || !out)
		return -EINVAL;
	if (!strcmp(s, "auto"))
		*out = SGA_ASYM_MODE_AUTO;
	else if (!strcmp(s, "cryptodev"))
		*out = SGA_ASYM_MODE_CRYPTODEV;
	else if (!strcmp(s, "cpu"))
		*out = SGA_ASYM_MODE_CPU;
	else
		return -EINVAL;
	return 0;
}

int sga_asym_device_parse(const char *s, enum sga_asym_device *out)
{
	if (!s || !out)
		return -EINVAL;
	if (!strcmp(s, "auto"))
		*out = SGA_ASYM_DEV_AUTO;
	else if (!strcmp(s, "crypto_qat"))
		*out = SGA_ASYM_DEV_QAT;
	else if (!strcmp(s, "crypto_openssl"))
		*out = SGA_ASYM_DEV_OPENSSL;
	else
		return -EINVAL;
	return 0;
}

/* ---- futex helpers ---------------------------------------------------------------- */

static void futex_wait(_Atomic uint32_t *w, uint32_t val, long timeout_ns)
{
	struct timespec ts = {timeout_ns / 1000000000L, timeout_ns % 1000000000L};

	/* EINTR, EAGAIN (value changed) and ETIMEDOUT all mean "look again". */
	(void)syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, val,
	              timeout_ns > 0 ? &ts : NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *w)
{
	(void)syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(long ns)
{
	struct timespec ts = {0, ns};

	nanosleep(&ts, NULL);
}

/* ---- the service thread ---------------------------------------------------------- */

static struct asym_req **op_req(struct rte_crypto_op *op)
{
	return __rte_crypto_op_get_priv_data(op, sizeof(struct asym_req *));
}

static void complete(struct rte_crypto_op *op)
{
	struct asym_req *r = *op_req(op);
	void *waker = r->waker; /* r may be gone right after the exchange below */

	r->status = op->status;
	r->result_len = (uint32_t)op->asym->modex.result.length;
	if (atomic_exchange(&r->state, REQ_DONE) == REQ_SLEEPING)
		futex_wake(&r->state); /* on a stale address this wakes nobody: harmless */
	/* A paused job: wake its thread now rather than at its next timed poll. */
	sga_async_notify(waker);
}

static void stat_max(_Atomic uint64_t *m, uint64_t v)
{
	uint64_t cur = atomic_load_explicit(m, memory_order_relaxed);

	while (v > cur && !atomic_compare_exchange_weak_explicit(m, &cur, v, memory_order_relaxed,
	                                                         memory_order_relaxed))
		;
}

/*
 * Nothing queued and nothing on the device: sleep on the doorbell until a
 * caller rings it. Dekker-style handshake with ring_doorbell(): we announce
 * sleeping, then look at the ring; a caller enqueues, then looks at the
 * announcement. With both orders fenced, at least one of us sees the other.
 */
static void doorbell_sleep(struct sga_asym *a)
{
	uint32_t seq = atomic_load(&a->doorbell);

	atomic_store(&a->svc_sleeping, 1);
	atomic_thread_fence(memory_order_seq_cst);
	if (rte_ring_count(a->ring) == 0 && !atomic_load(&a->stop))
		futex_wait(&a->doorbell, seq, ASYM_DOORBELL_NS);
	atomic_store(&a->svc_sleeping, 0);
}

static void ring_doorbell(struct sga_asym *a)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load(&a->svc_sleeping)) {
		atomic_fetch_add(&a->doorbell, 1);
		futex_wake(&a->doorbell);
	}
}

/*
 * One thread owns the queue pair (a cryptodev queue pair must not be used by
 * two threads at once) and moves requests ring -> device -> caller:
 *   - take up to a burst of requests from the ring (all workers' together),
 *   - enqueue them as one device burst (what the device does not take now
 *     stays in `pend` for the next round, in order),
 *   - dequeue whatever the device finished and complete those requests.
 * It never spins on one op: a busy device is polled with sched_yield() a few
 * times, then with 10 us sleeps; an idle service sleeps on the doorbell.
 * crypto_openssl computes inside enqueue_burst (on this thread), so while it
 * works, new requests pile up in the ring and the next burst is larger; QAT
 * computes on the card while this thread keeps feeding it.
 */
static void *service_main(void *arg)
{
	struct sga_asym *a = arg;
	struct rte_crypto_op *pend[ASYM_BURST_MAX], *done[ASYM_BURST_MAX];
	void *reqs[ASYM_BURST_MAX];
	unsigned npend = 0, inflight = 0, idle = 0;

	for (;;) {
		int progress = 0;

		if (npend < a->burst) {
			unsigned n = rte_ring_dequeue_burst(a->ring, reqs, a->burst - npend, NULL);

			for (unsigned i = 0; i < n; i++)
				pend[npend++] = ((struct asym_req *)reqs[i])->op;
		}
		if (npend) {
			uint16_t k =
			    rte_cryptodev_enqueue_burst(a->dev_id, ASYM_QP, pend, (uint16_t)npend);

			if (k) {
				atomic_fetch_add_explicit(&a->bursts, 1, memory_order_relaxed);
				if (k > 1)
					atomic_fetch_add_explicit(&a->multi_bursts, 1,
					                          memory_order_relaxed);
				stat_max(&a->max_burst, k);
				memmove(pend, pend + k, (npend - k) * sizeof(pend[0]));
				npend -= k;
				inflight += k;
				progress = 1;
			}
		}
		if (inflight) {
			uint16_t m = rte_cryptodev_dequeue_burst(a->dev_id, ASYM_QP, done,
			                                         (uint16_t)a->burst);

			for (uint16_t i = 0; i < m; i++)
				complete(done[i]);
			inflight -= m;
			progress |= m > 0;
		}
		if (progress) {
			idle = 0;
			continue;
		}
		if (npend || inflight) {
			if (++idle <= ASYM_YIELDS)
				sched_yield();
			else
				sleep_ns(ASYM_POLL_NS);
			continue;
		}
		if (atomic_load(&a->stop) && rte_ring_count(a->ring) == 0)
			break;
		doorbell_sleep(a);
	}
	return NULL;
}

/* ---- callers ------------------------------------------------------------------------ */

/*
 * Wait for the service to finish r. Inside an ASYNC job (a control-plane
 * worker runs each frame's handler as one) the job pauses and the worker runs
 * other frames meanwhile, resuming this one on its next poll; SGA starts the
 * jobs and never blocks pausing, so ASYNC_pause_job really switches; the
 * service wakes the worker through sga_async_notify when the result is in.
 * Outside a job the thread sleeps on the request's futex word.
 */
static void req_wait(struct sga_asym *a, struct asym_req *r)
{
	uint32_t expect = REQ_PENDING;

	if (ASYNC_get_current_job() != NULL) {
		atomic_fetch_add_explicit(&a->async_waits, 1, memory_order_relaxed);
		while (atomic_load_explicit(&r->state, memory_order_acquire) != REQ_DONE)
			ASYNC_pause_job();
		return;
	}
	if (!atomic_compare_exchange_strong(&r->state, &expect, REQ_SLEEPING) && expect == REQ_DONE)
		return;
	while (atomic_load_explicit(&r->state, memory_order_acquire) != REQ_DONE)
		futex_wait(&r->state, REQ_SLEEPING, 0);
}

/* grp->len bytes into out from what the PMD returned (see the file comment). */
static int take_result(const struct sga_group_info *grp, const struct asym_req *r, uint8_t *out)
{
	size_t len = r->result_len;

	if (len == 0 || len > sizeof(r->result))
		return -EIO;
	if (len >= grp->len) {
		memcpy(out, r->result, grp->len);
	} else {
		memset(out, 0, grp->len - len);
		memcpy(out + grp->len - len, r->result, len);
	}
	return 0;
}

static int group_index(const struct sga_asym *a, const struct sga_group_info *grp)
{
	for (unsigned i = 0; i < N_GROUPS; i++)
		if (a->g[i].grp == grp && a->g[i].ok)
			return (int)i;
	return -1;
}

/* Arguments already checked. Any device-side failure: software, counted. */
static int dev_modexp(struct sga_asym *a, const struct sga_group_info *grp, const uint8_t *base,
                      const uint8_t *exp, size_t exp_len, uint8_t *out)
{
	struct rte_crypto_asym_xform xf;
	struct rte_crypto_op *op = NULL;
	struct asym_req req;
	void *sess = NULL;
	int gi = a ? group_index(a, grp) : -1, rc = -EIO;
	uint64_t t0;

	if (gi < 0 || atomic_load(&a->stop))
		goto soft;
	xf = a->g[gi].xf;
	/* Read by the PMD while it builds the session (it copies it), never written. */
	xf.modex.exponent.data = (uint8_t *)(uintptr_t)exp;
	xf.modex.exponent.length = exp_len;
	t0 = mono_ns();
	if (rte_cryptodev_asym_session_create(a->dev_id, &xf, a->sess_pool, &sess) != 0) {
		sess = NULL;
		goto soft;
	}
	atomic_fetch_add_explicit(&a->session_ns, mono_ns() - t0, memory_order_relaxed);
	op = rte_crypto_op_alloc(a->op_pool, RTE_CRYPTO_OP_TYPE_ASYMMETRIC);
	if (!op || rte_crypto_op_attach_asym_session(op, sess) || !op_req(op))
		goto soft;
	op->asym->modex.base.data = (uint8_t *)(uintptr_t)(base ? base : &grp->g);
	op->asym->modex.base.length = base ? grp->len : 1;
	op->asym->modex.result.data = req.result;
	op->asym->modex.result.length = grp->len;
	*op_req(op) = &req;
	req.op = op;
	req.status = RTE_CRYPTO_OP_STATUS_NOT_PROCESSED;
	req.result_len = 0;
	req.waker = ASYNC_get_current_job() ? sga_async_waker() : NULL;
	atomic_init(&req.state, REQ_PENDING);
	if (rte_ring_enqueue(a->ring, &req) != 0)
		goto soft; /* full: more than `depth` requests outstanding */
	atomic_fetch_add_explicit(&a->requests, 1, memory_order_relaxed);
	ring_doorbell(a);
	req_wait(a, &req);
	if (req.status == RTE_CRYPTO_OP_STATUS_SUCCESS && take_result(grp, &req, out) == 0) {
		atomic_fetch_add_explicit(&a->completed, 1, memory_order_relaxed);
		rc = 0;
		goto out;
	}
	atomic_fetch_add_explicit(&a->dev_errors, 1, memory_order_relaxed);
soft:
	if (a)
		atomic_fetch_add_explicit(&a->soft, 1, memory_order_relaxed);
	rc = sga_soft_modexp(grp, base, exp, exp_len, out);
out:
	rte_crypto_op_free(op);
	if (sess) {
		t0 = mono_ns();
		(void)rte_cryptodev_asym_session_free(a->dev_id, sess); /* wipes the exponent */
		atomic_fetch_add_explicit(&a->session_ns, mono_ns() - t0, memory_order_relaxed);
	}
	sga_memzero(req.result, sizeof(req.result)); /* K = N^r is a secret */
	return rc;
}

int sga_asym_modexp(struct sga_asym *a, const struct sga_group_info *grp, const uint8_t *base,
                    const uint8_t *exp, size_t exp_len, uint8_t *out)
{
	if (!a)
		return sga_soft_modexp(grp, base, exp, exp_len, out);
	/* Same checks, same errors as sga_modexp's dispatcher. */
	if (grp == NULL || grp->p == NULL || grp->len == 0 || grp->len > SGA_GROUP_MAX_LEN ||
	    exp == NULL || exp_len == 0 || exp_len > SGA_GROUP_MAX_LEN || out == NULL)
		return -EINVAL;
	if (base != NULL && !sga_group_element_ok(grp, base))
		return -EINVAL;
	return dev_modexp(a, grp, base, exp, exp_len, out);
}

/* ---- backend --------------------------------------------------------------------------- */

static struct sga_asym *g_active;
static const struct sga_crypto_backend *g_prev;
static struct sga_crypto_backend g_backend;
static char g_backend_name[2 * RTE_CRYPTODEV_NAME_MAX_LEN + 16];

/* sga_modexp has validated the arguments. */
static int backend_modexp(const struct sga_group_info *grp, const uint8_t *base, const uint8_t *exp,
                          size_t exp_len, uint8_t *out)
{
	return dev_modexp(g_active, grp, base, exp, exp_len, out);
}

int sga_asym_backend_install(struct sga_asym *a)
{
	const struct sga_crypto_backend *cur = sga_crypto_backend_get();

	if (!a)
		return -EINVAL;
	if (g_active)
		return -EBUSY;
	/* Over the software backend the other members stay NULL (= software,
	 * without an extra indirection); over another backend they are kept. */
	if (cur == sga_crypto_backend_software()) {
		memset(&g_backend, 0, sizeof(g_backend));
		snprintf(g_backend_name, sizeof(g_backend_name), "openssl+%s", a->driver);
	} else {
		g_backend = *cur;
		snprintf(g_backend_name, sizeof(g_backend_name), "%s+%s", cur->name, a->driver);
	}
	g_backend.name = g_backend_name;
	g_backend.modexp = backend_modexp;
	g_prev = cur;
	g_active = a;
	sga_crypto_backend_set(&g_backend);
	return 0;
}

void sga_asym_backend_uninstall(void)
{
	if (!g_active)
		return;
	sga_crypto_backend_set(g_prev);
	g_active = NULL;
	g_prev = NULL;
}

/* ---- start / stop ------------------------------------------------------------------------ */

static int is_qat(const char *driver)
{
	return driver && !strncmp(driver, "crypto_qat", strlen("crypto_qat"));
}

/* Which registry groups dev_id's MODEX capability covers; 0 if none / no MODEX. */
static unsigned device_groups(uint8_t dev_id, int ok[N_GROUPS])
{
	const struct rte_cryptodev_asymmetric_xform_capability *capa;
	struct rte_cryptodev_asym_capability_idx idx = {.type = RTE_CRYPTO_ASYM_XFORM_MODEX};
	struct rte_cryptodev_info info;
	unsigned n = 0;

	memset(ok, 0, N_GROUPS * sizeof(ok[0]));
	rte_cryptodev_info_get(dev_id, &info);
	if (!(info.feature_flags & RTE_CRYPTODEV_FF_ASYMMETRIC_CRYPTO))
		return 0;
	capa = rte_cryptodev_asym_capability_get(dev_id, &idx);
	if (!capa)
		return 0;
	for (unsigned i = 0; i < N_GROUPS; i++) {
		const struct sga_group_info *grp = sga_group_get(group_ids[i]);

		ok[i] = grp && rte_cryptodev_asym_xform_capability_check_modlen(
		                   capa, (uint16_t)grp->len) == 0;
		n += (unsigned)ok[i];
	}
	return n;
}

static int use_device(struct sga_asym *a, uint8_t dev_id, const int ok[N_GROUPS])
{
	struct rte_cryptodev_info info;

	rte_cryptodev_info_get(dev_id, &info);
	a->dev_id = dev_id;
	snprintf(a->dev_name, sizeof(a->dev_name), "%s", rte_cryptodev_name_get(dev_id));
	snprintf(a->driver, sizeof(a->driver), "%s", info.driver_name);
	for (unsigned i = 0; i < N_GROUPS; i++) {
		const struct sga_group_info *grp = sga_group_get(group_ids[i]);

		a->g[i].grp = grp;
		a->g[i].ok = ok[i];
		memset(&a->g[i].xf, 0, sizeof(a->g[i].xf));
		a->g[i].xf.xform_type = RTE_CRYPTO_ASYM_XFORM_MODEX;
		a->g[i].xf.modex.modulus.data = (uint8_t *)(uintptr_t)grp->p;
		a->g[i].xf.modex.modulus.length = grp->len;
	}
	return 0;
}

/*
 * QAT first (it is why this path exists), then a crypto_openssl vdev made for
 * the service. The vdev is always our own, never one given with --vdev: a
 * device is configured once for all its queue pairs, and the symmetric path
 * may have claimed that one; a private vdev costs nothing.
 */
static int pick_device(struct sga_asym *a, enum sga_asym_device want, int allow_soft, char *why,
                       size_t why_len)
{
	int ok[N_GROUPS];
	char name[RTE_CRYPTODEV_NAME_MAX_LEN];
	int id;

	if (want != SGA_ASYM_DEV_OPENSSL) {
		for (unsigned d = 0; d < RTE_CRYPTO_MAX_DEVS; d++) {
			struct rte_cryptodev_info info;

			if (!rte_cryptodev_is_valid_dev((uint8_t)d))
				continue;
			rte_cryptodev_info_get((uint8_t)d, &info);
			if (is_qat(info.driver_name) && device_groups((uint8_t)d, ok))
				return use_device(a, (uint8_t)d, ok);
		}
		/* modexp = auto without QAT stays on OpenSSL BN: constant-time, and it
		 * scales with the control workers, where the crypto_openssl PMD is
		 * variable-time and computes on the one service thread. */
		if (want == SGA_ASYM_DEV_QAT || !allow_soft) {
			snprintf(why, why_len, "no crypto_qat device with MODEX");
			return -ENODEV;
		}
	}
	snprintf(name, sizeof(name), ASYM_OPENSSL_VDEV "%u", atomic_fetch_add(&instance, 1));
	if (rte_eal_hotplug_add("vdev", name, "") != 0) {
		snprintf(why, why_len,
		         "no QAT, and cannot create vdev %s (crypto_openssl PMD absent?)", name);
		return -ENODEV;
	}
	a->created = 1;
	snprintf(a->dev_name, sizeof(a->dev_name), "%s", name);
	id = rte_cryptodev_get_dev_id(name);
	if (id < 0 || !device_groups((uint8_t)id, ok)) {
		snprintf(why, why_len, "%s offers no MODEX for these groups", name);
		return -ENODEV;
	}
	return use_device(a, (uint8_t)id, ok);
}

static int setup(struct sga_asym *a, int socket, char *why, size_t why_len)
{
	struct rte_cryptodev_config conf = {.socket_id = socket, .nb_queue_pairs = 1};
	struct rte_cryptodev_qp_conf qp = {.nb_descriptors = ASYM_QP_DESC, .mp_session = NULL};
	unsigned n = atomic_fetch_add(&instance, 1), elts = a->depth + a->burst;
	char name[RTE_MEMPOOL_NAMESIZE];
	int rc;

	if ((rc = rte_cryptodev_configure(a->dev_id, &conf)) != 0) {
		snprintf(why, why_len, "configure %s: %s", a->dev_name, rte_strerror(-rc));
		return rc;
	}
	a->configured = 1;
	if ((rc = rte_cryptodev_queue_pair_setup(a->dev_id, ASYM_QP, &qp, socket)) != 0) {
		snprintf(why, why_len, "queue pair on %s: %s", a->dev_name, rte_strerror(-rc));
		return rc;
	}
	/* After the device exists: the pool's element size is the largest
	 * session private size over the devices present now. */
	snprintf(name, sizeof(name), "sga_mxs%u", n);
	a->sess_pool = rte_cryptodev_asym_session_pool_create(name, elts, 0, 0, socket);
	snprintf(name, sizeof(name), "sga_mxo%u", n);
	a->op_pool = rte_crypto_op_pool_create(name, RTE_CRYPTO_OP_TYPE_ASYMMETRIC, elts, 0,
	                                       sizeof(struct asym_req *), socket);
	/* Relaxed tail sync for the producers: the workers are ordinary pthreads
	 * that can be preempted mid-enqueue without stalling the others. */
	snprintf(name, sizeof(name), "sga_mxr%u", n);
	a->ring = rte_ring_create(name, a->depth, socket,
	                          RING_F_MP_RTS_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
	if (!a->sess_pool || !a->op_pool || !a->ring) {
		snprintf(why, why_len, "pools/ring for %u requests: %s", a->depth,
		         rte_strerror(rte_errno));
		return -ENOMEM;
	}
	if ((rc = rte_cryptodev_start(a->dev_id)) != 0) {
		snprintf(why, why_len, "start %s: %s", a->dev_name, rte_strerror(-rc));
		return rc;
	}
	a->started = 1;
	if ((rc = pthread_create(&a->th, NULL, service_main, a)) != 0) {
		snprintf(why, why_len, "service thread: %s", strerror(rc));
		return -rc;
	}
	a->th_started = 1;
	pthread_setname_np(a->th, "sga-modexp");
	return 0;
}

static void teardown(struct sga_asym *a)
{
	if (a->th_started) {
		atomic_store(&a->stop, 1);
		atomic_fetch_add(&a->doorbell, 1);
		futex_wake(&a->doorbell);
		pthread_join(a->th, NULL);
	}
	if (a->started)
		rte_cryptodev_stop(a->dev_id);
	/* Removing the vdev closes it; a device we did not create is closed here. */
	if (a->created)
		(void)rte_eal_hotplug_remove("vdev", a->dev_name);
	else if (a->configured)
		(void)rte_cryptodev_close(a->dev_id);
	rte_ring_free(a->ring);
	rte_mempool_free(a->op_pool);
	rte_mempool_free(a->sess_pool);
	free(a);
}

static void groups_text(const struct sga_asym *a, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < N_GROUPS; i++) {
		int w = snprintf(buf + used, len - used, "%s%s%s", used ? ", " : "",
		                 a->g[i].grp->name, a->g[i].ok ? "" : " in software");
		if (w < 0 || (size_t)w >= len - used)
			return;
		used += (size_t)w;
	}
}

int sga_asym_start(const struct sga_asym_config *cfg, struct sga_asym **out, char *report,
                   size_t report_len)
{
	char why[192] = "", groups[96];
	struct sga_asym *a;
	int socket, rc;

	if (!cfg || !out || !report || !report_len)
		return -EINVAL;
	*out = NULL;
	if (cfg->mode == SGA_ASYM_MODE_CPU) {
		snprintf(report, report_len, "openssl BN (modexp = cpu)");
		return 0;
	}
	if (cfg->burst > ASYM_BURST_MAX || cfg->depth > ASYM_DEPTH_MAX) {
		snprintf(report, report_len, "modexp burst <= %u and depth <= %u", ASYM_BURST_MAX,
		         ASYM_DEPTH_MAX);
		return -EINVAL;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(report, report_len, "out of memory");
		return -ENOMEM;
	}
	a->burst = cfg->burst ? cfg->burst : ASYM_BURST_DEFAULT;
	a->depth = cfg->depth ? cfg->depth : ASYM_DEPTH_DEFAULT;
	if (a->depth < a->burst)
		a->depth = a->burst;
	rc =
	    pick_device(a, cfg->device,
	                cfg->mode == SGA_ASYM_MODE_CRYPTODEV || cfg->device == SGA_ASYM_DEV_OPENSSL,
	                why, sizeof(why));
	if (!rc) {
		socket = cfg->socket_id >= 0 ? cfg->socket_id : rte_cryptodev_socket_id(a->dev_id);
		rc = setup(a, socket < 0 ? SOCKET_ID_ANY : socket, why, sizeof(why));
	}
	if (rc) {
		teardown(a);
		if (cfg->mode == SGA_ASYM_MODE_CRYPTODEV) {
			snprintf(report, report_len,
			         "no cryptodev for modexp (modexp = cryptodev): %s", why);
			return rc < 0 ? rc : -ENODEV;
		}
		snprintf(report, report_len, "openssl BN: %s (modexp = auto)", why);
		return 0;
	}
	groups_text(a, groups, sizeof(groups));
	/* Said at start-up, not only in a comment: see "Constant time" above. */
	snprintf(report, report_len, "cryptodev %s (dev %u '%s'%s), %s, burst %u%s", a->driver,
	         a->dev_id, a->dev_name, a->created ? ", created" : "", groups, a->burst,
	         is_qat(a->driver) ? "" : "; variable-time exponentiation (modexp = cpu is not)");
	*out = a;
	return 0;
}

void sga_asym_stop(struct sga_asym *a)
{
	if (!a)
		return;
	if (g_active == a)
		sga_asym_backend_uninstall();
	teardown(a);
}

const char *sga_asym_name(const struct sga_asym *a)
{
	return a ? a->driver : "openssl BN";
}

int sga_asym_serves_group(const struct sga_asym *a, uint8_t group_id)
{
	if (!a)
		return 0;
	for (unsigned i = 0; i < N_GROUPS; i++)
		if (a->g[i].grp && a->g[i].grp->id == group_id)
			return a->g[i].ok;
	return 0;
}

void sga_asym_get_stats(const struct sga_asym *a, struct sga_asym_stats *out)
{
	struct sga_asym *m = (struct sga_asym *)(uintptr_t)a; /* atomics are only read */

	memset(out, 0, sizeof(*out));
	if (!a)
		return;
	out->requests = atomic_load_explicit(&m->requests, memory_order_relaxed);
	out->completed = atomic_load_explicit(&m->completed, memory_order_relaxed);
	out->soft = atomic_load_explicit(&m->soft, memory_order_relaxed);
	out->dev_errors = atomic_load_explicit(&m->dev_errors, memory_order_relaxed);
	out->bursts = atomic_load_explicit(&m->bursts, memory_order_relaxed);
	out->multi_bursts = atomic_load_explicit(&m->multi_bursts, memory_order_relaxed);
	out->max_burst = atomic_load_explicit(&m->max_burst, memory_order_relaxed);
	out->async_waits = atomic_load_explicit(&m->async_waits, memory_order_relaxed);
	out->session_ns = atomic_load_explicit(&m->session_ns, memory_order_relaxed);
}
