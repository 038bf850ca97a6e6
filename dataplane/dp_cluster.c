/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_cluster.c - the data plane's side of a cluster of gateways ([cluster],
 * PROTOCOL.md 9.6): the peers' next-hop MACs (ARP), their liveness (set by
 * the control plane from the leases in Redis), the forward table (session ->
 * the node that owns it), and the mbuf work of the encapsulation (dp_peer.h):
 * wrapping a device's frame for the owner (PEER_FWD) or a frame for a device
 * that reaches another gateway (PEER_EMIT), and unwrapping what a peer sent.
 *
 * The forward table is read by every lcore without locks and written by the
 * control plane (one writer at a time, fwd_lock): buckets of DP_FWD_WAYS
 * (session id, value) pairs in one cache line. A writer clears the value,
 * then sets the id, then the value; a reader takes a value only if the id
 * matched before and after it, so a torn entry reads as a miss (the frame
 * goes to the control plane, which writes the entry again). A value names the
 * node and the node's generation at the time: a node that was down and came
 * back (its lease lapsed) has a new generation, so entries written while it
 * owned sessions it may no longer own are misses until the control plane
 * looks again.
 */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf_dyn.h>

#include "dp_priv.h"

#define DP_ARP_PERIOD_S  1  /* an unresolved next hop is asked for this often */
#define DP_ARP_REFRESH_S 30 /* a resolved one again after this */
#define DP_MAC_VALID     (1ull << 48)

int dp_via_offset = -1;

static uint64_t mac_pack(const uint8_t mac[6])
{
	uint64_t v = DP_MAC_VALID;

	for (int i = 0; i < 6; i++)
		v |= (uint64_t)mac[i] << (8 * i);
	return v;
}

static void mac_unpack(uint64_t v, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(v >> (8 * i));
}

/* ---- set-up ----------------------------------------------------------------------- */

int dp_cluster_create(struct dp *dp)
{
	const struct dp_nodes *nodes = dp->cfg.nodes;
	static const struct rte_mbuf_dynfield via_desc = {
	    .name = "sga_dp_via",
	    .size = sizeof(uint8_t),
	    .align = __alignof__(uint8_t),
	};
	unsigned buckets = 256;

	if (!nodes || !nodes->n)
		return 0;
	if (nodes->self == 0 || nodes->self > nodes->n || nodes->n > DP_NODES_MAX)
		return -EINVAL;
	dp->nodes = *nodes;
	dp->cfg.nodes = &dp->nodes;
	dp_via_offset = rte_mbuf_dynfield_register(&via_desc);
	if (dp_via_offset < 0)
		return -rte_errno;
	/* This gateway's node address on the port: its MAC, the node's IP and port. */
	dp->gw.node = dp->gw.v4;
	dp_addr_set_ipv4(&dp->gw.node, nodes->node[nodes->self - 1].ip);
	dp->gw.node.port = nodes->node[nodes->self - 1].port;
	for (unsigned k = 1; k <= nodes->n; k++) {
		dp->peer[k].arp_ip = dp->cfg.next_hop ? dp->cfg.next_hop : nodes->node[k - 1].ip;
		dp->peer[k].gen = 1;
	}
	while (buckets * DP_FWD_WAYS < dp->cfg.max_sessions && buckets < (1u << 24))
		buckets <<= 1;
	dp->fwd = rte_zmalloc_socket("sga_dp_fwd", (size_t)buckets * sizeof(*dp->fwd),
	                             RTE_CACHE_LINE_SIZE, dp->socket);
	if (!dp->fwd)
		return -ENOMEM;
	dp->fwd_mask = buckets - 1;
	rte_spinlock_init(&dp->fwd_lock);
	dp->ctrl_mac = dp_peer_mac_new(dp->cfg.cluster_key);
	if (!dp->ctrl_mac)
		return -ENOMEM;
	rte_spinlock_init(&dp->ctrl_mac_lock);
	/* The port MTU bounds what one encapsulated frame may be. */
	if (rte_eth_dev_get_mtu(dp->cfg.port_id, &dp->peer_mtu) || dp->peer_mtu < 576)
		dp->peer_mtu = 1500;
	return 0;
}

