/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_ec.c - the OpenSSL back end of the EC profile's curve arithmetic:
 * sga_x25519 (RFC 7748) on EVP X25519 raw keys.
 *
 * The scalar and the result are secrets: the EVP objects that held them are
 * freed (OpenSSL wipes raw private keys on free) and the derive buffer is the
 * caller's, which wipes it. OpenSSL refuses an all-zero X25519 result (the
 * RFC's check against small-order u), which is the -EINVAL sga_crypto.h
 * promises.
 */
#include <errno.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "sga_crypto.h"

/* u = 9, little-endian: the base point of curve25519. */
static const uint8_t x25519_base_u[SGA_X25519_LEN] = {9};

int sga_x25519(const uint8_t scalar[SGA_X25519_LEN], const uint8_t *u, uint8_t out[SGA_X25519_LEN])
{
	EVP_PKEY *priv = NULL, *peer = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	size_t out_len = SGA_X25519_LEN;
	uint8_t acc = 0;
	int rc = -EINVAL;

	if (scalar == NULL || out == NULL)
		return -EINVAL;
	if (u == NULL)
		u = x25519_base_u;
	rc = -EIO;
	priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, scalar, SGA_X25519_LEN);
	peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, u, SGA_X25519_LEN);
	if (priv == NULL || peer == NULL)
		goto out;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
	if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer(ctx, peer) != 1)
		goto out;
	if (EVP_PKEY_derive(ctx, out, &out_len) != 1) {
		/* OpenSSL's one refusal here is the all-zero result of a small-order u. */
		rc = -EINVAL;
		goto out;
	}
	if (out_len != SGA_X25519_LEN)
		goto out;
	for (size_t i = 0; i < SGA_X25519_LEN; i++)
		acc |= out[i];
	rc = acc ? 0 : -EINVAL; /* never trust one library's check alone */
out:
	if (rc != 0) {
		sga_memzero(out, SGA_X25519_LEN);
		ERR_clear_error();
	}
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(peer);
	return rc;
}
