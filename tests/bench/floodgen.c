/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * floodgen.c - sga-floodgen: honest handshakes measured while a handshake
 * flood hits the gateway's port. A DPDK generator (over net_memif, one queue
 * pair; tests/bench/bench_flood.sh runs it) that
 *  - sends forged REG_REQ (a random 256-byte RSA ciphertext: without the
 *    cookie challenge each costs the gateway one RSA-2048 decryption) and
 *    forged NEG_REQ (under the identity of a registered device, so all keyed
 *    to one worker; each costs a Redis read and an AEAD check), half and
 *    half, at --rate frames/s, from source addresses spoofed over a /--spoof-
 *    bits network (so per-source token buckets do not catch them: the cookie
 *    challenge must) and random ports;
 *  - plays honest devices with the protocol library (sga_device.h), one pair
 *    at a time: both register (REG_REQ -> REG_ACK, timed each), then set up a
 *    session (A1 ... B5/B6: NEG_REQ to both KEX_REPLYs, timed), answering
 *    every COOKIE_REPLY at once with its frame inside a COOKIE_ECHO, as the
 *    device SDK does, and retransmitting after 200 ms (doubling, 1 s at most)
 *    up to --give-up-ms;
 *  - reports p50/p99 of both latencies, successes and failures, the cookies
 *    answered, and one "RESULT key=value ..." line.
 * Forged traffic stops and the port drains before the generator lingers
 * (DPDK 22.11's memif PMD may crash a side that polls while its peer leaves
 * under traffic). A benchmark tool: it asserts nothing.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "bench_port.h"
#include "dp_pkt.h"
#include "sga_client_priv.h" /* sga_pkg_file_read */
#include "sga_cookie.h"
#include "sga_device.h"
#include "sga_err.h"
#include "sga_wire.h"

#define PROG      "sga-floodgen"
#define LOG(...)  fprintf(stderr, PROG ": " __VA_ARGS__)
#define BURST     32
#define N_MBUFS   16383
#define N_DESC    1024
#define POOL      4096 /* forged frames built in advance, sent round robin */
#define MAX_HS    10000
#define RTO_MS    200u
#define RTO_MAX   1000u
#define N_PENDING 2 /* frames of one step in flight (both KEX_INITs) */

static volatile sig_atomic_t g_quit;

static void on_signal(int sig)
{
	(void)sig;
	g_quit = 1;
}

struct opts {
	uint32_t gw_ip, net;
	uint16_t gw_port;
	const char *package;
	unsigned rate, handshakes, warmup_s, give_up_ms, spoof_bits, linger_s, link_timeout_s;
};

/* One frame of the current step, retransmitted until its answer comes. */
struct pend {
	int used, who; /* device 0 or 1 */
	uint8_t frame[SGA_FRAME_MAX];
	size_t len;
	int has_cookie;
	uint8_t cookie[SGA_COOKIE_LEN];
	uint64_t next_us;
	unsigned rto;
};

enum step { S_REG_I, S_REG_J, S_NEG, S_KEX, S_DONE };

struct fg {
	struct opts o;
	struct bp_port bp;
	struct dp_addr gw, me[3]; /* me[2]: the victim whose id the forged NEG_REQs carry */
	int gw_mac_known;
	struct sga_package pkg;
	struct sga_dev dev[3];
	struct sga_dev_sess sess[2];
	int dev_ok[3];
	/* forged frames: Ethernet frames, ready to copy into mbufs */
	uint8_t (*forged)[DP_PKT_HDR_LEN + 300];
	uint16_t *forged_len;
	uint64_t forged_sent;
	/* the honest exchange in progress */
	enum step step;
	struct pend p[N_PENDING];
	uint64_t t0_us, t_fail_us;
	unsigned round;
	int got_reply[2];
	/* results */
	double reg_ms[2 * MAX_HS], conn_ms[MAX_HS];
	unsigned n_reg, n_conn, reg_fail, conn_fail, retx, cookies, hints;
};

static const uint8_t SUITES[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_AES256_GCM,
                                 SGA_SUITE_CHACHA20_POLY1305, SGA_SUITE_AES128_CCM8};

/* ---- frames out ------------------------------------------------------------------- */

