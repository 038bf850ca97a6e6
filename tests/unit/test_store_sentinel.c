/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_store_sentinel.c - the store (controlplane/store.h) behind Redis
 * Sentinel: a real primary, a replica and three sentinels (redis-server
 * --sentinel) on 127.0.0.1, started per test. The store finds the primary
 * through the sentinels (a dead sentinel first in the list), follows a
 * failover asked of the sentinels and one they decide on after a kill -9 of
 * the primary (records written before it are on the new primary), refuses a
 * server the sentinels name that is not a primary (ROLE), and drops a
 * connection whose server answers READONLY, so the next call asks again.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "redis_fixture.h"
#include "store.h"
#include "store_records.h"

#define PRIMARY_NAME   "sgaprimary"
#define N_SENTINELS    3
#define BACKOFF_MAX_MS 200u

static const uint8_t MKEY[32] = {0x73, 0x65, 0x6e, 0x74, 0x69, 0x6e, 0x65, 0x6c, 0x20, 0x6b, 0x65,
                                 0x79, 0x20, 0x66, 0x6f, 0x72, 0x20, 0x74, 0x65, 0x73, 0x74, 0x73,
                                 0x20, 0x6f, 0x6e, 0x6c, 0x79, 0x21, 0x01, 0x02, 0x03, 0x04};

#define ID(s) (const uint8_t *)(s), (uint8_t)strlen(s)

/* ---- the servers ------------------------------------------------------------- */

static struct {
	char dir[64];
	int port[2 + N_SENTINELS]; /* primary, replica, sentinels */
	pid_t pid[2 + N_SENTINELS];
	int dead_port;       /* nothing listens there */
	char sentinels[160]; /* the dead one first, then the three */
} sx;

static void pick_ports(void)
{
	for (unsigned attempt = 0; attempt < 200; attempt++) {
		int base = 26000 + (int)(((unsigned)getpid() * 11u + attempt * 17u) % 390u) * 10;
		int ok = 1;

		for (int i = 0; i < 2 + N_SENTINELS + 1 && ok; i++)
			ok = fx_port_free(base + i);
		if (!ok)
			continue;
		for (int i = 0; i < 2 + N_SENTINELS; i++)
			sx.port[i] = base + i;
		sx.dead_port = base + 2 + N_SENTINELS;
		return;
	}
	cr_assert_fail("no free ports for the test servers");
}

/* Everything the primary holds is on the replica: a write, then WAIT on the
 * same connection (the replication stream is one: what the store wrote
 * before is covered too). */
static void replicated(void)
{
	struct timeval tv = {6, 0};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", sx.port[0], tv);
	redisReply *r;

	cr_assert(c && !c->err, "connect to the primary");
	redisSetTimeout(c, tv);
	r = redisCommand(c, "SET sga:test:fence 1");
	cr_assert(r && r->type == REDIS_REPLY_STATUS);
	freeReplyObject(r);
	r = redisCommand(c, "WAIT 1 5000");
	cr_assert(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1,
	          "the replica acknowledged within 5 s");
	freeReplyObject(r);
	redisFree(c);
}

static void start_server(int i, const char *replicaof_port)
{
	char port[8], dir[96];

	snprintf(port, sizeof(port), "%d", sx.port[i]);
	snprintf(dir, sizeof(dir), "%s/%d", sx.dir, sx.port[i]);
	cr_assert(mkdir(dir, 0700) == 0, "mkdir %s", dir);
	{
		char *argv[] = {"redis-server",
		                "--port",
		                port,
		                "--bind",
		                "127.0.0.1",
		                "--save",
		                "",
		                "--appendonly",
		                "no",
		                "--dir",
		                dir,
		                "--daemonize",
		                "no",
		                replicaof_port ? "--replicaof" : NULL,
		                "127.0.0.1",
		                (char *)replicaof_port,
		                NULL};

		sx.pid[i] = fx_spawn(argv);
	}
}

