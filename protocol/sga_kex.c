/* SPDX-License-Identifier: BSD-3-Clause */
/* sga_kex.c - MACs and the k_d proof of the key exchange (see sga_kex.h). */
#include <errno.h>
#include <string.h>

#include "sga_cursor.h"
#include "sga_keys.h"
#include "sga_kex.h"

/* The group layer's -EINVAL is a refused element or a degenerate result. */
static int group_err(int rc)
{
	return rc == -EINVAL ? -SGA_E_BAD_ELEMENT : sga_err_from_crypto(rc);
}

int sga_kex_element(const struct sga_group_info *grp, const uint8_t *base,
                    const uint8_t scalar[SGA_EXPONENT_LEN], uint8_t *out)
{
	return group_err(sga_group_mul(grp, base, scalar, out));
}

int sga_kex_shared(const struct sga_group_info *grp, const uint8_t *peer,
                   const uint8_t scalar[SGA_EXPONENT_LEN], uint8_t *secret)
{
	return group_err(sga_group_shared(grp, peer, scalar, secret));
}

int sga_kex_init_mac(const struct sga_group_info *grp, const uint8_t *K, uint64_t session_id,
                     const uint8_t *N, uint8_t mac[SGA_MAC_LEN])
{
	static const char label[] = "SGA v1 kex init";
	uint8_t sid[8];
	struct sga_buf parts[] = {{label, sizeof(label) - 1}, {sid, 8}, {N, grp->len}};

	sga_put_u64(sid, session_id);
	return sga_err_from_crypto(sga_hmac_sha256(K, grp->secret_len, parts, 3, mac));
}

int sga_kex_reply_mac(const struct sga_group_info *grp, const uint8_t *K, uint64_t session_id,
                      const uint8_t *id_self, uint8_t id_self_len, const uint8_t *id_peer,
                      uint8_t id_peer_len, const uint8_t *X,
                      const uint8_t n_hash_peer[SGA_SHA256_LEN], uint8_t mac[SGA_MAC_LEN])
{
	static const char label[] = "SGA v1 kex reply";
	uint8_t sid[8];
	struct sga_buf parts[] = {
	    {label, sizeof(label) - 1}, {sid, 8},          {&id_self_len, 1},
	    {id_self, id_self_len},     {&id_peer_len, 1}, {id_peer, id_peer_len},
	    {K, grp->secret_len},       {X, grp->len},     {n_hash_peer, SGA_SHA256_LEN},
	};

	sga_put_u64(sid, session_id);
	return sga_err_from_crypto(
	    sga_hmac_sha256(K, grp->secret_len, parts, sizeof(parts) / sizeof(parts[0]), mac));
}

int sga_kex_n_hash(const struct sga_group_info *grp, const uint8_t *N, uint8_t out[SGA_SHA256_LEN])
{
	struct sga_buf part = {N, grp->len};

	return sga_err_from_crypto(sga_sha256(&part, 1, out));
}

static const char proof_label[] = "SGA v1 kd proof";

static void proof_aad(uint64_t session_id, uint8_t aad[sizeof(proof_label) - 1 + 8])
{
	memcpy(aad, proof_label, sizeof(proof_label) - 1);
	sga_put_u64(aad + sizeof(proof_label) - 1, session_id);
}

static int proof_plain(const uint8_t k_d[SGA_KEY_LEN], const uint8_t *N, size_t n_len,
                       uint8_t out[SGA_SHA256_LEN])
{
	struct sga_buf part = {N, n_len};

	if (sga_sha256(&part, 1, out))
		return -SGA_E_CRYPTO;
	for (int i = 0; i < SGA_SHA256_LEN; i++)
		out[i] ^= k_d[i];
	return 0;
}

int sga_kex_proof_seal(uint8_t suite, const uint8_t *ctl_key, const uint8_t k_d[SGA_KEY_LEN],
                       uint64_t session_id, const uint8_t *N, size_t n_len,
                       uint8_t proof[SGA_PROOF_MAX], uint8_t *proof_len)
{
	const struct sga_suite_info *s = sga_suite_get(suite);
	uint8_t aad[sizeof(proof_label) - 1 + 8], plain[SGA_SHA256_LEN];
	int rc;

	if (!s)
		return -SGA_E_BAD_FIELD;
	rc = proof_plain(k_d, N, n_len, plain);
	if (rc)
		goto out;
	if (sga_random_bytes(proof, SGA_AEAD_NONCE_LEN)) {
		rc = -SGA_E_CRYPTO;
		goto out;
	}
	proof_aad(session_id, aad);
	rc = sga_err_from_crypto(sga_aead_seal(suite, ctl_key, proof, aad, sizeof(aad), plain,
	                                       sizeof(plain), proof + SGA_AEAD_NONCE_LEN,
	                                       SGA_PROOF_MAX - SGA_AEAD_NONCE_LEN));
	if (!rc)
		*proof_len = (uint8_t)(SGA_AEAD_NONCE_LEN + SGA_SHA256_LEN + s->tag_len);
out:
	sga_memzero(plain, sizeof(plain));
	return rc;
}

int sga_kex_proof_check(uint8_t suite, const uint8_t *ctl_key, const uint8_t k_d[SGA_KEY_LEN],
                        uint64_t session_id, const uint8_t *N, size_t n_len, const uint8_t *proof,
                        size_t proof_len)
{
	const struct sga_suite_info *s = sga_suite_get(suite);
	uint8_t aad[sizeof(proof_label) - 1 + 8], got[SGA_SHA256_LEN], want[SGA_SHA256_LEN];
	size_t got_len;
	int rc;

	if (!s)
		return -SGA_E_BAD_FIELD;
	if (proof_len != (size_t)SGA_AEAD_NONCE_LEN + SGA_SHA256_LEN + s->tag_len)
		return -SGA_E_BAD_LENGTH;
	proof_aad(session_id, aad);
	rc = sga_open_env(suite, ctl_key, proof, aad, sizeof(aad), proof + SGA_AEAD_NONCE_LEN,
	                  proof_len - SGA_AEAD_NONCE_LEN, got, sizeof(got), &got_len);
	if (rc)
		goto out;
	rc = proof_plain(k_d, N, n_len, want);
	if (rc)
		goto out;
	rc = sga_ct_memeq(got, want, sizeof(want)) ? 0 : -SGA_E_AUTH;
out:
	sga_memzero(got, sizeof(got));
	sga_memzero(want, sizeof(want));
	return rc;
}
