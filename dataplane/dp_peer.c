/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_peer.c - the cluster's node list and the gateway-to-gateway
 * encapsulation (dp_peer.h): pure code, OpenSSL's AES for the tag.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dp_peer.h"
#include "sga_err.h"
#include "sga_wire.h"

/* Header offsets (dp_peer.h). */
#define H_VERSION 0
#define H_TYPE    1
#define H_SENDER  2
#define H_FAMILY  3
#define H_VLAN    4
#define H_PORT    6
#define H_MAC     8
#define H_ZERO    14
#define H_IP      16

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* ---- the node list ------------------------------------------------------------- */

static int fail(char *err, size_t err_len, const char *what, const char *at)
{
	if (err && err_len)
		snprintf(err, err_len, "%s%s%.*s%s", what, at ? " at '" : "", at ? 32 : 0,
		         at ? at : "", at ? "'" : "");
	return -EINVAL;
}

unsigned dp_nodes_find(const struct dp_nodes *nodes, const char *name, size_t len)
{
	for (unsigned i = 0; nodes && i < nodes->n; i++)
		if (strlen(nodes->node[i].name) == len && !memcmp(nodes->node[i].name, name, len))
			return i + 1;
	return 0;
}

/* One "name a.b.c.d:port" item of s[0..len) into n. */
static int node_parse(const char *s, size_t len, struct dp_node *n, char *err, size_t err_len)
{
	char item[DP_NODE_NAME_MAX + 32], *sp, *colon, *end;
	struct in_addr a;
	unsigned long port;

	while (len && isspace((unsigned char)*s))
		s++, len--;
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	if (!len || len >= sizeof(item))
		return fail(err, err_len, "[cluster] nodes: an empty or too long item", NULL);
	memcpy(item, s, len);
	item[len] = '\0';
	sp = strpbrk(item, " \t");
	if (!sp)
		return fail(err, err_len, "[cluster] nodes: 'name address:port' expected", item);
	*sp++ = '\0';
	while (*sp == ' ' || *sp == '\t')
		sp++;
	if (strlen(item) >= DP_NODE_NAME_MAX)
		return fail(err, err_len, "[cluster] nodes: node name too long", item);
	colon = strrchr(sp, ':');
	if (!colon)
		return fail(err, err_len, "[cluster] nodes: address:port expected", sp);
	*colon = '\0';
	if (inet_pton(AF_INET, sp, &a) != 1)
		return fail(err, err_len, "[cluster] nodes: not an IPv4 address", sp);
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port == 0 || port > 65535)
		return fail(err, err_len, "[cluster] nodes: bad port", colon + 1);
	snprintf(n->name, sizeof(n->name), "%s", item);
	n->ip = a.s_addr;
	n->port = htons((uint16_t)port);
	return 0;
}

int dp_nodes_parse(const char *s, const char *self, struct dp_nodes *out, char *err, size_t err_len)
{
	const char *p = s;

	if (!s || !self || !out)
		return fail(err, err_len, "[cluster] nodes: missing", NULL);
	memset(out, 0, sizeof(*out));
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		struct dp_node *n;
		int rc;

		if (out->n == DP_NODES_MAX)
			return fail(err, err_len, "[cluster] nodes: more than 15 nodes", NULL);
		n = &out->node[out->n];
		rc = node_parse(p, len, n, err, err_len);
		if (rc)
			return rc;
		for (unsigned i = 0; i < out->n; i++) {
			if (!strcmp(out->node[i].name, n->name))
				return fail(err, err_len, "[cluster] nodes: a name twice", n->name);
			if (out->node[i].ip == n->ip && out->node[i].port == n->port)
				return fail(err, err_len, "[cluster] nodes: an address twice",
				            n->name);
		}
		out->n++;
		p += len + (comma ? 1 : 0);
	}
	if (out->n < 2)
		return fail(err, err_len, "[cluster] nodes: at least two nodes expected", NULL);
	out->self = dp_nodes_find(out, self, strlen(self));
	if (!out->self)
		return fail(err, err_len, "[cluster] nodes: this gateway's node name is not listed",
		            self);
	return 0;
}

