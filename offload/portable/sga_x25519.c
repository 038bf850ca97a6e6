/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_x25519.c - X25519 (RFC 7748 section 5) for the portable back end.
 *
 * Field elements mod p = 2^255 - 19 are eight 32-bit limbs (radix 2^32), the
 * shape a Cortex-M4 multiplies fastest: every limb product is one UMULL/UMLAL
 * into a 64-bit accumulator. Elements are kept below 2^256, not fully
 * reduced, and folded with 2^256 = 38 (mod p); only the final encoding is
 * reduced to the canonical value. The ladder is the RFC's, with a masked
 * conditional swap per scalar bit and no branch or memory index depending on
 * the scalar, u or any intermediate value; the inversion is z^(p-2) on the
 * public bits of p-2. The result check (all zero: u of small order) is the
 * RFC's section 6.1 check, done after the constant-time work.
 */
#include <errno.h>
#include <string.h>

#include "sga_crypto.h"
#include "sga_crypto_common.h"
#include "sga_portable_priv.h"

typedef uint32_t fe[8];

/* r = a + 38 * c, c < 2^32 small: one carry chain, the carry out folded again. */
static void fold(fe r, const uint32_t a[8], uint64_t c)
{
	uint64_t t = c * 38;

	for (int i = 0; i < 8; i++) {
		t += a[i];
		r[i] = (uint32_t)t;
		t >>= 32;
	}
	/* t is 0 or 1 here; a second carry out is impossible (r < 38 then). */
	t *= 38;
	for (int i = 0; i < 8; i++) {
		t += r[i];
		r[i] = (uint32_t)t;
		t >>= 32;
	}
}

static void fe_add(fe r, const fe a, const fe b)
{
	uint64_t t = 0;
	uint32_t s[8];

	for (int i = 0; i < 8; i++) {
		t += (uint64_t)a[i] + b[i];
		s[i] = (uint32_t)t;
		t >>= 32;
	}
	fold(r, s, t);
}

/* r = a - b - sub (b NULL: zero; sub small); returns the borrow out, 0 or 1.
 * Unsigned throughout: a limb difference that wrapped has its top bit set. */
static uint32_t sub_chain(uint32_t *r, const uint32_t *a, const uint32_t *b, uint32_t sub)
{
	uint32_t borrow = sub;

	for (int i = 0; i < 8; i++) {
		uint64_t t = (uint64_t)a[i] - (b != NULL ? b[i] : 0) - borrow;

		r[i] = (uint32_t)t;
		borrow = (uint32_t)(t >> 63);
	}
	return borrow;
}

/* r = a - b: a borrow out of the top means 2^256 too little, i.e. 38 too
 * much; taking 38 off once more can borrow only if r was below 38, and then
 * the second time cannot. */
static void fe_sub(fe r, const fe a, const fe b)
{
	uint32_t borrow = sub_chain(r, a, b, 0);

	borrow = sub_chain(r, r, NULL, 38 * borrow);
	sub_chain(r, r, NULL, 38 * borrow);
}

static void fe_mul(fe r, const fe a, const fe b)
{
	uint32_t w[16];
	uint64_t t;

	memset(w, 0, sizeof(w));
	for (int i = 0; i < 8; i++) {
		t = 0;
		for (int j = 0; j < 8; j++) {
			t += (uint64_t)a[i] * b[j] + w[i + j];
			w[i + j] = (uint32_t)t;
			t >>= 32;
		}
		w[i + 8] = (uint32_t)t;
	}
	/* w = lo + 2^256 hi = lo + 38 hi (mod p). */
	t = 0;
	for (int i = 0; i < 8; i++) {
		t += (uint64_t)w[i + 8] * 38 + w[i];
		w[i] = (uint32_t)t;
		t >>= 32;
	}
	fold(r, w, t);
}

static void fe_sq(fe r, const fe a)
{
	fe_mul(r, a, a);
}

static void fe_mul_a24(fe r, const fe a)
{
	/* (A - 2) / 4 = 121665 for curve25519 (RFC 7748 section 5). */
	uint32_t s[8];
	uint64_t t = 0;

	for (int i = 0; i < 8; i++) {
		t += (uint64_t)a[i] * 121665;
		s[i] = (uint32_t)t;
		t >>= 32;
	}
	fold(r, s, t);
}

static void fe_cswap(fe a, fe b, uint32_t swap)
{
	uint32_t mask = 0u - swap;

	for (int i = 0; i < 8; i++) {
		uint32_t x = mask & (a[i] ^ b[i]);

		a[i] ^= x;
		b[i] ^= x;
	}
}

