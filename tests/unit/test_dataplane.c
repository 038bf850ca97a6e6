/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_dataplane.c - Criterion tests for the DPDK data plane (dataplane/dp.h).
 *
 * Each test process runs its own EAL (--no-huge --no-pci --no-shconf) and
 * builds the data plane's port from rings it owns (rte_eth_from_rings): a
 * frame enqueued on an RX ring is what the wire delivers, what the data plane
 * transmits lands on a TX ring where the test reads it. The lcore loop is
 * driven one iteration at a time (dp_poll_once) so every test is deterministic;
 * one test runs the real dp_lcore_main on a second lcore.
 *
 * Real frames come from the in-memory protocol harness (a gateway and two
 * devices that ran the whole protocol); the devices' own code must accept what
 * the data plane relays and acknowledges. Every spoofing test checks both the
 * exact drop counter and that nothing at all was transmitted.
 *
 * Every relay test runs three times (RELAY_TEST): on the CPU path, and with
 * the hop AEAD on the crypto_aesni_mb and on the crypto_openssl PMD, which the
 * data plane creates as vdevs. Polling drains the crypto queue (poll_q), so a
 * test sees the same frames whichever engine sealed them; the engine table and
 * the crypto_ops counter show which one did.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dp.h"
#include "dp_pkt.h"
#include "dp_priv.h"
#include "dp_store.h"
#include "harness.h"
#include "sga_rekey.h"
#include "sga_cookie.h"
#include "sga_keys.h"
#include "eal_tidy.h"
#include "sga_route.h"

#define MAXQ    2
#define TPOOL_N 2047
#define MAX_OUT 128

static struct rte_mempool *tpool;
static struct rte_ring *rxr[MAXQ], *txr[MAXQ];
static uint16_t port;
static struct dp *dp;
static struct dp_config cfg;
static unsigned lcore_ids[MAXQ] = {0, 1};
static struct dp_addr gw, gw6; /* the gateway's IPv4 and IPv6 address */
static const uint8_t GW6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}; /* fd00::1 */
static const char *crypto_dev = "cpu"; /* [crypto] device of the data plane under test */

struct out {
	uint8_t b[2048];
	size_t len;
};
static struct out outs[MAX_OUT];

/* ---- EAL and port --------------------------------------------------------------- */

static void eal_up(void)
{
	static int done;
	char prefix[64], lcores[64];
	char *argv[] = {"test_dataplane",
	                "--no-pci",
	                "--no-huge",
	                "-m",
	                "256",
	                "--no-shconf",
	                "--no-telemetry",
	                lcores,
	                "--log-level=lib.*:error",
	                "--log-level=sga.dp:warning",
	                prefix};
	int argc = (int)(sizeof(argv) / sizeof(argv[0]));

	if (done)
		return;
	snprintf(prefix, sizeof(prefix), "--file-prefix=sgatest%d", (int)getpid());
	/* Two lcores for the threaded test; on one CPU they share it. */
	snprintf(lcores, sizeof(lcores), "%s",
	         sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? "--lcores=0@0,1@1" : "--lcores=0@0,1@0");
	cr_assert_geq(rte_eal_init(argc, argv), 0, "rte_eal_init: %s", rte_strerror(rte_errno));
	eal_tidy();
	tpool = rte_pktmbuf_pool_create("t_pool", TPOOL_N, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
	                                SOCKET_ID_ANY);
	cr_assert_not_null(tpool);
	done = 1;
}

/* A ring-backed port with n queue pairs. */
static void port_make(unsigned n)
{
	static unsigned seq;
	char name[32];
	int p;

	eal_up();
	for (unsigned q = 0; q < n; q++) {
		snprintf(name, sizeof(name), "t_rx%u_%u", seq, q);
		rxr[q] = rte_ring_create(name, 1024, SOCKET_ID_ANY, 0);
		snprintf(name, sizeof(name), "t_tx%u_%u", seq, q);
		txr[q] = rte_ring_create(name, 1024, SOCKET_ID_ANY, 0);
		cr_assert(rxr[q] && txr[q]);
	}
	snprintf(name, sizeof(name), "t_port%u", seq++);
	p = rte_eth_from_rings(name, rxr, n, txr, n, SOCKET_ID_ANY);
	cr_assert_geq(p, 0);
	port = (uint16_t)p;
}

static void cfg_fill(unsigned n, unsigned n_workers, unsigned ring_size, unsigned max_sessions,
                     uint64_t block)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.port_id = port;
	cfg.n_lcores = n;
	cfg.lcore_ids = lcore_ids;
	cfg.gw_ip = htonl(0x0a000001);
	memcpy(cfg.gw_ip6, GW6, 16);
	cfg.gw_port = htons(7000);
	cfg.n_workers = n_workers;
	cfg.rx_desc = 128;
	cfg.tx_desc = 128;
	cfg.mbufs = 4096;
	cfg.ctrl_ring_size = ring_size;
	cfg.max_sessions = max_sessions;
	cfg.tx_seq_block = block;
	cfg.crypto_device = crypto_dev;
}

static void dp_start(void)
{
	struct rte_ether_addr mac;

	dp = dp_create(&cfg);
	cr_assert_not_null(dp, "dp_create: %s", strerror(errno));
	cr_assert_eq(rte_eth_macaddr_get(port, &mac), 0);
	memset(&gw, 0, sizeof(gw));
	memcpy(gw.mac, mac.addr_bytes, 6);
	dp_addr_set_ipv4(&gw, cfg.gw_ip);
	gw.port = cfg.gw_port;
	gw6 = gw;
	dp_addr_set_ipv6(&gw6, GW6);
}

/* A ring-backed port with n queue pairs and a data plane on it. */
static void dp_up_with(unsigned n, unsigned n_workers, unsigned ring_size, unsigned max_sessions,
                       uint64_t block)
{
	port_make(n);
	cfg_fill(n, n_workers, ring_size, max_sessions, block);
	dp_start();
}

static void dp_up(void)
{
	dp_up_with(1, 3, 64, 16, 64);
}

/* Every mbuf back in its pool: nothing leaked, nothing freed twice. */
static void dp_down(void)
{
	cr_assert_eq(rte_mempool_avail_count(tpool), TPOOL_N, "test pool: %u of %u back",
	             rte_mempool_avail_count(tpool), TPOOL_N);
	cr_assert_eq(rte_mempool_avail_count(dp->pool), cfg.mbufs, "dp pool: %u of %u back",
	             rte_mempool_avail_count(dp->pool), cfg.mbufs);
	dp_destroy(dp);
	dp = NULL;
	for (unsigned q = 0; q < MAXQ; q++) {
		rte_ring_free(rxr[q]);
		rte_ring_free(txr[q]);
		rxr[q] = txr[q] = NULL;
	}
}

/* ---- addresses and frames -------------------------------------------------------- */

static struct dp_addr dev_addr(unsigned k, uint16_t port_host)
{
	struct dp_addr a;

	memset(&a, 0, sizeof(a));
	memcpy(a.mac, (const uint8_t[]){0x02, 0x00, 0x00, 0x00, 0x01, (uint8_t)k}, 6);
	dp_addr_set_ipv4(&a, htonl(0x0a000100 + k)); /* 10.0.1.k */
	a.port = htons(port_host);
	return a;
}

/* Device k over IPv6 (fd00::1:k), untagged or on a VLAN (tci 0: none). */
static struct dp_addr dev6_addr(unsigned k, uint16_t port_host, uint16_t tci)
{
	struct dp_addr a = dev_addr(k, port_host);
	uint8_t ip[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, (uint8_t)k};

	dp_addr_set_ipv6(&a, ip);
	a.vlan = tci;
	return a;
}

/* The gateway's address in the family of a. */
static const struct dp_addr *gw_of(const struct dp_addr *a)
{
	return a->family == DP_AF_IPV6 ? &gw6 : &gw;
}

static void inject_raw(unsigned q, const uint8_t *f, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(tpool);
	uint8_t *p;

	cr_assert_not_null(m);
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
	cr_assert_not_null(p);
	memcpy(p, f, len);
	cr_assert_eq(rte_ring_enqueue(rxr[q], m), 0);
}

/* The SGA frame sga[0..len) in Eth[/802.1Q]/IP/UDP from `from` (its family
 * and VLAN tag) to the gateway. */
static void inject(unsigned q, const struct dp_addr *from, const uint8_t *sga, size_t len)
{
	uint8_t f[2048];

	memcpy(f + dp_pkt_hdr_len(from, gw_of(from)), sga, len);
	inject_raw(q, f, dp_pkt_udp_build(f, from, gw_of(from), 7, len));
}

/* One loop iteration of lcore q, then more until its crypto ops are all
 * done: a software PMD finishes within the first, but the data plane promises
 * no more than "a later iteration". */
static void poll_q(unsigned q)
{
	dp_poll_once(dp, q);
	for (int i = 0; i < 10000 && dp_crypto_pending(dp, q); i++)
		dp_poll_once(dp, q);
	cr_assert_eq(dp_crypto_pending(dp, q), 0, "crypto ops never completed");
}

/* hop AEAD operations the crypto device does for n, none on the CPU path */
static uint64_t dev_ops(uint64_t n)
{
	return strcmp(crypto_dev, "cpu") ? n : 0;
}

/* Take everything the data plane transmitted on queue q. */
static unsigned collect(unsigned q)
{
	struct rte_mbuf *m;
	unsigned n = 0;

	while (rte_ring_dequeue(txr[q], (void **)&m) == 0) {
		cr_assert_lt(n, MAX_OUT);
		cr_assert_eq(m->nb_segs, 1);
		outs[n].len = m->data_len;
		memcpy(outs[n].b, rte_pktmbuf_mtod(m, const uint8_t *), m->data_len);
		rte_pktmbuf_free(m);
		n++;
	}
	return n;
}

/* An output frame must reach `to` (its MAC, IP and port, valid checksums) from
 * the gateway; returns its SGA payload. */
static const uint8_t *payload_to(const struct out *o, const struct dp_addr *to, size_t *len)
{
	struct dp_pkt_meta meta;
	enum dp_pkt_class c = dp_pkt_classify(o->b, o->len, to, &meta);

	cr_assert_eq(c, DP_PKT_UDP, "output frame refused by its recipient: %s",
	             dp_counter_name(meta.drop));
	cr_assert_eq(meta.src.vlan, to->vlan, "output frame without the recipient's VLAN tag");
	meta.src.vlan = 0;
	cr_assert(dp_addr_equal(&meta.src, gw_of(to)), "output frame not from the gateway address");
	cr_assert_eq(meta.frame_len, o->len, "no trailing bytes");
	*len = meta.payload_len;
	return o->b + meta.payload_off;
}

static uint64_t ctr(enum dp_counter c)
{
	uint64_t v[DP_C__COUNT];

	dp_counters(dp, v);
	return v[c];
}

/* Every counter is zero except the listed ones, which have exactly these
 * values; crypto_ops (which engine did the work) is checked only where listed. */
struct ctr_want {
	enum dp_counter c;
	uint64_t v;
};
#define CTRS(...) expect_counters((const struct ctr_want[]){__VA_ARGS__, {DP_C__COUNT, 0}})

static void expect_counters(const struct ctr_want *w)
{
	uint64_t v[DP_C__COUNT], want[DP_C__COUNT] = {0};
	bool listed[DP_C__COUNT] = {false};

	for (; w->c != DP_C__COUNT; w++) {
		want[w->c] = w->v;
		listed[w->c] = true;
	}
	dp_counters(dp, v);
	for (int c = 0; c < DP_C__COUNT; c++)
		if (c != DP_C_CRYPTO_OPS || listed[c])
			cr_assert_eq(v[c], want[c], "counter %s = %llu, want %llu",
			             dp_counter_name((enum dp_counter)c), (unsigned long long)v[c],
			             (unsigned long long)want[c]);
}

/* ---- sessions ----------------------------------------------------------------------- */

static const uint8_t SUITES_I[] = {SGA_SUITE_AES128_CCM8, SGA_SUITE_AES128_GCM}; /* hop tag 8 */
static const uint8_t SUITES_J[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_AES128_CCM8}; /* hop tag 16 */
static const uint8_t PREFS[] = {SGA_SUITE_AES128_GCM};

static struct harness *session_new(void)
{
	struct harness *h = calloc(1, sizeof(*h));

	cr_assert_not_null(h);
	cr_assert_eq(harness_init(h, SGA_GROUP_FFDHE2048, SUITES_I, 2, SUITES_J, 2), 0);
	cr_assert_eq(harness_register(h, 0), 0);
	cr_assert_eq(harness_register(h, 1), 0);
	cr_assert_eq(harness_negotiate(h, PREFS, 1), 0);
	/* The data plane takes the record over right after B7, hop sequences at 0. */
	cr_assert_eq(harness_kex_preconfirmed(h), 0);
	cr_assert_eq(h->gsess.state, SGA_GW_S_ESTABLISHED);
	return h;
}

static void session_free(struct harness *h)
{
	harness_fini(h);
	free(h);
}

static void install(struct harness *h, const struct dp_addr addr[2], uint64_t limit0,
                    uint64_t limit1, uint64_t rx_next0)
{
	const uint64_t tx_seq[2] = {0, 0}, tx_limit[2] = {limit0, limit1},
	               rx_next[2] = {rx_next0, 0};

	cr_assert_eq(dp_session_install(dp, &h->gsess, addr, tx_seq, tx_limit, rx_next), 0);
}

static size_t seal(struct harness *h, int from, const uint8_t *msg, size_t len, uint8_t *frame)
{
	size_t flen;

	cr_assert_eq(sga_dev_data_seal(&h->sess[from], msg, len, frame, SGA_FRAME_MAX, &flen), 0);
	return flen;
}

static void fill(uint8_t *m, size_t len, unsigned tag)
{
	for (size_t i = 0; i < len; i++)
		m[i] = (uint8_t)(i * 7 + tag);
}

/* outs[k] is the DATA_DOWN for member `to` carrying msg. */
static void expect_data(struct harness *h, unsigned k, int to, const struct dp_addr *to_addr,
                        const uint8_t *msg, size_t len)
{
	uint8_t got[SGA_FRAME_MAX];
	size_t plen, glen;
	const uint8_t *p = payload_to(&outs[k], to_addr, &plen);

	cr_assert_eq(p[1], SGA_MSG_DATA_DOWN);
	cr_assert_eq(sga_dev_data_open(&h->sess[to], p, plen, got, sizeof(got), &glen), 0);
	cr_assert_eq(glen, len);
	cr_assert_arr_eq(got, msg, len);
}

/* outs[k] is a DATA_ACK for member `to`; returns what it names. */
static struct sga_data_ack_plain open_ack(struct harness *h, unsigned k, int to,
                                          const struct dp_addr *to_addr)
{
	struct sga_data_ack_plain a;
	size_t plen;
	const uint8_t *p = payload_to(&outs[k], to_addr, &plen);

	cr_assert_eq(p[1], SGA_MSG_DATA_ACK);
	cr_assert_eq(sga_dev_ack_open(&h->sess[to], p, plen, &a), 0);
	return a;
}

/* outs[k] is a DATA_ACK for member `to` naming e2e_seq, the highest it names
 * (sent for that message; the ones before it may be named too). */
static void expect_ack(struct harness *h, unsigned k, int to, const struct dp_addr *to_addr,
                       uint64_t e2e_seq)
{
	struct sga_data_ack_plain a = open_ack(h, k, to, to_addr);

	cr_assert_eq(a.top, e2e_seq + 1, "top %llu, want %llu", (unsigned long long)a.top,
	             (unsigned long long)e2e_seq + 1);
}

/* One message from `from` through the data plane: relayed to the peer, acked. */
static void send_ok(struct harness *h, int from, const struct dp_addr addr[2],
                    const struct dp_addr *src, size_t len, unsigned tag)
{
	uint8_t msg[SGA_FRAME_MAX], frame[SGA_FRAME_MAX];
	size_t flen;

	fill(msg, len, tag);
	flen = seal(h, from, msg, len, frame);
	inject(0, src ? src : &addr[from], frame, flen);
	poll_q(0);
	cr_assert_eq(collect(0), 2);
	expect_data(h, 0, from ^ 1, &addr[from ^ 1], msg, len);
	expect_ack(h, 1, from, src ? src : &addr[from], sga_dev_data_last_seq(&h->sess[from]));
}

/* Inject a frame and check that nothing at all leaves the gateway. */
static void send_dropped(unsigned q, const struct dp_addr *src, const uint8_t *frame, size_t len)
{
	inject(q, src, frame, len);
	poll_q(q);
	cr_assert_eq(collect(q), 0, "a dropped frame produced output");
}

TestSuite(dataplane, .timeout = 120);

/* A relay test, once per engine of the hop AEAD. */
#define RELAY_TEST(name)                        \
	static void name(void);                 \
	Test(dataplane, name##_cpu)             \
	{                                       \
		crypto_dev = "cpu";             \
		name();                         \
	}                                       \
	Test(dataplane, name##_aesni_mb)        \
	{                                       \
		crypto_dev = "crypto_aesni_mb"; \
		name();                         \
	}                                       \
	Test(dataplane, name##_openssl)         \
	{                                       \
		crypto_dev = "crypto_openssl";  \
		name();                         \
	}                                       \
	static void name(void)

/* ---- set-up ------------------------------------------------------------------------------- */

static void expect_create_fails(const struct dp_config *c, int err)
{
	errno = 0;
	cr_assert_null(dp_create(c));
	cr_assert_eq(errno, err, "errno %d (%s), want %d", errno, strerror(errno), err);
}

Test(dataplane, create_rejects_bad_config)
{
	static const unsigned dup_ids[2] = {0, 0};
	struct dp_config c;

	port_make(1);
	cfg_fill(1, 3, 64, 16, 64);
	expect_create_fails(NULL, EINVAL);
	c = cfg;
	c.n_lcores = 2; /* the port has one queue pair */
	expect_create_fails(&c, EINVAL);
	c.lcore_ids = dup_ids;
	expect_create_fails(&c, EINVAL);
	c = cfg;
	c.ctrl_ring_size = 48;
	expect_create_fails(&c, EINVAL);
	c = cfg;
	c.n_workers = 0;
	expect_create_fails(&c, EINVAL);
	c = cfg;
	c.tx_seq_block = 1;
	expect_create_fails(&c, EINVAL);
	c = cfg;
	c.max_sessions = 0;
	expect_create_fails(&c, EINVAL);
	c = cfg;
	c.gw_port = 0;
	expect_create_fails(&c, EINVAL);
	c = cfg;
	c.port_id = RTE_MAX_ETHPORTS - 1;
	expect_create_fails(&c, ENODEV);
	c = cfg;
	c.crypto_device = "crypto_foo";
	expect_create_fails(&c, EINVAL);
	c = cfg;
	c.crypto_device = "crypto_qat"; /* no QAT VF probed here (--no-pci) */
	expect_create_fails(&c, ENODEV);
	dp_start(); /* and the port is still usable */
	CTRS({DP_C_RX, 0});
	dp_down();
}

/* ---- relay ---------------------------------------------------------------------------- */

RELAY_TEST(relay_both_directions)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	static const size_t lens[] = {0, 1, 8, 100, 1000};

	dp_up();
	install(h, addr, 1000, 1000, 0);
	cr_assert_eq(dp_session_count(dp), 1);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		send_ok(h, 0, addr, NULL, lens[i], (unsigned)i); /* tag 8 -> 16: the mbuf grows */
		send_ok(h, 1, addr, NULL, lens[i], (unsigned)i); /* 16 -> 8: it shrinks */
	}
	/* Both suites (CCM8, GCM) are on the device when there is one: an open,
	 * a seal and an ACK per message. */
	CTRS({DP_C_RX, 10}, {DP_C_DATA_IN, 10}, {DP_C_RELAYED, 10}, {DP_C_ACK_SENT, 10},
	     {DP_C_ACKED_MSGS, 10}, {DP_C_TX, 20}, {DP_C_ADDR_LEARNED, 0},
	     {DP_C_CRYPTO_OPS, dev_ops(30)});
	dp_down();
	session_free(h);
}

/* Two IPv6 devices, untagged: both directions, every length (the hop tag
 * grows and shrinks the mbuf as over IPv4). */
RELAY_TEST(relay_ipv6_both_directions)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev6_addr(0, 40000, 0), dev6_addr(1, 40001, 0)};
	static const size_t lens[] = {0, 1, 8, 100, 1000};

	dp_up();
	install(h, addr, 1000, 1000, 0);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		send_ok(h, 0, addr, NULL, lens[i], (unsigned)i);
		send_ok(h, 1, addr, NULL, lens[i], (unsigned)i);
	}
	CTRS({DP_C_RX, 10}, {DP_C_DATA_IN, 10}, {DP_C_RELAYED, 10}, {DP_C_ACK_SENT, 10},
	     {DP_C_ACKED_MSGS, 10}, {DP_C_TX, 20}, {DP_C_CRYPTO_OPS, dev_ops(30)});
	dp_down();
	session_free(h);
}

