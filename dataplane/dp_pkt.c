/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_pkt.c - Ethernet/802.1Q/ARP/IPv4/IPv6/NDP/UDP parsing and building, see
 * dp_pkt.h.
 *
 * Pure byte work, no DPDK calls: the unit tests run it without an EAL, under
 * ASan, on every length of every frame kind. The Internet checksum is computed
 * in native byte order over 32-bit words (RFC 1071 sections 2(B) and 2(C): the
 * one's-complement sum is independent of byte order and can be accumulated in a
 * wider register with the carries folded at the end) and stored as computed.
 * No incremental update (RFC 1624) on transmit: every frame the gateway sends
 * is freshly sealed, its payload bytes all new, so the sum over them cannot
 * be derived from the received frame's; the port's offload, or
 * DP_PKT_CSUM_UDP_ZERO, is what saves it.
 */
#include <string.h>

#include "dp_pkt.h"

#define ETHERTYPE_IPV4     0x0800
#define ETHERTYPE_ARP      0x0806
#define ETHERTYPE_IPV6     0x86dd
#define ETHERTYPE_VLAN     0x8100 /* 802.1Q */
#define ETHERTYPE_QINQ     0x88a8 /* 802.1ad */
#define ETHERTYPE_QINQ_OLD 0x9100
#define IPPROTO_UDP_NUM    17
#define IPPROTO_ICMPV6_NUM 58
#define IP6_NH_HOPOPTS     0
#define IP6_NH_ROUTING     43
#define IP6_NH_FRAGMENT    44
#define IP6_NH_DSTOPTS     60
#define ND_NS              135 /* RFC 4861 4.3 */
#define ND_NA              136 /* RFC 4861 4.4 */
#define ND_OPT_SLLA        1
#define ND_OPT_TLLA        2
#define ND_HOP_LIMIT       255
#define ND_NA_FLAGS        0x60 /* solicited | override */
#define IP_FLAG_DF         0x4000
#define IP_FLAG_MF         0x2000
#define IP_OFFSET_MASK     0x1fff
#define ARP_HTYPE_ETHER    1
#define ARP_OP_REQUEST     1
#define ARP_OP_REPLY       2

/* Offsets inside the Ethernet frame. */
#define OFF_ETH_DST   0
#define OFF_ETH_SRC   6
#define OFF_ETH_TYPE  12
#define OFF_VLAN_TCI  14 /* tagged: TCI, then the inner EtherType */
#define OFF_VLAN_TYPE 16
/* ARP (RFC 826), from the start of the ARP packet. */
#define ARP_HTYPE 0
#define ARP_PTYPE 2
#define ARP_HLEN  4
#define ARP_PLEN  5
#define ARP_OP    6
#define ARP_SHA   8
#define ARP_SPA   14
#define ARP_THA   18
#define ARP_TPA   24
/* IPv4 (RFC 791), from the start of the IP header. */
#define IP_VIHL   0
#define IP_TOS    1
#define IP_TOTLEN 2
#define IP_ID     4
#define IP_FRAG   6
#define IP_TTL    8
#define IP_PROTO  9
#define IP_CSUM   10
#define IP_SRC    12
#define IP_DST    16
/* IPv6 (RFC 8200), from the start of the IPv6 header. */
#define IP6_VTF  0
#define IP6_PLEN 4
#define IP6_NH   6
#define IP6_HLIM 7
#define IP6_SRC  8
#define IP6_DST  24
/* ICMPv6 Neighbor Solicitation / Advertisement (RFC 4861 4.3, 4.4). */
#define ND_TYPE   0
#define ND_CODE   1
#define ND_CSUM   2
#define ND_FLAGS  4
#define ND_TARGET 8
#define ND_OPTS   24
/* UDP (RFC 768), from the start of the UDP header. */
#define UDP_SPORT 0
#define UDP_DPORT 2
#define UDP_LEN   4
#define UDP_CSUM  6

static const uint8_t mac_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* Any tag EtherType: 802.1Q, 802.1ad, or the pre-standard QinQ one. */
static inline int unlikely_ne(uint32_t a, uint32_t b)
{
	return __builtin_expect(a != b, 0);
}

