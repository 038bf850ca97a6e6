/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_hop.h - the hop layer between one device and the gateway, gateway side.
 *
 * A session has two members; each has its own hop keys (derived from its k_t),
 * its suite_init, a replay window over the hop sequence numbers it sends, and
 * the gateway's TX sequence towards it. DATA_UP frames are opened with the
 * sender's up key; DATA_DOWN and DATA_ACK frames are sealed with the recipient's
 * down key. Both work in place on a frame buffer (the data plane's mbuf), since
 * the hop header of DATA_UP and DATA_DOWN has the same size.
 *
 * Used by sga_gw_data_relay and by the DPDK data plane: one implementation of
 * the relay rules.
 */
#ifndef SGA_HOP_H
#define SGA_HOP_H

#include <stddef.h>
#include <stdint.h>

#include "sga_crypto.h"
#include "sga_replay.h"
#include "sga_wire.h"

#define SGA_HOP_HDR_LEN (SGA_HDR_LEN + 8 + 1 + 8 + 8) /* hdr | session_id | role | epoch | seq */
#define SGA_HOP_SEQ_OFF (SGA_HOP_HDR_LEN - 8)         /* the clear hop seq (PROTOCOL.md 6.2) */

/** The hop seq in the clear header of a hop frame (at least SGA_HOP_HDR_LEN
 *  bytes): unauthenticated, for bookkeeping only. */
static inline uint64_t sga_hop_frame_seq(const uint8_t *frame)
{
	uint64_t seq = 0;

	for (int i = 0; i < 8; i++)
		seq = seq << 8 | frame[SGA_HOP_SEQ_OFF + i];
	return seq;
}

struct sga_hop_member {
	uint8_t suite; /* the member's suite_init */
	uint8_t key_up[SGA_AEAD_MAX_KEY_LEN];
	uint8_t key_down[SGA_AEAD_MAX_KEY_LEN]; /* this epoch's (sga_key_hop_epoch) */
	uint64_t epoch;                         /* hop-down epoch: fresh per install, never 0 */
	uint8_t restored;     /* loaded from the store: its frames may predate epoch */
	uint64_t tx_seq;      /* next hop seq towards this member */
	struct sga_replay rx; /* hop seqs received from this member */
};

#define SGA_HOP_EPOCH_OFF (SGA_HDR_LEN + 8 + 1) /* the epoch field in a hop frame */

/** The epoch field of a hop frame whose header (SGA_HOP_HDR_LEN bytes) is at frame. */
static inline uint64_t sga_hop_frame_epoch(const uint8_t *frame)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | frame[SGA_HOP_EPOCH_OFF + i];
	return v;
}

/** May this authentic, fresh up frame (its header's epoch echo) move the
 *  member's address? Only if the device had adopted this very epoch when it
 *  sealed it: a frame sealed before the gateway drew the epoch (a replay from
 *  before a restart) cannot carry it (PROTOCOL.md 9.3). */
static inline int sga_hop_echo_current(const struct sga_hop_member *m, uint64_t echo)
{
	return echo == m->epoch;
}

/**
 * Open a DATA_UP or DATA_DELIVERED frame (frame[1] says which) from member m
 * (role) of session sid, in place: on return
 * *inner points into frame at SGA_HOP_HDR_LEN and holds the plaintext
 * (e2e_seq | e2e_ct), *seq the hop sequence number. Returns 0 for a fresh frame,
 * -SGA_E_REPLAY for an AUTHENTIC frame whose seq was already accepted (a
 * retransmission: acknowledge it again, do not relay it), or the error
 * (-UNKNOWN_SESSION, -BAD_FIELD, -AUTH, -TRUNCATED ...). The window is not
 * updated: call sga_replay_update(&m->rx, seq) once the frame is accepted.
 * A frame too old for the window is refused without being opened.
 */
int sga_hop_open_up(const struct sga_hop_member *m, uint64_t sid, uint8_t role, uint8_t *frame,
                    size_t len, uint64_t *seq, uint8_t **inner, size_t *inner_len) SGA_MUST_CHECK;

/**
 * sga_hop_open_up on a frame its caller has decoded already: env is what
 * sga_env_hop_decode(frame, len) returned (the same buffer, else
 * -SGA_E_INTERNAL), so a frame is parsed once on its way through the data
 * plane. k: a prepared key (sga_aead_key, SGA_AEAD_OPEN) of m->key_up, or NULL
 * for a key schedule per call. Same outcomes as sga_hop_open_up.
 */
