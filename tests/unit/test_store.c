/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_store.c - the control plane's Redis store (controlplane/store.h) against
 * a real redis-server that each test starts on a unix socket in its own
 * temporary directory: record round trips, sealing at rest (no plaintext in
 * Redis, records bound to their key), counter compare-and-set under
 * concurrency, hop-sequence reservations, master key files, and behaviour
 * while Redis is down, hung and back.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <hiredis/hiredis.h>

#include "cp_log.h"
#include "redis_fixture.h"
#include "store_records.h"
#include "sga_crypto.h"
#include "sga_hop.h"
#include "sga_rekey.h"
#include "store.h"

/* A private redis-server per test: tests/support/redis_fixture.h. */

/* Reservations from 0 (no clock floor) unless a test sets one. */
static uint64_t no_floor(void)
{
	return 0;
}

static void redis_setup(void)
{
	store_tx_floor_set(no_floor);
	redis_fx_setup("/tmp/sga-store");
}

static void redis_teardown(void)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/key", redis_fx.dir);
	unlink(path);
	redis_fx_teardown();
}

/* ---- fixtures ------------------------------------------------------------------ */

static const uint8_t MKEY[32] = {0x6d, 0x61, 0x73, 0x74, 0x65, 0x72, 0x20, 0x6b, 0x65, 0x79, 0x20,
                                 0x66, 0x6f, 0x72, 0x20, 0x74, 0x65, 0x73, 0x74, 0x73, 0x20, 0x6f,
                                 0x6e, 0x6c, 0x79, 0x21, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06};

/* The test server's socket and key; the caller sets what differs. */
static struct store_config base_cfg(unsigned timeout_ms)
{
	struct store_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.unix_socket = redis_fx.sock;
	cfg.timeout_ms = timeout_ms;
	cfg.backoff_max_ms = 200;
	memcpy(cfg.master_key, MKEY, sizeof(MKEY));
	return cfg;
}

static struct store *open_cfg(const struct store_config *cfg)
{
	struct store *st = store_open(cfg);

	cr_assert_not_null(st);
	return st;
}

static struct store *open_store(unsigned timeout_ms)
{
	struct store_config cfg = base_cfg(timeout_ms);

	return open_cfg(&cfg);
}

static struct dp_addr mkaddr(uint8_t last, uint16_t port)
{
	struct dp_addr a;

	memset(&a, 0, sizeof(a));
	dp_addr_set_ipv4(&a, htonl(0x0a000000u | last));
	a.port = htons(port);
	for (int i = 0; i < 6; i++)
		a.mac[i] = (uint8_t)(0x02 + i * 0x11 + last);
	return a;
}

static int addr_eq(const struct dp_addr *a, const struct dp_addr *b)
{
	return a->family == b->family && !memcmp(a->ip, b->ip, 16) && a->port == b->port &&
	       a->vlan == b->vlan && !memcmp(a->mac, b->mac, 6);
}

#define ID(s) (const uint8_t *)(s), (uint8_t)strlen(s)

TestSuite(store, .init = redis_setup, .fini = redis_teardown, .timeout = 120);

/* ---- records --------------------------------------------------------------------- */

Test(store, device_round_trip)
{
	struct store *st = open_store(1000);
	struct sga_gw_device d, got;

	make_dev(&d, "dev-1");
	cr_assert_eq(store_device_get(st, ID("dev-1"), &got), -SGA_E_UNKNOWN_DEVICE);
	cr_assert_eq(store_device_put(st, &d), 0);
	cr_assert(store_connected(st));
	cr_assert_eq(store_device_get(st, ID("dev-1"), &got), 0);
	cr_assert_eq(got.id_len, 5);
	cr_assert_arr_eq(got.id, "dev-1", 5);
	cr_assert_arr_eq(got.k_d, d.k_d, SGA_KEY_LEN);
	cr_assert_eq(got.suite_init, d.suite_init);
	cr_assert_eq(got.n_suites, 3);
	cr_assert_arr_eq(got.suites, d.suites, 3);
	cr_assert_eq(got.up_ctr, 5);
	cr_assert_eq(got.down_ctr, 7);

	/* create refuses an existing id, accepts a new one */
	cr_assert_eq(store_device_create(st, &d), -SGA_E_EXISTS);
	make_dev(&d, "dev-2");
	d.up_ctr = 0;
	d.down_ctr = 1;
	cr_assert_eq(store_device_create(st, &d), 0);
	cr_assert_eq(store_device_get(st, ID("dev-2"), &got), 0);
	cr_assert_eq(got.down_ctr, 1);

	/* ids are checked before they become key names */
	cr_assert_eq(store_device_get(st, ID("bad id"), &got), -SGA_E_BAD_FIELD);
	cr_assert_eq(store_device_get(st, (const uint8_t *)"", 0, &got), -SGA_E_BAD_FIELD);
	store_close(st);
}

/* The address field in Redis: IPv4 untagged exactly as before IPv6 (a
 * record an older gateway wrote reads, and one this gateway writes for an
 * untagged IPv4 device reads in an older one), IPv6 in brackets, the
 * 802.1Q TCI as a suffix; a round trip for each, rejects for the rest. */
