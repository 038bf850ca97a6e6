/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cp_lifecycle.c - closing sessions and revoking devices (cp_lifecycle.h).
 *
 * The order of a close matters. The data plane first: once the session is out
 * of its table no frame of it is relayed or stored any more, so what Redis and
 * the store hold afterwards is final. Redis next, so that a restart does not
 * bring the session back; if Redis is down the close fails and is retried
 * (the operator's command, the timer's next pass: the delete is idempotent,
 * and a session out of the data plane but still in Redis carries no traffic).
 * The notices last, sealed under the keys of the record read before the
 * delete: nothing they report can change any more.
 */
#include <stdlib.h>
#include <string.h>

#include "cp_lifecycle.h"
#include "cp_log.h"
#include "sga_check.h"

#define COUNT(h, field)                                                                       \
	do {                                                                                  \
		if ((h)->ctr)                                                                 \
			atomic_fetch_add_explicit(&(h)->ctr->field, 1, memory_order_relaxed); \
	} while (0)

uint8_t cp_session_expired(const struct cp_expiry *e, const struct dp_session_view *v)
{
	if (!e || !v)
		return 0;
	if (e->max_life_s && v->age_ms >= (uint64_t)e->max_life_s * 1000u)
		return SGA_CLOSE_LIFETIME;
	if (e->idle_s && v->idle_ms >= (uint64_t)e->idle_s * 1000u)
		return SGA_CLOSE_IDLE;
	return 0;
}

unsigned cp_expiry_sweep_s(const struct cp_expiry *e)
{
	unsigned lim = 0;

	if (e && e->idle_s)
		lim = e->idle_s;
	if (e && e->max_life_s && (!lim || e->max_life_s < lim))
		lim = e->max_life_s;
	lim /= 16;
	return lim < 1 ? 1 : lim > 60 ? 60 : lim;
}

/* SESSION_CLOSED to member r of s: at its session address (or to `to` when
 * given: the closing member, where its SESSION_CLOSE came from), else at its
 * device address. */
static void notify(const struct cp_handler *h, struct store *st, const struct sga_gw_session *s,
                   uint8_t r, const struct sga_session_closed_plain *c,
                   const struct dp_addr *sess_addr, const struct dp_addr *to)
{
	uint8_t f[SGA_FRAME_MAX];
	struct dp_addr a;
	size_t n;

	if (sga_gw_create_session_closed(s, r, c, f, sizeof(f), &n))
		return;
	if (to && to->port)
		a = *to;
	else if (sess_addr && sess_addr->port)
		a = *sess_addr;
	else if (store_device_get_addr(st, s->id[r], s->id_len[r], &a) || !a.port)
		goto lost;
	if (h->send.fn && !h->send.fn(h->send.ctx, &a, f, n))
		return;
lost:
	COUNT(h, undelivered);
}

/* The close of a session whose record s was read (s may be NULL: the record is
 * gone, only the data plane still had it). closer_src: the closing member's
 * source (a device close), else NULL. */
static int close_rec(const struct cp_handler *h, struct store *st, uint64_t sid,
                     const struct sga_gw_session *s, uint8_t reason, int closer,
                     const struct dp_addr *closer_src, const struct dp_session_view *removed)
{
	struct dp_session_view fin;
	int in_dp = 0, rc;

	memset(&fin, 0, sizeof(fin));
	if (removed) { /* out of the data plane already (a revocation's batch) */
		fin = *removed;
		in_dp = fin.session_id == sid;
	} else if (h->remove.fn) {
		in_dp = h->remove.fn(h->remove.ctx, sid, &fin) == 0;
	}
	if (!s && !in_dp)
		return -SGA_E_UNKNOWN_SESSION;
	rc = store_session_del(st, sid);
	if (rc) {
		cp_log(CP_LOG_WARNING,
		       "session %016llx: out of the data plane, but its Redis record could not be "
		       "deleted (%s): sga-admin close it again",
		       (unsigned long long)sid, sga_err_name(rc));
		return rc;
	}
	COUNT(h, closed);
	cp_log(CP_LOG_INFO,
	       "session %016llx closed (%s): age %llu s, frames %llu/%llu, bytes %llu/%llu",
	       (unsigned long long)sid, sga_close_reason_name(reason),
	       (unsigned long long)(fin.age_ms / 1000), (unsigned long long)fin.frames[0],
	       (unsigned long long)fin.frames[1], (unsigned long long)fin.bytes[0],
	       (unsigned long long)fin.bytes[1]);
	if (!s)
		return 0;
	for (uint8_t r = 0; r < 2; r++) {
		/* What member r sent reached the peer below the peer's last report. */
		const struct sga_session_closed_plain c = {reason, fin.delivered[r ^ 1]};

		notify(h, st, s, r, &c, in_dp ? &fin.addr[r] : NULL,
		       closer == r ? closer_src : NULL);
	}
	return 0;
}