void dp_cluster_free(struct dp *dp)
{
	dp_peer_mac_free(dp->ctrl_mac);
	dp->ctrl_mac = NULL;
	rte_free(dp->fwd);
	dp->fwd = NULL;
}

int dp_cluster_lcore_init(struct dp *dp, struct dp_lcore *lc)
{
	if (!dp->nodes.n)
		return 0;
	lc->peer_mac = dp_peer_mac_new(dp->cfg.cluster_key);
	return lc->peer_mac ? 0 : -ENOMEM;
}

void dp_cluster_lcore_fini(struct dp_lcore *lc)
{
	dp_peer_mac_free(lc->peer_mac);
	lc->peer_mac = NULL;
}

/* ---- peers: MACs and liveness ----------------------------------------------------- */

void dp_cluster_arp_learn(struct dp *dp, const struct dp_addr *from)
{
	uint32_t ip = dp_addr_ipv4(from);

	for (unsigned k = 1; k <= dp->nodes.n; k++)
		if (k != dp->nodes.self && dp->peer[k].arp_ip == ip) {
			__atomic_store_n(&dp->peer[k].mac, mac_pack(from->mac), __ATOMIC_RELEASE);
			__atomic_store_n(&dp->peer[k].mac_tsc, rte_rdtsc(), __ATOMIC_RELAXED);
		}
}

unsigned dp_cluster_arp_run(struct dp *dp, struct dp_lcore *lc)
{
	const uint64_t hz = rte_get_tsc_hz(), now = lc->now_tsc;
	unsigned sent = 0;
	uint32_t asked[DP_NODES_MAX];
	unsigned n_asked = 0;

	if (now < lc->arp_next_tsc)
		return 0;
	lc->arp_next_tsc = now + DP_ARP_PERIOD_S * hz;
	for (unsigned k = 1; k <= dp->nodes.n; k++) {
		struct dp_peer_state *p = &dp->peer[k];
		uint64_t mac = __atomic_load_n(&p->mac, __ATOMIC_ACQUIRE);
		uint64_t at = __atomic_load_n(&p->mac_tsc, __ATOMIC_RELAXED);
		struct rte_mbuf *m;
		unsigned i;
		uint8_t *f;

		if (k == dp->nodes.self ||
		    ((mac & DP_MAC_VALID) && now - at < DP_ARP_REFRESH_S * hz))
			continue;
		for (i = 0; i < n_asked && asked[i] != p->arp_ip; i++)
			;
		if (i < n_asked)
			continue; /* one next hop for several peers: asked once */
		asked[n_asked++] = p->arp_ip;
		m = rte_pktmbuf_alloc(dp->pool);
		if (!m)
			break;
		f = (uint8_t *)rte_pktmbuf_append(m, DP_PKT_ARP_MIN);
		if (!f) {
			rte_pktmbuf_free(m);
			break;
		}
		dp_pkt_arp_request(f, &dp->gw.node, p->arp_ip);
		dp_lcore_tx(lc, m);
		dp_ctr_inc(lc, DP_C_PEER_ARP_ASKED);
		sent++;
	}
	return sent;
}

int dp_peer_set_alive(struct dp *dp, unsigned node, int alive)
{
	struct dp_peer_state *p;

	if (!dp || !dp->nodes.n || node == 0 || node > dp->nodes.n)
		return -EINVAL;
	p = &dp->peer[node];
	if (!alive && __atomic_load_n(&p->alive, __ATOMIC_RELAXED))
		__atomic_fetch_add(&p->gen, 1, __ATOMIC_RELEASE); /* its entries are stale now */
	__atomic_store_n(&p->alive, !!alive, __ATOMIC_RELEASE);
	return 0;
}

int dp_peer_alive(const struct dp *dp, unsigned node)
{
	if (!dp || !dp->nodes.n || node == 0 || node > dp->nodes.n)
		return 0;
	return node == dp->nodes.self || __atomic_load_n(&dp->peer[node].alive, __ATOMIC_ACQUIRE);
}

