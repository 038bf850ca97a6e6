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

#define SGA_HOP_HDR_LEN (SGA_HDR_LEN + 8 + 1 + 8) /* hdr | session_id | role | seq */

struct sga_hop_member {
	uint8_t suite; /* the member's suite_init */
	uint8_t key_up[SGA_AEAD_MAX_KEY_LEN];
	uint8_t key_down[SGA_AEAD_MAX_KEY_LEN];
	uint64_t tx_seq;      /* next hop seq towards this member */
	struct sga_replay rx; /* hop seqs received from this member */
};

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

/** DATA_ACK plaintext: the e2e_seq of the message the gateway took charge of. */
int sga_hop_seal_ack(struct sga_hop_member *m, uint64_t sid, uint8_t role, uint64_t e2e_seq,
                     uint8_t *out, size_t cap, size_t *len) SGA_MUST_CHECK;
/** A DATA_ACK (e2e_seq) or DATA_SKIP (next_e2e_seq: what the member lacks below
 *  it expired in the store) frame: 8 bytes of plaintext. */
int sga_hop_seal_u64(struct sga_hop_member *m, uint64_t sid, uint8_t role, uint8_t type,
                     uint64_t value, uint8_t *out, size_t cap, size_t *len) SGA_MUST_CHECK;

/** sga_hop_seal_u64 under k (as sga_hop_seal_down_k). */
int sga_hop_seal_u64_k(struct sga_hop_member *m, struct sga_aead_key *k, uint64_t sid, uint8_t role,
                       uint8_t type, uint64_t value, uint8_t *out, size_t cap,
                       size_t *len) SGA_MUST_CHECK;

/** The next_e2e_seq a DATA_DELIVERED's opened plaintext carries; -SGA_E_TRUNCATED
 *  / -SGA_E_TRAILING unless it is exactly 8 bytes. */
int sga_hop_delivered_parse(const uint8_t *inner, size_t inner_len,
                            uint64_t *next_e2e_seq) SGA_MUST_CHECK;

/** Derive both hop keys of a member from its k_t. */
int sga_hop_member_init(struct sga_hop_member *m, const uint8_t k_t[SGA_KEY_LEN], uint64_t sid,
                        uint8_t suite) SGA_MUST_CHECK;

#endif /* SGA_HOP_H */
