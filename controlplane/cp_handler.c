/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cp_handler.c - the control plane's per-frame logic (see cp_handler.h): peek
 * at a control frame, load the device and session records it names from Redis,
 * run the matching step of the gateway state machine (registration, A1-A4,
 * B1-B6 of the SGA paper), persist what changed and address the replies.
 *
 * Ordering rules that keep concurrent workers and crashes safe:
 *  - a device's up counter is advanced in Redis by compare-and-set before any
 *    reply leaves: if another worker accepted the same or a later counter
 *    first, this worker's reply is dropped (the other one already answered);
 *  - records are written before the frames that depend on them are sent, and
 *    a session is installed in the data plane before its KEX_REPLY frames go,
 *    so a device never uses state the gateway has not stored;
 *  - hop TX ranges come from Redis HINCRBY reservations, never from a record,
 *    so no hop nonce is used twice, not even across restarts.
 * Every record that held a secret (k_d, k_t, N/K) is wiped on the way out.
 */
#include <stdlib.h>
#include <string.h>

#include "cp_handler.h"
#include "cp_lifecycle.h"
#include "cp_log.h"
#include "cp_rekey.h"
#include "dp_peer.h"
#include "sga_check.h"
#include "sga_cursor.h"

#define COUNT(h, field)                                                                       \
	do {                                                                                  \
		if ((h)->ctr)                                                                 \
			atomic_fetch_add_explicit(&(h)->ctr->field, 1, memory_order_relaxed); \
	} while (0)

/* What an ERROR hint refers to: a device id or an 8-byte session id. */
struct ref {
	uint8_t len;
	uint8_t b[SGA_ID_MAX];
};

static void ref_id(struct ref *r, const uint8_t *id, uint8_t len)
{
	r->len = len <= SGA_ID_MAX ? len : 0;
	memcpy(r->b, id, r->len);
}

static void ref_sid(struct ref *r, uint64_t sid)
{
	r->len = SGA_SESSION_ID_LEN;
	sga_put_u64(r->b, sid);
}

static uint64_t tx_block(const struct cp_handler *h)
{
	return h->tx_block ? h->tx_block : CP_TX_BLOCK_DEFAULT;
}

/*
 * Refusals worth a hint (PROTOCOL.md 13). A hint answers only a frame that
 * authenticated under the sender's key, so it tells nobody anything they could
 * not already read in the frame: whether an identity exists (UNKNOWN_DEVICE,
 * EXISTS, ENROLL_DENIED), how a forged counter compares (REPLAY before the
 * tag) or whether a session id is in use stay unanswered. The one exception
 * is UNAVAILABLE: G could not reach its store, whatever the frame said, so it
 * reveals nothing about the frame, and it tells an honest device to back off.
 */
static int hint_allowed(int rc, int authed)
{
	switch (-rc) {
	case SGA_E_UNAVAILABLE:
		return 1;
	case SGA_E_REPLAY:          /* an authentic frame again: its counter is spent */
	case SGA_E_UNKNOWN_SESSION: /* an authentic A3 for an invitation G no longer has */
	case SGA_E_BAD_STATE:       /* an authentic A3 for a session past its invitation */
		return authed;
	default:
		return 0;
	}
}

/* A REPLAY comes only from a frame whose tag or MAC verified (sga_gateway.h),
 * so an authenticating step that returns it has authenticated the frame. */
static int authenticated(int rc)
{
	return rc == 0 || rc == -SGA_E_REPLAY;
}

static void send_to(const struct cp_handler *h, const struct dp_addr *dst, const uint8_t *frame,
                    size_t len)
{
	if (h->send.fn(h->send.ctx, dst, frame, len))
		COUNT(h, undelivered);
}

/* An ERROR hint to the sender, never larger than its frame: the source address
 * of a UDP frame is not authenticated, so the gateway must not amplify. */
static void reply_error(const struct cp_handler *h, const struct dp_addr *src, int rc, int authed,
                        const struct ref *ref, size_t req_len)
{
	uint8_t buf[SGA_HDR_LEN + 3 + SGA_ID_MAX];
	size_t n = 0;

	if (!hint_allowed(rc, authed))
		return;
	if (sga_error_encode((uint16_t)-rc, ref->b, ref->len, buf, sizeof(buf), &n) || n > req_len)
		return;
	send_to(h, src, buf, n);
}

/* Send a handler's output: frames for the sender (or for no one in particular,
 * PKG) go to src, where it just came from; frames for the other session member
 * go to the address stored for it. */
