/* SPDX-License-Identifier: BSD-3-Clause */
/* test_config.c - the sga-gateway configuration parser: every bad input gives
 * one clear error naming the file, the line and the reason. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gw_config.h"
#include "sga_gateway.h"

static struct gw_config c;
static char err[512];

static int parse(const char *text)
{
	gw_config_defaults(&c);
	err[0] = '\0';
	return gw_config_parse(&c, "t.conf", text, err, sizeof(err));
}

static void expect_err(const char *text, const char *want)
{
	cr_assert_eq(parse(text), -1, "accepted: %s", text);
	cr_assert(strstr(err, want), "error '%s' does not contain '%s'", err, want);
}

Test(config, defaults_are_valid)
{
	cr_assert_eq(parse(""), 0, "%s", err);
	cr_assert_eq(c.udp_port, 7000);
	cr_assert_eq(c.n_suites, 5);
	cr_assert_eq(c.lcores, 1);
}

/* Production default: without an enrollment line only listed identities enroll;
 * open must be asked for (and the gateway warns at start when it is). */
Test(config, enrollment_defaults_to_the_allow_list)
{
	cr_assert_eq(parse(""), 0, "%s", err);
	cr_assert_eq(c.enrollment, SGA_ENROLL_ALLOWLIST);
	cr_assert_eq(parse("[lab]\nprofile = lab\n"), 0, "%s", err);
	cr_assert_eq(c.enrollment, SGA_ENROLL_ALLOWLIST, "the lab profile does not open it either");
	cr_assert_eq(parse("[gateway]\nenrollment = open\n"), 0, "%s", err);
	cr_assert_eq(c.enrollment, SGA_ENROLL_OPEN);
	/* the shipped production profile uses the allow-list */
	{
		char path[512];

		snprintf(path, sizeof(path), "%s/configs/gateway-qat.conf", SGA_SOURCE_ROOT);
		gw_config_defaults(&c);
		cr_assert_eq(gw_config_load(&c, path, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(c.enrollment, SGA_ENROLL_ALLOWLIST, "gateway-qat.conf runs open");
	}
}

Test(config, full_file)
{
	const char *text = "# comment\n"
	                   "[gateway]\n"
	                   "id = gw-1   # trailing comment\n"
	                   "address = 192.0.2.1\n"
	                   "udp_port = 7001\n"
	                   "group = ffdhe3072\n"
	                   "suites = chacha20-poly1305, aes-128-ccm8, ascon-aead128\n"
	                   "enrollment = allowlist\n"
	                   "rsa_bits = 3072\n"
	                   "[dataplane]\n"
	                   "port = 0000:3b:00.0\n"
	                   "lcores = 2\n"
	                   "tx_seq_block = 4096\n"
	                   "[controlplane]\n"
	                   "workers = 4\n"
	                   "[redis]\n"
	                   "socket = /run/r.sock\n"
	                   "[eal]\n"
	                   "hugepages = no\n"
	                   "args = --log-level=lib.eal:debug\n";

	cr_assert_eq(parse(text), 0, "%s", err);
	cr_assert_str_eq(c.id, "gw-1");
	cr_assert_eq(c.address, inet_addr("192.0.2.1"));
	cr_assert_eq(c.udp_port, 7001);
	cr_assert_eq(c.group, SGA_GROUP_FFDHE3072);
	cr_assert_eq(c.n_suites, 3);
	cr_assert_eq(c.suites[0], SGA_SUITE_CHACHA20_POLY1305);
	cr_assert_eq(c.suites[1], SGA_SUITE_AES128_CCM8);
	cr_assert_eq(c.suites[2], SGA_SUITE_ASCON_AEAD128);
	cr_assert_eq(c.enrollment, SGA_ENROLL_ALLOWLIST);
	cr_assert_eq(c.rsa_bits, 3072);
	cr_assert_str_eq(c.port, "0000:3b:00.0");
	cr_assert(gw_config_port_is_pci(c.port));
	cr_assert_eq(c.lcores, 2);
	cr_assert_eq(c.tx_seq_block, 4096);
	cr_assert_eq(c.workers, 4);
	cr_assert_str_eq(c.redis_socket, "/run/r.sock");
	cr_assert_eq(c.hugepages, GW_HUGE_NO);
	cr_assert_str_eq(c.eal_args, "--log-level=lib.eal:debug");
}

/* [sessions]: the gateway's own closes (PROTOCOL.md 7.14); 0 = never, and live. */
Test(config, sessions_idle_and_lifetime)
{
	cr_assert_eq(parse("[sessions]\nidle_s = 600\nmax_life_s = 86400\n"), 0, "%s", err);
	cr_assert_eq(c.session_idle_s, 600);
	cr_assert_eq(c.session_max_life_s, 86400);
	cr_assert_eq(parse("[gateway]\nid = x\n"), 0, "%s", err);
	cr_assert_eq(c.session_idle_s, 0, "never, by default");
	cr_assert_eq(c.session_max_life_s, 0);
	expect_err("[sessions]\nidle_s = -1\n", "idle_s");
	cr_assert(gw_config_is_live("sessions", "idle_s"));
	cr_assert(gw_config_is_live("sessions", "max_life_s"));
}

/* [sessions] adopt: off by default, on or off only, not live (the data
 * plane's lcores read it from their config). */
Test(config, sessions_adopt_on_off)
{
	cr_assert_eq(parse("[gateway]\nid = x\n"), 0, "%s", err);
	cr_assert_eq(c.session_adopt, 0, "off by default");
	cr_assert_eq(parse("[sessions]\nadopt = on\n"), 0, "%s", err);
	cr_assert_eq(c.session_adopt, 1);
	cr_assert_eq(parse("[sessions]\nadopt = off\n"), 0, "%s", err);
	cr_assert_eq(c.session_adopt, 0);
	expect_err("[sessions]\nadopt = yes\n", "adopt: 'yes' is not true or false (on or off)");
	cr_assert(!gw_config_is_live("sessions", "adopt"));
	/* node: the owner name (default "": the host name, at start). */
	cr_assert_str_eq(c.session_node, "");
	cr_assert_eq(parse("[sessions]\nadopt = on\nnode = gw-b\n"), 0, "%s", err);
	cr_assert_str_eq(c.session_node, "gw-b");
	expect_err("[sessions]\nnode =\n", "node: value must not be empty");
	cr_assert(!gw_config_is_live("sessions", "node"));
}

/* [cluster]: the nodes line is kept as text (the data plane checks it in
 * full at start, dp_peer.h); what needs what is checked here. */
Test(config, cluster)
{
	static const char ok[] = "[sessions]\nadopt = on\nnode = gw-b\n[cluster]\n"
	                         "nodes = gw-a 10.78.0.1:7100, gw-b 10.78.0.2:7100\n"
	                         "key_file = /etc/sga/cluster.key\nnext_hop = 10.78.255.1\n";

	cr_assert_eq(parse("[gateway]\nid = x\n"), 0, "%s", err);
	cr_assert_str_eq(c.cluster_nodes, "", "no cluster by default");
	cr_assert_eq(c.cluster_lease_ms, 3000);
	cr_assert_eq(parse(ok), 0, "%s", err);
	cr_assert_str_eq(c.cluster_nodes, "gw-a 10.78.0.1:7100, gw-b 10.78.0.2:7100");
	cr_assert_str_eq(c.cluster_key_file, "/etc/sga/cluster.key");
	cr_assert_eq(c.cluster_next_hop, inet_addr("10.78.255.1"));
	cr_assert_eq(parse("[sessions]\nadopt = on\n[cluster]\nnodes = a 1.2.3.4:1, b 1.2.3.5:1\n"
	                   "key_file = k\nlease_ms = 900\n"),
	             0, "%s", err);
	cr_assert_eq(c.cluster_lease_ms, 900);
	expect_err("[cluster]\nnodes = a 1.2.3.4:1, b 1.2.3.5:1\nkey_file = k\n",
	           "[cluster] nodes needs [sessions] adopt = on");
	expect_err("[sessions]\nadopt = on\n[cluster]\nnodes = a 1.2.3.4:1, b 1.2.3.5:1\n",
	           "[cluster] nodes needs key_file");
	expect_err("[cluster]\nkey_file = k\n", "[cluster] key_file and next_hop need nodes");
	expect_err("[cluster]\nnext_hop = 10.0.0.1\n",
	           "[cluster] key_file and next_hop need nodes");
	expect_err("[cluster]\nnext_hop = 10.0.0.300\n", "not an IPv4 address");
	expect_err("[cluster]\nlease_ms = 100\n",
	           "lease_ms: '100' is not an integer in [300, 600000]");
	expect_err("[sessions]\nadopt = on\nnode = "
	           "a-node-name-that-is-far-too-long-for-its-lease-key-xyz\n[cluster]\n"
	           "nodes = a 1.2.3.4:1, b 1.2.3.5:1\nkey_file = k\n",
	           "at most 52 characters");
	cr_assert(!gw_config_is_live("cluster", "nodes"));
}

/* [store] ring_mb: the ring between an lcore and its log's writer (MiB, a
 * power of two). */
Test(config, store_ring_mb)
{
	cr_assert_eq(parse(""), 0, "%s", err);
	cr_assert_eq(c.store_ring_mb, 4, "4 MiB by default");
	cr_assert_eq(parse("[store]\nring_mb = 64\n"), 0, "%s", err);
	cr_assert_eq(c.store_ring_mb, 64);
	expect_err("[store]\nring_mb = 24\n", "[store] ring_mb must be a power of two");
	expect_err("[store]\nring_mb = 0\n", "'0' is not an integer in [1, 4096]");
	expect_err("[store]\nring_mb = 8192\n", "'8192' is not an integer in [1, 4096]");
}

/* [store] replicate / replicas / replica_timeout_ms: the Redis replica of the
 * message store (off by default; needs the local log and adoption). */
Test(config, store_replicate_redis)
{
	cr_assert_eq(parse("[gateway]\nid = x\n"), 0, "%s", err);
	cr_assert_eq(c.store_replicate, GW_REPLICATE_OFF, "off by default");
	cr_assert_eq(c.store_replicas, 1);
	cr_assert_eq(c.store_replica_timeout_ms, 500);
	cr_assert_eq(parse("[store]\ndir = /var/lib/sga\nreplicate = redis\nreplicas = 0\n"
	                   "replica_timeout_ms = 250\n[sessions]\nadopt = on\n"),
	             0, "%s", err);
	cr_assert_eq(c.store_replicate, GW_REPLICATE_REDIS);
	cr_assert_eq(c.store_replicas, 0, "0: the primary only");
	cr_assert_eq(c.store_replica_timeout_ms, 250);
	cr_assert_eq(parse("[store]\nreplicate = off\n"), 0, "%s", err);
	cr_assert_eq(c.store_replicate, GW_REPLICATE_OFF);
	expect_err("[store]\nreplicate = sentinel\n",
	           "t.conf:2: replicate: 'sentinel' is not off or redis");
	expect_err("[store]\nreplicas = -1\n", "replicas");
	expect_err("[store]\nreplicas = 65\n", "'65' is not an integer in [0, 64]");
	expect_err("[store]\nreplica_timeout_ms = 0\n",
	           "replica_timeout_ms: '0' is not an integer in [1, 60000]");
	expect_err("[store]\ndir =\nreplicate = redis\n[sessions]\nadopt = on\n",
	           "[store] replicate = redis needs dir");
	expect_err("[store]\ndir = /var/lib/sga\nreplicate = redis\n",
	           "[store] replicate = redis needs [sessions] adopt = on");
	cr_assert(!gw_config_is_live("store", "replicate"));
	cr_assert(!gw_config_is_live("store", "replicas"));
}

/* [controlplane] mark_step / mark_max_age_ms: when replay marks may wait. */
Test(config, replay_mark_step_and_age)
{
	cr_assert_eq(parse("[gateway]\nid = x\n"), 0, "%s", err);
	cr_assert_eq(c.mark_step, 64, "64 frames by default");
	cr_assert_eq(c.mark_max_age_ms, 60000);
	cr_assert_eq(parse("[controlplane]\nmark_step = 1\nmark_max_age_ms = 500\n"), 0, "%s", err);
	cr_assert_eq(c.mark_step, 1, "1: every move written at the next pass");
	cr_assert_eq(c.mark_max_age_ms, 500);
	expect_err("[controlplane]\nmark_step = 0\n",
	           "mark_step: '0' is not an integer in [1, 960]");
	expect_err("[controlplane]\nmark_step = 961\n", "in [1, 960]");
	expect_err("[controlplane]\nmark_max_age_ms = 5\n", "mark_max_age_ms");
}

/* [dataplane] idle_sleep_us: busy polling unless set; at most 100 ms. */
Test(config, idle_sleep_default_off_and_bounded)
{
	cr_assert_eq(parse("[gateway]\nid = x\n"), 0, "%s", err);
	cr_assert_eq(c.idle_sleep_us, 0, "busy polling by default");
	cr_assert_eq(parse("[dataplane]\nidle_sleep_us = 500\n"), 0, "%s", err);
	cr_assert_eq(c.idle_sleep_us, 500);
	expect_err("[dataplane]\nidle_sleep_us = 100001\n", "idle_sleep_us");
}

Test(config, errors_name_line_and_reason)
{
	expect_err("[gateway]\nbogus = 1\n", "t.conf:2: unknown key 'bogus' in [gateway]");
	expect_err("[nope]\n", "t.conf:1: unknown section [nope]");
	expect_err("id = x\n", "t.conf:1: key 'id' before any [section]");
	expect_err("[gateway]\nudp_port = 70000\n",
	           "t.conf:2: udp_port: '70000' is not an integer in [1, 65535]");
	expect_err("[gateway]\nudp_port = -1\n", "udp_port");
	expect_err("[gateway]\nudp_port = 12ab\n", "udp_port");
	expect_err("[gateway]\nudp_port =\n", "udp_port");
	expect_err("[gateway]\naddress = 10.0.0.300\n", "not an IPv4 address");
	expect_err("[gateway]\ngroup = modp1024\n", "unknown group 'modp1024'");
	expect_err("[gateway]\nsuites = aes-128-gcm, des\n", "unknown suite 'des'");
	expect_err("[gateway]\nsuites = aes-128-gcm, aes-128-gcm\n", "distinct");
	expect_err("[gateway]\nenrollment = maybe\n", "not an enrollment policy");
	expect_err("[gateway]\nid = has space\n", "not an identity");
	expect_err("[gateway]\nid = 123456789012345678901234567890123\n", "not an identity");
	expect_err("[gateway]\nrsa_bits = 1024\n", "not an RSA size");
	expect_err("[gateway]\nudp_port = 1\nudp_port = 2\n",
	           "t.conf:3: key 'udp_port' in [gateway] set twice");
	expect_err("[gateway\n", "malformed section header");
	expect_err("[gateway]\njust words\n", "expected 'key = value'");
	expect_err("[dataplane]\nlcores = 0\n", "lcores");
	expect_err("[dataplane]\nport =\n", "must not be empty");
	expect_err("[controlplane]\nctrl_ring_size = 1000\n", "power of two");
	expect_err("[redis]\nhost =\n", "[redis] needs socket or host");
	expect_err("[eal]\nhugepages = sometimes\n", "not auto, yes or no");
}

/* [gateway] address6 next to address: IPv4 only (the default), both, or
 * IPv6 only (address = none); never neither; only unicast IPv6. */
Test(config, ipv6_address)
{
	static const uint8_t fd00_1[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	static const uint8_t zero[16];

	cr_assert_eq(parse(""), 0, "%s", err);
	cr_assert_arr_eq(c.address6, zero, 16, "no IPv6 address by default");
	cr_assert_eq(parse("[gateway]\naddress6 = fd00::1\n"), 0, "%s", err);
	cr_assert_arr_eq(c.address6, fd00_1, 16);
	cr_assert_eq(c.address, htonl(0x0a4d0001), "and the IPv4 default");
	cr_assert_eq(parse("[gateway]\naddress = none\naddress6 = fd00::1\n"), 0, "%s", err);
	cr_assert_eq(c.address, 0);
	cr_assert_eq(parse("[gateway]\naddress6 = fe80::1\n"), 0, "link-local: %s", err);
	expect_err("[gateway]\naddress = none\n", "[gateway] needs an address");
	expect_err("[gateway]\naddress = none\naddress6 = none\n", "needs an address");
	expect_err("[gateway]\naddress6 = 10.0.0.1\n", "not a unicast IPv6 address");
	expect_err("[gateway]\naddress6 = ff02::1\n", "not a unicast IPv6 address");
	expect_err("[gateway]\naddress6 = ::\n", "not a unicast IPv6 address");
	expect_err("[gateway]\naddress6 = ::1\n", "not a unicast IPv6 address");
	expect_err("[gateway]\naddress6 = ::ffff:10.0.0.1\n", "not a unicast IPv6 address");
	expect_err("[gateway]\naddress6 = [fd00::1]\n", "not a unicast IPv6 address");
	/* A restart-only key: the port's addresses are fixed at start. */
	cr_assert(!gw_config_is_live("gateway", "address6"));
}

Test(config, load_file_errors)
{
	char path[] = "/tmp/sga-config-XXXXXX";
	int fd;

	gw_config_defaults(&c);
	cr_assert_eq(gw_config_load(&c, "/nonexistent/sga.conf", err, sizeof(err)), -1);
	cr_assert(strstr(err, "/nonexistent/sga.conf: cannot open"), "%s", err);

	fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "[gateway]\nudp_port = 9\nwhat\n", 28), 28);
	close(fd);
	gw_config_defaults(&c);
	cr_assert_eq(gw_config_load(&c, path, err, sizeof(err)), -1);
	cr_assert(strstr(err, ":3: expected 'key = value'"), "%s", err);
	unlink(path);
}

Test(config, pci_detection)
{
	cr_assert(gw_config_port_is_pci("0000:3b:00.0"));
	cr_assert(gw_config_port_is_pci("3b:00.1"));
	cr_assert_not(gw_config_port_is_pci("net_tap0,iface=sga0"));
	cr_assert_not(gw_config_port_is_pci("net_af_packet0,iface=veth0"));
}

/* The documented example configurations must stay valid. */
Test(config, shipped_examples_parse)
{
	static const char *const files[] = {"gateway-tap.conf", "gateway-af-packet.conf",
	                                    "gateway-memif.conf", "gateway-qat.conf",
	                                    "gateway-lab.conf"};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/configs/%s", SGA_SOURCE_ROOT, files[i]);
		gw_config_defaults(&c);
		cr_assert_eq(gw_config_load(&c, path, err, sizeof(err)), 0, "%s", err);
	}
}

