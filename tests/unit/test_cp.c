/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_cp.c - the control plane's frame handler (controlplane/cp_handler.h)
 * driven by the in-memory harness devices against a real redis-server (one per
 * test, on a unix socket in its own temporary directory), with capture
 * callbacks in place of the data plane: registration, negotiation and key
 * exchange end to end; the installed session relays with working hop keys;
 * ERROR hints and silences; Redis down; allow-list enrollment; concurrent
 * replays; restore after a restart; and the handler run as OpenSSL ASYNC jobs
 * that pause in their crypto calls, as cp.c's workers run it (on the jobs'
 * own stacks, interleaved on one Redis connection, one session's frames in
 * order); and the lab provisioning path (cp_lab.h), which must write exactly
 * the records a handshake writes.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
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
#include <openssl/async.h>

#include "cp_handler.h"
#include "cp_lab.h"
#include "harness.h"
#include "sga_rekey.h"
#include "sga_cookie.h"
#include "sga_crypto_priv.h"
#include "sga_cursor.h"
#include "sga_engine.h"
#include "sga_keys.h"
#include "redis_fixture.h"
#include "store.h"

/* A private redis-server per test: tests/support/redis_fixture.h. */

static long long raw_int(const char *fmt, const char *arg)
{
	redisReply *r = redis_fx_cmd(fmt, arg);
	long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1000;

	freeReplyObject(r);
	return v;
}

/* ---- capture callbacks (the data plane's stand-ins) ----------------------------------- */

struct cap_msg {
	struct dp_addr dst;
	size_t len;
	uint8_t frame[SGA_FRAME_MAX];
};

static struct {
	pthread_mutex_t mu;
	unsigned n;
	struct cap_msg m[16];
	size_t req_len; /* the frame being handled: no reply may be an ERROR larger */
} CAP = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int cap_send(void *ctx, const struct dp_addr *dst, const uint8_t *frame, size_t len)
{
	(void)ctx;
	pthread_mutex_lock(&CAP.mu);
	if (CAP.n < 16) {
		CAP.m[CAP.n].dst = *dst;
		CAP.m[CAP.n].len = len;
		memcpy(CAP.m[CAP.n].frame, frame, len);
		CAP.n++;
	}
	pthread_mutex_unlock(&CAP.mu);
	return 0;
}

struct inst {
	unsigned n;
	int fail;
	struct sga_gw_session s;
	struct dp_addr addr[2];
	uint64_t tx_seq[2], tx_limit[2], rx_next[2];
};

static struct inst INST;

static int cap_install(void *ctx, const struct sga_gw_session *s, const struct dp_addr addr[2],
                       const uint64_t tx_seq[2], const uint64_t tx_limit[2],
                       const uint64_t rx_next[2])
{
	struct inst *in = ctx;

	if (in->fail)
		return -ENOSPC;
	in->n++;
	in->s = *s;
	memcpy(in->addr, addr, sizeof(in->addr));
	memcpy(in->tx_seq, tx_seq, sizeof(in->tx_seq));
	memcpy(in->tx_limit, tx_limit, sizeof(in->tx_limit));
	memcpy(in->rx_next, rx_next, sizeof(in->rx_next));
	return 0;
}

/* ---- fixture ---------------------------------------------------------------------------- */

#define BLOCK 4096u

static const uint8_t ALL[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_AES256_GCM,
                              SGA_SUITE_CHACHA20_POLY1305, SGA_SUITE_AES128_CCM8};
static const uint8_t MKEY[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static struct harness H;
static struct cp_counters CTR;
static struct cp_handler HD;
static struct store *ST;
static struct dp_addr ADDR[2];
static uint8_t F[SGA_FRAME_MAX];
static size_t FL;
static uint8_t B3[SGA_FRAME_MAX]; /* d_j's KEX_INIT, kept to retransmit */
static size_t B3_LEN;

static struct store *open_store(void)
{
	struct store_config cfg;
	struct store *st;

	memset(&cfg, 0, sizeof(cfg));
	cfg.unix_socket = redis_fx.sock;
	cfg.timeout_ms = 1000;
	cfg.backoff_max_ms = 200;
	memcpy(cfg.master_key, MKEY, sizeof(MKEY));
	st = store_open(&cfg);
	cr_assert_not_null(st);
	return st;
}

static struct dp_addr mkaddr(uint8_t last, uint16_t port)
{
	struct dp_addr a;

	memset(&a, 0, sizeof(a));
	dp_addr_set_ipv4(&a, htonl(0x0a000000u | last));
	a.port = htons(port);
	a.mac[0] = 0x02;
	a.mac[5] = last;
	return a;
}

static int addr_eq(const struct dp_addr *a, const struct dp_addr *b)
{
	return a->family == b->family && !memcmp(a->ip, b->ip, 16) && a->port == b->port &&
	       a->vlan == b->vlan && !memcmp(a->mac, b->mac, 6);
}

/* Reservations from 0 (no clock floor): the ranges these tests expect. The
 * floor has tests of its own (cp::restore_after_redis_rollback_*). */
static uint64_t no_floor(void)
{
	return 0;
}

static void setup(void)
{
	store_tx_floor_set(no_floor);
	redis_fx_setup("/tmp/sga-cp");
	cr_assert_eq(harness_init(&H, SGA_GROUP_FFDHE2048, ALL, 4, ALL, 4), 0);
	memset(&CTR, 0, sizeof(CTR));
	memset(&INST, 0, sizeof(INST));
	HD.gw = &H.gw;
	HD.send.fn = cap_send;
	HD.send.ctx = NULL;
	HD.install.fn = cap_install;
	HD.install.ctx = &INST;
	HD.tx_block = BLOCK;
	HD.ctr = &CTR;
	ST = open_store();
	ADDR[0] = mkaddr(1, 4001);
	ADDR[1] = mkaddr(2, 4002);
}

static void teardown(void)
{
	store_close(ST);
	harness_fini(&H);
	redis_fx_teardown();
}

TestSuite(cp, .init = setup, .fini = teardown, .timeout = 120);

/* When set, step() runs the handler as a job of this pool, as cp.c does. */
static struct sga_async *JOBS;

struct step_job {
	const uint8_t *frame;
	size_t len;
	int k;
	int rc;
	int done;
};

static int step_fn(void *arg)
{
	struct step_job *j = arg;

	return cp_handle_frame(&HD, ST, j->frame, j->len, &ADDR[j->k], 0);
}

static void step_done(void *arg, int rc)
{
	struct step_job *j = arg;

	j->rc = rc;
	j->done = 1;
}

/* Handle F (FL bytes) from device k; capture what is sent. */
static int step(int k)
{
	int rc;

	CAP.n = 0;
	CAP.req_len = FL;
	if (JOBS) {
		struct step_job j = {.frame = F, .len = FL, .k = k};
		int s = sga_async_submit(JOBS, step_fn, &j, step_done);

		cr_assert(s == 0 || s == 1, "submit %d", s);
		while (!j.done)
			sga_async_poll(JOBS);
		rc = j.rc;
	} else {
		rc = cp_handle_frame(&HD, ST, F, FL, &ADDR[k], 0);
	}
	for (unsigned i = 0; i < CAP.n; i++)
		if (CAP.m[i].frame[1] == SGA_MSG_ERROR)
			cr_assert(CAP.m[i].len <= FL, "an ERROR never exceeds its request");
	return rc;
}

/* The one ERROR hint the last step sent, to device k. */
static void expect_error(int k, int code, const void *ref, uint8_t ref_len)
{
	struct sga_error_msg e;

	cr_assert_eq(CAP.n, 1, "one ERROR hint");
	cr_assert(addr_eq(&CAP.m[0].dst, &ADDR[k]));
	cr_assert_eq(sga_error_decode(CAP.m[0].frame, CAP.m[0].len, &e), 0);
	cr_assert_eq(e.code, code, "ERROR %s, want %s", sga_err_name(e.code), sga_err_name(code));
	cr_assert_eq(e.ref_len, ref_len);
	cr_assert_arr_eq(e.ref, ref, ref_len);
}

static void do_register(int k, const uint8_t *token, uint8_t token_len)
{
	cr_assert_eq(sga_dev_create_reg_req(&H.dev[k], token, token_len, 0, F, sizeof(F), &FL), 0);
	cr_assert_eq(step(k), 0);
	cr_assert_eq(CAP.n, 1);
	cr_assert(addr_eq(&CAP.m[0].dst, &ADDR[k]));
	cr_assert_eq(sga_dev_consume_reg_ack(&H.dev[k], CAP.m[0].frame, CAP.m[0].len), 0);
}

/* A1 from d_i; returns the handler's result, CAP holds A2 (or the A4 refusal). */
static int send_a1(const uint8_t *prefs, uint8_t n_pref)
{
	cr_assert_eq(sga_dev_create_neg_req(&H.dev[0], &H.sess[0], H.dev[1].id, H.dev[1].id_len,
	                                    prefs, n_pref, F, sizeof(F), &FL),
	             0);
	return step(0);
}

static void do_negotiate(void)
{
	cr_assert_eq(send_a1(ALL, 4), 0);
	cr_assert_eq(CAP.n, 1);
	cr_assert(addr_eq(&CAP.m[0].dst, &ADDR[1]), "A2 goes to d_j's stored address");
	cr_assert_eq(
	    sga_dev_consume_neg_invite(&H.dev[1], &H.sess[1], CAP.m[0].frame, CAP.m[0].len), 0);
	cr_assert_eq(sga_dev_create_neg_accept(&H.dev[1], &H.sess[1], 1, F, sizeof(F), &FL), 0);
	cr_assert_eq(step(1), 0);
	cr_assert_eq(CAP.n, 1);
	cr_assert(addr_eq(&CAP.m[0].dst, &ADDR[0]), "A4 goes to d_i's stored address");
	cr_assert_eq(
	    sga_dev_consume_neg_result(&H.dev[0], &H.sess[0], CAP.m[0].frame, CAP.m[0].len), 0);
}

static void do_kex(void)
{
	cr_assert_eq(sga_dev_create_kex_init(&H.dev[0], &H.sess[0], F, sizeof(F), &FL), 0);
	cr_assert_eq(step(0), 0);
	cr_assert_eq(CAP.n, 0, "B1 alone: nothing to send yet");
	cr_assert_eq(INST.n, 0);
	cr_assert_eq(sga_dev_create_kex_init(&H.dev[1], &H.sess[1], F, sizeof(F), &FL), 0);
	memcpy(B3, F, FL);
	B3_LEN = FL;
	cr_assert_eq(step(1), 0);
	cr_assert_eq(CAP.n, 2);
	for (unsigned i = 0; i < 2; i++) {
		int k = addr_eq(&CAP.m[i].dst, &ADDR[0]) ? 0 : 1;

		cr_assert(addr_eq(&CAP.m[i].dst, &ADDR[k]));
		cr_assert_eq(
		    sga_dev_consume_kex_reply(&H.dev[k], &H.sess[k], CAP.m[i].frame, CAP.m[i].len),
		    0);
	}
	cr_assert_eq(H.sess[0].state, SGA_DEV_S_ESTABLISHED);
	cr_assert_eq(H.sess[1].state, SGA_DEV_S_ESTABLISHED);
}

/* Both key confirmations through a gateway session record s (as installed):
 * the first DATA_UP of each device. */
static void confirm_through(struct sga_gw_session *s)
{
	uint8_t out[2][SGA_FRAME_MAX], to_role = 9;
	size_t out_len[2];

	for (int k = 0; k < 2; k++) {
		cr_assert_eq(sga_dev_create_key_confirm(&H.sess[k], F, sizeof(F), &FL), 0);
		cr_assert_eq(
		    sga_gw_data_relay(s, F, FL, out[k], sizeof(out[k]), &out_len[k], &to_role), 0);
		cr_assert_eq(to_role, k ^ 1);
	}
	for (int k = 0; k < 2; k++)
		cr_assert_eq(sga_dev_consume_key_confirm(&H.sess[k ^ 1], out[k], out_len[k]), 0,
		             "both devices derived the same keys");
}

/* One message from `from` through a gateway session record s (as installed),
 * after the key confirmations if the devices have not made them yet. */
static void relay(struct sga_gw_session *s, int from, const char *msg)
{
	uint8_t out[SGA_FRAME_MAX], got[SGA_FRAME_MAX], to_role = 9;
	size_t out_len, got_len;

	if (!sga_dev_sess_confirmed(&H.sess[from]))
		confirm_through(s);

	cr_assert_eq(
	    sga_dev_data_seal(&H.sess[from], (const uint8_t *)msg, strlen(msg), F, sizeof(F), &FL),
	    0);
	cr_assert_eq(sga_gw_data_relay(s, F, FL, out, sizeof(out), &out_len, &to_role), 0);
	cr_assert_eq(to_role, from ^ 1);
	cr_assert_eq(sga_dev_data_open(&H.sess[from ^ 1], out, out_len, got, sizeof(got), &got_len),
	             0);
	cr_assert_eq(got_len, strlen(msg));
	cr_assert_arr_eq(got, msg, got_len);
}

/* ---- the whole handshake -------------------------------------------------------------- */

Test(cp, package_request)
{
	cr_assert_eq(sga_pkg_req_encode(0, F, sizeof(F), &FL), 0);
	cr_assert_eq(step(0), 0);
	cr_assert_eq(CAP.n, 1);
	cr_assert(addr_eq(&CAP.m[0].dst, &ADDR[0]));
	cr_assert_eq(CAP.m[0].len, H.gw.prof[0].pkg_frame_len);
	cr_assert_arr_eq(CAP.m[0].frame, H.gw.prof[0].pkg_frame, H.gw.prof[0].pkg_frame_len);
}

Test(cp, full_handshake_installs_a_working_session)
{
	struct sga_gw_device rec;
	struct sga_gw_session s;
	struct dp_addr a;
	uint64_t sid;

	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	cr_assert_eq(CTR.registered, 2);
	cr_assert_eq(store_device_get_addr(ST, H.dev[1].id, H.dev[1].id_len, &a), 0);
	cr_assert(addr_eq(&a, &ADDR[1]));
	do_negotiate();
	/* the counters the devices used are the ones stored */
	cr_assert_eq(store_device_get(ST, H.dev[0].id, H.dev[0].id_len, &rec), 0);
	cr_assert_eq(rec.up_ctr, H.dev[0].up_ctr);
	cr_assert_eq(store_device_get(ST, H.dev[1].id, H.dev[1].id_len, &rec), 0);
	cr_assert_eq(rec.up_ctr, H.dev[1].up_ctr);
	cr_assert_eq(rec.down_ctr, H.dev[1].down_ctr);
	do_kex();

	sid = H.sess[0].session_id;
	cr_assert_eq(INST.n, 1);
	cr_assert_eq(INST.s.session_id, sid);
	cr_assert_eq(INST.s.state, SGA_GW_S_ESTABLISHED);
	cr_assert(addr_eq(&INST.addr[0], &ADDR[0]) && addr_eq(&INST.addr[1], &ADDR[1]));
	for (int r = 0; r < 2; r++) {
		cr_assert_eq(INST.tx_limit[r], BLOCK);
		cr_assert_eq(INST.tx_seq[r], 0);
		cr_assert_eq(INST.rx_next[r], 0);
	}
	cr_assert_eq(CTR.sessions, 1);
	cr_assert_eq(CTR.rejected, 0);

	/* the installed record's hop keys relay both ways */
	relay(&INST.s, 0, "hello from d_i");
	relay(&INST.s, 1, "and back from d_j");

	/* stored and indexed as established */
	cr_assert_eq(store_session_get(ST, sid, &s), 0);
	cr_assert_eq(s.state, SGA_GW_S_ESTABLISHED);
	sga_gw_session_wipe(&s);
	{
		char hex[17];

		snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)sid);
		cr_assert_eq(raw_int("SISMEMBER sga:sessions %s", hex), 1);
	}

	/* a retransmitted B3 gets the cached B6 again, and nothing is re-installed */
	memcpy(F, B3, B3_LEN);
	FL = B3_LEN;
	cr_assert_eq(step(1), 0);
	cr_assert_eq(CAP.n, 1);
	cr_assert(addr_eq(&CAP.m[0].dst, &ADDR[1]));
	cr_assert_eq(CAP.m[0].frame[1], SGA_MSG_KEX_REPLY);
	cr_assert_eq(INST.n, 1);
}

/* ---- adoption ([sessions] adopt, PROTOCOL.md 9.5) ------------------------------------------- */

static struct inst INST_B;
static int B_PRESENT; /* what gateway B's data plane says: installed? */

static int b_present(void *ctx, uint64_t session_id)
{
	(void)ctx;
	(void)session_id;
	return B_PRESENT;
}

/* Gateway B: another gateway on the same Redis, adoption on or off. */
static int step_b(int adopt, const uint8_t *frame, size_t len)
{
	struct cp_handler hb = HD;

	hb.install.ctx = &INST_B;
	hb.adopt.fn = adopt ? b_present : NULL;
	hb.adopt.ctx = NULL;
	CAP.n = 0;
	return cp_handle_frame(&hb, ST, frame, len, &ADDR[0], 0);
}

/*
 * Gateway A sets a session up; its devices' next frames reach gateway B (A
 * failed, or the network moved them). With adoption on, B installs the
 * session from Redis on the first authentic, fresh frame - with hop TX ranges
 * above A's, so no hop nonce repeats even if A is still sealing - and it
 * relays both ways without a new handshake. A forged frame, a frame of an
 * unknown session, a replay below the persisted mark, or adoption off install
 * nothing, and none of them is answered.
 */
