/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_p256.c - NIST P-256 (y^2 = x^3 - 3x + b mod p, p = 2^256 - 2^224 +
 * 2^192 + 2^96 - 1) for the portable back end: the sga_p256_* functions of
 * sga_crypto.h with the contract of the OpenSSL back end (offload/sga_ec.c):
 * SEC1 decoding with the on-curve check, x-only ECDH, base-point
 * multiplication with compressed or uncompressed output.
 *
 * Written for a Cortex-M4's flash budget: every choice takes the smaller code
 * over the faster one.
 *   - Field elements are eight 32-bit limbs in Montgomery form (a R mod p,
 *     R = 2^256), always fully reduced (< p). One generic CIOS Montgomery
 *     product serves every multiplication; a limb product is one UMULL/UMLAL
 *     into a 64-bit accumulator, and because p = -1 mod 2^32 the per-limb
 *     quotient is the low limb itself. Solinas' special reduction would be
 *     faster but is several times the code.
 *   - Points are projective (X : Y : Z) and added with the complete formula of
 *     Renes, Costello and Batina (2016, algorithm 4, a = -3): correct for
 *     every pair of inputs, the point at infinity (0 : 1 : 0) and P + P
 *     included, so one function is both addition and doubling and nothing
 *     branches on which case a step hits.
 *   - [k]P is a Montgomery ladder over all 256 bits of k from the point at
 *     infinity, with a masked conditional swap per bit: the same operations
 *     in the same order for every scalar, no table, no memory index that
 *     depends on a secret. About 1.6 times the work of a 4-bit window (512
 *     additions against 256 doublings and 64 additions), which would need
 *     a 1.5 KB table of points on the stack and a masked scan of it.
 *   - Inversion is z^(p-2) and the square root x^((p+1)/4) (p = 3 mod 4),
 *     square-and-multiply on the public bits of the exponent.
 * The scalar, the ladder's points and the result are secrets: they live in
 * one structure per call that is wiped before return; the field functions
 * wipe their own temporaries. Decoding works on a public point and may
 * return early. The scalar range check [1, n-1] is sga_crypto_common.c's,
 * the one the OpenSSL back end uses. The portable back end has no backend
 * switch (sga_portable.h), so sga_p256_ecdh does not dispatch.
 *
 * Compiled only with SGA_GROUPS_P256 (sga_crypto.h): a device for another
 * profile carries none of it.
 */
#include <errno.h>
#include <string.h>

#include "sga_crypto.h"
#include "sga_crypto_common.h"
#include "sga_portable_priv.h"

#if SGA_GROUPS_P256

typedef uint32_t fe[8]; /* little-endian limbs */

struct pt {
	fe x, y, z;
};

/* The constants, little-endian limbs; "mont" ones are a R mod p. */
static const fe fe_p = {0xffffffff, 0xffffffff, 0xffffffff, 0, 0, 0, 1, 0xffffffff};
static const fe fe_r2 = {3, 0, 0xffffffff, 0xfffffffb, 0xfffffffe, 0xffffffff, 0xfffffffd, 4};
static const fe fe_one_mont = {1, 0, 0, 0xffffffff, 0xffffffff, 0xffffffff, 0xfffffffe, 0};
static const fe fe_b_mont = {0x29c4bddf, 0xd89cdf62, 0x78843090, 0xacf005cd,
                             0xf7212ed6, 0xe5a220ab, 0x04874834, 0xdc30061d};
/* G, in Montgomery form with z = 1. */
static const struct pt p256_g = {
    {0x18a9143c, 0x79e730d4, 0x5fedb601, 0x75ba95fc, 0x77622510, 0x79fb732b, 0xa53755c6,
     0x18905f76},
    {0xce95560a, 0xddf25357, 0xba19e45c, 0x8b4ab8e4, 0xdd21f325, 0xd2e88688, 0x25885d85,
     0x8571ff18},
    {1, 0, 0, 0xffffffff, 0xffffffff, 0xffffffff, 0xfffffffe, 0},
};
static const fe exp_p_minus_2 = {0xfffffffd, 0xffffffff, 0xffffffff, 0, 0, 0, 1, 0xffffffff};
static const fe exp_sqrt = {0, 0, 0x40000000, 0, 0, 0x40000000, 0xc0000000, 0x3fffffff};

