/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store.h - SGA gateway state in Redis (hiredis), one connection per caller
 * (on a Redis Cluster, one per master: store_cluster.h, docs/OPERATIONS.md).
 *
 * Key layout (every key carries one hash tag, so every command touches one
 * Redis Cluster slot; see docs/OPERATIONS.md):
 *   sga:{dev:<id>}       hash  rec = sealed struct sga_gw_device, up_ctr, down_ctr,
 *                              addr = last address "a.b.c.d:port/mac"
 *   sga:{sess:<16 hex>}  hash  rec = sealed struct sga_gw_session, state,
 *                              tx_res0, tx_res1 (hop TX reservations),
 *                              rx0, rx1 (replay marks), addr0, addr1
 *   sga:{enroll:<id>}    string  SHA-256 of the one-time enrollment token (hex)
 *   sga:{dev:<id>}:inv   set of INVITED session ids whose responder is <id>
 *                              (16 hex each; the WAKE's re-sent invitations,
 *                              PROTOCOL.md 7.16): added with the NEG_INVITE,
 *                              removed at the NEG_ACCEPT or when a WAKE finds
 *                              the session gone or past INVITED; the set
 *                              expires session_ttl_s after its last addition
 *   sga:{sess:<16 hex>}:held  hash  the session's replicated message store
 *                              ([store] replicate = redis, store_replica.h):
 *                              "<role>:<e2e_seq>" = a held message's log
 *                              record (msg_log.h layout), "m<role>" = the
 *                              recipient's delivered mark (decimal e2e_seq,
 *                              only raised); deleted with the session
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
 * missing key, -SGA_E_AUTH for a record that fails to unseal, -SGA_E_BAD_VERSION
 * for a record written in a format this build does not know, -SGA_E_BAD_FIELD
 * for an invalid id or argument, -SGA_E_INTERNAL for an unexpected reply.
 *
 * Sealed record format (the "rec" fields): version(1) = 1 | nonce(12) |
 * AES-256-GCM(k_rec, nonce, aad = version | key name, plaintext), where
 * k_rec = HKDF-SHA256(master key, info = "sga-store-v1 " | key name): one
 * subkey per Redis key, so the 2^32 bound on random 96-bit GCM nonces applies
 * per key, not to the whole store. The plaintext is an explicit big-endian
 * serialization (store.c), never raw struct bytes. Hop keys are not stored:
 * store_session_get re-derives them from k_t for an ESTABLISHED session.
 *
 * Sessions not yet ESTABLISHED expire after session_ttl_s (an abandoned
 * handshake leaves nothing behind); established ones persist until deleted.
 * A struct store is not thread-safe: one per thread.
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
	unsigned timeout_ms;     /* connect and command timeout; 0 = 1000 */
	uint8_t master_key[32];  /* from the master key file */
	unsigned backoff_max_ms; /* reconnect backoff cap (starts at 50 ms); 0 = 5000 */
	unsigned session_ttl_s;  /* lifetime of a session before ESTABLISHED; 0 = 300 */
	/* The gateway's first profile (enum sga_group_id): the group
	 * store_device_get gives a record written before records kept one. */
	uint8_t first_group;
	/* Redis authentication, sent on every connection (reconnects too):
	 * "AUTH user password" (an ACL user) when both are set, "AUTH password"
	 * when only the password is; neither: no AUTH. */
	const char *user;
	const char *password; /* copied into locked memory; the caller may wipe it */
	/* Redis Cluster: "host:port, host:port, ..." seed nodes (unix_socket,
	 * host, port and db are then unused; store_cluster.c). NULL: one server. */
	const char *cluster;
	/* Redis Sentinel: "host:port, ..." of the sentinels that watch the
	 * primary named sentinel_master (unix_socket, host and port are then
	 * unused; db, user and password apply to the primary). Every connection
	 * asks the sentinels, in turn, where the primary is, and checks with ROLE
	 * that the server it reached is a primary; an I/O error or a READONLY
	 * reply (the server became a replica) drops the connection, so the next
	 * call after the backoff asks again. sentinel_password: AUTH for the
	 * sentinels (NULL: none). NULL sentinels: no Sentinel. */
	const char *sentinels;
	const char *sentinel_master;
	const char *sentinel_password;
	/* Session ownership ([sessions] adopt; PROTOCOL.md 9.5): this gateway's
	 * [gateway] id. Establishing, store_session_own and the restore name it
	 * as the session's owner; marks and TX reservations are fenced by it
	 * (-STORE_E_NOT_OWNER when another gateway owns the session). NULL: one
	 * gateway, nothing named or fenced. */
	const char *owner;
	/* [cluster]: this gateway's node index (1-based, the same list on every
	 * gateway; dp_peer.h): addresses are written with the node that reaches
	 * the device ("...@K"), this one's for those it reaches itself. 0: none. */
	unsigned node;
};

