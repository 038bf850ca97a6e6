/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_port.c - the parts of the DPDK load generators that do not depend on
 * what they generate (see bench_port.h): moved here from bench_relay.c so
 * that sga-loadgen uses the same port set-up, ARP, stats-file reader and CPU
 * accounting.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "bench_port.h"

#define ETH_MIN_LEN 60 /* without FCS */
#define MAX_WATCH   8

int bp_parse_ulong(const char *arg, unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || *end || !*arg || *arg == '-' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int bp_parse_seconds(const char *arg, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || *end || !*arg || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}

int bp_parse_port(const char *s, uint16_t *port)
{
	unsigned long v;

	if (bp_parse_ulong(s, 1, 65535, &v))
		return -1;
	*port = htons((uint16_t)v);
	return 0;
}

int bp_parse_sizes(const char *arg, unsigned *sizes, unsigned *n, unsigned max, unsigned hi)
{
	char buf[256], *save = NULL;

	if (strlen(arg) >= sizeof(buf))
		return -1;
	strcpy(buf, arg);
	*n = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		unsigned long v;

		if (bp_parse_ulong(t, 1, hi, &v) || *n == max)
			return -1;
		sizes[(*n)++] = (unsigned)v;
	}
	return *n ? 0 : -1;
}

int bp_parse_ipport(const char *arg, uint32_t *ip, uint16_t *port)
{
	char a[64], *colon;

	if (strlen(arg) >= sizeof(a))
		return -1;
	strcpy(a, arg);
	colon = strrchr(a, ':');
	if (!colon)
		return -1;
	*colon = '\0';
	return inet_pton(AF_INET, a, ip) == 1 && !bp_parse_port(colon + 1, port) ? 0 : -1;
}

int bp_opt_ulong(const char *prog, const char *name, const char *arg, unsigned long lo,
                 unsigned long hi, const char *unit, unsigned long *out)
{
	if (!bp_parse_ulong(arg, lo, hi, out))
		return 0;
	fprintf(stderr, "%s: --%s: %lu..%lu%s%s\n", prog, name, lo, hi, unit ? " " : "",
	        unit ? unit : "");
	return -1;
}

int bp_opt_uint(const char *prog, const char *name, const char *arg, unsigned long lo,
                unsigned long hi, const char *unit, unsigned *out)
{
	unsigned long v;

	if (bp_opt_ulong(prog, name, arg, lo, hi > UINT_MAX ? UINT_MAX : hi, unit, &v))
		return -1;
	*out = (unsigned)v;
	return 0;
}

char **bp_eal_args(int argc, char **argv, int *app_argc, int *eal_argc)
{
	char **eal;

	*app_argc = argc;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			*app_argc = i;
			break;
		}
	*eal_argc = argc - *app_argc - (*app_argc < argc) + 1;
	eal = calloc((size_t)*eal_argc + 1, sizeof(*eal));
	if (!eal)
		return NULL;
	eal[0] = argv[0];
	for (int i = 1; i < *eal_argc; i++)
		eal[i] = argv[*app_argc + i];
	return eal;
}

void bp_linger(const char *prog, unsigned secs, volatile sig_atomic_t *quit)
{
	uint64_t until = bp_now_us() + (uint64_t)secs * 1000000;

	printf("%s: done; the port stays open until SIGINT or SIGTERM (at most %u s)\n", prog,
	       secs);
	fflush(stdout);
	while (!*quit && bp_now_us() < until)
		usleep(10000);
	*quit = 0;
}

uint64_t bp_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

const char *bp_ip_str(uint32_t ip, char *buf)
{
	return inet_ntop(AF_INET, &ip, buf, INET_ADDRSTRLEN) ? buf : "?";
}

/* ---- port ---------------------------------------------------------------------- */

