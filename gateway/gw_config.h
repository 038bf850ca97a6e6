/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gw_config.h - the sga-gateway configuration file.
 *
 * Format: INI-like. "[section]" lines, "key = value" lines, '#' starts a
 * comment, blank lines ignored. Every key is listed in gw_config.c's table with
 * its type, bounds and default, and documented in the configs/ examples. An unknown
 * section or key, a repeated key, or a bad value is rejected with the file, the
 * line and the reason; nothing is guessed.
 */
#ifndef SGA_GW_CONFIG_H
#define SGA_GW_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "sga_wire.h"

#define GW_PATH_MAX        256
#define GW_EAL_ARGS_MAX    32
#define GW_GROUPS_MAX      4  /* profiles one gateway serves: every group SGA knows */
#define GW_REDIS_SEEDS_MAX 16 /* [redis] cluster seed nodes */

struct gw_config {
	/* [gateway] */
	char id[SGA_ID_MAX + 1];
	uint32_t address;     /* IPv4, network order; 0: none ("none") */
	uint8_t address6[16]; /* [gateway] address6: IPv6; all zero: none (the default) */
	uint16_t udp_port;    /* host order */
	/* [gateway] groups (or group, the one-profile form): the profiles served,
	 * groups[0] first - what a PKG_REQ or REG_REQ naming no group gets, and
	 * the profile of a device record written before records kept one. */
	uint8_t groups[GW_GROUPS_MAX]; /* enum sga_group_id, distinct */
	uint8_t n_groups;
	uint8_t group; /* groups[0] */
	uint8_t n_suites;
	uint8_t suites[SGA_MAX_SUITES];
	uint8_t enrollment; /* enum sga_enroll_mode */
	/* RSA key pairs of the finite-field profiles (ffdhe*), E_PK and F_G */
	char rsa_key[GW_PATH_MAX];
	char trapdoor_key[GW_PATH_MAX];
	unsigned rsa_bits; /* for --init-keys */
	/* Private keys (PEM, PKCS#8) of the EC profiles, E_PK and F_G (HPKE) */
	char x25519_key[GW_PATH_MAX];
	char x25519_trapdoor_key[GW_PATH_MAX];
	char p256_key[GW_PATH_MAX];
	char p256_trapdoor_key[GW_PATH_MAX];
	/* The first profile's package; another profile's is gw_config_package_path's */
	char package[GW_PATH_MAX];
	char master_key[GW_PATH_MAX];
	char stats_file[GW_PATH_MAX]; /* "" = none */
	unsigned stats_interval_s;
	/* [gateway] log_level: 0 = EAL's, else RTE_LOG_EMERG (1) .. RTE_LOG_DEBUG (8) */
	unsigned log_level;
	char metrics_listen[64]; /* [gateway] metrics_listen: Prometheus "IPv4:PORT", "" = off */

	/* [dataplane] */
	char port[GW_PATH_MAX]; /* vdev spec ("net_tap0,iface=sga0") or PCI address */
	unsigned lcores;
	unsigned rx_desc, tx_desc;
	unsigned mbufs;
	unsigned max_sessions;
	uint64_t tx_seq_block;
	unsigned udp_checksum_zero; /* 1: UDP checksum 0 where the port cannot offload it */
	unsigned idle_sleep_us;     /* 0: busy-poll; else an idle lcore's longest sleep */

