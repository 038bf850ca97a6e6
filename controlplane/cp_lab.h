/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cp_lab.h - lab provisioning in the control plane: write and install the N
 * sessions a provisioning file describes (protocol/sga_lab.h) through the same
 * functions the end of a handshake uses (cp_sessions_commit), pipelined, so
 * that a gateway under test holds 100,000 established sessions seconds after
 * start. NOT FOR PRODUCTION: the gateway calls it only under
 * `[lab] profile = lab` (gateway/gw_config.h), and logs that it did.
 */
#ifndef SGA_CP_LAB_H
#define SGA_CP_LAB_H

#include <stdint.h>

#include "cp_handler.h"
#include "sga_lab.h"

#define CP_LAB_BATCH 256u /* sessions per pipeline round trip */

struct cp_lab_report {
	uint32_t written;   /* sessions stored */
	uint32_t installed; /* of them, installed in the data plane */
	unsigned batches;   /* pipeline round trips */
};

/**
 * Store, index and install the n (<= CP_LAB_BATCH) sessions ls describes,
 * members' device records included, in one pipeline (cp_sessions_commit);
 * addr: each session's member addresses, or NULL (unknown: the data plane
 * learns them from the first authentic frame of each member). Returns the
 * number installed or a negated SGA_E_* code.
 */
int cp_lab_commit(const struct cp_handler *h, struct store *st, const struct sga_lab_sess *ls,
                  unsigned n, const struct dp_addr (*addr)[2]) SGA_MUST_CHECK;

/**
 * Provision every session of p: derive its records (sga_lab_derive,
 * sga_lab_gw_records), then store, index and install them in batches of
 * CP_LAB_BATCH (cp_sessions_commit; the members' device records are written
 * too). A session written before (same seed) is written again with a fresh
 * hop TX range and keeps its higher replay marks. -SGA_E_BAD_FIELD if p's
 * group or suites are not the gateway's (logged), a store error as
 * cp_sessions_commit (the report says how far it got). Secrets are wiped.
 */
int cp_lab_provision(const struct cp_handler *h, struct store *st, const struct sga_lab_params *p,
                     struct cp_lab_report *rep) SGA_MUST_CHECK;

#endif /* SGA_CP_LAB_H */
