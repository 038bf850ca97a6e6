/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_core.c - two portable device cores (device/core) talk to each other
 * through the real gateway protocol code (protocol/sga_gateway.c, sga_hop.c,
 * sga_close.c) in this process, over a simulated network that loses and
 * reorders datagrams, on a simulated clock. The gateway side is a small
 * store-and-forward loop over those handlers (the data plane's rules of
 * PROTOCOL.md 7.10-7.11a: store, relay, DATA_ACK per burst, re-send until
 * DATA_DELIVERED).
 *
 * Built again with SGA_CORE_FULL (test_core_full, test_core_full_on_portable):
 * every test runs on the host build of the core too, and the tests at the end
 * check what that build adds (caller window, RTT estimator, fast re-send,
 * ERROR hints, counters).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <string.h>

#include "harness.h"
#include "sga_close.h"
#include "sga_cookie.h"
#include "sga_core.h"
#include "sga_cursor.h"
#include "sga_rekey.h"

#define NET_MAX   512
#define STORE_MAX 64
#define N_MSGS    24
#define GW        2 /* network address of the gateway; 0 and 1 are the devices */

struct pkt {
	uint64_t at;
	int from, to;
	size_t len;
	uint8_t b[SGA_FRAME_MAX];
};

struct held {
	int used;
	uint64_t seq;
	size_t len;
	uint8_t inner[SGA_FRAME_MAX];
};

struct dev_ctx {
	struct world *w;
	int k;
};

struct world {
	uint64_t now;
	uint32_t rng;
	unsigned loss_pct, jitter_ms;
	struct pkt net[NET_MAX];
	unsigned n_net;
	/* the devices */
	struct sga_core core[2];
	struct dev_ctx ctx[2];
	struct sga_core_persist saved[2];
	unsigned saves[2];
	int registered[2], established[2], closed[2], failed[2];
	unsigned got[2][N_MSGS + 2]; /* [receiver][seq]: times handed up */
	uint8_t got_byte[2][N_MSGS + 2];
	unsigned acked[2];
	unsigned sent_type[2][256]; /* frames on the wire by type, and bytes of the first */
	size_t size_of[256];
	/* the gateway */
	struct harness_gw_world g;
	/* Under load (cookies = 1): every REG_REQ, NEG_REQ and KEX_INIT is
	 * answered with a COOKIE_REPLY and handled only inside a COOKIE_ECHO
	 * with the cookie of its bytes and sender (PROTOCOL.md 7.13). */
	int cookies;
	struct sga_cookie_key cookie_key;
	unsigned cookie_replies, echoes_taken;
	/* WAKE (7.16): the answers the devices got, the gateway's side. */
	int woken[2];             /* 1: WAKE_ACK, -1: no answer */
	uint64_t woken_stored[2]; /* what the WAKE_ACK said was stored */
	unsigned wakes_taken[2], drop_wakes;
	int hold_wake_acks;              /* 1: WAKE_ACKs are kept in held_wake_ack, not sent */
	struct sga_gw_out held_wake_ack; /* ... the last one */
	uint64_t wake_ctr[2];            /* the last WAKE counter the gateway took */
	int deaf[2]; /* nothing reaches device k (gone from its address) until its WAKE */
	struct sga_ack_win ackw[2];
	int ack_due[2];
	struct held store[2][STORE_MAX]; /* [sender role] */
	uint64_t delivered[2];           /* [recipient role]: its last DATA_DELIVERED */
	uint64_t resend_at;
	/* SGA_CORE_FULL tests: the next drop_up[k] DATA_UPs of device k are lost;
	 * a REG_REQ of device k is answered by an ERROR hint_code[k] about
	 * hint_ref[k] (NULL: device k) instead of being handled. */
	unsigned drop_up[2];
	uint16_t hint_code[2];
	const char *hint_ref[2];
	int fail_status[2];
	uint64_t max_flight[2];
	/* Session rekeys (SGA_CORE_FULL): messages are counted by the index in
	 * their last byte (a rekey's confirmation takes an e2e_seq of its own);
	 * EV_REKEYED as it came; the REKEY_INITs the gateway took as new. */
	int by_index;
	unsigned rekeyed[2], rekey_failed[2];
	uint64_t rekeyed_gen[2];
	unsigned rekey_inits_fresh[2];
	/* k_d rekeys (SGA_CORE_FULL): EV_KEY_REPLACED as it came (1: replaced,
	 * else its status); the next lose_to[k][type] frames of that type to
	 * device k are lost. */
	int replaced[2];
	unsigned lose_to[2][256];
	/* hold_to[k][type]: frames of that type to device k are kept in held
	 * (the last one), not sent. */
	int hold_to[2][256];
	struct pkt held;
};

static struct world *W;

static uint32_t rnd(struct world *w)
{
	w->rng = w->rng * 1103515245u + 12345u;
	return w->rng >> 8;
}

static void net_send(struct world *w, int from, int to, const uint8_t *f, size_t n)
{
	struct pkt *p;

	if (from != GW) {
		w->sent_type[from][f[1]]++;
		if (!w->size_of[f[1]])
			w->size_of[f[1]] = n;
	} else if (!w->size_of[f[1]]) {
		w->size_of[f[1]] = n;
	}
	if (from != GW && f[1] == SGA_MSG_DATA_UP && w->drop_up[from]) {
		w->drop_up[from]--;
		return;
	}
	if (w->loss_pct && rnd(w) % 100 < w->loss_pct)
		return;
	if (to != GW && w->deaf[to])
		return;
	if (to != GW && w->hold_to[to][f[1]]) {
		w->held.from = from;
		w->held.to = to;
		w->held.len = n;
		memcpy(w->held.b, f, n);
		return;
	}
	if (to != GW && w->lose_to[to][f[1]]) {
		w->lose_to[to][f[1]]--;
		return;
	}
	cr_assert(w->n_net < NET_MAX, "network queue full");
	p = &w->net[w->n_net++];
	p->at = w->now + 1 + (w->jitter_ms ? rnd(w) % w->jitter_ms : 0);
	p->from = from;
	p->to = to;
	p->len = n;
	memcpy(p->b, f, n);
}

static int dev_of(const struct world *w, const uint8_t *id, uint8_t len)
{
	return harness_gw_world_dev(&w->g, id, len);
}

static void gw_out(struct world *w, const struct sga_gw_out *out)
{
	for (unsigned m = 0; m < out->n; m++)
		net_send(w, GW, dev_of(w, out->msg[m].to_id, out->msg[m].to_id_len),
		         out->msg[m].frame, out->msg[m].len);
}

/* ---- device callbacks ---------------------------------------------------------- */

static uint64_t cb_now(void *ctx)
{
	return ((struct dev_ctx *)ctx)->w->now;
}

static int cb_send(void *ctx, const uint8_t *f, size_t n)
{
	struct dev_ctx *d = ctx;
	struct sga_env_dev env;

	/* The storage rule: a frame using an up counter leaves only once that
	 * counter is durable. */
	if ((f[1] == SGA_MSG_NEG_REQ || f[1] == SGA_MSG_NEG_ACCEPT || f[1] == SGA_MSG_WAKE) &&
	    !sga_env_dev_decode(f, n, &env))
		cr_assert(env.ctr <= d->w->saved[d->k].up_ctr && d->w->saves[d->k],
		          "counter %llu sent before it was saved", (unsigned long long)env.ctr);
#if SGA_CORE_FULL
	/* A k_d rekey's REG_REQ: its key and counter are durable first. */
	if (f[1] == SGA_MSG_REG_REQ && d->w->core[d->k].kd_op)
		cr_assert(d->w->saved[d->k].has_k_d_next &&
		              !memcmp(d->w->saved[d->k].k_d_next, d->w->core[d->k].kd_next,
		                      SGA_KEY_LEN) &&
		              d->w->core[d->k].dev.up_ctr <= d->w->saved[d->k].up_ctr,
		          "a k_d rekey's REG_REQ sent before its key and counter were saved");
#endif
	/* A REKEY_INIT's counter is inside its sealed body: the device's. */
	if (f[1] == SGA_MSG_REKEY_INIT)
		cr_assert(d->w->core[d->k].dev.up_ctr <= d->w->saved[d->k].up_ctr,
		          "REKEY_INIT counter %llu sent before it was saved",
		          (unsigned long long)d->w->core[d->k].dev.up_ctr);
	net_send(d->w, d->k, GW, f, n);
	return 0;
}

static int cb_save(void *ctx, const struct sga_core_persist *st)
{
	struct dev_ctx *d = ctx;

	/* (A new k_d starts new counters: PROTOCOL.md 7.1.) */
	cr_assert(st->up_ctr >= d->w->saved[d->k].up_ctr ||
	              memcmp(st->k_d, d->w->saved[d->k].k_d, SGA_KEY_LEN),
	          "up counter went back");
	d->w->saved[d->k] = *st;
	d->w->saves[d->k]++;
	return 0;
}

static void cb_event(void *ctx, const struct sga_core_event *ev)
{
	struct dev_ctx *d = ctx;
	struct world *w = d->w;

	switch (ev->type) {
	case SGA_CORE_EV_REGISTERED:
		w->registered[d->k] = 1;
		break;
	case SGA_CORE_EV_ESTABLISHED:
		w->established[d->k] = 1;
		break;
	case SGA_CORE_EV_SESSION_FAILED:
	case SGA_CORE_EV_REG_FAILED:
		if (!w->hint_code[d->k]) /* (a failure that test wants) */
			cr_log_error("device %d: event %u status %d", d->k, ev->type, ev->status);
		w->failed[d->k]++;
		w->fail_status[d->k] = ev->status;
		break;
	case SGA_CORE_EV_CLOSED:
		w->closed[d->k] = ev->status ? ev->status : -1;
		break;
	case SGA_CORE_EV_MESSAGE:
		if (w->by_index) {
			unsigned i = ev->len ? ev->data[ev->len - 1] : 0;

			cr_assert(i >= 1 && i <= N_MSGS, "message index %u", i);
			cr_assert_eq(ev->len, 3 + i % 50);
			w->got[d->k][i]++;
			w->got_byte[d->k][i] = (uint8_t)i;
			break;
		}
		cr_assert(ev->seq >= 1 && ev->seq <= N_MSGS, "message seq %llu",
		          (unsigned long long)ev->seq);
		cr_assert_eq(ev->len, 3 + ev->seq % 50);
		w->got[d->k][ev->seq]++;
		w->got_byte[d->k][ev->seq] = ev->data[ev->len - 1];
		break;
	case SGA_CORE_EV_ACKED:
		w->acked[d->k]++;
		break;
	case SGA_CORE_EV_WOKEN:
		w->woken[d->k] = ev->status ? -1 : 1;
		w->woken_stored[d->k] = ev->seq;
		break;
	case SGA_CORE_EV_REKEYED:
		if (ev->status) {
			cr_log_error("device %d: rekey to %llu failed: %d", d->k,
			             (unsigned long long)ev->seq, ev->status);
			w->rekey_failed[d->k]++;
			break;
		}
		w->rekeyed[d->k]++;
		w->rekeyed_gen[d->k] = ev->seq;
		break;
	case SGA_CORE_EV_KEY_REPLACED:
		w->replaced[d->k] = ev->status ? ev->status : 1;
		break;
	default:
		break;
	}
}

/* ---- the gateway ------------------------------------------------------------------ */

