/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store_cluster.c - the Redis Cluster client of the store (store_cluster.h).
 *
 * State: a table of nodes (host, port, connection), the owner of each of the
 * 16384 slots as an index into it, and the seeds from the configuration. The
 * table is rebuilt from CLUSTER SLOTS (masters only: the store never reads
 * from replicas) and grows by the targets of MOVED and ASK replies between
 * refreshes. Indices are only taken and used within one call.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sga_err.h"
#include "store_cluster.h"

#define NO_NODE     0xffu
#define TRYAGAIN_MS 25 /* times the round: 25, 50, ... ms, STC_REDIRECTS rounds */
#define HOST_MAX    STC_HOST_MAX

struct stc_node {
	char host[HOST_MAX];
	int port;
	redisContext *c;
	int ever;   /* had a connection: the next one is a reconnection */
	int master; /* listed as serving slots by the last CLUSTER SLOTS */
};

struct stc {
	struct stc_node node[STC_NODES_MAX];
	unsigned n_nodes;
	uint8_t slot[STC_SLOTS]; /* owner: index into node[], NO_NODE unknown */
	struct stc_addr seed[STC_NODES_MAX];
	unsigned n_seeds;
	int have_map;        /* a CLUSTER SLOTS reply was read */
	int stale;           /* refresh at the next call: MOVED, connection error */
	uint64_t refresh_at; /* monotonic ns: periodic refresh */
	stc_dial_fn dial;
	void *dial_arg;
	_Atomic uint64_t moved, asked;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- key slots (Redis Cluster specification, "Keys distribution model") ---- */

/* CRC16/XMODEM: polynomial 0x1021, initial value 0, no reflection. */
static uint16_t crc16(const char *p, size_t n)
{
	uint16_t crc = 0;

	for (size_t i = 0; i < n; i++) {
		crc ^= (uint16_t)((uint8_t)p[i] << 8);
		for (int b = 0; b < 8; b++)
			crc = crc & 0x8000 ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
	}
	return crc;
}

unsigned stc_keyslot(const char *key, size_t len)
{
	const char *open = memchr(key, '{', len), *close;

	if (open) {
		size_t rest = len - (size_t)(open - key) - 1;

		close = memchr(open + 1, '}', rest);
		if (close && close > open + 1)
			return crc16(open + 1, (size_t)(close - open - 1)) & (STC_SLOTS - 1);
	}
	return crc16(key, len) & (STC_SLOTS - 1);
}

/* The first key of a command the store sends: EVAL[SHA] script numkeys key ...,
 * else the first argument. -1: none (INFO, SCAN, CLUSTER, ...: any node). */
static int cmd_key(const struct st_cmd *c)
{
	static const char *const keyless[] = {"INFO", "SCAN", "CLUSTER", "PING"};

	if (c->argc < 2)
		return -1;
	if (!strncasecmp(c->argv[0], "EVAL", 4) && c->len[0] >= 4)
		return c->argc > 3 && !(c->len[2] == 1 && c->argv[2][0] == '0') ? 3 : -1;
	for (size_t i = 0; i < sizeof(keyless) / sizeof(keyless[0]); i++)
		if (c->len[0] == strlen(keyless[i]) &&
		    !strncasecmp(c->argv[0], keyless[i], c->len[0]))
			return -1;
	return 1;
}

/* ---- nodes ------------------------------------------------------------------ */

/* "host:port" or "[v6]:port" (len bytes) into host and port; -1 if malformed. */
static int split_addr(const char *s, size_t len, char host[HOST_MAX], int *port)
{
	const char *colon = NULL;
	char digits[8];
	long p;
	char *end;

	for (size_t i = len; i-- > 0;)
		if (s[i] == ':') {
			colon = s + i;
			break;
		}
	if (!colon || colon == s || (size_t)(s + len - colon - 1) >= sizeof(digits) ||
	    colon + 1 == s + len)
		return -1;
	memcpy(digits, colon + 1, (size_t)(s + len - colon - 1));
	digits[s + len - colon - 1] = '\0';
	p = strtol(digits, &end, 10);
	if (*end || p < 1 || p > 65535)
		return -1;
	if (s[0] == '[' && colon[-1] == ']')
		s++, len = (size_t)(colon - s - 1);
	else
		len = (size_t)(colon - s);
	if (!len || len >= HOST_MAX)
		return -1;
	memcpy(host, s, len);
	host[len] = '\0';
	*port = (int)p;
	return 0;
}

static void node_name(const struct stc_node *n, char out[STC_NODE_NAME])
{
	snprintf(out, STC_NODE_NAME, strchr(n->host, ':') ? "[%s]:%d" : "%s:%d", n->host, n->port);
}

static void node_close(struct stc_node *n)
{
	if (n->c) {
		redisFree(n->c);
		n->c = NULL;
	}
}

/* The index of host:port, added if new; NO_NODE when the table is full. */
static unsigned node_find(struct stc *cl, const char *host, int port)
{
	for (unsigned i = 0; i < cl->n_nodes; i++)
		if (cl->node[i].port == port && !strcmp(cl->node[i].host, host))
			return i;
	if (cl->n_nodes == STC_NODES_MAX)
		return NO_NODE;
	memset(&cl->node[cl->n_nodes], 0, sizeof(cl->node[0]));
	snprintf(cl->node[cl->n_nodes].host, HOST_MAX, "%s", host);
	cl->node[cl->n_nodes].port = port;
	return cl->n_nodes++;
}

static int node_connect(struct stc *cl, struct stc_node *n, char *why, size_t why_len)
{
	char name[STC_NODE_NAME], reason[128] = "";

	if (n->c)
		return 0;
	n->c = cl->dial(cl->dial_arg, n->host, n->port, n->ever, reason, sizeof(reason));
	if (!n->c) {
		node_name(n, name);
		snprintf(why, why_len, "%s: %s", name, reason);
		cl->stale = 1;
		return -SGA_E_UNAVAILABLE;
	}
	n->ever = 1;
	return 0;
}

/* An I/O error on n: connection dropped, map refreshed at the next call. */
static int node_fail(struct stc *cl, struct stc_node *n, char *why, size_t why_len)
{
	char name[STC_NODE_NAME];

	node_name(n, name);
	snprintf(why, why_len, "%s: %s", name,
	         n->c && n->c->errstr[0] ? n->c->errstr : "I/O error");
	node_close(n);
	cl->stale = 1;
	return -SGA_E_UNAVAILABLE;
}

/* ---- the slot map ---------------------------------------------------------------- */

/* One CLUSTER SLOTS reply into the map; asked: the node that answered (its
 * host stands in for an empty address). -1 if malformed. */
static int map_load(struct stc *cl, const redisReply *r, const struct stc_node *asked)
{
	uint8_t slot[STC_SLOTS];
	char asked_host[HOST_MAX];

	if (r->type != REDIS_REPLY_ARRAY)
		return -1;
	snprintf(asked_host, sizeof(asked_host), "%s", asked->host);
	memset(slot, NO_NODE, sizeof(slot));
	for (unsigned i = 0; i < cl->n_nodes; i++)
		cl->node[i].master = 0;
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i], *m;
		const char *host;
		unsigned k;

