/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_device.c - device state machine: registration, negotiation (A1-A4), key
 * exchange (B1-B7) and E2E data, as pure functions over struct sga_dev and
 * struct sga_dev_sess. Byte layouts are in sga_wire.h / docs/PROTOCOL.md.
 *
 * Every consume_X decodes and authenticates into locals first and commits to the
 * state only once everything checked out, so a bad frame changes nothing.
 */
#include <string.h>

#include "sga_check.h"
#include "sga_cursor.h"
#include "sga_device.h"
#include "sga_kex.h"
#include "sga_rekey.h"
#include "sga_keys.h"

static int in_list(uint8_t v, const uint8_t *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == v)
			return 1;
	return 0;
}

int sga_dev_init(struct sga_dev *d, const struct sga_package *pkg, const uint8_t *id,
                 uint8_t id_len, uint8_t suite_init, const uint8_t *suites, uint8_t n_suites)
{
	int rc;

	memset(d, 0, sizeof(*d));
	if (!sga_id_valid(id, id_len))
		return -SGA_E_BAD_FIELD;
	rc = sga_suite_list_check(suites, n_suites);
	if (rc)
		return rc;
	if (!in_list(suite_init, suites, n_suites))
		return -SGA_E_BAD_FIELD;
	d->grp = sga_group_get(pkg->group);
	if (!d->grp)
		return -SGA_E_BAD_PACKAGE;
	if (sga_pke_pub_decode(pkg->group, pkg->pk_der, pkg->pk_len, &d->pk) ||
	    sga_pke_pub_decode(pkg->group, pkg->tpk_der, pkg->tpk_len, &d->tpk)) {
		sga_dev_fini(d);
		return -SGA_E_BAD_PACKAGE;
	}
	d->pkg = *pkg;
	memcpy(d->id, id, id_len);
	d->id_len = id_len;
	d->suite_init = suite_init;
	memcpy(d->suites, suites, n_suites);
	d->n_suites = n_suites;
	if (sga_random_bytes(d->k_d, sizeof(d->k_d))) {
		sga_dev_fini(d);
		return -SGA_E_CRYPTO;
	}
	return 0;
}

void sga_dev_fini(struct sga_dev *d)
{
	sga_pke_pub_free(&d->pk);
	sga_pke_pub_free(&d->tpk);
	sga_memzero(d, sizeof(*d));
}

int sga_dev_create_reg_req(struct sga_dev *d, const uint8_t *token, uint8_t token_len, int rekey,
                           uint8_t *out, size_t cap, size_t *len)
{
	struct sga_reg_plain m;
	uint8_t plain[256], ct[SGA_RSA_MAX_LEN], mac_key[SGA_MAC_LEN], *mac_at = NULL;
	size_t plain_len = 0, ct_len = 0;
	int rc;

	memset(&m, 0, sizeof(m));
	if (token_len > SGA_TOKEN_MAX || (rekey && !d->registered)) {
		rc = -SGA_E_BAD_FIELD;
		goto out;
	}
	/* A rekey proposes a fresh k_d; a first registration sends the k_d from init. */
	if (rekey && d->reg_k_d_set)
		memcpy(m.k_d, d->reg_k_d, sizeof(m.k_d)); /* the one a stopped rekey proposed */
	else if (rekey)
		CHECK(sga_random_bytes(m.k_d, sizeof(m.k_d)) ? -SGA_E_CRYPTO : 0);
	else
		memcpy(m.k_d, d->k_d, sizeof(m.k_d));
	m.suite_init = d->suite_init;
	m.n_suites = d->n_suites;
	memcpy(m.suites, d->suites, d->n_suites);
	CHECK(sga_random_bytes(m.reg_nonce, sizeof(m.reg_nonce)) ? -SGA_E_CRYPTO : 0);
	m.id_len = d->id_len;
	memcpy(m.id, d->id, d->id_len);
	m.token_len = token_len;
	if (token_len)
		memcpy(m.token, token, token_len);
	m.ctr = rekey ? d->up_ctr + 1 : 0;
	CHECK(sga_reg_plain_encode(&m, plain, sizeof(plain), &plain_len));
	CHECK(
	    sga_pke_seal(&d->pk, SGA_PKE_REGISTRATION, plain, plain_len, ct, sizeof(ct), &ct_len));
	CHECK(sga_reg_req_encode(rekey ? SGA_REG_FLAG_REKEY : 0, d->grp->id, ct, ct_len, out, cap,
	                         &mac_at, len));
	if (rekey) {
		struct sga_buf part = {out, *len - SGA_MAC_LEN};

		CHECK(sga_key_rekey_mac(d->k_d, mac_key));
		CHECK(sga_err_from_crypto(
		    sga_hmac_sha256(mac_key, sizeof(mac_key), &part, 1, mac_at)));
		d->up_ctr = m.ctr;
	}
	memcpy(d->reg_nonce, m.reg_nonce, sizeof(d->reg_nonce));
	memcpy(d->reg_k_d, m.k_d, sizeof(d->reg_k_d));
	d->reg_pending = 1;
out:
	sga_memzero(&m, sizeof(m));
	sga_memzero(plain, sizeof(plain));
	sga_memzero(mac_key, sizeof(mac_key));
	return rc;
}

/* Open a device envelope addressed to this device under key_src (k_d), checking
 * the id and that the counter is fresh. */
static int open_dev_env(const struct sga_dev *d, const uint8_t *k_d, uint8_t want_type,
                        const uint8_t *frame, size_t len, struct sga_env_dev *env, uint8_t *plain,
                        size_t cap, size_t *plain_len)
{
	uint8_t key[SGA_AEAD_MAX_KEY_LEN];
	int rc;

	CHECK(sga_env_dev_decode(frame, len, env));
	if (env->type != want_type) {
		rc = -SGA_E_BAD_TYPE;
		goto out;
	}
	if (env->id_len != d->id_len || memcmp(env->id, d->id, d->id_len)) {
		rc = -SGA_E_UNKNOWN_DEVICE;
		goto out;
	}
	CHECK(sga_key_ctl(k_d, d->suite_init, key));
	CHECK(sga_open_env(d->suite_init, key, env->nonce, env->aad, env->aad_len, env->ct,
	                   env->ct_len, plain, cap, plain_len));
out:
	sga_memzero(key, sizeof(key));
	return rc;
}

