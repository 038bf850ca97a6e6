/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_device.c - libFuzzer harness for the device state machine
 * (protocol/sga_device.c): the consume_X / _open functions fed raw frames and
 * frames sealed with the keys the device expects, from the fixed world of
 * fuzz_fixture.h (two registered devices, each with a session waiting for its
 * A4, one waiting for its KEX_REPLY and one ESTABLISHED).
 *
 * An input is a sequence of steps, each [kind(1) | len(2) | bytes(len)], whose
 * bytes start with target(1): bit 0 the device, the rest the session slot.
 *   raw      the rest is the frame;
 *   dev      [type(1) | ctr(8) | plaintext] as a REG_ACK / NEG_INVITE device
 *            envelope under the device's k_d;
 *   sess     [type(1) | sid(8) | role(1) | plaintext] as a NEG_RESULT /
 *            KEX_REPLY session envelope under the slot's k_t (sid 0: the slot's);
 *   hop      [type(1) | seq(8) | plaintext] as DATA_DOWN / DATA_ACK / DATA_SKIP
 *            under the ESTABLISHED session's hop-down key;
 *   data     [seq(8) | e2e_seq(8) | message] as a DATA_DOWN the peer could have
 *            sent: both layers authentic (the message must come out unchanged);
 *   reply    [X] a KEX_REPLY with the MAC the gateway would compute over X.
 *
 * Property (sga_device.h): a consume that fails leaves the state as it was,
 * but for the two documented exceptions: an authenticated refusal in an A4
 * fails the session (state FAILED, nothing else), and a DATA_DOWN whose
 * message was received before consumes its hop sequence number (-REPLAY).
 */
#include "fuzz_common.h"
#include "fuzz_fixture.h"
#include "sga_cursor.h"
#include "sga_kex.h"
#include "sga_keys.h"

enum { K_RAW, K_DEV, K_SESS, K_HOP, K_DATA, K_REPLY, K__COUNT };
#define MAX_STEPS 6

static struct fuzz_world W;
static struct fuzz_dev_state D; /* this input's device state */

/* ---- seeds: the gateway -> device frames, and steps that build the rest ------- */

static void seed_raw(void *ctx, const char *name, const uint8_t *frame, size_t len)
{
	/* name, target (device | slot << 1) */
	static const struct {
		const char *name;
		uint8_t target;
	} to_dev[] = {{"REG_ACK", 0},   {"NEG_INVITE", 1}, {"NEG_RESULT", 0}, {"KEX_REPLY", 2},
	              {"DATA_DOWN", 5}, {"DATA_ACK", 4},   {"DATA_SKIP", 5},  {"ERROR", 0}};
	struct fuzz_steps st = {.n = 0};
	uint8_t b[SGA_FRAME_MAX + 1];

	(void)ctx;
	for (size_t i = 0; i < sizeof(to_dev) / sizeof(to_dev[0]); i++)
		if (!strcmp(name, to_dev[i].name)) {
			b[0] = to_dev[i].target;
			memcpy(b + 1, frame, len);
			fuzz_step_add(&st, K_RAW, b, len + 1);
			fuzz_seed_write(name, st.b, st.n);
		}
}

static void seed(const char *name, uint8_t kind, const uint8_t *b, size_t n, int twice)
{
	struct fuzz_steps st = {.n = 0};

	fuzz_step_add(&st, kind, b, n);
	if (twice)
		fuzz_step_add(&st, kind, b, n);
	fuzz_seed_write(name, st.b, st.n);
}

