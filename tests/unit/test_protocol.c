/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_protocol.c - the SGA protocol run end to end through the in-memory
 * harness: registration, negotiation, key exchange and E2E delivery for every
 * cipher suite and group, plus the protocol's recovery paths (retransmissions,
 * reordering, rekey, enrollment policy, refusals) and state-machine misuse.
 */
#include <criterion/criterion.h>
#include <string.h>

#include <arpa/inet.h>

#include "harness.h"
#include "sga_cookie.h"
#include "sga_cursor.h"
#include "sga_hop.h"
#include "sga_keys.h"

static const uint8_t ALL[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_AES256_GCM,
                              SGA_SUITE_CHACHA20_POLY1305, SGA_SUITE_AES128_CCM8};

/* ---- helpers ------------------------------------------------------------- */

static void setup(struct harness *h, uint8_t group, const uint8_t *si, uint8_t ni,
                  const uint8_t *sj, uint8_t nj)
{
	cr_assert_eq(harness_init(h, group, si, ni, sj, nj), 0, "harness_init");
}

static void setup_all(struct harness *h)
{
	setup(h, SGA_GROUP_FFDHE2048, ALL, 4, ALL, 4);
}

static size_t key_len(uint8_t suite)
{
	const struct sga_suite_info *si = sga_suite_get(suite);

	cr_assert_not_null(si);
	return si->key_len;
}

/* The four suites starting at `first`, the others following in id order. */
static void rotated(uint8_t first, uint8_t out[SGA_SUITE_COUNT])
{
	for (int k = 0; k < SGA_SUITE_COUNT; k++)
		out[k] = (uint8_t)(((first - 1 + k) % SGA_SUITE_COUNT) + 1);
}

/* Deterministic message content: 4-byte index then an LCG stream. */
static void fill_msg(uint8_t *buf, size_t len, uint32_t idx)
{
	uint32_t x = idx * 2654435761u + 12345u;

	for (size_t k = 0; k < len; k++) {
		if (k < 4) {
			buf[k] = (uint8_t)(idx >> (8 * (3 - k)));
			continue;
		}
		x = x * 1103515245u + 12345u;
		buf[k] = (uint8_t)(x >> 16);
	}
}

/* Length of message n: the edges first, then a spread over [0, max]. */
static size_t msg_len_for(uint32_t n, size_t max)
{
	uint32_t x = n * 2246822519u + 3266489917u;

	switch (n) {
	case 0:
		return 0;
	case 1:
		return max;
	case 2:
		return 1;
	case 3:
		return max - 1;
	case 4:
		return 4;
	default:
		return (x >> 7) % (max + 1);
	}
}

/* Fail if any key_len-byte window of [p, p+n) equals key. */
static int holds_key(const void *p, size_t n, const uint8_t *key, size_t kl)
{
	const uint8_t *b = p;

	for (size_t off = 0; off + kl <= n; off++)
		if (!memcmp(b + off, key, kl))
			return 1;
	return 0;
}

static void assert_gateway_blind(const struct harness *h, uint8_t suite)
{
	size_t kl = key_len(suite);
	const uint8_t *keys[2] = {h->sess[0].e2e_tx_key, h->sess[0].e2e_rx_key};

	for (int k = 0; k < 2; k++) {
		cr_assert(!holds_key(&h->gsess, sizeof(h->gsess), keys[k], kl),
		          "gateway session record holds an E2E key");
		cr_assert(!holds_key(&h->rec[0], sizeof(h->rec[0]), keys[k], kl),
		          "gateway record of d_i holds an E2E key");
		cr_assert(!holds_key(&h->rec[1], sizeof(h->rec[1]), keys[k], kl),
		          "gateway record of d_j holds an E2E key");
		cr_assert(!holds_key(&h->gw, sizeof(h->gw), keys[k], kl),
		          "gateway state holds an E2E key");
	}
}

/* Send `count` messages from device `from` in one batch: seal all, relay all,
 * then open all in order at the peer. *n is the running message index. */
static void batch(struct harness *h, int from, unsigned count, uint32_t *n)
{
	static uint8_t up[8][SGA_FRAME_MAX], down[8][SGA_FRAME_MAX];
	size_t up_len[8], down_len[8], max = sga_dev_data_max(&h->sess[from]);
	uint8_t msg[SGA_FRAME_MAX], got[SGA_FRAME_MAX], to_role;
	size_t got_len;

	cr_assert(count <= 8);
	for (unsigned k = 0; k < count; k++) {
		size_t len = msg_len_for(*n + k, max);

		fill_msg(msg, len, *n + k);
		cr_assert_eq(
		    sga_dev_data_seal(&h->sess[from], msg, len, up[k], sizeof(up[k]), &up_len[k]),
		    0, "seal message %u", *n + k);
		cr_assert_leq(up_len[k], (size_t)SGA_FRAME_MAX);
	}
	for (unsigned k = 0; k < count; k++) {
		int rc = sga_gw_data_relay(&h->gsess, up[k], up_len[k], down[k], sizeof(down[k]),
		                           &down_len[k], &to_role);

		cr_assert_eq(rc, 0, "relay message %u (from %d, %zu bytes): %s", *n + k, from,
		             up_len[k], sga_err_name(rc));
		cr_assert_eq(to_role, from ^ 1);
	}
	for (unsigned k = 0; k < count; k++) {
		size_t len = msg_len_for(*n + k, max);

		fill_msg(msg, len, *n + k);
		cr_assert_eq(sga_dev_data_open(&h->sess[from ^ 1], down[k], down_len[k], got,
		                               sizeof(got), &got_len),
		             0, "open message %u", *n + k);
		cr_assert_eq(got_len, len, "message %u length", *n + k);
		cr_assert_arr_eq(got, msg, len, "message %u content", *n + k);
	}
	*n += count;
}

/* Register, negotiate `suite`, key exchange in `group`, then 1,000 messages
 * each way, interleaved in batches. d_i's hop suite is `suite`, d_j's the next
 * one, so device<->gateway and E2E suites mix. */
static void run_suite_group(uint8_t suite, uint8_t group)
{
	struct harness h;
	uint8_t si[SGA_SUITE_COUNT], sj[SGA_SUITE_COUNT];
	uint32_t n_ij = 0, n_ji = 0;
	size_t kl = key_len(suite);

	rotated(suite, si);
	rotated((uint8_t)(suite % SGA_SUITE_COUNT + 1), sj);
	setup(&h, group, si, SGA_SUITE_COUNT, sj, SGA_SUITE_COUNT);
	cr_assert_eq(harness_full(&h, &suite, 1), 0);

	cr_assert_eq(h.sess[0].state, SGA_DEV_S_ESTABLISHED);
	cr_assert_eq(h.sess[1].state, SGA_DEV_S_ESTABLISHED);
	cr_assert_eq(h.gsess.state, SGA_GW_S_ESTABLISHED);
	cr_assert_eq(h.sess[0].suite, suite);
	cr_assert_eq(h.sess[1].suite, suite);
	cr_assert_eq(h.gsess.suite, suite);
	cr_assert_eq(h.sess[0].group, harness_group(group));
	cr_assert_eq(h.sess[1].group, harness_group(group));
	cr_assert_eq(h.sess[0].session_id, h.gsess.session_id);
	cr_assert_eq(h.sess[1].session_id, h.gsess.session_id);

	/* Both devices derive the same E2E keys, one per direction. */
	cr_assert_arr_eq(h.sess[0].e2e_tx_key, h.sess[1].e2e_rx_key, kl);
	cr_assert_arr_eq(h.sess[0].e2e_rx_key, h.sess[1].e2e_tx_key, kl);
	cr_assert_arr_neq(h.sess[0].e2e_tx_key, h.sess[0].e2e_rx_key, kl);

	/* Handshake secrets are wiped once they have served (DESIGN: "secrets
	 * zeroized after use"): the gateway's N and K, the devices' R, K and k_t. */
	{
		static const uint8_t zero[2 * SGA_GROUP_MAX_LEN];

		cr_assert_arr_eq(h.gsess.N, zero, sizeof(h.gsess.N), "gateway kept N_i / N_j");
		cr_assert_arr_eq(h.gsess.K, zero, sizeof(h.gsess.K), "gateway kept K_is / K_js");
		for (int k = 0; k < 2; k++) {
			cr_assert_arr_eq(h.sess[k].R, zero, sizeof(h.sess[k].R), "device kept R");
			cr_assert_arr_eq(h.sess[k].K, zero, sizeof(h.sess[k].K), "device kept K");
			cr_assert_arr_eq(h.sess[k].k_t, zero, sizeof(h.sess[k].k_t),
			                 "device kept k_t");
		}
	}
	/* The scanner finds a key where one is (it is not vacuous)... */
	cr_assert(holds_key(&h.sess[1], sizeof(h.sess[1]), h.sess[0].e2e_tx_key, kl));
	/* ...and no value the gateway holds equals the session key. */
	assert_gateway_blind(&h, suite);

	for (unsigned b = 0; b < 125; b++) {
		batch(&h, 0, 8, &n_ij);
		batch(&h, 1, 8, &n_ji);
	}
	cr_assert_eq(n_ij, 1000);
	cr_assert_eq(n_ji, 1000);
	/* e2e_seq 0 of each direction was the key confirmation. */
	cr_assert_eq(h.sess[0].e2e_tx_seq, 1001);
	cr_assert_eq(h.sess[1].e2e_tx_seq, 1001);
	/* Still blind after relaying two thousand messages. */
	assert_gateway_blind(&h, suite);
	harness_fini(&h);
}

/* ---- every suite x every group --------------------------------------------- */

/* Paper 4 (data privacy, message delivery) for each suite of C in ffdhe2048. */
Test(e2e, aes128gcm_ffdhe2048)
{
	run_suite_group(SGA_SUITE_AES128_GCM, SGA_GROUP_FFDHE2048);
}

/* Paper 4 (data privacy, message delivery) for each suite of C in ffdhe2048. */
Test(e2e, aes256gcm_ffdhe2048)
{
	run_suite_group(SGA_SUITE_AES256_GCM, SGA_GROUP_FFDHE2048);
}

/* Paper 4 (data privacy, message delivery) for each suite of C in ffdhe2048. */
Test(e2e, chacha20poly1305_ffdhe2048)
{
	run_suite_group(SGA_SUITE_CHACHA20_POLY1305, SGA_GROUP_FFDHE2048);
}

/* Paper 4 (data privacy, message delivery) for each suite of C in ffdhe2048. */
Test(e2e, aes128ccm8_ffdhe2048)
{
	run_suite_group(SGA_SUITE_AES128_CCM8, SGA_GROUP_FFDHE2048);
}

/* Paper 4 (data privacy, message delivery) for each suite of C in ffdhe2048:
 * Ascon-AEAD128 on d_i's hop and end to end, AES-128-GCM on d_j's hop. */
Test(e2e, asconaead128_ffdhe2048)
{
	run_suite_group(SGA_SUITE_ASCON_AEAD128, SGA_GROUP_FFDHE2048);
}

/* Paper 4 (data privacy, message delivery) for each suite of C in ffdhe3072. */
Test(e2e, aes128gcm_ffdhe3072)
{
	run_suite_group(SGA_SUITE_AES128_GCM, SGA_GROUP_FFDHE3072);
}

/* Paper 4 (data privacy, message delivery) for each suite of C in ffdhe3072. */
Test(e2e, aes256gcm_ffdhe3072)
{
	run_suite_group(SGA_SUITE_AES256_GCM, SGA_GROUP_FFDHE3072);
}

