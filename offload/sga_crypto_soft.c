/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_crypto_soft.c - the software backend of sga_crypto.h, on OpenSSL 3.
 *
 * Everything SGA does with cryptography goes through here: the CSPRNG,
 * SHA-256/HMAC/HKDF and the AEAD, RSA-OAEP and modular-exponentiation operations. The three offloadable
 * operation classes have a public dispatcher that validates the arguments once
 * (so every backend sees the same, already-checked input and callers see the
 * same errors whatever backend is installed) and then calls the installed
 * backend, or the software implementation for a NULL member. Wiping,
 * constant-time comparison, the suite registry and the argument checks are
 * sga_crypto_common.c's, shared with the portable back end.
 *
 * OpenSSL algorithm objects are fetched once (pthread_once) and shared
 * read-only between threads; SHA-256, HMAC and HKDF run on one digest context
 * per thread, reset after each call; per-call cipher contexts are created and
 * freed per call, except for a prepared AEAD key (sga_aead_key_*), whose cipher
 * context is keyed once and reused for every message under it.
 * ascon-aead128 has no OpenSSL cipher: it runs the project's own portable
 * sga_ascon.c on the same checked arguments. Secrets on our own stack are
 * wiped at the single exit of each function; OpenSSL wipes its own contexts
 * and key objects when they are freed. Only non-deprecated OpenSSL 3 APIs are used.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkostemp, fsync, fchmod under -std=c11 */
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "sga_ascon.h"
#include "sga_crypto.h"
#include "sga_crypto_common.h"
#include "sga_crypto_priv.h"
#include "sga_engine.h"

/* RSA moduli we accept from outside (generation is limited to 2048/3072). */
#define RSA_MIN_BITS  2048
#define RSA_MAX_BITS  8192
#define RSA_MAX_BYTES (RSA_MAX_BITS / 8)
/* A PEM key file larger than this is not a key. */
#define PEM_FILE_MAX (1024 * 1024)
/* OAEP-SHA256 overhead: 2 * hLen + 2. */
#define OAEP_SHA256_OVERHEAD (2 * SGA_SHA256_LEN + 2)

/* ---- CSPRNG ------------------------------------------------------------- */

int sga_random_bytes(uint8_t *buf, size_t len)
{
	int rc = 0;

	if (buf == NULL && len != 0)
		return -EINVAL;
	while (len > 0) {
		int chunk = len > INT_MAX ? INT_MAX : (int)len;

		if (RAND_bytes(buf, chunk) != 1) {
			ERR_clear_error();
			rc = -EIO;
			goto out;
		}
		buf += chunk;
		len -= (size_t)chunk;
	}
out:
	return rc;
}

/* ---- suites --------------------------------------------------------------- */

/* Parallel to sga_suite_table[] (sga_crypto_common.c): the OpenSSL algorithm behind each suite (NULL: none,
 * the suite is the project's own code). */
static const char *const suite_ossl_name[SGA_SUITE_COUNT] = {
    "AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305", "AES-128-CCM", NULL,
};

static bool suite_is_ccm(int idx)
{
	return sga_suite_table[idx].id == SGA_SUITE_AES128_CCM8;
}

static bool suite_is_ascon(int idx)
{
	return sga_suite_table[idx].id == SGA_SUITE_ASCON_AEAD128;
}

/* ---- algorithm cache ---------------------------------------------------- */

/* Group ids whose prime and Montgomery context are precomputed. */
static const uint8_t cached_group_ids[] = {SGA_GROUP_FFDHE2048, SGA_GROUP_FFDHE3072};
#define N_CACHED_GROUPS (sizeof(cached_group_ids) / sizeof(cached_group_ids[0]))

/*
 * Filled once by algs_init() and then only read. Any member may be NULL if
 * OpenSSL could not provide it (e.g. a FIPS-only configuration without
 * ChaCha20); the operation that needs it then fails with -EIO.
 */
static struct {
	EVP_MD *sha256;
	EVP_MAC_CTX *hmac_tmpl; /* HMAC bound to SHA-256, never keyed: only duplicated */
	EVP_CIPHER *cipher[SGA_SUITE_COUNT];
	struct {
		const struct sga_group_info *grp;
		BIGNUM *p;
		BN_MONT_CTX *mont;
	} grp[N_CACHED_GROUPS];
} algs;

static pthread_once_t algs_once = PTHREAD_ONCE_INIT;

static void algs_init_hmac(void)
{
	OSSL_PARAM params[2];
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = NULL;

	if (mac == NULL)
		goto out;
	ctx = EVP_MAC_CTX_new(mac);
	if (ctx == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(ctx, params) != 1)
		goto out;
	algs.hmac_tmpl = ctx;
	ctx = NULL;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac); /* the context holds its own reference */
}

static void algs_init_groups(void)
{
	BN_CTX *bnctx = BN_CTX_new();

	if (bnctx == NULL)
		return;
	for (size_t i = 0; i < N_CACHED_GROUPS; i++) {
		const struct sga_group_info *grp = sga_group_get(cached_group_ids[i]);
		BIGNUM *p = NULL;
		BN_MONT_CTX *mont = NULL;

		if (grp == NULL)
			continue;
		p = BN_bin2bn(grp->p, (int)grp->len, NULL);
		mont = BN_MONT_CTX_new();
		if (p == NULL || mont == NULL || !BN_MONT_CTX_set(mont, p, bnctx)) {
			BN_free(p);
			BN_MONT_CTX_free(mont);
			continue;
		}
		algs.grp[i].grp = grp;
		algs.grp[i].p = p;
		algs.grp[i].mont = mont;
	}
	BN_CTX_free(bnctx);
}

static void md_tls_init(void);

static void algs_init(void)
{
	algs.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	md_tls_init();
	algs_init_hmac();
	for (int i = 0; i < SGA_SUITE_COUNT; i++) {
		EVP_CIPHER *c;

		if (suite_ossl_name[i] == NULL)
			continue;
		c = EVP_CIPHER_fetch(NULL, suite_ossl_name[i], NULL);

		/* Every suite must be usable with a 96-bit nonce and the registry key size. */
		if (c != NULL &&
		    (EVP_CIPHER_get_key_length(c) != sga_suite_table[i].key_len ||
		     (!suite_is_ccm(i) && EVP_CIPHER_get_iv_length(c) != SGA_AEAD_NONCE_LEN))) {
			EVP_CIPHER_free(c);
			c = NULL;
		}
		algs.cipher[i] = c;
	}
	algs_init_groups();
	ERR_clear_error();
}

