/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_core_portable.c - the device core as a microcontroller builds it
 * (device/core/sources.list + offload/portable, renamed sgacp_sga_* by
 * device/core/meson.build) against the real gateway handlers on OpenSSL, in
 * one process:
 *   - interop: two cores on the portable crypto, and one next to a core on
 *     OpenSSL, register, run the three-party handshake and exchange messages
 *     through sga_gateway.c / sga_hop.c on OpenSSL;
 *   - byte for byte: with the same deterministic random source behind both
 *     back ends (the portable one's sga_portable_set_random; OpenSSL's
 *     RAND_METHOD, which sga_random_bytes, sga_exponent_random and the OAEP
 *     seed all draw from), every frame the core sends (REG_REQ, NEG_REQ,
 *     NEG_ACCEPT, KEX_INIT, the key confirmation and data DATA_UP, ...) is
 *     the same on both back ends.
 * The section 15 vectors the core's code computes are in
 * test_core_portable_vec.c (built with the renamed names).
 *
 * Each device and the gateway draw from a stream of their own (the actor
 * making the call picks it), so the draws of one do not shift the other's.
 * The network is a FIFO without loss on a simulated clock.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* RAND_set_rand_method: the test's RNG hook */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "core_api.h"
#include "harness.h"
#include "sga_cursor.h"

static const struct core_api core_api_openssl = CORE_API_TABLE("openssl");

/* ---- the deterministic random source ----------------------------------------- */

#define ACT_GW 2
static int g_actor = ACT_GW;       /* who is computing: device 0, 1 or the gateway */
static uint64_t g_stream[3];       /* splitmix64 state per actor */
static uint64_t g_drawn[3];        /* bytes drawn per actor */
static uint64_t g_flip_at = ~0ull; /* flip one bit of device 0's byte at this index */

static void stream_fill(int who, uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t z;

		g_stream[who] += 0x9e3779b97f4a7c15ull;
		z = g_stream[who];
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		buf[i] = (uint8_t)(z ^ (z >> 31));
		if (who == 0 && g_drawn[0] == g_flip_at)
			buf[i] ^= 0x01;
		g_drawn[who]++;
	}
}

static void streams_seed(uint64_t seed)
{
	for (int a = 0; a < 3; a++) {
		g_stream[a] = seed * 0x100000001b3ull + (uint64_t)a;
		g_drawn[a] = 0;
	}
}

/* OpenSSL side: RAND_bytes and RAND_priv_bytes both end here once set. */
static int ossl_bytes(unsigned char *buf, int num)
{
	stream_fill(g_actor, buf, (size_t)num);
	return 1;
}

static int ossl_status(void)
{
	return 1;
}

static const RAND_METHOD det_rand = {NULL, ossl_bytes, NULL, NULL, ossl_bytes, ossl_status};

/* Portable side: the board's TRNG. */
static int cp_trng(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	cr_assert(g_actor != ACT_GW, "the gateway drew from the portable back end");
	stream_fill(g_actor, buf, len);
	return 0;
}

static void deterministic_on(void)
{
	cr_assert_not_null(harness_rsa_pk(), "RSA keys made before the hook");
	cr_assert_eq(RAND_set_rand_method(&det_rand), 1);
	core_api_portable_set_random(cp_trng, NULL);
}

/* ---- the world ----------------------------------------------------------------- */

#define Q_MAX   128
#define REC_MAX 24
#define N_MSG   3

struct pkt {
	int to;
	size_t len;
	uint8_t b[SGA_FRAME_MAX];
};

struct rec {
	size_t len;
	uint8_t b[SGA_FRAME_MAX];
};

struct world;
struct dev_ctx {
	struct world *w;
	int k;
};