static inline int unlikely_tag(uint16_t type)
{
	return __builtin_expect(
	    type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ_OLD, 0);
}

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Network-order values are kept as they sit in memory (dp_addr's convention). */
static inline uint32_t get_n32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint16_t get_n16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Accumulate the native-order one's-complement sum of p[0..n). n may be odd:
 * the last byte counts as the high-order byte of a zero-padded word. Every
 * transmitted frame passes here when the port cannot offload its checksum, so
 * the bulk goes 8 bytes at a time, four words per round, with the carry of
 * each 64-bit add folded back in (end-around carry: RFC 1071 2(B), any word
 * size gives the same 16-bit sum once folded). */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t n)
{
	uint64_t s0 = sum, s1 = 0, s2 = 0, s3 = 0, w0, w1, w2, w3;

	while (n >= 32) {
		memcpy(&w0, p, 8);
		memcpy(&w1, p + 8, 8);
		memcpy(&w2, p + 16, 8);
		memcpy(&w3, p + 24, 8);
		s0 += w0;
		s0 += s0 < w0;
		s1 += w1;
		s1 += s1 < w1;
		s2 += w2;
		s2 += s2 < w2;
		s3 += w3;
		s3 += s3 < w3;
		p += 32;
		n -= 32;
	}
	while (n >= 8) {
		memcpy(&w0, p, 8);
		s0 += w0;
		s0 += s0 < w0;
		p += 8;
		n -= 8;
	}
	/* Four sums of at most 2^64 - 1: fold each to 32 bits before adding. */
	sum = (s0 & 0xffffffffu) + (s0 >> 32) + (s1 & 0xffffffffu) + (s1 >> 32) +
	      (s2 & 0xffffffffu) + (s2 >> 32) + (s3 & 0xffffffffu) + (s3 >> 32);
	if (n >= 4) {
		uint32_t w;

		memcpy(&w, p, sizeof(w));
		sum += w;
		p += 4;
		n -= 4;
	}
	if (n >= 2) {
		uint16_t w;

		memcpy(&w, p, sizeof(w));
		sum += w;
		p += 2;
		n -= 2;
	}
	if (n) {
		uint16_t w = 0;

		memcpy(&w, p, 1);
		sum += w;
	}
	return sum;
}

/* Fold to 16 bits. Valid because 2^16 == 1 (mod 2^16 - 1). */
static uint16_t csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)sum;
}

/* Four bytes as the native-order word they make in memory: sums of header
 * fields taken from values, not read back from the bytes just written (a
 * wide load over narrow stores cannot be forwarded and stalls). */
static inline uint32_t word4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	const uint8_t t[4] = {a, b, c, d};
	uint32_t v;

	memcpy(&v, t, sizeof(v));
	return v;
}

/* Sum of the UDP pseudo-header: source, destination, zero, protocol, length. */
static uint64_t csum_pseudo(const uint8_t *ip, uint16_t udp_len)
{
	uint8_t ph[12];

	memcpy(ph, ip + IP_SRC, 8);
	ph[8] = 0;
	ph[9] = IPPROTO_UDP_NUM;
	put_be16(ph + 10, udp_len);
	return csum_add(0, ph, sizeof(ph));
}

/* Sum of the IPv6 pseudo-header (RFC 8200 8.1): source, destination, the
 * upper-layer length (32 bits), three zero bytes and the next header. */
static uint64_t csum_pseudo6(const uint8_t *ip6, uint32_t upper_len, uint8_t nh)
{
	uint8_t tail[8] = {(uint8_t)(upper_len >> 24),
	                   (uint8_t)(upper_len >> 16),
	                   (uint8_t)(upper_len >> 8),
	                   (uint8_t)upper_len,
	                   0,
	                   0,
	                   0,
	                   nh};

	return csum_add(csum_add(0, ip6 + IP6_SRC, 32), tail, sizeof(tail));
}

int dp_addr_equal(const struct dp_addr *a, const struct dp_addr *b)
{
	return a->port == b->port && !memcmp(a->ip, b->ip, sizeof(a->ip)) &&
	       !memcmp(a->mac, b->mac, sizeof(a->mac)) && a->vlan == b->vlan &&
	       a->family == b->family;
}

static enum dp_pkt_class drop(struct dp_pkt_meta *meta, enum dp_counter why)
{
	meta->drop = why;
	return DP_PKT_DROP;
}

/* The Ethernet header length of a frame the classifier accepted: 18 when it
 * carries an 802.1Q tag. */
static size_t l2_len_of(const uint8_t *frame)
{
	return get_be16(frame + OFF_ETH_TYPE) == ETHERTYPE_VLAN ? DP_PKT_ETH_LEN + DP_PKT_VLAN_LEN
	                                                        : DP_PKT_ETH_LEN;
}