static void deliver(const struct cp_handler *h, struct store *st, const struct sga_gw_out *out,
                    const uint8_t *from_id, uint8_t from_len, const struct dp_addr *src)
{
	for (unsigned i = 0; i < out->n && i < 2; i++) {
		const uint8_t *to = out->msg[i].to_id;
		uint8_t to_len = out->msg[i].to_id_len;
		struct dp_addr a;

		if (to_len == 0 || (to_len == from_len && !memcmp(to, from_id, from_len))) {
			send_to(h, src, out->msg[i].frame, out->msg[i].len);
			continue;
		}
		if (store_device_get_addr(st, to, to_len, &a) || !a.port) {
			COUNT(h, undelivered); /* the device retransmits and is answered then */
			continue;
		}
		send_to(h, &a, out->msg[i].frame, out->msg[i].len);
	}
}

/* A record that exists but cannot be read means a wrong master key, an
 * unknown format or tampering in Redis: an operator problem, logged and
 * refused as internal (no hint: the device can do nothing about it). */
static int store_fault(int rc, const char *what, const uint8_t *id, uint8_t id_len, uint64_t sid)
{
	if (rc != -SGA_E_AUTH && rc != -SGA_E_BAD_VERSION && rc != -SGA_E_INTERNAL &&
	    rc != -SGA_E_BAD_TYPE && rc != -SGA_E_BAD_LENGTH && rc != -SGA_E_TRAILING &&
	    rc != -SGA_E_TRUNCATED)
		return rc;
	if (id)
		cp_log(CP_LOG_ERR, "%s record %.*s unreadable: %s", what, (int)id_len,
		       (const char *)id, sga_err_name(rc));
	else
		cp_log(CP_LOG_ERR, "%s record %016llx unreadable: %s", what,
		       (unsigned long long)sid, sga_err_name(rc));
	return -SGA_E_INTERNAL;
}

/* A revoked device's record stays (its identity cannot be registered
 * afresh) and every request naming it is refused, silently (PROTOCOL.md 13). */
static int load_dev(struct store *st, const uint8_t *id, uint8_t id_len, struct sga_gw_device *d)
{
	int rc = store_fault(store_device_get(st, id, id_len, d), "device", id, id_len, 0);

	if (!rc && d->revoked) {
		sga_memzero(d, sizeof(*d));
		rc = -SGA_E_REVOKED;
	}
	return rc;
}

static int load_sess(struct store *st, uint64_t sid, struct sga_gw_session *s)
{
	return store_fault(store_session_get(st, sid, s), "session", NULL, 0, sid);
}

/* ---- PKG_REQ ------------------------------------------------------------------ */

static int on_pkg_req(const struct cp_handler *h, struct store *st, const uint8_t *frame,
                      size_t len, const struct dp_addr *src)
{
	struct sga_gw_out out;
	int rc;

	out.n = 0;
	rc = sga_gw_handle_pkg_req(h->gw, frame, len, &out);
	if (!rc)
		deliver(h, st, &out, NULL, 0, src);
	return rc;
}

/* ---- REG_REQ ------------------------------------------------------------------ */

static int on_reg_req(const struct cp_handler *h, struct store *st, const uint8_t *frame,
                      size_t len, const struct dp_addr *src, struct ref *ref, int *authed)
{
	struct sga_reg_req env;
	struct sga_reg_plain req;
	struct sga_gw_device old, rec;
	struct sga_gw_enroll allow;
	struct sga_gw_out out;
	int have_old, have_allow, used, fresh = 0, raced = 0, rc;

	memset(&req, 0, sizeof(req));
	memset(&rec, 0, sizeof(rec));
	CHECK(sga_gw_reg_open(h->gw, frame, len, &env, &req));
	ref_id(ref, req.id, req.id_len);
again:
	have_old = have_allow = used = 0;
	memset(&old, 0, sizeof(old));
	out.n = 0;
	rc = load_dev(st, req.id, req.id_len, &old);
	if (!rc)
		have_old = 1;
	else if (rc != -SGA_E_UNKNOWN_DEVICE)
		goto out;
	if (!have_old && sga_gw_enroll_mode(h->gw) == SGA_ENROLL_ALLOWLIST) {
		rc = store_enroll_get(st, req.id, req.id_len, &allow);
		if (!rc)
			have_allow = 1;
		else if (rc != -SGA_E_UNKNOWN_DEVICE)
			goto out;
	}
	rc = sga_gw_reg_accept(h->gw, &env, &req, have_old ? &old : NULL,
	                       have_allow ? &allow : NULL, &rec, &used, &out);
	/* Only a rekey's MAC authenticates a REG_REQ that G refuses; a new key
	 * for a taken identity (EXISTS) or a denied enrollment proves nothing. */
	*authed = have_old && authenticated(rc);
	if (rc)
		goto out;
	/* Fresh: the record is new or replaced under a new k_d. Otherwise this is
	 * a request that already took effect, which anyone may have replayed. */
	fresh = !have_old || !sga_ct_memeq(old.k_d, rec.k_d, SGA_KEY_LEN);
	if (!have_old) {
		rc = store_device_create(st, &rec);
		if (rc == -SGA_E_EXISTS && !raced) {
			/* Another worker created this identity between our read and
			 * our create: the same request (a retransmission, re-sent
			 * or re-encrypted, that reached another worker) or a rival.
			 * Decide again against the record it stored, once: a
			 * retransmission of it is acknowledged again (same k_d and
			 * suites, so not fresh), anything else is EXISTS as before. */
			raced = 1;
			sga_memzero(&rec, sizeof(rec));
			goto again;
		}
		CHECK(rc);
	} else if (fresh) {
		CHECK(store_device_put(st, &rec)); /* new k_d, counters restart */
	} else {
		/* A retransmission (first registration or applied rekey): the record
		 * stays, only the counter of the re-sent acknowledgement moves. */
		CHECK(store_device_raise_down_ctr(st, rec.id, rec.id_len, rec.down_ctr));
	}
	/* The token goes only once the record is stored, so a failure above lets
	 * the device retry with it. If this delete fails, the token is harmless:
	 * the identity it admits now exists. */
	if (used && store_enroll_del(st, rec.id, rec.id_len))
		cp_log(CP_LOG_WARNING, "device %.*s enrolled; its token could not be deleted",
		       (int)rec.id_len, (const char *)rec.id);
	/* The address moves only on a fresh request: a replayed one, from
	 * anywhere, must not redirect the device's NEG_INVITEs (PROTOCOL.md 6.3).
	 * The REG_ACK itself goes back to src, like every answer. */
	if (fresh) {
		(void)store_device_set_addr(st, rec.id, rec.id_len, src);
		COUNT(h, registered);
		cp_log(CP_LOG_DEBUG, "device %.*s registered", (int)rec.id_len,
		       (const char *)rec.id);
	}
	deliver(h, st, &out, rec.id, rec.id_len, src);
out:
	sga_memzero(&req, sizeof(req));
	sga_memzero(&old, sizeof(old));
	sga_memzero(&rec, sizeof(rec));
	return rc;
}

