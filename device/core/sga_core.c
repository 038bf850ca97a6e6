/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_core.c - see sga_core.h. The state machine of PROTOCOL.md 10.1 over the
 * pure functions of sga_device.h / sga_close.h, with the retransmission rules
 * of 9.4: control frames re-sent as the same bytes (a NEG_REQ as a new
 * request), messages re-sealed under a fresh hop seq until a DATA_ACK names
 * them, DATA_DELIVERED after 16 messages, 20 ms, or at once when the gateway
 * re-sends one we hold.
 *
 * A gateway under load answers a REG_REQ, NEG_REQ or KEX_INIT with a
 * COOKIE_REPLY (7.13): the request goes again at once inside a COOKIE_ECHO,
 * and so do its retransmissions, as the Linux SDK does. A WAKE (7.16) runs
 * on a timer of its own, beside the exchange and the session.
 *
 * SGA_CORE_FULL (sga_core.h) adds, for a host SDK only: run-time timings and
 * window with the caller's slots, the RFC 6298 estimator and fast re-send,
 * ERROR hints, counters, session rekey (7.15). The macros below name the
 * timings either way.
 *
 * Deliberately left out (DEVICES.md says what they cost): in-order delivery
 * (messages are handed up once, as they arrive, with their e2e_seq), the
 * stash of messages that overtake the key confirmation (dropped: the storing
 * gateway sends them again), session rekey in the microcontroller build,
 * k_d rekey.
 */
#include <string.h>

#include "sga_close.h"
#include "sga_core.h"
#include "sga_cursor.h"
#include "sga_rekey.h"

#if SGA_CORE_FULL
#define RTO0(c)      ((c)->prm.rto_ms)
#define RTO_MAX(c)   ((c)->prm.rto_max_ms)
#define TRIES(c)     ((c)->prm.ctl_tries)
#define TIMEOUT(c)   ((c)->prm.timeout_ms)
#define STAT(c, f)   ((c)->stats.f++)
#define GAVE_UP(c)   ((c)->hint == SGA_E_UNAVAILABLE ? -SGA_E_UNAVAILABLE : -SGA_CORE_E_TIMEOUT)
#define NOW_US(c)    now_us(c)
#define W_SIZE(w)    ((w)->window)
#define W_RTO(w)     ((w)->data_rto)
#define W_RTO_MAX(w) ((w)->rto_max_ms)
#define W_TIMEOUT(w) ((w)->timeout_ms)
#else
#define RTO0(c)      SGA_CORE_RTO_MS
#define RTO_MAX(c)   SGA_CORE_RTO_MAX_MS
#define TRIES(c)     SGA_CORE_CTL_TRIES
#define TIMEOUT(c)   SGA_CORE_TIMEOUT_MS
#define STAT(c, f)   ((void)0)
#define GAVE_UP(c)   (-SGA_CORE_E_TIMEOUT)
#define NOW_US(c)    0
#define W_SIZE(w)    SGA_CORE_WINDOW
#define W_RTO(w)     SGA_CORE_RTO_MS
#define W_RTO_MAX(w) SGA_CORE_RTO_MAX_MS
#define W_TIMEOUT(w) SGA_CORE_TIMEOUT_MS
#endif

static uint64_t now(const struct sga_core *c)
{
	return c->io.now_ms(c->io.ctx);
}

static void emit(struct sga_core *c, uint8_t type, int status, uint64_t seq, const uint8_t *data,
                 size_t len)
{
	struct sga_core_event ev = {type, status, seq, data, len};

	if (c->io.event)
		c->io.event(c->io.ctx, &ev);
}

static void tx(struct sga_core *c, const uint8_t *f, size_t n)
{
	(void)c->io.send(c->io.ctx, f, n); /* a failure is a loss: the timers re-send */
}

/* A request of a cookie type (REG_REQ, NEG_REQ, KEX_INIT): inside a
 * COOKIE_ECHO once the gateway gave a cookie for these very bytes (the cookie
 * binds the frame), as it is otherwise. */
static void tx_req(struct sga_core *c, const uint8_t *f, size_t n)
{
	uint8_t d[SGA_COOKIE_DIGEST_LEN];
	size_t len;

	if (c->has_cookie && !sga_cookie_digest(f, n, d) && !memcmp(d, c->cookie_for, sizeof(d)) &&
	    n <= sizeof(c->frame)) {
		if (f != c->frame)
			memcpy(c->frame, f, n);
		if (!sga_cookie_echo_encode(c->cookie, c->frame, n, c->frame, sizeof(c->frame),
		                            &len)) {
			tx(c, c->frame, len);
			return;
		}
	}
	tx(c, f, n);
}

int sga_core_save(struct sga_core *c)
{
	struct sga_core_persist st;
	int rc;

	memset(&st, 0, sizeof(st));
	sga_core_persist_from_dev(&st, &c->dev);
#if SGA_CORE_FULL
	st.has_k_d_next = c->kd_has_next;
	memcpy(st.k_d_next, c->kd_next, sizeof(st.k_d_next));
#endif
	rc = c->io.save(c->io.ctx, &st) ? -SGA_E_INTERNAL : 0;
	sga_memzero(&st, sizeof(st));
	return rc;
}

/* ---- the send window ------------------------------------------------------------ */

static uint32_t doubled(uint32_t rto, uint32_t max)
{
	return rto * 2 > max ? max : rto * 2;
}

static uint64_t earlier(uint64_t a, uint64_t b)
{
	return !a ? b : !b ? a : a < b ? a : b;
}

#if SGA_CORE_FULL
int sga_core_win_init(struct sga_core_win *w, const struct sga_core_params *p)
{
	if (!p->rto_ms || !p->rto_min_ms || p->rto_min_ms > p->rto_max_ms || !p->timeout_ms ||
	    !p->window || !p->slots)
		return -SGA_E_BAD_FIELD;
	memset(w, 0, sizeof(*w));
	w->tx = p->slots;
	w->window = p->window;
	w->rto_min_ms = p->rto_min_ms;
	w->rto_max_ms = p->rto_max_ms;
	w->timeout_ms = p->timeout_ms;
	sga_core_win_reset(w, p->rto_ms);
	return 0;
}

/* RFC 6298 over DATA_UP -> DATA_ACK round trips of messages sent once
 * (Karn's rule): the first timeout of new messages, within the bounds. */
static void rtt_sample(struct sga_core_win *w, uint64_t r_us)
{
	uint64_t rto;

	if (!w->rtt_valid) {
		w->srtt_us = r_us;
		w->rttvar_us = r_us / 2;
		w->rtt_valid = 1;
	} else {
		uint64_t d = w->srtt_us > r_us ? w->srtt_us - r_us : r_us - w->srtt_us;

		w->rttvar_us = (3 * w->rttvar_us + d) / 4;
		w->srtt_us = (7 * w->srtt_us + r_us) / 8;
	}
	rto = (w->srtt_us + (4 * w->rttvar_us > 1000 ? 4 * w->rttvar_us : 1000) + 999) / 1000;
	if (rto < w->rto_min_ms)
		rto = w->rto_min_ms;
	if (rto > w->rto_max_ms)
		rto = w->rto_max_ms;
	w->data_rto = (uint32_t)rto;
}
#endif