static void start_sentinel(int i)
{
	char conf[112];
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/sentinel-%d.conf", sx.dir, sx.port[i]);
	f = fopen(conf, "w");
	cr_assert_not_null(f);
	fprintf(f,
	        "port %d\nbind 127.0.0.1\ndir %s\n"
	        "sentinel monitor " PRIMARY_NAME " 127.0.0.1 %d 2\n"
	        "sentinel down-after-milliseconds " PRIMARY_NAME " 1000\n"
	        "sentinel failover-timeout " PRIMARY_NAME " 4000\n",
	        sx.port[i], sx.dir, sx.port[0]);
	fclose(f);
	{
		char *argv[] = {"redis-server", conf, "--sentinel", NULL};

		sx.pid[i] = fx_spawn(argv);
	}
}

/* An integer field of a sentinel's SENTINEL MASTER reply, -1 if none. */
static long long master_field(int port, const char *name)
{
	redisReply *r = fx_try_cmd(port, "SENTINEL MASTER %s", PRIMARY_NAME);
	long long v = -1;

	for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
		if (!strcmp(r->element[i]->str, name))
			v = atoll(r->element[i + 1]->str);
	if (r)
		freeReplyObject(r);
	return v;
}

/* The sentinel on port could promote the replica now: it has polled the
 * replica itself (INFO), the link is up and the replica is in sync. Knowing
 * of it (num-slaves, learnt from the primary's INFO) is not enough: until the
 * sentinel's own first INFO of the replica, SENTINEL FAILOVER answers
 * NOGOODSLAVE. */
static int replica_promotable(int port)
{
	redisReply *r = fx_try_cmd(port, "SENTINEL REPLICAS %s", PRIMARY_NAME);
	int flags_ok = 0, link_ok = 0, fresh = 0;

	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    r->element[0]->type == REDIS_REPLY_ARRAY) {
		redisReply *f = r->element[0];

		for (size_t i = 0; i + 1 < f->elements; i += 2) {
			const char *k = f->element[i]->str, *v = f->element[i + 1]->str;

			if (!strcmp(k, "flags"))
				flags_ok = !strcmp(v, "slave");
			else if (!strcmp(k, "master-link-status"))
				link_ok = !strcmp(v, "ok");
			else if (!strcmp(k, "info-refresh"))
				fresh = atoll(v) < 10000;
		}
	}
	if (r)
		freeReplyObject(r);
	return flags_ok && link_ok && fresh;
}

/* The port of the primary as the sentinel on port names it, 0 if none. */
static int named_primary(int port)
{
	redisReply *r = fx_try_cmd(port, "SENTINEL get-master-addr-by-name %s", PRIMARY_NAME);
	int p = 0;

	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2)
		p = atoi(r->element[1]->str);
	if (r)
		freeReplyObject(r);
	return p;
}

static void sentinel_setup(void)
{
	char rport[8];

	snprintf(sx.dir, sizeof(sx.dir), "/tmp/sga-sentinel-XXXXXX");
	cr_assert_not_null(mkdtemp(sx.dir));
	pick_ports();
	start_server(0, NULL);
	snprintf(rport, sizeof(rport), "%d", sx.port[0]);
	start_server(1, rport);
	for (int i = 2; i < 2 + N_SENTINELS; i++)
		start_sentinel(i);
	snprintf(sx.sentinels, sizeof(sx.sentinels),
	         "127.0.0.1:%d, 127.0.0.1:%d, 127.0.0.1:%d, "
	         "127.0.0.1:%d",
	         sx.dead_port, sx.port[2], sx.port[3], sx.port[4]);
	/* Ready: every sentinel knows the two other sentinels and could promote
	 * the replica (a failover needs both). */
	for (uint64_t t0 = fx_now_ms();; fx_msleep(100)) {
		int ready = 1;

		for (int i = 2; i < 2 + N_SENTINELS; i++)
			ready =
			    ready && master_field(sx.port[i], "num-slaves") == 1 &&
			    master_field(sx.port[i], "num-other-sentinels") == N_SENTINELS - 1 &&
			    replica_promotable(sx.port[i]);
		if (ready)
			break;
		cr_assert(fx_now_ms() - t0 < 30000,
		          "the sentinels did not find each other in 30 s");
	}
}

static void sentinel_teardown(void)
{
	char cmd[128];

	for (int i = 0; i < 2 + N_SENTINELS; i++)
		if (sx.pid[i] > 0) {
			kill(sx.pid[i], SIGKILL);
			waitpid(sx.pid[i], NULL, 0);
			sx.pid[i] = 0;
		}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sx.dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", sx.dir);
}

