/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_aes.c - AES-128/256 encryption (FIPS 197) with GCM (SP 800-38D) and
 * CCM with an 8-byte tag (SP 800-38C, RFC 3610) for the portable back end:
 * the suites aes-128-gcm (0x01), aes-256-gcm (0x02) and aes-128-ccm8 (0x04).
 *
 * Constant time without tables. A table S-box leaks its secret index through
 * the cache and, on a Cortex-M4 with flash wait states or an ART accelerator,
 * through timing; the usual fix, a bitsliced AES, costs a few KB of code. Here
 * the S-box is computed: the inverse in GF(2^8) as x^254 (four
 * multiplications, seven squarings), then the affine map, on four bytes at
 * once packed in a 32-bit word (every GF(2^8) step is shifts, ANDs with masks
 * and XORs: no branch, no index). That is a few hundred bytes of code and
 * of the order of 50k cycles per AES-128 block on an M4 (an estimate): slow next to a T-table, fine for the
 * short messages of a sensor, and the only AES a device core needs (GCM and
 * CCM use the forward cipher only). GHASH is the bit-serial multiplication of
 * SP 800-38D 6.3 with masks instead of branches, for the same reason.
 */
#include <string.h>

#include "sga_crypto.h"
#include "sga_portable_priv.h"

#if SGA_PORTABLE_AES

#include <errno.h>

struct aes {
	uint32_t rk[60]; /* round keys as column words, byte 0 in the low bits */
	int rounds;
};

/* 2x in GF(2^8) on each of the four bytes of x. */
static uint32_t xtime4(uint32_t x)
{
	return ((x & 0x7f7f7f7fu) << 1) ^ (((x >> 7) & 0x01010101u) * 0x1b);
}

/* a * b in GF(2^8) bytewise: b's bits select, a doubles. */
static uint32_t gmul4(uint32_t a, uint32_t b)
{
	uint32_t r = 0;

	for (int i = 0; i < 8; i++) {
		r ^= a & (((b >> i) & 0x01010101u) * 0xff);
		a = xtime4(a);
	}
	return r;
}

static uint32_t rol8(uint32_t x, unsigned n)
{
	return ((x << n) & ~(0x01010101u * ((1u << n) - 1))) |
	       ((x >> (8 - n)) & (0x01010101u * ((1u << n) - 1)));
}

/* The S-box on four bytes: x^254 (0 -> 0), then the FIPS 197 5.1.1 affine map. */
static uint32_t sub4(uint32_t x)
{
	uint32_t x2 = gmul4(x, x), x3 = gmul4(x2, x), x12, x15, y;

	x12 = gmul4(x3, x3);
	x12 = gmul4(x12, x12);        /* x^12 */
	x15 = gmul4(x12, x3);         /* x^15 */
	y = gmul4(x15, x15);          /* x^30 */
	y = gmul4(y, y);              /* x^60 */
	y = gmul4(y, y);              /* x^120 */
	y = gmul4(y, y);              /* x^240 */
	y = gmul4(gmul4(y, x12), x2); /* x^254 */
	return y ^ rol8(y, 1) ^ rol8(y, 2) ^ rol8(y, 3) ^ rol8(y, 4) ^ 0x63636363u;
}

static void aes_init(struct aes *a, const uint8_t *key, size_t key_len)
{
	int nk = (int)key_len / 4, total;
	uint32_t rcon = 1;

	a->rounds = nk + 6;
	total = 4 * (a->rounds + 1);
	for (int i = 0; i < nk; i++)
		a->rk[i] = sga_load32_le(key + 4 * i);
	for (int i = nk; i < total; i++) {
		uint32_t t = a->rk[i - 1];

		if (i % nk == 0) {
			t = sub4((t >> 8) | (t << 24)) ^ rcon;
			rcon = xtime4(rcon);
		} else if (nk > 6 && i % nk == 4) {
			t = sub4(t);
		}
		a->rk[i] = a->rk[i - nk] ^ t;
	}
}