static void gw_relay(struct world *w, int to, const struct held *h)
{
	uint8_t out[SGA_FRAME_MAX];
	size_t n;

	cr_assert_eq(sga_hop_seal_down(&w->g.gs.hop[to], w->g.gs.session_id, (uint8_t)to,
	                               SGA_MSG_DATA_DOWN, h->inner, h->len, out, sizeof(out), &n),
	             0);
	net_send(w, GW, to, out, n);
}

static void gw_hop(struct world *w, const struct sga_gw_peek *pk, const uint8_t *f, size_t n)
{
	uint8_t buf[SGA_FRAME_MAX], *inner;
	size_t inner_len;
	uint64_t seq, e2e;
	int r = pk->role, rc;

	if (w->g.gs.state != SGA_GW_S_ESTABLISHED || pk->session_id != w->g.gs.session_id || r > 1)
		return;
	memcpy(buf, f, n);
	/* After a rekey, under the member's previous key until its first frame
	 * under the new one (the data plane's rule); sga_hop_open_up otherwise. */
	rc = sga_rekey_relay_open(&w->g.gs, (uint8_t)r, buf, n, &seq, &inner, &inner_len);
	if (rc && rc != -SGA_E_REPLAY)
		return;
	if (!rc)
		sga_replay_update(&w->g.gs.hop[r].rx, seq);
	if (pk->type == SGA_MSG_DATA_DELIVERED) {
		uint64_t next;

		if (rc || sga_hop_delivered_parse(inner, inner_len, &next))
			return;
		for (int i = 0; i < STORE_MAX; i++) {
			struct held *h = &w->store[r ^ 1][i];

			if (h->used && h->seq < next)
				h->used = 0;
			else if (h->used && next == w->delivered[r] && h->seq == next)
				gw_relay(w, r, h); /* the same report again: that one was lost */
		}
		if (next > w->delivered[r])
			w->delivered[r] = next;
		return;
	}
	e2e = sga_get_u64(inner);
	if (!rc && e2e >= w->delivered[r ^ 1]) {
		struct held *slot = NULL;

		for (int i = 0; i < STORE_MAX; i++)
			if (w->store[r][i].used && w->store[r][i].seq == e2e)
				slot = &w->store[r][i];
		for (int i = 0; i < STORE_MAX && !slot; i++)
			if (!w->store[r][i].used)
				slot = &w->store[r][i];
		cr_assert(slot, "gateway store full");
		slot->used = 1;
		slot->seq = e2e;
		slot->len = inner_len;
		memcpy(slot->inner, inner, inner_len);
		gw_relay(w, r ^ 1, slot);
	}
	if (sga_ack_win_note(&w->ackw[r], e2e) >= 0)
		w->ack_due[r] = 1;
}

/* The session's close: both members get SESSION_CLOSED (7.14). */
static void gw_close(struct world *w, const struct sga_gw_peek *pk, const uint8_t *f, size_t n)
{
	uint8_t role;

	if (pk->session_id != w->g.gs.session_id ||
	    sga_gw_open_session_close(&w->g.gs, f, n, &role))
		return;
	for (int r = 0; r < 2; r++) {
		struct sga_session_closed_plain cl = {SGA_CLOSE_DEVICE, w->delivered[r ^ 1]};
		uint8_t fr[SGA_FRAME_MAX];
		size_t len;

		cr_assert_eq(
		    sga_gw_create_session_closed(&w->g.gs, (uint8_t)r, &cl, fr, sizeof(fr), &len),
		    0);
		net_send(w, GW, r, fr, len);
	}
	sga_gw_session_wipe(&w->g.gs);
}

/* Device k's address as the gateway sees it: ::ffff:10.0.0.k, port 7000 + k. */
static void dev_addr(int k, uint8_t ip[16], uint16_t *port_be)
{
	static const uint8_t v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memcpy(ip, v4, sizeof(v4));
	ip[12] = 10;
	ip[13] = ip[14] = 0;
	ip[15] = (uint8_t)k;
	*port_be = htons((uint16_t)(7000 + k));
}

/* Cookie mode: 0 to handle f[0..*n) (the inner frame of a good echo, in
 * place), -1 to drop it (a COOKIE_REPLY went back, or a bad cookie). */
static int gw_cookie(struct world *w, int from, const uint8_t **f, size_t *n)
{
	const uint8_t *cookie, *inner;
	uint8_t ip[16], got[SGA_COOKIE_LEN], digest[SGA_COOKIE_DIGEST_LEN];
	uint8_t reply[SGA_COOKIE_REPLY_LEN];
	uint16_t port;
	size_t inner_len, len;

	dev_addr(from, ip, &port);
	if ((*f)[1] == SGA_MSG_COOKIE_ECHO) {
		if (sga_cookie_echo_decode(*f, *n, &cookie, &inner, &inner_len) ||
		    sga_cookie_check_addr(&w->cookie_key, w->now, ip, port, inner, inner_len,
		                          cookie))
			return -1;
		w->echoes_taken++;
		*f = inner;
		*n = inner_len;
		return 0;
	}
	if (!sga_cookie_type((*f)[1]))
		return 0;
	cr_assert_eq(sga_cookie_make_addr(&w->cookie_key, w->now, ip, port, *f, *n, got), 0);
	cr_assert_eq(sga_cookie_digest(*f, *n, digest), 0);
	cr_assert_eq(sga_cookie_reply_encode(digest, got, reply, sizeof(reply), &len), 0);
	w->cookie_replies++;
	net_send(w, GW, from, reply, len);
	return -1;
}

/* WAKE (7.16): the counter taken, what is stored for the device re-sent
 * (WANT_STORED), and the WAKE_ACK saying so. drop_wakes: that many WAKEs are
 * lost on their way first. */
static void gw_wake(struct world *w, const struct sga_gw_peek *pk, const uint8_t *f, size_t n)
{
	struct sga_wake_plain wake;
	struct sga_gw_out out;
	unsigned stored = 0;
	uint64_t ctr;
	int k = dev_of(w, pk->id, pk->id_len);

	if (w->drop_wakes) {
		w->drop_wakes--;
		return;
	}
	if (sga_gw_wake_open(&w->g.gw, &w->g.rec[k], f, n, &wake, &ctr))
		return;
	w->g.rec[k].up_ctr = ctr;
	w->wake_ctr[k] = ctr;
	w->deaf[k] = 0; /* its address moved: reachable again */
	w->wakes_taken[k]++;
	for (int i = 0; i < STORE_MAX; i++)
		if (w->store[k ^ 1][i].used) {
			stored = 1; /* one session */
			if (wake.flags & SGA_WAKE_WANT_STORED)
				gw_relay(w, k, &w->store[k ^ 1][i]);
		}
	memset(&out, 0, sizeof(out));
	cr_assert_eq(sga_gw_wake_ack_seal(&w->g.rec[k], ctr, 0, stored, &out), 0);
	if (w->hold_wake_acks)
		w->held_wake_ack = out;
	else
		gw_out(w, &out);
}

/* REKEY_INIT (7.15): the real handler; the first member's leaves a notice
 * for the peer, the second's both replies and the new generation's hop keys
 * in the session (gw_hop opens the old ones' frames while they last). */
static void gw_rekey(struct world *w, const struct sga_gw_peek *pk, const uint8_t *f, size_t n)
{
	struct sga_gw_out out;
	int r = pk->role, fresh = 0;

	if (w->g.gs.state != SGA_GW_S_ESTABLISHED || pk->session_id != w->g.gs.session_id || r > 1)
		return;
	memset(&out, 0, sizeof(out));
	if (sga_gw_rekey_init_handle(&w->g.gw, &w->g.rec[r], &w->g.rec[r ^ 1], &w->g.gs, f, n, &out,
	                             &fresh))
		return;
	w->rekey_inits_fresh[r] += (unsigned)fresh;
	gw_out(w, &out);
}

static void gw_input(struct world *w, int from, const uint8_t *f, size_t n)
{
	struct sga_gw_peek pk;
	struct sga_gw_out out;

	if (w->cookies && gw_cookie(w, from, &f, &n))
		return;
	if (w->hint_code[from] && f[1] == SGA_MSG_REG_REQ) {
		const char *ref = w->hint_ref[from] ? w->hint_ref[from] : from ? "dev-j" : "dev-i";
		uint8_t e[SGA_FRAME_MAX];
		size_t len;

		cr_assert_eq(sga_error_encode(w->hint_code[from], (const uint8_t *)ref,
		                              (uint8_t)strlen(ref), e, sizeof(e), &len),
		             0);
		net_send(w, GW, from, e, len);
		return;
	}
	if (sga_gw_peek(f, n, &pk))
		return;
	switch (pk.type) {
	case SGA_MSG_DATA_UP:
	case SGA_MSG_DATA_DELIVERED:
		gw_hop(w, &pk, f, n);
		return;
	case SGA_MSG_SESSION_CLOSE:
		gw_close(w, &pk, f, n);
		return;
	case SGA_MSG_WAKE:
		gw_wake(w, &pk, f, n);
		return;
	case SGA_MSG_REKEY_INIT:
		gw_rekey(w, &pk, f, n);
		return;
	}
	memset(&out, 0, sizeof(out));
	switch (harness_gw_world_handshake(&w->g, &pk, f, n, &out)) {
	case HARNESS_GW_NEW_SESSION:
		memset(w->ackw, 0, sizeof(w->ackw));
		memset(w->store, 0, sizeof(w->store));
		memset(w->delivered, 0, sizeof(w->delivered));
		/* fall through */
	case HARNESS_GW_ANSWERED:
		gw_out(w, &out);
		return;
	default:
		return;
	}
}

/* End of a burst: one DATA_ACK per sender whose state changed (7.11). */
static void gw_burst_end(struct world *w)
{
	for (int r = 0; r < 2; r++) {
		struct sga_data_ack_plain a = {w->ackw[r].top, w->ackw[r].bits};
		uint8_t f[SGA_FRAME_MAX];
		size_t n;

		if (!w->ack_due[r] || w->g.gs.state != SGA_GW_S_ESTABLISHED)
			continue;
		w->ack_due[r] = 0;
		cr_assert_eq(sga_hop_seal_ack(&w->g.gs.hop[r], w->g.gs.session_id, (uint8_t)r, &a,
		                              f, sizeof(f), &n),
		             0);
		net_send(w, GW, r, f, n);
	}
}

/* The re-send timer: every message still held goes again. */
static void gw_timer(struct world *w)
{
	if (w->now < w->resend_at || w->g.gs.state != SGA_GW_S_ESTABLISHED)
		return;
	w->resend_at = w->now + 300;
	for (int r = 0; r < 2; r++)
		for (int i = 0; i < STORE_MAX; i++)
			if (w->store[r][i].used)
				gw_relay(w, r ^ 1, &w->store[r][i]);
}

/* ---- the simulation ------------------------------------------------------------------ */

/* Advance the clock 1 ms at a time until done(w) or limit_ms more. */
static int run_until(struct world *w, int (*done)(const struct world *), uint64_t limit_ms)
{
	uint64_t end = w->now + limit_ms;

	while (!done(w) && w->now < end) {
		w->now++;
		for (;;) {
			unsigned best = NET_MAX;
			struct pkt p;

			for (unsigned i = 0; i < w->n_net; i++)
				if (w->net[i].at <= w->now &&
				    (best == NET_MAX || w->net[i].at < w->net[best].at))
					best = i;
			if (best == NET_MAX)
				break;
			p = w->net[best];
			w->net[best] = w->net[--w->n_net];
			if (p.to == GW)
				gw_input(w, p.from, p.b, p.len);
			else
				sga_core_input(&w->core[p.to], p.b, p.len);
			gw_burst_end(w);
		}
		gw_timer(w);
		for (int k = 0; k < 2; k++)
			if (sga_core_next_timer(&w->core[k]) == 0)
				sga_core_poll(&w->core[k]);
	}
	return done(w);
}

