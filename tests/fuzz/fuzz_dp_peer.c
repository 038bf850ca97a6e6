/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_dp_peer.c - libFuzzer harness for the gateway-to-gateway
 * encapsulation (dataplane/dp_peer.c): dp_peer_open on the input.
 *
 * The first byte picks the mode: even, the rest as received (a forged or
 * damaged datagram: the tag must refuse it); odd, the rest with its last 16
 * bytes replaced by a valid tag computed here with OpenSSL's CMAC (what a
 * gateway holding the key might send), so the field checks behind the tag are
 * reached.
 *
 * Properties:
 *  - nothing is read outside the input, whatever its length;
 *  - without a valid tag nothing is accepted;
 *  - what is accepted lies within the input (header, frame, tag) and names a
 *    consistent device address (family and IP agree, port nonzero, sender in
 *    range), and sealing what was parsed gives back the same bytes.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "dp_peer.h"
#include "fuzz_common.h"
#include "sga_err.h"
#include "sga_wire.h"

static const uint8_t KEY[DP_PEER_KEY_LEN] = {0x66, 0x75, 0x7a, 0x7a, 1, 2, 3, 4, 5, 6, 7};
static struct dp_peer_mac *mac;
static EVP_MAC_CTX *ref;

static void tag(const uint8_t *p, size_t n, uint8_t out[DP_PEER_TAG_LEN])
{
	size_t len = 0;

	FUZZ_SETUP(EVP_MAC_init(ref, NULL, 0, NULL) && EVP_MAC_update(ref, p, n) &&
	           EVP_MAC_final(ref, out, &len, DP_PEER_TAG_LEN) && len == DP_PEER_TAG_LEN);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	EVP_MAC *cmac = EVP_MAC_fetch(NULL, "CMAC", NULL);
	OSSL_PARAM params[2] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, "AES-256-CBC", 0),
	    OSSL_PARAM_construct_end()};

	(void)argc;
	(void)argv;
	mac = dp_peer_mac_new(KEY);
	FUZZ_SETUP(mac && cmac);
	ref = EVP_MAC_CTX_new(cmac);
	FUZZ_SETUP(ref && EVP_MAC_init(ref, KEY, sizeof(KEY), params));
	EVP_MAC_free(cmac);
	if (fuzz_seed_dir()) {
		static uint8_t buf[1 + DP_PEER_OVERHEAD + SGA_FRAME_MAX];
		static const size_t sizes[] = {SGA_HDR_LEN, 100, SGA_FRAME_MAX};
		struct dp_addr dev;

		memset(&dev, 0, sizeof(dev));
		dp_addr_set_ipv4(&dev, 0x0300000a);
		dev.port = 0x419c;
		for (unsigned i = 0; i < 3; i++) {
			char name[32];
			size_t n;

			memset(buf + 1 + DP_PEER_HDR_LEN, 0x30 + (int)i, sizes[i]);
			dev.vlan = i == 1 ? 0x2064 : 0;
			n = dp_peer_seal(mac, buf + 1, i == 2 ? DP_PEER_EMIT : DP_PEER_FWD, 1 + i,
			                 &dev, sizes[i]);
			FUZZ_SETUP(n);
			buf[0] = (uint8_t)(i & 1); /* both modes among the seeds */
			snprintf(name, sizeof(name), "enc-%zu", sizes[i]);
			fuzz_seed_write(name, buf, 1 + n);
		}
		exit(0);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t p[DP_PEER_OVERHEAD + SGA_FRAME_MAX + 64], again[sizeof(p)];
	struct dp_peer_msg m;
	int valid_tag, rc;
	size_t n;

	if (size < 1 || size - 1 > sizeof(p))
		return 0;
	n = size - 1;
	memcpy(p, data + 1, n);
	valid_tag = (data[0] & 1) && n >= DP_PEER_TAG_LEN;
	if (valid_tag)
		tag(p, n - DP_PEER_TAG_LEN, p + n - DP_PEER_TAG_LEN);
	rc = dp_peer_open(mac, p, n, &m);
	if (rc) {
		FUZZ_CHECK(rc < 0);
		return 0;
	}
	FUZZ_CHECK(valid_tag || (n >= DP_PEER_TAG_LEN && !memcmp(p, data + 1, n)));
	FUZZ_CHECK(m.frame_off == DP_PEER_HDR_LEN);
	FUZZ_CHECK(m.frame_off + m.frame_len + DP_PEER_TAG_LEN == n);
	FUZZ_CHECK(m.frame_len >= SGA_HDR_LEN && m.frame_len <= SGA_FRAME_MAX);
	FUZZ_CHECK(m.type == DP_PEER_FWD || m.type == DP_PEER_EMIT);
	FUZZ_CHECK(m.sender >= 1 && m.sender <= DP_NODES_MAX && m.dev.port && !m.dev.via);
	FUZZ_CHECK(m.dev.family == DP_AF_IPV4 || m.dev.family == DP_AF_IPV6);
	/* Sealing what was parsed gives the same datagram back. */
	memcpy(again + DP_PEER_HDR_LEN, p + DP_PEER_HDR_LEN, m.frame_len);
	FUZZ_CHECK(dp_peer_seal(mac, again, m.type, m.sender, &m.dev, m.frame_len) == n);
	FUZZ_CHECK(!memcmp(again, p, n));
	return 0;
}