Test(cp, adoption_installs_a_session_another_gateway_set_up)
{
	uint8_t up[SGA_FRAME_MAX], bad[SGA_FRAME_MAX];
	size_t up_len;
	uint64_t sid, marks[2];
	struct dp_addr none[2];

	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	do_negotiate();
	do_kex();
	sid = H.sess[0].session_id;
	cr_assert_eq(INST.n, 1, "installed on gateway A");
	memset(&INST_B, 0, sizeof(INST_B));
	B_PRESENT = 0;

	/* d_i's first frame after the handshake: its key confirmation. */
	cr_assert_eq(sga_dev_create_key_confirm(&H.sess[0], up, sizeof(up), &up_len), 0);
	cr_assert_eq(step_b(0, up, up_len), -SGA_E_BAD_TYPE, "adoption off: not B's to handle");
	cr_assert_eq(INST_B.n, 0);

	memcpy(bad, up, up_len);
	bad[up_len - 1] ^= 0x01;
	cr_assert_eq(step_b(1, bad, up_len), -SGA_E_AUTH, "forged: nothing installed");
	memcpy(bad, up, up_len);
	bad[6] ^= 0x01; /* another session id */
	cr_assert_eq(step_b(1, bad, up_len), -SGA_E_UNKNOWN_SESSION);
	cr_assert_eq(INST_B.n, 0);
	cr_assert_eq(CAP.n, 0, "never answered");
	cr_assert_eq(CTR.adopt_refused, 2);

	cr_assert_eq(step_b(1, up, up_len), 0);
	cr_assert_eq(INST_B.n, 1, "adopted");
	cr_assert_eq(CTR.adopted, 1);
	cr_assert_eq(INST_B.s.session_id, sid);
	cr_assert_eq(INST_B.s.state, SGA_GW_S_ESTABLISHED);
	for (int r = 0; r < 2; r++)
		cr_assert_geq(INST_B.tx_seq[r], INST.tx_limit[r],
		              "role %d: B seals above every sequence number A may use", r);
	/* The members' IP addresses and ports as A persisted them; the next hop
	 * (Ethernet source) of the frame that came through B for both. */
	for (int r = 0; r < 2; r++) {
		cr_assert_arr_eq(INST_B.addr[r].ip, ADDR[r].ip, 16);
		cr_assert_eq(INST_B.addr[r].port, ADDR[r].port);
		cr_assert_arr_eq(INST_B.addr[r].mac, ADDR[0].mac, 6, "role %d: B's next hop", r);
	}
	relay(&INST_B.s, 0, "through gateway B");
	relay(&INST_B.s, 1, "and back through B");

	/* A second frame that raced the first: installed meanwhile, nothing again. */
	B_PRESENT = 1;
	cr_assert_eq(step_b(1, up, up_len), 0);
	cr_assert_eq(INST_B.n, 1);

	/* Gateway C, after A persisted marks above that frame: a replay of it
	 * installs nothing. */
	B_PRESENT = 0;
	memset(&INST_B, 0, sizeof(INST_B));
	memset(none, 0, sizeof(none));
	marks[0] = marks[1] = 1u << 20;
	cr_assert_eq(store_session_set_marks(ST, sid, marks, none), 0);
	cr_assert_eq(step_b(1, up, up_len), -SGA_E_REPLAY);
	cr_assert_eq(INST_B.n, 0);
	cr_assert_eq(CTR.adopt_refused, 3);
}

Test(cp, declined_invitation_deletes_the_session)
{
	uint64_t sid;

	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	cr_assert_eq(send_a1(ALL, 4), 0);
	cr_assert_eq(
	    sga_dev_consume_neg_invite(&H.dev[1], &H.sess[1], CAP.m[0].frame, CAP.m[0].len), 0);
	sid = H.sess[1].session_id;
	cr_assert_eq(sga_dev_create_neg_accept(&H.dev[1], &H.sess[1], 0, F, sizeof(F), &FL), 0);
	cr_assert_eq(step(1), 0);
	cr_assert_eq(CAP.n, 1);
	cr_assert_eq(
	    sga_dev_consume_neg_result(&H.dev[0], &H.sess[0], CAP.m[0].frame, CAP.m[0].len),
	    -SGA_E_DECLINED);
	{
		struct sga_gw_session s;

		cr_assert_eq(store_session_get(ST, sid, &s), -SGA_E_UNKNOWN_SESSION);
	}
	/* a peer nobody registered: an authenticated refusal in A4 */
	cr_assert_eq(sga_dev_create_neg_req(&H.dev[0], &H.sess[0], (const uint8_t *)"nobody", 6,
	                                    ALL, 4, F, sizeof(F), &FL),
	             0);
	cr_assert_eq(step(0), 0, "an unknown peer is an authenticated refusal, not an error");
	cr_assert_eq(CAP.n, 1);
	cr_assert_eq(
	    sga_dev_consume_neg_result(&H.dev[0], &H.sess[0], CAP.m[0].frame, CAP.m[0].len),
	    -SGA_E_UNKNOWN_DEVICE);
}

/* ---- hints and silences ---------------------------------------------------------------- */

Test(cp, error_hints_and_silent_drops)
{
	struct sga_dev imposter;
	uint8_t saved[SGA_FRAME_MAX];
	size_t saved_len;

	/* A1 from a device that believes it is registered; Redis does not know it */
	cr_assert_eq(sga_dev_init(&imposter, &H.gw.prof[0].pkg, (const uint8_t *)"dev-x", 5,
	                          SGA_SUITE_AES128_GCM, ALL, 4),
	             0);
	imposter.registered = 1;
	cr_assert_eq(sga_dev_create_neg_req(&imposter, &H.sess[0], H.dev[1].id, H.dev[1].id_len,
	                                    ALL, 4, F, sizeof(F), &FL),
	             0);
	cr_assert_eq(step(0), -SGA_E_UNKNOWN_DEVICE);
	cr_assert_eq(CAP.n, 0, "no hint to a frame G cannot authenticate");
	sga_dev_fini(&imposter);

	do_register(0, NULL, 0);
	do_register(1, NULL, 0);

	/* the same identity registered again with another key */
	cr_assert_eq(sga_dev_init(&imposter, &H.gw.prof[0].pkg, (const uint8_t *)"dev-j", 5,
	                          SGA_SUITE_AES128_GCM, ALL, 4),
	             0);
	cr_assert_eq(sga_dev_create_reg_req(&imposter, NULL, 0, 0, F, sizeof(F), &FL), 0);
	cr_assert_eq(step(0), -SGA_E_EXISTS);
	cr_assert_eq(CAP.n, 0, "a taken identity is not confirmed to whoever asks");
	sga_dev_fini(&imposter);

	/* a forged (tampered) A1: dropped without a word */
	cr_assert_eq(sga_dev_create_neg_req(&H.dev[0], &H.sess[0], H.dev[1].id, H.dev[1].id_len,
	                                    ALL, 4, F, sizeof(F), &FL),
	             0);
	memcpy(saved, F, FL);
	saved_len = FL;
	F[FL - 1] ^= 0x80;
	cr_assert_eq(step(0), -SGA_E_AUTH);
	cr_assert_eq(CAP.n, 0, "no answer to a frame that fails authentication");

	/* the genuine one works; its replay gets a REPLAY hint */
	memcpy(F, saved, saved_len);
	FL = saved_len;
	cr_assert_eq(step(0), 0);
	cr_assert_eq(CAP.n, 1);
	cr_assert_eq(step(0), -SGA_E_REPLAY);
	expect_error(0, SGA_E_REPLAY, "dev-i", 5);

	/* KEX_INIT for a session that does not exist: its id as the reference */
	{
		struct sga_dev_sess fake = H.sess[0];

		fake.session_id = 0x0102030405060708ull;
		fake.state = SGA_DEV_S_KEX;
		cr_assert_eq(sga_dev_create_kex_init(&H.dev[0], &fake, F, sizeof(F), &FL), 0);
		sga_dev_sess_wipe(&fake);
	}
	cr_assert_eq(step(0), -SGA_E_UNKNOWN_SESSION);
	cr_assert_eq(CAP.n, 0, "no session, no key to authenticate it: silence");

	/* garbage: silence */
	memset(F, 0xee, 64);
	FL = 64;
	cr_assert_neq(step(0), 0);
	cr_assert_eq(CAP.n, 0);
	cr_assert_eq(CTR.handled, 9);
	cr_assert_eq(CTR.unavailable, 0);
	cr_assert_eq(CTR.rejected, 6);
}

Test(cp, redis_down_gives_unavailable)
{
	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	redis_fx_kill();
	cr_assert_eq(send_a1(ALL, 4), -SGA_E_UNAVAILABLE);
	expect_error(0, SGA_E_UNAVAILABLE, "dev-i", 5);
	cr_assert_eq(CTR.unavailable, 1);

	/* a registration too (ref: the id from inside the request) */
	cr_assert_eq(sga_dev_create_reg_req(&H.dev[1], NULL, 0, 0, F, sizeof(F), &FL), 0);
	cr_assert_eq(step(1), -SGA_E_UNAVAILABLE);
	expect_error(1, SGA_E_UNAVAILABLE, "dev-j", 5);

	/* back: the device's retry (a fresh counter) goes through */
	redis_fx_spawn();
	fx_msleep(250); /* past the backoff */
	cr_assert_eq(send_a1(ALL, 4), -SGA_E_UNKNOWN_DEVICE, "the new Redis is empty");
	cr_assert_eq(CAP.n, 0, "an unknown identity gets no hint");
}

Test(cp, allowlist_enrollment_consumes_the_token)
{
	static const uint8_t token[] = "one-time-token-42";
	struct sga_buf part = {token, sizeof(token) - 1};
	struct sga_gw_enroll e;
	struct sga_gw_device rec;

	H.gw.enroll_mode = SGA_ENROLL_ALLOWLIST;
	/* not listed */
	cr_assert_eq(
	    sga_dev_create_reg_req(&H.dev[0], token, sizeof(token) - 1, 0, F, sizeof(F), &FL), 0);
	cr_assert_eq(step(0), -SGA_E_ENROLL_DENIED);
	cr_assert_eq(CAP.n, 0, "a refused enrollment is not answered");

	cr_assert_eq(sga_sha256(&part, 1, e.token_hash), 0);
	cr_assert_eq(store_enroll_put(ST, H.dev[0].id, H.dev[0].id_len, &e), 0);
	/* listed, wrong token */
	cr_assert_eq(
	    sga_dev_create_reg_req(&H.dev[0], (const uint8_t *)"guess", 5, 0, F, sizeof(F), &FL),
	    0);
	cr_assert_eq(step(0), -SGA_E_ENROLL_DENIED);
	cr_assert_eq(store_device_get(ST, H.dev[0].id, H.dev[0].id_len, &rec),
	             -SGA_E_UNKNOWN_DEVICE);
	/* the right token: registered, token gone */
	do_register(0, token, sizeof(token) - 1);
	cr_assert_eq(store_device_get(ST, H.dev[0].id, H.dev[0].id_len, &rec), 0);
	cr_assert_arr_eq(rec.k_d, H.dev[0].k_d, SGA_KEY_LEN);
	cr_assert_eq(store_enroll_get(ST, H.dev[0].id, H.dev[0].id_len, &e), -SGA_E_UNKNOWN_DEVICE);
	/* an unlisted device still cannot */
	cr_assert_eq(
	    sga_dev_create_reg_req(&H.dev[1], token, sizeof(token) - 1, 0, F, sizeof(F), &FL), 0);
	cr_assert_eq(step(1), -SGA_E_ENROLL_DENIED);
}

Test(cp, retransmitted_registration_and_rekey)
{
	uint8_t saved[SGA_FRAME_MAX], old_kd[SGA_KEY_LEN];
	size_t saved_len;
	struct sga_gw_device rec;

	do_register(1, NULL, 0);
	/* d_i's first REG_ACK is lost: the same request again is acknowledged again */
	cr_assert_eq(sga_dev_create_reg_req(&H.dev[0], NULL, 0, 0, F, sizeof(F), &FL), 0);
	memcpy(saved, F, FL);
	saved_len = FL;
	cr_assert_eq(step(0), 0);
	cr_assert_eq(CAP.n, 1);
	memcpy(F, saved, saved_len);
	FL = saved_len;
	cr_assert_eq(step(0), 0);
	cr_assert_eq(CAP.n, 1);
	cr_assert_eq(sga_dev_consume_reg_ack(&H.dev[0], CAP.m[0].frame, CAP.m[0].len), 0);
	cr_assert_eq(store_device_get(ST, H.dev[0].id, H.dev[0].id_len, &rec), 0);
	cr_assert_eq(rec.down_ctr, H.dev[0].down_ctr);
	cr_assert_eq(CTR.registered, 2, "a retransmission is not a new registration");

	/* rekey: a new k_d, proven with the old one; counters restart */
	memcpy(old_kd, H.dev[0].k_d, SGA_KEY_LEN);
	cr_assert_eq(sga_dev_create_reg_req(&H.dev[0], NULL, 0, 1, F, sizeof(F), &FL), 0);
	cr_assert_eq(step(0), 0);
	cr_assert_eq(CAP.n, 1);
	cr_assert_eq(sga_dev_consume_reg_ack(&H.dev[0], CAP.m[0].frame, CAP.m[0].len), 0);
	cr_assert(memcmp(old_kd, H.dev[0].k_d, SGA_KEY_LEN) != 0);
	cr_assert_eq(store_device_get(ST, H.dev[0].id, H.dev[0].id_len, &rec), 0);
	cr_assert_arr_eq(rec.k_d, H.dev[0].k_d, SGA_KEY_LEN);
	cr_assert_eq(rec.up_ctr, 0);
	cr_assert_eq(CTR.registered, 3);
	/* and the new key is the one A1 is checked against */
	cr_assert_eq(send_a1(ALL, 4), 0);
	cr_assert_eq(CAP.n, 1);
	cr_assert(addr_eq(&CAP.m[0].dst, &ADDR[1]));
}

/* ---- addresses: only fresh authenticated frames move them (PROTOCOL.md 6.3) ----------------- */

static const struct dp_addr *ATTACKER(void)
{
	static struct dp_addr a;

	a = mkaddr(66, 6666);
	return &a;
}

/* Handle F from an arbitrary source address (an attacker's, or a device that moved). */
static int step_from(const struct dp_addr *src)
{
	CAP.n = 0;
	CAP.req_len = FL;
	return cp_handle_frame(&HD, ST, F, FL, src, 0);
}

static void expect_stored_addr(int k, const struct dp_addr *want)
{
	struct dp_addr a;

	cr_assert_eq(store_device_get_addr(ST, H.dev[k].id, H.dev[k].id_len, &a), 0);
	cr_assert(addr_eq(&a, want), "device %d's address moved", k);
}

static unsigned count_type(uint8_t type)
{
	unsigned n = 0;

	for (unsigned i = 0; i < CAP.n; i++)
		n += CAP.m[i].frame[1] == type;
	return n;
}

Test(cp, replayed_reg_req_does_not_move_the_address)
{
	uint8_t reg_j[SGA_FRAME_MAX];
	size_t reg_j_len;

	do_register(0, NULL, 0);
	cr_assert_eq(sga_dev_create_reg_req(&H.dev[1], NULL, 0, 0, F, sizeof(F), &FL), 0);
	memcpy(reg_j, F, FL);
	reg_j_len = FL;
	cr_assert_eq(step(1), 0);
	cr_assert_eq(sga_dev_consume_reg_ack(&H.dev[1], CAP.m[0].frame, CAP.m[0].len), 0);

	/* d_j's old, authentic REG_REQ from elsewhere: re-acknowledged there (the
	 * ACK is sealed for d_j and smaller than the request), nothing moves */
	memcpy(F, reg_j, reg_j_len);
	FL = reg_j_len;
	cr_assert_eq(step_from(ATTACKER()), 0);
	cr_assert_eq(CAP.n, 1);
	cr_assert(addr_eq(&CAP.m[0].dst, ATTACKER()));
	expect_stored_addr(1, &ADDR[1]);
	cr_assert_eq(CTR.registered, 2, "a replay is not a registration");

	/* so d_i's A1 still invites d_j where d_j is */
	cr_assert_eq(send_a1(ALL, 4), 0);
	cr_assert_eq(CAP.n, 1);
	cr_assert_eq(CAP.m[0].frame[1], SGA_MSG_NEG_INVITE);
	cr_assert(addr_eq(&CAP.m[0].dst, &ADDR[1]), "A2 goes to d_j, not to the replayer");
}

Test(cp, replayed_kex_init_does_not_move_the_address)
{
	uint8_t b1[SGA_FRAME_MAX];
	size_t b1_len;

	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	do_negotiate();
	cr_assert_eq(sga_dev_create_kex_init(&H.dev[0], &H.sess[0], F, sizeof(F), &FL), 0);
	memcpy(b1, F, FL);
	b1_len = FL;
	cr_assert_eq(step(0), 0);

	/* B1 replayed from elsewhere before d_j's B3: no answer, nothing moves */
	cr_assert_eq(step_from(ATTACKER()), 0);
	cr_assert_eq(CAP.n, 0);
	expect_stored_addr(0, &ADDR[0]);

	/* d_j's B3 completes the exchange: d_i's B5 and its installed address are d_i's */
	cr_assert_eq(sga_dev_create_kex_init(&H.dev[1], &H.sess[1], F, sizeof(F), &FL), 0);
	cr_assert_eq(step(1), 0);
	cr_assert_eq(count_type(SGA_MSG_KEX_REPLY), 2);
	for (unsigned i = 0; i < CAP.n; i++)
		cr_assert(!addr_eq(&CAP.m[i].dst, ATTACKER()), "a KEX_REPLY went to the replayer");
	cr_assert_eq(INST.n, 1);
	cr_assert(addr_eq(&INST.addr[0], &ADDR[0]) && addr_eq(&INST.addr[1], &ADDR[1]));

	/* B1 replayed after establishment: the cached B5 goes back to the source
	 * (no larger than the request, readable only by d_i); d_i's address stays */
	memcpy(F, b1, b1_len);
	FL = b1_len;
	cr_assert_eq(step_from(ATTACKER()), 0);
	cr_assert_eq(CAP.n, 1);
	cr_assert_eq(CAP.m[0].frame[1], SGA_MSG_KEX_REPLY);
	cr_assert_leq(CAP.m[0].len, b1_len);
	expect_stored_addr(0, &ADDR[0]);
	cr_assert_eq(INST.n, 1);
}

