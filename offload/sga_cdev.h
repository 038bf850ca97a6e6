/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_cdev.h - the data plane's bulk AEAD engine on rte_cryptodev.
 *
 * One crypto device serves the hop AEAD of every relayed frame: crypto_qat on a
 * QAT VF (the first probed one that does symmetric crypto), crypto_aesni_mb or
 * crypto_openssl (software PMDs: the vdev "crypto_aesni_mb0" / "crypto_openssl0"
 * as the EAL made it from --vdev, else created here and removed again by
 * sga_cdev_destroy; another instance of the same driver is never taken, it may
 * be someone else's). Which one comes from the configuration ("auto" takes the
 * best that is present: a probed QAT, then aesni_mb, then openssl, then none). Every cipher suite of the registry is checked once,
 * at start-up, against the device's capabilities (key, tag, AAD and nonce
 * sizes) and a known-answer test; a suite that fails either stays on the CPU
 * path (sga_aead_*, OpenSSL), and the engine table says so with the reason.
 *
 * Operations are in place on an mbuf: the AAD bytes and the text (plain for a
 * seal, cipher for an open) lie in the mbuf, the tag right after the text. The
 * nonce and a copy of the AAD travel in the op's private area, laid out as each
 * algorithm wants it (AES-CCM: nonce one byte into the IV field, AAD 18 bytes
 * into its buffer; rte_crypto_sym.h). After them each op carries user_size
 * bytes of the caller's own context (sga_cdev_op_user), so a completion can be
 * finished without any lookup.
 *
 * Threads: create/destroy and the engine table on the main thread; sessions
 * from any one thread at a time (the control plane installs them); ops and
 * queue pair qp from the one lcore that owns qp. No locks, no allocation but
 * mempool gets, no syscalls on the op path.
 */
#ifndef SGA_CDEV_H
#define SGA_CDEV_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_crypto.h>
#include <rte_cryptodev.h> /* rte_crypto_op_ctod_offset */
#include <rte_mbuf.h>

#include "sga_crypto.h"

#define SGA_CDEV_AAD_MAX      32   /* longest AAD an op may carry (hop frames: 29) */
#define SGA_CDEV_DESC_DEFAULT 2048 /* descriptors per queue pair when the config says 0 */

/* The op private area starts right after the symmetric op (the IV offset every
 * session is created with): IV (16), AAD buffer (64: CCM's 18 reserved bytes +
 * SGA_CDEV_AAD_MAX, padded to the AES block), then the caller's context. */
#define SGA_CDEV_IV_OFFSET   (sizeof(struct rte_crypto_op) + sizeof(struct rte_crypto_sym_op))
#define SGA_CDEV_IV_LEN      16
#define SGA_CDEV_AAD_BUF_LEN 64
#define SGA_CDEV_USER_OFFSET (SGA_CDEV_IV_OFFSET + SGA_CDEV_IV_LEN + SGA_CDEV_AAD_BUF_LEN)

struct sga_cdev; /* opaque */

struct sga_cdev_config {
	/* "auto", "crypto_qat", "crypto_aesni_mb", "crypto_openssl" or "cpu"
	 * (no crypto device: every suite on the CPU path). NULL means "cpu". */
	const char *device;
	unsigned n_qps;      /* queue pairs: one per data-plane lcore */
	unsigned qp_desc;    /* descriptors per queue pair (power of two); 0 = default */
	unsigned n_sessions; /* cryptodev sessions in the pool (2 at least) */
	/* If the pool of n_sessions does not fit (or would leave less than
	 * keep_free_mb of the socket's heap free), try halves down to this many
	 * (a warning says how many it got); 0: n_sessions or fail. */
	unsigned n_sessions_min;
	unsigned keep_free_mb;
	unsigned n_ops;     /* ops in the pool */
	unsigned op_cache;  /* per-lcore cache of the op pool */
	unsigned user_size; /* bytes of caller context per op */
	int socket;         /* NUMA socket for pools (SOCKET_ID_ANY) */
	const char *tag;    /* unique prefix for pool names ("sga_dp0"), < 16 chars */
};

/**
 * Choose, create if needed, configure and start the crypto device; build the
 * engine table (capabilities + a known-answer test per suite). Main thread,
 * after rte_eal_init. device "cpu", and "auto" when no device can be had, give
 * an engine table that is all CPU and no device: that is not an error. NULL and
 * errno: EINVAL (bad config), ENODEV (the named device is not there and cannot be
 * created), EBUSY (it has fewer queue pairs than asked), ENOMEM. Logs why.
 */
struct sga_cdev *sga_cdev_create(const struct sga_cdev_config *cfg) SGA_MUST_CHECK;

/** Stop the device and free everything; a vdev created here is removed again.
 *  No op may be in flight and every session must have been freed (the session
 *  pool is wiped before it is freed). NULL is a no-op. */
void sga_cdev_destroy(struct sga_cdev *cd);

/** 1 if device names one of the values sga_cdev_create accepts. */
int sga_cdev_device_valid(const char *device);

/* ---- engine table -------------------------------------------------------------- */