static enum dp_pkt_class classify_arp(const uint8_t *frame, size_t len, size_t l2,
                                      const struct dp_pkt_self *self, struct dp_pkt_meta *meta)
{
	const struct dp_addr *gw = &self->v4;
	const uint8_t *arp = frame + l2;
	uint32_t tpa, spa;
	uint16_t op;

	/* A request may come broadcast or, when a host refreshes its cache, unicast. */
	if (memcmp(frame + OFF_ETH_DST, mac_bcast, 6) && memcmp(frame + OFF_ETH_DST, gw->mac, 6))
		return drop(meta, DP_C_DROP_NOT_FOR_US);
	if (len < l2 + 28)
		return drop(meta, DP_C_DROP_ARP);
	op = get_be16(arp + ARP_OP);
	if (get_be16(arp + ARP_HTYPE) != ARP_HTYPE_ETHER ||
	    get_be16(arp + ARP_PTYPE) != ETHERTYPE_IPV4 || arp[ARP_HLEN] != 6 ||
	    arp[ARP_PLEN] != 4 || (op != ARP_OP_REQUEST && op != ARP_OP_REPLY))
		return drop(meta, DP_C_DROP_ARP);
	/* For the gateway's address, or (a cluster) its node address. */
	tpa = get_n32(arp + ARP_TPA);
	if (!((gw->family == DP_AF_IPV4 && tpa == dp_addr_ipv4(gw)) ||
	      (self->node.family == DP_AF_IPV4 && tpa == dp_addr_ipv4(&self->node))))
		return drop(meta, DP_C_DROP_ARP);
	/* A reply is only ever one to our own request: for the node address. */
	if (op == ARP_OP_REPLY && tpa != dp_addr_ipv4(&self->node))
		return drop(meta, DP_C_DROP_ARP);
	/* Nor is anything from one of our own addresses (our answer to it
	 * would name us as its target: taken for a reply to our request). */
	spa = get_n32(arp + ARP_SPA);
	if ((gw->family == DP_AF_IPV4 && spa == dp_addr_ipv4(gw)) ||
	    (self->node.family == DP_AF_IPV4 && spa == dp_addr_ipv4(&self->node)))
		return drop(meta, DP_C_DROP_ARP);
	/* We answer to the sender hardware address: it must be a unicast one, or a
	 * forged request would make us broadcast (or multicast) replies. */
	if (arp[ARP_SHA] & 1)
		return drop(meta, DP_C_DROP_ARP);
	memcpy(meta->src.mac, arp + ARP_SHA, 6);
	dp_addr_set_ipv4(&meta->src, get_n32(arp + ARP_SPA));
	meta->src.port = 0;
	meta->frame_len = (uint16_t)(l2 + 28);
	return op == ARP_OP_REPLY ? DP_PKT_ARP_REPLY : DP_PKT_ARP;
}

/* A source we could not answer to: the reply would go to a group, to nobody,
 * or to ourselves (RFC 1122 3.2.1.3 lists these as invalid source addresses). */
static int src_ip_bad(const uint8_t *ip_src, uint32_t gw_ip)
{
	uint8_t first = ip_src[0];

	return get_n32(ip_src) == gw_ip || first == 0 || first == 127 || first >= 224;
}

/* The IPv6 counterpart (RFC 4291 2.5): unspecified, loopback, multicast, our
 * own, and IPv4-mapped ones, which stand for IPv4 addresses in struct
 * dp_addr and never appear on the wire (RFC 4291 2.5.5.2). */
static int src_ip6_bad(const uint8_t *src, const uint8_t *gw6)
{
	static const uint8_t zero[16], mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (src[0] == 0xff || !memcmp(src, gw6, 16) || !memcmp(src, mapped, 12))
		return 1;
	return !memcmp(src, zero, 15) && (src[15] == 0 || src[15] == 1);
}

/* The solicited-node multicast address of gw6 (RFC 4291 2.7.1):
 * ff02::1:ff00:0/104 with its low 24 bits. */
static int is_solicited_node(const uint8_t *dst, const uint8_t *gw6)
{
	static const uint8_t prefix[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};

	return !memcmp(dst, prefix, 13) && !memcmp(dst + 13, gw6 + 13, 3);
}

/* An ICMPv6 message at ip6 + off: a Neighbor Solicitation for the gateway's
 * address (RFC 4861 7.1.1 validity checks), else drop_ndp. */
static enum dp_pkt_class classify_ns(const uint8_t *frame, size_t l2, const uint8_t *ip6,
                                     size_t off, size_t end, const struct dp_addr *gw6,
                                     struct dp_pkt_meta *meta)
{
	static const uint8_t mcast_mac[3] = {0x33, 0x33, 0xff};
	const uint8_t *nd = ip6 + off;
	size_t nd_len = end - off;

