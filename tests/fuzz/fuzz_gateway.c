/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_gateway.c - libFuzzer harness for the gateway's control-frame handling
 * (protocol/sga_gateway.c), driven the way controlplane/cp_handler.c drives
 * it: peek at the frame, load the records it names, open, handle, store what
 * changed. The records live in memory (struct fuzz_gw_state), starting from
 * the fixed world of fuzz_fixture.h for every input.
 *
 * An input is a sequence of steps, each [kind(1) | len(2) | bytes(len)]:
 *   raw      the bytes are the frame;
 *   dev      the bytes are [type(1) | dev(1) | ctr(8) | plaintext] sealed as a
 *            NEG_REQ / NEG_ACCEPT device envelope under that device's k_d;
 *   sess     [sess(1) | role(1) | plaintext] sealed as a KEX_INIT under the k_t
 *            of that member;
 *   hop      [type(1) | role(1) | seq(8) | plaintext] sealed as DATA_UP /
 *            DATA_DELIVERED under the member's hop-up key (ESTABLISHED session);
 *   reg      [flags(1) | dev(1) | plaintext] RSA-encrypted to the gateway's PK,
 *            with the rekey MAC under that device's k_d when flags say REKEY;
 *   kex      [role(1)] the authentic KEX_INIT that member's device made;
 *   policy   [mode(1)] the enrollment mode for the steps that follow.
 * So the fuzzer reaches what lies behind authentication (payload decoders,
 * counters, state transitions) as well as the parsing in front of it.
 *
 * Property (sga_gateway.h): a frame the gateway refuses changes no record.
 * The whole state is compared byte for byte before and after every refused
 * step. An accepted step's replies are well-formed frames.
 */
#include "fuzz_common.h"
#include "fuzz_fixture.h"
#include "sga_cursor.h"
#include "sga_keys.h"

enum { K_RAW, K_DEV, K_SESS, K_HOP, K_REG, K_KEX, K_POLICY, K__COUNT };
#define MAX_STEPS 6

static struct fuzz_world W;
static struct fuzz_gw_state G; /* this input's records */
static struct sga_gw GW;       /* W.gw with this input's enrollment mode */

/* ---- seeds: the device -> gateway frames, and steps that build the rest ------- */

static void seed_raw(void *ctx, const char *name, const uint8_t *frame, size_t len)
{
	static const char *const to_gw[] = {"PKG_REQ",    "REG_REQ",    "REG_REQ-rekey",
	                                    "NEG_REQ",    "NEG_ACCEPT", "KEX_INIT-i",
	                                    "KEX_INIT-j", "DATA_UP",    "DATA_DELIVERED"};
	struct fuzz_steps st = {.n = 0};

	(void)ctx;
	for (size_t i = 0; i < sizeof(to_gw) / sizeof(to_gw[0]); i++)
		if (!strcmp(name, to_gw[i])) {
			fuzz_step_add(&st, 0 /* K_RAW */, frame, len);
			fuzz_seed_write(name, st.b, st.n);
		}
}