/* Paper 4 (data privacy, message delivery) for each suite of C in ffdhe3072. */
Test(e2e, chacha20poly1305_ffdhe3072)
{
	run_suite_group(SGA_SUITE_CHACHA20_POLY1305, SGA_GROUP_FFDHE3072);
}

/* Paper 4 (data privacy, message delivery) for each suite of C in ffdhe3072. */
Test(e2e, aes128ccm8_ffdhe3072)
{
	run_suite_group(SGA_SUITE_AES128_CCM8, SGA_GROUP_FFDHE3072);
}

/* Paper 4 (data privacy, message delivery) for each suite of C in ffdhe3072. */
Test(e2e, asconaead128_ffdhe3072)
{
	run_suite_group(SGA_SUITE_ASCON_AEAD128, SGA_GROUP_FFDHE3072);
}

/* Paper 4 (message delivery): a largest-size message from a device whose hop
 * suite has an 8-byte tag (AES-128-CCM8) to one whose hop suite has a 16-byte
 * tag must still be relayed: sga_dev_data_max promises it fits. */
Test(e2e, max_message_across_hop_suites)
{
	static const uint8_t si[] = {SGA_SUITE_AES128_CCM8, SGA_SUITE_AES128_GCM};
	static const uint8_t sj[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_AES128_CCM8};
	struct harness h;
	uint8_t msg[SGA_FRAME_MAX], got[SGA_FRAME_MAX];
	size_t max, got_len;
	int rc;

	setup(&h, SGA_GROUP_FFDHE2048, si, 2, sj, 2);
	cr_assert_eq(harness_full(&h, si, 2), 0);
	max = sga_dev_data_max(&h.sess[0]);
	fill_msg(msg, max, 7);
	rc = harness_send(&h, 0, msg, max, got, sizeof(got), &got_len);
	cr_assert_eq(rc, 0, "max-size message d_i -> d_j: %s", sga_err_name(rc));
	cr_assert_eq(got_len, max);
	cr_assert_arr_eq(got, msg, max);
	harness_fini(&h);
}

/* Paper 4: the largest message fits one frame, one byte more is refused. */
Test(e2e, data_max_is_exact)
{
	struct harness h;
	uint8_t msg[SGA_FRAME_MAX], frame[SGA_FRAME_MAX];
	size_t len, max;

	setup_all(&h);
	cr_assert_eq(harness_full(&h, ALL, 4), 0);
	max = sga_dev_data_max(&h.sess[0]);
	memset(msg, 0x5a, sizeof(msg));
	cr_assert_eq(sga_dev_data_seal(&h.sess[0], msg, max, frame, sizeof(frame), &len), 0);
	cr_assert_eq(len, (size_t)SGA_FRAME_MAX);
	cr_assert_eq(sga_dev_data_seal(&h.sess[0], msg, max + 1, frame, sizeof(frame), &len),
	             -SGA_E_OVERSIZED);
	harness_fini(&h);
}

/* ---- negotiation ----------------------------------------------------------- */

static void negotiate_expect(const uint8_t *si, uint8_t ni, const uint8_t *sj, uint8_t nj,
                             const uint8_t *prefs, uint8_t np, uint8_t want)
{
	struct harness h;

	setup(&h, SGA_GROUP_FFDHE2048, si, ni, sj, nj);
	cr_assert_eq(harness_register(&h, 0), 0);
	cr_assert_eq(harness_register(&h, 1), 0);
	cr_assert_eq(harness_negotiate(&h, prefs, np), 0);
	cr_assert_eq(h.gsess.suite, want);
	cr_assert_eq(h.sess[0].suite, want);
	cr_assert_eq(h.sess[1].suite, want);
	cr_assert_eq(h.sess[0].state, SGA_DEV_S_KEX);
	cr_assert_eq(h.sess[1].state, SGA_DEV_S_KEX);
	cr_assert_eq(h.gsess.state, SGA_GW_S_KEX);
	harness_fini(&h);
}

/* Paper A1-A4 (cipher negotiation): first common suite in the initiator's order wins. */
Test(negotiation, first_common_in_initiator_order)
{
	static const uint8_t sj[] = {SGA_SUITE_CHACHA20_POLY1305, SGA_SUITE_AES256_GCM};
	static const uint8_t p1[] = {SGA_SUITE_AES256_GCM, SGA_SUITE_CHACHA20_POLY1305};
	static const uint8_t p2[] = {SGA_SUITE_CHACHA20_POLY1305, SGA_SUITE_AES256_GCM};

	negotiate_expect(ALL, 4, sj, 2, p1, 2, SGA_SUITE_AES256_GCM);
	negotiate_expect(ALL, 4, sj, 2, p2, 2, SGA_SUITE_CHACHA20_POLY1305);
}

/* Paper A1-A4: a suite the initiator offers but the responder lacks is skipped. */
Test(negotiation, skips_suite_responder_lacks)
{
	static const uint8_t sj[] = {SGA_SUITE_AES128_CCM8, SGA_SUITE_AES256_GCM};
	static const uint8_t prefs[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_CHACHA20_POLY1305,
	                                SGA_SUITE_AES256_GCM, SGA_SUITE_AES128_CCM8};

	negotiate_expect(ALL, 4, sj, 2, prefs, 4, SGA_SUITE_AES256_GCM);
}

/* Paper A1-A4: a preferred suite outside the initiator's own registered set is skipped. */
Test(negotiation, skips_suite_initiator_did_not_register)
{
	static const uint8_t si[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_AES128_CCM8};
	static const uint8_t prefs[] = {SGA_SUITE_AES256_GCM, SGA_SUITE_AES128_CCM8,
	                                SGA_SUITE_AES128_GCM};

	negotiate_expect(si, 2, ALL, 4, prefs, 3, SGA_SUITE_AES128_CCM8);
}

/* Paper A1-A4: the suite must also be in the gateway's registry C. */
Test(negotiation, skips_suite_gateway_lacks)
{
	static const uint8_t prefs[] = {SGA_SUITE_CHACHA20_POLY1305, SGA_SUITE_AES256_GCM};
	struct harness h;

	setup_all(&h);
	/* The gateway offers only AES-128-GCM and AES-256-GCM. */
	h.gw.n_suites = 2;
	h.gw.suites[0] = SGA_SUITE_AES128_GCM;
	h.gw.suites[1] = SGA_SUITE_AES256_GCM;
	cr_assert_eq(harness_register(&h, 0), 0);
	cr_assert_eq(harness_register(&h, 1), 0);
	cr_assert_eq(harness_negotiate(&h, prefs, 2), 0);
	cr_assert_eq(h.sess[0].suite, SGA_SUITE_AES256_GCM);
	harness_fini(&h);
}

/* Paper A1-A4 / NO_COMMON_SUITE: an empty intersection is refused, authenticated, to d_i. */
Test(negotiation, no_common_suite)
{
	static const uint8_t si[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_CHACHA20_POLY1305};
	static const uint8_t sj[] = {SGA_SUITE_AES256_GCM, SGA_SUITE_AES128_CCM8};
	struct harness h;

	setup(&h, SGA_GROUP_FFDHE2048, si, 2, sj, 2);
	cr_assert_eq(harness_register(&h, 0), 0);
	cr_assert_eq(harness_register(&h, 1), 0);
	cr_assert_eq(harness_negotiate(&h, si, 2), -SGA_E_NO_COMMON_SUITE);
	cr_assert_eq(h.sess[0].state, SGA_DEV_S_FAILED);
	cr_assert_eq(h.gsess.session_id, 0);
	cr_assert_eq(h.rec[1].down_ctr, 1, "d_j was not invited");
	harness_fini(&h);
}

/* Paper A3 (d_j may refuse): decline -> the initiator gets an authenticated DECLINED. */
Test(negotiation, decline)
{
	struct harness h;
	struct sga_neg_req_plain a1;
	struct sga_neg_accept_plain a3;
	struct sga_gw_out out;
	uint64_t ctr;

	setup_all(&h);
	cr_assert_eq(harness_register(&h, 0), 0);
	cr_assert_eq(harness_register(&h, 1), 0);
	cr_assert_eq(sga_dev_create_neg_req(&h.dev[0], &h.sess[0], h.dev[1].id, h.dev[1].id_len,
	                                    ALL, 4, h.frame, sizeof(h.frame), &h.frame_len),
	             0);
	cr_assert_eq(sga_gw_neg_req_open(&h.gw, &h.rec[0], h.frame, h.frame_len, &a1, &ctr), 0);
	cr_assert_eq(sga_gw_neg_req_handle(&h.gw, &h.rec[0], &h.rec[1], &a1, ctr, &h.gsess, &out),
	             0);
	cr_assert_eq(out.n, 1);
	cr_assert_eq(
	    sga_dev_consume_neg_invite(&h.dev[1], &h.sess[1], out.msg[0].frame, out.msg[0].len), 0);
	cr_assert_eq(sga_dev_create_neg_accept(&h.dev[1], &h.sess[1], 0, h.frame, sizeof(h.frame),
	                                       &h.frame_len),
	             0);
	cr_assert_eq(h.sess[1].state, SGA_DEV_S_FAILED);
	cr_assert_eq(sga_gw_neg_accept_open(&h.gw, &h.rec[1], h.frame, h.frame_len, &a3, &ctr), 0);
	cr_assert_eq(a3.accept, 0);
	cr_assert_eq(sga_gw_neg_accept_handle(&h.gw, &h.rec[1], &h.gsess, &a3, ctr, &out), 0);
	cr_assert_eq(out.n, 1);
	cr_assert_eq(out.msg[0].to_id_len, 5);
	cr_assert_arr_eq(out.msg[0].to_id, "dev-i", 5);
	cr_assert_eq(h.gsess.state, 0, "declined session is to be deleted");
	cr_assert_eq(
	    sga_dev_consume_neg_result(&h.dev[0], &h.sess[0], out.msg[0].frame, out.msg[0].len),
	    -SGA_E_DECLINED);
	cr_assert_eq(h.sess[0].state, SGA_DEV_S_FAILED);
	harness_fini(&h);
}

/* Paper A1 (G checks d_j is registered): an unknown peer -> authenticated A4 UNKNOWN_DEVICE. */
Test(negotiation, unknown_peer)
{
	struct harness h;
	struct sga_neg_req_plain a1;
	struct sga_gw_out out;
	struct sga_gw_device rec_j_before;
	uint64_t ctr;

	setup_all(&h);
	cr_assert_eq(harness_register(&h, 0), 0);
	cr_assert_eq(harness_register(&h, 1), 0);
	rec_j_before = h.rec[1];
	cr_assert_eq(sga_dev_create_neg_req(&h.dev[0], &h.sess[0], (const uint8_t *)"dev-x", 5, ALL,
	                                    4, h.frame, sizeof(h.frame), &h.frame_len),
	             0);
	cr_assert_eq(sga_gw_neg_req_open(&h.gw, &h.rec[0], h.frame, h.frame_len, &a1, &ctr), 0);
	/* The caller found no record for "dev-x". */
	cr_assert_eq(sga_gw_neg_req_handle(&h.gw, &h.rec[0], NULL, &a1, ctr, &h.gsess, &out), 0);
	cr_assert_eq(h.gsess.session_id, 0);
	cr_assert_eq(out.n, 1);
	cr_assert_arr_eq(out.msg[0].to_id, "dev-i", 5);
	cr_assert_eq(h.rec[0].up_ctr, ctr, "the A1 counter is consumed");
	cr_assert_eq(memcmp(&rec_j_before, &h.rec[1], sizeof(rec_j_before)), 0);
	cr_assert_eq(
	    sga_dev_consume_neg_result(&h.dev[0], &h.sess[0], out.msg[0].frame, out.msg[0].len),
	    -SGA_E_UNKNOWN_DEVICE);
	cr_assert_eq(h.sess[0].state, SGA_DEV_S_FAILED);
	harness_fini(&h);
}