static void tx_sga(struct fg *g, const struct dp_addr *src, const uint8_t *sga, size_t len)
{
	uint8_t f[DP_PKT_HDR_LEN + SGA_FRAME_MAX];

	memcpy(f + DP_PKT_HDR_LEN, sga, len);
	(void)bp_tx_frame(&g->bp, f, dp_pkt_udp_build(f, src, &g->gw, 1, len));
}

static void pend_tx(struct fg *g, struct pend *p)
{
	uint8_t echo[SGA_FRAME_MAX];
	size_t n;

	if (p->has_cookie &&
	    !sga_cookie_echo_encode(p->cookie, p->frame, p->len, echo, sizeof(echo), &n))
		tx_sga(g, &g->me[p->who], echo, n);
	else
		tx_sga(g, &g->me[p->who], p->frame, p->len);
	p->next_us = bp_now_us() + (uint64_t)p->rto * 1000u;
}

static void pend_set(struct fg *g, unsigned k, int who, const uint8_t *f, size_t n)
{
	struct pend *p = &g->p[k];

	p->used = 1;
	p->who = who;
	memcpy(p->frame, f, n);
	p->len = n;
	p->has_cookie = 0;
	p->rto = RTO_MS;
	pend_tx(g, p);
}

/* Forged REG_REQ / NEG_REQ in Eth/IPv4/UDP from spoofed sources, built once. */
static int forged_build(struct fg *g)
{
	uint32_t span = 1u << g->o.spoof_bits, base = ntohl(g->o.net) & ~(span - 1);

	g->forged = calloc(POOL, sizeof(*g->forged));
	g->forged_len = calloc(POOL, sizeof(*g->forged_len));
	if (!g->forged || !g->forged_len)
		return -1;
	for (unsigned i = 0; i < POOL; i++) {
		uint8_t *sga = g->forged[i] + DP_PKT_HDR_LEN, rnd[256 + 64];
		struct dp_addr src = g->me[0];
		size_t n = 0;

		if (sga_random_bytes(rnd, sizeof(rnd)))
			return -1;
		/* spoofed: anywhere in the network but the honest devices' .2 ... .4 */
		dp_addr_set_ipv4(
		    &src, htonl(base + 16 +
		                (uint32_t)((rnd[0] | rnd[1] << 8 | rnd[2] << 16) % (span - 32))));
		src.port = htons((uint16_t)(1024 + (rnd[3] | rnd[4] << 8) % 60000));
		if (i % 2 == 0) {
			uint8_t *mac_at;

			if (sga_reg_req_encode(0, SGA_GROUP_FFDHE2048, rnd + 64, 256, sga,
			                       SGA_FRAME_MAX, &mac_at, &n))
				return -1;
		} else {
			/* a device envelope under the victim's id: header, id, ctr,
			 * nonce, 48 bytes of "ciphertext" */
			const struct sga_dev *v = &g->dev[2];
			size_t off = SGA_HDR_LEN;

			sga[0] = SGA_WIRE_VERSION;
			sga[1] = SGA_MSG_NEG_REQ;
			sga[off++] = v->id_len;
			memcpy(sga + off, v->id, v->id_len);
			off += v->id_len;
			memcpy(sga + off, rnd + 8, 8 + SGA_AEAD_NONCE_LEN + 48);
			sga[off] = 0; /* a counter far ahead, as a forger would pick */
			off += 8 + SGA_AEAD_NONCE_LEN + 48;
			sga[2] = (uint8_t)((off - SGA_HDR_LEN) >> 8);
			sga[3] = (uint8_t)(off - SGA_HDR_LEN);
			n = off;
		}
		g->forged_len[i] = (uint16_t)dp_pkt_udp_build(g->forged[i], &src, &g->gw, 7, n);
	}
	return 0;
}