/* r = z^(p-2) = 1/z; p - 2 = 2^255 - 21 is public, so its bits may steer. */
static void fe_inv(fe r, const fe z)
{
	fe x;

	memcpy(x, z, sizeof(x));
	for (int i = 253; i >= 0; i--) {
		fe_sq(x, x);
		/* 2^255 - 21 is ...11101011: bits 2 and 4 are 0; bit 254 was the start. */
		if (i != 2 && i != 4)
			fe_mul(x, x, z);
	}
	memcpy(r, x, sizeof(x));
	sga_memzero(x, sizeof(x));
}

/* Canonical little-endian bytes of a (< 2^256). */
static void fe_encode(uint8_t out[32], const fe a)
{
	uint32_t r[8], t[8], top, mask;
	uint64_t c;

	/* Fold bit 255: r < 2^255 + 19. */
	top = a[7] >> 31;
	memcpy(r, a, sizeof(r));
	r[7] &= 0x7fffffff;
	c = (uint64_t)top * 19;
	for (int i = 0; i < 8; i++) {
		c += r[i];
		r[i] = (uint32_t)c;
		c >>= 32;
	}
	/* r >= p exactly when r + 19 reaches 2^255; then r - p = r + 19 - 2^255. */
	c = 19;
	for (int i = 0; i < 8; i++) {
		c += r[i];
		t[i] = (uint32_t)c;
		c >>= 32;
	}
	mask = 0u - (t[7] >> 31);
	t[7] &= 0x7fffffff;
	for (int i = 0; i < 8; i++)
		sga_store32_le(out + 4 * i, (r[i] & ~mask) | (t[i] & mask));
	sga_memzero(r, sizeof(r));
	sga_memzero(t, sizeof(t));
}

int sga_x25519(const uint8_t scalar[SGA_X25519_LEN], const uint8_t *u, uint8_t out[SGA_X25519_LEN])
{
	static const uint8_t base[SGA_X25519_LEN] = {9};
	/* Every secret of the ladder in one place, wiped once. */
	struct {
		uint8_t k[32];
		fe x1, x2, z2, x3, z3, a, aa, b, bb, e, c, d, da, cb;
	} s;
	uint8_t acc = 0;
	uint32_t swap = 0;

	if (scalar == NULL || out == NULL)
		return -EINVAL;
	if (u == NULL)
		u = base;
	/* RFC 7748 section 5: clamp the scalar, mask bit 255 of u. */
	sga_x25519_clamp(s.k, scalar);
	for (int i = 0; i < 8; i++)
		s.x1[i] = sga_load32_le(u + 4 * i);
	s.x1[7] &= 0x7fffffff;
	memset(s.x2, 0, sizeof(s.x2));
	s.x2[0] = 1;
	memset(s.z2, 0, sizeof(s.z2));
	memcpy(s.x3, s.x1, sizeof(s.x3));
	memset(s.z3, 0, sizeof(s.z3));
	s.z3[0] = 1;
	for (int t = 254; t >= 0; t--) {
		uint32_t kt = (s.k[t >> 3] >> (t & 7)) & 1;

		swap ^= kt;
		fe_cswap(s.x2, s.x3, swap);
		fe_cswap(s.z2, s.z3, swap);
		swap = kt;
		fe_add(s.a, s.x2, s.z2);
		fe_sq(s.aa, s.a);
		fe_sub(s.b, s.x2, s.z2);
		fe_sq(s.bb, s.b);
		fe_sub(s.e, s.aa, s.bb);
		fe_add(s.c, s.x3, s.z3);
		fe_sub(s.d, s.x3, s.z3);
		fe_mul(s.da, s.d, s.a);
		fe_mul(s.cb, s.c, s.b);
		fe_add(s.x3, s.da, s.cb);
		fe_sq(s.x3, s.x3);
		fe_sub(s.z3, s.da, s.cb);
		fe_sq(s.z3, s.z3);
		fe_mul(s.z3, s.z3, s.x1);
		fe_mul(s.x2, s.aa, s.bb);
		fe_mul_a24(s.z2, s.e);
		fe_add(s.z2, s.z2, s.aa);
		fe_mul(s.z2, s.z2, s.e);
	}
	fe_cswap(s.x2, s.x3, swap);
	fe_cswap(s.z2, s.z3, swap);
	fe_inv(s.z2, s.z2);
	fe_mul(s.x2, s.x2, s.z2);
	fe_encode(out, s.x2);
	for (int i = 0; i < SGA_X25519_LEN; i++)
		acc |= out[i];
	sga_memzero(&s, sizeof(s));
	if (acc == 0)
		return -EINVAL; /* out is all zero: nothing secret in it */
	return 0;
}
