/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_cookie.c - cookie derivation, check and the COOKIE_REPLY / COOKIE_ECHO
 * codec (see sga_cookie.h and PROTOCOL.md 7.13). A check costs two SHA-256
 * passes over the frame and at most two HMACs (one more for each epoch
 * change): a few microseconds, against ~0.3 ms for the RSA decryption it
 * keeps a forged REG_REQ from costing.
 */
#include <string.h>

#include "sga_check.h"
#include "sga_cookie.h"
#include "sga_cursor.h"
#include "sga_keys.h"
#include "sga_wire.h"

static const char SECRET_LABEL[] = "sga cookie secret";
static const char COOKIE_LABEL[] = "sga cookie";
static const char COOKIE_LABEL6[] = "sga cookie6";

int sga_cookie_type(uint8_t type)
{
	return type == SGA_MSG_REG_REQ || type == SGA_MSG_NEG_REQ || type == SGA_MSG_KEX_INIT;
}

int sga_cookie_digest(const uint8_t *frame, size_t len, uint8_t digest[SGA_COOKIE_DIGEST_LEN])
{
	size_t n = len < SGA_COOKIE_DIGEST_LEN ? len : SGA_COOKIE_DIGEST_LEN;

	if (!frame || !digest)
		return -SGA_E_INTERNAL;
	/* The frame's last bytes: RSA ciphertext or an AEAD tag, unique per frame,
	 * and free to take (the reply's digest only tells the device which of its
	 * frames is meant; it protects nothing). */
	memset(digest, 0, SGA_COOKIE_DIGEST_LEN);
	memcpy(digest + SGA_COOKIE_DIGEST_LEN - n, frame + len - n, n);
	return 0;
}

void sga_cookie_key_init(struct sga_cookie_key *k, const uint8_t root[SGA_COOKIE_ROOT_LEN])
{
	memset(k, 0, sizeof(*k));
	memcpy(k->root, root, SGA_COOKIE_ROOT_LEN);
}

void sga_cookie_key_wipe(struct sga_cookie_key *k)
{
	sga_hmac_key_free(k->cur_mac);
	sga_hmac_key_free(k->prev_mac);
	sga_memzero(k, sizeof(*k));
}

static int derive_secret(const uint8_t root[SGA_COOKIE_ROOT_LEN], uint64_t epoch,
                         uint8_t out[SGA_SHA256_LEN])
{
	uint8_t e[8];
	struct sga_buf parts[2] = {{SECRET_LABEL, sizeof(SECRET_LABEL) - 1}, {e, sizeof(e)}};

	sga_put_u64(e, epoch);
	return sga_err_from_crypto(sga_hmac_sha256(root, SGA_COOKIE_ROOT_LEN, parts, 2, out));
}

/* Bring cur/prev (and their keyed MACs) to the epoch of now_ms. */
static int key_at(struct sga_cookie_key *k, uint64_t now_ms)
{
	uint64_t epoch = now_ms / SGA_COOKIE_EPOCH_MS;
	int rc = 0;

	if (k->have && k->epoch == epoch)
		return 0;
	if (k->have && k->epoch + 1 == epoch) {
		memcpy(k->prev, k->cur, sizeof(k->prev));
		sga_hmac_key_free(k->prev_mac);
		k->prev_mac = k->cur_mac;
	} else {
		if (epoch)
			CHECK(derive_secret(k->root, epoch - 1, k->prev));
		else /* no epoch before 0: a random secret, never matches */
			CHECK(sga_random_bytes(k->prev, sizeof(k->prev)) ? -SGA_E_CRYPTO : 0);
		sga_hmac_key_free(k->prev_mac);
		sga_hmac_key_free(k->cur_mac);
		k->prev_mac = sga_hmac_key_new(k->prev, sizeof(k->prev));
	}
	k->cur_mac = NULL;
	CHECK(derive_secret(k->root, epoch, k->cur));
	k->cur_mac = sga_hmac_key_new(k->cur, sizeof(k->cur));
	if (!k->cur_mac || !k->prev_mac)
		CHECK(-SGA_E_CRYPTO);
	k->epoch = epoch;
	k->have = 1;
out:
	if (rc)
		k->have = 0;
	return rc;
}

/* The source address as the cookie binds it: the 4 bytes of an IPv4 one (an
 * IPv4-mapped ::ffff:a.b.c.d), else all 16, each family under its label. */
struct cookie_src {
	const char *label;
	size_t label_len;
	uint8_t addr[18]; /* ip | port, network order */
	size_t addr_len;
};