int bp_port_start(struct bp_port *p, const char *prog, unsigned n_mbufs, unsigned desc,
                  unsigned link_timeout_s, volatile sig_atomic_t *quit)
{
	struct rte_eth_conf conf;
	struct rte_eth_link link;
	struct rte_eth_dev_info info;
	struct rte_ether_addr mac;
	uint64_t until;
	int rc;

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "?");
	if (rte_eth_dev_count_avail() == 0) {
		fprintf(stderr,
		        "%s: no DPDK port: give one after '--', e.g. "
		        "--vdev=net_memif0,role=client,socket=PATH,id=0\n",
		        prog);
		return -1;
	}
	RTE_ETH_FOREACH_DEV(p->port)
	break;
	rte_eth_dev_get_name_by_port(p->port, p->name);
	p->pool = rte_pktmbuf_pool_create("bench_pool", n_mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
	                                  (int)rte_socket_id());
	if (!p->pool) {
		fprintf(stderr, "%s: cannot create the mbuf pool: %s\n", prog,
		        rte_strerror(rte_errno));
		return -1;
	}
	memset(&conf, 0, sizeof(conf));
	if ((rc = rte_eth_dev_info_get(p->port, &info)) ||
	    (rc = rte_eth_dev_configure(p->port, 1, 1, &conf)) ||
	    (rc = rte_eth_rx_queue_setup(p->port, 0, (uint16_t)desc, (unsigned)rte_socket_id(),
	                                 NULL, p->pool)) ||
	    (rc = rte_eth_tx_queue_setup(p->port, 0, (uint16_t)desc, (unsigned)rte_socket_id(),
	                                 NULL))) {
		fprintf(stderr, "%s: port %s: configuration failed: %s\n", prog, p->name,
		        rte_strerror(-rc));
		return -1;
	}
	snprintf(p->driver, sizeof(p->driver), "%s", info.driver_name);
	rc = rte_eth_dev_start(p->port);
	if (rc) {
		fprintf(stderr, "%s: port %s: cannot start: %s%s\n", prog, p->name,
		        rte_strerror(-rc),
		        strstr(info.driver_name, "memif")
		            ? " (a memif client connects at start: is the gateway or testpmd "
		              "running with role=server on that socket?)"
		            : "");
		return -1;
	}
	rte_eth_macaddr_get(p->port, &mac);
	memcpy(p->mac, mac.addr_bytes, 6);
	until = bp_now_us() + (uint64_t)link_timeout_s * 1000000;
	for (;;) {
		memset(&link, 0, sizeof(link));
		rte_eth_link_get_nowait(p->port, &link);
		if (link.link_status == RTE_ETH_LINK_UP)
			break;
		if (bp_now_us() > until || *quit) {
			fprintf(
			    stderr,
			    "%s: port %s: link still down after %u s: no peer (for memif: is "
			    "the gateway or testpmd running with role=server on the same socket "
			    "and id?)\n",
			    prog, p->name, link_timeout_s);
			return -1;
		}
		usleep(10000);
	}
	printf("%s: port %u (%s, driver %s) up, MAC %02x:%02x:%02x:%02x:%02x:%02x; generator on "
	       "lcore %u\n",
	       prog, p->port, p->name, info.driver_name, p->mac[0], p->mac[1], p->mac[2], p->mac[3],
	       p->mac[4], p->mac[5], rte_lcore_id());
	return 0;
}

void bp_port_stop(struct bp_port *p)
{
	if (!p->pool)
		return;
	(void)rte_eth_dev_stop(p->port);
	(void)rte_eth_dev_close(p->port);
}

int bp_tx_frame(const struct bp_port *p, const uint8_t *frame, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(p->pool);
	size_t wire = len < ETH_MIN_LEN ? ETH_MIN_LEN : len;
	uint64_t until = bp_now_us() + 100000;
	uint8_t *d;

	if (!m)
		return -1;
	d = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)wire);
	if (!d) {
		rte_pktmbuf_free(m);
		return -1;
	}
	memcpy(d, frame, len);
	memset(d + len, 0, wire - len);
	while (rte_eth_tx_burst(p->port, 0, &m, 1) == 0) {
		if (bp_now_us() > until) {
			rte_pktmbuf_free(m);
			return -1;
		}
	}
	return 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void bp_arp_send(const struct bp_port *p, uint16_t op, uint32_t spa, const uint8_t *dst_mac,
                 const uint8_t *tha, uint32_t tpa)
{
	uint8_t f[DP_PKT_ARP_LEN];

	memcpy(f, dst_mac, 6);
	memcpy(f + 6, p->mac, 6);
	put16(f + 12, 0x0806);
	put16(f + 14, 1);      /* Ethernet */
	put16(f + 16, 0x0800); /* IPv4 */
	f[18] = 6;
	f[19] = 4;
	put16(f + 20, op);
	memcpy(f + 22, p->mac, 6);
	memcpy(f + 28, &spa, 4);
	memcpy(f + 32, tha, 6);
	memcpy(f + 38, &tpa, 4);
	(void)bp_tx_frame(p, f, sizeof(f));
}

int bp_arp_parse(const uint8_t *f, size_t len, uint16_t *op, const uint8_t **sha, uint32_t *spa,
                 uint32_t *tpa)
{
	if (len < DP_PKT_ARP_LEN || f[12] != 0x08 || f[13] != 0x06 || f[14] != 0 || f[15] != 1 ||
	    f[16] != 8 || f[17] != 0 || f[18] != 6 || f[19] != 4)
		return -1;
	*op = (uint16_t)(f[20] << 8 | f[21]);
	*sha = f + 22;
	memcpy(spa, f + 28, 4);
	memcpy(tpa, f + 38, 4);
	return 0;
}