Test(store, address_text_forms)
{
	static const char *bad[] = {
	    "10.0.0.7:40007",                               /* no MAC */
	    "10.0.0.7:40007/02:13:24:35:46:57/",            /* empty suffix */
	    "10.0.0.7:40007/02:13:24:35:46:57/tci=0x0000",  /* tag 0 is "untagged" */
	    "10.0.0.7:40007/02:13:24:35:46:57/tci=0x12345", /* too long */
	    "10.0.0.7:70000/02:13:24:35:46:57",             /* port */
	    "10.0.0.256:1/02:13:24:35:46:57",               /* IPv4 */
	    "fd00::7:40007/02:13:24:35:46:57",              /* IPv6 without brackets */
	    "[fd00::7]40007/02:13:24:35:46:57",             /* no colon */
	    "[fd00::g]:40007/02:13:24:35:46:57",            /* IPv6 */
	    "[fd00::7:40007/02:13:24:35:46:57",             /* unclosed */
	};
	struct dp_addr a = mkaddr(7, 40007), b;
	static const uint8_t ip6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
	char s[STORE_ADDR_STR_MAX];

	/* What the previous version wrote, read as it always was. */
	cr_assert_eq(store_addr_parse("10.0.0.7:40007/09:1a:2b:3c:4d:5e", 32, &b), 0);
	cr_assert(addr_eq(&b, &a));
	cr_assert_eq(b.family, DP_AF_IPV4);
	cr_assert_eq(b.vlan, 0);
	store_addr_format(&a, s);
	cr_assert_str_eq(s, "10.0.0.7:40007/09:1a:2b:3c:4d:5e");
	a.vlan = 0xa02a;
	store_addr_format(&a, s);
	cr_assert_str_eq(s, "10.0.0.7:40007/09:1a:2b:3c:4d:5e/tci=0xa02a");
	cr_assert_eq(store_addr_parse(s, strlen(s), &b), 0);
	cr_assert(addr_eq(&b, &a));
	dp_addr_set_ipv6(&a, ip6);
	store_addr_format(&a, s);
	cr_assert_str_eq(s, "[fd00::7]:40007/09:1a:2b:3c:4d:5e/tci=0xa02a");
	cr_assert_eq(store_addr_parse(s, strlen(s), &b), 0);
	cr_assert(addr_eq(&b, &a));
	cr_assert_eq(b.family, DP_AF_IPV6);
	a.vlan = 0;
	memset(a.ip, 0xff, 16); /* the longest text */
	store_addr_format(&a, s);
	cr_assert_str_eq(s, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:40007/09:1a:2b:3c:4d:5e");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(store_addr_parse(bad[i], strlen(bad[i]), &b), -1, "%s", bad[i]);
}

/* A cluster: "@K" names the node that reaches the device (1..15), after
 * the TCI if there is one; nothing else after the address. */
Test(store, address_text_forms_with_a_node)
{
	static const char *bad[] = {
	    "10.0.0.7:40007/09:1a:2b:3c:4d:5e@0",  /* node 0 is "this gateway": not written */
	    "10.0.0.7:40007/09:1a:2b:3c:4d:5e@16", /* beyond DP_NODES_MAX */
	    "10.0.0.7:40007/09:1a:2b:3c:4d:5e@",   /* empty */
	    "10.0.0.7:40007/09:1a:2b:3c:4d:5e@x",  /* not a number */
	    "10.0.0.7:40007/09:1a:2b:3c:4d:5e@3x", /* trailing */
	};
	struct dp_addr a = mkaddr(7, 40007), b;
	char s[STORE_ADDR_STR_MAX];

	a.via = 3;
	store_addr_format(&a, s);
	cr_assert_str_eq(s, "10.0.0.7:40007/09:1a:2b:3c:4d:5e@3");
	cr_assert_eq(store_addr_parse(s, strlen(s), &b), 0);
	cr_assert(addr_eq(&b, &a));
	cr_assert_eq(b.via, 3);
	a.vlan = 0xa02a;
	a.via = 15;
	store_addr_format(&a, s);
	cr_assert_str_eq(s, "10.0.0.7:40007/09:1a:2b:3c:4d:5e/tci=0xa02a@15");
	cr_assert_eq(store_addr_parse(s, strlen(s), &b), 0);
	cr_assert(addr_eq(&b, &a));
	cr_assert_eq(b.via, 15);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(store_addr_parse(bad[i], strlen(bad[i]), &b), -1, "%s", bad[i]);
}

static struct store *open_node(unsigned node)
{
	struct store_config cfg = base_cfg(1000);

	cfg.node = node;
	return open_cfg(&cfg);
}

/* In a cluster an address goes to Redis with the node that reaches the
 * device, and comes back relative to the reader: "through node 2" for node 3,
 * "directly" for node 2 itself. */
Test(store, cluster_addresses_name_the_node)
{
	struct store *b = open_node(2), *c = open_node(3);
	struct sga_gw_device d;
	struct dp_addr a = mkaddr(7, 40007), got;
	redisReply *r;

	make_dev(&d, "dev-n");
	cr_assert_eq(store_device_put(b, &d), 0);
	cr_assert_eq(store_device_set_addr(b, ID("dev-n"), &a), 0, "node 2 reaches it itself");
	r = redis_fx_cmd("HGET sga:{dev:dev-n} addr");
	cr_assert(r->type == REDIS_REPLY_STRING &&
	              !strcmp(r->str, "10.0.0.7:40007/09:1a:2b:3c:4d:5e@2"),
	          "%s", r->str ? r->str : "-");
	freeReplyObject(r);
	cr_assert_eq(store_device_get_addr(b, ID("dev-n"), &got), 0);
	cr_assert_eq(got.via, 0, "node 2 reads its own address as direct");
	cr_assert_eq(store_device_get_addr(c, ID("dev-n"), &got), 0);
	cr_assert_eq(got.via, 2, "node 3 reaches it through node 2");
	cr_assert(addr_eq(&got, &a));
	/* Node 3 learned it through node 2 and writes that. */
	cr_assert_eq(store_device_set_addr(c, ID("dev-n"), &got), 0);
	cr_assert_eq(store_device_get_addr(b, ID("dev-n"), &got), 0);
	cr_assert_eq(got.via, 0);
	store_close(b);
	store_close(c);
}

/* A node's lease is there for its lease_ms, then gone; a session's owner
 * is "" when it names none or does not exist. */
Test(store, node_lease_lapses)
{
	struct store *st = open_store(1000);
	char owner[STORE_OWNER_MAX] = "x";
	uint64_t t0;

	cr_assert_eq(store_node_alive(st, "gw-a"), 0, "no lease yet");
	cr_assert_eq(store_node_lease(st, "gw-a", "run-1", 300), 0);
	cr_assert_eq(store_node_alive(st, "gw-a"), 1);
	cr_assert_eq(store_node_alive(st, "gw-b"), 0, "another node's");
	for (t0 = fx_now_ms(); store_node_alive(st, "gw-a") == 1 && fx_now_ms() - t0 < 5000;)
		fx_msleep(20);
	cr_assert_eq(store_node_alive(st, "gw-a"), 0, "the lease lapsed");
	cr_assert_eq(store_node_lease(st, "", "run-1", 300), -SGA_E_BAD_FIELD);
	cr_assert_eq(store_session_owner(st, 0x1234, owner, sizeof(owner)), 0);
	cr_assert_str_eq(owner, "", "no such session: no owner");
	store_close(st);
}

/* A gateway that stops gives its lease back at once, but only its own run's:
 * a lease another run (a restart with the same name) holds stays. */
Test(store, node_lease_released_by_its_holder_only)
{
	struct store *st = open_store(1000);

	cr_assert_eq(store_node_lease(st, "gw-r", "run-1", 60000), 0);
	cr_assert_eq(store_node_release(st, "gw-r", "run-2"), 0, "not this run's");
	cr_assert_eq(store_node_alive(st, "gw-r"), 1);
	cr_assert_eq(store_node_release(st, "gw-r", "run-1"), 1);
	cr_assert_eq(store_node_alive(st, "gw-r"), 0, "released: down now, not in 60 s");
	cr_assert_eq(store_node_release(st, "gw-r", "run-1"), 0, "nothing left to release");
	cr_assert_eq(store_node_release(st, "", "run-1"), -SGA_E_BAD_FIELD);
	store_close(st);
}

/* An IPv6, tagged device address through Redis. */
Test(store, device_address_ipv6_tagged)
{
	struct store *st = open_store(1000);
	struct sga_gw_device d;
	static const uint8_t ip6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
	struct dp_addr a = mkaddr(9, 40009), got;

	dp_addr_set_ipv6(&a, ip6);
	a.vlan = 0x0064;
	make_dev(&d, "dev-6");
	cr_assert_eq(store_device_put(st, &d), 0);
	cr_assert_eq(store_device_set_addr(st, ID("dev-6"), &a), 0);
	cr_assert_eq(store_device_get_addr(st, ID("dev-6"), &got), 0);
	cr_assert(addr_eq(&a, &got));
	store_close(st);
}

Test(store, device_address)
{
	struct store *st = open_store(1000);
	struct sga_gw_device d;
	struct dp_addr a = mkaddr(7, 40007), got;

	cr_assert_eq(store_device_set_addr(st, ID("nobody"), &a), -SGA_E_UNKNOWN_DEVICE);
	cr_assert_eq(store_device_get_addr(st, ID("nobody"), &got), -SGA_E_UNKNOWN_DEVICE);
	make_dev(&d, "dev-a");
	cr_assert_eq(store_device_put(st, &d), 0);
	cr_assert_eq(store_device_get_addr(st, ID("dev-a"), &got), 0);
	cr_assert_eq(got.port, 0, "no address stored yet");
	cr_assert_eq(store_device_set_addr(st, ID("dev-a"), &a), 0);
	cr_assert_eq(store_device_get_addr(st, ID("dev-a"), &got), 0);
	cr_assert(addr_eq(&a, &got));
	/* the address survives a record rewrite */
	cr_assert_eq(store_device_put(st, &d), 0);
	cr_assert_eq(store_device_get_addr(st, ID("dev-a"), &got), 0);
	cr_assert(addr_eq(&a, &got));
	store_close(st);
}

Test(store, session_round_trip)
{
	struct store *st = open_store(1000);
	struct sga_gw_session s, got;
	struct sga_hop_member m;
	redisReply *r;

	cr_assert_eq(store_session_get(st, 0x1122334455667788ull, &got), -SGA_E_UNKNOWN_SESSION);
	cr_assert_eq(store_session_get(st, 0, &got), -SGA_E_BAD_FIELD);

	/* KEX: the first contribution's N and K survive */
	make_sess(&s, 0x1122334455667788ull, SGA_GW_S_KEX);
	cr_assert_eq(store_session_put(st, &s), 0);
	cr_assert_eq(store_session_get(st, s.session_id, &got), 0);
	cr_assert_eq(got.session_id, s.session_id);
	cr_assert_eq(got.state, SGA_GW_S_KEX);
	cr_assert_eq(got.suite, s.suite);
	cr_assert_eq(got.group, s.group);
	cr_assert_eq(got.have_init, 1);
	cr_assert_eq(got.req_ctr, 42);
	for (int k = 0; k < 2; k++) {
		cr_assert_eq(got.id_len[k], 5);
		cr_assert_arr_eq(got.id[k], s.id[k], 5);
		cr_assert_eq(got.hop_suite[k], s.hop_suite[k]);
		cr_assert_arr_eq(got.k_t[k], s.k_t[k], SGA_KEY_LEN);
	}
	cr_assert_arr_eq(got.N[0], s.N[0], 256);
	cr_assert_arr_eq(got.K[0], s.K[0], 256);
	/* not established: not indexed, and it expires */
	r = redis_fx_cmd("SCARD sga:sessions");
	cr_assert_eq(r->integer, 0);
	freeReplyObject(r);
	r = redis_fx_cmd("TTL sga:{sess:1122334455667788}");
	cr_assert(r->integer > 0 && r->integer <= 300, "ttl %lld", r->integer);
	freeReplyObject(r);

	/* ESTABLISHED: indexed, persistent, cached replies kept, hop keys derived */
	make_sess(&s, 0x1122334455667788ull, SGA_GW_S_ESTABLISHED);
	cr_assert_eq(store_session_put(st, &s), 0);
	cr_assert_eq(store_session_get(st, s.session_id, &got), 0);
	cr_assert_eq(got.state, SGA_GW_S_ESTABLISHED);
	for (int k = 0; k < 2; k++) {
		cr_assert_eq(got.reply_len[k], 300);
		cr_assert_arr_eq(got.reply[k], s.reply[k], 300);
		cr_assert_arr_eq(got.init_hash[k], s.init_hash[k], sizeof(s.init_hash[k]),
		                 "the KEX_INIT a retransmission must repeat");
		/* the down key is that of the epoch drawn at this load, and the
		 * record says it comes from the store */
		cr_assert_neq(got.hop[k].epoch, 0);
		cr_assert_eq(got.hop[k].restored, 1);
		cr_assert_eq(sga_hop_member_init_epoch(&m, s.k_t[k], s.session_id, s.hop_suite[k],
		                                       got.hop[k].epoch),
		             0);
		cr_assert_arr_eq(got.hop[k].key_up, m.key_up, sizeof(m.key_up));
		cr_assert_arr_eq(got.hop[k].key_down, m.key_down, sizeof(m.key_down));
		cr_assert_eq(got.hop[k].suite, s.hop_suite[k]);
	}
	r = redis_fx_cmd("SISMEMBER sga:sessions 1122334455667788");
	cr_assert_eq(r->integer, 1);
	freeReplyObject(r);
	r = redis_fx_cmd("TTL sga:{sess:1122334455667788}");
	cr_assert_eq(r->integer, -1);
	freeReplyObject(r);

	cr_assert_eq(store_session_del(st, s.session_id), 0);
	cr_assert_eq(store_session_get(st, s.session_id, &got), -SGA_E_UNKNOWN_SESSION);
	r = redis_fx_cmd("SCARD sga:sessions");
	cr_assert_eq(r->integer, 0);
	freeReplyObject(r);
	store_close(st);
}

/* PROTOCOL.md 7.15, "Gateway restart": the key generation, a rekey in
 * progress (one role's contribution: its k_t, N and K) and the cached
 * REKEY_REPLYs survive the record's round trip, and the hop keys of a loaded
 * record are the generation's; the previous generation's up keys are not
 * reinstalled after a load. */
Test(store, session_rekey_state_round_trip)
{
	struct store *st = open_store(1000);
	struct sga_gw_session s, got;
	struct sga_hop_member m;

	make_sess(&s, 0x2233445566778899ull, SGA_GW_S_ESTABLISHED);
	s.rk.gen = 3;
	s.rk.next_gen = 4;
	s.rk.have = 2;
	s.rk.prev_live = 3;
	memset(s.rk.k_t_next[1], 0x5a, SGA_KEY_LEN);
	memset(s.N[1], 0x61, 256);
	memset(s.K[1], 0x62, 256);
	for (int k = 0; k < 2; k++) {
		memset(s.rk.prev_k_t[k], 0x30 + k, SGA_KEY_LEN);
		memset(s.rk.init_hash[k], 0xc0 + k, SGA_SHA256_LEN);
		s.rk.reply_len[k] = 500;
		memset(s.rk.reply[k], 0x90 + k, 500);
	}
	cr_assert_eq(store_session_put(st, &s), 0);
	cr_assert_eq(store_session_get(st, s.session_id, &got), 0);
	cr_assert_eq(got.rk.gen, 3);
	cr_assert_eq(got.rk.next_gen, 4);
	cr_assert_eq(got.rk.have, 2);
	cr_assert_eq(got.rk.prev_live, 0, "a loaded record has no overlap to serve");
	cr_assert_arr_eq(got.rk.k_t_next[1], s.rk.k_t_next[1], SGA_KEY_LEN);
	cr_assert_arr_eq(got.N[1], s.N[1], 256);
	cr_assert_arr_eq(got.K[1], s.K[1], 256);
	for (int k = 0; k < 2; k++) {
		cr_assert_arr_eq(got.rk.init_hash[k], s.rk.init_hash[k], SGA_SHA256_LEN);
		cr_assert_eq(got.rk.reply_len[k], 500);
		cr_assert_arr_eq(got.rk.reply[k], s.rk.reply[k], 500);
		cr_assert_arr_eq(got.rk.prev_k_t[k], s.rk.prev_k_t[k], SGA_KEY_LEN);
		cr_assert_eq(sga_hop_member_init_gen(&m, s.k_t[k], s.session_id, 3, s.hop_suite[k],
		                                     got.hop[k].epoch),
		             0);
		cr_assert_arr_eq(got.hop[k].key_up, m.key_up, sizeof(m.key_up));
		cr_assert_arr_eq(got.hop[k].key_down, m.key_down, sizeof(m.key_down));
	}
	/* A session that never rekeyed reads and writes as before. */
	make_sess(&s, 0x2233445566778899ull, SGA_GW_S_ESTABLISHED);
	cr_assert_eq(store_session_put(st, &s), 0);
	cr_assert_eq(store_session_get(st, s.session_id, &got), 0);
	cr_assert_eq(got.rk.gen, 0);
	cr_assert_eq(got.rk.have, 0);
	store_close(st);
}

Test(store, enroll_round_trip)
{
	struct store *st = open_store(1000);
	struct sga_gw_enroll e, got;

	for (unsigned i = 0; i < sizeof(e.token_hash); i++)
		e.token_hash[i] = (uint8_t)(i * 7);
	cr_assert_eq(store_enroll_get(st, ID("dev-e"), &got), -SGA_E_UNKNOWN_DEVICE);
	cr_assert_eq(store_enroll_put(st, ID("dev-e"), &e), 0);
	cr_assert_eq(store_enroll_get(st, ID("dev-e"), &got), 0);
	cr_assert_arr_eq(got.token_hash, e.token_hash, sizeof(e.token_hash));
	cr_assert_eq(store_enroll_del(st, ID("dev-e")), 0);
	cr_assert_eq(store_enroll_get(st, ID("dev-e"), &got), -SGA_E_UNKNOWN_DEVICE);
	store_close(st);
}

/* ---- sealing at rest ------------------------------------------------------------------ */

Test(store, records_are_not_plaintext)
{
	struct store *st = open_store(1000);
	struct sga_gw_device d;
	struct sga_gw_session s;
	redisReply *r;

	make_dev(&d, "dev-p");
	cr_assert_eq(store_device_put(st, &d), 0);
	r = redis_fx_cmd("HGET sga:{dev:dev-p} rec");
	cr_assert_eq(r->type, REDIS_REPLY_STRING);
	cr_assert_eq(r->str[0], 1, "format version");
	cr_assert_null(memmem(r->str, r->len, d.k_d, SGA_KEY_LEN), "k_d in clear");
	cr_assert_null(memmem(r->str, r->len, d.k_d, 8), "part of k_d in clear");
	freeReplyObject(r);
	/* counters are plain fields, for atomic updates */
	r = redis_fx_cmd("HGET sga:{dev:dev-p} up_ctr");
	cr_assert_str_eq(r->str, "5");
	freeReplyObject(r);

	make_sess(&s, 0xabcdef0123456789ull, SGA_GW_S_KEX);
	cr_assert_eq(store_session_put(st, &s), 0);
	r = redis_fx_cmd("HGET sga:{sess:abcdef0123456789} rec");
	cr_assert_eq(r->type, REDIS_REPLY_STRING);
	for (int k = 0; k < 2; k++)
		cr_assert_null(memmem(r->str, r->len, s.k_t[k], 8), "k_t in clear");
	cr_assert_null(memmem(r->str, r->len, s.K[0], 16), "K in clear");
	freeReplyObject(r);
	/* two seals of one record differ (fresh nonce) */
	{
		redisReply *a, *b;

		cr_assert_eq(store_device_put(st, &d), 0);
		a = redis_fx_cmd("HGET sga:{dev:dev-p} rec");
		cr_assert_eq(store_device_put(st, &d), 0);
		b = redis_fx_cmd("HGET sga:{dev:dev-p} rec");
		cr_assert_eq(a->len, b->len);
		cr_assert(memcmp(a->str, b->str, a->len) != 0);
		freeReplyObject(a);
		freeReplyObject(b);
	}
	store_close(st);
}

Test(store, moved_or_tampered_record_fails)
{
	struct store *st = open_store(1000);
	struct sga_gw_device a, got;
	struct sga_gw_session s, sg;
	struct store_config cfg;
	struct store *other;
	redisReply *r;

	make_dev(&a, "dev-a");
	cr_assert_eq(store_device_put(st, &a), 0);
	make_dev(&a, "dev-b");
	a.k_d[0] ^= 1;
	cr_assert_eq(store_device_put(st, &a), 0);

	/* dev-a's sealed record copied under dev-b */
	r = redis_fx_cmd("HGET sga:{dev:dev-a} rec");
	freeReplyObject(redis_fx_cmd("HSET sga:{dev:dev-b} rec %b", r->str, r->len));
	freeReplyObject(r);
	cr_assert_eq(store_device_get(st, ID("dev-b"), &got), -SGA_E_AUTH);
	cr_assert_eq(got.id_len, 0, "nothing returned on failure");

	/* a session record moved to another session id */
	make_sess(&s, 0x1111111111111111ull, SGA_GW_S_ESTABLISHED);
	cr_assert_eq(store_session_put(st, &s), 0);
	make_sess(&s, 0x2222222222222222ull, SGA_GW_S_ESTABLISHED);
	cr_assert_eq(store_session_put(st, &s), 0);
	r = redis_fx_cmd("HGET sga:{sess:1111111111111111} rec");
	freeReplyObject(redis_fx_cmd("HSET sga:{sess:2222222222222222} rec %b", r->str, r->len));
	freeReplyObject(r);
	cr_assert_eq(store_session_get(st, 0x2222222222222222ull, &sg), -SGA_E_AUTH);

	/* one flipped ciphertext bit; an unknown format version */
	r = redis_fx_cmd("HGET sga:{dev:dev-a} rec");
	r->str[r->len - 1] ^= 0x01;
	freeReplyObject(redis_fx_cmd("HSET sga:{dev:dev-a} rec %b", r->str, r->len));
	r->str[r->len - 1] ^= 0x01;
	r->str[0] = 2;
	freeReplyObject(redis_fx_cmd("HSET sga:{sess:1111111111111111} rec %b", r->str, r->len));
	freeReplyObject(r);
	cr_assert_eq(store_device_get(st, ID("dev-a"), &got), -SGA_E_AUTH);
	cr_assert_eq(store_session_get(st, 0x1111111111111111ull, &sg), -SGA_E_BAD_VERSION);

	/* another master key cannot read the records */
	make_dev(&a, "dev-c");
	cr_assert_eq(store_device_put(st, &a), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.unix_socket = redis_fx.sock;
	cfg.master_key[0] = 1;
	other = store_open(&cfg);
	cr_assert_not_null(other);
	cr_assert_eq(store_device_get(other, ID("dev-c"), &got), -SGA_E_AUTH);
	store_close(other);
	store_close(st);
}

/* ---- counters ----------------------------------------------------------------------- */

Test(store, counters_compare_and_set)
{
	struct store *st = open_store(1000);
	struct sga_gw_device d, got;

	make_dev(&d, "dev-c");
	d.up_ctr = 3;
	d.down_ctr = 3;
	cr_assert_eq(store_device_put(st, &d), 0);
	cr_assert_eq(store_device_set_up_ctr(st, ID("dev-c"), 3), -SGA_E_REPLAY);
	cr_assert_eq(store_device_set_up_ctr(st, ID("dev-c"), 2), -SGA_E_REPLAY);
	cr_assert_eq(store_device_set_up_ctr(st, ID("dev-c"), 4), 0);
	cr_assert_eq(store_device_set_up_ctr(st, ID("dev-c"), 10), 0);
	cr_assert_eq(store_device_set_up_ctr(st, ID("dev-c"), 9), -SGA_E_REPLAY);
	cr_assert_eq(store_device_raise_down_ctr(st, ID("dev-c"), 2), 0, "lower: no error");
	cr_assert_eq(store_device_raise_down_ctr(st, ID("dev-c"), 8), 0);
	cr_assert_eq(store_device_get(st, ID("dev-c"), &got), 0);
	cr_assert_eq(got.up_ctr, 10);
	cr_assert_eq(got.down_ctr, 8);

	/* the whole 64-bit range compares right (Lua numbers are doubles) */
	cr_assert_eq(store_device_set_up_ctr(st, ID("dev-c"), UINT64_MAX - 1), 0);
	cr_assert_eq(store_device_set_up_ctr(st, ID("dev-c"), UINT64_MAX - 2), -SGA_E_REPLAY);
	cr_assert_eq(store_device_set_up_ctr(st, ID("dev-c"), UINT64_MAX), 0);
	cr_assert_eq(store_device_set_up_ctr(st, ID("dev-c"), 99999999999ull), -SGA_E_REPLAY);
	cr_assert_eq(store_device_get(st, ID("dev-c"), &got), 0);
	cr_assert_eq(got.up_ctr, UINT64_MAX);

	/* a missing device is not created by a counter update */
	cr_assert_eq(store_device_set_up_ctr(st, ID("ghost"), 1), -SGA_E_UNKNOWN_DEVICE);
	cr_assert_eq(store_device_raise_down_ctr(st, ID("ghost"), 1), -SGA_E_UNKNOWN_DEVICE);
	cr_assert_eq(store_device_get(st, ID("ghost"), &got), -SGA_E_UNKNOWN_DEVICE);
	store_close(st);
}

#define RACE_N 1500

static pthread_barrier_t race_start;

struct racer {
	unsigned parity;
	unsigned accepted;
	uint64_t last;
	int monotonic;
	int errors;
};

static void *race(void *arg)
{
	struct racer *rc = arg;
	struct store *st = open_store(2000);

	rc->monotonic = 1;
	pthread_barrier_wait(&race_start); /* both connected: race from here */
	for (uint64_t v = 1; v <= RACE_N; v++) {
		int r;

		if ((v & 1) != rc->parity)
			continue;
		r = store_device_set_up_ctr(st, ID("dev-r"), v);
		if (r == 0) {
			if (v <= rc->last)
				rc->monotonic = 0;
			rc->last = v;
			rc->accepted++;
		} else if (r != -SGA_E_REPLAY) {
			rc->errors++;
		}
		if (store_device_raise_down_ctr(st, ID("dev-r"), v))
			rc->errors++;
	}
	store_close(st);
	return NULL;
}

Test(store, counters_concurrent_raisers_end_at_max)
{
	struct store *st = open_store(1000);
	struct sga_gw_device d, got;
	struct racer rs[2] = {{.parity = 0}, {.parity = 1}};
	pthread_t th[2];
	unsigned accepted = 0;

	make_dev(&d, "dev-r");
	d.up_ctr = 0;
	d.down_ctr = 0;
	cr_assert_eq(store_device_put(st, &d), 0);
	cr_assert_eq(pthread_barrier_init(&race_start, NULL, 2), 0);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, race, &rs[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&race_start);
	/* How the two interleave is up to the scheduler (on a loaded machine one
	 * may even finish before the other starts, and then win nothing): what
	 * must hold is no error, every win above the racer's previous one, and
	 * the maximum at the end. */
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(rs[i].errors, 0);
		cr_assert(rs[i].monotonic);
		accepted += rs[i].accepted;
	}
	cr_assert_gt(accepted, 0);
	cr_assert_eq(store_device_get(st, ID("dev-r"), &got), 0);
	cr_assert_eq(got.up_ctr, RACE_N);
	cr_assert_eq(got.down_ctr, RACE_N);
	store_close(st);
}

/* ---- reservations, marks, index ------------------------------------------------------------ */

Test(store, reserve_gives_increasing_disjoint_ranges)
{
	struct store *st = open_store(1000);
	struct sga_gw_session s;
	uint64_t lim = 0, prev[2] = {0, 0};

	cr_assert_eq(store_session_reserve(st, 77, 0, 100, &lim), -SGA_E_UNKNOWN_SESSION);
	make_sess(&s, 77, SGA_GW_S_ESTABLISHED);
	cr_assert_eq(store_session_put(st, &s), 0);
	for (int i = 0; i < 20; i++) {
		uint8_t role = (uint8_t)(i % 2);
		uint64_t block = 100 + (uint64_t)i;

		cr_assert_eq(store_session_reserve(st, 77, role, block, &lim), 0);
		cr_assert_eq(lim - block, prev[role],
		             "range [L-block, L) starts where the last ended");
		prev[role] = lim;
	}
	cr_assert_eq(store_session_reserve(st, 77, 2, 10, &lim), -SGA_E_BAD_FIELD);
	cr_assert_eq(store_session_reserve(st, 77, 0, 0, &lim), -SGA_E_BAD_FIELD);
	/* a rewrite of the record keeps the reservations */
	cr_assert_eq(store_session_put(st, &s), 0);
	cr_assert_eq(store_session_reserve(st, 77, 0, 1, &lim), 0);
	cr_assert_eq(lim, prev[0] + 1);
	store_close(st);
}

Test(store, marks_only_rise)
{
	struct store *st = open_store(1000);
	struct sga_gw_session s;
	struct dp_addr a[2] = {mkaddr(1, 1001), mkaddr(2, 1002)}, got[2], none[2];
	uint64_t rx[2] = {10, 20}, rx_got[2];

	memset(none, 0, sizeof(none));
	cr_assert_eq(store_session_set_marks(st, 5, rx, a), -SGA_E_UNKNOWN_SESSION);
	cr_assert_eq(store_session_get_marks(st, 5, rx_got, got), -SGA_E_UNKNOWN_SESSION);
	make_sess(&s, 5, SGA_GW_S_ESTABLISHED);
	cr_assert_eq(store_session_put(st, &s), 0);
	cr_assert_eq(store_session_get_marks(st, 5, rx_got, got), 0);
	cr_assert_eq(rx_got[0], 0);
	cr_assert_eq(got[1].port, 0);
	cr_assert_eq(store_session_set_marks(st, 5, rx, a), 0);
	cr_assert_eq(store_session_get_marks(st, 5, rx_got, got), 0);
	cr_assert_eq(rx_got[0], 10);
	cr_assert_eq(rx_got[1], 20);
	cr_assert(addr_eq(&got[0], &a[0]) && addr_eq(&got[1], &a[1]));
	rx[0] = 5; /* lower: ignored */
	rx[1] = 30;
	cr_assert_eq(store_session_set_marks(st, 5, rx, none), 0);
	cr_assert_eq(store_session_get_marks(st, 5, rx_got, got), 0);
	cr_assert_eq(rx_got[0], 10);
	cr_assert_eq(rx_got[1], 30);
	cr_assert(addr_eq(&got[0], &a[0]), "unknown address does not overwrite");
	store_close(st);
}

/* The housekeeping pass writes the marks of many sessions in one pipeline:
 * each gets its own result, an unknown session among them included. */
Test(store, marks_of_many_sessions_in_one_pipeline)
{
	struct store *st = open_store(1000);
	struct store_marks m[STORE_MARKS_BATCH];
	int rc[STORE_MARKS_BATCH];
	struct sga_gw_session s;

	for (unsigned i = 0; i < STORE_MARKS_BATCH; i++) {
		memset(&m[i], 0, sizeof(m[i]));
		m[i].sid = 900 + i;
		m[i].rx_next[0] = 1000 + i;
		m[i].rx_next[1] = 2000 + i;
		m[i].addr[1] = mkaddr((uint8_t)(i + 1), (uint16_t)(3000 + i));
		if (i != 7) { /* 907 is not a session */
			make_sess(&s, m[i].sid, SGA_GW_S_ESTABLISHED);
			cr_assert_eq(store_session_put(st, &s), 0);
		}
		rc[i] = 12345;
	}
	cr_assert_eq(store_session_set_marks_n(st, m, STORE_MARKS_BATCH, rc), 0);
	for (unsigned i = 0; i < STORE_MARKS_BATCH; i++) {
		uint64_t rx[2];
		struct dp_addr got[2];

		if (i == 7) {
			cr_assert_eq(rc[i], -SGA_E_UNKNOWN_SESSION);
			continue;
		}
		cr_assert_eq(rc[i], 0, "session %u: %d", i, rc[i]);
		cr_assert_eq(store_session_get_marks(st, m[i].sid, rx, got), 0);
		cr_assert_eq(rx[0], 1000 + i);
		cr_assert_eq(rx[1], 2000 + i);
		cr_assert_eq(got[0].port, 0, "an unknown address is not written");
		cr_assert(addr_eq(&got[1], &m[i].addr[1]));
	}
	cr_assert_eq(store_session_set_marks_n(st, m, 0, rc), 0);
	cr_assert_eq(store_session_set_marks_n(st, m, STORE_MARKS_BATCH + 1, rc), -SGA_E_INTERNAL);
	store_close(st);
}

/* Scripts go as EVALSHA: the body once per server (its NOSCRIPT answer
 * sends that command again as EVAL), then the digest only; after SCRIPT
 * FLUSH (what a restart or failover does to the cache) every EVALSHA of a
 * pipeline is answered NOSCRIPT, and each is sent again, in one round trip. */
Test(store, scripts_by_digest_loaded_again_after_a_flush)
{
	struct store *st = open_store(1000);
	struct store_marks m[8];
	struct sga_gw_device d;
	struct sga_gw_session s;
	redisReply *r;
	int rc[8];

	memset(&d, 0, sizeof(d));
	d.id_len = 6;
	memcpy(d.id, "meter1", 6);
	d.suite_init = SGA_SUITE_AES128_GCM;
	d.n_suites = 1;
	d.suites[0] = SGA_SUITE_AES128_GCM;
	cr_assert_eq(store_device_put(st, &d), 0);
	r = redis_fx_cmd("SCRIPT FLUSH");
	freeReplyObject(r);
	cr_assert_eq(store_device_set_up_ctr(st, d.id, d.id_len, 10), 0);
	cr_assert_eq(store_scripts_loaded(st), 1, "the first use loads it");
	cr_assert_eq(store_device_set_up_ctr(st, d.id, d.id_len, 11), 0);
	cr_assert_eq(store_device_set_up_ctr(st, d.id, d.id_len, 11), -SGA_E_REPLAY);
	cr_assert_eq(store_scripts_loaded(st), 1, "then by digest");

	for (unsigned i = 0; i < 8; i++) {
		memset(&m[i], 0, sizeof(m[i]));
		m[i].sid = 700 + i;
		m[i].rx_next[0] = 50 + i;
		make_sess(&s, m[i].sid, SGA_GW_S_ESTABLISHED);
		cr_assert_eq(store_session_put(st, &s), 0);
	}
	r = redis_fx_cmd("SCRIPT FLUSH");
	freeReplyObject(r);
	cr_assert_eq(store_session_set_marks_n(st, m, 8, rc), 0);
	for (unsigned i = 0; i < 8; i++) {
		uint64_t rx[2];
		struct dp_addr got[2];

		cr_assert_eq(rc[i], 0, "session %u: %d", i, rc[i]);
		cr_assert_eq(store_session_get_marks(st, m[i].sid, rx, got), 0);
		cr_assert_eq(rx[0], 50 + i, "written once loaded");
	}
	cr_assert_eq(store_scripts_loaded(st), 1 + 1 + 8,
	             "the sessions' script once for the puts, then all 8 of the pipeline");
	cr_assert_eq(store_device_set_up_ctr(st, d.id, d.id_len, 12), 0);
	cr_assert_eq(store_scripts_loaded(st), 11, "LUA_RAISE flushed too");
	store_close(st);
}

Test(store, session_list)
{
	struct store *st = open_store(1000);
	struct sga_gw_session s;
	uint64_t ids[8];
	unsigned n;
	int seen = 0;

	n = 8;
	cr_assert_eq(store_session_list(st, ids, &n), 0);
	cr_assert_eq(n, 0);
	for (uint64_t sid = 1; sid <= 3; sid++) {
		make_sess(&s, sid << 40, SGA_GW_S_ESTABLISHED);
		cr_assert_eq(store_session_put(st, &s), 0);
	}
	make_sess(&s, 9, SGA_GW_S_INVITED);
	cr_assert_eq(store_session_put(st, &s), 0);
	n = 8;
	cr_assert_eq(store_session_list(st, ids, &n), 0);
	cr_assert_eq(n, 3);
	for (unsigned i = 0; i < n; i++)
		seen |= 1 << (ids[i] >> 40);
	cr_assert_eq(seen, 0xe);
	n = 2;
	cr_assert_eq(store_session_list(st, ids, &n), -SGA_E_NOSPACE);
	cr_assert_eq(n, 3, "the total, to size a retry");
	store_close(st);
}

Test(store, session_list_all_grows)
{
	struct store *st = open_store(1000);
	struct sga_gw_session s;
	uint64_t *ids = (uint64_t *)1;
	unsigned n = 1, want = 300; /* more than its first array holds */
	uint64_t sum = 0;

	cr_assert_eq(store_session_list_all(st, &ids, &n), 0);
	cr_assert_eq(n, 0);
	free(ids);
	for (uint64_t sid = 1; sid <= want; sid++) {
		make_sess(&s, sid, SGA_GW_S_ESTABLISHED);
		cr_assert_eq(store_session_put(st, &s), 0);
	}
	cr_assert_eq(store_session_list_all(st, &ids, &n), 0);
	cr_assert_eq(n, want);
	for (unsigned i = 0; i < n; i++)
		sum += ids[i];
	cr_assert_eq(sum, (uint64_t)want * (want + 1) / 2);
	free(ids);
	store_close(st);
}

/* A restore index of a million-session gateway: read a page at a time. One
 * SMEMBERS of it (some 25 MB of reply) took longer than a short [redis]
 * timeout_ms, so a restarted gateway timed out on it for ever. The ids come
 * back each once, in order; members that are not ids are skipped. */
Test(store, session_list_all_pages_a_large_index, .timeout = 120)
{
	const unsigned want = 400000;
	struct store *st = open_store(150);
	redisReply *r;
	uint64_t *ids = NULL;
	unsigned n = 0;

	r = redis_fx_cmd("EVAL %s 1 sga:sessions %u",
	                 "for i = 1, tonumber(ARGV[1]) do "
	                 "redis.call('SADD', KEYS[1], string.format('%016x', i * 7)) end "
	                 "redis.call('SADD', KEYS[1], 'not-an-id') return 1",
	                 want);
	cr_assert(r && r->type == REDIS_REPLY_INTEGER, "populate the index");
	freeReplyObject(r);
	cr_assert_eq(store_session_list_all(st, &ids, &n), 0);
	cr_assert_eq(n, want);
	for (unsigned i = 0; i < n; i++)
		cr_assert_eq(ids[i], (uint64_t)(i + 1) * 7, "id %u", i);
	free(ids);
	r = redis_fx_cmd("DEL sga:sessions");
	freeReplyObject(r);
	store_close(st);
}

/* ---- master key file ------------------------------------------------------------------ */

static const char *key_file(const void *content, size_t len, mode_t mode)
{
	static char path[160];
	int fd;

	snprintf(path, sizeof(path), "%s/key", redis_fx.dir);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, content, len), (ssize_t)len);
	close(fd);
	cr_assert_eq(chmod(path, mode), 0);
	return path;
}

