/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_device_main.c - `sga-device`, a device on the command line: register an
 * identity with an SGA gateway, open a session with a peer device (or wait for
 * one), send messages from arguments, a file or stdin, and print what the peer
 * sends, one message per line. Built on the SDK in sga_client.h and nothing
 * else; it doubles as the SDK's example program.
 *
 * Output: received messages on stdout, progress and errors on stderr. The exit
 * status says whether everything asked for was done (see usage()).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sga_client.h"
#include "sga_crypto.h"
#include "sga_err.h"
#include "sga_wire.h"

#ifndef SGA_VERSION
#define SGA_VERSION "unknown"
#endif

#define PROG            "sga-device"
#define DEFAULT_GATEWAY "10.77.0.1:7000"
#define ADDR_TEXT_MAX   64 /* an IPv6 address with a zone, without brackets */

enum exit_code {
	EXIT_OK = 0,
	EXIT_FAIL = 1,        /* incomplete, or another error */
	EXIT_USAGE = 2,       /* bad arguments */
	EXIT_TIMEOUT = 3,     /* the gateway (or the peer) did not answer in time */
	EXIT_UNREACHABLE = 4, /* nothing listens at the gateway address */
	EXIT_REFUSED = 5,     /* the gateway refused: registration, session, package */
	EXIT_CLOSED = 6,      /* the gateway closed the session before all was done */
};

/* The help text; "Usage: sga-device" is what scripts look for. */
static const char usage_text[] =
    "Usage: sga-device [OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "A device of an SGA security gateway: registers an identity, opens an\n"
    "end-to-end encrypted session with another device through the gateway,\n"
    "and exchanges messages with it.\n"
    "\n"
    "Commands:\n"
    "  register              register --id with the gateway (again: re-register,\n"
    "                        same key, acknowledged; listen tells the gateway\n"
    "                        where the device is now)\n"
    "  connect PEER          open a session with device PEER; send the messages of\n"
    "                        --send/--send-file/--count; receive --recv N messages\n"
    "  listen                wait for a session from any device; send as connect\n"
    "                        does, receive --recv N messages (or until interrupted)\n"
    "  rekey-key             replace the device's long-term key (k_d): a fresh key\n"
    "                        to the gateway, authorised by the current one; the\n"
    "                        state file gets the new key (keep it: the old one no\n"
    "                        longer works)\n"
    "  wake                  tell the gateway where the registered device is now\n"
    "                        (WAKE from this socket, answered by WAKE_ACK) and ask\n"
    "                        for what waits for it; prints the gateway's counts\n"
    "                        of invitations re-sent and sessions with stored\n"
    "                        messages\n"
    "  fingerprint           print the SHA-256 fingerprint of --package FILE,\n"
    "                        the value --pin expects\n"
    "\n"
    "Options:\n"
    "  -g, --gateway IP:PORT the gateway's UDP address, IPv4 or IPv6 in brackets:\n"
    "                        10.77.0.1:7000 (the default), [fd00::1]:7000\n"
    "  -b, --bind IP:PORT    local address and port, of the gateway's family, e.g.\n"
    "                        10.77.0.2:0 or [fd00::2]:0 (default: any, ephemeral)\n"
    "  -i, --id ID           device identity, 1..32 printable ASCII characters\n"
    "  -s, --state FILE      state file: identity, key, counters; created if\n"
    "                        missing (mode 0600). Keep it: it is the identity\n"
    "  -p, --package FILE    the gateway package file, as the gateway wrote it\n"
    "  -P, --pin SHA256HEX   or the package's fingerprint: the package is fetched\n"
    "                        from the gateway (PKG_REQ) and kept in the state file\n"
    "      --group NAME      the profile (key-exchange group) of the device:\n"
    "                        ffdhe2048, ffdhe3072, x25519, p256. With --pin, the\n"
    "                        package PKG_REQ asks for (default: the gateway's first\n"
    "                        profile); with --package, it must be that package's.\n"
    "                        The profile is the pinned package's: a device of one\n"
    "                        profile sets up sessions only with devices of it\n"
    "      --suites A,B,...  cipher suites of a new identity, preferred first; the\n"
    "                        first also protects device-gateway traffic. Known:\n"
    "                        aes-128-gcm, aes-256-gcm, chacha20-poly1305,\n"
    "                        aes-128-ccm8, ascon-aead128 (default: all, in this\n"
    "                        order)\n"
    "  -t, --timeout MS      limit of each step (default 10000): registration,\n"
    "                        session set-up, each message awaited, the gateway's\n"
    "                        acknowledgement of each message sent\n"
    "  -v, --verbose         progress in detail on stderr (twice: every frame)\n"
    "  -h, --help            this help\n"
    "  -V, --version         the version\n"
    "\n"
    "Command options:\n"
    "      --token-file FILE register: read the one-time enrollment token (allow-list\n"
    "                        gateways) from the first line of FILE ('-': standard\n"
    "                        input); FILE must not be readable by group or others\n"
    "      --send TEXT       connect, listen: send TEXT as a message (repeatable)\n"
    "      --send-file FILE  connect, listen: send each line of FILE as a message,\n"
    "                        newline stripped ('-': standard input)\n"
    "      --count N         connect, listen: send the messages above N times;\n"
    "                        alone: send N messages \"message 1\" ... \"message N\"\n"
    "      --recv N          connect, listen: receive N messages, then stop\n"
    "      --echo            listen: send each received message back\n"
    "      --wait MS         listen: how long to wait for a session (default:\n"
    "                        no limit)\n"
    "      --hex             print received messages in hex (binary-safe)\n"
    "      --close           connect, listen: when done, close the session\n"
    "                        (SESSION_CLOSE; the gateway tells the peer)\n"
    "      --until-closed    connect, listen: when done, keep the session until\n"
    "                        the gateway closes it (idle, lifetime, operator,\n"
    "                        revocation, the peer's close); prints why\n"
    "      --rekey-after N   connect, listen: renew the session's keys after every N\n"
    "                        messages sent (traffic goes on; the peer joins in)\n"
    "      --rekey-interval S  connect, listen: ... and after every S seconds\n"
    "                        (SIGUSR1 renews them at once; see sga_client_rekey)\n"
    "      --move-after N    connect, listen: after the Nth message received, move\n"
    "                        to a new socket (a new port, as after a change of\n"
    "                        network) and send a WAKE from it: the gateway sends\n"
    "                        the rest, and what it stores, there\n"
    "\n"
    "Received messages go to stdout, one per line, in the order the peer sent\n"
    "them, each exactly once; progress and errors go to stderr.\n"
    "\n"
    "Exit status: 0 when everything asked for was done (registered; every message\n"
    "sent acknowledged by the gateway; N messages received; with --close the\n"
    "gateway confirmed it, with --until-closed the gateway closed the session);\n"
    "1 failure or incomplete; 2 bad arguments; 3 timeout; 4 gateway unreachable;\n"
    "5 refused by the gateway or the peer (unknown peer, declined, identity\n"
    "taken, package, a peer of another profile: NO_COMMON_GROUP); 6 the gateway\n"
    "closed the session before all was done.\n"
    "\n"
    "Examples:\n"
    "  sga-device --package gw.pkg fingerprint\n"
    "  sga-device -i meter-1 -s meter-1.state -P FINGERPRINT register\n"
    "  sga-device -i meter-7 -s meter-7.state -P FINGERPRINT \\\n"
    "      --token-file meter-7.token register\n"
    "  sga-device -i hub -s hub.state -P FINGERPRINT listen --echo\n"
    "  sga-device -i meter-1 -s meter-1.state -P FINGERPRINT \\\n"
    "      connect hub --send hello --recv 1\n"
    "  sga-device -i meter-1 -s meter-1.state -P FINGERPRINT rekey-key\n"
    "  sga-device -i meter-9 -s meter-9.state -P FINGERPRINT --group x25519 \\\n"
    "      register                  (the gateway's x25519 package, by PKG_REQ)\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
}