/* ---- field arithmetic mod p ------------------------------------------------ */

/* r = a - b over 8 limbs; returns the borrow out (0 or 1). */
static uint32_t sub8(uint32_t r[8], const uint32_t a[8], const uint32_t b[8])
{
	uint32_t borrow = 0;

	for (int i = 0; i < 8; i++) {
		uint64_t t = (uint64_t)a[i] - b[i] - borrow;

		r[i] = (uint32_t)t;
		borrow = (uint32_t)(t >> 63);
	}
	return borrow;
}

/* r = hi 2^256 + t reduced once: t - p unless that goes negative. The input
 * is below 2p, so hi = 1 implies the low subtraction borrows, and the borrow
 * of the whole 257-bit difference is borrow & ~hi. */
static void reduce_once(fe r, const uint32_t t[8], uint32_t hi)
{
	uint32_t d[8], keep;

	keep = 0u - (sub8(d, t, fe_p) & ~hi & 1);
	for (int i = 0; i < 8; i++)
		r[i] = (t[i] & keep) | (d[i] & ~keep);
	sga_memzero(d, sizeof(d));
}

static void fe_add(fe r, const fe a, const fe b)
{
	uint32_t s[8];
	uint64_t c = 0;

	for (int i = 0; i < 8; i++) {
		c += (uint64_t)a[i] + b[i];
		s[i] = (uint32_t)c;
		c >>= 32;
	}
	reduce_once(r, s, (uint32_t)c);
	sga_memzero(s, sizeof(s));
}

/* r = a - b, plus p when that borrowed (masked, not branched). */
static void fe_sub(fe r, const fe a, const fe b)
{
	uint32_t mask = 0u - sub8(r, a, b);
	uint64_t c = 0;

	for (int i = 0; i < 8; i++) {
		c += (uint64_t)r[i] + (fe_p[i] & mask);
		r[i] = (uint32_t)c;
		c >>= 32;
	}
}

/* r = a b / R mod p (CIOS). Each round adds a b[i], then m p with m = t[0]
 * (-1/p = 1 mod 2^32), which clears the low limb, and shifts one limb down;
 * the sum stays below 2p, so one conditional subtraction ends it. r may be a
 * or b. */
static void fe_mul(fe r, const fe a, const fe b)
{
	uint32_t t[10];
	uint64_t c;

	memset(t, 0, sizeof(t));
	for (int i = 0; i < 8; i++) {
		uint32_t m;

		c = 0;
		for (int j = 0; j < 8; j++) {
			c += (uint64_t)a[j] * b[i] + t[j];
			t[j] = (uint32_t)c;
			c >>= 32;
		}
		c += t[8];
		t[8] = (uint32_t)c;
		t[9] = (uint32_t)(c >> 32);
		m = t[0];
		c = ((uint64_t)m * fe_p[0] + t[0]) >> 32;
		for (int j = 1; j < 8; j++) {
			c += (uint64_t)m * fe_p[j] + t[j];
			t[j - 1] = (uint32_t)c;
			c >>= 32;
		}
		c += t[8];
		t[7] = (uint32_t)c;
		t[8] = t[9] + (uint32_t)(c >> 32);
	}
	reduce_once(r, t, t[8]);
	sga_memzero(t, sizeof(t));
}

/* r = a^e, e public: its bits may steer. r may be a. */
static void fe_pow(fe r, const fe a, const fe e)
{
	fe x, base;

	memcpy(base, a, sizeof(base));
	memcpy(x, fe_one_mont, sizeof(x));
	for (int i = 255; i >= 0; i--) {
		fe_mul(x, x, x);
		if (e[i / 32] >> (i % 32) & 1)
			fe_mul(x, x, base);
	}
	memcpy(r, x, sizeof(x));
	sga_memzero(x, sizeof(x));
	sga_memzero(base, sizeof(base));
}

