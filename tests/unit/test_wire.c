/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_wire.c - Criterion tests for the wire codec (protocol/sga_wire.c).
 *
 * Known-answer byte layouts, round trips for every message and payload, every
 * malformation with its exact error code (all truncations, trailing bytes,
 * version, type, oversize, each length field and each value rule), encoder
 * refusals and small buffers, and a deterministic xorshift mutation loop over
 * valid inputs of every kind. Decoders are fed exact-size heap copies so the
 * sanitizer build catches any read past the end.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sga_cursor.h"
#include "sga_wire.h"

#define RC_EQ(expr, want)                                                             \
	do {                                                                          \
		int rc_ = (expr);                                                     \
		int want_ = (want);                                                   \
		cr_assert_eq(rc_, want_, "%s: got %d (%s), want %d (%s)", #expr, rc_, \
		             sga_err_name(rc_), want_, sga_err_name(want_));          \
	} while (0)

#define E(x) (-SGA_E_##x)

static const uint8_t NONCE[SGA_AEAD_NONCE_LEN] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5,
                                                  0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab};
static const uint8_t DEV_ID[] = "dev-01";
#define DEV_ID_LEN 6

/* ---- helpers ---------------------------------------------------------------- */

static int all_bytes(const void *p, size_t n, uint8_t v)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != v)
			return 0;
	return 1;
}

/* Decoders only ever return one of these. */
static int decoder_code_ok(int rc)
{
	return rc == 0 || rc == E(TRUNCATED) || rc == E(OVERSIZED) || rc == E(BAD_VERSION) ||
	       rc == E(BAD_TYPE) || rc == E(BAD_LENGTH) || rc == E(TRAILING) || rc == E(BAD_FIELD);
}

/* Run chk on an exact-size heap copy of p[0..n) so ASan sees any overread. */
typedef int (*chk_fn)(const uint8_t *p, size_t len);

static int run_exact(chk_fn chk, const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);
	int rc;

	cr_assert_not_null(c);
	if (n)
		memcpy(c, p, n);
	rc = chk(c, n);
	free(c);
	return rc;
}

/*
 * Checkers: decode, and on success assert the decoded struct re-encodes to the
 * very same bytes (the format is canonical) and pointers lie inside the input;
 * on failure assert the struct was wiped.
 */
static int chk_dev(const uint8_t *f, size_t len)
{
	struct sga_env_dev e;
	uint8_t out[SGA_FRAME_MAX];
	uint8_t *ct;
	size_t aad_len;
	int rc = sga_env_dev_decode(f, len, &e);

	if (rc) {
		cr_assert(all_bytes(&e, sizeof(e), 0));
		return rc;
	}
	cr_assert(e.aad == f && e.ct == f + e.aad_len && e.aad_len + e.ct_len == len);
	cr_assert_geq(e.ct_len, SGA_CT_MIN);
	RC_EQ(sga_env_dev_encode(e.type, e.id, e.id_len, e.ctr, e.nonce, e.ct_len, out, sizeof(out),
	                         &ct, &aad_len),
	      0);
	cr_assert_eq(aad_len, e.aad_len);
	cr_assert(ct == out + aad_len);
	cr_assert(memcmp(out, f, aad_len) == 0);
	return 0;
}

static int chk_sess(const uint8_t *f, size_t len)
{
	struct sga_env_sess e;
	uint8_t out[SGA_FRAME_MAX];
	uint8_t *ct;
	size_t aad_len;
	int rc = sga_env_sess_decode(f, len, &e);

	if (rc) {
		cr_assert(all_bytes(&e, sizeof(e), 0));
		return rc;
	}
	cr_assert(e.aad == f && e.ct == f + e.aad_len && e.aad_len + e.ct_len == len);
	RC_EQ(sga_env_sess_encode(e.type, e.session_id, e.role, e.nonce, e.ct_len, out, sizeof(out),
	                          &ct, &aad_len),
	      0);
	cr_assert_eq(aad_len, e.aad_len);
	cr_assert(ct == out + aad_len);
	cr_assert(memcmp(out, f, aad_len) == 0);
	return 0;
}

static int chk_hop(const uint8_t *f, size_t len)
{
	struct sga_env_hop e;
	uint8_t out[SGA_FRAME_MAX];
	uint8_t *ct;
	size_t aad_len;
	int rc = sga_env_hop_decode(f, len, &e);

	if (rc) {
		cr_assert(all_bytes(&e, sizeof(e), 0));
		return rc;
	}
	cr_assert(e.aad == f && e.ct == f + e.aad_len && e.aad_len + e.ct_len == len);
	RC_EQ(sga_env_hop_encode(e.type, e.session_id, e.role, e.epoch, e.seq, e.ct_len, out,
	                         sizeof(out), &ct, &aad_len),
	      0);
	cr_assert_eq(aad_len, e.aad_len);
	cr_assert(ct == out + aad_len);
	cr_assert(memcmp(out, f, aad_len) == 0);
	return 0;
}

static int chk_reg_req(const uint8_t *f, size_t len)
{
	struct sga_reg_req q;
	uint8_t out[SGA_FRAME_MAX];
	uint8_t *mac_at;
	size_t n;
	int rc = sga_reg_req_decode(f, len, &q);

	if (rc) {
		cr_assert(all_bytes(&q, sizeof(q), 0));
		return rc;
	}
	/* The group byte follows the flags only with the GROUP flag. */
	const size_t at = 7 + ((q.flags & SGA_REG_FLAG_GROUP) ? 1 : 0);

	cr_assert(q.mac_input == f && q.mac_input_len == at + q.ct_len);
	cr_assert(q.ct == f + at);
	cr_assert((q.flags & SGA_REG_FLAG_GROUP) ? q.group == f[5] && q.group != SGA_GROUP_FFDHE2048
	                                         : q.group == SGA_GROUP_FFDHE2048);
	RC_EQ(sga_reg_req_encode(q.flags & SGA_REG_FLAG_REKEY, q.group, q.ct, q.ct_len, out,
	                         sizeof(out), &mac_at, &n),
	      0);
	cr_assert_eq(n, len);
	if (q.flags & SGA_REG_FLAG_REKEY) {
		cr_assert(q.mac == f + q.mac_input_len);
		cr_assert(mac_at == out + q.mac_input_len);
		memcpy(mac_at, q.mac, SGA_MAC_LEN);
	} else {
		cr_assert_null(q.mac);
		cr_assert_null(mac_at);
	}
	cr_assert(memcmp(out, f, len) == 0);
	return 0;
}

static int chk_error(const uint8_t *f, size_t len)
{
	struct sga_error_msg m;
	uint8_t out[SGA_FRAME_MAX];
	size_t n;
	int rc = sga_error_decode(f, len, &m);

	if (rc) {
		cr_assert(all_bytes(&m, sizeof(m), 0));
		return rc;
	}
	RC_EQ(sga_error_encode(m.code, m.ref, m.ref_len, out, sizeof(out), &n), 0);
	cr_assert(n == len && memcmp(out, f, len) == 0);
	return 0;
}

static int chk_pkg_req(const uint8_t *f, size_t len)
{
	uint8_t out[SGA_PKG_REQ_LEN], group = 0xee;
	size_t n;
	int rc = sga_pkg_req_decode(f, len, &group);

	if (rc) {
		cr_assert_eq(group, 0);
		return rc;
	}
	RC_EQ(sga_pkg_req_encode(group, out, sizeof(out), &n), 0);
	cr_assert(n == len && memcmp(out, f, len) == 0);
	return 0;
}

static struct sga_package g_pkg; /* large: keep off the stack */

static int chk_pkg(const uint8_t *f, size_t len)
{
	static uint8_t out[SGA_FRAME_MAX];
	size_t n;
	int rc = sga_pkg_decode(f, len, &g_pkg);

	if (rc) {
		cr_assert(all_bytes(&g_pkg, sizeof(g_pkg), 0));
		return rc;
	}
	RC_EQ(sga_pkg_encode(&g_pkg, out, sizeof(out), &n), 0);
	cr_assert(n == len && memcmp(out, f, len) == 0);
	return 0;
}

static int chk_package(const uint8_t *p, size_t len)
{
	static uint8_t out[SGA_FRAME_MAX];
	size_t n;
	int rc = sga_package_decode(p, len, &g_pkg);

	if (rc) {
		cr_assert(all_bytes(&g_pkg, sizeof(g_pkg), 0));
		return rc;
	}
	RC_EQ(sga_package_encode(&g_pkg, out, sizeof(out), &n), 0);
	cr_assert(n == len && memcmp(out, p, len) == 0);
	return 0;
}

/* Payload checkers: same pattern, generated per type. */
#define PAYLOAD_CHK(name, type)                                          \
	static int chk_##name(const uint8_t *p, size_t len)              \
	{                                                                \
		type m;                                                  \
		uint8_t out[2048];                                       \
		size_t n;                                                \
		int rc = sga_##name##_decode(p, len, &m);                \
		if (rc) {                                                \
			cr_assert(all_bytes(&m, sizeof(m), 0));          \
			return rc;                                       \
		}                                                        \
		RC_EQ(sga_##name##_encode(&m, out, sizeof(out), &n), 0); \
		cr_assert(n == len && memcmp(out, p, len) == 0);         \
		return 0;                                                \
	}

PAYLOAD_CHK(reg_plain, struct sga_reg_plain)
PAYLOAD_CHK(reg_ack_plain, struct sga_reg_ack_plain)
PAYLOAD_CHK(neg_req_plain, struct sga_neg_req_plain)
PAYLOAD_CHK(neg_invite_plain, struct sga_neg_invite_plain)
PAYLOAD_CHK(neg_accept_plain, struct sga_neg_accept_plain)
PAYLOAD_CHK(neg_result_plain, struct sga_neg_result_plain)
PAYLOAD_CHK(kex_init_plain, struct sga_kex_init_plain)
PAYLOAD_CHK(kex_reply_plain, struct sga_kex_reply_plain)
PAYLOAD_CHK(data_ack_plain, struct sga_data_ack_plain)

static int chk_data_inner(const uint8_t *p, size_t len)
{
	struct sga_data_inner m;
	uint8_t out[2048];
	uint8_t *ct;
	size_t n;
	int rc = sga_data_inner_decode(p, len, &m);

	if (rc) {
		cr_assert(all_bytes(&m, sizeof(m), 0));
		return rc;
	}
	cr_assert(m.e2e_ct == p + 8 && m.e2e_ct_len == len - 8);
	RC_EQ(sga_data_inner_encode(m.e2e_seq, m.e2e_ct_len, out, sizeof(out), &ct, &n), 0);
	cr_assert(n == len && ct == out + 8 && memcmp(out, p, 8) == 0);
	return 0;
}

/* ---- sample inputs ---------------------------------------------------------- */

enum { D_DEV, D_SESS, D_HOP, D_REG_REQ, D_ERROR, D_PKG_REQ, D_PKG, D__N };

static const chk_fn frame_chk[D__N] = {chk_dev,   chk_sess,    chk_hop, chk_reg_req,
                                       chk_error, chk_pkg_req, chk_pkg};

static int decoder_for(uint8_t type)
{
	switch (type) {
	case SGA_MSG_REG_ACK:
	case SGA_MSG_NEG_REQ:
	case SGA_MSG_NEG_INVITE:
	case SGA_MSG_NEG_ACCEPT:
	case SGA_MSG_WAKE:
	case SGA_MSG_WAKE_ACK:
		return D_DEV;
	case SGA_MSG_NEG_RESULT:
	case SGA_MSG_KEX_INIT:
	case SGA_MSG_KEX_REPLY:
	case SGA_MSG_SESSION_CLOSE:
	case SGA_MSG_SESSION_CLOSED:
	case SGA_MSG_REKEY_INIT:
	case SGA_MSG_REKEY_NOTICE:
	case SGA_MSG_REKEY_REPLY:
		return D_SESS;
	case SGA_MSG_DATA_UP:
	case SGA_MSG_DATA_DOWN:
	case SGA_MSG_DATA_ACK:
	case SGA_MSG_DATA_DELIVERED:
	case SGA_MSG_DATA_SKIP:
		return D_HOP;
	case SGA_MSG_REG_REQ:
		return D_REG_REQ;
	case SGA_MSG_ERROR:
		return D_ERROR;
	case SGA_MSG_PKG_REQ:
		return D_PKG_REQ;
	case SGA_MSG_PKG:
		return D_PKG;
	default:
		return -1;
	}
}

static const uint8_t KNOWN_TYPES[] = {
    SGA_MSG_REG_REQ,      SGA_MSG_REG_ACK,        SGA_MSG_PKG_REQ,       SGA_MSG_PKG,
    SGA_MSG_NEG_REQ,      SGA_MSG_NEG_INVITE,     SGA_MSG_NEG_ACCEPT,    SGA_MSG_NEG_RESULT,
    SGA_MSG_KEX_INIT,     SGA_MSG_KEX_REPLY,      SGA_MSG_DATA_UP,       SGA_MSG_DATA_DOWN,
    SGA_MSG_DATA_ACK,     SGA_MSG_DATA_DELIVERED, SGA_MSG_DATA_SKIP,     SGA_MSG_ERROR,
    SGA_MSG_COOKIE_REPLY, SGA_MSG_COOKIE_ECHO,    SGA_MSG_SESSION_CLOSE, SGA_MSG_SESSION_CLOSED,
    SGA_MSG_REKEY_INIT,   SGA_MSG_REKEY_NOTICE,   SGA_MSG_REKEY_REPLY,   SGA_MSG_WAKE,
    SGA_MSG_WAKE_ACK,
};
#define N_KNOWN (sizeof(KNOWN_TYPES) / sizeof(KNOWN_TYPES[0]))

struct sample {
	const char *name;
	uint8_t b[SGA_FRAME_MAX];
	size_t len;
	chk_fn chk;
	int var_tail; /* the last field has no length: a longer/shorter tail can be valid */
};

#define MAX_SAMPLES 32
static struct sample frames[MAX_SAMPLES], payloads[MAX_SAMPLES];
static size_t n_frames, n_payloads;

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + 7 * i);
}

static struct sample *add(struct sample *arr, size_t *n, const char *name, chk_fn chk, int var_tail)
{
	struct sample *s;

	cr_assert_lt(*n, MAX_SAMPLES);
	s = &arr[(*n)++];
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->chk = chk;
	s->var_tail = var_tail;
	return s;
}

static void valid_package(struct sga_package *p, uint16_t pk_len, uint16_t tpk_len)
{
	memset(p, 0, sizeof(*p));
	p->id_len = 10;
	memcpy(p->id, "gateway-01", 10);
	p->group = SGA_GROUP_FFDHE2048;
	p->n_suites = 3;
	p->suites[0] = SGA_SUITE_CHACHA20_POLY1305;
	p->suites[1] = SGA_SUITE_AES128_GCM;
	p->suites[2] = SGA_SUITE_AES128_CCM8;
	p->pk_len = pk_len;
	fill(p->pk_der, pk_len, 0x30);
	p->tpk_len = tpk_len;
	fill(p->tpk_der, tpk_len, 0x31);
}