int sga_hop_open_env(const struct sga_hop_member *m, struct sga_aead_key *k, uint64_t sid,
                     uint8_t role, const struct sga_env_hop *env, uint8_t *frame, size_t len,
                     uint64_t *seq, uint8_t **inner, size_t *inner_len) SGA_MUST_CHECK;

/**
 * Seal inner as a `type` frame (SGA_MSG_DATA_DOWN, _DATA_ACK or _DATA_SKIP) to member
 * m (role) into out, using and advancing m->tx_seq. inner may be out +
 * SGA_HOP_HDR_LEN (in place). -SGA_E_BAD_STATE when the sequence space is spent.
 */
int sga_hop_seal_down(struct sga_hop_member *m, uint64_t sid, uint8_t role, uint8_t type,
                      const uint8_t *inner, size_t inner_len, uint8_t *out, size_t cap,
                      size_t *len) SGA_MUST_CHECK;

/** sga_hop_seal_down under k, a prepared key (SGA_AEAD_SEAL) of m->key_down;
 *  NULL: a key schedule per call. */
int sga_hop_seal_down_k(struct sga_hop_member *m, struct sga_aead_key *k, uint64_t sid,
                        uint8_t role, uint8_t type, const uint8_t *inner, size_t inner_len,
                        uint8_t *out, size_t cap, size_t *len) SGA_MUST_CHECK;

/**
 * What the gateway acknowledges to one sender (PROTOCOL.md 7.11): the 64
 * highest e2e_seqs it took charge of, as a DATA_ACK names them. Slides like a
 * replay window of 64: a message above top moves top up to it. Zeroed = nothing
 * acknowledged yet.
 */
struct sga_ack_win {
	uint64_t top;  /* one past the highest e2e_seq taken charge of; 0: none */
	uint64_t bits; /* bit i: e2e_seq top-1-i taken charge of */
};

/**
 * Record e2e_seq as taken charge of. Returns 1 when the window now names it
 * (the next DATA_ACK sealed from the window carries it), 0 when it lies 64 or
 * more below top: that message needs a DATA_ACK of its own (top = e2e_seq + 1,
 * bits = 1), the window is unchanged; -1 for e2e_seq UINT64_MAX, which no
 * DATA_ACK can name (and no device sends): it is not acknowledged.
 */
int sga_ack_win_note(struct sga_ack_win *w, uint64_t e2e_seq);

/** DATA_ACK to member m naming what ack names (top, bits; see sga_wire.h:
 *  -BAD_FIELD unless bit 0 is set and no bit lies below e2e_seq 0). */
int sga_hop_seal_ack(struct sga_hop_member *m, uint64_t sid, uint8_t role,
                     const struct sga_data_ack_plain *ack, uint8_t *out, size_t cap,
                     size_t *len) SGA_MUST_CHECK;
/** A DATA_SKIP (next_e2e_seq: what the member lacks below it expired in the
 *  store) frame: 8 bytes of plaintext. -BAD_TYPE for any other type. */
int sga_hop_seal_u64(struct sga_hop_member *m, uint64_t sid, uint8_t role, uint8_t type,
                     uint64_t value, uint8_t *out, size_t cap, size_t *len) SGA_MUST_CHECK;

/** The next_e2e_seq a DATA_DELIVERED's opened plaintext carries; -SGA_E_TRUNCATED
 *  / -SGA_E_TRAILING unless it is exactly 8 bytes. */
int sga_hop_delivered_parse(const uint8_t *inner, size_t inner_len,
                            uint64_t *next_e2e_seq) SGA_MUST_CHECK;

/** Derive both hop keys of a member from its k_t, the down key under a fresh
 *  random epoch from the CSPRNG (never 0). */
int sga_hop_member_init(struct sga_hop_member *m, const uint8_t k_t[SGA_KEY_LEN], uint64_t sid,
                        uint8_t suite) SGA_MUST_CHECK;
/** sga_hop_member_init under the given epoch (non-zero, else -BAD_FIELD): an
 *  epoch drawn by the caller, a lab session's fixed one (sga_lab.h), a test's.
 *  Reusing an epoch with the same k_t reuses the down key: the caller's
 *  sequence numbers alone then keep the nonces apart. */
int sga_hop_member_init_epoch(struct sga_hop_member *m, const uint8_t k_t[SGA_KEY_LEN],
                              uint64_t sid, uint8_t suite, uint64_t epoch) SGA_MUST_CHECK;
/** A fresh random hop-down epoch (never 0). */
int sga_hop_epoch_new(uint64_t *epoch) SGA_MUST_CHECK;

#endif /* SGA_HOP_H */