		if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
		    e->element[0]->type != REDIS_REPLY_INTEGER ||
		    e->element[1]->type != REDIS_REPLY_INTEGER ||
		    e->element[2]->type != REDIS_REPLY_ARRAY || e->element[2]->elements < 2)
			return -1;
		m = e->element[2];
		if (m->element[0]->type != REDIS_REPLY_STRING ||
		    m->element[1]->type != REDIS_REPLY_INTEGER || e->element[0]->integer < 0 ||
		    e->element[1]->integer >= (long long)STC_SLOTS ||
		    e->element[0]->integer > e->element[1]->integer ||
		    m->element[0]->len >= HOST_MAX)
			return -1;
		host = m->element[0]->len ? m->element[0]->str : asked_host;
		k = node_find(cl, host, (int)m->element[1]->integer);
		if (k == NO_NODE)
			return -1;
		cl->node[k].master = 1;
		for (long long s = e->element[0]->integer; s <= e->element[1]->integer; s++)
			slot[s] = (uint8_t)k;
	}
	/* Nodes no longer masters go (their connections too); the others
	 * move down, and the map follows the new indices. */
	{
		uint8_t remap[STC_NODES_MAX];
		unsigned w = 0;

		for (unsigned i = 0; i < cl->n_nodes; i++) {
			if (!cl->node[i].master) {
				node_close(&cl->node[i]);
				remap[i] = NO_NODE;
				continue;
			}
			remap[i] = (uint8_t)w;
			if (w != i)
				cl->node[w] = cl->node[i];
			w++;
		}
		cl->n_nodes = w;
		for (unsigned s = 0; s < STC_SLOTS; s++)
			cl->slot[s] = slot[s] == NO_NODE ? NO_NODE : remap[slot[s]];
	}
	cl->have_map = 1;
	cl->stale = 0;
	cl->refresh_at = mono_ns() + (uint64_t)STC_REFRESH_S * 1000000000ull;
	return 0;
}

