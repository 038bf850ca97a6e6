/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_cdev.c - Criterion tests for the cryptodev AEAD engine (offload/sga_cdev.h).
 *
 * Each test process starts its own EAL (--no-pci --no-huge, one software PMD
 * given with --vdev, as a gateway operator might) and drives the engine the
 * way the data plane does: in-place ops on mbufs, in bursts, completions
 * polled. Every result is compared byte for byte with the CPU path
 * (sga_aead_*, OpenSSL): the hop frames of docs/PROTOCOL.md section 15.6 (the
 * DATA_UP "hello" frame, its relayed DATA_DOWN and the DATA_ACK), then frames
 * of every suite the PMD serves with random keys, sequence numbers, headers
 * and lengths 0..1400. A frame with a bad tag must fail its own op and no other.
 * Each test runs once per PMD: crypto_aesni_mb and crypto_openssl.
 */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

#include "sga_cdev.h"
#include "sga_crypto.h"
#include "sga_hop.h"
#include "sga_keys.h"
#include "protocol_vectors.h"
#include "eal_tidy.h"

#define BURST 32
#define HDR   SGA_HOP_HDR_LEN /* the AAD of a hop frame */

/* ---- PROTOCOL.md 15.2 and 15.6 (copied from tests/unit/test_vectors.c) ------------ */

/* ---- EAL, engine, pools ------------------------------------------------------------- */

static const char *pmd; /* the driver under test */
static struct sga_cdev *cd;
static struct rte_mempool *mp;

static void up(const char *driver)
{
	char prefix[64], vdev[64];
	char *argv[] = {"test_cdev", "--no-pci",    "--no-huge",      "-m",
	                "512",       "--no-shconf", "--no-telemetry", "-l",
	                "0",         vdev,          prefix,           "--log-level=lib.*:error"};
	struct sga_cdev_config cfg = {
	    .device = driver,
	    .n_qps = 1,
	    .n_sessions = 64,
	    .n_ops = 1024,
	    .op_cache = 32,
	    .user_size = 8,
	    .socket = SOCKET_ID_ANY,
	    .tag = "t_cd",
	};

	pmd = driver;
	snprintf(vdev, sizeof(vdev), "--vdev=%s0", driver);
	snprintf(prefix, sizeof(prefix), "--file-prefix=sgacdev%d", (int)getpid());
	cr_assert_geq(rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])), argv), 0,
	              "rte_eal_init: %s", rte_strerror(rte_errno));
	eal_tidy();
	cd = sga_cdev_create(&cfg);
	cr_assert_not_null(cd, "sga_cdev_create(%s): %s", driver, strerror(errno));
	cr_assert_str_eq(sga_cdev_driver(cd), driver);
	mp = rte_pktmbuf_pool_create("t_mb", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	cr_assert_not_null(mp);
}

static void down(void)
{
	cr_assert_eq(rte_mempool_avail_count(mp), 255, "mbufs leaked");
	sga_cdev_destroy(cd);
	cd = NULL;
	rte_mempool_free(mp);
	rte_eal_cleanup();
}

/* A test body, once per software PMD. */
#define PMD_TEST(name)                 \
	static void name(void);        \
	Test(cdev, name##_aesni_mb)    \
	{                              \
		up("crypto_aesni_mb"); \
		name();                \
		down();                \
	}                              \
	Test(cdev, name##_openssl)     \
	{                              \
		up("crypto_openssl");  \
		name();                \
		down();                \
	}                              \
	static void name(void)

TestSuite(cdev, .timeout = 120);

/* ---- helpers ---------------------------------------------------------------------------- */

/* An mbuf holding bytes[0..len) and room for `extra` more (the tag a seal adds). */
static struct rte_mbuf *mbuf_of(const uint8_t *bytes, size_t len, size_t extra)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint8_t *p;

	cr_assert_not_null(m);
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(len + extra));
	cr_assert_not_null(p);
	memcpy(p, bytes, len);
	memset(p + len, 0, extra);
	return m;
}

/* Enqueue n ops and collect all n, in any order; returns them in ops[] order
 * with their status in st[]. Polls (this is a test, not the data plane). */
