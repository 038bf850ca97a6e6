/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_lcore.c - the data-plane lcore loop: receive, classify, relay, transmit.
 *
 * Run to completion over bursts (DPDK l3fwd's shape): rx_burst(32), prefetch a
 * few frames ahead, handle each frame to the end, drain the hand-off ring and a
 * few control-plane frames, flush the TX buffer. No locks, no allocation but
 * mbufs, no syscalls.
 *
 * Session ownership: the replay windows and TX sequence numbers of a session
 * are written by one lcore only, its owner (session_id % n_lcores). RSS spreads
 * a session's two devices over any queues, so a DATA_UP frame received by
 * another lcore is handed to the owner through the owner's MP/SC ring; the
 * frame goes, never the session pointer, so no lcore keeps a slot across
 * iterations.
 *
 * The relay is in place: the hop layer opens DATA_UP inside the received mbuf,
 * seals DATA_DOWN over the same bytes (the hop headers have the same size; the
 * tag may grow or shrink with the recipient's suite), the Eth/IP/UDP headers
 * are rewritten towards the recipient (its family and VLAN tag: the head of
 * the mbuf grows or shrinks to fit, dp_udp_out), and the mbuf is transmitted. Only the
 * DATA_ACK to the sender takes a fresh mbuf, and one serves a whole burst:
 * messages taken charge of are noted (dp_ack.h) and each sender gets one
 * DATA_ACK naming all of them at the end of the loop iteration.
 *
 * Crypto: for a member whose suite the crypto device serves (its slot holds
 * cryptodev sessions) each AEAD operation of a relayed message is an
 * rte_cryptodev op instead of a call: open DATA_UP -> seal DATA_DOWN, the
 * second built when the first completes, and the burst's DATA_ACK seal. The
 * ops of a burst collect in the lcore's op vector and go to its queue pair together;
 * completions are dequeued in the same and later iterations (dp_cq_run), and
 * nothing ever waits for one op: a slow device (QAT) simply completes in a
 * later iteration. Each op carries its own context (slot, role, sequence
 * number, stage), so a completion needs no lookup. A member on the CPU path
 * (sga_hop_*) is handled synchronously as before, and the two mix freely: a
 * frame opened on the CPU may be sealed on the device and the reverse.
 *
 * The DATA_ACK goes through the device too, although it carries 16 bytes: it
 * would be AEAD work left on the cores the offload is meant to free, and
 * keeping it in the same pipeline keeps "sealed, then sent, then acknowledged"
 * in order without a special case. DATA_DELIVERED is opened where the
 * member's DATA_UP is (device op or CPU). The CPU path works under the
 * member's prepared keys (dp_session.h): no OpenSSL context is built and no
 * key scheduled per frame.
 *
 * Each data frame is decoded once (sga_env_hop_decode in dp_sga_dispatch) and
 * the result goes down the path with it; the data frames of a burst have
 * their sessions looked up together and prefetched before the first is
 * relayed (dp_rx_data_run).
 *
 * The replay rules do not change, but their timing must account for the ops
 * in flight: the window is checked before an open is queued (too old: refused
 * unopened) and checked again when it completes, because another copy of the
 * same frame may have been accepted meanwhile (then this one is a duplicate:
 * acknowledged, not relayed). Only the completion updates the window, always
 * on the owner lcore, so ownership and ordering are as before.
 *
 * LAB ONLY ([lab] hop_replay_window = off, dp_config.hop_replay_off): a
 * generator replaying a pcap in a loop repeats every hop seq from its second
 * pass on. In that mode an authentic frame the window holds or has left
 * behind is still opened (both paths: a forged one is dropped as
 * drop_hop_auth) and then taken as fresh - stored, sealed for the recipient
 * under a fresh hop seq, relayed and acknowledged - without moving the window
 * or the sender's address. The default path pays one predictable branch on
 * that flag, and only where a frame was already found to be a replay.
 *
 * A member's address is learned from a frame that authenticated under its hop
 * key, was fresh for its replay window and, for a member restored from the
 * store, echoes the hop-down epoch drawn at its install (dp_echo_take), so
 * roaming and NAT rebinding work while a spoofed or replayed frame - also one
 * from before a restart, which the persisted replay marks may not cover - can
 * neither redirect a device's traffic nor make the gateway answer an
 * arbitrary address.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <rte_branch_prediction.h>
#include <rte_crypto.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "dp_idle.h"
#include "dp_pkt.h"
#include "dp_priv.h"
#include "dp_rekey.h"
#include "dp_store.h"
#include "sga_cdev.h"
#include "sga_cookie.h"
#include "sga_gateway.h"
#include "sga_hop.h"
#include "sga_keys.h"
#include "sga_route.h"

/* ---- transmit --------------------------------------------------------------- */

/* Called by rte_eth_tx_buffer(_flush) with what the queue did not take. */
static void dp_tx_unsent(struct rte_mbuf **unsent, uint16_t count, void *userdata)
{
	struct dp_lcore *lc = userdata;

	rte_pktmbuf_free_bulk(unsent, count);
	dp_ctr_add(lc, DP_C_TX_FULL, count);
}

static inline void dp_tx(struct dp_lcore *lc, struct rte_mbuf *m)
{
	uint16_t sent = rte_eth_tx_buffer(lc->dp->cfg.port_id, (uint16_t)lc->index, lc->txb, m);

	if (sent)
		dp_ctr_add(lc, DP_C_TX, sent);
}

void dp_lcore_tx(struct dp_lcore *lc, struct rte_mbuf *m)
{
	dp_tx(lc, m);
}

static inline void dp_tx_flush(struct dp_lcore *lc)
{
	uint16_t sent = rte_eth_tx_buffer_flush(lc->dp->cfg.port_id, (uint16_t)lc->index, lc->txb);

	if (sent)
		dp_ctr_add(lc, DP_C_TX, sent);
}

static inline void dp_drop(struct dp_lcore *lc, struct rte_mbuf *m, enum dp_counter why)
{
	dp_ctr_inc(lc, why);
	rte_pktmbuf_free(m);
}

/* The gateway's own address in dst's family (the one its frames come from). */
static inline const struct dp_addr *dp_gw_for(const struct dp *dp, const struct dp_addr *dst)
{
	return likely(dst->family != DP_AF_IPV6) ? &dp->gw.v4 : &dp->gw.v6;
}

/* Where the SGA frame of m starts: the header lengths the mbuf records (the
 * received frame's, or those dp_frame_new / dp_udp_out wrote). */
static inline size_t dp_sga_off(const struct rte_mbuf *m)
{
	return (size_t)m->l2_len + m->l3_len + m->l4_len;
}

/* Put the Eth[/802.1Q]/IP/UDP headers towards dst in front of the SGA frame
 * of m (at dp_sga_off, sga_len bytes, ending the mbuf: trimmed to that): the
 * head of the mbuf grows or shrinks to the headers dst needs (its family and
 * VLAN tag; the received frame's may have been another family, tagged, or
 * carried IPv4 options or IPv6 extension headers). The checksums are the
 * port's to fill when it offers that (dp->tx_csum: only the pseudo-header
 * sum is written and the mbuf asks for them), else computed here, or the
 * UDP one left 0 over IPv4 where the configuration says so (dp_pkt.h,
 * docs/OPERATIONS.md). false (nothing sent; the caller drops m) only if the
 * mbuf has no headroom left, which the pools' RTE_PKTMBUF_HEADROOM rules
 * out. */
static inline bool dp_udp_out(struct dp *dp, struct dp_lcore *lc, struct rte_mbuf *m,
                              const struct dp_addr *dst, size_t sga_len)
{
	const struct dp_addr *gw = dp_gw_for(dp, dst);
	const size_t off = dp_sga_off(m), hdr = dp_pkt_hdr_len(gw, dst);
	uint8_t *p;

	if (unlikely(m->data_len > off + sga_len))
		rte_pktmbuf_trim(m, (uint16_t)(m->data_len - off - sga_len));
	if (likely(off == hdr)) {
		p = rte_pktmbuf_mtod(m, uint8_t *);
	} else if (off > hdr) {
		p = (uint8_t *)rte_pktmbuf_adj(m, (uint16_t)(off - hdr));
	} else {
		p = (uint8_t *)rte_pktmbuf_prepend(m, (uint16_t)(hdr - off));
		if (unlikely(!p))
			return false;
	}
	dp_pkt_udp_build_mode(p, gw, dst, lc->ip_id++, sga_len, dp->tx_csum);
	m->l2_len = (uint64_t)(hdr - DP_PKT_UDP_LEN -
	                       (dst->family == DP_AF_IPV6 ? DP_PKT_IP6_LEN : DP_PKT_IP_LEN));
	m->l3_len = dst->family == DP_AF_IPV6 ? DP_PKT_IP6_LEN : DP_PKT_IP_LEN;
	m->l4_len = DP_PKT_UDP_LEN;
	if (dp->tx_csum == DP_PKT_CSUM_OFFLOAD)
		m->ol_flags |=
		    dst->family == DP_AF_IPV6
		        ? RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM
		        : RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
	return true;
}

/* dp_udp_out, then transmit m (or drop it as drop_reseal). A device that
 * reaches another gateway of the cluster (dst->via) gets m through it
 * (PEER_EMIT, dp_cluster.c). */
static inline bool dp_udp_send(struct dp *dp, struct dp_lcore *lc, struct rte_mbuf *m,
                               const struct dp_addr *dst, size_t sga_len)
{
	if (unlikely(dst->via)) {
		struct dp_addr dev = *dst;
		enum dp_counter why;

		/* Through a gateway that is down: directly, if the router is known
		 * (the device's next frame, through whichever gateway it reaches
		 * now, teaches the address anew). */
		if (dp_cluster_via_down(dp, &dev))
			return dp_udp_send(dp, lc, m, &dev, sga_len);
		dev.via = 0;
		why = dp_cluster_wrap(dp, lc, m, DP_PEER_EMIT, dst->via, &dev, sga_len);
		if (why) {
			dp_drop(lc, m, why);
			return false;
		}
		dp_tx(lc, m);
		return true;
	}
	if (unlikely(!dp_udp_out(dp, lc, m, dst, sga_len))) {
		dp_drop(lc, m, DP_C_DROP_RESEAL);
		return false;
	}
	dp_tx(lc, m);
	return true;
}

/* ---- per-member helpers (owner lcore only) --------------------------------------- */

static inline uint64_t dp_get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static inline void dp_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Queue a reservation request for (session, role). The pending flag keeps it
 * to one request per block; if the ring is full the flag is dropped again so a
 * later frame retries. */
static void dp_resv_raise(struct dp *dp, struct dp_lcore *lc, struct dp_session *s, uint8_t role)
{
	struct dp_member *mb = &s->m[role];
	struct dp_resv_req r;

	memset(&r, 0, sizeof(r));
	r.session_id = s->session_id;
	r.role = role;
	__atomic_store_n(&mb->resv_pending, 1, __ATOMIC_RELAXED);
	if (rte_ring_mp_enqueue_elem(dp->resv, &r, sizeof(r)) == 0) {
		dp_ctr_inc(lc, DP_C_RESV_REQ);
	} else {
		__atomic_store_n(&mb->resv_pending, 0, __ATOMIC_RELAXED);
		dp_ctr_inc(lc, DP_C_RESV_RING_FULL);
	}
}

/* May the gateway seal one more frame towards this member? Every hop sequence
 * number must come from a range the control plane reserved (and persisted), or
 * a restart could reuse a nonce. Asks for more when half a block remains. */
static bool dp_member_tx_ok(struct dp *dp, struct dp_lcore *lc, struct dp_session *s, uint8_t role)
{
	struct dp_member *mb = &s->m[role];
	uint64_t seq = mb->hop.tx_seq, half = dp->cfg.tx_seq_block / 2, limit;
	uint8_t pending;

	/* pending first: when dp_session_extend cleared it, the acquire makes its
	 * new limit visible below. */
	pending = __atomic_load_n(&mb->resv_pending, __ATOMIC_ACQUIRE);
	limit = __atomic_load_n(&mb->tx_limit, __ATOMIC_ACQUIRE);
	if (!pending && (seq >= limit || limit - seq <= half))
		dp_resv_raise(dp, lc, s, role);
	return seq < limit;
}

/* Record the sender's address (seqlock for dp_session_foreach's reader). */
static void dp_member_addr_learn(struct dp_lcore *lc, struct dp_member *mb, const struct dp_addr *a)
{
	uint32_t gen = mb->addr_gen;

	if (dp_addr_equal(&mb->addr, a))
		return;
	__atomic_store_n(&mb->addr_gen, gen + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	mb->addr = *a;
	__atomic_store_n(&mb->addr_gen, gen + 2, __ATOMIC_RELEASE);
	dp_ctr_inc(lc, DP_C_ADDR_LEARNED);
}

/* Does the crypto device open this member's DATA_UP / seal its DATA_DOWN and
 * DATA_ACK? (Its slot holds the sessions only if the device serves its suite
 * and a session could be had at install.) */
static inline bool dp_open_on_dev(const struct dp_session *s, uint8_t role)
{
	return s->cs && s->cs->open[role];
}

static inline bool dp_seal_on_dev(const struct dp_session *s, uint8_t role)
{
	return s->cs && s->cs->seal[role];
}

/* How a member's window sees a hop sequence number. TOO_OLD: below the part of
 * the window that is kept, so it cannot tell; such a frame is refused unopened
 * (sga_hop_open_up's rule). */
enum dp_seq_state { DP_SEQ_FRESH, DP_SEQ_SEEN, DP_SEQ_TOO_OLD };

static inline enum dp_seq_state dp_seq_state(const struct sga_replay *w, uint64_t seq)
{
	if (!sga_replay_check(w, seq))
		return DP_SEQ_FRESH;
	if (seq == UINT64_MAX || (w->next > seq && w->next - seq > SGA_REPLAY_WINDOW - 64))
		return DP_SEQ_TOO_OLD;
	return DP_SEQ_SEEN;
}

/* ---- crypto ops ------------------------------------------------------------------- */

/* What an op in flight must remember to finish its frame, in the op's private
 * area. The slot pointer stays valid: the slot counts its ops in flight
 * (dp_slot_life.ops) and is not reused while any is (dp_rcu.c). */
enum dp_op_stage {
	DP_OP_OPEN = 1,    /* DATA_UP from `role`, opened in place */
	DP_OP_SEAL_DOWN,   /* DATA_DOWN to `role`; then `seq` noted for the other's ACK */
	DP_OP_SEAL_ACK,    /* DATA_ACK to `role` */
	DP_OP_SEAL_RESEND, /* a stored message sent again to `role` */
	DP_OP_SEAL_SKIP,   /* DATA_SKIP to `role` */
	DP_OP_SEAL_PROBE,  /* DATA_SKIP(0) to `role` at `dst`: the epoch announcement */
};

struct dp_op_ctx {
	struct dp_session *s;
	uint64_t seq;       /* OPEN: the sender's hop seq; SEAL_DOWN: the e2e_seq to note */
	uint16_t text_len;  /* OPEN: plaintext bytes (inner_len) */
	uint8_t stage;      /* enum dp_op_stage */
	uint8_t role;       /* OPEN: the sender; SEAL_*: the recipient */
	struct dp_addr dst; /* SEAL_PROBE: where it goes (not the member's address) */
};
_Static_assert(sizeof(struct dp_op_ctx) <= DP_OP_USER_SIZE, "dp_op_ctx outgrew the op area");

/* Offer the op vector to the device. What it does not take stays, in order,
 * for the next call: never waited for. */
static void dp_cq_flush(struct dp *dp, struct dp_lcore *lc)
{
	uint16_t n;

	if (!lc->cq_n)
		return;
	n = sga_cdev_enqueue(dp->cdev, (uint16_t)lc->index, lc->cq_vec, (uint16_t)lc->cq_n);
	lc->cq_inflight += n;
	lc->cq_n -= n;
	if (unlikely(lc->cq_n && n))
		memmove(lc->cq_vec, lc->cq_vec + n, lc->cq_n * sizeof(lc->cq_vec[0]));
}

/* An op for one more entry of the vector, or NULL (the caller drops the frame
 * as drop_crypto_full) when the vector is full even after offering it to the
 * device, or the op pool is empty. dp_op_put must follow before the next get.
 * Ops come from the lcore's stash, refilled DP_OP_STASH / 2 at a time from
 * the pool and fed back by every completion (dp_op_recycle): the mempool is
 * touched once per many ops, not once per op. */
static struct rte_crypto_op *dp_op_get(struct dp *dp, struct dp_lcore *lc)
{
	if (unlikely(lc->cq_n == DP_CQ_VEC)) {
		dp_cq_flush(dp, lc);
		if (lc->cq_n == DP_CQ_VEC)
			return NULL;
	}
	if (unlikely(!lc->op_n)) {
		lc->op_n = sga_cdev_op_alloc_bulk(dp->cdev, lc->op_stash, DP_OP_STASH / 2);
		if (unlikely(!lc->op_n))
			return sga_cdev_op_alloc(dp->cdev); /* the last few of the pool */
	}
	return lc->op_stash[--lc->op_n];
}

/* A finished op back to the stash (reset as the pool would hand it out), or
 * to the pool when the stash is full. */
static inline void dp_op_recycle(struct dp_lcore *lc, struct rte_crypto_op *op)
{
	if (likely(lc->op_n < DP_OP_STASH)) {
		sga_cdev_op_reset(op);
		lc->op_stash[lc->op_n++] = op;
		return;
	}
	sga_cdev_op_free(op);
}

static inline struct dp_op_ctx *dp_op_put(struct dp_lcore *lc, struct rte_crypto_op *op,
                                          struct dp_session *s, uint64_t seq, size_t text_len,
                                          uint8_t stage, uint8_t role)
{
	struct dp_op_ctx *c = sga_cdev_op_user(op);
	struct dp_slot_life *l = &lc->dp->life[dp_slot_index(lc->dp, s)];

	/* Owner lcore only: a plain counter (dp_rcu.c reads it). */
	__atomic_store_n(&l->ops, l->ops + 1, __ATOMIC_RELAXED);
	c->s = s;
	c->seq = seq;
	c->text_len = (uint16_t)text_len;
	c->stage = stage;
	c->role = role;
	lc->cq_vec[lc->cq_n++] = op;
	return c;
}

/*
 * Seal on the device the hop frame at dp_sga_off of m (sized to the whole
 * frame) for member `to`: writes its header with the member's next TX sequence
 * number, whose plaintext (plain_len bytes) is already in place after it, and
 * queues the op. 0, or the reason to drop m (the caller frees it). The
 * sequence number is spent once the header is written, whatever becomes of the
 * op: a nonce is never used twice.
 */
static enum dp_counter dp_seal_submit(struct dp *dp, struct dp_lcore *lc, struct rte_mbuf *m,
                                      struct dp_session *s, uint8_t to, uint8_t type,
                                      size_t plain_len, uint8_t stage, uint64_t e2e_seq,
                                      const struct dp_addr *dst)
{
	struct dp_op_ctx *c;
	struct dp_member *mb = &s->m[to];
	const size_t off = dp_sga_off(m);
	uint8_t nonce[SGA_AEAD_NONCE_LEN], *frame = rte_pktmbuf_mtod_offset(m, uint8_t *, off);
	struct rte_crypto_op *op;
	size_t aad_len;
	uint8_t *ct;

	if (unlikely(mb->hop.tx_seq >= UINT64_MAX - 1)) /* as sga_hop_seal_down */
		return DP_C_DROP_RESEAL;
	op = dp_op_get(dp, lc);
	if (unlikely(!op))
		return DP_C_DROP_CRYPTO_FULL;
	if (unlikely(sga_env_hop_encode(type, s->session_id, to, mb->hop.epoch, mb->hop.tx_seq,
	                                plain_len + mb->tag_len, frame, m->data_len - off, &ct,
	                                &aad_len))) {
		dp_op_recycle(lc, op);
		return DP_C_DROP_RESEAL;
	}
	sga_hop_nonce(mb->hop.tx_seq, nonce);
	mb->hop.tx_seq++;
	/* ct is where the plaintext already is: the header has a fixed size. */
	sga_cdev_op_aead(op, s->cs->seal[to], mb->hop.suite, m, (uint32_t)off, (uint16_t)aad_len,
	                 (uint32_t)(off + aad_len), (uint32_t)plain_len, nonce);
	c = dp_op_put(lc, op, s, e2e_seq, plain_len, stage, to);
	if (dst)
		c->dst = *dst;
	return 0;
}

/* A new frame of the gateway's own towards dst: sga_len bytes of SGA frame
 * behind the Ethernet/IP/UDP headers dst needs; *sga is its first byte (the
 * mbuf's header lengths say where it is). NULL (counted) when the pool is
 * empty. */
static struct rte_mbuf *dp_frame_new(struct dp *dp, struct dp_lcore *lc, const struct dp_addr *dst,
                                     size_t sga_len, uint8_t **sga)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp->pool);
	const size_t hdr = dp_pkt_hdr_len(dp_gw_for(dp, dst), dst);
	uint8_t *p;

	if (unlikely(!m)) {
		dp_ctr_inc(lc, DP_C_DROP_NOMBUF);
		return NULL;
	}
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(hdr + sga_len));
	if (unlikely(!p)) {
		dp_drop(lc, m, DP_C_DROP_NOMBUF);
		return NULL;
	}
	m->l3_len = dst->family == DP_AF_IPV6 ? DP_PKT_IP6_LEN : DP_PKT_IP_LEN;
	m->l4_len = DP_PKT_UDP_LEN;
	m->l2_len = (uint64_t)(hdr - m->l3_len - DP_PKT_UDP_LEN);
	*sga = p + hdr;
	return m;
}

