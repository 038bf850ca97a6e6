/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_core_portable_vec.c - part of test_core_portable, built with
 * sga_core_cp_names.h forced in: every sga_* name here is the device build's
 * (sources.list + offload/portable, renamed sgacp_sga_*), none is the
 * OpenSSL one. It gives the test the core on the portable crypto as a table
 * (core_api.h) and checks the docs/PROTOCOL.md section 15 vectors the
 * device's code computes (tests/support/protocol_vectors.h, the same bytes
 * test_vectors.c checks on OpenSSL): the group elements and MACs of the key
 * exchange, transcript, E2E keys and confirms, d_i's key confirmation DATA_UP,
 * its NEG_REQ, a KEX_REPLY consumed by the device state machine, hop keys and
 * epochs, the DATA_UP "hello" frame and its inner layer, d_j opening the
 * relayed DATA_DOWN, d_i opening the DATA_ACK.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "core_api.h"
#include "protocol_vectors.h"
#include "sga_cursor.h"
#include "sga_device.h"
#include "sga_hop.h"
#include "sga_keys.h"
#include "sga_kex.h"
#include "sga_wire.h"

#if !defined(sga_core_init) || !defined(sga_aead_seal) || !defined(sga_dev_data_seal)
#error "build with -include sga_core_cp_names.h (tests/meson.build)"
#endif

const struct core_api core_api_portable = CORE_API_TABLE("portable");

void core_api_portable_set_random(sga_portable_random_fn fn, void *ctx)
{
	sga_portable_set_random(fn, ctx);
}

/* The inputs of section 15.1 these vectors take. */
#define SID     0x0102030405060708ull
#define EPOCH_I 0xe0e1e2e3e4e5e6e7ull
#define EPOCH_J 0xf0f1f2f3f4f5f6f7ull
static uint8_t k_d[SGA_KEY_LEN], k_t[SGA_KEY_LEN], k_tj[SGA_KEY_LEN];
static uint8_t R_i[SGA_EXPONENT_LEN], r_i[SGA_EXPONENT_LEN], R_j[SGA_EXPONENT_LEN],
    r_j[SGA_EXPONENT_LEN], R_s[SGA_EXPONENT_LEN];
static const uint8_t ID_I[] = "dev-i", ID_J[] = "dev-j", ID_G[] = "sga-gw";
static const uint8_t PREFS[] = {SGA_SUITE_CHACHA20_POLY1305, SGA_SUITE_AES128_GCM,
                                SGA_SUITE_AES128_CCM8};

static void inputs_init(void)
{
	for (int i = 0; i < SGA_KEY_LEN; i++) {
		k_d[i] = (uint8_t)i;
		k_t[i] = (uint8_t)(0x20 + i);
		k_tj[i] = (uint8_t)(0x40 + i);
	}
	memset(R_i, 0x11, sizeof(R_i));
	memset(r_i, 0x22, sizeof(r_i));
	memset(R_j, 0x33, sizeof(R_j));
	memset(r_j, 0x44, sizeof(r_j));
	memset(R_s, 0x55, sizeof(R_s));
}

static void fixed_nonce(uint8_t nonce[SGA_AEAD_NONCE_LEN], uint8_t first)
{
	for (int i = 0; i < SGA_AEAD_NONCE_LEN; i++)
		nonce[i] = (uint8_t)(first + i);
}

/* Section 15.4's transcript inputs, aes-128-gcm row. */
static struct sga_transcript transcript_gcm(void)
{
	struct sga_transcript t = {
	    .session_id = SID,
	    .id_g = ID_G,
	    .id_g_len = 6,
	    .id_i = ID_I,
	    .id_i_len = 5,
	    .id_j = ID_J,
	    .id_j_len = 5,
	    .prefs = PREFS,
	    .n_pref = sizeof(PREFS),
	    .suite = SGA_SUITE_AES128_GCM,
	    .group = SGA_GROUP_FFDHE2048,
	    .n_hash = {V_N_I_SHA, V_N_J_SHA},
	};

	return t;
}

