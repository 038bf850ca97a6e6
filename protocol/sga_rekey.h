/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_rekey.h - session rekey (PROTOCOL.md 7.15): a new key-exchange phase in
 * a live session, as pure functions like the rest of protocol/.
 *
 *   d (either member)                 G                                 peer
 *   REKEY_INIT(gen, ctr, k_t', B1) ->  verify; keep N, K, k_t'
 *                                      REKEY_NOTICE(gen) ---------------> (starts its own)
 *                                  <------------------------------------ REKEY_INIT(gen, ...)
 *                                      verify; R_s; store gen; install the new hop keys
 *   <- REKEY_REPLY(gen, epoch, B5)     REKEY_REPLY(gen, epoch, B6) -----> 
 *   new keys; confirmation as the next e2e_seq of each direction; the old
 *   generation still opens what is in flight, then it is wiped.
 *
 * The session id, the e2e_seq spaces (so the store's exactly-once delivery)
 * and the hop sequences carry on; every key is new: a fresh k_t per member
 * (kex and hop keys, the generation mixed into their salt), a fresh K_isj
 * (E2E and confirmation keys, under a transcript chained to the previous one).
 */
#ifndef SGA_REKEY_H
#define SGA_REKEY_H

#include <stddef.h>
#include <stdint.h>

#include "sga_device.h"
#include "sga_gateway.h"
#include "sga_hop.h"
#include "sga_keys.h"
#include "sga_wire.h"

/* ---- key schedule (PROTOCOL.md 8.1) ----------------------------------------- */

/** The key of REKEY_INIT and REKEY_NOTICE (session envelopes in both
 *  directions, random nonces): HKDF(k_d, salt = session_id, "SGA v1 sess
 *  rekey" | suite_init). From k_d, which both ends hold for the whole session;
 *  the session's k_t was wiped at B7. */
int sga_key_sess_rekey(const uint8_t k_d[SGA_KEY_LEN], uint64_t session_id, uint8_t suite,
                       uint8_t *out) SGA_MUST_CHECK;
/** The kex and hop keys of generation gen: those of sga_key_kex / sga_key_hop
 *  with salt = session_id | u32(gen) for gen > 0 (gen 0: session_id alone, the
 *  handshake's keys unchanged). */
int sga_key_kex_gen(const uint8_t k_t[SGA_KEY_LEN], uint64_t session_id, uint32_t gen,
                    uint8_t suite, uint8_t *out) SGA_MUST_CHECK;
int sga_key_hop_gen(const uint8_t k_t[SGA_KEY_LEN], uint64_t session_id, uint32_t gen,
                    uint8_t suite, enum sga_dir dir, uint8_t *out) SGA_MUST_CHECK;
/** transcript(gen) = SHA-256("SGA v1 rekey transcript" | transcript(gen - 1) |
 *  u32(gen) | H(N_i) | H(N_j)): the new elements, chained to everything the
 *  handshake's transcript bound (ids, ID_G, preference list, suite, group). */
int sga_rekey_transcript(const uint8_t prev[SGA_SHA256_LEN], uint32_t gen,
                         const uint8_t n_hash_i[SGA_SHA256_LEN],
                         const uint8_t n_hash_j[SGA_SHA256_LEN],
                         uint8_t out[SGA_SHA256_LEN]) SGA_MUST_CHECK;
/** sga_hop_member_init_epoch for generation gen (epoch 0: a fresh random one). */
int sga_hop_member_init_gen(struct sga_hop_member *m, const uint8_t k_t[SGA_KEY_LEN], uint64_t sid,
                            uint32_t gen, uint8_t suite, uint64_t epoch) SGA_MUST_CHECK;

/* ---- codec (PROTOCOL.md 7.15) ------------------------------------------------- */

/* REKEY_INIT plaintext: gen(4) | ctr(8) | k_t(32) | KEX_INIT plaintext.
 * gen >= 1 (-BAD_FIELD); the tail decodes as sga_kex_init_plain. */
struct sga_rekey_init_plain {
	uint32_t gen;
	uint64_t ctr;
	const uint8_t *k_t;
	const uint8_t *kex; /* the KEX_INIT plaintext */
	size_t kex_len;
};
int sga_rekey_init_plain_decode(const uint8_t *p, size_t len,
                                struct sga_rekey_init_plain *m) SGA_MUST_CHECK;
int sga_rekey_init_plain_encode(const struct sga_rekey_init_plain *m, uint8_t *out, size_t cap,
                                size_t *len) SGA_MUST_CHECK;
/* REKEY_NOTICE plaintext: gen(4), >= 1. */
int sga_rekey_notice_plain_decode(const uint8_t *p, size_t len, uint32_t *gen) SGA_MUST_CHECK;
/* REKEY_REPLY plaintext: gen(4) | epoch(8) | KEX_REPLY plaintext. gen >= 1,
 * epoch != 0 (-BAD_FIELD). */
struct sga_rekey_reply_plain {
	uint32_t gen;
	uint64_t epoch;
	const uint8_t *kex; /* the KEX_REPLY plaintext */
	size_t kex_len;
};
int sga_rekey_reply_plain_decode(const uint8_t *p, size_t len,
                                 struct sga_rekey_reply_plain *m) SGA_MUST_CHECK;
int sga_rekey_reply_plain_encode(const struct sga_rekey_reply_plain *m, uint8_t *out, size_t cap,
                                 size_t *len) SGA_MUST_CHECK;

/* ---- device ---------------------------------------------------------------------- */

/** May a new rekey start? The session is confirmed in its current generation
 *  and the previous generation's overlap is over (sga_dev_rekey_settle). */
int sga_dev_rekey_idle(const struct sga_dev_sess *s);
/** REKEY_INIT for generation rk.gen + 1: fresh k_t, R, r; uses the next up
 *  counter (d->up_ctr advances: persist it before sending). A repeat returns
 *  the same bytes (retransmission). -BAD_STATE unless sga_dev_rekey_idle (or
 *  already pending). */
int sga_dev_create_rekey_init(struct sga_dev *d, struct sga_dev_sess *s, uint8_t *out, size_t cap,
                              size_t *len) SGA_MUST_CHECK;
/** REKEY_NOTICE: 0 when it asks for generation rk.gen + 1 (answer with
 *  sga_dev_create_rekey_init); -REPLAY for an older generation; -AUTH. */
int sga_dev_consume_rekey_notice(const struct sga_dev *d, const struct sga_dev_sess *s,
                                 const uint8_t *frame, size_t len, uint32_t *gen) SGA_MUST_CHECK;
/** REKEY_REPLY for the pending generation: verify (as B7), derive every key
 *  of the new generation, adopt its hop-down epoch, keep the old keys for the
 *  overlap. Then send sga_dev_create_rekey_confirm at once. -BAD_STATE when no
 *  rekey is pending (a duplicate reply), -AUTH, -BAD_ELEMENT ...: unchanged. */
int sga_dev_consume_rekey_reply(struct sga_dev *d, struct sga_dev_sess *s, const uint8_t *frame,
                                size_t len) SGA_MUST_CHECK;
/** Our confirmation of the current generation (gen > 0): a DATA_UP at e2e_seq
 *  rk.tx_from. The first call takes that e2e_seq; later calls re-seal it. */
int sga_dev_create_rekey_confirm(struct sga_dev_sess *s, uint8_t *out, size_t cap,
                                 size_t *len) SGA_MUST_CHECK;
/** Give up a pending rekey (no REKEY_REPLY came): wipe its k_t, R, K and
 *  frame; the session goes on under its current keys, a later rekey starts a
 *  new attempt (new counter, new randomness). */
void sga_dev_rekey_abandon(struct sga_dev_sess *s);
/** End the overlap where it is over: the old E2E send key once no message
 *  up to rk.tx_from awaits its DATA_ACK (tx_oldest: the oldest e2e_seq still
 *  held, or the next to send), the old receive key once every message below
 *  rk.rx_from was delivered or given up (rx_next), the old hop-down key with
 *  the last of them. Wipes what it ends. */
void sga_dev_rekey_settle(struct sga_dev_sess *s, uint64_t tx_oldest, uint64_t rx_next);

/* What sga_device.c and this file share. */
/** Seal msg as e2e_seq (the one sealing path of data, confirmations and re-seals). */
int sga_dev_data_seal_at(struct sga_dev_sess *s, uint64_t e2e_seq, const uint8_t *msg,
                         size_t msg_len, uint8_t *out, size_t cap, size_t *len) SGA_MUST_CHECK;
#define SGA_DEV_REKEY_CONFIRMED 1 /* sga_dev_data_open: the peer's confirmation, no message */
/** The E2E key that seals (or re-seals) e2e_seq. */
const uint8_t *sga_dev_rekey_tx_key(const struct sga_dev_sess *s, uint64_t e2e_seq);
/** Open the E2E layer of an authentic DATA_DOWN: under the previous
 *  generation's key below rk.rx_from, the current one above; unknown
 *  boundary: the previous, then the current, where the peer's confirmation
 *  is recognised (returns SGA_DEV_REKEY_CONFIRMED, *msg_len 0). */
int sga_dev_rekey_open_e2e(struct sga_dev_sess *s, uint64_t e2e_seq, const uint8_t *nonce,
                           const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                           uint8_t *msg, size_t cap, size_t *msg_len) SGA_MUST_CHECK;

/* ---- gateway --------------------------------------------------------------------- */

/**
 * REKEY_INIT from the member of sess in the envelope's role: dev is its
 * record (the caller loads it by sess->id[role]; sga_gw_rekey_peek_role), peer
 * the other member's (for the notice). Opens under the k_d rekey key, then:
 * the same bytes as that role's last REKEY_INIT (a retransmission, counter
 * spent) re-emit its notice (incomplete) or its cached reply (complete),
 * *fresh = 0; otherwise ctr must exceed dev->up_ctr (-REPLAY) and gen be
 * rk.gen + 1 (-BAD_STATE), the contribution must verify as a KEX_INIT's
 * (-AUTH, -BAD_ELEMENT, -BAD_LENGTH). Fresh (*fresh = 1, dev->up_ctr = ctr):
 * the first role's leaves a REKEY_NOTICE for the peer in out; the second
 * completes: R_s, both REKEY_REPLYs, the new generation in sess (k_t, hop
 * members with fresh epochs, rk.gen; rk.prev_k_t for the overlap). On error
 * nothing changes.
 */
int sga_gw_rekey_init_handle(const struct sga_gw *gw, struct sga_gw_device *dev,
                             const struct sga_gw_device *peer, struct sga_gw_session *sess,
                             const uint8_t *frame, size_t len, struct sga_gw_out *out,
                             int *fresh) SGA_MUST_CHECK;
/** The prepared previous-generation hop-up key of role (for the data plane),
 *  or -BAD_STATE when that role has none live. */
int sga_gw_rekey_prev_up(const struct sga_gw_session *sess, uint8_t role,
                         uint8_t *key) SGA_MUST_CHECK;
/** sga_hop_open_up for sga_gw_data_relay, with the previous generation's
 *  up key for a frame that does not echo the member's current epoch while
 *  that key is live; a frame under the current key retires it. */
int sga_rekey_relay_open(struct sga_gw_session *sess, uint8_t from, uint8_t *frame, size_t len,
                         uint64_t *seq, uint8_t **inner, size_t *inner_len) SGA_MUST_CHECK;

/* Shared with sga_device.c: B1, the device's contribution (a KEX_INIT body
 * and a REKEY_INIT's kex) under fresh R and r; R, K and n_hash land in s (on
 * error the caller wipes s->R and s->K). */
int sga_dev_kex_contrib_make(const struct sga_dev *d, struct sga_dev_sess *s, uint8_t *plain,
                             size_t cap, size_t *plain_len) SGA_MUST_CHECK;
/* Shared with sga_device.c: B6/B7 on a decrypted reply body (a KEX_REPLY's,
 * a REKEY_REPLY's kex): decoded into *b5, X checked and the gateway's MAC over
 * it verified under s->K (-BAD_LENGTH, -BAD_ELEMENT, -AUTH), then
 * kisj = [s->R]X (grp->secret_len bytes, checked too). */
int sga_dev_kex_reply_check(const struct sga_dev *d, const struct sga_dev_sess *s,
                            const uint8_t *plain, size_t plain_len, struct sga_kex_reply_plain *b5,
                            uint8_t *kisj) SGA_MUST_CHECK;

/* Shared with sga_gateway.c: a session envelope of want_type for sess from
 * dev, the member in the envelope's role (-BAD_TYPE, -UNKNOWN_SESSION,
 * -UNKNOWN_DEVICE), not yet opened; B2/B4 on a decrypted KEX_INIT body; the
 * body of a reply (KEX_REPLY or REKEY_REPLY) from sess->N and sess->K. */
int sga_gw_sess_env_decode(const struct sga_gw_device *dev, const struct sga_gw_session *sess,
                           uint8_t want_type, const uint8_t *frame, size_t len,
                           struct sga_env_sess *env) SGA_MUST_CHECK;
int sga_gw_kex_contrib_check(const struct sga_gw *gw, const struct sga_gw_device *dev,
                             const struct sga_gw_session *sess, const uint8_t *plain,
                             size_t plain_len, uint8_t *N_out, uint8_t *K_out) SGA_MUST_CHECK;
int sga_gw_reply_body(const struct sga_gw_session *s, uint8_t role, const uint8_t *R_s,
                      uint8_t *plain, size_t cap, size_t *plain_len) SGA_MUST_CHECK;

#endif /* SGA_REKEY_H */
