/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_ascon.h - Ascon-AEAD128 as NIST SP 800-232 (August 2025) defines it: the
 * suite ascon-aead128 (0x05, docs/PROTOCOL.md 4.4).
 *
 * Portable C99 with no OS, no allocator and no crypto library (only <stddef.h>
 * and <stdint.h>), so that a microcontroller build can use this file as it is:
 * it is the one Ascon implementation of the project, behind sga_crypto.h's AEAD
 * API on the gateway and the device alike. Constant-time: no branch and no
 * memory index depends on the key, the nonce, the data or the tag (only on the
 * lengths, which are public); the state and the key words are wiped before
 * every return, and a failed open wipes the plaintext it wrote.
 *
 * Key, nonce and tag are 16 bytes each. SP 800-232 loads bytes into the 64-bit
 * state words little-endian, starts from IV 0x00001000808c0001 and pads with
 * 0x01 after the last byte: it is NOT the Ascon-128a of the v1.2 submission,
 * whose outputs differ for every input (the tests check both facts). Known
 * answers: ascon/ascon-c, crypto_aead/asconaead128/LWC_AEAD_KAT_128_128.txt
 * (commit fdfca408, unchanged since the designers marked that code as the final
 * SP 800-232 in January 2026).
 */
#ifndef SGA_ASCON_H
#define SGA_ASCON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SGA_ASCON_KEY_LEN   16
#define SGA_ASCON_NONCE_LEN 16
#define SGA_ASCON_TAG_LEN   16

/**
 * Seal: ct receives pt_len bytes of ciphertext and then the 16-byte tag
 * (pt_len + 16 bytes). ct may equal pt (in place); no other overlap. ad and pt
 * may be NULL when their length is 0. The nonce must never repeat under a key.
 */
void sga_ascon_aead128_seal(const uint8_t key[SGA_ASCON_KEY_LEN],
                            const uint8_t nonce[SGA_ASCON_NONCE_LEN], const uint8_t *ad,
                            size_t ad_len, const uint8_t *pt, size_t pt_len, uint8_t *ct);

/**
 * Open: ct is ct_len bytes including the tag (ct_len >= 16); pt receives
 * ct_len - 16 bytes (pt may equal ct). Returns 0 if the tag is right, -1 if
 * not (or ct_len < 16); on -1 the pt_len bytes at pt are zero. The tag
 * comparison is constant-time.
 */
int sga_ascon_aead128_open(const uint8_t key[SGA_ASCON_KEY_LEN],
                           const uint8_t nonce[SGA_ASCON_NONCE_LEN], const uint8_t *ad,
                           size_t ad_len, const uint8_t *ct, size_t ct_len, uint8_t *pt);

/**
 * The suite's 16-byte Ascon nonce from the protocol's 12-byte AEAD nonce
 * (docs/PROTOCOL.md 4.4): four zero bytes, then the 12 bytes. Every nonce rule
 * of the protocol (random, or a counter per key) keeps its uniqueness, and both
 * ends of a key compute the same Ascon nonce from what the frame carries.
 */
static inline void sga_ascon_nonce_from_protocol(uint8_t out[SGA_ASCON_NONCE_LEN],
                                                 const uint8_t nonce12[12])
{
	for (int i = 0; i < 4; i++)
		out[i] = 0;
	for (int i = 0; i < 12; i++)
		out[4 + i] = nonce12[i];
}

#ifdef __cplusplus
}
#endif
#endif /* SGA_ASCON_H */
