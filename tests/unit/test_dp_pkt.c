/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_dp_pkt.c - Criterion tests for the data plane's packet parser and
 * builder (dataplane/dp_pkt.c). No EAL: dp_pkt is pure byte work.
 *
 * Known-answer checksums (the RFC 1071 worked header), a reference checksum
 * written independently here (byte-wise, big-endian), the ARP reply and the
 * IPv6 Neighbor Advertisement byte by byte, IPv6/UDP with its mandatory
 * checksum and extension headers, 802.1Q tags kept from request to answer,
 * every reject with its exact counter, truncation at every length and a
 * deterministic mutation loop. The parser is always fed an exact-size heap copy
 * so the sanitizer build catches any read past the end.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp_idle.h"
#include "dp_pkt.h"
#include "dp_ratelimit.h"

static struct dp_addr gw, dev, gw6, dev6;
static struct dp_pkt_self self; /* the gateway with both families */

/* fd00::1 (the gateway), fd00::2 (the device), ff02::1:ff00:1 (the
 * gateway's solicited-node group). */
static const uint8_t GW6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t DEV6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
static const uint8_t GW6_SNM[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 1};

static void init(void)
{
	memset(&gw, 0, sizeof(gw));
	memset(&dev, 0, sizeof(dev));
	memcpy(gw.mac, (const uint8_t[]){0x02, 0x00, 0x00, 0x00, 0x00, 0x01}, 6);
	dp_addr_set_ipv4(&gw, htonl(0x0a000001)); /* 10.0.0.1 */
	gw.port = htons(7000);
	memcpy(dev.mac, (const uint8_t[]){0x02, 0x00, 0x00, 0x00, 0x00, 0x02}, 6);
	dp_addr_set_ipv4(&dev, htonl(0x0a000002));
	dev.port = htons(40000);
	gw6 = gw;
	dp_addr_set_ipv6(&gw6, GW6);
	dev6 = dev;
	dp_addr_set_ipv6(&dev6, DEV6);
	self.v4 = gw;
	self.v6 = gw6;
}

TestSuite(dp_pkt, .init = init);

/* ---- helpers ------------------------------------------------------------------ */

/* Reference Internet checksum: big-endian 16-bit words, carries folded. */
static uint16_t ref_csum(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Recompute the IPv4 header checksum after a test edited the header. */
static void fix_ip_csum(uint8_t *f)
{
	size_t ihl = (size_t)(f[14] & 0x0f) * 4;

	put16(f + 24, 0);
	put16(f + 24, ref_csum(f + 14, ihl, 0));
}

/* Recompute the UDP checksum (IPv4 header without options assumed unless ihl). */
static void fix_udp_csum(uint8_t *f)
{
	size_t ihl = (size_t)(f[14] & 0x0f) * 4;
	uint8_t *ip = f + 14, *udp = ip + ihl;
	uint16_t ulen = be16(udp + 4), c;
	uint32_t ph = 0;

	for (int i = 12; i < 20; i += 2)
		ph += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	ph += 17 + ulen;
	put16(udp + 6, 0);
	c = ref_csum(udp, ulen, ph);
	put16(udp + 6, c ? c : 0xffff);
}

/* A valid frame from dev to gw carrying n payload bytes 0x00, 0x01, ... */
static size_t make_udp(uint8_t *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		f[DP_PKT_HDR_LEN + i] = (uint8_t)i;
	return dp_pkt_udp_build(f, &dev, &gw, 0x1234, n);
}

static size_t make_arp(uint8_t *f, const uint8_t dst_mac[6], uint16_t op, uint32_t tpa)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	memset(f, 0, 60);
	memcpy(f, dst_mac ? dst_mac : bcast, 6);
	memcpy(f + 6, dev.mac, 6);
	put16(f + 12, 0x0806);
	put16(f + 14, 1);
	put16(f + 16, 0x0800);
	f[18] = 6;
	f[19] = 4;
	put16(f + 20, op);
	memcpy(f + 22, dev.mac, 6);
	memcpy(f + 28, dev.ip + 12, 4);
	memcpy(f + 38, &tpa, 4);
	return 60; /* padded to the Ethernet minimum, as on the wire */
}

/* Classify an exact-size heap copy. */
static enum dp_pkt_class classify(const uint8_t *f, size_t len, struct dp_pkt_meta *meta)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum dp_pkt_class c;

	cr_assert_not_null(copy);
	memcpy(copy, f, len);
	c = dp_pkt_classify_rx(copy, len, &self, 0, meta);
	free(copy);
	return c;
}

static void expect_drop(const uint8_t *f, size_t len, enum dp_counter why)
{
	struct dp_pkt_meta meta;
	enum dp_pkt_class c = classify(f, len, &meta);

	cr_assert_eq(c, DP_PKT_DROP, "len %zu: class %d, want a drop (%s)", len, c,
	             dp_counter_name(why));
	cr_assert_eq(meta.drop, why, "len %zu: dropped as %s, want %s", len,
	             dp_counter_name(meta.drop), dp_counter_name(why));
}

/* ---- building ---------------------------------------------------------------- */

/* RFC 1071's companion example (the classic worked IPv4 header):
 * 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7. */