/* ---- NEG_REQ (A1 -> A2, or a refusal A4) ------------------------------------- */

static int on_neg_req(const struct cp_handler *h, struct store *st, const struct sga_gw_peek *pk,
                      const uint8_t *frame, size_t len, const struct dp_addr *src, struct ref *ref,
                      int *authed, int *quiet)
{
	struct sga_gw_device dev_i, dev_j;
	struct sga_neg_req_plain a1;
	struct sga_gw_session sess;
	struct sga_gw_out out;
	uint64_t ctr = 0;
	int have_j = 0, rc;

	memset(&dev_i, 0, sizeof(dev_i));
	memset(&dev_j, 0, sizeof(dev_j));
	memset(&a1, 0, sizeof(a1));
	memset(&sess, 0, sizeof(sess));
	out.n = 0;
	ref_id(ref, pk->id, pk->id_len);
	CHECK(load_dev(st, pk->id, pk->id_len, &dev_i));
	rc = sga_gw_neg_req_open(h->gw, &dev_i, frame, len, &a1, &ctr);
	*authed = authenticated(rc);
	if (rc)
		goto out;
	rc = load_dev(st, a1.peer_id, a1.peer_id_len, &dev_j);
	if (!rc)
		have_j = 1;
	else if (rc != -SGA_E_UNKNOWN_DEVICE && rc != -SGA_E_BAD_FIELD)
		goto out; /* an unknown peer is answered by an authenticated A4 below */
	if (have_j) {
		/* The NEG_INVITE's counter, taken now: another worker may be
		 * sealing to d_j too (its WAKE, another A1 to it). */
		uint64_t down;

		CHECK(store_device_claim_down_ctr(st, dev_j.id, dev_j.id_len, &down));
		dev_j.down_ctr = down - 1;
	}
	CHECK(sga_gw_neg_req_handle(h->gw, &dev_i, have_j ? &dev_j : NULL, &a1, ctr, &sess, &out));
	rc = store_device_set_up_ctr(st, dev_i.id, dev_i.id_len, dev_i.up_ctr);
	if (rc == -SGA_E_REPLAY)
		*quiet = 1; /* another worker took this counter and answered */
	if (rc)
		goto out;
	if (sess.session_id) {
		CHECK(store_session_put(st, &sess));
		/* For a WAKE of d_j (7.16, step 4). Best effort: without the entry
		 * d_j still learns of the invitation from a retransmitted A1. */
		(void)store_invite_add(st, dev_j.id, dev_j.id_len, sess.session_id);
	}
	(void)store_device_set_addr(st, dev_i.id, dev_i.id_len, src);
	deliver(h, st, &out, dev_i.id, dev_i.id_len, src);
out:
	sga_memzero(&dev_i, sizeof(dev_i));
	sga_memzero(&dev_j, sizeof(dev_j));
	sga_memzero(&a1, sizeof(a1));
	sga_gw_session_wipe(&sess);
	return rc;
}

