/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_wake.c - the data plane's side of a WAKE (PROTOCOL.md 7.16, step 3): a
 * device announced a new address in a fresh, authentic WAKE, and the session
 * address of its member moves there in every installed session of it.
 *
 * Finding the device's sessions. Neither the slot (hot state only) nor the
 * session table (keyed by session id) knows a member's identity, and Redis
 * keeps no index of sessions by device. Scanning the table per WAKE would
 * cost a pass over every slot (hundreds of megabytes at a million sessions)
 * for what a sleepy fleet sends often. So the installer keeps, on its side
 * only, a small index: an rte_hash from device id to the first of the
 * device's (slot, role) links, and per (slot, role) a doubly linked list
 * entry, all sized at start-up. It is written where the table is (install,
 * replace, remove: the one-writer rule of dp_session_install) and read by
 * dp_session_wake under the same rule; the lcores never touch it.
 *
 * Applying the move. The owner lcore alone writes a member's address
 * (dp_session.h), so dp_session_wake posts one command per (session, role)
 * to the owner's wake ring and the lcore applies it at its next iteration
 * (dp_wake_run in dp_lcore.c): the address (the seqlock dp_session_view
 * reads), with WANT_STORED a kick of the store's backoff for that
 * recipient, and whether the store holds messages for it. The caller waits,
 * bounded, for the lcores' answers: one WAKE at a time (the writer rule), so
 * one completion word in struct dp, tagged with a generation, collects them;
 * an answer to an earlier generation (a wait that timed out) is ignored.
 * Nothing here runs per packet: an lcore pays one ring count per iteration.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "dp_priv.h"

#define DP_LINK_NONE UINT32_MAX

/* A device id as the index's key: zero padded, so equal ids are equal bytes. */
struct dp_dev_key {
	uint8_t len;
	uint8_t id[SGA_ID_MAX];
};

static void dev_key(struct dp_dev_key *k, const uint8_t *id, uint8_t len)
{
	memset(k, 0, sizeof(*k));
	k->len = len <= SGA_ID_MAX ? len : SGA_ID_MAX;
	memcpy(k->id, id, k->len);
}

