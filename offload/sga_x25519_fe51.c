/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_x25519_fe51.c - X25519 (RFC 7748 section 5) for the host back end, on
 * 64-bit arithmetic.
 *
 * Field elements mod p = 2^255 - 19 are five 51-bit limbs (radix 2^51) in
 * uint64_t; a product of two limbs is one 64x64->128 multiply (unsigned
 * __int128), and 2^255 = 19 (mod p) folds the upper half of a product back,
 * so a field multiplication is 25 multiplies and one carry chain. Elements
 * are kept "loose" (limbs a little above 2^51, see the bounds below) and only
 * the encoding reduces to the canonical value.
 *
 * The ladder is the RFC's, step by step, with a masked conditional swap per
 * scalar bit: no branch and no memory index depends on the scalar, u or any
 * intermediate value. The inversion is z^(p-2) by a fixed chain of squarings
 * and multiplications (Fermat). The decoding masks bit 255 of u and accepts
 * a non-canonical u in [p, 2^255) as the RFC says; the scalar is clamped as
 * the RFC's decodeScalar25519 does. Every secret on the stack (the clamped
 * scalar, the ladder state, the inversion temporaries) is wiped before return.
 *
 * Bounds. "Reduced" means every limb below 2^51 + 2^16: what fe_mul, fe_sq and
 * fe_mul_small return, and what fe_frombytes returns (below 2^51). fe_add of
 * two reduced elements is below 2^53 per limb; fe_sub adds 2p first (limbs
 * 2^52 - 38 and 2^52 - 2, above any reduced limb, so nothing wraps) and is
 * below 2^53 too. fe_mul and fe_sq take inputs below 2^53: each column is at
 * most 1 + 4 * 19 = 77 products below 2^106, so below 2^113 in the 128-bit
 * accumulator; each carry is below 2^62, and the last one is folded times 19
 * in 128 bits (adding below 2^16 to limb 1). The ladder subtracts only
 * reduced elements (products) and multiplies only reduced elements and sums
 * and differences of two of them, so the bounds hold.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "sga_crypto.h"
#include "sga_crypto_common.h"
#include "sga_crypto_priv.h"

__extension__ typedef unsigned __int128 u128;
typedef uint64_t fe[5];

#define MASK51 ((UINT64_C(1) << 51) - 1)

/* RFC 7748 decodeUCoordinate: little-endian, bit 255 masked; a value in
 * [p, 2^255) stays as it is (the arithmetic is mod p anyway). */
static void fe_frombytes(fe h, const uint8_t s[32])
{
	uint64_t w0 = sga_load64_le(s), w1 = sga_load64_le(s + 8), w2 = sga_load64_le(s + 16),
	         w3 = sga_load64_le(s + 24);

	h[0] = w0 & MASK51;
	h[1] = (w0 >> 51 | w1 << 13) & MASK51;
	h[2] = (w1 >> 38 | w2 << 26) & MASK51;
	h[3] = (w2 >> 25 | w3 << 39) & MASK51;
	h[4] = (w3 >> 12) & MASK51; /* drops bit 255 */
}

/* One carry pass: every limb below 2^51 except limb 0, which gets 19 times
 * the carry out of limb 4. */
static void fe_carry(fe h)
{
	uint64_t c;

	c = h[0] >> 51;
	h[0] &= MASK51;
	h[1] += c;
	c = h[1] >> 51;
	h[1] &= MASK51;
	h[2] += c;
	c = h[2] >> 51;
	h[2] &= MASK51;
	h[3] += c;
	c = h[3] >> 51;
	h[3] &= MASK51;
	h[4] += c;
	c = h[4] >> 51;
	h[4] &= MASK51;
	h[0] += c * 19;
}