/* Paper A1: a session with oneself is refused (BAD_FIELD in the authenticated A4). */
Test(negotiation, peer_is_self)
{
	struct harness h;
	struct sga_neg_req_plain a1;
	struct sga_gw_out out;
	uint64_t ctr;

	setup_all(&h);
	cr_assert_eq(harness_register(&h, 0), 0);
	cr_assert_eq(sga_dev_create_neg_req(&h.dev[0], &h.sess[0], h.dev[0].id, h.dev[0].id_len,
	                                    ALL, 4, h.frame, sizeof(h.frame), &h.frame_len),
	             0);
	cr_assert_eq(sga_gw_neg_req_open(&h.gw, &h.rec[0], h.frame, h.frame_len, &a1, &ctr), 0);
	cr_assert_eq(sga_gw_neg_req_handle(&h.gw, &h.rec[0], &h.rec[0], &a1, ctr, &h.gsess, &out),
	             0);
	cr_assert_eq(h.gsess.session_id, 0);
	cr_assert_eq(
	    sga_dev_consume_neg_result(&h.dev[0], &h.sess[0], out.msg[0].frame, out.msg[0].len),
	    -SGA_E_BAD_FIELD);
	harness_fini(&h);
}

/* ---- registration ------------------------------------------------------------- */

/* PROTOCOL.md 7.1: the GROUP flag names the profile; a REG_REQ without it is
 * of ffdhe2048, or, on a gateway without ffdhe2048, of its ffdhe profile (an
 * earlier release's device on an ffdhe3072 gateway never sent the flag). */
Test(registration, group_flag_and_the_profile_of_a_request_without_it)
{
	struct harness h;
	struct sga_reg_req env;
	struct sga_reg_plain req, m;
	uint8_t plain[256], ct[SGA_RSA_MAX_LEN], frame[SGA_FRAME_MAX], *mac_at;
	size_t plain_len, ct_len, len;

	setup_all(&h);
	if (sga_pke_is_hpke(h.gw.prof[0].grp->id)) {
		/* The EC profiles always carry the flag and their group. */
		cr_assert_eq(
		    sga_dev_create_reg_req(&h.dev[0], NULL, 0, 0, frame, sizeof(frame), &len), 0);
		cr_assert(frame[4] & SGA_REG_FLAG_GROUP);
		cr_assert_eq(frame[5], h.gw.prof[0].grp->id);
		cr_assert_eq(sga_gw_reg_open(&h.gw, frame, len, &env, &req), 0);
		cr_assert_eq(env.group, h.gw.prof[0].grp->id);
		harness_fini(&h);
		return;
	}
	/* An ffdhe3072 gateway (the harness's RSA pairs) and an old-style request:
	 * no flag, encrypted to its PK. */
	harness_gw_fini(&h.gw);
	cr_assert_eq(
	    sga_gw_init_empty(&h.gw, (const uint8_t *)"gw-test", 7, ALL, 4, SGA_ENROLL_OPEN), 0);
	cr_assert_eq(harness_gw_add_profile(&h.gw, SGA_GROUP_FFDHE3072), 0);
	memset(&m, 0, sizeof(m));
	memset(m.k_d, 0x5a, sizeof(m.k_d));
	m.suite_init = ALL[0];
	m.n_suites = 1;
	m.suites[0] = ALL[0];
	m.id_len = 5;
	memcpy(m.id, "old-3", 5);
	cr_assert_eq(sga_reg_plain_encode(&m, plain, sizeof(plain), &plain_len), 0);
	cr_assert_eq(
	    sga_rsa_oaep_encrypt(h.gw.prof[0].pk.rsa, plain, plain_len, ct, sizeof(ct), &ct_len),
	    0);
	cr_assert_eq(sga_reg_req_encode(0, SGA_GROUP_FFDHE2048, ct, ct_len, frame, sizeof(frame),
	                                &mac_at, &len),
	             0);
	cr_assert_eq(frame[4], 0, "no GROUP flag");
	cr_assert_eq(sga_gw_reg_open(&h.gw, frame, len, &env, &req), 0);
	cr_assert_eq(env.group, SGA_GROUP_FFDHE3072, "taken as of the gateway's ffdhe profile");
	/* With ffdhe2048 served too, the same bytes are of ffdhe2048. */
	cr_assert_eq(harness_gw_add_profile(&h.gw, SGA_GROUP_FFDHE2048), 0);
	cr_assert_eq(sga_gw_reg_open(&h.gw, frame, len, &env, &req), 0);
	cr_assert_eq(env.group, SGA_GROUP_FFDHE2048);
	/* A flagged request for a profile the gateway does not serve: refused. */
	frame[4] = SGA_REG_FLAG_GROUP;
	memmove(frame + 6, frame + 5, len - 5);
	frame[5] = SGA_GROUP_X25519;
	frame[3] = (uint8_t)(frame[3] + 1);
	if (frame[3] == 0)
		frame[2]++;
	cr_assert_eq(sga_gw_reg_open(&h.gw, frame, len + 1, &env, &req), -SGA_E_BAD_FIELD);
	harness_fini(&h);
}

/* Paper 3.1 (registration) + retransmission: a lost REG_ACK; the same request
 * re-sent is re-acked without resetting the counters. */
Test(registration, lost_ack_retransmission)
{
	struct harness h;
	struct sga_reg_req env;
	struct sga_reg_plain req;
	struct sga_gw_out out;
	struct sga_gw_device rec2;
	uint8_t reg[SGA_FRAME_MAX], a1[SGA_FRAME_MAX];
	size_t reg_len, a1_len;
	struct sga_neg_req_plain a1p;
	uint64_t ctr;
	int used = -1;

	setup_all(&h);
	cr_assert_eq(sga_dev_create_reg_req(&h.dev[0], NULL, 0, 0, reg, sizeof(reg), &reg_len), 0);
	cr_assert_eq(sga_gw_reg_open(&h.gw, reg, reg_len, &env, &req), 0);
	cr_assert_eq(sga_gw_reg_accept(&h.gw, &env, &req, NULL, NULL, &h.rec[0], &used, &out), 0);
	cr_assert_eq(out.n, 1);
	/* ...the REG_ACK is lost. The device re-sends the same bytes. */
	cr_assert_eq(sga_gw_reg_open(&h.gw, reg, reg_len, &env, &req), 0);
	cr_assert_eq(sga_gw_reg_accept(&h.gw, &env, &req, &h.rec[0], NULL, &rec2, &used, &out), 0);
	cr_assert_eq(used, 0);
	cr_assert_eq(rec2.up_ctr, h.rec[0].up_ctr);
	cr_assert_arr_eq(rec2.k_d, h.rec[0].k_d, SGA_KEY_LEN);
	cr_assert_gt(rec2.down_ctr, h.rec[0].down_ctr);
	h.rec[0] = rec2;
	cr_assert_eq(sga_dev_consume_reg_ack(&h.dev[0], out.msg[0].frame, out.msg[0].len), 0);
	cr_assert(h.dev[0].registered);

	/* The device uses the registration: the gateway's up counter advances. */
	cr_assert_eq(harness_register(&h, 1), 0);
	cr_assert_eq(sga_dev_create_neg_req(&h.dev[0], &h.sess[0], h.dev[1].id, h.dev[1].id_len,
	                                    ALL, 4, a1, sizeof(a1), &a1_len),
	             0);
	cr_assert_eq(sga_gw_neg_req_open(&h.gw, &h.rec[0], a1, a1_len, &a1p, &ctr), 0);
	cr_assert_eq(sga_gw_neg_req_handle(&h.gw, &h.rec[0], &h.rec[1], &a1p, ctr, &h.gsess, &out),
	             0);
	cr_assert_eq(h.rec[0].up_ctr, 1);

	/* A late copy of the first request arrives: re-acked, counters kept. */
	cr_assert_eq(sga_gw_reg_open(&h.gw, reg, reg_len, &env, &req), 0);
	cr_assert_eq(sga_gw_reg_accept(&h.gw, &env, &req, &h.rec[0], NULL, &rec2, &used, &out), 0);
	cr_assert_eq(rec2.up_ctr, 1, "retransmission must not reset the up counter");
	h.rec[0] = rec2;
	cr_assert_eq(sga_gw_neg_req_open(&h.gw, &h.rec[0], a1, a1_len, &a1p, &ctr), -SGA_E_REPLAY);
	/* The device is not waiting for an ACK any more. */
	cr_assert_eq(sga_dev_consume_reg_ack(&h.dev[0], out.msg[0].frame, out.msg[0].len),
	             -SGA_E_BAD_STATE);
	harness_fini(&h);
}

/* Paper 3.1 + retransmission: a freshly built (new nonce, same k_d) re-request is re-acked too. */
Test(registration, lost_ack_new_request)
{
	struct harness h;
	struct sga_reg_req env;
	struct sga_reg_plain req;
	struct sga_gw_out out, out1;
	struct sga_gw_device rec2;
	int used;

	setup_all(&h);
	cr_assert_eq(
	    sga_dev_create_reg_req(&h.dev[0], NULL, 0, 0, h.frame, sizeof(h.frame), &h.frame_len),
	    0);
	cr_assert_eq(sga_gw_reg_open(&h.gw, h.frame, h.frame_len, &env, &req), 0);
	cr_assert_eq(sga_gw_reg_accept(&h.gw, &env, &req, NULL, NULL, &h.rec[0], &used, &out1), 0);
	cr_assert_eq(
	    sga_dev_create_reg_req(&h.dev[0], NULL, 0, 0, h.frame, sizeof(h.frame), &h.frame_len),
	    0);
	cr_assert_eq(sga_gw_reg_open(&h.gw, h.frame, h.frame_len, &env, &req), 0);
	cr_assert_eq(sga_gw_reg_accept(&h.gw, &env, &req, &h.rec[0], NULL, &rec2, &used, &out), 0);
	h.rec[0] = rec2;
	/* The first ACK (older nonce) arrives late: rejected; the second works. */
	cr_assert_eq(sga_dev_consume_reg_ack(&h.dev[0], out1.msg[0].frame, out1.msg[0].len),
	             -SGA_E_REPLAY);
	cr_assert_eq(sga_dev_consume_reg_ack(&h.dev[0], out.msg[0].frame, out.msg[0].len), 0);
	cr_assert_eq(harness_register(&h, 1), 0);
	cr_assert_eq(harness_negotiate(&h, ALL, 4), 0);
	cr_assert_eq(harness_kex(&h), 0);
	harness_fini(&h);
}

static void rekey(struct harness *h, int k, uint8_t *frame, size_t *len, struct sga_gw_out *out)
{
	struct sga_reg_req env;
	struct sga_reg_plain req;
	struct sga_gw_device nrec;
	int used = -1;

	cr_assert_eq(sga_dev_create_reg_req(&h->dev[k], NULL, 0, 1, frame, SGA_FRAME_MAX, len), 0);
	cr_assert_eq(sga_gw_reg_open(&h->gw, frame, *len, &env, &req), 0);
	cr_assert_eq(env.flags & SGA_REG_FLAG_REKEY, SGA_REG_FLAG_REKEY);
	cr_assert_eq(sga_gw_reg_accept(&h->gw, &env, &req, &h->rec[k], NULL, &nrec, &used, out), 0);
	cr_assert_eq(used, 0);
	h->rec[k] = nrec;
}

