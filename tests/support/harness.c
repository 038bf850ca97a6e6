/* SPDX-License-Identifier: BSD-3-Clause */
/* harness.c - see harness.h. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "sga_rekey.h"

static struct sga_rsa_key *g_pk, *g_tpk;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static unsigned g_bits = 2048;

static void gen_keys(void)
{
	if (sga_rsa_generate(g_bits, &g_pk) || sga_rsa_generate(g_bits, &g_tpk))
		g_pk = g_tpk = NULL;
}

void harness_set_rsa_bits(unsigned bits)
{
	g_bits = bits;
}

/* RSA key generation dominates a test's run time, so one process shares one
 * pair of gateway keys; harness_fini detaches them before wiping the gateway. */
struct sga_rsa_key *harness_rsa_pk(void)
{
	pthread_once(&g_once, gen_keys);
	return g_pk;
}

struct sga_rsa_key *harness_rsa_tpk(void)
{
	pthread_once(&g_once, gen_keys);
	return g_tpk;
}

uint8_t harness_group(uint8_t group)
{
	const char *name = getenv("SGA_TEST_GROUP");
	const struct sga_group_info *g = name && *name ? sga_group_by_name(name) : NULL;

	if (group != SGA_GROUP_FFDHE2048)
		return group;
	return g ? g->id : group;
}

int harness_gw_add_profile(struct sga_gw *gw, uint8_t group)
{
	struct sga_pke_priv pk, tpk;
	uint8_t sk[2][SGA_EXPONENT_LEN];
	const struct sga_group_info *g = sga_group_get(group);
	int rc;

	if (!g)
		return -SGA_E_BAD_FIELD;
	if (!sga_pke_is_hpke(group)) {
		if (!harness_rsa_pk())
			return -SGA_E_CRYPTO;
		rc = sga_pke_priv_from_rsa(group, harness_rsa_pk(), &pk);
		rc = rc ? rc : sga_pke_priv_from_rsa(group, harness_rsa_tpk(), &tpk);
		return rc ? rc : sga_gw_add_profile(gw, group, &pk, &tpk);
	}
	/* EC key pairs are cheap: fresh ones per gateway. */
	rc = sga_err_from_crypto(sga_group_scalar_random(g, sk[0]));
	rc = rc ? rc : sga_err_from_crypto(sga_group_scalar_random(g, sk[1]));
	rc = rc ? rc : sga_pke_priv_from_ec(group, sk[0], &pk);
	rc = rc ? rc : sga_pke_priv_from_ec(group, sk[1], &tpk);
	rc = rc ? rc : sga_gw_add_profile(gw, group, &pk, &tpk);
	sga_memzero(sk, sizeof(sk));
	sga_memzero(&pk, sizeof(pk));
	sga_memzero(&tpk, sizeof(tpk));
	return rc;
}

int harness_init(struct harness *h, uint8_t group, const uint8_t *suites_i, uint8_t n_i,
                 const uint8_t *suites_j, uint8_t n_j)
{
	static const uint8_t all[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_AES256_GCM,
	                              SGA_SUITE_CHACHA20_POLY1305, SGA_SUITE_AES128_CCM8,
	                              SGA_SUITE_ASCON_AEAD128};
	int rc;

	memset(h, 0, sizeof(*h));
	group = harness_group(group);
	rc = sga_gw_init_empty(&h->gw, (const uint8_t *)"gw-test", 7, all, sizeof(all),
	                       SGA_ENROLL_OPEN);
	rc = rc ? rc : harness_gw_add_profile(&h->gw, group);
	if (rc)
		return rc;
	rc = sga_dev_init(&h->dev[0], &h->gw.prof[0].pkg, (const uint8_t *)"dev-i", 5, suites_i[0],
	                  suites_i, n_i);
	if (!rc)
		rc = sga_dev_init(&h->dev[1], &h->gw.prof[0].pkg, (const uint8_t *)"dev-j", 5,
		                  suites_j[0], suites_j, n_j);
	return rc;
}

void harness_fini(struct harness *h)
{
	harness_gw_fini(&h->gw);
	sga_dev_fini(&h->dev[0]);
	sga_dev_fini(&h->dev[1]);
	sga_dev_sess_wipe(&h->sess[0]);
	sga_dev_sess_wipe(&h->sess[1]);
	sga_gw_session_wipe(&h->gsess);
}

