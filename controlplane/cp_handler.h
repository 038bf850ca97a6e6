/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cp_handler.h - one control frame's handling, and session restore, without
 * DPDK: the part of the control plane that drives the gateway protocol state
 * machine (sga_gateway.h) against the Redis store (store.h).
 *
 * The caller supplies the frame, its sender's address and a store, plus two
 * callbacks: `send` (a frame to an address; dp_ctrl_send in the gateway, a
 * capture buffer in tests) and `install` (an established session into the data
 * plane; dp_session_install behind a mutex in the gateway). cp.c runs this from
 * worker threads; the unit tests run it directly, so the whole handshake is
 * tested against a real Redis without EAL.
 *
 * Reply policy. Frames that fail authentication are dropped silently (an
 * answer would let anyone reflect traffic off the gateway); so are malformed
 * frames. For a few refusals that only cost the device a retry to diagnose
 * (unknown device or session, identity exists, enrollment denied, bad state,
 * replay, store unavailable) the sender gets an ERROR hint, never larger than
 * the frame that caused it.
 */
#ifndef SGA_CP_HANDLER_H
#define SGA_CP_HANDLER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "dp.h"
#include "sga_gateway.h"
#include "store.h"

#define CP_TX_BLOCK_DEFAULT (1ull << 20) /* hop sequence numbers per reservation */

/** Send frame to dst. 0 or a negative errno (the frame is then lost). */
struct cp_send {
	int (*fn)(void *ctx, const struct dp_addr *dst, const uint8_t *frame, size_t len);
	void *ctx;
};

/** Install an established session (arguments as dp_session_install). Calls
 *  are made from any handler thread; the callee serialises them. */
struct cp_install {
	int (*fn)(void *ctx, const struct sga_gw_session *s, const struct dp_addr addr[2],
	          const uint64_t tx_seq[2], const uint64_t tx_limit[2], const uint64_t rx_next[2]);
	void *ctx;
};

/** Remove a session from the data plane (dp_session_remove behind the
 *  install mutex in the gateway): 0 with its last figures in *final, or
 *  -ENOENT. Optional: without it a close only clears Redis. */
struct cp_remove {
	int (*fn)(void *ctx, uint64_t session_id, struct dp_session_view *final);
	void *ctx;
};

/** Whether a session is installed already (optional): restore skips those. */
struct cp_installed {
	int (*fn)(void *ctx, uint64_t session_id);
	void *ctx;
};

/** Event counters shared by all handler threads (relaxed atomics). */
struct cp_counters {
	_Atomic uint64_t handled;     /* control frames processed */
	_Atomic uint64_t rejected;    /* handler refused the frame (not counting unavailable) */
	_Atomic uint64_t unavailable; /* refused because Redis was down */
	_Atomic uint64_t sessions;    /* sessions established and installed */
	_Atomic uint64_t registered;  /* devices registered (first time or rekey) */
	_Atomic uint64_t undelivered; /* replies lost: recipient address unknown or send failed */
	_Atomic uint64_t restored;    /* sessions installed by cp_core_restore */
	_Atomic uint64_t closed;      /* sessions closed (cp_lifecycle.h), any reason */
	_Atomic uint64_t revoked;     /* devices revoked */
	_Atomic uint64_t rekeys;      /* session rekeys completed (PROTOCOL.md 7.15) */
	_Atomic uint64_t adopted;     /* sessions adopted on a frame of theirs (PROTOCOL.md 9.5) */
	_Atomic uint64_t adopt_refused;  /* frames that asked for an adoption and got none */
	_Atomic uint64_t backlog_msgs;   /* replicated messages handed over by adoptions */
	_Atomic uint64_t backlog_failed; /* adoptions whose replicated backlog could not be read */
	_Atomic uint64_t to_owner;       /* [cluster]: sessions whose frames go to their owner */
	_Atomic uint64_t misrouted;      /* [cluster]: a peer's frame of a session another owns */
};

/** [cluster] (PROTOCOL.md 9.6; optional): a frame of a session another live
 *  gateway owns goes to it rather than being adopted. */
struct cp_cluster {
	const struct dp_nodes *nodes; /* NULL: no cluster */
	/* 1 if node (1-based) holds its lease now */
	int (*alive)(void *ctx, unsigned node);
	/* from now on frames of sid go to node; this one, from src, too: 0,
	 * 1 if they went there already (a frame queued before), or < 0 */
	int (*forward)(void *ctx, uint64_t sid, unsigned node, const struct dp_addr *src,
	               const uint8_t *frame, size_t len);
	void *ctx;
};

