/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_wire.h - the SGA wire codec: frame header, envelopes and payloads.
 *
 * Pure byte work: no crypto, no I/O. Decoders are strict: every length is
 * checked before the field is read, a frame must be exactly as long as its
 * fields, and each malformed input maps to one specific negative SGA_E_* code.
 * Decoded structs point into the input buffer for bulk fields (ct, der) and copy
 * the small ones, so the input must outlive the decoded struct.
 *
 * Two layers:
 *  - envelopes: what travels in the clear (ids, counters, nonces) plus the AEAD
 *    ciphertext, and the AAD span (the frame bytes before the ciphertext);
 *  - payloads: the plaintext inside an envelope's ciphertext.
 * docs/PROTOCOL.md gives the byte layout of each; this header is its C form.
 */
#ifndef SGA_WIRE_H
#define SGA_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "sga_crypto.h"
#include "sga_err.h"

#define SGA_WIRE_VERSION   1
#define SGA_HDR_LEN        4    /* version(1) type(1) body_len(2) */
#define SGA_FRAME_MAX      1472 /* one UDP datagram on a 1500-byte MTU, IPv4 */
#define SGA_ID_MAX         32   /* device/gateway identity: 1..32 printable ASCII bytes */
#define SGA_TOKEN_MAX      32   /* enrollment token */
#define SGA_MAX_SUITES     8    /* suite lists: 1..8 distinct known ids */
#define SGA_KEY_LEN        32   /* k_d and k_t */
#define SGA_NONCE_LEN      16   /* registration freshness nonce */
#define SGA_SESSION_ID_LEN 8
#define SGA_MAC_LEN        32  /* HMAC-SHA256 */
#define SGA_RSA_MAX_LEN    384 /* RSA-3072 ciphertext */
/* A package's public key: the SubjectPublicKeyInfo of an RSA-3072 key is 422
 * bytes; a build without the ffdhe profiles holds raw EC keys only (65). */
#if SGA_GROUPS_FFDHE
#define SGA_DER_MAX 600
#else
#define SGA_DER_MAX 65
#endif
#define SGA_PROOF_MAX (SGA_AEAD_NONCE_LEN + SGA_SHA256_LEN + SGA_AEAD_MAX_TAG_LEN)

enum sga_msg_type {
	SGA_MSG_REG_REQ = 0x01,        /* d -> G  registration, RSA-OAEP under PK */
	SGA_MSG_REG_ACK = 0x02,        /* G -> d  device envelope under k_d */
	SGA_MSG_PKG_REQ = 0x03,        /* d -> G  ask for the gateway package (empty body) */
	SGA_MSG_PKG = 0x04,            /* G -> d  the gateway package */
	SGA_MSG_NEG_REQ = 0x10,        /* A1 d_i -> G  device envelope under k_di */
	SGA_MSG_NEG_INVITE = 0x11,     /* A2 G -> d_j  device envelope under k_dj */
	SGA_MSG_NEG_ACCEPT = 0x12,     /* A3 d_j -> G  device envelope under k_dj */
	SGA_MSG_NEG_RESULT = 0x13,     /* A4 G -> d_i  session envelope under k_ti */
	SGA_MSG_WAKE = 0x14,           /* d -> G  device envelope: new address, what is pending? */
	SGA_MSG_WAKE_ACK = 0x15,       /* G -> d  device envelope: the WAKE took effect (7.16) */
	SGA_MSG_KEX_INIT = 0x20,       /* B1 / B3 d -> G  session envelope under k_t */
	SGA_MSG_KEX_REPLY = 0x21,      /* B5 / B6 G -> d  session envelope under k_t */
	SGA_MSG_REKEY_INIT = 0x22,     /* d -> G  rekey (7.15), session envelope, k_d */
	SGA_MSG_REKEY_NOTICE = 0x23,   /* G -> d  the peer asks for a rekey */
	SGA_MSG_REKEY_REPLY = 0x24,    /* G -> d  session envelope under the new k_t */
	SGA_MSG_DATA_UP = 0x30,        /* d -> G  hop frame under the device's hop-up key */
	SGA_MSG_DATA_DOWN = 0x31,      /* G -> d  hop frame under the device's hop-down key */
	SGA_MSG_DATA_ACK = 0x32,       /* G -> d  hop frame: the gateway took charge of e2e_seq */
	SGA_MSG_DATA_DELIVERED = 0x33, /* d -> G  hop frame: every e2e_seq below n received */
	SGA_MSG_DATA_SKIP = 0x34,      /* G -> d  hop frame: what is missing below n expired */
	SGA_MSG_COOKIE_REPLY = 0x40,   /* G -> d  under load: retry inside a COOKIE_ECHO */
	SGA_MSG_COOKIE_ECHO = 0x41,    /* d -> G  cookie || a REG_REQ, NEG_REQ or KEX_INIT */
	SGA_MSG_SESSION_CLOSE = 0x50,  /* d -> G  session envelope under the sender's kex key */
	SGA_MSG_SESSION_CLOSED = 0x51, /* G -> d  session envelope under the recipient's kex key */
	SGA_MSG_ERROR = 0x7f,          /* G -> d  unauthenticated error hint */
};

