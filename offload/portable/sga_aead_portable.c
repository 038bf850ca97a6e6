/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_aead_portable.c - sga_aead_seal/open of the portable back end, and its
 * random source.
 *
 * The arguments go through the same checks as on the gateway
 * (sga_crypto_common.c); then the suite's core runs on the caller's buffers.
 * A suite whose code this build leaves out (sga_portable.h's macros) is
 * -EINVAL, as an unknown id is. sga_random_bytes draws from the callback the
 * application registers (the MCU's TRNG): no callback, no randomness, -EIO.
 */
#include <errno.h>
#include <string.h>

#include "sga_ascon.h"
#include "sga_crypto.h"
#include "sga_crypto_common.h"
#include "sga_portable.h"
#include "sga_portable_priv.h"

/* ---- random ---------------------------------------------------------------- */

/* Set once at start-up by the application, read afterwards. */
static sga_portable_random_fn random_fn;
static void *random_ctx;

void sga_portable_set_random(sga_portable_random_fn fn, void *ctx)
{
	random_fn = fn;
	random_ctx = fn != NULL ? ctx : NULL;
}

int sga_random_bytes(uint8_t *buf, size_t len)
{
	if (buf == NULL && len != 0)
		return -EINVAL;
	if (len == 0)
		return 0;
	if (random_fn == NULL || random_fn(random_ctx, buf, len) != 0) {
		sga_memzero(buf, len);
		return -EIO;
	}
	return 0;
}

int sga_exponent_random(uint8_t exp[SGA_EXPONENT_LEN])
{
	uint8_t acc;

	if (exp == NULL)
		return -EINVAL;
	/* An all-zero draw has probability 2^-256; eight in a row means a broken RNG. */
	for (int tries = 0; tries < 8; tries++) {
		if (sga_random_bytes(exp, SGA_EXPONENT_LEN) != 0)
			break;
		acc = 0;
		for (size_t i = 0; i < SGA_EXPONENT_LEN; i++)
			acc |= exp[i];
		if (acc != 0)
			return 0;
	}
	sga_memzero(exp, SGA_EXPONENT_LEN);
	return -EIO;
}

/* ---- pools ----------------------------------------------------------------- */

void *sga_p_pool_take(void *pool, size_t count, size_t size)
{
	uint8_t *slot = pool;

	for (size_t i = 0; i < count; i++, slot += size) {
		if (slot[0] == 0) {
			slot[0] = 1;
			return slot;
		}
	}
	return NULL;
}

/* ---- AEAD ------------------------------------------------------------------ */

void sga_p_padded_blocks(void (*block)(void *st, const uint8_t b[16]), void *st, const uint8_t *p,
                         size_t n)
{
	uint8_t last[16];

	for (; n >= 16; n -= 16, p += 16)
		block(st, p);
	if (n != 0) {
		memset(last, 0, sizeof(last));
		memcpy(last, p, n);
		block(st, last);
		sga_memzero(last, sizeof(last));
	}
}

void sga_p_stream_xor(void (*next)(void *st, uint8_t *ks), void *st, size_t block_len,
                      const uint8_t *in, size_t n, uint8_t *out)
{
	uint8_t ks[64];

	while (n > 0) {
		size_t take = n < block_len ? n : block_len;

		next(st, ks);
		for (size_t i = 0; i < take; i++)
			out[i] = in[i] ^ ks[i];
		in += take;
		out += take;
		n -= take;
	}
	sga_memzero(ks, sizeof(ks));
}

int sga_aead_seal(uint8_t suite, const uint8_t *key, const uint8_t nonce[SGA_AEAD_NONCE_LEN],
                  const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *ct,
                  size_t ct_cap)
{
	int idx = -1;
	int rc = sga_aead_seal_check(suite, key, nonce, aad, aad_len, pt, pt_len, ct, ct_cap, &idx);

	if (rc != 0)
		return rc;
	switch (suite) {
#if SGA_PORTABLE_AES_GCM
	case SGA_SUITE_AES128_GCM:
		return sga_p_aes_gcm_seal(key, 16, nonce, aad, aad_len, pt, pt_len, ct);
#endif
#if SGA_PORTABLE_AES256_GCM
	case SGA_SUITE_AES256_GCM:
		return sga_p_aes_gcm_seal(key, 32, nonce, aad, aad_len, pt, pt_len, ct);
#endif
#if SGA_PORTABLE_CHACHAPOLY
	case SGA_SUITE_CHACHA20_POLY1305:
		return sga_p_chachapoly_seal(key, nonce, aad, aad_len, pt, pt_len, ct);
#endif
#if SGA_PORTABLE_CCM8
	case SGA_SUITE_AES128_CCM8:
		return sga_p_aes_ccm8_seal(key, nonce, aad, aad_len, pt, pt_len, ct);
#endif
#if SGA_PORTABLE_ASCON
	case SGA_SUITE_ASCON_AEAD128: {
		uint8_t n[SGA_ASCON_NONCE_LEN];

		sga_ascon_nonce_from_protocol(n, nonce);
		sga_ascon_aead128_seal(key, n, aad, aad_len, pt, pt_len, ct);
		return 0;
	}
#endif
	default:
		return -EINVAL; /* in the registry, not in this build */
	}
}

int sga_aead_open(uint8_t suite, const uint8_t *key, const uint8_t nonce[SGA_AEAD_NONCE_LEN],
                  const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *pt,
                  size_t pt_cap)
{
	int idx = -1;
	int rc = sga_aead_open_check(suite, key, nonce, aad, aad_len, ct, ct_len, pt, pt_cap, &idx);
	size_t pt_len;

	if (rc != 0)
		return rc;
	pt_len = ct_len - sga_suite_table[idx].tag_len;
	switch (suite) {
#if SGA_PORTABLE_AES_GCM
	case SGA_SUITE_AES128_GCM:
		return sga_p_aes_gcm_open(key, 16, nonce, aad, aad_len, ct, pt_len, pt);
#endif
#if SGA_PORTABLE_AES256_GCM
	case SGA_SUITE_AES256_GCM:
		return sga_p_aes_gcm_open(key, 32, nonce, aad, aad_len, ct, pt_len, pt);
#endif
#if SGA_PORTABLE_CHACHAPOLY
	case SGA_SUITE_CHACHA20_POLY1305:
		return sga_p_chachapoly_open(key, nonce, aad, aad_len, ct, pt_len, pt);
#endif
#if SGA_PORTABLE_CCM8
	case SGA_SUITE_AES128_CCM8:
		return sga_p_aes_ccm8_open(key, nonce, aad, aad_len, ct, pt_len, pt);
#endif
#if SGA_PORTABLE_ASCON
	case SGA_SUITE_ASCON_AEAD128: {
		uint8_t n[SGA_ASCON_NONCE_LEN];

		sga_ascon_nonce_from_protocol(n, nonce);
		return sga_ascon_aead128_open(key, n, aad, aad_len, ct, ct_len, pt) == 0 ? 0
		                                                                         : -EBADMSG;
	}
#endif
	default:
		(void)pt_len;
		return -EINVAL;
	}
}

/* ---- prepared AEAD keys ------------------------------------------------------- */

/*
 * Without an allocator a prepared key is the key itself in a pool slot: each
 * message runs the suite's key schedule again (for AES a few hundred cycles
 * next to the cipher's own work), so the object buys the API, not speed.
 */
struct sga_aead_key {
	uint8_t in_use; /* first: sga_p_pool_take */
	uint8_t suite;
	uint8_t dir;
	uint8_t key[SGA_AEAD_MAX_KEY_LEN];
};

static struct sga_aead_key aead_key_pool[SGA_PORTABLE_AEAD_KEYS];

/* The suites this build computes (sga_portable.h's macros). */
static int suite_built(uint8_t suite)
{
	return (SGA_PORTABLE_AES_GCM && suite == SGA_SUITE_AES128_GCM) ||
	       (SGA_PORTABLE_AES256_GCM && suite == SGA_SUITE_AES256_GCM) ||
	       (SGA_PORTABLE_CHACHAPOLY && suite == SGA_SUITE_CHACHA20_POLY1305) ||
	       (SGA_PORTABLE_CCM8 && suite == SGA_SUITE_AES128_CCM8) ||
	       (SGA_PORTABLE_ASCON && suite == SGA_SUITE_ASCON_AEAD128);
}

struct sga_aead_key *sga_aead_key_new(uint8_t suite, enum sga_aead_dir dir, const uint8_t *key)
{
	const struct sga_suite_info *s = sga_suite_get(suite);
	struct sga_aead_key *k;

	if (s == NULL || !suite_built(suite) || key == NULL ||
	    (dir != SGA_AEAD_SEAL && dir != SGA_AEAD_OPEN)) {
		errno = EINVAL;
		return NULL;
	}
	k = sga_p_pool_take(aead_key_pool, SGA_PORTABLE_AEAD_KEYS, sizeof(aead_key_pool[0]));
	if (k == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	k->suite = suite;
	k->dir = (uint8_t)dir;
	memcpy(k->key, key, s->key_len);
	return k;
}

void sga_aead_key_free(struct sga_aead_key *k)
{
	sga_memzero(k, k != NULL ? sizeof(*k) : 0);
}

uint8_t sga_aead_key_suite(const struct sga_aead_key *k)
{
	return k == NULL ? 0 : k->suite;
}

int sga_aead_key_seal(struct sga_aead_key *k, const uint8_t nonce[SGA_AEAD_NONCE_LEN],
                      const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                      uint8_t *ct, size_t ct_cap)
{
	if (k == NULL || k->dir != SGA_AEAD_SEAL)
		return -EINVAL;
	return sga_aead_seal(k->suite, k->key, nonce, aad, aad_len, pt, pt_len, ct, ct_cap);
}

int sga_aead_key_open(struct sga_aead_key *k, const uint8_t nonce[SGA_AEAD_NONCE_LEN],
                      const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                      uint8_t *pt, size_t pt_cap)
{
	if (k == NULL || k->dir != SGA_AEAD_OPEN)
		return -EINVAL;
	return sga_aead_open(k->suite, k->key, nonce, aad, aad_len, ct, ct_len, pt, pt_cap);
}