/* The forged frames due by now at --rate since t_start. */
static void forged_send(struct fg *g, uint64_t t_start_us, uint64_t now_us)
{
	uint64_t due = (now_us - t_start_us) * g->o.rate / 1000000u;
	struct rte_mbuf *m[BURST];

	while (g->forged_sent < due && !g_quit) {
		unsigned n = (unsigned)RTE_MIN((uint64_t)BURST, due - g->forged_sent), k, sent;

		if (rte_pktmbuf_alloc_bulk(g->bp.pool, m, n))
			return;
		for (k = 0; k < n; k++) {
			unsigned i = (unsigned)((g->forged_sent + k) % POOL);
			uint16_t len = g->forged_len[i];

			memcpy(rte_pktmbuf_mtod(m[k], uint8_t *), g->forged[i], len);
			m[k]->data_len = m[k]->pkt_len = len < 60 ? 60 : len;
		}
		sent = rte_eth_tx_burst(g->bp.port, 0, m, (uint16_t)n);
		if (sent < n)
			rte_pktmbuf_free_bulk(m + sent, n - sent);
		g->forged_sent += n; /* offered: what the port did not take is lost */
		if (sent < n)
			return;
	}
}

/* ---- the honest exchange ------------------------------------------------------------- */

static int dev_fresh(struct fg *g, int k, const char *id)
{
	if (g->dev_ok[k])
		sga_dev_fini(&g->dev[k]);
	g->dev_ok[k] = 0;
	if (sga_dev_init(&g->dev[k], &g->pkg, (const uint8_t *)id, (uint8_t)strlen(id), SUITES[0],
	                 SUITES, sizeof(SUITES)))
		return -1;
	g->dev_ok[k] = 1;
	return 0;
}

static void step_start(struct fg *g, enum step s)
{
	uint8_t f[SGA_FRAME_MAX];
	size_t n;
	char id[32];

	memset(g->p, 0, sizeof(g->p));
	g->step = s;
	g->t0_us = bp_now_us();
	g->t_fail_us = g->t0_us + (uint64_t)g->o.give_up_ms * 1000u;
	switch (s) {
	case S_REG_I:
	case S_REG_J:
		snprintf(id, sizeof(id), "flood-%c-%u", s == S_REG_I ? 'i' : 'j', g->round);
		if (dev_fresh(g, s == S_REG_I ? 0 : 1, id) ||
		    sga_dev_create_reg_req(&g->dev[s == S_REG_I ? 0 : 1], NULL, 0, 0, f, sizeof(f),
		                           &n))
			break;
		pend_set(g, 0, s == S_REG_I ? 0 : 1, f, n);
		return;
	case S_NEG:
		sga_dev_sess_wipe(&g->sess[0]);
		sga_dev_sess_wipe(&g->sess[1]);
		memset(g->sess, 0, sizeof(g->sess));
		g->got_reply[0] = g->got_reply[1] = 0;
		if (sga_dev_create_neg_req(&g->dev[0], &g->sess[0], g->dev[1].id, g->dev[1].id_len,
		                           SUITES, 1, f, sizeof(f), &n))
			break;
		pend_set(g, 0, 0, f, n);
		return;
	default:
		return;
	}
	LOG("cannot build the step's frame\n");
	g_quit = 1;
}

static void round_next(struct fg *g)
{
	g->round++;
	step_start(g, g->round >= g->o.handshakes ? S_DONE : S_REG_I);
}

static void step_failed(struct fg *g)
{
	if (g->step == S_REG_I || g->step == S_REG_J)
		g->reg_fail++;
	else
		g->conn_fail++;
	round_next(g);
}

static double since_ms(const struct fg *g)
{
	return (double)(bp_now_us() - g->t0_us) / 1000.0;
}

