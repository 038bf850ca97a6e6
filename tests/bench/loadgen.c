/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * loadgen.c - sga-loadgen: M2M-scale load on an SGA gateway's port, from a
 * DPDK generator that plays both devices of N lab sessions (protocol/sga_lab.h:
 * the gateway provisioned the same sessions from the same file, so no
 * handshake runs). A benchmark tool, not a test: tests/bench/bench_loadgen.sh
 * runs it for 1, 1,000 and 100,000 sessions next to dpdk-testpmd, and
 * tests/e2e/test_loadgen.sh asserts its counts in CI.
 *
 * `sga-loadgen provision` writes the provisioning file (mode 0600); `sga-loadgen
 * [run]` generates load:
 *  - every device has its own (IPv4, UDP port) - 16,384 ports per address from
 *    --net upwards - so the gateway learns one address per member, from the
 *    first authentic frame of each: before any traffic every device sends one
 *    DATA_DELIVERED (next_e2e_seq 0), which teaches its address and relays
 *    nothing;
 *  - for each payload size a pool of DATA_UP frames is sealed before the clock
 *    starts (sessions drawn uniformly or Zipf-skewed, from the initiator, or
 *    with --both-directions from either member), each fresh: its own e2e_seq
 *    and hop sequence number (even ones; odd ones are left for re-sent copies
 *    and DATA_DELIVERED, so every frame on the wire is fresh);
 *  - the pool goes out open loop at --rate msg/s or closed loop as fast as the
 *    port takes it (--rate max), each device within its window of --window
 *    unacknowledged messages (as the device SDK: a message not acknowledged
 *    within --retx-ms, doubled per copy, is re-sealed under a fresh hop seq).
 *    Each device sends its own frames in order, but a device waiting for a
 *    DATA_ACK holds back no other: the sender looks up to LOOKAHEAD frames
 *    past the oldest unsent one for frames whose device may send (devices
 *    are independent; a strict pool order made every device wait for the
 *    slowest acknowledgement, which with a store is a sync away);
 *  - the recipients open each DATA_DOWN (or one in --open-every), check the
 *    payload and send a DATA_DELIVERED every --delivered messages (up to the
 *    first one missing), the senders open each DATA_ACK (ack_frame_open).
 * Per-session state lives in flat arrays (struct lg_dev per device plus a ring
 * of pool indices per device: printed as bytes per session); the pool's per
 * frame metadata (device, e2e_seq, first and last send time, flags) lets a
 * DATA_DOWN or DATA_ACK find its send time through the ring slot of
 * (device, e2e_seq): no search, no allocation per message. Latencies go into
 * log-linear histograms (32 buckets per power of two).
 *
 * Once a second a progress line; per size a report with the offered, relayed
 * (DATA_DOWN frames), delivered (distinct messages opened) and acknowledged
 * rates, Gbit/s, loss, the latency percentiles send -> DATA_DOWN and send ->
 * DATA_ACK, and one "RESULT key=value ..." line. Traffic stops and the tail is
 * drained before the port closes (DPDK 22.11's memif PMD may crash a peer that
 * loses its partner under load).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "bench_port.h"
#include "sga_cursor.h"
#include "dp_pkt.h"
#include "sga_device.h"
#include "sga_err.h"
#include "sga_hex.h"
#include "sga_hop.h"
#include "sga_lab.h"
#include "sga_wire.h"

#define PROG      "sga-loadgen"
#define LOG(...)  fprintf(stderr, PROG ": " __VA_ARGS__)
#define INFO(...) printf(__VA_ARGS__)

#define BURST         32
#define MAX_SIZES     8
#define N_MBUFS       16383
#define N_DESC        1024
#define PORTS_PER_IP  16384u /* device d: address net + 2 + d / 16384, port 20000 + d % 16384 */
#define PORT_BASE     20000u
#define RING_MIN      16  /* pool indices kept per device (at least the window) */
#define WIN_MAX       256 /* --window at most */
#define HOP_BACK      512 /* a copy's hop seq at most this far below the device's highest */
#define BACKOFF_MAX   6
#define RETX_SCAN     4096 /* pool entries looked at per re-send pass at most */
#define LOOKAHEAD     4096 /* pool entries looked at past the oldest unsent one */
#define F_SENT        1
#define F_ACKED       2
#define F_DELIVERED   4
#define HIST_SUB_BITS 5
#define HIST_N        (64 + 42 * (1 << HIST_SUB_BITS))

static volatile sig_atomic_t g_quit;

static void on_signal(int sig)
{
	(void)sig;
	g_quit = 1;
}

/* ---- options -------------------------------------------------------------------- */

struct opts {
	const char *lab, *stats;
	uint32_t sessions; /* 0: all the file provisions */
	double rate;       /* msg/s; 0: max */
	double zipf_s;     /* 0: uniform */
	unsigned sizes[MAX_SIZES], n_sizes;
	double duration_s;
	int both;
	unsigned window, retx_ms, open_every, delivered, delivered_ms, max_inflight;
	uint32_t gw_ip, net; /* network order */
	uint16_t gw_port;
	unsigned long frames, pool_mb;
	unsigned link_timeout_s, burst, linger_s, tail_s;
	pid_t watch_pid;
	uint64_t seed;
};

static void usage(FILE *f)
{
	static const char text[] =
	    "Usage: sga-loadgen provision --sessions N --out FILE [--seed S] [--suite NAME]\n"
	    "                   [--hop-suite NAME] [--group NAME] [--force]\n"
	    "       sga-loadgen [run] --lab FILE [OPTIONS] -- EAL_OPTIONS\n"
	    "       sga-loadgen pcap --lab FILE --gw-mac MAC --out FILE.pcap (= sga-pcapgen;\n"
	    "                   see sga-pcapgen --help)\n"
	    "Load on an SGA gateway's data plane from N lab sessions, both devices of each\n"
	    "played here. LAB ONLY: the provisioning file's seed derives every key of every\n"
	    "session; the gateway reads it only under [lab] profile = lab.\n"
	    "\n"
	    "provision: write the provisioning file the gateway ([lab] provision = FILE) and\n"
	    "the generator read (mode 0600; an existing file only with --force).\n"
	    "  --sessions N        1..16777216\n"
	    "  --seed S            64 hex digits, or any other string hashed into a seed\n"
	    "                      (default: 32 random bytes)\n"
	    "  --suite NAME        E2E suite (default aes-128-gcm)\n"
	    "  --hop-suite NAME    both members' hop suite (default: the E2E suite)\n"
	    "  --group NAME        the gateway's group (default ffdhe2048)\n"
	    "\n"
	    "run (the generator runs on the EAL main lcore and uses the first ethdev port):\n"
	    "  -L, --lab FILE      the provisioning file (required)\n"
	    "  -N, --sessions N    use the first N sessions of the file (default: all)\n"
	    "  -r, --rate R|max    DATA_UP offered per second in total, open loop; max: as\n"
	    "                      fast as the port and the windows allow (default max)\n"
	    "  -d, --dist D        uniform (default) or zipf:S (S in 0.1..3, e.g. zipf:1.0:\n"
	    "                      session k drawn with weight 1/(k+1)^S)\n"
	    "  -s, --sizes LIST    payload sizes, comma separated, one measurement each\n"
	    "                      (default 64)\n"
	    "  -t, --duration S    seconds per size at most (default 5); a spent pool ends\n"
	    "                      it earlier\n"
	    "  -b, --both-directions  either member sends (drawn per message); default:\n"
	    "                      the initiator sends, the responder receives\n"
	    "  -w, --window N      per device, at most N e2e_seqs from its oldest unacknowledged\n"
	    "                      DATA_UP, 0..256 (default 8), as the SDK's window; a message\n"
	    "                      not acknowledged within --retx-ms\n"
	    "                      (doubling per copy) is sent again, re-sealed under a\n"
	    "                      fresh hop sequence number, as the device SDK does; the\n"
	    "                      tail re-sends until every message is acknowledged\n"
	    "                      (--tail). 0: no window, no re-sends\n"
	    "      --retx-ms N     1..10000 (default 200)\n"
	    "      --max-inflight N  with a window: unacknowledged DATA_UP of all devices at\n"
	    "                      most (default 512): each brings back a DATA_DOWN and a\n"
	    "                      DATA_ACK, and more than the rings hold would be lost\n"
	    "      --open-every N  open (authenticate, check) every Nth DATA_DOWN, and without\n"
	    "                      a window every Nth DATA_ACK (a window opens them all);\n"
	    "                      the others are counted by type byte. Default 1: all;\n"
	    "                      the delivered and loss figures need 1\n"
	    "      --delivered N   each recipient sends a DATA_DELIVERED every N messages it\n"
	    "                      opened, --delivered-ms after the first one it has not\n"
	    "                      reported, at once for a message it already holds, and a\n"
	    "                      last one at the end, as the device SDK (default 16; 0:\n"
	    "                      never)\n"
	    "      --delivered-ms N  1..10000 (default 20)\n"
	    "  -n, --frames N      DATA_UP frames sealed per size (default: rate x duration\n"
	    "                      with --rate, else 1000000), within --pool-mb\n"
	    "  -M, --pool-mb MB    memory for them (default 2048)\n"
	    "      --gateway IP:PORT  the gateway's address (default 10.77.0.1:7000)\n"
	    "      --net IP        the devices' addresses start at IP + 2 (default 10.77.0.0):\n"
	    "                      device d uses IP + 2 + d / 16384, UDP port 20000 + d %% 16384\n"
	    "  -S, --stats FILE    the gateway's stats_file: counters read before and after\n"
	    "                      as a cross-check\n"
	    "      --burst N       frames per tx burst, 1..32 (default 32)\n"
	    "      --tail S        seconds the tail may take to get every DATA_ACK (default 10)\n"
	    "      --link-timeout S  seconds to wait for the port's link (default 10)\n"
	    "      --watch-pid PID the gateway's process: its lcores' CPU share is reported\n"
	    "      --linger S      after the last measurement keep the port open, unpolled,\n"
	    "                      until SIGINT/SIGTERM (at most S s) so that the peer can stop\n"
	    "                      first; a line starting \"sga-loadgen: done;\" says when\n"
	    "      --rng-seed N    seed of the session draw (default 1)\n"
	    "  -h, --help          this text\n"
	    "\n"
	    "Exit status: 0 when every measurement ran; 1 on a failure; 2 on bad usage.\n";

	fprintf(f, text);
}

/* ---- state ---------------------------------------------------------------------- */