/* ---- options ------------------------------------------------------------------ */

enum {
	OPT_GROUP = 256,
	OPT_SUITES,
	OPT_TOKEN_REMOVED,
	OPT_TOKEN_FILE,
	OPT_SEND,
	OPT_SEND_FILE,
	OPT_COUNT,
	OPT_RECV,
	OPT_ECHO,
	OPT_WAIT,
	OPT_HEX,
	OPT_CLOSE,
	OPT_UNTIL_CLOSED,
	OPT_REKEY_AFTER,
	OPT_REKEY_INTERVAL,
	OPT_MOVE_AFTER,
	OPT_LAST = OPT_MOVE_AFTER, /* the last command option */
};

static const struct option long_opts[] = {
    {"gateway", required_argument, NULL, 'g'},
    {"bind", required_argument, NULL, 'b'},
    {"id", required_argument, NULL, 'i'},
    {"state", required_argument, NULL, 's'},
    {"package", required_argument, NULL, 'p'},
    {"pin", required_argument, NULL, 'P'},
    {"group", required_argument, NULL, OPT_GROUP},
    {"suites", required_argument, NULL, OPT_SUITES},
    {"timeout", required_argument, NULL, 't'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
    /* Removed (a token in argv is visible in ps); listed so that getopt does not
     * take it as an abbreviation of --token-file. */
    {"token", required_argument, NULL, OPT_TOKEN_REMOVED},
    {"send", required_argument, NULL, OPT_SEND},
    {"send-file", required_argument, NULL, OPT_SEND_FILE},
    {"count", required_argument, NULL, OPT_COUNT},
    {"recv", required_argument, NULL, OPT_RECV},
    {"echo", no_argument, NULL, OPT_ECHO},
    {"wait", required_argument, NULL, OPT_WAIT},
    {"hex", no_argument, NULL, OPT_HEX},
    {"close", no_argument, NULL, OPT_CLOSE},
    {"until-closed", no_argument, NULL, OPT_UNTIL_CLOSED},
    {"rekey-after", required_argument, NULL, OPT_REKEY_AFTER},
    {"rekey-interval", required_argument, NULL, OPT_REKEY_INTERVAL},
    {"move-after", required_argument, NULL, OPT_MOVE_AFTER},
    {NULL, 0, NULL, 0},
};

struct args {
	char gw_ip[ADDR_TEXT_MAX];
	uint16_t gw_port;
	char bind_ip[ADDR_TEXT_MAX];
	uint16_t bind_port;
	int have_bind;
	const char *id, *state, *package, *pin, *token_file, *send_file;
	uint8_t suites[SGA_SUITE_COUNT];
	size_t n_suites;
	uint8_t group; /* --group: 0 = the gateway's first profile */
	unsigned timeout_ms;
	int verbose;
	const char **sends;
	size_t n_sends;
	unsigned long count;
	int have_count;
	unsigned long recv_n;
	int have_recv;
	int echo, hex, close, until_closed;
	long wait_ms;
	const char *command;
	const char *peer;
	unsigned long rekey_after, rekey_interval;
	unsigned long move_after;   /* --move-after: 0 = never */
	int used_opt[OPT_LAST + 1]; /* command options given, for validation */
};

/* "token-file" for OPT_TOKEN_FILE: the long name of a command option. */
static const char *long_name(int val)
{
	for (const struct option *o = long_opts; o->name; o++)
		if (o->val == val)
			return o->name;
	return "?";
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see " PROG " --help)\n");
	return EXIT_USAGE;
}

