/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_attacks.c - each security claim of the SGA paper's section 5 (mutual
 * authentication, key guessing, undetectable on-line key guessing, data
 * privacy, relay attack) and each deviation of DESIGN.md, as an attack that
 * must fail with one exact error code and leave every record as it was; plus
 * a positive control showing the forgery the first two deviations close does
 * succeed against the paper's original flow.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "sga_client.h"
#include "sga_hex.h"
#include "sga_keys.h"
#include "sga_kex.h"

static const uint8_t ALL[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_AES256_GCM,
                              SGA_SUITE_CHACHA20_POLY1305, SGA_SUITE_AES128_CCM8};

/* ---- state snapshots ------------------------------------------------------- */

/* Everything the gateway holds; memcpy, not assignment, so padding compares too. */
struct gw_snap {
	struct sga_gw gw;
	struct sga_gw_device rec[2];
	struct sga_gw_session gsess;
};

static void snap_take(const struct harness *h, struct gw_snap *s)
{
	memcpy(&s->gw, &h->gw, sizeof(s->gw));
	memcpy(s->rec, h->rec, sizeof(s->rec));
	memcpy(&s->gsess, &h->gsess, sizeof(s->gsess));
}

static void snap_check(const struct harness *h, const struct gw_snap *s)
{
	cr_assert_eq(memcmp(&s->gw, &h->gw, sizeof(s->gw)), 0, "gateway state changed");
	cr_assert_eq(memcmp(&s->rec[0], &h->rec[0], sizeof(s->rec[0])), 0, "record of d_i changed");
	cr_assert_eq(memcmp(&s->rec[1], &h->rec[1], sizeof(s->rec[1])), 0, "record of d_j changed");
	cr_assert_eq(memcmp(&s->gsess, &h->gsess, sizeof(s->gsess)), 0, "session record changed");
}

/* A gateway call on h's records must fail with exactly `code` and change nothing. */
#define GW_REJECTS(h, code, call)                                                           \
	do {                                                                                \
		struct gw_snap snap_;                                                       \
		int rc_;                                                                    \
		snap_take((h), &snap_);                                                     \
		rc_ = (call);                                                               \
		cr_assert_eq(rc_, -(code), "%s: got %s, want %s", #call, sga_err_name(rc_), \
		             sga_err_name(code));                                           \
		snap_check((h), &snap_);                                                    \
	} while (0)

struct dev_snap {
	struct sga_dev dev;
	struct sga_dev_sess sess;
};

/* A device call must fail with exactly `code` and leave the device and session as they were. */
#define DEV_REJECTS(d, s, code, call)                                                            \
	do {                                                                                     \
		struct dev_snap dsnap_;                                                          \
		int rc_;                                                                         \
		memcpy(&dsnap_.dev, (d), sizeof(dsnap_.dev));                                    \
		memcpy(&dsnap_.sess, (s), sizeof(dsnap_.sess));                                  \
		rc_ = (call);                                                                    \
		cr_assert_eq(rc_, -(code), "%s: got %s, want %s", #call, sga_err_name(rc_),      \
		             sga_err_name(code));                                                \
		cr_assert_eq(memcmp(&dsnap_.dev, (d), sizeof(dsnap_.dev)), 0, "device changed"); \
		cr_assert_eq(memcmp(&dsnap_.sess, (s), sizeof(dsnap_.sess)), 0,                  \
		             "session changed");                                                 \
	} while (0)

/* ---- setup ------------------------------------------------------------------ */

static void setup_lists(struct harness *h, const uint8_t *si, uint8_t ni, const uint8_t *sj,
                        uint8_t nj)
{
	cr_assert_eq(harness_init(h, SGA_GROUP_FFDHE2048, si, ni, sj, nj), 0);
}

static void setup(struct harness *h)
{
	setup_lists(h, ALL, 4, ALL, 4);
}

/* Registered and negotiated: both sessions in KEX. */
static void up_to_kex(struct harness *h)
{
	setup(h);
	cr_assert_eq(harness_register(h, 0), 0);
	cr_assert_eq(harness_register(h, 1), 0);
	cr_assert_eq(harness_negotiate(h, ALL, 4), 0);
}

static void full(struct harness *h)
{
	setup(h);
	cr_assert_eq(harness_full(h, ALL, 4), 0);
}

/* The record the gateway's caller would load for an identity, or NULL. */
static struct sga_gw_device *lookup(struct harness *h, const uint8_t *id, uint8_t id_len)
{
	for (int k = 0; k < 2; k++)
		if (h->rec[k].id_len == id_len && !memcmp(h->rec[k].id, id, id_len))
			return &h->rec[k];
	return NULL;
}

/* ---- session-envelope surgery ------------------------------------------------ */

/* A decoded KEX_INIT with its own copies of every field. */
struct b1 {
	uint64_t sid;
	uint8_t role;
	uint16_t n_len;
	uint8_t n[SGA_GROUP_MAX_LEN];
	uint8_t proof_len;
	uint8_t proof[SGA_PROOF_MAX];
	uint16_t f_len;
	uint8_t f[SGA_RSA_MAX_LEN];
	uint8_t mac[SGA_MAC_LEN];
};

static void sess_open(const uint8_t k_t[SGA_KEY_LEN], uint8_t suite, uint8_t want_type,
                      const uint8_t *frame, size_t len, struct sga_env_sess *env, uint8_t *plain,
                      size_t *plain_len)
{
	uint8_t key[SGA_AEAD_MAX_KEY_LEN];

	cr_assert_eq(sga_env_sess_decode(frame, len, env), 0);
	cr_assert_eq(env->type, want_type);
	cr_assert_eq(sga_key_kex(k_t, env->session_id, suite, key), 0);
	cr_assert_eq(sga_open_env(suite, key, env->nonce, env->aad, env->aad_len, env->ct,
	                          env->ct_len, plain, SGA_FRAME_MAX, plain_len),
	             0);
}

static void sess_seal(const uint8_t k_t[SGA_KEY_LEN], uint8_t suite, uint8_t type, uint64_t sid,
                      uint8_t role, const uint8_t *plain, size_t plain_len, uint8_t *out,
                      size_t *len)
{
	uint8_t key[SGA_AEAD_MAX_KEY_LEN];

	cr_assert_eq(sga_key_kex(k_t, sid, suite, key), 0);
	cr_assert_eq(sga_seal_sess_env(type, sid, role, suite, key, plain, plain_len, out,
	                               SGA_FRAME_MAX, len),
	             0);
}

/* Open the KEX_INIT of session s (the device's k_t) into b. */
static void b1_open(const struct sga_dev_sess *s, const uint8_t *frame, size_t len, struct b1 *b)
{
	struct sga_env_sess env;
	struct sga_kex_init_plain m;
	uint8_t plain[SGA_FRAME_MAX];
	size_t plain_len;

	sess_open(s->k_t, s->hop_suite, SGA_MSG_KEX_INIT, frame, len, &env, plain, &plain_len);
	cr_assert_eq(sga_kex_init_plain_decode(plain, plain_len, &m), 0);
	b->sid = env.session_id;
	b->role = env.role;
	b->n_len = m.n_len;
	memcpy(b->n, m.n, m.n_len);
	b->proof_len = m.proof_len;
	memcpy(b->proof, m.proof, m.proof_len);
	b->f_len = m.f_len;
	memcpy(b->f, m.f, m.f_len);
	memcpy(b->mac, m.mac, SGA_MAC_LEN);
}

/* Re-encode b and seal it again, validly, under session s's k_t. */
static void b1_seal(const struct sga_dev_sess *s, const struct b1 *b, uint8_t *out, size_t *len)
{
	struct sga_kex_init_plain m = {b->n_len, b->n, b->proof_len, b->proof,
	                               b->f_len, b->f, b->mac};
	uint8_t plain[SGA_FRAME_MAX];
	size_t plain_len;

	cr_assert_eq(sga_kex_init_plain_encode(&m, plain, sizeof(plain), &plain_len), 0);
	sess_seal(s->k_t, s->hop_suite, SGA_MSG_KEX_INIT, b->sid, b->role, plain, plain_len, out,
	          len);
}

/* The H(N_peer) a forged KEX_REPLY carries (any value: the forger names it). */
static const uint8_t FORGED_N_HASH[SGA_SHA256_LEN] = {0x4e};

/* A KEX_REPLY (X, n_hash, mac) sealed under k_t for (sid, role). */
static void b5_make_n(const uint8_t k_t[SGA_KEY_LEN], uint8_t suite, uint64_t sid, uint8_t role,
                      const uint8_t *x, uint16_t x_len, const uint8_t n_hash[SGA_SHA256_LEN],
                      const uint8_t mac[SGA_MAC_LEN], uint8_t *out, size_t *len)
{
	struct sga_kex_reply_plain m = {x_len, x, n_hash, mac};
	uint8_t plain[SGA_FRAME_MAX];
	size_t plain_len;

	cr_assert_eq(sga_kex_reply_plain_encode(&m, plain, sizeof(plain), &plain_len), 0);
	sess_seal(k_t, suite, SGA_MSG_KEX_REPLY, sid, role, plain, plain_len, out, len);
}

/* A KEX_REPLY (X, FORGED_N_HASH, mac) sealed under k_t for (sid, role). */
static void b5_make(const uint8_t k_t[SGA_KEY_LEN], uint8_t suite, uint64_t sid, uint8_t role,
                    const uint8_t *x, uint16_t x_len, const uint8_t mac[SGA_MAC_LEN], uint8_t *out,
                    size_t *len)
{
	b5_make_n(k_t, suite, sid, role, x, x_len, FORGED_N_HASH, mac, out, len);
}

/* The reply MAC d_i checks, under a MAC key K of the attacker's choosing, for
 * a reply carrying FORGED_N_HASH. */
static void reply_mac_for_i(const struct harness *h, const uint8_t *K, const uint8_t *X,
                            uint8_t mac[SGA_MAC_LEN])
{
	const struct sga_dev_sess *s = &h->sess[0];

	cr_assert_eq(sga_kex_reply_mac(h->dev[0].grp, K, s->session_id, h->dev[0].id,
	                               h->dev[0].id_len, s->peer_id, s->peer_id_len, X,
	                               FORGED_N_HASH, mac),
	             0);
}

/* Both devices made their KEX_INIT (frames returned); the gateway has both and
 * produced B5 (out->msg[0], to d_i) and B6 (out->msg[1]); no device consumed yet. */
static void kex_until_replies(struct harness *h, uint8_t b1[2][SGA_FRAME_MAX], size_t b1_len[2],
                              struct sga_gw_out *out)
{
	up_to_kex(h);
	for (int k = 0; k < 2; k++) {
		cr_assert_eq(sga_dev_create_kex_init(&h->dev[k], &h->sess[k], b1[k], SGA_FRAME_MAX,
		                                     &b1_len[k]),
		             0);
		cr_assert_eq(
		    sga_gw_kex_init_handle(&h->gw, &h->rec[k], &h->gsess, b1[k], b1_len[k], out),
		    0);
	}
	cr_assert_eq(out->n, 2);
	cr_assert_arr_eq(out->msg[0].to_id, "dev-i", 5);
}

/* ---- mutual authentication: device -> gateway ------------------------------- */

/* Paper 5 "mutual authentication" / deviation "A1 authenticated": an A1 sealed under a wrong k_d is refused. */
Test(auth, neg_req_under_wrong_kd)
{
	struct harness h;
	struct sga_neg_req_plain a1;
	uint8_t real[SGA_KEY_LEN];
	uint64_t ctr;

	setup(&h);
	cr_assert_eq(harness_register(&h, 0), 0);
	cr_assert_eq(harness_register(&h, 1), 0);
	memcpy(real, h.dev[0].k_d, SGA_KEY_LEN);
	cr_assert_eq(sga_random_bytes(h.dev[0].k_d, SGA_KEY_LEN), 0);
	cr_assert_eq(sga_dev_create_neg_req(&h.dev[0], &h.sess[0], h.dev[1].id, 5, ALL, 4, h.frame,
	                                    sizeof(h.frame), &h.frame_len),
	             0);
	memcpy(h.dev[0].k_d, real, SGA_KEY_LEN);
	GW_REJECTS(&h, SGA_E_AUTH,
	           sga_gw_neg_req_open(&h.gw, &h.rec[0], h.frame, h.frame_len, &a1, &ctr));
	harness_fini(&h);
}

/* Paper 5 "key guessing": on-line guesses of k_d all fail the same way and move no counter. */
Test(auth, kd_guessing_is_fruitless)
{
	struct harness h;
	struct sga_neg_req_plain a1;
	uint8_t real[SGA_KEY_LEN];
	uint64_t ctr;

	setup(&h);
	cr_assert_eq(harness_register(&h, 0), 0);
	cr_assert_eq(harness_register(&h, 1), 0);
	memcpy(real, h.dev[0].k_d, SGA_KEY_LEN);
	for (int g = 0; g < 32; g++) {
		/* Guesses one bit away from the real key are no better than random ones. */
		memcpy(h.dev[0].k_d, real, SGA_KEY_LEN);
		h.dev[0].k_d[g] ^= 0x01;
		h.dev[0].up_ctr = 0;
		cr_assert_eq(sga_dev_create_neg_req(&h.dev[0], &h.sess[0], h.dev[1].id, 5, ALL, 4,
		                                    h.frame, sizeof(h.frame), &h.frame_len),
		             0);
		GW_REJECTS(&h, SGA_E_AUTH,
		           sga_gw_neg_req_open(&h.gw, &h.rec[0], h.frame, h.frame_len, &a1, &ctr));
	}
	/* The real key still works: no lock-out and no counter burnt by the guesses. */
	memcpy(h.dev[0].k_d, real, SGA_KEY_LEN);
	h.dev[0].up_ctr = 0;
	cr_assert_eq(harness_negotiate(&h, ALL, 4), 0);
	harness_fini(&h);
}

/* Paper 5 "mutual authentication" (B2: E_kd(N xor k_d)): a KEX_INIT whose proof used a wrong k_d is refused. */
Test(auth, kex_init_proof_under_wrong_kd)
{
	struct harness h;
	struct sga_gw_out out;
	uint8_t real[SGA_KEY_LEN];

	up_to_kex(&h);
	memcpy(real, h.dev[0].k_d, SGA_KEY_LEN);
	cr_assert_eq(sga_random_bytes(h.dev[0].k_d, SGA_KEY_LEN), 0);
	cr_assert_eq(
	    sga_dev_create_kex_init(&h.dev[0], &h.sess[0], h.frame, sizeof(h.frame), &h.frame_len),
	    0);
	memcpy(h.dev[0].k_d, real, SGA_KEY_LEN);
	GW_REJECTS(&h, SGA_E_AUTH,
	           sga_gw_kex_init_handle(&h.gw, &h.rec[0], &h.gsess, h.frame, h.frame_len, &out));
	cr_assert_eq(out.n, 0);
	harness_fini(&h);
}

/* Paper 5 "mutual authentication" (B2: f_K(N)): forged MAC, N, F or proof inside a validly sealed KEX_INIT. */
Test(auth, kex_init_forged_fields)
{
	struct harness h;
	struct sga_gw_out out;
	struct b1 orig, b;
	uint8_t f[SGA_FRAME_MAX];
	size_t f_len;

	up_to_kex(&h);
	cr_assert_eq(
	    sga_dev_create_kex_init(&h.dev[0], &h.sess[0], h.frame, sizeof(h.frame), &h.frame_len),
	    0);
	b1_open(&h.sess[0], h.frame, h.frame_len, &orig);

	/* The re-sealing itself is sound: the unmodified fields are accepted. */
	{
		struct harness h2;

		up_to_kex(&h2);
		cr_assert_eq(sga_dev_create_kex_init(&h2.dev[0], &h2.sess[0], f, sizeof(f), &f_len),
		             0);
		b1_open(&h2.sess[0], f, f_len, &b);
		b1_seal(&h2.sess[0], &b, f, &f_len);
		cr_assert_eq(sga_gw_kex_init_handle(&h2.gw, &h2.rec[0], &h2.gsess, f, f_len, &out),
		             0);
		harness_fini(&h2);
	}

	for (size_t i = 0; i < SGA_MAC_LEN; i += 7) {
		b = orig;
		b.mac[i] ^= 0x01; /* f_K(N) forged */
		b1_seal(&h.sess[0], &b, f, &f_len);
		GW_REJECTS(&h, SGA_E_AUTH,
		           sga_gw_kex_init_handle(&h.gw, &h.rec[0], &h.gsess, f, f_len, &out));
	}
	b = orig;
	/* another valid element: the MAC no longer matches (on a curve, half of
	 * the x values have no point: flip on until one has) */
	for (uint8_t bit = 1; bit; bit = (uint8_t)(bit << 1)) {
		b.n[b.n_len / 2] = orig.n[b.n_len / 2] ^ bit;
		if (sga_group_element_ok(h.dev[0].grp, b.n))
			break;
	}
	cr_assert(sga_group_element_ok(h.dev[0].grp, b.n));
	b1_seal(&h.sess[0], &b, f, &f_len);
	GW_REJECTS(&h, SGA_E_AUTH,
	           sga_gw_kex_init_handle(&h.gw, &h.rec[0], &h.gsess, f, f_len, &out));
	b = orig;
	b.f[10] ^= 0x01; /* F_G(r) tampered: the trapdoor does not invert */
	b1_seal(&h.sess[0], &b, f, &f_len);
	GW_REJECTS(&h, SGA_E_AUTH,
	           sga_gw_kex_init_handle(&h.gw, &h.rec[0], &h.gsess, f, f_len, &out));
	b = orig;
	b.proof[b.proof_len - 1] ^= 0x01; /* E_kd(N xor k_d) tampered */
	b1_seal(&h.sess[0], &b, f, &f_len);
	GW_REJECTS(&h, SGA_E_AUTH,
	           sga_gw_kex_init_handle(&h.gw, &h.rec[0], &h.gsess, f, f_len, &out));
	/* The untouched original still goes through: the failures left no trace. */
	cr_assert_eq(sga_gw_kex_init_handle(&h.gw, &h.rec[0], &h.gsess, h.frame, h.frame_len, &out),
	             0);
	harness_fini(&h);
}