/** A device announced a new address with a fresh WAKE (PROTOCOL.md 7.16;
 *  optional): move the session address of each established session of it to
 *  addr, and, with SGA_WAKE_WANT_STORED in flags, start redelivering what the
 *  store holds for it. Returns the number of its sessions with stored messages
 *  (for the WAKE_ACK), or a negative errno (counted 0). */
struct cp_wake {
	int (*fn)(void *ctx, const uint8_t *id, uint8_t id_len, const struct dp_addr *addr,
	          uint8_t flags);
	void *ctx;
};

struct cp_handler {
	const struct sga_gw *gw;
	struct cp_send send;
	struct cp_install install;
	struct cp_installed installed; /* optional */
	struct cp_remove remove;       /* optional */
	struct cp_wake wake;           /* optional: data-plane side of a WAKE */
	/* Optional: adoption ([sessions] adopt, PROTOCOL.md 9.5): a DATA_UP or
	 * DATA_DELIVERED of a session not installed here, handed over by the
	 * data plane, installs it from st if the frame authenticates under its
	 * keys and is fresh; fn says whether the session is installed now (a
	 * second frame of it may have come through meanwhile). NULL: off. */
	struct cp_installed adopt;
	/* Optional ([store] replicate = redis): once a session is adopted, hand
	 * the messages other gateways stored for it (store_replica.h) to the
	 * data plane; fn returns how many, or a negated SGA_E_* code. */
	struct cp_backlog {
		int (*fn)(void *ctx, struct store *st, uint64_t session_id);
		void *ctx;
	} backlog;
	struct cp_cluster cluster;
	uint64_t tx_block;       /* hop TX reservation size; 0 = CP_TX_BLOCK_DEFAULT */
	struct cp_counters *ctr; /* optional */
};

/**
 * Handle one control frame from src: parse, load the records it needs from st,
 * run the protocol step, persist what changed, then send the replies (to src
 * for the sender; to the stored address for the other session member). When a
 * session becomes ESTABLISHED, its hop TX ranges are reserved and it is stored,
 * indexed and installed before the KEX_REPLY frames leave, so the data plane
 * knows the session before either device can use it.
 *
 * Returns 0 when the frame was handled, else the negated SGA_E_* reason it was
 * refused (-SGA_E_UNAVAILABLE: the store could not be reached; the sender got
 * an ERROR(UNAVAILABLE)). With CP_F_MAY_DEFER, CP_DEFERRED: the frame came too
 * early (a KEX_INIT whose session is still INVITED: the NEG_ACCEPT sent just
 * before it is being handled elsewhere); nothing was done or sent, call again
 * shortly (without the flag at the last try). Bounded work: at most one RSA decryption, a few
 * modular exponentiations and about ten Redis round trips (each bounded by the
 * store's timeout). Thread-safe for distinct st.
 */
#define CP_F_MAY_DEFER 1u /* flags: the caller can call again later (CP_DEFERRED) */
#define CP_DEFERRED    1  /* positive: not an SGA_E_* code */

int cp_handle_frame(const struct cp_handler *h, struct store *st, const uint8_t *frame, size_t len,
                    const struct dp_addr *src, unsigned flags) SGA_MUST_CHECK;

/**
 * Store, index and install n ESTABLISHED sessions (the end of a handshake: n =
 * 1; lab provisioning: a batch of n <= STORE_ESTAB_BATCH_MAX): one
 * store_session_establish pipeline (record, hop TX reservation per role of
 * h->tx_block, marks, addresses, restore index, device records where given),
 * then each session is installed with its reserved ranges and the marks as
 * stored. A session the data plane refuses is deleted again (logged). Returns
 * the number installed, or a negated SGA_E_* code if the store failed (then
 * none was installed). e[].block is set here.
 */
int cp_sessions_commit(const struct cp_handler *h, struct store *st, struct store_estab *e,
                       unsigned n) SGA_MUST_CHECK;

/**
 * Restore after a restart: install every established session listed in st
 * (sga:sessions) with a fresh hop TX range per role (reserved above anything
 * handed out before, so no hop nonce repeats), rx_next from the persisted
 * marks, and the persisted addresses. Stale index entries (the record is gone)
 * are removed; records that fail to unseal are skipped and logged; sessions
 * h->installed reports installed are left alone. Returns the
 * number installed, or a negated SGA_E_* code if the store failed
 * (-SGA_E_UNAVAILABLE).
 */
int cp_core_restore(const struct cp_handler *h, struct store *st) SGA_MUST_CHECK;

#endif /* SGA_CP_HANDLER_H */
