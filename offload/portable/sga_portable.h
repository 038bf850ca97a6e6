/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_portable.h - the portable crypto back end of sga_crypto.h: what a
 * microcontroller links instead of sga_crypto_soft.c and OpenSSL.
 *
 * Portable C99 (plus <string.h>) with no OS, no allocator and no heap: every
 * primitive works on the caller's buffers and its own stack. It implements
 * SHA-256, HMAC-SHA256, HKDF-SHA256, X25519, P-256 (sga_p256.c: SEC1 points,
 * ECDH and base-point multiplication, small and constant time rather than
 * fast; left out with -DSGA_GROUPS_P256=0), the AEAD suites selected below,
 * sga_random_bytes over a caller-registered entropy source, and (unless
 * SGA_PORTABLE_RSA is 0) RSA-OAEP-SHA256 encryption with a public key and
 * ffdhe modular exponentiation. Objects handed out by pointer (prepared AEAD
 * and HMAC keys, RSA public keys) come from static pools sized below; a full
 * pool is NULL/ENOMEM (-ENOMEM for RSA), like an allocation failure. Not
 * here: what needs a file system or a private key (sga_rsa_generate/
 * load_pem/from_pem/save_private_pem/public_der, RSA decryption) and the
 * back-end switch: a program that uses them does not link, rather than
 * getting an answer that is not real.
 *
 * Suite selection (each 1 by default; -D...=0 leaves the code out, and
 * sga_aead_seal/open then answer -EINVAL for the suite, like an unknown id):
 *   SGA_PORTABLE_AES_GCM      aes-128-gcm (0x01)
 *   SGA_PORTABLE_AES256_GCM   aes-256-gcm (0x02)
 *   SGA_PORTABLE_CHACHAPOLY   chacha20-poly1305 (0x03)
 *   SGA_PORTABLE_CCM8         aes-128-ccm8 (0x04)
 *   SGA_PORTABLE_ASCON        ascon-aead128 (0x05, offload/sga_ascon.c)
 *   SGA_PORTABLE_RSA          RSA-OAEP encryption and ffdhe sga_modexp
 * The registry (sga_suite_get) stays the protocol's whole set: it says what a
 * suite id means on the wire, not what this build can compute.
 */
#ifndef SGA_PORTABLE_H
#define SGA_PORTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "sga_crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef SGA_PORTABLE_AES_GCM
#define SGA_PORTABLE_AES_GCM 1
#endif
#ifndef SGA_PORTABLE_AES256_GCM
#define SGA_PORTABLE_AES256_GCM 1
#endif
#ifndef SGA_PORTABLE_CHACHAPOLY
#define SGA_PORTABLE_CHACHAPOLY 1
#endif
#ifndef SGA_PORTABLE_CCM8
#define SGA_PORTABLE_CCM8 1
#endif
#ifndef SGA_PORTABLE_ASCON
#define SGA_PORTABLE_ASCON 1
#endif
#ifndef SGA_PORTABLE_RSA
#define SGA_PORTABLE_RSA 1
#endif

/* Pool sizes: how many objects of each kind may be alive at once. */
#ifndef SGA_PORTABLE_AEAD_KEYS
#define SGA_PORTABLE_AEAD_KEYS 4
#endif
#ifndef SGA_PORTABLE_HMAC_KEYS
#define SGA_PORTABLE_HMAC_KEYS 2
#endif
#ifndef SGA_PORTABLE_RSA_KEYS
#define SGA_PORTABLE_RSA_KEYS 2 /* a device holds its package's two: PK (E_PK) and TPK (F_G) */
#endif

#define SGA_PORTABLE_AES (SGA_PORTABLE_AES_GCM || SGA_PORTABLE_AES256_GCM || SGA_PORTABLE_CCM8)

/**
 * The entropy source behind sga_random_bytes and everything drawn from it
 * (exponents, scalars, OAEP seeds): the device's TRNG or a DRBG seeded by it.
 * fn fills len bytes at buf and returns 0, or non-zero if it cannot (then the
 * caller gets -EIO and zeroed bytes). Until one is set, sga_random_bytes
 * fails closed with -EIO. fn NULL unregisters. Call before any other use.
 */
typedef int (*sga_portable_random_fn)(void *ctx, uint8_t *buf, size_t len);
void sga_portable_set_random(sga_portable_random_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif /* SGA_PORTABLE_H */
