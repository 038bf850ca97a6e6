/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_ec.c - the EC profile's crypto layer: sga_x25519 against RFC 7748,
 * the x25519 element check, the group operation of every group, and HPKE
 * base mode against RFC 9180 appendix A.2.1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "sga_crypto.h"
#include "sga_crypto_priv.h"
#include "sga_hpke.h"

static void unhex(const char *s, uint8_t *out, size_t n)
{
	cr_assert_eq(strlen(s), 2 * n, "hex length");
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		cr_assert_eq(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

#define HEX(name, s)                 \
	uint8_t name[sizeof(s) / 2]; \
	unhex(s, name, sizeof(name))

/* RFC 7748 section 6.1: Alice's and Bob's keys and their shared secret. */
Test(x25519, rfc7748_section_6_1)
{
	HEX(a, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	HEX(a_pub, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	HEX(b, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	HEX(b_pub, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	HEX(k, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	uint8_t out[32];

	cr_assert_eq(sga_x25519(a, NULL, out), 0);
	cr_assert_arr_eq(out, a_pub, 32);
	cr_assert_eq(sga_x25519(b, NULL, out), 0);
	cr_assert_arr_eq(out, b_pub, 32);
	cr_assert_eq(sga_x25519(a, b_pub, out), 0);
	cr_assert_arr_eq(out, k, 32);
	cr_assert_eq(sga_x25519(b, a_pub, out), 0);
	cr_assert_arr_eq(out, k, 32);
}

/* RFC 7748 section 5.2, the first single-step vector. */
Test(x25519, rfc7748_section_5_2)
{
	HEX(k, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
	HEX(u, "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
	HEX(want, "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
	uint8_t out[32];

	cr_assert_eq(sga_x25519(k, u, out), 0);
	cr_assert_arr_eq(out, want, 32);
}

/* RFC 7748 section 5.2, the second single-step vector. */
Test(x25519, rfc7748_section_5_2_second)
{
	HEX(k, "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d");
	HEX(u, "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493");
	HEX(want, "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
	uint8_t out[32];

	cr_assert_eq(sga_x25519(k, u, out), 0);
	cr_assert_arr_eq(out, want, 32);
}

/* RFC 7748 section 5.2, the iterated vector: k = u = 9, then (k, u) =
 * (X25519(k, u), k); after 1 and after 1,000 iterations. */
Test(x25519, rfc7748_section_5_2_iterated)
{
	HEX(after_1, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
	HEX(after_1000, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
	uint8_t k[32] = {9}, u[32] = {9}, r[32];

	for (int i = 1; i <= 1000; i++) {
		cr_assert_eq(sga_x25519(k, u, r), 0, "iteration %d", i);
		memcpy(u, k, 32);
		memcpy(k, r, 32);
		if (i == 1)
			cr_assert_arr_eq(k, after_1, 32);
	}
	cr_assert_arr_eq(k, after_1000, 32);
}

/* X25519 through OpenSSL EVP raw keys, the reference of the cross-check:
 * 0, or -EINVAL where OpenSSL refuses (the all-zero result). */
static int evp_x25519(const uint8_t k[32], const uint8_t u[32], uint8_t out[32])
{
	EVP_PKEY *priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, k, 32);
	EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, u, 32);
	EVP_PKEY_CTX *ctx = priv ? EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL) : NULL;
	size_t len = 32;
	int rc;

	cr_assert(priv != NULL && peer != NULL && ctx != NULL);
	cr_assert_eq(EVP_PKEY_derive_init(ctx), 1);
	cr_assert_eq(EVP_PKEY_derive_set_peer(ctx, peer), 1);
	rc = EVP_PKEY_derive(ctx, out, &len) == 1 && len == 32 ? 0 : -EINVAL;
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(peer);
	return rc;
}

/* 2,400 random (scalar, u) pairs against OpenSSL: u uniform below 2^255, u
 * with bit 255 set (masked, RFC 7748 section 5: the same result as without
 * it), and every non-canonical u in [p, 2^255) = p + 0..18 (taken mod p: the
 * same result as u - p; p + 0 and p + 1 are the small-order 0 and 1). */
Test(x25519, cross_check_openssl_evp)
{
	static const uint8_t p[32] = {
	    0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
	};
	uint8_t k[32], u[32], v[32], got[32], want[32], alt[32];
	int high = 0, noncanon = 0, refused = 0;

	for (int i = 0; i < 2400; i++) {
		int rc_got, rc_want;

		cr_assert_eq(sga_random_bytes(k, 32), 0);
		cr_assert_eq(sga_random_bytes(u, 32), 0);
		u[31] &= 0x7f;
		memcpy(v, u, 32); /* the value u stands for (mod p) */
		switch (i % 3) {
		case 1:
			u[31] |= 0x80;
			high++;
			break;
		case 2: {
			unsigned add = (unsigned)(i / 3) % 19, c = add;

			/* u = p + add, v = add */
			for (int j = 0; j < 32; j++) {
				c += p[j];
				u[j] = (uint8_t)c;
				c >>= 8;
			}
			memset(v, 0, 32);
			v[0] = (uint8_t)add;
			noncanon++;
			break;
		}
		default:
			break;
		}
		memset(got, 0xa5, 32);
		rc_got = sga_x25519(k, u, got);
		rc_want = evp_x25519(k, u, want);
		cr_assert_eq(rc_got, rc_want, "pair %d: rc %d, OpenSSL %d", i, rc_got, rc_want);
		if (rc_got == 0) {
			cr_assert_arr_eq(got, want, 32, "pair %d differs from OpenSSL", i);
		} else {
			static const uint8_t zero[32];

			cr_assert_arr_eq(got, zero, 32, "pair %d: output not wiped", i);
			refused++;
		}
		/* The same value, canonical and with bit 255 clear. */
		cr_assert_eq(sga_x25519(k, v, alt), rc_got, "pair %d: u mod p", i);
		if (rc_got == 0)
			cr_assert_arr_eq(alt, got, 32, "pair %d: u and u mod p differ", i);
	}
	cr_assert(high == 800 && noncanon == 800);
	cr_assert(refused > 0, "p + 0 and p + 1 are of small order");
}

Test(x25519, small_order_result_refused)
{
	uint8_t k[32], zero[32] = {0}, one[32] = {1}, out[32];

	memset(k, 0x42, sizeof(k));
	cr_assert_eq(sga_x25519(k, zero, out), -EINVAL);
	cr_assert_arr_eq(out, zero, 32);
	cr_assert_eq(sga_x25519(k, one, out), -EINVAL);
	cr_assert_eq(sga_x25519(NULL, one, out), -EINVAL);
}

/* ---- the two ladders behind sga_x25519, each on its own --------------------
 * sga_x25519 runs one of them (sga_ec.c decides at start-up); these tests
 * call both directly, whichever the dispatch chose: fe51 everywhere, and
 * fe64_adx where it is built (x86-64) and the processor has BMI2 and ADX. */

typedef void x25519_fn(const uint8_t *, const uint8_t *, uint8_t *);

struct x25519_impl {
	const char *name;
	x25519_fn *fn;
};

static void fe51_fn(const uint8_t *k, const uint8_t *u, uint8_t *out)
{
	sga_x25519_fe51(k, u, out);
}

#ifdef SGA_HAVE_X25519_ADX
static void adx_fn(const uint8_t *k, const uint8_t *u, uint8_t *out)
{
	sga_x25519_fe64_adx(k, u, out);
}

/* The kernel's word for it (/proc/cpuinfo), not CPUID as sga_ec.c asks. */
static int cpu_has_adx(void)
{
	char line[8192];
	int bmi2 = 0, adx = 0;
	FILE *f = fopen("/proc/cpuinfo", "r");

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5)) {
			bmi2 = strstr(line, " bmi2") != NULL;
			adx = strstr(line, " adx") != NULL;
			break;
		}
	fclose(f);
	return bmi2 && adx;
}
#endif

/* The ladders this build and processor can run: fe51, then fe64_adx. */
static size_t x25519_impls(struct x25519_impl impl[2])
{
	size_t n = 0;

	impl[n++] = (struct x25519_impl){"fe51", fe51_fn};
#ifdef SGA_HAVE_X25519_ADX
	if (cpu_has_adx())
		impl[n++] = (struct x25519_impl){"fe64_adx", adx_fn};
#endif
	return n;
}

/* On x86-64 with BMI2 and ADX the dispatch picks the assembly ladder, unless
 * SGA_X25519_IMPL=fe51 asked for the other. */
Test(x25519, dispatch)
{
	const char *force = getenv("SGA_X25519_IMPL");
	int want = 0;

#ifdef SGA_HAVE_X25519_ADX
	want = cpu_has_adx() && !(force != NULL && strcmp(force, "fe51") == 0);
#else
	(void)force;
#endif
	cr_assert_eq(sga_x25519_adx_usable(), want);
}

/* RFC 7748 section 5.2, both single-step vectors and the iterated one (1 and
 * 1,000 iterations), on each ladder. */
Test(x25519, rfc7748_section_5_2_each_ladder)
{
	HEX(k1, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
	HEX(u1, "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
	HEX(r1, "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
	HEX(k2, "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d");
	HEX(u2, "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493");
	HEX(r2, "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
	HEX(after_1, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
	HEX(after_1000, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
	struct x25519_impl impl[2];
	size_t n = x25519_impls(impl);

	for (size_t m = 0; m < n; m++) {
		uint8_t k[32] = {9}, u[32] = {9}, r[32];

		impl[m].fn(k1, u1, r);
		cr_assert_arr_eq(r, r1, 32, "%s: first vector", impl[m].name);
		impl[m].fn(k2, u2, r);
		cr_assert_arr_eq(r, r2, 32, "%s: second vector", impl[m].name);
		for (int i = 1; i <= 1000; i++) {
			impl[m].fn(k, u, r);
			memcpy(u, k, 32);
			memcpy(k, r, 32);
			if (i == 1)
				cr_assert_arr_eq(k, after_1, 32, "%s: 1 iteration", impl[m].name);
		}
		cr_assert_arr_eq(k, after_1000, 32, "%s: 1,000 iterations", impl[m].name);
	}
}

static void hex32(char out[65], const uint8_t v[32])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", v[i]);
}

/* dst = a + b mod 2^256, little-endian. */
static void add256(uint8_t dst[32], const uint8_t a[32], const uint8_t b[32])
{
	unsigned c = 0;

	for (int i = 0; i < 32; i++) {
		c += (unsigned)a[i] + b[i];
		dst[i] = (uint8_t)c;
		c >>= 8;
	}
}

static void put_limb(uint8_t *dst, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		dst[i] = (uint8_t)v;
}

/* A 64-bit value at a limb boundary of either representation. */
static uint64_t edge_limb(void)
{
	static const uint64_t edges[] = {
	    0,
	    1,
	    2,
	    19,
	    38,
	    UINT64_MAX,
	    UINT64_MAX - 1,
	    UINT64_MAX - 18,
	    UINT64_MAX - 37,
	    UINT64_MAX >> 1,
	    UINT64_C(1) << 63,
	    (UINT64_C(1) << 51) - 1,
	    UINT64_C(1) << 51,
	    UINT64_MAX << 51,
	    UINT64_C(0xffffffff),
	};
	uint8_t r[9];
	uint64_t v = 0;

	cr_assert_eq(sga_random_bytes(r, sizeof(r)), 0);
	for (int i = 0; i < 8; i++)
		v = v << 8 | r[i];
	return r[8] % 4 == 0 ? v : edges[r[8] % (sizeof(edges) / sizeof(edges[0]))];
}

/* 24,000 (scalar, u) pairs, each through fe51, fe64_adx (where it runs) and
 * OpenSSL EVP, which must all agree: where OpenSSL refuses (all-zero result,
 * u of small order) both ladders must return all zeros. u: uniform below
 * 2^255; with bit 255 set; non-canonical p + 0..18; the special values (0,
 * 1, p - 1, p, p + 1, the order-8 points and those plus p, 2^255 - 1,
 * 2^256 - 1, 9); limbs at 64-bit and 51-bit boundaries (all ones, 2^63,
 * 2^64 - 38, ...), bit 255 kept; small u below 2^64; u in [2^255 - 2^64,
 * 2^255). Scalars uniform, or made of boundary limbs every fourth pair. */
Test(x25519, cross_check_ladders_and_openssl, .timeout = 120)
{
	static const uint8_t p[32] = {
	    0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
	};
	static const uint8_t zero[32];
	HEX(order8_a, "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
	HEX(order8_b, "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157");
	uint8_t special[12][32];
	struct x25519_impl impl[2];
	size_t n = x25519_impls(impl);
	int refused = 0, kinds[8] = {0};

	memset(special, 0, sizeof(special));
	special[1][0] = 1;
	memcpy(special[2], p, 32);
	special[2][0] -= 1; /* p - 1 */
	memcpy(special[3], p, 32);
	memcpy(special[4], p, 32);
	special[4][0] += 1; /* p + 1 */
	memcpy(special[5], order8_a, 32);
	memcpy(special[6], order8_b, 32);
	/* An order-8 point plus p is at or above 2^255: bit 255 set, which the
	 * decoding masks (so u = the point - 19, not of small order). */
	add256(special[7], order8_a, p);
	add256(special[8], order8_b, p);
	memset(special[9], 0xff, 32);
	special[9][31] = 0x7f;         /* 2^255 - 1 = p + 18 */
	memset(special[10], 0xff, 32); /* 2^256 - 1 */
	special[11][0] = 9;

	for (int i = 0; i < 24000; i++) {
		uint8_t k[32], u[32], want[32], got[2][32];
		int kind = i % 8, rc;

		cr_assert_eq(sga_random_bytes(k, 32), 0);
		cr_assert_eq(sga_random_bytes(u, 32), 0);
		if (i % 4 == 3)
			for (int l = 0; l < 4; l++)
				put_limb(k + 8 * l, edge_limb());
		switch (kind) {
		case 0: /* uniform below 2^255 */
			u[31] &= 0x7f;
			break;
		case 1: /* bit 255 set */
			u[31] |= 0x80;
			break;
		case 2: { /* p + 0..18 */
			uint8_t add[32] = {(uint8_t)((i / 8) % 19)};

			add256(u, p, add);
			break;
		}
		case 3:
			memcpy(u, special[(i / 8) % 12], 32);
			break;
		case 4:
			for (int l = 0; l < 4; l++)
				put_limb(u + 8 * l, edge_limb());
			break;
		case 5: /* below 2^64 */
			memset(u + 8, 0, 24);
			break;
		case 6: /* [2^255 - 2^64, 2^255) */
			memset(u + 8, 0xff, 24);
			u[31] = 0x7f;
			break;
		default: /* uniform, any top bit */
			break;
		}
		kinds[kind]++;
		rc = evp_x25519(k, u, want);
		if (rc != 0) {
			memcpy(want, zero, 32);
			refused++;
		}
		for (size_t m = 0; m < n; m++) {
			memset(got[m], 0xa5, 32);
			impl[m].fn(k, u, got[m]);
			if (memcmp(got[m], want, 32) != 0) {
				char hk[65], hu[65], hg[65], hw[65];

				hex32(hk, k);
				hex32(hu, u);
				hex32(hg, got[m]);
				hex32(hw, want);
				cr_assert_fail(
				    "pair %d (kind %d): %s differs from OpenSSL (rc %d)\n"
				    "k %s\nu %s\ngot  %s\nwant %s",
				    i, kind, impl[m].name, rc, hk, hu, hg, hw);
			}
		}
	}
	cr_assert(refused > 0, "0, 1, p, p + 1, p - 1 and the order-8 points are of small order");
	cr_assert(kinds[0] == 3000 && kinds[7] == 3000);
}

#ifdef SGA_HAVE_X25519_ADX
/* The field operations of fe64_adx on their own, at the carry boundaries the
 * random pairs above cannot reach (a sum of two values near 2^256 carries
 * twice, a product's top limb at its largest, ...): the file is compiled in
 * here a second time, its ladder renamed, so its static functions are in
 * reach. Each result is compared mod p with BIGNUM arithmetic; the encoding
 * must be the canonical value. */
void test_ec_fe64_ladder(const uint8_t scalar[SGA_X25519_LEN], const uint8_t u[SGA_X25519_LEN],
                         uint8_t out[SGA_X25519_LEN]);
#define sga_x25519_fe64_adx test_ec_fe64_ladder
#include "sga_x25519_fe64_adx.c"
#undef sga_x25519_fe64_adx

static BIGNUM *fe64_to_bn(const fe64 a)
{
	uint8_t be[32];

	for (int i = 0; i < 32; i++)
		be[31 - i] = (uint8_t)(a[i / 8] >> (8 * (i % 8)));
	return BN_bin2bn(be, 32, NULL);
}

/* got == want (mod p); frees want. */
static void fe64_expect(const char *op, const fe64 got, BIGNUM *want, const BIGNUM *p, BN_CTX *ctx,
                        int a, int b)
{
	BIGNUM *g = fe64_to_bn(got);

	cr_assert(g != NULL && BN_nnmod(g, g, p, ctx) && BN_nnmod(want, want, p, ctx));
	cr_assert_eq(BN_cmp(g, want), 0, "%s of edge values %d and %d", op, a, b);
	BN_free(g);
	BN_free(want);
}

Test(x25519, fe64_field_edges)
{
	/* 256-bit values at the boundaries of 2^256 - 38, p and the limbs. */
	static const char *const vals[] = {
	    "0",
	    "1",
	    "25",
	    "26",
	    "ffffffffffffffff",
	    "10000000000000000",
	    "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffec", /* p - 1 */
	    "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed", /* p */
	    "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	    "8000000000000000000000000000000000000000000000000000000000000000",
	    "8000000000000000000000000000000000000000000000000000000000000013",
	    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffd9", /* 2p - 1 */
	    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffda", /* 2p */
	    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffdb",
	    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	    "ffffffffffffffffffffffffffffffffffffffffffffffff0000000000000000",
	    "ffffffffffffffff0000000000000000ffffffffffffffff0000000000000000",
	};
	size_t nv = sizeof(vals) / sizeof(vals[0]);
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *p = BN_new();
	uint64_t scratch[4];

	if (!cpu_has_adx())
		cr_skip_test("no BMI2/ADX on this processor");
	cr_assert(ctx != NULL && p != NULL && BN_set_bit(p, 255) && BN_sub_word(p, 19));
	for (size_t a = 0; a < nv; a++) {
		for (size_t b = 0; b < nv; b++) {
			BIGNUM *x = NULL, *y = NULL, *w, *w2;
			uint8_t be[32], enc[32];
			fe64 f, g, h, d;

			cr_assert(BN_hex2bn(&x, vals[a]) && BN_hex2bn(&y, vals[b]));
			cr_assert_eq(BN_bn2binpad(x, be, 32), 32);
			memset(f, 0, sizeof(f));
			for (int i = 0; i < 32; i++)
				f[i / 8] |= (uint64_t)be[31 - i] << (8 * (i % 8));
			cr_assert_eq(BN_bn2binpad(y, be, 32), 32);
			memset(g, 0, sizeof(g));
			for (int i = 0; i < 32; i++)
				g[i / 8] |= (uint64_t)be[31 - i] << (8 * (i % 8));

			fe64_mul(h, f, g, scratch);
			cr_assert(BN_mul(w = BN_new(), x, y, ctx));
			fe64_expect("mul", h, w, p, ctx, (int)a, (int)b);
			memcpy(h, f, sizeof(h));
			fe64_mul(h, h, g, scratch); /* output aliasing an input */
			cr_assert(BN_mul(w = BN_new(), x, y, ctx));
			fe64_expect("mul in place", h, w, p, ctx, (int)a, (int)b);
			fe64_mul_a24_add(h, f, g);
			cr_assert((w = BN_dup(x)) && BN_mul_word(w, 121666) && BN_add(w, w, y));
			fe64_expect("a24 mul-add", h, w, p, ctx, (int)a, (int)b);
			fe64_sub(h, f, g);
			cr_assert(BN_sub(w = BN_new(), x, y));
			fe64_expect("sub", h, w, p, ctx, (int)a, (int)b);
			fe64_addsub(h, d, f, g);
			cr_assert(BN_add(w = BN_new(), x, y) && BN_sub(w2 = BN_new(), x, y));
			fe64_expect("addsub +", h, w, p, ctx, (int)a, (int)b);
			fe64_expect("addsub -", d, w2, p, ctx, (int)a, (int)b);
			if (b == 0) {
				fe64_sq(h, f);
				cr_assert(BN_sqr(w = BN_new(), x, ctx));
				fe64_expect("sq", h, w, p, ctx, (int)a, (int)a);
				/* the encoding: exactly x mod p, little-endian */
				memcpy(h, f, sizeof(h));
				fe64_tobytes(enc, h);
				cr_assert(BN_nnmod(x, x, p, ctx));
				cr_assert_eq(BN_bn2lebinpad(x, be, 32), 32);
				cr_assert_arr_eq(enc, be, 32, "encoding of edge value %zu", a);
			}
			BN_free(x);
			BN_free(y);
		}
	}
	BN_free(p);
	BN_CTX_free(ctx);
}
#endif

Test(x25519, element_check)
{
	HEX(order8_a, "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
	HEX(order8_b, "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157");
	HEX(p_minus_1, "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
	HEX(p, "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
	HEX(p_minus_2, "ebffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
	HEX(bob, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	uint8_t zero[32] = {0}, one[32] = {1}, nine[32] = {9}, high[32];

	cr_assert(!sga_x25519_element_ok(zero));
	cr_assert(!sga_x25519_element_ok(one));
	cr_assert(!sga_x25519_element_ok(order8_a));
	cr_assert(!sga_x25519_element_ok(order8_b));
	cr_assert(!sga_x25519_element_ok(p_minus_1));
	cr_assert(!sga_x25519_element_ok(p), "u = p is not canonical");
	cr_assert(sga_x25519_element_ok(p_minus_2));
	cr_assert(sga_x25519_element_ok(nine));
	cr_assert(sga_x25519_element_ok(bob));
	memcpy(high, bob, 32);
	high[31] |= 0x80;
	cr_assert(!sga_x25519_element_ok(high), "bit 255 set");
	cr_assert(!sga_x25519_element_ok(NULL));
}

Test(group, x25519_registry)
{
	const struct sga_group_info *g = sga_group_get(SGA_GROUP_X25519);

	cr_assert_not_null(g);
	cr_assert_eq(sga_group_by_name("x25519"), g);
	cr_assert_eq(g->len, 32);
	cr_assert_eq(g->secret_len, 32);
	cr_assert_eq(g->kind, SGA_GROUP_KIND_X25519);
	cr_assert_null(g->p);
	g = sga_group_get(SGA_GROUP_FFDHE2048);
	cr_assert_eq(g->secret_len, g->len);
	cr_assert_eq(g->kind, SGA_GROUP_KIND_FFDHE);
}

/* The three-party algebra on every group through the one group operation:
 * N = [R]G, K = [r]N, X_i = [R_s]N_j, [R_i]X_i = [R_j]X_j. */
static void three_party(uint8_t id)
{
	const struct sga_group_info *g = sga_group_get(id);
	uint8_t Ri[32], Rj[32], Rs[32], r[32];
	uint8_t Ni[SGA_GROUP_MAX_LEN], Nj[SGA_GROUP_MAX_LEN], Xi[SGA_GROUP_MAX_LEN],
	    Xj[SGA_GROUP_MAX_LEN];
	uint8_t Ki[SGA_GROUP_MAX_LEN], Kj[SGA_GROUP_MAX_LEN], K1[SGA_GROUP_MAX_LEN],
	    K2[SGA_GROUP_MAX_LEN];

	cr_assert_not_null(g);
	cr_assert_eq(sga_group_scalar_random(g, Ri), 0);
	cr_assert_eq(sga_group_scalar_random(g, Rj), 0);
	cr_assert_eq(sga_group_scalar_random(g, Rs), 0);
	cr_assert_eq(sga_group_scalar_random(g, r), 0);
	cr_assert_eq(sga_group_mul(g, NULL, Ri, Ni), 0);
	cr_assert_eq(sga_group_mul(g, NULL, Rj, Nj), 0);
	cr_assert(sga_group_element_ok(g, Ni) && sga_group_element_ok(g, Nj));
	/* K_is, as the device (r, N) and the gateway (the same r after F_G^-1) compute it. */
	cr_assert_eq(sga_group_shared(g, Ni, r, K1), 0);
	cr_assert_eq(sga_group_shared(g, Ni, r, K2), 0);
	cr_assert_arr_eq(K1, K2, g->secret_len);
	cr_assert_eq(sga_group_mul(g, Nj, Rs, Xi), 0);
	cr_assert_eq(sga_group_mul(g, Ni, Rs, Xj), 0);
	cr_assert_eq(sga_group_shared(g, Xi, Ri, Ki), 0);
	cr_assert_eq(sga_group_shared(g, Xj, Rj, Kj), 0);
	cr_assert_arr_eq(Ki, Kj, g->secret_len, "%s: K_isj differs", g->name);
}

Test(group, three_party_algebra_ffdhe2048, .timeout = 60)
{
	three_party(SGA_GROUP_FFDHE2048);
}

Test(group, three_party_algebra_x25519)
{
	three_party(SGA_GROUP_X25519);
}

Test(group, mul_refuses_bad_peer_element)
{
	const struct sga_group_info *g = sga_group_get(SGA_GROUP_X25519);
	uint8_t s[32], zero[32] = {0}, out[32];

	memset(s, 7, sizeof(s));
	cr_assert_eq(sga_group_mul(g, zero, s, out), -EINVAL);
	cr_assert_eq(sga_group_shared(g, zero, s, out), -EINVAL);
	cr_assert_eq(sga_group_shared(g, NULL, s, out), -EINVAL);
}

/* RFC 9180 A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305,
 * base mode, sequence number 0. */
#define A21_INFO "4f6465206f6e2061204772656369616e2055726e"
#define A21_SK_E "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600"
#define A21_PK_E "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a"
#define A21_SK_R "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb"
#define A21_PK_R "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a"
#define A21_PT   "4265617574792069732074727574682c20747275746820626561757479"
#define A21_AAD  "436f756e742d30"
#define A21_CT                                                                                     \
	"1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a" \
	"28"

Test(hpke, rfc9180_a_2_1_seal)
{
	HEX(info, A21_INFO);
	HEX(sk_e, A21_SK_E);
	HEX(pk_e, A21_PK_E);
	HEX(pk_r, A21_PK_R);
	HEX(pt, A21_PT);
	HEX(aad, A21_AAD);
	HEX(ct, A21_CT);
	uint8_t out[128];
	size_t out_len = 0;

	cr_assert_eq(sga_hpke_seal_with_ephemeral(SGA_GROUP_X25519, sk_e, pk_r, 32, info,
	                                          sizeof(info), aad, sizeof(aad), pt, sizeof(pt),
	                                          out, sizeof(out), &out_len),
	             0);
	cr_assert_eq(out_len, 32 + sizeof(ct));
	cr_assert_eq(out_len, sga_hpke_sealed_len(SGA_GROUP_X25519, sizeof(pt)));
	cr_assert_arr_eq(out, pk_e, 32, "enc");
	cr_assert_arr_eq(out + 32, ct, sizeof(ct), "ct");
}

Test(hpke, rfc9180_a_2_1_open)
{
	HEX(info, A21_INFO);
	HEX(pk_e, A21_PK_E);
	HEX(sk_r, A21_SK_R);
	HEX(pk_r, A21_PK_R);
	HEX(pt, A21_PT);
	HEX(aad, A21_AAD);
	HEX(ct, A21_CT);
	uint8_t in[128], got[64];
	size_t in_len = 32 + sizeof(ct), got_len = 0;

	memcpy(in, pk_e, 32);
	memcpy(in + 32, ct, sizeof(ct));
	cr_assert_eq(sga_hpke_open(SGA_GROUP_X25519, sk_r, pk_r, 32, info, sizeof(info), aad,
	                           sizeof(aad), in, in_len, got, sizeof(got), &got_len),
	             0);
	cr_assert_eq(got_len, sizeof(pt));
	cr_assert_arr_eq(got, pt, sizeof(pt));
	/* Every byte is bound: enc, ciphertext, tag, info and aad. */
	for (size_t i = 0; i < in_len; i++) {
		in[i] ^= 0x01;
		cr_assert_eq(sga_hpke_open(SGA_GROUP_X25519, sk_r, pk_r, 32, info, sizeof(info),
		                           aad, sizeof(aad), in, in_len, got, sizeof(got),
		                           &got_len),
		             -EBADMSG, "flipped byte %zu", i);
		in[i] ^= 0x01;
	}
	info[0] ^= 1;
	cr_assert_eq(sga_hpke_open(SGA_GROUP_X25519, sk_r, pk_r, 32, info, sizeof(info), aad,
	                           sizeof(aad), in, in_len, got, sizeof(got), &got_len),
	             -EBADMSG);
	info[0] ^= 1;
	cr_assert_eq(sga_hpke_open(SGA_GROUP_X25519, sk_r, pk_r, 32, info, sizeof(info), aad, 0, in,
	                           in_len, got, sizeof(got), &got_len),
	             -EBADMSG);
}

Test(hpke, round_trip_and_bad_arguments)
{
	static const char info[] = "SGA v1 F_G";
	uint8_t sk_r[32], pk_r[32], r[32], sealed[128], got[64];
	size_t n = 0, got_len = 0;
	uint8_t zero[32] = {0};

	cr_assert_eq(sga_random_bytes(sk_r, 32), 0);
	cr_assert_eq(sga_random_bytes(r, 32), 0);
	cr_assert_eq(sga_x25519(sk_r, NULL, pk_r), 0);
	cr_assert_eq(sga_hpke_seal(SGA_GROUP_X25519, pk_r, 32, (const uint8_t *)info,
	                           sizeof(info) - 1, NULL, 0, r, 32, sealed, sizeof(sealed), &n),
	             0);
	cr_assert_eq(n, 80, "F is 80 bytes under x25519");
	cr_assert_eq(sga_hpke_open(SGA_GROUP_X25519, sk_r, pk_r, 32, (const uint8_t *)info,
	                           sizeof(info) - 1, NULL, 0, sealed, n, got, sizeof(got),
	                           &got_len),
	             0);
	cr_assert_eq(got_len, 32);
	cr_assert_arr_eq(got, r, 32);
	/* A small-order enc (the KEM's DH result would be zero) is refused. */
	memcpy(sealed, zero, 32);
	cr_assert_eq(sga_hpke_open(SGA_GROUP_X25519, sk_r, pk_r, 32, (const uint8_t *)info,
	                           sizeof(info) - 1, NULL, 0, sealed, n, got, sizeof(got),
	                           &got_len),
	             -EBADMSG);
	cr_assert_eq(sga_hpke_open(SGA_GROUP_X25519, sk_r, pk_r, 32, NULL, 0, NULL, 0, sealed, 47,
	                           got, sizeof(got), &got_len),
	             -EBADMSG);
	cr_assert_eq(sga_hpke_seal(SGA_GROUP_FFDHE2048, pk_r, 32, NULL, 0, NULL, 0, r, 32, sealed,
	                           sizeof(sealed), &n),
	             -EINVAL);
	cr_assert_eq(sga_hpke_seal(SGA_GROUP_X25519, pk_r, 31, NULL, 0, NULL, 0, r, 32, sealed,
	                           sizeof(sealed), &n),
	             -EINVAL);
	cr_assert_eq(
	    sga_hpke_seal(SGA_GROUP_X25519, pk_r, 32, NULL, 0, NULL, 0, r, 32, sealed, 79, &n),
	    -ENOSPC);
	cr_assert_eq(sga_hpke_sealed_len(SGA_GROUP_FFDHE2048, 32), 0);
}

/* ---- P-256 ------------------------------------------------------------------ */

#define P256_P "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"
#define P256_B "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b"

Test(p256, registry)
{
	const struct sga_group_info *g = sga_group_get(SGA_GROUP_P256);

	cr_assert_not_null(g);
	cr_assert_eq(sga_group_by_name("p256"), g);
	cr_assert_eq(g->len, 33);
	cr_assert_eq(g->secret_len, 32);
	cr_assert_eq(g->kind, SGA_GROUP_KIND_P256);
}

Test(group, three_party_algebra_p256)
{
	three_party(SGA_GROUP_P256);
}

/* The on-curve check against an independent one: x is on the curve iff
 * x^3 - 3x + b is a square mod p (Euler's criterion, computed here with BN). */
Test(p256, compressed_point_check)
{
	HEX(p_be, P256_P);
	HEX(b_be, P256_B);
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *p = BN_bin2bn(p_be, 32, NULL), *b = BN_bin2bn(b_be, 32, NULL), *x = BN_new(),
	       *rhs = BN_new(), *t = BN_new(), *e = BN_new();
	uint8_t pt[33];
	int on = 0, off = 0;

	cr_assert(ctx && p && b && x && rhs && t && e);
	cr_assert(BN_rshift1(e, p)); /* (p-1)/2, p odd */
	for (unsigned v = 1; v <= 24; v++) {
		int want;

		cr_assert(BN_set_word(x, v));
		cr_assert(BN_mod_sqr(t, x, p, ctx) && BN_mod_mul(rhs, t, x, p, ctx));
		cr_assert(BN_set_word(t, 3 * v) && BN_mod_sub(rhs, rhs, t, p, ctx) &&
		          BN_mod_add(rhs, rhs, b, p, ctx));
		cr_assert(BN_mod_exp(t, rhs, e, p, ctx));
		want = BN_is_one(t) || BN_is_zero(rhs);
		pt[0] = (uint8_t)(2 + (v & 1));
		cr_assert_eq(BN_bn2binpad(x, pt + 1, 32), 32);
		cr_assert_eq(sga_p256_point_ok(pt, 33), want, "x = %u", v);
		cr_assert_eq(sga_group_element_ok(sga_group_get(SGA_GROUP_P256), pt), want);
		on += want;
		off += !want;
	}
	cr_assert(on > 0 && off > 0, "both kinds of x seen");
	/* x >= p is refused even where x - p would be on the curve. */
	pt[0] = 2;
	memcpy(pt + 1, p_be, 32);
	cr_assert(!sga_p256_point_ok(pt, 33));
	memset(pt + 1, 0xff, 32);
	cr_assert(!sga_p256_point_ok(pt, 33));
	pt[0] = 4; /* wrong prefix for 33 bytes */
	cr_assert(!sga_p256_point_ok(pt, 33));
	cr_assert(!sga_p256_point_ok(NULL, 33));
	BN_free(p);
	BN_free(b);
	BN_free(x);
	BN_free(rhs);
	BN_free(t);
	BN_free(e);
	BN_CTX_free(ctx);
}

Test(p256, scalars_out_of_range_refused)
{
	uint8_t zero[32] = {0}, n[32], out[65], x[32];
	HEX(n_be, "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");

	memcpy(n, n_be, 32);
	cr_assert_eq(sga_p256_base_mul(zero, out, 65), -EINVAL);
	cr_assert_eq(sga_p256_base_mul(n, out, 65), -EINVAL);
	n[31] -= 1; /* n - 1 is a scalar */
	cr_assert_eq(sga_p256_base_mul(n, out, 65), 0);
	cr_assert_eq(sga_p256_ecdh(n, out, 65, x), 0);
	cr_assert_eq(sga_p256_base_mul(n, out, 64), -EINVAL);
}

static unsigned backend_ecdh_calls;

static int counting_p256_ecdh(const uint8_t *scalar, const uint8_t *point, size_t point_len,
                              uint8_t *x)
{
	const struct sga_crypto_backend *self = sga_crypto_backend_get();
	int rc;

	/* Counts, then computes in software (the backend uninstalled meanwhile). */
	backend_ecdh_calls++;
	sga_crypto_backend_set(NULL);
	rc = sga_p256_ecdh(scalar, point, point_len, x);
	sga_crypto_backend_set(self);
	return rc;
}

/* The ECDH derive goes to the backend (QAT's operation) when it has one. */
Test(p256, ecdh_dispatches_to_backend)
{
	static struct sga_crypto_backend b = {.name = "count", .p256_ecdh = counting_p256_ecdh};
	const struct sga_group_info *g = sga_group_get(SGA_GROUP_P256);
	uint8_t s[32], N[33], K1[32], K2[32];

	cr_assert_eq(sga_group_scalar_random(g, s), 0);
	cr_assert_eq(sga_group_mul(g, NULL, s, N), 0);
	cr_assert_eq(sga_group_shared(g, N, s, K1), 0);
	sga_crypto_backend_set(&b);
	backend_ecdh_calls = 0;
	cr_assert_eq(sga_group_shared(g, N, s, K2), 0);
	sga_crypto_backend_set(NULL);
	cr_assert_eq(backend_ecdh_calls, 1);
	cr_assert_arr_eq(K1, K2, 32);
}

/* RFC 9180 A.3.1: DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base. */
#define A31_SK_E "4995788ef4b9d6132b249ce59a77281493eb39af373d236a1fe415cb0c2d7beb"
#define A31_PK_E                                                                                   \
	"04a92719c6195d5085104f469a8b9814d5838ff72b60501e2c4466e5e67b325ac98536d7b61a1af4b78e5b7f" \
	"9"                                                                                        \
	"51c0900be863c403ce65c9bfcb9382657222d18c4"
#define A31_SK_R "f3ce7fdae57e1a310d87f1ebbde6f328be0a99cdbcadf4d6589cf29de4b8ffd2"
#define A31_PK_R                                                                                   \
	"04fe8c19ce0905191ebc298a9245792531f26f0cece2460639e8bc39cb7f706a826a779b4cf969b8a0e539c7" \
	"f"                                                                                        \
	"62fb3d30ad6aa8f80e30f1d128aafd68a2ce72ea0"
#define A31_CT                                                                                     \
	"5ad590bb8baa577f8619db35a36311226a896e7342a6d836d8b7bcd2f20b6c7f9076ac232e3ab2523f395134" \
	"34"

Test(hpke, rfc9180_a_3_1_seal_and_open)
{
	HEX(info, A21_INFO);
	HEX(sk_e, A31_SK_E);
	HEX(pk_e, A31_PK_E);
	HEX(sk_r, A31_SK_R);
	HEX(pk_r, A31_PK_R);
	HEX(pt, A21_PT);
	HEX(aad, A21_AAD);
	HEX(ct, A31_CT);
	uint8_t out[160], got[64];
	size_t out_len = 0, got_len = 0;

	cr_assert_eq(sga_hpke_seal_with_ephemeral(SGA_GROUP_P256, sk_e, pk_r, 65, info,
	                                          sizeof(info), aad, sizeof(aad), pt, sizeof(pt),
	                                          out, sizeof(out), &out_len),
	             0);
	cr_assert_eq(out_len, 65 + sizeof(ct));
	cr_assert_arr_eq(out, pk_e, 65, "enc");
	cr_assert_arr_eq(out + 65, ct, sizeof(ct), "ct");
	cr_assert_eq(sga_hpke_open(SGA_GROUP_P256, sk_r, pk_r, 65, info, sizeof(info), aad,
	                           sizeof(aad), out, out_len, got, sizeof(got), &got_len),
	             0);
	cr_assert_arr_eq(got, pt, sizeof(pt));
	out[10] ^= 1; /* enc off the curve or another point: refused */
	cr_assert_eq(sga_hpke_open(SGA_GROUP_P256, sk_r, pk_r, 65, info, sizeof(info), aad,
	                           sizeof(aad), out, out_len, got, sizeof(got), &got_len),
	             -EBADMSG);
	cr_assert_eq(sga_hpke_sealed_len(SGA_GROUP_P256, 32), 113, "F is 113 bytes under p256");
}