/* Paper 5 "mutual authentication": d_i's KEX_INIT presented as d_j's (other record) is refused. */
Test(auth, kex_init_under_other_member_record)
{
	struct harness h;
	struct sga_gw_out out;

	up_to_kex(&h);
	cr_assert_eq(
	    sga_dev_create_kex_init(&h.dev[0], &h.sess[0], h.frame, sizeof(h.frame), &h.frame_len),
	    0);
	GW_REJECTS(&h, SGA_E_UNKNOWN_DEVICE,
	           sga_gw_kex_init_handle(&h.gw, &h.rec[1], &h.gsess, h.frame, h.frame_len, &out));
	harness_fini(&h);
}

/* ---- mutual authentication: gateway -> device -------------------------------- */

/* Paper 5 "mutual authentication" (B5/B6: f_K(ID_i, ID_j, K, X)): a forged reply MAC or X is refused by the device. */
Test(auth, kex_reply_forged_mac_or_x)
{
	struct harness h;
	struct sga_gw_out out;
	struct sga_env_sess env;
	struct sga_kex_reply_plain m;
	uint8_t b1[2][SGA_FRAME_MAX], plain[SGA_FRAME_MAX], x[SGA_GROUP_MAX_LEN], mac[SGA_MAC_LEN];
	uint8_t f[SGA_FRAME_MAX], nh[SGA_SHA256_LEN];
	size_t b1_len[2], plain_len, f_len;

	kex_until_replies(&h, b1, b1_len, &out);
	sess_open(h.sess[0].k_t, h.sess[0].hop_suite, SGA_MSG_KEX_REPLY, out.msg[0].frame,
	          out.msg[0].len, &env, plain, &plain_len);
	cr_assert_eq(sga_kex_reply_plain_decode(plain, plain_len, &m), 0);
	memcpy(x, m.x, m.x_len);
	memcpy(nh, m.n_hash_peer, SGA_SHA256_LEN);
	memcpy(mac, m.mac, SGA_MAC_LEN);

	for (size_t i = 0; i < SGA_MAC_LEN; i += 5) {
		mac[i] ^= 0x80;
		b5_make_n(h.sess[0].k_t, h.sess[0].hop_suite, env.session_id, env.role, x, m.x_len,
		          nh, mac, f, &f_len);
		DEV_REJECTS(&h.dev[0], &h.sess[0], SGA_E_AUTH,
		            sga_dev_consume_kex_reply(&h.dev[0], &h.sess[0], f, f_len));
		mac[i] ^= 0x80;
	}
	{
		/* A different, still valid, element: on a curve about one x in two
		 * has a point, so try the last byte's other values until one does
		 * (seven single-bit flips all missed about one run in 128 on p256). */
		const uint8_t orig_x = x[m.x_len - 1];

		for (unsigned d = 2; d < 256; d++) {
			x[m.x_len - 1] = (uint8_t)(orig_x ^ d);
			if (sga_group_element_ok(h.dev[0].grp, x))
				break;
		}
		cr_assert(sga_group_element_ok(h.dev[0].grp, x));
		b5_make_n(h.sess[0].k_t, h.sess[0].hop_suite, env.session_id, env.role, x, m.x_len,
		          nh, mac, f, &f_len);
		DEV_REJECTS(&h.dev[0], &h.sess[0], SGA_E_AUTH,
		            sga_dev_consume_kex_reply(&h.dev[0], &h.sess[0], f, f_len));
		x[m.x_len - 1] = orig_x;
	}
	/* The peer's element the gateway names is under the reply MAC too. */
	nh[7] ^= 0x01;
	b5_make_n(h.sess[0].k_t, h.sess[0].hop_suite, env.session_id, env.role, x, m.x_len, nh, mac,
	          f, &f_len);
	DEV_REJECTS(&h.dev[0], &h.sess[0], SGA_E_AUTH,
	            sga_dev_consume_kex_reply(&h.dev[0], &h.sess[0], f, f_len));
	nh[7] ^= 0x01;
	/* Re-sealed but unmodified: accepted (the surgery is sound). */
	b5_make_n(h.sess[0].k_t, h.sess[0].hop_suite, env.session_id, env.role, x, m.x_len, nh, mac,
	          f, &f_len);
	cr_assert_eq(sga_dev_consume_kex_reply(&h.dev[0], &h.sess[0], f, f_len), 0);
	harness_fini(&h);
}

/* A gateway with the real one's identity, profile and suite registry, and key
 * pairs of its own (fresh RSA-2048 pairs for ffdhe, fresh EC keys otherwise):
 * what an impostor can publish. Freed with sga_gw_fini. */
static void fake_gateway(struct sga_gw *fake, const struct sga_gw *real)
{
	const struct sga_package *rp = &real->prof[0].pkg;
	struct sga_rsa_key *pk = NULL, *tpk = NULL;

	if (sga_pke_is_hpke(rp->group)) {
		cr_assert_eq(sga_gw_init_empty(fake, rp->id, rp->id_len, rp->suites, rp->n_suites,
		                               SGA_ENROLL_OPEN),
		             0);
		cr_assert_eq(harness_gw_add_profile(fake, rp->group), 0);
		return;
	}
	cr_assert_eq(sga_rsa_generate(2048, &pk), 0);
	cr_assert_eq(sga_rsa_generate(2048, &tpk), 0);
	cr_assert_eq(sga_gw_init(fake, rp->id, rp->id_len, rp->group, rp->suites, rp->n_suites, pk,
	                         tpk, SGA_ENROLL_OPEN),
	             0);
}

/* Paper 5 "mutual authentication" (E_PK): a fake gateway with its own keys cannot open a REG_REQ made for the real package. */
Test(fake_gateway, cannot_open_registration)
{
	struct harness h;
	struct sga_gw fake;
	struct sga_reg_req env;
	struct sga_reg_plain req;

	setup(&h);
	fake_gateway(&fake, &h.gw);
	cr_assert_eq(
	    sga_dev_create_reg_req(&h.dev[0], NULL, 0, 0, h.frame, sizeof(h.frame), &h.frame_len),
	    0);
	cr_assert_eq(sga_gw_reg_open(&fake, h.frame, h.frame_len, &env, &req), -SGA_E_AUTH);
	/* The real gateway can. */
	cr_assert_eq(sga_gw_reg_open(&h.gw, h.frame, h.frame_len, &env, &req), 0);
	sga_gw_fini(&fake);
	harness_fini(&h);
}

/* Paper 5 "mutual authentication" (F_G trapdoor): a fake gateway that knows every
 * k_d and k_t (worst case) but not the trapdoor cannot complete B2/B4 nor make a
 * KEX_REPLY the device accepts. */
Test(fake_gateway, without_trapdoor_cannot_answer_kex)
{
	struct harness h;
	struct sga_gw fake;
	struct sga_gw_session fsess;
	struct sga_gw_out out;
	struct b1 b;
	uint8_t b1f[2][SGA_FRAME_MAX], r[SGA_EXPONENT_LEN], x_exp[SGA_EXPONENT_LEN];
	uint8_t K[SGA_GROUP_MAX_LEN], X[SGA_GROUP_MAX_LEN], mac[SGA_MAC_LEN], f[SGA_FRAME_MAX];
	size_t b1_len[2], f_len;
	const struct sga_group_info *grp;

	up_to_kex(&h);
	grp = h.dev[0].grp;
	fake_gateway(&fake, &h.gw);
	for (int k = 0; k < 2; k++)
		cr_assert_eq(sga_dev_create_kex_init(&h.dev[k], &h.sess[k], b1f[k], SGA_FRAME_MAX,
		                                     &b1_len[k]),
		             0);

	/* The fake holds copies of the real records (k_d, k_t): it still cannot invert F_G. */
	memcpy(&fsess, &h.gsess, sizeof(fsess));
	for (int k = 0; k < 2; k++)
		cr_assert_eq(
		    sga_gw_kex_init_handle(&fake, &h.rec[k], &fsess, b1f[k], b1_len[k], &out),
		    -SGA_E_AUTH);
	cr_assert_eq(memcmp(&fsess, &h.gsess, sizeof(fsess)), 0);

	/* It reads N_i (it knows k_ti) and guesses K: N_i^r' for its own r', g^x, or N_i itself. */
	b1_open(&h.sess[0], b1f[0], b1_len[0], &b);
	cr_assert_eq(sga_group_scalar_random(grp, x_exp), 0);
	cr_assert_eq(sga_group_mul(grp, NULL, x_exp, X), 0);
	for (int guess = 0; guess < 3; guess++) {
		if (guess == 0) {
			cr_assert_eq(sga_group_scalar_random(grp, r), 0);
			cr_assert_eq(sga_group_shared(grp, b.n, r, K), 0);
		} else if (guess == 1) {
			cr_assert_eq(sga_group_mul(grp, NULL, x_exp, K), 0);
		} else {
			memcpy(K, b.n, grp->len);
		}
		reply_mac_for_i(&h, K, X, mac);
		b5_make(h.sess[0].k_t, h.sess[0].hop_suite, h.sess[0].session_id,
		        SGA_ROLE_INITIATOR, X, (uint16_t)grp->len, mac, f, &f_len);
		DEV_REJECTS(&h.dev[0], &h.sess[0], SGA_E_AUTH,
		            sga_dev_consume_kex_reply(&h.dev[0], &h.sess[0], f, f_len));
	}
	/* The real gateway completes the exchange. */
	for (int k = 0; k < 2; k++)
		cr_assert_eq(
		    sga_gw_kex_init_handle(&h.gw, &h.rec[k], &h.gsess, b1f[k], b1_len[k], &out), 0);
	cr_assert_eq(
	    sga_dev_consume_kex_reply(&h.dev[0], &h.sess[0], out.msg[0].frame, out.msg[0].len), 0);
	sga_gw_fini(&fake);
	harness_fini(&h);
}

/* ---- a man in the middle at the gateway's address ------------------------------ */

/* It answers PKG_REQ with a package of its own: well-formed, with the real
 * gateway's identity, group and suite registry, only the two RSA keys are its
 * own (so the fingerprint differs). A device that took it would encrypt its
 * REG_REQ - its k_d - to the attacker, which opens whatever REG_REQ reaches it. */
struct mitm {
	struct sga_gw gw;
	int fd;
	uint16_t port;
	pthread_t thr;
	atomic_int stop, pkg_served, reg_opened;
};

static void *mitm_main(void *arg)
{
	struct mitm *m = arg;
	uint8_t buf[SGA_FRAME_MAX];

	while (!atomic_load(&m->stop)) {
		struct pollfd p = {.fd = m->fd, .events = POLLIN};
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		struct sga_gw_out out = {.n = 0};
		struct sga_reg_req env;
		struct sga_reg_plain req;
		struct sga_gw_device rec;
		ssize_t n;
		int used;

		if (poll(&p, 1, 20) <= 0)
			continue;
		n = recvfrom(m->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < SGA_HDR_LEN)
			continue;
		if (buf[1] == SGA_MSG_PKG_REQ &&
		    !sga_gw_handle_pkg_req(&m->gw, buf, (size_t)n, &out))
			atomic_fetch_add(&m->pkg_served, 1);
		if (buf[1] == SGA_MSG_REG_REQ &&
		    !sga_gw_reg_open(&m->gw, buf, (size_t)n, &env, &req)) {
			atomic_fetch_add(&m->reg_opened, 1); /* k_d is the attacker's now */
			if (sga_gw_reg_accept(&m->gw, &env, &req, NULL, NULL, &rec, &used, &out))
				out.n = 0;
		}
		for (unsigned i = 0; i < out.n; i++)
			(void)sendto(m->fd, out.msg[i].frame, out.msg[i].len, 0,
			             (struct sockaddr *)&from, fl);
	}
	return NULL;
}

static void mitm_start(struct mitm *m, const struct sga_gw *real)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);

	memset(m, 0, sizeof(*m));
	fake_gateway(&m->gw, real);
	m->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(m->fd, 0);
	cr_assert_eq(bind(m->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(m->fd, (struct sockaddr *)&a, &al), 0);
	m->port = ntohs(a.sin_port);
	cr_assert_eq(pthread_create(&m->thr, NULL, mitm_main, m), 0);
}

static void mitm_stop(struct mitm *m)
{
	atomic_store(&m->stop, 1);
	pthread_join(m->thr, NULL);
	close(m->fd);
	sga_gw_fini(&m->gw);
}

/* The hex fingerprint of a gateway's package: what a device is provisioned with. */
static void pkg_pin(const struct sga_gw *gw, char hex[65])
{
	struct sga_buf b = {gw->prof[0].pkg_frame + SGA_HDR_LEN,
	                    gw->prof[0].pkg_frame_len - SGA_HDR_LEN};
	uint8_t fp[32];

	cr_assert_eq(sga_sha256(&b, 1, fp), 0);
	sga_hex_encode(fp, sizeof(fp), hex);
}

/* A device (sga_client) that knows only the gateway's fingerprint and fetches
 * the package from whoever answers at the gateway's address. */
static struct sga_client *pinned_device(const char *dir, const char *id, uint16_t port,
                                        const char *pin, int *err)
{
	struct sga_client_config cfg;
	char state[160];

	snprintf(state, sizeof(state), "%s/%s.state", dir, id);
	memset(&cfg, 0, sizeof(cfg));
	cfg.gateway_ip = "127.0.0.1";
	cfg.gateway_port = port;
	cfg.id = id;
	cfg.state_path = state;
	cfg.pin_hex = pin;
	cfg.timeout_ms = 5000;
	cfg.rto_ms = 100;
	return sga_client_open(&cfg, err);
}

/* Paper 5 "mutual authentication" (pinned package): a man in the middle at the
 * gateway's address presents its own package - valid in every respect, the real
 * identity, group and suites, only its own RSA keys - to a device that pinned
 * the real gateway's fingerprint. The pin alone refuses it: no REG_REQ (no k_d)
 * ever reaches the attacker. Control: a device pinned to what the attacker
 * serves accepts that package, registers, and the attacker opens its k_d. */
