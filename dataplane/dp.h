/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp.h - the SGA data plane: what the gateway wiring and the control plane may
 * call. The data plane owns one DPDK port; each data-plane lcore polls its own
 * RX/TX queue pair in a run-to-completion loop over bursts:
 *
 *   rx_burst -> parse Eth[/802.1Q]/ARP/IPv4/IPv6/UDP (checksums) -> classify
 *     ARP request for the gateway address  -> ARP reply, TX
 *     IPv6 Neighbor Solicitation for it    -> Neighbor Advertisement, TX
 *     SGA DATA_UP                          -> session lookup (rte_hash, lock-free
 *                                             readers) -> hop open -> hop seal for
 *                                             the peer -> TX to the peer's last
 *                                             authenticated address; DATA_ACK to
 *                                             the sender (hop open and seals as
 *                                             rte_cryptodev ops in bursts for the
 *                                             suites the crypto device serves,
 *                                             on the CPU for the others)
 *     SGA control frame                    -> control ring of the worker chosen
 *                                             by device id / session id
 *     anything else                        -> dropped, counted by reason
 *
 * No locks, no syscalls and no allocation per packet: mbufs come from pools
 * sized at start-up, session slots from an array sized at start-up.
 *
 * Threads: dp_lcore_main runs on EAL lcores. Everything else here is called
 * by the gateway main thread or control-plane pthreads (non-EAL threads), as each
 * function's comment says.
 */
#ifndef SGA_DP_H
#define SGA_DP_H

#include <sched.h> /* cpu_set_t (_GNU_SOURCE) */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_mbuf.h>

#include "sga_gateway.h"

struct dp; /* opaque */

/* Drop and event reasons: one X-macro list generates the enum, the names and
 * the per-lcore counters. */