static void run(struct rte_crypto_op **ops, unsigned n, int *st)
{
	struct rte_crypto_op *done[BURST];
	unsigned sent = 0, got = 0;
	uint64_t deadline = rte_get_timer_cycles() + 5 * rte_get_timer_hz();

	cr_assert_leq(n, BURST);
	while (sent < n)
		sent += sga_cdev_enqueue(cd, 0, ops + sent, (uint16_t)(n - sent));
	while (got < n) {
		uint16_t k = sga_cdev_dequeue(cd, 0, done + got, (uint16_t)(BURST - got));

		got += k;
		cr_assert_lt(rte_get_timer_cycles(), deadline, "ops never completed");
	}
	for (unsigned i = 0; i < n; i++) {
		unsigned j;

		for (j = 0; j < n && done[j] != ops[i]; j++)
			;
		cr_assert_lt(j, n, "op %u not returned", i);
		st[i] = sga_cdev_op_status(ops[i]);
	}
}

/* One op on m: the hop header at 0 is the AAD, the text of text_len follows. */
static int one_op(void *sess, uint8_t suite, struct rte_mbuf *m, size_t text_len, uint64_t seq)
{
	struct rte_crypto_op *op = sga_cdev_op_alloc(cd);
	uint8_t nonce[SGA_AEAD_NONCE_LEN];
	int st;

	cr_assert_not_null(op);
	sga_hop_nonce(seq, nonce);
	sga_cdev_op_aead(op, sess, suite, m, 0, HDR, HDR, (uint32_t)text_len, nonce);
	run(&op, 1, &st);
	sga_cdev_op_free(op);
	return st;
}

static const uint8_t *bytes(const struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod(m, const uint8_t *);
}

static bool pmd_serves(uint8_t suite)
{
	/* crypto_openssl has no ChaCha20-Poly1305 in DPDK 22.11; no PMD has Ascon. */
	if (suite == SGA_SUITE_ASCON_AEAD128)
		return false;
	return !(strcmp(pmd, "crypto_openssl") == 0 && suite == SGA_SUITE_CHACHA20_POLY1305);
}

/* ---- PROTOCOL.md vectors ------------------------------------------------------------------ */

/* G opens d_i's "hello" DATA_UP (hop seq 0, hop-up key of k_ti), in place. */
PMD_TEST(vector_data_up_open)
{
	struct rte_mbuf *m = mbuf_of(V_DATA_UP, sizeof(V_DATA_UP), 0);
	void *s =
	    sga_cdev_session_create(cd, SGA_SUITE_AES128_GCM, SGA_CDEV_OPEN, V_HOP_UP_GCM, HDR);
	uint8_t nonce[SGA_AEAD_NONCE_LEN], cpu[sizeof(V_DATA_INNER)];

	cr_assert_not_null(s);
	cr_assert_eq(one_op(s, SGA_SUITE_AES128_GCM, m, sizeof(V_DATA_INNER), 0), 0);
	cr_assert_arr_eq(bytes(m), V_DATA_UP, HDR, "the header (AAD) is untouched");
	cr_assert_arr_eq(bytes(m) + HDR, V_DATA_INNER, sizeof(V_DATA_INNER));
	/* and the CPU path agrees */
	sga_hop_nonce(0, nonce);
	cr_assert_eq(sga_aead_open(SGA_SUITE_AES128_GCM, V_HOP_UP_GCM, nonce, V_DATA_UP, HDR,
	                           V_DATA_UP + HDR, sizeof(V_DATA_UP) - HDR, cpu, sizeof(cpu)),
	             0);
	cr_assert_arr_eq(cpu, bytes(m) + HDR, sizeof(cpu));
	rte_pktmbuf_free(m);
	sga_cdev_session_free(cd, s);
}

/* G re-seals the same inner for d_j (role 1, seq 0, d_j's hop-down key) and
 * acknowledges d_i (seq 0, d_i's hop-down key): the DATA_DOWN and DATA_ACK of
 * PROTOCOL.md, byte for byte. */