TestSuite(store_sentinel, .init = sentinel_setup, .fini = sentinel_teardown, .timeout = 120);

static struct store *open_sentinel(const char *name, const char *user, const char *password)
{
	struct store_config cfg;
	struct store *st;

	memset(&cfg, 0, sizeof(cfg));
	cfg.sentinels = sx.sentinels;
	cfg.sentinel_master = name;
	cfg.user = user;
	cfg.password = password;
	cfg.timeout_ms = 1000;
	cfg.backoff_max_ms = BACKOFF_MAX_MS;
	memcpy(cfg.master_key, MKEY, sizeof(MKEY));
	st = store_open(&cfg);
	cr_assert_not_null(st, "store_open: %s", strerror(errno));
	return st;
}

static int key_exists_on(int port, const char *key)
{
	redisReply *r = fx_try_cmd(port, "EXISTS %s", key);
	int e = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;

	if (r)
		freeReplyObject(r);
	return e;
}

static void expect_endpoint(struct store *st, int port)
{
	char want[32];

	snprintf(want, sizeof(want), "127.0.0.1:%d", port);
	cr_assert_str_eq(store_endpoint(st), want);
}

/* Raise meter-1's up counter to ctr, again and again, until a call succeeds
 * on the server on port `want` (20 s at most): the store followed a failover. */
static void follow_to(struct store *st, int want, uint64_t *ctr)
{
	char port[8];
	int rc = -1;

	snprintf(port, sizeof(port), "%d", want);
	for (uint64_t t0 = fx_now_ms(); fx_now_ms() - t0 < 20000; fx_msleep(50)) {
		rc = store_device_set_up_ctr(st, ID("meter-1"), ++*ctr);
		if (!rc && strstr(store_endpoint(st), port))
			return;
	}
	cr_assert_fail("the store did not follow the failover to %d in 20 s (last rc %d, at %s)",
	               want, rc, store_endpoint(st));
}

/* The first sentinel listed is down: the next one names the primary; the
 * records land on it, and the replica gets them. */
Test(store_sentinel, finds_the_primary_through_the_sentinels)
{
	struct store *st = open_sentinel(PRIMARY_NAME, NULL, NULL);
	struct sga_gw_device d, got;

	make_dev(&d, "meter-1");
	cr_assert_eq(store_device_put(st, &d), 0);
	cr_assert_eq(store_device_get(st, ID("meter-1"), &got), 0);
	cr_assert_arr_eq(got.k_d, d.k_d, SGA_KEY_LEN);
	expect_endpoint(st, sx.port[0]);
	cr_assert(key_exists_on(sx.port[0], "sga:{dev:meter-1}"), "on the primary");
	cr_assert_eq(store_primary_changes(st), 0);
	store_close(st);
}

/* SENTINEL FAILOVER: the replica becomes the primary, the old primary its
 * replica (the sentinels close its clients); the store's next calls find the
 * new one and the record is there, with the counter it had. */
Test(store_sentinel, follows_a_failover)
{
	struct store *st = open_sentinel(PRIMARY_NAME, NULL, NULL);
	struct sga_gw_device d, got;
	uint64_t ctr = 5; /* make_dev's up counter */
	redisReply *r;

	make_dev(&d, "meter-1");
	cr_assert_eq(store_device_put(st, &d), 0);
	cr_assert_eq(store_device_set_up_ctr(st, ID("meter-1"), ++ctr), 0);
	replicated();
	r = fx_try_cmd(sx.port[2], "SENTINEL FAILOVER %s", PRIMARY_NAME);
	cr_assert(r && r->type == REDIS_REPLY_STATUS, "SENTINEL FAILOVER: %s", r ? r->str : "-");
	freeReplyObject(r);
	follow_to(st, sx.port[1], &ctr);
	cr_assert_eq(store_primary_changes(st), 1, "one failover seen");
	cr_assert_eq(store_device_get(st, ID("meter-1"), &got), 0);
	cr_assert_eq(got.up_ctr, ctr);
	cr_assert_eq(store_device_set_up_ctr(st, ID("meter-1"), ctr - 1), -SGA_E_REPLAY,
	             "the counter moved with the record");
	store_close(st);
}