static void valid_reg_plain(struct sga_reg_plain *m)
{
	memset(m, 0, sizeof(*m));
	fill(m->k_d, SGA_KEY_LEN, 1);
	m->suite_init = SGA_SUITE_AES256_GCM;
	m->n_suites = 2;
	m->suites[0] = SGA_SUITE_AES128_GCM;
	m->suites[1] = SGA_SUITE_AES256_GCM;
	fill(m->reg_nonce, SGA_NONCE_LEN, 0x40);
	m->id_len = DEV_ID_LEN;
	memcpy(m->id, DEV_ID, DEV_ID_LEN);
	m->token_len = 5;
	memcpy(m->token, "t0k3n", 5);
	m->ctr = 0x0102030405060708ULL;
}

static void valid_neg_req(struct sga_neg_req_plain *m)
{
	memset(m, 0, sizeof(*m));
	m->peer_id_len = 6;
	memcpy(m->peer_id, "dev-02", 6);
	m->n_pref = 2;
	m->prefs[0] = SGA_SUITE_CHACHA20_POLY1305;
	m->prefs[1] = SGA_SUITE_AES128_GCM;
	fill(m->k_t, SGA_KEY_LEN, 0x77);
}

static void valid_neg_invite(struct sga_neg_invite_plain *m)
{
	memset(m, 0, sizeof(*m));
	m->session_id = 0x1122334455667788ULL;
	m->suite = SGA_SUITE_AES128_CCM8;
	m->group = SGA_GROUP_FFDHE3072;
	m->peer_id_len = DEV_ID_LEN;
	memcpy(m->peer_id, DEV_ID, DEV_ID_LEN);
	m->n_pref = 2;
	m->prefs[0] = SGA_SUITE_AES128_CCM8;
	m->prefs[1] = SGA_SUITE_AES128_GCM;
}

static void valid_neg_accept(struct sga_neg_accept_plain *m)
{
	memset(m, 0, sizeof(*m));
	m->session_id = 42;
	m->accept = 1;
	fill(m->k_t, SGA_KEY_LEN, 0x99);
}

static void valid_neg_result(struct sga_neg_result_plain *m)
{
	memset(m, 0, sizeof(*m));
	m->req_ctr = 77;
	m->status = 0;
	m->suite = SGA_SUITE_AES256_GCM;
	m->group = SGA_GROUP_FFDHE2048;
	m->peer_id_len = 6;
	memcpy(m->peer_id, "dev-02", 6);
}

static uint8_t kex_n[SGA_GROUP_MAX_LEN], kex_proof[SGA_PROOF_MAX], kex_f[SGA_RSA_MAX_LEN],
    kex_mac[SGA_MAC_LEN], kex_n_hash[SGA_SHA256_LEN];

static void valid_kex_init(struct sga_kex_init_plain *m, uint16_t n_len, uint8_t proof_len,
                           uint16_t f_len)
{
	fill(kex_n, sizeof(kex_n), 0x10);
	fill(kex_proof, sizeof(kex_proof), 0x20);
	fill(kex_f, sizeof(kex_f), 0x30);
	fill(kex_mac, sizeof(kex_mac), 0x40);
	m->n_len = n_len;
	m->n = kex_n;
	m->proof_len = proof_len;
	m->proof = kex_proof;
	m->f_len = f_len;
	m->f = kex_f;
	m->mac = kex_mac;
}

static void valid_kex_reply(struct sga_kex_reply_plain *m, uint16_t x_len)
{
	fill(kex_n, sizeof(kex_n), 0x50);
	fill(kex_mac, sizeof(kex_mac), 0x60);
	fill(kex_n_hash, sizeof(kex_n_hash), 0x70);
	m->x_len = x_len;
	m->x = kex_n;
	m->n_hash_peer = kex_n_hash;
	m->mac = kex_mac;
}

static void add_dev(uint8_t type, const char *name)
{
	struct sample *s = add(frames, &n_frames, name, chk_dev, 1);
	uint8_t *ct;
	size_t aad;

	RC_EQ(sga_env_dev_encode(type, DEV_ID, DEV_ID_LEN, 0x0102030405060708ULL, NONCE, SGA_CT_MIN,
	                         s->b, sizeof(s->b), &ct, &aad),
	      0);
	fill(ct, SGA_CT_MIN, 0xc0);
	s->len = aad + SGA_CT_MIN;
}

static void add_sess(uint8_t type, uint64_t sid, const char *name)
{
	struct sample *s = add(frames, &n_frames, name, chk_sess, 1);
	uint8_t *ct;
	size_t aad;

	RC_EQ(sga_env_sess_encode(type, sid, SGA_ROLE_RESPONDER, NONCE, SGA_CT_MIN, s->b,
	                          sizeof(s->b), &ct, &aad),
	      0);
	fill(ct, SGA_CT_MIN, 0xc1);
	s->len = aad + SGA_CT_MIN;
}

static void add_hop(uint8_t type, const char *name)
{
	struct sample *s = add(frames, &n_frames, name, chk_hop, 1);
	uint8_t *ct;
	size_t aad;

	RC_EQ(sga_env_hop_encode(type, 0xfedcba9876543210ULL, SGA_ROLE_INITIATOR, 0x77, 5,
	                         SGA_CT_MIN, s->b, sizeof(s->b), &ct, &aad),
	      0);
	fill(ct, SGA_CT_MIN, 0xc2);
	s->len = aad + SGA_CT_MIN;
}

static void samples_init(void)
{
	struct sample *s;
	uint8_t rsa[SGA_RSA_MAX_LEN];
	uint8_t *p;
	struct sga_reg_plain rp;
	struct sga_reg_ack_plain ra;
	struct sga_data_ack_plain da;
	struct sga_neg_req_plain nq;
	struct sga_neg_invite_plain ni;
	struct sga_neg_accept_plain na;
	struct sga_neg_result_plain nr;
	struct sga_kex_init_plain ki;
	struct sga_kex_reply_plain kr;

	n_frames = n_payloads = 0;
	fill(rsa, sizeof(rsa), 0x5a);

	add_dev(SGA_MSG_REG_ACK, "REG_ACK");
	add_dev(SGA_MSG_NEG_REQ, "NEG_REQ");
	add_dev(SGA_MSG_NEG_INVITE, "NEG_INVITE");
	add_dev(SGA_MSG_NEG_ACCEPT, "NEG_ACCEPT");
	add_sess(SGA_MSG_NEG_RESULT, 0, "NEG_RESULT(sid 0)");
	add_sess(SGA_MSG_NEG_RESULT, 9, "NEG_RESULT");
	add_sess(SGA_MSG_KEX_INIT, 9, "KEX_INIT");
	add_sess(SGA_MSG_KEX_REPLY, 9, "KEX_REPLY");
	add_hop(SGA_MSG_DATA_UP, "DATA_UP");
	add_hop(SGA_MSG_DATA_DOWN, "DATA_DOWN");
	add_hop(SGA_MSG_DATA_ACK, "DATA_ACK");
	add_hop(SGA_MSG_DATA_DELIVERED, "DATA_DELIVERED");

	s = add(frames, &n_frames, "REG_REQ", chk_reg_req, 0);
	RC_EQ(sga_reg_req_encode(0, SGA_GROUP_FFDHE2048, rsa, 40, s->b, sizeof(s->b), &p, &s->len),
	      0);
	s = add(frames, &n_frames, "REG_REQ(rekey)", chk_reg_req, 0);
	RC_EQ(sga_reg_req_encode(SGA_REG_FLAG_REKEY, SGA_GROUP_FFDHE2048, rsa, 40, s->b,
	                         sizeof(s->b), &p, &s->len),
	      0);
	fill(p, SGA_MAC_LEN, 0xee);
	s = add(frames, &n_frames, "ERROR", chk_error, 0);
	RC_EQ(
	    sga_error_encode(SGA_E_UNKNOWN_DEVICE, DEV_ID, DEV_ID_LEN, s->b, sizeof(s->b), &s->len),
	    0);
	s = add(frames, &n_frames, "ERROR(no ref)", chk_error, 0);
	RC_EQ(sga_error_encode(SGA_E_REPLAY, NULL, 0, s->b, sizeof(s->b), &s->len), 0);
	s = add(frames, &n_frames, "PKG_REQ", chk_pkg_req, 0);
	RC_EQ(sga_pkg_req_encode(0, s->b, sizeof(s->b), &s->len), 0);
	s = add(frames, &n_frames, "PKG", chk_pkg, 0);
	valid_package(&g_pkg, 30, 20);
	RC_EQ(sga_pkg_encode(&g_pkg, s->b, sizeof(s->b), &s->len), 0);

	s = add(payloads, &n_payloads, "package", chk_package, 0);
	RC_EQ(sga_package_encode(&g_pkg, s->b, sizeof(s->b), &s->len), 0);
	s = add(payloads, &n_payloads, "reg_plain", chk_reg_plain, 0);
	valid_reg_plain(&rp);
	RC_EQ(sga_reg_plain_encode(&rp, s->b, sizeof(s->b), &s->len), 0);
	s = add(payloads, &n_payloads, "reg_plain(no token)", chk_reg_plain, 0);
	rp.token_len = 0;
	RC_EQ(sga_reg_plain_encode(&rp, s->b, sizeof(s->b), &s->len), 0);
	s = add(payloads, &n_payloads, "reg_ack_plain", chk_reg_ack_plain, 0);
	fill(ra.reg_nonce, SGA_NONCE_LEN, 3);
	RC_EQ(sga_reg_ack_plain_encode(&ra, s->b, sizeof(s->b), &s->len), 0);
	s = add(payloads, &n_payloads, "data_ack_plain", chk_data_ack_plain, 0);
	da = (struct sga_data_ack_plain){.top = 0x0102030405060708ULL,
	                                 .bits = 0x8000000000000ff1ULL};
	RC_EQ(sga_data_ack_plain_encode(&da, s->b, sizeof(s->b), &s->len), 0);
	s = add(payloads, &n_payloads, "neg_req_plain", chk_neg_req_plain, 0);
	valid_neg_req(&nq);
	RC_EQ(sga_neg_req_plain_encode(&nq, s->b, sizeof(s->b), &s->len), 0);
	s = add(payloads, &n_payloads, "neg_invite_plain", chk_neg_invite_plain, 0);
	valid_neg_invite(&ni);
	RC_EQ(sga_neg_invite_plain_encode(&ni, s->b, sizeof(s->b), &s->len), 0);
	s = add(payloads, &n_payloads, "neg_accept_plain", chk_neg_accept_plain, 0);
	valid_neg_accept(&na);
	RC_EQ(sga_neg_accept_plain_encode(&na, s->b, sizeof(s->b), &s->len), 0);
	s = add(payloads, &n_payloads, "neg_accept_plain(decline)", chk_neg_accept_plain, 0);
	na.accept = 0;
	memset(na.k_t, 0, SGA_KEY_LEN);
	RC_EQ(sga_neg_accept_plain_encode(&na, s->b, sizeof(s->b), &s->len), 0);
	s = add(payloads, &n_payloads, "neg_result_plain", chk_neg_result_plain, 0);
	valid_neg_result(&nr);
	RC_EQ(sga_neg_result_plain_encode(&nr, s->b, sizeof(s->b), &s->len), 0);
	s = add(payloads, &n_payloads, "neg_result_plain(fail)", chk_neg_result_plain, 0);
	nr.status = SGA_E_NO_COMMON_SUITE;
	nr.suite = nr.group = 0;
	RC_EQ(sga_neg_result_plain_encode(&nr, s->b, sizeof(s->b), &s->len), 0);
	s = add(payloads, &n_payloads, "kex_init_plain", chk_kex_init_plain, 0);
	valid_kex_init(&ki, 24, 20, 16);
	RC_EQ(sga_kex_init_plain_encode(&ki, s->b, sizeof(s->b), &s->len), 0);
	s = add(payloads, &n_payloads, "kex_reply_plain", chk_kex_reply_plain, 0);
	valid_kex_reply(&kr, 24);
	RC_EQ(sga_kex_reply_plain_encode(&kr, s->b, sizeof(s->b), &s->len), 0);
	s = add(payloads, &n_payloads, "data_inner", chk_data_inner, 1);
	RC_EQ(sga_data_inner_encode(99, SGA_CT_MIN, s->b, sizeof(s->b), &p, &s->len), 0);
	fill(p, SGA_CT_MIN, 0xd0);

	for (size_t i = 0; i < n_frames; i++)
		RC_EQ(run_exact(frames[i].chk, frames[i].b, frames[i].len), 0);
	for (size_t i = 0; i < n_payloads; i++)
		RC_EQ(run_exact(payloads[i].chk, payloads[i].b, payloads[i].len), 0);
}

/* Copy s, set byte off to v, run its checker; expect code. */
static void expect_byte(const struct sample *s, size_t off, uint8_t v, int code)
{
	uint8_t b[SGA_FRAME_MAX];

	cr_assert_lt(off, s->len);
	memcpy(b, s->b, s->len);
	b[off] = v;
	int rc = run_exact(s->chk, b, s->len);
	cr_assert_eq(rc, code, "%s: byte %zu = 0x%02x: got %s, want %s", s->name, off, v,
	             sga_err_name(rc), sga_err_name(code));
}

static void expect_u16(const struct sample *s, size_t off, uint16_t v, int code)
{
	uint8_t b[SGA_FRAME_MAX];

	memcpy(b, s->b, s->len);
	sga_put_u16(b + off, v);
	int rc = run_exact(s->chk, b, s->len);
	cr_assert_eq(rc, code, "%s: u16 at %zu = %u: got %s, want %s", s->name, off, v,
	             sga_err_name(rc), sga_err_name(code));
}

static void expect_u64(const struct sample *s, size_t off, uint64_t v, int code)
{
	uint8_t b[SGA_FRAME_MAX];

	memcpy(b, s->b, s->len);
	sga_put_u64(b + off, v);
	RC_EQ(run_exact(s->chk, b, s->len), code);
}

static const struct sample *find(const struct sample *arr, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(arr[i].name, name) == 0)
			return &arr[i];
	cr_assert_fail("no sample %s", name);
	return NULL;
}

#define FRAME(name)   find(frames, n_frames, name)
#define PAYLOAD(name) find(payloads, n_payloads, name)

TestSuite(wire, .init = samples_init);
TestSuite(frames, .init = samples_init);
TestSuite(payload, .init = samples_init);
TestSuite(encode, .init = samples_init);
TestSuite(fuzz, .init = samples_init);

/* ---- basics ----------------------------------------------------------------- */

Test(wire, msg_name)
{
	static const char *const names[] = {
	    "REG_REQ",      "REG_ACK",        "PKG_REQ",       "PKG",
	    "NEG_REQ",      "NEG_INVITE",     "NEG_ACCEPT",    "NEG_RESULT",
	    "KEX_INIT",     "KEX_REPLY",      "DATA_UP",       "DATA_DOWN",
	    "DATA_ACK",     "DATA_DELIVERED", "DATA_SKIP",     "ERROR",
	    "COOKIE_REPLY", "COOKIE_ECHO",    "SESSION_CLOSE", "SESSION_CLOSED",
	    "REKEY_INIT",   "REKEY_NOTICE",   "REKEY_REPLY",   "WAKE",
	    "WAKE_ACK"};
	int known = 0;

	for (size_t i = 0; i < N_KNOWN; i++)
		cr_assert_str_eq(sga_msg_name(KNOWN_TYPES[i]), names[i]);
	for (int t = 0; t < 256; t++)
		if (strcmp(sga_msg_name((uint8_t)t), "UNKNOWN") != 0)
			known++;
	cr_assert_eq(known, (int)N_KNOWN);
	cr_assert_str_eq(sga_msg_name(0x00), "UNKNOWN");
	cr_assert_str_eq(sga_msg_name(0xff), "UNKNOWN");
}