/* ---- NEG_ACCEPT (A3 -> A4) ----------------------------------------------------- */

static int on_neg_accept(const struct cp_handler *h, struct store *st, const struct sga_gw_peek *pk,
                         const uint8_t *frame, size_t len, const struct dp_addr *src,
                         struct ref *ref, int *authed, int *quiet)
{
	struct sga_gw_device dev_j;
	struct sga_neg_accept_plain a3;
	struct sga_gw_session sess;
	struct sga_gw_out out;
	uint64_t ctr = 0;
	int rc;

	memset(&dev_j, 0, sizeof(dev_j));
	memset(&a3, 0, sizeof(a3));
	memset(&sess, 0, sizeof(sess));
	out.n = 0;
	ref_id(ref, pk->id, pk->id_len);
	CHECK(load_dev(st, pk->id, pk->id_len, &dev_j));
	rc = sga_gw_neg_accept_open(h->gw, &dev_j, frame, len, &a3, &ctr);
	*authed = authenticated(rc);
	if (rc)
		goto out;
	ref_sid(ref, a3.session_id);
	CHECK(load_sess(st, a3.session_id, &sess));
	CHECK(sga_gw_neg_accept_handle(h->gw, &dev_j, &sess, &a3, ctr, &out));
	rc = store_device_set_up_ctr(st, dev_j.id, dev_j.id_len, dev_j.up_ctr);
	if (rc == -SGA_E_REPLAY)
		*quiet = 1;
	if (rc)
		goto out;
	if (sess.state == 0) /* declined: the handler wiped the session */
		CHECK(store_session_del(st, a3.session_id));
	else
		CHECK(store_session_put(st, &sess));
	/* Answered: no WAKE re-sends it (one that does finds it past INVITED). */
	(void)store_invite_del(st, dev_j.id, dev_j.id_len, a3.session_id);
	(void)store_device_set_addr(st, dev_j.id, dev_j.id_len, src);
	deliver(h, st, &out, dev_j.id, dev_j.id_len, src);
out:
	sga_memzero(&dev_j, sizeof(dev_j));
	sga_memzero(&a3, sizeof(a3));
	sga_gw_session_wipe(&sess);
	return rc;
}

/* ---- WAKE (7.16 -> WAKE_ACK) ------------------------------------------------------ */

/* Invitations re-sent per WAKE at most: each costs two Redis round trips
 * (the session, the down counter). More wait for the device's next WAKE. */
#define CP_WAKE_INVITES_MAX 8

/*
 * Step 4: each NEG_INVITE still waiting for dev (INVITED, dev its responder)
 * again, to dst, under dev's next down counter, stored before the frame
 * leaves (as A2 itself). An index entry whose session expired, was answered
 * or is not dev's any more is dropped. Returns the number re-sent.
 */
static unsigned resend_invites(const struct cp_handler *h, struct store *st,
                               struct sga_gw_device *dev, const struct dp_addr *dst)
{
	uint64_t sids[CP_WAKE_INVITES_MAX];
	unsigned n = CP_WAKE_INVITES_MAX, sent = 0;
	struct sga_gw_session sess;
	struct sga_gw_out out;

	if (store_invite_list(st, dev->id, dev->id_len, sids, &n))
		return 0;
	memset(&sess, 0, sizeof(sess));
	for (unsigned i = 0; i < n; i++) {
		int rc = load_sess(st, sids[i], &sess);

		out.n = 0;
		if (!rc) {
			/* Its own counter, taken now (see on_neg_req). */
			uint64_t down;

			rc = store_device_claim_down_ctr(st, dev->id, dev->id_len, &down);
			if (!rc) {
				dev->down_ctr = down - 1;
				rc = sga_gw_neg_invite_reseal(&sess, dev, &out);
			}
		}
		sga_gw_session_wipe(&sess);
		if (rc == -SGA_E_UNKNOWN_SESSION || rc == -SGA_E_BAD_STATE) {
			(void)store_invite_del(st, dev->id, dev->id_len, sids[i]);
			continue;
		}
		if (rc)
			break; /* Redis trouble: the device's next WAKE asks again */
		send_to(h, dst, out.msg[0].frame, out.msg[0].len);
		sent++;
	}
	return sent;
}

/* A device that moved or woke up. The order is NEG_REQ's: tag, then counter,
 * the counter stored (compare and set) before anything follows from it, so a
 * replayed or forged WAKE, from wherever it comes, moves no address and
 * gets no WAKE_ACK (a replay: at most a REPLAY hint, no larger than itself). */