void sga_core_win_reset(struct sga_core_win *w, uint32_t rto_ms)
{
	for (unsigned i = 0; i < W_SIZE(w); i++)
		sga_memzero(&w->tx[i], sizeof(w->tx[i]));
	w->base = w->next = 0;
#if SGA_CORE_FULL
	w->in_flight = 0;
	w->rtt_valid = 0; /* a new session may take another path */
	w->data_rto = rto_ms;
#else
	(void)rto_ms;
#endif
}

struct sga_core_tx *sga_core_win_arm(struct sga_core_win *w, uint64_t seq, const uint8_t *msg,
                                     size_t len, uint64_t now_ms, uint64_t now_us)
{
	struct sga_core_tx *t = &w->tx[seq % W_SIZE(w)];

	t->used = 1;
	t->seq = seq;
	t->len = (uint16_t)len;
	if (len)
		memcpy(t->msg, msg, len);
	t->tries = 1;
	t->rto = W_RTO(w);
	t->next_ms = now_ms + t->rto;
	t->give_up_ms = now_ms + W_TIMEOUT(w);
#if SGA_CORE_FULL
	t->sent_us = now_us;
	t->stamp = ++w->stamp;
	t->later = 0;
	w->in_flight++;
#else
	(void)now_us;
#endif
	w->next = seq + 1;
	return t;
}

unsigned sga_core_win_room(const struct sga_core_win *w)
{
	if (w->tx[w->next % W_SIZE(w)].used)
		return 0;
	return W_SIZE(w) - (unsigned)(w->next - w->base);
}

int sga_core_win_ack(struct sga_core_win *w, uint64_t seq, uint64_t now_us)
{
	struct sga_core_tx *t = &w->tx[seq % W_SIZE(w)];

	if (!t->used || t->seq != seq)
		return 0; /* acknowledged before (the gateway names it again) */
#if SGA_CORE_FULL
	if (t->tries == 1)
		rtt_sample(w, now_us - t->sent_us);
	for (unsigned i = 0; i < W_SIZE(w); i++) {
		struct sga_core_tx *o = &w->tx[i];

		if (o->used && o != t && o->stamp < t->stamp)
			o->later++;
	}
	w->in_flight--;
#else
	(void)now_us;
#endif
	sga_memzero(t->msg, t->len);
	sga_memzero(t, offsetof(struct sga_core_tx, msg));
	while (w->base < w->next && !w->tx[w->base % W_SIZE(w)].used)
		w->base++;
	return 1;
}

struct sga_core_tx *sga_core_win_lost(struct sga_core_win *w)
{
#if SGA_CORE_FULL
	for (unsigned i = 0; i < W_SIZE(w); i++)
		if (w->tx[i].used && w->tx[i].later >= SGA_CORE_FAST_RESEND)
			return &w->tx[i];
#else
	(void)w;
#endif
	return NULL;
}

struct sga_core_tx *sga_core_win_due(struct sga_core_win *w, uint64_t now_ms)
{
	for (unsigned i = 0; i < W_SIZE(w); i++)
		if (w->tx[i].used && now_ms >= w->tx[i].next_ms)
			return &w->tx[i];
	return NULL;
}

void sga_core_win_resent(struct sga_core_win *w, struct sga_core_tx *t, uint64_t now_ms,
                         int backoff)
{
	if (t->tries < UINT8_MAX)
		t->tries++;
#if SGA_CORE_FULL
	t->stamp = ++w->stamp;
	t->later = 0;
	if (backoff)
		t->rto = doubled(t->rto, W_RTO_MAX(w));
	t->next_ms = now_ms + t->rto < t->give_up_ms ? now_ms + t->rto : t->give_up_ms;
#else
	(void)w;
	(void)backoff;
	t->rto = doubled(t->rto, W_RTO_MAX(w));
	t->next_ms = now_ms + t->rto;
#endif
}

uint64_t sga_core_win_next_ms(const struct sga_core_win *w)
{
	uint64_t due = 0;

	for (unsigned i = 0; i < W_SIZE(w); i++)
		if (w->tx[i].used)
			due = earlier(due, w->tx[i].next_ms);
	return due;
}

int sga_core_is_confirm(const struct sga_dev_sess *s, uint64_t seq)
{
#if SGA_CORE_FULL
	if (s->rk.gen && seq == s->rk.tx_from)
		return 1; /* the rekey's confirmation, re-sealed as itself */
#else
	(void)s; /* no rekey in the microcontroller build */
#endif
	return seq == 0;
}

int sga_core_win_confirm(struct sga_core_win *w, struct sga_dev_sess *s, uint8_t *f, size_t cap,
                         size_t *len, uint64_t now_ms, uint64_t now_us)
{
	uint64_t seq = 0;
	int rc;

#if SGA_CORE_FULL
	if (s->rk.gen) {
		seq = s->rk.tx_from;
		rc = sga_dev_create_rekey_confirm(s, f, cap, len);
	} else {
		rc = sga_dev_create_key_confirm(s, f, cap, len);
	}
#else
	rc = sga_dev_create_key_confirm(s, f, cap, len);
#endif
	if (rc)
		return rc;
	if (!seq)
		w->base = 0; /* the session's first */
	(void)sga_core_win_arm(w, seq, NULL, 0, now_ms, now_us);
	return 0;
}

int sga_core_reseal(struct sga_dev_sess *s, const struct sga_core_tx *t, uint8_t *f, size_t cap,
                    size_t *len)
{
	if (t->seq == 0)
		return sga_dev_create_key_confirm(s, f, cap, len);
#if SGA_CORE_FULL
	if (sga_core_is_confirm(s, t->seq))
		return sga_dev_create_rekey_confirm(s, f, cap, len);
#endif
	return sga_dev_data_reseal(s, t->seq, t->msg, t->len, f, cap, len);
}

/* ---- set-up ---------------------------------------------------------------------- */

