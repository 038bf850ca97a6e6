/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_ascon.c - Ascon-AEAD128 (NIST SP 800-232, section 4 and Algorithms 3-4),
 * written from the standard. See sga_ascon.h for the contract.
 *
 * The 320-bit state is five 64-bit words S0..S4. The rate is S0 and S1: 16
 * bytes of associated data or message per block, each byte i of a block going
 * into bits 8i..8i+7 of its word (little-endian). Initialisation puts IV, the
 * key and the nonce in the state, runs the 12-round permutation and adds the
 * key again to S3, S4; each full block of associated data is added to the rate
 * and followed by the 8-round permutation; the message blocks produce the
 * ciphertext as the rate after the addition, with the 8-round permutation
 * between blocks but not after the last (padded) one; finalisation adds the
 * key to S2, S3, runs 12 rounds and gives the tag as S3, S4 plus the key.
 *
 * Only the lengths choose branches and loop counts: they are public.
 */
#include "sga_ascon.h"

/* SP 800-232 Table 14: the IV of Ascon-AEAD128 (variant 1, 12 and 8 rounds, a
 * 128-bit tag, a 16-byte rate). */
#define ASCON_AEAD128_IV 0x00001000808c0001ull
#define RATE             16
/* The domain separation bit added to S4 after the associated data. */
#define DSEP 0x8000000000000000ull

struct ascon {
	uint64_t s[5];
	uint64_t k0, k1;
};

static void wipe(void *p, size_t n)
{
	volatile uint8_t *v = (volatile uint8_t *)p;

	while (n--)
		*v++ = 0;
}

/* A whole word, little-endian, written out so that compilers make it one load
 * (or a load and a byte swap) on any byte order and alignment. */
