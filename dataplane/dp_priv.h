/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_priv.h - the data plane's private definitions: struct dp, the per-lcore
 * state, the counters' helpers, and the few hooks the unit tests use to drive
 * the lcore loop one iteration at a time (deterministic, no second thread).
 * Not for the gateway or the control plane: they see only dp.h.
 */
#ifndef SGA_DP_PRIV_H
#define SGA_DP_PRIV_H

#include <stdint.h>
#include <stdio.h>

#include <rte_common.h>
#include <rte_crypto.h>
#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_log.h>
#include <rte_mempool.h>
#include <rte_mbuf_dyn.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_spinlock.h>

#include "dp.h"
#include "dp_ack.h"
#include "dp_peer.h"
#include "dp_pkt.h"
#include "dp_ratelimit.h"
#include "dp_session.h"
#include "sga_cdev.h"

#define DP_BURST         32   /* RX burst, TX buffer size */
#define DP_PREFETCH      3    /* frames prefetched ahead of the one processed */
#define DP_CTRL_TX_BURST 8    /* control-plane frames sent per lcore iteration */
#define DP_HANDOFF_RING  1024 /* per-lcore hand-off ring (frames of sessions it owns) */
#define DP_FORGET_RING   4096 /* per-lcore ring of closed sessions whose messages go */
#define DP_WAKE_RING     1024 /* per-lcore ring of WAKE commands (dp_wake.c) */
#define DP_ADOPT_RING    256  /* per-lcore ring of adopted backlog items (dp_store_adopt) */
#define DP_ADOPT_BURST   8    /* of those, taken per loop iteration (~12 KiB copied) */
#define DP_DEFAULT_DESC  1024 /* rx_desc / tx_desc when the config says 0 */
#define DP_CQ_VEC        256  /* crypto ops built and not yet taken by the device, per lcore */
#define DP_CQ_DEQ        64   /* crypto ops dequeued per call */
#define DP_CQ_ROUNDS     4    /* enqueue + dequeue rounds per loop iteration (see dp_cq_run) */
#define DP_CQ_DESC       2048 /* descriptors per crypto queue pair (one pair per lcore) */
#define DP_OP_STASH      64   /* crypto ops an lcore keeps at hand (bulk refill, recycled) */
#define DP_OP_USER_SIZE  48   /* bytes of dp_lcore.c's context per crypto op */

extern int dp_logtype;
#define DP_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, dp_logtype, "sga.dp: " fmt "\n", ##__VA_ARGS__)

/** A peer gateway as the data plane sees it (dp_cluster.c). */
struct dp_peer_state {
	uint64_t mac;     /* atomic: bit 48 set = valid, the next hop's MAC below it */
	uint64_t mac_tsc; /* atomic: when it was learned */
	uint32_t arp_ip;  /* the address whose MAC it is: the peer's, or [cluster] next_hop */
	uint32_t gen;     /* atomic: raised each time the peer is found down */
	int alive;        /* atomic: its lease was there at the last look */
};

#define DP_FWD_WAYS 4
/** One cache line of the forward table: session id -> node | gen << 8. */
struct dp_fwd_bucket {
	uint64_t sid[DP_FWD_WAYS];
	uint64_t val[DP_FWD_WAYS];
} __rte_cache_aligned;

/** Per-lcore state: written by its lcore only (the counters are read racily,
 *  one aligned 64-bit load each, by dp_counters). */
