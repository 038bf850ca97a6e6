/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_keys.c - HKDF labels of the key schedule and the envelope seal/open
 * helpers. Labels are ASCII, prefixed "SGA v1 ", and listed in PROTOCOL.md;
 * changing one is a wire-format change.
 */
#include <errno.h>
#include <string.h>

#include "sga_cursor.h"
#include "sga_keys.h"

int sga_err_from_crypto(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case -EBADMSG:
		return -SGA_E_AUTH;
	case -ENOSPC:
		return -SGA_E_NOSPACE;
	case -EINVAL:
		return -SGA_E_BAD_FIELD;
	default:
		return -SGA_E_CRYPTO;
	}
}

static int suite_key_len(uint8_t suite, size_t *len)
{
	const struct sga_suite_info *s = sga_suite_get(suite);

	if (!s)
		return -SGA_E_BAD_FIELD;
	*len = s->key_len;
	return 0;
}

/* info = label | suite (| extra byte when has_extra) */
static int derive(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
                  const char *label, uint8_t suite, uint8_t *out, size_t out_len)
{
	uint8_t info[48];
	size_t n = strlen(label);

	if (n + 1 > sizeof(info))
		return -SGA_E_INTERNAL;
	memcpy(info, label, n);
	info[n++] = suite;
	return sga_err_from_crypto(
	    sga_hkdf_sha256(ikm, ikm_len, salt, salt_len, info, n, out, out_len));
}

int sga_key_ctl(const uint8_t k_d[SGA_KEY_LEN], uint8_t suite, uint8_t *out)
{
	size_t kl;
	int rc = suite_key_len(suite, &kl);

	return rc ? rc : derive(k_d, SGA_KEY_LEN, NULL, 0, "SGA v1 ctl", suite, out, kl);
}

int sga_key_rekey_mac(const uint8_t k_d[SGA_KEY_LEN], uint8_t out[SGA_MAC_LEN])
{
	return derive(k_d, SGA_KEY_LEN, NULL, 0, "SGA v1 rekey", 0, out, SGA_MAC_LEN);
}

int sga_key_kex(const uint8_t k_t[SGA_KEY_LEN], uint64_t session_id, uint8_t suite, uint8_t *out)
{
	uint8_t salt[8];
	size_t kl;
	int rc = suite_key_len(suite, &kl);

	if (rc)
		return rc;
	sga_put_u64(salt, session_id);
	return derive(k_t, SGA_KEY_LEN, salt, sizeof(salt), "SGA v1 kex", suite, out, kl);
}

int sga_key_hop(const uint8_t k_t[SGA_KEY_LEN], uint64_t session_id, uint8_t suite,
                enum sga_dir dir, uint8_t *out)
{
	uint8_t salt[8];
	size_t kl;
	int rc = suite_key_len(suite, &kl);

	if (rc)
		return rc;
	sga_put_u64(salt, session_id);
	return derive(k_t, SGA_KEY_LEN, salt, sizeof(salt),
	              dir == SGA_DIR_UP ? "SGA v1 hop up" : "SGA v1 hop down", suite, out, kl);
}

int sga_key_hop_epoch(const uint8_t *down_base, uint64_t epoch, uint8_t suite, uint8_t *out)
{
	uint8_t salt[8];
	size_t kl;
	int rc = suite_key_len(suite, &kl);

	if (rc)
		return rc;
	if (epoch == 0)
		return -SGA_E_BAD_FIELD;
	sga_put_u64(salt, epoch);
	rc = derive(down_base, kl, salt, sizeof(salt), "SGA v1 hop epoch", suite, out, kl);
	return rc;
}

int sga_transcript_hash(const struct sga_transcript *t, uint8_t out[SGA_SHA256_LEN])
{
	static const char label[] = "SGA v1 transcript";
	uint8_t sid[8], tail[2] = {t->suite, t->group};
	struct sga_buf parts[] = {
	    {label, sizeof(label) - 1},
	    {sid, 8},
	    {&t->id_g_len, 1},
	    {t->id_g, t->id_g_len},
	    {&t->id_i_len, 1},
	    {t->id_i, t->id_i_len},
	    {&t->id_j_len, 1},
	    {t->id_j, t->id_j_len},
	    {&t->n_pref, 1},
	    {t->prefs, t->n_pref},
	    {tail, 2},
	    {t->n_hash[0], SGA_SHA256_LEN},
	    {t->n_hash[1], SGA_SHA256_LEN},
	};

	if (!t->id_g || !t->id_i || !t->id_j || !t->prefs || !t->n_hash[0] || !t->n_hash[1])
		return -SGA_E_BAD_FIELD;
	sga_put_u64(sid, t->session_id);
	return sga_err_from_crypto(sga_sha256(parts, sizeof(parts) / sizeof(parts[0]), out));
}

int sga_key_e2e(const uint8_t *k_isj, size_t k_len, const uint8_t transcript[SGA_SHA256_LEN],
                uint8_t suite, enum sga_e2e_dir dir, uint8_t *out)
{
	size_t kl;
	int rc = suite_key_len(suite, &kl);

	if (rc)
		return rc;
	return derive(k_isj, k_len, transcript, SGA_SHA256_LEN,
	              dir == SGA_E2E_I_TO_J ? "SGA v1 e2e i->j" : "SGA v1 e2e j->i", suite, out,
	              kl);
}

