/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_portable_priv.h - what the files of the portable back end share: byte
 * order helpers, the streaming SHA-256 (HMAC, HKDF, OAEP and MGF1 build on
 * it) and the cipher cores behind the AEAD dispatcher (sga_aead_portable.c).
 */
#ifndef SGA_PORTABLE_PRIV_H
#define SGA_PORTABLE_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "sga_crypto.h"
#include "sga_portable.h"

static inline uint32_t sga_load32_be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void sga_store32_be(uint8_t *p, uint32_t x)
{
	p[0] = (uint8_t)(x >> 24);
	p[1] = (uint8_t)(x >> 16);
	p[2] = (uint8_t)(x >> 8);
	p[3] = (uint8_t)x;
}

static inline uint32_t sga_load32_le(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline void sga_store32_le(uint8_t *p, uint32_t x)
{
	p[0] = (uint8_t)x;
	p[1] = (uint8_t)(x >> 8);
	p[2] = (uint8_t)(x >> 16);
	p[3] = (uint8_t)(x >> 24);
}

struct sga_sha256_ctx {
	uint32_t h[8];
	uint64_t bytes;
	uint8_t buf[64];
};

void sga_sha256_init(struct sga_sha256_ctx *c);
void sga_sha256_update(struct sga_sha256_ctx *c, const void *data, size_t n);
/** Writes the digest and wipes the context. */
void sga_sha256_final(struct sga_sha256_ctx *c, uint8_t out[SGA_SHA256_LEN]);

/**
 * Objects the API hands out by pointer (RSA keys, prepared AEAD and HMAC
 * keys) live in static pools: a slot is free while its first byte (the
 * object's in_use member, first in every such struct) is 0. take marks the
 * first free one and returns it, or NULL; a free is sga_memzero of the slot.
 */
void *sga_p_pool_take(void *pool, size_t count, size_t size);

/**
 * block(st, b) for each 16-byte block of p[0..n), the last one zero-padded:
 * GHASH and the AEAD's Poly1305 both take their sections that way.
 */
void sga_p_padded_blocks(void (*block)(void *st, const uint8_t b[16]), void *st, const uint8_t *p,
                         size_t n);

/**
 * out = in ^ key stream for n bytes (in may be out): next(st, ks) writes the
 * next block_len (<= 64) key stream bytes. AES-CTR and ChaCha20 both.
 */
void sga_p_stream_xor(void (*next)(void *st, uint8_t *ks), void *st, size_t block_len,
                      const uint8_t *in, size_t n, uint8_t *out);

/*
 * The AEAD cores: arguments already checked by sga_aead_seal/open_check; ct
 * may equal pt. seal writes pt_len bytes and the tag; open writes pt_len bytes
 * and returns -EBADMSG with pt zeroed on a wrong tag (compared in constant
 * time).
 */
#if SGA_PORTABLE_AES
int sga_p_aes_gcm_seal(const uint8_t *key, size_t key_len, const uint8_t nonce[12],
                       const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                       uint8_t *ct);
int sga_p_aes_gcm_open(const uint8_t *key, size_t key_len, const uint8_t nonce[12],
                       const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t pt_len,
                       uint8_t *pt);
int sga_p_aes_ccm8_seal(const uint8_t key[16], const uint8_t nonce[12], const uint8_t *aad,
                        size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *ct);
int sga_p_aes_ccm8_open(const uint8_t key[16], const uint8_t nonce[12], const uint8_t *aad,
                        size_t aad_len, const uint8_t *ct, size_t pt_len, uint8_t *pt);
#endif
#if SGA_PORTABLE_CHACHAPOLY
int sga_p_chachapoly_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                          size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *ct);
int sga_p_chachapoly_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                          size_t aad_len, const uint8_t *ct, size_t pt_len, uint8_t *pt);
#endif

#endif /* SGA_PORTABLE_PRIV_H */
