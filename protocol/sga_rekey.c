/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_rekey.c - session rekey (sga_rekey.h, PROTOCOL.md 7.15): its key
 * schedule, codec, and both sides' state machine steps.
 */
#include <string.h>

#include "sga_check.h"
#include "sga_cursor.h"
#include "sga_kex.h"
#include "sga_rekey.h"

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- key schedule --------------------------------------------------------------- */

static int key_len_of(uint8_t suite, size_t *len)
{
	const struct sga_suite_info *s = sga_suite_get(suite);

	if (!s)
		return -SGA_E_BAD_FIELD;
	*len = s->key_len;
	return 0;
}

/* HKDF(ikm, salt, label | suite) to the suite's key length. */
static int derive(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
                  const char *label, uint8_t suite, uint8_t *out)
{
	uint8_t info[40];
	size_t n = strlen(label), kl;
	int rc = key_len_of(suite, &kl);

	if (rc)
		return rc;
	if (n + 1 > sizeof(info))
		return -SGA_E_INTERNAL;
	memcpy(info, label, n);
	info[n++] = suite;
	return sga_err_from_crypto(sga_hkdf_sha256(ikm, ikm_len, salt, salt_len, info, n, out, kl));
}

int sga_key_sess_rekey(const uint8_t k_d[SGA_KEY_LEN], uint64_t session_id, uint8_t suite,
                       uint8_t *out)
{
	uint8_t salt[8];

	sga_put_u64(salt, session_id);
	return derive(k_d, SGA_KEY_LEN, salt, sizeof(salt), "SGA v1 sess rekey", suite, out);
}

/* salt = session_id | u32(gen) for gen > 0; 12 bytes. */
static void gen_salt(uint64_t session_id, uint32_t gen, uint8_t salt[12])
{
	sga_put_u64(salt, session_id);
	put_u32(salt + 8, gen);
}

int sga_key_kex_gen(const uint8_t k_t[SGA_KEY_LEN], uint64_t session_id, uint32_t gen,
                    uint8_t suite, uint8_t *out)
{
	uint8_t salt[12];

	if (gen == 0)
		return sga_key_kex(k_t, session_id, suite, out);
	gen_salt(session_id, gen, salt);
	return derive(k_t, SGA_KEY_LEN, salt, sizeof(salt), "SGA v1 kex", suite, out);
}

int sga_key_hop_gen(const uint8_t k_t[SGA_KEY_LEN], uint64_t session_id, uint32_t gen,
                    uint8_t suite, enum sga_dir dir, uint8_t *out)
{
	uint8_t salt[12];

	if (gen == 0)
		return sga_key_hop(k_t, session_id, suite, dir, out);
	gen_salt(session_id, gen, salt);
	return derive(k_t, SGA_KEY_LEN, salt, sizeof(salt),
	              dir == SGA_DIR_UP ? "SGA v1 hop up" : "SGA v1 hop down", suite, out);
}

int sga_rekey_transcript(const uint8_t prev[SGA_SHA256_LEN], uint32_t gen,
                         const uint8_t n_hash_i[SGA_SHA256_LEN],
                         const uint8_t n_hash_j[SGA_SHA256_LEN], uint8_t out[SGA_SHA256_LEN])
{
	static const char label[] = "SGA v1 rekey transcript";
	uint8_t g[4];
	struct sga_buf parts[] = {
	    {label, sizeof(label) - 1}, {prev, SGA_SHA256_LEN},     {g, 4},
	    {n_hash_i, SGA_SHA256_LEN}, {n_hash_j, SGA_SHA256_LEN},
	};

	put_u32(g, gen);
	return sga_err_from_crypto(sga_sha256(parts, sizeof(parts) / sizeof(parts[0]), out));
}

int sga_hop_member_init_gen(struct sga_hop_member *m, const uint8_t k_t[SGA_KEY_LEN], uint64_t sid,
                            uint32_t gen, uint8_t suite, uint64_t epoch)
{
	uint8_t base[SGA_AEAD_MAX_KEY_LEN];
	int rc;

	if (gen == 0)
		return epoch ? sga_hop_member_init_epoch(m, k_t, sid, suite, epoch)
		             : sga_hop_member_init(m, k_t, sid, suite);
	memset(m, 0, sizeof(*m));
	if (!epoch)
		CHECK(sga_hop_epoch_new(&epoch));
	m->suite = suite;
	m->epoch = epoch;
	sga_replay_init(&m->rx);
	CHECK(sga_key_hop_gen(k_t, sid, gen, suite, SGA_DIR_UP, m->key_up));
	CHECK(sga_key_hop_gen(k_t, sid, gen, suite, SGA_DIR_DOWN, base));
	CHECK(sga_key_hop_epoch(base, epoch, suite, m->key_down));
out:
	sga_memzero(base, sizeof(base));
	if (rc)
		sga_memzero(m, sizeof(*m));
	return rc;
}

