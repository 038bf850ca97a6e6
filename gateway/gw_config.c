/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gw_config.c - table-driven parser for the sga-gateway configuration file.
 *
 * One table lists every key: section, name, type, bounds and where it lands in
 * struct gw_config. The parser is strict because a gateway that silently
 * ignores a misspelt key runs with a setting the operator did not intend.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_config.h"
#include "sga_crypto.h"
#include "sga_engine.h"
#include "sga_gateway.h"

enum key_type {
	K_STR,
	K_UINT,
	K_U64,
	K_IPV4,
	K_IPV6,
	K_GROUP,
	K_GROUPS,
	K_SUITES,
	K_ENROLL,
	K_HUGE,
	K_ID,
	K_BITS,
	K_MODEXP,
	K_MODEXP_DEV,
	K_POLICY,
	K_CDEV,
	K_FSYNC,
	K_REPLICATE,
	K_PROFILE,
	K_WINDOW,
	K_LOGLEVEL,
	K_COOKIE,
	K_BOOL,
	K_SEEDS,
};

struct key_def {
	const char *section;
	const char *name;
	enum key_type type;
	size_t off;
	size_t size; /* K_STR: buffer size */
	uint64_t min, max;
};

#define F(field) offsetof(struct gw_config, field), sizeof(((struct gw_config *)0)->field)

