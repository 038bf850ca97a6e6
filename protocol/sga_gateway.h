/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_gateway.h - the gateway side of the SGA protocol as pure functions.
 *
 * The gateway's state lives in records the caller loads and stores (Redis in
 * the control plane, plain memory in tests): struct sga_gw_device per
 * registered device and struct sga_gw_session per session. A handler takes the
 * frame plus the records it needs and returns the updated records and the
 * frames to send, addressed by device identity. Where the record to load is
 * only known after decryption (the device named inside a REG_REQ, the session
 * named inside an A3), the handler is split in an _open and a _handle step.
 *
 * On error a handler returns a negated SGA_E_* code and leaves every record
 * untouched; what (if anything) to answer is the caller's choice (PROTOCOL.md
 * 13: an ERROR hint only for a frame that authenticated, else silence). Every
 * handler checks a frame's tag or MAC before its counter, so -SGA_E_REPLAY
 * always means "authentic, but already seen": a forged frame gets -SGA_E_AUTH
 * whatever counter it carries.
 */
#ifndef SGA_GATEWAY_H
#define SGA_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include "sga_crypto.h"
#include "sga_hop.h"
#include "sga_pke.h"
#include "sga_rekey_state.h"
#include "sga_replay.h"
#include "sga_wire.h"

enum sga_enroll_mode {
	SGA_ENROLL_OPEN = 0,      /* any device may register a new identity */
	SGA_ENROLL_ALLOWLIST = 1, /* only listed identities, each with a one-time token */
};

/* One profile the gateway serves: a group, its E_PK and F_G key pairs and the
 * package devices of that profile pin (PROTOCOL.md 5), built from the
 * gateway's identity and suite set (struct sga_gw) and the profile's keys. */
struct sga_gw_profile {
	const struct sga_group_info *grp;
	struct sga_package pkg;           /* what devices pin, decoded */
	uint8_t pkg_frame[SGA_FRAME_MAX]; /* and encoded */
	size_t pkg_frame_len;
	struct sga_pke_priv pk;  /* E_PK private half */
	struct sga_pke_priv tpk; /* F_G private half (the trapdoor) */
};

#define SGA_GW_PROFILES_MAX 4 /* one per group the build knows */

struct sga_gw {
	/* The gateway's identity and the suites it offers: one copy, which every
	 * profile's package carries and negotiation checks. */
	uint8_t id_len;
	uint8_t id[SGA_ID_MAX];
	uint8_t n_suites;
	uint8_t suites[SGA_MAX_SUITES];
	/* prof[0] is the first profile: what a PKG_REQ without a group gets and
	 * what a device record without a group (an earlier build's) is of. */
	struct sga_gw_profile prof[SGA_GW_PROFILES_MAX];
	unsigned n_prof;
	uint8_t enroll_mode; /* enum sga_enroll_mode: read and set through the two below */
};

/** The enrollment mode, as control workers read it while a reload may set it. */
static inline uint8_t sga_gw_enroll_mode(const struct sga_gw *gw)
{
	return __atomic_load_n(&gw->enroll_mode, __ATOMIC_RELAXED);
}

/** Change the enrollment mode of a running gateway (SIGHUP); any thread. */
static inline void sga_gw_set_enroll_mode(struct sga_gw *gw, uint8_t mode)
{
	__atomic_store_n(&gw->enroll_mode, mode, __ATOMIC_RELAXED);
}

/** Per-device record (store it encrypted at rest: it holds k_d). */
struct sga_gw_device {
	uint8_t id_len;
	uint8_t id[SGA_ID_MAX];
	uint8_t k_d[SGA_KEY_LEN];
	uint8_t suite_init;
	uint8_t n_suites;
	uint8_t suites[SGA_MAX_SUITES];
	uint64_t up_ctr;   /* last counter accepted from the device */
	uint64_t down_ctr; /* last counter sent to the device */
	uint8_t revoked;   /* the operator revoked it: every request refused, silently */
	/* The profile it registered with (enum sga_group_id); 0 in a record
	 * written before records kept one: the gateway's first profile. */
	uint8_t group;
};

