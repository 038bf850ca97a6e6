/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gw_keys.c - EC profile key files (gw_keys.h) on OpenSSL 3: PEM PKCS#8 as
 * `openssl genpkey -algorithm X25519` or `-algorithm EC -pkeyopt
 * ec_paramgen_curve:P-256` writes them, so an operator may make them either way.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "gw_keys.h"
#include "sga_crypto.h"

static const char *group_key_name(uint8_t group)
{
	return group == SGA_GROUP_X25519 ? "X25519" : group == SGA_GROUP_P256 ? "P-256" : NULL;
}

int gw_ec_key_generate_pem(uint8_t group, char *pem, size_t cap, size_t *len)
{
	EVP_PKEY *k = NULL;
	BIO *b = NULL;
	char *p;
	long n;
	int rc = -EIO;

	if (group == SGA_GROUP_X25519)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	else if (group == SGA_GROUP_P256)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else
		return -EINVAL;
	if (!k)
		goto out;
	b = BIO_new(BIO_s_secmem());
	if (!b || !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL))
		goto out;
	n = BIO_get_mem_data(b, &p);
	if (n <= 0)
		goto out;
	if ((size_t)n > cap) {
		rc = -ENOSPC;
		goto out;
	}
	memcpy(pem, p, (size_t)n);
	*len = (size_t)n;
	rc = 0;
out:
	BIO_free(b); /* a secure-heap BIO: wiped when freed */
	EVP_PKEY_free(k);
	return rc;
}

/* "an RSA", "an X25519", "a P-256", "an EC (secp384r1)", "an ED25519": the
 * article and name of what k is, for the messages below. */
static void key_kind(EVP_PKEY *k, char *out, size_t cap)
{
	char curve[64] = "";
	size_t cl = 0;

	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_RSA:
		snprintf(out, cap, "an RSA");
		return;
	case EVP_PKEY_X25519:
		snprintf(out, cap, "an X25519");
		return;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, curve,
		                                   sizeof(curve), &cl) &&
		    !strcmp(curve, "prime256v1"))
			snprintf(out, cap, "a P-256");
		else
			snprintf(out, cap, "an EC (%s)", curve[0] ? curve : "unknown curve");
		return;
	default: {
		const char *t = EVP_PKEY_get0_type_name(k);

		snprintf(out, cap, "an %s", t ? t : "unknown");
		return;
	}
	}
}

/* The key in a PEM file: *priv = 1 for a private key, 0 for a public one;
 * NULL if the file holds neither (errno-style reason in *err). */
static EVP_PKEY *read_key(const char *path, int *priv, int *err)
{
	EVP_PKEY *k = NULL;
	BIO *b = BIO_new_file(path, "r");

	*err = 0;
	if (!b) {
		*err = errno ? errno : EIO;
		return NULL;
	}
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	*priv = k != NULL;
	if (!k && BIO_reset(b) == 0)
		k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	BIO_free(b);
	if (!k)
		*err = EBADMSG;
	return k;
}

void gw_key_describe(const char *path, char *out, size_t cap)
{
	int priv, err;
	EVP_PKEY *k = read_key(path, &priv, &err);
	char kind[96];

	if (!k) {
		snprintf(out, cap, "no PEM key");
		return;
	}
	key_kind(k, kind, sizeof(kind));
	snprintf(out, cap, "%s %s key", kind, priv ? "private" : "public");
	EVP_PKEY_free(k);
}

int gw_ec_key_load(uint8_t group, const char *path, uint8_t priv[GW_EC_PRIV_LEN], char *why,
                   size_t why_len)
{
	const char *want = group_key_name(group);
	EVP_PKEY *k = NULL;
	BIGNUM *d = NULL;
	char kind[96];
	size_t n = GW_EC_PRIV_LEN;
	int is_priv = 0, err, rc = -1;

	memset(priv, 0, GW_EC_PRIV_LEN);
	if (!want) {
		snprintf(why, why_len, "not an elliptic-curve group");
		return -1;
	}
	k = read_key(path, &is_priv, &err);
	if (!k) {
		if (err == EBADMSG)
			snprintf(why, why_len, "not a PEM key file (an %s private key is needed)",
			         want);
		else
			snprintf(why, why_len, "cannot open: %s", strerror(err));
		goto out;
	}
	key_kind(k, kind, sizeof(kind));
	if ((group == SGA_GROUP_X25519 && EVP_PKEY_get_base_id(k) != EVP_PKEY_X25519) ||
	    (group == SGA_GROUP_P256 && strcmp(kind, "a P-256"))) {
		snprintf(why, why_len, "holds %s %s key, not %s %s private key", kind,
		         is_priv ? "private" : "public", group == SGA_GROUP_X25519 ? "an" : "a",
		         want);
		goto out;
	}
	if (!is_priv) {
		snprintf(why, why_len, "holds %s public key only: the private key is needed", kind);
		goto out;
	}
	if (group == SGA_GROUP_X25519) {
		if (EVP_PKEY_get_raw_private_key(k, priv, &n) != 1 || n != GW_EC_PRIV_LEN) {
			snprintf(why, why_len, "cannot read the X25519 private key");
			goto out;
		}
	} else if (!EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &d) ||
	           BN_bn2binpad(d, priv, GW_EC_PRIV_LEN) != GW_EC_PRIV_LEN) {
		snprintf(why, why_len, "cannot read the P-256 private key");
		goto out;
	}
	rc = 0;
out:
	if (rc)
		sga_memzero(priv, GW_EC_PRIV_LEN);
	BN_clear_free(d);
	EVP_PKEY_free(k);
	return rc;
}