static const struct key_def keys[] = {
    {"gateway", "id", K_ID, F(id), 0, 0},
    {"gateway", "address", K_IPV4, F(address), 0, 0},
    {"gateway", "address6", K_IPV6, F(address6), 0, 0},
    {"gateway", "udp_port", K_UINT, F(udp_port), 1, 65535},
    /* group = one profile (the older form), groups = a list; not both. */
    {"gateway", "group", K_GROUP, F(group), 0, 0},
    {"gateway", "groups", K_GROUPS, F(groups), 0, 0},
    {"gateway", "suites", K_SUITES, F(suites), 0, 0},
    {"gateway", "enrollment", K_ENROLL, F(enrollment), 0, 0},
    {"gateway", "rsa_key", K_STR, F(rsa_key), 1, 0},
    {"gateway", "trapdoor_key", K_STR, F(trapdoor_key), 1, 0},
    {"gateway", "rsa_bits", K_BITS, F(rsa_bits), 0, 0},
    {"gateway", "x25519_key", K_STR, F(x25519_key), 1, 0},
    {"gateway", "x25519_trapdoor_key", K_STR, F(x25519_trapdoor_key), 1, 0},
    {"gateway", "p256_key", K_STR, F(p256_key), 1, 0},
    {"gateway", "p256_trapdoor_key", K_STR, F(p256_trapdoor_key), 1, 0},
    {"gateway", "package", K_STR, F(package), 1, 0},
    {"gateway", "master_key", K_STR, F(master_key), 1, 0},
    {"gateway", "stats_file", K_STR, F(stats_file), 0, 0},
    {"gateway", "stats_interval_s", K_UINT, F(stats_interval_s), 0, 3600},
    {"gateway", "log_level", K_LOGLEVEL, F(log_level), 0, 0},
    {"gateway", "metrics_listen", K_STR, F(metrics_listen), 0, 0},
    {"dataplane", "port", K_STR, F(port), 1, 0},
    {"dataplane", "lcores", K_UINT, F(lcores), 1, 64},
    {"dataplane", "rx_desc", K_UINT, F(rx_desc), 64, 16384},
    {"dataplane", "tx_desc", K_UINT, F(tx_desc), 64, 16384},
    {"dataplane", "mbufs", K_UINT, F(mbufs), 1024, 4194304},
    {"dataplane", "max_sessions", K_UINT, F(max_sessions), 16, 16777216},
    {"dataplane", "tx_seq_block", K_U64, F(tx_seq_block), 1024, (uint64_t)1 << 40},
    {"dataplane", "udp_checksum_zero", K_UINT, F(udp_checksum_zero), 0, 1},
    /* 0: busy-poll; else the longest sleep of an idle lcore (dataplane/dp_idle.h). */
    {"dataplane", "idle_sleep_us", K_UINT, F(idle_sleep_us), 0, 100000},
    /* Token buckets per source address before the control rings; 0: no limit. */
    {"dataplane", "ctrl_rate", K_UINT, F(ctrl_rate), 0, 1000000},
    {"dataplane", "ctrl_burst", K_UINT, F(ctrl_burst), 1, 1000000},
    {"controlplane", "workers", K_UINT, F(workers), 1, 64},
    {"controlplane", "ctrl_ring_size", K_UINT, F(ctrl_ring_size), 64, 65536},
    {"controlplane", "persist_interval_ms", K_UINT, F(persist_interval_ms), 10, 60000},
    /* Replay marks that moved less than mark_step frames wait up to
     * mark_max_age_ms; at most SGA_REPLAY_WINDOW - 64 so what waits lies
     * within one replay window. */
    {"controlplane", "mark_step", K_UINT, F(mark_step), 1, 960},
    {"controlplane", "mark_max_age_ms", K_UINT, F(mark_max_age_ms), 10, 3600000},
    {"controlplane", "async_jobs", K_UINT, F(async_jobs), 1, 256},
    /* Handshake floods: when bare REG_REQ/NEG_REQ/KEX_INIT get a cookie challenge. */
    {"controlplane", "cookie", K_COOKIE, F(cookie_mode), 0, 0},
    {"controlplane", "cookie_threshold", K_UINT, F(cookie_threshold), 1, 65536},
    /* [sessions]: when the gateway closes a session itself (PROTOCOL.md 7.14);
     * 0 = never. Ten years at most. */
    {"sessions", "idle_s", K_UINT, F(session_idle_s), 0, 315360000},
    {"sessions", "max_life_s", K_UINT, F(session_max_life_s), 0, 315360000},
    {"sessions", "adopt", K_BOOL, F(session_adopt), 0, 0},
    /* The name a session's record gives its owner (PROTOCOL.md 9.5): one
     * per gateway; the [gateway] id is the identity they all share. */
    {"sessions", "node", K_STR, F(session_node), 1, 0},
    /* [cluster] (PROTOCOL.md 9.6): the gateways of one cluster, the same list
     * on each ("name a.b.c.d:port, ..."; checked in full at start), the key
     * of their encapsulation, the next hop towards the peers' node
     * addresses (none: on the port's link) and the lease. */
    {"cluster", "nodes", K_STR, F(cluster_nodes), 0, 0},
    {"cluster", "key_file", K_STR, F(cluster_key_file), 0, 0},
    {"cluster", "next_hop", K_IPV4, F(cluster_next_hop), 0, 0},
    {"cluster", "lease_ms", K_UINT, F(cluster_lease_ms), 300, 600000},
    {"redis", "socket", K_STR, F(redis_socket), 0, 0},
    {"redis", "host", K_STR, F(redis_host), 0, 0},
    {"redis", "port", K_UINT, F(redis_port), 1, 65535},
    {"redis", "db", K_UINT, F(redis_db), 0, 15},
    {"redis", "timeout_ms", K_UINT, F(redis_timeout_ms), 10, 60000},
    {"redis", "backoff_max_ms", K_UINT, F(redis_backoff_max_ms), 10, 600000},
    {"redis", "user", K_STR, F(redis_user), 0, 0},
    {"redis", "password_file", K_STR, F(redis_password_file), 0, 0},
    /* Redis Cluster seeds (not with socket; db 0) and the AOF check at start. */
    {"redis", "cluster", K_SEEDS, F(redis_cluster), 0, 0},
    {"redis", "require_aof", K_BOOL, F(redis_require_aof), 0, 0},
    /* Redis Sentinel: the sentinels and the primary's name (not with
     * cluster or socket). */
    {"redis", "sentinel", K_SEEDS, F(redis_sentinel), 0, 0},
    {"redis", "sentinel_master", K_STR, F(redis_sentinel_master), 0, 0},
    {"redis", "sentinel_password_file", K_STR, F(redis_sentinel_password_file), 0, 0},
    {"eal", "hugepages", K_HUGE, F(hugepages), 0, 0},
    {"eal", "memory_mb", K_UINT, F(memory_mb), 64, 1048576},
    {"eal", "args", K_STR, F(eal_args), 0, 0},
    /* [crypto], asymmetric offload: what serves modexp and RSA-OAEP decryption.
     * The defaults need no QAT: modexp on the best device found (else the CPU),
     * RSA on OpenSSL unless an engine is named, preferred but not required. */
    {"crypto", "modexp", K_MODEXP, F(modexp_mode), 0, 0},
    {"crypto", "modexp_device", K_MODEXP_DEV, F(modexp_device), 0, 0},
    {"crypto", "rsa_engine", K_STR, F(rsa_engine), 0, 0},
    {"crypto", "rsa_policy", K_POLICY, F(rsa_policy), 0, 0},
    /* [crypto], bulk AEAD: the crypto device of the data plane's hop open/seal
     * (sga_cdev.h) and how many installs get cryptodev sessions. */
    {"crypto", "device", K_CDEV, F(crypto_device), 0, 0},
    {"crypto", "aead_sessions", K_UINT, F(aead_sessions), 0, 16777216}, /* 0: all */
    /* [store]: store and forward (dp_store.h, msg_log.h); dir empty = off. */
    {"store", "dir", K_STR, F(store_dir), 0, 0},
    {"store", "fsync", K_FSYNC, F(store_fsync), 0, 0},
    {"store", "fsync_interval_ms", K_UINT, F(store_fsync_interval_ms), 1, 60000},
    {"store", "segment_mb", K_UINT, F(store_segment_mb), 1, 65536},
    {"store", "max_mb", K_UINT, F(store_max_mb), 0, 16777216},
    {"store", "max_age_s", K_UINT, F(store_max_age_s), 0, 31536000},
    {"store", "pending_max", K_UINT, F(store_pending_max), 16, 4194304},
    {"store", "ring_mb", K_UINT, F(store_ring_mb), 1, 4096},
    {"store", "replicate", K_REPLICATE, F(store_replicate), 0, 0},
    {"store", "replicas", K_UINT, F(store_replicas), 0, 64},
    {"store", "replica_timeout_ms", K_UINT, F(store_replica_timeout_ms), 1, 60000},
    /* [lab]: LAB ONLY (lab provisioning, sga-loadgen); production refuses it. */
    {"lab", "profile", K_PROFILE, F(lab_profile), 0, 0},
    {"lab", "provision", K_STR, F(lab_provision), 0, 0},
    /* LAB ONLY: off relays authentic replayed DATA_UP (a looping pcap). */
    {"lab", "hop_replay_window", K_WINDOW, F(lab_hop_replay_window), 0, 0},
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

void gw_config_defaults(struct gw_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "sga-gateway");
	c->cluster_lease_ms = 3000;
	c->lab_hop_replay_window = 1;
	c->address = htonl(0x0a4d0001); /* 10.77.0.1 */
	c->udp_port = 7000;
	c->group = SGA_GROUP_FFDHE2048;
	c->groups[0] = SGA_GROUP_FFDHE2048;
	c->n_groups = 1;
	c->n_suites = 5;
	c->suites[0] = SGA_SUITE_AES128_GCM;
	c->suites[1] = SGA_SUITE_AES256_GCM;
	c->suites[2] = SGA_SUITE_CHACHA20_POLY1305;
	c->suites[3] = SGA_SUITE_AES128_CCM8;
	c->suites[4] = SGA_SUITE_ASCON_AEAD128;
	/* Production default: only identities the operator listed may enroll. */
	c->enrollment = SGA_ENROLL_ALLOWLIST;
	snprintf(c->rsa_key, sizeof(c->rsa_key), "/var/lib/sga/gateway-rsa.pem");
	snprintf(c->trapdoor_key, sizeof(c->trapdoor_key), "/var/lib/sga/gateway-trapdoor.pem");
	c->rsa_bits = 2048;
	snprintf(c->x25519_key, sizeof(c->x25519_key), "/var/lib/sga/gateway-x25519.pem");
	snprintf(c->x25519_trapdoor_key, sizeof(c->x25519_trapdoor_key),
	         "/var/lib/sga/gateway-x25519-trapdoor.pem");
	snprintf(c->p256_key, sizeof(c->p256_key), "/var/lib/sga/gateway-p256.pem");
	snprintf(c->p256_trapdoor_key, sizeof(c->p256_trapdoor_key),
	         "/var/lib/sga/gateway-p256-trapdoor.pem");
	snprintf(c->package, sizeof(c->package), "/var/lib/sga/gateway.pkg");
	snprintf(c->master_key, sizeof(c->master_key), "/var/lib/sga/master.key");
	c->stats_interval_s = 10;
	snprintf(c->port, sizeof(c->port), "net_tap0,iface=sga0");
	c->lcores = 1;
	c->rx_desc = 1024;
	c->tx_desc = 1024;
	c->mbufs = 16383;
	c->max_sessions = 65536;
	c->tx_seq_block = (uint64_t)1 << 20;
	c->workers = 2;
	c->ctrl_ring_size = 1024;
	c->persist_interval_ms = 1000;
	c->mark_step = 64;
	c->mark_max_age_ms = 60000;
	c->async_jobs = 8;
	c->cookie_mode = 0; /* auto */
	c->cookie_threshold = 32;
	c->ctrl_rate = 100;
	c->ctrl_burst = 200;
	snprintf(c->redis_host, sizeof(c->redis_host), "127.0.0.1");
	c->redis_port = 6379;
	c->redis_timeout_ms = 500;
	c->redis_backoff_max_ms = 2000;
	c->hugepages = GW_HUGE_AUTO;
	c->memory_mb = 512;
	c->modexp_mode = GW_MODEXP_AUTO;
	c->modexp_device = GW_MODEXP_DEV_AUTO;
	c->rsa_engine[0] = '\0';
	c->rsa_policy = SGA_ENGINE_PREFER;
	snprintf(c->crypto_device, sizeof(c->crypto_device), "auto");
	c->aead_sessions = 0; /* every session install: no CPU-path cliff */
	c->store_fsync = GW_FSYNC_ALWAYS;
	c->store_fsync_interval_ms = 10;
	c->store_segment_mb = 64;
	c->store_pending_max = 16384;
	c->store_ring_mb = 4;
	c->store_replicate = GW_REPLICATE_OFF;
	c->store_replicas = 1;
	c->store_replica_timeout_ms = 500;
}

