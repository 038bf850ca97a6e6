/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_device.h - the device side of the SGA protocol as pure functions.
 *
 * A device keeps two kinds of state, both plain structs the caller owns:
 *  - struct sga_dev: long-term (identity, k_d, suites, control counters, the
 *    pinned gateway package). Persist it: reusing a counter is a replay.
 *  - struct sga_dev_sess: one end-to-end session with one peer.
 * Each protocol message has a create_X (state in, frame out) and/or a
 * consume_X (frame in, state out) function; none does I/O, so any transport
 * (the UDP SDK, a test harness, a radio stack) can drive them.
 *
 * All functions return 0 or a negated SGA_E_* code (sga_err.h). A consume_X that
 * fails leaves the state as it was, so a forged or replayed frame changes nothing.
 */
#ifndef SGA_DEVICE_H
#define SGA_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "sga_crypto.h"
#include "sga_keys.h"
#include "sga_pke.h"
#include "sga_rekey_state.h"
#include "sga_replay.h"
#include "sga_wire.h"

struct sga_dev {
	/* The gateway this device trusts: decoded package and its keys. */
	struct sga_package pkg;
	struct sga_pke_pub pk;            /* E_PK */
	struct sga_pke_pub tpk;           /* F_G */
	const struct sga_group_info *grp; /* the profile's group, the package's */

	uint8_t id_len;
	uint8_t id[SGA_ID_MAX];
	uint8_t k_d[SGA_KEY_LEN];
	uint8_t suite_init; /* protects device <-> gateway traffic */
	uint8_t n_suites;
	uint8_t suites[SGA_MAX_SUITES]; /* the device's set C_i */
	uint64_t up_ctr;                /* last counter sent to G */
	uint64_t down_ctr;              /* last counter accepted from G */

	/* Registration in progress: nonce to match REG_ACK, and k_d to adopt. */
	int reg_pending;
	uint8_t reg_nonce[SGA_NONCE_LEN];
	uint8_t reg_k_d[SGA_KEY_LEN];
	int reg_k_d_set; /* a rekey proposes reg_k_d (an interrupted one, again), not a fresh key */
	int registered;
	uint64_t wake_ctr; /* the counter of the WAKE awaiting its WAKE_ACK; 0: none (7.16) */
};

enum sga_dev_state {
	SGA_DEV_S_IDLE = 0,
	SGA_DEV_S_NEG_SENT,    /* initiator: A1 sent, waiting for A4 */
	SGA_DEV_S_INVITED,     /* responder: A2 received, A3 not yet sent */
	SGA_DEV_S_KEX,         /* B1/B3 may be sent; waiting for B5/B6 */
	SGA_DEV_S_ESTABLISHED, /* B7 done, keys derived; data flows once confirmed */
	SGA_DEV_S_FAILED,
};

struct sga_dev_sess {
	uint8_t state; /* enum sga_dev_state */
	uint8_t role;  /* enum sga_role */
	uint64_t session_id;
	uint8_t peer_id_len;
	uint8_t peer_id[SGA_ID_MAX];
	uint8_t suite; /* negotiated E2E suite */
	uint8_t group;
	uint8_t hop_suite; /* = the device's suite_init */
	uint64_t req_ctr;  /* initiator: the A1 counter */
	/* The initiator's preference list, sent in A1 (d_i) or relayed in A2
	 * (d_j), and SHA-256 of this device's N: both in the transcript. */
	uint8_t n_pref;
	uint8_t prefs[SGA_MAX_SUITES];
	uint8_t n_hash[SGA_SHA256_LEN];

	uint8_t k_t[SGA_KEY_LEN];
	uint8_t kex_key[SGA_AEAD_MAX_KEY_LEN];
	uint8_t R[SGA_EXPONENT_LEN];
	uint8_t K[SGA_GROUP_MAX_LEN];     /* K_is = [r]N: authenticates G's reply */
	int kex_made;                     /* KEX_INIT created (R and K valid) */
	uint8_t kex_frame[SGA_FRAME_MAX]; /* the KEX_INIT, kept for retransmission */
	size_t kex_frame_len;

