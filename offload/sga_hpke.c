/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_hpke.c - RFC 9180 base mode, single shot (sga_hpke.h), written once
 * over sga_crypto.h so every crypto back end shares it.
 *
 * Only what one message needs: Encap/Decap of the DHKEM, the base-mode key
 * schedule (psk and psk_id empty), and the AEAD at sequence number 0, whose
 * nonce is base_nonce itself. Every output of HKDF used here is at most one
 * SHA-256 block long, so LabeledExpand is one HMAC. The two curves differ
 * only in their suite ids, enc length and the two DH functions. Intermediate secrets
 * (dh, shared_secret, secret, key) live on the stack and are wiped on every
 * path.
 */
#include <errno.h>
#include <string.h>

#include "sga_hpke.h"

static const char hpke_version[] = "HPKE-v1";

/* The suite of one group. */
struct hpke_suite {
	uint8_t kem_suite_id[5];   /* "KEM" || kem_id */
	uint8_t hpke_suite_id[10]; /* "HPKE" || kem_id || kdf_id || aead_id */
	uint8_t aead;              /* enum sga_suite_id */
	size_t key_len;            /* Nk */
	size_t enc_len;            /* Npk = Nenc */
	size_t dh_len;             /* Ndh */
	/* pk = [sk]G as enc; dh = DH(sk, pk), both curve-specific. */
	int (*public_of)(const uint8_t *sk, uint8_t *pk);
	int (*dh)(const uint8_t *sk, const uint8_t *pk, uint8_t *out);
};

#if SGA_GROUPS_X25519
static int x25519_public(const uint8_t *sk, uint8_t *pk)
{
	return sga_x25519(sk, NULL, pk);
}

static int x25519_dh(const uint8_t *sk, const uint8_t *pk, uint8_t *out)
{
	return sga_x25519(sk, pk, out);
}

static const struct hpke_suite suite_x25519 = {
    .kem_suite_id = {'K', 'E', 'M', 0x00, 0x20},
    .hpke_suite_id = {'H', 'P', 'K', 'E', 0x00, 0x20, 0x00, 0x01, 0x00, 0x03},
    .aead = SGA_SUITE_CHACHA20_POLY1305,
    .key_len = 32,
    .enc_len = SGA_HPKE_X25519_ENC_LEN,
    .dh_len = SGA_X25519_LEN,
    .public_of = x25519_public,
    .dh = x25519_dh,
};
#endif

#if SGA_GROUPS_P256
/* DHKEM(P-256): SerializePublicKey is the uncompressed point; DH is x. */
static int p256_public(const uint8_t *sk, uint8_t *pk)
{
	return sga_p256_base_mul(sk, pk, SGA_P256_UNCOMPRESSED_LEN);
}

static int p256_dh(const uint8_t *sk, const uint8_t *pk, uint8_t *out)
{
	return sga_p256_ecdh(sk, pk, SGA_P256_UNCOMPRESSED_LEN, out);
}

static const struct hpke_suite suite_p256 = {
    .kem_suite_id = {'K', 'E', 'M', 0x00, 0x10},
    .hpke_suite_id = {'H', 'P', 'K', 'E', 0x00, 0x10, 0x00, 0x01, 0x00, 0x01},
    .aead = SGA_SUITE_AES128_GCM,
    .key_len = 16,
    .enc_len = SGA_HPKE_P256_ENC_LEN,
    .dh_len = SGA_P256_X_LEN,
    .public_of = p256_public,
    .dh = p256_dh,
};
#endif

static const struct hpke_suite *suite_of(uint8_t group)
{
	switch (group) {
#if SGA_GROUPS_X25519
	case SGA_GROUP_X25519:
		return &suite_x25519;
#endif
#if SGA_GROUPS_P256
	case SGA_GROUP_P256:
		return &suite_p256;
#endif
	default:
		return NULL;
	}
}

size_t sga_hpke_sealed_len(uint8_t group, size_t pt_len)
{
	const struct hpke_suite *s = suite_of(group);

	return s ? s->enc_len + pt_len + SGA_HPKE_TAG_LEN : 0;
}

/* LabeledExtract(salt, label, ikm) = HMAC(salt, "HPKE-v1" || suite_id || label || ikm);
 * an empty salt is HashLen zero bytes (RFC 5869), which HMAC pads to the same key. */
