/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_dp_peer.c - the cluster's node list and the gateway-to-gateway
 * encapsulation (dataplane/dp_peer.h): parse errors of [cluster] nodes, a
 * round trip of both types, the tag against OpenSSL's CMAC computed here
 * (another code path), and every reject: a flipped bit anywhere, another
 * key, a truncated or oversized datagram, and fields that are wrong under a
 * valid tag (a gateway with the key that sends nonsense).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "dp_peer.h"
#include "sga_err.h"
#include "sga_wire.h"

static const uint8_t KEY[DP_PEER_KEY_LEN] = {
    0x63, 0x6c, 0x75, 0x73, 0x74, 0x65, 0x72, 0x20, 0x6b, 0x65, 0x79, 0x20, 0x66, 0x6f, 0x72, 0x20,
    0x74, 0x65, 0x73, 0x74, 0x73, 0x20, 0x6f, 0x6e, 0x6c, 0x79, 0x21, 0x01, 0x02, 0x03, 0x04, 0x05};

/* ---- [cluster] nodes ------------------------------------------------------------ */

Test(dp_nodes, parses_the_list_and_finds_itself)
{
	struct dp_nodes n;
	char err[128] = "";

	cr_assert_eq(dp_nodes_parse("gw-a 10.78.0.1:7100, gw-b 10.78.0.2:7100,gw-c  10.78.0.3:7101",
	                            "gw-b", &n, err, sizeof(err)),
	             0, "%s", err);
	cr_assert_eq(n.n, 3);
	cr_assert_eq(n.self, 2);
	cr_assert_str_eq(n.node[2].name, "gw-c");
	cr_assert_eq(n.node[2].ip, inet_addr("10.78.0.3"));
	cr_assert_eq(n.node[2].port, htons(7101));
	cr_assert_eq(dp_nodes_find(&n, "gw-a", 4), 1);
	cr_assert_eq(dp_nodes_find(&n, "gw-", 3), 0);
}

Test(dp_nodes, refuses_bad_lists_with_a_reason)
{
	static const char *bad[] = {
	    "",                                          /* empty */
	    "gw-a 10.78.0.1:7100",                       /* one node */
	    "gw-a 10.78.0.1:7100, gw-b",                 /* no address */
	    "gw-a 10.78.0.1:7100, gw-b 10.78.0.2",       /* no port */
	    "gw-a 10.78.0.1:7100, gw-b 10.78.0.2:0",     /* port 0 */
	    "gw-a 10.78.0.1:7100, gw-b 10.78.0.2:70000", /* port too big */
	    "gw-a 10.78.0.1:7100, gw-b 10.78.0.2:71x",   /* port not a number */
	    "gw-a 10.78.0.1:7100, gw-b ::1:7100",        /* not IPv4 */
	    "gw-a 10.78.0.1:7100, gw-a 10.78.0.2:7100",  /* a name twice */
	    "gw-a 10.78.0.1:7100, gw-b 10.78.0.1:7100",  /* an address twice */
	    "gw-a 10.78.0.1:7100,, gw-b 10.78.0.2:7100", /* an empty item */
	    "gw-x 10.78.0.1:7100, gw-y 10.78.0.2:7100",  /* this gateway (gw-b) not listed */
	};
	struct dp_nodes n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[128] = "";

		cr_assert_eq(dp_nodes_parse(bad[i], "gw-b", &n, err, sizeof(err)), -EINVAL, "%s",
		             bad[i]);
		cr_assert(strstr(err, "[cluster] nodes"), "a reason for '%s': %s", bad[i], err);
	}
}

/* ---- the encapsulation ---------------------------------------------------------- */

static struct dp_addr dev_v4(void)
{
	struct dp_addr a;

	memset(&a, 0, sizeof(a));
	dp_addr_set_ipv4(&a, inet_addr("10.77.0.3"));
	a.port = htons(40001);
	a.vlan = 0x2064;
	memcpy(a.mac, "\x02\x00\x00\x00\x00\x33", 6);
	return a;
}

/* A plausible SGA frame of n bytes behind room for the header. */
static size_t put_frame(uint8_t *buf, size_t n)
{
	uint8_t *f = buf + DP_PEER_HDR_LEN;

	for (size_t i = 0; i < n; i++)
		f[i] = (uint8_t)(i * 7 + 1);
	f[0] = SGA_WIRE_VERSION;
	f[1] = SGA_MSG_DATA_UP;
	return n;
}

/* The tag computed here with OpenSSL's CMAC directly. */
static void cmac(const uint8_t *p, size_t len, uint8_t tag[16])
{
	EVP_MAC *m = EVP_MAC_fetch(NULL, "CMAC", NULL);
	EVP_MAC_CTX *c = EVP_MAC_CTX_new(m);
	OSSL_PARAM params[2] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, "AES-256-CBC", 0),
	    OSSL_PARAM_construct_end()};
	size_t out = 0;

	cr_assert(c && EVP_MAC_init(c, KEY, sizeof(KEY), params));
	cr_assert(EVP_MAC_update(c, p, len) && EVP_MAC_final(c, tag, &out, 16) && out == 16);
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(m);
}