static int on_wake(const struct cp_handler *h, struct store *st, const struct sga_gw_peek *pk,
                   const uint8_t *frame, size_t len, const struct dp_addr *src, struct ref *ref,
                   int *authed, int *quiet)
{
	struct sga_gw_device dev;
	struct sga_wake_plain wake;
	struct sga_gw_out out;
	uint64_t ctr = 0;
	unsigned invites = 0;
	int stored = 0, rc;

	memset(&dev, 0, sizeof(dev));
	memset(&wake, 0, sizeof(wake));
	out.n = 0;
	ref_id(ref, pk->id, pk->id_len);
	CHECK(load_dev(st, pk->id, pk->id_len, &dev));
	rc = sga_gw_wake_open(h->gw, &dev, frame, len, &wake, &ctr);
	*authed = authenticated(rc);
	if (rc)
		goto out;
	rc = store_device_set_up_ctr(st, dev.id, dev.id_len, ctr);
	if (rc == -SGA_E_REPLAY)
		*quiet = 1; /* another worker took this counter and answered */
	if (rc)
		goto out;
	(void)store_device_set_addr(st, dev.id, dev.id_len, src);
	if (h->wake.fn) {
		stored = h->wake.fn(h->wake.ctx, dev.id, dev.id_len, src, wake.flags);
		if (stored < 0)
			stored = 0;
	}
	if (wake.flags & SGA_WAKE_WANT_INVITES)
		invites = resend_invites(h, st, &dev, src);
	CHECK(sga_gw_wake_ack_seal(&dev, ctr, invites, (unsigned)stored, &out));
	deliver(h, st, &out, dev.id, dev.id_len, src);
out:
	sga_memzero(&dev, sizeof(dev));
	return rc;
}

/* ---- KEX_INIT (B1/B3 -> B5/B6) --------------------------------------------------- */

int cp_sessions_commit(const struct cp_handler *h, struct store *st, struct store_estab *e,
                       unsigned n)
{
	int installed = 0, rc;

	for (unsigned i = 0; i < n; i++)
		e[i].block = tx_block(h);
	rc = store_session_establish(st, e, n);
	if (rc)
		return rc;
	for (unsigned i = 0; i < n; i++) {
		const struct sga_gw_session *s = e[i].s;
		uint64_t tx_seq[2] = {e[i].limit[0] - e[i].block, e[i].limit[1] - e[i].block};

		rc = h->install.fn ? h->install.fn(h->install.ctx, s, e[i].addr, tx_seq, e[i].limit,
		                                   e[i].rx_next)
		                   : -1;
		if (rc) {
			cp_log(CP_LOG_ERR,
			       "session %016llx established but not installed (%d); dropped",
			       (unsigned long long)s->session_id, rc);
			(void)store_session_del(st, s->session_id);
			continue;
		}
		installed++;
	}
	return installed;
}

/*
 * The session just became ESTABLISHED: store and index it with a hop TX range
 * reserved towards each member (one round trip), and install it with both
 * members' addresses (the sender's is src; the peer's is the one stored for
 * it, or unknown until it sends). If the data plane refuses it, the session
 * is deleted and no reply leaves: the devices time out and negotiate again.
 */
static int establish(const struct cp_handler *h, struct store *st, const struct sga_gw_session *s,
                     uint8_t role, const struct dp_addr *src)
{
	struct store_estab e;
	uint8_t peer = role ^ 1;
	int rc;

	memset(&e, 0, sizeof(e));
	e.s = s;
	e.addr[role] = *src;
	rc = store_device_get_addr(st, s->id[peer], s->id_len[peer], &e.addr[peer]);
	if (rc == -SGA_E_UNKNOWN_DEVICE)
		rc = 0; /* deregistered meanwhile: the address stays unknown */
	if (rc)
		goto out;
	rc = cp_sessions_commit(h, st, &e, 1);
	if (rc < 0)
		goto out;
	if (rc == 0) {
		rc = -SGA_E_INTERNAL;
		goto out;
	}
	rc = 0;
	COUNT(h, sessions);
	cp_log(CP_LOG_DEBUG, "session %016llx established between %.*s and %.*s",
	       (unsigned long long)s->session_id, (int)s->id_len[0], (const char *)s->id[0],
	       (int)s->id_len[1], (const char *)s->id[1]);
out:
	return rc;
}

