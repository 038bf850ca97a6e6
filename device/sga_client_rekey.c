/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_client_rekey.c - session rekey in the SDK (PROTOCOL.md 7.15,
 * sga_client_rekey(), sga_client_set_rekey_policy()).
 *
 * A rekey runs next to the traffic, never instead of it: messages keep going
 * under the current keys while REKEY_INIT, the gateway's REKEY_NOTICE to the
 * peer and the peer's own REKEY_INIT make their round trips; the new keys
 * take over at REKEY_REPLY, where this device's confirmation of them becomes
 * its next message, and the old ones keep opening and re-sealing what was in
 * flight until sga_dev_rekey_settle says the overlap is over. A rekey that
 * gets no REKEY_REPLY stops being retransmitted after the control retries,
 * but its request stays pending: the session goes on under its keys, the
 * policy (or a notice) sends the same request again later, and a reply that
 * comes late is still taken. Dropping it instead would leave the gateway
 * with a contribution the device can no longer answer for.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sga_client_priv.h"
#include "sga_rekey.h"

static void rk_log(struct sga_client *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void rk_log(struct sga_client *c, int level, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	client_priv_log(c, level, line);
}

static int session_up(const struct sga_client *c)
{
	return sga_dev_sess_confirmed(&c->core.sess) && !c->sess_err;
}

/* Send the pending REKEY_INIT again (the same bytes). */
static void rk_send(struct sga_client *c)
{
	uint8_t f[SGA_FRAME_MAX];
	size_t n;
	int fresh;

	if (!c->core.sess.rk.pending ||
	    sga_core_rk_init(&c->core.dev, &c->core.sess, f, sizeof(f), &n, &fresh))
		return;
	(void)client_priv_tx(c, f, n);
}

/* Start a rekey now if the session allows it, else note that one is due.
 * answering: the peer asked first (a REKEY_NOTICE). */
static void rk_start(struct sga_client *c, uint64_t now, int answering)
{
	int rc;

	if (c->rk.active || !session_up(c))
		return;
	if (sga_core_rk_waits(&c->core.sess)) {
		c->rk.want = 1; /* the previous overlap first */
		return;
	}
	c->rk.want = 0;
	{
		int fresh; /* 0: an earlier request, the same bytes */
		uint8_t f[SGA_FRAME_MAX];
		size_t n;

		rc = sga_core_rk_init(&c->core.dev, &c->core.sess, f, sizeof(f), &n, &fresh);
		if (rc) {
			rk_log(c, 1, "rekey not started: %s", sga_err_desc(rc));
			c->rk.result = rc;
			return;
		}
		/* A new request took the next up counter: on disk before it leaves. */
		rc = fresh ? client_priv_save_state(c) : 0;
		if (rc) {
			sga_dev_rekey_abandon(&c->core.sess);
			c->rk.result = rc;
			return;
		}
		c->rk.active = 1;
		sga_core_xt_start(&c->rk.xt, c->rto_ms);
		sga_core_xt_arm(&c->rk.xt, now, c->rto_max_ms);
		c->rk.started_ms = now;
		c->rk.started += !answering && fresh;
		(void)client_priv_tx(c, f, n);
	}
	rk_log(c, 1, "rekey to generation %u started (%s)", c->core.sess.rk.gen + 1,
	       answering ? "the peer asked" : "by this device");
}

int client_rekey_confirm_due(const struct sga_client *c)
{
	return c->rk.confirm_due;
}

int client_rekey_send_confirm(struct sga_client *c)
{
	size_t n;
	int rc;

	if (!c->rk.confirm_due)
		return 0;
	/* The generation's first e2e_seq, in the window like a message. */
	rc = sga_core_rk_confirm(&c->core.win, &c->core.sess, c->txbuf, sizeof(c->txbuf), &n,
	                         client_priv_now_ms(), client_priv_now_us());
	if (rc)
		return c->sess_err = rc;
	if (!n)
		return 0; /* no room yet: the timers try again */
	c->rk.confirm_due = 0;
	(void)client_priv_tx(c, c->txbuf, n);
	return 0;
}

void client_on_rekey_notice(struct sga_client *c, const uint8_t *f, size_t n)
{
	uint32_t gen;
	uint64_t now = client_priv_now_ms();
	int rc;

	if (c->core.sess.state != SGA_DEV_S_ESTABLISHED) {
		c->stats.dropped++;
		return;
	}
	rc = sga_core_rk_notice(&c->core.dev, &c->core.sess, f, n, &gen);
	if (rc) {
		c->stats.dropped++;
		return;
	}
	rk_log(c, 1, "the peer asks for generation %u", gen);
	if (!c->rk.active) {
		rk_start(c, now, 1);
		return;
	}
	/* Ours is out already (both started at once, or ours was lost): the
	 * same bytes again, at most once per retransmission period (not the
	 * timer's: it keeps its schedule). */
	if (c->rk.last_notice_ms + c->rto_min_ms <= now) {
		c->rk.last_notice_ms = now;
		rk_send(c);
	}
}

int client_rekey_early(struct sga_client *c, const uint8_t *f, size_t n)
{
	uint64_t now = client_priv_now_ms();

	if (!c->rk.active)
		return 0;
	client_priv_stash(c, f, n);
	if (c->rk.last_notice_ms + c->rto_min_ms <= now) {
		c->rk.last_notice_ms = now;
		rk_send(c); /* the gateway answers a repeat with the cached reply */
		c->stats.retransmits++;
	}
	return 1;
}

void client_on_rekey_reply(struct sga_client *c, const uint8_t *f, size_t n)
{
	uint64_t now = client_priv_now_ms();
	int rc = sga_core_rk_keys(&c->core.dev, &c->core.sess, f, n);

	if (rc) {
		if (rc == -SGA_E_BAD_STATE)
			c->stats.duplicates++;
		else
			c->stats.dropped++;
		return;
	}
	c->rk.active = 0;
	c->rk.xt.next_ms = 0;
	c->rk.result = 0;
	c->rk.done++;
	c->rk.since_msgs = 0;
	c->rk.since_ms = now;
	c->rk.confirm_due = 1;
	rk_log(c, 1, "session keys renewed: generation %u (%llu ms)", c->core.sess.rk.gen,
	       (unsigned long long)(now - c->rk.started_ms));
	(void)client_rekey_send_confirm(c);
	client_priv_stash_replay(c); /* what came under the new keys before this */
}

void client_rekey_timers(struct sga_client *c, uint64_t now)
{
	if (c->core.sess.state != SGA_DEV_S_ESTABLISHED || c->sess_err)
		return;
	if (c->rk.confirm_due)
		(void)client_rekey_send_confirm(c);
	sga_core_rk_settle(&c->core.sess, &c->core.win, c->rx_next);
	if (c->rk.active && sga_core_xt_due(&c->rk.xt, now)) {
		if (c->rk.xt.tries >= 1 + c->max_retries) {
			rk_log(c, 0,
			       "rekey to generation %u: no REKEY_REPLY after %u transmissions "
			       "(is the peer there?); the keys stay, the request waits",
			       c->core.sess.rk.gen + 1, c->rk.xt.tries);
			c->rk.active = 0;
			c->rk.xt.next_ms = 0;
			c->rk.result = -SGA_CLIENT_E_TIMEOUT;
			c->rk.since_ms = now; /* the policy tries again a period later */
			c->rk.since_msgs = 0;
			return;
		}
		rk_send(c);
		sga_core_xt_arm(&c->rk.xt, now, c->rto_max_ms);
		c->stats.retransmits++;
	}
	if (c->rk.active || !session_up(c))
		return;
	if (!c->rk.since_ms)
		c->rk.since_ms = now;
	if (c->rk.want || (c->rk.after_msgs && c->rk.since_msgs >= c->rk.after_msgs) ||
	    (c->rk.after_s && now - c->rk.since_ms >= (uint64_t)c->rk.after_s * 1000u))
		rk_start(c, now, 0);
}

uint64_t client_rekey_next_timer(const struct sga_client *c, uint64_t t)
{
	uint64_t d = 0;

	if (c->rk.active && c->rk.xt.next_ms)
		d = c->rk.xt.next_ms;
	else if (c->rk.confirm_due || c->rk.want || c->core.sess.rk.prev_tx_live ||
	         c->core.sess.rk.prev_rx_live)
		d = client_priv_now_ms() + 20; /* room for the confirmation, the overlap's end */
	else if (c->rk.after_s && c->rk.since_ms)
		d = c->rk.since_ms + (uint64_t)c->rk.after_s * 1000u;
	if (d && (!t || d < t))
		t = d;
	return t;
}

void client_rekey_reset(struct sga_client *c)
{
	uint64_t after_msgs = c->rk.after_msgs;
	unsigned after_s = c->rk.after_s, done = c->rk.done;

	memset(&c->rk, 0, sizeof(c->rk));
	c->rk.after_msgs = after_msgs;
	c->rk.after_s = after_s;
	c->rk.done = done;
}

/* ---- public API ---------------------------------------------------------------------- */

int sga_client_rekey(struct sga_client *c, int timeout_ms)
{
	uint64_t now = client_priv_now_ms(), until;
	unsigned done;

	if (!session_up(c))
		return -SGA_CLIENT_E_NO_SESSION;
	done = c->rk.done;
	if (!c->rk.active)
		rk_start(c, now, 0);
	if (timeout_ms <= 0)
		return c->rk.active || c->rk.want ? 0 : c->rk.result;
	until = now + (uint64_t)timeout_ms;
	while (c->rk.done == done && client_priv_now_ms() < until && !c->sess_err) {
		if (!c->rk.active && !c->rk.want)
			return c->rk.result ? c->rk.result : -SGA_CLIENT_E_TIMEOUT;
		client_priv_pump(c, until);
	}
	if (c->sess_err)
		return c->sess_err;
	return c->rk.done != done ? 0 : -SGA_CLIENT_E_TIMEOUT;
}

int sga_client_set_rekey_policy(struct sga_client *c, uint64_t after_messages,
                                unsigned after_seconds)
{
	c->rk.after_msgs = after_messages;
	c->rk.after_s = after_seconds;
	c->rk.since_ms = client_priv_now_ms();
	return 0;
}

unsigned sga_client_key_generation(const struct sga_client *c)
{
	return c->core.sess.rk.gen;
}

unsigned sga_client_rekeys(const struct sga_client *c)
{
	return c->rk.done;
}