	uint8_t hop_up[SGA_AEAD_MAX_KEY_LEN];
	/* Hop down (PROTOCOL.md 8.1, 9.3): the base every epoch's key comes from,
	 * the epoch adopted last (0: none yet; echoed in DATA_UP and
	 * DATA_DELIVERED) and its key. hop_rx_win is that epoch's window. */
	uint8_t hop_down_base[SGA_AEAD_MAX_KEY_LEN];
	uint64_t hop_epoch;
	uint8_t hop_down[SGA_AEAD_MAX_KEY_LEN];
	uint8_t e2e_tx_key[SGA_AEAD_MAX_KEY_LEN];
	uint8_t e2e_rx_key[SGA_AEAD_MAX_KEY_LEN];
	uint64_t hop_tx_seq;
	uint64_t e2e_tx_seq;
	struct sga_replay hop_rx_win;
	struct sga_replay e2e_rx_win;
	uint64_t e2e_rx_last; /* e2e_seq of the last message opened */

	/* Key confirmation (PROTOCOL.md 8.6): e2e_seq 0 of each direction. */
	uint8_t confirm_tx[SGA_MAC_LEN]; /* ours, kept to re-seal it */
	uint8_t confirm_rx[SGA_MAC_LEN]; /* the peer's, expected; wiped once verified */
	uint8_t confirm_sent;            /* ours sealed at least once */
	uint8_t peer_confirmed;          /* the peer's verified */
	struct sga_dev_rekey rk;         /* key generations (PROTOCOL.md 7.15, sga_rekey.h) */
};

/** Load the pinned gateway package (decoded) into d and set identity and
 *  suites; draws a fresh k_d. -BAD_FIELD for an invalid id, suite list or a
 *  suite_init not in the list; -BAD_PACKAGE if the package keys do not parse. */
int sga_dev_init(struct sga_dev *d, const struct sga_package *pkg, const uint8_t *id,
                 uint8_t id_len, uint8_t suite_init, const uint8_t *suites,
                 uint8_t n_suites) SGA_MUST_CHECK;
/** Wipe all secrets and free the key objects. */
void sga_dev_fini(struct sga_dev *d);

/** Registration request: E_PK of k_d and the device's parameters. With
 *  rekey, a fresh k_d is proposed and the frame carries a MAC under the current
 *  one (the only way to replace an existing registration). */
int sga_dev_create_reg_req(struct sga_dev *d, const uint8_t *token, uint8_t token_len, int rekey,
                           uint8_t *out, size_t cap, size_t *len) SGA_MUST_CHECK;
/** REG_ACK: authenticates under the proposed k_d and echoes the nonce; on
 *  success the device is registered with that k_d. */
int sga_dev_consume_reg_ack(struct sga_dev *d, const uint8_t *frame, size_t len) SGA_MUST_CHECK;

/** A1: propose a session with peer, suites in preference order. */
int sga_dev_create_neg_req(struct sga_dev *d, struct sga_dev_sess *s, const uint8_t *peer_id,
                           uint8_t peer_id_len, const uint8_t *prefs, uint8_t n_pref, uint8_t *out,
                           size_t cap, size_t *len) SGA_MUST_CHECK;
/** A4: on status 0 the session moves to KEX; a refusal returns the gateway's
 *  (authenticated) status negated, e.g. -SGA_E_NO_COMMON_SUITE, and the session
 *  moves to FAILED. */
int sga_dev_consume_neg_result(struct sga_dev *d, struct sga_dev_sess *s, const uint8_t *frame,
                               size_t len) SGA_MUST_CHECK;
/** A2: an invitation; s becomes a responder session in state INVITED. */
int sga_dev_consume_neg_invite(struct sga_dev *d, struct sga_dev_sess *s, const uint8_t *frame,
                               size_t len) SGA_MUST_CHECK;
