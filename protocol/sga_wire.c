/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_wire.c - the SGA wire codec: frame header, envelopes, REG_REQ, ERROR,
 * PKG_REQ, the gateway package and every payload (see sga_wire.h for layouts).
 *
 * All reads go through struct sga_rd and all writes through struct sga_wr, so
 * no byte is touched before its length is checked. Decoders validate each field
 * as soon as it is read, in wire order, and fail with the first error found;
 * encoders validate the whole struct first, then check space, then write. A
 * failed decode leaves the output struct zeroed.
 */
#include <string.h>

#include "sga_check.h"
#include "sga_cursor.h"
#include "sga_wire.h"

/* Envelope clear-part sizes (header included), excluding the variable id. */
#define DEV_FIXED (SGA_HDR_LEN + 1 + 8 + SGA_AEAD_NONCE_LEN)
#define SESS_LEN  (SGA_HDR_LEN + SGA_SESSION_ID_LEN + 1 + SGA_AEAD_NONCE_LEN)
#define HOP_LEN   (SGA_HDR_LEN + SGA_SESSION_ID_LEN + 1 + 8 + 8)

/* ---- basics ------------------------------------------------------------ */

const char *sga_msg_name(uint8_t type)
{
	switch (type) {
	case SGA_MSG_REG_REQ:
		return "REG_REQ";
	case SGA_MSG_REG_ACK:
		return "REG_ACK";
	case SGA_MSG_PKG_REQ:
		return "PKG_REQ";
	case SGA_MSG_PKG:
		return "PKG";
	case SGA_MSG_NEG_REQ:
		return "NEG_REQ";
	case SGA_MSG_NEG_INVITE:
		return "NEG_INVITE";
	case SGA_MSG_NEG_ACCEPT:
		return "NEG_ACCEPT";
	case SGA_MSG_NEG_RESULT:
		return "NEG_RESULT";
	case SGA_MSG_WAKE:
		return "WAKE";
	case SGA_MSG_WAKE_ACK:
		return "WAKE_ACK";
	case SGA_MSG_KEX_INIT:
		return "KEX_INIT";
	case SGA_MSG_KEX_REPLY:
		return "KEX_REPLY";
	case SGA_MSG_REKEY_INIT:
		return "REKEY_INIT";
	case SGA_MSG_REKEY_NOTICE:
		return "REKEY_NOTICE";
	case SGA_MSG_REKEY_REPLY:
		return "REKEY_REPLY";
	case SGA_MSG_DATA_UP:
		return "DATA_UP";
	case SGA_MSG_DATA_DOWN:
		return "DATA_DOWN";
	case SGA_MSG_DATA_ACK:
		return "DATA_ACK";
	case SGA_MSG_DATA_DELIVERED:
		return "DATA_DELIVERED";
	case SGA_MSG_DATA_SKIP:
		return "DATA_SKIP";
	case SGA_MSG_COOKIE_REPLY:
		return "COOKIE_REPLY";
	case SGA_MSG_COOKIE_ECHO:
		return "COOKIE_ECHO";
	case SGA_MSG_SESSION_CLOSE:
		return "SESSION_CLOSE";
	case SGA_MSG_SESSION_CLOSED:
		return "SESSION_CLOSED";
	case SGA_MSG_ERROR:
		return "ERROR";
	default:
		return "UNKNOWN";
	}
}

/* Every frame passes here: a switch the compiler turns into a few compares,
 * not a name look-up and a strcmp. Keep it in step with sga_msg_name. */
static int type_known(uint8_t type)
{
	switch (type) {
	case SGA_MSG_REG_REQ:
	case SGA_MSG_REG_ACK:
	case SGA_MSG_PKG_REQ:
	case SGA_MSG_PKG:
	case SGA_MSG_NEG_REQ:
	case SGA_MSG_NEG_INVITE:
	case SGA_MSG_NEG_ACCEPT:
	case SGA_MSG_NEG_RESULT:
	case SGA_MSG_WAKE:
	case SGA_MSG_WAKE_ACK:
	case SGA_MSG_KEX_INIT:
	case SGA_MSG_KEX_REPLY:
	case SGA_MSG_REKEY_INIT:
	case SGA_MSG_REKEY_NOTICE:
	case SGA_MSG_REKEY_REPLY:
	case SGA_MSG_DATA_UP:
	case SGA_MSG_DATA_DOWN:
	case SGA_MSG_DATA_ACK:
	case SGA_MSG_DATA_DELIVERED:
	case SGA_MSG_DATA_SKIP:
	case SGA_MSG_COOKIE_REPLY:
	case SGA_MSG_COOKIE_ECHO:
	case SGA_MSG_SESSION_CLOSE:
	case SGA_MSG_SESSION_CLOSED:
	case SGA_MSG_ERROR:
		return 1;
	default:
		return 0;
	}
}

int sga_hdr_parse(const uint8_t *frame, size_t len, struct sga_hdr *hdr)
{
	struct sga_rd r;
	struct sga_hdr h;

	if (hdr)
		memset(hdr, 0, sizeof(*hdr));
	if (len < SGA_HDR_LEN)
		return -SGA_E_TRUNCATED;
	if (!frame)
		return -SGA_E_INTERNAL;
	if (len > SGA_FRAME_MAX)
		return -SGA_E_OVERSIZED;
	sga_rd_init(&r, frame, len);
	h.version = sga_rd_u8(&r);
	h.type = sga_rd_u8(&r);
	h.body_len = sga_rd_u16(&r);
	if (h.version != SGA_WIRE_VERSION)
		return -SGA_E_BAD_VERSION;
	if (!type_known(h.type))
		return -SGA_E_BAD_TYPE;
	if (h.body_len > len - SGA_HDR_LEN)
		return -SGA_E_TRUNCATED;
	if (h.body_len < len - SGA_HDR_LEN)
		return -SGA_E_TRAILING;
	if (hdr)
		*hdr = h;
	return 0;
}

