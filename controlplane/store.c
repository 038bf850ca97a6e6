/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store.c - the gateway's device and session state in Redis through hiredis
 * (see store.h for the key layout and the sealed-record format).
 *
 * One synchronous connection per struct store (one per thread), or on a Redis
 * Cluster one per master through store_cluster.c, behind the same st_run and
 * the same backoff. Every call connects lazily; an I/O error drops the
 * connection and the next attempt waits for an exponential backoff, so a
 * Redis outage costs each caller one failed round trip per backoff period,
 * not a connect() storm. Commands that belong together are pipelined (one
 * round trip). Every read-modify-write on a counter
 * or mark runs as a small Lua script on one key, so it is atomic and stays in
 * one Redis Cluster slot. Record plaintexts (k_d, k_t, N/K, cached replies) are
 * built in stack buffers that are wiped before return on every path.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <pthread.h>

#include "cp_log.h"
#include "sga_check.h"
#include "sga_cursor.h"
#include "sga_hex.h"
#include "sga_hop.h"
#include "sga_rekey.h"
#include "store.h"
#include "store_cluster.h"
#include "store_rekey.h"

#define BACKOFF_MIN_MS         50u
#define BACKOFF_MAX_DEFAULT_MS 5000u
#define TIMEOUT_DEFAULT_MS     1000u
#define SESSION_TTL_DEFAULT_S  300u

#define KEY_MAX       64 /* "sga:{enroll:" + 32-byte id + "}" fits */
#define REC_VERSION   1
#define REC_HDR       (1 + SGA_AEAD_NONCE_LEN)
#define REC_TAG       16 /* AES-256-GCM */
#define REC_KIND_DEV  'D'
#define REC_KIND_SESS 'S'
#define REC_SUITE     SGA_SUITE_AES256_GCM
#define REC_KDF_INFO  "sga-store-v1 "
/* Largest session plaintext: fixed part, two members, two N/K, two replies. */
#define SESS_PT_MAX                                                                             \
	(1 + 8 + 4 + 8 + 2 * (1 + SGA_ID_MAX + 1 + SGA_KEY_LEN) + 4 * (2 + SGA_GROUP_MAX_LEN) + \
	 2 * (2 + SGA_FRAME_MAX) + 2 * SGA_SHA256_LEN + STORE_REKEY_MAX)
#define DEV_PT_MAX    (1 + 1 + SGA_ID_MAX + SGA_KEY_LEN + 2 + SGA_MAX_SUITES + 2)
#define DEV_F_REVOKED 0x01               /* the device record's optional flags byte */
#define ADDR_STR_MAX  STORE_ADDR_STR_MAX /* "[v6]:65535/ff:ff:ff:ff:ff:ff/tci=0xffff" */
#define U64_STR_MAX   24
#define MAX_ARGS      ST_MAX_ARGS

struct store {
	redisContext *c; /* one server */
	struct stc *cl;  /* or a Redis Cluster (store_cluster.c) */
	char *unix_socket;
	char *host;
	char endpoint[160]; /* for log messages */
	int port;
	int db;
	unsigned timeout_ms;
	unsigned backoff_max_ms;
	unsigned session_ttl_s;
	uint8_t first_group;  /* what a device record without a group reads as */
	unsigned backoff_ms;  /* next backoff to apply after a failure */
	uint64_t retry_at_ns; /* no connection attempt before this (monotonic) */
	int connected;        /* the last command reached Redis */
	int ever_connected;
	int down_logged;
	_Atomic uint64_t reconnects;
	_Atomic uint64_t connect_attempts;
	uint8_t *mkey; /* SGA_KEY_LEN bytes in a locked, non-dumpable page */
	size_t mkey_map;
	char *user;     /* ACL user, NULL: none */
	char *password; /* in the mkey page after the key, NULL: no AUTH */
	/* Redis Sentinel (store_config.sentinels): where the primary is. */
	struct stc_addr *sentinel; /* answering one first (moved up when it answers) */
	unsigned n_sentinels;
	char *sentinel_master;
	char *sentinel_password;     /* in the mkey page after password, NULL: none */
	char primary[STC_NODE_NAME]; /* "host:port" last reached, "" none yet */
	char *owner;                 /* store_config.owner: this gateway's id, NULL: no ownership */
	unsigned node;               /* store_config.node: its [cluster] node index, 0: none */
	_Atomic uint64_t primary_changes;
	_Atomic uint64_t scripts_loaded; /* EVALSHAs sent again as EVAL (NOSCRIPT) */
	int auth_refused;
	int auth_logged;
	uint64_t held_nodes; /* store_held_write's cluster masters (bit = node index) */
	int held_dirty;      /* one server: written since the last store_held_wait */
};

/* ---- Lua scripts (one key each; values compared as decimal strings) ---------
 *
 * Redis Lua numbers are doubles, which cannot hold every uint64_t, so counters
 * are compared as canonical decimal strings: longer is larger, equal lengths
 * compare lexicographically. Every value the store writes is canonical
 * (PRIu64, no leading zeros). */

/* Raise field ARGV[1] to ARGV[2]: 1 raised, 0 not greater, -1 no such key. */
static const char LUA_RAISE[] = "if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end\n"
                                "local cur = redis.call('HGET', KEYS[1], ARGV[1]) or '0'\n"
                                "local v = ARGV[2]\n"
                                "if #v > #cur or (#v == #cur and v > cur) then\n"
                                "  redis.call('HSET', KEYS[1], ARGV[1], v)\n"
                                "  return 1\n"
                                "end\n"
                                "return 0\n";

/* Take the next value of counter field ARGV[1]: the new value, -1 if no such
 * key. HINCRBY is exact on the 64-bit integers the counters are (they stay far
 * below 2^63: one a control message). */
static const char LUA_CLAIM[] = "if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end\n"
                                "return redis.call('HINCRBY', KEYS[1], ARGV[1], 1)\n";

/* Create a device hash unless it exists: 1 created, 0 exists. */
static const char LUA_CREATE[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'rec', ARGV[1], 'up_ctr', ARGV[2], 'down_ctr', ARGV[3])\n"
    "return 1\n";

/* Set field ARGV[1] = ARGV[2] on an existing hash: 1 set, -1 no such key. */
static const char LUA_SET_IF[] = "if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end\n"
                                 "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
                                 "return 1\n";

/* Session record: rec, state, then a TTL (ARGV[3] > 0) or none (0). */
static const char LUA_SESS_PUT[] = "redis.call('HSET', KEYS[1], 'rec', ARGV[1], 'state', ARGV[2])\n"
                                   "if ARGV[3] == '0' then redis.call('PERSIST', KEYS[1])\n"
                                   "else redis.call('EXPIRE', KEYS[1], ARGV[3]) end\n"
                                   "return 1\n";

/*
 * Session ownership ([sessions] adopt; PROTOCOL.md 9.5). The session's hash
 * names, in field `owner`, the gateway that installed it last (its [gateway]
 * id): set when it is established, restored at a restart, or adopted. The
 * writes a gateway makes for a session it has installed - persisted replay
 * marks and addresses, hop TX reservations - carry its id (the argument
 * named below) and are refused with -2, nothing written, when another
 * gateway owns the session: the fence that tells an old owner (paused,
 * partitioned, or simply still receiving a flow the network moved) that it
 * must let the session go. An empty argument (one gateway, adopt off) and a
 * hash without an owner (written before owners existed) are not fenced.
 */
#define LUA_FENCE(arg)                                       \
	"if " arg " ~= '' then\n"                            \
	"  local o = redis.call('HGET', KEYS[1], 'owner')\n" \
	"  if o and o ~= " arg " then return -2 end\n"       \
	"end\n"

/* Take the ownership of an existing session for ARGV[1]: 1, -1 no such key. */
static const char LUA_OWN[] = "if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end\n"
                              "redis.call('HSET', KEYS[1], 'owner', ARGV[1])\n"
                              "return 1\n";

/* tx_res<role> of an existing session raised to the floor ARGV[3] (the
 * gateway's clock, tx_floor) and then HINCRBY'd by ARGV[2]: the new limit, or
 * -1, or -2 when another gateway owns it (fenced by ARGV[4], LUA_FENCE). The
 * floor is compared as a canonical decimal string, not a Lua number (a
 * double would round values near 2^60). */
static const char LUA_RESERVE[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end\n" LUA_FENCE(
        "ARGV[4]") "local cur = redis.call('HGET', KEYS[1], ARGV[1]) or '0'\n"
                   "local f = ARGV[3]\n"
                   "if #f > #cur or (#f == #cur and f > cur) then redis.call('HSET', KEYS[1], "
                   "ARGV[1], f) end\n"
                   "return redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])\n";

/* Marks: raise rx0/rx1 to ARGV[1]/ARGV[2]; set addr0/addr1 to ARGV[3]/ARGV[4]
 * unless empty; fenced by ARGV[5] (LUA_FENCE). 1 done, -1 no such key, -2
 * another gateway owns it. */
static const char LUA_MARKS[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end\n" LUA_FENCE(
        "ARGV[5]") "for r = 0, 1 do\n"
                   "  local f = 'rx' .. r\n"
                   "  local cur = redis.call('HGET', KEYS[1], f) or '0'\n"
                   "  local v = ARGV[r + 1]\n"
                   "  if #v > #cur or (#v == #cur and v > cur) then redis.call('HSET', KEYS[1], f, "
                   "v) end\n"
                   "  if ARGV[r + 3] ~= '' then redis.call('HSET', KEYS[1], 'addr' .. r, ARGV[r + "
                   "3]) end\n"
                   "end\n"
                   "return 1\n";

/* Establish: the session record (rec, state, no TTL), a hop TX reservation of
 * ARGV[3] per role above the floor ARGV[8] (LUA_RESERVE), the marks raised
 * to ARGV[4]/ARGV[5] and the addresses ARGV[6]/ARGV[7] unless empty, and the
 * owner ARGV[9] unless empty (LUA_FENCE), in one atomic step on the
 * session's key.
 * Returns {limit0, limit1, rx0, rx1} (the marks as they stand: a re-written
 * session keeps the higher marks it had). */
static const char LUA_ESTABLISH[] =
    "redis.call('HSET', KEYS[1], 'rec', ARGV[1], 'state', ARGV[2])\n"
    "if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'owner', ARGV[9]) end\n"
    "redis.call('PERSIST', KEYS[1])\n"
    "for r = 0, 1 do\n"
    "  local f = 'tx_res' .. r\n"
    "  local cur = redis.call('HGET', KEYS[1], f) or '0'\n"
    "  local v = ARGV[8]\n"
    "  if #v > #cur or (#v == #cur and v > cur) then redis.call('HSET', KEYS[1], f, v) end\n"
    "end\n"
    "local l0 = redis.call('HINCRBY', KEYS[1], 'tx_res0', ARGV[3])\n"
    "local l1 = redis.call('HINCRBY', KEYS[1], 'tx_res1', ARGV[3])\n"
    "local rx = {}\n"
    "for r = 0, 1 do\n"
    "  local f = 'rx' .. r\n"
    "  local cur = redis.call('HGET', KEYS[1], f) or '0'\n"
    "  local v = ARGV[r + 4]\n"
    "  if #v > #cur or (#v == #cur and v > cur) then redis.call('HSET', KEYS[1], f, v); cur = v "
    "end\n"
    "  rx[r + 1] = cur\n"
    "  if ARGV[r + 6] ~= '' then redis.call('HSET', KEYS[1], 'addr' .. r, ARGV[r + 6]) end\n"
    "end\n"
    "return {l0, l1, rx[1], rx[2]}\n";

/* ---- small helpers ---------------------------------------------------------- */

/*
 * The floor of every hop TX reservation: the wall clock in nanoseconds. A
 * range starts at or above it, and the data plane seals fewer than one frame
 * per nanosecond towards a member, so the sequence numbers of a new install
 * lie above every one sent before - also when Redis lost or was made to lose
 * the last reservation. That is what lets a device take a new hop-down epoch
 * only above the sequence numbers it has seen (PROTOCOL.md 9.3), so that no
 * one can force it back to an old one. Uniqueness of (key, nonce) does not
 * rest on it: every install draws a fresh epoch. A clock stepped back across a
 * restart falls back on the reservation Redis kept.
 */
static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t (*tx_floor_fn)(void) = realtime_ns;

void store_tx_floor_set(uint64_t (*fn)(void))
{
	tx_floor_fn = fn ? fn : realtime_ns;
}

static uint64_t tx_floor(void)
{
	return tx_floor_fn();
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct timeval ms_tv(unsigned ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000};

	return tv;
}