static void src_v4(struct cookie_src *c, uint32_t ip_be, uint16_t port_be)
{
	c->label = COOKIE_LABEL;
	c->label_len = sizeof(COOKIE_LABEL) - 1;
	memcpy(c->addr, &ip_be, 4); /* already in network order: the bytes as on the wire */
	memcpy(c->addr + 4, &port_be, 2);
	c->addr_len = 6;
}

static void src_addr(struct cookie_src *c, const uint8_t ip[16], uint16_t port_be)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	uint32_t v4;

	if (!memcmp(ip, mapped, sizeof(mapped))) {
		memcpy(&v4, ip + 12, 4);
		src_v4(c, v4, port_be);
		return;
	}
	c->label = COOKIE_LABEL6;
	c->label_len = sizeof(COOKIE_LABEL6) - 1;
	memcpy(c->addr, ip, 16);
	memcpy(c->addr + 16, &port_be, 2);
	c->addr_len = 18;
}

static int cookie_with(struct sga_hmac_key *mac_key, const struct cookie_src *src,
                       const uint8_t *frame, size_t len, uint8_t cookie[SGA_COOKIE_LEN])
{
	uint8_t mac[SGA_SHA256_LEN];
	struct sga_buf parts[3] = {
	    {src->label, src->label_len}, {src->addr, src->addr_len}, {frame, len}};
	int rc;

	CHECK(sga_err_from_crypto(sga_hmac_key_mac(mac_key, parts, 3, mac)));
	memcpy(cookie, mac, SGA_COOKIE_LEN);
out:
	sga_memzero(mac, sizeof(mac));
	return rc;
}

static int cookie_make(struct sga_cookie_key *k, uint64_t now_ms, const struct cookie_src *src,
                       const uint8_t *frame, size_t len, uint8_t cookie[SGA_COOKIE_LEN])
{
	int rc;

	if (!k || !frame || !cookie)
		return -SGA_E_INTERNAL;
	CHECK(key_at(k, now_ms));
	CHECK(cookie_with(k->cur_mac, src, frame, len, cookie));
out:
	return rc;
}

static int cookie_check(struct sga_cookie_key *k, uint64_t now_ms, const struct cookie_src *src,
                        const uint8_t *frame, size_t len, const uint8_t cookie[SGA_COOKIE_LEN])
{
	uint8_t want[SGA_COOKIE_LEN];
	int rc;

	if (!k || !frame || !cookie)
		return -SGA_E_INTERNAL;
	CHECK(key_at(k, now_ms));
	CHECK(cookie_with(k->cur_mac, src, frame, len, want));
	if (sga_ct_memeq(want, cookie, SGA_COOKIE_LEN))
		goto out; /* rc 0 */
	/* Made before the last rotation? (Only then a second MAC.) */
	rc = -SGA_E_AUTH;
	if (k->epoch) {
		CHECK(cookie_with(k->prev_mac, src, frame, len, want));
		rc = sga_ct_memeq(want, cookie, SGA_COOKIE_LEN) ? 0 : -SGA_E_AUTH;
	}
out:
	sga_memzero(want, sizeof(want));
	return rc;
}

int sga_cookie_make(struct sga_cookie_key *k, uint64_t now_ms, uint32_t ip_be, uint16_t port_be,
                    const uint8_t *frame, size_t len, uint8_t cookie[SGA_COOKIE_LEN])
{
	struct cookie_src src;

	src_v4(&src, ip_be, port_be);
	return cookie_make(k, now_ms, &src, frame, len, cookie);
}

int sga_cookie_check(struct sga_cookie_key *k, uint64_t now_ms, uint32_t ip_be, uint16_t port_be,
                     const uint8_t *frame, size_t len, const uint8_t cookie[SGA_COOKIE_LEN])
{
	struct cookie_src src;

	src_v4(&src, ip_be, port_be);
	return cookie_check(k, now_ms, &src, frame, len, cookie);
}

int sga_cookie_make_addr(struct sga_cookie_key *k, uint64_t now_ms, const uint8_t ip[16],
                         uint16_t port_be, const uint8_t *frame, size_t len,
                         uint8_t cookie[SGA_COOKIE_LEN])
{
	struct cookie_src src;

	if (!ip)
		return -SGA_E_INTERNAL;
	src_addr(&src, ip, port_be);
	return cookie_make(k, now_ms, &src, frame, len, cookie);
}

int sga_cookie_check_addr(struct sga_cookie_key *k, uint64_t now_ms, const uint8_t ip[16],
                          uint16_t port_be, const uint8_t *frame, size_t len,
                          const uint8_t cookie[SGA_COOKIE_LEN])
{
	struct cookie_src src;

	if (!ip)
		return -SGA_E_INTERNAL;
	src_addr(&src, ip, port_be);
	return cookie_check(k, now_ms, &src, frame, len, cookie);
}

