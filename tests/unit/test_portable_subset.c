/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_portable_subset.c - the portable crypto back end alone, built with
 * only aes-128-ccm8 and ascon-aead128 (SGA_PORTABLE_AES_GCM=0,
 * SGA_PORTABLE_AES256_GCM=0, SGA_PORTABLE_CHACHAPOLY=0, SGA_PORTABLE_RSA=0):
 * this binary links no OpenSSL and no protocol library, so it also proves the
 * library needs nothing else. The suites left out are -EINVAL while the
 * registry still names them; the ones kept work (vectors cited below).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sga_crypto.h"
#include "sga_portable.h"

static void unhex(const char *hex, uint8_t *out)
{
	for (size_t i = 0; hex[2 * i] != '\0'; i++) {
		unsigned v;

		cr_assert(sscanf(hex + 2 * i, "%2x", &v) == 1);
		out[i] = (uint8_t)v;
	}
}

/* A deterministic "TRNG" for the test: what matters is that it is the one called. */
static int counter_trng(void *ctx, uint8_t *buf, size_t len)
{
	uint8_t *next = ctx;

	for (size_t i = 0; i < len; i++)
		buf[i] = (*next)++;
	return 0;
}

Test(portable_subset, left_out_suites_are_einval)
{
	static const uint8_t out_suites[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_AES256_GCM,
	                                     SGA_SUITE_CHACHA20_POLY1305};
	uint8_t key[32] = {0}, nonce[12] = {0}, buf[64] = {0};

	for (size_t i = 0; i < sizeof(out_suites); i++) {
		cr_assert_not_null(sga_suite_get(out_suites[i]), "the registry is the protocol's");
		cr_assert_eq(sga_aead_seal(out_suites[i], key, nonce, NULL, 0, buf, 16, buf, 64),
		             -EINVAL);
		cr_assert_eq(sga_aead_open(out_suites[i], key, nonce, NULL, 0, buf, 32, buf, 64),
		             -EINVAL);
		errno = 0;
		cr_assert_null(sga_aead_key_new(out_suites[i], SGA_AEAD_SEAL, key));
		cr_assert_eq(errno, EINVAL);
	}
}

Test(portable_subset, kept_suites_work)
{
	/* NIST SP 800-38C appendix C, example 3 */
	uint8_t key[16], nonce[12], aad[20], pt[24], want[32], ct[40], back[24];

	unhex("404142434445464748494a4b4c4d4e4f", key);
	unhex("101112131415161718191a1b", nonce);
	unhex("000102030405060708090a0b0c0d0e0f10111213", aad);
	unhex("202122232425262728292a2b2c2d2e2f3031323334353637", pt);
	unhex("e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5484392fbc1b09951", want);
	cr_assert_eq(sga_aead_seal(SGA_SUITE_AES128_CCM8, key, nonce, aad, 20, pt, 24, ct, 32), 0);
	cr_assert(memcmp(ct, want, 32) == 0);
	cr_assert_eq(sga_aead_open(SGA_SUITE_AES128_CCM8, key, nonce, aad, 20, ct, 32, back, 24),
	             0);
	cr_assert(memcmp(back, pt, 24) == 0);
	/* ascon-aead128: a round trip and a forgery (its KATs are test_ascon's) */
	cr_assert_eq(sga_aead_seal(SGA_SUITE_ASCON_AEAD128, key, nonce, aad, 20, pt, 24, ct, 40),
	             0);
	cr_assert_eq(sga_aead_open(SGA_SUITE_ASCON_AEAD128, key, nonce, aad, 20, ct, 40, back, 24),
	             0);
	cr_assert(memcmp(back, pt, 24) == 0);
	ct[39] ^= 0x80;
	cr_assert_eq(sga_aead_open(SGA_SUITE_ASCON_AEAD128, key, nonce, aad, 20, ct, 40, back, 24),
	             -EBADMSG);
}

Test(portable_subset, x25519_sha256_and_random_alone)
{
	uint8_t k[32], out[32], want[32], exp[SGA_EXPONENT_LEN], next = 1;
	struct sga_buf abc = {"abc", 3};

	/* RFC 7748 6.1: Alice's public key */
	unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", k);
	unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", want);
	cr_assert_eq(sga_x25519(k, NULL, out), 0);
	cr_assert(memcmp(out, want, 32) == 0);
	/* FIPS 180-2 B.1 */
	unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want);
	cr_assert_eq(sga_sha256(&abc, 1, out), 0);
	cr_assert(memcmp(out, want, 32) == 0);
	cr_assert_eq(sga_random_bytes(out, 8), -EIO, "no source registered: fail closed");
	sga_portable_set_random(counter_trng, &next);
	cr_assert_eq(sga_exponent_random(exp), 0);
	cr_assert_eq(exp[0], 1);
	cr_assert_eq(exp[31], 32);
	sga_portable_set_random(NULL, NULL);
}