/** A3: accept (fresh k_tj, state KEX) or decline (state FAILED). */
int sga_dev_create_neg_accept(struct sga_dev *d, struct sga_dev_sess *s, int accept, uint8_t *out,
                              size_t cap, size_t *len) SGA_MUST_CHECK;
/** B1 / B3: the device's key-exchange contribution. Calling it again returns
 *  the same frame (retransmission), never fresh randomness under the same key. */
int sga_dev_create_kex_init(struct sga_dev *d, struct sga_dev_sess *s, uint8_t *out, size_t cap,
                            size_t *len) SGA_MUST_CHECK;
/** B5 / B6 and B7: verify the gateway's MAC, compute K_isj, derive the E2E,
 *  hop and confirmation keys, wipe the exponent; state ESTABLISHED. The
 *  session carries data only once both key confirmations are done
 *  (sga_dev_create_key_confirm, sga_dev_consume_key_confirm,
 *  sga_dev_sess_confirmed). */
int sga_dev_consume_kex_reply(struct sga_dev *d, struct sga_dev_sess *s, const uint8_t *frame,
                              size_t len) SGA_MUST_CHECK;
/** The traffic keys of a session (PROTOCOL.md section 8): the transcript hash
 *  of *t (its session_id, suite and group are taken from s), both E2E keys and
 *  both key confirmations from K_isj (kisj, kisj_len bytes) and that
 *  transcript, the hop keys from k_t. s->role, session_id, suite, group and
 *  hop_suite must be set; on failure s's keys are unchanged. The one key
 *  schedule of B7 and of the lab sessions (sga_lab.h). */
int sga_dev_sess_derive(struct sga_dev_sess *s, const uint8_t *kisj, size_t kisj_len,
                        const uint8_t k_t[SGA_KEY_LEN],
                        const struct sga_transcript *t) SGA_MUST_CHECK;

/** Key confirmation, this device's half: a DATA_UP carrying e2e_seq 0 of its
 *  direction, whose E2E plaintext is HMAC(k_confirm, "SGA v1 confirm" | role |
 *  transcript). State ESTABLISHED; the first call seals it, later calls
 *  re-seal the same E2E bytes under a fresh hop seq (retransmission until a
 *  DATA_ACK names e2e_seq 0). */
int sga_dev_create_key_confirm(struct sga_dev_sess *s, uint8_t *out, size_t cap,
                               size_t *len) SGA_MUST_CHECK;
/** Key confirmation, the peer's half: a DATA_DOWN in state ESTABLISHED before
 *  the peer's confirm was verified. It must carry e2e_seq 0; else -BAD_STATE
 *  and no window moves: a message that overtook the confirm, which the caller
 *  keeps and hands to sga_dev_data_open once this call succeeded (or drops,
 *  for a storing gateway to send again). An authentic hop frame whose E2E
 *  layer does not open, or whose confirm differs, means the two devices hold
 *  different keys: -SGA_E_KEY_CONFIRM and the session is FAILED. A forged hop
 *  frame changes nothing (-AUTH). */
int sga_dev_consume_key_confirm(struct sga_dev_sess *s, const uint8_t *frame,
                                size_t len) SGA_MUST_CHECK;
/** Both key confirmations done (ours sealed, the peer's verified): only now
 *  does the session carry data, and only now may a device report it up. */
static inline int sga_dev_sess_confirmed(const struct sga_dev_sess *s)
{
	return s->state == SGA_DEV_S_ESTABLISHED && s->confirm_sent && s->peer_confirmed;
}

/** Seal an application message into a DATA_UP frame (E2E under the session key,
 *  then the hop layer). */
int sga_dev_data_seal(struct sga_dev_sess *s, const uint8_t *msg, size_t msg_len, uint8_t *out,
                      size_t cap, size_t *len) SGA_MUST_CHECK;
