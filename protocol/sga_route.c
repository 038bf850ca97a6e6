/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_route.c - control frame ordering keys and their workers (sga_route.h).
 * Cheap by design: it runs in the data plane for every control frame, on the
 * clear fields only (no key, no crypto).
 */
#include <string.h>

#include "sga_cookie.h"
#include "sga_cursor.h"
#include "sga_gateway.h"
#include "sga_route.h"

static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void sga_route_key(const uint8_t *frame, size_t len, struct sga_route_key *k)
{
	const uint8_t *cookie, *inner;
	size_t inner_len;
	struct sga_gw_peek pk;

	k->kind = SGA_ROUTE_ANY;
	k->len = 0;
	if (len >= SGA_HDR_LEN && frame[1] == SGA_MSG_COOKIE_ECHO) {
		if (sga_cookie_echo_decode(frame, len, &cookie, &inner, &inner_len))
			return;
		frame = inner;
		len = inner_len;
	}
	if (sga_gw_peek(frame, len, &pk))
		return;
	switch (pk.type) {
	case SGA_MSG_NEG_REQ:
	case SGA_MSG_NEG_ACCEPT:
	case SGA_MSG_WAKE: /* one device's counter: on its NEG_REQs' worker */
		k->kind = SGA_ROUTE_DEVICE;
		k->len = pk.id_len <= SGA_ID_MAX ? pk.id_len : SGA_ID_MAX;
		memcpy(k->b, pk.id, k->len);
		break;
	case SGA_MSG_KEX_INIT:
	case SGA_MSG_SESSION_CLOSE: /* after the session's KEX_INITs, on their worker */
	case SGA_MSG_REKEY_INIT:    /* both members' on one worker: one record */
	case SGA_MSG_DATA_UP:       /* an adoption ([sessions] adopt): the session's worker */
	case SGA_MSG_DATA_DELIVERED:
		k->kind = SGA_ROUTE_SESSION;
		k->len = SGA_SESSION_ID_LEN;
		sga_put_u64(k->b, pk.session_id);
		break;
	case SGA_MSG_REG_REQ:
		k->kind = SGA_ROUTE_FRAME;
		k->len = 8;
		sga_put_u64(k->b, fnv1a64(frame, len));
		break;
	default:
		break;
	}
}

int sga_route_key_eq(const struct sga_route_key *a, const struct sga_route_key *b)
{
	return a->kind && a->kind == b->kind && a->len == b->len && !memcmp(a->b, b->b, a->len);
}

unsigned sga_route_worker_of_id(const uint8_t *id, size_t id_len, unsigned n_workers)
{
	return (unsigned)(fnv1a64(id, id_len) % n_workers);
}

unsigned sga_route_worker_of_session(uint64_t session_id, unsigned n_workers)
{
	uint64_t x = session_id; /* splitmix64 finaliser: spread sequential ids */

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return (unsigned)(x % n_workers);
}

unsigned sga_route_worker(const struct sga_route_key *k, unsigned n_workers, unsigned *rr)
{
	switch (k->kind) {
	case SGA_ROUTE_DEVICE:
		return sga_route_worker_of_id(k->b, k->len, n_workers);
	case SGA_ROUTE_SESSION:
		return sga_route_worker_of_session(sga_get_u64(k->b), n_workers);
	case SGA_ROUTE_FRAME:
		return (unsigned)(sga_get_u64(k->b) % n_workers);
	default:
		return (*rr)++ % n_workers;
	}
}