	if (gw6->family != DP_AF_IPV6 || nd_len < ND_OPTS || nd[ND_TYPE] != ND_NS)
		return drop(meta, DP_C_DROP_NDP);
	if (memcmp(frame + OFF_ETH_DST, gw6->mac, 6) &&
	    (memcmp(frame + OFF_ETH_DST, mcast_mac, 3) ||
	     memcmp(frame + OFF_ETH_DST + 3, gw6->ip + 13, 3)))
		return drop(meta, DP_C_DROP_NOT_FOR_US);
	if (memcmp(ip6 + IP6_DST, gw6->ip, 16) && !is_solicited_node(ip6 + IP6_DST, gw6->ip))
		return drop(meta, DP_C_DROP_NOT_FOR_US);
	/* Hop limit 255: it was not forwarded by a router. Duplicate address
	 * detection (source ::) and any multicast or foreign source are not
	 * answered: we reply to the solicitor's unicast addresses. */
	if (ip6[IP6_HLIM] != ND_HOP_LIMIT || nd[ND_CODE] != 0 || (frame[OFF_ETH_SRC] & 1) ||
	    src_ip6_bad(ip6 + IP6_SRC, gw6->ip))
		return drop(meta, DP_C_DROP_NDP);
	if (csum_fold(csum_add(csum_pseudo6(ip6, (uint32_t)nd_len, IPPROTO_ICMPV6_NUM), nd,
	                       nd_len)) != 0xffff)
		return drop(meta, DP_C_DROP_NDP);
	if (memcmp(nd + ND_TARGET, gw6->ip, 16))
		return drop(meta, DP_C_DROP_NDP);
	/* Options: each at least 8 bytes, within the message (7.1.1). */
	for (size_t o = ND_OPTS; o < nd_len;) {
		if (nd_len - o < 2 || nd[o + 1] == 0 || (size_t)nd[o + 1] * 8 > nd_len - o)
			return drop(meta, DP_C_DROP_NDP);
		o += (size_t)nd[o + 1] * 8;
	}
	memcpy(meta->src.mac, frame + OFF_ETH_SRC, 6);
	dp_addr_set_ipv6(&meta->src, ip6 + IP6_SRC);
	meta->l3_len = (uint16_t)off;
	meta->frame_len = (uint16_t)(l2 + end);
	return DP_PKT_NS;
}

/* The sender of an accepted datagram (dp_pkt_src_get). */
static inline __attribute__((always_inline)) void src_get(const uint8_t *frame, size_t l2_len,
                                                          size_t l3_len, struct dp_addr *src)
{
	const uint8_t *ip = frame + l2_len;

	/* Every field written (via too): no memset of the whole struct first. */
	memcpy(src->mac, frame + OFF_ETH_SRC, 6);
	src->vlan = l2_len > DP_PKT_ETH_LEN ? get_be16(frame + OFF_VLAN_TCI) : 0;
	src->via = 0;
	if (__builtin_expect((ip[0] >> 4) == 6, 0))
		dp_addr_set_ipv6(src, ip + IP6_SRC);
	else
		dp_addr_set_ipv4(src, get_n32(ip + IP_SRC));
	src->port = get_n16(ip + l3_len + UDP_SPORT);
}

/* UDP header and checksum checks shared by both families; fills meta.
 * Inlined: the IPv4 fast path pays no call for the sharing. */
static inline __attribute__((always_inline)) enum dp_pkt_class
classify_udp(const uint8_t *frame, size_t l2, size_t l3, size_t udp_room, uint64_t pseudo,
             int csum_required, const struct dp_addr *gw, unsigned rx_ok, struct dp_pkt_meta *meta)
{
	const uint8_t *udp = frame + l2 + l3;
	uint16_t udp_len, csum;

	/* UDP: its length must be exactly what the IP layer carries. */
	if (udp_room < DP_PKT_UDP_LEN)
		return drop(meta, DP_C_DROP_UDP_HDR);
	udp_len = get_be16(udp + UDP_LEN);
	if (udp_len != udp_room)
		return drop(meta, DP_C_DROP_UDP_HDR);
	if (get_n16(udp + UDP_DPORT) != gw->port)
		return drop(meta, DP_C_DROP_NOT_FOR_US);
	if (get_n16(udp + UDP_SPORT) == 0)
		return drop(meta, DP_C_DROP_SRC_ADDR);
	/* 0: the sender computed none (RFC 768; legal over IPv4 only, RFC 8200
	 * 8.1). */
	memcpy(&csum, udp + UDP_CSUM, sizeof(csum));
	if (csum == 0 && csum_required)
		return drop(meta, DP_C_DROP_UDP6_CSUM_ZERO);
	if (csum != 0 && !(rx_ok & DP_PKT_RX_UDP_CSUM_OK) &&
	    csum_fold(csum_add(pseudo, udp, udp_len)) != 0xffff)
		return drop(meta, DP_C_DROP_UDP_CSUM);

	meta->l3_len = (uint16_t)l3;
	meta->payload_off = (uint16_t)(l2 + l3 + DP_PKT_UDP_LEN);
	meta->payload_len = (uint16_t)(udp_len - DP_PKT_UDP_LEN);
	meta->frame_len = (uint16_t)(l2 + l3 + udp_len);
	src_get(frame, l2, l3, &meta->src);
	return DP_PKT_UDP;
}

static enum dp_pkt_class classify_ipv6(const uint8_t *frame, size_t len, size_t l2,
                                       const struct dp_addr *gw6, unsigned rx_ok,
                                       struct dp_pkt_meta *meta)
{
	const uint8_t *ip6 = frame + l2;
	size_t off = DP_PKT_IP6_LEN, end;
	uint8_t nh;