static int fail(char *err, size_t err_len, const char *name, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(char *err, size_t err_len, const char *name, unsigned line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(err, err_len, "%s:%u: %s", name, line, msg);
	else
		snprintf(err, err_len, "%s: %s", name, msg);
	return -1;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int parse_u64(const char *v, uint64_t *out)
{
	char *end;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	*out = strtoull(v, &end, 10);
	return (errno || *end) ? -1 : 0;
}

/* "ffdhe2048, ffdhe3072, x25519, p256": the groups this build knows, for a
 * message naming what may be written instead. */
static void known_groups(char *out, size_t cap)
{
	size_t off = 0;

	out[0] = '\0';
	for (unsigned id = 1; id < 256 && off < cap; id++) {
		const struct sga_group_info *g = sga_group_get((uint8_t)id);

		if (g)
			off += (size_t)snprintf(out + off, cap - off, "%s%s", off ? ", " : "",
			                        g->name);
	}
}

/*
 * [redis] cluster: "host:port, host:port, ..." - at least one seed, each a
 * non-empty host (no spaces) and a port in [1, 65535], at most
 * GW_REDIS_SEEDS_MAX. Stored as written (trimmed); the store splits it again.
 */
/* A node list "host:port, ..." (noun: what the nodes are, for the errors). */
static int set_seeds(char *dst, size_t size, char *v, const char *noun, char *why, size_t why_len)
{
	char copy[GW_PATH_MAX], *tok, *next;
	unsigned n = 0;

	if (strlen(v) >= size || strlen(v) >= sizeof(copy)) {
		snprintf(why, why_len, "value longer than %zu characters", size - 1);
		return -1;
	}
	if (!*v) {
		snprintf(why, why_len, "no %s named (host:port, host:port, ...)", noun);
		return -1;
	}
	memcpy(copy, v, strlen(v) + 1);
	/* By hand, not strtok: an empty item between two commas is an error. */
	for (tok = copy; tok; tok = next) {
		char *colon;
		uint64_t port;

		next = strchr(tok, ',');
		if (next)
			*next++ = '\0';
		tok = trim(tok);
		colon = strrchr(tok, ':');
		if (!colon || colon == tok || strpbrk(tok, " \t") || parse_u64(colon + 1, &port) ||
		    port < 1 || port > 65535) {
			snprintf(why, why_len, "'%s' is not a %s host:port", tok, noun);
			return -1;
		}
		if (++n > GW_REDIS_SEEDS_MAX) {
			snprintf(why, why_len, "more than %d %ss", GW_REDIS_SEEDS_MAX, noun);
			return -1;
		}
	}
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* Parse value v for key k into c; on error write the reason into why. */
static int set_value(struct gw_config *c, const struct key_def *k, char *v, char *why,
                     size_t why_len)
{
	void *dst = (char *)c + k->off;
	uint64_t n;

	switch (k->type) {
	case K_STR:
		if (strlen(v) >= k->size) {
			snprintf(why, why_len, "value longer than %zu characters", k->size - 1);
			return -1;
		}
		if (k->min && !*v) {
			snprintf(why, why_len, "value must not be empty");
			return -1;
		}
		memcpy(dst, v, strlen(v) + 1);
		return 0;
	case K_ID:
		if (!sga_id_valid((const uint8_t *)v, strlen(v))) {
			snprintf(
			    why, why_len,
			    "'%s' is not an identity (1..%d printable ASCII characters, no spaces)",
			    v, SGA_ID_MAX);
			return -1;
		}
		memcpy(dst, v, strlen(v) + 1);
		return 0;
	case K_UINT:
	case K_U64:
		if (parse_u64(v, &n) || n < k->min || n > k->max) {
			snprintf(why, why_len, "'%s' is not an integer in [%llu, %llu]", v,
			         (unsigned long long)k->min, (unsigned long long)k->max);
			return -1;
		}
		if (k->type == K_U64)
			*(uint64_t *)dst = n;
		else if (k->size == sizeof(uint16_t))
			*(uint16_t *)dst = (uint16_t)n;
		else
			*(unsigned *)dst = (unsigned)n;
		return 0;
	case K_BITS:
		if (strcmp(v, "2048") && strcmp(v, "3072")) {
			snprintf(why, why_len, "'%s' is not an RSA size (2048 or 3072)", v);
			return -1;
		}
		c->rsa_bits = (unsigned)atoi(v);
		return 0;
	case K_IPV4: {
		struct in_addr a;

		/* "none": an IPv6-only gateway ([gateway] address6). */
		if (!strcmp(v, "none")) {
			*(uint32_t *)dst = 0;
			return 0;
		}
		if (inet_pton(AF_INET, v, &a) != 1) {
			snprintf(why, why_len, "'%s' is not an IPv4 address (or none)", v);
			return -1;
		}
		*(uint32_t *)dst = a.s_addr;
		return 0;
	}
	case K_IPV6: {
		static const uint8_t zero[16],
		    mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		uint8_t a[16];

		if (!strcmp(v, "none")) {
			memset(c->address6, 0, sizeof(c->address6));
			return 0;
		}
		/* The gateway answers Neighbor Solicitations for it and devices
		 * send to it: a unicast address (global, ULA or link-local), not
		 * ::, ::1, a multicast group or an IPv4-mapped one. */
		if (inet_pton(AF_INET6, v, a) != 1 || a[0] == 0xff || !memcmp(a, mapped, 12) ||
		    (!memcmp(a, zero, 15) && a[15] <= 1)) {
			snprintf(why, why_len, "'%s' is not a unicast IPv6 address (or none)", v);
			return -1;
		}
		memcpy(c->address6, a, sizeof(a));
		return 0;
	}
	case K_GROUP:
	case K_GROUPS: {
		uint8_t list[GW_GROUPS_MAX], n_list = 0;
		char *save = NULL;

		for (char *tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			const struct sga_group_info *g;

			tok = trim(tok);
			g = sga_group_by_name(tok);
			if (!g) {
				char known[96];

				known_groups(known, sizeof(known));
				snprintf(why, why_len, "unknown group '%s' (%s)", tok, known);
				return -1;
			}
			if (memchr(list, g->id, n_list)) {
				snprintf(why, why_len, "group '%s' named twice", tok);
				return -1;
			}
			if (n_list == GW_GROUPS_MAX) {
				snprintf(why, why_len, "more than %d groups", GW_GROUPS_MAX);
				return -1;
			}
			list[n_list++] = g->id;
		}
		if (n_list == 0) {
			snprintf(why, why_len, "no group named");
			return -1;
		}
		if (k->type == K_GROUP && n_list > 1) {
			snprintf(why, why_len, "one group here; several go in 'groups ='");
			return -1;
		}
		memset(c->groups, 0, sizeof(c->groups));
		memcpy(c->groups, list, n_list);
		c->n_groups = n_list;
		c->group = list[0];
		return 0;
	}
	case K_SUITES: {
		uint8_t list[SGA_MAX_SUITES], n_list = 0;
		char *save = NULL;

		for (char *tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			const struct sga_suite_info *s;

			tok = trim(tok);
			s = sga_suite_by_name(tok);
			if (!s) {
				snprintf(why, why_len,
				         "unknown suite '%s' (aes-128-gcm, aes-256-gcm, "
				         "chacha20-poly1305, "
				         "aes-128-ccm8, ascon-aead128)",
				         tok);
				return -1;
			}
			if (n_list == SGA_MAX_SUITES) {
				snprintf(why, why_len, "more than %d suites", SGA_MAX_SUITES);
				return -1;
			}
			list[n_list++] = s->id;
		}
		if (sga_suite_list_check(list, n_list)) {
			snprintf(why, why_len, "suite list must name 1..%d distinct suites",
			         SGA_MAX_SUITES);
			return -1;
		}
		memcpy(c->suites, list, n_list);
		c->n_suites = n_list;
		return 0;
	}
	case K_COOKIE:
		if (!strcmp(v, "auto"))
			c->cookie_mode = 0;
		else if (!strcmp(v, "always"))
			c->cookie_mode = 1;
		else if (!strcmp(v, "off"))
			c->cookie_mode = 2;
		else {
			snprintf(why, why_len, "'%s' is not auto, always or off", v);
			return -1;
		}
		return 0;
	case K_ENROLL:
		if (!strcmp(v, "open"))
			c->enrollment = SGA_ENROLL_OPEN;
		else if (!strcmp(v, "allowlist"))
			c->enrollment = SGA_ENROLL_ALLOWLIST;
		else {
			snprintf(why, why_len,
			         "'%s' is not an enrollment policy (open or allowlist)", v);
			return -1;
		}
		return 0;
	case K_MODEXP:
		if (!strcmp(v, "auto"))
			c->modexp_mode = GW_MODEXP_AUTO;
		else if (!strcmp(v, "cryptodev"))
			c->modexp_mode = GW_MODEXP_CRYPTODEV;
		else if (!strcmp(v, "cpu"))
			c->modexp_mode = GW_MODEXP_CPU;
		else {
			snprintf(why, why_len, "'%s' is not auto, cryptodev or cpu", v);
			return -1;
		}
		return 0;
	case K_MODEXP_DEV:
		if (!strcmp(v, "auto"))
			c->modexp_device = GW_MODEXP_DEV_AUTO;
		else if (!strcmp(v, "crypto_qat"))
			c->modexp_device = GW_MODEXP_DEV_QAT;
		else if (!strcmp(v, "crypto_openssl"))
			c->modexp_device = GW_MODEXP_DEV_OPENSSL;
		else {
			snprintf(why, why_len, "'%s' is not auto, crypto_qat or crypto_openssl", v);
			return -1;
		}
		return 0;
	case K_POLICY: {
		enum sga_engine_policy pol;

		if (sga_engine_policy_parse(v, &pol)) {
			snprintf(why, why_len, "'%s' is not off, prefer or require", v);
			return -1;
		}
		c->rsa_policy = (int)pol;
		return 0;
	}
	case K_CDEV:
		/* The values sga_cdev_device_valid accepts; that library needs DPDK,
		 * this parser must not. */
		if (strcmp(v, "auto") && strcmp(v, "crypto_qat") && strcmp(v, "crypto_aesni_mb") &&
		    strcmp(v, "crypto_openssl") && strcmp(v, "cpu")) {
			snprintf(
			    why, why_len,
			    "'%s' is not auto, crypto_qat, crypto_aesni_mb, crypto_openssl or cpu",
			    v);
			return -1;
		}
		snprintf(c->crypto_device, sizeof(c->crypto_device), "%s", v);
		return 0;
	case K_FSYNC:
		if (!strcmp(v, "none"))
			c->store_fsync = GW_FSYNC_NONE;
		else if (!strcmp(v, "interval"))
			c->store_fsync = GW_FSYNC_INTERVAL;
		else if (!strcmp(v, "always"))
			c->store_fsync = GW_FSYNC_ALWAYS;
		else {
			snprintf(why, why_len, "'%s' is not none, interval or always", v);
			return -1;
		}
		return 0;
	case K_REPLICATE:
		if (!strcmp(v, "off"))
			c->store_replicate = GW_REPLICATE_OFF;
		else if (!strcmp(v, "redis"))
			c->store_replicate = GW_REPLICATE_REDIS;
		else {
			snprintf(why, why_len, "'%s' is not off or redis", v);
			return -1;
		}
		return 0;
	case K_PROFILE:
		if (!strcmp(v, "production"))
			c->lab_profile = GW_PROFILE_PRODUCTION;
		else if (!strcmp(v, "lab"))
			c->lab_profile = GW_PROFILE_LAB;
		else {
			snprintf(why, why_len, "'%s' is not production or lab", v);
			return -1;
		}
		return 0;
	case K_LOGLEVEL: {
		/* rte_log's levels, numbered as RTE_LOG_EMERG .. RTE_LOG_DEBUG. */
		static const char *const names[] = {"emerg",   "alert",  "crit", "err",
		                                    "warning", "notice", "info", "debug"};

		for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(v, names[i])) {
				c->log_level = i + 1;
				return 0;
			}
		snprintf(why, why_len,
		         "'%s' is not a log level (emerg, alert, crit, err, warning, notice, "
		         "info, debug)",
		         v);
		return -1;
	}
	case K_WINDOW:
		if (!strcmp(v, "on"))
			c->lab_hop_replay_window = 1;
		else if (!strcmp(v, "off"))
			c->lab_hop_replay_window = 0;
		else {
			snprintf(why, why_len, "'%s' is not on or off", v);
			return -1;
		}
		return 0;
	case K_HUGE:
		if (!strcmp(v, "auto"))
			c->hugepages = GW_HUGE_AUTO;
		else if (!strcmp(v, "yes"))
			c->hugepages = GW_HUGE_YES;
		else if (!strcmp(v, "no"))
			c->hugepages = GW_HUGE_NO;
		else {
			snprintf(why, why_len, "'%s' is not auto, yes or no", v);
			return -1;
		}
		return 0;
	case K_BOOL: /* true / false, or on / off: both read naturally */
		if (!strcmp(v, "true") || !strcmp(v, "on"))
			*(int *)dst = 1;
		else if (!strcmp(v, "false") || !strcmp(v, "off"))
			*(int *)dst = 0;
		else {
			snprintf(why, why_len, "'%s' is not true or false (on or off)", v);
			return -1;
		}
		return 0;
	case K_SEEDS:
		return set_seeds(dst, k->size, v,
		                 strcmp(k->name, "sentinel") ? "seed node" : "sentinel", why,
		                 why_len);
	}
	snprintf(why, why_len, "internal: unhandled key type");
	return -1;
}

int gw_config_parse(struct gw_config *c, const char *name, const char *text, char *err,
                    size_t err_len)
{
	char section[32] = "", line[2048], why[256];
	unsigned char seen[N_KEYS] = {0};
	unsigned lineno = 0, window_line = 0, group_line = 0;
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *s, *eq, *k, *v;

		lineno++;
		if (len >= sizeof(line))
			return fail(err, err_len, name, lineno, "line longer than %zu characters",
			            sizeof(line) - 1);
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl ? nl + 1 : p + len;

		for (char *q = line; *q; q++)
			if (*q == '#') {
				*q = '\0';
				break;
			}
		s = trim(line);
		if (!*s)
			continue;
		if (*s == '[') {
			char *e = strchr(s, ']');
			int known = 0;

			if (!e || e[1] != '\0')
				return fail(err, err_len, name, lineno,
				            "malformed section header '%s'", s);
			*e = '\0';
			s = trim(s + 1);
			for (size_t i = 0; i < N_KEYS; i++)
				known |= !strcmp(keys[i].section, s);
			if (!known)
				return fail(
				    err, err_len, name, lineno,
				    "unknown section [%s] (gateway, dataplane, "
				    "controlplane, sessions, redis, eal, crypto, store, lab)",
				    s);
			snprintf(section, sizeof(section), "%s", s);
			continue;
		}
		eq = strchr(s, '=');
		if (!eq)
			return fail(err, err_len, name, lineno, "expected 'key = value', got '%s'",
			            s);
		*eq = '\0';
		k = trim(s);
		v = trim(eq + 1);
		if (!*section)
			return fail(err, err_len, name, lineno, "key '%s' before any [section]", k);
		size_t i;
		for (i = 0; i < N_KEYS; i++)
			if (!strcmp(keys[i].section, section) && !strcmp(keys[i].name, k))
				break;
		if (i == N_KEYS)
			return fail(err, err_len, name, lineno, "unknown key '%s' in [%s]", k,
			            section);
		if (seen[i])
			return fail(err, err_len, name, lineno, "key '%s' in [%s] set twice", k,
			            section);
		seen[i] = 1;
		if (set_value(c, &keys[i], v, why, sizeof(why)))
			return fail(err, err_len, name, lineno, "%s: %s", k, why);
		if (keys[i].type == K_WINDOW)
			window_line = lineno;
		if (keys[i].type == K_GROUP || keys[i].type == K_GROUPS) {
			if (group_line)
				return fail(
				    err, err_len, name, lineno,
				    "'%s' and '%s' both set: name the profiles in one of them",
				    keys[i].type == K_GROUP ? "group" : "groups",
				    keys[i].type == K_GROUP ? "groups" : "group");
			group_line = lineno;
		}
	}
	if (!c->redis_socket[0] && !c->redis_host[0])
		return fail(err, err_len, name, 0, "[redis] needs socket or host");
	if (!c->address && !memcmp(c->address6, (const uint8_t[16]){0}, 16))
		return fail(err, err_len, name, 0,
		            "[gateway] needs an address: address (IPv4), address6 (IPv6) or both");
	if (c->redis_cluster[0] && c->redis_socket[0])
		return fail(err, err_len, name, 0,
		            "[redis] cluster and socket both set: a Redis Cluster is reached "
		            "over TCP through its seed nodes; remove socket");
	if (c->redis_cluster[0] && c->redis_db)
		return fail(err, err_len, name, 0,
		            "[redis] db = %u with cluster: a Redis Cluster has database 0 only; "
		            "set db = 0 or remove it",
		            c->redis_db);
	if (c->redis_sentinel[0] && c->redis_cluster[0])
		return fail(err, err_len, name, 0,
		            "[redis] sentinel and cluster both set: a Redis Cluster fails over "
		            "by itself; use one of them");
	if (c->redis_sentinel[0] && c->redis_socket[0])
		return fail(err, err_len, name, 0,
		            "[redis] sentinel and socket both set: the sentinels name the "
		            "primary's TCP address; remove socket");
	if (c->redis_sentinel[0] && !c->redis_sentinel_master[0])
		return fail(err, err_len, name, 0,
		            "[redis] sentinel needs sentinel_master (the name the sentinels "
		            "monitor the primary under)");
	if (!c->redis_sentinel[0] &&
	    (c->redis_sentinel_master[0] || c->redis_sentinel_password_file[0]))
		return fail(err, err_len, name, 0,
		            "[redis] sentinel_master and sentinel_password_file need sentinel "
		            "(the sentinels' addresses)");
	if (c->redis_user[0] && !c->redis_password_file[0])
		return fail(err, err_len, name, 0,
		            "[redis] user = %s needs password_file (the user's password)",
		            c->redis_user);
	if (c->store_ring_mb & (c->store_ring_mb - 1))
		return fail(err, err_len, name, 0, "[store] ring_mb must be a power of two");
	if (c->store_max_mb && c->store_max_mb < 2 * c->store_segment_mb)
		return fail(err, err_len, name, 0,
		            "[store] max_mb must be 0 (no limit) or at least 2 x segment_mb");
	if (c->store_replicate == GW_REPLICATE_REDIS && !c->store_dir[0])
		return fail(err, err_len, name, 0,
		            "[store] replicate = redis needs dir: it replicates the local message "
		            "log, and without dir there is none (relay only)");
	if (c->store_replicate == GW_REPLICATE_REDIS && !c->session_adopt)
		return fail(err, err_len, name, 0,
		            "[store] replicate = redis needs [sessions] adopt = on: the replica is "
		            "read by the gateway that adopts a session, and without adoption "
		            "none does");
	if (!c->cluster_nodes[0] && (c->cluster_key_file[0] || c->cluster_next_hop))
		return fail(err, err_len, name, 0,
		            "[cluster] key_file and next_hop need nodes (the cluster's gateways)");
	if (c->cluster_nodes[0] && !c->cluster_key_file[0])
		return fail(err, err_len, name, 0,
		            "[cluster] nodes needs key_file: the key the gateways authenticate "
		            "what they hand each other with (the same file on each)");
	if (c->cluster_nodes[0] && !c->session_adopt)
		return fail(err, err_len, name, 0,
		            "[cluster] nodes needs [sessions] adopt = on: a gateway takes over "
		            "the sessions of one that is down by adopting them");
	if (c->cluster_nodes[0] && strlen(c->session_node) > GW_NODE_NAME_MAX)
		return fail(err, err_len, name, 0,
		            "[sessions] node: at most %d characters in a cluster (its lease key)",
		            GW_NODE_NAME_MAX);
	if (c->lab_provision[0] && c->lab_profile != GW_PROFILE_LAB)
		return fail(err, err_len, name, 0,
		            "[lab] provision = %s is refused under profile = production: lab "
		            "provisioning writes sessions whose keys come from a seed in a file; "
		            "set [lab] profile = lab on a lab gateway only",
		            c->lab_provision);
	/* Checked once the whole file is read: profile may come after it. */
	if (!c->lab_hop_replay_window && c->lab_profile != GW_PROFILE_LAB)
		return fail(err, err_len, name, window_line,
		            "[lab] hop_replay_window = off is refused under profile = production: "
		            "it relays replayed frames (benchmarks with a looping pcap only); "
		            "set [lab] profile = lab on a lab gateway only");
	if (c->ctrl_ring_size & (c->ctrl_ring_size - 1))
		return fail(err, err_len, name, 0,
		            "[controlplane] ctrl_ring_size must be a power of two");
	return 0;
}

int gw_config_load(struct gw_config *c, const char *path, char *err, size_t err_len)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	long n;
	int rc;

	if (!f)
		return fail(err, err_len, path, 0, "cannot open: %s", strerror(errno));
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return fail(err, err_len, path, 0, "cannot read: %s", strerror(errno));
	}
	if (n > 1 << 20) {
		fclose(f);
		return fail(err, err_len, path, 0, "larger than 1 MiB: not a configuration file");
	}
	text = calloc(1, (size_t)n + 1);
	if (!text || fread(text, 1, (size_t)n, f) != (size_t)n) {
		free(text);
		fclose(f);
		return fail(err, err_len, path, 0, "cannot read: %s",
		            strerror(errno ? errno : EIO));
	}
	fclose(f);
	if (memchr(text, '\0', (size_t)n)) {
		free(text);
		return fail(err, err_len, path, 0, "contains a NUL byte: not a text file");
	}
	rc = gw_config_parse(c, path, text, err, err_len);
	free(text);
	return rc;
}

