/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_wire.c - libFuzzer harness for the wire codec (protocol/sga_wire.c):
 * every frame and payload decoder runs on the input.
 *
 * Properties, beyond "no crash, no out-of-bounds read":
 *  - every format is canonical: what a decoder accepts, its encoder accepts
 *    too and writes back byte for byte (decode -> encode -> the same bytes);
 *  - a failed decode leaves its output struct zeroed (sga_wire.c's contract);
 *  - the peek helpers agree with the decoders they stand for.
 */
#include "fuzz_common.h"
#include "fuzz_fixture.h"
#include "protocol_vectors.h"
#include "sga_device.h"
#include "sga_gateway.h"
#include "sga_wire.h"

static uint8_t out[2 * SGA_FRAME_MAX + SGA_PKG_REQ_LEN];

static int all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

/* A decode's outcome: on success the re-encoding equals the input, on failure
 * the struct is zero. */
#define SAME_BYTES(rc_enc, olen, in, ilen)                  \
	do {                                                \
		FUZZ_CHECK((rc_enc) == 0);                  \
		FUZZ_CHECK((olen) == (ilen));               \
		FUZZ_CHECK(memcmp(out, (in), (ilen)) == 0); \
	} while (0)

static void check_hdr(const uint8_t *d, size_t n)
{
	struct sga_hdr h;

	if (sga_hdr_parse(d, n, &h)) {
		FUZZ_CHECK(all_zero(&h, sizeof(h)));
		return;
	}
	FUZZ_CHECK(n >= SGA_HDR_LEN && n <= SGA_FRAME_MAX);
	FUZZ_CHECK(h.version == SGA_WIRE_VERSION && h.type == d[1]);
	FUZZ_CHECK((size_t)h.body_len + SGA_HDR_LEN == n);
	FUZZ_CHECK(strcmp(sga_msg_name(h.type), "UNKNOWN") != 0);
}

/* The ciphertext and AAD spans of an envelope, re-encoded into out. */
static void check_env_spans(const uint8_t *d, size_t n, const uint8_t *aad, size_t aad_len,
                            const uint8_t *ct, size_t ct_len, uint8_t *oct, size_t oaad_len)
{
	FUZZ_CHECK(aad == d && ct == d + aad_len && aad_len + ct_len == n);
	FUZZ_CHECK(ct_len >= SGA_CT_MIN);
	FUZZ_CHECK(oaad_len == aad_len && oct == out + aad_len);
	memcpy(oct, ct, ct_len);
	FUZZ_CHECK(memcmp(out, d, n) == 0);
}

static void check_envelopes(const uint8_t *d, size_t n)
{
	struct sga_env_dev ed;
	struct sga_env_sess es;
	struct sga_env_hop eh;
	uint8_t *ct;
	size_t aad_len;

	if (!sga_env_dev_decode(d, n, &ed)) {
		FUZZ_CHECK(sga_env_dev_encode(ed.type, ed.id, ed.id_len, ed.ctr, ed.nonce,
		                              ed.ct_len, out, sizeof(out), &ct, &aad_len) == 0);
		check_env_spans(d, n, ed.aad, ed.aad_len, ed.ct, ed.ct_len, ct, aad_len);
	} else {
		FUZZ_CHECK(all_zero(&ed, sizeof(ed)));
	}
	if (!sga_env_sess_decode(d, n, &es)) {
		FUZZ_CHECK(sga_env_sess_encode(es.type, es.session_id, es.role, es.nonce, es.ct_len,
		                               out, sizeof(out), &ct, &aad_len) == 0);
		check_env_spans(d, n, es.aad, es.aad_len, es.ct, es.ct_len, ct, aad_len);
	} else {
		FUZZ_CHECK(all_zero(&es, sizeof(es)));
	}
	if (!sga_env_hop_decode(d, n, &eh)) {
		FUZZ_CHECK(sga_env_hop_encode(eh.type, eh.session_id, eh.role, eh.epoch, eh.seq,
		                              eh.ct_len, out, sizeof(out), &ct, &aad_len) == 0);
		check_env_spans(d, n, eh.aad, eh.aad_len, eh.ct, eh.ct_len, ct, aad_len);
	} else {
		FUZZ_CHECK(all_zero(&eh, sizeof(eh)));
	}
}

static void check_clear_frames(const uint8_t *d, size_t n)
{
	struct sga_reg_req rq;
	struct sga_error_msg em;
	struct sga_package pkg;
	uint8_t *mac_at, group;
	size_t len;

	if (!sga_reg_req_decode(d, n, &rq)) {
		const size_t at = SGA_HDR_LEN + 3 + ((rq.flags & SGA_REG_FLAG_GROUP) ? 1 : 0);

		FUZZ_CHECK(rq.ct == d + at);
		FUZZ_CHECK(rq.mac_input == d && rq.mac_input_len == at + rq.ct_len);
		FUZZ_CHECK(sga_reg_req_encode(rq.flags & SGA_REG_FLAG_REKEY, rq.group, rq.ct,
		                              rq.ct_len, out, sizeof(out), &mac_at, &len) == 0);
		FUZZ_CHECK(!!mac_at == !!rq.mac);
		if (mac_at)
			memcpy(mac_at, rq.mac, SGA_MAC_LEN);
		SAME_BYTES(0, len, d, n);
	} else {
		FUZZ_CHECK(all_zero(&rq, sizeof(rq)));
	}
	if (!sga_error_decode(d, n, &em)) {
		SAME_BYTES(sga_error_encode(em.code, em.ref, em.ref_len, out, sizeof(out), &len),
		           len, d, n);
	} else {
		FUZZ_CHECK(all_zero(&em, sizeof(em)));
	}
	if (!sga_pkg_req_decode(d, n, &group)) {
		SAME_BYTES(sga_pkg_req_encode(group, out, sizeof(out), &len), len, d, n);
	}
	if (!sga_pkg_decode(d, n, &pkg)) {
		SAME_BYTES(sga_pkg_encode(&pkg, out, sizeof(out), &len), len, d, n);
	} else {
		FUZZ_CHECK(all_zero(&pkg, sizeof(pkg)));
	}
	if (!sga_package_decode(d, n, &pkg)) {
		SAME_BYTES(sga_package_encode(&pkg, out, sizeof(out), &len), len, d, n);
	} else {
		FUZZ_CHECK(all_zero(&pkg, sizeof(pkg)));
	}
}

/* Payload decoders: the same bytes as an envelope's plaintext. */
#define PAYLOAD(type, dec, enc)                                                 \
	do {                                                                    \
		struct type m;                                                  \
		size_t len;                                                     \
                                                                                \
		if (!dec(d, n, &m)) {                                           \
			SAME_BYTES(enc(&m, out, sizeof(out), &len), len, d, n); \
		} else {                                                        \
			FUZZ_CHECK(all_zero(&m, sizeof(m)));                    \
		}                                                               \
	} while (0)

static void check_payloads(const uint8_t *d, size_t n)
{
	struct sga_data_inner in;

	PAYLOAD(sga_reg_plain, sga_reg_plain_decode, sga_reg_plain_encode);
	PAYLOAD(sga_reg_ack_plain, sga_reg_ack_plain_decode, sga_reg_ack_plain_encode);
	PAYLOAD(sga_neg_req_plain, sga_neg_req_plain_decode, sga_neg_req_plain_encode);
	PAYLOAD(sga_neg_invite_plain, sga_neg_invite_plain_decode, sga_neg_invite_plain_encode);
	PAYLOAD(sga_neg_accept_plain, sga_neg_accept_plain_decode, sga_neg_accept_plain_encode);
	PAYLOAD(sga_neg_result_plain, sga_neg_result_plain_decode, sga_neg_result_plain_encode);
	PAYLOAD(sga_kex_init_plain, sga_kex_init_plain_decode, sga_kex_init_plain_encode);
	PAYLOAD(sga_kex_reply_plain, sga_kex_reply_plain_decode, sga_kex_reply_plain_encode);
	PAYLOAD(sga_data_ack_plain, sga_data_ack_plain_decode, sga_data_ack_plain_encode);
	PAYLOAD(sga_wake_plain, sga_wake_plain_decode, sga_wake_plain_encode);
	PAYLOAD(sga_wake_ack_plain, sga_wake_ack_plain_decode, sga_wake_ack_plain_encode);

	if (!sga_data_inner_decode(d, n, &in)) {
		uint8_t *e2e_ct;
		size_t len;

		FUZZ_CHECK(in.e2e_ct == d + 8 && in.e2e_ct_len + 8 == n);
		FUZZ_CHECK(sga_data_inner_encode(in.e2e_seq, in.e2e_ct_len, out, sizeof(out),
		                                 &e2e_ct, &len) == 0);
		FUZZ_CHECK(e2e_ct == out + 8);
		memcpy(e2e_ct, in.e2e_ct, in.e2e_ct_len);
		SAME_BYTES(0, len, d, n);
	} else {
		FUZZ_CHECK(all_zero(&in, sizeof(in)));
	}
}

/* The routing helpers must say what the decoders say. */
static void check_peeks(const uint8_t *d, size_t n)
{
	struct sga_gw_peek pk;
	struct sga_env_sess es;
	struct sga_env_hop eh;
	uint8_t type = 0;
	uint64_t sid = 0;

	if (!sga_gw_peek(d, n, &pk)) {
		switch (pk.type) {
		case SGA_MSG_KEX_INIT:
			FUZZ_CHECK(!sga_env_sess_decode(d, n, &es) &&
			           es.session_id == pk.session_id);
			break;
		case SGA_MSG_DATA_UP:
		case SGA_MSG_DATA_DELIVERED:
			FUZZ_CHECK(!sga_env_hop_decode(d, n, &eh) &&
			           eh.session_id == pk.session_id);
			break;
		default:
			FUZZ_CHECK(!sga_hdr_parse(d, n, NULL));
		}
	}
	if (!sga_dev_peek(d, n, &type, &sid)) {
		FUZZ_CHECK(!sga_hdr_parse(d, n, NULL) && type == d[1]);
		if (sid)
			FUZZ_CHECK(!sga_env_sess_decode(d, n, &es) ||
			           !sga_env_hop_decode(d, n, &eh));
	}
}

/* ---- seeds ------------------------------------------------------------------- */

static void seed_frame(void *ctx, const char *name, const uint8_t *frame, size_t len)
{
	(void)ctx;
	fuzz_seed_write(name, frame, len);
}

/* One plaintext of each payload kind (the envelopes' insides). */
static void seed_payloads(void)
{
	static const uint8_t suites[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_AES128_CCM8};
	static const uint8_t big[SGA_GROUP_MAX_LEN] = {0x02};
	struct sga_reg_plain rp = {.suite_init = 1, .n_suites = 2, .id_len = 5, .token_len = 4};
	struct sga_neg_req_plain nq = {.peer_id_len = 5, .n_pref = 2};
	struct sga_neg_invite_plain ni = {
	    .session_id = 7, .suite = 1, .group = 1, .peer_id_len = 5, .n_pref = 2};
	struct sga_neg_accept_plain na = {.session_id = 7, .accept = 1};
	struct sga_neg_result_plain nr = {.req_ctr = 11, .suite = 1, .group = 1, .peer_id_len = 5};
	struct sga_kex_init_plain ki = {.n_len = 256,
	                                .n = big,
	                                .proof_len = 60,
	                                .proof = big,
	                                .f_len = 256,
	                                .f = big,
	                                .mac = big};
	struct sga_kex_reply_plain kr = {.x_len = 256, .x = big, .n_hash_peer = big, .mac = big};
	struct sga_data_ack_plain da = {.top = 9, .bits = 0x101};
	struct sga_wake_plain wk = {.flags = SGA_WAKE_FLAGS_ALL};
	struct sga_wake_ack_plain wa = {.invitations = 1, .stored = 2};
	size_t len;

	memcpy(rp.suites, suites, 2);
	memcpy(rp.id, "dev-i", 5);
	memcpy(rp.token, "tokn", 4);
	memcpy(nq.peer_id, "dev-j", 5);
	memcpy(nq.prefs, suites, 2);
	memcpy(ni.peer_id, "dev-i", 5);
	memcpy(ni.prefs, suites, 2);
	memcpy(nr.peer_id, "dev-j", 5);
#define SEED(name, enc, m)                                       \
	do {                                                     \
		FUZZ_SETUP(enc(m, out, sizeof(out), &len) == 0); \
		fuzz_seed_write(name, out, len);                 \
	} while (0)
	SEED("p-reg", sga_reg_plain_encode, &rp);
	SEED("p-neg-req", sga_neg_req_plain_encode, &nq);
	SEED("p-neg-invite", sga_neg_invite_plain_encode, &ni);
	SEED("p-neg-accept", sga_neg_accept_plain_encode, &na);
	SEED("p-neg-result", sga_neg_result_plain_encode, &nr);
	SEED("p-kex-init", sga_kex_init_plain_encode, &ki);
	SEED("p-kex-reply", sga_kex_reply_plain_encode, &kr);
	SEED("p-data-ack", sga_data_ack_plain_encode, &da);
	SEED("p-wake", sga_wake_plain_encode, &wk);
	SEED("p-wake-ack", sga_wake_ack_plain_encode, &wa);
#undef SEED
	fuzz_seed_write("p-data-inner", V_DATA_INNER, sizeof(V_DATA_INNER));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static struct fuzz_world w;

	(void)argc;
	(void)argv;
	if (!fuzz_seed_dir())
		return 0;
	FUZZ_SETUP(fuzz_world_init(&w) == 0);
	FUZZ_SETUP(fuzz_world_frames(&w, seed_frame, NULL) == 0);
	fuzz_seed_write("v-data-up", V_DATA_UP, sizeof(V_DATA_UP));
	fuzz_seed_write("v-data-down", V_DATA_DOWN, sizeof(V_DATA_DOWN));
	fuzz_seed_write("v-data-ack", V_DATA_ACK, sizeof(V_DATA_ACK));
	seed_payloads();
	exit(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_hdr(data, size);
	check_envelopes(data, size);
	check_clear_frames(data, size);
	check_payloads(data, size);
	check_peeks(data, size);
	return 0;
}