int sga_id_valid(const uint8_t *id, size_t len)
{
	if (!id || len < 1 || len > SGA_ID_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (id[i] < 0x21 || id[i] > 0x7e)
			return 0;
	return 1;
}

int sga_suite_list_check(const uint8_t *suites, size_t n)
{
	if (n < 1 || n > SGA_MAX_SUITES)
		return -SGA_E_BAD_LENGTH;
	if (!suites)
		return -SGA_E_BAD_FIELD;
	for (size_t i = 0; i < n; i++) {
		if (!sga_suite_get(suites[i]))
			return -SGA_E_BAD_FIELD;
		for (size_t j = 0; j < i; j++)
			if (suites[j] == suites[i])
				return -SGA_E_BAD_FIELD;
	}
	return 0;
}

/* Length then content of an identity: -BAD_LENGTH, then -BAD_FIELD. */
static int id_check(const uint8_t *id, size_t len)
{
	if (len < 1 || len > SGA_ID_MAX)
		return -SGA_E_BAD_LENGTH;
	return sga_id_valid(id, len) ? 0 : -SGA_E_BAD_FIELD;
}

static int all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* Start a frame: header with body_len = total - SGA_HDR_LEN. */
static void wr_hdr(struct sga_wr *w, uint8_t type, size_t total)
{
	sga_wr_u8(w, SGA_WIRE_VERSION);
	sga_wr_u8(w, type);
	sga_wr_u16(w, (uint16_t)(total - SGA_HDR_LEN));
}

/* Finish a decode: on error the struct is wiped, so nothing half-parsed leaks. */
static int dec_done(int rc, void *m, size_t n)
{
	if (rc)
		sga_memzero(m, n);
	return rc;
}

/* Return the latched read error, or -TRAILING if bytes are left over. */
static int rd_end(const struct sga_rd *r)
{
	if (r->err)
		return r->err;
	return r->off != r->len ? -SGA_E_TRAILING : 0;
}

#define RD_OK(r)                       \
	do {                           \
		if ((r)->err) {        \
			rc = (r)->err; \
			goto out;      \
		}                      \
	} while (0)

/* Common argument check for payload/frame decoders. */
#define DEC_ARGS(p, len, m)                     \
	do {                                    \
		if (!(m) || (!(p) && (len)))    \
			return -SGA_E_INTERNAL; \
		memset((m), 0, sizeof(*(m)));   \
	} while (0)

/* Common argument check for encoders writing *len bytes into out[cap]. */
#define ENC_ARGS(m, out, cap, len)                       \
	do {                                             \
		if (!(m) || !(len) || (!(out) && (cap))) \
			return -SGA_E_INTERNAL;          \
		*(len) = 0;                              \
	} while (0)

/* ---- envelopes ------------------------------------------------------------ */

static int is_dev_type(uint8_t t)
{
	return t == SGA_MSG_REG_ACK || t == SGA_MSG_NEG_REQ || t == SGA_MSG_NEG_INVITE ||
	       t == SGA_MSG_NEG_ACCEPT || t == SGA_MSG_WAKE || t == SGA_MSG_WAKE_ACK;
}

static int is_sess_type(uint8_t t)
{
	return t == SGA_MSG_NEG_RESULT || t == SGA_MSG_KEX_INIT || t == SGA_MSG_KEX_REPLY ||
	       t == SGA_MSG_SESSION_CLOSE || t == SGA_MSG_SESSION_CLOSED ||
	       t == SGA_MSG_REKEY_INIT || t == SGA_MSG_REKEY_NOTICE || t == SGA_MSG_REKEY_REPLY;
}

static int is_hop_type(uint8_t t)
{
	return t == SGA_MSG_DATA_UP || t == SGA_MSG_DATA_DOWN || t == SGA_MSG_DATA_ACK ||
	       t == SGA_MSG_DATA_DELIVERED || t == SGA_MSG_DATA_SKIP;
}

/* The gateway seals these under the hop-down key of an epoch, never 0. */
static int is_hop_down_type(uint8_t t)
{
	return t == SGA_MSG_DATA_DOWN || t == SGA_MSG_DATA_ACK || t == SGA_MSG_DATA_SKIP;
}

/* Parse the header of frame and require a type accepted by kind_ok. */
static int frame_open(const uint8_t *frame, size_t len, int (*kind_ok)(uint8_t), struct sga_rd *r,
                      uint8_t *type)
{
	struct sga_hdr h;
	int rc = sga_hdr_parse(frame, len, &h);

	if (rc)
		return rc;
	if (!kind_ok(h.type))
		return -SGA_E_BAD_TYPE;
	*type = h.type;
	sga_rd_init(r, frame, len);
	(void)sga_rd_bytes(r, SGA_HDR_LEN);
	return 0;
}

/* The rest of the frame is the ciphertext; record it and the AAD span. */
static int rd_ct(struct sga_rd *r, const uint8_t *frame, const uint8_t **aad, size_t *aad_len,
                 const uint8_t **ct, size_t *ct_len)
{
	size_t n = sga_rd_left(r);

	if (r->err)
		return r->err;
	if (n < SGA_CT_MIN)
		return -SGA_E_TRUNCATED;
	*aad = frame;
	*aad_len = r->off;
	*ct = sga_rd_bytes(r, n);
	*ct_len = n;
	return 0;
}

int sga_env_dev_decode(const uint8_t *frame, size_t len, struct sga_env_dev *env)
{
	struct sga_rd r;
	const uint8_t *q;
	int rc;

	DEC_ARGS(frame, len, env);
	CHECK(frame_open(frame, len, is_dev_type, &r, &env->type));
	env->id_len = sga_rd_u8(&r);
	RD_OK(&r);
	if (env->id_len < 1 || env->id_len > SGA_ID_MAX)
		CHECK(-SGA_E_BAD_LENGTH);
	q = sga_rd_bytes(&r, env->id_len);
	RD_OK(&r);
	memcpy(env->id, q, env->id_len);
	CHECK(id_check(env->id, env->id_len));
	env->ctr = sga_rd_u64(&r);
	q = sga_rd_bytes(&r, SGA_AEAD_NONCE_LEN);
	RD_OK(&r);
	memcpy(env->nonce, q, SGA_AEAD_NONCE_LEN);
	CHECK(rd_ct(&r, frame, &env->aad, &env->aad_len, &env->ct, &env->ct_len));
out:
	return dec_done(rc, env, sizeof(*env));
}

static int role_ok(uint8_t role)
{
	return role == SGA_ROLE_INITIATOR || role == SGA_ROLE_RESPONDER;
}

int sga_env_sess_decode(const uint8_t *frame, size_t len, struct sga_env_sess *env)
{
	struct sga_rd r;
	const uint8_t *q;
	int rc;

	DEC_ARGS(frame, len, env);
	CHECK(frame_open(frame, len, is_sess_type, &r, &env->type));
	env->session_id = sga_rd_u64(&r);
	RD_OK(&r);
	if (env->session_id == 0 && env->type != SGA_MSG_NEG_RESULT)
		CHECK(-SGA_E_BAD_FIELD);
	env->role = sga_rd_u8(&r);
	RD_OK(&r);
	if (!role_ok(env->role))
		CHECK(-SGA_E_BAD_FIELD);
	q = sga_rd_bytes(&r, SGA_AEAD_NONCE_LEN);
	RD_OK(&r);
	memcpy(env->nonce, q, SGA_AEAD_NONCE_LEN);
	CHECK(rd_ct(&r, frame, &env->aad, &env->aad_len, &env->ct, &env->ct_len));
out:
	return dec_done(rc, env, sizeof(*env));
}

int sga_env_hop_decode(const uint8_t *frame, size_t len, struct sga_env_hop *env)
{
	struct sga_rd r;
	int rc;

	DEC_ARGS(frame, len, env);
	CHECK(frame_open(frame, len, is_hop_type, &r, &env->type));
	env->session_id = sga_rd_u64(&r);
	RD_OK(&r);
	if (env->session_id == 0)
		CHECK(-SGA_E_BAD_FIELD);
	env->role = sga_rd_u8(&r);
	RD_OK(&r);
	if (!role_ok(env->role))
		CHECK(-SGA_E_BAD_FIELD);
	env->epoch = sga_rd_u64(&r);
	RD_OK(&r);
	if (env->epoch == 0 && is_hop_down_type(env->type))
		CHECK(-SGA_E_BAD_FIELD);
	env->seq = sga_rd_u64(&r);
	CHECK(rd_ct(&r, frame, &env->aad, &env->aad_len, &env->ct, &env->ct_len));
out:
	return dec_done(rc, env, sizeof(*env));
}

/*
 * Shared tail of the envelope encoders: size checks for a clear part of `clear`
 * bytes plus ct_len bytes of ciphertext. Writes the header and leaves w after it.
 */
static int env_begin(struct sga_wr *w, uint8_t type, size_t clear, size_t ct_len, uint8_t *out,
                     size_t cap)
{
	if (ct_len < SGA_CT_MIN)
		return -SGA_E_BAD_LENGTH;
	if (ct_len > SGA_FRAME_MAX || clear + ct_len > SGA_FRAME_MAX)
		return -SGA_E_OVERSIZED;
	if (clear + ct_len > cap)
		return -SGA_E_NOSPACE;
	sga_wr_init(w, out, cap);
	wr_hdr(w, type, clear + ct_len);
	return 0;
}

static int env_end(struct sga_wr *w, size_t ct_len, uint8_t **ct, size_t *aad_len)
{
	uint8_t *c;

	*aad_len = w->off;
	c = sga_wr_reserve(w, ct_len);
	if (!c)
		return w->err;
	*ct = c;
	return 0;
}

#define ENV_ENC_ARGS(out, cap, ct, aad_len)                   \
	do {                                                  \
		if (!(ct) || !(aad_len) || (!(out) && (cap))) \
			return -SGA_E_INTERNAL;               \
		*(ct) = NULL;                                 \
		*(aad_len) = 0;                               \
	} while (0)

int sga_env_dev_encode(uint8_t type, const uint8_t *id, uint8_t id_len, uint64_t ctr,
                       const uint8_t nonce[SGA_AEAD_NONCE_LEN], size_t ct_len, uint8_t *out,
                       size_t cap, uint8_t **ct, size_t *aad_len)
{
	struct sga_wr w;
	int rc;

	ENV_ENC_ARGS(out, cap, ct, aad_len);
	if (!is_dev_type(type))
		return -SGA_E_BAD_TYPE;
	rc = id_check(id, id_len);
	if (rc)
		return rc;
	if (!nonce)
		return -SGA_E_BAD_FIELD;
	rc = env_begin(&w, type, DEV_FIXED + id_len, ct_len, out, cap);
	if (rc)
		return rc;
	sga_wr_u8(&w, id_len);
	sga_wr_bytes(&w, id, id_len);
	sga_wr_u64(&w, ctr);
	sga_wr_bytes(&w, nonce, SGA_AEAD_NONCE_LEN);
	return env_end(&w, ct_len, ct, aad_len);
}

int sga_env_sess_encode(uint8_t type, uint64_t session_id, uint8_t role,
                        const uint8_t nonce[SGA_AEAD_NONCE_LEN], size_t ct_len, uint8_t *out,
                        size_t cap, uint8_t **ct, size_t *aad_len)
{
	struct sga_wr w;
	int rc;

	ENV_ENC_ARGS(out, cap, ct, aad_len);
	if (!is_sess_type(type))
		return -SGA_E_BAD_TYPE;
	if ((session_id == 0 && type != SGA_MSG_NEG_RESULT) || !role_ok(role) || !nonce)
		return -SGA_E_BAD_FIELD;
	rc = env_begin(&w, type, SESS_LEN, ct_len, out, cap);
	if (rc)
		return rc;
	sga_wr_u64(&w, session_id);
	sga_wr_u8(&w, role);
	sga_wr_bytes(&w, nonce, SGA_AEAD_NONCE_LEN);
	return env_end(&w, ct_len, ct, aad_len);
}

int sga_env_hop_encode(uint8_t type, uint64_t session_id, uint8_t role, uint64_t epoch,
                       uint64_t seq, size_t ct_len, uint8_t *out, size_t cap, uint8_t **ct,
                       size_t *aad_len)
{
	struct sga_wr w;
	int rc;

	ENV_ENC_ARGS(out, cap, ct, aad_len);
	if (!is_hop_type(type))
		return -SGA_E_BAD_TYPE;
	if (session_id == 0 || !role_ok(role) || (epoch == 0 && is_hop_down_type(type)))
		return -SGA_E_BAD_FIELD;
	rc = env_begin(&w, type, HOP_LEN, ct_len, out, cap);
	if (rc)
		return rc;
	sga_wr_u64(&w, session_id);
	sga_wr_u8(&w, role);
	sga_wr_u64(&w, epoch);
	sga_wr_u64(&w, seq);
	return env_end(&w, ct_len, ct, aad_len);
}

/* ---- REG_REQ, ERROR, PKG_REQ ------------------------------------------------ */

static int is_reg_req(uint8_t t)
{
	return t == SGA_MSG_REG_REQ;
}

static int is_error(uint8_t t)
{
	return t == SGA_MSG_ERROR;
}

static int is_pkg_req(uint8_t t)
{
	return t == SGA_MSG_PKG_REQ;
}

static int is_pkg(uint8_t t)
{
	return t == SGA_MSG_PKG;
}

int sga_reg_req_decode(const uint8_t *frame, size_t len, struct sga_reg_req *req)
{
	struct sga_rd r;
	uint8_t type;
	uint16_t ct_len;
	int rc;

	DEC_ARGS(frame, len, req);
	CHECK(frame_open(frame, len, is_reg_req, &r, &type));
	req->flags = sga_rd_u8(&r);
	RD_OK(&r);
	if (req->flags & ~(SGA_REG_FLAG_REKEY | SGA_REG_FLAG_GROUP))
		CHECK(-SGA_E_BAD_FIELD);
	req->group = SGA_GROUP_FFDHE2048;
	if (req->flags & SGA_REG_FLAG_GROUP) {
		req->group = sga_rd_u8(&r);
		RD_OK(&r);
		if (req->group == SGA_GROUP_FFDHE2048 || !sga_group_get(req->group))
			CHECK(-SGA_E_BAD_FIELD);
	}
	ct_len = sga_rd_u16(&r);
	RD_OK(&r);
	if (ct_len < 1 || ct_len > SGA_RSA_MAX_LEN)
		CHECK(-SGA_E_BAD_LENGTH);
	req->ct = sga_rd_bytes(&r, ct_len);
	req->ct_len = ct_len;
	RD_OK(&r);
	req->mac_input = frame;
	req->mac_input_len = r.off;
	if (req->flags & SGA_REG_FLAG_REKEY)
		req->mac = sga_rd_bytes(&r, SGA_MAC_LEN);
	CHECK(rd_end(&r));
out:
	return dec_done(rc, req, sizeof(*req));
}

int sga_reg_req_encode(uint8_t flags, uint8_t group, const uint8_t *ct, size_t ct_len, uint8_t *out,
                       size_t cap, uint8_t **mac_at, size_t *len)
{
	struct sga_wr w;
	size_t total;
	const int with_group = group != SGA_GROUP_FFDHE2048;

	if (!mac_at || !len || (!out && cap))
		return -SGA_E_INTERNAL;
	*mac_at = NULL;
	*len = 0;
	if ((flags & ~SGA_REG_FLAG_REKEY) || !sga_group_get(group))
		return -SGA_E_BAD_FIELD;
	if (ct_len < 1 || ct_len > SGA_RSA_MAX_LEN)
		return -SGA_E_BAD_LENGTH;
	if (!ct)
		return -SGA_E_BAD_FIELD;
	total = SGA_HDR_LEN + 1 + (size_t)with_group + 2 + ct_len +
	        ((flags & SGA_REG_FLAG_REKEY) ? SGA_MAC_LEN : 0);
	if (total > cap)
		return -SGA_E_NOSPACE;
	sga_wr_init(&w, out, cap);
	wr_hdr(&w, SGA_MSG_REG_REQ, total);
	sga_wr_u8(&w, (uint8_t)(flags | (with_group ? SGA_REG_FLAG_GROUP : 0)));
	if (with_group)
		sga_wr_u8(&w, group);
	sga_wr_u16(&w, (uint16_t)ct_len);
	sga_wr_bytes(&w, ct, ct_len);
	if (flags & SGA_REG_FLAG_REKEY) {
		uint8_t *m = sga_wr_reserve(&w, SGA_MAC_LEN);

		if (m) {
			memset(m, 0, SGA_MAC_LEN);
			*mac_at = m;
		}
	}
	if (w.err)
		return w.err;
	*len = w.off;
	return 0;
}

static int err_code_ok(unsigned code)
{
	return code >= 1 && code < SGA_E__COUNT;
}

int sga_error_decode(const uint8_t *frame, size_t len, struct sga_error_msg *msg)
{
	struct sga_rd r;
	uint8_t type;
	const uint8_t *q;
	int rc;

	DEC_ARGS(frame, len, msg);
	CHECK(frame_open(frame, len, is_error, &r, &type));
	msg->code = sga_rd_u16(&r);
	RD_OK(&r);
	if (!err_code_ok(msg->code))
		CHECK(-SGA_E_BAD_FIELD);
	msg->ref_len = sga_rd_u8(&r);
	RD_OK(&r);
	if (msg->ref_len > SGA_ID_MAX)
		CHECK(-SGA_E_BAD_LENGTH);
	q = sga_rd_bytes(&r, msg->ref_len);
	RD_OK(&r);
	if (msg->ref_len)
		memcpy(msg->ref, q, msg->ref_len);
	CHECK(rd_end(&r));
out:
	return dec_done(rc, msg, sizeof(*msg));
}

int sga_error_encode(uint16_t code, const uint8_t *ref, uint8_t ref_len, uint8_t *out, size_t cap,
                     size_t *len)
{
	struct sga_wr w;
	size_t total;

	if (!len || (!out && cap))
		return -SGA_E_INTERNAL;
	*len = 0;
	if (!err_code_ok(code))
		return -SGA_E_BAD_FIELD;
	if (ref_len > SGA_ID_MAX)
		return -SGA_E_BAD_LENGTH;
	if (ref_len && !ref)
		return -SGA_E_BAD_FIELD;
	total = SGA_HDR_LEN + 2 + 1 + ref_len;
	if (total > cap)
		return -SGA_E_NOSPACE;
	sga_wr_init(&w, out, cap);
	wr_hdr(&w, SGA_MSG_ERROR, total);
	sga_wr_u16(&w, code);
	sga_wr_u8(&w, ref_len);
	sga_wr_bytes(&w, ref, ref_len);
	if (w.err)
		return w.err;
	*len = w.off;
	return 0;
}

int sga_pkg_req_encode(uint8_t group, uint8_t *out, size_t cap, size_t *len)
{
	struct sga_wr w;
	uint8_t *pad;

	if (!len || (!out && cap))
		return -SGA_E_INTERNAL;
	*len = 0;
	if (group && !sga_group_get(group))
		return -SGA_E_BAD_FIELD;
	if (cap < SGA_PKG_REQ_LEN)
		return -SGA_E_NOSPACE;
	sga_wr_init(&w, out, cap);
	wr_hdr(&w, SGA_MSG_PKG_REQ, SGA_PKG_REQ_LEN);
	sga_wr_u8(&w, group);
	pad = sga_wr_reserve(&w, SGA_PKG_REQ_LEN - SGA_HDR_LEN - 1);
	if (pad)
		memset(pad, 0, SGA_PKG_REQ_LEN - SGA_HDR_LEN - 1);
	*len = w.off;
	return w.err;
}

int sga_pkg_req_decode(const uint8_t *frame, size_t len, uint8_t *group)
{
	struct sga_rd r;
	const uint8_t *pad;
	uint8_t type, acc = 0, g;
	int rc;

	if (!group)
		return -SGA_E_INTERNAL;
	*group = 0;
	rc = frame_open(frame, len, is_pkg_req, &r, &type);
	if (rc)
		return rc;
	if (len > SGA_PKG_REQ_LEN)
		return -SGA_E_TRAILING;
	g = sga_rd_u8(&r);
	pad = sga_rd_bytes(&r, SGA_PKG_REQ_LEN - SGA_HDR_LEN - 1);
	if (!pad)
		return r.err;
	for (size_t i = 0; i < SGA_PKG_REQ_LEN - SGA_HDR_LEN - 1; i++)
		acc |= pad[i];
	if (acc || (g && !sga_group_get(g)))
		return -SGA_E_BAD_FIELD;
	rc = rd_end(&r);
	if (!rc)
		*group = g;
	return rc;
}

/* ---- the gateway package ------------------------------------------------------ */

#define SGA_PKG_VERSION 1

static int der_len_ok(size_t n)
{
	return n >= 1 && n <= SGA_DER_MAX;
}

static int package_check(const struct sga_package *pkg)
{
	int rc = id_check(pkg->id, pkg->id_len);

	if (rc)
		return rc;
	if (!sga_group_get(pkg->group))
		return -SGA_E_BAD_FIELD;
	rc = sga_suite_list_check(pkg->suites, pkg->n_suites);
	if (rc)
		return rc;
	if (!der_len_ok(pkg->pk_len) || !der_len_ok(pkg->tpk_len))
		return -SGA_E_BAD_LENGTH;
	return 0;
}

static size_t package_size(const struct sga_package *pkg)
{
	return 1 + 1 + pkg->id_len + 1 + 1 + pkg->n_suites + 2 + pkg->pk_len + 2 + pkg->tpk_len;
}

static void package_write(struct sga_wr *w, const struct sga_package *pkg)
{
	sga_wr_u8(w, SGA_PKG_VERSION);
	sga_wr_u8(w, pkg->id_len);
	sga_wr_bytes(w, pkg->id, pkg->id_len);
	sga_wr_u8(w, pkg->group);
	sga_wr_u8(w, pkg->n_suites);
	sga_wr_bytes(w, pkg->suites, pkg->n_suites);
	sga_wr_u16(w, pkg->pk_len);
	sga_wr_bytes(w, pkg->pk_der, pkg->pk_len);
	sga_wr_u16(w, pkg->tpk_len);
	sga_wr_bytes(w, pkg->tpk_der, pkg->tpk_len);
}

int sga_package_decode(const uint8_t *body, size_t len, struct sga_package *pkg)
{
	struct sga_rd r;
	const uint8_t *q;
	int rc;

	DEC_ARGS(body, len, pkg);
	sga_rd_init(&r, body, len);
	if (sga_rd_u8(&r) != SGA_PKG_VERSION) {
		RD_OK(&r);
		CHECK(-SGA_E_BAD_VERSION);
	}
	pkg->id_len = sga_rd_u8(&r);
	RD_OK(&r);
	if (pkg->id_len < 1 || pkg->id_len > SGA_ID_MAX)
		CHECK(-SGA_E_BAD_LENGTH);
	q = sga_rd_bytes(&r, pkg->id_len);
	RD_OK(&r);
	memcpy(pkg->id, q, pkg->id_len);
	CHECK(id_check(pkg->id, pkg->id_len));
	pkg->group = sga_rd_u8(&r);
	RD_OK(&r);
	if (!sga_group_get(pkg->group))
		CHECK(-SGA_E_BAD_FIELD);
	pkg->n_suites = sga_rd_u8(&r);
	RD_OK(&r);
	if (pkg->n_suites < 1 || pkg->n_suites > SGA_MAX_SUITES)
		CHECK(-SGA_E_BAD_LENGTH);
	q = sga_rd_bytes(&r, pkg->n_suites);
	RD_OK(&r);
	memcpy(pkg->suites, q, pkg->n_suites);
	CHECK(sga_suite_list_check(pkg->suites, pkg->n_suites));
	pkg->pk_len = sga_rd_u16(&r);
	RD_OK(&r);
	if (!der_len_ok(pkg->pk_len))
		CHECK(-SGA_E_BAD_LENGTH);
	q = sga_rd_bytes(&r, pkg->pk_len);
	RD_OK(&r);
	memcpy(pkg->pk_der, q, pkg->pk_len);
	pkg->tpk_len = sga_rd_u16(&r);
	RD_OK(&r);
	if (!der_len_ok(pkg->tpk_len))
		CHECK(-SGA_E_BAD_LENGTH);
	q = sga_rd_bytes(&r, pkg->tpk_len);
	RD_OK(&r);
	memcpy(pkg->tpk_der, q, pkg->tpk_len);
	CHECK(rd_end(&r));
out:
	return dec_done(rc, pkg, sizeof(*pkg));
}

int sga_package_encode(const struct sga_package *pkg, uint8_t *out, size_t cap, size_t *len)
{
	struct sga_wr w;
	int rc;

	ENC_ARGS(pkg, out, cap, len);
	rc = package_check(pkg);
	if (rc)
		return rc;
	if (package_size(pkg) > cap)
		return -SGA_E_NOSPACE;
	sga_wr_init(&w, out, cap);
	package_write(&w, pkg);
	if (w.err)
		return w.err;
	*len = w.off;
	return 0;
}

int sga_pkg_decode(const uint8_t *frame, size_t len, struct sga_package *pkg)
{
	struct sga_rd r;
	uint8_t type;
	int rc;

	DEC_ARGS(frame, len, pkg);
	rc = frame_open(frame, len, is_pkg, &r, &type);
	if (rc)
		return rc;
	return sga_package_decode(frame + SGA_HDR_LEN, len - SGA_HDR_LEN, pkg);
}

int sga_pkg_encode(const struct sga_package *pkg, uint8_t *out, size_t cap, size_t *len)
{
	struct sga_wr w;
	size_t total;
	int rc;

	ENC_ARGS(pkg, out, cap, len);
	rc = package_check(pkg);
	if (rc)
		return rc;
	total = SGA_HDR_LEN + package_size(pkg);
	if (total > SGA_FRAME_MAX)
		return -SGA_E_OVERSIZED;
	if (total > cap)
		return -SGA_E_NOSPACE;
	sga_wr_init(&w, out, cap);
	wr_hdr(&w, SGA_MSG_PKG, total);
	package_write(&w, pkg);
	if (w.err)
		return w.err;
	*len = w.off;
	return 0;
}

/* ---- payloads ----------------------------------------------------------------- */

/* Read a 1-byte-counted suite list into dst (n_out receives the count). */
static int rd_suites(struct sga_rd *r, uint8_t *n_out, uint8_t dst[SGA_MAX_SUITES])
{
	const uint8_t *q;
	uint8_t n = sga_rd_u8(r);

	if (r->err)
		return r->err;
	if (n < 1 || n > SGA_MAX_SUITES)
		return -SGA_E_BAD_LENGTH;
	q = sga_rd_bytes(r, n);
	if (!q)
		return r->err;
	memcpy(dst, q, n);
	*n_out = n;
	return sga_suite_list_check(dst, n);
}

/* Read a 1-byte-counted identity into dst. */
static int rd_id(struct sga_rd *r, uint8_t *len_out, uint8_t dst[SGA_ID_MAX])
{
	const uint8_t *q;
	uint8_t n = sga_rd_u8(r);

	if (r->err)
		return r->err;
	if (n < 1 || n > SGA_ID_MAX)
		return -SGA_E_BAD_LENGTH;
	q = sga_rd_bytes(r, n);
	if (!q)
		return r->err;
	memcpy(dst, q, n);
	*len_out = n;
	return id_check(dst, n);
}

static int rd_copy(struct sga_rd *r, uint8_t *dst, size_t n)
{
	const uint8_t *q = sga_rd_bytes(r, n);

	if (!q)
		return r->err;
	memcpy(dst, q, n);
	return 0;
}

static int suite_in(uint8_t s, const uint8_t *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == s)
			return 1;
	return 0;
}

