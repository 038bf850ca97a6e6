/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_store_cluster.c - the store (controlplane/store.h) on a real Redis
 * Cluster of three masters and three replicas (tests/support/cluster_fixture.h)
 * through its cluster client (controlplane/store_cluster.h): key slots as a
 * server computes them, records on every master, a slot migrated under the
 * store (ASK, then MOVED), a master killed and its replica promoted, SCAN
 * over every master and the require_aof check.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "cluster_fixture.h"
#include "redis_fixture.h"
#include "store.h"
#include "store_cluster.h"
#include "store_records.h"

#define BACKOFF_MAX_MS 400u

static const uint8_t MKEY[32] = {0x63, 0x6c, 0x75, 0x73, 0x74, 0x65, 0x72, 0x20, 0x6b, 0x65, 0x79,
                                 0x20, 0x66, 0x6f, 0x72, 0x20, 0x74, 0x65, 0x73, 0x74, 0x73, 0x20,
                                 0x6f, 0x6e, 0x6c, 0x79, 0x21, 0x01, 0x02, 0x03, 0x04, 0x05};

#define ID(s) (const uint8_t *)(s), (uint8_t)strlen(s)

/* ---- key slots ------------------------------------------------------------------ */

static const struct {
	const char *key;
	unsigned slot;
} slot_vec[] = {
    /* CLUSTER KEYSLOT of redis-server 7.0: the first '{' up to the next '}',
     * when something lies between them. */
    {"123456789", 12739},
    {"foo", 12182},
    {"bar", 5061},
    {"{user1000}.following", 3443},
    {"{user1000}.followers", 3443},
    {"foo{}{bar}", 8363},    /* empty tag: the whole key */
    {"foo{{bar}}zap", 4015}, /* tag "{bar" */
    {"foo{bar}{zap}", 5061}, /* the first tag only: "bar" */
    {"{}", 15257},
    {"{", 4092},
    {"}", 12090},
    {"a{b", 13340},
    {"", 0},
    {"sga:sessions", 2103},
    {"sga:{dev:meter-1}", 1218},
    {"sga:{dev:meter-1}:inv", 1218},
    {"sga:{sess:0000000000000001}", 15060},
    {"sga:{enroll:meter-1}", 1721},
};

Test(store_cluster_slot, keyslot_matches_redis)
{
	for (size_t i = 0; i < sizeof(slot_vec) / sizeof(slot_vec[0]); i++)
		cr_expect_eq(stc_keyslot(slot_vec[i].key, strlen(slot_vec[i].key)),
		             slot_vec[i].slot, "'%s': %u, want %u", slot_vec[i].key,
		             stc_keyslot(slot_vec[i].key, strlen(slot_vec[i].key)),
		             slot_vec[i].slot);
}

/* ---- the cluster ---------------------------------------------------------------- */

static void cluster_setup(void)
{
	cluster_fx_setup("/tmp/wt-cluster-sc", 1);
}

static void cluster_teardown(void)
{
	cluster_fx_teardown();
}

TestSuite(store_cluster, .init = cluster_setup, .fini = cluster_teardown, .timeout = 240);

static struct store *open_cluster(void)
{
	struct store_config cfg;
	struct store *st;

	memset(&cfg, 0, sizeof(cfg));
	cfg.cluster = cluster_fx.seeds;
	cfg.timeout_ms = 1000;
	cfg.backoff_max_ms = BACKOFF_MAX_MS;
	memcpy(cfg.master_key, MKEY, sizeof(MKEY));
	st = store_open(&cfg);
	cr_assert_not_null(st, "store_open: %s", strerror(errno));
	return st;
}

/* The three masters' ports, in slot order. */
static void masters(int m[3])
{
	int n = 0;

	for (unsigned slot = 0; slot < STC_SLOTS && n < 3; slot += 64) {
		int p = cluster_fx_master_of(cluster_fx.port[0], slot);

		if (n == 0 || (p != m[n - 1] && (n < 2 || p != m[0])))
			m[n++] = p;
	}
	cr_assert_eq(n, 3, "three masters");
}

static unsigned key_slot(const char *key)
{
	return stc_keyslot(key, strlen(key));
}

