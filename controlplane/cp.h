/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cp.h - the SGA control plane: a pool of pthreads that runs the gateway's
 * protocol handlers for the control frames the data plane queues, with device
 * and session state in Redis, and installs established sessions into the data
 * plane's table.
 *
 * Each worker owns one control ring (the data plane routes a device's frames, or
 * a session's, to the same worker, so one device's handshakes are serialised)
 * and one hiredis connection. A worker runs each frame's handler as an OpenSSL
 * ASYNC job, so while one frame waits for the accelerator (an asynchronous
 * RSA engine, the cryptodev modexp service) the worker handles others; frames
 * of one device or one session still run one after the other. Replies go back
 * through dp_ctrl_send. If Redis is unreachable, a handshake frame gets an
 * ERROR(UNAVAILABLE) reply and the worker reconnects with exponential backoff;
 * relaying of installed sessions is not affected. A housekeeping thread
 * reserves hop sequence ranges for the data plane and persists per-session
 * replay marks and addresses once a second.
 */
#ifndef SGA_CP_H
#define SGA_CP_H

#include <sched.h>
#include <stdint.h>

#include "cp_lab.h"
#include "dp.h"
#include "sga_gateway.h"
#include "store.h"

struct cp; /* opaque */

/* When bare REG_REQ / NEG_REQ / KEX_INIT frames are answered with a cookie
 * challenge (sga_cookie.h) instead of being handled. */
enum cp_cookie_mode {
	CP_COOKIE_AUTO = 0, /* under load: a worker's backlog reached cookie_threshold */
	CP_COOKIE_ALWAYS,   /* every such frame (tests, or a gateway known to be attacked) */
	CP_COOKIE_OFF,      /* never */
};

struct cp_config {
	unsigned n_workers;        /* = dp_config.n_workers */
	struct store_config store; /* Redis endpoint and master key */
	unsigned backoff_max_ms;   /* reconnect backoff cap (used when store.backoff_max_ms is 0) */
	unsigned persist_interval_ms; /* replay marks / addresses persistence period; 0 = 1000 */
	/* A pass writes a session's replay marks when one moved mark_step frames
	 * (0 or 1: every move) or its address moved; a smaller move waits, at
	 * most mark_max_age_ms (0: 10 persist intervals). */
	unsigned mark_step;
	unsigned mark_max_age_ms;
	uint64_t tx_seq_block; /* = dp_config.tx_seq_block; 0 = 1 << 20 */
	unsigned async_jobs;   /* frames in flight per worker (ASYNC jobs); 0 = 8, <= 256 */
	/* CPUs the worker and housekeeping threads run on; NULL or empty: the
	 * creating thread's. Threads made after rte_eal_init() inherit the main
	 * lcore's single CPU, so without this every worker shares one core. */
	const cpu_set_t *cpus;
	enum cp_cookie_mode cookie_mode;
	unsigned cookie_threshold; /* frames in one worker's ring + pending; 0 = 32 */
	/* [sessions] idle_s / max_life_s: the housekeeping thread closes a
	 * session with no fresh authentic up frame for session_idle_s, or older
	 * than session_max_life_s (PROTOCOL.md 7.14); 0 = never. */
	unsigned session_idle_s, session_max_life_s;
	/* [sessions] adopt: install a session that another gateway set up when
	 * a frame of it arrives here (cp_handler.h, adopt; PROTOCOL.md 9.5). */
	int adopt_sessions;
	/* [store] replicate = redis: an adoption also hands the session's
	 * replicated messages (store_replica.h) to the data plane. */
	int replicate_store;
	/* [cluster] (PROTOCOL.md 9.6): the cluster's gateways (NULL: none; this
	 * one is nodes->self, named store.owner) and its lease in Redis: renewed
	 * every lease_ms / 3 by a thread of its own, the others' read as often. */
	const struct dp_nodes *nodes;
	unsigned lease_ms;
};

/** Start the workers and the housekeeping thread. gw and dp must outlive the
 *  control plane. The master key is copied into each connection's locked
 *  memory: the caller may wipe cfg once this returns. NULL + errno on failure
 *  (EINVAL: n_workers 0; ENOMEM; or pthread_create's error). Redis need not be
 *  up: every connection is made lazily. */
struct cp *cp_start(const struct cp_config *cfg, const struct sga_gw *gw, struct dp *dp);

/** Install every established session found in Redis into the data plane (on a
 *  restart), each with a fresh hop TX range per direction and the persisted
 *  replay marks and addresses. Returns the number installed, or a negative
 *  errno: -EAGAIN (Redis down), -EACCES (Redis refused the credentials of
 *  [redis] user / password_file), -EIO (anything else). Any thread. */
int cp_restore_sessions(struct cp *cp);