/* ---- the tag ------------------------------------------------------------------- */

/*
 * AES-256-CMAC (RFC 4493, NIST SP 800-38B) on one AES-256-CBC context keyed
 * once: CMAC is the CBC-MAC of the message with its last block masked by a
 * subkey, so a message is one CBC pass from a zero IV over a copy whose last
 * block is masked, the tag its last cipher block. The context is never
 * re-initialised: its chaining value after a pass is that pass's last cipher
 * block, which is kept (chain) and XORed into the next message's first block,
 * so the pass computes what one from a zero IV would. OpenSSL's EVP_MAC
 * "CMAC" computes the same (the unit test checks it) but re-initialises its
 * cipher and looks its parameters up by name on every call: most of the cost
 * for a datagram of a few blocks (sga-bench-aead --peer, docs/SCALING.md).
 */
struct dp_peer_mac {
	EVP_CIPHER_CTX *cbc;
	uint8_t k1[16], k2[16]; /* the subkeys: secret, wiped at free */
	uint8_t chain[16];      /* the context's chaining value now */
};

static void dbl(const uint8_t in[16], uint8_t out[16])
{
	uint8_t carry = in[0] >> 7;

	for (int i = 0; i < 15; i++)
		out[i] = (uint8_t)(in[i] << 1 | in[i + 1] >> 7);
	out[15] = (uint8_t)(in[15] << 1 ^ (carry ? 0x87 : 0));
}

struct dp_peer_mac *dp_peer_mac_new(const uint8_t key[DP_PEER_KEY_LEN])
{
	static const uint8_t zero[16];
	struct dp_peer_mac *m = calloc(1, sizeof(*m));
	uint8_t l[16];
	int n = 0;

	if (!m || !(m->cbc = EVP_CIPHER_CTX_new()) ||
	    !EVP_EncryptInit_ex2(m->cbc, EVP_aes_256_cbc(), key, zero, NULL) ||
	    !EVP_CIPHER_CTX_set_padding(m->cbc, 0) || !EVP_EncryptUpdate(m->cbc, l, &n, zero, 16) ||
	    n != 16) {
		dp_peer_mac_free(m);
		return NULL;
	}
	dbl(l, m->k1);
	dbl(m->k1, m->k2);
	memcpy(m->chain, l, sizeof(l)); /* the pass that made L left it as the chaining value */
	OPENSSL_cleanse(l, sizeof(l));
	return m;
}

void dp_peer_mac_free(struct dp_peer_mac *m)
{
	if (!m)
		return;
	EVP_CIPHER_CTX_free(m->cbc); /* clears the key schedule */
	OPENSSL_cleanse(m, sizeof(*m));
	free(m);
}

static int tag_of(struct dp_peer_mac *m, const uint8_t *p, size_t len, uint8_t tag[DP_PEER_TAG_LEN])
{
	uint8_t buf[DP_PEER_HDR_LEN + SGA_FRAME_MAX + 16];
	size_t blocks = len ? (len + 15) / 16 : 1, last = (blocks - 1) * 16, rest = len - last;
	const uint8_t *k = rest == 16 ? m->k1 : m->k2;
	int out = 0;

	if (len > sizeof(buf) - 16)
		return -SGA_E_OVERSIZED;
	memcpy(buf, p, len);
	if (rest < 16) { /* an incomplete (or empty) last block: 10* padding, K2 */
		buf[len] = 0x80;
		memset(buf + len + 1, 0, 16 - rest - 1);
	}
	for (int i = 0; i < 16; i++) {
		buf[last + (size_t)i] ^= k[i];
		buf[i] ^= m->chain[i]; /* cancels the chaining value: a zero IV */
	}
	if (!EVP_EncryptUpdate(m->cbc, buf, &out, buf, (int)(blocks * 16)) ||
	    (size_t)out != blocks * 16) {
		static const uint8_t zero[16];

		/* The chaining value is unknown now: back to a zero IV (should
		 * that fail too, every later tag is wrong: refused, not forged). */
		memset(m->chain, 0, sizeof(m->chain));
		(void)EVP_EncryptInit_ex2(m->cbc, NULL, NULL, zero, NULL);
		return -SGA_E_CRYPTO;
	}
	memcpy(tag, buf + last, DP_PEER_TAG_LEN);
	memcpy(m->chain, buf + last, sizeof(m->chain));
	OPENSSL_cleanse(buf, blocks * 16);
	return 0;
}