Test(dp_peer, round_trip_of_both_types)
{
	struct dp_peer_mac *mac = dp_peer_mac_new(KEY);
	uint8_t buf[DP_PEER_OVERHEAD + SGA_FRAME_MAX], tag[16];
	struct dp_addr dev = dev_v4();
	struct dp_peer_msg msg;

	cr_assert_not_null(mac);
	for (int type = DP_PEER_FWD; type <= DP_PEER_EMIT; type++) {
		size_t n = put_frame(buf, 100), len = dp_peer_seal(mac, buf, type, 3, &dev, n);

		cr_assert_eq(len, DP_PEER_OVERHEAD + n);
		cmac(buf, DP_PEER_HDR_LEN + n, tag);
		cr_assert_arr_eq(buf + DP_PEER_HDR_LEN + n, tag, 16, "the tag is AES-256-CMAC");
		cr_assert_eq(dp_peer_open(mac, buf, len, &msg), 0);
		cr_assert_eq(msg.type, type);
		cr_assert_eq(msg.sender, 3);
		cr_assert_arr_eq(&msg.dev, &dev, sizeof(dev),
		                 "the device address comes back whole");
		cr_assert_eq(msg.frame_off, DP_PEER_HDR_LEN);
		cr_assert_eq(msg.frame_len, n);
	}
	/* The largest frame. */
	cr_assert_eq(dp_peer_seal(mac, buf, DP_PEER_FWD, 1, &dev, put_frame(buf, SGA_FRAME_MAX)),
	             DP_PEER_OVERHEAD + SGA_FRAME_MAX);
	cr_assert_eq(dp_peer_open(mac, buf, DP_PEER_OVERHEAD + SGA_FRAME_MAX, &msg), 0);
	dp_peer_mac_free(mac);
}

Test(dp_peer, via_is_not_carried)
{
	struct dp_peer_mac *mac = dp_peer_mac_new(KEY);
	uint8_t buf[DP_PEER_OVERHEAD + 64];
	struct dp_addr dev = dev_v4();
	struct dp_peer_msg msg;
	size_t len;

	dev.via = 2;
	len = dp_peer_seal(mac, buf, DP_PEER_EMIT, 1, &dev, put_frame(buf, 64));
	cr_assert_eq(dp_peer_open(mac, buf, len, &msg), 0);
	cr_assert_eq(msg.dev.via, 0, "the receiver reaches the device itself");
	dp_peer_mac_free(mac);
}

Test(dp_peer, any_flipped_bit_or_another_key_is_refused)
{
	static const uint8_t other_key[DP_PEER_KEY_LEN] = {1};
	struct dp_peer_mac *mac = dp_peer_mac_new(KEY), *other = dp_peer_mac_new(other_key);
	uint8_t buf[DP_PEER_OVERHEAD + 80];
	struct dp_addr dev = dev_v4();
	struct dp_peer_msg msg;
	size_t len = dp_peer_seal(mac, buf, DP_PEER_FWD, 2, &dev, put_frame(buf, 80));

	cr_assert_eq(dp_peer_open(other, buf, len, &msg), -SGA_E_AUTH, "another cluster's key");
	for (size_t i = 0; i < len; i++) {
		buf[i] ^= 0x10;
		cr_assert_eq(dp_peer_open(mac, buf, len, &msg), -SGA_E_AUTH, "byte %zu flipped", i);
		buf[i] ^= 0x10;
	}
	cr_assert_eq(dp_peer_open(mac, buf, len, &msg), 0);
	dp_peer_mac_free(mac);
	dp_peer_mac_free(other);
}

Test(dp_peer, lengths_out_of_range)
{
	struct dp_peer_mac *mac = dp_peer_mac_new(KEY);
	static uint8_t buf[DP_PEER_OVERHEAD + SGA_FRAME_MAX + 1];
	struct dp_addr dev = dev_v4();
	struct dp_peer_msg msg;

	cr_assert_eq(dp_peer_open(mac, buf, DP_PEER_OVERHEAD + SGA_HDR_LEN - 1, &msg),
	             -SGA_E_TRUNCATED);
	cr_assert_eq(dp_peer_open(mac, buf, 0, &msg), -SGA_E_TRUNCATED);
	cr_assert_eq(dp_peer_open(mac, buf, sizeof(buf), &msg), -SGA_E_OVERSIZED);
	/* Nor does seal make one. */
	cr_assert_eq(dp_peer_seal(mac, buf, DP_PEER_FWD, 1, &dev, SGA_FRAME_MAX + 1), 0);
	cr_assert_eq(dp_peer_seal(mac, buf, DP_PEER_FWD, 1, &dev, SGA_HDR_LEN - 1), 0);
	cr_assert_eq(dp_peer_seal(mac, buf, DP_PEER_FWD, 0, &dev, 64), 0, "sender 0");
	cr_assert_eq(dp_peer_seal(mac, buf, DP_PEER_FWD, DP_NODES_MAX + 1, &dev, 64), 0);
	cr_assert_eq(dp_peer_seal(mac, buf, 3, 1, &dev, 64), 0, "no such type");
	dev.port = 0;
	cr_assert_eq(dp_peer_seal(mac, buf, DP_PEER_FWD, 1, &dev, 64), 0, "port 0");
	dp_peer_mac_free(mac);
}

