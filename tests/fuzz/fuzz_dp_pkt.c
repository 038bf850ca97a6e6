/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_dp_pkt.c - libFuzzer harness for the data plane's Ethernet/ARP/IPv4/UDP
 * parser (dataplane/dp_pkt.c): dp_pkt_classify on the input as one received
 * frame, addressed to a fixed gateway address.
 *
 * Properties:
 *  - an accepted frame's lengths lie within the buffer: payload inside the
 *    packet, packet inside the frame, the sender's address as dp_pkt_src_get
 *    reads it; a drop names a drop counter;
 *  - what the port's checksum offload vouches for (rx_ok) only widens what is
 *    accepted, and changes nothing else about an accepted frame;
 *  - build -> classify round trip: the answer dp_pkt_udp_build makes to an
 *    accepted datagram's sender (each checksum mode) is accepted by that
 *    sender with the same payload; an accepted ARP request's reply is a
 *    well-formed ARP reply from the gateway.
 */
#include <arpa/inet.h>

#include "dp_pkt.h"
#include "fuzz_common.h"

#define FRAME_CAP 2048

static struct dp_addr gw;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

	(void)argc;
	(void)argv;
	memcpy(gw.mac, mac, 6);
	gw.ip = htonl(0x0a4d0001); /* 10.77.0.1 */
	gw.port = htons(4500);
	if (fuzz_seed_dir()) {
		static const uint8_t dev_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
		struct dp_addr dev = {.ip = htonl(0x0a4d0002), .port = htons(40000)};
		uint8_t f[FRAME_CAP];
		size_t n;

		memcpy(dev.mac, dev_mac, 6);
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
		memcpy(f + 28, &dev.ip, 4);
		memset(f + 32, 0, 6);
		memcpy(f + 38, &gw.ip, 4);
		fuzz_seed_write("arp-request", f, DP_PKT_ARP_LEN);
		exit(0);
	}
	return 0;
}

static void check_udp(const uint8_t *d, size_t size, const struct dp_pkt_meta *m)
{
	static uint8_t f[FRAME_CAP + 64];
	struct dp_pkt_meta back;
	struct dp_addr src;

	FUZZ_CHECK(m->l3_len >= DP_PKT_IP_LEN && m->l3_len <= 60 && m->l3_len % 4 == 0);
	FUZZ_CHECK(m->payload_off == DP_PKT_ETH_LEN + m->l3_len + DP_PKT_UDP_LEN);
	FUZZ_CHECK((size_t)m->payload_off + m->payload_len == m->frame_len);
	FUZZ_CHECK(m->frame_len <= size);
	dp_pkt_src_get(d, m->l3_len, &src);
	FUZZ_CHECK(dp_addr_equal(&src, &m->src));
	FUZZ_CHECK(!(m->src.mac[0] & 1) && m->src.port != 0 && m->src.ip != gw.ip);

	/* The gateway's answer to the sender, as the sender classifies it. */
	if (m->payload_len > FRAME_CAP - DP_PKT_HDR_LEN)
		return;
	for (int mode = DP_PKT_CSUM_FULL; mode <= DP_PKT_CSUM_UDP_ZERO; mode++) {
		size_t n;

		memcpy(f + DP_PKT_HDR_LEN, d + m->payload_off, m->payload_len);
		n = dp_pkt_udp_build_mode(f, &gw, &m->src, 1, m->payload_len,
		                          (enum dp_pkt_csum)mode);
		FUZZ_CHECK(n == (size_t)DP_PKT_HDR_LEN + m->payload_len);
		FUZZ_CHECK(dp_pkt_classify(f, n, &m->src, &back) == DP_PKT_UDP);
		FUZZ_CHECK(back.payload_off == DP_PKT_HDR_LEN &&
		           back.payload_len == m->payload_len);
		FUZZ_CHECK(dp_addr_equal(&back.src, &gw));
		FUZZ_CHECK(!memcmp(f + back.payload_off, d + m->payload_off, m->payload_len));
	}
}

static void check_arp(const uint8_t *d, size_t size, const struct dp_pkt_meta *m)
{
	uint8_t f[FRAME_CAP];
	struct dp_pkt_meta back;

	FUZZ_CHECK(m->frame_len == DP_PKT_ARP_LEN && size >= DP_PKT_ARP_LEN);
	memcpy(f, d, DP_PKT_ARP_LEN);
	FUZZ_CHECK(dp_pkt_arp_reply(f, &gw) == DP_PKT_ARP_LEN);
	FUZZ_CHECK(!memcmp(f, m->src.mac, 6) && !memcmp(f + 6, gw.mac, 6));
	FUZZ_CHECK(!memcmp(f + 22, gw.mac, 6) && !memcmp(f + 28, &gw.ip, 4));
	/* A reply is never taken for a request. */
	FUZZ_CHECK(dp_pkt_classify(f, DP_PKT_ARP_LEN, &gw, &back) == DP_PKT_DROP);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_pkt_meta m, mo;
	enum dp_pkt_class c = dp_pkt_classify(data, size, &gw, &m);
	enum dp_pkt_class co =
	    dp_pkt_classify_rx(data, size, &gw, DP_PKT_RX_IP_CSUM_OK | DP_PKT_RX_UDP_CSUM_OK, &mo);

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
	default:
		FUZZ_CHECK(0);
	}
	return 0;
}