/** Name of a message type ("REG_REQ", ...) or "UNKNOWN". */
const char *sga_msg_name(uint8_t type);

enum sga_role {
	SGA_ROLE_INITIATOR = 0, /* d_i */
	SGA_ROLE_RESPONDER = 1, /* d_j */
};

struct sga_hdr {
	uint8_t version;
	uint8_t type;
	uint16_t body_len;
};

/**
 * Parse the 4-byte header and check the frame as a whole: version is
 * SGA_WIRE_VERSION (-BAD_VERSION), type is known (-BAD_TYPE), len <= SGA_FRAME_MAX
 * (-OVERSIZED), len >= 4 (-TRUNCATED), body_len == len - 4 (-TRUNCATED if the
 * frame is shorter, -TRAILING if longer).
 */
int sga_hdr_parse(const uint8_t *frame, size_t len, struct sga_hdr *hdr);

/** 1 if id[0..len) is a valid identity (1..SGA_ID_MAX bytes of 0x21..0x7e). */
int sga_id_valid(const uint8_t *id, size_t len);

/** 0 if the list is 1..SGA_MAX_SUITES distinct known suite ids, else -BAD_FIELD
 *  (-BAD_LENGTH for a count of 0 or > SGA_MAX_SUITES). */
int sga_suite_list_check(const uint8_t *suites, size_t n);

/* ---- envelopes ------------------------------------------------------------ */

/*
 * Device envelope (REG_ACK, NEG_REQ, NEG_INVITE, NEG_ACCEPT), sealed under a key
 * derived from the device's long-term key k_d:
 *   hdr(4) | id_len(1) | id | ctr(8) | nonce(12) | ct(...)
 * aad = frame[0 .. offset of ct).
 */
struct sga_env_dev {
	uint8_t type;
	uint8_t id_len;
	uint8_t id[SGA_ID_MAX];
	uint64_t ctr;
	uint8_t nonce[SGA_AEAD_NONCE_LEN];
	const uint8_t *aad;
	size_t aad_len;
	const uint8_t *ct; /* ciphertext || tag */
	size_t ct_len;
};

/*
 * Session envelope (NEG_RESULT, KEX_INIT, KEX_REPLY), sealed under a key derived
 * from the temporary key k_t of the device in `role`:
 *   hdr(4) | session_id(8) | role(1) | nonce(12) | ct(...)
 */
struct sga_env_sess {
	uint8_t type;
	uint64_t session_id;
	uint8_t role;
	uint8_t nonce[SGA_AEAD_NONCE_LEN];
	const uint8_t *aad;
	size_t aad_len;
	const uint8_t *ct;
	size_t ct_len;
};

/*
 * Hop frame (DATA_UP, DATA_DELIVERED, DATA_DOWN, DATA_ACK, DATA_SKIP), sealed under the hop key
 * of the device in `role` for that direction; nonce = 0x00000000 | seq (big-endian):
 *   hdr(4) | session_id(8) | role(1) | epoch(8) | seq(8) | ct(...)
 * epoch: in a gateway frame (DOWN, ACK, SKIP) the hop-down epoch it is sealed
 * under, never 0 (-BAD_FIELD); in a device frame (UP, DELIVERED) the epoch the
 * device last adopted, 0 before any (PROTOCOL.md 6.2, 8.1, 9.3).
 */
struct sga_env_hop {
	uint8_t type;
	uint64_t session_id;
	uint8_t role;
	uint64_t epoch;
	uint64_t seq;
	const uint8_t *aad;
	size_t aad_len;
	const uint8_t *ct;
	size_t ct_len;
};

/* Smallest ciphertext an envelope may carry: the shortest tag (CCM8). */
#define SGA_CT_MIN 8