/* A device id "meter-N" whose record lives on the master on port. */
static void dev_on(int port, char id[32])
{
	for (unsigned n = 0; n < 10000; n++) {
		char key[64];

		snprintf(id, 32, "meter-%u", n);
		snprintf(key, sizeof(key), "sga:{dev:%s}", id);
		if (cluster_fx_master_of(cluster_fx.port[0], key_slot(key)) == port)
			return;
	}
	cr_assert_fail("no device id on master %d", port);
}

/* A session id whose record lives on the master on port. */
static uint64_t sess_on(int port, uint64_t from)
{
	for (uint64_t sid = from; sid < from + 10000; sid++) {
		char key[64];

		snprintf(key, sizeof(key), "sga:{sess:%016llx}", (unsigned long long)sid);
		if (cluster_fx_master_of(cluster_fx.port[0], key_slot(key)) == port)
			return sid;
	}
	cr_assert_fail("no session id on master %d", port);
	return 0;
}

static void expect_dev(struct store *st, const struct sga_gw_device *want)
{
	struct sga_gw_device got;
	int rc = store_device_get(st, want->id, want->id_len, &got);

	cr_assert_eq(rc, 0, "device %.*s: %d", (int)want->id_len, (const char *)want->id, rc);
	cr_assert_arr_eq(got.k_d, want->k_d, SGA_KEY_LEN);
	cr_assert_eq(got.up_ctr, want->up_ctr);
	cr_assert_eq(got.down_ctr, want->down_ctr);
}

/* A device whose record lives on the master on port, written: its slot. */
static unsigned put_dev_on(struct store *st, int port, struct sga_gw_device *d, char id[32],
                           char key[64])
{
	dev_on(port, id);
	snprintf(key, 64, "sga:{dev:%s}", id);
	make_dev(d, id);
	cr_assert_eq(store_device_put(st, d), 0);
	return key_slot(key);
}

static int key_exists_on(int port, const char *key)
{
	redisReply *r = cluster_fx_cmd(port, "EXISTS %s", key);
	int e = r->type == REDIS_REPLY_INTEGER && r->integer == 1;

	freeReplyObject(r);
	return e;
}

/* Devices and sessions on each of the three masters: written, read back,
 * counters and marks moved, established in one pipeline that spans all
 * three; each record is on the master its slot names (no redirection). */
Test(store_cluster, records_on_every_master)
{
	struct store *st = open_cluster();
	struct sga_gw_device d[3];
	struct sga_gw_session s[3], got;
	struct store_estab e[3];
	int m[3];
	char id[3][32], key[64];

	masters(m);
	memset(e, 0, sizeof(e));
	for (int i = 0; i < 3; i++) {
		dev_on(m[i], id[i]);
		make_dev(&d[i], id[i]);
		cr_assert_eq(store_device_put(st, &d[i]), 0);
		cr_assert_eq(store_device_set_up_ctr(st, ID(id[i]), 9), 0);
		cr_assert_eq(store_device_set_up_ctr(st, ID(id[i]), 8), -SGA_E_REPLAY);
		d[i].up_ctr = 9;
		expect_dev(st, &d[i]);
		snprintf(key, sizeof(key), "sga:{dev:%s}", id[i]);
		cr_assert(key_exists_on(m[i], key), "%s on master %d", key, m[i]);
		make_sess(&s[i], sess_on(m[i], 0x1000u + 0x10000u * (unsigned)i),
		          SGA_GW_S_ESTABLISHED);
		e[i].s = &s[i];
		e[i].dev[0] = &d[i];
		e[i].block = 1024;
		e[i].rx_next[0] = 3;
	}
	/* One pipeline: three EVALs (three masters), three SADDs (one slot),
	 * three device HSETs (three masters). */
	cr_assert_eq(store_session_establish(st, e, 3), 0);
	for (int i = 0; i < 3; i++) {
		uint64_t rx[2];
		struct dp_addr a[2];

		cr_assert_geq(e[i].limit[0], 1024);
		cr_assert_eq(e[i].rx_next[0], 3);
		cr_assert_eq(store_session_get(st, s[i].session_id, &got), 0);
		cr_assert_arr_eq(got.k_t[0], s[i].k_t[0], SGA_KEY_LEN);
		cr_assert_eq(store_session_get_marks(st, s[i].session_id, rx, a), 0);
		cr_assert_eq(rx[0], 3);
		snprintf(key, sizeof(key), "sga:{sess:%016llx}",
		         (unsigned long long)s[i].session_id);
		cr_assert(key_exists_on(m[i], key), "%s on master %d", key, m[i]);
		cr_assert_eq(store_invite_add(st, ID(id[i]), s[i].session_id), 0);
	}
	for (int i = 0; i < 3; i++) {
		uint64_t inv[4];
		unsigned n = 4;

		cr_assert_eq(store_invite_list(st, ID(id[i]), inv, &n), 0);
		cr_assert_eq(n, 1);
		cr_assert_eq(inv[0], s[i].session_id);
		cr_assert_eq(store_session_del(st, s[i].session_id), 0);
		cr_assert_eq(store_session_get(st, s[i].session_id, &got), -SGA_E_UNKNOWN_SESSION);
	}
	cr_assert_eq(store_moved(st), 0, "a stable cluster redirects nothing");
	cr_assert_eq(store_asked(st), 0);
	store_close(st);
}