/* ---- codec ------------------------------------------------------------------------ */

/* The u32 generation through the cursor (two u16 reads). */
static uint32_t rd_gen(struct sga_rd *r)
{
	uint32_t hi = sga_rd_u16(r);

	return hi << 16 | sga_rd_u16(r);
}

int sga_rekey_init_plain_decode(const uint8_t *p, size_t len, struct sga_rekey_init_plain *m)
{
	struct sga_rd r;

	memset(m, 0, sizeof(m[0]));
	sga_rd_init(&r, p, len);
	m->gen = rd_gen(&r);
	m->ctr = sga_rd_u64(&r);
	m->k_t = sga_rd_bytes(&r, SGA_KEY_LEN);
	if (r.err) {
		memset(m, 0, sizeof(m[0]));
		return r.err;
	}
	if (m->gen == 0) {
		memset(m, 0, sizeof(m[0]));
		return -SGA_E_BAD_FIELD;
	}
	m->kex_len = sga_rd_left(&r); /* the KEX_INIT body: its own decoder checks it */
	m->kex = sga_rd_bytes(&r, m->kex_len);
	return 0;
}

int sga_rekey_init_plain_encode(const struct sga_rekey_init_plain *m, uint8_t *out, size_t cap,
                                size_t *len)
{
	size_t n = 12 + SGA_KEY_LEN + m->kex_len;

	if (m->gen == 0)
		return -SGA_E_BAD_FIELD;
	if (n > cap)
		return -SGA_E_NOSPACE;
	put_u32(out, m->gen);
	sga_put_u64(out + 4, m->ctr);
	memcpy(out + 12, m->k_t, SGA_KEY_LEN);
	memcpy(out + 12 + SGA_KEY_LEN, m->kex, m->kex_len);
	*len = n;
	return 0;
}

int sga_rekey_notice_plain_decode(const uint8_t *p, size_t len, uint32_t *gen)
{
	struct sga_rd r;
	uint32_t g;

	*gen = 0;
	sga_rd_init(&r, p, len);
	g = rd_gen(&r);
	if (r.err)
		return r.err;
	if (sga_rd_left(&r))
		return -SGA_E_TRAILING;
	if (g == 0)
		return -SGA_E_BAD_FIELD;
	*gen = g;
	return 0;
}

int sga_rekey_reply_plain_decode(const uint8_t *p, size_t len, struct sga_rekey_reply_plain *m)
{
	struct sga_rd r;

	memset(m, 0, sizeof(m[0]));
	sga_rd_init(&r, p, len);
	m->gen = rd_gen(&r);
	m->epoch = sga_rd_u64(&r);
	if (r.err || m->gen == 0 || m->epoch == 0) {
		memset(m, 0, sizeof(m[0]));
		return r.err ? r.err : -SGA_E_BAD_FIELD;
	}
	m->kex_len = sga_rd_left(&r); /* the KEX_REPLY body: its own decoder checks it */
	m->kex = sga_rd_bytes(&r, m->kex_len);
	return 0;
}

int sga_rekey_reply_plain_encode(const struct sga_rekey_reply_plain *m, uint8_t *out, size_t cap,
                                 size_t *len)
{
	if (m->gen == 0 || m->epoch == 0)
		return -SGA_E_BAD_FIELD;
	if (12 + m->kex_len > cap)
		return -SGA_E_NOSPACE;
	put_u32(out, m->gen);
	sga_put_u64(out + 4, m->epoch);
	memcpy(out + 12, m->kex, m->kex_len);
	*len = 12 + m->kex_len;
	return 0;
}

/* ---- device ------------------------------------------------------------------------- */

static int gen_confirmed(const struct sga_dev_sess *s)
{
	return s->rk.gen == 0 ? sga_dev_sess_confirmed(s)
	                      : s->state == SGA_DEV_S_ESTABLISHED && s->rk.confirm_sent &&
	                            s->rk.peer_confirmed;
}