/*
 * Decoders: frame is the whole frame (header included). They run sga_hdr_parse,
 * check the type belongs to the envelope kind (-BAD_TYPE), the clear fields
 * (id valid -> else -BAD_FIELD; role 0/1 -> else -BAD_FIELD; session_id != 0 ->
 * else -BAD_FIELD, except NEG_RESULT where 0 means "no session was created"),
 * and ct_len >= SGA_CT_MIN (-TRUNCATED).
 */
int sga_env_dev_decode(const uint8_t *frame, size_t len, struct sga_env_dev *env);
int sga_env_sess_decode(const uint8_t *frame, size_t len, struct sga_env_sess *env);
int sga_env_hop_decode(const uint8_t *frame, size_t len, struct sga_env_hop *env);

/*
 * Encoders write the header and clear fields for a ciphertext of ct_len bytes
 * into out (cap bytes) and return, through *ct, where the caller must place the
 * ciphertext, and through *aad_len the AAD span (out[0 .. *aad_len)). The frame
 * length is *aad_len + ct_len. They fail with -NOSPACE or -OVERSIZED (frame would
 * exceed SGA_FRAME_MAX) and -BAD_FIELD for invalid clear fields.
 */
int sga_env_dev_encode(uint8_t type, const uint8_t *id, uint8_t id_len, uint64_t ctr,
                       const uint8_t nonce[SGA_AEAD_NONCE_LEN], size_t ct_len, uint8_t *out,
                       size_t cap, uint8_t **ct, size_t *aad_len);
int sga_env_sess_encode(uint8_t type, uint64_t session_id, uint8_t role,
                        const uint8_t nonce[SGA_AEAD_NONCE_LEN], size_t ct_len, uint8_t *out,
                        size_t cap, uint8_t **ct, size_t *aad_len);
int sga_env_hop_encode(uint8_t type, uint64_t session_id, uint8_t role, uint64_t epoch,
                       uint64_t seq, size_t ct_len, uint8_t *out, size_t cap, uint8_t **ct,
                       size_t *aad_len);

/*
 * REG_REQ: hdr | flags(1) | [group(1) if flags & GROUP] | ct_len(2) | ct(ct_len) |
 *          [mac(32) if flags & REKEY]
 * ct is E_PK(registration plaintext): RSA-OAEP for the ffdhe profiles, HPKE
 * for the EC ones (sga_pke.h). Without GROUP the request is of ffdhe2048 (what
 * every device sent before there were other profiles); with it, group names
 * the profile, and must be a known group other than ffdhe2048 (-BAD_FIELD: one
 * encoding per request). Other flag bits -> -BAD_FIELD; ct_len 0 or >
 * SGA_RSA_MAX_LEN -> -BAD_LENGTH. mac_input = everything before the mac.
 */
#define SGA_REG_FLAG_REKEY 0x01
#define SGA_REG_FLAG_GROUP 0x02
struct sga_reg_req {
	uint8_t flags;
	uint8_t group; /* enum sga_group_id: SGA_GROUP_FFDHE2048 without the GROUP flag */
	const uint8_t *ct;
	size_t ct_len;
	const uint8_t *mac; /* NULL unless REKEY */
	const uint8_t *mac_input;
	size_t mac_input_len;
};
int sga_reg_req_decode(const uint8_t *frame, size_t len, struct sga_reg_req *req);
/* Writes the frame with room for the mac when REKEY: *mac_at receives where the
 * caller writes the 32-byte mac (NULL when not rekeying), *len the frame length.
 * flags is 0 or SGA_REG_FLAG_REKEY; the GROUP flag and byte are written for
 * every group but ffdhe2048. */
int sga_reg_req_encode(uint8_t flags, uint8_t group, const uint8_t *ct, size_t ct_len, uint8_t *out,
                       size_t cap, uint8_t **mac_at, size_t *len);

/* ERROR: hdr | code(2) | ref_len(1) | ref(ref_len <= 32). ref is the device id or
 * the 8-byte session id the error refers to (empty if none). code must be a known
 * non-zero SGA_E_* (-BAD_FIELD). */
struct sga_error_msg {
	uint16_t code;
	uint8_t ref_len;
	uint8_t ref[SGA_ID_MAX];
};
int sga_error_decode(const uint8_t *frame, size_t len, struct sga_error_msg *msg);
int sga_error_encode(uint16_t code, const uint8_t *ref, uint8_t ref_len, uint8_t *out, size_t cap,
                     size_t *len);

