/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_rsa_portable.c - the RSA/ffdhe profile's public-key operations for the
 * portable back end: RSA-OAEP-SHA256 encryption to the gateway's key (RFC
 * 8017 7.1.1, e = 65537) parsed from the package's DER SubjectPublicKeyInfo,
 * and sga_modexp in the RFC 7919 groups.
 *
 * Numbers are little-endian arrays of 32-bit limbs, multiplied in Montgomery
 * form (CIOS: one pass interleaving the product and the reduction, so one
 * n + 2 limb buffer); every operation runs the same instructions whatever the
 * values, and the final subtraction is a masked select. The exponentiation
 * squares and multiplies for every exponent bit and keeps the product by a
 * mask, so its time depends on exp_len only. The largest modulus is
 * SGA_PORTABLE_BIGNUM_MAX_BYTES (256: RSA-2048 and ffdhe2048; 384 for 3072),
 * which bounds the stack: about six numbers of that size. A key lives in a
 * static pool of SGA_PORTABLE_RSA_KEYS slots (no allocator); sga_rsa_free
 * returns its slot.
 */
#include <errno.h>
#include <string.h>

#include "sga_crypto.h"
#include "sga_crypto_common.h"
#include "sga_portable_priv.h"

#if SGA_PORTABLE_RSA

#ifndef SGA_PORTABLE_BIGNUM_MAX_BYTES
#define SGA_PORTABLE_BIGNUM_MAX_BYTES 256
#endif

#define MAXL          (SGA_PORTABLE_BIGNUM_MAX_BYTES / 4)
#define RSA_MIN_LEN   256 /* 2048-bit moduli and up, as the OpenSSL back end */
#define OAEP_OVERHEAD (2 * SGA_SHA256_LEN + 2)

/* A modulus with its Montgomery constants. */
struct mont {
	uint32_t m[MAXL];
	uint32_t rr[MAXL]; /* R^2 mod m, R = 2^(32 n) */
	uint32_t m0inv;    /* -m^-1 mod 2^32 */
	size_t n;          /* limbs */
};

/* Big-endian bytes (len <= 4 n) to n limbs. */
static void from_be(uint32_t *r, size_t n, const uint8_t *b, size_t len)
{
	memset(r, 0, n * sizeof(*r));
	for (size_t i = 0; i < len; i++)
		r[i / 4] |= (uint32_t)b[len - 1 - i] << (8 * (i % 4));
}

static void to_be(uint8_t *b, size_t len, const uint32_t *r)
{
	for (size_t i = 0; i < len; i++)
		b[len - 1 - i] = (uint8_t)(r[i / 4] >> (8 * (i % 4)));
}

/* r = t - m if that does not borrow (counting t's carry limb hi), else t; n limbs. */
static void csub(uint32_t *r, const uint32_t *t, uint32_t hi, const uint32_t *m, size_t n)
{
	uint32_t d[MAXL], borrow = 0, mask;

	for (size_t i = 0; i < n; i++) {
		uint64_t x = (uint64_t)t[i] - m[i] - borrow;

		d[i] = (uint32_t)x;
		borrow = (uint32_t)(x >> 63);
	}
	/* keep d unless the subtraction borrowed past hi (both 0 or 1): the top bit
	 * of hi - borrow, as arithmetic rather than a comparison a compiler may branch on */
	mask = ((hi - borrow) >> 31) - 1u;
	for (size_t i = 0; i < n; i++)
		r[i] = (d[i] & mask) | (t[i] & ~mask);
	sga_memzero(d, sizeof(d));
}

