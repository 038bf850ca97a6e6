/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_cdev.c - the rte_cryptodev engine for the data plane's bulk AEAD: device
 * choice, set-up, the per-suite engine table, sessions and in-place ops. See
 * sga_cdev.h for the contract.
 *
 * The candidate devices are registered VPP-style as {driver, vdev, priority}
 * and probed in priority order for "auto". Software PMDs are created as vdevs
 * when the EAL did not probe one, so a gateway on a laptop runs the very code
 * that drives QAT in production; only the device underneath differs.
 *
 * A suite goes to the device only if the device advertises it with exactly our
 * sizes AND reproduces a known answer computed on the CPU path (seal, open, and
 * refusal of a bad tag). The capability bits alone would not catch a PMD that
 * lays out the CCM nonce or AAD differently from what we write (rte_crypto_sym.h
 * asks for the nonce at IV + 1 and the AAD 18 bytes into its buffer): that would
 * show up as every frame failing its tag, at run time, for one suite only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_bus_vdev.h>
#include <rte_cryptodev.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "sga_cdev.h"

RTE_LOG_REGISTER(sga_cdev_logtype, sga.offload, INFO);
#define CD_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, sga_cdev_logtype, "sga.offload: " fmt "\n", ##__VA_ARGS__)

_Static_assert(SGA_CDEV_IV_OFFSET % 8 == 0, "op private area misaligned");
_Static_assert(18 + SGA_CDEV_AAD_MAX <= SGA_CDEV_AAD_BUF_LEN, "AAD buffer too small for CCM");
_Static_assert(SGA_AEAD_NONCE_LEN + 1 <= SGA_CDEV_IV_LEN, "IV field too small for CCM");

/* ---- candidate devices ----------------------------------------------------------- */

struct cdev_driver_def {
	const char *driver; /* as rte_cryptodev_info.driver_name reports it */
	const char *vdev;   /* created when none was probed; NULL: hardware, probed only */
	int priority;       /* "auto" takes the highest one present */
};

static const struct cdev_driver_def cdev_drivers[] = {
    {"crypto_qat", NULL, 30},
    {"crypto_aesni_mb", "crypto_aesni_mb0", 20},
    {"crypto_openssl", "crypto_openssl0", 10},
};
#define N_DRIVERS (sizeof(cdev_drivers) / sizeof(cdev_drivers[0]))

/* ---- suites ---------------------------------------------------------------------- */

struct cdev_suite {
	uint8_t id;
	enum rte_crypto_aead_algorithm algo;
};

/* rte_crypto_aead_algorithm has no Ascon (DPDK 22.11; its values start at 1):
 * no PMD can offer ascon-aead128, which the CPU path serves whatever the device. */
#define CDEV_NO_ALGO     ((enum rte_crypto_aead_algorithm)0)
#define CDEV_NO_ALGO_WHY "no cryptodev algorithm for it in DPDK"

static const struct cdev_suite cdev_suites[SGA_SUITE_COUNT] = {
    {SGA_SUITE_AES128_GCM, RTE_CRYPTO_AEAD_AES_GCM},
    {SGA_SUITE_AES256_GCM, RTE_CRYPTO_AEAD_AES_GCM},
    {SGA_SUITE_CHACHA20_POLY1305, RTE_CRYPTO_AEAD_CHACHA20_POLY1305},
    {SGA_SUITE_AES128_CCM8, RTE_CRYPTO_AEAD_AES_CCM},
    {SGA_SUITE_ASCON_AEAD128, CDEV_NO_ALGO},
};

static int suite_idx(uint8_t id)
{
	for (int i = 0; i < SGA_SUITE_COUNT; i++)
		if (cdev_suites[i].id == id)
			return i;
	return -1;
}

/* The AAD a hop frame authenticates: the one size every session is checked for. */
#define HOP_AAD_LEN 21

struct cdev_engine {
	bool on_dev;
	char why[96]; /* the reason a suite stays on the CPU path */
};

