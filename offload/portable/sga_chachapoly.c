/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_chachapoly.c - ChaCha20-Poly1305 (RFC 8439) for the portable back end:
 * the suite chacha20-poly1305 (0x03).
 *
 * ChaCha20 is additions, rotations and XORs on 32-bit words: constant time
 * as written. Poly1305 works in radix 2^26 (five limbs), so every product is
 * a 32x32->64 multiply (one UMULL on a Cortex-M4) and sums stay far below
 * 2^64; the final reduction mod 2^130 - 5 selects with a mask, not a branch.
 */
#include <string.h>

#include "sga_crypto.h"
#include "sga_portable_priv.h"

#if SGA_PORTABLE_CHACHAPOLY

#include <errno.h>

#define QR(a, b, c, d)              \
	do {                        \
		a += b;             \
		d = rol(d ^ a, 16); \
		c += d;             \
		b = rol(b ^ c, 12); \
		a += b;             \
		d = rol(d ^ a, 8);  \
		c += d;             \
		b = rol(b ^ c, 7);  \
	} while (0)

static uint32_t rol(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

/* RFC 8439 2.3: one 64-byte key stream block for counter ctr. */
static void chacha_block(const uint8_t key[32], const uint8_t nonce[12], uint32_t ctr,
                         uint8_t out[64])
{
	uint32_t in[16], x[16];

	in[0] = 0x61707865;
	in[1] = 0x3320646e;
	in[2] = 0x79622d32;
	in[3] = 0x6b206574;
	for (int i = 0; i < 8; i++)
		in[4 + i] = sga_load32_le(key + 4 * i);
	in[12] = ctr;
	for (int i = 0; i < 3; i++)
		in[13 + i] = sga_load32_le(nonce + 4 * i);
	memcpy(x, in, sizeof(x));
	for (int i = 0; i < 10; i++) {
		QR(x[0], x[4], x[8], x[12]);
		QR(x[1], x[5], x[9], x[13]);
		QR(x[2], x[6], x[10], x[14]);
		QR(x[3], x[7], x[11], x[15]);
		QR(x[0], x[5], x[10], x[15]);
		QR(x[1], x[6], x[11], x[12]);
		QR(x[2], x[7], x[8], x[13]);
		QR(x[3], x[4], x[9], x[14]);
	}
	for (int i = 0; i < 16; i++)
		sga_store32_le(out + 4 * i, x[i] + in[i]);
	sga_memzero(in, sizeof(in));
	sga_memzero(x, sizeof(x));
}

struct chacha_stream {
	const uint8_t *key, *nonce;
	uint32_t ctr;
};

static void chacha_next(void *st, uint8_t *ks)
{
	struct chacha_stream *c = st;

	chacha_block(c->key, c->nonce, c->ctr++, ks);
}

/* RFC 8439 2.4: XOR the key stream from block counter 1 on. */
static void chacha_xor(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *in, size_t n,
                       uint8_t *out)
{
	struct chacha_stream c = {.key = key, .nonce = nonce, .ctr = 1};

	sga_p_stream_xor(chacha_next, &c, 64, in, n, out);
}

struct poly {
	uint32_t r[5], s[4], h[5];
};

static void poly_init(struct poly *p, const uint8_t key[32])
{
	/* r clamped (RFC 8439 2.5), split into 26-bit limbs. */
	uint32_t t0 = sga_load32_le(key), t1 = sga_load32_le(key + 4), t2 = sga_load32_le(key + 8),
	         t3 = sga_load32_le(key + 12);

	p->r[0] = t0 & 0x3ffffff;
	p->r[1] = ((t0 >> 26) | (t1 << 6)) & 0x3ffff03;
	p->r[2] = ((t1 >> 20) | (t2 << 12)) & 0x3ffc0ff;
	p->r[3] = ((t2 >> 14) | (t3 << 18)) & 0x3f03fff;
	p->r[4] = (t3 >> 8) & 0x00fffff;
	for (int i = 0; i < 4; i++)
		p->s[i] = sga_load32_le(key + 16 + 4 * i);
	memset(p->h, 0, sizeof(p->h));
}

/* h = (h + block + 2^128) * r mod 2^130 - 5, for one full 16-byte block. */
static void poly_block(void *st, const uint8_t m[16])
{
	struct poly *p = st;
	const uint32_t *r = p->r;
	uint32_t *h = p->h;
	uint32_t t0 = sga_load32_le(m), t1 = sga_load32_le(m + 4), t2 = sga_load32_le(m + 8),
	         t3 = sga_load32_le(m + 12);
	uint32_t s1 = r[1] * 5, s2 = r[2] * 5, s3 = r[3] * 5, s4 = r[4] * 5;
	uint64_t d0, d1, d2, d3, d4;
	uint32_t c;

	h[0] += t0 & 0x3ffffff;
	h[1] += ((t0 >> 26) | (t1 << 6)) & 0x3ffffff;
	h[2] += ((t1 >> 20) | (t2 << 12)) & 0x3ffffff;
	h[3] += ((t2 >> 14) | (t3 << 18)) & 0x3ffffff;
	h[4] += (t3 >> 8) | (1u << 24);
	d0 = (uint64_t)h[0] * r[0] + (uint64_t)h[1] * s4 + (uint64_t)h[2] * s3 +
	     (uint64_t)h[3] * s2 + (uint64_t)h[4] * s1;
	d1 = (uint64_t)h[0] * r[1] + (uint64_t)h[1] * r[0] + (uint64_t)h[2] * s4 +
	     (uint64_t)h[3] * s3 + (uint64_t)h[4] * s2;
	d2 = (uint64_t)h[0] * r[2] + (uint64_t)h[1] * r[1] + (uint64_t)h[2] * r[0] +
	     (uint64_t)h[3] * s4 + (uint64_t)h[4] * s3;
	d3 = (uint64_t)h[0] * r[3] + (uint64_t)h[1] * r[2] + (uint64_t)h[2] * r[1] +
	     (uint64_t)h[3] * r[0] + (uint64_t)h[4] * s4;
	d4 = (uint64_t)h[0] * r[4] + (uint64_t)h[1] * r[3] + (uint64_t)h[2] * r[2] +
	     (uint64_t)h[3] * r[1] + (uint64_t)h[4] * r[0];
	c = (uint32_t)(d0 >> 26);
	h[0] = (uint32_t)d0 & 0x3ffffff;
	d1 += c;
	c = (uint32_t)(d1 >> 26);
	h[1] = (uint32_t)d1 & 0x3ffffff;
	d2 += c;
	c = (uint32_t)(d2 >> 26);
	h[2] = (uint32_t)d2 & 0x3ffffff;
	d3 += c;
	c = (uint32_t)(d3 >> 26);
	h[3] = (uint32_t)d3 & 0x3ffffff;
	d4 += c;
	c = (uint32_t)(d4 >> 26);
	h[4] = (uint32_t)d4 & 0x3ffffff;
	h[0] += c * 5;
	c = h[0] >> 26;
	h[0] &= 0x3ffffff;
	h[1] += c;
}

static void poly_final(struct poly *p, uint8_t tag[16])
{
	uint32_t *h = p->h, g[5], c, mask;
	uint64_t f;

	/* Full carry, then h - p = h + 5 - 2^130: take it if it does not borrow. */
	for (int i = 1; i < 5; i++) {
		h[i] += h[i - 1] >> 26;
		h[i - 1] &= 0x3ffffff;
	}
	c = h[4] >> 26;
	h[4] &= 0x3ffffff;
	h[0] += c * 5;
	h[1] += h[0] >> 26;
	h[0] &= 0x3ffffff;
	c = 5;
	for (int i = 0; i < 5; i++) {
		g[i] = h[i] + c;
		c = g[i] >> 26;
		g[i] &= 0x3ffffff;
	}
	/* c is the carry out of bit 130: h + 5 >= 2^130, i.e. h >= p, and then g = h - p. */
	mask = 0u - c;
	for (int i = 0; i < 5; i++)
		h[i] = (h[i] & ~mask) | (g[i] & mask);
	/* h mod 2^128 in four words, plus s. */
	f = (uint64_t)(h[0] | (h[1] << 26)) + p->s[0];
	sga_store32_le(tag, (uint32_t)f);
	f = (uint64_t)((h[1] >> 6) | (h[2] << 20)) + p->s[1] + (f >> 32);
	sga_store32_le(tag + 4, (uint32_t)f);
	f = (uint64_t)((h[2] >> 12) | (h[3] << 14)) + p->s[2] + (f >> 32);
	sga_store32_le(tag + 8, (uint32_t)f);
	f = (uint64_t)((h[3] >> 18) | (h[4] << 8)) + p->s[3] + (f >> 32);
	sga_store32_le(tag + 12, (uint32_t)f);
	sga_memzero(g, sizeof(g));
	sga_memzero(p, sizeof(*p));
}

/* RFC 8439 2.8: the one-time key from block 0, MAC over aad, ct and lengths. */
static void chachapoly_tag(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                           size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t tag[16])
{
	uint8_t block0[64], lens[16];
	struct poly p;

	chacha_block(key, nonce, 0, block0);
	poly_init(&p, block0);
	/* The sections are zero-padded to 16 bytes (RFC 8439 2.8): full blocks only. */
	sga_p_padded_blocks(poly_block, &p, aad, aad_len);
	sga_p_padded_blocks(poly_block, &p, ct, ct_len);
	for (int i = 0; i < 8; i++) {
		lens[i] = (uint8_t)((uint64_t)aad_len >> (8 * i));
		lens[8 + i] = (uint8_t)((uint64_t)ct_len >> (8 * i));
	}
	poly_block(&p, lens);
	poly_final(&p, tag);
	sga_memzero(block0, sizeof(block0));
}

int sga_p_chachapoly_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                          size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *ct)
{
	chacha_xor(key, nonce, pt, pt_len, ct);
	chachapoly_tag(key, nonce, aad, aad_len, ct, pt_len, ct + pt_len);
	return 0;
}

int sga_p_chachapoly_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                          size_t aad_len, const uint8_t *ct, size_t pt_len, uint8_t *pt)
{
	uint8_t tag[16];
	int ok;

	/* The tag over the ciphertext first: pt may be ct. */
	chachapoly_tag(key, nonce, aad, aad_len, ct, pt_len, tag);
	ok = sga_ct_memeq(tag, ct + pt_len, sizeof(tag));
	sga_memzero(tag, sizeof(tag));
	if (!ok) {
		sga_memzero(pt, pt_len);
		return -EBADMSG;
	}
	chacha_xor(key, nonce, ct, pt_len, pt);
	return 0;
}

#endif /* SGA_PORTABLE_CHACHAPOLY */
