/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_rekey.c - session rekey (PROTOCOL.md 7.15, protocol/sga_rekey.h)
 * through the in-memory harness: the key schedule of a generation, the codec,
 * the exchange with either or both devices starting it, the overlap in which
 * the old generation still opens frames in flight, and the attacks a rekey
 * must shrug off (replayed attempts, notices and replies, forged tags).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"
#include "sga_keys.h"
#include "sga_rekey.h"

static const uint8_t GCM[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_CHACHA20_POLY1305};
static const uint8_t CHA[] = {SGA_SUITE_CHACHA20_POLY1305, SGA_SUITE_AES128_GCM};

static void up(struct harness *h)
{
	cr_assert_eq(harness_init(h, SGA_GROUP_FFDHE2048, GCM, 2, CHA, 2), 0);
	cr_assert_eq(harness_full(h, GCM, 2), 0);
}

/* Seal message idx from device `from` (4-byte index as content). */
static void seal(struct harness *h, int from, uint32_t idx, uint8_t *f, size_t *n)
{
	uint8_t m[4] = {(uint8_t)(idx >> 24), (uint8_t)(idx >> 16), (uint8_t)(idx >> 8),
	                (uint8_t)idx};

	cr_assert_eq(sga_dev_data_seal(&h->sess[from], m, sizeof(m), f, SGA_FRAME_MAX, n), 0);
}

static int relay(struct harness *h, const uint8_t *f, size_t n, uint8_t *down, size_t *dn)
{
	uint8_t to;

	return sga_gw_data_relay(&h->gsess, f, n, down, SGA_FRAME_MAX, dn, &to);
}

/* Open a relayed DATA_DOWN at device k and check it carries message idx. */
static void open_expect(struct harness *h, int k, const uint8_t *down, size_t dn, uint32_t idx)
{
	uint8_t m[SGA_FRAME_MAX];
	size_t n = 0;

	cr_assert_eq(sga_dev_data_open(&h->sess[k], down, dn, m, sizeof(m), &n), 0,
	             "message %u at device %d", idx, k);
	cr_assert_eq(n, 4);
	cr_assert_eq((uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3], idx);
}

/* The SDK's settle, with the harness's strict in-order delivery. */
static void settle(struct harness *h)
{
	for (int k = 0; k < 2; k++)
		sga_dev_rekey_settle(&h->sess[k], h->sess[k].e2e_tx_seq,
		                     h->sess[k].e2e_rx_win.next);
}

/* ---- key schedule and codec ------------------------------------------------- */

Test(rekey_keys, generation_zero_is_the_handshake_and_each_generation_differs)
{
	uint8_t k_t[32], a[32], b[32], c[32];

	memset(k_t, 0x20, sizeof(k_t));
	cr_assert_eq(sga_key_kex(k_t, 7, SGA_SUITE_AES128_GCM, a), 0);
	cr_assert_eq(sga_key_kex_gen(k_t, 7, 0, SGA_SUITE_AES128_GCM, b), 0);
	cr_assert_eq(memcmp(a, b, 16), 0);
	cr_assert_eq(sga_key_kex_gen(k_t, 7, 1, SGA_SUITE_AES128_GCM, c), 0);
	cr_assert_neq(memcmp(a, c, 16), 0);
	cr_assert_eq(sga_key_hop_gen(k_t, 7, 1, SGA_SUITE_AES128_GCM, SGA_DIR_UP, a), 0);
	cr_assert_eq(sga_key_hop_gen(k_t, 7, 2, SGA_SUITE_AES128_GCM, SGA_DIR_UP, b), 0);
	cr_assert_neq(memcmp(a, b, 16), 0);
	cr_assert_eq(sga_key_hop_gen(k_t, 7, 1, SGA_SUITE_AES128_GCM, SGA_DIR_DOWN, c), 0);
	cr_assert_neq(memcmp(a, c, 16), 0);
	/* The k_d rekey key is not the ctl key. */
	cr_assert_eq(sga_key_ctl(k_t, SGA_SUITE_AES128_GCM, a), 0);
	cr_assert_eq(sga_key_sess_rekey(k_t, 7, SGA_SUITE_AES128_GCM, b), 0);
	cr_assert_neq(memcmp(a, b, 16), 0);
}