/* One device: its keys and sequence state (flat array, index 2 * session + role). */
struct lg_dev {
	uint8_t hop_up[SGA_AEAD_MAX_KEY_LEN], hop_down[SGA_AEAD_MAX_KEY_LEN];
	uint8_t e2e_tx[SGA_AEAD_MAX_KEY_LEN], e2e_rx[SGA_AEAD_MAX_KEY_LEN];
	uint64_t hop_epoch;        /* the lab session's fixed hop-down epoch; hop_down is its key */
	uint64_t e2e_next;         /* next e2e_seq to seal */
	uint64_t hop_even;         /* next hop seq of a pool frame (even) */
	uint64_t hop_odd;          /* next hop seq of a copy or a DATA_DELIVERED (odd) */
	uint64_t hop_hi;           /* highest hop seq sent */
	uint64_t rx_cont, rx_bits; /* as recipient: every e2e_seq below rx_cont received;
	                            * bit i: rx_cont + i received */
	uint32_t inflight;         /* DATA_UP sent and not acknowledged */
	uint32_t send_next;        /* e2e_seq (low 32 bits) of its next pool frame to send */
	uint32_t since_delivered;  /* messages opened since the last DATA_DELIVERED */
	uint32_t queued;           /* in the DATA_DELIVERED timer queue */
};

struct hist {
	uint64_t b[HIST_N], n, max;
};

struct counts {
	uint64_t sent, fresh, retx, down, ack, opened, delivered, acked, ack_again, down_again;
	uint64_t bad, unmatched, other, delivered_sent, stalls;
};

struct lg {
	struct opts o;
	struct sga_lab_params p;
	struct bp_port bp;
	struct dp_addr gw;
	int gw_mac_known;
	uint32_t sid_hi; /* the session ids' high half */
	uint32_t n_sess, n_dev;
	struct lg_dev *dev;
	uint32_t *ring; /* [dev * ring_n + e2e % ring_n]: pool index + 1 (0: none) */
	unsigned ring_n;
	/* DATA_DELIVERED timers, as the SDK's: a recipient reports --delivered-ms
	 * after its first unreported message (FIFO: every entry has the same delay). */
	uint32_t *dq_dev;
	uint64_t *dq_tsc, dq_delay;
	uint32_t dq_head, dq_n;
	double *zipf_cdf;
	uint64_t rng;
	uint16_t ip_id;
	/* the pool of the current size */
	uint8_t *frames;
	size_t n_pool, stride, frame_len;
	unsigned payload;
	uint8_t msg[SGA_FRAME_MAX];
	uint32_t *pm_dev, *pm_e2e;
	uint64_t *pm_first, *pm_last;
	uint8_t *pm_tries, *pm_flags;
	/* next: the oldest never sent; end: one past the newest sent (frames in
	 * [next, end) may have gone ahead of next); base: the oldest not
	 * acknowledged (with a window) */
	size_t next, end, base;
	uint64_t rto, next_check, hz;
	size_t retx_at; /* where the next re-send pass starts looking (retx_due) */
	double ns_per_cycle;
	struct counts c;
	struct hist h_down, h_ack;
	uint64_t arp_answered;
	struct sga_dev_sess scratch;
};

static struct lg g_lg;

static uint64_t rng_next(struct lg *g)
{
	/* xorshift64*: the session draw needs speed and repeatability, not secrecy. */
	g->rng ^= g->rng >> 12;
	g->rng ^= g->rng << 25;
	g->rng ^= g->rng >> 27;
	return g->rng * 0x2545F4914F6CDD1Dull;
}

static void payload_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + n);
}

static void dev_addr(const struct lg *g, uint32_t d, struct dp_addr *a)
{
	memset(a, 0, sizeof(*a));
	dp_addr_set_ipv4(a, htonl(ntohl(g->o.net) + 2 + d / PORTS_PER_IP));
	a->port = htons((uint16_t)(PORT_BASE + d % PORTS_PER_IP));
	memcpy(a->mac, g->bp.mac, 6);
}

/* The scratch session of device d, for the protocol library's seal and open
 * calls; fresh replay windows (the pool's flags find duplicates). */
static struct sga_dev_sess *dev_load(struct lg *g, uint32_t d)
{
	struct sga_dev_sess *s = &g->scratch;
	const struct lg_dev *v = &g->dev[d];

	s->state = SGA_DEV_S_ESTABLISHED;
	/* As a lab session starts (sga_lab_dev_sess): key confirmation done. The
	 * pool numbers its messages itself (e2e_tx_seq below). */
	s->confirm_sent = 1;
	s->peer_confirmed = 1;
	s->role = (uint8_t)(d & 1);
	s->session_id = (uint64_t)g->sid_hi << 32 | ((d >> 1) + 1);
	s->suite = g->p.suite;
	s->group = g->p.group;
	s->hop_suite = g->p.hop_suite;
	memcpy(s->hop_up, v->hop_up, sizeof(s->hop_up));
	/* The lab epoch and its key; no base is kept (a lab gateway seals under no
	 * other epoch), so a frame of another epoch fails to open. */
	memcpy(s->hop_down, v->hop_down, sizeof(s->hop_down));
	s->hop_epoch = v->hop_epoch;
	memcpy(s->e2e_tx_key, v->e2e_tx, sizeof(s->e2e_tx_key));
	memcpy(s->e2e_rx_key, v->e2e_rx, sizeof(s->e2e_rx_key));
	sga_replay_init(&s->hop_rx_win);
	sga_replay_init(&s->e2e_rx_win);
	return s;
}

/* ---- histograms --------------------------------------------------------------------- */

static void hist_add(struct hist *h, uint64_t ns)
{
	unsigned idx;

	if (ns < 64) {
		idx = (unsigned)ns;
	} else {
		unsigned e = 63u - (unsigned)__builtin_clzll(ns);

		idx = 64 + (e - 6) * (1u << HIST_SUB_BITS) +
		      (unsigned)((ns >> (e - HIST_SUB_BITS)) & ((1u << HIST_SUB_BITS) - 1));
		if (idx >= HIST_N)
			idx = HIST_N - 1;
	}
	h->b[idx]++;
	h->n++;
	if (ns > h->max)
		h->max = ns;
}

/* The value at quantile q (0..1): the middle of its bucket, in ns. */
static double hist_q(const struct hist *h, double q)
{
	uint64_t want = (uint64_t)ceil(q * (double)h->n), acc = 0;

	if (!h->n)
		return 0;
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < HIST_N; i++) {
		acc += h->b[i];
		if (acc < want)
			continue;
		if (i < 64)
			return i;
		{
			unsigned e = (i - 64) / (1u << HIST_SUB_BITS) + 6,
			         sub = (i - 64) % (1u << HIST_SUB_BITS);
			double lo = (double)(((uint64_t)(1u << HIST_SUB_BITS) + sub)
			                     << (e - HIST_SUB_BITS)),
			       w = (double)((uint64_t)1 << (e - HIST_SUB_BITS));

			return lo + w / 2;
		}
	}
	return (double)h->max;
}

/* ---- transmit ------------------------------------------------------------------------- */

/* A hop seq for a copy or a DATA_DELIVERED of device d: odd, fresh, and no more
 * than HOP_BACK below the highest it sent, inside the gateway's window. */
static uint64_t hop_odd_take(struct lg_dev *v)
{
	uint64_t seq;

	if (v->hop_odd + HOP_BACK < v->hop_hi)
		v->hop_odd = (v->hop_hi - HOP_BACK) | 1;
	seq = v->hop_odd;
	v->hop_odd += 2;
	if (seq > v->hop_hi)
		v->hop_hi = seq;
	return seq;
}

/* DATA_DELIVERED of device d (it holds every message below next) as a whole
 * Eth/IPv4/UDP frame into f; its length, or 0. */
static size_t delivered_build(struct lg *g, uint32_t d, uint64_t next, uint8_t *f, size_t cap)
{
	struct sga_dev_sess *s = dev_load(g, d);
	struct dp_addr a;
	size_t len;

	s->hop_tx_seq = hop_odd_take(&g->dev[d]);
	if (cap < DP_PKT_HDR_LEN ||
	    sga_dev_delivered_seal(s, next, f + DP_PKT_HDR_LEN, cap - DP_PKT_HDR_LEN, &len))
		return 0;
	dev_addr(g, d, &a);
	return dp_pkt_udp_build(f, &a, &g->gw, g->ip_id++, len);
}

static void delivered_send(struct lg *g, uint32_t d, uint64_t next)
{
	uint8_t f[DP_PKT_HDR_LEN + 64];
	size_t len = delivered_build(g, d, next, f, sizeof(f));

	if (len && !bp_tx_frame(&g->bp, f, len))
		g->c.delivered_sent++;
	g->dev[d].since_delivered = 0;
}

/* ---- receive ---------------------------------------------------------------------------- */

/* The pool entry of device d's message e2e, or -1 (not in its ring any more). */
static int64_t pool_find(const struct lg *g, uint32_t d, uint64_t e2e)
{
	uint32_t v = g->ring[(size_t)d * g->ring_n + e2e % g->ring_n];

	if (!v || g->pm_dev[v - 1] != d || g->pm_e2e[v - 1] != (uint32_t)e2e)
		return -1;
	return (int64_t)v - 1;
}

/* A DATA_ACK for sender d names e2e: the gateway took charge of it. */
static void on_acked(struct lg *g, uint32_t d, uint64_t e2e, uint64_t now)
{
	int64_t i = pool_find(g, d, e2e);

	if (i < 0 || (g->pm_flags[i] & F_ACKED)) {
		g->c.ack_again++; /* a copy acknowledged again, or from an earlier pool */
		return;
	}
	g->pm_flags[i] |= F_ACKED;
	g->c.acked++;
	if (g->dev[d].inflight)
		g->dev[d].inflight--;
	hist_add(&g->h_ack, (uint64_t)((double)(now - g->pm_first[i]) * g->ns_per_cycle));
}

/*
 * Open a DATA_ACK hop frame of device d with the protocol library and report
 * every e2e_seq it names through cb (PROTOCOL.md 7.11: top | bits, bit i set
 * <=> e2e_seq top-1-i is stored), oldest first. The one place that knows the
 * DATA_ACK format. Returns the number reported, or a negated SGA_E_* code.
 */
static int ack_frame_open(struct lg *g, uint32_t d, const uint8_t *sga, size_t len, uint64_t now,
                          void (*cb)(struct lg *g, uint32_t d, uint64_t e2e, uint64_t now))
{
	struct sga_data_ack_plain ack;
	int rc = sga_dev_ack_open(dev_load(g, d), sga, len, &ack), n = 0;

	if (rc)
		return rc;
	for (int i = SGA_DATA_ACK_SPAN - 1; i >= 0; i--) {
		if (!(ack.bits >> i & 1))
			continue;
		cb(g, d, ack.top - 1 - (uint64_t)i, now);
		n++;
	}
	return n;
}

