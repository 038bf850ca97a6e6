/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_admin.c - sga-admin, the operator's command for a gateway: enrollment
 * tokens for the allow-list, what is registered and established, and the
 * running gateway's counters.
 *
 * It reads the gateway's own configuration file for where Redis is, the master
 * key that seals the records there, and the EAL file prefix under which the
 * running gateway's telemetry socket lives. It reads and writes Redis through
 * the gateway's own store code (controlplane/store.c), so records are sealed
 * and checked exactly as the gateway does; it talks to the running gateway
 * only through DPDK's telemetry socket (/sga/stats, /sga/engines, and
 * /sga/close, /sga/revoke, /sga/session for the session lifecycle).
 *
 * Enrollment tokens are secrets: a new token is written once, to a new file of
 * mode 0600 (or to standard output when no file is named), and only its SHA-256
 * reaches Redis. Nothing here logs a token or a key.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "cp_lifecycle.h"
#include "gw_config.h"
#include "gw_store.h"
#include "sga_crypto.h"
#include "sga_err.h"
#include "sga_hex.h"
#include "sga_wire.h"
#include "store.h"

/* Exit codes (also in --help and the man page). */
enum {
	EX_OK = 0,
	EX_FAIL = 1,
	EX_USAGE = 2,
	EX_NOT_FOUND = 3,
	EX_UNREACHABLE = 4,
	EX_ELSEWHERE = 5,
};

#define TOKEN_BYTES 16 /* 32 hex characters: within SGA_TOKEN_MAX */

static int json;
static uint8_t first_group; /* [gateway] groups' first: a device record without a group */

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: sga-admin [-c FILE] [--json] COMMAND [ARGS]\n"
	        "The operator's command for an SGA gateway: enrollment tokens, registered\n"
	        "devices, established sessions, and the running gateway's counters.\n\n"
	        "Commands:\n"
	        "  enroll add ID [--token-file FILE]\n"
	        "                      allow-list ID with a new one-time enrollment token:\n"
	        "                      the token goes to FILE (created, mode 0600; it must not\n"
	        "                      exist) or, without --token-file, to standard output,\n"
	        "                      once; Redis keeps only its SHA-256. The device registers\n"
	        "                      with sga-device --token-file FILE\n"
	        "  enroll del ID       remove ID's allow-list entry (an unused token)\n"
	        "  enroll list         identities with an unused token\n"
	        "  devices             registered devices: suites, group (profile), last address,\n"
	        "                      counters\n"
	        "  device ID           one registered device (revoked or not) and its sessions\n"
	        "  sessions            established sessions: devices, suite, addresses, the hop\n"
	        "                      sequence accepted from each device, and from the running\n"
	        "                      gateway their age, idle time, traffic (frames/bytes from\n"
	        "                      each device) and backlog (stored, undelivered messages)\n"
	        "  close SESSION_ID    close a session (16 hex digits): both devices are told\n"
	        "                      (SESSION_CLOSED \"operator\"), nothing of it stays in\n"
	        "                      Redis, its stored messages are released\n"
	        "  revoke ID           revoke a device: every session of it closed (\"revoked\"),\n"
	        "                      its record kept and refused until \"enroll add ID\"\n"
	        "                      re-enrols it; without a running gateway only Redis is\n"
	        "                      changed (a restart then restores none of its sessions)\n"
	        "  stats               the running gateway's counters (telemetry /sga/stats)\n"
	        "  engines             which engine serves each operation (/sga/engines)\n\n"
	        "Options:\n"
	        "  -c, --config FILE   the gateway's configuration (default " SGA_DEFAULT_CONFIG
	        "):\n"
	        "                      its [redis] section, master_key and [eal] --file-prefix\n"
	        "      --json          machine-readable output (one JSON document)\n"
	        "  -h, --help          this text\n"
	        "  -V, --version       print the version\n\n"
	        "Exit status: 0 done; 1 failure; 2 bad arguments or configuration; 3 no such\n"
	        "device, session or entry; 4 Redis or the gateway cannot be reached; 5 the\n"
	        "session is owned by another gateway of the cluster (run the command there).\n");
}

/* ---- output ------------------------------------------------------------------ */