Test(rekey_codec, fields_checked)
{
	uint8_t buf[128], kt[32] = {0}, kex[3] = {1, 2, 3};
	struct sga_rekey_init_plain ri = {.gen = 1, .ctr = 9, .k_t = kt, .kex = kex, .kex_len = 3};
	struct sga_rekey_init_plain ro;
	struct sga_rekey_reply_plain rr = {.gen = 2, .epoch = 5, .kex = kex, .kex_len = 3}, rq;
	size_t n;
	uint32_t g;

	cr_assert_eq(sga_rekey_init_plain_encode(&ri, buf, sizeof(buf), &n), 0);
	cr_assert_eq(n, 4 + 8 + 32 + 3);
	cr_assert_eq(sga_rekey_init_plain_decode(buf, n, &ro), 0);
	cr_assert_eq(ro.gen, 1);
	cr_assert_eq(ro.ctr, 9);
	cr_assert_eq(ro.kex_len, 3);
	cr_assert_eq(sga_rekey_init_plain_decode(buf, 43, &ro), -SGA_E_TRUNCATED);
	buf[3] = 0; /* generation 0 is the handshake's: never rekeyed to */
	cr_assert_eq(sga_rekey_init_plain_decode(buf, n, &ro), -SGA_E_BAD_FIELD);
	ri.gen = 0;
	cr_assert_eq(sga_rekey_init_plain_encode(&ri, buf, sizeof(buf), &n), -SGA_E_BAD_FIELD);

	cr_assert_eq(sga_rekey_reply_plain_encode(&rr, buf, sizeof(buf), &n), 0);
	cr_assert_eq(sga_rekey_reply_plain_decode(buf, n, &rq), 0);
	cr_assert_eq(rq.gen, 2);
	cr_assert_eq(rq.epoch, 5);
	memset(buf + 4, 0, 8); /* epoch 0 */
	cr_assert_eq(sga_rekey_reply_plain_decode(buf, n, &rq), -SGA_E_BAD_FIELD);
	cr_assert_eq(sga_rekey_reply_plain_decode(buf, 11, &rq), -SGA_E_TRUNCATED);

	memcpy(buf, "\0\0\0\3", 4);
	cr_assert_eq(sga_rekey_notice_plain_decode(buf, 4, &g), 0);
	cr_assert_eq(g, 3);
	cr_assert_eq(sga_rekey_notice_plain_decode(buf, 3, &g), -SGA_E_TRUNCATED);
	cr_assert_eq(sga_rekey_notice_plain_decode(buf, 5, &g), -SGA_E_TRAILING);
	memset(buf, 0, 4);
	cr_assert_eq(sga_rekey_notice_plain_decode(buf, 4, &g), -SGA_E_BAD_FIELD);
}

/* ---- the exchange ------------------------------------------------------------- */

Test(rekey_flow, renews_every_key_and_keeps_the_session)
{
	struct harness h;
	uint8_t f[SGA_FRAME_MAX], d[SGA_FRAME_MAX];
	uint8_t old_tx[SGA_AEAD_MAX_KEY_LEN], old_up[SGA_AEAD_MAX_KEY_LEN], old_kt[32];
	uint64_t sid;
	size_t n, dn;

	up(&h);
	sid = h.gsess.session_id;
	memcpy(old_tx, h.sess[0].e2e_tx_key, sizeof(old_tx));
	memcpy(old_up, h.sess[0].hop_up, sizeof(old_up));
	memcpy(old_kt, h.gsess.k_t[0], sizeof(old_kt));
	for (uint32_t i = 1; i <= 3; i++) {
		seal(&h, 0, i, f, &n);
		cr_assert_eq(relay(&h, f, n, d, &dn), 0);
		open_expect(&h, 1, d, dn, i);
	}
	cr_assert_eq(harness_rekey(&h, 0), 0);
	cr_assert_eq(h.gsess.session_id, sid);
	cr_assert_eq(h.gsess.rk.gen, 1);
	cr_assert_eq(h.sess[0].rk.gen, 1);
	cr_assert_eq(h.sess[1].rk.gen, 1);
	cr_assert_neq(memcmp(old_tx, h.sess[0].e2e_tx_key, sizeof(old_tx)), 0);
	cr_assert_neq(memcmp(old_up, h.sess[0].hop_up, sizeof(old_up)), 0);
	cr_assert_neq(memcmp(old_kt, h.gsess.k_t[0], sizeof(old_kt)), 0);
	/* The E2E keys match across the devices and are not the gateway's to
	 * compute: it holds the new k_t, not R_i or R_j. */
	cr_assert_eq(memcmp(h.sess[0].e2e_tx_key, h.sess[1].e2e_rx_key, 16), 0);
	cr_assert_eq(memcmp(h.sess[1].e2e_tx_key, h.sess[0].e2e_rx_key, 16), 0);
	/* The confirmation took e2e_seq 4; messages carry on from 5, both ways. */
	cr_assert_eq(h.sess[0].rk.tx_from, 4);
	cr_assert_eq(h.sess[1].rk.rx_from, 4);
	for (uint32_t i = 5; i <= 8; i++) {
		seal(&h, 0, i, f, &n);
		cr_assert_eq(sga_dev_data_last_seq(&h.sess[0]), i);
		cr_assert_eq(relay(&h, f, n, d, &dn), 0);
		open_expect(&h, 1, d, dn, i);
		seal(&h, 1, 100 + i, f, &n);
		cr_assert_eq(relay(&h, f, n, d, &dn), 0);
		open_expect(&h, 0, d, dn, 100 + i);
	}
	settle(&h);
	for (int k = 0; k < 2; k++) {
		cr_assert(sga_dev_rekey_idle(&h.sess[k]), "device %d still in overlap", k);
		cr_assert_eq(h.sess[k].rk.prev_tx_live | h.sess[k].rk.prev_rx_live |
		                 h.sess[k].rk.prev_down_live,
		             0);
	}
	cr_assert_eq(h.gsess.rk.prev_live, 0, "the gateway's old up keys are wiped");
	harness_fini(&h);
}

