/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_rcu.c - when a session slot may be reused: RCU (rte_rcu_qsbr) over the
 * lcores, and the crypto ops in flight.
 *
 * The lcores read the session table without locks and keep a slot pointer
 * only within one loop iteration, except in a crypto op (its context names the
 * slot, and an op may complete iterations later). So each lcore is a QSBR
 * reader (thread id = its index) that reports a quiescent state once per loop
 * iteration (one store; dp_lcore_main), and each slot counts the ops of its
 * owner lcore that reference it (struct dp_slot_life.ops: only the owner lcore
 * builds ops for a session, so it is a plain single-writer counter).
 *
 * An unpublished slot (its key deleted, or swapped for a replacement's slot)
 * goes through three stages on the retire list:
 *   GRACE: a grace period from the unpublishing: once it ends no lcore still
 *          holds a pointer from a look-up, and no new op can be built for the
 *          slot except by the completion of one in flight;
 *   OPS:   waiting for the slot's ops to reach 0; once they do, no op can
 *          ever be built for it again;
 *   FINAL: one more grace period: a completion that finished the last op may
 *          still use the pointer for the rest of its iteration (its DATA_ACK
 *          is sent at the end of it). Sending it may build an op on the slot
 *          again (a seal on the device): if ops is not 0 when the grace
 *          period ends, the slot goes back to OPS.
 * Then the slot's crypto is freed (keys wiped), its hash position freed (the
 * lock-free table does not free it at delete), its owner lcore told to release
 * the session's stored messages (a close), and the slot goes back on the free
 * list. dp_session_reclaim advances every entry without waiting; an install
 * that finds no free slot calls it first. Everything here runs on the table's
 * one writer (the control plane serialises installs and removals).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_malloc.h>

#include "dp_priv.h"

#define DP_SLOT_WAIT_US 20000 /* an install waits this long at most for a retired slot */

enum dp_retire_stage { DP_RETIRE_GRACE = 1, DP_RETIRE_OPS, DP_RETIRE_FINAL };

struct dp_retired {
	uint64_t token; /* rte_rcu_qsbr_start at the stage's start */
	uint64_t session_id;
	int32_t pos;    /* hash position to free, -1: none (replaced) */
	uint32_t idx;   /* slot */
	uint8_t stage;  /* enum dp_retire_stage */
	uint8_t forget; /* the owner lcore releases the session's stored messages */
};

int dp_rcu_create(struct dp *dp)
{
	size_t sz = rte_rcu_qsbr_get_memsize(dp->cfg.n_lcores);

	dp->qsbr = rte_zmalloc_socket("sga_dp_qsbr", sz, RTE_CACHE_LINE_SIZE, dp->socket);
	dp->life = rte_zmalloc_socket("sga_dp_life", (size_t)dp->n_slots * sizeof(*dp->life),
	                              RTE_CACHE_LINE_SIZE, dp->socket);
	dp->slot_free = rte_zmalloc_socket(
	    "sga_dp_free", (size_t)dp->n_slots * sizeof(*dp->slot_free), 0, dp->socket);
	dp->retired = rte_zmalloc_socket("sga_dp_retired",
	                                 (size_t)dp->n_slots * sizeof(*dp->retired), 0, dp->socket);
	if (!dp->qsbr || !dp->life || !dp->slot_free || !dp->retired) {
		DP_LOG(ERR, "session slot lifecycle (%u slots): out of memory", dp->n_slots);
		return -ENOMEM;
	}
	if (rte_rcu_qsbr_init(dp->qsbr, dp->cfg.n_lcores))
		return -EINVAL;
	/* Registered now, offline until dp_lcore_main puts each online: an lcore
	 * that never runs (or the unit tests' dp_poll_once between calls) holds
	 * no reference and delays nothing. */
	for (unsigned i = 0; i < dp->cfg.n_lcores; i++)
		if (rte_rcu_qsbr_thread_register(dp->qsbr, i))
			return -EINVAL;
	/* Lowest index on top: a fresh gateway fills the array from the start. */
	for (unsigned i = 0; i < dp->n_slots; i++)
		dp->slot_free[i] = dp->n_slots - 1 - i;
	dp->n_free = dp->n_slots;
	return 0;
}

void dp_rcu_free(struct dp *dp)
{
	rte_free(dp->qsbr);
	rte_free(dp->life);
	rte_free(dp->slot_free);
	rte_free(dp->retired);
	dp->qsbr = NULL;
	dp->life = NULL;
	dp->slot_free = NULL;
	dp->retired = NULL;
}

void dp_slot_put(struct dp *dp, unsigned idx)
{
	dp->slot_free[dp->n_free++] = idx;
}

