/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_peer.h - the gateway-to-gateway path ([cluster], PROTOCOL.md 9.6): the
 * list of the cluster's gateways (nodes), and the encapsulation one gateway
 * uses to hand another a device's frame (PEER_FWD: "this frame reached me
 * from this device address") or a frame for a device (PEER_EMIT: "send this
 * to this device address, it reaches you"), authenticated under the
 * cluster's key (AES-256-CMAC, RFC 4493: the full 16-byte tag).
 *
 * Like dp_pkt.h: plain byte buffers, no mbufs and no EAL state, every length
 * checked before a field is read, so every reject can be unit-tested and
 * fuzzed. The data plane puts the encapsulation behind an IPv4/UDP header to
 * the peer's node address (dp_lcore.c); the control plane's frames for a
 * device another gateway reaches go the same way (dp_ctrl_send).
 *
 * Encapsulation (the UDP payload to a node address), all integers big endian:
 *   0  u8  version      1
 *   1  u8  type         enum dp_peer_type
 *   2  u8  sender       the sending gateway's node index (1-based, the list's order)
 *   3  u8  family       the device address's: 4 or 6
 *   4  u16 vlan         its 802.1Q TCI (0: untagged)
 *   6  u16 port         its UDP port
 *   8  u8[6] mac        FWD: the Ethernet source the frame had at the sender;
 *                       EMIT: the destination the receiver puts on the frame
 *  14  u8[2] zero
 *  16  u8[16] ip        IPv6, or ::ffff:a.b.c.d
 *  32  the SGA frame    (SGA_HDR_LEN..SGA_FRAME_MAX bytes)
 *  ..  u8[16] tag       AES-256-CMAC under the cluster key over bytes 0..32+n
 * No replay protection of its own, on purpose: what a replayed PEER_FWD
 * carries is a device's frame, which the owner's replay window refuses as it
 * refuses that frame sent to it directly; a replayed PEER_EMIT re-sends a
 * frame sealed for a device, which its window drops - both are what anyone
 * who can see the traffic could do without the encapsulation. What the tag
 * stops is a forged PEER_EMIT: without it a gateway would send anything to
 * anyone from the devices' gateway address.
 */
#ifndef SGA_DP_PEER_H
#define SGA_DP_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "dp.h"

#define DP_PEER_VERSION  1
#define DP_PEER_HDR_LEN  32
#define DP_PEER_TAG_LEN  16
#define DP_PEER_OVERHEAD (DP_PEER_HDR_LEN + DP_PEER_TAG_LEN)
#define DP_PEER_KEY_LEN  32
#define DP_NODES_MAX     15 /* nodes in [cluster] nodes; indices 1..15 fit dp_addr.via */
#define DP_NODE_NAME_MAX 64

enum dp_peer_type {
	DP_PEER_FWD = 1,  /* a device's frame the sender received, for the session's owner */
	DP_PEER_EMIT = 2, /* a frame for a device that reaches the receiver */
};

/** One gateway of the cluster: its node name ([sessions] node) and the IPv4
 *  address and UDP port its data plane takes the encapsulation on. */
struct dp_node {
	char name[DP_NODE_NAME_MAX];
	uint32_t ip;   /* network order */
	uint16_t port; /* network order */
};

/** [cluster] nodes: the same list, in the same order, on every gateway (an
 *  address's via, and the sender field above, are indices into it). */
struct dp_nodes {
	unsigned n;    /* 0: no cluster */
	unsigned self; /* this gateway's index, 1..n */
	struct dp_node node[DP_NODES_MAX];
};

/**
 * Parse "name a.b.c.d:port, name a.b.c.d:port, ..." (at least two nodes, at
 * most DP_NODES_MAX, names and addresses distinct, ports nonzero) into out
 * and find `self` in it. 0, or -EINVAL with a reason in err (err_len bytes).
 */
int dp_nodes_parse(const char *s, const char *self, struct dp_nodes *out, char *err,
                   size_t err_len);
/** The 1-based index of the node named name[0..len), 0 if none. */
unsigned dp_nodes_find(const struct dp_nodes *nodes, const char *name, size_t len);

/** A CMAC context under the cluster key; one per thread (not shareable). */
struct dp_peer_mac;
struct dp_peer_mac *dp_peer_mac_new(const uint8_t key[DP_PEER_KEY_LEN]);
void dp_peer_mac_free(struct dp_peer_mac *m);

/**
 * Write the header for a frame of frame_len bytes that already follows it
 * (buf + DP_PEER_HDR_LEN), then the tag behind the frame: buf must have room
 * for DP_PEER_OVERHEAD + frame_len bytes. dev->via is not carried (the
 * receiver sees the device through the sender). Returns the encapsulation's
 * length, or 0 if the MAC failed (not expected) or a field is out of range.
 */
size_t dp_peer_seal(struct dp_peer_mac *mac, uint8_t *buf, enum dp_peer_type type, uint8_t sender,
                    const struct dp_addr *dev, size_t frame_len);

/** What dp_peer_open found in an encapsulation. */
struct dp_peer_msg {
	enum dp_peer_type type;
	uint8_t sender;     /* 1..DP_NODES_MAX, checked against nodes by the caller */
	struct dp_addr dev; /* via 0 */
	size_t frame_off;   /* the SGA frame: p + frame_off */
	size_t frame_len;
};

/**
 * Check and parse the encapsulation p[0..len): the tag first (constant time),
 * then every field. 0, or a negated SGA_E_* (SGA_E_AUTH: the tag; SGA_E_TRUNCATED,
 * SGA_E_BAD_VERSION, SGA_E_BAD_TYPE, SGA_E_BAD_FIELD, SGA_E_OVERSIZED).
 */
int dp_peer_open(struct dp_peer_mac *mac, const uint8_t *p, size_t len, struct dp_peer_msg *out);

#endif /* SGA_DP_PEER_H */