#define DP_COUNTERS(X)                                                                           \
	X(RX, "frames received")                                                                 \
	X(TX, "frames transmitted")                                                              \
	X(TX_FULL, "frames dropped: TX queue full")                                              \
	X(ARP_REPLY, "ARP requests answered")                                                    \
	X(DROP_NOT_FOR_US, "dropped: not addressed to the gateway (MAC, IP or UDP port)")        \
	X(DROP_ETHERTYPE, "dropped: neither IPv4, IPv6 nor ARP")                                 \
	X(DROP_ARP, "dropped: ARP not a request for the gateway address")                        \
	X(DROP_IP_HDR, "dropped: malformed IPv4 header or bad length")                           \
	X(DROP_IP_CSUM, "dropped: bad IPv4 header checksum")                                     \
	X(DROP_IP_FRAG, "dropped: IPv4 fragment")                                                \
	X(DROP_NOT_UDP, "dropped: not UDP")                                                      \
	X(DROP_UDP_HDR, "dropped: malformed UDP header or length")                               \
	X(DROP_UDP_CSUM, "dropped: bad UDP checksum")                                            \
	X(DROP_SGA_HDR, "dropped: SGA header malformed (version, type, length)")                 \
	X(DROP_NOT_UPLINK, "dropped: SGA message type a device may not send")                    \
	X(CTRL_IN, "control frames queued to the control plane")                                 \
	X(DROP_CTRL_RING_FULL, "dropped: control ring full")                                     \
	X(DROP_CTRL_RATE, "dropped: control frame over its source address's rate (ctrl_rate)")   \
	X(CTRL_SPREAD, "control frames spread over all workers while the gateway is under load") \
	X(ADOPT_ASKED,                                                                           \
	  "data frames of a session not installed, handed to the control plane to adopt")        \
	X(DROP_CTRL_LOAD, "dropped under load: bare handshake frame, control ring 3/4 full "     \
	                  "(the rest kept for cookie echoes)")                                   \
	X(CTRL_OUT, "control frames sent for the control plane")                                 \
	X(DATA_IN, "DATA_UP frames received")                                                    \
	X(DROP_UNKNOWN_SESSION, "dropped: DATA_UP for no installed session (unknown or closed)") \
	X(DROP_HOP_REPLAY, "dropped: DATA_UP hop sequence replayed or too old")                  \
	X(DROP_HOP_AUTH, "dropped: DATA_UP hop tag did not verify")                              \
	X(DROP_HOP_MALFORMED, "dropped: DATA_UP inner layout malformed")                         \
	X(DROP_PEER_UNKNOWN, "dropped: the peer's address is not known yet")                     \
	X(DROP_TX_SEQ, "dropped: hop sequence reservation exhausted")                            \
	X(DROP_NOMBUF, "dropped: mbuf pool empty")                                               \
	X(RELAYED, "DATA frames relayed to the peer")                                            \
	X(DUPLICATE, "authentic retransmissions acknowledged again, not relayed")                \
	X(ACK_SENT, "DATA_ACK frames sent")                                                      \
	X(ACKED_MSGS, "messages acknowledged (named by a DATA_ACK; / ack_sent: coalescing)")     \
	X(STORED, "messages appended to the durable store")                                      \
	X(STORE_REFUSED_FULL, "messages relayed unstored: store pool or ring full, no DATA_ACK") \
	X(STORE_REFUSED_ERROR,                                                                   \
	  "messages relayed unstored: store I/O error or disk full, no DATA_ACK")                \
	X(DELIVERED_IN, "DATA_DELIVERED frames accepted from recipients")                        \
	X(RESENT, "stored messages sent again to their recipient")                               \
	X(HANDOFF, "frames handed to the lcore owning their session")                            \
	X(DROP_HANDOFF_FULL, "dropped: hand-off ring full")                                      \
	X(DROP_ETH_HDR, "dropped: frame shorter than an Ethernet header")                        \
	X(DROP_QINQ, "dropped: 802.1ad / QinQ frame (S-tag, or a second tag: one 802.1Q only)")  \
	X(DROP_SRC_ADDR, "dropped: source unusable as a reply address (multicast MAC, "          \
	                 "IPv4 0/broadcast/multicast/ours, UDP port 0)")                         \
	X(DROP_MULTISEG, "dropped: frame spans several mbufs")                                   \
	X(DROP_RESEAL, "dropped: re-seal for the peer impossible (frame too long or no room)")   \
	X(DROP_CTRL_TX_FULL, "control frames refused by dp_ctrl_send: pool or TX ring full")     \
	X(ADDR_LEARNED, "member addresses learned or changed (first frame, roaming, NAT)")       \
	X(STALE_EPOCH, "fresh up frames echoing another hop-down epoch: taken, address kept")    \
	X(DROP_STALE_EPOCH, "dropped: up frame echoing another epoch after the current one")     \
	X(EPOCH_PROBE, "DATA_SKIP(0) epoch announcements to a stale-echo frame's source")        \
	X(REKEY_OLD_GEN, "up frames of a session's previous key generation taken in a rekey's "  \
	                 "overlap (no address learned)")                                         \
	X(REKEY_RETIRED, "previous-generation up keys wiped: the member's first new-key frame")  \
	X(RESV_REQ, "TX sequence reservation requests raised")                                   \
	X(RESV_RING_FULL, "reservation requests deferred: reservation ring full")                \
	X(CRYPTO_OPS, "hop AEAD operations completed by the crypto device")                      \
	X(DROP_CRYPTO_ERR, "dropped: the crypto device failed an operation (not a bad tag)")     \
	X(DROP_CRYPTO_FULL, "dropped: crypto op pool empty or crypto queue backlog full")        \
	X(CRYPTO_SESS_CPU, "session members on the CPU path: no cryptodev session left")         \
	X(STORE_HELD, "messages stored and held back, sent in order behind a backlog")           \
	X(DROP_STORE_BACKLOG, "dropped, no DATA_ACK: the store refused it (backlog or gap)")     \
	X(SKIP_SENT, "DATA_SKIP notices sent: messages expired in the store undelivered")        \
	X(RX_VLAN, "frames received with one 802.1Q tag (answered with the same tag)")           \
	X(NDP_REPLY, "IPv6 Neighbor Solicitations for the gateway address answered")             \
	X(DROP_NDP, "dropped: ICMPv6 not a valid Neighbor Solicitation for the gateway address") \
	X(DROP_IP6_HDR, "dropped: malformed IPv6 header or bad length")                          \
	X(DROP_IP6_EXT, "dropped: IPv6 extension headers unusable (routing with segments left, " \
	                "chain too long)")                                                       \
	X(DROP_IP6_FRAG, "dropped: IPv6 fragment (never reassembled)")                           \
	X(DROP_UDP6_CSUM_ZERO, "dropped: UDP over IPv6 with checksum 0 (RFC 8200 8.1)")          \
	X(LAB_REPLAY_RELAYED, "LAB: authentic replayed DATA_UP/DATA_DELIVERED taken as fresh "   \
	                      "(hop_replay_window off)")                                         \
	X(IDLE_SLEEPS, "sleeps of the idle lcore (idle_sleep_us)")                               \
	X(PEER_FWD_OUT, "device frames forwarded to the gateway that owns their session")        \
	X(PEER_FWD_IN, "device frames another gateway forwarded here (this one owns them)")      \
	X(PEER_EMIT_OUT, "frames for devices that reach another gateway, handed to it")          \
	X(PEER_EMIT_IN, "frames another gateway handed here for a device that reaches this one") \
	X(DROP_PEER_AUTH, "dropped: gateway-to-gateway datagram malformed or its tag wrong")     \
	X(DROP_PEER_NODE, "dropped: gateway-to-gateway datagram from or to no peer node")        \
	X(DROP_PEER_NO_MAC, "dropped: the next hop towards a peer gateway is not resolved yet")  \
	X(DROP_PEER_TOO_BIG, "dropped: frame too big for the port MTU once encapsulated")        \
	X(DROP_PEER_LOOP, "dropped: a forwarded frame of a session not installed here")          \
	X(PEER_ARP_ASKED, "ARP requests sent for the next hop towards a peer gateway")           \
	X(PEER_ARP_LEARNED, "ARP replies to the node address taken")

