/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_asym.h - the gateway's modular exponentiations (the four of each key
 * exchange: K = N^r per member, X = N_peer^R_s per reply) through DPDK's
 * rte_cryptodev asymmetric MODEX operation.
 *
 * Why cryptodev and not OpenSSL: the QAT engine/provider leaves finite-field
 * DH disabled by default, while the QAT PMD (crypto_qat) offers MODEX up to
 * 4096-bit moduli; so this is the path that actually reaches QAT. Without QAT
 * the same code runs on the crypto_openssl software PMD, and plain OpenSSL BN
 * (sga_soft_modexp) is the last resort. What serves modexp is chosen once at
 * start-up from [crypto] modexp / modexp_device and reported in one line.
 *
 * Shape: one service thread owns one queue pair of the chosen device. Callers
 * (control-plane workers, any thread) put requests on a multi-producer ring;
 * the service takes up to a burst at a time, so requests from all workers go
 * to the device together, and completes each request through a per-request
 * futex word. A caller running inside an OpenSSL ASYNC job (the control
 * plane runs each frame's handler as one) pauses the job instead of sleeping,
 * so one worker keeps several exponentiations in flight.
 *
 * The results are byte-for-byte those of sga_soft_modexp (left-padded to
 * grp->len). Any request the device cannot take (pool or ring exhausted,
 * unsupported group, a failed operation) is computed in software instead and
 * counted, so a caller never sees a device-specific error.
 */
#ifndef SGA_ASYM_H
#define SGA_ASYM_H

#include <stddef.h>
#include <stdint.h>

#include "sga_crypto.h"

/* [crypto] modexp = auto | cryptodev | cpu */
enum sga_asym_mode {
	SGA_ASYM_MODE_AUTO = 0,      /* a MODEX-capable device if one works, else cpu */
	SGA_ASYM_MODE_CRYPTODEV = 1, /* a device or start-up fails */
	SGA_ASYM_MODE_CPU = 2,       /* OpenSSL BN in the calling thread */
};

/* [crypto] modexp_device = auto | crypto_qat | crypto_openssl */
enum sga_asym_device {
	SGA_ASYM_DEV_AUTO = 0,    /* QAT if present, else crypto_openssl */
	SGA_ASYM_DEV_QAT = 1,     /* only a crypto_qat* device */
	SGA_ASYM_DEV_OPENSSL = 2, /* only crypto_openssl (a vdev created for the service) */
};

/** Parse the config words above; -EINVAL otherwise. */
int sga_asym_mode_parse(const char *s, enum sga_asym_mode *out);
int sga_asym_device_parse(const char *s, enum sga_asym_device *out);

struct sga_asym_config {
	enum sga_asym_mode mode;
	enum sga_asym_device device;
	unsigned burst; /* most ops per device burst; 0 = 32, at most 128 */
	unsigned depth; /* most requests queued or in flight; 0 = 1024 */
	int socket_id;  /* for rings and pools; -1 (SOCKET_ID_ANY) = the device's */
};

struct sga_asym; /* opaque: the running service */

/**
 * Choose and start what serves modexp (after rte_eal_init, before worker
 * threads use it). On success *out is the running service, or NULL when the
 * CPU serves modexp (mode cpu, or auto without a usable device); report gets
 * one line saying which and why, e.g. "cryptodev crypto_openssl (dev 1
 * 'crypto_openssl_sga_mx0', created), ffdhe2048+ffdhe3072, burst 32" or
 * "openssl BN: no MODEX-capable cryptodev (auto)".
 * Returns 0, or a negative errno when mode is cryptodev and no device could be
 * set up (-ENODEV) or set-up failed (then *out is NULL and report says why).
 */
int sga_asym_start(const struct sga_asym_config *cfg, struct sga_asym **out, char *report,
                   size_t report_len);

/** Drain and stop the service, release the device (and the vdev it created).
 *  Call after every user is gone (control plane stopped, backend removed).
 *  NULL is a no-op. */
void sga_asym_stop(struct sga_asym *a);

/** What serves modexp: the cryptodev driver name ("crypto_openssl",
 *  "crypto_qat_asym", ...) or "openssl BN" for a NULL service. */
const char *sga_asym_name(const struct sga_asym *a);

/** 1 if the device serves groups of this id (its modulus length is within the
 *  device's MODEX capability), else 0 (that group then runs in software). */
int sga_asym_serves_group(const struct sga_asym *a, uint8_t group_id);

/**
 * out = base^exp mod p through the service (arguments as sga_modexp, checked
 * the same way; base NULL = the generator). a NULL: sga_soft_modexp. Blocks the
 * calling thread until the result is back, or pauses the calling ASYNC job.
 */
int sga_asym_modexp(struct sga_asym *a, const struct sga_group_info *grp, const uint8_t *base,
                    const uint8_t *exp, size_t exp_len, uint8_t *out) SGA_MUST_CHECK;

/**
 * Route sga_modexp to a (start-up, before worker threads): installs a backend
 * that is the currently installed one with its modexp member replaced (so an
 * AEAD backend installed earlier keeps working; over the software backend the
 * other members are NULL = software). Returns 0, -EINVAL for a NULL a, -EBUSY
 * if already installed.
 */
int sga_asym_backend_install(struct sga_asym *a);
/** Put back the backend that was installed before (no-op if not installed). */
void sga_asym_backend_uninstall(void);

struct sga_asym_stats {
	uint64_t requests;     /* sga_asym_modexp calls that went to the device */
	uint64_t completed;    /* ... and came back successfully */
	uint64_t soft;         /* computed in software instead (see header comment) */
	uint64_t dev_errors;   /* device returned an error status (then done in software) */
	uint64_t bursts;       /* enqueue_burst calls that took at least one op */
	uint64_t multi_bursts; /* ... that took more than one op */
	uint64_t max_burst;    /* largest number of ops taken by one enqueue_burst */
	uint64_t async_waits;  /* requests whose caller paused an ASYNC job */
	uint64_t session_ns;   /* time callers spent creating and freeing the per-request
	                          sessions (the exponent is in the session in DPDK 22.11) */
};
void sga_asym_get_stats(const struct sga_asym *a, struct sga_asym_stats *out);

#endif /* SGA_ASYM_H */
