/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz_fixture.c - see fuzz_fixture.h. */
#include <string.h>

#include "fuzz_fixture.h"
#include "fuzz_keys.h"
#include "sga_check.h"
#include "sga_keys.h"

static const uint8_t suites_i[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_AES256_GCM,
                                   SGA_SUITE_CHACHA20_POLY1305, SGA_SUITE_AES128_CCM8};
static const uint8_t suites_j[] = {SGA_SUITE_AES128_CCM8, SGA_SUITE_AES128_GCM};
static const uint64_t sids[FUZZ_N_SESS] = {FUZZ_SID_INVITED, FUZZ_SID_KEX, FUZZ_SID_ESTABLISHED};

static void rec_fill(struct sga_gw_device *r, const char *id, const uint8_t k_d[SGA_KEY_LEN],
                     const uint8_t *suites, uint8_t n, uint64_t up, uint64_t down)
{
	memset(r, 0, sizeof(*r));
	r->id_len = (uint8_t)strlen(id);
	memcpy(r->id, id, r->id_len);
	memcpy(r->k_d, k_d, SGA_KEY_LEN);
	r->suite_init = suites[0];
	r->n_suites = n;
	memcpy(r->suites, suites, n);
	r->up_ctr = up;
	r->down_ctr = down;
}

/* The gateway's record of session k (both members, fixed k_t). */
static int gw_sess_fill(struct fuzz_world *w, unsigned k, uint8_t state)
{
	struct sga_gw_session *s = &w->g.sess[k];

	memset(s, 0, sizeof(*s));
	s->session_id = sids[k];
	s->state = state;
	s->suite = SGA_SUITE_AES128_GCM;
	s->group = w->gw.prof[0].pkg.group;
	s->req_ctr = w->g.rec[FUZZ_DEV_I].up_ctr;
	for (unsigned r = 0; r < 2; r++) {
		s->id_len[r] = w->g.rec[r].id_len;
		memcpy(s->id[r], w->g.rec[r].id, s->id_len[r]);
		s->hop_suite[r] = w->g.rec[r].suite_init;
		if (state != SGA_GW_S_INVITED || r == SGA_ROLE_INITIATOR)
			memcpy(s->k_t[r], w->k_t[k][r], SGA_KEY_LEN);
		if (state == SGA_GW_S_ESTABLISHED &&
		    sga_hop_member_init(&s->hop[r], s->k_t[r], s->session_id, s->hop_suite[r]))
			return -SGA_E_CRYPTO;
	}
	return 0;
}