/* PKG_REQ: hdr | group(1) | zero padding, SGA_PKG_REQ_LEN bytes in all. group
 * names the profile whose package is asked for (0: the gateway's first). The
 * padding makes the request at least as long as the PKG answer (under 900
 * bytes even with two RSA-3072 keys), so the gateway cannot be used to amplify
 * traffic towards a spoofed source. A shorter frame -> -TRUNCATED, a longer
 * one -> -TRAILING, a non-zero padding byte -> -BAD_FIELD, group neither 0 nor
 * a known group -> -BAD_FIELD. */
#define SGA_PKG_REQ_LEN 1200
int sga_pkg_req_encode(uint8_t group, uint8_t *out, size_t cap, size_t *len);
int sga_pkg_req_decode(const uint8_t *frame, size_t len, uint8_t *group);

/* ---- the gateway package ------------------------------------------------------ */

/*
 * Package body (also the body of a PKG frame):
 *   pkg_version(1)=1 | id_len(1) | id | group(1) | n_suites(1) | suites(n) |
 *   pk_len(2) | pk_der(pk_len) | tpk_len(2) | tpk_der(tpk_len)
 * pk_der: SubjectPublicKeyInfo of PK (E_PK); tpk_der: that of the trapdoor key (F_G).
 * Checks: version (-BAD_VERSION), id valid, group known, suite list valid
 * (-BAD_FIELD), der lengths 1..SGA_DER_MAX (-BAD_LENGTH), no trailing bytes.
 */
struct sga_package {
	uint8_t id_len;
	uint8_t id[SGA_ID_MAX];
	uint8_t group;
	uint8_t n_suites;
	uint8_t suites[SGA_MAX_SUITES];
	uint16_t pk_len;
	uint8_t pk_der[SGA_DER_MAX];
	uint16_t tpk_len;
	uint8_t tpk_der[SGA_DER_MAX];
};
int sga_package_decode(const uint8_t *body, size_t len, struct sga_package *pkg);
int sga_package_encode(const struct sga_package *pkg, uint8_t *out, size_t cap, size_t *len);
/* PKG frame = header + package body. */
int sga_pkg_decode(const uint8_t *frame, size_t len, struct sga_package *pkg);
int sga_pkg_encode(const struct sga_package *pkg, uint8_t *out, size_t cap, size_t *len);

/* ---- payloads (plaintext inside the envelopes) ---------------------------- */

/* REG_REQ RSA plaintext:
 *   k_d(32) | suite_init(1) | n_suites(1) | suites(n) | reg_nonce(16) |
 *   id_len(1) | id | token_len(1) | token(token_len <= 32) | ctr(8)
 * suite_init must be in suites (-BAD_FIELD). */
struct sga_reg_plain {
	uint8_t k_d[SGA_KEY_LEN];
	uint8_t suite_init;
	uint8_t n_suites;
	uint8_t suites[SGA_MAX_SUITES];
	uint8_t reg_nonce[SGA_NONCE_LEN];
	uint8_t id_len;
	uint8_t id[SGA_ID_MAX];
	uint8_t token_len;
	uint8_t token[SGA_TOKEN_MAX];
	uint64_t ctr; /* rekey freshness: > the stored up counter; 0 on first registration */
};

/* REG_ACK plaintext: reg_nonce(16) (echo of the request's nonce). */
struct sga_reg_ack_plain {
	uint8_t reg_nonce[SGA_NONCE_LEN];
};

/* NEG_REQ (A1) plaintext:
 *   peer_id_len(1) | peer_id | n_pref(1) | prefs(n) | k_t(32) */
struct sga_neg_req_plain {
	uint8_t peer_id_len;
	uint8_t peer_id[SGA_ID_MAX];
	uint8_t n_pref;
	uint8_t prefs[SGA_MAX_SUITES];
	uint8_t k_t[SGA_KEY_LEN];
};

/* NEG_INVITE (A2) plaintext:
 *   session_id(8) | suite(1) | group(1) | peer_id_len(1) | peer_id |
 *   n_pref(1) | prefs (the initiator's preference list as sent in A1, which
 *   the responder binds into its transcript) */
struct sga_neg_invite_plain {
	uint64_t session_id;
	uint8_t suite;
	uint8_t group;
	uint8_t peer_id_len;
	uint8_t peer_id[SGA_ID_MAX];
	uint8_t n_pref;
	uint8_t prefs[SGA_MAX_SUITES];
};

