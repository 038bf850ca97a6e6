/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_pke.c - E_PK and F_G of every profile (sga_pke.h): RSA-OAEP for the
 * finite-field profiles, HPKE base mode for the elliptic-curve ones.
 */
#include <errno.h>
#include <string.h>

#include "sga_err.h"
#include "sga_pke.h"

#if SGA_PKE_HPKE
#include "sga_hpke.h"

/* The HPKE info of each use (PROTOCOL.md 4.2.1): a ciphertext made for one
 * cannot be opened as the other. */
static const char *const hpke_info[2] = {"SGA v1 E_PK", "SGA v1 F_G"};
#endif

/* The length of the raw public key of an EC group (0: not an EC group). */
static size_t raw_len_of(uint8_t group)
{
	switch (group) {
	case SGA_GROUP_X25519:
		return SGA_X25519_LEN;
	case SGA_GROUP_P256:
		return SGA_P256_UNCOMPRESSED_LEN;
	default:
		return 0;
	}
}

int sga_pke_is_hpke(uint8_t group)
{
	return raw_len_of(group) != 0;
}

static int known(uint8_t group)
{
	const struct sga_group_info *g = sga_group_get(group);

	if (!g)
		return 0;
	return g->kind == SGA_GROUP_KIND_FFDHE ? SGA_PKE_RSA : SGA_PKE_HPKE;
}

/* 1 if raw is an acceptable HPKE recipient key of group. */
static int raw_ok(uint8_t group, const uint8_t *raw, size_t len)
{
	if (len != raw_len_of(group))
		return 0;
	if (group == SGA_GROUP_X25519)
		return sga_x25519_element_ok(raw);
#if SGA_GROUPS_P256
	return raw[0] == 0x04 && sga_p256_point_ok(raw, len);
#else
	return 0;
#endif
}

int sga_pke_pub_decode(uint8_t group, const uint8_t *bytes, size_t len, struct sga_pke_pub *k)
{
	memset(k, 0, sizeof(*k));
	if (!known(group) || !bytes)
		return -SGA_E_BAD_PACKAGE;
	if (sga_pke_is_hpke(group)) {
		if (!raw_ok(group, bytes, len))
			return -SGA_E_BAD_PACKAGE;
		memcpy(k->raw, bytes, len);
		k->raw_len = (uint8_t)len;
	} else {
#if SGA_PKE_RSA
		if (sga_rsa_from_public_der(bytes, len, &k->rsa))
			return -SGA_E_BAD_PACKAGE;
#endif
	}
	k->group = group;
	return 0;
}

void sga_pke_pub_free(struct sga_pke_pub *k)
{
#if SGA_PKE_RSA
	sga_rsa_free(k->rsa);
#endif
	memset(k, 0, sizeof(*k));
}

int sga_pke_priv_from_rsa(uint8_t group, struct sga_rsa_key *rsa, struct sga_pke_priv *k)
{
	memset(k, 0, sizeof(*k));
#if SGA_PKE_RSA
	if (!known(group) || sga_pke_is_hpke(group) || !rsa || !sga_rsa_has_private(rsa))
		return -SGA_E_BAD_FIELD;
	k->group = group;
	k->rsa = rsa;
	return 0;
#else
	(void)group;
	(void)rsa;
	return -SGA_E_BAD_FIELD;
#endif
}

int sga_pke_priv_from_ec(uint8_t group, const uint8_t sk[SGA_EXPONENT_LEN], struct sga_pke_priv *k)
{
	int rc;

	memset(k, 0, sizeof(*k));
	if (!known(group) || !sga_pke_is_hpke(group) || !sk)
		return -SGA_E_BAD_FIELD;
	if (group == SGA_GROUP_X25519)
		rc = sga_x25519(sk, NULL, k->raw);
	else
#if SGA_GROUPS_P256
		rc = sga_p256_base_mul(sk, k->raw, SGA_P256_UNCOMPRESSED_LEN);
#else
		rc = -EINVAL;
#endif
	if (rc) {
		memset(k, 0, sizeof(*k));
		return -SGA_E_BAD_FIELD;
	}
	memcpy(k->sk, sk, SGA_EXPONENT_LEN);
	k->raw_len = (uint8_t)raw_len_of(group);
	k->group = group;
	return 0;
}

int sga_pke_priv_public(const struct sga_pke_priv *k, uint8_t *out, size_t cap, size_t *len)
{
	if (sga_pke_is_hpke(k->group)) {
		if (cap < k->raw_len)
			return -SGA_E_NOSPACE;
		memcpy(out, k->raw, k->raw_len);
		*len = k->raw_len;
		return 0;
	}
#if SGA_PKE_RSA
	if (k->rsa && !sga_rsa_public_der(k->rsa, out, cap, len))
		return 0;
#endif
	return -SGA_E_CRYPTO;
}

void sga_pke_priv_free(struct sga_pke_priv *k)
{
#if SGA_PKE_RSA
	sga_rsa_free(k->rsa);
#endif
	sga_memzero(k, sizeof(*k));
}

size_t sga_pke_sealed_len(const struct sga_pke_priv *k, size_t pt_len)
{
#if SGA_PKE_HPKE
	if (sga_pke_is_hpke(k->group))
		return sga_hpke_sealed_len(k->group, pt_len);
#endif
#if SGA_PKE_RSA
	if (k->rsa)
		return sga_rsa_size(k->rsa);
#endif
	(void)pt_len;
	return 0;
}

int sga_pke_seal(const struct sga_pke_pub *k, uint8_t use, const uint8_t *pt, size_t pt_len,
                 uint8_t *out, size_t cap, size_t *out_len)
{
	int rc = -EINVAL;

	if (use > SGA_PKE_TRAPDOOR)
		return -SGA_E_BAD_FIELD;
#if SGA_PKE_HPKE
	if (sga_pke_is_hpke(k->group))
		rc = sga_hpke_seal(k->group, k->raw, k->raw_len, (const uint8_t *)hpke_info[use],
		                   strlen(hpke_info[use]), NULL, 0, pt, pt_len, out, cap, out_len);
#endif
#if SGA_PKE_RSA
	if (!sga_pke_is_hpke(k->group) && k->rsa)
		rc = sga_rsa_oaep_encrypt(k->rsa, pt, pt_len, out, cap, out_len);
#endif
	return rc ? -SGA_E_CRYPTO : 0;
}

int sga_pke_open(const struct sga_pke_priv *k, uint8_t use, const uint8_t *ct, size_t ct_len,
                 uint8_t *pt, size_t cap, size_t *pt_len)
{
	int rc = -EINVAL;

	if (use > SGA_PKE_TRAPDOOR)
		return -SGA_E_BAD_FIELD;
#if SGA_PKE_HPKE
	if (sga_pke_is_hpke(k->group))
		rc = sga_hpke_open(k->group, k->sk, k->raw, k->raw_len,
		                   (const uint8_t *)hpke_info[use], strlen(hpke_info[use]), NULL, 0,
		                   ct, ct_len, pt, cap, pt_len);
#endif
#if SGA_PKE_RSA
	if (!sga_pke_is_hpke(k->group) && k->rsa)
		rc = sga_rsa_oaep_decrypt(k->rsa, ct, ct_len, pt, cap, pt_len);
#endif
	if (rc) {
		sga_memzero(pt, cap);
		return -SGA_E_AUTH;
	}
	return 0;
}
