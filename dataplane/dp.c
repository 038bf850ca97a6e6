/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp.c - data plane set-up and tear-down, and the calls the control plane makes
 * (dp.h): control frames in and out, reservations, counters.
 *
 * Everything the lcores use is sized and allocated here, before the port
 * starts: two mbuf pools (one for the lcores, one for control-plane TX from
 * non-EAL threads, where per-lcore mempool caches do not apply), the rings
 * between the planes, the crypto device with its queue pairs (one per lcore)
 * and its op and session pools (sga_cdev.h), the session table and per-lcore
 * state. The loop itself is in dp_lcore.c, the session table in dp_session.c.
 */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "dp_pkt.h"
#include "dp_priv.h"
#include "dp_store.h"

RTE_LOG_REGISTER(dp_logtype, sga.dp, INFO);

/* ---- counter names ------------------------------------------------------------ */

#define DP_CTR_NAME_MAX 32

static const char *const dp_ctr_upper[DP_C__COUNT] = {
#define DP_CTR_UPPER(name, desc) #name,
    DP_COUNTERS(DP_CTR_UPPER)
#undef DP_CTR_UPPER
};

static const char *const dp_ctr_desc[DP_C__COUNT] = {
#define DP_CTR_DESC(name, desc) desc,
    DP_COUNTERS(DP_CTR_DESC)
#undef DP_CTR_DESC
};