/* MixColumns on one column: 2a_i ^ 3a_{i+1} ^ a_{i+2} ^ a_{i+3}. */
static uint32_t mix(uint32_t c)
{
	uint32_t r8 = (c >> 8) | (c << 24);

	return xtime4(c ^ r8) ^ r8 ^ ((c >> 16) | (c << 16)) ^ ((c >> 24) | (c << 8));
}

static void aes_encrypt(const struct aes *a, const uint8_t in[16], uint8_t out[16])
{
	uint32_t s[4], t[4];
	const uint32_t *rk = a->rk;

	for (int c = 0; c < 4; c++)
		s[c] = sga_load32_le(in + 4 * c) ^ rk[c];
	for (int r = 1; r <= a->rounds; r++) {
		for (int c = 0; c < 4; c++)
			s[c] = sub4(s[c]);
		/* ShiftRows: row i of column c comes from column c + i. */
		for (int c = 0; c < 4; c++)
			t[c] = (s[c] & 0x000000ffu) | (s[(c + 1) & 3] & 0x0000ff00u) |
			       (s[(c + 2) & 3] & 0x00ff0000u) | (s[(c + 3) & 3] & 0xff000000u);
		for (int c = 0; c < 4; c++)
			s[c] = (r == a->rounds ? t[c] : mix(t[c])) ^ rk[4 * r + c];
	}
	for (int c = 0; c < 4; c++)
		sga_store32_le(out + 4 * c, s[c]);
	sga_memzero(s, sizeof(s));
	sga_memzero(t, sizeof(t));
}

/* AES in counter mode: the low 32 bits of the block, big-endian, count up
 * before each block (inc32 of SP 800-38D 6.2; CCM's 24-bit counter cannot
 * carry out of them, its messages being shorter than 2^24 bytes). */
struct aes_ctr {
	const struct aes *a;
	uint8_t cb[16];
};

static void aes_ctr_next(void *st, uint8_t *ks)
{
	struct aes_ctr *c = st;

	sga_store32_be(c->cb + 12, sga_load32_be(c->cb + 12) + 1);
	aes_encrypt(c->a, c->cb, ks);
}

/* in ^ AES-CTR from the block after cb0 (n bytes). */
static void aes_ctr_xor(const struct aes *a, const uint8_t cb0[16], const uint8_t *in, size_t n,
                        uint8_t *out)
{
	struct aes_ctr c = {.a = a};

	memcpy(c.cb, cb0, 16);
	sga_p_stream_xor(aes_ctr_next, &c, 16, in, n, out);
}

/* ---- GCM ------------------------------------------------------------------- */

#if SGA_PORTABLE_AES_GCM || SGA_PORTABLE_AES256_GCM

struct gcm {
	uint32_t h[4], y[4]; /* big-endian words, h[0] the most significant */
};

/* y = (y ^ block) * H in GF(2^128), SP 800-38D algorithm 1, branch-free. */
static void ghash_block(void *st, const uint8_t b[16])
{
	struct gcm *g = st;
	uint32_t x[4], z[4] = {0, 0, 0, 0}, v[4];

	for (int i = 0; i < 4; i++) {
		x[i] = g->y[i] ^ sga_load32_be(b + 4 * i);
		v[i] = g->h[i];
	}
	for (int i = 0; i < 128; i++) {
		uint32_t m = 0u - ((x[i >> 5] >> (31 - (i & 31))) & 1);
		uint32_t lsb = 0u - (v[3] & 1);

		for (int j = 0; j < 4; j++)
			z[j] ^= v[j] & m;
		v[3] = (v[3] >> 1) | (v[2] << 31);
		v[2] = (v[2] >> 1) | (v[1] << 31);
		v[1] = (v[1] >> 1) | (v[0] << 31);
		v[0] = (v[0] >> 1) ^ (0xe1000000u & lsb);
	}
	memcpy(g->y, z, sizeof(z));
	sga_memzero(x, sizeof(x));
	sga_memzero(z, sizeof(z));
	sga_memzero(v, sizeof(v));
}