Test(wire, hdr_parse_rules)
{
	uint8_t f[SGA_FRAME_MAX + 8] = {0};
	struct sga_hdr h;

	f[0] = 1;
	f[1] = SGA_MSG_DATA_UP;
	sga_put_u16(f + 2, 10);
	RC_EQ(sga_hdr_parse(f, 14, &h), 0);
	cr_assert(h.version == 1 && h.type == SGA_MSG_DATA_UP && h.body_len == 10);
	RC_EQ(sga_hdr_parse(f, 14, NULL), 0);
	for (size_t n = 0; n < 4; n++)
		RC_EQ(sga_hdr_parse(f, n, &h), E(TRUNCATED));
	RC_EQ(sga_hdr_parse(NULL, 0, &h), E(TRUNCATED));
	RC_EQ(sga_hdr_parse(f, 13, &h), E(TRUNCATED));
	RC_EQ(sga_hdr_parse(f, 15, &h), E(TRAILING));
	/* oversized beats everything else in the header */
	sga_put_u16(f + 2, SGA_FRAME_MAX + 1 - 4);
	RC_EQ(sga_hdr_parse(f, SGA_FRAME_MAX + 1, &h), E(OVERSIZED));
	f[0] = 9;
	f[1] = 0x55;
	RC_EQ(sga_hdr_parse(f, SGA_FRAME_MAX + 1, &h), E(OVERSIZED));
	/* version before type before body length */
	sga_put_u16(f + 2, 100);
	RC_EQ(sga_hdr_parse(f, 14, &h), E(BAD_VERSION));
	f[0] = 0;
	RC_EQ(sga_hdr_parse(f, 14, &h), E(BAD_VERSION));
	f[0] = 1;
	RC_EQ(sga_hdr_parse(f, 14, &h), E(BAD_TYPE));
	f[1] = SGA_MSG_ERROR;
	RC_EQ(sga_hdr_parse(f, 14, &h), E(TRUNCATED));
	/* largest frame */
	sga_put_u16(f + 2, SGA_FRAME_MAX - 4);
	RC_EQ(sga_hdr_parse(f, SGA_FRAME_MAX, &h), 0);
	cr_assert_eq(h.body_len, SGA_FRAME_MAX - 4);
	/* body_len 0xffff on a short frame */
	sga_put_u16(f + 2, 0xffff);
	RC_EQ(sga_hdr_parse(f, 4, &h), E(TRUNCATED));
}

Test(wire, hdr_every_type_byte)
{
	uint8_t f[4] = {1, 0, 0, 0};

	for (int t = 0; t < 256; t++) {
		f[1] = (uint8_t)t;
		int known = strcmp(sga_msg_name((uint8_t)t), "UNKNOWN") != 0;
		RC_EQ(sga_hdr_parse(f, 4, NULL), known ? 0 : E(BAD_TYPE));
	}
}

Test(wire, id_valid)
{
	uint8_t id[SGA_ID_MAX + 1];

	memset(id, 'a', sizeof(id));
	cr_assert(sga_id_valid(id, 1));
	cr_assert(sga_id_valid(id, SGA_ID_MAX));
	cr_assert_not(sga_id_valid(id, 0));
	cr_assert_not(sga_id_valid(id, SGA_ID_MAX + 1));
	cr_assert_not(sga_id_valid(NULL, 3));
	for (int c = 0; c < 256; c++) {
		id[2] = (uint8_t)c;
		cr_assert_eq(sga_id_valid(id, 5), c >= 0x21 && c <= 0x7e, "byte 0x%02x", c);
	}
}

Test(wire, suite_list_check)
{
	uint8_t l[SGA_MAX_SUITES + 1] = {1, 2, 3, 4};

	RC_EQ(sga_suite_list_check(l, 1), 0);
	RC_EQ(sga_suite_list_check(l, 4), 0);
	RC_EQ(sga_suite_list_check(l, 0), E(BAD_LENGTH));
	RC_EQ(sga_suite_list_check(l, SGA_MAX_SUITES + 1), E(BAD_LENGTH));
	l[4] = 2; /* duplicate */
	RC_EQ(sga_suite_list_check(l, 5), E(BAD_FIELD));
	l[4] = 0; /* unknown */
	RC_EQ(sga_suite_list_check(l, 5), E(BAD_FIELD));
	l[4] = 6;
	RC_EQ(sga_suite_list_check(l, 5), E(BAD_FIELD));
	l[4] = SGA_SUITE_ASCON_AEAD128;
	RC_EQ(sga_suite_list_check(l, 5), 0);
	for (int s = 0; s < 256; s++) {
		uint8_t one = (uint8_t)s;
		RC_EQ(sga_suite_list_check(&one, 1), sga_suite_get(one) ? 0 : E(BAD_FIELD));
	}
	/* 8 entries can only be valid with 8 distinct known ids: 5 are known here */
	memset(l, 1, sizeof(l));
	RC_EQ(sga_suite_list_check(l, SGA_MAX_SUITES), E(BAD_FIELD));
}

/* ---- known-answer layouts --------------------------------------------------- */

Test(wire, layout_env_dev)
{
	static const uint8_t want[] = {
	    0x01, 0x10, 0x00, 0x1f, 0x02, 'a',  'b',  0x01, 0x02, 0x03, 0x04, 0x05,
	    0x06, 0x07, 0x08, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8,
	    0xa9, 0xaa, 0xab, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
	};
	uint8_t out[64];
	uint8_t *ct;
	size_t aad;
	struct sga_env_dev e;

	RC_EQ(sga_env_dev_encode(SGA_MSG_NEG_REQ, (const uint8_t *)"ab", 2, 0x0102030405060708ULL,
	                         NONCE, 8, out, sizeof(out), &ct, &aad),
	      0);
	cr_assert_eq(aad, 27);
	cr_assert(ct == out + 27);
	for (int i = 0; i < 8; i++)
		ct[i] = (uint8_t)(0xc0 + i);
	cr_assert(memcmp(out, want, sizeof(want)) == 0);
	RC_EQ(sga_env_dev_decode(want, sizeof(want), &e), 0);
	cr_assert(e.type == SGA_MSG_NEG_REQ && e.id_len == 2 && memcmp(e.id, "ab", 2) == 0);
	cr_assert(e.ctr == 0x0102030405060708ULL && memcmp(e.nonce, NONCE, 12) == 0);
	cr_assert(e.aad == want && e.aad_len == 27 && e.ct == want + 27 && e.ct_len == 8);
}

Test(wire, layout_env_sess)
{
	static const uint8_t want[] = {
	    0x01, 0x20, 0x00, 0x1d, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	    0x88, 0x01, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8,
	    0xa9, 0xaa, 0xab, 0,    0,    0,    0,    0,    0,    0,    0,
	};
	uint8_t out[64] = {0};
	uint8_t *ct;
	size_t aad;
	struct sga_env_sess e;

	RC_EQ(sga_env_sess_encode(SGA_MSG_KEX_INIT, 0x1122334455667788ULL, 1, NONCE, 8, out,
	                          sizeof(out), &ct, &aad),
	      0);
	cr_assert_eq(aad, 25);
	cr_assert(ct == out + 25);
	memset(ct, 0, 8);
	cr_assert(memcmp(out, want, sizeof(want)) == 0);
	RC_EQ(sga_env_sess_decode(want, sizeof(want), &e), 0);
	cr_assert(e.type == SGA_MSG_KEX_INIT && e.session_id == 0x1122334455667788ULL &&
	          e.role == 1 && memcmp(e.nonce, NONCE, 12) == 0);
	cr_assert(e.aad == want && e.aad_len == 25 && e.ct == want + 25 && e.ct_len == 8);
}

Test(wire, layout_env_hop)
{
	static const uint8_t want[] = {
	    0x01, 0x31, 0x00, 0x22, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00, 0, 0, 0, 0, 0, 0,
	    0xe0, 0x0c, 0,    0,    0, 0, 0, 0, 0, 5, 9,    9,    9,    9, 9, 9, 9, 9, 9,
	};
	uint8_t out[64];
	uint8_t *ct;
	size_t aad;
	struct sga_env_hop e;

	RC_EQ(sga_env_hop_encode(SGA_MSG_DATA_DOWN, 0x100, 0, 0xe00c, 5, 9, out, sizeof(out), &ct,
	                         &aad),
	      0);
	cr_assert_eq(aad, 29);
	memset(ct, 9, 9);
	cr_assert(memcmp(out, want, sizeof(want)) == 0);
	RC_EQ(sga_env_hop_decode(want, sizeof(want), &e), 0);
	cr_assert(e.type == SGA_MSG_DATA_DOWN && e.session_id == 0x100 && e.role == 0 &&
	          e.epoch == 0xe00c && e.seq == 5);
	cr_assert(e.aad == want && e.aad_len == 29 && e.ct == want + 29 && e.ct_len == 9);
}

Test(wire, layout_reg_req_error_pkg_req)
{
	static const uint8_t rr[] = {0x01, 0x01, 0x00, 0x06, 0x00, 0x00, 0x03, 0xde, 0xad, 0xbe};
	static const uint8_t er[] = {0x01, 0x7f, 0x00, 0x05, 0x00, 0x0a, 0x02, 'a', 'b'};
	static uint8_t pr[SGA_PKG_REQ_LEN] = {0x01, 0x03, (SGA_PKG_REQ_LEN - 4) >> 8,
	                                      (SGA_PKG_REQ_LEN - 4) & 0xff};
	uint8_t out[SGA_PKG_REQ_LEN], group;
	uint8_t *mac;
	size_t n;

	RC_EQ(sga_reg_req_encode(0, SGA_GROUP_FFDHE2048, rr + 7, 3, out, sizeof(out), &mac, &n), 0);
	cr_assert(n == sizeof(rr) && memcmp(out, rr, n) == 0 && mac == NULL);
	RC_EQ(
	    sga_error_encode(SGA_E_UNKNOWN_DEVICE, (const uint8_t *)"ab", 2, out, sizeof(out), &n),
	    0);
	cr_assert(n == sizeof(er) && memcmp(out, er, n) == 0);
	RC_EQ(sga_pkg_req_encode(0, out, sizeof(out), &n), 0);
	cr_assert(n == sizeof(pr) && memcmp(out, pr, n) == 0);
	RC_EQ(sga_pkg_req_decode(pr, sizeof(pr), &group), 0);
}

Test(wire, layout_package)
{
	static const uint8_t want[] = {0x01, 0x02, 'g',  'w',  0x01, 0x02, 0x01, 0x03,
	                               0x00, 0x02, 0x30, 0x82, 0x00, 0x01, 0x30};
	struct sga_package p;
	uint8_t out[64];
	size_t n;

	memset(&p, 0, sizeof(p));
	p.id_len = 2;
	memcpy(p.id, "gw", 2);
	p.group = 1;
	p.n_suites = 2;
	p.suites[0] = 1;
	p.suites[1] = 3;
	p.pk_len = 2;
	p.pk_der[0] = 0x30;
	p.pk_der[1] = 0x82;
	p.tpk_len = 1;
	p.tpk_der[0] = 0x30;
	RC_EQ(sga_package_encode(&p, out, sizeof(out), &n), 0);
	cr_assert(n == sizeof(want) && memcmp(out, want, n) == 0);
	RC_EQ(sga_pkg_encode(&p, out, sizeof(out), &n), 0);
	cr_assert(n == 4 + sizeof(want) && out[0] == 1 && out[1] == SGA_MSG_PKG && out[2] == 0 &&
	          out[3] == sizeof(want) && memcmp(out + 4, want, sizeof(want)) == 0);
}

Test(wire, layout_payloads)
{
	static const uint8_t result[] = {0, 0, 0, 0, 0, 0, 0, 7, 0, 2, 2, 1, 'b'};
	static const uint8_t accept[] = {0, 0, 0, 0, 0, 0, 0x01, 0x02, 0};
	static const uint8_t reply[] = {0x00, 0x03, 1, 2, 3};
	static const uint8_t inner[] = {0, 0, 0, 0, 0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8};
	struct sga_neg_result_plain nr = {.req_ctr = 7, .suite = 2, .group = 2, .peer_id_len = 1};
	struct sga_neg_accept_plain na = {.session_id = 0x102};
	struct sga_kex_reply_plain kr;
	struct sga_data_inner di;
	uint8_t out[128], xs[3] = {1, 2, 3}, mac[32], nh[32];
	uint8_t *ct;
	size_t n;

	nr.peer_id[0] = 'b';
	RC_EQ(sga_neg_result_plain_encode(&nr, out, sizeof(out), &n), 0);
	cr_assert(n == sizeof(result) && memcmp(out, result, n) == 0);
	RC_EQ(sga_neg_accept_plain_encode(&na, out, sizeof(out), &n), 0);
	cr_assert(n == 8 + 1 + 32 && memcmp(out, accept, sizeof(accept)) == 0);
	cr_assert(all_bytes(out + 9, 32, 0));
	fill(mac, 32, 0);
	fill(nh, 32, 0x80);
	kr.x_len = 3;
	kr.x = xs;
	kr.n_hash_peer = nh;
	kr.mac = mac;
	RC_EQ(sga_kex_reply_plain_encode(&kr, out, sizeof(out), &n), 0);
	cr_assert(n == 5 + 32 + 32 && memcmp(out, reply, 5) == 0 && memcmp(out + 5, nh, 32) == 0 &&
	          memcmp(out + 37, mac, 32) == 0);
	RC_EQ(sga_data_inner_encode(9, 8, out, sizeof(out), &ct, &n), 0);
	cr_assert(n == 16 && ct == out + 8);
	memcpy(ct, inner + 8, 8);
	cr_assert(memcmp(out, inner, 16) == 0);
	RC_EQ(sga_data_inner_decode(inner, sizeof(inner), &di), 0);
	cr_assert(di.e2e_seq == 9 && di.e2e_ct == inner + 8 && di.e2e_ct_len == 8);
}

/* ---- round trips ------------------------------------------------------------ */