static void algs_ready(void)
{
	/* pthread_once only fails on invalid arguments; the members are checked at use. */
	(void)pthread_once(&algs_once, algs_init);
}

/* ---- SHA-256, HMAC-SHA256, HKDF-SHA256 ---------------------------------- */

/*
 * One SHA-256 context per thread, bound to the cached EVP_MD and re-initialised
 * per use: a hash, MAC or key derivation costs no context allocation, provider
 * look-up or parameter parsing. Its state is reset to the initial value after
 * each use, so no intermediate secret outlives the call. HMAC (RFC 2104) and
 * HKDF (RFC 5869) are spelled out over it instead of EVP_MAC/EVP_KDF, whose
 * per-call set-up cost more than the hashing of the short inputs used here.
 * The context is freed at thread exit (pthread key destructor).
 */
static pthread_key_t md_tls_key;
static bool md_tls_key_ok;
static _Thread_local EVP_MD_CTX *md_tls;

static void md_tls_free(void *p)
{
	EVP_MD_CTX_free(p); /* cleanses the digest state */
}

static void md_tls_init(void)
{
	md_tls_key_ok = pthread_key_create(&md_tls_key, md_tls_free) == 0;
}

static EVP_MD_CTX *md_ctx_get(void)
{
	EVP_MD_CTX *c;

	if (md_tls != NULL)
		return md_tls;
	if (!md_tls_key_ok || (c = EVP_MD_CTX_new()) == NULL)
		return NULL;
	if (pthread_setspecific(md_tls_key, c) != 0) {
		EVP_MD_CTX_free(c);
		return NULL;
	}
	md_tls = c;
	return c;
}

/* Reset the thread's context to the initial hash value (wipes the state). */
static void md_ctx_scrub(EVP_MD_CTX *c)
{
	if (EVP_DigestInit_ex2(c, algs.sha256, NULL) != 1) {
		/* Cannot happen after a successful use; drop the context to be sure. */
		(void)pthread_setspecific(md_tls_key, NULL);
		md_tls = NULL;
		EVP_MD_CTX_free(c);
	}
}

/* SHA-256 of (a, an) || parts || (b, bn) on the thread's context. */
static int md_hash(EVP_MD_CTX *c, const void *a, size_t an, const struct sga_buf *parts,
                   size_t nparts, const void *b, size_t bn, uint8_t out[SGA_SHA256_LEN])
{
	unsigned int outl = 0;

	if (EVP_DigestInit_ex2(c, algs.sha256, NULL) != 1)
		return -EIO;
	if (an != 0 && EVP_DigestUpdate(c, a, an) != 1)
		return -EIO;
	for (size_t i = 0; i < nparts; i++)
		if (parts[i].n != 0 && EVP_DigestUpdate(c, parts[i].p, parts[i].n) != 1)
			return -EIO;
	if (bn != 0 && EVP_DigestUpdate(c, b, bn) != 1)
		return -EIO;
	if (EVP_DigestFinal_ex(c, out, &outl) != 1 || outl != SGA_SHA256_LEN)
		return -EIO;
	return 0;
}

#define HMAC_BLOCK 64

/* HMAC-SHA256 (RFC 2104): H((K ^ opad) || H((K ^ ipad) || text)), a key longer
 * than the block hashed first. The arguments are checked. */
static int md_hmac(EVP_MD_CTX *c, const uint8_t *key, size_t key_len, const struct sga_buf *parts,
                   size_t nparts, uint8_t out[SGA_SHA256_LEN])
{
	uint8_t pad[HMAC_BLOCK], inner[SGA_SHA256_LEN];
	int rc = 0;

	memset(pad, 0, sizeof(pad));
	if (key_len > HMAC_BLOCK)
		rc = md_hash(c, key, key_len, NULL, 0, NULL, 0, pad);
	else if (key_len != 0)
		memcpy(pad, key, key_len);
	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36;
	if (rc == 0)
		rc = md_hash(c, pad, sizeof(pad), parts, nparts, NULL, 0, inner);
	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36 ^ 0x5c;
	if (rc == 0)
		rc = md_hash(c, pad, sizeof(pad), NULL, 0, inner, sizeof(inner), out);
	sga_memzero(pad, sizeof(pad));
	sga_memzero(inner, sizeof(inner));
	return rc;
}

/* The thread's context, or NULL (the caller's -EIO/-ENOMEM) with *rc set. */
static EVP_MD_CTX *md_begin(int *rc)
{
	EVP_MD_CTX *c;

	algs_ready();
	*rc = -EIO;
	if (algs.sha256 == NULL)
		return NULL;
	*rc = -ENOMEM;
	c = md_ctx_get();
	if (c != NULL)
		*rc = -EIO;
	return c;
}

int sga_sha256(const struct sga_buf *parts, size_t nparts, uint8_t out[SGA_SHA256_LEN])
{
	EVP_MD_CTX *c = NULL;
	int rc = -EINVAL;

	if (out == NULL || !sga_parts_ok(parts, nparts))
		return rc;
	c = md_begin(&rc);
	if (c != NULL) {
		rc = md_hash(c, NULL, 0, parts, nparts, NULL, 0, out);
		md_ctx_scrub(c);
	}
	if (rc != 0) {
		sga_memzero(out, SGA_SHA256_LEN);
		ERR_clear_error();
	}
	return rc;
}

int sga_hmac_sha256(const uint8_t *key, size_t key_len, const struct sga_buf *parts, size_t nparts,
                    uint8_t out[SGA_SHA256_LEN])
{
	EVP_MD_CTX *c = NULL;
	int rc = -EINVAL;

	if (out == NULL || (key == NULL && key_len != 0) || !sga_parts_ok(parts, nparts))
		return rc;
	c = md_begin(&rc);
	if (c != NULL) {
		rc = md_hmac(c, key, key_len, parts, nparts, out);
		md_ctx_scrub(c);
	}
	if (rc != 0) {
		sga_memzero(out, SGA_SHA256_LEN);
		ERR_clear_error();
	}
	return rc;
}