static int both_registered(const struct world *w)
{
	return w->registered[0] && w->registered[1];
}

static int both_established(const struct world *w)
{
	return w->established[0] && w->established[1];
}

static int both_closed(const struct world *w)
{
	return w->closed[0] && w->closed[1];
}

static int store_empty(const struct world *w)
{
	for (int r = 0; r < 2; r++)
		for (int i = 0; i < STORE_MAX; i++)
			if (w->store[r][i].used)
				return 0;
	return 1;
}

static unsigned next_msg[2];

static int all_delivered(const struct world *w)
{
	for (int k = 0; k < 2; k++) {
		if (w->acked[k] < N_MSGS)
			return 0;
		for (int s = 1; s <= N_MSGS; s++)
			if (!w->got[k ^ 1][s])
				return 0;
	}
	return 1;
}

/* Send what the window takes, then let the network run. */
static int pump_messages(const struct world *cw)
{
	struct world *w = (struct world *)cw;

	for (int k = 0; k < 2; k++)
		while (next_msg[k] < N_MSGS && sga_core_send_room(&w->core[k])) {
			uint8_t m[64];
			uint64_t seq;
			size_t len = 3 + (next_msg[k] + 1) % 50;

			memset(m, 'a' + k, sizeof(m));
			m[len - 1] = (uint8_t)(next_msg[k] + 1);
			cr_assert_eq(sga_core_send(&w->core[k], m, len, &seq), 0);
			cr_assert_eq(seq, next_msg[k] + 1);
			next_msg[k]++;
			if (w->core[k].win.next - w->core[k].win.base > w->max_flight[k])
				w->max_flight[k] = w->core[k].win.next - w->core[k].win.base;
		}
	return all_delivered(w);
}

static const uint8_t *g_suites[2]; /* NULL: the default lists below */

static void world_init(struct world *w, unsigned loss, unsigned jitter, uint32_t seed)
{
	static const uint8_t suites[2][2] = {{SGA_SUITE_AES128_CCM8, SGA_SUITE_AES128_GCM},
	                                     {SGA_SUITE_AES128_GCM, SGA_SUITE_AES128_CCM8}};
	static const char *ids[2] = {"dev-i", "dev-j"};
	uint8_t body[SGA_FRAME_MAX];
	size_t blen;

	memset(w, 0, sizeof(*w));
	memset(next_msg, 0, sizeof(next_msg));
	w->loss_pct = loss;
	w->jitter_ms = jitter;
	w->rng = seed;
	w->now = 1000;
	cr_assert_eq(harness_gw_world_init(&w->g, ids[0], body, sizeof(body), &blen), 0);
	for (int k = 0; k < 2; k++) {
		const struct sga_core_io io = {.ctx = &w->ctx[k],
		                               .now_ms = cb_now,
		                               .send = cb_send,
		                               .save = cb_save,
		                               .event = cb_event};

		w->ctx[k].w = w;
		w->ctx[k].k = k;
		cr_assert_eq(
		    sga_core_init(&w->core[k], &io, body, blen, NULL, (const uint8_t *)ids[k], 5,
		                  g_suites[k] ? g_suites[k] : suites[k], g_suites[k] ? 1 : 2),
		    0);
		cr_assert_eq(w->saves[k], 1, "a new identity's k_d is saved at once");
	}
}

static void world_fini(struct world *w)
{
	for (int k = 0; k < 2; k++)
		sga_core_fini(&w->core[k]);
	harness_gw_world_fini(&w->g);
	sga_cookie_key_wipe(&w->cookie_key);
}

static void world_cookies(struct world *w)
{
	uint8_t root[SGA_COOKIE_ROOT_LEN];

	memset(root, 0x5c, sizeof(root));
	sga_cookie_key_init(&w->cookie_key, root);
	w->cookies = 1;
}

/* Both devices registered, d_i connected to d_j: a session, confirmed. */
static void register_and_connect(struct world *w)
{
	cr_assert_eq(sga_core_register(&w->core[0], NULL, 0), 0);
	cr_assert_eq(sga_core_register(&w->core[1], NULL, 0), 0);
	cr_assert(run_until(w, both_registered, 60000));
	sga_core_accept(&w->core[1], 1);
	cr_assert_eq(sga_core_connect(&w->core[0], (const uint8_t *)"dev-j", 5), 0);
	cr_assert(run_until(w, both_established, 60000));
}

/* Register, connect, N messages each way exactly once, close. */
static void full_run(struct world *w)
{
	cr_assert_eq(sga_core_register(&w->core[0], NULL, 0), 0);
	cr_assert_eq(sga_core_register(&w->core[1], NULL, 0), 0);
	cr_assert(run_until(w, both_registered, 60000), "registration");
	cr_assert(w->saved[0].registered && w->saved[1].registered);

	sga_core_accept(&w->core[1], 1);
	cr_assert_eq(sga_core_connect(&w->core[0], (const uint8_t *)"dev-j", 5), 0);
	cr_assert(run_until(w, both_established, 120000), "session (failures %d/%d)", w->failed[0],
	          w->failed[1]);

	cr_assert(run_until(w, pump_messages, 120000), "messages: acked %u/%u", w->acked[0],
	          w->acked[1]);
	for (int k = 0; k < 2; k++)
		for (int s = 1; s <= N_MSGS; s++) {
			cr_assert_eq(w->got[k][s], 1, "device %d got message %d %u times", k, s,
			             w->got[k][s]);
			cr_assert_eq(w->got_byte[k][s], s);
		}
	cr_assert_eq(w->acked[0], N_MSGS, "each message acknowledged once");
	/* DATA_DELIVERED releases the gateway's copies. */
	cr_assert(run_until(w, store_empty, 30000), "the gateway still holds messages");

	cr_assert_eq(sga_core_close(&w->core[0]), 0);
	cr_assert(run_until(w, both_closed, 60000), "close");
	cr_assert(!sga_core_established(&w->core[0]) && !sga_core_established(&w->core[1]));
	cr_assert_eq(w->failed[0] + w->failed[1], 0);
}

/* d_i's requests each went once (plain; echoes are counted apart). */
static void requests_sent_once(const struct world *w)
{
	cr_assert_eq(w->sent_type[0][SGA_MSG_REG_REQ], 1);
	cr_assert_eq(w->sent_type[0][SGA_MSG_NEG_REQ], 1);
	cr_assert_eq(w->sent_type[0][SGA_MSG_KEX_INIT], 1);
}

Test(core, clean_network, .timeout = 120)
{
	static struct world w;

	W = &w;
	world_init(&w, 0, 0, 1);
	full_run(&w);
	cr_assert_eq(w.closed[0], SGA_CLOSE_DEVICE);
	cr_assert_eq(w.closed[1], SGA_CLOSE_DEVICE);
	requests_sent_once(&w); /* nothing was lost */
	cr_assert_eq(w.sent_type[1][SGA_MSG_NEG_ACCEPT], 1);
	world_fini(&w);
}

Test(core, loss_and_reordering, .timeout = 300)
{
	static struct world w;

	W = &w;
	world_init(&w, 15, 40, 7);
	full_run(&w);
	cr_assert(w.sent_type[0][SGA_MSG_DATA_UP] + w.sent_type[1][SGA_MSG_DATA_UP] >
	              2 * N_MSGS + 2,
	          "the loss made the cores re-send");
	world_fini(&w);
}

/*
 * A gateway under load (cookie challenge on every request): each REG_REQ,
 * NEG_REQ and KEX_INIT comes back at once inside a COOKIE_ECHO with the
 * cookie of its bytes (no retransmission timer waited for), and the whole run
 * goes as on a quiet gateway. Without cookie support the core never
 * registers. With loss too, retransmissions carry the cookie (or, for a
 * NEG_REQ, which is a new request each time, earn a new one).
 */
Test(core, cookie_challenge_answered_with_echoes, .timeout = 120)
{
	static struct world w;

	W = &w;
	world_init(&w, 0, 0, 5);
	world_cookies(&w);
	full_run(&w);
	/* d_i: REG_REQ, NEG_REQ, KEX_INIT; d_j: REG_REQ, KEX_INIT - each once
	 * plain, once echoed, none re-sent by a timer. */
	requests_sent_once(&w);
	cr_assert_eq(w.sent_type[1][SGA_MSG_KEX_INIT], 1);
	cr_assert_eq(w.sent_type[0][SGA_MSG_COOKIE_ECHO], 3);
	cr_assert_eq(w.sent_type[1][SGA_MSG_COOKIE_ECHO], 2);
	cr_assert_eq(w.cookie_replies, 5);
	cr_assert_eq(w.echoes_taken, 5);
	world_fini(&w);
}

Test(core, cookie_challenge_with_loss_and_reordering, .timeout = 300)
{
	static struct world w;

	W = &w;
	world_init(&w, 15, 40, 9);
	world_cookies(&w);
	full_run(&w);
	cr_assert_geq(w.echoes_taken, 5);
	world_fini(&w);
}

static int j_woken(const struct world *w)
{
	return w->woken[1] != 0;
}

static int j_got_first(const struct world *w)
{
	return w->got[1][1] == 1;
}

/*
 * A sleepy device wakes (7.16): d_j misses d_i's message (nothing reaches it
 * at its old address), then sends a WAKE asking for what is stored. The first
 * WAKE is lost: the timer sends a new one (a new up counter, durable before it
 * leaves: cb_send checks), whose WAKE_ACK says one session has messages
 * stored, and the message arrives. A second WAKE while none is under way is
 * answered as well; one while a WAKE waits is refused.
 */
Test(core, wake_retried_as_a_new_wake_and_answered, .timeout = 120)
{
	static struct world w;
	uint64_t seq;

	W = &w;
	world_init(&w, 0, 0, 11);
	cr_assert_eq(sga_core_wake(&w.core[1], SGA_WAKE_FLAGS_ALL), -SGA_E_BAD_STATE,
	             "not registered yet");
	register_and_connect(&w);

	w.deaf[1] = 1;
	cr_assert_eq(sga_core_send(&w.core[0], (const uint8_t *)"abcd", 4, &seq), 0);
	cr_assert_eq(seq, 1);
	cr_assert(!run_until(&w, j_got_first, 1000));
	w.drop_wakes = 1;
	cr_assert_eq(sga_core_wake(&w.core[1], SGA_WAKE_WANT_STORED), 0);
	cr_assert_eq(sga_core_wake(&w.core[1], SGA_WAKE_WANT_STORED), -SGA_E_BAD_STATE,
	             "one WAKE at a time");
	cr_assert(run_until(&w, j_woken, 10000), "no WAKE_ACK");
	cr_assert_eq(w.woken[1], 1);
	cr_assert_eq(w.sent_type[1][SGA_MSG_WAKE], 2, "the lost WAKE, then a new one");
	cr_assert_eq(w.wakes_taken[1], 1);
	cr_assert_eq(w.wake_ctr[1], w.saved[1].up_ctr, "the WAKE's counter was saved");
	cr_assert_eq(w.woken_stored[1], 1, "one session with a message stored");
	cr_assert(run_until(&w, j_got_first, 1000), "the stored message");

	w.woken[1] = 0;
	cr_assert_eq(sga_core_wake(&w.core[1], SGA_WAKE_FLAGS_ALL), 0);
	cr_assert(run_until(&w, j_woken, 10000));
	cr_assert_eq(w.woken[1], 1);
	cr_assert_eq(w.wakes_taken[1], 2);
	world_fini(&w);
}