Test(wire, roundtrip_envelopes)
{
	static const uint8_t dev_types[] = {SGA_MSG_REG_ACK, SGA_MSG_NEG_REQ, SGA_MSG_NEG_INVITE,
	                                    SGA_MSG_NEG_ACCEPT};
	static const uint8_t sess_types[] = {SGA_MSG_NEG_RESULT, SGA_MSG_KEX_INIT,
	                                     SGA_MSG_KEX_REPLY};
	static const uint8_t hop_types[] = {SGA_MSG_DATA_UP, SGA_MSG_DATA_DOWN, SGA_MSG_DATA_ACK,
	                                    SGA_MSG_DATA_DELIVERED};
	static const size_t ct_lens[] = {SGA_CT_MIN, 100, 1000};
	uint8_t out[SGA_FRAME_MAX], id[SGA_ID_MAX];
	uint8_t *ct;
	size_t aad;

	for (size_t i = 0; i < SGA_ID_MAX; i++)
		id[i] = (uint8_t)(0x21 + i * 3);
	for (size_t t = 0; t < sizeof(dev_types); t++)
		for (size_t c = 0; c < 3; c++)
			for (uint8_t il = 1; il <= SGA_ID_MAX; il += 31) {
				struct sga_env_dev e;
				uint64_t ctr = 0xffffffffffffff00ULL + t;

				RC_EQ(sga_env_dev_encode(dev_types[t], id, il, ctr, NONCE,
				                         ct_lens[c], out, sizeof(out), &ct, &aad),
				      0);
				cr_assert_eq(aad, 4 + 1 + il + 8 + 12);
				fill(ct, ct_lens[c], (uint8_t)t);
				RC_EQ(sga_env_dev_decode(out, aad + ct_lens[c], &e), 0);
				cr_assert(e.type == dev_types[t] && e.id_len == il &&
				          memcmp(e.id, id, il) == 0 && e.ctr == ctr &&
				          memcmp(e.nonce, NONCE, 12) == 0);
				cr_assert(e.aad == out && e.aad_len == aad && e.ct == ct &&
				          e.ct_len == ct_lens[c]);
			}
	for (size_t t = 0; t < sizeof(sess_types); t++)
		for (size_t c = 0; c < 3; c++)
			for (uint8_t role = 0; role < 2; role++) {
				struct sga_env_sess e;
				uint64_t sid = 0x8000000000000001ULL + t;

				RC_EQ(sga_env_sess_encode(sess_types[t], sid, role, NONCE,
				                          ct_lens[c], out, sizeof(out), &ct, &aad),
				      0);
				cr_assert_eq(aad, 25);
				RC_EQ(sga_env_sess_decode(out, aad + ct_lens[c], &e), 0);
				cr_assert(e.type == sess_types[t] && e.session_id == sid &&
				          e.role == role && memcmp(e.nonce, NONCE, 12) == 0);
				cr_assert(e.aad == out && e.aad_len == 25 && e.ct == ct &&
				          e.ct_len == ct_lens[c]);
			}
	for (size_t t = 0; t < sizeof(hop_types); t++)
		for (size_t c = 0; c < 3; c++)
			for (uint8_t role = 0; role < 2; role++) {
				struct sga_env_hop e;

				RC_EQ(sga_env_hop_encode(hop_types[t], 77, role, UINT64_MAX - c - 1,
				                         UINT64_MAX - c, ct_lens[c], out,
				                         sizeof(out), &ct, &aad),
				      0);
				cr_assert_eq(aad, 29);
				RC_EQ(sga_env_hop_decode(out, aad + ct_lens[c], &e), 0);
				cr_assert(e.type == hop_types[t] && e.session_id == 77 &&
				          e.role == role && e.epoch == UINT64_MAX - c - 1 &&
				          e.seq == UINT64_MAX - c);
				cr_assert(e.aad == out && e.aad_len == 29 && e.ct == ct &&
				          e.ct_len == ct_lens[c]);
			}
}

Test(wire, roundtrip_envelopes_max_frame)
{
	uint8_t out[SGA_FRAME_MAX];
	uint8_t *ct;
	size_t aad;
	struct sga_env_hop h;
	struct sga_env_sess s;
	struct sga_env_dev d;

	RC_EQ(sga_env_hop_encode(SGA_MSG_DATA_UP, 1, 0, 0, 0, SGA_FRAME_MAX - 29, out, sizeof(out),
	                         &ct, &aad),
	      0);
	RC_EQ(sga_env_hop_decode(out, SGA_FRAME_MAX, &h), 0);
	cr_assert_eq(h.ct_len, SGA_FRAME_MAX - 29);
	RC_EQ(sga_env_sess_encode(SGA_MSG_KEX_REPLY, 1, 0, NONCE, SGA_FRAME_MAX - 25, out,
	                          sizeof(out), &ct, &aad),
	      0);
	RC_EQ(sga_env_sess_decode(out, SGA_FRAME_MAX, &s), 0);
	RC_EQ(sga_env_dev_encode(SGA_MSG_REG_ACK, DEV_ID, DEV_ID_LEN, 0, NONCE,
	                         SGA_FRAME_MAX - 25 - DEV_ID_LEN, out, sizeof(out), &ct, &aad),
	      0);
	RC_EQ(sga_env_dev_decode(out, SGA_FRAME_MAX, &d), 0);
}

Test(wire, roundtrip_reg_req)
{
	uint8_t rsa[SGA_RSA_MAX_LEN], out[SGA_FRAME_MAX];
	uint8_t *mac;
	size_t n;
	struct sga_reg_req q;

	fill(rsa, sizeof(rsa), 3);
	for (int rekey = 0; rekey < 2; rekey++)
		for (size_t ct_len = 1; ct_len <= SGA_RSA_MAX_LEN; ct_len += 383) {
			uint8_t flags = rekey ? SGA_REG_FLAG_REKEY : 0;

			RC_EQ(sga_reg_req_encode(flags, SGA_GROUP_FFDHE2048, rsa, ct_len, out,
			                         sizeof(out), &mac, &n),
			      0);
			cr_assert_eq(n, 7 + ct_len + (rekey ? 32 : 0));
			if (rekey) {
				cr_assert(mac == out + 7 + ct_len);
				cr_assert(all_bytes(mac, 32, 0));
				fill(mac, 32, 0x44);
			}
			RC_EQ(sga_reg_req_decode(out, n, &q), 0);
			cr_assert(q.flags == flags && q.ct == out + 7 && q.ct_len == ct_len &&
			          memcmp(q.ct, rsa, ct_len) == 0);
			cr_assert(q.mac_input == out && q.mac_input_len == 7 + ct_len);
			cr_assert(rekey ? q.mac == mac : q.mac == NULL);
		}
}

Test(wire, roundtrip_error)
{
	uint8_t out[64], ref[SGA_ID_MAX];
	size_t n;
	struct sga_error_msg m;

	fill(ref, sizeof(ref), 0); /* any bytes: a session id is binary */
	for (int code = 1; code < SGA_E__COUNT; code++)
		for (uint8_t rl = 0; rl <= SGA_ID_MAX; rl += 8) {
			RC_EQ(sga_error_encode((uint16_t)code, ref, rl, out, sizeof(out), &n), 0);
			cr_assert_eq(n, 7u + rl);
			RC_EQ(sga_error_decode(out, n, &m), 0);
			cr_assert(m.code == code && m.ref_len == rl && memcmp(m.ref, ref, rl) == 0);
		}
}

Test(wire, roundtrip_package)
{
	static struct sga_package p, q;
	static uint8_t out[SGA_FRAME_MAX];
	size_t n;

	for (int v = 0; v < 3; v++) {
		uint16_t l = v == 0 ? 1 : v == 1 ? 422 : SGA_DER_MAX;

		valid_package(&p, l, (uint16_t)(SGA_DER_MAX + 1 - l));
		p.id_len = SGA_ID_MAX;
		memset(p.id, '~', SGA_ID_MAX);
		p.group = v == 1 ? SGA_GROUP_FFDHE3072 : SGA_GROUP_FFDHE2048;
		RC_EQ(sga_package_encode(&p, out, sizeof(out), &n), 0);
		RC_EQ(sga_package_decode(out, n, &q), 0);
		cr_assert(memcmp(&p, &q, sizeof(p)) == 0);
		RC_EQ(sga_pkg_encode(&p, out, sizeof(out), &n), 0);
		cr_assert(out[1] == SGA_MSG_PKG);
		RC_EQ(sga_pkg_decode(out, n, &q), 0);
		cr_assert(memcmp(&p, &q, sizeof(p)) == 0);
	}
}

Test(wire, roundtrip_payloads)
{
	uint8_t out[2048];
	size_t n;

	{
		struct sga_reg_plain a, b;

		valid_reg_plain(&a);
		for (uint8_t tl = 0; tl <= SGA_TOKEN_MAX; tl += 16) {
			a.token_len = tl;
			memset(a.token, 0, sizeof(a.token));
			fill(a.token, tl, 0x80);
			RC_EQ(sga_reg_plain_encode(&a, out, sizeof(out), &n), 0);
			cr_assert_eq(n, 32 + 2 + 2 + 16 + 1 + DEV_ID_LEN + 1 + tl + 8);
			RC_EQ(sga_reg_plain_decode(out, n, &b), 0);
			cr_assert(memcmp(&a, &b, sizeof(a)) == 0);
		}
		a.n_suites = 4;
		a.suites[0] = 4;
		a.suites[1] = 3;
		a.suites[2] = 2;
		a.suites[3] = 1;
		a.suite_init = 4;
		RC_EQ(sga_reg_plain_encode(&a, out, sizeof(out), &n), 0);
		RC_EQ(sga_reg_plain_decode(out, n, &b), 0);
		cr_assert(memcmp(&a, &b, sizeof(a)) == 0);
	}
	{
		struct sga_reg_ack_plain a, b;

		fill(a.reg_nonce, 16, 9);
		RC_EQ(sga_reg_ack_plain_encode(&a, out, sizeof(out), &n), 0);
		cr_assert_eq(n, 16);
		RC_EQ(sga_reg_ack_plain_decode(out, n, &b), 0);
		cr_assert(memcmp(&a, &b, sizeof(a)) == 0);
	}
	{
		struct sga_neg_req_plain a, b;

		valid_neg_req(&a);
		RC_EQ(sga_neg_req_plain_encode(&a, out, sizeof(out), &n), 0);
		cr_assert_eq(n, 1 + 6 + 1 + 2 + 32);
		RC_EQ(sga_neg_req_plain_decode(out, n, &b), 0);
		cr_assert(memcmp(&a, &b, sizeof(a)) == 0);
	}
	{
		struct sga_neg_invite_plain a, b;

		valid_neg_invite(&a);
		RC_EQ(sga_neg_invite_plain_encode(&a, out, sizeof(out), &n), 0);
		cr_assert_eq(n, 8 + 3 + DEV_ID_LEN + 1 + 2);
		RC_EQ(sga_neg_invite_plain_decode(out, n, &b), 0);
		cr_assert(memcmp(&a, &b, sizeof(a)) == 0);
	}
	{
		struct sga_neg_accept_plain a, b;

		valid_neg_accept(&a);
		for (int acc = 1; acc >= 0; acc--) {
			a.accept = (uint8_t)acc;
			if (!acc)
				memset(a.k_t, 0, SGA_KEY_LEN);
			RC_EQ(sga_neg_accept_plain_encode(&a, out, sizeof(out), &n), 0);
			cr_assert_eq(n, 41);
			RC_EQ(sga_neg_accept_plain_decode(out, n, &b), 0);
			cr_assert(memcmp(&a, &b, sizeof(a)) == 0);
		}
	}
	{
		struct sga_neg_result_plain a, b;

		valid_neg_result(&a);
		RC_EQ(sga_neg_result_plain_encode(&a, out, sizeof(out), &n), 0);
		RC_EQ(sga_neg_result_plain_decode(out, n, &b), 0);
		cr_assert(memcmp(&a, &b, sizeof(a)) == 0);
		for (int st = 1; st < SGA_E__COUNT; st++) {
			a.status = (uint8_t)st;
			a.suite = a.group = 0;
			RC_EQ(sga_neg_result_plain_encode(&a, out, sizeof(out), &n), 0);
			RC_EQ(sga_neg_result_plain_decode(out, n, &b), 0);
			cr_assert(memcmp(&a, &b, sizeof(a)) == 0);
		}
	}
	{
		struct sga_kex_init_plain a, b;

		valid_kex_init(&a, SGA_GROUP_MAX_LEN, SGA_PROOF_MAX, SGA_RSA_MAX_LEN);
		RC_EQ(sga_kex_init_plain_encode(&a, out, sizeof(out), &n), 0);
		cr_assert_eq(n, 2 + 384 + 1 + SGA_PROOF_MAX + 2 + 384 + 32);
		RC_EQ(sga_kex_init_plain_decode(out, n, &b), 0);
		cr_assert(b.n_len == a.n_len && b.n == out + 2 && memcmp(b.n, a.n, a.n_len) == 0);
		cr_assert(b.proof_len == a.proof_len && b.proof == out + 2 + 384 + 1 &&
		          memcmp(b.proof, a.proof, a.proof_len) == 0);
		cr_assert(b.f_len == a.f_len && memcmp(b.f, a.f, a.f_len) == 0);
		cr_assert(b.mac == out + n - 32 && memcmp(b.mac, a.mac, 32) == 0);
		valid_kex_init(&a, 1, 1, 1);
		RC_EQ(sga_kex_init_plain_encode(&a, out, sizeof(out), &n), 0);
		cr_assert_eq(n, 2 + 1 + 1 + 1 + 2 + 1 + 32);
		RC_EQ(sga_kex_init_plain_decode(out, n, &b), 0);
		cr_assert(b.n_len == 1 && b.proof_len == 1 && b.f_len == 1 && b.n[0] == a.n[0] &&
		          b.proof[0] == a.proof[0] && b.f[0] == a.f[0]);
	}
	{
		struct sga_kex_reply_plain a, b;

		for (uint16_t xl = 1; xl <= SGA_GROUP_MAX_LEN; xl += 383) {
			valid_kex_reply(&a, xl);
			RC_EQ(sga_kex_reply_plain_encode(&a, out, sizeof(out), &n), 0);
			cr_assert_eq(n, 2u + xl + 32 + 32);
			RC_EQ(sga_kex_reply_plain_decode(out, n, &b), 0);
			cr_assert(b.x_len == xl && b.x == out + 2 && memcmp(b.x, a.x, xl) == 0 &&
			          b.n_hash_peer == out + 2 + xl &&
			          memcmp(b.n_hash_peer, a.n_hash_peer, 32) == 0 &&
			          b.mac == out + 2 + xl + 32 && memcmp(b.mac, a.mac, 32) == 0);
		}
	}
	{
		struct sga_data_inner b;
		uint8_t *ct;

		for (size_t l = SGA_CT_MIN; l < 1000; l += 333) {
			RC_EQ(sga_data_inner_encode(UINT64_MAX, l, out, sizeof(out), &ct, &n), 0);
			cr_assert(n == 8 + l && ct == out + 8);
			fill(ct, l, 1);
			RC_EQ(sga_data_inner_decode(out, n, &b), 0);
			cr_assert(b.e2e_seq == UINT64_MAX && b.e2e_ct == ct && b.e2e_ct_len == l);
		}
	}
}

/* ---- generic frame malformations --------------------------------------------- */

Test(frames, truncation_raw)
{
	/* the header still claims the full body: always TRUNCATED */
	for (size_t i = 0; i < n_frames; i++)
		for (size_t n = 0; n < frames[i].len; n++) {
			int rc = run_exact(frames[i].chk, frames[i].b, n);
			cr_assert_eq(rc, E(TRUNCATED), "%s cut to %zu: %s", frames[i].name, n,
			             sga_err_name(rc));
		}
}

Test(frames, truncation_header_fixed)
{
	/* body_len patched to match: the body itself is short -> TRUNCATED */
	for (size_t i = 0; i < n_frames; i++)
		for (size_t n = SGA_HDR_LEN; n < frames[i].len; n++) {
			uint8_t b[SGA_FRAME_MAX];

			memcpy(b, frames[i].b, n);
			sga_put_u16(b + 2, (uint16_t)(n - SGA_HDR_LEN));
			int rc = run_exact(frames[i].chk, b, n);
			cr_assert_eq(rc, E(TRUNCATED), "%s cut to %zu: %s", frames[i].name, n,
			             sga_err_name(rc));
		}
}

