/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_client_priv.h - the definition of struct sga_client and what the SDK's
 * files share: the state file and package module (sga_client_state.c) and the
 * client proper (sga_client.c). Not installed; applications see sga_client.h.
 */
#ifndef SGA_CLIENT_PRIV_H
#define SGA_CLIENT_PRIV_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "sga_client.h"
#include "sga_cookie.h"
#include "sga_close.h"
#include "sga_core.h"
#include "sga_device.h"
#include "sga_hex.h"

#define SGA_CLIENT_PKG_MAX    (SGA_FRAME_MAX - SGA_HDR_LEN) /* a package body fits one PKG frame */
#define SGA_CLIENT_WINDOW_MAX 512
#define SGA_CLIENT_RX_RING    1024      /* first receive ring: the replay window's size */
#define SGA_CLIENT_RX_MAX     (1 << 20) /* largest recv_queue */
#define SGA_CLIENT_STASH      1024      /* DATA_DOWN frames kept until the keys are confirmed */

/* ---- the state file (sga_client_state.c) ----------------------------------- */

/* What the state file keeps: the device's long-term state, as the device
 * core persists it (identity, k_d, suites, registration, counters, and a k_d
 * replacement's proposed key), and the package it belongs to. */
struct sga_client_state {
	struct sga_core_persist persist;
	uint8_t pkg_fp[SGA_SHA256_LEN]; /* the package this identity belongs to */
	size_t pkg_len;
	uint8_t pkg[SGA_CLIENT_PKG_MAX]; /* its body, so later runs need no PKG_REQ */
};

/** Read and check a state file. 0; -ENOENT if it does not exist; -EBADMSG
 *  (malformed, wrong version, bad checksum); another negated errno. */
int sga_state_load(const char *path, struct sga_client_state *st);
/** Write st atomically: temp file in the same directory (mode 0600), fsync,
 *  rename over path, fsync the directory. 0 or a negated errno. */
int sga_state_save(const char *path, const struct sga_client_state *st);

/** Read a package body file (at most SGA_CLIENT_PKG_MAX bytes). 0, -EBADMSG
 *  (too large) or a negated errno. */
int sga_pkg_file_read(const char *path, uint8_t *body, size_t cap, size_t *len);
/** SHA-256 of a package body. */
int sga_pkg_fingerprint(const uint8_t *body, size_t len, uint8_t fp[SGA_SHA256_LEN]);

/* ---- the client ---------------------------------------------------------- */

enum client_op {
	OP_NONE = 0,
	OP_PKG,         /* PKG_REQ sent, waiting for PKG */
	OP_REG,         /* waiting for the core's registration or k_d rekey (its REG_ACK) */
	OP_NEG,         /* initiator: NEG_REQ sent, waiting for NEG_RESULT */
	OP_KEX,         /* initiator: KEX_INIT sent, waiting for KEX_REPLY */
	OP_WAIT_INVITE, /* responder: waiting for NEG_INVITE */
	OP_ACCEPT,      /* responder: NEG_ACCEPT + KEX_INIT sent, waiting for KEX_REPLY */
	OP_ANNOUNCE,    /* a NEG_REQ naming ourselves sent, waiting for its refusal */
	OP_WAKE,        /* a WAKE sent, waiting for its WAKE_ACK (PROTOCOL.md 7.16) */
};

/* The one control exchange in progress: its frames (re-sent as they are, except
 * OP_NEG and OP_ANNOUNCE, which build a new request each time), timer and outcome. */
struct client_op_state {
	enum client_op kind;
	unsigned n_frames;
	size_t len[2];
	uint8_t frame[2][SGA_FRAME_MAX];
	struct sga_core_xt xt; /* its re-send timer (ms, monotonic), tries, cookie echoes */
	int done;
	int result;
	int hint; /* last transient ERROR hint code seen during the exchange */
	/* The gateway under load answered frame[i] with a cookie (COOKIE_REPLY):
	 * frame[i] goes inside a COOKIE_ECHO carrying it from then on. */
	uint8_t has_cookie[2];
	uint8_t cookie[2][SGA_COOKIE_LEN];
	/* OP_NEG: what to ask for again */
	uint8_t peer_len;
	uint8_t peer[SGA_ID_MAX];
	uint8_t n_prefs;
	uint8_t prefs[SGA_MAX_SUITES];
};

/* A received message waiting for the application; slot = e2e_seq % rx_cap. */
struct rx_slot {
	uint8_t *msg; /* malloc'd, NULL: empty */
	size_t len;
	int not_app; /* the peer's rekey confirmation: takes its place, never delivered */
};

/* Session rekey (sga_client_rekey.c). */
struct client_rekey {
	int active;      /* REKEY_INIT sent, no REKEY_REPLY yet */
	int want;        /* due (policy, app or a notice), waiting for the overlap to end */
	int confirm_due; /* new keys taken: our confirmation waits for window room */
	int result;      /* the last attempt's: 0 or an error */
	/* The REKEY_INIT's re-send timer (ms, monotonic; next_ms 0: none) and its
	 * timed transmissions; a REKEY_INIT sent at once (a notice, a frame
	 * under the new keys) neither counts nor moves it. */
	struct sga_core_xt xt;
	uint64_t started_ms; /* when the attempt began */
	uint64_t last_notice_ms;
	uint64_t after_msgs; /* policy: after this many messages sent (0: off) */
	unsigned after_s;    /* policy: after this many seconds (0: off) */
	uint64_t since_msgs; /* messages sent under the current generation */
	uint64_t since_ms;   /* when the current generation (or policy) began */
	unsigned done;       /* rekeys completed */
	unsigned started;    /* ... of which this device sent the first REKEY_INIT */
};