struct world {
	uint64_t now;
	const struct core_api *api[2];
	struct sga_core core[2];
	struct dev_ctx ctx[2];
	struct sga_core_persist saved[2];
	int registered[2], established[2], failed[2];
	unsigned got[2], acked[2];
	uint8_t got_msg[2][N_MSG + 1][64];
	size_t got_len[2][N_MSG + 1];
	struct rec sent[2][REC_MAX]; /* each device's frames in the order it sent them */
	unsigned n_sent[2];
	struct pkt q[Q_MAX];
	unsigned q_head, q_n;
	struct harness_gw_world g;
	struct sga_ack_win ackw[2];
	uint64_t drawn_at_connect; /* bytes d_i had drawn when it asked for the session */
};

static void net_send(struct world *w, int to, const uint8_t *f, size_t n)
{
	struct pkt *p;

	cr_assert(w->q_n < Q_MAX, "network queue full");
	cr_assert(n <= SGA_FRAME_MAX);
	p = &w->q[(w->q_head + w->q_n++) % Q_MAX];
	p->to = to;
	p->len = n;
	memcpy(p->b, f, n);
}

static int dev_of(const struct world *w, const uint8_t *id, uint8_t len)
{
	return harness_gw_world_dev(&w->g, id, len);
}

static uint64_t cb_now(void *ctx)
{
	return ((struct dev_ctx *)ctx)->w->now;
}

static int cb_send(void *ctx, const uint8_t *f, size_t n)
{
	struct dev_ctx *d = ctx;
	struct world *w = d->w;

	if (w->n_sent[d->k] < REC_MAX) {
		struct rec *r = &w->sent[d->k][w->n_sent[d->k]++];

		r->len = n;
		memcpy(r->b, f, n);
	}
	net_send(w, ACT_GW, f, n);
	return 0;
}

static int cb_save(void *ctx, const struct sga_core_persist *st)
{
	struct dev_ctx *d = ctx;

	d->w->saved[d->k] = *st;
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
	case SGA_CORE_EV_REG_FAILED:
	case SGA_CORE_EV_SESSION_FAILED:
		cr_log_error("device %d (%s): event %u status %d", d->k, w->api[d->k]->name,
		             ev->type, ev->status);
		w->failed[d->k]++;
		break;
	case SGA_CORE_EV_MESSAGE:
		cr_assert(ev->seq >= 1 && ev->seq <= N_MSG && ev->len <= 64);
		memcpy(w->got_msg[d->k][ev->seq], ev->data, ev->len);
		w->got_len[d->k][ev->seq] = ev->len;
		w->got[d->k]++;
		break;
	case SGA_CORE_EV_ACKED:
		w->acked[d->k]++;
		break;
	default:
		break;
	}
}

/* ---- the gateway: the real handlers, relaying at once ---------------------------- */

static void gw_out(struct world *w, const struct sga_gw_out *out)
{
	for (unsigned m = 0; m < out->n; m++)
		net_send(w, dev_of(w, out->msg[m].to_id, out->msg[m].to_id_len), out->msg[m].frame,
		         out->msg[m].len);
}

static void gw_data(struct world *w, const struct sga_gw_peek *pk, const uint8_t *f, size_t n)
{
	uint8_t buf[SGA_FRAME_MAX], out[SGA_FRAME_MAX], *inner;
	size_t inner_len, len;
	uint64_t seq;
	int r = pk->role;
	struct sga_data_ack_plain a;

	if (w->g.gs.state != SGA_GW_S_ESTABLISHED || pk->session_id != w->g.gs.session_id || r > 1)
		return;
	memcpy(buf, f, n);
	if (sga_hop_open_up(&w->g.gs.hop[r], w->g.gs.session_id, (uint8_t)r, buf, n, &seq, &inner,
	                    &inner_len))
		return;
	sga_replay_update(&w->g.gs.hop[r].rx, seq);
	if (pk->type != SGA_MSG_DATA_UP)
		return; /* DATA_DELIVERED: nothing is held here */
	cr_assert_eq(sga_hop_seal_down(&w->g.gs.hop[r ^ 1], w->g.gs.session_id, (uint8_t)(r ^ 1),
	                               SGA_MSG_DATA_DOWN, inner, inner_len, out, sizeof(out), &len),
	             0);
	net_send(w, r ^ 1, out, len);
	if (sga_ack_win_note(&w->ackw[r], sga_get_u64(inner)) < 0)
		return;
	a.top = w->ackw[r].top;
	a.bits = w->ackw[r].bits;
	cr_assert_eq(sga_hop_seal_ack(&w->g.gs.hop[r], w->g.gs.session_id, (uint8_t)r, &a, out,
	                              sizeof(out), &len),
	             0);
	net_send(w, r, out, len);
}