int sga_dev_consume_reg_ack(struct sga_dev *d, const uint8_t *frame, size_t len)
{
	struct sga_env_dev env;
	struct sga_reg_ack_plain ack;
	uint8_t plain[64];
	size_t plain_len;
	int rc;

	if (!d->reg_pending)
		return -SGA_E_BAD_STATE;
	CHECK(open_dev_env(d, d->reg_k_d, SGA_MSG_REG_ACK, frame, len, &env, plain, sizeof(plain),
	                   &plain_len));
	CHECK(sga_reg_ack_plain_decode(plain, plain_len, &ack));
	if (!sga_ct_memeq(ack.reg_nonce, d->reg_nonce, sizeof(ack.reg_nonce))) {
		rc = -SGA_E_REPLAY; /* an old ACK, authentic but not for this request */
		goto out;
	}
	if (!sga_ct_memeq(d->reg_k_d, d->k_d, sizeof(d->k_d))) {
		/* Rekey: the new key starts new counter spaces in both directions. */
		memcpy(d->k_d, d->reg_k_d, sizeof(d->k_d));
		d->up_ctr = 0;
	} else if (env.ctr <= d->down_ctr) {
		rc = -SGA_E_REPLAY;
		goto out;
	}
	d->down_ctr = env.ctr;
	d->registered = 1;
	d->reg_pending = 0;
	sga_memzero(d->reg_k_d, sizeof(d->reg_k_d));
out:
	sga_memzero(plain, sizeof(plain));
	return rc;
}

/* ---- WAKE (7.16) ------------------------------------------------------------- */

int sga_dev_create_wake(struct sga_dev *d, uint8_t flags, uint8_t *out, size_t cap, size_t *len)
{
	struct sga_wake_plain wake = {.flags = flags};
	uint8_t plain[SGA_WAKE_PLAIN_LEN], key[SGA_AEAD_MAX_KEY_LEN];
	size_t plain_len;
	int rc;

	if (!d->registered)
		return -SGA_E_BAD_STATE;
	CHECK(sga_wake_plain_encode(&wake, plain, sizeof(plain), &plain_len));
	CHECK(sga_key_ctl(d->k_d, d->suite_init, key));
	CHECK(sga_seal_dev_env(SGA_MSG_WAKE, d->id, d->id_len, d->up_ctr + 1, d->suite_init, key,
	                       plain, plain_len, out, cap, len));
	d->up_ctr++;
	d->wake_ctr = d->up_ctr;
out:
	sga_memzero(key, sizeof(key));
	return rc;
}

int sga_dev_consume_wake_ack(struct sga_dev *d, const uint8_t *frame, size_t len,
                             struct sga_wake_ack_plain *ack)
{
	struct sga_env_dev env;
	uint8_t plain[16];
	size_t plain_len;
	int rc;

	memset(ack, 0, sizeof(*ack));
	if (!d->registered)
		return -SGA_E_BAD_STATE;
	CHECK(open_dev_env(d, d->k_d, SGA_MSG_WAKE_ACK, frame, len, &env, plain, sizeof(plain),
	                   &plain_len));
	if (!d->wake_ctr || env.ctr != d->wake_ctr) {
		rc = -SGA_E_REPLAY; /* authentic, but not the answer to the latest WAKE */
		goto out;
	}
	CHECK(sga_wake_ack_plain_decode(plain, plain_len, ack));
	d->wake_ctr = 0;
out:
	sga_memzero(plain, sizeof(plain));
	return rc;
}

static void sess_reset(struct sga_dev_sess *s)
{
	sga_memzero(s, sizeof(*s));
	sga_replay_init(&s->hop_rx_win);
	sga_replay_init(&s->e2e_rx_win);
}

int sga_dev_create_neg_req(struct sga_dev *d, struct sga_dev_sess *s, const uint8_t *peer_id,
                           uint8_t peer_id_len, const uint8_t *prefs, uint8_t n_pref, uint8_t *out,
                           size_t cap, size_t *len)
{
	struct sga_neg_req_plain a1;
	uint8_t plain[128], key[SGA_AEAD_MAX_KEY_LEN];
	size_t plain_len;
	int rc;

	memset(&a1, 0, sizeof(a1));
	if (!d->registered) {
		rc = -SGA_E_BAD_STATE;
		goto out;
	}
	if (!sga_id_valid(peer_id, peer_id_len)) {
		rc = -SGA_E_BAD_FIELD;
		goto out;
	}
	CHECK(sga_suite_list_check(prefs, n_pref));
	sess_reset(s);
	a1.peer_id_len = peer_id_len;
	memcpy(a1.peer_id, peer_id, peer_id_len);
	a1.n_pref = n_pref;
	memcpy(a1.prefs, prefs, n_pref);
	CHECK(sga_random_bytes(a1.k_t, sizeof(a1.k_t)) ? -SGA_E_CRYPTO : 0);
	CHECK(sga_neg_req_plain_encode(&a1, plain, sizeof(plain), &plain_len));
	CHECK(sga_key_ctl(d->k_d, d->suite_init, key));
	CHECK(sga_seal_dev_env(SGA_MSG_NEG_REQ, d->id, d->id_len, d->up_ctr + 1, d->suite_init, key,
	                       plain, plain_len, out, cap, len));
	d->up_ctr++;
	s->state = SGA_DEV_S_NEG_SENT;
	s->role = SGA_ROLE_INITIATOR;
	s->req_ctr = d->up_ctr;
	s->peer_id_len = peer_id_len;
	memcpy(s->peer_id, peer_id, peer_id_len);
	s->hop_suite = d->suite_init;
	s->n_pref = n_pref;
	memcpy(s->prefs, prefs, n_pref);
	memcpy(s->k_t, a1.k_t, sizeof(s->k_t));
out:
	sga_memzero(&a1, sizeof(a1));
	sga_memzero(plain, sizeof(plain));
	sga_memzero(key, sizeof(key));
	return rc;
}