/* CLUSTER SLOTS of node k: 0 loaded, else the reason in why. */
static int refresh_from(struct stc *cl, unsigned k, char *why, size_t why_len)
{
	struct stc_node *n = &cl->node[k];
	struct stc_node copy;
	redisReply *r;
	int rc;

	if ((rc = node_connect(cl, n, why, why_len)))
		return rc;
	r = redisCommand(n->c, "CLUSTER SLOTS");
	if (!r)
		return node_fail(cl, n, why, why_len);
	if (r->type == REDIS_REPLY_ERROR) {
		char name[STC_NODE_NAME];

		node_name(n, name);
		snprintf(why, why_len, "%s: CLUSTER SLOTS: %s", name, r->str);
		/* A password is required and none was sent: the store says so. */
		rc = r->len >= 6 && !memcmp(r->str, "NOAUTH", 6) ? -SGA_E_AUTH : -SGA_E_UNAVAILABLE;
		freeReplyObject(r);
		return rc;
	}
	copy = *n; /* map_load may move n */
	rc = map_load(cl, r, &copy) ? -SGA_E_UNAVAILABLE : 0;
	freeReplyObject(r);
	if (rc)
		snprintf(why, why_len, "%s:%d: CLUSTER SLOTS: unexpected reply", copy.host,
		         copy.port);
	return rc;
}

/* Ask the known masters (connected ones first), then the seeds. 0, or
 * -SGA_E_AUTH when the last node to answer wanted a password, else
 * -SGA_E_UNAVAILABLE. */
static int refresh(struct stc *cl, char *why, size_t why_len)
{
	int rc = -SGA_E_UNAVAILABLE;

	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < cl->n_nodes; i++)
			if ((pass == 0) == (cl->node[i].c != NULL) &&
			    !(rc = refresh_from(cl, i, why, why_len)))
				return 0;
	for (unsigned s = 0; s < cl->n_seeds; s++) {
		unsigned k = node_find(cl, cl->seed[s].host, cl->seed[s].port);

		if (k != NO_NODE && !(rc = refresh_from(cl, k, why, why_len)))
			return 0;
	}
	cl->stale = 1;
	return rc == -SGA_E_AUTH ? rc : -SGA_E_UNAVAILABLE;
}

static int refresh_if_due(struct stc *cl, char *why, size_t why_len)
{
	if (cl->have_map && !cl->stale && mono_ns() < cl->refresh_at)
		return 0;
	return refresh(cl, why, why_len);
}

/* ---- running commands ------------------------------------------------------------ */

struct job {
	uint8_t node;
	uint8_t ask;  /* send ASKING first (an ASK redirection, this command only) */
	uint8_t done; /* rep holds the final reply */
};

static int err_is(const redisReply *r, const char *code)
{
	size_t n = strlen(code);

	return r->type == REDIS_REPLY_ERROR && r->len > n && !memcmp(r->str, code, n) &&
	       r->str[n] == ' ';
}

/* "MOVED 3999 127.0.0.1:6381" / "ASK ...": the target node's index. */
static unsigned redirect_target(struct stc *cl, const redisReply *r, unsigned *slot)
{
	const char *sp1 = memchr(r->str, ' ', r->len), *sp2;
	char host[HOST_MAX];
	int port;

	if (!sp1)
		return NO_NODE;
	sp2 = memchr(sp1 + 1, ' ', r->len - (size_t)(sp1 + 1 - r->str));
	if (!sp2)
		return NO_NODE;
	*slot = (unsigned)strtoul(sp1 + 1, NULL, 10);
	if (*slot >= STC_SLOTS ||
	    split_addr(sp2 + 1, r->len - (size_t)(sp2 + 1 - r->str), host, &port))
		return NO_NODE;
	return node_find(cl, host, port);
}