/* Strict canonical decimal: digits only, no sign, fits in 64 bits. */
static int parse_u64(const char *s, size_t len, uint64_t *v)
{
	uint64_t x = 0;

	if (len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

/*
 * A struct dp_addr as Redis keeps it (docs/OPERATIONS.md, "Redis keys"):
 *   a.b.c.d:port/aa:bb:cc:dd:ee:ff           IPv4, untagged (the only form
 *                                           before IPv6: still read as is)
 *   [v6]:port/aa:bb:cc:dd:ee:ff              IPv6 (RFC 5952 text)
 *   ...../tci=0xNNNN                         either, with the 802.1Q TCI
 *   ...@K                                    a cluster ([cluster] nodes): the
 *                                           device reaches node K (1-based)
 * An untagged IPv4 address is written as before, so a gateway of the
 * previous version still reads what an IPv4-only one of this version wrote.
 * In memory an address's via is relative (0: this gateway reaches the
 * device); in Redis it is the node's index, the same on every gateway:
 * st_addr_abs and st_addr_rel convert at the boundary.
 */
static void addr_format(const struct dp_addr *a, char out[ADDR_STR_MAX])
{
	char ip[INET6_ADDRSTRLEN + 2] = "";
	size_t n;

	if (a->family == DP_AF_IPV6) {
		ip[0] = '[';
		if (!inet_ntop(AF_INET6, a->ip, ip + 1, INET6_ADDRSTRLEN))
			ip[1] = '\0';
		strcat(ip, "]");
	} else if (!inet_ntop(AF_INET, a->ip + 12, ip, sizeof(ip))) {
		ip[0] = '\0';
	}
	n = (size_t)snprintf(out, ADDR_STR_MAX, "%s:%u/%02x:%02x:%02x:%02x:%02x:%02x", ip,
	                     ntohs(a->port), a->mac[0], a->mac[1], a->mac[2], a->mac[3], a->mac[4],
	                     a->mac[5]);
	if (a->vlan && n < ADDR_STR_MAX)
		n += (size_t)snprintf(out + n, ADDR_STR_MAX - n, "/tci=0x%04x", a->vlan);
	if (a->via && n < ADDR_STR_MAX)
		snprintf(out + n, ADDR_STR_MAX - n, "@%u", a->via);
}

static int addr_parse(const char *s, size_t len, struct dp_addr *a)
{
	char buf[ADDR_STR_MAX], *rest, *end;
	unsigned port, mac[6], tci = 0;
	uint8_t ip6[16], via = 0;
	struct in_addr ip4;
	int used = -1, v6;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	end = strrchr(buf, '@');
	if (end) {
		char *e2;
		unsigned long k = strtoul(end + 1, &e2, 10);

		if (e2 == end + 1 || *e2 || k == 0 || k > 15)
			return -1;
		via = (uint8_t)k;
		*end = '\0';
	}
	v6 = buf[0] == '[';
	end = strchr(buf, v6 ? ']' : ':');
	if (!end || (v6 && end[1] != ':'))
		return -1;
	*end = '\0';
	rest = end + (v6 ? 2 : 1);
	if (v6 ? inet_pton(AF_INET6, buf + 1, ip6) != 1 : inet_pton(AF_INET, buf, &ip4) != 1)
		return -1;
	if (sscanf(rest, "%5u/%2x:%2x:%2x:%2x:%2x:%2x%n", &port, &mac[0], &mac[1], &mac[2], &mac[3],
	           &mac[4], &mac[5], &used) != 7 ||
	    used < 0 || port > 65535)
		return -1;
	rest += used;
	if (*rest) {
		used = -1;
		if (sscanf(rest, "/tci=0x%4x%n", &tci, &used) != 1 || used < 0 || rest[used] ||
		    !tci)
			return -1;
	}
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < 6; i++)
		a->mac[i] = (uint8_t)mac[i];
	if (v6)
		dp_addr_set_ipv6(a, ip6);
	else
		dp_addr_set_ipv4(a, ip4.s_addr);
	a->port = htons((uint16_t)port);
	a->vlan = (uint16_t)tci;
	a->via = via;
	return 0;
}

/* The address as Redis keeps it in a cluster: the node that reaches the
 * device (this one when it does itself). */
static struct dp_addr st_addr_abs(const struct store *st, const struct dp_addr *a)
{
	struct dp_addr x = *a;

	if (st->node && !x.via)
		x.via = (uint8_t)st->node;
	return x;
}

/* ... and back: 0 where this gateway is the node that reaches it. */
static void st_addr_rel(const struct store *st, struct dp_addr *a)
{
	if (a->via && a->via == st->node)
		a->via = 0;
}

static void st_addr_format(const struct store *st, const struct dp_addr *a, char out[ADDR_STR_MAX])
{
	struct dp_addr x = st_addr_abs(st, a);

	addr_format(&x, out);
}

static int key_dev(char out[KEY_MAX], const uint8_t *id, uint8_t id_len)
{
	if (!id || !sga_id_valid(id, id_len))
		return -SGA_E_BAD_FIELD;
	snprintf(out, KEY_MAX, "sga:{dev:%.*s}", (int)id_len, (const char *)id);
	return 0;
}

static int key_enroll(char out[KEY_MAX], const uint8_t *id, uint8_t id_len)
{
	if (!id || !sga_id_valid(id, id_len))
		return -SGA_E_BAD_FIELD;
	snprintf(out, KEY_MAX, "sga:{enroll:%.*s}", (int)id_len, (const char *)id);
	return 0;
}

/* The responder's pending invitations (store_invite_*): the device's hash
 * tag, so the set lives in its record's Cluster slot. */
static int key_inv(char out[KEY_MAX], const uint8_t *id, uint8_t id_len)
{
	if (!id || !sga_id_valid(id, id_len))
		return -SGA_E_BAD_FIELD;
	snprintf(out, KEY_MAX, "sga:{dev:%.*s}:inv", (int)id_len, (const char *)id);
	return 0;
}

static void sid_hex(uint64_t sid, char out[17])
{
	snprintf(out, 17, "%016" PRIx64, sid);
}

static int key_sess(char out[KEY_MAX], uint64_t sid)
{
	if (!sid)
		return -SGA_E_BAD_FIELD;
	snprintf(out, KEY_MAX, "sga:{sess:%016" PRIx64 "}", sid);
	return 0;
}

static const char KEY_SESSIONS[] = "sga:sessions";

/* The session's replicated held messages: its hash tag, its slot. */
static int key_held(char out[KEY_MAX], uint64_t sid)
{
	if (!sid)
		return -SGA_E_BAD_FIELD;
	snprintf(out, KEY_MAX, "sga:{sess:%016" PRIx64 "}:held", sid);
	return 0;
}

/* ---- master key ------------------------------------------------------------- */

/* Read up to cap bytes of a secret file: a regular file no group or other may
 * touch (a key anyone else may read, or replace, is not a secret). 0 or
 * -errno / -EINVAL (not a regular file) / -EPERM (group or other bits). */
static int read_private_file(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
	struct stat sb;
	int fd, rc = 0;

	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb))
		rc = -errno;
	else if (!S_ISREG(sb.st_mode))
		rc = -EINVAL;
	else if (sb.st_mode & (S_IRWXG | S_IRWXO))
		rc = -EPERM;
	while (!rc && *len < cap) {
		ssize_t n = read(fd, buf + *len, cap - *len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = -errno;
		else if (n == 0)
			break;
		else
			*len += (size_t)n;
	}
	close(fd);
	return rc;
}

int store_load_master_key(const char *path, uint8_t key[32])
{
	uint8_t buf[80];
	size_t len;
	int rc;

	memset(key, 0, 32);
	rc = read_private_file(path, buf, sizeof(buf), &len);
	if (!rc && len == 32) {
		memcpy(key, buf, 32);
	} else if (!rc) {
		/* 64 hex digits, optionally followed by "\n" or "\r\n". */
		size_t hl = len;

		if (hl > 0 && buf[hl - 1] == '\n')
			hl--;
		if (hl > 0 && buf[hl - 1] == '\r')
			hl--;
		if (sga_hex_decode((const char *)buf, hl, key, 32)) {
			memset(key, 0, 32);
			rc = -EINVAL;
		}
	}
	sga_memzero(buf, sizeof(buf));
	return rc;
}

int store_load_password(const char *path, char out[STORE_PASSWORD_MAX + 1])
{
	uint8_t buf[STORE_PASSWORD_MAX + 3]; /* password, "\r\n", one byte to see "too long" */
	size_t len, n;
	int rc;

	memset(out, 0, STORE_PASSWORD_MAX + 1);
	rc = read_private_file(path, buf, sizeof(buf), &len);
	if (!rc) {
		const uint8_t *nl = memchr(buf, '\n', len);

		n = nl ? (size_t)(nl - buf) : len;
		if (n && buf[n - 1] == '\r')
			n--;
		if (!n || n > STORE_PASSWORD_MAX || memchr(buf, '\0', n))
			rc = -EINVAL;
		else
			memcpy(out, buf, n);
	}
	sga_memzero(buf, sizeof(buf));
	return rc;
}

/* ---- connection ------------------------------------------------------------- */

static redisContext *st_dial_node(void *arg, const char *host, int port, int again, char *why,
                                  size_t why_len);

/* The Sentinel part of store_open: the sentinels' addresses, the primary's
 * name and the sentinels' password (in the locked page, after the primary's
 * password). 0, or -1 with errno EINVAL / ENOMEM. */
static int st_sentinel_open(struct store *st, const struct store_config *cfg)
{
	size_t used = SGA_KEY_LEN + (st->password ? strlen(st->password) + 1 : 0);

	if (cfg->cluster && cfg->cluster[0]) {
		errno = EINVAL; /* one or the other */
		return -1;
	}
	if (!cfg->sentinel_master || !cfg->sentinel_master[0] ||
	    strlen(cfg->sentinel_master) > 64) {
		errno = EINVAL;
		return -1;
	}
	st->sentinel = calloc(STC_NODES_MAX, sizeof(*st->sentinel));
	st->sentinel_master = strdup(cfg->sentinel_master);
	if (!st->sentinel || !st->sentinel_master) {
		errno = ENOMEM;
		return -1;
	}
	if (stc_parse_addrs(cfg->sentinels, st->sentinel, STC_NODES_MAX, &st->n_sentinels)) {
		st->n_sentinels = 0;
		errno = EINVAL;
		return -1;
	}
	if (cfg->sentinel_password && cfg->sentinel_password[0]) {
		size_t pl = strnlen(cfg->sentinel_password, STORE_PASSWORD_MAX + 1);

		if (pl > STORE_PASSWORD_MAX || used + pl + 1 > st->mkey_map) {
			errno = EINVAL;
			return -1;
		}
		st->sentinel_password = (char *)st->mkey + used;
		memcpy(st->sentinel_password, cfg->sentinel_password, pl + 1);
	}
	return 0;
}

struct store *store_open(const struct store_config *cfg)
{
	struct store *st = calloc(1, sizeof(*st));
	long page = sysconf(_SC_PAGESIZE);
	void *m;

	if (!st)
		return NULL;
	st->mkey_map = page > 0 ? (size_t)page : 4096;
	m = mmap(NULL, st->mkey_map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		free(st);
		errno = ENOMEM;
		return NULL;
	}
	/* Best effort: an unprivileged process may lack RLIMIT_MEMLOCK. */
	(void)mlock(m, st->mkey_map);
	(void)madvise(m, st->mkey_map, MADV_DONTDUMP);
	st->mkey = m;
	memcpy(st->mkey, cfg->master_key, SGA_KEY_LEN);
	/* The password shares the key's locked page (it fits: the page is at
	 * least 4 KiB); the user name is not a secret. */
	if (cfg->password && cfg->password[0]) {
		size_t pl = strnlen(cfg->password, STORE_PASSWORD_MAX + 1);

		if (pl > STORE_PASSWORD_MAX || SGA_KEY_LEN + pl + 1 > st->mkey_map) {
			store_close(st);
			errno = EINVAL;
			return NULL;
		}
		st->password = (char *)st->mkey + SGA_KEY_LEN;
		memcpy(st->password, cfg->password, pl + 1);
	}
	if (cfg->user && cfg->user[0]) {
		st->user = strdup(cfg->user);
		if (!st->user)
			goto nomem;
	}
	st->node = cfg->node <= 15 ? cfg->node : 0;
	if (cfg->owner && cfg->owner[0]) {
		st->owner = strdup(cfg->owner);
		if (!st->owner)
			goto nomem;
	}
	if (cfg->sentinels && cfg->sentinels[0] && st_sentinel_open(st, cfg)) {
		int e = errno;

		store_close(st);
		errno = e;
		return NULL;
	}
	if (st->n_sentinels) {
		snprintf(st->endpoint, sizeof(st->endpoint), "sentinel primary %s",
		         st->sentinel_master);
	} else if (cfg->cluster && cfg->cluster[0]) {
		/* A cluster has database 0 only: no SELECT (the parser refuses
		 * db with cluster too). */
		if (cfg->db) {
			store_close(st);
			errno = EINVAL;
			return NULL;
		}
		st->cl = stc_new(cfg->cluster, st_dial_node, st);
		if (!st->cl) {
			int e = errno;

			store_close(st);
			errno = e;
			return NULL;
		}
		/* The seeds, not a node: each failure line names its node too. */
		snprintf(st->endpoint, sizeof(st->endpoint), "cluster %s", cfg->cluster);
	} else if (cfg->unix_socket && cfg->unix_socket[0]) {
		st->unix_socket = strdup(cfg->unix_socket);
		if (!st->unix_socket)
			goto nomem;
	} else {
		st->host = strdup(cfg->host && cfg->host[0] ? cfg->host : "127.0.0.1");
		if (!st->host)
			goto nomem;
		st->port = cfg->port ? cfg->port : 6379;
	}
	if (st->cl || st->n_sentinels)
		; /* named above */
	else if (st->unix_socket)
		snprintf(st->endpoint, sizeof(st->endpoint), "%s", st->unix_socket);
	else
		snprintf(st->endpoint, sizeof(st->endpoint), "%s:%d", st->host, st->port);
	st->db = cfg->db;
	st->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : TIMEOUT_DEFAULT_MS;
	st->backoff_max_ms = cfg->backoff_max_ms ? cfg->backoff_max_ms : BACKOFF_MAX_DEFAULT_MS;
	if (st->backoff_max_ms < BACKOFF_MIN_MS)
		st->backoff_max_ms = BACKOFF_MIN_MS;
	st->session_ttl_s = cfg->session_ttl_s ? cfg->session_ttl_s : SESSION_TTL_DEFAULT_S;
	st->first_group = cfg->first_group;
	st->backoff_ms = BACKOFF_MIN_MS;
	return st;
nomem:
	store_close(st);
	errno = ENOMEM;
	return NULL;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	if (st->c)
		redisFree(st->c);
	stc_free(st->cl);
	if (st->mkey) {
		sga_memzero(st->mkey, st->mkey_map);
		munlock(st->mkey, st->mkey_map);
		munmap(st->mkey, st->mkey_map);
	}
	free(st->unix_socket);
	free(st->host);
	free(st->user);
	free(st->sentinel);
	free(st->sentinel_master);
	free(st->owner);
	free(st);
}

int store_connected(const struct store *st)
{
	return st->connected;
}

int store_auth_refused(const struct store *st)
{
	return st->auth_refused;
}

/* Redis refused our credentials: one error line per outage naming the cause
 * and what to check (never the password), then the usual backoff. */
static void st_auth_fail(struct store *st, const char *reply)
{
	if (!st->auth_logged)
		cp_log(CP_LOG_ERR,
		       "redis at %s refused authentication%s%s: %s; check [redis] user and "
		       "password_file",
		       st->endpoint, st->user ? " as user " : "", st->user ? st->user : "", reply);
	st->auth_logged = 1;
	st->auth_refused = 1;
	st->down_logged = 1; /* the line above says why; no "unavailable" line too */
}

uint64_t store_reconnects(const struct store *st)
{
	return atomic_load_explicit(&((struct store *)st)->reconnects, memory_order_relaxed);
}

uint64_t store_moved(const struct store *st)
{
	return st->cl ? stc_moved(st->cl) : 0;
}

uint64_t store_asked(const struct store *st)
{
	return st->cl ? stc_asked(st->cl) : 0;
}

uint64_t store_connect_attempts(const struct store *st)
{
	return atomic_load_explicit(&((struct store *)st)->connect_attempts, memory_order_relaxed);
}