/* Paper 3.1 (re-registration needs the old key): rekey replaces k_d; the old key stops working. */
Test(registration, rekey_replaces_key)
{
	struct harness h;
	struct sga_dev old;
	struct sga_dev_sess s_old;
	struct sga_gw_out out;
	struct sga_neg_req_plain a1;
	uint8_t frame[SGA_FRAME_MAX], old_kd[SGA_KEY_LEN], msg[16] = "after rekey", got[64];
	size_t len, got_len;
	uint64_t ctr;

	setup_all(&h);
	cr_assert_eq(harness_full(&h, ALL, 4), 0);
	memcpy(old_kd, h.dev[0].k_d, SGA_KEY_LEN);
	old = h.dev[0]; /* shallow copy: shares the key objects, never finalised */

	rekey(&h, 0, frame, &len, &out);
	cr_assert_eq(sga_dev_consume_reg_ack(&h.dev[0], out.msg[0].frame, out.msg[0].len), 0);
	cr_assert_arr_neq(h.dev[0].k_d, old_kd, SGA_KEY_LEN);
	cr_assert_arr_eq(h.dev[0].k_d, h.rec[0].k_d, SGA_KEY_LEN);

	/* The old key no longer authenticates anything. */
	cr_assert_eq(sga_dev_create_neg_req(&old, &s_old, h.dev[1].id, h.dev[1].id_len, ALL, 4,
	                                    frame, sizeof(frame), &len),
	             0);
	cr_assert_eq(sga_gw_neg_req_open(&h.gw, &h.rec[0], frame, len, &a1, &ctr), -SGA_E_AUTH);
	sga_memzero(&old, sizeof(old));
	sga_dev_sess_wipe(&s_old);

	/* The new one does: a whole new session works. */
	cr_assert_eq(harness_negotiate(&h, ALL, 4), 0);
	cr_assert_eq(harness_kex(&h), 0);
	cr_assert_eq(harness_send(&h, 0, msg, sizeof(msg), got, sizeof(got), &got_len), 0);
	cr_assert_eq(got_len, sizeof(msg));
	cr_assert_arr_eq(got, msg, sizeof(msg));
	harness_fini(&h);
}

/* Paper 3.1 + retransmission: the REG_ACK of a rekey is lost; re-sending the
 * same rekey request must be re-acked (like a first registration), not lock
 * the device out. */
Test(registration, rekey_lost_ack_retransmission)
{
	struct harness h;
	struct sga_reg_req env;
	struct sga_reg_plain req;
	struct sga_gw_out out;
	struct sga_gw_device nrec;
	uint8_t frame[SGA_FRAME_MAX];
	size_t len;
	int used = -1;

	setup_all(&h);
	cr_assert_eq(harness_register(&h, 0), 0);
	cr_assert_eq(harness_register(&h, 1), 0);
	rekey(&h, 0, frame, &len, &out);
	/* ...the REG_ACK is lost; the device re-sends the same request. */
	cr_assert_eq(sga_gw_reg_open(&h.gw, frame, len, &env, &req), 0);
	cr_assert_eq(sga_gw_reg_accept(&h.gw, &env, &req, &h.rec[0], NULL, &nrec, &used, &out), 0,
	             "a retransmitted rekey request is refused: the device is locked out");
	cr_assert_eq(nrec.up_ctr, h.rec[0].up_ctr);
	h.rec[0] = nrec;
	cr_assert_eq(sga_dev_consume_reg_ack(&h.dev[0], out.msg[0].frame, out.msg[0].len), 0);
	cr_assert_eq(harness_negotiate(&h, ALL, 4), 0);
	harness_fini(&h);
}

/* Paper 3.1 (enrollment policy): allow-list with a one-time token. */
Test(registration, allowlist)
{
	struct harness h;
	struct sga_reg_req env;
	struct sga_reg_plain req;
	struct sga_gw_out out;
	struct sga_gw_device nrec, zero;
	struct sga_gw_enroll allow;
	struct sga_buf tok = {"tok-dev-i", 9};
	int used;

	setup_all(&h);
	h.gw.enroll_mode = SGA_ENROLL_ALLOWLIST;
	cr_assert_eq(sga_sha256(&tok, 1, allow.token_hash), 0);
	memset(&zero, 0, sizeof(zero));

	/* Missing token. */
	nrec = zero;
	used = -1;
	cr_assert_eq(
	    sga_dev_create_reg_req(&h.dev[0], NULL, 0, 0, h.frame, sizeof(h.frame), &h.frame_len),
	    0);
	cr_assert_eq(sga_gw_reg_open(&h.gw, h.frame, h.frame_len, &env, &req), 0);
	cr_assert_eq(sga_gw_reg_accept(&h.gw, &env, &req, NULL, &allow, &nrec, &used, &out),
	             -SGA_E_ENROLL_DENIED);
	cr_assert_eq(out.n, 0);
	cr_assert_eq(used, -1);
	cr_assert_eq(memcmp(&nrec, &zero, sizeof(zero)), 0);

	/* Wrong token. */
	cr_assert_eq(sga_dev_create_reg_req(&h.dev[0], (const uint8_t *)"tok-dev-j", 9, 0, h.frame,
	                                    sizeof(h.frame), &h.frame_len),
	             0);
	cr_assert_eq(sga_gw_reg_open(&h.gw, h.frame, h.frame_len, &env, &req), 0);
	cr_assert_eq(sga_gw_reg_accept(&h.gw, &env, &req, NULL, &allow, &nrec, &used, &out),
	             -SGA_E_ENROLL_DENIED);
	cr_assert_eq(memcmp(&nrec, &zero, sizeof(zero)), 0);

	/* Unlisted identity (no allow-list entry), even with a token. */
	cr_assert_eq(sga_dev_create_reg_req(&h.dev[1], (const uint8_t *)"tok-dev-i", 9, 0, h.frame,
	                                    sizeof(h.frame), &h.frame_len),
	             0);
	cr_assert_eq(sga_gw_reg_open(&h.gw, h.frame, h.frame_len, &env, &req), 0);
	cr_assert_eq(sga_gw_reg_accept(&h.gw, &env, &req, NULL, NULL, &nrec, &used, &out),
	             -SGA_E_ENROLL_DENIED);
	cr_assert_eq(memcmp(&nrec, &zero, sizeof(zero)), 0);

	/* Correct token: accepted, and the entry is to be deleted. */
	cr_assert_eq(sga_dev_create_reg_req(&h.dev[0], (const uint8_t *)"tok-dev-i", 9, 0, h.frame,
	                                    sizeof(h.frame), &h.frame_len),
	             0);
	cr_assert_eq(sga_gw_reg_open(&h.gw, h.frame, h.frame_len, &env, &req), 0);
	cr_assert_eq(sga_gw_reg_accept(&h.gw, &env, &req, NULL, &allow, &h.rec[0], &used, &out), 0);
	cr_assert_eq(used, 1);
	cr_assert_eq(sga_dev_consume_reg_ack(&h.dev[0], out.msg[0].frame, out.msg[0].len), 0);

	/* The token is spent (the caller deleted the entry): another key for the
	 * same id is refused as an existing registration. */
	sga_dev_fini(&h.dev[1]);
	cr_assert_eq(
	    sga_dev_init(&h.dev[1], &h.gw.prof[0].pkg, (const uint8_t *)"dev-i", 5, ALL[0], ALL, 4),
	    0);
	cr_assert_eq(sga_dev_create_reg_req(&h.dev[1], (const uint8_t *)"tok-dev-i", 9, 0, h.frame,
	                                    sizeof(h.frame), &h.frame_len),
	             0);
	cr_assert_eq(sga_gw_reg_open(&h.gw, h.frame, h.frame_len, &env, &req), 0);
	cr_assert_eq(sga_gw_reg_accept(&h.gw, &env, &req, &h.rec[0], NULL, &nrec, &used, &out),
	             -SGA_E_EXISTS);
	harness_fini(&h);
}

/* ---- key exchange ------------------------------------------------------------ */

/* Paper B1/B3 + retransmission: create_kex_init is idempotent and the gateway
 * re-emits its cached reply for a repeated KEX_INIT. */
Test(kex, init_retransmission)
{
	struct harness h;
	struct sga_gw_out out, out2;
	struct sga_gw_session before;
	uint8_t b1[SGA_FRAME_MAX], b1b[SGA_FRAME_MAX], b3[SGA_FRAME_MAX];
	size_t b1_len, b1b_len, b3_len;

	setup_all(&h);
	cr_assert_eq(harness_register(&h, 0), 0);
	cr_assert_eq(harness_register(&h, 1), 0);
	cr_assert_eq(harness_negotiate(&h, ALL, 4), 0);
	cr_assert_eq(sga_dev_create_kex_init(&h.dev[0], &h.sess[0], b1, sizeof(b1), &b1_len), 0);
	cr_assert_eq(sga_dev_create_kex_init(&h.dev[0], &h.sess[0], b1b, sizeof(b1b), &b1b_len), 0);
	cr_assert_eq(b1_len, b1b_len);
	cr_assert_arr_eq(b1, b1b, b1_len, "retransmitted KEX_INIT differs");
	cr_assert_eq(sga_dev_create_kex_init(&h.dev[1], &h.sess[1], b3, sizeof(b3), &b3_len), 0);

	cr_assert_eq(sga_gw_kex_init_handle(&h.gw, &h.rec[0], &h.gsess, b1, b1_len, &out), 0);
	cr_assert_eq(out.n, 0);
	/* B1 again before B3: accepted silently, nothing changes. */
	before = h.gsess;
	cr_assert_eq(sga_gw_kex_init_handle(&h.gw, &h.rec[0], &h.gsess, b1, b1_len, &out), 0);
	cr_assert_eq(out.n, 0);
	cr_assert_eq(memcmp(&before, &h.gsess, sizeof(before)), 0);

	cr_assert_eq(sga_gw_kex_init_handle(&h.gw, &h.rec[1], &h.gsess, b3, b3_len, &out), 0);
	cr_assert_eq(out.n, 2);
	cr_assert_eq(h.gsess.state, SGA_GW_S_ESTABLISHED);

	/* B1 again after establishment: the cached B5, byte for byte, nothing else. */
	before = h.gsess;
	cr_assert_eq(sga_gw_kex_init_handle(&h.gw, &h.rec[0], &h.gsess, b1, b1_len, &out2), 0);
	cr_assert_eq(out2.n, 1);
	cr_assert_arr_eq(out2.msg[0].to_id, "dev-i", 5);
	cr_assert_eq(out2.msg[0].len, out.msg[0].len);
	cr_assert_arr_eq(out2.msg[0].frame, out.msg[0].frame, out.msg[0].len);
	cr_assert_eq(memcmp(&before, &h.gsess, sizeof(before)), 0);

	/* d_i lost the first B5 and uses the re-emitted one. */
	cr_assert_eq(
	    sga_dev_consume_kex_reply(&h.dev[0], &h.sess[0], out2.msg[0].frame, out2.msg[0].len),
	    0);
	cr_assert_eq(
	    sga_dev_consume_kex_reply(&h.dev[1], &h.sess[1], out.msg[1].frame, out.msg[1].len), 0);
	cr_assert_arr_eq(h.sess[0].e2e_tx_key, h.sess[1].e2e_rx_key, key_len(h.sess[0].suite));
	harness_fini(&h);
}