/*
 * A WAKE given up (every WAKE_ACK held back until the core stops trying):
 * the answer to its last WAKE, coming late, is refused (no EV_WOKEN after
 * the one that gave up), and a new WAKE is answered.
 */
Test(core, wake_given_up_refuses_its_late_answer, .timeout = 120)
{
	static struct world w;

	W = &w;
	world_init(&w, 0, 0, 13);
	register_and_connect(&w);
	w.hold_wake_acks = 1;
	cr_assert_eq(sga_core_wake(&w.core[1], 0), 0);
	cr_assert(run_until(&w, j_woken, 60000), "the WAKE was not given up");
	cr_assert_eq(w.woken[1], -1);
	cr_assert_gt(w.wakes_taken[1], 1, "re-sent as new WAKEs");
	cr_assert_eq(w.held_wake_ack.n, 1);
	w.woken[1] = 0;
	sga_core_input(&w.core[1], w.held_wake_ack.msg[0].frame, w.held_wake_ack.msg[0].len);
	cr_assert_eq(w.woken[1], 0, "the late WAKE_ACK of a WAKE given up was taken");
	w.hold_wake_acks = 0;
	cr_assert_eq(sga_core_wake(&w.core[1], 0), 0);
	cr_assert(run_until(&w, j_woken, 10000));
	cr_assert_eq(w.woken[1], 1);
	world_fini(&w);
}

/* Power cycle of device k: only what it saved last survives; that is
 * returned in *st. */
static void power_cycle(struct world *w, int k, struct sga_core_persist *st)
{
	const struct sga_core_io io = {.ctx = &w->ctx[k],
	                               .now_ms = cb_now,
	                               .send = cb_send,
	                               .save = cb_save,
	                               .event = cb_event};
	uint8_t body[SGA_FRAME_MAX];
	size_t blen;

	*st = w->saved[k];
	sga_core_fini(&w->core[k]);
	cr_assert_eq(sga_package_encode(&w->g.gw.prof[0].pkg, body, sizeof(body), &blen), 0);
	cr_assert_eq(sga_core_init(&w->core[k], &io, body, blen, st, NULL, 0, NULL, 0), 0);
}

/* The restart rule: a core started again from what it saved carries on with
 * fresh counters (the gateway takes its next NEG_REQ). */
Test(core, restart_from_saved_state, .timeout = 120)
{
	static struct world w;
	struct sga_core_persist st;

	W = &w;
	world_init(&w, 0, 0, 3);
	register_and_connect(&w);
	/* d_j ends the session; d_i loses power before it hears of it. */
	cr_assert_eq(sga_core_close(&w.core[1]), 0);
	cr_assert(run_until(&w, both_closed, 60000));
	power_cycle(&w, 0, &st);
	cr_assert_eq(sga_core_connect(&w.core[0], (const uint8_t *)"dev-j", 5), 0);
	w.established[0] = w.established[1] = 0;
	cr_assert(run_until(&w, both_established, 60000), "a new session after the restart");
	cr_assert_gt(w.saved[0].up_ctr, st.up_ctr);
	world_fini(&w);
}

/* Bytes on air of each message (ffdhe2048 + RSA-2048 profile, both devices
 * on aes-128-ccm8 alone), from the frames a run puts on the wire: the table
 * of docs/DEVICES.md. */
Test(core, frame_sizes, .timeout = 120)
{
	static struct world w;
	static const uint8_t types[] = {
	    SGA_MSG_REG_REQ,       SGA_MSG_REG_ACK,       SGA_MSG_NEG_REQ,  SGA_MSG_NEG_INVITE,
	    SGA_MSG_NEG_ACCEPT,    SGA_MSG_NEG_RESULT,    SGA_MSG_KEX_INIT, SGA_MSG_KEX_REPLY,
	    SGA_MSG_DATA_UP,       SGA_MSG_DATA_DOWN,     SGA_MSG_DATA_ACK, SGA_MSG_DATA_DELIVERED,
	    SGA_MSG_SESSION_CLOSE, SGA_MSG_SESSION_CLOSED};

	static const uint8_t ccm8[] = {SGA_SUITE_AES128_CCM8};
	const size_t *z = w.size_of;
	size_t over;

	W = &w;
	g_suites[0] = g_suites[1] = ccm8;
	world_init(&w, 0, 0, 1);
	full_run(&w);
	for (size_t i = 0; i < sizeof(types); i++)
		cr_log_info("frame %-16s %4zu bytes", sga_msg_name(types[i]), z[types[i]]);
	/* The first DATA_UP is a key confirmation: a 32-byte message. */
	over = z[SGA_MSG_DATA_UP] - SGA_MAC_LEN;
	cr_log_info("per message overhead (DATA_UP = DATA_DOWN): %zu bytes", over);
	cr_log_info("registration (REG_REQ + REG_ACK): %zu bytes",
	            z[SGA_MSG_REG_REQ] + z[SGA_MSG_REG_ACK]);
	cr_log_info(
	    "session set-up, d_i: %zu bytes (negotiation %zu, key exchange %zu, confirmation %zu)",
	    z[SGA_MSG_NEG_REQ] + z[SGA_MSG_NEG_RESULT] + z[SGA_MSG_KEX_INIT] +
	        z[SGA_MSG_KEX_REPLY] + 2 * z[SGA_MSG_DATA_UP] + z[SGA_MSG_DATA_ACK],
	    z[SGA_MSG_NEG_REQ] + z[SGA_MSG_NEG_RESULT], z[SGA_MSG_KEX_INIT] + z[SGA_MSG_KEX_REPLY],
	    2 * z[SGA_MSG_DATA_UP] + z[SGA_MSG_DATA_ACK]);
	cr_log_info("session set-up, d_j: %zu bytes (negotiation %zu)",
	            z[SGA_MSG_NEG_INVITE] + z[SGA_MSG_NEG_ACCEPT] + z[SGA_MSG_KEX_INIT] +
	                z[SGA_MSG_KEX_REPLY] + 2 * z[SGA_MSG_DATA_UP] + z[SGA_MSG_DATA_ACK],
	            z[SGA_MSG_NEG_INVITE] + z[SGA_MSG_NEG_ACCEPT]);
	cr_assert_eq(z[SGA_MSG_DATA_DOWN], z[SGA_MSG_DATA_UP], "same hop suite: same size");
	cr_assert_gt(z[SGA_MSG_KEX_INIT], 0);
	world_fini(&w);
}

#if SGA_CORE_FULL
/* ---- the host build (SGA_CORE_FULL) ------------------------------------------------ */

static struct sga_core_tx slots[2][32];

static void configure(struct world *w, const struct sga_core_params *p)
{
	for (int k = 0; k < 2; k++) {
		struct sga_core_params q = *p;

		if (q.window > SGA_CORE_WINDOW)
			q.slots = slots[k];
		cr_assert_eq(sga_core_configure(&w->core[k], &q), 0);
	}
}

/* Message i of device k, as pump_messages builds it; its e2e_seq. */
static uint64_t send_msg(struct world *w, int k, unsigned i)
{
	uint8_t m[64];
	uint64_t seq;
	size_t len = 3 + i % 50;

	memset(m, 'a' + k, sizeof(m));
	m[len - 1] = (uint8_t)i;
	cr_assert_eq(sga_core_send(&w->core[k], m, len, &seq), 0);
	return seq;
}

static const struct sga_core_params defaults = {SGA_CORE_RTO_MS,
                                                SGA_CORE_RTO_MIN_MS,
                                                SGA_CORE_RTO_MAX_MS,
                                                SGA_CORE_TIMEOUT_MS,
                                                SGA_CORE_CTL_TRIES,
                                                SGA_CORE_WINDOW,
                                                NULL};

/*
 * A window of 32 in the caller's slots: all 24 messages go at once (the
 * compile-time window holds 4), each is handed up once, and the counters say
 * what happened: every message acknowledged, nothing re-sent on a clean
 * network. configure refuses what it cannot take.
 */
Test(core, full_caller_window_and_counters, .timeout = 120)
{
	static struct world w;
	struct sga_core_params p = defaults;

	W = &w;
	world_init(&w, 0, 0, 1);
	p.window = 64;
	cr_assert_eq(sga_core_configure(&w.core[0], &p), -SGA_E_BAD_FIELD, "64 slots, none given");
	p = defaults;
	p.rto_min_ms = p.rto_max_ms + 1;
	cr_assert_eq(sga_core_configure(&w.core[0], &p), -SGA_E_BAD_FIELD);
	p = defaults;
	p.window = 32;
	configure(&w, &p);
	full_run(&w);
	cr_assert_eq(w.max_flight[0], N_MSGS, "all in flight at once: %llu",
	             (unsigned long long)w.max_flight[0]);
	for (int k = 0; k < 2; k++) {
		cr_assert_eq(w.core[k].stats.acked, N_MSGS);
		cr_assert_eq(w.core[k].stats.retransmits, 0);
	}
	world_fini(&w);
}

Test(core, full_caller_window_with_loss_and_reordering, .timeout = 300)
{
	static struct world w;
	struct sga_core_params p = defaults;

	W = &w;
	world_init(&w, 15, 40, 7);
	p.window = 32;
	configure(&w, &p);
	register_and_connect(&w);
	cr_assert(run_until(&w, pump_messages, 120000));
	for (int k = 0; k < 2; k++)
		for (int s = 1; s <= N_MSGS; s++)
			cr_assert_eq(w.got[k][s], 1);
	cr_assert_gt(w.core[0].stats.retransmits + w.core[1].stats.retransmits, 0);
	cr_assert_eq(w.core[0].stats.acked, N_MSGS);
	world_fini(&w);
}

static int i_idle(const struct world *w)
{
	return w->core[0].win.base == w->core[0].win.next;
}

/*
 * RFC 6298: on this network every DATA_UP is acknowledged 2 ms after it
 * left (1 ms each way), so after 23 samples srtt is 2 ms, rttvar has decayed
 * below the clock's granularity and a new message's first timeout is
 * srtt + 1 ms = 3 ms (the floor set to 1 ms); with the fixed timeout it would
 * be SGA_CORE_RTO_MS.
 */
Test(core, full_rtt_estimator_sets_the_first_timeout, .timeout = 120)
{
	static struct world w;
	struct sga_core_params p = defaults;
	uint64_t seq;

	W = &w;
	world_init(&w, 0, 0, 1);
	p.rto_min_ms = 1;
	configure(&w, &p);
	register_and_connect(&w);
	cr_assert_eq(sga_core_configure(&w.core[0], &p), -SGA_E_BAD_STATE, "a session is up");
	for (unsigned i = 1; i < N_MSGS; i++) {
		seq = send_msg(&w, 0, i);
		cr_assert_eq(w.core[0].win.tx[seq % SGA_CORE_WINDOW].rto, w.core[0].win.data_rto);
		cr_assert(run_until(&w, i_idle, 100));
	}
	cr_assert_eq(w.core[0].win.srtt_us, 2000, "srtt %llu us",
	             (unsigned long long)w.core[0].win.srtt_us);
	cr_assert_eq(w.core[0].win.data_rto, 3, "first timeout %u ms", w.core[0].win.data_rto);
	seq = send_msg(&w, 0, N_MSGS);
	cr_assert_eq(w.core[0].win.tx[seq % SGA_CORE_WINDOW].rto, 3);
	world_fini(&w);
}