Test(rekey_flow, old_generation_in_flight_is_opened_until_the_new_one_is_used)
{
	struct harness h;
	uint8_t f1[SGA_FRAME_MAX], f2[SGA_FRAME_MAX], f3[SGA_FRAME_MAX], d2[SGA_FRAME_MAX];
	uint8_t d[SGA_FRAME_MAX], cf[SGA_FRAME_MAX], m[SGA_FRAME_MAX];
	size_t n1, n2, n3, dn2, dn, cn, mn;

	up(&h);
	/* Sealed under generation 0 and still on their way when the rekey ends:
	 * f1, f3 from d_i to G; d2, relayed by G towards d_i. */
	seal(&h, 0, 1, f1, &n1);
	seal(&h, 0, 2, f3, &n3);
	seal(&h, 1, 50, f2, &n2);
	cr_assert_eq(relay(&h, f2, n2, d2, &dn2), 0);
	cr_assert_eq(harness_rekey_only(&h, 1), 0);
	/* G opens d_i's old frame under the old key and relays it under d_j's
	 * new hop key; d_j opens it with the old E2E key (seq below the boundary). */
	cr_assert_eq(relay(&h, f1, n1, d, &dn), 0);
	open_expect(&h, 1, d, dn, 1);
	/* d_i opens the old epoch's DATA_DOWN under the old hop-down key. */
	open_expect(&h, 0, d2, dn2, 50);
	/* d_i's confirmation (new generation) retires its old key at G... */
	cr_assert_eq(sga_dev_create_rekey_confirm(&h.sess[0], cf, sizeof(cf), &cn), 0);
	cr_assert_eq(relay(&h, cf, cn, d, &dn), 0);
	cr_assert_eq(sga_dev_data_open(&h.sess[1], d, dn, m, sizeof(m), &mn),
	             SGA_DEV_REKEY_CONFIRMED);
	cr_assert_eq(h.gsess.rk.prev_live & 1, 0);
	/* ...so a later old-generation frame no longer opens: d_i re-seals what is
	 * not acknowledged, under the new hop key and the old E2E key. */
	cr_assert_eq(relay(&h, f3, n3, d, &dn), -SGA_E_AUTH);
	cr_assert_eq(
	    sga_dev_data_reseal(&h.sess[0], 2, (const uint8_t *)"\0\0\0\2", 4, f3, sizeof(f3), &n3),
	    0);
	cr_assert_eq(relay(&h, f3, n3, d, &dn), 0);
	open_expect(&h, 1, d, dn, 2);
	harness_fini(&h);
}