/** Seal again the message sent earlier as e2e_seq (retransmission): the same
 *  E2E ciphertext (same key, nonce and plaintext give the same bytes) inside a
 *  fresh hop sequence number. e2e_seq must be below the next one to send. */
int sga_dev_data_reseal(struct sga_dev_sess *s, uint64_t e2e_seq, const uint8_t *msg,
                        size_t msg_len, uint8_t *out, size_t cap, size_t *len) SGA_MUST_CHECK;
/** The e2e_seq the last sga_dev_data_seal used (for retransmission tracking). */
static inline uint64_t sga_dev_data_last_seq(const struct sga_dev_sess *s)
{
	return s->e2e_tx_seq - 1;
}
/** A DATA_DELIVERED frame telling the gateway this device holds every message
 *  of the session below next_e2e_seq, so it may release them from its store.
 *  Uses a hop sequence number (never an E2E one). */
int sga_dev_delivered_seal(struct sga_dev_sess *s, uint64_t next_e2e_seq, uint8_t *out, size_t cap,
                           size_t *len) SGA_MUST_CHECK;
/** Open a DATA_ACK frame: *ack names every message the gateway took charge
 *  of among the 64 below ack->top (sga_data_ack_names). Each frame stands on
 *  its own: the caller forgets every message it names, and ignores names of
 *  messages it no longer holds. -REPLAY for a duplicate frame; -TRUNCATED /
 *  -TRAILING / -BAD_FIELD for an authentic but malformed one (the hop window
 *  does not move). */
int sga_dev_ack_open(struct sga_dev_sess *s, const uint8_t *frame, size_t len,
                     struct sga_data_ack_plain *ack) SGA_MUST_CHECK;
/** Open a DATA_SKIP frame: the messages below *next_e2e_seq that this device
 *  lacks expired in the gateway's store and will not come. -REPLAY for a
 *  duplicate. */
int sga_dev_skip_open(struct sga_dev_sess *s, const uint8_t *frame, size_t len,
                      uint64_t *next_e2e_seq) SGA_MUST_CHECK;
/** Open a DATA_DOWN frame into the peer's message; -REPLAY for a duplicate.
 *  On success s->e2e_rx_last is the message's sequence number. */
int sga_dev_data_open(struct sga_dev_sess *s, const uint8_t *frame, size_t len, uint8_t *msg,
                      size_t cap, size_t *msg_len) SGA_MUST_CHECK;
/** Largest message that fits one frame for this session. */
size_t sga_dev_data_max(const struct sga_dev_sess *s);

/** Wipe every secret of the session. */
void sga_dev_sess_wipe(struct sga_dev_sess *s);

/** Peek at a frame: its type, and for session/hop frames the session id (0
 *  otherwise). For routing a received frame to the right session. */
int sga_dev_peek(const uint8_t *frame, size_t len, uint8_t *type, uint64_t *session_id);

/**
 * WAKE (PROTOCOL.md 7.16): announce this socket's address to G and ask for
 * what is pending (flags: SGA_WAKE_WANT_*). Uses up_ctr + 1, like a NEG_REQ:
 * the caller persists up_ctr before sending (write before use). A WAKE sent
 * again is made afresh (a new counter), never re-sent as the same bytes.
 */
int sga_dev_create_wake(struct sga_dev *d, uint8_t flags, uint8_t *out, size_t cap,
                        size_t *len) SGA_MUST_CHECK;

/** The WAKE_ACK answering the latest WAKE: tag first (-SGA_E_AUTH), then its
 *  counter must echo that WAKE's (-SGA_E_REPLAY: an old answer). ack gets the
 *  counts; d->down_ctr is untouched (the answer echoes, it spends nothing). */
int sga_dev_consume_wake_ack(struct sga_dev *d, const uint8_t *frame, size_t len,
                             struct sga_wake_ack_plain *ack) SGA_MUST_CHECK;

#endif /* SGA_DEVICE_H */
