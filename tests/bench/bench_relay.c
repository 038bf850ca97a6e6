/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_relay.c - sga-bench-relay: relay throughput of the gateway's data plane,
 * measured from a DPDK load generator on the other end of its port (a memif
 * client on the gateway's memif server socket), next to a plain forwarder
 * (dpdk-testpmd io forwarding) on the same path. A benchmark, not a test: it
 * asserts nothing and is not run by `meson test`; tests/bench/bench_relay.sh
 * runs it twice (gateway, then testpmd) and prints the ratio.
 *
 * SGA mode (default): the generator plays two devices with one MAC and IPv4
 * address and two UDP ports. It resolves the gateway's MAC by ARP, registers
 * both devices, negotiates a session between them and runs the key exchange,
 * all over the port with Eth/IPv4/UDP framing (control frames retransmitted on
 * a timeout, bounded tries), then checks one message each way end to end. For
 * each payload size it pre-generates a pool of DATA_UP frames from device 1 to
 * device 2 (each with its own hop sequence number, so the AEAD cost is paid
 * before the clock starts), sends them in bursts for a fixed time or until the
 * pool is spent, and counts the DATA_DOWN frames that come back to device 2 and
 * the DATA_ACK frames to device 1 by their type byte (a sample is opened and
 * checked). The gateway's stats file, read before and after, cross-checks the
 * counts. Traffic stops and the tail is drained before the port disconnects
 * (DPDK 22.11's memif PMD may crash a peer that loses its partner under load).
 *
 * With --window N device 1 sends as the device SDK does, which a gateway with
 * its store needs (it acknowledges a message only once stored, and refuses the
 * messages behind one it could not store until that one comes again): at most
 * N messages without their DATA_ACK (each DATA_ACK is opened for its e2e_seq),
 * and a message whose DATA_ACK has not come within --retx-ms (doubled with
 * each copy) is sent again, re-sealed into an mbuf at that moment: the same
 * e2e_seq and E2E ciphertext under a fresh hop sequence number. The pool's frames then use every other
 * hop sequence number, so that the odd ones in between are fresh ones for the
 * copies, close to the pool's (the gateway's hop window is 960 wide). The tail
 * goes on re-sending until every message sent is acknowledged: a refused one
 * left behind would block the next measurement's messages.
 *
 * Raw mode (--raw): the same frame sizes without the protocol, for a forwarder
 * that sends every frame back (testpmd --forward-mode=io); every returned frame
 * counts.
 *
 * Each measurement prints a human-readable block and one "RESULT key=value ..."
 * line for scripts.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "bench_port.h"
#include "dp_pkt.h"
#include "sga_device.h"
#include "sga_err.h"
#include "sga_hop.h"
#include "sga_wire.h"

#define BENCH_BURST        32
#define BENCH_MAX_SIZES    8
#define BENCH_MBUFS        8191
#define BENCH_DESC         1024
#define RAW_POOL_FRAMES    4096
#define VERIFY_EVERY       65536
#define CALIBRATION_FRAMES 262144
#define CALIBRATION_MAX_S  2 /* a slow path (a store) ends it before the pool does */
/* --window at most: the gateway's store relays at once what is within 384 of a
 * recipient's oldest held message, with room for a sender's window of up to
 * 512 arriving out of order (dataplane/dp_store.h, DP_STORE_HOLD_AHEAD). */
#define WIN_MAX 512 /* usage() says 1..512 */
/* Re-sealed copies take a hop sequence number at most this far below the
 * highest one sent, and a pool frame this far below it (the gateway's hop
 * window keeps SGA_REPLAY_WINDOW - 64 = 960) is re-sealed before it goes. */
#define WIN_HOP_BACK  512
#define WIN_HOP_STALE 896
#define WIN_TAIL_S    10 /* the tail waits at most this long for DATA_ACKs (usage()) */
/* A message's timeout doubles with each retransmission, up to --retx-ms << 6
 * (as the device SDK backs off): while the gateway's disk stalls, each copy of
 * a message stored but not yet durable queues one more DATA_ACK there. */
#define WIN_BACKOFF_MAX 6

#define LOG(...)  fprintf(stderr, "sga-bench-relay: " __VA_ARGS__)
#define INFO(...) printf(__VA_ARGS__)

static volatile sig_atomic_t g_quit;

static void on_signal(int sig)
{
	(void)sig;
	g_quit = 1;
}

/* ---- options ------------------------------------------------------------------ */

struct opts {
	const char *package;
	const char *stats;
	int raw;
	unsigned sizes[BENCH_MAX_SIZES], n_sizes;
	double duration_s, warmup_s;
	unsigned long frames; /* 0: as many as pool_mb allows */
	unsigned long pool_mb;
	uint8_t suite;
	uint32_t gw_ip, dev_ip; /* network order */
	int ipv6;               /* --ipv6: the SGA traffic over IPv6 (ARP still finds the MAC) */
	uint8_t gw_ip6[16], dev_ip6[16];
	uint16_t gw_port, dev_port[2];
	char id[2][SGA_ID_MAX + 1];
	unsigned rto_ms, tries, link_timeout_s, burst;
	pid_t watch_pid;    /* the forwarder's process: its lcore threads' CPU share */
	unsigned linger_s;  /* after the measurements, keep the port open this long */
	unsigned delivered; /* DATA_DELIVERED every N DATA_DOWN (0: never) */
	int open_all;       /* device 2 opens every DATA_DOWN (store and forward) */
	unsigned window;    /* device 1's unacknowledged DATA_UP at most (0: no window) */
	unsigned retx_ms;   /* with a window: re-send a message unacknowledged this long */
	int verbose;
};

static void usage(FILE *f)
{
	static const char text[] =
	    "Usage: sga-bench-relay [OPTIONS] -- EAL_OPTIONS\n"
	    "Relay throughput of an SGA gateway's data plane on its port, seen from a DPDK\n"
	    "load generator on the other end (e.g. a memif client), or (--raw) the same frame\n"
	    "sizes through a plain forwarder such as dpdk-testpmd --forward-mode=io.\n"
	    "The generator runs on the EAL main lcore and uses the first ethdev port.\n"
	    "\n"
	    "  -P, --package FILE     the gateway package file (its [gateway] package);\n"
	    "                         required unless --raw\n"
	    "  -S, --stats FILE       the gateway's stats_file: its counters are read before\n"
	    "                         and after each measurement as a cross-check\n"
	    "      --raw              no protocol: Eth/IPv4/UDP frames of the same sizes; every\n"
	    "                         frame that comes back counts\n"
	    "  -s, --sizes LIST       payload sizes in bytes, comma separated (default 64,1024)\n"
	    "  -t, --duration S       measured seconds per size (default 5)\n"
	    "  -w, --warmup S         seconds of traffic before the measurement (default 0.5)\n"
	    "  -n, --frames N         DATA_UP frames pre-generated per size (default: enough for\n"
	    "                         the warm-up and the duration at the rate a short\n"
	    "                         calibration run reaches, within --pool-mb); a\n"
	    "                         measurement ends early when they run out\n"
	    "  -M, --pool-mb MB       memory for the pre-generated frames (default 1536)\n"
	    "      --suite NAME       hop suite of both devices and the E2E suite they propose:\n"
	    "                         aes-128-gcm (default), aes-256-gcm, chacha20-poly1305,\n"
	    "                         aes-128-ccm8, ascon-aead128; with --raw it sets the\n"
	    "                         frame sizes\n"
	    "      --delivered N      device 2 sends a DATA_DELIVERED every N DATA_DOWN frames\n"
	    "                         (default 16, as the protocol says; 0: never)\n"
	    "      --open-all         device 2 opens every DATA_DOWN and reports delivery up\n"
	    "                         to its first missing message (given up, as the device\n"
	    "                         SDK does, once its E2E window has moved past it), as a\n"
	    "                         device must when the gateway stores and re-sends; costs\n"
	    "                         the generator one AEAD open per message. Default: only\n"
	    "                         a sample, and delivery up to the first gap in hop\n"
	    "                         sequence numbers\n"
	    "      --window N         device 1 keeps at most N DATA_UP (1..512) sent without\n"
	    "                         their DATA_ACK, and sends a message again when its\n"
	    "                         DATA_ACK has not come within --retx-ms: re-sealed with\n"
	    "                         a fresh hop sequence number, the same e2e_seq and E2E\n"
	    "                         ciphertext, as the device SDK does. A gateway with its\n"
	    "                         store needs it: it acknowledges a message once stored\n"
	    "                         and refuses the ones behind a message it could not\n"
	    "                         store until that one comes again. Each DATA_ACK is\n"
	    "                         opened (one AEAD open); the tail re-sends until every\n"
	    "                         message sent is acknowledged (at most 10 s). Default 0:\n"
	    "                         no window, each frame sent once at full rate. Ignored\n"
	    "                         with --raw. Above about 384 it outruns the store's\n"
	    "                         delivery window: messages are held and re-sent later\n"
	    "      --retx-ms N        with --window: the retransmission timeout, 1..10000 ms\n"
	    "                         (default 50); it doubles with each retransmission of\n"
	    "                         the same message, up to 64 x N, as the SDK backs off\n"
	    "      --gateway IP:PORT  the gateway's address (default 10.77.0.1:7000)\n"
	    "      --ip IP            the devices' IPv4 address (default 10.77.0.2)\n"
	    "      --ipv6             the SGA frames over IPv6, devices fd00:77::2 to the\n"
	    "                         gateway's fd00:77::1 (it needs [gateway] address6 =\n"
	    "                         fd00:77::1; its MAC is still found by ARP on --gateway)\n"
	    "      --ports A,B        UDP ports of device 1 (sender) and device 2 (receiver)\n"
	    "                         (default 5001,5002)\n"
	    "      --ids ID1,ID2      device identities (default bench-dev-1,bench-dev-2)\n"
	    "      --rto-ms N         first retransmission timeout of control frames\n"
	    "                         (default 500; doubles up to 4000)\n"
	    "      --tries N          transmissions of a control step before giving up\n"
	    "                         (default 6)\n"
	    "      --link-timeout S   seconds to wait for the port's link, i.e. for the memif\n"
	    "                         peer (default 10)\n"
	    "      --burst N          frames per tx burst, 1..32 (default 32)\n"
	    "      --watch-pid PID    the forwarder's process (gateway or testpmd): report the\n"
	    "                         share of each window its EAL worker threads spent on a\n"
	    "                         CPU, next to the generator's own share\n"
	    "      --linger S         after the last measurement, keep the port open without\n"
	    "                         polling it until SIGINT/SIGTERM (at most S seconds), so\n"
	    "                         that the peer can stop first (DPDK 22.11's memif PMD may\n"
	    "                         crash a side that polls while its peer disconnects); a\n"
	    "                         line starting \"sga-bench-relay: done;\" says when\n"
	    "  -v, --verbose          log control frames\n"
	    "  -h, --help             this text\n"
	    "\n"
	    "Example (the gateway's port = net_memif0,role=server,socket=/tmp/m.sock,id=0):\n"
	    "  sga-bench-relay -P run/keys/gateway.pkg -S run/stats.json -- -l 0 --no-pci \\\n"
	    "      --file-prefix gen --vdev=net_memif0,role=client,socket=/tmp/m.sock,id=0\n"
	    "\n"
	    "Exit status: 0 when every measurement ran; 1 on a failure (no port, link down,\n"
	    "gateway not answering, protocol error); 2 on bad usage.\n";

	fputs(text, f);
}

static int parse_pair(const char *arg, char *a, char *b, size_t cap)
{
	const char *comma = strchr(arg, ',');
	size_t la;

	if (!comma)
		return -1;
	la = (size_t)(comma - arg);
	if (la == 0 || la >= cap || strlen(comma + 1) == 0 || strlen(comma + 1) >= cap)
		return -1;
	memcpy(a, arg, la);
	a[la] = '\0';
	strcpy(b, comma + 1);
	return 0;
}

/* ---- state ---------------------------------------------------------------------- */

struct bench_dev {
	struct sga_dev dev;
	struct sga_dev_sess sess;
	struct dp_addr addr; /* our MAC, the devices' IP, this device's port */
	uint8_t reg[SGA_FRAME_MAX];
	size_t reg_len;
	uint8_t ctl[2][SGA_FRAME_MAX]; /* frames re-sent by the current step */
	size_t ctl_len[2];
	unsigned n_ctl;
};

struct counts {
	uint64_t sent, down, ack, back, other;
	uint64_t retx; /* --window: of sent, re-sealed copies of a message sent before */
};

/*
 * --window: device 1's sender window over the pool. Pool message i carries
 * e2e_seq e2e_base + i and hop sequence number hop_base + 2i; re-sealed copies
 * take the odd ones in between (hop_base + 2q + 1, q rising), so a copy's hop
 * seq is always fresh and stays near the pool's (WIN_HOP_BACK).
 */
struct sender_win {
	uint64_t *acked;                   /* bit i: pool message i acknowledged */
	uint64_t *sent_tsc;                /* [i % window]: last transmission of unacknowledged i */
	uint8_t *tries;                    /* [i % window]: its retransmissions so far (backoff) */
	size_t n, base, next;              /* pool size; oldest unacknowledged; next never sent */
	uint64_t hop_base, hop_hi, retx_q; /* pool's first hop seq, highest sent, odd slot */
	uint64_t rto_tsc, next_check;      /* no message is due before next_check */
	uint64_t acked_n;                  /* messages acknowledged (each once) */
	uint64_t ack_again; /* DATA_ACK naming nothing new (all acknowledged before) */
	uint64_t ack_bad;   /* DATA_ACK that did not open (or a replayed one) */
	uint64_t resealed;  /* pool frames re-sealed before their first send */
};

struct bench {
	struct opts o;
	struct bp_port bp;
	struct dp_addr gw; /* MAC learned by ARP (broadcast in --raw mode) */
	size_t hdr;        /* Ethernet/IP/UDP header bytes of every frame (IPv4 or IPv6) */
	int gw_mac_known;
	struct bench_dev d[2];
	uint16_t ip_id;
	int last_hint; /* last ERROR hint code from the gateway (positive), 0 none */
	int fatal;
	/* probe: one message each way before the measurements */
	int probe_from;
	uint8_t probe_msg[48];
	size_t probe_len;
	uint64_t probe_seq;
	int probe_down, probe_ack;
	/* during a measurement */
	struct counts c;
	size_t cur_frame_len, cur_payload;
	uint64_t verified, verify_fail, arp_answered;
	uint64_t e2e_base; /* first e2e_seq of the current pool */
	uint64_t delivered_sent;
	int delivered_due;
	/* DATA_DOWN hop sequence numbers (clear in the hop header) seen in order:
	 * a gap is a lost frame, and DATA_DELIVERED never claims past it. */
	uint64_t down_seq_next, down_in_order;
	int down_seq_started, down_hole;
	/* --open-all: the pool's messages device 2 holds (bit i: e2e_base + i) */
	uint64_t *held, held_n, held_low, held_high, held_count, held_lost;
	uint64_t opened, refused_replay;
	struct sender_win win;
	uint8_t cur_msg[SGA_FRAME_MAX]; /* the current size's message, for re-sealing */
};

static struct bench g_b;

static void payload_fill(uint8_t *p, size_t n, size_t size)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + size);
}

