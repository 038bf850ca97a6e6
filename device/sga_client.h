/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_client.h - the SGA device SDK: one header, one opaque handle.
 *
 * A struct sga_client is one device talking to one SGA gateway over UDP/IPv4.
 * It drives the pure protocol functions of sga_device.h over a socket, keeps
 * the device's long-term state in a state file, and gives the application a
 * reliable, ordered message channel to one peer device at a time:
 *
 *   c = sga_client_open(&cfg, &err);        state file + gateway package
 *   sga_client_register(c, token);          once per identity (idempotent)
 *   sga_client_connect(c, "peer", NULL, 0); initiator: A1..A4, B1..B7
 *     or sga_client_accept(c, timeout);     responder: wait for an invitation
 *   sga_client_send(c, msg, len);           queued, retransmitted until the
 *                                           gateway acknowledges (DATA_ACK)
 *   sga_client_recv(c, buf, cap, &n, t);    peer's messages, in order, once
 *   sga_client_flush(c, timeout);           all sent messages acknowledged
 *   sga_client_close(c);                    wipes every secret
 *
 * Threads: a client is not thread-safe; use each client from one thread at a
 * time (different clients are independent). Nothing here installs signal
 * handlers or spawns threads. Every blocking call is bounded by its timeout
 * and works by calling poll(2) on the client's one socket; an application with
 * its own event loop can watch sga_client_fd() and call sga_client_poll(c, 0).
 *
 * Errors: functions return 0 or a negated code. Codes below SGA_E__COUNT are
 * protocol codes of sga_err.h (e.g. -SGA_E_UNKNOWN_DEVICE when the gateway
 * refused a negotiation because the peer is unknown); the SGA_CLIENT_E_* codes
 * below are the client's own (timeout, unreachable, I/O, configuration).
 * sga_client_strerror() describes either kind, sga_client_detail() says what
 * happened in the last failed call (e.g. whether a refusal was authenticated).
 */
#ifndef SGA_CLIENT_H
#define SGA_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SGA_CLIENT_MUST_CHECK __attribute__((warn_unused_result))

/** The client's own error codes (returned negated), disjoint from SGA_E_*. */
enum sga_client_err {
	SGA_CLIENT_E_TIMEOUT = 1000,     /* no (complete) answer from the gateway in time */
	SGA_CLIENT_E_UNREACHABLE = 1001, /* the kernel reports the gateway unreachable (ICMP) */
	SGA_CLIENT_E_IO = 1002,          /* socket or file system error (see sga_client_detail) */
	SGA_CLIENT_E_CONFIG = 1003,      /* invalid configuration or state file */
	SGA_CLIENT_E_NO_SESSION = 1004,  /* no established session for send/recv */
};

/** Configuration of sga_client_open. Zero means "default" for every number;
 *  only the fields marked required must be set. The client copies what it
 *  keeps, so the struct and its strings may be freed after the call. */
