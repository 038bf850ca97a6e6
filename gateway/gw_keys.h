/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gw_keys.h - the private key files of the gateway's elliptic-curve profiles
 * (x25519, p256): PEM PKCS#8 files, made by --init-keys where missing and read
 * at start-up, with one line saying what is wrong with a file that does not
 * hold the key its profile needs (another key type, a public key only, a
 * P-256 key on another curve). The RSA pairs of the ffdhe profiles keep their
 * loader (sga_rsa_load_pem); gw_key_describe names what such a file holds
 * when it is not an RSA private key.
 */
#ifndef SGA_GW_KEYS_H
#define SGA_GW_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define GW_EC_PRIV_LEN 32 /* X25519 scalar (RFC 7748) or P-256 scalar, big-endian */

/**
 * A fresh private key of group (SGA_GROUP_X25519 or SGA_GROUP_P256) as PEM
 * (PKCS#8, unencrypted) into pem[0..*len), at most cap bytes. The caller
 * writes it to a 0600 file and wipes pem. 0, -EINVAL (another group),
 * -ENOSPC (cap too small) or -EIO (OpenSSL failed).
 */
int gw_ec_key_generate_pem(uint8_t group, char *pem, size_t cap, size_t *len);

/**
 * Read the private key of group from the PEM file path into priv (the raw
 * 32-byte private key the protocol library takes). On failure returns -1,
 * priv is zeroed and why holds the reason ("cannot open: No such file or
 * directory", "holds an RSA key, not an X25519 private key", "holds a public
 * key only", "a P-256 key is needed, this one is on secp384r1").
 */
int gw_ec_key_load(uint8_t group, const char *path, uint8_t priv[GW_EC_PRIV_LEN], char *why,
                   size_t why_len);

/** What the PEM file at path holds, for error messages: "an RSA private key",
 *  "an X25519 public key", "no PEM key" (unreadable or not PEM). */
void gw_key_describe(const char *path, char *out, size_t cap);

#endif /* SGA_GW_KEYS_H */
