/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_hop.c - gateway-side hop layer, see sga_hop.h. The _env/_k variants are
 * the data plane's: a frame decoded once by its dispatcher, and the member's
 * prepared keys (sga_aead_key) instead of a key schedule per call.
 */
#include <string.h>

#include "sga_cursor.h"
#include "sga_hop.h"
#include "sga_keys.h"

int sga_hop_epoch_new(uint64_t *epoch)
{
	uint8_t b[8];

	do {
		if (sga_random_bytes(b, sizeof(b)))
			return -SGA_E_CRYPTO;
		*epoch = sga_get_u64(b);
	} while (*epoch == 0);
	return 0;
}

int sga_hop_member_init_epoch(struct sga_hop_member *m, const uint8_t k_t[SGA_KEY_LEN],
                              uint64_t sid, uint8_t suite, uint64_t epoch)
{
	uint8_t base[SGA_AEAD_MAX_KEY_LEN];
	int rc;

	memset(m, 0, sizeof(*m));
	if (epoch == 0)
		return -SGA_E_BAD_FIELD;
	m->suite = suite;
	m->epoch = epoch;
	sga_replay_init(&m->rx);
	rc = sga_key_hop(k_t, sid, suite, SGA_DIR_UP, m->key_up);
	if (!rc)
		rc = sga_key_hop(k_t, sid, suite, SGA_DIR_DOWN, base);
	if (!rc)
		rc = sga_key_hop_epoch(base, epoch, suite, m->key_down);
	sga_memzero(base, sizeof(base));
	if (rc)
		sga_memzero(m, sizeof(*m));
	return rc;
}

int sga_hop_member_init(struct sga_hop_member *m, const uint8_t k_t[SGA_KEY_LEN], uint64_t sid,
                        uint8_t suite)
{
	uint64_t epoch;
	int rc = sga_hop_epoch_new(&epoch);

	if (rc) {
		memset(m, 0, sizeof(*m));
		return rc;
	}
	return sga_hop_member_init_epoch(m, k_t, sid, suite, epoch);
}

int sga_hop_open_up(const struct sga_hop_member *m, uint64_t sid, uint8_t role, uint8_t *frame,
                    size_t len, uint64_t *seq, uint8_t **inner, size_t *inner_len)
{
	struct sga_env_hop env;
	int rc;

	rc = sga_env_hop_decode(frame, len, &env);
	if (rc)
		return rc;
	return sga_hop_open_env(m, NULL, sid, role, &env, frame, len, seq, inner, inner_len);
}

/* sga_open_env under a prepared key: the same checks and errors. */
static int open_env_key(const struct sga_hop_member *m, struct sga_aead_key *k,
                        const uint8_t nonce[SGA_AEAD_NONCE_LEN], const struct sga_env_hop *env,
                        uint8_t *plain, size_t cap, size_t *plain_len)
{
	const struct sga_suite_info *s = sga_suite_get(m->suite);
	int rc;

	if (!k)
		return sga_open_env(m->suite, m->key_up, nonce, env->aad, env->aad_len, env->ct,
		                    env->ct_len, plain, cap, plain_len);
	if (!s || sga_aead_key_suite(k) != m->suite)
		return -SGA_E_BAD_FIELD;
	if (env->ct_len < s->tag_len)
		return -SGA_E_TRUNCATED;
	if (env->ct_len - s->tag_len > cap)
		return -SGA_E_NOSPACE;
	rc = sga_aead_key_open(k, nonce, env->aad, env->aad_len, env->ct, env->ct_len, plain, cap);
	if (rc)
		return sga_err_from_crypto(rc);
	*plain_len = env->ct_len - s->tag_len;
	return 0;
}

int sga_hop_open_env(const struct sga_hop_member *m, struct sga_aead_key *k, uint64_t sid,
                     uint8_t role, const struct sga_env_hop *env, uint8_t *frame, size_t len,
                     uint64_t *seq, uint8_t **inner, size_t *inner_len)
{
	uint8_t nonce[SGA_AEAD_NONCE_LEN];
	int rc, seen;

	/* env must describe this very buffer: its spans are about to be written. */
	if (env->aad != frame || env->aad_len + env->ct_len != len ||
	    env->ct != frame + env->aad_len)
		return -SGA_E_INTERNAL;
	if (env->type != SGA_MSG_DATA_UP && env->type != SGA_MSG_DATA_DELIVERED)
		return -SGA_E_BAD_TYPE;
	if (env->session_id != sid)
		return -SGA_E_UNKNOWN_SESSION;
	if (env->role != role)
		return -SGA_E_BAD_FIELD;
	seen = sga_replay_check(&m->rx, env->seq);
	if (seen && (env->seq == UINT64_MAX ||
	             (m->rx.next > env->seq && m->rx.next - env->seq > SGA_REPLAY_WINDOW - 64)))
		return -SGA_E_REPLAY; /* too old to tell: refuse unopened */
	sga_hop_nonce(env->seq, nonce);
	/* In place: the plaintext lands where the ciphertext was. */
	rc = open_env_key(m, k, nonce, env, frame + env->aad_len, len - env->aad_len, inner_len);
	if (rc)
		return rc;
	*seq = env->seq;
	*inner = frame + env->aad_len;
	return seen ? -SGA_E_REPLAY : 0;
}