/* ---- transmit -------------------------------------------------------------------- */

static int tx_frame(struct bench *b, const uint8_t *frame, size_t len)
{
	return bp_tx_frame(&b->bp, frame, len);
}

/* An SGA frame from device k to the gateway. */
static void send_sga(struct bench *b, int k, const uint8_t *sga, size_t len)
{
	uint8_t f[DP_PKT_HDR_MAX + SGA_FRAME_MAX];

	memcpy(f + b->hdr, sga, len);
	dp_pkt_udp_build(f, &b->d[k].addr, &b->gw, b->ip_id++, len);
	if (tx_frame(b, f, b->hdr + len) && b->o.verbose)
		LOG("could not send a control frame (TX queue full)\n");
}

static void send_arp(struct bench *b, uint16_t op, const uint8_t *dst_mac, const uint8_t *tha,
                     uint32_t tpa)
{
	bp_arp_send(&b->bp, op, b->o.dev_ip, dst_mac, tha, tpa);
}

/* ---- receive: control frames ------------------------------------------------------- */

static void confirm_send(struct bench *b, int k);

static void on_sga(struct bench *b, int k, const uint8_t *sga, size_t len)
{
	struct bench_dev *d = &b->d[k];
	uint8_t type = 0, msg[SGA_FRAME_MAX];
	struct sga_data_ack_plain ack;
	uint64_t sid = 0;
	size_t mlen = 0;
	int rc;

	if (sga_dev_peek(sga, len, &type, &sid)) {
		b->c.other++;
		return;
	}
	if (b->o.verbose)
		LOG("device %d <- %s (%zu bytes)\n", k + 1, sga_msg_name(type), len);
	switch (type) {
	case SGA_MSG_REG_ACK:
		if (d->dev.registered)
			return;
		rc = sga_dev_consume_reg_ack(&d->dev, sga, len);
		if (rc && b->o.verbose)
			LOG("device %d: REG_ACK refused: %s\n", k + 1, sga_err_desc(rc));
		return;
	case SGA_MSG_NEG_INVITE: {
		struct sga_dev_sess inv;

		if (k != 1 || d->sess.state == SGA_DEV_S_ESTABLISHED)
			return;
		memset(&inv, 0, sizeof(inv));
		rc = sga_dev_consume_neg_invite(&d->dev, &inv, sga, len);
		if (rc) {
			if (b->o.verbose)
				LOG("device 2: NEG_INVITE refused: %s\n", sga_err_desc(rc));
			sga_dev_sess_wipe(&inv);
			return;
		}
		/* A newer invitation replaces a pending one (device 1 asked again). */
		sga_dev_sess_wipe(&d->sess);
		d->sess = inv;
		sga_dev_sess_wipe(&inv);
		rc = sga_dev_create_neg_accept(&d->dev, &d->sess, 1, d->ctl[0], SGA_FRAME_MAX,
		                               &d->ctl_len[0]);
		if (!rc)
			rc = sga_dev_create_kex_init(&d->dev, &d->sess, d->ctl[1], SGA_FRAME_MAX,
			                             &d->ctl_len[1]);
		if (rc) {
			LOG("device 2: cannot answer the invitation: %s\n", sga_err_desc(rc));
			b->fatal = 1;
			return;
		}
		d->n_ctl = 2;
		send_sga(b, 1, d->ctl[0], d->ctl_len[0]);
		send_sga(b, 1, d->ctl[1], d->ctl_len[1]);
		return;
	}
	case SGA_MSG_NEG_RESULT:
		if (k != 0 || d->sess.state != SGA_DEV_S_NEG_SENT)
			return;
		rc = sga_dev_consume_neg_result(&d->dev, &d->sess, sga, len);
		if (rc && d->sess.state == SGA_DEV_S_FAILED) {
			LOG("the gateway refused the negotiation: %s (%s)\n", sga_err_desc(rc),
			    sga_err_name(rc));
			b->fatal = 1;
			return;
		}
		if (rc) {
			if (b->o.verbose)
				LOG("device 1: NEG_RESULT refused: %s\n", sga_err_desc(rc));
			return;
		}
		rc = sga_dev_create_kex_init(&d->dev, &d->sess, d->ctl[0], SGA_FRAME_MAX,
		                             &d->ctl_len[0]);
		if (rc) {
			LOG("device 1: cannot build KEX_INIT: %s\n", sga_err_desc(rc));
			b->fatal = 1;
			return;
		}
		d->n_ctl = 1;
		send_sga(b, 0, d->ctl[0], d->ctl_len[0]);
		return;
	case SGA_MSG_KEX_REPLY:
		if (d->sess.state != SGA_DEV_S_KEX || sid != d->sess.session_id)
			return;
		rc = sga_dev_consume_kex_reply(&d->dev, &d->sess, sga, len);
		if (rc && b->o.verbose)
			LOG("device %d: KEX_REPLY refused: %s\n", k + 1, sga_err_desc(rc));
		if (!rc)
			confirm_send(b, k);
		return;
	case SGA_MSG_DATA_DOWN:
		if (d->sess.state != SGA_DEV_S_ESTABLISHED)
			return;
		if (!d->sess.peer_confirmed) {
			/* The peer's key confirmation, e2e_seq 0 (PROTOCOL.md 8.6). */
			rc = sga_dev_consume_key_confirm(&d->sess, sga, len);
			if (rc == -SGA_E_KEY_CONFIRM) {
				LOG("device %d: key confirmation failed: %s\n", k + 1,
				    sga_err_desc(rc));
				b->fatal = 1;
			}
			return;
		}
		rc = sga_dev_data_open(&d->sess, sga, len, msg, sizeof(msg), &mlen);
		if (!rc && k == (b->probe_from ^ 1) && mlen == b->probe_len &&
		    !memcmp(msg, b->probe_msg, mlen))
			b->probe_down = 1;
		else if (rc && rc != -SGA_E_REPLAY)
			LOG("device %d: a DATA_DOWN did not open: %s\n", k + 1, sga_err_desc(rc));
		return;
	case SGA_MSG_DATA_ACK:
		if (d->sess.state != SGA_DEV_S_ESTABLISHED)
			return;
		rc = sga_dev_ack_open(&d->sess, sga, len, &ack);
		if (!rc && k == b->probe_from && sga_data_ack_names(&ack, b->probe_seq))
			b->probe_ack = 1;
		else if (rc && rc != -SGA_E_REPLAY)
			LOG("device %d: a DATA_ACK did not open: %s\n", k + 1, sga_err_desc(rc));
		return;
	case SGA_MSG_ERROR: {
		struct sga_error_msg em;

		if (!sga_error_decode(sga, len, &em)) {
			b->last_hint = em.code;
			if (b->o.verbose)
				LOG("device %d: ERROR hint from the gateway: %s\n", k + 1,
				    sga_err_desc(-(int)em.code));
		}
		return;
	}
	default:
		b->c.other++;
		return;
	}
}