/* ---- seal and open ------------------------------------------------------------- */

size_t dp_peer_seal(struct dp_peer_mac *mac, uint8_t *buf, enum dp_peer_type type, uint8_t sender,
                    const struct dp_addr *dev, size_t frame_len)
{
	if (!mac || (type != DP_PEER_FWD && type != DP_PEER_EMIT) || sender == 0 ||
	    sender > DP_NODES_MAX || frame_len < SGA_HDR_LEN || frame_len > SGA_FRAME_MAX ||
	    (dev->family != DP_AF_IPV4 && dev->family != DP_AF_IPV6) || !dev->port)
		return 0;
	buf[H_VERSION] = DP_PEER_VERSION;
	buf[H_TYPE] = (uint8_t)type;
	buf[H_SENDER] = sender;
	buf[H_FAMILY] = dev->family;
	buf[H_VLAN] = (uint8_t)(dev->vlan >> 8);
	buf[H_VLAN + 1] = (uint8_t)dev->vlan;
	memcpy(buf + H_PORT, &dev->port, 2); /* already network order */
	memcpy(buf + H_MAC, dev->mac, 6);
	buf[H_ZERO] = buf[H_ZERO + 1] = 0;
	memcpy(buf + H_IP, dev->ip, 16);
	if (tag_of(mac, buf, DP_PEER_HDR_LEN + frame_len, buf + DP_PEER_HDR_LEN + frame_len))
		return 0;
	return DP_PEER_OVERHEAD + frame_len;
}

int dp_peer_open(struct dp_peer_mac *mac, const uint8_t *p, size_t len, struct dp_peer_msg *out)
{
	uint8_t tag[DP_PEER_TAG_LEN];
	size_t body;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len < DP_PEER_OVERHEAD + SGA_HDR_LEN)
		return -SGA_E_TRUNCATED;
	if (len > DP_PEER_OVERHEAD + SGA_FRAME_MAX)
		return -SGA_E_OVERSIZED;
	body = len - DP_PEER_TAG_LEN;
	rc = tag_of(mac, p, body, tag);
	if (rc)
		return rc;
	if (CRYPTO_memcmp(tag, p + body, DP_PEER_TAG_LEN))
		return -SGA_E_AUTH;
	if (p[H_VERSION] != DP_PEER_VERSION)
		return -SGA_E_BAD_VERSION;
	if (p[H_TYPE] != DP_PEER_FWD && p[H_TYPE] != DP_PEER_EMIT)
		return -SGA_E_BAD_TYPE;
	if (p[H_SENDER] == 0 || p[H_SENDER] > DP_NODES_MAX || p[H_ZERO] || p[H_ZERO + 1])
		return -SGA_E_BAD_FIELD;
	/* The family and the address agree, as in every dp_addr. */
	if (p[H_FAMILY] == DP_AF_IPV4) {
		if (memcmp(p + H_IP, v4_mapped, sizeof(v4_mapped)))
			return -SGA_E_BAD_FIELD;
	} else if (p[H_FAMILY] != DP_AF_IPV6 || !memcmp(p + H_IP, v4_mapped, sizeof(v4_mapped))) {
		return -SGA_E_BAD_FIELD;
	}
	out->type = (enum dp_peer_type)p[H_TYPE];
	out->sender = p[H_SENDER];
	out->dev.family = p[H_FAMILY];
	out->dev.vlan = (uint16_t)(p[H_VLAN] << 8 | p[H_VLAN + 1]);
	memcpy(&out->dev.port, p + H_PORT, 2);
	memcpy(out->dev.mac, p + H_MAC, 6);
	memcpy(out->dev.ip, p + H_IP, 16);
	if (!out->dev.port)
		return -SGA_E_BAD_FIELD;
	out->frame_off = DP_PEER_HDR_LEN;
	out->frame_len = body - DP_PEER_HDR_LEN;
	return 0;
}