/* NEG_ACCEPT (A3) plaintext:
 *   session_id(8) | accept(1: 0 or 1) | k_t(32) (all zero when declining) */
struct sga_neg_accept_plain {
	uint64_t session_id;
	uint8_t accept;
	uint8_t k_t[SGA_KEY_LEN];
};

/* NEG_RESULT (A4) plaintext:
 *   req_ctr(8) | status(1: 0 or an SGA_E_* code) | suite(1) | group(1) |
 *   peer_id_len(1) | peer_id
 * req_ctr echoes the A1 counter so the initiator matches the answer to its request.
 * On a non-zero status, suite and group are 0. */
struct sga_neg_result_plain {
	uint64_t req_ctr;
	uint8_t status;
	uint8_t suite;
	uint8_t group;
	uint8_t peer_id_len;
	uint8_t peer_id[SGA_ID_MAX];
};

/* KEX_INIT (B1/B3) plaintext:
 *   n_len(2) | N(n_len) | proof_len(1) | proof | f_len(2) | F(f_len) | mac(32)
 * N = g^R mod p; proof = nonce(12) | AEAD_ctl(H(N) xor k_d) (the paper's
 * E_kd(N xor k_d)); F = F_G(r); mac = f_K(N) with K = N^r mod p.
 * n_len 1..SGA_GROUP_MAX_LEN, proof_len 1..SGA_PROOF_MAX, f_len 1..SGA_RSA_MAX_LEN
 * (-BAD_LENGTH); the gateway checks they equal the negotiated sizes. */
struct sga_kex_init_plain {
	uint16_t n_len;
	const uint8_t *n;
	uint8_t proof_len;
	const uint8_t *proof;
	uint16_t f_len;
	const uint8_t *f;
	const uint8_t *mac;
};

/* KEX_REPLY (B5/B6) plaintext:
 *   x_len(2) | X(x_len) | n_hash_peer(32) | mac(32)
 * X = N_peer^R_s mod p; n_hash_peer = SHA-256(enc(N_peer)); mac = the reply
 * MAC over both, see PROTOCOL.md 7.9. */
struct sga_kex_reply_plain {
	uint16_t x_len;
	const uint8_t *x;
	const uint8_t *n_hash_peer; /* SGA_SHA256_LEN: SHA-256(enc(N_peer)) */
	const uint8_t *mac;
};

/* DATA inner (the hop ciphertext's plaintext of DATA_UP / DATA_DOWN):
 * e2e_seq(8) | e2e_ct(...>= 8). DATA_ACK's plaintext is struct
 * sga_data_ack_plain below; DATA_DELIVERED's is next_e2e_seq(8): the recipient
 * holds every message of the session's other direction below it (a cumulative
 * delivery acknowledgement). */
struct sga_data_inner {
	uint64_t e2e_seq;
	const uint8_t *e2e_ct;
	size_t e2e_ct_len;
};

/* DATA_ACK plaintext (PROTOCOL.md 7.11), exactly 16 bytes:
 *   top(8) | bits(8)
 * Names every e2e_seq the gateway took charge of among the 64 below top: bit i
 * (LSB = bit 0) set <=> e2e_seq top-1-i is acknowledged. Bit 0 must be set (top
 * is one past the highest named message, so top >= 1), and no bit may name a
 * sequence number below 0 (bits >> top == 0 when top < 64): -BAD_FIELD. One
 * frame acknowledges a whole burst, and a lost one is covered by the next as
 * long as its messages stay within 64 of top. */
#define SGA_DATA_ACK_LEN  16
#define SGA_DATA_ACK_SPAN 64 /* e2e_seqs one DATA_ACK can name */
struct sga_data_ack_plain {
	uint64_t top;  /* one past the highest e2e_seq named */
	uint64_t bits; /* bit i: e2e_seq top-1-i taken charge of */
};

/** Does ack name e2e_seq? (ack as decoded: valid.) */
static inline int sga_data_ack_names(const struct sga_data_ack_plain *ack, uint64_t e2e_seq)
{
	return e2e_seq < ack->top && ack->top - 1 - e2e_seq < SGA_DATA_ACK_SPAN &&
	       (ack->bits >> (ack->top - 1 - e2e_seq) & 1);
}

/* Payload codecs: decode checks exact sizes (-TRUNCATED / -TRAILING), ids
 * (-BAD_FIELD), suite lists, lengths (-BAD_LENGTH), flags; encode returns the
 * length in *len or -NOSPACE. */