/* RFC 7748 encodeUCoordinate: the canonical value (below p), little-endian. */
static void fe_tobytes(uint8_t s[32], const fe f)
{
	fe h;
	uint64_t q;

	memcpy(h, f, sizeof(h));
	fe_carry(h);
	fe_carry(h);
	/* Now limbs 1..4 are below 2^51 and limb 0 below 2^51 + 19, so the value
	 * H is below 2^255 + 19 < 2p. q = (H + 19) >> 255 is 1 exactly when
	 * H >= p; H - q * p = H + 19q - q * 2^255. */
	q = (h[0] + 19) >> 51;
	q = (h[1] + q) >> 51;
	q = (h[2] + q) >> 51;
	q = (h[3] + q) >> 51;
	q = (h[4] + q) >> 51;
	h[0] += 19 * q;
	h[1] += h[0] >> 51;
	h[0] &= MASK51;
	h[2] += h[1] >> 51;
	h[1] &= MASK51;
	h[3] += h[2] >> 51;
	h[2] &= MASK51;
	h[4] += h[3] >> 51;
	h[3] &= MASK51;
	h[4] &= MASK51; /* the 2^255 of q * p */
	sga_store64_le(s, h[0] | h[1] << 51);
	sga_store64_le(s + 8, h[1] >> 13 | h[2] << 38);
	sga_store64_le(s + 16, h[2] >> 26 | h[3] << 25);
	sga_store64_le(s + 24, h[3] >> 39 | h[4] << 12);
	sga_memzero(h, sizeof(h));
}

static void fe_add(fe h, const fe f, const fe g)
{
	for (int i = 0; i < 5; i++)
		h[i] = f[i] + g[i];
}

/* h = f - g + 2p; g reduced. */
static void fe_sub(fe h, const fe f, const fe g)
{
	h[0] = f[0] + (UINT64_C(0xfffffffffffda)) - g[0];
	h[1] = f[1] + (UINT64_C(0xffffffffffffe)) - g[1];
	h[2] = f[2] + (UINT64_C(0xffffffffffffe)) - g[2];
	h[3] = f[3] + (UINT64_C(0xffffffffffffe)) - g[3];
	h[4] = f[4] + (UINT64_C(0xffffffffffffe)) - g[4];
}

/* The carry chain of a product: r[0..4] are the 128-bit columns. Always
 * inlined: five 128-bit arguments would go through the stack. */
static inline __attribute__((always_inline)) void fe_reduce128(fe h, u128 r0, u128 r1, u128 r2,
                                                               u128 r3, u128 r4)
{
	uint64_t c;
	u128 t;

	c = (uint64_t)(r0 >> 51);
	h[0] = (uint64_t)r0 & MASK51;
	r1 += c;
	c = (uint64_t)(r1 >> 51);
	h[1] = (uint64_t)r1 & MASK51;
	r2 += c;
	c = (uint64_t)(r2 >> 51);
	h[2] = (uint64_t)r2 & MASK51;
	r3 += c;
	c = (uint64_t)(r3 >> 51);
	h[3] = (uint64_t)r3 & MASK51;
	r4 += c;
	c = (uint64_t)(r4 >> 51);
	h[4] = (uint64_t)r4 & MASK51;
	t = (u128)c * 19 + h[0];
	h[0] = (uint64_t)t & MASK51;
	h[1] += (uint64_t)(t >> 51);
}

static void fe_mul(fe h, const fe f, const fe g)
{
	uint64_t f0 = f[0], f1 = f[1], f2 = f[2], f3 = f[3], f4 = f[4];
	uint64_t g0 = g[0], g1 = g[1], g2 = g[2], g3 = g[3], g4 = g[4];
	uint64_t g1_19 = 19 * g1, g2_19 = 19 * g2, g3_19 = 19 * g3, g4_19 = 19 * g4;
	u128 r0, r1, r2, r3, r4;

	r0 = (u128)f0 * g0 + (u128)f1 * g4_19 + (u128)f2 * g3_19 + (u128)f3 * g2_19 +
	     (u128)f4 * g1_19;
	r1 = (u128)f0 * g1 + (u128)f1 * g0 + (u128)f2 * g4_19 + (u128)f3 * g3_19 + (u128)f4 * g2_19;
	r2 = (u128)f0 * g2 + (u128)f1 * g1 + (u128)f2 * g0 + (u128)f3 * g4_19 + (u128)f4 * g3_19;
	r3 = (u128)f0 * g3 + (u128)f1 * g2 + (u128)f2 * g1 + (u128)f3 * g0 + (u128)f4 * g4_19;
	r4 = (u128)f0 * g4 + (u128)f1 * g3 + (u128)f2 * g2 + (u128)f3 * g1 + (u128)f4 * g0;
	fe_reduce128(h, r0, r1, r2, r3, r4);
}