/* ARP: answer requests for our address, learn the gateway's MAC from its reply. */
static void on_arp(struct bench *b, const uint8_t *f, size_t len)
{
	const uint8_t *sha;
	uint16_t op;
	uint32_t spa, tpa;

	if (bp_arp_parse(f, len, &op, &sha, &spa, &tpa))
		return;
	if (op == 1 && tpa == b->o.dev_ip) {
		send_arp(b, 2, sha, sha, spa);
		b->arp_answered++;
	} else if (op == 2 && spa == b->o.gw_ip && !b->gw_mac_known) {
		memcpy(b->gw.mac, sha, 6);
		b->gw_mac_known = 1;
	}
}

static void on_frame_ctl(struct bench *b, const uint8_t *f, size_t len)
{
	struct dp_pkt_meta meta;

	if (len >= DP_PKT_ETH_LEN && f[12] == 0x08 && f[13] == 0x06) {
		on_arp(b, f, len);
		return;
	}
	for (int k = 0; k < 2; k++)
		if (dp_pkt_classify(f, len, &b->d[k].addr, &meta) == DP_PKT_UDP) {
			on_sga(b, k, f + meta.payload_off, meta.payload_len);
			return;
		}
	b->c.other++;
}

/* Receive and handle frames for up to wait_us (returns early once done(b)). */
static void ctl_poll(struct bench *b, uint64_t wait_us, int (*done)(const struct bench *))
{
	uint64_t until = bp_now_us() + wait_us;
	struct rte_mbuf *pk[BENCH_BURST];

	while (!g_quit && !b->fatal && !(done && done(b))) {
		uint16_t n = rte_eth_rx_burst(b->bp.port, 0, pk, BENCH_BURST);

		for (uint16_t i = 0; i < n; i++) {
			if (rte_pktmbuf_is_contiguous(pk[i]))
				on_frame_ctl(b, rte_pktmbuf_mtod(pk[i], const uint8_t *),
				             pk[i]->data_len);
			rte_pktmbuf_free(pk[i]);
		}
		if (bp_now_us() >= until)
			break;
		if (!n)
			usleep(50); /* the gateway's control threads share this core */
	}
}

/*
 * One control step: send(b) transmits (or re-transmits) what the step needs,
 * then frames are handled until done(b); bounded tries with a doubling timeout.
 */
static int ctl_step(struct bench *b, const char *what, void (*send)(struct bench *),
                    int (*done)(const struct bench *))
{
	unsigned rto = b->o.rto_ms, tries = 0;
	uint64_t t0 = bp_now_us();

	b->last_hint = 0;
	while (!g_quit && !b->fatal) {
		if (tries == b->o.tries) {
			LOG("%s: the gateway did not answer after %u transmissions over %.1f "
			    "s%s%s\n",
			    what, tries, (double)(bp_now_us() - t0) / 1e6,
			    b->last_hint ? "; last ERROR hint: " : "",
			    b->last_hint ? sga_err_desc(-b->last_hint) : "");
			return -1;
		}
		if (tries && b->o.verbose)
			LOG("%s: no answer yet, sending again (try %u of %u)\n", what, tries + 1,
			    b->o.tries);
		send(b);
		tries++;
		ctl_poll(b, (uint64_t)rto * 1000, done);
		if (done(b)) {
			INFO("  %-34s ok (%.1f ms%s)\n", what, (double)(bp_now_us() - t0) / 1e3,
			     tries > 1 ? ", retransmitted" : "");
			return 0;
		}
		rto = rto * 2 > 4000 ? 4000 : rto * 2;
	}
	return -1; /* interrupted (reported by main) or fatal (reported where it happened) */
}

/* ---- control steps ------------------------------------------------------------------ */

static void arp_send(struct bench *b)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t zero[6];

	send_arp(b, 1, bcast, zero, b->o.gw_ip);
}

static int arp_done(const struct bench *b)
{
	return b->gw_mac_known;
}

static void reg_send(struct bench *b)
{
	for (int k = 0; k < 2; k++) {
		struct bench_dev *d = &b->d[k];

		if (d->dev.registered)
			continue;
		/* The same request each time: the gateway answers a retransmitted
		 * first registration again. */
		if (!d->reg_len && sga_dev_create_reg_req(&d->dev, NULL, 0, 0, d->reg,
		                                          sizeof(d->reg), &d->reg_len)) {
			LOG("device %d: cannot build REG_REQ\n", k + 1);
			b->fatal = 1;
			return;
		}
		send_sga(b, k, d->reg, d->reg_len);
	}
}

static int reg_done(const struct bench *b)
{
	return b->d[0].dev.registered && b->d[1].dev.registered;
}

/* Device k's key confirmation (again: a re-seal of the same E2E bytes). */
static void confirm_send(struct bench *b, int k)
{
	uint8_t f[SGA_FRAME_MAX];
	size_t len;
	int rc = sga_dev_create_key_confirm(&b->d[k].sess, f, sizeof(f), &len);

	if (rc) {
		LOG("device %d: cannot seal the key confirmation: %s\n", k + 1, sga_err_desc(rc));
		b->fatal = 1;
		return;
	}
	send_sga(b, k, f, len);
}

static void neg_send(struct bench *b)
{
	struct bench_dev *d0 = &b->d[0], *d1 = &b->d[1];
	uint8_t s = b->o.suite;
	int rc;

	if (d0->sess.state == SGA_DEV_S_IDLE || d0->sess.state == SGA_DEV_S_NEG_SENT) {
		/* A1 (again): a new request each time, new counter and k_t. */
		sga_dev_sess_wipe(&d0->sess);
		rc = sga_dev_create_neg_req(&d0->dev, &d0->sess, d1->dev.id, d1->dev.id_len, &s, 1,
		                            d0->ctl[0], SGA_FRAME_MAX, &d0->ctl_len[0]);
		if (rc) {
			LOG("device 1: cannot build NEG_REQ: %s\n", sga_err_desc(rc));
			b->fatal = 1;
			return;
		}
		d0->n_ctl = 1;
		send_sga(b, 0, d0->ctl[0], d0->ctl_len[0]);
	} else if (d0->sess.state == SGA_DEV_S_KEX) {
		send_sga(b, 0, d0->ctl[0], d0->ctl_len[0]);
	}
	/* Device 2 repeats NEG_ACCEPT and KEX_INIT until its KEX_REPLY comes. */
	if (d1->sess.state == SGA_DEV_S_KEX)
		for (unsigned i = 0; i < d1->n_ctl; i++)
			send_sga(b, 1, d1->ctl[i], d1->ctl_len[i]);
	/* Both repeat their key confirmation until both are confirmed. */
	for (int k = 0; k < 2; k++)
		if (b->d[k].sess.state == SGA_DEV_S_ESTABLISHED && b->d[k].sess.confirm_sent)
			confirm_send(b, k);
}

static int neg_done(const struct bench *b)
{
	return sga_dev_sess_confirmed(&b->d[0].sess) && sga_dev_sess_confirmed(&b->d[1].sess) &&
	       b->d[0].sess.session_id == b->d[1].sess.session_id;
}

static void probe_send(struct bench *b)
{
	struct bench_dev *d = &b->d[b->probe_from];
	uint8_t f[SGA_FRAME_MAX];
	size_t len;
	int rc;

	/* A fresh message each time (new e2e and hop sequence numbers). */
	rc = sga_dev_data_seal(&d->sess, b->probe_msg, b->probe_len, f, sizeof(f), &len);
	if (rc) {
		LOG("device %d: cannot seal a message: %s\n", b->probe_from + 1, sga_err_desc(rc));
		b->fatal = 1;
		return;
	}
	b->probe_seq = sga_dev_data_last_seq(&d->sess);
	b->probe_down = b->probe_ack = 0;
	send_sga(b, b->probe_from, f, len);
}

static int probe_done(const struct bench *b)
{
	return b->probe_down && b->probe_ack;
}

static int setup_protocol(struct bench *b)
{
	char what[64];

	if (ctl_step(b, "registration of both devices", reg_send, reg_done))
		return -1;
	if (ctl_step(b, "negotiation and key exchange", neg_send, neg_done))
		return -1;
	INFO("  session %016llx, E2E suite %s, hop suites %s\n",
	     (unsigned long long)b->d[0].sess.session_id, sga_suite_get(b->d[0].sess.suite)->name,
	     sga_suite_get(b->d[0].sess.hop_suite)->name);
	for (int from = 0; from < 2; from++) {
		b->probe_from = from;
		b->probe_len = (size_t)snprintf((char *)b->probe_msg, sizeof(b->probe_msg),
		                                "sga-bench-relay probe from device %d", from + 1);
		snprintf(what, sizeof(what), "message %d->%d (DATA_DOWN + DATA_ACK)", from + 1,
		         2 - from);
		if (ctl_step(b, what, probe_send, probe_done))
			return -1;
	}
	return 0;
}

/* ---- a measurement ------------------------------------------------------------------- */

/* DATA_DELIVERED from device 2: it holds every message of the pool below
 * next_e2e_seq. With --open-all that is the first message it has not opened.
 * Without, it is the pool's first e2e_seq + the DATA_DOWN frames received
 * before the first gap in their hop sequence numbers: a relay without a store
 * sends one DATA_DOWN per DATA_UP in order, so the k-th carries the k-th
 * message; after a gap device 2 claims no more (a store's re-sends would break
 * that rule: hence --open-all with a store). */