static int on_kex_init(const struct cp_handler *h, struct store *st, const struct sga_gw_peek *pk,
                       const uint8_t *frame, size_t len, const struct dp_addr *src, struct ref *ref,
                       int *authed, unsigned flags)
{
	struct sga_gw_device dev;
	struct sga_gw_session sess;
	struct sga_gw_out out;
	uint8_t role = pk->role, prev_state, prev_have;
	int rc;

	memset(&dev, 0, sizeof(dev));
	memset(&sess, 0, sizeof(sess));
	out.n = 0;
	ref_sid(ref, pk->session_id);
	if (role > 1) {
		rc = -SGA_E_BAD_FIELD;
		goto out;
	}
	CHECK(load_sess(st, pk->session_id, &sess));
	if (sess.state == SGA_GW_S_INVITED && (flags & CP_F_MAY_DEFER)) {
		/* The responder sends NEG_ACCEPT and KEX_INIT back to back; the
		 * data plane routes the first by device and the second by session,
		 * so they may land on two workers and this one overtake the accept
		 * still in progress. Try again shortly rather than refuse it and
		 * make the device wait for its retransmission. */
		rc = CP_DEFERRED;
		goto out;
	}
	CHECK(load_dev(st, sess.id[role], sess.id_len[role], &dev));
	prev_state = sess.state;
	prev_have = sess.have_init;
	rc = sga_gw_kex_init_handle(h->gw, &dev, &sess, frame, len, &out);
	*authed = authenticated(rc);
	if (rc)
		goto out;
	if (sess.have_init != prev_have) {
		/* This role's first KEX_INIT: fresh, so its source is the device's
		 * address now. A retransmission (the same bytes, which anyone may
		 * replay) moves nothing and is answered at src alone. */
		if (sess.state == SGA_GW_S_ESTABLISHED && prev_state != SGA_GW_S_ESTABLISHED)
			CHECK(establish(h, st, &sess, role, src));
		else
			CHECK(store_session_put(st, &sess)); /* keep N and K */
		(void)store_device_set_addr(st, dev.id, dev.id_len, src);
	}
	deliver(h, st, &out, dev.id, dev.id_len, src);
out:
	sga_memzero(&dev, sizeof(dev));
	sga_gw_session_wipe(&sess);
	return rc;
}

/* ---- shared with cp_rekey.c --------------------------------------------------------- */

int cp_load_dev(struct store *st, const uint8_t *id, uint8_t id_len, struct sga_gw_device *d)
{
	return load_dev(st, id, id_len, d);
}

int cp_load_sess(struct store *st, uint64_t sid, struct sga_gw_session *s)
{
	return load_sess(st, sid, s);
}

void cp_deliver(const struct cp_handler *h, struct store *st, const struct sga_gw_out *out,
                const uint8_t *from_id, uint8_t from_len, const struct dp_addr *src)
{
	deliver(h, st, out, from_id, from_len, src);
}

/* ---- entry points ---------------------------------------------------------------- */

static int on_adopt(const struct cp_handler *h, struct store *st, const uint8_t *frame, size_t len,
                    const struct dp_addr *src);

int cp_handle_frame(const struct cp_handler *h, struct store *st, const uint8_t *frame, size_t len,
                    const struct dp_addr *src, unsigned flags)
{
	struct sga_gw_peek pk;
	struct ref ref = {0};
	int authed = 0, quiet = 0, rc;

	CHECK(sga_gw_peek(frame, len, &pk));
	switch (pk.type) {
	case SGA_MSG_PKG_REQ:
		rc = on_pkg_req(h, st, frame, len, src);
		break;
	case SGA_MSG_REG_REQ:
		rc = on_reg_req(h, st, frame, len, src, &ref, &authed);
		break;
	case SGA_MSG_NEG_REQ:
		rc = on_neg_req(h, st, &pk, frame, len, src, &ref, &authed, &quiet);
		break;
	case SGA_MSG_NEG_ACCEPT:
		rc = on_neg_accept(h, st, &pk, frame, len, src, &ref, &authed, &quiet);
		break;
	case SGA_MSG_WAKE:
		rc = on_wake(h, st, &pk, frame, len, src, &ref, &authed, &quiet);
		break;
	case SGA_MSG_KEX_INIT:
		rc = on_kex_init(h, st, &pk, frame, len, src, &ref, &authed, flags);
		break;
	case SGA_MSG_SESSION_CLOSE:
		rc = cp_on_session_close(h, st, frame, len, src, &authed); /* cp_lifecycle.c */
		break;
	case SGA_MSG_REKEY_INIT:
		ref_sid(&ref, pk.session_id);
		rc = cp_rekey_init(h, st, &pk, frame, len, src, &authed, &quiet);
		break;
	case SGA_MSG_DATA_UP:
	case SGA_MSG_DATA_DELIVERED:
		/* Only with adoption on, and never answered: anyone can send one. */
		quiet = 1;
		rc = h->adopt.fn ? on_adopt(h, st, frame, len, src) : -SGA_E_BAD_TYPE;
		break;
	default:
		rc = -SGA_E_BAD_TYPE; /* DATA_UP is the data plane's */
		break;
	}
out:
	if (rc != CP_DEFERRED)
		COUNT(h, handled);
	if (rc == CP_DEFERRED)
		return rc; /* counted when it is handled */
	if (rc == -SGA_E_UNAVAILABLE)
		COUNT(h, unavailable);
	else if (rc)
		COUNT(h, rejected);
	if (rc && !quiet)
		reply_error(h, src, rc, authed, &ref, len);
	return rc;
}