struct sga_client_config {
	/* Required: the gateway's address, IPv4 (dotted quad, "10.77.0.1") or
	 * IPv6 (RFC 4291 text without brackets, "fd00::1"; a link-local one may
	 * name its interface, "fe80::1%eth0"), and its UDP port. The client's
	 * socket is of that family. */
	const char *gateway_ip;
	uint16_t gateway_port;
	/* Local address and port to bind, of the gateway's family; NULL / 0: any
	 * address, an ephemeral port. */
	const char *bind_ip;
	uint16_t bind_port;
	/* Required: the device identity, 1..32 printable ASCII characters. */
	const char *id;
	/* The device's suites C_i in preference order; suite_init = suites[0].
	 * NULL/0: those of the state file, or all known suites for a new identity. */
	const uint8_t *suites;
	size_t n_suites;
	/* Required: the state file (created, mode 0600, if missing). */
	const char *state_path;
	/* The gateway package body as the gateway wrote it, and/or its SHA-256
	 * fingerprint (64 hex digits): with only the pin, the package is the one
	 * kept in the state file, or fetched with PKG_REQ. One is required. */
	const char *package_path;
	const char *pin_hex;
	/* Deadline of one blocking operation (default 10000 ms); also how long a
	 * message may stay unacknowledged before the session counts as broken. */
	unsigned timeout_ms;
	/* First retransmission timeout (default 500 ms); for messages only until
	 * round trips have been measured, then within [rto_min_ms, rto_max_ms]
	 * (defaults 100 and 4000 ms). Each expiry doubles it, up to rto_max_ms. */
	unsigned rto_ms;
	unsigned rto_min_ms;
	unsigned rto_max_ms;
	/* Retransmissions of a control frame before giving up (default 5). */
	unsigned max_retries;
	/* Unacknowledged messages in flight, 1..512 (default 64). */
	unsigned window;
	/* Received messages kept until the application reads them (default
	 * 8192); beyond that, DATA_DOWN frames are refused like a full buffer. */
	unsigned recv_queue;
	/* recv skips a missing message after this long (default 0: only once the
	 * E2E replay window makes it undeliverable). */
	unsigned gap_timeout_ms;
	/* Optional log, one line per call, never with secrets: level 0 says why a
	 * call failed (as sga_client_detail), 1 reports progress, 2 every frame. */
	void (*log)(void *arg, int level, const char *msg);
	void *log_arg; /* The profile (enum sga_group_id: 1 ffdhe2048, 3 x25519, ...) whose
	 * package a PKG_REQ asks for when only the pin is given; 0: the gateway's
	 * first profile. With a package (file or state file) the profile is the
	 * package's own, and a nonzero group must name it. */
	uint8_t group;
};

struct sga_client; /* opaque */

/**
 * Open a client: parse and check cfg, load the state file (or create a new
 * identity with a fresh k_d and write the state file at once, mode 0600), load
 * the package (package_path, else the copy kept in the state file, else fetch
 * it with PKG_REQ, which is the only network I/O here, bounded by timeout_ms)
 * and check it against the pin and against the package the state file was
 * registered with. Binds and connects a UDP socket to the gateway.
 * Returns the client, or NULL with errno set (EINVAL configuration, ENOENT
 * missing file, EBADMSG package or state file rejected, ETIMEDOUT,
 * ECONNREFUSED, ENOMEM, or the system's errno) and, if err is not NULL, *err
 * set to the negated code (e.g. -SGA_E_BAD_PACKAGE for a pin mismatch).
 */
struct sga_client *sga_client_open(const struct sga_client_config *cfg, int *err);

/** End the session, close the socket, wipe every secret and free c. Unacknowledged
 *  messages are dropped (call sga_client_flush first). NULL is a no-op. */
void sga_client_close(struct sga_client *c);

/**
 * Register the identity with the gateway (REG_REQ, retransmitted identically
 * with backoff until REG_ACK). token: the one-time enrollment token for an
 * allow-list gateway, or NULL. Calling it again once registered re-registers
 * with the same key, which the gateway re-acknowledges (without moving the
 * device's address: anyone may replay such a request, PROTOCOL.md 6.3). The
 * state file is written before the first frame is sent and after the ACK.
 * Returns 0, -SGA_CLIENT_E_TIMEOUT (also what a refusal looks like: the
 * gateway does not answer a registration it refuses, sga_client_detail says
 * so), -SGA_CLIENT_E_UNREACHABLE, or -SGA_E_UNAVAILABLE after that hint.
 */
int sga_client_register(struct sga_client *c, const char *token) SGA_CLIENT_MUST_CHECK;

/**
 * Initiator: open a session with peer_id (A1..A4 then B1..B7) and return once
 * it is established. prefs: E2E suites in preference order (NULL/0: the
 * device's own list). A NEG_REQ with no answer is retried as a new request
 * (new counter, new k_t; the state file is updated before each is sent); the
 * KEX_INIT is retransmitted as identical bytes. Any previous session is ended.
 * Returns 0; an authenticated refusal -SGA_E_UNKNOWN_DEVICE,
 * -SGA_E_NO_COMMON_SUITE, -SGA_E_DECLINED, -SGA_E_BAD_FIELD; -SGA_E_UNAVAILABLE
 * after that hint; -SGA_CLIENT_E_TIMEOUT (bounded by timeout_ms; the last ERROR
 * hint, if any, in sga_client_detail); -SGA_CLIENT_E_UNREACHABLE;
 * -SGA_E_BAD_STATE if not registered.
 */
