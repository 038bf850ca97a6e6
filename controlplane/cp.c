/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cp.c - the control plane's threads (see cp.h): n workers, each polling its
 * own control ring of the data plane and running cp_handle_frame with its own
 * Redis connection, and one housekeeping thread that serves the data plane's
 * hop-sequence reservation requests and persists replay marks and addresses.
 *
 * Workers poll rather than block: dp_ctrl_dequeue is a lock-free ring read,
 * and an idle worker sleeps 200 us between polls, which keeps handshake latency
 * far below one Redis round trip while costing an idle core almost nothing.
 * Installs into the data plane's session table are serialised by one mutex
 * (dp_session_install allows one writer; installs are rare and off the data
 * path). Nothing here allocates per frame.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_mbuf.h>

#include "cp.h"
#include "cp_handler.h"
#include "cp_log.h"

#define CP_BURST              32
#define CP_IDLE_NS            200000L  /* worker poll period when its ring is empty */
#define CP_HK_NS              1000000L /* housekeeping tick */
#define CP_PERSIST_DEFAULT_MS 1000u
#define CP_RESV_BURST         64
#define CP_RESV_RETRY_MAX     1024 /* reservation requests kept while Redis is down */
#define CP_MAX_WORKERS        1024

struct cp_worker {
	struct cp *cp;
	unsigned idx;
	pthread_t th;
	int started;
	struct store *st;
};

/* What the housekeeping thread last persisted for a session. */
struct cp_mark {
	uint64_t sid;
	uint64_t rx_next[2];
	struct dp_addr addr[2];
	int saved;
};

struct cp_views {
	struct dp_session_view *v;
	size_t n, cap;
	int oom;
};

struct cp {
	const struct sga_gw *gw;
	struct dp *dp;
	atomic_int stop;
	struct cp_counters ctr;
	_Atomic uint64_t reservations;
	_Atomic uint64_t persisted;
	struct cp_handler h;
	pthread_mutex_t install_mu;
	int install_mu_ok;
	unsigned persist_ms;
	uint64_t tx_block;

	unsigned n_workers;
	struct cp_worker *w;

	/* cp_restore_sessions' connection (any thread, under main_mu). */
	pthread_mutex_t main_mu;
	int main_mu_ok;
	struct store *main_st;