/* A gateway's node name's room ([sessions] node; dp_peer.h DP_NODE_NAME_MAX). */
#define STORE_OWNER_MAX 64

/* A fenced write refused: another gateway owns the session now
 * (store_config.owner). Store-internal, never on the wire. */
#define STORE_E_NOT_OWNER 1001

#define STORE_PASSWORD_MAX 256

/** Load a Redis password file: its first line, without the line end, into
 *  out (NUL-terminated, at most STORE_PASSWORD_MAX bytes). Refuses a file with
 *  any group or other permission bit (-EPERM), anything but a regular file, an
 *  empty or over-long first line (-EINVAL). 0 or -errno; out is zeroed on
 *  failure and the read buffer is wiped either way. */
int store_load_password(const char *path, char out[STORE_PASSWORD_MAX + 1]);

/** Load a 32-byte master key file (raw 32 bytes, or 64 hex chars + newline).
 *  Refuses a file with any group or other permission bit (-EPERM), anything
 *  but a regular file or a wrong size or bad hex (-EINVAL). 0 or -errno; key is
 *  zeroed on failure and the read buffer is wiped either way. */
int store_load_master_key(const char *path, uint8_t key[32]);

/** Copies cfg (the master key into locked, non-dumpable memory; the caller
 *  may wipe its copy). Neither unix_socket nor host: 127.0.0.1:6379. Never
 *  NULL unless ENOMEM; connects lazily, on the first command. */
struct store *store_open(const struct store_config *cfg);
/** Close the connection and wipe the master key. NULL is a no-op. */
void store_close(struct store *st);
/** 1 if the last command reached Redis. */
int store_connected(const struct store *st);
/** 1 if Redis refused the last connection's credentials (AUTH failed, or
 *  NOAUTH: a password is required and none is configured); logged as an
 *  error, and the call got -SGA_E_UNAVAILABLE. 0 once a connection succeeds. */
int store_auth_refused(const struct store *st);
/** Successful re-connections after the first connection (any thread may read). */
uint64_t store_reconnects(const struct store *st);
/** Redis Cluster redirections followed: MOVED (the slot's owner changed) and
 *  ASK (a slot being migrated); 0 on one server (any thread may read). */
uint64_t store_moved(const struct store *st);
uint64_t store_asked(const struct store *st);
/** Lua scripts sent again in full (EVAL) because the server answered an
 *  EVALSHA with NOSCRIPT (its first use of each, and after a restart or a
 *  failover emptied its script cache); any thread may read. */
uint64_t store_scripts_loaded(const struct store *st);
/** Sentinel mode: times the primary's address changed after the first one
 *  the sentinels gave (a failover seen); 0 otherwise (any thread may read). */
uint64_t store_primary_changes(const struct store *st);
/** Sentinel mode: the primary's "host:port" last reached, "" before the
 *  first connection; one server: its endpoint. Owner thread. */
const char *store_endpoint(const struct store *st);
/** Connection attempts made, successful or not (any thread may read). */
uint64_t store_connect_attempts(const struct store *st);

#define STORE_NODE_NAME_MAX 160
/** Whether Redis keeps an append-only file ([redis] require_aof): INFO
 *  persistence's aof_enabled (CONFIG GET may be refused by an ACL) of the
 *  server, or of every master of a cluster. 0 all have it; 1 one has not, its
 *  "host:port" (or socket) in node; -SGA_E_UNAVAILABLE; -SGA_E_INTERNAL a
 *  reply without aof_enabled (node named too). */
int store_check_aof(struct store *st, char *node, size_t node_len);

/** The device's record; rec->group is the record's, or cfg->first_group for
 *  a record of an earlier build (no group kept). */
int store_device_get(struct store *st, const uint8_t *id, uint8_t id_len,
                     struct sga_gw_device *rec);