/* A keyed HMAC state kept across calls: OpenSSL re-initialises it from the
 * stored key (EVP_MAC_init with no key), without a context allocation and
 * key schedule per message (100-byte message, 32-byte key: about 0.5 us, against
 * 0.7 us for sga_hmac_sha256, which hashes both padded key blocks per call). */
struct sga_hmac_key {
	EVP_MAC_CTX *ctx;
};

struct sga_hmac_key *sga_hmac_key_new(const uint8_t *key, size_t key_len)
{
	struct sga_hmac_key *k = NULL;

	if (!key || !key_len)
		return NULL;
	algs_ready();
	if (algs.hmac_tmpl == NULL || (k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	k->ctx = EVP_MAC_CTX_dup(algs.hmac_tmpl);
	if (k->ctx == NULL || EVP_MAC_init(k->ctx, key, key_len, NULL) != 1) {
		ERR_clear_error();
		sga_hmac_key_free(k);
		return NULL;
	}
	return k;
}

int sga_hmac_key_mac(struct sga_hmac_key *k, const struct sga_buf *parts, size_t nparts,
                     uint8_t out[SGA_SHA256_LEN])
{
	size_t outl = 0;

	if (k == NULL || out == NULL || !sga_parts_ok(parts, nparts))
		return -EINVAL;
	if (EVP_MAC_init(k->ctx, NULL, 0, NULL) != 1)
		goto fail;
	for (size_t i = 0; i < nparts; i++)
		if (parts[i].n != 0 && EVP_MAC_update(k->ctx, parts[i].p, parts[i].n) != 1)
			goto fail;
	if (EVP_MAC_final(k->ctx, out, &outl, SGA_SHA256_LEN) != 1 || outl != SGA_SHA256_LEN)
		goto fail;
	return 0;
fail:
	sga_memzero(out, SGA_SHA256_LEN);
	ERR_clear_error();
	return -EIO;
}

void sga_hmac_key_free(struct sga_hmac_key *k)
{
	if (!k)
		return;
	EVP_MAC_CTX_free(k->ctx); /* cleanses the keyed state */
	free(k);
}

int sga_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
                    const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
	/* No salt = HashLen zero bytes (RFC 5869 2.2), the same HMAC key as an empty one. */
	static const uint8_t zero_salt[SGA_SHA256_LEN];
	uint8_t prk[SGA_SHA256_LEN], t[SGA_SHA256_LEN];
	EVP_MD_CTX *c = NULL;
	int rc = -EINVAL;

	if (out == NULL || out_len == 0 || out_len > 255 * SGA_SHA256_LEN ||
	    (ikm == NULL && ikm_len != 0) || (salt == NULL && salt_len != 0) ||
	    (info == NULL && info_len != 0))
		return rc;
	c = md_begin(&rc);
	if (c == NULL)
		goto out;
	{
		struct sga_buf ikm_part[1] = {{ikm, ikm_len}};

		/* Extract: PRK = HMAC(salt, IKM). */
		rc = md_hmac(c, salt_len != 0 ? salt : zero_salt,
		             salt_len != 0 ? salt_len : sizeof(zero_salt), ikm_part, 1, prk);
	}
	/* Expand: T(i) = HMAC(PRK, T(i-1) || info || i), T(0) empty. */
	for (size_t done = 0, i = 1; rc == 0 && done < out_len; i++) {
		uint8_t ctr = (uint8_t)i;
		struct sga_buf in[3] = {{t, i > 1 ? sizeof(t) : 0}, {info, info_len}, {&ctr, 1}};
		size_t n = out_len - done < sizeof(t) ? out_len - done : sizeof(t);

		rc = md_hmac(c, prk, sizeof(prk), in, 3, t);
		if (rc == 0)
			memcpy(out + done, t, n);
		done += n;
	}
	md_ctx_scrub(c);
out:
	if (rc != 0) {
		sga_memzero(out, out_len);
		ERR_clear_error();
	}
	sga_memzero(prk, sizeof(prk));
	sga_memzero(t, sizeof(t));
	return rc;
}

/* ---- AEAD --------------------------------------------------------------- */

/*
 * Create and key a cipher context. CCM needs the nonce length (15 - L = 12,
 * so L = 3) and the tag length before the key; the nonce may come with the key
 * (one-shot use) or later, per message, through aead_ctx_nonce (a prepared key).
 */
static int aead_ctx(int idx, int enc, const uint8_t *key, const uint8_t *nonce,
                    EVP_CIPHER_CTX **out)
{
	EVP_CIPHER *cipher = algs.cipher[idx];
	size_t tag_len = sga_suite_table[idx].tag_len;
	size_t ivlen = SGA_AEAD_NONCE_LEN;
	EVP_CIPHER_CTX *ctx = NULL;
	OSSL_PARAM params[3];
	int rc = -EIO;

	if (cipher == NULL)
		goto out;
	rc = -ENOMEM;
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		goto out;
	rc = -EIO;
	if (EVP_CipherInit_ex2(ctx, cipher, NULL, NULL, enc, NULL) != 1)
		goto out;
	if (suite_is_ccm(idx)) {
		params[0] = OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &ivlen);
		/* NULL data sets only the tag length. */
		params[1] =
		    OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, NULL, tag_len);
		params[2] = OSSL_PARAM_construct_end();
		if (EVP_CIPHER_CTX_set_params(ctx, params) != 1)
			goto out;
	}
	if (EVP_CipherInit_ex2(ctx, NULL, key, nonce, enc, NULL) != 1)
		goto out;
	if (EVP_CIPHER_CTX_get_iv_length(ctx) != SGA_AEAD_NONCE_LEN)
		goto out;
	*out = ctx;
	ctx = NULL;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* Start a message on a keyed context: the nonce (the key schedule stays), and
 * for decryption the expected tag. Every suite's provider resets its per-
 * message state (GHASH, Poly1305, CCM's length and tag flags) on a new IV. */
static int aead_ctx_nonce(EVP_CIPHER_CTX *ctx, int idx, int enc, const uint8_t *nonce, uint8_t *tag)
{
	OSSL_PARAM params[2];

	if (nonce != NULL && EVP_CipherInit_ex2(ctx, NULL, NULL, nonce, enc, NULL) != 1)
		return -EIO;
	if (tag != NULL) {
		params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag,
		                                              sga_suite_table[idx].tag_len);
		params[1] = OSSL_PARAM_construct_end();
		if (EVP_CIPHER_CTX_set_params(ctx, params) != 1)
			return -EIO;
	}
	return 0;
}