int sga_dev_rekey_idle(const struct sga_dev_sess *s)
{
	return gen_confirmed(s) && !s->rk.pending && !s->rk.prev_down_live && !s->rk.prev_tx_live &&
	       !s->rk.prev_rx_live && s->rk.gen < UINT32_MAX;
}

/* Open a session envelope of `type` for this device under key. */
static int open_env(const struct sga_dev_sess *s, uint8_t type, const uint8_t *key,
                    const struct sga_env_sess *env, uint8_t *plain, size_t cap, size_t *plain_len)
{
	if (env->type != type)
		return -SGA_E_BAD_TYPE;
	if (env->session_id != s->session_id)
		return -SGA_E_UNKNOWN_SESSION;
	if (env->role != s->role)
		return -SGA_E_BAD_FIELD;
	return sga_open_env(s->hop_suite, key, env->nonce, env->aad, env->aad_len, env->ct,
	                    env->ct_len, plain, cap, plain_len);
}

int sga_dev_create_rekey_init(struct sga_dev *d, struct sga_dev_sess *s, uint8_t *out, size_t cap,
                              size_t *len)
{
	struct sga_rekey_init_plain ri;
	uint8_t key[SGA_AEAD_MAX_KEY_LEN], kex[SGA_FRAME_MAX], plain[SGA_FRAME_MAX];
	size_t kex_len = 0, plain_len = 0;
	int rc;

	if (s->rk.pending) {
		/* Retransmission: the same bytes (the counter is spent; G knows them). */
		if (s->kex_frame_len > cap)
			return -SGA_E_NOSPACE;
		memcpy(out, s->kex_frame, s->kex_frame_len);
		*len = s->kex_frame_len;
		return 0;
	}
	if (!sga_dev_rekey_idle(s) || !d->registered || d->up_ctr >= UINT64_MAX - 1)
		return -SGA_E_BAD_STATE;
	CHECK(sga_err_from_crypto(sga_random_bytes(s->k_t, sizeof(s->k_t))));
	CHECK(sga_dev_kex_contrib_make(d, s, kex, sizeof(kex), &kex_len));
	ri.gen = s->rk.gen + 1;
	ri.ctr = d->up_ctr + 1;
	ri.k_t = s->k_t;
	ri.kex = kex;
	ri.kex_len = kex_len;
	CHECK(sga_rekey_init_plain_encode(&ri, plain, sizeof(plain), &plain_len));
	CHECK(sga_key_sess_rekey(d->k_d, s->session_id, d->suite_init, key));
	CHECK(sga_seal_sess_env(SGA_MSG_REKEY_INIT, s->session_id, s->role, d->suite_init, key,
	                        plain, plain_len, s->kex_frame, sizeof(s->kex_frame),
	                        &s->kex_frame_len));
	if (s->kex_frame_len > cap) {
		rc = -SGA_E_NOSPACE;
		goto out;
	}
	memcpy(out, s->kex_frame, s->kex_frame_len);
	*len = s->kex_frame_len;
	d->up_ctr = ri.ctr;
	s->rk.pending = 1;
out:
	if (rc) {
		sga_memzero(s->k_t, sizeof(s->k_t));
		sga_memzero(s->R, sizeof(s->R));
		sga_memzero(s->K, sizeof(s->K));
		sga_memzero(s->kex_frame, sizeof(s->kex_frame));
		s->kex_frame_len = 0;
	}
	sga_memzero(key, sizeof(key));
	sga_memzero(kex, sizeof(kex));
	sga_memzero(plain, sizeof(plain));
	return rc;
}

int sga_dev_consume_rekey_notice(const struct sga_dev *d, const struct sga_dev_sess *s,
                                 const uint8_t *frame, size_t len, uint32_t *gen)
{
	struct sga_env_sess env;
	uint8_t key[SGA_AEAD_MAX_KEY_LEN], plain[16];
	size_t plain_len = 0;
	int rc;

	*gen = 0;
	if (s->state != SGA_DEV_S_ESTABLISHED)
		return -SGA_E_BAD_STATE;
	CHECK(sga_env_sess_decode(frame, len, &env));
	CHECK(sga_key_sess_rekey(d->k_d, s->session_id, d->suite_init, key));
	CHECK(open_env(s, SGA_MSG_REKEY_NOTICE, key, &env, plain, sizeof(plain), &plain_len));
	CHECK(sga_rekey_notice_plain_decode(plain, plain_len, gen));
	if (*gen <= s->rk.gen)
		rc = -SGA_E_REPLAY; /* a generation we have: an old notice */
	else if (*gen != s->rk.gen + 1)
		rc = -SGA_E_BAD_FIELD;
out:
	sga_memzero(key, sizeof(key));
	return rc;
}