void harness_gw_fini(struct sga_gw *gw)
{
	/* The shared RSA keys belong to the process: detach them before the wipe. */
	for (unsigned i = 0; i < gw->n_prof; i++) {
		gw->prof[i].pk.rsa = NULL;
		gw->prof[i].tpk.rsa = NULL;
	}
	sga_gw_fini(gw);
}

int harness_cookie_round(struct harness *h, struct sga_cookie_key *k, uint64_t now_ms,
                         uint32_t ip_be, uint16_t port_be)
{
	uint8_t cookie[SGA_COOKIE_LEN], digest[SGA_COOKIE_DIGEST_LEN], mine[SGA_COOKIE_DIGEST_LEN];
	uint8_t reply[SGA_COOKIE_REPLY_LEN], echo[SGA_FRAME_MAX];
	const uint8_t *got_cookie, *inner;
	size_t reply_len, echo_len, inner_len;
	int rc;

	/* gateway: the frame earns a cookie, nothing else */
	rc = sga_cookie_make(k, now_ms, ip_be, port_be, h->frame, h->frame_len, cookie);
	rc = rc ? rc : sga_cookie_digest(h->frame, h->frame_len, digest);
	rc = rc ? rc : sga_cookie_reply_encode(digest, cookie, reply, sizeof(reply), &reply_len);
	/* device: the reply names its frame; it goes again inside a COOKIE_ECHO */
	rc = rc ? rc : sga_cookie_reply_decode(reply, reply_len, digest, cookie);
	rc = rc ? rc : sga_cookie_digest(h->frame, h->frame_len, mine);
	if (!rc && memcmp(mine, digest, sizeof(mine)))
		rc = -SGA_E_AUTH;
	rc = rc ? rc
	        : sga_cookie_echo_encode(cookie, h->frame, h->frame_len, echo, sizeof(echo),
	                                 &echo_len);
	/* gateway: a valid cookie from that address lets the frame through */
	rc = rc ? rc : sga_cookie_echo_decode(echo, echo_len, &got_cookie, &inner, &inner_len);
	rc = rc ? rc : sga_cookie_check(k, now_ms, ip_be, port_be, inner, inner_len, got_cookie);
	if (!rc) {
		memmove(h->frame, inner, inner_len);
		h->frame_len = inner_len;
	}
	return rc;
}

/* With h->cookie set, every REG_REQ, NEG_REQ and KEX_INIT of device k passes a
 * cookie round from its own address first. */
static int cookie_gate(struct harness *h, int k)
{
	if (!h->cookie)
		return 0;
	return harness_cookie_round(h, h->cookie, h->cookie_now_ms,
	                            htonl(0x0a000001u + (uint32_t)k), htons((uint16_t)(4000 + k)));
}

int harness_full_cookie(struct harness *h, struct sga_cookie_key *k, const uint8_t *prefs,
                        uint8_t n_pref)
{
	int rc;

	h->cookie = k;
	rc = harness_full(h, prefs, n_pref);
	h->cookie = NULL;
	return rc;
}

int harness_register(struct harness *h, int k)
{
	struct sga_reg_req env;
	struct sga_reg_plain req;
	struct sga_gw_out out;
	int used = 0, rc;

	rc = sga_dev_create_reg_req(&h->dev[k], NULL, 0, 0, h->frame, sizeof(h->frame),
	                            &h->frame_len);
	if (!rc)
		rc = cookie_gate(h, k);
	if (rc)
		return rc;
	rc = sga_gw_reg_open(&h->gw, h->frame, h->frame_len, &env, &req);
	if (rc)
		return rc;
	rc = sga_gw_reg_accept(&h->gw, &env, &req, NULL, NULL, &h->rec[k], &used, &out);
	if (rc)
		return rc;
	return sga_dev_consume_reg_ack(&h->dev[k], out.msg[0].frame, out.msg[0].len);
}