/* Open a session envelope for s under the kex key derived from k_t and the
 * session id the frame names. */
static int open_sess_env(const struct sga_dev_sess *s, uint8_t want_type, const uint8_t *frame,
                         size_t len, struct sga_env_sess *env, uint8_t *plain, size_t cap,
                         size_t *plain_len)
{
	uint8_t key[SGA_AEAD_MAX_KEY_LEN];
	int rc;

	CHECK(sga_env_sess_decode(frame, len, env));
	if (env->type != want_type) {
		rc = -SGA_E_BAD_TYPE;
		goto out;
	}
	if (env->role != s->role) {
		rc = -SGA_E_BAD_FIELD;
		goto out;
	}
	CHECK(sga_key_kex(s->k_t, env->session_id, s->hop_suite, key));
	CHECK(sga_open_env(s->hop_suite, key, env->nonce, env->aad, env->aad_len, env->ct,
	                   env->ct_len, plain, cap, plain_len));
out:
	sga_memzero(key, sizeof(key));
	return rc;
}

int sga_dev_consume_neg_result(struct sga_dev *d, struct sga_dev_sess *s, const uint8_t *frame,
                               size_t len)
{
	struct sga_env_sess env;
	struct sga_neg_result_plain a4;
	uint8_t plain[128];
	size_t plain_len;
	int rc;

	(void)d;
	if (s->state != SGA_DEV_S_NEG_SENT)
		return -SGA_E_BAD_STATE;
	CHECK(open_sess_env(s, SGA_MSG_NEG_RESULT, frame, len, &env, plain, sizeof(plain),
	                    &plain_len));
	CHECK(sga_neg_result_plain_decode(plain, plain_len, &a4));
	if (a4.req_ctr != s->req_ctr) {
		rc = -SGA_E_REPLAY;
		goto out;
	}
	if (a4.peer_id_len != s->peer_id_len || memcmp(a4.peer_id, s->peer_id, s->peer_id_len)) {
		rc = -SGA_E_BAD_FIELD;
		goto out;
	}
	if (a4.status) {
		s->state = SGA_DEV_S_FAILED;
		rc = -(int)a4.status;
		goto out;
	}
	/* The gateway may only pick a suite this device registered and asked for. */
	if (!env.session_id || !in_list(a4.suite, d->suites, d->n_suites) ||
	    !in_list(a4.suite, s->prefs, s->n_pref) || a4.group != d->pkg.group) {
		rc = -SGA_E_BAD_FIELD;
		goto out;
	}
	s->session_id = env.session_id;
	s->suite = a4.suite;
	s->group = a4.group;
	CHECK(sga_key_kex(s->k_t, s->session_id, s->hop_suite, s->kex_key));
	s->state = SGA_DEV_S_KEX;
out:
	sga_memzero(plain, sizeof(plain));
	return rc;
}

int sga_dev_consume_neg_invite(struct sga_dev *d, struct sga_dev_sess *s, const uint8_t *frame,
                               size_t len)
{
	struct sga_env_dev env;
	struct sga_neg_invite_plain a2;
	uint8_t plain[128];
	size_t plain_len;
	int rc;

	if (!d->registered)
		return -SGA_E_BAD_STATE;
	CHECK(open_dev_env(d, d->k_d, SGA_MSG_NEG_INVITE, frame, len, &env, plain, sizeof(plain),
	                   &plain_len));
	if (env.ctr <= d->down_ctr) {
		rc = -SGA_E_REPLAY;
		goto out;
	}
	CHECK(sga_neg_invite_plain_decode(plain, plain_len, &a2));
	/* The gateway may only pick a suite this device offered at registration
	 * and the initiator asked for. */
	if (!in_list(a2.suite, d->suites, d->n_suites) || !in_list(a2.suite, a2.prefs, a2.n_pref) ||
	    a2.group != d->pkg.group) {
		rc = -SGA_E_BAD_FIELD;
		goto out;
	}
	d->down_ctr = env.ctr;
	sess_reset(s);
	s->state = SGA_DEV_S_INVITED;
	s->role = SGA_ROLE_RESPONDER;
	s->session_id = a2.session_id;
	s->suite = a2.suite;
	s->group = a2.group;
	s->hop_suite = d->suite_init;
	s->peer_id_len = a2.peer_id_len;
	memcpy(s->peer_id, a2.peer_id, a2.peer_id_len);
	s->n_pref = a2.n_pref;
	memcpy(s->prefs, a2.prefs, a2.n_pref);
out:
	sga_memzero(plain, sizeof(plain));
	return rc;
}

int sga_dev_create_neg_accept(struct sga_dev *d, struct sga_dev_sess *s, int accept, uint8_t *out,
                              size_t cap, size_t *len)
{
	struct sga_neg_accept_plain a3;
	uint8_t plain[64], key[SGA_AEAD_MAX_KEY_LEN];
	size_t plain_len;
	int rc;

	memset(&a3, 0, sizeof(a3));
	if (s->state != SGA_DEV_S_INVITED) {
		rc = -SGA_E_BAD_STATE;
		goto out;
	}
	a3.session_id = s->session_id;
	a3.accept = accept ? 1 : 0;
	if (accept)
		CHECK(sga_random_bytes(a3.k_t, sizeof(a3.k_t)) ? -SGA_E_CRYPTO : 0);
	CHECK(sga_neg_accept_plain_encode(&a3, plain, sizeof(plain), &plain_len));
	CHECK(sga_key_ctl(d->k_d, d->suite_init, key));
	CHECK(sga_seal_dev_env(SGA_MSG_NEG_ACCEPT, d->id, d->id_len, d->up_ctr + 1, d->suite_init,
	                       key, plain, plain_len, out, cap, len));
	d->up_ctr++;
	if (accept) {
		memcpy(s->k_t, a3.k_t, sizeof(s->k_t));
		CHECK(sga_key_kex(s->k_t, s->session_id, s->hop_suite, s->kex_key));
		s->state = SGA_DEV_S_KEX;
	} else {
		s->state = SGA_DEV_S_FAILED;
	}
out:
	sga_memzero(&a3, sizeof(a3));
	sga_memzero(plain, sizeof(plain));
	sga_memzero(key, sizeof(key));
	return rc;
}