Test(rekey_flow, both_devices_start_at_once)
{
	struct harness h;
	uint8_t a[SGA_FRAME_MAX], b[SGA_FRAME_MAX], again[SGA_FRAME_MAX];
	struct sga_gw_out out, out2;
	size_t an, bn, gn;
	uint32_t gen;
	int fresh;

	up(&h);
	cr_assert_eq(sga_dev_create_rekey_init(&h.dev[0], &h.sess[0], a, sizeof(a), &an), 0);
	cr_assert_eq(sga_dev_create_rekey_init(&h.dev[1], &h.sess[1], b, sizeof(b), &bn), 0);
	cr_assert_eq(
	    sga_gw_rekey_init_handle(&h.gw, &h.rec[0], &h.rec[1], &h.gsess, a, an, &out, &fresh),
	    0);
	cr_assert_eq(out.n, 1); /* a notice to d_j, which has asked already */
	cr_assert_eq(sga_dev_consume_rekey_notice(&h.dev[1], &h.sess[1], out.msg[0].frame,
	                                          out.msg[0].len, &gen),
	             0);
	/* d_j answers the notice with the same bytes: its own pending request. */
	cr_assert_eq(sga_dev_create_rekey_init(&h.dev[1], &h.sess[1], again, sizeof(again), &gn),
	             0);
	cr_assert_eq(gn, bn);
	cr_assert_eq(memcmp(again, b, bn), 0);
	cr_assert_eq(
	    sga_gw_rekey_init_handle(&h.gw, &h.rec[1], &h.rec[0], &h.gsess, b, bn, &out, &fresh),
	    0);
	cr_assert_eq(fresh, 1);
	cr_assert_eq(out.n, 2);
	/* The duplicate of d_j's request gets the cached reply, nothing else. */
	cr_assert_eq(sga_gw_rekey_init_handle(&h.gw, &h.rec[1], &h.rec[0], &h.gsess, again, gn,
	                                      &out2, &fresh),
	             0);
	cr_assert_eq(fresh, 0);
	cr_assert_eq(out2.n, 1);
	cr_assert_eq(out2.msg[0].len, out.msg[1].len);
	cr_assert_eq(memcmp(out2.msg[0].frame, out.msg[1].frame, out2.msg[0].len), 0);
	for (unsigned k = 0; k < 2; k++)
		cr_assert_eq(sga_dev_consume_rekey_reply(&h.dev[k], &h.sess[k], out.msg[k].frame,
		                                         out.msg[k].len),
		             0);
	/* A late duplicate reply: no rekey pending any more. */
	cr_assert_eq(
	    sga_dev_consume_rekey_reply(&h.dev[1], &h.sess[1], out2.msg[0].frame, out2.msg[0].len),
	    -SGA_E_BAD_STATE);
	cr_assert_eq(memcmp(h.sess[0].e2e_tx_key, h.sess[1].e2e_rx_key, 16), 0);
	harness_fini(&h);
}

/* A numbered stream both ways across eight rekeys, alternating initiators,
 * with old-generation frames in flight at every switch: every message
 * arrives once, in order. */
Test(rekey_flow, stream_across_rekeys_exactly_once_in_order)
{
	struct harness h;
	uint8_t f[2][SGA_FRAME_MAX], d[SGA_FRAME_MAX];
	size_t n[2], dn;
	uint32_t next[2] = {1, 1};

	up(&h);
	for (int round = 0; round < 8; round++) {
		for (int i = 0; i < 20; i++)
			for (int k = 0; k < 2; k++) {
				seal(&h, k, next[k], f[k], &n[k]);
				cr_assert_eq(relay(&h, f[k], n[k], d, &dn), 0);
				open_expect(&h, k ^ 1, d, dn, next[k]);
				next[k]++;
			}
		/* One frame each way sealed before the rekey, relayed after it. */
		for (int k = 0; k < 2; k++)
			seal(&h, k, next[k], f[k], &n[k]);
		cr_assert_eq(harness_rekey_only(&h, round & 1), 0, "round %d", round);
		for (int k = 0; k < 2; k++) {
			cr_assert_eq(relay(&h, f[k], n[k], d, &dn), 0);
			open_expect(&h, k ^ 1, d, dn, next[k]);
			next[k]++;
		}
		for (int k = 0; k < 2; k++) {
			uint8_t m[SGA_FRAME_MAX];
			size_t mn;

			cr_assert_eq(
			    sga_dev_create_rekey_confirm(&h.sess[k], f[k], sizeof(f[k]), &n[k]), 0);
			cr_assert_eq(relay(&h, f[k], n[k], d, &dn), 0);
			cr_assert_eq(sga_dev_data_open(&h.sess[k ^ 1], d, dn, m, sizeof(m), &mn),
			             SGA_DEV_REKEY_CONFIRMED);
		}
		settle(&h);
		cr_assert_eq(h.sess[0].rk.gen, (uint32_t)round + 1);
	}
	harness_fini(&h);
}