Test(frames, trailing_byte)
{
	for (size_t i = 0; i < n_frames; i++) {
		uint8_t b[SGA_FRAME_MAX];
		const struct sample *s = &frames[i];

		memcpy(b, s->b, s->len);
		b[s->len] = 0xaa;
		/* header unchanged: the frame is longer than body_len */
		RC_EQ(run_exact(s->chk, b, s->len + 1), E(TRAILING));
		/* header grown: a byte after the last field, or a longer ciphertext */
		sga_put_u16(b + 2, (uint16_t)(s->len + 1 - SGA_HDR_LEN));
		RC_EQ(run_exact(s->chk, b, s->len + 1), s->var_tail ? 0 : E(TRAILING));
	}
}

Test(frames, bad_version)
{
	for (size_t i = 0; i < n_frames; i++) {
		expect_byte(&frames[i], 0, 0, E(BAD_VERSION));
		expect_byte(&frames[i], 0, 2, E(BAD_VERSION));
		expect_byte(&frames[i], 0, 0xff, E(BAD_VERSION));
	}
}

Test(frames, wrong_and_unknown_type)
{
	for (size_t i = 0; i < n_frames; i++) {
		const struct sample *s = &frames[i];
		int own = decoder_for(s->b[1]);

		cr_assert_geq(own, 0);
		/* every other decoder refuses this frame */
		for (int d = 0; d < D__N; d++)
			if (d != own)
				RC_EQ(run_exact(frame_chk[d], s->b, s->len), E(BAD_TYPE));
		/* this decoder refuses every other known type and every unknown byte */
		for (int t = 0; t < 256; t++) {
			int d = decoder_for((uint8_t)t);
			if (d == own)
				continue;
			expect_byte(s, 1, (uint8_t)t, E(BAD_TYPE));
		}
	}
}

Test(frames, oversized)
{
	static uint8_t b[0xffff + 4];

	for (size_t i = 0; i < n_frames; i++) {
		memset(b, 0x41, sizeof(b));
		memcpy(b, frames[i].b, frames[i].len);
		sga_put_u16(b + 2, SGA_FRAME_MAX + 1 - SGA_HDR_LEN);
		RC_EQ(run_exact(frames[i].chk, b, SGA_FRAME_MAX + 1), E(OVERSIZED));
		sga_put_u16(b + 2, 0xffff);
		RC_EQ(run_exact(frames[i].chk, b, 0xffff + 4), E(OVERSIZED));
	}
}

/* PROTOCOL.md 7.1: the GROUP flag (0x02) and its byte come before ct_len, for
 * every group but ffdhe2048; ffdhe2048 is the request without them. */
Test(wire, layout_reg_req_group)
{
	static const uint8_t rr[] = {0x01, 0x01, 0x00, 0x06, 0x02, 0x03, 0x00, 0x02, 0xca, 0xfe};
	static const uint8_t rk[] = {0x01, 0x01, 0x00, 0x06 + 32, 0x03,
	                             0x04, 0x00, 0x02, 0xca,      0xfe};
	uint8_t out[128], *mac;
	struct sga_reg_req q;
	size_t n;

	RC_EQ(sga_reg_req_encode(0, SGA_GROUP_X25519, rr + 8, 2, out, sizeof(out), &mac, &n), 0);
	cr_assert(n == sizeof(rr) && memcmp(out, rr, n) == 0 && mac == NULL);
	RC_EQ(sga_reg_req_decode(rr, sizeof(rr), &q), 0);
	cr_assert(q.group == SGA_GROUP_X25519 && q.ct == rr + 8 && q.ct_len == 2);
	cr_assert(q.mac_input_len == 10);
	RC_EQ(sga_reg_req_encode(SGA_REG_FLAG_REKEY, SGA_GROUP_P256, rk + 8, 2, out, sizeof(out),
	                         &mac, &n),
	      0);
	cr_assert(n == sizeof(rk) + 32 && memcmp(out, rk, sizeof(rk)) == 0 && mac == out + 10);
	/* One encoding per request: ffdhe2048 never carries the flag, an
	 * unknown group is refused. */
	{
		uint8_t bad[sizeof(rr)];

		memcpy(bad, rr, sizeof(rr));
		bad[5] = SGA_GROUP_FFDHE2048;
		RC_EQ(sga_reg_req_decode(bad, sizeof(bad), &q), E(BAD_FIELD));
		bad[5] = 0x77;
		RC_EQ(sga_reg_req_decode(bad, sizeof(bad), &q), E(BAD_FIELD));
		bad[5] = 0;
		RC_EQ(sga_reg_req_decode(bad, sizeof(bad), &q), E(BAD_FIELD));
	}
	RC_EQ(sga_reg_req_encode(0, 0x77, rr + 8, 2, out, sizeof(out), &mac, &n), E(BAD_FIELD));
	RC_EQ(sga_reg_req_encode(SGA_REG_FLAG_GROUP, SGA_GROUP_X25519, rr + 8, 2, out, sizeof(out),
	                         &mac, &n),
	      E(BAD_FIELD));
}

/* PROTOCOL.md 7.3: byte 0 after the header names the profile (0: the first). */
Test(wire, layout_pkg_req_group)
{
	static uint8_t out[SGA_PKG_REQ_LEN];
	uint8_t group = 0;
	size_t n;

	RC_EQ(sga_pkg_req_encode(SGA_GROUP_X25519, out, sizeof(out), &n), 0);
	cr_assert(n == SGA_PKG_REQ_LEN && out[4] == SGA_GROUP_X25519 &&
	          all_bytes(out + 5, n - 5, 0));
	RC_EQ(sga_pkg_req_decode(out, n, &group), 0);
	cr_assert_eq(group, SGA_GROUP_X25519);
	out[4] = 0x77;
	RC_EQ(sga_pkg_req_decode(out, n, &group), E(BAD_FIELD));
	cr_assert_eq(group, 0);
	RC_EQ(sga_pkg_req_encode(0x77, out, sizeof(out), &n), E(BAD_FIELD));
}

Test(frames, null_and_empty)
{
	struct sga_env_dev d;
	struct sga_env_sess s;
	struct sga_env_hop h;
	struct sga_reg_req q;
	struct sga_error_msg m;
	uint8_t group;

	RC_EQ(sga_env_dev_decode(NULL, 0, &d), E(TRUNCATED));
	RC_EQ(sga_env_sess_decode(NULL, 0, &s), E(TRUNCATED));
	RC_EQ(sga_env_hop_decode(NULL, 0, &h), E(TRUNCATED));
	RC_EQ(sga_reg_req_decode(NULL, 0, &q), E(TRUNCATED));
	RC_EQ(sga_error_decode(NULL, 0, &m), E(TRUNCATED));
	RC_EQ(sga_pkg_req_decode(NULL, 0, &group), E(TRUNCATED));
	RC_EQ(sga_pkg_decode(NULL, 0, &g_pkg), E(TRUNCATED));
	RC_EQ(sga_env_dev_decode(frames[0].b, frames[0].len, NULL), E(INTERNAL));
}

/* ---- per-kind frame fields ------------------------------------------------------ */

Test(frames, env_dev_fields)
{
	static const char *const names[] = {"REG_ACK", "NEG_REQ", "NEG_INVITE", "NEG_ACCEPT"};

	for (size_t i = 0; i < 4; i++) {
		const struct sample *s = FRAME(names[i]);

		cr_assert_eq(s->len, 4 + 1 + DEV_ID_LEN + 8 + 12 + SGA_CT_MIN);
		expect_byte(s, 4, 0, E(BAD_LENGTH));
		expect_byte(s, 4, SGA_ID_MAX + 1, E(BAD_LENGTH));
		expect_byte(s, 4, 0xff, E(BAD_LENGTH));
		for (size_t k = 0; k < DEV_ID_LEN; k++) {
			expect_byte(s, 5 + k, 0x20, E(BAD_FIELD));
			expect_byte(s, 5 + k, 0x7f, E(BAD_FIELD));
			expect_byte(s, 5 + k, 0x00, E(BAD_FIELD));
			expect_byte(s, 5 + k, 0x80, E(BAD_FIELD));
		}
		/* ctr: any value */
		expect_u64(s, 5 + DEV_ID_LEN, 0, 0);
		expect_u64(s, 5 + DEV_ID_LEN, UINT64_MAX, 0);
	}
}

Test(frames, env_sess_fields)
{
	const struct sample *r0 = FRAME("NEG_RESULT(sid 0)");
	static const char *const names[] = {"NEG_RESULT", "KEX_INIT", "KEX_REPLY"};

	for (size_t i = 0; i < 3; i++) {
		const struct sample *s = FRAME(names[i]);
		int is_result = s->b[1] == SGA_MSG_NEG_RESULT;

		cr_assert_eq(s->len, 4 + 8 + 1 + 12 + SGA_CT_MIN);
		expect_u64(s, 4, 0, is_result ? 0 : E(BAD_FIELD));
		expect_u64(s, 4, UINT64_MAX, 0);
		expect_byte(s, 12, 0, 0);
		expect_byte(s, 12, 1, 0);
		expect_byte(s, 12, 2, E(BAD_FIELD));
		expect_byte(s, 12, 0xff, E(BAD_FIELD));
	}
	expect_byte(r0, 12, 2, E(BAD_FIELD));
	/* sid 0 with the type switched away from NEG_RESULT */
	expect_byte(r0, 1, SGA_MSG_KEX_INIT, E(BAD_FIELD));
	expect_byte(r0, 1, SGA_MSG_KEX_REPLY, E(BAD_FIELD));
}

Test(frames, env_hop_fields)
{
	static const char *const names[] = {"DATA_UP", "DATA_DOWN", "DATA_ACK", "DATA_DELIVERED"};

	for (size_t i = 0; i < 4; i++) {
		const struct sample *s = FRAME(names[i]);

		const int down = i == 1 || i == 2;

		cr_assert_eq(s->len, 4 + 8 + 1 + 8 + 8 + SGA_CT_MIN);
		expect_u64(s, 4, 0, E(BAD_FIELD));
		expect_byte(s, 12, 0, 0);
		expect_byte(s, 12, 2, E(BAD_FIELD));
		expect_byte(s, 12, 0x80, E(BAD_FIELD));
		/* the epoch: a gateway frame's is never 0, a device's echo may be */
		expect_u64(s, 13, 0, down ? E(BAD_FIELD) : 0);
		expect_u64(s, 13, 1, 0);
		expect_u64(s, 13, UINT64_MAX, 0);
		expect_u64(s, 21, 0, 0);
		expect_u64(s, 21, UINT64_MAX, 0);
	}
}

/* PROTOCOL.md 6.2: a gateway hop frame names the epoch of its key, never 0; a
 * device frame's echo is 0 before it has adopted one. */
Test(encode, hop_epoch_zero_only_from_devices)
{
	uint8_t buf[64], *ct;
	size_t aad;
	struct sga_env_hop e;
	static const uint8_t down[] = {SGA_MSG_DATA_DOWN, SGA_MSG_DATA_ACK, SGA_MSG_DATA_SKIP};
	static const uint8_t up[] = {SGA_MSG_DATA_UP, SGA_MSG_DATA_DELIVERED};

	for (size_t i = 0; i < sizeof(down); i++) {
		RC_EQ(sga_env_hop_encode(down[i], 1, 0, 0, 0, 8, buf, sizeof(buf), &ct, &aad),
		      E(BAD_FIELD));
		RC_EQ(sga_env_hop_encode(down[i], 1, 0, 1, 0, 8, buf, sizeof(buf), &ct, &aad), 0);
		buf[SGA_HDR_LEN + 8 + 1 + 7] = 0; /* epoch 1 -> 0 */
		RC_EQ(sga_env_hop_decode(buf, aad + 8, &e), E(BAD_FIELD));
	}
	for (size_t i = 0; i < sizeof(up); i++) {
		RC_EQ(sga_env_hop_encode(up[i], 1, 0, 0, 0, 8, buf, sizeof(buf), &ct, &aad), 0);
		RC_EQ(sga_env_hop_decode(buf, aad + 8, &e), 0);
		cr_assert_eq(e.epoch, 0);
	}
}

Test(frames, reg_req_fields)
{
	const struct sample *s = FRAME("REG_REQ"), *k = FRAME("REG_REQ(rekey)");

	for (int f = 2; f < 256; f++) {
		expect_byte(s, 4, (uint8_t)f, E(BAD_FIELD));
		expect_byte(k, 4, (uint8_t)f, E(BAD_FIELD));
	}
	expect_u16(s, 5, 0, E(BAD_LENGTH));
	expect_u16(s, 5, SGA_RSA_MAX_LEN + 1, E(BAD_LENGTH));
	expect_u16(s, 5, 0xffff, E(BAD_LENGTH));
	expect_u16(k, 5, 0, E(BAD_LENGTH));
	expect_u16(k, 5, SGA_RSA_MAX_LEN + 1, E(BAD_LENGTH));
	/* ct_len larger than what is left */
	expect_u16(s, 5, 41, E(TRUNCATED));
	expect_u16(k, 5, 73, E(TRUNCATED));
	/* shifting ct_len re-frames the bytes: shorter ct leaves leftovers / a short mac */
	expect_u16(s, 5, 39, E(TRAILING));
	expect_u16(k, 5, 41, E(TRUNCATED));
	expect_u16(k, 5, 39, E(TRAILING));
	/* flipping REKEY changes the expected size */
	expect_byte(s, 4, SGA_REG_FLAG_REKEY, E(TRUNCATED));
	expect_byte(k, 4, 0, E(TRAILING));
}

Test(frames, error_fields)
{
	const struct sample *s = FRAME("ERROR"), *z = FRAME("ERROR(no ref)");

	expect_u16(s, 4, 0, E(BAD_FIELD));
	expect_u16(s, 4, SGA_E__COUNT, E(BAD_FIELD));
	expect_u16(s, 4, 0xffff, E(BAD_FIELD));
	expect_u16(s, 4, SGA_E__COUNT - 1, 0);
	expect_u16(s, 4, 1, 0);
	expect_byte(s, 6, SGA_ID_MAX + 1, E(BAD_LENGTH));
	expect_byte(s, 6, 0xff, E(BAD_LENGTH));
	expect_byte(z, 6, SGA_ID_MAX + 1, E(BAD_LENGTH));
	expect_byte(s, 6, DEV_ID_LEN + 1, E(TRUNCATED));
	expect_byte(s, 6, DEV_ID_LEN - 1, E(TRAILING));
	expect_byte(s, 6, 0, E(TRAILING));
	expect_byte(z, 6, 1, E(TRUNCATED));
}

Test(frames, pkg_req_fields)
{
	static uint8_t b[SGA_PKG_REQ_LEN + 1];
	size_t n;

	RC_EQ(sga_pkg_req_encode(0, b, sizeof(b), &n), 0);
	cr_assert_eq(n, SGA_PKG_REQ_LEN);
	RC_EQ(run_exact(chk_pkg_req, b, n), 0);
	/* Padding must be zero: it exists only to make the request as long as the answer. */
	b[700] = 1;
	RC_EQ(run_exact(chk_pkg_req, b, n), E(BAD_FIELD));
	b[700] = 0;
	/* A short request (what an amplification attempt would send) is refused. */
	b[2] = 0, b[3] = 0;
	RC_EQ(run_exact(chk_pkg_req, b, 4), E(TRUNCATED));
	b[3] = 1;
	RC_EQ(run_exact(chk_pkg_req, b, 5), E(TRUNCATED));
	b[2] = (SGA_PKG_REQ_LEN - 4) >> 8, b[3] = (SGA_PKG_REQ_LEN - 4) & 0xff;
	RC_EQ(run_exact(chk_pkg_req, b, n - 1), E(TRUNCATED));
}