int harness_negotiate(struct harness *h, const uint8_t *prefs, uint8_t n_pref)
{
	struct sga_neg_req_plain a1;
	struct sga_neg_accept_plain a3;
	struct sga_gw_out out;
	uint64_t ctr;
	int rc;

	rc = sga_dev_create_neg_req(&h->dev[0], &h->sess[0], h->dev[1].id, h->dev[1].id_len, prefs,
	                            n_pref, h->frame, sizeof(h->frame), &h->frame_len);
	if (!rc)
		rc = cookie_gate(h, 0);
	if (rc)
		return rc;
	rc = sga_gw_neg_req_open(&h->gw, &h->rec[0], h->frame, h->frame_len, &a1, &ctr);
	if (rc)
		return rc;
	rc = sga_gw_neg_req_handle(&h->gw, &h->rec[0], &h->rec[1], &a1, ctr, &h->gsess, &out);
	if (rc)
		return rc;
	if (!h->gsess.session_id) /* refused: deliver the A4 to the initiator */
		return sga_dev_consume_neg_result(&h->dev[0], &h->sess[0], out.msg[0].frame,
		                                  out.msg[0].len);
	rc = sga_dev_consume_neg_invite(&h->dev[1], &h->sess[1], out.msg[0].frame, out.msg[0].len);
	if (rc)
		return rc;
	rc = sga_dev_create_neg_accept(&h->dev[1], &h->sess[1], 1, h->frame, sizeof(h->frame),
	                               &h->frame_len);
	if (rc)
		return rc;
	rc = sga_gw_neg_accept_open(&h->gw, &h->rec[1], h->frame, h->frame_len, &a3, &ctr);
	if (rc)
		return rc;
	rc = sga_gw_neg_accept_handle(&h->gw, &h->rec[1], &h->gsess, &a3, ctr, &out);
	if (rc)
		return rc;
	return sga_dev_consume_neg_result(&h->dev[0], &h->sess[0], out.msg[0].frame,
	                                  out.msg[0].len);
}

int harness_kex_only(struct harness *h)
{
	struct sga_gw_out out;
	int rc;

	for (int k = 0; k < 2; k++) {
		rc = sga_dev_create_kex_init(&h->dev[k], &h->sess[k], h->frame, sizeof(h->frame),
		                             &h->frame_len);
		if (!rc)
			rc = cookie_gate(h, k);
		if (rc)
			return rc;
		rc = sga_gw_kex_init_handle(&h->gw, &h->rec[k], &h->gsess, h->frame, h->frame_len,
		                            &out);
		if (rc)
			return rc;
	}
	if (out.n != 2)
		return -SGA_E_INTERNAL;
	for (unsigned m = 0; m < 2; m++) {
		int k = (out.msg[m].to_id_len == h->dev[0].id_len &&
		         !memcmp(out.msg[m].to_id, h->dev[0].id, h->dev[0].id_len))
		            ? 0
		            : 1;
		rc = sga_dev_consume_kex_reply(&h->dev[k], &h->sess[k], out.msg[m].frame,
		                               out.msg[m].len);
		if (rc)
			return rc;
	}
	return 0;
}

int harness_confirm_frame(struct harness *h, int from, uint8_t *relayed, size_t cap,
                          size_t *relayed_len)
{
	uint8_t to_role;
	int rc;

	rc = sga_dev_create_key_confirm(&h->sess[from], h->frame, sizeof(h->frame), &h->frame_len);
	if (rc)
		return rc;
	rc = sga_gw_data_relay(&h->gsess, h->frame, h->frame_len, relayed, cap, relayed_len,
	                       &to_role);
	if (rc)
		return rc;
	if (to_role != (from ^ 1))
		return -SGA_E_INTERNAL;
	(void)sga_ack_win_note(&h->ack[from], 0); /* a repeat is noted already */
	return 0;
}

int harness_confirm(struct harness *h)
{
	uint8_t relayed[2][SGA_FRAME_MAX];
	size_t relayed_len[2];
	int rc;

	/* Both confirms leave before either arrives, as over a network. */
	for (int k = 0; k < 2; k++) {
		rc = harness_confirm_frame(h, k, relayed[k], sizeof(relayed[k]), &relayed_len[k]);
		if (rc)
			return rc;
	}
	for (int k = 0; k < 2; k++) {
		rc = sga_dev_consume_key_confirm(&h->sess[k ^ 1], relayed[k], relayed_len[k]);
		if (rc)
			return rc;
	}
	return 0;
}