/* Each of the vectors' slots, as the live cluster computes them. */
Test(store_cluster, keyslot_matches_the_live_cluster)
{
	for (size_t i = 0; i < sizeof(slot_vec) / sizeof(slot_vec[0]); i++) {
		redisReply *r =
		    cluster_fx_cmd(cluster_fx.port[0], "CLUSTER KEYSLOT %s", slot_vec[i].key);

		cr_assert_eq(r->type, REDIS_REPLY_INTEGER);
		cr_expect_eq((unsigned)r->integer,
		             stc_keyslot(slot_vec[i].key, strlen(slot_vec[i].key)), "'%s'",
		             slot_vec[i].key);
		freeReplyObject(r);
	}
}

static void setslot(int port, unsigned slot, const char *how, const char *id)
{
	redisReply *r = cluster_fx_cmd(port, "CLUSTER SETSLOT %u %s %s", slot, how, id);

	cr_assert_eq(r->type, REDIS_REPLY_STATUS, "SETSLOT %s on %d: %s", how, port,
	             r->type == REDIS_REPLY_ERROR ? r->str : "?");
	freeReplyObject(r);
}

/* A slot migrated while the store uses it: once its key has moved (MIGRATE)
 * the old owner answers ASK and the store reads and writes on the importing
 * node; once the slot is handed over (SETSLOT NODE) the old owner answers
 * MOVED and the store follows. No call sees an error. */
Test(store_cluster, migrated_slot_ask_then_moved)
{
	struct store *st = open_cluster();
	struct sga_gw_device d;
	char id[32], key[64], src_id[41], dst_id[41];
	int m[3], src, dst;
	unsigned slot;
	redisReply *r;

	masters(m);
	src = m[0];
	dst = m[1];
	slot = put_dev_on(st, src, &d, id, key);
	expect_dev(st, &d);
	cluster_fx_id(src, src_id);
	cluster_fx_id(dst, dst_id);

	setslot(dst, slot, "IMPORTING", src_id);
	setslot(src, slot, "MIGRATING", dst_id);
	r = cluster_fx_cmd(src, "MIGRATE 127.0.0.1 %d %s 0 5000", dst, key);
	cr_assert_eq(r->type, REDIS_REPLY_STATUS, "MIGRATE: %s",
	             r->type == REDIS_REPLY_ERROR ? r->str : "?");
	freeReplyObject(r);

	/* The key is gone from src: ASK to dst, for this command only. */
	expect_dev(st, &d);
	cr_assert_geq(store_asked(st), 1, "the read followed an ASK");
	cr_assert_eq(store_device_set_up_ctr(st, ID(id), 11), 0, "a write during the migration");
	d.up_ctr = 11;
	cr_assert_geq(store_asked(st), 2);
	cr_assert_eq(store_moved(st), 0);

	for (int i = 0; i < 3; i++)
		setslot(m[i], slot, "NODE", dst_id);
	/* src now answers MOVED: the store updates the slot's owner. */
	expect_dev(st, &d);
	cr_assert_eq(store_moved(st), 1, "one MOVED, then the new owner directly");
	expect_dev(st, &d);
	cr_assert(store_moved(st) <= 1);
	cr_assert(key_exists_on(dst, key));
	store_close(st);
}