Test(rekey_flow, no_rekey_before_the_overlap_ends)
{
	struct harness h;
	uint8_t f[SGA_FRAME_MAX];
	size_t n;

	up(&h);
	cr_assert_eq(harness_rekey(&h, 0), 0);
	/* d_j has not delivered past d_i's confirmation yet (no settle). */
	cr_assert_eq(sga_dev_create_rekey_init(&h.dev[1], &h.sess[1], f, sizeof(f), &n),
	             -SGA_E_BAD_STATE);
	settle(&h);
	cr_assert_eq(sga_dev_create_rekey_init(&h.dev[1], &h.sess[1], f, sizeof(f), &n), 0);
	harness_fini(&h);
}

/* ---- attacks: nothing changes ------------------------------------------------- */

/* An earlier attempt of the pending generation, replayed after the device
 * gave it up and sent a new one: the counter refuses it, byte for byte
 * nothing moves, and the rekey then completes with the device's keys. */
Test(rekey_attacks, replayed_earlier_attempt_changes_nothing)
{
	struct harness h;
	uint8_t a[SGA_FRAME_MAX], b[SGA_FRAME_MAX];
	struct sga_gw_session before;
	struct sga_gw_device rec_before;
	struct sga_gw_out out;
	size_t an, bn;
	int fresh;

	up(&h);
	cr_assert_eq(sga_dev_create_rekey_init(&h.dev[0], &h.sess[0], a, sizeof(a), &an), 0);
	cr_assert_eq(
	    sga_gw_rekey_init_handle(&h.gw, &h.rec[0], &h.rec[1], &h.gsess, a, an, &out, &fresh),
	    0);
	sga_dev_rekey_abandon(&h.sess[0]); /* no reply came: a new attempt */
	cr_assert_eq(sga_dev_create_rekey_init(&h.dev[0], &h.sess[0], b, sizeof(b), &bn), 0);
	cr_assert_eq(
	    sga_gw_rekey_init_handle(&h.gw, &h.rec[0], &h.rec[1], &h.gsess, b, bn, &out, &fresh),
	    0);
	before = h.gsess;
	rec_before = h.rec[0];
	cr_assert_eq(
	    sga_gw_rekey_init_handle(&h.gw, &h.rec[0], &h.rec[1], &h.gsess, a, an, &out, &fresh),
	    -SGA_E_REPLAY);
	cr_assert_eq(out.n, 0);
	cr_assert_eq(memcmp(&before, &h.gsess, sizeof(before)), 0, "the session record moved");
	cr_assert_eq(memcmp(&rec_before, &h.rec[0], sizeof(rec_before)), 0);
	/* The peer completes; d_i's reply is for its latest attempt. */
	cr_assert_eq(sga_dev_create_rekey_init(&h.dev[1], &h.sess[1], b, sizeof(b), &bn), 0);
	cr_assert_eq(
	    sga_gw_rekey_init_handle(&h.gw, &h.rec[1], &h.rec[0], &h.gsess, b, bn, &out, &fresh),
	    0);
	cr_assert_eq(out.n, 2);
	cr_assert_eq(
	    sga_dev_consume_rekey_reply(&h.dev[0], &h.sess[0], out.msg[0].frame, out.msg[0].len),
	    0);
	harness_fini(&h);
}

/* A REKEY_INIT of an older generation, replayed after the session moved on. */
Test(rekey_attacks, replayed_old_generation_changes_nothing)
{
	struct harness h;
	uint8_t old[SGA_FRAME_MAX];
	struct sga_gw_session before;
	struct sga_gw_out out;
	size_t on;
	int fresh;

	up(&h);
	cr_assert_eq(sga_dev_create_rekey_init(&h.dev[0], &h.sess[0], old, sizeof(old), &on), 0);
	sga_dev_rekey_abandon(&h.sess[0]);
	cr_assert_eq(harness_rekey(&h, 0), 0);
	before = h.gsess;
	cr_assert_eq(
	    sga_gw_rekey_init_handle(&h.gw, &h.rec[0], &h.rec[1], &h.gsess, old, on, &out, &fresh),
	    -SGA_E_REPLAY);
	cr_assert_eq(out.n, 0);
	cr_assert_eq(memcmp(&before, &h.gsess, sizeof(before)), 0);
	harness_fini(&h);
}