PMD_TEST(vector_data_down_and_ack_seal)
{
	uint8_t plain[HDR + sizeof(V_DATA_INNER)];
	struct rte_mbuf *m;
	void *s;

	memcpy(plain, V_DATA_DOWN, HDR);
	memcpy(plain + HDR, V_DATA_INNER, sizeof(V_DATA_INNER));
	m = mbuf_of(plain, HDR + sizeof(V_DATA_INNER), 16);
	s = sga_cdev_session_create(cd, SGA_SUITE_AES128_GCM, SGA_CDEV_SEAL, V_J_HOP_DOWN_E_GCM,
	                            HDR);
	cr_assert_not_null(s);
	cr_assert_eq(one_op(s, SGA_SUITE_AES128_GCM, m, sizeof(V_DATA_INNER), 0), 0);
	cr_assert_eq(m->data_len, sizeof(V_DATA_DOWN));
	cr_assert_arr_eq(bytes(m), V_DATA_DOWN, sizeof(V_DATA_DOWN));
	rte_pktmbuf_free(m);
	sga_cdev_session_free(cd, s);

	memcpy(plain, V_DATA_ACK, HDR);
	memset(plain + HDR, 0, 16); /* top 1 | bits 1: e2e_seq 0 */
	plain[HDR + 7] = plain[HDR + 15] = 1;
	m = mbuf_of(plain, HDR + 16, 16);
	s = sga_cdev_session_create(cd, SGA_SUITE_AES128_GCM, SGA_CDEV_SEAL, V_HOP_DOWN_E_GCM, HDR);
	cr_assert_not_null(s);
	cr_assert_eq(one_op(s, SGA_SUITE_AES128_GCM, m, 16, 0), 0);
	cr_assert_arr_eq(bytes(m), V_DATA_ACK, sizeof(V_DATA_ACK));
	rte_pktmbuf_free(m);
	sga_cdev_session_free(cd, s);
}

/* ---- every suite, random frames ------------------------------------------------------------- */

static void rnd(uint8_t *p, size_t n)
{
	cr_assert_eq(sga_random_bytes(p, n), 0);
}

static uint32_t rnd32(void)
{
	uint32_t v;

	rnd((uint8_t *)&v, sizeof(v));
	return v;
}

/* The engine table names exactly the suites the PMD can do; the others are
 * CPU with the reason. */
PMD_TEST(engine_table)
{
	const struct sga_suite_info *list;
	char line[128], want[128];
	size_t n;

	list = sga_suite_list(&n);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(sga_cdev_serves(cd, list[i].id), pmd_serves(list[i].id), "%s",
		             list[i].name);
		if (pmd_serves(list[i].id))
			snprintf(want, sizeof(want), "aead %s: cryptodev %s", list[i].name, pmd);
		else if (list[i].id == SGA_SUITE_ASCON_AEAD128)
			snprintf(want, sizeof(want),
			         "aead ascon-aead128: cpu (no cryptodev algorithm for it in DPDK)");
		else
			snprintf(want, sizeof(want), "aead %s: cpu (%s lacks it)", list[i].name,
			         pmd);
		cr_assert_str_eq(sga_cdev_report(cd, list[i].id, line, sizeof(line)), want);
	}
	cr_assert_null(sga_cdev_session_create(cd, 0x77, SGA_CDEV_SEAL, V_HOP_UP_GCM, HDR));
	cr_assert_eq(errno, EINVAL);
	/* A suite on the CPU path gets no device session: its callers fall back. */
	cr_assert_null(
	    sga_cdev_session_create(cd, SGA_SUITE_ASCON_AEAD128, SGA_CDEV_SEAL, V_HOP_UP_GCM, HDR));
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(sga_cdev_session_create(cd, SGA_SUITE_AES128_GCM, SGA_CDEV_SEAL,
	                                       V_HOP_UP_GCM, SGA_CDEV_AAD_MAX + 1));
	cr_assert_eq(errno, EINVAL);
}

struct frame_case {
	uint8_t key[SGA_AEAD_MAX_KEY_LEN];
	uint8_t hdr[HDR];
	uint64_t seq;
	size_t len; /* plaintext */
	uint8_t plain[1400];
	uint8_t cpu[HDR + 1400 + SGA_AEAD_MAX_TAG_LEN]; /* the CPU path's sealed frame */
	void *seal, *open;
	struct rte_mbuf *m;
	struct rte_crypto_op *op;
};

/*
 * For every suite the PMD serves, 4 bursts of 32 frames with random keys,
 * headers, sequence numbers and lengths 0..1400 (0 and 1400 always among
 * them): seal on the device == seal on the CPU, byte for byte; the device
 * opens the CPU's frames back to the plaintext; the CPU opens the device's.
 */