/* 1 if a == b (both reduced). Constant time; only the verdict leaks. */
static int fe_eq(const fe a, const fe b)
{
	uint32_t d = 0;

	for (int i = 0; i < 8; i++)
		d |= a[i] ^ b[i];
	return (int)(((d | (0u - d)) >> 31) ^ 1); /* (d | -d) has bit 31 set iff d != 0 */
}

/* Big-endian bytes -> Montgomery form; -EINVAL for a value >= p (public). */
static int fe_decode(fe r, const uint8_t in[32])
{
	uint32_t d[8];

	for (int i = 0; i < 8; i++)
		r[i] = sga_load32_be(in + 4 * (7 - i));
	if (!sub8(d, r, fe_p))
		return -EINVAL;
	fe_mul(r, r, fe_r2);
	return 0;
}

/* Montgomery form -> canonical big-endian bytes. */
static void fe_encode(uint8_t out[32], const fe a)
{
	fe t, one = {1}; /* a product with a plain 1 leaves the form */

	fe_mul(t, a, one);
	for (int i = 0; i < 8; i++)
		sga_store32_be(out + 4 * (7 - i), t[i]);
	sga_memzero(t, sizeof(t));
}

/* ---- points ---------------------------------------------------------------- */

/* The registers of the addition formula: the two inputs, the paper's t0..t4
 * and X3, Y3, Z3, and the curve's b. */
enum { X1, Y1, Z1, X2, Y2, Z2, T0, T1, T2, T3, T4, X3, Y3, Z3, B };
enum { ADD, SUB, MUL }; /* index into pt_add's ops[] */
#define OP(op, d, x, y) (uint16_t)((op) << 12 | (d) << 8 | (x) << 4 | (y))

/* Renes, Costello and Batina 2016, algorithm 4 (complete addition, a = -3),
 * step by step as the paper numbers them: d = x op y. A table of 86 bytes
 * run by a loop instead of 43 calls in line: a quarter of the code. The
 * sequence is fixed, so it says nothing about the values. */
static const uint16_t rcb_add[43] = {
    OP(MUL, T0, X1, X2), OP(MUL, T1, Y1, Y2), OP(MUL, T2, Z1, Z2), /* 1-3 */
    OP(ADD, T3, X1, Y1), OP(ADD, T4, X2, Y2), OP(MUL, T3, T3, T4), /* 4-6 */
    OP(ADD, T4, T0, T1), OP(SUB, T3, T3, T4), OP(ADD, T4, Y1, Z1), /* 7-9 */
    OP(ADD, X3, Y2, Z2), OP(MUL, T4, T4, X3), OP(ADD, X3, T1, T2), /* 10-12 */
    OP(SUB, T4, T4, X3), OP(ADD, X3, X1, Z1), OP(ADD, Y3, X2, Z2), /* 13-15 */
    OP(MUL, X3, X3, Y3), OP(ADD, Y3, T0, T2), OP(SUB, Y3, X3, Y3), /* 16-18 */
    OP(MUL, Z3, B, T2),  OP(SUB, X3, Y3, Z3), OP(ADD, Z3, X3, X3), /* 19-21 */
    OP(ADD, X3, X3, Z3), OP(SUB, Z3, T1, X3), OP(ADD, X3, T1, X3), /* 22-24 */
    OP(MUL, Y3, B, Y3),  OP(ADD, T1, T2, T2), OP(ADD, T2, T1, T2), /* 25-27 */
    OP(SUB, Y3, Y3, T2), OP(SUB, Y3, Y3, T0), OP(ADD, T1, Y3, Y3), /* 28-30 */
    OP(ADD, Y3, T1, Y3), OP(ADD, T1, T0, T0), OP(ADD, T0, T1, T0), /* 31-33 */
    OP(SUB, T0, T0, T2), OP(MUL, T1, T4, Y3), OP(MUL, T2, T0, Y3), /* 34-36 */
    OP(MUL, Y3, X3, Z3), OP(ADD, Y3, Y3, T2), OP(MUL, X3, T3, X3), /* 37-39 */
    OP(SUB, X3, X3, T1), OP(MUL, Z3, T4, Z3), OP(MUL, T1, T3, T0), /* 40-42 */
    OP(ADD, Z3, Z3, T1),                                           /* 43-43 */
};

