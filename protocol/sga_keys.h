/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_keys.h - the SGA key schedule and the envelope seal/open helpers that
 * both the device and the gateway state machines use.
 *
 * Every symmetric key on the wire is derived with HKDF-SHA256 from one of three
 * secrets, with a distinct label per use (docs/PROTOCOL.md, "Key schedule"):
 *   k_d   (device long-term key)  -> ctl key (device envelopes, kd proof), rekey MAC key
 *   k_t   (per-negotiation key)   -> kex key (session envelopes), hop keys up/down
 *   K_isj (g^(R_i R_s R_j) mod p) -> E2E keys i->j and j->i, key-confirmation key
 */
#ifndef SGA_KEYS_H
#define SGA_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "sga_crypto.h"
#include "sga_wire.h"

enum sga_dir {
	SGA_DIR_UP = 0,   /* device -> gateway */
	SGA_DIR_DOWN = 1, /* gateway -> device */
};

enum sga_e2e_dir {
	SGA_E2E_I_TO_J = 0,
	SGA_E2E_J_TO_I = 1,
};

/* Key derivations; out receives the suite's key_len bytes (32 for the MAC key). */
int sga_key_ctl(const uint8_t k_d[SGA_KEY_LEN], uint8_t suite, uint8_t *out) SGA_MUST_CHECK;
int sga_key_rekey_mac(const uint8_t k_d[SGA_KEY_LEN], uint8_t out[SGA_MAC_LEN]) SGA_MUST_CHECK;
int sga_key_kex(const uint8_t k_t[SGA_KEY_LEN], uint64_t session_id, uint8_t suite,
                uint8_t *out) SGA_MUST_CHECK;
int sga_key_hop(const uint8_t k_t[SGA_KEY_LEN], uint64_t session_id, uint8_t suite,
                enum sga_dir dir, uint8_t *out) SGA_MUST_CHECK;
/** The hop-down key of one epoch (PROTOCOL.md 8.1): HKDF(ikm = down_base, the
 *  key_len(suite) bytes sga_key_hop(..., SGA_DIR_DOWN) gives, salt = u64(epoch),
 *  info = "SGA v1 hop epoch" | suite). Every gateway start draws a fresh epoch,
 *  so no (key, nonce) pair repeats whatever its store says about sequence
 *  numbers. -BAD_FIELD for epoch 0 (no epoch). */
int sga_key_hop_epoch(const uint8_t *down_base, uint64_t epoch, uint8_t suite,
                      uint8_t *out) SGA_MUST_CHECK;
/** What the transcript hash binds (PROTOCOL.md 8.2): every value the two
 *  devices must agree on for their keys to be the same. Both devices fill it
 *  with the same bytes: ID_G from their pinned package, the initiator's
 *  preference list as d_i sent it in A1 (d_j receives it in A2), and the hash
 *  of each member's group element, its own computed, the peer's received in
 *  B5/B6. */
struct sga_transcript {
	uint64_t session_id;
	const uint8_t *id_g, *id_i, *id_j;
	uint8_t id_g_len, id_i_len, id_j_len;
	const uint8_t *prefs; /* the initiator's preference list (A1) */
	uint8_t n_pref;
	uint8_t suite, group;     /* the negotiated E2E suite, the group */
	const uint8_t *n_hash[2]; /* [role]: SHA-256(enc(N_i)), SHA-256(enc(N_j)) */
};

/** transcript = SHA-256("SGA v1 transcript" | session_id | lv(ID_G) | lv(ID_i) |
 *  lv(ID_j) | n_pref | prefs | suite | group | H(N_i) | H(N_j)) */
int sga_transcript_hash(const struct sga_transcript *t, uint8_t out[SGA_SHA256_LEN]) SGA_MUST_CHECK;
int sga_key_e2e(const uint8_t *k_isj, size_t k_len, const uint8_t transcript[SGA_SHA256_LEN],
                uint8_t suite, enum sga_e2e_dir dir, uint8_t *out) SGA_MUST_CHECK;
/** Key confirmation (PROTOCOL.md 8.6): k_confirm = HKDF(K_isj, salt = transcript,
 *  "SGA v1 confirm" | 00, 32); the confirm of role = HMAC(k_confirm, "SGA v1
 *  confirm" | role | transcript). */
int sga_key_confirm(const uint8_t *k_isj, size_t k_len, const uint8_t transcript[SGA_SHA256_LEN],
                    uint8_t out[SGA_MAC_LEN]) SGA_MUST_CHECK;
int sga_confirm_mac(const uint8_t k_confirm[SGA_MAC_LEN], uint8_t role,
                    const uint8_t transcript[SGA_SHA256_LEN],
                    uint8_t out[SGA_MAC_LEN]) SGA_MUST_CHECK;

/* ---- envelopes ------------------------------------------------------------- */

/*
 * Seal plain under (suite, key) into a device envelope frame; the nonce is drawn
 * from the CSPRNG (keys derived from k_d live across sessions and devices may
 * lose counter state, so random 96-bit nonces are the safe choice here).
 */
int sga_seal_dev_env(uint8_t type, const uint8_t *id, uint8_t id_len, uint64_t ctr, uint8_t suite,
                     const uint8_t *key, const uint8_t *plain, size_t plain_len, uint8_t *out,
                     size_t cap, size_t *len) SGA_MUST_CHECK;
int sga_seal_sess_env(uint8_t type, uint64_t session_id, uint8_t role, uint8_t suite,
                      const uint8_t *key, const uint8_t *plain, size_t plain_len, uint8_t *out,
                      size_t cap, size_t *len) SGA_MUST_CHECK;
/* Hop frames use nonce = 0x00000000 | seq: the key is used in one direction only
 * and seq never repeats under it (a hop-down key is one epoch's). epoch: the
 * header's epoch field (the sealing epoch down, the adopted one's echo up). */
int sga_seal_hop(uint8_t type, uint64_t session_id, uint8_t role, uint64_t epoch, uint64_t seq,
                 uint8_t suite, const uint8_t *key, const uint8_t *plain, size_t plain_len,
                 uint8_t *out, size_t cap, size_t *len) SGA_MUST_CHECK;

/* Open: plain receives ct_len - tag bytes. -SGA_E_AUTH on a bad tag (plain zeroed),
 * -SGA_E_TRUNCATED if ct is shorter than the tag, -SGA_E_NOSPACE. */
int sga_open_env(uint8_t suite, const uint8_t *key, const uint8_t nonce[SGA_AEAD_NONCE_LEN],
                 const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                 uint8_t *plain, size_t cap, size_t *plain_len) SGA_MUST_CHECK;
void sga_hop_nonce(uint64_t seq, uint8_t nonce[SGA_AEAD_NONCE_LEN]);

/* Map a crypto-layer errno (-EBADMSG, -ENOSPC, ...) to an SGA_E_* code. */
int sga_err_from_crypto(int rc);

#endif /* SGA_KEYS_H */
