/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_spki.c - libFuzzer harness for the portable back end's DER parser of
 * RSA SubjectPublicKeyInfo (offload/portable/sga_rsa_portable.c), against the
 * OpenSSL back end's.
 *
 * The portable build is linked under its sga_pt_ names (portable_rename.h).
 * Properties, beyond "no crash, no out-of-bounds read":
 *  - sound: what the portable parser accepts, OpenSSL accepts too, with the
 *    same modulus size, and re-encodes to the very same bytes (the portable
 *    parser accepts DER, not BER);
 *  - complete for the profile: an RSA key OpenSSL accepts in that canonical
 *    form, with e = 65537 and an odd 2048-bit modulus, the portable parser
 *    accepts (OpenSSL imports an even modulus, which no RSA key has and
 *    Montgomery arithmetic cannot use: the portable parser refuses it);
 *  - a refusal leaves *out NULL, and the one pool slot is returned by free.
 */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "fuzz_common.h"
#include "sga_crypto.h"
#include "sga_crypto_priv.h"

struct sga_pt_rsa_key;
int sga_pt_rsa_from_public_der(const uint8_t *der, size_t len, struct sga_pt_rsa_key **out);
size_t sga_pt_rsa_size(const struct sga_pt_rsa_key *key);
void sga_pt_rsa_free(struct sga_pt_rsa_key *key);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (fuzz_seed_dir() != NULL) {
		static const unsigned bits[] = {2048, 3072};

		for (size_t i = 0; i < 2; i++) {
			struct sga_rsa_key *k = NULL;
			uint8_t der[600];
			size_t n = 0;
			char name[32];

			FUZZ_SETUP(sga_rsa_generate(bits[i], &k) == 0);
			FUZZ_SETUP(sga_rsa_public_der(k, der, sizeof(der), &n) == 0);
			snprintf(name, sizeof(name), "rsa%u.der", bits[i]);
			fuzz_seed_write(name, der, n);
			sga_rsa_free(k);
		}
		exit(0);
	}
	return 0;
}

/* 1 if OpenSSL's key is one of the profile: e = 65537, n odd. */
static int profile_key(const struct sga_rsa_key *k)
{
	BIGNUM *e = NULL, *n = NULL;
	int yes = EVP_PKEY_get_bn_param(sga_rsa_key_evp(k), OSSL_PKEY_PARAM_RSA_E, &e) == 1 &&
	          EVP_PKEY_get_bn_param(sga_rsa_key_evp(k), OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
	          BN_is_word(e, 65537) && BN_is_odd(n);

	BN_free(e);
	BN_free(n);
	return yes;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sga_pt_rsa_key *pk = (struct sga_pt_rsa_key *)1;
	struct sga_rsa_key *ok = NULL;
	uint8_t der[1200];
	size_t der_len = 0;
	int canonical = 0;
	int prc = sga_pt_rsa_from_public_der(data, size, &pk);
	int orc = sga_rsa_from_public_der(data, size, &ok);

	if (orc == 0)
		canonical = sga_rsa_public_der(ok, der, sizeof(der), &der_len) == 0 &&
		            der_len == size && memcmp(der, data, size) == 0;
	if (prc == 0) {
		FUZZ_CHECK(orc == 0);
		FUZZ_CHECK(sga_pt_rsa_size(pk) == sga_rsa_size(ok));
		FUZZ_CHECK(canonical);
		sga_pt_rsa_free(pk);
	} else {
		FUZZ_CHECK(pk == NULL);
		FUZZ_CHECK(!(orc == 0 && canonical && sga_rsa_size(ok) == 256 && profile_key(ok)));
	}
	sga_rsa_free(ok);
	return 0;
}