/* [redis] authentication: a password file, and an ACL user only with one. */
Test(config, redis_auth_keys)
{
	cr_assert_eq(parse(""), 0, "%s", err);
	cr_assert_str_eq(c.redis_user, "", "no AUTH by default");
	cr_assert_str_eq(c.redis_password_file, "");
	cr_assert_eq(parse("[redis]\npassword_file = /etc/sga/redis.pw\n"), 0, "%s", err);
	cr_assert_str_eq(c.redis_password_file, "/etc/sga/redis.pw");
	cr_assert_eq(parse("[redis]\nuser = sga\npassword_file = /etc/sga/redis.pw\n"), 0, "%s",
	             err);
	cr_assert_str_eq(c.redis_user, "sga");
	expect_err("[redis]\nuser = sga\n", "[redis] user = sga needs password_file");
}

/* [redis] cluster: seed nodes host:port, not with socket, database 0 only. */
Test(config, redis_cluster_seeds)
{
	cr_assert_eq(parse(""), 0, "%s", err);
	cr_assert_str_eq(c.redis_cluster, "", "one server by default");
	cr_assert_eq(parse("[redis]\ncluster = 10.0.0.1:7000, redis-b:7001,[::1]:7002\n"), 0, "%s",
	             err);
	cr_assert_str_eq(c.redis_cluster, "10.0.0.1:7000, redis-b:7001,[::1]:7002");
	cr_assert_eq(parse("[redis]\ncluster = 127.0.0.1:7000\ndb = 0\n"), 0, "%s", err);
	expect_err("[redis]\ncluster = 127.0.0.1:7000\nsocket = /run/r.sock\n",
	           "t.conf: [redis] cluster and socket both set");
	expect_err("[redis]\ndb = 3\ncluster = 127.0.0.1:7000\n",
	           "t.conf: [redis] db = 3 with cluster: a Redis Cluster has database 0 only");
	expect_err("[redis]\ncluster =\n", "cluster: no seed node named");
	expect_err("[redis]\ncluster = 127.0.0.1\n",
	           "t.conf:2: cluster: '127.0.0.1' is not a seed node host:port");
	expect_err("[redis]\ncluster = a:1, b:0\n", "'b:0' is not a seed node host:port");
	expect_err("[redis]\ncluster = a:1, :7000\n", "':7000' is not a seed node host:port");
	expect_err("[redis]\ncluster = a:1,, b:2\n", "'' is not a seed node host:port");
	expect_err("[redis]\ncluster = a:x\n", "'a:x' is not a seed node host:port");
	expect_err("[redis]\ncluster = a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8,i:9,j:10,k:11,l:12,m:13,"
	           "n:14,o:15,p:16,q:17\n",
	           "more than 16 seed nodes");
}