/* Write a finished payload: space check against the precomputed size, then w. */
#define ENC_SPACE(need, cap)                   \
	do {                                   \
		if ((need) > (cap))            \
			return -SGA_E_NOSPACE; \
	} while (0)

static int wr_done(const struct sga_wr *w, size_t *len)
{
	if (w->err)
		return w->err;
	*len = w->off;
	return 0;
}

/* REG_REQ RSA plaintext */

static int reg_plain_check(const struct sga_reg_plain *m)
{
	int rc = sga_suite_list_check(m->suites, m->n_suites);

	if (rc)
		return rc;
	if (!suite_in(m->suite_init, m->suites, m->n_suites))
		return -SGA_E_BAD_FIELD;
	rc = id_check(m->id, m->id_len);
	if (rc)
		return rc;
	if (m->token_len > SGA_TOKEN_MAX)
		return -SGA_E_BAD_LENGTH;
	return 0;
}

int sga_reg_plain_decode(const uint8_t *p, size_t len, struct sga_reg_plain *m)
{
	struct sga_rd r;
	int rc;

	DEC_ARGS(p, len, m);
	sga_rd_init(&r, p, len);
	CHECK(rd_copy(&r, m->k_d, SGA_KEY_LEN));
	m->suite_init = sga_rd_u8(&r);
	CHECK(rd_suites(&r, &m->n_suites, m->suites));
	if (!suite_in(m->suite_init, m->suites, m->n_suites))
		CHECK(-SGA_E_BAD_FIELD);
	CHECK(rd_copy(&r, m->reg_nonce, SGA_NONCE_LEN));
	CHECK(rd_id(&r, &m->id_len, m->id));
	m->token_len = sga_rd_u8(&r);
	RD_OK(&r);
	if (m->token_len > SGA_TOKEN_MAX)
		CHECK(-SGA_E_BAD_LENGTH);
	CHECK(rd_copy(&r, m->token, m->token_len));
	m->ctr = sga_rd_u64(&r);
	CHECK(rd_end(&r));
out:
	return dec_done(rc, m, sizeof(*m));
}