/* Forget the connection and schedule the next attempt one backoff from now. */
static void st_drop(struct store *st, const char *why)
{
	if (st->c) {
		redisFree(st->c);
		st->c = NULL;
	}
	if (!st->down_logged) {
		cp_log(CP_LOG_WARNING, "redis at %s unavailable: %s", st->endpoint, why);
		st->down_logged = 1;
	}
	st->connected = 0;
	st->retry_at_ns = now_ns() + (uint64_t)st->backoff_ms * 1000000ull;
	st->backoff_ms =
	    st->backoff_ms >= st->backoff_max_ms / 2 ? st->backoff_max_ms : st->backoff_ms * 2;
}

/*
 * A connection to the server (unix_socket, or host:port) with the socket
 * timeout set, authenticated when a password is configured, on database db:
 * or NULL, with the reason in why (after one error line when Redis refused
 * the credentials). The one server and every cluster node connect through it.
 */
static redisContext *st_dial(struct store *st, const char *unix_socket, const char *host, int port,
                             char *why, size_t why_len)
{
	struct timeval tv = ms_tv(st->timeout_ms);
	redisContext *c;
	redisReply *r;

	c = unix_socket ? redisConnectUnixWithTimeout(unix_socket, tv)
	                : redisConnectWithTimeout(host, port, tv);
	if (!c || c->err) {
		snprintf(why, why_len, "%s", c ? c->errstr : "out of memory");
		if (c)
			redisFree(c);
		return NULL;
	}
	if (redisSetTimeout(c, tv) != REDIS_OK) {
		redisFree(c);
		snprintf(why, why_len, "cannot set the socket timeout");
		return NULL;
	}
	if (st->password) {
		r = st->user ? redisCommand(c, "AUTH %s %s", st->user, st->password)
		             : redisCommand(c, "AUTH %s", st->password);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			char reply[128];

			snprintf(reply, sizeof(reply), "%s",
			         r ? r->str : (c->errstr[0] ? c->errstr : "no reply"));
			if (r) {
				freeReplyObject(r);
				st_auth_fail(st, reply);
			}
			snprintf(why, why_len, "%s", r ? "AUTH refused" : reply);
			redisFree(c);
			return NULL;
		}
		freeReplyObject(r);
	}
	if (st->db) {
		r = redisCommand(c, "SELECT %d", st->db);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			if (r)
				freeReplyObject(r);
			snprintf(why, why_len, "SELECT failed");
			redisFree(c);
			return NULL;
		}
		freeReplyObject(r);
	}
	return c;
}

/* A connection succeeded after a failure: say so once, clear the flags. */
static void st_up(struct store *st)
{
	if (st->down_logged)
		cp_log(CP_LOG_INFO, "redis at %s: connection restored", st->endpoint);
	st->ever_connected = 1;
	st->down_logged = 0;
	st->auth_refused = 0;
	st->auth_logged = 0;
}

/* The cluster client's dial (store_cluster.h): no SELECT (db is 0). */
static redisContext *st_dial_node(void *arg, const char *host, int port, int again, char *why,
                                  size_t why_len)
{
	struct store *st = arg;
	redisContext *c;

	atomic_fetch_add_explicit(&st->connect_attempts, 1, memory_order_relaxed);
	c = st_dial(st, NULL, host, port, why, why_len);
	if (c && again)
		atomic_fetch_add_explicit(&st->reconnects, 1, memory_order_relaxed);
	return c;
}

/* Sentinel: the first sentinel that knows the primary gives its address, and
 * moves to the front of the list (the Sentinel client guidelines: the next
 * connection asks it first). 0, or -SGA_E_UNAVAILABLE with why. */
static int st_ask_sentinels(struct store *st, struct stc_addr *primary, char *why, size_t why_len)
{
	struct timeval tv = ms_tv(st->timeout_ms);

	snprintf(why, why_len, "no sentinel answered");
	for (unsigned i = 0; i < st->n_sentinels; i++) {
		struct stc_addr a = st->sentinel[i];
		redisContext *c = redisConnectWithTimeout(a.host, a.port, tv);
		redisReply *r = NULL;
		int ok = 0;

		if (!c || c->err || redisSetTimeout(c, tv) != REDIS_OK) {
			snprintf(why, why_len, "sentinel %s:%d: %s", a.host, a.port,
			         c ? c->errstr : "out of memory");
			goto next;
		}
		if (st->sentinel_password) {
			r = redisCommand(c, "AUTH %s", st->sentinel_password);
			if (!r || r->type == REDIS_REPLY_ERROR) {
				snprintf(why, why_len, "sentinel %s:%d: AUTH refused", a.host,
				         a.port);
				goto next;
			}
			freeReplyObject(r);
		}
		r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", st->sentinel_master);
		if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		    r->element[0]->type == REDIS_REPLY_STRING &&
		    r->element[1]->type == REDIS_REPLY_STRING && r->element[0]->len > 0 &&
		    r->element[0]->len < STC_HOST_MAX) {
			char *end;
			long port = strtol(r->element[1]->str, &end, 10);

			if (!*end && port > 0 && port < 65536) {
				memcpy(primary->host, r->element[0]->str, r->element[0]->len + 1);
				primary->port = (int)port;
				ok = 1;
			}
		}
		if (!ok)
			snprintf(why, why_len, "sentinel %s:%d: %s", a.host, a.port,
			         !r ? (c->errstr[0] ? c->errstr : "no reply")
			         : r->type == REDIS_REPLY_NIL   ? "does not know the primary"
			         : r->type == REDIS_REPLY_ERROR ? r->str
			                                        : "unexpected reply");
	next:
		if (r)
			freeReplyObject(r);
		if (c)
			redisFree(c);
		if (ok) {
			memmove(&st->sentinel[1], &st->sentinel[0], i * sizeof(st->sentinel[0]));
			st->sentinel[0] = a;
			return 0;
		}
	}
	return -SGA_E_UNAVAILABLE;
}

/* Sentinel: a connection to the primary the sentinels name, which ROLE says
 * is a primary (a sentinel that has not seen a failover yet may name the
 * old one, now a replica; a user without the @admin category gets NOPERM
 * for ROLE: then the first write's READONLY says it instead). A primary at
 * another address than last time is logged and counted. */
static redisContext *st_dial_primary(struct store *st, char *why, size_t why_len)
{
	struct stc_addr p;
	char name[STC_NODE_NAME];
	redisContext *c;
	redisReply *r;
	int primary;

	if (st_ask_sentinels(st, &p, why, why_len))
		return NULL;
	snprintf(name, sizeof(name), strchr(p.host, ':') ? "[%s]:%d" : "%s:%d", p.host, p.port);
	c = st_dial(st, NULL, p.host, p.port, why, why_len);
	if (!c)
		return NULL;
	r = redisCommand(c, "ROLE");
	primary = r && ((r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOPERM", 6)) ||
	                (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
	                 r->element[0]->type == REDIS_REPLY_STRING &&
	                 !strcmp(r->element[0]->str, "master")));
	if (!primary) {
		snprintf(why, why_len, "%s, named by the sentinels as primary %s, is not a primary",
		         name, st->sentinel_master);
		if (r)
			freeReplyObject(r);
		redisFree(c);
		return NULL;
	}
	freeReplyObject(r);
	if (strcmp(st->primary, name)) {
		if (st->primary[0]) {
			atomic_fetch_add_explicit(&st->primary_changes, 1, memory_order_relaxed);
			cp_log(CP_LOG_WARNING, "redis sentinel: primary %s moved from %s to %s",
			       st->sentinel_master, st->primary, name);
		} else {
			cp_log(CP_LOG_INFO, "redis sentinel: primary %s at %s", st->sentinel_master,
			       name);
		}
		snprintf(st->primary, sizeof(st->primary), "%s", name);
	}
	return c;
}

uint64_t store_scripts_loaded(const struct store *st)
{
	return atomic_load_explicit(&((struct store *)st)->scripts_loaded, memory_order_relaxed);
}

uint64_t store_primary_changes(const struct store *st)
{
	return atomic_load_explicit(&((struct store *)st)->primary_changes, memory_order_relaxed);
}

const char *store_endpoint(const struct store *st)
{
	return st->n_sentinels ? st->primary : st->endpoint;
}

static int st_connect(struct store *st)
{
	char why[384]; /* a sentinel's or the primary's address and error */
	redisContext *c;

	if (st->c)
		return 0;
	if (now_ns() < st->retry_at_ns)
		return -SGA_E_UNAVAILABLE;
	atomic_fetch_add_explicit(&st->connect_attempts, 1, memory_order_relaxed);
	c = st->n_sentinels ? st_dial_primary(st, why, sizeof(why))
	                    : st_dial(st, st->unix_socket, st->host, st->port, why, sizeof(why));
	if (!c) {
		st_drop(st, why);
		return -SGA_E_UNAVAILABLE;
	}
	st->c = c;
	if (st->ever_connected)
		atomic_fetch_add_explicit(&st->reconnects, 1, memory_order_relaxed);
	st_up(st);
	return 0;
}

/* Commands are struct st_cmd (store_cluster.h): argument vectors. */
static void cmd_init(struct st_cmd *c)
{
	c->argc = 0;
	c->script = NULL;
}

static void cmd_arg(struct st_cmd *c, const void *p, size_t n)
{
	if (c->argc < MAX_ARGS) {
		c->argv[c->argc] = p;
		c->len[c->argc] = n;
	}
	c->argc++; /* past MAX_ARGS: st_run refuses the command */
}

static void cmd_str(struct st_cmd *c, const char *s)
{
	cmd_arg(c, s, strlen(s));
}

/* Errors Redis returns while it cannot serve (loading, out of memory, a replica
 * without its primary): the gateway reports these as "unavailable". */
static int reply_error_code(const redisReply *r)
{
	static const char *const transient[] = {"LOADING", "BUSY",     "MASTERDOWN",  "READONLY",
	                                        "OOM",     "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS"};

	for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++) {
		size_t n = strlen(transient[i]);

		if (r->len >= n && !memcmp(r->str, transient[i], n))
			return -SGA_E_UNAVAILABLE;
	}
	return -SGA_E_INTERNAL;
}

/* SIGPIPE blocked around the I/O, so that a write to a connection Redis
 * closed returns EPIPE to hiredis instead of killing the process. */
struct pipe_guard {
	sigset_t set, old;
	int was_pending;
};

static void pipe_block(struct pipe_guard *g)
{
	sigset_t pending;

	sigemptyset(&g->set);
	sigaddset(&g->set, SIGPIPE);
	sigemptyset(&pending);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &g->set, &g->old);
}

/* failed: consume a SIGPIPE this thread raised (not one pending before). */
static void pipe_unblock(struct pipe_guard *g, int failed)
{
	if (failed && !g->was_pending) {
		struct timespec zero = {0, 0};

		while (sigtimedwait(&g->set, NULL, &zero) > 0)
			;
	}
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* Every reply read: Redis is up. The first error reply gives the result
 * (NOAUTH: credentials refused, the connection dropped). */
static int st_replies(struct store *st, redisReply **rep, unsigned n)
{
	st->connected = 1;
	st->backoff_ms = BACKOFF_MIN_MS;
	for (unsigned i = 0; i < n; i++)
		if (rep[i]->type == REDIS_REPLY_ERROR) {
			if (rep[i]->len >= 6 && !memcmp(rep[i]->str, "NOAUTH", 6)) {
				char why[128];

				snprintf(why, sizeof(why), "%s", rep[i]->str);
				st_auth_fail(st, why);
				st_drop(st, why);
				return -SGA_E_UNAVAILABLE;
			}
			/* Sentinel: the primary became a replica (a failover the
			 * connection outlived): ask the sentinels again. */
			if (st->n_sentinels && rep[i]->len >= 8 &&
			    !memcmp(rep[i]->str, "READONLY", 8)) {
				st_drop(st, "the primary became a replica (READONLY)");
				return -SGA_E_UNAVAILABLE;
			}
			return reply_error_code(rep[i]);
		}
	return 0;
}

/* The cluster client failed (store_cluster.h): Redis down, or it refused
 * the credentials (NOAUTH, said as one server's would be); backoff either way. */
static void st_cluster_fail(struct store *st, int rc, const char *why)
{
	if (rc == -SGA_E_AUTH)
		st_auth_fail(st, why);
	st_drop(st, why);
}

/*
 * A cluster's pipeline (store_cluster.h), on node when not NULL: the same
 * backoff as one server. Any failure the client reports (CLUSTERDOWN, a node
 * unreachable, an I/O error, too many redirections) counts as Redis down:
 * the whole store backs off, whichever node failed. 0: every reply read.
 */
static int st_io_cluster(struct store *st, const char *node, struct st_cmd *cmds, unsigned n,
                         redisReply **rep)
{
	struct pipe_guard g;
	char why[STORE_NODE_NAME_MAX + 128];
	int rc;

	if (now_ns() < st->retry_at_ns)
		return -SGA_E_UNAVAILABLE;
	pipe_block(&g);
	rc = stc_run(st->cl, node, cmds, n, rep, why, sizeof(why));
	if (rc)
		st_cluster_fail(st, rc, why);
	pipe_unblock(&g, rc != 0);
	if (rc)
		return -SGA_E_UNAVAILABLE;
	st_up(st);
	return 0;
}

/* One server: n commands in one pipeline, n replies read. SIGPIPE is blocked
 * around the I/O (pipe_block). Any I/O error: connection dropped,
 * -SGA_E_UNAVAILABLE. */
static int st_io(struct store *st, const char *node, struct st_cmd *cmds, unsigned n,
                 redisReply **rep)
{
	struct pipe_guard g;
	int rc;

	if (st->cl)
		return st_io_cluster(st, node, cmds, n, rep);
	rc = st_connect(st);
	if (rc)
		return rc;
	pipe_block(&g);
	for (unsigned i = 0; i < n && !rc; i++)
		if (redisAppendCommandArgv(st->c, cmds[i].argc, cmds[i].argv, cmds[i].len) !=
		    REDIS_OK)
			rc = -SGA_E_UNAVAILABLE;
	for (unsigned i = 0; i < n && !rc; i++)
		if (redisGetReply(st->c, (void **)&rep[i]) != REDIS_OK || !rep[i])
			rc = -SGA_E_UNAVAILABLE;
	if (rc) {
		char why[128];

		snprintf(why, sizeof(why), "%s", st->c->errstr[0] ? st->c->errstr : "I/O error");
		st_drop(st, why);
	}
	pipe_unblock(&g, rc != 0);
	return rc;
}

/* An EVALSHA the server did not know: NOSCRIPT. */
static int noscript(const struct st_cmd *c, const redisReply *r)
{
	return c->script && r->type == REDIS_REPLY_ERROR && r->len >= 8 &&
	       !memcmp(r->str, "NOSCRIPT", 8);
}

/* The EVALSHAs the server did not know (NOSCRIPT: its script cache is empty
 * after a restart or failover, or it never ran them) sent again as EVAL, in
 * one more round trip; their replies replace the NOSCRIPT ones. */
static int st_noscript_retry(struct store *st, const char *node, struct st_cmd *cmds, unsigned n,
                             redisReply **rep)
{
	struct st_cmd *sub = NULL;
	redisReply **subrep = NULL;
	unsigned *idx = NULL, k = 0;
	int rc = 0;

	for (unsigned i = 0; i < n; i++)
		k += noscript(&cmds[i], rep[i]);
	if (!k)
		return 0;
	sub = calloc(k, sizeof(*sub));
	subrep = calloc(k, sizeof(*subrep));
	idx = calloc(k, sizeof(*idx));
	if (!sub || !subrep || !idx) {
		rc = -SGA_E_INTERNAL;
		goto out;
	}
	k = 0;
	for (unsigned i = 0; i < n; i++)
		if (noscript(&cmds[i], rep[i])) {
			sub[k] = cmds[i];
			sub[k].argv[0] = "EVAL";
			sub[k].len[0] = 4;
			sub[k].argv[1] = cmds[i].script;
			sub[k].len[1] = strlen(cmds[i].script);
			sub[k].script = NULL;
			idx[k++] = i;
		}
	atomic_fetch_add_explicit(&st->scripts_loaded, k, memory_order_relaxed);
	rc = st_io(st, node, sub, k, subrep);
	if (rc)
		goto out;
	for (unsigned j = 0; j < k; j++) {
		freeReplyObject(rep[idx[j]]);
		rep[idx[j]] = subrep[j];
		subrep[j] = NULL;
	}
out:
	for (unsigned j = 0; subrep && j < k; j++)
		if (subrep[j])
			freeReplyObject(subrep[j]);
	free(sub);
	free(subrep);
	free(idx);
	return rc;
}

/*
 * Send n commands in one pipeline and read the n replies into rep[] (freed by
 * the caller with rep_free, also on failure). Any I/O error: connection
 * dropped, -SGA_E_UNAVAILABLE. An error reply: its code. On a cluster, node
 * names the master to run them on (NULL: each command on its key's); one
 * server: node is NULL.
 */
static int st_run_on(struct store *st, const char *node, struct st_cmd *cmds, unsigned n,
                     redisReply **rep)
{
	int rc;

	for (unsigned i = 0; i < n; i++) {
		rep[i] = NULL;
		if (cmds[i].argc > MAX_ARGS)
			return -SGA_E_INTERNAL;
	}
	rc = st_io(st, node, cmds, n, rep);
	if (!rc)
		rc = st_noscript_retry(st, node, cmds, n, rep);
	return rc ? rc : st_replies(st, rep, n);
}

static int st_run(struct store *st, struct st_cmd *cmds, unsigned n, redisReply **rep)
{
	return st_run_on(st, NULL, cmds, n, rep);
}

/* Replies hold sealed records at most, never plaintext: no wipe needed. */
static void rep_free(redisReply **rep, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (rep[i])
			freeReplyObject(rep[i]);
		rep[i] = NULL;
	}
}