/* Devices on two VLANs (one tag each, priority bits set on one): every
 * DATA_DOWN and DATA_ACK carries the tag its recipient's frames came with,
 * over IPv4 and over IPv6. */
RELAY_TEST(relay_vlan_tagged)
{
	for (int v6 = 0; v6 < 2; v6++) {
		struct harness *h = session_new();
		struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};

		if (v6) {
			addr[0] = dev6_addr(0, 40000, 0);
			addr[1] = dev6_addr(1, 40001, 0);
		}
		addr[0].vlan = 0x002a;          /* VID 42 */
		addr[1].vlan = 0xa000 | 0x0064; /* PCP 5, VID 100 */
		dp_up();
		install(h, addr, 1000, 1000, 0);
		for (unsigned i = 0; i < 3; i++) {
			send_ok(h, 0, addr, NULL, 10 + 90 * i, i);
			send_ok(h, 1, addr, NULL, 10 + 90 * i, i);
		}
		CTRS({DP_C_RX, 6}, {DP_C_RX_VLAN, 6}, {DP_C_DATA_IN, 6}, {DP_C_RELAYED, 6},
		     {DP_C_ACK_SENT, 6}, {DP_C_ACKED_MSGS, 6}, {DP_C_TX, 12},
		     {DP_C_CRYPTO_OPS, dev_ops(18)});
		dp_down();
		session_free(h);
	}
}

/* One member over IPv4 on a VLAN, the other over IPv6 untagged: the headers
 * in front of each relayed frame are rewritten to the recipient's family
 * (the mbuf's head grows by 20 bytes one way, shrinks the other). A member
 * that moves to another family and tag is learned from its authentic frame
 * like any other move. */
RELAY_TEST(relay_across_families_and_moves)
{
	struct harness *h = session_new();
	struct dp_addr addr[2] = {dev_addr(0, 40000), dev6_addr(1, 40001, 0)};
	const struct dp_addr moved = dev6_addr(7, 50000, 0x0007);

	addr[0].vlan = 0x002a;
	dp_up();
	install(h, addr, 1000, 1000, 0);
	for (unsigned i = 0; i < 3; i++) {
		send_ok(h, 0, addr, NULL, 100 * i, i);
		send_ok(h, 1, addr, NULL, 100 * i, i);
	}
	/* Member 0 comes back over IPv6 on VLAN 7: its ACK goes there, and so
	 * does what member 1 sends next. */
	send_ok(h, 0, addr, &moved, 33, 9);
	addr[0] = moved;
	send_ok(h, 1, addr, NULL, 44, 10);
	CTRS({DP_C_RX, 8}, {DP_C_RX_VLAN, 4}, {DP_C_DATA_IN, 8}, {DP_C_RELAYED, 8},
	     {DP_C_ACK_SENT, 8}, {DP_C_ACKED_MSGS, 8}, {DP_C_TX, 16}, {DP_C_ADDR_LEARNED, 1},
	     {DP_C_CRYPTO_OPS, dev_ops(24)});
	dp_down();
	session_free(h);
}

/* The largest message each device may send (sga_dev_data_max budgets for the
 * longest hop tag) relays both ways. A frame that would outgrow SGA_FRAME_MAX
 * once re-sealed with the peer's longer tag (a device ignoring that budget,
 * CCM8 -> GCM) is dropped as drop_reseal, never sent truncated. */
RELAY_TEST(largest_messages)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	uint8_t inner[SGA_FRAME_MAX], frame[SGA_FRAME_MAX];
	size_t flen, inner_len = SGA_FRAME_MAX - SGA_HOP_HDR_LEN - 8; /* CCM8 hop tag */

	dp_up();
	install(h, addr, 1000, 1000, 0);
	send_ok(h, 0, addr, NULL, sga_dev_data_max(&h->sess[0]), 1);
	send_ok(h, 1, addr, NULL, sga_dev_data_max(&h->sess[1]), 2);
	fill(inner, inner_len, 3);
	memset(inner, 0, 8); /* e2e_seq 0; the E2E ciphertext is opaque to the gateway */
	cr_assert_eq(sga_seal_hop(SGA_MSG_DATA_UP, h->sess[0].session_id, 0, h->sess[0].hop_epoch,
	                          h->sess[0].hop_tx_seq, h->sess[0].hop_suite, h->sess[0].hop_up,
	                          inner, inner_len, frame, sizeof(frame), &flen),
	             0);
	cr_assert_eq(flen, SGA_FRAME_MAX);
	send_dropped(0, &addr[0], frame, flen);
	CTRS({DP_C_RX, 3}, {DP_C_DATA_IN, 3}, {DP_C_RELAYED, 2}, {DP_C_ACK_SENT, 2},
	     {DP_C_ACKED_MSGS, 2}, {DP_C_TX, 4}, {DP_C_DROP_RESEAL, 1});
	dp_down();
	session_free(h);
}

/* A rekey (PROTOCOL.md 7.15) re-installs the session under its new generation
 * (as cp_rekey.c does): a DATA_UP sealed under the old keys and still on its
 * way is opened (old up key, the member's carried window), relayed under the
 * new keys and taken without teaching an address; the member's first frame
 * under its new key wipes the old one, and a later old frame is dropped. */
RELAY_TEST(rekey_opens_old_frames_in_flight_until_the_new_keys_are_used)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	const struct dp_addr roamed = dev_addr(5, 40005), none[2] = {{.port = 0}, {.port = 0}};
	const uint64_t tx_seq[2] = {5000, 5000}, tx_limit[2] = {9000, 9000}, rx_next[2] = {0, 0};
	uint8_t msg[24], old1[SGA_FRAME_MAX], old2[SGA_FRAME_MAX], f[SGA_FRAME_MAX];
	uint8_t got[SGA_FRAME_MAX];
	size_t n1, n2, n, plen, glen;
	const uint8_t *p;

	dp_up();
	install(h, addr, 1000, 1000, 0);
	send_ok(h, 0, addr, NULL, 20, 1);
	send_ok(h, 1, addr, NULL, 20, 2);
	fill(msg, sizeof(msg), 3);
	n1 = seal(h, 0, msg, sizeof(msg), old1);
	n2 = seal(h, 0, msg, 10, old2);
	cr_assert_eq(harness_rekey_only(h, 1), 0);
	cr_assert_eq(dp_session_install(dp, &h->gsess, none, tx_seq, tx_limit, rx_next), 0);

	/* In flight from before, from another source: relayed, address kept. */
	inject(0, &roamed, old1, n1);
	poll_q(0);
	cr_assert_eq(collect(0), 2);
	expect_data(h, 0, 1, &addr[1], msg, sizeof(msg));
	expect_ack(h, 1, 0, &addr[0], sga_dev_data_last_seq(&h->sess[0]) - 1);
	cr_assert_eq(ctr(DP_C_REKEY_OLD_GEN), 1);
	/* d_i's confirmation under its new keys ends its overlap at the gateway. */
	cr_assert_eq(sga_dev_create_rekey_confirm(&h->sess[0], f, sizeof(f), &n), 0);
	inject(0, &addr[0], f, n);
	poll_q(0);
	cr_assert_eq(collect(0), 2);
	p = payload_to(&outs[0], &addr[1], &plen);
	cr_assert_eq(sga_dev_data_open(&h->sess[1], p, plen, got, sizeof(got), &glen),
	             SGA_DEV_REKEY_CONFIRMED);
	cr_assert_eq(ctr(DP_C_REKEY_RETIRED), 1);
	send_dropped(0, &addr[0], old2, n2);
	cr_assert_eq(ctr(DP_C_DROP_HOP_AUTH), 1);
	/* d_j still on the overlap's old key until its own first new frame. */
	send_ok(h, 0, addr, NULL, 30, 4);
	cr_assert_eq(ctr(DP_C_REKEY_OLD_GEN), 1);
	cr_assert_eq(ctr(DP_C_ADDR_LEARNED), 0, "the old frame from elsewhere moved no address");
	dp_down();
	session_free(h);
}

/* IPv4 options and Ethernet padding on the way in; a clean frame on the way out. */
RELAY_TEST(relay_strips_ip_options_and_padding)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	uint8_t msg[16], frame[SGA_FRAME_MAX], f[2048], g[2048];
	size_t flen, len;

	dp_up();
	install(h, addr, 1000, 1000, 0);
	fill(msg, sizeof(msg), 9);
	flen = seal(h, 1, msg, sizeof(msg), frame);
	memcpy(f + DP_PKT_HDR_LEN, frame, flen);
	len = dp_pkt_udp_build(f, &addr[1], &gw, 1, flen);
	/* 8 option bytes (NOPs), checksums redone by rebuilding the header sums. */
	memcpy(g, f, 34);
	memset(g + 34, 1, 8);
	memcpy(g + 42, f + 34, len - 34);
	g[14] = 0x47;
	g[16] = (uint8_t)((28 + 8 + flen) >> 8);
	g[17] = (uint8_t)(28 + 8 + flen);
	g[24] = g[25] = 0;
	{
		uint32_t s = 0;

		for (int i = 0; i < 28; i += 2)
			s += (uint32_t)(g[14 + i] << 8 | g[15 + i]);
		while (s >> 16)
			s = (s & 0xffff) + (s >> 16);
		g[24] = (uint8_t)(~s >> 8);
		g[25] = (uint8_t)~s;
	}
	g[48] = g[49] = 0; /* UDP checksum 0: none */
	memset(g + len + 8, 0, 20);
	inject_raw(0, g, len + 8 + 20);
	poll_q(0);
	cr_assert_eq(collect(0), 2);
	expect_data(h, 0, 0, &addr[0], msg, sizeof(msg));
	expect_ack(h, 1, 1, &addr[1], sga_dev_data_last_seq(&h->sess[1]));
	dp_down();
	session_free(h);
}

/* ---- crypto engines ------------------------------------------------------------------------- */

/* What serves each suite: crypto_openssl lacks ChaCha20-Poly1305 in 22.11 and
 * no PMD has Ascon, so those stay on the CPU, and the report says why. */
RELAY_TEST(engine_table)
{
	const bool dev = strcmp(crypto_dev, "cpu") != 0;
	const struct sga_suite_info *list;
	char line[128], want[128];
	size_t n;

	dp_up();
	list = sga_suite_list(&n);
	for (size_t i = 0; i < n; i++) {
		bool ascon = list[i].id == SGA_SUITE_ASCON_AEAD128;
		bool on_dev = dev && !ascon &&
		              !(!strcmp(crypto_dev, "crypto_openssl") &&
		                list[i].id == SGA_SUITE_CHACHA20_POLY1305);

		if (on_dev) {
			snprintf(want, sizeof(want), "cryptodev:%s", crypto_dev);
			cr_assert_str_eq(dp_aead_engine(dp, list[i].id), want);
			snprintf(want, sizeof(want), "aead %s: cryptodev %s", list[i].name,
			         crypto_dev);
		} else {
			cr_assert_str_eq(dp_aead_engine(dp, list[i].id), "cpu");
			snprintf(want, sizeof(want), "aead %s: cpu (%s)", list[i].name,
			         !dev    ? "[crypto] device = cpu"
			         : ascon ? "no cryptodev algorithm for it in DPDK"
			                 : "crypto_openssl lacks it");
		}
		cr_assert_str_eq(dp_aead_report(dp, list[i].id, line, sizeof(line)), want);
	}
	cr_assert_str_eq(dp_aead_engine(dp, 0x77), "unknown");
	dp_down();
}

/* One member on ChaCha20-Poly1305, the other on AES-128-GCM: with
 * crypto_openssl the first is opened and sealed on the CPU, the second on the
 * device, and a frame crosses from one engine to the other in each direction. */
RELAY_TEST(mixed_engines_relay)
{
	static const uint8_t si[] = {SGA_SUITE_CHACHA20_POLY1305, SGA_SUITE_AES128_GCM};
	static const uint8_t sj[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_CHACHA20_POLY1305};
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	struct harness *h = calloc(1, sizeof(*h));
	uint64_t ops;

	cr_assert_not_null(h);
	cr_assert_eq(harness_init(h, SGA_GROUP_FFDHE2048, si, 2, sj, 2), 0);
	cr_assert_eq(harness_register(h, 0), 0);
	cr_assert_eq(harness_register(h, 1), 0);
	cr_assert_eq(harness_negotiate(h, PREFS, 1), 0);
	/* The data plane takes the record over right after B7, hop sequences at 0. */
	cr_assert_eq(harness_kex_preconfirmed(h), 0);
	cr_assert_eq(h->gsess.hop_suite[0], SGA_SUITE_CHACHA20_POLY1305);
	cr_assert_eq(h->gsess.hop_suite[1], SGA_SUITE_AES128_GCM);
	dp_up();
	install(h, addr, 1000, 1000, 0);
	for (unsigned k = 0; k < 3; k++) {
		send_ok(h, 0, addr, NULL, 100 + k, k);
		send_ok(h, 1, addr, NULL, 200 + k, k);
	}
	/* i -> j: open i, seal j, ACK i; j -> i: open j, seal i, ACK j. */
	if (!strcmp(crypto_dev, "crypto_openssl"))
		ops = 3 * (1 + 2);
	else
		ops = dev_ops(3 * 6);
	CTRS({DP_C_RX, 6}, {DP_C_DATA_IN, 6}, {DP_C_RELAYED, 6}, {DP_C_ACK_SENT, 6},
	     {DP_C_ACKED_MSGS, 6}, {DP_C_TX, 12}, {DP_C_CRYPTO_OPS, ops});
	dp_down();
	session_free(h);
}

/* One member on Ascon-AEAD128, the other on AES-128-GCM: no PMD has Ascon, so
 * with a crypto device the first is opened and sealed on the CPU whatever the
 * device, the second on the device; frames cross between the two engines. */
RELAY_TEST(ascon_member_on_the_cpu_path)
{
	static const uint8_t si[] = {SGA_SUITE_ASCON_AEAD128, SGA_SUITE_AES128_GCM};
	static const uint8_t sj[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_ASCON_AEAD128};
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	struct harness *h = calloc(1, sizeof(*h));

	cr_assert_not_null(h);
	cr_assert_eq(harness_init(h, SGA_GROUP_FFDHE2048, si, 2, sj, 2), 0);
	cr_assert_eq(harness_register(h, 0), 0);
	cr_assert_eq(harness_register(h, 1), 0);
	cr_assert_eq(harness_negotiate(h, PREFS, 1), 0);
	cr_assert_eq(harness_kex_preconfirmed(h), 0);
	cr_assert_eq(h->gsess.hop_suite[0], SGA_SUITE_ASCON_AEAD128);
	cr_assert_eq(h->gsess.hop_suite[1], SGA_SUITE_AES128_GCM);
	dp_up();
	cr_assert_str_eq(dp_aead_engine(dp, SGA_SUITE_ASCON_AEAD128), "cpu");
	install(h, addr, 1000, 1000, 0);
	for (unsigned k = 0; k < 3; k++) {
		send_ok(h, 0, addr, NULL, 100 + k, k);
		send_ok(h, 1, addr, NULL, 1400 + k, k);
	}
	/* Device ops only for the GCM member: i -> j seals j; j -> i opens j and
	 * ACKs j. */
	CTRS({DP_C_RX, 6}, {DP_C_DATA_IN, 6}, {DP_C_RELAYED, 6}, {DP_C_ACK_SENT, 6},
	     {DP_C_ACKED_MSGS, 6}, {DP_C_TX, 12}, {DP_C_CRYPTO_OPS, dev_ops(3 * (1 + 2))});
	dp_down();
	session_free(h);
}

/* A forgery in the middle of a burst: the device fails that op alone; the
 * frames around it are relayed and acknowledged, in order. */
RELAY_TEST(bad_tag_in_burst_dropped_alone)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	static uint8_t frames[5][SGA_FRAME_MAX];
	uint8_t msg[5][40], got[SGA_FRAME_MAX];
	uint64_t e2e[5];
	size_t lens[5], plen, glen;
	unsigned n_data = 0, n_ack = 0;
	const unsigned kept[4] = {0, 1, 3, 4};

	dp_up();
	install(h, addr, 1000, 1000, 0);
	for (unsigned k = 0; k < 5; k++) {
		fill(msg[k], sizeof(msg[k]), k);
		lens[k] = seal(h, 0, msg[k], sizeof(msg[k]), frames[k]);
		e2e[k] = sga_dev_data_last_seq(&h->sess[0]);
	}
	frames[2][lens[2] - 1] ^= 0x80; /* the last tag byte */
	for (unsigned k = 0; k < 5; k++)
		inject(0, &addr[0], frames[k], lens[k]);
	poll_q(0);
	cr_assert_eq(collect(0), 5, "4 relayed, one DATA_ACK for the burst");
	for (unsigned o = 0; o < 5; o++) {
		if (outs[o].b[DP_PKT_HDR_LEN + 1] == SGA_MSG_DATA_DOWN) {
			const uint8_t *p = payload_to(&outs[o], &addr[1], &plen);

			cr_assert_lt(n_data, 4);
			cr_assert_eq(
			    sga_dev_data_open(&h->sess[1], p, plen, got, sizeof(got), &glen), 0);
			cr_assert_eq(glen, sizeof(msg[0]));
			cr_assert_arr_eq(got, msg[kept[n_data]], glen);
			n_data++;
		} else {
			struct sga_data_ack_plain a = open_ack(h, o, 0, &addr[0]);

			cr_assert_eq(n_ack, 0);
			cr_assert_eq(n_data, 4, "after the relays");
			cr_assert_eq(a.top, e2e[4] + 1);
			for (unsigned k = 0; k < 5; k++)
				cr_assert_eq(sga_data_ack_names(&a, e2e[k]), k != 2,
				             "message %u named iff relayed", k);
			n_ack++;
		}
	}
	CTRS({DP_C_RX, 5}, {DP_C_DATA_IN, 5}, {DP_C_DROP_HOP_AUTH, 1}, {DP_C_RELAYED, 4},
	     {DP_C_ACK_SENT, 1}, {DP_C_ACKED_MSGS, 4}, {DP_C_TX, 5},
	     {DP_C_CRYPTO_OPS, dev_ops(5 + 4 + 1)});
	dp_down();
	session_free(h);
}