/* [redis] sentinel: the sentinels host:port and the primary's name; not
 * with cluster or socket; the name and the password file need sentinel. */
Test(config, redis_sentinel)
{
	cr_assert_eq(parse(""), 0, "%s", err);
	cr_assert_str_eq(c.redis_sentinel, "", "no Sentinel by default");
	cr_assert_eq(parse("[redis]\nsentinel = 10.0.0.1:26379, s2:26379\n"
	                   "sentinel_master = sga\nsentinel_password_file = /etc/sga/s.pw\n"),
	             0, "%s", err);
	cr_assert_str_eq(c.redis_sentinel, "10.0.0.1:26379, s2:26379");
	cr_assert_str_eq(c.redis_sentinel_master, "sga");
	cr_assert_str_eq(c.redis_sentinel_password_file, "/etc/sga/s.pw");
	expect_err("[redis]\nsentinel = s1:26379\n", "[redis] sentinel needs sentinel_master");
	expect_err("[redis]\nsentinel_master = sga\n",
	           "[redis] sentinel_master and sentinel_password_file need sentinel");
	expect_err("[redis]\nsentinel = s1:26379\nsentinel_master = sga\ncluster = a:7000\n",
	           "[redis] sentinel and cluster both set");
	expect_err("[redis]\nsentinel = s1:26379\nsentinel_master = sga\nsocket = /run/r.sock\n",
	           "[redis] sentinel and socket both set");
	expect_err("[redis]\nsentinel = s1\n",
	           "t.conf:2: sentinel: 's1' is not a sentinel host:port");
	expect_err("[redis]\nsentinel =\n", "sentinel: no sentinel named");
}