/* A master killed (SIGKILL) and its replica promoted (CLUSTER FAILOVER
 * TAKEOVER): calls fail as UNAVAILABLE, then - within one backoff of the
 * cluster being whole again - succeed on the new master, with the data
 * written before the kill (acknowledged by the replica: WAIT). */
Test(store_cluster, master_killed_replica_promoted)
{
	struct store *st = open_cluster();
	struct sga_gw_device d;
	struct sga_gw_session s, got;
	struct store_estab e;
	char id[32], key[64];
	int m[3], victim, replica, rc, failures = 0;
	unsigned slot;
	uint64_t t0;
	redisReply *r;

	masters(m);
	victim = m[2];
	slot = put_dev_on(st, victim, &d, id, key);
	make_sess(&s, sess_on(victim, 0x7000), SGA_GW_S_ESTABLISHED);
	memset(&e, 0, sizeof(e));
	e.s = &s;
	e.block = 1024;
	cr_assert_eq(store_session_establish(st, &e, 1), 0);
	replica = cluster_fx_replica_of(cluster_fx.port[0], victim);
	/* WAIT counts the writes of its own connection: one more write on the
	 * victim, after the store's, and the replica's ack of it covers them. */
	{
		redisContext *c = redisConnect("127.0.0.1", victim);

		cr_assert(c && !c->err);
		r = redisCommand(c, "SET fence{dev:%s} 1", id);
		cr_assert(r && r->type == REDIS_REPLY_STATUS);
		freeReplyObject(r);
		r = redisCommand(c, "WAIT 1 5000");
		cr_assert(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1,
		          "the replica acknowledged the writes");
		freeReplyObject(r);
		redisFree(c);
	}

	cluster_fx_kill(victim);
	rc = store_device_get(st, ID(id), &d);
	cr_assert_eq(rc, -SGA_E_UNAVAILABLE, "the dead master's slot: %d", rc);
	r = cluster_fx_cmd(replica, "CLUSTER FAILOVER TAKEOVER");
	cr_assert_eq(r->type, REDIS_REPLY_STATUS, "TAKEOVER: %s",
	             r->type == REDIS_REPLY_ERROR ? r->str : "?");
	freeReplyObject(r);
	cluster_fx_wait_ok(20000, slot, replica);

	t0 = fx_now_ms();
	while ((rc = store_device_get(st, ID(id), &d)) != 0 && fx_now_ms() - t0 < 10000) {
		cr_assert_eq(rc, -SGA_E_UNAVAILABLE, "only UNAVAILABLE while it fails: %d", rc);
		failures++;
		fx_msleep(20);
	}
	cr_assert_eq(rc, 0, "the new master serves the slot");
	/* The store retries no later than its backoff cap once the cluster is
	 * whole (plus the refresh and the call themselves). */
	cr_assert_leq(fx_now_ms() - t0, BACKOFF_MAX_MS + 1000, "recovered in %llu ms",
	              (unsigned long long)(fx_now_ms() - t0));
	make_dev(&d, id);
	expect_dev(st, &d);
	cr_assert_eq(store_session_get(st, s.session_id, &got), 0, "the session survived");
	cr_assert_arr_eq(got.k_t[0], s.k_t[0], SGA_KEY_LEN);
	cr_assert(key_exists_on(replica, key), "on the promoted replica");
	cr_assert_geq(store_reconnects(st) + store_connect_attempts(st), 1);
	(void)failures;
	store_close(st);
}

static int collect(void *arg, const char *key)
{
	unsigned *seen = arg;

	if (!strncmp(key, "sga:{dev:meter-", 15))
		(*seen)++;
	return 0;
}

/* SCAN runs on every master (a key is on one master only); the restore
 * index is one key and lists sessions whose records are on all three. */