/* Recipient d has message e2e: advance what it can report delivered. */
static void rx_mark(struct lg_dev *v, uint64_t e2e)
{
	uint64_t off;

	if (e2e < v->rx_cont)
		return;
	off = e2e - v->rx_cont;
	if (off >= 64)
		return; /* beyond what is tracked: a later DATA_DELIVERED covers it */
	v->rx_bits |= (uint64_t)1 << off;
	while (v->rx_bits & 1) {
		v->rx_bits >>= 1;
		v->rx_cont++;
	}
}

/* The plaintext of pool entry i: the pattern, with i in its first 8 bytes when
 * it is that long - the message carries its own index, so its send time needs
 * no lookup when it comes back (shorter ones: the ring, pool_find). */
static void msg_for(const struct lg *g, size_t i, uint8_t *msg)
{
	memcpy(msg, g->msg, g->payload);
	if (g->payload >= 8)
		sga_put_u64(msg, i);
}

/* The pool entry an opened message of sender d (e2e) names: -1 none, -2 the
 * message is not one this generator sealed. */
static int64_t msg_entry(const struct lg *g, const uint8_t *msg, size_t mlen, uint32_t d,
                         uint64_t e2e)
{
	uint64_t i;

	if (mlen != g->payload)
		return -2;
	if (mlen < 8)
		return memcmp(msg, g->msg, mlen) ? -2 : pool_find(g, d, e2e);
	i = sga_get_u64(msg);
	if (memcmp(msg + 8, g->msg + 8, mlen - 8))
		return -2;
	if (i >= g->n_pool || g->pm_dev[i] != d || g->pm_e2e[i] != (uint32_t)e2e)
		return -1; /* from an earlier pool (size) */
	return (int64_t)i;
}

static void on_down(struct lg *g, uint32_t d, const uint8_t *sga, size_t len, uint64_t now)
{
	struct sga_dev_sess *s = dev_load(g, d);
	uint8_t msg[SGA_FRAME_MAX];
	size_t mlen = 0;
	uint64_t e2e;
	int64_t i;
	int dup = 0;

	if (sga_dev_data_open(s, sga, len, msg, sizeof(msg), &mlen)) {
		g->c.bad++;
		return;
	}
	g->c.opened++;
	e2e = s->e2e_rx_last;
	i = msg_entry(g, msg, mlen, d ^ 1, e2e);
	if (i == -2) {
		g->c.bad++;
		i = -1;
	}
	if (i < 0) {
		g->c.unmatched++;
	} else if (g->pm_flags[i] & F_DELIVERED) {
		g->c.down_again++; /* a store's re-send, or a copy relayed twice */
		dup = 1;
	} else {
		g->pm_flags[i] |= F_DELIVERED;
		g->c.delivered++;
		hist_add(&g->h_down, (uint64_t)((double)(now - g->pm_first[i]) * g->ns_per_cycle));
	}
	rx_mark(&g->dev[d], e2e);
	if (!g->o.delivered)
		return;
	/* As the SDK: every --delivered messages, at once when the gateway re-sent
	 * one we hold, else --delivered-ms after the first unreported one. */
	if (++g->dev[d].since_delivered >= g->o.delivered || dup) {
		delivered_send(g, d, g->dev[d].rx_cont);
	} else if (!g->dev[d].queued && g->dq_n < g->n_dev) {
		uint32_t t = (g->dq_head + g->dq_n++) % g->n_dev;

		g->dq_dev[t] = d;
		g->dq_tsc[t] = now;
		g->dev[d].queued = 1;
	}
}

/* DATA_DELIVERED of the recipients whose first unreported message came
 * --delivered-ms ago (the SDK's delay): cheap, the queue is in time order. */
static void delivered_due(struct lg *g, uint64_t now)
{
	while (g->dq_n && g->dq_tsc[g->dq_head] + g->dq_delay <= now) {
		uint32_t d = g->dq_dev[g->dq_head];

		g->dq_head = (g->dq_head + 1) % g->n_dev;
		g->dq_n--;
		g->dev[d].queued = 0;
		if (g->dev[d].since_delivered)
			delivered_send(g, d, g->dev[d].rx_cont);
	}
}

static void on_arp(struct lg *g, const uint8_t *f, size_t len)
{
	const uint8_t *sha;
	uint16_t op;
	uint32_t spa, tpa, lo = ntohl(g->o.net) + 2,
	                   hi = lo + (g->n_dev + PORTS_PER_IP - 1) / PORTS_PER_IP;

	if (bp_arp_parse(f, len, &op, &sha, &spa, &tpa))
		return;
	if (op == 1 && ntohl(tpa) >= lo && ntohl(tpa) < hi) {
		bp_arp_send(&g->bp, 2, tpa, sha, sha, spa);
		g->arp_answered++;
	} else if (op == 2 && spa == g->o.gw_ip && !g->gw_mac_known) {
		memcpy(g->gw.mac, sha, 6);
		g->gw_mac_known = 1;
	}
}

/* One received frame: classified by the clear fields of its hop header. */
static void on_frame(struct lg *g, const uint8_t *f, size_t len, uint64_t now, unsigned *open_tick)
{
	size_t l3, off, ulen;
	uint64_t sid;
	uint32_t idx, d;
	const uint8_t *sga;
	uint8_t type, role;

	if (len >= DP_PKT_ETH_LEN && f[12] == 0x08 && f[13] == 0x06) {
		on_arp(g, f, len);
		return;
	}
	if (len < DP_PKT_HDR_LEN + SGA_HOP_HDR_LEN || f[12] != 0x08 || f[13] != 0x00 ||
	    f[23] != 17) {
		g->c.other++;
		return;
	}
	l3 = (size_t)(f[14] & 0x0f) * 4;
	off = DP_PKT_ETH_LEN + l3 + DP_PKT_UDP_LEN;
	if (len < off + SGA_HOP_HDR_LEN) {
		g->c.other++;
		return;
	}
	/* The UDP length, not the frame's: it may carry padding. */
	ulen = (size_t)(f[DP_PKT_ETH_LEN + l3 + 4] << 8 | f[DP_PKT_ETH_LEN + l3 + 5]);
	if (ulen < DP_PKT_UDP_LEN + SGA_HOP_HDR_LEN || ulen > len - (DP_PKT_ETH_LEN + l3)) {
		g->c.other++;
		return;
	}
	sga = f + off;
	type = sga[1];
	sid = 0;
	for (int i = 0; i < 8; i++)
		sid = sid << 8 | sga[SGA_HDR_LEN + i];
	role = sga[SGA_HDR_LEN + 8];
	idx = (uint32_t)sid - 1;
	if ((uint32_t)(sid >> 32) != g->sid_hi || (uint32_t)sid == 0 || idx >= g->n_sess ||
	    role > 1) {
		g->c.other++;
		return;
	}
	d = 2 * idx + role;
	if (type == SGA_MSG_DATA_DOWN) {
		g->c.down++;
		if (g->o.open_every == 1 || ++open_tick[0] % g->o.open_every == 0)
			on_down(g, d, sga, ulen - DP_PKT_UDP_LEN, now);
	} else if (type == SGA_MSG_DATA_ACK) {
		g->c.ack++;
		if ((g->o.window || g->o.open_every == 1 ||
		     ++open_tick[1] % g->o.open_every == 0) &&
		    ack_frame_open(g, d, sga, ulen - DP_PKT_UDP_LEN, now, on_acked) < 0)
			g->c.bad++;
	} else {
		g->c.other++;
	}
}

static unsigned rx_drain(struct lg *g)
{
	static unsigned open_tick[2]; /* --open-every: DATA_DOWN, DATA_ACK */
	struct rte_mbuf *pk[BURST];
	unsigned total = 0;

	/* Until the queue is empty (bounded): what comes back must not wait behind
	 * what is sent, or the rings overflow and frames are lost. */
	for (int r = 0; r < 64; r++) {
		uint16_t n = rte_eth_rx_burst(g->bp.port, 0, pk, BURST);
		uint64_t now = rte_rdtsc();

		for (uint16_t i = 0; i < n; i++) {
			if (i + 2 < n)
				rte_prefetch0(rte_pktmbuf_mtod(pk[i + 2], void *));
			on_frame(g, rte_pktmbuf_mtod(pk[i], const uint8_t *), pk[i]->data_len, now,
			         open_tick);
		}
		if (n)
			rte_pktmbuf_free_bulk(pk, n);
		total += n;
		if (n < BURST)
			break;
	}
	return total;
}

/* ---- set-up: ARP, the devices, their addresses ----------------------------------------- */

static int arp_gateway(struct lg *g)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, zero[6];
	uint64_t until = bp_now_us() + 10000000;

	while (!g->gw_mac_known && !g_quit && bp_now_us() < until) {
		bp_arp_send(&g->bp, 1, htonl(ntohl(g->o.net) + 2), bcast, zero, g->o.gw_ip);
		for (uint64_t t = bp_now_us() + 200000; bp_now_us() < t && !g->gw_mac_known;)
			if (!rx_drain(g))
				usleep(100);
	}
	if (!g->gw_mac_known) {
		LOG("no ARP reply from the gateway %s\n", "(is it running on this port?)");
		return -1;
	}
	INFO("  gateway MAC %02x:%02x:%02x:%02x:%02x:%02x\n", g->gw.mac[0], g->gw.mac[1],
	     g->gw.mac[2], g->gw.mac[3], g->gw.mac[4], g->gw.mac[5]);
	return 0;
}

/* Derive every device's keys from the provisioning file (sga_lab_derive and
 * sga_lab_dev_sess: the key schedule the gateway's records came from). */