Test(dp_pkt, ipv4_header_known_answer)
{
	static const uint8_t want[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40,
	                                 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
	                                 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	struct dp_addr a = dev, b = gw;
	uint8_t f[256] = {0};
	size_t len;

	dp_addr_set_ipv4(&a, htonl(0xc0a80001));
	dp_addr_set_ipv4(&b, htonl(0xc0a800c7));
	len = dp_pkt_udp_build(f, &a, &b, 0, 0x73 - 28);
	cr_assert_eq(len, 14 + 0x73);
	cr_assert_arr_eq(f + 14, want, sizeof(want));
}

Test(dp_pkt, build_fields_and_checksums)
{
	uint8_t f[1600];

	for (size_t n = 0; n <= SGA_FRAME_MAX; n += (n < 70 ? 1 : 97)) {
		size_t len = make_udp(f, n);

		cr_assert_eq(len, DP_PKT_HDR_LEN + n);
		cr_assert_arr_eq(f, gw.mac, 6);
		cr_assert_arr_eq(f + 6, dev.mac, 6);
		cr_assert_eq(be16(f + 12), 0x0800);
		cr_assert_eq(f[14], 0x45);
		cr_assert_eq(be16(f + 16), 28 + n);
		cr_assert_eq(be16(f + 18), 0x1234);
		cr_assert_eq(be16(f + 20), 0x4000, "DF, no fragment");
		cr_assert_eq(f[22], 64);
		cr_assert_eq(f[23], 17);
		cr_assert_eq(ref_csum(f + 14, 20, 0), 0, "IPv4 header checksum");
		cr_assert_eq(be16(f + 38), 8 + n);
		cr_assert_neq(be16(f + 40), 0, "UDP checksum always computed");
		uint16_t sent = be16(f + 40);
		fix_udp_csum(f);
		cr_assert_eq(be16(f + 40), sent, "n=%zu: UDP checksum differs from the reference",
		             n);
	}
}

Test(dp_pkt, built_frames_parse_back)
{
	uint8_t f[1600];
	struct dp_pkt_meta meta;

	for (size_t n = 0; n <= SGA_FRAME_MAX; n += 13) {
		size_t len = make_udp(f, n);

		cr_assert_eq(classify(f, len, &meta), DP_PKT_UDP, "n=%zu dropped as %s", n,
		             dp_counter_name(meta.drop));
		cr_assert_eq(meta.payload_off, DP_PKT_HDR_LEN);
		cr_assert_eq(meta.payload_len, n);
		cr_assert_eq(meta.frame_len, len);
		cr_assert_eq(meta.l3_len, 20);
		cr_assert(dp_addr_equal(&meta.src, &dev));
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(f[meta.payload_off + i], (uint8_t)i);
	}
}

/* A computed UDP checksum of zero goes out as 0xffff (RFC 768) and parses. */
Test(dp_pkt, udp_checksum_zero_sent_as_ffff)
{
	uint8_t f[128];
	struct dp_pkt_meta meta;
	size_t len = make_udp(f, 10);
	uint16_t c = be16(f + 40), w = be16(f + DP_PKT_HDR_LEN + 8);
	uint32_t s;

	/* Adding the current checksum to one payload word (one's complement)
	 * makes the data sum to 0xffff, i.e. the computed checksum 0. */
	s = (uint32_t)w + c;
	s = (s & 0xffff) + (s >> 16);
	put16(f + DP_PKT_HDR_LEN + 8, (uint16_t)s);
	len = dp_pkt_udp_build(f, &dev, &gw, 0x1234, 10);
	cr_assert_eq(be16(f + 40), 0xffff);
	cr_assert_eq(classify(f, len, &meta), DP_PKT_UDP);
}

/* ---- checksum paths ----------------------------------------------------------------- */

/* A small deterministic generator: the same frames on every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

/* The software sum (8 bytes at a time, four lanes) against the byte-wise
 * reference, over random buffers of every length up to 300 at every
 * alignment, and over all-ones data (the most carries). */
Test(dp_pkt, csum_matches_reference_random)
{
	static uint8_t buf[1600 + 8];

	for (int round = 0; round < 4000; round++) {
		size_t n = round < 2400 ? (size_t)(round % 301) : rng() % 1600, a = rng() % 8;
		int ones = round % 7 == 0;

		for (size_t i = 0; i < n; i++)
			buf[a + i] = ones ? 0xff : (uint8_t)rng();
		/* ref_csum complements; dp_pkt_csum does not. The two folded forms
		 * of zero (0x0000, 0xffff) are one value in one's complement. */
		uint16_t got = ntohs(dp_pkt_csum(buf + a, n)),
		         want = (uint16_t)~ref_csum(buf + a, n, 0);

		if (got == 0xffff)
			got = 0;
		if (want == 0xffff)
			want = 0;
		cr_assert_eq(got, want, "n=%zu align=%zu: 0x%04x, reference 0x%04x", n, a, got,
		             want);
	}
}

/* Every build mode over random frames, each checked by a from-scratch
 * computation: FULL both checksums, UDP_ZERO a valid IPv4 checksum and UDP 0,
 * OFFLOAD an IPv4 field of 0 and the pseudo-header sum a NIC completes. */
Test(dp_pkt, build_modes_random_frames)
{
	static uint8_t f[1600], g[1600];
	struct dp_pkt_meta meta;
	size_t len;

	for (int round = 0; round < 500; round++) {
		size_t n = rng() % (SGA_FRAME_MAX + 1);
		struct dp_addr a = dev, b = gw;
		uint16_t id = (uint16_t)rng();

		dp_addr_set_ipv4(&a, rng() | 0x01000000u); /* any; the parse test below uses dev */
		a.port = (uint16_t)(rng() | 1);
		for (size_t i = 0; i < n; i++)
			f[DP_PKT_HDR_LEN + i] = (uint8_t)rng();
		memcpy(g, f, DP_PKT_HDR_LEN + n);

		len = dp_pkt_udp_build_mode(f, &a, &b, id, n, DP_PKT_CSUM_FULL);
		cr_assert_eq(len, DP_PKT_HDR_LEN + n);
		cr_assert_eq(ref_csum(f + 14, 20, 0), 0, "IPv4 checksum");
		uint16_t sent = be16(f + 40);
		fix_udp_csum(f);
		cr_assert_eq(be16(f + 40), sent, "n=%zu: UDP checksum", n);

		len = dp_pkt_udp_build_mode(g, &a, &b, id, n, DP_PKT_CSUM_UDP_ZERO);
		cr_assert_eq(len, DP_PKT_HDR_LEN + n);
		cr_assert_eq(ref_csum(g + 14, 20, 0), 0, "IPv4 checksum (UDP_ZERO)");
		cr_assert_eq(be16(g + 40), 0, "UDP checksum 0 = none");
		cr_assert_arr_eq(g, f, 40, "same headers but the UDP checksum");

		len = dp_pkt_udp_build_mode(g, &a, &b, id, n, DP_PKT_CSUM_OFFLOAD);
		cr_assert_eq(be16(g + 24), 0, "IPv4 checksum left to the port");
		/* What the port does: the one's-complement sum from the UDP header
		 * on, starting from the pseudo-header sum in the field, complemented. */
		uint32_t ph = 0;
		for (int i = 12; i < 20; i += 2)
			ph += (uint32_t)(g[14 + i] << 8 | g[14 + i + 1]);
		ph += 17 + 8 + (uint32_t)n;
		while (ph >> 16)
			ph = (ph & 0xffff) + (ph >> 16);
		cr_assert_eq(be16(g + 40), ph, "pseudo-header sum");
		uint16_t nic = ref_csum(g + 34, 8 + n, 0);
		cr_assert_eq(nic ? nic : 0xffff, sent, "NIC-completed checksum = software one");
		put16(g + 24, ref_csum(g + 14, 20, 0));
		cr_assert_arr_eq(g, f, 40, "IPv4 header as FULL once the port filled it");
	}
	/* A UDP_ZERO frame parses back (checksum 0 is accepted). */
	make_udp(f, 40);
	len = dp_pkt_udp_build_mode(f, &dev, &gw, 1, 40, DP_PKT_CSUM_UDP_ZERO);
	cr_assert_eq(classify(f, len, &meta), DP_PKT_UDP);
}

/* Classify with the port's verdicts: a check the port made (GOOD) is not
 * made again; without a GOOD flag a bad checksum is still caught. */
static enum dp_pkt_class classify_ok(const uint8_t *f, size_t len, unsigned ok,
                                     struct dp_pkt_meta *meta)
{
	uint8_t *copy = malloc(len);
	enum dp_pkt_class c;

	cr_assert_not_null(copy);
	memcpy(copy, f, len);
	c = dp_pkt_classify_rx(copy, len, &self, ok, meta);
	free(copy);
	return c;
}

Test(dp_pkt, rx_offload_flags)
{
	uint8_t f[128];
	struct dp_pkt_meta meta;
	size_t len = make_udp(f, 16);

	cr_assert_eq(classify_ok(f, len, 0, &meta), DP_PKT_UDP);
	cr_assert_eq(classify_ok(f, len, DP_PKT_RX_IP_CSUM_OK | DP_PKT_RX_UDP_CSUM_OK, &meta),
	             DP_PKT_UDP);
	/* A corrupted IPv4 checksum: caught in software unless the port said GOOD
	 * (a port that says GOOD verified the frame as it arrived). */
	f[24] ^= 0x01;
	cr_assert_eq(classify_ok(f, len, 0, &meta), DP_PKT_DROP);
	cr_assert_eq(meta.drop, DP_C_DROP_IP_CSUM);
	cr_assert_eq(classify_ok(f, len, DP_PKT_RX_UDP_CSUM_OK, &meta), DP_PKT_DROP);
	cr_assert_eq(meta.drop, DP_C_DROP_IP_CSUM);
	cr_assert_eq(classify_ok(f, len, DP_PKT_RX_IP_CSUM_OK, &meta), DP_PKT_UDP);
	f[24] ^= 0x01;
	/* A corrupted UDP checksum: the same, for the UDP flag. */
	f[41] ^= 0x01;
	cr_assert_eq(classify_ok(f, len, 0, &meta), DP_PKT_DROP);
	cr_assert_eq(meta.drop, DP_C_DROP_UDP_CSUM);
	cr_assert_eq(classify_ok(f, len, DP_PKT_RX_IP_CSUM_OK, &meta), DP_PKT_DROP);
	cr_assert_eq(meta.drop, DP_C_DROP_UDP_CSUM);
	cr_assert_eq(classify_ok(f, len, DP_PKT_RX_UDP_CSUM_OK, &meta), DP_PKT_UDP);
	/* The flags skip checksums only: every length and address rule stays. */
	put16(f + 38, 7);
	cr_assert_eq(classify_ok(f, len, DP_PKT_RX_IP_CSUM_OK | DP_PKT_RX_UDP_CSUM_OK, &meta),
	             DP_PKT_DROP);
	cr_assert_eq(meta.drop, DP_C_DROP_UDP_HDR);
}

/* ---- accepted variants ---------------------------------------------------------- */

Test(dp_pkt, zero_udp_checksum_accepted)
{
	uint8_t f[128];
	struct dp_pkt_meta meta;
	size_t len = make_udp(f, 33);

	put16(f + 40, 0);
	cr_assert_eq(classify(f, len, &meta), DP_PKT_UDP);
	cr_assert_eq(meta.payload_len, 33);
}

Test(dp_pkt, ethernet_padding_allowed)
{
	uint8_t f[128] = {0};
	struct dp_pkt_meta meta;
	size_t len = make_udp(f, 4);

	cr_assert_eq(len, 46);
	memset(f + len, 0xee, 14);
	cr_assert_eq(classify(f, 60, &meta), DP_PKT_UDP);
	cr_assert_eq(meta.frame_len, 46);
	cr_assert_eq(meta.payload_len, 4);
}

Test(dp_pkt, ipv4_options_skipped)
{
	uint8_t f[128], g[128];
	struct dp_pkt_meta meta;
	size_t len = make_udp(f, 20);

	/* Insert 4 option bytes (NOP x3, EOL) after the base header. */
	memcpy(g, f, 34);
	memcpy(g + 34, (const uint8_t[]){1, 1, 1, 0}, 4);
	memcpy(g + 38, f + 34, len - 34);
	g[14] = 0x46;
	put16(g + 16, (uint16_t)(be16(f + 16) + 4));
	fix_ip_csum(g);
	fix_udp_csum(g);
	cr_assert_eq(classify(g, len + 4, &meta), DP_PKT_UDP, "%s", dp_counter_name(meta.drop));
	cr_assert_eq(meta.l3_len, 24);
	cr_assert_eq(meta.payload_off, 46);
	cr_assert_eq(meta.payload_len, 20);
	cr_assert(dp_addr_equal(&meta.src, &dev));
	cr_assert_eq(g[46], 0);
	cr_assert_eq(g[46 + 19], 19);
}

Test(dp_pkt, any_ttl_accepted)
{
	uint8_t f[128];
	struct dp_pkt_meta meta;
	size_t len = make_udp(f, 8);

	for (int ttl = 0; ttl < 256; ttl += 51) {
		f[22] = (uint8_t)ttl;
		fix_ip_csum(f);
		cr_assert_eq(classify(f, len, &meta), DP_PKT_UDP);
	}
}

/* ---- rejects ---------------------------------------------------------------------- */

Test(dp_pkt, bad_ip_checksum)
{
	uint8_t f[128];
	size_t len = make_udp(f, 16);

	f[24] ^= 0x01;
	expect_drop(f, len, DP_C_DROP_IP_CSUM);
}

Test(dp_pkt, bad_udp_checksum)
{
	uint8_t f[128];
	size_t len = make_udp(f, 16);

	f[DP_PKT_HDR_LEN + 3] ^= 0x40;
	expect_drop(f, len, DP_C_DROP_UDP_CSUM);
	f[DP_PKT_HDR_LEN + 3] ^= 0x40;
	f[41] ^= 0x01;
	expect_drop(f, len, DP_C_DROP_UDP_CSUM);
}

Test(dp_pkt, fragments_dropped)
{
	uint8_t f[128];
	size_t len = make_udp(f, 16);

	put16(f + 20, 0x2000); /* MF, offset 0: first fragment */
	fix_ip_csum(f);
	expect_drop(f, len, DP_C_DROP_IP_FRAG);
	put16(f + 20, 0x0001); /* offset 8, last fragment */
	fix_ip_csum(f);
	expect_drop(f, len, DP_C_DROP_IP_FRAG);
	put16(f + 20, 0x0000); /* DF clear, not a fragment: fine */
	fix_ip_csum(f);
	struct dp_pkt_meta meta;
	cr_assert_eq(classify(f, len, &meta), DP_PKT_UDP);
}

Test(dp_pkt, not_for_us)
{
	uint8_t f[128], g[128];
	size_t len = make_udp(f, 16);

	memcpy(g, f, len);
	g[5] ^= 0x10; /* another unicast MAC */
	expect_drop(g, len, DP_C_DROP_NOT_FOR_US);
	memcpy(g, f, len);
	memset(g, 0xff, 6); /* broadcast IPv4: never for SGA */
	expect_drop(g, len, DP_C_DROP_NOT_FOR_US);
	memcpy(g, f, len);
	g[33] ^= 0x01; /* destination IP */
	fix_ip_csum(g);
	fix_udp_csum(g);
	expect_drop(g, len, DP_C_DROP_NOT_FOR_US);
	memcpy(g, f, len);
	g[37] ^= 0x01; /* destination port */
	fix_udp_csum(g);
	expect_drop(g, len, DP_C_DROP_NOT_FOR_US);
}

Test(dp_pkt, ethertypes)
{
	uint8_t f[128];
	size_t len = make_udp(f, 16);

	put16(f + 12, 0x86dd); /* IPv6 EtherType over an IPv4 packet: version 4 */
	expect_drop(f, len, DP_C_DROP_IP6_HDR);
	put16(f + 12, 0x88cc); /* LLDP */
	expect_drop(f, len, DP_C_DROP_ETHERTYPE);
	put16(f + 12, 0x8100); /* a tag whose inner EtherType is IPv4's total length */
	expect_drop(f, len, DP_C_DROP_ETHERTYPE);
	put16(f + 12, 0x88a8);
	expect_drop(f, len, DP_C_DROP_QINQ);
	put16(f + 12, 0x9100);
	expect_drop(f, len, DP_C_DROP_QINQ);
}

Test(dp_pkt, ip_header_rules)
{
	uint8_t f[128], g[128];
	size_t len = make_udp(f, 16);

	memcpy(g, f, len);
	g[14] = 0x65; /* version 6 */
	fix_ip_csum(g);
	expect_drop(g, len, DP_C_DROP_IP_HDR);
	memcpy(g, f, len);
	g[14] = 0x44; /* IHL 4 */
	expect_drop(g, len, DP_C_DROP_IP_HDR);
	memcpy(g, f, len);
	g[14] = 0x4f; /* IHL 15: 60 bytes, longer than the packet */
	expect_drop(g, len, DP_C_DROP_IP_HDR);
	memcpy(g, f, len);
	put16(g + 16, 19); /* total length below the header */
	fix_ip_csum(g);
	expect_drop(g, len, DP_C_DROP_IP_HDR);
	memcpy(g, f, len);
	put16(g + 16, (uint16_t)(len - 14 + 1)); /* longer than the frame */
	fix_ip_csum(g);
	expect_drop(g, len, DP_C_DROP_IP_HDR);
	memcpy(g, f, len);
	g[23] = 6; /* TCP */
	fix_ip_csum(g);
	expect_drop(g, len, DP_C_DROP_NOT_UDP);
}

Test(dp_pkt, udp_header_rules)
{
	uint8_t f[128], g[128];
	size_t len = make_udp(f, 16);

	memcpy(g, f, len);
	put16(g + 38, (uint16_t)(be16(f + 38) - 1)); /* shorter than IPv4 says */
	expect_drop(g, len, DP_C_DROP_UDP_HDR);
	memcpy(g, f, len);
	put16(g + 38, (uint16_t)(be16(f + 38) + 1));
	expect_drop(g, len, DP_C_DROP_UDP_HDR);
	memcpy(g, f, len);
	put16(g + 38, 7);
	expect_drop(g, len, DP_C_DROP_UDP_HDR);
	/* IPv4 carrying 4 bytes: no room for a UDP header. */
	memcpy(g, f, len);
	put16(g + 16, 24);
	fix_ip_csum(g);
	expect_drop(g, len, DP_C_DROP_UDP_HDR);
}

Test(dp_pkt, unusable_sources)
{
	static const uint32_t bad_ips[] = {0x00000000, 0xffffffff, 0xe0000001, 0xefffffff,
	                                   0xf0000001, 0x7f000001, 0x0a000001 /* gw */};
	uint8_t f[128], g[128];
	size_t len = make_udp(f, 16);

	for (size_t i = 0; i < sizeof(bad_ips) / sizeof(bad_ips[0]); i++) {
		uint32_t ip = htonl(bad_ips[i]);

		memcpy(g, f, len);
		memcpy(g + 26, &ip, 4);
		fix_ip_csum(g);
		fix_udp_csum(g);
		expect_drop(g, len, DP_C_DROP_SRC_ADDR);
	}
	memcpy(g, f, len);
	g[6] |= 0x01; /* multicast source MAC */
	expect_drop(g, len, DP_C_DROP_SRC_ADDR);
	memcpy(g, f, len);
	put16(g + 34, 0); /* source port 0 */
	fix_udp_csum(g);
	expect_drop(g, len, DP_C_DROP_SRC_ADDR);
}

/* Every truncation of a valid frame, with the exact reason for each length. */
Test(dp_pkt, truncated_at_every_length)
{
	uint8_t f[1600];
	size_t full = make_udp(f, 200);

	for (size_t len = 0; len < full; len++) {
		enum dp_counter want = len < 14 ? DP_C_DROP_ETH_HDR : DP_C_DROP_IP_HDR;

		expect_drop(f, len, want);
	}
	full = make_arp(f, NULL, 1, dp_addr_ipv4(&gw));
	for (size_t len = 0; len < DP_PKT_ARP_LEN; len++)
		expect_drop(f, len, len < 14 ? DP_C_DROP_ETH_HDR : DP_C_DROP_ARP);
	for (size_t len = DP_PKT_ARP_LEN; len <= full; len++) {
		struct dp_pkt_meta meta;

		cr_assert_eq(classify(f, len, &meta), DP_PKT_ARP);
	}
}

/* ---- ARP ------------------------------------------------------------------------------- */

Test(dp_pkt, arp_request_answered)
{
	uint8_t f[64], want[42];
	struct dp_pkt_meta meta;
	size_t len = make_arp(f, NULL, 1, dp_addr_ipv4(&gw));

	cr_assert_eq(classify(f, len, &meta), DP_PKT_ARP);
	cr_assert_arr_eq(meta.src.mac, dev.mac, 6);
	cr_assert_arr_eq(meta.src.ip, dev.ip, 16);
	cr_assert_eq(dp_pkt_classify(f, len, &gw, &meta), DP_PKT_ARP);
	cr_assert_eq(dp_pkt_arp_reply(f, &gw), 42);

	/* The reply, byte by byte (RFC 826). */
	memcpy(want, dev.mac, 6);
	memcpy(want + 6, gw.mac, 6);
	memcpy(want + 12, (const uint8_t[]){0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02},
	       10);
	memcpy(want + 22, gw.mac, 6);
	memcpy(want + 28, gw.ip + 12, 4);
	memcpy(want + 32, dev.mac, 6);
	memcpy(want + 38, dev.ip + 12, 4);
	cr_assert_arr_eq(f, want, 42);
}

Test(dp_pkt, arp_unicast_request_answered)
{
	uint8_t f[64];
	struct dp_pkt_meta meta;
	size_t len = make_arp(f, gw.mac, 1, dp_addr_ipv4(&gw));

	cr_assert_eq(classify(f, len, &meta), DP_PKT_ARP);
	f[5] ^= 0x20; /* to someone else */
	expect_drop(f, len, DP_C_DROP_NOT_FOR_US);
}

Test(dp_pkt, arp_rejects)
{
	uint8_t f[64];
	size_t len;

	len = make_arp(f, NULL, 1, htonl(0x0a000063)); /* for another IP */
	expect_drop(f, len, DP_C_DROP_ARP);
	len = make_arp(f, NULL, 2, dp_addr_ipv4(&gw)); /* a reply, not a request */
	expect_drop(f, len, DP_C_DROP_ARP);
	len = make_arp(f, NULL, 1, dp_addr_ipv4(&gw));
	put16(f + 16, 0x86dd); /* protocol type */
	expect_drop(f, len, DP_C_DROP_ARP);
	len = make_arp(f, NULL, 1, dp_addr_ipv4(&gw));
	f[18] = 8; /* hardware address length */
	expect_drop(f, len, DP_C_DROP_ARP);
	len = make_arp(f, NULL, 1, dp_addr_ipv4(&gw));
	f[22] |= 1; /* multicast sender: we would answer a group */
	expect_drop(f, len, DP_C_DROP_ARP);
}

/* ---- the node address of a cluster (dp_peer.h) ------------------------------------------ */

/* self with node address 10.0.0.9:7100 (the gateway's MAC). */
static struct dp_pkt_self with_node(void)
{
	struct dp_pkt_self me = self;

	me.node = gw;
	dp_addr_set_ipv4(&me.node, htonl(0x0a000009));
	me.node.port = htons(7100);
	return me;
}

Test(dp_pkt, node_address_datagrams_are_peer_class)
{
	struct dp_pkt_self me = with_node();
	struct dp_pkt_meta meta;
	uint8_t f[256];
	size_t len;

	for (size_t i = 0; i < 100; i++)
		f[DP_PKT_HDR_LEN + i] = (uint8_t)i;
	len = dp_pkt_udp_build(f, &dev, &me.node, 1, 100);
	cr_assert_eq(dp_pkt_classify_rx(f, len, &me, 0, &meta), DP_PKT_PEER);
	cr_assert_eq(meta.payload_off, DP_PKT_HDR_LEN);
	cr_assert_eq(meta.payload_len, 100);
	cr_assert_arr_eq(meta.src.ip, dev.ip, 16);
	/* Without a node address it is not for us; nor to the node's IP on the
	 * devices' port. */
	cr_assert_eq(dp_pkt_classify_rx(f, len, &self, 0, &meta), DP_PKT_DROP);
	cr_assert_eq(meta.drop, DP_C_DROP_NOT_FOR_US);
	{
		struct dp_addr to = me.node;

		to.port = gw.port;
		len = dp_pkt_udp_build(f, &dev, &to, 1, 100);
		cr_assert_eq(dp_pkt_classify_rx(f, len, &me, 0, &meta), DP_PKT_DROP);
		cr_assert_eq(meta.drop, DP_C_DROP_NOT_FOR_US);
	}
	/* The devices' address still classifies as before. */
	len = dp_pkt_udp_build(f, &dev, &gw, 1, 100);
	cr_assert_eq(dp_pkt_classify_rx(f, len, &me, 0, &meta), DP_PKT_UDP);
}

Test(dp_pkt, arp_for_the_node_address_answered_for_it)
{
	struct dp_pkt_self me = with_node();
	struct dp_pkt_meta meta;
	uint8_t f[64];
	size_t len = make_arp(f, NULL, 1, dp_addr_ipv4(&me.node));

	cr_assert_eq(dp_pkt_classify_rx(f, len, &me, 0, &meta), DP_PKT_ARP);
	cr_assert_eq(dp_pkt_arp_reply(f, &gw), 42);
	cr_assert_arr_eq(f + 28, me.node.ip + 12, 4, "the reply is for the address asked for");
	cr_assert_arr_eq(f + 22, gw.mac, 6);
	/* Without a node address: not ours. */
	len = make_arp(f, NULL, 1, dp_addr_ipv4(&me.node));
	expect_drop(f, len, DP_C_DROP_ARP);
	/* From one of our own addresses: dropped (our answer would be taken
	 * for a reply to our own request; found by fuzz_dp_pkt). */
	for (int k = 0; k < 2; k++) {
		len = make_arp(f, NULL, 1, dp_addr_ipv4(&me.node));
		memcpy(f + 28, k ? me.node.ip + 12 : gw.ip + 12, 4);
		cr_assert_eq(dp_pkt_classify_rx(f, len, &me, 0, &meta), DP_PKT_DROP);
		cr_assert_eq(meta.drop, DP_C_DROP_ARP);
	}
}

Test(dp_pkt, arp_reply_to_the_node_address_is_learned)
{
	struct dp_pkt_self me = with_node();
	struct dp_pkt_meta meta;
	uint8_t f[64];
	size_t len = make_arp(f, gw.mac, 2, dp_addr_ipv4(&me.node));

	cr_assert_eq(dp_pkt_classify_rx(f, len, &me, 0, &meta), DP_PKT_ARP_REPLY);
	cr_assert_arr_eq(meta.src.mac, dev.mac, 6);
	cr_assert_arr_eq(meta.src.ip, dev.ip, 16);
	/* A reply to the devices' address was never asked for. */
	len = make_arp(f, gw.mac, 2, dp_addr_ipv4(&gw));
	cr_assert_eq(dp_pkt_classify_rx(f, len, &me, 0, &meta), DP_PKT_DROP);
	cr_assert_eq(meta.drop, DP_C_DROP_ARP);
	/* Nor is a reply from a multicast sender taken. */
	len = make_arp(f, gw.mac, 2, dp_addr_ipv4(&me.node));
	f[22] |= 1;
	cr_assert_eq(dp_pkt_classify_rx(f, len, &me, 0, &meta), DP_PKT_DROP);
}

/* The request the data plane sends for its next hop: what a receiver with
 * that address takes as a request for itself, from the node address. */
Test(dp_pkt, arp_request_built)
{
	struct dp_pkt_self me = with_node(), hop;
	struct dp_pkt_meta meta;
	uint8_t f[64];

	cr_assert_eq(dp_pkt_arp_request(f, &me.node, dp_addr_ipv4(&dev)), DP_PKT_ARP_MIN);
	memset(&hop, 0, sizeof(hop));
	hop.v4 = dev;
	cr_assert_eq(dp_pkt_classify_rx(f, DP_PKT_ARP_MIN, &hop, 0, &meta), DP_PKT_ARP);
	cr_assert_arr_eq(meta.src.mac, gw.mac, 6);
	cr_assert_arr_eq(meta.src.ip, me.node.ip, 16);
	for (size_t i = 42; i < DP_PKT_ARP_MIN; i++)
		cr_assert_eq(f[i], 0, "padding zeroed");
}

/* ---- IPv6 ---------------------------------------------------------------------------- */

/* The IPv6 pseudo-header sum (RFC 8200 8.1), big-endian words, not folded. */
static uint32_t ref_pseudo6(const uint8_t *ip6, uint32_t ulen, uint8_t nh)
{
	uint32_t sum = 0;

	for (int i = 8; i < 40; i += 2)
		sum += (uint32_t)(ip6[i] << 8 | ip6[i + 1]);
	return sum + (ulen >> 16) + (ulen & 0xffff) + nh;
}

/* Recompute the UDP checksum of the IPv6 frame f (l2 bytes of Ethernet, l3
 * of IPv6 header chain). */
static void fix_udp6_csum(uint8_t *f, size_t l2, size_t l3)
{
	uint8_t *ip6 = f + l2, *udp = ip6 + l3;
	uint16_t ulen = be16(udp + 4), c;

	put16(udp + 6, 0);
	c = ref_csum(udp, ulen, ref_pseudo6(ip6, ulen, 17));
	put16(udp + 6, c ? c : 0xffff);
}

/* Recompute the ICMPv6 checksum of a Neighbor Discovery message right after
 * the IPv6 header. */
static void fix_icmp6_csum(uint8_t *f, size_t l2)
{
	uint8_t *ip6 = f + l2, *nd = ip6 + 40;
	uint16_t plen = be16(ip6 + 4);

	put16(nd + 2, 0);
	put16(nd + 2, ref_csum(nd, plen, ref_pseudo6(ip6, plen, 58)));
}

/* A valid IPv6 frame from dev6 to gw6 carrying n payload bytes 0, 1, ... */
static size_t make_udp6(uint8_t *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		f[62 + i] = (uint8_t)i;
	return dp_pkt_udp_build(f, &dev6, &gw6, 0, n);
}

/* A Neighbor Solicitation from dev6 to dst_ip for target, with a source
 * link-layer address option if slla. */
static size_t make_ns(uint8_t *f, const uint8_t dst_ip[16], const uint8_t target[16], int slla)
{
	uint8_t *ip6 = f + 14, *nd = ip6 + 40;
	uint16_t plen = (uint16_t)(24 + (slla ? 8 : 0));

	memset(f, 0, 14 + 40 + plen);
	if (dst_ip[0] == 0xff) {
		f[0] = f[1] = 0x33;
		memcpy(f + 2, dst_ip + 12, 4);
	} else {
		memcpy(f, gw.mac, 6);
	}
	memcpy(f + 6, dev.mac, 6);
	put16(f + 12, 0x86dd);
	ip6[0] = 0x60;
	put16(ip6 + 4, plen);
	ip6[6] = 58;
	ip6[7] = 255;
	memcpy(ip6 + 8, DEV6, 16);
	memcpy(ip6 + 24, dst_ip, 16);
	nd[0] = 135;
	memcpy(nd + 8, target, 16);
	if (slla) {
		nd[24] = 1;
		nd[25] = 1;
		memcpy(nd + 26, dev.mac, 6);
	}
	fix_icmp6_csum(f, 14);
	return 14 + 40 + plen;
}

/* g = f with an 802.1Q-style tag (tpid, tci) inserted after the MACs. */
static size_t add_tag(uint8_t *g, const uint8_t *f, size_t len, uint16_t tpid, uint16_t tci)
{
	memcpy(g, f, 12);
	put16(g + 12, tpid);
	put16(g + 14, tci);
	memcpy(g + 16, f + 12, len - 12);
	return len + 4;
}

/* g = the IPv6 frame f with an 8-byte extension header of type `type`
 * (bytes 2 and 3 given, next header UDP) after the fixed header. */
static size_t add_ext6(uint8_t *g, const uint8_t *f, size_t len, uint8_t type, uint8_t b2,
                       uint8_t b3)
{
	memcpy(g, f, 54);
	g[14 + 6] = type;
	memcpy(g + 54, (const uint8_t[]){17, 0, b2, b3, 0, 0, 0, 0}, 8);
	memcpy(g + 62, f + 54, len - 54);
	put16(g + 18, (uint16_t)(be16(f + 18) + 8));
	fix_udp6_csum(g, 14, 48);
	return len + 8;
}

Test(dp_pkt, ipv6_build_fields_and_checksum)
{
	uint8_t f[1600];

	for (size_t n = 0; n <= SGA_FRAME_MAX; n += (n < 70 ? 1 : 97)) {
		size_t len = make_udp6(f, n);

		cr_assert_eq(len, 62 + n);
		cr_assert_eq(dp_pkt_hdr_len(&dev6, &gw6), 62);
		cr_assert_arr_eq(f, gw.mac, 6);
		cr_assert_arr_eq(f + 6, dev.mac, 6);
		cr_assert_eq(be16(f + 12), 0x86dd);
		cr_assert_eq(f[14], 0x60, "version 6, traffic class 0");
		cr_assert_eq(f[15] | f[16] | f[17], 0, "flow label 0");
		cr_assert_eq(be16(f + 18), 8 + n, "payload length");
		cr_assert_eq(f[20], 17);
		cr_assert_eq(f[21], 64);
		cr_assert_arr_eq(f + 22, DEV6, 16);
		cr_assert_arr_eq(f + 38, GW6, 16);
		cr_assert_eq(be16(f + 54), 40000);
		cr_assert_eq(be16(f + 56), 7000);
		cr_assert_eq(be16(f + 58), 8 + n);
		uint16_t sent = be16(f + 60);
		cr_assert_neq(sent, 0, "mandatory over IPv6");
		fix_udp6_csum(f, 14, 40);
		cr_assert_eq(be16(f + 60), sent, "n=%zu: UDP checksum differs from the reference",
		             n);
	}
}

Test(dp_pkt, ipv6_built_frames_parse_back)
{
	uint8_t f[1600];
	struct dp_pkt_meta meta;

	for (size_t n = 0; n <= SGA_FRAME_MAX; n += 13) {
		size_t len = make_udp6(f, n);

		cr_assert_eq(classify(f, len, &meta), DP_PKT_UDP, "n=%zu dropped as %s", n,
		             dp_counter_name(meta.drop));
		cr_assert_eq(meta.l2_len, 14);
		cr_assert_eq(meta.l3_len, 40);
		cr_assert_eq(meta.payload_off, 62);
		cr_assert_eq(meta.payload_len, n);
		cr_assert_eq(meta.frame_len, len);
		cr_assert(dp_addr_equal(&meta.src, &dev6));
		cr_assert_eq(meta.src.family, DP_AF_IPV6);
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(f[meta.payload_off + i], (uint8_t)i);
	}
	/* Ethernet padding after a short datagram. */
	make_udp6(f, 0);
	memset(f + 62, 0xee, 10);
	cr_assert_eq(classify(f, 72, &meta), DP_PKT_UDP);
	cr_assert_eq(meta.frame_len, 62);
}

/* UDP_ZERO is IPv4 only: over IPv6 the checksum is computed all the same;
 * OFFLOAD leaves the pseudo-header sum for the port. */
Test(dp_pkt, ipv6_build_modes)
{
	uint8_t f[256], g[256];
	struct dp_pkt_meta meta;
	size_t len;

	make_udp6(f, 100);
	memcpy(g, f, sizeof(g));
	len = dp_pkt_udp_build_mode(g, &dev6, &gw6, 0, 100, DP_PKT_CSUM_UDP_ZERO);
	cr_assert_eq(len, 162);
	cr_assert_arr_eq(g, f, len, "UDP_ZERO over IPv6 = FULL");
	cr_assert_eq(classify(g, len, &meta), DP_PKT_UDP);
	len = dp_pkt_udp_build_mode(g, &dev6, &gw6, 0, 100, DP_PKT_CSUM_OFFLOAD);
	uint32_t ph = ref_pseudo6(g + 14, 108, 17);
	while (ph >> 16)
		ph = (ph & 0xffff) + (ph >> 16);
	cr_assert_eq(be16(g + 60), ph, "pseudo-header sum for the port");
	uint16_t nic = ref_csum(g + 54, 108, 0);
	cr_assert_eq(nic ? nic : 0xffff, be16(f + 60), "NIC-completed checksum = software one");
}

Test(dp_pkt, ipv6_udp_checksum_verified)
{
	uint8_t f[256];
	struct dp_pkt_meta meta;
	size_t len = make_udp6(f, 32);

	f[62 + 5] ^= 0x10; /* payload */
	expect_drop(f, len, DP_C_DROP_UDP_CSUM);
	cr_assert_eq(classify_ok(f, len, DP_PKT_RX_UDP_CSUM_OK, &meta), DP_PKT_UDP,
	             "the port verified it");
	f[62 + 5] ^= 0x10;
	f[30] ^= 0x01; /* source address: covered by the pseudo-header */
	expect_drop(f, len, DP_C_DROP_UDP_CSUM);
	f[30] ^= 0x01;
	put16(f + 60, 0); /* zero: no checksum, invalid over IPv6 */
	expect_drop(f, len, DP_C_DROP_UDP6_CSUM_ZERO);
	cr_assert_eq(classify_ok(f, len, DP_PKT_RX_UDP_CSUM_OK, &meta), DP_PKT_DROP);
	cr_assert_eq(meta.drop, DP_C_DROP_UDP6_CSUM_ZERO, "refused whatever the port said");
}

Test(dp_pkt, ipv6_header_rules)
{
	uint8_t f[256], g[256];
	size_t len = make_udp6(f, 16);

	memcpy(g, f, len);
	g[14] = 0x40; /* version 4 under the IPv6 EtherType */
	expect_drop(g, len, DP_C_DROP_IP6_HDR);
	memcpy(g, f, len);
	put16(g + 18, (uint16_t)(len - 54 + 1)); /* longer than the frame */
	expect_drop(g, len, DP_C_DROP_IP6_HDR);
	memcpy(g, f, len);
	put16(g + 18, 7); /* payload shorter than a UDP header */
	expect_drop(g, len, DP_C_DROP_UDP_HDR);
	memcpy(g, f, len);
	put16(g + 58, (uint16_t)(be16(f + 58) - 1)); /* UDP length != payload length */
	expect_drop(g, len, DP_C_DROP_UDP_HDR);
	memcpy(g, f, len);
	g[20] = 6; /* TCP */
	expect_drop(g, len, DP_C_DROP_NOT_UDP);
	memcpy(g, f, len);
	g[20] = 50; /* ESP: not skipped */
	expect_drop(g, len, DP_C_DROP_NOT_UDP);
	memcpy(g, f, len);
	g[53] ^= 0x01; /* destination address */
	fix_udp6_csum(g, 14, 40);
	expect_drop(g, len, DP_C_DROP_NOT_FOR_US);
	memcpy(g, f, len);
	g[5] ^= 0x10; /* destination MAC */
	expect_drop(g, len, DP_C_DROP_NOT_FOR_US);
	memcpy(g, f, len);
	memcpy(g, (const uint8_t[]){0x33, 0x33, 0, 0, 0, 1}, 6); /* multicast MAC, UDP */
	expect_drop(g, len, DP_C_DROP_NOT_FOR_US);
	memcpy(g, f, len);
	put16(g + 56, 7001); /* destination port */
	fix_udp6_csum(g, 14, 40);
	expect_drop(g, len, DP_C_DROP_NOT_FOR_US);
	/* A gateway without an IPv6 address: not for it. */
	struct dp_pkt_meta meta;
	cr_assert_eq(dp_pkt_classify(f, len, &gw, &meta), DP_PKT_DROP);
	cr_assert_eq(meta.drop, DP_C_DROP_NOT_FOR_US);
}

Test(dp_pkt, ipv6_unusable_sources)
{
	static const uint8_t bad[][16] = {
	    {0},                                                     /* :: */
	    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},        /* ::1 */
	    {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},     /* ff02::1 */
	    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2}, /* ::ffff:10.0.0.2 */
	    {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},     /* ours */
	};
	uint8_t f[256], g[256];
	size_t len = make_udp6(f, 16);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(g, f, len);
		memcpy(g + 22, bad[i], 16);
		fix_udp6_csum(g, 14, 40);
		expect_drop(g, len, DP_C_DROP_SRC_ADDR);
	}
	memcpy(g, f, len);
	put16(g + 54, 0); /* source port 0 */
	fix_udp6_csum(g, 14, 40);
	expect_drop(g, len, DP_C_DROP_SRC_ADDR);
	/* A link-local source is answerable on the link. */
	memcpy(g, f, len);
	memcpy(g + 22, (const uint8_t[]){0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}, 16);
	fix_udp6_csum(g, 14, 40);
	struct dp_pkt_meta meta;
	cr_assert_eq(classify(g, len, &meta), DP_PKT_UDP);
}

