/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_pkt.c - Ethernet/ARP/IPv4/UDP parsing and building, see dp_pkt.h.
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
#define ETHERTYPE_VLAN     0x8100 /* 802.1Q */
#define ETHERTYPE_QINQ     0x88a8 /* 802.1ad */
#define ETHERTYPE_QINQ_OLD 0x9100
#define IPPROTO_UDP_NUM    17
#define IP_FLAG_DF         0x4000
#define IP_FLAG_MF         0x2000
#define IP_OFFSET_MASK     0x1fff
#define ARP_HTYPE_ETHER    1
#define ARP_OP_REQUEST     1
#define ARP_OP_REPLY       2

/* Offsets inside the Ethernet frame. */
#define OFF_ETH_DST  0
#define OFF_ETH_SRC  6
#define OFF_ETH_TYPE 12
#define OFF_L3       DP_PKT_ETH_LEN
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
/* UDP (RFC 768), from the start of the UDP header. */
#define UDP_SPORT 0
#define UDP_DPORT 2
#define UDP_LEN   4
#define UDP_CSUM  6

static const uint8_t mac_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

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

int dp_addr_equal(const struct dp_addr *a, const struct dp_addr *b)
{
	return !memcmp(a->mac, b->mac, sizeof(a->mac)) && a->ip == b->ip && a->port == b->port;
}

static enum dp_pkt_class drop(struct dp_pkt_meta *meta, enum dp_counter why)
{
	meta->drop = why;
	return DP_PKT_DROP;
}

static enum dp_pkt_class classify_arp(const uint8_t *frame, size_t len, const struct dp_addr *gw,
                                      struct dp_pkt_meta *meta)
{
	const uint8_t *arp = frame + OFF_L3;

	/* A request may come broadcast or, when a host refreshes its cache, unicast. */
	if (memcmp(frame + OFF_ETH_DST, mac_bcast, 6) && memcmp(frame + OFF_ETH_DST, gw->mac, 6))
		return drop(meta, DP_C_DROP_NOT_FOR_US);
	if (len < DP_PKT_ARP_LEN)
		return drop(meta, DP_C_DROP_ARP);
	if (get_be16(arp + ARP_HTYPE) != ARP_HTYPE_ETHER ||
	    get_be16(arp + ARP_PTYPE) != ETHERTYPE_IPV4 || arp[ARP_HLEN] != 6 ||
	    arp[ARP_PLEN] != 4 || get_be16(arp + ARP_OP) != ARP_OP_REQUEST)
		return drop(meta, DP_C_DROP_ARP);
	if (get_n32(arp + ARP_TPA) != gw->ip)
		return drop(meta, DP_C_DROP_ARP);
	/* We answer to the sender hardware address: it must be a unicast one, or a
	 * forged request would make us broadcast (or multicast) replies. */
	if (arp[ARP_SHA] & 1)
		return drop(meta, DP_C_DROP_ARP);
	memcpy(meta->src.mac, arp + ARP_SHA, 6);
	meta->src.ip = get_n32(arp + ARP_SPA);
	meta->src.port = 0;
	meta->frame_len = DP_PKT_ARP_LEN;
	return DP_PKT_ARP;
}

/* A source we could not answer to: the reply would go to a group, to nobody,
 * or to ourselves (RFC 1122 3.2.1.3 lists these as invalid source addresses). */
static int src_ip_bad(const uint8_t *ip_src, uint32_t gw_ip)
{
	uint8_t first = ip_src[0];

	return get_n32(ip_src) == gw_ip || first == 0 || first == 127 || first >= 224;
}

enum dp_pkt_class dp_pkt_classify(const uint8_t *frame, size_t len, const struct dp_addr *gw,
                                  struct dp_pkt_meta *meta)
{
	return dp_pkt_classify_rx(frame, len, gw, 0, meta);
}

