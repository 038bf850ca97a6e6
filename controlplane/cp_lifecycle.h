/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cp_lifecycle.h - the end of a session (PROTOCOL.md 7.14): closed by a member
 * (SESSION_CLOSE), by the gateway's timers (idle, lifetime), by the operator
 * (sga-admin close) or with a revoked member (sga-admin revoke).
 *
 * Every close runs the same steps (cp_session_close): the session leaves the
 * data plane (every lcore's next look-up misses it; the slot is freed once no
 * lcore and no crypto op can reach it, and the stored messages for either
 * member are released then: the store rule of PROTOCOL.md 7.14), every Redis
 * key of the session is deleted (a restart does not bring it back), and each
 * member is sent a SESSION_CLOSED under its kex key naming the reason and how
 * far its messages got. Like cp_handler.h, no DPDK code: the data plane is
 * reached through the handler's callbacks.
 */
#ifndef SGA_CP_LIFECYCLE_H
#define SGA_CP_LIFECYCLE_H

#include <stdint.h>

#include "cp_handler.h"
#include "sga_close.h"

/**
 * Close session sid for `reason` (enum sga_close_reason): out of the data plane
 * (h->remove), out of Redis, SESSION_CLOSED to both members (at their session
 * addresses, else their device addresses). 0, -SGA_E_UNKNOWN_SESSION (neither
 * the data plane nor Redis holds it), -SGA_E_UNAVAILABLE (Redis down: the
 * session stays, call again), or another negated SGA_E_* code.
 */
int cp_session_close(const struct cp_handler *h, struct store *st, uint64_t sid,
                     uint8_t reason) SGA_MUST_CHECK;

/** A SESSION_CLOSE frame from src (cp_handle_frame's case): opened under the
 *  closing member's kex key, then cp_session_close(SGA_CLOSE_DEVICE). Anything
 *  that does not authenticate closes nothing and is refused in silence.
 *  *authed: the frame authenticated. */
int cp_on_session_close(const struct cp_handler *h, struct store *st, const uint8_t *frame,
                        size_t len, const struct dp_addr *src, int *authed) SGA_MUST_CHECK;

/**
 * Revoke device id: its record is marked revoked (kept, so the identity
 * cannot register afresh; every request naming it is refused in silence) and
 * every established session it is a member of is closed (SGA_CLOSE_REVOKED),
 * all of them out of the data plane before the first notice goes. Returns the
 * number of sessions closed, or a negated SGA_E_* code
 * (-SGA_E_UNKNOWN_DEVICE).
 */
int cp_device_revoke(const struct cp_handler *h, struct store *st, const uint8_t *id,
                     uint8_t id_len) SGA_MUST_CHECK;

/** What the timers close: idle_s since the last fresh authentic up frame,
 *  max_life_s since the session was installed; 0 = never. */
struct cp_expiry {
	unsigned idle_s, max_life_s;
};
/** The reason v's session is due to close for under e (SGA_CLOSE_IDLE,
 *  SGA_CLOSE_LIFETIME), or 0. */
uint8_t cp_session_expired(const struct cp_expiry *e, const struct dp_session_view *v);
/** Seconds in which the expiry looks at every session once (a slice of the
 *  table a second): a sixteenth of the shorter limit set, within [1, 60]. So
 *  a session closes at most that late: 1 s for limits up to 31 s, 3 s for
 *  a 60 s idle_s, a minute for an hour's. */
unsigned cp_expiry_sweep_s(const struct cp_expiry *e);

#endif /* SGA_CP_LIFECYCLE_H */