/* Restore one indexed session; 0 when installed. */
/* A session read from st (ESTABLISHED) into the data plane with its
 * persisted marks and addresses: fresh hop TX ranges reserved, then the
 * install. The restart's and the adoption's common part. */
static int install_stored(const struct cp_handler *h, struct store *st,
                          const struct sga_gw_session *s, const uint64_t rx_next[2],
                          const struct dp_addr addr[2])
{
	uint64_t block = tx_block(h), limit[2], tx_seq[2];
	int rc;

	/* This gateway owns it from now on ([sessions] adopt): the marks and
	 * reservations of a gateway that had it before are refused from here. */
	CHECK(store_session_own(st, s->session_id));
	/* Fresh ranges: whatever the data plane used before the restart lies
	 * below the old limits, so reusing none of it needs no knowledge of it. */
	for (uint8_t r = 0; r < 2; r++) {
		CHECK(store_session_reserve(st, s->session_id, r, block, &limit[r]));
		tx_seq[r] = limit[r] - block;
	}
	rc = h->install.fn ? h->install.fn(h->install.ctx, s, addr, tx_seq, limit, rx_next) : -1;
	if (rc) {
		cp_log(CP_LOG_ERR, "session %016llx not restored: install failed (%d)",
		       (unsigned long long)s->session_id, rc);
		rc = -SGA_E_INTERNAL;
	}
out:
	return rc;
}

static int restore_one(const struct cp_handler *h, struct store *st, uint64_t sid,
                       struct sga_gw_session *s)
{
	uint64_t rx_next[2];
	struct dp_addr addr[2];
	int rc;

	rc = load_sess(st, sid, s);
	if (rc == -SGA_E_UNKNOWN_SESSION) {
		/* The record is gone (deleted between the two commands of a
		 * delete, or by an operator): drop the stale index entry. */
		(void)store_session_del(st, sid);
		goto out;
	}
	if (rc)
		goto out;
	if (s->state != SGA_GW_S_ESTABLISHED) {
		rc = -SGA_E_BAD_STATE;
		goto out;
	}
	/* Several gateways: one that adopted the session while this one was
	 * down keeps it; it comes back here by adoption, on a frame of it. */
	rc = store_session_owned_elsewhere(st, sid);
	if (rc) {
		rc = rc > 0 ? -STORE_E_NOT_OWNER : rc;
		goto out;
	}
	CHECK(store_session_get_marks(st, sid, rx_next, addr));
	rc = install_stored(h, st, s, rx_next, addr);
out:
	sga_gw_session_wipe(s);
	return rc;
}

/*
 * A cluster (PROTOCOL.md 9.6): an authentic, fresh frame of a session the
 * record says another gateway owns, which holds its lease, goes to that
 * gateway, and so do the session's next frames that reach this one (the data
 * plane's forward table): the devices of a session may reach different
 * gateways, and one of them, the owner, keeps the session's windows and hop
 * sequences. A frame a peer forwarded here is never passed on again (the
 * peer's view was stale; the device re-sends it). Returns 0 when forwarded,
 * 1 when this gateway should adopt (no owner, itself, or the owner is down),
 * or a negated SGA_E_*.
 */
static int to_owner(const struct cp_handler *h, struct store *st, uint64_t sid,
                    const struct dp_addr *src, const uint8_t *frame, size_t len)
{
	const struct dp_nodes *nodes = h->cluster.nodes;
	char owner[STORE_OWNER_MAX];
	unsigned node;
	int rc;

	CHECK(store_session_owner(st, sid, owner, sizeof(owner)));
	node = owner[0] ? dp_nodes_find(nodes, owner, strlen(owner)) : 0;
	if (!node || node == nodes->self || !h->cluster.alive(h->cluster.ctx, node))
		return 1;
	if (src->via) {
		COUNT(h, misrouted);
		return -SGA_E_BAD_STATE;
	}
	rc = h->cluster.forward(h->cluster.ctx, sid, node, src, frame, len);
	if (rc < 0)
		return -SGA_E_UNAVAILABLE; /* the next frame tries again */
	if (rc > 0)
		return 0; /* one of the frames that came before the table had it */
	COUNT(h, to_owner);
	cp_log(CP_LOG_INFO,
	       "session %016llx: owned by %s: its frames that reach this gateway go there",
	       (unsigned long long)sid, owner);
out:
	return rc;
}

/*
 * Adoption (PROTOCOL.md 9.5). A data frame of a session this gateway has not
 * installed: its devices now reach this gateway (the one that set the
 * session up failed, or the network moved them), or it is forged. The
 * session is installed as a restart would install it (install_stored: the
 * record, the persisted replay marks and addresses, fresh hop TX ranges
 * reserved above every range handed out before, by any gateway; the next hop
 * towards both members is the one this frame came through) - but only
 * if the frame opens under the session's keys and lies above the member's
 * persisted mark: a forged frame, or a replay of one the mark covers, costs
 * one state-store read and installs nothing. The frame itself is not
 * relayed (its sender sends it again: the SDK re-sends what no DATA_ACK
 * named); the ones after it are.
 */