enum dp_pkt_class dp_pkt_classify_rx(const uint8_t *frame, size_t len, const struct dp_addr *gw,
                                     unsigned rx_ok, struct dp_pkt_meta *meta)
{
	const uint8_t *ip, *udp;
	uint16_t type, tot_len, frag, udp_len, csum;
	size_t ihl;

	memset(meta, 0, sizeof(*meta));
	if (len < DP_PKT_ETH_LEN)
		return drop(meta, DP_C_DROP_ETH_HDR);
	type = get_be16(frame + OFF_ETH_TYPE);
	if (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ_OLD)
		return drop(meta, DP_C_DROP_VLAN);
	if (type == ETHERTYPE_ARP)
		return classify_arp(frame, len, gw, meta);
	if (type != ETHERTYPE_IPV4)
		return drop(meta, DP_C_DROP_ETHERTYPE);
	/* Unicast to our port only: broadcast or multicast IPv4 is never for SGA. */
	if (memcmp(frame + OFF_ETH_DST, gw->mac, 6))
		return drop(meta, DP_C_DROP_NOT_FOR_US);

	/* IPv4 header: version, IHL, then the total length against the frame
	 * (longer frames carry Ethernet padding), then the checksum. */
	if (len < DP_PKT_ETH_LEN + DP_PKT_IP_LEN)
		return drop(meta, DP_C_DROP_IP_HDR);
	ip = frame + OFF_L3;
	if ((ip[IP_VIHL] >> 4) != 4)
		return drop(meta, DP_C_DROP_IP_HDR);
	ihl = (size_t)(ip[IP_VIHL] & 0x0f) * 4;
	if (ihl < DP_PKT_IP_LEN || len < DP_PKT_ETH_LEN + ihl)
		return drop(meta, DP_C_DROP_IP_HDR);
	tot_len = get_be16(ip + IP_TOTLEN);
	if (tot_len < ihl || tot_len > len - DP_PKT_ETH_LEN)
		return drop(meta, DP_C_DROP_IP_HDR);
	if (!(rx_ok & DP_PKT_RX_IP_CSUM_OK) && csum_fold(csum_add(0, ip, ihl)) != 0xffff)
		return drop(meta, DP_C_DROP_IP_CSUM);
	frag = get_be16(ip + IP_FRAG);
	if (frag & (IP_FLAG_MF | IP_OFFSET_MASK))
		return drop(meta, DP_C_DROP_IP_FRAG);
	if (get_n32(ip + IP_DST) != gw->ip)
		return drop(meta, DP_C_DROP_NOT_FOR_US);
	if (ip[IP_PROTO] != IPPROTO_UDP_NUM)
		return drop(meta, DP_C_DROP_NOT_UDP);
	if ((frame[OFF_ETH_SRC] & 1) || src_ip_bad(ip + IP_SRC, gw->ip))
		return drop(meta, DP_C_DROP_SRC_ADDR);

	/* UDP: its length must be exactly what IPv4 carries. */
	if (tot_len - ihl < DP_PKT_UDP_LEN)
		return drop(meta, DP_C_DROP_UDP_HDR);
	udp = ip + ihl;
	udp_len = get_be16(udp + UDP_LEN);
	if (udp_len != tot_len - ihl)
		return drop(meta, DP_C_DROP_UDP_HDR);
	if (get_n16(udp + UDP_DPORT) != gw->port)
		return drop(meta, DP_C_DROP_NOT_FOR_US);
	if (get_n16(udp + UDP_SPORT) == 0)
		return drop(meta, DP_C_DROP_SRC_ADDR);
	/* 0: the sender computed none (RFC 768; legal over IPv4). */
	memcpy(&csum, udp + UDP_CSUM, sizeof(csum));
	if (csum != 0 && !(rx_ok & DP_PKT_RX_UDP_CSUM_OK) &&
	    csum_fold(csum_add(csum_pseudo(ip, udp_len), udp, udp_len)) != 0xffff)
		return drop(meta, DP_C_DROP_UDP_CSUM);

	meta->l3_len = (uint16_t)ihl;
	meta->payload_off = (uint16_t)(DP_PKT_ETH_LEN + ihl + DP_PKT_UDP_LEN);
	meta->payload_len = (uint16_t)(udp_len - DP_PKT_UDP_LEN);
	meta->frame_len = (uint16_t)(DP_PKT_ETH_LEN + tot_len);
	dp_pkt_src_get(frame, ihl, &meta->src);
	return DP_PKT_UDP;
}