static int j_got_5(const struct world *w)
{
	for (int s = 1; s <= 5; s++)
		if (!w->got[1][s])
			return 0;
	return 1;
}

/*
 * Fast re-send: message 1 is lost; once three messages sent after it are
 * acknowledged, it goes again at once, long before its 5 s timeout. Without
 * the fast re-send it arrives only after that timeout and the test fails.
 */
Test(core, full_fast_resend_before_the_timeout, .timeout = 120)
{
	static struct world w;
	struct sga_core_params p = defaults;

	W = &w;
	world_init(&w, 0, 0, 1);
	p.rto_ms = p.rto_min_ms = 5000;
	p.rto_max_ms = 8000;
	p.timeout_ms = 60000;
	p.window = 8;
	configure(&w, &p);
	register_and_connect(&w);
	w.drop_up[0] = 1;
	for (unsigned i = 1; i <= 5; i++)
		cr_assert_eq(send_msg(&w, 0, i), i);
	cr_assert(run_until(&w, j_got_5, 1000), "message 1 waited for its timeout");
	cr_assert_eq(w.got[1][1], 1);
	cr_assert_eq(w.core[0].stats.retransmits, 1, "one fast re-send, %llu",
	             (unsigned long long)w.core[0].stats.retransmits);
	world_fini(&w);
}

static int i_failed(const struct world *w)
{
	return w->failed[0] != 0;
}

/*
 * ERROR hints (7.12) change nothing but the status an exchange gives up
 * with: a gateway that answers every REG_REQ with UNAVAILABLE about this
 * device makes the registration fail with -SGA_E_UNAVAILABLE after all its
 * tries (not at the first hint); a hint about another identity is counted
 * and ignored: the plain timeout.
 */
Test(core, full_error_hint_shapes_the_timeout, .timeout = 120)
{
	static struct world w;
	struct sga_core_params p = defaults;

	W = &w;
	world_init(&w, 0, 0, 1);
	p.rto_ms = p.rto_min_ms = 50;
	p.rto_max_ms = 200;
	p.ctl_tries = 3;
	configure(&w, &p);
	w.hint_code[0] = SGA_E_UNAVAILABLE;
	cr_assert_eq(sga_core_register(&w.core[0], NULL, 0), 0);
	cr_assert(!run_until(&w, i_failed, 40), "a hint does not end the exchange");
	cr_assert(run_until(&w, i_failed, 10000));
	cr_assert_eq(w.fail_status[0], -SGA_E_UNAVAILABLE);
	cr_assert_eq(w.sent_type[0][SGA_MSG_REG_REQ], 3, "every try went");
	cr_assert_eq(w.core[0].stats.hints, 3);
	cr_assert_eq(w.core[0].stats.retransmits, 2);

	w.failed[0] = 0;
	w.hint_ref[0] = "dev-x";
	cr_assert_eq(sga_core_register(&w.core[0], NULL, 0), 0);
	cr_assert(run_until(&w, i_failed, 10000));
	cr_assert_eq(w.fail_status[0], -SGA_CORE_E_TIMEOUT);
	cr_assert_eq(w.core[0].stats.hints, 6);
	world_fini(&w);
}
#endif

/*
 * The exchange timer shared by the core's exchanges and the Linux SDK's:
 * each arming counts a try, sets the next one rto from now, doubles rto up
 * to the maximum and renews the budget of two cookie echoes; a new exchange
 * starts from nothing.
 */
Test(core, exchange_timer_backs_off_and_budgets_echoes)
{
	struct sga_core_xt t;

	memset(&t, 0xa5, sizeof(t));
	sga_core_xt_start(&t, 100);
	cr_assert_eq(t.tries, 0);
	cr_assert_eq(t.next_ms, 0);
	cr_assert(!sga_core_xt_due(&t, 1000000)); /* no timer: never due */
	sga_core_xt_arm(&t, 1000, 350);
	cr_assert_eq(t.tries, 1);
	cr_assert_eq(t.next_ms, 1100);
	cr_assert(!sga_core_xt_due(&t, 1099));
	cr_assert(sga_core_xt_due(&t, 1100));
	cr_assert(sga_core_xt_echo(&t));
	cr_assert(sga_core_xt_echo(&t));
	cr_assert(!sga_core_xt_echo(&t), "a third echo before the timer");
	sga_core_xt_arm(&t, 1100, 350);
	cr_assert_eq(t.tries, 2);
	cr_assert_eq(t.next_ms, 1300); /* 200 */
	cr_assert(sga_core_xt_echo(&t), "the budget renews with the timer");
	sga_core_xt_arm(&t, 1300, 350);
	sga_core_xt_arm(&t, 1650, 350);
	cr_assert_eq(t.tries, 4);
	cr_assert_eq(t.next_ms, 2000); /* 400 capped at 350 */
	sga_core_xt_start(&t, 100);
	cr_assert_eq(t.tries, 0);
	cr_assert_eq(t.echoes, 0);
	cr_assert_eq(t.rto, 100);
}

#if !defined(sga_core_win_confirm) /* the harness's devices and sessions are the OpenSSL build's */
/*
 * The handshake's steps the core's exchange and the Linux SDK's share
 * (sga_core_hs_*), against the gateway's handlers: a frame that is not the
 * answer changes nothing, a step that cannot build its frame ends the
 * attempt, an answer builds the next frame (the KEX_INIT after the NEG_RESULT
 * or the NEG_ACCEPT, the key confirmation in the window after the KEX_REPLY),
 * a decline builds none.
 */
Test(core, handshake_steps_build_the_next_frame)
{
	static const uint8_t suites[] = {SGA_SUITE_AES128_GCM};
	struct harness h;
	struct sga_neg_req_plain a1;
	struct sga_neg_accept_plain a3;
	struct sga_gw_out out, res;
	struct sga_dev_sess tmp;
	struct sga_core_win win;
	uint8_t acc[SGA_FRAME_MAX], kex[2][SGA_FRAME_MAX], f[SGA_FRAME_MAX];
	size_t acc_len, kex_len[2], len;
	uint64_t ctr;
#if SGA_CORE_FULL
	static struct sga_core_tx hs_slots[4];
	const struct sga_core_params p = {.rto_ms = 100,
	                                  .rto_min_ms = 100,
	                                  .rto_max_ms = 400,
	                                  .timeout_ms = 1000,
	                                  .ctl_tries = 3,
	                                  .window = 4,
	                                  .slots = hs_slots};

	cr_assert_eq(sga_core_win_init(&win, &p), 0);
#else
	memset(&win, 0, sizeof(win));
	sga_core_win_reset(&win, 100);
#endif
	cr_assert_eq(harness_init(&h, SGA_GROUP_FFDHE2048, suites, 1, suites, 1), 0);
	cr_assert_eq(harness_register(&h, 0), 0);
	cr_assert_eq(harness_register(&h, 1), 0);
	/* A1, A2 */
	cr_assert_eq(sga_dev_create_neg_req(&h.dev[0], &h.sess[0], h.dev[1].id, h.dev[1].id_len,
	                                    suites, 1, h.frame, sizeof(h.frame), &h.frame_len),
	             0);
	cr_assert_eq(sga_gw_neg_req_open(&h.gw, &h.rec[0], h.frame, h.frame_len, &a1, &ctr), 0);
	cr_assert_eq(sga_gw_neg_req_handle(&h.gw, &h.rec[0], &h.rec[1], &a1, ctr, &h.gsess, &out),
	             0);
	cr_assert_eq(
	    sga_dev_consume_neg_invite(&h.dev[1], &h.sess[1], out.msg[0].frame, out.msg[0].len), 0);
	/* A decline: the NEG_ACCEPT alone, the session over. */
	tmp = h.sess[1];
	cr_assert_eq(sga_core_hs_answer(&h.dev[1], &tmp, 0, acc, sizeof(acc), &acc_len, kex[1],
	                                sizeof(kex[1]), &kex_len[1]),
	             0);
	cr_assert_eq(tmp.state, SGA_DEV_S_FAILED);
	cr_assert_eq(kex_len[1], 0);
	cr_assert_eq(acc[1], SGA_MSG_NEG_ACCEPT);
	sga_dev_sess_wipe(&tmp);
	/* A3 and B3: the NEG_ACCEPT and the KEX_INIT after it. */
	cr_assert_eq(sga_core_hs_answer(&h.dev[1], &h.sess[1], 1, acc, sizeof(acc), &acc_len,
	                                kex[1], sizeof(kex[1]), &kex_len[1]),
	             0);
	cr_assert_eq(h.sess[1].state, SGA_DEV_S_KEX);
	cr_assert(h.sess[1].kex_made);
	cr_assert_eq(kex[1][1], SGA_MSG_KEX_INIT);
	cr_assert_eq(sga_gw_neg_accept_open(&h.gw, &h.rec[1], acc, acc_len, &a3, &ctr), 0);
	cr_assert_eq(sga_gw_neg_accept_handle(&h.gw, &h.rec[1], &h.gsess, &a3, ctr, &res), 0);
	/* A4: a NEG_RESULT that does not open changes nothing. */
	memcpy(f, res.msg[0].frame, res.msg[0].len);
	f[res.msg[0].len - 1] ^= 1;
	cr_assert_neq(sga_core_hs_result(&h.dev[0], &h.sess[0], f, res.msg[0].len, kex[0],
	                                 sizeof(kex[0]), &kex_len[0]),
	              0);
	cr_assert_eq(h.sess[0].state, SGA_DEV_S_NEG_SENT);
	/* ... one whose KEX_INIT cannot be built ends the attempt, naming the session. */
	tmp = h.sess[0];
	cr_assert_neq(sga_core_hs_result(&h.dev[0], &tmp, res.msg[0].frame, res.msg[0].len, kex[0],
	                                 8, &kex_len[0]),
	              0);
	cr_assert_eq(tmp.state, SGA_DEV_S_FAILED);
	cr_assert_neq(tmp.session_id, 0);
	sga_dev_sess_wipe(&tmp);
	/* ... the answer gives the KEX_INIT (B1), the bytes kept for re-sending. */
	cr_assert_eq(sga_core_hs_result(&h.dev[0], &h.sess[0], res.msg[0].frame, res.msg[0].len,
	                                kex[0], sizeof(kex[0]), &kex_len[0]),
	             0);
	cr_assert_eq(h.sess[0].state, SGA_DEV_S_KEX);
	cr_assert_eq(kex_len[0], h.sess[0].kex_frame_len);
	cr_assert_eq(memcmp(kex[0], h.sess[0].kex_frame, kex_len[0]), 0);
	/* B4..B6: the gateway's KEX_REPLYs. */
	for (int k = 0; k < 2; k++)
		cr_assert_eq(
		    sga_gw_kex_init_handle(&h.gw, &h.rec[k], &h.gsess, kex[k], kex_len[k], &out),
		    0);
	cr_assert_eq(out.n, 2);
	for (unsigned m = 0; m < 2; m++) {
		int k = out.msg[m].to_id_len == h.dev[0].id_len &&
		                !memcmp(out.msg[m].to_id, h.dev[0].id, h.dev[0].id_len)
		            ? 0
		            : 1;

		if (k)
			continue;
		/* A KEX_REPLY that does not open: nothing derived, nothing in the window. */
		memcpy(f, out.msg[m].frame, out.msg[m].len);
		f[out.msg[m].len - 1] ^= 1;
		cr_assert_neq(sga_core_hs_keys(&h.dev[0], &h.sess[0], &win, f, out.msg[m].len,
		                               h.frame, sizeof(h.frame), &len, 1000, 1000000),
		              0);
		cr_assert_eq(h.sess[0].state, SGA_DEV_S_KEX);
		cr_assert_eq(win.next, 0);
		/* B7: the keys, and the key confirmation (e2e_seq 0) in the window. */
		cr_assert_eq(sga_core_hs_keys(&h.dev[0], &h.sess[0], &win, out.msg[m].frame,
		                              out.msg[m].len, h.frame, sizeof(h.frame), &len, 1000,
		                              1000000),
		             0);
		cr_assert_eq(h.sess[0].state, SGA_DEV_S_ESTABLISHED);
		cr_assert(h.sess[0].confirm_sent);
		cr_assert_eq(h.frame[1], SGA_MSG_DATA_UP);
		cr_assert_eq(win.next, 1);
		cr_assert(win.tx[0].used);
		cr_assert_eq(win.tx[0].seq, 0);
		/* A repeat of the answer: no second confirmation. */
		cr_assert_neq(sga_core_hs_keys(&h.dev[0], &h.sess[0], &win, out.msg[m].frame,
		                               out.msg[m].len, h.frame, sizeof(h.frame), &len, 1000,
		                               1000000),
		              0);
		cr_assert_eq(win.next, 1);
	}
	sga_core_win_reset(&win, 100);
	harness_fini(&h);
}
#endif