Test(store, master_key_file)
{
	static const char hex[] =
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
	uint8_t raw32[32], key[32];

	for (int i = 0; i < 32; i++)
		raw32[i] = (uint8_t)i;
	cr_assert_eq(store_load_master_key(key_file(raw32, 32, 0600), key), 0);
	cr_assert_arr_eq(key, raw32, 32);
	memset(key, 0, sizeof(key));
	cr_assert_eq(store_load_master_key(key_file(hex, 64, 0400), key), 0);
	cr_assert_arr_eq(key, raw32, 32);
	cr_assert_eq(store_load_master_key(key_file("000102030405060708090A0B0C0D0E0F"
	                                            "101112131415161718191A1B1C1D1E1F\n",
	                                            65, 0600),
	                                   key),
	             0);
	cr_assert_arr_eq(key, raw32, 32);

	/* permissions */
	cr_assert_eq(store_load_master_key(key_file(raw32, 32, 0640), key), -EPERM);
	cr_assert_eq(store_load_master_key(key_file(raw32, 32, 0604), key), -EPERM);
	cr_assert_eq(store_load_master_key(key_file(raw32, 32, 0620), key), -EPERM);
	/* formats */
	cr_assert_eq(store_load_master_key(key_file(raw32, 31, 0600), key), -EINVAL);
	cr_assert_eq(store_load_master_key(key_file(hex, 62, 0600), key), -EINVAL);
	cr_assert_eq(store_load_master_key(key_file("zz0102030405060708090a0b0c0d0e0f"
	                                            "101112131415161718191a1b1c1d1e1f\n",
	                                            65, 0600),
	                                   key),
	             -EINVAL);
	cr_assert_eq(store_load_master_key(key_file(hex, 0, 0600), key), -EINVAL);
	for (int i = 0; i < 32; i++)
		cr_assert_eq(key[i], 0, "key zeroed on failure");
	/* not a file */
	cr_assert_eq(store_load_master_key("/nonexistent/sga.key", key), -ENOENT);
	cr_assert_eq(chmod(redis_fx.dir, 0700), 0);
	cr_assert_eq(store_load_master_key(redis_fx.dir, key), -EINVAL);
}