int gw_config_group_is_ec(uint8_t group)
{
	return group == SGA_GROUP_X25519 || group == SGA_GROUP_P256;
}

static int serves(const struct gw_config *c, uint8_t group)
{
	return memchr(c->groups, group, c->n_groups) != NULL;
}

int gw_config_key_paths(const struct gw_config *c, uint8_t group, const char **key,
                        const char **trapdoor)
{
	if (!serves(c, group))
		return -1;
	switch (group) {
	case SGA_GROUP_X25519:
		*key = c->x25519_key;
		*trapdoor = c->x25519_trapdoor_key;
		return 0;
	case SGA_GROUP_P256:
		*key = c->p256_key;
		*trapdoor = c->p256_trapdoor_key;
		return 0;
	default:
		*key = c->rsa_key;
		*trapdoor = c->trapdoor_key;
		return 0;
	}
}

int gw_config_package_path(const struct gw_config *c, uint8_t group, char *out, size_t cap)
{
	const struct sga_group_info *g = sga_group_get(group);
	size_t n = strlen(c->package), stem = n;
	int w;

	if (!g || !serves(c, group))
		return -1;
	if (group == c->groups[0])
		w = snprintf(out, cap, "%s", c->package);
	else {
		/* gateway.pkg -> gateway-x25519.pkg; a name without the ending gets
		 * "-x25519" appended. A ".pkg" that is the whole base name stays. */
		if (n > 4 && !strcmp(c->package + n - 4, ".pkg") && c->package[n - 5] != '/')
			stem = n - 4;
		w = snprintf(out, cap, "%.*s-%s%s", (int)stem, c->package, g->name,
		             c->package + stem);
	}
	return w < 0 || (size_t)w >= cap ? -1 : 0;
}