static void gcm_tag(const struct aes *a, const uint8_t j0[16], const uint8_t *aad, size_t aad_len,
                    const uint8_t *ct, size_t ct_len, uint8_t tag[16])
{
	uint8_t hb[16], lens[16];
	struct gcm g;

	memset(hb, 0, sizeof(hb));
	aes_encrypt(a, hb, hb);
	for (int i = 0; i < 4; i++) {
		g.h[i] = sga_load32_be(hb + 4 * i);
		g.y[i] = 0;
	}
	sga_p_padded_blocks(ghash_block, &g, aad, aad_len);
	sga_p_padded_blocks(ghash_block, &g, ct, ct_len);
	sga_store32_be(lens, (uint32_t)((uint64_t)aad_len >> 29));
	sga_store32_be(lens + 4, (uint32_t)aad_len << 3);
	sga_store32_be(lens + 8, (uint32_t)((uint64_t)ct_len >> 29));
	sga_store32_be(lens + 12, (uint32_t)ct_len << 3);
	ghash_block(&g, lens);
	aes_encrypt(a, j0, hb); /* E(K, J0) masks the hash */
	for (int i = 0; i < 4; i++)
		sga_store32_be(tag + 4 * i, g.y[i] ^ sga_load32_be(hb + 4 * i));
	sga_memzero(hb, sizeof(hb));
	sga_memzero(&g, sizeof(g));
}

static void gcm_j0(uint8_t j0[16], const uint8_t nonce[12])
{
	memcpy(j0, nonce, 12);
	sga_store32_be(j0 + 12, 1);
}

int sga_p_aes_gcm_seal(const uint8_t *key, size_t key_len, const uint8_t nonce[12],
                       const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                       uint8_t *ct)
{
	struct aes a;
	uint8_t j0[16];

	aes_init(&a, key, key_len);
	gcm_j0(j0, nonce);
	aes_ctr_xor(&a, j0, pt, pt_len, ct);
	gcm_tag(&a, j0, aad, aad_len, ct, pt_len, ct + pt_len);
	sga_memzero(&a, sizeof(a));
	return 0;
}

int sga_p_aes_gcm_open(const uint8_t *key, size_t key_len, const uint8_t nonce[12],
                       const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t pt_len,
                       uint8_t *pt)
{
	struct aes a;
	uint8_t j0[16], tag[16];
	int rc = 0;

	aes_init(&a, key, key_len);
	gcm_j0(j0, nonce);
	/* The tag over the ciphertext before decrypting: pt may be ct. */
	gcm_tag(&a, j0, aad, aad_len, ct, pt_len, tag);
	if (!sga_ct_memeq(tag, ct + pt_len, sizeof(tag))) {
		sga_memzero(pt, pt_len);
		rc = -EBADMSG;
	} else {
		aes_ctr_xor(&a, j0, ct, pt_len, pt);
	}
	sga_memzero(tag, sizeof(tag));
	sga_memzero(&a, sizeof(a));
	return rc;
}

#endif /* GCM */

/* ---- CCM, 8-byte tag, 12-byte nonce (L = 3) -------------------------------- */

#if SGA_PORTABLE_CCM8

#define CCM_TAG 8
#define CCM_L   3