#if !defined(sga_core_win_confirm) /* the harness's devices are the OpenSSL build's */
/* The gateway's side of a WAKE, as the control plane's handler does it
 * (sga_gw_wake_open, the counter taken, sga_gw_wake_ack_seal): the WAKE_ACK
 * for f into ack, its counts invitations and stored; the flags asked, or -1
 * when the WAKE does not open. */
static int gw_take_wake(struct harness *h, const uint8_t *f, size_t n, unsigned invitations,
                        unsigned stored, struct sga_gw_out *ack)
{
	struct sga_wake_plain wake;
	uint64_t ctr;

	memset(ack, 0, sizeof(*ack));
	if (sga_gw_wake_open(&h->gw, &h->rec[0], f, n, &wake, &ctr))
		return -1;
	cr_assert_gt(ctr, h->rec[0].up_ctr);
	h->rec[0].up_ctr = ctr;
	cr_assert_eq(sga_gw_wake_ack_seal(&h->rec[0], ctr, invitations, stored, ack), 0);
	cr_assert_eq(ack->n, 1);
	return wake.flags;
}

/*
 * A WAKE's steps the core's WAKE and the Linux SDK's share (sga_core_wake_*),
 * against the gateway's: no WAKE before the registration nor with unknown
 * flags (nothing spent); each WAKE takes a new up counter and the gateway
 * opens it with its flags; the WAKE_ACK of an earlier WAKE, a forged one, a
 * duplicate and one for a WAKE given up are refused and change nothing; the
 * latest WAKE's is taken with the gateway's counts.
 */
Test(core, wake_steps_build_and_take_the_latest_only)
{
	static const uint8_t suites[] = {SGA_SUITE_AES128_GCM};
	struct harness h;
	struct sga_wake_ack_plain ack;
	struct sga_gw_out a1, a2, a3;
	uint8_t f[SGA_FRAME_MAX];
	size_t len;
	uint64_t ctr;

	cr_assert_eq(harness_init(&h, SGA_GROUP_FFDHE2048, suites, 1, suites, 1), 0);
	cr_assert_eq(sga_core_wake_req(&h.dev[0], SGA_WAKE_WANT_STORED, f, sizeof(f), &len),
	             -SGA_E_BAD_STATE, "not registered");
	cr_assert_eq(harness_register(&h, 0), 0);
	ctr = h.dev[0].up_ctr;
	cr_assert_eq(sga_core_wake_req(&h.dev[0], 0x80, f, sizeof(f), &len), -SGA_E_BAD_FIELD);
	cr_assert_eq(h.dev[0].up_ctr, ctr, "nothing spent");
	cr_assert_eq(h.dev[0].wake_ctr, 0);
	/* The first WAKE (its answer comes late), then a new one, as a re-send is. */
	cr_assert_eq(sga_core_wake_req(&h.dev[0], SGA_WAKE_WANT_STORED, f, sizeof(f), &len), 0);
	cr_assert_eq(h.dev[0].up_ctr, ctr + 1, "a new up counter: saved before it leaves");
	cr_assert_eq(f[1], SGA_MSG_WAKE);
	cr_assert_eq(gw_take_wake(&h, f, len, 0, 1, &a1), SGA_WAKE_WANT_STORED);
	cr_assert_eq(sga_core_wake_req(&h.dev[0], SGA_WAKE_FLAGS_ALL, f, sizeof(f), &len), 0);
	cr_assert_eq(h.dev[0].up_ctr, ctr + 2);
	cr_assert_eq(gw_take_wake(&h, f, len, 2, 3, &a2), SGA_WAKE_FLAGS_ALL);
	/* The first WAKE's answer: authentic, not for the latest. */
	cr_assert_eq(sga_core_wake_ack(&h.dev[0], a1.msg[0].frame, a1.msg[0].len, &ack),
	             -SGA_E_REPLAY);
	cr_assert_eq(h.dev[0].wake_ctr, ctr + 2, "still waiting");
	/* A forged one. */
	memcpy(f, a2.msg[0].frame, a2.msg[0].len);
	f[a2.msg[0].len - 1] ^= 1;
	cr_assert_neq(sga_core_wake_ack(&h.dev[0], f, a2.msg[0].len, &ack), 0);
	cr_assert_eq(h.dev[0].wake_ctr, ctr + 2, "still waiting");
	/* The answer, with the gateway's counts; again, it is refused. */
	cr_assert_eq(sga_core_wake_ack(&h.dev[0], a2.msg[0].frame, a2.msg[0].len, &ack), 0);
	cr_assert_eq(ack.invitations, 2);
	cr_assert_eq(ack.stored, 3);
	cr_assert_eq(h.dev[0].wake_ctr, 0);
	cr_assert_eq(sga_core_wake_ack(&h.dev[0], a2.msg[0].frame, a2.msg[0].len, &ack),
	             -SGA_E_REPLAY, "a duplicate");
	/* A WAKE given up: its answer, coming late, is refused. */
	cr_assert_eq(sga_core_wake_req(&h.dev[0], 0, f, sizeof(f), &len), 0);
	cr_assert_eq(gw_take_wake(&h, f, len, 0, 0, &a3), 0);
	sga_core_wake_end(&h.dev[0]);
	cr_assert_eq(sga_core_wake_ack(&h.dev[0], a3.msg[0].frame, a3.msg[0].len, &ack),
	             -SGA_E_REPLAY);
	cr_assert_eq(h.dev[0].up_ctr, ctr + 3);
	harness_fini(&h);
}
#endif

#if SGA_CORE_FULL
/* ---- session rekey (SGA_CORE_FULL) --------------------------------------------------- */

/* Sends as pump_messages does, the index in the last byte; device k asks for
 * a rekey once rekey_at[k] of its messages went (device 1 after its first
 * rekey is done, so that its request starts a second generation). */
static unsigned rekey_at[2], rekey_asked[2];

static int rekey_pump(const struct world *cw)
{
	struct world *w = (struct world *)cw;

	for (int k = 0; k < 2; k++) {
		if (!rekey_asked[k] && rekey_at[k] && next_msg[k] >= rekey_at[k] &&
		    (k == 0 || w->rekeyed[k])) {
			cr_assert_eq(sga_core_rekey(&w->core[k]), 0);
			rekey_asked[k] = 1;
		}
		while (next_msg[k] < N_MSGS && sga_core_send_room(&w->core[k])) {
			uint8_t m[64];
			size_t len = 3 + (next_msg[k] + 1) % 50;

			memset(m, 'a' + k, sizeof(m));
			m[len - 1] = (uint8_t)(next_msg[k] + 1);
			cr_assert_eq(sga_core_send(&w->core[k], m, len, NULL), 0);
			next_msg[k]++;
		}
	}
	return all_delivered(w) && w->rekeyed[0] >= 2 && w->rekeyed[1] >= 2;
}

/* Two rekeys in one session, each under traffic: device 0 asks for the
 * first after 8 of its messages, device 1 for the second after 16 (once the
 * first is done on its side); the peer of each answers the gateway's
 * REKEY_NOTICE without being asked. Both end on generation 2 with the
 * gateway, every message of each side is handed up exactly once and
 * acknowledged once, the gateway's store empties, and the session closes
 * under the new keys. Each REKEY_INIT's counter is saved before it leaves
 * (cb_send). */
static void rekey_run(struct world *w)
{
	rekey_at[0] = 8;
	rekey_at[1] = 16;
	rekey_asked[0] = rekey_asked[1] = 0;
	w->by_index = 1;
	register_and_connect(w);
	cr_assert(run_until(w, rekey_pump, 240000),
	          "acked %u/%u, rekeys %u/%u (failed %u/%u), generation %u/%u", w->acked[0],
	          w->acked[1], w->rekeyed[0], w->rekeyed[1], w->rekey_failed[0], w->rekey_failed[1],
	          w->core[0].sess.rk.gen, w->core[1].sess.rk.gen);
	cr_log_info("REKEY_INITs sent %u/%u, new at the gateway %u/%u; retransmits %llu/%llu",
	            w->sent_type[0][SGA_MSG_REKEY_INIT], w->sent_type[1][SGA_MSG_REKEY_INIT],
	            w->rekey_inits_fresh[0], w->rekey_inits_fresh[1],
	            (unsigned long long)w->core[0].stats.retransmits,
	            (unsigned long long)w->core[1].stats.retransmits);
	for (int k = 0; k < 2; k++) {
		cr_assert_eq(w->rekeyed_gen[k], 2);
		cr_assert_eq(w->core[k].sess.rk.gen, 2);
		cr_assert_eq(w->rekey_inits_fresh[k], 2, "one new REKEY_INIT per generation");
		cr_assert_eq(w->rekey_failed[k], 0);
		cr_assert_eq(w->acked[k], N_MSGS, "each message acknowledged once");
		for (int i = 1; i <= N_MSGS; i++)
			cr_assert_eq(w->got[k][i], 1, "device %d got message %d %u times", k, i,
			             w->got[k][i]);
	}
	cr_assert_eq(w->g.gs.rk.gen, 2);
	cr_assert(run_until(w, store_empty, 30000), "the gateway still holds messages");
	cr_assert_eq(sga_core_close(&w->core[0]), 0);
	cr_assert(run_until(w, both_closed, 60000), "close");
	cr_assert_eq(w->failed[0] + w->failed[1], 0);
}

Test(core, full_rekey_twice_under_traffic, .timeout = 300)
{
	static struct world w;

	W = &w;
	world_init(&w, 0, 0, 1);
	rekey_run(&w);
	for (int k = 0; k < 2; k++)
		cr_assert_eq(w.sent_type[k][SGA_MSG_REKEY_INIT], 2, "none re-sent");
	world_fini(&w);
}

Test(core, full_rekey_with_loss_and_reordering, .timeout = 300)
{
	static struct world w;

	W = &w;
	world_init(&w, 15, 40, 7);
	rekey_run(&w);
	cr_assert_gt(w.core[0].stats.retransmits + w.core[1].stats.retransmits, 0);
	world_fini(&w);
}

/* ---- k_d rekey (SGA_CORE_FULL) ------------------------------------------------------- */

static int i_replaced_and_delivered(const struct world *w)
{
	return pump_messages(w) && w->replaced[0];
}

