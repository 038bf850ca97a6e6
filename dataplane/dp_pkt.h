/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_pkt.h - Ethernet/802.1Q/ARP/IPv4/IPv6/NDP/UDP parsing and building on
 * plain byte buffers.
 *
 * The data plane's only packet parser and builder, kept free of mbufs and EAL
 * state so that every reject path can be unit-tested (and fuzzed) on arbitrary
 * bytes. Parsing follows the WireGuard rule: every length is checked before the
 * field is read; each reject maps to exactly one enum dp_counter. Fields are read
 * byte by byte (no struct casts), so buffers need no alignment.
 *
 * Accepted: Ethernet II, untagged or with one 802.1Q tag (0x8100; its TCI is
 * kept in the sender's address and the answer carries it back; a second tag,
 * 802.1ad 0x88a8 and the old 0x9100 are dropped as drop_qinq), carrying
 *  - an ARP request for the gateway's IPv4 address or its node address
 *    (broadcast or to our MAC), and an ARP reply to the node address (one
 *    the data plane asked for: the MAC of a next hop towards the peers);
 *  - an IPv6 Neighbor Solicitation for the gateway's IPv6 address (to it or
 *    its solicited-node multicast group, RFC 4861 7.1.1 checks: hop limit
 *    255, code 0, ICMPv6 checksum, a unicast source; duplicate address
 *    detection from :: is not answered);
 *  - an unfragmented IPv4/UDP datagram to our MAC, IPv4 and port with valid
 *    checksums (UDP checksum 0 = none); IPv4 options are skipped; the same
 *    to the node address and port is DP_PKT_PEER (dp_peer.h);
 *  - an IPv6/UDP datagram to our MAC, IPv6 and port with a valid, nonzero UDP
 *    checksum (RFC 8200 8.1). Hop-by-Hop, Destination Options and Routing
 *    headers with no segments left are skipped (up to DP_PKT_L3_MAX bytes of
 *    IPv6 header chain); a Fragment header is dropped (drop_ip6_frag: the
 *    gateway never reassembles), any other next header is not UDP.
 * A check the port's RX offload made is not made again. Trailing Ethernet
 * padding is allowed; the TTL / hop limit of UDP datagrams is not checked.
 */
#ifndef SGA_DP_PKT_H
#define SGA_DP_PKT_H

#include <stddef.h>
#include <stdint.h>

#include "dp.h"

#define DP_PKT_ETH_LEN  14
#define DP_PKT_VLAN_LEN 4  /* one 802.1Q tag */
#define DP_PKT_IP_LEN   20 /* IPv4 header without options (what we send) */
#define DP_PKT_IP6_LEN  40 /* IPv6 fixed header (what we send) */
#define DP_PKT_UDP_LEN  8
#define DP_PKT_HDR_LEN  (DP_PKT_ETH_LEN + DP_PKT_IP_LEN + DP_PKT_UDP_LEN) /* 42: untagged IPv4 */
#define DP_PKT_HDR_MAX  (DP_PKT_ETH_LEN + DP_PKT_VLAN_LEN + DP_PKT_IP6_LEN + DP_PKT_UDP_LEN) /* 66 */
#define DP_PKT_ARP_LEN  (DP_PKT_ETH_LEN + 28) /* 42, untagged */
#define DP_PKT_ARP_MIN  60                    /* an ARP request we send: the Ethernet minimum */
#define DP_PKT_NA_LEN   (DP_PKT_ETH_LEN + 40 + 32) /* 86, untagged: NA + target link-layer option */
#define DP_PKT_L3_MAX   511 /* IPv4 header or IPv6 header chain: what rte_mbuf.l3_len holds */
#define DP_PKT_TTL      64

enum dp_pkt_class {
	DP_PKT_DROP = 0,  /* meta->drop says why */
	DP_PKT_ARP,       /* an ARP request for the gateway's IPv4 address */
	DP_PKT_UDP,       /* a datagram to the gateway: meta->payload_* and meta->src */
	DP_PKT_NS,        /* an IPv6 Neighbor Solicitation for the gateway's IPv6 address */
	DP_PKT_PEER,      /* a datagram to the node address ([cluster]): as DP_PKT_UDP */
	DP_PKT_ARP_REPLY, /* an ARP reply to the node address: meta->src has its MAC and IP */
};

/** What dp_pkt_classify learned about a frame. */
struct dp_pkt_meta {
	enum dp_counter drop; /* DP_PKT_DROP only: the reject reason */
	uint8_t l2_len;       /* Ethernet header, its 802.1Q tag included */
	uint8_t tagged;       /* 1: the frame had an 802.1Q tag (src.vlan is its TCI) */
	uint16_t l3_len;      /* IPv4 header (options included) or IPv6 header chain */
	uint16_t payload_off; /* UDP payload (the SGA frame): offset in the frame */
	uint16_t payload_len; /*   and length */
	uint16_t frame_len;   /* bytes that belong to the packet (no Ethernet padding) */
	struct dp_addr src;   /* sender: Ethernet source, VLAN TCI, IP source, UDP source port */
};

/** The receiver's own addresses: the gateway has an IPv4 address, an IPv6
 *  one, or both (family DP_AF_NONE where it has none). Both hold the same MAC
 *  and UDP port. */
struct dp_pkt_self {
	struct dp_addr v4, v6;
	/* [cluster]: the node address other gateways send the encapsulation to
	 * (dp_peer.h), IPv4, the same MAC, its own UDP port; family DP_AF_NONE
	 * without a cluster. */
	struct dp_addr node;
};

/** What the port already verified of a received frame (its RX checksum
 *  offload said GOOD): dp_pkt_classify_rx skips that software check. Anything
 *  else (no offload, BAD, UNKNOWN) is verified here, so a frame the NIC found
 *  bad is dropped and counted exactly like one found bad in software. */
