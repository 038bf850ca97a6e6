/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_dp_pkt.c - libFuzzer harness for the data plane's Ethernet/802.1Q/ARP/
 * IPv4/IPv6/NDP/UDP parser (dataplane/dp_pkt.c): dp_pkt_classify_rx on the
 * input as one received frame, addressed to a fixed gateway with an IPv4 and
 * an IPv6 address.
 *
 * Properties:
 *  - an accepted frame's lengths lie within the buffer: payload inside the
 *    packet, packet inside the frame, the sender's address as dp_pkt_src_get
 *    reads it; a drop names a drop counter;
 *  - what the port's checksum offload vouches for (rx_ok) only widens what is
 *    accepted, and changes nothing else about an accepted frame;
 *  - build -> classify round trip: the answer dp_pkt_udp_build makes to an
 *    accepted datagram's sender (each checksum mode) is accepted by that
 *    sender with the same payload and the same 802.1Q tag; an accepted ARP
 *    request's reply is a well-formed ARP reply from the gateway, an accepted
 *    Neighbor Solicitation's advertisement one from the gateway's IPv6
 *    address that is never taken for a solicitation.
 */
#include <arpa/inet.h>

#include "dp_pkt.h"
#include "fuzz_common.h"

#define FRAME_CAP 2048

static struct dp_addr gw, gw6;
static struct dp_pkt_self self;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

	(void)argv;
	static const uint8_t ip6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

	(void)argc;
	memcpy(gw.mac, mac, 6);
	dp_addr_set_ipv4(&gw, htonl(0x0a4d0001)); /* 10.77.0.1 */
	gw.port = htons(4500);
	gw6 = gw;
	dp_addr_set_ipv6(&gw6, ip6); /* fd00::1 */
	self.v4 = gw;
	self.v6 = gw6;
	self.node = gw; /* a cluster's node address (dp_peer.h): 10.77.0.9:7100 */
	dp_addr_set_ipv4(&self.node, htonl(0x0a4d0009));
	self.node.port = htons(7100);
	if (fuzz_seed_dir()) {
		static const uint8_t dev_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
		static const uint8_t dev_ip6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0,
		                                    0,    0, 0, 0, 0, 0, 0, 2};
		struct dp_addr dev = {.port = htons(40000)}, dev6;
		uint8_t f[FRAME_CAP];
		size_t n;

		dp_addr_set_ipv4(&dev, htonl(0x0a4d0002));
		memcpy(dev.mac, dev_mac, 6);
		dev6 = dev;
		dp_addr_set_ipv6(&dev6, dev_ip6);
		memset(f, 0, sizeof(f));
		for (unsigned i = 0; i < 3; i++) {
			static const size_t sizes[] = {0, 66, 1472};
			char name[32];

			memset(f + DP_PKT_HDR_LEN, 0x30 + (int)i, sizes[i]);
			n = dp_pkt_udp_build_mode(f, &dev, &gw, (uint16_t)i, sizes[i],
			                          (enum dp_pkt_csum)(i % 2));
			snprintf(name, sizeof(name), "udp-%zu", sizes[i]);
			fuzz_seed_write(name, f, n);
		}
		/* Ethernet padding after a short datagram; IPv4 options. */
		n = dp_pkt_udp_build(f, &dev, &gw, 7, 4);
		memset(f + n, 0, 60 - n);
		fuzz_seed_write("udp-padded", f, 60);
		/* An ARP request for the gateway's address, broadcast. */
		memset(f, 0xff, 6);
		memcpy(f + 6, dev.mac, 6);
		memcpy(f + 12, (const uint8_t[]){0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1}, 10);
		memcpy(f + 22, dev.mac, 6);
		memcpy(f + 28, dev.ip + 12, 4);
		memset(f + 32, 0, 6);
		memcpy(f + 38, gw.ip + 12, 4);
		fuzz_seed_write("arp-request", f, DP_PKT_ARP_LEN);
		/* IPv6, untagged and tagged. */
		memset(f, 0x41, sizeof(f));
		n = dp_pkt_udp_build(f, &dev6, &gw6, 0, 66);
		fuzz_seed_write("udp6-66", f, n);
		dev6.vlan = 0x002a;
		n = dp_pkt_udp_build(f, &dev6, &gw6, 0, 66);
		fuzz_seed_write("udp6-vlan-66", f, n);
		dev.vlan = 0x602a;
		n = dp_pkt_udp_build(f, &dev, &gw, 0, 66);
		fuzz_seed_write("udp-vlan-66", f, n);
		/* A Neighbor Solicitation for fd00::1 to its solicited-node group,
		 * with the solicitor's link-layer address option. */
		{
			static const uint8_t snm[16] = {0xff, 2, 0, 0, 0,    0, 0, 0,
			                                0,    0, 0, 1, 0xff, 0, 0, 1};
			uint8_t *ip = f + 14, *nd = ip + 40, ph[40 + 32];
			uint16_t csum;

			memset(f, 0, 86);
			memcpy(f, (const uint8_t[]){0x33, 0x33, 0xff, 0, 0, 1}, 6);
			memcpy(f + 6, dev_mac, 6);
			f[12] = 0x86;
			f[13] = 0xdd;
			ip[0] = 0x60;
			ip[5] = 32;
			ip[6] = 58;
			ip[7] = 255;
			memcpy(ip + 8, dev_ip6, 16);
			memcpy(ip + 24, snm, 16);
			nd[0] = 135;
			memcpy(nd + 8, ip6, 16);
			nd[24] = 1;
			nd[25] = 1;
			memcpy(nd + 26, dev_mac, 6);
			/* RFC 8200 8.1 pseudo-header, then the message. */
			memset(ph, 0, sizeof(ph));
			memcpy(ph, ip + 8, 32);
			ph[35] = 32;
			ph[39] = 58;
			memcpy(ph + 40, nd, 32);
			csum = (uint16_t)~dp_pkt_csum(ph, sizeof(ph));
			memcpy(nd + 2, &csum, 2);
			fuzz_seed_write("ns-snm", f, 86);
		}
		exit(0);
	}
	return 0;
}