/* One seal on a context keyed and given its nonce. */
static int seal_body(EVP_CIPHER_CTX *ctx, int idx, const uint8_t *aad, size_t aad_len,
                     const uint8_t *pt, size_t pt_len, uint8_t *ct)
{
	static const uint8_t empty;
	size_t tag_len = sga_suite_table[idx].tag_len;
	OSSL_PARAM params[2];
	int outl = 0, finl = 0;

	/* CCM authenticates the message length first, so it must know it up front. */
	if (suite_is_ccm(idx) && EVP_EncryptUpdate(ctx, NULL, &outl, NULL, (int)pt_len) != 1)
		return -EIO;
	if (aad_len != 0 && EVP_EncryptUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1)
		return -EIO;
	outl = 0;
	if ((pt_len != 0 || suite_is_ccm(idx)) &&
	    EVP_EncryptUpdate(ctx, ct, &outl, pt_len != 0 ? pt : &empty, (int)pt_len) != 1)
		return -EIO;
	if ((size_t)outl != pt_len)
		return -EIO;
	if (EVP_EncryptFinal_ex(ctx, ct + pt_len, &finl) != 1 || finl != 0)
		return -EIO;
	params[0] =
	    OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, ct + pt_len, tag_len);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_CIPHER_CTX_get_params(ctx, params) != 1)
		return -EIO;
	return 0;
}

/* One open on a context keyed and given its nonce and expected tag. */
static int open_body(EVP_CIPHER_CTX *ctx, int idx, const uint8_t *aad, size_t aad_len,
                     const uint8_t *ct, size_t pt_len, uint8_t *pt)
{
	uint8_t empty[1]; /* a valid pointer for zero-length input/output */
	int outl = 0, finl = 0;

	if (suite_is_ccm(idx) && EVP_DecryptUpdate(ctx, NULL, &outl, NULL, (int)pt_len) != 1)
		return -EIO;
	if (aad_len != 0 && EVP_DecryptUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1)
		return -EIO;
	outl = 0;
	if (pt_len != 0 || suite_is_ccm(idx)) {
		/* CCM verifies the tag here, GCM and ChaCha20-Poly1305 in Final. */
		if (EVP_DecryptUpdate(ctx, pt_len != 0 ? pt : empty, &outl,
		                      pt_len != 0 ? ct : empty, (int)pt_len) != 1)
			return suite_is_ccm(idx) ? -EBADMSG : -EIO;
	}
	if ((size_t)outl != pt_len)
		return -EIO;
	/* Final writes nothing for these modes; never point it past pt. */
	if (EVP_DecryptFinal_ex(ctx, empty, &finl) != 1)
		return -EBADMSG;
	return finl != 0 ? -EIO : 0;
}

/* ascon-aead128 on the protocol's nonce, widened as PROTOCOL.md 4.4 says. The
 * arguments are already checked; a bad tag is -EBADMSG with pt zeroed. */
static void ascon_seal(const uint8_t *key, const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
                       const uint8_t *pt, size_t pt_len, uint8_t *ct)
{
	uint8_t n[SGA_ASCON_NONCE_LEN];

	sga_ascon_nonce_from_protocol(n, nonce);
	sga_ascon_aead128_seal(key, n, aad, aad_len, pt, pt_len, ct);
}

static int ascon_open(const uint8_t *key, const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
                      const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
	uint8_t n[SGA_ASCON_NONCE_LEN];

	sga_ascon_nonce_from_protocol(n, nonce);
	return sga_ascon_aead128_open(key, n, aad, aad_len, ct, ct_len, pt) == 0 ? 0 : -EBADMSG;
}

static int soft_seal(int idx, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                     size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *ct)
{
	EVP_CIPHER_CTX *ctx = NULL;
	int rc;

	if (suite_is_ascon(idx)) {
		ascon_seal(key, nonce, aad, aad_len, pt, pt_len, ct);
		return 0;
	}
	algs_ready();
	rc = aead_ctx(idx, 1, key, nonce, &ctx);
	if (rc == 0)
		rc = seal_body(ctx, idx, aad, aad_len, pt, pt_len, ct);
	if (rc != 0) {
		sga_memzero(ct, pt_len + sga_suite_table[idx].tag_len);
		ERR_clear_error();
	}
	EVP_CIPHER_CTX_free(ctx); /* cleanses the key schedule */
	return rc;
}