enum dp_counter {
#define DP_CTR_ENUM(name, desc) DP_C_##name,
	DP_COUNTERS(DP_CTR_ENUM)
#undef DP_CTR_ENUM
	    DP_C__COUNT
};

const char *dp_counter_name(enum dp_counter c); /* "rx", "drop_ip_csum", ... */
const char *dp_counter_desc(enum dp_counter c);

/** Address families of struct dp_addr (not the socket API's AF_* values:
 *  the data plane does not depend on the C library's numbering). 0: unset. */
enum dp_addr_family {
	DP_AF_NONE = 0,
	DP_AF_IPV4 = 4,
	DP_AF_IPV6 = 6,
};

/**
 * A device's network address as seen by the gateway: what it answers to.
 * ip holds 16 bytes in both families: an IPv6 address, or an IPv4 one as its
 * IPv4-mapped IPv6 form ::ffff:a.b.c.d (RFC 4291 2.5.5.2), so one compare,
 * one hash and one cookie input serve both and no IPv4 address can equal an
 * IPv6 one (a frame from an IPv4-mapped IPv6 source is refused, dp_pkt.h).
 * family says which header the gateway writes; it always agrees with ip.
 * vlan is the 802.1Q tag control information (PCP, DEI, VID) exactly as the
 * device's frames carried it, in host order; 0 means untagged, so is a
 * priority tag with PCP 0 and VID 0 (answered untagged). A device is answered
 * with the tag it arrived with, learned like the IP address (PROTOCOL.md 6.3).
 * port and the IPv4 bytes are in network order, as on the wire.
 */
struct dp_addr {
	uint8_t ip[16]; /* IPv6, or ::ffff:a.b.c.d for IPv4 */
	uint8_t mac[6]; /* Ethernet */
	uint16_t port;  /* UDP, network order; 0 = unknown */
	uint16_t vlan;  /* 802.1Q TCI as received, host order; 0 = untagged */
	uint8_t family; /* enum dp_addr_family */
	/* 0: the device reaches this gateway; k: it reaches the cluster's node
	 * k ([cluster] nodes, dp_peer.h), which relays what this gateway sends
	 * it (PROTOCOL.md 9.6). Part of the address: the struct compares as
	 * bytes. */
	uint8_t via;
};

/** Set a to the IPv4 address ip_be (network order), keeping mac, port, vlan. */
static inline void dp_addr_set_ipv4(struct dp_addr *a, uint32_t ip_be)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memcpy(a->ip, mapped, sizeof(mapped));
	memcpy(a->ip + 12, &ip_be, 4);
	a->family = DP_AF_IPV4;
}

/** Set a to the IPv6 address ip[16], keeping mac, port, vlan. */
static inline void dp_addr_set_ipv6(struct dp_addr *a, const uint8_t ip[16])
{
	memcpy(a->ip, ip, 16);
	a->family = DP_AF_IPV6;
}

/** The IPv4 address of a (network order); 0 for an address of another family. */
static inline uint32_t dp_addr_ipv4(const struct dp_addr *a)
{
	uint32_t v = 0;

	if (a->family == DP_AF_IPV4)
		memcpy(&v, a->ip + 12, 4);
	return v;
}

