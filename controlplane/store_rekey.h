/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store_rekey.h - the rekey block of a sealed session record (store.c): the
 * session's key generation, a rekey in progress (the contributions in, their
 * N, K and k_t) and the cached REKEY_REPLYs, so that a gateway restart in the
 * middle of a rekey neither loses a half-done one nor answers a repeated
 * REKEY_INIT differently (PROTOCOL.md 7.15, "Gateway restart").
 *
 * Layout (after the record's init hashes; absent for a session that never
 * rekeyed, so older records read unchanged):
 *   'R' | gen(4) | next_gen(4) | have(1) | prev_live(1) |
 *   per role: init_hash(32) | prev_k_t(32) | reply_len(2) | reply |
 *             [have bit: k_t_next(32) | N(L) | K(L)]
 */
#ifndef SGA_STORE_REKEY_H
#define SGA_STORE_REKEY_H

#include <stddef.h>

#include "sga_cursor.h"
#include "sga_gateway.h"

#define STORE_REKEY_TAG 'R'
/* Largest block: the fixed part, two roles with a full reply and N, K of
 * the largest group. */
#define STORE_REKEY_MAX                                                                         \
	(1 + 4 + 4 + 1 + 1 +                                                                    \
	 2 * (SGA_SHA256_LEN + SGA_KEY_LEN + 2 + sizeof(((struct sga_gw_rekey *)0)->reply[0]) + \
	      SGA_KEY_LEN + 2 * SGA_GROUP_MAX_LEN))

/** Append the block for s (nothing for a session still at generation 0 with
 *  no rekey in progress). */
void store_rekey_encode(const struct sga_gw_session *s, struct sga_wr *w);
/** Read the block if the record has one (r positioned after the init
 *  hashes). 0, or a negated SGA_E_* for a malformed block. */
int store_rekey_decode(struct sga_rd *r, struct sga_gw_session *s);

#endif /* SGA_STORE_REKEY_H */