/* r = a b / R mod m (a, b < m); r may alias a or b. */
static void mont_mul(const struct mont *M, uint32_t *r, const uint32_t *a, const uint32_t *b)
{
	uint32_t t[MAXL + 2];
	size_t n = M->n;

	memset(t, 0, (n + 2) * sizeof(t[0]));
	for (size_t i = 0; i < n; i++) {
		uint64_t c = 0;
		uint32_t q;

		for (size_t j = 0; j < n; j++) {
			c += (uint64_t)a[j] * b[i] + t[j];
			t[j] = (uint32_t)c;
			c >>= 32;
		}
		c += t[n];
		t[n] = (uint32_t)c;
		t[n + 1] = (uint32_t)(c >> 32);
		q = t[0] * M->m0inv;
		c = ((uint64_t)q * M->m[0] + t[0]) >> 32;
		for (size_t j = 1; j < n; j++) {
			c += (uint64_t)q * M->m[j] + t[j];
			t[j - 1] = (uint32_t)c;
			c >>= 32;
		}
		c += t[n];
		t[n - 1] = (uint32_t)c;
		t[n] = t[n + 1] + (uint32_t)(c >> 32);
	}
	csub(r, t, t[n], M->m, n);
	sga_memzero(t, sizeof(t));
}

/* The constants of an odd modulus of len big-endian bytes (public: may branch). */
static void mont_init(struct mont *M, const uint8_t *mod, size_t len)
{
	uint32_t inv = 1, x[MAXL];

	M->n = (len + 3) / 4;
	from_be(M->m, M->n, mod, len);
	/* Newton: each step doubles the correct low bits of m0^-1. */
	for (int i = 0; i < 5; i++)
		inv *= 2 - M->m[0] * inv;
	M->m0inv = 0u - inv;
	/* R^2 mod m by doubling 1 2 * 32 n times, reducing each time. */
	memset(x, 0, sizeof(x));
	x[0] = 1;
	for (size_t k = 0; k < 64 * M->n; k++) {
		uint32_t hi = x[M->n - 1] >> 31;

		for (size_t i = M->n - 1; i > 0; i--)
			x[i] = (x[i] << 1) | (x[i - 1] >> 31);
		x[0] <<= 1;
		csub(x, x, hi, M->m, M->n);
	}
	memcpy(M->rr, x, sizeof(x));
}

/* r = b^e mod m, b < m, e big-endian e_len bytes: the same work for every e of that length. */
static void mont_exp(const struct mont *M, uint32_t *r, const uint32_t *b, const uint8_t *e,
                     size_t e_len)
{
	uint32_t bm[MAXL], acc[MAXL], t[MAXL], one[MAXL];
	size_t n = M->n;

	memset(one, 0, sizeof(one));
	one[0] = 1;
	mont_mul(M, bm, b, M->rr);    /* b R */
	mont_mul(M, acc, one, M->rr); /* 1 R */
	for (size_t i = 0; i < 8 * e_len; i++) {
		uint32_t mask = 0u - (uint32_t)((e[i / 8] >> (7 - i % 8)) & 1);

		mont_mul(M, acc, acc, acc);
		mont_mul(M, t, acc, bm);
		for (size_t j = 0; j < n; j++)
			acc[j] = (t[j] & mask) | (acc[j] & ~mask);
	}
	mont_mul(M, r, acc, one); /* out of Montgomery form */
	sga_memzero(bm, sizeof(bm));
	sga_memzero(acc, sizeof(acc));
	sga_memzero(t, sizeof(t));
}

/* ---- ffdhe ------------------------------------------------------------------ */

int sga_modexp(const struct sga_group_info *grp, const uint8_t *base, const uint8_t *exp,
               size_t exp_len, uint8_t *out)
{
	struct mont M;
	uint32_t b[MAXL], r[MAXL];

	if (grp == NULL || grp->p == NULL || grp->len == 0 || grp->len > SGA_GROUP_MAX_LEN ||
	    exp == NULL || exp_len == 0 || exp_len > SGA_GROUP_MAX_LEN || out == NULL)
		return -EINVAL;
	if (grp->len > SGA_PORTABLE_BIGNUM_MAX_BYTES || (grp->p[grp->len - 1] & 1) == 0)
		return -EINVAL; /* larger than this build's numbers */
	if (base != NULL && !sga_group_element_in_range(grp->p, base, grp->len))
		return -EINVAL;
	mont_init(&M, grp->p, grp->len);
	if (base != NULL) {
		from_be(b, M.n, base, grp->len);
	} else {
		memset(b, 0, sizeof(b));
		b[0] = grp->g;
	}
	mont_exp(&M, r, b, exp, exp_len);
	to_be(out, grp->len, r);
	sga_memzero(r, sizeof(r));
	sga_memzero(b, sizeof(b));
	return 0;
}