/** LAB ONLY: provision the sessions of a lab file (cp_lab_provision) and
 *  install them; cp_restore_sessions then skips them. 0, or -EAGAIN (Redis
 *  down: call again), -EINVAL (the file does not fit this gateway), -EIO. rep
 *  says how far it got. Any thread. */
int cp_lab_run(struct cp *cp, const struct sga_lab_params *p, struct cp_lab_report *rep);

/** [sessions] idle_s / max_life_s from now on (a reload); 0 = never. Any thread. */
void cp_set_expiry(struct cp *cp, unsigned idle_s, unsigned max_life_s);
/** The operator closes session_id (SESSION_CLOSED "operator" to both members;
 *  cp_lifecycle.h). 0, -ENOENT (no such session), -EAGAIN (Redis down), -EIO,
 *  -EXDEV: [cluster], another gateway that holds its lease owns the session
 *  (its name into owner, owner_len bytes; may be NULL): closed here, it would
 *  go on there until the owner's next replay-mark write is refused. Any
 *  thread. */
int cp_close(struct cp *cp, uint64_t session_id, char *owner, size_t owner_len);
/** What the data plane shows of one session (age, idle time, traffic): 0 or
 *  -ENOENT. Any thread. */
int cp_session_view(struct cp *cp, uint64_t session_id, struct dp_session_view *v);
/** The operator revokes device id: its sessions are closed ("revoked") and its
 *  identity refused until re-enrolled. The number of sessions closed, or
 *  -ENOENT (not registered), -EAGAIN (Redis down), -EINVAL, -EIO. Any thread. */
int cp_revoke(struct cp *cp, const uint8_t *id, uint8_t id_len);

/** Stop and join all threads, persist the final marks, close connections. */
void cp_stop(struct cp *cp);

struct cp_stats {
	uint64_t handled;        /* control frames processed */
	uint64_t rejected;       /* handler returned an error */
	uint64_t unavailable;    /* refused because Redis was down */
	uint64_t sessions;       /* sessions established */
	uint64_t registered;     /* devices registered */
	uint64_t reconnects;     /* Redis reconnections */
	uint64_t undelivered;    /* replies lost: recipient address unknown or TX full */
	uint64_t restored;       /* sessions installed by cp_restore_sessions */
	uint64_t rekeys;         /* session rekeys completed */
	uint64_t reservations;   /* hop TX ranges reserved for the data plane */
	uint64_t persisted;      /* session marks written to Redis */
	uint64_t mark_passes;    /* housekeeping persist passes */
	uint64_t marks_deferred; /* per pass, the sessions whose moved marks waited (mark_step) */
	uint64_t lab_sessions;   /* LAB ONLY: sessions installed by cp_lab_run */
	uint64_t cookie_sent;    /* COOKIE_REPLY frames sent (frames not handled: under load) */
	uint64_t cookie_valid;   /* COOKIE_ECHO frames whose cookie verified */
	uint64_t cookie_invalid; /* COOKIE_ECHO frames malformed or with a wrong/stale cookie */
	uint64_t forwarded;      /* frames handed to the worker their key names */
	uint64_t load_events;    /* times the control plane went under load */
	uint64_t under_load;     /* 1 while bare handshake frames get a cookie */
	uint64_t closed;         /* sessions closed, any reason */
	uint64_t revoked;        /* devices revoked */
	uint64_t expired_idle;   /* of the closed: idle for [sessions] idle_s */
	uint64_t expired_life;   /* of the closed: older than [sessions] max_life_s */
	uint64_t adopted;        /* sessions adopted on a frame of theirs ([sessions] adopt) */
	uint64_t adopt_refused;  /* frames that asked for an adoption and got none */
	uint64_t owner_lost;     /* sessions let go: another gateway adopted them */
	uint64_t backlog_msgs;   /* replicated messages adoptions handed to the data plane */
	uint64_t backlog_failed; /* adoptions whose replicated messages could not be read */
	uint64_t to_owner;       /* [cluster]: sessions whose frames this gateway forwards */
	uint64_t misrouted;      /* [cluster]: a peer's frames of sessions another gateway owns */
	uint64_t lease_lost;     /* [cluster]: renewals of this gateway's lease that failed */
	uint64_t peers_down;     /* [cluster]: times a peer's lease was found lapsed */
	uint64_t redis_moved;    /* Redis Cluster MOVED redirections followed */
	uint64_t redis_asked;    /* Redis Cluster ASK redirections followed */
	uint64_t redis_primary_changes; /* Sentinel: failovers seen (the most any
	                                 * of the gateway's connections saw) */
};
void cp_get_stats(const struct cp *cp, struct cp_stats *out);

#endif /* SGA_CP_H */