int sga_reg_plain_encode(const struct sga_reg_plain *m, uint8_t *out, size_t cap, size_t *len)
{
	struct sga_wr w;
	int rc;

	ENC_ARGS(m, out, cap, len);
	rc = reg_plain_check(m);
	if (rc)
		return rc;
	ENC_SPACE((size_t)SGA_KEY_LEN + 2 + m->n_suites + SGA_NONCE_LEN + 1 + m->id_len + 1 +
	              m->token_len + 8,
	          cap);
	sga_wr_init(&w, out, cap);
	sga_wr_bytes(&w, m->k_d, SGA_KEY_LEN);
	sga_wr_u8(&w, m->suite_init);
	sga_wr_u8(&w, m->n_suites);
	sga_wr_bytes(&w, m->suites, m->n_suites);
	sga_wr_bytes(&w, m->reg_nonce, SGA_NONCE_LEN);
	sga_wr_u8(&w, m->id_len);
	sga_wr_bytes(&w, m->id, m->id_len);
	sga_wr_u8(&w, m->token_len);
	sga_wr_bytes(&w, m->token, m->token_len);
	sga_wr_u64(&w, m->ctr);
	return wr_done(&w, len);
}

/* REG_ACK plaintext */

int sga_reg_ack_plain_decode(const uint8_t *p, size_t len, struct sga_reg_ack_plain *m)
{
	struct sga_rd r;
	int rc;

	DEC_ARGS(p, len, m);
	sga_rd_init(&r, p, len);
	CHECK(rd_copy(&r, m->reg_nonce, SGA_NONCE_LEN));
	CHECK(rd_end(&r));
out:
	return dec_done(rc, m, sizeof(*m));
}