/* ---- RSA-OAEP-SHA256 encryption ---------------------------------------------- */

struct sga_rsa_key {
	uint8_t in_use;                           /* first: sga_p_pool_take */
	uint8_t n[SGA_PORTABLE_BIGNUM_MAX_BYTES]; /* big-endian modulus, len bytes */
	size_t len;
};

static struct sga_rsa_key key_pool[SGA_PORTABLE_RSA_KEYS];

/* A bounded DER cursor: one tag-length-value at a time. */
struct der {
	const uint8_t *p;
	size_t n;
};

/* The value of the next element if it has tag; it is consumed from d. */
static int der_take(struct der *d, uint8_t tag, struct der *val)
{
	size_t len, hdr = 2;

	if (d->n < 2 || d->p[0] != tag)
		return -1;
	len = d->p[1];
	if (len == 0x81 || len == 0x82) {
		size_t k = len - 0x80;

		if (d->n < 2 + k)
			return -1;
		len = 0;
		for (size_t i = 0; i < k; i++)
			len = len << 8 | d->p[2 + i];
		/* DER: the shortest form only */
		if (len < (k == 1 ? 0x80 : 0x100))
			return -1;
		hdr += k;
	} else if (len > 0x7f) {
		return -1;
	}
	if (d->n - hdr < len)
		return -1;
	val->p = d->p + hdr;
	val->n = len;
	d->p += hdr + len;
	d->n -= hdr + len;
	return 0;
}

/* A positive INTEGER without its sign byte. */
static int der_uint(struct der *d, struct der *v)
{
	if (der_take(d, 0x02, v) != 0 || v->n == 0 || (v->p[0] & 0x80))
		return -1;
	if (v->n > 1 && v->p[0] == 0) {
		if ((v->p[1] & 0x80) == 0)
			return -1; /* not minimal */
		v->p++;
		v->n--;
	}
	return 0;
}

