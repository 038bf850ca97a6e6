/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_port.h - what the DPDK load generators (sga-bench-relay, sga-loadgen)
 * share: option parsing helpers, the generator's port (one ethdev, one queue
 * pair, its link awaited), single-frame transmission and ARP, the gateway's
 * stats file, and the on-CPU time of the threads involved. Benchmark code: it
 * reports errors on stderr and asserts nothing.
 */
#ifndef SGA_BENCH_PORT_H
#define SGA_BENCH_PORT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <rte_mempool.h>

#include "dp_pkt.h"

/* ---- options ---- */

/** Unsigned decimal in [lo, hi]. 0 or -1. */
int bp_parse_ulong(const char *arg, unsigned long lo, unsigned long hi, unsigned long *out);
/** Seconds (a decimal) in [lo, hi]. 0 or -1. */
int bp_parse_seconds(const char *arg, double lo, double hi, double *out);
/** A UDP port 1..65535 into network order. 0 or -1. */
int bp_parse_port(const char *s, uint16_t *port);
/** A comma-separated list of 1..max sizes, each 1..hi. 0 or -1. */
int bp_parse_sizes(const char *arg, unsigned *sizes, unsigned *n, unsigned max, unsigned hi);
/** "a.b.c.d:port" into network order. 0 or -1. */
int bp_parse_ipport(const char *arg, uint32_t *ip, uint16_t *port);

/** An option's value as an unsigned in [lo, hi]; on error prints "PROG: --name:
 *  lo..hi" (what after it: unit) and returns -1. */
int bp_opt_uint(const char *prog, const char *name, const char *arg, unsigned long lo,
                unsigned long hi, const char *unit, unsigned *out);
int bp_opt_ulong(const char *prog, const char *name, const char *arg, unsigned long lo,
                 unsigned long hi, const char *unit, unsigned long *out);

/** Split argv at "--": *app_argc = the program's arguments (argv[0] included);
 *  returns EAL's argv (argv[0] then what follows "--"; free() it), *eal_argc its
 *  length; NULL if out of memory. */
char **bp_eal_args(int argc, char **argv, int *app_argc, int *eal_argc);
/** After the measurements: keep the port open, unpolled, until *quit or secs
 *  pass (the peer stops first: DPDK 22.11's memif PMD may crash a side that
 *  polls while its peer leaves); says "PROG: done; ..." first. */
void bp_linger(const char *prog, unsigned secs, volatile sig_atomic_t *quit);

uint64_t bp_now_us(void);
const char *bp_ip_str(uint32_t ip, char *buf); /* buf: INET_ADDRSTRLEN */

/* ---- the generator's port ---- */

struct bp_port {
	uint16_t port;
	struct rte_mempool *pool;
	uint8_t mac[6];
	char name[64], driver[64];
};

/** Start the first ethdev (one RX and one TX queue of desc descriptors, a pool
 *  of n_mbufs) and wait up to link_timeout_s for its link (for memif: the
 *  server). prog names the program in messages. 0, or -1 (reported). */
int bp_port_start(struct bp_port *p, const char *prog, unsigned n_mbufs, unsigned desc,
                  unsigned link_timeout_s, volatile sig_atomic_t *quit);
/** Stop and close it: the peer sees the disconnect only now. */
void bp_port_stop(struct bp_port *p);
/** Send one frame (copied, padded to 60 bytes); waits up to 100 ms for room. 0 or -1. */
int bp_tx_frame(const struct bp_port *p, const uint8_t *frame, size_t len);
/** Send an ARP frame: op 1 request / 2 reply, from (our MAC, spa) to (dst_mac;
 *  tha, tpa). Addresses in network order. */
void bp_arp_send(const struct bp_port *p, uint16_t op, uint32_t spa, const uint8_t *dst_mac,
                 const uint8_t *tha, uint32_t tpa);
/** Parse an Ethernet/IPv4 ARP frame: 0 with op, sender (sha, spa), target pa;
 *  -1 if it is not one. */
int bp_arp_parse(const uint8_t *f, size_t len, uint16_t *op, const uint8_t **sha, uint32_t *spa,
                 uint32_t *tpa);

/* ---- the gateway's stats file ---- */

struct gw_stats {
	int ok;
	uint64_t rx, tx, tx_full, data_in, relayed, ack_sent, drops, drop_tx_seq, drop_nombuf;
	uint64_t resv_req, delivered_in;
	int has_delivered_in; /* this gateway build counts DATA_DELIVERED */
	/* store and forward (a gateway build with a store counts them) */
	uint64_t stored, store_held, resent, duplicate, refused_full, refused_error;
	uint64_t drop_store_backlog, drop_hop_replay;
	int has_store;
	uint64_t sessions_installed, lab_sessions;
	uint64_t persisted; /* controlplane: session marks written to Redis */
};

/** The "dataplane" and "controlplane" blocks of the stats JSON (one "name":
 *  value per line); s->ok = 0 if path is NULL or unreadable. */
void bp_stats_read(const char *path, struct gw_stats *s);

/* ---- on-CPU time ---- */

struct cpu_mark {
	uint64_t gen_ns, dut_ns; /* on-CPU time of the generator / the forwarder's lcores */
	int n_dut;
};

/** The calling thread's and watch_pid's EAL worker threads' on-CPU time. */
void bp_cpu_mark_take(pid_t watch_pid, struct cpu_mark *m);

#endif /* SGA_BENCH_PORT_H */