/* "a.b.c.d:port" or "[v6]:port" (RFC 5952 6; a link-local address may name
 * its interface: "[fe80::1%eth0]:7000"); port 0 only if allow_zero. ip gets
 * the address without brackets. */
static int parse_addr(const char *s, char ip[ADDR_TEXT_MAX], uint16_t *port, int allow_zero)
{
	const char *colon = strrchr(s, ':'), *start = s, *stop = colon;
	unsigned char tmp[16];
	char *end, *pct;
	unsigned long p;

	if (!colon || colon == s || !colon[1])
		return -1;
	if (s[0] == '[') {
		if (colon[-1] != ']')
			return -1;
		start = s + 1;
		stop = colon - 1;
	}
	if (stop <= start || (size_t)(stop - start) >= ADDR_TEXT_MAX)
		return -1;
	memcpy(ip, start, (size_t)(stop - start));
	ip[stop - start] = '\0';
	if (s[0] != '[') {
		if (inet_pton(AF_INET, ip, tmp) != 1)
			return -1;
	} else {
		char bare[ADDR_TEXT_MAX];

		/* The zone (after '%') is the SDK's to resolve. */
		snprintf(bare, sizeof(bare), "%s", ip);
		pct = strchr(bare, '%');
		if (pct)
			*pct = '\0';
		if (inet_pton(AF_INET6, bare, tmp) != 1 || (pct && !pct[1]))
			return -1;
	}
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno || *end || colon[1] == '-' || colon[1] == '+' || p > 65535 || (!p && !allow_zero))
		return -1;
	*port = (uint16_t)p;
	return 0;
}

static int parse_num(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno || *end || *v > max ? -1 : 0;
}

