/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * portable_rename.h - forced into a second build of offload/portable/ (the
 * same sources as sga_crypto_portable_lib, -include'd) so that test_portable
 * links the portable back end next to the OpenSSL one and compares them byte
 * for byte: every sga_crypto.h function the portable back end defines gets
 * the prefix sga_pt_. What both back ends share (sga_crypto_common.c,
 * sga_ascon.c) is not renamed: the test links it once, from sga_crypto_lib.
 */
#ifndef SGA_PORTABLE_RENAME_H
#define SGA_PORTABLE_RENAME_H

#define sga_sha256                 sga_pt_sha256
#define sga_hmac_sha256            sga_pt_hmac_sha256
#define sga_hkdf_sha256            sga_pt_hkdf_sha256
#define sga_x25519                 sga_pt_x25519
#define sga_p256_point_ok          sga_pt_p256_point_ok
#define sga_p256_ecdh              sga_pt_p256_ecdh
#define sga_p256_base_mul          sga_pt_p256_base_mul
#define sga_p256_scalar_random     sga_pt_p256_scalar_random
#define sga_aead_seal              sga_pt_aead_seal
#define sga_aead_open              sga_pt_aead_open
#define sga_random_bytes           sga_pt_random_bytes
#define sga_exponent_random        sga_pt_exponent_random
#define sga_rsa_key                sga_pt_rsa_key
#define sga_rsa_from_public_der    sga_pt_rsa_from_public_der
#define sga_rsa_free               sga_pt_rsa_free
#define sga_rsa_has_private        sga_pt_rsa_has_private
#define sga_rsa_size               sga_pt_rsa_size
#define sga_rsa_oaep_max_plaintext sga_pt_rsa_oaep_max_plaintext
#define sga_rsa_oaep_encrypt       sga_pt_rsa_oaep_encrypt
#define sga_modexp                 sga_pt_modexp
#define sga_hmac_key               sga_pt_hmac_key
#define sga_hmac_key_new           sga_pt_hmac_key_new
#define sga_hmac_key_mac           sga_pt_hmac_key_mac
#define sga_hmac_key_free          sga_pt_hmac_key_free
#define sga_aead_key               sga_pt_aead_key
#define sga_aead_key_new           sga_pt_aead_key_new
#define sga_aead_key_free          sga_pt_aead_key_free
#define sga_aead_key_suite         sga_pt_aead_key_suite
#define sga_aead_key_seal          sga_pt_aead_key_seal
#define sga_aead_key_open          sga_pt_aead_key_open

#endif /* SGA_PORTABLE_RENAME_H */