/* Package field offsets in the samples (valid_package: id 10 bytes, 3 suites). */
#define PK_ID_LEN 1
#define PK_ID     2
#define PK_GROUP  12
#define PK_NS     13
#define PK_SUITES 14
#define PK_PKLEN  17
#define PK_TPKLEN (19 + 30)

static void package_field_cases(const struct sample *s, size_t base)
{
	cr_assert_eq(s->b[base + PK_NS], 3);
	expect_byte(s, base + 0, 0, E(BAD_VERSION));
	expect_byte(s, base + 0, 2, E(BAD_VERSION));
	expect_byte(s, base + PK_ID_LEN, 0, E(BAD_LENGTH));
	expect_byte(s, base + PK_ID_LEN, SGA_ID_MAX + 1, E(BAD_LENGTH));
	expect_byte(s, base + PK_ID, ' ', E(BAD_FIELD));
	expect_byte(s, base + PK_ID + 9, 0x7f, E(BAD_FIELD));
	expect_byte(s, base + PK_GROUP, 0, E(BAD_FIELD));
	expect_byte(s, base + PK_GROUP, 5, E(BAD_FIELD));
	expect_byte(s, base + PK_GROUP, 0xff, E(BAD_FIELD));
	expect_byte(s, base + PK_GROUP, SGA_GROUP_FFDHE3072, 0);
	expect_byte(s, base + PK_NS, 0, E(BAD_LENGTH));
	expect_byte(s, base + PK_NS, SGA_MAX_SUITES + 1, E(BAD_LENGTH));
	expect_byte(s, base + PK_SUITES, 0, E(BAD_FIELD));
	expect_byte(s, base + PK_SUITES + 1, 9, E(BAD_FIELD));
	expect_byte(s, base + PK_SUITES + 2, s->b[base + PK_SUITES], E(BAD_FIELD));
	expect_u16(s, base + PK_PKLEN, 0, E(BAD_LENGTH));
	expect_u16(s, base + PK_PKLEN, SGA_DER_MAX + 1, E(BAD_LENGTH));
	expect_u16(s, base + PK_TPKLEN, 0, E(BAD_LENGTH));
	expect_u16(s, base + PK_TPKLEN, SGA_DER_MAX + 1, E(BAD_LENGTH));
	expect_u16(s, base + PK_TPKLEN, 21, E(TRUNCATED));
	expect_u16(s, base + PK_TPKLEN, 19, E(TRAILING));
}

Test(frames, pkg_fields)
{
	package_field_cases(FRAME("PKG"), SGA_HDR_LEN);
}

/* ---- payloads ---------------------------------------------------------------- */

Test(payload, truncation)
{
	for (size_t i = 0; i < n_payloads; i++)
		for (size_t n = 0; n < payloads[i].len; n++) {
			int rc = run_exact(payloads[i].chk, payloads[i].b, n);
			cr_assert_eq(rc, E(TRUNCATED), "%s cut to %zu: %s", payloads[i].name, n,
			             sga_err_name(rc));
		}
}

Test(payload, trailing_byte)
{
	for (size_t i = 0; i < n_payloads; i++) {
		uint8_t b[SGA_FRAME_MAX];
		const struct sample *s = &payloads[i];

		memcpy(b, s->b, s->len);
		b[s->len] = 0;
		RC_EQ(run_exact(s->chk, b, s->len + 1), s->var_tail ? 0 : E(TRAILING));
	}
}

Test(payload, null_args)
{
	struct sga_reg_ack_plain a;

	RC_EQ(sga_reg_ack_plain_decode(NULL, 0, &a), E(TRUNCATED));
	RC_EQ(sga_reg_ack_plain_decode(NULL, 16, &a), E(INTERNAL));
	RC_EQ(sga_reg_ack_plain_decode(payloads[0].b, 16, NULL), E(INTERNAL));
}

Test(payload, package_fields)
{
	package_field_cases(PAYLOAD("package"), 0);
}

/* reg_plain: k_d(32) suite_init(1)@32 n_suites(1)@33 suites@34 (2) nonce@36 (16)
 * id_len@52 id@53 (6) token_len@59 token@60 (5) ctr@65 */
Test(payload, reg_plain_fields)
{
	const struct sample *s = PAYLOAD("reg_plain");

	cr_assert_eq(s->len, 73);
	expect_byte(s, 32, SGA_SUITE_AES128_GCM, 0);
	expect_byte(s, 32, SGA_SUITE_CHACHA20_POLY1305, E(BAD_FIELD)); /* known, not in list */
	expect_byte(s, 32, 0, E(BAD_FIELD));
	expect_byte(s, 33, 0, E(BAD_LENGTH));
	expect_byte(s, 33, SGA_MAX_SUITES + 1, E(BAD_LENGTH));
	expect_byte(s, 34, 0, E(BAD_FIELD));
	expect_byte(s, 34, 0x42, E(BAD_FIELD));
	expect_byte(s, 34, SGA_SUITE_AES256_GCM, E(BAD_FIELD)); /* duplicate */
	expect_byte(s, 52, 0, E(BAD_LENGTH));
	expect_byte(s, 52, SGA_ID_MAX + 1, E(BAD_LENGTH));
	expect_byte(s, 53, 0x20, E(BAD_FIELD));
	expect_byte(s, 58, 0xff, E(BAD_FIELD));
	expect_byte(s, 59, SGA_TOKEN_MAX + 1, E(BAD_LENGTH));
	expect_byte(s, 59, 0xff, E(BAD_LENGTH));
	expect_byte(s, 59, 6, E(TRUNCATED));
	expect_byte(s, 59, 4, E(TRAILING));
	expect_byte(s, 60, 0x00, 0); /* token bytes are opaque */
	expect_u64(s, 65, 0, 0);
}

/* neg_req: peer_id_len@0 peer_id@1 (6) n_pref@7 prefs@8 (2) k_t@10 */
Test(payload, neg_req_fields)
{
	const struct sample *s = PAYLOAD("neg_req_plain");

	cr_assert_eq(s->len, 42);
	expect_byte(s, 0, 0, E(BAD_LENGTH));
	expect_byte(s, 0, SGA_ID_MAX + 1, E(BAD_LENGTH));
	expect_byte(s, 1, 0x19, E(BAD_FIELD));
	expect_byte(s, 6, 0x7f, E(BAD_FIELD));
	expect_byte(s, 7, 0, E(BAD_LENGTH));
	expect_byte(s, 7, SGA_MAX_SUITES + 1, E(BAD_LENGTH));
	expect_byte(s, 8, 0, E(BAD_FIELD));
	expect_byte(s, 9, 6, E(BAD_FIELD));
	expect_byte(s, 9, SGA_SUITE_ASCON_AEAD128, 0);
	expect_byte(s, 9, s->b[8], E(BAD_FIELD));
	expect_byte(s, 9, SGA_SUITE_AES128_CCM8, 0);
}

/* neg_invite: session_id@0 suite@8 group@9 peer_id_len@10 peer_id@11 (6)
 * n_pref@17 prefs@18 (2) */
Test(payload, neg_invite_fields)
{
	const struct sample *s = PAYLOAD("neg_invite_plain");

	cr_assert_eq(s->len, 20);
	expect_u64(s, 0, 0, E(BAD_FIELD));
	expect_byte(s, 8, 0, E(BAD_FIELD));
	expect_byte(s, 8, 6, E(BAD_FIELD));
	expect_byte(s, 8, SGA_SUITE_AES128_GCM, 0);
	expect_byte(s, 9, 0, E(BAD_FIELD));
	expect_byte(s, 9, 5, E(BAD_FIELD));
	expect_byte(s, 9, SGA_GROUP_FFDHE2048, 0);
	expect_byte(s, 10, 0, E(BAD_LENGTH));
	expect_byte(s, 10, SGA_ID_MAX + 1, E(BAD_LENGTH));
	expect_byte(s, 10, 7, E(BAD_FIELD)); /* takes n_pref (02) into the id */
	expect_byte(s, 11, ' ', E(BAD_FIELD));
	expect_byte(s, 17, 0, E(BAD_LENGTH));
	expect_byte(s, 17, SGA_MAX_SUITES + 1, E(BAD_LENGTH));
	expect_byte(s, 17, 3, E(TRUNCATED));
	expect_byte(s, 17, 1, E(TRAILING));
	expect_byte(s, 18, 0, E(BAD_FIELD));
	expect_byte(s, 19, s->b[18], E(BAD_FIELD));
	expect_byte(s, 19, SGA_SUITE_CHACHA20_POLY1305, 0);
}

/* neg_accept: session_id@0 accept@8 k_t@9 (32) */
Test(payload, neg_accept_fields)
{
	const struct sample *a = PAYLOAD("neg_accept_plain"),
	                    *d = PAYLOAD("neg_accept_plain(decline)");

	cr_assert_eq(a->len, 41);
	expect_u64(a, 0, 0, E(BAD_FIELD));
	expect_u64(d, 0, 0, E(BAD_FIELD));
	expect_byte(a, 8, 2, E(BAD_FIELD));
	expect_byte(a, 8, 0xff, E(BAD_FIELD));
	expect_byte(d, 8, 2, E(BAD_FIELD));
	expect_byte(a, 8, 0, E(BAD_FIELD)); /* declining with a non-zero k_t */
	for (size_t k = 9; k < 41; k++)
		expect_byte(d, k, 1, E(BAD_FIELD));
	expect_byte(d, 8, 1, 0); /* accepting with an all-zero k_t is a key question, not wire */
}

/* neg_result: req_ctr@0 status@8 suite@9 group@10 peer_id_len@11 peer_id@12 (6) */
Test(payload, neg_result_fields)
{
	const struct sample *ok = PAYLOAD("neg_result_plain"),
	                    *f = PAYLOAD("neg_result_plain(fail)");

	cr_assert_eq(ok->len, 18);
	expect_u64(ok, 0, 0, 0);
	expect_byte(ok, 9, 0, E(BAD_FIELD));
	expect_byte(ok, 9, 6, E(BAD_FIELD));
	expect_byte(ok, 10, 0, E(BAD_FIELD));
	expect_byte(ok, 10, 5, E(BAD_FIELD));
	expect_byte(ok, 8, SGA_E_DECLINED, E(BAD_FIELD)); /* failure with a suite/group */
	expect_byte(ok, 8, SGA_E__COUNT, E(BAD_FIELD));
	expect_byte(f, 8, SGA_E__COUNT, E(BAD_FIELD));
	expect_byte(f, 8, 0xff, E(BAD_FIELD));
	expect_byte(f, 8, SGA_E_DECLINED, 0);
	expect_byte(f, 8, 0, E(BAD_FIELD)); /* success with suite/group 0 */
	expect_byte(f, 9, SGA_SUITE_AES128_GCM, E(BAD_FIELD));
	expect_byte(f, 10, SGA_GROUP_FFDHE2048, E(BAD_FIELD));
	expect_byte(ok, 11, 0, E(BAD_LENGTH));
	expect_byte(f, 11, SGA_ID_MAX + 1, E(BAD_LENGTH));
	expect_byte(ok, 12, 0x01, E(BAD_FIELD));
	expect_byte(ok, 11, 7, E(TRUNCATED));
}

/* kex_init sample: n_len@0 (24) N@2 proof_len@26 (20) proof@27 f_len@47 (16) F@49 mac@65 */
Test(payload, kex_init_fields)
{
	const struct sample *s = PAYLOAD("kex_init_plain");

	cr_assert_eq(s->len, 97);
	expect_u16(s, 0, 0, E(BAD_LENGTH));
	expect_u16(s, 0, SGA_GROUP_MAX_LEN + 1, E(BAD_LENGTH));
	expect_u16(s, 0, 0xffff, E(BAD_LENGTH));
	expect_byte(s, 26, 0, E(BAD_LENGTH));
	expect_byte(s, 26, SGA_PROOF_MAX + 1, E(BAD_LENGTH));
	expect_byte(s, 26, 0xff, E(BAD_LENGTH));
	expect_u16(s, 47, 0, E(BAD_LENGTH));
	expect_u16(s, 47, SGA_RSA_MAX_LEN + 1, E(BAD_LENGTH));
	expect_u16(s, 47, 17, E(TRUNCATED));
	expect_u16(s, 47, 15, E(TRAILING));
}

/* kex_reply sample: x_len@0 (24) X@2 n_hash_peer@26 mac@58 */
Test(payload, kex_reply_fields)
{
	const struct sample *s = PAYLOAD("kex_reply_plain");

	cr_assert_eq(s->len, 90);
	expect_u16(s, 0, 0, E(BAD_LENGTH));
	expect_u16(s, 0, SGA_GROUP_MAX_LEN + 1, E(BAD_LENGTH));
	expect_u16(s, 0, 25, E(TRUNCATED));
	expect_u16(s, 0, 23, E(TRAILING));
}

Test(payload, reg_ack_and_data_inner_sizes)
{
	struct sga_data_inner d;
	uint8_t b[64] = {0};

	for (size_t n = 0; n < 8 + SGA_CT_MIN; n++)
		RC_EQ(sga_data_inner_decode(b, n, &d), E(TRUNCATED));
	for (size_t n = 8 + SGA_CT_MIN; n < sizeof(b); n++)
		RC_EQ(sga_data_inner_decode(b, n, &d), 0);
	RC_EQ(run_exact(chk_reg_ack_plain, b, 17), E(TRAILING));
	RC_EQ(run_exact(chk_reg_ack_plain, b, 16), 0);
}

/* DATA_ACK: exactly 16 bytes; bit 0 names top-1 and must be set; no bit may
 * name a sequence number below 0. */
static void put_ack(uint8_t b[16], uint64_t top, uint64_t bits)
{
	for (int i = 0; i < 8; i++) {
		b[i] = (uint8_t)(top >> (56 - 8 * i));
		b[8 + i] = (uint8_t)(bits >> (56 - 8 * i));
	}
}