/* Ids are printable ASCII by the protocol; escape what JSON needs anyway. */
static void json_str(const uint8_t *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			putchar('\\');
		if (s[i] < 0x20 || s[i] > 0x7e)
			printf("\\u%04x", s[i]);
		else
			putchar(s[i]);
	}
	putchar('"');
}

static void addr_str(const struct dp_addr *a, char *out, size_t n)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (!a->port) {
		snprintf(out, n, "-");
		return;
	}
	/* IPv4 a.b.c.d:port, IPv6 [addr]:port (RFC 5952 6), the VLAN ID after. */
	if (a->family == DP_AF_IPV6)
		inet_ntop(AF_INET6, a->ip, ip, sizeof(ip));
	else
		inet_ntop(AF_INET, a->ip + 12, ip, sizeof(ip));
	if (a->family == DP_AF_IPV6)
		snprintf(out, n, "[%s]:%u", ip, ntohs(a->port));
	else
		snprintf(out, n, "%s:%u", ip, ntohs(a->port));
	if (a->vlan && strlen(out) < n)
		snprintf(out + strlen(out), n - strlen(out), " vlan %u", a->vlan & 0x0fffu);
}

static const char *suite_name(uint8_t id)
{
	const struct sga_suite_info *s = sga_suite_get(id);

	return s ? s->name : "?";
}

static int store_exit(int rc)
{
	if (rc == -SGA_E_UNAVAILABLE)
		return EX_UNREACHABLE;
	if (rc == -SGA_E_UNKNOWN_DEVICE || rc == -SGA_E_UNKNOWN_SESSION)
		return EX_NOT_FOUND;
	return rc ? EX_FAIL : EX_OK;
}