enum dp_pkt_rx_ok {
	DP_PKT_RX_IP_CSUM_OK = 1,  /* the IPv4 header checksum is valid */
	DP_PKT_RX_UDP_CSUM_OK = 2, /* the UDP checksum is valid (or absent, IPv4) */
};

/** How dp_pkt_udp_build_mode fills the checksums of a frame it builds. */
enum dp_pkt_csum {
	DP_PKT_CSUM_FULL = 0, /* both computed in software (UDP over the payload) */
	DP_PKT_CSUM_UDP_ZERO, /* IPv4 computed, UDP 0 = none (RFC 768, IPv4 only:
	                         over IPv6 the UDP checksum is computed all the same) */
	DP_PKT_CSUM_OFFLOAD,  /* for the port's TX offload: IPv4 field 0, UDP field
	                         the pseudo-header sum (folded, not complemented) */
};

/**
 * Classify the Ethernet frame frame[0..len) received by the holder of self
 * (an address of either family: the one the frame must be sent to). Reads
 * nothing outside the buffer whatever len is. Returns the class; meta is
 * filled as documented above.
 */
enum dp_pkt_class dp_pkt_classify(const uint8_t *frame, size_t len, const struct dp_addr *self,
                                  struct dp_pkt_meta *meta);
/** dp_pkt_classify for a receiver with the addresses in self, with the checks
 *  rx_ok (enum dp_pkt_rx_ok bits) names skipped because the port made them. */
enum dp_pkt_class dp_pkt_classify_rx(const uint8_t *frame, size_t len,
                                     const struct dp_pkt_self *self, unsigned rx_ok,
                                     struct dp_pkt_meta *meta);

/**
 * Turn an ARP request that dp_pkt_classify accepted into the reply, in place:
 * "gw's IPv4 is at gw->mac", sent to the requester's MAC with the request's
 * 802.1Q tag if it had one. Returns the reply length (DP_PKT_ARP_LEN, + 4
 * tagged); bytes beyond it (request padding) are the caller's to trim.
 */
size_t dp_pkt_arp_reply(uint8_t *frame, const struct dp_addr *gw);

/** A broadcast ARP request from self (its MAC and IPv4 address) for target
 *  (network order) into frame[0..DP_PKT_ARP_MIN): padded to the Ethernet
 *  minimum. Returns DP_PKT_ARP_MIN. */
size_t dp_pkt_arp_request(uint8_t *frame, const struct dp_addr *self, uint32_t target);

/**
 * Turn a Neighbor Solicitation that dp_pkt_classify accepted into the
 * Neighbor Advertisement, in place: solicited, override, target gw6's IPv6
 * address with its link-layer address option (RFC 4861 4.4, 7.2.4), to the
 * solicitor's IPv6 and MAC, with the request's 802.1Q tag if it had one.
 * frame must have room for the result: DP_PKT_NA_LEN (+ 4 tagged), which
 * may be more than the solicitation's length. Returns the NA's length.
 */
size_t dp_pkt_na_reply(uint8_t *frame, const struct dp_addr *gw6);

/** Bytes of Ethernet[/802.1Q]/IP/UDP header dp_pkt_udp_build writes from src
 *  to dst: 42 (IPv4), 62 (IPv6), + 4 with a VLAN tag. */
static inline size_t dp_pkt_hdr_len(const struct dp_addr *src, const struct dp_addr *dst)
{
	return DP_PKT_ETH_LEN + ((dst->vlan | src->vlan) ? DP_PKT_VLAN_LEN : 0) +
	       (dst->family == DP_AF_IPV6 ? DP_PKT_IP6_LEN : DP_PKT_IP_LEN) + DP_PKT_UDP_LEN;
}

/**
 * Write Ethernet, an 802.1Q tag if one side names one (dst's TCI, else
 * src's: a link has one VLAN, and the gateway's own address has none), IPv4
 * (no options, DF, TTL 64, id ip_id) or IPv6 (hop limit 64, no extension
 * headers, flow label 0) as dst->family says, and UDP headers into
 * frame[0..dp_pkt_hdr_len(src, dst)), from src to dst (both of that family),
 * for the payload_len bytes already behind them; computes the checksums (UDP
 * in software over the payload). payload_len must be <= 65535 - 28. Returns
 * the frame length.
 */
size_t dp_pkt_udp_build(uint8_t *frame, const struct dp_addr *src, const struct dp_addr *dst,
                        uint16_t ip_id, size_t payload_len);
/** dp_pkt_udp_build with the checksums filled as mode says. */
size_t dp_pkt_udp_build_mode(uint8_t *frame, const struct dp_addr *src, const struct dp_addr *dst,
                             uint16_t ip_id, size_t payload_len, enum dp_pkt_csum mode);

/** The Internet checksum sum of p[0..n) (RFC 1071), folded to 16 bits in the
 *  byte order of memory, not complemented: 0xffff over a valid header. */
uint16_t dp_pkt_csum(const uint8_t *p, size_t n);

/**
 * The sender's address of a frame dp_pkt_classify accepted as DP_PKT_UDP, given
 * its l2_len and l3_len (for callers that kept only the offsets, e.g. the
 * hand-off path). frame must hold at least l2_len + l3_len + DP_PKT_UDP_LEN
 * bytes.
 */
void dp_pkt_src_get(const uint8_t *frame, size_t l2_len, size_t l3_len, struct dp_addr *src);

/** 1 if a and b are the same address (family, IP, port, MAC, VLAN TCI). */
int dp_addr_equal(const struct dp_addr *a, const struct dp_addr *b);

#endif /* SGA_DP_PKT_H */