static int parse_suites(const char *list, uint8_t *out, size_t *n)
{
	char buf[256], *save = NULL;

	if (strlen(list) >= sizeof(buf))
		return usage_error("--suites: list too long");
	snprintf(buf, sizeof(buf), "%s", list);
	*n = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const struct sga_suite_info *si = sga_suite_by_name(tok);

		if (!si)
			return usage_error("unknown suite '%s' (known: aes-128-gcm, aes-256-gcm, "
			                   "chacha20-poly1305, aes-128-ccm8, ascon-aead128)",
			                   tok);
		for (size_t k = 0; k < *n; k++)
			if (out[k] == si->id)
				return usage_error("suite '%s' listed twice", tok);
		out[(*n)++] = si->id;
	}
	if (!*n)
		return usage_error("--suites: at least one suite");
	return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	unsigned long v;
	int opt, rc;

	memset(a, 0, sizeof(*a));
	a->timeout_ms = 10000;
	a->wait_ms = -1;
	a->count = 1;
	if (parse_addr(DEFAULT_GATEWAY, a->gw_ip, &a->gw_port, 0))
		return EXIT_FAIL;
	a->sends = calloc((size_t)argc, sizeof(*a->sends));
	if (!a->sends)
		return EXIT_FAIL;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":g:b:i:s:p:P:t:vhV", long_opts, NULL)) != -1) {
		if (opt >= OPT_SUITES && opt <= OPT_LAST && opt != OPT_SUITES)
			a->used_opt[opt] = 1;
		switch (opt) {
		case 'g':
			if (parse_addr(optarg, a->gw_ip, &a->gw_port, 0))
				return usage_error(
				    "--gateway '%s': expected IPv4:PORT or [IPv6]:PORT, "
				    "e.g. 10.77.0.1:7000 or [fd00::1]:7000",
				    optarg);
			break;
		case 'b':
			if (parse_addr(optarg, a->bind_ip, &a->bind_port, 1))
				return usage_error(
				    "--bind '%s': expected IPv4:PORT or [IPv6]:PORT (port 0: any)",
				    optarg);
			a->have_bind = 1;
			break;
		case 'i':
			a->id = optarg;
			break;
		case 's':
			a->state = optarg;
			break;
		case 'p':
			a->package = optarg;
			break;
		case 'P':
			if (strlen(optarg) != 64 || strspn(optarg, "0123456789abcdefABCDEF") != 64)
				return usage_error(
				    "--pin '%s': the package's SHA-256, 64 hex digits "
				    "(" PROG " --package FILE fingerprint)",
				    optarg);
			a->pin = optarg;
			break;
		case OPT_GROUP: {
			const struct sga_group_info *g = sga_group_by_name(optarg);
			char known[96] = "";
			size_t off = 0;

			if (!g) {
				for (unsigned id = 1; id < 256; id++) {
					const struct sga_group_info *k = sga_group_get((uint8_t)id);

					if (k && off < sizeof(known))
						off += (size_t)snprintf(known + off,
						                        sizeof(known) - off, "%s%s",
						                        off ? ", " : "", k->name);
				}
				return usage_error("--group '%s': unknown group (known: %s)",
				                   optarg, known);
			}
			a->group = g->id;
			break;
		}
		case OPT_SUITES:
			rc = parse_suites(optarg, a->suites, &a->n_suites);
			if (rc)
				return rc;
			break;
		case 't':
			if (parse_num(optarg, 3600000, &v) || !v)
				return usage_error("--timeout '%s': milliseconds, 1..3600000",
				                   optarg);
			a->timeout_ms = (unsigned)v;
			break;
		case 'v':
			a->verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_OK);
		case 'V':
			printf(PROG " " SGA_VERSION "\n");
			exit(EXIT_OK);
		case OPT_TOKEN_FILE:
			a->token_file = optarg;
			break;
		case OPT_TOKEN_REMOVED:
			/* Never echo the value: it is the secret. */
			return usage_error(
			    "--token is not accepted: a token on the command line is "
			    "visible to every user (ps); put it in a file (mode 0600) "
			    "and give --token-file FILE, or --token-file - for "
			    "standard input");
		case OPT_SEND:
			a->sends[a->n_sends++] = optarg;
			break;
		case OPT_SEND_FILE:
			a->send_file = optarg;
			break;
		case OPT_COUNT:
			if (parse_num(optarg, 1000000000, &v))
				return usage_error("--count '%s': a number, 0..1000000000", optarg);
			a->count = v;
			a->have_count = 1;
			break;
		case OPT_RECV:
			if (parse_num(optarg, 1000000000, &v))
				return usage_error("--recv '%s': a number, 0..1000000000", optarg);
			a->recv_n = v;
			a->have_recv = 1;
			break;
		case OPT_ECHO:
			a->echo = 1;
			break;
		case OPT_WAIT:
			if (parse_num(optarg, 86400000, &v))
				return usage_error("--wait '%s': milliseconds", optarg);
			a->wait_ms = (long)v;
			break;
		case OPT_HEX:
			a->hex = 1;
			break;
		case OPT_CLOSE:
			a->close = 1;
			break;
		case OPT_UNTIL_CLOSED:
			a->until_closed = 1;
			break;
		case OPT_REKEY_AFTER:
			if (parse_num(optarg, 1000000000, &v) || !v)
				return usage_error("--rekey-after '%s': a number, 1..1000000000",
				                   optarg);
			a->rekey_after = v;
			break;
		case OPT_REKEY_INTERVAL:
			if (parse_num(optarg, 86400 * 365, &v) || !v)
				return usage_error("--rekey-interval '%s': seconds, 1..31536000",
				                   optarg);
			a->rekey_interval = v;
			break;
		case OPT_MOVE_AFTER:
			if (parse_num(optarg, 1000000000, &v) || !v)
				return usage_error("--move-after '%s': a number, 1..1000000000",
				                   optarg);
			a->move_after = v;
			break;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error(
		    "no command given (register, connect, listen, wake, rekey-key or fingerprint)");
	a->command = argv[optind++];

	/* Which command options each command takes. */
	static const struct {
		const char *cmd;
		int nargs;
		int opts[12];
	} cmds[] = {
	    {"register", 0, {OPT_TOKEN_FILE}},
	    {"connect",
	     1,
	     {OPT_SEND, OPT_SEND_FILE, OPT_COUNT, OPT_RECV, OPT_HEX, OPT_CLOSE, OPT_UNTIL_CLOSED,
	      OPT_REKEY_AFTER, OPT_REKEY_INTERVAL, OPT_MOVE_AFTER}},
	    {"listen",
	     0,
	     {OPT_SEND, OPT_SEND_FILE, OPT_COUNT, OPT_RECV, OPT_ECHO, OPT_WAIT, OPT_HEX, OPT_CLOSE,
	      OPT_UNTIL_CLOSED, OPT_REKEY_AFTER, OPT_REKEY_INTERVAL, OPT_MOVE_AFTER}},
	    {"fingerprint", 0, {0}},
	    {"rekey-key", 0, {0}},
	    {"wake", 0, {0}},
	};
	size_t ci;

	for (ci = 0; ci < sizeof(cmds) / sizeof(cmds[0]); ci++)
		if (!strcmp(a->command, cmds[ci].cmd))
			break;
	if (ci == sizeof(cmds) / sizeof(cmds[0]))
		return usage_error(
		    "unknown command '%s' (register, connect, listen, wake, rekey-key or "
		    "fingerprint)",
		    a->command);
	if (argc - optind < cmds[ci].nargs)
		return usage_error("%s: missing PEER (the device to connect to)", a->command);
	if (cmds[ci].nargs)
		a->peer = argv[optind++];
	if (optind < argc)
		return usage_error("%s: unexpected argument '%s'", a->command, argv[optind]);
	for (int o = OPT_TOKEN_FILE; o <= OPT_LAST; o++) {
		int ok = 0;

		if (!a->used_opt[o])
			continue;
		for (size_t k = 0; k < sizeof(cmds[ci].opts) / sizeof(cmds[ci].opts[0]); k++)
			ok |= cmds[ci].opts[k] == o;
		if (!ok)
			return usage_error("option '--%s' does not apply to %s", long_name(o),
			                   a->command);
	}
	if (!strcmp(a->command, "fingerprint")) {
		if (!a->package)
			return usage_error("fingerprint: --package FILE is required");
		return 0;
	}
	if (!a->id)
		return usage_error("%s: --id ID is required", a->command);
	if (!a->state)
		return usage_error("%s: --state FILE is required", a->command);
	if (!a->package && !a->pin)
		return usage_error("%s: --package FILE or --pin SHA256HEX is required", a->command);
	return 0;
}