/* ---- Redis down, hung, back ---------------------------------------------------------------- */

Test(store, outage_then_recovery_after_backoff)
{
	struct store *st = open_store(5000);
	struct sga_gw_device d, got;
	uint64_t t0, lim, tries;
	int rc = -1;

	make_dev(&d, "dev-o");
	cr_assert_eq(store_device_put(st, &d), 0);
	cr_assert_eq(store_reconnects(st), 0);

	redis_fx_kill();
	/* A refused connection is reported at once, not after the 5 s timeout
	 * (the bound is loose: this machine may be loaded). */
	t0 = fx_now_ms();
	cr_assert_eq(store_device_get(st, ID("dev-o"), &got), -SGA_E_UNAVAILABLE);
	cr_assert(fx_now_ms() - t0 < 2500, "a dead Redis is reported at once");
	cr_assert_not(store_connected(st));
	/* Within the backoff (50 ms after the failure, which came after t0) no
	 * connection is even tried; a stalled test thread may legitimately get
	 * past it. */
	tries = store_connect_attempts(st);
	cr_assert_eq(store_device_put(st, &d), -SGA_E_UNAVAILABLE);
	cr_assert_eq(store_session_reserve(st, 1, 0, 1, &lim), -SGA_E_UNAVAILABLE);
	cr_assert(store_connect_attempts(st) == tries || fx_now_ms() - t0 >= 50,
	          "no connection attempts during the backoff");

	redis_fx_spawn(); /* empty: no persistence */
	t0 = fx_now_ms();
	while (fx_now_ms() - t0 < 3000) {
		rc = store_device_put(st, &d);
		if (!rc)
			break;
		cr_assert_eq(rc, -SGA_E_UNAVAILABLE);
		fx_msleep(10);
	}
	cr_assert_eq(rc, 0, "works again once the backoff (<= 200 ms) has passed");
	cr_assert(store_connected(st));
	cr_assert_eq(store_reconnects(st), 1);
	cr_assert_eq(store_device_get(st, ID("dev-o"), &got), 0);
	store_close(st);
}

