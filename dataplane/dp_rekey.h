/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_rekey.h - a session's rekey in the data plane (PROTOCOL.md 7.15).
 *
 * A rekey re-installs the session (dp_session_install) with the new
 * generation's keys. The new slot also carries, per member, the previous
 * generation's up key as a prepared CPU key (dp_cdev_sess.cpu_open_prev), so
 * DATA_UP and DATA_DELIVERED frames sealed before the member took the new
 * keys, still on their way, are opened. Which key a frame needs is in its
 * clear header: a member on the new keys echoes the new hop-down epoch (the
 * REKEY_REPLY named it), anything else was sealed under the old ones. The
 * owner lcore wipes the old key at the member's first authentic new-key
 * frame (dp_rekey_retire): the sender re-seals what is older and not yet
 * acknowledged. What the lcores learnt in the old slot (up windows, so a
 * frame accepted there is not accepted again; addresses; DATA_ACK windows)
 * is carried into the new one.
 */
#ifndef SGA_DP_REKEY_H
#define SGA_DP_REKEY_H

#include <stdbool.h>

#include "dp_session.h"
#include "sga_gateway.h"
#include "sga_hop.h"

struct dp;

/** Before publishing slot (the new generation of s->session_id; old: the
 *  installed slot or NULL): carry old's learnt state over and prepare the
 *  previous generation's up keys of the members s->rk.prev_live names.
 *  Nothing for a session at generation 0. 0 or -errno. */
int dp_rekey_prepare(struct dp_session *slot, const struct dp_session *old,
                     const struct sga_gw_session *s);

/** Was this up frame (hop header at frame) from member `from` sealed under
 *  the previous generation, whose key is still live? Owner lcore. */
static inline bool dp_rekey_prev_frame(const struct dp_session *s, uint8_t from,
                                       const uint8_t *frame)
{
	return s->cs->cpu_open_prev[from] && sga_hop_frame_epoch(frame) != s->m[from].hop.epoch;
}

/** The member is on the new keys: wipe and free its previous up key. Owner lcore. */
void dp_rekey_retire(struct dp_session *s, uint8_t from);

#endif /* SGA_DP_REKEY_H */