int sga_client_connect(struct sga_client *c, const char *peer_id, const uint8_t *prefs,
                       size_t n_prefs) SGA_CLIENT_MUST_CHECK;

/**
 * Responder: wait up to timeout_ms (< 0: no limit) for an invitation from any
 * registered device, accept it (A3, retransmitted identically) and run B3..B7;
 * a newer invitation arriving meanwhile replaces the pending one. Unless the
 * gateway has taken a fresh authenticated frame from this client's socket
 * already, it first announces the socket (a NEG_REQ naming the device itself,
 * refused by an authenticated NEG_RESULT; PROTOCOL.md 6.3), so invitations
 * come here. Returns 0 once established (sga_client_peer()
 * names the peer), -SGA_CLIENT_E_TIMEOUT, -SGA_CLIENT_E_UNREACHABLE, an error.
 * Invitations arriving while no accept is running are declined.
 */
int sga_client_accept(struct sga_client *c, int timeout_ms) SGA_CLIENT_MUST_CHECK;

/**
 * The device moved: the client's socket is replaced by a new one on a new
 * local port (any address of the gateway's family), as after a change of
 * network or a NAT rebinding; the old one is closed. Keys, counters and the
 * session in progress are kept. The gateway still sends to the old address
 * until this socket sends a fresh authenticated frame: call sga_client_wake
 * next (with SGA_CLIENT_WAKE_STORED, what it sent meanwhile is delivered
 * again here). sga_client_fd changes. 0 or -SGA_CLIENT_E_IO (the old socket
 * is kept then).
 */
int sga_client_move(struct sga_client *c) SGA_CLIENT_MUST_CHECK;

/**
 * A device that moved or woke up (PROTOCOL.md 7.16): send a WAKE from this
 * client's socket and wait for its WAKE_ACK, re-sending a new WAKE (a new
 * counter, the state file written first) on silence. The gateway then sends
 * this device's invitations, DATA_DOWNs and stored messages to this socket.
 * flags: SGA_CLIENT_WAKE_INVITES | SGA_CLIENT_WAKE_STORED, or 0 to announce
 * the address only. A session in progress is kept: stored messages
 * arrive through sga_client_recv afterwards. invitations, stored (may be
 * NULL): the gateway's counts from the WAKE_ACK. Returns 0,
 * -SGA_CLIENT_E_TIMEOUT, -SGA_CLIENT_E_UNREACHABLE or an error.
 */
#define SGA_CLIENT_WAKE_INVITES 0x01 /* re-send the invitations waiting for this device */
#define SGA_CLIENT_WAKE_STORED  0x02 /* deliver the messages stored for it now */
int sga_client_wake(struct sga_client *c, uint8_t flags, unsigned *invitations,
                    unsigned *stored) SGA_CLIENT_MUST_CHECK;

/**
 * Queue one message (0..sga_client_max_message() bytes) to the peer. It is
 * sealed and sent at once, then re-sent (re-sealed with the same e2e_seq and a
 * fresh hop seq) until the gateway acknowledges it: after a timeout that
 * starts from the measured round trip and doubles each time, or at once when
 * three messages sent after it were acknowledged first. Blocks, driving I/O,
 * while `window` messages are unacknowledged, at most timeout_ms. Returns 0,
 * -SGA_CLIENT_E_NO_SESSION, -SGA_E_OVERSIZED, -SGA_CLIENT_E_TIMEOUT (window
 * still full), or the error that ended the session: a message still not
 * acknowledged timeout_ms after it was first sent (-SGA_CLIENT_E_TIMEOUT, or
 * -SGA_CLIENT_E_UNREACHABLE if the kernel reported the gateway unreachable).
 */
int sga_client_send(struct sga_client *c, const void *msg, size_t len) SGA_CLIENT_MUST_CHECK;