Test(store_cluster, scan_and_list_see_every_master)
{
	struct store *st = open_cluster();
	struct sga_gw_device d;
	struct sga_gw_session s[3];
	struct store_estab e[3];
	uint64_t *ids;
	unsigned seen = 0, n;
	int m[3];
	char id[32];

	masters(m);
	memset(e, 0, sizeof(e));
	for (int i = 0; i < 3; i++) {
		dev_on(m[i], id);
		make_dev(&d, id);
		cr_assert_eq(store_device_put(st, &d), 0);
		make_sess(&s[i], sess_on(m[i], 0x20000u + 0x10000u * (unsigned)i),
		          SGA_GW_S_ESTABLISHED);
		e[i].s = &s[i];
		e[i].block = 64;
	}
	cr_assert_eq(store_scan(st, "sga:{dev:*", collect, &seen), 0);
	cr_assert_eq(seen, 3, "one device per master: saw %u", seen);
	cr_assert_eq(store_session_establish(st, e, 3), 0);
	cr_assert_eq(store_session_list_all(st, &ids, &n), 0);
	cr_assert_eq(n, 3);
	for (int i = 0; i < 3; i++) {
		int found = 0;

		for (unsigned k = 0; k < n; k++)
			found |= ids[k] == s[i].session_id;
		cr_assert(found, "session %d listed", i);
	}
	free(ids);
	store_close(st);
}

/* [redis] require_aof: every master is asked (INFO persistence); one
 * without an AOF is named, and accepted once it has one. */