PMD_TEST(random_frames_match_cpu)
{
	static struct frame_case fc[BURST];
	size_t n_suites;
	const struct sga_suite_info *list = sga_suite_list(&n_suites);
	int st[BURST];

	for (size_t si = 0; si < n_suites; si++) {
		const struct sga_suite_info *su = &list[si];

		if (!pmd_serves(su->id))
			continue;
		for (int round = 0; round < 4; round++) {
			struct rte_crypto_op *ops[BURST];

			for (unsigned i = 0; i < BURST; i++) {
				struct frame_case *f = &fc[i];
				uint8_t nonce[SGA_AEAD_NONCE_LEN], tmp[HDR + 1400];

				rnd(f->key, sizeof(f->key));
				rnd(f->hdr, sizeof(f->hdr));
				f->seq = ((uint64_t)rnd32() << 32 | rnd32()) % (UINT64_MAX - 1);
				f->len = round == 0 && i == 0   ? 0
				         : round == 0 && i == 1 ? 1400
				                                : rnd32() % 1401;
				rnd(f->plain, f->len);
				sga_hop_nonce(f->seq, nonce);
				memcpy(f->cpu, f->hdr, HDR);
				cr_assert_eq(sga_aead_seal(su->id, f->key, nonce, f->hdr, HDR,
				                           f->plain, f->len, f->cpu + HDR,
				                           f->len + su->tag_len),
				             0);
				f->seal =
				    sga_cdev_session_create(cd, su->id, SGA_CDEV_SEAL, f->key, HDR);
				f->open =
				    sga_cdev_session_create(cd, su->id, SGA_CDEV_OPEN, f->key, HDR);
				cr_assert(f->seal && f->open, "sessions: %s", strerror(errno));
				memcpy(tmp, f->hdr, HDR);
				memcpy(tmp + HDR, f->plain, f->len);
				f->m = mbuf_of(tmp, HDR + f->len, su->tag_len);
				f->op = sga_cdev_op_alloc(cd);
				cr_assert_not_null(f->op);
				sga_cdev_op_aead(f->op, f->seal, su->id, f->m, 0, HDR, HDR,
				                 (uint32_t)f->len, nonce);
				ops[i] = f->op;
			}
			run(ops, BURST, st);
			for (unsigned i = 0; i < BURST; i++) {
				struct frame_case *f = &fc[i];
				uint8_t back[1400], nonce[SGA_AEAD_NONCE_LEN];

				cr_assert_eq(st[i], 0, "%s len %zu: seal status", su->name, f->len);
				cr_assert_arr_eq(bytes(f->m), f->cpu, HDR + f->len + su->tag_len,
				                 "%s len %zu: device and CPU seals differ",
				                 su->name, f->len);
				sga_hop_nonce(f->seq, nonce);
				cr_assert_eq(sga_aead_open(su->id, f->key, nonce, f->hdr, HDR,
				                           bytes(f->m) + HDR, f->len + su->tag_len,
				                           back, sizeof(back)),
				             0);
				/* Now the device opens the CPU's frame in place. */
				memcpy(rte_pktmbuf_mtod(f->m, uint8_t *), f->cpu,
				       HDR + f->len + su->tag_len);
				sga_cdev_op_free(f->op);
				f->op = sga_cdev_op_alloc(cd);
				sga_cdev_op_aead(f->op, f->open, su->id, f->m, 0, HDR, HDR,
				                 (uint32_t)f->len, nonce);
				ops[i] = f->op;
			}
			run(ops, BURST, st);
			for (unsigned i = 0; i < BURST; i++) {
				struct frame_case *f = &fc[i];

				cr_assert_eq(st[i], 0, "%s len %zu: open status", su->name, f->len);
				cr_assert_arr_eq(bytes(f->m) + HDR, f->plain, f->len,
				                 "%s len %zu: open", su->name, f->len);
				cr_assert_arr_eq(bytes(f->m), f->hdr, HDR);
				sga_cdev_op_free(f->op);
				rte_pktmbuf_free(f->m);
				sga_cdev_session_free(cd, f->seal);
				sga_cdev_session_free(cd, f->open);
			}
		}
	}
	sga_memzero(fc, sizeof(fc));
}

/* A burst of 16 opens of one suite where frame 5 has a flipped tag bit and
 * frame 11 a flipped header (AAD) bit: those two ops fail with a bad tag, the
 * other 14 succeed. */