/* Send node k's pending commands in one pipeline and read their replies. */
static int run_node(struct stc *cl, unsigned k, struct st_cmd *cmds, unsigned n, struct job *job,
                    redisReply **rep, char *why, size_t why_len)
{
	static const char *asking[] = {"ASKING"};
	static const size_t asking_len[] = {6};
	struct stc_node *nd = &cl->node[k];
	int rc;

	if ((rc = node_connect(cl, nd, why, why_len)))
		return rc;
	for (unsigned i = 0; i < n; i++) {
		if (job[i].done || job[i].node != k)
			continue;
		if ((job[i].ask &&
		     redisAppendCommandArgv(nd->c, 1, asking, asking_len) != REDIS_OK) ||
		    redisAppendCommandArgv(nd->c, cmds[i].argc, cmds[i].argv, cmds[i].len) !=
		        REDIS_OK)
			return node_fail(cl, nd, why, why_len);
	}
	for (unsigned i = 0; i < n; i++) {
		if (job[i].done || job[i].node != k)
			continue;
		if (job[i].ask) {
			void *ok = NULL;

			if (redisGetReply(nd->c, &ok) != REDIS_OK || !ok)
				return node_fail(cl, nd, why, why_len);
			freeReplyObject(ok);
		}
		if (rep[i]) {
			freeReplyObject(rep[i]);
			rep[i] = NULL;
		}
		if (redisGetReply(nd->c, (void **)&rep[i]) != REDIS_OK || !rep[i])
			return node_fail(cl, nd, why, why_len);
	}
	return 0;
}

/* After a round: redirections and TRYAGAIN stay pending. The number left. */
static int settle(struct stc *cl, unsigned n, struct job *job, redisReply **rep, unsigned *left,
                  int *nap, char *why, size_t why_len)
{
	*left = 0;
	*nap = 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned slot = 0, t;

		if (job[i].done)
			continue;
		if (err_is(rep[i], "MOVED") || err_is(rep[i], "ASK")) {
			int moved = rep[i]->str[0] == 'M';

			t = redirect_target(cl, rep[i], &slot);
			if (t == NO_NODE) {
				snprintf(why, why_len, "cannot follow '%s'", rep[i]->str);
				return -SGA_E_UNAVAILABLE;
			}
			if (moved) {
				cl->slot[slot] = (uint8_t)t;
				cl->stale = 1; /* more slots probably moved with it */
				atomic_fetch_add_explicit(&cl->moved, 1, memory_order_relaxed);
			} else {
				atomic_fetch_add_explicit(&cl->asked, 1, memory_order_relaxed);
			}
			job[i].node = (uint8_t)t;
			job[i].ask = (uint8_t)!moved;
			(*left)++;
		} else if (err_is(rep[i], "TRYAGAIN")) {
			*nap = 1;
			(*left)++;
		} else if (err_is(rep[i], "CLUSTERDOWN")) {
			snprintf(why, why_len, "%s", rep[i]->str);
			cl->stale = 1;
			return -SGA_E_UNAVAILABLE;
		} else {
			job[i].done = 1;
		}
	}
	return 0;
}