int sga_reg_plain_decode(const uint8_t *p, size_t len, struct sga_reg_plain *m);
int sga_reg_plain_encode(const struct sga_reg_plain *m, uint8_t *out, size_t cap, size_t *len);
int sga_reg_ack_plain_decode(const uint8_t *p, size_t len, struct sga_reg_ack_plain *m);
int sga_reg_ack_plain_encode(const struct sga_reg_ack_plain *m, uint8_t *out, size_t cap,
                             size_t *len);
int sga_neg_req_plain_decode(const uint8_t *p, size_t len, struct sga_neg_req_plain *m);
int sga_neg_req_plain_encode(const struct sga_neg_req_plain *m, uint8_t *out, size_t cap,
                             size_t *len);
int sga_neg_invite_plain_decode(const uint8_t *p, size_t len, struct sga_neg_invite_plain *m);
int sga_neg_invite_plain_encode(const struct sga_neg_invite_plain *m, uint8_t *out, size_t cap,
                                size_t *len);
int sga_neg_accept_plain_decode(const uint8_t *p, size_t len, struct sga_neg_accept_plain *m);
int sga_neg_accept_plain_encode(const struct sga_neg_accept_plain *m, uint8_t *out, size_t cap,
                                size_t *len);
int sga_neg_result_plain_decode(const uint8_t *p, size_t len, struct sga_neg_result_plain *m);
int sga_neg_result_plain_encode(const struct sga_neg_result_plain *m, uint8_t *out, size_t cap,
                                size_t *len);
int sga_kex_init_plain_decode(const uint8_t *p, size_t len, struct sga_kex_init_plain *m);
int sga_kex_init_plain_encode(const struct sga_kex_init_plain *m, uint8_t *out, size_t cap,
                              size_t *len);
int sga_kex_reply_plain_decode(const uint8_t *p, size_t len, struct sga_kex_reply_plain *m);
int sga_kex_reply_plain_encode(const struct sga_kex_reply_plain *m, uint8_t *out, size_t cap,
                               size_t *len);
int sga_data_ack_plain_decode(const uint8_t *p, size_t len, struct sga_data_ack_plain *m);
int sga_data_ack_plain_encode(const struct sga_data_ack_plain *m, uint8_t *out, size_t cap,
                              size_t *len);
int sga_data_inner_decode(const uint8_t *p, size_t len, struct sga_data_inner *m);
/* Writes e2e_seq and returns where the caller puts the e2e ciphertext. */
int sga_data_inner_encode(uint64_t e2e_seq, size_t e2e_ct_len, uint8_t *out, size_t cap,
                          uint8_t **e2e_ct, size_t *len);

/* ---- WAKE (0x14) and WAKE_ACK (0x15): a device announces its address (7.16) ---- */

#define SGA_WAKE_WANT_INVITES  0x01 /* re-send the NEG_INVITEs waiting for me */
#define SGA_WAKE_WANT_STORED   0x02 /* deliver the messages stored for me now */
#define SGA_WAKE_FLAGS_ALL     (SGA_WAKE_WANT_INVITES | SGA_WAKE_WANT_STORED)
#define SGA_WAKE_PLAIN_LEN     2 /* flags | zero: keeps the WAKE_ACK no larger */
#define SGA_WAKE_ACK_PLAIN_LEN 2 /* invitations | stored */

/* WAKE plaintext: flags(1: SGA_WAKE_* bits, others BAD_FIELD) | zero(1: 0, else BAD_FIELD). */
struct sga_wake_plain {
	uint8_t flags;
};

/* WAKE_ACK plaintext: invitations(1) | stored(1), counts saturated at 255: the
 * invitations re-sent to the device and its sessions with stored messages. */
struct sga_wake_ack_plain {
	uint8_t invitations;
	uint8_t stored;
};

int sga_wake_plain_decode(const uint8_t *p, size_t len, struct sga_wake_plain *m);
int sga_wake_plain_encode(const struct sga_wake_plain *m, uint8_t *out, size_t cap, size_t *len);
int sga_wake_ack_plain_decode(const uint8_t *p, size_t len, struct sga_wake_ack_plain *m);
int sga_wake_ack_plain_encode(const struct sga_wake_ack_plain *m, uint8_t *out, size_t cap,
                              size_t *len);

#endif /* SGA_WIRE_H */