/* ---- the two messages ---------------------------------------------------------- */

static void put_hdr(uint8_t *out, uint8_t type, size_t total)
{
	out[0] = SGA_WIRE_VERSION;
	out[1] = type;
	sga_put_u16(out + 2, (uint16_t)(total - SGA_HDR_LEN));
}

int sga_cookie_reply_encode(const uint8_t digest[SGA_COOKIE_DIGEST_LEN],
                            const uint8_t cookie[SGA_COOKIE_LEN], uint8_t *out, size_t cap,
                            size_t *len)
{
	if (!len || !digest || !cookie || (!out && cap))
		return -SGA_E_INTERNAL;
	*len = 0;
	if (cap < SGA_COOKIE_REPLY_LEN)
		return -SGA_E_NOSPACE;
	put_hdr(out, SGA_MSG_COOKIE_REPLY, SGA_COOKIE_REPLY_LEN);
	memcpy(out + SGA_HDR_LEN, digest, SGA_COOKIE_DIGEST_LEN);
	memcpy(out + SGA_HDR_LEN + SGA_COOKIE_DIGEST_LEN, cookie, SGA_COOKIE_LEN);
	*len = SGA_COOKIE_REPLY_LEN;
	return 0;
}

int sga_cookie_reply_decode(const uint8_t *frame, size_t len, uint8_t digest[SGA_COOKIE_DIGEST_LEN],
                            uint8_t cookie[SGA_COOKIE_LEN])
{
	struct sga_hdr h;
	int rc;

	if (!digest || !cookie)
		return -SGA_E_INTERNAL;
	CHECK(sga_hdr_parse(frame, len, &h));
	if (h.type != SGA_MSG_COOKIE_REPLY)
		CHECK(-SGA_E_BAD_TYPE);
	if (len != SGA_COOKIE_REPLY_LEN)
		CHECK(len < SGA_COOKIE_REPLY_LEN ? -SGA_E_TRUNCATED : -SGA_E_TRAILING);
	memcpy(digest, frame + SGA_HDR_LEN, SGA_COOKIE_DIGEST_LEN);
	memcpy(cookie, frame + SGA_HDR_LEN + SGA_COOKIE_DIGEST_LEN, SGA_COOKIE_LEN);
out:
	return rc;
}

/* The inner frame: whole, valid as a frame, of a type that takes a cookie. */
static int inner_ok(const uint8_t *inner, size_t len)
{
	struct sga_hdr h;
	int rc = sga_hdr_parse(inner, len, &h);

	if (rc)
		return rc;
	return sga_cookie_type(h.type) ? 0 : -SGA_E_BAD_TYPE;
}

int sga_cookie_echo_encode(const uint8_t cookie[SGA_COOKIE_LEN], const uint8_t *inner,
                           size_t inner_len, uint8_t *out, size_t cap, size_t *len)
{
	size_t total = SGA_COOKIE_ECHO_HDR + inner_len;
	int rc;

	if (!len || !cookie || !inner || (!out && cap))
		return -SGA_E_INTERNAL;
	*len = 0;
	CHECK(inner_ok(inner, inner_len));
	if (total > SGA_FRAME_MAX)
		CHECK(-SGA_E_OVERSIZED);
	if (total > cap)
		CHECK(-SGA_E_NOSPACE);
	memmove(out + SGA_COOKIE_ECHO_HDR, inner, inner_len); /* out may be inner's buffer */
	put_hdr(out, SGA_MSG_COOKIE_ECHO, total);
	memcpy(out + SGA_HDR_LEN, cookie, SGA_COOKIE_LEN);
	*len = total;
out:
	return rc;
}

int sga_cookie_echo_decode(const uint8_t *frame, size_t len, const uint8_t **cookie,
                           const uint8_t **inner, size_t *inner_len)
{
	struct sga_hdr h;
	int rc;

	if (!cookie || !inner || !inner_len)
		return -SGA_E_INTERNAL;
	*cookie = *inner = NULL;
	*inner_len = 0;
	CHECK(sga_hdr_parse(frame, len, &h));
	if (h.type != SGA_MSG_COOKIE_ECHO)
		CHECK(-SGA_E_BAD_TYPE);
	if (len < SGA_COOKIE_ECHO_HDR + SGA_HDR_LEN)
		CHECK(-SGA_E_TRUNCATED);
	CHECK(inner_ok(frame + SGA_COOKIE_ECHO_HDR, len - SGA_COOKIE_ECHO_HDR));
	*cookie = frame + SGA_HDR_LEN;
	*inner = frame + SGA_COOKIE_ECHO_HDR;
	*inner_len = len - SGA_COOKIE_ECHO_HDR;
out:
	return rc;
}
