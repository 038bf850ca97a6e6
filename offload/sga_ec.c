/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_ec.c - the OpenSSL back end of the EC profile's curve arithmetic:
 * sga_x25519 (RFC 7748) on a constant-time ladder, and P-256 (x-only ECDH, SEC1 point decoding with the
 * on-curve check, base-point multiplication) on EC_POINT, whose single-point
 * multiplication is a constant-time ladder.
 *
 * X25519 does not go through EVP: EVP_PKEY_new_raw_private_key derives the
 * public key (a second full ladder) and the provider fetches and key objects
 * of every call cost as much again, so EVP ran at about a third of the
 * ladder's own speed for the one-shot use here. The ladder is
 * sga_x25519_fe64_adx.c (four 64-bit limbs, mulx/adcx/adox assembly) on an
 * x86-64 processor with BMI2 and ADX, decided once at start-up, else the
 * radix 2^51 C of sga_x25519_fe51.c (SGA_X25519_IMPL=fe51 in the environment
 * forces that one, to measure it). The scalar and the result are secrets:
 * either ladder wipes its stack, the result buffer is the caller's,
 * and an all-zero result (the RFC's check against small-order u) is wiped and
 * refused with the -EINVAL sga_crypto.h promises.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#ifdef SGA_HAVE_X25519_ADX
#include <cpuid.h> /* __get_cpuid_count */
#endif

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/evp.h>

#include "sga_crypto.h"
#include "sga_crypto_common.h"
#include "sga_crypto_priv.h"

/* u = 9, little-endian: the base point of curve25519. */
static const uint8_t x25519_base_u[SGA_X25519_LEN] = {9};

/* Which ladder sga_x25519 runs: 0 not decided yet, 1 fe51, 2 fe64_adx. Set
 * by the constructor below (or by the first call, should one come from
 * another constructor first); the value never changes once set. */
static int x25519_impl;

static int x25519_impl_decide(void)
{
	int impl = 1;

#ifdef SGA_HAVE_X25519_ADX
	const char *force = getenv("SGA_X25519_IMPL");
	unsigned a, b, c, d;

	/* CPUID leaf 7: EBX bit 8 BMI2 (mulx), bit 19 ADX (adcx/adox). Asked
	 * directly: clang 14's __builtin_cpu_supports knows no "adx". */
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b >> 8 & 1) && (b >> 19 & 1) &&
	    !(force != NULL && strcmp(force, "fe51") == 0))
		impl = 2;
#endif
	__atomic_store_n(&x25519_impl, impl, __ATOMIC_RELAXED);
	return impl;
}

__attribute__((constructor)) static void x25519_impl_init(void)
{
	x25519_impl_decide();
}

int sga_x25519_adx_usable(void)
{
	int impl = __atomic_load_n(&x25519_impl, __ATOMIC_RELAXED);

	return (impl != 0 ? impl : x25519_impl_decide()) == 2;
}

int sga_x25519(const uint8_t scalar[SGA_X25519_LEN], const uint8_t *u, uint8_t out[SGA_X25519_LEN])
{
	uint8_t acc = 0;

	if (scalar == NULL || out == NULL)
		return -EINVAL;
	if (u == NULL)
		u = x25519_base_u;
#ifdef SGA_HAVE_X25519_ADX
	if (sga_x25519_adx_usable())
		sga_x25519_fe64_adx(scalar, u, out);
	else
#endif
		sga_x25519_fe51(scalar, u, out);
	/* The RFC's check (section 6.1): an all-zero result means u of small
	 * order. Constant-time over the secret bytes; only the verdict leaks. */
	for (size_t i = 0; i < SGA_X25519_LEN; i++)
		acc |= out[i];
	if (acc == 0) {
		sga_memzero(out, SGA_X25519_LEN);
		return -EINVAL;
	}
	return 0;
}

/* ---- NIST P-256 ------------------------------------------------------------ */

/* The scalar range check [1, n-1] is sga_crypto_common.c's, shared with the
 * portable back end (offload/portable/sga_p256.c). */