/* A device that moved announces itself with a fresh authenticated frame and
 * without registering again: a NEG_REQ naming itself, which G refuses with an
 * authenticated NEG_RESULT (BAD_FIELD) after accepting its counter. */
Test(cp, moved_device_announces_itself_with_a_fresh_a1)
{
	const struct dp_addr moved = mkaddr(9, 4009);

	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	cr_assert_eq(sga_dev_create_neg_req(&H.dev[1], &H.sess[1], H.dev[1].id, H.dev[1].id_len,
	                                    ALL, 4, F, sizeof(F), &FL),
	             0);
	cr_assert_eq(step_from(&moved), 0);
	cr_assert_eq(CAP.n, 1);
	cr_assert(addr_eq(&CAP.m[0].dst, &moved));
	cr_assert_eq(
	    sga_dev_consume_neg_result(&H.dev[1], &H.sess[1], CAP.m[0].frame, CAP.m[0].len),
	    -SGA_E_BAD_FIELD, "the gateway's authenticated answer to an announcement");
	expect_stored_addr(1, &moved);
	sga_dev_sess_wipe(&H.sess[1]);

	cr_assert_eq(send_a1(ALL, 4), 0);
	cr_assert_eq(CAP.n, 1);
	cr_assert(addr_eq(&CAP.m[0].dst, &moved), "A2 goes to where d_j announced itself");
	cr_assert_eq(
	    sga_dev_consume_neg_invite(&H.dev[1], &H.sess[1], CAP.m[0].frame, CAP.m[0].len), 0);
}

/* WAKE (PROTOCOL.md 7.16): a fresh one moves the device address and is
 * answered there with an authenticated WAKE_ACK; the same WAKE replayed from
 * the old address, or a forged one, moves nothing back. */
static struct {
	unsigned n;
	struct dp_addr addr;
	uint8_t flags;
} WAKE_SEEN;

static int cap_wake(void *ctx, const uint8_t *id, uint8_t id_len, const struct dp_addr *addr,
                    uint8_t flags)
{
	(void)ctx;
	(void)id;
	(void)id_len;
	WAKE_SEEN.n++;
	WAKE_SEEN.addr = *addr;
	WAKE_SEEN.flags = flags;
	return 1; /* one session with stored messages */
}

Test(cp, wake_moves_the_address_and_a_replay_does_not_move_it_back)
{
	const struct dp_addr moved = mkaddr(9, 4009);
	struct sga_wake_ack_plain ack;
	uint8_t wake[SGA_FRAME_MAX];
	size_t wake_len;

	memset(&WAKE_SEEN, 0, sizeof(WAKE_SEEN));
	HD.wake.fn = cap_wake;
	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	cr_assert_eq(sga_dev_create_wake(&H.dev[1], SGA_WAKE_FLAGS_ALL, F, sizeof(F), &FL), 0);
	memcpy(wake, F, FL);
	wake_len = FL;

	/* Forged (a flipped tag byte) from the new address: silence, nothing moves. */
	F[FL - 1] ^= 1;
	cr_assert_eq(step_from(&moved), -SGA_E_AUTH);
	cr_assert_eq(CAP.n, 0);
	cr_assert_eq(WAKE_SEEN.n, 0);
	expect_stored_addr(1, &ADDR[1]);

	/* The real one from the new address: the address moves, the data plane is
	 * told, and the answer goes there. */
	memcpy(F, wake, wake_len);
	FL = wake_len;
	cr_assert_eq(step_from(&moved), 0);
	expect_stored_addr(1, &moved);
	cr_assert_eq(WAKE_SEEN.n, 1);
	cr_assert(addr_eq(&WAKE_SEEN.addr, &moved) && WAKE_SEEN.flags == SGA_WAKE_FLAGS_ALL);
	cr_assert_eq(CAP.n, 1);
	cr_assert(addr_eq(&CAP.m[0].dst, &moved));
	cr_assert_eq(CAP.m[0].frame[1], SGA_MSG_WAKE_ACK);
	cr_assert_leq(CAP.m[0].len, wake_len, "no amplification");
	cr_assert_eq(sga_dev_consume_wake_ack(&H.dev[1], CAP.m[0].frame, CAP.m[0].len, &ack), 0);
	cr_assert_eq(ack.stored, 1);

	/* Replayed from the old address: at most a REPLAY hint there, no move back. */
	cr_assert_eq(step_from(&ADDR[1]), -SGA_E_REPLAY);
	expect_stored_addr(1, &moved);
	cr_assert_eq(WAKE_SEEN.n, 1);
	cr_assert_eq(count_type(SGA_MSG_WAKE_ACK), 0);
	for (unsigned i = 0; i < CAP.n; i++)
		cr_assert_leq(CAP.m[i].len, wake_len);

	/* So d_i's invitation goes to where d_j woke up. */
	cr_assert_eq(send_a1(ALL, 4), 0);
	cr_assert_eq(CAP.n, 1);
	cr_assert(addr_eq(&CAP.m[0].dst, &moved));
	cr_assert_eq(
	    sga_dev_consume_neg_invite(&H.dev[1], &H.sess[1], CAP.m[0].frame, CAP.m[0].len), 0);
	HD.wake.fn = NULL;
}

/* WAKE step 4: d_j was away when d_i's A2 left. Its WAKE with WANT_INVITES
 * brings the same invitation again, to where it woke, under a new down
 * counter: d_j takes it as a new A2 and the handshake goes on from there.
 * Once answered, a later WAKE re-sends nothing; a replayed WAKE re-sends
 * nothing either. */
Test(cp, wake_resends_a_pending_invitation_which_the_device_accepts)
{
	const struct dp_addr moved = mkaddr(9, 4009);
	struct sga_wake_ack_plain ack;
	uint8_t wake[SGA_FRAME_MAX];
	size_t wake_len;
	int inv = -1, wack = -1;

	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	cr_assert_eq(send_a1(ALL, 4), 0);
	cr_assert_eq(CAP.n, 1);
	cr_assert(addr_eq(&CAP.m[0].dst, &ADDR[1]), "the first A2 is lost at the old address");

	cr_assert_eq(sga_dev_create_wake(&H.dev[1], SGA_WAKE_WANT_INVITES, F, sizeof(F), &FL), 0);
	memcpy(wake, F, FL);
	wake_len = FL;
	cr_assert_eq(step_from(&moved), 0);
	cr_assert_eq(CAP.n, 2);
	for (unsigned i = 0; i < CAP.n; i++) {
		cr_assert(addr_eq(&CAP.m[i].dst, &moved));
		if (CAP.m[i].frame[1] == SGA_MSG_NEG_INVITE)
			inv = (int)i;
		if (CAP.m[i].frame[1] == SGA_MSG_WAKE_ACK)
			wack = (int)i;
	}
	cr_assert(inv >= 0 && wack > inv, "the invitation, then the WAKE_ACK");
	cr_assert_eq(sga_dev_consume_wake_ack(&H.dev[1], CAP.m[wack].frame, CAP.m[wack].len, &ack),
	             0);
	cr_assert_eq(ack.invitations, 1);
	cr_assert_eq(ack.stored, 0);
	cr_assert_eq(
	    sga_dev_consume_neg_invite(&H.dev[1], &H.sess[1], CAP.m[inv].frame, CAP.m[inv].len), 0);

	/* The same WAKE again (replayed): no invitation, no WAKE_ACK. */
	memcpy(F, wake, wake_len);
	FL = wake_len;
	cr_assert_eq(step_from(ATTACKER()), -SGA_E_REPLAY);
	cr_assert_eq(count_type(SGA_MSG_NEG_INVITE), 0);
	cr_assert_eq(count_type(SGA_MSG_WAKE_ACK), 0);

	/* d_j accepts the re-sent invitation: A4 to d_i. */
	cr_assert_eq(sga_dev_create_neg_accept(&H.dev[1], &H.sess[1], 1, F, sizeof(F), &FL), 0);
	cr_assert_eq(step_from(&moved), 0);
	cr_assert_eq(CAP.n, 1);
	cr_assert_eq(
	    sga_dev_consume_neg_result(&H.dev[0], &H.sess[0], CAP.m[0].frame, CAP.m[0].len), 0);

	/* Answered: the next WAKE re-sends nothing. */
	cr_assert_eq(sga_dev_create_wake(&H.dev[1], SGA_WAKE_FLAGS_ALL, F, sizeof(F), &FL), 0);
	cr_assert_eq(step_from(&moved), 0);
	cr_assert_eq(CAP.n, 1);
	cr_assert_eq(CAP.m[0].frame[1], SGA_MSG_WAKE_ACK);
	cr_assert_eq(sga_dev_consume_wake_ack(&H.dev[1], CAP.m[0].frame, CAP.m[0].len, &ack), 0);
	cr_assert_eq(ack.invitations, 0);
}

/* ---- hints only for authenticated frames (PROTOCOL.md 13) ------------------------------------ */

/* d_i's A1 with counter ctr (the device's counter is left as it was). */
static void a1_with_counter(uint64_t ctr, int break_tag)
{
	struct sga_dev d = H.dev[0];
	struct sga_dev_sess s;

	memset(&s, 0, sizeof(s));
	d.up_ctr = ctr - 1;
	cr_assert_eq(
	    sga_dev_create_neg_req(&d, &s, H.dev[1].id, H.dev[1].id_len, ALL, 4, F, sizeof(F), &FL),
	    0);
	if (break_tag)
		F[FL - 1] ^= 0x01;
	sga_dev_sess_wipe(&s);
	sga_memzero(&d, sizeof(d));
}

Test(cp, unauthenticated_frames_get_no_hint)
{
	static const uint64_t probe[] = {1, 2, 3, 4, 5, 6, 7, 8, 16, 1u << 20, UINT64_MAX - 1};
	struct sga_dev other;
	uint64_t handled;

	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(send_a1(ALL, 4), 0); /* G's up counter for d_i: 5 */
		sga_dev_sess_wipe(&H.sess[0]);
	}

	/* bad tag, any counter: the same silence, so no counter can be searched for */
	for (unsigned k = 0; k < sizeof(probe) / sizeof(probe[0]); k++) {
		a1_with_counter(probe[k], 1);
		cr_assert_eq(step_from(ATTACKER()), -SGA_E_AUTH, "counter %llu",
		             (unsigned long long)probe[k]);
		cr_assert_eq(CAP.n, 0, "a hint for a forged A1 with counter %llu",
		             (unsigned long long)probe[k]);
	}

	/* an unknown identity */
	cr_assert_eq(sga_dev_init(&other, &H.gw.prof[0].pkg, (const uint8_t *)"dev-x", 5,
	                          SGA_SUITE_AES128_GCM, ALL, 4),
	             0);
	other.registered = 1;
	cr_assert_eq(sga_dev_create_neg_req(&other, &H.sess[0], H.dev[1].id, H.dev[1].id_len, ALL,
	                                    4, F, sizeof(F), &FL),
	             0);
	cr_assert_eq(step_from(ATTACKER()), -SGA_E_UNKNOWN_DEVICE);
	cr_assert_eq(CAP.n, 0, "whether dev-x exists is nobody's business");
	sga_dev_sess_wipe(&H.sess[0]);
	/* ...asking for a rekey of it */
	cr_assert_eq(sga_dev_create_reg_req(&other, NULL, 0, 1, F, sizeof(F), &FL), 0);
	cr_assert_eq(step_from(ATTACKER()), -SGA_E_UNKNOWN_DEVICE);
	cr_assert_eq(CAP.n, 0);
	sga_dev_fini(&other);

	/* an existing identity under another key: a registration, and a rekey */
	cr_assert_eq(sga_dev_init(&other, &H.gw.prof[0].pkg, (const uint8_t *)"dev-j", 5,
	                          SGA_SUITE_AES128_GCM, ALL, 4),
	             0);
	cr_assert_eq(sga_dev_create_reg_req(&other, NULL, 0, 0, F, sizeof(F), &FL), 0);
	cr_assert_eq(step_from(ATTACKER()), -SGA_E_EXISTS);
	cr_assert_eq(CAP.n, 0, "that dev-j exists is nobody's business");
	other.registered = 1;
	cr_assert_eq(sga_dev_create_reg_req(&other, NULL, 0, 1, F, sizeof(F), &FL), 0);
	cr_assert_eq(step_from(ATTACKER()), -SGA_E_AUTH);
	cr_assert_eq(CAP.n, 0);
	sga_dev_fini(&other);

	/* a KEX_INIT for a session id nobody holds, and one with a bad tag */
	do_negotiate();
	{
		struct sga_dev_sess fake = H.sess[0];

		fake.session_id = 0x0102030405060708ull;
		fake.state = SGA_DEV_S_KEX;
		cr_assert_eq(sga_dev_create_kex_init(&H.dev[0], &fake, F, sizeof(F), &FL), 0);
		sga_dev_sess_wipe(&fake);
	}
	cr_assert_eq(step_from(ATTACKER()), -SGA_E_UNKNOWN_SESSION);
	cr_assert_eq(CAP.n, 0, "whether a session id is in use is nobody's business");
	cr_assert_eq(sga_dev_create_kex_init(&H.dev[0], &H.sess[0], F, sizeof(F), &FL), 0);
	F[FL - 1] ^= 0x01;
	cr_assert_eq(step_from(ATTACKER()), -SGA_E_AUTH);
	cr_assert_eq(CAP.n, 0);

	handled = CTR.handled;
	cr_assert_eq(CTR.rejected, sizeof(probe) / sizeof(probe[0]) + 6);
	cr_assert_eq(handled, 2 + 5 + 2 + sizeof(probe) / sizeof(probe[0]) + 6);
}

/* What an honest device still hears, each for a frame that authenticated. */
Test(cp, authentic_frames_still_get_the_hints_they_need)
{
	uint8_t sidref[8];

	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(send_a1(ALL, 4), 0);
		sga_dev_sess_wipe(&H.sess[0]);
	}

	/* d_i's counter fell behind G's (an old state file): its genuine A1 is a
	 * REPLAY, and the hint tells it so */
	a1_with_counter(3, 0);
	cr_assert_eq(step(0), -SGA_E_REPLAY);
	expect_error(0, SGA_E_REPLAY, "dev-i", 5);

	/* an authentic A3 for an invitation G no longer holds: UNKNOWN_SESSION */
	cr_assert_eq(send_a1(ALL, 4), 0);
	cr_assert_eq(
	    sga_dev_consume_neg_invite(&H.dev[1], &H.sess[1], CAP.m[0].frame, CAP.m[0].len), 0);
	cr_assert_eq(store_session_del(ST, H.sess[1].session_id), 0);
	cr_assert_eq(sga_dev_create_neg_accept(&H.dev[1], &H.sess[1], 1, F, sizeof(F), &FL), 0);
	cr_assert_eq(step(1), -SGA_E_UNKNOWN_SESSION);
	sga_put_u64(sidref, H.sess[1].session_id);
	expect_error(1, SGA_E_UNKNOWN_SESSION, sidref, 8);
	sga_dev_sess_wipe(&H.sess[1]);

	/* an accepted A3 sent again (its answer was lost): its counter is spent */
	do_negotiate();
	cr_assert_eq(F[1], SGA_MSG_NEG_ACCEPT, "F still holds the A3 do_negotiate sent");
	cr_assert_eq(step(1), -SGA_E_REPLAY);
	expect_error(1, SGA_E_REPLAY, "dev-j", 5);
}

/* ---- two workers, one frame ------------------------------------------------------------------ */

struct racer {
	struct store *st;
	const uint8_t *frame;
	size_t len;
	pthread_barrier_t *go;
	int rc;
};

static void *race(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->go);
	r->rc = cp_handle_frame(&HD, r->st, r->frame, r->len, &ADDR[0], 0);
	return NULL;
}

Test(cp, concurrent_replays_of_one_a1_invite_once)
{
	struct racer rs[2];
	pthread_barrier_t go;
	pthread_t th[2];

	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	rs[0].st = ST;
	rs[1].st = open_store();
	for (int round = 0; round < 10; round++) {
		unsigned invites = 0;

		cr_assert_eq(sga_dev_create_neg_req(&H.dev[0], &H.sess[0], H.dev[1].id,
		                                    H.dev[1].id_len, ALL, 4, F, sizeof(F), &FL),
		             0);
		CAP.n = 0;
		pthread_barrier_init(&go, NULL, 2);
		for (int i = 0; i < 2; i++) {
			rs[i].frame = F;
			rs[i].len = FL;
			rs[i].go = &go;
			cr_assert_eq(pthread_create(&th[i], NULL, race, &rs[i]), 0);
		}
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&go);
		cr_assert(rs[0].rc == 0 || rs[1].rc == 0, "one worker accepts");
		cr_assert(rs[0].rc == -SGA_E_REPLAY || rs[1].rc == -SGA_E_REPLAY,
		          "the other sees a replay");
		for (unsigned i = 0; i < CAP.n; i++)
			invites += CAP.m[i].frame[1] == SGA_MSG_NEG_INVITE;
		cr_assert_eq(invites, 1, "round %d: exactly one invitation", round);
	}
	store_close(rs[1].st);
}