int sga_core_init(struct sga_core *c, const struct sga_core_io *io, const uint8_t *pkg_body,
                  size_t pkg_len, const struct sga_core_persist *saved, const uint8_t *id,
                  uint8_t id_len, const uint8_t *suites, uint8_t n_suites)
{
	struct sga_package pkg;
	int rc;

	memset(c, 0, sizeof(*c));
	if (!io || !io->now_ms || !io->send || !io->save)
		return -SGA_E_BAD_FIELD;
	c->io = *io;
#if SGA_CORE_FULL
	c->prm.rto_ms = SGA_CORE_RTO_MS;
	c->prm.rto_min_ms = SGA_CORE_RTO_MIN_MS;
	c->prm.rto_max_ms = SGA_CORE_RTO_MAX_MS;
	c->prm.timeout_ms = SGA_CORE_TIMEOUT_MS;
	c->prm.ctl_tries = SGA_CORE_CTL_TRIES;
	c->prm.window = SGA_CORE_WINDOW;
	c->prm.slots = c->tx_own;
	if (sga_core_win_init(&c->win, &c->prm))
		return -SGA_E_INTERNAL;
#endif
	if (sga_package_decode(pkg_body, pkg_len, &pkg))
		return -SGA_E_BAD_PACKAGE;
	if (saved) {
		id = saved->id;
		id_len = saved->id_len;
		suites = saved->suites;
		n_suites = saved->n_suites;
	}
	if (!suites || !n_suites)
		return -SGA_E_BAD_FIELD;
	rc = sga_dev_init(&c->dev, &pkg, id, id_len, saved ? saved->suite_init : suites[0], suites,
	                  n_suites);
	if (rc)
		return rc;
	if (saved) {
		sga_core_dev_from_persist(&c->dev, saved);
#if SGA_CORE_FULL
		c->kd_has_next = saved->has_k_d_next;
		memcpy(c->kd_next, saved->k_d_next, sizeof(c->kd_next));
#endif
		return 0;
	}
	/* A new identity: its k_d is durable before any REG_REQ carries it. */
	rc = sga_core_save(c);
	if (rc)
		sga_core_fini(c);
	return rc;
}

void sga_core_fini(struct sga_core *c)
{
#if SGA_CORE_FULL
	if (c->win.tx)
		sga_core_win_reset(&c->win, 0); /* the caller's slots are not in *c */
#endif
	sga_dev_sess_wipe(&c->sess);
	sga_dev_fini(&c->dev);
	sga_memzero(c, sizeof(*c));
}

/* ---- the control exchange ---------------------------------------------------- */

#if SGA_CORE_FULL
int sga_core_configure(struct sga_core *c, const struct sga_core_params *p)
{
	struct sga_core_params q = *p;
	struct sga_core_win w;
	int rc;

	if (c->sess.state != SGA_DEV_S_IDLE || c->win.next)
		return -SGA_E_BAD_STATE;
	if (!q.slots && q.window > SGA_CORE_WINDOW)
		return -SGA_E_BAD_FIELD;
	if (!q.slots)
		q.slots = c->tx_own;
	if (!q.ctl_tries)
		return -SGA_E_BAD_FIELD;
	rc = sga_core_win_init(&w, &q);
	if (rc)
		return rc;
	sga_core_win_reset(&c->win, 0); /* what the old slots held */
	c->win = w;
	c->prm = q;
	return 0;
}

static uint64_t now_us(const struct sga_core *c)
{
	return c->io.now_us ? c->io.now_us(c->io.ctx) : now(c) * 1000;
}
#endif

void sga_core_xt_start(struct sga_core_xt *t, uint32_t rto0)
{
	t->next_ms = 0;
	t->rto = rto0;
	t->tries = 0;
	t->echoes = 0;
}

void sga_core_xt_arm(struct sga_core_xt *t, uint64_t now_ms, uint32_t rto_max)
{
	t->echoes = 0; /* a cookie may again be answered at once */
	t->tries++;
	t->next_ms = now_ms + t->rto;
	t->rto = doubled(t->rto, rto_max);
}

int sga_core_xt_due(const struct sga_core_xt *t, uint64_t now_ms)
{
	return t->next_ms && now_ms >= t->next_ms;
}

int sga_core_xt_echo(struct sga_core_xt *t)
{
	if (t->echoes >= 2)
		return 0;
	t->echoes++;
	return 1;
}

static void op_timer_arm(struct sga_core *c)
{
	sga_core_xt_arm(&c->ctl_xt, now(c), RTO_MAX(c));
}

static void op_start(struct sga_core *c, uint8_t op)
{
	c->op = op;
	sga_core_xt_start(&c->ctl_xt, RTO0(c));
	c->op_deadline_ms = 0;
	c->has_cookie = 0; /* a cookie is bound to a request of the exchange */
#if SGA_CORE_FULL
	if (op != SGA_CORE_OP_NONE)
		c->hint = 0; /* a new exchange; the last one's hint stays readable until then */
	c->kd_op = 0;
#endif
}

/* Forget the session: keys, messages in flight, delivery state. */
static void end_session(struct sga_core *c)
{
	sga_dev_sess_wipe(&c->sess);
	sga_core_win_reset(&c->win, RTO0(c));
	c->dlv_sent = c->dlv_since = 0;
	c->dlv_force = c->dlv_count = 0;
	c->ctl_len = 0;
#if SGA_CORE_FULL
	c->rk_xt.next_ms = 0;
	c->rk_want = c->rk_confirm_due = 0;
#endif
	if (c->op != SGA_CORE_OP_REG)
		op_start(c, SGA_CORE_OP_NONE);
}

static void session_failed(struct sga_core *c, int status)
{
	end_session(c);
	op_start(c, SGA_CORE_OP_NONE);
	emit(c, SGA_CORE_EV_SESSION_FAILED, status, 0, NULL, 0);
}

int sga_core_register(struct sga_core *c, const uint8_t *token, uint8_t token_len)
{
	size_t len;
	int rc;

	if (c->op != SGA_CORE_OP_NONE)
		return -SGA_E_BAD_STATE;
	rc = sga_dev_create_reg_req(&c->dev, token, token_len, 0, c->ctl, sizeof(c->ctl), &len);
	if (rc)
		return rc;
	c->ctl_len = (uint16_t)len;
	op_start(c, SGA_CORE_OP_REG);
	tx_req(c, c->ctl, c->ctl_len);
	op_timer_arm(c);
	return 0;
}

#if SGA_CORE_FULL
void sga_core_abandon(struct sga_core *c)
{
	if (c->wake_xt.next_ms) {
		c->wake_xt.next_ms = 0;
		sga_core_wake_end(&c->dev); /* a late WAKE_ACK is refused */
	}
	if (c->op != SGA_CORE_OP_REG)
		return;
	c->ctl_len = 0;
	op_start(c, SGA_CORE_OP_NONE);
}

int sga_core_rekey_device(struct sga_core *c)
{
	size_t len;
	int rc;

	if (c->op != SGA_CORE_OP_NONE)
		return -SGA_E_BAD_STATE;
	rc = sga_core_kd_req(&c->dev, c->kd_has_next ? c->kd_next : NULL, c->ctl, sizeof(c->ctl),
	                     &len, c->kd_next);
	if (rc)
		return rc;
	/* The key and the counter it took, durable before the REG_REQ leaves:
	 * restarted before the REG_ACK, the device proposes the same key. */
	c->kd_has_next = 1;
	rc = sga_core_save(c);
	if (rc)
		return rc;
	c->ctl_len = (uint16_t)len;
	op_start(c, SGA_CORE_OP_REG);
	c->kd_op = 1;
	tx_req(c, c->ctl, c->ctl_len);
	op_timer_arm(c);
	return 0;
}
#endif