	/* Unicast to our port, or (for NDP) an IPv6 multicast group (33:33:..). */
	if (memcmp(frame + OFF_ETH_DST, gw6->mac, 6) &&
	    (frame[OFF_ETH_DST] != 0x33 || frame[OFF_ETH_DST + 1] != 0x33))
		return drop(meta, DP_C_DROP_NOT_FOR_US);
	if (len < l2 + DP_PKT_IP6_LEN || (ip6[IP6_VTF] >> 4) != 6)
		return drop(meta, DP_C_DROP_IP6_HDR);
	end = DP_PKT_IP6_LEN + (size_t)get_be16(ip6 + IP6_PLEN);
	if (end > len - l2)
		return drop(meta, DP_C_DROP_IP6_HDR);
	/* The extension headers a datagram to us may carry, skipped (RFC 8200
	 * 4.1 order is not enforced). Each is at least 8 bytes, so the walk ends
	 * within DP_PKT_L3_MAX / 8 steps. */
	nh = ip6[IP6_NH];
	for (;;) {
		size_t ext;

		if (nh == IP6_NH_FRAGMENT)
			return drop(meta, DP_C_DROP_IP6_FRAG);
		if (nh != IP6_NH_HOPOPTS && nh != IP6_NH_DSTOPTS && nh != IP6_NH_ROUTING)
			break;
		if (end - off < 8)
			return drop(meta, DP_C_DROP_IP6_HDR);
		ext = ((size_t)ip6[off + 1] + 1) * 8;
		/* A routing header with segments left names a further hop: we are
		 * not the final destination (RFC 8200 4.4). */
		if (ext > end - off || (nh == IP6_NH_ROUTING && ip6[off + 3] != 0))
			return drop(meta, DP_C_DROP_IP6_EXT);
		nh = ip6[off];
		off += ext;
		if (off > DP_PKT_L3_MAX)
			return drop(meta, DP_C_DROP_IP6_EXT);
	}
	if (nh == IPPROTO_ICMPV6_NUM)
		return classify_ns(frame, l2, ip6, off, end, gw6, meta);
	if (memcmp(frame + OFF_ETH_DST, gw6->mac, 6) || gw6->family != DP_AF_IPV6 ||
	    memcmp(ip6 + IP6_DST, gw6->ip, 16))
		return drop(meta, DP_C_DROP_NOT_FOR_US);
	if (nh != IPPROTO_UDP_NUM)
		return drop(meta, DP_C_DROP_NOT_UDP);
	if ((frame[OFF_ETH_SRC] & 1) || src_ip6_bad(ip6 + IP6_SRC, gw6->ip))
		return drop(meta, DP_C_DROP_SRC_ADDR);
	return classify_udp(frame, l2, off, end - off,
	                    csum_pseudo6(ip6, (uint32_t)(end - off), IPPROTO_UDP_NUM), 1, gw6,
	                    rx_ok, meta);
}

enum dp_pkt_class dp_pkt_classify(const uint8_t *frame, size_t len, const struct dp_addr *self,
                                  struct dp_pkt_meta *meta)
{
	struct dp_pkt_self me;

	memset(&me, 0, sizeof(me));
	if (self->family == DP_AF_IPV6)
		me.v6 = *self;
	else
		me.v4 = *self;
	/* The other family's slot still names our MAC and port (never an IP). */
	memcpy(me.v4.mac, self->mac, 6);
	memcpy(me.v6.mac, self->mac, 6);
	me.v4.port = me.v6.port = self->port;
	return dp_pkt_classify_rx(frame, len, &me, 0, meta);
}

/* An IPv4 frame behind l2 bytes of Ethernet header. Inlined with l2 a
 * constant (14 untagged, 18 tagged): the untagged IPv4 path, the hot one,
 * reads its fields at fixed offsets as before VLANs were parsed. */