static int run1(struct store *st, struct st_cmd *cmd, redisReply **rep)
{
	return st_run(st, cmd, 1, rep);
}

static int del1(struct store *st, const char *key)
{
	redisReply *rep[1] = {NULL};
	struct st_cmd c;
	int rc;

	cmd_init(&c);
	cmd_str(&c, "DEL");
	cmd_str(&c, key);
	rc = run1(st, &c, rep);
	rep_free(rep, 1);
	return rc;
}

/*
 * Scripts go as EVALSHA of their SHA-1 (40 hex digits instead of the body on
 * every call: Redis neither reads nor hashes the body again). A server that
 * does not know the script yet (its first call, or after a restart or a
 * failover emptied its script cache) answers NOSCRIPT; st_run_on then sends
 * that command again as EVAL, which loads it.
 */
static const char *const LUA_ALL[] = {LUA_RAISE,   LUA_CLAIM,    LUA_CREATE,
                                      LUA_SET_IF,  LUA_SESS_PUT, LUA_OWN,
                                      LUA_RESERVE, LUA_MARKS,    LUA_ESTABLISH};
#define N_LUA (sizeof(LUA_ALL) / sizeof(LUA_ALL[0]))
static char lua_sha[N_LUA][41];
static pthread_once_t lua_sha_once = PTHREAD_ONCE_INIT;

static void lua_sha_init(void)
{
	for (size_t i = 0; i < N_LUA; i++) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned md_len = 0;

		if (!EVP_Digest(LUA_ALL[i], strlen(LUA_ALL[i]), md, &md_len, EVP_sha1(), NULL) ||
		    md_len != 20) {
			lua_sha[i][0] = '\0'; /* EVAL for this one */
			continue;
		}
		for (unsigned k = 0; k < 20; k++)
			snprintf(&lua_sha[i][2 * k], 3, "%02x", md[k]);
	}
}

/* The EVALSHA (or, if its digest is unknown, EVAL) of script on key. */
static void cmd_eval(struct st_cmd *c, const char *script, const char *key)
{
	const char *sha = NULL;

	pthread_once(&lua_sha_once, lua_sha_init);
	for (size_t i = 0; i < N_LUA && !sha; i++)
		if (LUA_ALL[i] == script && lua_sha[i][0])
			sha = lua_sha[i];
	cmd_init(c);
	if (sha) {
		cmd_str(c, "EVALSHA");
		cmd_str(c, sha);
		c->script = script;
	} else {
		cmd_str(c, "EVAL");
		cmd_str(c, script);
	}
	cmd_str(c, "1");
	cmd_str(c, key);
}

static int reply_int(const redisReply *r, long long *v)
{
	if (r->type != REDIS_REPLY_INTEGER)
		return -SGA_E_INTERNAL;
	*v = r->integer;
	return 0;
}

/* One command whose reply is an integer (a script's status, EXISTS...): *v. */
static int run1_int(struct store *st, struct st_cmd *cmd, long long *v)
{
	redisReply *rep[1] = {NULL};
	int rc = run1(st, cmd, rep);

	if (!rc)
		rc = reply_int(rep[0], v);
	rep_free(rep, 1);
	return rc;
}

/* ---- sealing ---------------------------------------------------------------- */

/* k_rec = HKDF(master, info = REC_KDF_INFO | key): one subkey per Redis key. */
static int rec_key(const struct store *st, const char *key, uint8_t k[SGA_KEY_LEN])
{
	uint8_t info[sizeof(REC_KDF_INFO) + KEY_MAX];
	size_t kl = strlen(key), il = sizeof(REC_KDF_INFO) - 1;

	memcpy(info, REC_KDF_INFO, il);
	memcpy(info + il, key, kl);
	if (sga_hkdf_sha256(st->mkey, SGA_KEY_LEN, NULL, 0, info, il + kl, k, SGA_KEY_LEN))
		return -SGA_E_CRYPTO;
	return 0;
}

static size_t rec_aad(const char *key, uint8_t aad[1 + KEY_MAX])
{
	size_t kl = strlen(key);

	aad[0] = REC_VERSION;
	memcpy(aad + 1, key, kl);
	return 1 + kl;
}

static int rec_seal(const struct store *st, const char *key, const uint8_t *pt, size_t pt_len,
                    uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t k[SGA_KEY_LEN], aad[1 + KEY_MAX];
	size_t aad_len = rec_aad(key, aad);
	int rc;

	if (cap < REC_HDR + pt_len + REC_TAG)
		return -SGA_E_NOSPACE;
	CHECK(rec_key(st, key, k));
	out[0] = REC_VERSION;
	if (sga_random_bytes(out + 1, SGA_AEAD_NONCE_LEN)) {
		rc = -SGA_E_CRYPTO;
		goto out;
	}
	if (sga_aead_seal(REC_SUITE, k, out + 1, aad, aad_len, pt, pt_len, out + REC_HDR,
	                  cap - REC_HDR)) {
		rc = -SGA_E_CRYPTO;
		goto out;
	}
	*out_len = REC_HDR + pt_len + REC_TAG;
out:
	sga_memzero(k, sizeof(k));
	return rc;
}

static int rec_open(const struct store *st, const char *key, const uint8_t *in, size_t in_len,
                    uint8_t *pt, size_t cap, size_t *pt_len)
{
	uint8_t k[SGA_KEY_LEN], aad[1 + KEY_MAX];
	size_t aad_len = rec_aad(key, aad);
	int rc;

	if (in_len < 1)
		return -SGA_E_TRUNCATED;
	if (in[0] != REC_VERSION)
		return -SGA_E_BAD_VERSION;
	if (in_len < REC_HDR + REC_TAG)
		return -SGA_E_TRUNCATED;
	if (in_len - REC_HDR - REC_TAG > cap)
		return -SGA_E_OVERSIZED;
	CHECK(rec_key(st, key, k));
	if (sga_aead_open(REC_SUITE, k, in + 1, aad, aad_len, in + REC_HDR, in_len - REC_HDR, pt,
	                  cap)) {
		rc = -SGA_E_AUTH; /* wrong master key, moved or tampered record */
		goto out;
	}
	*pt_len = in_len - REC_HDR - REC_TAG;
out:
	sga_memzero(k, sizeof(k));
	return rc;
}

/* ---- record serialization ------------------------------------------------------
 *
 * Device (kind 'D'): kind(1) | id_len(1) | id | k_d(32) | suite_init(1) |
 *   n_suites(1) | suites(n) [| flags(1) [| group(1)]]. Counters live in their
 *   own hash fields. Flags (DEV_F_REVOKED) are written when set or when a group
 *   follows; the group (enum sga_group_id) when the record names one: a record
 *   of an earlier build has neither and reads as group 0, the first profile.
 * Session (kind 'S'): kind(1) | session_id(8) | state(1) | suite(1) | group(1) |
 *   have_init(1) | req_ctr(8) | per role: id_len(1) id hop_suite(1) k_t(32) |
 *   per role: n_len(2) N k_len(2) K (present only while the role's KEX_INIT is
 *   in and the session is not yet established) | per role: reply_len(2) reply |
 *   per role: init_hash(32) (the KEX_INIT a retransmission must repeat; absent
 *   from records written before it existed, read as zeros, which no frame
 *   hashes to).
 * Hop keys, TX sequences and replay windows are not part of the record. */

static int dev_encode(const struct sga_gw_device *d, uint8_t *out, size_t cap, size_t *len)
{
	struct sga_wr w;

	if (!sga_id_valid(d->id, d->id_len) || d->n_suites == 0 || d->n_suites > SGA_MAX_SUITES)
		return -SGA_E_BAD_FIELD;
	sga_wr_init(&w, out, cap);
	sga_wr_u8(&w, REC_KIND_DEV);
	sga_wr_u8(&w, d->id_len);
	sga_wr_bytes(&w, d->id, d->id_len);
	sga_wr_bytes(&w, d->k_d, SGA_KEY_LEN);
	sga_wr_u8(&w, d->suite_init);
	sga_wr_u8(&w, d->n_suites);
	sga_wr_bytes(&w, d->suites, d->n_suites);
	/* Flags only when set or a group follows: a record of an earlier build
	 * has neither. */
	if (d->revoked || d->group)
		sga_wr_u8(&w, d->revoked ? DEV_F_REVOKED : 0);
	if (d->group)
		sga_wr_u8(&w, d->group);
	if (w.err)
		return w.err;
	*len = w.off;
	return 0;
}

/* A decoded record names a value this build does not know: one log line naming
 * the record and the value, and -SGA_E_BAD_FIELD. */
static int rec_refuse(const char *kind, const uint8_t *id, size_t id_len, const char *what,
                      unsigned v)
{
	cp_log(CP_LOG_ERR, "stored %s record %.*s refused: unknown %s %u", kind, (int)id_len,
	       (const char *)id, what, v);
	return -SGA_E_BAD_FIELD;
}

static int dev_decode(const uint8_t *p, size_t len, struct sga_gw_device *d)
{
	struct sga_rd r;
	const uint8_t *q;

	memset(d, 0, sizeof(*d));
	sga_rd_init(&r, p, len);
	if (sga_rd_u8(&r) != REC_KIND_DEV)
		return -SGA_E_BAD_TYPE;
	d->id_len = sga_rd_u8(&r);
	if (d->id_len == 0 || d->id_len > SGA_ID_MAX)
		return -SGA_E_BAD_LENGTH;
	q = sga_rd_bytes(&r, d->id_len);
	if (q)
		memcpy(d->id, q, d->id_len);
	q = sga_rd_bytes(&r, SGA_KEY_LEN);
	if (q)
		memcpy(d->k_d, q, SGA_KEY_LEN);
	d->suite_init = sga_rd_u8(&r);
	d->n_suites = sga_rd_u8(&r);
	if (d->n_suites == 0 || d->n_suites > SGA_MAX_SUITES)
		return -SGA_E_BAD_LENGTH;
	q = sga_rd_bytes(&r, d->n_suites);
	if (q)
		memcpy(d->suites, q, d->n_suites);
	if (r.err)
		return r.err;
	if (sga_rd_left(&r) == 1 || sga_rd_left(&r) == 2) {
		uint8_t flags = sga_rd_u8(&r);

		if (flags & ~DEV_F_REVOKED)
			return -SGA_E_BAD_FIELD;
		d->revoked = (flags & DEV_F_REVOKED) != 0;
		if (sga_rd_left(&r) == 0 && !d->revoked)
			return -SGA_E_BAD_FIELD; /* flags alone are written only when set */
		if (sga_rd_left(&r) == 1 && (d->group = sga_rd_u8(&r)) == 0)
			return -SGA_E_BAD_FIELD; /* written only when it names one */
	}
	if (sga_rd_left(&r))
		return -SGA_E_TRAILING;
	if (!sga_id_valid(d->id, d->id_len))
		return -SGA_E_BAD_FIELD;
	/* Sealed records cannot be forged without the master key, but a record
	 * from another build (or a bug) must not put an unknown suite id into a
	 * key schedule: refuse it here, where it enters, and say which. */
	for (unsigned i = 0; i < d->n_suites; i++)
		if (!sga_suite_get(d->suites[i]))
			return rec_refuse("device", d->id, d->id_len, "cipher suite", d->suites[i]);
	if (sga_suite_list_check(d->suites, d->n_suites))
		return rec_refuse("device", d->id, d->id_len, "suite list (repeated suite)", 0);
	if (!sga_suite_get(d->suite_init) || !memchr(d->suites, d->suite_init, d->n_suites))
		return rec_refuse("device", d->id, d->id_len, "initial suite", d->suite_init);
	if (d->group && !sga_group_get(d->group))
		return rec_refuse("device", d->id, d->id_len, "group", d->group);
	return 0;
}