/* Device k's view of session idx, in the state that matches the gateway's. */
static int dev_sess_fill(struct fuzz_world *w, unsigned k, unsigned idx)
{
	struct sga_dev *d = &w->d.dev[k];
	struct sga_dev_sess *s = &w->d.sess[k][idx];
	const struct sga_gw_device *peer = &w->g.rec[k ^ 1];
	uint8_t frame[SGA_FRAME_MAX];
	size_t len;
	int rc = 0;

	memset(s, 0, sizeof(*s));
	s->role = (uint8_t)k;
	s->peer_id_len = peer->id_len;
	memcpy(s->peer_id, peer->id, peer->id_len);
	s->hop_suite = d->suite_init;
	s->req_ctr = k == SGA_ROLE_INITIATOR ? w->g.rec[FUZZ_DEV_I].up_ctr : 0;
	/* d_i's preference list (sent in A1, relayed in A2): its suites. */
	s->n_pref = w->d.dev[FUZZ_DEV_I].n_suites;
	memcpy(s->prefs, w->d.dev[FUZZ_DEV_I].suites, s->n_pref);
	memcpy(s->k_t, w->k_t[idx][k], SGA_KEY_LEN);
	if (idx == 0) {
		/* d_i has sent its A1 and waits for the A4; d_j's slot receives A2s. */
		s->state = k == SGA_ROLE_INITIATOR ? SGA_DEV_S_NEG_SENT : SGA_DEV_S_IDLE;
		if (k == SGA_ROLE_RESPONDER)
			memset(s->k_t, 0, SGA_KEY_LEN);
		return 0;
	}
	s->session_id = sids[idx];
	s->suite = SGA_SUITE_AES128_GCM;
	s->group = d->pkg.group;
	if (idx == 1) {
		s->state = SGA_DEV_S_KEX;
		CHECK(sga_key_kex(s->k_t, s->session_id, s->hop_suite, s->kex_key));
		/* KEX_INIT made: the device now waits for the KEX_REPLY. */
		CHECK(sga_dev_create_kex_init(d, s, frame, sizeof(frame), &len));
		return 0;
	}
	s->state = SGA_DEV_S_ESTABLISHED;
	{
		static const uint8_t n_hash[2][SGA_SHA256_LEN] = {{0x4e, 0x69}, {0x4e, 0x6a}};
		const struct sga_transcript t = {
		    .id_g = d->pkg.id,
		    .id_g_len = d->pkg.id_len,
		    .id_i = w->g.rec[0].id,
		    .id_i_len = w->g.rec[0].id_len,
		    .id_j = w->g.rec[1].id,
		    .id_j_len = w->g.rec[1].id_len,
		    .prefs = s->prefs,
		    .n_pref = s->n_pref,
		    .n_hash = {n_hash[0], n_hash[1]},
		};

		CHECK(sga_dev_sess_derive(s, w->kisj, d->grp->len, s->k_t, &t));
	}
	sga_replay_init(&s->hop_rx_win);
	sga_replay_init(&s->e2e_rx_win);
	/* Past the key confirmation (sga_device.h): e2e_seq 0 spent each way. */
	sga_replay_update(&s->e2e_rx_win, 0);
	s->e2e_tx_seq = 1;
	s->confirm_sent = 1;
	s->peer_confirmed = 1;
	memset(s->k_t, 0, SGA_KEY_LEN);
out:
	return rc;
}

int fuzz_world_init(struct fuzz_world *w)
{
	struct sga_rsa_key *pk = NULL, *tpk = NULL;
	struct sga_buf tok = {FUZZ_TOKEN, strlen(FUZZ_TOKEN)};
	int rc;

	memset(w, 0, sizeof(*w));
	for (unsigned k = 0; k < 2; k++)
		memset(w->k_d[k], 0x11 * (int)(k + 1), SGA_KEY_LEN);
	for (unsigned s = 0; s < FUZZ_N_SESS; s++)
		for (unsigned r = 0; r < 2; r++)
			memset(w->k_t[s][r], 0x40 + (int)(2 * s + r), SGA_KEY_LEN);
	memset(w->kisj, 0x77, sizeof(w->kisj));
	if (sga_rsa_from_pem(FUZZ_PK_PEM, sizeof(FUZZ_PK_PEM) - 1, &pk) ||
	    sga_rsa_from_pem(FUZZ_TPK_PEM, sizeof(FUZZ_TPK_PEM) - 1, &tpk)) {
		sga_rsa_free(pk);
		sga_rsa_free(tpk);
		return -SGA_E_CRYPTO;
	}
	rc = sga_gw_init(&w->gw, (const uint8_t *)"gw-fuzz", 7, SGA_GROUP_FFDHE2048, suites_i,
	                 sizeof(suites_i), pk, tpk, SGA_ENROLL_OPEN);
	if (rc) {
		sga_rsa_free(pk);
		sga_rsa_free(tpk);
		return rc;
	}

	rec_fill(&w->g.rec[FUZZ_DEV_I], "dev-i", w->k_d[0], suites_i, sizeof(suites_i), 10, 20);
	rec_fill(&w->g.rec[FUZZ_DEV_J], "dev-j", w->k_d[1], suites_j, sizeof(suites_j), 30, 40);
	w->g.have_rec[FUZZ_DEV_I] = w->g.have_rec[FUZZ_DEV_J] = 1;
	CHECK(sga_sha256(&tok, 1, w->g.allow.token_hash) ? -SGA_E_CRYPTO : 0);
	w->g.have_allow = 1;

	for (unsigned k = 0; k < 2; k++) {
		const struct sga_gw_device *r = &w->g.rec[k];
		struct sga_dev *d = &w->d.dev[k];

		CHECK(sga_dev_init(d, &w->gw.prof[0].pkg, r->id, r->id_len, r->suite_init,
		                   r->suites, r->n_suites));
		memcpy(d->k_d, r->k_d, SGA_KEY_LEN);
		d->registered = 1;
		d->up_ctr = r->up_ctr;
		d->down_ctr = r->down_ctr;
		/* A registration retransmitted and not yet acknowledged. */
		d->reg_pending = 1;
		memset(d->reg_nonce, 0x5a + (int)k, sizeof(d->reg_nonce));
		memcpy(d->reg_k_d, d->k_d, SGA_KEY_LEN);
	}
	CHECK(gw_sess_fill(w, 0, SGA_GW_S_INVITED));
	CHECK(gw_sess_fill(w, 1, SGA_GW_S_KEX));
	CHECK(gw_sess_fill(w, 2, SGA_GW_S_ESTABLISHED));
	for (unsigned k = 0; k < 2; k++)
		for (unsigned idx = 0; idx < FUZZ_N_SESS; idx++)
			CHECK(dev_sess_fill(w, k, idx));
out:
	return rc;
}