/* A frame of the gateway's own to member `role`: DATA_ACK (plain = top |
 * bits) or DATA_SKIP (plain = what the member lacks below it expired), sealed
 * on the device or the CPU. To the member's address, or to probe (a DATA_SKIP
 * announcing the epoch, dp_echo_take). */
static void dp_own_send_to(struct dp *dp, struct dp_lcore *lc, struct dp_session *s, uint8_t role,
                           uint8_t type, const uint8_t *plain, size_t plain_len,
                           const struct dp_addr *probe)
{
	struct dp_member *mb = &s->m[role];
	const struct dp_addr *dst = probe ? probe : &mb->addr;
	size_t frame_len = SGA_HOP_HDR_LEN + plain_len + mb->tag_len, len;
	enum dp_counter why;
	struct rte_mbuf *a;
	uint8_t *p;

	if (!dp_member_tx_ok(dp, lc, s, role)) {
		dp_ctr_inc(lc, DP_C_DROP_TX_SEQ);
		return;
	}
	a = dp_frame_new(dp, lc, dst, frame_len, &p);
	if (unlikely(!a))
		return;
	memcpy(p + SGA_HOP_HDR_LEN, plain, plain_len);
	if (dp_seal_on_dev(s, role)) {
		why = dp_seal_submit(dp, lc, a, s, role, type, plain_len,
		                     probe                      ? DP_OP_SEAL_PROBE
		                     : type == SGA_MSG_DATA_ACK ? DP_OP_SEAL_ACK
		                                                : DP_OP_SEAL_SKIP,
		                     0, probe);
		if (unlikely(why))
			dp_drop(lc, a, why);
		return;
	}
	if (sga_hop_seal_down_k(&mb->hop, s->cs->cpu_seal[role], s->session_id, role, type,
	                        p + SGA_HOP_HDR_LEN, plain_len, p, frame_len, &len)) {
		dp_drop(lc, a, DP_C_DROP_RESEAL);
		return;
	}
	if (!dp_udp_send(dp, lc, a, dst, len))
		return;
	dp_ctr_inc(lc, probe                      ? DP_C_EPOCH_PROBE
	               : type == SGA_MSG_DATA_ACK ? DP_C_ACK_SENT
	                                          : DP_C_SKIP_SENT);
}