int dp_devidx_create(struct dp *dp)
{
	char name[RTE_HASH_NAMESIZE];
	/* At most two devices per live session; the extendable table makes
	 * every one of them fit whatever the collisions. Writer only: no
	 * concurrency flags. */
	struct rte_hash_parameters hp = {
	    .name = name,
	    .entries = 2 * dp->cfg.max_sessions + 16,
	    .key_len = sizeof(struct dp_dev_key),
	    .hash_func = rte_hash_crc,
	    .socket_id = dp->socket,
	    .extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	size_t links = 2 * (size_t)dp->n_slots;

	snprintf(name, sizeof(name), "sga_dp%u_dev", dp->instance);
	dp->dev_idx = rte_hash_create(&hp);
	dp->dev_head =
	    rte_malloc_socket("sga_dp_dev_head", hp.entries * sizeof(uint32_t), 0, dp->socket);
	dp->dev_link =
	    rte_malloc_socket("sga_dp_dev_link", links * sizeof(struct dp_dev_link), 0, dp->socket);
	if (!dp->dev_idx || !dp->dev_head || !dp->dev_link) {
		DP_LOG(ERR, "device index (%u entries): out of memory", hp.entries);
		return -ENOMEM;
	}
	dp->dev_head_n = hp.entries;
	memset(dp->dev_head, 0xff, hp.entries * sizeof(uint32_t));      /* DP_LINK_NONE */
	memset(dp->dev_link, 0xff, links * sizeof(struct dp_dev_link)); /* unlinked */
	return 0;
}

void dp_devidx_free(struct dp *dp)
{
	rte_hash_free(dp->dev_idx);
	dp->dev_idx = NULL;
	rte_free(dp->dev_head);
	dp->dev_head = NULL;
	rte_free(dp->dev_link);
	dp->dev_link = NULL;
}

void dp_devidx_link(struct dp *dp, unsigned idx, const struct sga_gw_session *s)
{
	for (uint32_t r = 0; r < 2; r++) {
		struct dp_dev_link *l = &dp->dev_link[2 * idx + r];
		struct dp_dev_key k;
		int32_t pos;

		dev_key(&k, s->id[r], s->id_len[r]);
		pos = rte_hash_add_key(dp->dev_idx, &k);
		if (pos < 0 || (uint32_t)pos >= dp->dev_head_n) {
			/* Cannot happen (sized for two per session): a WAKE of this
			 * device then moves this session's address on its next frame. */
			DP_LOG(WARNING, "device index full (%d)", pos);
			continue;
		}
		l->pos = (uint32_t)pos;
		l->prev = DP_LINK_NONE;
		l->next = dp->dev_head[pos];
		if (l->next != DP_LINK_NONE)
			dp->dev_link[l->next].prev = 2 * idx + r;
		dp->dev_head[pos] = 2 * idx + r;
	}
}

void dp_devidx_unlink(struct dp *dp, unsigned idx)
{
	for (uint32_t r = 0; r < 2; r++) {
		struct dp_dev_link *l = &dp->dev_link[2 * idx + r];
		void *key;

		if (l->pos == DP_LINK_NONE)
			continue;
		if (l->prev != DP_LINK_NONE)
			dp->dev_link[l->prev].next = l->next;
		else
			dp->dev_head[l->pos] = l->next;
		if (l->next != DP_LINK_NONE)
			dp->dev_link[l->next].prev = l->prev;
		/* The device's last session: its key goes (its position may be
		 * reused at once: its head is DP_LINK_NONE again). */
		if (dp->dev_head[l->pos] == DP_LINK_NONE &&
		    rte_hash_get_key_with_position(dp->dev_idx, (int32_t)l->pos, &key) == 0)
			(void)rte_hash_del_key(dp->dev_idx, key);
		memset(l, 0xff, sizeof(*l));
	}
}

/* The completion word: generation (32 bits) | answers (16) | stored (16). */
#define WAKE_GEN(w)    ((uint32_t)((w) >> 32))
#define WAKE_DONE(w)   ((unsigned)(((w) >> 16) & 0xffff))
#define WAKE_STORED(w) ((unsigned)((w)&0xffff))

void dp_wake_answer(struct dp *dp, uint32_t gen, bool stored)
{
	uint64_t w = __atomic_load_n(&dp->wake_done, __ATOMIC_RELAXED), next;

	do {
		if (WAKE_GEN(w) != gen || WAKE_DONE(w) == 0xffff)
			return; /* an answer to a WAKE whose caller has given up */
		next = w + (1u << 16) + (stored ? 1u : 0u);
	} while (!__atomic_compare_exchange_n(&dp->wake_done, &w, next, false, __ATOMIC_RELEASE,
	                                      __ATOMIC_RELAXED));
}

void dp_session_wake_result(const struct dp *dp, struct dp_wake_result *res)
{
	uint64_t w = __atomic_load_n(&dp->wake_done, __ATOMIC_ACQUIRE);

	res->sessions = dp->wake_posted;
	res->done = WAKE_DONE(w);
	res->stored = WAKE_STORED(w);
}

int dp_session_wake(struct dp *dp, const uint8_t *id, uint8_t id_len, const struct dp_addr *addr,
                    uint8_t flags, unsigned wait_us, struct dp_wake_result *res)
{
	struct dp_wake_cmd c;
	struct dp_dev_key k;
	uint64_t deadline;
	int32_t pos;

	if (!dp || !id || !id_len || id_len > SGA_ID_MAX || !addr || !addr->port || !res)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	c.gen = ++dp->wake_gen;
	c.addr = *addr;
	c.flags = flags;
	dp->wake_posted = 0;
	__atomic_store_n(&dp->wake_done, (uint64_t)c.gen << 32, __ATOMIC_RELEASE);
	dev_key(&k, id, id_len);
	pos = rte_hash_lookup(dp->dev_idx, &k);
	for (uint32_t li = pos >= 0 ? dp->dev_head[pos] : DP_LINK_NONE;
	     li != DP_LINK_NONE && dp->wake_posted < 0xffff; li = dp->dev_link[li].next) {
		const struct dp_session *s = &dp->slots[li / 2];
		unsigned owner = dp_session_owner(dp, s->session_id);

		c.session_id = s->session_id;
		c.role = (uint8_t)(li & 1);
		/* A full ring (a burst of WAKEs of one lcore's sessions) loses
		 * this move: the device's next fresh frame makes it. */
		if (rte_ring_mp_enqueue_elem(dp->lcores[owner].wake, &c, sizeof(c)) == 0)
			dp->wake_posted++;
	}
	/* An lcore answers within one loop iteration (microseconds); the
	 * bound covers one that is stopped or stalled. */
	deadline = rte_get_timer_cycles() + rte_get_timer_hz() * wait_us / 1000000u;
	for (;;) {
		struct timespec ts = {0, 10000};

		dp_session_wake_result(dp, res);
		if (res->done >= res->sessions || rte_get_timer_cycles() >= deadline)
			break;
		nanosleep(&ts, NULL);
	}
	return (int)res->stored;
}
