/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_crypto_priv.h - internals of the crypto module shared with backends.
 *
 * Not for protocol/gateway code: only backend implementations (a QAT or
 * rte_cryptodev backend, the unit tests) include this. It exposes the OpenSSL
 * key behind the opaque struct sga_rsa_key, and the software implementation of
 * every offloadable operation, so a hardware backend can wrap the software path
 * (e.g. fall back to it for a suite the device lacks) without re-implementing
 * it. The sga_soft_* functions validate their arguments exactly like the public
 * dispatchers and never consult the installed backend.
 */
#ifndef SGA_CRYPTO_PRIV_H
#define SGA_CRYPTO_PRIV_H

#include <openssl/evp.h>

#include "sga_crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The EVP_PKEY inside key (borrowed: do not free), or NULL if key is NULL. */
EVP_PKEY *sga_rsa_key_evp(const struct sga_rsa_key *key);

int sga_soft_aead_seal(uint8_t suite, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                       size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *ct,
                       size_t ct_cap) SGA_MUST_CHECK;
int sga_soft_aead_open(uint8_t suite, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                       size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *pt,
                       size_t pt_cap) SGA_MUST_CHECK;
int sga_soft_rsa_oaep_decrypt(const struct sga_rsa_key *key, const uint8_t *ct, size_t ct_len,
                              uint8_t *pt, size_t pt_cap, size_t *pt_len) SGA_MUST_CHECK;
int sga_soft_modexp(const struct sga_group_info *grp, const uint8_t *base, const uint8_t *exp,
                    size_t exp_len, uint8_t *out) SGA_MUST_CHECK;

/* The X25519 ladders' little helpers (fe51, fe64_adx). */

/** A value the compiler cannot see through, so a mask stays a mask and never
 *  turns back into a branch on the bit it was made from. */
static inline uint64_t sga_value_barrier(uint64_t x)
{
	__asm__("" : "+r"(x));
	return x;
}

static inline uint64_t sga_load64_le(const uint8_t *s)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | s[i];
	return v;
}

static inline void sga_store64_le(uint8_t *d, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		d[i] = (uint8_t)v;
}

/**
 * out = X25519(scalar, u) of RFC 7748 section 5 (scalar clamped, bit 255 of u
 * masked, a non-canonical u taken mod p), constant-time, on radix 2^51
 * limbs (offload/sga_x25519_fe51.c): the arithmetic behind sga_x25519 in the
 * OpenSSL back end. No checks: the caller refuses the all-zero result.
 */
void sga_x25519_fe51(const uint8_t scalar[SGA_X25519_LEN], const uint8_t u[SGA_X25519_LEN],
                     uint8_t out[SGA_X25519_LEN]);

#ifdef SGA_HAVE_X25519_ADX
/**
 * The same function as sga_x25519_fe51 on four 64-bit limbs with mulx, adcx
 * and adox (offload/sga_x25519_fe64_adx.c, built on x86-64 only, where
 * offload/meson.build defines SGA_HAVE_X25519_ADX). Only for a processor with
 * BMI2 and ADX: sga_x25519 calls it when sga_x25519_adx_usable() says so.
 */
void sga_x25519_fe64_adx(const uint8_t scalar[SGA_X25519_LEN], const uint8_t u[SGA_X25519_LEN],
                         uint8_t out[SGA_X25519_LEN]);
#endif

/**
 * 1 if sga_x25519 runs on sga_x25519_fe64_adx: built for x86-64, the
 * processor has BMI2 and ADX, and SGA_X25519_IMPL=fe51 was not set in the
 * environment at start-up (to measure or test the portable ladder). Decided
 * once, before main.
 */
int sga_x25519_adx_usable(void);

#ifdef __cplusplus
}
#endif
#endif /* SGA_CRYPTO_PRIV_H */