static void fe_sq(fe h, const fe f)
{
	uint64_t f0 = f[0], f1 = f[1], f2 = f[2], f3 = f[3], f4 = f[4];
	uint64_t f0_2 = 2 * f0, f1_2 = 2 * f1;
	uint64_t f3_19 = 19 * f3, f3_38 = 38 * f3, f4_19 = 19 * f4, f4_38 = 38 * f4;
	u128 r0, r1, r2, r3, r4;

	r0 = (u128)f0 * f0 + (u128)f1 * f4_38 + (u128)f2 * f3_38;
	r1 = (u128)f0_2 * f1 + (u128)f2 * f4_38 + (u128)f3 * f3_19;
	r2 = (u128)f0_2 * f2 + (u128)f1 * f1 + (u128)f3 * f4_38;
	r3 = (u128)f0_2 * f3 + (u128)f1_2 * f2 + (u128)f4 * f4_19;
	r4 = (u128)f0_2 * f4 + (u128)f1_2 * f3 + (u128)f2 * f2;
	fe_reduce128(h, r0, r1, r2, r3, r4);
}

/* h = f^(2^n), n >= 1. */
static void fe_sqn(fe h, const fe f, int n)
{
	fe_sq(h, f);
	while (--n > 0)
		fe_sq(h, h);
}

/* h = f * c, c below 2^32 (the ladder's a24 = 121665). */
static void fe_mul_small(fe h, const fe f, uint32_t c)
{
	fe_reduce128(h, (u128)f[0] * c, (u128)f[1] * c, (u128)f[2] * c, (u128)f[3] * c,
	             (u128)f[4] * c);
}

/* Swap f and g if swap is 1, leave them if 0: by mask, without a branch. */
static void fe_cswap(fe f, fe g, uint64_t swap)
{
	uint64_t mask = sga_value_barrier(0 - swap);

	for (int i = 0; i < 5; i++) {
		uint64_t t = mask & (f[i] ^ g[i]);

		f[i] ^= t;
		g[i] ^= t;
	}
}

/* The temporaries of the inversion, in one place to be wiped. */
struct fe51_inv {
	fe z2, z9, z11, z2_5_0, z2_10_0, z2_20_0, z2_50_0, z2_100_0, t;
};

/* h = z^(p-2) = z^(2^255 - 21), which is 1/z for z != 0 and 0 for z = 0. */
static void fe_invert(fe h, const fe z, struct fe51_inv *v)
{
	fe_sq(v->z2, z);                     /* 2 */
	fe_sqn(v->t, v->z2, 2);              /* 8 */
	fe_mul(v->z9, v->t, z);              /* 9 */
	fe_mul(v->z11, v->z9, v->z2);        /* 11 */
	fe_sq(v->t, v->z11);                 /* 22 */
	fe_mul(v->z2_5_0, v->t, v->z9);      /* 2^5 - 1 */
	fe_sqn(v->t, v->z2_5_0, 5);          /* 2^10 - 2^5 */
	fe_mul(v->z2_10_0, v->t, v->z2_5_0); /* 2^10 - 1 */
	fe_sqn(v->t, v->z2_10_0, 10);
	fe_mul(v->z2_20_0, v->t, v->z2_10_0); /* 2^20 - 1 */
	fe_sqn(v->t, v->z2_20_0, 20);
	fe_mul(v->t, v->t, v->z2_20_0); /* 2^40 - 1 */
	fe_sqn(v->t, v->t, 10);
	fe_mul(v->z2_50_0, v->t, v->z2_10_0); /* 2^50 - 1 */
	fe_sqn(v->t, v->z2_50_0, 50);
	fe_mul(v->z2_100_0, v->t, v->z2_50_0); /* 2^100 - 1 */
	fe_sqn(v->t, v->z2_100_0, 100);
	fe_mul(v->t, v->t, v->z2_100_0); /* 2^200 - 1 */
	fe_sqn(v->t, v->t, 50);
	fe_mul(v->t, v->t, v->z2_50_0); /* 2^250 - 1 */
	fe_sqn(v->t, v->t, 5);          /* 2^255 - 2^5 */
	fe_mul(h, v->t, v->z11);        /* 2^255 - 21 */
}