bool dp_cluster_via_down(const struct dp *dp, struct dp_addr *a)
{
	uint64_t mac;

	if (a->via > dp->nodes.n || __atomic_load_n(&dp->peer[a->via].alive, __ATOMIC_ACQUIRE))
		return false;
	/* The router towards the peers is the one towards the devices: with no
	 * next hop configured there is no MAC to send to the device directly. */
	mac = dp->cfg.next_hop ? __atomic_load_n(&dp->peer[a->via].mac, __ATOMIC_ACQUIRE) : 0;
	if (!(mac & DP_MAC_VALID))
		return false;
	mac_unpack(mac, a->mac);
	a->vlan = 0;
	a->via = 0;
	return true;
}

/* ---- the forward table ------------------------------------------------------------ */

static inline struct dp_fwd_bucket *fwd_bucket(const struct dp *dp, uint64_t sid)
{
	/* The low bits pick the lcore (dp_session_owner): mix before masking. */
	uint64_t h = sid * 0x9e3779b97f4a7c15ull;

	return &dp->fwd[(h >> 32) & dp->fwd_mask];
}

int dp_peer_fwd_set(struct dp *dp, uint64_t sid, unsigned node)
{
	struct dp_fwd_bucket *b;
	unsigned w, pick = DP_FWD_WAYS;
	uint64_t val;

	if (!dp || !dp->fwd || !sid || node == 0 || node > dp->nodes.n || node == dp->nodes.self)
		return -EINVAL;
	val = (uint64_t)node | (uint64_t)__atomic_load_n(&dp->peer[node].gen, __ATOMIC_ACQUIRE)
	                           << 8;
	b = fwd_bucket(dp, sid);
	rte_spinlock_lock(&dp->fwd_lock);
	for (w = 0; w < DP_FWD_WAYS; w++) {
		uint64_t s = __atomic_load_n(&b->sid[w], __ATOMIC_RELAXED);

		if (s == sid) {
			pick = w;
			break;
		}
		if (!s && pick == DP_FWD_WAYS)
			pick = w;
	}
	if (pick == DP_FWD_WAYS)
		pick = dp->fwd_victim++ % DP_FWD_WAYS; /* all taken: one goes */
	__atomic_store_n(&b->val[pick], 0, __ATOMIC_RELEASE);
	__atomic_store_n(&b->sid[pick], sid, __ATOMIC_RELEASE);
	__atomic_store_n(&b->val[pick], val, __ATOMIC_RELEASE);
	rte_spinlock_unlock(&dp->fwd_lock);
	return 0;
}

unsigned dp_cluster_fwd_lookup(const struct dp *dp, uint64_t sid)
{
	const struct dp_fwd_bucket *b = fwd_bucket(dp, sid);

	for (unsigned w = 0; w < DP_FWD_WAYS; w++) {
		uint64_t val;
		unsigned node;

		if (__atomic_load_n(&b->sid[w], __ATOMIC_ACQUIRE) != sid)
			continue;
		val = __atomic_load_n(&b->val[w], __ATOMIC_ACQUIRE);
		if (__atomic_load_n(&b->sid[w], __ATOMIC_ACQUIRE) != sid || !val)
			return 0;
		node = (unsigned)(val & 0xff);
		if (node > dp->nodes.n ||
		    (uint32_t)(val >> 8) !=
		        __atomic_load_n(&dp->peer[node].gen, __ATOMIC_ACQUIRE) ||
		    !__atomic_load_n(&dp->peer[node].alive, __ATOMIC_ACQUIRE))
			return 0;
		return node;
	}
	return 0;
}

unsigned dp_peer_fwd_get(const struct dp *dp, uint64_t sid)
{
	return dp && dp->fwd ? dp_cluster_fwd_lookup(dp, sid) : 0;
}

/* ---- the encapsulation ------------------------------------------------------------ */

/* The outer header towards node `to`: this gateway's node address to the
 * peer's, through its next hop's MAC. false when that MAC is not known yet. */
static bool peer_addr(const struct dp *dp, unsigned to, struct dp_addr *dst)
{
	uint64_t mac = __atomic_load_n(&dp->peer[to].mac, __ATOMIC_ACQUIRE);

	if (!(mac & DP_MAC_VALID))
		return false;
	memset(dst, 0, sizeof(*dst));
	mac_unpack(mac, dst->mac);
	dp_addr_set_ipv4(dst, dp->nodes.node[to - 1].ip);
	dst->port = dp->nodes.node[to - 1].port;
	return true;
}

