/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_crypto_common.h - what every crypto back end of sga_crypto.h shares.
 *
 * Internal to the back ends (sga_crypto_soft.c on OpenSSL, offload/portable/
 * for microcontrollers): the suite registry as a table, and the argument
 * checks of the hash and AEAD calls, written once so that both back ends
 * refuse the same input with the same error. No OpenSSL, no OS, no allocator:
 * sga_crypto_common.c builds for a Cortex-M4 as it is.
 */
#ifndef SGA_CRYPTO_COMMON_H
#define SGA_CRYPTO_COMMON_H

#include "sga_crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The registry, in id order (sga_suite_list returns it). */
extern const struct sga_suite_info sga_suite_table[SGA_SUITE_COUNT];

/**
 * RFC 7748 section 5, decodeScalar25519: k = scalar with bits 0-2 and 255
 * cleared and bit 254 set. Written once for the three X25519 ladders (the
 * portable 8x32-bit one, fe51 and fe64_adx), which differ in radix only. k
 * is a secret the caller wipes.
 */
static inline void sga_x25519_clamp(uint8_t k[SGA_X25519_LEN], const uint8_t scalar[SGA_X25519_LEN])
{
	for (unsigned i = 0; i < SGA_X25519_LEN; i++)
		k[i] = scalar[i];
	k[0] &= 248;
	k[31] &= 127;
	k[31] |= 64;
}

/** Index of suite id in sga_suite_table, or -1. */
int sga_suite_index(uint8_t id);

/** 1 if parts[0..nparts) is a valid scatter list (NULL only with length 0). */
int sga_parts_ok(const struct sga_buf *parts, size_t nparts);

/**
 * The argument checks of sga_aead_seal (and of a back end's seal): -EINVAL,
 * -ENOSPC or 0 with *idx the registry index of the suite.
 */
int sga_aead_seal_check(uint8_t suite, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                        size_t aad_len, const uint8_t *pt, size_t pt_len, const uint8_t *ct,
                        size_t ct_cap, int *idx);

/**
 * The argument checks of sga_aead_open: as above, and -EBADMSG for a
 * ciphertext shorter than the tag (it cannot be authentic).
 */
int sga_aead_open_check(uint8_t suite, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                        size_t aad_len, const uint8_t *ct, size_t ct_len, const uint8_t *pt,
                        size_t pt_cap, int *idx);

/**
 * 1 if the big-endian x of len bytes lies in [2, p - 2] (p big-endian, len
 * bytes), else 0: the finite-field element check of sga_group_element_ok,
 * without a big-number library, for both back ends.
 */
int sga_group_element_in_range(const uint8_t *p, const uint8_t *x, size_t len);

/**
 * 1 if the big-endian P-256 scalar s lies in [1, n-1], else 0: the scalar
 * check of sga_p256_ecdh / base_mul / scalar_random in both back ends. s is
 * secret: the comparison runs over all 32 bytes without a branch on them.
 */
int sga_p256_scalar_in_range(const uint8_t s[SGA_P256_SCALAR_LEN]);

#ifdef __cplusplus
}
#endif
#endif /* SGA_CRYPTO_COMMON_H */