static void seeds(void)
{
	struct fuzz_steps st = {.n = 0};
	uint8_t b[256], r0 = 0, r1 = 1;
	size_t n = 0;

	FUZZ_SETUP(fuzz_world_frames(&W, seed_raw, NULL) == 0);
	/* B1 then B3: the session becomes ESTABLISHED. */
	fuzz_step_add(&st, K_KEX, &r0, 1);
	fuzz_step_add(&st, K_KEX, &r1, 1);
	fuzz_seed_write("kex-both", st.b, st.n);

	/* A3 from dev-j accepting the INVITED session (counter 31). */
	b[n++] = 1, b[n++] = FUZZ_DEV_J;
	sga_put_u64(b + n, 31), n += 8;
	sga_put_u64(b + n, FUZZ_SID_INVITED), n += 8;
	b[n++] = 1;
	memset(b + n, 0x55, SGA_KEY_LEN), n += SGA_KEY_LEN;
	st.n = 0;
	fuzz_step_add(&st, K_DEV, b, n);
	fuzz_seed_write("neg-accept", st.b, st.n);

	/* A1 from dev-i (counter 11) naming dev-j, two suites. */
	n = 0;
	b[n++] = 0, b[n++] = FUZZ_DEV_I;
	sga_put_u64(b + n, 11), n += 8;
	b[n++] = 5, memcpy(b + n, "dev-j", 5), n += 5;
	b[n++] = 2, b[n++] = SGA_SUITE_AES128_CCM8, b[n++] = SGA_SUITE_AES128_GCM;
	memset(b + n, 0x66, SGA_KEY_LEN), n += SGA_KEY_LEN;
	st.n = 0;
	fuzz_step_add(&st, K_DEV, b, n);
	fuzz_seed_write("neg-req", st.b, st.n);

	/* DATA_UP from d_i, hop seq 0, e2e_seq 0 and a 16-byte E2E ciphertext. */
	n = 0;
	b[n++] = 0, b[n++] = 0;
	sga_put_u64(b + n, 0), n += 8;
	sga_put_u64(b + n, 0), n += 8;
	memset(b + n, 0xee, 16), n += 16;
	st.n = 0;
	fuzz_step_add(&st, K_HOP, b, n);
	fuzz_step_add(&st, K_HOP, b, n); /* the same again: a replay */
	fuzz_seed_write("data-up-twice", st.b, st.n);

	/* Allow-list enrollment of dev-new with its token. */
	{
		struct sga_reg_plain rp = {.suite_init = 1, .n_suites = 1, .token_len = 0};
		size_t len;

		rp.suites[0] = 1;
		rp.id_len = (uint8_t)strlen(FUZZ_NEW_ID);
		memcpy(rp.id, FUZZ_NEW_ID, rp.id_len);
		rp.token_len = (uint8_t)strlen(FUZZ_TOKEN);
		memcpy(rp.token, FUZZ_TOKEN, rp.token_len);
		b[0] = 0, b[1] = 0;
		FUZZ_SETUP(sga_reg_plain_encode(&rp, b + 2, sizeof(b) - 2, &len) == 0);
		st.n = 0;
		fuzz_step_add(&st, K_POLICY, &r1, 1);
		fuzz_step_add(&st, K_REG, b, 2 + len);
		fuzz_step_add(&st, K_REG, b, 2 + len); /* retransmitted */
		fuzz_seed_write("enroll", st.b, st.n);
	}
	exit(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_SETUP(fuzz_world_init(&W) == 0);
	if (fuzz_seed_dir())
		seeds();
	return 0;
}

static void check_out(const struct sga_gw_out *out)
{
	FUZZ_CHECK(out->n <= 2);
	for (unsigned i = 0; i < out->n; i++) {
		FUZZ_CHECK(out->msg[i].len <= SGA_FRAME_MAX);
		FUZZ_CHECK(sga_hdr_parse(out->msg[i].frame, out->msg[i].len, NULL) == 0);
		FUZZ_CHECK(out->msg[i].to_id_len <= SGA_ID_MAX);
	}
}

/* A new registration lands in the dev-new slot (the fixture's third record). */
static int on_reg(const uint8_t *f, size_t n)
{
	struct sga_reg_req env;
	struct sga_reg_plain req;
	struct sga_gw_device rec, *old;
	struct sga_gw_out out;
	const struct sga_gw_enroll *allow = NULL;
	int used = 0, rc;

	rc = sga_gw_reg_open(&GW, f, n, &env, &req);
	if (rc)
		return rc;
	old = fuzz_gw_device(&G, req.id, req.id_len);
	if (!old && G.have_allow && req.id_len == strlen(FUZZ_NEW_ID) &&
	    !memcmp(req.id, FUZZ_NEW_ID, req.id_len))
		allow = &G.allow;
	rc = sga_gw_reg_accept(&GW, &env, &req, old, allow, &rec, &used, &out);
	if (rc)
		return rc;
	check_out(&out);
	FUZZ_CHECK(out.n == 1 && sga_id_valid(rec.id, rec.id_len));
	if (old) {
		*old = rec;
	} else {
		G.rec[FUZZ_DEV_NEW] = rec;
		G.have_rec[FUZZ_DEV_NEW] = 1;
	}
	if (used)
		G.have_allow = 0;
	return 0;
}

static int on_neg_req(const struct sga_gw_peek *pk, const uint8_t *f, size_t n)
{
	struct sga_gw_device *di = fuzz_gw_device(&G, pk->id, pk->id_len), *dj, ti, tj;
	struct sga_neg_req_plain a1;
	struct sga_gw_session s;
	struct sga_gw_out out;
	uint64_t ctr;
	int rc;

	if (!di)
		return -SGA_E_UNKNOWN_DEVICE;
	rc = sga_gw_neg_req_open(&GW, di, f, n, &a1, &ctr);
	if (rc)
		return rc;
	dj = fuzz_gw_device(&G, a1.peer_id, a1.peer_id_len);
	/* cp_handler works on loaded copies and writes them back on success. */
	ti = *di;
	if (dj)
		tj = *dj;
	rc = sga_gw_neg_req_handle(&GW, &ti, dj ? &tj : NULL, &a1, ctr, &s, &out);
	if (rc)
		return rc;
	check_out(&out);
	FUZZ_CHECK(out.n == 1 && ti.up_ctr == ctr);
	*di = ti;
	if (dj)
		*dj = tj;
	if (s.session_id)
		G.sess[FUZZ_N_SESS] = s;
	return 0;
}

static int on_neg_accept(const struct sga_gw_peek *pk, const uint8_t *f, size_t n)
{
	struct sga_gw_device *dj = fuzz_gw_device(&G, pk->id, pk->id_len), tj;
	struct sga_gw_session *sp, s;
	struct sga_neg_accept_plain a3;
	struct sga_gw_out out;
	uint64_t ctr;
	int rc;

	if (!dj)
		return -SGA_E_UNKNOWN_DEVICE;
	rc = sga_gw_neg_accept_open(&GW, dj, f, n, &a3, &ctr);
	if (rc)
		return rc;
	sp = fuzz_gw_session(&G, a3.session_id);
	if (!sp)
		return -SGA_E_UNKNOWN_SESSION;
	tj = *dj;
	s = *sp;
	rc = sga_gw_neg_accept_handle(&GW, &tj, &s, &a3, ctr, &out);
	if (rc)
		return rc;
	check_out(&out);
	FUZZ_CHECK(out.n == 1 && tj.up_ctr == ctr);
	FUZZ_CHECK(s.state == SGA_GW_S_KEX || s.state == 0);
	*dj = tj;
	*sp = s;
	return 0;
}

static int on_kex_init(const struct sga_gw_peek *pk, const uint8_t *f, size_t n)
{
	struct sga_gw_session *sp = fuzz_gw_session(&G, pk->session_id), s;
	struct sga_gw_device *d;
	struct sga_gw_out out;
	int rc;

	if (!sp)
		return -SGA_E_UNKNOWN_SESSION;
	d = fuzz_gw_device(&G, sp->id[pk->role], sp->id_len[pk->role]);
	if (!d)
		return -SGA_E_UNKNOWN_DEVICE;
	s = *sp;
	rc = sga_gw_kex_init_handle(&GW, d, &s, f, n, &out);
	if (rc)
		return rc;
	check_out(&out);
	FUZZ_CHECK(out.n == 0 || s.state == SGA_GW_S_ESTABLISHED);
	*sp = s;
	return 0;
}

static int on_data(const struct sga_gw_peek *pk, const uint8_t *f, size_t n)
{
	struct sga_gw_session *sp = fuzz_gw_session(&G, pk->session_id);
	uint8_t relayed[SGA_FRAME_MAX], to;
	size_t rlen = 0;
	int rc;

	if (!sp)
		return -SGA_E_UNKNOWN_SESSION;
	rc = sga_gw_data_relay(sp, f, n, relayed, sizeof(relayed), &rlen, &to);
	if (rc)
		return rc;
	/* sga_gateway.h: the relay takes DATA_UP, nothing else, to the other member. */
	FUZZ_CHECK(f[1] == SGA_MSG_DATA_UP);
	FUZZ_CHECK(to == (pk->role ^ 1) && rlen <= SGA_FRAME_MAX);
	FUZZ_CHECK(sga_hdr_parse(relayed, rlen, NULL) == 0 && relayed[1] == SGA_MSG_DATA_DOWN);
	return 0;
}

/* One control frame, as cp_handle_frame dispatches it. */
static int handle_frame(const uint8_t *f, size_t n)
{
	struct sga_gw_peek pk;
	struct sga_gw_out out;
	int rc = sga_gw_peek(f, n, &pk);

	if (rc)
		return rc;
	switch (pk.type) {
	case SGA_MSG_PKG_REQ:
		rc = sga_gw_handle_pkg_req(&GW, f, n, &out);
		if (!rc)
			check_out(&out);
		return rc;
	case SGA_MSG_REG_REQ:
		return on_reg(f, n);
	case SGA_MSG_NEG_REQ:
		return on_neg_req(&pk, f, n);
	case SGA_MSG_NEG_ACCEPT:
		return on_neg_accept(&pk, f, n);
	case SGA_MSG_KEX_INIT:
		return on_kex_init(&pk, f, n);
	default:
		return on_data(&pk, f, n);
	}
}

/* ---- building authentic frames from fuzzer bytes ------------------------------ */

static int build_dev(struct fuzz_in *in, uint8_t *f, size_t *n)
{
	uint8_t type = fuzz_u8(in) & 1 ? SGA_MSG_NEG_ACCEPT : SGA_MSG_NEG_REQ;
	const struct sga_gw_device *d = &W.g.rec[fuzz_u8(in) & 1];
	uint64_t ctr = fuzz_u64(in);
	uint8_t key[SGA_AEAD_MAX_KEY_LEN];
	size_t plen;
	const uint8_t *p = fuzz_bytes(in, in->left, &plen);
	int rc = sga_key_ctl(d->k_d, d->suite_init, key);

	if (!rc)
		rc = sga_seal_dev_env(type, d->id, d->id_len, ctr, d->suite_init, key, p, plen, f,
		                      SGA_FRAME_MAX, n);
	sga_memzero(key, sizeof(key));
	return rc;
}

static int build_sess(struct fuzz_in *in, uint8_t *f, size_t *n)
{
	const struct sga_gw_session *s = &W.g.sess[fuzz_u8(in) % FUZZ_N_SESS];
	uint8_t role = fuzz_u8(in) & 1, key[SGA_AEAD_MAX_KEY_LEN];
	size_t plen;
	const uint8_t *p = fuzz_bytes(in, in->left, &plen);
	int rc = sga_key_kex(s->k_t[role], s->session_id, s->hop_suite[role], key);

	if (!rc)
		rc = sga_seal_sess_env(SGA_MSG_KEX_INIT, s->session_id, role, s->hop_suite[role],
		                       key, p, plen, f, SGA_FRAME_MAX, n);
	sga_memzero(key, sizeof(key));
	return rc;
}

static int build_hop(struct fuzz_in *in, uint8_t *f, size_t *n)
{
	const struct sga_gw_session *s = &W.g.sess[2];
	uint8_t type = fuzz_u8(in) & 1 ? SGA_MSG_DATA_DELIVERED : SGA_MSG_DATA_UP;
	uint8_t role = fuzz_u8(in) & 1;
	uint64_t seq = fuzz_u64(in);
	size_t plen;
	const uint8_t *p = fuzz_bytes(in, in->left, &plen);

	/* The device echoes the gateway's epoch (or 0, none adopted yet). */
	uint64_t echo = fuzz_u8(in) & 1 ? s->hop[role].epoch : 0;

	return sga_seal_hop(type, s->session_id, role, echo, seq, s->hop_suite[role],
	                    s->hop[role].key_up, p, plen, f, SGA_FRAME_MAX, n);
}

static int build_reg(struct fuzz_in *in, uint8_t *f, size_t *n)
{
	uint8_t flags = fuzz_u8(in), ct[SGA_RSA_MAX_LEN], mac_key[SGA_MAC_LEN], *mac_at = NULL;
	const struct sga_gw_device *d = &W.g.rec[fuzz_u8(in) & 1];
	size_t plen, ct_len = 0;
	const uint8_t *p = fuzz_bytes(in, in->left, &plen);
	int rc;

	flags &= SGA_REG_FLAG_REKEY;
	if (plen > sga_rsa_oaep_max_plaintext(GW.prof[0].pk.rsa))
		plen = sga_rsa_oaep_max_plaintext(GW.prof[0].pk.rsa);
	rc = sga_err_from_crypto(
	    sga_rsa_oaep_encrypt(GW.prof[0].pk.rsa, p, plen, ct, sizeof(ct), &ct_len));
	if (!rc)
		rc = sga_reg_req_encode(flags, SGA_GROUP_FFDHE2048, ct, ct_len, f, SGA_FRAME_MAX,
		                        &mac_at, n);
	if (!rc && mac_at) {
		struct sga_buf part = {f, *n - SGA_MAC_LEN};

		rc = sga_key_rekey_mac(d->k_d, mac_key);
		if (!rc)
			rc = sga_err_from_crypto(
			    sga_hmac_sha256(mac_key, sizeof(mac_key), &part, 1, mac_at));
	}
	sga_memzero(mac_key, sizeof(mac_key));
	return rc;
}

static int build_kex(struct fuzz_in *in, uint8_t *f, size_t *n)
{
	const struct sga_dev_sess *s = &W.d.sess[fuzz_u8(in) & 1][1];

	memcpy(f, s->kex_frame, s->kex_frame_len);
	*n = s->kex_frame_len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_gw_state before;
	struct fuzz_in in = {data, size};
	uint8_t frame[SGA_FRAME_MAX];

	memcpy(&G, &W.g, sizeof(G));
	GW = W.gw;
	for (unsigned step = 0; step < MAX_STEPS && in.left; step++) {
		uint8_t kind = fuzz_u8(&in) % K__COUNT;
		size_t len, n = 0;
		const uint8_t *chunk = fuzz_chunk(&in, &len);
		struct fuzz_in sub = {chunk, len};
		int rc = 0;

		switch (kind) {
		case K_RAW:
			n = len;
			memcpy(frame, chunk, n < sizeof(frame) ? n : sizeof(frame));
			if (n > sizeof(frame))
				n = sizeof(frame) + 1; /* too long: the peek refuses it */
			break;
		case K_DEV:
			rc = build_dev(&sub, frame, &n);
			break;
		case K_SESS:
			rc = build_sess(&sub, frame, &n);
			break;
		case K_HOP:
			rc = build_hop(&sub, frame, &n);
			break;
		case K_REG:
			rc = build_reg(&sub, frame, &n);
			break;
		case K_KEX:
			rc = build_kex(&sub, frame, &n);
			break;
		case K_POLICY:
			GW.enroll_mode = fuzz_u8(&sub) & 1 ? SGA_ENROLL_ALLOWLIST : SGA_ENROLL_OPEN;
			continue;
		}
		if (rc)
			continue; /* the bytes did not make a frame (too long, ...) */
		memcpy(&before, &G, sizeof(G));
		if (n > sizeof(frame)) {
			struct sga_gw_peek pk;

			FUZZ_CHECK(sga_gw_peek(chunk, len, &pk) != 0);
			continue;
		}
		rc = handle_frame(frame, n);
		fuzz_trace(step, kind, frame[1], rc);
		FUZZ_CHECK(rc <= 0);
		if (rc)
			FUZZ_CHECK(memcmp(&before, &G, sizeof(G)) == 0);
	}
	sga_memzero(&G, sizeof(G));
	return 0;
}