/* A frame from the gateway to honest device k. */
static void on_sga(struct fg *g, int k, const uint8_t *f, size_t n)
{
	uint8_t out[SGA_FRAME_MAX], digest[SGA_COOKIE_DIGEST_LEN], cookie[SGA_COOKIE_LEN];
	uint8_t mine[SGA_COOKIE_DIGEST_LEN];
	size_t len;

	if (n < SGA_HDR_LEN || k > 1)
		return;
	switch (f[1]) {
	case SGA_MSG_COOKIE_REPLY:
		if (sga_cookie_reply_decode(f, n, digest, cookie))
			return;
		for (unsigned i = 0; i < N_PENDING; i++) {
			struct pend *p = &g->p[i];

			if (!p->used || p->who != k || sga_cookie_digest(p->frame, p->len, mine) ||
			    memcmp(mine, digest, sizeof(mine)))
				continue;
			memcpy(p->cookie, cookie, sizeof(cookie));
			p->has_cookie = 1;
			g->cookies++;
			pend_tx(g, p); /* at once, not at the timer */
		}
		return;
	case SGA_MSG_ERROR:
		g->hints++;
		return;
	case SGA_MSG_REG_ACK:
		if ((g->step != S_REG_I || k != 0) && (g->step != S_REG_J || k != 1))
			return;
		if (sga_dev_consume_reg_ack(&g->dev[k], f, n))
			return;
		g->reg_ms[g->n_reg++] = since_ms(g);
		step_start(g, g->step == S_REG_I ? S_REG_J : S_NEG);
		return;
	case SGA_MSG_NEG_INVITE:
		if (g->step != S_NEG || k != 1 || g->sess[1].state ||
		    sga_dev_consume_neg_invite(&g->dev[1], &g->sess[1], f, n) ||
		    sga_dev_create_neg_accept(&g->dev[1], &g->sess[1], 1, out, sizeof(out), &len))
			return;
		pend_set(g, 1, 1, out, len);
		return;
	case SGA_MSG_NEG_RESULT:
		if (g->step != S_NEG || k != 0 ||
		    sga_dev_consume_neg_result(&g->dev[0], &g->sess[0], f, n))
			return;
		g->step = S_KEX;
		memset(g->p, 0, sizeof(g->p));
		for (int d = 0; d < 2; d++) {
			if (sga_dev_create_kex_init(&g->dev[d], &g->sess[d], out, sizeof(out),
			                            &len)) {
				step_failed(g);
				return;
			}
			pend_set(g, (unsigned)d, d, out, len);
		}
		return;
	case SGA_MSG_KEX_REPLY:
		if (g->step != S_KEX || g->got_reply[k] ||
		    sga_dev_consume_kex_reply(&g->dev[k], &g->sess[k], f, n))
			return;
		g->got_reply[k] = 1;
		g->p[k].used = 0;
		if (g->got_reply[0] && g->got_reply[1]) {
			g->conn_ms[g->n_conn++] = since_ms(g);
			round_next(g);
		}
		return;
	default:
		return;
	}
}

static void timers(struct fg *g, uint64_t now)
{
	if (g->step == S_DONE)
		return;
	if (now >= g->t_fail_us) {
		step_failed(g);
		return;
	}
	for (unsigned i = 0; i < N_PENDING; i++) {
		struct pend *p = &g->p[i];

		if (!p->used || now < p->next_us)
			continue;
		g->retx++;
		p->rto = RTE_MIN(p->rto * 2, RTO_MAX);
		if (g->step == S_NEG && i == 0) {
			/* A1 again is a new request (a new counter), as the SDK does */
			uint8_t f[SGA_FRAME_MAX];
			size_t n;

			sga_dev_sess_wipe(&g->sess[0]);
			memset(&g->sess[0], 0, sizeof(g->sess[0]));
			if (!sga_dev_create_neg_req(&g->dev[0], &g->sess[0], g->dev[1].id,
			                            g->dev[1].id_len, SUITES, 1, f, sizeof(f),
			                            &n)) {
				memcpy(p->frame, f, n);
				p->len = n;
				p->has_cookie = 0;
			}
		}
		pend_tx(g, p);
	}
}

/* ---- frames in ----------------------------------------------------------------------- */

static void on_frame(struct fg *g, const uint8_t *f, size_t n)
{
	const uint8_t *sha;
	uint32_t spa, tpa, dst;
	uint16_t op;
	size_t ihl, off;

	if (!bp_arp_parse(f, n, &op, &sha, &spa, &tpa)) {
		if (op == 2 && spa == g->o.gw_ip) {
			memcpy(g->gw.mac, sha, 6);
			g->gw_mac_known = 1;
		} else if (op == 1) {
			for (int k = 0; k < 3; k++)
				if (tpa == dp_addr_ipv4(&g->me[k]))
					bp_arp_send(&g->bp, 2, tpa, sha, sha, spa);
		}
		return;
	}
	if (n < 42 || f[12] != 0x08 || f[13] != 0x00 || f[23] != 17)
		return;
	ihl = (size_t)(f[14] & 0x0f) * 4;
	off = 14 + ihl + 8;
	if (off > n)
		return;
	memcpy(&dst, f + 30, 4);
	for (int k = 0; k < 2; k++)
		if (dst == dp_addr_ipv4(&g->me[k])) {
			size_t ulen = (size_t)(f[14 + ihl + 4] << 8 | f[14 + ihl + 5]);

			if (ulen < 8 || 14 + ihl + ulen > n)
				return;
			on_sga(g, k, f + off, ulen - 8);
			return;
		}
}