Test(rekey_attacks, forged_tags_change_nothing)
{
	struct harness h;
	uint8_t a[SGA_FRAME_MAX], b[SGA_FRAME_MAX];
	struct sga_gw_session before;
	struct sga_dev_sess sbefore;
	struct sga_gw_out out;
	size_t an, bn;
	int fresh;

	up(&h);
	cr_assert_eq(sga_dev_create_rekey_init(&h.dev[0], &h.sess[0], a, sizeof(a), &an), 0);
	before = h.gsess;
	for (size_t i = 0; i < an; i += 37) {
		a[i] ^= 0x01;
		cr_assert_neq(sga_gw_rekey_init_handle(&h.gw, &h.rec[0], &h.rec[1], &h.gsess, a, an,
		                                       &out, &fresh),
		              0, "byte %zu", i);
		cr_assert_eq(out.n, 0);
		a[i] ^= 0x01;
	}
	cr_assert_eq(memcmp(&before, &h.gsess, sizeof(before)), 0);
	/* The genuine one, and the peer's: then forged replies at the device. */
	cr_assert_eq(
	    sga_gw_rekey_init_handle(&h.gw, &h.rec[0], &h.rec[1], &h.gsess, a, an, &out, &fresh),
	    0);
	cr_assert_eq(sga_dev_create_rekey_init(&h.dev[1], &h.sess[1], b, sizeof(b), &bn), 0);
	cr_assert_eq(
	    sga_gw_rekey_init_handle(&h.gw, &h.rec[1], &h.rec[0], &h.gsess, b, bn, &out, &fresh),
	    0);
	sbefore = h.sess[0];
	for (size_t i = 0; i < out.msg[0].len; i += 29) {
		out.msg[0].frame[i] ^= 0x80;
		cr_assert_neq(sga_dev_consume_rekey_reply(&h.dev[0], &h.sess[0], out.msg[0].frame,
		                                          out.msg[0].len),
		              0);
		out.msg[0].frame[i] ^= 0x80;
	}
	cr_assert_eq(memcmp(&sbefore, &h.sess[0], sizeof(sbefore)), 0);
	cr_assert_eq(
	    sga_dev_consume_rekey_reply(&h.dev[0], &h.sess[0], out.msg[0].frame, out.msg[0].len),
	    0);
	harness_fini(&h);
}

/* Old notices and replies, replayed to a device at a later generation. */
Test(rekey_attacks, replayed_notice_and_reply_change_nothing)
{
	struct harness h;
	uint8_t a[SGA_FRAME_MAX], b[SGA_FRAME_MAX], notice[SGA_FRAME_MAX], reply[SGA_FRAME_MAX];
	struct sga_dev_sess sbefore;
	struct sga_gw_out out;
	size_t an, bn, nn, rn;
	uint32_t gen;
	int fresh;

	up(&h);
	cr_assert_eq(sga_dev_create_rekey_init(&h.dev[0], &h.sess[0], a, sizeof(a), &an), 0);
	cr_assert_eq(
	    sga_gw_rekey_init_handle(&h.gw, &h.rec[0], &h.rec[1], &h.gsess, a, an, &out, &fresh),
	    0);
	nn = out.msg[0].len;
	memcpy(notice, out.msg[0].frame, nn);
	cr_assert_eq(sga_dev_create_rekey_init(&h.dev[1], &h.sess[1], b, sizeof(b), &bn), 0);
	cr_assert_eq(
	    sga_gw_rekey_init_handle(&h.gw, &h.rec[1], &h.rec[0], &h.gsess, b, bn, &out, &fresh),
	    0);
	rn = out.msg[0].len;
	memcpy(reply, out.msg[0].frame, rn);
	for (unsigned k = 0; k < 2; k++)
		cr_assert_eq(sga_dev_consume_rekey_reply(&h.dev[k], &h.sess[k], out.msg[k].frame,
		                                         out.msg[k].len),
		             0);
	cr_assert_eq(sga_dev_consume_rekey_notice(&h.dev[1], &h.sess[1], notice, nn, &gen),
	             -SGA_E_REPLAY);
	/* d_i at generation 1, pending generation 2: the reply of 1 does not open. */
	h.sess[0].rk.confirm_sent = h.sess[0].rk.peer_confirmed = 1;
	h.sess[0].rk.prev_tx_live = h.sess[0].rk.prev_rx_live = h.sess[0].rk.prev_down_live = 0;
	cr_assert_eq(sga_dev_create_rekey_init(&h.dev[0], &h.sess[0], a, sizeof(a), &an), 0);
	sbefore = h.sess[0];
	cr_assert_eq(sga_dev_consume_rekey_reply(&h.dev[0], &h.sess[0], reply, rn), -SGA_E_AUTH);
	cr_assert_eq(memcmp(&sbefore, &h.sess[0], sizeof(sbefore)), 0);
	harness_fini(&h);
}
