/* SPDX-License-Identifier: BSD-3-Clause */
/* cluster_fixture.c - see cluster_fixture.h. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster_fixture.h"
#include "redis_fixture.h"

struct cluster_fx cluster_fx;

/* Six client ports and their bus ports (+10000), all free: from a base the
 * process id picks, so that test processes running side by side differ. */
static void pick_ports(void)
{
	for (unsigned attempt = 0; attempt < 200; attempt++) {
		/* Nodes in 10000-21995 and their bus ports (+10000) in 20000-31995:
		 * below Linux's ephemeral range (32768-60999), where an outgoing
		 * connection could take a port between this check and the node's
		 * bind (seen once: a node at 50092 never answered). */
		int base = 10000 + (int)(((unsigned)getpid() * 7u + attempt * 13u) % 1200u) * 10;
		int ok = 1;

		for (int i = 0; i < CFX_NODES && ok; i++)
			ok = fx_port_free(base + i) && fx_port_free(base + i + 10000);
		if (!ok)
			continue;
		for (int i = 0; i < CFX_NODES; i++)
			cluster_fx.port[i] = base + i;
		return;
	}
	cr_assert_fail("no six free port pairs for the test cluster");
}

static void start_node(int i, int appendonly)
{
	char port[8], dir[96], conf[112];

	snprintf(port, sizeof(port), "%d", cluster_fx.port[i]);
	snprintf(dir, sizeof(dir), "%s/%d", cluster_fx.dir, cluster_fx.port[i]);
	snprintf(conf, sizeof(conf), "%s/nodes.conf", dir);
	cr_assert(mkdir(dir, 0700) == 0 || access(dir, W_OK) == 0, "mkdir %s", dir);
	{
		char *argv[] = {"redis-server",
		                "--port",
		                port,
		                "--bind",
		                "127.0.0.1",
		                "--cluster-enabled",
		                "yes",
		                "--cluster-config-file",
		                conf,
		                "--cluster-node-timeout",
		                "2000",
		                "--appendonly",
		                appendonly ? "yes" : "no",
		                "--save",
		                "",
		                "--dir",
		                dir,
		                "--daemonize",
		                "no",
		                NULL};

		cluster_fx.pid[i] = fx_spawn(argv);
	}
}

redisReply *cluster_fx_cmd(int port, const char *fmt, ...)
{
	struct timeval tv = {5, 0};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
	redisReply *r;
	va_list ap;

	cr_assert(c && !c->err, "connect to the test cluster node %d", port);
	redisSetTimeout(c, tv);
	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	redisFree(c);
	cr_assert_not_null(r, "no reply from node %d", port);
	return r;
}

static int node_alive(int i)
{
	return cluster_fx.pid[i] > 0;
}

/* 1 if the node reports cluster_state:ok. */
static int state_ok(int port)
{
	redisReply *r = fx_try_cmd(port, "CLUSTER INFO");
	int ok = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "cluster_state:ok");

	if (r)
		freeReplyObject(r);
	return ok;
}

/* The port of slot's master in a CLUSTER SLOTS reply, 0 if none. */
static int slots_master(const redisReply *r, unsigned slot, int replica)
{
	if (!r || r->type != REDIS_REPLY_ARRAY)
		return 0;
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i];

		if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
		    (unsigned long long)e->element[0]->integer > slot ||
		    (unsigned long long)e->element[1]->integer < slot)
			continue;
		if (replica)
			return e->elements > 3 ? (int)e->element[3]->element[1]->integer : 0;
		return (int)e->element[2]->element[1]->integer;
	}
	return 0;
}

int cluster_fx_master_of(int via, unsigned slot)
{
	redisReply *r = cluster_fx_cmd(via, "CLUSTER SLOTS");
	int port = slots_master(r, slot, 0);

	freeReplyObject(r);
	cr_assert(port, "no master for slot %u", slot);
	return port;
}

/* Replicas show in CLUSTER SLOTS once they have joined: waits 10 s at most. */
int cluster_fx_replica_of(int via, int master)
{
	int port = 0;

	for (uint64_t t0 = fx_now_ms(); !port && fx_now_ms() - t0 < 10000; fx_msleep(50)) {
		redisReply *r = cluster_fx_cmd(via, "CLUSTER SLOTS");

		for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && !port; i++) {
			const redisReply *e = r->element[i];

			if (e->elements > 3 && e->element[2]->element[1]->integer == master)
				port = (int)e->element[3]->element[1]->integer;
		}
		freeReplyObject(r);
	}
	cr_assert(port, "no replica for master %d within 10 s", master);
	return port;
}