	/* [controlplane] */
	unsigned workers;
	unsigned ctrl_ring_size;
	unsigned persist_interval_ms;
	unsigned mark_step;        /* replay marks written when moved this far ... */
	unsigned mark_max_age_ms;  /* ... or when a smaller move waited this long */
	unsigned async_jobs;       /* control frames in flight per worker (OpenSSL ASYNC jobs) */
	unsigned cookie_mode;      /* enum cp_cookie_mode: 0 auto, 1 always, 2 off */
	unsigned cookie_threshold; /* backlog of one worker that means "under load" */
	/* [sessions]: idle timeout and maximum lifetime; 0 = never */
	unsigned session_idle_s, session_max_life_s;
	int session_adopt;     /* [sessions] adopt: 1 on */
	char session_node[65]; /* [sessions] node: this gateway's name as a session's
	                        * owner ("" = the host name) */
	unsigned ctrl_rate;    /* control frames/s per source address (per lcore); 0: off */
	/* [cluster] (PROTOCOL.md 9.6): "" = one gateway, no cluster */
	char cluster_nodes[1024];           /* "name a.b.c.d:port, ..." */
	char cluster_key_file[GW_PATH_MAX]; /* 64 hex digits, the same on every gateway */
	uint32_t cluster_next_hop;          /* network order; 0: the peers are on-link */
	unsigned cluster_lease_ms;          /* a gateway is down once its lease is this old */
	unsigned ctrl_burst;

	/* [redis] */
	char redis_socket[GW_PATH_MAX];
	char redis_host[GW_PATH_MAX];
	unsigned redis_port;
	unsigned redis_db;
	unsigned redis_timeout_ms;
	unsigned redis_backoff_max_ms;
	char redis_user[64];                   /* ACL user, "" = none (AUTH password) */
	char redis_password_file[GW_PATH_MAX]; /* "" = no AUTH */
	/* Redis Cluster seed nodes "host:port, host:port, ..." ("" = one server:
	 * socket or host/port); checked by the parser, split by the store. */
	char redis_cluster[GW_PATH_MAX];
	int redis_require_aof; /* stop at start unless every master has appendonly yes */
	/* Redis Sentinel: the sentinels "host:port, ..." ("" = none) that watch
	 * the primary named redis_sentinel_master, and their password file. */
	char redis_sentinel[GW_PATH_MAX];
	char redis_sentinel_master[65];
	char redis_sentinel_password_file[GW_PATH_MAX];

	/* [crypto], asymmetric offload: modexp service (sga_asym.h), RSA engine (sga_engine.h) */
	int modexp_mode;     /* GW_MODEXP_AUTO / _CRYPTODEV / _CPU */
	int modexp_device;   /* GW_MODEXP_DEV_AUTO / _QAT / _OPENSSL */
	char rsa_engine[64]; /* provider, or ENGINE if it ends in "engine"; "" = none */
	int rsa_policy;      /* enum sga_engine_policy */
	/* [crypto], bulk AEAD (sga_cdev.h): the data plane's crypto device, "auto",
	 * "crypto_qat", "crypto_aesni_mb", "crypto_openssl" or "cpu"; and the
	 * session installs that get cryptodev sessions (later ones: CPU path);
	 * 0 = every install (max_sessions and the re-install headroom). */
	char crypto_device[24];
	unsigned aead_sessions;

	/* [store]: store and forward; store_dir "" = off (relay only) */
	char store_dir[GW_PATH_MAX];
	int store_fsync; /* GW_FSYNC_*: same values as enum msg_log_fsync */
	unsigned store_fsync_interval_ms;
	unsigned store_segment_mb, store_max_mb, store_max_age_s, store_pending_max;
	unsigned store_ring_mb; /* the lcore -> writer ring of each log (power of two) */
	/* replicate = off (default) | redis: every batch of the local log is also
	 * written to Redis (controlplane/store_replica.h) before STORED, so that a
	 * gateway adopting a session delivers its backlog; replicas = WAIT's count
	 * (0: the Redis primary's reply suffices), replica_timeout_ms = WAIT's
	 * timeout. */
	int store_replicate; /* GW_REPLICATE_* */
	unsigned store_replicas, store_replica_timeout_ms;