struct sga_gw_device *fuzz_gw_device(struct fuzz_gw_state *g, const uint8_t *id, uint8_t id_len)
{
	for (unsigned k = 0; k < FUZZ_N_REC; k++)
		if (g->have_rec[k] && g->rec[k].id_len == id_len &&
		    !memcmp(g->rec[k].id, id, id_len))
			return &g->rec[k];
	return NULL;
}

struct sga_gw_session *fuzz_gw_session(struct fuzz_gw_state *g, uint64_t sid)
{
	for (unsigned k = 0; k < FUZZ_N_SESS + 1; k++)
		if (sid && g->sess[k].session_id == sid && g->sess[k].state)
			return &g->sess[k];
	return NULL;
}

/* ---- one frame of every kind ------------------------------------------------- */

int fuzz_world_frames(const struct fuzz_world *w, fuzz_frame_fn fn, void *ctx)
{
	static struct fuzz_world c;
	static struct sga_gw_out out;
	static uint8_t f[SGA_FRAME_MAX + SGA_PKG_REQ_LEN];
	struct sga_reg_req env;
	struct sga_reg_plain req;
	struct sga_neg_req_plain a1;
	struct sga_neg_accept_plain a3;
	struct sga_gw_session gs;
	struct sga_gw_device rec;
	struct sga_dev_sess ds;
	const struct sga_data_ack_plain ack = {.top = 3, .bits = 7};
	uint64_t ctr;
	uint8_t to;
	size_t len;
	int used, rc;

	memcpy(&c, w, sizeof(c));
	CHECK(sga_pkg_req_encode(0, f, sizeof(f), &len));
	fn(ctx, "PKG_REQ", f, len);
	fn(ctx, "PKG", c.gw.prof[0].pkg_frame, c.gw.prof[0].pkg_frame_len);
	CHECK(sga_error_encode(SGA_E_UNKNOWN_DEVICE, (const uint8_t *)"dev-i", 5, f, sizeof(f),
	                       &len));
	fn(ctx, "ERROR", f, len);

	/* Registration: a first one (a retransmission of the record's own) and a rekey. */
	CHECK(sga_dev_create_reg_req(&c.d.dev[0], NULL, 0, 0, f, sizeof(f), &len));
	fn(ctx, "REG_REQ", f, len);
	CHECK(sga_gw_reg_open(&c.gw, f, len, &env, &req));
	CHECK(sga_gw_reg_accept(&c.gw, &env, &req, &c.g.rec[0], NULL, &rec, &used, &out));
	fn(ctx, "REG_ACK", out.msg[0].frame, out.msg[0].len);
	CHECK(sga_dev_create_reg_req(&c.d.dev[1], NULL, 0, 1, f, sizeof(f), &len));
	fn(ctx, "REG_REQ-rekey", f, len);

	/* A1 .. A4 between the fixture's devices. */
	CHECK(sga_dev_create_neg_req(&c.d.dev[0], &ds, c.g.rec[1].id, c.g.rec[1].id_len,
	                             c.g.rec[1].suites, c.g.rec[1].n_suites, f, sizeof(f), &len));
	fn(ctx, "NEG_REQ", f, len);
	CHECK(sga_gw_neg_req_open(&c.gw, &c.g.rec[0], f, len, &a1, &ctr));
	CHECK(sga_gw_neg_req_handle(&c.gw, &c.g.rec[0], &c.g.rec[1], &a1, ctr, &gs, &out));
	fn(ctx, "NEG_INVITE", out.msg[0].frame, out.msg[0].len);
	CHECK(sga_dev_consume_neg_invite(&c.d.dev[1], &c.d.sess[1][0], out.msg[0].frame,
	                                 out.msg[0].len));
	CHECK(sga_dev_create_neg_accept(&c.d.dev[1], &c.d.sess[1][0], 1, f, sizeof(f), &len));
	fn(ctx, "NEG_ACCEPT", f, len);
	CHECK(sga_gw_neg_accept_open(&c.gw, &c.g.rec[1], f, len, &a3, &ctr));
	CHECK(sga_gw_neg_accept_handle(&c.gw, &c.g.rec[1], &gs, &a3, ctr, &out));
	fn(ctx, "NEG_RESULT", out.msg[0].frame, out.msg[0].len);

	/* B1/B3 of the fixture's KEX session, and the B5/B6 they earn. */
	for (unsigned k = 0; k < 2; k++) {
		const struct sga_dev_sess *s = &c.d.sess[k][1];

		fn(ctx, k ? "KEX_INIT-j" : "KEX_INIT-i", s->kex_frame, s->kex_frame_len);
		CHECK(sga_gw_kex_init_handle(&c.gw, &c.g.rec[k], &c.g.sess[1], s->kex_frame,
		                             s->kex_frame_len, &out));
	}
	fn(ctx, "KEX_REPLY", out.msg[0].frame, out.msg[0].len);

	/* Data on the ESTABLISHED session. */
	CHECK(sga_dev_data_seal(&c.d.sess[0][2], (const uint8_t *)"hello", 5, f, sizeof(f), &len));
	fn(ctx, "DATA_UP", f, len);
	{
		uint8_t down[SGA_FRAME_MAX];
		size_t dlen;

		CHECK(sga_gw_data_relay(&c.g.sess[2], f, len, down, sizeof(down), &dlen, &to));
		fn(ctx, "DATA_DOWN", down, dlen);
	}
	CHECK(sga_dev_delivered_seal(&c.d.sess[1][2], 1, f, sizeof(f), &len));
	fn(ctx, "DATA_DELIVERED", f, len);
	CHECK(sga_hop_seal_ack(&c.g.sess[2].hop[0], FUZZ_SID_ESTABLISHED, 0, &ack, f, sizeof(f),
	                       &len));
	fn(ctx, "DATA_ACK", f, len);
	CHECK(sga_hop_seal_u64(&c.g.sess[2].hop[1], FUZZ_SID_ESTABLISHED, 1, SGA_MSG_DATA_SKIP, 4,
	                       f, sizeof(f), &len));
	fn(ctx, "DATA_SKIP", f, len);
out:
	sga_memzero(&c.g, sizeof(c.g));
	sga_memzero(&c.d.sess, sizeof(c.d.sess));
	sga_gw_session_wipe(&gs);
	sga_dev_sess_wipe(&ds);
	return rc;
}