static inline __attribute__((always_inline)) enum dp_pkt_class
classify_ipv4(const uint8_t *frame, size_t len, const size_t l2, const struct dp_addr *gw,
              const struct dp_addr *node, unsigned rx_ok, struct dp_pkt_meta *meta)
{
	enum dp_pkt_class c;
	int peer = 0;
	const uint8_t *ip;
	uint16_t tot_len, frag;
	uint32_t gw4;
	size_t ihl;

	meta->l2_len = (uint8_t)l2;
	/* Unicast to our port only: broadcast or multicast IPv4 is never for SGA. */
	if (memcmp(frame + OFF_ETH_DST, gw->mac, 6))
		return drop(meta, DP_C_DROP_NOT_FOR_US);

	/* IPv4 header: version, IHL, then the total length against the frame
	 * (longer frames carry Ethernet padding), then the checksum. */
	if (len < l2 + DP_PKT_IP_LEN)
		return drop(meta, DP_C_DROP_IP_HDR);
	ip = frame + l2;
	if ((ip[IP_VIHL] >> 4) != 4)
		return drop(meta, DP_C_DROP_IP_HDR);
	ihl = (size_t)(ip[IP_VIHL] & 0x0f) * 4;
	if (ihl < DP_PKT_IP_LEN || len < l2 + ihl)
		return drop(meta, DP_C_DROP_IP_HDR);
	tot_len = get_be16(ip + IP_TOTLEN);
	if (tot_len < ihl || tot_len > len - l2)
		return drop(meta, DP_C_DROP_IP_HDR);
	if (!(rx_ok & DP_PKT_RX_IP_CSUM_OK) && csum_fold(csum_add(0, ip, ihl)) != 0xffff)
		return drop(meta, DP_C_DROP_IP_CSUM);
	frag = get_be16(ip + IP_FRAG);
	if (frag & (IP_FLAG_MF | IP_OFFSET_MASK))
		return drop(meta, DP_C_DROP_IP_FRAG);
	gw4 = get_n32(gw->ip + 12);
	if (unlikely_ne(get_n32(ip + IP_DST), gw4) || gw->family != DP_AF_IPV4) {
		/* Not the devices' address: the node address of a cluster
		 * (dp_peer.h), or not for us. */
		if (!node || node->family != DP_AF_IPV4 ||
		    get_n32(ip + IP_DST) != get_n32(node->ip + 12))
			return drop(meta, DP_C_DROP_NOT_FOR_US);
		gw = node;
		gw4 = get_n32(node->ip + 12);
		peer = 1;
	}
	if (ip[IP_PROTO] != IPPROTO_UDP_NUM)
		return drop(meta, DP_C_DROP_NOT_UDP);
	if ((frame[OFF_ETH_SRC] & 1) || src_ip_bad(ip + IP_SRC, gw4))
		return drop(meta, DP_C_DROP_SRC_ADDR);
	c = classify_udp(frame, l2, ihl, tot_len - ihl, csum_pseudo(ip, (uint16_t)(tot_len - ihl)),
	                 0, gw, rx_ok, meta);
	return peer && c == DP_PKT_UDP ? DP_PKT_PEER : c;
}

enum dp_pkt_class dp_pkt_classify_rx(const uint8_t *frame, size_t len,
                                     const struct dp_pkt_self *self, unsigned rx_ok,
                                     struct dp_pkt_meta *meta)
{
	uint16_t type;

	memset(meta, 0, sizeof(*meta));
	if (len < DP_PKT_ETH_LEN)
		return drop(meta, DP_C_DROP_ETH_HDR);
	type = get_be16(frame + OFF_ETH_TYPE);
	if (__builtin_expect(type == ETHERTYPE_IPV4, 1))
		return classify_ipv4(frame, len, DP_PKT_ETH_LEN, &self->v4, &self->node, rx_ok,
		                     meta);
	meta->l2_len = DP_PKT_ETH_LEN;
	/* One 802.1Q tag: its TCI goes with the sender's address. A second tag,
	 * or an S-tag, is a QinQ frame: not ours to unwrap. */
	if (unlikely_tag(type)) {
		if (type != ETHERTYPE_VLAN)
			return drop(meta, DP_C_DROP_QINQ);
		if (len < DP_PKT_ETH_LEN + DP_PKT_VLAN_LEN)
			return drop(meta, DP_C_DROP_ETH_HDR);
		meta->src.vlan = get_be16(frame + OFF_VLAN_TCI);
		meta->tagged = 1;
		meta->l2_len = DP_PKT_ETH_LEN + DP_PKT_VLAN_LEN;
		type = get_be16(frame + OFF_VLAN_TYPE);
		if (type == ETHERTYPE_IPV4)
			return classify_ipv4(frame, len, DP_PKT_ETH_LEN + DP_PKT_VLAN_LEN,
			                     &self->v4, &self->node, rx_ok, meta);
		if (unlikely_tag(type))
			return drop(meta, DP_C_DROP_QINQ);
	}
	if (type == ETHERTYPE_IPV6)
		return classify_ipv6(frame, len, meta->l2_len, &self->v6, rx_ok, meta);
	if (type == ETHERTYPE_ARP)
		return classify_arp(frame, len, meta->l2_len, self, meta);
	return drop(meta, DP_C_DROP_ETHERTYPE);
}

void dp_pkt_src_get(const uint8_t *frame, size_t l2_len, size_t l3_len, struct dp_addr *src)
{
	src_get(frame, l2_len, l3_len, src);
}

size_t dp_pkt_arp_reply(uint8_t *frame, const struct dp_addr *gw)
{
	size_t l2 = l2_len_of(frame);
	uint8_t *arp = frame + l2;
	uint8_t sha[6], spa[4];

	memcpy(sha, arp + ARP_SHA, 6);
	memcpy(spa, arp + ARP_SPA, 4);
	memcpy(frame + OFF_ETH_DST, sha, 6);
	memcpy(frame + OFF_ETH_SRC, gw->mac, 6);
	put_be16(arp + ARP_OP, ARP_OP_REPLY);
	memcpy(arp + ARP_SHA, gw->mac, 6);
	/* The address asked for (the classifier checked it is ours: the
	 * gateway's, or its node address) is the one we answer for. */
	memcpy(arp + ARP_SPA, arp + ARP_TPA, 4);
	memcpy(arp + ARP_THA, sha, 6);
	memcpy(arp + ARP_TPA, spa, 4);
	return l2 + 28;
}