Test(store, hung_redis_times_out)
{
	struct store *st = open_store(300);
	struct sga_gw_device d, got;
	uint64_t t0, dt;
	int rc = -1;

	make_dev(&d, "dev-h");
	cr_assert_eq(store_device_put(st, &d), 0);
	cr_assert_eq(kill(redis_fx.pid, SIGSTOP), 0);
	t0 = fx_now_ms();
	rc = store_device_get(st, ID("dev-h"), &got);
	dt = fx_now_ms() - t0;
	kill(redis_fx.pid, SIGCONT);
	cr_assert_eq(rc, -SGA_E_UNAVAILABLE);
	/* Waited for the timeout, and not much more (loose: a loaded machine). */
	cr_assert(dt >= 250 && dt < 5000, "bounded by the command timeout: %llu ms",
	          (unsigned long long)dt);
	t0 = fx_now_ms();
	do {
		fx_msleep(20);
		rc = store_device_get(st, ID("dev-h"), &got);
	} while (rc && fx_now_ms() - t0 < 3000);
	cr_assert_eq(rc, 0);
	cr_assert_arr_eq(got.k_d, d.k_d, SGA_KEY_LEN);
	store_close(st);
}

/* ---- Redis authentication (requirepass, ACL users) ---------------------------------- */

/* The control plane's log lines, for the checks below. */
static pthread_mutex_t auth_log_mu = PTHREAD_MUTEX_INITIALIZER;
static char auth_log[4096];

static void auth_log_sink(enum sga_log_source src, int level, const char *msg)
{
	(void)src;
	(void)level;
	pthread_mutex_lock(&auth_log_mu);
	strncat(auth_log, msg, sizeof(auth_log) - strlen(auth_log) - 2);
	strcat(auth_log, "\n");
	pthread_mutex_unlock(&auth_log_mu);
}

/* An admin command on a fresh connection authenticated as the default user. */
static redisReply *auth_cmd(const char *pass, const char *fmt, ...)
{
	struct timeval tv = {2, 0};
	redisContext *c = redisConnectUnixWithTimeout(redis_fx.sock, tv);
	redisReply *r;
	va_list ap;

	cr_assert(c && !c->err, "connect to the test redis-server");
	r = redisCommand(c, "AUTH %s", pass);
	cr_assert(r && r->type == REDIS_REPLY_STATUS, "admin AUTH");
	freeReplyObject(r);
	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	redisFree(c);
	cr_assert_not_null(r);
	return r;
}

/* Replace the fixture's server by one with `--requirepass pass` on the same
 * socket; waits until AUTH succeeds (10 s). teardown kills it. */
static void spawn_redis_requirepass(const char *pass)
{
	redis_fx_kill();
	redis_fx_spawn_auth(pass);
}

static struct store *open_store_auth(const char *user, const char *password)
{
	struct store_config cfg = base_cfg(1000);

	cfg.backoff_max_ms = 100;
	cfg.user = user;
	cfg.password = password;
	return open_cfg(&cfg);
}

/* The first call that reaches Redis after the backoff: its result. */
static int put_after_backoff(struct store *st, const struct sga_gw_device *d)
{
	uint64_t t0 = fx_now_ms();
	int rc;

	do {
		rc = store_device_put(st, d);
		if (rc != -SGA_E_UNAVAILABLE || store_auth_refused(st))
			return rc;
		fx_msleep(10);
	} while (fx_now_ms() - t0 < 3000);
	return rc;
}

/* AUTH password against requirepass, on the first connection and on every
 * reconnection; a missing or wrong password is a clear error (logged without
 * the password), reported as unavailable to the caller. */
Test(store, auth_with_requirepass)
{
	static const char pass[] = "s3cret pass-1"; /* a space: one argument all the same */
	struct store *st;
	struct sga_gw_device d, got;

	auth_log[0] = '\0';
	sga_log_route(auth_log_sink, NULL);
	spawn_redis_requirepass(pass);
	make_dev(&d, "dev-auth");

	/* No password configured: NOAUTH, said as such. */
	st = open_store_auth(NULL, NULL);
	cr_assert_eq(store_device_put(st, &d), -SGA_E_UNAVAILABLE);
	cr_assert(store_auth_refused(st));
	cr_assert(strstr(auth_log, "refused authentication") && strstr(auth_log, "NOAUTH"), "%s",
	          auth_log);
	store_close(st);

	/* A wrong password: refused at AUTH, logged once, never echoed. */
	auth_log[0] = '\0';
	st = open_store_auth(NULL, "wrong password");
	cr_assert_eq(store_device_put(st, &d), -SGA_E_UNAVAILABLE);
	cr_assert(store_auth_refused(st));
	cr_assert_eq(put_after_backoff(st, &d), -SGA_E_UNAVAILABLE);
	cr_assert(strstr(auth_log, "refused authentication"), "%s", auth_log);
	cr_assert(strstr(auth_log, "password_file"), "the line says what to check: %s", auth_log);
	cr_assert_null(strstr(auth_log, "wrong password"), "the password was logged: %s", auth_log);
	{
		int lines = 0;

		for (const char *q = auth_log; (q = strstr(q, "refused authentication")); q++)
			lines++;
		cr_assert_eq(lines, 1, "one error line however often it is refused: %s", auth_log);
	}
	store_close(st);

	/* The right one. */
	st = open_store_auth(NULL, pass);
	cr_assert_eq(store_device_put(st, &d), 0);
	cr_assert_not(store_auth_refused(st));
	cr_assert_eq(store_device_get(st, ID("dev-auth"), &got), 0);
	/* Redis restarts (same password, empty): the reconnection authenticates too. */
	spawn_redis_requirepass(pass);
	cr_assert_eq(put_after_backoff(st, &d), 0);
	cr_assert_eq(store_reconnects(st), 1);
	cr_assert_eq(store_device_get(st, ID("dev-auth"), &got), 0);
	store_close(st);
	sga_log_route(NULL, NULL);
}

