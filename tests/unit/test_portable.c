/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_portable.c - the portable crypto back end (offload/portable/), the code
 * a Cortex-M4 device core links, on the host.
 *
 * The portable sources are built a second time with their sga_crypto.h names
 * prefixed sga_pt_ (tests/support/portable_rename.h), so this binary holds
 * both back ends: each primitive is checked on published vectors (cited at
 * each table) and byte for byte against the OpenSSL back end (or, for X25519,
 * OpenSSL's EVP X25519) on random inputs of many lengths, including in-place
 * and tampered messages. Errors are pinned to the codes of the API contract.
 * P-256 is compared with the OpenSSL back end's sga_p256_* (offload/sga_ec.c,
 * EC_POINT), both on published points and on random scalars and points.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "sga_crypto.h"
#include "sga_portable.h"

/* The portable back end under its test names (portable_rename.h). */
int sga_pt_sha256(const struct sga_buf *parts, size_t nparts, uint8_t out[SGA_SHA256_LEN]);
int sga_pt_hmac_sha256(const uint8_t *key, size_t key_len, const struct sga_buf *parts,
                       size_t nparts, uint8_t out[SGA_SHA256_LEN]);
int sga_pt_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
                       const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);
int sga_pt_x25519(const uint8_t scalar[SGA_X25519_LEN], const uint8_t *u,
                  uint8_t out[SGA_X25519_LEN]);
int sga_pt_p256_point_ok(const uint8_t *point, size_t len);
int sga_pt_p256_ecdh(const uint8_t scalar[SGA_P256_SCALAR_LEN], const uint8_t *point,
                     size_t point_len, uint8_t x[SGA_P256_X_LEN]);
int sga_pt_p256_base_mul(const uint8_t scalar[SGA_P256_SCALAR_LEN], uint8_t *out, size_t out_len);
int sga_pt_p256_scalar_random(uint8_t scalar[SGA_P256_SCALAR_LEN]);
int sga_pt_aead_seal(uint8_t suite, const uint8_t *key, const uint8_t nonce[SGA_AEAD_NONCE_LEN],
                     const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                     uint8_t *ct, size_t ct_cap);
int sga_pt_aead_open(uint8_t suite, const uint8_t *key, const uint8_t nonce[SGA_AEAD_NONCE_LEN],
                     const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                     uint8_t *pt, size_t pt_cap);
int sga_pt_random_bytes(uint8_t *buf, size_t len);
struct sga_pt_rsa_key;
int sga_pt_rsa_from_public_der(const uint8_t *der, size_t len, struct sga_pt_rsa_key **out);
size_t sga_pt_rsa_size(const struct sga_pt_rsa_key *key);
size_t sga_pt_rsa_oaep_max_plaintext(const struct sga_pt_rsa_key *key);
int sga_pt_rsa_has_private(const struct sga_pt_rsa_key *key);
void sga_pt_rsa_free(struct sga_pt_rsa_key *key);
int sga_pt_rsa_oaep_encrypt(const struct sga_pt_rsa_key *key, const uint8_t *pt, size_t pt_len,
                            uint8_t *ct, size_t ct_cap, size_t *ct_len);
struct sga_pt_hmac_key;
struct sga_pt_hmac_key *sga_pt_hmac_key_new(const uint8_t *key, size_t key_len);
int sga_pt_hmac_key_mac(struct sga_pt_hmac_key *k, const struct sga_buf *parts, size_t nparts,
                        uint8_t out[SGA_SHA256_LEN]);
void sga_pt_hmac_key_free(struct sga_pt_hmac_key *k);
struct sga_pt_aead_key;
struct sga_pt_aead_key *sga_pt_aead_key_new(uint8_t suite, enum sga_aead_dir dir,
                                            const uint8_t *key);
void sga_pt_aead_key_free(struct sga_pt_aead_key *k);
uint8_t sga_pt_aead_key_suite(const struct sga_pt_aead_key *k);
int sga_pt_aead_key_seal(struct sga_pt_aead_key *k, const uint8_t nonce[SGA_AEAD_NONCE_LEN],
                         const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                         uint8_t *ct, size_t ct_cap);
int sga_pt_aead_key_open(struct sga_pt_aead_key *k, const uint8_t nonce[SGA_AEAD_NONCE_LEN],
                         const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                         uint8_t *pt, size_t pt_cap);
int sga_pt_modexp(const struct sga_group_info *grp, const uint8_t *base, const uint8_t *exp,
                  size_t exp_len, uint8_t *out);
int sga_pt_exponent_random(uint8_t exp[SGA_EXPONENT_LEN]);

/* ---- helpers ------------------------------------------------------------ */

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex);

	cr_assert(n % 2 == 0 && n / 2 <= cap, "bad test vector");
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		cr_assert(sscanf(hex + 2 * i, "%2x", &v) == 1);
		out[i] = (uint8_t)v;
	}
	return n / 2;
}

static void rnd(void *p, size_t n)
{
	cr_assert(RAND_bytes(p, (int)n) == 1);
}