int sga_reg_ack_plain_encode(const struct sga_reg_ack_plain *m, uint8_t *out, size_t cap,
                             size_t *len)
{
	struct sga_wr w;

	ENC_ARGS(m, out, cap, len);
	ENC_SPACE((size_t)SGA_NONCE_LEN, cap);
	sga_wr_init(&w, out, cap);
	sga_wr_bytes(&w, m->reg_nonce, SGA_NONCE_LEN);
	return wr_done(&w, len);
}

/* NEG_REQ (A1) plaintext */

int sga_neg_req_plain_decode(const uint8_t *p, size_t len, struct sga_neg_req_plain *m)
{
	struct sga_rd r;
	int rc;

	DEC_ARGS(p, len, m);
	sga_rd_init(&r, p, len);
	CHECK(rd_id(&r, &m->peer_id_len, m->peer_id));
	CHECK(rd_suites(&r, &m->n_pref, m->prefs));
	CHECK(rd_copy(&r, m->k_t, SGA_KEY_LEN));
	CHECK(rd_end(&r));
out:
	return dec_done(rc, m, sizeof(*m));
}

int sga_neg_req_plain_encode(const struct sga_neg_req_plain *m, uint8_t *out, size_t cap,
                             size_t *len)
{
	struct sga_wr w;
	int rc;

	ENC_ARGS(m, out, cap, len);
	rc = id_check(m->peer_id, m->peer_id_len);
	if (rc)
		return rc;
	rc = sga_suite_list_check(m->prefs, m->n_pref);
	if (rc)
		return rc;
	ENC_SPACE((size_t)1 + m->peer_id_len + 1 + m->n_pref + SGA_KEY_LEN, cap);
	sga_wr_init(&w, out, cap);
	sga_wr_u8(&w, m->peer_id_len);
	sga_wr_bytes(&w, m->peer_id, m->peer_id_len);
	sga_wr_u8(&w, m->n_pref);
	sga_wr_bytes(&w, m->prefs, m->n_pref);
	sga_wr_bytes(&w, m->k_t, SGA_KEY_LEN);
	return wr_done(&w, len);
}