/* AUTH user password for an ACL user: the connection runs as that user. */
Test(store, auth_as_acl_user)
{
	static const char admin[] = "admin-pass";
	struct store *st;
	struct sga_gw_device d, got;
	redisReply *r;

	auth_log[0] = '\0';
	sga_log_route(auth_log_sink, NULL);
	spawn_redis_requirepass(admin);
	r = auth_cmd(admin, "ACL SETUSER sga on >sga-pass ~sga:* +@all");
	cr_assert_eq(r->type, REDIS_REPLY_STATUS, "%s", r->str);
	freeReplyObject(r);
	make_dev(&d, "dev-acl");

	st = open_store_auth("sga", "sga-pass");
	cr_assert_eq(store_device_put(st, &d), 0);
	cr_assert_eq(store_device_get(st, ID("dev-acl"), &got), 0);
	r = auth_cmd(admin, "CLIENT LIST");
	cr_assert_eq(r->type, REDIS_REPLY_STRING);
	cr_assert(strstr(r->str, " user=sga "), "the store's connection is user sga: %s", r->str);
	freeReplyObject(r);
	store_close(st);

	/* The user with the default user's password, or a wrong one: refused. */
	st = open_store_auth("sga", admin);
	cr_assert_eq(store_device_put(st, &d), -SGA_E_UNAVAILABLE);
	cr_assert(store_auth_refused(st));
	cr_assert(strstr(auth_log, "as user sga") && strstr(auth_log, "WRONGPASS"), "%s", auth_log);
	store_close(st);
	sga_log_route(NULL, NULL);
}

Test(store, password_file)
{
	char pw[STORE_PASSWORD_MAX + 1], longer[STORE_PASSWORD_MAX + 2];

	cr_assert_eq(store_load_password(key_file("pw one\n", 7, 0600), pw), 0);
	cr_assert_str_eq(pw, "pw one");
	cr_assert_eq(store_load_password(key_file("pw-two\r\nignored\n", 16, 0400), pw), 0);
	cr_assert_str_eq(pw, "pw-two");
	cr_assert_eq(store_load_password(key_file("no-newline", 10, 0600), pw), 0);
	cr_assert_str_eq(pw, "no-newline");
	cr_assert_eq(store_load_password(key_file("pw\n", 3, 0640), pw), -EPERM);
	cr_assert_eq(store_load_password(key_file("pw\n", 3, 0604), pw), -EPERM);
	cr_assert_eq(pw[0], '\0', "zeroed on failure");
	cr_assert_eq(store_load_password(key_file("\n", 1, 0600), pw), -EINVAL);
	cr_assert_eq(store_load_password(key_file("", 0, 0600), pw), -EINVAL);
	memset(longer, 'x', sizeof(longer));
	cr_assert_eq(store_load_password(key_file(longer, sizeof(longer), 0600), pw), -EINVAL);
	cr_assert_eq(store_load_password("/nonexistent/sga.pw", pw), -ENOENT);
}

/* ---- records from elsewhere: unknown group and suite ids --------------------------- */

/* Seal plaintext pt as the record of Redis key `key` exactly as store.h
 * documents it (version 1 | nonce | AES-256-GCM under HKDF(master, "sga-store-v1
 * " | key), aad = version | key) and HSET it: a record "written by another
 * build", which only the master key's holder can make. */
static void put_sealed(const char *key, const uint8_t *pt, size_t pt_len)
{
	uint8_t k[32], info[96], aad[96], rec[1 + 12 + 1024 + 16];
	size_t kl = strlen(key);
	redisReply *r;

	cr_assert_leq(pt_len, 1024);
	memcpy(info, "sga-store-v1 ", 13);
	memcpy(info + 13, key, kl);
	cr_assert_eq(sga_hkdf_sha256(MKEY, 32, NULL, 0, info, 13 + kl, k, 32), 0);
	aad[0] = 1;
	memcpy(aad + 1, key, kl);
	rec[0] = 1;
	cr_assert_eq(sga_random_bytes(rec + 1, 12), 0);
	cr_assert_eq(sga_aead_seal(SGA_SUITE_AES256_GCM, k, rec + 1, aad, 1 + kl, pt, pt_len,
	                           rec + 13, sizeof(rec) - 13),
	             0);
	r = redis_fx_cmd("HSET %s rec %b", key, rec, 13 + pt_len + 16);
	cr_assert_eq(r->type, REDIS_REPLY_INTEGER, "HSET");
	freeReplyObject(r);
}

/* Device plaintext: 'D' | id_len | id | k_d | suite_init | n | suites. */
static size_t dev_pt(uint8_t *p, const char *id, uint8_t suite_init, const uint8_t *suites,
                     uint8_t n)
{
	size_t o = 0, il = strlen(id);

	p[o++] = 'D';
	p[o++] = (uint8_t)il;
	memcpy(p + o, id, il);
	o += il;
	memset(p + o, 0xa5, SGA_KEY_LEN);
	o += SGA_KEY_LEN;
	p[o++] = suite_init;
	p[o++] = n;
	memcpy(p + o, suites, n);
	return o + n;
}

Test(store, device_record_with_unknown_suite_is_refused)
{
	static const uint8_t good[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_AES128_CCM8};
	static const uint8_t bad_list[] = {SGA_SUITE_AES128_GCM, 0x7f};
	struct store *st = open_store(1000);
	struct sga_gw_device got;
	uint8_t pt[128];

	auth_log[0] = '\0';
	sga_log_route(auth_log_sink, NULL);
	/* The crafting is right: a well-formed record opens. */
	put_sealed("sga:{dev:dev-x}", pt, dev_pt(pt, "dev-x", SGA_SUITE_AES128_GCM, good, 2));
	cr_assert_eq(store_device_get(st, ID("dev-x"), &got), 0);
	cr_assert_eq(got.suite_init, SGA_SUITE_AES128_GCM);

	put_sealed("sga:{dev:dev-x}", pt, dev_pt(pt, "dev-x", 0x7f, good, 2));
	cr_assert_eq(store_device_get(st, ID("dev-x"), &got), -SGA_E_BAD_FIELD);
	cr_assert(strstr(auth_log, "stored device record dev-x refused: unknown initial suite 127"),
	          "%s", auth_log);
	cr_assert_eq(got.id_len, 0, "nothing handed out");
	put_sealed("sga:{dev:dev-x}", pt, dev_pt(pt, "dev-x", 0, good, 2));
	cr_assert_eq(store_device_get(st, ID("dev-x"), &got), -SGA_E_BAD_FIELD);
	/* a known suite the device never listed */
	put_sealed("sga:{dev:dev-x}", pt,
	           dev_pt(pt, "dev-x", SGA_SUITE_CHACHA20_POLY1305, good, 2));
	cr_assert_eq(store_device_get(st, ID("dev-x"), &got), -SGA_E_BAD_FIELD);
	put_sealed("sga:{dev:dev-x}", pt, dev_pt(pt, "dev-x", SGA_SUITE_AES128_GCM, bad_list, 2));
	cr_assert_eq(store_device_get(st, ID("dev-x"), &got), -SGA_E_BAD_FIELD);
	cr_assert(strstr(auth_log, "unknown cipher suite 127"), "%s", auth_log);
	sga_log_route(NULL, NULL);
	store_close(st);
}

/* The device's profile (PROTOCOL.md 4.2.1): kept in the sealed record after the
 * flags byte; a record of an earlier build (no group) reads as 0, the
 * gateway's first profile; an unknown group or a zero written out is refused. */
Test(store, device_record_keeps_its_group)
{
	static const uint8_t good[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_AES128_CCM8};
	struct store *st = open_store(1000);
	struct sga_gw_device d, got;
	uint8_t pt[128];
	size_t n;

	make_dev(&d, "dev-g");
	d.group = SGA_GROUP_FFDHE3072;
	cr_assert_eq(store_device_put(st, &d), 0);
	cr_assert_eq(store_device_get(st, ID("dev-g"), &got), 0);
	cr_assert_eq(got.group, SGA_GROUP_FFDHE3072);
	cr_assert_eq(got.revoked, 0);
	cr_assert_eq(store_device_revoke(st, ID("dev-g")), 0);
	cr_assert_eq(store_device_get(st, ID("dev-g"), &got), 0);
	cr_assert_eq(got.revoked, 1);
	cr_assert_eq(got.group, SGA_GROUP_FFDHE3072, "a revocation keeps the group");

	auth_log[0] = '\0';
	sga_log_route(auth_log_sink, NULL);
	n = dev_pt(pt, "dev-x", SGA_SUITE_AES128_GCM, good, 2);
	put_sealed("sga:{dev:dev-x}", pt, n);
	cr_assert_eq(store_device_get(st, ID("dev-x"), &got), 0);
	cr_assert_eq(got.group, 0, "an old record: the first profile");
	{
		struct store_config cfg;
		struct store *st3;

		memset(&cfg, 0, sizeof(cfg));
		cfg.unix_socket = redis_fx.sock;
		cfg.timeout_ms = 1000;
		memcpy(cfg.master_key, MKEY, sizeof(MKEY));
		cfg.first_group = SGA_GROUP_FFDHE3072;
		st3 = store_open(&cfg);
		cr_assert_not_null(st3);
		cr_assert_eq(store_device_get(st3, ID("dev-x"), &got), 0);
		cr_assert_eq(got.group, SGA_GROUP_FFDHE3072, "read as the gateway's first profile");
		store_close(st3);
	}
	pt[n] = 0;
	pt[n + 1] = SGA_GROUP_FFDHE2048;
	put_sealed("sga:{dev:dev-x}", pt, n + 2);
	cr_assert_eq(store_device_get(st, ID("dev-x"), &got), 0);
	cr_assert_eq(got.group, SGA_GROUP_FFDHE2048);
	pt[n + 1] = 0x7e;
	put_sealed("sga:{dev:dev-x}", pt, n + 2);
	cr_assert_eq(store_device_get(st, ID("dev-x"), &got), -SGA_E_BAD_FIELD);
	cr_assert(strstr(auth_log, "stored device record dev-x refused: unknown group 126"), "%s",
	          auth_log);
	pt[n + 1] = 0;
	put_sealed("sga:{dev:dev-x}", pt, n + 2);
	cr_assert_eq(store_device_get(st, ID("dev-x"), &got), -SGA_E_BAD_FIELD);
	pt[n] = 0x80; /* an unknown flag */
	put_sealed("sga:{dev:dev-x}", pt, n + 1);
	cr_assert_eq(store_device_get(st, ID("dev-x"), &got), -SGA_E_BAD_FIELD);
	/* A flags byte of 0 alone is written by no build (flags only when set or a
	 * group follows): one record, one encoding (found by fuzz_store). */
	pt[n] = 0;
	put_sealed("sga:{dev:dev-x}", pt, n + 1);
	cr_assert_eq(store_device_get(st, ID("dev-x"), &got), -SGA_E_BAD_FIELD);
	put_sealed("sga:{dev:dev-x}", pt, n + 3);
	cr_assert_eq(store_device_get(st, ID("dev-x"), &got), -SGA_E_TRAILING);
	sga_log_route(NULL, NULL);
	store_close(st);
}