enum dp_counter dp_cluster_build(struct dp *dp, struct dp_peer_mac *mac, uint8_t *p,
                                 enum dp_peer_type type, unsigned to, const struct dp_addr *dev,
                                 size_t frame_len, uint16_t ip_id, int csum_mode, size_t *len)
{
	struct dp_addr dst;
	size_t n;

	if (to == 0 || to > dp->nodes.n || to == dp->nodes.self)
		return DP_C_DROP_PEER_NODE;
	if (DP_PKT_HDR_LEN + DP_PEER_OVERHEAD + frame_len > (size_t)dp->peer_mtu + DP_PKT_ETH_LEN)
		return DP_C_DROP_PEER_TOO_BIG;
	if (!peer_addr(dp, to, &dst))
		return DP_C_DROP_PEER_NO_MAC;
	n = dp_peer_seal(mac, p + DP_PKT_HDR_LEN, type, (uint8_t)dp->nodes.self, dev, frame_len);
	if (!n)
		return DP_C_DROP_PEER_NODE;
	*len = dp_pkt_udp_build_mode(p, &dp->gw.node, &dst, ip_id, n, (enum dp_pkt_csum)csum_mode);
	return 0;
}

enum dp_counter dp_cluster_wrap(struct dp *dp, struct dp_lcore *lc, struct rte_mbuf *m,
                                enum dp_peer_type type, unsigned to, const struct dp_addr *dev,
                                size_t frame_len)
{
	const size_t off = (size_t)m->l2_len + m->l3_len + m->l4_len,
	             hdr = DP_PKT_HDR_LEN + DP_PEER_HDR_LEN;
	enum dp_counter why;
	size_t len = 0;
	uint8_t *p;

	if (m->data_len > off + frame_len)
		rte_pktmbuf_trim(m, (uint16_t)(m->data_len - off - frame_len));
	if (!rte_pktmbuf_append(m, DP_PEER_TAG_LEN))
		return DP_C_DROP_NOMBUF;
	if (off >= hdr) {
		p = (uint8_t *)rte_pktmbuf_adj(m, (uint16_t)(off - hdr));
	} else {
		p = (uint8_t *)rte_pktmbuf_prepend(m, (uint16_t)(hdr - off));
		if (!p)
			return DP_C_DROP_NOMBUF;
	}
	/* The checksums in software: an offload flag left over from the
	 * frame's first life would not match these headers. */
	why = dp_cluster_build(
	    dp, lc->peer_mac, p, type, to, dev, frame_len, lc->ip_id++,
	    dp->tx_csum == DP_PKT_CSUM_UDP_ZERO ? DP_PKT_CSUM_UDP_ZERO : DP_PKT_CSUM_FULL, &len);
	if (why)
		return why;
	m->ol_flags &= ~(RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_IP_CKSUM |
	                 RTE_MBUF_F_TX_UDP_CKSUM);
	m->l2_len = DP_PKT_ETH_LEN;
	m->l3_len = DP_PKT_IP_LEN;
	m->l4_len = DP_PKT_UDP_LEN;
	dp_ctr_inc(lc, type == DP_PEER_FWD ? DP_C_PEER_FWD_OUT : DP_C_PEER_EMIT_OUT);
	return 0;
}