static int close_one(const struct cp_handler *h, struct store *st, uint64_t sid, uint8_t reason,
                     const struct dp_session_view *removed)
{
	struct sga_gw_session s;
	int rc;

	rc = store_session_get(st, sid, &s);
	if (rc == -SGA_E_UNAVAILABLE)
		return rc;
	/* An unreadable or half-made record: closed all the same, without the
	 * notices its keys would seal. */
	rc = close_rec(h, st, sid, !rc && s.state == SGA_GW_S_ESTABLISHED ? &s : NULL, reason, -1,
	               NULL, removed);
	sga_gw_session_wipe(&s);
	return rc;
}

int cp_session_close(const struct cp_handler *h, struct store *st, uint64_t sid, uint8_t reason)
{
	if (!h || !st || !sid || reason < SGA_CLOSE_DEVICE || reason > SGA_CLOSE_REASON_MAX)
		return -SGA_E_BAD_FIELD;
	return close_one(h, st, sid, reason, NULL);
}

int cp_on_session_close(const struct cp_handler *h, struct store *st, const uint8_t *frame,
                        size_t len, const struct dp_addr *src, int *authed)
{
	struct sga_env_sess env;
	struct sga_gw_session s;
	uint8_t role = 0;
	int rc;

	memset(&s, 0, sizeof(s));
	CHECK(sga_env_sess_decode(frame, len, &env));
	CHECK(store_session_get(st, env.session_id, &s));
	/* Closes nothing unless it authenticates under the member's kex key. */
	CHECK(sga_gw_open_session_close(&s, frame, len, &role));
	*authed = 1;
	CHECK(close_rec(h, st, s.session_id, &s, SGA_CLOSE_DEVICE, role, src, NULL));
out:
	sga_gw_session_wipe(&s);
	return rc;
}

int cp_device_revoke(const struct cp_handler *h, struct store *st, const uint8_t *id,
                     uint8_t id_len)
{
	uint64_t *ids = NULL, *mine = NULL;
	struct dp_session_view *fin = NULL;
	struct sga_gw_session s;
	unsigned n = 0, n_mine = 0;
	int rc, closed = 0;

	if (!h || !st || !id)
		return -SGA_E_BAD_FIELD;
	memset(&s, 0, sizeof(s));
	/* First: from here on nothing new starts under the identity. */
	CHECK(store_device_revoke(st, id, id_len));
	COUNT(h, revoked);
	CHECK(store_session_list_all(st, &ids, &n));
	mine = calloc(n ? n : 1, sizeof(*mine));
	fin = calloc(n ? n : 1, sizeof(*fin));
	if (!mine || !fin) {
		rc = -SGA_E_INTERNAL;
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		rc = store_session_get(st, ids[i], &s);
		if (rc == -SGA_E_UNAVAILABLE)
			goto out;
		if (!rc)
			for (uint8_t r = 0; r < 2; r++)
				if (s.id_len[r] == id_len && !memcmp(s.id[r], id, id_len))
					mine[n_mine++] = ids[i], r = 2;
		sga_gw_session_wipe(&s);
	}
	/* Out of the data plane all at once: one grace period covers them all
	 * and no lcore relays for any of them while the rest are closed. */
	for (unsigned i = 0; h->remove.fn && i < n_mine; i++)
		(void)h->remove.fn(h->remove.ctx, mine[i], &fin[i]);
	rc = 0;
	for (unsigned i = 0; i < n_mine; i++) {
		int one = close_one(h, st, mine[i], SGA_CLOSE_REVOKED, &fin[i]);

		if (one == -SGA_E_UNAVAILABLE) {
			rc = one;
			goto out;
		}
		closed += !one;
	}
	cp_log(CP_LOG_WARNING, "device %.*s revoked: %d session(s) closed", (int)id_len,
	       (const char *)id, closed);
	rc = closed;
out:
	free(ids);
	free(mine);
	free(fin);
	sga_gw_session_wipe(&s);
	return rc;
}
