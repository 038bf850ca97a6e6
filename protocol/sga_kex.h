/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_kex.h - the arithmetic of the three-party key exchange (paper B1-B7),
 * shared by the device and gateway state machines and checked by the test
 * vectors of docs/PROTOCOL.md.
 *
 *   device:  N = [R]G, K = [r]N, F = F_G(r), mac = f_K(N),
 *            proof = E_kd(H(N) xor k_d)
 *   gateway: r = F_G^-1(F), K = [r]N, check mac and proof; X_i = [R_s]N_j,
 *            X_j = [R_s]N_i, reply mac = f_K(session | ids | K | X | H(N_peer))
 *   device:  check reply mac, K_isj = [R]X = [R_i R_s R_j]G
 * written in the group of the session's profile: [x]Y is Y^x mod p in the
 * ffdhe groups, X25519(x, Y) or the P-256 multiple in the EC ones (sga_crypto.h
 * sga_group_mul). Elements are grp->len bytes, shared secrets (K, K_isj)
 * grp->secret_len.
 */
#ifndef SGA_KEX_H
#define SGA_KEX_H

#include <stddef.h>
#include <stdint.h>

#include "sga_crypto.h"
#include "sga_wire.h"

/** The element [scalar]base (base NULL: the generator) into out (grp->len
 *  bytes); -BAD_ELEMENT for a base the group refuses. */
int sga_kex_element(const struct sga_group_info *grp, const uint8_t *base,
                    const uint8_t scalar[SGA_EXPONENT_LEN], uint8_t *out) SGA_MUST_CHECK;
/** The shared secret enc([scalar]peer) into secret (grp->secret_len bytes);
 *  -BAD_ELEMENT if peer is refused or the result is degenerate (ffdhe: outside
 *  [2, p-2]; x25519: all zero). */
int sga_kex_shared(const struct sga_group_info *grp, const uint8_t *peer,
                   const uint8_t scalar[SGA_EXPONENT_LEN], uint8_t *secret) SGA_MUST_CHECK;

/** f_K(N) = HMAC-SHA256(K, "SGA v1 kex init" | session_id | N); K is
 *  grp->secret_len bytes, N grp->len. */
int sga_kex_init_mac(const struct sga_group_info *grp, const uint8_t *K, uint64_t session_id,
                     const uint8_t *N, uint8_t mac[SGA_MAC_LEN]) SGA_MUST_CHECK;

/** f_K(ID_self, ID_peer, K, X, H(N_peer)) = HMAC-SHA256(K, "SGA v1 kex reply" |
 *  session_id | id_self_len | id_self | id_peer_len | id_peer | K | X |
 *  SHA-256(N_peer)): the gateway attests to the peer's element it used, which
 *  both devices bind into the transcript. */
int sga_kex_reply_mac(const struct sga_group_info *grp, const uint8_t *K, uint64_t session_id,
                      const uint8_t *id_self, uint8_t id_self_len, const uint8_t *id_peer,
                      uint8_t id_peer_len, const uint8_t *X,
                      const uint8_t n_hash_peer[SGA_SHA256_LEN],
                      uint8_t mac[SGA_MAC_LEN]) SGA_MUST_CHECK;
/** SHA-256(enc(N)), N of grp->len bytes: how the transcript and the reply MAC
 *  name a group element. */
int sga_kex_n_hash(const struct sga_group_info *grp, const uint8_t *N,
                   uint8_t out[SGA_SHA256_LEN]) SGA_MUST_CHECK;

/** The paper's E_kd(N xor k_d): proof = nonce(12) | AEAD(ctl_key, nonce,
 *  aad = "SGA v1 kd proof" | session_id, SHA-256(N) xor k_d). */
int sga_kex_proof_seal(uint8_t suite, const uint8_t *ctl_key, const uint8_t k_d[SGA_KEY_LEN],
                       uint64_t session_id, const uint8_t *N, size_t n_len,
                       uint8_t proof[SGA_PROOF_MAX], uint8_t *proof_len) SGA_MUST_CHECK;
/** 0 if the proof opens and holds SHA-256(N) xor k_d (compared in constant
 *  time); -SGA_E_BAD_LENGTH for a wrong size, -SGA_E_AUTH otherwise. */
int sga_kex_proof_check(uint8_t suite, const uint8_t *ctl_key, const uint8_t k_d[SGA_KEY_LEN],
                        uint64_t session_id, const uint8_t *N, size_t n_len, const uint8_t *proof,
                        size_t proof_len) SGA_MUST_CHECK;

#endif /* SGA_KEX_H */