static const char confirm_label[] = "SGA v1 confirm";

int sga_key_confirm(const uint8_t *k_isj, size_t k_len, const uint8_t transcript[SGA_SHA256_LEN],
                    uint8_t out[SGA_MAC_LEN])
{
	return derive(k_isj, k_len, transcript, SGA_SHA256_LEN, confirm_label, 0, out, SGA_MAC_LEN);
}

int sga_confirm_mac(const uint8_t k_confirm[SGA_MAC_LEN], uint8_t role,
                    const uint8_t transcript[SGA_SHA256_LEN], uint8_t out[SGA_MAC_LEN])
{
	struct sga_buf parts[] = {
	    {confirm_label, sizeof(confirm_label) - 1},
	    {&role, 1},
	    {transcript, SGA_SHA256_LEN},
	};

	return sga_err_from_crypto(sga_hmac_sha256(k_confirm, SGA_MAC_LEN, parts, 3, out));
}

void sga_hop_nonce(uint64_t seq, uint8_t nonce[SGA_AEAD_NONCE_LEN])
{
	memset(nonce, 0, 4);
	sga_put_u64(nonce + 4, seq);
}

static int seal_into(uint8_t suite, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                     size_t aad_len, const uint8_t *plain, size_t plain_len, uint8_t *ct,
                     size_t ct_len)
{
	return sga_err_from_crypto(
	    sga_aead_seal(suite, key, nonce, aad, aad_len, plain, plain_len, ct, ct_len));
}

static int ct_len_for(uint8_t suite, size_t plain_len, size_t *ct_len)
{
	const struct sga_suite_info *s = sga_suite_get(suite);

	if (!s)
		return -SGA_E_BAD_FIELD;
	*ct_len = plain_len + s->tag_len;
	return 0;
}

int sga_seal_dev_env(uint8_t type, const uint8_t *id, uint8_t id_len, uint64_t ctr, uint8_t suite,
                     const uint8_t *key, const uint8_t *plain, size_t plain_len, uint8_t *out,
                     size_t cap, size_t *len)
{
	uint8_t nonce[SGA_AEAD_NONCE_LEN], *ct;
	size_t ct_len, aad_len;
	int rc = ct_len_for(suite, plain_len, &ct_len);

	if (rc)
		return rc;
	if (sga_random_bytes(nonce, sizeof(nonce)))
		return -SGA_E_CRYPTO;
	rc = sga_env_dev_encode(type, id, id_len, ctr, nonce, ct_len, out, cap, &ct, &aad_len);
	if (rc)
		return rc;
	rc = seal_into(suite, key, nonce, out, aad_len, plain, plain_len, ct, ct_len);
	if (rc)
		return rc;
	*len = aad_len + ct_len;
	return 0;
}

int sga_seal_sess_env(uint8_t type, uint64_t session_id, uint8_t role, uint8_t suite,
                      const uint8_t *key, const uint8_t *plain, size_t plain_len, uint8_t *out,
                      size_t cap, size_t *len)
{
	uint8_t nonce[SGA_AEAD_NONCE_LEN], *ct;
	size_t ct_len, aad_len;
	int rc = ct_len_for(suite, plain_len, &ct_len);

	if (rc)
		return rc;
	if (sga_random_bytes(nonce, sizeof(nonce)))
		return -SGA_E_CRYPTO;
	rc = sga_env_sess_encode(type, session_id, role, nonce, ct_len, out, cap, &ct, &aad_len);
	if (rc)
		return rc;
	rc = seal_into(suite, key, nonce, out, aad_len, plain, plain_len, ct, ct_len);
	if (rc)
		return rc;
	*len = aad_len + ct_len;
	return 0;
}

int sga_seal_hop(uint8_t type, uint64_t session_id, uint8_t role, uint64_t epoch, uint64_t seq,
                 uint8_t suite, const uint8_t *key, const uint8_t *plain, size_t plain_len,
                 uint8_t *out, size_t cap, size_t *len)
{
	uint8_t nonce[SGA_AEAD_NONCE_LEN], *ct;
	size_t ct_len, aad_len;
	int rc = ct_len_for(suite, plain_len, &ct_len);

	if (rc)
		return rc;
	sga_hop_nonce(seq, nonce);
	rc =
	    sga_env_hop_encode(type, session_id, role, epoch, seq, ct_len, out, cap, &ct, &aad_len);
	if (rc)
		return rc;
	rc = seal_into(suite, key, nonce, out, aad_len, plain, plain_len, ct, ct_len);
	if (rc)
		return rc;
	*len = aad_len + ct_len;
	return 0;
}

int sga_open_env(uint8_t suite, const uint8_t *key, const uint8_t nonce[SGA_AEAD_NONCE_LEN],
                 const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                 uint8_t *plain, size_t cap, size_t *plain_len)
{
	const struct sga_suite_info *s = sga_suite_get(suite);
	int rc;

	if (!s)
		return -SGA_E_BAD_FIELD;
	if (ct_len < s->tag_len)
		return -SGA_E_TRUNCATED;
	if (ct_len - s->tag_len > cap)
		return -SGA_E_NOSPACE;
	rc = sga_aead_open(suite, key, nonce, aad, aad_len, ct, ct_len, plain, cap);
	if (rc)
		return sga_err_from_crypto(rc);
	*plain_len = ct_len - s->tag_len;
	return 0;
}