static void gw_input(struct world *w, const uint8_t *f, size_t n)
{
	struct sga_gw_peek pk;
	struct sga_gw_out out;

	if (sga_gw_peek(f, n, &pk))
		return;
	if (pk.type == SGA_MSG_DATA_UP || pk.type == SGA_MSG_DATA_DELIVERED) {
		gw_data(w, &pk, f, n);
		return;
	}
	memset(&out, 0, sizeof(out));
	switch (harness_gw_world_handshake(&w->g, &pk, f, n, &out)) {
	case HARNESS_GW_NEW_SESSION:
		memset(w->ackw, 0, sizeof(w->ackw));
		/* fall through */
	case HARNESS_GW_ANSWERED:
		gw_out(w, &out);
		return;
	default:
		return;
	}
}

/* One queued datagram to its destination. */
static void deliver_one(struct world *w)
{
	struct pkt *p = &w->q[w->q_head];

	w->q_head = (w->q_head + 1) % Q_MAX;
	w->q_n--;
	g_actor = p->to;
	if (p->to == ACT_GW)
		gw_input(w, p->b, p->len);
	else
		w->api[p->to]->input(&w->core[p->to], p->b, p->len);
	g_actor = ACT_GW;
}

/* Deliver what is queued, in order; else advance the clock 1 ms and fire the
 * cores' due timers. */