#define DP_CTR_LEN_CHECK(name, desc) \
	_Static_assert(sizeof(#name) <= DP_CTR_NAME_MAX, "counter name too long: " #name);
DP_COUNTERS(DP_CTR_LEN_CHECK)
#undef DP_CTR_LEN_CHECK

/* Lower-case names for telemetry ("drop_ip_csum"): the preprocessor cannot
 * lower-case, so they are derived once, before main. */
static char dp_ctr_lower[DP_C__COUNT][DP_CTR_NAME_MAX];

RTE_INIT(dp_counter_names_init)
{
	for (int c = 0; c < DP_C__COUNT; c++) {
		const char *u = dp_ctr_upper[c];
		size_t i;

		for (i = 0; u[i] && i + 1 < DP_CTR_NAME_MAX; i++)
			dp_ctr_lower[c][i] =
			    (char)(u[i] >= 'A' && u[i] <= 'Z' ? u[i] - 'A' + 'a' : u[i]);
		dp_ctr_lower[c][i] = '\0';
	}
}

const char *dp_counter_name(enum dp_counter c)
{
	return (unsigned)c < DP_C__COUNT ? dp_ctr_lower[c] : "unknown";
}

const char *dp_counter_desc(enum dp_counter c)
{
	return (unsigned)c < DP_C__COUNT ? dp_ctr_desc[c] : "unknown counter";
}

void dp_counters(const struct dp *dp, uint64_t out[DP_C__COUNT])
{
	for (int c = 0; c < DP_C__COUNT; c++)
		out[c] = __atomic_load_n(&dp->ctrl_ctr[c], __ATOMIC_RELAXED);
	for (unsigned l = 0; l < dp->cfg.n_lcores; l++)
		for (int c = 0; c < DP_C__COUNT; c++)
			out[c] += __atomic_load_n(&dp->lcores[l].ctr[c], __ATOMIC_RELAXED);
}

unsigned dp_lcore_count(const struct dp *dp)
{
	return dp->cfg.n_lcores;
}

void dp_lcore_counters(const struct dp *dp, unsigned l, uint64_t out[DP_C__COUNT])
{
	for (int c = 0; c < DP_C__COUNT; c++)
		out[c] = l < dp->cfg.n_lcores
		             ? __atomic_load_n(&dp->lcores[l].ctr[c], __ATOMIC_RELAXED)
		             : __atomic_load_n(&dp->ctrl_ctr[c], __ATOMIC_RELAXED);
}

/* ---- set-up ----------------------------------------------------------------------- */

static int dp_config_check(const struct dp_config *cfg)
{
	if (!cfg->n_lcores || cfg->n_lcores > RTE_MAX_LCORE || !cfg->lcore_ids) {
		DP_LOG(ERR, "n_lcores must be 1..%d with lcore_ids", RTE_MAX_LCORE);
		return -EINVAL;
	}
	for (unsigned i = 0; i < cfg->n_lcores; i++) {
		if (cfg->lcore_ids[i] >= RTE_MAX_LCORE) {
			DP_LOG(ERR, "lcore id %u out of range", cfg->lcore_ids[i]);
			return -EINVAL;
		}
		for (unsigned j = 0; j < i; j++)
			if (cfg->lcore_ids[i] == cfg->lcore_ids[j]) {
				DP_LOG(ERR, "lcore %u listed twice", cfg->lcore_ids[i]);
				return -EINVAL;
			}
	}
	if (!cfg->n_workers) {
		DP_LOG(ERR, "n_workers must be at least 1");
		return -EINVAL;
	}
	if (cfg->ctrl_ring_size < 2 || !rte_is_power_of_2(cfg->ctrl_ring_size)) {
		DP_LOG(ERR, "ctrl_ring_size %u is not a power of two >= 2", cfg->ctrl_ring_size);
		return -EINVAL;
	}
	if (!cfg->max_sessions || cfg->max_sessions > (1u << 26)) {
		DP_LOG(ERR, "max_sessions %u out of range 1..%u", cfg->max_sessions, 1u << 26);
		return -EINVAL;
	}
	if (cfg->tx_seq_block < 2) {
		DP_LOG(ERR, "tx_seq_block must be at least 2");
		return -EINVAL;
	}
	if (!cfg->mbufs) {
		DP_LOG(ERR, "mbufs must not be 0");
		return -EINVAL;
	}
	if ((!cfg->gw_ip && !memcmp(cfg->gw_ip6, (const uint8_t[16]){0}, 16)) || !cfg->gw_port) {
		DP_LOG(ERR, "a gateway address (IPv4, IPv6 or both) and UDP port must be set");
		return -EINVAL;
	}
	if (!rte_eth_dev_is_valid_port(cfg->port_id)) {
		DP_LOG(ERR, "port %u does not exist", cfg->port_id);
		return -ENODEV;
	}
	return 0;
}

static int dp_pools_create(struct dp *dp)
{
	const struct dp_config *cfg = &dp->cfg;
	unsigned need =
	    cfg->n_lcores * (cfg->rx_desc + cfg->tx_desc + 3 * DP_BURST + DP_HANDOFF_RING) +
	    cfg->n_workers * cfg->ctrl_ring_size;
	unsigned cache = RTE_MIN(256u, cfg->mbufs / (4 * cfg->n_lcores));
	unsigned ctrl_n = rte_ring_get_size(dp->ctrl_tx) + 512;
	char name[RTE_MEMPOOL_NAMESIZE];

	/* Frames in the crypto device and in the op vectors hold mbufs too. */
	if (cfg->crypto_device && strcmp(cfg->crypto_device, "cpu"))
		need += cfg->n_lcores * (DP_CQ_DESC + DP_CQ_VEC);
	if (cfg->mbufs < need)
		DP_LOG(WARNING,
		       "mbufs %u < %u the queues and rings can hold: frames may be dropped "
		       "(drop_nombuf)",
		       cfg->mbufs, need);
	snprintf(name, sizeof(name), "sga_dp%u_pkt", dp->instance);
	dp->pool = rte_pktmbuf_pool_create(name, cfg->mbufs, cache, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
	                                   dp->socket);
	if (!dp->pool) {
		DP_LOG(ERR, "mbuf pool (%u): %s", cfg->mbufs, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	snprintf(name, sizeof(name), "sga_dp%u_ctl", dp->instance);
	dp->ctrl_pool =
	    rte_pktmbuf_pool_create(name, ctrl_n, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, dp->socket);
	if (!dp->ctrl_pool) {
		DP_LOG(ERR, "control mbuf pool (%u): %s", ctrl_n, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	return 0;
}

static int dp_rings_create(struct dp *dp)
{
	const struct dp_config *cfg = &dp->cfg;
	char name[RTE_RING_NAMESIZE];
	unsigned n;

	dp->ctrl_rings = rte_zmalloc_socket(
	    "sga_dp_ctrl_rings", cfg->n_workers * sizeof(*dp->ctrl_rings), 0, dp->socket);
	if (!dp->ctrl_rings)
		return -ENOMEM;
	for (unsigned w = 0; w < cfg->n_workers; w++) {
		snprintf(name, sizeof(name), "sga_dp%u_cr%u", dp->instance, w);
		dp->ctrl_rings[w] = rte_ring_create(name, cfg->ctrl_ring_size, dp->socket, 0);
		if (!dp->ctrl_rings[w])
			goto err;
	}
	/* Replies: about one per control frame in flight, bounded. */
	n = rte_align32pow2(RTE_MIN(cfg->n_workers * cfg->ctrl_ring_size, 1u << 16));
	snprintf(name, sizeof(name), "sga_dp%u_ctx", dp->instance);
	dp->ctrl_tx = rte_ring_create(name, RTE_MAX(n, 64u), dp->socket, 0);
	if (!dp->ctrl_tx)
		goto err;
	/* At most one pending request per (session, role): 2 x slots always fit. */
	snprintf(name, sizeof(name), "sga_dp%u_resv", dp->instance);
	dp->resv = rte_ring_create_elem(name, sizeof(struct dp_resv_req),
	                                2 * (cfg->max_sessions + 64), dp->socket, RING_F_EXACT_SZ);
	if (!dp->resv)
		goto err;
	return 0;
err:
	DP_LOG(ERR, "ring %s: %s", name, rte_strerror(rte_errno));
	return -ENOMEM;
}

/* The hop AEAD engine: the crypto device (one queue pair per lcore) and the
 * per-suite table of what serves what. */
static int dp_crypto_setup(struct dp *dp)
{
	const struct dp_config *cfg = &dp->cfg;
	unsigned slots = dp_n_slots(cfg->max_sessions);
	unsigned installs = cfg->crypto_sessions ? RTE_MIN(cfg->crypto_sessions, slots) : slots;
	char tag[16];
	struct sga_cdev_config cc = {
	    .device = cfg->crypto_device,
	    .n_qps = cfg->n_lcores,
	    .qp_desc = DP_CQ_DESC,
	    /* Four per install (open and seal per member), and two for the
	     * known-answer test at start-up (freed before any install). */
	    .n_sessions = 4 * installs + 2,
	    /* Every install by default (crypto_sessions 0): where memory is too
	     * short for that, as many as fit, with 16 MB left for the rest of the
	     * data plane and a warning saying how much more is needed; the
	     * installs beyond relay on the CPU path (prepared keys, counted). */
	    .n_sessions_min = cfg->crypto_sessions ? 0 : 4 * 64 + 2,
	    .keep_free_mb = cfg->crypto_sessions ? 0 : 16,
	    /* What the queue pairs, the op vectors and the per-lcore caches can
	     * hold at once: the pool never runs dry before the queues are full. */
	    .n_ops = cfg->n_lcores * (DP_CQ_DESC + DP_CQ_VEC + DP_CQ_DEQ + DP_OP_STASH + 2 * 128),
	    .op_cache = 128,
	    .user_size = DP_OP_USER_SIZE,
	    .socket = dp->socket,
	    .tag = tag,
	};

	if (cfg->crypto_device && !sga_cdev_device_valid(cfg->crypto_device)) {
		DP_LOG(ERR,
		       "crypto device '%s' is not auto, crypto_qat, crypto_aesni_mb, "
		       "crypto_openssl or cpu",
		       cfg->crypto_device);
		return -EINVAL;
	}
	snprintf(tag, sizeof(tag), "sga_dp%u", dp->instance);
	dp->cdev = sga_cdev_create(&cc);
	if (!dp->cdev) {
		DP_LOG(ERR, "crypto device '%s': %s", cfg->crypto_device, strerror(errno));
		return -errno;
	}
	return 0;
}

const char *dp_aead_engine(const struct dp *dp, uint8_t suite)
{
	return sga_cdev_engine(dp ? dp->cdev : NULL, suite);
}

const char *dp_aead_report(const struct dp *dp, uint8_t suite, char *buf, size_t len)
{
	return sga_cdev_report(dp ? dp->cdev : NULL, suite, buf, len);
}

static int dp_port_setup(struct dp *dp)
{
	const struct dp_config *cfg = &dp->cfg;
	uint16_t port = cfg->port_id, nb_rxd = (uint16_t)cfg->rx_desc,
	         nb_txd = (uint16_t)cfg->tx_desc;
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	struct rte_ether_addr mac;
	int rc;

	rc = rte_eth_dev_info_get(port, &info);
	if (rc) {
		DP_LOG(ERR, "port %u: dev_info: %s", port, rte_strerror(-rc));
		return rc;
	}
	if (info.max_rx_queues < cfg->n_lcores || info.max_tx_queues < cfg->n_lcores) {
		DP_LOG(ERR,
		       "port %u (%s) has %u RX / %u TX queues, %u data-plane lcores need one pair "
		       "each",
		       port, info.driver_name, info.max_rx_queues, info.max_tx_queues,
		       cfg->n_lcores);
		return -EINVAL;
	}
	memset(&conf, 0, sizeof(conf));
	if (cfg->n_lcores > 1) {
		uint64_t hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;

		if (hf) {
			conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
			conf.rx_adv_conf.rss_conf.rss_hf = hf;
		} else {
			DP_LOG(WARNING,
			       "port %u (%s) has no RSS: RX queue 0 gets all traffic, the other "
			       "lcores only "
			       "relay what is handed to them",
			       port, info.driver_name);
		}
	}
	/* Checksums on the port where it has them: RX verification (the lcore
	 * skips a check the mbuf flags say was made; dp_pkt.h) and TX filling of
	 * both checksums. Without TX offload (memif, net_ring, af_packet, tap)
	 * the lcore computes them, or leaves the UDP one 0 if configured so. */
	conf.rxmode.offloads =
	    info.rx_offload_capa & (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM);
	if ((info.tx_offload_capa &
	     (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM)) ==
	    (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM)) {
		conf.txmode.offloads = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
		dp->tx_csum = DP_PKT_CSUM_OFFLOAD;
	} else {
		dp->tx_csum = cfg->udp_checksum_zero ? DP_PKT_CSUM_UDP_ZERO : DP_PKT_CSUM_FULL;
	}
	DP_LOG(INFO, "port %u (%s): checksums RX %s, TX %s", port, info.driver_name,
	       conf.rxmode.offloads ? "offloaded (where the NIC verified them)" : "in software",
	       dp->tx_csum == DP_PKT_CSUM_OFFLOAD    ? "offloaded"
	       : dp->tx_csum == DP_PKT_CSUM_UDP_ZERO ? "IPv4 in software, UDP none (0)"
	                                             : "in software");
	dp->port_configured = 1;
	rc = rte_eth_dev_configure(port, (uint16_t)cfg->n_lcores, (uint16_t)cfg->n_lcores, &conf);
	if (rc) {
		DP_LOG(ERR, "port %u: configure: %s", port, rte_strerror(-rc));
		return rc;
	}
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
	if (rc) {
		DP_LOG(ERR, "port %u: descriptors: %s", port, rte_strerror(-rc));
		return rc;
	}
	for (uint16_t q = 0; q < cfg->n_lcores; q++) {
		rc = rte_eth_rx_queue_setup(port, q, nb_rxd, (unsigned)dp->socket, NULL, dp->pool);
		if (!rc)
			rc = rte_eth_tx_queue_setup(port, q, nb_txd, (unsigned)dp->socket, NULL);
		if (rc) {
			DP_LOG(ERR, "port %u: queue %u: %s", port, q, rte_strerror(-rc));
			return rc;
		}
	}
	rc = rte_eth_macaddr_get(port, &mac);
	if (rc) {
		DP_LOG(ERR, "port %u: MAC address: %s", port, rte_strerror(-rc));
		return rc;
	}
	memcpy(dp->gw.v4.mac, mac.addr_bytes, 6);
	memcpy(dp->gw.v6.mac, mac.addr_bytes, 6);
	memcpy(dp->gw.node.mac, mac.addr_bytes, 6);
	/* Only frames to our MAC (and broadcast ARP); some PMDs cannot say. */
	rc = rte_eth_promiscuous_disable(port);
	if (rc && rc != -ENOTSUP)
		DP_LOG(WARNING, "port %u: promiscuous off: %s", port, rte_strerror(-rc));
	return 0;
}

struct dp *dp_create(const struct dp_config *cfg)
{
	static unsigned instances;
	struct dp *dp = NULL;
	int rc, socket;

	if (!cfg) {
		errno = EINVAL;
		return NULL;
	}
	rc = dp_config_check(cfg);
	if (rc)
		goto err;
	socket = rte_eth_dev_socket_id(cfg->port_id);
	if (socket < 0)
		socket = SOCKET_ID_ANY;
	dp = rte_zmalloc_socket("sga_dp", sizeof(*dp), RTE_CACHE_LINE_SIZE, socket);
	if (!dp) {
		rc = -ENOMEM;
		goto err;
	}
	dp->socket = socket;
	dp->instance = __atomic_fetch_add(&instances, 1, __ATOMIC_RELAXED);
	dp->cfg = *cfg;
	if (!dp->cfg.rx_desc)
		dp->cfg.rx_desc = DP_DEFAULT_DESC;
	if (!dp->cfg.tx_desc)
		dp->cfg.tx_desc = DP_DEFAULT_DESC;
	dp->lcore_ids =
	    rte_zmalloc_socket("sga_dp_lcore_ids", cfg->n_lcores * sizeof(unsigned), 0, socket);
	dp->lcores = rte_zmalloc_socket("sga_dp_lcores", cfg->n_lcores * sizeof(struct dp_lcore),
	                                RTE_CACHE_LINE_SIZE, socket);
	if (!dp->lcore_ids || !dp->lcores) {
		rc = -ENOMEM;
		goto err;
	}
	memcpy(dp->lcore_ids, cfg->lcore_ids, cfg->n_lcores * sizeof(unsigned));
	dp->cfg.lcore_ids = dp->lcore_ids;
	if (cfg->gw_ip)
		dp_addr_set_ipv4(&dp->gw.v4, cfg->gw_ip);
	if (memcmp(cfg->gw_ip6, (const uint8_t[16]){0}, 16))
		dp_addr_set_ipv6(&dp->gw.v6, cfg->gw_ip6);
	dp->gw.v4.port = dp->gw.v6.port = cfg->gw_port;

	/* The session table before the crypto device: with crypto_sessions 0
	 * the device's session pool takes what memory is left. */
	rc = dp_rings_create(dp);
	if (!rc)
		rc = dp_pools_create(dp);
	if (!rc)
		rc = dp_sessions_create(dp);
	if (!rc)
		rc = dp_crypto_setup(dp);
	if (!rc)
		rc = dp_cluster_create(dp);
	for (unsigned i = 0; !rc && i < cfg->n_lcores; i++) {
		rc = dp_lcore_init(dp, i);
		if (rc)
			DP_LOG(ERR, "lcore state %u: %s", i, rte_strerror(-rc));
	}
	if (!rc)
		rc = dp_port_setup(dp);
	if (rc)
		goto err;
	rc = rte_eth_dev_start(cfg->port_id);
	if (rc) {
		DP_LOG(ERR, "port %u: start: %s", cfg->port_id, rte_strerror(-rc));
		goto err;
	}
	dp->port_started = 1;
	dp->cfg.crypto_device = NULL; /* the caller's string: not kept */
	DP_LOG(INFO,
	       "port %u: %u lcore(s), %u worker(s), %u mbufs, %u sessions, crypto device %s, "
	       "MAC " RTE_ETHER_ADDR_PRT_FMT,
	       cfg->port_id, cfg->n_lcores, cfg->n_workers, cfg->mbufs, cfg->max_sessions,
	       sga_cdev_driver(dp->cdev) ? sga_cdev_driver(dp->cdev) : "none", dp->gw.v4.mac[0],
	       dp->gw.v4.mac[1], dp->gw.v4.mac[2], dp->gw.v4.mac[3], dp->gw.v4.mac[4],
	       dp->gw.v4.mac[5]);
	return dp;
err:
	dp_destroy(dp);
	errno = rc < 0 ? -rc : EINVAL;
	return NULL;
}

static void dp_ring_drain_free(struct rte_ring *r)
{
	struct rte_mbuf *m;

	if (!r)
		return;
	while (rte_ring_dequeue(r, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(r);
}

void dp_destroy(struct dp *dp)
{
	if (!dp)
		return;
	/* Stop and close the port first: its queues hold mbufs of our pools. */
	if (dp->port_started) {
		int rc = rte_eth_dev_stop(dp->cfg.port_id);

		if (rc)
			DP_LOG(WARNING, "port %u: stop: %s", dp->cfg.port_id, rte_strerror(-rc));
	}
	if (dp->port_configured)
		rte_eth_dev_close(dp->cfg.port_id);
	if (dp->lcores)
		for (unsigned i = 0; i < dp->cfg.n_lcores; i++)
			dp_lcore_fini(&dp->lcores[i]);
	if (dp->ctrl_rings)
		for (unsigned w = 0; w < dp->cfg.n_workers; w++)
			dp_ring_drain_free(dp->ctrl_rings[w]);
	dp_ring_drain_free(dp->ctrl_tx);
	rte_ring_free(dp->resv);
	/* The lcores gave back their ops above; the sessions before their device. */
	dp_sessions_free(dp);
	dp_cluster_free(dp);
	sga_cdev_destroy(dp->cdev);
	dp->cdev = NULL;
	rte_mempool_free(dp->pool);
	rte_mempool_free(dp->ctrl_pool);
	rte_free(dp->ctrl_rings);
	rte_free(dp->lcores);
	rte_free(dp->lcore_ids);
	rte_free(dp);
}

void dp_stop(struct dp *dp)
{
	__atomic_store_n(&dp->stop, 1, __ATOMIC_RELAXED);
}

/* ---- live settings ------------------------------------------------------------------ */

int dp_set_ctrl_rate(struct dp *dp, unsigned rate, unsigned burst)
{
	if (!dp || !rate || !dp->cfg.ctrl_rate)
		return -EINVAL;
	for (unsigned i = 0; i < dp->cfg.n_lcores; i++)
		dp_rl_set(dp->lcores[i].rl, rate, burst ? burst : 1, rte_get_tsc_hz());
	return 0;
}

void dp_set_store_max_age(struct dp *dp, uint64_t max_age_ms)
{
	if (!dp)
		return;
	for (unsigned i = 0; i < dp->cfg.n_lcores; i++)
		if (dp->lcores[i].store)
			dp_store_set_max_age(dp->lcores[i].store, max_age_ms);
}

/* ---- control plane ---------------------------------------------------------------- */

unsigned dp_ctrl_dequeue(struct dp *dp, unsigned w, struct rte_mbuf **pkts, unsigned n)
{
	if (!dp || w >= dp->cfg.n_workers)
		return 0;
	return rte_ring_mc_dequeue_burst(dp->ctrl_rings[w], (void **)pkts, n, NULL);
}

unsigned dp_ctrl_backlog(struct dp *dp, unsigned w)
{
	if (!dp || w >= dp->cfg.n_workers)
		return 0;
	return rte_ring_count(dp->ctrl_rings[w]);
}

int dp_ctrl_forward(struct dp *dp, unsigned w, struct rte_mbuf *m)
{
	if (!dp || !m || w >= dp->cfg.n_workers)
		return -EINVAL;
	return rte_ring_mp_enqueue(dp->ctrl_rings[w], m) ? -ENOBUFS : 0;
}

void dp_ctrl_set_spread(struct dp *dp, int on)
{
	if (dp)
		__atomic_store_n(&dp->ctrl_spread, !!on, __ATOMIC_RELAXED);
}

int dp_ctrl_payload(const struct rte_mbuf *m, const uint8_t **frame, size_t *len,
                    struct dp_addr *src)
{
	size_t off;

	if (!m || !frame || !len)
		return -EINVAL;
	off = (size_t)m->l2_len + m->l3_len + m->l4_len;
	/* Set by the lcore that classified the frame (dp_lcore.c). */
	if ((m->l2_len != DP_PKT_ETH_LEN && m->l2_len != DP_PKT_ETH_LEN + DP_PKT_VLAN_LEN) ||
	    m->l3_len < DP_PKT_IP_LEN || m->l4_len != DP_PKT_UDP_LEN ||
	    !rte_pktmbuf_is_contiguous(m) || m->data_len < off)
		return -EINVAL;
	*frame = rte_pktmbuf_mtod_offset(m, const uint8_t *, off);
	*len = m->data_len - off;
	if (src)
		dp_mbuf_src(m, src);
	return 0;
}

int dp_ctrl_send(struct dp *dp, const struct dp_addr *dst, const uint8_t *frame, size_t len)
{
	const struct dp_addr *gw;
	struct rte_mbuf *m;
	size_t hdr;
	uint8_t *p;

	if (!dp || !dst || !frame || !len || len > SGA_FRAME_MAX || !dst->port)
		return -EINVAL;
	if (dst->via) {
		/* The device reaches another gateway of the cluster: through it
		 * (or directly when that one is down, dp_cluster_via_down). */
		struct dp_addr dev = *dst;

		if (dp_cluster_via_down(dp, &dev))
			return dp_ctrl_send(dp, &dev, frame, len);
		dev.via = 0;
		return dp_cluster_ctrl_send(dp, DP_PEER_EMIT, dst->via, &dev, frame, len);
	}
	gw = dst->family == DP_AF_IPV6 ? &dp->gw.v6 : &dp->gw.v4;
	if (!gw->family || gw->family != dst->family)
		return -EINVAL;
	hdr = dp_pkt_hdr_len(gw, dst);
	m = rte_pktmbuf_alloc(dp->ctrl_pool);
	if (!m)
		goto full;
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(hdr + len));
	if (!p) {
		rte_pktmbuf_free(m);
		goto full;
	}
	memcpy(p + hdr, frame, len);
	dp_pkt_udp_build(p, gw, dst, __atomic_fetch_add(&dp->ctrl_ip_id, 1, __ATOMIC_RELAXED), len);
	if (rte_ring_mp_enqueue(dp->ctrl_tx, m) != 0) {
		rte_pktmbuf_free(m);
		goto full;
	}
	return 0;
full:
	dp_ctrl_ctr_add(dp, DP_C_DROP_CTRL_TX_FULL);
	return -ENOBUFS;
}

void dp_store_totals(const struct dp *dp, struct dp_store_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < dp->cfg.n_lcores; i++) {
		struct dp_store_stats s;

		if (!dp->lcores[i].store)
			continue;
		dp_store_stats(dp->lcores[i].store, &s);
		out->pending += s.pending;
		out->recipients += s.recipients;
		if (s.oldest_ms && (!out->oldest_ms || s.oldest_ms < out->oldest_ms))
			out->oldest_ms = s.oldest_ms;
		out->stored += s.stored;
		out->held += s.held;
		out->delivered += s.delivered;
		out->resent += s.resent;
		out->refused_full += s.refused_full;
		out->refused_error += s.refused_error;
		out->refused_behind_gap += s.refused_behind_gap;
		out->skips += s.skips;
		out->lab_reappended += s.lab_reappended;
		out->skips_deferred += s.skips_deferred;
		out->resends_deferred += s.resends_deferred;
		out->resealed_relayed += s.resealed_relayed;
		out->resealed_replaced += s.resealed_replaced;
		out->marks_written += s.marks_written;
		out->marks_lost += s.marks_lost;
		out->ring_full += s.ring_full;
		if (s.ring_peak > out->ring_peak)
			out->ring_peak = s.ring_peak;
		out->bytes_on_disk += s.bytes_on_disk;
		out->expired += s.expired;
		out->closed_released += s.closed_released;
		out->adopted += s.adopted;
		out->adopt_have += s.adopt_have;
		out->adopt_done += s.adopt_done;
		out->adopt_refused += s.adopt_refused;
		out->replicated += s.replicated;
		out->replicate_failures += s.replicate_failures;
		out->replica_lag += s.replica_lag;
		if (s.error && !out->error)
			out->error = s.error;
	}
	out->adopt_lost = __atomic_load_n(&dp->adopt_lost, __ATOMIC_RELAXED);
}

int dp_store_adopt(struct dp *dp, const struct dp_adopt_msg *m, unsigned wait_ms)
{
	struct dp_lcore *lc = &dp->lcores[dp_session_owner(dp, m->sid)];

	if (!lc->store || !lc->adopt)
		return -ENOTSUP;
	for (unsigned waited = 0;; waited++) {
		if (!rte_ring_mp_enqueue_elem(lc->adopt, (void *)(uintptr_t)m, sizeof(*m)))
			return 0;
		if (waited >= wait_ms) {
			__atomic_fetch_add(&dp->adopt_lost, 1, __ATOMIC_RELAXED);
			return -ENOBUFS;
		}
		rte_delay_us_sleep(1000);
	}
}

unsigned dp_store_recipients(const struct dp *dp, struct dp_store_recip *out, unsigned n)
{
	unsigned k = 0;

	for (unsigned i = 0; i < dp->cfg.n_lcores; i++) {
		const struct dp_lcore *lc = &dp->lcores[i];

		if (!lc->store)
			continue;
		for (int tries = 0; tries < 100; tries++) {
			uint32_t g = __atomic_load_n(&lc->snap_gen, __ATOMIC_ACQUIRE), m, j;

			if (g & 1)
				continue;
			m = lc->snap_n;
			for (j = 0; j < m && k + j < n; j++)
				out[k + j] = lc->snap[j];
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (__atomic_load_n(&lc->snap_gen, __ATOMIC_RELAXED) == g) {
				k += j;
				break;
			}
		}
	}
	return k;
}