	/* housekeeping thread only */
	pthread_t hk;
	int hk_started;
	struct store *hk_st;
	struct cp_mark *marks;
	size_t n_marks;
	struct dp_resv_req retry[CP_RESV_RETRY_MAX];
	unsigned n_retry;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ns(long ns)
{
	struct timespec ts = {0, ns};

	nanosleep(&ts, NULL);
}

static int stopping(struct cp *cp)
{
	return atomic_load_explicit(&cp->stop, memory_order_acquire);
}

/* ---- handler callbacks ------------------------------------------------------------ */

static int cb_send(void *ctx, const struct dp_addr *dst, const uint8_t *frame, size_t len)
{
	struct cp *cp = ctx;

	return dp_ctrl_send(cp->dp, dst, frame, len);
}

static int cb_install(void *ctx, const struct sga_gw_session *s, const struct dp_addr addr[2],
                      const uint64_t tx_seq[2], const uint64_t tx_limit[2],
                      const uint64_t rx_next[2])
{
	struct cp *cp = ctx;
	int rc;

	pthread_mutex_lock(&cp->install_mu);
	rc = dp_session_install(cp->dp, s, addr, tx_seq, tx_limit, rx_next);
	pthread_mutex_unlock(&cp->install_mu);
	return rc;
}

/* ---- workers ---------------------------------------------------------------------- */

static void *worker_main(void *arg)
{
	struct cp_worker *w = arg;
	struct cp *cp = w->cp;
	struct rte_mbuf *pkts[CP_BURST];
	unsigned n;

	while (!stopping(cp)) {
		n = dp_ctrl_dequeue(cp->dp, w->idx, pkts, CP_BURST);
		if (!n) {
			sleep_ns(CP_IDLE_NS);
			continue;
		}
		for (unsigned i = 0; i < n; i++) {
			const uint8_t *frame;
			struct dp_addr src;
			size_t len;

			if (!dp_ctrl_payload(pkts[i], &frame, &len, &src)) {
				int rc = cp_handle_frame(&cp->h, w->st, frame, len, &src);

				(void)rc; /* counted by the handler */
			}
			rte_pktmbuf_free(pkts[i]);
		}
	}
	/* Frames still queued are not handled after stop: free their mbufs. */
	while ((n = dp_ctrl_dequeue(cp->dp, w->idx, pkts, CP_BURST)) > 0)
		for (unsigned i = 0; i < n; i++)
			rte_pktmbuf_free(pkts[i]);
	return NULL;
}

/* ---- housekeeping: reservations ------------------------------------------------------ */

/* 0 done (or moot: the session is gone), -SGA_E_UNAVAILABLE to retry. */
static int reserve_one(struct cp *cp, const struct dp_resv_req *r)
{
	uint64_t limit;
	int rc = store_session_reserve(cp->hk_st, r->session_id, r->role, cp->tx_block, &limit);

	if (rc == -SGA_E_UNAVAILABLE)
		return rc;
	if (rc) {
		/* Deleted session, or its 63-bit range is spent: the data plane
		 * stops sending on it at its current limit. */
		return 0;
	}
	atomic_fetch_add_explicit(&cp->reservations, 1, memory_order_relaxed);
	/* Fails only if the session was uninstalled meanwhile: nothing to do. */
	(void)dp_session_extend(cp->dp, r->session_id, r->role, limit);
	return 0;
}

static void retry_add(struct cp *cp, const struct dp_resv_req *r)
{
	for (unsigned i = 0; i < cp->n_retry; i++)
		if (cp->retry[i].session_id == r->session_id && cp->retry[i].role == r->role)
			return;
	if (cp->n_retry < CP_RESV_RETRY_MAX)
		cp->retry[cp->n_retry++] = *r;
	else
		cp_log(CP_LOG_WARNING, "reservation for session %016llx dropped: retry list full",
		       (unsigned long long)r->session_id);
}

static void serve_reservations(struct cp *cp)
{
	struct dp_resv_req reqs[CP_RESV_BURST];
	unsigned n, kept = 0;

	/* Requests that met an outage first, in order; stop at the next failure. */
	for (unsigned i = 0; i < cp->n_retry; i++)
		if (kept || reserve_one(cp, &cp->retry[i]))
			cp->retry[kept++] = cp->retry[i];
	cp->n_retry = kept;
	while ((n = dp_resv_dequeue(cp->dp, reqs, CP_RESV_BURST)) > 0) {
		for (unsigned i = 0; i < n; i++)
			if (cp->n_retry || reserve_one(cp, &reqs[i]))
				retry_add(cp, &reqs[i]);
		if (n < CP_RESV_BURST)
			break;
	}
}

/* ---- housekeeping: marks ------------------------------------------------------------- */

static void collect_view(const struct dp_session_view *v, void *arg)
{
	struct cp_views *vs = arg;

	if (vs->n == vs->cap) {
		size_t cap = vs->cap ? 2 * vs->cap : 256;
		struct dp_session_view *grown = realloc(vs->v, cap * sizeof(*grown));

		if (!grown) {
			vs->oom = 1;
			return;
		}
		vs->v = grown;
		vs->cap = cap;
	}
	vs->v[vs->n++] = *v;
}

static int cmp_view(const void *a, const void *b)
{
	uint64_t x = ((const struct dp_session_view *)a)->session_id;
	uint64_t y = ((const struct dp_session_view *)b)->session_id;

	return x < y ? -1 : x > y;
}

static int cmp_mark_key(const void *key, const void *m)
{
	uint64_t x = *(const uint64_t *)key, y = ((const struct cp_mark *)m)->sid;

	return x < y ? -1 : x > y;
}

static int addr_eq(const struct dp_addr *a, const struct dp_addr *b)
{
	return a->ip == b->ip && a->port == b->port && !memcmp(a->mac, b->mac, sizeof(a->mac));
}

/*
 * Persist the marks and addresses of every installed session whose values
 * changed since the last successful write. After a Redis failure the rest of
 * the pass is skipped (they stay "unsaved" and go out on the next pass).
 */
static void persist_marks(struct cp *cp)
{
	struct cp_views vs = {NULL, 0, 0, 0};
	struct cp_mark *next = NULL;
	int down = 0;

	dp_session_foreach(cp->dp, collect_view, &vs);
	if (vs.oom)
		goto out;
	if (vs.n) {
		next = calloc(vs.n, sizeof(*next));
		if (!next)
			goto out;
		qsort(vs.v, vs.n, sizeof(*vs.v), cmp_view);
	}
	for (size_t i = 0; i < vs.n; i++) {
		const struct dp_session_view *v = &vs.v[i];
		const struct cp_mark *old = cp->n_marks
		                                ? bsearch(&v->session_id, cp->marks, cp->n_marks,
		                                          sizeof(*cp->marks), cmp_mark_key)
		                                : NULL;
		struct cp_mark *m = &next[i];
		int rc;

		m->sid = v->session_id;
		memcpy(m->rx_next, v->rx_next, sizeof(m->rx_next));
		memcpy(m->addr, v->addr, sizeof(m->addr));
		if (old && old->saved && old->rx_next[0] == v->rx_next[0] &&
		    old->rx_next[1] == v->rx_next[1] && addr_eq(&old->addr[0], &v->addr[0]) &&
		    addr_eq(&old->addr[1], &v->addr[1])) {
			m->saved = 1;
			continue;
		}
		if (down)
			continue;
		rc = store_session_set_marks(cp->hk_st, v->session_id, v->rx_next, v->addr);
		if (rc == -SGA_E_UNAVAILABLE)
			down = 1;
		m->saved = !rc || rc == -SGA_E_UNKNOWN_SESSION;
		if (!rc)
			atomic_fetch_add_explicit(&cp->persisted, 1, memory_order_relaxed);
	}
	free(cp->marks);
	cp->marks = next;
	cp->n_marks = vs.n;
	next = NULL;
out:
	free(next);
	free(vs.v);
}

static void *hk_main(void *arg)
{
	struct cp *cp = arg;
	uint64_t next = mono_ms() + cp->persist_ms;

	while (!stopping(cp)) {
		serve_reservations(cp);
		if (mono_ms() >= next) {
			persist_marks(cp);
			next = mono_ms() + cp->persist_ms;
		}
		sleep_ns(CP_HK_NS);
	}
	return NULL;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

static void cp_free(struct cp *cp)
{
	if (cp->w) {
		for (unsigned i = 0; i < cp->n_workers; i++)
			store_close(cp->w[i].st);
		free(cp->w);
	}
	store_close(cp->hk_st);
	store_close(cp->main_st);
	if (cp->install_mu_ok)
		pthread_mutex_destroy(&cp->install_mu);
	if (cp->main_mu_ok)
		pthread_mutex_destroy(&cp->main_mu);
	free(cp->marks);
	free(cp);
}

static void cp_join(struct cp *cp)
{
	atomic_store_explicit(&cp->stop, 1, memory_order_release);
	for (unsigned i = 0; cp->w && i < cp->n_workers; i++)
		if (cp->w[i].started) {
			pthread_join(cp->w[i].th, NULL);
			cp->w[i].started = 0;
		}
	if (cp->hk_started) {
		pthread_join(cp->hk, NULL);
		cp->hk_started = 0;
	}
}

struct cp *cp_start(const struct cp_config *cfg, const struct sga_gw *gw, struct dp *dp)
{
	struct store_config scfg;
	struct cp *cp = NULL;
	char name[16];
	int err = 0;

	if (!cfg || !gw || !dp || cfg->n_workers == 0 || cfg->n_workers > CP_MAX_WORKERS) {
		errno = EINVAL;
		return NULL;
	}
	scfg = cfg->store;
	if (!scfg.backoff_max_ms)
		scfg.backoff_max_ms = cfg->backoff_max_ms;
	cp = calloc(1, sizeof(*cp));
	if (!cp) {
		err = ENOMEM;
		goto out;
	}
	cp->gw = gw;
	cp->dp = dp;
	cp->persist_ms =
	    cfg->persist_interval_ms ? cfg->persist_interval_ms : CP_PERSIST_DEFAULT_MS;
	cp->tx_block = cfg->tx_seq_block ? cfg->tx_seq_block : CP_TX_BLOCK_DEFAULT;
	cp->h.gw = gw;
	cp->h.send.fn = cb_send;
	cp->h.send.ctx = cp;
	cp->h.install.fn = cb_install;
	cp->h.install.ctx = cp;
	cp->h.tx_block = cp->tx_block;
	cp->h.ctr = &cp->ctr;
	if ((err = pthread_mutex_init(&cp->install_mu, NULL)) != 0)
		goto out;
	cp->install_mu_ok = 1;
	if ((err = pthread_mutex_init(&cp->main_mu, NULL)) != 0)
		goto out;
	cp->main_mu_ok = 1;
	cp->main_st = store_open(&scfg);
	cp->hk_st = store_open(&scfg);
	cp->w = calloc(cfg->n_workers, sizeof(*cp->w));
	if (!cp->main_st || !cp->hk_st || !cp->w) {
		err = ENOMEM;
		goto out;
	}
	cp->n_workers = cfg->n_workers;
	for (unsigned i = 0; i < cp->n_workers; i++) {
		cp->w[i].cp = cp;
		cp->w[i].idx = i;
		cp->w[i].st = store_open(&scfg);
		if (!cp->w[i].st) {
			err = ENOMEM;
			goto out;
		}
	}
	for (unsigned i = 0; i < cp->n_workers; i++) {
		if ((err = pthread_create(&cp->w[i].th, NULL, worker_main, &cp->w[i])) != 0)
			goto out;
		cp->w[i].started = 1;
		snprintf(name, sizeof(name), "sga-cp-%u", i % 1000u); /* 15 chars + NUL */
		pthread_setname_np(cp->w[i].th, name);
	}
	if ((err = pthread_create(&cp->hk, NULL, hk_main, cp)) != 0)
		goto out;
	cp->hk_started = 1;
	pthread_setname_np(cp->hk, "sga-cp-hk");
out:
	sga_memzero(&scfg, sizeof(scfg));
	if (err) {
		if (cp) {
			cp_join(cp);
			cp_free(cp);
		}
		errno = err;
		return NULL;
	}
	return cp;
}

int cp_restore_sessions(struct cp *cp)
{
	int rc;

	pthread_mutex_lock(&cp->main_mu);
	rc = cp_core_restore(&cp->h, cp->main_st);
	pthread_mutex_unlock(&cp->main_mu);
	if (rc >= 0)
		return rc;
	return rc == -SGA_E_UNAVAILABLE ? -EAGAIN : -EIO;
}

void cp_stop(struct cp *cp)
{
	if (!cp)
		return;
	cp_join(cp);
	/* Last marks: what the lcores accepted up to now (they may still run). */
	persist_marks(cp);
	cp_free(cp);
}

void cp_get_stats(const struct cp *cp, struct cp_stats *out)
{
	struct cp *c = (struct cp *)cp; /* atomics are read, never written, here */

	memset(out, 0, sizeof(*out));
	out->handled = atomic_load_explicit(&c->ctr.handled, memory_order_relaxed);
	out->rejected = atomic_load_explicit(&c->ctr.rejected, memory_order_relaxed);
	out->unavailable = atomic_load_explicit(&c->ctr.unavailable, memory_order_relaxed);
	out->sessions = atomic_load_explicit(&c->ctr.sessions, memory_order_relaxed);
	out->registered = atomic_load_explicit(&c->ctr.registered, memory_order_relaxed);
	out->undelivered = atomic_load_explicit(&c->ctr.undelivered, memory_order_relaxed);
	out->restored = atomic_load_explicit(&c->ctr.restored, memory_order_relaxed);
	out->reservations = atomic_load_explicit(&c->reservations, memory_order_relaxed);
	out->persisted = atomic_load_explicit(&c->persisted, memory_order_relaxed);
	for (unsigned i = 0; i < c->n_workers; i++)
		out->reconnects += store_reconnects(c->w[i].st);
	out->reconnects += store_reconnects(c->hk_st) + store_reconnects(c->main_st);
}