/* [crypto] aead_sessions = 1: the pool holds the four cryptodev sessions of
 * one install (and two more). The second session's initiator gets the last two
 * sessions, its responder none: that member relays on the CPU, it is counted,
 * and both sessions still relay both ways. */
RELAY_TEST(cryptodev_sessions_spent_cpu_fallback)
{
	struct harness *a = session_new(), *b = session_new();
	const struct dp_addr addr_a[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	const struct dp_addr addr_b[2] = {dev_addr(2, 40002), dev_addr(3, 40003)};
	const bool dev = strcmp(crypto_dev, "cpu") != 0;

	port_make(1);
	cfg_fill(1, 3, 64, 16, 64);
	cfg.crypto_sessions = 1;
	dp_start();
	install(a, addr_a, 1000, 1000, 0);
	cr_assert_eq(ctr(DP_C_CRYPTO_SESS_CPU), 0);
	install(b, addr_b, 1000, 1000, 0);
	cr_assert_eq(ctr(DP_C_CRYPTO_SESS_CPU), dev ? 1 : 0);
	send_ok(a, 0, addr_a, NULL, 30, 1);
	send_ok(a, 1, addr_a, NULL, 30, 2);
	send_ok(b, 0, addr_b, NULL, 30, 3);
	send_ok(b, 1, addr_b, NULL, 30, 4);
	/* a: 3 device ops per message. b: i -> j: open i (device), seal j (CPU),
	 * ACK i (device); j -> i: open j (CPU), seal i (device), ACK j (CPU). */
	CTRS({DP_C_RX, 4}, {DP_C_DATA_IN, 4}, {DP_C_RELAYED, 4}, {DP_C_ACK_SENT, 4},
	     {DP_C_ACKED_MSGS, 4}, {DP_C_TX, 8}, {DP_C_CRYPTO_SESS_CPU, dev ? 1 : 0},
	     {DP_C_CRYPTO_OPS, dev_ops(3 + 3 + 2 + 1)});
	dp_down();
	session_free(a);
	session_free(b);
}

/* The data plane gives its device back (the vdev it created is removed), so a
 * second one in the same process gets it again. */
RELAY_TEST(crypto_device_recreated)
{
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};

	for (unsigned round = 0; round < 2; round++) {
		struct harness *h = session_new();

		dp_up();
		cr_assert_eq(strcmp(dp_aead_engine(dp, SGA_SUITE_AES128_GCM), "cpu") != 0,
		             strcmp(crypto_dev, "cpu") != 0);
		install(h, addr, 1000, 1000, 0);
		send_ok(h, 0, addr, NULL, 50, round);
		CTRS({DP_C_RX, 1}, {DP_C_DATA_IN, 1}, {DP_C_RELAYED, 1}, {DP_C_ACK_SENT, 1},
		     {DP_C_ACKED_MSGS, 1}, {DP_C_TX, 2}, {DP_C_CRYPTO_OPS, dev_ops(3)});
		dp_down();
		session_free(h);
	}
}

/* ---- spoofing and replay ------------------------------------------------------------------- */

RELAY_TEST(wrong_hop_tag_dropped)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	const struct dp_addr attacker = dev_addr(9, 6666);
	uint8_t msg[32], frame[SGA_FRAME_MAX], bad[SGA_FRAME_MAX];
	size_t flen;

	dp_up();
	install(h, addr, 1000, 1000, 0);
	fill(msg, sizeof(msg), 1);
	flen = seal(h, 0, msg, sizeof(msg), frame);
	for (size_t pos = SGA_HOP_HDR_LEN; pos < flen; pos += 7) { /* ciphertext and tag */
		memcpy(bad, frame, flen);
		bad[pos] ^= 0x01;
		send_dropped(0, &attacker, bad, flen);
	}
	memcpy(bad, frame, flen);
	bad[SGA_HOP_HDR_LEN - 1] ^= 0x01; /* hop seq: authenticated as AAD */
	send_dropped(0, &attacker, bad, flen);
	memcpy(bad, frame, flen);
	bad[12] ^= 0x01; /* role: the responder's key does not open it either */
	send_dropped(0, &attacker, bad, flen);
	/* The forgeries moved neither the window nor the address. */
	inject(0, &addr[0], frame, flen);
	poll_q(0);
	cr_assert_eq(collect(0), 2);
	expect_data(h, 0, 1, &addr[1], msg, sizeof(msg));
	expect_ack(h, 1, 0, &addr[0], sga_dev_data_last_seq(&h->sess[0]));
	uint64_t n_bad = ctr(DP_C_DROP_HOP_AUTH);
	cr_assert_eq(n_bad, (flen - SGA_HOP_HDR_LEN + 6) / 7 + 2);
	CTRS({DP_C_RX, n_bad + 1}, {DP_C_DATA_IN, n_bad + 1}, {DP_C_DROP_HOP_AUTH, n_bad},
	     {DP_C_RELAYED, 1}, {DP_C_ACK_SENT, 1}, {DP_C_ACKED_MSGS, 1}, {DP_C_TX, 2});
	dp_down();
	session_free(h);
}

RELAY_TEST(unknown_session_dropped)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	uint8_t msg[32], frame[SGA_FRAME_MAX];
	size_t flen;

	dp_up();
	fill(msg, sizeof(msg), 1);
	flen = seal(h, 0, msg, sizeof(msg), frame);
	send_dropped(0, &addr[0], frame, flen); /* not installed yet */
	install(h, addr, 1000, 1000, 0);
	frame[4 + 7] ^= 0x5a; /* another session id */
	send_dropped(0, &addr[0], frame, flen);
	CTRS({DP_C_RX, 2}, {DP_C_DATA_IN, 2}, {DP_C_DROP_UNKNOWN_SESSION, 2});
	dp_down();
	session_free(h);
}

/* A hop-level duplicate is acknowledged again (the first ACK may have been
 * lost) but never relayed twice; the ACK goes to the address learned from
 * authentic fresh frames, not to whoever replayed it. */
RELAY_TEST(replay_acked_not_relayed)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	const struct dp_addr attacker = dev_addr(9, 6666);
	uint8_t msg[32], frame[SGA_FRAME_MAX];
	size_t flen;
	uint64_t e2e;

	dp_up();
	install(h, addr, 1000, 1000, 0);
	fill(msg, sizeof(msg), 1);
	flen = seal(h, 0, msg, sizeof(msg), frame);
	e2e = sga_dev_data_last_seq(&h->sess[0]);
	inject(0, &addr[0], frame, flen);
	poll_q(0);
	cr_assert_eq(collect(0), 2);
	expect_data(h, 0, 1, &addr[1], msg, sizeof(msg));
	expect_ack(h, 1, 0, &addr[0], e2e);

	inject(0, &addr[0], frame, flen);
	inject(0, &attacker, frame, flen);
	poll_q(0);
	cr_assert_eq(collect(0), 1, "one ACK for both duplicates of the burst, no relay");
	expect_ack(h, 0, 0, &addr[0], e2e);
	/* One more duplicate, alone: acknowledged again. */
	inject(0, &attacker, frame, flen);
	poll_q(0);
	cr_assert_eq(collect(0), 1);
	expect_ack(h, 0, 0, &addr[0], e2e);
	/* And the peer still reaches the device at its real address. */
	send_ok(h, 1, addr, NULL, 10, 2);
	CTRS({DP_C_RX, 5}, {DP_C_DATA_IN, 5}, {DP_C_RELAYED, 2}, {DP_C_DUPLICATE, 3},
	     {DP_C_ACK_SENT, 4}, {DP_C_ACKED_MSGS, 5}, {DP_C_TX, 6});
	dp_down();
	session_free(h);
}

/* Two copies of a fresh frame in one burst: both pass the replay check before
 * they are opened (on the device both are in flight at once); the first to
 * complete is relayed, the second is found a duplicate when it completes and
 * only acknowledged. */
RELAY_TEST(duplicate_in_one_burst_relayed_once)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	uint8_t msg[32], frame[SGA_FRAME_MAX];
	unsigned n_data = 0, n_ack = 0;
	size_t flen, plen;
	uint64_t e2e;

	dp_up();
	install(h, addr, 1000, 1000, 0);
	fill(msg, sizeof(msg), 1);
	flen = seal(h, 0, msg, sizeof(msg), frame);
	e2e = sga_dev_data_last_seq(&h->sess[0]);
	inject(0, &addr[0], frame, flen);
	inject(0, &addr[0], frame, flen);
	poll_q(0);
	cr_assert_eq(collect(0), 2);
	for (unsigned o = 0; o < 2; o++) {
		if (outs[o].b[DP_PKT_HDR_LEN + 1] == SGA_MSG_DATA_DOWN) {
			expect_data(h, o, 1, &addr[1], msg, sizeof(msg));
			n_data++;
		} else {
			(void)plen;
			expect_ack(h, o, 0, &addr[0], e2e);
			n_ack++;
		}
	}
	cr_assert_eq(n_data, 1);
	cr_assert_eq(n_ack, 1, "both copies named by one DATA_ACK");
	CTRS({DP_C_RX, 2}, {DP_C_DATA_IN, 2}, {DP_C_RELAYED, 1}, {DP_C_DUPLICATE, 1},
	     {DP_C_ACK_SENT, 1}, {DP_C_ACKED_MSGS, 2}, {DP_C_TX, 2},
	     {DP_C_CRYPTO_OPS, dev_ops(2 + 1 + 1)});
	dp_down();
	session_free(h);
}

/* Below the persisted replay mark: refused without being opened. */
RELAY_TEST(too_old_sequence_dropped)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	uint8_t msg[32], frame[SGA_FRAME_MAX];
	size_t flen;

	dp_up();
	install(h, addr, 1000, 1000, 5000);
	fill(msg, sizeof(msg), 1);
	flen = seal(h, 0, msg, sizeof(msg), frame); /* hop seq 0 */
	send_dropped(0, &addr[0], frame, flen);
	h->sess[0].hop_tx_seq = 4999; /* seen before the restart: an authentic duplicate */
	flen = seal(h, 0, msg, sizeof(msg), frame);
	inject(0, &addr[0], frame, flen);
	poll_q(0);
	cr_assert_eq(collect(0), 1);
	expect_ack(h, 0, 0, &addr[0], sga_dev_data_last_seq(&h->sess[0]));
	send_ok(h, 0, addr, NULL, 5, 3); /* seq 5000: fresh */
	CTRS({DP_C_RX, 3}, {DP_C_DATA_IN, 3}, {DP_C_DROP_HOP_REPLAY, 1}, {DP_C_DUPLICATE, 1},
	     {DP_C_RELAYED, 1}, {DP_C_ACK_SENT, 2}, {DP_C_ACKED_MSGS, 2}, {DP_C_TX, 3});
	dp_down();
	session_free(h);
}

/* ---- lab mode: hop_replay_window = off ---------------------------------------------------- */

/* The hop seq in the header of the hop frame outs[k]. */
static uint64_t out_hop_seq(unsigned k)
{
	const uint8_t *p = outs[k].b + DP_PKT_HDR_LEN + SGA_HOP_HDR_LEN - 8;
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/*
 * The same frames through a data plane with the window on (the default) and
 * off (LAB ONLY): a fresh frame, its replay from another address, the replay
 * forged (a ciphertext bit flipped), a frame too old for the window, and that
 * one forged. On: the replay is only acknowledged, the old one refused
 * unopened. Off: both are opened and relayed - sealed for the recipient under
 * a fresh hop seq, acknowledged to the sender's authenticated address (a
 * replay teaches no address). Forgeries are dropped in both modes.
 */
static void replay_window_mode(int off)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	const struct dp_addr attacker = dev_addr(9, 6666);
	uint8_t msg_old[24], msg[32], f_old[SGA_FRAME_MAX], f[SGA_FRAME_MAX], bad[SGA_FRAME_MAX];
	uint8_t got[SGA_FRAME_MAX];
	size_t flen_old, flen, plen, glen;
	uint64_t e2e_old, e2e, seq0;
	const uint8_t *p;

	port_make(1);
	cfg_fill(1, 3, 64, 16, 64);
	cfg.hop_replay_off = off;
	dp_start();
	cr_assert_eq(dp_hop_replay_window(dp), !off);
	install(h, addr, 1000, 1000, 5000); /* hop seqs below 5000 from member 0: too old */
	fill(msg_old, sizeof(msg_old), 4);
	flen_old = seal(h, 0, msg_old, sizeof(msg_old), f_old); /* hop seq 0 */
	e2e_old = sga_dev_data_last_seq(&h->sess[0]);
	h->sess[0].hop_tx_seq = 5000;
	fill(msg, sizeof(msg), 1);
	flen = seal(h, 0, msg, sizeof(msg), f);
	e2e = sga_dev_data_last_seq(&h->sess[0]);

	/* fresh: relayed in both modes */
	inject(0, &addr[0], f, flen);
	poll_q(0);
	cr_assert_eq(collect(0), 2);
	expect_data(h, 0, 1, &addr[1], msg, sizeof(msg));
	expect_ack(h, 1, 0, &addr[0], e2e);
	seq0 = out_hop_seq(0);

	/* its replay, from elsewhere */
	inject(0, &attacker, f, flen);
	poll_q(0);
	if (!off) {
		cr_assert_eq(collect(0), 1, "window on: acknowledged again, not relayed");
		expect_ack(h, 0, 0, &addr[0], e2e);
	} else {
		cr_assert_eq(collect(0), 2, "window off: relayed and acknowledged");
		p = payload_to(&outs[0], &addr[1], &plen);
		cr_assert_eq(p[1], SGA_MSG_DATA_DOWN);
		cr_assert_gt(out_hop_seq(0), seq0, "sealed under a fresh hop seq");
		/* Authentic for the recipient; its own E2E window sees the repeat. */
		cr_assert_eq(sga_dev_data_open(&h->sess[1], p, plen, got, sizeof(got), &glen),
		             -SGA_E_REPLAY);
		expect_ack(h, 1, 0, &addr[0], e2e); /* not to the replay's source */
	}

	/* the replay forged: dropped in both modes */
	memcpy(bad, f, flen);
	bad[SGA_HOP_HDR_LEN + 3] ^= 0x01;
	send_dropped(0, &attacker, bad, flen);

	/* too old for the window */
	inject(0, &addr[0], f_old, flen_old);
	poll_q(0);
	if (!off) {
		cr_assert_eq(collect(0), 0, "window on: refused unopened");
	} else {
		cr_assert_eq(collect(0), 2, "window off: opened, relayed and acknowledged");
		expect_data(h, 0, 1, &addr[1], msg_old, sizeof(msg_old));
		cr_assert_eq(open_ack(h, 1, 0, &addr[0]).top, e2e + 1);
		cr_assert_lt(e2e_old, e2e);
	}
	/* and forged */
	memcpy(bad, f_old, flen_old);
	bad[flen_old - 1] ^= 0x80; /* the tag */
	send_dropped(0, &addr[0], bad, flen_old);

	if (!off)
		CTRS({DP_C_RX, 5}, {DP_C_DATA_IN, 5}, {DP_C_RELAYED, 1}, {DP_C_DUPLICATE, 1},
		     {DP_C_DROP_HOP_AUTH, 1}, {DP_C_DROP_HOP_REPLAY, 2}, {DP_C_ACK_SENT, 2},
		     {DP_C_ACKED_MSGS, 2}, {DP_C_TX, 3});
	else
		CTRS({DP_C_RX, 5}, {DP_C_DATA_IN, 5}, {DP_C_RELAYED, 3},
		     {DP_C_LAB_REPLAY_RELAYED, 2}, {DP_C_DROP_HOP_AUTH, 2}, {DP_C_ACK_SENT, 3},
		     {DP_C_ACKED_MSGS, 3}, {DP_C_TX, 6});
	dp_down();
	session_free(h);
}

RELAY_TEST(replay_window_on_drops_replays)
{
	replay_window_mode(0);
}

RELAY_TEST(replay_window_off_relays_replays)
{
	replay_window_mode(1);
}

/* LAB ONLY: a loop starts its e2e numbering again, far below the sender's
 * DATA_ACK window; the window starts again with it, so the lap is acknowledged
 * coalesced (one DATA_ACK for the burst), not one DATA_ACK per message. */
RELAY_TEST(replay_window_off_acks_a_new_lap_coalesced)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	uint8_t msg[16], f[2][SGA_FRAME_MAX];
	size_t flen[2];
	uint64_t e2e[2];
	unsigned n_ack = 0;
	struct sga_data_ack_plain a;

	port_make(1);
	cfg_fill(1, 3, 64, 16, 64);
	cfg.hop_replay_off = 1;
	dp_start();
	install(h, addr, 1000, 1000, 0);
	for (int k = 0; k < 2; k++) {
		fill(msg, sizeof(msg), (unsigned)k);
		flen[k] = seal(h, 0, msg, sizeof(msg), f[k]);
		e2e[k] = sga_dev_data_last_seq(&h->sess[0]);
		inject(0, &addr[0], f[k], flen[k]);
		poll_q(0);
		cr_assert_eq(collect(0), 2);
	}
	for (unsigned k = 0; k < 70; k++)
		send_ok(h, 0, addr, NULL, 8, k);
	/* the first two again, in one burst: 70 and more below top */
	inject(0, &addr[0], f[0], flen[0]);
	inject(0, &addr[0], f[1], flen[1]);
	poll_q(0);
	cr_assert_eq(collect(0), 3, "two relayed, one DATA_ACK");
	for (unsigned o = 0; o < 3; o++) {
		const uint8_t *p = outs[o].b + DP_PKT_HDR_LEN;

		if (p[1] != SGA_MSG_DATA_ACK)
			continue;
		a = open_ack(h, o, 0, &addr[0]);
		cr_assert_eq(a.top, e2e[1] + 1);
		cr_assert_eq(a.bits, 3, "both named by one DATA_ACK");
		n_ack++;
	}
	cr_assert_eq(n_ack, 1);
	cr_assert_eq(ctr(DP_C_LAB_REPLAY_RELAYED), 2);
	cr_assert_eq(ctr(DP_C_RELAYED), 74);
	dp_down();
	session_free(h);
}

/* Poll until a DATA_ACK left the gateway (the store's waits for the writer's
 * sync), appending every frame to outs; bounded, no time asserted. *n_down:
 * the DATA_DOWN frames among them (a slow sync may let a re-send of the held
 * message out first: counted too), each checked to carry msg to member 1. */
static unsigned collect_until_ack(struct harness *h, const struct dp_addr *to, const uint8_t *msg,
                                  size_t len, unsigned *n_down)
{
	unsigned got = 0, ack = MAX_OUT;

	*n_down = 0;
	for (int i = 0; i < 5000 && ack == MAX_OUT; i++) {
		struct rte_mbuf *m;

		poll_q(0);
		while (rte_ring_dequeue(txr[0], (void **)&m) == 0) {
			cr_assert_lt(got, MAX_OUT - 1);
			outs[got].len = m->data_len;
			memcpy(outs[got].b, rte_pktmbuf_mtod(m, const uint8_t *), m->data_len);
			rte_pktmbuf_free(m);
			if (outs[got].b[DP_PKT_HDR_LEN + 1] == SGA_MSG_DATA_ACK) {
				cr_assert_eq(ack, MAX_OUT, "one DATA_ACK");
				ack = got;
			} else {
				uint8_t got_msg[SGA_FRAME_MAX];
				size_t plen, glen;
				const uint8_t *p = payload_to(&outs[got], to, &plen);
				int rc = sga_dev_data_open(&h->sess[1], p, plen, got_msg,
				                           sizeof(got_msg), &glen);

				cr_assert_eq(p[1], SGA_MSG_DATA_DOWN);
				/* the first copy opens; later ones are E2E repeats */
				cr_assert(rc == 0 || rc == -SGA_E_REPLAY, "DATA_DOWN: %d", rc);
				if (!rc)
					cr_assert(glen == len && !memcmp(got_msg, msg, len));
				(*n_down)++;
			}
			got++;
		}
		if (ack == MAX_OUT)
			usleep(1000);
	}
	cr_assert_neq(ack, MAX_OUT, "no DATA_ACK");
	return ack;
}

