/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_cookie.h - the gateway's stateless cookie challenge (PROTOCOL.md 7.13),
 * modelled on WireGuard's cookie reply: under load the gateway answers a
 * REG_REQ, NEG_REQ or KEX_INIT with a COOKIE_REPLY instead of doing the RSA,
 * modexp and Redis work the frame would cost, and only a frame that comes
 * back inside a COOKIE_ECHO carrying a valid cookie is handled. The cookie
 * binds the source address and port the frame came from and the frame
 * itself, under a secret that changes every SGA_COOKIE_EPOCH_MS; a sender
 * that cannot receive at the address it claims never gets one.
 *
 *   COOKIE_REPLY (0x40) G -> d : header | digest(16) | cookie(16)
 *   COOKIE_ECHO  (0x41) d -> G : header | cookie(16) | inner frame
 *
 *   digest   = the frame's last 16 bytes (left-padded with zeros if shorter)
 *   secret_e = HMAC-SHA256(root, "sga cookie secret" || u64(e)), e = now / 120 s
 *   cookie   = HMAC-SHA256(secret_e, "sga cookie" || ip(4) || port(2) || frame)[0..16)
 *              from an IPv4 source;
 *            = HMAC-SHA256(secret_e, "sga cookie6" || ip(16) || port(2) || frame)[0..16)
 *              from an IPv6 one (its own label: no input of one family is
 *              an input of the other)
 *
 * The gateway keeps no state per cookie: a check recomputes it for the
 * current epoch and the one before. root is random per gateway process and
 * never leaves it.
 */
#ifndef SGA_COOKIE_H
#define SGA_COOKIE_H

#include <stddef.h>
#include <stdint.h>

#include "sga_crypto.h"
#include "sga_err.h"

#define SGA_COOKIE_LEN        16
#define SGA_COOKIE_DIGEST_LEN 16
#define SGA_COOKIE_ROOT_LEN   32
#define SGA_COOKIE_EPOCH_MS   120000u /* the secret rotates; the previous one is still accepted */
#define SGA_COOKIE_REPLY_LEN  (4 + SGA_COOKIE_DIGEST_LEN + SGA_COOKIE_LEN)
#define SGA_COOKIE_ECHO_HDR   (4 + SGA_COOKIE_LEN) /* before the inner frame */

/** 1 if a frame of this type is answered with a COOKIE_REPLY under load and
 *  may travel inside a COOKIE_ECHO: REG_REQ, NEG_REQ, KEX_INIT. */
int sga_cookie_type(uint8_t type);

/** What a COOKIE_REPLY names its request by: the frame's last
 *  SGA_COOKIE_DIGEST_LEN bytes (left-padded with zeros if shorter). */
int sga_cookie_digest(const uint8_t *frame, size_t len,
                      uint8_t digest[SGA_COOKIE_DIGEST_LEN]) SGA_MUST_CHECK;

/* One thread's view of the rotating secrets: the root (read-only, shared)
 * and the two epochs' secrets derived from it, cached. */
struct sga_cookie_key {
	uint8_t root[SGA_COOKIE_ROOT_LEN];
	uint64_t epoch; /* of cur; prev is epoch - 1 */
	int have;
	uint8_t cur[SGA_SHA256_LEN], prev[SGA_SHA256_LEN];
	struct sga_hmac_key *cur_mac, *prev_mac; /* keyed with cur and prev */
};

/** Start a key from root (copied); the secrets are derived on first use.
 *  sga_cookie_key_wipe frees what that allocated. */
void sga_cookie_key_init(struct sga_cookie_key *k, const uint8_t root[SGA_COOKIE_ROOT_LEN]);
void sga_cookie_key_wipe(struct sga_cookie_key *k);

/** The cookie for frame[0..len) from ip:port (network order, as on the wire)
 *  at now_ms (any monotonic clock shared by the threads using root). */
int sga_cookie_make(struct sga_cookie_key *k, uint64_t now_ms, uint32_t ip_be, uint16_t port_be,
                    const uint8_t *frame, size_t len,
                    uint8_t cookie[SGA_COOKIE_LEN]) SGA_MUST_CHECK;

/** 0 if cookie is the one of frame from ip:port in this epoch or the previous
 *  one (constant-time compares), -SGA_E_AUTH if not. */
int sga_cookie_check(struct sga_cookie_key *k, uint64_t now_ms, uint32_t ip_be, uint16_t port_be,
                     const uint8_t *frame, size_t len,
                     const uint8_t cookie[SGA_COOKIE_LEN]) SGA_MUST_CHECK;

/** sga_cookie_make and sga_cookie_check for a source of either family: ip
 *  holds an IPv6 address, or an IPv4 one as ::ffff:a.b.c.d (the gateway's
 *  struct dp_addr form), which gives the IPv4 cookie above. */
int sga_cookie_make_addr(struct sga_cookie_key *k, uint64_t now_ms, const uint8_t ip[16],
                         uint16_t port_be, const uint8_t *frame, size_t len,
                         uint8_t cookie[SGA_COOKIE_LEN]) SGA_MUST_CHECK;
int sga_cookie_check_addr(struct sga_cookie_key *k, uint64_t now_ms, const uint8_t ip[16],
                          uint16_t port_be, const uint8_t *frame, size_t len,
                          const uint8_t cookie[SGA_COOKIE_LEN]) SGA_MUST_CHECK;

/* ---- the two messages ---------------------------------------------------------- */

/** COOKIE_REPLY for request frame[0..len): its digest and the cookie.
 *  -SGA_E_NOSPACE if cap < SGA_COOKIE_REPLY_LEN. */
int sga_cookie_reply_encode(const uint8_t digest[SGA_COOKIE_DIGEST_LEN],
                            const uint8_t cookie[SGA_COOKIE_LEN], uint8_t *out, size_t cap,
                            size_t *len) SGA_MUST_CHECK;
int sga_cookie_reply_decode(const uint8_t *frame, size_t len, uint8_t digest[SGA_COOKIE_DIGEST_LEN],
                            uint8_t cookie[SGA_COOKIE_LEN]) SGA_MUST_CHECK;

/** COOKIE_ECHO carrying inner[0..inner_len), a whole REG_REQ, NEG_REQ or
 *  KEX_INIT frame (-SGA_E_BAD_TYPE otherwise; -SGA_E_OVERSIZED if the result
 *  would exceed SGA_FRAME_MAX). */
int sga_cookie_echo_encode(const uint8_t cookie[SGA_COOKIE_LEN], const uint8_t *inner,
                           size_t inner_len, uint8_t *out, size_t cap, size_t *len) SGA_MUST_CHECK;
/** Split a COOKIE_ECHO: the cookie, and the inner frame (pointing into frame),
 *  itself checked as a whole frame (sga_hdr_parse) of a cookie type. */
int sga_cookie_echo_decode(const uint8_t *frame, size_t len, const uint8_t **cookie,
                           const uint8_t **inner, size_t *inner_len) SGA_MUST_CHECK;

#endif /* SGA_COOKIE_H */