/* ---- running ---------------------------------------------------------------- */

static volatile sig_atomic_t g_stop;
static int g_verbose;
static int g_reported;         /* the error was already explained on stderr */
static char g_last_error[256]; /* the SDK's latest level-0 message */

static volatile sig_atomic_t g_rekey_now; /* SIGUSR1: renew the session's keys */

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		g_rekey_now = 1;
	else
		g_stop = 1;
}

static void log_cb(void *arg, int level, const char *msg)
{
	(void)arg;
	if (level == 0)
		snprintf(g_last_error, sizeof(g_last_error), "%s", msg);
	else if (level <= g_verbose)
		fprintf(stderr, PROG ": %s\n", msg);
}

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int exit_code_of(int rc)
{
	switch (-rc) {
	case SGA_CLIENT_E_TIMEOUT:
		return EXIT_TIMEOUT;
	case SGA_CLIENT_E_UNREACHABLE:
		return EXIT_UNREACHABLE;
	case SGA_E_UNKNOWN_DEVICE:
	case SGA_E_EXISTS:
	case SGA_E_ENROLL_DENIED:
	case SGA_E_NO_COMMON_SUITE:
	case SGA_E_NO_COMMON_GROUP:
	case SGA_E_DECLINED:
	case SGA_E_BAD_PACKAGE:
	case SGA_E_BAD_FIELD:
		return EXIT_REFUSED;
	case SGA_E_SESSION_CLOSED:
		return EXIT_CLOSED;
	default:
		return EXIT_FAIL;
	}
}

/* One error line: what failed, the code's meaning and the SDK's detail. */
static int report(struct sga_client *c, const char *what, int rc)
{
	const char *detail = c ? sga_client_detail(c) : g_last_error;

	if (g_reported)
		return exit_code_of(rc);
	if (detail && strstr(detail, sga_client_strerror(rc)))
		fprintf(stderr, PROG ": %s: %s\n", what, detail); /* says it all */
	else if (detail && *detail)
		fprintf(stderr, PROG ": %s: %s (%s)\n", what, sga_client_strerror(rc), detail);
	else
		fprintf(stderr, PROG ": %s: %s\n", what, sga_client_strerror(rc));
	return exit_code_of(rc);
}

static void print_msg(const uint8_t *m, size_t len, int hex)
{
	if (hex) {
		for (size_t i = 0; i < len; i++)
			printf("%02x", m[i]);
		putchar('\n');
	} else {
		fwrite(m, 1, len, stdout);
		putchar('\n');
	}
	fflush(stdout);
}

struct run {
	struct sga_client *c;
	const struct args *a;
	uint8_t buf[2048];
	unsigned long received;
	unsigned long sent;
};

/* Receive and print what is there (wait_ms 0) or one message within wait_ms.
 * Returns 0, 1 if nothing came, or an error. */
static int recv_one(struct run *r, int wait_ms)
{
	size_t len;
	int rc;

	if (g_rekey_now) {
		/* Asynchronous: the exchange completes inside the calls below. */
		g_rekey_now = 0;
		rc = sga_client_rekey(r->c, 0);
		if (rc)
			progress("rekey not started: %s", sga_client_strerror(rc));
	}
	rc = sga_client_recv(r->c, r->buf, sizeof(r->buf), &len, wait_ms);

	if (rc == -SGA_CLIENT_E_TIMEOUT)
		return 1;
	if (rc)
		return rc;
	r->received++;
	if (!r->a->have_recv || r->received <= r->a->recv_n)
		print_msg(r->buf, len, r->a->hex);
	if (r->a->move_after && r->received == r->a->move_after) {
		unsigned inv = 0, stored = 0;

		rc = sga_client_move(r->c);
		rc = rc ? rc
		        : sga_client_wake(r->c, SGA_CLIENT_WAKE_INVITES | SGA_CLIENT_WAKE_STORED,
		                          &inv, &stored);
		if (rc)
			return report(r->c, "move", rc);
		progress("moved to a new socket after %lu messages; WAKE_ACK: %u invitation(s) "
		         "re-sent, %u session(s) with stored messages",
		         r->received, inv, stored);
	}
	if (r->a->echo) {
		rc = sga_client_send(r->c, r->buf, len);
		if (rc)
			return rc;
		r->sent++;
	}
	return 0;
}