struct dp_config {
	uint16_t port_id;          /* ethdev port */
	unsigned n_lcores;         /* data-plane lcores = RX/TX queue pairs */
	const unsigned *lcore_ids; /* n_lcores EAL lcore ids */
	uint32_t gw_ip;            /* gateway IPv4, network order; 0: no IPv4 */
	uint8_t gw_ip6[16];        /* gateway IPv6; all zero: no IPv6 (one of the two is set) */
	uint16_t gw_port;          /* gateway UDP port, network order */
	unsigned n_workers;        /* control-plane workers (one control ring each) */
	unsigned rx_desc, tx_desc; /* descriptors per queue */
	unsigned mbufs;            /* mbufs in the packet pool */
	unsigned ctrl_ring_size;   /* per worker; power of two */
	/* Token buckets per source in front of the control rings (dp_ratelimit.h:
	 * an IPv4 address, or an IPv6 /64), per lcore: ctrl_rate frames/s,
	 * ctrl_burst at once.
	 * ctrl_rate 0: no limit. */
	unsigned ctrl_rate, ctrl_burst;
	unsigned max_sessions; /* session table capacity */
	uint64_t tx_seq_block; /* hop sequence numbers reserved per request */
	/* Store and forward (dp_store.h); store_dir NULL or "": relay only, and the
	 * DATA_ACK goes out as soon as the frame is relayed. */
	const char *store_dir;
	int store_fsync; /* enum msg_log_fsync */
	uint32_t store_fsync_interval_ms;
	uint64_t store_segment_bytes, store_max_bytes, store_max_age_ms;
	unsigned store_pending_max; /* per lcore */
	uint64_t store_ring_bytes;  /* each log's lcore -> writer ring; 0: the log's default */
	/* CPUs of the store's writer threads (one per lcore); NULL: the creating
	 * thread's (after rte_eal_init: the main lcore's one CPU). */
	const cpu_set_t *store_writer_cpus;
	/* [store] replicate = redis: the logs' replication (dp_store.h, struct
	 * dp_store_replica), and the adoption ring of every lcore (dp_store_adopt).
	 * NULL: local durability only. */
	const struct dp_store_replica *store_replica;
	/* Crypto device for the hop AEAD: "auto", "crypto_qat", "crypto_aesni_mb",
	 * "crypto_openssl" or "cpu" (sga_cdev.h); NULL means "cpu". */
	const char *crypto_device;
	/* Installs whose four hop keys get cryptodev sessions (each install takes
	 * four from a pool sized by this); later ones relay on the CPU path,
	 * counted as crypto_sess_cpu. 0 = every install the slot array allows. */
	unsigned crypto_sessions;
	/* Where the port cannot offload the UDP checksum: 1 sends UDP checksum 0
	 * ("none", RFC 768, IPv4 only: over IPv6 it is always computed, RFC 8200
	 * 8.1) instead of computing it over every frame (docs/OPERATIONS.md).
	 * 0, the default: computed. */
	int udp_checksum_zero;
	/* [sessions] adopt: 1 hands a DATA_UP or DATA_DELIVERED of a session
	 * that is not installed to the control plane (the worker of its session
	 * id), which may adopt it from the state store (another gateway set it
	 * up, or the one that did failed: PROTOCOL.md 9.5), counted as
	 * adopt_asked; at most half of the worker's ring. 0, the default: such
	 * frames are dropped (drop_unknown_session). */
	int adopt_sessions;
	/* LAB ONLY ([lab] hop_replay_window = off, refused under the production
	 * profile): 1 takes an authentic DATA_UP or DATA_DELIVERED whose hop seq
	 * the member's window already holds or has left behind as fresh: still
	 * opened (a bad tag is dropped as drop_hop_auth), then stored, relayed
	 * under a fresh hop seq and acknowledged like any fresh frame, counted
	 * as lab_replay_relayed. The window itself and the member's address are
	 * moved only by frames that are fresh for it. For a generator replaying a
	 * pcap in a loop (Pktgen-DPDK), as IPsec gateways are benchmarked with
	 * anti-replay off. 0, the default: replays are dropped (drop_hop_replay)
	 * or acknowledged as duplicates. */
	int hop_replay_off;
	/* 0, the default: the lcores busy-poll. Otherwise an lcore that found
	 * nothing to do DP_IDLE_POLLS times in a row sleeps, 1 us doubling up to
	 * idle_sleep_us, until a poll finds work (dp_idle.h): for gateways that
	 * share a small machine. */
	unsigned idle_sleep_us;
	/* [cluster] (dp_peer.h, PROTOCOL.md 9.6): the cluster's gateways, this
	 * one among them (nodes->self; its node address is taken on the port
	 * besides gw_ip), the key of the encapsulation, and the IPv4 next hop
	 * towards the peers' node addresses (0: they are on the port's link).
	 * NULL or n 0: no cluster. Copied by dp_create. */
	const struct dp_nodes *nodes;
	uint8_t cluster_key[32];
	uint32_t next_hop; /* network order */
};