Test(dp_pkt, ipv6_extension_headers)
{
	uint8_t f[256], g[256], h[256];
	struct dp_pkt_meta meta;
	size_t len = make_udp6(f, 24), n;

	/* Hop-by-Hop, Destination Options, Routing with no segments left:
	 * skipped. */
	n = add_ext6(g, f, len, 0, 0, 0);
	cr_assert_eq(classify(g, n, &meta), DP_PKT_UDP, "%s", dp_counter_name(meta.drop));
	cr_assert_eq(meta.l3_len, 48);
	cr_assert_eq(meta.payload_off, 70);
	cr_assert_eq(meta.payload_len, 24);
	cr_assert(dp_addr_equal(&meta.src, &dev6));
	n = add_ext6(g, f, len, 60, 0, 0);
	cr_assert_eq(classify(g, n, &meta), DP_PKT_UDP);
	n = add_ext6(g, f, len, 43, 4, 0);
	cr_assert_eq(classify(g, n, &meta), DP_PKT_UDP);
	/* Two in a row: Hop-by-Hop, then Destination Options. */
	n = add_ext6(g, f, len, 60, 0, 0);
	memcpy(h, g, 54);
	h[20] = 0;
	memcpy(h + 54, (const uint8_t[]){60, 0, 0, 0, 0, 0, 0, 0}, 8);
	memcpy(h + 62, g + 54, n - 54);
	put16(h + 18, (uint16_t)(be16(g + 18) + 8));
	fix_udp6_csum(h, 14, 56);
	cr_assert_eq(classify(h, n + 8, &meta), DP_PKT_UDP, "%s", dp_counter_name(meta.drop));
	cr_assert_eq(meta.l3_len, 56);
	/* Routing with segments left: we are not the final destination. */
	n = add_ext6(g, f, len, 43, 4, 1);
	expect_drop(g, n, DP_C_DROP_IP6_EXT);
	/* A header longer than the payload. */
	n = add_ext6(g, f, len, 0, 0, 0);
	g[55] = 200;
	expect_drop(g, n, DP_C_DROP_IP6_EXT);
	/* Fragments, first or later, and the atomic one: dropped. */
	n = add_ext6(g, f, len, 44, 0x00, 0x01); /* offset 0, M */
	expect_drop(g, n, DP_C_DROP_IP6_FRAG);
	n = add_ext6(g, f, len, 44, 0x00, 0x08); /* offset 1 */
	expect_drop(g, n, DP_C_DROP_IP6_FRAG);
	n = add_ext6(g, f, len, 44, 0, 0);
	expect_drop(g, n, DP_C_DROP_IP6_FRAG);
	/* Every truncation of the chain names the IPv6 header. */
	n = add_ext6(g, f, len, 0, 0, 0);
	for (size_t l = 14; l < 62; l++)
		expect_drop(g, l, DP_C_DROP_IP6_HDR);
}