void cluster_fx_id(int port, char out[41])
{
	redisReply *r = cluster_fx_cmd(port, "CLUSTER MYID");

	cr_assert(r->type == REDIS_REPLY_STRING && r->len == 40, "CLUSTER MYID of %d", port);
	memcpy(out, r->str, 41);
	freeReplyObject(r);
}

void cluster_fx_kill(int port)
{
	for (int i = 0; i < CFX_NODES; i++)
		if (cluster_fx.port[i] == port && cluster_fx.pid[i] > 0) {
			kill(cluster_fx.pid[i], SIGKILL);
			waitpid(cluster_fx.pid[i], NULL, 0);
			cluster_fx.pid[i] = 0;
		}
}

void cluster_fx_wait_ok(unsigned ms, unsigned slot, int master)
{
	for (uint64_t t0 = fx_now_ms(); fx_now_ms() - t0 < ms; fx_msleep(50)) {
		int ok = 1;

		for (int i = 0; i < CFX_NODES && ok; i++) {
			redisReply *r;

			if (!node_alive(i))
				continue;
			ok = state_ok(cluster_fx.port[i]);
			if (ok && master) {
				r = fx_try_cmd(cluster_fx.port[i], "CLUSTER SLOTS");
				ok = slots_master(r, slot, 0) == master;
				if (r)
					freeReplyObject(r);
			}
		}
		if (ok)
			return;
	}
	cr_assert_fail("the test cluster did not reach cluster_state:ok within %u ms", ms);
}

void cluster_fx_setup(const char *prefix, int appendonly)
{
	char *argv[7 + CFX_NODES];
	char addr[CFX_NODES][24];
	size_t off = 0;
	pid_t cli;
	int status = -1;

	memset(&cluster_fx, 0, sizeof(cluster_fx));
	snprintf(cluster_fx.dir, sizeof(cluster_fx.dir), "%s-XXXXXX", prefix);
	cr_assert_not_null(mkdtemp(cluster_fx.dir));
	pick_ports();
	for (int i = 0; i < CFX_NODES; i++)
		start_node(i, appendonly);
	for (int i = 0; i < CFX_NODES; i++) {
		uint64_t t0 = fx_now_ms();
		redisReply *r = NULL;

		while (!(r = fx_try_cmd(cluster_fx.port[i], "PING")) && fx_now_ms() - t0 < 10000)
			fx_msleep(20);
		cr_assert_not_null(r, "cluster node %d did not answer PING within 10 s",
		                   cluster_fx.port[i]);
		freeReplyObject(r);
		off += (size_t)snprintf(cluster_fx.seeds + off, sizeof(cluster_fx.seeds) - off,
		                        "%s127.0.0.1:%d", i ? ", " : "", cluster_fx.port[i]);
	}
	argv[0] = "redis-cli";
	argv[1] = "--cluster";
	argv[2] = "create";
	for (int i = 0; i < CFX_NODES; i++) {
		snprintf(addr[i], sizeof(addr[i]), "127.0.0.1:%d", cluster_fx.port[i]);
		argv[3 + i] = addr[i];
	}
	argv[3 + CFX_NODES] = "--cluster-replicas";
	argv[4 + CFX_NODES] = "1";
	argv[5 + CFX_NODES] = "--cluster-yes";
	argv[6 + CFX_NODES] = NULL;
	cli = fx_spawn(argv);
	for (uint64_t t0 = fx_now_ms(); fx_now_ms() - t0 < 30000; fx_msleep(50))
		if (waitpid(cli, &status, WNOHANG) == cli)
			break;
	if (status == -1) {
		kill(cli, SIGKILL);
		waitpid(cli, NULL, 0);
	}
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	          "redis-cli --cluster create failed (status %d)", status);
	cluster_fx_wait_ok(30000, 0, 0);
}

void cluster_fx_teardown(void)
{
	char cmd[128];

	for (int i = 0; i < CFX_NODES; i++)
		cluster_fx_kill(cluster_fx.port[i]);
	if (cluster_fx.dir[0] && !strncmp(cluster_fx.dir, "/tmp/", 5)) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cluster_fx.dir);
		if (system(cmd))
			fprintf(stderr, "cannot remove %s\n", cluster_fx.dir);
	}
}