/* ---- the gateway's stats file ----------------------------------------------------- */

void bp_stats_read(const char *path, struct gw_stats *s)
{
	char line[256], name[64];
	unsigned long long v;
	int in_dp = 0, in_cp = 0;
	FILE *f;

	memset(s, 0, sizeof(*s));
	if (!path || !(f = fopen(path, "r")))
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "\"dataplane\""))
			in_dp = 1;
		else if (strstr(line, "\"controlplane\""))
			in_cp = 1;
		else if (strchr(line, '}'))
			in_dp = in_cp = 0;
		if ((!in_dp && !in_cp) || sscanf(line, " \"%63[^\"]\": %llu", name, &v) != 2)
			continue;
		if (in_cp) {
			if (!strcmp(name, "lab_sessions"))
				s->lab_sessions = v;
			else if (!strcmp(name, "persisted"))
				s->persisted = v;
			continue;
		}
		s->ok = 1;
		if (!strcmp(name, "rx"))
			s->rx = v;
		else if (!strcmp(name, "tx"))
			s->tx = v;
		else if (!strcmp(name, "tx_full"))
			s->tx_full = v;
		else if (!strcmp(name, "data_in"))
			s->data_in = v;
		else if (!strcmp(name, "relayed"))
			s->relayed = v;
		else if (!strcmp(name, "ack_sent"))
			s->ack_sent = v;
		else if (!strcmp(name, "resv_req"))
			s->resv_req = v;
		else if (!strcmp(name, "sessions_installed"))
			s->sessions_installed = v;
		else if (!strcmp(name, "delivered_in")) {
			s->delivered_in = v;
			s->has_delivered_in = 1;
		} else if (!strcmp(name, "stored")) {
			s->stored = v;
			s->has_store = 1;
		} else if (!strcmp(name, "store_held"))
			s->store_held = v;
		else if (!strcmp(name, "resent"))
			s->resent = v;
		else if (!strcmp(name, "duplicate"))
			s->duplicate = v;
		else if (!strcmp(name, "store_refused_full"))
			s->refused_full = v;
		else if (!strcmp(name, "store_refused_error"))
			s->refused_error = v;
		else if (!strcmp(name, "drop_store_backlog"))
			s->drop_store_backlog = v;
		else if (!strcmp(name, "drop_hop_replay"))
			s->drop_hop_replay = v;
		if (!strncmp(name, "drop_", 5))
			s->drops += v;
		if (!strcmp(name, "drop_tx_seq"))
			s->drop_tx_seq = v;
		if (!strcmp(name, "drop_nombuf"))
			s->drop_nombuf = v;
	}
	fclose(f);
}

/* ---- CPU share of the threads involved ------------------------------------------------ */

/* Nanoseconds a thread has spent on a CPU (schedstat), 0 if unknown. */
static uint64_t task_oncpu_ns(long pid, long tid)
{
	char path[96];
	unsigned long long ns = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/schedstat", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &ns) != 1)
		ns = 0;
	fclose(f);
	return ns;
}

/* The forwarder's EAL worker threads ("rte-worker-N" in DPDK 22.11, "lcore-worker-N"
 * or "dpdk-worker-N" in other releases): their summed on-CPU time. */
static uint64_t dut_oncpu_ns(pid_t pid, int *n)
{
	char path[64], comm[64];
	struct dirent *e;
	uint64_t sum = 0;
	DIR *dir;

	*n = 0;
	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((e = readdir(dir)) != NULL && *n < MAX_WATCH) {
		char cpath[sizeof(path) + sizeof(e->d_name) + 8];
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(cpath, sizeof(cpath), "%s/%s/comm", path, e->d_name);
		f = fopen(cpath, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
		if (strncmp(comm, "rte-worker-", 11) && strncmp(comm, "lcore-worker-", 13) &&
		    strncmp(comm, "dpdk-worker", 11))
			continue;
		sum += task_oncpu_ns((long)pid, strtol(e->d_name, NULL, 10));
		(*n)++;
	}
	closedir(dir);
	return sum;
}

void bp_cpu_mark_take(pid_t watch_pid, struct cpu_mark *m)
{
	m->gen_ns = task_oncpu_ns((long)getpid(), (long)gettid());
	m->dut_ns = dut_oncpu_ns(watch_pid, &m->n_dut);
}