struct dp_lcore {
	uint64_t ctr[DP_C__COUNT];
	struct dp *dp;
	struct rte_eth_dev_tx_buffer *txb; /* buffered TX on this lcore's queue */
	struct rte_ring *handoff;          /* MP/SC: frames of sessions this lcore owns */
	unsigned index;                    /* in cfg.lcore_ids; = RX/TX and crypto queue pair id */
	unsigned rr;                       /* round robin over workers (PKG_REQ; all under load) */
	struct dp_rl *rl;                  /* per-source token buckets; NULL: no limit */
	uint16_t ip_id;
	struct dp_store *store;  /* store and forward (dp_store.h); NULL: relay only */
	struct rte_ring *forget; /* MP/SC of session ids: closed, their messages released */
	struct rte_ring *adopt;  /* MP/SC of struct dp_adopt_msg; NULL: no replication */
	struct rte_ring *wake;   /* MP/SC of struct dp_wake_cmd (dp_wake.c) */
	uint64_t now_tsc;        /* the tsc read once per loop iteration (slot last_tsc) */
	uint64_t store_next_ms;  /* next re-send scan */
	uint64_t snap_next_ms;   /* next per-recipient snapshot */
	uint32_t snap_gen;       /* seqlock over snap/snap_n: odd while written */
	uint32_t snap_n;
	struct dp_store_recip snap[DP_STORE_RECIP_SNAP];
	/* Crypto ops of this lcore (VPP's per-thread op vector): built while a
	 * burst is processed, enqueued together; what the device did not take
	 * stays here, in order, for the next try. */
	unsigned cq_n;        /* ops in cq_vec */
	unsigned cq_inflight; /* enqueued and not dequeued yet */
	struct rte_crypto_op *cq_vec[DP_CQ_VEC];
	struct dp_ack_list acks; /* DATA_ACKs due at the end of the iteration (dp_ack.h) */
	/* Free ops at hand: taken DP_OP_STASH / 2 at a time from the pool, and
	 * refilled by the completions themselves (dp_op_get, dp_op_recycle). */
	unsigned op_n;
	struct rte_crypto_op *op_stash[DP_OP_STASH];
	struct dp_peer_mac *peer_mac; /* [cluster]: this lcore's CMAC context; NULL otherwise */
	uint64_t arp_next_tsc;        /* lcore 0: the next look at the peers' next hops */
} __rte_cache_aligned;

struct dp {
	struct dp_config cfg; /* cfg.lcore_ids points at lcore_ids below */
	unsigned *lcore_ids;
	/* Our source addresses: the port MAC and UDP port with the gateway's
	 * IPv4 (gw.v4) and IPv6 (gw.v6) address; family DP_AF_NONE where the
	 * gateway has none in that family. */
	struct dp_pkt_self gw;
	int socket;
	unsigned instance; /* makes pool/ring/hash names unique per process */
	int port_configured, port_started;
	int stop;            /* atomic: dp_stop */
	uint64_t adopt_lost; /* atomic: backlog items dp_store_adopt could not queue */

	int tx_csum;              /* enum dp_pkt_csum: how transmitted frames get their checksums */
	struct rte_mempool *pool; /* RX and the lcores' own frames (ACKs) */
	struct rte_mempool *ctrl_pool; /* dp_ctrl_send (non-EAL threads: no cache) */
	struct rte_ring **ctrl_rings;  /* [n_workers], MP/MC: control frames in */
	struct rte_ring *ctrl_tx;      /* MP/MC: control-plane frames out */
	struct rte_ring *resv;         /* MP/MC of struct dp_resv_req */

	struct rte_hash *sessions; /* session id -> struct dp_session * */
	struct dp_session *slots;
	unsigned n_slots;
	/* One bit per slot, set by the owner lcore when what the replay-mark
	 * pass persists may have moved (a fresh authentic up frame, an address
	 * learned) and at install; taken and cleared by dp_session_foreach_moved
	 * (atomic exchange per word). So the pass visits the slots that moved,
	 * not the whole table: at 1,000,000 quiet sessions a walk of every slot
	 * each persist interval was most of a core. */
	uint64_t *moved; /* [(n_slots + 63) / 64] */
	/* ---- the table's writer side (one control-plane thread at a time) ---- */
	unsigned live;              /* ids in the table */
	struct dp_slot_life *life;  /* [n_slots] */
	uint32_t *slot_free;        /* [n_slots]: a stack of free slot indices */
	unsigned n_free;            /* on slot_free */
	struct dp_retired *retired; /* [n_slots]: unpublished slots not yet free (dp_rcu.c) */
	unsigned n_retired;
	struct rte_rcu_qsbr *qsbr;   /* one reader per lcore (thread id = lcore index) */
	uint64_t removed, reclaimed; /* sessions removed, slots freed (writer; read racily) */
	int restored;                /* atomic: dp_sessions_restored */
	/* The device index (dp_wake.c), writer side only: device id -> the
	 * first (slot, role) link of its installed sessions. */
	struct rte_hash *dev_idx;
	uint32_t *dev_head; /* [dev_head_n]: by the key's hash position */
	uint32_t dev_head_n;
	struct dp_dev_link *dev_link; /* [2 * n_slots]: by 2 * slot + role */
	uint32_t wake_gen;            /* writer: the last WAKE's generation */
	unsigned wake_posted;         /* writer: its commands posted */
	uint64_t wake_done;           /* atomic: gen << 32 | answers << 16 | stored */