Test(store_cluster, check_aof_asks_every_master)
{
	struct store *st = open_cluster();
	char node[STORE_NODE_NAME_MAX], want[32];
	int m[3];
	redisReply *r;

	masters(m);
	cr_assert_eq(store_check_aof(st, node, sizeof(node)), 0, "the fixture runs appendonly yes");
	r = cluster_fx_cmd(m[2], "CONFIG SET appendonly no");
	cr_assert_eq(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	cr_assert_eq(store_check_aof(st, node, sizeof(node)), 1);
	snprintf(want, sizeof(want), "127.0.0.1:%d", m[2]);
	cr_assert_str_eq(node, want);
	r = cluster_fx_cmd(m[2], "CONFIG SET appendonly yes");
	cr_assert_eq(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	cr_assert_eq(store_check_aof(st, node, sizeof(node)), 0);
	store_close(st);
}

/* Every node connection authenticates: with requirepass on every node, a
 * store without the password is refused (and says so), one with it writes
 * on all three masters. */
Test(store_cluster, auth_on_every_node_connection)
{
	struct store_config cfg;
	struct store *st;
	struct sga_gw_device d[3];
	char id[3][32];
	int m[3];

	masters(m);
	for (int i = 0; i < 3; i++)
		dev_on(m[i], id[i]);
	for (int i = 0; i < CFX_NODES; i++) {
		redisReply *r = cluster_fx_cmd(cluster_fx.port[i], "CONFIG SET requirepass s3cret");

		cr_assert_eq(r->type, REDIS_REPLY_STATUS);
		freeReplyObject(r);
	}
	st = open_cluster();
	make_dev(&d[0], id[0]);
	cr_assert_eq(store_device_put(st, &d[0]), -SGA_E_UNAVAILABLE);
	cr_assert(store_auth_refused(st));
	store_close(st);

	memset(&cfg, 0, sizeof(cfg));
	cfg.cluster = cluster_fx.seeds;
	cfg.timeout_ms = 1000;
	cfg.backoff_max_ms = BACKOFF_MAX_MS;
	cfg.password = "s3cret";
	memcpy(cfg.master_key, MKEY, sizeof(MKEY));
	st = store_open(&cfg);
	cr_assert_not_null(st);
	for (int i = 0; i < 3; i++) {
		make_dev(&d[i], id[i]);
		cr_assert_eq(store_device_put(st, &d[i]), 0, "device on master %d", m[i]);
		expect_dev(st, &d[i]);
	}
	cr_assert_eq(store_connect_attempts(st), 3, "one connection per master");
	cr_assert(!store_auth_refused(st));
	store_close(st);

	/* An ACL user as docs/OPERATIONS.md suggests, on every node (ACLs are
	 * per node): its keys and no @dangerous command but INFO. */
	for (int i = 0; i < CFX_NODES; i++) {
		struct timeval tv = {5, 0};
		redisContext *c = redisConnectWithTimeout("127.0.0.1", cluster_fx.port[i], tv);
		redisReply *r;

		cr_assert(c && !c->err);
		r = redisCommand(c, "AUTH s3cret");
		cr_assert(r && r->type == REDIS_REPLY_STATUS);
		freeReplyObject(r);
		r = redisCommand(c, "ACL SETUSER sga on >pw2 ~sga:* +@all -@dangerous +info");
		cr_assert(r && r->type == REDIS_REPLY_STATUS, "ACL SETUSER");
		freeReplyObject(r);
		redisFree(c);
	}
	cfg.user = "sga";
	cfg.password = "pw2";
	st = store_open(&cfg);
	cr_assert_not_null(st);
	{
		char node[STORE_NODE_NAME_MAX];
		unsigned seen = 0;

		for (int i = 0; i < 3; i++)
			expect_dev(st, &d[i]);
		cr_assert_eq(store_scan(st, "sga:{dev:*", collect, &seen), 0);
		cr_assert_eq(seen, 3);
		cr_assert_eq(store_check_aof(st, node, sizeof(node)), 0, "INFO on %s", node);
	}
	store_close(st);
}

/* The message store's replica on a cluster (store_held_*): each session's
 * held hash on its slot's master, and WAIT on every master a batch wrote to
 * (each has one replica here: 1 is confirmed, 2 is not). */
static int held_count(void *arg, uint8_t role, uint64_t seq, const uint8_t *rec, size_t len)
{
	(void)role;
	(void)seq;
	(void)rec;
	(void)len;
	(*(unsigned *)arg)++;
	return 0;
}

Test(store_cluster, held_messages_wait_on_every_master_written)
{
	struct store *st = open_cluster();
	struct store_held_op ops[6];
	const uint8_t rec[8] = "recordxx";
	uint64_t sid[3], marks[2];
	unsigned acked, n;
	int m[3];
	char key[64];

	masters(m);
	for (int i = 0; i < 3; i++)
		(void)cluster_fx_replica_of(cluster_fx.port[0], m[i]); /* joined */
	for (int i = 0; i < 3; i++) {
		sid[i] = sess_on(m[i], 0x7000u + 0x10000u * (unsigned)i);
		ops[2 * i] = (struct store_held_op){.sid = sid[i],
		                                    .e2e_seq = 5,
		                                    .role = 1,
		                                    .kind = STORE_HELD_PUT,
		                                    .rec = rec,
		                                    .rec_len = sizeof(rec)};
		ops[2 * i + 1] = (struct store_held_op){
		    .sid = sid[i], .e2e_seq = 4, .role = 1, .kind = STORE_HELD_MARK};
	}
	cr_assert_eq(store_held_write(st, ops, 6, NULL), 0);
	/* A replica that joined may still be syncing: a bounded retry (the
	 * store's socket timeout is 1,000 ms, WAIT's 500). */
	for (uint64_t t0 = fx_now_ms(); store_held_wait(st, 1, 500, &acked);) {
		cr_assert_lt(fx_now_ms() - t0, 20000, "WAIT 1 never confirmed (%u)", acked);
		cr_assert_eq(store_held_write(st, ops, 6, NULL), 0); /* the masters again */
	}
	cr_assert_geq(acked, 1);
	for (int i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "sga:{sess:%016llx}:held", (unsigned long long)sid[i]);
		cr_assert(key_exists_on(m[i], key), "%s on master %d", key, m[i]);
		n = 0;
		cr_assert_eq(store_held_load(st, sid[i], held_count, &n, marks, NULL), 0);
		cr_assert_eq(n, 1);
		cr_assert_eq(marks[1], 4);
	}
	/* Two replicas asked of masters that have one: refused. */
	cr_assert_eq(store_held_write(st, ops, 2, NULL), 0);
	cr_assert_eq(store_held_wait(st, 2, 50, &acked), -SGA_E_NOSPACE);
	cr_assert_eq(acked, 1);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(store_session_del(st, sid[i]), 0);
	store_close(st);
}