/** Allow-list entry: SHA-256 of the one-time enrollment token. */
struct sga_gw_enroll {
	uint8_t token_hash[SGA_SHA256_LEN];
};

enum sga_gw_state {
	SGA_GW_S_INVITED = 1, /* A1 accepted, A2 sent, waiting for A3 */
	SGA_GW_S_KEX,         /* A3 accepted, waiting for B1 and B3 */
	SGA_GW_S_ESTABLISHED, /* B5/B6 sent; relaying */
};

/** Per-session record. Index [role] is SGA_ROLE_INITIATOR or SGA_ROLE_RESPONDER. */
struct sga_gw_session {
	uint64_t session_id;
	uint8_t state; /* enum sga_gw_state */
	uint8_t suite; /* negotiated E2E suite */
	uint8_t group;
	uint8_t have_init; /* bit (1 << role): KEX_INIT received */
	uint64_t req_ctr;  /* the initiator's A1 counter, echoed in A4 */
	uint8_t id_len[2];
	uint8_t id[2][SGA_ID_MAX];
	uint8_t hop_suite[2]; /* each device's suite_init */
	uint8_t k_t[2][SGA_KEY_LEN];
	uint8_t N[2][SGA_GROUP_MAX_LEN]; /* wiped once the replies are made */
	uint8_t K[2][SGA_GROUP_MAX_LEN]; /* K_is, K_js: wiped once the replies are made */
	uint8_t reply
	    [2]
	    [SGA_FRAME_MAX]; /* B5/B6, kept for retransmission; while INVITED, [responder]: A2's plaintext (WAKE) */
	uint16_t reply_len[2];
	uint8_t init_hash[2][SGA_SHA256_LEN]; /* SHA-256 of each role's KEX_INIT frame */
	struct sga_hop_member hop[2];         /* set when ESTABLISHED */
	struct sga_gw_rekey rk;               /* key generations (PROTOCOL.md 7.15) */
};

/** Up to two frames a handler asks the caller to send. */
struct sga_gw_out {
	unsigned n;
	struct {
		uint8_t to_id_len;
		uint8_t to_id[SGA_ID_MAX];
		size_t len;
		uint8_t frame[SGA_FRAME_MAX];
	} msg[2];
};

/**
 * Build the gateway: identity, group, the registry C it offers, the two RSA key
 * pairs of a finite-field profile (ownership passes to gw on success) and the
 * enrollment mode. Encodes the package devices pin. More profiles join with
 * sga_gw_add_profile.
 */
int sga_gw_init(struct sga_gw *gw, const uint8_t *id, uint8_t id_len, uint8_t group,
                const uint8_t *suites, uint8_t n_suites, struct sga_rsa_key *pk,
                struct sga_rsa_key *tpk, uint8_t enroll_mode) SGA_MUST_CHECK;
/** A gateway with no profile yet: identity, suites and enrollment mode. */
int sga_gw_init_empty(struct sga_gw *gw, const uint8_t *id, uint8_t id_len, const uint8_t *suites,
                      uint8_t n_suites, uint8_t enroll_mode) SGA_MUST_CHECK;
/**
 * Serve one more profile: group with its E_PK and F_G key pairs (ownership
 * passes to gw on success, and *pk, *tpk are cleared). -BAD_FIELD for a group
 * already served, keys of another group or kind, or SGA_GW_PROFILES_MAX
 * profiles already.
 */
int sga_gw_add_profile(struct sga_gw *gw, uint8_t group, struct sga_pke_priv *pk,
                       struct sga_pke_priv *tpk) SGA_MUST_CHECK;
void sga_gw_fini(struct sga_gw *gw);

/** The profile of group (0: the first), NULL if gw does not serve it. */
const struct sga_gw_profile *sga_gw_profile(const struct sga_gw *gw, uint8_t group);
/** The group a device record is of: its own, or the first profile's for a
 *  record that names none (written by an earlier build). */
