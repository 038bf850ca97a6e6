/* SPDX-License-Identifier: BSD-3-Clause */
/* sga_close.c - SESSION_CLOSE and SESSION_CLOSED (sga_close.h, PROTOCOL.md 7.14). */
#include <string.h>

#include "sga_check.h"
#include "sga_close.h"
#include "sga_cursor.h"
#include "sga_keys.h"
#include "sga_rekey.h"
#include "sga_wire.h"

const char *sga_close_reason_name(uint8_t reason)
{
	switch (reason) {
	case SGA_CLOSE_DEVICE:
		return "device";
	case SGA_CLOSE_IDLE:
		return "idle";
	case SGA_CLOSE_LIFETIME:
		return "lifetime";
	case SGA_CLOSE_OPERATOR:
		return "operator";
	case SGA_CLOSE_REVOKED:
		return "revoked";
	default:
		return "unknown";
	}
}

static int exact_len(size_t len, size_t want)
{
	return len < want ? -SGA_E_TRUNCATED : len > want ? -SGA_E_TRAILING : 0;
}

int sga_session_close_plain_encode(uint8_t reason, uint8_t *out, size_t cap, size_t *len)
{
	if (!out || !len)
		return -SGA_E_BAD_FIELD;
	if (reason != SGA_CLOSE_DEVICE)
		return -SGA_E_BAD_FIELD;
	if (cap < SGA_SESSION_CLOSE_PLAIN_LEN)
		return -SGA_E_NOSPACE;
	out[0] = reason;
	*len = SGA_SESSION_CLOSE_PLAIN_LEN;
	return 0;
}

int sga_session_close_plain_decode(const uint8_t *p, size_t len, uint8_t *reason)
{
	int rc;

	if (!p || !reason)
		return -SGA_E_BAD_FIELD;
	rc = exact_len(len, SGA_SESSION_CLOSE_PLAIN_LEN);
	if (rc)
		return rc;
	if (p[0] != SGA_CLOSE_DEVICE)
		return -SGA_E_BAD_FIELD;
	*reason = p[0];
	return 0;
}

int sga_session_closed_plain_encode(const struct sga_session_closed_plain *c, uint8_t *out,
                                    size_t cap, size_t *len)
{
	struct sga_wr w;

	if (!c || !out || !len)
		return -SGA_E_BAD_FIELD;
	if (c->reason < SGA_CLOSE_DEVICE || c->reason > SGA_CLOSE_REASON_MAX)
		return -SGA_E_BAD_FIELD;
	sga_wr_init(&w, out, cap);
	sga_wr_u8(&w, c->reason);
	sga_wr_u64(&w, c->delivered);
	if (w.err)
		return w.err;
	*len = w.off;
	return 0;
}

int sga_session_closed_plain_decode(const uint8_t *p, size_t len,
                                    struct sga_session_closed_plain *c)
{
	struct sga_rd r;
	int rc;

	if (!p || !c)
		return -SGA_E_BAD_FIELD;
	memset(c, 0, sizeof(*c));
	rc = exact_len(len, SGA_SESSION_CLOSED_PLAIN_LEN);
	if (rc)
		return rc;
	sga_rd_init(&r, p, len);
	c->reason = sga_rd_u8(&r);
	c->delivered = sga_rd_u64(&r);
	if (r.err)
		return r.err;
	if (c->reason < SGA_CLOSE_DEVICE || c->reason > SGA_CLOSE_REASON_MAX) {
		memset(c, 0, sizeof(*c));
		return -SGA_E_BAD_FIELD;
	}
	return 0;
}

/* Open a `want` session envelope of session sid for member `role` (the
 * envelope's role must be it) under its kex key. */
static int close_open(uint8_t want, const uint8_t *frame, size_t len, uint64_t sid, uint8_t role,
                      uint8_t suite, const uint8_t *key, uint8_t *plain, size_t cap,
                      size_t *plain_len)
{
	struct sga_env_sess env;
	int rc;

	CHECK(sga_env_sess_decode(frame, len, &env));
	if (env.type != want) {
		rc = -SGA_E_BAD_TYPE;
		goto out;
	}
	if (env.session_id != sid) {
		rc = -SGA_E_UNKNOWN_SESSION;
		goto out;
	}
	if (env.role != role) {
		rc = -SGA_E_BAD_FIELD;
		goto out;
	}
	CHECK(sga_open_env(suite, key, env.nonce, env.aad, env.aad_len, env.ct, env.ct_len, plain,
	                   cap, plain_len));
out:
	return rc;
}