size_t dp_pkt_arp_request(uint8_t *frame, const struct dp_addr *self, uint32_t target)
{
	uint8_t *arp = frame + DP_PKT_ETH_LEN;

	memset(frame, 0, DP_PKT_ARP_MIN);
	memcpy(frame + OFF_ETH_DST, mac_bcast, 6);
	memcpy(frame + OFF_ETH_SRC, self->mac, 6);
	put_be16(frame + OFF_ETH_TYPE, ETHERTYPE_ARP);
	put_be16(arp + ARP_HTYPE, ARP_HTYPE_ETHER);
	put_be16(arp + ARP_PTYPE, ETHERTYPE_IPV4);
	arp[ARP_HLEN] = 6;
	arp[ARP_PLEN] = 4;
	put_be16(arp + ARP_OP, ARP_OP_REQUEST);
	memcpy(arp + ARP_SHA, self->mac, 6);
	memcpy(arp + ARP_SPA, self->ip + 12, 4);
	memcpy(arp + ARP_TPA, &target, 4);
	return DP_PKT_ARP_MIN;
}

size_t dp_pkt_na_reply(uint8_t *frame, const struct dp_addr *gw6)
{
	size_t l2 = l2_len_of(frame);
	uint8_t *ip6 = frame + l2, *nd = ip6 + DP_PKT_IP6_LEN;
	uint8_t mac[6], solicitor[16];
	uint16_t csum;

	memcpy(mac, frame + OFF_ETH_SRC, 6);
	memcpy(solicitor, ip6 + IP6_SRC, 16);
	memcpy(frame + OFF_ETH_DST, mac, 6);
	memcpy(frame + OFF_ETH_SRC, gw6->mac, 6);
	/* IPv6: no extension headers, hop limit 255 (RFC 4861 7.1.2). */
	memset(ip6, 0, 4);
	ip6[IP6_VTF] = 0x60;
	put_be16(ip6 + IP6_PLEN, 32);
	ip6[IP6_NH] = IPPROTO_ICMPV6_NUM;
	ip6[IP6_HLIM] = ND_HOP_LIMIT;
	memcpy(ip6 + IP6_SRC, gw6->ip, 16);
	memcpy(ip6 + IP6_DST, solicitor, 16);
	memset(nd, 0, 32);
	nd[ND_TYPE] = ND_NA;
	nd[ND_FLAGS] = ND_NA_FLAGS;
	memcpy(nd + ND_TARGET, gw6->ip, 16);
	nd[ND_OPTS] = ND_OPT_TLLA;
	nd[ND_OPTS + 1] = 1; /* 8 bytes */
	memcpy(nd + ND_OPTS + 2, gw6->mac, 6);
	csum = (uint16_t)~csum_fold(csum_add(csum_pseudo6(ip6, 32, IPPROTO_ICMPV6_NUM), nd, 32));
	memcpy(nd + ND_CSUM, &csum, 2);
	return l2 + DP_PKT_IP6_LEN + 32;
}

size_t dp_pkt_udp_build(uint8_t *frame, const struct dp_addr *src, const struct dp_addr *dst,
                        uint16_t ip_id, size_t payload_len)
{
	return dp_pkt_udp_build_mode(frame, src, dst, ip_id, payload_len, DP_PKT_CSUM_FULL);
}

/* The UDP header and checksum after an IP header at ip whose pseudo-header
 * sums to pseudo; hdr_len: bytes of the whole header. */
static inline __attribute__((always_inline)) size_t
udp_finish(uint8_t *udp, const struct dp_addr *src, const struct dp_addr *dst, uint16_t udp_len,
           uint64_t pseudo, enum dp_pkt_csum mode, size_t hdr_len, size_t payload_len)
{
	uint16_t csum;

	memcpy(udp + UDP_SPORT, &src->port, 2);
	memcpy(udp + UDP_DPORT, &dst->port, 2);
	put_be16(udp + UDP_LEN, udp_len);
	memset(udp + UDP_CSUM, 0, 2);
	if (mode == DP_PKT_CSUM_OFFLOAD) {
		/* The port finishes the UDP checksum from the pseudo-header sum,
		 * folded, not complemented (what rte_ipv4/ipv6_phdr_cksum give). */
		csum = csum_fold(pseudo);
		memcpy(udp + UDP_CSUM, &csum, 2);
		return hdr_len + payload_len;
	}
	if (mode == DP_PKT_CSUM_UDP_ZERO)
		return hdr_len + payload_len; /* RFC 768: 0 = no checksum */
	csum = (uint16_t)~csum_fold(csum_add(pseudo, udp, udp_len));
	if (csum == 0)
		csum = 0xffff; /* RFC 768: a computed zero is sent as all ones */
	memcpy(udp + UDP_CSUM, &csum, 2);
	return hdr_len + payload_len;
}