static int i_replaced(const struct world *w)
{
	return w->replaced[0] != 0;
}

static int never(const struct world *w)
{
	(void)w;
	return 0;
}

/* Device i's k_d is the gateway's record of it: both hold key. */
static void key_is(const struct world *w, const uint8_t key[SGA_KEY_LEN])
{
	cr_assert_eq(memcmp(w->core[0].dev.k_d, key, SGA_KEY_LEN), 0, "the device's key");
	cr_assert_eq(memcmp(w->saved[0].k_d, key, SGA_KEY_LEN), 0, "the saved key");
	cr_assert_eq(memcmp(w->g.rec[0].k_d, key, SGA_KEY_LEN), 0, "the gateway's key");
	cr_assert(!w->saved[0].has_k_d_next && !w->core[0].kd_has_next, "nothing pending");
}

/* After a replacement: the session set up again, under the new key (the
 * NEG_REQ is MACed with the key the gateway now holds). */
static void new_session_after(struct world *w)
{
	cr_assert_eq(sga_core_close(&w->core[0]), 0);
	cr_assert(run_until(w, both_closed, 60000), "close");
	w->established[0] = w->established[1] = 0;
	cr_assert_eq(sga_core_connect(&w->core[0], (const uint8_t *)"dev-j", 5), 0);
	cr_assert(run_until(w, both_established, 120000), "a session under the new key");
}

/* The engine's k_d rekey under traffic, with loss and reordering: the
 * proposed key and the counter are saved before the REG_REQ leaves (cb_send),
 * the session's messages go on meanwhile, each once; once EV_KEY_REPLACED
 * comes the device, what it saved and the gateway hold the new key, the
 * counters restarted, and a new session is set up under it. */
Test(core, full_key_replaced_under_traffic, .timeout = 300)
{
	static struct world w;
	uint8_t old[SGA_KEY_LEN], next[SGA_KEY_LEN];
	unsigned saves;

	W = &w;
	world_init(&w, 10, 30, 11);
	register_and_connect(&w);
	pump_messages(&w); /* a window of messages out first */
	memcpy(old, w.core[0].dev.k_d, SGA_KEY_LEN);
	saves = w.saves[0];
	cr_assert_eq(sga_core_rekey_device(&w.core[0]), 0);
	cr_assert_eq(w.saves[0], saves + 1, "saved before it left");
	cr_assert(w.saved[0].has_k_d_next);
	memcpy(next, w.saved[0].k_d_next, SGA_KEY_LEN);
	cr_assert_neq(memcmp(next, old, SGA_KEY_LEN), 0, "a fresh key");
	cr_assert_eq(sga_core_rekey_device(&w.core[0]), -SGA_E_BAD_STATE, "one at a time");
	cr_assert(run_until(&w, i_replaced_and_delivered, 240000), "replaced %d, acked %u/%u",
	          w.replaced[0], w.acked[0], w.acked[1]);
	cr_assert_eq(w.replaced[0], 1);
	key_is(&w, next);
	cr_assert_eq(w.saved[0].up_ctr, 0, "the new key starts new counters");
	for (int k = 0; k < 2; k++)
		for (int i = 1; i <= N_MSGS; i++)
			cr_assert_eq(w.got[k][i], 1, "device %d got message %d %u times", k, i,
			             w.got[k][i]);
	new_session_after(&w);
	sga_memzero(old, sizeof(old));
	sga_memzero(next, sizeof(next));
	world_fini(&w);
}

/* Stopped before the REG_ACK, after the gateway took the new key: restarted
 * from what it saved, the device proposes the same key again (not a fresh
 * one, which the gateway could not open: it holds the proposed one now), and
 * the replacement converges. Then a replacement nobody answers ends with
 * EV_KEY_REPLACED and a status, the old key kept and the proposal saved. */
Test(core, full_key_replaced_across_a_restart_and_given_up, .timeout = 300)
{
	static struct world w;
	struct sga_core_persist st;
	uint8_t next[SGA_KEY_LEN], kept[SGA_KEY_LEN];

	W = &w;
	world_init(&w, 0, 0, 5);
	register_and_connect(&w);
	cr_assert_eq(sga_core_close(&w.core[0]), 0);
	cr_assert(run_until(&w, both_closed, 60000), "close");
	w.lose_to[0][SGA_MSG_REG_ACK] = 1;
	cr_assert_eq(sga_core_rekey_device(&w.core[0]), 0);
	memcpy(next, w.saved[0].k_d_next, SGA_KEY_LEN);
	run_until(&w, i_replaced, 50); /* the REG_REQ is taken, its REG_ACK lost */
	cr_assert_eq(memcmp(w.g.rec[0].k_d, next, SGA_KEY_LEN), 0, "the gateway took it");
	cr_assert_eq(w.replaced[0], 0);

	power_cycle(&w, 0, &st);
	cr_assert(st.has_k_d_next);
	cr_assert(w.core[0].kd_has_next, "the pending replacement is restored");
	cr_assert_eq(sga_core_rekey_device(&w.core[0]), 0);
	cr_assert_eq(memcmp(w.saved[0].k_d_next, next, SGA_KEY_LEN), 0, "the same key again");
	cr_assert(run_until(&w, i_replaced, 60000));
	cr_assert_eq(w.replaced[0], 1);
	key_is(&w, next);
	w.established[0] = w.established[1] = 0;
	cr_assert_eq(sga_core_connect(&w.core[0], (const uint8_t *)"dev-j", 5), 0);
	cr_assert(run_until(&w, both_established, 120000), "a session under the new key");

	/* No answer at all: given up after the tries, nothing lost. */
	w.replaced[0] = 0;
	w.lose_to[0][SGA_MSG_REG_ACK] = 1000;
	cr_assert_eq(sga_core_rekey_device(&w.core[0]), 0);
	memcpy(kept, w.saved[0].k_d_next, SGA_KEY_LEN);
	cr_assert(run_until(&w, i_replaced, 120000));
	cr_assert_eq(w.replaced[0], -SGA_CORE_E_TIMEOUT);
	cr_assert_eq(memcmp(w.core[0].dev.k_d, next, SGA_KEY_LEN), 0, "the old key stays");
	cr_assert(w.saved[0].has_k_d_next, "the proposal stays saved");
	cr_assert_eq(memcmp(w.saved[0].k_d_next, kept, SGA_KEY_LEN), 0);
	cr_assert_eq(w.sent_type[0][SGA_MSG_REG_REQ] >= 2 + SGA_CORE_CTL_TRIES, 1);
	sga_memzero(next, sizeof(next));
	sga_memzero(kept, sizeof(kept));
	world_fini(&w);
}

/* The caller gave up first (sga_core_abandon, the Linux SDK's deadline): the
 * core sends nothing more, and the REG_ACK that comes late is still taken,
 * for a registration and for a k_d rekey (the gateway holds that key now: a
 * device that ignored it could not set up a session); a WAKE_ACK that comes
 * late for an abandoned WAKE is refused, as for one given up. */
Test(core, full_abandon_takes_a_late_reg_ack_not_a_late_wake_ack, .timeout = 120)
{
	static struct world w;
	uint8_t next[SGA_KEY_LEN];
	unsigned sent;

	W = &w;
	world_init(&w, 0, 0, 9);
	w.hold_to[0][SGA_MSG_REG_ACK] = 1;
	cr_assert_eq(sga_core_register(&w.core[0], NULL, 0), 0);
	cr_assert_eq(sga_core_register(&w.core[1], NULL, 0), 0);
	run_until(&w, never, 100);
	cr_assert(w.held.len && !w.registered[0], "the REG_ACK is held");
	sga_core_abandon(&w.core[0]);
	sent = w.sent_type[0][SGA_MSG_REG_REQ];
	run_until(&w, never, 20000);
	cr_assert_eq(w.sent_type[0][SGA_MSG_REG_REQ], sent, "nothing sent after the abandon");
	cr_assert_eq(w.failed[0], 0, "no event for an abandoned exchange");
	w.hold_to[0][SGA_MSG_REG_ACK] = 0;
	sga_core_input(&w.core[0], w.held.b, w.held.len);
	cr_assert(w.registered[0] && w.saved[0].registered, "the late REG_ACK taken and saved");

	/* The same for a k_d rekey. */
	cr_assert(run_until(&w, both_registered, 60000));
	w.hold_to[0][SGA_MSG_REG_ACK] = 1;
	w.held.len = 0;
	cr_assert_eq(sga_core_rekey_device(&w.core[0]), 0);
	memcpy(next, w.saved[0].k_d_next, SGA_KEY_LEN);
	run_until(&w, never, 100);
	cr_assert(w.held.len);
	sga_core_abandon(&w.core[0]);
	w.hold_to[0][SGA_MSG_REG_ACK] = 0;
	sga_core_input(&w.core[0], w.held.b, w.held.len);
	cr_assert_eq(w.replaced[0], 1, "the late REG_ACK replaced the key");
	key_is(&w, next);
	sga_core_accept(&w.core[1], 1);
	cr_assert_eq(sga_core_connect(&w.core[0], (const uint8_t *)"dev-j", 5), 0);
	cr_assert(run_until(&w, both_established, 120000), "a session under the new key");

	/* A WAKE abandoned: nothing more is sent, its late WAKE_ACK refused. */
	w.hold_to[0][SGA_MSG_WAKE_ACK] = 1;
	w.held.len = 0;
	cr_assert_eq(sga_core_wake(&w.core[0], 0), 0);
	run_until(&w, never, 100);
	cr_assert(w.held.len, "WAKE sent %u, taken %u", w.sent_type[0][SGA_MSG_WAKE],
	          w.wakes_taken[0]);
	sga_core_abandon(&w.core[0]);
	sent = w.sent_type[0][SGA_MSG_WAKE];
	run_until(&w, never, 20000);
	cr_assert_eq(w.sent_type[0][SGA_MSG_WAKE], sent, "no WAKE after the abandon");
	w.hold_to[0][SGA_MSG_WAKE_ACK] = 0;
	sga_core_input(&w.core[0], w.held.b, w.held.len);
	cr_assert_eq(w.woken[0], 0, "the late WAKE_ACK of an abandoned WAKE was taken");
	cr_assert_eq(sga_core_wake(&w.core[0], 0), 0, "a new WAKE may start");
	sga_memzero(next, sizeof(next));
	world_fini(&w);
}
#endif

#if SGA_CORE_FULL && !defined(sga_core_win_confirm) /* the harness's are the OpenSSL build's */
/*
 * A session rekey's steps (sga_core_rk_*), which the core's rekey and the
 * Linux SDK's run on, against the gateway's handler: a new request takes an
 * up counter and says so, asked again it is the same bytes; a notice or a
 * reply that does not open changes nothing; the reply gives the new keys, a
 * repeat of it is refused; the confirmation waits for room in the window and
 * then goes into it at the generation's first e2e_seq; the overlap ends once
 * the window is past it, and a new rekey waits for that.
 */