/* LAB ONLY, the store on: a replay is stored again (appended, the held copy
 * replaced) and relayed, and its DATA_ACK waits for durability like the
 * first one's. With the window on the same replay is neither stored nor
 * relayed. */
static void replay_window_store(int off)
{
	char dir[] = "/tmp/sga-wt-replay-store-XXXXXX", cmd[80];
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	uint8_t msg[32], f[SGA_FRAME_MAX];
	struct dp_store_stats ss;
	unsigned k, n_down;
	size_t flen;
	uint64_t e2e, resent;

	cr_assert_not_null(mkdtemp(dir));
	port_make(1);
	cfg_fill(1, 3, 64, 16, 64);
	cfg.store_dir = dir;
	cfg.store_fsync = 2; /* MSG_LOG_FSYNC_ALWAYS */
	cfg.store_pending_max = 64;
	cfg.hop_replay_off = off;
	dp_start();
	install(h, addr, 1000, 1000, 0);
	fill(msg, sizeof(msg), 1);
	flen = seal(h, 0, msg, sizeof(msg), f);
	e2e = sga_dev_data_last_seq(&h->sess[0]);
	inject(0, &addr[0], f, flen);
	k = collect_until_ack(h, &addr[1], msg, sizeof(msg), &n_down);
	cr_assert_geq(n_down, 1, "relayed, acknowledged once durable");
	expect_ack(h, k, 0, &addr[0], e2e);
	resent = ctr(DP_C_RESENT);

	inject(0, &addr[0], f, flen);
	k = collect_until_ack(h, &addr[1], msg, sizeof(msg), &n_down);
	cr_assert_eq(n_down - (ctr(DP_C_RESENT) - resent), off ? 1 : 0,
	             "window off: relayed again; on: not");
	expect_ack(h, k, 0, &addr[0], e2e);
	dp_store_totals(dp, &ss);
	cr_assert_eq(ss.pending, 1, "one message held, whatever the copies");
	cr_assert_eq(ss.stored, off ? 2 : 1);
	cr_assert_eq(ss.lab_reappended, off ? 1 : 0);
	cr_assert_eq(ctr(DP_C_STORED), off ? 2 : 1);
	cr_assert_eq(ctr(DP_C_RELAYED), off ? 2 : 1);
	cr_assert_eq(ctr(DP_C_DUPLICATE), off ? 0 : 1);
	cr_assert_eq(ctr(DP_C_LAB_REPLAY_RELAYED), off ? 1 : 0);
	dp_down();
	session_free(h);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

RELAY_TEST(replay_window_store_on_not_stored_again)
{
	replay_window_store(0);
}

RELAY_TEST(replay_window_store_off_stored_again)
{
	replay_window_store(1);
}

/* Polls until a DATA_ACK left the gateway, dropping every frame (the
 * recipient lost them); returns the DATA_DOWN frames among them. Bounded. */
static unsigned lose_until_ack(void)
{
	unsigned n_down = 0;
	bool ack = false;

	for (int i = 0; i < 5000 && !ack; i++) {
		struct rte_mbuf *m;

		poll_q(0);
		while (rte_ring_dequeue(txr[0], (void **)&m) == 0) {
			if (rte_pktmbuf_mtod(m, const uint8_t *)[DP_PKT_HDR_LEN + 1] ==
			    SGA_MSG_DATA_ACK)
				ack = true;
			else
				n_down++;
			rte_pktmbuf_free(m);
		}
		if (!ack)
			usleep(1000);
	}
	cr_assert(ack, "no DATA_ACK");
	return n_down;
}

/* The store on: a re-sealed DATA_UP (the same message under a fresh hop seq,
 * PROTOCOL.md 9.4) of a message the store holds is acknowledged again AND
 * relayed again, so a recipient that lost the first copy gets it now rather
 * than waiting at it for the store's re-send timer (or for good, if the held
 * copy were one it cannot open). */
RELAY_TEST(resealed_data_up_relayed_again_with_store)
{
	char dir[] = "/tmp/sga-wt-reseal-store-XXXXXX", cmd[80];
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	uint8_t msg[32], f[SGA_FRAME_MAX];
	struct dp_store_stats ss;
	unsigned k, n_down;
	size_t flen;
	uint64_t e2e, resent;

	cr_assert_not_null(mkdtemp(dir));
	port_make(1);
	cfg_fill(1, 3, 64, 16, 64);
	cfg.store_dir = dir;
	cfg.store_fsync = 2; /* MSG_LOG_FSYNC_ALWAYS */
	cfg.store_pending_max = 64;
	dp_start();
	install(h, addr, 1000, 1000, 0);
	fill(msg, sizeof(msg), 3);
	flen = seal(h, 0, msg, sizeof(msg), f);
	e2e = sga_dev_data_last_seq(&h->sess[0]);
	inject(0, &addr[0], f, flen);
	cr_assert_geq(lose_until_ack(), 1, "relayed (and lost on the way)");

	resent = ctr(DP_C_RESENT);
	cr_assert_eq(sga_dev_data_reseal(&h->sess[0], e2e, msg, sizeof(msg), f, sizeof(f), &flen),
	             0);
	inject(0, &addr[0], f, flen);
	k = collect_until_ack(h, &addr[1], msg, sizeof(msg), &n_down);
	cr_assert_eq(n_down - (ctr(DP_C_RESENT) - resent), 1, "the re-sealed copy is relayed");
	expect_ack(h, k, 0, &addr[0], e2e);
	dp_store_totals(dp, &ss);
	cr_assert_eq(ss.stored, 1, "stored once");
	cr_assert_eq(ss.resealed_relayed, 1);
	cr_assert_eq(ss.resealed_replaced, 0, "the same bytes: nothing replaced");
	cr_assert_eq(ctr(DP_C_DUPLICATE), 0, "each DATA_UP ends in one counter: relayed");
	cr_assert_eq(ctr(DP_C_RELAYED), 2);
	dp_down();
	session_free(h);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

/* A device of another session cannot inject into this one: its frame relabelled
 * with our session id fails the hop tag; its own session relays only between
 * its own members. */
RELAY_TEST(other_sessions_device_rejected)
{
	struct harness *a = session_new(), *b = session_new();
	const struct dp_addr addr_a[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	const struct dp_addr addr_b[2] = {dev_addr(2, 40002), dev_addr(3, 40003)};
	uint8_t msg[32], frame[SGA_FRAME_MAX];
	size_t flen;

	cr_assert_neq(a->gsess.session_id, b->gsess.session_id);
	dp_up();
	install(a, addr_a, 1000, 1000, 0);
	install(b, addr_b, 1000, 1000, 0);
	cr_assert_eq(dp_session_count(dp), 2);
	fill(msg, sizeof(msg), 1);
	for (int role = 0; role < 2; role++) {
		flen = seal(b, role, msg, sizeof(msg), frame);
		for (int i = 0; i < 8; i++)
			frame[4 + i] = (uint8_t)(a->gsess.session_id >> (56 - 8 * i));
		send_dropped(0, &addr_b[role], frame, flen);
	}
	cr_assert_eq(ctr(DP_C_DROP_HOP_AUTH), 2);
	send_ok(b, 0, addr_b, NULL, 20, 4);
	send_ok(a, 1, addr_a, NULL, 20, 5);
	dp_down();
	session_free(a);
	session_free(b);
}

/* An authentic frame whose inner layout is malformed (only a device holding the
 * hop key can make one): dropped, not relayed, not acknowledged. */
RELAY_TEST(malformed_inner_dropped)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	uint8_t plain[15] = {0}, frame[SGA_FRAME_MAX];
	size_t flen;

	dp_up();
	install(h, addr, 1000, 1000, 0);
	cr_assert_eq(sga_seal_hop(SGA_MSG_DATA_UP, h->sess[0].session_id, 0, h->sess[0].hop_epoch,
	                          0, h->sess[0].hop_suite, h->sess[0].hop_up, plain, sizeof(plain),
	                          frame, sizeof(frame), &flen),
	             0);
	send_dropped(0, &addr[0], frame, flen);
	CTRS({DP_C_RX, 1}, {DP_C_DATA_IN, 1}, {DP_C_DROP_HOP_MALFORMED, 1});
	dp_down();
	session_free(h);
}

/* ---- addresses -------------------------------------------------------------------------------- */

/* Nothing known at install: the first device's frame cannot be relayed (no
 * ACK, it will retransmit) but teaches the gateway its address, so the second
 * device's frame reaches it. */
RELAY_TEST(addresses_learned_from_authentic_frames)
{
	struct harness *h = session_new();
	const struct dp_addr none[2] = {{.port = 0}, {.port = 0}};
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	uint8_t msg[32], frame[SGA_FRAME_MAX];
	size_t flen;

	dp_up();
	install(h, none, 1000, 1000, 0);
	fill(msg, sizeof(msg), 1);
	flen = seal(h, 0, msg, sizeof(msg), frame);
	send_dropped(0, &addr[0], frame, flen);
	cr_assert_eq(ctr(DP_C_DROP_PEER_UNKNOWN), 1);
	send_ok(h, 1, addr, NULL, 12, 1);
	send_ok(h, 0, addr, NULL, 12, 2);
	CTRS({DP_C_RX, 3}, {DP_C_DATA_IN, 3}, {DP_C_DROP_PEER_UNKNOWN, 1}, {DP_C_ADDR_LEARNED, 2},
	     {DP_C_RELAYED, 2}, {DP_C_ACK_SENT, 2}, {DP_C_ACKED_MSGS, 2}, {DP_C_TX, 4});
	dp_down();
	session_free(h);
}

/* NAT rebinding / roaming: the next authentic frame from a new address moves
 * the device; a forged frame from yet another address does not. */
RELAY_TEST(roaming_follows_authentic_frames)
{
	struct harness *h = session_new();
	struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	const struct dp_addr moved = dev_addr(7, 50000), attacker = dev_addr(9, 6666);
	uint8_t msg[32], frame[SGA_FRAME_MAX];
	size_t flen;

	dp_up();
	install(h, addr, 1000, 1000, 0);
	send_ok(h, 0, addr, &moved, 10, 1); /* the ACK goes to the new address */
	addr[0] = moved;
	send_ok(h, 1, addr, NULL, 10, 2); /* and so does the relay */
	fill(msg, sizeof(msg), 3);
	flen = seal(h, 0, msg, sizeof(msg), frame);
	frame[flen - 1] ^= 1;
	send_dropped(0, &attacker, frame, flen);
	send_ok(h, 1, addr, NULL, 10, 4);
	cr_assert_eq(ctr(DP_C_ADDR_LEARNED), 1);
	dp_down();
	session_free(h);
}

/* The output frame (of the n collected) addressed to `to`, or -1. */
static int out_to(unsigned n, const struct dp_addr *to)
{
	for (unsigned k = 0; k < n; k++) {
		struct dp_pkt_meta meta;

		if (dp_pkt_classify(outs[k].b, outs[k].len, to, &meta) == DP_PKT_UDP)
			return (int)k;
	}
	return -1;
}

/* h's session installed as a restart or an adoption installs one from the
 * store: restored, its hop-down epochs drawn at install. */
static void install_restored(struct harness *h, const struct dp_addr addr[2],
                             const uint64_t tx_seq[2], const uint64_t tx_limit[2],
                             const uint64_t rx_next[2])
{
	static struct sga_gw_session rec;

	rec = h->gsess;
	for (int r = 0; r < 2; r++) {
		rec.hop[r].epoch = 0; /* drawn at install */
		rec.hop[r].restored = 1;
	}
	cr_assert_eq(dp_session_install(dp, &rec, addr, tx_seq, tx_limit, rx_next), 0);
	sga_gw_session_wipe(&rec);
}

/*
 * Item: replays across a restart (PROTOCOL.md 9.3). d_i's frames accepted in
 * the last persist period before the gateway went down lie above the replay
 * mark the restarted gateway restores, so its window takes them once more.
 * Replayed from another address they must not move d_i's address: they echo
 * the epoch of the last run. Their source only learns the new epoch (a
 * DATA_SKIP of nothing); once d_i has echoed the new epoch, a frame echoing
 * an older one is refused, and d_i itself roams as before.
 */
RELAY_TEST(replay_from_before_restart_moves_no_address)
{
	struct harness *h = session_new();
	struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	const struct dp_addr attacker = dev_addr(9, 6666), moved = dev_addr(7, 50000);
	/* run 2's ranges: reserved above run 1's (the clock floor) */
	const uint64_t tx_seq[2] = {500, 500}, tx_limit[2] = {1500, 1500};
	static uint8_t gap[2][SGA_FRAME_MAX];
	struct sga_env_hop e;
	uint8_t msg[32];
	size_t gap_len[2], plen;
	const uint8_t *p;
	uint64_t rx_next[2], skipped = 1;
	unsigned n;
	int k;

	/* run 1 */
	dp_up();
	install(h, addr, 1000, 1000, 0);
	send_ok(h, 1, addr, NULL, 10, 1);
	send_ok(h, 0, addr, NULL, 10, 2);
	/* the marks persisted last: everything each device had sent by then */
	rx_next[0] = h->sess[0].hop_tx_seq;
	rx_next[1] = h->sess[1].hop_tx_seq;
	/* accepted after that persist, just before the crash; and captured */
	for (int i = 0; i < 2; i++) {
		fill(msg, sizeof(msg), 3 + (unsigned)i);
		gap_len[i] = seal(h, 0, msg, sizeof(msg), gap[i]);
		inject(0, &addr[0], gap[i], gap_len[i]);
		poll_q(0);
		cr_assert_eq(collect(0), 2);
		expect_data(h, 0, 1, &addr[1], msg, sizeof(msg));
		expect_ack(h, 1, 0, &addr[0], sga_dev_data_last_seq(&h->sess[0]));
	}
	dp_down();

	/* run 2: the session restored from the store, marks from before the gap */
	dp_up();
	install_restored(h, addr, tx_seq, tx_limit, rx_next);

	/* gap[0] replayed from elsewhere: fresh for the window, so relayed (d_j's
	 * E2E window drops the copy) and acknowledged to d_i where it is; the
	 * replayer gets the epoch announcement, and no address moves */
	inject(0, &attacker, gap[0], gap_len[0]);
	poll_q(0);
	n = collect(0);
	cr_assert_eq(n, 3);
	cr_assert_eq(ctr(DP_C_ADDR_LEARNED), 0, "a frame from before the restart moved an address");
	cr_assert_eq(ctr(DP_C_STALE_EPOCH), 1);
	cr_assert_eq(ctr(DP_C_EPOCH_PROBE), 1);
	k = out_to(n, &attacker);
	cr_assert_geq(k, 0, "the announcement goes to the frame's source");
	p = payload_to(&outs[k], &attacker, &plen);
	cr_assert_eq(sga_env_hop_decode(p, plen, &e), 0);
	cr_assert(e.type == SGA_MSG_DATA_SKIP && e.role == 0);
	cr_assert_neq(e.epoch, sga_hop_frame_epoch(gap[0]), "a new epoch");
	cr_assert_eq(sga_dev_skip_open(&h->sess[0], p, plen, &skipped), 0);
	cr_assert_eq(skipped, 0, "it skips nothing");
	cr_assert_eq(h->sess[0].hop_epoch, e.epoch, "d_i takes the new epoch from it");
	k = out_to(n, &addr[0]);
	cr_assert_geq(k, 0, "the acknowledgement goes where d_i is");
	expect_ack(h, (unsigned)k, 0, &addr[0], sga_dev_data_last_seq(&h->sess[0]) - 1);

	/* d_i echoes the new epoch now: it roams as before */
	send_ok(h, 0, addr, &moved, 10, 5);
	addr[0] = moved;
	cr_assert_eq(ctr(DP_C_ADDR_LEARNED), 1);
	/* and the other captured frame, replayed now, is refused */
	send_dropped(0, &attacker, gap[1], gap_len[1]);
	cr_assert_eq(ctr(DP_C_DROP_STALE_EPOCH), 1);
	cr_assert_eq(ctr(DP_C_ADDR_LEARNED), 1);
	send_ok(h, 1, addr, NULL, 10, 6);
	dp_down();
	session_free(h);
}

/*
 * Several gateways ([sessions] adopt, PROTOCOL.md 9.5): a gateway that kept a
 * session installed while another adopted it, and had no frame meanwhile,
 * wrote no mark the fence could refuse. When the devices come back, d_i's
 * frames echo the epoch the other gateway drew: refused as stale here, and
 * with adoption on each such refusal asks for a TX reservation, which the
 * state store's fence refuses so the control plane lets the session go
 * (cp.c, disown). Without adoption nothing is asked.
 */
static unsigned foreign_epoch_asks(int adopt)
{
	struct harness *h = session_new();
	struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	const uint64_t tx_seq[2] = {500, 500}, tx_limit[2] = {1500, 1500}, rx_next[2] = {0, 0};
	struct dp_resv_req r[4];
	uint8_t msg[32], frame[SGA_FRAME_MAX];
	unsigned asked;
	size_t flen;

	port_make(1);
	cfg_fill(1, 3, 64, 16, 64);
	cfg.adopt_sessions = adopt;
	dp_start();
	install_restored(h, addr, tx_seq, tx_limit, rx_next);
	send_ok(h, 1, addr, NULL, 10, 1); /* relayed to d_i: it learns this install's epoch */
	send_ok(h, 0, addr, NULL, 10, 2); /* and echoes it */
	cr_assert_eq(dp_resv_dequeue(dp, r, 4), 0);
	/* d_i then read frames of another gateway, which drew its own epoch */
	h->sess[0].hop_epoch ^= 0x5a5a5a5a5a5a5a5aull;
	fill(msg, sizeof(msg), 3);
	flen = seal(h, 0, msg, sizeof(msg), frame);
	send_dropped(0, &addr[0], frame, flen);
	cr_assert_eq(ctr(DP_C_DROP_STALE_EPOCH), 1);
	asked = dp_resv_dequeue(dp, r, 4);
	if (asked)
		cr_assert_eq(r[0].session_id, h->gsess.session_id);
	dp_down();
	session_free(h);
	return asked;
}

RELAY_TEST(another_gateways_epoch_asks_the_fence)
{
	cr_assert_eq(foreign_epoch_asks(1), 1, "with adoption on: one reservation asked");
	cr_assert_eq(foreign_epoch_asks(0), 0, "without adoption: nothing asked");
}

/* ---- TX sequence reservations --------------------------------------------------------------- */

RELAY_TEST(tx_limit_and_reservation)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	struct dp_resv_req r[4];
	uint8_t msg[32], frame[SGA_FRAME_MAX];
	uint64_t sid = h->gsess.session_id;
	size_t flen;

	dp_up_with(1, 3, 64, 16, 4); /* ask for more when 2 or fewer remain */
	install(h, addr, 100, 3, 0); /* three frames towards the responder */
	send_ok(h, 0, addr, NULL, 10, 1);
	cr_assert_eq(dp_resv_dequeue(dp, r, 4), 0);
	send_ok(h, 0, addr, NULL, 10, 2); /* seq 1: 2 left -> one request */
	send_ok(h, 0, addr, NULL, 10, 3); /* seq 2: still pending, no second request */
	fill(msg, sizeof(msg), 4);
	flen = seal(h, 0, msg, sizeof(msg), frame);
	send_dropped(0, &addr[0], frame, flen); /* seq 3 >= limit: dropped, no ACK */
	cr_assert_eq(dp_resv_dequeue(dp, r, 4), 1);
	cr_assert_eq(r[0].session_id, sid);
	cr_assert_eq(r[0].role, 1);
	cr_assert_eq(ctr(DP_C_RESV_REQ), 1);

	cr_assert_eq(dp_session_extend(dp, sid, 1, 10), 0);
	cr_assert_eq(dp_session_extend(dp, sid, 1, 5), 0, "a smaller grant is ignored");
	cr_assert_eq(dp_session_extend(dp, sid + 1, 1, 10), -ENOENT);
	cr_assert_eq(dp_session_extend(dp, sid, 2, 10), -EINVAL);
	send_ok(h, 0, addr, NULL, 10, 5);                           /* seq 3 */
	cr_assert_eq(dp_resv_dequeue(dp, r, 4), 0, "7 of 10 left"); /* not near the limit yet */
	for (int i = 0; i < 5; i++)
		send_ok(h, 0, addr, NULL, 10, 6 + (unsigned)i); /* seqs 4..8 */
	cr_assert_eq(dp_resv_dequeue(dp, r, 4), 1);
	CTRS({DP_C_RX, 10}, {DP_C_DATA_IN, 10}, {DP_C_RELAYED, 9}, {DP_C_ACK_SENT, 9},
	     {DP_C_ACKED_MSGS, 9}, {DP_C_TX, 18}, {DP_C_DROP_TX_SEQ, 1}, {DP_C_RESV_REQ, 2});
	dp_down();
	session_free(h);
}

/* ---- ownership and hand-off ------------------------------------------------------------------ */

RELAY_TEST(frames_handed_to_owner_lcore)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	uint8_t msg[32], frame[SGA_FRAME_MAX];
	size_t flen;
	unsigned owner, other;

	dp_up_with(2, 3, 64, 16, 64);
	install(h, addr, 1000, 1000, 0);
	owner = dp_session_owner(dp, h->gsess.session_id);
	other = owner ^ 1;
	fill(msg, sizeof(msg), 1);
	flen = seal(h, 0, msg, sizeof(msg), frame);
	inject(other, &addr[0], frame, flen);
	poll_q(other);
	cr_assert_eq(collect(other), 0);
	cr_assert_eq(ctr(DP_C_HANDOFF), 1);
	poll_q(owner);
	cr_assert_eq(collect(owner), 2);
	expect_data(h, 0, 1, &addr[1], msg, sizeof(msg));
	expect_ack(h, 1, 0, &addr[0], sga_dev_data_last_seq(&h->sess[0]));
	/* Unknown sessions are not handed off (same owner parity, unknown id). */
	frame[11] ^= 2;
	send_dropped(other, &addr[0], frame, flen);
	CTRS({DP_C_RX, 2}, {DP_C_DATA_IN, 2}, {DP_C_HANDOFF, 1}, {DP_C_DROP_UNKNOWN_SESSION, 1},
	     {DP_C_RELAYED, 1}, {DP_C_ACK_SENT, 1}, {DP_C_ACKED_MSGS, 1}, {DP_C_TX, 2});
	dp_down();
	session_free(h);
}