/*
 * Two workers seal to one device at once: one the NEG_INVITE of a new A1 to
 * d_j, the other the invitations d_j's WAKE asks for again. Each worker read
 * d_j's record, and each sealed under the down counter after the one it read;
 * when both read the same value, d_j got two NEG_INVITEs under one counter
 * and dropped the second as a replay (its initiator had to time out and try
 * again). Each now takes its counter from Redis before it seals
 * (store_device_claim_down_ctr): every invitation of every round carries a
 * counter of its own.
 */
Test(cp, concurrent_invitations_to_one_device_take_distinct_counters)
{
	struct racer rs[2];
	pthread_barrier_t go;
	pthread_t th[2];
	uint8_t a1[SGA_FRAME_MAX], wake[SGA_FRAME_MAX];
	uint64_t seen[256]; /* each round: its A1's and up to 8 re-sent */
	unsigned n_seen = 0;

	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	cr_assert_eq(send_a1(ALL, 4), 0); /* one invitation pending from the start */
	rs[0].st = ST;
	rs[1].st = open_store();
	for (int round = 0; round < 12; round++) {
		struct sga_dev_sess s;

		memset(&s, 0, sizeof(s));
		cr_assert_eq(sga_dev_create_neg_req(&H.dev[0], &s, H.dev[1].id, H.dev[1].id_len,
		                                    ALL, 4, a1, sizeof(a1), &rs[0].len),
		             0);
		sga_dev_sess_wipe(&s);
		cr_assert_eq(sga_dev_create_wake(&H.dev[1], SGA_WAKE_WANT_INVITES, wake,
		                                 sizeof(wake), &rs[1].len),
		             0);
		rs[0].frame = a1;
		rs[1].frame = wake;
		CAP.n = 0;
		pthread_barrier_init(&go, NULL, 2);
		for (int i = 0; i < 2; i++) {
			rs[i].go = &go;
			cr_assert_eq(pthread_create(&th[i], NULL, race, &rs[i]), 0);
		}
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&go);
		cr_assert_eq(rs[0].rc, 0, "round %d: A1: %s", round, sga_err_name(rs[0].rc));
		cr_assert_eq(rs[1].rc, 0, "round %d: WAKE: %s", round, sga_err_name(rs[1].rc));
		for (unsigned i = 0; i < CAP.n; i++) {
			struct sga_env_dev env;

			if (CAP.m[i].frame[1] != SGA_MSG_NEG_INVITE)
				continue;
			cr_assert_eq(sga_env_dev_decode(CAP.m[i].frame, CAP.m[i].len, &env), 0);
			for (unsigned k = 0; k < n_seen; k++)
				cr_assert_neq(seen[k], env.ctr,
				              "round %d: two NEG_INVITEs under down counter %llu",
				              round, (unsigned long long)env.ctr);
			cr_assert_lt(n_seen, sizeof(seen) / sizeof(seen[0]));
			seen[n_seen++] = env.ctr;
		}
	}
	cr_assert_geq(n_seen, 12 * 2, "each round: a new invitation and at least one re-sent");
	store_close(rs[1].st);
}

/*
 * A REG_REQ and its retransmissions reach several workers at once (the SDK
 * re-sends the very bytes; before the data plane routed REG_REQ by frame,
 * round robin put them on different workers). Each worker decrypts, finds no
 * record and tries to create it; all but one lose that race. The losers must
 * answer like a retransmission of the accepted request - REG_ACK again - not
 * EXISTS, which made the SDK give up an honest registration.
 */
#define REG_RACERS 4

Test(cp, concurrent_duplicate_registrations_all_acknowledged)
{
	struct racer rs[REG_RACERS];
	pthread_barrier_t go;
	pthread_t th[REG_RACERS];

	for (int i = 0; i < REG_RACERS; i++)
		rs[i].st = i ? open_store() : ST;
	for (int round = 0; round < 12; round++) {
		unsigned acks = 0, errors = 0;

		freeReplyObject(redis_fx_cmd("FLUSHDB"));
		cr_assert_eq(sga_dev_create_reg_req(&H.dev[0], NULL, 0, 0, F, sizeof(F), &FL), 0);
		CAP.n = 0;
		pthread_barrier_init(&go, NULL, REG_RACERS);
		for (int i = 0; i < REG_RACERS; i++) {
			rs[i].frame = F;
			rs[i].len = FL;
			rs[i].go = &go;
			cr_assert_eq(pthread_create(&th[i], NULL, race, &rs[i]), 0);
		}
		for (int i = 0; i < REG_RACERS; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&go);
		for (int i = 0; i < REG_RACERS; i++)
			cr_assert_eq(rs[i].rc, 0, "round %d: worker %d refused a duplicate: %s",
			             round, i, sga_err_name(rs[i].rc));
		for (unsigned i = 0; i < CAP.n; i++) {
			acks += CAP.m[i].frame[1] == SGA_MSG_REG_ACK;
			errors += CAP.m[i].frame[1] == SGA_MSG_ERROR;
		}
		cr_assert_eq(errors, 0, "round %d: no EXISTS hint", round);
		cr_assert_eq(acks, REG_RACERS, "round %d: a REG_ACK for every copy", round);
		/* and the device takes them (its first registration: later rounds
		 * start a fresh record under the same identity, which its down
		 * counter, already moved, would see as replays) */
		if (round == 0)
			cr_assert_eq(
			    sga_dev_consume_reg_ack(&H.dev[0], CAP.m[0].frame, CAP.m[0].len), 0);
	}
	for (int i = 1; i < REG_RACERS; i++)
		store_close(rs[i].st);
}

/* ---- data plane refuses, restart restores ---------------------------------------------------- */

Test(cp, install_failure_sends_no_reply)
{
	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	do_negotiate();
	INST.fail = 1;
	cr_assert_eq(sga_dev_create_kex_init(&H.dev[0], &H.sess[0], F, sizeof(F), &FL), 0);
	cr_assert_eq(step(0), 0);
	cr_assert_eq(sga_dev_create_kex_init(&H.dev[1], &H.sess[1], F, sizeof(F), &FL), 0);
	cr_assert_eq(step(1), -SGA_E_INTERNAL);
	cr_assert_eq(CAP.n, 0, "no KEX_REPLY for a session the data plane does not have");
	{
		struct sga_gw_session s;

		cr_assert_eq(store_session_get(ST, H.sess[0].session_id, &s),
		             -SGA_E_UNKNOWN_SESSION);
	}
}

Test(cp, restart_restores_established_sessions)
{
	struct inst again;
	struct cp_handler h2 = HD;
	struct store *st2;
	struct dp_addr moved[2];
	uint64_t marks[2] = {7, 3}, sid;

	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	do_negotiate();
	do_kex();
	sid = H.sess[0].session_id;
	relay(&INST.s, 0, "before the restart");
	/* what housekeeping persists: replay marks and roamed addresses */
	moved[0] = mkaddr(11, 5001);
	moved[1] = mkaddr(12, 5002);
	cr_assert_eq(store_session_set_marks(ST, sid, marks, moved), 0);
	/* a stale index entry (its record is gone) */
	freeReplyObject(redis_fx_cmd("SADD sga:sessions %s", "00000000000000aa"));

	/* the "new process": its own store and handler */
	memset(&again, 0, sizeof(again));
	h2.install.ctx = &again;
	st2 = open_store();
	cr_assert_eq(cp_core_restore(&h2, st2), 1);
	cr_assert_eq(again.n, 1);
	cr_assert_eq(again.s.session_id, sid);
	cr_assert_eq(again.s.state, SGA_GW_S_ESTABLISHED);
	for (int r = 0; r < 2; r++) {
		cr_assert_eq(again.rx_next[r], marks[r]);
		cr_assert(addr_eq(&again.addr[r], &moved[r]));
		cr_assert(again.tx_seq[r] >= INST.tx_limit[r],
		          "above every sequence number used before");
		cr_assert_eq(again.tx_limit[r] - again.tx_seq[r], BLOCK);
	}
	cr_assert_eq(raw_int("SISMEMBER sga:sessions %s", "00000000000000aa"), 0,
	             "stale entry removed");

	/* the restored record relays, with TX sequences from the new range (as the
	 * data plane would use them), both ways */
	for (int r = 0; r < 2; r++)
		again.s.hop[r].tx_seq = again.tx_seq[r];
	relay(&again.s, 0, "after the restart");
	relay(&again.s, 1, "both ways");
	store_close(st2);

	/* Redis down: restore reports it */
	redis_fx_kill();
	st2 = open_store();
	cr_assert_eq(cp_core_restore(&h2, st2), -SGA_E_UNAVAILABLE);
	store_close(st2);
}

/* Both devices' confirmations of their new generation through s. */
static void rekey_confirm_through(struct sga_gw_session *s)
{
	uint8_t out[2][SGA_FRAME_MAX], got[SGA_FRAME_MAX], to_role = 9;
	size_t out_len[2], n;

	for (int k = 0; k < 2; k++) {
		cr_assert_eq(sga_dev_create_rekey_confirm(&H.sess[k], F, sizeof(F), &FL), 0);
		cr_assert_eq(
		    sga_gw_data_relay(s, F, FL, out[k], sizeof(out[k]), &out_len[k], &to_role), 0);
	}
	for (int k = 0; k < 2; k++)
		cr_assert_eq(
		    sga_dev_data_open(&H.sess[k ^ 1], out[k], out_len[k], got, sizeof(got), &n),
		    SGA_DEV_REKEY_CONFIRMED);
}

/*
 * PROTOCOL.md 7.15 through the control plane and Redis: d_i's REKEY_INIT draws
 * a notice to d_j's stored address; a restart then restores the session under
 * its current keys with the half-done rekey in its record; d_j's REKEY_INIT
 * completes it (the new generation stored, installed with the old k_t for the
 * overlap, both replies sent); a repeat gets the cached reply at its source
 * and changes nothing; a restart afterwards restores generation 1.
 */
Test(cp, rekey_stored_installed_and_restored)
{
	struct inst again;
	struct cp_handler h2 = HD;
	struct store *st2;
	struct sga_gw_session rec;
	uint8_t b[SGA_FRAME_MAX];
	size_t bn;
	uint32_t gen;
	uint64_t sid;

	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	do_negotiate();
	do_kex();
	sid = H.sess[0].session_id;
	relay(&INST.s, 0, "generation 0");

	cr_assert_eq(sga_dev_create_rekey_init(&H.dev[0], &H.sess[0], F, sizeof(F), &FL), 0);
	cr_assert_eq(step(0), 0);
	cr_assert_eq(CAP.n, 1, "a REKEY_NOTICE for the peer");
	cr_assert(addr_eq(&CAP.m[0].dst, &ADDR[1]));
	cr_assert_eq(CAP.m[0].frame[1], SGA_MSG_REKEY_NOTICE);
	cr_assert_eq(
	    sga_dev_consume_rekey_notice(&H.dev[1], &H.sess[1], CAP.m[0].frame, CAP.m[0].len, &gen),
	    0);
	cr_assert_eq(gen, 1);
	cr_assert_eq(INST.n, 1, "nothing installed before the rekey completes");

	/* A restart with the rekey half done. */
	memset(&again, 0, sizeof(again));
	h2.install.ctx = &again;
	st2 = open_store();
	cr_assert_eq(cp_core_restore(&h2, st2), 1);
	cr_assert_eq(again.s.rk.gen, 0);
	cr_assert_eq(again.s.rk.have, 1, "d_i's contribution survived");
	store_close(st2);

	cr_assert_eq(sga_dev_create_rekey_init(&H.dev[1], &H.sess[1], b, sizeof(b), &bn), 0);
	memcpy(F, b, bn);
	FL = bn;
	cr_assert_eq(step(1), 0);
	cr_assert_eq(CAP.n, 2, "both REKEY_REPLYs");
	cr_assert_eq(INST.n, 2, "the new generation installed before they left");
	cr_assert_eq(INST.s.rk.gen, 1);
	cr_assert_eq(INST.s.rk.prev_live, 3, "the old up keys for the overlap");
	cr_assert_eq(CTR.rekeys, 1);
	for (unsigned i = 0; i < 2; i++) {
		int k = addr_eq(&CAP.m[i].dst, &ADDR[0]) ? 0 : 1;

		cr_assert_eq(sga_dev_consume_rekey_reply(&H.dev[k], &H.sess[k], CAP.m[i].frame,
		                                         CAP.m[i].len),
		             0);
		cr_assert_eq(H.sess[k].hop_epoch, INST.s.hop[k].epoch,
		             "the reply named the installed epoch");
	}
	rekey_confirm_through(&INST.s);
	relay(&INST.s, 0, "generation 1");
	relay(&INST.s, 1, "both ways");

	/* d_j repeats its request: the cached reply, at its source; nothing moves. */
	cr_assert_eq(store_session_get(ST, sid, &rec), 0);
	memcpy(F, b, bn);
	FL = bn;
	cr_assert_eq(step(1), 0);
	cr_assert_eq(CAP.n, 1);
	cr_assert_eq(CAP.m[0].frame[1], SGA_MSG_REKEY_REPLY);
	cr_assert_eq(INST.n, 2);
	cr_assert_eq(CTR.rekeys, 1);

	/* A restart afterwards: generation 1 is what comes back. */
	memset(&again, 0, sizeof(again));
	st2 = open_store();
	cr_assert_eq(cp_core_restore(&h2, st2), 1);
	cr_assert_eq(again.s.rk.gen, 1);
	cr_assert_eq(again.s.rk.prev_live, 0);
	for (int r = 0; r < 2; r++)
		again.s.hop[r].tx_seq = again.tx_seq[r];
	relay(&again.s, 0, "generation 1 after the restart");
	store_close(st2);
}

/* ---- the threads of cp.c, over a stub data plane --------------------------------------------- */

/* ---- the handler as ASYNC jobs ----------------------------------------------------- */

/*
 * The shape of an asynchronous accelerator (a QAT engine, the cryptodev modexp
 * service): every RSA decryption and modexp pauses the calling job twice
 * before it completes (here: in software).
 */
static _Atomic int paused_ops;

static void accel_pause(void)
{
	if (ASYNC_get_current_job()) {
		paused_ops++;
		ASYNC_pause_job();
		ASYNC_pause_job();
	}
}

static int pausing_decrypt(const struct sga_rsa_key *key, const uint8_t *ct, size_t ct_len,
                           uint8_t *pt, size_t pt_cap, size_t *pt_len)
{
	accel_pause();
	return sga_soft_rsa_oaep_decrypt(key, ct, ct_len, pt, pt_cap, pt_len);
}

static int pausing_modexp(const struct sga_group_info *grp, const uint8_t *base, const uint8_t *exp,
                          size_t exp_len, uint8_t *out)
{
	accel_pause();
	return sga_soft_modexp(grp, base, exp, exp_len, out);
}

static const struct sga_crypto_backend PAUSING = {
    .name = "pausing", .rsa_oaep_decrypt = pausing_decrypt, .modexp = pausing_modexp};

#define JOB_STACK (256u << 10) /* as cp.c */

/* 1 if the profile under test offloads its group operations (ffdhe's modexp
 * and RSA go through the crypto backend; x25519 is software everywhere). */
static int offloads_group_ops(void)
{
	return !sga_pke_is_hpke(harness_group(SGA_GROUP_FFDHE2048));
}

/*
 * The whole handshake with every frame's handler run as a job that pauses in
 * its crypto, on the jobs' own stacks. While d_i's KEX_INIT is paused (in the
 * F_G inversion, after loading its records from Redis), another frame is
 * handled on the same Redis connection: nothing is torn. The stack the
 * handler needs is measured: about all of OpenSSL 3.0's own 32 KiB job stack
 * (hiredis alone puts 16 KiB on it), which is why cp.c's jobs get their own.
 */
Test(cp, handshake_as_async_jobs_pausing_in_crypto)
{
	uint8_t f1[SGA_FRAME_MAX];
	struct step_job b1 = {.frame = f1, .k = 0};
	size_t peak;
	int s;

	/* The pauses are those of the offloaded operations (RSA, modexp); the
	 * x25519 profile computes in software and never pauses. */
	if (!offloads_group_ops())
		cr_skip_test("the %s profile has no offloaded operation to pause in",
		             sga_group_get(harness_group(SGA_GROUP_FFDHE2048))->name);
	JOBS = sga_async_create_stack(4, JOB_STACK);
	cr_assert_not_null(JOBS);
	sga_crypto_backend_set(&PAUSING);
	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	cr_assert_eq(paused_ops, 2, "each registration paused in its RSA decryption");
	do_negotiate();

	/* B1 as a job that pauses mid-handler ... */
	cr_assert_eq(sga_dev_create_kex_init(&H.dev[0], &H.sess[0], f1, sizeof(f1), &b1.len), 0);
	CAP.n = 0;
	s = sga_async_submit(JOBS, step_fn, &b1, step_done);
	cr_assert_eq(s, 1, "B1 paused in the accelerator");
	/* ... a package request runs meanwhile, on the same store ... */
	cr_assert_eq(sga_pkg_req_encode(0, F, sizeof(F), &FL), 0);
	cr_assert_eq(step(0), 0);
	cr_assert_eq(CAP.n, 1);
	cr_assert_eq(CAP.m[0].len, H.gw.prof[0].pkg_frame_len);
	/* ... and B1 finishes */
	CAP.n = 0;
	while (!b1.done)
		sga_async_poll(JOBS);
	cr_assert_eq(b1.rc, 0, "%s", sga_err_name(b1.rc));
	cr_assert_eq(CAP.n, 0, "B1 alone: nothing to send yet");

	/* B3 completes the exchange */
	cr_assert_eq(sga_dev_create_kex_init(&H.dev[1], &H.sess[1], F, sizeof(F), &FL), 0);
	cr_assert_eq(step(1), 0);
	cr_assert_eq(CAP.n, 2);
	for (unsigned i = 0; i < 2; i++) {
		int k = addr_eq(&CAP.m[i].dst, &ADDR[0]) ? 0 : 1;

		cr_assert_eq(
		    sga_dev_consume_kex_reply(&H.dev[k], &H.sess[k], CAP.m[i].frame, CAP.m[i].len),
		    0);
	}
	cr_assert_eq(INST.n, 1);
	relay(&INST.s, 0, "from a handshake run as jobs");
	relay(&INST.s, 1, "and back");
	/* 2 registrations + 2 F_G inversions + 4 modexps */
	cr_assert_eq(paused_ops, 8);

	peak = sga_async_stack_peak(JOBS);
	cr_log_info("control-frame handler: %zu bytes of job stack at most", peak);
	/* Since the session's end is written from heap buffers (store_session_establish)
	 * the peak lies just under 32 KiB: still no margin on OpenSSL's own stack. */
	cr_assert_gt(peak, 28u << 10, "peak %zu: (nearly) all of OpenSSL's 32 KiB job stack", peak);
	cr_assert_lt(peak, JOB_STACK / 2, "peak %zu: well inside cp.c's job stack", peak);
	sga_crypto_backend_set(NULL);
	sga_async_destroy(JOBS);
	JOBS = NULL;
}