void dp_pkt_src_get(const uint8_t *frame, size_t l3_len, struct dp_addr *src)
{
	memset(src, 0, sizeof(*src));
	memcpy(src->mac, frame + OFF_ETH_SRC, 6);
	src->ip = get_n32(frame + OFF_L3 + IP_SRC);
	src->port = get_n16(frame + OFF_L3 + l3_len + UDP_SPORT);
}

size_t dp_pkt_arp_reply(uint8_t *frame, const struct dp_addr *gw)
{
	uint8_t *arp = frame + OFF_L3;
	uint8_t sha[6], spa[4];

	memcpy(sha, arp + ARP_SHA, 6);
	memcpy(spa, arp + ARP_SPA, 4);
	memcpy(frame + OFF_ETH_DST, sha, 6);
	memcpy(frame + OFF_ETH_SRC, gw->mac, 6);
	put_be16(arp + ARP_OP, ARP_OP_REPLY);
	memcpy(arp + ARP_SHA, gw->mac, 6);
	memcpy(arp + ARP_SPA, &gw->ip, 4);
	memcpy(arp + ARP_THA, sha, 6);
	memcpy(arp + ARP_TPA, spa, 4);
	return DP_PKT_ARP_LEN;
}

size_t dp_pkt_udp_build(uint8_t *frame, const struct dp_addr *src, const struct dp_addr *dst,
                        uint16_t ip_id, size_t payload_len)
{
	return dp_pkt_udp_build_mode(frame, src, dst, ip_id, payload_len, DP_PKT_CSUM_FULL);
}

size_t dp_pkt_udp_build_mode(uint8_t *frame, const struct dp_addr *src, const struct dp_addr *dst,
                             uint16_t ip_id, size_t payload_len, enum dp_pkt_csum mode)
{
	uint8_t *ip = frame + OFF_L3, *udp = ip + DP_PKT_IP_LEN;
	uint16_t udp_len = (uint16_t)(DP_PKT_UDP_LEN + payload_len), csum;

	memcpy(frame + OFF_ETH_DST, dst->mac, 6);
	memcpy(frame + OFF_ETH_SRC, src->mac, 6);
	put_be16(frame + OFF_ETH_TYPE, ETHERTYPE_IPV4);

	ip[IP_VIHL] = 0x45;
	ip[IP_TOS] = 0;
	put_be16(ip + IP_TOTLEN, (uint16_t)(DP_PKT_IP_LEN + udp_len));
	put_be16(ip + IP_ID, ip_id);
	put_be16(ip + IP_FRAG, IP_FLAG_DF);
	ip[IP_TTL] = DP_PKT_TTL;
	ip[IP_PROTO] = IPPROTO_UDP_NUM;
	memset(ip + IP_CSUM, 0, 2);
	memcpy(ip + IP_SRC, &src->ip, 4);
	memcpy(ip + IP_DST, &dst->ip, 4);
	memcpy(udp + UDP_SPORT, &src->port, 2);
	memcpy(udp + UDP_DPORT, &dst->port, 2);
	put_be16(udp + UDP_LEN, udp_len);
	memset(udp + UDP_CSUM, 0, 2);

	if (mode == DP_PKT_CSUM_OFFLOAD) {
		/* The port fills the IPv4 checksum (the field stays 0) and finishes
		 * the UDP one from the pseudo-header sum, folded, not complemented
		 * (what rte_ipv4_phdr_cksum gives). */
		csum = csum_fold(csum_pseudo(ip, udp_len));
		memcpy(udp + UDP_CSUM, &csum, 2);
		return DP_PKT_HDR_LEN + payload_len;
	}
	csum = (uint16_t)~csum_fold(csum_add(0, ip, DP_PKT_IP_LEN));
	memcpy(ip + IP_CSUM, &csum, 2);
	if (mode == DP_PKT_CSUM_UDP_ZERO)
		return DP_PKT_HDR_LEN + payload_len; /* RFC 768: 0 = no checksum */
	csum = (uint16_t)~csum_fold(csum_add(csum_pseudo(ip, udp_len), udp, udp_len));
	if (csum == 0)
		csum = 0xffff; /* RFC 768: a computed zero is sent as all ones */
	memcpy(udp + UDP_CSUM, &csum, 2);
	return DP_PKT_HDR_LEN + payload_len;
}

uint16_t dp_pkt_csum(const uint8_t *p, size_t n)
{
	return csum_fold(csum_add(0, p, n));
}
