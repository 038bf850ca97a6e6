/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_session.c - the data plane's session table: install, extend, remove,
 * snapshot.
 *
 * An rte_hash keyed by the 64-bit session id with lock-free readers
 * (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF): the lcores look sessions up without
 * any lock while one control-plane thread installs. The hash stores a pointer to
 * a slot in a preallocated array (dp_session.h says who writes which field).
 *
 * Replacing an installed session publishes a new slot rather than rewriting the
 * live one, because an lcore may be in the middle of a relay on it; removing
 * one deletes its key. Either way the old slot is retired and reused only once
 * no lcore and no crypto op in flight can reach it (dp_rcu.c), so the array is
 * sized with headroom for slots waiting for that.
 *
 * An install also prepares the slot's crypto (struct dp_cdev_sess): for each
 * member whose suite the crypto device serves, one cryptodev session that
 * opens its DATA_UP and DATA_DELIVERED (key_up) and one that seals its
 * DATA_DOWN and DATA_ACK (key_down); for a member the device does not serve, or
 * that cannot get its sessions (the pool is spent: [crypto] aead_sessions), the
 * same two keys as prepared CPU keys (sga_aead_key: one OpenSSL context each,
 * keyed once), so the CPU path does no key schedule per frame either. They are
 * written before the slot is published, like the rest of it, and freed when
 * the slot is (dp_rcu.c), or by dp_destroy.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "dp_priv.h"
#include "dp_rekey.h"
#include "sga_rekey.h"