/* N and K of role are worth keeping only between its KEX_INIT and the end:
 * N is an element (grp->len bytes), K a shared secret (grp->secret_len; the
 * same for ffdhe and x25519, 33 and 32 for p256). */
static size_t sess_nk_len(const struct sga_gw_session *s, unsigned role, int secret)
{
	const struct sga_group_info *g = sga_group_get(s->group);

	if (!g || s->state == SGA_GW_S_ESTABLISHED || !(s->have_init & (1u << role)))
		return 0;
	return secret ? g->secret_len : g->len;
}

static int sess_encode(const struct sga_gw_session *s, uint8_t *out, size_t cap, size_t *len)
{
	struct sga_wr w;

	sga_wr_init(&w, out, cap);
	sga_wr_u8(&w, REC_KIND_SESS);
	sga_wr_u64(&w, s->session_id);
	sga_wr_u8(&w, s->state);
	sga_wr_u8(&w, s->suite);
	sga_wr_u8(&w, s->group);
	sga_wr_u8(&w, s->have_init);
	sga_wr_u64(&w, s->req_ctr);
	for (unsigned r = 0; r < 2; r++) {
		if (s->id_len[r] > SGA_ID_MAX)
			return -SGA_E_BAD_FIELD;
		sga_wr_u8(&w, s->id_len[r]);
		sga_wr_bytes(&w, s->id[r], s->id_len[r]);
		sga_wr_u8(&w, s->hop_suite[r]);
		sga_wr_bytes(&w, s->k_t[r], SGA_KEY_LEN);
	}
	for (unsigned r = 0; r < 2; r++) {
		size_t n = sess_nk_len(s, r, 0), k = sess_nk_len(s, r, 1);

		sga_wr_u16(&w, (uint16_t)n);
		sga_wr_bytes(&w, s->N[r], n);
		sga_wr_u16(&w, (uint16_t)k);
		sga_wr_bytes(&w, s->K[r], k);
	}
	for (unsigned r = 0; r < 2; r++) {
		if (s->reply_len[r] > SGA_FRAME_MAX)
			return -SGA_E_BAD_FIELD;
		sga_wr_u16(&w, s->reply_len[r]);
		sga_wr_bytes(&w, s->reply[r], s->reply_len[r]);
	}
	for (unsigned r = 0; r < 2; r++)
		sga_wr_bytes(&w, s->init_hash[r], sizeof(s->init_hash[r]));
	store_rekey_encode(s, &w); /* key generation, rekey in progress */
	if (w.err)
		return w.err;
	*len = w.off;
	return 0;
}

/* Read a u16-length-prefixed field of at most max bytes into dst. */
static void rd_field(struct sga_rd *r, uint8_t *dst, size_t max, size_t *n)
{
	uint16_t l = sga_rd_u16(r);
	const uint8_t *q;

	*n = 0;
	if (l > max) {
		r->err = -SGA_E_BAD_LENGTH;
		return;
	}
	q = sga_rd_bytes(r, l);
	if (q) {
		memcpy(dst, q, l);
		*n = l;
	}
}

static int sess_decode(const uint8_t *p, size_t len, struct sga_gw_session *s)
{
	struct sga_rd r;
	const uint8_t *q;
	size_t n;

	memset(s, 0, sizeof(*s));
	sga_rd_init(&r, p, len);
	if (sga_rd_u8(&r) != REC_KIND_SESS)
		return -SGA_E_BAD_TYPE;
	s->session_id = sga_rd_u64(&r);
	s->state = sga_rd_u8(&r);
	s->suite = sga_rd_u8(&r);
	s->group = sga_rd_u8(&r);
	s->have_init = sga_rd_u8(&r);
	s->req_ctr = sga_rd_u64(&r);
	for (unsigned k = 0; k < 2 && !r.err; k++) {
		s->id_len[k] = sga_rd_u8(&r);
		if (s->id_len[k] > SGA_ID_MAX)
			return -SGA_E_BAD_LENGTH;
		q = sga_rd_bytes(&r, s->id_len[k]);
		if (q)
			memcpy(s->id[k], q, s->id_len[k]);
		s->hop_suite[k] = sga_rd_u8(&r);
		q = sga_rd_bytes(&r, SGA_KEY_LEN);
		if (q)
			memcpy(s->k_t[k], q, SGA_KEY_LEN);
	}
	for (unsigned k = 0; k < 2 && !r.err; k++) {
		rd_field(&r, s->N[k], sizeof(s->N[k]), &n);
		rd_field(&r, s->K[k], sizeof(s->K[k]), &n);
	}
	for (unsigned k = 0; k < 2 && !r.err; k++) {
		rd_field(&r, s->reply[k], sizeof(s->reply[k]), &n);
		s->reply_len[k] = (uint16_t)n;
	}
	for (unsigned k = 0; k < 2 && !r.err && sga_rd_left(&r); k++) {
		q = sga_rd_bytes(&r, sizeof(s->init_hash[k]));
		if (q)
			memcpy(s->init_hash[k], q, sizeof(s->init_hash[k]));
	}
	if (!r.err && store_rekey_decode(&r, s))
		return -SGA_E_BAD_FIELD;
	if (r.err)
		return r.err;
	if (sga_rd_left(&r))
		return -SGA_E_TRAILING;
	if (s->state < SGA_GW_S_INVITED || s->state > SGA_GW_S_ESTABLISHED ||
	    !sga_id_valid(s->id[0], s->id_len[0]) || !sga_id_valid(s->id[1], s->id_len[1]))
		return -SGA_E_BAD_FIELD;
	/* The group sizes N and K and the suites pick the hop and E2E key
	 * schedules: unknown ids must not get that far (see dev_decode). */
	{
		char sid[17];

		sid_hex(s->session_id, sid);
		if (!sga_group_get(s->group))
			return rec_refuse("session", (const uint8_t *)sid, 16, "group", s->group);
		if (!sga_suite_get(s->suite))
			return rec_refuse("session", (const uint8_t *)sid, 16, "cipher suite",
			                  s->suite);
		for (unsigned k = 0; k < 2; k++)
			if (!sga_suite_get(s->hop_suite[k]))
				return rec_refuse("session", (const uint8_t *)sid, 16, "hop suite",
				                  s->hop_suite[k]);
	}
	return 0;
}

/*
 * Give a loaded ESTABLISHED session the hop state sga_gw_kex_init_handle gave
 * it: member keys re-derived from k_t (sga_hop_member_init, as the device
 * derives its own; the down key under an epoch fresh for this load), fresh
 * replay windows, TX sequence 0, and the mark that frames of its members may
 * predate that epoch (restored: the data plane then learns addresses only
 * from frames echoing it, PROTOCOL.md 9.3). The data plane takes its real
 * sequence ranges and replay marks from the reservation and the marks, not
 * from the record.
 */
static int sess_hop_derive(struct sga_gw_session *s)
{
	for (unsigned k = 0; k < 2; k++) {
		if (sga_hop_member_init_gen(&s->hop[k], s->k_t[k], s->session_id, s->rk.gen,
		                            s->hop_suite[k], 0))
			return -SGA_E_CRYPTO;
		s->hop[k].restored = 1;
	}
	/* The previous generation's up keys served the overlap of the run that
	 * made them; a loaded record installs with the current keys alone. */
	s->rk.prev_live = 0;
	return 0;
}

/* ---- devices ------------------------------------------------------------------ */

static int get_u64_field(const redisReply *r, uint64_t *v)
{
	*v = 0;
	if (r->type == REDIS_REPLY_NIL)
		return 0;
	if (r->type != REDIS_REPLY_STRING || parse_u64(r->str, r->len, v))
		return -SGA_E_INTERNAL;
	return 0;
}

int store_device_get(struct store *st, const uint8_t *id, uint8_t id_len, struct sga_gw_device *rec)
{
	char key[KEY_MAX];
	uint8_t pt[DEV_PT_MAX];
	size_t pt_len = 0;
	redisReply *rep[1] = {NULL};
	const redisReply *e;
	struct st_cmd c;
	int rc;

	memset(rec, 0, sizeof(*rec));
	CHECK(key_dev(key, id, id_len));
	cmd_init(&c);
	cmd_str(&c, "HMGET");
	cmd_str(&c, key);
	cmd_str(&c, "rec");
	cmd_str(&c, "up_ctr");
	cmd_str(&c, "down_ctr");
	CHECK(run1(st, &c, rep));
	if (rep[0]->type != REDIS_REPLY_ARRAY || rep[0]->elements != 3) {
		rc = -SGA_E_INTERNAL;
		goto out;
	}
	e = rep[0]->element[0];
	if (e->type == REDIS_REPLY_NIL) {
		rc = -SGA_E_UNKNOWN_DEVICE;
		goto out;
	}
	if (e->type != REDIS_REPLY_STRING) {
		rc = -SGA_E_INTERNAL;
		goto out;
	}
	CHECK(rec_open(st, key, (const uint8_t *)e->str, e->len, pt, sizeof(pt), &pt_len));
	CHECK(dev_decode(pt, pt_len, rec));
	if (rec->id_len != id_len || memcmp(rec->id, id, id_len)) {
		rc = -SGA_E_AUTH;
		goto out;
	}
	CHECK(get_u64_field(rep[0]->element[1], &rec->up_ctr));
	CHECK(get_u64_field(rep[0]->element[2], &rec->down_ctr));
	if (!rec->group)
		rec->group = st->first_group; /* a record of an earlier build */
out:
	rep_free(rep, 1);
	sga_memzero(pt, sizeof(pt));
	if (rc)
		sga_memzero(rec, sizeof(*rec));
	return rc;
}

/* A device record's write, sealed under its key, as one command in c: a plain
 * HSET (store_device_put, store_session_establish) or the create script. The
 * arguments point into b, which must outlive the command. */
struct dev_cmd_buf {
	char key[KEY_MAX], up[U64_STR_MAX], down[U64_STR_MAX];
	uint8_t sealed[REC_HDR + DEV_PT_MAX + REC_TAG];
	size_t sealed_len;
};

static int dev_cmd(struct store *st, const struct sga_gw_device *rec, int create,
                   struct dev_cmd_buf *b, struct st_cmd *c)
{
	uint8_t pt[DEV_PT_MAX];
	size_t pt_len = 0;
	int rc;

	CHECK(key_dev(b->key, rec->id, rec->id_len));
	CHECK(dev_encode(rec, pt, sizeof(pt), &pt_len));
	CHECK(rec_seal(st, b->key, pt, pt_len, b->sealed, sizeof(b->sealed), &b->sealed_len));
	snprintf(b->up, sizeof(b->up), "%" PRIu64, rec->up_ctr);
	snprintf(b->down, sizeof(b->down), "%" PRIu64, rec->down_ctr);
	if (create) {
		cmd_eval(c, LUA_CREATE, b->key);
	} else {
		cmd_init(c);
		cmd_str(c, "HSET");
		cmd_str(c, b->key);
		cmd_str(c, "rec");
	}
	cmd_arg(c, b->sealed, b->sealed_len);
	if (!create)
		cmd_str(c, "up_ctr");
	cmd_str(c, b->up);
	if (!create)
		cmd_str(c, "down_ctr");
	cmd_str(c, b->down);
out:
	sga_memzero(pt, sizeof(pt));
	return rc;
}

/* Seal rec under its key and issue either a plain HSET or the create script. */
static int device_write(struct store *st, const struct sga_gw_device *rec, int create)
{
	struct dev_cmd_buf b;
	redisReply *rep[1] = {NULL};
	struct st_cmd c;
	long long v;
	int rc;

	CHECK(dev_cmd(st, rec, create, &b, &c));
	CHECK(run1(st, &c, rep));
	if (create) {
		CHECK(reply_int(rep[0], &v));
		if (v == 0)
			rc = -SGA_E_EXISTS;
	}
out:
	rep_free(rep, 1);
	return rc;
}

int store_device_put(struct store *st, const struct sga_gw_device *rec)
{
	return device_write(st, rec, 0);
}

int store_device_create(struct store *st, const struct sga_gw_device *rec)
{
	return device_write(st, rec, 1);
}

int store_device_revoke(struct store *st, const uint8_t *id, uint8_t id_len)
{
	struct sga_gw_device d;
	struct dev_cmd_buf b;
	redisReply *rep[1] = {NULL};
	struct st_cmd c;
	uint8_t pt[DEV_PT_MAX];
	size_t pt_len = 0;
	int rc;

	CHECK(store_device_get(st, id, id_len, &d));
	d.revoked = 1;
	CHECK(key_dev(b.key, d.id, d.id_len));
	CHECK(dev_encode(&d, pt, sizeof(pt), &pt_len));
	CHECK(rec_seal(st, b.key, pt, pt_len, b.sealed, sizeof(b.sealed), &b.sealed_len));
	/* The sealed record alone: the counters, updated atomically by the
	 * workers, are left as they are. */
	cmd_init(&c);
	cmd_str(&c, "HSET");
	cmd_str(&c, b.key);
	cmd_str(&c, "rec");
	cmd_arg(&c, b.sealed, b.sealed_len);
	CHECK(run1(st, &c, rep));
out:
	rep_free(rep, 1);
	sga_memzero(pt, sizeof(pt));
	sga_memzero(&d, sizeof(d));
	return rc;
}

int store_device_del(struct store *st, const uint8_t *id, uint8_t id_len)
{
	char key[KEY_MAX];
	int rc = key_dev(key, id, id_len);

	return rc ? rc : del1(st, key);
}

/* LUA_RAISE on key.field: *raised = 1/0; -unknown for a missing key. */
static int raise_field(struct store *st, const char *key, const char *field, uint64_t v,
                       int unknown, int *raised)
{
	char val[U64_STR_MAX];
	redisReply *rep[1] = {NULL};
	struct st_cmd c;
	long long r;
	int rc;

	snprintf(val, sizeof(val), "%" PRIu64, v);
	cmd_eval(&c, LUA_RAISE, key);
	cmd_str(&c, field);
	cmd_str(&c, val);
	CHECK(run1(st, &c, rep));
	CHECK(reply_int(rep[0], &r));
	if (r < 0)
		rc = -unknown;
	else
		*raised = (int)r;
out:
	rep_free(rep, 1);
	return rc;
}

int store_device_set_up_ctr(struct store *st, const uint8_t *id, uint8_t id_len, uint64_t v)
{
	char key[KEY_MAX];
	int rc, raised = 0;

	rc = key_dev(key, id, id_len);
	if (!rc)
		rc = raise_field(st, key, "up_ctr", v, SGA_E_UNKNOWN_DEVICE, &raised);
	if (!rc && !raised)
		rc =
		    -SGA_E_REPLAY; /* another worker already accepted this counter or a later one */
	return rc;
}