int gw_config_port_is_pci(const char *port)
{
	unsigned a, b, d, f;
	char tail;

	if (sscanf(port, "%4x:%2x:%2x.%1x%c", &a, &b, &d, &f, &tail) == 4)
		return 1;
	return sscanf(port, "%2x:%2x.%1x%c", &b, &d, &f, &tail) == 3;
}

/* ---- reload ------------------------------------------------------------------- */

/* What SIGHUP may change without a restart: each is read where it is used, by
 * one thread or through an atomic (sga-gateway applies them). Everything else
 * shapes ports, memory, threads or keys that exist already. */
static const char *const live_keys[][2] = {
    {"gateway", "enrollment"},
    {"gateway", "stats_file"},
    {"gateway", "stats_interval_s"},
    {"gateway", "log_level"},
    {"gateway", "metrics_listen"},
    /* relaxed atomics the lcores read (dp_set_ctrl_rate, dp_set_store_max_age) */
    {"dataplane", "ctrl_rate"},
    {"dataplane", "ctrl_burst"},
    {"store", "max_age_s"},
    {"sessions", "idle_s"},
    {"sessions", "max_life_s"},
};

int gw_config_is_live(const char *section, const char *key)
{
	for (size_t i = 0; i < sizeof(live_keys) / sizeof(live_keys[0]); i++)
		if (!strcmp(live_keys[i][0], section) && !strcmp(live_keys[i][1], key))
			return 1;
	return 0;
}