/* r = a + b for any two points, the point at infinity and a = b included. r
 * may be a or b: the result is built in t and copied. */
static void pt_add(struct pt *r, const struct pt *a, const struct pt *b)
{
	static void (*const ops[3])(fe, const fe, const fe) = {fe_add, fe_sub, fe_mul};
	fe t[8]; /* T0 .. Z3 */
	const uint32_t *reg[15] = {a->x, a->y, a->z, b->x, b->y, b->z, t[0],     t[1],
	                           t[2], t[3], t[4], t[5], t[6], t[7], fe_b_mont};

	for (size_t i = 0; i < sizeof(rcb_add) / sizeof(rcb_add[0]); i++) {
		unsigned op = rcb_add[i];

		ops[op >> 12](t[(op >> 8 & 15) - T0], reg[op >> 4 & 15], reg[op & 15]);
	}
	memcpy(r->x, t[X3 - T0], sizeof(fe));
	memcpy(r->y, t[Y3 - T0], sizeof(fe));
	memcpy(r->z, t[Z3 - T0], sizeof(fe));
	sga_memzero(t, sizeof(t));
}

/* Swap a and b when swap is 1, leave them when 0: masked, no branch. */
static void pt_cswap(struct pt *a, struct pt *b, uint32_t swap)
{
	uint32_t mask = 0u - swap, *x = &a->x[0], *y = &b->x[0];

	for (size_t i = 0; i < sizeof(struct pt) / sizeof(uint32_t); i++) {
		uint32_t d = mask & (x[i] ^ y[i]);

		x[i] ^= d;
		y[i] ^= d;
	}
}

/* Decode a SEC1 point as sga_p256_point_ok defines it, into affine Montgomery
 * coordinates with z = 1; 0 or -EINVAL. The point is public. */
static int pt_decode(struct pt *r, const uint8_t *in, size_t len)
{
	fe rhs, y2;
	uint8_t y_bytes[32];

	if (in == NULL || !((len == SGA_P256_COMPRESSED_LEN && (in[0] == 2 || in[0] == 3)) ||
	                    (len == SGA_P256_UNCOMPRESSED_LEN && in[0] == 4)))
		return -EINVAL;
	if (fe_decode(r->x, in + 1) != 0)
		return -EINVAL;
	/* rhs = x^3 - 3x + b */
	fe_mul(rhs, r->x, r->x);
	fe_mul(rhs, rhs, r->x);
	fe_sub(rhs, rhs, r->x);
	fe_sub(rhs, rhs, r->x);
	fe_sub(rhs, rhs, r->x);
	fe_add(rhs, rhs, fe_b_mont);
	if (len == SGA_P256_UNCOMPRESSED_LEN) {
		if (fe_decode(r->y, in + 33) != 0)
			return -EINVAL;
	} else {
		/* The candidate root; it is one only if rhs is a square. */
		fe_pow(r->y, rhs, exp_sqrt);
	}
	/* The on-curve check (for a compressed point: that the root exists). */
	fe_mul(y2, r->y, r->y);
	if (!fe_eq(y2, rhs))
		return -EINVAL;
	if (len == SGA_P256_COMPRESSED_LEN) {
		/* Prefix 02 is the even y, 03 the odd one; y = 0 has no point
		 * (the group has odd order), so -y always has the other parity. */
		fe_encode(y_bytes, r->y);
		if ((y_bytes[31] ^ in[0]) & 1) {
			memset(y2, 0, sizeof(y2));
			fe_sub(r->y, y2, r->y);
		}
	}
	memcpy(r->z, fe_one_mont, sizeof(fe));
	return 0;
}

/* out = [scalar]base (base NULL: G), as x alone (x_only, 32 bytes) or SEC1
 * compressed/uncompressed by out_len. The contract and errors of sga_ec.c's
 * p256_mul: out is zeroed on every error. */
