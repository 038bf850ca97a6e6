/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_pkt.h - Ethernet/ARP/IPv4/UDP parsing and building on plain byte buffers.
 *
 * The data plane's only packet parser and builder, kept free of mbufs and EAL
 * state so that every reject path can be unit-tested (and fuzzed) on arbitrary
 * bytes. Parsing follows the WireGuard rule: every length is checked before the
 * field is read; each reject maps to exactly one enum dp_counter. Fields are read
 * byte by byte (no struct casts), so buffers need no alignment.
 *
 * Accepted: untagged Ethernet II carrying either an ARP request for the gateway
 * address (broadcast or to our MAC) or an unfragmented IPv4/UDP datagram to our
 * MAC, IP and port with valid checksums (UDP checksum 0 = none; a check the
 * port's RX offload made is not made again). Trailing
 * Ethernet padding is allowed; IPv4 options are skipped; the TTL is not checked.
 */
#ifndef SGA_DP_PKT_H
#define SGA_DP_PKT_H

#include <stddef.h>
#include <stdint.h>

#include "dp.h"

#define DP_PKT_ETH_LEN 14
#define DP_PKT_IP_LEN  20 /* IPv4 header without options (what we send) */
#define DP_PKT_UDP_LEN 8
#define DP_PKT_HDR_LEN (DP_PKT_ETH_LEN + DP_PKT_IP_LEN + DP_PKT_UDP_LEN) /* 42 */
#define DP_PKT_ARP_LEN (DP_PKT_ETH_LEN + 28)                             /* 42 */
#define DP_PKT_TTL     64

enum dp_pkt_class {
	DP_PKT_DROP = 0, /* meta->drop says why */
	DP_PKT_ARP,      /* an ARP request for the gateway address */
	DP_PKT_UDP,      /* a datagram to the gateway: meta->payload_* and meta->src */
};

/** What dp_pkt_classify learned about a frame. */
struct dp_pkt_meta {
	enum dp_counter drop; /* DP_PKT_DROP only: the reject reason */
	uint16_t l3_len;      /* IPv4 header length (options included) */
	uint16_t payload_off; /* UDP payload (the SGA frame): offset in the frame */
	uint16_t payload_len; /*   and length */
	uint16_t frame_len;   /* bytes that belong to the packet (no Ethernet padding) */
	struct dp_addr src;   /* sender: Ethernet source, IPv4 source, UDP source port */
};

/** What the port already verified of a received frame (its RX checksum
 *  offload said GOOD): dp_pkt_classify_rx skips that software check. Anything
 *  else (no offload, BAD, UNKNOWN) is verified here, so a frame the NIC found
 *  bad is dropped and counted exactly like one found bad in software. */
enum dp_pkt_rx_ok {
	DP_PKT_RX_IP_CSUM_OK = 1,  /* the IPv4 header checksum is valid */
	DP_PKT_RX_UDP_CSUM_OK = 2, /* the UDP checksum is valid (or absent) */
};

/** How dp_pkt_udp_build_mode fills the checksums of a frame it builds. */
enum dp_pkt_csum {
	DP_PKT_CSUM_FULL = 0, /* both computed in software (UDP over the payload) */
	DP_PKT_CSUM_UDP_ZERO, /* IPv4 computed, UDP 0 = none (RFC 768, IPv4 only) */
	DP_PKT_CSUM_OFFLOAD,  /* for the port's TX offload: IPv4 field 0, UDP field
	                         the pseudo-header sum (folded, not complemented) */
};

/**
 * Classify the Ethernet frame frame[0..len) received by the gateway whose
 * address is gw (its port MAC, IPv4 and UDP port). Reads nothing outside the
 * buffer whatever len is. Returns the class; meta is filled as documented above.
 */
enum dp_pkt_class dp_pkt_classify(const uint8_t *frame, size_t len, const struct dp_addr *gw,
                                  struct dp_pkt_meta *meta);
/** dp_pkt_classify, with the checks rx_ok (enum dp_pkt_rx_ok bits) names
 *  skipped because the port made them. */
enum dp_pkt_class dp_pkt_classify_rx(const uint8_t *frame, size_t len, const struct dp_addr *gw,
                                     unsigned rx_ok, struct dp_pkt_meta *meta);

/**
 * Turn an ARP request that dp_pkt_classify accepted into the reply, in place:
 * "gw->ip is at gw->mac", sent to the requester's MAC. Returns the reply length
 * (DP_PKT_ARP_LEN); bytes beyond it (request padding) are the caller's to trim.
 */
size_t dp_pkt_arp_reply(uint8_t *frame, const struct dp_addr *gw);

/**
 * Write Ethernet, IPv4 (no options, DF, TTL 64, id ip_id) and UDP headers into
 * frame[0..DP_PKT_HDR_LEN), from src to dst, for the payload_len bytes already at
 * frame + DP_PKT_HDR_LEN; computes both checksums (UDP in software over the
 * payload). payload_len must be <= 65535 - 28. Returns the frame length.
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
 * its l3_len (for callers that kept only the offsets, e.g. the hand-off path).
 * frame must hold at least DP_PKT_ETH_LEN + l3_len + DP_PKT_UDP_LEN bytes.
 */
void dp_pkt_src_get(const uint8_t *frame, size_t l3_len, struct dp_addr *src);

/** 1 if a and b are the same address (field by field: struct padding ignored). */
int dp_addr_equal(const struct dp_addr *a, const struct dp_addr *b);

#endif /* SGA_DP_PKT_H */