static void check_udp(const uint8_t *d, size_t size, const struct dp_pkt_meta *m)
{
	static uint8_t f[FRAME_CAP + 128];
	const struct dp_addr *me = m->src.family == DP_AF_IPV6 ? &gw6 : &gw;
	struct dp_pkt_meta back;
	struct dp_addr src;
	size_t hdr;

	FUZZ_CHECK(m->l2_len == DP_PKT_ETH_LEN + (m->tagged ? DP_PKT_VLAN_LEN : 0));
	if (m->src.family == DP_AF_IPV6)
		FUZZ_CHECK(m->l3_len >= DP_PKT_IP6_LEN && m->l3_len <= DP_PKT_L3_MAX &&
		           m->l3_len % 8 == 0);
	else
		FUZZ_CHECK(m->src.family == DP_AF_IPV4 && m->l3_len >= DP_PKT_IP_LEN &&
		           m->l3_len <= 60 && m->l3_len % 4 == 0);
	FUZZ_CHECK(m->payload_off == m->l2_len + m->l3_len + DP_PKT_UDP_LEN);
	FUZZ_CHECK((size_t)m->payload_off + m->payload_len == m->frame_len);
	FUZZ_CHECK(m->frame_len <= size);
	FUZZ_CHECK(m->tagged || !m->src.vlan);
	dp_pkt_src_get(d, m->l2_len, m->l3_len, &src);
	FUZZ_CHECK(dp_addr_equal(&src, &m->src));
	FUZZ_CHECK(!(m->src.mac[0] & 1) && m->src.port != 0 && memcmp(m->src.ip, me->ip, 16));

	/* The gateway's answer to the sender, as the sender classifies it. */
	hdr = dp_pkt_hdr_len(me, &m->src);
	if (m->payload_len > FRAME_CAP - hdr)
		return;
	for (int mode = DP_PKT_CSUM_FULL; mode <= DP_PKT_CSUM_UDP_ZERO; mode++) {
		size_t n;

		memcpy(f + hdr, d + m->payload_off, m->payload_len);
		n = dp_pkt_udp_build_mode(f, me, &m->src, 1, m->payload_len,
		                          (enum dp_pkt_csum)mode);
		FUZZ_CHECK(n == hdr + m->payload_len);
		FUZZ_CHECK(dp_pkt_classify(f, n, &m->src, &back) == DP_PKT_UDP);
		FUZZ_CHECK(back.payload_off == hdr && back.payload_len == m->payload_len);
		FUZZ_CHECK(back.src.vlan == m->src.vlan && back.tagged == (m->src.vlan != 0));
		back.src.vlan = 0;
		FUZZ_CHECK(dp_addr_equal(&back.src, me));
		FUZZ_CHECK(!memcmp(f + back.payload_off, d + m->payload_off, m->payload_len));
	}
}