int sga_dev_create_session_close(const struct sga_dev_sess *s, uint8_t *out, size_t cap,
                                 size_t *len)
{
	uint8_t plain[SGA_SESSION_CLOSE_PLAIN_LEN];
	size_t plain_len;
	int rc;

	if (!s || !out || !len)
		return -SGA_E_BAD_FIELD;
	if (s->state != SGA_DEV_S_ESTABLISHED || !s->session_id)
		return -SGA_E_BAD_STATE;
	CHECK(sga_session_close_plain_encode(SGA_CLOSE_DEVICE, plain, sizeof(plain), &plain_len));
	/* The kex key outlives the handshake for this (sga_dev_consume_kex_reply). */
	CHECK(sga_seal_sess_env(SGA_MSG_SESSION_CLOSE, s->session_id, s->role, s->hop_suite,
	                        s->kex_key, plain, plain_len, out, cap, len));
out:
	return rc;
}

int sga_dev_consume_session_closed(const struct sga_dev_sess *s, const uint8_t *frame, size_t len,
                                   struct sga_session_closed_plain *c)
{
	uint8_t plain[SGA_FRAME_MAX];
	size_t plain_len = 0;
	int rc;

	if (!s || !frame || !c)
		return -SGA_E_BAD_FIELD;
	memset(c, 0, sizeof(*c));
	if ((s->state != SGA_DEV_S_ESTABLISHED && s->state != SGA_DEV_S_KEX) || !s->session_id)
		return -SGA_E_BAD_STATE;
	CHECK(close_open(SGA_MSG_SESSION_CLOSED, frame, len, s->session_id, s->role, s->hop_suite,
	                 s->kex_key, plain, sizeof(plain), &plain_len));
	CHECK(sga_session_closed_plain_decode(plain, plain_len, c));
out:
	sga_memzero(plain, sizeof(plain));
	return rc;
}

int sga_gw_open_session_close(const struct sga_gw_session *sess, const uint8_t *frame, size_t len,
                              uint8_t *role)
{
	uint8_t plain[SGA_FRAME_MAX], key[SGA_AEAD_MAX_KEY_LEN], reason;
	struct sga_env_sess env;
	size_t plain_len = 0;
	int rc;

	if (!sess || !frame || !role)
		return -SGA_E_BAD_FIELD;
	CHECK(sga_env_sess_decode(frame, len, &env));
	if (env.type != SGA_MSG_SESSION_CLOSE) {
		rc = -SGA_E_BAD_TYPE;
		goto out;
	}
	if (!sess->session_id || env.session_id != sess->session_id) {
		rc = -SGA_E_UNKNOWN_SESSION;
		goto out;
	}
	if (sess->state != SGA_GW_S_ESTABLISHED) {
		rc = -SGA_E_BAD_STATE;
		goto out;
	}
	/* The kex key of the session's current generation (7.15). */
	CHECK(sga_key_kex_gen(sess->k_t[env.role], sess->session_id, sess->rk.gen,
	                      sess->hop_suite[env.role], key));
	CHECK(close_open(SGA_MSG_SESSION_CLOSE, frame, len, sess->session_id, env.role,
	                 sess->hop_suite[env.role], key, plain, sizeof(plain), &plain_len));
	CHECK(sga_session_close_plain_decode(plain, plain_len, &reason));
	*role = env.role;
out:
	sga_memzero(plain, sizeof(plain));
	sga_memzero(key, sizeof(key));
	return rc;
}

int sga_gw_create_session_closed(const struct sga_gw_session *sess, uint8_t role,
                                 const struct sga_session_closed_plain *c, uint8_t *out, size_t cap,
                                 size_t *len)
{
	uint8_t plain[SGA_SESSION_CLOSED_PLAIN_LEN], key[SGA_AEAD_MAX_KEY_LEN];
	size_t plain_len;
	int rc;

	if (!sess || !c || !out || !len || role > 1 || !sess->session_id)
		return -SGA_E_BAD_FIELD;
	CHECK(sga_session_closed_plain_encode(c, plain, sizeof(plain), &plain_len));
	CHECK(sga_key_kex_gen(sess->k_t[role], sess->session_id, sess->rk.gen,
	                      sess->hop_suite[role], key));
	CHECK(sga_seal_sess_env(SGA_MSG_SESSION_CLOSED, sess->session_id, role,
	                        sess->hop_suite[role], key, plain, plain_len, out, cap, len));
out:
	sga_memzero(key, sizeof(key));
	return rc;
}