static int labeled_extract(const uint8_t *suite_id, size_t suite_id_len, const uint8_t *salt,
                           size_t salt_len, const char *label, const uint8_t *ikm, size_t ikm_len,
                           uint8_t out[SGA_SHA256_LEN])
{
	static const uint8_t zero_salt[SGA_SHA256_LEN];
	struct sga_buf parts[] = {
	    {hpke_version, sizeof(hpke_version) - 1},
	    {suite_id, suite_id_len},
	    {label, strlen(label)},
	    {ikm, ikm_len},
	};

	if (salt_len == 0) {
		salt = zero_salt;
		salt_len = sizeof(zero_salt);
	}
	return sga_hmac_sha256(salt, salt_len, parts, 4, out);
}

/* LabeledExpand(prk, label, info, L) for L <= 32: the first L bytes of
 * HMAC(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info || 0x01). */
static int labeled_expand(const uint8_t *suite_id, size_t suite_id_len,
                          const uint8_t prk[SGA_SHA256_LEN], const char *label, const uint8_t *info,
                          size_t info_len, uint8_t *out, size_t L)
{
	uint8_t len2[2] = {(uint8_t)(L >> 8), (uint8_t)L}, counter = 1, t[SGA_SHA256_LEN];
	struct sga_buf parts[] = {
	    {len2, 2},
	    {hpke_version, sizeof(hpke_version) - 1},
	    {suite_id, suite_id_len},
	    {label, strlen(label)},
	    {info, info_len},
	    {&counter, 1},
	};
	int rc;

	if (L == 0 || L > SGA_SHA256_LEN)
		return -EINVAL;
	rc = sga_hmac_sha256(prk, SGA_SHA256_LEN, parts, 6, t);
	if (rc == 0)
		memcpy(out, t, L);
	sga_memzero(t, sizeof(t));
	return rc;
}

/* DHKEM ExtractAndExpand: shared_secret from dh and kem_context = enc || pk_r. */
static int kem_shared_secret(const struct hpke_suite *s, const uint8_t *dh, size_t dh_len,
                             const uint8_t *enc, const uint8_t *pk_r,
                             uint8_t shared[SGA_SHA256_LEN])
{
	uint8_t eae_prk[SGA_SHA256_LEN], kem_context[2 * SGA_HPKE_P256_ENC_LEN];
	int rc;

	memcpy(kem_context, enc, s->enc_len);
	memcpy(kem_context + s->enc_len, pk_r, s->enc_len);
	rc = labeled_extract(s->kem_suite_id, sizeof(s->kem_suite_id), NULL, 0, "eae_prk", dh,
	                     dh_len, eae_prk);
	if (rc == 0)
		rc = labeled_expand(s->kem_suite_id, sizeof(s->kem_suite_id), eae_prk,
		                    "shared_secret", kem_context, 2 * s->enc_len, shared,
		                    SGA_SHA256_LEN);
	sga_memzero(eae_prk, sizeof(eae_prk));
	return rc;
}

/* The base-mode key schedule: key (Nk bytes) and base_nonce. */
static int key_schedule(const struct hpke_suite *s, const uint8_t shared[SGA_SHA256_LEN],
                        const uint8_t *info, size_t info_len, uint8_t key[SGA_AEAD_MAX_KEY_LEN],
                        uint8_t nonce[SGA_AEAD_NONCE_LEN])
{
	const uint8_t *id = s->hpke_suite_id;
	const size_t id_len = sizeof(s->hpke_suite_id);
	uint8_t context[1 + 2 * SGA_SHA256_LEN], secret[SGA_SHA256_LEN];
	int rc;

	context[0] = 0x00; /* mode_base */
	rc = labeled_extract(id, id_len, NULL, 0, "psk_id_hash", NULL, 0, context + 1);
	if (rc == 0)
		rc = labeled_extract(id, id_len, NULL, 0, "info_hash", info, info_len,
		                     context + 1 + SGA_SHA256_LEN);
	if (rc == 0)
		rc = labeled_extract(id, id_len, shared, SGA_SHA256_LEN, "secret", NULL, 0, secret);
	if (rc == 0)
		rc = labeled_expand(id, id_len, secret, "key", context, sizeof(context), key,
		                    s->key_len);
	if (rc == 0)
		rc = labeled_expand(id, id_len, secret, "base_nonce", context, sizeof(context),
		                    nonce, SGA_AEAD_NONCE_LEN);
	sga_memzero(secret, sizeof(secret));
	return rc;
}

static int args_ok(const struct hpke_suite *s, const uint8_t *pk_r, size_t pk_r_len,
                   const uint8_t *info, size_t info_len, const uint8_t *aad, size_t aad_len)
{
	return s != NULL && pk_r != NULL && pk_r_len == s->enc_len && (info || !info_len) &&
	       (aad || !aad_len);
}