Test(dp_pkt, ipv6_truncated_at_every_length)
{
	uint8_t f[1600];
	size_t full = make_udp6(f, 200);

	for (size_t len = 0; len < full; len++)
		expect_drop(f, len, len < 14 ? DP_C_DROP_ETH_HDR : DP_C_DROP_IP6_HDR);
}

/* ---- NDP --------------------------------------------------------------------------------- */

/* The Neighbor Advertisement, byte by byte (RFC 4861 4.4), from a
 * solicitation to the solicited-node group and to the address itself. */
Test(dp_pkt, ns_answered_with_na)
{
	for (int unicast = 0; unicast < 2; unicast++)
		for (int slla = 0; slla < 2; slla++) {
			uint8_t f[128] = {0}, want[86] = {0};
			struct dp_pkt_meta meta;
			size_t len = make_ns(f, unicast ? GW6 : GW6_SNM, GW6, slla);

			cr_assert_eq(classify(f, len, &meta), DP_PKT_NS, "dropped as %s",
			             dp_counter_name(meta.drop));
			cr_assert_arr_eq(meta.src.mac, dev.mac, 6);
			cr_assert_arr_eq(meta.src.ip, DEV6, 16);
			cr_assert_eq(meta.frame_len, len);
			cr_assert_eq(dp_pkt_na_reply(f, &gw6), DP_PKT_NA_LEN);

			memcpy(want, dev.mac, 6);
			memcpy(want + 6, gw.mac, 6);
			put16(want + 12, 0x86dd);
			want[14] = 0x60;
			put16(want + 18, 32);
			want[20] = 58;
			want[21] = 255;
			memcpy(want + 22, GW6, 16);
			memcpy(want + 38, DEV6, 16);
			want[54] = 136;
			want[58] = 0x60; /* solicited, override */
			memcpy(want + 62, GW6, 16);
			want[78] = 2; /* target link-layer address */
			want[79] = 1;
			memcpy(want + 80, gw.mac, 6);
			fix_icmp6_csum(want, 14);
			cr_assert_arr_eq(f, want, sizeof(want));
			cr_assert_eq(ref_csum(f + 54, 32, ref_pseudo6(f + 14, 32, 58)), 0);
		}
}