static void dp_own_send(struct dp *dp, struct dp_lcore *lc, struct dp_session *s, uint8_t role,
                        uint8_t type, const uint8_t *plain, size_t plain_len)
{
	dp_own_send_to(dp, lc, s, role, type, plain, plain_len, NULL);
}

/*
 * A fresh, authentic up frame from member `from` (its hop header at frame,
 * sent from src) is about to be accepted: may it be, and may it move the
 * member's address? (PROTOCOL.md 9.3.) A member of a session established in
 * this run (DP_ECHO_FREE) has no frame older than its keys: any such frame
 * may. A member restored from the store may have frames from before the
 * restart that the persisted replay marks do not cover (the marks trail by up
 * to a persist period, and Redis may have lost or been made to lose them):
 * only a frame echoing the epoch drawn at this install moves its address,
 * being sealed after the device read a frame of this run. Once the member
 * has echoed it (DP_ECHO_SEEN), a frame echoing anything else is a replay
 * from before (or one the device sealed before it learned the epoch; it
 * re-seals what it retransmits): refused. Until then (DP_ECHO_WAIT) such a
 * frame is taken, its source only told the epoch by a DATA_SKIP of nothing,
 * never learned: a device that moved while the gateway was down learns the
 * epoch there, and its next frame moves the address. Returns false when the
 * caller must drop the frame (counted here).
 */
static bool dp_echo_take(struct dp *dp, struct dp_lcore *lc, struct dp_session *s, uint8_t from,
                         const uint8_t *frame, const struct dp_addr *src)
{
	struct dp_member *mb = &s->m[from];
	static const uint8_t nothing[8];

	if (unlikely(s->cs->cpu_open_prev[from])) {
		/* A rekey's overlap (dp_rekey.h): a frame of the old keys is taken
		 * (it may be the last copy of its message) but, sealed before the
		 * new ones existed, teaches no address; the first of the new keys
		 * ends the overlap. */
		if (dp_rekey_prev_frame(s, from, frame)) {
			dp_ctr_inc(lc, DP_C_REKEY_OLD_GEN);
			return true;
		}
		dp_rekey_retire(s, from);
		dp_ctr_inc(lc, DP_C_REKEY_RETIRED);
	}
	if (likely(mb->echo == DP_ECHO_FREE) ||
	    sga_hop_echo_current(&mb->hop, sga_hop_frame_epoch(frame))) {
		if (unlikely(mb->echo == DP_ECHO_WAIT))
			mb->echo = DP_ECHO_SEEN;
		dp_member_addr_learn(lc, mb, src);
		return true;
	}
	if (mb->echo == DP_ECHO_SEEN) {
		dp_ctr_inc(lc, DP_C_DROP_STALE_EPOCH);
		/* Several gateways ([sessions] adopt): a fresh frame echoing an
		 * epoch this gateway did not draw was sealed after another
		 * gateway's frames reached the device - that one adopted the
		 * session. A reservation asks the state store, whose fence then
		 * refuses it and the control plane lets the session go (its next
		 * frame adopts it back); without this, a gateway that had no
		 * traffic while the other owned the session would keep dropping
		 * the session's frames and never write the mark that fences it. */
		if (dp->cfg.adopt_sessions && !__atomic_load_n(&mb->resv_pending, __ATOMIC_RELAXED))
			dp_resv_raise(dp, lc, s, from);
		return false;
	}
	dp_ctr_inc(lc, DP_C_STALE_EPOCH);
	if (!dp_addr_equal(&mb->addr, src))
		dp_own_send_to(dp, lc, s, from, SGA_MSG_DATA_SKIP, nothing, sizeof(nothing), src);
	return true;
}

static void dp_skip_send(struct dp *dp, struct dp_lcore *lc, struct dp_session *s, uint8_t role,
                         uint64_t next_e2e_seq)
{
	uint8_t plain[8];

	dp_put_be64(plain, next_e2e_seq);
	dp_own_send(dp, lc, s, role, SGA_MSG_DATA_SKIP, plain, sizeof(plain));
}

/* dp_ack.h: the coalesced DATA_ACKs leave here, one per sender and iteration.
 * Only to the address the sender last authenticated from: anyone can replay a
 * captured frame from a forged address. */
void dp_ack_send(struct dp *dp, struct dp_lcore *lc, struct dp_session *s, uint8_t role,
                 const struct sga_data_ack_plain *a)
{
	uint8_t plain[SGA_DATA_ACK_LEN];
	size_t n;

	if (!s->m[role].addr.port)
		return;
	if (unlikely(sga_data_ack_plain_encode(a, plain, sizeof(plain), &n))) {
		dp_ctr_inc(lc, DP_C_DROP_RESEAL); /* cannot happen: dp_ack keeps it valid */
		return;
	}
	dp_own_send(dp, lc, s, role, SGA_MSG_DATA_ACK, plain, n);
}

/* ---- the relay (owner lcore) ------------------------------------------------------ */

/* A fresh authentic up frame from member `from` (inner_len bytes of message:
 * a DATA_UP; 0: a DATA_DELIVERED, activity only): the slot's idle clock and
 * traffic figures, which it returns. Owner lcore: plain relaxed stores. */
static inline struct dp_slot_life *dp_slot_active(struct dp *dp, struct dp_lcore *lc,
                                                  struct dp_session *s, uint8_t from,
                                                  size_t inner_len)
{
	unsigned idx = dp_slot_index(dp, s);
	struct dp_slot_life *l = &dp->life[idx];

	dp_slot_moved(dp, idx); /* its replay mark and maybe its address */
	__atomic_store_n(&l->last_tsc, lc->now_tsc, __ATOMIC_RELAXED);
	if (inner_len) {
		__atomic_store_n(&l->frames[from], l->frames[from] + 1, __ATOMIC_RELAXED);
		__atomic_store_n(&l->bytes[from], l->bytes[from] + inner_len, __ATOMIC_RELAXED);
	}
	return l;
}

static enum dp_counter dp_open_drop_reason(int rc)
{
	switch (rc) {
	case -SGA_E_AUTH:
		return DP_C_DROP_HOP_AUTH;
	case -SGA_E_REPLAY:
		return DP_C_DROP_HOP_REPLAY; /* too old to tell: refused unopened */
	case -SGA_E_UNKNOWN_SESSION:
		return DP_C_DROP_UNKNOWN_SESSION;
	default:
		return DP_C_DROP_HOP_MALFORMED;
	}
}

/*
 * m holds an authentic DATA_UP from member `from` of s, opened in place: the
 * plaintext inner[0..inner_len) (e2e_seq | e2e_ct) sits right after the hop
 * header, which starts at m->l2_len + l3_len + l4_len. seen: the window already
 * held seq. Relays it to the peer and acknowledges it to the sender, or drops it
 * with its reason. Both crypto paths end here.
 */