struct sga_cdev {
	int dev_id; /* -1: no device */
	bool configured, started, created_vdev;
	char vdev[64];
	char driver[32];
	char engine_name[48]; /* "cryptodev:<driver>" */
	struct cdev_engine eng[SGA_SUITE_COUNT];
	unsigned n_qps;
	struct rte_mempool *sess_pool;
	unsigned n_sessions, sess_bytes; /* what the pool holds */
	struct rte_mempool *op_pool;
};

int sga_cdev_device_valid(const char *device)
{
	if (!device)
		return 0;
	if (!strcmp(device, "auto") || !strcmp(device, "cpu"))
		return 1;
	for (size_t i = 0; i < N_DRIVERS; i++)
		if (!strcmp(device, cdev_drivers[i].driver))
			return 1;
	return 0;
}

/* ---- device choice ------------------------------------------------------------------ */

/* A probed hardware device of this driver that does symmetric crypto, or -1.
 * (The QAT PMD makes separate sym and asym devices per VF.) */
static int cdev_find_hw(const char *driver)
{
	for (unsigned d = 0; d < RTE_CRYPTO_MAX_DEVS; d++) {
		struct rte_cryptodev_info info;

		if (!rte_cryptodev_is_valid_dev(d))
			continue;
		rte_cryptodev_info_get((uint8_t)d, &info);
		if (info.driver_name && !strcmp(info.driver_name, driver) &&
		    (info.feature_flags & RTE_CRYPTODEV_FF_SYMMETRIC_CRYPTO))
			return (int)d;
	}
	return -1;
}

/*
 * The probe of one candidate. Hardware: the first such device probed. A
 * software PMD: the vdev of our own name, taken as it is when the EAL created
 * it (--vdev crypto_aesni_mb0), else created now. Never another instance of the
 * same driver: that one may belong to someone else (the modexp service makes
 * its own crypto_openssl vdev).
 */
static int cdev_probe(struct sga_cdev *cd, const struct cdev_driver_def *def, unsigned n_qps)
{
	char args[64];
	int d, rc;

	if (!def->vdev) {
		d = cdev_find_hw(def->driver);
		return d >= 0 ? d : -ENODEV;
	}
	d = rte_cryptodev_get_dev_id(def->vdev);
	if (d >= 0)
		return d;
	/* The software PMDs default to 8 queue pairs; ask for one per lcore. */
	snprintf(args, sizeof(args), "max_nb_queue_pairs=%u", n_qps > 8 ? n_qps : 8);
	rc = rte_vdev_init(def->vdev, args);
	if (rc) {
		CD_LOG(DEBUG, "vdev %s: %s", def->vdev, rte_strerror(-rc));
		return -ENODEV;
	}
	d = rte_cryptodev_get_dev_id(def->vdev);
	if (d < 0) {
		rte_vdev_uninit(def->vdev);
		return -ENODEV;
	}
	cd->created_vdev = true;
	snprintf(cd->vdev, sizeof(cd->vdev), "%s", def->vdev);
	return d;
}

static void cdev_release(struct sga_cdev *cd)
{
	if (cd->dev_id < 0)
		return;
	if (cd->started)
		rte_cryptodev_stop((uint8_t)cd->dev_id);
	/* Closing frees the queue pairs, so the next user can configure anew. */
	if (cd->configured)
		rte_cryptodev_close((uint8_t)cd->dev_id);
	if (cd->created_vdev)
		rte_vdev_uninit(cd->vdev);
	cd->started = cd->configured = cd->created_vdev = false;
	cd->dev_id = -1;
}