static uint64_t load64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
	       (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

static void store64(uint8_t *p, uint64_t x)
{
	p[0] = (uint8_t)x;
	p[1] = (uint8_t)(x >> 8);
	p[2] = (uint8_t)(x >> 16);
	p[3] = (uint8_t)(x >> 24);
	p[4] = (uint8_t)(x >> 32);
	p[5] = (uint8_t)(x >> 40);
	p[6] = (uint8_t)(x >> 48);
	p[7] = (uint8_t)(x >> 56);
}

/* Bytes [0, n) of a word, n <= 8, little-endian; missing bytes are zero. */
static uint64_t load(const uint8_t *p, size_t n)
{
	uint64_t x = 0;

	for (size_t i = 0; i < n; i++)
		x |= (uint64_t)p[i] << (8 * i);
	return x;
}

static void store(uint8_t *p, uint64_t x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(x >> (8 * i));
}

/* The low n bytes of a word set, n <= 8. */
static uint64_t low_bytes(size_t n)
{
	return n >= 8 ? ~0ull : ((uint64_t)1 << (8 * n)) - 1;
}

/* The padding: a one bit right after byte n-1 of a word (n <= 7). */
static uint64_t pad(size_t n)
{
	return (uint64_t)0x01 << (8 * n);
}

static uint64_t ror(uint64_t x, unsigned n)
{
	return x >> n | x << (64 - n);
}

/* One round: constant addition (pC), the 5-bit S-box applied bit-sliced across
 * the five words (pS), and the linear layer of each word (pL). */
static void round_once(uint64_t s[5], uint64_t c)
{
	uint64_t x0 = s[0], x1 = s[1], x2 = s[2] ^ c, x3 = s[3], x4 = s[4];
	uint64_t t0, t1, t2, t3, t4;

	x0 ^= x4;
	x4 ^= x3;
	x2 ^= x1;
	t0 = x0 ^ (~x1 & x2);
	t1 = x1 ^ (~x2 & x3);
	t2 = x2 ^ (~x3 & x4);
	t3 = x3 ^ (~x4 & x0);
	t4 = x4 ^ (~x0 & x1);
	t1 ^= t0;
	t0 ^= t4;
	t3 ^= t2;
	t2 = ~t2;
	s[0] = t0 ^ ror(t0, 19) ^ ror(t0, 28);
	s[1] = t1 ^ ror(t1, 61) ^ ror(t1, 39);
	s[2] = t2 ^ ror(t2, 1) ^ ror(t2, 6);
	s[3] = t3 ^ ror(t3, 10) ^ ror(t3, 17);
	s[4] = t4 ^ ror(t4, 7) ^ ror(t4, 41);
}

/* Ascon-p[rounds]: the last `rounds` of the 12 round constants
 * c_i = (0xf - i) << 4 | i, i = 0..11 (0xf0, 0xe1, ..., 0x4b). */
static void permute(uint64_t s[5], unsigned rounds)
{
	for (unsigned i = 12 - rounds; i < 12; i++)
		round_once(s, (uint64_t)((0xfu - i) << 4 | i));
}

static void start(struct ascon *a, const uint8_t *key, const uint8_t *nonce, const uint8_t *ad,
                  size_t ad_len)
{
	a->k0 = load64(key);
	a->k1 = load64(key + 8);
	a->s[0] = ASCON_AEAD128_IV;
	a->s[1] = a->k0;
	a->s[2] = a->k1;
	a->s[3] = load64(nonce);
	a->s[4] = load64(nonce + 8);
	permute(a->s, 12);
	a->s[3] ^= a->k0;
	a->s[4] ^= a->k1;
	if (ad_len != 0) {
		for (; ad_len >= RATE; ad += RATE, ad_len -= RATE) {
			a->s[0] ^= load64(ad);
			a->s[1] ^= load64(ad + 8);
			permute(a->s, 8);
		}
		/* The last block, 0..15 bytes, padded to a full one. */
		if (ad_len >= 8) {
			a->s[0] ^= load64(ad);
			a->s[1] ^= load(ad + 8, ad_len - 8) ^ pad(ad_len - 8);
		} else {
			a->s[0] ^= load(ad, ad_len) ^ pad(ad_len);
		}
		permute(a->s, 8);
	}
	a->s[4] ^= DSEP;
}

static void finish(struct ascon *a, uint8_t tag[SGA_ASCON_TAG_LEN])
{
	a->s[2] ^= a->k0;
	a->s[3] ^= a->k1;
	permute(a->s, 12);
	store64(tag, a->s[3] ^ a->k0);
	store64(tag + 8, a->s[4] ^ a->k1);
}

void sga_ascon_aead128_seal(const uint8_t key[SGA_ASCON_KEY_LEN],
                            const uint8_t nonce[SGA_ASCON_NONCE_LEN], const uint8_t *ad,
                            size_t ad_len, const uint8_t *pt, size_t pt_len, uint8_t *ct)
{
	struct ascon a;
	size_t n;

	start(&a, key, nonce, ad, ad_len);
	/* Each block is read whole before it is written: ct may equal pt. */
	for (; pt_len >= RATE; pt += RATE, ct += RATE, pt_len -= RATE) {
		a.s[0] ^= load64(pt);
		a.s[1] ^= load64(pt + 8);
		store64(ct, a.s[0]);
		store64(ct + 8, a.s[1]);
		permute(a.s, 8);
	}
	if (pt_len >= 8) {
		n = pt_len - 8;
		a.s[0] ^= load64(pt);
		a.s[1] ^= load(pt + 8, n);
		store64(ct, a.s[0]);
		store(ct + 8, a.s[1], n);
		a.s[1] ^= pad(n);
	} else {
		a.s[0] ^= load(pt, pt_len);
		store(ct, a.s[0], pt_len);
		a.s[0] ^= pad(pt_len);
	}
	finish(&a, ct + pt_len);
	wipe(&a, sizeof(a));
}

/* Decrypt n <= 8 bytes with rate word *w: the plaintext is w ^ c, and the
 * word's first n bytes become the ciphertext (the duplex keeps c, not m). */
static void open_word(uint64_t *w, const uint8_t *c, uint8_t *m, size_t n)
{
	uint64_t cw = load(c, n);

	store(m, *w ^ cw, n);
	*w ^= (*w ^ cw) & low_bytes(n);
}

int sga_ascon_aead128_open(const uint8_t key[SGA_ASCON_KEY_LEN],
                           const uint8_t nonce[SGA_ASCON_NONCE_LEN], const uint8_t *ad,
                           size_t ad_len, const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
	uint8_t want[SGA_ASCON_TAG_LEN], got[SGA_ASCON_TAG_LEN];
	uint8_t *out = pt;
	struct ascon a;
	size_t pt_len, left;
	unsigned diff = 0;

	if (ct_len < SGA_ASCON_TAG_LEN)
		return -1;
	pt_len = left = ct_len - SGA_ASCON_TAG_LEN;
	/* The tag first: pt may equal ct. */
	for (size_t i = 0; i < SGA_ASCON_TAG_LEN; i++)
		want[i] = ct[pt_len + i];
	start(&a, key, nonce, ad, ad_len);
	for (; left >= RATE; ct += RATE, out += RATE, left -= RATE) {
		uint64_t c0 = load64(ct), c1 = load64(ct + 8);

		store64(out, a.s[0] ^ c0);
		store64(out + 8, a.s[1] ^ c1);
		a.s[0] = c0;
		a.s[1] = c1;
		permute(a.s, 8);
	}
	if (left >= 8) {
		open_word(&a.s[0], ct, out, 8);
		open_word(&a.s[1], ct + 8, out + 8, left - 8);
		a.s[1] ^= pad(left - 8);
	} else {
		open_word(&a.s[0], ct, out, left);
		a.s[0] ^= pad(left);
	}
	finish(&a, got);
	for (size_t i = 0; i < SGA_ASCON_TAG_LEN; i++)
		diff |= (unsigned)(want[i] ^ got[i]);
	wipe(&a, sizeof(a));
	wipe(got, sizeof(got));
	wipe(want, sizeof(want));
	if (diff != 0) {
		wipe(pt, pt_len);
		return -1;
	}
	return 0;
}
