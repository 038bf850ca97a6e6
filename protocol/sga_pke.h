/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_pke.h - the public-key encryption of a profile: E_PK (registration) and
 * F_G (the trapdoor) of docs/PROTOCOL.md 4.1 and 4.2.1, one interface over
 * the two kinds the profiles use, so the state machines have one path:
 *   ffdhe2048 / ffdhe3072: RSA-OAEP-SHA256 under the gateway's RSA keys; a
 *                          ciphertext is the modulus size; the package holds
 *                          the DER SubjectPublicKeyInfo.
 *   x25519 / p256:         HPKE (RFC 9180) base mode, single shot, info
 *                          "SGA v1 E_PK" or "SGA v1 F_G"; a ciphertext is
 *                          enc || ct || tag; the package holds the raw public
 *                          key (32 bytes; p256 65 bytes uncompressed).
 *
 * A build without the ffdhe groups (SGA_GROUPS_FFDHE=0, sga_crypto.h) has no
 * RSA here, and -DSGA_PKE_HPKE=0 leaves HPKE out: keys of a kind left out
 * are refused (-SGA_E_BAD_PACKAGE), and nothing of that kind links.
 */
#ifndef SGA_PKE_H
#define SGA_PKE_H

#include <stddef.h>
#include <stdint.h>

#include "sga_crypto.h"

#ifndef SGA_PKE_RSA
#define SGA_PKE_RSA SGA_GROUPS_FFDHE
#endif
#ifndef SGA_PKE_HPKE
#define SGA_PKE_HPKE 1
#endif

#define SGA_PKE_RAW_MAX 65 /* the longest raw EC public key: P-256 uncompressed */

/* What a key encrypts: the HPKE info of each (RSA-OAEP has an empty label for both). */
enum sga_pke_use {
	SGA_PKE_REGISTRATION = 0, /* E_PK: the REG_REQ plaintext */
	SGA_PKE_TRAPDOOR = 1,     /* F_G: the exponent r of a KEX_INIT */
};

/** The public half, as a device holds it from the package. */
struct sga_pke_pub {
	uint8_t group;           /* enum sga_group_id of the profile; 0: no key */
	struct sga_rsa_key *rsa; /* ffdhe profiles */
	uint8_t raw_len;         /* EC profiles: the HPKE recipient key pk_r */
	uint8_t raw[SGA_PKE_RAW_MAX];
};

/** The key pair, as the gateway holds it. */
struct sga_pke_priv {
	uint8_t group;
	struct sga_rsa_key *rsa; /* ffdhe: owns it */
	uint8_t sk[SGA_EXPONENT_LEN];
	uint8_t raw_len;
	uint8_t raw[SGA_PKE_RAW_MAX]; /* the public key, as the package carries it */
};

/** 1 if group's E_PK and F_G are HPKE (the EC profiles), 0 for RSA-OAEP. */
int sga_pke_is_hpke(uint8_t group);

/** The public key of a package field (pk_der / tpk_der) of group: a DER SPKI
 *  of an RSA key for ffdhe, the raw key for x25519 (32 bytes, canonical, not
 *  of small order) and p256 (65 bytes, on the curve). -BAD_PACKAGE otherwise. */
int sga_pke_pub_decode(uint8_t group, const uint8_t *bytes, size_t len,
                       struct sga_pke_pub *k) SGA_MUST_CHECK;
void sga_pke_pub_free(struct sga_pke_pub *k);

/** A key pair of group from an RSA private key (ownership passes to k) or an
 *  EC private scalar (32 bytes; k computes its public key). -BAD_FIELD for a
 *  key of the wrong kind or a public-only RSA key. */
int sga_pke_priv_from_rsa(uint8_t group, struct sga_rsa_key *rsa,
                          struct sga_pke_priv *k) SGA_MUST_CHECK;
int sga_pke_priv_from_ec(uint8_t group, const uint8_t sk[SGA_EXPONENT_LEN],
                         struct sga_pke_priv *k) SGA_MUST_CHECK;
/** The package field of k's public key into out (cap bytes). */
int sga_pke_priv_public(const struct sga_pke_priv *k, uint8_t *out, size_t cap,
                        size_t *len) SGA_MUST_CHECK;
void sga_pke_priv_free(struct sga_pke_priv *k);

/** The ciphertext length of a pt_len-byte plaintext under k's kind (RSA: the
 *  modulus size, whatever pt_len). */
size_t sga_pke_sealed_len(const struct sga_pke_priv *k, size_t pt_len);

/** Encrypt pt for use under k into out (cap bytes). */
int sga_pke_seal(const struct sga_pke_pub *k, uint8_t use, const uint8_t *pt, size_t pt_len,
                 uint8_t *out, size_t cap, size_t *out_len) SGA_MUST_CHECK;
/** Decrypt ct into pt (cap bytes). -SGA_E_AUTH if it does not open (another
 *  key, another use, tampered); pt is then zeroed. */
int sga_pke_open(const struct sga_pke_priv *k, uint8_t use, const uint8_t *ct, size_t ct_len,
                 uint8_t *pt, size_t cap, size_t *pt_len) SGA_MUST_CHECK;

#endif /* SGA_PKE_H */