int sga_dev_consume_rekey_reply(struct sga_dev *d, struct sga_dev_sess *s, const uint8_t *frame,
                                size_t len)
{
	const struct sga_group_info *grp = d->grp;
	const uint8_t self = s->role, peer = s->role ^ 1;
	const uint32_t gen = s->rk.gen + 1;
	const int init = self == SGA_ROLE_INITIATOR;
	struct sga_env_sess env;
	struct sga_rekey_reply_plain rr;
	struct sga_kex_reply_plain b5;
	uint8_t key[SGA_AEAD_MAX_KEY_LEN], plain[SGA_FRAME_MAX];
	uint8_t kisj[SGA_GROUP_MAX_LEN], th[SGA_SHA256_LEN], k_confirm[SGA_MAC_LEN];
	uint8_t confirm_tx[SGA_MAC_LEN], confirm_rx[SGA_MAC_LEN];
	uint8_t e2e_tx[SGA_AEAD_MAX_KEY_LEN] = {0}, e2e_rx[SGA_AEAD_MAX_KEY_LEN] = {0};
	uint8_t hop_up[SGA_AEAD_MAX_KEY_LEN] = {0}, base[SGA_AEAD_MAX_KEY_LEN] = {0};
	uint8_t down[SGA_AEAD_MAX_KEY_LEN] = {0};
	const uint8_t *n_hash_i, *n_hash_j;
	size_t plain_len = 0;
	int rc;

	if (s->state != SGA_DEV_S_ESTABLISHED || !s->rk.pending)
		return -SGA_E_BAD_STATE;
	CHECK(sga_env_sess_decode(frame, len, &env));
	CHECK(sga_key_kex_gen(s->k_t, s->session_id, gen, s->hop_suite, key));
	CHECK(open_env(s, SGA_MSG_REKEY_REPLY, key, &env, plain, sizeof(plain), &plain_len));
	CHECK(sga_rekey_reply_plain_decode(plain, plain_len, &rr));
	if (rr.gen != gen) {
		rc = -SGA_E_BAD_FIELD;
		goto out;
	}
	CHECK(sga_dev_kex_reply_check(d, s, rr.kex, rr.kex_len, &b5, kisj));
	n_hash_i = init ? s->n_hash : b5.n_hash_peer;
	n_hash_j = init ? b5.n_hash_peer : s->n_hash;
	CHECK(sga_rekey_transcript(s->rk.transcript, gen, n_hash_i, n_hash_j, th));
	CHECK(sga_key_e2e(kisj, grp->secret_len, th, s->suite,
	                  init ? SGA_E2E_I_TO_J : SGA_E2E_J_TO_I, e2e_tx));
	CHECK(sga_key_e2e(kisj, grp->secret_len, th, s->suite,
	                  init ? SGA_E2E_J_TO_I : SGA_E2E_I_TO_J, e2e_rx));
	CHECK(sga_key_confirm(kisj, grp->secret_len, th, k_confirm));
	CHECK(sga_confirm_mac(k_confirm, self, th, confirm_tx));
	CHECK(sga_confirm_mac(k_confirm, peer, th, confirm_rx));
	CHECK(sga_key_hop_gen(s->k_t, s->session_id, gen, s->hop_suite, SGA_DIR_UP, hop_up));
	CHECK(sga_key_hop_gen(s->k_t, s->session_id, gen, s->hop_suite, SGA_DIR_DOWN, base));
	CHECK(sga_key_hop_epoch(base, rr.epoch, s->hop_suite, down));

	/* Commit. The previous generation stays for what is in flight: the
	 * hop-down key of the epoch we had adopted, the E2E keys below the
	 * boundary of each direction (PROTOCOL.md 7.15, "Overlap"). */
	if (s->hop_epoch) {
		memcpy(s->rk.prev_down, s->hop_down, sizeof(s->rk.prev_down));
		s->rk.prev_epoch = s->hop_epoch;
		s->rk.prev_win = s->hop_rx_win;
		s->rk.prev_down_live = 1;
	}
	memcpy(s->rk.prev_e2e_tx, s->e2e_tx_key, sizeof(s->rk.prev_e2e_tx));
	memcpy(s->rk.prev_e2e_rx, s->e2e_rx_key, sizeof(s->rk.prev_e2e_rx));
	s->rk.prev_tx_live = 1;
	s->rk.prev_rx_live = 1;
	s->rk.tx_from = s->e2e_tx_seq;
	s->rk.rx_from = UINT64_MAX;
	memcpy(s->e2e_tx_key, e2e_tx, sizeof(e2e_tx));
	memcpy(s->e2e_rx_key, e2e_rx, sizeof(e2e_rx));
	memcpy(s->hop_up, hop_up, sizeof(hop_up));
	memcpy(s->hop_down_base, base, sizeof(base));
	memcpy(s->hop_down, down, sizeof(down));
	s->hop_epoch = rr.epoch;
	sga_replay_init(&s->hop_rx_win);
	memcpy(s->confirm_tx, confirm_tx, sizeof(confirm_tx));
	memcpy(s->rk.confirm_rx, confirm_rx, sizeof(confirm_rx));
	memcpy(s->rk.transcript, th, sizeof(th));
	/* SESSION_CLOSE and SESSION_CLOSED (7.14) go under the kex key of the
	 * current generation: this reply's. */
	memcpy(s->kex_key, key, sizeof(s->kex_key));
	s->rk.gen = gen;
	s->rk.pending = 0;
	s->rk.confirm_sent = 0;
	s->rk.peer_confirmed = 0;
	sga_memzero(s->R, sizeof(s->R));
	sga_memzero(s->K, sizeof(s->K));
	sga_memzero(s->k_t, sizeof(s->k_t));
	sga_memzero(s->kex_frame, sizeof(s->kex_frame));
	s->kex_frame_len = 0;
	(void)d;
out:
	sga_memzero(key, sizeof(key));
	sga_memzero(plain, sizeof(plain));
	sga_memzero(kisj, sizeof(kisj));
	sga_memzero(th, sizeof(th));
	sga_memzero(k_confirm, sizeof(k_confirm));
	sga_memzero(confirm_tx, sizeof(confirm_tx));
	sga_memzero(confirm_rx, sizeof(confirm_rx));
	sga_memzero(e2e_tx, sizeof(e2e_tx));
	sga_memzero(e2e_rx, sizeof(e2e_rx));
	sga_memzero(hop_up, sizeof(hop_up));
	sga_memzero(base, sizeof(base));
	sga_memzero(down, sizeof(down));
	return rc;
}