	struct sga_cdev *cdev;   /* the hop AEAD engine table (and device, if any) */
	struct dp_cdev_sess *cs; /* [n_slots]: cryptodev sessions; NULL without a device */

	struct dp_lcore *lcores;        /* [n_lcores] */
	uint64_t ctrl_ctr[DP_C__COUNT]; /* events counted outside the lcores (atomic adds) */
	uint16_t ctrl_ip_id;            /* atomic */
	int ctrl_spread;                /* atomic: dp_ctrl_set_spread */

	/* ---- [cluster] (dp_cluster.c); nodes.n 0 without one ---- */
	struct dp_nodes nodes;
	struct dp_peer_state peer[DP_NODES_MAX + 1]; /* [node index]; [0] unused */
	struct dp_fwd_bucket *fwd;                   /* the forward table */
	uint32_t fwd_mask;
	unsigned fwd_victim;          /* writer: the way replaced in a full bucket */
	rte_spinlock_t fwd_lock;      /* one writer at a time */
	struct dp_peer_mac *ctrl_mac; /* dp_cluster_ctrl_send's, under ctrl_mac_lock */
	rte_spinlock_t ctrl_mac_lock;
	uint16_t peer_mtu;
};

/** Count an event outside the lcores (any thread). */
static inline void dp_ctrl_ctr_add(struct dp *dp, enum dp_counter c)
{
	__atomic_fetch_add(&dp->ctrl_ctr[c], 1, __ATOMIC_RELAXED);
}

/* ---- dp_cluster.c ------------------------------------------------------------ */
/** The mbuf field that says which peer forwarded a frame (PEER_FWD): its
 *  node index, 0 for a frame received directly. Registered by
 *  dp_cluster_create; -1 without a cluster (every frame direct). */
extern int dp_via_offset;
static inline uint8_t dp_mbuf_via(const struct rte_mbuf *m)
{
	return dp_via_offset < 0 ? 0 : *RTE_MBUF_DYNFIELD(m, dp_via_offset, const uint8_t *);
}
static inline void dp_mbuf_via_set(struct rte_mbuf *m, uint8_t via)
{
	if (dp_via_offset >= 0)
		*RTE_MBUF_DYNFIELD(m, dp_via_offset, uint8_t *) = via;
}
/** The sender of a classified frame (its headers, and the mbuf's via). */
static inline void dp_mbuf_src(const struct rte_mbuf *m, struct dp_addr *src)
{
	dp_pkt_src_get(rte_pktmbuf_mtod(m, const uint8_t *), m->l2_len, m->l3_len, src);
	src->via = dp_mbuf_via(m);
}
/** From dp_create, once the port's MAC is known; nothing without [cluster]. */
int dp_cluster_create(struct dp *dp);
void dp_cluster_free(struct dp *dp);
int dp_cluster_lcore_init(struct dp *dp, struct dp_lcore *lc);
void dp_cluster_lcore_fini(struct dp_lcore *lc);
/** An ARP reply to the node address: the MAC of a next hop. */
void dp_cluster_arp_learn(struct dp *dp, const struct dp_addr *from);
/** Lcore 0, each iteration: ARP for the next hops not resolved (or due). */
unsigned dp_cluster_arp_run(struct dp *dp, struct dp_lcore *lc);
/** a (via a peer) names a peer that is down: true, and a rewritten to reach
 *  the device directly through [cluster] next_hop (the router towards the
 *  peers and the devices), when that hop is known; false otherwise (a left
 *  as it was). */