/* A1: a new request each time (new counter, new k_t), saved before it
 * leaves; kept in ctl, for a COOKIE_REPLY that names it. */
static int neg_send(struct sga_core *c)
{
	size_t len;
	int rc = sga_dev_create_neg_req(&c->dev, &c->sess, c->peer, c->peer_len, c->dev.suites,
	                                c->dev.n_suites, c->ctl, sizeof(c->ctl), &len);

	if (!rc)
		rc = sga_core_save(c);
	if (!rc) {
		c->ctl_len = (uint16_t)len;
		tx_req(c, c->ctl, c->ctl_len);
	}
	return rc;
}

int sga_core_connect(struct sga_core *c, const uint8_t *peer, uint8_t peer_len)
{
	int rc;

	if (c->op != SGA_CORE_OP_NONE || c->sess.state != SGA_DEV_S_IDLE)
		return -SGA_E_BAD_STATE;
	if (!c->dev.registered)
		return -SGA_E_BAD_STATE;
	if (!sga_id_valid(peer, peer_len))
		return -SGA_E_BAD_FIELD;
	memcpy(c->peer, peer, peer_len);
	c->peer_len = peer_len;
	op_start(c, SGA_CORE_OP_NEG);
	rc = neg_send(c);
	if (rc) {
		end_session(c);
		return rc;
	}
	op_timer_arm(c);
	return 0;
}

void sga_core_accept(struct sga_core *c, int on)
{
	c->accepting = on ? 1 : 0;
}

/* B1/B3: the same bytes on every call (sga_dev_create_kex_init keeps them). */
static void kex_send(struct sga_core *c)
{
	size_t len;

	if (c->ctl_len)
		tx(c, c->ctl, c->ctl_len); /* the responder's NEG_ACCEPT goes with it */
	if (!sga_dev_create_kex_init(&c->dev, &c->sess, c->frame, sizeof(c->frame), &len))
		tx_req(c, c->frame, len);
}

static void op_timer(struct sga_core *c, uint64_t t)
{
	size_t len;

	if (c->op_deadline_ms && t >= c->op_deadline_ms) {
		if (c->op == SGA_CORE_OP_CLOSE) {
			end_session(c);
			emit(c, SGA_CORE_EV_CLOSED, 0, 0, NULL, 0);
		} else {
			session_failed(c, -SGA_CORE_E_TIMEOUT);
		}
		return;
	}
	if (!sga_core_xt_due(&c->ctl_xt, t))
		return;
	if (c->op == SGA_CORE_OP_CLOSE) {
		/* Fresh nonce each time; the deadline ends it. */
		if (!sga_dev_create_session_close(&c->sess, c->frame, sizeof(c->frame), &len))
			tx(c, c->frame, len);
		STAT(c, retransmits);
		op_timer_arm(c);
		return;
	}
	if (c->ctl_xt.tries >= TRIES(c)) {
		uint8_t op = c->op;
		int status = GAVE_UP(c);

		c->ctl_xt.next_ms = 0;
		if (op == SGA_CORE_OP_REG) {
#if SGA_CORE_FULL
			uint8_t type = c->kd_op ? SGA_CORE_EV_KEY_REPLACED : SGA_CORE_EV_REG_FAILED;
#else
			const uint8_t type = SGA_CORE_EV_REG_FAILED;
#endif
			op_start(c, SGA_CORE_OP_NONE);
			emit(c, type, status, 0, NULL, 0);
		} else {
			session_failed(c, status);
		}
		return;
	}
	STAT(c, retransmits);
	switch (c->op) {
	case SGA_CORE_OP_REG:
		tx_req(c, c->ctl, c->ctl_len);
		break;
	case SGA_CORE_OP_NEG:
		if (neg_send(c)) {
			session_failed(c, -SGA_E_INTERNAL);
			return;
		}
		break;
	case SGA_CORE_OP_KEX:
		kex_send(c);
		break;
	default:
		c->ctl_xt.next_ms = 0;
		return;
	}
	op_timer_arm(c);
}

/* ---- WAKE (7.16) ------------------------------------------------------------------ */

/* A new WAKE each time (new up counter: a WAKE_ACK answers the latest only),
 * durable before it leaves. */
static int wake_send(struct sga_core *c)
{
	size_t len;
	int rc = sga_core_wake_req(&c->dev, c->wake_flags, c->frame, sizeof(c->frame), &len);

	if (!rc)
		rc = sga_core_save(c);
	if (!rc)
		tx(c, c->frame, len);
	sga_core_xt_arm(&c->wake_xt, now(c), RTO_MAX(c));
	return rc;
}

int sga_core_wake(struct sga_core *c, uint8_t flags)
{
	int rc;

	if (!c->dev.registered || c->wake_xt.next_ms)
		return -SGA_E_BAD_STATE;
	c->wake_flags = flags;
	sga_core_xt_start(&c->wake_xt, RTO0(c));
#if SGA_CORE_FULL
	if (c->op == SGA_CORE_OP_NONE)
		c->hint = 0;
#endif
	rc = wake_send(c);
	if (rc) {
		c->wake_xt.next_ms = 0;
		sga_core_wake_end(&c->dev);
	}
	return rc;
}

static void wake_timer(struct sga_core *c, uint64_t t)
{
	if (!sga_core_xt_due(&c->wake_xt, t))
		return;
	if (c->wake_xt.tries >= TRIES(c) || (STAT(c, retransmits), wake_send(c))) {
		c->wake_xt.next_ms = 0;
		sga_core_wake_end(&c->dev); /* a late WAKE_ACK is refused */
		emit(c, SGA_CORE_EV_WOKEN, GAVE_UP(c), 0, NULL, 0);
	}
}

static void on_wake_ack(struct sga_core *c, const uint8_t *f, size_t n)
{
	struct sga_wake_ack_plain ack;

	if (sga_core_wake_ack(&c->dev, f, n, &ack)) {
		STAT(c, dropped);
		return; /* forged, the answer to an earlier WAKE, or none waits */
	}
	c->wake_xt.next_ms = 0;
	emit(c, SGA_CORE_EV_WOKEN, 0, ack.stored, NULL, ack.invitations);
}

/* ---- data: sending ------------------------------------------------------------ */

int sga_core_send(struct sga_core *c, const uint8_t *msg, size_t len, uint64_t *seq)
{
	size_t flen;
	uint64_t s;
	int rc;

	if (!sga_dev_sess_confirmed(&c->sess) || c->op == SGA_CORE_OP_CLOSE)
		return -SGA_E_BAD_STATE;
	if (len > SGA_CORE_MSG_MAX || len > sga_dev_data_max(&c->sess))
		return -SGA_E_OVERSIZED;
	if (!sga_core_send_room(c))
		return -SGA_E_NOSPACE;
	rc = sga_dev_data_seal(&c->sess, msg, len, c->frame, sizeof(c->frame), &flen);
	if (rc)
		return rc;
	s = sga_dev_data_last_seq(&c->sess);
	(void)sga_core_win_arm(&c->win, s, msg, len, now(c), NOW_US(c));
	if (seq)
		*seq = s;
	tx(c, c->frame, flen);
	return 0;
}