int dp_sessions_create(struct dp *dp)
{
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters hp = {
	    .name = name,
	    .key_len = sizeof(uint64_t),
	    .hash_func = rte_hash_crc,
	    .hash_func_init_val = 0,
	    .socket_id = dp->socket,
	    /* Lock-free readers; the extendable table guarantees max_sessions
		 * keys fit whatever their bucket collisions. */
	    .extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	unsigned max = dp->cfg.max_sessions;
	int rc;

	snprintf(name, sizeof(name), "sga_dp%u_sess", dp->instance);
	/* Headroom for re-installs of an existing id, which consume a slot, and
	 * for removed and replaced slots waiting to be freed (dp_rcu.c). */
	dp->n_slots = dp_n_slots(max);
	/* A deleted key keeps its position until its slot is freed: room for
	 * every slot. The live count is held to max_sessions by the install. */
	hp.entries = RTE_MAX(dp->n_slots, 8u); /* one bucket at least */
	dp->sessions = rte_hash_create(&hp);
	if (!dp->sessions) {
		DP_LOG(ERR, "session table (%u entries): %s", max, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	dp->slots =
	    rte_zmalloc_socket("sga_dp_slots", (size_t)dp->n_slots * sizeof(struct dp_session),
	                       RTE_CACHE_LINE_SIZE, dp->socket);
	if (!dp->slots) {
		DP_LOG(ERR, "session slots (%u): out of memory", dp->n_slots);
		return -ENOMEM;
	}
	dp->moved = rte_zmalloc_socket("sga_dp_moved", ((size_t)dp->n_slots + 63) / 64 * 8,
	                               RTE_CACHE_LINE_SIZE, dp->socket);
	if (!dp->moved) {
		DP_LOG(ERR, "moved-slot bitmap (%u): out of memory", dp->n_slots);
		return -ENOMEM;
	}
	/* With or without a device: the CPU path's prepared keys live here too. */
	dp->cs =
	    rte_zmalloc_socket("sga_dp_cs", (size_t)dp->n_slots * sizeof(*dp->cs), 0, dp->socket);
	if (!dp->cs) {
		DP_LOG(ERR, "crypto session table (%u): out of memory", dp->n_slots);
		return -ENOMEM;
	}
	rc = dp_devidx_create(dp);
	if (rc)
		return rc;
	return dp_rcu_create(dp);
}

static void dp_cdev_sess_free(struct dp *dp, struct dp_cdev_sess *cs)
{
	for (int r = 0; r < 2; r++) {
		sga_cdev_session_free(dp->cdev, cs->open[r]);
		sga_cdev_session_free(dp->cdev, cs->seal[r]);
		sga_aead_key_free(cs->cpu_open[r]); /* wipes the key schedule */
		sga_aead_key_free(cs->cpu_seal[r]);
		sga_aead_key_free(cs->cpu_open_prev[r]);
	}
	memset(cs, 0, sizeof(*cs));
}

void dp_slot_crypto_free(struct dp *dp, unsigned idx)
{
	dp_cdev_sess_free(dp, &dp->cs[idx]);
	dp->slots[idx].cs = NULL;
}

void dp_sessions_free(struct dp *dp)
{
	if (dp->cs) {
		/* Free, live and retired slots alike (a free one's entry is zero). */
		for (unsigned i = 0; i < dp->n_slots; i++)
			dp_cdev_sess_free(dp, &dp->cs[i]);
		rte_free(dp->cs);
		dp->cs = NULL;
	}
	if (dp->slots) {
		/* The slots hold hop keys. */
		sga_memzero(dp->slots, (size_t)dp->n_slots * sizeof(struct dp_session));
		rte_free(dp->slots);
		dp->slots = NULL;
	}
	rte_free(dp->moved);
	dp->moved = NULL;
	rte_hash_free(dp->sessions);
	dp->sessions = NULL;
	dp_devidx_free(dp);
	dp_rcu_free(dp);
}

struct dp_session *dp_session_lookup(const struct dp *dp, uint64_t session_id)
{
	void *data;

	if (rte_hash_lookup_data(dp->sessions, &session_id, &data) < 0)
		return NULL;
	return data;
}

/* Mark every hop sequence number below rx_next as seen: the replay mark
 * persisted before a restart. Marking the last window's worth through the
 * library's own update keeps the window's invariants; anything older is refused
 * as too old by sga_replay_check. */
static void dp_replay_preset(struct sga_replay *w, uint64_t rx_next)
{
	const uint64_t span = SGA_REPLAY_WINDOW - 64;
	uint64_t seq = rx_next > span ? rx_next - span : 0;

	for (; seq < rx_next; seq++)
		sga_replay_update(w, seq);
}

/* The CPU path's prepared keys of member r: the direction(s) the device does
 * not serve. -errno when OpenSSL cannot make them (the install fails: there is
 * no slower path left to fall back to). */
static int dp_cpu_keys_create(struct dp_session *slot, struct dp_cdev_sess *cs, int r)
{
	const struct sga_hop_member *h = &slot->m[r].hop;

	if (!cs->open[r]) {
		cs->cpu_open[r] = sga_aead_key_new(h->suite, SGA_AEAD_OPEN, h->key_up);
		if (!cs->cpu_open[r])
			return -errno;
	}
	if (!cs->seal[r]) {
		cs->cpu_seal[r] = sga_aead_key_new(h->suite, SGA_AEAD_SEAL, h->key_down);
		if (!cs->cpu_seal[r])
			return -errno;
	}
	return 0;
}

/* The cryptodev sessions of slot's members whose suite the device serves, and
 * prepared CPU keys for what it does not. A member the device serves but that
 * cannot get its sessions (the pool is spent) relays on the CPU path. */
static int dp_cdev_sess_create(struct dp *dp, struct dp_session *slot, struct dp_cdev_sess *cs)
{
	static bool warned; /* installer thread only */
	int err, rc;

	memset(cs, 0, sizeof(*cs));
	slot->cs = cs;
	for (int r = 0; r < 2; r++) {
		struct sga_hop_member *h = &slot->m[r].hop;

		if (!sga_cdev_serves(dp->cdev, h->suite))
			goto cpu;
		cs->open[r] = sga_cdev_session_create(dp->cdev, h->suite, SGA_CDEV_OPEN, h->key_up,
		                                      SGA_HOP_HDR_LEN);
		cs->seal[r] = cs->open[r]
		                  ? sga_cdev_session_create(dp->cdev, h->suite, SGA_CDEV_SEAL,
		                                            h->key_down, SGA_HOP_HDR_LEN)
		                  : NULL;
		if (cs->open[r] && cs->seal[r])
			continue;
		err = errno;
		/* Both or neither: the counter and the CPU path stay simple. */
		sga_cdev_session_free(dp->cdev, cs->open[r]);
		cs->open[r] = NULL;
		__atomic_fetch_add(&dp->ctrl_ctr[DP_C_CRYPTO_SESS_CPU], 1, __ATOMIC_RELAXED);
		if (!warned)
			DP_LOG(WARNING,
			       "session %016" PRIx64 ": no cryptodev session (%s): this member "
			       "and any later ones without one relay on the CPU path "
			       "(crypto_sess_cpu counts them; raise [crypto] aead_sessions, "
			       "0 = every session)",
			       slot->session_id, strerror(err));
		warned = true;
	cpu:
		rc = dp_cpu_keys_create(slot, cs, r);
		if (rc)
			return rc;
	}
	return 0;
}

/* A fresh slot's lifecycle figures: a new session's start now; a replacement
 * (the same session re-installed) keeps the age and traffic of the one it
 * replaces. */
static void dp_slot_life_init(struct dp *dp, unsigned idx, const struct dp_session *old)
{
	struct dp_slot_life *l = &dp->life[idx];

	memset(l, 0, sizeof(*l));
	if (old) {
		const struct dp_slot_life *o = &dp->life[dp_slot_index(dp, old)];

		l->installed_tsc = o->installed_tsc;
		for (int r = 0; r < 2; r++) {
			l->frames[r] = __atomic_load_n(&o->frames[r], __ATOMIC_RELAXED);
			l->bytes[r] = __atomic_load_n(&o->bytes[r], __ATOMIC_RELAXED);
			l->delivered[r] = __atomic_load_n(&o->delivered[r], __ATOMIC_RELAXED);
		}
		l->last_tsc = __atomic_load_n(&o->last_tsc, __ATOMIC_RELAXED);
		return;
	}
	l->installed_tsc = l->last_tsc = rte_rdtsc();
}

int dp_session_install(struct dp *dp, const struct sga_gw_session *s, const struct dp_addr addr[2],
                       const uint64_t tx_seq[2], const uint64_t tx_limit[2],
                       const uint64_t rx_next[2])
{
	struct dp_session *slot, *old;
	int rc, idx;

	if (!dp || !s || !tx_seq || !tx_limit)
		return -EINVAL;
	if (s->state != SGA_GW_S_ESTABLISHED || s->session_id == 0)
		return -EINVAL;
	for (int r = 0; r < 2; r++)
		if (!sga_suite_get(s->hop_suite[r]))
			return -EINVAL;
	/* The hash itself holds more than asked (whole buckets, and room for
	 * deleted keys whose slots are not free yet). */
	old = dp_session_lookup(dp, s->session_id);
	if (!old && dp->live >= dp->cfg.max_sessions)
		return -ENOSPC;
	idx = dp_slot_take(dp);
	if (idx < 0) {
		DP_LOG(WARNING, "session slots exhausted (%u, %u waiting to be freed)", dp->n_slots,
		       dp->n_retired);
		return -ENOSPC;
	}
	slot = &dp->slots[idx];
	memset(slot, 0, sizeof(*slot));
	dp_slot_life_init(dp, (unsigned)idx, old);
	slot->session_id = s->session_id;
	for (int r = 0; r < 2; r++) {
		struct dp_member *mb = &slot->m[r];

		/* The hop keys come from k_t, so this works whatever the gateway
		 * record keeps of the relay state. The down key is that of a
		 * fresh epoch (unless the record brings one: the handshake of
		 * this run that just drew it, a lab session's fixed one), so no
		 * key and nonce pair of an earlier install or run comes back,
		 * whatever Redis returned for tx_seq (PROTOCOL.md 8.1). */
		rc = sga_hop_member_init_gen(&mb->hop, s->k_t[r], s->session_id, s->rk.gen,
		                             s->hop_suite[r], s->hop[r].epoch);
		if (rc) {
			rc = -EINVAL;
			goto err;
		}
		/* A record from the store: frames from before this run may exist. */
		mb->echo = s->hop[r].restored ? DP_ECHO_WAIT : DP_ECHO_FREE;
		mb->hop.tx_seq = tx_seq[r];
		mb->tx_limit = tx_limit[r];
		mb->tag_len = sga_suite_get(s->hop_suite[r])->tag_len;
		if (rx_next)
			dp_replay_preset(&mb->hop.rx, rx_next[r]);
		if (addr)
			mb->addr = addr[r];
	}
	rc = dp_cdev_sess_create(dp, slot, &dp->cs[idx]);
	if (!rc) /* a rekey: the old generation's up keys for frames in flight */
		rc = dp_rekey_prepare(slot, old, s);
	if (rc) {
		DP_LOG(WARNING, "session %016" PRIx64 ": CPU keys: %s", s->session_id,
		       strerror(-rc));
		rc = -ENOMEM;
		goto err;
	}
	/* Publishes the slot (a release store of the data pointer); for an existing
	 * key it atomically swaps the pointer, and readers holding the old slot
	 * finish on it. */
	rc = rte_hash_add_key_data(dp->sessions, &s->session_id, slot);
	if (rc < 0) {
		DP_LOG(WARNING, "session %016" PRIx64 ": table insert failed (%d)", s->session_id,
		       rc);
		rc = rc == -ENOSPC ? -ENOSPC : -EINVAL;
		goto err;
	}
	if (old) {
		dp_devidx_unlink(dp, dp_slot_index(dp, old));
		dp_slot_retire(dp, dp_slot_index(dp, old), -1, false);
	}
	dp_devidx_link(dp, (unsigned)idx, s);
	dp_slot_moved(dp, (unsigned)idx); /* its first marks (or a re-install's) */
	if (!old)
		__atomic_store_n(&dp->live, dp->live + 1, __ATOMIC_RELAXED);
	DP_LOG(DEBUG, "session %016" PRIx64 " installed", s->session_id);
	return 0;
err:
	if (slot->cs)
		dp_cdev_sess_free(dp, slot->cs);
	sga_memzero(slot, sizeof(*slot));
	dp_slot_put(dp, (unsigned)idx);
	return rc;
}

static uint64_t dp_tsc_ms(uint64_t from, uint64_t to)
{
	return to > from ? (to - from) * 1000 / rte_get_tsc_hz() : 0;
}

/* Seqlock read of an address the owner lcore may be rewriting. */
static void dp_member_addr_read(const struct dp_member *mb, struct dp_addr *out);

static void dp_session_view_fill(const struct dp *dp, const struct dp_session *s,
                                 struct dp_session_view *v)
{
	const struct dp_slot_life *l = &dp->life[dp_slot_index(dp, s)];
	const uint64_t now = rte_rdtsc();

	memset(v, 0, sizeof(*v));
	v->session_id = s->session_id;
	v->slot = dp_slot_index(dp, s);
	for (int r = 0; r < 2; r++) {
		dp_member_addr_read(&s->m[r], &v->addr[r]);
		v->rx_next[r] = __atomic_load_n(&s->m[r].hop.rx.next, __ATOMIC_RELAXED);
		v->tx_seq[r] = __atomic_load_n(&s->m[r].hop.tx_seq, __ATOMIC_RELAXED);
		v->frames[r] = __atomic_load_n(&l->frames[r], __ATOMIC_RELAXED);
		v->bytes[r] = __atomic_load_n(&l->bytes[r], __ATOMIC_RELAXED);
		v->delivered[r] = __atomic_load_n(&l->delivered[r], __ATOMIC_RELAXED);
	}
	v->age_ms = dp_tsc_ms(l->installed_tsc, now);
	v->idle_ms = dp_tsc_ms(__atomic_load_n(&l->last_tsc, __ATOMIC_RELAXED), now);
}

/* Take an installed session out of the table; forget: its owner lcore then
 * releases what the store holds for it (a close), else that stays (a
 * session another gateway owns now). */
static int session_unpublish(struct dp *dp, uint64_t session_id, struct dp_session_view *final,
                             bool forget)
{
	struct dp_session *s;
	int32_t pos;

	if (!dp || !session_id)
		return -EINVAL;
	s = dp_session_lookup(dp, session_id);
	if (!s)
		return -ENOENT;
	/* Unpublished now: the lcores' next look-ups miss it. */
	pos = rte_hash_del_key(dp->sessions, &session_id);
	if (pos < 0)
		return -ENOENT;
	if (final)
		dp_session_view_fill(dp, s, final);
	__atomic_store_n(&dp->live, dp->live - 1, __ATOMIC_RELAXED);
	__atomic_store_n(&dp->removed, dp->removed + 1, __ATOMIC_RELAXED);
	dp_devidx_unlink(dp, dp_slot_index(dp, s));
	dp_slot_retire(dp, dp_slot_index(dp, s), pos, forget);
	/* Often free already (no lcore online, or ops all done). */
	dp_session_reclaim(dp);
	DP_LOG(DEBUG, "session %016" PRIx64 " %s", session_id, forget ? "removed" : "disowned");
	return 0;
}

int dp_session_remove(struct dp *dp, uint64_t session_id, struct dp_session_view *final)
{
	return session_unpublish(dp, session_id, final, true);
}

int dp_session_disown(struct dp *dp, uint64_t session_id)
{
	return session_unpublish(dp, session_id, NULL, false);
}

int dp_session_extend(struct dp *dp, uint64_t session_id, uint8_t role, uint64_t tx_limit)
{
	struct dp_session *s;
	struct dp_member *mb;
	uint64_t cur;

	if (!dp || role > 1)
		return -EINVAL;
	s = dp_session_lookup(dp, session_id);
	if (!s)
		return -ENOENT;
	mb = &s->m[role];
	/* Only ever raise: a late, smaller grant must not pull the limit back. */
	cur = __atomic_load_n(&mb->tx_limit, __ATOMIC_RELAXED);
	while (cur < tx_limit && !__atomic_compare_exchange_n(&mb->tx_limit, &cur, tx_limit, 0,
	                                                      __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
	/* After the new limit: an lcore that sees the flag clear (acquire) also
	 * sees the limit, so it does not ask twice for the same block. */
	__atomic_store_n(&mb->resv_pending, 0, __ATOMIC_RELEASE);
	return 0;
}

unsigned dp_resv_dequeue(struct dp *dp, struct dp_resv_req *reqs, unsigned n)
{
	return rte_ring_mc_dequeue_burst_elem(dp->resv, reqs, sizeof(*reqs), n, NULL);
}

/* Seqlock read of an address the owner lcore may be rewriting. */
static void dp_member_addr_read(const struct dp_member *mb, struct dp_addr *out)
{
	uint32_t gen;

	for (;;) {
		gen = __atomic_load_n(&mb->addr_gen, __ATOMIC_ACQUIRE);
		if (gen & 1) {
			rte_pause();
			continue;
		}
		memcpy(out, &mb->addr, sizeof(*out));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&mb->addr_gen, __ATOMIC_RELAXED) == gen)
			return;
	}
}

void dp_session_foreach(struct dp *dp, void (*fn)(const struct dp_session_view *v, void *arg),
                        void *arg)
{
	const void *key;
	void *data;
	uint32_t next = 0;

	while (rte_hash_iterate(dp->sessions, &key, &data, &next) >= 0) {
		struct dp_session_view v;

		dp_session_view_fill(dp, data, &v);
		fn(&v, arg);
	}
}

/* The slot's session if it is installed there now (not free, retired, or
 * replaced). */
static const struct dp_session *dp_slot_live(struct dp *dp, unsigned idx)
{
	const struct dp_session *s = &dp->slots[idx];

	return s->session_id && dp_session_lookup(dp, s->session_id) == s ? s : NULL;
}

unsigned dp_session_slots(const struct dp *dp)
{
	return dp->n_slots;
}

void dp_session_foreach_slice(struct dp *dp, unsigned first, unsigned n,
                              void (*fn)(const struct dp_session_view *v, void *arg), void *arg)
{
	unsigned end = first < dp->n_slots && n < dp->n_slots - first ? first + n : dp->n_slots;

	for (unsigned idx = first; idx < end; idx++) {
		const struct dp_session *s = dp_slot_live(dp, idx);
		struct dp_session_view v;

		if (!s)
			continue;
		dp_session_view_fill(dp, s, &v);
		fn(&v, arg);
	}
}

void dp_session_foreach_moved(struct dp *dp, void (*fn)(const struct dp_session_view *v, void *arg),
                              void *arg)
{
	for (unsigned w = 0; w < (dp->n_slots + 63) / 64; w++) {
		uint64_t bits;

		if (!__atomic_load_n(&dp->moved[w], __ATOMIC_RELAXED))
			continue; /* the common case: read, not written */
		/* Acquire: the values the lcore stored before its bit. A bit set
		 * after this exchange is the next call's. */
		bits = __atomic_exchange_n(&dp->moved[w], 0, __ATOMIC_ACQUIRE);
		while (bits) {
			unsigned idx = w * 64 + (unsigned)__builtin_ctzll(bits);
			const struct dp_session *s = dp_slot_live(dp, idx);
			struct dp_session_view v;

			bits &= bits - 1;
			if (!s) /* a retired or free slot's bit (set before): spent */
				continue;
			dp_session_view_fill(dp, s, &v);
			fn(&v, arg);
		}
	}
}

void dp_session_moved_again(struct dp *dp, uint32_t slot)
{
	if (slot < dp->n_slots)
		dp_slot_moved(dp, slot);
}

int dp_session_get(struct dp *dp, uint64_t session_id, struct dp_session_view *v)
{
	const struct dp_session *s = dp ? dp_session_lookup(dp, session_id) : NULL;

	if (!s)
		return -ENOENT;
	dp_session_view_fill(dp, s, v);
	return 0;
}

void dp_sessions_restored(struct dp *dp)
{
	if (dp)
		__atomic_store_n(&dp->restored, 1, __ATOMIC_RELEASE);
}

unsigned dp_session_count(const struct dp *dp)
{
	/* Not rte_hash_count: deleted keys count there until their slot is freed. */
	return __atomic_load_n(&dp->live, __ATOMIC_RELAXED);
}