/**
 * Create the data plane on an already probed ethdev port: pools, rings, session
 * table, queues; starts the port. Main thread, after rte_eal_init. Returns NULL
 * and sets errno (and logs why) on failure: EINVAL (bad config, or the port has
 * fewer than n_lcores RX/TX queues), ENODEV (no such port, or the named crypto
 * device is absent and cannot be created), EBUSY (the crypto device has fewer
 * than n_lcores queue pairs), ENOMEM. With crypto_device "auto" and no device
 * at all, every suite runs on the CPU path: not an error. rx_desc or
 * tx_desc 0 means 1024. lcore_ids need not be enabled yet: dp_lcore_main finds
 * its queue by rte_lcore_id() in that list. RSS is configured when n_lcores > 1
 * and the PMD has it; without it queue 0 receives everything and hands each
 * session's frames to its owner lcore.
 */
struct dp *dp_create(const struct dp_config *cfg);
/** Stop and close the port (its queues hold mbufs of the pools freed here) and
 *  free everything; mbufs still queued on the control rings or held by crypto
 *  ops are freed, the cryptodev sessions (their keys wiped) and the device. The
 *  lcores must have returned and the control plane must not call in any more.
 *  NULL is a no-op. */
void dp_destroy(struct dp *dp);

/** lcore entry point (rte_eal_remote_launch); arg is the struct dp. Returns when
 *  dp_stop was called, after flushing its TX buffers. */
int dp_lcore_main(void *arg);
/** Ask the lcores to return (async-signal-safe: one atomic store). */
void dp_stop(struct dp *dp);

/* ---- settings that change live (SIGHUP) ---------------------------------------- */

/** A new control-frame rate and burst ([dataplane] ctrl_rate, ctrl_burst) for
 *  every lcore's token buckets, published with relaxed stores (the lcores read
 *  them per control frame). 0, or -EINVAL when the data plane started with
 *  ctrl_rate 0 or rate is 0: the bucket tables exist only with a rate, so
 *  turning the limit on or off needs a restart. Any thread. */
int dp_set_ctrl_rate(struct dp *dp, unsigned rate, unsigned burst);
/** A new age retention for the store ([store] max_age_s; 0: none), applied by
 *  each lcore at its next store round. Any thread. */
void dp_set_store_max_age(struct dp *dp, uint64_t max_age_ms);

/* ---- for the control plane (non-EAL pthreads) -------------------------------- */

/** Up to n control frames for worker w. Each mbuf holds the whole Ethernet frame;
 *  the caller frees them with rte_pktmbuf_free. */
unsigned dp_ctrl_dequeue(struct dp *dp, unsigned w, struct rte_mbuf **pkts, unsigned n);
/** The SGA frame inside a control mbuf (from dp_ctrl_dequeue) and its sender's
 *  address (src may be NULL). 0, or -EINVAL for an mbuf the lcores did not
 *  classify. frame points into the mbuf. */
int dp_ctrl_payload(const struct rte_mbuf *m, const uint8_t **frame, size_t *len,
                    struct dp_addr *src);
/** Frames waiting in worker w's control ring. Any thread. */
unsigned dp_ctrl_backlog(struct dp *dp, unsigned w);
/** Hand a control mbuf (from dp_ctrl_dequeue) to worker w's ring: a worker
 *  that received a frame it does not own (see dp_ctrl_set_spread). 0, or
 *  -ENOBUFS (ring full: the caller still owns m), -EINVAL. Any thread. */
int dp_ctrl_forward(struct dp *dp, unsigned w, struct rte_mbuf *m);
/** Under load (on = 1) the lcores spread bare REG_REQ, NEG_REQ and KEX_INIT
 *  frames round robin over all workers, which answer them with a cookie
 *  challenge (sga_cookie.h) whatever their key; a frame inside a COOKIE_ECHO
 *  still goes to the worker its key names (sga_route.h). Any thread. */
void dp_ctrl_set_spread(struct dp *dp, int on);

/* ---- a cluster of gateways ([cluster], dp_cluster.c) ---------------------------- */

/** The control plane read node's lease (Redis): alive or not. A node that
 *  goes down makes every forward-table entry naming it a miss. Any thread.
 *  0, or -EINVAL (no cluster, no such node). */