/* Decode point into pt on grp; 0 or -EINVAL. */
static int p256_decode(const EC_GROUP *grp, const uint8_t *point, size_t len, EC_POINT *pt,
                       BN_CTX *ctx)
{
	if (point == NULL ||
	    !((len == SGA_P256_COMPRESSED_LEN && (point[0] == 2 || point[0] == 3)) ||
	      (len == SGA_P256_UNCOMPRESSED_LEN && point[0] == 4)))
		return -EINVAL;
	/* oct2point checks x, y < p and that the point is on the curve. */
	if (EC_POINT_oct2point(grp, pt, point, len, ctx) != 1 || EC_POINT_is_at_infinity(grp, pt))
		return -EINVAL;
	return 0;
}

int sga_p256_point_ok(const uint8_t *point, size_t len)
{
	EC_GROUP *grp = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	EC_POINT *pt = grp ? EC_POINT_new(grp) : NULL;
	BN_CTX *ctx = BN_CTX_new();
	int ok = pt && ctx && p256_decode(grp, point, len, pt, ctx) == 0;

	ERR_clear_error();
	BN_CTX_free(ctx);
	EC_POINT_free(pt);
	EC_GROUP_free(grp);
	return ok;
}

/* out = [scalar]base (base NULL: G), encoded as form in out_len bytes, or
 * (x_only) just the x coordinate in 32 bytes. */
static int p256_mul(const uint8_t *scalar, const uint8_t *base, size_t base_len, int x_only,
                    uint8_t *out, size_t out_len)
{
	EC_GROUP *grp = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	EC_POINT *in = NULL, *r = NULL;
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *k = NULL, *x = NULL;
	point_conversion_form_t form = out_len == SGA_P256_COMPRESSED_LEN
	                                   ? POINT_CONVERSION_COMPRESSED
	                                   : POINT_CONVERSION_UNCOMPRESSED;
	int rc = -EINVAL;

	if (scalar == NULL || out == NULL || !sga_p256_scalar_in_range(scalar))
		goto out;
	if (x_only ? out_len != SGA_P256_X_LEN
	           : (out_len != SGA_P256_COMPRESSED_LEN && out_len != SGA_P256_UNCOMPRESSED_LEN))
		goto out;
	rc = -EIO;
	if (grp == NULL || ctx == NULL || (r = EC_POINT_new(grp)) == NULL ||
	    (k = BN_secure_new()) == NULL || (x = BN_new()) == NULL)
		goto out;
	BN_set_flags(k, BN_FLG_CONSTTIME);
	if (BN_bin2bn(scalar, SGA_P256_SCALAR_LEN, k) == NULL)
		goto out;
	if (base != NULL) {
		if ((in = EC_POINT_new(grp)) == NULL)
			goto out;
		rc = p256_decode(grp, base, base_len, in, ctx);
		if (rc != 0)
			goto out;
		rc = -EIO;
		/* One point times one scalar: OpenSSL's constant-time ladder. */
		if (EC_POINT_mul(grp, r, NULL, in, k, ctx) != 1)
			goto out;
	} else if (EC_POINT_mul(grp, r, k, NULL, NULL, ctx) != 1) {
		goto out;
	}
	if (EC_POINT_is_at_infinity(grp, r)) {
		rc = -EINVAL;
		goto out;
	}
	if (x_only) {
		if (EC_POINT_get_affine_coordinates(grp, r, x, NULL, ctx) != 1 ||
		    BN_bn2binpad(x, out, SGA_P256_X_LEN) != SGA_P256_X_LEN)
			goto out;
	} else if (EC_POINT_point2oct(grp, r, form, out, out_len, ctx) != out_len) {
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		if (out != NULL)
			sga_memzero(out, out_len);
		ERR_clear_error();
	}
	BN_clear_free(k);
	BN_clear_free(x);
	EC_POINT_clear_free(r);
	EC_POINT_free(in);
	BN_CTX_free(ctx);
	EC_GROUP_free(grp);
	return rc;
}

int sga_p256_ecdh(const uint8_t scalar[SGA_P256_SCALAR_LEN], const uint8_t *point, size_t point_len,
                  uint8_t x[SGA_P256_X_LEN])
{
	const struct sga_crypto_backend *b = sga_crypto_backend_get();

	if (point == NULL || x == NULL)
		return -EINVAL;
	if (b != NULL && b->p256_ecdh != NULL) {
		if (scalar == NULL || !sga_p256_scalar_in_range(scalar) ||
		    !sga_p256_point_ok(point, point_len))
			return -EINVAL;
		return b->p256_ecdh(scalar, point, point_len, x);
	}
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