void dp_slot_retire(struct dp *dp, unsigned idx, int32_t pos, bool forget)
{
	struct dp_retired *r = &dp->retired[dp->n_retired++];

	/* A slot is on at most one list: free, published or retired. */
	r->idx = idx;
	r->pos = pos;
	r->forget = forget;
	r->session_id = dp->slots[idx].session_id;
	r->stage = DP_RETIRE_GRACE;
	r->token = rte_rcu_qsbr_start(dp->qsbr);
}

/* The slot is unreachable: wipe it and make it free. */
static void dp_slot_release(struct dp *dp, const struct dp_retired *r)
{
	const unsigned owner = dp_session_owner(dp, r->session_id);
	uint64_t sid = r->session_id;

	dp_slot_crypto_free(dp, r->idx);
	sga_memzero(&dp->slots[r->idx], sizeof(dp->slots[r->idx])); /* hop keys */
	memset(&dp->life[r->idx], 0, sizeof(dp->life[r->idx]));
	if (r->pos >= 0)
		rte_hash_free_key_with_position(dp->sessions, r->pos);
	/* After the slot is gone nothing can store a message for the session
	 * any more: what the store holds now is all it will ever hold. A full
	 * ring leaves them to the store's retention (max_age_s). */
	if (r->forget && dp->lcores[owner].forget &&
	    rte_ring_mp_enqueue_elem(dp->lcores[owner].forget, &sid, sizeof(sid)))
		DP_LOG(WARNING,
		       "session %016" PRIx64 ": closed, but its stored messages stay until "
		       "retention (lcore %u's forget ring is full)",
		       sid, owner);
	dp_slot_put(dp, r->idx);
	dp->reclaimed++;
}

unsigned dp_session_reclaim(struct dp *dp)
{
	unsigned freed = 0, kept = 0;

	if (!dp)
		return 0;
	for (unsigned i = 0; i < dp->n_retired; i++) {
		struct dp_retired *r = &dp->retired[i];

		if (r->stage == DP_RETIRE_GRACE &&
		    rte_rcu_qsbr_check(dp->qsbr, r->token, false) == 1)
			r->stage = DP_RETIRE_OPS;
		if (r->stage == DP_RETIRE_OPS &&
		    __atomic_load_n(&dp->life[r->idx].ops, __ATOMIC_ACQUIRE) == 0) {
			r->stage = DP_RETIRE_FINAL;
			r->token = rte_rcu_qsbr_start(dp->qsbr);
		}
		if (r->stage == DP_RETIRE_FINAL &&
		    rte_rcu_qsbr_check(dp->qsbr, r->token, false) == 1) {
			/* The rest of that iteration may have built ops again:
			 * the DATA_ACK a completion noted is sealed on the device
			 * at its end. Those hold the slot: back to waiting for
			 * them (the next 0 starts another grace period). */
			if (__atomic_load_n(&dp->life[r->idx].ops, __ATOMIC_ACQUIRE)) {
				r->stage = DP_RETIRE_OPS;
			} else {
				dp_slot_release(dp, r);
				freed++;
				continue;
			}
		}
		dp->retired[kept++] = *r;
	}
	dp->n_retired = kept;
	return freed;
}

void dp_rcu_dump(const struct dp *dp, FILE *f)
{
	static const char *const stage[] = {"?", "grace", "ops", "final"};

	fprintf(f, "%u slots retired, %u free of %u\n", dp->n_retired, dp->n_free, dp->n_slots);
	for (unsigned i = 0; i < dp->n_retired; i++) {
		const struct dp_retired *r = &dp->retired[i];

		fprintf(f, "  slot %u session %016" PRIx64 ": %s, token %" PRIu64 ", %u ops\n",
		        r->idx, r->session_id, stage[r->stage <= DP_RETIRE_FINAL ? r->stage : 0],
		        r->token, __atomic_load_n(&dp->life[r->idx].ops, __ATOMIC_RELAXED));
	}
	for (unsigned i = 0; i < dp->cfg.n_lcores; i++)
		fprintf(f, "  lcore %u: %u ops queued, %u on the device\n", i, dp->lcores[i].cq_n,
		        dp->lcores[i].cq_inflight);
	rte_rcu_qsbr_dump(f, dp->qsbr);
}

unsigned dp_session_retired(const struct dp *dp)
{
	return dp ? dp->n_retired : 0;
}

int dp_slot_take(struct dp *dp)
{
	/* Every slot used or retired: the retired ones are freed within a loop
	 * iteration of each lcore (and a crypto op's completion): worth a short
	 * wait on the control plane rather than a refused install. */
	for (unsigned waited_us = 0; !dp->n_free && dp->n_retired; waited_us += 50) {
		if (dp_session_reclaim(dp) || waited_us >= DP_SLOT_WAIT_US)
			break;
		rte_delay_us_sleep(50);
	}
	if (!dp->n_free)
		return -1;
	return (int)dp->slot_free[--dp->n_free];
}