/* A tagged IPv6 frame received by another lcore reaches the owner with its
 * header lengths (18-byte Ethernet, IPv6 with a Hop-by-Hop header): the
 * owner finds the SGA frame and the sender's address from them, and answers
 * an IPv4 peer and the tagged IPv6 sender. */
RELAY_TEST(tagged_ipv6_frames_handed_to_owner_lcore)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev6_addr(0, 40000, 0x0064), dev_addr(1, 40001)};
	uint8_t msg[32], frame[SGA_FRAME_MAX], f[2048], g[2048];
	size_t flen, len;
	unsigned owner, other;

	dp_up_with(2, 3, 64, 16, 64);
	install(h, addr, 1000, 1000, 0);
	owner = dp_session_owner(dp, h->gsess.session_id);
	other = owner ^ 1;
	fill(msg, sizeof(msg), 1);
	flen = seal(h, 0, msg, sizeof(msg), frame);
	memcpy(f + 66, frame, flen);
	len = dp_pkt_udp_build(f, &addr[0], &gw6, 7, flen);
	/* An 8-byte Hop-by-Hop header (PadN) after the fixed IPv6 header. */
	memcpy(g, f, 58);
	g[18 + 6] = 0;
	memcpy(g + 58, (const uint8_t[]){17, 0, 1, 4, 0, 0, 0, 0}, 8);
	memcpy(g + 66, f + 58, len - 58);
	/* The payload length (< 256 here) grows by 8; the UDP checksum stays
	 * valid: its pseudo-header holds the UDP length and the addresses. */
	g[18 + 5] = (uint8_t)(g[18 + 5] + 8);
	inject_raw(other, g, len + 8);
	poll_q(other);
	cr_assert_eq(collect(other), 0);
	cr_assert_eq(ctr(DP_C_HANDOFF), 1);
	poll_q(owner);
	cr_assert_eq(collect(owner), 2);
	expect_data(h, 0, 1, &addr[1], msg, sizeof(msg));
	expect_ack(h, 1, 0, &addr[0], sga_dev_data_last_seq(&h->sess[0]));
	CTRS({DP_C_RX, 1}, {DP_C_RX_VLAN, 1}, {DP_C_DATA_IN, 1}, {DP_C_HANDOFF, 1},
	     {DP_C_RELAYED, 1}, {DP_C_ACK_SENT, 1}, {DP_C_ACKED_MSGS, 1}, {DP_C_TX, 2},
	     {DP_C_CRYPTO_OPS, dev_ops(3)});
	dp_down();
	session_free(h);
}

/* ---- coalesced acknowledgements (PROTOCOL.md 7.11) --------------------------------------- */

/* Seal n messages from `from` into frames[0..n) (lens, their e2e_seqs). */
static void seal_n(struct harness *h, int from, unsigned n, uint8_t (*frames)[SGA_FRAME_MAX],
                   size_t *lens, uint64_t *e2e)
{
	uint8_t msg[40];

	for (unsigned k = 0; k < n; k++) {
		fill(msg, sizeof(msg), k);
		lens[k] = seal(h, from, msg, sizeof(msg), frames[k]);
		if (e2e)
			e2e[k] = sga_dev_data_last_seq(&h->sess[from]);
	}
}

/* outs[0..n) of one poll: the DATA_ACKs to `to` (indexes into acks), the
 * count of DATA_DOWN. */
static unsigned split_outs(unsigned n, unsigned *acks, unsigned *n_acks)
{
	unsigned n_down = 0;

	*n_acks = 0;
	for (unsigned o = 0; o < n; o++) {
		if (outs[o].b[DP_PKT_HDR_LEN + 1] == SGA_MSG_DATA_ACK)
			acks[(*n_acks)++] = o;
		else
			n_down++;
	}
	return n_down;
}

/* Do the relays of one burst all complete within the loop iteration that
 * received it? On the CPU and crypto_openssl yes; crypto_aesni_mb's multi-buffer
 * manager hands the last job of a burst back an iteration later, and the ACKs
 * are sent at the end of each iteration (so there its last relay gets a second
 * DATA_ACK, which names the whole burst again). */
static bool one_iteration(void)
{
	return strcmp(crypto_dev, "crypto_aesni_mb") != 0;
}

/* A burst of 24 DATA_UP from one device: 24 relays and ONE DATA_ACK that names
 * all of them; a burst from both devices: one DATA_ACK each. */
RELAY_TEST(burst_acked_by_one_frame)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	static uint8_t frames[2][24][SGA_FRAME_MAX];
	size_t lens[2][24];
	uint64_t e2e[2][24];
	unsigned acks[MAX_OUT], n_acks, n;
	struct sga_data_ack_plain a;

	dp_up();
	install(h, addr, 1000, 1000, 0);
	seal_n(h, 0, 24, frames[0], lens[0], e2e[0]);
	for (unsigned k = 0; k < 24; k++)
		inject(0, &addr[0], frames[0][k], lens[0][k]);
	poll_q(0);
	n = collect(0);
	cr_assert_eq(split_outs(n, acks, &n_acks), 24);
	cr_assert_eq(n_acks, one_iteration() ? 1 : n_acks);
	cr_assert_leq(n_acks, 2, "aesni_mb: the last relay of the burst a little later");
	cr_assert_eq(acks[n_acks - 1], n - 1, "the ACK follows the relays");
	for (unsigned i = 0; i < n_acks; i++)
		a = open_ack(h, acks[i], 0, &addr[0]);
	cr_assert_eq(a.top, e2e[0][23] + 1, "the last names all 24");
	cr_assert_eq(a.bits, (1ull << 24) - 1);
	CTRS({DP_C_RX, 24}, {DP_C_DATA_IN, 24}, {DP_C_RELAYED, 24}, {DP_C_ACK_SENT, n_acks},
	     {DP_C_ACKED_MSGS, 24}, {DP_C_TX, 24 + n_acks},
	     {DP_C_CRYPTO_OPS, dev_ops(24 + 24 + n_acks)});

	/* Interleaved from both: one per sender, each naming its own. */
	seal_n(h, 0, 12, frames[0], lens[0], e2e[0]);
	seal_n(h, 1, 12, frames[1], lens[1], e2e[1]);
	for (unsigned k = 0; k < 12; k++) {
		inject(0, &addr[0], frames[0][k], lens[0][k]);
		inject(0, &addr[1], frames[1][k], lens[1][k]);
	}
	poll_q(0);
	n = collect(0);
	cr_assert_eq(split_outs(n, acks, &n_acks), 24);
	cr_assert_eq(n_acks, one_iteration() ? 2 : n_acks);
	{
		struct sga_data_ack_plain last[2] = {{0, 0}, {0, 0}};

		for (unsigned i = 0; i < n_acks; i++) {
			int to = outs[acks[i]].b[DP_PKT_HDR_LEN + 12]; /* the hop header's role */

			last[to] = open_ack(h, acks[i], to, &addr[to]);
		}
		for (int to = 0; to < 2; to++) {
			cr_assert_eq(last[to].top, e2e[to][11] + 1);
			cr_assert_eq(last[to].bits, to ? (1ull << 12) - 1 : (1ull << 36) - 1);
		}
	}
	cr_assert_eq(ctr(DP_C_ACKED_MSGS), 48);
	dp_down();
	session_free(h);
}

/* A DATA_ACK lost on the way is covered by the next one, and an authentic
 * duplicate (the sender gave up waiting) re-sends the whole window. */
RELAY_TEST(lost_ack_covered_by_next)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	static uint8_t frames[8][SGA_FRAME_MAX];
	size_t lens[8];
	uint64_t e2e[8];
	unsigned acks[MAX_OUT], n_acks;
	struct sga_data_ack_plain a;

	dp_up();
	install(h, addr, 1000, 1000, 0);
	seal_n(h, 0, 8, frames, lens, e2e);
	for (unsigned k = 0; k < 5; k++)
		inject(0, &addr[0], frames[k], lens[k]);
	poll_q(0);
	cr_assert_eq(split_outs(collect(0), acks, &n_acks), 5);
	cr_assert_eq(n_acks, 1); /* and the test drops it: lost */

	/* The sender re-sends message 2 (the identical frame): the window so far. */
	inject(0, &addr[0], frames[2], lens[2]);
	poll_q(0);
	cr_assert_eq(collect(0), 1, "not relayed again, acknowledged");
	a = open_ack(h, 0, 0, &addr[0]);
	cr_assert(a.top == e2e[4] + 1 && a.bits == 0x1f, "top %llu bits %llx",
	          (unsigned long long)a.top, (unsigned long long)a.bits);

	/* Lost again; the next burst's ACK names all eight. */
	for (unsigned k = 5; k < 8; k++)
		inject(0, &addr[0], frames[k], lens[k]);
	poll_q(0);
	cr_assert_eq(split_outs(collect(0), acks, &n_acks), 3);
	cr_assert_eq(n_acks, 1);
	a = open_ack(h, acks[0], 0, &addr[0]);
	cr_assert(a.top == e2e[7] + 1 && a.bits == 0xff);
	for (unsigned k = 0; k < 8; k++)
		cr_assert(sga_data_ack_names(&a, e2e[k]));
	CTRS({DP_C_RX, 9}, {DP_C_DATA_IN, 9}, {DP_C_RELAYED, 8}, {DP_C_DUPLICATE, 1},
	     {DP_C_ACK_SENT, 3}, {DP_C_ACKED_MSGS, 9}, {DP_C_TX, 11});
	dp_down();
	session_free(h);
}

/* A message taken charge of 64 or more below the window's top (held back by
 * the network, or a late duplicate) gets a DATA_ACK of its own, and the window
 * is left as it was. */
RELAY_TEST(message_below_window_acked_alone)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	static uint8_t frames[72][SGA_FRAME_MAX];
	size_t lens[72];
	uint64_t e2e[72];
	unsigned acks[MAX_OUT], n_acks;
	struct sga_data_ack_plain a;

	dp_up();
	install(h, addr, 1000, 1000, 0);
	seal_n(h, 0, 72, frames, lens, e2e);
	/* 0..70 except 3, in bursts of 24 or fewer (collect holds MAX_OUT). */
	for (unsigned k = 0; k < 71;) {
		for (unsigned b = 0; b < 24 && k < 71; k++)
			if (k != 3) {
				inject(0, &addr[0], frames[k], lens[k]);
				b++;
			}
		poll_q(0);
		(void)collect(0);
	}
	/* 3 arrives now, 67 below top 71: relayed, and a frame naming it alone. */
	inject(0, &addr[0], frames[3], lens[3]);
	poll_q(0);
	cr_assert_eq(split_outs(collect(0), acks, &n_acks), 1);
	cr_assert_eq(n_acks, 1);
	a = open_ack(h, acks[0], 0, &addr[0]);
	cr_assert(a.top == e2e[3] + 1 && a.bits == 1, "top %llu bits %llx",
	          (unsigned long long)a.top, (unsigned long long)a.bits);
	/* A late duplicate of 0: the same. */
	inject(0, &addr[0], frames[0], lens[0]);
	poll_q(0);
	cr_assert_eq(collect(0), 1);
	a = open_ack(h, 0, 0, &addr[0]);
	cr_assert(a.top == e2e[0] + 1 && a.bits == 1);
	/* The window did not move: 71 is named with the 63 below it (7..70). */
	inject(0, &addr[0], frames[71], lens[71]);
	poll_q(0);
	cr_assert_eq(split_outs(collect(0), acks, &n_acks), 1);
	a = open_ack(h, acks[0], 0, &addr[0]);
	cr_assert(a.top == e2e[71] + 1 && a.bits == ~0ull, "top %llu bits %llx",
	          (unsigned long long)a.top, (unsigned long long)a.bits);
	cr_assert_eq(ctr(DP_C_RELAYED), 72);
	cr_assert_eq(ctr(DP_C_ACKED_MSGS), 73);
	if (one_iteration())
		cr_assert_eq(ctr(DP_C_ACK_SENT), 3 + 2 + 1, "3 bursts, 2 alone, 1");
	dp_down();
	session_free(h);
}

/*
 * Many sessions, both directions, many bursts, every third DATA_ACK lost: each
 * device behaves like the SDK's sender (a window of W messages in flight; when
 * a round brings it nothing new it re-sends its oldest unacknowledged message,
 * the identical frame). Every message is relayed once, named by some DATA_ACK
 * (first named only after it was sent), noted exactly once per copy the gateway
 * took charge of (acked_msgs = relayed + duplicates), and no sender's window
 * stalls: all of them finish within a bounded number of rounds.
 */
#define FL_SESS 4
#define FL_MSGS 200
#define FL_WIN  48

struct fl_sender {
	uint8_t (*frames)[SGA_FRAME_MAX];
	size_t lens[FL_MSGS];
	uint64_t e2e0;          /* e2e_seq of message 0 */
	uint8_t acked[FL_MSGS]; /* named by a DATA_ACK */
	uint8_t got[FL_MSGS];   /* delivered to the peer */
	unsigned base, next;    /* oldest unacknowledged, next never sent */
	unsigned progress;      /* acknowledged this round */
};

struct fl_run {
	struct harness *h[FL_SESS];
	struct dp_addr addr[FL_SESS][2];
	struct fl_sender snd[FL_SESS][2];
	unsigned n_ack_frames, n_ack_lost, resent;
};

static int fl_session_of(const struct fl_run *r, const uint8_t *p)
{
	uint64_t sid = 0;

	for (int i = 0; i < 8; i++)
		sid = sid << 8 | p[4 + i];
	for (int i = 0; i < FL_SESS; i++)
		if (r->h[i]->gsess.session_id == sid)
			return i;
	cr_assert_fail("a frame for no session of the test");
	return -1;
}

/* What one poll transmitted: deliveries and acknowledgements. */
static void fl_take(struct fl_run *r, unsigned n)
{
	for (unsigned o = 0; o < n; o++) {
		const uint8_t *sga = outs[o].b + DP_PKT_HDR_LEN;
		int i = fl_session_of(r, sga), to = sga[12];
		struct fl_sender *peer = &r->snd[i][to ^ 1], *me = &r->snd[i][to];
		uint8_t msg[SGA_FRAME_MAX];
		size_t plen, mlen;
		const uint8_t *p = payload_to(&outs[o], &r->addr[i][to], &plen);

		if (p[1] == SGA_MSG_DATA_DOWN) {
			int rc =
			    sga_dev_data_open(&r->h[i]->sess[to], p, plen, msg, sizeof(msg), &mlen);

			cr_assert(rc == 0 || rc == -SGA_E_REPLAY, "DATA_DOWN: %d", rc);
			if (!rc) {
				uint64_t k = r->h[i]->sess[to].e2e_rx_last - peer->e2e0;

				cr_assert_lt(k, peer->next);
				cr_assert_not(peer->got[k], "delivered twice");
				peer->got[k] = 1;
			}
			continue;
		}
		cr_assert_eq(p[1], SGA_MSG_DATA_ACK);
		if (r->n_ack_frames++ % 3 == 0) {
			r->n_ack_lost++;
			continue; /* lost on the way */
		}
		{
			struct sga_data_ack_plain a;

			cr_assert_eq(sga_dev_ack_open(&r->h[i]->sess[to], p, plen, &a), 0);
			cr_assert_leq(a.top, me->e2e0 + me->next, "names a message never sent");
			for (unsigned k = 0; k < me->next; k++)
				if (!me->acked[k] && sga_data_ack_names(&a, me->e2e0 + k)) {
					me->acked[k] = 1;
					me->progress++;
				}
			while (me->base < me->next && me->acked[me->base])
				me->base++;
		}
	}
}

/* Poll until the RX ring and the crypto queue are empty, taking the output. */
static void fl_pump(struct fl_run *r)
{
	for (int i = 0; i < 1000; i++) {
		unsigned n;

		dp_poll_once(dp, 0);
		n = collect(0);
		fl_take(r, n);
		if (!rte_ring_count(rxr[0]) && !dp_crypto_pending(dp, 0) && !n)
			return;
	}
	cr_assert_fail("the data plane never went idle");
}