static unsigned rx_drain(struct fg *g)
{
	struct rte_mbuf *pk[BURST];
	unsigned total = 0;

	for (int r = 0; r < 16; r++) {
		uint16_t n = rte_eth_rx_burst(g->bp.port, 0, pk, BURST);

		for (uint16_t i = 0; i < n; i++)
			on_frame(g, rte_pktmbuf_mtod(pk[i], const uint8_t *), pk[i]->data_len);
		if (n)
			rte_pktmbuf_free_bulk(pk, n);
		total += n;
		if (n < BURST)
			break;
	}
	return total;
}

/* ---- report ------------------------------------------------------------------------------ */

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, unsigned n, double q)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_d);
	return v[(unsigned)((n - 1) * q + 0.5)];
}

/* ---- main ---------------------------------------------------------------------------------- */

static void usage(void)
{
	printf(
	    "Usage: " PROG " [OPTIONS] -- EAL-ARGS\n"
	    "  --gateway IP:PORT   the gateway (default 10.77.0.1:7000)\n"
	    "  --package PATH      the gateway package (required)\n"
	    "  --net IP            honest devices at .2 and .3, the victim at .4 (default "
	    "10.77.0.0)\n"
	    "  --rate N            forged frames/s, half REG_REQ, half NEG_REQ (default 0: idle)\n"
	    "  --spoof-bits B      spoofed sources over a /(32-B) around --net (default 15)\n"
	    "  --handshakes N      honest pairs: two registrations and one set-up each "
	    "(default 20)\n"
	    "  --warmup S          flood seconds before the first honest frame (default 2)\n"
	    "  --give-up-ms MS     a step not done by then fails (default 10000)\n"
	    "  --linger S          keep the port open, unpolled, after the report (default 0)\n"
	    "  --link-timeout S    wait for the link (default 30)\n");
}

