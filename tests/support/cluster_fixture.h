/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cluster_fixture.h - a private Redis Cluster per test: three masters and
 * three replicas (redis-server --cluster-enabled yes, joined by redis-cli
 * --cluster create --cluster-replicas 1) on 127.0.0.1 ports chosen from the
 * test process' id, in a fresh temporary directory, one sub-directory per
 * node. Bounded waits everywhere; the servers die with the test process
 * (PR_SET_PDEATHSIG) and at teardown.
 */
#ifndef SGA_TEST_CLUSTER_FIXTURE_H
#define SGA_TEST_CLUSTER_FIXTURE_H

#include <sys/types.h>

#include <hiredis/hiredis.h>

#define CFX_NODES 6

struct cluster_fx {
	pid_t pid[CFX_NODES];
	int port[CFX_NODES];
	char dir[64];
	char seeds[160]; /* "127.0.0.1:P0, 127.0.0.1:P1, ..." for [redis] cluster */
};
extern struct cluster_fx cluster_fx;

/** Start the six nodes (appendonly yes or no), create the cluster and wait
 *  (30 s at most) until every node reports cluster_state:ok. */
void cluster_fx_setup(const char *prefix, int appendonly);
/** Kill every node (SIGKILL) and remove the directory. */
void cluster_fx_teardown(void);
/** One command on a fresh connection to the node on port; asserts a reply. */
redisReply *cluster_fx_cmd(int port, const char *fmt, ...);
/** The port of the master serving slot, as the node on port `via` sees it. */
int cluster_fx_master_of(int via, unsigned slot);
/** A replica of the master on port, as the node on port `via` sees it. */
int cluster_fx_replica_of(int via, int master);
/** The node id (CLUSTER MYID) of the node on port, into out (41 bytes). */
void cluster_fx_id(int port, char out[41]);
/** SIGKILL the node on port. */
void cluster_fx_kill(int port);
/** Wait (ms at most) until every node alive reports cluster_state:ok and
 *  sees the master of slot on port master (master 0: any). */
void cluster_fx_wait_ok(unsigned ms, unsigned slot, int master);

#endif