/* Run the senders until every message is acknowledged; returns the rounds. */
static unsigned fl_run_all(struct fl_run *r, unsigned max_rounds, unsigned idle_us)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	unsigned round;

	for (round = 0; round < max_rounds; round++) {
		unsigned left = 0, injected = 0;

		for (int i = 0; i < FL_SESS; i++)
			for (int k = 0; k < 2; k++) {
				struct fl_sender *sd = &r->snd[i][k];
				unsigned c;

				seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
				c = (unsigned)(seed % 6); /* 0..5 new messages this round */
				if (sd->base < FL_MSGS)
					left++;
				if (!sd->progress && sd->base < sd->next &&
				    (c == 0 || round % 4 == 3)) {
					/* Nothing came back: the oldest again, the same bytes. */
					inject(0, &r->addr[i][k], sd->frames[sd->base],
					       sd->lens[sd->base]);
					r->resent++;
					injected++;
				}
				sd->progress = 0;
				for (; c && sd->next < FL_MSGS && sd->next - sd->base < FL_WIN;
				     c--) {
					inject(0, &r->addr[i][k], sd->frames[sd->next],
					       sd->lens[sd->next]);
					sd->next++;
					injected++;
				}
			}
		if (!left)
			return round;
		fl_pump(r);
		if (!injected && idle_us)
			rte_delay_us_sleep(idle_us); /* the store's writer catches up */
	}
	cr_assert_fail("a sender's window stalled: not done after %u rounds", max_rounds);
	return round;
}

static struct fl_run *fl_new(void)
{
	struct fl_run *r = calloc(1, sizeof(*r));

	cr_assert_not_null(r);
	for (int i = 0; i < FL_SESS; i++) {
		r->h[i] = session_new();
		r->addr[i][0] = dev_addr((unsigned)(2 * i), (uint16_t)(40000 + 2 * i));
		r->addr[i][1] = dev_addr((unsigned)(2 * i + 1), (uint16_t)(40001 + 2 * i));
		for (int k = 0; k < 2; k++) {
			struct fl_sender *sd = &r->snd[i][k];

			sd->frames = calloc(FL_MSGS, SGA_FRAME_MAX);
			cr_assert_not_null(sd->frames);
			seal_n(r->h[i], k, FL_MSGS, sd->frames, sd->lens, NULL);
			sd->e2e0 = sga_dev_data_last_seq(&r->h[i]->sess[k]) + 1 - FL_MSGS;
		}
	}
	return r;
}

static void fl_check_and_free(struct fl_run *r)
{
	unsigned total = 0;

	for (int i = 0; i < FL_SESS; i++) {
		for (int k = 0; k < 2; k++) {
			struct fl_sender *sd = &r->snd[i][k];

			for (unsigned m = 0; m < FL_MSGS; m++) {
				cr_assert(sd->acked[m], "session %d role %d: %u not acknowledged",
				          i, k, m);
				cr_assert(sd->got[m], "session %d role %d: %u not delivered", i, k,
				          m);
			}
			total += FL_MSGS;
			free(sd->frames);
		}
		session_free(r->h[i]);
	}
	cr_log_info("%u messages, %llu DATA_ACK frames (%u lost), %llu named, %u re-sent", total,
	            (unsigned long long)ctr(DP_C_ACK_SENT), r->n_ack_lost,
	            (unsigned long long)ctr(DP_C_ACKED_MSGS), r->resent);
	cr_assert_eq(ctr(DP_C_ACK_SENT), r->n_ack_frames);
	/* Against the messages named, not sent: a slow fsync makes the sender
	 * re-send, and each copy of a held message is named again. */
	cr_assert_lt(ctr(DP_C_ACK_SENT) * 2, ctr(DP_C_ACKED_MSGS),
	             "coalesced: far fewer frames than messages named");
	free(r);
}

RELAY_TEST(many_bursts_every_message_acked_once)
{
	struct fl_run *r = fl_new();

	dp_up();
	for (int i = 0; i < FL_SESS; i++)
		install(r->h[i], r->addr[i], 1u << 20, 1u << 20, 0);
	(void)fl_run_all(r, 4000, 0);
	/* Without a store, taken charge of = relayed: each relay and each
	 * duplicate noted once. */
	cr_assert_eq(ctr(DP_C_RELAYED), FL_SESS * 2 * FL_MSGS);
	cr_assert_eq(ctr(DP_C_ACKED_MSGS), ctr(DP_C_RELAYED) + ctr(DP_C_DUPLICATE));
	cr_assert_eq(ctr(DP_C_DUPLICATE), r->resent);
	fl_check_and_free(r);
	dp_down();
}

/* The same with the store on (fsync always): a message is named only once
 * durable (dp_store_acks_due), and still every one is, exactly once. */