/** true if the crypto device serves suite (false for unknown suites). */
bool sga_cdev_serves(const struct sga_cdev *cd, uint8_t suite);
/** "cryptodev:<driver>" or "cpu". Unknown suite: "unknown". cd NULL: "cpu". */
const char *sga_cdev_engine(const struct sga_cdev *cd, uint8_t suite);
/** One start-up report line, e.g. "aead aes-128-gcm: cryptodev crypto_aesni_mb" or
 *  "aead chacha20-poly1305: cpu (crypto_openssl lacks it)". Returns buf. */
const char *sga_cdev_report(const struct sga_cdev *cd, uint8_t suite, char *buf, size_t len);
/** The device's driver name ("crypto_aesni_mb"), or NULL without a device. */
const char *sga_cdev_driver(const struct sga_cdev *cd);
/** The cryptodev id, or -1 without a device. */
int sga_cdev_dev_id(const struct sga_cdev *cd);
/** Sessions in the pool (what sga_cdev_create could have; 0 without a device)
 *  and the bytes each takes there. */
unsigned sga_cdev_n_sessions(const struct sga_cdev *cd, unsigned *bytes_each);

/* ---- sessions ---------------------------------------------------------------------- */

enum sga_cdev_dir {
	SGA_CDEV_SEAL = 0, /* encrypt and generate the tag */
	SGA_CDEV_OPEN = 1, /* verify the tag and decrypt */
};

/**
 * A session for suite under key (the suite's key_len bytes; the device copies
 * it, the caller keeps and wipes its own) in one direction, for ops whose AAD
 * is aad_len bytes. NULL and errno: EINVAL (suite not served, aad_len too long),
 * ENOSPC (session pool empty), EIO (the device refused). Any one thread at a
 * time; free with sga_cdev_session_free once no op uses it.
 */
void *sga_cdev_session_create(struct sga_cdev *cd, uint8_t suite, enum sga_cdev_dir dir,
                              const uint8_t *key, uint16_t aad_len) SGA_MUST_CHECK;
/** The device wipes the session's key material and the session returns to
 *  the pool. NULL is a no-op. */
void sga_cdev_session_free(struct sga_cdev *cd, void *sess);

/* ---- ops (the lcore owning the queue pair) ---------------------------------------- */

/** An op from the pool (per-lcore cache), or NULL when the pool is empty. */
struct rte_crypto_op *sga_cdev_op_alloc(struct sga_cdev *cd) SGA_MUST_CHECK;

/** Up to n ops from the pool in one go (all or none: returns n or 0). */
unsigned sga_cdev_op_alloc_bulk(struct sga_cdev *cd, struct rte_crypto_op **ops,
                                unsigned n) SGA_MUST_CHECK;

static inline void sga_cdev_op_free(struct rte_crypto_op *op)
{
	rte_crypto_op_free(op);
}

/** Make a completed op as sga_cdev_op_alloc hands one out, for the caller to
 *  use again without a trip through the pool (a per-lcore stash). */
static inline void sga_cdev_op_reset(struct rte_crypto_op *op)
{
	__rte_crypto_op_reset(op, RTE_CRYPTO_OP_TYPE_SYMMETRIC);
}

/** The caller's context area of an op (user_size bytes, 8-byte aligned). */
static inline void *sga_cdev_op_user(struct rte_crypto_op *op)
{
	return rte_crypto_op_ctod_offset(op, void *, SGA_CDEV_USER_OFFSET);
}

/**
 * Make op an in-place AEAD operation of session sess (created for suite): the
 * AAD is m's aad_len bytes at aad_off (copied into the op: the device may write
 * around it), the text the data_len bytes at data_off, the tag the suite's
 * tag_len bytes right after the text; the nonce is copied. m must be one segment
 * holding all of it. A seal writes ciphertext and tag over the plaintext and the
 * tag room; an open writes plaintext over the ciphertext and checks the tag.
 */
void sga_cdev_op_aead(struct rte_crypto_op *op, void *sess, uint8_t suite, struct rte_mbuf *m,
                      uint32_t aad_off, uint16_t aad_len, uint32_t data_off, uint32_t data_len,
                      const uint8_t nonce[SGA_AEAD_NONCE_LEN]);

/** Enqueue up to n ops on queue pair qp; returns how many the device took (the
 *  rest are still the caller's). */
uint16_t sga_cdev_enqueue(struct sga_cdev *cd, uint16_t qp, struct rte_crypto_op **ops, uint16_t n);
/** Up to n completed ops from queue pair qp; never waits. */
uint16_t sga_cdev_dequeue(struct sga_cdev *cd, uint16_t qp, struct rte_crypto_op **ops, uint16_t n);

/** A completed op's outcome: 0, -EBADMSG (the tag did not verify), or -EIO
 *  (any other failure: bad session, bad arguments, device error). */
static inline int sga_cdev_op_status(const struct rte_crypto_op *op)
{
	if (op->status == RTE_CRYPTO_OP_STATUS_SUCCESS)
		return 0;
	return op->status == RTE_CRYPTO_OP_STATUS_AUTH_FAILED ? -EBADMSG : -EIO;
}

#endif /* SGA_CDEV_H */