	/* [lab]: LAB ONLY. profile = production (default) refuses everything below;
	 * lab allows provision = a lab provisioning file (protocol/sga_lab.h). */
	int lab_profile;                 /* GW_PROFILE_* */
	char lab_provision[GW_PATH_MAX]; /* "" = none */
	/* hop_replay_window = on (default) | off. off: an authentic DATA_UP whose
	 * hop seq was seen or is too old is relayed as fresh (opened, stored,
	 * sealed, acknowledged) - for a generator replaying a pcap in a loop, as
	 * IPsec gateways are benchmarked with anti-replay off. Refused under
	 * profile = production. */
	int lab_hop_replay_window; /* 1 on, 0 off */

	/* [eal] */
	int hugepages; /* GW_HUGE_AUTO / _YES / _NO */
	unsigned memory_mb;
	char eal_args[1024]; /* extra EAL arguments, whitespace separated */
};

/* A node name in a cluster: its lease's key, sga:{node:<name>}, stays short. */
#define GW_NODE_NAME_MAX 52

enum { GW_PROFILE_PRODUCTION = 0, GW_PROFILE_LAB = 1 };
enum { GW_HUGE_AUTO = 0, GW_HUGE_YES = 1, GW_HUGE_NO = 2 };
enum { GW_FSYNC_NONE = 0, GW_FSYNC_INTERVAL = 1, GW_FSYNC_ALWAYS = 2 };
enum { GW_REPLICATE_OFF = 0, GW_REPLICATE_REDIS = 1 };
/* [crypto] modexp = auto | cryptodev | cpu; modexp_device = auto | crypto_qat |
 * crypto_openssl. Same values as sga_asym.h's enums (kept DPDK-free here). */
enum { GW_MODEXP_AUTO = 0, GW_MODEXP_CRYPTODEV = 1, GW_MODEXP_CPU = 2 };
enum { GW_MODEXP_DEV_AUTO = 0, GW_MODEXP_DEV_QAT = 1, GW_MODEXP_DEV_OPENSSL = 2 };

/** Fill c with the defaults of every key. */
void gw_config_defaults(struct gw_config *c);

/**
 * Parse path into c (which should hold the defaults). On error returns -1 and
 * writes one line "FILE:LINE: reason" (or "FILE: reason") into err.
 */
int gw_config_load(struct gw_config *c, const char *path, char *err, size_t err_len);

/** The same, from a string (for tests); name is used in messages. */
int gw_config_parse(struct gw_config *c, const char *name, const char *text, char *err,
                    size_t err_len);

/**
 * Reload (SIGHUP): compare the running configuration cur with next, re-read
 * from the same file. Keys that can change live (gw_config_is_live) may differ:
 * their key names go to live[0..*n_live) (at most max_live). Any
 * other difference returns -1 with err naming the first such key ("[dataplane]
 * port changed: it needs a restart"); 0 otherwise (*n_live may be 0).
 */
int gw_config_reload_diff(const struct gw_config *cur, const struct gw_config *next,
                          const char **live, unsigned max_live, unsigned *n_live, char *err,
                          size_t err_len);

/** 1 if section.key can change on a reload without a restart. */
int gw_config_is_live(const char *section, const char *key);

/** 1 if group names an elliptic-curve profile (x25519, p256): HPKE keys, not RSA. */
int gw_config_group_is_ec(uint8_t group);

/**
 * The key files of group's profile: *key (E_PK) and *trapdoor (F_G); the RSA
 * pair for ffdhe groups, the curve's pair for EC groups. -1 for a group the
 * configuration does not serve.
 */
int gw_config_key_paths(const struct gw_config *c, uint8_t group, const char **key,
                        const char **trapdoor);

/**
 * The package file of group's profile: [gateway] package for the first
 * profile, and for the others the same name with "-<group>" before its ".pkg"
 * ending (or at its end): gateway.pkg, gateway-x25519.pkg. -1 if out is too
 * small or the group is not served.
 */
int gw_config_package_path(const struct gw_config *c, uint8_t group, char *out, size_t cap);

/** 1 if the port string is a PCI address (DDDD:BB:DD.F or BB:DD.F). */
int gw_config_port_is_pci(const char *port);

#endif /* SGA_GW_CONFIG_H */