#ifdef SGA_CP_THREADS
#include "cp.h"

/*
 * Stand-ins for the dp.h functions cp.c calls, so the worker and housekeeping
 * threads run here without EAL: control frames, reservation requests and
 * session views the test feeds, installs and extensions it records. The data
 * plane's own objects are never linked in.
 *
 * Control frames queued for worker 0 are handed out as NULL mbufs
 * (rte_pktmbuf_free(NULL) does nothing). cp.c asks for each dequeued mbuf's
 * payload at once, in dequeue order, so the k-th payload asked for is the
 * k-th frame handed out.
 */
struct dp_frame {
	uint8_t b[SGA_FRAME_MAX];
	size_t len;
	struct dp_addr src;
};

static struct {
	pthread_mutex_t mu;
	unsigned polls[4];
	struct dp_frame frames[4];
	unsigned n_frames, handed, payloads;
	struct dp_resv_req resv[8];
	unsigned n_resv;
	struct dp_session_view views[300]; /* more than two pipelines of marks */
	unsigned n_views;
	unsigned installs;
	uint64_t inst_sid, inst_tx_seq[2], inst_tx_limit[2], inst_rx_next[2];
	unsigned extends;
	uint64_t ext_sid, ext_limit;
	uint8_t ext_role;
	unsigned disowns; /* dp_session_disown calls */
	uint64_t disown_sid;
} DP = {.mu = PTHREAD_MUTEX_INITIALIZER};

unsigned dp_ctrl_dequeue(struct dp *dp, unsigned w, struct rte_mbuf **pkts, unsigned n)
{
	unsigned k = 0;

	(void)dp;
	pthread_mutex_lock(&DP.mu);
	if (w < 4)
		DP.polls[w]++;
	if (w == 0)
		for (; k < n && DP.handed < DP.n_frames; k++, DP.handed++)
			pkts[k] = NULL;
	pthread_mutex_unlock(&DP.mu);
	return k;
}

int dp_ctrl_payload(const struct rte_mbuf *m, const uint8_t **frame, size_t *len,
                    struct dp_addr *src)
{
	int rc = -EINVAL;

	(void)m;
	pthread_mutex_lock(&DP.mu);
	if (DP.payloads < DP.handed) {
		*frame = DP.frames[DP.payloads].b;
		*len = DP.frames[DP.payloads].len;
		*src = DP.frames[DP.payloads].src;
		DP.payloads++;
		rc = 0;
	}
	pthread_mutex_unlock(&DP.mu);
	return rc;
}

/* Queue F (FL bytes) from device k for worker 0. */
static void dp_queue_frame(int k)
{
	pthread_mutex_lock(&DP.mu);
	cr_assert_lt(DP.n_frames, 4);
	memcpy(DP.frames[DP.n_frames].b, F, FL);
	DP.frames[DP.n_frames].len = FL;
	DP.frames[DP.n_frames].src = ADDR[k];
	DP.n_frames++;
	pthread_mutex_unlock(&DP.mu);
}

int dp_ctrl_send(struct dp *dp, const struct dp_addr *dst, const uint8_t *frame, size_t len)
{
	(void)dp;
	return cap_send(NULL, dst, frame, len);
}

/* Load control: never under load here, nothing to hand on (one worker gets
 * every frame). */
unsigned dp_ctrl_backlog(struct dp *dp, unsigned w)
{
	(void)dp;
	(void)w;
	return 0;
}

int dp_ctrl_forward(struct dp *dp, unsigned w, struct rte_mbuf *m)
{
	(void)dp;
	(void)w;
	(void)m;
	return -ENOBUFS;
}

void dp_ctrl_set_spread(struct dp *dp, int on)
{
	(void)dp;
	(void)on;
}

int dp_session_install(struct dp *dp, const struct sga_gw_session *s, const struct dp_addr addr[2],
                       const uint64_t tx_seq[2], const uint64_t tx_limit[2],
                       const uint64_t rx_next[2])
{
	(void)dp;
	(void)addr;
	pthread_mutex_lock(&DP.mu);
	DP.installs++;
	DP.inst_sid = s->session_id;
	memcpy(DP.inst_tx_seq, tx_seq, sizeof(DP.inst_tx_seq));
	memcpy(DP.inst_tx_limit, tx_limit, sizeof(DP.inst_tx_limit));
	memcpy(DP.inst_rx_next, rx_next, sizeof(DP.inst_rx_next));
	pthread_mutex_unlock(&DP.mu);
	return 0;
}

int dp_session_extend(struct dp *dp, uint64_t session_id, uint8_t role, uint64_t tx_limit)
{
	(void)dp;
	pthread_mutex_lock(&DP.mu);
	DP.extends++;
	DP.ext_sid = session_id;
	DP.ext_role = role;
	DP.ext_limit = tx_limit;
	pthread_mutex_unlock(&DP.mu);
	return 0;
}

int dp_session_remove(struct dp *dp, uint64_t session_id, struct dp_session_view *final)
{
	(void)dp;
	(void)session_id;
	(void) final;
	return -ENOENT;
}

/* Another gateway owns it: the view leaves (as the real table's entry does). */
int dp_session_disown(struct dp *dp, uint64_t session_id)
{
	int rc = -ENOENT;

	(void)dp;
	pthread_mutex_lock(&DP.mu);
	DP.disowns++;
	DP.disown_sid = session_id;
	for (unsigned i = 0; i < DP.n_views; i++)
		if (DP.views[i].session_id == session_id) {
			DP.views[i] = DP.views[--DP.n_views];
			rc = 0;
		}
	pthread_mutex_unlock(&DP.mu);
	return rc;
}

/* The views the marks tests set (DP.views, slot = index), by id. */
int dp_session_get(struct dp *dp, uint64_t session_id, struct dp_session_view *v)
{
	int rc = -ENOENT;

	(void)dp;
	pthread_mutex_lock(&DP.mu);
	for (unsigned i = 0; i < DP.n_views && rc; i++)
		if (DP.views[i].session_id == session_id) {
			*v = DP.views[i];
			v->slot = i;
			rc = 0;
		}
	pthread_mutex_unlock(&DP.mu);
	return rc;
}

/* An adoption's replicated backlog (cp.c's cb_backlog): counted. */
static _Atomic unsigned backlog_items;

int dp_store_adopt(struct dp *dp, const struct dp_adopt_msg *m, unsigned wait_ms)
{
	(void)dp;
	(void)m;
	(void)wait_ms;
	atomic_fetch_add(&backlog_items, 1);
	return 0;
}

/* [cluster]: test_cp's gateways are not in one; the lease thread never runs. */
int dp_peer_alive(const struct dp *dp, unsigned node)
{
	(void)dp;
	(void)node;
	return 0;
}

int dp_peer_set_alive(struct dp *dp, unsigned node, int alive)
{
	(void)dp;
	(void)node;
	(void)alive;
	return -EINVAL;
}

int dp_peer_fwd_set(struct dp *dp, uint64_t sid, unsigned node)
{
	(void)dp;
	(void)sid;
	(void)node;
	return -EINVAL;
}

unsigned dp_peer_fwd_get(const struct dp *dp, uint64_t sid)
{
	(void)dp;
	(void)sid;
	return 0;
}

int dp_peer_forward(struct dp *dp, unsigned node, const struct dp_addr *dev, const uint8_t *frame,
                    size_t len)
{
	(void)dp;
	(void)node;
	(void)dev;
	(void)frame;
	(void)len;
	return -EINVAL;
}

unsigned dp_session_reclaim(struct dp *dp)
{
	(void)dp;
	return 0;
}

/* The threads' WAKE (cp.c's cb_wake): no sessions installed here. */
int dp_session_wake(struct dp *dp, const uint8_t *id, uint8_t id_len, const struct dp_addr *addr,
                    uint8_t flags, unsigned wait_us, struct dp_wake_result *res)
{
	(void)dp;
	(void)id;
	(void)id_len;
	(void)addr;
	(void)flags;
	(void)wait_us;
	memset(res, 0, sizeof(*res));
	return 0;
}

unsigned dp_resv_dequeue(struct dp *dp, struct dp_resv_req *reqs, unsigned n)
{
	unsigned k;

	(void)dp;
	pthread_mutex_lock(&DP.mu);
	k = DP.n_resv < n ? DP.n_resv : n;
	memcpy(reqs, DP.resv, k * sizeof(*reqs));
	memmove(DP.resv, DP.resv + k, (DP.n_resv - k) * sizeof(*reqs));
	DP.n_resv -= k;
	pthread_mutex_unlock(&DP.mu);
	return k;
}

#define N_VIEWS (sizeof(DP.views) / sizeof(DP.views[0]))

/* A copy of the views the test set (slot = index, as the table would: one
 * slot per session), for the walks below; one caller: the housekeeping
 * thread. Returns how many there are. */
static unsigned views_snapshot(struct dp_session_view v[N_VIEWS])
{
	unsigned n;

	pthread_mutex_lock(&DP.mu);
	n = DP.n_views;
	memcpy(v, DP.views, N_VIEWS * sizeof(*v));
	pthread_mutex_unlock(&DP.mu);
	for (unsigned i = 0; i < n; i++)
		v[i].slot = i;
	return n;
}

unsigned dp_session_slots(const struct dp *dp)
{
	(void)dp;
	return N_VIEWS;
}

void dp_session_foreach_slice(struct dp *dp, unsigned first, unsigned n,
                              void (*fn)(const struct dp_session_view *v, void *arg), void *arg)
{
	static struct dp_session_view v[N_VIEWS];
	unsigned nv = views_snapshot(v);

	(void)dp;
	for (unsigned i = first; i < nv && i - first < n; i++)
		fn(&v[i], arg);
}

void dp_session_foreach(struct dp *dp, void (*fn)(const struct dp_session_view *v, void *arg),
                        void *arg)
{
	dp_session_foreach_slice(dp, 0, N_VIEWS, fn, arg);
}

/* As the data plane's bits would: a view is "moved" when it differs from what
 * the last call gave for its slot (or its slot was handed back). */
static struct dp_session_view moved_seen[N_VIEWS];

void dp_session_foreach_moved(struct dp *dp, void (*fn)(const struct dp_session_view *v, void *arg),
                              void *arg)
{
	static struct dp_session_view v[N_VIEWS];
	unsigned n = views_snapshot(v);

	(void)dp;
	for (unsigned i = 0; i < n; i++) {
		if (!memcmp(&v[i], &moved_seen[i], sizeof(v[i])))
			continue;
		moved_seen[i] = v[i];
		fn(&v[i], arg);
	}
}

void dp_session_moved_again(struct dp *dp, uint32_t slot)
{
	(void)dp;
	if (slot < N_VIEWS)
		memset(&moved_seen[slot], 0xff, sizeof(moved_seen[slot]));
}

static unsigned dp_get(const unsigned *field)
{
	unsigned v;

	pthread_mutex_lock(&DP.mu);
	v = *field;
	pthread_mutex_unlock(&DP.mu);
	return v;
}

/* Wait (bounded) until the store shows rx_next[0] == want. */
static int wait_mark(uint64_t sid, uint64_t want, unsigned ms)
{
	uint64_t rx[2] = {0, 0};
	struct dp_addr a[2];

	for (uint64_t t0 = fx_now_ms(); fx_now_ms() - t0 < ms; fx_msleep(10))
		if (!store_session_get_marks(ST, sid, rx, a) && rx[0] == want)
			return 1;
	return 0;
}

/* One housekeeping pass writes the marks of more sessions than one Redis
 * pipeline holds (STORE_MARKS_BATCH): every one of them, the last partial
 * batch included, and a session gone from Redis does not stop the rest. */
Test(cp, persist_pass_spans_several_pipelines)
{
	static int dummy;
	struct dp *dp = (struct dp *)&dummy;
	const unsigned n = sizeof(DP.views) / sizeof(DP.views[0]);
	struct cp_config cfg;
	struct sga_gw_session s;
	uint64_t sid0;
	struct cp *cp;

	cr_assert_gt(n, 2 * STORE_MARKS_BATCH);
	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	do_negotiate();
	do_kex();
	sid0 = H.sess[0].session_id;
	cr_assert_eq(store_session_get(ST, sid0, &s), 0, "the handshake's record");
	pthread_mutex_lock(&DP.mu);
	memset(DP.views, 0, sizeof(DP.views));
	for (unsigned i = 0; i < n; i++) {
		s.session_id = sid0 + 1000 + i;
		if (i != 5) /* 5: no record in Redis (closed meanwhile) */
			cr_assert_eq(store_session_put(ST, &s), 0);
		DP.views[i].session_id = s.session_id;
		DP.views[i].rx_next[0] = 100 + i;
		DP.views[i].rx_next[1] = 7;
		DP.views[i].addr[0] = ADDR[0];
	}
	DP.n_views = n;
	pthread_mutex_unlock(&DP.mu);

	memset(&cfg, 0, sizeof(cfg));
	cfg.n_workers = 1;
	cfg.store.unix_socket = redis_fx.sock;
	cfg.store.timeout_ms = 300;
	memcpy(cfg.store.master_key, MKEY, sizeof(MKEY));
	cfg.persist_interval_ms = 30;
	cfg.tx_seq_block = BLOCK;
	cp = cp_start(&cfg, &H.gw, dp);
	cr_assert_not_null(cp);
	for (unsigned i = 0; i < n; i++)
		if (i != 5)
			cr_assert(wait_mark(sid0 + 1000 + i, 100 + i, 3000),
			          "session %u of %u: marks not persisted", i, n);
	cp_stop(cp);
	sga_gw_session_wipe(&s);
	pthread_mutex_lock(&DP.mu);
	DP.n_views = 0;
	pthread_mutex_unlock(&DP.mu);
}

/* Sets the one view's marks (and member 0's address) as the lcores would. */
static void view_set(uint64_t sid, uint64_t rx0, uint64_t rx1, const struct dp_addr *a0)
{
	pthread_mutex_lock(&DP.mu);
	memset(DP.views, 0, sizeof(DP.views));
	DP.views[0].session_id = sid;
	DP.views[0].rx_next[0] = rx0;
	DP.views[0].rx_next[1] = rx1;
	DP.views[0].addr[0] = *a0;
	DP.views[0].addr[1] = ADDR[1];
	DP.n_views = 1;
	pthread_mutex_unlock(&DP.mu);
}

/* Waits for `passes` more housekeeping persist passes (bounded: 5 s). */
static void wait_passes(struct cp *cp, uint64_t passes)
{
	struct cp_stats st;
	uint64_t want;

	cp_get_stats(cp, &st);
	want = st.mark_passes + passes;
	for (uint64_t t0 = fx_now_ms(); fx_now_ms() - t0 < 5000; fx_msleep(5)) {
		cp_get_stats(cp, &st);
		if (st.mark_passes >= want)
			return;
	}
	cr_assert_fail("%" PRIu64 " persist passes did not run within 5 s", passes);
}

static uint64_t redis_mark(uint64_t sid, int dir, struct dp_addr *a0)
{
	uint64_t rx[2] = {0, 0};
	struct dp_addr a[2];

	cr_assert_eq(store_session_get_marks(ST, sid, rx, a), 0);
	if (a0)
		*a0 = a[0];
	return rx[dir];
}

/*
 * Replay marks are written when they moved by mark_step frames, or when a
 * moved mark is mark_max_age_ms old, or when an address moved; the pass in
 * between defers them (one Lua call per session per pass was a core of
 * redis-server at 100,000 sessions). cp_stop writes whatever moved.
 */