static void delivered_send(struct bench *b)
{
	uint8_t f[DP_PKT_HDR_MAX + SGA_FRAME_MAX];
	uint64_t next = b->e2e_base + (b->o.open_all ? b->held_low : b->down_in_order);
	size_t len;

	b->delivered_due = 0;
	if (sga_dev_delivered_seal(&b->d[1].sess, next, f + b->hdr, SGA_FRAME_MAX, &len))
		return;
	dp_pkt_udp_build(f, &b->d[1].addr, &b->gw, b->ip_id++, len);
	if (!tx_frame(b, f, b->hdr + len))
		b->delivered_sent++;
}

static int held_get(const struct bench *b, uint64_t i)
{
	return (int)(b->held[i / 64] >> (i % 64) & 1);
}

/* Device 2 holds message e2e_seq (--open-all). Like the device SDK, it gives
 * up on a missing message once its E2E replay window has moved past it (a
 * re-send could no longer be opened): held_low, the first message it neither
 * holds nor may still receive, is what DATA_DELIVERED reports. */
static void held_mark(struct bench *b, uint64_t e2e_seq)
{
	const uint64_t keep = SGA_REPLAY_WINDOW - 64, newest = b->d[1].sess.e2e_rx_win.next;
	uint64_t i = e2e_seq - b->e2e_base;

	if (e2e_seq < b->e2e_base || i >= b->held_n || held_get(b, i))
		return;
	b->held[i / 64] |= (uint64_t)1 << (i % 64);
	b->held_count++;
	if (i + 1 > b->held_high)
		b->held_high = i + 1;
	while (b->held_low < b->held_n &&
	       (held_get(b, b->held_low) || b->e2e_base + b->held_low + keep < newest)) {
		if (!held_get(b, b->held_low))
			b->held_lost++;
		b->held_low++;
	}
}

/* A DATA_DOWN for device 2 (sga[0..len) is the SGA frame). Counted by its type
 * byte; its hop sequence number (clear) is followed for gaps; a sample, or
 * with --open-all every frame, is opened and its message checked. */
static void on_down(struct bench *b, const uint8_t *sga, size_t len)
{
	uint8_t msg[SGA_FRAME_MAX], want[SGA_FRAME_MAX];
	uint64_t hop_seq = sga_hop_frame_seq(sga);
	size_t mlen = 0;
	int rc;

	if (b->down_seq_started && hop_seq != b->down_seq_next)
		b->down_hole = 1;
	b->down_seq_started = 1;
	b->down_seq_next = hop_seq + 1;
	if (!b->down_hole)
		b->down_in_order++;
	if (b->o.open_all || b->c.down % VERIFY_EVERY == 0) {
		rc = sga_dev_data_open(&b->d[1].sess, sga, len, msg, sizeof(msg), &mlen);
		if (rc == -SGA_E_REPLAY) {
			/* A duplicate, or older than the window device 2 keeps. */
			b->refused_replay++;
		} else if (rc) {
			b->verify_fail++;
		} else {
			payload_fill(want, b->cur_payload, b->cur_payload);
			if (mlen == b->cur_payload && !memcmp(msg, want, mlen))
				b->verified++;
			else
				b->verify_fail++;
			b->opened++;
			if (b->held)
				held_mark(b, b->d[1].sess.e2e_rx_last);
		}
	}
	b->c.down++;
	if (b->o.delivered && b->c.down % b->o.delivered == 0)
		b->delivered_due = 1;
}

/* ---- --window: device 1's sender window --------------------------------------------- */

static int win_acked(const struct sender_win *w, size_t i)
{
	return (int)(w->acked[i / 64] >> (i % 64) & 1);
}

/* A DATA_ACK for device 1: the gateway took charge of (with a store: stored)
 * every message it names, up to 64 below its top (PROTOCOL.md 7.11); the
 * window's base moves past every acknowledged one. ack_again counts the frames
 * that named nothing new (all acknowledged before, or from an earlier pool). */
static void on_ack(struct bench *b, const uint8_t *sga, size_t len)
{
	struct sender_win *w = &b->win;
	struct sga_data_ack_plain a;
	uint64_t e2e, lo, fresh = 0;

	if (sga_dev_ack_open(&b->d[0].sess, sga, len, &a)) {
		w->ack_bad++;
		return;
	}
	lo = a.top > SGA_DATA_ACK_SPAN ? a.top - SGA_DATA_ACK_SPAN : 0;
	if (lo < b->e2e_base)
		lo = b->e2e_base;
	for (e2e = lo; e2e < a.top; e2e++) {
		uint64_t i = e2e - b->e2e_base;

		if (i >= w->next || !sga_data_ack_names(&a, e2e) || win_acked(w, i))
			continue;
		w->acked[i / 64] |= (uint64_t)1 << (i % 64);
		w->acked_n++;
		fresh++;
	}
	if (!fresh)
		w->ack_again++;
	while (w->base < w->next && win_acked(w, w->base))
		w->base++;
}

/*
 * Seal pool message i of device 1 again into m (sga_dev_data_reseal): the same
 * e2e_seq and E2E ciphertext, so the gateway takes it for the same message,
 * under a fresh hop sequence number, or it would drop it as a hop-level
 * duplicate. The odd numbers between the pool's are used in rising order, none
 * more than WIN_HOP_BACK below the highest sent, so the gateway's hop window
 * accepts the copy, and the pool frames to come stay inside it. 0, or -1 with
 * b->fatal set (cannot happen for a message of the pool).
 */
static int win_reseal(struct bench *b, struct rte_mbuf *m, size_t i)
{
	struct sender_win *w = &b->win;
	struct sga_dev_sess *s = &b->d[0].sess;
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	size_t cap = rte_pktmbuf_tailroom(m), len;
	uint64_t seq;
	int rc;

	if (w->hop_base + 2 * w->retx_q + 1 + WIN_HOP_BACK < w->hop_hi)
		w->retx_q = (w->hop_hi - WIN_HOP_BACK - w->hop_base) / 2;
	seq = w->hop_base + 2 * w->retx_q + 1;
	cap = cap < b->hdr + SGA_FRAME_MAX ? cap - b->hdr : SGA_FRAME_MAX;
	s->hop_tx_seq = seq;
	rc = sga_dev_data_reseal(s, b->e2e_base + i, b->cur_msg, b->cur_payload, f + b->hdr, cap,
	                         &len);
	if (rc) {
		LOG("device 1: cannot re-seal message %llu: %s\n",
		    (unsigned long long)(b->e2e_base + i), sga_err_desc(rc));
		b->fatal = 1;
		return -1;
	}
	w->retx_q++;
	if (seq > w->hop_hi)
		w->hop_hi = seq;
	dp_pkt_udp_build(f, &b->d[0].addr, &b->gw, b->ip_id++, len);
	m->data_len = (uint16_t)(b->hdr + len);
	m->pkt_len = m->data_len;
	return 0;
}

/*
 * Messages of device 1 whose DATA_ACK has not come within their timeout
 * (--retx-ms, doubled by each retransmission), oldest first (the order the gateway's go-back-N takes them in), re-sealed into
 * pend[0..k), k <= max: returns k. The window is scanned only once its
 * earliest deadline may have passed, so a busy run rarely looks at it.
 */
static unsigned win_due(struct bench *b, struct rte_mbuf **pend, unsigned max, uint64_t now)
{
	struct sender_win *w = &b->win;
	uint64_t soonest = now + w->rto_tsc; /* what is sent from now on is due later */
	unsigned k = 0;

	if (now < w->next_check)
		return 0;
	for (size_t i = w->base; i < w->next; i++) {
		uint64_t *t = &w->sent_tsc[i % b->o.window];
		uint8_t *tries = &w->tries[i % b->o.window];
		uint64_t due = *t + (w->rto_tsc << *tries);

		if (win_acked(w, i))
			continue;
		if (due > now) {
			if (due < soonest)
				soonest = due;
			continue;
		}
		if (k == max || !(pend[k] = rte_pktmbuf_alloc(b->bp.pool))) {
			soonest = now; /* more are due: the next batch goes on */
			break;
		}
		if (win_reseal(b, pend[k], i)) {
			rte_pktmbuf_free(pend[k]);
			break;
		}
		*t = now;
		if (*tries < WIN_BACKOFF_MAX)
			(*tries)++;
		k++;
	}
	w->next_check = soonest;
	return k;
}

/* In the tail: send what is due at once; a copy the TX queue refuses is
 * dropped and goes again --retx-ms later. */
static void win_tail_send(struct bench *b, uint64_t now)
{
	struct rte_mbuf *pk[BENCH_BURST];
	unsigned k = win_due(b, pk, BENCH_BURST, now);
	uint16_t s = k ? rte_eth_tx_burst(b->bp.port, 0, pk, (uint16_t)k) : 0;

	if (s < k)
		rte_pktmbuf_free_bulk(pk + s, k - s);
	b->c.sent += s;
	b->c.retx += s;
}

/* Count one frame received during a measurement, by type byte (with --window
 * a DATA_ACK is also opened, for the window). */
static void count_frame(struct bench *b, struct rte_mbuf *m)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	size_t len = m->data_len, l3;
	uint16_t dport;
	uint8_t type;

	if (b->o.raw) {
		if (len == b->cur_frame_len)
			b->c.back++;
		else
			b->c.other++;
		return;
	}
	if (len >= 62 + SGA_HOP_HDR_LEN && f[12] == 0x86 && f[13] == 0xdd && f[20] == 17) {
		l3 = 40; /* IPv6 without extension headers: what the gateway sends */
	} else if (len < DP_PKT_HDR_LEN + SGA_HOP_HDR_LEN || f[12] != 0x08 || f[13] != 0x00 ||
	           f[23] != 17) {
		if (len >= DP_PKT_ETH_LEN && f[12] == 0x08 && f[13] == 0x06)
			on_arp(b, f, len);
		else
			b->c.other++;
		return;
	} else {
		l3 = (size_t)(f[14] & 0x0f) * 4;
	}
	if (len < DP_PKT_ETH_LEN + l3 + DP_PKT_UDP_LEN + SGA_HOP_HDR_LEN) {
		b->c.other++;
		return;
	}
	dport = (uint16_t)(f[DP_PKT_ETH_LEN + l3 + 2] << 8 | f[DP_PKT_ETH_LEN + l3 + 3]);
	type = f[DP_PKT_ETH_LEN + l3 + DP_PKT_UDP_LEN + 1];
	if (type == SGA_MSG_DATA_DOWN && dport == ntohs(b->o.dev_port[1])) {
		on_down(b, f + DP_PKT_ETH_LEN + l3 + DP_PKT_UDP_LEN,
		        len - (DP_PKT_ETH_LEN + l3 + DP_PKT_UDP_LEN));
	} else if (type == SGA_MSG_DATA_ACK && dport == ntohs(b->o.dev_port[0])) {
		b->c.ack++;
		if (b->o.window) {
			/* The UDP length, not the frame's: it may carry padding. */
			size_t ulen =
			    (size_t)(f[DP_PKT_ETH_LEN + l3 + 4] << 8 | f[DP_PKT_ETH_LEN + l3 + 5]);

			if (ulen >= DP_PKT_UDP_LEN && ulen <= len - (DP_PKT_ETH_LEN + l3))
				on_ack(b, f + DP_PKT_ETH_LEN + l3 + DP_PKT_UDP_LEN,
				       ulen - DP_PKT_UDP_LEN);
			else
				b->win.ack_bad++;
		}
	} else {
		b->c.other++;
	}
}