static int parse(struct fg *g, int argc, char **argv)
{
	static const struct option lo[] = {{"gateway", required_argument, NULL, 'g'},
	                                   {"package", required_argument, NULL, 'p'},
	                                   {"net", required_argument, NULL, 'n'},
	                                   {"rate", required_argument, NULL, 'r'},
	                                   {"spoof-bits", required_argument, NULL, 'b'},
	                                   {"handshakes", required_argument, NULL, 'H'},
	                                   {"warmup", required_argument, NULL, 'w'},
	                                   {"give-up-ms", required_argument, NULL, 'G'},
	                                   {"linger", required_argument, NULL, 'l'},
	                                   {"link-timeout", required_argument, NULL, 't'},
	                                   {"help", no_argument, NULL, 'h'},
	                                   {NULL, 0, NULL, 0}};
	struct opts *o = &g->o;
	int c, bad = 0;

	o->gw_ip = htonl(0x0a4d0001);
	o->gw_port = htons(7000);
	o->net = htonl(0x0a4d0000);
	o->handshakes = 20;
	o->warmup_s = 2;
	o->give_up_ms = 10000;
	o->spoof_bits = 15;
	o->link_timeout_s = 30;
	while (!bad && (c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		struct in_addr a;

		switch (c) {
		case 'g':
			bad = bp_parse_ipport(optarg, &o->gw_ip, &o->gw_port);
			break;
		case 'p':
			o->package = optarg;
			break;
		case 'n':
			bad = inet_pton(AF_INET, optarg, &a) != 1;
			o->net = a.s_addr;
			break;
		case 'r':
			bad = bp_opt_uint(PROG, "rate", optarg, 0, 10000000, "frames/s", &o->rate);
			break;
		case 'b':
			bad =
			    bp_opt_uint(PROG, "spoof-bits", optarg, 6, 20, "bits", &o->spoof_bits);
			break;
		case 'H':
			bad =
			    bp_opt_uint(PROG, "handshakes", optarg, 1, MAX_HS, "", &o->handshakes);
			break;
		case 'w':
			bad = bp_opt_uint(PROG, "warmup", optarg, 0, 600, "s", &o->warmup_s);
			break;
		case 'G':
			bad = bp_opt_uint(PROG, "give-up-ms", optarg, 100, 600000, "ms",
			                  &o->give_up_ms);
			break;
		case 'l':
			bad = bp_opt_uint(PROG, "linger", optarg, 0, 3600, "s", &o->linger_s);
			break;
		case 't':
			bad = bp_opt_uint(PROG, "link-timeout", optarg, 1, 3600, "s",
			                  &o->link_timeout_s);
			break;
		case 'h':
			usage();
			return 1;
		default:
			return 2;
		}
	}
	if (bad)
		return 2;
	if (!o->package) {
		LOG("--package is required\n");
		return 2;
	}
	return 0;
}

static int setup(struct fg *g)
{
	uint8_t body[4096];
	size_t len;

	if (sga_pkg_file_read(g->o.package, body, sizeof(body), &len) ||
	    sga_package_decode(body, len, &g->pkg)) {
		LOG("cannot read the package %s\n", g->o.package);
		return -1;
	}
	for (int k = 0; k < 3; k++) {
		memset(&g->me[k], 0, sizeof(g->me[k]));
		memcpy(g->me[k].mac, g->bp.mac, 6);
		dp_addr_set_ipv4(&g->me[k], htonl(ntohl(g->o.net) + 2 + (uint32_t)k));
		g->me[k].port = htons((uint16_t)(30000 + k));
	}
	memset(&g->gw, 0, sizeof(g->gw));
	dp_addr_set_ipv4(&g->gw, g->o.gw_ip);
	g->gw.port = g->o.gw_port;
	return dev_fresh(g, 2, "flood-victim");
}

static int arp_gateway(struct fg *g)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, zero[6];
	uint64_t until = bp_now_us() + 10000000;

	while (!g->gw_mac_known && !g_quit && bp_now_us() < until) {
		bp_arp_send(&g->bp, 1, dp_addr_ipv4(&g->me[0]), bcast, zero, g->o.gw_ip);
		for (uint64_t t = bp_now_us() + 200000; bp_now_us() < t && !g->gw_mac_known;)
			if (!rx_drain(g))
				usleep(100);
	}
	if (!g->gw_mac_known)
		LOG("no ARP reply from the gateway\n");
	return g->gw_mac_known ? 0 : -1;
}

/* Register the victim (the forged NEG_REQs then cost the gateway a record
 * read and an AEAD check each, on the victim's worker). */
static int register_victim(struct fg *g)
{
	uint8_t f[SGA_FRAME_MAX];
	size_t n;
	uint64_t until = bp_now_us() + 10000000, next = 0;

	if (sga_dev_create_reg_req(&g->dev[2], NULL, 0, 0, f, sizeof(f), &n))
		return -1;
	while (!g->dev[2].registered && !g_quit && bp_now_us() < until) {
		struct rte_mbuf *pk[BURST];
		uint16_t k;

		if (bp_now_us() >= next) {
			tx_sga(g, &g->me[2], f, n);
			next = bp_now_us() + 300000;
		}
		k = rte_eth_rx_burst(g->bp.port, 0, pk, BURST);
		for (uint16_t i = 0; i < k; i++) {
			const uint8_t *p = rte_pktmbuf_mtod(pk[i], const uint8_t *);
			size_t len = pk[i]->data_len;
			size_t off = 14 + (size_t)(p[14] & 0x0f) * 4 + 8;

			if (len > off && p[12] == 0x08 && p[13] == 0 && p[23] == 17 &&
			    !memcmp(p + 30, g->me[2].ip + 12, 4) && p[off + 1] == SGA_MSG_REG_ACK)
				if (sga_dev_consume_reg_ack(&g->dev[2], p + off, len - off))
					continue; /* not the answer to ours: wait on */
		}
		if (k)
			rte_pktmbuf_free_bulk(pk, k);
		else
			usleep(100);
	}
	if (!g->dev[2].registered)
		LOG("the victim device did not register\n");
	return g->dev[2].registered ? 0 : -1;
}