int sga_dev_create_rekey_confirm(struct sga_dev_sess *s, uint8_t *out, size_t cap, size_t *len)
{
	int rc;

	if (s->state != SGA_DEV_S_ESTABLISHED || s->rk.gen == 0)
		return -SGA_E_BAD_STATE;
	if (!s->rk.confirm_sent && s->e2e_tx_seq != s->rk.tx_from)
		return -SGA_E_INTERNAL; /* a message took the confirmation's e2e_seq */
	rc = sga_dev_data_seal_at(s, s->rk.tx_from, s->confirm_tx, sizeof(s->confirm_tx), out, cap,
	                          len);
	if (rc)
		return rc;
	if (!s->rk.confirm_sent) {
		s->rk.confirm_sent = 1;
		s->e2e_tx_seq = s->rk.tx_from + 1;
	}
	return 0;
}

void sga_dev_rekey_abandon(struct sga_dev_sess *s)
{
	if (!s->rk.pending)
		return;
	sga_memzero(s->k_t, sizeof(s->k_t));
	sga_memzero(s->R, sizeof(s->R));
	sga_memzero(s->K, sizeof(s->K));
	sga_memzero(s->kex_frame, sizeof(s->kex_frame));
	s->kex_frame_len = 0;
	s->rk.pending = 0;
}