int store_device_raise_down_ctr(struct store *st, const uint8_t *id, uint8_t id_len, uint64_t v)
{
	char key[KEY_MAX];
	int rc, raised = 0;

	rc = key_dev(key, id, id_len);
	if (!rc)
		rc = raise_field(st, key, "down_ctr", v, SGA_E_UNKNOWN_DEVICE, &raised);
	return rc;
}

int store_device_claim_down_ctr(struct store *st, const uint8_t *id, uint8_t id_len, uint64_t *ctr)
{
	char key[KEY_MAX];
	struct st_cmd c;
	long long v;
	int rc;

	rc = key_dev(key, id, id_len);
	if (rc)
		return rc;
	cmd_eval(&c, LUA_CLAIM, key);
	cmd_str(&c, "down_ctr");
	rc = run1_int(st, &c, &v);
	if (rc)
		return rc;
	if (v < 0)
		return -SGA_E_UNKNOWN_DEVICE;
	*ctr = (uint64_t)v;
	return 0;
}

int store_device_set_addr(struct store *st, const uint8_t *id, uint8_t id_len,
                          const struct dp_addr *a)
{
	char key[KEY_MAX], val[ADDR_STR_MAX];
	redisReply *rep[1] = {NULL};
	struct st_cmd c;
	long long r;
	int rc;

	CHECK(key_dev(key, id, id_len));
	st_addr_format(st, a, val);
	cmd_eval(&c, LUA_SET_IF, key);
	cmd_str(&c, "addr");
	cmd_str(&c, val);
	CHECK(run1(st, &c, rep));
	CHECK(reply_int(rep[0], &r));
	if (r < 0)
		rc = -SGA_E_UNKNOWN_DEVICE;
out:
	rep_free(rep, 1);
	return rc;
}

/* An address field: NIL -> all zero (unknown); malformed -> -SGA_E_INTERNAL. */
static int get_addr_field(const struct store *st, const redisReply *r, struct dp_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (r->type == REDIS_REPLY_NIL)
		return 0;
	if (r->type != REDIS_REPLY_STRING || addr_parse(r->str, r->len, a))
		return -SGA_E_INTERNAL;
	st_addr_rel(st, a);
	return 0;
}

int store_device_get_addr(struct store *st, const uint8_t *id, uint8_t id_len, struct dp_addr *a)
{
	char key[KEY_MAX];
	redisReply *rep[1] = {NULL};
	struct st_cmd c;
	int rc;

	memset(a, 0, sizeof(*a));
	CHECK(key_dev(key, id, id_len));
	cmd_init(&c);
	cmd_str(&c, "HMGET");
	cmd_str(&c, key);
	cmd_str(&c, "rec");
	cmd_str(&c, "addr");
	CHECK(run1(st, &c, rep));
	if (rep[0]->type != REDIS_REPLY_ARRAY || rep[0]->elements != 2) {
		rc = -SGA_E_INTERNAL;
		goto out;
	}
	if (rep[0]->element[0]->type == REDIS_REPLY_NIL) {
		rc = -SGA_E_UNKNOWN_DEVICE;
		goto out;
	}
	rc = get_addr_field(st, rep[0]->element[1], a);
out:
	rep_free(rep, 1);
	return rc;
}

/* ---- enrollment allow-list ---------------------------------------------------- */

int store_enroll_get(struct store *st, const uint8_t *id, uint8_t id_len, struct sga_gw_enroll *e)
{
	char key[KEY_MAX];
	redisReply *rep[1] = {NULL};
	struct st_cmd c;
	int rc;

	memset(e, 0, sizeof(*e));
	CHECK(key_enroll(key, id, id_len));
	cmd_init(&c);
	cmd_str(&c, "GET");
	cmd_str(&c, key);
	CHECK(run1(st, &c, rep));
	if (rep[0]->type == REDIS_REPLY_NIL) {
		rc = -SGA_E_UNKNOWN_DEVICE;
		goto out;
	}
	if (rep[0]->type != REDIS_REPLY_STRING ||
	    sga_hex_decode(rep[0]->str, rep[0]->len, e->token_hash, sizeof(e->token_hash)))
		rc = -SGA_E_INTERNAL;
out:
	rep_free(rep, 1);
	return rc;
}

int store_enroll_put(struct store *st, const uint8_t *id, uint8_t id_len,
                     const struct sga_gw_enroll *e)
{
	char key[KEY_MAX], hex[2 * SGA_SHA256_LEN + 1];
	redisReply *rep[1] = {NULL};
	struct st_cmd c;
	int rc;

	CHECK(key_enroll(key, id, id_len));
	sga_hex_encode(e->token_hash, sizeof(e->token_hash), hex);
	cmd_init(&c);
	cmd_str(&c, "SET");
	cmd_str(&c, key);
	cmd_str(&c, hex);
	rc = run1(st, &c, rep);
out:
	rep_free(rep, 1);
	return rc;
}

int store_enroll_del(struct store *st, const uint8_t *id, uint8_t id_len)
{
	char key[KEY_MAX];
	int rc = key_enroll(key, id, id_len);

	return rc ? rc : del1(st, key);
}

/* ---- sessions ------------------------------------------------------------------ */

int store_session_get(struct store *st, uint64_t sid, struct sga_gw_session *s)
{
	char key[KEY_MAX];
	uint8_t pt[SESS_PT_MAX];
	size_t pt_len = 0;
	redisReply *rep[1] = {NULL};
	struct st_cmd c;
	int rc;

	memset(s, 0, sizeof(*s));
	CHECK(key_sess(key, sid));
	cmd_init(&c);
	cmd_str(&c, "HGET");
	cmd_str(&c, key);
	cmd_str(&c, "rec");
	CHECK(run1(st, &c, rep));
	if (rep[0]->type == REDIS_REPLY_NIL) {
		rc = -SGA_E_UNKNOWN_SESSION;
		goto out;
	}
	if (rep[0]->type != REDIS_REPLY_STRING) {
		rc = -SGA_E_INTERNAL;
		goto out;
	}
	CHECK(
	    rec_open(st, key, (const uint8_t *)rep[0]->str, rep[0]->len, pt, sizeof(pt), &pt_len));
	CHECK(sess_decode(pt, pt_len, s));
	if (s->session_id != sid) {
		rc = -SGA_E_AUTH;
		goto out;
	}
	if (s->state == SGA_GW_S_ESTABLISHED)
		CHECK(sess_hop_derive(s));
out:
	rep_free(rep, 1);
	sga_memzero(pt, sizeof(pt));
	if (rc)
		sga_gw_session_wipe(s);
	return rc;
}

/* A session record sealed under its key into b (its key name too). */
struct sess_rec_buf {
	char key[KEY_MAX], state[4], hex[17];
	uint8_t sealed[REC_HDR + SESS_PT_MAX + REC_TAG];
	size_t sealed_len;
};

static int sess_rec_seal(struct store *st, const struct sga_gw_session *s, struct sess_rec_buf *b)
{
	uint8_t pt[SESS_PT_MAX];
	size_t pt_len = 0;
	int rc;

	CHECK(key_sess(b->key, s->session_id));
	CHECK(sess_encode(s, pt, sizeof(pt), &pt_len));
	CHECK(rec_seal(st, b->key, pt, pt_len, b->sealed, sizeof(b->sealed), &b->sealed_len));
	snprintf(b->state, sizeof(b->state), "%u", s->state);
	sid_hex(s->session_id, b->hex);
out:
	sga_memzero(pt, sizeof(pt));
	return rc;
}

/* SADD of the session to the restore index (its own slot: a second command). */
static void sess_index_cmd(struct sess_rec_buf *b, struct st_cmd *c)
{
	cmd_init(c);
	cmd_str(c, "SADD");
	cmd_str(c, KEY_SESSIONS);
	cmd_str(c, b->hex);
}

int store_session_put(struct store *st, const struct sga_gw_session *s)
{
	char ttl[16];
	struct sess_rec_buf buf, *b = &buf;
	redisReply *rep[2] = {NULL, NULL};
	struct st_cmd c[2];
	int est = s->state == SGA_GW_S_ESTABLISHED, rc;

	CHECK(sess_rec_seal(st, s, b));
	snprintf(ttl, sizeof(ttl), "%u", est ? 0u : st->session_ttl_s);
	cmd_eval(&c[0], LUA_SESS_PUT, b->key);
	cmd_arg(&c[0], b->sealed, b->sealed_len);
	cmd_str(&c[0], b->state);
	cmd_str(&c[0], ttl);
	sess_index_cmd(b, &c[1]);
	rc = st_run(st, c, est ? 2 : 1, rep);
out:
	rep_free(rep, 2);
	return rc;
}

/* ---- establishing sessions, one or many per round trip --------------------------- */

/* Per item: the session's EVAL, its SADD, and up to two device HSETs. */
#define ESTAB_CMDS 4

struct estab_buf {
	struct sess_rec_buf rec;
	char block[U64_STR_MAX], rx[2][U64_STR_MAX], addr[2][ADDR_STR_MAX], floor[U64_STR_MAX];
	struct dev_cmd_buf dev[2];
};

static int estab_cmds(struct store *st, const struct store_estab *e, struct estab_buf *b,
                      struct st_cmd *c, unsigned *n)
{
	int rc;

	*n = 0;
	if (e->s->state != SGA_GW_S_ESTABLISHED || e->block == 0 || e->block > (uint64_t)INT64_MAX)
		return -SGA_E_BAD_FIELD;
	CHECK(sess_rec_seal(st, e->s, &b->rec));
	snprintf(b->block, sizeof(b->block), "%" PRIu64, e->block);
	cmd_eval(&c[0], LUA_ESTABLISH, b->rec.key);
	cmd_arg(&c[0], b->rec.sealed, b->rec.sealed_len);
	cmd_str(&c[0], b->rec.state);
	cmd_str(&c[0], b->block);
	for (unsigned r = 0; r < 2; r++) {
		snprintf(b->rx[r], sizeof(b->rx[r]), "%" PRIu64, e->rx_next[r]);
		cmd_str(&c[0], b->rx[r]);
	}
	for (unsigned r = 0; r < 2; r++) {
		b->addr[r][0] = '\0';
		if (e->addr[r].port)
			st_addr_format(st, &e->addr[r], b->addr[r]);
		cmd_str(&c[0], b->addr[r]);
	}
	snprintf(b->floor, sizeof(b->floor), "%" PRIu64, tx_floor());
	cmd_str(&c[0], b->floor);
	cmd_str(&c[0], st->owner ? st->owner : "");
	sess_index_cmd(&b->rec, &c[1]);
	*n = 2;
	for (unsigned r = 0; r < 2; r++)
		if (e->dev[r]) {
			CHECK(dev_cmd(st, e->dev[r], 0, &b->dev[r], &c[*n]));
			(*n)++;
		}
out:
	return rc;
}

/* The EVAL's reply {limit0, limit1, rx0, rx1} into e. */
static int estab_reply(const redisReply *r, struct store_estab *e)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 4)
		return -SGA_E_INTERNAL;
	for (unsigned k = 0; k < 2; k++) {
		const redisReply *l = r->element[k], *x = r->element[2 + k];

		if (l->type != REDIS_REPLY_INTEGER || l->integer < (long long)e->block ||
		    x->type != REDIS_REPLY_STRING || parse_u64(x->str, x->len, &e->rx_next[k]))
			return -SGA_E_INTERNAL;
		e->limit[k] = (uint64_t)l->integer;
	}
	return 0;
}

int store_session_establish(struct store *st, struct store_estab *e, unsigned n)
{
	struct estab_buf *b = NULL;
	struct st_cmd *c = NULL;
	redisReply **rep = NULL;
	unsigned *first = NULL, total = 0;
	int rc = 0;

	if (n == 0)
		return 0;
	if (n > STORE_ESTAB_BATCH_MAX)
		return -SGA_E_BAD_FIELD;
	b = calloc(n, sizeof(*b));
	c = calloc((size_t)n * ESTAB_CMDS, sizeof(*c));
	rep = calloc((size_t)n * ESTAB_CMDS, sizeof(*rep));
	first = calloc(n, sizeof(*first));
	if (!b || !c || !rep || !first) {
		rc = -SGA_E_INTERNAL;
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		unsigned k = 0;

		first[i] = total;
		CHECK(estab_cmds(st, &e[i], &b[i], c + total, &k));
		total += k;
	}
	CHECK(st_run(st, c, total, rep));
	for (unsigned i = 0; i < n; i++)
		CHECK(estab_reply(rep[first[i]], &e[i]));
out:
	if (rep)
		rep_free(rep, total);
	if (b)
		sga_memzero(b, (size_t)n * sizeof(*b));
	free(b);
	free(c);
	free(rep);
	free(first);
	return rc;
}

int store_session_del(struct store *st, uint64_t sid)
{
	char key[KEY_MAX], hkey[KEY_MAX], hex[17];
	redisReply *rep[2] = {NULL, NULL};
	struct st_cmd c[2];
	int rc;

	CHECK(key_sess(key, sid));
	sid_hex(sid, hex);
	CHECK(key_held(hkey, sid));
	cmd_init(&c[0]);
	cmd_str(&c[0], "DEL");
	cmd_str(&c[0], key);
	cmd_str(&c[0], hkey); /* the same slot */
	cmd_init(&c[1]);
	cmd_str(&c[1], "SREM");
	cmd_str(&c[1], KEY_SESSIONS);
	cmd_str(&c[1], hex);
	rc = st_run(st, c, 2, rep);
out:
	rep_free(rep, 2);
	return rc;
}

int store_session_reserve(struct store *st, uint64_t sid, uint8_t role, uint64_t block,
                          uint64_t *limit)
{
	char key[KEY_MAX], val[U64_STR_MAX], floor[U64_STR_MAX];
	struct st_cmd c;
	long long v;
	int rc;

	if (role > 1 || block == 0 || block > (uint64_t)INT64_MAX)
		return -SGA_E_BAD_FIELD;
	rc = key_sess(key, sid);
	if (rc)
		return rc;
	snprintf(val, sizeof(val), "%" PRIu64, block);
	snprintf(floor, sizeof(floor), "%" PRIu64, tx_floor());
	cmd_eval(&c, LUA_RESERVE, key);
	cmd_str(&c, role ? "tx_res1" : "tx_res0");
	cmd_str(&c, val);
	cmd_str(&c, floor);
	cmd_str(&c, st->owner ? st->owner : "");
	rc = run1_int(st, &c, &v); /* an overflow of the 63-bit space is an error reply */
	if (rc)
		return rc;
	if (v < 0)
		return v == -2 ? -STORE_E_NOT_OWNER : -SGA_E_UNKNOWN_SESSION;
	*limit = (uint64_t)v;
	return 0;
}