/* The test's TRNG for the portable back end. */
static int test_trng(void *ctx, uint8_t *buf, size_t len)
{
	(*(int *)ctx)++;
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

static int failing_trng(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	memset(buf, 0xa5, len);
	return -1;
}

static void assert_hex(const uint8_t *got, const char *want_hex)
{
	uint8_t want[512];
	size_t n = unhex(want_hex, want, sizeof(want));

	cr_assert(memcmp(got, want, n) == 0, "does not match the published vector");
}

/* ---- SHA-256, HMAC, HKDF -------------------------------------------------- */

Test(portable, sha256_fips180_and_openssl)
{
	uint8_t out[32], ref[32], msg[300];
	struct sga_buf abc = {"abc", 3};

	/* FIPS 180-2 appendix B.1 */
	cr_assert_eq(sga_pt_sha256(&abc, 1, out), 0);
	assert_hex(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	rnd(msg, sizeof(msg));
	for (size_t n = 0; n <= sizeof(msg); n++) {
		/* split in three parts at varying places */
		struct sga_buf parts[3] = {
		    {msg, n / 3}, {msg + n / 3, n / 2 - n / 3}, {msg + n / 2, n - n / 2}};

		cr_assert_eq(sga_pt_sha256(parts, 3, out), 0);
		cr_assert_eq(sga_sha256(parts, 3, ref), 0);
		cr_assert(memcmp(out, ref, 32) == 0, "sha256 differs at length %zu", n);
	}
	cr_assert_eq(sga_pt_sha256(NULL, 0, out), 0);
	assert_hex(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	cr_assert_eq(sga_pt_sha256(&abc, 1, NULL), -EINVAL);
	struct sga_buf bad = {NULL, 1};
	cr_assert_eq(sga_pt_sha256(&bad, 1, out), -EINVAL);
}

Test(portable, hmac_rfc4231_and_openssl)
{
	uint8_t key[20], out[32], ref[32], big[200], msg[200];
	struct sga_buf hi = {"Hi There", 8}, jefe = {"what do ya want for nothing?", 28};

	/* RFC 4231 4.2 (test case 1) and 4.3 (test case 2) */
	memset(key, 0x0b, sizeof(key));
	cr_assert_eq(sga_pt_hmac_sha256(key, 20, &hi, 1, out), 0);
	assert_hex(out, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	cr_assert_eq(sga_pt_hmac_sha256((const uint8_t *)"Jefe", 4, &jefe, 1, out), 0);
	assert_hex(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* Keys shorter than, equal to and longer than the block (hashed first). */
	rnd(big, sizeof(big));
	rnd(msg, sizeof(msg));
	for (size_t kl = 0; kl <= sizeof(big); kl += 7) {
		struct sga_buf parts[2] = {{msg, kl % 97}, {msg + 100, 100}};

		cr_assert_eq(sga_pt_hmac_sha256(big, kl, parts, 2, out), 0);
		cr_assert_eq(sga_hmac_sha256(big, kl, parts, 2, ref), 0);
		cr_assert(memcmp(out, ref, 32) == 0, "hmac differs at key length %zu", kl);
	}
	cr_assert_eq(sga_pt_hmac_sha256(NULL, 1, &hi, 1, out), -EINVAL);
}

Test(portable, hkdf_rfc5869_and_openssl)
{
	uint8_t ikm[80], salt[80], info[80], out[255 * 32], ref[255 * 32];

	/* RFC 5869 A.1 */
	memset(ikm, 0x0b, 22);
	for (int i = 0; i < 13; i++)
		salt[i] = (uint8_t)i;
	for (int i = 0; i < 10; i++)
		info[i] = (uint8_t)(0xf0 + i);
	cr_assert_eq(sga_pt_hkdf_sha256(ikm, 22, salt, 13, info, 10, out, 42), 0);
	assert_hex(out, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	                "34007208d5b887185865");
	/* RFC 5869 A.3: no salt, no info */
	cr_assert_eq(sga_pt_hkdf_sha256(ikm, 22, NULL, 0, NULL, 0, out, 42), 0);
	assert_hex(out, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
	                "9d201395faa4b61a96c8");
	rnd(ikm, sizeof(ikm));
	rnd(salt, sizeof(salt));
	rnd(info, sizeof(info));
	for (size_t n = 1; n <= sizeof(out); n += 61) {
		size_t il = n % 81, sl = (n / 3) % 81, fl = (n / 7) % 81;

		cr_assert_eq(sga_pt_hkdf_sha256(ikm, il, salt, sl, info, fl, out, n), 0);
		cr_assert_eq(sga_hkdf_sha256(ikm, il, salt, sl, info, fl, ref, n), 0);
		cr_assert(memcmp(out, ref, n) == 0, "hkdf differs at length %zu", n);
	}
	cr_assert_eq(sga_pt_hkdf_sha256(ikm, 32, NULL, 0, NULL, 0, out, 255 * 32 + 1), -EINVAL);
	cr_assert_eq(sga_pt_hkdf_sha256(ikm, 32, NULL, 0, NULL, 0, out, 0), -EINVAL);
}

/* ---- X25519 ---------------------------------------------------------------- */

/* OpenSSL's X25519(k, u), for comparison; -1 where it refuses (zero result). */
static int ossl_x25519(const uint8_t k[32], const uint8_t u[32], uint8_t out[32])
{
	EVP_PKEY *priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, k, 32);
	EVP_PKEY *pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, u, 32);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(priv, NULL);
	size_t len = 32;
	int rc = -1;

	if (ctx != NULL && pub != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
	    EVP_PKEY_derive_set_peer(ctx, pub) == 1 && EVP_PKEY_derive(ctx, out, &len) == 1 &&
	    len == 32)
		rc = 0;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(priv);
	return rc;
}

Test(portable, x25519_rfc7748_vectors)
{
	uint8_t k[32], u[32], out[32], pub[32];

	/* RFC 7748 5.2, the two single-call vectors */
	unhex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", k, 32);
	unhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c", u, 32);
	cr_assert_eq(sga_pt_x25519(k, u, out), 0);
	assert_hex(out, "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
	unhex("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d", k, 32);
	unhex("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493", u, 32);
	cr_assert_eq(sga_pt_x25519(k, u, out), 0);
	assert_hex(out, "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
	/* RFC 7748 6.1: Alice, Bob and their shared secret */
	unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", k, 32);
	cr_assert_eq(sga_pt_x25519(k, NULL, pub), 0);
	assert_hex(pub, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", u, 32);
	cr_assert_eq(sga_pt_x25519(k, u, out), 0);
	assert_hex(out, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
}

Test(portable, x25519_rfc7748_iterated)
{
	/* RFC 7748 5.2: k = u = 9; k, u = X25519(k, u), k; after 1 and 1,000 rounds. */
	uint8_t k[32] = {9}, u[32] = {9}, r[32];

	for (int i = 1; i <= 1000; i++) {
		cr_assert_eq(sga_pt_x25519(k, u, r), 0);
		memcpy(u, k, 32);
		memcpy(k, r, 32);
		if (i == 1)
			assert_hex(
			    k, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
	}
	assert_hex(k, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

Test(portable, x25519_random_against_openssl)
{
	uint8_t k[32], u[32], out[32], ref[32];

	for (int i = 0; i < 300; i++) {
		rnd(k, 32);
		rnd(u, 32);
		/* Every 4th u is non-canonical (>= p or bit 255 set): both must agree. */
		if (i % 4 == 1)
			memset(u + 1, 0xff, 31);
		if (i % 4 == 2)
			u[31] |= 0x80;
		/* u = p, p + 1 (0 and 1 unreduced) can come up: both then refuse. */
		if (ossl_x25519(k, u, ref) != 0) {
			cr_assert_eq(sga_pt_x25519(k, u, out), -EINVAL);
			continue;
		}
		cr_assert_eq(sga_pt_x25519(k, u, out), 0);
		cr_assert(memcmp(out, ref, 32) == 0, "x25519 differs from OpenSSL at %d", i);
	}
}

Test(portable, x25519_small_order_is_einval)
{
	/* u = 0, 1 and p - 1 (all of small order): the result is zero. */
	uint8_t k[32], u[32], out[32];

	rnd(k, 32);
	memset(u, 0, 32);
	cr_assert_eq(sga_pt_x25519(k, u, out), -EINVAL);
	u[0] = 1;
	cr_assert_eq(sga_pt_x25519(k, u, out), -EINVAL);
	unhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", u, 32);
	cr_assert_eq(sga_pt_x25519(k, u, out), -EINVAL);
	/* p and p + 1: 0 and 1 in non-canonical form */
	unhex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", u, 32);
	cr_assert_eq(sga_pt_x25519(k, u, out), -EINVAL);
	u[0] = 0xee;
	cr_assert_eq(sga_pt_x25519(k, u, out), -EINVAL);
	/* the order-8 point of the libsodium blocklist */
	unhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", u, 32);
	cr_assert_eq(sga_pt_x25519(k, u, out), -EINVAL);
	cr_assert_eq(sga_pt_x25519(NULL, u, out), -EINVAL);
}

/* ---- P-256 ----------------------------------------------------------------- */

static const char p256_n_hex[] = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
static const char p256_p_hex[] = "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff";

/* k as a 32-byte big-endian scalar from hex. */
static void p256_scalar(const char *hex, uint8_t k[32])
{
	uint8_t tmp[32];
	size_t n = unhex(hex, tmp, sizeof(tmp));

	memset(k, 0, 32);
	memcpy(k + 32 - n, tmp, n);
}

Test(portable, p256_base_mul_known_points)
{
	/* [1]G, [2]G, [3]G and [n-1]G = -G (SEC 2 G; the multiples as in the
	 * NIST/CAVS point tables). */
	static const struct {
		const char *k, *x, *y;
	} v[] = {
	    {"01", "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
	     "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"},
	    {"02", "7cf27b188d034f7e8a52380304b51ac3c08969e277f21b35a60b48fc47669978",
	     "07775510db8ed040293d9ac69f7430dbba7dade63ce982299e04b79d227873d1"},
	    {"03", "5ecbe4d1a6330a44c8f7ef951d4bf165e6c6b721efada985fb41661bc6e7fd6c",
	     "8734640c4998ff7e374b06ce1a64a2ecd82ab036384fb83d9a79b127a27d5032"},
	    {"ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550",
	     "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
	     "b01cbd1c01e58065711814b583f061e9d431cca994cea1313449bf97c840ae0a"},
	};
	uint8_t k[32], x[32], y[32], u[65], c[33];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		p256_scalar(v[i].k, k);
		unhex(v[i].x, x, 32);
		unhex(v[i].y, y, 32);
		cr_assert_eq(sga_pt_p256_base_mul(k, u, sizeof(u)), 0);
		cr_assert_eq(u[0], 4);
		cr_assert(memcmp(u + 1, x, 32) == 0 && memcmp(u + 33, y, 32) == 0,
		          "[%s]G uncompressed", v[i].k);
		cr_assert_eq(sga_pt_p256_base_mul(k, c, sizeof(c)), 0);
		cr_assert_eq(c[0], 2 | (y[31] & 1), "[%s]G: the prefix is y's parity", v[i].k);
		cr_assert(memcmp(c + 1, x, 32) == 0);
		cr_assert(sga_pt_p256_point_ok(u, sizeof(u)) && sga_pt_p256_point_ok(c, sizeof(c)));
	}
}

Test(portable, p256_rfc5903_ecdh)
{
	/* RFC 5903 section 8.1: the initiator i, the responder r, their public
	 * points and the shared x. */
	uint8_t i[32], r[32], gi[65], gr[65], out[65], z[32];

	unhex("c88f01f510d9ac3f70a292daa2316de544e9aab8afe84049c62a9c57862d1433", i, 32);
	unhex("c6ef9c5d78ae012a011164acb397ce2088685d8f06bf9be0b283ab46476bee53", r, 32);
	gi[0] = gr[0] = 4;
	unhex("dad0b65394221cf9b051e1feca5787d098dfe637fc90b9ef945d0c3772581180"
	      "5271a0461cdb8252d61f1c456fa3e59ab1f45b33accf5f58389e0577b8990bb3",
	      gi + 1, 64);
	unhex("d12dfb5289c8d4f81208b70270398c342296970a0bccb74c736fc7554494bf63"
	      "56fbf3ca366cc23e8157854c13c58d6aac23f046ada30f8353e74f33039872ab",
	      gr + 1, 64);
	cr_assert_eq(sga_pt_p256_base_mul(i, out, 65), 0);
	cr_assert(memcmp(out, gi, 65) == 0, "g^i");
	cr_assert_eq(sga_pt_p256_base_mul(r, out, 65), 0);
	cr_assert(memcmp(out, gr, 65) == 0, "g^r");
	cr_assert_eq(sga_pt_p256_ecdh(i, gr, 65, z), 0);
	assert_hex(z, "d6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de");
	cr_assert_eq(sga_pt_p256_ecdh(r, gi, 65, z), 0);
	assert_hex(z, "d6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de");
	/* The same peer compressed (gi's y ends in b3: odd, prefix 03). */
	gi[0] = 3;
	cr_assert_eq(sga_pt_p256_ecdh(r, gi, 33, z), 0);
	assert_hex(z, "d6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de");
	gi[0] = 2; /* the other y: -gi, the same x for [r](-gi) = -[r]gi */
	cr_assert_eq(sga_pt_p256_ecdh(r, gi, 33, z), 0);
	assert_hex(z, "d6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de");
}

Test(portable, p256_point_ok_refuses)
{
	uint8_t g[65], c[33], k[32] = {0}, x[32];

	k[31] = 1;
	cr_assert_eq(sga_pt_p256_base_mul(k, g, 65), 0);
	memcpy(c, g, 33);
	c[0] = 2 | (g[64] & 1);
	cr_assert(sga_pt_p256_point_ok(g, 65));
	cr_assert(sga_pt_p256_point_ok(c, 33));
	/* off the curve: y + 1, and y swapped for x */
	g[64] ^= 1;
	cr_assert_not(sga_pt_p256_point_ok(g, 65), "an off-curve point was accepted");
	cr_assert_eq(sga_pt_p256_ecdh(k, g, 65, x), -EINVAL);
	for (size_t i = 0; i < 32; i++)
		cr_assert_eq(x[i], 0, "the output of a refused ECDH is not zeroed");
	g[64] ^= 1;
	/* wrong prefix for the length, hybrid 06/07, 00 (infinity), wrong lengths */
	g[0] = 2;
	cr_assert_not(sga_pt_p256_point_ok(g, 65));
	g[0] = 6 | (g[64] & 1);
	cr_assert_not(sga_pt_p256_point_ok(g, 65));
	g[0] = 4;
	c[0] = 4;
	cr_assert_not(sga_pt_p256_point_ok(c, 33));
	c[0] = 2 | (g[64] & 1);
	cr_assert_not(sga_pt_p256_point_ok(c, 32));
	cr_assert_not(sga_pt_p256_point_ok(c, 34));
	cr_assert_not(sga_pt_p256_point_ok(g, 64));
	cr_assert_not(sga_pt_p256_point_ok(g, 66));
	cr_assert_not(sga_pt_p256_point_ok(g, 1));
	cr_assert_not(sga_pt_p256_point_ok(g, 0));
	cr_assert_not(sga_pt_p256_point_ok(NULL, 33));
	memset(c + 1, 0, 32);
	c[0] = 0;
	cr_assert_not(sga_pt_p256_point_ok(c, 1));
	/* x = 1: 1 - 3 + b is not a square mod p, no point has it; x = 0 has one */
	c[0] = 2;
	cr_assert(sga_pt_p256_point_ok(c, 33), "x = 0 is on the curve");
	c[32] = 1;
	cr_assert_not(sga_pt_p256_point_ok(c, 33), "x = 1 has no square root");
	c[0] = 3;
	cr_assert_not(sga_pt_p256_point_ok(c, 33));
	cr_assert_eq(sga_p256_point_ok(c, 33), 0, "OpenSSL agrees");
	/* x = p and x = p + 1 (0 and 1 unreduced), x = 2^256 - 1; y = p next to
	 * a valid x (y = 0 unreduced) */
	unhex(p256_p_hex, c + 1, 32);
	cr_assert_not(sga_pt_p256_point_ok(c, 33), "x = p accepted");
	c[0] = 2;
	cr_assert_not(sga_pt_p256_point_ok(c, 33), "x = p accepted");
	unhex("ffffffff00000001000000000000000100000000000000000000000000000000", c + 1, 32);
	cr_assert_not(sga_pt_p256_point_ok(c, 33), "x = p + 1 accepted");
	memset(c + 1, 0xff, 32);
	cr_assert_not(sga_pt_p256_point_ok(c, 33));
	unhex(p256_p_hex, g + 33, 32);
	cr_assert_not(sga_pt_p256_point_ok(g, 65), "y = p accepted");
	cr_assert_eq(sga_p256_point_ok(g, 65), 0);
}

Test(portable, p256_scalar_range)
{
	uint8_t k[32], out[65], x[32], g[65];

	memset(k, 0, 32);
	k[31] = 1;
	cr_assert_eq(sga_pt_p256_base_mul(k, g, 65), 0);
	/* 0, n, n + 1 and 2^256 - 1 are refused with the output zeroed; n - 1 is not. */
	memset(k, 0, 32);
	memset(out, 0xa5, sizeof(out));
	cr_assert_eq(sga_pt_p256_base_mul(k, out, 65), -EINVAL);
	for (size_t i = 0; i < sizeof(out); i++)
		cr_assert_eq(out[i], 0);
	cr_assert_eq(sga_pt_p256_ecdh(k, g, 65, x), -EINVAL);
	unhex(p256_n_hex, k, 32);
	cr_assert_eq(sga_pt_p256_base_mul(k, out, 33), -EINVAL, "scalar n accepted");
	cr_assert_eq(sga_pt_p256_ecdh(k, g, 65, x), -EINVAL, "scalar n accepted");
	k[31] += 1;
	cr_assert_eq(sga_pt_p256_base_mul(k, out, 33), -EINVAL);
	memset(k, 0xff, 32);
	cr_assert_eq(sga_pt_p256_base_mul(k, out, 33), -EINVAL);
	unhex(p256_n_hex, k, 32);
	k[31] -= 1;
	cr_assert_eq(sga_pt_p256_base_mul(k, out, 33), 0);
	/* output lengths and NULLs */
	cr_assert_eq(sga_pt_p256_base_mul(k, out, 32), -EINVAL);
	cr_assert_eq(sga_pt_p256_base_mul(k, out, 64), -EINVAL);
	cr_assert_eq(sga_pt_p256_base_mul(NULL, out, 33), -EINVAL);
	cr_assert_eq(sga_pt_p256_base_mul(k, NULL, 33), -EINVAL);
	cr_assert_eq(sga_pt_p256_ecdh(NULL, g, 65, x), -EINVAL);
	cr_assert_eq(sga_pt_p256_ecdh(k, NULL, 65, x), -EINVAL);
	cr_assert_eq(sga_pt_p256_ecdh(k, g, 65, NULL), -EINVAL);
}

Test(portable, p256_random_against_openssl)
{
	uint8_t k[32], k2[32], a[65], b[65], ac[33], bc[33], xa[32], xb[32];

	for (int i = 0; i < 100; i++) {
		rnd(k, 32);
		rnd(k2, 32);
		/* Every 8th scalar is small or near n: short ladders, top bits clear or set. */
		if (i % 8 == 3)
			memset(k, 0, 28);
		if (i % 8 == 5) {
			unhex(p256_n_hex, k, 32);
			k[31] = (uint8_t)(k[31] - 1 - (i & 0x3f));
		}
		cr_assert_eq(sga_pt_p256_base_mul(k, a, 65), sga_p256_base_mul(k, b, 65));
		cr_assert(memcmp(a, b, 65) == 0, "[k]G differs from OpenSSL at %d", i);
		cr_assert_eq(sga_pt_p256_base_mul(k, ac, 33), 0);
		cr_assert_eq(sga_p256_base_mul(k, bc, 33), 0);
		cr_assert(memcmp(ac, bc, 33) == 0, "compressed [k]G differs at %d", i);
		/* ECDH on that point, both encodings */
		cr_assert_eq(sga_pt_p256_ecdh(k2, a, 65, xa), 0);
		cr_assert_eq(sga_p256_ecdh(k2, a, 65, xb), 0);
		cr_assert(memcmp(xa, xb, 32) == 0, "ECDH differs from OpenSSL at %d", i);
		cr_assert_eq(sga_pt_p256_ecdh(k2, ac, 33, xa), 0);
		cr_assert(memcmp(xa, xb, 32) == 0, "ECDH on the compressed point at %d", i);
		/* A random x: about half are on the curve; both back ends agree on
		 * which, and on the ECDH where it is. */
		rnd(ac + 1, 32);
		ac[0] = (uint8_t)(2 | (i & 1));
		cr_assert_eq(sga_pt_p256_point_ok(ac, 33), sga_p256_point_ok(ac, 33),
		             "point_ok differs from OpenSSL at %d", i);
		cr_assert_eq(sga_pt_p256_ecdh(k2, ac, 33, xa), sga_p256_ecdh(k2, ac, 33, xb));
		cr_assert(memcmp(xa, xb, 32) == 0);
		/* A random y next to a real x: off the curve for both */
		rnd(a + 33, 32);
		cr_assert_eq(sga_pt_p256_point_ok(a, 65), sga_p256_point_ok(a, 65));
	}
}

Test(portable, p256_scalar_random_fails_closed)
{
	uint8_t k[32], n[32], out[33];
	int calls = 0;

	sga_portable_set_random(NULL, NULL);
	memset(k, 0xa5, sizeof(k));
	cr_assert_eq(sga_pt_p256_scalar_random(k), -EIO);
	for (size_t i = 0; i < sizeof(k); i++)
		cr_assert_eq(k[i], 0);
	cr_assert_eq(sga_pt_p256_scalar_random(NULL), -EINVAL);
	sga_portable_set_random(test_trng, &calls);
	unhex(p256_n_hex, n, 32);
	for (int i = 0; i < 32; i++) {
		cr_assert_eq(sga_pt_p256_scalar_random(k), 0);
		cr_assert(memcmp(k, n, 32) < 0);
		cr_assert_eq(sga_pt_p256_base_mul(k, out, 33), 0, "a drawn scalar is refused");
	}
	cr_assert_geq(calls, 32);
	sga_portable_set_random(NULL, NULL);
}

/* Not a timed assertion: a printout of ECDH/s of both back ends on this host
 * (DEVICES.md section 3 quotes it). */
Test(portable, p256_speed_printout)
{
	uint8_t k[32], g[65], x[32];
	struct timespec t0, t1;
	double pt_s, ossl_s;
	const int rounds = 200;

	rnd(k, 32);
	k[0] &= 0x7f;
	cr_assert_eq(sga_p256_base_mul(k, g, 65), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < rounds; i++)
		cr_assert_eq(sga_pt_p256_ecdh(k, g, 65, x), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pt_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < rounds; i++)
		cr_assert_eq(sga_p256_ecdh(k, g, 65, x), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ossl_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "p256 ecdh/s: portable %.0f, openssl %.0f\n", rounds / pt_s,
	        rounds / ossl_s);
}

/* ---- AEAD ------------------------------------------------------------------ */

static const uint8_t all_suites[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_AES256_GCM,
                                     SGA_SUITE_CHACHA20_POLY1305, SGA_SUITE_AES128_CCM8,
                                     SGA_SUITE_ASCON_AEAD128};

struct aead_kat {
	uint8_t suite;
	const char *key, *nonce, *aad, *pt, *ct_tag;
};

static const struct aead_kat aead_kats[] = {
    /* McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 1, 2, 4 */
    {SGA_SUITE_AES128_GCM, "00000000000000000000000000000000", "000000000000000000000000", "", "",
     "58e2fccefa7e3061367f1d57a4e7455a"},
    {SGA_SUITE_AES128_GCM, "00000000000000000000000000000000", "000000000000000000000000", "",
     "00000000000000000000000000000000",
     "0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf"},
    {SGA_SUITE_AES128_GCM, "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b"
     "525b16aedf5aa0de657ba637b39",
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84a"
     "a051ba30b396a0aac973d58e0915bc94fbc3221a5db94fae95ae7121a47"},
    /* the same paper, test case 16 (AES-256) */
    {SGA_SUITE_AES256_GCM, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b"
     "525b16aedf5aa0de657ba637b39",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828"
     "838c5f61e6393ba7a0abcc9f66276fc6ece0f4e1768cddf8853bb2d551b"},
    /* RFC 8439 2.8.2 */
    {SGA_SUITE_CHACHA20_POLY1305,
     "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", "070000004041424344454647",
     "50515253c0c1c2c3c4c5c6c7",
     "4c616469657320616e642047656e746c656d656e206f662074686520636c617373206f66202739393a204966204"
     "920636f756c64206f6666657220796f75206f6e6c79206f6e652074697020666f7220746865206675747572652c"
     "2073756e73637265656e20776f756c642062652069742e",
     "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92"
     "728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b"
     "4831d7bc3ff4def08e4b7a9de576d26586cec64b61161ae10b594f09e26a7e902ecbd0600691"},
    /* NIST SP 800-38C appendix C, example 3 (96-bit nonce, 64-bit tag) */
    {SGA_SUITE_AES128_CCM8, "404142434445464748494a4b4c4d4e4f", "101112131415161718191a1b",
     "000102030405060708090a0b0c0d0e0f10111213", "202122232425262728292a2b2c2d2e2f3031323334353637",
     "e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5484392fbc1b09951"},
};

Test(portable, aead_published_vectors)
{
	for (size_t i = 0; i < sizeof(aead_kats) / sizeof(aead_kats[0]); i++) {
		const struct aead_kat *v = &aead_kats[i];
		uint8_t key[32], nonce[12], aad[64], pt[256], want[300], ct[300], back[256];
		size_t kl = unhex(v->key, key, sizeof(key)), al = unhex(v->aad, aad, sizeof(aad));
		size_t pl = unhex(v->pt, pt, sizeof(pt)), cl = unhex(v->ct_tag, want, sizeof(want));

		cr_assert_eq(kl, sga_suite_get(v->suite)->key_len);
		unhex(v->nonce, nonce, sizeof(nonce));
		cr_assert_eq(
		    sga_pt_aead_seal(v->suite, key, nonce, aad, al, pt, pl, ct, sizeof(ct)), 0);
		cr_assert(memcmp(ct, want, cl) == 0, "vector %zu: ciphertext or tag differs", i);
		cr_assert_eq(sga_pt_aead_open(v->suite, key, nonce, aad, al, want, cl, back, pl),
		             0);
		cr_assert(memcmp(back, pt, pl) == 0, "vector %zu: plaintext differs", i);
	}
}

static void aead_compare(uint8_t suite, size_t aad_len, size_t pt_len)
{
	const struct sga_suite_info *s = sga_suite_get(suite);
	uint8_t key[32], nonce[12], aad[300], pt[600], ct[620], ref[620], back[620];
	size_t cl = pt_len + s->tag_len;

	rnd(key, sizeof(key));
	rnd(nonce, sizeof(nonce));
	rnd(aad, sizeof(aad));
	rnd(pt, sizeof(pt));
	cr_assert_eq(sga_pt_aead_seal(suite, key, nonce, aad, aad_len, pt, pt_len, ct, cl), 0);
	cr_assert_eq(sga_aead_seal(suite, key, nonce, aad, aad_len, pt, pt_len, ref, cl), 0);
	cr_assert(memcmp(ct, ref, cl) == 0, "%s differs from OpenSSL (aad %zu, pt %zu)", s->name,
	          aad_len, pt_len);
	/* Each opens the other's. */
	cr_assert_eq(sga_pt_aead_open(suite, key, nonce, aad, aad_len, ref, cl, back, pt_len), 0);
	cr_assert(memcmp(back, pt, pt_len) == 0);
	cr_assert_eq(sga_aead_open(suite, key, nonce, aad, aad_len, ct, cl, back, pt_len), 0);
	/* In place. */
	memcpy(back, pt, pt_len);
	cr_assert_eq(
	    sga_pt_aead_seal(suite, key, nonce, aad, aad_len, back, pt_len, back, sizeof(back)), 0);
	cr_assert(memcmp(back, ref, cl) == 0, "%s in place differs", s->name);
	cr_assert_eq(sga_pt_aead_open(suite, key, nonce, aad, aad_len, back, cl, back, pt_len), 0);
	cr_assert(memcmp(back, pt, pt_len) == 0);
	/* A flipped bit anywhere (ciphertext, tag, aad) is -EBADMSG with pt zeroed. */
	for (size_t bit = 0; bit < 8 * cl; bit += 8 * cl / 5 + 1) {
		memcpy(ct, ref, cl);
		ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		memset(back, 0x55, sizeof(back));
		cr_assert_eq(
		    sga_pt_aead_open(suite, key, nonce, aad, aad_len, ct, cl, back, pt_len),
		    -EBADMSG);
		for (size_t i = 0; i < pt_len; i++)
			cr_assert_eq(back[i], 0, "plaintext not wiped after a bad tag");
	}
	if (aad_len != 0) {
		aad[aad_len - 1] ^= 1;
		cr_assert_eq(
		    sga_pt_aead_open(suite, key, nonce, aad, aad_len, ref, cl, back, pt_len),
		    -EBADMSG);
	}
}

Test(portable, aead_random_against_openssl)
{
	static const size_t lens[] = {0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 255, 256, 299};

	for (size_t s = 0; s < sizeof(all_suites); s++) {
		for (size_t a = 0; a < sizeof(lens) / sizeof(lens[0]); a++)
			aead_compare(all_suites[s], lens[a], lens[(a * 7 + 3) % 15] * 2);
		aead_compare(all_suites[s], 299, 600);
	}
}

Test(portable, aead_long_aad_ccm)
{
	/* CCM's 6-byte aad length prefix starts at 2^16 - 2^8. */
	static uint8_t aad[70000], ct[64], ref[64];
	uint8_t key[16], nonce[12], pt[40];

	rnd(aad, sizeof(aad));
	rnd(key, sizeof(key));
	rnd(nonce, sizeof(nonce));
	rnd(pt, sizeof(pt));
	for (size_t al = 0xfeff; al <= sizeof(aad); al += sizeof(aad) - 0xfeff) {
		cr_assert_eq(
		    sga_pt_aead_seal(SGA_SUITE_AES128_CCM8, key, nonce, aad, al, pt, 40, ct, 48),
		    0);
		cr_assert_eq(
		    sga_aead_seal(SGA_SUITE_AES128_CCM8, key, nonce, aad, al, pt, 40, ref, 48), 0);
		cr_assert(memcmp(ct, ref, 48) == 0, "ccm differs at aad length %zu", al);
	}
}

Test(portable, aead_errors)
{
	uint8_t key[32] = {0}, nonce[12] = {0}, buf[64] = {0};

	cr_assert_eq(sga_pt_aead_seal(0x7f, key, nonce, NULL, 0, buf, 16, buf, 64), -EINVAL);
	cr_assert_eq(sga_pt_aead_seal(SGA_SUITE_AES128_GCM, key, nonce, NULL, 0, buf, 16, buf, 31),
	             -ENOSPC);
	cr_assert_eq(sga_pt_aead_open(SGA_SUITE_AES128_GCM, key, nonce, NULL, 0, buf, 15, buf, 64),
	             -EBADMSG);
	cr_assert_eq(sga_pt_aead_open(SGA_SUITE_AES128_GCM, key, nonce, NULL, 0, buf, 32, buf, 15),
	             -ENOSPC);
	cr_assert_eq(sga_pt_aead_seal(SGA_SUITE_AES128_GCM, NULL, nonce, NULL, 0, buf, 16, buf, 64),
	             -EINVAL);
}

/* ---- prepared keys from the static pools ------------------------------------ */

Test(portable, hmac_key_matches_hmac_and_pool_bounds)
{
	struct sga_pt_hmac_key *k[3];
	uint8_t key[100], msg[150], out[32], ref[32];

	rnd(key, sizeof(key));
	rnd(msg, sizeof(msg));
	k[0] = sga_pt_hmac_key_new(key, 32);
	k[1] = sga_pt_hmac_key_new(key, 100); /* longer than a block: hashed */
	cr_assert(k[0] != NULL && k[1] != NULL);
	/* The default pool holds two. */
	k[2] = sga_pt_hmac_key_new(key, 16);
	cr_assert_null(k[2]);
	for (size_t n = 0; n <= sizeof(msg); n += 37) {
		struct sga_buf parts[2] = {{msg, n / 2}, {msg + n / 2, n - n / 2}};

		cr_assert_eq(sga_pt_hmac_key_mac(k[0], parts, 2, out), 0);
		cr_assert_eq(sga_hmac_sha256(key, 32, parts, 2, ref), 0);
		cr_assert(memcmp(out, ref, 32) == 0);
		cr_assert_eq(sga_pt_hmac_key_mac(k[1], parts, 2, out), 0);
		cr_assert_eq(sga_hmac_sha256(key, 100, parts, 2, ref), 0);
		cr_assert(memcmp(out, ref, 32) == 0);
	}
	cr_assert_null(sga_pt_hmac_key_new(key, 0));
	sga_pt_hmac_key_free(k[0]);
	k[2] = sga_pt_hmac_key_new(key, 16);
	cr_assert_not_null(k[2], "a freed slot is not reused");
	sga_pt_hmac_key_free(k[1]);
	sga_pt_hmac_key_free(k[2]);
	sga_pt_hmac_key_free(NULL);
}

Test(portable, aead_key_matches_aead_and_pool_bounds)
{
	struct sga_pt_aead_key *k[5];
	uint8_t key[32], nonce[12], pt[70], ct[86], ref[86], back[70];

	rnd(key, sizeof(key));
	rnd(nonce, sizeof(nonce));
	rnd(pt, sizeof(pt));
	for (size_t s = 0; s < sizeof(all_suites); s++) {
		size_t cl = sizeof(pt) + sga_suite_get(all_suites[s])->tag_len;

		k[0] = sga_pt_aead_key_new(all_suites[s], SGA_AEAD_SEAL, key);
		k[1] = sga_pt_aead_key_new(all_suites[s], SGA_AEAD_OPEN, key);
		cr_assert(k[0] != NULL && k[1] != NULL);
		cr_assert_eq(sga_pt_aead_key_suite(k[0]), all_suites[s]);
		cr_assert_eq(sga_pt_aead_key_seal(k[0], nonce, pt, 5, pt, sizeof(pt), ct, cl), 0);
		cr_assert_eq(
		    sga_aead_seal(all_suites[s], key, nonce, pt, 5, pt, sizeof(pt), ref, cl), 0);
		cr_assert(memcmp(ct, ref, cl) == 0);
		cr_assert_eq(sga_pt_aead_key_open(k[1], nonce, pt, 5, ct, cl, back, sizeof(back)),
		             0);
		cr_assert(memcmp(back, pt, sizeof(pt)) == 0);
		/* A key opens only in its own direction. */
		cr_assert_eq(sga_pt_aead_key_open(k[0], nonce, pt, 5, ct, cl, back, sizeof(back)),
		             -EINVAL);
		cr_assert_eq(sga_pt_aead_key_seal(k[1], nonce, pt, 5, pt, sizeof(pt), ct, cl),
		             -EINVAL);
		ct[0] ^= 1;
		cr_assert_eq(sga_pt_aead_key_open(k[1], nonce, pt, 5, ct, cl, back, sizeof(back)),
		             -EBADMSG);
		sga_pt_aead_key_free(k[0]);
		sga_pt_aead_key_free(k[1]);
	}
	/* Four slots by default; the fifth is ENOMEM. */
	for (int i = 0; i < 4; i++)
		cr_assert_not_null(
		    k[i] = sga_pt_aead_key_new(SGA_SUITE_AES128_GCM, SGA_AEAD_SEAL, key));
	errno = 0;
	cr_assert_null(k[4] = sga_pt_aead_key_new(SGA_SUITE_AES128_GCM, SGA_AEAD_SEAL, key));
	cr_assert_eq(errno, ENOMEM);
	for (int i = 0; i < 4; i++)
		sga_pt_aead_key_free(k[i]);
	errno = 0;
	cr_assert_null(sga_pt_aead_key_new(0x7f, SGA_AEAD_SEAL, key));
	cr_assert_eq(errno, EINVAL);
}

/* ---- random ---------------------------------------------------------------- */

Test(portable, random_fails_closed_without_a_source)
{
	uint8_t buf[32], exp[SGA_EXPONENT_LEN];
	int calls = 0;

	sga_portable_set_random(NULL, NULL);
	memset(buf, 0xa5, sizeof(buf));
	cr_assert_eq(sga_pt_random_bytes(buf, sizeof(buf)), -EIO);
	for (size_t i = 0; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 0);
	cr_assert_eq(sga_pt_exponent_random(exp), -EIO);
	sga_portable_set_random(failing_trng, NULL);
	cr_assert_eq(sga_pt_random_bytes(buf, sizeof(buf)), -EIO);
	for (size_t i = 0; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 0, "a failed source's bytes reached the caller");
	sga_portable_set_random(test_trng, &calls);
	cr_assert_eq(sga_pt_random_bytes(buf, sizeof(buf)), 0);
	cr_assert_eq(sga_pt_exponent_random(exp), 0);
	cr_assert_eq(calls, 2);
	cr_assert_eq(sga_pt_random_bytes(NULL, 1), -EINVAL);
	sga_portable_set_random(NULL, NULL);
}

/* ---- RSA-OAEP and modexp ----------------------------------------------------- */

Test(portable, rsa_oaep_encrypt_opens_with_openssl)
{
	struct sga_rsa_key *key = NULL;
	struct sga_pt_rsa_key *pk = NULL, *second = NULL, *third = NULL;
	uint8_t der[600], pt[190], ct[256], back[256];
	size_t der_len, ct_len = 0, back_len = 0;
	int calls = 0;

	cr_assert_eq(sga_rsa_generate(2048, &key), 0);
	cr_assert_eq(sga_rsa_public_der(key, der, sizeof(der), &der_len), 0);
	cr_assert_eq(sga_pt_rsa_from_public_der(der, der_len, &pk), 0);
	cr_assert_eq(sga_pt_rsa_size(pk), 256);
	cr_assert_eq(sga_pt_rsa_oaep_max_plaintext(pk), sga_rsa_oaep_max_plaintext(key));
	cr_assert_eq(sga_pt_rsa_has_private(pk), 0);
	/* Two slots in the default pool (a device holds its package's PK and TPK):
	 * a third key is -ENOMEM until one is freed. */
	cr_assert_eq(sga_pt_rsa_from_public_der(der, der_len, &second), 0);
	cr_assert_eq(sga_pt_rsa_from_public_der(der, der_len, &third), -ENOMEM);
	sga_pt_rsa_free(second);
	cr_assert_eq(sga_pt_rsa_from_public_der(der, der_len, &third), 0, "the freed slot serves");
	sga_pt_rsa_free(third);
	sga_portable_set_random(NULL, NULL);
	cr_assert_eq(sga_pt_rsa_oaep_encrypt(pk, pt, 10, ct, sizeof(ct), &ct_len), -EIO);
	sga_portable_set_random(test_trng, &calls);
	for (size_t n = 0; n <= sga_pt_rsa_oaep_max_plaintext(pk); n += 19) {
		rnd(pt, n);
		cr_assert_eq(sga_pt_rsa_oaep_encrypt(pk, pt, n, ct, sizeof(ct), &ct_len), 0);
		cr_assert_eq(ct_len, 256);
		cr_assert_eq(sga_rsa_oaep_decrypt(key, ct, ct_len, back, sizeof(back), &back_len),
		             0, "OpenSSL does not open the portable OAEP of %zu bytes", n);
		cr_assert_eq(back_len, n);
		cr_assert(memcmp(back, pt, n) == 0);
	}
	cr_assert_eq(sga_pt_rsa_oaep_encrypt(pk, pt, 191, ct, sizeof(ct), &ct_len), -EINVAL);
	cr_assert_eq(sga_pt_rsa_oaep_encrypt(pk, pt, 10, ct, 255, &ct_len), -ENOSPC);
	sga_pt_rsa_free(pk);
	/* Malformed SPKI: truncated, trailing byte, and another key type. */
	cr_assert_eq(sga_pt_rsa_from_public_der(der, der_len - 1, &pk), -EINVAL);
	der[der_len] = 0;
	cr_assert_eq(sga_pt_rsa_from_public_der(der, der_len + 1, &pk), -EINVAL);
	static const uint8_t x25519_spki[44] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b,
	                                        0x65, 0x6e, 0x03, 0x21, 0x00, 9};
	cr_assert_eq(sga_pt_rsa_from_public_der(x25519_spki, sizeof(x25519_spki), &pk), -EINVAL);
	cr_assert_null(pk);
	cr_assert_eq(sga_pt_rsa_from_public_der(der, der_len, &pk), 0, "slot not returned by free");
	sga_pt_rsa_free(pk);
	sga_rsa_free(key);
	sga_portable_set_random(NULL, NULL);
}

Test(portable, modexp_against_openssl)
{
	const struct sga_group_info *grp = sga_group_get(SGA_GROUP_FFDHE2048);
	uint8_t exp[SGA_EXPONENT_LEN], base[256], out[256], ref[256];

	cr_assert_not_null(grp);
	for (int i = 0; i < 12; i++) {
		rnd(exp, sizeof(exp));
		cr_assert_eq(sga_pt_modexp(grp, NULL, exp, sizeof(exp), out), 0);
		cr_assert_eq(sga_modexp(grp, NULL, exp, sizeof(exp), ref), 0);
		cr_assert(memcmp(out, ref, 256) == 0, "g^x differs from OpenSSL");
		/* the peer's element as base */
		memcpy(base, ref, sizeof(base));
		rnd(exp, sizeof(exp));
		cr_assert_eq(sga_pt_modexp(grp, base, exp, sizeof(exp), out), 0);
		cr_assert_eq(sga_modexp(grp, base, exp, sizeof(exp), ref), 0);
		cr_assert(memcmp(out, ref, 256) == 0, "b^x differs from OpenSSL");
	}
	/* 0, 1, p - 1, p and above are refused, 2 and p - 2 are not (sga_group_element_ok). */
	memset(base, 0, sizeof(base));
	cr_assert_eq(sga_pt_modexp(grp, base, exp, sizeof(exp), out), -EINVAL);
	base[255] = 1;
	cr_assert_eq(sga_pt_modexp(grp, base, exp, sizeof(exp), out), -EINVAL);
	base[255] = 2;
	cr_assert_eq(sga_pt_modexp(grp, base, exp, sizeof(exp), out), 0);
	memcpy(base, grp->p, 256);
	cr_assert_eq(sga_pt_modexp(grp, base, exp, sizeof(exp), out), -EINVAL);
	base[255] -= 1;
	cr_assert_eq(sga_pt_modexp(grp, base, exp, sizeof(exp), out), -EINVAL);
	base[255] -= 1;
	cr_assert_eq(sga_pt_modexp(grp, base, exp, sizeof(exp), out), 0);
	cr_assert_eq(sga_modexp(grp, base, exp, sizeof(exp), ref), 0);
	cr_assert(memcmp(out, ref, 256) == 0);
	memset(base, 0xff, sizeof(base));
	cr_assert_eq(sga_pt_modexp(grp, base, exp, sizeof(exp), out), -EINVAL);
	/* ffdhe3072 is larger than the default build's numbers. */
	cr_assert_eq(sga_pt_modexp(sga_group_get(SGA_GROUP_FFDHE3072), NULL, exp, sizeof(exp), out),
	             -EINVAL);
}