int sga_dev_kex_contrib_make(const struct sga_dev *d, struct sga_dev_sess *s, uint8_t *plain,
                             size_t cap, size_t *plain_len)
{
	const struct sga_group_info *grp = d->grp;
	struct sga_kex_init_plain b1;
	uint8_t r[SGA_EXPONENT_LEN], N[SGA_GROUP_MAX_LEN], F[SGA_RSA_MAX_LEN], mac[SGA_MAC_LEN];
	uint8_t proof[SGA_PROOF_MAX], proof_len = 0, ctl[SGA_AEAD_MAX_KEY_LEN];
	size_t f_len = 0;
	int rc;

	CHECK(sga_err_from_crypto(sga_group_scalar_random(grp, s->R)));
	CHECK(sga_err_from_crypto(sga_group_scalar_random(grp, r)));
	CHECK(sga_kex_element(grp, NULL, s->R, N));
	CHECK(sga_kex_shared(grp, N, r, s->K));
	CHECK(sga_pke_seal(&d->tpk, SGA_PKE_TRAPDOOR, r, sizeof(r), F, sizeof(F), &f_len));
	CHECK(sga_kex_init_mac(grp, s->K, s->session_id, N, mac));
	CHECK(sga_kex_n_hash(grp, N, s->n_hash));
	CHECK(sga_key_ctl(d->k_d, d->suite_init, ctl));
	CHECK(sga_kex_proof_seal(d->suite_init, ctl, d->k_d, s->session_id, N, grp->len, proof,
	                         &proof_len));
	b1.n_len = (uint16_t)grp->len;
	b1.n = N;
	b1.proof_len = proof_len;
	b1.proof = proof;
	b1.f_len = (uint16_t)f_len;
	b1.f = F;
	b1.mac = mac;
	CHECK(sga_kex_init_plain_encode(&b1, plain, cap, plain_len));
out:
	sga_memzero(r, sizeof(r));
	sga_memzero(ctl, sizeof(ctl));
	return rc;
}

int sga_dev_create_kex_init(struct sga_dev *d, struct sga_dev_sess *s, uint8_t *out, size_t cap,
                            size_t *len)
{
	uint8_t plain[SGA_FRAME_MAX];
	size_t plain_len = 0;
	int rc;

	if (s->state != SGA_DEV_S_KEX)
		return -SGA_E_BAD_STATE;
	if (s->kex_made) {
		/* Retransmission: the same bytes, never new randomness under k_t. */
		if (s->kex_frame_len > cap)
			return -SGA_E_NOSPACE;
		memcpy(out, s->kex_frame, s->kex_frame_len);
		*len = s->kex_frame_len;
		return 0;
	}
	CHECK(sga_dev_kex_contrib_make(d, s, plain, sizeof(plain), &plain_len));
	CHECK(sga_seal_sess_env(SGA_MSG_KEX_INIT, s->session_id, s->role, s->hop_suite, s->kex_key,
	                        plain, plain_len, s->kex_frame, sizeof(s->kex_frame),
	                        &s->kex_frame_len));
	if (s->kex_frame_len > cap) {
		rc = -SGA_E_NOSPACE;
		goto out;
	}
	memcpy(out, s->kex_frame, s->kex_frame_len);
	*len = s->kex_frame_len;
	s->kex_made = 1;
out:
	if (rc && !s->kex_made) {
		sga_memzero(s->R, sizeof(s->R));
		sga_memzero(s->K, sizeof(s->K));
	}
	sga_memzero(plain, sizeof(plain));
	return rc;
}

int sga_dev_sess_derive(struct sga_dev_sess *s, const uint8_t *kisj, size_t kisj_len,
                        const uint8_t k_t[SGA_KEY_LEN], const struct sga_transcript *t)
{
	/* Zeroed: a suite's key may be shorter than the arrays, and the whole
	 * array is copied into the session. */
	uint8_t th[SGA_SHA256_LEN] = {0}, k_confirm[SGA_MAC_LEN] = {0};
	uint8_t confirm_tx[SGA_MAC_LEN] = {0}, confirm_rx[SGA_MAC_LEN] = {0};
	uint8_t e2e_tx[SGA_AEAD_MAX_KEY_LEN] = {0}, e2e_rx[SGA_AEAD_MAX_KEY_LEN] = {0};
	uint8_t hop_up[SGA_AEAD_MAX_KEY_LEN] = {0}, down_base[SGA_AEAD_MAX_KEY_LEN] = {0};
	const int init = s->role == SGA_ROLE_INITIATOR;
	struct sga_transcript tt = *t;
	int rc;

	/* The session's own negotiated values, never a caller's second copy. */
	tt.session_id = s->session_id;
	tt.suite = s->suite;
	tt.group = s->group;
	CHECK(sga_transcript_hash(&tt, th));
	CHECK(sga_key_e2e(kisj, kisj_len, th, s->suite, init ? SGA_E2E_I_TO_J : SGA_E2E_J_TO_I,
	                  e2e_tx));
	CHECK(sga_key_e2e(kisj, kisj_len, th, s->suite, init ? SGA_E2E_J_TO_I : SGA_E2E_I_TO_J,
	                  e2e_rx));
	CHECK(sga_key_confirm(kisj, kisj_len, th, k_confirm));
	CHECK(sga_confirm_mac(k_confirm, s->role, th, confirm_tx));
	CHECK(sga_confirm_mac(k_confirm, s->role ^ 1, th, confirm_rx));
	CHECK(sga_key_hop(k_t, s->session_id, s->hop_suite, SGA_DIR_UP, hop_up));
	CHECK(sga_key_hop(k_t, s->session_id, s->hop_suite, SGA_DIR_DOWN, down_base));
	/* Only now, so that a failure leaves the session's keys as they were. The
	 * hop-down key itself comes with the gateway's first frame (its epoch). */
	memcpy(s->e2e_tx_key, e2e_tx, sizeof(e2e_tx));
	memcpy(s->e2e_rx_key, e2e_rx, sizeof(e2e_rx));
	memcpy(s->confirm_tx, confirm_tx, sizeof(confirm_tx));
	memcpy(s->confirm_rx, confirm_rx, sizeof(confirm_rx));
	memcpy(s->hop_up, hop_up, sizeof(hop_up));
	memcpy(s->hop_down_base, down_base, sizeof(down_base));
	sga_memzero(s->hop_down, sizeof(s->hop_down));
	s->hop_epoch = 0;
	sga_memzero(&s->rk, sizeof(s->rk));
	memcpy(s->rk.transcript, th, sizeof(th)); /* a rekey's transcript chains it */
out:
	sga_memzero(th, sizeof(th));
	sga_memzero(k_confirm, sizeof(k_confirm));
	sga_memzero(confirm_tx, sizeof(confirm_tx));
	sga_memzero(confirm_rx, sizeof(confirm_rx));
	sga_memzero(e2e_tx, sizeof(e2e_tx));
	sga_memzero(e2e_rx, sizeof(e2e_rx));
	sga_memzero(hop_up, sizeof(hop_up));
	sga_memzero(down_base, sizeof(down_base));
	return rc;
}