static int soft_open(int idx, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                     size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
	size_t tag_len = sga_suite_table[idx].tag_len;
	size_t pt_len = ct_len - tag_len;
	uint8_t tag[SGA_AEAD_MAX_TAG_LEN];
	EVP_CIPHER_CTX *ctx = NULL;
	int rc;

	if (suite_is_ascon(idx))
		return ascon_open(key, nonce, aad, aad_len, ct, ct_len, pt);
	/* Copy the tag first: pt may equal ct. */
	memcpy(tag, ct + pt_len, tag_len);
	algs_ready();
	rc = aead_ctx(idx, 0, key, nonce, &ctx);
	if (rc == 0)
		rc = aead_ctx_nonce(ctx, idx, 0, NULL, tag);
	if (rc == 0)
		rc = open_body(ctx, idx, aad, aad_len, ct, pt_len, pt);
	if (rc != 0) {
		sga_memzero(pt, pt_len);
		ERR_clear_error();
	}
	sga_memzero(tag, sizeof(tag));
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* ---- prepared AEAD keys --------------------------------------------------- */

/* One cipher context per key and direction, keyed once: a message costs the
 * nonce set-up and the cipher work, not a context allocation, a provider
 * look-up and a key expansion. */
struct sga_aead_key {
	EVP_CIPHER_CTX *ctx; /* NULL for ascon-aead128 */
	int idx;             /* registry index of the suite */
	int enc;             /* 1: seals, 0: opens */
	/* ascon-aead128's key: its "schedule" is the two key words, loaded per message. */
	uint8_t ascon_key[SGA_ASCON_KEY_LEN];
};

struct sga_aead_key *sga_aead_key_new(uint8_t suite, enum sga_aead_dir dir, const uint8_t *key)
{
	int idx = sga_suite_index(suite), rc;
	struct sga_aead_key *k;

	if (idx < 0 || key == NULL || (dir != SGA_AEAD_SEAL && dir != SGA_AEAD_OPEN)) {
		errno = EINVAL;
		return NULL;
	}
	algs_ready();
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	k->idx = idx;
	k->enc = dir == SGA_AEAD_SEAL;
	if (suite_is_ascon(idx)) {
		memcpy(k->ascon_key, key, sizeof(k->ascon_key));
		return k;
	}
	rc = aead_ctx(idx, k->enc, key, NULL, &k->ctx);
	if (rc != 0) {
		ERR_clear_error();
		free(k);
		errno = -rc;
		return NULL;
	}
	return k;
}

void sga_aead_key_free(struct sga_aead_key *k)
{
	if (k == NULL)
		return;
	EVP_CIPHER_CTX_free(k->ctx); /* cleanses the key schedule */
	sga_memzero(k, sizeof(*k));  /* and the Ascon key */
	free(k);
}

uint8_t sga_aead_key_suite(const struct sga_aead_key *k)
{
	return k == NULL ? 0 : sga_suite_table[k->idx].id;
}

int sga_aead_key_seal(struct sga_aead_key *k, const uint8_t nonce[SGA_AEAD_NONCE_LEN],
                      const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                      uint8_t *ct, size_t ct_cap)
{
	int idx = -1, rc;

	if (k == NULL || !k->enc)
		return -EINVAL;
	rc = sga_aead_seal_check(sga_suite_table[k->idx].id, (const uint8_t *)k, nonce, aad,
	                         aad_len, pt, pt_len, ct, ct_cap, &idx);
	if (rc != 0)
		return rc;
	if (suite_is_ascon(idx)) {
		ascon_seal(k->ascon_key, nonce, aad, aad_len, pt, pt_len, ct);
		return 0;
	}
	rc = aead_ctx_nonce(k->ctx, idx, 1, nonce, NULL);
	if (rc == 0)
		rc = seal_body(k->ctx, idx, aad, aad_len, pt, pt_len, ct);
	if (rc != 0) {
		sga_memzero(ct, pt_len + sga_suite_table[idx].tag_len);
		ERR_clear_error();
	}
	return rc;
}

int sga_aead_key_open(struct sga_aead_key *k, const uint8_t nonce[SGA_AEAD_NONCE_LEN],
                      const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                      uint8_t *pt, size_t pt_cap)
{
	uint8_t tag[SGA_AEAD_MAX_TAG_LEN];
	int idx = -1, rc;
	size_t pt_len;

	if (k == NULL || k->enc)
		return -EINVAL;
	rc = sga_aead_open_check(sga_suite_table[k->idx].id, (const uint8_t *)k, nonce, aad,
	                         aad_len, ct, ct_len, pt, pt_cap, &idx);
	if (rc != 0)
		return rc;
	if (suite_is_ascon(idx))
		return ascon_open(k->ascon_key, nonce, aad, aad_len, ct, ct_len, pt);
	pt_len = ct_len - sga_suite_table[idx].tag_len;
	/* Copy the tag first: pt may equal ct. */
	memcpy(tag, ct + pt_len, sga_suite_table[idx].tag_len);
	rc = aead_ctx_nonce(k->ctx, idx, 0, nonce, tag);
	if (rc == 0)
		rc = open_body(k->ctx, idx, aad, aad_len, ct, pt_len, pt);
	if (rc != 0) {
		sga_memzero(pt, pt_len);
		ERR_clear_error();
	}
	sga_memzero(tag, sizeof(tag));
	return rc;
}

int sga_soft_aead_seal(uint8_t suite, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                       size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *ct, size_t ct_cap)
{
	int idx = -1;
	int rc = sga_aead_seal_check(suite, key, nonce, aad, aad_len, pt, pt_len, ct, ct_cap, &idx);

	if (rc != 0)
		return rc;
	return soft_seal(idx, key, nonce, aad, aad_len, pt, pt_len, ct);
}

int sga_soft_aead_open(uint8_t suite, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                       size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *pt, size_t pt_cap)
{
	int idx = -1;
	int rc = sga_aead_open_check(suite, key, nonce, aad, aad_len, ct, ct_len, pt, pt_cap, &idx);

	if (rc != 0)
		return rc;
	return soft_open(idx, key, nonce, aad, aad_len, ct, ct_len, pt);
}

/* ---- RSA-OAEP-SHA256 ---------------------------------------------------- */

struct sga_rsa_key {
	EVP_PKEY *pkey;
	int has_private;
};

EVP_PKEY *sga_rsa_key_evp(const struct sga_rsa_key *key)
{
	return key == NULL ? NULL : key->pkey;
}

/* Does pkey hold the private exponent? Asked of the key itself, not of the file format. */
static int pkey_has_private(const EVP_PKEY *pkey)
{
	BIGNUM *d = NULL;
	int has = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_D, &d) == 1 && d != NULL;

	BN_clear_free(d);
	ERR_clear_error();
	return has;
}

/* Wrap pkey (consumed, also on failure) after checking it is an RSA key of sane size. */
static int rsa_wrap(EVP_PKEY *pkey, struct sga_rsa_key **out)
{
	struct sga_rsa_key *key = NULL;
	int bits, rc = -EINVAL;

	if (pkey == NULL || !EVP_PKEY_is_a(pkey, "RSA"))
		goto out;
	bits = EVP_PKEY_get_bits(pkey);
	if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS)
		goto out;
	rc = -ENOMEM;
	key = calloc(1, sizeof(*key));
	if (key == NULL)
		goto out;
	key->pkey = pkey;
	key->has_private = pkey_has_private(pkey);
	pkey = NULL;
	*out = key;
	rc = 0;
out:
	EVP_PKEY_free(pkey);
	return rc;
}