void sga_dev_rekey_settle(struct sga_dev_sess *s, uint64_t tx_oldest, uint64_t rx_next)
{
	if (s->rk.prev_tx_live && s->rk.confirm_sent && tx_oldest > s->rk.tx_from) {
		sga_memzero(s->rk.prev_e2e_tx, sizeof(s->rk.prev_e2e_tx));
		s->rk.prev_tx_live = 0;
	}
	if (s->rk.prev_rx_live && s->rk.rx_from != UINT64_MAX && rx_next > s->rk.rx_from) {
		sga_memzero(s->rk.prev_e2e_rx, sizeof(s->rk.prev_e2e_rx));
		s->rk.prev_rx_live = 0;
	}
	/* The old epoch's hop-down key lasts as long as the E2E overlap: G sends
	 * nothing under it after its first frame of the new generation, but a
	 * reordering link may still bring one (its own window refuses repeats). */
	if (s->rk.prev_down_live && !s->rk.prev_tx_live && !s->rk.prev_rx_live) {
		sga_memzero(s->rk.prev_down, sizeof(s->rk.prev_down));
		sga_memzero(&s->rk.prev_win, sizeof(s->rk.prev_win));
		s->rk.prev_down_live = 0;
	}
}

const uint8_t *sga_dev_rekey_tx_key(const struct sga_dev_sess *s, uint64_t e2e_seq)
{
	return s->rk.prev_tx_live && e2e_seq < s->rk.tx_from ? s->rk.prev_e2e_tx : s->e2e_tx_key;
}

int sga_dev_rekey_open_e2e(struct sga_dev_sess *s, uint64_t e2e_seq, const uint8_t *nonce,
                           const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                           uint8_t *msg, size_t cap, size_t *msg_len)
{
	const int boundary_known = s->rk.rx_from != UINT64_MAX;
	int rc;

	if (s->rk.prev_rx_live && (!boundary_known || e2e_seq < s->rk.rx_from)) {
		rc = sga_open_env(s->suite, s->rk.prev_e2e_rx, nonce, aad, aad_len, ct, ct_len, msg,
		                  cap, msg_len);
		if (rc == 0 || boundary_known)
			return rc;
	}
	rc = sga_open_env(s->suite, s->e2e_rx_key, nonce, aad, aad_len, ct, ct_len, msg, cap,
	                  msg_len);
	if (rc || s->rk.gen == 0 || s->rk.peer_confirmed)
		return rc;
	/* Under the new keys before the peer's confirmation was seen: either that
	 * confirmation (32 bytes, the value we expect) or a message sealed after
	 * it that overtook it (delivered: it opened, so the keys agree). */
	if (*msg_len == SGA_MAC_LEN && sga_ct_memeq(msg, s->rk.confirm_rx, SGA_MAC_LEN)) {
		sga_memzero(msg, SGA_MAC_LEN);
		sga_memzero(s->rk.confirm_rx, sizeof(s->rk.confirm_rx));
		*msg_len = 0;
		s->rk.rx_from = e2e_seq;
		s->rk.peer_confirmed = 1;
		return SGA_DEV_REKEY_CONFIRMED;
	}
	return 0;
}

/* ---- gateway ---------------------------------------------------------------------- */

static void out_frame(struct sga_gw_out *out, const uint8_t *id, uint8_t id_len,
                      const uint8_t *frame, size_t len)
{
	if (out->n >= 2)
		return;
	out->msg[out->n].to_id_len = id_len;
	memcpy(out->msg[out->n].to_id, id, id_len);
	memcpy(out->msg[out->n].frame, frame, len);
	out->msg[out->n].len = len;
	out->n++;
}

/* REKEY_NOTICE(gen) to the member in role, under its k_d rekey key. */
static int notice_to(const struct sga_gw_session *s, const struct sga_gw_device *peer, uint8_t role,
                     uint32_t gen, struct sga_gw_out *out)
{
	uint8_t key[SGA_AEAD_MAX_KEY_LEN], plain[4], frame[SGA_FRAME_MAX];
	size_t len;
	int rc;

	put_u32(plain, gen);
	CHECK(sga_key_sess_rekey(peer->k_d, s->session_id, peer->suite_init, key));
	CHECK(sga_seal_sess_env(SGA_MSG_REKEY_NOTICE, s->session_id, role, peer->suite_init, key,
	                        plain, sizeof(plain), frame, sizeof(frame), &len));
	out_frame(out, s->id[role], s->id_len[role], frame, len);
out:
	sga_memzero(key, sizeof(key));
	return rc;
}