int dp_peer_set_alive(struct dp *dp, unsigned node, int alive);
/** 1 if node is this gateway or a peer whose lease was last seen alive. */
int dp_peer_alive(const struct dp *dp, unsigned node);
/** Frames of session sid that reach this gateway go to node from now on (it
 *  owns the session and is alive). 0 or -EINVAL. Any thread. */
int dp_peer_fwd_set(struct dp *dp, uint64_t sid, unsigned node);
/** The node frames of sid are forwarded to: 0 if none, or its entry is
 *  stale (the node went down since, or is down). */
unsigned dp_peer_fwd_get(const struct dp *dp, uint64_t sid);
/** Forward one frame the device at dev sent (the control plane's: the frame
 *  that made it look the owner up) to node. 0, -EAGAIN (its next hop is not
 *  resolved yet), -ENOBUFS, -EINVAL. Thread-safe. */
int dp_peer_forward(struct dp *dp, unsigned node, const struct dp_addr *dev, const uint8_t *frame,
                    size_t len);

/** Build Eth[/802.1Q]/IPv4 or IPv6/UDP around frame, from the gateway to dst
 *  (its family and VLAN tag), and queue it for transmission. 0, or -ENOBUFS
 *  (pool or ring full, counted as drop_ctrl_tx_full), -EINVAL (len 0 or >
 *  SGA_FRAME_MAX, dst port 0, or a family the gateway has no address in).
 *  Thread-safe. The lcores send a few of these per loop iteration. */
int dp_ctrl_send(struct dp *dp, const struct dp_addr *dst, const uint8_t *frame, size_t len);

/**
 * Install an established session (state SGA_GW_S_ESTABLISHED) so the lcores relay
 * it. addr[role]: each member's last known address (port 0 = unknown yet).
 * tx_seq[role]/tx_limit[role]: the hop sequence range reserved for each direction
 * towards role; rx_next[role]: hop sequence numbers below it from role are
 * refused (the replay mark persisted before a restart; 0 for a new session).
 * Replaces an installed session with the same id. One control-plane thread at a
 * time (the caller serialises installs). 0, -ENOSPC (table full), -EINVAL.
 * addr and rx_next may be NULL (all unknown, all 0). The hop keys are derived
 * from s->k_t and s->hop_suite, the down keys under s->hop[role].epoch (drawn
 * for this record in this run: by the handshake, by store_session_get, or a
 * lab session's fixed one), or under a fresh random epoch where it is 0
 * (PROTOCOL.md 8.1). s->hop[role].restored (a record from the store): frames
 * of the member may predate the epoch, so its address moves only on frames
 * echoing it (9.3); otherwise any fresh authentic frame teaches it. A
 * replacement publishes a fresh slot (lcores relaying on the old one finish
 * on it) and retires the old one, which is reused once no lcore and no crypto
 * op in flight can reach it (dp_session_remove); the slot array has headroom
 * for max_sessions / 4 + 16 slots waiting for that.
 */
int dp_session_install(struct dp *dp, const struct sga_gw_session *s, const struct dp_addr addr[2],
                       const uint64_t tx_seq[2], const uint64_t tx_limit[2],
                       const uint64_t rx_next[2]);

/**
 * Remove an installed session: its id leaves the table at once (every lcore's
 * next look-up misses it: its frames are dropped as drop_unknown_session), and
 * its slot is freed for reuse - cryptodev sessions and CPU keys wiped - once
 * every lcore has passed a quiescent state and no crypto op in flight
 * references it (dp_session_reclaim; RCU QSBR, dp_rcu.c). Then its owner lcore
 * releases the messages its store holds for either member. final (may be
 * NULL): the session's last figures, as dp_session_foreach gives them. The
 * same writer rule as dp_session_install. 0, -ENOENT (not installed), -EINVAL.
 */
struct dp_session_view;
int dp_session_remove(struct dp *dp, uint64_t session_id, struct dp_session_view *final);
/**
 * Another gateway owns the session now ([sessions] adopt; the control plane
 * learnt it from a fenced write): it leaves the table as with
 * dp_session_remove, but the messages the store holds for its members stay
 * (they are the session's, not this gateway's, to release): delivered if the
 * session comes back here (adopted again on a frame of it), else kept until
 * retention expires them. Writer rule as dp_session_install.
 */
int dp_session_disown(struct dp *dp, uint64_t session_id);