static int devices_build(struct lg *g)
{
	struct sga_lab_sess ls;
	struct sga_dev_sess s;
	uint64_t t0 = bp_now_us();
	int rc = 0;

	g->n_dev = 2 * g->n_sess;
	/* With a window the ring is the window: a message may go only into a free
	 * slot (empty or acknowledged), so a device's unacknowledged messages span
	 * at most --window e2e_seqs (as the SDK's window) and each stays findable. */
	g->ring_n = g->o.window ? g->o.window : RING_MIN;
	g->dev = calloc(g->n_dev, sizeof(*g->dev));
	g->ring = calloc((size_t)g->n_dev * g->ring_n, sizeof(*g->ring));
	g->dq_dev = calloc(g->n_dev, sizeof(*g->dq_dev));
	g->dq_tsc = calloc(g->n_dev, sizeof(*g->dq_tsc));
	if (!g->dev || !g->ring || !g->dq_dev || !g->dq_tsc) {
		LOG("cannot allocate the state of %u sessions\n", g->n_sess);
		return -1;
	}
	for (uint32_t i = 0; i < g->n_sess && !rc; i++) {
		rc = sga_lab_derive(&g->p, i, &ls);
		for (uint8_t r = 0; r < 2 && !rc; r++) {
			struct lg_dev *v = &g->dev[2 * i + r];

			rc = sga_lab_dev_sess(&ls, r, &s);
			if (rc)
				break;
			memcpy(v->hop_up, s.hop_up, sizeof(v->hop_up));
			memcpy(v->hop_down, s.hop_down, sizeof(v->hop_down));
			v->hop_epoch = s.hop_epoch;
			memcpy(v->e2e_tx, s.e2e_tx_key, sizeof(v->e2e_tx));
			memcpy(v->e2e_rx, s.e2e_rx_key, sizeof(v->e2e_rx));
			v->hop_even = 2;
			v->hop_odd = 1;
			sga_dev_sess_wipe(&s);
		}
		if (i == 0)
			g->sid_hi = (uint32_t)(ls.session_id >> 32);
		sga_lab_sess_wipe(&ls);
	}
	if (rc) {
		LOG("deriving the lab sessions failed: %s\n", sga_err_desc(rc));
		return -1;
	}
	INFO("  %u sessions (%u devices) derived in %.2f s; generator state %zu bytes per "
	     "session (2 devices x (%zu + %u x 4 ring))\n",
	     g->n_sess, g->n_dev, (double)(bp_now_us() - t0) / 1e6,
	     2 * (sizeof(struct lg_dev) + (size_t)g->ring_n * 4), sizeof(struct lg_dev), g->ring_n);
	return 0;
}

/*
 * Every device just moved its address, and the gateway's housekeeping writes
 * each moved address to Redis at its next pass (one Lua call per session):
 * with a million sessions that is minutes of redis-server on the core this
 * generator shares. A start-up transient (as after a gateway restart), not
 * the relay's steady state: wait, bounded, until the gateway's `persisted`
 * counter has stood still for 3 s (longer than a pass that met a Redis timeout and
 * waits for the next), and say how long it took.
 */
static void persist_settle(struct lg *g, uint64_t before)
{
	uint64_t t0 = bp_now_us(), last = before, still_since = t0;
	struct gw_stats s;

	while (!g_quit && bp_now_us() - t0 < 300000000ull) {
		rx_drain(g);
		usleep(100000);
		bp_stats_read(g->o.stats, &s);
		if (!s.ok)
			return;
		if (s.persisted != last) {
			last = s.persisted;
			still_since = bp_now_us();
		} else if (bp_now_us() - still_since >= 3000000) {
			break;
		}
	}
	INFO("  the gateway persisted %llu session marks and addresses in %.1f s before the "
	     "measurement\n",
	     (unsigned long long)(last - before), (double)(bp_now_us() - t0) / 1e6);
}

/* Every device sends one DATA_DELIVERED (next_e2e_seq 0): authentic and fresh,
 * it teaches the gateway the device's address and relays nothing. Paced, so
 * the gateway's RX ring keeps up. */
static void addresses_teach(struct lg *g)
{
	struct gw_stats s0, s1;
	uint64_t t0 = bp_now_us();

	bp_stats_read(g->o.stats, &s0);
	for (uint32_t d = 0; d < g->n_dev && !g_quit; d++) {
		delivered_send(g, d, 0);
		if (d % BURST == BURST - 1) {
			rx_drain(g);
			rte_delay_us_block(40);
		}
	}
	for (uint64_t t = bp_now_us() + 300000; bp_now_us() < t;)
		if (!rx_drain(g))
			usleep(100);
	INFO("  addresses: one DATA_DELIVERED from each of the %u devices in %.2f s", g->n_dev,
	     (double)(bp_now_us() - t0) / 1e6);
	if (s0.ok) {
		usleep(300000); /* the stats file is rewritten every 100 ms */
		bp_stats_read(g->o.stats, &s1);
		INFO(" (gateway delivered_in +%llu)",
		     (unsigned long long)(s1.delivered_in - s0.delivered_in));
	}
	INFO("\n");
	g->c.delivered_sent = 0;
	if (s0.ok)
		persist_settle(g, s0.persisted);
}

/* ---- the pool ----------------------------------------------------------------------------- */