int sga_hpke_seal_with_ephemeral(uint8_t group, const uint8_t sk_e[SGA_EXPONENT_LEN],
                                 const uint8_t *pk_r, size_t pk_r_len, const uint8_t *info,
                                 size_t info_len, const uint8_t *aad, size_t aad_len,
                                 const uint8_t *pt, size_t pt_len, uint8_t *out, size_t cap,
                                 size_t *out_len)
{
	const struct hpke_suite *s = suite_of(group);
	uint8_t dh[SGA_P256_X_LEN], shared[SGA_SHA256_LEN], key[SGA_AEAD_MAX_KEY_LEN];
	uint8_t nonce[SGA_AEAD_NONCE_LEN];
	int rc;

	if (!args_ok(s, pk_r, pk_r_len, info, info_len, aad, aad_len) || sk_e == NULL ||
	    (pt == NULL && pt_len) || out == NULL || out_len == NULL)
		return -EINVAL;
	if (cap < s->enc_len + pt_len + SGA_HPKE_TAG_LEN)
		return -ENOSPC;
	/* Encap: enc = pk(sk_e), dh = DH(sk_e, pk_r). */
	rc = s->public_of(sk_e, out);
	if (rc == 0)
		rc = s->dh(sk_e, pk_r, dh);
	if (rc == 0)
		rc = kem_shared_secret(s, dh, s->dh_len, out, pk_r, shared);
	if (rc == 0)
		rc = key_schedule(s, shared, info, info_len, key, nonce);
	if (rc == 0)
		rc = sga_aead_seal(s->aead, key, nonce, aad, aad_len, pt, pt_len, out + s->enc_len,
		                   cap - s->enc_len);
	if (rc == 0)
		*out_len = s->enc_len + pt_len + SGA_HPKE_TAG_LEN;
	sga_memzero(dh, sizeof(dh));
	sga_memzero(shared, sizeof(shared));
	sga_memzero(key, sizeof(key));
	return rc;
}

int sga_hpke_seal(uint8_t group, const uint8_t *pk_r, size_t pk_r_len, const uint8_t *info,
                  size_t info_len, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
                  size_t pt_len, uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t sk_e[SGA_EXPONENT_LEN];
	int rc = sga_random_bytes(sk_e, sizeof(sk_e));

	if (rc == 0)
		rc = sga_hpke_seal_with_ephemeral(group, sk_e, pk_r, pk_r_len, info, info_len, aad,
		                                  aad_len, pt, pt_len, out, cap, out_len);
	sga_memzero(sk_e, sizeof(sk_e));
	return rc;
}

int sga_hpke_open(uint8_t group, const uint8_t sk_r[SGA_EXPONENT_LEN], const uint8_t *pk_r,
                  size_t pk_r_len, const uint8_t *info, size_t info_len, const uint8_t *aad,
                  size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *pt, size_t cap,
                  size_t *pt_len)
{
	const struct hpke_suite *s = suite_of(group);
	uint8_t dh[SGA_P256_X_LEN], shared[SGA_SHA256_LEN], key[SGA_AEAD_MAX_KEY_LEN];
	uint8_t nonce[SGA_AEAD_NONCE_LEN];
	size_t body;
	int rc;

	if (!args_ok(s, pk_r, pk_r_len, info, info_len, aad, aad_len) || sk_r == NULL ||
	    in == NULL || pt == NULL || pt_len == NULL)
		return -EINVAL;
	if (in_len < s->enc_len + SGA_HPKE_TAG_LEN)
		return -EBADMSG;
	body = in_len - s->enc_len - SGA_HPKE_TAG_LEN;
	if (cap < body)
		return -ENOSPC;
	/* Decap: dh = DH(sk_r, enc); a small-order (x25519) or off-curve (p256)
	 * enc is refused like a bad tag. */
	rc = s->dh(sk_r, in, dh);
	if (rc == -EINVAL)
		rc = -EBADMSG;
	if (rc == 0)
		rc = kem_shared_secret(s, dh, s->dh_len, in, pk_r, shared);
	if (rc == 0)
		rc = key_schedule(s, shared, info, info_len, key, nonce);
	if (rc == 0)
		rc = sga_aead_open(s->aead, key, nonce, aad, aad_len, in + s->enc_len,
		                   in_len - s->enc_len, pt, cap);
	if (rc == 0)
		*pt_len = body;
	else
		sga_memzero(pt, body);
	sga_memzero(dh, sizeof(dh));
	sga_memzero(shared, sizeof(shared));
	sga_memzero(key, sizeof(key));
	return rc;
}