/* Paper B1-B7: B3 may reach the gateway before B1. */
Test(kex, responder_first)
{
	struct harness h;
	struct sga_gw_out out;
	uint8_t got[64];
	size_t got_len;

	setup_all(&h);
	cr_assert_eq(harness_register(&h, 0), 0);
	cr_assert_eq(harness_register(&h, 1), 0);
	cr_assert_eq(harness_negotiate(&h, ALL, 4), 0);
	for (int k = 1; k >= 0; k--) {
		cr_assert_eq(sga_dev_create_kex_init(&h.dev[k], &h.sess[k], h.frame,
		                                     sizeof(h.frame), &h.frame_len),
		             0);
		cr_assert_eq(
		    sga_gw_kex_init_handle(&h.gw, &h.rec[k], &h.gsess, h.frame, h.frame_len, &out),
		    0);
		cr_assert_eq(out.n, k ? 0u : 2u);
	}
	for (unsigned m = 0; m < 2; m++) {
		int k = !memcmp(out.msg[m].to_id, "dev-i", 5) ? 0 : 1;

		cr_assert_eq(sga_dev_consume_kex_reply(&h.dev[k], &h.sess[k], out.msg[m].frame,
		                                       out.msg[m].len),
		             0);
	}
	cr_assert_arr_eq(h.sess[0].e2e_tx_key, h.sess[1].e2e_rx_key, key_len(h.sess[0].suite));
	cr_assert_arr_eq(h.sess[1].e2e_tx_key, h.sess[0].e2e_rx_key, key_len(h.sess[0].suite));
	cr_assert_eq(harness_confirm(&h), 0);
	cr_assert_eq(harness_send(&h, 1, (const uint8_t *)"j first", 7, got, sizeof(got), &got_len),
	             0);
	cr_assert_eq(got_len, 7);
	harness_fini(&h);
}

/* Paper B7: two sessions between the same devices get independent keys. */
Test(kex, fresh_keys_per_session)
{
	struct harness h;
	uint8_t k1[SGA_AEAD_MAX_KEY_LEN];
	uint64_t sid1;

	setup_all(&h);
	cr_assert_eq(harness_full(&h, ALL, 4), 0);
	memcpy(k1, h.sess[0].e2e_tx_key, sizeof(k1));
	sid1 = h.gsess.session_id;
	cr_assert_eq(harness_negotiate(&h, ALL, 4), 0);
	cr_assert_eq(harness_kex(&h), 0);
	cr_assert_neq(h.gsess.session_id, sid1);
	cr_assert_arr_neq(h.sess[0].e2e_tx_key, k1, key_len(h.sess[0].suite));
	cr_assert_arr_eq(h.sess[0].e2e_tx_key, h.sess[1].e2e_rx_key, key_len(h.sess[0].suite));
	harness_fini(&h);
}

/* ---- delivery: replay windows tolerate reordering ----------------------------- */

/* Deviation "sequence numbers + sliding window": reordered frames within the
 * window are accepted once each, on both the hop and the E2E layer. */
Test(delivery, reordering_within_window)
{
	enum { N = 64 };
	static uint8_t up[N][SGA_FRAME_MAX], down[N][SGA_FRAME_MAX];
	size_t up_len[N], down_len[N];
	unsigned order_up[N], order_down[N];
	uint8_t msg[SGA_FRAME_MAX], got[SGA_FRAME_MAX], to_role, extra[SGA_FRAME_MAX];
	size_t got_len, extra_len;
	struct harness h;

	setup_all(&h);
	cr_assert_eq(harness_full(&h, ALL, 4), 0);
	for (unsigned k = 0; k < N; k++) {
		size_t len = 8 + k;

		fill_msg(msg, len, k);
		cr_assert_eq(
		    sga_dev_data_seal(&h.sess[0], msg, len, up[k], sizeof(up[k]), &up_len[k]), 0);
		/* Two interleaved permutations: a stride walk and its reverse. */
		order_up[k] = (k * 37) % N;
		order_down[k] = N - 1 - ((k * 13) % N);
	}
	/* The gateway receives them out of order: each accepted once. */
	for (unsigned k = 0; k < N; k++) {
		unsigned m = order_up[k];

		cr_assert_eq(sga_gw_data_relay(&h.gsess, up[m], up_len[m], down[m], sizeof(down[m]),
		                               &down_len[m], &to_role),
		             0, "relay of frame %u", m);
		cr_assert_eq(sga_gw_data_relay(&h.gsess, up[m], up_len[m], extra, sizeof(extra),
		                               &extra_len, &to_role),
		             -SGA_E_REPLAY, "second relay of frame %u", m);
	}
	/* The recipient gets the DATA_DOWN frames in yet another order. */
	for (unsigned k = 0; k < N; k++) {
		unsigned m = order_down[k];

		fill_msg(msg, 8 + m, m);
		cr_assert_eq(
		    sga_dev_data_open(&h.sess[1], down[m], down_len[m], got, sizeof(got), &got_len),
		    0, "open of frame %u", m);
		cr_assert_eq(got_len, 8 + m);
		cr_assert_arr_eq(got, msg, got_len);
	}
	for (unsigned k = 0; k < N; k++)
		cr_assert_eq(
		    sga_dev_data_open(&h.sess[1], down[k], down_len[k], got, sizeof(got), &got_len),
		    -SGA_E_REPLAY);
	harness_fini(&h);
}

/* DATA_SKIP (the store's retention released what a device lacks below n):
 * hop-authenticated like DATA_ACK, never taken for one, opened once. */
Test(delivery, skip_notice)
{
	uint8_t f[SGA_FRAME_MAX];
	size_t n;
	uint64_t v = 0;
	struct sga_data_ack_plain a;
	struct harness h;

	setup_all(&h);
	cr_assert_eq(harness_full(&h, ALL, 4), 0);
	cr_assert_eq(sga_hop_seal_u64(&h.gsess.hop[1], h.gsess.session_id, 1, SGA_MSG_DATA_DOWN, 1,
	                              f, sizeof(f), &n),
	             -SGA_E_BAD_TYPE);
	cr_assert_eq(sga_hop_seal_u64(&h.gsess.hop[1], h.gsess.session_id, 1, SGA_MSG_DATA_ACK, 1,
	                              f, sizeof(f), &n),
	             -SGA_E_BAD_TYPE, "an ACK is 16 bytes: sga_hop_seal_ack");
	cr_assert_eq(sga_hop_seal_u64(&h.gsess.hop[1], h.gsess.session_id, 1, SGA_MSG_DATA_SKIP, 77,
	                              f, sizeof(f), &n),
	             0);
	cr_assert_eq(sga_dev_ack_open(&h.sess[1], f, n, &a), -SGA_E_BAD_TYPE, "not an ACK");
	cr_assert_eq(sga_dev_skip_open(&h.sess[0], f, n, &v), -SGA_E_BAD_FIELD, "not to d_i");
	f[n - 1] ^= 1;
	cr_assert_eq(sga_dev_skip_open(&h.sess[1], f, n, &v), -SGA_E_AUTH, "tampered");
	f[n - 1] ^= 1;
	cr_assert_eq(sga_dev_skip_open(&h.sess[1], f, n, &v), 0);
	cr_assert_eq(v, 77);
	cr_assert_eq(sga_dev_skip_open(&h.sess[1], f, n, &v), -SGA_E_REPLAY, "once");
	harness_fini(&h);
}

/* ---- coalesced DATA_ACK (PROTOCOL.md 7.11) --------------------------------------- */

/* The gateway's window of what it took charge of slides like a replay window
 * of 64; what falls 64 or more below top needs a DATA_ACK of its own. */
Test(ack, window_slides)
{
	struct sga_ack_win w = {0, 0};

	cr_assert_eq(sga_ack_win_note(&w, 0), 1);
	cr_assert(w.top == 1 && w.bits == 1);
	cr_assert_eq(sga_ack_win_note(&w, 2), 1);
	cr_assert(w.top == 3 && w.bits == 0x5);
	cr_assert_eq(sga_ack_win_note(&w, 1), 1);
	cr_assert(w.top == 3 && w.bits == 0x7);
	cr_assert_eq(sga_ack_win_note(&w, 1), 1, "a duplicate is named again");
	cr_assert(w.top == 3 && w.bits == 0x7);
	cr_assert_eq(sga_ack_win_note(&w, 66), 1);
	cr_assert(w.top == 67 && w.bits == 1, "0..2 slid out (64 below 66 and more)");
	cr_assert_eq(sga_ack_win_note(&w, 3), 1, "63 below top-1: the last bit");
	cr_assert(w.top == 67 && w.bits == (1 | 1ull << 63));
	cr_assert_eq(sga_ack_win_note(&w, 2), 0, "64 below top-1: an ACK of its own");
	cr_assert(w.top == 67 && w.bits == (1 | 1ull << 63), "unchanged");
	cr_assert_eq(sga_ack_win_note(&w, 66 + 63), 1);
	cr_assert(w.top == 130 && w.bits == (1 | 1ull << 63), "66 at the last bit, 3 out");
	cr_assert_eq(sga_ack_win_note(&w, 1000), 1);
	cr_assert(w.top == 1001 && w.bits == 1);
	cr_assert_eq(sga_ack_win_note(&w, UINT64_MAX), -1, "top would wrap");
	cr_assert(w.top == 1001 && w.bits == 1);
	cr_assert_eq(sga_ack_win_note(&w, UINT64_MAX - 1), 1);
	cr_assert(w.top == UINT64_MAX && w.bits == 1);
}

/* One DATA_ACK names every message relayed since the session began (up to 64,
 * the key confirmation at e2e_seq 0 included), and the device finds each of
 * them in it. */
Test(ack, one_frame_names_a_burst)
{
	struct sga_data_ack_plain a;
	uint8_t got[64];
	size_t got_len;
	struct harness h;

	setup_all(&h);
	cr_assert_eq(harness_full(&h, ALL, 4), 0);
	for (int k = 0; k < 10; k++)
		cr_assert_eq(
		    harness_send(&h, 0, (const uint8_t *)"m", 1, got, sizeof(got), &got_len), 0);
	cr_assert_eq(harness_ack(&h, 0), 0);
	cr_assert_eq(h.frame[1], SGA_MSG_DATA_ACK);
	cr_assert_eq(h.frame_len, SGA_HOP_HDR_LEN + SGA_DATA_ACK_LEN + 16, "16 bytes + the tag");
	cr_assert_eq(sga_dev_ack_open(&h.sess[1], h.frame, h.frame_len, &a), -SGA_E_BAD_FIELD,
	             "to d_i, not d_j");
	cr_assert_eq(sga_dev_ack_open(&h.sess[0], h.frame, h.frame_len, &a), 0);
	cr_assert_eq(a.top, 11);
	cr_assert_eq(a.bits, 0x7ff);
	for (uint64_t k = 0; k < 11; k++)
		cr_assert(sga_data_ack_names(&a, k));
	cr_assert_not(sga_data_ack_names(&a, 11));
	cr_assert_eq(sga_dev_ack_open(&h.sess[0], h.frame, h.frame_len, &a), -SGA_E_REPLAY);
	/* The next one names the same messages again, and one more: each frame
	 * stands on its own. */
	cr_assert_eq(harness_send(&h, 0, (const uint8_t *)"m", 1, got, sizeof(got), &got_len), 0);
	cr_assert_eq(harness_ack(&h, 0), 0);
	h.frame[h.frame_len - 1] ^= 1;
	cr_assert_eq(sga_dev_ack_open(&h.sess[0], h.frame, h.frame_len, &a), -SGA_E_AUTH);
	h.frame[h.frame_len - 1] ^= 1;
	cr_assert_eq(sga_dev_ack_open(&h.sess[0], h.frame, h.frame_len, &a), 0);
	cr_assert(a.top == 12 && a.bits == 0xfff);
	harness_fini(&h);
}