int sga_dev_kex_reply_check(const struct sga_dev *d, const struct sga_dev_sess *s,
                            const uint8_t *plain, size_t plain_len, struct sga_kex_reply_plain *b5,
                            uint8_t *kisj)
{
	const struct sga_group_info *grp = d->grp;
	uint8_t mac[SGA_MAC_LEN];
	int rc;

	CHECK(sga_kex_reply_plain_decode(plain, plain_len, b5));
	if (b5->x_len != grp->len) {
		rc = -SGA_E_BAD_LENGTH;
		goto out;
	}
	if (!sga_group_element_ok(grp, b5->x)) {
		rc = -SGA_E_BAD_ELEMENT;
		goto out;
	}
	/* Gateway -> device authentication: only the holder of the trapdoor could
	 * recover r and so K = [r]N. */
	CHECK(sga_kex_reply_mac(grp, s->K, s->session_id, d->id, d->id_len, s->peer_id,
	                        s->peer_id_len, b5->x, b5->n_hash_peer, mac));
	if (!sga_ct_memeq(mac, b5->mac, SGA_MAC_LEN)) {
		rc = -SGA_E_AUTH;
		goto out;
	}
	/* B7: K_isj = [R]X = [R_i R_s R_j]G (g^(R_i R_s R_j) mod p in ffdhe). */
	CHECK(sga_kex_shared(grp, b5->x, s->R, kisj));
out:
	return rc;
}

int sga_dev_consume_kex_reply(struct sga_dev *d, struct sga_dev_sess *s, const uint8_t *frame,
                              size_t len)
{
	const struct sga_group_info *grp = d->grp;
	struct sga_env_sess env;
	struct sga_kex_reply_plain b5;
	uint8_t plain[SGA_FRAME_MAX], kisj[SGA_GROUP_MAX_LEN];
	struct sga_transcript t;
	const uint8_t self = s->role, peer = s->role ^ 1;
	size_t plain_len;
	int rc;

	if (s->state != SGA_DEV_S_KEX || !s->kex_made)
		return -SGA_E_BAD_STATE;
	CHECK(open_sess_env(s, SGA_MSG_KEX_REPLY, frame, len, &env, plain, sizeof(plain),
	                    &plain_len));
	if (env.session_id != s->session_id) {
		rc = -SGA_E_UNKNOWN_SESSION;
		goto out;
	}
	CHECK(sga_dev_kex_reply_check(d, s, plain, plain_len, &b5, kisj));
	/* The transcript (PROTOCOL.md 8.2): ids by role, not by who computes it. */
	memset(&t, 0, sizeof(t));
	t.id_g = d->pkg.id;
	t.id_g_len = d->pkg.id_len;
	t.id_i = self == SGA_ROLE_INITIATOR ? d->id : s->peer_id;
	t.id_i_len = self == SGA_ROLE_INITIATOR ? d->id_len : s->peer_id_len;
	t.id_j = self == SGA_ROLE_INITIATOR ? s->peer_id : d->id;
	t.id_j_len = self == SGA_ROLE_INITIATOR ? s->peer_id_len : d->id_len;
	t.prefs = s->prefs;
	t.n_pref = s->n_pref;
	t.n_hash[self] = s->n_hash;
	t.n_hash[peer] = b5.n_hash_peer;
	CHECK(sga_dev_sess_derive(s, kisj, grp->secret_len, s->k_t, &t));
	/* The exponent and the handshake keys have served; only traffic keys
	 * remain, and the kex key, which seals the session's end (SESSION_CLOSE
	 * and SESSION_CLOSED, PROTOCOL.md 7.14). */
	sga_memzero(s->R, sizeof(s->R));
	sga_memzero(s->K, sizeof(s->K));
	sga_memzero(s->k_t, sizeof(s->k_t));
	sga_memzero(s->kex_frame, sizeof(s->kex_frame));
	s->kex_frame_len = 0;
	s->hop_tx_seq = 0;
	s->e2e_tx_seq = 0;
	sga_replay_init(&s->hop_rx_win);
	sga_replay_init(&s->e2e_rx_win);
	s->confirm_sent = 0;
	s->peer_confirmed = 0;
	s->state = SGA_DEV_S_ESTABLISHED;
out:
	sga_memzero(plain, sizeof(plain));
	sga_memzero(kisj, sizeof(kisj));
	return rc;
}