/* Session plaintext of an ESTABLISHED session (no N/K, short replies). */
static size_t sess_pt(uint8_t *p, uint64_t sid, uint8_t suite, uint8_t group, uint8_t hop0,
                      uint8_t hop1)
{
	size_t o = 0;
	const uint8_t hop[2] = {hop0, hop1};

	p[o++] = 'S';
	for (int i = 7; i >= 0; i--)
		p[o++] = (uint8_t)(sid >> (8 * i));
	p[o++] = SGA_GW_S_ESTABLISHED;
	p[o++] = suite;
	p[o++] = group;
	p[o++] = 3; /* have_init */
	memset(p + o, 0, 8);
	p[o + 7] = 42; /* req_ctr */
	o += 8;
	for (int r = 0; r < 2; r++) {
		p[o++] = 5;
		memcpy(p + o, r ? "dev-j" : "dev-i", 5);
		o += 5;
		p[o++] = hop[r];
		memset(p + o, 0x10 + r, SGA_KEY_LEN);
		o += SGA_KEY_LEN;
	}
	for (int r = 0; r < 2; r++) { /* N and K: none once established */
		memset(p + o, 0, 4);
		o += 4;
	}
	for (int r = 0; r < 2; r++) { /* replies of 3 bytes */
		p[o++] = 0;
		p[o++] = 3;
		memset(p + o, 0x70 + r, 3);
		o += 3;
	}
	return o;
}

Test(store, session_record_with_unknown_group_or_suite_is_refused)
{
	static const char key[] = "sga:{sess:00000000000000b7}";
	const uint8_t G = SGA_GROUP_FFDHE2048, A = SGA_SUITE_AES128_GCM, C = SGA_SUITE_AES128_CCM8;
	struct store *st = open_store(1000);
	struct sga_gw_session got;
	uint8_t pt[256];

	auth_log[0] = '\0';
	sga_log_route(auth_log_sink, NULL);
	put_sealed(key, pt, sess_pt(pt, 0xb7, A, G, A, C));
	cr_assert_eq(store_session_get(st, 0xb7, &got), 0, "the crafting is right");
	cr_assert_eq(got.group, G);
	cr_assert_eq(got.hop_suite[1], C);

	put_sealed(key, pt, sess_pt(pt, 0xb7, A, 0x09, A, C));
	cr_assert_eq(store_session_get(st, 0xb7, &got), -SGA_E_BAD_FIELD);
	cr_assert(
	    strstr(auth_log, "stored session record 00000000000000b7 refused: unknown group 9"),
	    "%s", auth_log);
	put_sealed(key, pt, sess_pt(pt, 0xb7, 0x7f, G, A, C));
	cr_assert_eq(store_session_get(st, 0xb7, &got), -SGA_E_BAD_FIELD);
	cr_assert(strstr(auth_log, "unknown cipher suite 127"), "%s", auth_log);
	put_sealed(key, pt, sess_pt(pt, 0xb7, A, G, A, 0));
	cr_assert_eq(store_session_get(st, 0xb7, &got), -SGA_E_BAD_FIELD);
	cr_assert(strstr(auth_log, "unknown hop suite 0"), "%s", auth_log);
	put_sealed(key, pt, sess_pt(pt, 0xb7, A, G, 0xff, C));
	cr_assert_eq(store_session_get(st, 0xb7, &got), -SGA_E_BAD_FIELD);
	cr_assert_eq(got.session_id, 0, "nothing handed out");
	sga_log_route(NULL, NULL);
	store_close(st);
}

/* [redis] require_aof reads INFO persistence: refused while the server runs
 * without an AOF (naming it), accepted once appendonly is on. */
Test(store, check_aof_reads_info_persistence)
{
	struct store *st = open_store(1000);
	char node[STORE_NODE_NAME_MAX];
	redisReply *r;

	cr_assert_eq(store_check_aof(st, node, sizeof(node)), 1, "the fixture runs appendonly no");
	cr_assert_str_eq(node, redis_fx.sock);
	r = redis_fx_cmd("CONFIG SET appendonly yes");
	cr_assert_eq(r->type, REDIS_REPLY_STATUS, "%s", r->str);
	freeReplyObject(r);
	cr_assert_eq(store_check_aof(st, node, sizeof(node)), 0);
	redis_fx_kill();
	cr_assert_eq(store_check_aof(st, node, sizeof(node)), -SGA_E_UNAVAILABLE);
	store_close(st);
	{
		char cmd[160];

		snprintf(cmd, sizeof(cmd), "rm -rf %s/appendonlydir", redis_fx.dir);
		cr_assert_eq(system(cmd), 0);
	}
}

/* A cluster has database 0 only: a store asked for another is refused (the
 * configuration parser refuses it first), and so is a malformed seed list. */
Test(store, cluster_config_refused)
{
	struct store_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.cluster = "127.0.0.1:7000";
	cfg.db = 1;
	errno = 0;
	cr_assert_null(store_open(&cfg));
	cr_assert_eq(errno, EINVAL);
	cfg.db = 0;
	cfg.cluster = "127.0.0.1";
	cr_assert_null(store_open(&cfg));
	cr_assert_eq(errno, EINVAL);
	cfg.cluster = "127.0.0.1:7000, [::1]:7001";
	store_close(store_open(&cfg));
}

/* ---- the message store's replica (store_replica.h) ------------------------------ */

#include "dp_store.h" /* DP_STORE_REC_MARK */
#include "msg_log.h"
#include "store_replica.h"

#define RSID 0x5eed0001ull

static struct store_config replica_store_cfg(void)
{
	struct store_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.unix_socket = redis_fx.sock;
	cfg.timeout_ms = 1000;
	cfg.backoff_max_ms = 200;
	memcpy(cfg.master_key, MKEY, sizeof(MKEY));
	return cfg;
}

static struct msg_log *replica_log(struct store_replica *r)
{
	char dir[160];
	struct msg_log_config lc = {.dir = dir,
	                            .fsync = MSG_LOG_FSYNC_NONE,
	                            .retry_ms = 20,
	                            .replicate = store_replica_hook,
	                            .replicate_ctx = r};
	struct msg_log *lg;

	snprintf(dir, sizeof(dir), "%s/log", redis_fx.dir);
	lg = msg_log_open(&lc, NULL, NULL, NULL);
	cr_assert_not_null(lg, "msg_log_open: %s", strerror(errno));
	return lg;
}

static void rm_log_dir(void)
{
	char cmd[200];

	snprintf(cmd, sizeof(cmd), "rm -rf %s/log", redis_fx.dir);
	cr_assert_eq(system(cmd), 0);
}

static uint64_t r_append(struct msg_log *lg, uint8_t role, uint64_t seq, uint8_t flags)
{
	struct msg_rec m = {.session_id = RSID, .role = role, .e2e_seq = seq, .flags = flags};
	char payload[32];
	uint64_t lsn;
	int n = flags ? 0
	              : snprintf(payload, sizeof(payload), "message %u/%llu", role,
	                         (unsigned long long)seq);

	cr_assert_eq(msg_log_append(lg, &m, payload, (size_t)n, &lsn), 0);
	return lsn;
}

struct r_got {
	uint8_t role[16];
	uint64_t seq[16];
	char payload[16][32];
	unsigned n;
};

static void r_collect(void *arg, const struct store_replica_msg *m)
{
	struct r_got *g = arg;

	cr_assert_lt(g->n, 16);
	cr_assert_eq(m->sid, RSID);
	g->role[g->n] = m->role;
	g->seq[g->n] = m->e2e_seq;
	cr_assert_lt(m->len, sizeof(g->payload[0]));
	memcpy(g->payload[g->n], m->payload, m->len);
	g->payload[g->n][m->len] = 0;
	g->n++;
}

Test(store, replica_mirrors_the_log_in_the_sessions_hash)
{
	struct store_config cfg = replica_store_cfg();
	struct store_replica *r = store_replica_open(&cfg, 0, 100);
	struct store_replica_stats rs;
	struct store *st = open_store(1000);
	struct msg_log *lg;
	uint64_t lsn[6], marks[2], last;
	struct r_got g = {0};
	unsigned bad = 9;
	redisReply *rep;

	cr_assert_not_null(r);
	lg = replica_log(r);
	for (unsigned i = 0; i < 5; i++)
		lsn[i] = r_append(lg, 1, 10 + i, 0);
	r_append(lg, 0, 7, 0); /* the other direction */
	r_append(lg, 1, 12, DP_STORE_REC_MARK);
	r_append(lg, 1, 11, DP_STORE_REC_MARK); /* an older report: not lowered */
	cr_assert_eq(msg_log_release_key(lg, lsn[0], RSID, 1, 10), 0);
	cr_assert_eq(msg_log_release_key(lg, lsn[1], RSID, 1, 11), 0);
	cr_assert_eq(msg_log_release(lg, lsn[2]), 0); /* anonymous: the field stays */
	/* Ring order: once this one is durable the releases before it are replicated. */
	last = r_append(lg, 1, 15, 0);
	cr_assert_eq(msg_log_wait_durable(lg, last, 5000), 0);

	/* A field that does not hold its record is skipped. */
	rep = redis_fx_cmd("HSET sga:{sess:%016llx}:held 1:99 junk", (unsigned long long)RSID);
	freeReplyObject(rep);
	cr_assert_eq(store_replica_load(st, RSID, r_collect, &g, marks, &bad), 0);
	cr_assert_eq(bad, 1);
	cr_assert_eq(marks[1], 12, "mark %llu", (unsigned long long)marks[1]);
	cr_assert_eq(marks[0], 0);
	cr_assert_eq(g.n, 5, "%u messages", g.n);
	cr_assert_eq(g.role[0], 0);
	cr_assert_eq(g.seq[0], 7);
	for (unsigned i = 1; i < 5; i++) {
		char want[32];

		snprintf(want, sizeof(want), "message 1/%u", 11 + i);
		cr_assert_eq(g.role[i], 1);
		cr_assert_eq(g.seq[i], 11 + i);
		cr_assert_str_eq(g.payload[i], want);
	}
	store_replica_stats(r, &rs);
	cr_assert_geq(rs.batches, 1);
	cr_assert_eq(rs.failures, 0);
	cr_assert_eq(rs.last_lsn, last);

	/* The hash goes with the session. */
	cr_assert_eq(store_session_del(st, RSID), 0);
	rep = redis_fx_cmd("EXISTS sga:{sess:%016llx}:held", (unsigned long long)RSID);
	cr_assert_eq(rep->integer, 0);
	freeReplyObject(rep);
	msg_log_close(lg);
	store_replica_close(r);
	store_close(st);
	rm_log_dir();
}