static int on_adopt(const struct cp_handler *h, struct store *st, const uint8_t *frame, size_t len,
                    const struct dp_addr *src)
{
	uint8_t buf[SGA_FRAME_MAX], *inner;
	uint64_t rx_next[2], seq;
	struct sga_gw_session s;
	struct sga_env_hop env;
	struct dp_addr addr[2];
	size_t inner_len;
	int rc;

	memset(&s, 0, sizeof(s));
	if (len > sizeof(buf))
		CHECK(-SGA_E_OVERSIZED);
	CHECK(sga_env_hop_decode(frame, len, &env));
	if (env.role > 1)
		CHECK(-SGA_E_BAD_FIELD);
	if (h->adopt.fn(h->adopt.ctx, env.session_id))
		return 0; /* installed meanwhile: the next frame goes through */
	CHECK(load_sess(st, env.session_id, &s));
	if (s.state != SGA_GW_S_ESTABLISHED)
		CHECK(-SGA_E_BAD_STATE);
	CHECK(store_session_get_marks(st, env.session_id, rx_next, addr));
	memcpy(buf, frame, len);
	CHECK(sga_hop_open_up(&s.hop[env.role], env.session_id, env.role, buf, len, &seq, &inner,
	                      &inner_len));
	if (seq < rx_next[env.role])
		CHECK(-SGA_E_REPLAY);
	if (h->cluster.nodes) {
		rc = to_owner(h, st, env.session_id, src, frame, len);
		if (rc <= 0)
			goto out; /* gone to its owner (0), or refused */
		rc = 0;
	}
	/* The persisted addresses carry the next hop of the gateway that wrote
	 * them (its router); towards both members this gateway's is the one
	 * this frame came through. IP addresses and ports stay as persisted. */
	for (uint8_t r = 0; r < 2; r++) {
		/* A cluster: a member last seen through a gateway that is down
		 * now is taken as reaching this one (its next frame says). */
		if (addr[r].via && h->cluster.nodes &&
		    !h->cluster.alive(h->cluster.ctx, addr[r].via))
			addr[r].via = 0;
		if (addr[r].via || src->via)
			continue; /* through a peer: its MAC, not this gateway's next hop */
		memcpy(addr[r].mac, src->mac, sizeof(addr[r].mac));
		addr[r].vlan = src->vlan;
	}
	CHECK(install_stored(h, st, &s, rx_next, addr));
	COUNT(h, adopted);
	cp_log(CP_LOG_INFO, "session %016llx adopted: a frame of member %u reached this gateway",
	       (unsigned long long)env.session_id, env.role);
	if (h->backlog.fn) {
		/* What the gateway that held the session had stored and
		 * acknowledged: delivered from here now (PROTOCOL.md 9.5). */
		int n = h->backlog.fn(h->backlog.ctx, st, env.session_id);

		if (n < 0) {
			COUNT(h, backlog_failed);
			cp_log(CP_LOG_ERR,
			       "session %016llx: its replicated messages could not be read (%d); "
			       "they stay in Redis",
			       (unsigned long long)env.session_id, n);
		} else if (n > 0) {
			if (h->ctr)
				atomic_fetch_add_explicit(&h->ctr->backlog_msgs, (uint64_t)n,
				                          memory_order_relaxed);
			cp_log(CP_LOG_INFO,
			       "session %016llx: %d replicated messages handed to the data plane",
			       (unsigned long long)env.session_id, n);
		}
	}
out:
	if (rc)
		COUNT(h, adopt_refused);
	sga_memzero(buf, sizeof(buf));
	sga_gw_session_wipe(&s);
	return rc;
}

int cp_core_restore(const struct cp_handler *h, struct store *st)
{
	struct sga_gw_session s;
	uint64_t *ids = NULL;
	unsigned n = 0, elsewhere = 0;
	int installed = 0, rc = 0;

	memset(&s, 0, sizeof(s));
	rc = store_session_list_all(st, &ids, &n);
	if (rc)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		if (h->installed.fn && h->installed.fn(h->installed.ctx, ids[i]))
			continue; /* installed since start-up (lab provisioning) */
		rc = restore_one(h, st, ids[i], &s);
		if (rc == -SGA_E_UNAVAILABLE)
			goto out;
		if (!rc) {
			installed++;
			COUNT(h, restored);
		}
		elsewhere += rc == -STORE_E_NOT_OWNER;
	}
	if (elsewhere)
		cp_log(CP_LOG_INFO,
		       "%u sessions are owned by other gateways ([sessions] adopt): left to them",
		       elsewhere);
	rc = installed;
out:
	free(ids);
	sga_gw_session_wipe(&s);
	return rc;
}