/* NEG_INVITE (A2) plaintext */

int sga_neg_invite_plain_decode(const uint8_t *p, size_t len, struct sga_neg_invite_plain *m)
{
	struct sga_rd r;
	int rc;

	DEC_ARGS(p, len, m);
	sga_rd_init(&r, p, len);
	m->session_id = sga_rd_u64(&r);
	RD_OK(&r);
	if (m->session_id == 0)
		CHECK(-SGA_E_BAD_FIELD);
	m->suite = sga_rd_u8(&r);
	RD_OK(&r);
	if (!sga_suite_get(m->suite))
		CHECK(-SGA_E_BAD_FIELD);
	m->group = sga_rd_u8(&r);
	RD_OK(&r);
	if (!sga_group_get(m->group))
		CHECK(-SGA_E_BAD_FIELD);
	CHECK(rd_id(&r, &m->peer_id_len, m->peer_id));
	CHECK(rd_suites(&r, &m->n_pref, m->prefs));
	CHECK(rd_end(&r));
out:
	return dec_done(rc, m, sizeof(*m));
}

int sga_neg_invite_plain_encode(const struct sga_neg_invite_plain *m, uint8_t *out, size_t cap,
                                size_t *len)
{
	struct sga_wr w;
	int rc;

	ENC_ARGS(m, out, cap, len);
	if (m->session_id == 0 || !sga_suite_get(m->suite) || !sga_group_get(m->group))
		return -SGA_E_BAD_FIELD;
	rc = id_check(m->peer_id, m->peer_id_len);
	if (rc)
		return rc;
	rc = sga_suite_list_check(m->prefs, m->n_pref);
	if (rc)
		return rc;
	ENC_SPACE((size_t)8 + 1 + 1 + 1 + m->peer_id_len + 1 + m->n_pref, cap);
	sga_wr_init(&w, out, cap);
	sga_wr_u64(&w, m->session_id);
	sga_wr_u8(&w, m->suite);
	sga_wr_u8(&w, m->group);
	sga_wr_u8(&w, m->peer_id_len);
	sga_wr_bytes(&w, m->peer_id, m->peer_id_len);
	sga_wr_u8(&w, m->n_pref);
	sga_wr_bytes(&w, m->prefs, m->n_pref);
	return wr_done(&w, len);
}

/* NEG_ACCEPT (A3) plaintext */