/* An authentic DATA_ACK whose plaintext is not a valid (top, bits) is refused
 * with the codec's reason and does not move the device's hop window. */
Test(ack, authentic_but_malformed)
{
	static const struct {
		size_t len;
		uint64_t top, bits;
		int rc;
	} cases[] = {
	    {8, 1, 1, -SGA_E_TRUNCATED}, /* the former 8-byte ACK */
	    {15, 1, 1, -SGA_E_TRUNCATED},    {17, 1, 1, -SGA_E_TRAILING},
	    {16, 5, 0x1e, -SGA_E_BAD_FIELD}, /* bit 0 clear */
	    {16, 0, 0, -SGA_E_BAD_FIELD},    /* names nothing */
	    {16, 3, 0x9, -SGA_E_BAD_FIELD},  /* bit 3: e2e_seq -1 */
	};
	struct sga_data_ack_plain a = {.top = 5, .bits = 0x1e};
	uint8_t plain[32] = {0}, f[SGA_FRAME_MAX];
	uint64_t win_next;
	size_t n;
	struct harness h;

	setup_all(&h);
	cr_assert_eq(harness_full(&h, ALL, 4), 0);
	win_next = h.sess[0].hop_rx_win.next; /* past the relayed key confirmation */
	cr_assert_eq(sga_hop_seal_ack(&h.gsess.hop[0], h.gsess.session_id, 0, &a, f, sizeof(f), &n),
	             -SGA_E_BAD_FIELD, "the gateway never seals one either");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int b = 0; b < 8; b++) {
			plain[b] = (uint8_t)(cases[i].top >> (56 - 8 * b));
			plain[8 + b] = (uint8_t)(cases[i].bits >> (56 - 8 * b));
		}
		cr_assert_eq(sga_hop_seal_down(&h.gsess.hop[0], h.gsess.session_id, 0,
		                               SGA_MSG_DATA_ACK, plain, cases[i].len, f, sizeof(f),
		                               &n),
		             0);
		cr_assert_eq(sga_dev_ack_open(&h.sess[0], f, n, &a), cases[i].rc, "case %zu", i);
		cr_assert_eq(h.sess[0].hop_rx_win.next, win_next, "case %zu: window unmoved", i);
	}
	/* Bit 63 with top 64: the lowest is e2e_seq 0, fine. */
	a = (struct sga_data_ack_plain){.top = 64, .bits = 1 | 1ull << 63};
	cr_assert_eq(sga_hop_seal_ack(&h.gsess.hop[0], h.gsess.session_id, 0, &a, f, sizeof(f), &n),
	             0);
	cr_assert_eq(sga_dev_ack_open(&h.sess[0], f, n, &a), 0);
	cr_assert(a.top == 64 && a.bits == (1 | 1ull << 63));
	cr_assert(sga_data_ack_names(&a, 0) && sga_data_ack_names(&a, 63));
	cr_assert_not(sga_data_ack_names(&a, 1));
	harness_fini(&h);
}

/* Deviation "sliding window": a frame older than the window is refused. */
Test(delivery, too_old_is_replay)
{
	enum { N = SGA_REPLAY_WINDOW + 8 };
	static uint8_t up[N][96];
	size_t up_len[N];
	uint8_t down[SGA_FRAME_MAX], to_role;
	size_t down_len;
	struct harness h;

	setup_all(&h);
	cr_assert_eq(harness_full(&h, ALL, 4), 0);
	for (unsigned k = 0; k < N; k++)
		cr_assert_eq(sga_dev_data_seal(&h.sess[0], (const uint8_t *)"x", 1, up[k],
		                               sizeof(up[k]), &up_len[k]),
		             0);
	cr_assert_eq(sga_gw_data_relay(&h.gsess, up[N - 1], up_len[N - 1], down, sizeof(down),
	                               &down_len, &to_role),
	             0);
	cr_assert_eq(
	    sga_gw_data_relay(&h.gsess, up[0], up_len[0], down, sizeof(down), &down_len, &to_role),
	    -SGA_E_REPLAY);
	cr_assert_eq(sga_gw_data_relay(&h.gsess, up[N - 2], up_len[N - 2], down, sizeof(down),
	                               &down_len, &to_role),
	             0);
	harness_fini(&h);
}

/* The relay forwards DATA_UP only (found by tests/fuzz/fuzz_gateway): an
 * authentic DATA_DELIVERED is the gateway's own business and must not reach
 * the peer re-sealed as a DATA_DOWN (whose 8-byte inner no device can open),
 * nor move the sender's window. */
Test(delivery, delivered_is_not_relayed)
{
	uint8_t f[SGA_FRAME_MAX], down[SGA_FRAME_MAX], to_role = 9;
	size_t f_len, down_len = 0;
	struct sga_replay rx_before;
	uint64_t tx_before;
	struct harness h;

	setup_all(&h);
	cr_assert_eq(harness_full(&h, ALL, 4), 0);
	cr_assert_eq(sga_dev_delivered_seal(&h.sess[1], 0, f, sizeof(f), &f_len), 0);
	rx_before = h.gsess.hop[1].rx;
	tx_before = h.gsess.hop[0].tx_seq;
	cr_assert_eq(sga_gw_data_relay(&h.gsess, f, f_len, down, sizeof(down), &down_len, &to_role),
	             -SGA_E_BAD_TYPE);
	cr_assert_eq(to_role, 9);
	cr_assert_eq(h.gsess.hop[0].tx_seq, tx_before);
	cr_assert_eq(memcmp(&h.gsess.hop[1].rx, &rx_before, sizeof(rx_before)), 0);
	harness_fini(&h);
}

/* ---- state machine ---------------------------------------------------------- */

/* Every call out of its state returns BAD_STATE and changes nothing. */
Test(state, misuse_is_bad_state)
{
	struct harness h;
	struct sga_dev_sess fresh, copy;
	struct sga_gw_out out;
	struct sga_neg_accept_plain a3;
	uint8_t f[SGA_FRAME_MAX], g[SGA_FRAME_MAX], m[64];
	size_t f_len, g_len, m_len;
	uint64_t ctr;

	setup_all(&h);
	memset(&fresh, 0, sizeof(fresh));
	memset(f, 0, sizeof(f));

	/* Unregistered device: no A1, no A2, no REG_ACK expected. */
	cr_assert_eq(
	    sga_dev_create_neg_req(&h.dev[0], &fresh, h.dev[1].id, 5, ALL, 4, f, sizeof(f), &f_len),
	    -SGA_E_BAD_STATE);
	cr_assert_eq(sga_dev_consume_reg_ack(&h.dev[0], f, 40), -SGA_E_BAD_STATE);
	cr_assert_eq(sga_dev_consume_neg_invite(&h.dev[1], &fresh, f, 40), -SGA_E_BAD_STATE);
	cr_assert_eq(sga_dev_create_reg_req(&h.dev[0], NULL, 0, 1, f, sizeof(f), &f_len),
	             -SGA_E_BAD_FIELD, "rekey before registration");

	cr_assert_eq(harness_register(&h, 0), 0);
	cr_assert_eq(harness_register(&h, 1), 0);

	/* An idle session: no A3, no A4, no KEX, no data. */
	copy = fresh;
	cr_assert_eq(sga_dev_create_neg_accept(&h.dev[1], &fresh, 1, f, sizeof(f), &f_len),
	             -SGA_E_BAD_STATE);
	cr_assert_eq(sga_dev_consume_neg_result(&h.dev[0], &fresh, f, 40), -SGA_E_BAD_STATE);
	cr_assert_eq(sga_dev_create_kex_init(&h.dev[0], &fresh, f, sizeof(f), &f_len),
	             -SGA_E_BAD_STATE);
	cr_assert_eq(sga_dev_consume_kex_reply(&h.dev[0], &fresh, f, 40), -SGA_E_BAD_STATE);
	cr_assert_eq(sga_dev_data_seal(&fresh, m, 4, f, sizeof(f), &f_len), -SGA_E_BAD_STATE);
	cr_assert_eq(sga_dev_data_open(&fresh, f, 40, m, sizeof(m), &m_len), -SGA_E_BAD_STATE);
	cr_assert_eq(memcmp(&copy, &fresh, sizeof(copy)), 0);

	/* A1 sent: no KEX_INIT until A4; the responder cannot accept twice. */
	cr_assert_eq(sga_dev_create_neg_req(&h.dev[0], &h.sess[0], h.dev[1].id, 5, ALL, 4, h.frame,
	                                    sizeof(h.frame), &h.frame_len),
	             0);
	cr_assert_eq(sga_dev_create_kex_init(&h.dev[0], &h.sess[0], f, sizeof(f), &f_len),
	             -SGA_E_BAD_STATE);
	cr_assert_eq(sga_dev_data_seal(&h.sess[0], m, 4, f, sizeof(f), &f_len), -SGA_E_BAD_STATE);
	{
		struct sga_neg_req_plain a1;

		cr_assert_eq(sga_gw_neg_req_open(&h.gw, &h.rec[0], h.frame, h.frame_len, &a1, &ctr),
		             0);
		cr_assert_eq(
		    sga_gw_neg_req_handle(&h.gw, &h.rec[0], &h.rec[1], &a1, ctr, &h.gsess, &out),
		    0);
	}
	cr_assert_eq(
	    sga_dev_consume_neg_invite(&h.dev[1], &h.sess[1], out.msg[0].frame, out.msg[0].len), 0);
	cr_assert_eq(sga_dev_create_kex_init(&h.dev[1], &h.sess[1], f, sizeof(f), &f_len),
	             -SGA_E_BAD_STATE, "KEX_INIT before accepting");
	cr_assert_eq(sga_dev_create_neg_accept(&h.dev[1], &h.sess[1], 1, h.frame, sizeof(h.frame),
	                                       &h.frame_len),
	             0);
	cr_assert_eq(sga_dev_create_neg_accept(&h.dev[1], &h.sess[1], 1, f, sizeof(f), &f_len),
	             -SGA_E_BAD_STATE);

	/* The responder's KEX_INIT reaches G before its A3: the session is still INVITED. */
	cr_assert_eq(sga_dev_create_kex_init(&h.dev[1], &h.sess[1], g, sizeof(g), &g_len), 0);
	{
		struct sga_gw_session before = h.gsess;

		cr_assert_eq(sga_gw_kex_init_handle(&h.gw, &h.rec[1], &h.gsess, g, g_len, &out),
		             -SGA_E_BAD_STATE);
		cr_assert_eq(memcmp(&before, &h.gsess, sizeof(before)), 0);
	}
	/* A hop frame for a session that is not established yet: the relay does
	 * not know it (the data plane only ever sees established sessions). */
	{
		uint8_t hop_key[SGA_AEAD_MAX_KEY_LEN] = {0}, inner[24] = {0}, d[SGA_FRAME_MAX];
		size_t d_len;

		cr_assert_eq(sga_seal_hop(SGA_MSG_DATA_UP, h.gsess.session_id, SGA_ROLE_INITIATOR,
		                          0, 0, ALL[0], hop_key, inner, sizeof(inner), f, sizeof(f),
		                          &f_len),
		             0);
		cr_assert_eq(sga_gw_data_relay(&h.gsess, f, f_len, d, sizeof(d), &d_len, &m[0]),
		             -SGA_E_UNKNOWN_SESSION);
	}

	cr_assert_eq(sga_gw_neg_accept_open(&h.gw, &h.rec[1], h.frame, h.frame_len, &a3, &ctr), 0);
	cr_assert_eq(sga_gw_neg_accept_handle(&h.gw, &h.rec[1], &h.gsess, &a3, ctr, &out), 0);
	/* A second (fresh, authentic) A3 for a session already in KEX. */
	{
		struct sga_dev_sess s2 = h.sess[1];
		struct sga_gw_session before = h.gsess;

		s2.state = SGA_DEV_S_INVITED;
		cr_assert_eq(sga_dev_create_neg_accept(&h.dev[1], &s2, 1, f, sizeof(f), &f_len), 0);
		cr_assert_eq(sga_gw_neg_accept_open(&h.gw, &h.rec[1], f, f_len, &a3, &ctr), 0);
		cr_assert_eq(sga_gw_neg_accept_handle(&h.gw, &h.rec[1], &h.gsess, &a3, ctr, &out),
		             -SGA_E_BAD_STATE);
		cr_assert_eq(memcmp(&before, &h.gsess, sizeof(before)), 0);
		sga_dev_sess_wipe(&s2);
	}
	/* The original A4 has not been consumed yet; a KEX_REPLY now is out of turn. */
	cr_assert_eq(sga_dev_consume_kex_reply(&h.dev[0], &h.sess[0], f, f_len), -SGA_E_BAD_STATE);
	harness_fini(&h);
}