int harness_kex_preconfirmed(struct harness *h)
{
	int rc = harness_kex_only(h);

	/* As after the confirmations: e2e_seq 0 spent each way, data from 1. */
	for (int k = 0; k < 2 && !rc; k++) {
		h->sess[k].confirm_sent = 1;
		h->sess[k].e2e_tx_seq = 1;
		h->sess[k].peer_confirmed = 1;
		sga_replay_update(&h->sess[k].e2e_rx_win, 0);
		sga_memzero(h->sess[k].confirm_rx, sizeof(h->sess[k].confirm_rx));
	}
	return rc;
}

int harness_kex(struct harness *h)
{
	int rc = harness_kex_only(h);

	return rc ? rc : harness_confirm(h);
}

int harness_full(struct harness *h, const uint8_t *prefs, uint8_t n_pref)
{
	int rc = harness_register(h, 0);

	if (!rc)
		rc = harness_register(h, 1);
	if (!rc)
		rc = harness_negotiate(h, prefs, n_pref);
	if (!rc)
		rc = harness_kex(h);
	return rc;
}

/* Which device a gateway output frame is addressed to. */
static int out_to(const struct harness *h, const struct sga_gw_out *out, unsigned m)
{
	return out->msg[m].to_id_len == h->dev[0].id_len &&
	               !memcmp(out->msg[m].to_id, h->dev[0].id, h->dev[0].id_len)
	           ? 0
	           : 1;
}

int harness_rekey_only(struct harness *h, int first)
{
	struct sga_gw_out out;
	uint32_t gen;
	int fresh = 0, rc;

	rc = sga_dev_create_rekey_init(&h->dev[first], &h->sess[first], h->frame, sizeof(h->frame),
	                               &h->frame_len);
	if (!rc)
		rc = sga_gw_rekey_init_handle(&h->gw, &h->rec[first], &h->rec[first ^ 1], &h->gsess,
		                              h->frame, h->frame_len, &out, &fresh);
	if (rc)
		return rc;
	if (out.n != 1 || out_to(h, &out, 0) != (first ^ 1))
		return -SGA_E_INTERNAL;
	rc = sga_dev_consume_rekey_notice(&h->dev[first ^ 1], &h->sess[first ^ 1], out.msg[0].frame,
	                                  out.msg[0].len, &gen);
	if (!rc)
		rc = sga_dev_create_rekey_init(&h->dev[first ^ 1], &h->sess[first ^ 1], h->frame,
		                               sizeof(h->frame), &h->frame_len);
	if (!rc)
		rc = sga_gw_rekey_init_handle(&h->gw, &h->rec[first ^ 1], &h->rec[first], &h->gsess,
		                              h->frame, h->frame_len, &out, &fresh);
	if (rc)
		return rc;
	if (out.n != 2)
		return -SGA_E_INTERNAL;
	for (unsigned m = 0; m < 2 && !rc; m++) {
		int k = out_to(h, &out, m);

		rc = sga_dev_consume_rekey_reply(&h->dev[k], &h->sess[k], out.msg[m].frame,
		                                 out.msg[m].len);
	}
	return rc;
}

int harness_rekey(struct harness *h, int first)
{
	uint8_t relayed[2][SGA_FRAME_MAX], msg[SGA_FRAME_MAX], to_role;
	size_t relayed_len[2], n;
	int rc = harness_rekey_only(h, first);

	for (int k = 0; k < 2 && !rc; k++) {
		rc = sga_dev_create_rekey_confirm(&h->sess[k], h->frame, sizeof(h->frame),
		                                  &h->frame_len);
		if (!rc)
			rc = sga_gw_data_relay(&h->gsess, h->frame, h->frame_len, relayed[k],
			                       sizeof(relayed[k]), &relayed_len[k], &to_role);
		if (!rc)
			(void)sga_ack_win_note(&h->ack[k], h->sess[k].rk.tx_from);
	}
	for (int k = 0; k < 2 && !rc; k++) {
		rc = sga_dev_data_open(&h->sess[k ^ 1], relayed[k], relayed_len[k], msg,
		                       sizeof(msg), &n);
		rc = rc == SGA_DEV_REKEY_CONFIRMED ? 0 : rc ? rc : -SGA_E_KEY_CONFIRM;
	}
	return rc;
}