unsigned sga_core_send_room(const struct sga_core *c)
{
	if (!sga_dev_sess_confirmed(&c->sess) || c->op == SGA_CORE_OP_CLOSE)
		return 0;
#if SGA_CORE_FULL
	if (c->rk_confirm_due)
		return 0; /* the new keys' confirmation goes first */
#endif
	return sga_core_win_room(&c->win);
}

/* Re-seal slot t: same e2e_seq and message bytes, a fresh hop seq. A
 * re-send the timer fired backs the slot's timeout off; a fast one (later
 * messages were acknowledged first, SGA_CORE_FULL) does not. */
static void tx_resend(struct sga_core *c, struct sga_core_tx *t, uint64_t t0, int backoff)
{
	size_t len;
	int rc;

	if (t0 >= t->give_up_ms) {
		session_failed(c, -SGA_CORE_E_TIMEOUT);
		return;
	}
	rc = sga_core_reseal(&c->sess, t, c->frame, sizeof(c->frame), &len);
	if (rc) {
		session_failed(c, rc);
		return;
	}
	tx(c, c->frame, len);
	STAT(c, retransmits);
	sga_core_win_resent(&c->win, t, t0, backoff);
}

static void on_ack(struct sga_core *c, const uint8_t *f, size_t n)
{
	struct sga_data_ack_plain ack;
	uint64_t seq, end;
	int rc = -SGA_E_BAD_STATE;
#if SGA_CORE_FULL
	unsigned fresh = 0;
#endif

	if (c->sess.state != SGA_DEV_S_ESTABLISHED ||
	    (rc = sga_dev_ack_open(&c->sess, f, n, &ack))) {
#if SGA_CORE_FULL
		if (rc == -SGA_E_REPLAY)
			STAT(c, duplicates);
		else
			STAT(c, dropped);
#endif
		return;
	}
	seq = ack.top > SGA_DATA_ACK_SPAN ? ack.top - SGA_DATA_ACK_SPAN : 0;
	if (seq < c->win.base)
		seq = c->win.base;
	end = ack.top < c->win.next ? ack.top : c->win.next;
	for (; seq < end; seq++) {
		if (!sga_data_ack_names(&ack, seq) || !sga_core_win_ack(&c->win, seq, NOW_US(c)))
			continue; /* not named, or acknowledged before */
#if SGA_CORE_FULL
		fresh++;
		if (!sga_core_is_confirm(&c->sess, seq))
			STAT(c, acked);
		/* Fast re-send: what SGA_CORE_FAST_RESEND later messages overtook was lost. */
		for (struct sga_core_tx *o;
		     c->sess.state == SGA_DEV_S_ESTABLISHED && (o = sga_core_win_lost(&c->win));)
			tx_resend(c, o, now(c), 0);
		if (c->sess.state != SGA_DEV_S_ESTABLISHED)
			return; /* a re-send gave up */
#endif
		if (!sga_core_is_confirm(&c->sess, seq)) /* ours, not the application's */
			emit(c, SGA_CORE_EV_ACKED, 0, seq, NULL, 0);
		if (c->sess.state != SGA_DEV_S_ESTABLISHED)
			return; /* the application closed the session from the event */
	}
#if SGA_CORE_FULL
	if (!fresh)
		STAT(c, duplicates); /* all acknowledged before (we had re-sent them) */
#endif
}

#if SGA_CORE_FULL
static void rk_early(struct sga_core *c);
#endif

/* ---- data: receiving ---------------------------------------------------------- */

/* The first e2e_seq at or above from that has not arrived: what DATA_DELIVERED
 * reports. The session's own E2E replay window knows what came, so the core
 * keeps no copy of it. */
static uint64_t first_missing(const struct sga_replay *w, uint64_t from)
{
	const uint64_t keep = SGA_REPLAY_WINDOW - 64;

	if (w->next > keep && from < w->next - keep)
		from = w->next - keep; /* older ones can no longer arrive */
	for (; from < w->next; from++) {
		uint64_t b = from % SGA_REPLAY_WINDOW;

		if (!(w->bits[b / 64] >> (b % 64) & 1))
			break;
	}
	return from;
}

static void delivered_timer(struct sga_core *c, uint64_t t)
{
	uint64_t upto;
	size_t len;

	if (!sga_dev_sess_confirmed(&c->sess))
		return;
	upto = first_missing(&c->sess.e2e_rx_win, c->dlv_sent);
	if (!c->dlv_force && (upto == c->dlv_sent || (c->dlv_count < SGA_CORE_DLV_EVERY &&
	                                              t - c->dlv_since < SGA_CORE_DLV_DELAY_MS)))
		return;
	if (sga_dev_delivered_seal(&c->sess, upto, c->frame, sizeof(c->frame), &len))
		return;
	tx(c, c->frame, len);
	c->dlv_sent = upto;
	c->dlv_since = 0;
	c->dlv_force = 0;
	c->dlv_count = 0;
}

static void on_confirm(struct sga_core *c, const uint8_t *f, size_t n)
{
	int rc = sga_dev_consume_key_confirm(&c->sess, f, n);

	if (rc == -SGA_E_KEY_CONFIRM) {
		session_failed(c, rc);
		return;
	}
	if (rc) {
		STAT(c, dropped);
		return; /* forged, a duplicate, or a message that overtook it: G sends it again */
	}
	c->dlv_sent = 0;
	c->dlv_since = now(c);
	c->dlv_count = 1;
	op_start(c, SGA_CORE_OP_NONE);
	emit(c, SGA_CORE_EV_ESTABLISHED, 0, 0, c->sess.peer_id, c->sess.peer_id_len);
}