static unsigned rx_drain(struct bench *b)
{
	struct rte_mbuf *pk[BENCH_BURST];
	unsigned total = 0;

	for (int r = 0; r < 4; r++) {
		uint16_t n = rte_eth_rx_burst(b->bp.port, 0, pk, BENCH_BURST);

		for (uint16_t i = 0; i < n; i++)
			count_frame(b, pk[i]);
		if (n)
			rte_pktmbuf_free_bulk(pk, n);
		if (b->delivered_due)
			delivered_send(b);
		total += n;
		if (n < BENCH_BURST)
			break;
	}
	return total;
}

struct result {
	double window_s, tail_s;
	struct counts w;     /* during the measurement window */
	struct counts total; /* the whole run, tail included */
	uint64_t tx_calls, tx_zero;
	int pool_ran_out;
	int warm_skipped;
	double gen_cpu, dut_cpu; /* on-CPU share of the window, < 0 unknown */
	/* --window, the whole run: messages acknowledged, sent but never
	 * acknowledged, DATA_ACK again or not opened, re-sealed before first sent */
	uint64_t win_acked, win_unacked, win_ack_again, win_ack_bad, win_resealed;
};

/* --window: set up device 1's sender window over a pool of n messages (pool_build
 * set hop_base). Outside the timed loop: the only allocations. 0 or -1. */
static int win_start(struct bench *b, size_t n, uint64_t hz)
{
	struct sender_win *w = &b->win;
	uint64_t hop_base = w->hop_base;

	free(w->acked);
	free(w->sent_tsc);
	free(w->tries);
	memset(w, 0, sizeof(*w));
	w->hop_base = hop_base;
	if (!b->o.window)
		return 0;
	w->acked = calloc((n + 63) / 64, sizeof(*w->acked));
	w->sent_tsc = calloc(b->o.window, sizeof(*w->sent_tsc));
	w->tries = calloc(b->o.window, sizeof(*w->tries));
	if (!w->acked || !w->sent_tsc || !w->tries) {
		LOG("cannot allocate the --window state\n");
		return -1;
	}
	w->n = n;
	w->rto_tsc = hz * b->o.retx_ms / 1000;
	return 0;
}

/* After a run: the next pool's hop sequence numbers start above every one
 * sent, re-sealed copies included. */
static void win_end(struct bench *b)
{
	struct sender_win *w = &b->win;
	struct sga_dev_sess *s = &b->d[0].sess;

	if (b->o.window && w->hop_hi + 1 > s->hop_tx_seq)
		s->hop_tx_seq = w->hop_hi + 1;
	free(w->acked);
	free(w->sent_tsc);
	free(w->tries);
	w->acked = w->sent_tsc = NULL;
	w->tries = NULL;
}

/*
 * Send frames[0..n) (stride bytes apart, frame_len each; cyclic: start again at
 * 0 when spent) in bursts, count what comes back. The window runs from warm_s
 * after the first frame to the end of sending (dur_s later, or the pool spent).
 * With --window, a batch starts with the messages due for re-sending and takes
 * new ones only while the window has room.
 */
static int blast(struct bench *b, const uint8_t *frames, size_t n, size_t stride, size_t frame_len,
                 int cyclic, double warm_s, double dur_s, struct result *r)
{
	const uint64_t hz = rte_get_tsc_hz();
	struct rte_mbuf *pend[BENCH_BURST];
	unsigned n_pend = 0, off = 0, n_retx = 0, burst = b->o.burst;
	uint64_t t_start, t_warm, t_end, t_w0 = 0, t_stop, t_last_rx, t_ref;
	struct sender_win *w = &b->win;
	const int win = b->o.window && !cyclic;
	struct counts c0;
	struct cpu_mark m0, m1;
	size_t next = 0;
	int warm = 0;

	memset(r, 0, sizeof(*r));
	memset(&b->c, 0, sizeof(b->c));
	b->down_seq_started = b->down_hole = 0;
	b->down_in_order = 0;
	b->verified = b->verify_fail = b->delivered_sent = 0;
	b->opened = b->refused_replay = 0;
	b->held_low = b->held_high = b->held_count = b->held_lost = 0;
	b->held_n = 0;
	free(b->held);
	b->held = NULL;
	if (b->o.open_all && !cyclic) {
		b->held = calloc((n + 63) / 64, sizeof(*b->held));
		if (!b->held) {
			LOG("cannot allocate the --open-all bitmap\n");
			return -1;
		}
		b->held_n = n;
	}
	if (win_start(b, win ? n : 0, hz))
		return -1;
	memset(&c0, 0, sizeof(c0));
	bp_cpu_mark_take(b->o.watch_pid, &m0);
	t_start = rte_rdtsc();
	t_warm = t_start + (uint64_t)(warm_s * (double)hz);
	t_end = t_warm + (uint64_t)(dur_s * (double)hz);
	for (;;) {
		uint64_t now;

		rx_drain(b);
		now = rte_rdtsc();
		if (!warm && now >= t_warm) {
			warm = 1;
			c0 = b->c;
			bp_cpu_mark_take(b->o.watch_pid, &m0);
			t_w0 = rte_rdtsc();
		}
		if (now >= t_end || g_quit || b->fatal)
			break;
		if (!n_pend) {
			unsigned k = 0, fresh = burst;

			if (!cyclic && next >= n) {
				r->pool_ran_out = 1;
				break;
			}
			if (win) {
				k = win_due(b, pend, burst, now);
				fresh = burst - k;
				if (w->base + b->o.window - next < fresh)
					fresh = (unsigned)(w->base + b->o.window - next);
			}
			if (!cyclic && n - next < fresh)
				fresh = (unsigned)(n - next);
			if (fresh && rte_pktmbuf_alloc_bulk(b->bp.pool, pend + k, fresh)) {
				if (!k)
					continue; /* the receive side gives them back */
				fresh = 0;
			}
			for (unsigned i = k; i < k + fresh; i++) {
				struct rte_mbuf *m = pend[i];
				uint64_t seq = w->hop_base + 2 * (uint64_t)next;

				if (win && seq + WIN_HOP_STALE <= w->hop_hi) {
					/* Copies took hop seqs so far above this frame's that
					 * the gateway would find it too old: re-sealed. */
					if (win_reseal(b, m, next)) {
						rte_pktmbuf_free_bulk(pend + i, k + fresh - i);
						fresh = i - k;
						break;
					}
					w->resealed++;
				} else {
					memcpy(rte_pktmbuf_mtod(m, uint8_t *),
					       frames + (next % n) * stride, frame_len);
					m->data_len = (uint16_t)frame_len;
					m->pkt_len = (uint32_t)frame_len;
					if (win && seq > w->hop_hi)
						w->hop_hi = seq;
				}
				if (win) {
					w->sent_tsc[next % b->o.window] = now;
					w->tries[next % b->o.window] = 0;
				}
				next++;
			}
			if (win)
				w->next = next;
			n_pend = k + fresh;
			n_retx = k;
			off = 0;
			if (!n_pend)
				continue; /* the window is full: wait for DATA_ACKs */
		}
		{
			uint16_t s = rte_eth_tx_burst(b->bp.port, 0, pend + off, (uint16_t)n_pend);

			r->tx_calls++;
			if (!s)
				r->tx_zero++;
			if (off < n_retx)
				b->c.retx += (off + s < n_retx ? off + s : n_retx) - off;
			off += s;
			n_pend -= s;
			b->c.sent += s;
		}
	}
	t_stop = rte_rdtsc();
	bp_cpu_mark_take(b->o.watch_pid, &m1);
	if (n_pend)
		rte_pktmbuf_free_bulk(pend + off,
		                      n_pend); /* with --window: sent again in the tail */
	if (!warm) {
		/* The pool ran out before the warm-up ended: measure from the start. */
		r->warm_skipped = 1;
		t_w0 = t_start;
		memset(&c0, 0, sizeof(c0));
	}
	r->w.sent = b->c.sent - c0.sent;
	r->w.down = b->c.down - c0.down;
	r->w.ack = b->c.ack - c0.ack;
	r->w.back = b->c.back - c0.back;
	r->w.other = b->c.other - c0.other;
	r->w.retx = b->c.retx - c0.retx;
	r->window_s = (double)(t_stop - t_w0) / (double)hz;
	r->gen_cpu =
	    m1.gen_ns && r->window_s > 0 ? (double)(m1.gen_ns - m0.gen_ns) / 1e9 / r->window_s : -1;
	r->dut_cpu = m1.n_dut && m1.n_dut == m0.n_dut && r->window_s > 0
	                 ? (double)(m1.dut_ns - m0.dut_ns) / 1e9 / r->window_s / m1.n_dut
	                 : -1;

	/* The tail: what is still in flight, until 300 ms pass without a frame
	 * (at most 3 s). Only then may the caller disconnect. With --window, first
	 * every message sent is re-sent until acknowledged (at most WIN_TAIL_S):
	 * the gateway's store would refuse every later message of device 2, the
	 * next measurement's too, behind one it refused and never got again. */
	t_last_rx = t_ref = rte_rdtsc();
	for (;;) {
		uint64_t now = rte_rdtsc();

		if (rx_drain(b))
			t_last_rx = now;
		if (win && w->base < w->next && !g_quit && !b->fatal &&
		    now - t_stop < hz * WIN_TAIL_S) {
			win_tail_send(b, now);
			t_ref = now;
			continue;
		}
		if (now - t_last_rx > hz * 3 / 10 || now - t_ref > hz * 3)
			break;
	}
	if (b->o.delivered && !b->o.raw)
		delivered_send(b); /* the last one covers the whole pool */
	r->tail_s = (double)(rte_rdtsc() - t_stop) / (double)hz;
	r->total = b->c;
	if (win) {
		r->win_acked = w->acked_n;
		r->win_unacked = w->next - w->acked_n;
		r->win_ack_again = w->ack_again;
		r->win_ack_bad = w->ack_bad;
		r->win_resealed = w->resealed;
	}
	win_end(b);
	return r->window_s > 0 && !b->fatal ? 0 : -1;
}