static uint32_t draw_session(struct lg *g)
{
	if (!g->zipf_cdf)
		return (uint32_t)(rng_next(g) % g->n_sess);
	{
		double u = (double)(rng_next(g) >> 11) / 9007199254740992.0;
		uint32_t lo = 0, hi = g->n_sess - 1;

		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;

			if (g->zipf_cdf[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		return lo;
	}
}

static int zipf_build(struct lg *g)
{
	double sum = 0;

	g->zipf_cdf = malloc((size_t)g->n_sess * sizeof(double));
	if (!g->zipf_cdf)
		return -1;
	for (uint32_t k = 0; k < g->n_sess; k++) {
		sum += 1.0 / pow((double)k + 1, g->o.zipf_s);
		g->zipf_cdf[k] = sum;
	}
	for (uint32_t k = 0; k < g->n_sess; k++)
		g->zipf_cdf[k] /= sum;
	return 0;
}

static size_t frame_len_of(const struct lg *g, unsigned payload)
{
	size_t tag = sga_suite_get(g->p.suite)->tag_len,
	       htag = sga_suite_get(g->p.hop_suite)->tag_len;

	return DP_PKT_HDR_LEN + SGA_HOP_HDR_LEN + 8 + payload + tag + htag;
}

static void pool_free(struct lg *g)
{
	free(g->frames);
	free(g->pm_dev);
	free(g->pm_e2e);
	free(g->pm_first);
	free(g->pm_last);
	free(g->pm_tries);
	free(g->pm_flags);
	g->frames = NULL;
	g->pm_dev = g->pm_e2e = NULL;
	g->pm_first = g->pm_last = NULL;
	g->pm_tries = g->pm_flags = NULL;
}

/*
 * A measurement ends before its pool is spent: the e2e_seqs sealed into the
 * frames never sent go back to their devices, so the next pool goes on from
 * the first of them. A device numbers its messages without holes (PROTOCOL.md
 * 7.11a); a hole that never fills leaves its recipient's DATA_DELIVERED below
 * it for good, and the store then holds every later message of the session and
 * refuses new ones: the next payload size of the run stalled that way. The
 * hop seqs of the unsent frames stay spent (a hop window takes gaps).
 */
static void pool_unsent_return(struct lg *g)
{
	for (size_t i = g->n_pool; i-- > g->next;)
		if (!(g->pm_flags[i] & F_SENT))
			g->dev[g->pm_dev[i]].e2e_next =
			    g->pm_e2e[i]; /* the first unsent one wins */
}

/* Seal n DATA_UP frames of payload bytes (not timed). */
static int pool_build(struct lg *g, unsigned payload, size_t n)
{
	uint64_t t0 = bp_now_us();
	uint8_t plain[SGA_FRAME_MAX];

	g->payload = payload;
	g->frame_len = frame_len_of(g, payload);
	g->stride = (g->frame_len + 63) & ~(size_t)63;
	g->n_pool = n;
	payload_fill(g->msg, payload);
	g->frames = malloc(n * g->stride);
	g->pm_dev = malloc(n * sizeof(uint32_t));
	g->pm_e2e = malloc(n * sizeof(uint32_t));
	g->pm_first = calloc(n, sizeof(uint64_t));
	g->pm_last = calloc(n, sizeof(uint64_t));
	g->pm_tries = calloc(n, 1);
	g->pm_flags = calloc(n, 1);
	if (!g->frames || !g->pm_dev || !g->pm_e2e || !g->pm_first || !g->pm_last || !g->pm_tries ||
	    !g->pm_flags) {
		LOG("cannot allocate a pool of %zu frames (lower --frames or --pool-mb)\n", n);
		return -1;
	}
	for (uint32_t d = 0; d < g->n_dev; d++)
		g->dev[d].send_next = (uint32_t)g->dev[d].e2e_next;
	for (size_t i = 0; i < n && !g_quit; i++) {
		uint32_t sidx = draw_session(g),
		         d = 2 * sidx + (g->o.both ? (uint32_t)(rng_next(g) >> 63) : 0);
		struct lg_dev *v = &g->dev[d];
		struct sga_dev_sess *s = dev_load(g, d);
		uint8_t *f = g->frames + i * g->stride;
		struct dp_addr a;
		size_t len;
		int rc;

		s->hop_tx_seq = v->hop_even;
		s->e2e_tx_seq = v->e2e_next;
		msg_for(g, i, plain);
		rc = sga_dev_data_seal(s, plain, payload, f + DP_PKT_HDR_LEN, SGA_FRAME_MAX, &len);
		if (rc || len != g->frame_len - DP_PKT_HDR_LEN) {
			LOG("sealing DATA_UP %zu failed: %s\n", i,
			    rc ? sga_err_desc(rc) : "length");
			return -1;
		}
		dev_addr(g, d, &a);
		dp_pkt_udp_build(f, &a, &g->gw, g->ip_id++, len);
		g->pm_dev[i] = d;
		g->pm_e2e[i] = (uint32_t)v->e2e_next;
		v->e2e_next++;
		v->hop_even += 2;
	}
	if (g_quit)
		return -1;
	INFO("  sealed %zu DATA_UP frames of %zu bytes (%zu MB) in %.1f s\n", n, g->frame_len,
	     n * g->stride >> 20, (double)(bp_now_us() - t0) / 1e6);
	return 0;
}

/* ---- sending ------------------------------------------------------------------------------- */

/* Pool entry i into m: the sealed frame, or (copy) re-sealed under a fresh hop seq. */
static int entry_fill(struct lg *g, struct rte_mbuf *m, size_t i, int copy)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	uint32_t d = g->pm_dev[i];
	struct lg_dev *v = &g->dev[d];

	if (!copy) {
		memcpy(f, g->frames + i * g->stride, g->frame_len);
	} else {
		struct sga_dev_sess *s = dev_load(g, d);
		struct dp_addr a;
		size_t len;

		s->hop_tx_seq = hop_odd_take(v);
		s->e2e_tx_seq = (uint64_t)g->pm_e2e[i] + 1;
		uint8_t plain[SGA_FRAME_MAX];

		msg_for(g, i, plain);
		if (sga_dev_data_reseal(s, g->pm_e2e[i], plain, g->payload, f + DP_PKT_HDR_LEN,
		                        SGA_FRAME_MAX, &len))
			return -1;
		dev_addr(g, d, &a);
		dp_pkt_udp_build(f, &a, &g->gw, g->ip_id++, len);
	}
	m->data_len = (uint16_t)g->frame_len;
	m->pkt_len = (uint32_t)g->frame_len;
	return 0;
}

/* Hop seq of pool entry i as sealed (its frame's clear header). */
static uint64_t entry_hop(const struct lg *g, size_t i)
{
	return sga_hop_frame_seq(g->frames + i * g->stride + DP_PKT_HDR_LEN);
}

/* Send pend[0..k) completely (the receive side keeps running meanwhile). */
static void tx_all(struct lg *g, struct rte_mbuf **pend, unsigned k)
{
	unsigned off = 0;

	while (off < k && !g_quit) {
		uint16_t s = rte_eth_tx_burst(g->bp.port, 0, pend + off, (uint16_t)(k - off));

		off += s;
		if (!s)
			rx_drain(g);
	}
	if (off < k)
		rte_pktmbuf_free_bulk(pend + off, k - off);
	g->c.sent += off;
}

/* With a window: re-send, oldest first, the messages whose DATA_ACK is overdue. */
static void retx_due(struct lg *g, uint64_t now)
{
	struct rte_mbuf *pend[BURST];
	unsigned k = 0, looked = 0;
	size_t i;

	if (!g->o.window || now < g->next_check)
		return;
	while (g->base < g->end && (g->pm_flags[g->base] & F_ACKED))
		g->base++;
	/* Each pass goes on where the last one stopped, wrapping from the end
	 * back to the oldest unacknowledged entry: passes that always started
	 * at that entry never reached the ones more than RETX_SCAN beyond it
	 * while it stayed unacknowledged (a message the gateway kept refusing),
	 * and those were never sent again. */
	i = g->retx_at < g->base || g->retx_at >= g->end ? g->base : g->retx_at;
	for (; g->base < g->end && k < BURST && looked < RETX_SCAN; looked++, i++) {
		unsigned t;

		if (i >= g->end)
			i = g->base;
		t = g->pm_tries[i] < BACKOFF_MAX ? g->pm_tries[i] : BACKOFF_MAX;
		/* Not sent yet (its device waits), acknowledged, or not due: frames
		 * go out of pool order across devices, so no early stop by time. */
		if ((g->pm_flags[i] & (F_SENT | F_ACKED)) != F_SENT ||
		    g->pm_first[i] + g->rto > now || g->pm_last[i] + (g->rto << t) > now)
			continue;
		pend[k] = rte_pktmbuf_alloc(g->bp.pool);
		if (!pend[k])
			break;
		if (entry_fill(g, pend[k], i, 1)) {
			rte_pktmbuf_free(pend[k]);
			continue;
		}
		g->pm_last[i] = now;
		g->pm_tries[i]++;
		k++;
	}
	g->retx_at = i;
	g->next_check = now + (k == BURST ? 0 : g->rto / 8);
	if (k) {
		tx_all(g, pend, k);
		g->c.retx += k;
	}
}

/* May pool entry i go now: its device's next frame, within its window? */
static int entry_may_go(const struct lg *g, size_t i)
{
	uint32_t d = g->pm_dev[i], slot;

	if (g->pm_flags[i] & F_SENT)
		return 0;
	if (!g->o.window)
		return 1;
	if (g->pm_e2e[i] != g->dev[d].send_next)
		return 0; /* an older frame of this device waits: order within a device */
	slot = g->ring[(size_t)d * g->ring_n + g->pm_e2e[i] % g->ring_n];
	return !slot || (g->pm_flags[slot - 1] & F_ACKED);
}

/* Up to want fresh pool frames whose devices may send (each device in its own
 * order and window, under the in-flight cap), looking at most LOOKAHEAD
 * frames past the oldest unsent one; the number sent. */
static unsigned send_fresh(struct lg *g, unsigned want, uint64_t now)
{
	struct rte_mbuf *pend[BURST];
	size_t sel[BURST], i, stop = g->next + LOOKAHEAD;
	unsigned k = 0;

	if (g->n_pool - g->next < want)
		want = (unsigned)(g->n_pool - g->next);
	if (g->o.window && g->c.fresh - g->c.acked + want > g->o.max_inflight)
		want = g->c.fresh - g->c.acked >= g->o.max_inflight
		           ? 0
		           : (unsigned)(g->o.max_inflight - (g->c.fresh - g->c.acked));
	if (!want || rte_pktmbuf_alloc_bulk(g->bp.pool, pend, want))
		return 0;
	if (stop > g->n_pool)
		stop = g->n_pool;
	/* Claim as we pick (ring slot, send_next), so a device's next frame in
	 * the same batch sees this one. */
	for (i = g->next; i < stop && k < want; i++) {
		uint32_t d;

		if (!entry_may_go(g, i))
			continue;
		d = g->pm_dev[i];
		g->pm_flags[i] |= F_SENT;
		g->ring[(size_t)d * g->ring_n + g->pm_e2e[i] % g->ring_n] = (uint32_t)i + 1;
		g->dev[d].send_next++;
		sel[k++] = i;
	}
	if (k < want) {
		g->c.stalls++; /* every device in reach waits for a DATA_ACK */
		rte_pktmbuf_free_bulk(pend + k, want - k);
	}
	for (unsigned j = 0; j < k; j++) {
		uint32_t d = g->pm_dev[sel[j]];
		struct lg_dev *v = &g->dev[d];
		uint64_t hop = entry_hop(g, sel[j]);

		if (hop + HOP_BACK < v->hop_hi) {
			/* Copies took this device's hop seqs far above this frame's: the
			 * gateway might find it stale. Re-sealed, fresh. */
			if (entry_fill(g, pend[j], sel[j], 1))
				(void)entry_fill(g, pend[j], sel[j], 0);
		} else {
			(void)entry_fill(g, pend[j], sel[j], 0);
			if (hop > v->hop_hi)
				v->hop_hi = hop;
		}
		g->pm_first[sel[j]] = g->pm_last[sel[j]] = now;
		v->inflight++;
		if (sel[j] >= g->end)
			g->end = sel[j] + 1;
	}
	while (g->next < g->end && (g->pm_flags[g->next] & F_SENT))
		g->next++;
	tx_all(g, pend, k);
	g->c.fresh += k;
	return k;
}

/* ---- one measurement ------------------------------------------------------------------------ */

struct snap {
	uint64_t tsc;
	struct counts c;
};

static void progress(const struct lg *g, const struct snap *a, const struct snap *b, double t)
{
	double dt = (double)(b->tsc - a->tsc) / (double)g->hz;

	INFO("  [%5.1f s] offered %.0f msg/s, relayed %.0f, delivered %.0f, acked %.0f msg/s, "
	     "%.3f Gbit/s of payload%s\n",
	     t, (double)(b->c.fresh - a->c.fresh) / dt, (double)(b->c.down - a->c.down) / dt,
	     (double)(b->c.delivered - a->c.delivered) / dt, (double)(b->c.acked - a->c.acked) / dt,
	     (double)(b->c.delivered - a->c.delivered) * g->payload * 8 / dt / 1e9,
	     b->c.retx > a->c.retx ? " (re-sending)" : "");
	fflush(stdout);
}

static int measure(struct lg *g, unsigned payload)
{
	const uint64_t hz = g->hz;
	uint64_t t0, t_end, t_stop, t_next_print, t_last_rx;
	size_t n, cap;
	struct snap s_prev, s_now;
	struct gw_stats gs0, gs1;
	struct cpu_mark m0, m1;
	double win_s, tail_s, gen_cpu, dut_cpu;
	uint64_t unacked = 0, undelivered = 0;
	int rc = 0;

	g->frame_len = frame_len_of(g, payload);
	if (g->frame_len - DP_PKT_HDR_LEN > SGA_FRAME_MAX) {
		LOG("payload %u: a DATA_UP would exceed SGA_FRAME_MAX\n", payload);
		return -1;
	}
	cap = (size_t)g->o.pool_mb * 1024 * 1024 / (((g->frame_len + 63) & ~(size_t)63) + 26);
	n = g->o.frames ? g->o.frames
	    : g->o.rate ? (size_t)(g->o.rate * g->o.duration_s) + BURST
	                : 1000000;
	if (n > cap)
		n = cap;
	if (n > UINT32_MAX - 1)
		n = UINT32_MAX - 1;
	INFO("\npayload %u B: DATA_UP frame %zu B; %s, %s, window %u, %s\n", payload, g->frame_len,
	     g->o.rate ? "open loop" : "closed loop (max)", g->zipf_cdf ? "zipf" : "uniform",
	     g->o.window, g->o.both ? "both directions" : "initiator -> responder");
	if (pool_build(g, payload, n))
		return -1;
	memset(&g->c, 0, sizeof(g->c));
	memset(&g->h_down, 0, sizeof(g->h_down));
	memset(&g->h_ack, 0, sizeof(g->h_ack));
	memset(g->ring, 0, (size_t)g->n_dev * g->ring_n * sizeof(*g->ring));
	for (uint32_t d = 0; d < g->n_dev; d++)
		g->dev[d].inflight = 0;
	g->next = g->end = g->base = 0;
	g->next_check = 0;
	g->retx_at = 0;
	bp_stats_read(g->o.stats, &gs0);
	bp_cpu_mark_take(g->o.watch_pid, &m0);

	t0 = rte_rdtsc();
	t_end = t0 + (uint64_t)(g->o.duration_s * (double)hz);
	t_next_print = t0 + hz;
	s_prev.tsc = t0;
	s_prev.c = g->c;
	for (;;) {
		uint64_t now;
		unsigned want = g->o.burst;

		rx_drain(g);
		now = rte_rdtsc();
		delivered_due(g, now);
		if (now >= t_next_print) {
			s_now.tsc = now;
			s_now.c = g->c;
			progress(g, &s_prev, &s_now, (double)(now - t0) / (double)hz);
			s_prev = s_now;
			t_next_print += hz;
		}
		if (now >= t_end || g->next >= g->n_pool || g_quit)
			break;
		retx_due(g, now);
		if (g->o.rate) {
			double due = (double)(now - t0) / (double)hz * g->o.rate;

			if (due <= (double)g->c.fresh)
				continue;
			if (due - (double)g->c.fresh < want)
				want = (unsigned)(due - (double)g->c.fresh) + 1;
		}
		send_fresh(g, want, now);
	}
	t_stop = rte_rdtsc();
	bp_cpu_mark_take(g->o.watch_pid, &m1);
	s_now.tsc = t_stop;
	s_now.c = g->c; /* the window's figures */

	/* The tail: every message sent acknowledged (with a window: re-sent until
	 * it is, at most --tail s), then quiet for 300 ms (at most 3 s more). */
	t_last_rx = rte_rdtsc();
	for (;;) {
		uint64_t now = rte_rdtsc();

		if (rx_drain(g))
			t_last_rx = now;
		delivered_due(g, now);
		if (g->o.window && g->c.acked < g->c.fresh && !g_quit &&
		    now - t_stop < hz * g->o.tail_s) {
			retx_due(g, now);
			continue;
		}
		if (now - t_last_rx > hz * 3 / 10 || now - t_stop > hz * (g->o.tail_s + 3))
			break;
	}
	/* The last DATA_DELIVERED of every recipient that opened something since. */
	if (g->o.delivered)
		for (uint32_t d = 0; d < g->n_dev; d++)
			if (g->dev[d].since_delivered)
				delivered_send(g, d, g->dev[d].rx_cont);
	for (uint64_t t = rte_rdtsc() + hz / 5; rte_rdtsc() < t;)
		rx_drain(g);
	tail_s = (double)(rte_rdtsc() - t_stop) / (double)hz;
	for (size_t i = 0; i < g->end; i++) {
		if (!(g->pm_flags[i] & F_SENT))
			continue;
		unacked += !(g->pm_flags[i] & F_ACKED);
		undelivered += !(g->pm_flags[i] & F_DELIVERED);
	}
	if (g->o.stats) {
		usleep(400000); /* the gateway rewrites its stats file every 100 ms */
		bp_stats_read(g->o.stats, &gs1);
	}

	win_s = (double)(t_stop - t0) / (double)hz;
	gen_cpu = m1.gen_ns && win_s > 0 ? (double)(m1.gen_ns - m0.gen_ns) / 1e9 / win_s : -1;
	dut_cpu = m1.n_dut && m1.n_dut == m0.n_dut && win_s > 0
	              ? (double)(m1.dut_ns - m0.dut_ns) / 1e9 / win_s / m1.n_dut
	              : -1;
	{
		const struct counts *w = &s_now.c, *t = &g->c;
		double offered = (double)w->fresh / win_s, relayed = (double)w->down / win_s,
		       delivered = (double)w->delivered / win_s, acked = (double)w->acked / win_s;
		double gbps = delivered * payload * 8 / 1e9,
		       wire_gbps = relayed * (double)g->frame_len * 8 / 1e9;

		INFO("  window %.2f s%s: offered %llu DATA_UP (%.0f msg/s), %llu re-sent copies; "
		     "relayed %llu DATA_DOWN (%.0f msg/s), delivered %llu distinct (%.0f msg/s), "
		     "acked %llu (%.0f msg/s)\n",
		     win_s, g->next >= g->n_pool ? " (ended when the pool was spent)" : "",
		     (unsigned long long)w->fresh, offered, (unsigned long long)w->retx,
		     (unsigned long long)w->down, relayed, (unsigned long long)w->delivered,
		     delivered, (unsigned long long)w->acked, acked);
		INFO("  payload %.3f Gbit/s delivered; DATA_DOWN frames %.3f Gbit/s on the wire\n",
		     gbps, wire_gbps);
		INFO("  whole run (tail %.2f s): sent %llu frames (%llu re-sent), DATA_DOWN %llu "
		     "(opened %llu, again %llu, unmatched %llu), DATA_ACK %llu (again %llu), bad "
		     "%llu, "
		     "other %llu, DATA_DELIVERED sent %llu, window stalls %llu\n",
		     tail_s, (unsigned long long)t->sent, (unsigned long long)t->retx,
		     (unsigned long long)t->down, (unsigned long long)t->opened,
		     (unsigned long long)t->down_again, (unsigned long long)t->unmatched,
		     (unsigned long long)t->ack, (unsigned long long)t->ack_again,
		     (unsigned long long)t->bad, (unsigned long long)t->other,
		     (unsigned long long)t->delivered_sent, (unsigned long long)t->stalls);
		if (g->o.open_every > 1)
			INFO(
			    "  (--open-every %u: only the DATA_DOWN opened count as delivered; the "
			    "loss below counts the others too)\n",
			    g->o.open_every);
		INFO("  loss: %llu of %zu messages never delivered (%.3f%%), %llu never "
		     "acknowledged\n",
		     (unsigned long long)undelivered, (size_t)g->c.fresh,
		     g->c.fresh ? 100.0 * (double)undelivered / (double)g->c.fresh : 0.0,
		     (unsigned long long)unacked);
		INFO("  latency send -> DATA_DOWN (us): p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  "
		     "(%llu samples)\n",
		     hist_q(&g->h_down, 0.5) / 1e3, hist_q(&g->h_down, 0.99) / 1e3,
		     hist_q(&g->h_down, 0.999) / 1e3, (double)g->h_down.max / 1e3,
		     (unsigned long long)g->h_down.n);
		INFO("  latency send -> DATA_ACK  (us): p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  "
		     "(%llu samples)\n",
		     hist_q(&g->h_ack, 0.5) / 1e3, hist_q(&g->h_ack, 0.99) / 1e3,
		     hist_q(&g->h_ack, 0.999) / 1e3, (double)g->h_ack.max / 1e3,
		     (unsigned long long)g->h_ack.n);
		if (gen_cpu >= 0)
			INFO("  on a CPU during the window: generator %.0f%%%s\n", 100 * gen_cpu,
			     dut_cpu >= 0 ? "" : "");
		if (dut_cpu >= 0)
			INFO("  on a CPU during the window: gateway lcore %.0f%%\n", 100 * dut_cpu);
		if (gs0.ok && gs1.ok)
			INFO("  gateway counters (delta): data_in %llu, relayed %llu, ack_sent "
			     "%llu, "
			     "drops %llu, stored %llu, resent %llu, delivered_in %llu; sessions "
			     "installed %llu (lab %llu)\n",
			     (unsigned long long)(gs1.data_in - gs0.data_in),
			     (unsigned long long)(gs1.relayed - gs0.relayed),
			     (unsigned long long)(gs1.ack_sent - gs0.ack_sent),
			     (unsigned long long)(gs1.drops - gs0.drops),
			     (unsigned long long)(gs1.stored - gs0.stored),
			     (unsigned long long)(gs1.resent - gs0.resent),
			     (unsigned long long)(gs1.delivered_in - gs0.delivered_in),
			     (unsigned long long)gs1.sessions_installed,
			     (unsigned long long)gs1.lab_sessions);
		INFO("RESULT mode=loadgen sessions=%u dist=%s%.2g both=%d payload=%u frame=%zu "
		     "rate=%.0f window=%u window_s=%.3f messages=%zu offered=%llu retx=%llu "
		     "down_frames=%llu delivered=%llu acked=%llu undelivered=%llu unacked=%llu "
		     "bad=%llu offered_mps=%.0f relayed_mps=%.0f delivered_mps=%.0f acked_mps=%.0f "
		     "gbps=%.4f wire_gbps=%.4f down_p50_us=%.1f down_p99_us=%.1f down_p999_us=%.1f "
		     "down_max_us=%.1f ack_p50_us=%.1f ack_p99_us=%.1f ack_p999_us=%.1f "
		     "ack_max_us=%.1f state_bytes_per_session=%zu gen_cpu_pct=%.0f "
		     "dut_cpu_pct=%.0f gw_relayed=%lld gw_drops=%lld\n",
		     g->n_sess, g->zipf_cdf ? "zipf:" : "uniform", g->zipf_cdf ? g->o.zipf_s : 0.0,
		     g->o.both, payload, g->frame_len, g->o.rate, g->o.window, win_s,
		     (size_t)g->c.fresh, (unsigned long long)t->fresh, (unsigned long long)t->retx,
		     (unsigned long long)t->down, (unsigned long long)t->delivered,
		     (unsigned long long)t->acked, (unsigned long long)undelivered,
		     (unsigned long long)unacked, (unsigned long long)t->bad, offered, relayed,
		     delivered, acked, gbps, wire_gbps, hist_q(&g->h_down, 0.5) / 1e3,
		     hist_q(&g->h_down, 0.99) / 1e3, hist_q(&g->h_down, 0.999) / 1e3,
		     (double)g->h_down.max / 1e3, hist_q(&g->h_ack, 0.5) / 1e3,
		     hist_q(&g->h_ack, 0.99) / 1e3, hist_q(&g->h_ack, 0.999) / 1e3,
		     (double)g->h_ack.max / 1e3,
		     2 * (sizeof(struct lg_dev) + (size_t)g->ring_n * 4), 100 * gen_cpu,
		     100 * dut_cpu, gs0.ok && gs1.ok ? (long long)(gs1.relayed - gs0.relayed) : -1,
		     gs0.ok && gs1.ok ? (long long)(gs1.drops - gs0.drops) : -1);
	}
	fflush(stdout);
	pool_unsent_return(g);
	pool_free(g);
	return rc;
}

/* ---- provision ------------------------------------------------------------------------------- */

static int seed_from(const char *s, uint8_t seed[SGA_LAB_SEED_LEN])
{
	static const char label[] = "sga-loadgen seed";
	struct sga_buf parts[2] = {{label, sizeof(label) - 1}, {s, strlen(s)}};

	if (strlen(s) == 2 * SGA_LAB_SEED_LEN &&
	    !sga_hex_decode(s, strlen(s), seed, SGA_LAB_SEED_LEN))
		return 0;
	return sga_sha256(parts, 2, seed) ? -1 : 0;
}

static int cmd_provision(int argc, char **argv)
{
	enum { O_SESS = 256, O_OUT, O_SEED, O_SUITE, O_HOP, O_GROUP, O_FORCE };
	static const struct option lopts[] = {
	    {"sessions", required_argument, NULL, O_SESS},
	    {"out", required_argument, NULL, O_OUT},
	    {"seed", required_argument, NULL, O_SEED},
	    {"suite", required_argument, NULL, O_SUITE},
	    {"hop-suite", required_argument, NULL, O_HOP},
	    {"group", required_argument, NULL, O_GROUP},
	    {"force", no_argument, NULL, O_FORCE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct sga_lab_params p;
	const char *out = NULL, *seed = NULL;
	int force = 0, have_hop = 0, ch, rc;
	unsigned long v;

	memset(&p, 0, sizeof(p));
	p.suite = p.hop_suite = SGA_SUITE_AES128_GCM;
	p.group = SGA_GROUP_FFDHE2048;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (ch) {
		case O_SESS:
			if (bp_parse_ulong(optarg, 1, SGA_LAB_SESSIONS_MAX, &v)) {
				LOG("--sessions: 1..%u\n", SGA_LAB_SESSIONS_MAX);
				return 2;
			}
			p.sessions = (uint32_t)v;
			break;
		case O_OUT:
			out = optarg;
			break;
		case O_SEED:
			seed = optarg;
			break;
		case O_SUITE:
		case O_HOP: {
			const struct sga_suite_info *s = sga_suite_by_name(optarg);

			if (!s) {
				LOG("--%s: unknown suite '%s'\n",
				    ch == O_SUITE ? "suite" : "hop-suite", optarg);
				return 2;
			}
			if (ch == O_SUITE)
				p.suite = s->id;
			else
				p.hop_suite = s->id, have_hop = 1;
			break;
		}
		case O_GROUP: {
			const struct sga_group_info *gi = sga_group_by_name(optarg);

			if (!gi) {
				LOG("--group: unknown group '%s' (ffdhe2048 or ffdhe3072)\n",
				    optarg);
				return 2;
			}
			p.group = gi->id;
			break;
		}
		case O_FORCE:
			force = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'sga-loadgen --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		LOG("provision: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!p.sessions || !out) {
		LOG("provision needs --sessions N and --out FILE\n");
		return 2;
	}
	if (!have_hop)
		p.hop_suite = p.suite;
	if (seed ? seed_from(seed, p.seed) : sga_random_bytes(p.seed, sizeof(p.seed))) {
		LOG("cannot make the seed\n");
		return 1;
	}
	rc = sga_lab_file_write(out, &p, force);
	sga_memzero(&p.seed, sizeof(p.seed));
	if (rc) {
		LOG("%s: %s%s\n", out, strerror(-rc), rc == -EEXIST ? " (use --force)" : "");
		return 1;
	}
	INFO(PROG ": wrote %s: %u lab sessions (%s, hop %s, %s) - LAB ONLY\n", out, p.sessions,
	     sga_suite_get(p.suite)->name, sga_suite_get(p.hop_suite)->name,
	     sga_group_get(p.group)->name);
	return 0;
}

/* ---- options shared by run and pcap ------------------------------------------------------- */

enum {
	O_GW = 256,
	O_NET,
	O_RNG,
	O_RETX,
	O_INFLIGHT,
	O_OPEN,
	O_DELIV,
	O_DELIV_MS,
	O_BURST,
	O_TAIL,
	O_LINK,
	O_WATCH,
	O_LINGER,
	O_GWMAC,
	O_SRCMAC,
	O_NOLEARN,
};

static void opts_defaults(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->sizes[0] = 64;
	o->n_sizes = 1;
	o->duration_s = 5;
	o->window = 8;
	o->max_inflight = 512;
	o->retx_ms = 200;
	o->open_every = 1;
	o->delivered = 16;
	o->delivered_ms = 20;
	o->pool_mb = 2048;
	o->burst = BURST;
	o->tail_s = 10;
	o->link_timeout_s = 10;
	o->seed = 1;
	inet_pton(AF_INET, "10.77.0.1", &o->gw_ip);
	inet_pton(AF_INET, "10.77.0.0", &o->net);
	o->gw_port = htons(7000);
}

/* The options both commands take: 0 taken, -1 bad value (reported), 1 not one. */
static int opt_common(struct opts *o, int ch, const char *arg)
{
	unsigned long v;

	switch (ch) {
	case 'L':
		o->lab = arg;
		return 0;
	case 'N':
		return bp_opt_uint(PROG, "sessions", arg, 1, SGA_LAB_SESSIONS_MAX, NULL,
		                   &o->sessions);
	case 'd':
		if (!strcmp(arg, "uniform")) {
			o->zipf_s = 0;
			return 0;
		}
		if (!strncmp(arg, "zipf:", 5) && !bp_parse_seconds(arg + 5, 0.1, 3, &o->zipf_s))
			return 0;
		LOG("--dist: uniform or zipf:S with S in 0.1..3 (e.g. zipf:1.0)\n");
		return -1;
	case 'b':
		o->both = 1;
		return 0;
	case O_GW:
		if (!bp_parse_ipport(arg, &o->gw_ip, &o->gw_port))
			return 0;
		LOG("--gateway: IPv4:PORT expected, got '%s'\n", arg);
		return -1;
	case O_NET:
		if (inet_pton(AF_INET, arg, &o->net) == 1)
			return 0;
		LOG("--net: an IPv4 address expected, got '%s'\n", arg);
		return -1;
	case O_RNG:
		if (bp_opt_ulong(PROG, "rng-seed", arg, 1, ~0ul, NULL, &v))
			return -1;
		o->seed = v;
		return 0;
	default:
		return 1;
	}
}

/* The provisioning file and how many of its sessions; fills g->p, g->n_sess.
 * 0, or 2 (reported). */
static int lab_open(struct lg *g)
{
	char err[512];

	if (sga_lab_file_read(g->o.lab, &g->p, err, sizeof(err))) {
		LOG("%s\n", err);
		return 2;
	}
	g->n_sess = g->o.sessions ? g->o.sessions : g->p.sessions;
	if (g->n_sess > g->p.sessions) {
		LOG("--sessions %u: %s provisions only %u\n", g->n_sess, g->o.lab, g->p.sessions);
		return 2;
	}
	dp_addr_set_ipv4(&g->gw, g->o.gw_ip);
	g->gw.port = g->o.gw_port;
	g->rng = g->o.seed * 0x9E3779B97F4A7C15ull | 1;
	return 0;
}

/* Everything run and pcap allocated; the secrets wiped. */
static void lg_free(struct lg *g)
{
	pool_free(g);
	if (g->dev)
		sga_memzero(g->dev, (size_t)g->n_dev * sizeof(*g->dev));
	free(g->dev);
	free(g->ring);
	free(g->dq_dev);
	free(g->dq_tsc);
	free(g->zipf_cdf);
	g->dev = NULL;
	g->ring = g->dq_dev = NULL;
	g->dq_tsc = NULL;
	g->zipf_cdf = NULL;
	sga_dev_sess_wipe(&g->scratch);
	sga_memzero(&g->p, sizeof(g->p));
}

/* ---- pcap (sga-pcapgen) ----------------------------------------------------------------- */

/* A MAC "aa:bb:cc:dd:ee:ff". 0 or -1. */
static int parse_mac(const char *arg, uint8_t mac[6])
{
	unsigned m[6];
	char tail;

	if (sscanf(arg, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5],
	           &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)m[i];
	return 0;
}

static int pcap_put(FILE *f, const uint8_t *frame, size_t len, uint64_t t_us)
{
	uint8_t pad[64] = {0};
	uint32_t h[4] = {(uint32_t)(t_us / 1000000), (uint32_t)(t_us % 1000000), 0, 0};
	size_t wire = len < 60 ? 60 : len; /* the Ethernet minimum, without FCS */

	h[2] = h[3] = (uint32_t)wire;
	return fwrite(h, sizeof(h), 1, f) == 1 && fwrite(frame, 1, len, f) == len &&
	               (wire == len || fwrite(pad, 1, wire - len, f) == wire - len)
	           ? 0
	           : -1;
}

/*
 * sga-pcapgen (or sga-loadgen pcap): the same lab devices and DATA_UP frames as
 * a measurement's pool, written to a pcap for a replaying generator
 * (Pktgen-DPDK, dpdk-testpmd with net_pcap): first one DATA_DELIVERED per
 * device (the gateway learns every member's address), then the DATA_UP
 * frames. Every frame is fresh once; a replay that loops repeats hop
 * sequence numbers: the gateway acknowledges such an authentic repeat again
 * without relaying it (duplicate; drop_hop_replay once it is below the hop
 * window), unless its lab mode [lab] hop_replay_window = off takes every
 * authentic frame as new (docs/OPERATIONS.md, "Lab profile").
 */
static int cmd_pcap(int argc, char **argv)
{
	static const struct option lopts[] = {
	    {"lab", required_argument, NULL, 'L'},
	    {"sessions", required_argument, NULL, 'N'},
	    {"frames", required_argument, NULL, 'n'},
	    {"size", required_argument, NULL, 's'},
	    {"dist", required_argument, NULL, 'd'},
	    {"both-directions", no_argument, NULL, 'b'},
	    {"out", required_argument, NULL, 'o'},
	    {"gateway", required_argument, NULL, O_GW},
	    {"gw-mac", required_argument, NULL, O_GWMAC},
	    {"src-mac", required_argument, NULL, O_SRCMAC},
	    {"net", required_argument, NULL, O_NET},
	    {"no-learn", no_argument, NULL, O_NOLEARN},
	    {"rng-seed", required_argument, NULL, O_RNG},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const char help[] =
	    "Usage: sga-pcapgen --lab FILE --gw-mac MAC --out FILE.pcap [OPTIONS]\n"
	    "A pcap of valid DATA_UP frames from the devices of lab sessions (LAB ONLY), for\n"
	    "a replaying generator: one DATA_DELIVERED per device first (the gateway learns\n"
	    "their addresses; --no-learn: none), then the DATA_UP frames, each fresh once.\n"
	    "  -L, --lab FILE      the provisioning file the gateway provisioned\n"
	    "  -N, --sessions N    the first N sessions (default all)\n"
	    "  -n, --frames N      DATA_UP frames (default 100000)\n"
	    "  -s, --size B        payload bytes (default 64)\n"
	    "  -d, --dist D        uniform (default) or zipf:S\n"
	    "  -b, --both-directions  either member sends\n"
	    "      --gw-mac MAC    the gateway port's MAC (required: it takes unicast only;\n"
	    "                      give its memif port one, e.g. mac=02:53:47:41:00:01)\n"
	    "      --src-mac MAC   the devices' MAC (default 02:53:47:41:00:02)\n"
	    "      --gateway IP:PORT  (default 10.77.0.1:7000)\n"
	    "      --net IP        device addresses as sga-loadgen (default 10.77.0.0)\n"
	    "      --rng-seed N    seed of the session draw (default 1)\n";
	struct lg *g = &g_lg;
	const char *out = NULL;
	unsigned long frames = 100000;
	unsigned size = 64;
	int learn = 1, have_gw_mac = 0, ch, rc = 1;
	FILE *f = NULL;
	uint64_t t_us = 0;

	opts_defaults(&g->o);
	parse_mac("02:53:47:41:00:02", g->bp.mac);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "L:N:n:s:d:bo:h", lopts, NULL)) != -1) {
		int c = opt_common(&g->o, ch, optarg);

		if (c < 0)
			return 2;
		if (c == 0)
			continue;
		switch (ch) {
		case 'n':
			if (bp_opt_ulong(PROG, "frames", optarg, 1, 100000000, NULL, &frames))
				return 2;
			break;
		case 's':
			if (bp_opt_uint(PROG, "size", optarg, 1, SGA_FRAME_MAX, "bytes", &size))
				return 2;
			break;
		case 'o':
			out = optarg;
			break;
		case O_GWMAC:
		case O_SRCMAC:
			if (parse_mac(optarg, ch == O_GWMAC ? g->gw.mac : g->bp.mac)) {
				LOG("--%s: aa:bb:cc:dd:ee:ff expected\n",
				    ch == O_GWMAC ? "gw-mac" : "src-mac");
				return 2;
			}
			have_gw_mac |= ch == O_GWMAC;
			break;
		case O_NOLEARN:
			learn = 0;
			break;
		case 'h':
			fputs(help, stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'sga-pcapgen --help'.\n");
			return 2;
		}
	}
	if (optind < argc || !g->o.lab || !out || !have_gw_mac) {
		LOG("needs --lab FILE, --gw-mac MAC and --out FILE (see --help)\n");
		return 2;
	}
	if ((rc = lab_open(g)))
		return rc;
	rc = 1;
	if (frame_len_of(g, size) - DP_PKT_HDR_LEN > SGA_FRAME_MAX) {
		LOG("--size %u: a DATA_UP would exceed SGA_FRAME_MAX\n", size);
		return 2;
	}
	if (devices_build(g) || (g->o.zipf_s > 0 && zipf_build(g)) || pool_build(g, size, frames))
		goto out;
	f = fopen(out, "wb");
	if (!f) {
		LOG("%s: %s\n", out, strerror(errno));
		goto out;
	}
	{
		/* pcap global header: microseconds, version 2.4, Ethernet */
		uint32_t gh[6] = {0xa1b2c3d4, 2 | 4u << 16, 0, 0, 65535, 1};

		if (fwrite(gh, sizeof(gh), 1, f) != 1)
			goto out_io;
	}
	for (uint32_t d = 0; learn && d < g->n_dev; d++) {
		uint8_t fr[DP_PKT_HDR_LEN + 64];
		size_t len = delivered_build(g, d, 0, fr, sizeof(fr));

		if (!len || pcap_put(f, fr, len, t_us++))
			goto out_io;
	}
	for (size_t i = 0; i < g->n_pool; i++)
		if (pcap_put(f, g->frames + i * g->stride, g->frame_len, t_us++))
			goto out_io;
	if (fclose(f)) {
		f = NULL;
		goto out_io;
	}
	f = NULL;
	INFO(PROG ": wrote %s: %u DATA_DELIVERED (one per device) + %zu DATA_UP of %u payload "
	          "bytes (%zu-byte frames) for %u lab sessions - LAB ONLY\n",
	     out, learn ? g->n_dev : 0, g->n_pool, size, g->frame_len < 60 ? 60 : g->frame_len,
	     g->n_sess);
	rc = 0;
	goto out;
out_io:
	LOG("%s: write failed: %s\n", out, strerror(errno));
out:
	if (f)
		fclose(f);
	lg_free(g);
	return rc;
}

/* ---- run ---------------------------------------------------------------------------------------- */

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
	    {"lab", required_argument, NULL, 'L'},
	    {"sessions", required_argument, NULL, 'N'},
	    {"rate", required_argument, NULL, 'r'},
	    {"dist", required_argument, NULL, 'd'},
	    {"sizes", required_argument, NULL, 's'},
	    {"duration", required_argument, NULL, 't'},
	    {"both-directions", no_argument, NULL, 'b'},
	    {"window", required_argument, NULL, 'w'},
	    {"retx-ms", required_argument, NULL, O_RETX},
	    {"max-inflight", required_argument, NULL, O_INFLIGHT},
	    {"open-every", required_argument, NULL, O_OPEN},
	    {"delivered", required_argument, NULL, O_DELIV},
	    {"delivered-ms", required_argument, NULL, O_DELIV_MS},
	    {"frames", required_argument, NULL, 'n'},
	    {"pool-mb", required_argument, NULL, 'M'},
	    {"gateway", required_argument, NULL, O_GW},
	    {"net", required_argument, NULL, O_NET},
	    {"stats", required_argument, NULL, 'S'},
	    {"burst", required_argument, NULL, O_BURST},
	    {"tail", required_argument, NULL, O_TAIL},
	    {"link-timeout", required_argument, NULL, O_LINK},
	    {"watch-pid", required_argument, NULL, O_WATCH},
	    {"linger", required_argument, NULL, O_LINGER},
	    {"rng-seed", required_argument, NULL, O_RNG},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	unsigned pid = 0;
	int ch, bad = 0;

	opts_defaults(o);
	optind = 1;
	while (!bad &&
	       (ch = getopt_long(argc, argv, "L:N:r:d:s:t:bw:n:M:S:h", lopts, NULL)) != -1) {
		int c = opt_common(o, ch, optarg);

		if (c <= 0) {
			bad = c < 0;
			continue;
		}
		switch (ch) {
		case 'r':
			if (!strcmp(optarg, "max"))
				o->rate = 0;
			else if ((bad = bp_parse_seconds(optarg, 1, 1e9, &o->rate)))
				LOG("--rate: messages per second (1..1e9) or max\n");
			break;
		case 's':
			if ((bad = bp_parse_sizes(optarg, o->sizes, &o->n_sizes, MAX_SIZES,
			                          SGA_FRAME_MAX)))
				LOG("--sizes: a list of 1..%d sizes of 1..%d bytes\n", MAX_SIZES,
				    SGA_FRAME_MAX);
			break;
		case 't':
			if ((bad = bp_parse_seconds(optarg, 0.1, 3600, &o->duration_s)))
				LOG("--duration: 0.1..3600 seconds\n");
			break;
		case 'w':
			bad = bp_opt_uint(PROG, "window", optarg, 0, WIN_MAX, NULL, &o->window);
			break;
		case O_RETX:
			bad = bp_opt_uint(PROG, "retx-ms", optarg, 1, 10000, NULL, &o->retx_ms);
			break;
		case O_INFLIGHT:
			bad = bp_opt_uint(PROG, "max-inflight", optarg, 1, 1000000, NULL,
			                  &o->max_inflight);
			break;
		case O_OPEN:
			bad = bp_opt_uint(PROG, "open-every", optarg, 1, 1000000, NULL,
			                  &o->open_every);
			break;
		case O_DELIV:
			bad =
			    bp_opt_uint(PROG, "delivered", optarg, 0, 1000000, NULL, &o->delivered);
			break;
		case O_DELIV_MS:
			bad = bp_opt_uint(PROG, "delivered-ms", optarg, 1, 10000, NULL,
			                  &o->delivered_ms);
			break;
		case 'n':
			bad = bp_opt_ulong(PROG, "frames", optarg, 1, 1000000000, NULL, &o->frames);
			break;
		case 'M':
			bad = bp_opt_ulong(PROG, "pool-mb", optarg, 1, 1048576, NULL, &o->pool_mb);
			break;
		case 'S':
			o->stats = optarg;
			break;
		case O_BURST:
			bad = bp_opt_uint(PROG, "burst", optarg, 1, BURST, NULL, &o->burst);
			break;
		case O_TAIL:
			bad = bp_opt_uint(PROG, "tail", optarg, 1, 3600, "seconds", &o->tail_s);
			break;
		case O_LINK:
			bad = bp_opt_uint(PROG, "link-timeout", optarg, 1, 3600, "seconds",
			                  &o->link_timeout_s);
			break;
		case O_WATCH:
			bad = bp_opt_uint(PROG, "watch-pid", optarg, 1, 4194304, "(a process id)",
			                  &pid);
			o->watch_pid = (pid_t)pid;
			break;
		case O_LINGER:
			bad = bp_opt_uint(PROG, "linger", optarg, 1, 3600, "seconds", &o->linger_s);
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			fprintf(stderr, "Try 'sga-loadgen --help'.\n");
			return 2;
		}
	}
	if (bad)
		return 2;
	if (optind < argc) {
		LOG("unexpected argument '%s' (EAL options go after '--')\n", argv[optind]);
		return 2;
	}
	if (!o->lab) {
		LOG("--lab FILE is required (write one with: sga-loadgen provision --sessions N "
		    "--out FILE)\n");
		return 2;
	}
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	struct lg *g = &g_lg;
	int app_argc, ret = 1, eal_argc, rc;
	char **eal_argv, ip[INET_ADDRSTRLEN];

	eal_argv = bp_eal_args(argc, argv, &app_argc, &eal_argc);
	if (!eal_argv)
		return 1;
	rc = parse_args(app_argc, argv, &g->o);
	if (!rc)
		rc = lab_open(g);
	if (!rc && (uint64_t)2 * g->n_sess / PORTS_PER_IP + 3 > 255 - (ntohl(g->o.net) & 0xff)) {
		LOG("--net: not enough addresses above %s for %u devices\n",
		    bp_ip_str(g->o.net, ip), 2 * g->n_sess);
		rc = 2;
	}
	if (rc) {
		free(eal_argv);
		sga_memzero(&g->p, sizeof(g->p));
		return rc == 1 ? 0 : rc;
	}
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		LOG("EAL initialisation failed: %s\n", rte_strerror(rte_errno));
		free(eal_argv);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	g->hz = rte_get_tsc_hz();
	g->ns_per_cycle = 1e9 / (double)g->hz;
	g->rto = g->hz * g->o.retx_ms / 1000;
	g->dq_delay = g->hz * g->o.delivered_ms / 1000;
	memset(g->gw.mac, 0xff, 6);

	INFO(PROG ": LAB load: %u of the %u sessions of %s (%s, hop %s) - LAB ONLY\n", g->n_sess,
	     g->p.sessions, g->o.lab, sga_suite_get(g->p.suite)->name,
	     sga_suite_get(g->p.hop_suite)->name);
	if (bp_port_start(&g->bp, PROG, N_MBUFS, N_DESC, g->o.link_timeout_s, &g_quit))
		goto out;
	if (devices_build(g) || (g->o.zipf_s > 0 && zipf_build(g)))
		goto out_port;
	if (arp_gateway(g))
		goto out_port;
	addresses_teach(g);
	for (unsigned i = 0; i < g->o.n_sizes; i++)
		if (g_quit || measure(g, g->o.sizes[i]))
			goto out_port;
	if (g->arp_answered)
		INFO("ARP requests answered: %llu\n", (unsigned long long)g->arp_answered);
	ret = g_quit ? 1 : 0;
	if (!g_quit && g->o.linger_s)
		bp_linger(PROG, g->o.linger_s, &g_quit);
out_port:
	if (g_quit)
		LOG("interrupted: traffic stopped and drained before the port closes\n");
	bp_port_stop(&g->bp);
out:
	lg_free(g);
	rte_eal_cleanup();
	free(eal_argv);
	return ret;
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');

	setvbuf(stdout, NULL, _IOLBF, 0); /* progress shows as it happens, also in a log */
	if (!strcmp(base ? base + 1 : argv[0], "sga-pcapgen"))
		return cmd_pcap(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "pcap"))
		return cmd_pcap(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "provision"))
		return cmd_provision(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	return cmd_run(argc, argv);
}
