/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store.h - SGA gateway state in Redis (hiredis), one connection per caller.
 *
 * Key layout (every key carries one hash tag, so every command touches one
 * Redis Cluster slot; see docs/OPERATIONS.md):
 *   sga:{dev:<id>}       hash  rec = sealed struct sga_gw_device, up_ctr, down_ctr,
 *                              addr = last address "a.b.c.d:port/mac"
 *   sga:{sess:<16 hex>}  hash  rec = sealed struct sga_gw_session, state,
 *                              tx_res0, tx_res1 (hop TX reservations),
 *                              rx0, rx1 (replay marks), addr0, addr1
 *   sga:{enroll:<id>}    string  SHA-256 of the one-time enrollment token (hex)
 *   sga:sessions         set of established session ids (restore index; the
 *                              one key not in a device/session slot)
 * Secrets (k_d, k_t, hop keys) never reach Redis in clear: "rec" values are
 * AES-256-GCM sealed under the master key (32 bytes from the master key file)
 * with the Redis key name as AAD, so a record cannot be moved to another key.
 * Counters are separate fields updated atomically (Lua compare-and-set), so two
 * workers never roll a counter back.
 *
 * All functions return 0 or a negated SGA_E_* code: -SGA_E_UNAVAILABLE when Redis
 * cannot be reached (the connection is dropped and re-made on the next call,
 * no sooner than the backoff allows), -SGA_E_UNKNOWN_DEVICE / _SESSION for a
 * missing key, -SGA_E_AUTH for a record that fails to unseal.
 */
#ifndef SGA_STORE_H
#define SGA_STORE_H

#include <stdint.h>

#include "dp.h"
#include "sga_gateway.h"

struct store; /* opaque; one per thread */

struct store_config {
	const char *unix_socket; /* preferred when set */
	const char *host;        /* else TCP */
	int port;
	int db;
	unsigned timeout_ms;           /* connect and command timeout */
	uint8_t master_key[32];        /* from the master key file */
};

/** Load a 32-byte master key file (raw 32 bytes, or 64 hex chars + newline).
 *  Refuses a file readable by group or others (-EPERM). 0 or -errno. */
int store_load_master_key(const char *path, uint8_t key[32]);

struct store *store_open(const struct store_config *cfg); /* never NULL unless ENOMEM; connects lazily */
void store_close(struct store *st);
/** 1 if the last command reached Redis. */
int store_connected(const struct store *st);

int store_device_get(struct store *st, const uint8_t *id, uint8_t id_len, struct sga_gw_device *rec);
/** Write the whole record (registration). Counters are written as given. */
int store_device_put(struct store *st, const struct sga_gw_device *rec);
/** Counter updates: set up_ctr to v if v > stored (else -SGA_E_REPLAY);
 *  raise down_ctr to v if v > stored. */
int store_device_set_up_ctr(struct store *st, const uint8_t *id, uint8_t id_len, uint64_t v);
int store_device_raise_down_ctr(struct store *st, const uint8_t *id, uint8_t id_len, uint64_t v);
int store_device_set_addr(struct store *st, const uint8_t *id, uint8_t id_len, const struct dp_addr *a);
int store_device_get_addr(struct store *st, const uint8_t *id, uint8_t id_len, struct dp_addr *a);

int store_enroll_get(struct store *st, const uint8_t *id, uint8_t id_len, struct sga_gw_enroll *e);
int store_enroll_put(struct store *st, const uint8_t *id, uint8_t id_len, const struct sga_gw_enroll *e);
int store_enroll_del(struct store *st, const uint8_t *id, uint8_t id_len);

int store_session_get(struct store *st, uint64_t sid, struct sga_gw_session *s);
/** Write the record; when s->state is ESTABLISHED also index it in sga:sessions. */
int store_session_put(struct store *st, const struct sga_gw_session *s);
int store_session_del(struct store *st, uint64_t sid);
/** Reserve `block` more hop sequence numbers towards role: returns the new
 *  limit L through *limit (the range is [L - block, L)). */
int store_session_reserve(struct store *st, uint64_t sid, uint8_t role, uint64_t block, uint64_t *limit);
int store_session_set_marks(struct store *st, uint64_t sid, const uint64_t rx_next[2], const struct dp_addr addr[2]);
int store_session_get_marks(struct store *st, uint64_t sid, uint64_t rx_next[2], struct dp_addr addr[2]);
/** Ids of established sessions (SMEMBERS sga:sessions); *n in/out. */
int store_session_list(struct store *st, uint64_t *ids, unsigned *n);

#endif /* SGA_STORE_H */
