/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_route.h - which control-plane worker a control frame belongs to, and
 * which frames must not run at the same time. Shared by the data plane (it
 * picks the worker's ring) and the control plane (it keeps the order on the
 * worker and hands a frame on when it reached the wrong one), so both always
 * agree.
 *
 *   NEG_REQ, NEG_ACCEPT  one device's envelopes: keyed by the clear device id
 *   KEX_INIT             one session's contributions: keyed by session id
 *   DATA_UP, DATA_DELIVERED  (to the control plane only for an adoption)
 *                        keyed by session id too
 *   REG_REQ              keyed by the frame itself: a retransmission (the SDK
 *                        re-sends the very bytes) meets its original on one
 *                        worker and waits for it
 *   COOKIE_ECHO          the key of the frame it carries
 *   PKG_REQ              no key: any worker
 */
#ifndef SGA_ROUTE_H
#define SGA_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "sga_wire.h"

enum sga_route_kind {
	SGA_ROUTE_ANY = 0,     /* no ordering constraint */
	SGA_ROUTE_DEVICE = 1,  /* b = device id */
	SGA_ROUTE_SESSION = 2, /* b = session id (8 bytes, big endian) */
	SGA_ROUTE_FRAME = 3,   /* b = FNV-1a 64 of the frame (8 bytes) */
};

struct sga_route_key {
	uint8_t kind;
	uint8_t len;
	uint8_t b[SGA_ID_MAX];
};

/** The key of a control frame (of the frame inside a COOKIE_ECHO). A frame
 *  whose clear part does not parse gets kind ANY: the handler refuses it. */
void sga_route_key(const uint8_t *frame, size_t len, struct sga_route_key *k);

/** 1 if a and b name the same thing (never for ANY). */
int sga_route_key_eq(const struct sga_route_key *a, const struct sga_route_key *b);

/** The worker of a keyed frame, in [0, n_workers); for ANY, *rr++ % n_workers. */
unsigned sga_route_worker(const struct sga_route_key *k, unsigned n_workers, unsigned *rr);

/** The hash sga_route_worker uses for a device id, and for a session id. */
unsigned sga_route_worker_of_id(const uint8_t *id, size_t id_len, unsigned n_workers);
unsigned sga_route_worker_of_session(uint64_t session_id, unsigned n_workers);

#endif /* SGA_ROUTE_H */