int sga_rsa_from_public_der(const uint8_t *der, size_t len, struct sga_rsa_key **out)
{
	/* AlgorithmIdentifier rsaEncryption (1.2.840.113549.1.1.1) with NULL parameters. */
	static const uint8_t rsa_alg[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
	                                  0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
	static const uint8_t e65537[] = {0x01, 0x00, 0x01};
	struct der d = {der, len}, spki, alg, bits, rsa, n, e;
	struct sga_rsa_key *k = NULL;

	if (out == NULL)
		return -EINVAL;
	*out = NULL;
	if (der == NULL || len == 0)
		return -EINVAL;
	if (der_take(&d, 0x30, &spki) != 0 || d.n != 0 || der_take(&spki, 0x30, &alg) != 0 ||
	    alg.n != sizeof(rsa_alg) || memcmp(alg.p, rsa_alg, sizeof(rsa_alg)) != 0 ||
	    der_take(&spki, 0x03, &bits) != 0 || spki.n != 0 || bits.n < 1 || bits.p[0] != 0)
		return -EINVAL;
	bits.p++;
	bits.n--;
	if (der_take(&bits, 0x30, &rsa) != 0 || bits.n != 0 || der_uint(&rsa, &n) != 0 ||
	    der_uint(&rsa, &e) != 0 || rsa.n != 0)
		return -EINVAL;
	/* 2048 bits and up to what this build holds; odd; e = 65537 only. */
	if (n.n < RSA_MIN_LEN || n.n > SGA_PORTABLE_BIGNUM_MAX_BYTES || (n.p[n.n - 1] & 1) == 0 ||
	    e.n != sizeof(e65537) || memcmp(e.p, e65537, sizeof(e65537)) != 0)
		return -EINVAL;
	k = sga_p_pool_take(key_pool, SGA_PORTABLE_RSA_KEYS, sizeof(key_pool[0]));
	if (k == NULL)
		return -ENOMEM;
	memcpy(k->n, n.p, n.n);
	k->len = n.n;
	*out = k;
	return 0;
}

size_t sga_rsa_size(const struct sga_rsa_key *key)
{
	return key == NULL ? 0 : key->len;
}

int sga_rsa_has_private(const struct sga_rsa_key *key)
{
	(void)key;
	return 0; /* this back end holds public keys only */
}

void sga_rsa_free(struct sga_rsa_key *key)
{
	if (key != NULL)
		sga_memzero(key, sizeof(*key));
}

size_t sga_rsa_oaep_max_plaintext(const struct sga_rsa_key *key)
{
	size_t n = sga_rsa_size(key);

	return n > OAEP_OVERHEAD ? n - OAEP_OVERHEAD : 0;
}

/* out ^= MGF1-SHA256(seed, n) (RFC 8017 B.2.1). */
static void mgf1_xor(uint8_t *out, size_t n, const uint8_t *seed, size_t seed_len)
{
	uint8_t h[SGA_SHA256_LEN], ctr[4];
	struct sga_sha256_ctx c;

	for (uint32_t i = 0; n > 0; i++) {
		size_t take = n < sizeof(h) ? n : sizeof(h);

		sga_store32_be(ctr, i);
		sga_sha256_init(&c);
		sga_sha256_update(&c, seed, seed_len);
		sga_sha256_update(&c, ctr, sizeof(ctr));
		sga_sha256_final(&c, h);
		for (size_t j = 0; j < take; j++)
			out[j] ^= h[j];
		out += take;
		n -= take;
	}
	sga_memzero(h, sizeof(h));
}

int sga_rsa_oaep_encrypt(const struct sga_rsa_key *key, const uint8_t *pt, size_t pt_len,
                         uint8_t *ct, size_t ct_cap, size_t *ct_len)
{
	/* SHA-256 of the empty label */
	static const uint8_t lhash[SGA_SHA256_LEN] = {
	    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
	    0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
	    0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};
	uint8_t em[SGA_PORTABLE_BIGNUM_MAX_BYTES];
	uint32_t m[MAXL], c[MAXL];
	struct mont M;
	size_t k, db_len;
	uint8_t *seed, *db;
	int rc;

	if (key == NULL || !key->in_use || ct == NULL || ct_len == NULL ||
	    (pt == NULL && pt_len != 0))
		return -EINVAL;
	k = key->len;
	if (pt_len > sga_rsa_oaep_max_plaintext(key))
		return -EINVAL;
	if (ct_cap < k)
		return -ENOSPC;
	/* EM = 00 || seed ^ MGF(DB) || DB ^ MGF(seed), DB = lHash || PS || 01 || M */
	seed = em + 1;
	db = em + 1 + SGA_SHA256_LEN;
	db_len = k - 1 - SGA_SHA256_LEN;
	memset(em, 0, k);
	memcpy(db, lhash, sizeof(lhash));
	db[db_len - pt_len - 1] = 0x01;
	if (pt_len != 0)
		memcpy(db + db_len - pt_len, pt, pt_len);
	rc = sga_random_bytes(seed, SGA_SHA256_LEN);
	if (rc != 0)
		goto out;
	mgf1_xor(db, db_len, seed, SGA_SHA256_LEN);
	mgf1_xor(seed, SGA_SHA256_LEN, db, db_len);
	/* c = m^65537 mod n: sixteen squarings and a multiplication. */
	mont_init(&M, key->n, k);
	from_be(m, M.n, em, k);
	mont_exp(&M, c, m, (const uint8_t[]){0x01, 0x00, 0x01}, 3);
	to_be(ct, k, c);
	*ct_len = k;
out:
	sga_memzero(em, sizeof(em));
	sga_memzero(m, sizeof(m));
	return rc;
}

#endif /* SGA_PORTABLE_RSA */