/**
 * A device announced a new address in a fresh, authentic WAKE (PROTOCOL.md
 * 7.16, step 3; the caller checked the tag and took the counter): the member
 * of device id in each installed session of it moves to addr, applied by the
 * session's owner lcore (the address DATA_DOWN, DATA_ACK, DATA_SKIP and the
 * store's redelivery use, as a fresh DATA_UP from there would move it). With
 * SGA_WAKE_WANT_STORED in flags the store's backoff for that recipient is
 * reset, so redelivery starts at once (dp_store_kick). Waits up to wait_us
 * for the lcores' answers (0: returns at once; dp_session_wake_result reads
 * them later). res: sessions posted, answers so far, and of those the ones
 * whose store holds messages for the member. Returns res->stored, or -EINVAL.
 * Writer rule as dp_session_install (one WAKE at a time: one completion).
 */
struct dp_wake_result {
	unsigned sessions; /* (session, role) commands posted */
	unsigned done;     /* applied by their lcores */
	unsigned stored;   /* of those, with messages stored for the member */
};
int dp_session_wake(struct dp *dp, const uint8_t *id, uint8_t id_len, const struct dp_addr *addr,
                    uint8_t flags, unsigned wait_us, struct dp_wake_result *res);
/** The last dp_session_wake's answers so far. Writer rule. */
void dp_session_wake_result(const struct dp *dp, struct dp_wake_result *res);

/** Free the removed and replaced slots that nothing can reach any more (and
 *  queue their store releases to the owner lcores). Never waits. Installs
 *  call it when they need a slot; the control plane's timer calls it too.
 *  Writer rule as dp_session_install. Returns the number of slots freed. */
unsigned dp_session_reclaim(struct dp *dp);

/** Slots removed or replaced and not free yet (waiting for the lcores or a
 *  crypto op). Writer rule as dp_session_install. */
unsigned dp_session_retired(const struct dp *dp);

/** Raise the TX limit of (session, role) after a new reservation (a lower value
 *  than the current limit is ignored) and re-arm the reservation request.
 *  Writer rule as dp_session_install: a removed session's slot may be reused. 0, -ENOENT (no such session), -EINVAL (role > 1). */
int dp_session_extend(struct dp *dp, uint64_t session_id, uint8_t role, uint64_t tx_limit);

/** Reservation requests raised by the lcores (a session's TX sequence nears its
 *  limit): up to n (session id, role) pairs. An lcore asks once when at most
 *  tx_seq_block / 2 numbers remain, and again only after dp_session_extend. */
struct dp_resv_req {
	uint64_t session_id;
	uint8_t role;
};
unsigned dp_resv_dequeue(struct dp *dp, struct dp_resv_req *reqs, unsigned n);

/** Snapshot of what must be persisted per session: last addresses and the
 *  highest hop sequence seen from each member (+1); and its lifecycle figures:
 *  age and idle time (since the last fresh authentic up frame, or the install),
 *  fresh DATA_UP frames and bytes accepted from each member, each member's
 *  last delivery report (DATA_DELIVERED). Calls fn for every installed
 *  session. Racy reads of lcore-owned values: each is a single aligned 64-bit
 *  load. Writer rule as dp_session_install (a removed slot may be reused). */
struct dp_session_view {
	uint64_t session_id;
	uint32_t slot; /* its slot in the table: fixed while installed, reused after */
	struct dp_addr addr[2];
	uint64_t rx_next[2];
	uint64_t tx_seq[2];
	uint64_t age_ms, idle_ms;
	uint64_t frames[2], bytes[2]; /* [role]: from role */
	uint64_t delivered[2];        /* [role]: role holds every message below it */
};
void dp_session_foreach(struct dp *dp, void (*fn)(const struct dp_session_view *v, void *arg),
                        void *arg);
/** Slots of the session table: the index range of dp_session_foreach_slice. */
unsigned dp_session_slots(const struct dp *dp);
/** dp_session_foreach for the sessions in slots [first, first + n) only: a
 *  walk of the table in slices, for a pass that need not see every session
 *  each time (the lifecycle expiry). Writer rule as dp_session_install. */
void dp_session_foreach_slice(struct dp *dp, unsigned first, unsigned n,
                              void (*fn)(const struct dp_session_view *v, void *arg), void *arg);
/** dp_session_foreach for the sessions that may have moved since the last
 *  call: installed, or a fresh authentic up frame taken (a replay mark
 *  moved), or an address learned (a WAKE's too). Each such session once per
 *  call, whatever the number of its frames; one not visited has not moved
 *  since. The table is walked in words of 64 slots, a word nobody touched
 *  read and skipped. One caller (it clears what it takes); writer rule as
 *  dp_session_install. */