/* Frame length on the wire (no FCS) of a DATA_UP carrying payload bytes. */
static size_t sga_frame_len(size_t hdr, uint8_t suite, size_t payload)
{
	size_t tag = sga_suite_get(suite)->tag_len;

	return hdr + SGA_HOP_HDR_LEN + 8 + payload + tag /* e2e */ + tag /* hop */;
}

/* Pre-generate n frames of frame_len bytes (not timed). SGA mode: DATA_UP from
 * device 1 to device 2, each with its own hop sequence number (with --window
 * every other one: the odd ones between are for re-sealed copies); raw mode:
 * the same sizes, payload only. NULL on failure (reported). */
static uint8_t *pool_build(struct bench *b, unsigned payload, size_t frame_len, size_t n, int quiet)
{
	uint8_t *frames = malloc(n * frame_len), msg[SGA_FRAME_MAX];
	uint64_t t0 = bp_now_us(), stride = b->o.window ? 2 : 1;
	struct sga_dev_sess *s = &b->d[0].sess;

	if (!frames) {
		LOG("cannot allocate %zu MB for %zu frames (lower --pool-mb)\n",
		    n * frame_len >> 20, n);
		return NULL;
	}
	b->e2e_base = s->e2e_tx_seq;
	b->win.hop_base = s->hop_tx_seq;
	payload_fill(msg, payload, payload);
	for (size_t i = 0; i < n && !g_quit; i++) {
		uint8_t *f = frames + i * frame_len;
		size_t len = frame_len - b->hdr;
		int rc;

		if (b->o.raw) {
			memset(f + b->hdr, 0, len);
			memcpy(f + b->hdr, msg, payload);
		} else {
			s->hop_tx_seq = b->win.hop_base + stride * i;
			rc = sga_dev_data_seal(s, msg, payload, f + b->hdr, SGA_FRAME_MAX, &len);
			if (rc || len != frame_len - b->hdr) {
				LOG("payload %u: sealing DATA_UP %zu failed: %s (length %zu, "
				    "expected %zu)\n",
				    payload, i, rc ? sga_err_desc(rc) : "ok", len,
				    frame_len - b->hdr);
				free(frames);
				return NULL;
			}
		}
		dp_pkt_udp_build(f, &b->d[0].addr, &b->gw, b->ip_id++, len);
	}
	if (g_quit) {
		free(frames);
		return NULL;
	}
	if (!b->o.raw)
		s->hop_tx_seq = b->win.hop_base + stride * n;
	if (!b->o.raw && !quiet)
		INFO("  pre-generated %zu DATA_UP frames (%zu MB) in %.1f s\n", n,
		     n * frame_len >> 20, (double)(bp_now_us() - t0) / 1e6);
	return frames;
}

static void report_common(const struct result *r)
{
	if (r->dut_cpu >= 0)
		INFO("  on a CPU during the window: generator %.0f%%, forwarder lcore %.0f%%%s\n",
		     100 * r->gen_cpu, 100 * r->dut_cpu,
		     r->gen_cpu < 0.9 || r->dut_cpu < 0.9
		         ? " (other processes took CPU time: the figures understate the path)"
		         : "");
	else if (r->gen_cpu >= 0)
		INFO("  on a CPU during the window: generator %.0f%%\n", 100 * r->gen_cpu);
	INFO("  generator: tx queue full on %.1f%% of tx_burst calls (high: the forwarder is the "
	     "bottleneck)\n",
	     r->tx_calls ? 100.0 * (double)r->tx_zero / (double)r->tx_calls : 0.0);
}

static void report_raw(const struct result *r, unsigned payload, size_t frame_len)
{
	double pps = (double)r->w.back / r->window_s;

	INFO("  window %.2f s: sent %llu, returned %llu: %.3f Mpps, %.2f Gbit/s of frames\n",
	     r->window_s, (unsigned long long)r->w.sent, (unsigned long long)r->w.back, pps / 1e6,
	     pps * (double)frame_len * 8 / 1e9);
	INFO("  whole run: sent %llu, returned %llu, other %llu; tail %.2f s\n",
	     (unsigned long long)r->total.sent, (unsigned long long)r->total.back,
	     (unsigned long long)r->total.other, r->tail_s);
	report_common(r);
	INFO("RESULT mode=raw payload=%u frame=%zu window_s=%.3f sent=%llu returned=%llu "
	     "mpps=%.4f txq_full_pct=%.1f gen_cpu_pct=%.0f dut_cpu_pct=%.0f\n",
	     payload, frame_len, r->window_s, (unsigned long long)r->w.sent,
	     (unsigned long long)r->w.back, pps / 1e6,
	     r->tx_calls ? 100.0 * (double)r->tx_zero / (double)r->tx_calls : 0.0, 100 * r->gen_cpu,
	     100 * r->dut_cpu);
}

static void report_sga(const struct bench *b, const struct result *r, unsigned payload,
                       size_t frame_len, const struct gw_stats *s0, const struct gw_stats *s1)
{
	double relay = (double)r->w.down / r->window_s, acks = (double)r->w.ack / r->window_s;
	long long gw_relayed = -1, gw_drops = -1;

	INFO("  window %.2f s%s%s: sent %llu DATA_UP (%llu of them retransmissions), got back "
	     "%llu DATA_DOWN + %llu DATA_ACK\n",
	     r->window_s,
	     r->warm_skipped ? " (the pool ran out during the warm-up: measured from the start)"
	                     : "",
	     r->pool_ran_out ? " (ended when the pool was spent)" : "",
	     (unsigned long long)r->w.sent, (unsigned long long)r->w.retx,
	     (unsigned long long)r->w.down, (unsigned long long)r->w.ack);
	INFO("  relay %.3f Mpps (gateway TX %.3f Mpps: DATA_DOWN + DATA_ACK); payload %.2f "
	     "Gbit/s, DATA_DOWN frames %.2f Gbit/s\n",
	     relay / 1e6, (relay + acks) / 1e6, relay * payload * 8 / 1e9,
	     relay * (double)frame_len * 8 / 1e9);
	INFO("  whole run: sent %llu (%llu retransmissions), DATA_DOWN %llu, DATA_ACK %llu, "
	     "other %llu; tail %.2f s\n",
	     (unsigned long long)r->total.sent, (unsigned long long)r->total.retx,
	     (unsigned long long)r->total.down, (unsigned long long)r->total.ack,
	     (unsigned long long)r->total.other, r->tail_s);
	if (b->o.window)
		INFO("  sender window %u, retransmission after %u ms (doubling): %llu messages "
		     "acknowledged, "
		     "%llu sent but never acknowledged%s; %llu DATA_ACK again for a message "
		     "acknowledged before, %llu that did not open; %llu frames re-sealed before "
		     "their first send (hop seq fallen behind)\n",
		     b->o.window, b->o.retx_ms, (unsigned long long)r->win_acked,
		     (unsigned long long)r->win_unacked,
		     r->win_unacked
		         ? " (the gateway may refuse the next size's messages behind them)"
		         : "",
		     (unsigned long long)r->win_ack_again, (unsigned long long)r->win_ack_bad,
		     (unsigned long long)r->win_resealed);
	if (b->o.open_all)
		INFO(
		    "  device 2 opened every DATA_DOWN: %llu new messages intact, %llu bad, %llu "
		    "refused by its E2E replay window (duplicates, or too old); %llu given up as "
		    "lost (missing when the window had moved %d past them: a re-send can no longer "
		    "be opened), %llu more still missing below the newest\n",
		    (unsigned long long)b->verified, (unsigned long long)b->verify_fail,
		    (unsigned long long)b->refused_replay, (unsigned long long)b->held_lost,
		    SGA_REPLAY_WINDOW - 64,
		    (unsigned long long)(b->held_high - b->held_count - b->held_lost));
	else
		INFO("  sampled DATA_DOWN opened by device 2: %llu intact, %llu bad, %llu refused "
		     "by its replay window\n",
		     (unsigned long long)b->verified, (unsigned long long)b->verify_fail,
		     (unsigned long long)b->refused_replay);
	if (b->o.delivered)
		INFO("  DATA_DELIVERED sent by device 2: %llu (one per %u DATA_DOWN and a last "
		     "one%s)\n",
		     (unsigned long long)b->delivered_sent, b->o.delivered,
		     b->o.open_all  ? "; next_e2e_seq = the first message not held"
		     : b->down_hole ? "; frozen at the first gap in the DATA_DOWN sequence"
		                    : "");
	report_common(r);
	if (s0->ok && s1->ok) {
		gw_relayed = (long long)(s1->relayed - s0->relayed);
		gw_drops = (long long)(s1->drops - s0->drops);
		INFO("  gateway counters (delta): rx %llu, data_in %llu, relayed %llu, ack_sent "
		     "%llu, tx %llu, tx_full %llu, drops %llu (tx_seq %llu, nombuf %llu), "
		     "reservations %llu",
		     (unsigned long long)(s1->rx - s0->rx),
		     (unsigned long long)(s1->data_in - s0->data_in),
		     (unsigned long long)(s1->relayed - s0->relayed),
		     (unsigned long long)(s1->ack_sent - s0->ack_sent),
		     (unsigned long long)(s1->tx - s0->tx),
		     (unsigned long long)(s1->tx_full - s0->tx_full),
		     (unsigned long long)(s1->drops - s0->drops),
		     (unsigned long long)(s1->drop_tx_seq - s0->drop_tx_seq),
		     (unsigned long long)(s1->drop_nombuf - s0->drop_nombuf),
		     (unsigned long long)(s1->resv_req - s0->resv_req));
		if (s1->has_delivered_in)
			INFO(", delivered_in %llu",
			     (unsigned long long)(s1->delivered_in - s0->delivered_in));
		INFO("\n");
		if (s1->has_store &&
		    (b->o.window || s1->stored != s0->stored || s1->resent != s0->resent ||
		     s1->drop_store_backlog != s0->drop_store_backlog ||
		     s1->refused_full != s0->refused_full ||
		     s1->refused_error != s0->refused_error))
			INFO("  gateway store counters (delta): stored %llu, store_held %llu, "
			     "resent %llu, duplicate %llu, store_refused_full %llu, "
			     "store_refused_error %llu, drop_store_backlog %llu, drop_hop_replay "
			     "%llu\n",
			     (unsigned long long)(s1->stored - s0->stored),
			     (unsigned long long)(s1->store_held - s0->store_held),
			     (unsigned long long)(s1->resent - s0->resent),
			     (unsigned long long)(s1->duplicate - s0->duplicate),
			     (unsigned long long)(s1->refused_full - s0->refused_full),
			     (unsigned long long)(s1->refused_error - s0->refused_error),
			     (unsigned long long)(s1->drop_store_backlog - s0->drop_store_backlog),
			     (unsigned long long)(s1->drop_hop_replay - s0->drop_hop_replay));
		if ((uint64_t)gw_relayed == r->total.down)
			INFO("  cross-check: the gateway relayed exactly the DATA_DOWN frames "
			     "device 2 "
			     "counted\n");
		else if (r->total.down > (uint64_t)gw_relayed &&
		         r->total.down - (uint64_t)gw_relayed <= s1->resent - s0->resent)
			/* A store's re-sends are DATA_DOWN too, counted apart ("resent",
			 * to either device: device 1 never reports the probe delivered). */
			INFO("  cross-check: device 2 counted %llu DATA_DOWN: the %lld the gateway "
			     "relayed and %llu of the %llu it re-sent from its store\n",
			     (unsigned long long)r->total.down, gw_relayed,
			     (unsigned long long)(r->total.down - (uint64_t)gw_relayed),
			     (unsigned long long)(s1->resent - s0->resent));
		else
			INFO("  cross-check: the gateway relayed %lld, device 2 counted %llu (%lld "
			     "lost between them: the gateway's tx_full counts frames its TX queue "
			     "refused)\n",
			     gw_relayed, (unsigned long long)r->total.down,
			     gw_relayed - (long long)r->total.down);
	} else if (b->o.stats) {
		INFO("  gateway stats file %s unreadable: no cross-check\n", b->o.stats);
	}
	INFO("RESULT mode=sga payload=%u frame=%zu window_s=%.3f sent=%llu relayed=%llu acks=%llu "
	     "relay_mpps=%.4f gw_tx_mpps=%.4f payload_gbps=%.3f txq_full_pct=%.1f "
	     "gw_relayed=%lld gw_drops=%lld verify_bad=%llu gen_cpu_pct=%.0f dut_cpu_pct=%.0f "
	     "window=%u retx=%llu unacked=%llu\n",
	     payload, frame_len, r->window_s, (unsigned long long)r->w.sent,
	     (unsigned long long)r->w.down, (unsigned long long)r->w.ack, relay / 1e6,
	     (relay + acks) / 1e6, relay * payload * 8 / 1e9,
	     r->tx_calls ? 100.0 * (double)r->tx_zero / (double)r->tx_calls : 0.0, gw_relayed,
	     gw_drops, (unsigned long long)b->verify_fail, 100 * r->gen_cpu, 100 * r->dut_cpu,
	     b->o.window, (unsigned long long)r->w.retx, (unsigned long long)r->win_unacked);
}