int sga_hop_seal_down(struct sga_hop_member *m, uint64_t sid, uint8_t role, uint8_t type,
                      const uint8_t *inner, size_t inner_len, uint8_t *out, size_t cap, size_t *len)
{
	return sga_hop_seal_down_k(m, NULL, sid, role, type, inner, inner_len, out, cap, len);
}

/* sga_seal_hop under a prepared key: the same checks and errors. */
static int seal_hop_key(struct sga_aead_key *k, uint8_t type, uint64_t sid, uint8_t role,
                        uint64_t epoch, uint64_t seq, uint8_t suite, const uint8_t *plain,
                        size_t plain_len, uint8_t *out, size_t cap, size_t *len)
{
	const struct sga_suite_info *s = sga_suite_get(suite);
	uint8_t nonce[SGA_AEAD_NONCE_LEN], *ct;
	size_t ct_len, aad_len;
	int rc;

	if (!s || sga_aead_key_suite(k) != suite)
		return -SGA_E_BAD_FIELD;
	ct_len = plain_len + s->tag_len;
	sga_hop_nonce(seq, nonce);
	rc = sga_env_hop_encode(type, sid, role, epoch, seq, ct_len, out, cap, &ct, &aad_len);
	if (rc)
		return rc;
	rc = sga_err_from_crypto(
	    sga_aead_key_seal(k, nonce, out, aad_len, plain, plain_len, ct, ct_len));
	if (rc)
		return rc;
	*len = aad_len + ct_len;
	return 0;
}

int sga_hop_seal_down_k(struct sga_hop_member *m, struct sga_aead_key *k, uint64_t sid,
                        uint8_t role, uint8_t type, const uint8_t *inner, size_t inner_len,
                        uint8_t *out, size_t cap, size_t *len)
{
	int rc;

	if (type != SGA_MSG_DATA_DOWN && type != SGA_MSG_DATA_ACK && type != SGA_MSG_DATA_SKIP)
		return -SGA_E_BAD_TYPE;
	if (m->tx_seq >= UINT64_MAX - 1)
		return -SGA_E_BAD_STATE;
	if (k)
		rc = seal_hop_key(k, type, sid, role, m->epoch, m->tx_seq, m->suite, inner,
		                  inner_len, out, cap, len);
	else
		rc = sga_seal_hop(type, sid, role, m->epoch, m->tx_seq, m->suite, m->key_down,
		                  inner, inner_len, out, cap, len);
	if (!rc)
		m->tx_seq++;
	return rc;
}

int sga_hop_seal_u64(struct sga_hop_member *m, uint64_t sid, uint8_t role, uint8_t type,
                     uint64_t value, uint8_t *out, size_t cap, size_t *len)
{
	uint8_t plain[8];

	if (type != SGA_MSG_DATA_SKIP)
		return -SGA_E_BAD_TYPE;
	sga_put_u64(plain, value);
	return sga_hop_seal_down(m, sid, role, type, plain, sizeof(plain), out, cap, len);
}

int sga_ack_win_note(struct sga_ack_win *w, uint64_t e2e_seq)
{
	uint64_t shift;

	if (e2e_seq == UINT64_MAX)
		return -1; /* top would wrap; no device seals it (sga_dev_data_seal) */
	if (e2e_seq >= w->top) {
		shift = e2e_seq + 1 - w->top;
		w->bits = shift >= SGA_DATA_ACK_SPAN ? 0 : w->bits << shift;
		w->bits |= 1;
		w->top = e2e_seq + 1;
		return 1;
	}
	shift = w->top - 1 - e2e_seq;
	if (shift >= SGA_DATA_ACK_SPAN)
		return 0;
	w->bits |= (uint64_t)1 << shift;
	return 1;
}

int sga_hop_seal_ack(struct sga_hop_member *m, uint64_t sid, uint8_t role,
                     const struct sga_data_ack_plain *ack, uint8_t *out, size_t cap, size_t *len)
{
	uint8_t plain[SGA_DATA_ACK_LEN];
	size_t n;
	int rc = sga_data_ack_plain_encode(ack, plain, sizeof(plain), &n);

	if (rc)
		return rc;
	return sga_hop_seal_down(m, sid, role, SGA_MSG_DATA_ACK, plain, n, out, cap, len);
}

int sga_hop_delivered_parse(const uint8_t *inner, size_t inner_len, uint64_t *next_e2e_seq)
{
	if (inner_len != 8)
		return inner_len < 8 ? -SGA_E_TRUNCATED : -SGA_E_TRAILING;
	*next_e2e_seq = sga_get_u64(inner);
	return 0;
}