Test(payload, data_ack_fields)
{
	struct sga_data_ack_plain a;
	uint8_t b[24] = {0};

	put_ack(b, 1, 1);
	for (size_t n = 0; n < 16; n++)
		RC_EQ(run_exact(chk_data_ack_plain, b, n), E(TRUNCATED));
	RC_EQ(run_exact(chk_data_ack_plain, b, 16), 0);
	RC_EQ(run_exact(chk_data_ack_plain, b, 17), E(TRAILING));
	RC_EQ(run_exact(chk_data_ack_plain, b, 24), E(TRAILING));
	RC_EQ(sga_data_ack_plain_decode(b, 16, &a), 0);
	cr_assert(a.top == 1 && a.bits == 1);

	put_ack(b, 10, 0x3fe); /* bit 0 clear */
	RC_EQ(run_exact(chk_data_ack_plain, b, 16), E(BAD_FIELD));
	put_ack(b, 0, 0); /* names nothing, top 0 */
	RC_EQ(run_exact(chk_data_ack_plain, b, 16), E(BAD_FIELD));
	put_ack(b, 0, 1); /* bit 0 would be e2e_seq -1 */
	RC_EQ(run_exact(chk_data_ack_plain, b, 16), E(BAD_FIELD));
	put_ack(b, 10, 0x7ff); /* bit 10: e2e_seq -1 */
	RC_EQ(run_exact(chk_data_ack_plain, b, 16), E(BAD_FIELD));
	put_ack(b, 10, 0x3ff | 1ull << 63);
	RC_EQ(run_exact(chk_data_ack_plain, b, 16), E(BAD_FIELD));
	put_ack(b, 10, 0x3ff); /* every bit below top: fine */
	RC_EQ(run_exact(chk_data_ack_plain, b, 16), 0);
	put_ack(b, 63, 1ull << 62 | 1);
	RC_EQ(run_exact(chk_data_ack_plain, b, 16), 0);
	put_ack(b, 63, 1ull << 63 | 1);
	RC_EQ(run_exact(chk_data_ack_plain, b, 16), E(BAD_FIELD));
	put_ack(b, 64, ~0ull); /* 0..63 */
	RC_EQ(run_exact(chk_data_ack_plain, b, 16), 0);
	put_ack(b, UINT64_MAX, ~0ull);
	RC_EQ(run_exact(chk_data_ack_plain, b, 16), 0);

	/* The encoder refuses what the decoder refuses. */
	a = (struct sga_data_ack_plain){.top = 10, .bits = 0x3fe};
	RC_EQ(sga_data_ack_plain_encode(&a, b, sizeof(b), &(size_t){0}), E(BAD_FIELD));
	a = (struct sga_data_ack_plain){.top = 3, .bits = 0xf};
	RC_EQ(sga_data_ack_plain_encode(&a, b, sizeof(b), &(size_t){0}), E(BAD_FIELD));
	RC_EQ(sga_data_ack_plain_decode(NULL, 16, &a), E(INTERNAL));
	RC_EQ(sga_data_ack_plain_decode(b, 16, NULL), E(INTERNAL));

	a = (struct sga_data_ack_plain){.top = 5, .bits = 0x15};
	cr_assert(sga_data_ack_names(&a, 4) && sga_data_ack_names(&a, 2) &&
	          sga_data_ack_names(&a, 0));
	cr_assert(!sga_data_ack_names(&a, 3) && !sga_data_ack_names(&a, 1));
	cr_assert(!sga_data_ack_names(&a, 5) && !sga_data_ack_names(&a, UINT64_MAX));
	a = (struct sga_data_ack_plain){.top = 1000, .bits = ~0ull};
	cr_assert(sga_data_ack_names(&a, 936) && !sga_data_ack_names(&a, 935));
}

/* ---- encoders --------------------------------------------------------------- */

/* Every cap below need gives -NOSPACE and leaves the buffer untouched. */
#define NOSPACE_LOOP(need, call)                                      \
	do {                                                          \
		for (size_t cap = 0; cap < (need); cap++) {           \
			memset(buf, 0xee, sizeof(buf));               \
			RC_EQ(call, E(NOSPACE));                      \
			cr_assert(all_bytes(buf, sizeof(buf), 0xee)); \
		}                                                     \
	} while (0)

Test(encode, envelopes)
{
	static uint8_t buf[SGA_FRAME_MAX + 16];
	uint8_t *ct;
	size_t aad, need;
	uint8_t bad_id[4] = {'a', ' ', 'b', 'c'};

	/* wrong kind of type */
	for (size_t i = 0; i < N_KNOWN; i++) {
		uint8_t t = KNOWN_TYPES[i];
		int d = decoder_for(t);

		RC_EQ(sga_env_dev_encode(t, DEV_ID, DEV_ID_LEN, 1, NONCE, 8, buf, sizeof(buf), &ct,
		                         &aad),
		      d == D_DEV ? 0 : E(BAD_TYPE));
		RC_EQ(sga_env_sess_encode(t, 1, 0, NONCE, 8, buf, sizeof(buf), &ct, &aad),
		      d == D_SESS ? 0 : E(BAD_TYPE));
		RC_EQ(sga_env_hop_encode(t, 1, 0, 1, 0, 8, buf, sizeof(buf), &ct, &aad),
		      d == D_HOP ? 0 : E(BAD_TYPE));
	}
	RC_EQ(sga_env_hop_encode(0x55, 1, 0, 1, 0, 8, buf, sizeof(buf), &ct, &aad), E(BAD_TYPE));

	/* device envelope fields */
	RC_EQ(sga_env_dev_encode(SGA_MSG_NEG_REQ, DEV_ID, 0, 1, NONCE, 8, buf, sizeof(buf), &ct,
	                         &aad),
	      E(BAD_LENGTH));
	RC_EQ(sga_env_dev_encode(SGA_MSG_NEG_REQ, buf, SGA_ID_MAX + 1, 1, NONCE, 8, buf,
	                         sizeof(buf), &ct, &aad),
	      E(BAD_LENGTH));
	RC_EQ(sga_env_dev_encode(SGA_MSG_NEG_REQ, bad_id, 4, 1, NONCE, 8, buf, sizeof(buf), &ct,
	                         &aad),
	      E(BAD_FIELD));
	RC_EQ(
	    sga_env_dev_encode(SGA_MSG_NEG_REQ, NULL, 4, 1, NONCE, 8, buf, sizeof(buf), &ct, &aad),
	    E(BAD_FIELD));
	RC_EQ(sga_env_dev_encode(SGA_MSG_NEG_REQ, DEV_ID, DEV_ID_LEN, 1, NULL, 8, buf, sizeof(buf),
	                         &ct, &aad),
	      E(BAD_FIELD));
	RC_EQ(sga_env_dev_encode(SGA_MSG_NEG_REQ, DEV_ID, DEV_ID_LEN, 1, NONCE, SGA_CT_MIN - 1, buf,
	                         sizeof(buf), &ct, &aad),
	      E(BAD_LENGTH));
	need = 25 + DEV_ID_LEN;
	RC_EQ(sga_env_dev_encode(SGA_MSG_NEG_REQ, DEV_ID, DEV_ID_LEN, 1, NONCE,
	                         SGA_FRAME_MAX - need + 1, buf, sizeof(buf), &ct, &aad),
	      E(OVERSIZED));
	RC_EQ(sga_env_dev_encode(SGA_MSG_NEG_REQ, DEV_ID, DEV_ID_LEN, 1, NONCE, SIZE_MAX, buf,
	                         sizeof(buf), &ct, &aad),
	      E(OVERSIZED));
	NOSPACE_LOOP(need + 8, sga_env_dev_encode(SGA_MSG_NEG_REQ, DEV_ID, DEV_ID_LEN, 1, NONCE, 8,
	                                          buf, cap, &ct, &aad));
	RC_EQ(sga_env_dev_encode(SGA_MSG_NEG_REQ, DEV_ID, DEV_ID_LEN, 1, NONCE, 8, buf, need + 8,
	                         &ct, &aad),
	      0);

	/* session envelope fields */
	RC_EQ(sga_env_sess_encode(SGA_MSG_KEX_INIT, 0, 0, NONCE, 8, buf, sizeof(buf), &ct, &aad),
	      E(BAD_FIELD));
	RC_EQ(sga_env_sess_encode(SGA_MSG_KEX_REPLY, 0, 0, NONCE, 8, buf, sizeof(buf), &ct, &aad),
	      E(BAD_FIELD));
	RC_EQ(sga_env_sess_encode(SGA_MSG_NEG_RESULT, 0, 0, NONCE, 8, buf, sizeof(buf), &ct, &aad),
	      0);
	RC_EQ(sga_env_sess_encode(SGA_MSG_KEX_INIT, 1, 2, NONCE, 8, buf, sizeof(buf), &ct, &aad),
	      E(BAD_FIELD));
	RC_EQ(sga_env_sess_encode(SGA_MSG_KEX_INIT, 1, 0, NULL, 8, buf, sizeof(buf), &ct, &aad),
	      E(BAD_FIELD));
	RC_EQ(sga_env_sess_encode(SGA_MSG_KEX_INIT, 1, 0, NONCE, 7, buf, sizeof(buf), &ct, &aad),
	      E(BAD_LENGTH));
	RC_EQ(sga_env_sess_encode(SGA_MSG_KEX_INIT, 1, 0, NONCE, SGA_FRAME_MAX - 25 + 1, buf,
	                          sizeof(buf), &ct, &aad),
	      E(OVERSIZED));
	NOSPACE_LOOP(25 + 8,
	             sga_env_sess_encode(SGA_MSG_KEX_INIT, 1, 0, NONCE, 8, buf, cap, &ct, &aad));
	/* oversized is reported even with a small buffer */
	RC_EQ(sga_env_sess_encode(SGA_MSG_KEX_INIT, 1, 0, NONCE, SGA_FRAME_MAX, buf, 10, &ct, &aad),
	      E(OVERSIZED));

	/* hop frame fields */
	RC_EQ(sga_env_hop_encode(SGA_MSG_DATA_UP, 0, 0, 0, 0, 8, buf, sizeof(buf), &ct, &aad),
	      E(BAD_FIELD));
	RC_EQ(sga_env_hop_encode(SGA_MSG_DATA_UP, 1, 3, 0, 0, 8, buf, sizeof(buf), &ct, &aad),
	      E(BAD_FIELD));
	RC_EQ(sga_env_hop_encode(SGA_MSG_DATA_UP, 1, 0, 0, 0, 0, buf, sizeof(buf), &ct, &aad),
	      E(BAD_LENGTH));
	RC_EQ(sga_env_hop_encode(SGA_MSG_DATA_UP, 1, 0, 0, 0, SGA_FRAME_MAX - 29 + 1, buf,
	                         sizeof(buf), &ct, &aad),
	      E(OVERSIZED));
	NOSPACE_LOOP(29 + 8,
	             sga_env_hop_encode(SGA_MSG_DATA_UP, 1, 0, 0, 0, 8, buf, cap, &ct, &aad));
	RC_EQ(sga_env_hop_encode(SGA_MSG_DATA_UP, 1, 0, 0, 0, 8, buf, 37, &ct, &aad), 0);
	RC_EQ(sga_env_hop_encode(SGA_MSG_DATA_UP, 1, 0, 0, 0, 8, buf, 37, NULL, &aad), E(INTERNAL));
}

Test(encode, reg_req_error_pkg_req)
{
	static uint8_t buf[SGA_FRAME_MAX];
	uint8_t rsa[SGA_RSA_MAX_LEN + 1] = {0};
	uint8_t *mac;
	size_t n;

	for (int f = 2; f < 256; f++)
		RC_EQ(sga_reg_req_encode((uint8_t)f, SGA_GROUP_FFDHE2048, rsa, 10, buf, sizeof(buf),
		                         &mac, &n),
		      E(BAD_FIELD));
	RC_EQ(sga_reg_req_encode(0, SGA_GROUP_FFDHE2048, rsa, 0, buf, sizeof(buf), &mac, &n),
	      E(BAD_LENGTH));
	RC_EQ(sga_reg_req_encode(0, SGA_GROUP_FFDHE2048, rsa, SGA_RSA_MAX_LEN + 1, buf, sizeof(buf),
	                         &mac, &n),
	      E(BAD_LENGTH));
	RC_EQ(sga_reg_req_encode(0, SGA_GROUP_FFDHE2048, NULL, 10, buf, sizeof(buf), &mac, &n),
	      E(BAD_FIELD));
	NOSPACE_LOOP(7 + 10,
	             sga_reg_req_encode(0, SGA_GROUP_FFDHE2048, rsa, 10, buf, cap, &mac, &n));
	NOSPACE_LOOP(7 + 10 + 32, sga_reg_req_encode(SGA_REG_FLAG_REKEY, SGA_GROUP_FFDHE2048, rsa,
	                                             10, buf, cap, &mac, &n));
	RC_EQ(
	    sga_reg_req_encode(SGA_REG_FLAG_REKEY, SGA_GROUP_FFDHE2048, rsa, 10, buf, 49, &mac, &n),
	    0);
	cr_assert_eq(n, 49);

	RC_EQ(sga_error_encode(0, NULL, 0, buf, sizeof(buf), &n), E(BAD_FIELD));
	RC_EQ(sga_error_encode(SGA_E__COUNT, NULL, 0, buf, sizeof(buf), &n), E(BAD_FIELD));
	RC_EQ(sga_error_encode(0xffff, NULL, 0, buf, sizeof(buf), &n), E(BAD_FIELD));
	RC_EQ(sga_error_encode(1, rsa, SGA_ID_MAX + 1, buf, sizeof(buf), &n), E(BAD_LENGTH));
	RC_EQ(sga_error_encode(1, NULL, 3, buf, sizeof(buf), &n), E(BAD_FIELD));
	NOSPACE_LOOP(7 + 8, sga_error_encode(SGA_E_AUTH, rsa, 8, buf, cap, &n));

	NOSPACE_LOOP(SGA_PKG_REQ_LEN, sga_pkg_req_encode(0, buf, cap, &n));
}

Test(encode, package)
{
	static uint8_t buf[SGA_FRAME_MAX];
	static struct sga_package p;
	size_t n, need;

	valid_package(&p, 30, 20);
	need = 1 + 1 + 10 + 1 + 1 + 3 + 2 + 30 + 2 + 20;
	NOSPACE_LOOP(need, sga_package_encode(&p, buf, cap, &n));
	NOSPACE_LOOP(need + 4, sga_pkg_encode(&p, buf, cap, &n));
	RC_EQ(sga_package_encode(&p, buf, need, &n), 0);
	RC_EQ(sga_pkg_encode(&p, buf, need + 4, &n), 0);

#define PKG_BAD(stmt, code)                                                \
	do {                                                               \
		valid_package(&p, 30, 20);                                 \
		stmt;                                                      \
		RC_EQ(sga_package_encode(&p, buf, sizeof(buf), &n), code); \
		RC_EQ(sga_pkg_encode(&p, buf, sizeof(buf), &n), code);     \
	} while (0)
	PKG_BAD(p.id_len = 0, E(BAD_LENGTH));
	PKG_BAD(p.id_len = SGA_ID_MAX + 1, E(BAD_LENGTH));
	PKG_BAD(p.id[3] = ' ', E(BAD_FIELD));
	PKG_BAD(p.group = 0, E(BAD_FIELD));
	PKG_BAD(p.group = 9, E(BAD_FIELD));
	PKG_BAD(p.n_suites = 0, E(BAD_LENGTH));
	PKG_BAD(p.n_suites = SGA_MAX_SUITES + 1, E(BAD_LENGTH));
	PKG_BAD(p.suites[1] = 0, E(BAD_FIELD));
	PKG_BAD(p.suites[1] = p.suites[2], E(BAD_FIELD));
	PKG_BAD(p.pk_len = 0, E(BAD_LENGTH));
	PKG_BAD(p.pk_len = SGA_DER_MAX + 1, E(BAD_LENGTH));
	PKG_BAD(p.tpk_len = 0, E(BAD_LENGTH));
	PKG_BAD(p.tpk_len = SGA_DER_MAX + 1, E(BAD_LENGTH));
#undef PKG_BAD
}