#define RC_OK(expr)                                                                 \
	do {                                                                        \
		int rc_ = (expr);                                                   \
		cr_assert_eq(rc_, 0, "%s: %d (%s)", #expr, rc_, sga_err_name(rc_)); \
	} while (0)

static void expect_bytes(const char *what, const uint8_t *got, size_t got_len, const uint8_t *want,
                         size_t want_len)
{
	size_t i = 0;

	while (i < got_len && i < want_len && got[i] == want[i])
		i++;
	cr_assert(got_len == want_len && i == want_len,
	          "%s: %zu bytes, want %zu; first difference at byte %zu", what, got_len, want_len,
	          i);
}

static void sha256_of(const uint8_t *p, size_t n, uint8_t out[SGA_SHA256_LEN])
{
	struct sga_buf part = {p, n};

	RC_OK(sga_sha256(&part, 1, out));
}

/* The group computations of 15.3 on the portable modexp. */
struct kex_vals {
	const struct sga_group_info *grp;
	uint8_t N_i[256], N_j[256], K_is[256], X_i[256], X_j[256], K_isj[256], K_jsi[256];
};

static void kex_compute(struct kex_vals *v)
{
	v->grp = sga_group_get(SGA_GROUP_FFDHE2048);
	cr_assert(v->grp && v->grp->len == 256);
	RC_OK(sga_modexp(v->grp, NULL, R_i, SGA_EXPONENT_LEN, v->N_i));
	RC_OK(sga_modexp(v->grp, NULL, R_j, SGA_EXPONENT_LEN, v->N_j));
	RC_OK(sga_modexp(v->grp, v->N_i, r_i, SGA_EXPONENT_LEN, v->K_is));
	RC_OK(sga_modexp(v->grp, v->N_j, R_s, SGA_EXPONENT_LEN, v->X_i));
	RC_OK(sga_modexp(v->grp, v->N_i, R_s, SGA_EXPONENT_LEN, v->X_j));
	RC_OK(sga_modexp(v->grp, v->X_i, R_i, SGA_EXPONENT_LEN, v->K_isj));
	RC_OK(sga_modexp(v->grp, v->X_j, R_j, SGA_EXPONENT_LEN, v->K_jsi));
}

/* A confirmed session (section 15.6 takes the E2E keys as inputs). */
static void sess_established(struct sga_dev_sess *s, uint8_t role, const uint8_t *k_t_dev)
{
	const int init = role == SGA_ROLE_INITIATOR;

	memset(s, 0, sizeof(*s));
	s->state = SGA_DEV_S_ESTABLISHED;
	s->confirm_sent = 1;
	s->peer_confirmed = 1;
	s->role = role;
	s->session_id = SID;
	s->suite = SGA_SUITE_AES128_GCM;
	s->group = SGA_GROUP_FFDHE2048;
	s->hop_suite = SGA_SUITE_AES128_GCM;
	memcpy(s->e2e_tx_key, init ? V_DATA_E2E_IJ : V_DATA_E2E_JI, 16);
	memcpy(s->e2e_rx_key, init ? V_DATA_E2E_JI : V_DATA_E2E_IJ, 16);
	RC_OK(sga_key_hop(k_t_dev, SID, s->hop_suite, SGA_DIR_UP, s->hop_up));
	RC_OK(sga_key_hop(k_t_dev, SID, s->hop_suite, SGA_DIR_DOWN, s->hop_down_base));
	sga_replay_init(&s->hop_rx_win);
	sga_replay_init(&s->e2e_rx_win);
}

TestSuite(core_portable_vectors, .init = inputs_init);

Test(core_portable_vectors, hop_keys_and_epochs)
{
	uint8_t key[SGA_AEAD_MAX_KEY_LEN];

	RC_OK(sga_key_hop(k_t, SID, SGA_SUITE_AES128_GCM, SGA_DIR_UP, key));
	expect_bytes("d_i hop up key", key, 16, V_HOP_UP_GCM, sizeof(V_HOP_UP_GCM));
	RC_OK(sga_key_hop(k_t, SID, SGA_SUITE_AES128_GCM, SGA_DIR_DOWN, key));
	expect_bytes("d_i hop down base", key, 16, V_HOP_DOWN_GCM, sizeof(V_HOP_DOWN_GCM));
	RC_OK(sga_key_hop_epoch(V_HOP_DOWN_GCM, EPOCH_I, SGA_SUITE_AES128_GCM, key));
	expect_bytes("d_i hop down key e0..e7", key, 16, V_HOP_DOWN_E_GCM,
	             sizeof(V_HOP_DOWN_E_GCM));
	RC_OK(sga_key_hop(k_tj, SID, SGA_SUITE_AES128_GCM, SGA_DIR_DOWN, key));
	expect_bytes("d_j hop down base", key, 16, V_J_HOP_DOWN_GCM, sizeof(V_J_HOP_DOWN_GCM));
	RC_OK(sga_key_hop_epoch(V_J_HOP_DOWN_GCM, EPOCH_J, SGA_SUITE_AES128_GCM, key));
	expect_bytes("d_j hop down key f0..f7", key, 16, V_J_HOP_DOWN_E_GCM,
	             sizeof(V_J_HOP_DOWN_E_GCM));
}

Test(core_portable_vectors, data_up_frame)
{
	static struct sga_dev_sess s;
	uint8_t frame[128], nonce[SGA_AEAD_NONCE_LEN], inner[64];
	size_t len, inner_len;

	sess_established(&s, SGA_ROLE_INITIATOR, k_t);
	RC_OK(sga_dev_data_seal(&s, (const uint8_t *)"hello", 5, frame, sizeof(frame), &len));
	expect_bytes("DATA_UP", frame, len, V_DATA_UP, sizeof(V_DATA_UP));
	memset(nonce, 0, sizeof(nonce));
	RC_OK(sga_open_env(SGA_SUITE_AES128_GCM, V_HOP_UP_GCM, nonce, frame, 29, frame + 29,
	                   len - 29, inner, sizeof(inner), &inner_len));
	expect_bytes("DATA_UP inner (e2e_seq | e2e_ct)", inner, inner_len, V_DATA_INNER,
	             sizeof(V_DATA_INNER));
	sga_dev_sess_wipe(&s);
}

Test(core_portable_vectors, data_down_opened_by_d_j)
{
	static struct sga_dev_sess s;
	uint8_t msg[16];
	size_t len;

	sess_established(&s, SGA_ROLE_RESPONDER, k_tj);
	RC_OK(sga_dev_data_open(&s, V_DATA_DOWN, sizeof(V_DATA_DOWN), msg, sizeof(msg), &len));
	expect_bytes("d_j plaintext", msg, len, (const uint8_t *)"hello", 5);
	cr_assert_eq(s.hop_epoch, EPOCH_J, "d_j adopted the epoch of the frame");
	expect_bytes("d_j hop down key", s.hop_down, 16, V_J_HOP_DOWN_E_GCM, 16);
	cr_assert_eq(
	    sga_dev_data_open(&s, V_DATA_DOWN, sizeof(V_DATA_DOWN), msg, sizeof(msg), &len),
	    -SGA_E_REPLAY);
	sga_dev_sess_wipe(&s);
}

Test(core_portable_vectors, data_ack_opened_by_d_i)
{
	static struct sga_dev_sess s;
	struct sga_data_ack_plain got = {0, 0};

	sess_established(&s, SGA_ROLE_INITIATOR, k_t);
	RC_OK(sga_dev_ack_open(&s, V_DATA_ACK, sizeof(V_DATA_ACK), &got));
	cr_assert(got.top == 1 && got.bits == 1);
	sga_dev_sess_wipe(&s);
}

/* 15.3: the elements (by their SHA-256), d_i's init and reply MACs, K_isj. */
Test(core_portable_vectors, kex_elements_and_macs, .timeout = 60)
{
	static struct kex_vals v;
	uint8_t h[SGA_SHA256_LEN], mac[SGA_MAC_LEN];

	kex_compute(&v);
	RC_OK(sga_kex_n_hash(v.grp, v.N_i, h));
	expect_bytes("H(N_i)", h, sizeof(h), V_N_I_SHA, sizeof(V_N_I_SHA));
	sha256_of(v.N_j, 256, h);
	expect_bytes("H(N_j)", h, sizeof(h), V_N_J_SHA, sizeof(V_N_J_SHA));
	RC_OK(sga_kex_init_mac(v.grp, v.K_is, SID, v.N_i, mac));
	expect_bytes("init MAC d_i", mac, sizeof(mac), V_INIT_MAC_I, sizeof(V_INIT_MAC_I));
	RC_OK(sga_kex_reply_mac(v.grp, v.K_is, SID, ID_I, 5, ID_J, 5, v.X_i, V_N_J_SHA, mac));
	expect_bytes("reply MAC d_i", mac, sizeof(mac), V_REPLY_MAC_I, sizeof(V_REPLY_MAC_I));
	expect_bytes("K_isj both sides", v.K_isj, 256, v.K_jsi, 256);
	sha256_of(v.K_isj, 256, h);
	expect_bytes("H(K_isj)", h, sizeof(h), V_K_ISJ_SHA, sizeof(V_K_ISJ_SHA));
}

/* 15.4-15.5: transcript, E2E keys, confirms, and d_i's key confirmation as
 * its first DATA_UP, by the session key schedule the core runs. */
Test(core_portable_vectors, key_confirm_data_up, .timeout = 60)
{
	static struct sga_dev_sess s;
	static struct kex_vals v;
	struct sga_transcript t = transcript_gcm();
	uint8_t th[SGA_SHA256_LEN], kc[SGA_MAC_LEN], frame[128];
	size_t len;

	kex_compute(&v);
	RC_OK(sga_transcript_hash(&t, th));
	expect_bytes("transcript", th, sizeof(th), V_TRANSCRIPT_GCM, sizeof(V_TRANSCRIPT_GCM));
	RC_OK(sga_key_confirm(v.K_isj, 256, th, kc));
	expect_bytes("k_confirm", kc, sizeof(kc), V_K_CONFIRM_GCM, sizeof(V_K_CONFIRM_GCM));
	memset(&s, 0, sizeof(s));
	s.state = SGA_DEV_S_ESTABLISHED;
	s.role = SGA_ROLE_INITIATOR;
	s.session_id = SID;
	s.suite = SGA_SUITE_AES128_GCM;
	s.group = SGA_GROUP_FFDHE2048;
	s.hop_suite = SGA_SUITE_AES128_GCM;
	RC_OK(sga_dev_sess_derive(&s, v.K_isj, 256, k_t, &t));
	expect_bytes("e2e i->j", s.e2e_tx_key, 16, V_E2E_IJ_GCM, sizeof(V_E2E_IJ_GCM));
	expect_bytes("e2e j->i", s.e2e_rx_key, 16, V_E2E_JI_GCM, sizeof(V_E2E_JI_GCM));
	expect_bytes("confirm d_i", s.confirm_tx, 32, V_CONFIRM_I_GCM, sizeof(V_CONFIRM_I_GCM));
	expect_bytes("confirm d_j", s.confirm_rx, 32, V_CONFIRM_J_GCM, sizeof(V_CONFIRM_J_GCM));
	sga_replay_init(&s.hop_rx_win);
	sga_replay_init(&s.e2e_rx_win);
	RC_OK(sga_dev_create_key_confirm(&s, frame, sizeof(frame), &len));
	expect_bytes("confirm DATA_UP", frame, len, V_CONFIRM_UP_I, sizeof(V_CONFIRM_UP_I));
	sga_dev_sess_wipe(&s);
}

/* 15.7: d_i's NEG_REQ (counter 1, nonce b0..bb, prefs [03, 01]) under its
 * control key. */
Test(core_portable_vectors, neg_req_frame)
{
	struct sga_neg_req_plain a1;
	uint8_t plain[128], frame[256], nonce[SGA_AEAD_NONCE_LEN], ctl[16], *ct;
	size_t plain_len, aad_len;

	memset(&a1, 0, sizeof(a1));
	a1.peer_id_len = 5;
	memcpy(a1.peer_id, ID_J, 5);
	a1.n_pref = 2;
	a1.prefs[0] = SGA_SUITE_CHACHA20_POLY1305;
	a1.prefs[1] = SGA_SUITE_AES128_GCM;
	memcpy(a1.k_t, k_t, sizeof(k_t));
	RC_OK(sga_neg_req_plain_encode(&a1, plain, sizeof(plain), &plain_len));
	expect_bytes("NEG_REQ plaintext", plain, plain_len, V_NEG_REQ_PLAIN,
	             sizeof(V_NEG_REQ_PLAIN));
	RC_OK(sga_key_ctl(k_d, SGA_SUITE_AES128_GCM, ctl));
	fixed_nonce(nonce, 0xb0);
	RC_OK(sga_env_dev_encode(SGA_MSG_NEG_REQ, ID_I, 5, 1, nonce, plain_len + 16, frame,
	                         sizeof(frame), &ct, &aad_len));
	RC_OK(sga_aead_seal(SGA_SUITE_AES128_GCM, ctl, nonce, frame, aad_len, plain, plain_len, ct,
	                    plain_len + 16));
	expect_bytes("NEG_REQ", frame, aad_len + plain_len + 16, V_NEG_REQ, sizeof(V_NEG_REQ));
}

/* 15.5 (B5 to B7): a KEX_REPLY to d_i, consumed by the device state machine,
 * gives the published E2E keys, confirms and hop keys. */
Test(core_portable_vectors, kex_reply_consumed, .timeout = 60)
{
	static struct sga_dev d;
	static struct sga_dev_sess s;
	static struct kex_vals v;
	struct sga_kex_reply_plain b5;
	uint8_t kk[16], nonce[SGA_AEAD_NONCE_LEN], mac[SGA_MAC_LEN], plain[2 + 256 + 32 + 32],
	    frame[512], *ct;
	size_t plain_len, aad_len, len;

	kex_compute(&v);
	RC_OK(sga_kex_reply_mac(v.grp, v.K_is, SID, ID_I, 5, ID_J, 5, v.X_i, V_N_J_SHA, mac));
	b5.x_len = 256;
	b5.x = v.X_i;
	b5.n_hash_peer = V_N_J_SHA;
	b5.mac = mac;
	RC_OK(sga_kex_reply_plain_encode(&b5, plain, sizeof(plain), &plain_len));
	RC_OK(sga_key_kex(k_t, SID, SGA_SUITE_AES128_GCM, kk));
	fixed_nonce(nonce, 0xd0);
	RC_OK(sga_env_sess_encode(SGA_MSG_KEX_REPLY, SID, SGA_ROLE_INITIATOR, nonce, plain_len + 16,
	                          frame, sizeof(frame), &ct, &aad_len));
	RC_OK(sga_aead_seal(SGA_SUITE_AES128_GCM, kk, nonce, frame, aad_len, plain, plain_len, ct,
	                    plain_len + 16));
	len = aad_len + plain_len + 16;

	memset(&d, 0, sizeof(d));
	d.grp = v.grp;
	d.id_len = 5;
	memcpy(d.id, ID_I, 5);
	memcpy(d.k_d, k_d, sizeof(k_d));
	d.suite_init = SGA_SUITE_AES128_GCM;
	d.pkg.id_len = 6;
	memcpy(d.pkg.id, ID_G, 6);
	memset(&s, 0, sizeof(s));
	s.state = SGA_DEV_S_KEX;
	s.role = SGA_ROLE_INITIATOR;
	s.session_id = SID;
	s.peer_id_len = 5;
	memcpy(s.peer_id, ID_J, 5);
	s.suite = SGA_SUITE_AES128_GCM;
	s.group = SGA_GROUP_FFDHE2048;
	s.hop_suite = SGA_SUITE_AES128_GCM;
	memcpy(s.k_t, k_t, sizeof(k_t));
	memcpy(s.kex_key, kk, sizeof(kk));
	memcpy(s.R, R_i, sizeof(R_i));
	memcpy(s.K, v.K_is, 256);
	memcpy(s.n_hash, V_N_I_SHA, sizeof(s.n_hash));
	s.n_pref = sizeof(PREFS);
	memcpy(s.prefs, PREFS, sizeof(PREFS));
	s.kex_made = 1;
	RC_OK(sga_dev_consume_kex_reply(&d, &s, frame, len));
	cr_assert_eq(s.state, SGA_DEV_S_ESTABLISHED);
	expect_bytes("d_i e2e tx key", s.e2e_tx_key, 16, V_E2E_IJ_GCM, 16);
	expect_bytes("d_i e2e rx key", s.e2e_rx_key, 16, V_E2E_JI_GCM, 16);
	expect_bytes("d_i confirm", s.confirm_tx, 32, V_CONFIRM_I_GCM, 32);
	expect_bytes("d_j confirm expected", s.confirm_rx, 32, V_CONFIRM_J_GCM, 32);
	expect_bytes("d_i hop up key", s.hop_up, 16, V_HOP_UP_GCM, 16);
	expect_bytes("d_i hop down base", s.hop_down_base, 16, V_HOP_DOWN_GCM, 16);
	sga_dev_sess_wipe(&s);
}