Test(dp_pkt, ns_rejects)
{
	static const uint8_t other[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
	static const uint8_t other_snm[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 9};
	uint8_t f[128];
	struct dp_pkt_meta meta;
	size_t len;

	len = make_ns(f, GW6_SNM, other, 1); /* another target (a device's DAD) */
	expect_drop(f, len, DP_C_DROP_NDP);
	len = make_ns(f, other_snm, other, 1); /* another group */
	expect_drop(f, len, DP_C_DROP_NOT_FOR_US);
	len = make_ns(f, GW6_SNM, GW6, 1);
	f[21] = 64; /* forwarded by a router */
	expect_drop(f, len, DP_C_DROP_NDP);
	len = make_ns(f, GW6_SNM, GW6, 1);
	f[55] = 1; /* code */
	fix_icmp6_csum(f, 14);
	expect_drop(f, len, DP_C_DROP_NDP);
	len = make_ns(f, GW6_SNM, GW6, 1);
	f[70] ^= 0x01; /* checksum no longer matches: target changed */
	expect_drop(f, len, DP_C_DROP_NDP);
	len = make_ns(f, GW6_SNM, GW6, 1);
	memset(f + 22, 0, 16); /* duplicate address detection from :: */
	fix_icmp6_csum(f, 14);
	expect_drop(f, len, DP_C_DROP_NDP);
	len = make_ns(f, GW6_SNM, GW6, 1);
	f[6] |= 1; /* multicast source MAC */
	expect_drop(f, len, DP_C_DROP_NDP);
	len = make_ns(f, GW6_SNM, GW6, 1);
	f[79] = 0; /* option of length 0 */
	fix_icmp6_csum(f, 14);
	expect_drop(f, len, DP_C_DROP_NDP);
	len = make_ns(f, GW6_SNM, GW6, 1);
	f[79] = 2; /* option running past the message */
	fix_icmp6_csum(f, 14);
	expect_drop(f, len, DP_C_DROP_NDP);
	len = make_ns(f, GW6_SNM, GW6, 1);
	f[54] = 133; /* a Router Solicitation */
	fix_icmp6_csum(f, 14);
	expect_drop(f, len, DP_C_DROP_NDP);
	/* Truncated below the fixed message: not an NS. */
	len = make_ns(f, GW6_SNM, GW6, 0);
	put16(f + 18, 20);
	fix_icmp6_csum(f, 14);
	expect_drop(f, 74, DP_C_DROP_NDP);
	/* A gateway without an IPv6 address answers none. */
	len = make_ns(f, GW6_SNM, GW6, 1);
	cr_assert_eq(dp_pkt_classify(f, len, &gw, &meta), DP_PKT_DROP);
	cr_assert_eq(meta.drop, DP_C_DROP_NDP);
}

/* ---- 802.1Q ------------------------------------------------------------------------------- */

/* Tagged in, tagged out: the TCI (PCP, DEI, VID as received) goes with the
 * sender's address, and a frame built towards that address carries it. */
Test(dp_pkt, vlan_tagged_in_tagged_out)
{
	for (int v6 = 0; v6 < 2; v6++) {
		uint8_t f[256], g[256], out[256];
		struct dp_pkt_meta meta, back;
		size_t len = v6 ? make_udp6(f, 16) : make_udp(f, 16), n, olen;
		const struct dp_addr *me = v6 ? &gw6 : &gw, *them = v6 ? &dev6 : &dev;
		struct dp_addr want = *them;

		n = add_tag(g, f, len, 0x8100, 0xa02a); /* PCP 5, DEI 0, VID 42 */
		cr_assert_eq(classify(g, n, &meta), DP_PKT_UDP, "%s", dp_counter_name(meta.drop));
		cr_assert_eq(meta.l2_len, 18);
		cr_assert(meta.tagged);
		cr_assert_eq(meta.src.vlan, 0xa02a);
		cr_assert_eq(meta.payload_off, (v6 ? 62 : 42) + 4);
		cr_assert_eq(meta.frame_len, n);
		want.vlan = 0xa02a;
		cr_assert(dp_addr_equal(&meta.src, &want));
		/* dp_pkt_src_get from the offsets alone gives the same. */
		struct dp_addr again;
		dp_pkt_src_get(g, meta.l2_len, meta.l3_len, &again);
		cr_assert(dp_addr_equal(&again, &meta.src));

		/* The answer: the same tag, then the family's EtherType. */
		cr_assert_eq(dp_pkt_hdr_len(me, &meta.src), (v6 ? 62u : 42u) + 4);
		memset(out, 0x5a, sizeof(out));
		olen = dp_pkt_udp_build(out, me, &meta.src, 9, 10);
		cr_assert_eq(olen, (v6 ? 62u : 42u) + 4 + 10);
		cr_assert_eq(be16(out + 12), 0x8100);
		cr_assert_eq(be16(out + 14), 0xa02a);
		cr_assert_eq(be16(out + 16), v6 ? 0x86dd : 0x0800);
		cr_assert_eq(dp_pkt_classify(out, olen, &meta.src, &back), DP_PKT_UDP, "%s",
		             dp_counter_name(back.drop));
		cr_assert_eq(back.src.vlan, 0xa02a);
		cr_assert_arr_eq(back.src.ip, me->ip, 16);
		/* Untagged towards an untagged address. */
		cr_assert_eq(dp_pkt_udp_build(out, me, them, 9, 10), (v6 ? 62u : 42u) + 10);
		cr_assert_eq(be16(out + 12), v6 ? 0x86dd : 0x0800);
	}
}

/* A priority tag with nothing in it (TCI 0): accepted, answered untagged. */
Test(dp_pkt, vlan_tci_zero)
{
	uint8_t f[256], g[256];
	struct dp_pkt_meta meta;
	size_t n = add_tag(g, f, make_udp(f, 8), 0x8100, 0);

	cr_assert_eq(classify(g, n, &meta), DP_PKT_UDP);
	cr_assert(meta.tagged);
	cr_assert_eq(meta.src.vlan, 0);
	cr_assert_eq(dp_pkt_hdr_len(&gw, &meta.src), 42);
}

Test(dp_pkt, vlan_arp_and_ns_answered_tagged)
{
	uint8_t f[128], g[128];
	struct dp_pkt_meta meta;
	size_t n;

	n = add_tag(g, f, make_arp(f, NULL, 1, dp_addr_ipv4(&gw)), 0x8100, 0x0064);
	cr_assert_eq(classify(g, n, &meta), DP_PKT_ARP, "%s", dp_counter_name(meta.drop));
	cr_assert_eq(meta.src.vlan, 0x0064);
	cr_assert_eq(dp_pkt_arp_reply(g, &gw), 46);
	cr_assert_eq(be16(g + 12), 0x8100);
	cr_assert_eq(be16(g + 14), 0x0064);
	cr_assert_eq(be16(g + 16), 0x0806);
	cr_assert_eq(be16(g + 24), 2, "a reply");
	cr_assert_arr_eq(g + 26, gw.mac, 6);

	memset(g, 0, sizeof(g));
	n = add_tag(g, f, make_ns(f, GW6_SNM, GW6, 1), 0x8100, 0x0064);
	cr_assert_eq(classify(g, n, &meta), DP_PKT_NS, "%s", dp_counter_name(meta.drop));
	cr_assert_eq(dp_pkt_na_reply(g, &gw6), DP_PKT_NA_LEN + 4);
	cr_assert_eq(be16(g + 12), 0x8100);
	cr_assert_eq(be16(g + 14), 0x0064);
	cr_assert_eq(be16(g + 16), 0x86dd);
	cr_assert_eq(g[18 + 40], 136);
	cr_assert_eq(ref_csum(g + 58, 32, ref_pseudo6(g + 18, 32, 58)), 0);
}

/* QinQ: an S-tag (0x88a8, 0x9100) outside, or a second C-tag inside. */
Test(dp_pkt, qinq_dropped)
{
	uint8_t f[256], g[256], h[256];
	size_t len = make_udp(f, 16), n;

	n = add_tag(g, f, len, 0x88a8, 0x0064);
	expect_drop(g, n, DP_C_DROP_QINQ);
	n = add_tag(g, f, len, 0x9100, 0x0064);
	expect_drop(g, n, DP_C_DROP_QINQ);
	n = add_tag(g, f, len, 0x8100, 0x0064);
	n = add_tag(h, g, n, 0x88a8, 0x00c8); /* S-tag 200 around C-tag 100 */
	expect_drop(h, n, DP_C_DROP_QINQ);
	n = add_tag(g, f, len, 0x8100, 0x0064);
	n = add_tag(h, g, n, 0x8100, 0x00c8); /* two C-tags */
	expect_drop(h, n, DP_C_DROP_QINQ);
	n = add_tag(g, f, len, 0x8100, 0x0064);
	expect_drop(g, 15, DP_C_DROP_ETH_HDR); /* the tag cut short */
}

/* ---- control-frame rate limit keys ----------------------------------------------------- */

/* An IPv6 source is limited per /64 (dp_ratelimit.h says why): every address
 * of one /64 draws on one bucket, another /64 has its own, and an IPv4
 * address never shares one with an IPv6 source. */
Test(dp_pkt, ratelimit_keys_ipv4_address_ipv6_prefix)
{
	static struct dp_rl rl;
	struct dp_addr a = dev6, b = dev6, other = dev6, v4 = dev;

	b.ip[15] = 0x99; /* same /64 */
	b.ip[8] = 0x42;
	other.ip[7] = 0x01; /* another /64 */
	cr_assert_eq(dp_rl_key(&a), dp_rl_key(&b));
	cr_assert_neq(dp_rl_key(&a), dp_rl_key(&other));
	cr_assert_neq(dp_rl_key(&a), dp_rl_key(&v4));
	cr_assert_neq(dp_rl_key(&v4), 0);
	v4.ip[15] ^= 1;
	cr_assert_neq(dp_rl_key(&v4), dp_rl_key(&dev), "IPv4: per address");

	/* 1 frame/s, bursts of 2 (1 Hz "TSC"): the /64 gets two in all. */
	dp_rl_init(&rl, 1, 2, 1);
	cr_assert(dp_rl_allow(&rl, dp_rl_key(&a), 100));
	cr_assert(dp_rl_allow(&rl, dp_rl_key(&b), 100));
	cr_assert(!dp_rl_allow(&rl, dp_rl_key(&a), 100), "the /64's bucket is empty");
	cr_assert(!dp_rl_allow(&rl, dp_rl_key(&b), 100));
	cr_assert(dp_rl_allow(&rl, dp_rl_key(&other), 100), "another /64 is not limited");
	cr_assert(dp_rl_allow(&rl, dp_rl_key(&dev), 100), "nor an IPv4 source");
}

/* ---- robustness ---------------------------------------------------------------------------- */

/* Deterministic mutations of valid frames: never a read out of bounds (ASan),
 * and anything accepted is self-consistent. */
Test(dp_pkt, mutation_loop)
{
	uint8_t base[5][1600], f[1600];
	size_t blen[5];
	uint64_t x = 0x9e3779b97f4a7c15ull;

	blen[0] = make_udp(base[0], 64);
	blen[1] = make_arp(base[1], NULL, 1, dp_addr_ipv4(&gw));
	blen[2] = make_udp6(f, 64);
	blen[2] = add_ext6(base[2], f, blen[2], 0, 0, 0);
	blen[3] = make_ns(base[3], GW6_SNM, GW6, 1);
	blen[4] = add_tag(base[4], f, make_udp6(f, 40), 0x8100, 0x0064);
	for (int it = 0; it < 250000; it++) {
		const int k = it % 5;
		size_t len = blen[k];
		struct dp_pkt_meta meta;

		memcpy(f, base[k], len);
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		for (int m = 0; m < (int)(x % 4) + 1; m++)
			f[(x >> (8 + 8 * m)) % len] ^= (uint8_t)(x >> (40 + m * 4));
		if ((x >> 60) & 1)
			len = (size_t)((x >> 20) % (len + 1));
		switch (classify(f, len, &meta)) {
		case DP_PKT_UDP:
			cr_assert_leq((size_t)meta.payload_off + meta.payload_len, len);
			cr_assert_leq(meta.frame_len, len);
			break;
		case DP_PKT_ARP:
			cr_assert_geq(len, 42);
			break;
		case DP_PKT_NS:
			cr_assert_geq(len, 78);
			cr_assert_leq(meta.frame_len, len);
			break;
		default:
			cr_assert_lt(meta.drop, DP_C__COUNT);
			break;
		}
	}
}

/* ---- counter names (generated from the X-macro list) --------------------------------------- */

Test(dp_pkt, counter_names)
{
	cr_assert_str_eq(dp_counter_name(DP_C_RX), "rx");
	cr_assert_str_eq(dp_counter_name(DP_C_DROP_IP_CSUM), "drop_ip_csum");
	cr_assert_str_eq(dp_counter_name(DP_C_DROP_HANDOFF_FULL), "drop_handoff_full");
	cr_assert_str_eq(dp_counter_name((enum dp_counter)DP_C__COUNT), "unknown");
	for (int a = 0; a < DP_C__COUNT; a++) {
		const char *n = dp_counter_name((enum dp_counter)a);

		cr_assert_gt(strlen(n), 0);
		cr_assert_gt(strlen(dp_counter_desc((enum dp_counter)a)), 0);
		for (const char *p = n; *p; p++)
			cr_assert((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_',
			          "%s", n);
		for (int b = 0; b < a; b++)
			cr_assert_str_neq(n, dp_counter_name((enum dp_counter)b));
	}
}

/* [dataplane] idle_sleep_us: no sleep while there is work or before
 * DP_IDLE_POLLS empty polls in a row; then 1 us doubling to the cap; the
 * first poll with work ends it; 0 never sleeps. */
Test(dp_idle, sleeps_only_after_empty_polls_and_backs_off_to_the_cap)
{
	struct dp_idle st = {0, 0};
	unsigned want = 1;

	for (unsigned i = 0; i < 1000; i++)
		cr_assert_eq(dp_idle_next(&st, 1, 100), 0, "never while there is work");
	for (unsigned i = 0; i < DP_IDLE_POLLS; i++)
		cr_assert_eq(dp_idle_next(&st, 0, 100), 0, "empty poll %u: not yet", i);
	for (unsigned i = 0; i < 12; i++) {
		cr_assert_eq(dp_idle_next(&st, 0, 100), want, "sleep %u", i);
		want = want * 2 > 100 ? 100 : want * 2;
	}
	cr_assert_eq(dp_idle_next(&st, 3, 100), 0, "work ends the sleeping");
	for (unsigned i = 0; i < DP_IDLE_POLLS; i++)
		cr_assert_eq(dp_idle_next(&st, 0, 100), 0, "and the count starts again");
	cr_assert_eq(dp_idle_next(&st, 0, 100), 1, "from 1 us");
	st = (struct dp_idle){0, 0};
	for (unsigned i = 0; i < 10 * DP_IDLE_POLLS; i++)
		cr_assert_eq(dp_idle_next(&st, 0, 0), 0, "idle_sleep_us 0: busy polling");
}