/* After establishment the handshake messages are out of turn. */
Test(state, established_rejects_handshake)
{
	struct harness h;
	struct sga_gw_out out;
	uint8_t f[SGA_FRAME_MAX];
	size_t f_len;

	setup_all(&h);
	cr_assert_eq(harness_register(&h, 0), 0);
	cr_assert_eq(harness_register(&h, 1), 0);
	cr_assert_eq(harness_negotiate(&h, ALL, 4), 0);
	cr_assert_eq(sga_dev_create_kex_init(&h.dev[0], &h.sess[0], f, sizeof(f), &f_len), 0);
	cr_assert_eq(sga_gw_kex_init_handle(&h.gw, &h.rec[0], &h.gsess, f, f_len, &out), 0);
	cr_assert_eq(
	    sga_dev_create_kex_init(&h.dev[1], &h.sess[1], h.frame, sizeof(h.frame), &h.frame_len),
	    0);
	cr_assert_eq(sga_gw_kex_init_handle(&h.gw, &h.rec[1], &h.gsess, h.frame, h.frame_len, &out),
	             0);
	cr_assert_eq(
	    sga_dev_consume_kex_reply(&h.dev[0], &h.sess[0], out.msg[0].frame, out.msg[0].len), 0);
	cr_assert_eq(
	    sga_dev_consume_kex_reply(&h.dev[1], &h.sess[1], out.msg[1].frame, out.msg[1].len), 0);
	/* The same B5 again, a new KEX_INIT, an A4: all out of turn. */
	cr_assert_eq(
	    sga_dev_consume_kex_reply(&h.dev[0], &h.sess[0], out.msg[0].frame, out.msg[0].len),
	    -SGA_E_BAD_STATE);
	cr_assert_eq(sga_dev_create_kex_init(&h.dev[0], &h.sess[0], f, sizeof(f), &f_len),
	             -SGA_E_BAD_STATE);
	cr_assert_eq(
	    sga_dev_consume_neg_result(&h.dev[0], &h.sess[0], out.msg[0].frame, out.msg[0].len),
	    -SGA_E_BAD_STATE);
	cr_assert_eq(sga_dev_create_neg_accept(&h.dev[1], &h.sess[1], 1, f, sizeof(f), &f_len),
	             -SGA_E_BAD_STATE);
	harness_fini(&h);
}

/* ---- the cookie challenge (PROTOCOL.md 7.13) --------------------------------------- */

static const uint8_t COOKIE_ROOT[SGA_COOKIE_ROOT_LEN] = {0x66, 0x01};

/* A whole set-up with a gateway under load: every REG_REQ, NEG_REQ and
 * KEX_INIT first earns a cookie, comes back inside a COOKIE_ECHO, and is then
 * handled unchanged: the authenticated encodings do not see the cookie. */
Test(cookie, handshake_through_the_challenge)
{
	struct sga_cookie_key k;
	struct harness h;

	sga_cookie_key_init(&k, COOKIE_ROOT);
	cr_assert_eq(harness_init(&h, SGA_GROUP_FFDHE2048, ALL, 4, ALL, 4), 0);
	h.cookie_now_ms = 10u * SGA_COOKIE_EPOCH_MS + 17;
	cr_assert_eq(harness_full_cookie(&h, &k, ALL, 4), 0);
	cr_assert_eq(h.sess[0].state, SGA_DEV_S_ESTABLISHED);
	cr_assert_eq(h.sess[1].state, SGA_DEV_S_ESTABLISHED);
	sga_cookie_key_wipe(&k);
	harness_fini(&h);
}

/* What a cookie is bound to: the address, the port, the frame, two epochs. */
Test(cookie, bound_to_address_frame_and_epoch)
{
	static const uint8_t f[8] = {0x01, 0x01, 0x00, 0x04, 1, 2, 3, 4};
	static const uint8_t g[8] = {0x01, 0x01, 0x00, 0x04, 1, 2, 3, 5};
	const uint32_t ip = htonl(0x0a000002), ip2 = htonl(0x0a000003);
	const uint16_t port = htons(40000), port2 = htons(40001);
	const uint64_t t = 7u * SGA_COOKIE_EPOCH_MS + 3;
	struct sga_cookie_key k, other, fresh;
	uint8_t c[SGA_COOKIE_LEN], bad[SGA_COOKIE_LEN];
	uint8_t other_root[SGA_COOKIE_ROOT_LEN] = {0x99};

	sga_cookie_key_init(&k, COOKIE_ROOT);
	sga_cookie_key_init(&other, other_root);
	sga_cookie_key_init(&fresh, COOKIE_ROOT);
	cr_assert_eq(sga_cookie_make(&k, t, ip, port, f, sizeof(f), c), 0);
	cr_assert_eq(sga_cookie_check(&k, t, ip, port, f, sizeof(f), c), 0);
	cr_assert_eq(sga_cookie_check(&k, t, ip2, port, f, sizeof(f), c), -SGA_E_AUTH);
	cr_assert_eq(sga_cookie_check(&k, t, ip, port2, f, sizeof(f), c), -SGA_E_AUTH);
	cr_assert_eq(sga_cookie_check(&k, t, ip, port, g, sizeof(g), c), -SGA_E_AUTH);
	cr_assert_eq(sga_cookie_check(&other, t, ip, port, f, sizeof(f), c), -SGA_E_AUTH,
	             "another gateway process (another root) does not take it");
	memcpy(bad, c, sizeof(bad));
	bad[15] ^= 1;
	cr_assert_eq(sga_cookie_check(&k, t, ip, port, f, sizeof(f), bad), -SGA_E_AUTH);
	/* the secret rotates every epoch; the previous one is still accepted */
	cr_assert_eq(sga_cookie_check(&k, t + SGA_COOKIE_EPOCH_MS, ip, port, f, sizeof(f), c), 0);
	cr_assert_eq(sga_cookie_check(&k, t + 2 * SGA_COOKIE_EPOCH_MS, ip, port, f, sizeof(f), c),
	             -SGA_E_AUTH);
	/* a thread that never saw epoch 7 derives the same secrets (no shared state) */
	cr_assert_eq(sga_cookie_check(&fresh, t + SGA_COOKIE_EPOCH_MS, ip, port, f, sizeof(f), c),
	             0);
	cr_assert_eq(sga_cookie_check(&fresh, t, ip, port, f, sizeof(f), c), 0,
	             "and back: the clock may be read by threads a little apart");
	/* Either family through the 16-byte form: an IPv4-mapped address is the
	 * IPv4 cookie; an IPv6 one binds all 16 bytes and never equals the
	 * IPv4 cookie of bytes it starts or ends with. */
	{
		uint8_t a6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2},
		        m4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, c6[SGA_COOKIE_LEN];

		memcpy(m4 + 12, &ip, 4);
		cr_assert_eq(sga_cookie_check_addr(&k, t, m4, port, f, sizeof(f), c), 0);
		cr_assert_eq(sga_cookie_make_addr(&k, t, a6, port, f, sizeof(f), c6), 0);
		cr_assert_eq(sga_cookie_check_addr(&k, t, a6, port, f, sizeof(f), c6), 0);
		cr_assert_eq(sga_cookie_check_addr(&k, t, a6, port2, f, sizeof(f), c6),
		             -SGA_E_AUTH);
		cr_assert_eq(sga_cookie_check_addr(&k, t, a6, port, g, sizeof(g), c6), -SGA_E_AUTH);
		cr_assert_eq(sga_cookie_check_addr(&k, t, m4, port, f, sizeof(f), c6), -SGA_E_AUTH);
		for (int i = 0; i < 16; i++) {
			a6[i] ^= 0x01;
			cr_assert_eq(sga_cookie_check_addr(&k, t, a6, port, f, sizeof(f), c6),
			             -SGA_E_AUTH, "byte %d of the IPv6 address is bound", i);
			a6[i] ^= 0x01;
		}
		memcpy(a6 + 12, &ip, 4); /* ends with the IPv4 address */
		cr_assert_eq(sga_cookie_check_addr(&k, t, a6, port, f, sizeof(f), c), -SGA_E_AUTH);
	}
	sga_cookie_key_wipe(&k);
	sga_cookie_key_wipe(&other);
	sga_cookie_key_wipe(&fresh);
}