/** How many messages sga_client_send would take now without blocking: 0 when
 *  the window is full (or there is no session). An application that must keep
 *  reading while the gateway catches up calls sga_client_recv (or
 *  sga_client_poll) until this is non-zero, then sends. */
unsigned sga_client_send_room(const struct sga_client *c);

/**
 * Receive the peer's next message, in the peer's sending order and exactly
 * once: duplicates are dropped, messages that arrive early are held back until
 * the ones before them arrive. Messages that arrive while the application is
 * busy elsewhere (in sga_client_send, say) wait in a queue of recv_queue
 * messages. A message that can no longer arrive (see gap_timeout_ms) is
 * skipped and counted in sga_client_stats.lost. Waits up to
 * timeout_ms (0: do not wait; < 0: no limit). *len receives the length.
 * Returns 0, -SGA_CLIENT_E_TIMEOUT, -SGA_E_NOSPACE (cap too small; the message
 * stays queued and *len says how much room it needs), -SGA_CLIENT_E_NO_SESSION.
 */
int sga_client_recv(struct sga_client *c, void *buf, size_t cap, size_t *len,
                    int timeout_ms) SGA_CLIENT_MUST_CHECK;

/** Drive I/O and retransmission timers once, waiting up to timeout_ms for a
 *  frame or a due timer (0: only what is already there; < 0: up to a second).
 *  Invitations that come while no accept runs are declined here. Returns 0, or
 *  the error that ended the session. */
int sga_client_poll(struct sga_client *c, int timeout_ms) SGA_CLIENT_MUST_CHECK;

/**
 * End the current session (PROTOCOL.md 7.14): a SESSION_CLOSE to the gateway,
 * re-sent until its SESSION_CLOSED comes (at most timeout_ms; < 0: no limit).
 * The gateway then tells the peer, and releases what it stored for either
 * device and has not delivered. Messages not yet acknowledged are dropped
 * (call sga_client_flush first). The session is over when this returns,
 * whatever it returns: 0 (the gateway confirmed), -SGA_CLIENT_E_TIMEOUT (no
 * confirmation came: ended here only), -SGA_CLIENT_E_NO_SESSION.
 */
int sga_client_close_session(struct sga_client *c, int timeout_ms) SGA_CLIENT_MUST_CHECK;

/**
 * Whether the gateway closed the last session, and why: 0 if it did not, else
 * the reason of its authenticated SESSION_CLOSED: 1 a device closed it
 * (sga_client_close_session here or at the peer), 2 idle too long, 3 too old,
 * 4 the operator, 5 a device of it revoked. *delivered (may be NULL): every
 * message this device sent with a lower sequence number (1 = the first
 * application message) reached the peer; later ones G had not delivered when
 * it closed, and were released. Once the gateway closed the session,
 * sga_client_recv hands out what had arrived, then returns
 * -SGA_E_SESSION_CLOSED; sga_client_send returns it at once.
 */
int sga_client_session_closed(const struct sga_client *c, uint64_t *delivered);

/** Wait until every message sent has been acknowledged by the gateway
 *  (timeout_ms < 0: no limit). Returns 0 or -SGA_CLIENT_E_TIMEOUT / an error. */
int sga_client_flush(struct sga_client *c, int timeout_ms) SGA_CLIENT_MUST_CHECK;

/**
 * Replace this device's long-term key k_d (PROTOCOL.md 7.1, REG_REQ with
 * REKEY): a fresh key, proposed under RSA to the gateway and authorised by a
 * MAC under the current one. On success the state file holds the new key and
 * the control counters start again. Sessions already established keep their
 * keys. -SGA_E_BAD_STATE before a first registration;
 * -SGA_CLIENT_E_TIMEOUT when the gateway does not answer (it refuses a rekey
 * it cannot verify in silence). The proposed key is in the state file before
 * the request leaves: if the device stops before the gateway's answer, the
 * next call proposes the same key again and completes the replacement,
 * whether the gateway took it the first time or not.
 */
int sga_client_rekey_device(struct sga_client *c) SGA_CLIENT_MUST_CHECK;