Test(cp, marks_written_by_step_age_address_and_at_stop)
{
	static int dummy;
	struct dp *dp = (struct dp *)&dummy;
	struct dp_addr a0;
	struct cp_config cfg;
	struct cp_stats st;
	struct cp *cp;
	uint64_t sid;

	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	do_negotiate();
	do_kex();
	sid = H.sess[0].session_id;
	memset(&cfg, 0, sizeof(cfg));
	cfg.n_workers = 1;
	cfg.store.unix_socket = redis_fx.sock;
	cfg.store.timeout_ms = 300;
	memcpy(cfg.store.master_key, MKEY, sizeof(MKEY));
	cfg.persist_interval_ms = 10;
	cfg.mark_step = 64;
	cfg.mark_max_age_ms = 60000; /* no age write in this part */
	cfg.tx_seq_block = BLOCK;
	view_set(sid, 100, 7, &ADDR[0]);
	cp = cp_start(&cfg, &H.gw, dp);
	cr_assert_not_null(cp);
	cr_assert(wait_mark(sid, 100, 3000), "a session's first marks are written at once");

	/* 63 frames up, 63 down: below the step in both directions, deferred. */
	view_set(sid, 163, 70, &ADDR[0]);
	wait_passes(cp, 3); /* the first may have read the views before they moved */
	cr_assert_eq(redis_mark(sid, 0, NULL), 100, "moved less than mark_step: not written");
	cr_assert_eq(redis_mark(sid, 1, NULL), 7);
	cp_get_stats(cp, &st);
	cr_assert_geq(st.marks_deferred, 1, "the pass that saw it move counts it deferred");

	/* The down direction reaches the step: both directions written. */
	view_set(sid, 163, 71, &ADDR[0]);
	cr_assert(wait_mark(sid, 163, 3000), "a mark that moved mark_step frames is written");
	cr_assert_eq(redis_mark(sid, 1, NULL), 71);

	/* An address that moved is written at once, whatever the marks. */
	view_set(sid, 164, 71, &ADDR[1]);
	cr_assert(wait_mark(sid, 164, 3000), "a moved address is written at the next pass");
	(void)redis_mark(sid, 0, &a0);
	cr_assert_eq(a0.port, ADDR[1].port);

	/* Stopping writes what moved since (the last marks of a clean stop). */
	view_set(sid, 170, 71, &ADDR[1]);
	wait_passes(cp, 2);
	cr_assert_eq(redis_mark(sid, 0, NULL), 164);
	cp_stop(cp);
	cr_assert_eq(redis_mark(sid, 0, NULL), 170, "cp_stop writes every moved mark");

	/* mark_max_age_ms: a small move is written once it is that old. */
	cfg.mark_max_age_ms = 50;
	cp = cp_start(&cfg, &H.gw, dp);
	cr_assert_not_null(cp);
	view_set(sid, 171, 71, &ADDR[1]);
	cr_assert(wait_mark(sid, 171, 3000), "a new run's first pass writes what it finds");
	view_set(sid, 172, 71, &ADDR[1]); /* one frame: waits, but not for ever */
	cr_assert(wait_mark(sid, 172, 3000), "a move is written once it waited mark_max_age_ms");
	cp_stop(cp);
	pthread_mutex_lock(&DP.mu);
	DP.n_views = 0;
	pthread_mutex_unlock(&DP.mu);
}

/*
 * Several gateways on one store ([sessions] adopt): a gateway names itself the
 * owner of what it installs; once another gateway has taken a session (its
 * adoption wrote its name), this one's marks and TX reservations for it are
 * refused unwritten, the session leaves its data plane (owner_lost), and a
 * restart leaves it to the other gateway.
 */
Test(cp, another_owner_fences_marks_reservations_and_the_restore)
{
	static int dummy;
	struct dp *dp = (struct dp *)&dummy;
	struct store_config other;
	struct cp_config cfg;
	struct cp_stats st;
	struct store *gw_b;
	struct cp *cp;
	redisReply *r;
	uint64_t sid, t0;

	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	do_negotiate();
	do_kex();
	sid = H.sess[0].session_id;
	memset(&cfg, 0, sizeof(cfg));
	cfg.n_workers = 1;
	cfg.store.unix_socket = redis_fx.sock;
	cfg.store.timeout_ms = 300;
	cfg.store.owner = "gw-a";
	memcpy(cfg.store.master_key, MKEY, sizeof(MKEY));
	cfg.persist_interval_ms = 10;
	cfg.tx_seq_block = BLOCK;
	cp = cp_start(&cfg, &H.gw, dp);
	cr_assert_not_null(cp);
	cr_assert_eq(cp_restore_sessions(cp), 1);
	r = redis_fx_cmd("HGET sga:{sess:%016llx} owner", (unsigned long long)sid);
	cr_assert(r->type == REDIS_REPLY_STRING && !strcmp(r->str, "gw-a"), "the restore owns it");
	freeReplyObject(r);
	view_set(sid, 100, 7, &ADDR[0]);
	cr_assert(wait_mark(sid, 100, 3000), "its own marks are written");

	/* Gateway B adopts it. */
	other = cfg.store;
	other.owner = "gw-b";
	gw_b = store_open(&other);
	cr_assert_not_null(gw_b);
	cr_assert_eq(store_session_own(gw_b, sid), 0);
	view_set(sid, 300, 9, &ADDR[1]);
	for (t0 = fx_now_ms(); dp_get(&DP.disowns) < 1 && fx_now_ms() - t0 < 3000;)
		fx_msleep(5);
	cr_assert_eq(dp_get(&DP.disowns), 1, "the refused marks let the session go");
	cr_assert_eq(DP.disown_sid, sid);
	cp_get_stats(cp, &st);
	cr_assert_eq(st.owner_lost, 1);
	cr_assert_eq(redis_mark(sid, 0, NULL), 100, "nothing written under B's ownership");

	/* A reservation asked for it meanwhile: refused, nothing extended. */
	pthread_mutex_lock(&DP.mu);
	DP.resv[DP.n_resv++] = (struct dp_resv_req){.session_id = sid, .role = 0};
	pthread_mutex_unlock(&DP.mu);
	for (t0 = fx_now_ms(); dp_get(&DP.disowns) < 2 && fx_now_ms() - t0 < 3000;)
		fx_msleep(5);
	cr_assert_eq(dp_get(&DP.disowns), 2, "the refused reservation lets it go too");
	cr_assert_eq(dp_get(&DP.extends), 0);
	cp_stop(cp);

	/* Restarted, gateway A leaves B's session to B. */
	cp = cp_start(&cfg, &H.gw, dp);
	cr_assert_not_null(cp);
	cr_assert_eq(cp_restore_sessions(cp), 0);
	cr_assert_eq(dp_get(&DP.installs), 1, "not installed again");
	cp_stop(cp);
	/* B itself writes: its name is the one its writes carry. */
	{
		uint64_t rx[2] = {400, 10}, limit;
		struct dp_addr a[2] = {ADDR[0], ADDR[1]};

		cr_assert_eq(store_session_set_marks(gw_b, sid, rx, a), 0);
		cr_assert_eq(store_session_reserve(gw_b, sid, 0, BLOCK, &limit), 0);
	}
	store_close(gw_b);
}

Test(cp, threads_restore_reserve_persist_stop)
{
	static int dummy;
	struct dp *dp = (struct dp *)&dummy;
	struct cp_config cfg;
	struct cp_stats stats;
	struct cp *cp;
	uint64_t sid, t0;

	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	do_negotiate();
	do_kex();
	sid = H.sess[0].session_id;

	memset(&cfg, 0, sizeof(cfg));
	cfg.n_workers = 2;
	cfg.store.unix_socket = redis_fx.sock;
	cfg.store.timeout_ms = 300;
	memcpy(cfg.store.master_key, MKEY, sizeof(MKEY));
	cfg.backoff_max_ms = 100;
	cfg.persist_interval_ms = 30;
	cfg.tx_seq_block = BLOCK;
	cp = cp_start(&cfg, &H.gw, dp);
	cr_assert_not_null(cp);

	/* restore: a fresh range above the handshake's [0, BLOCK) */
	cr_assert_eq(cp_restore_sessions(cp), 1);
	cr_assert_eq(dp_get(&DP.installs), 1);
	cr_assert_eq(DP.inst_sid, sid);
	cr_assert_eq(DP.inst_tx_seq[0], BLOCK);
	cr_assert_eq(DP.inst_tx_limit[1], 2 * BLOCK);

	/* a reservation request from the lcores is served */
	pthread_mutex_lock(&DP.mu);
	DP.resv[DP.n_resv++] = (struct dp_resv_req){.session_id = sid, .role = 1};
	pthread_mutex_unlock(&DP.mu);
	for (t0 = fx_now_ms(); dp_get(&DP.extends) < 1 && fx_now_ms() - t0 < 3000;)
		fx_msleep(5);
	cr_assert_eq(dp_get(&DP.extends), 1);
	cr_assert_eq(DP.ext_sid, sid);
	cr_assert_eq(DP.ext_role, 1);
	cr_assert_eq(DP.ext_limit, 3 * BLOCK);

	/* marks are persisted periodically */
	pthread_mutex_lock(&DP.mu);
	memset(DP.views, 0, sizeof(DP.views));
	DP.views[0].session_id = sid;
	DP.views[0].rx_next[0] = 9;
	DP.views[0].rx_next[1] = 4;
	DP.views[0].addr[0] = ADDR[0];
	DP.views[0].addr[1] = ADDR[1];
	DP.n_views = 1;
	pthread_mutex_unlock(&DP.mu);
	cr_assert(wait_mark(sid, 9, 3000), "marks persisted within a few periods");

	/* Redis hung (longer than the 300 ms command timeout): a request waits in
	 * the retry list and is served once Redis answers again */
	cr_assert_eq(kill(redis_fx.pid, SIGSTOP), 0);
	pthread_mutex_lock(&DP.mu);
	DP.resv[DP.n_resv++] = (struct dp_resv_req){.session_id = sid, .role = 0};
	pthread_mutex_unlock(&DP.mu);
	fx_msleep(600);
	cr_assert_eq(dp_get(&DP.extends), 1, "not served while Redis is hung");
	kill(redis_fx.pid, SIGCONT);
	for (t0 = fx_now_ms(); dp_get(&DP.extends) < 2 && fx_now_ms() - t0 < 3000;)
		fx_msleep(5);
	cr_assert_eq(dp_get(&DP.extends), 2, "served after the outage");
	cr_assert_eq(DP.ext_role, 0);
	/* The timed-out HINCRBY may still have run once Redis woke up: a retry
	 * then skips that range. Ranges are wasted, never reused. */
	cr_assert(DP.ext_limit == 3 * BLOCK || DP.ext_limit == 4 * BLOCK, "limit %llu",
	          (unsigned long long)DP.ext_limit);

	/* the workers poll their rings */
	cr_assert(dp_get(&DP.polls[0]) > 0 && dp_get(&DP.polls[1]) > 0);

	/* stop: the final marks are written */
	pthread_mutex_lock(&DP.mu);
	DP.views[0].rx_next[0] = 12;
	pthread_mutex_unlock(&DP.mu);
	cp_get_stats(cp, &stats);
	cp_stop(cp);
	cr_assert(wait_mark(sid, 12, 100));
	cr_assert_eq(stats.restored, 1);
	cr_assert_eq(stats.reservations, 2, "housekeeping's own (restore's are not counted)");
	cr_assert_eq(stats.sessions, 0, "counted per cp instance: the handshake ran on HD");
	cr_assert(stats.persisted >= 1);
	cr_assert(stats.reconnects >= 1);
}
/*
 * A worker runs frames as jobs, several at once, but one session's frames one
 * after the other. Both KEX_INITs of a session arrive together; the
 * accelerator pauses each in its F_G inversion and modexps. Were B3 started
 * while B1 is paused, both would read the session before either wrote it
 * back, each would think it came first, and the session would never be
 * established. It is established, exactly once, and both devices get their
 * KEX_REPLY.
 */
/* CAP holds a KEX_REPLY for each device: both take theirs and are established. */
static void both_take_kex_replies(void)
{
	cr_assert_eq(CAP.n, 2, "a KEX_REPLY to each device");
	for (unsigned i = 0; i < 2; i++) {
		int k = addr_eq(&CAP.m[i].dst, &ADDR[0]) ? 0 : 1;

		cr_assert_eq(
		    sga_dev_consume_kex_reply(&H.dev[k], &H.sess[k], CAP.m[i].frame, CAP.m[i].len),
		    0);
	}
	cr_assert_eq(H.sess[0].state, SGA_DEV_S_ESTABLISHED);
	cr_assert_eq(H.sess[1].state, SGA_DEV_S_ESTABLISHED);
}

/* One worker with 8 job slots on the test's Redis, frames from the fake DP. */
static struct cp *start_one_worker(struct dp *dp)
{
	struct cp_config cfg;
	struct cp *cp;

	memset(&cfg, 0, sizeof(cfg));
	cfg.n_workers = 1;
	cfg.async_jobs = 8;
	cfg.store.unix_socket = redis_fx.sock;
	cfg.store.timeout_ms = 1000;
	memcpy(cfg.store.master_key, MKEY, sizeof(MKEY));
	cfg.tx_seq_block = BLOCK;
	cp = cp_start(&cfg, &H.gw, dp);
	cr_assert_not_null(cp);
	return cp;
}

Test(cp, threads_run_frames_as_jobs_one_session_at_a_time)
{
	static int dummy;
	struct dp *dp = (struct dp *)&dummy;
	struct cp_stats stats;
	struct cp *cp;
	uint64_t t0;
	unsigned got = 0;

	/* The pauses are those of the offloaded operations (RSA, modexp); the
	 * x25519 profile computes in software and never pauses. */
	if (!offloads_group_ops())
		cr_skip_test("the %s profile has no offloaded operation to pause in",
		             sga_group_get(harness_group(SGA_GROUP_FFDHE2048))->name);

	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	do_negotiate();
	cr_assert_eq(sga_dev_create_kex_init(&H.dev[0], &H.sess[0], F, sizeof(F), &FL), 0);
	dp_queue_frame(0);
	cr_assert_eq(sga_dev_create_kex_init(&H.dev[1], &H.sess[1], F, sizeof(F), &FL), 0);
	dp_queue_frame(1);
	pthread_mutex_lock(&CAP.mu);
	CAP.n = 0;
	pthread_mutex_unlock(&CAP.mu);
	paused_ops = 0;
	sga_crypto_backend_set(&PAUSING);

	cp = start_one_worker(dp);
	for (t0 = fx_now_ms(); fx_now_ms() - t0 < 10000 && got < 2; fx_msleep(5)) {
		pthread_mutex_lock(&CAP.mu);
		got = CAP.n;
		pthread_mutex_unlock(&CAP.mu);
	}
	cp_get_stats(cp, &stats);
	cp_stop(cp);
	sga_crypto_backend_set(NULL);

	cr_assert_eq(stats.handled, 2);
	cr_assert_eq(stats.rejected, 0);
	cr_assert_eq(stats.sessions, 1);
	cr_assert_eq(dp_get(&DP.installs), 1);
	cr_assert_eq(paused_ops, 2 + 4, "2 F_G inversions and 4 modexps, each paused");
	both_take_kex_replies();
}

/* Wait (bounded) until CAP holds n frames. */
static unsigned cap_wait(unsigned n)
{
	unsigned got = 0;

	for (uint64_t t0 = fx_now_ms(); fx_now_ms() - t0 < 10000; fx_msleep(5)) {
		pthread_mutex_lock(&CAP.mu);
		got = CAP.n;
		pthread_mutex_unlock(&CAP.mu);
		if (got >= n)
			break;
	}
	return got;
}

/*
 * The worker's gate under load ([controlplane] cookie = always): a bare
 * REG_REQ earns a COOKIE_REPLY and nothing else (no decryption, no record);
 * its echo from another address is not let through (another challenge); the
 * echo from the address the cookie was made for is handled: REG_ACK.
 */
Test(cp, threads_challenge_bare_frames_and_admit_echoes)
{
	static int dummy;
	struct dp *dp = (struct dp *)&dummy;
	uint8_t reg[SGA_FRAME_MAX], digest[SGA_COOKIE_DIGEST_LEN], cookie[SGA_COOKIE_LEN];
	uint8_t mine[SGA_COOKIE_DIGEST_LEN];
	size_t reg_len;
	struct cp_config cfg;
	struct cp_stats stats;
	struct sga_gw_device rec;
	struct cp *cp;

	memset(&cfg, 0, sizeof(cfg));
	cfg.n_workers = 1;
	cfg.store.unix_socket = redis_fx.sock;
	cfg.store.timeout_ms = 1000;
	memcpy(cfg.store.master_key, MKEY, sizeof(MKEY));
	cfg.tx_seq_block = BLOCK;
	cfg.cookie_mode = CP_COOKIE_ALWAYS;
	CAP.n = 0;
	cp = cp_start(&cfg, &H.gw, dp);
	cr_assert_not_null(cp);

	cr_assert_eq(sga_dev_create_reg_req(&H.dev[0], NULL, 0, 0, F, sizeof(F), &FL), 0);
	memcpy(reg, F, FL);
	reg_len = FL;
	dp_queue_frame(0);
	cr_assert_eq(cap_wait(1), 1);
	cr_assert_eq(CAP.m[0].frame[1], SGA_MSG_COOKIE_REPLY);
	cr_assert(addr_eq(&CAP.m[0].dst, &ADDR[0]));
	cr_assert_leq(CAP.m[0].len, reg_len, "no amplification");
	cr_assert_eq(sga_cookie_reply_decode(CAP.m[0].frame, CAP.m[0].len, digest, cookie), 0);
	cr_assert_eq(sga_cookie_digest(reg, reg_len, mine), 0);
	cr_assert_arr_eq(digest, mine, sizeof(mine), "the reply names the frame");
	cr_assert_eq(store_device_get(ST, H.dev[0].id, H.dev[0].id_len, &rec),
	             -SGA_E_UNKNOWN_DEVICE, "a challenged frame leaves no record");

	cr_assert_eq(sga_cookie_echo_encode(cookie, reg, reg_len, F, sizeof(F), &FL), 0);
	dp_queue_frame(1); /* the right cookie from the wrong address */
	cr_assert_eq(cap_wait(2), 2);
	cr_assert_eq(CAP.m[1].frame[1], SGA_MSG_COOKIE_REPLY);
	cr_assert(addr_eq(&CAP.m[1].dst, &ADDR[1]));
	dp_queue_frame(0);
	cr_assert_eq(cap_wait(3), 3);
	cr_assert_eq(CAP.m[2].frame[1], SGA_MSG_REG_ACK);
	cr_assert(addr_eq(&CAP.m[2].dst, &ADDR[0]));
	cr_assert_eq(sga_dev_consume_reg_ack(&H.dev[0], CAP.m[2].frame, CAP.m[2].len), 0);

	cp_get_stats(cp, &stats);
	cp_stop(cp);
	cr_assert_eq(stats.cookie_sent, 2);
	cr_assert_eq(stats.cookie_valid, 1);
	cr_assert_eq(stats.cookie_invalid, 1);
	cr_assert_eq(stats.handled, 1, "only the echo with a valid cookie was handled");
	cr_assert_eq(stats.registered, 1);
	cr_assert_eq(stats.under_load, 1);
}