static void check_arp(const uint8_t *d, size_t size, const struct dp_pkt_meta *m)
{
	uint8_t f[FRAME_CAP];
	struct dp_pkt_meta back;
	const size_t l2 = m->l2_len, len = l2 + 28;

	FUZZ_CHECK(m->frame_len == len && size >= len);
	/* For one of our addresses: the devices' or the node's. */
	FUZZ_CHECK(!memcmp(d + l2 + 24, gw.ip + 12, 4) ||
	           !memcmp(d + l2 + 24, self.node.ip + 12, 4));
	memcpy(f, d, len);
	FUZZ_CHECK(dp_pkt_arp_reply(f, &gw) == len);
	FUZZ_CHECK(!memcmp(f, m->src.mac, 6) && !memcmp(f + 6, gw.mac, 6));
	FUZZ_CHECK(!memcmp(f + l2 + 8, gw.mac, 6) && !memcmp(f + l2 + 14, d + l2 + 24, 4));
	/* A reply is never taken for a request. */
	FUZZ_CHECK(dp_pkt_classify_rx(f, len, &self, 0, &back) == DP_PKT_DROP);
}

static void check_ns(const uint8_t *d, size_t size, const struct dp_pkt_meta *m)
{
	uint8_t f[FRAME_CAP + 128];
	struct dp_pkt_meta back;
	const size_t l2 = m->l2_len;
	size_t n;

	FUZZ_CHECK(m->frame_len <= size && m->frame_len >= l2 + DP_PKT_IP6_LEN + 24);
	FUZZ_CHECK(m->src.family == DP_AF_IPV6 && !(m->src.mac[0] & 1));
	memset(f, 0, sizeof(f));
	memcpy(f, d, m->frame_len);
	n = dp_pkt_na_reply(f, &gw6);
	FUZZ_CHECK(n == l2 + DP_PKT_NA_LEN - DP_PKT_ETH_LEN);
	FUZZ_CHECK(!memcmp(f, m->src.mac, 6) && !memcmp(f + 6, gw.mac, 6));
	FUZZ_CHECK(!memcmp(f + l2 + 8, gw6.ip, 16) && !memcmp(f + l2 + 24, m->src.ip, 16));
	FUZZ_CHECK(f[l2 + 40] == 136 && !memcmp(f + l2 + 48, gw6.ip, 16));
	/* An advertisement is never taken for a solicitation. */
	FUZZ_CHECK(dp_pkt_classify_rx(f, n, &self, 0, &back) == DP_PKT_DROP);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_pkt_meta m, mo;
	enum dp_pkt_class c = dp_pkt_classify_rx(data, size, &self, 0, &m);
	enum dp_pkt_class co = dp_pkt_classify_rx(
	    data, size, &self, DP_PKT_RX_IP_CSUM_OK | DP_PKT_RX_UDP_CSUM_OK, &mo);

	switch (c) {
	case DP_PKT_DROP:
		FUZZ_CHECK(m.drop < DP_C__COUNT && m.drop != DP_C_RX);
		if (co != DP_PKT_DROP)
			FUZZ_CHECK(m.drop == DP_C_DROP_IP_CSUM || m.drop == DP_C_DROP_UDP_CSUM);
		break;
	case DP_PKT_UDP:
		check_udp(data, size, &m);
		FUZZ_CHECK(co == DP_PKT_UDP && !memcmp(&m, &mo, sizeof(m)));
		break;
	case DP_PKT_ARP:
		check_arp(data, size, &m);
		FUZZ_CHECK(co == DP_PKT_ARP && !memcmp(&m, &mo, sizeof(m)));
		break;
	case DP_PKT_NS:
		check_ns(data, size, &m);
		FUZZ_CHECK(co == DP_PKT_NS && !memcmp(&m, &mo, sizeof(m)));
		break;
	case DP_PKT_PEER: /* to the node address: the datagram's lengths as for UDP */
		FUZZ_CHECK(m.src.family == DP_AF_IPV4 && m.l2_len >= DP_PKT_ETH_LEN);
		FUZZ_CHECK(m.payload_off == m.l2_len + m.l3_len + DP_PKT_UDP_LEN);
		FUZZ_CHECK((size_t)m.payload_off + m.payload_len == m.frame_len &&
		           m.frame_len <= size);
		FUZZ_CHECK(co == DP_PKT_PEER && !memcmp(&m, &mo, sizeof(m)));
		break;
	case DP_PKT_ARP_REPLY: /* to the node address: a next hop's MAC */
		FUZZ_CHECK(m.frame_len == m.l2_len + 28 && m.frame_len <= size);
		FUZZ_CHECK(!(m.src.mac[0] & 1) && m.src.family == DP_AF_IPV4);
		FUZZ_CHECK(co == DP_PKT_ARP_REPLY && !memcmp(&m, &mo, sizeof(m)));
		break;
	default:
		FUZZ_CHECK(0);
	}
	return 0;
}