int harness_send(struct harness *h, int from, const uint8_t *msg, size_t len, uint8_t *got,
                 size_t cap, size_t *got_len)
{
	uint8_t relayed[SGA_FRAME_MAX], to_role;
	size_t relayed_len;
	int rc;

	rc = sga_dev_data_seal(&h->sess[from], msg, len, h->frame, sizeof(h->frame), &h->frame_len);
	if (rc)
		return rc;
	rc = sga_gw_data_relay(&h->gsess, h->frame, h->frame_len, relayed, sizeof(relayed),
	                       &relayed_len, &to_role);
	if (rc)
		return rc;
	if (to_role != (from ^ 1))
		return -SGA_E_INTERNAL;
	if (sga_ack_win_note(&h->ack[from], sga_dev_data_last_seq(&h->sess[from])) != 1)
		return -SGA_E_INTERNAL; /* the harness sends in order: always within 64 */
	return sga_dev_data_open(&h->sess[from ^ 1], relayed, relayed_len, got, cap, got_len);
}

int harness_ack(struct harness *h, int to)
{
	const struct sga_data_ack_plain a = {.top = h->ack[to].top, .bits = h->ack[to].bits};

	return sga_hop_seal_ack(&h->gsess.hop[to], h->gsess.session_id, (uint8_t)to, &a, h->frame,
	                        sizeof(h->frame), &h->frame_len);
}

int harness_session_timed(struct harness *h, const uint8_t *prefs, uint8_t n_pref,
                          double (*begin)(void), double (*end)(double), double *gw_seconds)
{
	struct sga_neg_req_plain a1;
	struct sga_neg_accept_plain a3;
	struct sga_gw_out out;
	uint8_t b[2][SGA_FRAME_MAX];
	size_t blen[2];
	uint64_t ctr;
	double t;
	int rc;

	rc = sga_dev_create_neg_req(&h->dev[0], &h->sess[0], h->dev[1].id, h->dev[1].id_len, prefs,
	                            n_pref, h->frame, sizeof(h->frame), &h->frame_len);
	t = begin();
	rc = rc ? rc : sga_gw_neg_req_open(&h->gw, &h->rec[0], h->frame, h->frame_len, &a1, &ctr);
	rc = rc ? rc
	        : sga_gw_neg_req_handle(&h->gw, &h->rec[0], &h->rec[1], &a1, ctr, &h->gsess, &out);
	*gw_seconds += end(t);
	rc = rc ? rc
	        : sga_dev_consume_neg_invite(&h->dev[1], &h->sess[1], out.msg[0].frame,
	                                     out.msg[0].len);
	rc = rc ? rc
	        : sga_dev_create_neg_accept(&h->dev[1], &h->sess[1], 1, h->frame, sizeof(h->frame),
	                                    &h->frame_len);
	t = begin();
	rc =
	    rc ? rc : sga_gw_neg_accept_open(&h->gw, &h->rec[1], h->frame, h->frame_len, &a3, &ctr);
	rc = rc ? rc : sga_gw_neg_accept_handle(&h->gw, &h->rec[1], &h->gsess, &a3, ctr, &out);
	*gw_seconds += end(t);
	rc = rc ? rc
	        : sga_dev_consume_neg_result(&h->dev[0], &h->sess[0], out.msg[0].frame,
	                                     out.msg[0].len);
	for (int k = 0; k < 2 && !rc; k++)
		rc = sga_dev_create_kex_init(&h->dev[k], &h->sess[k], b[k], sizeof(b[k]), &blen[k]);
	t = begin();
	for (int k = 0; k < 2 && !rc; k++)
		rc = sga_gw_kex_init_handle(&h->gw, &h->rec[k], &h->gsess, b[k], blen[k], &out);
	*gw_seconds += end(t);
	return rc;
}

/* ---- the device-core worlds' gateway ------------------------------------------ */