uint8_t sga_gw_device_group(const struct sga_gw *gw, const struct sga_gw_device *dev);

/** PKG_REQ -> the PKG frame of the profile it names (the first for group 0);
 *  -BAD_FIELD for a group gw does not serve. */
int sga_gw_handle_pkg_req(const struct sga_gw *gw, const uint8_t *frame, size_t len,
                          struct sga_gw_out *out) SGA_MUST_CHECK;

/** Registration, step 1: decrypt the request (D_PR). req receives the plaintext;
 *  env the envelope (needed by step 2 for the rekey MAC). */
int sga_gw_reg_open(const struct sga_gw *gw, const uint8_t *frame, size_t len,
                    struct sga_reg_req *env, struct sga_reg_plain *req) SGA_MUST_CHECK;
/**
 * Registration, step 2: apply the policy. existing: the record under req->id or
 * NULL; allow: the allow-list entry for req->id or NULL (ALLOWLIST mode only).
 * New id: OPEN accepts; ALLOWLIST needs allow and a token hashing to it
 * (-ENROLL_DENIED). Existing id: only a REKEY request whose MAC verifies under
 * the old k_d and whose ctr exceeds up_ctr (-EXISTS, -AUTH, -REPLAY). On
 * success rec receives the new record, *token_used is set when the allow-list
 * entry must be deleted, and out holds the REG_ACK.
 */
int sga_gw_reg_accept(const struct sga_gw *gw, const struct sga_reg_req *env,
                      const struct sga_reg_plain *req, const struct sga_gw_device *existing,
                      const struct sga_gw_enroll *allow, struct sga_gw_device *rec, int *token_used,
                      struct sga_gw_out *out) SGA_MUST_CHECK;

/** A1 step 1: authenticate under dev_i (the record named by the envelope's id)
 *  and check freshness. a1 receives the plaintext, *ctr the counter. */
int sga_gw_neg_req_open(const struct sga_gw *gw, const struct sga_gw_device *dev_i,
                        const uint8_t *frame, size_t len, struct sga_neg_req_plain *a1,
                        uint64_t *ctr) SGA_MUST_CHECK;
/**
 * A1 step 2: dev_j is the record named by a1->peer_id, or NULL if unknown.
 * Picks the first suite of the initiator's preference list that is in
 * C_i, C_j and the gateway's C. Success: *sess is a new session (INVITED) and out
 * holds A2 for d_j. Refusal (unknown peer, no common suite, peer is self): out
 * holds an authenticated A4 with that status for d_i and the call returns 0 with
 * sess->session_id == 0. dev_i->up_ctr (and on success dev_j->down_ctr) advance.
 */
int sga_gw_neg_req_handle(const struct sga_gw *gw, struct sga_gw_device *dev_i,
                          struct sga_gw_device *dev_j, const struct sga_neg_req_plain *a1,
                          uint64_t ctr, struct sga_gw_session *sess,
                          struct sga_gw_out *out) SGA_MUST_CHECK;

/** WAKE step 4 (PROTOCOL.md 7.16): the NEG_INVITE of sess (INVITED, dev_j its
 *  responder) again, the same plaintext as A2 under dev_j's next down counter
 *  and a fresh nonce; dev_j->down_ctr advances (store it before the frame
 *  leaves). -SGA_E_BAD_STATE: not INVITED, or a record that kept no A2;
 *  -SGA_E_UNKNOWN_SESSION: dev_j is not its responder. */
int sga_gw_neg_invite_reseal(const struct sga_gw_session *sess, struct sga_gw_device *dev_j,
                             struct sga_gw_out *out) SGA_MUST_CHECK;

/** A3 step 1: authenticate under dev_j; a3->session_id names the session. */
int sga_gw_neg_accept_open(const struct sga_gw *gw, const struct sga_gw_device *dev_j,
                           const uint8_t *frame, size_t len, struct sga_neg_accept_plain *a3,
                           uint64_t *ctr) SGA_MUST_CHECK;