struct sga_client {
	int fd;
	struct sockaddr_storage gw_addr; /* IPv4 or IPv6 (sga_client_config.gateway_ip) */
	socklen_t gw_addr_len;
	char *state_path;
	struct sga_client_state st; /* what the state file holds */
	/* The device core (host build): the device, its session and its send
	 * window (sga_core_win_* over window slots of ours) are its; the state
	 * file is written through its io.save. */
	struct sga_core core;
	int core_ready;
	int save_rc; /* what the last io.save gave the core (0, or an SGA_CLIENT_E_*) */
	struct sga_core_tx *slots; /* the core's send window's slots (window of them) */

	unsigned timeout_ms, rto_ms, rto_min_ms, rto_max_ms, max_retries, window, gap_timeout_ms;
	uint8_t group; /* cfg->group: the profile a PKG_REQ asks for (0: the first) */
	void (*log)(void *arg, int level, const char *msg);
	void *log_arg;

	struct client_op_state op;
	int announced; /* G took a fresh authenticated frame from this socket: it invites us here */
	unsigned wake_invitations, wake_stored; /* the last WAKE_ACK's counts (7.16) */
	int unreach;  /* errno of an unreachable gateway (ECONNREFUSED...) since the last frame */
	int sess_err; /* the error that ended the session (0: none) */
	/* The gateway's SESSION_CLOSED for the last session (PROTOCOL.md 7.14):
	 * its reason (enum sga_close_reason, 0: none came) and account. */
	uint8_t closed_reason;
	uint64_t closed_delivered;
	int sys_errno;   /* errno behind the last -SGA_CLIENT_E_IO */
	int accepting;   /* inside sga_client_accept (its announcement included) */
	int inv_pending; /* inv holds an invitation that came during that announcement */

	struct sga_dev_sess inv; /* scratch for NEG_INVITE */
	char peer[SGA_ID_MAX + 1];

	/* DATA_DOWN frames that came before our KEX_REPLY (the peer was faster),
	 * or before the peer's key confirmation (they overtook it). */
	unsigned n_stash;
	size_t stash_len[SGA_CLIENT_STASH];
	uint8_t *stash[SGA_CLIENT_STASH];
	int stash_replaying, stash_again; /* stash_replay running; run it once more */

	/* Receiving: rx_next is the next e2e_seq the application gets; the ring
	 * (rx_cap slots, a power of two) grows up to rx_max. */
	struct rx_slot *rx;
	unsigned rx_cap, rx_max;
	unsigned rx_full_logged;
	uint64_t rx_next;
	uint64_t rx_hole;    /* first e2e_seq not received yet */
	uint64_t rx_skip_to; /* what is missing below this expired in the gateway (DATA_SKIP) */
	uint64_t dlv_sent;   /* next_e2e_seq last reported in DATA_DELIVERED */
	uint64_t dlv_since;  /* when the oldest unreported message arrived (ms), 0: none */
	int dlv_force;       /* report at once (the gateway re-sent something we hold) */
	unsigned dlv_ooo;    /* arrivals past a hole since it last moved (DLV_OOO_REPEAT) */
	unsigned rx_count;
	uint64_t hole_since;

	uint64_t op_deadline;   /* ms, monotonic; 0: none */
	unsigned op_timeout_ms; /* what op_deadline was set from, for messages */

	struct client_rekey rk;

	struct sga_client_stats stats;
	char detail[256];
	uint8_t rxbuf[SGA_FRAME_MAX]; /* the frame being dispatched */
	uint8_t txbuf[SGA_FRAME_MAX]; /* DATA_UP and NEG_ACCEPT(decline) being sent */
	uint8_t msg[SGA_FRAME_MAX];   /* an opened message */
};

/* ---- what sga_client.c shares with sga_client_rekey.c ----------------------- */

int client_priv_tx(struct sga_client *c, const uint8_t *f, size_t n);
void client_priv_log(struct sga_client *c, int level, const char *line);
int client_priv_save_state(struct sga_client *c);
uint64_t client_priv_now_ms(void);
uint64_t client_priv_now_us(void);
void client_priv_pump(struct sga_client *c, uint64_t until);
void client_priv_stash(struct sga_client *c, const uint8_t *f, size_t n);
void client_priv_stash_replay(struct sga_client *c);
/** A DATA_DOWN that did not open while our rekey waits for its REKEY_REPLY:
 *  most likely sealed under the new keys (the gateway and the peer have
 *  them; our reply was lost). Kept for after the reply, which is asked for
 *  again at once. 1 if kept. */
int client_rekey_early(struct sga_client *c, const uint8_t *f, size_t n);

void client_on_rekey_notice(struct sga_client *c, const uint8_t *f, size_t n);
void client_on_rekey_reply(struct sga_client *c, const uint8_t *f, size_t n);
/** The rekey's timers, the policy and the end of an overlap; from pump. */
void client_rekey_timers(struct sga_client *c, uint64_t now);
/** The earlier of t (0: none) and the rekey's next due time. */
uint64_t client_rekey_next_timer(const struct sga_client *c, uint64_t t);
/** Our confirmation of new keys waits for window room: send it when there is. */
int client_rekey_confirm_due(const struct sga_client *c);
int client_rekey_send_confirm(struct sga_client *c);
/** A session ended: forget its rekey (the policy stays). */
void client_rekey_reset(struct sga_client *c);

#endif /* SGA_CLIENT_PRIV_H */