static int measure_size(struct bench *b, unsigned payload)
{
	size_t frame_len = sga_frame_len(b->hdr, b->o.suite, payload), n;
	struct gw_stats s0, s1;
	struct result r;
	uint8_t *frames;
	int rc;

	if (frame_len - b->hdr > SGA_FRAME_MAX) {
		LOG("payload %u: the DATA_UP frame would be %zu bytes, above SGA_FRAME_MAX (%d)\n",
		    payload, frame_len - b->hdr, SGA_FRAME_MAX);
		return -1;
	}
	INFO("\npayload %u B: %s frame %zu B (Eth+IP+UDP %zu, SGA %zu)\n", payload,
	     b->o.raw ? "raw" : "DATA_UP", frame_len, b->hdr, frame_len - b->hdr);
	b->cur_frame_len = frame_len;
	b->cur_payload = payload;
	payload_fill(b->cur_msg, payload, payload);
	if (b->o.raw) {
		n = RAW_POOL_FRAMES; /* sent again and again: no freshness to keep */
	} else if (b->o.frames) {
		n = b->o.frames;
	} else {
		/* Size the pool from a short run: enough for the warm-up and the
		 * measurement at that rate, with a margin, within --pool-mb. With a
		 * window the rate follows the gateway's DATA_ACK latency (a store's
		 * fdatasync), which varies several-fold from run to run on a shared
		 * disk: a wider margin (a spent pool ends the window early, and the
		 * rate is taken over the shorter window). */
		size_t cap = (size_t)b->o.pool_mb * 1024 * 1024 / frame_len;
		size_t cal = cap < CALIBRATION_FRAMES ? cap : CALIBRATION_FRAMES;
		double rate, want;

		if (cal < BENCH_BURST)
			cal = BENCH_BURST;
		frames = pool_build(b, payload, frame_len, cal, 1);
		if (!frames)
			return -1;
		rc = blast(b, frames, cal, frame_len, frame_len, 0, 0, CALIBRATION_MAX_S, &r);
		free(frames);
		if (rc || !r.w.down) {
			LOG("payload %u: no DATA_DOWN came back in the calibration run (%llu "
			    "sent): "
			    "the gateway is not relaying\n",
			    payload, (unsigned long long)r.w.sent);
			return -1;
		}
		rate = (double)r.w.down / r.window_s;
		want = rate * (b->o.warmup_s + b->o.duration_s) * (b->o.window ? 4 : 1.6) + 4096;
		n = want < (double)cap ? (size_t)want : cap;
		INFO("  calibration: %llu DATA_UP at %.3f Mpps -> a pool of %zu frames%s\n",
		     (unsigned long long)r.w.sent, rate / 1e6, n,
		     n == cap ? " (the --pool-mb limit)" : "");
	}
	if (n < BENCH_BURST)
		n = BENCH_BURST;
	frames = pool_build(b, payload, frame_len, n, 0);
	if (!frames)
		return -1;

	memset(&s1, 0, sizeof(s1));
	bp_stats_read(b->o.raw ? NULL : b->o.stats, &s0);
	rc =
	    blast(b, frames, n, frame_len, frame_len, b->o.raw, b->o.warmup_s, b->o.duration_s, &r);
	free(frames);
	if (rc) {
		LOG("payload %u: empty measurement window\n", payload);
		return -1;
	}
	if (s0.ok) {
		usleep(400000); /* the gateway rewrites its stats file every 100 ms */
		bp_stats_read(b->o.stats, &s1);
	}
	if (b->o.raw)
		report_raw(&r, payload, frame_len);
	else
		report_sga(b, &r, payload, frame_len, &s0, &s1);
	fflush(stdout);
	return 0;
}

/* ---- main ---------------------------------------------------------------------------------- */