/** A3 step 2: the session must be INVITED with dev_j as responder. Accept:
 *  state KEX, A4 (status 0) for d_i. Decline: A4 (DECLINED) for d_i and the
 *  caller deletes the session (*sess->state == 0). */
int sga_gw_neg_accept_handle(const struct sga_gw *gw, struct sga_gw_device *dev_j,
                             struct sga_gw_session *sess, const struct sga_neg_accept_plain *a3,
                             uint64_t ctr, struct sga_gw_out *out) SGA_MUST_CHECK;

/**
 * B1/B3 (paper B2/B4 are the checks done here): dev is the record of the
 * session member in the envelope's role. Opens the session envelope under that
 * device's k_t, checks N in [2, p-2], inverts F_G, recomputes K = N^r, verifies
 * f_K(N) and the k_d proof. Once both contributions are in, draws R_s and emits
 * B5 (to d_i) and B6 (to d_j), wipes N, K and R_s, and the session is
 * ESTABLISHED. A repeated KEX_INIT must be the same bytes as the role's first
 * (sess->init_hash): it re-emits the cached reply once ESTABLISHED (nothing
 * before); any other authentic KEX_INIT for that role is -SGA_E_REPLAY.
 * sess->have_init tells the caller whether this frame was the role's first.
 */
int sga_gw_kex_init_handle(const struct sga_gw *gw, const struct sga_gw_device *dev,
                           struct sga_gw_session *sess, const uint8_t *frame, size_t len,
                           struct sga_gw_out *out) SGA_MUST_CHECK;

/**
 * Data relay: open a DATA_UP hop frame from either member (replay window per
 * member), re-seal the inner E2E ciphertext, untouched, as DATA_DOWN for the other
 * member. out receives the frame, *to_role its recipient's role. An authentic
 * duplicate returns -SGA_E_REPLAY (acknowledge it again, see sga_hop.h). The
 * data plane applies the same rules through sga_hop.h, in place on its mbufs.
 */
int sga_gw_data_relay(struct sga_gw_session *sess, const uint8_t *frame, size_t len, uint8_t *out,
                      size_t cap, size_t *out_len, uint8_t *to_role) SGA_MUST_CHECK;

/** Peek at a received frame: type; the device id of a device envelope; the
 *  session id of a session/hop frame. For the caller to load records. */
struct sga_gw_peek {
	uint8_t type;
	uint8_t id_len;
	uint8_t id[SGA_ID_MAX];
	uint64_t session_id;
	uint8_t role;
};
int sga_gw_peek(const uint8_t *frame, size_t len, struct sga_gw_peek *pk) SGA_MUST_CHECK;

/** Wipe a session record's secrets. */
void sga_gw_session_wipe(struct sga_gw_session *sess);

/**
 * WAKE (PROTOCOL.md 7.16), step 1: authenticate under dev (the record named by
 * the envelope's id; -SGA_E_UNKNOWN_DEVICE for another id), the tag before the
 * counter (-SGA_E_AUTH, then -SGA_E_REPLAY when ctr <= dev->up_ctr), then the
 * plaintext. *ctr: the frame's counter, for the caller to store (compare and
 * set) before the device's address moves or anything is sent.
 */
int sga_gw_wake_open(const struct sga_gw *gw, const struct sga_gw_device *dev, const uint8_t *frame,
                     size_t len, struct sga_wake_plain *wake, uint64_t *ctr) SGA_MUST_CHECK;

/** WAKE_ACK for dev, echoing the WAKE's counter ctr, with the counts of what G
 *  re-sent (invitations) and is redelivering (sessions with stored messages),
 *  saturated at 255. out receives one frame for dev. */
int sga_gw_wake_ack_seal(const struct sga_gw_device *dev, uint64_t ctr, unsigned invitations,
                         unsigned stored, struct sga_gw_out *out) SGA_MUST_CHECK;

#endif /* SGA_GATEWAY_H */