int store_session_own(struct store *st, uint64_t sid)
{
	char key[KEY_MAX];
	struct st_cmd c;
	long long v;
	int rc;

	if (!st->owner)
		return 0;
	rc = key_sess(key, sid);
	if (rc)
		return rc;
	cmd_eval(&c, LUA_OWN, key);
	cmd_str(&c, st->owner);
	rc = run1_int(st, &c, &v);
	if (rc)
		return rc;
	return v < 0 ? -SGA_E_UNKNOWN_SESSION : 0;
}

int store_session_owner(struct store *st, uint64_t sid, char *out, size_t out_len)
{
	char key[KEY_MAX];
	redisReply *rep[1] = {NULL};
	struct st_cmd c;
	int rc;

	if (!out || !out_len)
		return -SGA_E_INTERNAL;
	out[0] = '\0';
	CHECK(key_sess(key, sid));
	cmd_init(&c);
	cmd_str(&c, "HGET");
	cmd_str(&c, key);
	cmd_str(&c, "owner");
	CHECK(run1(st, &c, rep));
	if (rep[0]->type == REDIS_REPLY_STRING) {
		if (rep[0]->len >= out_len)
			CHECK(-SGA_E_INTERNAL);
		memcpy(out, rep[0]->str, rep[0]->len);
		out[rep[0]->len] = '\0';
	} else if (rep[0]->type != REDIS_REPLY_NIL) {
		rc = -SGA_E_INTERNAL;
	}
out:
	rep_free(rep, 1);
	return rc;
}

int store_session_owned_elsewhere(struct store *st, uint64_t sid)
{
	char name[STORE_OWNER_MAX];
	int rc;

	if (!st->owner)
		return 0;
	rc = store_session_owner(st, sid, name, sizeof(name));
	if (rc)
		return rc;
	return name[0] && strcmp(name, st->owner) != 0;
}

/* ---- node leases ([cluster], PROTOCOL.md 9.6) ----------------------------------- */

static int key_node(char out[KEY_MAX], const char *name)
{
	if (!name || !name[0] || strlen(name) > KEY_MAX - sizeof("sga:{node:}"))
		return -SGA_E_BAD_FIELD;
	snprintf(out, KEY_MAX, "sga:{node:%.*s}", (int)(KEY_MAX - sizeof("sga:{node:}")), name);
	return 0;
}

int store_node_lease(struct store *st, const char *name, const char *value, unsigned lease_ms)
{
	char key[KEY_MAX], ms[U64_STR_MAX];
	redisReply *rep[1] = {NULL};
	struct st_cmd c;
	int rc;

	CHECK(key_node(key, name));
	snprintf(ms, sizeof(ms), "%u", lease_ms ? lease_ms : 1);
	cmd_init(&c);
	cmd_str(&c, "SET");
	cmd_str(&c, key);
	cmd_str(&c, value ? value : "");
	cmd_str(&c, "PX");
	cmd_str(&c, ms);
	CHECK(run1(st, &c, rep));
	if (rep[0]->type != REDIS_REPLY_STATUS)
		rc = -SGA_E_INTERNAL;
out:
	rep_free(rep, 1);
	return rc;
}

/* Delete KEYS[1] if it holds ARGV[1]: a lease given back by its holder only. */
static const char LUA_DEL_IF[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
                                 "  return redis.call('DEL', KEYS[1]) end\n"
                                 "return 0\n";

int store_node_release(struct store *st, const char *name, const char *value)
{
	char key[KEY_MAX];
	struct st_cmd c;
	long long v = 0;
	int rc;

	rc = key_node(key, name);
	if (rc)
		return rc;
	cmd_eval(&c, LUA_DEL_IF, key);
	cmd_str(&c, value ? value : "");
	rc = run1_int(st, &c, &v);
	if (rc)
		return rc;
	return v > 0;
}

int store_node_alive(struct store *st, const char *name)
{
	char key[KEY_MAX];
	struct st_cmd c;
	long long v = 0;
	int rc;

	rc = key_node(key, name);
	if (rc)
		return rc;
	cmd_init(&c);
	cmd_str(&c, "EXISTS");
	cmd_str(&c, key);
	rc = run1_int(st, &c, &v);
	if (rc)
		return rc;
	return v > 0;
}

int store_session_set_marks(struct store *st, uint64_t sid, const uint64_t rx_next[2],
                            const struct dp_addr addr[2])
{
	struct store_marks m = {.sid = sid};
	int one, rc;

	memcpy(m.rx_next, rx_next, sizeof(m.rx_next));
	memcpy(m.addr, addr, sizeof(m.addr));
	rc = store_session_set_marks_n(st, &m, 1, &one);
	return rc ? rc : one;
}

/* The argument strings of one pipeline of LUA_MARKS calls (heap: ~20 KiB). */
struct marks_args {
	char key[STORE_MARKS_BATCH][KEY_MAX];
	char rx[STORE_MARKS_BATCH][2][U64_STR_MAX];
	char a[STORE_MARKS_BATCH][2][ADDR_STR_MAX];
	struct st_cmd c[STORE_MARKS_BATCH];
	redisReply *rep[STORE_MARKS_BATCH];
};

int store_session_set_marks_n(struct store *st, const struct store_marks *m, unsigned n, int *rcs)
{
	struct marks_args *x;
	int rc = 0;

	if (n > STORE_MARKS_BATCH)
		return -SGA_E_INTERNAL;
	if (!n)
		return 0;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -SGA_E_INTERNAL;
	for (unsigned i = 0; i < n; i++) {
		CHECK(key_sess(x->key[i], m[i].sid));
		cmd_eval(&x->c[i], LUA_MARKS, x->key[i]);
		for (unsigned r = 0; r < 2; r++) {
			snprintf(x->rx[i][r], sizeof(x->rx[i][r]), "%" PRIu64, m[i].rx_next[r]);
			cmd_str(&x->c[i], x->rx[i][r]);
		}
		for (unsigned r = 0; r < 2; r++) {
			x->a[i][r][0] = '\0';
			if (m[i].addr[r].port)
				st_addr_format(st, &m[i].addr[r], x->a[i][r]);
			cmd_str(&x->c[i], x->a[i][r]);
		}
		cmd_str(&x->c[i], st->owner ? st->owner : "");
	}
	CHECK(st_run(st, x->c, n, x->rep));
	for (unsigned i = 0; i < n; i++) {
		long long v;

		CHECK(reply_int(x->rep[i], &v));
		rcs[i] = v == -2 ? -STORE_E_NOT_OWNER : v < 0 ? -SGA_E_UNKNOWN_SESSION : 0;
	}
out:
	rep_free(x->rep, n);
	free(x);
	return rc;
}

int store_session_get_marks(struct store *st, uint64_t sid, uint64_t rx_next[2],
                            struct dp_addr addr[2])
{
	char key[KEY_MAX];
	redisReply *rep[1] = {NULL};
	struct st_cmd c;
	int rc;

	rx_next[0] = rx_next[1] = 0;
	memset(addr, 0, 2 * sizeof(addr[0]));
	CHECK(key_sess(key, sid));
	cmd_init(&c);
	cmd_str(&c, "HMGET");
	cmd_str(&c, key);
	cmd_str(&c, "state");
	cmd_str(&c, "rx0");
	cmd_str(&c, "rx1");
	cmd_str(&c, "addr0");
	cmd_str(&c, "addr1");
	CHECK(run1(st, &c, rep));
	if (rep[0]->type != REDIS_REPLY_ARRAY || rep[0]->elements != 5) {
		rc = -SGA_E_INTERNAL;
		goto out;
	}
	if (rep[0]->element[0]->type == REDIS_REPLY_NIL) {
		rc = -SGA_E_UNKNOWN_SESSION;
		goto out;
	}
	for (unsigned r = 0; r < 2; r++) {
		CHECK(get_u64_field(rep[0]->element[1 + r], &rx_next[r]));
		CHECK(get_addr_field(st, rep[0]->element[3 + r], &addr[r]));
	}
out:
	rep_free(rep, 1);
	return rc;
}

/* ---- invitations by responder (PROTOCOL.md 7.16, step 4) ---------------------- */

int store_invite_add(struct store *st, const uint8_t *id, uint8_t id_len, uint64_t sid)
{
	char key[KEY_MAX], hex[17], ttl[16];
	redisReply *rep[2] = {NULL, NULL};
	struct st_cmd c[2];
	int rc;

	CHECK(key_inv(key, id, id_len));
	sid_hex(sid, hex);
	/* The set lives as long as its newest invitation may: an invited
	 * session expires after session_ttl_s (LUA_SESS_PUT). */
	snprintf(ttl, sizeof(ttl), "%u", st->session_ttl_s);
	cmd_init(&c[0]);
	cmd_str(&c[0], "SADD");
	cmd_str(&c[0], key);
	cmd_str(&c[0], hex);
	cmd_init(&c[1]);
	cmd_str(&c[1], "EXPIRE");
	cmd_str(&c[1], key);
	cmd_str(&c[1], ttl);
	rc = st_run(st, c, 2, rep);
out:
	rep_free(rep, 2);
	return rc;
}

int store_invite_del(struct store *st, const uint8_t *id, uint8_t id_len, uint64_t sid)
{
	char key[KEY_MAX], hex[17];
	redisReply *rep[1] = {NULL};
	struct st_cmd c;
	int rc;

	CHECK(key_inv(key, id, id_len));
	sid_hex(sid, hex);
	cmd_init(&c);
	cmd_str(&c, "SREM");
	cmd_str(&c, key);
	cmd_str(&c, hex);
	rc = run1(st, &c, rep);
out:
	rep_free(rep, 1);
	return rc;
}

int store_invite_list(struct store *st, const uint8_t *id, uint8_t id_len, uint64_t *ids,
                      unsigned *n)
{
	char key[KEY_MAX], count[16];
	redisReply *rep[1] = {NULL};
	struct st_cmd c;
	unsigned cap = *n, got = 0;
	int rc;

	*n = 0;
	CHECK(key_inv(key, id, id_len));
	/* SRANDMEMBER with a positive count: at most cap distinct members, so
	 * a long list costs one bounded reply (the rest wait for a later WAKE). */
	snprintf(count, sizeof(count), "%u", cap);
	cmd_init(&c);
	cmd_str(&c, "SRANDMEMBER");
	cmd_str(&c, key);
	cmd_str(&c, count);
	CHECK(run1(st, &c, rep));
	if (rep[0]->type != REDIS_REPLY_ARRAY) {
		rc = -SGA_E_INTERNAL;
		goto out;
	}
	for (size_t i = 0; i < rep[0]->elements && got < cap; i++) {
		const redisReply *e = rep[0]->element[i];
		uint8_t b[8];

		if (e->type != REDIS_REPLY_STRING || sga_hex_decode(e->str, e->len, b, sizeof(b)))
			continue;
		ids[got++] = sga_get_u64(b);
	}
	*n = got;
out:
	rep_free(rep, 1);
	return rc;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The restore index page by page (SSCAN, 1,000 a call) rather than in one
 * SMEMBERS: with a million sessions one reply was some 25 MB built while
 * Redis serves nobody else, longer than [redis] timeout_ms, so a restarted
 * gateway timed out on it and tried again for ever. SSCAN may return a
 * member twice (the set rehashing meanwhile): sorted and made unique at the
 * end. Ids that are not 16 hex digits are ignored.
 */
int store_session_list_all(struct store *st, uint64_t **ids, unsigned *n)
{
	char cursor[32] = "0";
	uint64_t *got = NULL;
	size_t count = 0, cap = 0;
	int rc = 0;

	*ids = NULL;
	*n = 0;
	do {
		redisReply *rep[1] = {NULL};
		const redisReply *members;
		struct st_cmd c;

		cmd_init(&c);
		cmd_str(&c, "SSCAN");
		cmd_str(&c, KEY_SESSIONS);
		cmd_str(&c, cursor);
		cmd_str(&c, "COUNT");
		cmd_str(&c, "1000");
		if ((rc = run1(st, &c, rep)))
			break;
		/* [next cursor, [members...]]; "0" ends the iteration. */
		if (rep[0]->type != REDIS_REPLY_ARRAY || rep[0]->elements != 2 ||
		    rep[0]->element[0]->type != REDIS_REPLY_STRING ||
		    rep[0]->element[0]->len >= sizeof(cursor) ||
		    rep[0]->element[1]->type != REDIS_REPLY_ARRAY) {
			rep_free(rep, 1);
			rc = -SGA_E_INTERNAL;
			break;
		}
		memcpy(cursor, rep[0]->element[0]->str, rep[0]->element[0]->len);
		cursor[rep[0]->element[0]->len] = '\0';
		members = rep[0]->element[1];
		if (count + members->elements > cap) {
			size_t grown_cap = 2 * (count + members->elements) + 256;
			uint64_t *grown =
			    grown_cap <= UINT32_MAX ? realloc(got, grown_cap * sizeof(*got)) : NULL;

			if (!grown) {
				rep_free(rep, 1);
				rc = -SGA_E_INTERNAL;
				break;
			}
			got = grown;
			cap = grown_cap;
		}
		for (size_t i = 0; i < members->elements; i++) {
			const redisReply *e = members->element[i];
			uint8_t b[8];

			if (e->type == REDIS_REPLY_STRING &&
			    !sga_hex_decode(e->str, e->len, b, sizeof(b)))
				got[count++] = sga_get_u64(b);
		}
		rep_free(rep, 1);
	} while (strcmp(cursor, "0"));
	if (rc) {
		free(got);
		return rc;
	}
	if (count) {
		size_t u = 1;

		qsort(got, count, sizeof(*got), cmp_u64);
		for (size_t i = 1; i < count; i++)
			if (got[i] != got[u - 1])
				got[u++] = got[i];
		count = u;
	}
	*ids = got;
	*n = (unsigned)count;
	return 0;
}

int store_session_list(struct store *st, uint64_t *ids, unsigned *n)
{
	uint64_t *all;
	unsigned total, cap = *n;
	int rc = store_session_list_all(st, &all, &total);

	*n = 0;
	if (rc)
		return rc;
	if (total && cap) /* all is NULL for an empty index */
		memcpy(ids, all, (size_t)(total < cap ? total : cap) * sizeof(*ids));
	*n = total;
	free(all);
	return total > cap ? -SGA_E_NOSPACE : 0;
}

/* ---- operator listing (sga-admin) --------------------------------------------- */

/* The masters of a cluster serving slots, with the store's backoff. */
static int st_masters(struct store *st, char (*names)[STC_NODE_NAME], unsigned *n)
{
	char why[STORE_NODE_NAME_MAX + 128];
	int rc;

	*n = 0;
	if (now_ns() < st->retry_at_ns)
		return -SGA_E_UNAVAILABLE;
	rc = stc_masters(st->cl, names, STC_NODES_MAX, n, why, sizeof(why));
	if (rc)
		st_cluster_fail(st, rc, why);
	return rc ? -SGA_E_UNAVAILABLE : 0;
}

/* INFO's "aof_enabled:<0|1>" line: 1, 0, or -1 when the reply has none. */
static int info_aof_enabled(const redisReply *r)
{
	static const char field[] = "\naof_enabled:";
	const char *p;

	if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)
		return -1;
	/* INFO starts with "# Persistence\r\n": every field follows a newline. */
	p = strstr(r->str, field);
	if (!p)
		return -1;
	p += sizeof(field) - 1;
	return *p == '1' ? 1 : *p == '0' ? 0 : -1;
}

/* INFO persistence of one server or master: 1 no AOF, 0 AOF, < 0 error. */
static int aof_node(struct store *st, const char *node)
{
	redisReply *rep[1] = {NULL};
	struct st_cmd c;
	int rc, on;

	cmd_init(&c);
	cmd_str(&c, "INFO");
	cmd_str(&c, "persistence");
	if ((rc = st_run_on(st, node, &c, 1, rep)))
		return rc;
	on = info_aof_enabled(rep[0]);
	rep_free(rep, 1);
	return on < 0 ? -SGA_E_INTERNAL : !on;
}

int store_check_aof(struct store *st, char *node, size_t node_len)
{
	char names[STC_NODES_MAX][STC_NODE_NAME];
	unsigned n;
	int rc;

	snprintf(node, node_len, "%s", st->endpoint);
	if (!st->cl)
		return aof_node(st, NULL);
	if ((rc = st_masters(st, names, &n)))
		return rc;
	for (unsigned i = 0; i < n; i++) {
		snprintf(node, node_len, "%s", names[i]);
		if ((rc = aof_node(st, names[i])))
			return rc;
	}
	return 0;
}

/* ---- replicated held messages (store_replica.h) -------------------------------- */

/* Raise mark field ARGV[1] to ARGV[2] (canonical decimals, see above). */
static const char LUA_HELD_MARK[] =
    "local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if (not v) or #v < #ARGV[2] or (#v == #ARGV[2] and v < ARGV[2]) then\n"
    "  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1 end\n"
    "return 0\n";

/* Fields one HDEL or HSET of held ops takes: argv is the command, the key,
 * then a field (HDEL) or a field and its record (HSET) per op. */
#define HELD_FIELDS_MAX (MAX_ARGS - 2)

struct held_buf {
	char key[KEY_MAX];
	char field[HELD_FIELDS_MAX][STORE_HELD_FIELD_MAX];
	char val[U64_STR_MAX];
};

/* How many ops from ops[0] (n > 0) one command takes: adjacent ops of one
 * session and kind, PUT or DEL, as many as the arguments allow. */
static unsigned held_run(const struct store_held_op *ops, unsigned n)
{
	unsigned max = ops[0].kind == STORE_HELD_PUT   ? HELD_FIELDS_MAX / 2
	               : ops[0].kind == STORE_HELD_DEL ? HELD_FIELDS_MAX
	                                               : 1;
	unsigned k = 1;

	while (k < n && k < max && ops[k].sid == ops[0].sid && ops[k].kind == ops[0].kind)
		k++;
	return k;
}

/* One command for the k ops of a run (held_run). */
static int held_cmd(const struct store_held_op *ops, unsigned k, struct held_buf *b,
                    struct st_cmd *c)
{
	int rc = key_held(b->key, ops[0].sid);

	if (rc)
		return rc;
	for (unsigned i = 0; i < k; i++)
		if (ops[i].role > 1)
			return -SGA_E_BAD_FIELD;
	switch (ops[0].kind) {
	case STORE_HELD_PUT:
	case STORE_HELD_DEL:
		cmd_init(c);
		cmd_str(c, ops[0].kind == STORE_HELD_PUT ? "HSET" : "HDEL");
		cmd_str(c, b->key);
		for (unsigned i = 0; i < k; i++) {
			snprintf(b->field[i], sizeof(b->field[i]), "%u:%" PRIu64, ops[i].role,
			         ops[i].e2e_seq);
			cmd_str(c, b->field[i]);
			if (ops[i].kind == STORE_HELD_PUT)
				cmd_arg(c, ops[i].rec, ops[i].rec_len);
		}
		return 0;
	case STORE_HELD_MARK:
		snprintf(b->field[0], sizeof(b->field[0]), "m%u", ops[0].role);
		snprintf(b->val, sizeof(b->val), "%" PRIu64, ops[0].e2e_seq);
		cmd_eval(c, LUA_HELD_MARK, b->key);
		cmd_str(c, b->field[0]);
		cmd_str(c, b->val);
		return 0;
	default:
		return -SGA_E_BAD_FIELD;
	}
}

int store_held_write(struct store *st, const struct store_held_op *ops, unsigned n,
                     unsigned *commands)
{
	struct held_buf buf[STORE_HELD_PIPE];
	struct st_cmd cmds[STORE_HELD_PIPE];
	redisReply *rep[STORE_HELD_PIPE];
	unsigned sent = 0;
	int rc = 0;

	for (unsigned at = 0; at < n && !rc;) {
		unsigned k = 0;

		for (; k < STORE_HELD_PIPE && at < n; k++) {
			unsigned run = held_run(ops + at, n - at);

			if ((rc = held_cmd(ops + at, run, &buf[k], &cmds[k])))
				return rc;
			at += run;
		}
		rc = st_run(st, cmds, k, rep);
		rep_free(rep, k);
		if (rc)
			break;
		sent += k;
		if (!st->cl) {
			st->held_dirty = 1;
			continue;
		}
		for (unsigned i = 0; i < k; i++) {
			char name[STC_NODE_NAME];
			int node = stc_key_owner(st->cl, buf[i].key, strlen(buf[i].key), name);

			if (node >= 0 && node < 64)
				st->held_nodes |= 1ull << node;
		}
	}
	if (commands)
		*commands = sent;
	return rc;
}

/* WAIT on one connection (node NULL: the one server). */
static int held_wait_on(struct store *st, const char *node, unsigned replicas, unsigned timeout_ms,
                        unsigned *acked)
{
	char nrep[U64_STR_MAX], tmo[U64_STR_MAX];
	redisReply *rep[1] = {NULL};
	struct st_cmd c;
	long long v;
	int rc;

	snprintf(nrep, sizeof(nrep), "%u", replicas);
	snprintf(tmo, sizeof(tmo), "%u", timeout_ms ? timeout_ms : 1);
	cmd_init(&c);
	cmd_str(&c, "WAIT");
	cmd_str(&c, nrep);
	cmd_str(&c, tmo);
	rc = st_run_on(st, node, &c, 1, rep);
	if (!rc && reply_int(rep[0], &v))
		rc = -SGA_E_INTERNAL;
	rep_free(rep, 1);
	if (rc)
		return rc;
	if (v < 0)
		v = 0;
	if ((unsigned long long)v < *acked)
		*acked = (unsigned)v;
	return (unsigned long long)v >= replicas ? 0 : -SGA_E_NOSPACE;
}

int store_held_wait(struct store *st, unsigned replicas, unsigned timeout_ms, unsigned *acked)
{
	int rc;

	*acked = UINT_MAX;
	if (!replicas) {
		st->held_dirty = 0;
		st->held_nodes = 0;
		return 0;
	}
	if (!st->cl) {
		if (!st->held_dirty)
			return 0;
		rc = held_wait_on(st, NULL, replicas, timeout_ms, acked);
		if (!rc)
			st->held_dirty = 0;
		return rc;
	}
	for (uint64_t m = st->held_nodes; m;) {
		unsigned k = (unsigned)__builtin_ctzll(m);
		char name[STC_NODE_NAME];

		m &= m - 1;
		if (stc_node_name(st->cl, k, name))
			continue; /* gone from the table: nothing to wait on */
		rc = held_wait_on(st, name, replicas, timeout_ms, acked);
		if (rc)
			return rc;
		st->held_nodes &= ~(1ull << k);
	}
	return 0;
}

/* "<role>:<e2e_seq>" or "m<role>" */
static int held_field_parse(const char *f, size_t len, int *mark, uint8_t *role, uint64_t *seq)
{
	*mark = len == 2 && f[0] == 'm';
	if (*mark) {
		if (f[1] != '0' && f[1] != '1')
			return -1;
		*role = (uint8_t)(f[1] - '0');
		return 0;
	}
	if (len < 3 || (f[0] != '0' && f[0] != '1') || f[1] != ':')
		return -1;
	*role = (uint8_t)(f[0] - '0');
	return parse_u64(f + 2, len - 2, seq);
}

int store_held_load(struct store *st, uint64_t sid,
                    int (*fn)(void *arg, uint8_t role, uint64_t e2e_seq, const uint8_t *rec,
                              size_t rec_len),
                    void *arg, uint64_t mark[2], unsigned *bad)
{
	char key[KEY_MAX], cursor[32] = "0";
	int rc;

	mark[0] = mark[1] = 0;
	if (bad)
		*bad = 0;
	CHECK(key_held(key, sid));
	do {
		redisReply *rep[1] = {NULL};
		struct st_cmd c;
		const redisReply *kv;

		cmd_init(&c);
		cmd_str(&c, "HSCAN");
		cmd_str(&c, key);
		cmd_str(&c, cursor);
		cmd_str(&c, "COUNT");
		cmd_str(&c, "256");
		if ((rc = run1(st, &c, rep)))
			goto out;
		if (rep[0]->type != REDIS_REPLY_ARRAY || rep[0]->elements != 2 ||
		    rep[0]->element[0]->type != REDIS_REPLY_STRING ||
		    rep[0]->element[0]->len >= sizeof(cursor) ||
		    rep[0]->element[1]->type != REDIS_REPLY_ARRAY ||
		    rep[0]->element[1]->elements % 2) {
			rep_free(rep, 1);
			rc = -SGA_E_INTERNAL;
			goto out;
		}
		memcpy(cursor, rep[0]->element[0]->str, rep[0]->element[0]->len);
		cursor[rep[0]->element[0]->len] = '\0';
		kv = rep[0]->element[1];
		for (size_t i = 0; i + 1 < kv->elements && !rc; i += 2) {
			const redisReply *f = kv->element[i], *v = kv->element[i + 1];
			uint64_t seq = 0;
			uint8_t role;
			int is_mark;

			if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
			    held_field_parse(f->str, f->len, &is_mark, &role, &seq) ||
			    (is_mark && parse_u64(v->str, v->len, &seq))) {
				if (bad)
					(*bad)++;
				continue;
			}
			if (is_mark) {
				if (seq > mark[role])
					mark[role] = seq;
				continue;
			}
			rc = fn(arg, role, seq, (const uint8_t *)v->str, v->len);
		}
		rep_free(rep, 1);
	} while (!rc && strcmp(cursor, "0"));
out:
	return rc;
}