/* REKEY_REPLY of generation gen to role, cached in s->rk.reply[role]. */
static int rekey_reply(struct sga_gw_session *s, uint8_t role, uint32_t gen, const uint8_t *R_s)
{
	struct sga_rekey_reply_plain rr;
	uint8_t body[SGA_GROUP_MAX_LEN + 96], plain[SGA_GROUP_MAX_LEN + 128];
	uint8_t key[SGA_AEAD_MAX_KEY_LEN];
	size_t body_len, plain_len, len;
	int rc;

	CHECK(sga_gw_reply_body(s, role, R_s, body, sizeof(body), &body_len));
	rr.gen = gen;
	rr.epoch = s->hop[role].epoch;
	rr.kex = body;
	rr.kex_len = body_len;
	CHECK(sga_rekey_reply_plain_encode(&rr, plain, sizeof(plain), &plain_len));
	CHECK(sga_key_kex_gen(s->rk.k_t_next[role], s->session_id, gen, s->hop_suite[role], key));
	CHECK(sga_seal_sess_env(SGA_MSG_REKEY_REPLY, s->session_id, role, s->hop_suite[role], key,
	                        plain, plain_len, s->rk.reply[role], sizeof(s->rk.reply[role]),
	                        &len));
	s->rk.reply_len[role] = (uint16_t)len;
out:
	sga_memzero(key, sizeof(key));
	return rc;
}

int sga_gw_rekey_init_handle(const struct sga_gw *gw, struct sga_gw_device *dev,
                             const struct sga_gw_device *peer, struct sga_gw_session *sess,
                             const uint8_t *frame, size_t len, struct sga_gw_out *out, int *fresh)
{
	const struct sga_group_info *grp = sga_group_get(sess->group);
	struct sga_env_sess env;
	struct sga_rekey_init_plain ri;
	struct sga_gw_session *s = NULL;
	uint8_t key[SGA_AEAD_MAX_KEY_LEN], plain[SGA_FRAME_MAX], hash[SGA_SHA256_LEN];
	uint8_t N[SGA_GROUP_MAX_LEN], K[SGA_GROUP_MAX_LEN], R_s[SGA_EXPONENT_LEN];
	struct sga_gw_session work;
	size_t plain_len = 0;
	uint8_t role, bit;
	int rc;

	out->n = 0;
	*fresh = 0;
	CHECK(sga_gw_sess_env_decode(dev, sess, SGA_MSG_REKEY_INIT, frame, len, &env));
	role = env.role;
	bit = (uint8_t)(1u << role);
	if (!peer || peer->id_len != sess->id_len[role ^ 1] ||
	    memcmp(peer->id, sess->id[role ^ 1], peer->id_len)) {
		rc = -SGA_E_UNKNOWN_DEVICE;
		goto out;
	}
	if (sess->state != SGA_GW_S_ESTABLISHED) {
		rc = -SGA_E_BAD_STATE;
		goto out;
	}
	CHECK(sga_key_sess_rekey(dev->k_d, sess->session_id, dev->suite_init, key));
	CHECK(sga_open_env(dev->suite_init, key, env.nonce, env.aad, env.aad_len, env.ct,
	                   env.ct_len, plain, sizeof(plain), &plain_len));
	CHECK(sga_rekey_init_plain_decode(plain, plain_len, &ri));
	CHECK(sga_err_from_crypto(sga_sha256(&(struct sga_buf){frame, len}, 1, hash)));
	if (sga_ct_memeq(hash, sess->rk.init_hash[role], sizeof(hash))) {
		/* A retransmission (the same bytes; its counter is spent): answer
		 * again, change nothing. Anyone may replay it, so the caller moves
		 * no address for it. */
		if ((sess->rk.have & bit) && ri.gen == sess->rk.next_gen)
			rc = notice_to(sess, peer, role ^ 1, ri.gen, out);
		else if (ri.gen == sess->rk.gen && sess->rk.reply_len[role])
			out_frame(out, sess->id[role], sess->id_len[role], sess->rk.reply[role],
			          sess->rk.reply_len[role]);
		goto out;
	}
	if (ri.ctr <= dev->up_ctr) {
		rc = -SGA_E_REPLAY;
		goto out;
	}
	if (ri.gen != sess->rk.gen + 1) {
		rc = -SGA_E_BAD_STATE;
		goto out;
	}
	CHECK(sga_gw_kex_contrib_check(gw, dev, sess, ri.kex, ri.kex_len, N, K));

	/* Commit on a copy: the caller's record changes only if all below works. */
	s = &work;
	*s = *sess;
	memcpy(s->N[role], N, grp->len);
	memcpy(s->K[role], K, grp->secret_len);
	memcpy(s->rk.k_t_next[role], ri.k_t, SGA_KEY_LEN);
	memcpy(s->rk.init_hash[role], hash, sizeof(hash));
	s->rk.have |= bit;
	s->rk.next_gen = ri.gen;
	if (s->rk.have == 3) {
		/* Both contributions: as B4-B6, with a fresh R_s, fresh hop-down
		 * epochs and every key of the new generation. */
		CHECK(sga_err_from_crypto(sga_group_scalar_random(grp, R_s)));
		for (unsigned k = 0; k < 2; k++)
			CHECK(sga_hop_member_init_gen(&s->hop[k], s->rk.k_t_next[k], s->session_id,
			                              ri.gen, s->hop_suite[k], 0));
		CHECK(rekey_reply(s, SGA_ROLE_INITIATOR, ri.gen, R_s));
		CHECK(rekey_reply(s, SGA_ROLE_RESPONDER, ri.gen, R_s));
		memcpy(s->rk.prev_k_t, s->k_t, sizeof(s->rk.prev_k_t));
		memcpy(s->k_t, s->rk.k_t_next, sizeof(s->k_t));
		sga_memzero(s->rk.k_t_next, sizeof(s->rk.k_t_next));
		sga_memzero(s->N, sizeof(s->N));
		sga_memzero(s->K, sizeof(s->K));
		s->rk.prev_live = 3;
		s->rk.gen = ri.gen;
		s->rk.next_gen = 0;
		s->rk.have = 0;
		out_frame(out, s->id[0], s->id_len[0], s->rk.reply[0], s->rk.reply_len[0]);
		out_frame(out, s->id[1], s->id_len[1], s->rk.reply[1], s->rk.reply_len[1]);
	} else {
		CHECK(notice_to(s, peer, role ^ 1, ri.gen, out));
	}
	*sess = *s;
	dev->up_ctr = ri.ctr;
	*fresh = 1;
out:
	if (s)
		sga_memzero(s, sizeof(*s));
	sga_memzero(key, sizeof(key));
	sga_memzero(plain, sizeof(plain));
	sga_memzero(N, sizeof(N));
	sga_memzero(K, sizeof(K));
	sga_memzero(R_s, sizeof(R_s));
	if (rc)
		out->n = 0;
	return rc;
}