static void on_data(struct sga_core *c, const uint8_t *f, size_t n)
{
	size_t len = 0;
	int rc;

	if (c->sess.state == SGA_DEV_S_KEX && c->sess.kex_made) {
		/* The peer is sending, so G sent our KEX_REPLY too and it was lost:
		 * G re-emits it for the same KEX_INIT (PROTOCOL.md 9.4). */
		if (!sga_dev_create_kex_init(&c->dev, &c->sess, c->frame, sizeof(c->frame), &len))
			tx_req(c, c->frame, len);
		return;
	}
	if (c->sess.state != SGA_DEV_S_ESTABLISHED) {
		STAT(c, dropped);
		return;
	}
	if (!c->sess.peer_confirmed) {
		on_confirm(c, f, n);
		return;
	}
	rc = sga_dev_data_open(&c->sess, f, n, c->msg, sizeof(c->msg), &len);
	if (rc == -SGA_E_REPLAY) {
		STAT(c, duplicates);
		c->dlv_force = 1; /* G still thinks we lack it */
		return;
	}
#if SGA_CORE_FULL
	if (rc == -SGA_E_AUTH)
		rk_early(c); /* under new keys whose REKEY_REPLY has not reached us? */
	if (rc < 0) {
#else
	if (rc) {
#endif
		STAT(c, dropped);
		return;
	}
	if (!c->dlv_since)
		c->dlv_since = now(c);
	if (c->dlv_count < UINT8_MAX)
		c->dlv_count++;
#if SGA_CORE_FULL
	if (rc == SGA_DEV_REKEY_CONFIRMED)
		return; /* the peer's confirmation of new keys: its e2e_seq, no message */
#endif
	emit(c, SGA_CORE_EV_MESSAGE, 0, c->sess.e2e_rx_last, c->msg, len);
	sga_memzero(c->msg, len);
}

static void on_skip(struct sga_core *c, const uint8_t *f, size_t n)
{
	uint64_t next;

	if (c->sess.state != SGA_DEV_S_ESTABLISHED || sga_dev_skip_open(&c->sess, f, n, &next)) {
		STAT(c, dropped);
		return;
	}
	/* What is missing below next expired in G's store: stop waiting for it. */
	if (next > c->dlv_sent) {
		c->dlv_sent = next;
		c->dlv_force = 1;
	}
}

#if SGA_CORE_FULL
/* ---- session rekey (7.15, SGA_CORE_FULL) ---------------------------------------- */

/* The REKEY_INIT (sga_core_rk_init): a new request, durable before it
 * leaves (abandoned if saving fails), or the pending one's bytes again. */
static int rk_send(struct sga_core *c)
{
	size_t len;
	int fresh,
	    rc = sga_core_rk_init(&c->dev, &c->sess, c->frame, sizeof(c->frame), &len, &fresh);

	if (!rc && fresh && (rc = sga_core_save(c)))
		sga_dev_rekey_abandon(&c->sess);
	if (!rc)
		tx(c, c->frame, len);
	return rc;
}

/* Start (or send again, on a fresh timer) our request, unless the previous
 * generation's overlap must end first. */
static int rk_start(struct sga_core *c)
{
	int rc;

	if (sga_core_rk_waits(&c->sess)) {
		c->rk_want = 1;
		return 0;
	}
	c->rk_want = 0;
	sga_core_xt_start(&c->rk_xt, RTO0(c));
	rc = rk_send(c);
	if (!rc)
		sga_core_xt_arm(&c->rk_xt, now(c), RTO_MAX(c));
	return rc;
}

int sga_core_rekey(struct sga_core *c)
{
	if (!sga_dev_sess_confirmed(&c->sess) || c->op == SGA_CORE_OP_CLOSE)
		return -SGA_E_BAD_STATE;
	if (c->rk_xt.next_ms || c->rk_want)
		return 0; /* under way */
	if (c->rk_confirm_due) {
		c->rk_want = 1; /* the next generation, once this one is confirmed and settled */
		return 0;
	}
	return rk_start(c);
}

/* Ours is out and something says the gateway has more: the same bytes at
 * once, not the timer's send (it keeps its schedule), two per period. */
static void rk_again(struct sga_core *c)
{
	if (sga_core_xt_echo(&c->rk_xt)) {
		STAT(c, retransmits);
		(void)rk_send(c);
	}
}

/* A DATA_DOWN that does not open while our request waits: most likely under
 * the new keys (the gateway and the peer have them, our REKEY_REPLY was
 * lost); ask again, the gateway answers a repeat with its reply. The frame
 * is dropped: the storing gateway sends it again. */
static void rk_early(struct sga_core *c)
{
	if (c->rk_xt.next_ms && c->sess.rk.pending)
		rk_again(c);
}

/* The new keys' confirmation, as the next message once the window has room. */
static void rk_confirm(struct sga_core *c)
{
	size_t len;
	int rc;

	if (!c->rk_confirm_due)
		return;
	rc = sga_core_rk_confirm(&c->win, &c->sess, c->frame, sizeof(c->frame), &len, now(c),
	                         NOW_US(c));
	if (rc) {
		session_failed(c, rc);
		return;
	}
	if (!len)
		return; /* no room yet */
	c->rk_confirm_due = 0;
	tx(c, c->frame, len);
}

static int rk_live(const struct sga_core *c)
{
	return c->sess.state == SGA_DEV_S_ESTABLISHED && sga_dev_sess_confirmed(&c->sess) &&
	       c->op != SGA_CORE_OP_CLOSE;
}

static void on_rk_notice(struct sga_core *c, const uint8_t *f, size_t n)
{
	uint32_t gen;

	if (!rk_live(c) || sga_core_rk_notice(&c->dev, &c->sess, f, n, &gen)) {
		STAT(c, dropped);
		return;
	}
	if (c->rk_xt.next_ms)
		rk_again(c); /* both asked at once, or ours was lost */
	else if (c->rk_confirm_due)
		c->rk_want = 1; /* after our confirmation of the last one */
	else
		(void)rk_start(c); /* the peer asks: our contribution */
}

static void on_rk_reply(struct sga_core *c, const uint8_t *f, size_t n)
{
	int rc = rk_live(c) ? sga_core_rk_keys(&c->dev, &c->sess, f, n) : -SGA_E_BAD_STATE;

	if (rc) {
		if (rc == -SGA_E_BAD_STATE)
			STAT(c, duplicates);
		else
			STAT(c, dropped);
		return;
	}
	c->rk_xt.next_ms = 0;
	c->rk_confirm_due = 1;
	rk_confirm(c);
	if (c->sess.state == SGA_DEV_S_ESTABLISHED)
		emit(c, SGA_CORE_EV_REKEYED, 0, c->sess.rk.gen, NULL, 0);
}

/* After each frame and timer: the confirmation when there is room, the end
 * of the previous generation's overlap, a rekey that waited for it. */
static void rk_step(struct sga_core *c)
{
	if (!rk_live(c))
		return;
	rk_confirm(c);
	if (!rk_live(c))
		return;
	sga_core_rk_settle(&c->sess, &c->win, first_missing(&c->sess.e2e_rx_win, c->dlv_sent));
	if (c->rk_want && !c->rk_xt.next_ms && !c->rk_confirm_due && !sga_core_rk_waits(&c->sess))
		(void)rk_start(c);
}

static void rk_timer(struct sga_core *c, uint64_t t)
{
	if (!rk_live(c) || !sga_core_xt_due(&c->rk_xt, t))
		return;
	if (c->rk_xt.tries >= TRIES(c)) {
		c->rk_xt.next_ms = 0; /* the request stays pending: a late reply is taken */
		emit(c, SGA_CORE_EV_REKEYED, -SGA_CORE_E_TIMEOUT, c->sess.rk.gen + 1, NULL, 0);
		return;
	}
	STAT(c, retransmits);
	(void)rk_send(c);
	sga_core_xt_arm(&c->rk_xt, t, RTO_MAX(c));
}
#endif

/* ---- control frames from the gateway --------------------------------------------- */

static void on_reg_ack(struct sga_core *c, const uint8_t *f, size_t n)
{
#if SGA_CORE_FULL
	/* A k_d rekey's answer also makes the proposed key the key. One for a
	 * request the caller gave up (sga_core_abandon) is the gateway's answer
	 * all the same: it holds that registration, or that key, now. */
	const uint8_t ours = c->op == SGA_CORE_OP_REG, had_next = c->kd_has_next;
	uint8_t type, failed;

	if (!ours && !c->dev.reg_pending) {
		STAT(c, duplicates);
		return;
	}
	if (sga_core_kd_ack(&c->dev, f, n, &c->kd_has_next, c->kd_next)) {
		STAT(c, dropped);
		return;
	}
	type = had_next && !c->kd_has_next ? SGA_CORE_EV_KEY_REPLACED : SGA_CORE_EV_REGISTERED;
	failed = type == SGA_CORE_EV_KEY_REPLACED ? type : SGA_CORE_EV_REG_FAILED;
	if (ours) {
		c->ctl_len = 0;
		op_start(c, SGA_CORE_OP_NONE);
	}
#else
	const uint8_t type = SGA_CORE_EV_REGISTERED, failed = SGA_CORE_EV_REG_FAILED;

	if (c->op != SGA_CORE_OP_REG) {
		STAT(c, duplicates);
		return;
	}
	if (sga_dev_consume_reg_ack(&c->dev, f, n)) {
		STAT(c, dropped);
		return;
	}
	c->ctl_len = 0;
	op_start(c, SGA_CORE_OP_NONE);
#endif
	if (sga_core_save(c)) {
		emit(c, failed, -SGA_E_INTERNAL, 0, NULL, 0);
		return;
	}
	emit(c, type, 0, 0, NULL, 0);
}

static void on_invite(struct sga_core *c, const uint8_t *f, size_t n)
{
	size_t len, klen;
	int accept = c->accepting;

	/* One session at a time: an invitation during one waits for the
	 * initiator's next request, except while we answer an invitation: a
	 * newer one means the initiator gave up on that request and asked again
	 * (its counter is fresh, else consume_neg_invite refuses it). */
	if (!(c->op == SGA_CORE_OP_NONE && c->sess.state == SGA_DEV_S_IDLE) &&
	    !(c->op == SGA_CORE_OP_KEX && c->sess.role == SGA_ROLE_RESPONDER)) {
		STAT(c, dropped);
		return;
	}
	if (sga_dev_consume_neg_invite(&c->dev, &c->sess, f, n)) {
		STAT(c, dropped);
		return;
	}
	/* The down counter moved, and A3 takes an up counter: both durable
	 * before the NEG_ACCEPT leaves. */
	if (sga_core_hs_answer(&c->dev, &c->sess, accept, c->ctl, sizeof(c->ctl), &len, c->frame,
	                       sizeof(c->frame), &klen) ||
	    sga_core_save(c)) {
		end_session(c);
		return;
	}
	c->ctl_len = (uint16_t)len;
	tx(c, c->ctl, c->ctl_len);
	if (!accept) {
		end_session(c);
		return;
	}
	op_start(c, SGA_CORE_OP_KEX);
	tx_req(c, c->frame, klen);
	op_timer_arm(c);
}

static void on_neg_result(struct sga_core *c, const uint8_t *f, size_t n)
{
	size_t len;
	int rc;

	if (c->op != SGA_CORE_OP_NEG) {
		STAT(c, dropped);
		return;
	}
	rc = sga_core_hs_result(&c->dev, &c->sess, f, n, c->frame, sizeof(c->frame), &len);
	if (rc && c->sess.state == SGA_DEV_S_FAILED) {
		session_failed(c, rc); /* the gateway's authenticated refusal */
		return;
	}
	if (rc) {
		STAT(c, dropped);
		return;
	}
	op_start(c, SGA_CORE_OP_KEX);
	c->ctl_len = 0; /* the initiator has no NEG_ACCEPT to re-send */
	tx_req(c, c->frame, len);
	op_timer_arm(c);
}

static void on_kex_reply(struct sga_core *c, const uint8_t *f, size_t n)
{
	size_t len;
	int rc;

	if (c->op != SGA_CORE_OP_KEX) {
		STAT(c, dropped);
		return;
	}
	/* Our key confirmation is e2e_seq 0 in the send window: a DATA_ACK
	 * releases it, the data timer re-seals it. */
	rc = sga_core_hs_keys(&c->dev, &c->sess, &c->win, f, n, c->frame, sizeof(c->frame), &len,
	                      now(c), NOW_US(c));
	if (rc && c->sess.state == SGA_DEV_S_KEX) {
		STAT(c, dropped);
		return;
	}
	if (rc) {
		session_failed(c, rc);
		return;
	}
	op_start(c, SGA_CORE_OP_CONFIRM);
	c->ctl_len = 0;
	c->op_deadline_ms = now(c) + TIMEOUT(c);
	tx(c, c->frame, len);
}

static void on_closed(struct sga_core *c, const uint8_t *f, size_t n)
{
	struct sga_session_closed_plain cl;

	if (sga_dev_consume_session_closed(&c->sess, f, n, &cl)) {
		STAT(c, dropped);
		return;
	}
	end_session(c);
	op_start(c, SGA_CORE_OP_NONE);
	emit(c, SGA_CORE_EV_CLOSED, cl.reason, cl.delivered, NULL, 0);
}

/* A COOKIE_REPLY (7.13): the gateway asks for our last request again with
 * its cookie before it spends RSA, modexp or Redis work on it. If it names
 * that request (by its digest), send it again at once inside a COOKIE_ECHO,
 * without waiting for the timer and without spending a try; its
 * retransmissions carry the cookie too. Two at once per timer period at most:
 * a forged reply cannot make us send a stream of echoes. */
int sga_core_cookie_names(const uint8_t *f, size_t n, const uint8_t *req, size_t req_len,
                          uint8_t cookie[SGA_COOKIE_LEN], uint8_t digest[SGA_COOKIE_DIGEST_LEN])
{
	uint8_t mine[SGA_COOKIE_DIGEST_LEN];
	int rc = sga_cookie_reply_decode(f, n, digest, cookie);

	if (rc)
		return rc < 0 ? rc : -SGA_E_BAD_FIELD;
	if (!req_len || sga_cookie_digest(req, req_len, mine))
		return 0;
	return !memcmp(mine, digest, sizeof(mine));
}

static void on_cookie(struct sga_core *c, const uint8_t *f, size_t n)
{
	uint8_t digest[SGA_COOKIE_DIGEST_LEN], cookie[SGA_COOKIE_LEN];
	const uint8_t *req = c->ctl;
	size_t len = c->ctl_len;

	if (c->op == SGA_CORE_OP_KEX) {
		if (sga_dev_create_kex_init(&c->dev, &c->sess, c->frame, sizeof(c->frame), &len))
			goto drop;
		req = c->frame; /* the same bytes as every time (sga_dev_create_kex_init) */
	} else if (c->op != SGA_CORE_OP_REG && c->op != SGA_CORE_OP_NEG) {
		goto drop;
	}
	if (sga_core_cookie_names(f, n, req, len, cookie, digest) != 1)
		goto drop; /* not our last request: a reply to an older one, or forged */
	if (!sga_core_xt_echo(&c->ctl_xt))
		goto drop; /* two went since the timer */
	memcpy(c->cookie, cookie, sizeof(c->cookie));
	memcpy(c->cookie_for, digest, sizeof(c->cookie_for));
	c->has_cookie = 1;
	STAT(c, cookies);
	tx_req(c, req, len);
	return;
drop:
	STAT(c, dropped);
}

#if SGA_CORE_FULL
/* An ERROR (7.12): unauthenticated, so it changes nothing but the status the
 * exchange gives up with (the last hint about us or our session). */
int sga_core_error_about_us(const struct sga_dev *dev, const struct sga_dev_sess *sess,
                            const uint8_t *f, size_t n, struct sga_error_msg *e)
{
	uint8_t sid[8];
	int rc = sga_error_decode(f, n, e);

	if (rc)
		return rc < 0 ? rc : -SGA_E_BAD_FIELD;
	sga_put_u64(sid, sess->session_id);
	return !e->ref_len || (e->ref_len == dev->id_len && !memcmp(e->ref, dev->id, e->ref_len)) ||
	       (e->ref_len == 8 && sess->session_id && !memcmp(e->ref, sid, 8));
}

static void on_error(struct sga_core *c, const uint8_t *f, size_t n)
{
	struct sga_error_msg e;
	int rc = sga_core_error_about_us(&c->dev, &c->sess, f, n, &e);

	if (rc < 0) {
		STAT(c, dropped);
		return;
	}
	STAT(c, hints);
	if (!rc)
		return; /* about someone else */
	if (c->op != SGA_CORE_OP_NONE || c->wake_xt.next_ms)
		c->hint = e.code;
}
#endif

int sga_core_close(struct sga_core *c)
{
	size_t len;
	int rc;

	if (c->sess.state != SGA_DEV_S_ESTABLISHED || c->op == SGA_CORE_OP_CLOSE)
		return -SGA_E_BAD_STATE;
	rc = sga_dev_create_session_close(&c->sess, c->frame, sizeof(c->frame), &len);
	if (rc)
		return rc;
	sga_core_win_reset(&c->win, RTO0(c));
	op_start(c, SGA_CORE_OP_CLOSE);
	c->op_deadline_ms = now(c) + TIMEOUT(c);
	tx(c, c->frame, len);
	op_timer_arm(c);
	return 0;
}

void sga_core_input(struct sga_core *c, const uint8_t *frame, size_t len)
{
	uint64_t sid;
	uint8_t type;

	if (sga_dev_peek(frame, len, &type, &sid)) {
		STAT(c, dropped);
		return;
	}
	switch (type) {
	case SGA_MSG_REG_ACK:
		on_reg_ack(c, frame, len);
		break;
	case SGA_MSG_NEG_INVITE:
		on_invite(c, frame, len);
		break;
	case SGA_MSG_NEG_RESULT:
		on_neg_result(c, frame, len);
		break;
	case SGA_MSG_KEX_REPLY:
		on_kex_reply(c, frame, len);
		break;
	case SGA_MSG_DATA_DOWN:
		if (sid == c->sess.session_id)
			on_data(c, frame, len);
		else
			STAT(c, dropped);
		break;
	case SGA_MSG_DATA_ACK:
		on_ack(c, frame, len);
		break;
	case SGA_MSG_DATA_SKIP:
		on_skip(c, frame, len);
		break;
	case SGA_MSG_SESSION_CLOSED:
		on_closed(c, frame, len);
		break;
	case SGA_MSG_COOKIE_REPLY:
		on_cookie(c, frame, len);
		break;
	case SGA_MSG_WAKE_ACK:
		on_wake_ack(c, frame, len);
		break;
#if SGA_CORE_FULL
	case SGA_MSG_ERROR:
		on_error(c, frame, len);
		break;
	case SGA_MSG_REKEY_NOTICE:
		on_rk_notice(c, frame, len);
		break;
	case SGA_MSG_REKEY_REPLY:
		on_rk_reply(c, frame, len);
		break;
#endif
	default:
		STAT(c, dropped);
		break; /* the small build: ERROR hints change nothing (7.12), no rekey */
	}
#if SGA_CORE_FULL
	rk_step(c);
#endif
}

void sga_core_poll(struct sga_core *c)
{
	uint64_t t = now(c);

	wake_timer(c, t);
	op_timer(c, t);
	if (c->sess.state == SGA_DEV_S_ESTABLISHED && c->op != SGA_CORE_OP_CLOSE)
		for (struct sga_core_tx *d;
		     c->sess.state == SGA_DEV_S_ESTABLISHED && (d = sga_core_win_due(&c->win, t));)
			tx_resend(c, d, t, 1);
	if (c->sess.state == SGA_DEV_S_ESTABLISHED && c->op != SGA_CORE_OP_CLOSE)
		delivered_timer(c, t);
#if SGA_CORE_FULL
	rk_timer(c, t);
	rk_step(c);
#endif
}

#if SGA_CORE_FULL
void sga_core_poll_ctl(struct sga_core *c)
{
	uint64_t t = now(c);

	wake_timer(c, t);
	op_timer(c, t);
}
#endif

int32_t sga_core_next_timer(const struct sga_core *c)
{
	uint64_t due = earlier(earlier(c->ctl_xt.next_ms, c->op_deadline_ms), c->wake_xt.next_ms),
	         t = now(c);

	if (c->sess.state == SGA_DEV_S_ESTABLISHED && c->op != SGA_CORE_OP_CLOSE) {
		due = earlier(due, sga_core_win_next_ms(&c->win));
#if SGA_CORE_FULL
		due = earlier(due, c->rk_xt.next_ms);
#endif
		if (sga_dev_sess_confirmed(&c->sess) && (c->dlv_force || c->dlv_since))
			due = earlier(due, c->dlv_force ? t : c->dlv_since + SGA_CORE_DLV_DELAY_MS);
	}
	if (!due)
		return -1;
	return due <= t ? 0 : due - t > INT32_MAX ? INT32_MAX : (int32_t)(due - t);
}

int sga_core_established(const struct sga_core *c)
{
	return sga_dev_sess_confirmed(&c->sess);
}