static int id_arg(const char *s, uint8_t *len)
{
	size_t n = strlen(s);

	if (n == 0 || n > SGA_ID_MAX) {
		fprintf(stderr, "sga-admin: ID must be 1..%d characters\n", SGA_ID_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e) {
			fprintf(stderr, "sga-admin: ID '%s': printable ASCII without spaces only\n",
			        s);
			return -1;
		}
	*len = (uint8_t)n;
	return 0;
}

/* ---- enroll ------------------------------------------------------------------- */

static int enroll_add(struct store *st, const char *id, const char *token_file)
{
	uint8_t raw[TOKEN_BYTES], idlen;
	char token[2 * TOKEN_BYTES + 2];
	struct sga_gw_enroll e;
	struct sga_buf b = {(const uint8_t *)token, 2 * TOKEN_BYTES};
	int fd = -1, rc;

	if (id_arg(id, &idlen))
		return EX_USAGE;
	/* Re-enrolment of a revoked device: its record goes, so the identity can
	 * register afresh with the new token. */
	{
		struct sga_gw_device d;

		rc = store_device_get(st, (const uint8_t *)id, idlen, &d);
		sga_memzero(d.k_d, sizeof(d.k_d));
		if (!rc && d.revoked) {
			rc = store_device_del(st, (const uint8_t *)id, idlen);
			if (rc) {
				fprintf(stderr, "sga-admin: enroll add %s: %s\n", id,
				        sga_err_desc(rc));
				return store_exit(rc);
			}
			fprintf(stderr, "sga-admin: %s was revoked: its record is removed\n", id);
		}
	}
	if (sga_random_bytes(raw, sizeof(raw))) {
		fprintf(stderr, "sga-admin: CSPRNG failure\n");
		return EX_FAIL;
	}
	sga_hex_encode(raw, sizeof(raw), token);
	sga_memzero(raw, sizeof(raw));
	if (sga_sha256(&b, 1, e.token_hash)) {
		sga_memzero(token, sizeof(token));
		return EX_FAIL;
	}
	/* The file first: a token that cannot be handed over must not be listed. */
	if (token_file) {
		fd = open(token_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			fprintf(stderr, "sga-admin: %s: %s\n", token_file, strerror(errno));
			sga_memzero(token, sizeof(token));
			return EX_FAIL;
		}
	}
	rc = store_enroll_put(st, (const uint8_t *)id, idlen, &e);
	if (rc) {
		fprintf(stderr, "sga-admin: enroll add %s: %s\n", id, sga_err_desc(rc));
		if (fd >= 0) {
			close(fd);
			unlink(token_file);
		}
		sga_memzero(token, sizeof(token));
		return store_exit(rc);
	}
	token[2 * TOKEN_BYTES] = '\n';
	if (fd >= 0) {
		if (write(fd, token, 2 * TOKEN_BYTES + 1) != 2 * TOKEN_BYTES + 1 || fsync(fd)) {
			fprintf(stderr, "sga-admin: %s: %s\n", token_file, strerror(errno));
			close(fd);
			sga_memzero(token, sizeof(token));
			return EX_FAIL;
		}
		close(fd);
		if (json)
			printf("{\"id\":\"%s\",\"token_file\":\"%s\"}\n", id, token_file);
		else
			printf(
			    "sga-admin: %s allow-listed; its one-time token is in %s (mode 0600)\n",
			    id, token_file);
	} else {
		token[2 * TOKEN_BYTES] = '\0';
		if (json)
			printf("{\"id\":\"%s\",\"token\":\"%s\"}\n", id, token);
		else
			printf("%s\n", token);
		fprintf(stderr, "sga-admin: %s allow-listed; the token above is shown once\n", id);
	}
	sga_memzero(token, sizeof(token));
	return EX_OK;
}

/* Collects the ids of the keys "sga:{<kind>:<id>}" that SCAN finds. */
struct id_list {
	const char *prefix; /* "sga:{enroll:" */
	unsigned n, cap;
	char (*ids)[SGA_ID_MAX + 1];
};

static int collect_id(void *arg, const char *key)
{
	struct id_list *l = arg;
	size_t p = strlen(l->prefix), n = strlen(key);

	if (n <= p + 1 || strncmp(key, l->prefix, p) || key[n - 1] != '}' || n - p - 1 > SGA_ID_MAX)
		return 0;
	if (l->n == l->cap) {
		unsigned cap = l->cap ? 2 * l->cap : 64;
		void *q = realloc(l->ids, cap * sizeof(*l->ids));

		if (!q)
			return -ENOMEM;
		l->ids = q;
		l->cap = cap;
	}
	memcpy(l->ids[l->n], key + p, n - p - 1);
	l->ids[l->n][n - p - 1] = '\0';
	l->n++;
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int list_ids(struct store *st, const char *kind, struct id_list *l)
{
	char match[32];
	int rc;

	memset(l, 0, sizeof(*l));
	snprintf(match, sizeof(match), "sga:{%s:*}", kind);
	l->prefix = kind[0] == 'e' ? "sga:{enroll:" : "sga:{dev:";
	rc = store_scan(st, match, collect_id, l);
	if (rc) {
		fprintf(stderr, "sga-admin: listing %s: %s\n", kind,
		        rc == -ENOMEM ? "out of memory" : sga_err_desc(rc));
		free(l->ids);
		return store_exit(rc);
	}
	qsort(l->ids, l->n, sizeof(*l->ids), cmp_id);
	return EX_OK;
}

static int enroll_list(struct store *st)
{
	struct id_list l;
	int rc = list_ids(st, "enroll", &l);

	if (rc)
		return rc;
	if (json) {
		printf("{\"enroll\":[");
		for (unsigned i = 0; i < l.n; i++) {
			printf(i ? "," : "");
			json_str((const uint8_t *)l.ids[i], strlen(l.ids[i]));
		}
		printf("]}\n");
	} else {
		for (unsigned i = 0; i < l.n; i++)
			printf("%s\n", l.ids[i]);
	}
	free(l.ids);
	return EX_OK;
}

/* ---- devices ------------------------------------------------------------------ */

static int device_print(struct store *st, const char *id, int first)
{
	const struct sga_group_info *g;
	struct sga_gw_device rec;
	struct dp_addr a;
	char addr[64];
	uint8_t idlen;
	int rc;

	if (id_arg(id, &idlen))
		return EX_USAGE;
	rc = store_device_get(st, (const uint8_t *)id, idlen, &rec);
	if (!rc)
		rc = store_device_get_addr(st, (const uint8_t *)id, idlen, &a);
	sga_memzero(rec.k_d, sizeof(rec.k_d)); /* never printed, never kept */
	if (rc) {
		fprintf(stderr, "sga-admin: device %s: %s\n", id, sga_err_desc(rc));
		return store_exit(rc);
	}
	addr_str(&a, addr, sizeof(addr));
	g = sga_group_get(rec.group ? rec.group : first_group);
	if (json) {
		printf("%s{\"id\":", first ? "" : ",");
		json_str(rec.id, rec.id_len);
		printf(",\"suites\":[");
		for (unsigned i = 0; i < rec.n_suites; i++)
			printf("%s\"%s\"", i ? "," : "", suite_name(rec.suites[i]));
		printf(
		    "],\"hop_suite\":\"%s\",\"group\":\"%s\",\"address\":\"%s\",\"up_ctr\":%" PRIu64
		    ",\"down_ctr\":%" PRIu64 ",\"revoked\":%s}",
		    suite_name(rec.suite_init), g ? g->name : "unknown", addr, rec.up_ctr,
		    rec.down_ctr, rec.revoked ? "true" : "false");
	} else {
		printf("%-32.*s %-21s %-18s %-10s up %" PRIu64 " down %" PRIu64 "%s\n", rec.id_len,
		       (const char *)rec.id, addr, suite_name(rec.suite_init),
		       g ? g->name : "unknown", rec.up_ctr, rec.down_ctr,
		       rec.revoked ? " REVOKED" : "");
	}
	return EX_OK;
}

static int devices_list(struct store *st)
{
	struct id_list l;
	int rc = list_ids(st, "dev", &l), worst = EX_OK;

	if (rc)
		return rc;
	if (json)
		printf("{\"devices\":[");
	else
		printf("%-32s %-21s %-18s %-10s counters\n", "device", "address", "hop suite",
		       "group");
	for (unsigned i = 0, shown = 0; i < l.n; i++) {
		rc = device_print(st, l.ids[i], shown == 0);
		if (rc == EX_OK)
			shown++;
		else if (rc != EX_NOT_FOUND) /* removed while listing: skip it */
			worst = rc;
	}
	if (json)
		printf("]}\n");
	free(l.ids);
	return worst;
}

/* ---- the running gateway: DPDK telemetry -------------------------------------- */

/* The --file-prefix of [eal] args ("rte" when none is given, as EAL does). */
static void file_prefix(const struct gw_config *cfg, char *out, size_t n)
{
	const char *p = strstr(cfg->eal_args, "--file-prefix");
	size_t k = 0;

	snprintf(out, n, "rte");
	if (!p)
		return;
	p += strlen("--file-prefix");
	while (*p == '=' || *p == ' ')
		p++;
	while (p[k] && p[k] != ' ' && k + 1 < n)
		k++;
	if (k) {
		memcpy(out, p, k);
		out[k] = '\0';
	}
}

#define TEL_BUF (1 << 20)

/* A connection to the running gateway's telemetry socket (its greeting read),
 * or -1 (quiet: say nothing when the caller can do without the gateway). */
static int tel_open(const struct gw_config *cfg, int quiet)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *run = getuid() == 0 ? "/var/run" : getenv("XDG_RUNTIME_DIR");
	char prefix[64], *buf = malloc(TEL_BUF);
	int fd;

	file_prefix(cfg, prefix, sizeof(prefix));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dpdk/%s/dpdk_telemetry.v2",
	         run ? run : "/tmp", prefix);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (!buf || fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    read(fd, buf, TEL_BUF) < 0) {
		if (!quiet)
			fprintf(stderr,
			        "sga-admin: no running gateway at %s: %s (is it running with [eal] "
			        "args --file-prefix=%s?)\n",
			        sa.sun_path, strerror(errno), prefix);
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	free(buf);
	return fd;
}

/* Run cmd on fd; the answer's inner document ({"<cmd>": DOC}) into out (cap
 * bytes). 0, or -1 (the gateway does not know cmd, or the socket failed). */
static int tel_query(int fd, const char *cmd, char *out, size_t cap)
{
	char *buf = malloc(TEL_BUF), *v;
	ssize_t r;
	size_t len;

	if (!buf || write(fd, cmd, strlen(cmd)) < 0 || (r = read(fd, buf, TEL_BUF - 1)) <= 0) {
		free(buf);
		return -1;
	}
	buf[r] = '\0';
	v = strchr(buf, ':');
	v = v ? v + 1 : buf;
	len = strlen(v);
	if (len && v[len - 1] == '}')
		v[--len] = '\0';
	if (!strcmp(v, "null") || len + 1 > cap) {
		free(buf);
		return -1;
	}
	memcpy(out, v, len + 1);
	free(buf);
	return 0;
}

static int telemetry(const struct gw_config *cfg, const char *cmd)
{
	int fd = tel_open(cfg, 0), rc;
	char *doc = malloc(TEL_BUF);

	if (fd < 0 || !doc) {
		free(doc);
		if (fd >= 0)
			close(fd);
		return EX_UNREACHABLE;
	}
	rc = tel_query(fd, cmd, doc, TEL_BUF);
	close(fd);
	if (rc) {
		fprintf(stderr, "sga-admin: the gateway does not know %s\n", cmd);
		free(doc);
		return EX_FAIL;
	}
	printf("%s\n", doc);
	free(doc);
	return EX_OK;
}

/* The u64 value of "key" in a flat JSON document, or 0. */
static uint64_t doc_u64(const char *doc, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(doc, pat);
	return p ? strtoull(p + strlen(pat), NULL, 10) : 0;
}

/* The exit code a lifecycle command's {"result": ...} stands for. */
static int doc_result(const char *doc, const char *what)
{
	if (strstr(doc, "\"result\":\"ok\""))
		return EX_OK;
	if (strstr(doc, "not found")) {
		fprintf(stderr, "sga-admin: %s: no such session or device\n", what);
		return EX_NOT_FOUND;
	}
	if (strstr(doc, "redis unavailable")) {
		fprintf(stderr, "sga-admin: %s: the gateway cannot reach Redis\n", what);
		return EX_UNREACHABLE;
	}
	if (strstr(doc, "owned elsewhere")) {
		char owner[64] = "";
		const char *p = strstr(doc, "\"owner\":\"");

		if (p)
			sscanf(p + strlen("\"owner\":\""), "%63[^\"]", owner);
		fprintf(stderr,
		        "sga-admin: %s: owned by gateway %s of the cluster, which is up: run the "
		        "command on that gateway (here it would leave the session running there)\n",
		        what, owner[0] ? owner : "(unknown)");
		return EX_ELSEWHERE;
	}
	if (strstr(doc, "bad argument")) {
		fprintf(stderr, "sga-admin: %s: bad argument\n", what);
		return EX_USAGE;
	}
	fprintf(stderr, "sga-admin: %s: failed\n", what);
	return EX_FAIL;
}

static int sid_arg(const char *s, uint64_t *sid)
{
	char *end;

	if (strlen(s) != 16 || strspn(s, "0123456789abcdefABCDEF") != 16)
		goto bad;
	*sid = strtoull(s, &end, 16);
	if (*end || !*sid)
		goto bad;
	return 0;
bad:
	fprintf(stderr, "sga-admin: '%s' is not a session id (16 hex digits)\n", s);
	return -1;
}

/* close SESSION_ID: through the running gateway, which alone can take it out
 * of the data plane and tell the devices. */
static int session_close(const struct gw_config *cfg, const char *arg)
{
	char cmd[64], doc[512];
	uint64_t sid;
	int fd, rc;

	if (sid_arg(arg, &sid))
		return EX_USAGE;
	fd = tel_open(cfg, 0);
	if (fd < 0)
		return EX_UNREACHABLE;
	snprintf(cmd, sizeof(cmd), "/sga/close,%016" PRIx64, sid);
	rc = tel_query(fd, cmd, doc, sizeof(doc));
	close(fd);
	if (rc) {
		fprintf(stderr, "sga-admin: close: the gateway does not answer /sga/close\n");
		return EX_FAIL;
	}
	rc = doc_result(doc, arg);
	if (rc == EX_OK) {
		if (json)
			printf("{\"closed\":\"%016" PRIx64 "\"}\n", sid);
		else
			printf("sga-admin: session %016" PRIx64 " closed\n", sid);
	}
	return rc;
}

/* revoke ID: through the running gateway (its sessions leave the data plane
 * and both members are told); without one, in Redis alone, so that a start
 * restores none of its sessions and refuses the identity. */
static int device_revoke(const struct gw_config *cfg, struct store *st, const char *id)
{
	char cmd[80], doc[512];
	uint8_t idlen;
	long long closed;
	int fd, rc;

	if (id_arg(id, &idlen))
		return EX_USAGE;
	fd = tel_open(cfg, 1);
	if (fd >= 0) {
		snprintf(cmd, sizeof(cmd), "/sga/revoke,%s", id);
		rc = tel_query(fd, cmd, doc, sizeof(doc));
		close(fd);
		if (rc) {
			fprintf(stderr,
			        "sga-admin: revoke: the gateway does not answer /sga/revoke\n");
			return EX_FAIL;
		}
		rc = doc_result(doc, id);
		if (rc != EX_OK)
			return rc;
		closed = (long long)doc_u64(doc, "sessions_closed");
	} else {
		struct cp_handler h;

		memset(&h, 0, sizeof(h)); /* no data plane, no one to tell */
		closed = cp_device_revoke(&h, st, (const uint8_t *)id, idlen);
		if (closed < 0) {
			fprintf(stderr, "sga-admin: revoke %s: %s\n", id,
			        sga_err_desc((int)closed));
			return store_exit((int)closed);
		}
		fprintf(stderr, "sga-admin: no running gateway: revoked in Redis only\n");
	}
	if (json)
		printf("{\"revoked\":\"%s\",\"sessions_closed\":%lld}\n", id, closed);
	else
		printf("sga-admin: %s revoked, %lld session(s) closed\n", id, closed);
	return EX_OK;
}

/* ---- sessions ----------------------------------------------------------------- */

/* What the running gateway shows of session sid (tel: -1 without one). */
struct live {
	int have;
	uint64_t age_s, idle_s, frames[2], bytes[2], backlog[2];
};

static void live_get(int tel, uint64_t sid, struct live *l)
{
	char cmd[64], doc[1024];

	memset(l, 0, sizeof(*l));
	snprintf(cmd, sizeof(cmd), "/sga/session,%016" PRIx64, sid);
	if (tel < 0 || tel_query(tel, cmd, doc, sizeof(doc)) || !strstr(doc, "\"result\":\"ok\""))
		return;
	l->have = 1;
	l->age_s = doc_u64(doc, "age_s");
	l->idle_s = doc_u64(doc, "idle_s");
	l->frames[0] = doc_u64(doc, "frames_from_0");
	l->frames[1] = doc_u64(doc, "frames_from_1");
	l->bytes[0] = doc_u64(doc, "bytes_from_0");
	l->bytes[1] = doc_u64(doc, "bytes_from_1");
	/* backlog_to_r: held for r, i.e. sent by the other member */
	l->backlog[0] = doc_u64(doc, "backlog_to_0");
	l->backlog[1] = doc_u64(doc, "backlog_to_1");
}

/* Established sessions (only device `only`'s when given), with what the
 * running gateway shows of each when it answers. */
static int sessions_list(struct store *st, const struct gw_config *cfg, const char *only)
{
	unsigned n = 0;
	uint64_t *ids = NULL;
	int rc, shown = 0, tel = tel_open(cfg, 1);

	rc = store_session_list_all(st, &ids, &n);
	if (rc) {
		fprintf(stderr, "sga-admin: sessions: %s\n", sga_err_desc(rc));
		if (tel >= 0)
			close(tel);
		return store_exit(rc);
	}
	if (json)
		printf("%s\"sessions\":[", only ? "" : "{");
	else
		printf("%-16s %-20s %-20s %-18s %-21s %-21s %-18s %-8s %-8s %-27s %s\n", "session",
		       "initiator", "responder", "suite", "initiator address", "responder address",
		       "hop seq in (i / r)", "age s", "idle s", "frames/bytes from i / r",
		       "backlog to i / r");
	for (unsigned i = 0; i < n; i++) {
		struct sga_gw_session *s = calloc(1, sizeof(*s));
		uint64_t rx[2];
		struct dp_addr a[2];
		char addr[2][STORE_ADDR_STR_MAX];

		if (!s)
			break;
		rc = store_session_get(st, ids[i], s);
		if (!rc && only &&
		    !((s->id_len[0] == strlen(only) && !memcmp(s->id[0], only, s->id_len[0])) ||
		      (s->id_len[1] == strlen(only) && !memcmp(s->id[1], only, s->id_len[1]))))
			rc = 1; /* another device's */
		if (!rc)
			rc = store_session_get_marks(st, ids[i], rx, a);
		if (!rc) {
			struct live l;

			live_get(tel, ids[i], &l);
			addr_str(&a[0], addr[0], sizeof(addr[0]));
			addr_str(&a[1], addr[1], sizeof(addr[1]));
			if (json) {
				printf("%s{\"session\":\"%016" PRIx64 "\",\"initiator\":",
				       shown ? "," : "", ids[i]);
				json_str(s->id[0], s->id_len[0]);
				printf(",\"responder\":");
				json_str(s->id[1], s->id_len[1]);
				printf(",\"suite\":\"%s\",\"address\":[\"%s\",\"%s\"],\"rx_next\":["
				       "%" PRIu64 ",%" PRIu64 "],\"key_generation\":%u",
				       suite_name(s->suite), addr[0], addr[1], rx[0], rx[1],
				       (unsigned)s->rk.gen);
				if (l.have)
					printf(",\"age_s\":%" PRIu64 ",\"idle_s\":%" PRIu64
					       ",\"frames\":[%" PRIu64 ",%" PRIu64
					       "],\"bytes\":[%" PRIu64 ",%" PRIu64
					       "],\"backlog\":[%" PRIu64 ",%" PRIu64 "]",
					       l.age_s, l.idle_s, l.frames[0], l.frames[1],
					       l.bytes[0], l.bytes[1], l.backlog[0], l.backlog[1]);
				printf("}");
			} else {
				char live[96] = "-";

				if (l.have)
					snprintf(
					    live, sizeof(live),
					    "%-8" PRIu64 " %-8" PRIu64 " %" PRIu64 "/%" PRIu64
					    " / %" PRIu64 "/%" PRIu64 "  %" PRIu64 " / %" PRIu64,
					    l.age_s, l.idle_s, l.frames[0], l.bytes[0], l.frames[1],
					    l.bytes[1], l.backlog[0], l.backlog[1]);
				printf("%016" PRIx64 " %-20.*s %-20.*s %-18s %-21s %-21s %8" PRIu64
				       " / %-7" PRIu64 " %s\n",
				       ids[i], s->id_len[0], (const char *)s->id[0], s->id_len[1],
				       (const char *)s->id[1], suite_name(s->suite), addr[0],
				       addr[1], rx[0], rx[1], live);
			}
			shown++;
		}
		sga_memzero(s, sizeof(*s)); /* it holds k_t and the hop keys */
		free(s);
	}
	if (json)
		printf(only ? "]" : "]}\n");
	free(ids);
	if (tel >= 0)
		close(tel);
	return EX_OK;
}

/* ---- main --------------------------------------------------------------------- */

/* The commands and the shape of their arguments. */
static int command_ok(const char *cmd, const char *const *pos, unsigned npos)
{
	if (!strcmp(cmd, "enroll"))
		return (npos == 2 && (!strcmp(pos[0], "add") || !strcmp(pos[0], "del"))) ||
		       (npos == 1 && !strcmp(pos[0], "list"));
	if (!strcmp(cmd, "devices") || !strcmp(cmd, "sessions") || !strcmp(cmd, "stats") ||
	    !strcmp(cmd, "engines"))
		return npos == 0;
	if (!strcmp(cmd, "device") || !strcmp(cmd, "close") || !strcmp(cmd, "revoke"))
		return npos == 1;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},     {"json", no_argument, NULL, 'j'},
	    {"token-file", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},          {NULL, 0, NULL, 0}};
	const char *config_path = SGA_DEFAULT_CONFIG, *token_file = NULL, *cmd;
	struct gw_config cfg;
	struct store_config sc;
	char redis_password[GW_STORE_SECRETS_LEN] = "";
	struct store *st;
	char err[512];
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 't':
			token_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case 'V':
			printf("sga-admin %s\n", SGA_VERSION);
			return EX_OK;
		default:
			fprintf(stderr, "sga-admin: see sga-admin --help\n");
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "sga-admin: no command given (see sga-admin --help)\n");
		return EX_USAGE;
	}
	cmd = argv[optind++];
	/* Options may also follow the command ("enroll add ID --token-file F"). */
	for (int i = optind; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--token-file") && i + 1 < argc) {
			token_file = argv[++i];
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "sga-admin: unknown option '%s' (see sga-admin --help)\n",
			        argv[i]);
			return EX_USAGE;
		}
	}

	{
		/* Positional arguments, options set aside. */
		const char *pos[3] = {NULL, NULL, NULL};
		unsigned npos = 0;

		for (int i = optind; i < argc; i++) {
			if (!strcmp(argv[i], "--token-file")) {
				i++;
				continue;
			}
			if (argv[i][0] == '-')
				continue;
			if (npos < 3)
				pos[npos] = argv[i];
			npos++;
		}
		/* A bad command line is told as such before any file or key is read. */
		if (!command_ok(cmd, pos, npos)) {
			fprintf(stderr,
			        "sga-admin: unknown command or arguments '%s%s%s' (see sga-admin "
			        "--help)\n",
			        cmd, npos ? " " : "", npos ? pos[0] : "");
			return EX_USAGE;
		}
		gw_config_defaults(&cfg);
		if (gw_config_load(&cfg, config_path, err, sizeof(err))) {
			fprintf(stderr, "sga-admin: %s\n", err);
			return EX_USAGE;
		}
		first_group = cfg.group;
		if (!strcmp(cmd, "stats") || !strcmp(cmd, "engines"))
			return telemetry(&cfg,
			                 !strcmp(cmd, "stats") ? "/sga/stats" : "/sga/engines");
		if (!strcmp(cmd, "close"))
			return session_close(&cfg, pos[0]);
		gw_store_config(&cfg, &sc);
		if ((rc = store_load_master_key(cfg.master_key, sc.master_key))) {
			fprintf(stderr, "sga-admin: %s: cannot load the master key: %s\n",
			        cfg.master_key, strerror(-rc));
			return EX_FAIL;
		}
		if (gw_store_auth(&cfg, &sc, redis_password)) {
			sga_memzero(sc.master_key, sizeof(sc.master_key));
			return EX_USAGE;
		}
		st = store_open(&sc);
		sga_memzero(sc.master_key, sizeof(sc.master_key));
		sga_memzero(redis_password, sizeof(redis_password));
		if (!st) {
			fprintf(stderr, "sga-admin: out of memory\n");
			return EX_FAIL;
		}
		rc = -1;
		if (!strcmp(cmd, "enroll") && npos == 2 && !strcmp(pos[0], "add"))
			rc = enroll_add(st, pos[1], token_file);
		else if (!strcmp(cmd, "enroll") && npos == 2 && !strcmp(pos[0], "del")) {
			uint8_t n;

			if (id_arg(pos[1], &n))
				rc = EX_USAGE;
			else {
				struct sga_gw_enroll e;
				int r = store_enroll_get(st, (const uint8_t *)pos[1], n, &e);

				if (!r)
					r = store_enroll_del(st, (const uint8_t *)pos[1], n);

				if (r == -SGA_E_UNKNOWN_DEVICE)
					fprintf(stderr,
					        "sga-admin: enroll del %s: no allow-list entry\n",
					        pos[1]);
				else if (r)
					fprintf(stderr, "sga-admin: enroll del %s: %s\n", pos[1],
					        sga_err_desc(r));
				rc = store_exit(r);
			}
		} else if (!strcmp(cmd, "enroll") && npos == 1 && !strcmp(pos[0], "list"))
			rc = enroll_list(st);
		else if (!strcmp(cmd, "devices") && npos == 0)
			rc = devices_list(st);
		else if (!strcmp(cmd, "device") && npos == 1) {
			if (json)
				printf("{\"device\":");
			rc = device_print(st, pos[0], 1);
			if (rc == EX_OK) {
				if (json)
					printf(",");
				else
					printf("\n");
				(void)sessions_list(st, &cfg, pos[0]);
			}
			if (json)
				printf(rc == EX_OK ? "}\n" : "null}\n");
		} else if (!strcmp(cmd, "sessions") && npos == 0)
			rc = sessions_list(st, &cfg, NULL);
		else if (!strcmp(cmd, "revoke") && npos == 1)
			rc = device_revoke(&cfg, st, pos[0]);
		store_close(st);
		if (rc < 0) {
			fprintf(stderr,
			        "sga-admin: unknown command or arguments '%s%s%s' (see "
			        "sga-admin --help)\n",
			        cmd, npos ? " " : "", npos ? pos[0] : "");
			return EX_USAGE;
		}
	}
	return rc;
}