/* IPv4 and UDP behind l2 bytes of Ethernet header (EtherType included).
 * Inlined with l2 a constant, as classify_ipv4. */
static inline __attribute__((always_inline)) size_t
build_ipv4(uint8_t *frame, const size_t l2, const struct dp_addr *src, const struct dp_addr *dst,
           uint16_t ip_id, size_t payload_len, enum dp_pkt_csum mode)
{
	uint8_t *ip = frame + l2, *udp = ip + DP_PKT_IP_LEN;
	uint16_t udp_len = (uint16_t)(DP_PKT_UDP_LEN + payload_len), csum,
	         tot_len = (uint16_t)(DP_PKT_IP_LEN + udp_len);
	uint32_t s4, d4;

	memcpy(&s4, src->ip + 12, 4);
	memcpy(&d4, dst->ip + 12, 4);
	put_be16(ip - 2, ETHERTYPE_IPV4);
	ip[IP_VIHL] = 0x45;
	ip[IP_TOS] = 0;
	put_be16(ip + IP_TOTLEN, tot_len);
	put_be16(ip + IP_ID, ip_id);
	put_be16(ip + IP_FRAG, IP_FLAG_DF);
	ip[IP_TTL] = DP_PKT_TTL;
	ip[IP_PROTO] = IPPROTO_UDP_NUM;
	memset(ip + IP_CSUM, 0, 2);
	memcpy(ip + IP_SRC, &s4, 4);
	memcpy(ip + IP_DST, &d4, 4);
	/* The port fills the IPv4 checksum under offload (the field stays 0). */
	if (mode != DP_PKT_CSUM_OFFLOAD) {
		csum = (uint16_t)~csum_fold(
		    (uint64_t)word4(0x45, 0, (uint8_t)(tot_len >> 8), (uint8_t)tot_len) +
		    word4((uint8_t)(ip_id >> 8), (uint8_t)ip_id, IP_FLAG_DF >> 8, 0) +
		    word4(DP_PKT_TTL, IPPROTO_UDP_NUM, 0, 0) + s4 + d4);
		memcpy(ip + IP_CSUM, &csum, 2);
	}
	return udp_finish(udp, src, dst, udp_len,
	                  (uint64_t)s4 + d4 +
	                      word4(0, IPPROTO_UDP_NUM, (uint8_t)(udp_len >> 8), (uint8_t)udp_len),
	                  mode, l2 + DP_PKT_IP_LEN + DP_PKT_UDP_LEN, payload_len);
}

size_t dp_pkt_udp_build_mode(uint8_t *frame, const struct dp_addr *src, const struct dp_addr *dst,
                             uint16_t ip_id, size_t payload_len, enum dp_pkt_csum mode)
{
	const uint16_t vlan = dst->vlan ? dst->vlan : src->vlan;
	const size_t l2 = vlan ? DP_PKT_ETH_LEN + DP_PKT_VLAN_LEN : DP_PKT_ETH_LEN;
	uint8_t *ip = frame + l2;
	uint16_t udp_len = (uint16_t)(DP_PKT_UDP_LEN + payload_len);

	memcpy(frame + OFF_ETH_DST, dst->mac, 6);
	memcpy(frame + OFF_ETH_SRC, src->mac, 6);
	if (__builtin_expect(!vlan && dst->family != DP_AF_IPV6, 1))
		return build_ipv4(frame, DP_PKT_ETH_LEN, src, dst, ip_id, payload_len, mode);
	if (vlan) {
		put_be16(frame + OFF_ETH_TYPE, ETHERTYPE_VLAN);
		put_be16(frame + OFF_VLAN_TCI, vlan);
	}
	if (dst->family != DP_AF_IPV6)
		return build_ipv4(frame, DP_PKT_ETH_LEN + DP_PKT_VLAN_LEN, src, dst, ip_id,
		                  payload_len, mode);
	put_be16(ip - 2, ETHERTYPE_IPV6);
	ip[IP6_VTF] = 0x60;
	memset(ip + 1, 0, 3); /* traffic class 0, flow label 0 */
	put_be16(ip + IP6_PLEN, udp_len);
	ip[IP6_NH] = IPPROTO_UDP_NUM;
	ip[IP6_HLIM] = DP_PKT_TTL;
	memcpy(ip + IP6_SRC, src->ip, 16);
	memcpy(ip + IP6_DST, dst->ip, 16);
	/* Over IPv6 the UDP checksum is mandatory (RFC 8200 8.1). */
	return udp_finish(ip + DP_PKT_IP6_LEN, src, dst, udp_len,
	                  csum_pseudo6(ip, udp_len, IPPROTO_UDP_NUM),
	                  mode == DP_PKT_CSUM_UDP_ZERO ? DP_PKT_CSUM_FULL : mode,
	                  l2 + DP_PKT_IP6_LEN + DP_PKT_UDP_LEN, payload_len);
}

uint16_t dp_pkt_csum(const uint8_t *p, size_t n)
{
	return csum_fold(csum_add(0, p, n));
}
