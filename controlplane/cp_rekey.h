/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cp_rekey.h - the control plane's part of a session rekey (PROTOCOL.md 7.15):
 * REKEY_INIT from a session member against the Redis records, the new key
 * generation stored and installed in the data plane before the REKEY_REPLYs
 * leave (the same order as a handshake's end, cp_handler.h).
 */
#ifndef SGA_CP_REKEY_H
#define SGA_CP_REKEY_H

#include "cp_handler.h"

/** REKEY_INIT of the session and role pk names, from src. *authed as
 *  cp_handle_frame's (the frame authenticated: hints allowed), *quiet when
 *  another worker took its counter and answered. 0 or a negated SGA_E_*. */
int cp_rekey_init(const struct cp_handler *h, struct store *st, const struct sga_gw_peek *pk,
                  const uint8_t *frame, size_t len, const struct dp_addr *src, int *authed,
                  int *quiet) SGA_MUST_CHECK;

/* cp_handler.c's helpers, shared with this file. */
int cp_load_dev(struct store *st, const uint8_t *id, uint8_t id_len, struct sga_gw_device *d);
int cp_load_sess(struct store *st, uint64_t sid, struct sga_gw_session *s);
void cp_deliver(const struct cp_handler *h, struct store *st, const struct sga_gw_out *out,
                const uint8_t *from_id, uint8_t from_len, const struct dp_addr *src);

#endif /* SGA_CP_REKEY_H */