/* ---- E2E data ------------------------------------------------------------ */

/* E2E nonce = dir(4, big-endian) | e2e_seq(8); aad = "SGA v1 e2e" | session_id | dir | e2e_seq. */
static void e2e_nonce_aad(uint64_t session_id, uint8_t dir, uint64_t seq,
                          uint8_t nonce[SGA_AEAD_NONCE_LEN], uint8_t aad[10 + 8 + 1 + 8])
{
	memset(nonce, 0, 4);
	nonce[3] = dir;
	sga_put_u64(nonce + 4, seq);
	memcpy(aad, "SGA v1 e2e", 10);
	sga_put_u64(aad + 10, session_id);
	aad[18] = dir;
	sga_put_u64(aad + 19, seq);
}

size_t sga_dev_data_max(const struct sga_dev_sess *s)
{
	const struct sga_suite_info *hop = sga_suite_get(s->hop_suite),
	                            *e2e = sga_suite_get(s->suite);
	size_t over;

	if (!hop || !e2e)
		return 0;
	/* The gateway re-seals the frame under the peer's hop suite, whose tag may
	 * be longer than ours (CCM8 here, GCM there): budget for the longest tag so
	 * the relayed frame still fits. */
	over = SGA_HDR_LEN + 8 + 1 + 8 + 8 + SGA_AEAD_MAX_TAG_LEN + 8 + e2e->tag_len;
	return SGA_FRAME_MAX - over;
}

/* Seal e2e_seq: data once confirmed; e2e_seq 0 is the key confirmation
 * (sga_dev_create_key_confirm), sealed by the same path before. */
static int data_seal(struct sga_dev_sess *s, uint64_t e2e_seq, const uint8_t *msg, size_t msg_len,
                     uint8_t *out, size_t cap, size_t *len)
{
	const struct sga_suite_info *e2e = sga_suite_get(s->suite);
	uint8_t inner[SGA_FRAME_MAX], nonce[SGA_AEAD_NONCE_LEN], aad[27], *e2e_ct;
	uint8_t dir = s->role == SGA_ROLE_INITIATOR ? SGA_E2E_I_TO_J : SGA_E2E_J_TO_I;
	size_t inner_len;
	int rc;

	if (!e2e || s->state != SGA_DEV_S_ESTABLISHED || (e2e_seq && !sga_dev_sess_confirmed(s)))
		return -SGA_E_BAD_STATE;
	if (msg_len > sga_dev_data_max(s))
		return -SGA_E_OVERSIZED;
	if (s->hop_tx_seq >= UINT64_MAX - 1)
		return -SGA_E_BAD_STATE; /* sequence space exhausted: a new session is needed */
	CHECK(sga_data_inner_encode(e2e_seq, msg_len + e2e->tag_len, inner, sizeof(inner), &e2e_ct,
	                            &inner_len));
	e2e_nonce_aad(s->session_id, dir, e2e_seq, nonce, aad);
	CHECK(sga_err_from_crypto(sga_aead_seal(s->suite, sga_dev_rekey_tx_key(s, e2e_seq), nonce,
	                                        aad, sizeof(aad), msg, msg_len, e2e_ct,
	                                        msg_len + e2e->tag_len)));
	CHECK(sga_seal_hop(SGA_MSG_DATA_UP, s->session_id, s->role, s->hop_epoch, s->hop_tx_seq,
	                   s->hop_suite, s->hop_up, inner, inner_len, out, cap, len));
	s->hop_tx_seq++;
out:
	return rc;
}

int sga_dev_data_seal_at(struct sga_dev_sess *s, uint64_t e2e_seq, const uint8_t *msg,
                         size_t msg_len, uint8_t *out, size_t cap, size_t *len)
{
	return data_seal(s, e2e_seq, msg, msg_len, out, cap, len);
}

int sga_dev_data_seal(struct sga_dev_sess *s, const uint8_t *msg, size_t msg_len, uint8_t *out,
                      size_t cap, size_t *len)
{
	int rc;

	/* Data only once confirmed; our confirm took e2e_seq 0, so data starts at 1
	 * (after a rekey, our confirmation of the new keys comes first, 7.15). */
	if (s->e2e_tx_seq >= UINT64_MAX - 1 || !sga_dev_sess_confirmed(s) ||
	    (s->rk.gen && !s->rk.confirm_sent))
		return -SGA_E_BAD_STATE;
	rc = data_seal(s, s->e2e_tx_seq, msg, msg_len, out, cap, len);
	if (!rc)
		s->e2e_tx_seq++;
	return rc;
}

int sga_dev_data_reseal(struct sga_dev_sess *s, uint64_t e2e_seq, const uint8_t *msg,
                        size_t msg_len, uint8_t *out, size_t cap, size_t *len)
{
	if (e2e_seq >= s->e2e_tx_seq)
		return -SGA_E_BAD_FIELD; /* never sent: sealing it here could reuse a nonce later */
	if (e2e_seq == 0 || (s->rk.gen && e2e_seq == s->rk.tx_from))
		return -SGA_E_BAD_FIELD; /* a confirm: sga_dev_create_key_confirm / _rekey_confirm */
	return data_seal(s, e2e_seq, msg, msg_len, out, cap, len);
}

int sga_dev_create_key_confirm(struct sga_dev_sess *s, uint8_t *out, size_t cap, size_t *len)
{
	int rc;

	if (s->state != SGA_DEV_S_ESTABLISHED)
		return -SGA_E_BAD_STATE;
	/* The first call takes e2e_seq 0; a repeat re-seals the same E2E bytes. */
	rc = data_seal(s, 0, s->confirm_tx, sizeof(s->confirm_tx), out, cap, len);
	if (rc)
		return rc;
	if (!s->confirm_sent) {
		s->confirm_sent = 1;
		s->e2e_tx_seq = 1;
	}
	return 0;
}