int harness_gw_world_init(struct harness_gw_world *g, const char *id0, uint8_t *body, size_t cap,
                          size_t *blen)
{
	static const uint8_t all[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_CHACHA20_POLY1305,
	                              SGA_SUITE_AES128_CCM8, SGA_SUITE_ASCON_AEAD128};
	int rc;

	memset(g, 0, sizeof(*g));
	g->id0_len = (uint8_t)strlen(id0);
	if (!g->id0_len || g->id0_len > SGA_ID_MAX)
		return -SGA_E_BAD_FIELD;
	memcpy(g->id0, id0, g->id0_len);
	rc = sga_gw_init_empty(&g->gw, (const uint8_t *)"gw-core", 7, all, sizeof(all),
	                       SGA_ENROLL_OPEN);
	rc = rc ? rc : harness_gw_add_profile(&g->gw, harness_group(SGA_GROUP_FFDHE2048));
	return rc ? rc : sga_package_encode(&g->gw.prof[0].pkg, body, cap, blen);
}

void harness_gw_world_fini(struct harness_gw_world *g)
{
	harness_gw_fini(&g->gw);
	sga_gw_session_wipe(&g->gs);
	sga_memzero(g->rec, sizeof(g->rec));
}

int harness_gw_world_dev(const struct harness_gw_world *g, const uint8_t *id, uint8_t len)
{
	return len == g->id0_len && !memcmp(id, g->id0, len) ? 0 : 1;
}

enum harness_gw_rc harness_gw_world_handshake(struct harness_gw_world *g,
                                              const struct sga_gw_peek *pk, const uint8_t *f,
                                              size_t n, struct sga_gw_out *out)
{
	uint64_t ctr;
	int k;

	switch (pk->type) {
	case SGA_MSG_REG_REQ: {
		struct sga_reg_req env;
		struct sga_reg_plain req;
		struct sga_gw_device nrec;
		int used = 0;

		if (sga_gw_reg_open(&g->gw, f, n, &env, &req))
			return HARNESS_GW_REFUSED;
		k = harness_gw_world_dev(g, req.id, req.id_len);
		if (sga_gw_reg_accept(&g->gw, &env, &req, g->have_rec[k] ? &g->rec[k] : NULL, NULL,
		                      &nrec, &used, out))
			return HARNESS_GW_REFUSED;
		g->rec[k] = nrec;
		g->have_rec[k] = 1;
		return HARNESS_GW_ANSWERED;
	}
	case SGA_MSG_NEG_REQ: {
		struct sga_neg_req_plain a1;
		struct sga_gw_session s;

		if (harness_gw_world_dev(g, pk->id, pk->id_len) != 0 ||
		    sga_gw_neg_req_open(&g->gw, &g->rec[0], f, n, &a1, &ctr))
			return HARNESS_GW_REFUSED;
		memset(&s, 0, sizeof(s));
		if (sga_gw_neg_req_handle(&g->gw, &g->rec[0], &g->rec[1], &a1, ctr, &s, out))
			return HARNESS_GW_REFUSED;
		if (!s.session_id)
			return HARNESS_GW_ANSWERED; /* refused, with an answer */
		sga_gw_session_wipe(&g->gs);        /* a new request replaces the old session */
		g->gs = s;
		return HARNESS_GW_NEW_SESSION;
	}
	case SGA_MSG_NEG_ACCEPT: {
		struct sga_neg_accept_plain a3;

		if (harness_gw_world_dev(g, pk->id, pk->id_len) != 1 ||
		    sga_gw_neg_accept_open(&g->gw, &g->rec[1], f, n, &a3, &ctr) ||
		    a3.session_id != g->gs.session_id ||
		    sga_gw_neg_accept_handle(&g->gw, &g->rec[1], &g->gs, &a3, ctr, out))
			return HARNESS_GW_REFUSED;
		return HARNESS_GW_ANSWERED;
	}
	case SGA_MSG_KEX_INIT:
		if (pk->role > 1 || pk->session_id != g->gs.session_id ||
		    sga_gw_kex_init_handle(&g->gw, &g->rec[pk->role], &g->gs, f, n, out))
			return HARNESS_GW_REFUSED;
		return HARNESS_GW_ANSWERED;
	default:
		return HARNESS_GW_NOT_HANDSHAKE;
	}
}