static void store_acks_coalesced(void)
{
	char dir[] = "/tmp/sga-wt-ack-store-XXXXXX", cmd[80];
	struct fl_run *r = fl_new();

	cr_assert_not_null(mkdtemp(dir));
	port_make(1);
	cfg_fill(1, 3, 64, 16, 64);
	cfg.store_dir = dir;
	cfg.store_fsync = 2; /* MSG_LOG_FSYNC_ALWAYS */
	cfg.store_pending_max = 4096;
	dp_start();
	for (int i = 0; i < FL_SESS; i++)
		install(r->h[i], r->addr[i], 1u << 20, 1u << 20, 0);
	(void)fl_run_all(r, 20000, 200);
	cr_assert_eq(ctr(DP_C_STORED), FL_SESS * 2 * FL_MSGS);
	/* Named once when durable, and again once durable for each duplicate of a
	 * message still held (the store queues its ACK again). */
	cr_assert_eq(ctr(DP_C_ACKED_MSGS), ctr(DP_C_STORED) + ctr(DP_C_DUPLICATE));
	cr_assert_eq(ctr(DP_C_DUPLICATE), r->resent);
	fl_check_and_free(r);
	dp_down();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(dataplane, store_acks_coalesced_cpu)
{
	crypto_dev = "cpu";
	store_acks_coalesced();
}

Test(dataplane, store_acks_coalesced_aesni_mb)
{
	crypto_dev = "crypto_aesni_mb";
	store_acks_coalesced();
}

/* ---- ARP and the non-SGA path ---------------------------------------------------------------- */

Test(dataplane, arp_request_answered)
{
	const struct dp_addr d = dev_addr(0, 40000);
	uint8_t f[60] = {0};

	dp_up();
	memset(f, 0xff, 6);
	memcpy(f + 6, d.mac, 6);
	memcpy(f + 12, (const uint8_t[]){0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01}, 10);
	memcpy(f + 22, d.mac, 6);
	memcpy(f + 28, d.ip + 12, 4);
	memcpy(f + 38, gw.ip + 12, 4);
	inject_raw(0, f, sizeof(f));
	f[41] ^= 1; /* for another address */
	inject_raw(0, f, sizeof(f));
	poll_q(0);
	cr_assert_eq(collect(0), 1);
	cr_assert_eq(outs[0].len, 60);
	cr_assert_arr_eq(outs[0].b, d.mac, 6);
	cr_assert_arr_eq(outs[0].b + 6, gw.mac, 6);
	cr_assert_eq(outs[0].b[21], 2, "ARP reply");
	cr_assert_arr_eq(outs[0].b + 22, gw.mac, 6);
	cr_assert_arr_eq(outs[0].b + 28, gw.ip + 12, 4);
	cr_assert_arr_eq(outs[0].b + 32, d.mac, 6);
	cr_assert_arr_eq(outs[0].b + 38, d.ip + 12, 4);
	CTRS({DP_C_RX, 2}, {DP_C_ARP_REPLY, 1}, {DP_C_DROP_ARP, 1}, {DP_C_TX, 1});
	dp_down();
}

/* A Neighbor Solicitation for the gateway's IPv6 address, to its
 * solicited-node group, tagged: answered with a tagged Neighbor
 * Advertisement (the lcore grows the mbuf: the NS has no option). */
Test(dataplane, ndp_solicitation_answered)
{
	const struct dp_addr d = dev6_addr(0, 40000, 0x0064);
	static const uint8_t snm[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 1};
	uint8_t f[128] = {0}, *ip6 = f + 18, *nd = ip6 + 40;
	uint32_t sum = 0;

	dp_up();
	memcpy(f, (const uint8_t[]){0x33, 0x33, 0xff, 0, 0, 1}, 6);
	memcpy(f + 6, d.mac, 6);
	memcpy(f + 12, (const uint8_t[]){0x81, 0x00, 0x00, 0x64, 0x86, 0xdd}, 6);
	ip6[0] = 0x60;
	ip6[5] = 24;
	ip6[6] = 58;
	ip6[7] = 255;
	memcpy(ip6 + 8, d.ip, 16);
	memcpy(ip6 + 24, snm, 16);
	nd[0] = 135;
	memcpy(nd + 8, GW6, 16);
	/* ICMPv6 checksum over the pseudo-header and the message. */
	for (int i = 8; i < 40; i += 2)
		sum += (uint32_t)(ip6[i] << 8 | ip6[i + 1]);
	sum += 24 + 58;
	for (int i = 0; i < 24; i += 2)
		sum += (uint32_t)(nd[i] << 8 | nd[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	nd[2] = (uint8_t)(~sum >> 8);
	nd[3] = (uint8_t)~sum;
	inject_raw(0, f, 18 + 40 + 24);
	nd[8 + 15] ^= 1; /* for another address */
	inject_raw(0, f, 18 + 40 + 24);
	poll_q(0);
	cr_assert_eq(collect(0), 1);
	cr_assert_eq(outs[0].len, DP_PKT_NA_LEN + 4);
	cr_assert_arr_eq(outs[0].b, d.mac, 6);
	cr_assert_arr_eq(outs[0].b + 6, gw.mac, 6);
	cr_assert_arr_eq(outs[0].b + 12, ((const uint8_t[]){0x81, 0x00, 0x00, 0x64, 0x86, 0xdd}),
	                 6);
	cr_assert_arr_eq(outs[0].b + 18 + 8, GW6, 16);
	cr_assert_arr_eq(outs[0].b + 18 + 24, d.ip, 16);
	cr_assert_eq(outs[0].b[18 + 40], 136, "Neighbor Advertisement");
	cr_assert_arr_eq(outs[0].b + 18 + 48, GW6, 16);
	cr_assert_arr_eq(outs[0].b + 18 + 66, gw.mac, 6, "target link-layer address");
	CTRS({DP_C_RX, 2}, {DP_C_RX_VLAN, 0}, {DP_C_NDP_REPLY, 1}, {DP_C_DROP_NDP, 1},
	     {DP_C_TX, 1});
	dp_down();
}

/* Frames the IPv6/VLAN parser refuses reach no session and no worker, each
 * counted by its reason. */
Test(dataplane, ipv6_and_vlan_rejects_counted)
{
	const struct dp_addr d = dev6_addr(0, 40000, 0);
	uint8_t f[256], g[256], sga[4] = {SGA_WIRE_VERSION, SGA_MSG_PKG_REQ, 0, 0};
	size_t len;

	dp_up();
	memcpy(f + 62, sga, 4);
	len = dp_pkt_udp_build(f, &d, &gw6, 1, 4);
	memcpy(g, f, len);
	g[60] = g[61] = 0; /* UDP checksum 0 */
	inject_raw(0, g, len);
	memcpy(g, f, len);
	g[63] ^= 1; /* bad UDP checksum */
	inject_raw(0, g, len);
	memcpy(g, f, 12); /* QinQ: an S-tag around the frame */
	memcpy(g + 12, (const uint8_t[]){0x88, 0xa8, 0x00, 0x0a}, 4);
	memcpy(g + 16, f + 12, len - 12);
	inject_raw(0, g, len + 4);
	memcpy(g, f, len); /* a fragment header after the fixed header */
	g[20] = 44;
	inject_raw(0, g, len);
	poll_q(0);
	cr_assert_eq(collect(0), 0);
	CTRS({DP_C_RX, 4}, {DP_C_DROP_UDP6_CSUM_ZERO, 1}, {DP_C_DROP_UDP_CSUM, 1},
	     {DP_C_DROP_QINQ, 1}, {DP_C_DROP_IP6_FRAG, 1});
	dp_down();
}

Test(dataplane, non_sga_frames_dropped)
{
	const struct dp_addr d = dev_addr(0, 40000);
	uint8_t f[128], sga[64];
	size_t len;

	dp_up();
	memset(sga, 0, sizeof(sga));
	sga[0] = SGA_WIRE_VERSION;
	sga[1] = SGA_MSG_PKG_REQ;
	memcpy(f + DP_PKT_HDR_LEN, sga, 4);
	len = dp_pkt_udp_build(f, &d, &gw, 1, 4);
	f[24] ^= 1;
	inject_raw(0, f, len); /* IP checksum */
	f[24] ^= 1;
	f[41] ^= 1;
	inject_raw(0, f, len); /* UDP checksum */
	f[41] ^= 1;
	f[37] ^= 1;
	inject_raw(0, f, len); /* another port */
	f[37] ^= 1;
	f[12] = 0x88;
	f[13] = 0xcc;
	inject_raw(0, f, len); /* LLDP */
	sga[0] = 2;
	inject(0, &d, sga, 4); /* SGA version 2 */
	sga[0] = SGA_WIRE_VERSION;
	sga[1] = SGA_MSG_DATA_DOWN;
	inject(0, &d, sga, 4); /* a gateway -> device type */
	sga[1] = SGA_MSG_DATA_UP;
	sga[3] = 21;
	sga[4 + 8] = 0;
	sga[4] = 1;
	inject(0, &d, sga, 25); /* DATA_UP with a 4-byte ciphertext */
	poll_q(0);
	cr_assert_eq(collect(0), 0);
	CTRS({DP_C_RX, 7}, {DP_C_DROP_IP_CSUM, 1}, {DP_C_DROP_UDP_CSUM, 1},
	     {DP_C_DROP_NOT_FOR_US, 1}, {DP_C_DROP_ETHERTYPE, 1}, {DP_C_DROP_SGA_HDR, 2},
	     {DP_C_DROP_NOT_UPLINK, 1});
	dp_down();
}

/* ---- control plane ------------------------------------------------------------------------------ */

static unsigned ring_take(unsigned w, struct rte_mbuf **m, unsigned n)
{
	return dp_ctrl_dequeue(dp, w, m, n);
}

/* m is the control frame sga[0..len) sent from `from`. */
static void expect_ctrl(struct rte_mbuf *m, const uint8_t *sga, size_t len,
                        const struct dp_addr *from)
{
	const uint8_t *p;
	size_t plen;
	struct dp_addr src;

	cr_assert_eq(dp_ctrl_payload(m, &p, &plen, &src), 0);
	cr_assert_eq(plen, len);
	cr_assert_arr_eq(p, sga, len);
	cr_assert(dp_addr_equal(&src, from));
	rte_pktmbuf_free(m);
}

/* [sessions] adopt: a data frame of a session not installed goes to the
 * control-plane worker of its session id, as it came (the control plane may
 * adopt the session, cp::adoption_*), up to half of that worker's ring; the
 * rest is dropped as without adoption. */
Test(dataplane, unknown_session_frames_to_the_control_plane_with_adopt)
{
	struct harness *h = session_new();
	const struct dp_addr d = dev_addr(0, 40000);
	uint8_t msg[32], frame[SGA_FRAME_MAX];
	struct rte_mbuf *m[64];
	unsigned w, got;
	size_t flen;

	port_make(1);
	cfg_fill(1, 3, 64, 16, 64);
	cfg.adopt_sessions = 1;
	dp_start();
	fill(msg, sizeof(msg), 1);
	flen = seal(h, 0, msg, sizeof(msg), frame);
	w = dp_ctrl_worker_of_session(h->gsess.session_id, 3);
	send_dropped(0, &d, frame, flen);
	cr_assert_eq(ring_take(w, m, 64), 1, "on the session's worker");
	expect_ctrl(m[0], frame, flen, &d);
	CTRS({DP_C_RX, 1}, {DP_C_DATA_IN, 1}, {DP_C_ADOPT_ASKED, 1});

	for (int i = 0; i < 40; i++)
		inject(0, &d, frame, flen);
	poll_q(0);
	poll_q(0); /* more than one burst */
	got = ring_take(w, m, 64);
	for (unsigned i = 0; i < got; i++)
		rte_pktmbuf_free(m[i]);
	cr_assert(got >= 28 && got <= 33, "%u taken: about half the ring", got);
	cr_assert_eq(ctr(DP_C_ADOPT_ASKED), 1 + got);
	cr_assert_eq(ctr(DP_C_DROP_UNKNOWN_SESSION), 40 - got, "%llu dropped, %u taken",
	             (unsigned long long)ctr(DP_C_DROP_UNKNOWN_SESSION), got);
	dp_down();
	session_free(h);
}

Test(dataplane, control_frames_routed_to_workers)
{
	struct harness *h = session_new();
	const struct dp_addr d = dev_addr(0, 40000);
	struct dp_gw_frame {
		uint8_t b[SGA_FRAME_MAX];
		size_t len;
	} neg, pkg, reg, kex;
	struct sga_dev_sess tmp;
	struct rte_mbuf *m[8];
	uint8_t rsa[256], *mac_at;
	const unsigned nw = 3;
	unsigned w_neg, w_kex, got[3];

	dp_up_with(1, nw, 64, 16, 64);
	memset(&tmp, 0, sizeof(tmp));
	cr_assert_eq(sga_dev_create_neg_req(&h->dev[0], &tmp, h->dev[1].id, h->dev[1].id_len, PREFS,
	                                    1, neg.b, sizeof(neg.b), &neg.len),
	             0);
	cr_assert_eq(sga_pkg_req_encode(0, pkg.b, sizeof(pkg.b), &pkg.len), 0);
	memset(rsa, 0xab, sizeof(rsa));
	cr_assert_eq(sga_reg_req_encode(0, SGA_GROUP_FFDHE2048, rsa, sizeof(rsa), reg.b,
	                                sizeof(reg.b), &mac_at, &reg.len),
	             0);
	/* A KEX_INIT envelope (routing looks at its clear session id only). */
	{
		static const uint8_t nonce[SGA_AEAD_NONCE_LEN] = {1};
		uint8_t *ct;
		size_t aad_len;

		cr_assert_eq(sga_env_sess_encode(SGA_MSG_KEX_INIT, h->gsess.session_id, 1, nonce,
		                                 40, kex.b, sizeof(kex.b), &ct, &aad_len),
		             0);
		memset(ct, 0x5c, 40);
		kex.len = aad_len + 40;
	}

	/* Device envelopes by device id, session envelopes by session id. */
	w_neg = dp_ctrl_worker_of_id(h->dev[0].id, h->dev[0].id_len, nw);
	w_kex = dp_ctrl_worker_of_session(h->gsess.session_id, nw);
	inject(0, &d, neg.b, neg.len);
	inject(0, &d, neg.b, neg.len);
	inject(0, &d, kex.b, kex.len);
	poll_q(0);
	cr_assert_eq(ring_take(w_neg, m, 8), w_neg == w_kex ? 3 : 2);
	expect_ctrl(m[0], neg.b, neg.len, &d);
	expect_ctrl(m[1], neg.b, neg.len, &d);
	if (w_neg == w_kex) {
		expect_ctrl(m[2], kex.b, kex.len, &d);
	} else {
		cr_assert_eq(ring_take(w_kex, m, 8), 1);
		expect_ctrl(m[0], kex.b, kex.len, &d);
	}
	for (unsigned w = 0; w < nw; w++)
		cr_assert_eq(ring_take(w, m, 8), 0);

	/* PKG_REQ carries nothing to order: round robin. A REG_REQ has no id in
	 * the clear; it is routed by the frame, so a retransmission (the same
	 * bytes) waits for its original on one worker (sga_route.h). */
	for (int i = 0; i < 3; i++)
		inject(0, &d, pkg.b, pkg.len);
	poll_q(0);
	for (unsigned w = 0; w < nw; w++) {
		got[w] = ring_take(w, m, 8);
		cr_assert_eq(got[w], 1, "worker %u got %u of the 3 round-robin frames", w, got[w]);
		expect_ctrl(m[0], pkg.b, pkg.len, &d);
	}
	for (int i = 0; i < 3; i++)
		inject(0, &d, reg.b, reg.len);
	poll_q(0);
	{
		struct sga_route_key rk;
		unsigned rr = 0, w_reg;

		sga_route_key(reg.b, reg.len, &rk);
		w_reg = sga_route_worker(&rk, nw, &rr);
		cr_assert_eq(ring_take(w_reg, m, 8), 3, "a REG_REQ and its copies on one worker");
		for (int i = 0; i < 3; i++)
			expect_ctrl(m[i], reg.b, reg.len, &d);
	}
	for (unsigned w = 0; w < nw; w++)
		cr_assert_eq(ring_take(w, m, 8), 0);
	cr_assert_eq(dp_ctrl_dequeue(dp, nw, m, 8), 0, "no such worker");
	CTRS({DP_C_RX, 9}, {DP_C_CTRL_IN, 9});
	dp_down();
	session_free(h);
}

/*
 * Handshake floods (docs/OPERATIONS.md, "Handshake floods"): a source address
 * over its token bucket is dropped before the control ring; another address
 * is not affected. Under load the lcores spread bare NEG_REQs of one device
 * over all workers (each only earns a cookie there), while the same frame
 * inside a COOKIE_ECHO still goes to its device's worker, and a worker can
 * hand a frame on to the one that owns it.
 */
Test(dataplane, control_frames_rate_limited_and_spread_under_load)
{
	struct harness *h = session_new();
	const struct dp_addr d = dev_addr(0, 40000), d2 = dev_addr(1, 40001);
	uint8_t pkg[SGA_FRAME_MAX], neg[SGA_FRAME_MAX], echo[SGA_FRAME_MAX],
	    cookie[SGA_COOKIE_LEN] = {7};
	size_t pkg_len, neg_len, echo_len;
	struct sga_dev_sess tmp;
	struct rte_mbuf *m[8];
	const unsigned nw = 3;
	unsigned w_neg, total = 0, other;

	port_make(1);
	cfg_fill(1, nw, 64, 16, 64);
	cfg.ctrl_rate = 5; /* per second: nothing refills within this test */
	cfg.ctrl_burst = 3;
	dp_start();
	cr_assert_eq(sga_pkg_req_encode(0, pkg, sizeof(pkg), &pkg_len), 0);
	memset(&tmp, 0, sizeof(tmp));
	cr_assert_eq(sga_dev_create_neg_req(&h->dev[0], &tmp, h->dev[1].id, h->dev[1].id_len, PREFS,
	                                    1, neg, sizeof(neg), &neg_len),
	             0);
	cr_assert_eq(sga_cookie_echo_encode(cookie, neg, neg_len, echo, sizeof(echo), &echo_len),
	             0);
	w_neg = dp_ctrl_worker_of_id(h->dev[0].id, h->dev[0].id_len, nw);

	/* 5 frames from d: its burst of 3 pass, 2 are dropped; d2 has its own bucket */
	for (int i = 0; i < 5; i++)
		inject(0, &d, pkg, pkg_len);
	inject(0, &d2, pkg, pkg_len);
	poll_q(0);
	for (unsigned w = 0; w < nw; w++) {
		unsigned backlog = dp_ctrl_backlog(dp, w), n = ring_take(w, m, 8);

		cr_assert_eq(backlog, n);
		for (unsigned k = 0; k < n; k++)
			rte_pktmbuf_free(m[k]);
		total += n;
	}
	cr_assert_eq(total, 4);
	CTRS({DP_C_RX, 6}, {DP_C_CTRL_IN, 4}, {DP_C_DROP_CTRL_RATE, 2});
	dp_down();

	/* no limit; under load */
	port_make(1);
	cfg_fill(1, nw, 64, 16, 64);
	dp_start();
	dp_ctrl_set_spread(dp, 1);
	for (int i = 0; i < 3; i++)
		inject(0, &d, neg, neg_len);
	inject(0, &d, echo, echo_len);
	poll_q(0);
	{
		struct rte_mbuf *got[3][8];
		unsigned n[3];

		for (unsigned w = 0; w < nw; w++) {
			n[w] = ring_take(w, got[w], 8);
			cr_assert_eq(n[w], w == w_neg ? 2u : 1u, "worker %u: %u frames", w, n[w]);
		}
		for (unsigned w = 0; w < nw; w++)
			for (unsigned k = 0; k < n[w]; k++) {
				const uint8_t *p;
				size_t plen;

				cr_assert_eq(dp_ctrl_payload(got[w][k], &p, &plen, NULL), 0);
				if (p[1] == SGA_MSG_COOKIE_ECHO)
					cr_assert_eq(w, w_neg,
					             "a COOKIE_ECHO goes to its key's worker");
				if (w !=
				    w_neg) /* hand it on, as a worker that does not own it does */
					cr_assert_eq(dp_ctrl_forward(dp, w_neg, got[w][k]), 0);
				else
					rte_pktmbuf_free(got[w][k]);
			}
	}
	cr_assert_eq(dp_ctrl_backlog(dp, w_neg), 2u, "the two handed on");
	cr_assert_eq(ring_take(w_neg, m, 8), 2);
	for (unsigned k = 0; k < 2; k++)
		expect_ctrl(m[k], neg, neg_len, &d);
	CTRS({DP_C_RX, 4}, {DP_C_CTRL_IN, 4}, {DP_C_CTRL_SPREAD, 3});
	/* load over: the same frame goes to its worker again */
	dp_ctrl_set_spread(dp, 0);
	inject(0, &d, neg, neg_len);
	poll_q(0);
	other = ring_take(w_neg, m, 8);
	cr_assert_eq(other, 1);
	expect_ctrl(m[0], neg, neg_len, &d);

	/* Under load a quarter of each ring (64 here) stays free for cookie
	 * echoes: 150 bare frames fill 48 slots per worker, the rest are dropped,
	 * and an echo still gets in. */
	dp_ctrl_set_spread(dp, 1);
	for (int i = 0; i < 150; i += 30) {
		for (int k = 0; k < 30; k++)
			inject(0, &d, neg, neg_len);
		poll_q(0);
	}
	inject(0, &d, echo, echo_len);
	poll_q(0);
	for (unsigned w = 0; w < nw; w++)
		cr_assert_eq(dp_ctrl_backlog(dp, w), w == w_neg ? 49u : 48u, "worker %u: %u", w,
		             dp_ctrl_backlog(dp, w));
	CTRS({DP_C_RX, 4 + 1 + 151}, {DP_C_CTRL_IN, 4 + 1 + 145}, {DP_C_CTRL_SPREAD, 3 + 144},
	     {DP_C_DROP_CTRL_LOAD, 6});
	for (unsigned w = 0; w < nw; w++) {
		unsigned n;

		while ((n = ring_take(w, m, 8)) > 0)
			for (unsigned k = 0; k < n; k++)
				rte_pktmbuf_free(m[k]);
	}
	dp_down();
	session_free(h);
}

Test(dataplane, control_ring_full)
{
	const struct dp_addr d = dev_addr(0, 40000);
	uint8_t pkg[SGA_PKG_REQ_LEN];
	size_t len;
	struct rte_mbuf *m[4];

	dp_up_with(1, 1, 4, 16, 64); /* a ring of 4 holds 3 */
	cr_assert_eq(sga_pkg_req_encode(0, pkg, sizeof(pkg), &len), 0);
	for (int i = 0; i < 5; i++)
		inject(0, &d, pkg, len);
	poll_q(0);
	cr_assert_eq(ring_take(0, m, 4), 3);
	rte_pktmbuf_free_bulk(m, 3);
	CTRS({DP_C_RX, 5}, {DP_C_CTRL_IN, 3}, {DP_C_DROP_CTRL_RING_FULL, 2});
	dp_down();
}

Test(dataplane, ctrl_send_builds_frames)
{
	const struct dp_addr d = dev_addr(1, 40001);
	uint8_t frame[SGA_FRAME_MAX + 1];
	const uint8_t *p;
	size_t plen;

	dp_up();
	fill(frame, sizeof(frame), 5);
	cr_assert_eq(dp_ctrl_send(dp, &d, frame, 100), 0);
	cr_assert_eq(dp_ctrl_send(dp, &d, frame, SGA_FRAME_MAX), 0);
	cr_assert_eq(dp_ctrl_send(dp, &d, frame, 0), -EINVAL);
	cr_assert_eq(dp_ctrl_send(dp, &d, frame, SGA_FRAME_MAX + 1), -EINVAL);
	poll_q(0);
	cr_assert_eq(collect(0), 2);
	p = payload_to(&outs[0], &d, &plen);
	cr_assert_eq(plen, 100);
	cr_assert_arr_eq(p, frame, 100);
	p = payload_to(&outs[1], &d, &plen);
	cr_assert_eq(plen, SGA_FRAME_MAX);
	cr_assert_arr_eq(p, frame, SGA_FRAME_MAX);
	CTRS({DP_C_CTRL_OUT, 2}, {DP_C_TX, 2});
	cr_assert_eq(rte_mempool_avail_count(dp->ctrl_pool), dp->ctrl_pool->size,
	             "control mbufs all back");
	dp_down();
}

/* ---- session table ------------------------------------------------------------------------------ */

struct view_acc {
	unsigned n;
	struct dp_session_view v;
};

static void view_cb(const struct dp_session_view *v, void *arg)
{
	struct view_acc *acc = arg;

	acc->n++;
	acc->v = *v;
}

RELAY_TEST(install_replace_and_snapshot)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	const struct dp_addr addr2[2] = {dev_addr(4, 41000), dev_addr(5, 41001)};
	const uint64_t tx_seq[2] = {10, 20}, tx_limit[2] = {1000, 1000}, rx_next[2] = {0, 0};
	struct sga_gw_session bad;
	struct view_acc acc;

	dp_up_with(1, 3, 64, 1, 64);
	bad = h->gsess;
	bad.state = SGA_GW_S_KEX;
	cr_assert_eq(dp_session_install(dp, &bad, addr, tx_seq, tx_limit, rx_next), -EINVAL);
	bad = h->gsess;
	bad.hop_suite[1] = 0x77;
	cr_assert_eq(dp_session_install(dp, &bad, addr, tx_seq, tx_limit, rx_next), -EINVAL);
	cr_assert_eq(dp_session_install(dp, NULL, addr, tx_seq, tx_limit, rx_next), -EINVAL);
	cr_assert_eq(dp_session_install(dp, &h->gsess, addr, tx_seq, tx_limit, rx_next), 0);
	bad = h->gsess;
	bad.session_id ^= 1;
	cr_assert_eq(dp_session_install(dp, &bad, addr, tx_seq, tx_limit, rx_next), -ENOSPC,
	             "max_sessions 1");

	send_ok(h, 0, addr, NULL, 10, 1);
	send_ok(h, 0, addr, NULL, 10, 2);
	memset(&acc, 0, sizeof(acc));
	dp_session_foreach(dp, view_cb, &acc);
	cr_assert_eq(acc.n, 1);
	cr_assert_eq(acc.v.session_id, h->gsess.session_id);
	cr_assert(dp_addr_equal(&acc.v.addr[0], &addr[0]));
	cr_assert(dp_addr_equal(&acc.v.addr[1], &addr[1]));
	cr_assert_eq(acc.v.rx_next[0], 2);
	cr_assert_eq(acc.v.rx_next[1], 0);
	cr_assert_eq(acc.v.tx_seq[0], 12, "two ACKs");
	cr_assert_eq(acc.v.tx_seq[1], 22, "two relays");

	/* Re-install the same id (as after a restart): new addresses, the
	 * persisted marks; replaces, does not add. */
	const uint64_t tx_seq2[2] = {100, 200}, rx_next2[2] = {2, 0};
	cr_assert_eq(dp_session_install(dp, &h->gsess, addr2, tx_seq2, tx_limit, rx_next2), 0);
	cr_assert_eq(dp_session_count(dp), 1);
	memset(&acc, 0, sizeof(acc));
	dp_session_foreach(dp, view_cb, &acc);
	cr_assert_eq(acc.n, 1);
	cr_assert(dp_addr_equal(&acc.v.addr[0], &addr2[0]));
	cr_assert_eq(acc.v.tx_seq[1], 200);
	cr_assert_eq(acc.v.rx_next[0], 2);
	/* Traffic flows on the new slot, to the new addresses, from the new
	 * TX sequence numbers (the devices' windows accept the jump). */
	send_ok(h, 1, addr2, NULL, 10, 3);
	dp_down();
	session_free(h);
}

/* ---- the real lcore loop ----------------------------------------------------------------------- */

RELAY_TEST(lcore_main_relays_and_stops)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	uint8_t msg[32], frame[SGA_FRAME_MAX];
	size_t flen;
	uint64_t deadline;

	eal_up();
	if (rte_lcore_count() < 2 || !rte_lcore_is_enabled(1))
		cr_skip_test("needs a second lcore");
	lcore_ids[0] = 1; /* the data plane runs on lcore 1, the test on 0 */
	dp_up();
	install(h, addr, 1000, 1000, 0);
	cr_assert_eq(rte_eal_remote_launch(dp_lcore_main, dp, 1), 0);
	fill(msg, sizeof(msg), 1);
	flen = seal(h, 0, msg, sizeof(msg), frame);
	inject(0, &addr[0], frame, flen);
	deadline = rte_get_timer_cycles() + 10 * rte_get_timer_hz();
	while (rte_ring_count(txr[0]) < 2 && rte_get_timer_cycles() < deadline)
		rte_delay_us_sleep(1000);
	dp_stop(dp);
	cr_assert_eq(rte_eal_wait_lcore(1), 0);
	cr_assert_eq(collect(0), 2);
	expect_data(h, 0, 1, &addr[1], msg, sizeof(msg));
	expect_ack(h, 1, 0, &addr[0], sga_dev_data_last_seq(&h->sess[0]));
	lcore_ids[0] = 0;
	dp_down();
	session_free(h);
}

/* ---- session removal and slot reuse (dp_rcu.c) ---------------------------------------------------- */

/* A copy of the harness session under another id: the data plane derives the
 * hop keys from k_t and the id, so installs and removals need no handshake. */
static struct sga_gw_session sess_as(const struct harness *h, uint64_t sid)
{
	struct sga_gw_session s = h->gsess;

	s.session_id = sid;
	return s;
}

/* The replay-mark pass's walk (dp_session_foreach_moved): a session is
 * visited once after it was installed or moved, and not again until it moves
 * again; a replayed frame moves nothing, a removed session is not visited. */
RELAY_TEST(foreach_moved_visits_only_what_moved)
{
	struct harness *h = session_new();
	struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	const struct dp_addr moved_to = dev_addr(2, 40002);
	const uint64_t tx_seq[2] = {0, 0}, tx_limit[2] = {1000, 1000}, rx_next[2] = {0, 0};
	uint8_t msg[16], frame[SGA_FRAME_MAX];
	struct view_acc acc;
	size_t flen;

	dp_up();
	install(h, addr, 1000, 1000, 0);
	for (uint64_t k = 1; k <= 2; k++) {
		struct sga_gw_session o = sess_as(h, h->gsess.session_id + k);

		cr_assert_eq(dp_session_install(dp, &o, addr, tx_seq, tx_limit, rx_next), 0);
	}
	memset(&acc, 0, sizeof(acc));
	dp_session_foreach_moved(dp, view_cb, &acc);
	cr_assert_eq(acc.n, 3, "every session once after its install");
	memset(&acc, 0, sizeof(acc));
	dp_session_foreach_moved(dp, view_cb, &acc);
	cr_assert_eq(acc.n, 0, "nothing moved since");

	/* Two fresh frames from member 0: one visit, with both. */
	send_ok(h, 0, addr, NULL, 10, 1);
	fill(msg, sizeof(msg), 2);
	flen = seal(h, 0, msg, sizeof(msg), frame);
	inject(0, &addr[0], frame, flen);
	poll_q(0);
	cr_assert_eq(collect(0), 2);
	memset(&acc, 0, sizeof(acc));
	dp_session_foreach_moved(dp, view_cb, &acc);
	cr_assert_eq(acc.n, 1);
	cr_assert_eq(acc.v.session_id, h->gsess.session_id);
	cr_assert_eq(acc.v.rx_next[0], 2);

	/* The same frame again (a replay, even from elsewhere) moves nothing. */
	inject(0, &moved_to, frame, flen);
	poll_q(0);
	cr_assert_eq(collect(0), 1, "acknowledged again, not relayed");
	memset(&acc, 0, sizeof(acc));
	dp_session_foreach_moved(dp, view_cb, &acc);
	cr_assert_eq(acc.n, 0, "a replay moves no mark and no address");

	/* A fresh frame from a new address: visited, with the address. */
	send_ok(h, 0, addr, &moved_to, 10, 3);
	memset(&acc, 0, sizeof(acc));
	dp_session_foreach_moved(dp, view_cb, &acc);
	cr_assert_eq(acc.n, 1);
	cr_assert(dp_addr_equal(&acc.v.addr[0], &moved_to));
	addr[0] = moved_to;

	/* Moved, then removed: not visited. */
	send_ok(h, 1, addr, NULL, 10, 4);
	cr_assert_eq(dp_session_remove(dp, h->gsess.session_id, NULL), 0);
	memset(&acc, 0, sizeof(acc));
	dp_session_foreach_moved(dp, view_cb, &acc);
	cr_assert_eq(acc.n, 0, "a removed session's slot is not visited");
	dp_down();
	session_free(h);
}

RELAY_TEST(removed_session_dropped_counted_and_reinstalled)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	uint8_t msg[32], frame[SGA_FRAME_MAX];
	struct dp_session_view fin;
	size_t flen;

	dp_up_with(1, 3, 64, 1, 64);
	install(h, addr, 1000, 1000, 0);
	send_ok(h, 0, addr, NULL, 20, 1);
	send_ok(h, 1, addr, NULL, 30, 2);
	cr_assert_eq(dp_session_remove(dp, h->gsess.session_id, &fin), 0);
	cr_assert_eq(fin.session_id, h->gsess.session_id);
	cr_assert_eq(fin.frames[0], 1);
	cr_assert_eq(fin.frames[1], 1);
	cr_assert_eq(fin.bytes[0], 8 + 20 + 16, "e2e_seq | e2e_ct (GCM tag)");
	cr_assert_eq(dp_session_count(dp), 0);
	cr_assert_eq(dp_session_retired(dp), 0, "no lcore online: freed at once");
	cr_assert_eq(dp_session_remove(dp, h->gsess.session_id, NULL), -ENOENT);
	cr_assert_eq(dp_session_remove(dp, 0, NULL), -EINVAL);

	/* Its next frame, authentic as it is, finds no session. */
	fill(msg, sizeof(msg), 3);
	flen = seal(h, 0, msg, sizeof(msg), frame);
	send_dropped(0, &addr[0], frame, flen);
	cr_assert_eq(ctr(DP_C_DROP_UNKNOWN_SESSION), 1);

	/* max_sessions 1: the removed one's place is free again. (Above the
	 * hop seqs the devices saw: the harness record keeps its epoch.) */
	{
		const uint64_t tx_seq[2] = {100, 100}, tx_limit[2] = {2000, 2000},
		               rx_next[2] = {0, 0};

		cr_assert_eq(dp_session_install(dp, &h->gsess, addr, tx_seq, tx_limit, rx_next), 0);
	}
	cr_assert_eq(dp_session_count(dp), 1);
	send_ok(h, 1, addr, NULL, 10, 4);
	dp_down();
	session_free(h);
}