int sga_rsa_generate(unsigned bits, struct sga_rsa_key **out)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	int rc = -EINVAL;

	if (out == NULL)
		goto out;
	*out = NULL;
	if (bits != 2048 && bits != 3072)
		goto out;
	rc = -ENOMEM;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (ctx == NULL)
		goto out;
	rc = -EIO;
	if (EVP_PKEY_keygen_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) != 1 ||
	    EVP_PKEY_generate(ctx, &pkey) != 1)
		goto out;
	rc = rsa_wrap(pkey, out);
	pkey = NULL;
out:
	if (rc != 0)
		ERR_clear_error();
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/* Passphrase callback that refuses: encrypted keys are not supported, and never prompt. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int sga_rsa_from_pem(const char *pem, size_t len, struct sga_rsa_key **out)
{
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	int rc = -EINVAL;

	if (out == NULL)
		goto out;
	*out = NULL;
	if (pem == NULL || len == 0 || len > INT_MAX)
		goto out;
	rc = -ENOMEM;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL)
		goto out;
	pkey = PEM_read_bio_PrivateKey_ex(bio, NULL, no_passphrase, NULL, NULL, NULL);
	if (pkey == NULL) {
		ERR_clear_error();
		BIO_free(bio);
		bio = BIO_new_mem_buf(pem, (int)len);
		if (bio == NULL)
			goto out;
		pkey = PEM_read_bio_PUBKEY_ex(bio, NULL, no_passphrase, NULL, NULL, NULL);
	}
	rc = -EINVAL;
	if (pkey == NULL)
		goto out;
	rc = rsa_wrap(pkey, out);
out:
	if (rc != 0)
		ERR_clear_error();
	BIO_free(bio);
	return rc;
}

/* Read a whole regular file (at most PEM_FILE_MAX bytes) into a malloc'd buffer. */
static int read_small_file(const char *path, char **buf, size_t *len)
{
	struct stat st;
	char *b = NULL;
	size_t cap = 0, got = 0;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	rc = -errno;
	if (fstat(fd, &st) != 0)
		goto out;
	rc = -EINVAL;
	if (!S_ISREG(st.st_mode) || st.st_size <= 0)
		goto out;
	rc = -EFBIG;
	if (st.st_size > PEM_FILE_MAX)
		goto out;
	cap = (size_t)st.st_size;
	rc = -ENOMEM;
	b = malloc(cap);
	if (b == NULL)
		goto out;
	while (got < cap) {
		ssize_t r = read(fd, b + got, cap - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	rc = -EINVAL;
	if (got == 0)
		goto out;
	*buf = b;
	*len = got;
	b = NULL;
	rc = 0;
out:
	if (b != NULL) {
		sga_memzero(b, cap);
		free(b);
	}
	close(fd);
	return rc;
}

int sga_rsa_load_pem(const char *path, struct sga_rsa_key **out)
{
	char *pem = NULL;
	size_t len = 0;
	int rc = -EINVAL;

	if (out == NULL)
		goto out;
	*out = NULL;
	if (path == NULL)
		goto out;
	rc = read_small_file(path, &pem, &len);
	if (rc != 0)
		goto out;
	rc = sga_rsa_from_pem(pem, len, out);
out:
	if (pem != NULL) {
		sga_memzero(pem, len);
		free(pem);
	}
	return rc;
}

static int write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/*
 * The PEM text is produced in a secure-memory BIO (wiped when freed), written
 * to a fresh 0600 temporary file next to path, synced, and renamed over path:
 * a crash or error never leaves a truncated key or a wider-mode file behind.
 */
int sga_rsa_save_private_pem(const struct sga_rsa_key *key, const char *path)
{
	static const char suffix[] = ".XXXXXX";
	char *tmp = NULL;
	char *data = NULL;
	BIO *bio = NULL;
	long len;
	int fd = -1, rc = -EINVAL;

	if (key == NULL || path == NULL || !key->has_private || path[0] == '\0')
		goto out;
	rc = -ENOMEM;
	bio = BIO_new(BIO_s_secmem());
	if (bio == NULL)
		goto out;
	rc = -EIO;
	if (PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	len = BIO_get_mem_data(bio, &data);
	if (len <= 0 || data == NULL)
		goto out;
	rc = -ENOMEM;
	tmp = malloc(strlen(path) + sizeof(suffix));
	if (tmp == NULL)
		goto out;
	strcpy(tmp, path);
	strcat(tmp, suffix);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (fchmod(fd, 0600) != 0) {
		rc = -errno;
		goto out;
	}
	rc = write_all(fd, data, (size_t)len);
	if (rc != 0)
		goto out;
	if (fsync(fd) != 0) {
		rc = -errno;
		goto out;
	}
	rc = close(fd) == 0 ? 0 : -errno;
	fd = -1;
	if (rc != 0)
		goto out;
	if (rename(tmp, path) != 0) {
		rc = -errno;
		goto out;
	}
	free(tmp);
	tmp = NULL;
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	if (rc != 0)
		ERR_clear_error();
	BIO_free(bio); /* secure-memory BIO: the PEM text is cleansed */
	return rc;
}

int sga_rsa_public_der(const struct sga_rsa_key *key, uint8_t *der, size_t cap, size_t *der_len)
{
	unsigned char *p = der;
	int n, rc = -EINVAL;

	if (key == NULL || der_len == NULL)
		goto out;
	rc = -EIO;
	n = i2d_PUBKEY(key->pkey, NULL);
	if (n <= 0)
		goto out;
	*der_len = (size_t)n;
	/* der == NULL is a size query. */
	rc = 0;
	if (der == NULL)
		goto out;
	rc = -ENOSPC;
	if (cap < (size_t)n)
		goto out;
	rc = -EIO;
	if (i2d_PUBKEY(key->pkey, &p) != n)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	return rc;
}

int sga_rsa_from_public_der(const uint8_t *der, size_t len, struct sga_rsa_key **out)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey = NULL;
	int rc = -EINVAL;

	if (out == NULL)
		goto out;
	*out = NULL;
	if (der == NULL || len == 0 || len > LONG_MAX)
		goto out;
	pkey = d2i_PUBKEY_ex(NULL, &p, (long)len, NULL, NULL);
	/* Exactly one SubjectPublicKeyInfo, no trailing bytes. */
	if (pkey == NULL || p != der + len) {
		EVP_PKEY_free(pkey);
		goto out;
	}
	rc = rsa_wrap(pkey, out);
out:
	if (rc != 0)
		ERR_clear_error();
	return rc;
}

size_t sga_rsa_size(const struct sga_rsa_key *key)
{
	int n;

	if (key == NULL)
		return 0;
	n = EVP_PKEY_get_size(key->pkey);
	return n > 0 ? (size_t)n : 0;
}

int sga_rsa_has_private(const struct sga_rsa_key *key)
{
	return key != NULL && key->has_private;
}

void sga_rsa_free(struct sga_rsa_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey); /* RSA private components are BN_clear_free'd */
	sga_memzero(key, sizeof(*key));
	free(key);
}

size_t sga_rsa_oaep_max_plaintext(const struct sga_rsa_key *key)
{
	size_t n = sga_rsa_size(key);

	return n > OAEP_SHA256_OVERHEAD ? n - OAEP_SHA256_OVERHEAD : 0;
}

/* A PKEY context set up for RSA-OAEP with SHA-256, MGF1-SHA-256, empty label. */
static int oaep_ctx(EVP_PKEY *pkey, int decrypt, EVP_PKEY_CTX **out)
{
	EVP_PKEY_CTX *ctx = NULL;
	OSSL_PARAM params[4];
	int rc = -ENOMEM;

	/* Decryption (the private-key operation worth offloading) asks the loaded
	 * accelerator's provider first; see sga_engine.h. */
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, decrypt ? sga_engine_propq() : NULL);
	if (ctx == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE,
	                                             (char *)OSSL_PKEY_RSA_PAD_MODE_OAEP, 0);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST,
	                                             (char *)"SHA256", 0);
	params[2] = OSSL_PARAM_construct_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST,
	                                             (char *)"SHA256", 0);
	params[3] = OSSL_PARAM_construct_end();
	rc = -EIO;
	if ((decrypt ? EVP_PKEY_decrypt_init_ex(ctx, params)
	             : EVP_PKEY_encrypt_init_ex(ctx, params)) != 1)
		goto out;
	*out = ctx;
	ctx = NULL;
	rc = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