enum dp_counter dp_cluster_unwrap(struct dp *dp, struct dp_lcore *lc, struct rte_mbuf *m,
                                  const struct dp_pkt_meta *meta, struct dp_peer_msg *msg)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct dp_node *from;
	const struct dp_addr *gw;
	size_t want, have;
	uint8_t *p;

	if (dp_peer_open(lc->peer_mac, frame + meta->payload_off, meta->payload_len, msg))
		return DP_C_DROP_PEER_AUTH;
	/* The sender is a peer, and the datagram came from its node address. */
	if (msg->sender > dp->nodes.n || msg->sender == dp->nodes.self)
		return DP_C_DROP_PEER_NODE;
	from = &dp->nodes.node[msg->sender - 1];
	if (dp_addr_ipv4(&meta->src) != from->ip || meta->src.port != from->port)
		return DP_C_DROP_PEER_NODE;
	/* The frame as the device sent it (PEER_FWD: from the device to this
	 * gateway, so every later step reads its sender from the headers as
	 * for a frame received directly; PEER_EMIT: any headers, dp_udp_out
	 * rewrites them towards the device), and nothing after it. */
	rte_pktmbuf_trim(
	    m, (uint16_t)(m->data_len - (meta->payload_off + msg->frame_off + msg->frame_len)));
	gw = msg->dev.family == DP_AF_IPV6 ? &dp->gw.v6 : &dp->gw.v4;
	if (gw->family != msg->dev.family)
		return DP_C_DROP_PEER_NODE; /* a family this gateway has no address in */
	want = dp_pkt_hdr_len(&msg->dev, gw);
	have = meta->payload_off + msg->frame_off;
	p = (uint8_t *)rte_pktmbuf_adj(m, (uint16_t)(have - want));
	if (!p)
		return DP_C_DROP_PEER_AUTH;
	if (msg->type == DP_PEER_FWD) {
		struct dp_addr to = *gw;

		to.vlan = msg->dev.vlan; /* the tag goes with the device, as received */
		dp_pkt_udp_build(p, &msg->dev, &to, 0, msg->frame_len);
		dp_mbuf_via_set(m, msg->sender);
	}
	m->l3_len = msg->dev.family == DP_AF_IPV6 ? DP_PKT_IP6_LEN : DP_PKT_IP_LEN;
	m->l4_len = DP_PKT_UDP_LEN;
	m->l2_len = (uint64_t)(want - m->l3_len - DP_PKT_UDP_LEN);
	m->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
	dp_ctr_inc(lc, msg->type == DP_PEER_FWD ? DP_C_PEER_FWD_IN : DP_C_PEER_EMIT_IN);
	return 0;
}

/* ---- the control plane's frames ---------------------------------------------------- */

int dp_cluster_ctrl_send(struct dp *dp, enum dp_peer_type type, unsigned to,
                         const struct dp_addr *dev, const uint8_t *frame, size_t len)
{
	enum dp_counter why;
	struct rte_mbuf *m;
	size_t n = 0;
	uint8_t *p;

	if (!dp->nodes.n)
		return -EINVAL;
	m = rte_pktmbuf_alloc(dp->ctrl_pool);
	if (!m)
		goto full;
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(DP_PKT_HDR_LEN + DP_PEER_OVERHEAD + len));
	if (!p) {
		rte_pktmbuf_free(m);
		goto full;
	}
	memcpy(p + DP_PKT_HDR_LEN + DP_PEER_HDR_LEN, frame, len);
	rte_spinlock_lock(&dp->ctrl_mac_lock);
	why = dp_cluster_build(dp, dp->ctrl_mac, p, type, to, dev, len,
	                       __atomic_fetch_add(&dp->ctrl_ip_id, 1, __ATOMIC_RELAXED),
	                       DP_PKT_CSUM_FULL, &n);
	rte_spinlock_unlock(&dp->ctrl_mac_lock);
	if (why) {
		rte_pktmbuf_free(m);
		dp_ctrl_ctr_add(dp, why);
		return why == DP_C_DROP_PEER_NO_MAC ? -EAGAIN : -EINVAL;
	}
	if (rte_ring_mp_enqueue(dp->ctrl_tx, m) != 0) {
		rte_pktmbuf_free(m);
		goto full;
	}
	dp_ctrl_ctr_add(dp, type == DP_PEER_FWD ? DP_C_PEER_FWD_OUT : DP_C_PEER_EMIT_OUT);
	return 0;
full:
	dp_ctrl_ctr_add(dp, DP_C_DROP_CTRL_TX_FULL);
	return -ENOBUFS;
}

int dp_peer_forward(struct dp *dp, unsigned node, const struct dp_addr *dev, const uint8_t *frame,
                    size_t len)
{
	if (!dp || !dev || !frame || !len || len > SGA_FRAME_MAX)
		return -EINVAL;
	return dp_cluster_ctrl_send(dp, DP_PEER_FWD, node, dev, frame, len);
}