int stc_run(struct stc *cl, const char *node, struct st_cmd *cmds, unsigned n, redisReply **rep,
            char *why, size_t why_len)
{
	struct job one, *job = n == 1 ? &one : calloc(n, sizeof(*job));
	unsigned left = n;
	int rc;

	for (unsigned i = 0; i < n; i++)
		rep[i] = NULL;
	if (!n)
		return 0;
	if (!job) {
		snprintf(why, why_len, "out of memory");
		return -SGA_E_UNAVAILABLE;
	}
	if ((rc = refresh_if_due(cl, why, why_len)))
		goto out;
	for (unsigned i = 0; i < n; i++) {
		int key = cmd_key(&cmds[i]);
		char host[HOST_MAX];
		int port;

		memset(&job[i], 0, sizeof(job[i]));
		if (node) {
			job[i].node = split_addr(node, strlen(node), host, &port)
			                  ? NO_NODE
			                  : (uint8_t)node_find(cl, host, port);
		} else if (key < 0) {
			job[i].node = cl->slot[0] == NO_NODE ? 0 : cl->slot[0];
		} else {
			job[i].node = cl->slot[stc_keyslot(cmds[i].argv[key], cmds[i].len[key])];
		}
		if (job[i].node == NO_NODE || job[i].node >= cl->n_nodes) {
			snprintf(why, why_len, "no master serves the slot of command %u", i);
			cl->stale = 1;
			rc = -SGA_E_UNAVAILABLE;
			goto out;
		}
	}
	for (unsigned round = 0; left && round <= STC_REDIRECTS; round++) {
		int nap;

		for (unsigned k = 0; k < cl->n_nodes; k++)
			if ((rc = run_node(cl, k, cmds, n, job, rep, why, why_len)))
				goto out;
		if ((rc = settle(cl, n, job, rep, &left, &nap, why, why_len)))
			goto out;
		if (nap && left) {
			unsigned ms = TRYAGAIN_MS * (round + 1);
			struct timespec ts = {0, (long)ms * 1000000L};

			nanosleep(&ts, NULL);
		}
	}
	if (left) {
		snprintf(why, why_len, "more than %d redirections", STC_REDIRECTS);
		rc = -SGA_E_UNAVAILABLE;
	}
out:
	if (job != &one)
		free(job);
	return rc;
}

int stc_masters(struct stc *cl, char (*names)[STC_NODE_NAME], unsigned cap, unsigned *n, char *why,
                size_t why_len)
{
	uint8_t serves[STC_NODES_MAX] = {0};
	int rc;

	*n = 0;
	if ((rc = refresh_if_due(cl, why, why_len)))
		return rc;
	for (unsigned s = 0; s < STC_SLOTS; s++)
		if (cl->slot[s] != NO_NODE)
			serves[cl->slot[s]] = 1;
	for (unsigned i = 0; i < cl->n_nodes && *n < cap; i++)
		if (serves[i])
			node_name(&cl->node[i], names[(*n)++]);
	return 0;
}

/* ---- life cycle ------------------------------------------------------------------ */

int stc_parse_addrs(const char *list, struct stc_addr *out, unsigned cap, unsigned *n)
{
	const char *p = list;

	*n = 0;
	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		while (len && (*p == ' ' || *p == '\t'))
			p++, len--;
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (*n == cap || split_addr(p, len, out[*n].host, &out[*n].port))
			return -EINVAL;
		(*n)++;
		p = comma ? comma + 1 : NULL;
	}
	return *n ? 0 : -EINVAL;
}

struct stc *stc_new(const char *seeds, stc_dial_fn dial, void *arg)
{
	struct stc *cl = calloc(1, sizeof(*cl));

	if (!cl) {
		errno = ENOMEM;
		return NULL;
	}
	memset(cl->slot, NO_NODE, sizeof(cl->slot));
	cl->dial = dial;
	cl->dial_arg = arg;
	if (stc_parse_addrs(seeds, cl->seed, STC_NODES_MAX, &cl->n_seeds)) {
		free(cl);
		errno = EINVAL;
		return NULL;
	}
	return cl;
}

void stc_free(struct stc *cl)
{
	if (!cl)
		return;
	for (unsigned i = 0; i < cl->n_nodes; i++)
		node_close(&cl->node[i]);
	free(cl);
}

int stc_key_owner(const struct stc *cl, const char *key, size_t len, char name[STC_NODE_NAME])
{
	unsigned k = cl->slot[stc_keyslot(key, len)];

	if (k == NO_NODE || k >= cl->n_nodes)
		return -1;
	node_name(&cl->node[k], name);
	return (int)k;
}

int stc_node_name(const struct stc *cl, unsigned k, char name[STC_NODE_NAME])
{
	if (k >= cl->n_nodes)
		return -1;
	node_name(&cl->node[k], name);
	return 0;
}

uint64_t stc_moved(const struct stc *cl)
{
	return atomic_load_explicit(&((struct stc *)cl)->moved, memory_order_relaxed);
}

uint64_t stc_asked(const struct stc *cl)
{
	return atomic_load_explicit(&((struct stc *)cl)->asked, memory_order_relaxed);
}