Test(encode, payloads)
{
	static uint8_t buf[2048];
	size_t n;

	{
		struct sga_reg_plain m;

#define BAD(stmt, code)                                                      \
	do {                                                                 \
		valid_reg_plain(&m);                                         \
		stmt;                                                        \
		RC_EQ(sga_reg_plain_encode(&m, buf, sizeof(buf), &n), code); \
	} while (0)
		BAD(m.n_suites = 0, E(BAD_LENGTH));
		BAD(m.n_suites = 9, E(BAD_LENGTH));
		BAD(m.suites[0] = 0x10, E(BAD_FIELD));
		BAD(m.suites[0] = m.suites[1], E(BAD_FIELD));
		BAD(m.suite_init = SGA_SUITE_AES128_CCM8, E(BAD_FIELD));
		BAD(m.id_len = 0, E(BAD_LENGTH));
		BAD(m.id_len = 33, E(BAD_LENGTH));
		BAD(m.id[0] = 0x7f, E(BAD_FIELD));
		BAD(m.token_len = 33, E(BAD_LENGTH));
#undef BAD
		valid_reg_plain(&m);
		NOSPACE_LOOP(73, sga_reg_plain_encode(&m, buf, cap, &n));
	}
	{
		struct sga_reg_ack_plain m = {{0}};

		NOSPACE_LOOP(16, sga_reg_ack_plain_encode(&m, buf, cap, &n));
	}
	{
		struct sga_data_ack_plain m = {.top = 1, .bits = 1};

		NOSPACE_LOOP(16, sga_data_ack_plain_encode(&m, buf, cap, &n));
	}
	{
		struct sga_neg_req_plain m;

#define BAD(stmt, code)                                                          \
	do {                                                                     \
		valid_neg_req(&m);                                               \
		stmt;                                                            \
		RC_EQ(sga_neg_req_plain_encode(&m, buf, sizeof(buf), &n), code); \
	} while (0)
		BAD(m.peer_id_len = 0, E(BAD_LENGTH));
		BAD(m.peer_id_len = 33, E(BAD_LENGTH));
		BAD(m.peer_id[1] = 0, E(BAD_FIELD));
		BAD(m.n_pref = 0, E(BAD_LENGTH));
		BAD(m.n_pref = 9, E(BAD_LENGTH));
		BAD(m.prefs[1] = 0, E(BAD_FIELD));
		BAD(m.prefs[1] = m.prefs[0], E(BAD_FIELD));
#undef BAD
		valid_neg_req(&m);
		NOSPACE_LOOP(42, sga_neg_req_plain_encode(&m, buf, cap, &n));
	}
	{
		struct sga_neg_invite_plain m;

#define BAD(stmt, code)                                                             \
	do {                                                                        \
		valid_neg_invite(&m);                                               \
		stmt;                                                               \
		RC_EQ(sga_neg_invite_plain_encode(&m, buf, sizeof(buf), &n), code); \
	} while (0)
		BAD(m.session_id = 0, E(BAD_FIELD));
		BAD(m.suite = 0, E(BAD_FIELD));
		BAD(m.group = 0, E(BAD_FIELD));
		BAD(m.peer_id_len = 0, E(BAD_LENGTH));
		BAD(m.peer_id_len = 40, E(BAD_LENGTH));
		BAD(m.peer_id[0] = ' ', E(BAD_FIELD));
		BAD(m.n_pref = 0, E(BAD_LENGTH));
		BAD(m.prefs[1] = m.prefs[0], E(BAD_FIELD));
#undef BAD
		valid_neg_invite(&m);
		NOSPACE_LOOP(20, sga_neg_invite_plain_encode(&m, buf, cap, &n));
	}
	{
		struct sga_neg_accept_plain m;

#define BAD(stmt, code)                                                             \
	do {                                                                        \
		valid_neg_accept(&m);                                               \
		stmt;                                                               \
		RC_EQ(sga_neg_accept_plain_encode(&m, buf, sizeof(buf), &n), code); \
	} while (0)
		BAD(m.session_id = 0, E(BAD_FIELD));
		BAD(m.accept = 2, E(BAD_FIELD));
		BAD(m.accept = 0, E(BAD_FIELD));
		BAD((m.accept = 0, memset(m.k_t, 0, 32), m.k_t[31] = 1), E(BAD_FIELD));
		BAD((m.accept = 0, memset(m.k_t, 0, 32)), 0);
#undef BAD
		valid_neg_accept(&m);
		NOSPACE_LOOP(41, sga_neg_accept_plain_encode(&m, buf, cap, &n));
	}
	{
		struct sga_neg_result_plain m;

#define BAD(stmt, code)                                                             \
	do {                                                                        \
		valid_neg_result(&m);                                               \
		stmt;                                                               \
		RC_EQ(sga_neg_result_plain_encode(&m, buf, sizeof(buf), &n), code); \
	} while (0)
		BAD(m.suite = 0, E(BAD_FIELD));
		BAD(m.group = 7, E(BAD_FIELD));
		BAD(m.status = SGA_E_DECLINED, E(BAD_FIELD));
		BAD((m.status = SGA_E_DECLINED, m.suite = 0), E(BAD_FIELD));
		BAD((m.status = SGA_E_DECLINED, m.group = 0), E(BAD_FIELD));
		BAD((m.status = SGA_E_DECLINED, m.suite = m.group = 0), 0);
		BAD((m.status = SGA_E__COUNT, m.suite = m.group = 0), E(BAD_FIELD));
		BAD(m.peer_id_len = 0, E(BAD_LENGTH));
		BAD(m.peer_id[2] = 0x80, E(BAD_FIELD));
#undef BAD
		valid_neg_result(&m);
		NOSPACE_LOOP(18, sga_neg_result_plain_encode(&m, buf, cap, &n));
	}
	{
		struct sga_kex_init_plain m;

#define BAD(stmt, code)                                                           \
	do {                                                                      \
		valid_kex_init(&m, 24, 20, 16);                                   \
		stmt;                                                             \
		RC_EQ(sga_kex_init_plain_encode(&m, buf, sizeof(buf), &n), code); \
	} while (0)
		BAD(m.n_len = 0, E(BAD_LENGTH));
		BAD(m.n_len = SGA_GROUP_MAX_LEN + 1, E(BAD_LENGTH));
		BAD(m.proof_len = 0, E(BAD_LENGTH));
		BAD(m.proof_len = SGA_PROOF_MAX + 1, E(BAD_LENGTH));
		BAD(m.f_len = 0, E(BAD_LENGTH));
		BAD(m.f_len = SGA_RSA_MAX_LEN + 1, E(BAD_LENGTH));
		BAD(m.n = NULL, E(BAD_FIELD));
		BAD(m.mac = NULL, E(BAD_FIELD));
#undef BAD
		valid_kex_init(&m, 24, 20, 16);
		NOSPACE_LOOP(97, sga_kex_init_plain_encode(&m, buf, cap, &n));
	}
	{
		struct sga_kex_reply_plain m;

		valid_kex_reply(&m, 0);
		RC_EQ(sga_kex_reply_plain_encode(&m, buf, sizeof(buf), &n), E(BAD_LENGTH));
		valid_kex_reply(&m, SGA_GROUP_MAX_LEN + 1);
		RC_EQ(sga_kex_reply_plain_encode(&m, buf, sizeof(buf), &n), E(BAD_LENGTH));
		valid_kex_reply(&m, 24);
		m.x = NULL;
		RC_EQ(sga_kex_reply_plain_encode(&m, buf, sizeof(buf), &n), E(BAD_FIELD));
		valid_kex_reply(&m, 24);
		m.n_hash_peer = NULL;
		RC_EQ(sga_kex_reply_plain_encode(&m, buf, sizeof(buf), &n), E(BAD_FIELD));
		valid_kex_reply(&m, 24);
		NOSPACE_LOOP(90, sga_kex_reply_plain_encode(&m, buf, cap, &n));
	}
	{
		uint8_t *ct;

		RC_EQ(sga_data_inner_encode(1, SGA_CT_MIN - 1, buf, sizeof(buf), &ct, &n),
		      E(BAD_LENGTH));
		NOSPACE_LOOP(16, sga_data_inner_encode(1, 8, buf, cap, &ct, &n));
		RC_EQ(sga_data_inner_encode(1, SIZE_MAX, buf, sizeof(buf), &ct, &n), E(NOSPACE));
	}
}

/* ---- mutation loop ------------------------------------------------------------ */

static uint64_t xs_state = 0x9e3779b97f4a7c15ULL;

static uint64_t xorshift(void)
{
	uint64_t x = xs_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return xs_state = x;
}

static const chk_fn payload_chk[] = {
    chk_package,          chk_reg_plain,        chk_reg_ack_plain,    chk_neg_req_plain,
    chk_neg_invite_plain, chk_neg_accept_plain, chk_neg_result_plain, chk_kex_init_plain,
    chk_kex_reply_plain,  chk_data_inner,       chk_data_ack_plain,
};
#define N_PAYLOAD_CHK (sizeof(payload_chk) / sizeof(payload_chk[0]))

Test(fuzz, mutation_loop)
{
	static uint8_t b[SGA_FRAME_MAX + 64];
	size_t ok = 0, bad = 0;

	for (int it = 0; it < 20000; it++) {
		int is_frame = (xorshift() & 1) != 0;
		const struct sample *s =
		    is_frame ? &frames[xorshift() % n_frames] : &payloads[xorshift() % n_payloads];
		size_t len = s->len;
		int nmut = 1 + (int)(xorshift() % 4);

		memcpy(b, s->b, len);
		for (int k = 0; k < nmut; k++) {
			uint64_t r = xorshift();

			switch (r % 6) {
			case 0: /* flip a bit */
				if (len)
					b[(r >> 8) % len] ^= (uint8_t)(1u << ((r >> 40) % 8));
				break;
			case 1: /* random byte */
				if (len)
					b[(r >> 8) % len] = (uint8_t)(r >> 48);
				break;
			case 2: /* truncate */
				len = len ? (size_t)((r >> 8) % len) : 0;
				break;
			case 3: /* extend */
				for (size_t e = 1 + (r >> 8) % 8; e && len < sizeof(b); e--)
					b[len++] = (uint8_t)xorshift();
				break;
			case 4: /* small length-ish value in a random spot */
				if (len)
					b[(r >> 8) % len] = (uint8_t)((r >> 40) % 40);
				break;
			default: /* nothing: the header fix-up below may still matter */
				break;
			}
		}
		if (is_frame && len >= SGA_HDR_LEN && (xorshift() % 4) != 0)
			sga_put_u16(b + 2, (uint16_t)(len - SGA_HDR_LEN));

		for (int d = 0; d < D__N; d++) {
			int rc = run_exact(frame_chk[d], b, len);
			cr_assert(decoder_code_ok(rc), "iter %d frame decoder %d: %d", it, d, rc);
			cr_assert_str_neq(sga_err_name(rc), "UNKNOWN");
			if (rc)
				bad++;
			else
				ok++;
		}
		for (size_t d = 0; d < N_PAYLOAD_CHK; d++) {
			int rc = run_exact(payload_chk[d], b, len);
			cr_assert(decoder_code_ok(rc), "iter %d payload decoder %zu: %d", it, d,
			          rc);
			if (rc)
				bad++;
			else
				ok++;
		}
		int rc = sga_hdr_parse(b, len, NULL);
		cr_assert(decoder_code_ok(rc));
	}
	/* the loop exercised both outcomes */
	cr_assert_gt(ok, 1000);
	cr_assert_gt(bad, 100000);
}

/* ---- WAKE and WAKE_ACK plaintexts (PROTOCOL.md 7.16) ----------------------------- */

Test(wire, wake_plain_rules)
{
	struct sga_wake_plain m = {.flags = SGA_WAKE_FLAGS_ALL}, got;
	uint8_t b[8];
	size_t n;

	RC_EQ(sga_wake_plain_encode(&m, b, sizeof(b), &n), 0);
	cr_assert(n == SGA_WAKE_PLAIN_LEN && b[0] == 0x03 && b[1] == 0);
	RC_EQ(sga_wake_plain_decode(b, n, &got), 0);
	cr_assert_eq(got.flags, 0x03);
	/* Each defined flag alone, and none (only the address moves), are valid. */
	for (uint8_t f = 0; f <= SGA_WAKE_FLAGS_ALL; f++) {
		b[0] = f;
		RC_EQ(sga_wake_plain_decode(b, 2, &got), 0);
		cr_assert_eq(got.flags, f);
	}
	/* Every undefined flag bit: BAD_FIELD, on both sides. */
	for (int bit = 2; bit < 8; bit++) {
		b[0] = (uint8_t)(1u << bit);
		b[1] = 0;
		RC_EQ(sga_wake_plain_decode(b, 2, &got), E(BAD_FIELD));
		cr_assert_eq(got.flags, 0); /* wiped on refusal */
		m.flags = (uint8_t)(1u << bit);
		RC_EQ(sga_wake_plain_encode(&m, b, sizeof(b), &n), E(BAD_FIELD));
	}
	/* The second byte must be zero. */
	b[0] = 1;
	b[1] = 1;
	RC_EQ(sga_wake_plain_decode(b, 2, &got), E(BAD_FIELD));
	b[1] = 0x80;
	RC_EQ(sga_wake_plain_decode(b, 2, &got), E(BAD_FIELD));
	/* Exactly two bytes. */
	b[1] = 0;
	RC_EQ(sga_wake_plain_decode(b, 0, &got), E(TRUNCATED));
	RC_EQ(sga_wake_plain_decode(b, 1, &got), E(TRUNCATED));
	RC_EQ(sga_wake_plain_decode(b, 3, &got), E(TRAILING));
	m.flags = 1;
	RC_EQ(sga_wake_plain_encode(&m, b, 1, &n), E(NOSPACE));
	RC_EQ(sga_wake_plain_decode(b, 2, NULL), E(INTERNAL));
}

Test(wire, wake_ack_plain_rules)
{
	struct sga_wake_ack_plain m = {.invitations = 3, .stored = 255}, got;
	uint8_t b[8];
	size_t n;

	RC_EQ(sga_wake_ack_plain_encode(&m, b, sizeof(b), &n), 0);
	cr_assert(n == SGA_WAKE_ACK_PLAIN_LEN && b[0] == 3 && b[1] == 255);
	RC_EQ(sga_wake_ack_plain_decode(b, n, &got), 0);
	cr_assert(got.invitations == 3 && got.stored == 255);
	RC_EQ(sga_wake_ack_plain_decode(b, 1, &got), E(TRUNCATED));
	RC_EQ(sga_wake_ack_plain_decode(b, 3, &got), E(TRAILING));
	RC_EQ(sga_wake_ack_plain_encode(&m, b, 1, &n), E(NOSPACE));
	/* No larger than the WAKE it answers (section 7.16: no amplification). */
	cr_assert_leq(SGA_WAKE_ACK_PLAIN_LEN, SGA_WAKE_PLAIN_LEN);
}

Test(wire, wake_is_a_device_envelope)
{
	uint8_t f[64], nonce[12] = {0}, *ct;
	size_t aad_len;
	struct sga_env_dev env;

	for (int t = SGA_MSG_WAKE; t <= SGA_MSG_WAKE_ACK; t++) {
		RC_EQ(sga_env_dev_encode((uint8_t)t, (const uint8_t *)"dev-i", 5, 7, nonce, 18, f,
		                         sizeof(f), &ct, &aad_len),
		      0);
		cr_assert_eq(aad_len, 30);
		RC_EQ(sga_env_dev_decode(f, aad_len + 18, &env), 0);
		cr_assert(env.type == t && env.ctr == 7 && env.id_len == 5);
	}
}
