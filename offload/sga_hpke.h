/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_hpke.h - HPKE (RFC 9180) base mode, single shot: the E_PK and F_G of
 * the EC profile (docs/PROTOCOL.md 4).
 *
 * One implementation over sga_crypto.h primitives only (sga_x25519,
 * sga_hmac_sha256 for LabeledExtract/LabeledExpand, sga_aead_seal/open), so
 * the OpenSSL and the portable back ends share it. A sealed message is
 *   enc || ct || tag
 * with enc the sender's ephemeral public key. Suites, keyed by the group of
 * the package (enum sga_group_id):
 *   SGA_GROUP_X25519: DHKEM(X25519, HKDF-SHA256) 0x0020, HKDF-SHA256 0x0001,
 *                     ChaCha20-Poly1305 0x0003; enc 32 bytes.
 *   SGA_GROUP_P256:   DHKEM(P-256, HKDF-SHA256) 0x0010, HKDF-SHA256 0x0001,
 *                     AES-128-GCM 0x0001; enc 65 bytes (uncompressed point).
 * Any other group: -EINVAL. Checked against RFC 9180 appendices A.2.1, A.3.1.
 */
#ifndef SGA_HPKE_H
#define SGA_HPKE_H

#include <stddef.h>
#include <stdint.h>

#include "sga_crypto.h"

#define SGA_HPKE_X25519_ENC_LEN 32
#define SGA_HPKE_P256_ENC_LEN   65
#define SGA_HPKE_TAG_LEN        16
/* What sealing adds to a plaintext: enc and the tag. */
#define SGA_HPKE_X25519_OVERHEAD (SGA_HPKE_X25519_ENC_LEN + SGA_HPKE_TAG_LEN)
#define SGA_HPKE_P256_OVERHEAD   (SGA_HPKE_P256_ENC_LEN + SGA_HPKE_TAG_LEN)

/** The sealed length of a pt_len-byte plaintext for group (0: not an HPKE group). */
size_t sga_hpke_sealed_len(uint8_t group, size_t pt_len);

/**
 * Seal pt to the recipient's public key pk_r (pk_r_len bytes: 32 for x25519,
 * 65 uncompressed for p256)
 * with a fresh ephemeral key. out (cap bytes) receives enc || ct || tag,
 * *out_len its length. info and aad may be NULL when their length is 0.
 */
int sga_hpke_seal(uint8_t group, const uint8_t *pk_r, size_t pk_r_len, const uint8_t *info,
                  size_t info_len, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
                  size_t pt_len, uint8_t *out, size_t cap, size_t *out_len) SGA_MUST_CHECK;

/** sga_hpke_seal with the ephemeral private key given (sk_e, 32 bytes; p256: in [1, n-1]): for
 *  test vectors only; a real sender never reuses an ephemeral key. */
int sga_hpke_seal_with_ephemeral(uint8_t group, const uint8_t sk_e[SGA_EXPONENT_LEN],
                                 const uint8_t *pk_r, size_t pk_r_len, const uint8_t *info,
                                 size_t info_len, const uint8_t *aad, size_t aad_len,
                                 const uint8_t *pt, size_t pt_len, uint8_t *out, size_t cap,
                                 size_t *out_len) SGA_MUST_CHECK;

/**
 * Open enc || ct || tag (in, in_len bytes) with the recipient's private key
 * sk_r (32 bytes) and its public key pk_r (the KEM context binds it). pt
 * receives in_len - enc - tag bytes. -EBADMSG if the tag does not verify or
 * enc is of small order (pt is zeroed), -EINVAL for malformed arguments.
 */
int sga_hpke_open(uint8_t group, const uint8_t sk_r[SGA_EXPONENT_LEN], const uint8_t *pk_r,
                  size_t pk_r_len, const uint8_t *info, size_t info_len, const uint8_t *aad,
                  size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *pt, size_t cap,
                  size_t *pt_len) SGA_MUST_CHECK;

#endif /* SGA_HPKE_H */