/** Write the whole record (registration). Counters are written as given. */
int store_device_put(struct store *st, const struct sga_gw_device *rec);
/** As store_device_put, but only if no record exists under rec->id (atomic):
 *  -SGA_E_EXISTS otherwise. For first registrations, so that two workers racing
 *  on one new id cannot both succeed. */
int store_device_create(struct store *st, const struct sga_gw_device *rec);
/** Mark the device's record revoked (inside the sealed record, so it cannot
 *  be cleared without the master key); -SGA_E_UNKNOWN_DEVICE if there is none.
 *  The gateway refuses every request of a revoked device, silently. */
int store_device_revoke(struct store *st, const uint8_t *id, uint8_t id_len);
/** Delete the device's record (re-enrolment of a revoked device). */
int store_device_del(struct store *st, const uint8_t *id, uint8_t id_len);
/** Counter updates: set up_ctr to v if v > stored (else -SGA_E_REPLAY);
 *  raise down_ctr to v if v > stored. */
int store_device_set_up_ctr(struct store *st, const uint8_t *id, uint8_t id_len, uint64_t v);
int store_device_raise_down_ctr(struct store *st, const uint8_t *id, uint8_t id_len, uint64_t v);
/** Take the device's next down counter for one message to it: *ctr is this
 *  caller's alone (HINCRBY), so two workers sealing to one device at once
 *  never use the same counter, which the device would drop as a replay.
 *  Seal under *ctr (a struct sga_gw_device's down_ctr = *ctr - 1 before the
 *  sga_gw_* call that seals under down_ctr + 1). A counter taken and not
 *  used leaves a gap, which the device accepts. */
int store_device_claim_down_ctr(struct store *st, const uint8_t *id, uint8_t id_len, uint64_t *ctr);
/** Set the device's address; -SGA_E_UNKNOWN_DEVICE if it is not registered. */
int store_device_set_addr(struct store *st, const uint8_t *id, uint8_t id_len,
                          const struct dp_addr *a);
/** The device's last address; all zero (port 0) if none was stored yet. */
int store_device_get_addr(struct store *st, const uint8_t *id, uint8_t id_len, struct dp_addr *a);

/** Allow-list entry of id; -SGA_E_UNKNOWN_DEVICE if id is not listed. */
int store_enroll_get(struct store *st, const uint8_t *id, uint8_t id_len, struct sga_gw_enroll *e);
int store_enroll_put(struct store *st, const uint8_t *id, uint8_t id_len,
                     const struct sga_gw_enroll *e);
int store_enroll_del(struct store *st, const uint8_t *id, uint8_t id_len);

/** The pending invitations of responder id (the sga:{dev:<id>}:inv set):
 *  add sid (and push the set's expiry to session_ttl_s from now), remove it,
 *  or list up to *n of them (*n in: capacity; out: how many were written;
 *  which ones, when the set holds more, is Redis' choice). */
int store_invite_add(struct store *st, const uint8_t *id, uint8_t id_len, uint64_t sid);
int store_invite_del(struct store *st, const uint8_t *id, uint8_t id_len, uint64_t sid);
int store_invite_list(struct store *st, const uint8_t *id, uint8_t id_len, uint64_t *ids,
                      unsigned *n);

int store_session_get(struct store *st, uint64_t sid, struct sga_gw_session *s);
/** Write the record; when s->state is ESTABLISHED also index it in sga:sessions. */
int store_session_put(struct store *st, const struct sga_gw_session *s);
int store_session_del(struct store *st, uint64_t sid);
/** Tests only: the floor of hop TX reservations (store.c: the wall clock in
 *  nanoseconds) from fn instead; NULL restores the clock. Process-wide. */
void store_tx_floor_set(uint64_t (*fn)(void));

/** Reserve `block` more hop sequence numbers towards role: returns the new
 *  limit L through *limit (the range is [L - block, L)). The range starts at
 *  or above the last one and at or above the wall clock in nanoseconds (the
 *  floor that orders hop-down epochs, PROTOCOL.md 9.3). */
int store_session_reserve(struct store *st, uint64_t sid, uint8_t role, uint64_t block,
                          uint64_t *limit);
/** Name this gateway (store_config.owner) the owner of session sid (an
 *  install from the store: restart, adoption). 0 (also without an owner
 *  configured: nothing to do), -SGA_E_UNKNOWN_SESSION, -SGA_E_UNAVAILABLE. */