/* Print whatever has arrived, without waiting. */
static int recv_ready(struct run *r)
{
	int rc;

	for (unsigned k = 0; k < 4096; k++) {
		rc = recv_one(r, 0);
		if (rc)
			return rc > 0 ? 0 : rc;
	}
	return 0;
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int send_one(struct run *r, const void *msg, size_t len)
{
	uint64_t until = ms_now() + r->a->timeout_ms;
	int rc;

	/* While the window is full, keep receiving (and printing) rather than
	 * block in sga_client_send; past the timeout, send reports the error. */
	while (!sga_client_send_room(r->c) && !g_stop && ms_now() < until) {
		rc = recv_one(r, 50);
		if (!rc || rc == 1)
			rc = sga_client_poll(r->c, 0); /* the session's own error, if any */
		if (rc < 0)
			return rc;
	}
	rc = sga_client_send(r->c, msg, len);
	if (rc)
		return rc;
	r->sent++;
	return recv_ready(r);
}

/*
 * Send each line of a file or stdin as one message. Input may trickle in (a
 * pipe, a terminal), so wait for it with poll(2) together with the client's
 * socket and timers: retransmissions and acknowledgements go on while no line
 * comes, and received messages are printed meanwhile.
 */
static int send_file(struct run *r, const char *path)
{
	enum { CAP = 4096 }; /* any line longer cannot be a message */
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO, eof = 0,
	    rc = 0;
	char *buf = malloc(CAP), *nl;
	size_t have = 0;

	if (fd < 0 || !buf) {
		fprintf(stderr, PROG ": --send-file %s: %s\n", path,
		        strerror(fd < 0 ? errno : ENOMEM));
		g_reported = 1;
		free(buf);
		if (fd > STDIN_FILENO)
			close(fd);
		return -SGA_CLIENT_E_IO;
	}
	while (!g_stop && !rc) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
		                      {.fd = sga_client_fd(r->c), .events = POLLIN}};
		int t = sga_client_next_timer_ms(r->c);
		ssize_t k;

		while (!rc && (nl = memchr(buf, '\n', have))) {
			size_t len = (size_t)(nl - buf);

			rc = send_one(r, buf, len);
			memmove(buf, nl + 1, have - len - 1);
			have -= len + 1;
		}
		if (rc)
			break;
		if (eof) {
			if (have)
				rc = send_one(r, buf, have); /* a last line without newline */
			break;
		}
		if (have == CAP) {
			fprintf(stderr, PROG ": --send-file %s: a line of more than %d bytes\n",
			        path, CAP);
			g_reported = 1;
			rc = -SGA_E_OVERSIZED;
			break;
		}
		if (poll(p, 2, t < 0 || t > 1000 ? 1000 : t) < 0 && errno != EINTR) {
			rc = -SGA_CLIENT_E_IO;
			break;
		}
		rc = sga_client_poll(r->c, 0);
		if (!rc)
			rc = recv_ready(r);
		if (rc || !(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		k = read(fd, buf + have, CAP - have);
		if (k > 0)
			have += (size_t)k;
		else if (k == 0)
			eof = 1;
		else if (errno != EINTR && errno != EAGAIN) {
			fprintf(stderr, PROG ": --send-file %s: %s\n", path, strerror(errno));
			g_reported = 1;
			rc = -SGA_CLIENT_E_IO;
		}
	}
	sga_memzero(buf, CAP);
	free(buf);
	if (fd > STDIN_FILENO)
		close(fd);
	return rc;
}

/* Everything the command options ask to send. */
static int send_all(struct run *r)
{
	const struct args *a = r->a;
	char gen[64];
	int rc = 0;

	if (!a->n_sends && !a->send_file) {
		if (!a->have_count)
			return 0;
		for (unsigned long i = 1; i <= a->count && !rc && !g_stop; i++) {
			int n = snprintf(gen, sizeof(gen), "message %lu", i);

			rc = send_one(r, gen, (size_t)n);
		}
		return rc;
	}
	for (unsigned long k = 0; k < a->count && !rc && !g_stop; k++) {
		for (size_t i = 0; i < a->n_sends && !rc; i++)
			rc = send_one(r, a->sends[i], strlen(a->sends[i]));
		if (!rc && a->send_file)
			rc = send_file(r, a->send_file);
	}
	return rc;
}

/* Receive until --recv N (each within the timeout) or, without --recv in
 * listen mode, until interrupted. */
static int recv_all(struct run *r, int until_stopped)
{
	const struct args *a = r->a;
	unsigned waited = 0;

	while (!g_stop) {
		int rc;

		if (a->have_recv && r->received >= a->recv_n)
			return 0;
		if (!a->have_recv && !until_stopped)
			return 0;
		rc = recv_one(r, 250); /* short slices: notice signals */
		if (rc < 0)
			return rc;
		if (rc == 0) {
			waited = 0;
			continue;
		}
		waited += 250;
		if (a->have_recv && waited >= a->timeout_ms) {
			fprintf(stderr,
			        PROG ": received %lu of %lu messages; nothing more within %u ms\n",
			        r->received, a->recv_n, a->timeout_ms);
			g_reported = 1;
			return -SGA_CLIENT_E_TIMEOUT;
		}
	}
	if (a->have_recv && r->received < a->recv_n) {
		fprintf(stderr, PROG ": interrupted after %lu of %lu messages\n", r->received,
		        a->recv_n);
		g_reported = 1;
		return -SGA_CLIENT_E_TIMEOUT;
	}
	return 0;
}

static void print_stats(struct sga_client *c)
{
	struct sga_client_stats st;

	sga_client_stats(c, &st);
	progress("sent %llu (acknowledged %llu, %llu re-sent), received %llu (%llu held back, "
	         "%llu duplicates dropped, %llu lost), %llu frames dropped",
	         (unsigned long long)st.sent, (unsigned long long)st.acked,
	         (unsigned long long)st.retransmits, (unsigned long long)st.received,
	         (unsigned long long)st.held_back, (unsigned long long)st.duplicates,
	         (unsigned long long)st.lost, (unsigned long long)st.dropped);
}

static int finish(struct run *r)
{
	struct sga_client_stats st;
	int rc = sga_client_flush(r->c, (int)r->a->timeout_ms);

	sga_client_stats(r->c, &st);
	if (g_verbose)
		print_stats(r->c);
	if (rc)
		return report(r->c, "waiting for acknowledgements", rc);
	if (sga_client_key_generation(r->c))
		progress("session keys renewed: generation %u (%u rekeys completed in this run)",
		         sga_client_key_generation(r->c), sga_client_rekeys(r->c));
	if (r->sent)
		progress("%lu message%s sent, all acknowledged by the gateway", r->sent,
		         r->sent == 1 ? "" : "s");
	if (st.lost) {
		fprintf(stderr, PROG ": %llu message%s from the peer never arrived\n",
		        (unsigned long long)st.lost, st.lost == 1 ? "" : "s");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/*
 * The enrollment token from the first line of path ('-': standard input),
 * without its line end, into token (NUL-terminated). Not from the command line:
 * arguments are visible to every user in ps(1) and /proc. A file anyone but its
 * owner may read is refused, as the gateway refuses such a master key. Returns
 * 0 or an exit code (the reason on stderr); the buffer is wiped either way.
 */
static int read_token(const char *path, char token[SGA_TOKEN_MAX + 1])
{
	char buf[SGA_TOKEN_MAX + 3]; /* token, "\r\n", one byte to see "too long" */
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY) : STDIN_FILENO;
	size_t len = 0, n;
	struct stat sb;
	int rc = EXIT_USAGE;

	memset(token, 0, SGA_TOKEN_MAX + 1);
	if (fd < 0) {
		fprintf(stderr, PROG ": --token-file %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	if (fstat(fd, &sb)) {
		fprintf(stderr, PROG ": --token-file %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (S_ISREG(sb.st_mode) && (sb.st_mode & (S_IRWXG | S_IRWXO))) {
		fprintf(stderr,
		        PROG
		        ": --token-file %s: readable or writable by group or others (mode %03o); "
		        "refused: chmod 600 it\n",
		        path, (unsigned)(sb.st_mode & 0777));
		goto out;
	}
	while (len < sizeof(buf)) {
		ssize_t k = read(fd, buf + len, sizeof(buf) - len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			fprintf(stderr, PROG ": --token-file %s: %s\n", path, strerror(errno));
			goto out;
		}
		if (k == 0)
			break;
		len += (size_t)k;
		if (memchr(buf, '\n', len))
			break;
	}
	n = len;
	{
		char *nl = memchr(buf, '\n', len);

		if (nl)
			n = (size_t)(nl - buf);
	}
	if (n && buf[n - 1] == '\r')
		n--;
	if (!n) {
		fprintf(stderr, PROG ": --token-file %s: no token on its first line\n", path);
		goto out;
	}
	if (n > SGA_TOKEN_MAX) {
		fprintf(stderr, PROG ": --token-file %s: token longer than %d bytes\n", path,
		        SGA_TOKEN_MAX);
		goto out;
	}
	memcpy(token, buf, n);
	rc = 0;
out:
	sga_memzero(buf, sizeof(buf));
	if (fd > STDIN_FILENO)
		close(fd);
	return rc;
}

static int cmd_fingerprint(const struct args *a)
{
	char hex[65];
	int rc = sga_client_package_fingerprint(a->package, hex);

	if (rc == -SGA_CLIENT_E_IO) {
		fprintf(stderr, PROG ": %s: %s\n", a->package, strerror(errno));
		return EXIT_FAIL;
	}
	if (rc) {
		fprintf(stderr, PROG ": %s: %s\n", a->package, sga_client_strerror(rc));
		return EXIT_FAIL;
	}
	printf("%s\n", hex);
	return EXIT_OK;
}

/* Keep the session (printing what arrives, sending --echo replies) until the
 * gateway closes it, or a signal. */
static int wait_closed(struct run *r)
{
	while (!g_stop) {
		int rc = recv_one(r, 250);

		if (rc < 0)
			return rc;
	}
	return -SGA_CLIENT_E_TIMEOUT; /* interrupted */
}

/* The gateway's account of a session it closed, on stderr. */
static void closed_report(struct run *r)
{
	static const char *const why[] = {"?",        "by a device", "idle",
	                                  "lifetime", "operator",    "revoked"};
	uint64_t delivered;
	int reason = sga_client_session_closed(r->c, &delivered);

	fprintf(stderr,
	        PROG ": session closed by the gateway: %s; this device's messages below %llu "
	             "reached the peer\n",
	        reason > 0 && reason <= 5 ? why[reason] : "?", (unsigned long long)delivered);
	g_reported = 1;
}

static int cmd_session(struct run *r)
{
	const struct args *a = r->a;
	int rc;

	if (!strcmp(a->command, "connect")) {
		rc = sga_client_connect(r->c, a->peer, NULL, 0);
		if (rc)
			return report(r->c, "connect", rc);
	} else {
		long waited = 0;

		progress("%s waiting for a session", a->id);
		for (;;) {
			/* Slices of at most a second, to notice signals. */
			int slice = a->wait_ms >= 0 && a->wait_ms - waited < 1000
			                ? (int)(a->wait_ms - waited)
			                : 1000;

			rc = sga_client_accept(r->c, slice);
			if (rc != -SGA_CLIENT_E_TIMEOUT)
				break;
			waited += slice;
			if (g_stop || (a->wait_ms >= 0 && waited >= a->wait_ms))
				break;
		}
		if (rc == -SGA_CLIENT_E_TIMEOUT) {
			fprintf(stderr, PROG ": listen: no session %s after %ld ms\n",
			        g_stop ? "(interrupted)" : "came", waited);
			return EXIT_TIMEOUT;
		}
		if (rc)
			return report(r->c, "listen", rc);
	}
	progress("session with %s established", sga_client_peer(r->c));
	if (a->rekey_after || a->rekey_interval)
		(void)sga_client_set_rekey_policy(r->c, a->rekey_after,
		                                  (unsigned)a->rekey_interval);
	rc = send_all(r);
	if (!rc)
		rc = recv_all(r, !strcmp(a->command, "listen") && !a->until_closed);
	if (!rc && a->until_closed)
		rc = wait_closed(r);
	if (rc == -SGA_E_SESSION_CLOSED)
		closed_report(r);
	if (rc == -SGA_E_SESSION_CLOSED && a->until_closed)
		return EXIT_OK; /* what was asked for */
	if (rc && g_verbose)
		print_stats(r->c);
	if (rc)
		return report(r->c, "session", rc);
	rc = finish(r);
	if (rc == EXIT_OK && a->close) {
		int crc = sga_client_close_session(r->c, (int)a->timeout_ms);

		if (crc)
			return report(r->c, "close", crc);
		progress("session closed");
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct sga_client_config cfg;
	struct sigaction sa;
	struct args a;
	struct run r;
	char token[SGA_TOKEN_MAX + 1];
	int rc, err = 0, have_token = 0;

	rc = parse_args(argc, argv, &a);
	if (rc) {
		free(a.sends);
		return rc;
	}
	if (!strcmp(a.command, "fingerprint")) {
		rc = cmd_fingerprint(&a);
		free(a.sends);
		return rc;
	}
	g_verbose = a.verbose;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Before any network traffic: a bad token file is the caller's error. */
	if (a.token_file) {
		rc = read_token(a.token_file, token);
		if (rc) {
			free(a.sends);
			return rc;
		}
		have_token = 1;
	}

	memset(&cfg, 0, sizeof(cfg));
	cfg.gateway_ip = a.gw_ip;
	cfg.gateway_port = a.gw_port;
	cfg.bind_ip = a.have_bind ? a.bind_ip : NULL;
	cfg.bind_port = a.bind_port;
	cfg.id = a.id;
	cfg.suites = a.n_suites ? a.suites : NULL;
	cfg.n_suites = a.n_suites;
	cfg.state_path = a.state;
	cfg.package_path = a.package;
	cfg.pin_hex = a.pin;
	cfg.group = a.group;
	cfg.timeout_ms = a.timeout_ms;
	cfg.log = log_cb;

	memset(&r, 0, sizeof(r));
	r.a = &a;
	r.c = sga_client_open(&cfg, &err);
	if (!r.c) {
		rc = report(NULL, "cannot start", err ? err : -SGA_CLIENT_E_IO);
		free(a.sends);
		return rc;
	}
	if (!strcmp(a.command, "rekey-key")) {
		rc = sga_client_rekey_device(r.c);
		if (rc)
			rc = report(r.c, "rekey-key", rc);
		else
			progress("%s: long-term key replaced; the state file %s holds the new one",
			         a.id, a.state);
	} else if (!strcmp(a.command, "wake")) {
		unsigned invitations = 0, stored = 0;

		rc = sga_client_wake(r.c, SGA_CLIENT_WAKE_INVITES | SGA_CLIENT_WAKE_STORED,
		                     &invitations, &stored);
		if (rc)
			rc = report(r.c, "wake", rc);
		else
			progress("%s: the gateway knows where it is (%u invitations re-sent, %u "
			         "sessions with stored messages)",
			         a.id, invitations, stored);
	} else if (!strcmp(a.command, "register")) {
		rc = sga_client_register(r.c, have_token ? token : NULL);
		sga_memzero(token, sizeof(token));
		if (rc) {
			rc = report(r.c, "register", rc);
		} else {
			struct sga_client_stats st;

			sga_client_stats(r.c, &st);
			progress("%s registered (package %.16s...)", a.id, st.fingerprint);
		}
	} else {
		rc = cmd_session(&r);
	}
	sga_client_close(r.c);
	free(a.sends);
	return rc;
}