Test(cookie, codec_rules)
{
	static const uint8_t c[SGA_COOKIE_LEN] = {1};
	uint8_t f[SGA_FRAME_MAX + 64], out[SGA_FRAME_MAX + 64], d[SGA_COOKIE_DIGEST_LEN];
	uint8_t got[SGA_COOKIE_LEN];
	const uint8_t *pc, *inner;
	size_t n, inner_len;

	/* only REG_REQ, NEG_REQ, KEX_INIT travel in an echo */
	memset(f, 0, sizeof(f));
	f[0] = 1;
	f[3] = 4;
	for (int t = 0; t < 256; t++) {
		int want = t == SGA_MSG_REG_REQ || t == SGA_MSG_NEG_REQ || t == SGA_MSG_KEX_INIT;

		f[1] = (uint8_t)t;
		cr_assert_eq(sga_cookie_type((uint8_t)t), want);
		if (want)
			cr_assert_eq(sga_cookie_echo_encode(c, f, 8, out, sizeof(out), &n), 0);
		else
			cr_assert_neq(sga_cookie_echo_encode(c, f, 8, out, sizeof(out), &n), 0);
	}
	/* an echo is a whole frame around a whole frame */
	f[1] = SGA_MSG_NEG_REQ;
	cr_assert_eq(sga_cookie_echo_encode(c, f, 8, out, sizeof(out), &n), 0);
	cr_assert_eq(n, SGA_COOKIE_ECHO_HDR + 8);
	cr_assert_eq(sga_cookie_echo_decode(out, n, &pc, &inner, &inner_len), 0);
	cr_assert_eq(inner_len, 8);
	cr_assert_arr_eq(inner, f, 8);
	cr_assert_arr_eq(pc, c, SGA_COOKIE_LEN);
	cr_assert_eq(sga_cookie_echo_decode(out, n - 1, &pc, &inner, &inner_len), -SGA_E_TRUNCATED);
	out[SGA_COOKIE_ECHO_HDR + 3] = 5; /* inner length wrong */
	cr_assert_neq(sga_cookie_echo_decode(out, n, &pc, &inner, &inner_len), 0);
	cr_assert_null(inner);
	/* an echo of an echo is refused */
	cr_assert_eq(sga_cookie_echo_encode(c, f, 8, out, sizeof(out), &n), 0);
	cr_assert_neq(sga_cookie_echo_encode(c, out, n, f, sizeof(f), &n), 0);
	/* the whole echo stays within one datagram */
	f[1] = SGA_MSG_REG_REQ;
	sga_put_u16(f + 2, SGA_FRAME_MAX - SGA_HDR_LEN);
	cr_assert_eq(sga_cookie_echo_encode(c, f, SGA_FRAME_MAX, out, sizeof(out), &n),
	             -SGA_E_OVERSIZED);
	/* COOKIE_REPLY: exactly 36 bytes */
	cr_assert_eq(sga_cookie_digest(f, 8, d), 0);
	cr_assert_eq(sga_cookie_reply_encode(d, c, out, SGA_COOKIE_REPLY_LEN - 1, &n),
	             -SGA_E_NOSPACE);
	cr_assert_eq(sga_cookie_reply_encode(d, c, out, sizeof(out), &n), 0);
	cr_assert_eq(n, SGA_COOKIE_REPLY_LEN);
	cr_assert_eq(sga_cookie_reply_decode(out, n, d, got), 0);
	cr_assert_arr_eq(got, c, SGA_COOKIE_LEN);
	out[3]++;
	out[n] = 0;
	cr_assert_neq(sga_cookie_reply_decode(out, n + 1, d, got), 0);
}

/*
 * PROTOCOL.md 9.3: a device takes a new hop-down epoch (a gateway restart)
 * only from a frame that authenticates under the key of that epoch and lies
 * above every hop seq it has accepted; the new epoch's window is its own, and
 * no frame of an older epoch - replayed, or late - brings the old one back.
 */
Test(delivery, hop_down_epoch_adopted_forward_only)
{
	static struct sga_hop_member run1, run2;
	const struct sga_data_ack_plain one = {.top = 1, .bits = 1};
	struct sga_data_ack_plain got;
	uint8_t a1[96], a1b[96], low[96], a2[96], a2_early[96], forged[96];
	size_t a1_len, a1b_len, low_len, a2_len, a2_early_len, forged_len;
	struct harness h;
	uint64_t sid;

	setup_all(&h);
	cr_assert_eq(harness_full(&h, ALL, 4), 0);
	sid = h.gsess.session_id;
	/* the key confirmations came down under the handshake's epoch */
	cr_assert_eq(h.sess[0].hop_epoch, h.gsess.hop[0].epoch);

	/* run 1: the epoch of the handshake, sequence from 100 */
	run1 = h.gsess.hop[0];
	run1.tx_seq = 100;
	cr_assert_eq(sga_hop_seal_ack(&run1, sid, 0, &one, a1, sizeof(a1), &a1_len), 0);
	cr_assert_eq(sga_hop_seal_ack(&run1, sid, 0, &one, a1b, sizeof(a1b), &a1b_len), 0);
	cr_assert_eq(sga_dev_ack_open(&h.sess[0], a1, a1_len, &got), 0);
	cr_assert_eq(h.sess[0].hop_epoch, run1.epoch);

	/* run 2 (a restart): a fresh epoch; a sequence rolled back below what the
	 * device saw is refused, one above it adopts the epoch */
	cr_assert_eq(sga_hop_member_init(&run2, h.gsess.k_t[0], sid, h.gsess.hop_suite[0]), 0);
	cr_assert_neq(run2.epoch, run1.epoch);
	run2.tx_seq = 50;
	cr_assert_eq(sga_hop_seal_ack(&run2, sid, 0, &one, low, sizeof(low), &low_len), 0);
	cr_assert_eq(sga_dev_ack_open(&h.sess[0], low, low_len, &got), -SGA_E_REPLAY);
	cr_assert_eq(h.sess[0].hop_epoch, run1.epoch, "not adopted below the old sequence");
	run2.tx_seq = 1000;
	cr_assert_eq(
	    sga_hop_seal_ack(&run2, sid, 0, &one, a2_early, sizeof(a2_early), &a2_early_len), 0);
	cr_assert_eq(sga_hop_seal_ack(&run2, sid, 0, &one, a2, sizeof(a2), &a2_len), 0);
	/* a frame naming a newer epoch but not sealed under its key: refused */
	memcpy(forged, a2, a2_len);
	forged_len = a2_len;
	forged[SGA_HOP_EPOCH_OFF + 7] ^= 1;
	cr_assert_eq(sga_dev_ack_open(&h.sess[0], forged, forged_len, &got), -SGA_E_AUTH);
	cr_assert_eq(h.sess[0].hop_epoch, run1.epoch);
	cr_assert_eq(sga_dev_ack_open(&h.sess[0], a2, a2_len, &got), 0);
	cr_assert_eq(h.sess[0].hop_epoch, run2.epoch, "adopted");
	cr_assert_eq(sga_hop_frame_epoch(a2), run2.epoch);

	/* the old epoch's unseen frame (seq 101) cannot force the device back */
	cr_assert_eq(sga_dev_ack_open(&h.sess[0], a1b, a1b_len, &got), -SGA_E_REPLAY);
	cr_assert_eq(h.sess[0].hop_epoch, run2.epoch);
	/* within the epoch, the window tolerates reordering and refuses repeats */
	cr_assert_eq(sga_dev_ack_open(&h.sess[0], a2_early, a2_early_len, &got), 0);
	cr_assert_eq(sga_dev_ack_open(&h.sess[0], a2, a2_len, &got), -SGA_E_REPLAY);
	/* the device echoes its epoch in what it sends */
	cr_assert_eq(sga_dev_delivered_seal(&h.sess[0], 0, forged, sizeof(forged), &forged_len), 0);
	cr_assert_eq(sga_hop_frame_epoch(forged), run2.epoch);

	sga_memzero(&run1, sizeof(run1));
	sga_memzero(&run2, sizeof(run2));
	harness_fini(&h);
}

/* ---- WAKE (PROTOCOL.md 7.16) ------------------------------------------------------ */

Test(wake, roundtrip_tag_before_counter_and_echo)
{
	struct harness h;
	struct sga_wake_plain w;
	struct sga_wake_ack_plain ack;
	struct sga_gw_out out;
	uint8_t old[SGA_FRAME_MAX];
	size_t old_len;
	uint64_t ctr = 0, down;

	setup_all(&h);
	cr_assert_eq(harness_register(&h, 0), 0);
	down = h.dev[0].down_ctr;
	cr_assert_eq(sga_dev_create_wake(&h.dev[0], SGA_WAKE_FLAGS_ALL, h.frame, sizeof(h.frame),
	                                 &h.frame_len),
	             0);
	cr_assert_eq(h.frame_len, 4 + 1 + h.dev[0].id_len + 8 + 12 + 2 + 16);
	cr_assert_eq(sga_gw_wake_open(&h.gw, &h.rec[0], h.frame, h.frame_len, &w, &ctr), 0);
	cr_assert(ctr == h.dev[0].up_ctr && w.flags == SGA_WAKE_FLAGS_ALL);

	/* Forged: any flipped byte (header, id, counter, nonce, ciphertext) is
	 * AUTH or a parse error, never REPLAY, whatever the counter says. */
	for (size_t i = 0; i < h.frame_len; i++) {
		uint8_t f[SGA_FRAME_MAX];
		int rc;

		memcpy(f, h.frame, h.frame_len);
		f[i] ^= 0x01;
		rc = sga_gw_wake_open(&h.gw, &h.rec[0], f, h.frame_len, &w, &ctr);
		cr_assert(rc != 0 && rc != -SGA_E_REPLAY, "byte %zu: %d", i, rc);
	}
	/* A forged frame with a stale counter is AUTH, not REPLAY (section 13). */
	{
		uint8_t f[SGA_FRAME_MAX];

		memcpy(f, h.frame, h.frame_len);
		f[h.frame_len - 1] ^= 0x80;
		h.rec[0].up_ctr = h.dev[0].up_ctr;
		cr_assert_eq(sga_gw_wake_open(&h.gw, &h.rec[0], f, h.frame_len, &w, &ctr),
		             -SGA_E_AUTH);
		h.rec[0].up_ctr = 0;
	}
	cr_assert_eq(sga_gw_wake_open(&h.gw, &h.rec[0], h.frame, h.frame_len, &w, &ctr), 0);
	h.rec[0].up_ctr = ctr; /* the caller stores it */
	/* Replayed once accepted: REPLAY (authentic, stale). */
	cr_assert_eq(sga_gw_wake_open(&h.gw, &h.rec[0], h.frame, h.frame_len, &w, &ctr),
	             -SGA_E_REPLAY);
	/* Under another device's record (another k_d): refused. */
	cr_assert_neq(sga_gw_wake_open(&h.gw, &h.rec[1], h.frame, h.frame_len, &w, &ctr), 0);

	/* WAKE_ACK: echoes the counter, no larger than the WAKE. */
	cr_assert_eq(sga_gw_wake_ack_seal(&h.rec[0], h.dev[0].up_ctr, 2, 300, &out), 0);
	cr_assert_eq(out.n, 1);
	cr_assert_leq(out.msg[0].len, h.frame_len);
	memcpy(old, out.msg[0].frame, out.msg[0].len);
	old_len = out.msg[0].len;
	/* A tampered answer is AUTH and leaves the WAKE pending. */
	out.msg[0].frame[old_len - 1] ^= 1;
	cr_assert_eq(sga_dev_consume_wake_ack(&h.dev[0], out.msg[0].frame, old_len, &ack),
	             -SGA_E_AUTH);
	cr_assert_eq(sga_dev_consume_wake_ack(&h.dev[0], old, old_len, &ack), 0);
	cr_assert(ack.invitations == 2 && ack.stored == 255); /* saturated */
	cr_assert_eq(h.dev[0].down_ctr, down);                /* it spends no down counter */
	/* The same answer again, or an answer to an older WAKE: REPLAY. */
	cr_assert_eq(sga_dev_consume_wake_ack(&h.dev[0], old, old_len, &ack), -SGA_E_REPLAY);
	cr_assert_eq(sga_dev_create_wake(&h.dev[0], SGA_WAKE_WANT_STORED, h.frame, sizeof(h.frame),
	                                 &h.frame_len),
	             0);
	cr_assert_eq(sga_dev_consume_wake_ack(&h.dev[0], old, old_len, &ack), -SGA_E_REPLAY);
	/* A NEG_INVITE-typed frame under the same key is not a WAKE_ACK. */
	old[1] = SGA_MSG_NEG_INVITE;
	cr_assert_neq(sga_dev_consume_wake_ack(&h.dev[0], old, old_len, &ack), 0);
	harness_fini(&h);
}

Test(wake, unregistered_device_sends_none)
{
	struct harness h;

	setup_all(&h);
	cr_assert_eq(sga_dev_create_wake(&h.dev[0], 0, h.frame, sizeof(h.frame), &h.frame_len),
	             -SGA_E_BAD_STATE);
	harness_fini(&h);
}