/* kill -9 of the primary: the sentinels agree it is down (quorum 2 of 3)
 * and promote the replica; the store rides through the outage. */
Test(store_sentinel, rides_through_a_dead_primary)
{
	struct store *st = open_sentinel(PRIMARY_NAME, NULL, NULL);
	struct sga_gw_device d, got;
	uint64_t ctr = 5;

	make_dev(&d, "meter-1");
	cr_assert_eq(store_device_put(st, &d), 0);
	replicated();
	kill(sx.pid[0], SIGKILL);
	waitpid(sx.pid[0], NULL, 0);
	sx.pid[0] = 0;
	follow_to(st, sx.port[1], &ctr);
	/* The other sentinels learn the new configuration from the leader of
	 * the failover, a moment later. */
	for (uint64_t t0 = fx_now_ms(); named_primary(sx.port[3]) != sx.port[1]; fx_msleep(50))
		cr_assert(fx_now_ms() - t0 < 10000, "sentinel %d names %d, not the promoted %d",
		          sx.port[3], named_primary(sx.port[3]), sx.port[1]);
	cr_assert_eq(store_device_get(st, ID("meter-1"), &got), 0);
	cr_assert_arr_eq(got.k_d, d.k_d, SGA_KEY_LEN);
	cr_assert_eq(store_primary_changes(st), 1);
	store_close(st);
}

/* A name the sentinels give the replica's address for (a sentinel that has
 * not seen a failover yet names a server that is a replica now): ROLE says
 * "slave", so the store refuses it and writes nothing. A user without
 * @admin cannot run ROLE: then the first write's READONLY drops the
 * connection, so the next call asks the sentinels again. */
Test(store_sentinel, refuses_a_replica_named_as_primary)
{
	struct store *st;
	struct sga_gw_device d, got;
	redisReply *r;

	r = fx_try_cmd(sx.port[2], "SENTINEL MONITOR stale 127.0.0.1 %d 1", sx.port[1]);
	cr_assert(r && r->type == REDIS_REPLY_STATUS, "SENTINEL MONITOR: %s", r ? r->str : "-");
	freeReplyObject(r);
	r = fx_try_cmd(sx.port[2], "SENTINEL SET stale down-after-milliseconds 600000");
	freeReplyObject(r);
	make_dev(&d, "meter-2");
	st = open_sentinel(PRIMARY_NAME, NULL, NULL);
	cr_assert_eq(store_device_put(st, &d), 0);
	store_close(st);
	replicated();

	/* Not even a read: the replica's copy may be behind the primary's. */
	st = open_sentinel("stale", NULL, NULL);
	cr_assert_eq(store_device_get(st, ID("meter-2"), &got), -SGA_E_UNAVAILABLE,
	             "ROLE: a replica");
	cr_assert_eq(store_connected(st), 0);
	store_close(st);
	make_dev(&d, "meter-3");

	r = fx_try_cmd(sx.port[1], "ACL SETUSER app on >app-secret ~* &* +@all -@admin");
	cr_assert(r && r->type == REDIS_REPLY_STATUS, "ACL SETUSER: %s", r ? r->str : "-");
	freeReplyObject(r);
	st = open_sentinel("stale", "app", "app-secret");
	cr_assert_eq(store_device_put(st, &d), -SGA_E_UNAVAILABLE, "READONLY");
	cr_assert_eq(store_connected(st), 0, "the connection is dropped");
	cr_assert(!key_exists_on(sx.port[1], "sga:{dev:meter-3}"));
	store_close(st);
}

/* store_open refuses a sentinel list it cannot parse, a missing primary
 * name, and sentinels together with a cluster. */
Test(store_sentinel_config, refused)
{
	struct store_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.sentinels = "127.0.0.1:26379";
	errno = 0;
	cr_assert_null(store_open(&cfg), "no primary name");
	cr_assert_eq(errno, EINVAL);
	cfg.sentinel_master = PRIMARY_NAME;
	cfg.sentinels = "127.0.0.1";
	cr_assert_null(store_open(&cfg), "no port");
	cfg.sentinels = "127.0.0.1:26379";
	cfg.cluster = "127.0.0.1:7000";
	cr_assert_null(store_open(&cfg), "with a cluster");
}