void dp_session_foreach_moved(struct dp *dp, void (*fn)(const struct dp_session_view *v, void *arg),
                              void *arg);
/** Have the next dp_session_foreach_moved visit slot's session (v->slot) again:
 *  the caller could not persist what it was given. Writer rule as
 *  dp_session_install. */
void dp_session_moved_again(struct dp *dp, uint32_t slot);
/** One session's view (as dp_session_foreach gives it). 0 or -ENOENT. Writer
 *  rule as dp_session_install. */
int dp_session_get(struct dp *dp, uint64_t session_id, struct dp_session_view *v);

/** What serves the hop AEAD of suite (enum sga_suite_id): "cryptodev:<driver>"
 *  or "cpu" ("unknown" for an id not in the registry). Any thread; fixed from
 *  dp_create on. */
const char *dp_aead_engine(const struct dp *dp, uint8_t suite);
/** The start-up report line for suite, e.g. "aead aes-128-gcm: cryptodev
 *  crypto_aesni_mb" or "aead chacha20-poly1305: cpu (crypto_openssl lacks it)".
 *  Returns buf. */
const char *dp_aead_report(const struct dp *dp, uint8_t suite, char *buf, size_t len);

/** Sum of the per-lcore counters. */
void dp_counters(const struct dp *dp, uint64_t out[DP_C__COUNT]);
/** Data-plane lcores. */
unsigned dp_lcore_count(const struct dp *dp);
/** One lcore's counters (l < dp_lcore_count); l == dp_lcore_count: what
 *  non-EAL threads counted (control frames sent for the control plane).
 *  The sum over 0..dp_lcore_count inclusive is dp_counters. Any thread. */
void dp_lcore_counters(const struct dp *dp, unsigned l, uint64_t out[DP_C__COUNT]);
/** Store and forward totals over the lcores (dp_store.h); all zero without a
 *  store. Racy snapshot, any thread. */
struct dp_store_stats;
struct dp_store_replica;

/** One item of an adopted session's replicated backlog for the owner lcore
 *  (dp_store_adopt): a held message, or (mark) the recipient's delivered
 *  mark, which goes first. */
struct dp_adopt_msg {
	uint64_t sid;
	uint64_t e2e_seq; /* mark: every e2e_seq below it was delivered */
	uint8_t role;     /* the recipient */
	uint8_t mark;
	uint16_t len; /* inner bytes (e2e_seq | e2e ciphertext), as dp_store_put */
	uint8_t pad[4];
	uint8_t inner[SGA_FRAME_MAX];
};

/** Control plane, after adopting session m->sid ([store] replicate = redis):
 *  queue m to the session's owner lcore, which puts it into its store
 *  (dp_store_adopt_put / dp_store_adopt_mark) in its loop. Waits up to
 *  wait_ms while that lcore's ring is full (it drains DP_ADOPT_BURST a loop
 *  iteration). 0, -ENOTSUP (no store or no replication), -ENOBUFS (the ring
 *  stayed full: the item is not adopted, counted as adopt_lost). */
int dp_store_adopt(struct dp *dp, const struct dp_adopt_msg *m, unsigned wait_ms);

void dp_store_totals(const struct dp *dp, struct dp_store_stats *out);

/** Messages pending per recipient (session, role), as each lcore last published
 *  them (once a second; at most DP_STORE_RECIP_SNAP per lcore, the longest
 *  backlogs). oldest_age_ms: age of the oldest pending message. Any thread. */
#define DP_STORE_RECIP_SNAP 32
struct dp_store_recip {
	uint64_t session_id;
	uint8_t role;
	uint64_t pending;
	uint64_t oldest_age_ms;
};
unsigned dp_store_recipients(const struct dp *dp, struct dp_store_recip *out, unsigned n);

/** 1 when the hop replay window is on (the default), 0 in the lab mode
 *  (dp_config.hop_replay_off). Any thread; fixed from dp_create on. */
int dp_hop_replay_window(const struct dp *dp);

/** The control plane has installed every session it will (the restore after a
 *  start is done): from now on the lcores release the stored messages of a
 *  session that is not installed when they come up for delivery (one closed
 *  before a crash let its owner lcore release them). Any thread. */
void dp_sessions_restored(struct dp *dp);

/** Number of installed sessions. */
unsigned dp_session_count(const struct dp *dp);

#endif /* SGA_DP_H */