/* SCAN of one server, or of one cluster master (node). */
static int scan_node(struct store *st, const char *node, const char *match,
                     int (*fn)(void *arg, const char *key), void *arg)
{
	char cursor[32] = "0";
	int rc = 0;

	do {
		redisReply *rep[1] = {NULL};
		struct st_cmd c;
		const redisReply *keys;

		cmd_init(&c);
		cmd_str(&c, "SCAN");
		cmd_str(&c, cursor);
		cmd_str(&c, "MATCH");
		cmd_str(&c, match);
		cmd_str(&c, "COUNT");
		cmd_str(&c, "1000");
		if ((rc = st_run_on(st, node, &c, 1, rep)))
			return rc;
		/* SCAN answers [next cursor, [keys...]]; "0" ends the iteration. */
		if (rep[0]->type != REDIS_REPLY_ARRAY || rep[0]->elements != 2 ||
		    rep[0]->element[0]->type != REDIS_REPLY_STRING ||
		    rep[0]->element[0]->len >= sizeof(cursor) ||
		    rep[0]->element[1]->type != REDIS_REPLY_ARRAY) {
			rep_free(rep, 1);
			return -SGA_E_INTERNAL;
		}
		memcpy(cursor, rep[0]->element[0]->str, rep[0]->element[0]->len);
		cursor[rep[0]->element[0]->len] = '\0';
		keys = rep[0]->element[1];
		for (size_t i = 0; i < keys->elements && !rc; i++)
			if (keys->element[i]->type == REDIS_REPLY_STRING)
				rc = fn(arg, keys->element[i]->str);
		rep_free(rep, 1);
	} while (!rc && strcmp(cursor, "0"));
	return rc;
}

/* A cluster's keys are on its masters: SCAN each in turn. */
int store_scan(struct store *st, const char *match, int (*fn)(void *arg, const char *key),
               void *arg)
{
	char names[STC_NODES_MAX][STC_NODE_NAME];
	unsigned n;
	int rc;

	if (!st->cl)
		return scan_node(st, NULL, match, fn, arg);
	if ((rc = st_masters(st, names, &n)))
		return rc;
	for (unsigned i = 0; i < n && !rc; i++)
		rc = scan_node(st, names[i], match, fn, arg);
	return rc;
}

/* ---- without a connection (store.h: for the fuzzer) ---------------------------- */

int store_rec_dev_decode(const uint8_t *p, size_t len, struct sga_gw_device *d)
{
	return dev_decode(p, len, d);
}

int store_rec_dev_encode(const struct sga_gw_device *d, uint8_t *out, size_t cap, size_t *len)
{
	return dev_encode(d, out, cap, len);
}

int store_rec_sess_decode(const uint8_t *p, size_t len, struct sga_gw_session *s)
{
	return sess_decode(p, len, s);
}

int store_rec_sess_encode(const struct sga_gw_session *s, uint8_t *out, size_t cap, size_t *len)
{
	return sess_encode(s, out, cap, len);
}

int store_rec_seal(const struct store *st, const char *key, const uint8_t *pt, size_t pt_len,
                   uint8_t *out, size_t cap, size_t *out_len)
{
	return rec_seal(st, key, pt, pt_len, out, cap, out_len);
}

int store_rec_open(const struct store *st, const char *key, const uint8_t *in, size_t in_len,
                   uint8_t *pt, size_t cap, size_t *pt_len)
{
	return rec_open(st, key, in, in_len, pt, cap, pt_len);
}

int store_addr_parse(const char *s, size_t len, struct dp_addr *a)
{
	return addr_parse(s, len, a);
}

void store_addr_format(const struct dp_addr *a, char out[STORE_ADDR_STR_MAX])
{
	addr_format(a, out);
}

int store_u64_parse(const char *s, size_t len, uint64_t *v)
{
	return parse_u64(s, len, v);
}