static int run_until(struct world *w, int (*done)(const struct world *), uint64_t limit_ms)
{
	uint64_t end = w->now + limit_ms;

	while (!done(w) && w->now < end) {
		if (w->q_n) {
			deliver_one(w);
			continue;
		}
		w->now++;
		for (int k = 0; k < 2; k++)
			if (w->api[k]->next_timer(&w->core[k]) == 0) {
				g_actor = k;
				w->api[k]->poll(&w->core[k]);
				g_actor = ACT_GW;
			}
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

static int all_messages(const struct world *w)
{
	return w->got[0] == N_MSG && w->got[1] == N_MSG && w->acked[0] == N_MSG &&
	       w->acked[1] == N_MSG && !w->q_n;
}

static void msg_of(int k, unsigned seq, uint8_t *m, size_t *len)
{
	*len = (size_t)snprintf((char *)m, 64, "message %u from %s", seq, k ? "dev-j" : "dev-i");
}

/* Register both, connect d_i to d_j, N_MSG messages each way. */
static void world_run(struct world *w, const struct core_api *api0, const struct core_api *api1)
{
	static const uint8_t suites[2][2] = {{SGA_SUITE_AES128_CCM8, SGA_SUITE_AES128_GCM},
	                                     {SGA_SUITE_AES128_GCM, SGA_SUITE_CHACHA20_POLY1305}};
	static const char *ids[2] = {"dev-i", "dev-j"};
	uint8_t body[SGA_FRAME_MAX];
	size_t blen;
	int rc;

	memset(w, 0, sizeof(*w));
	w->now = 1000;
	w->api[0] = api0;
	w->api[1] = api1;
	cr_assert_not_null(harness_rsa_pk());
	g_actor = ACT_GW;
	cr_assert_eq(harness_gw_world_init(&w->g, ids[0], body, sizeof(body), &blen), 0);
	for (int k = 0; k < 2; k++) {
		const struct sga_core_io io = {&w->ctx[k], cb_now, cb_send, cb_save, cb_event};

		w->ctx[k].w = w;
		w->ctx[k].k = k;
		g_actor = k;
		rc = w->api[k]->init(&w->core[k], &io, body, blen, NULL, (const uint8_t *)ids[k], 5,
		                     suites[k], 2);
		cr_assert_eq(rc, 0, "init of device %d on %s: %s", k, w->api[k]->name,
		             sga_err_name(rc));
		cr_assert_eq(w->api[k]->reg(&w->core[k], NULL, 0), 0);
		g_actor = ACT_GW;
	}
	cr_assert(run_until(w, both_registered, 10000), "registration (%s, %s)", api0->name,
	          api1->name);

	g_actor = 1;
	w->api[1]->accept(&w->core[1], 1);
	g_actor = 0;
	w->drawn_at_connect = g_drawn[0];
	cr_assert_eq(w->api[0]->connect(&w->core[0], (const uint8_t *)"dev-j", 5), 0);
	g_actor = ACT_GW;
	cr_assert(run_until(w, both_established, 10000), "session (%s, %s; failures %d/%d)",
	          api0->name, api1->name, w->failed[0], w->failed[1]);

	for (unsigned s = 1; s <= N_MSG; s++)
		for (int k = 0; k < 2; k++) {
			uint8_t m[64];
			size_t len;
			uint64_t seq;

			msg_of(k, s, m, &len);
			g_actor = k;
			cr_assert_eq(w->api[k]->send(&w->core[k], m, len, &seq), 0);
			g_actor = ACT_GW;
			cr_assert_eq(seq, s);
			while (w->q_n) /* one at a time, on the same clock in every run */
				deliver_one(w);
		}
	cr_assert(run_until(w, all_messages, 10000), "messages (%s, %s): got %u/%u acked %u/%u",
	          api0->name, api1->name, w->got[0], w->got[1], w->acked[0], w->acked[1]);
	for (int k = 0; k < 2; k++)
		for (unsigned s = 1; s <= N_MSG; s++) {
			uint8_t m[64];
			size_t len;

			msg_of(k ^ 1, s, m, &len);
			cr_assert_eq(w->got_len[k][s], len);
			cr_assert_eq(memcmp(w->got_msg[k][s], m, len), 0, "device %d message %u", k,
			             s);
		}
	cr_assert_eq(w->failed[0] + w->failed[1], 0);
}

static void world_fini(struct world *w)
{
	for (int k = 0; k < 2; k++) {
		g_actor = k;
		w->api[k]->fini(&w->core[k]);
	}
	g_actor = ACT_GW;
	harness_gw_world_fini(&w->g);
}

/* ---- interop ------------------------------------------------------------------------ */

static uint64_t host_seed(void)
{
	uint64_t s;

	cr_assert_eq(RAND_bytes((unsigned char *)&s, sizeof(s)), 1);
	return s;
}

Test(core_portable, interop_two_portable_cores, .timeout = 60)
{
	static struct world w;

	streams_seed(host_seed()); /* the portable side draws from it; OpenSSL's RNG stays */
	core_api_portable_set_random(cp_trng, NULL);
	world_run(&w, &core_api_portable, &core_api_portable);
	cr_assert(w.core[0].sess.suite != 0);
	world_fini(&w);
}

Test(core_portable, interop_portable_and_openssl_core, .timeout = 60)
{
	static struct world w;

	streams_seed(host_seed());
	core_api_portable_set_random(cp_trng, NULL);
	world_run(&w, &core_api_portable, &core_api_openssl);
	world_fini(&w);
	world_run(&w, &core_api_openssl, &core_api_portable);
	world_fini(&w);
}

/* ---- byte for byte -------------------------------------------------------------------- */

static struct world ref, alt;

static void hex(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n && i < 64; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

/* The first index where the frames of a and b differ, or -1. */
static int first_diff(const struct world *a, const struct world *b, int k, size_t *at)
{
	unsigned n = a->n_sent[k] < b->n_sent[k] ? a->n_sent[k] : b->n_sent[k];

	for (unsigned i = 0; i < n; i++) {
		const struct rec *x = &a->sent[k][i], *y = &b->sent[k][i];

		if (x->len != y->len || memcmp(x->b, y->b, x->len)) {
			*at = 0;
			while (*at < x->len && *at < y->len && x->b[*at] == y->b[*at])
				(*at)++;
			return (int)i;
		}
	}
	return a->n_sent[k] == b->n_sent[k] ? -1 : (int)n;
}

static void expect_same_frames(const struct world *a, const struct world *b)
{
	for (int k = 0; k < 2; k++) {
		size_t at = 0;
		int i = first_diff(a, b, k, &at);
		char x[129] = "", y[129] = "";

		if (i >= 0 && (unsigned)i < a->n_sent[k] && (unsigned)i < b->n_sent[k]) {
			size_t from = at > 8 ? at - 8 : 0;

			hex(x, a->sent[k][i].b + from, a->sent[k][i].len - from);
			hex(y, b->sent[k][i].b + from, b->sent[k][i].len - from);
		}
		cr_assert_eq(i, -1,
		             "device %d frame %d (%s) differs from byte %zu (%s vs %s):\n"
		             "  %s\n  %s",
		             k, i, i >= 0 ? sga_msg_name(a->sent[k][i].b[1]) : "-", at,
		             a->api[k]->name, b->api[k]->name, x, y);
	}
}

/* The types the comparison has to cover, in the order a device sends them. */
static void expect_types(const struct world *w)
{
	static const uint8_t want[2][6] = {
	    {SGA_MSG_REG_REQ, SGA_MSG_NEG_REQ, SGA_MSG_KEX_INIT, SGA_MSG_DATA_UP, SGA_MSG_DATA_UP,
	     SGA_MSG_DATA_UP},
	    {SGA_MSG_REG_REQ, SGA_MSG_NEG_ACCEPT, SGA_MSG_KEX_INIT, SGA_MSG_DATA_UP,
	     SGA_MSG_DATA_UP, SGA_MSG_DATA_UP},
	};

	for (int k = 0; k < 2; k++) {
		cr_assert_geq(w->n_sent[k], 6);
		for (int i = 0; i < 6; i++)
			cr_assert_eq(w->sent[k][i].b[1], want[k][i], "device %d frame %d is %s", k,
			             i, sga_msg_name(w->sent[k][i].b[1]));
	}
}

#define SEED 0x5347412d636f7265ull

static void run_seeded(struct world *w, const struct core_api *a0, const struct core_api *a1)
{
	streams_seed(SEED);
	world_run(w, a0, a1);
	world_fini(w);
}

/* The gateway's RSA key builds its blinding on its first private operation
 * (drawing from the gateway's stream): one run first, so the compared runs
 * find it made. */
static void warm_up(void)
{
	deterministic_on();
	run_seeded(&ref, &core_api_openssl, &core_api_openssl);
}

Test(core_portable, frames_equal_on_both_back_ends, .timeout = 60)
{
	size_t at = 0;
	int i;

	warm_up();
	run_seeded(&ref, &core_api_openssl, &core_api_openssl);
	expect_types(&ref);
	run_seeded(&alt, &core_api_portable, &core_api_portable);
	expect_same_frames(&ref, &alt);
	for (int k = 0; k < 2; k++)
		cr_log_info("device %d: %u frames identical on openssl and portable", k,
		            ref.n_sent[k]);

	/* The comparison sees one bit: d_i's draws again with the first byte of
	 * the k_t its NEG_REQ carries flipped. d_j's REG_REQ stays the same, d_i's
	 * first frame to differ is that NEG_REQ. */
	g_flip_at = ref.drawn_at_connect;
	run_seeded(&alt, &core_api_portable, &core_api_portable);
	g_flip_at = ~0ull;
	cr_assert(ref.sent[1][0].len == alt.sent[1][0].len &&
	              !memcmp(ref.sent[1][0].b, alt.sent[1][0].b, ref.sent[1][0].len),
	          "d_j's REG_REQ is its own");
	i = first_diff(&ref, &alt, 0, &at);
	cr_assert_eq(i, 1, "the first frame of d_i that differs is its NEG_REQ (%d)", i);
	cr_assert_eq(alt.sent[0][i].b[1], SGA_MSG_NEG_REQ);
}