int sga_rsa_oaep_encrypt(const struct sga_rsa_key *key, const uint8_t *pt, size_t pt_len,
                         uint8_t *ct, size_t ct_cap, size_t *ct_len)
{
	static const uint8_t empty;
	EVP_PKEY_CTX *ctx = NULL;
	size_t outl;
	int rc = -EINVAL;

	if (key == NULL || ct == NULL || ct_len == NULL || (pt == NULL && pt_len != 0))
		goto out;
	if (pt_len > sga_rsa_oaep_max_plaintext(key))
		goto out;
	rc = -ENOSPC;
	if (ct_cap < sga_rsa_size(key))
		goto out;
	rc = oaep_ctx(key->pkey, 0, &ctx);
	if (rc != 0)
		goto out;
	rc = -EIO;
	outl = ct_cap;
	if (EVP_PKEY_encrypt(ctx, ct, &outl, pt_len != 0 ? pt : &empty, pt_len) != 1 ||
	    outl != sga_rsa_size(key))
		goto out;
	*ct_len = outl;
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

static int rsa_decrypt_check(const struct sga_rsa_key *key, const uint8_t *ct, size_t ct_len,
                             const uint8_t *pt, size_t pt_cap, const size_t *pt_len)
{
	if (key == NULL || !key->has_private || ct == NULL || pt_len == NULL ||
	    (pt == NULL && pt_cap != 0))
		return -EINVAL;
	/* A ciphertext of the wrong size is a malformed message, like bad padding. */
	if (ct_len != sga_rsa_size(key))
		return -EBADMSG;
	return 0;
}

int sga_soft_rsa_oaep_decrypt(const struct sga_rsa_key *key, const uint8_t *ct, size_t ct_len,
                              uint8_t *pt, size_t pt_cap, size_t *pt_len)
{
	/* Decrypt into our own buffer so a short pt_cap is -ENOSPC, not a padding error. */
	uint8_t buf[RSA_MAX_BYTES];
	EVP_PKEY_CTX *ctx = NULL;
	size_t outl = sizeof(buf);
	int rc = rsa_decrypt_check(key, ct, ct_len, pt, pt_cap, pt_len);

	if (rc != 0)
		goto out;
	rc = oaep_ctx(key->pkey, 1, &ctx);
	if (rc != 0)
		goto out;
	rc = -EBADMSG;
	if (EVP_PKEY_decrypt(ctx, buf, &outl, ct, ct_len) != 1)
		goto out;
	rc = -ENOSPC;
	if (outl > pt_cap)
		goto out;
	if (outl != 0)
		memcpy(pt, buf, outl);
	*pt_len = outl;
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	sga_memzero(buf, sizeof(buf));
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/* ---- modular exponentiation -------------------------------------------- */

static int modexp_check(const struct sga_group_info *grp, const uint8_t *base, const uint8_t *exp,
                        size_t exp_len, const uint8_t *out)
{
	if (grp == NULL || grp->p == NULL || grp->len == 0 || grp->len > SGA_GROUP_MAX_LEN ||
	    exp == NULL || exp_len == 0 || exp_len > SGA_GROUP_MAX_LEN || out == NULL)
		return -EINVAL;
	/* Refuse 0, 1, p-1 and out-of-range peer values: no small-subgroup results. */
	if (base != NULL && !sga_group_element_ok(grp, base))
		return -EINVAL;
	return 0;
}

static int soft_modexp(const struct sga_group_info *grp, const uint8_t *base, const uint8_t *exp,
                       size_t exp_len, uint8_t *out)
{
	BIGNUM *b = NULL, *e = NULL, *r = NULL, *p = NULL, *p_own = NULL;
	BN_MONT_CTX *mont = NULL;
	BN_CTX *ctx = NULL;
	int rc;

	algs_ready();
	for (size_t i = 0; i < N_CACHED_GROUPS; i++) {
		if (algs.grp[i].grp == grp) {
			p = algs.grp[i].p;
			mont = algs.grp[i].mont;
		}
	}
	rc = -ENOMEM;
	ctx = BN_CTX_secure_new();
	if (ctx == NULL)
		goto out;
	BN_CTX_start(ctx);
	b = BN_CTX_get(ctx);
	e = BN_CTX_get(ctx);
	r = BN_CTX_get(ctx);
	if (r == NULL)
		goto out;
	if (p == NULL) {
		/* A group outside the registry: no cached Montgomery context. */
		p = p_own = BN_bin2bn(grp->p, (int)grp->len, NULL);
		if (p == NULL)
			goto out;
	}
	if (base != NULL ? BN_bin2bn(base, (int)grp->len, b) == NULL : !BN_set_word(b, grp->g))
		goto out;
	if (BN_bin2bn(exp, (int)exp_len, e) == NULL)
		goto out;
	BN_set_flags(e, BN_FLG_CONSTTIME);
	rc = -EIO;
	if (!BN_mod_exp_mont_consttime(r, b, e, p, ctx, mont))
		goto out;
	if (BN_bn2binpad(r, out, (int)grp->len) != (int)grp->len)
		goto out;
	rc = 0;
out:
	if (rc != 0) {
		sga_memzero(out, grp->len);
		ERR_clear_error();
	}
	if (ctx != NULL) {
		/* The exponent and the result (a shared secret) are wiped, not just freed. */
		if (r != NULL) {
			BN_clear(e);
			BN_clear(r);
		}
		BN_CTX_end(ctx);
		BN_CTX_free(ctx);
	}
	BN_free(p_own);
	return rc;
}

int sga_soft_modexp(const struct sga_group_info *grp, const uint8_t *base, const uint8_t *exp,
                    size_t exp_len, uint8_t *out)
{
	int rc = modexp_check(grp, base, exp, exp_len, out);

	if (rc != 0)
		return rc;
	return soft_modexp(grp, base, exp, exp_len, out);
}

int sga_exponent_random(uint8_t exp[SGA_EXPONENT_LEN])
{
	uint8_t acc;
	int rc = -EINVAL;

	if (exp == NULL)
		goto out;
	rc = -EIO;
	/* An all-zero draw has probability 2^-256; eight in a row means a broken RNG. */
	for (int tries = 0; tries < 8; tries++) {
		if (RAND_priv_bytes(exp, SGA_EXPONENT_LEN) != 1)
			break;
		acc = 0;
		for (size_t i = 0; i < SGA_EXPONENT_LEN; i++)
			acc |= exp[i];
		if (acc != 0) {
			rc = 0;
			break;
		}
	}
out:
	if (rc == -EIO) {
		sga_memzero(exp, SGA_EXPONENT_LEN);
		ERR_clear_error();
	}
	return rc;
}

/* ---- backends and public dispatchers ---------------------------------- */

static const struct sga_crypto_backend soft_backend = {
    .name = "openssl",
    .aead_seal = sga_soft_aead_seal,
    .aead_open = sga_soft_aead_open,
    .rsa_oaep_decrypt = sga_soft_rsa_oaep_decrypt,
    .modexp = sga_soft_modexp,
};

/* Written only at start-up (before worker threads), read everywhere after. */
static const struct sga_crypto_backend *backend = &soft_backend;

const struct sga_crypto_backend *sga_crypto_backend_software(void)
{
	return &soft_backend;
}

void sga_crypto_backend_set(const struct sga_crypto_backend *b)
{
	backend = b != NULL ? b : &soft_backend;
}

const struct sga_crypto_backend *sga_crypto_backend_get(void)
{
	return backend;
}

int sga_aead_seal(uint8_t suite, const uint8_t *key, const uint8_t nonce[SGA_AEAD_NONCE_LEN],
                  const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *ct,
                  size_t ct_cap)
{
	const struct sga_crypto_backend *b = backend;
	int idx = -1;
	int rc = sga_aead_seal_check(suite, key, nonce, aad, aad_len, pt, pt_len, ct, ct_cap, &idx);

	if (rc != 0)
		return rc;
	if (b->aead_seal != NULL)
		return b->aead_seal(suite, key, nonce, aad, aad_len, pt, pt_len, ct, ct_cap);
	return soft_seal(idx, key, nonce, aad, aad_len, pt, pt_len, ct);
}

int sga_aead_open(uint8_t suite, const uint8_t *key, const uint8_t nonce[SGA_AEAD_NONCE_LEN],
                  const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *pt,
                  size_t pt_cap)
{
	const struct sga_crypto_backend *b = backend;
	int idx = -1;
	int rc = sga_aead_open_check(suite, key, nonce, aad, aad_len, ct, ct_len, pt, pt_cap, &idx);

	if (rc != 0)
		return rc;
	if (b->aead_open == NULL)
		return soft_open(idx, key, nonce, aad, aad_len, ct, ct_len, pt);
	rc = b->aead_open(suite, key, nonce, aad, aad_len, ct, ct_len, pt, pt_cap);
	/* Whatever the backend did, no unauthenticated plaintext reaches the caller. */
	if (rc != 0)
		sga_memzero(pt, ct_len - sga_suite_table[idx].tag_len);
	return rc;
}

int sga_rsa_oaep_decrypt(const struct sga_rsa_key *key, const uint8_t *ct, size_t ct_len,
                         uint8_t *pt, size_t pt_cap, size_t *pt_len)
{
	const struct sga_crypto_backend *b = backend;
	int rc = rsa_decrypt_check(key, ct, ct_len, pt, pt_cap, pt_len);

	if (rc != 0)
		return rc;
	if (b->rsa_oaep_decrypt != NULL)
		return b->rsa_oaep_decrypt(key, ct, ct_len, pt, pt_cap, pt_len);
	return sga_soft_rsa_oaep_decrypt(key, ct, ct_len, pt, pt_cap, pt_len);
}

int sga_modexp(const struct sga_group_info *grp, const uint8_t *base, const uint8_t *exp,
               size_t exp_len, uint8_t *out)
{
	const struct sga_crypto_backend *b = backend;
	int rc = modexp_check(grp, base, exp, exp_len, out);

	if (rc != 0)
		return rc;
	if (b->modexp != NULL)
		return b->modexp(grp, base, exp, exp_len, out);
	return soft_modexp(grp, base, exp, exp_len, out);
}