/* Everything secret the ladder holds, in one place to be wiped. */
struct fe51_ladder {
	uint8_t k[32];
	fe x1, x2, z2, x3, z3;
	fe a, aa, b, bb, e, c, d, da, cb;
	struct fe51_inv inv;
};

void sga_x25519_fe51(const uint8_t scalar[SGA_X25519_LEN], const uint8_t u[SGA_X25519_LEN],
                     uint8_t out[SGA_X25519_LEN])
{
	struct fe51_ladder s;
	uint64_t swap = 0;

	sga_x25519_clamp(s.k, scalar); /* RFC 7748 decodeScalar25519 */

	fe_frombytes(s.x1, u);
	memset(s.x2, 0, sizeof(s.x2));
	s.x2[0] = 1;
	memset(s.z2, 0, sizeof(s.z2));
	memcpy(s.x3, s.x1, sizeof(s.x3));
	memset(s.z3, 0, sizeof(s.z3));
	s.z3[0] = 1;

	for (int t = 254; t >= 0; t--) {
		uint64_t k_t = (uint64_t)(s.k[t >> 3] >> (t & 7)) & 1;

		swap ^= k_t;
		fe_cswap(s.x2, s.x3, swap);
		fe_cswap(s.z2, s.z3, swap);
		swap = k_t;

		fe_add(s.a, s.x2, s.z2);  /* A = x_2 + z_2 */
		fe_sq(s.aa, s.a);         /* AA = A^2 */
		fe_sub(s.b, s.x2, s.z2);  /* B = x_2 - z_2 */
		fe_sq(s.bb, s.b);         /* BB = B^2 */
		fe_sub(s.e, s.aa, s.bb);  /* E = AA - BB */
		fe_add(s.c, s.x3, s.z3);  /* C = x_3 + z_3 */
		fe_sub(s.d, s.x3, s.z3);  /* D = x_3 - z_3 */
		fe_mul(s.da, s.d, s.a);   /* DA = D * A */
		fe_mul(s.cb, s.c, s.b);   /* CB = C * B */
		fe_add(s.x3, s.da, s.cb); /* x_3 = (DA + CB)^2 */
		fe_sq(s.x3, s.x3);
		fe_sub(s.z3, s.da, s.cb); /* z_3 = x_1 * (DA - CB)^2 */
		fe_sq(s.z3, s.z3);
		fe_mul(s.z3, s.x1, s.z3);
		fe_mul(s.x2, s.aa, s.bb);       /* x_2 = AA * BB */
		fe_mul_small(s.a, s.e, 121665); /* z_2 = E * (AA + a24 * E) */
		fe_add(s.a, s.aa, s.a);
		fe_mul(s.z2, s.e, s.a);
	}
	fe_cswap(s.x2, s.x3, swap);
	fe_cswap(s.z2, s.z3, swap);

	/* x_2 * z_2^(p-2); z_2 = 0 (u of small order) gives 0. */
	fe_invert(s.z2, s.z2, &s.inv);
	fe_mul(s.x2, s.x2, s.z2);
	fe_tobytes(out, s.x2);
	sga_memzero(&s, sizeof(s));
}