/* A gateway with the key that sends a bad field: refused after the tag. */
static int open_patched(size_t at, uint8_t value)
{
	struct dp_peer_mac *mac = dp_peer_mac_new(KEY);
	uint8_t buf[DP_PEER_OVERHEAD + 64];
	struct dp_addr dev = dev_v4();
	struct dp_peer_msg msg;
	size_t n = put_frame(buf, 64), len = dp_peer_seal(mac, buf, DP_PEER_EMIT, 1, &dev, n);
	int rc;

	buf[at] = value;
	cmac(buf, DP_PEER_HDR_LEN + n, buf + DP_PEER_HDR_LEN + n);
	rc = dp_peer_open(mac, buf, len, &msg);
	dp_peer_mac_free(mac);
	return rc;
}

Test(dp_peer, bad_fields_under_a_valid_tag)
{
	cr_assert_eq(open_patched(0, 2), -SGA_E_BAD_VERSION);
	cr_assert_eq(open_patched(1, 0), -SGA_E_BAD_TYPE);
	cr_assert_eq(open_patched(1, 3), -SGA_E_BAD_TYPE);
	cr_assert_eq(open_patched(2, 0), -SGA_E_BAD_FIELD, "sender 0");
	cr_assert_eq(open_patched(2, DP_NODES_MAX + 1), -SGA_E_BAD_FIELD, "sender out of range");
	cr_assert_eq(open_patched(3, 5), -SGA_E_BAD_FIELD, "family 5");
	cr_assert_eq(open_patched(3, DP_AF_IPV6), -SGA_E_BAD_FIELD, "IPv6 with a mapped address");
	cr_assert_eq(open_patched(6, 0), 0, "a port below 256 is still a port");
	cr_assert_eq(open_patched(14, 1), -SGA_E_BAD_FIELD, "the zero bytes");
	cr_assert_eq(open_patched(16, 1), -SGA_E_BAD_FIELD, "IPv4 without the mapped prefix");
}

Test(dp_peer, port_zero_under_a_valid_tag)
{
	struct dp_peer_mac *mac = dp_peer_mac_new(KEY);
	uint8_t buf[DP_PEER_OVERHEAD + 64];
	struct dp_addr dev = dev_v4();
	struct dp_peer_msg msg;
	size_t n = put_frame(buf, 64), len = dp_peer_seal(mac, buf, DP_PEER_FWD, 1, &dev, n);

	buf[6] = buf[7] = 0;
	cmac(buf, DP_PEER_HDR_LEN + n, buf + DP_PEER_HDR_LEN + n);
	cr_assert_eq(dp_peer_open(mac, buf, len, &msg), -SGA_E_BAD_FIELD);
	dp_peer_mac_free(mac);
}

/* docs/PROTOCOL.md 15.15, byte for byte. */
Test(dp_peer, the_vector_of_protocol_15_15)
{
	static const char want_hex[] =
	    "0101020400009c41020000000033000000000000000000000000ffff0a4d0003"
	    "0105000c000102030405060708090a0b"
	    "a1499921829c3e6d3331bb113f2dbd64";
	uint8_t key[DP_PEER_KEY_LEN], want[64], buf[DP_PEER_OVERHEAD + 16];
	struct dp_peer_mac *mac;
	struct dp_addr dev;
	struct dp_peer_msg msg;

	for (int i = 0; i < DP_PEER_KEY_LEN; i++)
		key[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(want); i++)
		sscanf(want_hex + 2 * i, "%2hhx", &want[i]);
	mac = dp_peer_mac_new(key);
	memset(&dev, 0, sizeof(dev));
	dp_addr_set_ipv4(&dev, inet_addr("10.77.0.3"));
	dev.port = htons(40001);
	memcpy(dev.mac, "\x02\x00\x00\x00\x00\x33", 6);
	memcpy(buf + DP_PEER_HDR_LEN, want + DP_PEER_HDR_LEN, 16);
	cr_assert_eq(dp_peer_seal(mac, buf, DP_PEER_FWD, 2, &dev, 16), sizeof(want));
	cr_assert_arr_eq(buf, want, sizeof(want));
	cr_assert_eq(dp_peer_open(mac, want, sizeof(want), &msg), 0);
	cr_assert_arr_eq(&msg.dev, &dev, sizeof(dev));
	cr_assert(msg.type == DP_PEER_FWD && msg.sender == 2 && msg.frame_len == 16);
	dp_peer_mac_free(mac);
}
