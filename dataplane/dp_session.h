/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_session.h - the data plane's session slot: the hot per-session state an
 * lcore needs to relay a DATA_UP frame, and nothing else.
 *
 * Slots live in one array preallocated by dp_create; the session table (an
 * rte_hash with lock-free readers) maps a session id to a slot pointer. Who
 * writes what:
 *   - dp_session_install (one control-plane thread at a time) fills a fresh,
 *     never-published slot and then publishes it with rte_hash_add_key_data,
 *     whose release store makes the whole slot visible to the lcores;
 *   - the owner lcore (session_id % n_lcores) alone writes the hop state (replay
 *     windows, TX sequence numbers) and the members' addresses; the other lcores
 *     hand it the session's frames instead of touching the slot;
 *   - dp_session_extend raises tx_limit and clears resv_pending (atomics).
 * A slot is reused once nothing can reach it any more (dp_rcu.c): a removed or
 * replaced slot is unpublished (its key deleted, or swapped for the new slot),
 * then every lcore must pass a quiescent state (RCU QSBR: no lcore keeps a
 * slot pointer across loop iterations), then no crypto op in flight may
 * reference it (struct dp_slot_life.ops), then one more quiescent state
 * passes (a completion may have used the pointer for the rest of its
 * iteration, and built an op again: then it waits for that one too); only
 * then are its cryptodev sessions and CPU keys freed and the
 * slot put back on the free list. A crypto op in flight carries its slot
 * pointer across iterations, which the ops count makes safe.
 */
#ifndef SGA_DP_SESSION_H
#define SGA_DP_SESSION_H

#include <stdint.h>

#include <rte_common.h>

#include "dp.h"
#include "sga_hop.h"

/** Which up frames may move a member's address (PROTOCOL.md 9.3). */
enum dp_echo {
	DP_ECHO_FREE = 0, /* established in this run: no frame predates its keys */
	DP_ECHO_WAIT,     /* restored: only a frame echoing hop.epoch; none seen yet */
	DP_ECHO_SEEN,     /* restored, and it has echoed hop.epoch: others are refused */
};

/** One member (device) of a session, as the gateway sees it. */
struct dp_member {
	struct sga_hop_member hop; /* hop keys, replay window, TX sequence: owner lcore only */
	uint64_t tx_limit;         /* hop.tx_seq must stay below it; atomic (dp_session_extend) */
	uint32_t addr_gen;         /* seqlock over addr: odd while the owner rewrites it */
	uint8_t resv_pending;      /* atomic: a reservation request is queued for this member */
	uint8_t tag_len;           /* tag length of hop.suite: frame growth on re-seal */
	uint8_t ack_dirty;         /* on its lcore's ack list: the next flush sends `ack` */
	uint8_t echo;              /* enum dp_echo: what moves addr (dp_echo_take) */
	struct dp_addr addr;       /* last authenticated address; port 0 = unknown */
	struct sga_ack_win ack;    /* what we took charge of from it (dp_ack.h): owner lcore only */
};

/** A slot's prepared crypto, per member: cryptodev sessions (sga_cdev.h) where
 *  the device serves the member's suite, prepared CPU keys (sga_aead_key)
 *  where it does not. Written before the slot is published, read-only
 *  afterwards (the CPU keys hold per-message state: owner lcore only); freed by
 *  dp_destroy, like the slot (an lcore may still be working on a replaced one). */
struct dp_cdev_sess {
	void *open[2]; /* [role]: decrypt under m[role].hop.key_up (DATA_UP from role) */
	void *seal[2]; /* [role]: encrypt under m[role].hop.key_down (DATA_DOWN/ACK to role) */
	/* ---- CPU path: prepared keys (key schedule done at install) ---- */
	struct sga_aead_key *cpu_open[2]; /* [role]: key_up; NULL where open[role] is set */
	struct sga_aead_key *cpu_seal[2]; /* [role]: key_down; NULL where seal[role] is set */
	                                  /* ---- end of the CPU path's block ---- */
	/* [role]: the previous key generation's up key during a rekey's overlap
	 * (dp_rekey.h); NULL otherwise. The owner lcore frees it (dp_rekey_retire). */
	struct sga_aead_key *cpu_open_prev[2];
};

struct dp_session {
	uint64_t session_id;
	struct dp_member m[2];   /* [role] */
	struct dp_cdev_sess *cs; /* this slot's entry of dp->cs (always set once installed) */
} __rte_cache_aligned;

/* Hot state stays within ten cache lines (two members with their 1024-bit
 * replay windows, and the 16 bytes of DATA_ACK window each, next to the
 * address the ACK goes to; the address holds 16 bytes of IP for IPv6 and a
 * VLAN tag since IPv6 came, which took the tenth): catch growth that would
 * cost an extra line per frame. */
_Static_assert(sizeof(struct dp_session) <= 10 * RTE_CACHE_LINE_SIZE, "struct dp_session grew");

/** A slot's lifecycle state, next to (not inside) the hot slot: its first
 *  line is written by the owner lcore on each fresh up frame (relaxed stores,
 *  single writer), read by the control plane for idle expiry and the
 *  operator's figures; installed_tsc by the installer. */
struct dp_slot_life {
	uint64_t last_tsc;     /* the last fresh authentic up frame (the lcore's loop tsc) */
	uint64_t frames[2];    /* [role]: fresh DATA_UP frames accepted from role */
	uint64_t bytes[2];     /* [role]: ... their inner bytes (e2e_seq | e2e_ct) */
	uint64_t delivered[2]; /* [role]: role's last DATA_DELIVERED next_e2e_seq */
	uint32_t ops;          /* crypto ops of the owner lcore that reference the slot */
	uint64_t installed_tsc __rte_cache_aligned;
} __rte_cache_aligned;

#endif /* SGA_DP_SESSION_H */