/* The responder sends NEG_ACCEPT and KEX_INIT back to back and the data plane
 * may hand them to different workers: here the KEX_INIT is even dequeued
 * first. It is held back until the accept is done, not refused (which would
 * cost the device a retransmission timeout), and the set-up completes. */
Test(cp, threads_hold_back_a_kex_init_that_overtook_its_accept)
{
	static int dummy;
	struct dp *dp = (struct dp *)&dummy;
	struct cp_stats stats;
	struct cp *cp;
	uint8_t accept[SGA_FRAME_MAX];
	size_t accept_len;
	uint64_t t0;
	unsigned got = 0;

	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	cr_assert_eq(send_a1(ALL, 4), 0);
	cr_assert_eq(CAP.n, 1);
	cr_assert_eq(
	    sga_dev_consume_neg_invite(&H.dev[1], &H.sess[1], CAP.m[0].frame, CAP.m[0].len), 0);
	cr_assert_eq(sga_dev_create_neg_accept(&H.dev[1], &H.sess[1], 1, accept, sizeof(accept),
	                                       &accept_len),
	             0);
	cr_assert_eq(sga_dev_create_kex_init(&H.dev[1], &H.sess[1], F, sizeof(F), &FL), 0);
	dp_queue_frame(1); /* KEX_INIT first */
	memcpy(F, accept, accept_len);
	FL = accept_len;
	dp_queue_frame(1); /* then the NEG_ACCEPT it was sent behind */
	pthread_mutex_lock(&CAP.mu);
	CAP.n = 0;
	pthread_mutex_unlock(&CAP.mu);

	cp = start_one_worker(dp);
	for (t0 = fx_now_ms(); fx_now_ms() - t0 < 10000 && got < 2; fx_msleep(5)) {
		cp_get_stats(cp, &stats);
		got = (unsigned)stats.handled;
	}
	cr_assert_eq(stats.handled, 2);
	cr_assert_eq(stats.rejected, 0, "the early KEX_INIT was not refused");
	pthread_mutex_lock(&CAP.mu);
	cr_assert_eq(CAP.n, 1, "A4 only, no ERROR hint");
	cr_assert(addr_eq(&CAP.m[0].dst, &ADDR[0]));
	cr_assert_eq(
	    sga_dev_consume_neg_result(&H.dev[0], &H.sess[0], CAP.m[0].frame, CAP.m[0].len), 0);
	CAP.n = 0;
	pthread_mutex_unlock(&CAP.mu);

	/* The initiator's KEX_INIT completes the set-up: both contributions held. */
	cr_assert_eq(sga_dev_create_kex_init(&H.dev[0], &H.sess[0], F, sizeof(F), &FL), 0);
	dp_queue_frame(0);
	for (got = 0, t0 = fx_now_ms(); fx_now_ms() - t0 < 10000 && got < 2; fx_msleep(5)) {
		pthread_mutex_lock(&CAP.mu);
		got = CAP.n;
		pthread_mutex_unlock(&CAP.mu);
	}
	cp_get_stats(cp, &stats);
	cp_stop(cp);
	cr_assert_eq(stats.sessions, 1);
	both_take_kex_replies();
}
#endif /* SGA_CP_THREADS */

/* ---- lab provisioning (cp_lab.h, sga_lab.h) ------------------------------------------- */

/* Every field of a Redis hash, as "field=value" strings sorted by field, with
 * the sealed "rec" left out (random nonces: compared decoded instead). */
struct hash_dump {
	unsigned n;
	char f[16][160];
};

static void hash_get(const char *key, struct hash_dump *d)
{
	redisReply *r = redis_fx_cmd("HGETALL %s", key);

	memset(d, 0, sizeof(*d));
	cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		if (!strcmp(r->element[i]->str, "rec"))
			continue;
		cr_assert_lt(d->n, 16);
		snprintf(d->f[d->n++], sizeof(d->f[0]), "%s=%.*s", r->element[i]->str,
		         (int)r->element[i + 1]->len, r->element[i + 1]->str);
	}
	freeReplyObject(r);
	qsort(d->f, d->n, sizeof(d->f[0]), (int (*)(const void *, const void *))strcmp);
}

static long long key_ttl(const char *key)
{
	return raw_int("TTL %s", key);
}

/* Everything the gateway's session record holds except the cached B5/B6,
 * which only a handshake produces (a lab device never sends KEX_INIT). */
static void sess_expect_equal(const struct sga_gw_session *a, const struct sga_gw_session *b,
                              int hop)
{
	cr_assert_eq(a->session_id, b->session_id);
	cr_assert_eq(a->state, b->state);
	cr_assert_eq(a->suite, b->suite);
	cr_assert_eq(a->group, b->group);
	cr_assert_eq(a->have_init, b->have_init);
	cr_assert_eq(a->req_ctr, b->req_ctr);
	for (int r = 0; r < 2; r++) {
		cr_assert_eq(a->id_len[r], b->id_len[r]);
		cr_assert_arr_eq(a->id[r], b->id[r], a->id_len[r]);
		cr_assert_eq(a->hop_suite[r], b->hop_suite[r]);
		cr_assert_arr_eq(a->k_t[r], b->k_t[r], SGA_KEY_LEN);
		cr_assert_arr_eq(a->N[r], b->N[r], sizeof(a->N[r]), "N wiped in both");
		cr_assert_arr_eq(a->K[r], b->K[r], sizeof(a->K[r]), "K wiped in both");
		if (hop) {
			/* The same keys but for the down one: each load draws its
			 * own epoch (PROTOCOL.md 8.1). */
			cr_assert_eq(a->hop[r].suite, b->hop[r].suite);
			cr_assert_arr_eq(a->hop[r].key_up, b->hop[r].key_up,
			                 sizeof(a->hop[r].key_up), "hop up keys");
			cr_assert(a->hop[r].epoch && b->hop[r].epoch);
			cr_assert_eq(a->hop[r].restored, b->hop[r].restored);
		}
	}
}

static void dev_expect_equal(const struct sga_gw_device *a, const struct sga_gw_device *b)
{
	cr_assert_eq(a->id_len, b->id_len);
	cr_assert_arr_eq(a->id, b->id, a->id_len);
	cr_assert_arr_eq(a->k_d, b->k_d, SGA_KEY_LEN);
	cr_assert_eq(a->suite_init, b->suite_init);
	cr_assert_eq(a->up_ctr, b->up_ctr);
	cr_assert_eq(a->down_ctr, b->down_ctr);
}

Test(cp, lab_path_writes_the_records_a_handshake_writes)
{
	struct sga_gw_session hs, lab;
	struct sga_gw_device hs_dev[2], lab_dev[2];
	struct hash_dump hs_sess_h, lab_sess_h, hs_dev_h[2], lab_dev_h[2];
	struct inst hs_inst;
	struct sga_lab_sess ls;
	struct sga_dev_sess ds;
	struct dp_addr addr[1][2];
	char skey[40], dkey[2][48], hex[17];
	uint64_t sid;

	/* A real handshake through the handler, as the control plane runs it. */
	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	do_negotiate();
	do_kex();
	sid = H.sess[0].session_id;
	hs_inst = INST;
	snprintf(skey, sizeof(skey), "sga:{sess:%016llx}", (unsigned long long)sid);
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)sid);
	cr_assert_eq(store_session_get(ST, sid, &hs), 0);
	hash_get(skey, &hs_sess_h);
	for (int r = 0; r < 2; r++) {
		snprintf(dkey[r], sizeof(dkey[r]), "sga:{dev:%.*s}", H.dev[r].id_len,
		         (const char *)H.dev[r].id);
		cr_assert_eq(store_device_get(ST, H.dev[r].id, H.dev[r].id_len, &hs_dev[r]), 0);
		hash_get(dkey[r], &hs_dev_h[r]);
	}
	cr_assert_eq(key_ttl(skey), -1, "an established session does not expire");

	/* The same inputs (k_t, k_d, suites, ids, session id, counters, addresses)
	 * through the lab path, into an empty store. */
	memset(&ls, 0, sizeof(ls));
	ls.session_id = sid;
	ls.suite = hs.suite;
	ls.group = hs.group;
	ls.req_ctr = hs.req_ctr;
	for (int r = 0; r < 2; r++) {
		ls.id_len[r] = hs.id_len[r];
		memcpy(ls.id[r], hs.id[r], hs.id_len[r]);
		ls.hop_suite[r] = hs.hop_suite[r];
		memcpy(ls.k_t[r], hs.k_t[r], SGA_KEY_LEN);
		memcpy(ls.k_d[r], hs_dev[r].k_d, SGA_KEY_LEN);
		ls.up_ctr[r] = hs_dev[r].up_ctr;
		ls.down_ctr[r] = hs_dev[r].down_ctr;
		addr[0][r] = ADDR[r];
		/* The rest of the transcript, as each device of the handshake holds it. */
		memcpy(ls.n_hash[r], H.sess[r].n_hash, SGA_SHA256_LEN);
	}
	ls.id_g_len = H.gw.id_len;
	memcpy(ls.id_g, H.gw.id, ls.id_g_len);
	ls.n_pref = H.sess[0].n_pref;
	memcpy(ls.prefs, H.sess[0].prefs, sizeof(ls.prefs));
	freeReplyObject(redis_fx_cmd("FLUSHALL"));
	memset(&INST, 0, sizeof(INST));
	cr_assert_eq(cp_lab_commit(&HD, ST, &ls, 1, addr), 1);

	/* Field by field: the session hash (state, reservations, marks,
	 * addresses), its decoded record, its expiry and index entry; each
	 * device's record and counters. */
	cr_assert_eq(store_session_get(ST, sid, &lab), 0);
	hash_get(skey, &lab_sess_h);
	cr_assert_eq(lab_sess_h.n, hs_sess_h.n);
	for (unsigned i = 0; i < hs_sess_h.n; i++)
		cr_assert_str_eq(lab_sess_h.f[i], hs_sess_h.f[i]);
	sess_expect_equal(&lab, &hs, 1);
	cr_assert_gt(hs.reply_len[0], 0);
	cr_assert_eq(lab.reply_len[0] + lab.reply_len[1], 0, "no handshake, no cached reply");
	cr_assert_eq(key_ttl(skey), -1);
	cr_assert_eq(raw_int("SISMEMBER sga:sessions %s", hex), 1);
	for (int r = 0; r < 2; r++) {
		cr_assert_eq(store_device_get(ST, H.dev[r].id, H.dev[r].id_len, &lab_dev[r]), 0);
		dev_expect_equal(&lab_dev[r], &hs_dev[r]);
		hash_get(dkey[r], &lab_dev_h[r]);
		/* The handshake also stored where each device sent its control frames
		 * from ("addr"): a lab device sends none. Every other field is equal. */
		for (unsigned i = 0, j = 0; i < hs_dev_h[r].n; i++) {
			if (!strncmp(hs_dev_h[r].f[i], "addr=", 5))
				continue;
			cr_assert_lt(j, lab_dev_h[r].n);
			cr_assert_str_eq(lab_dev_h[r].f[j], hs_dev_h[r].f[i]);
			j++;
		}
	}

	/* Installed the same way: same record (the data plane derives the hop keys
	 * from k_t itself), ranges, marks and addresses. */
	cr_assert_eq(INST.n, 1);
	sess_expect_equal(&INST.s, &hs_inst.s, 0);
	for (int r = 0; r < 2; r++) {
		cr_assert_eq(INST.tx_seq[r], hs_inst.tx_seq[r]);
		cr_assert_eq(INST.tx_limit[r], hs_inst.tx_limit[r]);
		cr_assert_eq(INST.rx_next[r], hs_inst.rx_next[r]);
		cr_assert(addr_eq(&INST.addr[r], &hs_inst.addr[r]));
		/* The device side the load generator builds has the handshake's hop
		 * keys (same k_t, same key schedule). */
		cr_assert_eq(sga_lab_dev_sess(&ls, (uint8_t)r, &ds), 0);
		cr_assert_arr_eq(ds.hop_up, H.sess[r].hop_up, sizeof(ds.hop_up));
		cr_assert_arr_eq(ds.hop_down, H.sess[r].hop_down, sizeof(ds.hop_down));
		cr_assert_eq(ds.session_id, H.sess[r].session_id);
		cr_assert_eq(ds.suite, H.sess[r].suite);
		cr_assert_eq(ds.hop_suite, H.sess[r].hop_suite);
		/* Same key schedule, and it starts where a handshake's session is once
		 * both key confirmations are through: e2e_seq 0 spent each way. */
		cr_assert(sga_dev_sess_confirmed(&ds));
		cr_assert_eq(ds.e2e_tx_seq, 1);
		cr_assert_eq(ds.n_pref, H.sess[r].n_pref);
		cr_assert_arr_eq(ds.prefs, H.sess[r].prefs, sizeof(ds.prefs));
		sga_dev_sess_wipe(&ds);
	}
	/* and the handshake's devices relay through the lab-written record */
	relay(&lab, 0, "handshake keys, lab record");
	relay(&lab, 1, "and back");
	sga_gw_session_wipe(&hs);
	sga_gw_session_wipe(&lab);
	sga_lab_sess_wipe(&ls);
}

static void lab_params(struct sga_lab_params *p, uint32_t n)
{
	memset(p, 0, sizeof(*p));
	for (int i = 0; i < SGA_LAB_SEED_LEN; i++)
		p->seed[i] = (uint8_t)(0xa0 + i);
	p->sessions = n;
	p->suite = SGA_SUITE_AES128_GCM;
	p->hop_suite = SGA_SUITE_CHACHA20_POLY1305;
	p->group = harness_group(SGA_GROUP_FFDHE2048);
}

/* One message each way between the lab devices of session idx, through the
 * gateway record the store holds for it. */
static void lab_relay(const struct sga_lab_params *p, uint32_t idx)
{
	struct sga_lab_sess ls;
	struct sga_dev_sess d[2];
	struct sga_gw_session s;
	uint8_t out[SGA_FRAME_MAX], got[SGA_FRAME_MAX], to_role;
	size_t out_len, got_len;

	cr_assert_eq(sga_lab_derive(p, idx, &ls), 0);
	cr_assert_eq(sga_lab_index(p, ls.session_id), idx);
	cr_assert_eq(store_session_get(ST, ls.session_id, &s), 0);
	for (uint8_t r = 0; r < 2; r++)
		cr_assert_eq(sga_lab_dev_sess(&ls, r, &d[r]), 0);
	for (int from = 0; from < 2; from++) {
		cr_assert_eq(
		    sga_dev_data_seal(&d[from], (const uint8_t *)"lab", 3, F, sizeof(F), &FL), 0);
		cr_assert_eq(sga_gw_data_relay(&s, F, FL, out, sizeof(out), &out_len, &to_role), 0);
		cr_assert_eq(to_role, from ^ 1);
		cr_assert_eq(
		    sga_dev_data_open(&d[from ^ 1], out, out_len, got, sizeof(got), &got_len), 0,
		    "the E2E keys of both lab devices match");
		cr_assert_eq(got_len, 3);
	}
	for (int r = 0; r < 2; r++)
		sga_dev_sess_wipe(&d[r]);
	sga_gw_session_wipe(&s);
	sga_lab_sess_wipe(&ls);
}

static int lab_installed(void *ctx, uint64_t sid)
{
	return sga_lab_index(ctx, sid) >= 0;
}

Test(cp, lab_provisioning_from_a_seed)
{
	struct sga_lab_params p;
	struct cp_lab_report rep;
	struct cp_handler h2 = HD;
	struct inst again;
	uint64_t sid, marks[2] = {100, 200}, rx[2];
	struct dp_addr a[2];

	lab_params(&p, CP_LAB_BATCH + 44); /* two pipelined batches */
	cr_assert_eq(cp_lab_provision(&HD, ST, &p, &rep), 0);
	cr_assert_eq(rep.written, p.sessions);
	cr_assert_eq(rep.installed, p.sessions);
	cr_assert_eq(rep.batches, 2);
	cr_assert_eq(INST.n, p.sessions);
	cr_assert_eq(raw_int("SCARD %s", "sga:sessions"), p.sessions);
	lab_relay(&p, 0);
	lab_relay(&p, p.sessions - 1);
	cr_assert_eq(sga_lab_index(&p, 12345), -1);

	/* Again with the same seed: fresh hop ranges, the higher marks kept. */
	cr_assert_eq(sga_lab_session_id(&p, 7, &sid), 0);
	memset(a, 0, sizeof(a));
	cr_assert_eq(store_session_set_marks(ST, sid, marks, a), 0);
	memset(&INST, 0, sizeof(INST));
	cr_assert_eq(cp_lab_provision(&HD, ST, &p, &rep), 0);
	cr_assert_eq(INST.n, p.sessions);
	cr_assert_eq(INST.tx_limit[0], 2 * BLOCK, "a fresh range above the first");
	cr_assert_eq(store_session_get_marks(ST, sid, rx, a), 0);
	cr_assert_eq(rx[0], 100);
	cr_assert_eq(rx[1], 200);

	/* Restore leaves alone what the provisioning installed (cp.c says so
	 * through h->installed); without that callback it restores them all. */
	memset(&again, 0, sizeof(again));
	h2.install.ctx = &again;
	h2.installed.fn = lab_installed;
	h2.installed.ctx = &p;
	cr_assert_eq(cp_core_restore(&h2, ST), 0);
	cr_assert_eq(again.n, 0);
	h2.installed.fn = NULL;
	cr_assert_eq(cp_core_restore(&h2, ST), p.sessions);
	cr_assert_eq(again.n, p.sessions, "without an 'installed' callback all are restored");
}

