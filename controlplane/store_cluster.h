/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store_cluster.h - private to the store (store.c): a small Redis Cluster
 * client over plain hiredis 0.14, which has none (Debian ships no cluster
 * client library).
 *
 * What it does, and no more than the store needs:
 *   - the key slot of a command's first key (CRC16/XMODEM mod 16384, the
 *     hash tag rules of the Cluster specification);
 *   - the slot map from CLUSTER SLOTS, asked of any known node or seed: at
 *     the first command, after a MOVED, after a connection error and at the
 *     first command once STC_REFRESH_S have passed;
 *   - one hiredis connection per master, made when a command first needs it
 *     (through the store's dial function: AUTH on every connection, never
 *     SELECT);
 *   - a pipeline of n commands split by node, each node's part sent and read
 *     in one round trip, nodes one after the other; replies land at their
 *     command's index, so the caller sees its own order;
 *   - MOVED: the slot's owner updated, a refresh scheduled, the command sent
 *     again to the new owner; ASK: ASKING and the command on the target, for
 *     that command only; TRYAGAIN: again after a short sleep. At most
 *     STC_REDIRECTS rounds per call, then -SGA_E_UNAVAILABLE.
 *   - CLUSTERDOWN, a slot without a master, an unreachable node or an I/O
 *     error: -SGA_E_UNAVAILABLE (the store backs off as for one server); the
 *     failing node's connection is dropped and a refresh scheduled. A
 *     pipeline that fails half way is not retried: the caller sees the
 *     failure, as with one server.
 * Not thread-safe: one per struct store.
 */
#ifndef SGA_STORE_CLUSTER_H
#define SGA_STORE_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#define ST_MAX_ARGS   14
#define STC_SLOTS     16384u
#define STC_NODES_MAX 64
#define STC_REDIRECTS 5
#define STC_REFRESH_S 60
#define STC_NODE_NAME 80 /* "host:port" */
#define STC_HOST_MAX  64

/* One "host:port" of a configured list (cluster seeds, sentinels). */
struct stc_addr {
	char host[STC_HOST_MAX];
	int port;
};

/** Parse "host:port, [v6]:port, ..." (spaces around entries ignored) into at
 *  most cap entries: 0, or -EINVAL (an entry without a port, a port outside
 *  1..65535, a host too long, more than cap entries, or none at all). */
int stc_parse_addrs(const char *list, struct stc_addr *out, unsigned cap, unsigned *n);

/* One command as an argument vector (binary-safe). An EVALSHA keeps its
 * script's body in script, for the EVAL a NOSCRIPT reply asks for. */
struct st_cmd {
	int argc;
	const char *argv[ST_MAX_ARGS];
	size_t len[ST_MAX_ARGS];
	const char *script;
};

/* Make a connection to host:port for the cluster client (AUTH done), or
 * NULL with the reason in why. again: the node had a connection before. */
typedef redisContext *(*stc_dial_fn)(void *arg, const char *host, int port, int again, char *why,
                                     size_t why_len);

struct stc;

/** Parse seeds ("host:port, [v6]:port, ..."); NULL with errno EINVAL (bad
 *  list) or ENOMEM. Connects nothing. */
struct stc *stc_new(const char *seeds, stc_dial_fn dial, void *arg);
void stc_free(struct stc *cl);

/** The Cluster slot of key (the text between the first '{' and the next '}'
 *  when that is not empty, else the whole key). */
unsigned stc_keyslot(const char *key, size_t len);

/** Run n commands: routed by their first key, or all on node ("host:port",
 *  one of stc_masters') when node is not NULL. 0: every rep[i] holds its
 *  command's final reply (possibly an error reply, never a redirection);
 *  -SGA_E_UNAVAILABLE with the reason in why; -SGA_E_AUTH when a node asked
 *  for a password (NOAUTH) and none was configured. rep[] is the caller's to
 *  free either way. */
int stc_run(struct stc *cl, const char *node, struct st_cmd *cmds, unsigned n, redisReply **rep,
            char *why, size_t why_len);

/** The masters serving at least one slot ("host:port" each into names, at
 *  most cap), the slot map refreshed first when due. 0, -SGA_E_UNAVAILABLE or
 *  -SGA_E_AUTH as stc_run. */
int stc_masters(struct stc *cl, char (*names)[STC_NODE_NAME], unsigned cap, unsigned *n, char *why,
                size_t why_len);

/** The master that owns key's slot by the current map ("host:port" into
 *  name): its index (0 .. STC_NODES_MAX - 1), or -1 when the map has none.
 *  Right after an stc_run that wrote key it names the node that took the
 *  write (a MOVED updates the map). */
int stc_key_owner(const struct stc *cl, const char *key, size_t len, char name[STC_NODE_NAME]);

/** The name of node index k (as stc_key_owner returns): 0, or -1 when the
 *  table has no such node. */
int stc_node_name(const struct stc *cl, unsigned k, char name[STC_NODE_NAME]);

/** Redirections followed (any thread may read). */
uint64_t stc_moved(const struct stc *cl);
uint64_t stc_asked(const struct stc *cl);

#endif /* SGA_STORE_CLUSTER_H */
