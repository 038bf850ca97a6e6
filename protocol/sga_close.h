/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_close.h - the end of a session (PROTOCOL.md 7.14): SESSION_CLOSE (0x50),
 * a device asks G to close its session, and SESSION_CLOSED (0x51), G tells a
 * member that the session is closed, why, and how far its messages got.
 *
 * Both are session envelopes under the kex key of the k_t of the device in
 * `role` (the sender's for SESSION_CLOSE, the recipient's for SESSION_CLOSED),
 * with that device's suite_init, like KEX_INIT and KEX_REPLY: only the two
 * ends of a session can seal them, and the type, session id and role are in
 * the AAD, so a frame of another type, session or direction never opens as
 * one. They carry no counter: a close is terminal, so a copy can only repeat
 * a close that took effect (G holds no session for it any more; the device
 * acts only on a session it holds).
 *
 * Pure functions, like the rest of protocol/: bytes and state in, bytes out.
 */
#ifndef SGA_CLOSE_H
#define SGA_CLOSE_H

#include <stddef.h>
#include <stdint.h>

#include "sga_device.h"
#include "sga_gateway.h"

/** Why a session ended (the reason byte of SESSION_CLOSE / SESSION_CLOSED). */
enum sga_close_reason {
	SGA_CLOSE_DEVICE = 1,   /* a member sent SESSION_CLOSE */
	SGA_CLOSE_IDLE = 2,     /* no traffic for [sessions] idle_s */
	SGA_CLOSE_LIFETIME = 3, /* older than [sessions] max_life_s */
	SGA_CLOSE_OPERATOR = 4, /* sga-admin close */
	SGA_CLOSE_REVOKED = 5,  /* sga-admin revoke of a member */
};
#define SGA_CLOSE_REASON_MAX SGA_CLOSE_REVOKED

#define SGA_SESSION_CLOSE_PLAIN_LEN  1 /* reason */
#define SGA_SESSION_CLOSED_PLAIN_LEN 9 /* reason | delivered */

/** SESSION_CLOSED's plaintext. */
struct sga_session_closed_plain {
	uint8_t reason;     /* enum sga_close_reason */
	uint64_t delivered; /* the recipient's messages below it reached the peer */
};

/** "device", "idle", "lifetime", "operator", "revoked"; "unknown" otherwise. */
const char *sga_close_reason_name(uint8_t reason);

/* Plaintext codecs: exact lengths (-TRUNCATED / -TRAILING), SESSION_CLOSE's
 * reason must be SGA_CLOSE_DEVICE and SESSION_CLOSED's 1..SGA_CLOSE_REASON_MAX
 * (-BAD_FIELD). */
int sga_session_close_plain_encode(uint8_t reason, uint8_t *out, size_t cap,
                                   size_t *len) SGA_MUST_CHECK;
int sga_session_close_plain_decode(const uint8_t *p, size_t len, uint8_t *reason) SGA_MUST_CHECK;
int sga_session_closed_plain_encode(const struct sga_session_closed_plain *c, uint8_t *out,
                                    size_t cap, size_t *len) SGA_MUST_CHECK;
int sga_session_closed_plain_decode(const uint8_t *p, size_t len,
                                    struct sga_session_closed_plain *c) SGA_MUST_CHECK;

/* ---- device --------------------------------------------------------------------- */

/** SESSION_CLOSE for an established session s (-BAD_STATE otherwise). */
int sga_dev_create_session_close(const struct sga_dev_sess *s, uint8_t *out, size_t cap,
                                 size_t *len) SGA_MUST_CHECK;
/** A SESSION_CLOSED for s: type (-BAD_TYPE), session (-UNKNOWN_SESSION), role =
 *  s's own (-BAD_FIELD), tag (-AUTH), plaintext. s must have keys (KEX or
 *  ESTABLISHED: a close may overtake the KEX_REPLY; -BAD_STATE otherwise). The
 *  caller ends the session on 0; nothing in s changes here. */
int sga_dev_consume_session_closed(const struct sga_dev_sess *s, const uint8_t *frame, size_t len,
                                   struct sga_session_closed_plain *c) SGA_MUST_CHECK;

/* ---- gateway -------------------------------------------------------------------- */

/** A SESSION_CLOSE for the record sess (ESTABLISHED, else -BAD_STATE): type,
 *  session (-UNKNOWN_SESSION), the sender's role, tag (-AUTH) and plaintext.
 *  *role: the member that closes. */
int sga_gw_open_session_close(const struct sga_gw_session *sess, const uint8_t *frame, size_t len,
                              uint8_t *role) SGA_MUST_CHECK;
/** SESSION_CLOSED to member `role` of sess. */
int sga_gw_create_session_closed(const struct sga_gw_session *sess, uint8_t role,
                                 const struct sga_session_closed_plain *c, uint8_t *out, size_t cap,
                                 size_t *len) SGA_MUST_CHECK;

#endif /* SGA_CLOSE_H */