Test(cp, lab_provisioning_refuses_a_file_that_does_not_fit)
{
	struct sga_lab_params p;
	struct cp_lab_report rep;

	lab_params(&p, 4);
	p.group = SGA_GROUP_FFDHE3072; /* the harness gateway runs ffdhe2048 */
	cr_assert_eq(cp_lab_provision(&HD, ST, &p, &rep), -SGA_E_BAD_FIELD);
	cr_assert_eq(INST.n, 0);
	cr_assert_eq(raw_int("EXISTS %s", "sga:sessions"), 0, "nothing written");
}

Test(cp, lab_provisioning_file_round_trip_and_permissions)
{
	struct sga_lab_params p, q;
	char path[160], err[256];

	lab_params(&p, 100000);
	snprintf(path, sizeof(path), "%s/lab.prov", redis_fx.dir);
	cr_assert_eq(sga_lab_file_write(path, &p, 0), 0);
	cr_assert_eq(sga_lab_file_write(path, &p, 0), -EEXIST, "no silent overwrite");
	cr_assert_eq(sga_lab_file_read(path, &q, err, sizeof(err)), 0, "%s", err);
	cr_assert_arr_eq(&p, &q, sizeof(p));
	cr_assert_eq(chmod(path, 0644), 0);
	cr_assert_eq(sga_lab_file_read(path, &q, err, sizeof(err)), -1);
	cr_assert(strstr(err, "chmod 600"), "%s", err);
	unlink(path);
}

/* ---- hop-down epochs across restarts (PROTOCOL.md 8.1, 9.3) -------------------------- */

#define ROLLBACK_FRAMES 8

/* key || nonce of every hop-down frame sealed for a restored record: what
 * must never repeat. Seals ROLLBACK_FRAMES DATA_ACKs to each member from the
 * range the restore reserved, as the data plane would. */
static unsigned seal_pairs(struct inst *in, uint8_t (*pairs)[SGA_AEAD_MAX_KEY_LEN + 12], unsigned n)
{
	const struct sga_data_ack_plain one = {.top = 1, .bits = 1};
	uint8_t f[128];
	size_t len;

	for (int r = 0; r < 2; r++) {
		struct sga_hop_member m = in->s.hop[r];

		cr_assert_neq(m.epoch, 0);
		m.tx_seq = in->tx_seq[r];
		for (unsigned k = 0; k < ROLLBACK_FRAMES; k++, n++) {
			struct sga_env_hop e;

			cr_assert_eq(sga_hop_seal_ack(&m, in->s.session_id, (uint8_t)r, &one, f,
			                              sizeof(f), &len),
			             0);
			cr_assert_eq(sga_env_hop_decode(f, len, &e), 0);
			/* the key the device derives for the frame's epoch, and the nonce */
			memset(pairs[n], 0, sizeof(pairs[n]));
			cr_assert_eq(sga_key_hop_epoch(H.sess[r].hop_down_base, e.epoch,
			                               H.sess[r].hop_suite, pairs[n]),
			             0);
			sga_hop_nonce(e.seq, pairs[n] + SGA_AEAD_MAX_KEY_LEN);
			/* the device opens it: the gateway really sealed under that key */
			cr_assert_eq(
			    sga_dev_ack_open(&H.sess[r], f, len, &(struct sga_data_ack_plain){0}),
			    0);
		}
		sga_memzero(&m, sizeof(m));
	}
	return n;
}

static uint64_t fake_clock;

static uint64_t fake_floor(void)
{
	return fake_clock;
}

/*
 * Item: hop-down nonce uniqueness must not rest on Redis. The gateway
 * restarts twice; before the second restore, Redis rolls the hop-down
 * reservations back (a lost un-fsynced write, or anyone with write access),
 * so the second run is handed the very sequence numbers the first one used.
 * The (key, nonce) pairs of every hop-down frame of both runs never repeat:
 * each load draws a fresh epoch. And with the clock floor on, a rolled-back
 * reservation still starts above the clock, so devices see sequence numbers
 * rise across restarts and take the new epoch.
 */
Test(cp, restore_after_redis_rollback_repeats_no_hop_nonce)
{
	static uint8_t pairs[3 * 2 * ROLLBACK_FRAMES][SGA_AEAD_MAX_KEY_LEN + 12];
	struct inst run1, run2, run3;
	struct cp_handler h2 = HD;
	char key[40];
	redisReply *before;
	unsigned n = 0;
	uint64_t sid;

	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	do_negotiate();
	do_kex();
	sid = H.sess[0].session_id;
	snprintf(key, sizeof(key), "sga:{sess:%016llx}", (unsigned long long)sid);

	before = redis_fx_cmd("HMGET %s tx_res0 tx_res1", key);
	cr_assert_eq(before->type, REDIS_REPLY_ARRAY);
	memset(&run1, 0, sizeof(run1));
	h2.install.ctx = &run1;
	cr_assert_eq(cp_core_restore(&h2, ST), 1);
	n = seal_pairs(&run1, pairs, n);

	/* the rollback: tx_res0/1 as they were before the first restore */
	freeReplyObject(redis_fx_cmd("HSET %s tx_res0 %s", key, before->element[0]->str));
	freeReplyObject(redis_fx_cmd("HSET %s tx_res1 %s", key, before->element[1]->str));
	memset(&run2, 0, sizeof(run2));
	h2.install.ctx = &run2;
	cr_assert_eq(cp_core_restore(&h2, ST), 1);
	for (int r = 0; r < 2; r++)
		cr_assert_eq(run2.tx_seq[r], run1.tx_seq[r],
		             "the rollback hands out the same range");
	/* the device left run 1's epoch behind at a higher sequence: these
	 * frames are refused by it (below what it saw), yet sealing them must
	 * not repeat a nonce either */
	for (int r = 0; r < 2; r++)
		sga_replay_init(&H.sess[r].hop_rx_win);
	n = seal_pairs(&run2, pairs, n);

	/* the clock floor: rolled back again, the range still starts at the clock */
	freeReplyObject(redis_fx_cmd("HSET %s tx_res0 %s", key, before->element[0]->str));
	freeReplyObject(redis_fx_cmd("HSET %s tx_res1 %s", key, before->element[1]->str));
	fake_clock = run2.tx_limit[0] + run2.tx_limit[1] + (1ull << 40);
	store_tx_floor_set(fake_floor);
	memset(&run3, 0, sizeof(run3));
	h2.install.ctx = &run3;
	cr_assert_eq(cp_core_restore(&h2, ST), 1);
	store_tx_floor_set(no_floor);
	for (int r = 0; r < 2; r++) {
		cr_assert_eq(run3.tx_seq[r], fake_clock, "the range starts at the clock floor");
		cr_assert_eq(run3.tx_limit[r] - run3.tx_seq[r], BLOCK);
	}
	/* here without resetting the devices' windows: they take the new epoch */
	n = seal_pairs(&run3, pairs, n);
	freeReplyObject(before);

	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; j < n; j++)
			cr_assert(memcmp(pairs[i], pairs[j], sizeof(pairs[i])) != 0,
			          "hop-down frames %u and %u share key and nonce", i, j);
	for (int r = 0; r < 2; r++) {
		cr_assert_neq(run1.s.hop[r].epoch, run2.s.hop[r].epoch);
		cr_assert_eq(run2.s.hop[r].restored, 1);
	}
}

/* ---- session lifecycle (cp_lifecycle.h) ------------------------------------------------ */

#include "cp_lifecycle.h"

static struct {
	unsigned n;
	uint64_t sid;
	struct dp_session_view fin; /* what the stand-in data plane reports */
	int gone;                   /* removed already: -ENOENT */
} RM;

static int cap_remove(void *ctx, uint64_t sid, struct dp_session_view *final)
{
	(void)ctx;
	if (RM.gone)
		return -ENOENT;
	RM.n++;
	RM.sid = sid;
	*final = RM.fin;
	final->session_id = sid;
	RM.gone = 1;
	return 0;
}

static long long keys_matching(const char *pattern)
{
	redisReply *r = redis_fx_cmd("KEYS %s", pattern);
	long long n = r->type == REDIS_REPLY_ARRAY ? (long long)r->elements : -1;

	freeReplyObject(r);
	return n;
}

static uint64_t established_session(void)
{
	memset(&RM, 0, sizeof(RM));
	RM.fin.addr[0] = ADDR[0];
	RM.fin.addr[1] = ADDR[1];
	RM.fin.delivered[0] = 7; /* d_i holds d_j's messages below 7 */
	RM.fin.delivered[1] = 3;
	HD.remove.fn = cap_remove;
	do_register(0, NULL, 0);
	do_register(1, NULL, 0);
	do_negotiate();
	do_kex();
	cr_assert_eq(keys_matching("sga:{sess:*"), 1);
	return H.sess[0].session_id;
}

/* Both members got a SESSION_CLOSED naming reason; each says how far its own
 * messages got (the peer's delivery report). */
static void expect_closed_notices(uint8_t reason)
{
	cr_assert_eq(CAP.n, 2, "one notice per member");
	for (unsigned i = 0; i < 2; i++) {
		int k = addr_eq(&CAP.m[i].dst, &ADDR[0]) ? 0 : 1;
		struct sga_session_closed_plain c;

		cr_assert(addr_eq(&CAP.m[i].dst, &ADDR[k]));
		cr_assert_eq(
		    sga_dev_consume_session_closed(&H.sess[k], CAP.m[i].frame, CAP.m[i].len, &c),
		    0);
		cr_assert_eq(c.reason, reason);
		cr_assert_eq(c.delivered, k == 0 ? 3 : 7);
	}
}

static void expect_nothing_in_redis(uint64_t sid)
{
	char hex[17];

	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)sid);
	cr_assert_eq(keys_matching("sga:{sess:*"), 0, "no key of the session left");
	cr_assert_eq(raw_int("SISMEMBER sga:sessions %s", hex), 0, "not restored by a restart");
}

Test(cp, device_close_clears_everything_and_tells_both)
{
	uint64_t sid = established_session();
	uint8_t again[SGA_FRAME_MAX];
	size_t again_len;

	cr_assert_eq(sga_dev_create_session_close(&H.sess[1], F, sizeof(F), &FL), 0);
	memcpy(again, F, FL);
	again_len = FL;
	cr_assert_eq(step(1), 0);
	cr_assert_eq(RM.n, 1);
	cr_assert_eq(RM.sid, sid);
	expect_nothing_in_redis(sid);
	expect_closed_notices(SGA_CLOSE_DEVICE);
	cr_assert_eq(CTR.closed, 1);
	{
		struct sga_gw_session s;

		cr_assert_eq(cp_core_restore(&HD, ST), 0, "a restart restores nothing");
		cr_assert_eq(store_session_get(ST, sid, &s), -SGA_E_UNKNOWN_SESSION);
	}
	/* The same close again (a retransmission, or a replay): nothing is left
	 * to close, and nothing is said. */
	memcpy(F, again, again_len);
	FL = again_len;
	cr_assert_eq(step(1), -SGA_E_UNKNOWN_SESSION);
	cr_assert_eq(CAP.n, 0);
	cr_assert_eq(CTR.closed, 1);
}

Test(cp, forged_session_close_closes_nothing)
{
	uint64_t sid = established_session();
	uint8_t good[SGA_FRAME_MAX];
	size_t good_len;

	cr_assert_eq(sga_dev_create_session_close(&H.sess[0], good, sizeof(good), &good_len), 0);
	/* A tag that does not verify. */
	memcpy(F, good, good_len);
	FL = good_len;
	F[FL - 1] ^= 1;
	cr_assert_eq(step(0), -SGA_E_AUTH);
	cr_assert_eq(CAP.n, 0, "refused in silence");
	/* The other member's role claimed: opened under the wrong key. */
	memcpy(F, good, good_len);
	F[12] ^= 1;
	cr_assert_eq(step(0), -SGA_E_AUTH);
	/* d_j's KEX_INIT, which authenticates under the same kex key, re-typed. */
	memcpy(F, B3, B3_LEN);
	FL = B3_LEN;
	F[1] = SGA_MSG_SESSION_CLOSE;
	{
		int rc = step(1);

		cr_assert_eq(rc, -SGA_E_AUTH, "%s", sga_err_name(rc));
	}
	cr_assert_eq(CAP.n, 0);
	cr_assert_eq(RM.n, 0, "still in the data plane");
	cr_assert_eq(keys_matching("sga:{sess:*"), 1, "still in Redis");
	cr_assert_eq(CTR.closed, 0);
	(void)sid;
}

Test(cp, operator_close)
{
	uint64_t sid = established_session();

	CAP.n = 0;
	cr_assert_eq(cp_session_close(&HD, ST, sid, SGA_CLOSE_OPERATOR), 0);
	cr_assert_eq(RM.n, 1);
	expect_nothing_in_redis(sid);
	expect_closed_notices(SGA_CLOSE_OPERATOR);
	CAP.n = 0;
	cr_assert_eq(cp_session_close(&HD, ST, sid, SGA_CLOSE_OPERATOR), -SGA_E_UNKNOWN_SESSION);
	cr_assert_eq(CAP.n, 0);
	cr_assert_eq(cp_session_close(&HD, ST, sid, 0), -SGA_E_BAD_FIELD);
}

Test(cp, revoked_device_sessions_closed_and_its_requests_refused_silently)
{
	uint64_t sid = established_session();
	struct sga_gw_device rec;

	CAP.n = 0;
	cr_assert_eq(cp_device_revoke(&HD, ST, H.dev[0].id, H.dev[0].id_len), 1);
	cr_assert_eq(RM.n, 1);
	expect_nothing_in_redis(sid);
	expect_closed_notices(SGA_CLOSE_REVOKED);
	cr_assert_eq(CTR.revoked, 1);
	/* The record stays, marked inside its sealed part. */
	cr_assert_eq(store_device_get(ST, H.dev[0].id, H.dev[0].id_len, &rec), 0);
	cr_assert_eq(rec.revoked, 1);
	sga_memzero(&rec, sizeof(rec));
	/* Its next requests: refused, no hint. A rekey under its k_d ... */
	cr_assert_eq(sga_dev_create_reg_req(&H.dev[0], NULL, 0, 1, F, sizeof(F), &FL), 0);
	cr_assert_eq(step(0), -SGA_E_REVOKED);
	cr_assert_eq(CAP.n, 0);
	/* ... a new session with its peer, and its peer inviting it. */
	cr_assert_eq(sga_dev_create_neg_req(&H.dev[0], &H.sess[0], H.dev[1].id, H.dev[1].id_len,
	                                    ALL, 4, F, sizeof(F), &FL),
	             0);
	cr_assert_eq(step(0), -SGA_E_REVOKED);
	cr_assert_eq(CAP.n, 0);
	cr_assert_eq(sga_dev_create_neg_req(&H.dev[1], &H.sess[1], H.dev[0].id, H.dev[0].id_len,
	                                    ALL, 4, F, sizeof(F), &FL),
	             0);
	cr_assert_neq(step(1), 0);
	cr_assert_eq(count_type(SGA_MSG_NEG_INVITE), 0, "no invitation reaches a revoked device");
	/* Re-enrolment: the operator deletes the record; the identity may
	 * register afresh. */
	cr_assert_eq(store_device_del(ST, H.dev[0].id, H.dev[0].id_len), 0);
	cr_assert_eq(cp_device_revoke(&HD, ST, H.dev[0].id, H.dev[0].id_len),
	             -SGA_E_UNKNOWN_DEVICE);
	{
		int rc;

		cr_assert_eq(sga_dev_create_reg_req(&H.dev[0], NULL, 0, 0, F, sizeof(F), &FL), 0);
		rc = step(0);
		cr_assert_eq(rc, 0, "registers afresh: %s", sga_err_name(rc));
	}
}

Test(cp, expiry_rules)
{
	const struct cp_expiry none = {0, 0}, e = {30, 3600};
	struct dp_session_view v;

	memset(&v, 0, sizeof(v));
	v.idle_ms = 29999;
	v.age_ms = 3599999;
	cr_assert_eq(cp_session_expired(&e, &v), 0);
	v.idle_ms = 30000;
	cr_assert_eq(cp_session_expired(&e, &v), SGA_CLOSE_IDLE);
	v.age_ms = 3600000;
	cr_assert_eq(cp_session_expired(&e, &v), SGA_CLOSE_LIFETIME, "the lifetime first");
	v.idle_ms = v.age_ms = UINT64_MAX / 2;
	cr_assert_eq(cp_session_expired(&none, &v), 0, "0 = never");

	/* How late a close may be: the sweep's period. */
	cr_assert_eq(cp_expiry_sweep_s(&none), 1);
	cr_assert_eq(cp_expiry_sweep_s(&(struct cp_expiry){5, 0}), 1, "short limits: each second");
	cr_assert_eq(cp_expiry_sweep_s(&(struct cp_expiry){0, 60}), 3);
	cr_assert_eq(cp_expiry_sweep_s(&e), 1, "the shorter limit counts");
	cr_assert_eq(cp_expiry_sweep_s(&(struct cp_expiry){3600, 0}), 60, "a minute at most");
}