/**
 * Renew the session's keys without dropping traffic (PROTOCOL.md 7.15): a
 * new key exchange through the gateway, which the peer's SDK answers by
 * itself. Messages keep flowing meanwhile; none is lost or delivered twice
 * across it. timeout_ms <= 0: start it and return 0 (it completes inside
 * later calls); > 0: wait until the new keys are confirmed by this device
 * (0), or -SGA_CLIENT_E_TIMEOUT (the session goes on under its old keys: the
 * peer may be away; the request stays pending, is sent again by a later call
 * or the policy, and completes whenever the peer answers). -SGA_CLIENT_E_NO_SESSION without an established session.
 * A rekey asked for while the previous one's overlap has not ended starts
 * as soon as it has.
 */
int sga_client_rekey(struct sga_client *c, int timeout_ms) SGA_CLIENT_MUST_CHECK;
/** Automatic rekey: after after_messages messages sent under the current
 *  keys, or after_seconds seconds of them, whichever comes first (0: that
 *  trigger off; both 0: off, the default). Either device's policy may start
 *  one; the other joins it. Always 0. */
int sga_client_set_rekey_policy(struct sga_client *c, uint64_t after_messages,
                                unsigned after_seconds);
/** The session's key generation (0: the handshake's keys; +1 per rekey). */
unsigned sga_client_key_generation(const struct sga_client *c);
/** Rekeys this client completed. */
unsigned sga_client_rekeys(const struct sga_client *c);

/** The socket, for an external event loop (readable: call sga_client_poll(c, 0));
 *  sga_client_next_timer_ms() says when timers are next due (-1: none). */
int sga_client_fd(const struct sga_client *c);
int sga_client_next_timer_ms(const struct sga_client *c);

/** Largest message of the current session (0 without one): 20 bytes less over
 *  IPv6 than over IPv4, so that every frame fits a 1500-byte MTU. */
size_t sga_client_max_message(const struct sga_client *c);

/** The peer of the current session ("" without one). */
const char *sga_client_peer(const struct sga_client *c);

/** Counters and state, for progress reports and tests. */
struct sga_client_stats {
	int registered;  /* the gateway acknowledged this identity */
	int established; /* a session is established */
	uint8_t suite;   /* its E2E suite (0 without one) */
	uint64_t up_ctr; /* control counters, as in the state file */
	uint64_t down_ctr;
	uint64_t sent;        /* messages queued by sga_client_send */
	uint64_t acked;       /* ... acknowledged by the gateway */
	uint64_t in_flight;   /* ... not yet acknowledged */
	uint64_t retransmits; /* frames sent again (control and data) */
	uint64_t received;    /* messages handed to the application */
	uint64_t duplicates;  /* duplicate frames dropped */
	uint64_t held_back;   /* messages that arrived ahead of a missing one */
	uint64_t lost;        /* messages skipped by recv (never arrived) */
	uint64_t dropped;     /* frames that failed a check or came at the wrong time */
	uint64_t hints;       /* ERROR hints received */
	uint64_t cookies;     /* cookie challenges answered (the gateway was under load) */
	char fingerprint[65]; /* the pinned package, hex */
};
void sga_client_stats(const struct sga_client *c, struct sga_client_stats *st);

/** Description of any code this API returns (negated or not). */
const char *sga_client_strerror(int rc);

/** What the last failed call of c ran into, in one line, e.g. "no device
 *  registered under this identity (UNKNOWN_DEVICE: the gateway's authenticated
 *  refusal, NEG_RESULT)" or "identity already registered; ... (EXISTS: ERROR
 *  hint from the gateway, unauthenticated)"; "" if nothing failed yet. */
const char *sga_client_detail(const struct sga_client *c);

/** SHA-256 fingerprint of a package body file as 64 lowercase hex digits. The
 *  file must hold a well-formed package. 0, -SGA_E_BAD_PACKAGE (malformed) or
 *  -SGA_CLIENT_E_IO (errno tells why). */
int sga_client_package_fingerprint(const char *path, char hex[65]) SGA_CLIENT_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif /* SGA_CLIENT_H */