/* [redis] require_aof: true or false, false by default. */
Test(config, redis_require_aof)
{
	cr_assert_eq(parse(""), 0, "%s", err);
	cr_assert_eq(c.redis_require_aof, 0);
	cr_assert_eq(parse("[redis]\nrequire_aof = true\n"), 0, "%s", err);
	cr_assert_eq(c.redis_require_aof, 1);
	cr_assert_eq(parse("[redis]\nrequire_aof = false\n"), 0, "%s", err);
	cr_assert_eq(c.redis_require_aof, 0);
	expect_err("[redis]\nrequire_aof = yes\n",
	           "t.conf:2: require_aof: 'yes' is not true or false");
}

/* [lab]: a production profile (the default) refuses lab provisioning. */
Test(config, lab_provisioning_refused_under_production)
{
	cr_assert_eq(parse(""), 0, "%s", err);
	cr_assert_eq(c.lab_profile, GW_PROFILE_PRODUCTION, "production is the default");
	expect_err("[lab]\nprovision = /tmp/lab.prov\n", "refused under profile = production");
	expect_err("[lab]\nprofile = production\nprovision = /tmp/lab.prov\n",
	           "refused under profile = production");
	cr_assert_eq(parse("[lab]\nprofile = lab\nprovision = /tmp/lab.prov\n"), 0, "%s", err);
	cr_assert_eq(c.lab_profile, GW_PROFILE_LAB);
	cr_assert_str_eq(c.lab_provision, "/tmp/lab.prov");
	cr_assert_eq(parse("[lab]\nprofile = lab\n"), 0, "%s", err);
	/* the shipped production examples carry no lab setting */
	{
		char path[512];

		snprintf(path, sizeof(path), "%s/configs/gateway-qat.conf", SGA_SOURCE_ROOT);
		gw_config_defaults(&c);
		cr_assert_eq(gw_config_load(&c, path, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(c.lab_profile, GW_PROFILE_PRODUCTION);
		cr_assert_str_eq(c.lab_provision, "");
	}
	expect_err("[lab]\nprofile = staging\n", "is not production or lab");
}

/* [lab] hop_replay_window: on by default; off only under profile = lab, and a
 * production profile refuses it naming the file and the line that set it
 * (whatever the order of the keys). */
Test(config, hop_replay_window_off_refused_under_production)
{
	cr_assert_eq(parse(""), 0, "%s", err);
	cr_assert_eq(c.lab_hop_replay_window, 1, "the window is on by default");
	cr_assert_eq(parse("[lab]\nhop_replay_window = on\n"), 0, "%s", err);
	cr_assert_eq(c.lab_hop_replay_window, 1);
	expect_err("[lab]\nhop_replay_window = off\n",
	           "t.conf:2: [lab] hop_replay_window = off is refused under profile = production");
	expect_err("[lab]\nprofile = production\n\nhop_replay_window = off\n",
	           "t.conf:4: [lab] hop_replay_window = off is refused under profile = production");
	cr_assert_eq(parse("[lab]\nhop_replay_window = off\nprofile = lab\n"), 0, "%s", err);
	cr_assert_eq(c.lab_hop_replay_window, 0);
	cr_assert_eq(parse("[lab]\nprofile = lab\nhop_replay_window = off\n"), 0, "%s", err);
	cr_assert_eq(c.lab_hop_replay_window, 0);
	expect_err("[lab]\nprofile = lab\nhop_replay_window = no\n",
	           "t.conf:3: hop_replay_window: 'no' is not on or off");
	/* the shipped lab example keeps it on */
	{
		char path[512];

		snprintf(path, sizeof(path), "%s/configs/gateway-lab.conf", SGA_SOURCE_ROOT);
		gw_config_defaults(&c);
		cr_assert_eq(gw_config_load(&c, path, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(c.lab_hop_replay_window, 1);
	}
}

/* [gateway] log_level: the rte_log names, numbered as RTE_LOG_*; unset = 0. */
Test(config, log_level_names)
{
	cr_assert_eq(parse(""), 0, "%s", err);
	cr_assert_eq(c.log_level, 0, "unset: EAL's levels stand");
	cr_assert_eq(parse("[gateway]\nlog_level = err\n"), 0, "%s", err);
	cr_assert_eq(c.log_level, 4);
	cr_assert_eq(parse("[gateway]\nlog_level = debug\n"), 0, "%s", err);
	cr_assert_eq(c.log_level, 8);
	expect_err("[gateway]\nlog_level = loud\n",
	           "t.conf:2: log_level: 'loud' is not a log level");
}

/* SIGHUP's comparison: live keys are listed, anything else refuses the reload
 * naming the key; an unchanged file is an empty reload. */
Test(config, reload_diff_live_and_refused)
{
	static const char base[] = "[gateway]\nenrollment = open\nstats_interval_s = 10\n"
	                           "[dataplane]\nport = net_tap0,iface=a\n";
	struct gw_config cur, next;
	const char *live[8];
	unsigned n = 99;

	cr_assert_eq(parse(base), 0, "%s", err);
	cur = c;
	cr_assert_eq(gw_config_reload_diff(&cur, &c, live, 8, &n, err, sizeof(err)), 0);
	cr_assert_eq(n, 0, "unchanged file, nothing to apply");

	cr_assert_eq(parse("[gateway]\nenrollment = allowlist\nstats_interval_s = 5\nlog_level = "
	                   "warning\n[dataplane]\nport = net_tap0,iface=a\n"),
	             0, "%s", err);
	next = c;
	cr_assert_eq(gw_config_reload_diff(&cur, &next, live, 8, &n, err, sizeof(err)), 0, "%s",
	             err);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(live[0], "enrollment");
	cr_assert_str_eq(live[1], "stats_interval_s");
	cr_assert_str_eq(live[2], "log_level");

	cr_assert_eq(parse("[gateway]\nenrollment = allowlist\n[dataplane]\nport = "
	                   "net_tap0,iface=b\n"),
	             0, "%s", err);
	next = c;
	cr_assert_eq(gw_config_reload_diff(&cur, &next, live, 8, &n, err, sizeof(err)), -1);
	cr_assert(strstr(err, "[dataplane] port changed: it needs a restart"), "%s", err);

	cr_assert_eq(parse("[gateway]\nenrollment = open\nstats_interval_s = 10\nsuites = "
	                   "aes-128-gcm\n[dataplane]\nport = net_tap0,iface=a\n"),
	             0, "%s", err);
	next = c;
	cr_assert_eq(gw_config_reload_diff(&cur, &next, live, 8, &n, err, sizeof(err)), -1);
	cr_assert(strstr(err, "[gateway] suites changed"), "%s", err);
	cr_assert(gw_config_is_live("gateway", "enrollment"));
	cr_assert(!gw_config_is_live("dataplane", "port"));
}

/* The control-frame rate and the store's retention change live; turning the
 * rate limit on or off does not (its tables exist only with a rate). */
Test(config, reload_diff_rate_and_retention)
{
	struct gw_config cur, next;
	const char *live[8];
	unsigned n = 99;

	cr_assert_eq(parse("[dataplane]\nctrl_rate = 100\nctrl_burst = 200\n"), 0, "%s", err);
	cur = c;
	cr_assert_eq(parse("[dataplane]\nctrl_rate = 5\nctrl_burst = 3\n[store]\nmax_age_s = 2\n"),
	             0, "%s", err);
	next = c;
	cr_assert_eq(gw_config_reload_diff(&cur, &next, live, 8, &n, err, sizeof(err)), 0, "%s",
	             err);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(live[0], "ctrl_rate");
	cr_assert_str_eq(live[1], "ctrl_burst");
	cr_assert_str_eq(live[2], "max_age_s");

	cr_assert_eq(parse("[dataplane]\nctrl_rate = 0\nctrl_burst = 200\n"), 0, "%s", err);
	next = c;
	cr_assert_eq(gw_config_reload_diff(&cur, &next, live, 8, &n, err, sizeof(err)), -1);
	cr_assert(strstr(err, "[dataplane] ctrl_rate changed to 0: turning the control-frame "
	                      "limit off needs a restart"),
	          "%s", err);
	cr_assert_eq(gw_config_reload_diff(&next, &cur, live, 8, &n, err, sizeof(err)), -1);
	cr_assert(strstr(err, "ctrl_rate changed from 0: turning the control-frame limit on"), "%s",
	          err);
}

/* [gateway] groups: the profiles one gateway serves, the first the default;
 * group = stays the one-profile form. */
Test(config, groups_list_and_one_profile_form)
{
	char path[GW_PATH_MAX];
	const char *k, *t;

	cr_assert_eq(parse(""), 0, "%s", err);
	cr_assert_eq(c.n_groups, 1);
	cr_assert_eq(c.groups[0], SGA_GROUP_FFDHE2048);
	cr_assert_eq(parse("[gateway]\ngroup = ffdhe3072\n"), 0, "%s", err);
	cr_assert_eq(c.n_groups, 1);
	cr_assert_eq(c.group, SGA_GROUP_FFDHE3072);
	cr_assert_eq(c.groups[0], SGA_GROUP_FFDHE3072);
	cr_assert_eq(parse("[gateway]\ngroups = ffdhe3072 , ffdhe2048\npackage = /k/gw.pkg\n"), 0,
	             "%s", err);
	cr_assert_eq(c.n_groups, 2);
	cr_assert_eq(c.group, SGA_GROUP_FFDHE3072, "the first is the default profile");
	cr_assert_eq(c.groups[1], SGA_GROUP_FFDHE2048);
	cr_assert_eq(gw_config_package_path(&c, SGA_GROUP_FFDHE3072, path, sizeof(path)), 0);
	cr_assert_str_eq(path, "/k/gw.pkg", "the first profile keeps [gateway] package");
	cr_assert_eq(gw_config_package_path(&c, SGA_GROUP_FFDHE2048, path, sizeof(path)), 0);
	cr_assert_str_eq(path, "/k/gw-ffdhe2048.pkg");
	cr_assert_eq(gw_config_key_paths(&c, SGA_GROUP_FFDHE2048, &k, &t), 0);
	cr_assert_str_eq(k, c.rsa_key);
	cr_assert_str_eq(t, c.trapdoor_key);
	cr_assert_eq(gw_config_key_paths(&c, SGA_GROUP_X25519, &k, &t), -1, "not served");
	cr_assert_eq(gw_config_package_path(&c, SGA_GROUP_X25519, path, sizeof(path)), -1);
	cr_assert_eq(parse("[gateway]\ngroups = ffdhe3072, ffdhe2048\npackage = /k/gw\n"), 0, "%s",
	             err);
	cr_assert_eq(gw_config_package_path(&c, SGA_GROUP_FFDHE2048, path, sizeof(path)), 0);
	cr_assert_str_eq(path, "/k/gw-ffdhe2048");

	expect_err("[gateway]\ngroups = ffdhe2048, modp1024\n",
	           "t.conf:2: groups: unknown group 'modp1024' (ffdhe2048, ffdhe3072");
	expect_err("[gateway]\ngroups = ffdhe2048, ffdhe2048\n", "'ffdhe2048' named twice");
	expect_err("[gateway]\ngroups =\n", "no group named");
	expect_err("[gateway]\ngroup = ffdhe2048, ffdhe3072\n", "several go in 'groups ='");
	expect_err("[gateway]\ngroup = ffdhe2048\ngroups = ffdhe3072\n",
	           "t.conf:3: 'groups' and 'group' both set");
}

Test(config, groups_need_a_restart)
{
	struct gw_config cur;
	const char *live[8];
	unsigned n = 0;

	cr_assert_eq(parse("[gateway]\ngroups = ffdhe2048\n"), 0, "%s", err);
	cur = c;
	cr_assert_eq(parse("[gateway]\ngroups = ffdhe2048, ffdhe3072\n"), 0, "%s", err);
	cr_assert_eq(gw_config_reload_diff(&cur, &c, live, 8, &n, err, sizeof(err)), -1);
	cr_assert(strstr(err, "[gateway] groups changed: it needs a restart"), "%s", err);
}

/* ---- the EC profiles' key files (gw_keys.h) ------------------------------------ */

#include <openssl/pem.h>

#include "gw_keys.h"

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	fclose(f);
}

Test(config, ec_key_files_made_loaded_and_type_checked)
{
	char dir[] = "/tmp/sga-test-keys.XXXXXX", xp[96], pp[96], pub[96], why[192];
	char pem[1024];
	uint8_t priv[GW_EC_PRIV_LEN], zero[GW_EC_PRIV_LEN] = {0};
	size_t len = 0;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(xp, sizeof(xp), "%s/x25519.pem", dir);
	snprintf(pp, sizeof(pp), "%s/p256.pem", dir);
	snprintf(pub, sizeof(pub), "%s/pub.pem", dir);

	cr_assert_eq(gw_ec_key_generate_pem(SGA_GROUP_X25519, pem, sizeof(pem), &len), 0);
	cr_assert(strstr(pem, "-----BEGIN PRIVATE KEY-----"), "PKCS#8 PEM");
	write_file(xp, pem, len);
	cr_assert_eq(gw_ec_key_generate_pem(SGA_GROUP_P256, pem, sizeof(pem), &len), 0);
	write_file(pp, pem, len);
	cr_assert_eq(gw_ec_key_generate_pem(SGA_GROUP_FFDHE2048, pem, sizeof(pem), &len), -EINVAL);
	cr_assert_eq(gw_ec_key_generate_pem(SGA_GROUP_X25519, pem, 16, &len), -ENOSPC);

	cr_assert_eq(gw_ec_key_load(SGA_GROUP_X25519, xp, priv, why, sizeof(why)), 0, "%s", why);
	cr_assert(memcmp(priv, zero, sizeof(priv)), "a key was read");
	cr_assert_eq(gw_ec_key_load(SGA_GROUP_P256, pp, priv, why, sizeof(why)), 0, "%s", why);
	cr_assert(memcmp(priv, zero, sizeof(priv)), "a key was read");

	/* each file refused as the other's key, saying what it holds */
	cr_assert_eq(gw_ec_key_load(SGA_GROUP_P256, xp, priv, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "holds an X25519 private key, not a P-256 private key");
	cr_assert_arr_eq(priv, zero, sizeof(priv), "nothing handed out");
	cr_assert_eq(gw_ec_key_load(SGA_GROUP_X25519, pp, priv, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "holds a P-256 private key, not an X25519 private key");

	/* a public key only */
	{
		FILE *f = fopen(xp, "r"), *o = fopen(pub, "w");
		EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

		cr_assert_not_null(k);
		cr_assert(o && PEM_write_PUBKEY(o, k));
		EVP_PKEY_free(k);
		fclose(f);
		fclose(o);
	}
	cr_assert_eq(gw_ec_key_load(SGA_GROUP_X25519, pub, priv, why, sizeof(why)), -1);
	cr_assert(strstr(why, "holds an X25519 public key only"), "%s", why);
	gw_key_describe(pub, why, sizeof(why));
	cr_assert_str_eq(why, "an X25519 public key");

	/* missing, not PEM */
	snprintf(pem, sizeof(pem), "%s/none.pem", dir);
	cr_assert_eq(gw_ec_key_load(SGA_GROUP_X25519, pem, priv, why, sizeof(why)), -1);
	cr_assert(strstr(why, "cannot open: No such file"), "%s", why);
	write_file(pub, "hello\n", 6);
	cr_assert_eq(gw_ec_key_load(SGA_GROUP_X25519, pub, priv, why, sizeof(why)), -1);
	cr_assert(strstr(why, "not a PEM key file"), "%s", why);

	unlink(xp);
	unlink(pp);
	unlink(pub);
	rmdir(dir);
}