static void run(struct fg *g)
{
	uint64_t t_start = bp_now_us(), t_first = t_start + (uint64_t)g->o.warmup_s * 1000000u;
	uint64_t t_end, drain_until;

	g->step = S_DONE;
	while (!g_quit) {
		uint64_t now = bp_now_us();

		if (g->o.rate)
			forged_send(g, t_start, now);
		rx_drain(g);
		if (g->step == S_DONE && g->round == 0 && now >= t_first && !g->n_reg &&
		    !g->reg_fail)
			step_start(g, S_REG_I);
		else if (g->step == S_DONE && (g->n_reg || g->reg_fail))
			break;
		timers(g, now);
	}
	t_end = bp_now_us();
	/* traffic stops; what the gateway still sends is drained */
	for (drain_until = bp_now_us() + 500000; bp_now_us() < drain_until;)
		if (!rx_drain(g))
			usleep(200);
	printf(PROG ": %u honest pairs, %llu forged frames offered in %.1f s (%.0f/s)\n",
	       g->o.handshakes, (unsigned long long)g->forged_sent, (double)(t_end - t_start) / 1e6,
	       (double)g->forged_sent * 1e6 / (double)(t_end - t_start + 1));
	{
		unsigned nr = g->n_reg, nc = g->n_conn;
		double r50 = pct(g->reg_ms, nr, 0.5), r99 = pct(g->reg_ms, nr, 0.99);
		double c50 = pct(g->conn_ms, nc, 0.5), c99 = pct(g->conn_ms, nc, 0.99);

		printf("  registration: %u ok, %u failed; p50 %.2f ms, p99 %.2f ms\n", nr,
		       g->reg_fail, r50, r99);
		printf(
		    "  session set-up (A1 .. B5/B6): %u ok, %u failed; p50 %.2f ms, p99 %.2f ms\n",
		    nc, g->conn_fail, c50, c99);
		printf("  cookies answered %u, retransmissions %u, ERROR hints %u\n", g->cookies,
		       g->retx, g->hints);
		printf("RESULT mode=flood rate=%u offered_fps=%.0f reg_ok=%u reg_fail=%u "
		       "reg_p50_ms=%.2f reg_p99_ms=%.2f conn_ok=%u conn_fail=%u conn_p50_ms=%.2f "
		       "conn_p99_ms=%.2f cookies=%u retx=%u\n",
		       g->o.rate, (double)g->forged_sent * 1e6 / (double)(t_end - t_start + 1), nr,
		       g->reg_fail, r50, r99, nc, g->conn_fail, c50, c99, g->cookies, g->retx);
	}
}

int main(int argc, char **argv)
{
	static struct fg g;
	int app_argc, eal_argc, rc, ret = 1;
	char **eal_argv = bp_eal_args(argc, argv, &app_argc, &eal_argc);

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!eal_argv)
		return 1;
	rc = parse(&g, app_argc, argv);
	if (rc) {
		free(eal_argv);
		return rc == 1 ? 0 : rc;
	}
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		LOG("EAL initialisation failed: %s\n", rte_strerror(rte_errno));
		free(eal_argv);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (bp_port_start(&g.bp, PROG, N_MBUFS, N_DESC, g.o.link_timeout_s, &g_quit))
		goto out;
	if (setup(&g) || arp_gateway(&g) || register_victim(&g) || forged_build(&g))
		goto out_port;
	run(&g);
	ret = g_quit ? 1 : 0;
	if (!g_quit && g.o.linger_s)
		bp_linger(PROG, g.o.linger_s, &g_quit);
out_port:
	bp_port_stop(&g.bp);
out:
	for (int k = 0; k < 3; k++)
		if (g.dev_ok[k])
			sga_dev_fini(&g.dev[k]);
	sga_dev_sess_wipe(&g.sess[0]);
	sga_dev_sess_wipe(&g.sess[1]);
	free(g.forged);
	free(g.forged_len);
	rte_eal_cleanup();
	free(eal_argv);
	return ret;
}