static int p256_mul(const uint8_t *scalar, const uint8_t *base, size_t base_len, int x_only,
                    uint8_t *out, size_t out_len)
{
	/* Every secret of the call in one place, wiped once. */
	struct {
		struct pt q, r0, r1;
		fe zinv;
		uint8_t enc[SGA_P256_UNCOMPRESSED_LEN];
	} s;
	uint32_t swap = 0, z_or = 0;
	int rc = -EINVAL;

	if (scalar == NULL || out == NULL || !sga_p256_scalar_in_range(scalar))
		goto out;
	if (x_only ? out_len != SGA_P256_X_LEN
	           : (out_len != SGA_P256_COMPRESSED_LEN && out_len != SGA_P256_UNCOMPRESSED_LEN))
		goto out;
	if (base != NULL) {
		if (pt_decode(&s.q, base, base_len) != 0)
			goto out;
	} else {
		s.q = p256_g;
	}
	/* r0 = infinity, r1 = q; per bit from the top, (r0, r1) becomes
	 * (2 r0, r0 + r1) or, swapped around the same two additions,
	 * (r0 + r1, 2 r1): r1 - r0 = q throughout and r0 ends as [scalar]q. */
	memset(&s.r0, 0, sizeof(s.r0));
	memcpy(s.r0.y, fe_one_mont, sizeof(fe));
	s.r1 = s.q;
	for (int i = 255; i >= 0; i--) {
		uint32_t bit = (uint32_t)(scalar[31 - i / 8] >> (i % 8)) & 1;

		swap ^= bit;
		pt_cswap(&s.r0, &s.r1, swap);
		swap = bit;
		pt_add(&s.r1, &s.r0, &s.r1);
		pt_add(&s.r0, &s.r0, &s.r0);
	}
	pt_cswap(&s.r0, &s.r1, swap);
	/* With q of order n and the scalar in [1, n-1] this is not the point at
	 * infinity; checked anyway, as sga_ec.c does (the verdict alone leaks). */
	for (int i = 0; i < 8; i++)
		z_or |= s.r0.z[i];
	if (z_or == 0)
		goto out;
	fe_pow(s.zinv, s.r0.z, exp_p_minus_2);
	/* Encoded once as 04 || x || y; the three outputs are parts of it. */
	fe_mul(s.r0.x, s.r0.x, s.zinv);
	fe_mul(s.r0.y, s.r0.y, s.zinv);
	s.enc[0] = 4;
	fe_encode(s.enc + 1, s.r0.x);
	fe_encode(s.enc + 33, s.r0.y);
	if (out_len == SGA_P256_COMPRESSED_LEN)
		s.enc[0] = (uint8_t)(2 | (s.enc[64] & 1));
	memcpy(out, x_only ? s.enc + 1 : s.enc, out_len);
	rc = 0;
out:
	if (rc != 0 && out != NULL)
		sga_memzero(out, out_len);
	sga_memzero(&s, sizeof(s));
	return rc;
}

/* ---- sga_crypto.h ------------------------------------------------------------ */

int sga_p256_point_ok(const uint8_t *point, size_t len)
{
	struct pt q;

	return pt_decode(&q, point, len) == 0;
}

int sga_p256_ecdh(const uint8_t scalar[SGA_P256_SCALAR_LEN], const uint8_t *point, size_t point_len,
                  uint8_t x[SGA_P256_X_LEN])
{
	if (point == NULL || x == NULL)
		return -EINVAL;
	return p256_mul(scalar, point, point_len, 1, x, SGA_P256_X_LEN);
}

int sga_p256_base_mul(const uint8_t scalar[SGA_P256_SCALAR_LEN], uint8_t *out, size_t out_len)
{
	return p256_mul(scalar, NULL, 0, 0, out, out_len);
}

int sga_p256_scalar_random(uint8_t scalar[SGA_P256_SCALAR_LEN])
{
	if (scalar == NULL)
		return -EINVAL;
	/* n is just below 2^256: a draw is out of range with probability ~2^-32. */
	for (int tries = 0; tries < 16; tries++) {
		if (sga_random_bytes(scalar, SGA_P256_SCALAR_LEN) != 0)
			break;
		if (sga_p256_scalar_in_range(scalar))
			return 0;
	}
	sga_memzero(scalar, SGA_P256_SCALAR_LEN);
	return -EIO;
}

#endif /* SGA_GROUPS_P256 */
