/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_client.c - the device SDK: the protocol functions of sga_device.h driven
 * over one connected UDP socket, with retransmission, ordering and a state file.
 *
 * Everything runs on the caller's thread. Each blocking call loops over pump():
 * poll(2) the socket until a frame comes or the next timer is due, dispatch
 * every frame received, fire due timers. Two kinds of timers exist:
 *  - the control exchange in progress (struct client_op_state): its frames are
 *    re-sent with exponential backoff up to max_retries (docs/PROTOCOL.md 9.4:
 *    REG_REQ and KEX_INIT as identical bytes, NEG_REQ as a new request with a
 *    new counter and k_t; NEG_ACCEPT as identical bytes, which G either accepts
 *    or drops as a replay). A registration and a k_d rekey run on the device
 *    core's own exchange (struct sga_core, whose device, session and window
 *    are this client's): the core builds, re-sends (sga_core_poll_ctl) and
 *    takes the REG_ACK, and reports the end through io_event; the client
 *    waits for it under its own deadline, as for its other exchanges;
 *  - one per unacknowledged message: re-sealed with sga_dev_data_reseal (same
 *    e2e_seq, fresh hop seq) until DATA_ACK. The first timeout comes from the
 *    measured round trip (RFC 6298, Karn's rule) and doubles on each expiry; a
 *    message is also re-sent at once when three messages sent after it were
 *    acknowledged first (the gateway acknowledges each message on its own, so
 *    that means a loss, as TCP's fast retransmit infers). A message still
 *    unacknowledged timeout_ms after it was first sent ends the session: a
 *    gateway restart within that time costs nothing but re-sends. The window
 *    itself (slots, timers, estimator, fast re-send, re-seal) is the device
 *    core's (sga_core_win_*, device/core/sga_core.h), over slots of ours.
 * Received messages go into a ring indexed by e2e_seq and leave it in order;
 * the protocol's E2E replay window already refuses duplicates, so the ring only
 * has to hold back early arrivals and, when a missing message can no longer
 * arrive (older than the window), skip it.
 *
 * ERROR frames are unauthenticated hints (PROTOCOL.md 7.12): they never change
 * keys, counters or sessions here, and never end an exchange (anyone can forge
 * one); the last one only shapes the error reported when the exchange gives up.
 * G answers a refused registration with silence (PROTOCOL.md 13), so a
 * registration that times out says what that silence may mean.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sga_client_priv.h"
#include "sga_rekey.h"

#define DEF_TIMEOUT_MS 10000
#define DEF_RTO_MS     500
#define DEF_RTO_MAX_MS 4000
#define DEF_RETRIES    5
#define DEF_WINDOW     64
#define DEF_RECV_QUEUE 8192
#define RCVBUF_BYTES   (1 << 20)
#define DLV_OOO_REPEAT 8 /* arrivals past a hole before the report is repeated */
#define DEF_RTO_MIN_MS 100
#define DRAIN_MAX      256 /* frames handled per wake-up, so timers still run */
#define SGA_IPV6_EXTRA 20  /* IPv6 header (40) - IPv4 header (20) */

static const uint8_t default_suites[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_AES256_GCM,
                                         SGA_SUITE_CHACHA20_POLY1305, SGA_SUITE_AES128_CCM8,
                                         SGA_SUITE_ASCON_AEAD128};

/* ---- small helpers --------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Deadline for a timeout in ms: < 0 means none (0). */
static uint64_t deadline_in(int timeout_ms)
{
	return timeout_ms < 0 ? 0 : now_ms() + (uint64_t)timeout_ms;
}

static void client_log(struct sga_client *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void client_log(struct sga_client *c, int level, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (!c->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->log(c->log_arg, level, line);
}

void client_priv_log(struct sga_client *c, int level, const char *line)
{
	client_log(c, level, "%s", line);
}

uint64_t client_priv_now_ms(void)
{
	return now_ms();
}

/* Record why a call failed (sga_client_detail) and return rc. */
static int fail(struct sga_client *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct sga_client *c, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	client_log(c, 0, "%s", c->detail);
	return rc;
}

static const char *suite_name(uint8_t id)
{
	const struct sga_suite_info *si = sga_suite_get(id);

	return si ? si->name : "?";
}

const char *sga_client_strerror(int rc)
{
	if (rc < 0)
		rc = -rc;
	switch (rc) {
	case SGA_CLIENT_E_TIMEOUT:
		return "timed out: no answer from the gateway";
	case SGA_CLIENT_E_UNREACHABLE:
		return "gateway unreachable (port closed, or no route to it)";
	case SGA_CLIENT_E_IO:
		return "system error (socket or file)";
	case SGA_CLIENT_E_CONFIG:
		return "invalid configuration or state file";
	case SGA_CLIENT_E_NO_SESSION:
		return "no established session";
	default:
		return sga_err_desc(rc);
	}
}

const char *sga_client_detail(const struct sga_client *c)
{
	return c->detail;
}

/* ---- state file ------------------------------------------------------------ */

/* The core's io.save: its long-term state (struct sga_core_persist) into the
 * state file image, and the file written. */
static int io_save(void *ctx, const struct sga_core_persist *st)
{
	struct sga_client *c = ctx;
	int rc;

	c->st.persist = *st;
	rc = sga_state_save(c->state_path, &c->st);
	if (rc) {
		c->sys_errno = -rc;
		c->save_rc = fail(c, -SGA_CLIENT_E_IO, "cannot write the state file %s: %s",
		                  c->state_path, strerror(-rc));
		return c->save_rc;
	}
	c->save_rc = 0;
	return 0;
}

/* The state file written now (through the core's save). Called before any
 * frame that uses a new up counter is sent. */
static int save_state(struct sga_client *c)
{
	return sga_core_save(&c->core) ? c->save_rc : 0;
}

int client_priv_save_state(struct sga_client *c)
{
	return save_state(c);
}

/* ---- the socket ------------------------------------------------------------ */

/* What the kernel reports (ICMP, or a failed neighbour resolution) on a
 * connected UDP socket when the gateway cannot be reached. */
static int is_unreachable(int e)
{
	return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN ||
	       e == ENETDOWN;
}

/* Send one frame. A full socket buffer is a loss like any other (the timers
 * resend); an unreachable gateway is noted in c->unreach: control exchanges
 * stop at once, messages keep being re-sent until their timeout (a gateway
 * restart looks the same for a while). */
static int tx(struct sga_client *c, const uint8_t *f, size_t n)
{
	uint8_t type = n > 1 ? f[1] : 0;

	for (;;) {
		ssize_t w = send(c->fd, f, n, MSG_NOSIGNAL);

		if (w >= 0) {
			client_log(c, 2, "tx %s (%zu bytes)", sga_msg_name(type), n);
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (is_unreachable(errno)) {
			c->unreach = errno;
			return 0;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
			return 0;
		c->sys_errno = errno;
		return fail(c, -SGA_CLIENT_E_IO, "send to the gateway: %s", strerror(errno));
	}
}

/* The core's io: the clocks and the socket. */
static uint64_t io_now_ms(void *ctx)
{
	(void)ctx;
	return now_ms();
}

static uint64_t now_us(void);

static uint64_t io_now_us(void *ctx)
{
	(void)ctx;
	return now_us();
}

static int io_send(void *ctx, const uint8_t *f, size_t n)
{
	return tx(ctx, f, n);
}

int client_priv_tx(struct sga_client *c, const uint8_t *f, size_t n)
{
	return tx(c, f, n);
}

/* ---- sessions ---------------------------------------------------------------- */

static void stash_clear(struct sga_client *c)
{
	for (unsigned i = 0; i < c->n_stash; i++) {
		sga_memzero(c->stash[i], c->stash_len[i]);
		free(c->stash[i]);
		c->stash[i] = NULL;
	}
	c->n_stash = 0;
}

/* Forget the session: keys, queued and held-back messages. */
static void end_session(struct sga_client *c)
{
	for (unsigned i = 0; i < c->rx_cap; i++) {
		if (c->rx[i].msg) {
			sga_memzero(c->rx[i].msg, c->rx[i].len);
			free(c->rx[i].msg);
		}
		c->rx[i].msg = NULL;
		c->rx[i].len = 0;
		c->rx[i].not_app = 0;
	}
	sga_core_win_reset(&c->core.win, c->rto_ms);
	stash_clear(c);
	client_rekey_reset(c);
	sga_dev_sess_wipe(&c->core.sess);
	c->rx_next = 0;
	c->rx_hole = 0;
	c->rx_skip_to = 0;
	c->dlv_sent = 0;
	c->dlv_since = 0;
	c->dlv_force = 0;
	c->dlv_ooo = 0;
	c->rx_count = 0;
	c->rx_full_logged = 0;
	c->hole_since = 0;
	c->sess_err = 0;
	c->peer[0] = '\0';
}

static void set_peer(struct sga_client *c, const uint8_t *id, uint8_t len)
{
	c->closed_reason = 0; /* a new session: the last one's end is history */
	memcpy(c->peer, id, len);
	c->peer[len] = '\0';
}

/* ---- the control exchange ----------------------------------------------------- */

static void op_start(struct sga_client *c, enum client_op kind)
{
	sga_memzero(&c->op, sizeof(c->op));
	c->op.kind = kind;
	sga_core_xt_start(&c->op.xt, c->rto_ms);
	c->unreach = 0;
}

static void op_finish(struct sga_client *c, int result)
{
	if (c->op.done)
		return;
	c->op.done = 1;
	c->op.result = result;
	c->op.xt.next_ms = 0;
}

/* Send the exchange's frame i: inside a COOKIE_ECHO once the gateway gave
 * it a cookie. */
static int op_tx(struct sga_client *c, unsigned i)
{
	uint8_t echo[SGA_FRAME_MAX];
	size_t n;

	if (c->op.has_cookie[i] && !sga_cookie_echo_encode(c->op.cookie[i], c->op.frame[i],
	                                                   c->op.len[i], echo, sizeof(echo), &n))
		return tx(c, echo, n);
	return tx(c, c->op.frame[i], c->op.len[i]);
}

/* (Re)send the exchange's frames and arm its timer. */
static int op_send(struct sga_client *c)
{
	for (unsigned i = 0; i < c->op.n_frames; i++) {
		int rc = op_tx(c, i);

		if (rc) {
			op_finish(c, rc);
			return rc;
		}
	}
	sga_core_xt_arm(&c->op.xt, now_ms(), c->rto_max_ms);
	return 0;
}

/* A1 for the pending connect: a new request each time (new counter, new k_t),
 * the state file updated before it leaves. */
static int neg_request(struct sga_client *c)
{
	int rc = sga_dev_create_neg_req(&c->core.dev, &c->core.sess, c->op.peer, c->op.peer_len,
	                                c->op.prefs, c->op.n_prefs, c->op.frame[0], SGA_FRAME_MAX,
	                                &c->op.len[0]);

	if (rc)
		return fail(c, rc, "cannot build NEG_REQ: %s", sga_err_desc(rc));
	c->op.n_frames = 1;
	c->op.has_cookie[0] = 0; /* a cookie is bound to the frame it answered */
	client_log(c, 2, "NEG_REQ to %s, counter %llu", c->peer,
	           (unsigned long long)c->core.dev.up_ctr);
	return save_state(c);
}

/* What silence may mean: G does not answer a registration it refuses. */
static const char *silence_note(const struct sga_client *c)
{
	return c->op.kind == OP_REG ? " (the gateway does not answer a registration it refuses: "
	                              "identity registered under another key, enrollment "
	                              "denied, or a rekey it cannot verify)"
	                            : "";
}

/* The core's io.event: the end of the registration, k_d rekey or WAKE it
 * runs (the SDK's other exchanges are its own). */
static void io_event(void *ctx, const struct sga_core_event *ev)
{
	struct sga_client *c = ctx;
	const int replaced = ev->type == SGA_CORE_EV_KEY_REPLACED;
	const int woken = ev->type == SGA_CORE_EV_WOKEN;
	int rc;

	if (ev->type != SGA_CORE_EV_REGISTERED && ev->type != SGA_CORE_EV_REG_FAILED && !replaced &&
	    !woken)
		return;
	if (!ev->status && woken) {
		c->announced = 1; /* G took a fresh authenticated frame from this socket */
		c->wake_invitations = (unsigned)ev->len;
		c->wake_stored = (unsigned)ev->seq;
		client_log(c, 1,
		           "the gateway knows where we are (%u invitations, %u sessions with "
		           "stored messages)",
		           c->wake_invitations, c->wake_stored);
		rc = 0;
	} else if (!ev->status) {
		client_log(c, 1,
		           replaced ? "the gateway took the new long-term key"
		                    : "registered with the gateway");
		rc = 0;
	} else if (ev->status == -SGA_E_INTERNAL && c->save_rc) {
		rc = c->save_rc;
	} else {
		/* The tries are spent; an ERROR hint seen meanwhile shapes the error. */
		rc = fail(
		    c, c->op.hint == SGA_E_UNAVAILABLE ? -SGA_E_UNAVAILABLE : -SGA_CLIENT_E_TIMEOUT,
		    "no answer from the gateway after %u transmissions%s%s%s",
		    1 + c->max_retries, /* the core's tries: all made (ctl_tries) */
		    c->op.hint ? "; last ERROR hint: " : "",
		    c->op.hint ? sga_err_desc(c->op.hint) : "", silence_note(c));
	}
	if (c->op.kind == (woken ? OP_WAKE : OP_REG))
		op_finish(c, rc);
}

static void op_timer(struct sga_client *c, uint64_t now)
{
	struct client_op_state *op = &c->op;
	int rc;

	if (op->done || !sga_core_xt_due(&op->xt, now))
		return;
	if (op->xt.tries >= 1 + c->max_retries) {
		if (op->hint == SGA_E_UNAVAILABLE) {
			op_finish(c, fail(c, -SGA_E_UNAVAILABLE,
			                  "no answer after %u transmissions; ERROR hint: %s",
			                  op->xt.tries, sga_err_desc(SGA_E_UNAVAILABLE)));
			return;
		}
		op_finish(c, fail(c, -SGA_CLIENT_E_TIMEOUT,
		                  "no answer from the gateway after %u transmissions%s%s%s",
		                  op->xt.tries, op->hint ? "; last ERROR hint: " : "",
		                  op->hint ? sga_err_desc(op->hint) : "", silence_note(c)));
		return;
	}
	if (op->kind == OP_NEG || op->kind == OP_ANNOUNCE) {
		rc = neg_request(c);
		if (rc) {
			op_finish(c, rc);
			return;
		}
	}
	c->stats.retransmits += op->n_frames;
	client_log(c, 1, "no answer yet, sending again (try %u of %u)", op->xt.tries + 1,
	           1 + c->max_retries);
	(void)op_send(c);
}

/* Wait for the exchange to end (or c->op_deadline). */
static int run_op(struct sga_client *c);

/* ---- data retransmission ----------------------------------------------------------- */

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Send the operation's first frame and wait for its answer, retransmitting
 * for up to the client's timeout: every request-answer operation starts so. */
static int send_and_run_op(struct sga_client *c)
{
	c->op_deadline = now_ms() + c->timeout_ms;
	c->op_timeout_ms = c->timeout_ms;
	(void)op_send(c);
	return run_op(c);
}

uint64_t client_priv_now_us(void)
{
	return now_us();
}

/* Send message slot t again: same e2e_seq, a fresh hop seq. A retransmission
 * the timer fired backs the slot's timeout off; a fast one (later messages
 * were acknowledged first) does not. */
static void data_resend(struct sga_client *c, struct sga_core_tx *t, uint64_t now, int backoff)
{
	size_t len;
	int rc;

	if (now >= t->give_up_ms) {
		c->sess_err =
		    fail(c, c->unreach ? -SGA_CLIENT_E_UNREACHABLE : -SGA_CLIENT_E_TIMEOUT,
		         "message %llu not acknowledged within %u ms (%u transmissions)",
		         (unsigned long long)t->seq, c->timeout_ms, t->tries);
		/* Our key confirmation never got through: the connect or accept
		 * waiting for the peer's ends here too. */
		if (c->op.kind == OP_KEX || c->op.kind == OP_ACCEPT)
			op_finish(c, c->sess_err);
		return;
	}
	/* e2e_seq 0 is our key confirmation, a rekey's its own: the core re-seals
	 * those as themselves. */
	rc = sga_core_reseal(&c->core.sess, t, c->txbuf, sizeof(c->txbuf), &len);
	if (rc) {
		c->sess_err = fail(c, rc, "cannot re-seal message %llu: %s",
		                   (unsigned long long)t->seq, sga_err_desc(rc));
		return;
	}
	rc = tx(c, c->txbuf, len);
	if (rc) {
		c->sess_err = rc;
		return;
	}
	sga_core_win_resent(&c->core.win, t, now, backoff);
	c->stats.retransmits++;
}

static void data_timers(struct sga_client *c, uint64_t now)
{
	struct sga_core_tx *t;

	if (c->core.sess.state != SGA_DEV_S_ESTABLISHED)
		return;
	while (!c->sess_err && (t = sga_core_win_due(&c->core.win, now)))
		data_resend(c, t, now, 1);
}

/* Earliest due timer (ms, monotonic), 0 if none. */
static uint64_t next_timer(const struct sga_client *c)
{
	uint64_t t = 0;

	if (c->op.kind != OP_NONE && !c->op.done && c->op.xt.next_ms)
		t = c->op.xt.next_ms;
	if (c->core.ctl_xt.next_ms && (!t || c->core.ctl_xt.next_ms < t))
		t = c->core.ctl_xt.next_ms;
	if (c->core.wake_xt.next_ms && (!t || c->core.wake_xt.next_ms < t))
		t = c->core.wake_xt.next_ms;
	if (c->core.sess.state == SGA_DEV_S_ESTABLISHED && !c->sess_err) {
		uint64_t d = sga_core_win_next_ms(&c->core.win);

		if (d && (!t || d < t))
			t = d;
	}
	if (c->core.sess.state == SGA_DEV_S_ESTABLISHED && (c->dlv_since || c->dlv_force)) {
		uint64_t d = c->dlv_force ? 1 : c->dlv_since + 20; /* delivered_ack's delay */
		if (!t || d < t)
			t = d;
	}
	if (c->core.sess.state == SGA_DEV_S_ESTABLISHED && !c->sess_err)
		t = client_rekey_next_timer(c, t);
	return t;
}

int sga_client_next_timer_ms(const struct sga_client *c)
{
	uint64_t t = next_timer(c), now = now_ms();

	if (!t)
		return -1;
	return t <= now ? 0 : (int)(t - now > INT_MAX ? INT_MAX : t - now);
}

/* ---- receiving: one handler per message type ---------------------------------- */

static void on_pkg(struct sga_client *c, const uint8_t *f, size_t n)
{
	struct sga_package pkg;
	uint8_t fp[SGA_SHA256_LEN];
	char hex[2 * SGA_SHA256_LEN + 1];

	if (c->op.kind != OP_PKG || c->op.done || sga_pkg_decode(f, n, &pkg)) {
		c->stats.dropped++;
		return;
	}
	if (sga_pkg_fingerprint(f + SGA_HDR_LEN, n - SGA_HDR_LEN, fp)) {
		op_finish(c, fail(c, -SGA_E_CRYPTO, "cannot hash the package"));
		return;
	}
	if (!sga_ct_memeq(fp, c->st.pkg_fp, sizeof(fp))) {
		const struct sga_group_info *got = sga_group_get(pkg.group);

		sga_hex_encode(fp, sizeof(fp), hex);
		if (c->group && pkg.group != c->group)
			op_finish(c,
			          fail(c, -SGA_E_BAD_PACKAGE,
			               "the gateway answered with its %s package (fingerprint %s), "
			               "not one of the profile asked for: it does not serve that "
			               "group; refused",
			               got ? got->name : "unknown", hex));
		else
			op_finish(c, fail(c, -SGA_E_BAD_PACKAGE,
			                  "the gateway's %s package (fingerprint %s) is not the "
			                  "pinned one; refused",
			                  got ? got->name : "unknown", hex));
		return;
	}
	memcpy(c->st.pkg, f + SGA_HDR_LEN, n - SGA_HDR_LEN);
	c->st.pkg_len = n - SGA_HDR_LEN;
	op_finish(c, 0);
}

static void start_accept(struct sga_client *c);

static void on_invite(struct sga_client *c, const uint8_t *f, size_t n)
{
	size_t len, klen;
	int rc = sga_dev_consume_neg_invite(&c->core.dev, &c->inv, f, n);

	if (rc) {
		if (rc == -SGA_E_REPLAY)
			c->stats.duplicates++;
		else
			c->stats.dropped++;
		client_log(c, 2, "NEG_INVITE dropped: %s", sga_err_desc(rc));
		return;
	}
	(void)save_state(c); /* the down counter moved */
	if (c->accepting && !c->op.done &&
	    (c->op.kind == OP_WAIT_INVITE || c->op.kind == OP_ACCEPT)) {
		/* A newer invitation replaces a pending one: the initiator gave up on
		 * the old request and sent a new one. */
		start_accept(c);
		return;
	}
	if (c->accepting) {
		/* Still announcing our address: answer once that is done. */
		c->inv_pending = 1;
		return;
	}
	/* Nobody is accepting: decline, so the initiator hears it at once. */
	client_log(c, 1, "declining an invitation from %.*s (not accepting)", c->inv.peer_id_len,
	           c->inv.peer_id);
	rc = sga_core_hs_answer(&c->core.dev, &c->inv, 0, c->txbuf, sizeof(c->txbuf), &len, NULL, 0,
	                        &klen);
	if (!rc && !save_state(c))
		(void)tx(c, c->txbuf, len);
	sga_dev_sess_wipe(&c->inv);
}

static void start_accept(struct sga_client *c)
{
	struct client_op_state *op = &c->op;
	uint64_t dl;
	int rc;

	end_session(c);        /* leaves inv alone */
	c->core.sess = c->inv; /* consume_neg_invite filled inv: state INVITED */
	sga_dev_sess_wipe(&c->inv);
	set_peer(c, c->core.sess.peer_id, c->core.sess.peer_id_len);
	client_log(c, 1, "invitation from %s (suite %s), accepting", c->peer,
	           suite_name(c->core.sess.suite));
	op_start(c, OP_ACCEPT);
	/* The core's step: the NEG_ACCEPT and the KEX_INIT that goes after it. */
	rc = sga_core_hs_answer(&c->core.dev, &c->core.sess, 1, op->frame[0], SGA_FRAME_MAX,
	                        &op->len[0], op->frame[1], SGA_FRAME_MAX, &op->len[1]);
	if (rc) {
		op_finish(c, fail(c, rc, "cannot answer the invitation: %s", sga_err_desc(rc)));
		return;
	}
	op->n_frames = 2;
	rc = save_state(c); /* NEG_ACCEPT used a new up counter */
	if (rc) {
		op_finish(c, rc);
		return;
	}
	/* The handshake gets its own time, however late the invitation came. */
	dl = now_ms() + c->timeout_ms;
	if (c->op_deadline && c->op_deadline < dl) {
		c->op_deadline = dl;
		c->op_timeout_ms = c->timeout_ms;
	}
	(void)op_send(c);
}

static void on_neg_result(struct sga_client *c, const uint8_t *f, size_t n)
{
	struct client_op_state *op = &c->op;
	size_t len;
	int rc;

	if ((op->kind != OP_NEG && op->kind != OP_ANNOUNCE) || op->done ||
	    c->core.sess.state != SGA_DEV_S_NEG_SENT) {
		c->stats.dropped++;
		return;
	}
	/* The core's step: a suite agreed gives the KEX_INIT at once. */
	rc =
	    sga_core_hs_result(&c->core.dev, &c->core.sess, f, n, c->txbuf, sizeof(c->txbuf), &len);
	if (!rc || c->core.sess.state == SGA_DEV_S_FAILED)
		c->announced = 1; /* G accepted our counter: its address for us is this socket */
	if (op->kind == OP_ANNOUNCE && c->core.sess.state == SGA_DEV_S_FAILED) {
		/* The refusal a NEG_REQ naming ourselves earns; anything else would
		 * be a gateway that does not follow PROTOCOL.md 6.3. */
		client_log(c, 1, "the gateway knows where we are");
		op_finish(c, rc == -SGA_E_BAD_FIELD ? 0 : rc);
		return;
	}
	if (rc && c->core.sess.state == SGA_DEV_S_FAILED && c->core.sess.session_id) {
		/* Negotiated (a refusal names no session), then the KEX_INIT failed. */
		op_finish(c, fail(c, rc, "cannot build KEX_INIT: %s", sga_err_desc(rc)));
		return;
	}
	if (rc && c->core.sess.state == SGA_DEV_S_FAILED) {
		op_finish(c, fail(c, rc, "%s (%s: the gateway's authenticated refusal, NEG_RESULT)",
		                  sga_err_desc(rc), sga_err_name(rc)));
		return;
	}
	if (rc) {
		c->stats.dropped++;
		client_log(c, 2, "NEG_RESULT dropped: %s", sga_err_desc(rc));
		return;
	}
	client_log(c, 1, "negotiated %s with %s, key exchange", suite_name(c->core.sess.suite),
	           c->peer);
	op_start(c, OP_KEX);
	memcpy(op->frame[0], c->txbuf, len);
	op->len[0] = len;
	op->n_frames = 1;
	(void)op_send(c);
}

static void dispatch(struct sga_client *c, const uint8_t *f, size_t n);
static void on_closed(struct sga_client *c, const uint8_t *f, size_t n);
static void on_confirm(struct sga_client *c, const uint8_t *f, size_t n);
static void stash_add(struct sga_client *c, const uint8_t *f, size_t n);
static void stash_replay(struct sga_client *c);

static void on_kex_reply(struct sga_client *c, const uint8_t *f, size_t n)
{
	size_t len;
	int rc;

	if (c->core.sess.state != SGA_DEV_S_KEX || !c->core.sess.kex_made) {
		if (c->core.sess.state == SGA_DEV_S_ESTABLISHED)
			c->stats.duplicates++;
		else
			c->stats.dropped++;
		return;
	}
	/* The core's step: the keys, and our key confirmation (PROTOCOL.md 8.6),
	 * e2e_seq 0, in the send window like a message, so a DATA_ACK releases it
	 * and the timer re-sends it. */
	rc = sga_core_hs_keys(&c->core.dev, &c->core.sess, &c->core.win, f, n, c->txbuf,
	                      sizeof(c->txbuf), &len, now_ms(), now_us());
	if (rc && c->core.sess.state == SGA_DEV_S_KEX) {
		c->stats.dropped++;
		client_log(c, 2, "KEX_REPLY dropped: %s", sga_err_desc(rc));
		return;
	}
	if (rc) {
		c->sess_err = fail(c, rc, "cannot seal the key confirmation: %s", sga_err_desc(rc));
		if (c->op.kind == OP_KEX || c->op.kind == OP_ACCEPT)
			op_finish(c, rc);
		return;
	}
	client_log(c, 1, "keys with %s derived (%s), confirming them", c->peer,
	           suite_name(c->core.sess.suite));
	/* The exchange's frames (NEG_ACCEPT, KEX_INIT) have served: from here the
	 * confirm's own retransmission runs, bounded by the exchange's deadline. */
	c->op.xt.next_ms = 0;
	(void)tx(c, c->txbuf, len);
	/* Messages the peer sent before our KEX_REPLY came (its confirm first). */
	stash_replay(c);
}

/* Keep a DATA_DOWN for later (stash_replay); dropped if the stash is full (a
 * storing gateway sends it again). */
static void stash_add(struct sga_client *c, const uint8_t *f, size_t n)
{
	if (c->n_stash < SGA_CLIENT_STASH && (c->stash[c->n_stash] = malloc(n))) {
		memcpy(c->stash[c->n_stash], f, n);
		c->stash_len[c->n_stash++] = n;
	} else {
		c->stats.dropped++;
	}
}

/* Handle the stashed frames in arrival order. A frame may be stashed again
 * (still ahead of the peer's confirmation); once the confirmation is among
 * them, those come round again. Never nested: a call from inside only asks
 * for one more round. */
static void stash_replay(struct sga_client *c)
{
	if (c->stash_replaying) {
		c->stash_again = 1;
		return;
	}
	c->stash_replaying = 1;
	do {
		unsigned n0 = c->n_stash, i;

		c->stash_again = 0;
		for (i = 0; i < n0; i++) {
			dispatch(c, c->stash[i], c->stash_len[i]);
			sga_memzero(c->stash[i], c->stash_len[i]);
			free(c->stash[i]);
			c->stash[i] = NULL;
		}
		for (i = n0; i < c->n_stash; i++) {
			c->stash[i - n0] = c->stash[i];
			c->stash_len[i - n0] = c->stash_len[i];
			c->stash[i] = NULL;
		}
		c->n_stash -= n0;
	} while (c->stash_again && c->n_stash);
	c->stash_replaying = 0;
}

/* The peer's key confirmation, the first DATA_DOWN of the session. */
static void on_confirm(struct sga_client *c, const uint8_t *f, size_t n)
{
	int rc = sga_dev_consume_key_confirm(&c->core.sess, f, n);

	if (rc == -SGA_E_KEY_CONFIRM) {
		/* Authentic from the gateway, yet the peer's key is not ours: a
		 * suite, list, element or key that differs. Nothing to retry. */
		c->sess_err = fail(c, rc, "session with %s refused: %s", c->peer, sga_err_desc(rc));
		if (c->op.kind == OP_KEX || c->op.kind == OP_ACCEPT)
			op_finish(c, c->sess_err);
		return;
	}
	if (rc == -SGA_E_BAD_STATE) {
		/* Authentic, but a message that overtook the confirmation (reordered,
		 * or the confirmation was lost and comes again): keep it for then. */
		stash_add(c, f, n);
		return;
	}
	if (rc) {
		c->stats.dropped++; /* forged, or a duplicate */
		client_log(c, 2, "DATA_DOWN before the key confirmation dropped: %s",
		           sga_err_name(rc));
		return;
	}
	/* e2e_seq 0 is not the application's: delivery starts at 1. */
	c->rx_next = c->rx_hole = 1;
	if (!c->dlv_since)
		c->dlv_since = now_ms();
	client_log(c, 1, "session with %s established (%s)", c->peer,
	           suite_name(c->core.sess.suite));
	c->announced = 1; /* G accepted our NEG_REQ or NEG_ACCEPT from this socket */
	if (c->op.kind == OP_KEX || c->op.kind == OP_ACCEPT)
		op_finish(c, 0);
	stash_replay(c); /* the messages that overtook it */
}

/* Message seq, named by a DATA_ACK: forget it if we still hold it. 1 if it
 * was ours to forget, 0 if it was acknowledged before. */
static int ack_one(struct sga_client *c, uint64_t seq)
{
	struct sga_core_tx *o;

	/* The window measures the round trip (a message sent once) and counts
	 * the later ACKs of what was sent before it. */
	if (!sga_core_win_ack(&c->core.win, seq, now_us()))
		return 0; /* acknowledged before (the gateway names it again) */
	/* Fast retransmission: a message sent before this one and still without
	 * its ACK after SGA_CORE_FAST_RESEND later messages were acknowledged is
	 * taken as lost now, rather than at its timeout. */
	while (!c->sess_err && (o = sga_core_win_lost(&c->core.win)))
		data_resend(c, o, now_ms(), 0);
	/* Key confirmations (e2e_seq 0, a rekey's) are not application messages. */
	if (!sga_core_is_confirm(&c->core.sess, seq))
		c->stats.acked++;
	return 1;
}

/* A DATA_ACK names up to 64 messages (PROTOCOL.md 7.11); each frame stands on
 * its own, so a lost one costs nothing once a later one names the same
 * messages. */
static void on_ack(struct sga_client *c, const uint8_t *f, size_t n)
{
	struct sga_data_ack_plain ack;
	uint64_t seq, end;
	unsigned fresh = 0;
	int rc;

	if (c->core.sess.state != SGA_DEV_S_ESTABLISHED) {
		c->stats.dropped++;
		return;
	}
	rc = sga_dev_ack_open(&c->core.sess, f, n, &ack);
	if (rc) {
		if (rc == -SGA_E_REPLAY)
			c->stats.duplicates++;
		else
			c->stats.dropped++;
		return;
	}
	/* Only what is in flight can be forgotten: [tx_base, tx_next) within the
	 * 64 the frame names, oldest first (fast retransmission counts the later
	 * ones as it would one ACK per message). */
	seq = ack.top > SGA_DATA_ACK_SPAN ? ack.top - SGA_DATA_ACK_SPAN : 0;
	if (seq < c->core.win.base)
		seq = c->core.win.base;
	end = ack.top < c->core.win.next ? ack.top : c->core.win.next;
	for (; seq < end && !c->sess_err; seq++)
		if (sga_data_ack_names(&ack, seq))
			fresh += (unsigned)ack_one(c, seq);
	if (!fresh)
		c->stats.duplicates++; /* all acknowledged before (we had re-sent them) */
}

/* Make the receive ring hold e2e_seq rx_next + dist: double it (it is indexed
 * by e2e_seq modulo its size) up to recv_queue slots. 0 or -1. */
static int rx_grow(struct sga_client *c, uint64_t dist)
{
	unsigned cap = c->rx_cap;
	struct rx_slot *n;

	while (cap <= dist && cap < c->rx_max)
		cap *= 2;
	if (cap <= dist)
		return -1;
	n = calloc(cap, sizeof(*n));
	if (!n)
		return -1;
	for (uint64_t s = c->rx_next; s < c->rx_next + c->rx_cap; s++)
		n[s % cap] = c->rx[s % c->rx_cap];
	free(c->rx);
	c->rx = n;
	c->rx_cap = cap;
	return 0;
}

/* Skip missing messages at rx_next that can no longer arrive: the E2E window
 * refuses anything more than (window - 64) below the newest message. */
static void rx_skip_dead(struct sga_client *c)
{
	const uint64_t keep = SGA_REPLAY_WINDOW - 64;
	uint64_t newest = c->core.sess.e2e_rx_win.next;

	/* Missing messages below rx_skip_to expired in the gateway's store: held
	 * ones below it still go to the application first. */
	while (c->rx_next < c->rx_skip_to) {
		if (!c->rx_count) {
			c->stats.lost += c->rx_skip_to - c->rx_next;
			c->rx_next = c->rx_skip_to;
			c->hole_since = 0;
			break;
		}
		if (c->rx[c->rx_next % c->rx_cap].msg)
			break;
		c->rx_next++;
		c->stats.lost++;
		c->hole_since = 0;
	}
	if (newest <= c->rx_next || newest - c->rx_next <= keep)
		return;
	if (!c->rx_count) {
		/* Nothing held: jump straight to the oldest number still deliverable. */
		c->stats.lost += newest - keep - c->rx_next;
		c->rx_next = newest - keep;
		c->hole_since = 0;
		return;
	}
	/* At most a ring's worth: a held message stops the loop. */
	while (!c->rx[c->rx_next % c->rx_cap].msg && newest - c->rx_next > keep) {
		c->rx_next++;
		c->stats.lost++;
		c->hole_since = 0;
	}
}

/* DATA_SKIP: the gateway's store released (retention: age) messages this
 * device never got; stop waiting for them, count them lost, and say so. */
static void on_skip(struct sga_client *c, const uint8_t *f, size_t n)
{
	uint64_t next;

	if (c->core.sess.state != SGA_DEV_S_ESTABLISHED ||
	    sga_dev_skip_open(&c->core.sess, f, n, &next)) {
		c->stats.dropped++;
		return;
	}
	client_log(c, 1, "the gateway's store expired messages below %llu",
	           (unsigned long long)next);
	if (next > c->rx_skip_to)
		c->rx_skip_to = next;
	rx_skip_dead(c);
	if (c->rx_hole < c->rx_next)
		c->rx_hole = c->rx_next;
	while (c->rx_hole - c->rx_next < c->rx_cap && c->rx[c->rx_hole % c->rx_cap].msg)
		c->rx_hole++;
	c->dlv_force = 1; /* it waits for our report to stop repeating */
}

static void on_data(struct sga_client *c, const uint8_t *f, size_t n, uint64_t sid)
{
	struct rx_slot *r;
	size_t len;
	uint64_t seq;
	int rc;

	if (c->core.sess.state == SGA_DEV_S_KEX && sid == c->core.sess.session_id &&
	    c->core.sess.kex_made) {
		/* The peer got its KEX_REPLY and is already sending, so the gateway
		 * sent ours too: keep the frames for when it comes, and if it was
		 * lost, ask again now (the gateway re-emits it for a repeated
		 * KEX_INIT) rather than at the retransmission timeout. */
		stash_add(c, f, n);
		if ((c->op.kind == OP_KEX || c->op.kind == OP_ACCEPT) && !c->op.done &&
		    c->n_stash % 16 == 1) {
			/* Outside the retry budget and the timer: the peer is alive.
			 * Our KEX_INIT (the exchange's last frame) alone: the gateway
			 * has our NEG_ACCEPT (there is no session without it), and a
			 * repeat of it would only earn a REPLAY hint. */
			unsigned last = c->op.n_frames - 1;

			(void)op_tx(c, last);
			c->stats.retransmits++;
		}
		return;
	}
	if (c->core.sess.state != SGA_DEV_S_ESTABLISHED || c->sess_err) {
		c->stats.dropped++;
		return;
	}
	if (!c->core.sess.peer_confirmed) {
		on_confirm(c, f, n);
		return;
	}
	if (c->rx_count >= c->rx_max) {
		/* recv_queue messages wait for the application: refuse more, unopened
		 * (like a full socket buffer), rather than open and then lose it. */
		c->stats.dropped++;
		if (!c->rx_full_logged++)
			client_log(c, 1,
			           "receive queue full (%u messages): not reading fast enough",
			           c->rx_max);
		return;
	}
	rc = sga_dev_data_open(&c->core.sess, f, n, c->msg, sizeof(c->msg), &len);
	if (rc == -SGA_E_AUTH && client_rekey_early(c, f, n))
		return; /* under keys whose REKEY_REPLY has not reached us yet */
	if (rc == SGA_DEV_REKEY_CONFIRMED)
		client_log(c, 1, "%s confirmed key generation %u", c->peer, c->core.sess.rk.gen);
	else if (rc) {
		if (rc == -SGA_E_REPLAY) {
			c->stats.duplicates++;
			c->dlv_force = 1; /* the gateway still thinks we lack it */
		} else
			c->stats.dropped++;
		client_log(c, 2, "DATA_DOWN dropped: %s", sga_err_name(rc));
		return;
	}
	seq = c->core.sess.e2e_rx_last;
	if (seq < c->rx_next) {
		c->stats.dropped++; /* skipped as lost before it finally came */
		goto out;
	}
	rx_skip_dead(c);
	if (seq - c->rx_next >= c->rx_cap && rx_grow(c, seq - c->rx_next)) {
		/* Further ahead than recv_queue allows: nowhere to keep it. */
		c->stats.lost++;
		goto out;
	}
	r = &c->rx[seq % c->rx_cap];
	if (r->msg) {
		c->stats.duplicates++; /* cannot happen: the E2E window saw it */
		goto out;
	}
	r->msg = malloc(len ? len : 1);
	if (!r->msg) {
		c->stats.lost++;
		goto out;
	}
	memcpy(r->msg, c->msg, len);
	r->len = len;
	r->not_app = rc == SGA_DEV_REKEY_CONFIRMED; /* holds its place in the order */
	c->rx_count++;
	/* rx_hole: the first message not received yet (for the held_back count). */
	if (c->rx_hole < c->rx_next)
		c->rx_hole = c->rx_next;
	if (seq != c->rx_hole) {
		c->stats.held_back++;
		/* Later messages keep coming past a hole: it was most likely lost.
		 * Repeating the report (next_e2e_seq unchanged) makes the gateway
		 * re-send it now instead of at its timer; once per hole. */
		if (++c->dlv_ooo == DLV_OOO_REPEAT)
			c->dlv_force = 1;
	}
	while (c->rx_hole - c->rx_next < c->rx_cap && c->rx[c->rx_hole % c->rx_cap].msg) {
		c->rx_hole++;
		c->dlv_ooo = 0;
	}
	if (!c->dlv_since)
		c->dlv_since = now_ms();
out:
	sga_memzero(c->msg, len);
}

static void on_error(struct sga_client *c, const uint8_t *f, size_t n)
{
	struct sga_error_msg e;
	int rc = sga_core_error_about_us(&c->core.dev, &c->core.sess, f, n, &e);

	if (rc < 0) {
		c->stats.dropped++;
		return;
	}
	c->stats.hints++;
	/* Only hints about us or our session (or about nothing in particular). */
	if (!rc) {
		client_log(c, 2, "ERROR hint %s about someone else ignored", sga_err_name(e.code));
		return;
	}
	client_log(c, 1, "gateway hint (unauthenticated): %s", sga_err_desc(e.code));
	/* Anyone can forge a hint, and G answers only authenticated frames
	 * (PROTOCOL.md 13), so none ends the exchange: it keeps retransmitting and
	 * the last hint only shapes the error reported when it gives up. */
	if (c->op.kind != OP_NONE && !c->op.done)
		c->op.hint = e.code;
}

/*
 * The gateway is under load and wants proof that we receive at our address
 * before it spends RSA or modexp work on our frame: the COOKIE_REPLY names
 * the frame (its digest) and carries the cookie. Send that frame again at
 * once inside a COOKIE_ECHO, without waiting for the timer and without
 * spending a retry; later retransmissions carry the cookie too. A reply that
 * names no frame of ours is dropped, and at most two echoes go per timed
 * transmission, so forged replies cannot make us a traffic source.
 */
static void on_cookie(struct sga_client *c, const uint8_t *f, size_t n)
{
	uint8_t digest[SGA_COOKIE_DIGEST_LEN], cookie[SGA_COOKIE_LEN];

	if (c->op.kind == OP_NONE || c->op.done) {
		c->stats.dropped++;
		return;
	}
	for (unsigned i = 0; i < c->op.n_frames; i++) {
		int rc = sga_core_cookie_names(f, n, c->op.frame[i], c->op.len[i], cookie, digest);

		if (rc < 0)
			break; /* malformed */
		if (!rc)
			continue;
		if (!sga_core_xt_echo(&c->op.xt)) {
			client_log(c, 2, "cookie challenge: echo budget spent until the timer");
			return;
		}
		memcpy(c->op.cookie[i], cookie, SGA_COOKIE_LEN);
		c->op.has_cookie[i] = 1;
		c->stats.cookies++;
		client_log(c, 1, "gateway under load: sending %s again with its cookie",
		           sga_msg_name(c->op.frame[i][1]));
		(void)op_tx(c, i);
		return;
	}
	c->stats.dropped++; /* names no frame of this exchange */
}

/* A frame for the core's exchange (a REG_ACK, or a COOKIE_REPLY while it
 * runs), logged as the SDK's own exchange logs it. */
static void core_input(struct sga_client *c, const uint8_t *f, size_t n)
{
	const uint64_t dropped = c->core.stats.dropped, cookies = c->core.stats.cookies;

	if (!c->core_ready) {
		c->stats.dropped++; /* fetching the package: no identity yet */
		return;
	}
	sga_core_input(&c->core, f, n);
	if (c->core.stats.cookies > cookies)
		client_log(c, 1, "gateway under load: sending REG_REQ again with its cookie");
	else if (c->core.stats.dropped > dropped)
		client_log(c, 2, "%s dropped: it does not open or names nothing of ours",
		           sga_msg_name(n > 1 ? f[1] : 0));
}

static void dispatch(struct sga_client *c, const uint8_t *f, size_t n)
{
	uint64_t sid;
	uint8_t type;

	if (sga_dev_peek(f, n, &type, &sid)) {
		c->stats.dropped++;
		return;
	}
	c->unreach = 0; /* the gateway is there */
	client_log(c, 2, "rx %s (%zu bytes)", sga_msg_name(type), n);
	switch (type) {
	case SGA_MSG_PKG:
		on_pkg(c, f, n);
		break;
	case SGA_MSG_REG_ACK:
		core_input(c, f, n); /* the core's exchange: io_event */
		break;
	case SGA_MSG_NEG_INVITE:
		on_invite(c, f, n);
		break;
	case SGA_MSG_NEG_RESULT:
		on_neg_result(c, f, n);
		break;
	case SGA_MSG_WAKE_ACK:
		core_input(c, f, n); /* the core's WAKE: io_event */
		break;
	case SGA_MSG_KEX_REPLY:
		on_kex_reply(c, f, n);
		break;
	case SGA_MSG_REKEY_NOTICE:
		client_on_rekey_notice(c, f, n);
		break;
	case SGA_MSG_REKEY_REPLY:
		client_on_rekey_reply(c, f, n);
		break;
	case SGA_MSG_DATA_ACK:
		on_ack(c, f, n);
		break;
	case SGA_MSG_DATA_DOWN:
		on_data(c, f, n, sid);
		break;
	case SGA_MSG_DATA_SKIP:
		on_skip(c, f, n);
		break;
	case SGA_MSG_ERROR:
		on_error(c, f, n);
		break;
	case SGA_MSG_COOKIE_REPLY:
		if (c->core.op != SGA_CORE_OP_NONE)
			core_input(c, f, n); /* for the core's REG_REQ */
		else
			on_cookie(c, f, n);
		break;
	case SGA_MSG_SESSION_CLOSED:
		on_closed(c, f, n);
		break;
	default:
		c->stats.dropped++; /* a device -> gateway type */
		break;
	}
}

/* Read every frame waiting (up to DRAIN_MAX). */
static void drain(struct sga_client *c)
{
	for (unsigned k = 0; k < DRAIN_MAX; k++) {
		ssize_t r = recv(c->fd, c->rxbuf, sizeof(c->rxbuf), MSG_DONTWAIT | MSG_TRUNC);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (is_unreachable(errno)) {
				c->unreach = errno;
				continue; /* the error is reported once; more may be queued */
			}
			return; /* EAGAIN, or an error poll will report again */
		}
		if ((size_t)r > sizeof(c->rxbuf)) {
			c->stats.dropped++; /* larger than any SGA frame */
			continue;
		}
		dispatch(c, c->rxbuf, (size_t)r);
	}
}

/* Wait until a frame comes, a timer is due or `until` (0: no limit, but at
 * most a second per call), then handle what came and fire due timers. */
/* Tell the gateway which messages we hold (DATA_DELIVERED, cumulative), so it
 * can release them from its store and stop re-sending: every 16 messages, 20 ms
 * after the first unreported one, or at once when it re-sent one we have. */
static void delivered_ack(struct sga_client *c, uint64_t now)
{
	uint8_t f[SGA_FRAME_MAX];
	uint64_t upto = c->rx_hole > c->rx_next ? c->rx_hole : c->rx_next;
	size_t n;

	if (c->core.sess.state != SGA_DEV_S_ESTABLISHED)
		return;
	if (upto < c->dlv_sent)
		upto = c->dlv_sent;
	if (!c->dlv_force && (upto == c->dlv_sent ||
	                      (upto - c->dlv_sent < 16 && c->dlv_since && now - c->dlv_since < 20)))
		return;
	if (sga_dev_delivered_seal(&c->core.sess, upto, f, sizeof(f), &n))
		return;
	(void)tx(c, f, n);
	c->dlv_sent = upto;
	c->dlv_since = 0;
	c->dlv_force = 0;
}

static void pump(struct sga_client *c, uint64_t until)
{
	uint64_t now = now_ms(), wake = now + 1000, t = next_timer(c);
	struct pollfd p = {.fd = c->fd, .events = POLLIN};

	if (until && until < wake)
		wake = until;
	if (t && t < wake)
		wake = t;
	if (poll(&p, 1, wake > now ? (int)(wake - now) : 0) > 0)
		drain(c);
	now = now_ms();
	op_timer(c, now);
	if (c->core_ready) {
		/* A registration's, k_d rekey's or WAKE's re-sends, the core's. */
		const unsigned ctl = c->core.ctl_xt.tries, woke = c->core.wake_xt.tries;

		sga_core_poll_ctl(&c->core);
		if (c->core.ctl_xt.tries > ctl || c->core.wake_xt.tries > woke)
			client_log(c, 1, "no answer yet, sending again (try %u of %u)",
			           c->core.ctl_xt.tries > ctl ? c->core.ctl_xt.tries
			                                      : c->core.wake_xt.tries,
			           1 + c->max_retries);
	}
	data_timers(c, now);
	client_rekey_timers(c, now);
	delivered_ack(c, now);
}

/* ---- the session's end (PROTOCOL.md 7.14) ---------------------------------------- */

/* An authentic SESSION_CLOSED: the session is over. Its keys and what is not
 * acknowledged go; messages already received stay for sga_client_recv, which
 * then reports -SGA_E_SESSION_CLOSED. */
static void on_closed(struct sga_client *c, const uint8_t *f, size_t n)
{
	struct sga_session_closed_plain cl;

	if (sga_dev_consume_session_closed(&c->core.sess, f, n, &cl)) {
		c->stats.dropped++; /* not for this session, or not authentic */
		return;
	}
	c->closed_reason = cl.reason;
	c->closed_delivered = cl.delivered;
	client_log(c, 1,
	           "session with %s closed by the gateway (%s); our messages below %llu "
	           "reached the peer",
	           c->peer, sga_close_reason_name(cl.reason), (unsigned long long)cl.delivered);
	sga_core_win_reset(&c->core.win, c->rto_ms);
	stash_clear(c);
	sga_dev_sess_wipe(&c->core.sess);
	c->sess_err = -SGA_E_SESSION_CLOSED;
}

int sga_client_close_session(struct sga_client *c, int timeout_ms)
{
	uint64_t deadline = deadline_in(timeout_ms);
	struct sga_core_xt xt;
	uint8_t f[SGA_FRAME_MAX];
	size_t n;

	if (c->core.sess.state != SGA_DEV_S_ESTABLISHED)
		return c->closed_reason ? 0
		                        : fail(c, -SGA_CLIENT_E_NO_SESSION, "no session to close");
	c->closed_reason = 0;
	/* Re-sent until the gateway's SESSION_CLOSED (a fresh seal each time:
	 * random nonce) on the core's exchange timer, as the core's close is
	 * (the timeout doubles up to rto_max_ms); a lost answer ends the session
	 * here all the same. */
	sga_core_xt_start(&xt, c->rto_ms);
	while (!c->closed_reason) {
		uint64_t now = now_ms();

		if (deadline && now >= deadline) {
			end_session(c);
			return fail(c, -SGA_CLIENT_E_TIMEOUT,
			            "no SESSION_CLOSED from the gateway: session ended here only");
		}
		if (!xt.tries || sga_core_xt_due(&xt, now)) {
			if (sga_dev_create_session_close(&c->core.sess, f, sizeof(f), &n) == 0)
				(void)tx(c, f, n);
			sga_core_xt_arm(&xt, now, c->rto_max_ms);
		}
		pump(c, deadline && deadline < xt.next_ms ? deadline : xt.next_ms);
	}
	end_session(c);
	return 0;
}

int sga_client_session_closed(const struct sga_client *c, uint64_t *delivered)
{
	if (delivered)
		*delivered = c->closed_reason ? c->closed_delivered : 0;
	return c->closed_reason;
}

void client_priv_stash(struct sga_client *c, const uint8_t *f, size_t n)
{
	stash_add(c, f, n);
}

void client_priv_stash_replay(struct sga_client *c)
{
	stash_replay(c);
}

void client_priv_pump(struct sga_client *c, uint64_t until)
{
	pump(c, until);
}

/* "10.77.0.1:7000" or "[fd00::1]:7000" (RFC 5952 6). */
static void addr_text(const struct sockaddr_storage *a, socklen_t len, char *out, size_t n)
{
	char host[INET6_ADDRSTRLEN + 8] = "?", serv[8] = "?";

	(void)getnameinfo((const struct sockaddr *)a, len, host, sizeof(host), serv, sizeof(serv),
	                  NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(out, n, a->ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
}

/* A numeric IPv4 or IPv6 address (an IPv6 link-local one may name its
 * interface: fe80::1%eth0) and a port into a socket address. 0, or -1. */
static int addr_parse(const char *ip, uint16_t port, struct sockaddr_storage *out,
                      socklen_t *out_len)
{
	struct addrinfo hints, *res = NULL;
	char serv[8];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(serv, sizeof(serv), "%u", port);
	if (getaddrinfo(ip, serv, &hints, &res) || !res)
		return -1;
	rc = res->ai_addrlen <= sizeof(*out) ? 0 : -1;
	if (!rc) {
		memset(out, 0, sizeof(*out));
		memcpy(out, res->ai_addr, res->ai_addrlen);
		*out_len = (socklen_t)res->ai_addrlen;
	}
	freeaddrinfo(res);
	return rc;
}

static int run_op(struct sga_client *c)
{
	int rc;

	while (!c->op.done) {
		if (c->unreach) {
			char gw[INET6_ADDRSTRLEN + 16];

			addr_text(&c->gw_addr, c->gw_addr_len, gw, sizeof(gw));
			op_finish(c, fail(c, -SGA_CLIENT_E_UNREACHABLE,
			                  "gateway %s unreachable: %s", gw,
			                  c->unreach == ECONNREFUSED
			                      ? "nothing listens there (ICMP port unreachable)"
			                      : strerror(c->unreach)));
			break;
		}
		if (c->op_deadline && now_ms() >= c->op_deadline) {
			if (c->op.hint == SGA_E_UNAVAILABLE)
				op_finish(c,
				          fail(c, -SGA_E_UNAVAILABLE, "timed out; ERROR hint: %s",
				               sga_err_desc(SGA_E_UNAVAILABLE)));
			else if (c->op.kind == OP_WAIT_INVITE)
				op_finish(c, fail(c, -SGA_CLIENT_E_TIMEOUT,
				                  "no invitation from a peer within %u ms",
				                  c->op_timeout_ms));
			else if (c->core.sess.state == SGA_DEV_S_ESTABLISHED)
				op_finish(c, fail(c, -SGA_CLIENT_E_TIMEOUT,
				                  "no key confirmation from %s within %u ms",
				                  c->peer, c->op_timeout_ms));
			else
				op_finish(c, fail(c, -SGA_CLIENT_E_TIMEOUT,
				                  "timed out after %u ms%s%s%s", c->op_timeout_ms,
				                  c->op.hint ? "; last ERROR hint: " : "",
				                  c->op.hint ? sga_err_desc(c->op.hint) : "",
				                  silence_note(c)));
			break;
		}
		pump(c, c->op_deadline);
	}
	rc = c->op.result;
	sga_memzero(&c->op, sizeof(c->op));
	return rc;
}

/* ---- open / close ------------------------------------------------------------ */

static int parse_config(struct sga_client *c, const struct sga_client_config *cfg,
                        uint8_t pin[SGA_SHA256_LEN], int *have_pin)
{
	size_t id_len;

	c->log = cfg->log;
	c->log_arg = cfg->log_arg;
	if (!cfg->gateway_ip || !cfg->gateway_port ||
	    addr_parse(cfg->gateway_ip, cfg->gateway_port, &c->gw_addr, &c->gw_addr_len))
		return fail(c, -SGA_CLIENT_E_CONFIG,
		            "gateway address: an IPv4 or IPv6 address and a non-zero port are "
		            "required");
	if (!cfg->id || !(id_len = strlen(cfg->id)) || id_len > SGA_ID_MAX ||
	    !sga_id_valid((const uint8_t *)cfg->id, id_len))
		return fail(c, -SGA_CLIENT_E_CONFIG,
		            "device id: 1..32 printable ASCII characters, no spaces");
	if (!cfg->state_path || !*cfg->state_path)
		return fail(c, -SGA_CLIENT_E_CONFIG, "a state file path is required");
	if (!cfg->package_path && !cfg->pin_hex)
		return fail(c, -SGA_CLIENT_E_CONFIG,
		            "a package file or a pinned fingerprint is required");
	*have_pin = 0;
	if (cfg->pin_hex) {
		if (sga_hex_decode(cfg->pin_hex, strlen(cfg->pin_hex), pin, SGA_SHA256_LEN))
			return fail(c, -SGA_CLIENT_E_CONFIG,
			            "pin: 64 hex digits (SHA-256 of the package) expected");
		*have_pin = 1;
	}
	if (cfg->suites && cfg->n_suites &&
	    (cfg->n_suites > SGA_MAX_SUITES || sga_suite_list_check(cfg->suites, cfg->n_suites)))
		return fail(c, -SGA_CLIENT_E_CONFIG, "suites: 1..8 distinct known suite ids");
	if (cfg->window > SGA_CLIENT_WINDOW_MAX)
		return fail(c, -SGA_CLIENT_E_CONFIG, "window: at most %d", SGA_CLIENT_WINDOW_MAX);
	if (cfg->group && !sga_group_get(cfg->group))
		return fail(c, -SGA_CLIENT_E_CONFIG, "group: %u is not a group this build knows",
		            cfg->group);
	c->group = cfg->group;
	c->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : DEF_TIMEOUT_MS;
	c->rto_ms = cfg->rto_ms ? cfg->rto_ms : DEF_RTO_MS;
	c->rto_max_ms = cfg->rto_max_ms ? cfg->rto_max_ms : DEF_RTO_MAX_MS;
	if (c->rto_max_ms < c->rto_ms)
		c->rto_max_ms = c->rto_ms;
	c->rto_min_ms = cfg->rto_min_ms ? cfg->rto_min_ms : DEF_RTO_MIN_MS;
	if (c->rto_min_ms > c->rto_ms)
		c->rto_min_ms = c->rto_ms;
	c->max_retries = cfg->max_retries ? cfg->max_retries : DEF_RETRIES;
	if (c->max_retries > UINT16_MAX - 1)
		c->max_retries = UINT16_MAX - 1; /* the exchange counts its tries in 16 bits */
	c->window = cfg->window ? cfg->window : DEF_WINDOW;
	c->gap_timeout_ms = cfg->gap_timeout_ms;
	/* Ring sizes are powers of two from SGA_CLIENT_RX_RING up. */
	c->rx_max = SGA_CLIENT_RX_RING;
	while (c->rx_max < (cfg->recv_queue ? cfg->recv_queue : DEF_RECV_QUEUE) &&
	       c->rx_max < SGA_CLIENT_RX_MAX)
		c->rx_max *= 2;
	return 0;
}

static int open_socket(struct sga_client *c, const struct sga_client_config *cfg)
{
	const int family = c->gw_addr.ss_family;
	struct sockaddr_storage local;
	socklen_t local_len =
	    family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int sz = RCVBUF_BYTES;

	memset(&local, 0, sizeof(local));
	local.ss_family = (sa_family_t)family;
	c->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		c->sys_errno = errno;
		return fail(c, -SGA_CLIENT_E_IO, "socket: %s", strerror(errno));
	}
	/* Best effort: a burst of DATA_DOWN must not overflow a small default. */
	(void)setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (cfg->bind_ip || cfg->bind_port) {
		/* The local address is of the gateway's family (the port alone:
		 * any address of it). */
		if (cfg->bind_ip) {
			if (addr_parse(cfg->bind_ip, cfg->bind_port, &local, &local_len) ||
			    local.ss_family != family)
				return fail(
				    c, -SGA_CLIENT_E_CONFIG,
				    "bind address: not an %s address (the gateway's family)",
				    family == AF_INET6 ? "IPv6" : "IPv4");
		} else if (family == AF_INET6) {
			((struct sockaddr_in6 *)&local)->sin6_port = htons(cfg->bind_port);
		} else {
			((struct sockaddr_in *)&local)->sin_port = htons(cfg->bind_port);
		}
		if (bind(c->fd, (struct sockaddr *)&local, local_len)) {
			c->sys_errno = errno;
			return fail(c, -SGA_CLIENT_E_IO, "bind %s port %u: %s",
			            cfg->bind_ip ? cfg->bind_ip : "any address", cfg->bind_port,
			            strerror(errno));
		}
	}
	/* Connected: only the gateway's datagrams reach us, and ICMP errors do. */
	if (connect(c->fd, (struct sockaddr *)&c->gw_addr, c->gw_addr_len)) {
		c->sys_errno = errno;
		return fail(c, -SGA_CLIENT_E_IO, "connect to the gateway: %s", strerror(errno));
	}
	return 0;
}

/* Fetch the package with PKG_REQ; c->st.pkg_fp holds the pin. */
static int fetch_package(struct sga_client *c)
{
	int rc;

	client_log(c, 1, "fetching the gateway package (PKG_REQ)");
	op_start(c, OP_PKG);
	rc = sga_pkg_req_encode(c->group, c->op.frame[0], SGA_FRAME_MAX, &c->op.len[0]);
	if (rc)
		return fail(c, rc, "cannot build PKG_REQ");
	c->op.n_frames = 1;
	return send_and_run_op(c);
}

/* errno for a failed sga_client_open. */
static int errno_of(const struct sga_client *c, int rc)
{
	switch (-rc) {
	case SGA_CLIENT_E_CONFIG:
		return c->sys_errno == EBADMSG ? EBADMSG : EINVAL;
	case SGA_CLIENT_E_TIMEOUT:
		return ETIMEDOUT;
	case SGA_CLIENT_E_UNREACHABLE:
		return ECONNREFUSED;
	case SGA_CLIENT_E_IO:
		return c->sys_errno ? c->sys_errno : EIO;
	case SGA_E_BAD_PACKAGE:
		return EBADMSG;
	default:
		return EPROTO;
	}
}

static int open_client(struct sga_client *c, const struct sga_client_config *cfg)
{
	struct sga_package pkg;
	uint8_t pin[SGA_SHA256_LEN], fp[SGA_SHA256_LEN];
	uint8_t body[SGA_CLIENT_PKG_MAX];
	size_t body_len = 0;
	struct sga_core_tx *slots;
	const struct sga_core_io io = {.ctx = c,
	                               .now_ms = io_now_ms,
	                               .send = io_send,
	                               .save = io_save,
	                               .event = io_event,
	                               .now_us = io_now_us};
	int have_pin = 0, have_state, rc;

	rc = parse_config(c, cfg, pin, &have_pin);
	if (rc)
		return rc;
	c->state_path = strdup(cfg->state_path);
	slots = calloc(c->window, sizeof(*slots));
	c->rx_cap = SGA_CLIENT_RX_RING;
	c->rx = calloc(c->rx_cap, sizeof(*c->rx));
	c->slots = slots;
	if (!c->state_path || !slots || !c->rx) {
		c->sys_errno = ENOMEM;
		return fail(c, -SGA_CLIENT_E_IO, "out of memory");
	}

	/* The state file: an existing identity, or none yet. */
	rc = sga_state_load(c->state_path, &c->st);
	if (rc == -ENOENT) {
		have_state = 0;
	} else if (rc == -EBADMSG) {
		c->sys_errno = EBADMSG;
		return fail(c, -SGA_CLIENT_E_CONFIG,
		            "state file %s is damaged or not an SGA state file", c->state_path);
	} else if (rc) {
		c->sys_errno = -rc;
		return fail(c, -SGA_CLIENT_E_IO, "state file %s: %s", c->state_path, strerror(-rc));
	} else {
		have_state = 1;
		if (c->st.persist.id_len != strlen(cfg->id) ||
		    memcmp(c->st.persist.id, cfg->id, c->st.persist.id_len))
			return fail(c, -SGA_CLIENT_E_CONFIG,
			            "state file %s belongs to device '%.*s', not '%s'",
			            c->state_path, c->st.persist.id_len, c->st.persist.id, cfg->id);
		if (cfg->suites && cfg->n_suites &&
		    (cfg->n_suites != c->st.persist.n_suites ||
		     memcmp(cfg->suites, c->st.persist.suites, c->st.persist.n_suites)))
			return fail(
			    c, -SGA_CLIENT_E_CONFIG,
			    "suites differ from those in the state file (fixed at registration)");
	}

	/* The package: from its file, else the state file's copy, else the network. */
	if (cfg->package_path) {
		rc = sga_pkg_file_read(cfg->package_path, body, sizeof(body), &body_len);
		if (rc == -EBADMSG || (!rc && sga_package_decode(body, body_len, &pkg)))
			return fail(c, -SGA_E_BAD_PACKAGE,
			            "package file %s is not a gateway package", cfg->package_path);
		if (rc) {
			c->sys_errno = -rc;
			return fail(c, -SGA_CLIENT_E_IO, "package file %s: %s", cfg->package_path,
			            strerror(-rc));
		}
		if (sga_pkg_fingerprint(body, body_len, fp))
			return fail(c, -SGA_E_CRYPTO, "cannot hash the package");
		if (have_pin && !sga_ct_memeq(fp, pin, sizeof(fp)))
			return fail(c, -SGA_E_BAD_PACKAGE,
			            "package file %s does not match the pinned fingerprint",
			            cfg->package_path);
		if (have_state && !sga_ct_memeq(fp, c->st.pkg_fp, sizeof(fp)))
			return fail(c, -SGA_E_BAD_PACKAGE,
			            "package file %s is not the package of this identity's gateway",
			            cfg->package_path);
		memcpy(c->st.pkg, body, body_len);
		c->st.pkg_len = body_len;
		memcpy(c->st.pkg_fp, fp, sizeof(fp));
	} else if (have_state) {
		if (!sga_ct_memeq(pin, c->st.pkg_fp, sizeof(pin)))
			return fail(
			    c, -SGA_E_BAD_PACKAGE,
			    "the pinned fingerprint is not that of the package in the state file");
	} else {
		memcpy(c->st.pkg_fp, pin, sizeof(pin));
	}

	rc = open_socket(c, cfg);
	if (rc)
		return rc;
	if (!c->st.pkg_len) {
		rc = fetch_package(c);
		if (rc)
			return rc;
	}
	if (sga_package_decode(c->st.pkg, c->st.pkg_len, &pkg))
		return fail(c, -SGA_E_BAD_PACKAGE, "the gateway package is malformed");
	if (c->group && pkg.group != c->group) {
		const struct sga_group_info *want = sga_group_get(c->group),
		                            *got = sga_group_get(pkg.group);

		return fail(c, -SGA_E_BAD_PACKAGE,
		            "group %s asked for, but the %s is of the %s profile", want->name,
		            cfg->package_path ? "package file" : "pinned package",
		            got ? got->name : "unknown");
	}

	/* The device core: the stored identity, or a fresh one (its k_d drawn
	 * and written to the state file before any REG_REQ carries it). */
	{
		const uint8_t *s = cfg->suites && cfg->n_suites ? cfg->suites : default_suites;
		uint8_t n = (uint8_t)(cfg->suites && cfg->n_suites ? cfg->n_suites
		                                                   : sizeof(default_suites));

		rc = sga_core_init(&c->core, &io, c->st.pkg, c->st.pkg_len,
		                   have_state ? &c->st.persist : NULL, (const uint8_t *)cfg->id,
		                   (uint8_t)strlen(cfg->id), s, n);
	}
	if (rc)
		return rc == -SGA_E_INTERNAL && c->save_rc
		           ? c->save_rc
		           : fail(c, rc, "cannot set up the device: %s", sga_err_desc(rc));
	c->core_ready = 1;
	{
		/* The core's exchanges (registration, k_d rekey, WAKE) make the
		 * SDK's 1 + max_retries tries (at most 65,535: parse_config). */
		const struct sga_core_params p = {
		    .rto_ms = c->rto_ms,
		    .rto_min_ms = c->rto_min_ms,
		    .rto_max_ms = c->rto_max_ms,
		    .timeout_ms = c->timeout_ms,
		    .ctl_tries = (uint16_t)(1 + c->max_retries),
		    .window = (uint16_t)c->window,
		    .slots = slots,
		};

		if (sga_core_configure(&c->core, &p))
			return fail(c, -SGA_CLIENT_E_CONFIG, "invalid timings or window");
	}
	if (have_state)
		client_log(c, 1, "device %s loaded from %s (%s, up %llu, down %llu)", cfg->id,
		           c->state_path, c->core.dev.registered ? "registered" : "not registered",
		           (unsigned long long)c->core.dev.up_ctr,
		           (unsigned long long)c->core.dev.down_ctr);
	else
		client_log(c, 1, "new identity %s written to %s", cfg->id, c->state_path);
	return 0;
}

struct sga_client *sga_client_open(const struct sga_client_config *cfg, int *err)
{
	struct sga_client *c;
	int rc, e;

	if (err)
		*err = 0;
	if (!cfg) {
		if (err)
			*err = -SGA_CLIENT_E_CONFIG;
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		if (err)
			*err = -SGA_CLIENT_E_IO;
		errno = ENOMEM;
		return NULL;
	}
	c->fd = -1;
	errno = 0;
	rc = open_client(c, cfg);
	if (!rc) {
		c->detail[0] = '\0';
		return c;
	}
	e = errno_of(c, rc);
	if (err)
		*err = rc;
	sga_client_close(c);
	errno = e;
	return NULL;
}

void sga_client_close(struct sga_client *c)
{
	if (!c)
		return;
	/* Tell the gateway what we hold before going: it can release it now
	 * rather than keep re-sending to an address that may not answer. */
	if (c->core.sess.state == SGA_DEV_S_ESTABLISHED && c->fd >= 0) {
		c->dlv_force = c->rx_hole > c->dlv_sent || c->rx_next > c->dlv_sent;
		delivered_ack(c, now_ms());
	}
	if (c->rx && c->core_ready)
		end_session(c);
	if (c->core_ready)
		sga_core_fini(&c->core); /* wipes the window slots' messages too */
	if (c->fd >= 0)
		close(c->fd);
	free(c->slots);
	free(c->rx);
	free(c->state_path);
	sga_memzero(c, sizeof(*c));
	free(c);
}

/* ---- operations ------------------------------------------------------------------- */

/* Wait for the registration, k_d rekey or WAKE the core runs (its first
 * frame went), up to the client's timeout; the core re-sends. Given up here
 * first (the timeout, an unreachable gateway), the core's is abandoned with
 * it. */
static int run_core_op(struct sga_client *c)
{
	int rc;

	c->op_deadline = now_ms() + c->timeout_ms;
	c->op_timeout_ms = c->timeout_ms;
	rc = run_op(c);
	sga_core_abandon(&c->core);
	return rc;
}

int sga_client_register(struct sga_client *c, const char *token)
{
	size_t tl = token ? strlen(token) : 0;
	int rc;

	c->detail[0] = '\0';
	if (tl > SGA_TOKEN_MAX)
		return fail(c, -SGA_E_BAD_FIELD, "enrollment token longer than %d bytes",
		            SGA_TOKEN_MAX);
	op_start(c, OP_REG);
	client_log(c, 1, "registering %.*s%s", c->core.dev.id_len, c->core.dev.id,
	           c->core.dev.registered ? " again" : "");
	rc = sga_core_register(&c->core, (const uint8_t *)token, (uint8_t)tl);
	if (rc) {
		sga_memzero(&c->op, sizeof(c->op));
		return fail(c, rc, "cannot build REG_REQ: %s", sga_err_desc(rc));
	}
	return run_core_op(c);
}

int sga_client_rekey_device(struct sga_client *c)
{
	int rc;

	c->detail[0] = '\0';
	if (!c->core.dev.registered)
		return fail(c, -SGA_E_BAD_STATE, "not registered: no key to replace yet");
	op_start(c, OP_REG);
	client_log(c, 1, "replacing the long-term key of %.*s", c->core.dev.id_len, c->core.dev.id);
	/* A replacement that stopped before its REG_ACK proposes the same key
	 * again (the core keeps it saved): whether the gateway took it or not,
	 * this converges. The key and its counter are on disk before it leaves. */
	rc = sga_core_rekey_device(&c->core);
	if (rc) {
		sga_memzero(&c->op, sizeof(c->op));
		return rc == -SGA_E_INTERNAL && c->save_rc
		           ? c->save_rc
		           : fail(c, rc, "cannot build the rekey REG_REQ: %s", sga_err_desc(rc));
	}
	return run_core_op(c);
}

int sga_client_connect(struct sga_client *c, const char *peer_id, const uint8_t *prefs,
                       size_t n_prefs)
{
	size_t pl = peer_id ? strlen(peer_id) : 0;
	int rc;

	c->detail[0] = '\0';
	if (!pl || pl > SGA_ID_MAX || !sga_id_valid((const uint8_t *)peer_id, pl))
		return fail(c, -SGA_E_BAD_FIELD,
		            "peer id: 1..32 printable ASCII characters, no spaces");
	if (!prefs || !n_prefs) {
		prefs = c->core.dev.suites;
		n_prefs = c->core.dev.n_suites;
	}
	if (n_prefs > SGA_MAX_SUITES || sga_suite_list_check(prefs, n_prefs))
		return fail(c, -SGA_E_BAD_FIELD, "suite preferences: 1..8 distinct known suites");
	if (!c->core.dev.registered)
		return fail(c, -SGA_E_BAD_STATE,
		            "device %.*s is not registered yet (register first)",
		            c->core.dev.id_len, c->core.dev.id);
	end_session(c);
	op_start(c, OP_NEG);
	c->op.peer_len = (uint8_t)pl;
	memcpy(c->op.peer, peer_id, pl);
	c->op.n_prefs = (uint8_t)n_prefs;
	memcpy(c->op.prefs, prefs, n_prefs);
	set_peer(c, (const uint8_t *)peer_id, (uint8_t)pl);
	client_log(c, 1, "asking the gateway for a session with %s", peer_id);
	rc = neg_request(c);
	if (rc) {
		sga_memzero(&c->op, sizeof(c->op));
		end_session(c);
		return rc;
	}
	rc = send_and_run_op(c);
	if (rc)
		end_session(c);
	return rc;
}

/*
 * Tell the gateway where this socket is without registering again: only a
 * fresh authenticated frame moves a device's address (PROTOCOL.md 6.3), and a
 * NEG_REQ naming the device itself is the one that starts nothing. G refuses
 * it with an authenticated NEG_RESULT (BAD_FIELD), which confirms the move.
 */
static int announce(struct sga_client *c)
{
	int rc;

	end_session(c);
	op_start(c, OP_ANNOUNCE);
	c->op.peer_len = c->core.dev.id_len;
	memcpy(c->op.peer, c->core.dev.id, c->core.dev.id_len);
	c->op.n_prefs = c->core.dev.n_suites;
	memcpy(c->op.prefs, c->core.dev.suites, c->core.dev.n_suites);
	set_peer(c, c->core.dev.id, c->core.dev.id_len);
	client_log(c, 1, "telling the gateway where %.*s is", c->core.dev.id_len, c->core.dev.id);
	rc = neg_request(c);
	if (rc) {
		sga_memzero(&c->op, sizeof(c->op));
		goto out;
	}
	rc = send_and_run_op(c);
out:
	end_session(c);
	return rc;
}

int sga_client_move(struct sga_client *c)
{
	struct sga_client_config none;
	int old = c->fd, rc;

	c->detail[0] = '\0';
	memset(&none, 0, sizeof(none)); /* no bind: a new ephemeral port */
	rc = open_socket(c, &none);
	if (rc) {
		if (c->fd >= 0 && c->fd != old)
			close(c->fd);
		c->fd = old;
		return rc;
	}
	close(old);
	c->unreach = 0;
	c->announced = 0; /* the gateway knows the old address until a fresh frame */
	client_log(c, 1, "moved to a new socket");
	return 0;
}

_Static_assert(SGA_CLIENT_WAKE_INVITES == SGA_WAKE_WANT_INVITES &&
                   SGA_CLIENT_WAKE_STORED == SGA_WAKE_WANT_STORED,
               "the SDK's WAKE flags are the wire's");

int sga_client_wake(struct sga_client *c, uint8_t flags, unsigned *invitations, unsigned *stored)
{
	int rc;

	c->detail[0] = '\0';
	if (!c->core.dev.registered)
		return fail(c, -SGA_E_BAD_STATE,
		            "device %.*s is not registered yet (register first)",
		            c->core.dev.id_len, c->core.dev.id);
	if (flags & ~SGA_WAKE_FLAGS_ALL)
		return fail(c, -SGA_E_BAD_FIELD, "unknown WAKE flags 0x%02x", flags);
	op_start(c, OP_WAKE);
	c->wake_invitations = c->wake_stored = 0;
	client_log(c, 1, "telling the gateway where %.*s is (WAKE)", c->core.dev.id_len,
	           c->core.dev.id);
	/* The core's WAKE: a new one (a new counter, saved first) at each re-send. */
	rc = sga_core_wake(&c->core, flags);
	if (rc) {
		sga_memzero(&c->op, sizeof(c->op));
		return rc == -SGA_E_INTERNAL && c->save_rc
		           ? c->save_rc
		           : fail(c, rc, "cannot build WAKE: %s", sga_err_desc(rc));
	}
	rc = run_core_op(c); /* answered or given up: a late WAKE_ACK is refused */
	if (!rc) {
		if (invitations)
			*invitations = c->wake_invitations;
		if (stored)
			*stored = c->wake_stored;
	}
	return rc;
}

int sga_client_accept(struct sga_client *c, int timeout_ms)
{
	int rc;

	c->detail[0] = '\0';
	if (!c->core.dev.registered)
		return fail(c, -SGA_E_BAD_STATE,
		            "device %.*s is not registered yet (register first)",
		            c->core.dev.id_len, c->core.dev.id);
	end_session(c);
	sga_dev_sess_wipe(&c->inv);
	c->inv_pending = 0;
	c->accepting = 1;
	if (!c->announced) {
		/* The gateway sends NEG_INVITE to the address of our last fresh
		 * authenticated frame (PROTOCOL.md 6.3). */
		rc = announce(c);
		if (rc)
			goto out;
	}
	op_start(c, OP_WAIT_INVITE);
	c->op_deadline = deadline_in(timeout_ms);
	c->op_timeout_ms = timeout_ms < 0 ? 0 : (unsigned)timeout_ms;
	if (c->inv_pending) {
		c->inv_pending = 0;
		start_accept(c);
	} else {
		client_log(c, 1, "waiting for an invitation");
	}
	rc = run_op(c);
out:
	c->accepting = 0;
	sga_dev_sess_wipe(&c->inv);
	if (rc)
		end_session(c);
	return rc;
}

/* The largest message: SGA_FRAME_MAX is one UDP datagram on a 1500-byte IPv4
 * MTU (PROTOCOL.md 4); over IPv6 the IP header is 20 bytes longer, so the
 * frame must be 20 bytes shorter to fit that MTU unfragmented (the gateway
 * drops fragments). */
static size_t msg_max(const struct sga_client *c)
{
	size_t m = sga_dev_data_max(&c->core.sess);

	if (c->gw_addr.ss_family == AF_INET6)
		m = m > SGA_IPV6_EXTRA ? m - SGA_IPV6_EXTRA : 0;
	return m;
}

int sga_client_send(struct sga_client *c, const void *msg, size_t len)
{
	uint64_t deadline, seq;
	size_t flen;
	int rc;

	if (c->closed_reason && !sga_dev_sess_confirmed(&c->core.sess))
		return fail(c, -SGA_E_SESSION_CLOSED, "the gateway closed the session (%s)",
		            sga_close_reason_name(c->closed_reason));
	if (!sga_dev_sess_confirmed(&c->core.sess))
		return fail(c, -SGA_CLIENT_E_NO_SESSION, "no established session");
	if (c->sess_err)
		return c->sess_err;
	if (len > msg_max(c))
		return fail(c, -SGA_E_OVERSIZED, "message of %zu bytes; at most %zu fit a frame",
		            len, msg_max(c));
	deadline = now_ms() + c->timeout_ms;
again:
	while (!sga_core_win_room(&c->core.win)) {
		if (c->sess_err)
			return c->sess_err;
		if (now_ms() >= deadline)
			return fail(c,
			            c->unreach ? -SGA_CLIENT_E_UNREACHABLE : -SGA_CLIENT_E_TIMEOUT,
			            "%u messages still unacknowledged after %u ms",
			            c->core.win.in_flight, c->timeout_ms);
		pump(c, deadline);
	}
	if (client_rekey_confirm_due(c)) {
		/* New keys: their confirmation takes the next e2e_seq first. */
		rc = client_rekey_send_confirm(c);
		if (rc)
			return fail(c, rc, "cannot seal the rekey confirmation: %s",
			            sga_err_desc(rc));
		goto again;
	}
	rc = sga_dev_data_seal(&c->core.sess, msg, len, c->txbuf, sizeof(c->txbuf), &flen);
	if (rc)
		return fail(c, rc, "cannot seal the message: %s", sga_err_desc(rc));
	seq = sga_dev_data_last_seq(&c->core.sess);
	(void)sga_core_win_arm(&c->core.win, seq, msg, len, now_ms(), now_us());
	c->stats.sent++;
	c->rk.since_msgs++;
	/* Queued either way: a failed send is retried by the timer, and a socket
	 * that keeps failing ends the session there. */
	(void)tx(c, c->txbuf, flen);
	return 0;
}

unsigned sga_client_send_room(const struct sga_client *c)
{
	if (!sga_dev_sess_confirmed(&c->core.sess) || c->sess_err)
		return 0;
	return sga_core_win_room(&c->core.win);
}

/* Hand out the message at rx_next if there is one: 1 delivered, 0 none. */
static int rx_take(struct sga_client *c, void *buf, size_t cap, size_t *len)
{
	struct rx_slot *r;

	rx_skip_dead(c);
	r = &c->rx[c->rx_next % c->rx_cap];
	if (!r->msg && c->rx_count && c->gap_timeout_ms) {
		/* A hole with messages behind it: give it gap_timeout_ms to fill. */
		uint64_t now = now_ms();

		if (!c->hole_since) {
			c->hole_since = now;
		} else if (now - c->hole_since >= c->gap_timeout_ms) {
			while (!c->rx[c->rx_next % c->rx_cap].msg) {
				c->rx_next++;
				c->stats.lost++;
			}
			c->hole_since = 0;
			r = &c->rx[c->rx_next % c->rx_cap];
		}
	}
	while (r->msg && r->not_app) {
		/* The peer's rekey confirmation: its place in the order, no message. */
		free(r->msg);
		r->msg = NULL;
		r->not_app = 0;
		c->rx_count--;
		c->rx_next++;
		c->hole_since = 0;
		r = &c->rx[c->rx_next % c->rx_cap];
	}
	if (!r->msg)
		return 0;
	*len = r->len;
	if (cap < r->len)
		return fail(c, -SGA_E_NOSPACE, "message of %zu bytes, buffer of %zu", r->len, cap);
	memcpy(buf, r->msg, r->len);
	sga_memzero(r->msg, r->len);
	free(r->msg);
	r->msg = NULL;
	r->len = 0;
	c->rx_count--;
	c->rx_next++;
	c->hole_since = 0;
	c->stats.received++;
	return 1;
}

int sga_client_recv(struct sga_client *c, void *buf, size_t cap, size_t *len, int timeout_ms)
{
	uint64_t deadline = deadline_in(timeout_ms);
	int rc, polled = 0;

	*len = 0;
	if (!sga_dev_sess_confirmed(&c->core.sess) && !c->rx_count && c->closed_reason)
		return fail(c, -SGA_E_SESSION_CLOSED, "the gateway closed the session (%s)",
		            sga_close_reason_name(c->closed_reason));
	if (!sga_dev_sess_confirmed(&c->core.sess) && !c->rx_count)
		return fail(c, -SGA_CLIENT_E_NO_SESSION, "no established session");
	for (;;) {
		uint64_t wake = deadline;

		rc = rx_take(c, buf, cap, len);
		if (rc)
			return rc < 0 ? rc : 0;
		if (c->closed_reason && !sga_dev_sess_confirmed(&c->core.sess))
			return fail(c, -SGA_E_SESSION_CLOSED, "the gateway closed the session (%s)",
			            sga_close_reason_name(c->closed_reason));
		if (timeout_ms == 0 && polled)
			return -SGA_CLIENT_E_TIMEOUT;
		if (timeout_ms != 0 && deadline && now_ms() >= deadline)
			return -SGA_CLIENT_E_TIMEOUT;
		if (c->hole_since && c->gap_timeout_ms) {
			uint64_t g = c->hole_since + c->gap_timeout_ms;

			if (!wake || g < wake)
				wake = g;
		}
		if (timeout_ms == 0)
			wake = now_ms();
		pump(c, wake ? wake : 0);
		polled = 1;
	}
}

int sga_client_poll(struct sga_client *c, int timeout_ms)
{
	uint64_t until = timeout_ms < 0 ? 0 : now_ms() + (uint64_t)timeout_ms;

	pump(c, timeout_ms == 0 ? now_ms() : until);
	return c->sess_err;
}

int sga_client_flush(struct sga_client *c, int timeout_ms)
{
	uint64_t deadline = deadline_in(timeout_ms);

	while (c->core.win.in_flight) {
		if (c->sess_err)
			return c->sess_err;
		if (deadline && now_ms() >= deadline)
			return fail(c,
			            c->unreach ? -SGA_CLIENT_E_UNREACHABLE : -SGA_CLIENT_E_TIMEOUT,
			            "%u messages still unacknowledged", c->core.win.in_flight);
		pump(c, deadline);
	}
	return c->sess_err;
}

int sga_client_fd(const struct sga_client *c)
{
	return c->fd;
}

size_t sga_client_max_message(const struct sga_client *c)
{
	return sga_dev_sess_confirmed(&c->core.sess) ? msg_max(c) : 0;
}

const char *sga_client_peer(const struct sga_client *c)
{
	return c->peer;
}

void sga_client_stats(const struct sga_client *c, struct sga_client_stats *st)
{
	*st = c->stats;
	/* What the core's exchange counted (registration, k_d rekey). */
	st->retransmits += c->core.stats.retransmits;
	st->duplicates += c->core.stats.duplicates;
	st->dropped += c->core.stats.dropped;
	st->cookies += c->core.stats.cookies;
	st->registered = c->core.dev.registered;
	st->established = sga_dev_sess_confirmed(&c->core.sess);
	st->suite = st->established ? c->core.sess.suite : 0;
	st->up_ctr = c->core.dev.up_ctr;
	st->down_ctr = c->core.dev.down_ctr;
	st->in_flight = c->core.win.in_flight;
	sga_hex_encode(c->st.pkg_fp, sizeof(c->st.pkg_fp), st->fingerprint);
}

int sga_client_package_fingerprint(const char *path, char hex[65])
{
	struct sga_package pkg;
	uint8_t body[SGA_CLIENT_PKG_MAX], fp[SGA_SHA256_LEN];
	size_t len = 0;
	int rc = sga_pkg_file_read(path, body, sizeof(body), &len);

	if (rc == -EBADMSG || (!rc && sga_package_decode(body, len, &pkg)))
		return -SGA_E_BAD_PACKAGE;
	if (rc) {
		errno = -rc;
		return -SGA_CLIENT_E_IO;
	}
	if (sga_pkg_fingerprint(body, len, fp))
		return -SGA_E_CRYPTO;
	sga_hex_encode(fp, sizeof(fp), hex);
	return 0;
}
