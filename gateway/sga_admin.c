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
 * only through DPDK's telemetry socket (/sga/stats, /sga/engines).
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
};

#define TOKEN_BYTES 16 /* 32 hex characters: within SGA_TOKEN_MAX */

static int json;

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
	        "  devices             registered devices: suites, last address, counters\n"
	        "  device ID           one registered device\n"
	        "  sessions            established sessions: devices, suite, addresses, and the\n"
	        "                      hop sequence accepted from each device (its messages)\n"
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
	        "device, session or entry; 4 Redis or the gateway cannot be reached.\n");
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
	if (json) {
		printf("%s{\"id\":", first ? "" : ",");
		json_str(rec.id, rec.id_len);
		printf(",\"suites\":[");
		for (unsigned i = 0; i < rec.n_suites; i++)
			printf("%s\"%s\"", i ? "," : "", suite_name(rec.suites[i]));
		printf("],\"hop_suite\":\"%s\",\"address\":\"%s\",\"up_ctr\":%" PRIu64
		       ",\"down_ctr\":%" PRIu64 "}",
		       suite_name(rec.suite_init), addr, rec.up_ctr, rec.down_ctr);
	} else {
		printf("%-32.*s %-21s %-18s up %" PRIu64 " down %" PRIu64 "\n", rec.id_len,
		       (const char *)rec.id, addr, suite_name(rec.suite_init), rec.up_ctr,
		       rec.down_ctr);
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
		printf("%-32s %-21s %-18s counters\n", "device", "address", "hop suite");
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

/* ---- sessions ----------------------------------------------------------------- */

static int sessions_list(struct store *st)
{
	unsigned n = 0, cap = 1024;
	uint64_t *ids = NULL;
	int rc, shown = 0;

	/* store_session_list says how many there are when cap is short. */
	for (;;) {
		uint64_t *q = realloc(ids, cap * sizeof(*ids));

		if (!q) {
			free(ids);
			return EX_FAIL;
		}
		ids = q;
		n = cap;
		rc = store_session_list(st, ids, &n);
		if (rc != -SGA_E_NOSPACE)
			break;
		cap = n + 1024;
	}
	if (rc) {
		fprintf(stderr, "sga-admin: sessions: %s\n", sga_err_desc(rc));
		free(ids);
		return store_exit(rc);
	}
	if (json)
		printf("{\"sessions\":[");
	else
		printf("%-16s %-20s %-20s %-18s %-21s %-21s %s\n", "session", "initiator",
		       "responder", "suite", "initiator address", "responder address",
		       "hop seq in (i / r)");
	for (unsigned i = 0; i < n; i++) {
		struct sga_gw_session *s = calloc(1, sizeof(*s));
		uint64_t rx[2];
		struct dp_addr a[2];
		char addr[2][64];

		if (!s)
			break;
		rc = store_session_get(st, ids[i], s);
		if (!rc)
			rc = store_session_get_marks(st, ids[i], rx, a);
		if (!rc) {
			addr_str(&a[0], addr[0], sizeof(addr[0]));
			addr_str(&a[1], addr[1], sizeof(addr[1]));
			if (json) {
				printf("%s{\"session\":\"%016" PRIx64 "\",\"initiator\":",
				       shown ? "," : "", ids[i]);
				json_str(s->id[0], s->id_len[0]);
				printf(",\"responder\":");
				json_str(s->id[1], s->id_len[1]);
				printf(",\"suite\":\"%s\",\"address\":[\"%s\",\"%s\"],\"rx_next\":["
				       "%" PRIu64 ",%" PRIu64 "]}",
				       suite_name(s->suite), addr[0], addr[1], rx[0], rx[1]);
			} else {
				printf("%016" PRIx64 " %-20.*s %-20.*s %-18s %-21s %-21s %" PRIu64
				       " / %" PRIu64 "\n",
				       ids[i], s->id_len[0], (const char *)s->id[0], s->id_len[1],
				       (const char *)s->id[1], suite_name(s->suite), addr[0],
				       addr[1], rx[0], rx[1]);
			}
			shown++;
		}
		sga_memzero(s, sizeof(*s)); /* it holds k_t and the hop keys */
		free(s);
	}
	if (json)
		printf("]}\n");
	free(ids);
	return EX_OK;
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

static int telemetry(const struct gw_config *cfg, const char *cmd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char prefix[64], *buf;
	const char *run = getuid() == 0 ? "/var/run" : getenv("XDG_RUNTIME_DIR");
	ssize_t r;
	int fd;

	file_prefix(cfg, prefix, sizeof(prefix));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dpdk/%s/dpdk_telemetry.v2",
	         run ? run : "/tmp", prefix);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr,
		        "sga-admin: no running gateway at %s: %s (is it running with [eal] args "
		        "--file-prefix=%s?)\n",
		        sa.sun_path, strerror(errno), prefix);
		if (fd >= 0)
			close(fd);
		return EX_UNREACHABLE;
	}
	buf = malloc(1 << 20);
	/* The socket first says who it is ({"version": ...}), then answers. */
	if (!buf || read(fd, buf, 1 << 20) < 0 || write(fd, cmd, strlen(cmd)) < 0 ||
	    (r = read(fd, buf, (1 << 20) - 1)) <= 0) {
		fprintf(stderr, "sga-admin: telemetry %s: %s\n", cmd, strerror(errno));
		free(buf);
		close(fd);
		return EX_UNREACHABLE;
	}
	close(fd);
	buf[r] = '\0';
	/* The answer is {"<cmd>": {...}}: print the inner document. */
	{
		char *v = strchr(buf, ':');
		size_t len;

		v = v ? v + 1 : buf;
		len = strlen(v);
		if (len && v[len - 1] == '}')
			v[--len] = '\0';
		if (!strcmp(v, "null")) {
			fprintf(stderr, "sga-admin: the gateway does not know %s\n", cmd);
			free(buf);
			return EX_FAIL;
		}
		printf("%s\n", v);
	}
	free(buf);
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
	if (!strcmp(cmd, "device"))
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
	char redis_password[STORE_PASSWORD_MAX + 1] = "";
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
		if (!strcmp(cmd, "stats") || !strcmp(cmd, "engines"))
			return telemetry(&cfg,
			                 !strcmp(cmd, "stats") ? "/sga/stats" : "/sga/engines");
		gw_store_config(&cfg, &sc);
		if ((rc = store_load_master_key(cfg.master_key, sc.master_key))) {
			fprintf(stderr, "sga-admin: %s: cannot load the master key: %s\n",
			        cfg.master_key, strerror(-rc));
			return EX_FAIL;
		}
		if (gw_store_auth(&cfg, &sc, redis_password, "sga-admin")) {
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
			if (json)
				printf(rc == EX_OK ? "}\n" : "null}\n");
		} else if (!strcmp(cmd, "sessions") && npos == 0)
			rc = sessions_list(st);
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