/* Configure dev with one queue pair per lcore and the pools. */
static int cdev_setup(struct sga_cdev *cd, int dev, const struct sga_cdev_config *cfg)
{
	struct rte_cryptodev_config conf;
	struct rte_cryptodev_qp_conf qpc;
	struct rte_cryptodev_info info;
	char name[RTE_MEMPOOL_NAMESIZE];
	unsigned desc = cfg->qp_desc ? cfg->qp_desc : SGA_CDEV_DESC_DEFAULT, cache;
	int socket = rte_cryptodev_socket_id((uint8_t)dev), rc;
	uint16_t priv;

	if (socket < 0)
		socket = cfg->socket;
	cd->dev_id = dev;
	rte_cryptodev_info_get((uint8_t)dev, &info);
	snprintf(cd->driver, sizeof(cd->driver), "%s", info.driver_name);
	snprintf(cd->engine_name, sizeof(cd->engine_name), "cryptodev:%s", cd->driver);
	if (!(info.feature_flags & RTE_CRYPTODEV_FF_SYMMETRIC_CRYPTO)) {
		CD_LOG(ERR, "%s: no symmetric crypto", cd->driver);
		return -ENODEV;
	}
	if (info.max_nb_queue_pairs < cfg->n_qps) {
		CD_LOG(ERR, "%s has %u queue pairs, %u data-plane lcores need one each", cd->driver,
		       info.max_nb_queue_pairs, cfg->n_qps);
		return -EBUSY;
	}
	memset(&conf, 0, sizeof(conf));
	conf.socket_id = socket;
	conf.nb_queue_pairs = (uint16_t)cfg->n_qps;
	conf.ff_disable = RTE_CRYPTODEV_FF_ASYMMETRIC_CRYPTO | RTE_CRYPTODEV_FF_SECURITY;
	rc = rte_cryptodev_configure((uint8_t)dev, &conf);
	if (rc) {
		CD_LOG(ERR, "%s: configure: %s", cd->driver, rte_strerror(-rc));
		return rc == -EBUSY ? -EBUSY : -EIO;
	}
	cd->configured = true;

	/* 22.11 keeps a session's private data in the same mempool element as its
	 * header (the separate private-data pools of earlier releases are gone):
	 * one pool, elements sized for this device. Created and freed by the
	 * control plane, a non-EAL thread, so no per-lcore cache. */
	snprintf(name, sizeof(name), "%s_cs", cfg->tag);
	for (unsigned n = cfg->n_sessions;; n = (n - 2) / 2 + 2) {
		void *probe = NULL;

		cd->sess_pool = rte_cryptodev_sym_session_pool_create(
		    name, n, rte_cryptodev_sym_get_private_session_size((uint8_t)dev), 0, 0,
		    socket);
		/* Enough left for the rest of the data plane? Asked of the allocator
		 * itself: with dynamic memory the heap grows, its free figure says
		 * nothing. */
		if (cd->sess_pool && cfg->keep_free_mb) {
			probe = rte_malloc_socket(NULL, (size_t)cfg->keep_free_mb << 20, 0, socket);
			rte_free(probe);
		}
		if (cd->sess_pool && (!cfg->keep_free_mb || probe))
			break;
		CD_LOG(DEBUG, "session pool of %u: %s", n,
		       cd->sess_pool ? "leaves too little memory" : rte_strerror(rte_errno));
		rte_mempool_free(cd->sess_pool);
		cd->sess_pool = NULL;
		if (!cfg->n_sessions_min || n <= cfg->n_sessions_min) {
			CD_LOG(ERR, "session pool (%u): %s", n, "out of memory");
			return -ENOMEM;
		}
	}
	cd->n_sessions = cd->sess_pool->size;
	cd->sess_bytes =
	    cd->sess_pool->header_size + cd->sess_pool->elt_size + cd->sess_pool->trailer_size;
	if (cd->n_sessions < cfg->n_sessions)
		CD_LOG(WARNING,
		       "session pool: %u of the %u sessions asked for fit in memory (%u bytes "
		       "each): raise [eal] memory_mb by %u MB to have them all",
		       cd->n_sessions, cfg->n_sessions, cd->sess_bytes,
		       (unsigned)(((uint64_t)(cfg->n_sessions - cd->n_sessions) * cd->sess_bytes >>
		                   20) +
		                  1));
	else
		CD_LOG(INFO, "session pool: %u sessions, %u bytes each (%u MB)", cd->n_sessions,
		       cd->sess_bytes,
		       (unsigned)(((uint64_t)cd->n_sessions * cd->sess_bytes >> 20) + 1));
	priv =
	    (uint16_t)(SGA_CDEV_IV_LEN + SGA_CDEV_AAD_BUF_LEN + RTE_ALIGN_CEIL(cfg->user_size, 8));
	/* A mempool cache may hold at most 1.5 x its size: keep the caches of
	 * all lcores well below the pool. */
	cache = cfg->n_ops / (2 * cfg->n_qps);
	if (cache > cfg->op_cache)
		cache = cfg->op_cache;
	if (cache > RTE_MEMPOOL_CACHE_MAX_SIZE)
		cache = RTE_MEMPOOL_CACHE_MAX_SIZE;
	snprintf(name, sizeof(name), "%s_op", cfg->tag);
	cd->op_pool = rte_crypto_op_pool_create(name, RTE_CRYPTO_OP_TYPE_SYMMETRIC, cfg->n_ops,
	                                        cache, priv, socket);
	if (!cd->op_pool) {
		CD_LOG(ERR, "op pool (%u): %s", cfg->n_ops, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	memset(&qpc, 0, sizeof(qpc));
	qpc.nb_descriptors = desc;
	qpc.mp_session = cd->sess_pool;
	for (unsigned q = 0; q < cfg->n_qps; q++) {
		rc = rte_cryptodev_queue_pair_setup((uint8_t)dev, (uint16_t)q, &qpc, socket);
		if (rc) {
			CD_LOG(ERR, "%s: queue pair %u (%u descriptors): %s", cd->driver, q, desc,
			       rte_strerror(-rc));
			return -EIO;
		}
	}
	rc = rte_cryptodev_start((uint8_t)dev);
	if (rc) {
		CD_LOG(ERR, "%s: start: %s", cd->driver, rte_strerror(-rc));
		return -EIO;
	}
	cd->started = true;
	cd->n_qps = cfg->n_qps;
	return 0;
}

static void pool_wipe_obj(struct rte_mempool *mp, void *opaque, void *obj, unsigned idx)
{
	(void)opaque;
	(void)idx;
	sga_memzero(obj, mp->elt_size);
}

static void cdev_pools_free(struct sga_cdev *cd)
{
	if (cd->sess_pool) {
		/* Each session's key material was wiped when it was freed; wipe the
		 * headers and any stray bytes too before the memory goes back. */
		rte_mempool_obj_iter(cd->sess_pool, pool_wipe_obj, NULL);
		rte_mempool_free(cd->sess_pool);
		cd->sess_pool = NULL;
	}
	rte_mempool_free(cd->op_pool);
	cd->op_pool = NULL;
}

/* ---- engine table: capabilities and known-answer test ------------------------------ */

static bool cdev_cap_ok(const struct sga_cdev *cd, int i)
{
	const struct sga_suite_info *s = sga_suite_get(cdev_suites[i].id);
	const struct rte_cryptodev_symmetric_capability *cap;
	struct rte_cryptodev_sym_capability_idx idx;

	if (cdev_suites[i].algo == CDEV_NO_ALGO)
		return false;
	memset(&idx, 0, sizeof(idx));
	idx.type = RTE_CRYPTO_SYM_XFORM_AEAD;
	idx.algo.aead = cdev_suites[i].algo;
	cap = rte_cryptodev_sym_capability_get((uint8_t)cd->dev_id, &idx);
	return cap && rte_cryptodev_sym_capability_check_aead(cap, s->key_len, s->tag_len,
	                                                      HOP_AAD_LEN, SGA_AEAD_NONCE_LEN) == 0;
}

/* Run one op to completion on queue pair 0 (start-up only: bounded wait). */
static int cdev_run_one(struct sga_cdev *cd, struct rte_crypto_op *op)
{
	struct rte_crypto_op *done = NULL;
	uint64_t deadline = rte_get_timer_cycles() + rte_get_timer_hz();

	if (sga_cdev_enqueue(cd, 0, &op, 1) != 1)
		return -EIO;
	while (sga_cdev_dequeue(cd, 0, &done, 1) == 0) {
		if (rte_get_timer_cycles() > deadline)
			return -ETIMEDOUT; /* the op stays with the device; the pool is leaked */
		rte_delay_us_sleep(10);
	}
	return done == op ? sga_cdev_op_status(op) : -EIO;
}

/*
 * Known answer for suite i: seal a frame on the device and compare with the
 * CPU path, open the CPU's ciphertext on the device, and make sure a flipped
 * tag bit is refused. 37 bytes of text: a partial block at the end.
 */
static int cdev_kat(struct sga_cdev *cd, int i, struct rte_mempool *mp)
{
	enum { TEXT = 37, AAD = HOP_AAD_LEN };
	const struct sga_suite_info *s = sga_suite_get(cdev_suites[i].id);
	uint8_t key[SGA_AEAD_MAX_KEY_LEN], nonce[SGA_AEAD_NONCE_LEN], frame[AAD + TEXT + 16];
	uint8_t want[AAD + TEXT + 16];
	void *seal = NULL, *open = NULL;
	struct rte_crypto_op *op = NULL;
	struct rte_mbuf *m = NULL;
	uint8_t *p;
	int rc = -EIO;

	for (size_t k = 0; k < sizeof(key); k++)
		key[k] = (uint8_t)(0xa5 ^ (k * 29));
	for (size_t k = 0; k < sizeof(nonce); k++)
		nonce[k] = (uint8_t)(k * 3 + 1);
	for (size_t k = 0; k < sizeof(frame); k++)
		frame[k] = (uint8_t)(k * 7 + 11);
	memcpy(want, frame, AAD + TEXT);
	if (sga_aead_seal(s->id, key, nonce, want, AAD, want + AAD, TEXT, want + AAD,
	                  TEXT + s->tag_len))
		goto out;
	seal = sga_cdev_session_create(cd, s->id, SGA_CDEV_SEAL, key, AAD);
	open = sga_cdev_session_create(cd, s->id, SGA_CDEV_OPEN, key, AAD);
	m = rte_pktmbuf_alloc(mp);
	if (!seal || !open || !m)
		goto out;
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(AAD + TEXT + s->tag_len));
	if (!p)
		goto out;

	for (int step = 0; step < 3; step++) {
		/* 0: seal the plaintext; 1: open the CPU's ciphertext; 2: the same
		 * with a flipped tag bit. */
		memcpy(p, step ? want : frame, AAD + TEXT + s->tag_len);
		if (step == 2)
			p[AAD + TEXT] ^= 0x01;
		op = sga_cdev_op_alloc(cd);
		if (!op)
			goto out;
		sga_cdev_op_aead(op, step ? open : seal, s->id, m, 0, AAD, AAD, TEXT, nonce);
		rc = cdev_run_one(cd, op);
		if (rc == -ETIMEDOUT) {
			op = NULL;
			goto out;
		}
		sga_cdev_op_free(op);
		op = NULL;
		if (step == 0 && (rc || memcmp(p, want, AAD + TEXT + s->tag_len)))
			goto fail;
		if (step == 1 && (rc || memcmp(p, frame, AAD + TEXT)))
			goto fail;
		if (step == 2 && rc != -EBADMSG)
			goto fail;
	}
	rc = 0;
	goto out;
fail:
	rc = -EPROTO;
out:
	sga_cdev_op_free(op);
	rte_pktmbuf_free(m);
	sga_cdev_session_free(cd, seal);
	sga_cdev_session_free(cd, open);
	sga_memzero(key, sizeof(key));
	return rc;
}

static int cdev_engines_check(struct sga_cdev *cd, const char *tag)
{
	char name[RTE_MEMPOOL_NAMESIZE];
	struct rte_mempool *mp;
	bool any = false;

	for (int i = 0; i < SGA_SUITE_COUNT; i++) {
		cd->eng[i].on_dev = cdev_cap_ok(cd, i);
		if (cdev_suites[i].algo == CDEV_NO_ALGO)
			snprintf(cd->eng[i].why, sizeof(cd->eng[i].why), CDEV_NO_ALGO_WHY);
		else if (!cd->eng[i].on_dev)
			snprintf(cd->eng[i].why, sizeof(cd->eng[i].why), "%s lacks it", cd->driver);
		any |= cd->eng[i].on_dev;
	}
	if (!any)
		return 0;
	snprintf(name, sizeof(name), "%s_kat", tag);
	mp = rte_pktmbuf_pool_create(name, 15, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (!mp) {
		CD_LOG(ERR, "known-answer test pool: %s", rte_strerror(rte_errno));
		return -ENOMEM;
	}
	for (int i = 0; i < SGA_SUITE_COUNT; i++) {
		int rc;

		if (!cd->eng[i].on_dev)
			continue;
		/* on_dev must be set for sga_cdev_session_create to accept it. */
		rc = cdev_kat(cd, i, mp);
		if (rc == -ETIMEDOUT) {
			CD_LOG(ERR, "%s: no answer to a known-answer test", cd->driver);
			return -EIO; /* an op is stuck in the device: not usable */
		}
		if (rc) {
			cd->eng[i].on_dev = false;
			snprintf(cd->eng[i].why, sizeof(cd->eng[i].why),
			         "%s failed the known-answer test", cd->driver);
			CD_LOG(WARNING, "%s: %s fails the known-answer test (%s): CPU path for it",
			       cd->driver, sga_suite_get(cdev_suites[i].id)->name,
			       rc == -EPROTO ? "wrong result" : rte_strerror(-rc));
		}
	}
	rte_mempool_free(mp);
	return 0;
}

static void cdev_engines_cpu(struct sga_cdev *cd, const char *why)
{
	for (int i = 0; i < SGA_SUITE_COUNT; i++) {
		cd->eng[i].on_dev = false;
		snprintf(cd->eng[i].why, sizeof(cd->eng[i].why), "%s", why);
	}
}

/* ---- create / destroy ------------------------------------------------------------------ */

static int cdev_try(struct sga_cdev *cd, const struct cdev_driver_def *def,
                    const struct sga_cdev_config *cfg)
{
	int dev = cdev_probe(cd, def, cfg->n_qps), rc;

	if (dev < 0)
		return dev;
	rc = cdev_setup(cd, dev, cfg);
	if (!rc)
		rc = cdev_engines_check(cd, cfg->tag);
	if (rc) {
		cdev_release(cd);
		cdev_pools_free(cd);
	}
	return rc;
}

struct sga_cdev *sga_cdev_create(const struct sga_cdev_config *cfg)
{
	const char *want = cfg && cfg->device ? cfg->device : "cpu";
	struct sga_cdev *cd;
	int rc = -ENODEV;

	/* Two sessions at least: the known-answer test needs a seal and an open. */
	if (!cfg || !cfg->tag || !sga_cdev_device_valid(want) ||
	    (strcmp(want, "cpu") &&
	     (!cfg->n_qps || cfg->n_qps > UINT16_MAX || !cfg->n_ops || cfg->n_sessions < 2))) {
		errno = EINVAL;
		return NULL;
	}
	cd = calloc(1, sizeof(*cd));
	if (!cd) {
		errno = ENOMEM;
		return NULL;
	}
	cd->dev_id = -1;
	if (!strcmp(want, "cpu")) {
		cdev_engines_cpu(cd, "[crypto] device = cpu");
		return cd;
	}
	for (size_t i = 0; i < N_DRIVERS; i++) {
		const struct cdev_driver_def *def = &cdev_drivers[i]; /* in priority order */

		if (strcmp(want, "auto") && strcmp(want, def->driver))
			continue;
		rc = cdev_try(cd, def, cfg);
		if (!rc)
			return cd;
		if (strcmp(want, "auto"))
			break;
		if (rc != -ENODEV)
			CD_LOG(WARNING, "%s present but unusable: trying the next device",
			       def->driver);
	}
	if (!strcmp(want, "auto")) {
		CD_LOG(WARNING, "no usable crypto device: hop AEAD on the CPU path");
		cdev_engines_cpu(cd, "no crypto device available");
		return cd;
	}
	if (rc == -ENODEV)
		CD_LOG(ERR, "%s: no such crypto device%s", want,
		       strcmp(want, "crypto_qat")
		           ? " and the PMD could not create one (is it installed?)"
		           : " was probed (bind a QAT VF to vfio-pci and allow it with -a)");
	free(cd);
	errno = -rc;
	return NULL;
}

void sga_cdev_destroy(struct sga_cdev *cd)
{
	if (!cd)
		return;
	/* Stop the device before its pools go: the queue pairs reference them. */
	if (cd->started) {
		rte_cryptodev_stop((uint8_t)cd->dev_id);
		cd->started = false;
	}
	cdev_release(cd);
	cdev_pools_free(cd);
	free(cd);
}

/* ---- engine table ----------------------------------------------------------------------- */

bool sga_cdev_serves(const struct sga_cdev *cd, uint8_t suite)
{
	int i = suite_idx(suite);

	return cd && i >= 0 && cd->eng[i].on_dev;
}

const char *sga_cdev_engine(const struct sga_cdev *cd, uint8_t suite)
{
	if (suite_idx(suite) < 0)
		return "unknown";
	return sga_cdev_serves(cd, suite) ? cd->engine_name : "cpu";
}

const char *sga_cdev_report(const struct sga_cdev *cd, uint8_t suite, char *buf, size_t len)
{
	const struct sga_suite_info *s = sga_suite_get(suite);
	int i = suite_idx(suite);

	if (!s || i < 0)
		snprintf(buf, len, "aead 0x%02x: unknown suite", suite);
	else if (sga_cdev_serves(cd, suite))
		snprintf(buf, len, "aead %s: cryptodev %s", s->name, cd->driver);
	else
		snprintf(buf, len, "aead %s: cpu (%s)", s->name,
		         cd ? cd->eng[i].why : "no crypto device");
	return buf;
}

const char *sga_cdev_driver(const struct sga_cdev *cd)
{
	return cd && cd->dev_id >= 0 ? cd->driver : NULL;
}

int sga_cdev_dev_id(const struct sga_cdev *cd)
{
	return cd ? cd->dev_id : -1;
}

/* ---- sessions ------------------------------------------------------------------------------ */

void *sga_cdev_session_create(struct sga_cdev *cd, uint8_t suite, enum sga_cdev_dir dir,
                              const uint8_t *key, uint16_t aad_len)
{
	const struct sga_suite_info *s = sga_suite_get(suite);
	struct rte_crypto_sym_xform x;
	int i = suite_idx(suite);
	void *sess;

	if (!sga_cdev_serves(cd, suite) || !s || !key || aad_len > SGA_CDEV_AAD_MAX) {
		errno = EINVAL;
		return NULL;
	}
	memset(&x, 0, sizeof(x));
	x.type = RTE_CRYPTO_SYM_XFORM_AEAD;
	x.aead.op = dir == SGA_CDEV_SEAL ? RTE_CRYPTO_AEAD_OP_ENCRYPT : RTE_CRYPTO_AEAD_OP_DECRYPT;
	x.aead.algo = cdev_suites[i].algo;
	/* The device copies the key into the session (and derives its schedule);
	 * the pointer is not kept. */
	x.aead.key.data = key;
	x.aead.key.length = s->key_len;
	/* CCM too: the IV field starts at the same offset; the nonce sits one byte
	 * into it (sga_cdev_op_aead). */
	x.aead.iv.offset = SGA_CDEV_IV_OFFSET;
	x.aead.iv.length = SGA_AEAD_NONCE_LEN;
	x.aead.digest_length = s->tag_len;
	x.aead.aad_length = aad_len;
	sess = rte_cryptodev_sym_session_create((uint8_t)cd->dev_id, &x, cd->sess_pool);
	if (!sess)
		errno = rte_errno == ENOMEM ? ENOSPC : EIO;
	return sess;
}

void sga_cdev_session_free(struct sga_cdev *cd, void *sess)
{
	if (!cd || !sess || cd->dev_id < 0)
		return;
	/* Clears the driver's key material, then returns it to the pool. */
	rte_cryptodev_sym_session_free((uint8_t)cd->dev_id, sess);
}

/* ---- ops ----------------------------------------------------------------------------------- */

struct rte_crypto_op *sga_cdev_op_alloc(struct sga_cdev *cd)
{
	return rte_crypto_op_alloc(cd->op_pool, RTE_CRYPTO_OP_TYPE_SYMMETRIC);
}

unsigned sga_cdev_n_sessions(const struct sga_cdev *cd, unsigned *bytes_each)
{
	if (bytes_each)
		*bytes_each = cd && cd->sess_pool ? cd->sess_bytes : 0;
	return cd && cd->sess_pool ? cd->n_sessions : 0;
}

unsigned sga_cdev_op_alloc_bulk(struct sga_cdev *cd, struct rte_crypto_op **ops, unsigned n)
{
	return rte_crypto_op_bulk_alloc(cd->op_pool, RTE_CRYPTO_OP_TYPE_SYMMETRIC, ops,
	                                (uint16_t)n);
}

void sga_cdev_op_aead(struct rte_crypto_op *op, void *sess, uint8_t suite, struct rte_mbuf *m,
                      uint32_t aad_off, uint16_t aad_len, uint32_t data_off, uint32_t data_len,
                      const uint8_t nonce[SGA_AEAD_NONCE_LEN])
{
	uint8_t *iv = rte_crypto_op_ctod_offset(op, uint8_t *, SGA_CDEV_IV_OFFSET);
	uint8_t *aad = iv + SGA_CDEV_IV_LEN;
	struct rte_crypto_sym_op *sym = op->sym;

	/* AES-CCM (rte_crypto_sym.h): the PMD writes its flags byte at IV[0] and
	 * the B0/length block in the 18 bytes before the AAD; the nonce starts at
	 * IV[1], the AAD at byte 18 of its buffer, which is padded to whole
	 * blocks. GCM and ChaCha20-Poly1305 take both from their first byte. */
	if (suite == SGA_SUITE_AES128_CCM8) {
		memcpy(iv + 1, nonce, SGA_AEAD_NONCE_LEN);
		memcpy(aad + 18, rte_pktmbuf_mtod_offset(m, const uint8_t *, aad_off), aad_len);
	} else {
		memcpy(iv, nonce, SGA_AEAD_NONCE_LEN);
		memcpy(aad, rte_pktmbuf_mtod_offset(m, const uint8_t *, aad_off), aad_len);
	}
	rte_crypto_op_attach_sym_session(op, sess);
	sym->m_src = m;
	sym->m_dst = NULL; /* in place */
	sym->aead.data.offset = data_off;
	sym->aead.data.length = data_len;
	sym->aead.digest.data = rte_pktmbuf_mtod_offset(m, uint8_t *, data_off + data_len);
	sym->aead.digest.phys_addr = rte_pktmbuf_iova_offset(m, data_off + data_len);
	sym->aead.aad.data = aad;
	sym->aead.aad.phys_addr =
	    rte_crypto_op_ctophys_offset(op, SGA_CDEV_IV_OFFSET + SGA_CDEV_IV_LEN);
}

uint16_t sga_cdev_enqueue(struct sga_cdev *cd, uint16_t qp, struct rte_crypto_op **ops, uint16_t n)
{
	return rte_cryptodev_enqueue_burst((uint8_t)cd->dev_id, qp, ops, n);
}

uint16_t sga_cdev_dequeue(struct sga_cdev *cd, uint16_t qp, struct rte_crypto_op **ops, uint16_t n)
{
	return rte_cryptodev_dequeue_burst((uint8_t)cd->dev_id, qp, ops, n);
}