bool dp_cluster_via_down(const struct dp *dp, struct dp_addr *a);
/** The node frames of sid go to (alive, entry current), 0 if none. */
unsigned dp_cluster_fwd_lookup(const struct dp *dp, uint64_t sid);
/** The whole encapsulated datagram at p, the SGA frame (frame_len bytes)
 *  already at p + DP_PKT_HDR_LEN + DP_PEER_HDR_LEN: 0 and *len, or why not. */
enum dp_counter dp_cluster_build(struct dp *dp, struct dp_peer_mac *mac, uint8_t *p,
                                 enum dp_peer_type type, unsigned to, const struct dp_addr *dev,
                                 size_t frame_len, uint16_t ip_id, int csum_mode, size_t *len);
/** m's SGA frame (at its recorded header lengths, frame_len bytes) wrapped
 *  for node `to`, ready to transmit; 0, or the counter of why not (the
 *  caller drops m). */
enum dp_counter dp_cluster_wrap(struct dp *dp, struct dp_lcore *lc, struct rte_mbuf *m,
                                enum dp_peer_type type, unsigned to, const struct dp_addr *dev,
                                size_t frame_len);
/** A DP_PKT_PEER datagram checked and unwrapped: m holds the SGA frame
 *  behind headers (PEER_FWD: as if the device had sent it here, the mbuf's
 *  via set), msg says what it was; 0, or the counter of why not. */
enum dp_counter dp_cluster_unwrap(struct dp *dp, struct dp_lcore *lc, struct rte_mbuf *m,
                                  const struct dp_pkt_meta *meta, struct dp_peer_msg *msg);
/** dp_ctrl_send's path for a device another gateway reaches (PEER_EMIT), and
 *  dp_peer_forward's (PEER_FWD). */
int dp_cluster_ctrl_send(struct dp *dp, enum dp_peer_type type, unsigned to,
                         const struct dp_addr *dev, const uint8_t *frame, size_t len);
/** Queue m on lcore lc's TX buffer (dp_lcore.c). */
void dp_lcore_tx(struct dp_lcore *lc, struct rte_mbuf *m);

/** Add n to an lcore's counter. Single writer: a relaxed store is enough and
 *  keeps the racy reader in dp_counters well defined. */
static inline void dp_ctr_add(struct dp_lcore *lc, enum dp_counter c, uint64_t n)
{
	__atomic_store_n(&lc->ctr[c], lc->ctr[c] + n, __ATOMIC_RELAXED);
}

static inline void dp_ctr_inc(struct dp_lcore *lc, enum dp_counter c)
{
	dp_ctr_add(lc, c, 1);
}

/** The lcore (index into cfg.lcore_ids) that owns a session's state. */
static inline unsigned dp_session_owner(const struct dp *dp, uint64_t session_id)
{
	return (unsigned)(session_id % dp->cfg.n_lcores);
}

/* ---- dp_session.c ----------------------------------------------------------- */
/** Slots for max_sessions: headroom for re-installs of an existing id, which
 *  take a fresh slot. */
static inline unsigned dp_n_slots(unsigned max_sessions)
{
	return max_sessions + max_sessions / 4 + 16;
}
/** The session table, the slots and, with a crypto device, their cryptodev
 *  session entries. After dp->cdev exists. */
int dp_sessions_create(struct dp *dp);
/** Frees the cryptodev sessions of every slot too: before dp->cdev goes. */
void dp_sessions_free(struct dp *dp);
/** Lock-free lookup (any thread); NULL if not installed. */
struct dp_session *dp_session_lookup(const struct dp *dp, uint64_t session_id);

/* ---- dp_rcu.c ---------------------------------------------------------------- */
/** The QSBR variable, the free list (every slot free) and the retire list.
 *  From dp_sessions_create. */