static int load_package(const char *path, struct sga_package *pkg)
{
	uint8_t buf[4096];
	size_t len;
	FILE *f = fopen(path, "rb");
	int rc;

	if (!f) {
		LOG("%s: %s\n", path, strerror(errno));
		return -1;
	}
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	rc = sga_package_decode(buf, len, pkg);
	if (rc) {
		LOG("%s: not a gateway package: %s\n", path, sga_err_desc(rc));
		return -1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum {
		O_RAW = 256,
		O_SUITE,
		O_GW,
		O_IP,
		O_PORTS,
		O_IDS,
		O_RTO,
		O_TRIES,
		O_LINK,
		O_BURST,
		O_WATCH,
		O_DELIVERED,
		O_OPEN_ALL,
		O_LINGER,
		O_WINDOW,
		O_RETX_MS,
		O_IPV6,
	};
	static const struct option lopts[] = {
	    {"package", required_argument, NULL, 'P'},
	    {"stats", required_argument, NULL, 'S'},
	    {"raw", no_argument, NULL, O_RAW},
	    {"sizes", required_argument, NULL, 's'},
	    {"duration", required_argument, NULL, 't'},
	    {"warmup", required_argument, NULL, 'w'},
	    {"frames", required_argument, NULL, 'n'},
	    {"pool-mb", required_argument, NULL, 'M'},
	    {"suite", required_argument, NULL, O_SUITE},
	    {"gateway", required_argument, NULL, O_GW},
	    {"ip", required_argument, NULL, O_IP},
	    {"ipv6", no_argument, NULL, O_IPV6},
	    {"ports", required_argument, NULL, O_PORTS},
	    {"ids", required_argument, NULL, O_IDS},
	    {"rto-ms", required_argument, NULL, O_RTO},
	    {"tries", required_argument, NULL, O_TRIES},
	    {"link-timeout", required_argument, NULL, O_LINK},
	    {"burst", required_argument, NULL, O_BURST},
	    {"watch-pid", required_argument, NULL, O_WATCH},
	    {"delivered", required_argument, NULL, O_DELIVERED},
	    {"open-all", no_argument, NULL, O_OPEN_ALL},
	    {"linger", required_argument, NULL, O_LINGER},
	    {"window", required_argument, NULL, O_WINDOW},
	    {"retx-ms", required_argument, NULL, O_RETX_MS},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char a[64], bb[64];
	unsigned long v;
	int ch;

	memset(o, 0, sizeof(*o));
	o->sizes[0] = 64;
	o->sizes[1] = 1024;
	o->n_sizes = 2;
	o->duration_s = 5;
	o->warmup_s = 0.5;
	o->pool_mb = 1536;
	o->suite = SGA_SUITE_AES128_GCM;
	inet_pton(AF_INET, "10.77.0.1", &o->gw_ip);
	inet_pton(AF_INET, "10.77.0.2", &o->dev_ip);
	o->gw_port = htons(7000);
	o->dev_port[0] = htons(5001);
	o->dev_port[1] = htons(5002);
	strcpy(o->id[0], "bench-dev-1");
	strcpy(o->id[1], "bench-dev-2");
	o->rto_ms = 500;
	o->tries = 6;
	o->link_timeout_s = 10;
	o->burst = BENCH_BURST;
	o->delivered = 16;
	o->retx_ms = 50;

	while ((ch = getopt_long(argc, argv, "P:S:s:t:w:n:M:vh", lopts, NULL)) != -1) {
		switch (ch) {
		case 'P':
			o->package = optarg;
			break;
		case 'S':
			o->stats = optarg;
			break;
		case O_RAW:
			o->raw = 1;
			break;
		case O_IPV6:
			o->ipv6 = 1;
			break;
		case 's':
			if (bp_parse_sizes(optarg, o->sizes, &o->n_sizes, BENCH_MAX_SIZES,
			                   SGA_FRAME_MAX)) {
				LOG("--sizes: a list of 1..%d sizes of 1..%d bytes\n",
				    BENCH_MAX_SIZES, SGA_FRAME_MAX);
				return 2;
			}
			break;
		case 't':
			if (bp_parse_seconds(optarg, 0.1, 3600, &o->duration_s)) {
				LOG("--duration: 0.1..3600 seconds\n");
				return 2;
			}
			break;
		case 'w':
			if (bp_parse_seconds(optarg, 0, 60, &o->warmup_s)) {
				LOG("--warmup: 0..60 seconds\n");
				return 2;
			}
			break;
		case 'n':
			if (bp_parse_ulong(optarg, BENCH_BURST, 100000000, &o->frames)) {
				LOG("--frames: %d..100000000\n", BENCH_BURST);
				return 2;
			}
			break;
		case 'M':
			if (bp_parse_ulong(optarg, 1, 65536, &o->pool_mb)) {
				LOG("--pool-mb: 1..65536\n");
				return 2;
			}
			break;
		case O_SUITE: {
			const struct sga_suite_info *s = sga_suite_by_name(optarg);

			if (!s) {
				LOG("--suite: unknown suite '%s'\n", optarg);
				return 2;
			}
			o->suite = s->id;
			break;
		}
		case O_GW: {
			char *colon;

			snprintf(a, sizeof(a), "%s", optarg);
			colon = strrchr(a, ':');
			if (!colon || (*colon = '\0', inet_pton(AF_INET, a, &o->gw_ip) != 1) ||
			    bp_parse_port(colon + 1, &o->gw_port)) {
				LOG("--gateway: IPv4:PORT expected, got '%s'\n", optarg);
				return 2;
			}
			break;
		}
		case O_IP:
			if (inet_pton(AF_INET, optarg, &o->dev_ip) != 1) {
				LOG("--ip: an IPv4 address expected, got '%s'\n", optarg);
				return 2;
			}
			break;
		case O_PORTS:
			if (parse_pair(optarg, a, bb, sizeof(a)) ||
			    bp_parse_port(a, &o->dev_port[0]) ||
			    bp_parse_port(bb, &o->dev_port[1]) ||
			    o->dev_port[0] == o->dev_port[1]) {
				LOG("--ports: two different UDP ports A,B expected\n");
				return 2;
			}
			break;
		case O_IDS:
			if (parse_pair(optarg, o->id[0], o->id[1], sizeof(o->id[0])) ||
			    !sga_id_valid((const uint8_t *)o->id[0], strlen(o->id[0])) ||
			    !sga_id_valid((const uint8_t *)o->id[1], strlen(o->id[1])) ||
			    !strcmp(o->id[0], o->id[1])) {
				LOG("--ids: two different identities of 1..%d printable "
				    "characters\n",
				    SGA_ID_MAX);
				return 2;
			}
			break;
		case O_RTO:
			if (bp_parse_ulong(optarg, 10, 60000, &v)) {
				LOG("--rto-ms: 10..60000\n");
				return 2;
			}
			o->rto_ms = (unsigned)v;
			break;
		case O_TRIES:
			if (bp_parse_ulong(optarg, 1, 100, &v)) {
				LOG("--tries: 1..100\n");
				return 2;
			}
			o->tries = (unsigned)v;
			break;
		case O_LINK:
			if (bp_parse_ulong(optarg, 1, 3600, &v)) {
				LOG("--link-timeout: 1..3600 seconds\n");
				return 2;
			}
			o->link_timeout_s = (unsigned)v;
			break;
		case O_BURST:
			if (bp_parse_ulong(optarg, 1, BENCH_BURST, &v)) {
				LOG("--burst: 1..%d\n", BENCH_BURST);
				return 2;
			}
			o->burst = (unsigned)v;
			break;
		case O_WATCH:
			if (bp_parse_ulong(optarg, 1, 4194304, &v)) {
				LOG("--watch-pid: a process id\n");
				return 2;
			}
			o->watch_pid = (pid_t)v;
			break;
		case O_DELIVERED:
			if (bp_parse_ulong(optarg, 0, 1000000, &v)) {
				LOG("--delivered: 0..1000000\n");
				return 2;
			}
			o->delivered = (unsigned)v;
			break;
		case O_OPEN_ALL:
			o->open_all = 1;
			break;
		case O_LINGER:
			if (bp_parse_ulong(optarg, 1, 3600, &v)) {
				LOG("--linger: 1..3600 seconds\n");
				return 2;
			}
			o->linger_s = (unsigned)v;
			break;
		case O_WINDOW:
			if (bp_parse_ulong(optarg, 0, WIN_MAX, &v)) {
				LOG("--window: 0..%d\n", WIN_MAX);
				return 2;
			}
			o->window = (unsigned)v;
			break;
		case O_RETX_MS:
			if (bp_parse_ulong(optarg, 1, 10000, &v)) {
				LOG("--retx-ms: 1..10000\n");
				return 2;
			}
			o->retx_ms = (unsigned)v;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			fprintf(stderr, "Try 'sga-bench-relay --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		LOG("unexpected argument '%s' (EAL options go after '--')\n", argv[optind]);
		return 2;
	}
	if (!o->raw && !o->package) {
		LOG("--package FILE is required (or --raw)\n");
		return 2;
	}
	if (o->raw)
		o->window = 0; /* no protocol, no DATA_ACK to wait for */
	return 0;
}

int main(int argc, char **argv)
{
	struct bench *b = &g_b;
	struct sga_package pkg;
	int app_argc, ret = 1, eal_argc, rc;
	char **eal_argv, ip_gw[INET_ADDRSTRLEN], ip_dev[INET_ADDRSTRLEN];

	setvbuf(stdout, NULL, _IOLBF, 0); /* progress shows as it happens, also in a log */
	eal_argv = bp_eal_args(argc, argv, &app_argc, &eal_argc);
	if (!eal_argv)
		return 1;
	rc = parse_args(app_argc, argv, &b->o);
	if (rc) {
		free(eal_argv);
		return rc == 1 ? 0 : rc;
	}

	if (!b->o.raw && load_package(b->o.package, &pkg)) {
		free(eal_argv);
		return 1;
	}
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		LOG("EAL initialisation failed: %s\n", rte_strerror(rte_errno));
		free(eal_argv);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	dp_addr_set_ipv4(&b->gw, b->o.gw_ip);
	b->gw.port = b->o.gw_port;
	memset(b->gw.mac, 0xff, 6);
	for (int k = 0; k < 2; k++) {
		dp_addr_set_ipv4(&b->d[k].addr, b->o.dev_ip);
		b->d[k].addr.port = b->o.dev_port[k];
	}
	if (b->o.ipv6) {
		static const uint8_t gw6[16] = {0xfd, 0, 0, 0x77, 0, 0, 0, 0,
		                                0,    0, 0, 0,    0, 0, 0, 1},
		                     dev6[16] = {0xfd, 0, 0, 0x77, 0, 0, 0, 0,
		                                 0,    0, 0, 0,    0, 0, 0, 2};

		dp_addr_set_ipv6(&b->gw, gw6);
		for (int k = 0; k < 2; k++)
			dp_addr_set_ipv6(&b->d[k].addr, dev6);
	}
	b->hdr = dp_pkt_hdr_len(&b->d[0].addr, &b->gw);
	if (!b->o.raw) {
		for (int k = 0; k < 2; k++) {
			rc = sga_dev_init(&b->d[k].dev, &pkg, (const uint8_t *)b->o.id[k],
			                  (uint8_t)strlen(b->o.id[k]), b->o.suite, &b->o.suite, 1);
			if (rc) {
				LOG("device %s: %s\n", b->o.id[k], sga_err_desc(rc));
				goto out;
			}
		}
	}
	if (bp_port_start(&b->bp, "sga-bench-relay", BENCH_MBUFS, BENCH_DESC, b->o.link_timeout_s,
	                  &g_quit))
		goto out;
	for (int k = 0; k < 2; k++)
		memcpy(b->d[k].addr.mac, b->bp.mac, 6);

	if (b->o.raw) {
		INFO("raw mode: Eth/IPv4/UDP frames of the DATA_UP sizes (suite %s), every frame "
		     "returned counts\n",
		     sga_suite_get(b->o.suite)->name);
	} else {
		INFO("gateway %.*s at %s:%u; devices %s (%u) and %s (%u) at %s\n", pkg.id_len,
		     (const char *)pkg.id, bp_ip_str(b->o.gw_ip, ip_gw), ntohs(b->o.gw_port),
		     b->o.id[0], ntohs(b->o.dev_port[0]), b->o.id[1], ntohs(b->o.dev_port[1]),
		     bp_ip_str(b->o.dev_ip, ip_dev));
		if (ctl_step(b, "ARP for the gateway's MAC", arp_send, arp_done))
			goto out_port;
		INFO("  gateway MAC %02x:%02x:%02x:%02x:%02x:%02x\n", b->gw.mac[0], b->gw.mac[1],
		     b->gw.mac[2], b->gw.mac[3], b->gw.mac[4], b->gw.mac[5]);
		if (setup_protocol(b))
			goto out_port;
	}
	INFO("measuring: %.1f s per size after a %.1f s warm-up, bursts of %u\n", b->o.duration_s,
	     b->o.warmup_s, b->o.burst);
	for (unsigned i = 0; i < b->o.n_sizes; i++)
		if (g_quit || measure_size(b, b->o.sizes[i]))
			goto out_port;
	if (b->arp_answered)
		INFO("ARP requests answered: %llu\n", (unsigned long long)b->arp_answered);
	ret = g_quit ? 1 : 0;
	if (!g_quit && b->o.linger_s)
		bp_linger("sga-bench-relay", b->o.linger_s, &g_quit);
out_port:
	if (g_quit)
		LOG("interrupted: traffic stopped and drained before the port closes\n");
	/* Every measurement drained its tail; now the peer may see us go. */
	bp_port_stop(&b->bp);
out:
	if (!b->o.raw)
		for (int k = 0; k < 2; k++) {
			sga_dev_sess_wipe(&b->d[k].sess);
			sga_dev_fini(&b->d[k].dev);
		}
	free(b->held);
	free(b->win.acked);
	free(b->win.sent_tsc);
	free(b->win.tries);
	rte_eal_cleanup();
	free(eal_argv);
	return ret;
}