Test(core, rekey_steps_build_the_next_frame)
{
	static const uint8_t suites[] = {SGA_SUITE_AES128_GCM};
	static struct sga_core_tx rk_slots[2];
	const struct sga_core_params p = {.rto_ms = 100,
	                                  .rto_min_ms = 100,
	                                  .rto_max_ms = 400,
	                                  .timeout_ms = 1000,
	                                  .ctl_tries = 3,
	                                  .window = 2,
	                                  .slots = rk_slots};
	struct harness h;
	struct sga_core_win win;
	struct sga_gw_out out;
	uint8_t a[SGA_FRAME_MAX], again[SGA_FRAME_MAX], b[SGA_FRAME_MAX], f[SGA_FRAME_MAX];
	size_t an, gn, bn, len;
	uint64_t ctr;
	uint32_t gen;
	int fresh;

	cr_assert_eq(sga_core_win_init(&win, &p), 0);
	cr_assert_eq(harness_init(&h, SGA_GROUP_FFDHE2048, suites, 1, suites, 1), 0);
	cr_assert_eq(harness_full(&h, suites, 1), 0);
	/* Device 0's window: the key confirmation acknowledged, two messages in flight. */
	(void)sga_core_win_arm(&win, 0, NULL, 0, 1000, 1000000);
	cr_assert_eq(sga_core_win_ack(&win, 0, 1001000), 1);
	for (uint64_t seq = 1; seq <= 2; seq++) {
		cr_assert_eq(
		    sga_dev_data_seal(&h.sess[0], (const uint8_t *)"m", 1, f, sizeof(f), &len), 0);
		(void)sga_core_win_arm(&win, seq, (const uint8_t *)"m", 1, 1000, 1000000);
	}
	cr_assert_eq(sga_core_win_room(&win), 0);

	/* A new request: the next up counter (save before it leaves). */
	ctr = h.dev[0].up_ctr;
	cr_assert(!sga_core_rk_waits(&h.sess[0]));
	cr_assert_eq(sga_core_rk_init(&h.dev[0], &h.sess[0], a, sizeof(a), &an, &fresh), 0);
	cr_assert_eq(fresh, 1);
	cr_assert_eq(h.dev[0].up_ctr, ctr + 1);
	cr_assert_eq(a[1], SGA_MSG_REKEY_INIT);
	/* Asked again: the same bytes, no counter. */
	cr_assert_eq(sga_core_rk_init(&h.dev[0], &h.sess[0], again, sizeof(again), &gn, &fresh), 0);
	cr_assert_eq(fresh, 0);
	cr_assert_eq(gn, an);
	cr_assert_eq(memcmp(again, a, an), 0);
	cr_assert_eq(h.dev[0].up_ctr, ctr + 1);
	/* G: a notice for device 1; one that does not open is not taken. */
	cr_assert_eq(
	    sga_gw_rekey_init_handle(&h.gw, &h.rec[0], &h.rec[1], &h.gsess, a, an, &out, &fresh),
	    0);
	cr_assert_eq(out.n, 1);
	memcpy(f, out.msg[0].frame, out.msg[0].len);
	f[out.msg[0].len - 1] ^= 1;
	cr_assert_neq(sga_core_rk_notice(&h.dev[1], &h.sess[1], f, out.msg[0].len, &gen), 0);
	cr_assert_eq(
	    sga_core_rk_notice(&h.dev[1], &h.sess[1], out.msg[0].frame, out.msg[0].len, &gen), 0);
	cr_assert_eq(gen, 1);
	cr_assert_eq(sga_core_rk_init(&h.dev[1], &h.sess[1], b, sizeof(b), &bn, &fresh), 0);
	cr_assert_eq(fresh, 1);
	cr_assert_eq(
	    sga_gw_rekey_init_handle(&h.gw, &h.rec[1], &h.rec[0], &h.gsess, b, bn, &out, &fresh),
	    0);
	cr_assert_eq(out.n, 2);
	for (unsigned m = 0; m < 2; m++) {
		int k = out.msg[m].to_id_len == h.dev[0].id_len &&
		                !memcmp(out.msg[m].to_id, h.dev[0].id, h.dev[0].id_len)
		            ? 0
		            : 1;

		if (k == 0) {
			/* A reply that does not open: nothing taken, the request still pending. */
			memcpy(f, out.msg[m].frame, out.msg[m].len);
			f[out.msg[m].len - 1] ^= 1;
			cr_assert_neq(sga_core_rk_keys(&h.dev[0], &h.sess[0], f, out.msg[m].len),
			              0);
			cr_assert(h.sess[0].rk.pending);
			cr_assert_eq(h.sess[0].rk.gen, 0);
		}
		cr_assert_eq(
		    sga_core_rk_keys(&h.dev[k], &h.sess[k], out.msg[m].frame, out.msg[m].len), 0);
		cr_assert_eq(h.sess[k].rk.gen, 1);
		cr_assert(!h.sess[k].rk.pending);
		cr_assert_eq(
		    sga_core_rk_keys(&h.dev[k], &h.sess[k], out.msg[m].frame, out.msg[m].len),
		    -SGA_E_BAD_STATE, "a repeat of the reply");
	}
	/* The confirmation: no room, nothing built; room, the generation's first e2e_seq. */
	cr_assert_eq(sga_core_rk_confirm(&win, &h.sess[0], f, sizeof(f), &len, 1100, 1100000), 0);
	cr_assert_eq(len, 0);
	cr_assert(!h.sess[0].rk.confirm_sent);
	cr_assert_eq(sga_core_win_ack(&win, 1, 1101000), 1);
	cr_assert_eq(sga_core_rk_confirm(&win, &h.sess[0], f, sizeof(f), &len, 1100, 1100000), 0);
	cr_assert_gt(len, 0);
	cr_assert_eq(f[1], SGA_MSG_DATA_UP);
	cr_assert_eq(h.sess[0].rk.tx_from, 3);
	cr_assert_eq(win.next, 4);
	cr_assert(sga_core_is_confirm(&h.sess[0], 3));
	/* The overlap: the old send key stays while message 2 or the confirmation
	 * waits for its DATA_ACK, and a new rekey waits for it. */
	sga_core_rk_settle(&h.sess[0], &win, 1);
	cr_assert(h.sess[0].rk.prev_tx_live);
	cr_assert(sga_core_rk_waits(&h.sess[0]));
	cr_assert_eq(sga_core_win_ack(&win, 2, 1102000), 1);
	cr_assert_eq(sga_core_win_ack(&win, 3, 1103000), 1);
	sga_core_rk_settle(&h.sess[0], &win, 1);
	cr_assert(!h.sess[0].rk.prev_tx_live, "the window is past the old keys");
	sga_core_win_reset(&win, 100);
	harness_fini(&h);
}
#endif

/*
 * A k_d rekey's steps (sga_core_kd_*) against the gateway's registration
 * handlers: the REG_REQ proposes a fresh key (or the pending one again, under
 * a new counter), the caller's k_d_next gets it, and only the REG_ACK of the
 * latest request makes it the key (k_d_next wiped); a REG_ACK that does not
 * open, an earlier request's or a repeat changes nothing.
 */
Test(core, kd_rekey_steps_build_and_take_the_latest_only)
{
	static const uint8_t suites[] = {SGA_SUITE_AES128_GCM};
	static const uint8_t zero[SGA_KEY_LEN];
	struct harness h;
	struct sga_reg_req env;
	struct sga_reg_plain req;
	struct sga_gw_device rec;
	struct sga_gw_out out;
	uint8_t a[SGA_FRAME_MAX], b[SGA_FRAME_MAX], ack_a[SGA_FRAME_MAX], f[SGA_FRAME_MAX];
	uint8_t old[SGA_KEY_LEN], next[SGA_KEY_LEN], first[SGA_KEY_LEN];
	size_t an, bn, ack_an;
	uint64_t ctr;
	uint8_t has = 0;
	int used = 0;

	cr_assert_eq(harness_init(&h, SGA_GROUP_FFDHE2048, suites, 1, suites, 1), 0);
	/* Not registered: nothing built. */
	cr_assert_eq(sga_core_kd_req(&h.dev[0], NULL, a, sizeof(a), &an, next), -SGA_E_BAD_STATE);
	cr_assert_eq(harness_register(&h, 0), 0);
	memcpy(old, h.dev[0].k_d, SGA_KEY_LEN);
	ctr = h.dev[0].up_ctr;

	/* A fresh key, under the next up counter (both saved before it leaves). */
	cr_assert_eq(sga_core_kd_req(&h.dev[0], NULL, a, sizeof(a), &an, next), 0);
	has = 1;
	cr_assert_eq(a[1], SGA_MSG_REG_REQ);
	cr_assert_eq(h.dev[0].up_ctr, ctr + 1);
	cr_assert_neq(memcmp(next, old, SGA_KEY_LEN), 0, "a fresh key");
	cr_assert_eq(memcmp(h.dev[0].k_d, old, SGA_KEY_LEN), 0, "the key stays until the REG_ACK");
	cr_assert_eq(sga_gw_reg_open(&h.gw, a, an, &env, &req), 0);
	cr_assert_eq(memcmp(req.k_d, next, SGA_KEY_LEN), 0, "it carries k_d_next");
	cr_assert_eq(sga_gw_reg_accept(&h.gw, &env, &req, &h.rec[0], NULL, &rec, &used, &out), 0);
	cr_assert_eq(out.n, 1);
	memcpy(ack_a, out.msg[0].frame, out.msg[0].len);
	ack_an = out.msg[0].len;

	/* Stopped before that REG_ACK: the same key again, under a new counter. */
	memcpy(first, next, SGA_KEY_LEN);
	cr_assert_eq(sga_core_kd_req(&h.dev[0], next, b, sizeof(b), &bn, next), 0);
	cr_assert_eq(memcmp(next, first, SGA_KEY_LEN), 0, "the pending key proposed again");
	cr_assert_eq(h.dev[0].up_ctr, ctr + 2);
	cr_assert_eq(sga_gw_reg_open(&h.gw, b, bn, &env, &req), 0);
	cr_assert_eq(memcmp(req.k_d, first, SGA_KEY_LEN), 0);
	cr_assert_eq(sga_gw_reg_accept(&h.gw, &env, &req, &h.rec[0], NULL, &rec, &used, &out), 0);
	cr_assert_eq(memcmp(rec.k_d, first, SGA_KEY_LEN), 0, "the gateway holds k_d_next");

	/* The earlier request's REG_ACK, and one that does not open: not taken. */
	cr_assert_eq(sga_core_kd_ack(&h.dev[0], ack_a, ack_an, &has, next), -SGA_E_REPLAY);
	memcpy(f, out.msg[0].frame, out.msg[0].len);
	f[out.msg[0].len - 1] ^= 1;
	cr_assert_neq(sga_core_kd_ack(&h.dev[0], f, out.msg[0].len, &has, next), 0);
	cr_assert_eq(has, 1);
	cr_assert_eq(memcmp(next, first, SGA_KEY_LEN), 0);
	cr_assert_eq(memcmp(h.dev[0].k_d, old, SGA_KEY_LEN), 0);

	/* The latest one's: k_d_next is the key, wiped from the caller's state. */
	cr_assert_eq(sga_core_kd_ack(&h.dev[0], out.msg[0].frame, out.msg[0].len, &has, next), 0);
	cr_assert_eq(has, 0);
	cr_assert_eq(memcmp(next, zero, SGA_KEY_LEN), 0);
	cr_assert_eq(memcmp(h.dev[0].k_d, first, SGA_KEY_LEN), 0);
	cr_assert_eq(h.dev[0].up_ctr, 0, "the new key starts new counters");
	cr_assert(!h.dev[0].reg_k_d_set);
	/* A repeat: none pending. */
	cr_assert_eq(sga_core_kd_ack(&h.dev[0], out.msg[0].frame, out.msg[0].len, &has, next),
	             -SGA_E_BAD_STATE);
	sga_memzero(old, sizeof(old));
	sga_memzero(first, sizeof(first));
	harness_fini(&h);
}