static int key_differs(const struct key_def *k, const struct gw_config *a,
                       const struct gw_config *b)
{
	const char *pa = (const char *)a + k->off, *pb = (const char *)b + k->off;

	if (k->type == K_STR || k->type == K_ID)
		return strcmp(pa, pb) != 0;
	if (k->type == K_SUITES && a->n_suites != b->n_suites)
		return 1;
	if (k->type == K_GROUPS && a->n_groups != b->n_groups)
		return 1;
	return memcmp(pa, pb, k->size) != 0;
}

int gw_config_reload_diff(const struct gw_config *cur, const struct gw_config *next,
                          const char **live, unsigned max_live, unsigned *n_live, char *err,
                          size_t err_len)
{
	*n_live = 0;
	/* The token-bucket tables exist only when the gateway started with a rate. */
	if (!cur->ctrl_rate != !next->ctrl_rate) {
		snprintf(err, err_len,
		         "[dataplane] ctrl_rate changed %s 0: turning the control-frame limit %s "
		         "needs a restart",
		         cur->ctrl_rate ? "to" : "from", cur->ctrl_rate ? "off" : "on");
		return -1;
	}
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key_def *k = &keys[i];

		if (!key_differs(k, cur, next))
			continue;
		if (!gw_config_is_live(k->section, k->name)) {
			snprintf(err, err_len, "[%s] %s changed: it needs a restart", k->section,
			         k->name);
			return -1;
		}
		if (*n_live < max_live)
			live[(*n_live)++] = k->name;
	}
	return 0;
}