/* One record as the log lays it out (the fields the hook reads; no CRC: the
 * hook does not check it) at b + *off; the payload names the op. */
static void r_rec(uint8_t *b, size_t *off, uint8_t type, uint8_t flags, uint64_t sid, uint8_t role,
                  uint64_t seq)
{
	char payload[32];
	size_t len = type == MSG_LOG_REC_MSG && !flags
	                 ? (size_t)snprintf(payload, sizeof(payload), "put %u/%llu@%zu", role,
	                                    (unsigned long long)seq, *off)
	                 : 0;
	uint8_t *p = b + *off;

	memset(p, 0, msg_log_rec_len(len));
	for (unsigned i = 0; i < 4; i++)
		p[MSG_LOG_OFF_LENGTH + i] = (uint8_t)(len >> (8 * i));
	p[MSG_LOG_OFF_TYPE] = type;
	p[MSG_LOG_OFF_FLAGS] = flags;
	p[MSG_LOG_OFF_ROLE] = role;
	for (unsigned i = 0; i < 8; i++) {
		p[MSG_LOG_OFF_SESSION + i] = (uint8_t)(sid >> (8 * i));
		p[MSG_LOG_OFF_E2E_SEQ + i] = (uint8_t)(seq >> (8 * i));
	}
	memcpy(p + MSG_LOG_HDR_LEN, payload, len);
	*off += msg_log_rec_len(len);
}

static void r_hook(struct store_replica *r, const uint8_t *b, size_t len)
{
	struct iovec iov = {(void *)b, len};

	cr_assert_eq(store_replica_hook(r, &iov, 1, 0), 0);
}

Test(store, replica_coalesces_a_batch_and_holds_what_the_ops_would)
{
	struct store_config cfg = replica_store_cfg();
	struct store_replica *r = store_replica_open(&cfg, 0, 100);
	struct store_replica_stats rs;
	static uint8_t b[1 << 16];
	size_t off = 0;
	redisReply *rep;

	cr_assert_not_null(r);
	/* Stored and delivered within the batch: never written, only deleted. */
	r_rec(b, &off, MSG_LOG_REC_MSG, 0, RSID, 1, 5);
	r_rec(b, &off, MSG_LOG_REC_MSG, 0, RSID, 1, 6);
	r_rec(b, &off, MSG_LOG_REC_RELEASE, 0, RSID, 1, 5);
	r_rec(b, &off, MSG_LOG_REC_MSG, DP_STORE_REC_MARK, RSID, 1, 5);
	r_rec(b, &off, MSG_LOG_REC_MSG, DP_STORE_REC_MARK, RSID, 1, 7);
	r_rec(b, &off, MSG_LOG_REC_MSG, DP_STORE_REC_MARK, RSID, 1, 6);
	r_hook(r, b, off);
	store_replica_stats(r, &rs);
	cr_assert_eq(rs.ops_sent, 3, "%llu sent", (unsigned long long)rs.ops_sent);
	cr_assert_eq(rs.ops_coalesced, 3);
	rep = redis_fx_cmd("HGETALL sga:{sess:%016llx}:held", (unsigned long long)RSID);
	cr_assert_eq(rep->type, REDIS_REPLY_ARRAY);
	cr_assert_eq(rep->elements, 4, "%zu", rep->elements);
	freeReplyObject(rep);
	rep = redis_fx_cmd("HGET sga:{sess:%016llx}:held m1", (unsigned long long)RSID);
	cr_assert_str_eq(rep->str, "7");
	freeReplyObject(rep);
	rep = redis_fx_cmd("HEXISTS sga:{sess:%016llx}:held 1:6", (unsigned long long)RSID);
	cr_assert_eq(rep->integer, 1);
	freeReplyObject(rep);
	cr_assert_eq(rs.commands, 3);

	/* Ten messages of one session: one HSET per six fields (the arguments a
	 * command takes), then their HDELs in one command. */
	off = 0;
	for (unsigned i = 0; i < 10; i++)
		r_rec(b, &off, MSG_LOG_REC_MSG, 0, RSID, 0, 20 + i);
	r_hook(r, b, off);
	off = 0;
	for (unsigned i = 0; i < 10; i++)
		r_rec(b, &off, MSG_LOG_REC_RELEASE, 0, RSID, 0, 20 + i);
	r_hook(r, b, off);
	store_replica_stats(r, &rs);
	cr_assert_eq(rs.ops_sent, 3 + 20);
	cr_assert_eq(rs.commands, 3 + 2 + 1, "%llu commands", (unsigned long long)rs.commands);
	rep = redis_fx_cmd("HLEN sga:{sess:%016llx}:held", (unsigned long long)RSID);
	cr_assert_eq(rep->integer, 2);
	freeReplyObject(rep);

	/* Random batches over a few fields of two sessions: Redis ends as the ops
	 * applied one by one would leave it (the model). */
	{
		char model[2][2][8][32] = {{{{0}}}};
		uint64_t mark[2][2] = {{0}};
		uint64_t sids[2] = {RSID, RSID + 1};
		unsigned seed = 7;

		for (unsigned s = 0; s < 2; s++) {
			rep = redis_fx_cmd("DEL sga:{sess:%016llx}:held",
			                   (unsigned long long)sids[s]);
			freeReplyObject(rep);
		}
		for (unsigned batch = 0; batch < 40; batch++) {
			unsigned n = 1 + rand_r(&seed) % 30;

			off = 0;
			for (unsigned k = 0; k < n; k++) {
				unsigned s = rand_r(&seed) % 2, role = rand_r(&seed) % 2,
				         seq = rand_r(&seed) % 8, what = rand_r(&seed) % 4;
				size_t at = off;

				if (what < 2) {
					r_rec(b, &off, MSG_LOG_REC_MSG, 0, sids[s], (uint8_t)role,
					      seq);
					snprintf(model[s][role][seq], sizeof(model[0][0][0]),
					         "put %u/%u@%zu", role, seq, at);
				} else if (what == 2) {
					r_rec(b, &off, MSG_LOG_REC_RELEASE, 0, sids[s],
					      (uint8_t)role, seq);
					model[s][role][seq][0] = 0;
				} else {
					r_rec(b, &off, MSG_LOG_REC_MSG, DP_STORE_REC_MARK, sids[s],
					      (uint8_t)role, 100 + seq);
					if (100 + seq > mark[s][role])
						mark[s][role] = 100 + seq;
				}
			}
			r_hook(r, b, off);
			for (unsigned s = 0; s < 2; s++)
				for (unsigned role = 0; role < 2; role++) {
					rep = redis_fx_cmd("HGET sga:{sess:%016llx}:held m%u",
					                   (unsigned long long)sids[s], role);
					cr_assert_eq(
					    mark[s][role] ? strtoull(rep->str, NULL, 10) : 0,
					    mark[s][role], "batch %u mark %u/%u", batch, s, role);
					freeReplyObject(rep);
					for (unsigned seq = 0; seq < 8; seq++) {
						const char *want = model[s][role][seq];
						/* the payload sits behind the record's header */
						rep = redis_fx_cmd(
						    "HGET sga:{sess:%016llx}:held %u:%u",
						    (unsigned long long)sids[s], role, seq);
						if (!want[0]) {
							cr_assert_eq(rep->type, REDIS_REPLY_NIL,
							             "batch %u: %u/%u/%u held",
							             batch, s, role, seq);
						} else {
							cr_assert_eq(rep->type, REDIS_REPLY_STRING);
							cr_assert_str_eq(rep->str + MSG_LOG_HDR_LEN,
							                 want, "batch %u: %u/%u/%u",
							                 batch, s, role, seq);
						}
						freeReplyObject(rep);
					}
				}
		}
		store_replica_stats(r, &rs);
		cr_assert_gt(rs.ops_coalesced, 3, "random batches coalesced nothing");
	}
	store_replica_close(r);
}

Test(store, replica_too_few_replicas_holds_stored_back)
{
	struct store_config cfg = replica_store_cfg();
	/* WAIT 1 on a server without replicas: never satisfied. */
	struct store_replica *r = store_replica_open(&cfg, 1, 20);
	struct store_replica_stats rs;
	struct msg_log_stats ls;
	struct msg_log *lg;
	uint64_t lsn, deadline;

	cr_assert_not_null(r);
	lg = replica_log(r);
	lsn = r_append(lg, 1, 1, 0);
	deadline = fx_now_ms() + 10000;
	do {
		cr_assert_lt(fx_now_ms(), deadline, "the hook was not refused twice");
		fx_msleep(5);
		store_replica_stats(r, &rs);
	} while (rs.failures < 2);
	cr_assert_eq(msg_log_durable_lsn(lg), 0, "STORED promised without the replica");
	cr_assert_eq(rs.batches, 0);
	cr_assert_geq(rs.short_waits, 2);
	msg_log_stats(lg, &ls);
	cr_assert_eq(ls.error, EREMOTEIO);
	cr_assert(lsn == 1);

	/* Redis down: refused as well (not as a short WAIT). */
	redis_fx_kill();
	deadline = fx_now_ms() + 10000;
	do {
		cr_assert_lt(fx_now_ms(), deadline, "no refusal while Redis is down");
		fx_msleep(5);
		store_replica_stats(r, &rs);
	} while (rs.failures == rs.short_waits);
	cr_assert_eq(msg_log_durable_lsn(lg), 0);
	msg_log_close(lg);
	store_replica_close(r);
	rm_log_dir();
}