Test(fake_gateway, pinned_package_mismatch)
{
	struct harness h;
	struct mitm m;
	struct sga_client *c;
	char dir[] = "/tmp/sga-attacks-XXXXXX", real_pin[65], mitm_pin[65], path[192];
	int err = 0;

	setup(&h);
	cr_assert_not_null(mkdtemp(dir));
	mitm_start(&m, &h.gw);
	pkg_pin(&h.gw, real_pin);
	pkg_pin(&m.gw, mitm_pin);
	cr_assert_str_neq(real_pin, mitm_pin);

	/* The attack: the device asks for the package and gets the attacker's. */
	c = pinned_device(dir, "dev-i", m.port, real_pin, &err);
	cr_assert_null(c, "a package with another fingerprint was accepted");
	cr_assert_eq(err, -SGA_E_BAD_PACKAGE, "%s", sga_client_strerror(err));
	cr_assert_geq(atomic_load(&m.pkg_served), 1, "the attacker's package was presented");
	cr_assert_eq(atomic_load(&m.reg_opened), 0, "a REG_REQ reached the attacker");

	/* Control: nothing but the fingerprint set it apart. Pinned to it, the same
	 * package is taken, and registering hands the attacker the device's k_d. */
	c = pinned_device(dir, "dev-j", m.port, mitm_pin, &err);
	cr_assert_not_null(c, "the attacker's package is not otherwise valid: %s",
	                   sga_client_strerror(err));
	cr_assert_eq(sga_client_register(c, NULL), 0, "%s", sga_client_detail(c));
	cr_assert_eq(atomic_load(&m.reg_opened), 1);
	sga_client_close(c);

	mitm_stop(&m);
	snprintf(path, sizeof(path), "%s/dev-i.state", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/dev-j.state", dir);
	unlink(path);
	rmdir(dir);
	harness_fini(&h);
}

/* ---- replays ------------------------------------------------------------------ */

/* Paper 5 "relay attack" / deviation "A1 freshness": the same A1 twice -> REPLAY. */
Test(replay, neg_req)
{
	struct harness h;
	struct sga_neg_req_plain a1;
	struct sga_gw_out out;
	struct sga_gw_session s2;
	uint64_t ctr;

	setup(&h);
	cr_assert_eq(harness_register(&h, 0), 0);
	cr_assert_eq(harness_register(&h, 1), 0);
	cr_assert_eq(sga_dev_create_neg_req(&h.dev[0], &h.sess[0], h.dev[1].id, 5, ALL, 4, h.frame,
	                                    sizeof(h.frame), &h.frame_len),
	             0);
	cr_assert_eq(sga_gw_neg_req_open(&h.gw, &h.rec[0], h.frame, h.frame_len, &a1, &ctr), 0);
	cr_assert_eq(sga_gw_neg_req_handle(&h.gw, &h.rec[0], &h.rec[1], &a1, ctr, &h.gsess, &out),
	             0);
	GW_REJECTS(&h, SGA_E_REPLAY,
	           sga_gw_neg_req_open(&h.gw, &h.rec[0], h.frame, h.frame_len, &a1, &ctr));
	/* Step 2 re-checks freshness on its own (a racing duplicate that passed step 1). */
	memset(&s2, 0, sizeof(s2));
	GW_REJECTS(&h, SGA_E_REPLAY,
	           sga_gw_neg_req_handle(&h.gw, &h.rec[0], &h.rec[1], &a1, ctr, &s2, &out));
	harness_fini(&h);
}

/* Paper 5 "relay attack" / deviation "A3 freshness": the same A3 twice -> REPLAY. */
Test(replay, neg_accept)
{
	struct harness h;
	struct sga_neg_accept_plain a3;
	struct sga_gw_out out;
	uint64_t ctr;

	setup(&h);
	cr_assert_eq(harness_register(&h, 0), 0);
	cr_assert_eq(harness_register(&h, 1), 0);
	cr_assert_eq(harness_negotiate(&h, ALL, 4), 0);
	/* h.frame still holds the A3 that harness_negotiate delivered. */
	cr_assert_eq(h.frame[1], SGA_MSG_NEG_ACCEPT);
	GW_REJECTS(&h, SGA_E_REPLAY,
	           sga_gw_neg_accept_open(&h.gw, &h.rec[1], h.frame, h.frame_len, &a3, &ctr));
	memset(&a3, 0, sizeof(a3));
	a3.session_id = h.gsess.session_id;
	a3.accept = 1;
	GW_REJECTS(
	    &h, SGA_E_REPLAY,
	    sga_gw_neg_accept_handle(&h.gw, &h.rec[1], &h.gsess, &a3, h.rec[1].up_ctr, &out));
	harness_fini(&h);
}

/* Paper 3.1 "refuse to overwrite an existing ID": a REG_REQ with another key for a registered id -> EXISTS. */
Test(replay, reg_req_other_key_exists)
{
	struct harness h;
	struct sga_dev mallory;
	struct sga_reg_req env;
	struct sga_reg_plain req;
	struct sga_gw_device nrec;
	struct sga_gw_out out;
	int used;

	full(&h);
	cr_assert_eq(
	    sga_dev_init(&mallory, &h.gw.prof[0].pkg, (const uint8_t *)"dev-i", 5, ALL[0], ALL, 4),
	    0);
	cr_assert_eq(
	    sga_dev_create_reg_req(&mallory, NULL, 0, 0, h.frame, sizeof(h.frame), &h.frame_len),
	    0);
	cr_assert_eq(sga_gw_reg_open(&h.gw, h.frame, h.frame_len, &env, &req), 0);
	GW_REJECTS(&h, SGA_E_EXISTS,
	           sga_gw_reg_accept(&h.gw, &env, &req, &h.rec[0], NULL, &nrec, &used, &out));
	cr_assert_eq(out.n, 0);
	/* Same key, other suites: also a different registration. */
	sga_dev_fini(&mallory);
	cr_assert_eq(sga_dev_init(&mallory, &h.gw.prof[0].pkg, (const uint8_t *)"dev-i", 5, ALL[1],
	                          ALL + 1, 3),
	             0);
	memcpy(mallory.k_d, h.dev[0].k_d, SGA_KEY_LEN);
	cr_assert_eq(
	    sga_dev_create_reg_req(&mallory, NULL, 0, 0, h.frame, sizeof(h.frame), &h.frame_len),
	    0);
	cr_assert_eq(sga_gw_reg_open(&h.gw, h.frame, h.frame_len, &env, &req), 0);
	GW_REJECTS(&h, SGA_E_EXISTS,
	           sga_gw_reg_accept(&h.gw, &env, &req, &h.rec[0], NULL, &nrec, &used, &out));
	/* A forged rekey (MAC under a key that is not the registered one) -> AUTH. */
	mallory.registered = 1;
	mallory.k_d[0] ^= 1;
	cr_assert_eq(
	    sga_dev_create_reg_req(&mallory, NULL, 0, 1, h.frame, sizeof(h.frame), &h.frame_len),
	    0);
	cr_assert_eq(sga_gw_reg_open(&h.gw, h.frame, h.frame_len, &env, &req), 0);
	GW_REJECTS(&h, SGA_E_AUTH,
	           sga_gw_reg_accept(&h.gw, &env, &req, &h.rec[0], NULL, &nrec, &used, &out));
	/* A rekey for an id nobody registered -> UNKNOWN_DEVICE. */
	GW_REJECTS(&h, SGA_E_UNKNOWN_DEVICE,
	           sga_gw_reg_accept(&h.gw, &env, &req, NULL, NULL, &nrec, &used, &out));
	sga_dev_fini(&mallory);
	harness_fini(&h);
}

/* Deviation "replay protection": a replayed first REG_REQ (identical key) is re-acked but resets no counter. */
Test(replay, reg_req_identical_keeps_counters)
{
	struct harness h;
	struct sga_reg_req env;
	struct sga_reg_plain req;
	struct sga_gw_device nrec;
	struct sga_gw_out out;
	struct sga_neg_req_plain a1p;
	uint8_t reg[SGA_FRAME_MAX], a1[SGA_FRAME_MAX];
	size_t reg_len, a1_len;
	uint64_t ctr;
	int used;

	setup(&h);
	cr_assert_eq(sga_dev_create_reg_req(&h.dev[0], NULL, 0, 0, reg, sizeof(reg), &reg_len), 0);
	cr_assert_eq(sga_gw_reg_open(&h.gw, reg, reg_len, &env, &req), 0);
	cr_assert_eq(sga_gw_reg_accept(&h.gw, &env, &req, NULL, NULL, &h.rec[0], &used, &out), 0);
	cr_assert_eq(sga_dev_consume_reg_ack(&h.dev[0], out.msg[0].frame, out.msg[0].len), 0);
	cr_assert_eq(harness_register(&h, 1), 0);
	cr_assert_eq(sga_dev_create_neg_req(&h.dev[0], &h.sess[0], h.dev[1].id, 5, ALL, 4, a1,
	                                    sizeof(a1), &a1_len),
	             0);
	cr_assert_eq(sga_gw_neg_req_open(&h.gw, &h.rec[0], a1, a1_len, &a1p, &ctr), 0);
	cr_assert_eq(sga_gw_neg_req_handle(&h.gw, &h.rec[0], &h.rec[1], &a1p, ctr, &h.gsess, &out),
	             0);

	/* The attacker replays the registration. */
	cr_assert_eq(sga_gw_reg_open(&h.gw, reg, reg_len, &env, &req), 0);
	cr_assert_eq(sga_gw_reg_accept(&h.gw, &env, &req, &h.rec[0], NULL, &nrec, &used, &out), 0);
	cr_assert_eq(nrec.up_ctr, h.rec[0].up_ctr, "up counter reset by a replayed REG_REQ");
	cr_assert_geq(nrec.down_ctr, h.rec[0].down_ctr, "down counter went back");
	cr_assert_arr_eq(nrec.k_d, h.rec[0].k_d, SGA_KEY_LEN);
	h.rec[0] = nrec;
	/* ...and then the old A1: still a replay. */
	GW_REJECTS(&h, SGA_E_REPLAY, sga_gw_neg_req_open(&h.gw, &h.rec[0], a1, a1_len, &a1p, &ctr));
	/* The device, not waiting for an ACK, ignores the one the replay produced. */
	DEV_REJECTS(&h.dev[0], &h.sess[0], SGA_E_BAD_STATE,
	            sga_dev_consume_reg_ack(&h.dev[0], out.msg[0].frame, out.msg[0].len));
	harness_fini(&h);
}

/* Paper 3.1 "re-registration needs the old key": requests made under superseded keys are refused after rekeys. */
Test(replay, reg_req_after_rekey)
{
	struct harness h;
	struct sga_reg_req env;
	struct sga_reg_plain req;
	struct sga_gw_device nrec;
	struct sga_gw_out out;
	struct sga_neg_req_plain a1p;
	uint8_t reg0[SGA_FRAME_MAX], rk1[SGA_FRAME_MAX], rk2[SGA_FRAME_MAX], a1[SGA_FRAME_MAX];
	size_t reg0_len, rk1_len, rk2_len, a1_len;
	uint64_t ctr;
	int used;

	setup(&h);
	cr_assert_eq(sga_dev_create_reg_req(&h.dev[0], NULL, 0, 0, reg0, sizeof(reg0), &reg0_len),
	             0);
	cr_assert_eq(sga_gw_reg_open(&h.gw, reg0, reg0_len, &env, &req), 0);
	cr_assert_eq(sga_gw_reg_accept(&h.gw, &env, &req, NULL, NULL, &h.rec[0], &used, &out), 0);
	cr_assert_eq(sga_dev_consume_reg_ack(&h.dev[0], out.msg[0].frame, out.msg[0].len), 0);
	/* Two rekeys: k0 -> k1 -> k2. */
	cr_assert_eq(sga_dev_create_reg_req(&h.dev[0], NULL, 0, 1, rk1, sizeof(rk1), &rk1_len), 0);
	cr_assert_eq(sga_gw_reg_open(&h.gw, rk1, rk1_len, &env, &req), 0);
	cr_assert_eq(sga_gw_reg_accept(&h.gw, &env, &req, &h.rec[0], NULL, &nrec, &used, &out), 0);
	h.rec[0] = nrec;
	cr_assert_eq(sga_dev_consume_reg_ack(&h.dev[0], out.msg[0].frame, out.msg[0].len), 0);
	cr_assert_eq(sga_dev_create_reg_req(&h.dev[0], NULL, 0, 1, rk2, sizeof(rk2), &rk2_len), 0);
	cr_assert_eq(sga_gw_reg_open(&h.gw, rk2, rk2_len, &env, &req), 0);
	cr_assert_eq(sga_gw_reg_accept(&h.gw, &env, &req, &h.rec[0], NULL, &nrec, &used, &out), 0);
	h.rec[0] = nrec;
	cr_assert_eq(sga_dev_consume_reg_ack(&h.dev[0], out.msg[0].frame, out.msg[0].len), 0);
	cr_assert_arr_eq(h.rec[0].k_d, h.dev[0].k_d, SGA_KEY_LEN);

	/* The first registration (k0) replayed: another key than the registered one. */
	cr_assert_eq(sga_gw_reg_open(&h.gw, reg0, reg0_len, &env, &req), 0);
	GW_REJECTS(&h, SGA_E_EXISTS,
	           sga_gw_reg_accept(&h.gw, &env, &req, &h.rec[0], NULL, &nrec, &used, &out));
	/* The first rekey (k1, MAC under k0) replayed: its MAC key is long gone. */
	cr_assert_eq(sga_gw_reg_open(&h.gw, rk1, rk1_len, &env, &req), 0);
	GW_REJECTS(&h, SGA_E_AUTH,
	           sga_gw_reg_accept(&h.gw, &env, &req, &h.rec[0], NULL, &nrec, &used, &out));
	/* The applied rekey (k2) replayed after the device used the new key: re-acked
	 * as a retransmission, but no counter goes back, so old frames stay stale. */
	cr_assert_eq(harness_register(&h, 1), 0);
	cr_assert_eq(sga_dev_create_neg_req(&h.dev[0], &h.sess[0], h.dev[1].id, 5, ALL, 4, a1,
	                                    sizeof(a1), &a1_len),
	             0);
	cr_assert_eq(sga_gw_neg_req_open(&h.gw, &h.rec[0], a1, a1_len, &a1p, &ctr), 0);
	cr_assert_eq(sga_gw_neg_req_handle(&h.gw, &h.rec[0], &h.rec[1], &a1p, ctr, &h.gsess, &out),
	             0);
	cr_assert_eq(sga_gw_reg_open(&h.gw, rk2, rk2_len, &env, &req), 0);
	cr_assert_eq(sga_gw_reg_accept(&h.gw, &env, &req, &h.rec[0], NULL, &nrec, &used, &out), 0);
	cr_assert_eq(nrec.up_ctr, h.rec[0].up_ctr, "replayed rekey reset the up counter");
	cr_assert_arr_eq(nrec.k_d, h.rec[0].k_d, SGA_KEY_LEN);
	h.rec[0] = nrec;
	GW_REJECTS(&h, SGA_E_REPLAY, sga_gw_neg_req_open(&h.gw, &h.rec[0], a1, a1_len, &a1p, &ctr));
	DEV_REJECTS(&h.dev[0], &h.sess[0], SGA_E_BAD_STATE,
	            sga_dev_consume_reg_ack(&h.dev[0], out.msg[0].frame, out.msg[0].len));
	harness_fini(&h);
}

/* Deviation "replay protection" (B1): a replayed KEX_INIT after establishment only re-emits the cached reply. */
Test(replay, kex_init_after_establishment)
{
	struct harness h;
	struct sga_gw_out out, out2;
	struct gw_snap before;
	uint8_t b1[2][SGA_FRAME_MAX];
	size_t b1_len[2];

	kex_until_replies(&h, b1, b1_len, &out);
	for (int k = 0; k < 2; k++)
		cr_assert_eq(sga_dev_consume_kex_reply(&h.dev[k], &h.sess[k], out.msg[k].frame,
		                                       out.msg[k].len),
		             0);
	for (int k = 0; k < 2; k++) {
		snap_take(&h, &before);
		cr_assert_eq(
		    sga_gw_kex_init_handle(&h.gw, &h.rec[k], &h.gsess, b1[k], b1_len[k], &out2), 0);
		snap_check(&h, &before);
		cr_assert_eq(out2.n, 1);
		cr_assert_eq(out2.msg[0].len, out.msg[k].len);
		cr_assert_arr_eq(out2.msg[0].frame, out.msg[k].frame, out.msg[k].len);
		/* The device, already established, ignores it. */
		DEV_REJECTS(&h.dev[k], &h.sess[k], SGA_E_BAD_STATE,
		            sga_dev_consume_kex_reply(&h.dev[k], &h.sess[k], out2.msg[0].frame,
		                                      out2.msg[0].len));
	}
	harness_fini(&h);
}

/* Paper 5 "relay attack": a replayed DATA_UP is refused by the gateway. */
Test(replay, data_up)
{
	struct harness h;
	uint8_t up[SGA_FRAME_MAX], down[SGA_FRAME_MAX], to;
	size_t up_len, down_len;

	full(&h);
	cr_assert_eq(
	    sga_dev_data_seal(&h.sess[0], (const uint8_t *)"hello", 5, up, sizeof(up), &up_len), 0);
	cr_assert_eq(sga_gw_data_relay(&h.gsess, up, up_len, down, sizeof(down), &down_len, &to),
	             0);
	GW_REJECTS(&h, SGA_E_REPLAY,
	           sga_gw_data_relay(&h.gsess, up, up_len, down, sizeof(down), &down_len, &to));
	harness_fini(&h);
}

/* Paper 5 "relay attack": a replayed DATA_DOWN is refused by the device; a DATA_DOWN for d_j is refused by d_i. */
Test(replay, data_down)
{
	struct harness h;
	uint8_t up[SGA_FRAME_MAX], down[SGA_FRAME_MAX], msg[64], to;
	size_t up_len, down_len, msg_len;

	full(&h);
	cr_assert_eq(
	    sga_dev_data_seal(&h.sess[0], (const uint8_t *)"hello", 5, up, sizeof(up), &up_len), 0);
	cr_assert_eq(sga_gw_data_relay(&h.gsess, up, up_len, down, sizeof(down), &down_len, &to),
	             0);
	DEV_REJECTS(&h.dev[0], &h.sess[0], SGA_E_BAD_FIELD,
	            sga_dev_data_open(&h.sess[0], down, down_len, msg, sizeof(msg), &msg_len));
	cr_assert_eq(sga_dev_data_open(&h.sess[1], down, down_len, msg, sizeof(msg), &msg_len), 0);
	DEV_REJECTS(&h.dev[1], &h.sess[1], SGA_E_REPLAY,
	            sga_dev_data_open(&h.sess[1], down, down_len, msg, sizeof(msg), &msg_len));
	harness_fini(&h);
}

/* Deviation "A2 freshness": a replayed NEG_INVITE is refused by d_j. */
Test(replay, neg_invite)
{
	struct harness h;
	struct sga_neg_req_plain a1;
	struct sga_gw_out out;
	struct sga_dev_sess other;
	uint64_t ctr;

	setup(&h);
	cr_assert_eq(harness_register(&h, 0), 0);
	cr_assert_eq(harness_register(&h, 1), 0);
	cr_assert_eq(sga_dev_create_neg_req(&h.dev[0], &h.sess[0], h.dev[1].id, 5, ALL, 4, h.frame,
	                                    sizeof(h.frame), &h.frame_len),
	             0);
	cr_assert_eq(sga_gw_neg_req_open(&h.gw, &h.rec[0], h.frame, h.frame_len, &a1, &ctr), 0);
	cr_assert_eq(sga_gw_neg_req_handle(&h.gw, &h.rec[0], &h.rec[1], &a1, ctr, &h.gsess, &out),
	             0);
	cr_assert_eq(
	    sga_dev_consume_neg_invite(&h.dev[1], &h.sess[1], out.msg[0].frame, out.msg[0].len), 0);
	memset(&other, 0, sizeof(other));
	DEV_REJECTS(
	    &h.dev[1], &other, SGA_E_REPLAY,
	    sga_dev_consume_neg_invite(&h.dev[1], &other, out.msg[0].frame, out.msg[0].len));
	harness_fini(&h);
}

/* Deviation "replay protection": an A4 from an earlier negotiation does not answer a new one. */
Test(replay, neg_result_into_new_negotiation)
{
	struct harness h;
	struct sga_neg_req_plain a1;
	struct sga_neg_accept_plain a3;
	struct sga_gw_out out;
	uint8_t a4[SGA_FRAME_MAX];
	size_t a4_len;
	uint64_t ctr;

	setup(&h);
	cr_assert_eq(harness_register(&h, 0), 0);
	cr_assert_eq(harness_register(&h, 1), 0);
	cr_assert_eq(sga_dev_create_neg_req(&h.dev[0], &h.sess[0], h.dev[1].id, 5, ALL, 4, h.frame,
	                                    sizeof(h.frame), &h.frame_len),
	             0);
	cr_assert_eq(sga_gw_neg_req_open(&h.gw, &h.rec[0], h.frame, h.frame_len, &a1, &ctr), 0);
	cr_assert_eq(sga_gw_neg_req_handle(&h.gw, &h.rec[0], &h.rec[1], &a1, ctr, &h.gsess, &out),
	             0);
	cr_assert_eq(
	    sga_dev_consume_neg_invite(&h.dev[1], &h.sess[1], out.msg[0].frame, out.msg[0].len), 0);
	cr_assert_eq(sga_dev_create_neg_accept(&h.dev[1], &h.sess[1], 1, h.frame, sizeof(h.frame),
	                                       &h.frame_len),
	             0);
	cr_assert_eq(sga_gw_neg_accept_open(&h.gw, &h.rec[1], h.frame, h.frame_len, &a3, &ctr), 0);
	cr_assert_eq(sga_gw_neg_accept_handle(&h.gw, &h.rec[1], &h.gsess, &a3, ctr, &out), 0);
	memcpy(a4, out.msg[0].frame, out.msg[0].len);
	a4_len = out.msg[0].len;
	cr_assert_eq(sga_dev_consume_neg_result(&h.dev[0], &h.sess[0], a4, a4_len), 0);
	DEV_REJECTS(&h.dev[0], &h.sess[0], SGA_E_BAD_STATE,
	            sga_dev_consume_neg_result(&h.dev[0], &h.sess[0], a4, a4_len));
	/* A new negotiation (fresh k_ti): the old A4 does not authenticate. */
	cr_assert_eq(sga_dev_create_neg_req(&h.dev[0], &h.sess[0], h.dev[1].id, 5, ALL, 4, h.frame,
	                                    sizeof(h.frame), &h.frame_len),
	             0);
	DEV_REJECTS(&h.dev[0], &h.sess[0], SGA_E_AUTH,
	            sga_dev_consume_neg_result(&h.dev[0], &h.sess[0], a4, a4_len));
	harness_fini(&h);
}

/* ---- tampering ------------------------------------------------------------------ */

/* Deviation "AEAD everywhere": every byte of a DATA_UP frame is protected; each
 * flip is refused with the code of the field it hits and changes nothing. */
Test(tamper, data_up_every_byte)
{
	struct harness h;
	uint8_t up[SGA_FRAME_MAX], f[SGA_FRAME_MAX + 1], down[SGA_FRAME_MAX], to;
	size_t up_len, down_len;
	const size_t body = SGA_HDR_LEN, sid_end = body + 8, role = sid_end;

	full(&h);
	cr_assert_eq(sga_dev_data_seal(&h.sess[0], (const uint8_t *)"attack at dawn", 14, up,
	                               sizeof(up), &up_len),
	             0);
	for (size_t i = 0; i < up_len; i++) {
		int want;

		memcpy(f, up, up_len);
		f[i] ^= 0x01;
		if (i == 0) {
			want = SGA_E_BAD_VERSION;
		} else if (i == 1) {
			/* DATA_UP -> DATA_DOWN, whose epoch may not be 0: the device's
			 * echo is 0 until it has adopted one */
			want = h.sess[0].hop_epoch ? SGA_E_BAD_TYPE : SGA_E_BAD_FIELD;
		} else if (i == 2 || i == 3) {
			size_t bl = ((size_t)f[2] << 8) | f[3];

			want = bl > up_len - SGA_HDR_LEN ? SGA_E_TRUNCATED : SGA_E_TRAILING;
		} else if (i < sid_end) {
			int zero = 1;

			for (size_t k = body; k < sid_end; k++)
				zero &= f[k] == 0;
			want = zero ? SGA_E_BAD_FIELD : SGA_E_UNKNOWN_SESSION;
		} else {
			/* role (0 -> 1: the other member's hop key), epoch echo, seq,
			 * ciphertext, tag */
			want = SGA_E_AUTH;
		}
		GW_REJECTS(
		    &h, want,
		    sga_gw_data_relay(&h.gsess, f, up_len, down, sizeof(down), &down_len, &to));
	}
	/* Whole-value substitutions per field class. */
	memcpy(f, up, up_len);
	f[0] = 2;
	GW_REJECTS(&h, SGA_E_BAD_VERSION,
	           sga_gw_data_relay(&h.gsess, f, up_len, down, sizeof(down), &down_len, &to));
	memcpy(f, up, up_len);
	f[1] = 0xee;
	GW_REJECTS(&h, SGA_E_BAD_TYPE,
	           sga_gw_data_relay(&h.gsess, f, up_len, down, sizeof(down), &down_len, &to));
	f[1] = SGA_MSG_NEG_REQ;
	GW_REJECTS(&h, SGA_E_BAD_TYPE,
	           sga_gw_data_relay(&h.gsess, f, up_len, down, sizeof(down), &down_len, &to));
	memcpy(f, up, up_len);
	memset(f + body, 0, 8);
	GW_REJECTS(&h, SGA_E_BAD_FIELD,
	           sga_gw_data_relay(&h.gsess, f, up_len, down, sizeof(down), &down_len, &to));
	memcpy(f, up, up_len);
	f[role] = 2;
	GW_REJECTS(&h, SGA_E_BAD_FIELD,
	           sga_gw_data_relay(&h.gsess, f, up_len, down, sizeof(down), &down_len, &to));
	memcpy(f, up, up_len);
	memset(f + role + 1, 0x5a, 8); /* another epoch echo: authenticated */
	GW_REJECTS(&h, SGA_E_AUTH,
	           sga_gw_data_relay(&h.gsess, f, up_len, down, sizeof(down), &down_len, &to));
	memcpy(f, up, up_len);
	memset(f + role + 9, 0xff, 8); /* seq = UINT64_MAX, reserved: refused unopened */
	GW_REJECTS(&h, SGA_E_REPLAY,
	           sga_gw_data_relay(&h.gsess, f, up_len, down, sizeof(down), &down_len, &to));
	memset(f + role + 9, 0x00, 7); /* seq = 255: unseen, but not what was sealed */
	GW_REJECTS(&h, SGA_E_AUTH,
	           sga_gw_data_relay(&h.gsess, f, up_len, down, sizeof(down), &down_len, &to));
	/* Cut and extended frames. */
	GW_REJECTS(&h, SGA_E_TRUNCATED,
	           sga_gw_data_relay(&h.gsess, up, up_len - 1, down, sizeof(down), &down_len, &to));
	memcpy(f, up, up_len);
	f[up_len] = 0;
	GW_REJECTS(&h, SGA_E_TRAILING,
	           sga_gw_data_relay(&h.gsess, f, up_len + 1, down, sizeof(down), &down_len, &to));
	GW_REJECTS(&h, SGA_E_TRUNCATED,
	           sga_gw_data_relay(&h.gsess, up, 3, down, sizeof(down), &down_len, &to));
	/* The genuine frame still passes: no forgery moved the window. */
	cr_assert_eq(sga_gw_data_relay(&h.gsess, up, up_len, down, sizeof(down), &down_len, &to),
	             0);
	/* Now its seq is taken: the authentic copy is a replay, a forged one still AUTH. */
	GW_REJECTS(&h, SGA_E_REPLAY,
	           sga_gw_data_relay(&h.gsess, up, up_len, down, sizeof(down), &down_len, &to));
	memcpy(f, up, up_len);
	f[up_len - 1] ^= 0x01;
	GW_REJECTS(&h, SGA_E_AUTH,
	           sga_gw_data_relay(&h.gsess, f, up_len, down, sizeof(down), &down_len, &to));
	harness_fini(&h);
}

/* Paper 5 "data privacy" (E2E integrity): E2E ciphertext tampered inside a correctly
 * hop-sealed frame is relayed but refused by the receiver, whose windows do not move. */
Test(tamper, e2e_inside_valid_hop)
{
	struct harness h;
	struct sga_env_hop env;
	uint8_t up[SGA_FRAME_MAX], inner[SGA_FRAME_MAX], f[SGA_FRAME_MAX], down[SGA_FRAME_MAX];
	uint8_t nonce[SGA_AEAD_NONCE_LEN], msg[64], to;
	size_t up_len, inner_len, f_len, down_len, msg_len;
	struct sga_replay hop_win, e2e_win;

	full(&h);
	for (int variant = 0; variant < 3; variant++) {
		size_t at = variant == 0   ? 8 + 2
		            : variant == 1 ? 7
		                           : 0; /* ct byte, e2e_seq low byte, tag end */

		cr_assert_eq(sga_dev_data_seal(&h.sess[0], (const uint8_t *)"pay 10 EUR", 10, up,
		                               sizeof(up), &up_len),
		             0);
		cr_assert_eq(sga_env_hop_decode(up, up_len, &env), 0);
		sga_hop_nonce(env.seq, nonce);
		cr_assert_eq(sga_open_env(h.sess[0].hop_suite, h.sess[0].hop_up, nonce, env.aad,
		                          env.aad_len, env.ct, env.ct_len, inner, sizeof(inner),
		                          &inner_len),
		             0);
		if (variant == 2)
			at = inner_len - 1;
		inner[at] ^= 0x01;
		cr_assert_eq(sga_seal_hop(SGA_MSG_DATA_UP, env.session_id, env.role, env.epoch,
		                          env.seq, h.sess[0].hop_suite, h.sess[0].hop_up, inner,
		                          inner_len, f, sizeof(f), &f_len),
		             0);
		cr_assert_eq(
		    sga_gw_data_relay(&h.gsess, f, f_len, down, sizeof(down), &down_len, &to), 0,
		    "the hop layer is intact: the gateway relays");
		memcpy(&hop_win, &h.sess[1].hop_rx_win, sizeof(hop_win));
		memcpy(&e2e_win, &h.sess[1].e2e_rx_win, sizeof(e2e_win));
		DEV_REJECTS(
		    &h.dev[1], &h.sess[1], SGA_E_AUTH,
		    sga_dev_data_open(&h.sess[1], down, down_len, msg, sizeof(msg), &msg_len));
		cr_assert_eq(memcmp(&hop_win, &h.sess[1].hop_rx_win, sizeof(hop_win)), 0);
		cr_assert_eq(memcmp(&e2e_win, &h.sess[1].e2e_rx_win, sizeof(e2e_win)), 0);
	}
	/* Honest traffic continues. */
	cr_assert_eq(harness_send(&h, 0, (const uint8_t *)"ok", 2, msg, sizeof(msg), &msg_len), 0);
	harness_fini(&h);
}

/* Paper 5 "data privacy": no key the gateway holds opens the E2E ciphertext it relays. */
Test(tamper, gateway_cannot_read_e2e)
{
	struct harness h;
	struct sga_env_hop env;
	struct sga_data_inner in;
	uint8_t up[SGA_FRAME_MAX], inner[SGA_FRAME_MAX], out[SGA_FRAME_MAX],
	    nonce[SGA_AEAD_NONCE_LEN];
	uint8_t keys[16][SGA_AEAD_MAX_KEY_LEN], e2e_nonce[SGA_AEAD_NONCE_LEN], aad[27];
	size_t up_len, inner_len, out_len, nk = 0;

	full(&h);
	memset(keys, 0, sizeof(keys));
	cr_assert_eq(
	    sga_dev_data_seal(&h.sess[0], (const uint8_t *)"secret", 6, up, sizeof(up), &up_len),
	    0);
	cr_assert_eq(sga_env_hop_decode(up, up_len, &env), 0);
	sga_hop_nonce(env.seq, nonce);
	cr_assert_eq(sga_open_env(h.gsess.hop_suite[0], h.gsess.hop[0].key_up, nonce, env.aad,
	                          env.aad_len, env.ct, env.ct_len, inner, sizeof(inner),
	                          &inner_len),
	             0);
	cr_assert_eq(sga_data_inner_decode(inner, inner_len, &in), 0);
	for (int k = 0; k < 2; k++) {
		memcpy(keys[nk++], h.gsess.k_t[k], SGA_KEY_LEN);
		memcpy(keys[nk++], h.gsess.hop[k].key_up, SGA_AEAD_MAX_KEY_LEN);
		memcpy(keys[nk++], h.gsess.hop[k].key_down, SGA_AEAD_MAX_KEY_LEN);
		memcpy(keys[nk++], h.rec[k].k_d, SGA_KEY_LEN);
		cr_assert_eq(sga_key_ctl(h.rec[k].k_d, h.sess[0].suite, keys[nk++]), 0);
		cr_assert_eq(
		    sga_key_kex(h.gsess.k_t[k], h.gsess.session_id, h.sess[0].suite, keys[nk++]),
		    0);
		cr_assert_eq(sga_key_hop(h.gsess.k_t[k], h.gsess.session_id, h.sess[0].suite,
		                         SGA_DIR_UP, keys[nk++]),
		             0);
	}
	/* The E2E nonce and AAD are public (direction, sequence, session id):
	 * give the gateway the right ones; only the key is missing. */
	memset(e2e_nonce, 0, sizeof(e2e_nonce));
	e2e_nonce[3] = SGA_E2E_I_TO_J;
	for (int b = 0; b < 8; b++)
		e2e_nonce[4 + b] = (uint8_t)(in.e2e_seq >> (56 - 8 * b));
	memcpy(aad, "SGA v1 e2e", 10);
	for (int b = 0; b < 8; b++)
		aad[10 + b] = (uint8_t)(h.gsess.session_id >> (56 - 8 * b));
	aad[18] = SGA_E2E_I_TO_J;
	memcpy(aad + 19, e2e_nonce + 4, 8);
	for (size_t k = 0; k < nk; k++)
		cr_assert_eq(sga_open_env(h.sess[0].suite, keys[k], e2e_nonce, aad, sizeof(aad),
		                          in.e2e_ct, in.e2e_ct_len, out, sizeof(out), &out_len),
		             -SGA_E_AUTH, "gateway key %zu opens the E2E ciphertext", k);
	/* The receiver's key does, with exactly these public values (control). */
	cr_assert_eq(sga_open_env(h.sess[0].suite, h.sess[1].e2e_rx_key, e2e_nonce, aad,
	                          sizeof(aad), in.e2e_ct, in.e2e_ct_len, out, sizeof(out),
	                          &out_len),
	             0);
	cr_assert_eq(out_len, 6);
	cr_assert_arr_eq(out, "secret", 6);
	harness_fini(&h);
}

/* Paper 5 "data privacy" / trust model (CDH): an honest-but-curious gateway
 * keeps every group value of the key exchange it sees or computes - N_i, N_j
 * (B1/B3), K_is, K_js, and the X it sends in B5/B6 - and derives E2E keys from
 * each, in both directions, with the public transcript. None is the session's
 * key. Control: from K_isj = X_i^R_i, which only d_i can compute, the same
 * derivation gives exactly d_i's key. */
Test(tamper, gateway_values_do_not_give_the_e2e_key)
{
	struct harness h;
	struct sga_gw_out out;
	struct sga_env_sess env;
	struct sga_kex_reply_plain m;
	struct b1 b;
	uint8_t b1f[2][SGA_FRAME_MAX], plain[SGA_FRAME_MAX], vals[6][SGA_GROUP_MAX_LEN];
	uint8_t kisj[SGA_GROUP_MAX_LEN], th[SGA_SHA256_LEN], cand[SGA_AEAD_MAX_KEY_LEN];
	size_t b1_len[2], plain_len, L, kl;
	const struct sga_group_info *grp;
	uint8_t suite;

	kex_until_replies(&h, b1f, b1_len, &out);
	grp = h.dev[0].grp;
	L = grp->len;
	for (int k = 0; k < 2; k++) {
		b1_open(&h.sess[k], b1f[k], b1_len[k], &b); /* G opens B1/B3 under k_t */
		memcpy(vals[k], b.n, L);                    /* N_i, N_j */
		memcpy(vals[2 + k], h.sess[k].K,
		       grp->secret_len); /* K_is, K_js: G recomputes them */
		sess_open(h.sess[k].k_t, h.sess[k].hop_suite, SGA_MSG_KEX_REPLY, out.msg[k].frame,
		          out.msg[k].len, &env, plain, &plain_len);
		cr_assert_eq(sga_kex_reply_plain_decode(plain, plain_len, &m), 0);
		memcpy(vals[4 + k], m.x, L); /* X_i = N_j^R_s, X_j = N_i^R_s: G made them */
	}
	cr_assert_eq(sga_group_shared(grp, vals[4], h.sess[0].R, kisj), 0);
	for (int k = 0; k < 2; k++)
		cr_assert_eq(sga_dev_consume_kex_reply(&h.dev[k], &h.sess[k], out.msg[k].frame,
		                                       out.msg[k].len),
		             0);
	suite = h.sess[0].suite;
	kl = sga_suite_get(suite)->key_len;
	{
		/* Everything the transcript binds is known to G: its own identity,
		 * the preference list it relayed, and both N it received. */
		const struct sga_transcript t = {
		    .session_id = h.sess[0].session_id,
		    .id_g = h.dev[0].pkg.id,
		    .id_g_len = h.dev[0].pkg.id_len,
		    .id_i = h.dev[0].id,
		    .id_i_len = h.dev[0].id_len,
		    .id_j = h.dev[1].id,
		    .id_j_len = h.dev[1].id_len,
		    .prefs = h.sess[0].prefs,
		    .n_pref = h.sess[0].n_pref,
		    .suite = suite,
		    .group = h.sess[0].group,
		    .n_hash = {h.sess[0].n_hash, h.sess[1].n_hash},
		};

		cr_assert_eq(sga_transcript_hash(&t, th), 0);
	}
	for (int v = 0; v < 6; v++)
		for (int dir = 0; dir < 2; dir++) {
			/* A shared secret as it is; an element as the secret it would
			 * be (p256: its x coordinate). */
			const int elem = v < 2 || v > 3, x_only = grp->kind == SGA_GROUP_KIND_P256;
			const uint8_t *ikm = elem && x_only ? vals[v] + 1 : vals[v];

			cr_assert_eq(sga_key_e2e(ikm, elem && !x_only ? L : grp->secret_len, th,
			                         suite, (enum sga_e2e_dir)dir, cand),
			             0);
			cr_assert_neq(memcmp(cand, h.sess[0].e2e_tx_key, kl), 0,
			              "gateway value %d gives d_i's send key", v);
			cr_assert_neq(memcmp(cand, h.sess[0].e2e_rx_key, kl), 0,
			              "gateway value %d gives d_i's receive key", v);
		}
	cr_assert_eq(sga_key_e2e(kisj, grp->secret_len, th, suite, SGA_E2E_I_TO_J, cand), 0);
	cr_assert_arr_eq(cand, h.sess[0].e2e_tx_key, kl, "control: the derivation is the devices'");
	harness_fini(&h);
}

/* ---- unknown device / session ----------------------------------------------------- */

/* Paper 5 "mutual authentication": an A1 from an unregistered identity is refused. */
Test(unknown, neg_req_from_unregistered_id)
{
	struct harness h;
	struct sga_dev x;
	struct sga_dev_sess xs;
	struct sga_gw_peek pk;
	struct sga_gw_device none;
	struct sga_neg_req_plain a1;
	uint64_t ctr;

	setup(&h);
	cr_assert_eq(harness_register(&h, 0), 0);
	cr_assert_eq(harness_register(&h, 1), 0);
	cr_assert_eq(
	    sga_dev_init(&x, &h.gw.prof[0].pkg, (const uint8_t *)"dev-x", 5, ALL[0], ALL, 4), 0);
	x.registered = 1; /* it believes so; the gateway never saw it */
	cr_assert_eq(sga_dev_create_neg_req(&x, &xs, h.dev[1].id, 5, ALL, 4, h.frame,
	                                    sizeof(h.frame), &h.frame_len),
	             0);
	cr_assert_eq(sga_gw_peek(h.frame, h.frame_len, &pk), 0);
	cr_assert_null(lookup(&h, pk.id, pk.id_len), "the caller finds no record");
	memset(&none, 0, sizeof(none));
	GW_REJECTS(&h, SGA_E_UNKNOWN_DEVICE,
	           sga_gw_neg_req_open(&h.gw, &none, h.frame, h.frame_len, &a1, &ctr));
	GW_REJECTS(&h, SGA_E_UNKNOWN_DEVICE,
	           sga_gw_neg_req_open(&h.gw, &h.rec[0], h.frame, h.frame_len, &a1, &ctr));
	/* Claiming a registered identity without its key: AUTH. */
	memcpy(x.id, "dev-i", 5);
	x.up_ctr = 0;
	cr_assert_eq(sga_dev_create_neg_req(&x, &xs, h.dev[1].id, 5, ALL, 4, h.frame,
	                                    sizeof(h.frame), &h.frame_len),
	             0);
	cr_assert_eq(sga_gw_peek(h.frame, h.frame_len, &pk), 0);
	cr_assert_eq(lookup(&h, pk.id, pk.id_len), &h.rec[0]);
	GW_REJECTS(&h, SGA_E_AUTH,
	           sga_gw_neg_req_open(&h.gw, &h.rec[0], h.frame, h.frame_len, &a1, &ctr));
	sga_dev_sess_wipe(&xs);
	sga_dev_fini(&x);
	harness_fini(&h);
}

/* Deviation "pairwise k_t": a KEX_INIT for a session the gateway does not hold -> UNKNOWN_SESSION. */
Test(unknown, kex_init_unknown_session)
{
	struct harness h, h2;
	struct sga_gw_out out;
	struct sga_gw_session none;

	up_to_kex(&h);
	up_to_kex(&h2);
	cr_assert_neq(h.gsess.session_id, h2.gsess.session_id);
	cr_assert_eq(sga_dev_create_kex_init(&h2.dev[0], &h2.sess[0], h.frame, sizeof(h.frame),
	                                     &h.frame_len),
	             0);
	GW_REJECTS(&h, SGA_E_UNKNOWN_SESSION,
	           sga_gw_kex_init_handle(&h.gw, &h.rec[0], &h.gsess, h.frame, h.frame_len, &out));
	/* The caller found no record: an empty one. */
	memset(&none, 0, sizeof(none));
	cr_assert_eq(sga_gw_kex_init_handle(&h.gw, &h.rec[0], &none, h.frame, h.frame_len, &out),
	             -SGA_E_UNKNOWN_SESSION);
	harness_fini(&h2);
	harness_fini(&h);
}

/* ---- suites outside the intersection ------------------------------------------------ */

/* Paper A1 "suite in C_i and C_j": the initiator prefers only a suite the responder lacks -> NO_COMMON_SUITE. */
Test(suites, initiator_prefers_only_missing_suite)
{
	static const uint8_t sj[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_AES256_GCM};
	static const uint8_t pref[] = {SGA_SUITE_CHACHA20_POLY1305};
	struct harness h;

	setup_lists(&h, ALL, 4, sj, 2);
	cr_assert_eq(harness_register(&h, 0), 0);
	cr_assert_eq(harness_register(&h, 1), 0);
	cr_assert_eq(harness_negotiate(&h, pref, 1), -SGA_E_NO_COMMON_SUITE);
	cr_assert_eq(h.sess[0].state, SGA_DEV_S_FAILED);
	cr_assert_eq(h.gsess.session_id, 0);
	harness_fini(&h);
}

/* Paper A2 "d_j's registered suites": a NEG_INVITE naming a suite (or group) d_j did not register -> BAD_FIELD. */
Test(suites, invite_with_unregistered_suite)
{
	static const uint8_t sj[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_AES256_GCM};
	struct harness h;
	struct sga_neg_invite_plain a2;
	struct sga_dev_sess s;
	uint8_t plain[128], key[SGA_AEAD_MAX_KEY_LEN];
	size_t plain_len;

	setup_lists(&h, ALL, 4, sj, 2);
	cr_assert_eq(harness_register(&h, 0), 0);
	cr_assert_eq(harness_register(&h, 1), 0);
	memset(&a2, 0, sizeof(a2));
	a2.session_id = 0x1122334455667788ull;
	a2.suite = SGA_SUITE_CHACHA20_POLY1305;
	a2.group = h.dev[1].pkg.group;
	a2.peer_id_len = 5;
	memcpy(a2.peer_id, "dev-i", 5);
	a2.n_pref = 2;
	a2.prefs[0] = SGA_SUITE_CHACHA20_POLY1305;
	a2.prefs[1] = SGA_SUITE_AES256_GCM;
	cr_assert_eq(sga_key_ctl(h.rec[1].k_d, h.rec[1].suite_init, key), 0);
	memset(&s, 0, sizeof(s));
	for (int variant = 0; variant < 3; variant++) {
		if (variant == 1) {
			a2.suite = SGA_SUITE_AES256_GCM;
			/* not the pinned package's group */
			a2.group = h.dev[1].pkg.group == SGA_GROUP_FFDHE3072 ? SGA_GROUP_FFDHE2048
			                                                     : SGA_GROUP_FFDHE3072;
		}
		if (variant == 2) {
			a2.suite = SGA_SUITE_AES128_GCM; /* d_j has it, d_i never asked for it */
			a2.group = h.dev[1].pkg.group;
		}
		cr_assert_eq(sga_neg_invite_plain_encode(&a2, plain, sizeof(plain), &plain_len), 0);
		cr_assert_eq(sga_seal_dev_env(SGA_MSG_NEG_INVITE, h.rec[1].id, h.rec[1].id_len,
		                              h.rec[1].down_ctr + 1, h.rec[1].suite_init, key,
		                              plain, plain_len, h.frame, sizeof(h.frame),
		                              &h.frame_len),
		             0);
		DEV_REJECTS(&h.dev[1], &s, SGA_E_BAD_FIELD,
		            sga_dev_consume_neg_invite(&h.dev[1], &s, h.frame, h.frame_len));
	}
	/* The same invitation with a registered, requested suite and the group is
	 * accepted (control). */
	a2.suite = SGA_SUITE_AES256_GCM;
	a2.group = h.dev[1].pkg.group;
	cr_assert_eq(sga_neg_invite_plain_encode(&a2, plain, sizeof(plain), &plain_len), 0);
	cr_assert_eq(sga_seal_dev_env(SGA_MSG_NEG_INVITE, h.rec[1].id, h.rec[1].id_len,
	                              h.rec[1].down_ctr + 1, h.rec[1].suite_init, key, plain,
	                              plain_len, h.frame, sizeof(h.frame), &h.frame_len),
	             0);
	cr_assert_eq(sga_dev_consume_neg_invite(&h.dev[1], &s, h.frame, h.frame_len), 0);
	harness_fini(&h);
}

/* ---- degenerate group elements ---------------------------------------------------- */

/* Fill v (len bytes) with a small value or p - d. */
static void elem_small(uint8_t *v, size_t len, uint8_t val)
{
	memset(v, 0, len);
	v[len - 1] = val;
}

static void elem_p_minus(const struct sga_group_info *grp, uint8_t *v, uint8_t d)
{
	memcpy(v, grp->p, grp->len);
	cr_assert_geq(v[grp->len - 1], d); /* RFC 7919 primes end in 0xff */
	v[grp->len - 1] = (uint8_t)(v[grp->len - 1] - d);
}

/* The elements the element check of grp's profile must refuse (PROTOCOL.md
 * 4.2, 4.2.1), into bad[0..n): ffdhe 0, 1, p-1, p and 2^L - 1; x25519 the
 * small-order u (0, 1, the two of order 8, p-1) and the non-canonical p and
 * 2^256 - 1; p256 a prefix other than 02/03, x = p, and an x with no point.
 * The first *n_auth of them can come with a valid F_G, MAC and proof
 * (b1_for_n): a degenerate element, not a malformed one. */
static unsigned bad_elements(const struct sga_group_info *grp, uint8_t bad[8][SGA_GROUP_MAX_LEN],
                             unsigned *n_auth)
{
	static const uint8_t x25519_bad[7][32] = {
	    {1},
	    {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
	     0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
	     0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
	    {0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
	     0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
	     0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
	    {0},
	    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	    {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	};
	static const uint8_t p256_p[32] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
	                                   0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	                                   0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
	                                   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	unsigned n = 0;

	memset(bad, 0, 8 * SGA_GROUP_MAX_LEN);
	switch (grp->kind) {
	case SGA_GROUP_KIND_FFDHE:
		elem_small(bad[n++], grp->len, 1);
		elem_p_minus(grp, bad[n++], 1);
		*n_auth = n;
		elem_small(bad[n++], grp->len, 0);
		elem_p_minus(grp, bad[n++], 0);
		memset(bad[n++], 0xff, grp->len); /* > p */
		return n;
	case SGA_GROUP_KIND_X25519:
		for (; n < 7; n++)
			memcpy(bad[n], x25519_bad[n], 32);
		*n_auth = 5; /* the small-order ones: X25519 gives 0 */
		return n;
	default: /* p256: no small subgroup (cofactor 1); off-curve and malformed */
		bad[n][0] = 0x02;
		for (uint8_t x = 1; sga_group_element_ok(grp, bad[n]) || x == 1; x++)
			bad[n][32] = x; /* the first small x with no point on the curve */
		n++;
		*n_auth = n;
		bad[n][0] = 0x04;
		bad[n++][32] = 1;
		bad[n][0] = 0x00;
		bad[n++][32] = 1;
		bad[n][0] = 0x03;
		memcpy(bad[n++] + 1, p256_p, 32);
		return n;
	}
}

/* Elements that pass the check at its boundary: ffdhe 2 and p-2; an EC
 * profile has no boundary, so a valid element of each parity instead. */
static unsigned good_elements(const struct sga_group_info *grp, uint8_t good[2][SGA_GROUP_MAX_LEN])
{
	uint8_t a[SGA_EXPONENT_LEN];

	if (grp->kind == SGA_GROUP_KIND_FFDHE) {
		elem_small(good[0], grp->len, 2);
		elem_p_minus(grp, good[1], 2);
		return 2;
	}
	for (int k = 0; k < 2; k++) {
		cr_assert_eq(sga_group_scalar_random(grp, a), 0);
		cr_assert_eq(sga_group_mul(grp, NULL, a, good[k]), 0);
	}
	return 2;
}

/* Deviation "reject N outside [2, p-2]": KEX_INIT with N = 0, 1, p-1, p, 2^k-1 -> BAD_ELEMENT. */
Test(element, kex_init_degenerate_n)
{
	struct harness h;
	struct sga_gw_out out;
	struct b1 orig, b;
	const struct sga_group_info *grp;
	uint8_t f[SGA_FRAME_MAX], bad[8][SGA_GROUP_MAX_LEN], good[2][SGA_GROUP_MAX_LEN];
	unsigned n_bad, n_auth;
	size_t f_len;

	up_to_kex(&h);
	grp = h.gw.prof[0].grp;
	cr_assert_eq(
	    sga_dev_create_kex_init(&h.dev[0], &h.sess[0], h.frame, sizeof(h.frame), &h.frame_len),
	    0);
	b1_open(&h.sess[0], h.frame, h.frame_len, &orig);
	cr_assert_eq(orig.n_len, grp->len);
	n_bad = bad_elements(grp, bad, &n_auth);
	for (unsigned v = 0; v < n_bad; v++) {
		b = orig;
		memcpy(b.n, bad[v], grp->len);
		b1_seal(&h.sess[0], &b, f, &f_len);
		GW_REJECTS(&h, SGA_E_BAD_ELEMENT,
		           sga_gw_kex_init_handle(&h.gw, &h.rec[0], &h.gsess, f, f_len, &out));
	}
	/* The boundary (ffdhe: 2 and p-2) passes the element check and then fails the MAC. */
	for (unsigned v = 0; v < good_elements(grp, good); v++) {
		b = orig;
		memcpy(b.n, good[v], grp->len);
		b1_seal(&h.sess[0], &b, f, &f_len);
		GW_REJECTS(&h, SGA_E_AUTH,
		           sga_gw_kex_init_handle(&h.gw, &h.rec[0], &h.gsess, f, f_len, &out));
	}
	harness_fini(&h);
}

/* A KEX_INIT for N that passes every other check: a fresh r and F_G(r) under
 * the gateway's public trapdoor key, K = N^r, f_K(N), the k_d proof for N. What
 * d_i itself (or whoever holds its k_d and k_ti) can make for any N. */
static void b1_for_n(struct harness *h, const struct b1 *orig, const uint8_t *N, uint8_t *f,
                     size_t *f_len)
{
	const struct sga_group_info *grp = h->dev[0].grp;
	uint8_t r[SGA_EXPONENT_LEN], K[SGA_GROUP_MAX_LEN], ctl[SGA_AEAD_MAX_KEY_LEN];
	size_t fl;
	struct b1 b = *orig;

	memcpy(b.n, N, grp->len);
	cr_assert_eq(sga_group_scalar_random(grp, r), 0);
	if (sga_group_element_ok(grp, N)) {
		cr_assert_eq(sga_group_shared(grp, N, r, K), 0);
	} else if (grp->kind == SGA_GROUP_KIND_FFDHE) {
		/* N = 1 or p-1 with an even r: K = 1 (sga_modexp refuses such bases) */
		r[SGA_EXPONENT_LEN - 1] &= 0xfe;
		memset(K, 0, grp->len);
		K[grp->len - 1] = 1;
	} else {
		/* x25519: the clamped scalar is a multiple of 8, so a point of small
		 * order gives K = 0, what X25519 itself would compute. */
		memset(K, 0, grp->secret_len);
	}
	cr_assert_eq(
	    sga_pke_seal(&h->dev[0].tpk, SGA_PKE_TRAPDOOR, r, sizeof(r), b.f, sizeof(b.f), &fl), 0);
	b.f_len = (uint16_t)fl;
	cr_assert_eq(sga_kex_init_mac(grp, K, b.sid, N, b.mac), 0);
	cr_assert_eq(sga_key_ctl(h->dev[0].k_d, h->dev[0].suite_init, ctl), 0);
	cr_assert_eq(sga_kex_proof_seal(h->dev[0].suite_init, ctl, h->dev[0].k_d, b.sid, N,
	                                grp->len, b.proof, &b.proof_len),
	             0);
	b1_seal(&h->sess[0], &b, f, f_len);
}

/* Deviation "reject N outside [2, p-2]", the attack itself: a KEX_INIT whose
 * N = 1 or p-1 (order 1 and 2: K and the peer's X = N^R_s become +-1, a session
 * key anyone can compute) carries a valid F_G(r) (an even r: K = 1), MAC and
 * proof for that N, so
 * only the element check can refuse it: BAD_ELEMENT. Control: the same
 * construction for N = g^a is accepted. */
Test(element, kex_init_degenerate_n_fully_authenticated)
{
	struct harness h;
	struct sga_gw_out out;
	struct b1 orig;
	const struct sga_group_info *grp;
	uint8_t N[SGA_GROUP_MAX_LEN], a[SGA_EXPONENT_LEN], f[SGA_FRAME_MAX];
	uint8_t bad[8][SGA_GROUP_MAX_LEN];
	unsigned n_auth;
	size_t f_len;

	up_to_kex(&h);
	grp = h.gw.prof[0].grp;
	cr_assert_eq(
	    sga_dev_create_kex_init(&h.dev[0], &h.sess[0], h.frame, sizeof(h.frame), &h.frame_len),
	    0);
	b1_open(&h.sess[0], h.frame, h.frame_len, &orig);
	(void)bad_elements(grp, bad, &n_auth);
	cr_assert_gt(n_auth, 0);
	for (unsigned v = 0; v < n_auth; v++) {
		b1_for_n(&h, &orig, bad[v], f, &f_len);
		GW_REJECTS(&h, SGA_E_BAD_ELEMENT,
		           sga_gw_kex_init_handle(&h.gw, &h.rec[0], &h.gsess, f, f_len, &out));
	}
	cr_assert_eq(sga_group_scalar_random(grp, a), 0);
	cr_assert_eq(sga_group_mul(grp, NULL, a, N), 0);
	b1_for_n(&h, &orig, N, f, &f_len);
	cr_assert_eq(sga_gw_kex_init_handle(&h.gw, &h.rec[0], &h.gsess, f, f_len, &out), 0,
	             "control: the construction is sound");
	harness_fini(&h);
}

/* Deviation "element checks": KEX_REPLY with X = 0, 1, p-1, p (even under a valid MAC) -> device BAD_ELEMENT. */
Test(element, kex_reply_degenerate_x)
{
	struct harness h;
	struct sga_gw_out out;
	uint8_t b1[2][SGA_FRAME_MAX], X[SGA_GROUP_MAX_LEN], mac[SGA_MAC_LEN], f[SGA_FRAME_MAX];
	uint8_t bad[8][SGA_GROUP_MAX_LEN];
	unsigned n_bad, n_auth;
	size_t b1_len[2], f_len;
	const struct sga_group_info *grp;

	kex_until_replies(&h, b1, b1_len, &out);
	grp = h.dev[0].grp;
	n_bad = bad_elements(grp, bad, &n_auth);
	for (unsigned v = 0; v < n_bad; v++) {
		memcpy(X, bad[v], grp->len);
		/* The MAC a trapdoor holder would compute: only the element check stops it. */
		reply_mac_for_i(&h, h.sess[0].K, X, mac);
		b5_make(h.sess[0].k_t, h.sess[0].hop_suite, h.sess[0].session_id,
		        SGA_ROLE_INITIATOR, X, (uint16_t)grp->len, mac, f, &f_len);
		DEV_REJECTS(&h.dev[0], &h.sess[0], SGA_E_BAD_ELEMENT,
		            sga_dev_consume_kex_reply(&h.dev[0], &h.sess[0], f, f_len));
	}
	cr_assert_eq(
	    sga_dev_consume_kex_reply(&h.dev[0], &h.sess[0], out.msg[0].frame, out.msg[0].len), 0);
	harness_fini(&h);
}

/* ---- peer forgery: the first two deviations ----------------------------------------- */

/* The symmetric keys d_j legitimately holds before it establishes, each
 * derived for every suite; 32-byte slots. Returns the count. */
static size_t peer_keys(const struct harness *h, uint8_t keys[][SGA_AEAD_MAX_KEY_LEN], size_t cap)
{
	const struct sga_dev *dj = &h->dev[1];
	const struct sga_dev_sess *sj = &h->sess[1];
	size_t n = 0;

	memset(keys, 0, cap * sizeof(keys[0]));
	memcpy(keys[n++], dj->k_d, SGA_KEY_LEN);
	memcpy(keys[n++], sj->k_t, SGA_KEY_LEN);
	memcpy(keys[n++], sj->kex_key, SGA_AEAD_MAX_KEY_LEN);
	cr_assert_eq(sga_key_rekey_mac(dj->k_d, keys[n++]), 0);
	for (uint8_t s = 1; s <= SGA_SUITE_COUNT; s++) {
		cr_assert_eq(sga_key_ctl(dj->k_d, s, keys[n++]), 0);
		cr_assert_eq(sga_key_kex(sj->k_t, sj->session_id, s, keys[n++]), 0);
		cr_assert_eq(sga_key_hop(sj->k_t, sj->session_id, s, SGA_DIR_UP, keys[n++]), 0);
		cr_assert_eq(sga_key_hop(sj->k_t, sj->session_id, s, SGA_DIR_DOWN, keys[n++]), 0);
	}
	cr_assert_leq(n, cap);
	return n;
}

/* Try every key against the session envelope of frame with every suite: all AUTH. */
static void cannot_open(const uint8_t *frame, size_t len, uint8_t keys[][SGA_AEAD_MAX_KEY_LEN],
                        size_t nk)
{
	struct sga_env_sess env;
	uint8_t plain[SGA_FRAME_MAX];
	size_t plain_len;

	cr_assert_eq(sga_env_sess_decode(frame, len, &env), 0);
	for (size_t k = 0; k < nk; k++)
		for (uint8_t s = 1; s <= SGA_SUITE_COUNT; s++)
			cr_assert_eq(sga_open_env(s, keys[k], env.nonce, env.aad, env.aad_len,
			                          env.ct, env.ct_len, plain, sizeof(plain),
			                          &plain_len),
			             -SGA_E_AUTH, "key %zu suite %u opened d_i's KEX_INIT", k, s);
}

/* Deviation 1 "k_t stays pairwise" (paper: d_j receives k_ti): d_j, with all it
 * legitimately holds, can neither read d_i's KEX_INIT nor forge d_i's KEX_REPLY. */
Test(peer_forgery, peer_cannot_read_or_forge)
{
	struct harness h;
	struct sga_gw_out out;
	struct sga_dev_sess si_before;
	uint8_t b1[2][SGA_FRAME_MAX], keys[24][SGA_AEAD_MAX_KEY_LEN];
	uint8_t x[SGA_EXPONENT_LEN], gx[SGA_GROUP_MAX_LEN], Nj[SGA_GROUP_MAX_LEN], mac[SGA_MAC_LEN];
	uint8_t f[SGA_FRAME_MAX];
	size_t b1_len[2], nk, f_len;
	const struct sga_group_info *grp;

	kex_until_replies(&h, b1, b1_len, &out);
	grp = h.dev[0].grp;
	memcpy(&si_before, &h.sess[0], sizeof(si_before));
	nk = peer_keys(&h, keys, 24);

	/* d_j cannot open d_i's B1 (so never sees N_i, F_G(r_i), f_K(N_i)). */
	cannot_open(b1[0], b1_len[0], keys, nk);
	/* Nor the B5 meant for d_i. */
	cannot_open(out.msg[0].frame, out.msg[0].len, keys, nk);

	/* d_j forges B5 for d_i with what it can compute: X = g^x or its own N_j,
	 * MAC under its own K_js or g^x, sealed under each key it holds. */
	cr_assert_eq(sga_group_scalar_random(grp, x), 0);
	cr_assert_eq(sga_group_mul(grp, NULL, x, gx), 0);
	cr_assert_eq(sga_group_mul(grp, NULL, h.sess[1].R, Nj), 0);
	for (size_t k = 0; k < nk; k++) {
		const uint8_t *Xs[2] = {gx, Nj}, *Ks[2] = {h.sess[1].K, gx};

		for (int xi = 0; xi < 2; xi++)
			for (int ki = 0; ki < 2; ki++) {
				struct sga_kex_reply_plain m = {(uint16_t)grp->len, Xs[xi],
				                                FORGED_N_HASH, mac};
				uint8_t plain[SGA_FRAME_MAX];
				size_t plain_len;

				reply_mac_for_i(&h, Ks[ki], Xs[xi], mac);
				cr_assert_eq(sga_kex_reply_plain_encode(&m, plain, sizeof(plain),
				                                        &plain_len),
				             0);
				cr_assert_eq(sga_seal_sess_env(
				                 SGA_MSG_KEX_REPLY, h.sess[0].session_id,
				                 SGA_ROLE_INITIATOR, h.sess[0].hop_suite, keys[k],
				                 plain, plain_len, f, sizeof(f), &f_len),
				             0);
				DEV_REJECTS(
				    &h.dev[0], &h.sess[0], SGA_E_AUTH,
				    sga_dev_consume_kex_reply(&h.dev[0], &h.sess[0], f, f_len));
			}
	}
	cr_assert_eq(memcmp(&si_before, &h.sess[0], sizeof(si_before)), 0);

	/* After establishing, d_j's traffic keys do not open d_i's B1 either. */
	cr_assert_eq(
	    sga_dev_consume_kex_reply(&h.dev[1], &h.sess[1], out.msg[1].frame, out.msg[1].len), 0);
	memcpy(keys[0], h.sess[1].e2e_tx_key, SGA_AEAD_MAX_KEY_LEN);
	memcpy(keys[1], h.sess[1].e2e_rx_key, SGA_AEAD_MAX_KEY_LEN);
	memcpy(keys[2], h.sess[1].hop_up, SGA_AEAD_MAX_KEY_LEN);
	memcpy(keys[3], h.sess[1].hop_down, SGA_AEAD_MAX_KEY_LEN);
	cannot_open(b1[0], b1_len[0], keys, 4);

	/* The genuine reply still works for d_i. */
	cr_assert_eq(
	    sga_dev_consume_kex_reply(&h.dev[0], &h.sess[0], out.msg[0].frame, out.msg[0].len), 0);
	cr_assert_arr_eq(h.sess[0].e2e_tx_key, h.sess[1].e2e_rx_key,
	                 sga_suite_get(h.sess[0].suite)->key_len);
	harness_fini(&h);
}

/*
 * The paper's flow (PROTOCOL.md 12, deviations 1 and 2), as the paper's parties
 * would build it: the paper's A2 hands d_j k_ti XOR k_dj under d_j's key, and the
 * paper's B1 carries K_is inside the envelope sealed under k_ti. These two
 * builders are the paper's gateway and the paper's d_i; the attacker never
 * calls them, it only receives their frames.
 */
static void paper_a2(const struct harness *h, uint8_t *out, size_t *len)
{
	struct sga_neg_invite_plain a2 = {.session_id = h->gsess.session_id,
	                                  .suite = h->gsess.suite,
	                                  .group = h->gsess.group,
	                                  .peer_id_len = h->gsess.id_len[0]};
	uint8_t plain[128], key[SGA_AEAD_MAX_KEY_LEN];
	size_t plain_len;

	memcpy(a2.peer_id, h->gsess.id[0], a2.peer_id_len);
	/* (the preference list is this protocol's addition, carried as it is) */
	a2.n_pref = h->sess[0].n_pref;
	memcpy(a2.prefs, h->sess[0].prefs, a2.n_pref);
	cr_assert_eq(sga_neg_invite_plain_encode(&a2, plain, sizeof(plain), &plain_len), 0);
	for (int i = 0; i < SGA_KEY_LEN; i++) /* the paper: k_ti XOR k_dj */
		plain[plain_len + i] = h->gsess.k_t[0][i] ^ h->rec[1].k_d[i];
	plain_len += SGA_KEY_LEN;
	cr_assert_eq(sga_key_ctl(h->rec[1].k_d, h->rec[1].suite_init, key), 0);
	cr_assert_eq(sga_seal_dev_env(SGA_MSG_NEG_INVITE, h->rec[1].id, h->rec[1].id_len,
	                              h->rec[1].down_ctr + 1, h->rec[1].suite_init, key, plain,
	                              plain_len, out, SGA_FRAME_MAX, len),
	             0);
}

static void paper_b1(struct harness *h, uint8_t *out, size_t *len)
{
	struct sga_env_sess env;
	uint8_t plain[SGA_FRAME_MAX], key[SGA_AEAD_MAX_KEY_LEN], b1[SGA_FRAME_MAX];
	size_t plain_len, b1_len, L = h->dev[0].grp->secret_len;

	/* d_i's B1 as this implementation makes it, then K_is in the clear inside */
	cr_assert_eq(sga_dev_create_kex_init(&h->dev[0], &h->sess[0], b1, sizeof(b1), &b1_len), 0);
	sess_open(h->sess[0].k_t, h->sess[0].hop_suite, SGA_MSG_KEX_INIT, b1, b1_len, &env, plain,
	          &plain_len);
	memcpy(plain + plain_len, h->sess[0].K, L);
	plain_len += L;
	cr_assert_eq(sga_key_kex(h->sess[0].k_t, env.session_id, h->sess[0].hop_suite, key), 0);
	cr_assert_eq(sga_seal_sess_env(SGA_MSG_KEX_INIT, env.session_id, SGA_ROLE_INITIATOR,
	                               h->sess[0].hop_suite, key, plain, plain_len, out,
	                               SGA_FRAME_MAX, len),
	             0);
}

/* Open a session envelope under k_t, trying every suite (the attacker does not
 * know d_i's suite_init): the suite that opened it, or 0. */
static uint8_t open_any_suite(const uint8_t k_t[SGA_KEY_LEN], const uint8_t *frame, size_t len,
                              struct sga_env_sess *env, uint8_t *plain, size_t *plain_len)
{
	uint8_t key[SGA_AEAD_MAX_KEY_LEN];

	cr_assert_eq(sga_env_sess_decode(frame, len, env), 0);
	for (uint8_t s = 1; s <= SGA_SUITE_COUNT; s++)
		if (!sga_key_kex(k_t, env->session_id, s, key) &&
		    !sga_open_env(s, key, env->nonce, env->aad, env->aad_len, env->ct, env->ct_len,
		                  plain, SGA_FRAME_MAX, plain_len))
			return s;
	return 0;
}

/* Deviations 1 and 2 ("k_t pairwise", "K_is not sent"), positive control: the
 * paper's original flow run end to end, attacked by d_j - a registered device
 * and a legitimate peer of d_i - with nothing but its own k_dj and the frames it
 * receives or sees on the wire: it takes k_ti from the paper's A2, reads K_is
 * and N_i from d_i's B1, answers d_i with a B5 of its own choosing (X = g^x)
 * that d_i accepts without the gateway, and then holds d_i's session key. The
 * same attacker against this implementation's frames finds neither k_ti nor
 * K_is (and peer_cannot_read_or_forge shows its forgeries fail). */
Test(peer_forgery, paper_flow_would_be_broken)
{
	struct harness h;
	const struct sga_group_info *grp;
	struct sga_env_dev denv;
	struct sga_env_sess senv;
	struct sga_kex_init_plain b1m;
	struct sga_neg_invite_plain inv;
	uint8_t a2[SGA_FRAME_MAX], b1[SGA_FRAME_MAX], plain[SGA_FRAME_MAX],
	    key[SGA_AEAD_MAX_KEY_LEN];
	uint8_t k_ti[SGA_KEY_LEN], K_is[SGA_GROUP_MAX_LEN], N_i[SGA_GROUP_MAX_LEN];
	uint8_t x[SGA_EXPONENT_LEN], X[SGA_GROUP_MAX_LEN], mac[SGA_MAC_LEN], f[SGA_FRAME_MAX];
	uint8_t kisj[SGA_GROUP_MAX_LEN], th[SGA_SHA256_LEN], e2e[SGA_AEAD_MAX_KEY_LEN] = {0};
	size_t a2_len, b1_len, plain_len, inv_len, f_len, L;
	uint8_t b1_suite;

	up_to_kex(&h);
	grp = h.dev[0].grp; /* the group is in the gateway's public package */
	L = grp->len;
	paper_a2(&h, a2, &a2_len);
	paper_b1(&h, b1, &b1_len);

	/* d_j opens the A2 addressed to it, with its own key, and unmasks k_ti. */
	cr_assert_eq(sga_env_dev_decode(a2, a2_len, &denv), 0);
	cr_assert_eq(sga_key_ctl(h.dev[1].k_d, h.dev[1].suite_init, key), 0);
	cr_assert_eq(sga_open_env(h.dev[1].suite_init, key, denv.nonce, denv.aad, denv.aad_len,
	                          denv.ct, denv.ct_len, plain, sizeof(plain), &plain_len),
	             0);
	cr_assert_gt(plain_len, SGA_KEY_LEN);
	inv_len = plain_len - SGA_KEY_LEN;
	cr_assert_eq(sga_neg_invite_plain_decode(plain, inv_len, &inv), 0);
	for (int i = 0; i < SGA_KEY_LEN; i++)
		k_ti[i] = plain[inv_len + i] ^ h.dev[1].k_d[i];

	/* It sees d_i's B1 on its way to G and opens it: N_i, and K_is next to the MAC. */
	b1_suite = open_any_suite(k_ti, b1, b1_len, &senv, plain, &plain_len);
	cr_assert_neq(b1_suite, 0, "k_ti from the paper's A2 opens d_i's B1");
	cr_assert_gt(plain_len, grp->secret_len);
	cr_assert_eq(sga_kex_init_plain_decode(plain, plain_len - grp->secret_len, &b1m), 0);
	memcpy(N_i, b1m.n, L);
	memcpy(K_is, plain + plain_len - grp->secret_len, grp->secret_len);

	/* B5 to d_i: X = g^x for its own x, MAC under K_is, sealed under k_ti. */
	cr_assert_eq(sga_group_scalar_random(grp, x), 0);
	cr_assert_eq(sga_group_mul(grp, NULL, x, X), 0);
	cr_assert_eq(sga_kex_reply_mac(grp, K_is, senv.session_id, inv.peer_id, inv.peer_id_len,
	                               h.dev[1].id, h.dev[1].id_len, X, FORGED_N_HASH, mac),
	             0);
	b5_make(k_ti, b1_suite, senv.session_id, SGA_ROLE_INITIATOR, X, (uint16_t)L, mac, f,
	        &f_len);
	cr_assert_eq(sga_dev_consume_kex_reply(&h.dev[0], &h.sess[0], f, f_len), 0,
	             "d_i refused the forged reply: the paper's flow is not broken?");
	cr_assert_eq(h.sess[0].state, SGA_DEV_S_ESTABLISHED);
	cr_assert_eq(h.gsess.have_init, 0, "the gateway saw no KEX_INIT: it took no part");

	/* d_j computes d_i's session key: K_isj = N_i^x, then the E2E key i -> j. */
	cr_assert_eq(sga_group_shared(grp, N_i, x, kisj), 0);
	{
		/* The transcript from what d_j holds: the package it pinned, the
		 * preference list A2 gave it, N_i from B1, the hash it forged. */
		uint8_t nh_i[SGA_SHA256_LEN];
		const struct sga_buf nb = {N_i, L};
		struct sga_transcript t = {
		    .session_id = senv.session_id,
		    .id_g = h.dev[1].pkg.id,
		    .id_g_len = h.dev[1].pkg.id_len,
		    .id_i = inv.peer_id,
		    .id_i_len = inv.peer_id_len,
		    .id_j = h.dev[1].id,
		    .id_j_len = h.dev[1].id_len,
		    .prefs = inv.prefs,
		    .n_pref = inv.n_pref,
		    .suite = inv.suite,
		    .group = inv.group,
		    .n_hash = {nh_i, FORGED_N_HASH},
		};

		cr_assert_eq(sga_sha256(&nb, 1, nh_i), 0);
		cr_assert_eq(sga_transcript_hash(&t, th), 0);
	}
	cr_assert_eq(sga_key_e2e(kisj, grp->secret_len, th, inv.suite, SGA_E2E_I_TO_J, e2e), 0);
	cr_assert_arr_eq(e2e, h.sess[0].e2e_tx_key, sga_suite_get(inv.suite)->key_len,
	                 "d_j holds the key d_i sends under");
	harness_fini(&h);

	/* This implementation: the same attacker, the same steps, the real frames. */
	up_to_kex(&h);
	{
		uint8_t keys[24][SGA_AEAD_MAX_KEY_LEN];
		size_t nk = peer_keys(&h, keys, 24);

		cr_assert_eq(
		    sga_dev_create_kex_init(&h.dev[0], &h.sess[0], b1, sizeof(b1), &b1_len), 0);
		/* No k_ti to unmask: nothing d_j holds opens d_i's B1 (deviation 1)... */
		for (size_t k = 0; k < nk; k++)
			cr_assert_eq(open_any_suite(keys[k], b1, b1_len, &senv, plain, &plain_len),
			             0, "key %zu of d_j opened d_i's B1", k);
		/* ...and had it opened it, B1 ends with the MAC: no K_is (deviation 2). */
		sess_open(h.sess[0].k_t, h.sess[0].hop_suite, SGA_MSG_KEX_INIT, b1, b1_len, &senv,
		          plain, &plain_len);
		cr_assert_eq(sga_kex_init_plain_decode(plain, plain_len, &b1m), 0,
		             "B1 holds exactly N, proof, F and the MAC");
	}
	harness_fini(&h);
}

/* Every k_t candidate an attacker can draw from bytes p: each 32-byte window, as
 * it is and masked (XOR) with each key the attacker holds. 1 if one of them
 * opens the session envelope b1. */
static int kt_candidate_opens(const uint8_t *p, size_t len, const uint8_t masks[][SGA_KEY_LEN],
                              size_t nm, const uint8_t *b1, size_t b1_len)
{
	struct sga_env_sess env;
	uint8_t plain[SGA_FRAME_MAX], cand[SGA_KEY_LEN];
	size_t pl;

	for (size_t off = 0; off + SGA_KEY_LEN <= len; off++)
		for (size_t m = 0; m <= nm; m++) {
			for (int i = 0; i < SGA_KEY_LEN; i++)
				cand[i] = (uint8_t)(p[off + i] ^ (m < nm ? masks[m][i] : 0));
			if (open_any_suite(cand, b1, b1_len, &env, plain, &pl))
				return 1;
		}
	return 0;
}

/* Deviation 1, the attack in its generic form: d_j searches everything it
 * receives from the gateway during negotiation and key exchange (A2 and B6, as
 * sent and as opened with its own keys) for k_ti - every 32-byte window, as is
 * and masked with k_dj or k_tj - and tries each candidate on d_i's B1. None
 * opens it. Control: the same search over the paper's A2 finds k_ti. */
Test(peer_forgery, nothing_the_peer_receives_yields_k_ti)
{
	struct harness h;
	struct sga_neg_req_plain a1;
	struct sga_neg_accept_plain a3;
	struct sga_gw_out out;
	struct sga_env_dev denv;
	struct sga_env_sess senv;
	uint8_t inv[SGA_FRAME_MAX], b1[SGA_FRAME_MAX], b6[SGA_FRAME_MAX], pa2[SGA_FRAME_MAX];
	uint8_t plain[SGA_FRAME_MAX], key[SGA_AEAD_MAX_KEY_LEN], masks[2][SGA_KEY_LEN];
	size_t inv_len, b1_len, b6_len = 0, pa2_len, plain_len;
	uint64_t ctr;

	setup(&h);
	cr_assert_eq(harness_register(&h, 0), 0);
	cr_assert_eq(harness_register(&h, 1), 0);
	/* A1..A4, keeping what d_j receives. */
	cr_assert_eq(sga_dev_create_neg_req(&h.dev[0], &h.sess[0], h.dev[1].id, 5, ALL, 4, h.frame,
	                                    sizeof(h.frame), &h.frame_len),
	             0);
	cr_assert_eq(sga_gw_neg_req_open(&h.gw, &h.rec[0], h.frame, h.frame_len, &a1, &ctr), 0);
	cr_assert_eq(sga_gw_neg_req_handle(&h.gw, &h.rec[0], &h.rec[1], &a1, ctr, &h.gsess, &out),
	             0);
	memcpy(inv, out.msg[0].frame, out.msg[0].len);
	inv_len = out.msg[0].len;
	cr_assert_eq(sga_dev_consume_neg_invite(&h.dev[1], &h.sess[1], inv, inv_len), 0);
	cr_assert_eq(sga_dev_create_neg_accept(&h.dev[1], &h.sess[1], 1, h.frame, sizeof(h.frame),
	                                       &h.frame_len),
	             0);
	cr_assert_eq(sga_gw_neg_accept_open(&h.gw, &h.rec[1], h.frame, h.frame_len, &a3, &ctr), 0);
	cr_assert_eq(sga_gw_neg_accept_handle(&h.gw, &h.rec[1], &h.gsess, &a3, ctr, &out), 0);
	cr_assert_eq(
	    sga_dev_consume_neg_result(&h.dev[0], &h.sess[0], out.msg[0].frame, out.msg[0].len), 0);
	paper_a2(&h, pa2, &pa2_len); /* for the control, while G still holds k_ti */
	/* B1 (d_i's, the target), B3, and the B6 d_j receives. */
	cr_assert_eq(sga_dev_create_kex_init(&h.dev[0], &h.sess[0], b1, sizeof(b1), &b1_len), 0);
	cr_assert_eq(sga_gw_kex_init_handle(&h.gw, &h.rec[0], &h.gsess, b1, b1_len, &out), 0);
	cr_assert_eq(
	    sga_dev_create_kex_init(&h.dev[1], &h.sess[1], h.frame, sizeof(h.frame), &h.frame_len),
	    0);
	cr_assert_eq(sga_gw_kex_init_handle(&h.gw, &h.rec[1], &h.gsess, h.frame, h.frame_len, &out),
	             0);
	for (unsigned m = 0; m < out.n; m++)
		if (out.msg[m].to_id_len == 5 && !memcmp(out.msg[m].to_id, "dev-j", 5)) {
			memcpy(b6, out.msg[m].frame, out.msg[m].len);
			b6_len = out.msg[m].len;
		}
	cr_assert_gt(b6_len, 0, "no B6 for d_j");

	memcpy(masks[0], h.dev[1].k_d, SGA_KEY_LEN);
	memcpy(masks[1], h.sess[1].k_t, SGA_KEY_LEN);
	/* The frames as they arrive, then opened with d_j's keys. */
	cr_assert_not(kt_candidate_opens(inv, inv_len, masks, 2, b1, b1_len), "A2 as sent");
	cr_assert_not(kt_candidate_opens(b6, b6_len, masks, 2, b1, b1_len), "B6 as sent");
	cr_assert_eq(sga_env_dev_decode(inv, inv_len, &denv), 0);
	cr_assert_eq(sga_key_ctl(h.dev[1].k_d, h.dev[1].suite_init, key), 0);
	cr_assert_eq(sga_open_env(h.dev[1].suite_init, key, denv.nonce, denv.aad, denv.aad_len,
	                          denv.ct, denv.ct_len, plain, sizeof(plain), &plain_len),
	             0);
	cr_assert_not(kt_candidate_opens(plain, plain_len, masks, 2, b1, b1_len),
	              "k_ti found in the A2 d_j opened");
	sess_open(h.sess[1].k_t, h.sess[1].hop_suite, SGA_MSG_KEX_REPLY, b6, b6_len, &senv, plain,
	          &plain_len);
	cr_assert_not(kt_candidate_opens(plain, plain_len, masks, 2, b1, b1_len),
	              "k_ti found in the B6 d_j opened");

	/* Control: the paper's A2, searched the same way, gives k_ti away. */
	cr_assert_eq(sga_env_dev_decode(pa2, pa2_len, &denv), 0);
	cr_assert_eq(sga_open_env(h.dev[1].suite_init, key, denv.nonce, denv.aad, denv.aad_len,
	                          denv.ct, denv.ct_len, plain, sizeof(plain), &plain_len),
	             0);
	cr_assert(kt_candidate_opens(plain, plain_len, masks, 2, b1, b1_len),
	          "the search misses the paper's leak");
	harness_fini(&h);
}

/* ---- cross-session frames ---------------------------------------------------------- */

/* Paper 5 "relay attack" across sessions / hop keys per session and member. */
Test(cross_session, frames_from_elsewhere)
{
	struct harness h, h2;
	uint8_t f[SGA_FRAME_MAX], down[SGA_FRAME_MAX], inner[32], to;
	size_t f_len, down_len;

	full(&h);
	full(&h2);
	cr_assert_neq(h.gsess.session_id, h2.gsess.session_id);
	/* A DATA_UP of session B relayed through session A's record. */
	cr_assert_eq(
	    sga_dev_data_seal(&h2.sess[0], (const uint8_t *)"from B", 6, f, sizeof(f), &f_len), 0);
	GW_REJECTS(&h, SGA_E_UNKNOWN_SESSION,
	           sga_gw_data_relay(&h.gsess, f, f_len, down, sizeof(down), &down_len, &to));
	/* ...relabelled with A's session id: B's hop key does not verify in A. */
	for (int k = 0; k < 8; k++)
		f[SGA_HDR_LEN + k] = (uint8_t)(h.gsess.session_id >> (56 - 8 * k));
	GW_REJECTS(&h, SGA_E_AUTH,
	           sga_gw_data_relay(&h.gsess, f, f_len, down, sizeof(down), &down_len, &to));
	/* d_j claims d_i's role in its own session (role flipped). */
	cr_assert_eq(
	    sga_dev_data_seal(&h.sess[1], (const uint8_t *)"i am d_i", 8, f, sizeof(f), &f_len), 0);
	f[SGA_HDR_LEN + 8] ^= 1;
	GW_REJECTS(&h, SGA_E_AUTH,
	           sga_gw_data_relay(&h.gsess, f, f_len, down, sizeof(down), &down_len, &to));
	/* A well-formed frame with the right id and role but a wrong hop key:
	 * the other member's, and another session's. */
	memset(inner, 0x42, sizeof(inner));
	cr_assert_eq(sga_seal_hop(SGA_MSG_DATA_UP, h.gsess.session_id, SGA_ROLE_INITIATOR, 0, 100,
	                          h.sess[0].hop_suite, h.sess[1].hop_up, inner, sizeof(inner), f,
	                          sizeof(f), &f_len),
	             0);
	GW_REJECTS(&h, SGA_E_AUTH,
	           sga_gw_data_relay(&h.gsess, f, f_len, down, sizeof(down), &down_len, &to));
	cr_assert_eq(sga_seal_hop(SGA_MSG_DATA_UP, h.gsess.session_id, SGA_ROLE_INITIATOR, 0, 101,
	                          h.sess[0].hop_suite, h2.sess[0].hop_up, inner, sizeof(inner), f,
	                          sizeof(f), &f_len),
	             0);
	GW_REJECTS(&h, SGA_E_AUTH,
	           sga_gw_data_relay(&h.gsess, f, f_len, down, sizeof(down), &down_len, &to));
	/* A DATA_DOWN of session B handed to a device of session A. */
	{
		uint8_t msg[64];
		size_t msg_len;

		cr_assert_eq(sga_dev_data_seal(&h2.sess[0], (const uint8_t *)"B->j", 4, f,
		                               sizeof(f), &f_len),
		             0);
		cr_assert_eq(
		    sga_gw_data_relay(&h2.gsess, f, f_len, down, sizeof(down), &down_len, &to), 0);
		DEV_REJECTS(
		    &h.dev[1], &h.sess[1], SGA_E_UNKNOWN_SESSION,
		    sga_dev_data_open(&h.sess[1], down, down_len, msg, sizeof(msg), &msg_len));
	}
	harness_fini(&h2);
	harness_fini(&h);
}

/* ---- transcript binding and key confirmation (PROTOCOL.md 8.2, 8.6) ------------------ */

/* A gateway that lies to one device holds that device's keys, so its lie
 * authenticates; what the devices must then catch is that they disagree. Each
 * attack below leads both devices through B7, lets each send its key
 * confirmation through the gateway, and requires both to refuse the other's at
 * once (KEY_CONFIRM, session FAILED) - before any application message. */

/* Both confirms relayed; each device's verdict on the other's. */
static void confirms_exchange(struct harness *h, int rc_got[2])
{
	uint8_t relayed[2][SGA_FRAME_MAX];
	size_t relayed_len[2];

	for (int k = 0; k < 2; k++) {
		cr_assert(!sga_dev_sess_confirmed(&h->sess[k]), "no data before the confirmation");
		cr_assert_eq(
		    harness_confirm_frame(h, k, relayed[k], sizeof(relayed[k]), &relayed_len[k]),
		    0);
	}
	for (int k = 0; k < 2; k++)
		rc_got[k ^ 1] =
		    sga_dev_consume_key_confirm(&h->sess[k ^ 1], relayed[k], relayed_len[k]);
}

/* Both devices detect the disagreement at connect, and nothing flows. */
static void both_detect(struct harness *h)
{
	uint8_t f[SGA_FRAME_MAX];
	size_t len;
	int rc[2];

	confirms_exchange(h, rc);
	for (int k = 0; k < 2; k++) {
		cr_assert_eq(rc[k], -SGA_E_KEY_CONFIRM, "device %d: got %s, want KEY_CONFIRM", k,
		             sga_err_name(rc[k]));
		cr_assert_eq(h->sess[k].state, SGA_DEV_S_FAILED, "device %d", k);
		cr_assert(!sga_dev_sess_confirmed(&h->sess[k]));
		cr_assert_eq(
		    sga_dev_data_seal(&h->sess[k], (const uint8_t *)"m", 1, f, sizeof(f), &len),
		    -SGA_E_BAD_STATE);
	}
}

/* A1..A4 as harness_negotiate, with the gateway's A2 to d_j rewritten by edit
 * and re-sealed under k_dj (a gateway holds it): the invitation authenticates. */
static void negotiate_lying(struct harness *h, const uint8_t *prefs, uint8_t n_pref,
                            void (*edit)(struct sga_neg_invite_plain *a2))
{
	struct sga_neg_req_plain a1;
	struct sga_neg_accept_plain a3;
	struct sga_neg_invite_plain a2;
	struct sga_env_dev env;
	struct sga_gw_out out;
	uint8_t key[SGA_AEAD_MAX_KEY_LEN], plain[128], f[SGA_FRAME_MAX];
	size_t plain_len, f_len;
	uint64_t ctr;

	cr_assert_eq(harness_register(h, 0), 0);
	cr_assert_eq(harness_register(h, 1), 0);
	cr_assert_eq(sga_dev_create_neg_req(&h->dev[0], &h->sess[0], h->dev[1].id, h->dev[1].id_len,
	                                    prefs, n_pref, h->frame, sizeof(h->frame),
	                                    &h->frame_len),
	             0);
	cr_assert_eq(sga_gw_neg_req_open(&h->gw, &h->rec[0], h->frame, h->frame_len, &a1, &ctr), 0);
	cr_assert_eq(
	    sga_gw_neg_req_handle(&h->gw, &h->rec[0], &h->rec[1], &a1, ctr, &h->gsess, &out), 0);
	cr_assert_neq(h->gsess.session_id, 0);
	/* The genuine A2, opened and rewritten. */
	cr_assert_eq(sga_env_dev_decode(out.msg[0].frame, out.msg[0].len, &env), 0);
	cr_assert_eq(sga_key_ctl(h->rec[1].k_d, h->rec[1].suite_init, key), 0);
	cr_assert_eq(sga_open_env(h->rec[1].suite_init, key, env.nonce, env.aad, env.aad_len,
	                          env.ct, env.ct_len, plain, sizeof(plain), &plain_len),
	             0);
	cr_assert_eq(sga_neg_invite_plain_decode(plain, plain_len, &a2), 0);
	edit(&a2);
	cr_assert_eq(sga_neg_invite_plain_encode(&a2, plain, sizeof(plain), &plain_len), 0);
	cr_assert_eq(sga_seal_dev_env(SGA_MSG_NEG_INVITE, h->rec[1].id, h->rec[1].id_len, env.ctr,
	                              h->rec[1].suite_init, key, plain, plain_len, f, sizeof(f),
	                              &f_len),
	             0);
	cr_assert_eq(sga_dev_consume_neg_invite(&h->dev[1], &h->sess[1], f, f_len), 0,
	             "the lie passes every check d_j can make on A2 alone");
	cr_assert_eq(sga_dev_create_neg_accept(&h->dev[1], &h->sess[1], 1, h->frame,
	                                       sizeof(h->frame), &h->frame_len),
	             0);
	cr_assert_eq(sga_gw_neg_accept_open(&h->gw, &h->rec[1], h->frame, h->frame_len, &a3, &ctr),
	             0);
	cr_assert_eq(sga_gw_neg_accept_handle(&h->gw, &h->rec[1], &h->gsess, &a3, ctr, &out), 0);
	cr_assert_eq(
	    sga_dev_consume_neg_result(&h->dev[0], &h->sess[0], out.msg[0].frame, out.msg[0].len),
	    0);
	sga_memzero(key, sizeof(key));
}

static const uint8_t PREFS_CHACHA_FIRST[] = {SGA_SUITE_CHACHA20_POLY1305, SGA_SUITE_AES128_GCM};

/* d_j is told AES-128-GCM while d_i was told (and chose) ChaCha20. */
static void edit_other_suite(struct sga_neg_invite_plain *a2)
{
	cr_assert_eq(a2->suite, SGA_SUITE_CHACHA20_POLY1305);
	a2->suite = SGA_SUITE_AES128_GCM;
}

/* A downgrade of d_j hidden from it: the second choice, with d_i's list cut so
 * the choice looks right to d_j (first of the list that both support). */
static void edit_downgrade_hidden(struct sga_neg_invite_plain *a2)
{
	a2->suite = SGA_SUITE_AES128_GCM;
	a2->n_pref = 1;
	a2->prefs[0] = SGA_SUITE_AES128_GCM;
}

/* The suite stays, the relayed list is reordered: what d_i asked for is not
 * what d_j binds. */
static void edit_prefs_only(struct sga_neg_invite_plain *a2)
{
	a2->prefs[0] = SGA_SUITE_AES128_GCM;
	a2->prefs[1] = SGA_SUITE_CHACHA20_POLY1305;
}

/* The gateway tells each device a different suite: both detect it at connect. */
Test(transcript, gateway_splits_the_suite)
{
	struct harness h;

	setup(&h);
	negotiate_lying(&h, PREFS_CHACHA_FIRST, 2, edit_other_suite);
	cr_assert_eq(h.sess[0].suite, SGA_SUITE_CHACHA20_POLY1305);
	cr_assert_eq(h.sess[1].suite, SGA_SUITE_AES128_GCM);
	cr_assert_eq(harness_kex_only(&h), 0, "B7 cannot see it: each reply is genuine");
	both_detect(&h);
	harness_fini(&h);
}

/* A downgrade to the second choice, hidden from d_j by a cut preference list:
 * only the list in the transcript reveals it. */
Test(transcript, gateway_downgrade_with_cut_prefs)
{
	struct harness h;

	setup(&h);
	negotiate_lying(&h, PREFS_CHACHA_FIRST, 2, edit_downgrade_hidden);
	/* The gateway tells d_i the same second choice: an A4 naming it passes d_i's
	 * checks (it is in d_i's list), so set what consuming one would set. */
	cr_assert_eq(h.sess[1].suite, SGA_SUITE_AES128_GCM);
	h.sess[0].suite = SGA_SUITE_AES128_GCM;
	cr_assert_eq(harness_kex_only(&h), 0);
	both_detect(&h);
	harness_fini(&h);
}

/* The same suite, the list reordered on its way to d_j. */
Test(transcript, gateway_rewrites_prefs)
{
	struct harness h;

	setup(&h);
	negotiate_lying(&h, PREFS_CHACHA_FIRST, 2, edit_prefs_only);
	cr_assert_eq(h.sess[0].suite, h.sess[1].suite);
	cr_assert_eq(harness_kex_only(&h), 0);
	both_detect(&h);
	harness_fini(&h);
}

/* The KEX_REPLY to d_j rebuilt by a gateway: X_j (NULL: the genuine one) and the
 * H(N_i) it names, under the MAC key K_js the gateway recovered (here read from
 * d_j, which holds the same value) and d_j's k_tj. */
static void reply_to_j_rewritten(struct harness *h, const struct sga_gw_out *out, const uint8_t *X,
                                 const uint8_t n_hash[SGA_SHA256_LEN], uint8_t *f, size_t *f_len)
{
	const struct sga_group_info *grp = h->dev[1].grp;
	struct sga_env_sess env;
	struct sga_kex_reply_plain m;
	uint8_t plain[SGA_FRAME_MAX], x[SGA_GROUP_MAX_LEN], mac[SGA_MAC_LEN];
	size_t plain_len;

	sess_open(h->sess[1].k_t, h->sess[1].hop_suite, SGA_MSG_KEX_REPLY, out->msg[1].frame,
	          out->msg[1].len, &env, plain, &plain_len);
	cr_assert_eq(sga_kex_reply_plain_decode(plain, plain_len, &m), 0);
	memcpy(x, X ? X : m.x, grp->len);
	cr_assert_eq(sga_kex_reply_mac(grp, h->sess[1].K, env.session_id, h->dev[1].id,
	                               h->dev[1].id_len, h->sess[1].peer_id, h->sess[1].peer_id_len,
	                               x, n_hash, mac),
	             0);
	b5_make_n(h->sess[1].k_t, h->sess[1].hop_suite, env.session_id, SGA_ROLE_RESPONDER, x,
	          (uint16_t)grp->len, n_hash, mac, f, f_len);
}

/* The gateway substitutes its own element for N_i towards d_j (X_j = N'^R'),
 * naming N_i honestly: the keys differ, and both devices see it at connect. */
Test(transcript, gateway_substitutes_n_keys_differ)
{
	struct harness h;
	struct sga_gw_out out;
	uint8_t b1[2][SGA_FRAME_MAX], a[SGA_EXPONENT_LEN], r[SGA_EXPONENT_LEN];
	uint8_t Np[SGA_GROUP_MAX_LEN], Xp[SGA_GROUP_MAX_LEN], n_hash_i[SGA_SHA256_LEN];
	uint8_t f[SGA_FRAME_MAX];
	size_t b1_len[2], f_len;
	const struct sga_group_info *grp;

	kex_until_replies(&h, b1, b1_len, &out);
	grp = h.dev[1].grp;
	memcpy(n_hash_i, h.sess[0].n_hash, SGA_SHA256_LEN); /* the genuine H(N_i) */
	cr_assert_eq(sga_group_scalar_random(grp, a), 0);
	cr_assert_eq(sga_group_scalar_random(grp, r), 0);
	cr_assert_eq(sga_group_mul(grp, NULL, a, Np), 0);
	cr_assert_eq(sga_group_mul(grp, Np, r, Xp), 0);
	reply_to_j_rewritten(&h, &out, Xp, n_hash_i, f, &f_len);
	cr_assert_eq(sga_dev_consume_kex_reply(&h.dev[1], &h.sess[1], f, f_len), 0,
	             "the rewritten B6 authenticates: the gateway made it");
	cr_assert_eq(
	    sga_dev_consume_kex_reply(&h.dev[0], &h.sess[0], out.msg[0].frame, out.msg[0].len), 0);
	both_detect(&h);
	harness_fini(&h);
}

/* The gateway relays the genuine X_j but names another element than N_i: the
 * keys agree, the transcripts do not, and both devices see it at connect. */
Test(transcript, gateway_misnames_n)
{
	struct harness h;
	struct sga_gw_out out;
	uint8_t b1[2][SGA_FRAME_MAX], other[SGA_SHA256_LEN], f[SGA_FRAME_MAX];
	size_t b1_len[2], f_len;

	kex_until_replies(&h, b1, b1_len, &out);
	memcpy(other, h.sess[0].n_hash, SGA_SHA256_LEN);
	other[0] ^= 0x01;
	reply_to_j_rewritten(&h, &out, NULL, other, f, &f_len);
	cr_assert_eq(sga_dev_consume_kex_reply(&h.dev[1], &h.sess[1], f, f_len), 0);
	cr_assert_eq(
	    sga_dev_consume_kex_reply(&h.dev[0], &h.sess[0], out.msg[0].frame, out.msg[0].len), 0);
	both_detect(&h);
	harness_fini(&h);
}

/* Control for the attacks above: the genuine replies confirm on both sides,
 * a repeated confirm is a duplicate, and only then does data flow. */
Test(transcript, honest_gateway_confirms)
{
	struct harness h;
	uint8_t relayed[SGA_FRAME_MAX], got[16];
	size_t relayed_len, got_len;
	int rc[2];

	up_to_kex(&h);
	cr_assert_eq(harness_kex_only(&h), 0);
	confirms_exchange(&h, rc);
	for (int k = 0; k < 2; k++) {
		cr_assert_eq(rc[k], 0, "device %d: %s", k, sga_err_name(rc[k]));
		cr_assert(sga_dev_sess_confirmed(&h.sess[k]));
	}
	/* A re-sealed confirm (its DATA_ACK was lost) is a duplicate to the peer. */
	cr_assert_eq(harness_confirm_frame(&h, 0, relayed, sizeof(relayed), &relayed_len), 0);
	cr_assert_eq(
	    sga_dev_data_open(&h.sess[1], relayed, relayed_len, got, sizeof(got), &got_len),
	    -SGA_E_REPLAY);
	cr_assert_eq(harness_send(&h, 0, (const uint8_t *)"hi", 2, got, sizeof(got), &got_len), 0);
	cr_assert_eq(h.sess[0].e2e_tx_seq, 2, "data after the confirm: e2e_seq 1");
	harness_fini(&h);
}

/* A forged DATA_DOWN (not from the gateway) while a device waits for the
 * peer's confirm changes nothing: only an authentic hop frame can fail a
 * session. A message that overtook the confirm is dropped, not failed. */
Test(transcript, confirm_wait_ignores_forgeries)
{
	struct harness h;
	uint8_t relayed[SGA_FRAME_MAX], keep[SGA_FRAME_MAX], got[16];
	size_t relayed_len, got_len;

	up_to_kex(&h);
	cr_assert_eq(harness_kex_only(&h), 0);
	cr_assert_eq(harness_confirm_frame(&h, 0, relayed, sizeof(relayed), &relayed_len), 0);
	memcpy(keep, relayed, relayed_len);
	relayed[relayed_len - 1] ^= 0x01;
	DEV_REJECTS(&h.dev[1], &h.sess[1], SGA_E_AUTH,
	            sga_dev_consume_key_confirm(&h.sess[1], relayed, relayed_len));
	cr_assert_eq(sga_dev_data_open(&h.sess[1], keep, relayed_len, got, sizeof(got), &got_len),
	             -SGA_E_BAD_STATE, "no data open before the peer's confirm");
	cr_assert_eq(sga_dev_consume_key_confirm(&h.sess[1], keep, relayed_len), 0);
	cr_assert(!sga_dev_sess_confirmed(&h.sess[1]), "its own confirm is not sealed yet");
	cr_assert_eq(harness_confirm_frame(&h, 1, relayed, sizeof(relayed), &relayed_len), 0);
	cr_assert(sga_dev_sess_confirmed(&h.sess[1]));
	harness_fini(&h);
}

/* PROTOCOL.md 13: a forged A1 fails on its tag whatever its counter says. Were
 * the counter checked first, REPLAY for a stale one and AUTH for a fresh one
 * would let anyone binary-search a device's counter with forged frames. */
Test(replay, forged_counter_fails_on_the_tag_first)
{
	static const uint64_t ctrs[] = {1, 2, 3, 4, 1000, UINT64_MAX - 1};
	struct harness h;
	struct sga_neg_req_plain a1;
	uint64_t ctr;

	setup(&h);
	cr_assert_eq(harness_register(&h, 0), 0);
	cr_assert_eq(harness_register(&h, 1), 0);
	cr_assert_eq(harness_negotiate(&h, ALL, 4), 0);
	h.rec[0].up_ctr = 3; /* G has accepted up to 3 from d_i */
	for (unsigned k = 0; k < sizeof(ctrs) / sizeof(ctrs[0]); k++) {
		struct sga_dev forger = h.dev[0];
		struct sga_dev_sess s;

		memset(&s, 0, sizeof(s));
		forger.up_ctr = ctrs[k] - 1;
		cr_assert_eq(sga_dev_create_neg_req(&forger, &s, h.dev[1].id, 5, ALL, 4, h.frame,
		                                    sizeof(h.frame), &h.frame_len),
		             0);
		h.frame[h.frame_len - 1] ^= 0x01; /* the tag no longer verifies */
		GW_REJECTS(&h, SGA_E_AUTH,
		           sga_gw_neg_req_open(&h.gw, &h.rec[0], h.frame, h.frame_len, &a1, &ctr));
		h.frame[h.frame_len - 1] ^= 0x01; /* authentic again */
		if (ctrs[k] <= 3)
			GW_REJECTS(
			    &h, SGA_E_REPLAY,
			    sga_gw_neg_req_open(&h.gw, &h.rec[0], h.frame, h.frame_len, &a1, &ctr));
		sga_dev_sess_wipe(&s);
		sga_memzero(&forger, sizeof(forger));
	}
	harness_fini(&h);
}

/* PROTOCOL.md 9.4: a KEX_INIT is retransmitted as the same bytes. Another
 * authentic KEX_INIT for a role already in (fresh R, r and nonce under the
 * same k_t) is refused, not answered with the reply cached for the first. */
Test(replay, kex_init_of_other_bytes_gets_no_cached_reply)
{
	struct harness h;
	struct sga_dev_sess again;
	struct sga_gw_out out;
	uint8_t f[SGA_FRAME_MAX];
	size_t f_len;

	up_to_kex(&h);
	again = h.sess[1]; /* d_j's session before its KEX_INIT */
	cr_assert_eq(harness_kex(&h), 0);
	cr_assert_eq(h.gsess.state, SGA_GW_S_ESTABLISHED);
	cr_assert_eq(sga_dev_create_kex_init(&h.dev[1], &again, f, sizeof(f), &f_len), 0);
	out.n = 0;
	GW_REJECTS(&h, SGA_E_REPLAY,
	           sga_gw_kex_init_handle(&h.gw, &h.rec[1], &h.gsess, f, f_len, &out));
	cr_assert_eq(out.n, 0, "no KEX_REPLY for a request it was not made for");
	sga_dev_sess_wipe(&again);
	harness_fini(&h);
}