#define NEG_ACCEPT_LEN (8 + 1 + SGA_KEY_LEN)

static int neg_accept_check(const struct sga_neg_accept_plain *m)
{
	if (m->session_id == 0 || m->accept > 1)
		return -SGA_E_BAD_FIELD;
	if (m->accept == 0 && !all_zero(m->k_t, SGA_KEY_LEN))
		return -SGA_E_BAD_FIELD;
	return 0;
}

int sga_neg_accept_plain_decode(const uint8_t *p, size_t len, struct sga_neg_accept_plain *m)
{
	struct sga_rd r;
	int rc;

	DEC_ARGS(p, len, m);
	sga_rd_init(&r, p, len);
	m->session_id = sga_rd_u64(&r);
	RD_OK(&r);
	if (m->session_id == 0)
		CHECK(-SGA_E_BAD_FIELD);
	m->accept = sga_rd_u8(&r);
	RD_OK(&r);
	if (m->accept > 1)
		CHECK(-SGA_E_BAD_FIELD);
	CHECK(rd_copy(&r, m->k_t, SGA_KEY_LEN));
	CHECK(neg_accept_check(m));
	CHECK(rd_end(&r));
out:
	return dec_done(rc, m, sizeof(*m));
}

int sga_neg_accept_plain_encode(const struct sga_neg_accept_plain *m, uint8_t *out, size_t cap,
                                size_t *len)
{
	struct sga_wr w;
	int rc;

	ENC_ARGS(m, out, cap, len);
	rc = neg_accept_check(m);
	if (rc)
		return rc;
	ENC_SPACE((size_t)NEG_ACCEPT_LEN, cap);
	sga_wr_init(&w, out, cap);
	sga_wr_u64(&w, m->session_id);
	sga_wr_u8(&w, m->accept);
	sga_wr_bytes(&w, m->k_t, SGA_KEY_LEN);
	return wr_done(&w, len);
}

/* NEG_RESULT (A4) plaintext */

static int neg_result_values_ok(uint8_t status, uint8_t suite, uint8_t group)
{
	if (status >= SGA_E__COUNT)
		return 0;
	if (status != 0)
		return suite == 0 && group == 0;
	return sga_suite_get(suite) && sga_group_get(group);
}

int sga_neg_result_plain_decode(const uint8_t *p, size_t len, struct sga_neg_result_plain *m)
{
	struct sga_rd r;
	int rc;

	DEC_ARGS(p, len, m);
	sga_rd_init(&r, p, len);
	m->req_ctr = sga_rd_u64(&r);
	m->status = sga_rd_u8(&r);
	m->suite = sga_rd_u8(&r);
	m->group = sga_rd_u8(&r);
	RD_OK(&r);
	if (!neg_result_values_ok(m->status, m->suite, m->group))
		CHECK(-SGA_E_BAD_FIELD);
	CHECK(rd_id(&r, &m->peer_id_len, m->peer_id));
	CHECK(rd_end(&r));
out:
	return dec_done(rc, m, sizeof(*m));
}

int sga_neg_result_plain_encode(const struct sga_neg_result_plain *m, uint8_t *out, size_t cap,
                                size_t *len)
{
	struct sga_wr w;
	int rc;

	ENC_ARGS(m, out, cap, len);
	if (!neg_result_values_ok(m->status, m->suite, m->group))
		return -SGA_E_BAD_FIELD;
	rc = id_check(m->peer_id, m->peer_id_len);
	if (rc)
		return rc;
	ENC_SPACE((size_t)8 + 1 + 1 + 1 + 1 + m->peer_id_len, cap);
	sga_wr_init(&w, out, cap);
	sga_wr_u64(&w, m->req_ctr);
	sga_wr_u8(&w, m->status);
	sga_wr_u8(&w, m->suite);
	sga_wr_u8(&w, m->group);
	sga_wr_u8(&w, m->peer_id_len);
	sga_wr_bytes(&w, m->peer_id, m->peer_id_len);
	return wr_done(&w, len);
}

/* KEX_INIT (B1/B3) plaintext */

static int kex_init_check(const struct sga_kex_init_plain *m)
{
	if (m->n_len < 1 || m->n_len > SGA_GROUP_MAX_LEN || m->proof_len < 1 ||
	    m->proof_len > SGA_PROOF_MAX || m->f_len < 1 || m->f_len > SGA_RSA_MAX_LEN)
		return -SGA_E_BAD_LENGTH;
	if (!m->n || !m->proof || !m->f || !m->mac)
		return -SGA_E_BAD_FIELD;
	return 0;
}

int sga_kex_init_plain_decode(const uint8_t *p, size_t len, struct sga_kex_init_plain *m)
{
	struct sga_rd r;
	int rc;

	DEC_ARGS(p, len, m);
	sga_rd_init(&r, p, len);
	m->n_len = sga_rd_u16(&r);
	RD_OK(&r);
	if (m->n_len < 1 || m->n_len > SGA_GROUP_MAX_LEN)
		CHECK(-SGA_E_BAD_LENGTH);
	m->n = sga_rd_bytes(&r, m->n_len);
	m->proof_len = sga_rd_u8(&r);
	RD_OK(&r);
	if (m->proof_len < 1 || m->proof_len > SGA_PROOF_MAX)
		CHECK(-SGA_E_BAD_LENGTH);
	m->proof = sga_rd_bytes(&r, m->proof_len);
	m->f_len = sga_rd_u16(&r);
	RD_OK(&r);
	if (m->f_len < 1 || m->f_len > SGA_RSA_MAX_LEN)
		CHECK(-SGA_E_BAD_LENGTH);
	m->f = sga_rd_bytes(&r, m->f_len);
	m->mac = sga_rd_bytes(&r, SGA_MAC_LEN);
	CHECK(rd_end(&r));
out:
	return dec_done(rc, m, sizeof(*m));
}

int sga_kex_init_plain_encode(const struct sga_kex_init_plain *m, uint8_t *out, size_t cap,
                              size_t *len)
{
	struct sga_wr w;
	int rc;

	ENC_ARGS(m, out, cap, len);
	rc = kex_init_check(m);
	if (rc)
		return rc;
	ENC_SPACE((size_t)2 + m->n_len + 1 + m->proof_len + 2 + m->f_len + SGA_MAC_LEN, cap);
	sga_wr_init(&w, out, cap);
	sga_wr_u16(&w, m->n_len);
	sga_wr_bytes(&w, m->n, m->n_len);
	sga_wr_u8(&w, m->proof_len);
	sga_wr_bytes(&w, m->proof, m->proof_len);
	sga_wr_u16(&w, m->f_len);
	sga_wr_bytes(&w, m->f, m->f_len);
	sga_wr_bytes(&w, m->mac, SGA_MAC_LEN);
	return wr_done(&w, len);
}

/* KEX_REPLY (B5/B6) plaintext */