static void seeds(void)
{
	uint8_t b[512];
	size_t n;

	FUZZ_SETUP(fuzz_world_frames(&W, seed_raw, NULL) == 0);
	/* REG_ACK to dev-i echoing its pending nonce, counter 21. */
	n = 0;
	b[n++] = 0, b[n++] = 0;
	sga_put_u64(b + n, 21), n += 8;
	memset(b + n, 0x5a, SGA_NONCE_LEN), n += SGA_NONCE_LEN;
	seed("reg-ack", K_DEV, b, n, 1);
	/* A4 to dev-i: accepted, then a refusal (UNKNOWN_DEVICE). */
	for (int refuse = 0; refuse < 2; refuse++) {
		n = 0;
		b[n++] = 0, b[n++] = 0;
		sga_put_u64(b + n, 0), n += 8; /* the slot's session id */
		b[n++] = 0;
		sga_put_u64(b + n, 10), n += 8; /* req_ctr */
		b[n++] = refuse ? SGA_E_UNKNOWN_DEVICE : 0;
		b[n++] = refuse ? 0 : SGA_SUITE_AES128_GCM;
		b[n++] = refuse ? 0 : SGA_GROUP_FFDHE2048;
		b[n++] = 5, memcpy(b + n, "dev-j", 5), n += 5;
		seed(refuse ? "neg-result-refused" : "neg-result", K_SESS, b, n, 0);
	}
	/* KEX_REPLY with X = 2 and the MAC over it, to dev-j. */
	n = 0;
	b[n++] = 1 | 1 << 1;
	memset(b + n, 0, 256), b[n + 255] = 2, n += 256;
	seed("kex-reply", K_REPLY, b, n, 0);
	/* DATA_DOWN "hello" to dev-i, hop seq 0, e2e_seq 0; then the same message
	 * under hop seq 1 (a retransmission: -REPLAY, the hop seq is consumed). */
	n = 0;
	b[n++] = 0;
	sga_put_u64(b + n, 0), n += 8;
	sga_put_u64(b + n, 0), n += 8;
	memcpy(b + n, "hello", 5), n += 5;
	{
		struct fuzz_steps st = {.n = 0};

		fuzz_step_add(&st, K_DATA, b, n);
		sga_put_u64(b + 1, 1);
		fuzz_step_add(&st, K_DATA, b, n);
		fuzz_seed_write("data-down-dup", st.b, st.n);
	}
	/* DATA_ACK to dev-j: top 5, bits 0b11. */
	n = 0;
	b[n++] = 1, b[n++] = 1;
	sga_put_u64(b + n, 3), n += 8;
	sga_put_u64(b + n, 5), n += 8;
	sga_put_u64(b + n, 3), n += 8;
	seed("data-ack", K_HOP, b, n, 1);
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

/* The E2E nonce and AAD of PROTOCOL.md section 8 (sga_device.c's e2e_nonce_aad). */
static void e2e_nonce_aad(uint64_t sid, uint8_t dir, uint64_t seq, uint8_t nonce[12],
                          uint8_t aad[27])
{
	memset(nonce, 0, 4);
	nonce[3] = dir;
	sga_put_u64(nonce + 4, seq);
	memcpy(aad, "SGA v1 e2e", 10);
	sga_put_u64(aad + 10, sid);
	aad[18] = dir;
	sga_put_u64(aad + 19, seq);
}

struct step {
	unsigned k, slot;
	uint8_t frame[SGA_FRAME_MAX];
	size_t len;
	/* data: the message sealed inside, to compare with what comes out */
	int have_msg;
	uint8_t msg[SGA_FRAME_MAX];
	size_t msg_len;
};

static int build_dev(struct fuzz_in *in, struct step *st)
{
	const struct sga_dev *d = &W.d.dev[st->k];
	uint8_t type = fuzz_u8(in) & 1 ? SGA_MSG_NEG_INVITE : SGA_MSG_REG_ACK;
	uint64_t ctr = fuzz_u64(in);
	uint8_t key[SGA_AEAD_MAX_KEY_LEN];
	size_t plen;
	const uint8_t *p = fuzz_bytes(in, in->left, &plen);
	int rc = sga_key_ctl(d->k_d, d->suite_init, key);

	if (!rc)
		rc = sga_seal_dev_env(type, d->id, d->id_len, ctr, d->suite_init, key, p, plen,
		                      st->frame, sizeof(st->frame), &st->len);
	sga_memzero(key, sizeof(key));
	return rc;
}

static int build_sess(struct fuzz_in *in, struct step *st)
{
	const struct sga_dev_sess *s = &W.d.sess[st->k][st->slot];
	uint8_t type = fuzz_u8(in) & 1 ? SGA_MSG_KEX_REPLY : SGA_MSG_NEG_RESULT;
	uint64_t sid = fuzz_u64(in);
	uint8_t role = fuzz_u8(in), key[SGA_AEAD_MAX_KEY_LEN];
	size_t plen;
	const uint8_t *p = fuzz_bytes(in, in->left, &plen);
	int rc;

	if (!sid)
		sid = s->session_id ? s->session_id : FUZZ_SID_INVITED;
	if (role > 1)
		role = s->role;
	rc = sga_key_kex(s->k_t, sid, s->hop_suite, key);
	if (!rc)
		rc = sga_seal_sess_env(type, sid, role, s->hop_suite, key, p, plen, st->frame,
		                       sizeof(st->frame), &st->len);
	sga_memzero(key, sizeof(key));
	return rc;
}

/* The gateway seals down under an epoch: the device's adopted one, or epoch 1
 * with its key derived from the hop-down base (what a first frame brings). */
static int down_key(const struct sga_dev_sess *s, uint64_t *epoch, uint8_t *key)
{
	if (s->hop_epoch) {
		*epoch = s->hop_epoch;
		memcpy(key, s->hop_down, SGA_AEAD_MAX_KEY_LEN);
		return 0;
	}
	*epoch = 1;
	return sga_key_hop_epoch(s->hop_down_base, 1, s->hop_suite, key);
}

static int build_hop(struct fuzz_in *in, struct step *st)
{
	static const uint8_t types[] = {SGA_MSG_DATA_DOWN, SGA_MSG_DATA_ACK, SGA_MSG_DATA_SKIP};
	const struct sga_dev_sess *s = &W.d.sess[st->k][2];
	uint8_t type = types[fuzz_u8(in) % 3];
	uint64_t seq = fuzz_u64(in);
	size_t plen;
	const uint8_t *p = fuzz_bytes(in, in->left, &plen);

	uint8_t key[SGA_AEAD_MAX_KEY_LEN];
	uint64_t epoch;
	int rc = down_key(s, &epoch, key);

	st->slot = 2;
	if (!rc)
		rc = sga_seal_hop(type, s->session_id, s->role, epoch, seq, s->hop_suite, key, p,
		                  plen, st->frame, sizeof(st->frame), &st->len);
	sga_memzero(key, sizeof(key));
	return rc;
}

static int build_data(struct fuzz_in *in, struct step *st)
{
	const struct sga_dev_sess *s = &W.d.sess[st->k][2];
	const struct sga_suite_info *e2e = sga_suite_get(s->suite);
	/* The peer's direction: what this device receives. */
	uint8_t dir = s->role == SGA_ROLE_INITIATOR ? SGA_E2E_J_TO_I : SGA_E2E_I_TO_J;
	uint8_t inner[SGA_FRAME_MAX], nonce[12], aad[27], *e2e_ct;
	uint64_t seq = fuzz_u64(in), e2e_seq = fuzz_u64(in);
	size_t mlen, inner_len;
	const uint8_t *m = fuzz_bytes(in, in->left, &mlen);
	int rc;

	st->slot = 2;
	if (mlen > sga_dev_data_max(s))
		mlen = sga_dev_data_max(s);
	rc = sga_data_inner_encode(e2e_seq, mlen + e2e->tag_len, inner, sizeof(inner), &e2e_ct,
	                           &inner_len);
	if (rc)
		return rc;
	e2e_nonce_aad(s->session_id, dir, e2e_seq, nonce, aad);
	rc = sga_err_from_crypto(sga_aead_seal(s->suite, s->e2e_rx_key, nonce, aad, sizeof(aad), m,
	                                       mlen, e2e_ct, mlen + e2e->tag_len));
	if (!rc) {
		uint8_t key[SGA_AEAD_MAX_KEY_LEN];
		uint64_t epoch;

		rc = down_key(s, &epoch, key);
		if (!rc)
			rc = sga_seal_hop(SGA_MSG_DATA_DOWN, s->session_id, s->role, epoch, seq,
			                  s->hop_suite, key, inner, inner_len, st->frame,
			                  sizeof(st->frame), &st->len);
		sga_memzero(key, sizeof(key));
	}
	if (!rc) {
		memcpy(st->msg, m, mlen);
		st->msg_len = mlen;
		st->have_msg = 1;
	}
	return rc;
}

static int build_reply(struct fuzz_in *in, struct step *st)
{
	const struct sga_dev *d = &W.d.dev[st->k];
	const struct sga_dev_sess *s = &W.d.sess[st->k][1];
	const struct sga_group_info *grp = d->grp;
	static const uint8_t n_hash[SGA_SHA256_LEN] = {0x4e}; /* the peer's H(N), any */
	uint8_t X[SGA_GROUP_MAX_LEN] = {0}, mac[SGA_MAC_LEN], plain[SGA_GROUP_MAX_LEN + 96];
	struct sga_kex_reply_plain b5;
	size_t xl, plain_len;
	const uint8_t *x = fuzz_bytes(in, grp->len, &xl);
	int rc;

	st->slot = 1;
	memcpy(X + grp->len - xl, x, xl);
	rc = sga_kex_reply_mac(grp, s->K, s->session_id, d->id, d->id_len, s->peer_id,
	                       s->peer_id_len, X, n_hash, mac);
	b5.x_len = (uint16_t)grp->len;
	b5.x = X;
	b5.n_hash_peer = n_hash;
	b5.mac = mac;
	if (!rc)
		rc = sga_kex_reply_plain_encode(&b5, plain, sizeof(plain), &plain_len);
	if (!rc)
		rc = sga_seal_sess_env(SGA_MSG_KEX_REPLY, s->session_id, s->role, s->hop_suite,
		                       s->kex_key, plain, plain_len, st->frame, sizeof(st->frame),
		                       &st->len);
	return rc;
}

/* Deliver the frame as the SDK would: by type, to the step's device and slot. */
static int consume(struct step *st, uint8_t *type)
{
	struct sga_dev *d = &D.dev[st->k];
	struct sga_dev_sess *s = &D.sess[st->k][st->slot];
	uint8_t msg[SGA_FRAME_MAX];
	struct sga_data_ack_plain ack;
	uint64_t sid, next;
	size_t mlen = 0;
	int rc = sga_dev_peek(st->frame, st->len, type, &sid);

	if (rc)
		return rc;
	switch (*type) {
	case SGA_MSG_REG_ACK:
		return sga_dev_consume_reg_ack(d, st->frame, st->len);
	case SGA_MSG_NEG_INVITE:
		rc = sga_dev_consume_neg_invite(d, s, st->frame, st->len);
		if (!rc)
			FUZZ_CHECK(s->state == SGA_DEV_S_INVITED && s->session_id);
		return rc;
	case SGA_MSG_NEG_RESULT:
		rc = sga_dev_consume_neg_result(d, s, st->frame, st->len);
		if (!rc)
			FUZZ_CHECK(s->state == SGA_DEV_S_KEX && s->session_id == sid);
		return rc;
	case SGA_MSG_KEX_REPLY:
		rc = sga_dev_consume_kex_reply(d, s, st->frame, st->len);
		if (!rc)
			FUZZ_CHECK(s->state == SGA_DEV_S_ESTABLISHED);
		return rc;
	case SGA_MSG_DATA_DOWN:
		rc = sga_dev_data_open(s, st->frame, st->len, msg, sizeof(msg), &mlen);
		if (!rc && st->have_msg)
			FUZZ_CHECK(mlen == st->msg_len && !memcmp(msg, st->msg, mlen));
		return rc;
	case SGA_MSG_DATA_ACK:
		rc = sga_dev_ack_open(s, st->frame, st->len, &ack);
		if (!rc)
			FUZZ_CHECK((ack.bits & 1) && ack.top >= 1);
		return rc;
	case SGA_MSG_DATA_SKIP:
		return sga_dev_skip_open(s, st->frame, st->len, &next);
	default:
		return -SGA_E_BAD_TYPE; /* not a gateway -> device message */
	}
}

/* Is the change from before to D one of the documented exceptions? */
static int allowed_change(const struct fuzz_dev_state *before, const struct step *st, uint8_t type,
                          int rc)
{
	static struct fuzz_dev_state want;

	memcpy(&want, before, sizeof(want));
	if (type == SGA_MSG_NEG_RESULT && rc < 0 && -rc < SGA_E__COUNT)
		want.sess[st->k][st->slot].state = SGA_DEV_S_FAILED;
	else if (type == SGA_MSG_DATA_DOWN && rc == -SGA_E_REPLAY) {
		/* An authentic hop frame around a duplicate message: its hop seq is
		 * spent, and if it came under a new epoch (PROTOCOL.md 9.3) that
		 * epoch is adopted with it, its key and a fresh window. */
		struct sga_dev_sess *w = &want.sess[st->k][st->slot];
		const struct sga_dev_sess *d = &D.sess[st->k][st->slot];

		memcpy(&w->hop_rx_win, &d->hop_rx_win, sizeof(struct sga_replay));
		if (d->hop_epoch != w->hop_epoch) {
			w->hop_epoch = d->hop_epoch;
			memcpy(w->hop_down, d->hop_down, sizeof(w->hop_down));
		}
	} else
		return 0;
	return memcmp(&want, &D, sizeof(D)) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_dev_state before;
	static struct step st;
	struct fuzz_in in = {data, size};

	memcpy(&D, &W.d, sizeof(D));
	for (unsigned n = 0; n < MAX_STEPS && in.left; n++) {
		uint8_t kind = fuzz_u8(&in) % K__COUNT, target, type = 0;
		size_t len;
		const uint8_t *chunk = fuzz_chunk(&in, &len);
		struct fuzz_in sub = {chunk, len};
		int rc = 0;

		target = fuzz_u8(&sub);
		st.k = target & 1;
		st.slot = (target >> 1) % FUZZ_N_SESS;
		st.have_msg = 0;
		st.len = 0;
		switch (kind) {
		case K_RAW: {
			const uint8_t *p = fuzz_bytes(&sub, sizeof(st.frame), &st.len);

			memcpy(st.frame, p, st.len);
			break;
		}
		case K_DEV:
			rc = build_dev(&sub, &st);
			break;
		case K_SESS:
			rc = build_sess(&sub, &st);
			break;
		case K_HOP:
			rc = build_hop(&sub, &st);
			break;
		case K_DATA:
			rc = build_data(&sub, &st);
			break;
		case K_REPLY:
			rc = build_reply(&sub, &st);
			break;
		}
		if (rc)
			continue;
		memcpy(&before, &D, sizeof(D));
		rc = consume(&st, &type);
		fuzz_trace(n, kind, type, rc);
		FUZZ_CHECK(rc <= 0);
		if (rc && memcmp(&before, &D, sizeof(D)))
			FUZZ_CHECK(allowed_change(&before, &st, type, rc));
	}
	return 0;
}