PMD_TEST(bad_tag_fails_only_its_op)
{
	enum { N = 16 };
	size_t n_suites;
	const struct sga_suite_info *list = sga_suite_list(&n_suites);

	for (size_t si = 0; si < n_suites; si++) {
		const struct sga_suite_info *su = &list[si];
		uint8_t key[SGA_AEAD_MAX_KEY_LEN], frame[HDR + 200 + 16], plain[200];
		struct rte_crypto_op *ops[N];
		struct rte_mbuf *m[N];
		int st[N];
		void *s;

		if (!pmd_serves(su->id))
			continue;
		rnd(key, sizeof(key));
		s = sga_cdev_session_create(cd, su->id, SGA_CDEV_OPEN, key, HDR);
		cr_assert_not_null(s);
		for (unsigned i = 0; i < N; i++) {
			uint8_t nonce[SGA_AEAD_NONCE_LEN];

			rnd(frame, HDR);
			rnd(plain, sizeof(plain));
			sga_hop_nonce(i, nonce);
			cr_assert_eq(sga_aead_seal(su->id, key, nonce, frame, HDR, plain,
			                           sizeof(plain), frame + HDR,
			                           sizeof(plain) + su->tag_len),
			             0);
			if (i == 5)
				frame[HDR + sizeof(plain) + su->tag_len - 1] ^= 0x01;
			if (i == 11)
				frame[3] ^= 0x40;
			m[i] = mbuf_of(frame, HDR + sizeof(plain) + su->tag_len, 0);
			ops[i] = sga_cdev_op_alloc(cd);
			cr_assert_not_null(ops[i]);
			sga_cdev_op_aead(ops[i], s, su->id, m[i], 0, HDR, HDR, sizeof(plain),
			                 nonce);
		}
		run(ops, N, st);
		for (unsigned i = 0; i < N; i++) {
			cr_assert_eq(st[i], i == 5 || i == 11 ? -EBADMSG : 0, "%s op %u: %d",
			             su->name, i, st[i]);
			sga_cdev_op_free(ops[i]);
			rte_pktmbuf_free(m[i]);
		}
		sga_cdev_session_free(cd, s);
	}
}

/* A spent session pool is ENOSPC, not a crash; freeing makes room again. */
PMD_TEST(session_pool_exhaustion)
{
	void *s[80];
	unsigned n = 0;

	while (n < 80 && (s[n] = sga_cdev_session_create(cd, SGA_SUITE_AES128_GCM, SGA_CDEV_SEAL,
	                                                 V_HOP_UP_GCM, HDR)))
		n++;
	cr_assert_lt(n, 80, "the pool holds 64");
	cr_assert_geq(n, 64);
	cr_assert_eq(errno, ENOSPC);
	sga_cdev_session_free(cd, s[0]);
	s[0] = sga_cdev_session_create(cd, SGA_SUITE_AES128_GCM, SGA_CDEV_SEAL, V_HOP_UP_GCM, HDR);
	cr_assert_not_null(s[0]);
	for (unsigned i = 0; i < n; i++)
		sga_cdev_session_free(cd, s[i]);
}

/* ---- without a device ------------------------------------------------------------------------ */

Test(cdev, cpu_device_is_all_cpu)
{
	char prefix[64], line[128];
	char *argv[] = {"test_cdev",   "--no-pci",       "--no-huge", "-m", "128",
	                "--no-shconf", "--no-telemetry", "-l",        "0",  prefix};
	struct sga_cdev_config cfg = {.device = "cpu", .tag = "t_cd"};
	struct sga_cdev *c;

	snprintf(prefix, sizeof(prefix), "--file-prefix=sgacdev%d", (int)getpid());
	cr_assert_geq(rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])), argv), 0);
	eal_tidy();
	cr_assert_eq(sga_cdev_device_valid("auto"), 1);
	cr_assert_eq(sga_cdev_device_valid("crypto_qat"), 1);
	cr_assert_eq(sga_cdev_device_valid("crypto_aesni"), 0);
	cr_assert_eq(sga_cdev_device_valid(NULL), 0);
	c = sga_cdev_create(&cfg);
	cr_assert_not_null(c);
	cr_assert_null(sga_cdev_driver(c));
	cr_assert_eq(sga_cdev_dev_id(c), -1);
	cr_assert_str_eq(sga_cdev_engine(c, SGA_SUITE_AES128_GCM), "cpu");
	cr_assert_str_eq(sga_cdev_report(c, SGA_SUITE_AES128_CCM8, line, sizeof(line)),
	                 "aead aes-128-ccm8: cpu ([crypto] device = cpu)");
	sga_cdev_destroy(c);
	cfg.device = "crypto_qat"; /* nothing probed with --no-pci */
	errno = 0;
	cr_assert_null(sga_cdev_create(&cfg));
	cr_assert_eq(errno, EINVAL, "no queue pairs asked for");
	cfg.n_qps = 1;
	cfg.n_ops = 64;
	cfg.n_sessions = 4;
	cr_assert_null(sga_cdev_create(&cfg));
	cr_assert_eq(errno, ENODEV);
	rte_eal_cleanup();
}