int sga_dev_delivered_seal(struct sga_dev_sess *s, uint64_t next_e2e_seq, uint8_t *out, size_t cap,
                           size_t *len)
{
	uint8_t plain[8];
	int rc;

	if (s->state != SGA_DEV_S_ESTABLISHED)
		return -SGA_E_BAD_STATE;
	if (s->hop_tx_seq >= UINT64_MAX - 1)
		return -SGA_E_BAD_STATE;
	sga_put_u64(plain, next_e2e_seq);
	rc = sga_seal_hop(SGA_MSG_DATA_DELIVERED, s->session_id, s->role, s->hop_epoch,
	                  s->hop_tx_seq, s->hop_suite, s->hop_up, plain, sizeof(plain), out, cap,
	                  len);
	if (!rc)
		s->hop_tx_seq++;
	return rc;
}

/* What hop_open_down found, for hop_accept once the whole frame is accepted:
 * the frame's seq and epoch and, for an epoch other than the adopted one, the
 * key it authenticated under. Wiped by hop_rx_done. */
struct hop_rx {
	uint64_t seq;
	uint64_t epoch;
	int new_epoch;
	int prev_gen; /* under the previous generation's epoch, still in overlap (7.15) */
	uint8_t key[SGA_AEAD_MAX_KEY_LEN];
};

static void hop_rx_done(struct hop_rx *rx)
{
	sga_memzero(rx, sizeof(*rx));
}

/*
 * Open a hop frame of `type` sent down to this device; inner receives the
 * plaintext. Under the adopted epoch: its key and window. Under another
 * (PROTOCOL.md 9.3): only if seq lies above every hop seq accepted so far
 * (the gateway starts each epoch above anything it sent before, so a frame of
 * an older epoch never does: no one can force the device back), and only if it
 * authenticates under the key derived for that epoch, which rx carries to
 * hop_accept. A forged epoch costs one derivation and one failed open.
 */
static int hop_open_down(struct sga_dev_sess *s, uint8_t type, const uint8_t *frame, size_t len,
                         uint8_t *inner, size_t cap, size_t *inner_len, struct hop_rx *rx)
{
	struct sga_env_hop env;
	uint8_t nonce[SGA_AEAD_NONCE_LEN];
	const uint8_t *key = s->hop_down;
	int rc;

	memset(rx, 0, sizeof(*rx));
	if (s->state != SGA_DEV_S_ESTABLISHED)
		return -SGA_E_BAD_STATE;
	rc = sga_env_hop_decode(frame, len, &env);
	if (rc)
		return rc;
	if (env.type != type)
		return -SGA_E_BAD_TYPE;
	if (env.session_id != s->session_id)
		return -SGA_E_UNKNOWN_SESSION;
	if (env.role != s->role)
		return -SGA_E_BAD_FIELD;
	if (env.epoch == s->hop_epoch) {
		rc = sga_replay_check(&s->hop_rx_win, env.seq);
		if (rc)
			return rc;
	} else if (s->rk.prev_down_live && env.epoch == s->rk.prev_epoch) {
		/* In flight from before the rekey: the old key and window. */
		rc = sga_replay_check(&s->rk.prev_win, env.seq);
		if (rc)
			return rc;
		rx->prev_gen = 1;
		key = s->rk.prev_down;
	} else {
		if (env.seq == UINT64_MAX || env.seq < s->hop_rx_win.next)
			return -SGA_E_REPLAY;
		rc = sga_key_hop_epoch(s->hop_down_base, env.epoch, s->hop_suite, rx->key);
		if (rc)
			return rc;
		rx->new_epoch = 1;
		key = rx->key;
	}
	sga_hop_nonce(env.seq, nonce);
	rc = sga_open_env(s->hop_suite, key, nonce, env.aad, env.aad_len, env.ct, env.ct_len, inner,
	                  cap, inner_len);
	if (rc) {
		hop_rx_done(rx);
		return rc;
	}
	rx->seq = env.seq;
	rx->epoch = env.epoch;
	return 0;
}

/* The frame rx describes is accepted: adopt its epoch if new (its key, and a
 * window of its own), record its seq. */
static void hop_accept(struct sga_dev_sess *s, struct hop_rx *rx)
{
	if (rx->prev_gen) {
		sga_replay_update(&s->rk.prev_win, rx->seq);
		hop_rx_done(rx);
		return;
	}
	if (rx->new_epoch) {
		memcpy(s->hop_down, rx->key, sizeof(s->hop_down));
		s->hop_epoch = rx->epoch;
		sga_replay_init(&s->hop_rx_win);
	}
	sga_replay_update(&s->hop_rx_win, rx->seq);
	hop_rx_done(rx);
}

int sga_dev_ack_open(struct sga_dev_sess *s, const uint8_t *frame, size_t len,
                     struct sga_data_ack_plain *ack)
{
	/* Room for any frame's plaintext, so a longer one is told apart as
	 * -TRAILING rather than refused by the open (-NOSPACE). */
	uint8_t inner[SGA_FRAME_MAX];
	size_t inner_len = 0;
	struct hop_rx rx;
	int rc =
	    hop_open_down(s, SGA_MSG_DATA_ACK, frame, len, inner, sizeof(inner), &inner_len, &rx);

	if (!rc)
		rc = sga_data_ack_plain_decode(inner, inner_len, ack);
	/* Authentic and well formed: only now does the hop window (or epoch) move. */
	if (!rc)
		hop_accept(s, &rx);
	hop_rx_done(&rx);
	sga_memzero(inner, inner_len < sizeof(inner) ? inner_len : sizeof(inner));
	return rc;
}

int sga_dev_skip_open(struct sga_dev_sess *s, const uint8_t *frame, size_t len,
                      uint64_t *next_e2e_seq)
{
	uint8_t inner[16];
	size_t inner_len;
	struct hop_rx rx;
	int rc =
	    hop_open_down(s, SGA_MSG_DATA_SKIP, frame, len, inner, sizeof(inner), &inner_len, &rx);

	if (rc)
		return rc;
	if (inner_len != 8) {
		hop_rx_done(&rx);
		return inner_len < 8 ? -SGA_E_TRUNCATED : -SGA_E_TRAILING;
	}
	hop_accept(s, &rx);
	*next_e2e_seq = sga_get_u64(inner);
	return 0;
}