int sga_kex_reply_plain_decode(const uint8_t *p, size_t len, struct sga_kex_reply_plain *m)
{
	struct sga_rd r;
	int rc;

	DEC_ARGS(p, len, m);
	sga_rd_init(&r, p, len);
	m->x_len = sga_rd_u16(&r);
	RD_OK(&r);
	if (m->x_len < 1 || m->x_len > SGA_GROUP_MAX_LEN)
		CHECK(-SGA_E_BAD_LENGTH);
	m->x = sga_rd_bytes(&r, m->x_len);
	m->n_hash_peer = sga_rd_bytes(&r, SGA_SHA256_LEN);
	m->mac = sga_rd_bytes(&r, SGA_MAC_LEN);
	CHECK(rd_end(&r));
out:
	return dec_done(rc, m, sizeof(*m));
}

int sga_kex_reply_plain_encode(const struct sga_kex_reply_plain *m, uint8_t *out, size_t cap,
                               size_t *len)
{
	struct sga_wr w;

	ENC_ARGS(m, out, cap, len);
	if (m->x_len < 1 || m->x_len > SGA_GROUP_MAX_LEN)
		return -SGA_E_BAD_LENGTH;
	if (!m->x || !m->n_hash_peer || !m->mac)
		return -SGA_E_BAD_FIELD;
	ENC_SPACE((size_t)2 + m->x_len + SGA_SHA256_LEN + SGA_MAC_LEN, cap);
	sga_wr_init(&w, out, cap);
	sga_wr_u16(&w, m->x_len);
	sga_wr_bytes(&w, m->x, m->x_len);
	sga_wr_bytes(&w, m->n_hash_peer, SGA_SHA256_LEN);
	sga_wr_bytes(&w, m->mac, SGA_MAC_LEN);
	return wr_done(&w, len);
}

/* DATA_ACK plaintext */

static int data_ack_check(const struct sga_data_ack_plain *m)
{
	if (!(m->bits & 1))
		return -SGA_E_BAD_FIELD; /* top must name a message (so top >= 1) */
	if (m->top < SGA_DATA_ACK_SPAN && m->bits >> m->top)
		return -SGA_E_BAD_FIELD; /* a bit below e2e_seq 0 */
	return 0;
}

int sga_data_ack_plain_decode(const uint8_t *p, size_t len, struct sga_data_ack_plain *m)
{
	struct sga_rd r;
	int rc;

	DEC_ARGS(p, len, m);
	sga_rd_init(&r, p, len);
	m->top = sga_rd_u64(&r);
	m->bits = sga_rd_u64(&r);
	RD_OK(&r);
	CHECK(rd_end(&r));
	CHECK(data_ack_check(m));
out:
	return dec_done(rc, m, sizeof(*m));
}

int sga_data_ack_plain_encode(const struct sga_data_ack_plain *m, uint8_t *out, size_t cap,
                              size_t *len)
{
	struct sga_wr w;
	int rc;

	ENC_ARGS(m, out, cap, len);
	rc = data_ack_check(m);
	if (rc)
		return rc;
	ENC_SPACE((size_t)SGA_DATA_ACK_LEN, cap);
	sga_wr_init(&w, out, cap);
	sga_wr_u64(&w, m->top);
	sga_wr_u64(&w, m->bits);
	return wr_done(&w, len);
}

/* DATA inner plaintext */

int sga_data_inner_decode(const uint8_t *p, size_t len, struct sga_data_inner *m)
{
	struct sga_rd r;
	int rc;
	size_t n;

	DEC_ARGS(p, len, m);
	sga_rd_init(&r, p, len);
	m->e2e_seq = sga_rd_u64(&r);
	RD_OK(&r);
	n = sga_rd_left(&r);
	if (n < SGA_CT_MIN)
		CHECK(-SGA_E_TRUNCATED);
	m->e2e_ct = sga_rd_bytes(&r, n);
	m->e2e_ct_len = n;
	CHECK(rd_end(&r));
out:
	return dec_done(rc, m, sizeof(*m));
}

int sga_data_inner_encode(uint64_t e2e_seq, size_t e2e_ct_len, uint8_t *out, size_t cap,
                          uint8_t **e2e_ct, size_t *len)
{
	struct sga_wr w;
	uint8_t *c;

	if (!e2e_ct || !len || (!out && cap))
		return -SGA_E_INTERNAL;
	*e2e_ct = NULL;
	*len = 0;
	if (e2e_ct_len < SGA_CT_MIN)
		return -SGA_E_BAD_LENGTH;
	if (e2e_ct_len > cap || 8 > cap - e2e_ct_len)
		return -SGA_E_NOSPACE;
	sga_wr_init(&w, out, cap);
	sga_wr_u64(&w, e2e_seq);
	c = sga_wr_reserve(&w, e2e_ct_len);
	if (!c)
		return w.err;
	*e2e_ct = c;
	*len = w.off;
	return 0;
}

/* ---- WAKE and WAKE_ACK plaintexts (PROTOCOL.md 7.16) ---------------------- */

int sga_wake_plain_decode(const uint8_t *p, size_t len, struct sga_wake_plain *m)
{
	struct sga_rd r;
	uint8_t zero;
	int rc;

	DEC_ARGS(p, len, m);
	sga_rd_init(&r, p, len);
	m->flags = sga_rd_u8(&r);
	zero = sga_rd_u8(&r);
	RD_OK(&r);
	if (m->flags & ~SGA_WAKE_FLAGS_ALL)
		CHECK(-SGA_E_BAD_FIELD);
	if (zero)
		CHECK(-SGA_E_BAD_FIELD);
	CHECK(rd_end(&r));
out:
	return dec_done(rc, m, sizeof(*m));
}

int sga_wake_plain_encode(const struct sga_wake_plain *m, uint8_t *out, size_t cap, size_t *len)
{
	struct sga_wr w;

	ENC_ARGS(m, out, cap, len);
	if (m->flags & ~SGA_WAKE_FLAGS_ALL)
		return -SGA_E_BAD_FIELD;
	ENC_SPACE((size_t)SGA_WAKE_PLAIN_LEN, cap);
	sga_wr_init(&w, out, cap);
	sga_wr_u8(&w, m->flags);
	sga_wr_u8(&w, 0);
	return wr_done(&w, len);
}

int sga_wake_ack_plain_decode(const uint8_t *p, size_t len, struct sga_wake_ack_plain *m)
{
	struct sga_rd r;
	int rc;

	DEC_ARGS(p, len, m);
	sga_rd_init(&r, p, len);
	m->invitations = sga_rd_u8(&r);
	m->stored = sga_rd_u8(&r);
	RD_OK(&r);
	CHECK(rd_end(&r));
out:
	return dec_done(rc, m, sizeof(*m));
}

int sga_wake_ack_plain_encode(const struct sga_wake_ack_plain *m, uint8_t *out, size_t cap,
                              size_t *len)
{
	struct sga_wr w;

	ENC_ARGS(m, out, cap, len);
	ENC_SPACE((size_t)SGA_WAKE_ACK_PLAIN_LEN, cap);
	sga_wr_init(&w, out, cap);
	sga_wr_u8(&w, m->invitations);
	sga_wr_u8(&w, m->stored);
	return wr_done(&w, len);
}