int store_session_own(struct store *st, uint64_t sid);
/** The node name session sid's record names as its owner into out ("" if
 *  none, or no such session). 0, -SGA_E_UNAVAILABLE, -SGA_E_INTERNAL. */
int store_session_owner(struct store *st, uint64_t sid, char *out, size_t out_len);
/** [cluster]: this gateway's lease, sga:{node:<name>} = value for lease_ms
 *  (SET PX): renewed well before it lapses; while it is there the others
 *  forward this gateway's sessions' frames to it instead of adopting them. */
int store_node_lease(struct store *st, const char *name, const char *value, unsigned lease_ms);
/** Give node name's lease back (a clean stop), if value still holds it: 1
 *  deleted, 0 not there or another run's (left alone), -SGA_E_BAD_FIELD,
 *  -SGA_E_UNAVAILABLE. */
int store_node_release(struct store *st, const char *name, const char *value);
/** 1 if node name's lease is there, 0 if it lapsed, or -SGA_E_UNAVAILABLE. */
int store_node_alive(struct store *st, const char *name);
/** 1 if session sid names another gateway than this one as its owner; 0 if
 *  it names this one, none, or no owner is configured; or -SGA_E_UNAVAILABLE. */
int store_session_owned_elsewhere(struct store *st, uint64_t sid);
/** Persist replay marks and addresses. Marks only rise (a lower rx_next than
 *  stored is ignored); an address with port 0 (unknown) is not written. */
int store_session_set_marks(struct store *st, uint64_t sid, const uint64_t rx_next[2],
                            const struct dp_addr addr[2]);
/** One session's marks for store_session_set_marks_n. */
struct store_marks {
	uint64_t sid;
	uint64_t rx_next[2];
	struct dp_addr addr[2];
};
#define STORE_MARKS_BATCH 128
/** store_session_set_marks for n <= STORE_MARKS_BATCH sessions in one pipeline
 *  (one round trip): rc[i] is session i's result (0, -SGA_E_UNKNOWN_SESSION).
 *  Returns 0, or the failure of the whole pipeline (Redis unavailable, an
 *  error reply, n too large: -SGA_E_INTERNAL), rc[] then undefined. */
int store_session_set_marks_n(struct store *st, const struct store_marks *m, unsigned n, int *rc);
/** Marks and addresses (0 / all zero where none was stored). */
int store_session_get_marks(struct store *st, uint64_t sid, uint64_t rx_next[2],
                            struct dp_addr addr[2]);
/** What establishing one session writes (store_session_establish). */
struct store_estab {
	const struct sga_gw_session *s;     /* ESTABLISHED */
	const struct sga_gw_device *dev[2]; /* written too (HSET) unless NULL */
	struct dp_addr addr[2];             /* port 0: unknown, not written */
	uint64_t block;                     /* hop TX reservation per role */
	uint64_t rx_next[2];                /* in: marks to raise to; out: as stored */
	uint64_t limit[2];                  /* out: reservations [limit - block, limit) */
};
#define STORE_ESTAB_BATCH_MAX 1024u

/**
 * Establish n sessions (n <= STORE_ESTAB_BATCH_MAX) in one pipeline: per
 * session, one atomic script on its key writes the sealed record (no TTL),
 * reserves `block` hop sequence numbers per role, raises the marks and sets
 * the known addresses; then the restore index (SADD) and, where given, the
 * members' device records. The handshake's end (one session) and the lab
 * provisioning (many) both write through here. On failure nothing is
 * reported per item: the caller treats the whole batch as failed.
 */
int store_session_establish(struct store *st, struct store_estab *e, unsigned n);
/** Ids of established sessions (the restore index sga:sessions, read with
 *  SSCAN a page at a time), each once, in ascending order, into an array it
 *  allocates: on success *ids (free() it) holds the *n ids; on error *ids is
 *  NULL and *n 0 (-SGA_E_UNAVAILABLE, -SGA_E_INTERNAL when out of memory). */
int store_session_list_all(struct store *st, uint64_t **ids, unsigned *n);
/** store_session_list_all into the caller's array; *n in/out: capacity of ids
 *  in, number written out. If the set holds more, ids is filled, *n is set to
 *  the total and the call returns -SGA_E_NOSPACE. */
int store_session_list(struct store *st, uint64_t *ids, unsigned *n);

/** One change to a session's replicated held messages (sga:{sess:<sid>}:held,
 *  store_replica.h). */