int sga_dev_data_open(struct sga_dev_sess *s, const uint8_t *frame, size_t len, uint8_t *msg,
                      size_t cap, size_t *msg_len)
{
	struct sga_data_inner in;
	uint8_t inner[SGA_FRAME_MAX], nonce[SGA_AEAD_NONCE_LEN], aad[27];
	uint8_t dir = s->role == SGA_ROLE_INITIATOR ? SGA_E2E_J_TO_I : SGA_E2E_I_TO_J;
	size_t inner_len;
	struct hop_rx rx;
	int rc;

	if (!s->peer_confirmed)
		return -SGA_E_BAD_STATE; /* the peer's confirm first: sga_dev_consume_key_confirm */
	CHECK(
	    hop_open_down(s, SGA_MSG_DATA_DOWN, frame, len, inner, sizeof(inner), &inner_len, &rx));
	CHECK(sga_data_inner_decode(inner, inner_len, &in));
	rc = sga_replay_check(&s->e2e_rx_win, in.e2e_seq);
	if (rc) {
		/* An authentic hop frame carrying a message we already have (the sender
		 * retransmitted): consume the hop seq, report the duplicate. */
		hop_accept(s, &rx);
		goto out;
	}
	e2e_nonce_aad(s->session_id, dir, in.e2e_seq, nonce, aad);
	rc = sga_dev_rekey_open_e2e(s, in.e2e_seq, nonce, aad, sizeof(aad), in.e2e_ct,
	                            in.e2e_ct_len, msg, cap, msg_len);
	if (rc < 0)
		goto out;
	/* Both layers authenticated: only now do the windows move. rc may be
	 * SGA_DEV_REKEY_CONFIRMED: the peer's confirmation of a rekey. */
	hop_accept(s, &rx);
	sga_replay_update(&s->e2e_rx_win, in.e2e_seq);
	s->e2e_rx_last = in.e2e_seq;
out:
	hop_rx_done(&rx);
	sga_memzero(inner, sizeof(inner));
	return rc;
}

int sga_dev_consume_key_confirm(struct sga_dev_sess *s, const uint8_t *frame, size_t len)
{
	struct sga_data_inner in;
	/* got holds a confirmation only: anything longer does not open into it
	 * (-NOSPACE), which is a failed confirmation like any other; 1.4 KB less
	 * stack than a frame-sized buffer on the deepest path of a device. */
	uint8_t inner[SGA_FRAME_MAX], nonce[SGA_AEAD_NONCE_LEN], aad[27], got[SGA_MAC_LEN];
	uint8_t dir = s->role == SGA_ROLE_INITIATOR ? SGA_E2E_J_TO_I : SGA_E2E_I_TO_J;
	size_t inner_len, got_len = 0;
	struct hop_rx rx;
	int rc;

	if (s->state != SGA_DEV_S_ESTABLISHED || s->peer_confirmed)
		return -SGA_E_BAD_STATE;
	/* The hop layer authenticates the gateway: what fails from here on came
	 * from it (or through it from the peer), not from the network. */
	CHECK(
	    hop_open_down(s, SGA_MSG_DATA_DOWN, frame, len, inner, sizeof(inner), &inner_len, &rx));
	rc = sga_data_inner_decode(inner, inner_len, &in);
	if (!rc && in.e2e_seq != 0)
		rc = -SGA_E_BAD_STATE; /* a message that overtook the confirm: dropped */
	if (rc)
		goto out;
	e2e_nonce_aad(s->session_id, dir, 0, nonce, aad);
	rc = sga_open_env(s->suite, s->e2e_rx_key, nonce, aad, sizeof(aad), in.e2e_ct,
	                  in.e2e_ct_len, got, sizeof(got), &got_len);
	if (rc || got_len != SGA_MAC_LEN || !sga_ct_memeq(got, s->confirm_rx, SGA_MAC_LEN)) {
		/* The peer's key is not ours: different transcript or K_isj. */
		rc = -SGA_E_KEY_CONFIRM;
		s->state = SGA_DEV_S_FAILED;
		goto out;
	}
	hop_accept(s, &rx); /* the window (and a new epoch) move only now */
	sga_replay_update(&s->e2e_rx_win, 0);
	s->e2e_rx_last = 0;
	s->peer_confirmed = 1;
	sga_memzero(s->confirm_rx, sizeof(s->confirm_rx));
out:
	hop_rx_done(&rx);
	sga_memzero(inner, sizeof(inner));
	sga_memzero(got, sizeof(got));
	return rc;
}

void sga_dev_sess_wipe(struct sga_dev_sess *s)
{
	sga_memzero(s, sizeof(*s));
}

int sga_dev_peek(const uint8_t *frame, size_t len, uint8_t *type, uint64_t *session_id)
{
	struct sga_hdr h;
	struct sga_env_sess es;
	struct sga_env_hop eh;
	int rc = sga_hdr_parse(frame, len, &h);

	if (rc)
		return rc;
	*type = h.type;
	*session_id = 0;
	switch (h.type) {
	case SGA_MSG_NEG_RESULT:
	case SGA_MSG_KEX_REPLY:
	case SGA_MSG_SESSION_CLOSED:
	case SGA_MSG_REKEY_NOTICE:
	case SGA_MSG_REKEY_REPLY:
		rc = sga_env_sess_decode(frame, len, &es);
		if (!rc)
			*session_id = es.session_id;
		return rc;
	case SGA_MSG_DATA_DOWN:
	case SGA_MSG_DATA_ACK:
	case SGA_MSG_DATA_SKIP:
		rc = sga_env_hop_decode(frame, len, &eh);
		if (!rc)
			*session_id = eh.session_id;
		return rc;
	default:
		return 0;
	}
}