static void dp_relay_opened(struct dp *dp, struct dp_lcore *lc, struct rte_mbuf *m,
                            struct dp_session *s, uint8_t from, uint64_t seq, uint8_t *inner,
                            size_t inner_len, bool seen)
{
	const uint8_t to = from ^ 1;
	const size_t off = dp_sga_off(m);
	uint8_t *frame = inner - SGA_HOP_HDR_LEN;
	struct dp_member *src_m = &s->m[from], *dst_m = &s->m[to];
	size_t new_len, want, out_len;
	enum dp_counter why;
	struct dp_addr src;
	uint64_t e2e_seq;

	if (unlikely(inner_len < 8 + SGA_CT_MIN)) { /* e2e_seq | e2e_ct */
		dp_drop(lc, m, DP_C_DROP_HOP_MALFORMED);
		return;
	}
	e2e_seq = dp_get_be64(inner);
	/* Authentic, already accepted (a network duplicate): acknowledge again
	 * (the sender lost our ACK), never relay. The ACK goes to the address we
	 * authenticated before, not to this frame's source (dp_ack_send). With a
	 * store, only a message it holds durably (or delivered) is ACKed.
	 * LAB ONLY (hop_replay_off): taken as fresh from here on - stored,
	 * sealed, relayed, acknowledged - but it neither moves the window (its
	 * seq may be a lap behind: its bit would stand for a newer frame) nor
	 * teaches an address (a replay comes from anywhere). */
	if (seen) {
		if (likely(!dp->cfg.hop_replay_off)) {
			dp_ctr_inc(lc, DP_C_DUPLICATE);
			if (!lc->store || dp_store_put(lc->store, s->session_id, from, e2e_seq,
			                               inner, inner_len) == DP_STORE_DONE)
				dp_ack_note(lc, s, from, e2e_seq);
			rte_pktmbuf_free(m);
			return;
		}
		dp_ctr_inc(lc, DP_C_LAB_REPLAY_RELAYED);
	} else {
		/* Fresh and authentic: it moves the window and, echoing this run's
		 * epoch, teaches us where the sender is, even if it cannot be relayed
		 * now (so two devices coming up in turn each find the other). */
		dp_mbuf_src(m, &src);
		if (unlikely(!dp_echo_take(dp, lc, s, from, frame, &src))) {
			rte_pktmbuf_free(m);
			return;
		}
		sga_replay_update(&src_m->hop.rx, seq);
		(void)dp_slot_active(dp, lc, s, from, inner_len);
	}

	/* Store and forward: durable before its DATA_ACK (dp_store_acks_due sends
	 * it), relayed now, or held for in-order delivery by the re-send scan when
	 * the recipient's backlog is long. A message the store cannot take is
	 * relayed all the same but never acknowledged, so the sender keeps it and
	 * tries again; unless the backlog is long (it would outrun the held ones).
	 */
	if (lc->store) {
		enum dp_store_put_rc sr =
		    dp_store_put(lc->store, s->session_id, from, e2e_seq, inner, inner_len);

		dp_store_kick(lc->store, s->session_id, from);
		switch (sr) {
		case DP_STORE_RELAY:
			dp_ctr_inc(lc, DP_C_STORED);
			break;
		case DP_STORE_HOLD:
			dp_ctr_inc(lc, DP_C_STORED);
			dp_ctr_inc(lc, DP_C_STORE_HELD);
			rte_pktmbuf_free(m);
			return;
		case DP_STORE_HAVE:
			/* Held already: a re-sealed retransmission (PROTOCOL.md 9.4).
			 * Its sender lacks our DATA_ACK (queued again by the store)
			 * and the recipient may lack the message: relayed again
			 * unless held back for in-order delivery. */
			if (!dp_store_reseal(lc->store, s->session_id, from, e2e_seq, inner,
			                     inner_len)) {
				dp_ctr_inc(lc, DP_C_DUPLICATE);
				rte_pktmbuf_free(m);
				return;
			}
			break; /* counted as relayed (and store.resealed_relayed) */
		case DP_STORE_DONE:
			/* Delivered already: acknowledged, never relayed again. */
			dp_ctr_inc(lc, DP_C_DUPLICATE);
			dp_ack_note(lc, s, from, e2e_seq);
			rte_pktmbuf_free(m);
			return;
		case DP_STORE_FULL:
			dp_ctr_inc(lc, DP_C_STORE_REFUSED_FULL);
			break;
		case DP_STORE_ERROR:
			dp_ctr_inc(lc, DP_C_STORE_REFUSED_ERROR);
			break;
		case DP_STORE_REFUSED_HOLD:
			dp_drop(lc, m, DP_C_DROP_STORE_BACKLOG);
			return;
		}
	}

	/* No ACK on these drops: the sender retransmits (with a fresh hop seq). */
	if (unlikely(!dst_m->addr.port)) {
		dp_drop(lc, m, DP_C_DROP_PEER_UNKNOWN);
		return;
	}
	if (unlikely(!dp_member_tx_ok(dp, lc, s, to))) {
		dp_drop(lc, m, DP_C_DROP_TX_SEQ);
		return;
	}
	/* Size the mbuf for DATA_DOWN: the recipient's tag at the end (Ethernet
	 * padding already trimmed); the headers in front are fitted to the
	 * recipient's address when it goes out (dp_udp_out). */
	new_len = SGA_HOP_HDR_LEN + inner_len + dst_m->tag_len;
	if (unlikely(new_len > SGA_FRAME_MAX)) {
		dp_drop(lc, m, DP_C_DROP_RESEAL);
		return;
	}
	want = off + new_len;
	if (want > m->data_len) {
		if (unlikely(!rte_pktmbuf_append(m, (uint16_t)(want - m->data_len)))) {
			dp_drop(lc, m, DP_C_DROP_RESEAL);
			return;
		}
	} else if (want < m->data_len) {
		rte_pktmbuf_trim(m, (uint16_t)(m->data_len - want));
	}
	/* frame still points at the SGA frame: append/trim move no bytes. */
	if (dp_seal_on_dev(s, to)) {
		why = dp_seal_submit(dp, lc, m, s, to, SGA_MSG_DATA_DOWN, inner_len,
		                     DP_OP_SEAL_DOWN, e2e_seq, NULL);
		if (unlikely(why))
			dp_drop(lc, m, why);
		return; /* sent, and acknowledged, when the op completes */
	}
	if (unlikely(sga_hop_seal_down_k(&dst_m->hop, s->cs->cpu_seal[to], s->session_id, to,
	                                 SGA_MSG_DATA_DOWN, inner, inner_len, frame, new_len,
	                                 &out_len))) {
		dp_drop(lc, m, DP_C_DROP_RESEAL);
		return;
	}
	if (unlikely(!dp_udp_send(dp, lc, m, &dst_m->addr, out_len)))
		return;
	dp_ctr_inc(lc, DP_C_RELAYED);

	if (!lc->store)
		dp_ack_note(lc, s, from, e2e_seq); /* relayed: taken charge of */
}

/* Queue the open of the DATA_UP or DATA_DELIVERED frame env describes (at
 * offset off of m) from member `from` on the device, after the checks
 * sga_hop_open_env makes before it opens, with the same outcomes. */
static void dp_open_submit(struct dp *dp, struct dp_lcore *lc, struct rte_mbuf *m,
                           struct dp_session *s, uint8_t from, size_t off,
                           const struct sga_env_hop *env)
{
	const struct dp_member *src_m = &s->m[from];
	uint8_t nonce[SGA_AEAD_NONCE_LEN];
	struct rte_crypto_op *op;
	size_t text_len;

	if (unlikely(env->session_id != s->session_id)) {
		dp_drop(lc, m, DP_C_DROP_UNKNOWN_SESSION);
		return;
	}
	if (unlikely((env->type != SGA_MSG_DATA_UP && env->type != SGA_MSG_DATA_DELIVERED) ||
	             env->role != from || env->ct_len < src_m->tag_len)) {
		dp_drop(lc, m, DP_C_DROP_HOP_MALFORMED);
		return;
	}
	/* A seq seen before is opened all the same: if authentic it is a
	 * duplicate to acknowledge again (decided at completion). Too old to
	 * tell: refused unopened, but in the lab mode (hop_replay_off) opened
	 * too. UINT64_MAX stays refused: no nonce is ever sealed with it. */
	if (unlikely(dp_seq_state(&src_m->hop.rx, env->seq) == DP_SEQ_TOO_OLD) &&
	    (!dp->cfg.hop_replay_off || env->seq == UINT64_MAX)) {
		dp_drop(lc, m, DP_C_DROP_HOP_REPLAY);
		return;
	}
	op = dp_op_get(dp, lc);
	if (unlikely(!op)) {
		dp_drop(lc, m, DP_C_DROP_CRYPTO_FULL);
		return;
	}
	text_len = env->ct_len - src_m->tag_len;
	sga_hop_nonce(env->seq, nonce);
	sga_cdev_op_aead(op, s->cs->open[from], src_m->hop.suite, m, (uint32_t)off,
	                 (uint16_t)env->aad_len, (uint32_t)(off + env->aad_len), (uint32_t)text_len,
	                 nonce);
	dp_op_put(lc, op, s, env->seq, text_len, DP_OP_OPEN, from);
}

/* Send a stored message (inner = e2e_seq | e2e_ct) again to member `to`. */
static void dp_resend(struct dp *dp, struct dp_lcore *lc, struct dp_session *s, uint8_t to,
                      const uint8_t *inner, size_t inner_len, uint64_t e2e_seq)
{
	struct dp_member *mb = &s->m[to];
	size_t new_len = SGA_HOP_HDR_LEN + inner_len + mb->tag_len, out_len;
	enum dp_counter why;
	struct rte_mbuf *r;
	uint8_t *p;

	if (!mb->addr.port || new_len > SGA_FRAME_MAX || !dp_member_tx_ok(dp, lc, s, to))
		return; /* not now: it stays pending */
	r = dp_frame_new(dp, lc, &mb->addr, new_len, &p);
	if (unlikely(!r))
		return;
	memcpy(p + SGA_HOP_HDR_LEN, inner, inner_len);
	if (dp_seal_on_dev(s, to)) {
		why = dp_seal_submit(dp, lc, r, s, to, SGA_MSG_DATA_DOWN, inner_len,
		                     DP_OP_SEAL_RESEND, e2e_seq, NULL);
		if (unlikely(why))
			dp_drop(lc, r, why);
		return;
	}
	if (unlikely(sga_hop_seal_down_k(&mb->hop, s->cs->cpu_seal[to], s->session_id, to,
	                                 SGA_MSG_DATA_DOWN, p + SGA_HOP_HDR_LEN, inner_len, p,
	                                 new_len, &out_len))) {
		dp_drop(lc, r, DP_C_DROP_RESEAL);
		return;
	}
	if (dp_udp_send(dp, lc, r, &mb->addr, out_len))
		dp_ctr_inc(lc, DP_C_RESENT);
}

/*
 * A DATA_DELIVERED from member `from`, authentic and opened in place (inner,
 * inner_len): it holds every message of the other direction below
 * next_e2e_seq, so the store releases them. seen: the window already held seq
 * (a duplicate, already applied). It moves the sender's window and address like
 * a DATA_UP, and brings its backlog out at once if it was away. Both crypto
 * paths end here.
 */
static void dp_delivered_opened(struct dp *dp, struct dp_lcore *lc, struct rte_mbuf *m,
                                struct dp_session *s, uint8_t from, uint64_t seq,
                                const uint8_t *inner, size_t inner_len, bool seen)
{
	struct dp_member *src_m = &s->m[from];
	struct dp_addr src;
	uint64_t next;

	if (seen && likely(!dp->cfg.hop_replay_off)) {
		rte_pktmbuf_free(m); /* an authentic duplicate: already applied */
		return;
	}
	if (unlikely(sga_hop_delivered_parse(inner, inner_len, &next))) {
		dp_drop(lc, m, DP_C_DROP_HOP_MALFORMED);
		return;
	}
	if (!seen) {
		dp_mbuf_src(m, &src);
		if (unlikely(!dp_echo_take(dp, lc, s, from, inner - SGA_HOP_HDR_LEN, &src))) {
			rte_pktmbuf_free(m);
			return;
		}
		sga_replay_update(&src_m->hop.rx, seq);
		__atomic_store_n(&dp_slot_active(dp, lc, s, from, 0)->delivered[from], next,
		                 __ATOMIC_RELAXED);
	} else {
		/* LAB ONLY: applied again like a fresh one (dp_relay_opened). */
		dp_ctr_inc(lc, DP_C_LAB_REPLAY_RELAYED);
	}
	dp_ctr_inc(lc, DP_C_DELIVERED_IN);
	rte_pktmbuf_free(m);
	if (lc->store) {
		struct dp_store_resend rs[DP_BURST];
		unsigned n = dp_store_delivered(lc->store, s->session_id, from, next,
		                                dp_store_now_ms(), rs, DP_BURST);

		/* Held messages the recipient's window now reaches: out at once. */
		for (unsigned i = 0; i < n; i++)
			dp_resend(dp, lc, s, from, rs[i].inner, rs[i].len, rs[i].e2e_seq);
		dp_store_kick(lc->store, s->session_id, from);
	}
}