/* ---- op stash (the data plane's dp_op_get / dp_op_recycle) --------------------------- */

/* Ops taken in bulk, used, reset and used again without going back to the
 * pool give the same bytes as the CPU path's prepared key, every round; the
 * pool counts them all back at the end. And the pool says what it holds. */
PMD_TEST(ops_bulk_and_recycled)
{
	struct rte_crypto_op *ops[BURST];
	struct rte_mbuf *m[BURST];
	uint8_t key[16], frame[HDR + 100 + 16], ref[HDR + 100 + 16], nonce[SGA_AEAD_NONCE_LEN];
	struct sga_aead_key *pk;
	unsigned avail, bytes_each = 0;
	void *s;
	int st[BURST];

	cr_assert_geq(sga_cdev_n_sessions(cd, &bytes_each), 64);
	cr_assert_gt(bytes_each, 0);
	cr_assert_eq(sga_random_bytes(key, sizeof(key)), 0);
	s = sga_cdev_session_create(cd, SGA_SUITE_AES128_GCM, SGA_CDEV_SEAL, key, HDR);
	pk = sga_aead_key_new(SGA_SUITE_AES128_GCM, SGA_AEAD_SEAL, key);
	cr_assert_not_null(s);
	cr_assert_not_null(pk);
	cr_assert_eq(sga_cdev_op_alloc_bulk(cd, ops, BURST), BURST);
	avail = rte_mempool_avail_count(ops[0]->mempool);
	for (int round = 0; round < 4; round++) {
		for (unsigned i = 0; i < BURST; i++) {
			cr_assert_eq(sga_random_bytes(frame, HDR + 100), 0);
			m[i] = mbuf_of(frame, HDR + 100, 16);
			sga_hop_nonce((uint64_t)round * BURST + i, nonce);
			sga_cdev_op_aead(ops[i], s, SGA_SUITE_AES128_GCM, m[i], 0, HDR, HDR, 100,
			                 nonce);
		}
		run(ops, BURST, st);
		for (unsigned i = 0; i < BURST; i++) {
			cr_assert_eq(st[i], 0, "round %d op %u", round, i);
			memcpy(ref, bytes(m[i]), HDR); /* the AAD stays in the clear */
			sga_hop_nonce((uint64_t)round * BURST + i, nonce);
			/* Reconstruct the plaintext: open the device's output on the CPU. */
			struct sga_aead_key *po =
			    sga_aead_key_new(SGA_SUITE_AES128_GCM, SGA_AEAD_OPEN, key);
			cr_assert_not_null(po);
			cr_assert_eq(sga_aead_key_open(po, nonce, bytes(m[i]), HDR,
			                               bytes(m[i]) + HDR, 116, ref + HDR, 100),
			             0);
			sga_aead_key_free(po);
			cr_assert_eq(
			    sga_aead_key_seal(pk, nonce, ref, HDR, ref + HDR, 100, ref + HDR, 116),
			    0);
			cr_assert_arr_eq(ref, bytes(m[i]), HDR + 116, "round %d op %u", round, i);
			rte_pktmbuf_free(m[i]);
			sga_cdev_op_reset(ops[i]);
			cr_assert_eq(ops[i]->status, RTE_CRYPTO_OP_STATUS_NOT_PROCESSED);
		}
		cr_assert_eq(rte_mempool_avail_count(ops[0]->mempool), avail,
		             "recycled ops never touch the pool");
	}
	for (unsigned i = 0; i < BURST; i++)
		sga_cdev_op_free(ops[i]);
	sga_aead_key_free(pk);
	sga_cdev_session_free(cd, s);
}