Test(dataplane, ten_times_max_sessions_opened_and_closed)
{
	enum { MAX = 16, ROUNDS = 10 };
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	const uint64_t tx_seq[2] = {0, 0}, tx_limit[2] = {1000, 1000}, rx_next[2] = {0, 0};
	unsigned top = 0;

	crypto_dev = "crypto_aesni_mb"; /* cryptodev sessions are freed with the slots too */
	dp_up_with(1, 3, 64, MAX, 64);
	for (unsigned r = 0; r < ROUNDS; r++) {
		for (unsigned i = 0; i < MAX; i++) {
			struct sga_gw_session s = sess_as(h, 0x1000 + r * MAX + i);

			cr_assert_eq(dp_session_install(dp, &s, addr, tx_seq, tx_limit, rx_next), 0,
			             "round %u, session %u", r, i);
			top = RTE_MAX(top, dp_slot_index(dp, dp_session_lookup(dp, s.session_id)));
		}
		cr_assert_eq(dp_session_count(dp), MAX);
		{
			struct sga_gw_session s = sess_as(h, 0x9999);

			cr_assert_eq(dp_session_install(dp, &s, addr, tx_seq, tx_limit, rx_next),
			             -ENOSPC, "max_sessions still holds");
		}
		/* A replacement retires the old slot and frees it too. */
		{
			struct sga_gw_session s = sess_as(h, 0x1000 + r * MAX);

			cr_assert_eq(dp_session_install(dp, &s, addr, tx_seq, tx_limit, rx_next),
			             0);
		}
		for (unsigned i = 0; i < MAX; i++)
			cr_assert_eq(dp_session_remove(dp, 0x1000 + r * MAX + i, NULL), 0);
		dp_poll_once(dp, 0);
		cr_assert_eq(dp_session_count(dp), 0);
	}
	cr_assert_eq(dp_session_retired(dp), 0);
	cr_assert_leq(top, MAX, "slots reused: never beyond max_sessions + 1 (a replacement)");
	cr_assert_eq(dp->n_free, dp->n_slots, "every slot back on the free list");
	dp_down();
	session_free(h);
}

/* A session installed and removed while an op of its owner lcore (the test
 * thread, online as lcore 0's reader) is in flight on its slot; returns the slot. */
static unsigned removed_with_op_in_flight(struct harness *h)
{
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	unsigned idx;

	dp_up_with(1, 3, 64, 4, 64);
	install(h, addr, 1000, 1000, 0);
	idx = dp_slot_index(dp, dp_session_lookup(dp, h->gsess.session_id));
	dp->life[idx].ops = 1;
	rte_rcu_qsbr_thread_online(dp->qsbr, 0);
	cr_assert_eq(dp_session_remove(dp, h->gsess.session_id, NULL), 0);
	return idx;
}

/* The three stages of dp_rcu.c, with the test thread as lcore 0's reader. */
Test(dataplane, removed_slot_waits_for_lcores_and_ops_in_flight)
{
	struct harness *h = session_new();
	unsigned idx = removed_with_op_in_flight(h);

	cr_assert_eq(dp_session_reclaim(dp), 0, "lcore 0 passed no quiescent state");
	rte_rcu_qsbr_quiescent(dp->qsbr, 0);
	cr_assert_eq(dp_session_reclaim(dp), 0, "an op still references the slot");
	cr_assert_eq(dp_session_retired(dp), 1);
	cr_assert_not_null(dp->cs[idx].cpu_open[0], "its keys are still there for the op");
	dp->life[idx].ops = 0; /* the op completed */
	cr_assert_eq(dp_session_reclaim(dp), 0, "the completion's iteration may still use it");
	rte_rcu_qsbr_quiescent(dp->qsbr, 0);
	cr_assert_eq(dp_session_reclaim(dp), 1);
	cr_assert_null(dp->cs[idx].cpu_open[0], "keys freed with the slot");
	cr_assert_eq(dp->slots[idx].session_id, 0, "slot wiped");
	rte_rcu_qsbr_thread_offline(dp->qsbr, 0);
	dp_down();
	session_free(h);
}

/* The completion that ends a slot's last op goes on with its iteration: the
 * DATA_ACK it noted is sealed on the device at the end of it, an op on the
 * slot again. The slot must wait for that op too: freed when the grace
 * period after its last op ends, it would be wiped and reused with the op in
 * flight (whose completion then drove the next session's count below 0). */
Test(dataplane, removed_slot_waits_for_ops_built_after_its_last)
{
	struct harness *h = session_new();
	unsigned idx = removed_with_op_in_flight(h); /* the SEAL_DOWN of a relay */

	rte_rcu_qsbr_quiescent(dp->qsbr, 0);
	/* Its completion: the count reaches 0 and a reclaim sees it ... */
	dp->life[idx].ops = 0;
	cr_assert_eq(dp_session_reclaim(dp), 0);
	/* ... then the same iteration flushes the DATA_ACK it noted: a seal on
	 * the device, built on the slot. */
	dp->life[idx].ops = 1;
	rte_rcu_qsbr_quiescent(dp->qsbr, 0);
	cr_assert_eq(dp_session_reclaim(dp), 0, "the DATA_ACK's op still references the slot");
	cr_assert_not_null(dp->cs[idx].cpu_open[0], "its keys are still there for the op");
	cr_assert_eq(dp->life[idx].ops, 1, "the count of the op in flight is kept");
	dp->life[idx].ops = 0; /* the DATA_ACK's op completed */
	cr_assert_eq(dp_session_reclaim(dp), 0, "its iteration may still use the slot");
	rte_rcu_qsbr_quiescent(dp->qsbr, 0);
	cr_assert_eq(dp_session_reclaim(dp), 1);
	cr_assert_eq(dp_session_retired(dp), 0);
	rte_rcu_qsbr_thread_offline(dp->qsbr, 0);
	dp_down();
	session_free(h);
}

/* A removed session's stored messages are released when its slot is freed
 * (PROTOCOL.md 7.14), by the owner lcore. */
Test(dataplane, closed_session_messages_released_from_store)
{
	char dir[] = "/tmp/sga-wt-close-store-XXXXXX", cmd[80];
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), {.port = 0}};
	uint8_t msg[32], f[SGA_FRAME_MAX];
	struct dp_store_stats ss;
	size_t flen;

	crypto_dev = "cpu";
	cr_assert_not_null(mkdtemp(dir));
	port_make(1);
	cfg_fill(1, 3, 64, 16, 64);
	cfg.store_dir = dir;
	cfg.store_pending_max = 64;
	dp_start();
	install(h, addr, 1000, 1000, 0);
	for (unsigned i = 0; i < 3; i++) {
		fill(msg, sizeof(msg), i);
		flen = seal(h, 0, msg, sizeof(msg), f);
		inject(0, &addr[0], f, flen);
		poll_q(0);
	}
	for (int i = 0; i < 200 && (dp_store_totals(dp, &ss), ss.pending < 3); i++)
		rte_delay_us_sleep(1000);
	cr_assert_eq(ss.pending, 3, "held for the absent recipient");
	cr_assert_eq(dp_session_remove(dp, h->gsess.session_id, NULL), 0);
	poll_q(0);
	dp_store_totals(dp, &ss);
	cr_assert_eq(ss.pending, 0);
	cr_assert_eq(ss.closed_released, 3);
	cr_assert_eq(ss.recipients, 0);
	collect(0);
	dp_down();
	session_free(h);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

/* Several gateways ([sessions] adopt): a session another gateway owns now
 * leaves the table (dp_session_disown), but what the store holds for it
 * stays: not released with the slot, nor by the re-send scan that finds no
 * session for it, so it is there to deliver when the session is adopted
 * back. */
Test(dataplane, disowned_session_messages_stay_held)
{
	char dir[] = "/tmp/sga-wt-disown-XXXXXX", cmd[80];
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), {.port = 0}};
	uint8_t msg[32], f[SGA_FRAME_MAX];
	struct dp_store_stats ss;
	size_t flen;

	crypto_dev = "cpu";
	cr_assert_not_null(mkdtemp(dir));
	port_make(1);
	cfg_fill(1, 3, 64, 16, 64);
	cfg.store_dir = dir;
	cfg.store_pending_max = 64;
	cfg.adopt_sessions = 1;
	dp_start();
	install(h, addr, 1000, 1000, 0);
	dp_sessions_restored(dp);
	for (unsigned i = 0; i < 3; i++) {
		fill(msg, sizeof(msg), i);
		flen = seal(h, 0, msg, sizeof(msg), f);
		inject(0, &addr[0], f, flen);
		poll_q(0);
	}
	for (int i = 0; i < 200 && (dp_store_totals(dp, &ss), ss.pending < 3); i++)
		rte_delay_us_sleep(1000);
	cr_assert_eq(ss.pending, 3, "held for the absent recipient");
	cr_assert_eq(dp_session_disown(dp, h->gsess.session_id), 0);
	cr_assert_eq(dp_session_disown(dp, h->gsess.session_id), -ENOENT);
	/* Past the first re-send time (resend_min_ms): the scan finds them due
	 * and no session for them. */
	for (int i = 0; i < 40; i++) {
		dp_poll_once(dp, 0);
		rte_delay_us_sleep(10000);
	}
	dp_store_totals(dp, &ss);
	cr_assert_eq(ss.pending, 3, "kept for the session's owner");
	cr_assert_eq(ss.closed_released, 0);
	/* Adopted back: the same session again, its messages still held. */
	install(h, addr, 2000, 2000, 0);
	poll_q(0);
	dp_store_totals(dp, &ss);
	cr_assert_eq(ss.pending, 3);
	collect(0);
	dp_down();
	session_free(h);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

/* Removals and re-installs while the real lcore loop relays the session's
 * frames on another lcore: no freed slot is ever touched (the ASan build
 * says so), every frame is relayed or dropped, every mbuf comes back. */
RELAY_TEST(remove_and_reinstall_under_relaying_lcore)
{
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	uint8_t msg[32], frame[SGA_FRAME_MAX];
	uint64_t deadline, v[DP_C__COUNT], sent = 0;
	size_t flen;

	eal_up();
	if (rte_lcore_count() < 2 || !rte_lcore_is_enabled(1))
		cr_skip_test("needs a second lcore");
	lcore_ids[0] = 1;
	dp_up_with(1, 3, 64, 4, 1u << 20);
	install(h, addr, 1u << 30, 1u << 30, 0);
	cr_assert_eq(rte_eal_remote_launch(dp_lcore_main, dp, 1), 0);
	for (unsigned round = 0; round < 200; round++) {
		for (unsigned k = 0; k < 8; k++) {
			fill(msg, sizeof(msg), k);
			flen = seal(h, k & 1, msg, sizeof(msg), frame);
			inject(0, &addr[k & 1], frame, flen);
			sent++;
		}
		if (round % 2)
			cr_assert_eq(dp_session_remove(dp, h->gsess.session_id, NULL), 0);
		install(h, addr, 1u << 30, 1u << 30, 0); /* a fresh one or a replacement */
		dp_session_reclaim(dp);
		while (rte_ring_count(txr[0]) > 512) {
			struct rte_mbuf *m;

			while (rte_ring_dequeue(txr[0], (void **)&m) == 0)
				rte_pktmbuf_free(m);
		}
	}
	deadline = rte_get_timer_cycles() + 10 * rte_get_timer_hz();
	while ((rte_ring_count(rxr[0]) || dp_session_retired(dp)) &&
	       rte_get_timer_cycles() < deadline) {
		rte_delay_us_sleep(1000);
		dp_session_reclaim(dp);
	}
	if (dp_session_retired(dp))
		dp_rcu_dump(dp, stderr); /* what holds them */
	cr_assert_eq(dp_session_retired(dp), 0, "every retired slot freed while the lcore ran");
	dp_stop(dp);
	cr_assert_eq(rte_eal_wait_lcore(1), 0);
	dp_counters(dp, v);
	cr_assert_eq(v[DP_C_DATA_IN], sent);
	cr_assert_eq(v[DP_C_RELAYED] + v[DP_C_DROP_UNKNOWN_SESSION] + v[DP_C_DROP_HOP_REPLAY] +
	                 v[DP_C_DUPLICATE] + v[DP_C_DROP_PEER_UNKNOWN],
	             sent, "relayed %llu, unknown %llu", (unsigned long long)v[DP_C_RELAYED],
	             (unsigned long long)v[DP_C_DROP_UNKNOWN_SESSION]);
	cr_assert_gt(v[DP_C_RELAYED], 0);
	{
		struct rte_mbuf *m;

		while (rte_ring_dequeue(txr[0], (void **)&m) == 0)
			rte_pktmbuf_free(m);
	}
	lcore_ids[0] = 0;
	dp_down();
	session_free(h);
}

/* After a restart the store still holds the messages of a session closed just
 * before it (its close never reached the store): once the control plane says
 * the restore is done, the owner lcore releases them when they come due. */
Test(dataplane, messages_of_a_session_gone_after_restart_released)
{
	char dir[] = "/tmp/sga-wt-gone-store-XXXXXX", cmd[80];
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), {.port = 0}};
	uint8_t msg[32], f[SGA_FRAME_MAX];
	struct dp_store_stats ss;
	size_t flen;

	crypto_dev = "cpu";
	cr_assert_not_null(mkdtemp(dir));
	port_make(1);
	cfg_fill(1, 3, 64, 16, 64);
	cfg.store_dir = dir;
	cfg.store_fsync = 2; /* MSG_LOG_FSYNC_ALWAYS: durable before the restart */
	cfg.store_pending_max = 64;
	dp_start();
	install(h, addr, 1000, 1000, 0);
	for (unsigned i = 0; i < 2; i++) {
		fill(msg, sizeof(msg), i);
		flen = seal(h, 0, msg, sizeof(msg), f);
		inject(0, &addr[0], f, flen);
		poll_q(0);
	}
	for (int i = 0; i < 200 && (dp_store_totals(dp, &ss), ss.pending < 2); i++)
		rte_delay_us_sleep(1000);
	cr_assert_eq(ss.pending, 2);
	collect(0);
	dp_down();

	/* The next start: the session is not restored. */
	port_make(1);
	dp_start();
	dp_store_totals(dp, &ss);
	cr_assert_eq(ss.pending, 2, "recovered from the log");
	for (int i = 0; i < 50; i++) { /* not before the restore is done */
		dp_poll_once(dp, 0);
		rte_delay_us_sleep(10000);
	}
	dp_store_totals(dp, &ss);
	cr_assert_eq(ss.pending, 2, "kept while sessions may still be restored");
	dp_sessions_restored(dp);
	for (int i = 0; i < 1000 && (dp_store_totals(dp, &ss), ss.pending); i++) {
		dp_poll_once(dp, 0);
		rte_delay_us_sleep(10000);
	}
	cr_assert_eq(ss.pending, 0);
	cr_assert_eq(ss.closed_released, 2);
	collect(0);
	dp_down();
	session_free(h);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

/* WAKE step 3 (PROTOCOL.md 7.16): dp_session_wake moves the session address of
 * the device's member, applied by the owner lcore, and with WANT_STORED
 * resets the store's backoff for it (redelivery at once, not at the next
 * backed-off attempt); it reports the session as holding messages for it.
 * A WAKE of a device with no installed session moves nothing. */
Test(dataplane, wake_moves_the_session_address_and_kicks_redelivery)
{
	char dir[] = "/tmp/sga-wt-wake-XXXXXX", cmd[80];
	struct harness *h = session_new();
	const struct dp_addr addr[2] = {dev_addr(0, 40000), dev_addr(1, 40001)};
	const struct dp_addr moved = dev_addr(7, 40077);
	struct dp_store_resend rs[DP_BURST];
	struct dp_wake_result res;
	struct dp_session_view v;
	struct dp_store *st;
	uint8_t msg[32], f[SGA_FRAME_MAX];
	uint64_t now;
	unsigned n, to_moved = 0;
	size_t flen;

	crypto_dev = "cpu";
	cr_assert_not_null(mkdtemp(dir));
	port_make(1);
	cfg_fill(1, 3, 64, 16, 64);
	cfg.store_dir = dir;
	cfg.store_pending_max = 64;
	dp_start();
	install(h, addr, 1000, 1000, 0);
	st = dp->lcores[0].store;

	/* d_i's message goes to d_j's old address, where nobody reads it. */
	fill(msg, sizeof(msg), 1);
	flen = seal(h, 0, msg, sizeof(msg), f);
	inject(0, &addr[0], f, flen);
	poll_q(0);
	collect(0);
	cr_assert_eq(dp_store_pending(st, h->gsess.session_id, 1), 1);
	/* Its re-sends back off (the test plays the lcore's clock forward). */
	now = dp_store_now_ms();
	for (unsigned k = 1; k <= 4; k++)
		(void)dp_store_resends_due(st, now + k * 60000u, rs, DP_BURST);
	cr_assert_gt(dp_store_backoff_ms(st, h->gsess.session_id, 1), 200);

	/* Nobody's WAKE: nothing posted, nothing moves. */
	cr_assert_eq(
	    dp_session_wake(dp, (const uint8_t *)"nobody", 6, &moved, SGA_WAKE_FLAGS_ALL, 0, &res),
	    0);
	cr_assert_eq(res.sessions, 0);

	/* d_j's: one (session, role) posted, applied at the lcore's next iteration. */
	cr_assert_eq(dp_session_wake(dp, h->gsess.id[1], h->gsess.id_len[1], &moved,
	                             SGA_WAKE_WANT_STORED, 0, &res),
	             0);
	cr_assert_eq(res.sessions, 1);
	poll_q(0);
	dp_session_wake_result(dp, &res);
	cr_assert_eq(res.done, 1);
	cr_assert_eq(res.stored, 1, "the store holds d_j's message");
	cr_assert_eq(dp_session_get(dp, h->gsess.session_id, &v), 0);
	cr_assert(dp_addr_equal(&v.addr[1], &moved), "d_j's session address moved");
	cr_assert(dp_addr_equal(&v.addr[0], &addr[0]), "d_i's stays");
	cr_assert_eq(dp_store_backoff_ms(st, h->gsess.session_id, 1), 200,
	             "WANT_STORED: the backoff is reset, redelivery starts at once");

	/* d_i's next message reaches d_j where it woke up, without d_j sending. */
	fill(msg, sizeof(msg), 2);
	flen = seal(h, 0, msg, sizeof(msg), f);
	inject(0, &addr[0], f, flen);
	poll_q(0);
	n = collect(0);
	for (unsigned k = 0; k < n; k++) {
		struct dp_pkt_meta meta;

		if (dp_pkt_classify(outs[k].b, outs[k].len, &moved, &meta) == DP_PKT_UDP &&
		    outs[k].b[meta.payload_off + 1] == SGA_MSG_DATA_DOWN)
			to_moved++;
	}
	cr_assert_geq(to_moved, 1, "a DATA_DOWN to the new address");
	/* Re-installed (a rekey) the session is still d_j's; closed, it is not. */
	install(h, addr, 1000, 1000, 0);
	cr_assert_eq(dp_session_wake(dp, h->gsess.id[1], h->gsess.id_len[1], &moved, 0, 0, &res),
	             0);
	cr_assert_eq(res.sessions, 1);
	poll_q(0);
	cr_assert_eq(dp_session_remove(dp, h->gsess.session_id, NULL), 0);
	cr_assert_eq(dp_session_wake(dp, h->gsess.id[1], h->gsess.id_len[1], &moved, 0, 0, &res),
	             0);
	cr_assert_eq(res.sessions, 0, "a closed session is out of the device index");
	poll_q(0);
	collect(0);
	dp_down();
	session_free(h);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}