/* Publish the longest backlogs for the operator (dp_store_recipients). */
static void dp_snap_add(void *arg, uint64_t sid, uint8_t role, uint64_t pending, uint64_t oldest_ms)
{
	struct dp_lcore *lc = arg;
	uint64_t now = dp_store_now_ms();
	unsigned at = lc->snap_n;

	if (at == DP_STORE_RECIP_SNAP) {
		/* Full: replace the smallest backlog if this one is larger. */
		unsigned min = 0;

		for (unsigned i = 1; i < DP_STORE_RECIP_SNAP; i++)
			if (lc->snap[i].pending < lc->snap[min].pending)
				min = i;
		if (lc->snap[min].pending >= pending)
			return;
		at = min;
	} else {
		lc->snap_n++;
	}
	lc->snap[at] = (struct dp_store_recip){
	    .session_id = sid,
	    .role = role,
	    .pending = pending,
	    .oldest_age_ms = oldest_ms && now > oldest_ms ? now - oldest_ms : 0};
}

static void dp_snap_publish(struct dp_lcore *lc)
{
	__atomic_store_n(&lc->snap_gen, lc->snap_gen + 1, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	lc->snap_n = 0;
	dp_store_foreach_recipient(lc->store, dp_snap_add, lc);
	__atomic_store_n(&lc->snap_gen, lc->snap_gen + 1, __ATOMIC_RELEASE);
}

/* Once per loop iteration: the DATA_ACKs whose messages became durable, and,
 * once a millisecond, the stored messages due for delivery again. */
static unsigned dp_store_service(struct dp *dp, struct dp_lcore *lc)
{
	struct dp_store_ack acks[DP_BURST];
	struct dp_store_resend rs[DP_BURST];
	unsigned n, work, i;
	uint64_t now;

	n = dp_store_acks_due(lc->store, acks, DP_BURST);
	work = n;
	for (i = 0; i < n; i++) {
		struct dp_session *s = dp_session_lookup(dp, acks[i].session_id);

		/* Durable: taken charge of. The owner alone writes its ACK window. */
		if (s && dp_session_owner(dp, acks[i].session_id) == lc->index)
			dp_ack_note(lc, s, acks[i].role, acks[i].e2e_seq);
	}
	now = dp_store_now_ms();
	if (now < lc->store_next_ms)
		return work;
	lc->store_next_ms = now + 1;
	if (now >= lc->snap_next_ms) {
		lc->snap_next_ms = now + 1000;
		dp_snap_publish(lc);
	}
	n = dp_store_resends_due(lc->store, now, rs, DP_BURST);
	for (i = 0; i < n; i++) {
		struct dp_session *s = dp_session_lookup(dp, rs[i].session_id);

		/* A session not (re)installed yet, after a restart: later; once the
		 * restore is done, a session closed before the restart (its close
		 * did not reach the store): released (PROTOCOL.md 7.14). Not with
		 * several gateways ([sessions] adopt): another may own it now
		 * (dp_session_disown), so its messages wait for it to come back
		 * here, or for retention. */
		if (!s) {
			if (__atomic_load_n(&dp->restored, __ATOMIC_ACQUIRE) &&
			    !dp->cfg.adopt_sessions)
				dp_store_forget(lc->store, rs[i].session_id);
			continue;
		}
		if (dp_session_owner(dp, rs[i].session_id) != lc->index)
			continue;
		if (!rs[i].inner) {
			if (s->m[rs[i].role].addr.port)
				dp_skip_send(dp, lc, s, rs[i].role, rs[i].e2e_seq);
			continue;
		}
		dp_resend(dp, lc, s, rs[i].role, rs[i].inner, rs[i].len, rs[i].e2e_seq);
	}
	return work + n;
}

/*
 * LAB ONLY (hop_replay_off): open a frame sga_hop_open_env refused unopened as
 * too old for the member's window, under the same key and checks, against an
 * empty window, so the tag is verified all the same (a forged frame still
 * fails with -SGA_E_AUTH). Returns what sga_hop_open_env returns, except that
 * an authentic frame gives -SGA_E_REPLAY with *inner set: a replay, which the
 * caller takes as fresh. The scratch copy holds the member's keys: wiped.
 */
static int dp_open_too_old_lab(const struct sga_hop_member *m, struct sga_aead_key *k, uint64_t sid,
                               uint8_t role, const struct sga_env_hop *env, uint8_t *frame,
                               size_t len, uint64_t *seq, uint8_t **inner, size_t *inner_len)
{
	struct sga_hop_member scratch = *m;
	int rc;

	sga_replay_init(&scratch.rx);
	rc = sga_hop_open_env(&scratch, k, sid, role, env, frame, len, seq, inner, inner_len);
	sga_memzero(&scratch, sizeof(scratch));
	if (rc)
		return rc; /* -SGA_E_REPLAY here: seq UINT64_MAX, refused in any mode */
	return -SGA_E_REPLAY;
}

/* A DATA_UP or DATA_DELIVERED of session sid, which is not installed: with
 * [sessions] adopt, to the control-plane worker of its session id (the one
 * that runs the session's other frames), which may adopt it from the state
 * store once it has checked the frame (cp_handler.c, "Adoption"); else, or
 * when that worker's ring is half full (the other half stays for handshakes),
 * dropped as drop_unknown_session. */
static void dp_unknown_session(struct dp *dp, struct dp_lcore *lc, struct rte_mbuf *m, uint64_t sid)
{
	unsigned w;

	/* A cluster: the gateway that owns the session, if the control plane
	 * found one alive, gets the frame (never one a peer forwarded here:
	 * that one's session is this gateway's to adopt or nobody's). */
	if (unlikely(dp->nodes.n) && !dp_mbuf_via(m)) {
		unsigned node = dp_cluster_fwd_lookup(dp, sid);

		if (node) {
			struct dp_addr dev;
			enum dp_counter why;

			dp_mbuf_src(m, &dev);
			why = dp_cluster_wrap(dp, lc, m, DP_PEER_FWD, node, &dev,
			                      m->data_len - dp_sga_off(m));
			if (why)
				dp_drop(lc, m, why);
			else
				dp_tx(lc, m);
			return;
		}
	}
	if (!dp->cfg.adopt_sessions) {
		dp_drop(lc, m, DP_C_DROP_UNKNOWN_SESSION);
		return;
	}
	w = sga_route_worker_of_session(sid, dp->cfg.n_workers);
	if (rte_ring_free_count(dp->ctrl_rings[w]) < dp->cfg.ctrl_ring_size / 2 ||
	    rte_ring_mp_enqueue(dp->ctrl_rings[w], m) != 0) {
		dp_drop(lc, m, DP_C_DROP_UNKNOWN_SESSION);
		return;
	}
	dp_ctr_inc(lc, DP_C_ADOPT_ASKED);
}

/*
 * m holds a DATA_UP or DATA_DELIVERED frame, decoded once into env by whoever
 * received it (m->l2_len/l3_len/l4_len locate the SGA frame, which ends the
 * mbuf; env points into it). Opens it on the CPU under the member's prepared
 * key and finishes it, or queues its open on the crypto device; or drops it
 * with its reason.
 */
static void dp_data_relay_s(struct dp *dp, struct dp_lcore *lc, struct rte_mbuf *m,
                            const struct sga_env_hop *env, struct dp_session *s)
{
	const size_t off = (size_t)m->l2_len + m->l3_len + m->l4_len;
	uint8_t *frame = rte_pktmbuf_mtod_offset(m, uint8_t *, off), *inner = NULL;
	size_t len = m->data_len - off, inner_len = 0;
	const uint64_t sid = env->session_id;
	const uint8_t from = env->role;
	uint64_t seq = 0;
	bool prev;
	int rc;

	if (unlikely(!s)) {
		dp_unknown_session(dp, lc, m, sid);
		return;
	}
	prev = dp_rekey_prev_frame(s, from, frame); /* old keys: on the CPU, dp_rekey.h */
	if (!prev && dp_open_on_dev(s, from)) {
		dp_open_submit(dp, lc, m, s, from, off, env);
		return;
	}
	/* -REPLAY with *inner set: authentic, already accepted. Without inner it
	 * was too old to check and was not opened. */
	rc = sga_hop_open_env(&s->m[from].hop,
	                      prev ? s->cs->cpu_open_prev[from] : s->cs->cpu_open[from], sid, from,
	                      env, frame, len, &seq, &inner, &inner_len);
	if (unlikely(rc) && !(rc == -SGA_E_REPLAY && inner)) {
		if (rc == -SGA_E_REPLAY && dp->cfg.hop_replay_off)
			rc = dp_open_too_old_lab(&s->m[from].hop, s->cs->cpu_open[from], sid, from,
			                         env, frame, len, &seq, &inner, &inner_len);
		if (rc != -SGA_E_REPLAY || !inner) {
			dp_drop(lc, m, dp_open_drop_reason(rc));
			return;
		}
	}
	if (unlikely(env->type == SGA_MSG_DATA_DELIVERED))
		dp_delivered_opened(dp, lc, m, s, from, seq, inner, inner_len, rc != 0);
	else
		dp_relay_opened(dp, lc, m, s, from, seq, inner, inner_len, rc != 0);
}

static void dp_data_relay(struct dp *dp, struct dp_lcore *lc, struct rte_mbuf *m,
                          const struct sga_env_hop *env)
{
	dp_data_relay_s(dp, lc, m, env, dp_session_lookup(dp, env->session_id));
}

/* ---- crypto completions ------------------------------------------------------------ */

static void dp_open_done(struct dp *dp, struct dp_lcore *lc, struct rte_mbuf *m,
                         const struct dp_op_ctx *c, int status)
{
	const size_t off = (size_t)m->l2_len + m->l3_len + m->l4_len;
	uint8_t *inner = rte_pktmbuf_mtod_offset(m, uint8_t *, off + SGA_HOP_HDR_LEN);
	enum dp_seq_state st;

	if (unlikely(status)) {
		/* In place, a failed open may have left unauthenticated plaintext in
		 * the buffer; the CPU path zeroes it too (sga_aead_open). */
		memset(inner, 0, c->text_len);
		dp_drop(lc, m, status == -EBADMSG ? DP_C_DROP_HOP_AUTH : DP_C_DROP_CRYPTO_ERR);
		return;
	}
	/* Again, now: another copy may have been accepted while this one was in
	 * flight, and the window may have moved past it. */
	st = dp_seq_state(&c->s->m[c->role].hop.rx, c->seq);
	if (unlikely(st == DP_SEQ_TOO_OLD)) {
		if (!dp->cfg.hop_replay_off) {
			dp_drop(lc, m, DP_C_DROP_HOP_REPLAY);
			return;
		}
		st = DP_SEQ_SEEN; /* LAB ONLY: a replay, taken as fresh below */
	}
	/* The frame's type byte is in the clear (and authenticated as AAD). */
	if (unlikely((inner - SGA_HOP_HDR_LEN)[1] == SGA_MSG_DATA_DELIVERED))
		dp_delivered_opened(dp, lc, m, c->s, c->role, c->seq, inner, c->text_len,
		                    st == DP_SEQ_SEEN);
	else
		dp_relay_opened(dp, lc, m, c->s, c->role, c->seq, inner, c->text_len,
		                st == DP_SEQ_SEEN);
}

static void dp_op_finish(struct dp *dp, struct dp_lcore *lc, const struct dp_op_ctx c,
                         struct rte_mbuf *m, int status)
{
	if (c.stage == DP_OP_OPEN) {
		dp_open_done(dp, lc, m, &c, status);
		return;
	}
	if (unlikely(status)) {
		dp_drop(lc, m, DP_C_DROP_CRYPTO_ERR);
		return;
	}
	/* Sealed: the frame is final, its UDP checksum can be computed now. */
	if (unlikely(!dp_udp_send(dp, lc, m,
	                          c.stage == DP_OP_SEAL_PROBE ? &c.dst : &c.s->m[c.role].addr,
	                          m->data_len - dp_sga_off(m))))
		return;
	if (c.stage == DP_OP_SEAL_PROBE) {
		dp_ctr_inc(lc, DP_C_EPOCH_PROBE);
		return;
	}
	if (c.stage == DP_OP_SEAL_ACK) {
		dp_ctr_inc(lc, DP_C_ACK_SENT);
		return;
	}
	if (c.stage == DP_OP_SEAL_RESEND) {
		dp_ctr_inc(lc, DP_C_RESENT);
		return;
	}
	if (c.stage == DP_OP_SEAL_SKIP) {
		dp_ctr_inc(lc, DP_C_SKIP_SENT);
		return;
	}
	dp_ctr_inc(lc, DP_C_RELAYED);
	if (!lc->store)
		dp_ack_note(lc, c.s, c.role ^ 1, c.seq); /* relayed: taken charge of */
}

static void dp_op_done(struct dp *dp, struct dp_lcore *lc, struct rte_crypto_op *op)
{
	const struct dp_op_ctx c = *(const struct dp_op_ctx *)sga_cdev_op_user(op);
	struct rte_mbuf *m = op->sym->m_src;
	int status = sga_cdev_op_status(op);
	struct dp_slot_life *l = &dp->life[dp_slot_index(dp, c.s)];

	dp_op_recycle(lc, op);
	dp_op_finish(dp, lc, c, m, status);
	/* After the finish, which may have built the next stage's op: the count
	 * never touches 0 between the stages of one relay. Release: what the
	 * finish did with the slot comes before a reclaimer's 0 (dp_rcu.c). */
	__atomic_store_n(&l->ops, l->ops - 1, __ATOMIC_RELEASE);
}

/*
 * Offer the op vector to the device and finish what it completed, for at most
 * DP_CQ_ROUNDS rounds: a completion may build the next stage's op (open ->
 * seal -> ACK), which the next round enqueues, so a synchronous software PMD
 * finishes a whole relay within one loop iteration while a device that answers
 * later is simply picked up by later iterations. Never waits. Returns the
 * number of ops completed.
 */
static unsigned dp_cq_run(struct dp *dp, struct dp_lcore *lc)
{
	struct rte_crypto_op *done[DP_CQ_DEQ];
	unsigned work = 0;

	for (unsigned r = 0; r < DP_CQ_ROUNDS && (lc->cq_n || lc->cq_inflight); r++) {
		uint16_t n;

		dp_cq_flush(dp, lc);
		if (!lc->cq_inflight)
			break;
		n = sga_cdev_dequeue(dp->cdev, (uint16_t)lc->index, done, DP_CQ_DEQ);
		if (!n)
			break;
		lc->cq_inflight -= n;
		dp_ctr_add(lc, DP_C_CRYPTO_OPS, n);
		for (uint16_t i = 0; i < n; i++)
			dp_op_done(dp, lc, done[i]);
		work += n;
	}
	/* Ops the last completions built go to the device now, not next time. */
	dp_cq_flush(dp, lc);
	return work;
}

/* Give back every op of the lcore with its mbuf, without sending anything:
 * tear-down only. Waits up to a second for ops the device still holds. */
static void dp_cq_discard(struct dp *dp, struct dp_lcore *lc)
{
	uint64_t deadline = rte_get_timer_cycles() + rte_get_timer_hz();
	struct rte_crypto_op *done[DP_CQ_DEQ];

	for (unsigned i = 0; i < lc->cq_n; i++) {
		rte_pktmbuf_free(lc->cq_vec[i]->sym->m_src);
		sga_cdev_op_free(lc->cq_vec[i]);
	}
	lc->cq_n = 0;
	while (lc->cq_inflight && rte_get_timer_cycles() < deadline) {
		uint16_t n = sga_cdev_dequeue(dp->cdev, (uint16_t)lc->index, done, DP_CQ_DEQ);

		lc->cq_inflight -= n;
		for (uint16_t i = 0; i < n; i++) {
			rte_pktmbuf_free(done[i]->sym->m_src);
			sga_cdev_op_free(done[i]);
		}
		if (!n)
			rte_delay_us_sleep(100);
	}
	if (lc->cq_inflight)
		DP_LOG(WARNING, "lcore %u: %u crypto ops never completed", lc->index,
		       lc->cq_inflight);
}

int dp_hop_replay_window(const struct dp *dp)
{
	return !dp || !dp->cfg.hop_replay_off;
}

unsigned dp_crypto_pending(const struct dp *dp, unsigned index)
{
	if (!dp || index >= dp->cfg.n_lcores)
		return 0;
	return dp->lcores[index].cq_n + dp->lcores[index].cq_inflight;
}

/* ---- classification ----------------------------------------------------------------- */

unsigned dp_ctrl_worker_of_id(const uint8_t *id, size_t id_len, unsigned n_workers)
{
	return sga_route_worker_of_id(id, id_len, n_workers);
}

unsigned dp_ctrl_worker_of_session(uint64_t session_id, unsigned n_workers)
{
	return sga_route_worker_of_session(session_id, n_workers);
}

/* A data frame of a session this lcore owns, kept for the second pass over
 * the burst (dp_rx_data_run): the session slots of the whole burst are looked
 * up in one go and prefetched before the first frame is relayed. */
struct dp_rx_data {
	struct rte_mbuf *m;
	struct sga_env_hop env;
};

struct dp_rx_burst {
	unsigned n;
	struct dp_rx_data d[DP_BURST];
};

/* A DATA_UP or DATA_DELIVERED frame (env: decoded from it): to its owner's
 * ring, or kept in rb for this lcore. */
static void dp_data_route(struct dp *dp, struct dp_lcore *lc, struct rte_mbuf *m,
                          const struct sga_env_hop *env, struct dp_rx_burst *rb)
{
	unsigned owner = dp_session_owner(dp, env->session_id);

	if (owner == lc->index) {
		rb->d[rb->n].m = m;
		rb->d[rb->n].env = *env;
		rb->n++;
		return;
	}
	/* Unknown ids end here rather than cost the owner a ring slot. */
	if (!dp_session_lookup(dp, env->session_id)) {
		dp_unknown_session(dp, lc, m, env->session_id);
		return;
	}
	if (rte_ring_mp_enqueue(dp->lcores[owner].handoff, m) == 0)
		dp_ctr_inc(lc, DP_C_HANDOFF);
	else
		dp_drop(lc, m, DP_C_DROP_HANDOFF_FULL);
}

/* The SGA frame sga[0..len) ends the mbuf: DATA_UP and DATA_DELIVERED to the
 * relay, control frames to a worker's ring, everything else dropped. A data
 * frame is decoded once, here (sga_env_hop_decode checks the header and every
 * clear field and length), and the result goes down with it. */
static void dp_sga_dispatch(struct dp *dp, struct dp_lcore *lc, struct rte_mbuf *m,
                            const uint8_t *sga, size_t len, const struct dp_addr *src,
                            struct dp_rx_burst *rb)
{
	struct sga_route_key key;
	struct sga_env_hop env;
	struct sga_hdr h;
	unsigned w;

	if (likely(len >= SGA_HDR_LEN) &&
	    (sga[1] == SGA_MSG_DATA_UP || sga[1] == SGA_MSG_DATA_DELIVERED)) {
		if (unlikely(sga_env_hop_decode(sga, len, &env))) {
			dp_drop(lc, m, DP_C_DROP_SGA_HDR);
			return;
		}
		if (env.type == SGA_MSG_DATA_UP)
			dp_ctr_inc(lc, DP_C_DATA_IN);
		dp_data_route(dp, lc, m, &env, rb);
		return;
	}
	if (sga_hdr_parse(sga, len, &h)) {
		dp_drop(lc, m, DP_C_DROP_SGA_HDR);
		return;
	}
	switch (h.type) {
	case SGA_MSG_REG_REQ:
	case SGA_MSG_PKG_REQ:
	case SGA_MSG_NEG_REQ:
	case SGA_MSG_NEG_ACCEPT:
	case SGA_MSG_KEX_INIT:
	case SGA_MSG_REKEY_INIT:
	case SGA_MSG_COOKIE_ECHO:
	case SGA_MSG_SESSION_CLOSE:
	case SGA_MSG_WAKE: /* PROTOCOL.md 7.16: the control plane moves the address */
		break;
	default:
		dp_drop(lc, m, DP_C_DROP_NOT_UPLINK);
		return;
	}
	/* Before the frame costs a ring slot or a worker's time: its source's
	 * token bucket (dp_ratelimit.h). */
	if (lc->rl && !dp_rl_allow(lc->rl, dp_rl_key(src), rte_rdtsc())) {
		dp_drop(lc, m, DP_C_DROP_CTRL_RATE);
		return;
	}
	sga_route_key(sga, len, &key);
	if (key.kind == SGA_ROUTE_ANY && h.type != SGA_MSG_PKG_REQ) {
		dp_drop(lc, m, DP_C_DROP_SGA_HDR); /* its clear part does not parse */
		return;
	}
	if (sga_cookie_type(h.type) && __atomic_load_n(&dp->ctrl_spread, __ATOMIC_RELAXED)) {
		/* Under load a bare frame only earns a cookie, which any worker
		 * can give: one device id (a NEG_REQ flood) or one session cannot
		 * pile up on one worker. Nothing it keys is touched. */
		w = lc->rr++ % dp->cfg.n_workers;
		/* A quarter of every ring stays free for what a flood cannot
		 * forge: cookie echoes and the other handshake frames. */
		if (rte_ring_free_count(dp->ctrl_rings[w]) < dp->cfg.ctrl_ring_size / 4) {
			dp_drop(lc, m, DP_C_DROP_CTRL_LOAD);
			return;
		}
		dp_ctr_inc(lc, DP_C_CTRL_SPREAD);
	} else {
		/* One device's envelopes, one session's KEX_INITs, one REG_REQ and
		 * its retransmissions on one worker (sga_route.h). */
		w = sga_route_worker(&key, dp->cfg.n_workers, &lc->rr);
	}
	if (rte_ring_mp_enqueue(dp->ctrl_rings[w], m) == 0)
		dp_ctr_inc(lc, DP_C_CTRL_IN);
	else
		dp_drop(lc, m, DP_C_DROP_CTRL_RING_FULL);
}

/* The checks the port's RX offload made: GOOD only. BAD, UNKNOWN and NONE
 * (no offload: memif, net_ring, af_packet) are checked in software, so a bad
 * frame is dropped and counted the same way whoever found it. */
static inline unsigned dp_rx_csum_ok(const struct rte_mbuf *m)
{
	unsigned ok = 0;

	if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
		ok |= DP_PKT_RX_IP_CSUM_OK;
	if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		ok |= DP_PKT_RX_UDP_CSUM_OK;
	return ok;
}

/* Send an ARP reply or Neighbor Advertisement built in place in m (len
 * bytes): at least the Ethernet minimum (60 without FCS), padding zeroed. */
static void dp_reply_tx(struct dp_lcore *lc, struct rte_mbuf *m, size_t len)
{
	size_t want = len < 60 ? 60 : len;

	if (m->data_len < want && !rte_pktmbuf_append(m, (uint16_t)(want - m->data_len))) {
		dp_drop(lc, m, DP_C_DROP_NOMBUF);
		return;
	}
	memset(rte_pktmbuf_mtod_offset(m, uint8_t *, len), 0, want - len);
	rte_pktmbuf_trim(m, (uint16_t)(m->data_len - want));
	dp_tx(lc, m);
}

/* A datagram to the node address: a peer's PEER_FWD goes on as the device's
 * frame it carries (its sender the device, through that peer), a PEER_EMIT
 * out to the device it names. */
static void dp_peer_rx(struct dp *dp, struct dp_lcore *lc, struct rte_mbuf *m,
                       const struct dp_pkt_meta *meta, struct dp_rx_burst *rb)
{
	struct dp_peer_msg msg;
	enum dp_counter why = dp_cluster_unwrap(dp, lc, m, meta, &msg);
	struct dp_addr src;

	if (why) {
		dp_drop(lc, m, why);
		return;
	}
	if (msg.type == DP_PEER_EMIT) {
		(void)dp_udp_send(dp, lc, m, &msg.dev, msg.frame_len);
		return;
	}
	src = msg.dev;
	src.via = msg.sender;
	dp_sga_dispatch(dp, lc, m, rte_pktmbuf_mtod_offset(m, const uint8_t *, dp_sga_off(m)),
	                msg.frame_len, &src, rb);
}

static void dp_rx_one(struct dp *dp, struct dp_lcore *lc, struct rte_mbuf *m,
                      struct dp_rx_burst *rb)
{
	struct dp_pkt_meta meta;
	uint8_t *frame;
	size_t len;

	if (unlikely(!rte_pktmbuf_is_contiguous(m))) {
		dp_drop(lc, m, DP_C_DROP_MULTISEG);
		return;
	}
	frame = rte_pktmbuf_mtod(m, uint8_t *);
	/* Received directly: the field is not reset per RX (any cluster data
	 * plane of this process registered it). */
	if (unlikely(dp_via_offset >= 0))
		dp_mbuf_via_set(m, 0);
	switch (dp_pkt_classify_rx(frame, m->data_len, &dp->gw, dp_rx_csum_ok(m), &meta)) {
	case DP_PKT_UDP:
		break;
	case DP_PKT_PEER:
		m->l2_len = meta.l2_len;
		dp_peer_rx(dp, lc, m, &meta, rb);
		return;
	case DP_PKT_ARP_REPLY:
		dp_cluster_arp_learn(dp, &meta.src);
		dp_ctr_inc(lc, DP_C_PEER_ARP_LEARNED);
		rte_pktmbuf_free(m);
		return;
	case DP_PKT_ARP:
		len = dp_pkt_arp_reply(frame, &dp->gw.v4);
		dp_ctr_inc(lc, DP_C_ARP_REPLY);
		dp_reply_tx(lc, m, len);
		return;
	case DP_PKT_NS:
		/* The advertisement may be longer than the solicitation. */
		len = (size_t)meta.l2_len + DP_PKT_NA_LEN - DP_PKT_ETH_LEN;
		if (m->data_len < len && !rte_pktmbuf_append(m, (uint16_t)(len - m->data_len))) {
			dp_drop(lc, m, DP_C_DROP_NOMBUF);
			return;
		}
		len = dp_pkt_na_reply(rte_pktmbuf_mtod(m, uint8_t *), &dp->gw.v6);
		dp_ctr_inc(lc, DP_C_NDP_REPLY);
		dp_reply_tx(lc, m, len);
		return;
	default:
		dp_drop(lc, m, meta.drop);
		return;
	}
	if (unlikely(meta.tagged))
		dp_ctr_inc(lc, DP_C_RX_VLAN);
	/* Drop the Ethernet padding so the SGA frame ends the mbuf, and record where
	 * it starts for the owner lcore and the control plane (dp_ctrl_payload). */
	if (m->data_len > meta.frame_len)
		rte_pktmbuf_trim(m, (uint16_t)(m->data_len - meta.frame_len));
	m->l2_len = meta.l2_len;
	m->l3_len = meta.l3_len;
	m->l4_len = DP_PKT_UDP_LEN;
	dp_sga_dispatch(dp, lc, m, frame + meta.payload_off, meta.payload_len, &meta.src, rb);
}

/* A frame another lcore received for a session this lcore owns. */
static void dp_handoff_one(struct dp *dp, struct dp_lcore *lc, struct rte_mbuf *m)
{
	const size_t off = dp_sga_off(m);
	const uint8_t *sga = rte_pktmbuf_mtod_offset(m, const uint8_t *, off);
	struct sga_env_hop env;

	/* Validated by the receiving lcore; the spans are this lcore's to decode
	 * (one decode per lcore the frame passes through). */
	if (unlikely(sga_env_hop_decode(sga, m->data_len - off, &env))) {
		dp_drop(lc, m, DP_C_DROP_SGA_HDR);
		return;
	}
	dp_data_relay(dp, lc, m, &env);
}

/* The second pass over a burst: every kept frame's session in one bulk
 * look-up, each slot's member state (its first line: the hop keys' suite, the
 * TX sequence, and the replay window it is checked against) and its crypto
 * entry prefetched, then the frames relayed in the order they came. */
static void dp_rx_data_run(struct dp *dp, struct dp_lcore *lc, struct dp_rx_burst *rb)
{
	const void *keys[DP_BURST];
	void *slots[DP_BURST];
	uint64_t hits = 0;
	unsigned i;

	if (!rb->n)
		return;
	for (i = 0; i < rb->n; i++)
		keys[i] = &rb->d[i].env.session_id;
	if (rte_hash_lookup_bulk_data(dp->sessions, keys, rb->n, &hits, slots) < 0)
		hits = 0;
	for (i = 0; i < rb->n; i++) {
		struct dp_session *s;

		if (!(hits & (1ull << i))) {
			slots[i] = NULL;
			continue;
		}
		s = slots[i];
		rte_prefetch0(&s->m[rb->d[i].env.role]);
		rte_prefetch0(&s->m[rb->d[i].env.role].hop.rx);
		rte_prefetch0(s->cs);
	}
	for (i = 0; i < rb->n; i++)
		dp_data_relay_s(dp, lc, rb->d[i].m, &rb->d[i].env, slots[i]);
	rb->n = 0;
}

/* ---- the loop -------------------------------------------------------------------------- */

/* Closed sessions whose slots are gone (dp_rcu.c): nothing can store a message
 * for them any more, so what the store holds for them is released now
 * (PROTOCOL.md 7.14: a close releases what was not delivered). */
static unsigned dp_store_forget_run(struct dp_lcore *lc)
{
	uint64_t sids[DP_BURST];
	unsigned n =
	    rte_ring_sc_dequeue_burst_elem(lc->forget, sids, sizeof(sids[0]), DP_BURST, NULL);

	for (unsigned i = 0; i < n; i++)
		dp_store_forget(lc->store, sids[i]);
	return n;
}

/* An adopted session's replicated backlog (dp_store_adopt): a few items per
 * iteration, copied out of the ring into the lcore's buffer, then into the
 * store (the pool and the log's ring: no allocation, no syscall). */
static unsigned dp_store_adopt_run(struct dp_lcore *lc)
{
	struct dp_adopt_msg m[DP_ADOPT_BURST];
	uint64_t now = dp_store_now_ms();
	unsigned n =
	    rte_ring_sc_dequeue_burst_elem(lc->adopt, m, sizeof(m[0]), DP_ADOPT_BURST, NULL);

	for (unsigned i = 0; i < n; i++) {
		if (m[i].mark)
			dp_store_adopt_mark(lc->store, m[i].sid, m[i].role, m[i].e2e_seq);
		else
			(void)dp_store_adopt_put(lc->store, m[i].sid, m[i].role, m[i].e2e_seq,
			                         m[i].inner, m[i].len, now);
	}
	return n;
}

/* WAKE commands (dp_wake.c): a device announced a new address in a fresh,
 * authentic WAKE that the control plane checked, so the address moves
 * whatever the member's echo state (a WAKE is no hop frame: it cannot
 * predate this run's epoch, its counter was fresh under k_d). */
static unsigned dp_wake_run(struct dp *dp, struct dp_lcore *lc)
{
	struct dp_wake_cmd c[DP_CTRL_TX_BURST];
	unsigned n =
	    rte_ring_sc_dequeue_burst_elem(lc->wake, c, sizeof(c[0]), DP_CTRL_TX_BURST, NULL);

	for (unsigned i = 0; i < n; i++) {
		struct dp_session *s = dp_session_lookup(dp, c[i].session_id);
		bool stored = false;

		if (s && c[i].role < 2) { /* NULL: closed since it was posted */
			dp_member_addr_learn(lc, &s->m[c[i].role], &c[i].addr);
			dp_slot_moved(dp, dp_slot_index(dp, s));
			if (lc->store) {
				if (c[i].flags & SGA_WAKE_WANT_STORED)
					dp_store_kick(lc->store, s->session_id, c[i].role);
				stored = dp_store_pending(lc->store, s->session_id, c[i].role) > 0;
			}
		}
		dp_wake_answer(dp, c[i].gen, stored);
	}
	return n;
}

static unsigned dp_lcore_iter(struct dp *dp, struct dp_lcore *lc)
{
	struct rte_mbuf *pkts[DP_BURST];
	struct dp_rx_burst rb;
	unsigned n, i, work;

	rb.n = 0;
	lc->now_tsc = rte_rdtsc();
	n = rte_eth_rx_burst(dp->cfg.port_id, (uint16_t)lc->index, pkts, DP_BURST);
	work = n;
	if (n) {
		dp_ctr_add(lc, DP_C_RX, n);
		for (i = 0; i < n && i < DP_PREFETCH; i++)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
		for (i = 0; i < n; i++) {
			if (i + DP_PREFETCH < n)
				rte_prefetch0(rte_pktmbuf_mtod(pkts[i + DP_PREFETCH], void *));
			dp_rx_one(dp, lc, pkts[i], &rb);
		}
		dp_rx_data_run(dp, lc, &rb);
	}

	n = rte_ring_sc_dequeue_burst(lc->handoff, (void **)pkts, DP_BURST, NULL);
	work += n;
	for (i = 0; i < n; i++)
		dp_handoff_one(dp, lc, pkts[i]);

	/* The opens both bursts queued go to the device together; whatever it has
	 * finished (of this or earlier iterations) is relayed now. */
	if (lc->cq_n || lc->cq_inflight)
		work += dp_cq_run(dp, lc);
	if (lc->store) {
		work += dp_store_service(dp, lc);
		if (unlikely(rte_ring_count(lc->forget)))
			work += dp_store_forget_run(lc);
		if (unlikely(lc->adopt && rte_ring_count(lc->adopt)))
			work += dp_store_adopt_run(lc);
	}
	if (unlikely(rte_ring_count(lc->wake)))
		work += dp_wake_run(dp, lc);
	if (unlikely(dp->nodes.n) && lc->index == 0)
		work += dp_cluster_arp_run(dp, lc);

	/* A few control-plane frames per iteration: replies are not latency
	 * critical and must not starve the relay. */
	n = rte_ring_mc_dequeue_burst(dp->ctrl_tx, (void **)pkts, DP_CTRL_TX_BURST, NULL);
	work += n;
	for (i = 0; i < n; i++) {
		dp_ctr_inc(lc, DP_C_CTRL_OUT);
		dp_tx(lc, pkts[i]);
	}

	/* One DATA_ACK per sender for everything this iteration took charge of;
	 * the seals it queued on the device go now, not next time. */
	if (lc->acks.n) {
		dp_ack_flush(dp, lc);
		if (lc->cq_n)
			dp_cq_flush(dp, lc);
	}

	/* Flushed every iteration: a burst already batches up to 2 x 32 frames, and
	 * an idle link gets its frames without waiting for a timer. */
	dp_tx_flush(lc);
	return work;
}

unsigned dp_poll_once(struct dp *dp, unsigned index)
{
	if (!dp || index >= dp->cfg.n_lcores)
		return 0;
	return dp_lcore_iter(dp, &dp->lcores[index]);
}

int dp_lcore_main(void *arg)
{
	struct dp *dp = arg;
	unsigned self = rte_lcore_id(), index;
	struct dp_idle idle = {0, 0};
	struct dp_lcore *lc;

	for (index = 0; index < dp->cfg.n_lcores; index++)
		if (dp->lcore_ids[index] == self)
			break;
	if (index == dp->cfg.n_lcores) {
		DP_LOG(ERR, "lcore %u is not a data-plane lcore", self);
		return -EINVAL;
	}
	lc = &dp->lcores[index];
	if (dp->cfg.idle_sleep_us)
		DP_LOG(INFO, "lcore %u: queue %u; sleeps when idle, up to %u us (idle_sleep_us)",
		       self, index, dp->cfg.idle_sleep_us);
	else
		DP_LOG(INFO, "lcore %u: queue %u", self, index);
	/* A QSBR reader from here on: between two iterations it holds no slot
	 * pointer but in its crypto ops, which the slots count (dp_rcu.c). */
	rte_rcu_qsbr_thread_online(dp->qsbr, index);
	while (!__atomic_load_n(&dp->stop, __ATOMIC_RELAXED)) {
		unsigned work = dp_lcore_iter(dp, lc), sleep_us;

		rte_rcu_qsbr_quiescent(dp->qsbr, index);
		/* Crypto ops in flight are work to come: no sleep under them. */
		sleep_us =
		    dp_idle_next(&idle, work + lc->cq_n + lc->cq_inflight, dp->cfg.idle_sleep_us);
		if (sleep_us) {
			dp_ctr_inc(lc, DP_C_IDLE_SLEEPS);
			rte_delay_us_sleep(sleep_us);
		} else if (!work) {
			rte_pause();
		}
	}
	/* Finish the relays the crypto device still holds (a bounded wait at
	 * shutdown only); dp_destroy frees whatever is left. */
	{
		uint64_t deadline = rte_get_timer_cycles() + rte_get_timer_hz() / 10;

		dp_ack_flush(dp, lc);
		while ((lc->cq_n || lc->cq_inflight) && rte_get_timer_cycles() < deadline) {
			unsigned done = dp_cq_run(dp, lc);

			dp_ack_flush(dp, lc);
			if (!done)
				rte_pause();
		}
	}
	dp_tx_flush(lc);
	rte_rcu_qsbr_thread_offline(dp->qsbr, index);
	DP_LOG(INFO, "lcore %u: stopped", self);
	return 0;
}

/* ---- per-lcore state ------------------------------------------------------------------------ */

int dp_lcore_init(struct dp *dp, unsigned index)
{
	struct dp_lcore *lc = &dp->lcores[index];
	char name[RTE_RING_NAMESIZE];

	lc->dp = dp;
	lc->index = index;
	lc->ip_id = (uint16_t)(index << 12);
	lc->txb = rte_zmalloc_socket("sga_dp_txb", RTE_ETH_TX_BUFFER_SIZE(DP_BURST), 0, dp->socket);
	if (!lc->txb)
		return -ENOMEM;
	rte_eth_tx_buffer_init(lc->txb, DP_BURST);
	if (rte_eth_tx_buffer_set_err_callback(lc->txb, dp_tx_unsent, lc))
		return -EINVAL;
	if (dp->cfg.ctrl_rate) {
		lc->rl = rte_zmalloc_socket("sga_dp_rl", sizeof(*lc->rl), RTE_CACHE_LINE_SIZE,
		                            dp->socket);
		if (!lc->rl)
			return -ENOMEM;
		dp_rl_init(lc->rl, dp->cfg.ctrl_rate, dp->cfg.ctrl_burst ? dp->cfg.ctrl_burst : 1,
		           rte_get_tsc_hz());
	}
	if (dp_cluster_lcore_init(dp, lc))
		return -ENOMEM;
	snprintf(name, sizeof(name), "sga_dp%u_ho%u", dp->instance, index);
	lc->handoff = rte_ring_create(name, DP_HANDOFF_RING, dp->socket, RING_F_SC_DEQ);
	if (!lc->handoff)
		return -rte_errno;
	snprintf(name, sizeof(name), "sga_dp%u_wk%u", dp->instance, index);
	lc->wake = rte_ring_create_elem(name, sizeof(struct dp_wake_cmd), DP_WAKE_RING, dp->socket,
	                                RING_F_SC_DEQ);
	if (!lc->wake)
		return -rte_errno;
	if (dp->cfg.store_dir && dp->cfg.store_dir[0]) {
		struct dp_store_config sc = {
		    .dir = dp->cfg.store_dir,
		    .lcore_index = index,
		    .n_lcores = dp->cfg.n_lcores,
		    .fsync = (enum msg_log_fsync)dp->cfg.store_fsync,
		    .fsync_interval_ms = dp->cfg.store_fsync_interval_ms,
		    .segment_bytes = dp->cfg.store_segment_bytes,
		    .max_bytes = dp->cfg.store_max_bytes,
		    .max_age_ms = dp->cfg.store_max_age_ms,
		    .pending_max = dp->cfg.store_pending_max ? dp->cfg.store_pending_max : 16384,
		    .ring_bytes = dp->cfg.store_ring_bytes,
		    .lab_replay = dp->cfg.hop_replay_off,
		    .writer_cpus = dp->cfg.store_writer_cpus,
		    .replica = dp->cfg.store_replica,
		};
		struct dp_store_report rep;

		lc->store = dp_store_create(&sc, &rep);
		if (!lc->store)
			return errno ? -errno : -EIO;
		snprintf(name, sizeof(name), "sga_dp%u_fg%u", dp->instance, index);
		lc->forget = rte_ring_create_elem(name, sizeof(uint64_t), DP_FORGET_RING,
		                                  dp->socket, RING_F_SC_DEQ);
		if (!lc->forget)
			return -rte_errno;
		if (dp->cfg.store_replica) {
			snprintf(name, sizeof(name), "sga_dp%u_ad%u", dp->instance, index);
			lc->adopt = rte_ring_create_elem(name, sizeof(struct dp_adopt_msg),
			                                 DP_ADOPT_RING, dp->socket, RING_F_SC_DEQ);
			if (!lc->adopt)
				return -rte_errno;
		}
		DP_LOG(INFO,
		       "lcore %u: store %s/lcore-%u: %llu pending messages recovered (%u issues, "
		       "%llu bytes cut)",
		       index, dp->cfg.store_dir, index, (unsigned long long)rep.live, rep.issues,
		       (unsigned long long)rep.bytes_cut);
	}
	return 0;
}

void dp_lcore_fini(struct dp_lcore *lc)
{
	struct rte_mbuf *m;

	if (lc->cq_n || lc->cq_inflight)
		dp_cq_discard(lc->dp, lc);
	while (lc->op_n)
		sga_cdev_op_free(lc->op_stash[--lc->op_n]);

	rte_free(lc->rl);
	lc->rl = NULL;
	dp_cluster_lcore_fini(lc);
	if (lc->handoff) {
		while (rte_ring_dequeue(lc->handoff, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(lc->handoff);
		lc->handoff = NULL;
	}
	if (lc->txb) {
		rte_pktmbuf_free_bulk(lc->txb->pkts, lc->txb->length);
		rte_free(lc->txb);
		lc->txb = NULL;
	}
	rte_ring_free(lc->forget);
	lc->forget = NULL;
	rte_ring_free(lc->adopt);
	lc->adopt = NULL;
	rte_ring_free(lc->wake);
	lc->wake = NULL;
	dp_store_destroy(lc->store);
	lc->store = NULL;
}