int dp_rcu_create(struct dp *dp);
void dp_rcu_free(struct dp *dp);
/** A free slot's index (reclaiming first when none is), or -1. Writer. */
int dp_slot_take(struct dp *dp);
/** Back on the free list unused (a failed install). Writer. */
void dp_slot_put(struct dp *dp, unsigned idx);
/** Slot idx was just unpublished: free it once nothing can reach it. pos: its
 *  key's hash position to free with it (rte_hash_del_key's result), or -1
 *  (replaced: the key lives on). forget: the owner lcore releases the
 *  session's stored messages then (a close, not a replacement). Writer. */
void dp_slot_retire(struct dp *dp, unsigned idx, int32_t pos, bool forget);
/** What holds each retired slot (its stage, its ops in flight, the lcores'
 *  quiescent counters) to f: a diagnosis of a slot that is never freed. */
void dp_rcu_dump(const struct dp *dp, FILE *f);
/** Frees the cryptodev sessions and CPU keys of a slot: dp_session.c. */
void dp_slot_crypto_free(struct dp *dp, unsigned idx);
/* Note that slot idx's marks or addresses may have moved (struct dp, moved).
 * A plain load first: a session sending a burst sets its bit once, and the
 * atomic OR is paid once per slot per pass, not per frame. Release: the
 * values it announces are stored before the bit. */
static inline void dp_slot_moved(struct dp *dp, unsigned idx)
{
	uint64_t *w = &dp->moved[idx >> 6], bit = 1ull << (idx & 63);

	if (!(__atomic_load_n(w, __ATOMIC_RELAXED) & bit))
		__atomic_fetch_or(w, bit, __ATOMIC_RELEASE);
}

/** The slot's index in dp->slots. */
static inline unsigned dp_slot_index(const struct dp *dp, const struct dp_session *s)
{
	return (unsigned)(s - dp->slots);
}

/* ---- dp_wake.c --------------------------------------------------------------- */
/** One (slot, role)'s entry in its device's list; all fields UINT32_MAX:
 *  not linked. */
struct dp_dev_link {
	uint32_t prev, next; /* 2 * slot + role */
	uint32_t pos;        /* the device key's position in dev_idx */
};
/** What the owner lcore applies for a WAKE: member `role` of session_id is
 *  at addr now. */
struct dp_wake_cmd {
	uint64_t session_id;
	struct dp_addr addr;
	uint32_t gen; /* dp->wake_gen when posted */
	uint8_t role;
	uint8_t flags; /* SGA_WAKE_WANT_STORED: kick the store's backoff */
	uint8_t pad_[2];
};
/** From dp_sessions_create / dp_sessions_free. */
int dp_devidx_create(struct dp *dp);
void dp_devidx_free(struct dp *dp);
/** Slot idx (holding s) was just published / unpublished. Writer. */
void dp_devidx_link(struct dp *dp, unsigned idx, const struct sga_gw_session *s);
void dp_devidx_unlink(struct dp *dp, unsigned idx);
/** The owner lcore applied a command of generation gen; stored: the store
 *  holds messages for the member. */
void dp_wake_answer(struct dp *dp, uint32_t gen, bool stored);

/* ---- dp_lcore.c ------------------------------------------------------------- */
int dp_lcore_init(struct dp *dp, unsigned index);
/** Free the lcore's state; crypto ops still queued or in flight are waited for
 *  (bounded) and their mbufs freed. Before the sessions and the device go. */
void dp_lcore_fini(struct dp_lcore *lc);

/* ---- test hooks --------------------------------------------------------------- */
/** Run one iteration of lcore `index`'s loop on the calling thread: RX burst,
 *  hand-off ring, control TX, TX flush. Returns the number of frames handled. */
unsigned dp_poll_once(struct dp *dp, unsigned index);
/** Crypto ops of lcore `index` not completed yet (queued or in the device):
 *  a test polls until it is 0. */
unsigned dp_crypto_pending(const struct dp *dp, unsigned index);
/** The worker a device envelope (NEG_REQ, NEG_ACCEPT) from identity id goes to. */
unsigned dp_ctrl_worker_of_id(const uint8_t *id, size_t id_len, unsigned n_workers);
/** The worker a session envelope (KEX_INIT) of session_id goes to. */
unsigned dp_ctrl_worker_of_session(uint64_t session_id, unsigned n_workers);

#endif /* SGA_DP_PRIV_H */