int sga_gw_rekey_prev_up(const struct sga_gw_session *sess, uint8_t role, uint8_t *key)
{
	if (role > 1 || !(sess->rk.prev_live & (1u << role)) || sess->rk.gen == 0)
		return -SGA_E_BAD_STATE;
	return sga_key_hop_gen(sess->rk.prev_k_t[role], sess->session_id, sess->rk.gen - 1,
	                       sess->hop_suite[role], SGA_DIR_UP, key);
}

int sga_rekey_relay_open(struct sga_gw_session *sess, uint8_t from, uint8_t *frame, size_t len,
                         uint64_t *seq, uint8_t **inner, size_t *inner_len)
{
	struct sga_env_hop env;
	struct sga_hop_member m;
	int rc = sga_env_hop_decode(frame, len, &env);

	if (rc)
		return rc;
	if (from > 1)
		return -SGA_E_BAD_FIELD;
	if ((sess->rk.prev_live & (1u << from)) && env.epoch != sess->hop[from].epoch) {
		/* Sealed before the member took the new generation: its old key. */
		m = sess->hop[from];
		rc = sga_gw_rekey_prev_up(sess, from, m.key_up);
		if (!rc)
			rc = sga_hop_open_env(&m, NULL, sess->session_id, from, &env, frame, len,
			                      seq, inner, inner_len);
		sga_memzero(&m, sizeof(m));
		return rc;
	}
	rc = sga_hop_open_env(&sess->hop[from], NULL, sess->session_id, from, &env, frame, len, seq,
	                      inner, inner_len);
	if (rc == 0 && (sess->rk.prev_live & (1u << from))) {
		/* The member is on the new generation: its old key has served. */
		sess->rk.prev_live &= (uint8_t) ~(1u << from);
		sga_memzero(sess->rk.prev_k_t[from], sizeof(sess->rk.prev_k_t[from]));
	}
	return rc;
}
