/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_sha256.c - SHA-256 (FIPS 180-4), HMAC-SHA256 (RFC 2104) and
 * HKDF-SHA256 (RFC 5869) for the portable back end, over the scatter lists
 * sga_crypto.h takes. The message schedule is a rolling 16-word window (64
 * bytes of stack instead of 256); nothing branches on the data.
 */
#include <errno.h>
#include <string.h>

#include "sga_crypto_common.h"
#include "sga_portable.h"
#include "sga_portable_priv.h"

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static void compress(uint32_t h[8], const uint8_t block[64])
{
	uint32_t w[16], v[8];

	for (int i = 0; i < 16; i++)
		w[i] = sga_load32_be(block + 4 * i);
	memcpy(v, h, sizeof(v));
	for (int i = 0; i < 64; i++) {
		uint32_t s0, s1, t1, t2;

		if (i >= 16) {
			uint32_t a = w[(i + 1) & 15], b = w[(i + 14) & 15];

			s0 = ror(a, 7) ^ ror(a, 18) ^ (a >> 3);
			s1 = ror(b, 17) ^ ror(b, 19) ^ (b >> 10);
			w[i & 15] += s0 + s1 + w[(i + 9) & 15];
		}
		t1 = v[7] + (ror(v[4], 6) ^ ror(v[4], 11) ^ ror(v[4], 25)) +
		     ((v[4] & v[5]) ^ (~v[4] & v[6])) + K[i] + w[i & 15];
		t2 = (ror(v[0], 2) ^ ror(v[0], 13) ^ ror(v[0], 22)) +
		     ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
		memmove(v + 1, v, 7 * sizeof(v[0]));
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (int i = 0; i < 8; i++)
		h[i] += v[i];
	sga_memzero(w, sizeof(w));
	sga_memzero(v, sizeof(v));
}

void sga_sha256_init(struct sga_sha256_ctx *c)
{
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

	memcpy(c->h, iv, sizeof(iv));
	c->bytes = 0;
}

void sga_sha256_update(struct sga_sha256_ctx *c, const void *data, size_t n)
{
	const uint8_t *p = data;

	while (n > 0) {
		size_t used = (size_t)(c->bytes & 63), take = 64 - used;

		if (take > n)
			take = n;
		memcpy(c->buf + used, p, take);
		c->bytes += take;
		p += take;
		n -= take;
		if (used + take == 64)
			compress(c->h, c->buf);
	}
}

void sga_sha256_final(struct sga_sha256_ctx *c, uint8_t out[SGA_SHA256_LEN])
{
	uint64_t bits = c->bytes * 8;
	size_t used = (size_t)(c->bytes & 63);

	c->buf[used++] = 0x80;
	if (used > 56) {
		memset(c->buf + used, 0, 64 - used);
		compress(c->h, c->buf);
		used = 0;
	}
	memset(c->buf + used, 0, 56 - used);
	sga_store32_be(c->buf + 56, (uint32_t)(bits >> 32));
	sga_store32_be(c->buf + 60, (uint32_t)bits);
	compress(c->h, c->buf);
	for (int i = 0; i < 8; i++)
		sga_store32_be(out + 4 * i, c->h[i]);
	sga_memzero(c, sizeof(*c));
}

int sga_sha256(const struct sga_buf *parts, size_t nparts, uint8_t out[SGA_SHA256_LEN])
{
	struct sga_sha256_ctx c;

	if (out == NULL || !sga_parts_ok(parts, nparts))
		return -EINVAL;
	sga_sha256_init(&c);
	for (size_t i = 0; i < nparts; i++)
		sga_sha256_update(&c, parts[i].p, parts[i].n);
	sga_sha256_final(&c, out);
	return 0;
}

/* ---- HMAC ------------------------------------------------------------------ */

/* The inner hash keyed with K ^ ipad, and the outer pad K ^ opad kept for the end. */
struct hmac {
	struct sga_sha256_ctx inner;
	uint8_t opad[64];
};

static void hmac_init(struct hmac *m, const uint8_t *key, size_t key_len)
{
	uint8_t k[64];

	memset(k, 0, sizeof(k));
	if (key_len > 64) {
		sga_sha256_init(&m->inner);
		sga_sha256_update(&m->inner, key, key_len);
		sga_sha256_final(&m->inner, k);
	} else if (key_len != 0) {
		memcpy(k, key, key_len);
	}
	for (int i = 0; i < 64; i++) {
		m->opad[i] = k[i] ^ 0x5c;
		k[i] ^= 0x36;
	}
	sga_sha256_init(&m->inner);
	sga_sha256_update(&m->inner, k, sizeof(k));
	sga_memzero(k, sizeof(k));
}

static void hmac_final(struct hmac *m, uint8_t out[SGA_SHA256_LEN])
{
	uint8_t ih[SGA_SHA256_LEN];

	sga_sha256_final(&m->inner, ih);
	sga_sha256_init(&m->inner);
	sga_sha256_update(&m->inner, m->opad, sizeof(m->opad));
	sga_sha256_update(&m->inner, ih, sizeof(ih));
	sga_sha256_final(&m->inner, out);
	sga_memzero(ih, sizeof(ih));
	sga_memzero(m, sizeof(*m));
}

int sga_hmac_sha256(const uint8_t *key, size_t key_len, const struct sga_buf *parts, size_t nparts,
                    uint8_t out[SGA_SHA256_LEN])
{
	struct hmac m;

	if (out == NULL || (key == NULL && key_len != 0) || !sga_parts_ok(parts, nparts))
		return -EINVAL;
	hmac_init(&m, key, key_len);
	for (size_t i = 0; i < nparts; i++)
		sga_sha256_update(&m.inner, parts[i].p, parts[i].n);
	hmac_final(&m, out);
	return 0;
}

/* ---- HMAC under a kept key ------------------------------------------------------ */

/* The hash state after K ^ ipad and the outer pad: each message starts from a
 * copy, so a MAC costs the message and two blocks, not the key set-up. */
struct sga_hmac_key {
	uint8_t in_use; /* first: sga_p_pool_take */
	struct hmac keyed;
};

static struct sga_hmac_key hmac_key_pool[SGA_PORTABLE_HMAC_KEYS];

struct sga_hmac_key *sga_hmac_key_new(const uint8_t *key, size_t key_len)
{
	struct sga_hmac_key *k;

	if (key == NULL || key_len == 0)
		return NULL;
	k = sga_p_pool_take(hmac_key_pool, SGA_PORTABLE_HMAC_KEYS, sizeof(hmac_key_pool[0]));
	if (k != NULL)
		hmac_init(&k->keyed, key, key_len);
	return k;
}

int sga_hmac_key_mac(struct sga_hmac_key *k, const struct sga_buf *parts, size_t nparts,
                     uint8_t out[SGA_SHA256_LEN])
{
	struct hmac m;

	if (k == NULL || out == NULL || !sga_parts_ok(parts, nparts))
		return -EINVAL;
	m = k->keyed;
	for (size_t i = 0; i < nparts; i++)
		sga_sha256_update(&m.inner, parts[i].p, parts[i].n);
	hmac_final(&m, out);
	return 0;
}

void sga_hmac_key_free(struct sga_hmac_key *k)
{
	sga_memzero(k, k != NULL ? sizeof(*k) : 0);
}

/* ---- HKDF ------------------------------------------------------------------ */

int sga_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
                    const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
	/* RFC 5869 2.2: no salt is HashLen zero bytes. */
	static const uint8_t zero_salt[SGA_SHA256_LEN];
	uint8_t prk[SGA_SHA256_LEN], t[SGA_SHA256_LEN];
	struct hmac m;
	size_t done = 0;
	uint8_t i = 0;

	if (out == NULL || out_len == 0 || out_len > 255 * SGA_SHA256_LEN ||
	    (ikm == NULL && ikm_len != 0) || (salt == NULL && salt_len != 0) ||
	    (info == NULL && info_len != 0))
		return -EINVAL;
	if (salt_len == 0) {
		salt = zero_salt;
		salt_len = sizeof(zero_salt);
	}
	hmac_init(&m, salt, salt_len);
	sga_sha256_update(&m.inner, ikm, ikm_len);
	hmac_final(&m, prk);
	/* T(i) = HMAC(PRK, T(i-1) || info || i), T(0) empty. */
	while (done < out_len) {
		size_t take = out_len - done;

		i++;
		hmac_init(&m, prk, sizeof(prk));
		if (i > 1)
			sga_sha256_update(&m.inner, t, sizeof(t));
		sga_sha256_update(&m.inner, info, info_len);
		sga_sha256_update(&m.inner, &i, 1);
		hmac_final(&m, t);
		if (take > sizeof(t))
			take = sizeof(t);
		memcpy(out + done, t, take);
		done += take;
	}
	sga_memzero(prk, sizeof(prk));
	sga_memzero(t, sizeof(t));
	return 0;
}