enum store_held_kind {
	STORE_HELD_PUT = 1, /* HSET "<role>:<e2e_seq>" = rec */
	STORE_HELD_DEL = 2, /* HDEL "<role>:<e2e_seq>" */
	STORE_HELD_MARK = 3 /* raise "m<role>" to e2e_seq (never lowered) */
};
struct store_held_op {
	uint64_t sid;
	uint64_t e2e_seq;
	const uint8_t *rec; /* PUT: the record, rec_len bytes */
	size_t rec_len;
	uint8_t kind; /* enum store_held_kind */
	uint8_t role;
};
#define STORE_HELD_FIELD_MAX 24 /* "1:18446744073709551615" */

/** Apply n ops in pipelines of up to STORE_HELD_PIPE commands, in the op
 *  order: adjacent PUTs (or DELs) of one session are one HSET (HDEL) of
 *  several fields, a mark one script call. The connections written to are
 *  remembered for store_held_wait. *commands (may be NULL): the commands the
 *  ops took. 0, -SGA_E_UNAVAILABLE, -SGA_E_BAD_FIELD (sid 0, bad kind),
 *  -SGA_E_INTERNAL (an error reply). */
#define STORE_HELD_PIPE 64
int store_held_write(struct store *st, const struct store_held_op *ops, unsigned n,
                     unsigned *commands);
/** WAIT replicas timeout_ms on every connection store_held_write wrote to
 *  since the last successful wait (one server: its one connection; a
 *  cluster: each master written to). *acked: the fewest replicas one of
 *  them confirmed. 0 when each confirmed at least `replicas` (then the set
 *  is cleared; replicas 0: no WAIT), -SGA_E_NOSPACE when one confirmed fewer,
 *  -SGA_E_UNAVAILABLE. */
int store_held_wait(struct store *st, unsigned replicas, unsigned timeout_ms, unsigned *acked);
/** The held messages of session sid: fn(arg, role, e2e_seq, rec, rec_len)
 *  for every message field (HSCAN, any order), then the marks into
 *  mark[role] (0: none). fn returns 0 to go on. Fields that do not parse are
 *  skipped and counted in *bad (may be NULL). */
int store_held_load(struct store *st, uint64_t sid,
                    int (*fn)(void *arg, uint8_t role, uint64_t e2e_seq, const uint8_t *rec,
                              size_t rec_len),
                    void *arg, uint64_t mark[2], unsigned *bad);

/** Call fn(arg, key) for every Redis key matching the glob pattern match
 *  (SCAN: no blocking of the server, a key may be seen twice while keys
 *  change). fn returns 0 to go on; a nonzero return stops and is returned.
 *  For operator tools, not the gateway's paths. */
int store_scan(struct store *st, const char *match, int (*fn)(void *arg, const char *key),
               void *arg);

/*
 * What the functions above run Redis replies through, without a connection,
 * for the fuzzer (tests/fuzz/fuzz_store.c): the record plaintext codecs
 * (device 'D' and session 'S', store.c), the sealing of a record under the
 * key named `key`, the address field ("a.b.c.d:port/mac", "[v6]:port/mac",
 * either with "/tci=0xNNNN") and the decimal
 * counter fields. Each returns 0 or a negated SGA_E_* code (-1 for the two
 * field parsers), exactly as the store uses it.
 */
#define STORE_ADDR_STR_MAX 88
int store_rec_dev_decode(const uint8_t *p, size_t len, struct sga_gw_device *d);
int store_rec_dev_encode(const struct sga_gw_device *d, uint8_t *out, size_t cap, size_t *len);
int store_rec_sess_decode(const uint8_t *p, size_t len, struct sga_gw_session *s);
int store_rec_sess_encode(const struct sga_gw_session *s, uint8_t *out, size_t cap, size_t *len);
int store_rec_seal(const struct store *st, const char *key, const uint8_t *pt, size_t pt_len,
                   uint8_t *out, size_t cap, size_t *out_len);
int store_rec_open(const struct store *st, const char *key, const uint8_t *in, size_t in_len,
                   uint8_t *pt, size_t cap, size_t *pt_len);
int store_addr_parse(const char *s, size_t len, struct dp_addr *a);
void store_addr_format(const struct dp_addr *a, char out[STORE_ADDR_STR_MAX]);
int store_u64_parse(const char *s, size_t len, uint64_t *v);

#endif /* SGA_STORE_H */