/* CBC-MAC over B0, the encoded aad and the message (RFC 3610 2.2). */
static void ccm_mac(const struct aes *a, const uint8_t nonce[12], const uint8_t *aad,
                    size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t x[16])
{
	size_t fill;

	x[0] = (uint8_t)((aad_len ? 0x40 : 0) | ((CCM_TAG - 2) / 2) << 3 | (CCM_L - 1));
	memcpy(x + 1, nonce, 12);
	x[13] = (uint8_t)(pt_len >> 16);
	x[14] = (uint8_t)(pt_len >> 8);
	x[15] = (uint8_t)pt_len;
	aes_encrypt(a, x, x);
	if (aad_len != 0) {
		/* Length prefix: 2 bytes below 2^16 - 2^8, else 0xff 0xfe and 4 bytes. */
		if (aad_len < 0xff00) {
			x[0] ^= (uint8_t)(aad_len >> 8);
			x[1] ^= (uint8_t)aad_len;
			fill = 2;
		} else {
			x[0] ^= 0xff;
			x[1] ^= 0xfe;
			for (int i = 0; i < 4; i++)
				x[2 + i] ^= (uint8_t)((uint64_t)aad_len >> (24 - 8 * i));
			fill = 6;
		}
		for (size_t i = 0; i < aad_len; i++) {
			x[fill++] ^= aad[i];
			if (fill == 16) {
				aes_encrypt(a, x, x);
				fill = 0;
			}
		}
		if (fill != 0)
			aes_encrypt(a, x, x);
	}
	for (size_t i = 0; i < pt_len; i += 16) {
		size_t take = pt_len - i < 16 ? pt_len - i : 16;

		for (size_t j = 0; j < take; j++)
			x[j] ^= pt[i + j];
		aes_encrypt(a, x, x);
	}
}

/* Counter block A_i = flags (L - 1) || nonce || i, in 3 bytes. */
static void ccm_ctr_block(uint8_t blk[16], const uint8_t nonce[12], uint32_t i)
{
	blk[0] = CCM_L - 1;
	memcpy(blk + 1, nonce, 12);
	blk[13] = (uint8_t)(i >> 16);
	blk[14] = (uint8_t)(i >> 8);
	blk[15] = (uint8_t)i;
}

/* CTR from A_1; and S_0 = E(A_0) into s0. */
static void ccm_ctr(const struct aes *a, const uint8_t nonce[12], const uint8_t *in, size_t n,
                    uint8_t *out, uint8_t s0[16])
{
	uint8_t a0[16];

	ccm_ctr_block(a0, nonce, 0);
	aes_encrypt(a, a0, s0);
	aes_ctr_xor(a, a0, in, n, out);
}

int sga_p_aes_ccm8_seal(const uint8_t key[16], const uint8_t nonce[12], const uint8_t *aad,
                        size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *ct)
{
	uint8_t x[16], s0[16];
	struct aes a;

	if (pt_len >= (size_t)1 << (8 * CCM_L))
		return -EINVAL; /* the length does not fit L = 3 bytes */
	aes_init(&a, key, 16);
	ccm_mac(&a, nonce, aad, aad_len, pt, pt_len, x);
	ccm_ctr(&a, nonce, pt, pt_len, ct, s0);
	for (int i = 0; i < CCM_TAG; i++)
		ct[pt_len + i] = x[i] ^ s0[i];
	sga_memzero(x, sizeof(x));
	sga_memzero(s0, sizeof(s0));
	sga_memzero(&a, sizeof(a));
	return 0;
}

int sga_p_aes_ccm8_open(const uint8_t key[16], const uint8_t nonce[12], const uint8_t *aad,
                        size_t aad_len, const uint8_t *ct, size_t pt_len, uint8_t *pt)
{
	uint8_t x[16], s0[16], tag[CCM_TAG];
	struct aes a;
	int rc = 0;

	if (pt_len >= (size_t)1 << (8 * CCM_L))
		return -EBADMSG;           /* no sender could have made it */
	memcpy(tag, ct + pt_len, CCM_TAG); /* pt may be ct */
	aes_init(&a, key, 16);
	/* CCM authenticates the plaintext: decrypt, then check. */
	ccm_ctr(&a, nonce, ct, pt_len, pt, s0);
	ccm_mac(&a, nonce, aad, aad_len, pt, pt_len, x);
	for (int i = 0; i < CCM_TAG; i++)
		x[i] ^= s0[i];
	if (!sga_ct_memeq(x, tag, CCM_TAG)) {
		sga_memzero(pt, pt_len);
		rc = -EBADMSG;
	}
	sga_memzero(x, sizeof(x));
	sga_memzero(s0, sizeof(s0));
	sga_memzero(tag, sizeof(tag));
	sga_memzero(&a, sizeof(a));
	return rc;
}

#endif /* SGA_PORTABLE_CCM8 */
#endif /* SGA_PORTABLE_AES */
