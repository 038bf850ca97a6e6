/* SPDX-License-Identifier: BSD-3-Clause */
/* test_dp_store.c - store and forward for one lcore: a message is acknowledged
 * only once durable, held until the recipient reports delivery, re-sent with
 * backoff, and recovered from the log after a restart. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>

#include "dp_store.h"
#include "eal_tidy.h"

static char dir[64];

static void eal_up(void)
{
	char prefix[64];
	char *argv[] = {
	    "test",        "--no-pci",       "--no-huge", "-m", "256", "--log-level=*:error",
	    "--no-shconf", "--no-telemetry", prefix,      NULL};

	snprintf(prefix, sizeof(prefix), "--file-prefix=sgastore%d", getpid());
	cr_assert_geq(rte_eal_init(9, argv), 0, "EAL");
	eal_tidy();
	snprintf(dir, sizeof(dir), "/tmp/sga-dpstore-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void eal_down(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
	rte_eal_cleanup();
}

TestSuite(dp_store, .init = eal_up, .fini = eal_down);

static struct dp_store *open_store_aged(enum msg_log_fsync fsync, unsigned pending_max,
                                        uint64_t max_age_ms, struct dp_store_report *rep)
{
	struct dp_store_config c = {
	    .dir = dir,
	    .lcore_index = 0,
	    .n_lcores = 1,
	    .fsync = fsync,
	    .pending_max = pending_max,
	    .max_age_ms = max_age_ms,
	    .resend_min_ms = 50,
	    .resend_max_ms = 400,
	};
	struct dp_store *st = dp_store_create(&c, rep);

	cr_assert_not_null(st, "dp_store_create: %s", strerror(errno));
	return st;
}

static struct dp_store *open_store(enum msg_log_fsync fsync, unsigned pending_max,
                                   struct dp_store_report *rep)
{
	return open_store_aged(fsync, pending_max, 0, rep);
}

static void inner_for(uint64_t seq, uint8_t *b, size_t *len)
{
	*len = (size_t)snprintf((char *)b, 64, "inner-%llu-xxxxxxxx", (unsigned long long)seq);
}

/* Messages lo..hi-1 of session sid from role `from`: each put returns want. */
static void put_range(struct dp_store *st, uint64_t sid, uint8_t from, uint64_t lo, uint64_t hi,
                      enum dp_store_put_rc want)
{
	uint8_t b[64];
	size_t len;

	for (uint64_t q = lo; q < hi; q++) {
		inner_for(q, b, &len);
		cr_assert_eq(dp_store_put(st, sid, from, q, b, len), want, "seq %llu",
		             (unsigned long long)q);
	}
}

/* Wait (bounded) until n acks are due. */
static unsigned wait_acks(struct dp_store *st, struct dp_store_ack *a, unsigned n)
{
	unsigned got = 0;

	for (int i = 0; i < 500 && got < n; i++) {
		got += dp_store_acks_due(st, a + got, n - got);
		if (got < n)
			usleep(2000);
	}
	return got;
}

Test(dp_store, ack_after_durable_then_release)
{
	struct dp_store_report rep;
	struct dp_store *st = open_store(MSG_LOG_FSYNC_ALWAYS, 64, &rep);
	struct dp_store_ack a[16];
	struct dp_store_stats s;
	uint8_t b[64];
	size_t len;

	put_range(st, 0xabc, 0, 0, 10, DP_STORE_RELAY);
	cr_assert_eq(wait_acks(st, a, 10), 10, "every message acknowledged once durable");
	for (unsigned i = 0; i < 10; i++) {
		cr_assert_eq(a[i].session_id, 0xabc);
		cr_assert_eq(a[i].role, 0, "the ACK goes to the sender");
		cr_assert_eq(a[i].e2e_seq, i, "in order");
	}
	dp_store_stats(st, &s);
	cr_assert_eq(s.pending, 10);
	cr_assert_eq(s.recipients, 1);
	/* A retransmission of a held message: not stored twice, acknowledged again. */
	inner_for(3, b, &len);
	cr_assert_eq(dp_store_put(st, 0xabc, 0, 3, b, len), DP_STORE_HAVE);
	cr_assert_eq(wait_acks(st, a, 1), 1);
	cr_assert_eq(a[0].e2e_seq, 3);
	/* The recipient (role 1) holds 0..6. */
	dp_store_delivered(st, 0xabc, 1, 7, dp_store_now_ms(), NULL, 0);
	dp_store_stats(st, &s);
	cr_assert_eq(s.pending, 3);
	cr_assert_eq(s.delivered, 7);
	/* A delivered message sent again: ACK at once, no relay. */
	cr_assert_eq(dp_store_put(st, 0xabc, 0, 2, b, len), DP_STORE_DONE);
	dp_store_delivered(st, 0xabc, 1, 10, dp_store_now_ms(), NULL, 0);
	dp_store_stats(st, &s);
	cr_assert_eq(s.pending, 0);
	cr_assert_eq(s.recipients, 0);
	dp_store_destroy(st);

	/* Everything was released: nothing comes back. */
	st = open_store(MSG_LOG_FSYNC_ALWAYS, 64, &rep);
	cr_assert_eq(rep.live, 0);
	dp_store_destroy(st);
}

Test(dp_store, resend_with_backoff_and_kick)
{
	struct dp_store_report rep;
	struct dp_store *st = open_store(MSG_LOG_FSYNC_NONE, 64, &rep);
	struct dp_store_resend r[32];
	uint8_t b[64];
	size_t len;
	uint64_t t0 = dp_store_now_ms();

	put_range(st, 7, 1, 0, 3, DP_STORE_RELAY);
	/* Not before resend_min: the relay delivered it a moment ago. */
	cr_assert_eq(dp_store_resends_due(st, t0, r, 32), 0);
	cr_assert_eq(dp_store_resends_due(st, t0 + 60, r, 32), 3);
	cr_assert_eq(r[0].role, 0, "to the recipient");
	cr_assert_eq(r[0].session_id, 7);
	inner_for(0, b, &len);
	cr_assert_eq(r[0].len, len);
	cr_assert_eq(memcmp(r[0].inner, b, len), 0);
	/* Then after the current backoff (50 ms), which doubles each round. */
	cr_assert_eq(dp_store_resends_due(st, t0 + 60 + 40, r, 32), 0);
	cr_assert_eq(dp_store_resends_due(st, t0 + 60 + 51, r, 32), 3);
	cr_assert_eq(dp_store_resends_due(st, t0 + 111 + 90, r, 32), 0, "100 ms now");
	/* The recipient shows up: its backlog goes out at once. */
	dp_store_kick(st, 7, 0);
	cr_assert_eq(dp_store_resends_due(st, t0 + 111 + 90, r, 32), 3);
	dp_store_delivered(st, 7, 0, 3, dp_store_now_ms(), NULL, 0);
	cr_assert_eq(dp_store_resends_due(st, t0 + 100000, r, 32), 0);
	dp_store_destroy(st);
}

Test(dp_store, recovery_rebuilds_pending)
{
	struct dp_store_report rep;
	struct dp_store *st = open_store(MSG_LOG_FSYNC_ALWAYS, 64, &rep);
	struct dp_store_ack a[8];
	struct dp_store_resend r[16];
	uint8_t b[64];
	size_t len;

	put_range(st, 0x55, 0, 0, 5, DP_STORE_RELAY);
	cr_assert_eq(wait_acks(st, a, 5), 5);
	dp_store_delivered(st, 0x55, 1, 2, dp_store_now_ms(), NULL, 0); /* 0 and 1 delivered */
	dp_store_destroy(st);

	st = open_store(MSG_LOG_FSYNC_ALWAYS, 64, &rep);
	cr_assert_eq(rep.live, 3, "the three undelivered messages are back");
	cr_assert_eq(dp_store_resends_due(st, dp_store_now_ms(), r, 16), 3,
	             "and due for delivery at once");
	for (unsigned i = 0; i < 3; i++) {
		inner_for(2 + i, b, &len);
		cr_assert_eq(r[i].e2e_seq, 2 + i);
		cr_assert_eq(r[i].len, len);
		cr_assert_eq(memcmp(r[i].inner, b, len), 0, "byte-identical payload");
	}
	dp_store_delivered(st, 0x55, 1, 5, dp_store_now_ms(), NULL, 0);
	dp_store_destroy(st);
	st = open_store(MSG_LOG_FSYNC_ALWAYS, 64, &rep);
	cr_assert_eq(rep.live, 0);
	dp_store_destroy(st);
}

Test(dp_store, full_pool_refuses)
{
	struct dp_store_report rep;
	struct dp_store *st = open_store(MSG_LOG_FSYNC_NONE, 4, &rep);
	struct dp_store_stats s;
	uint8_t b[64];
	size_t len;

	put_range(st, 9, 0, 0, 4, DP_STORE_RELAY);
	inner_for(4, b, &len);
	cr_assert_eq(dp_store_put(st, 9, 0, 4, b, len), DP_STORE_FULL,
	             "no room: no ACK, the sender retries");
	dp_store_stats(st, &s);
	cr_assert_eq(s.refused_full, 1);
	dp_store_delivered(st, 9, 1, 2, dp_store_now_ms(), NULL, 0);
	cr_assert_eq(dp_store_put(st, 9, 0, 4, b, len), DP_STORE_RELAY,
	             "room again after delivery");
	dp_store_destroy(st);
}

/* After a restart nothing says where a recovered backlog starts (the device's
 * DATA_DELIVERED may never come if it is idle): the re-send scan must find it
 * wherever its numbers are, and a delivery report far above must release it
 * without walking every number from zero. */
Test(dp_store, recovery_far_from_zero)
{
	const uint64_t base = 1000000;
	struct dp_store_report rep;
	struct dp_store *st = open_store(MSG_LOG_FSYNC_ALWAYS, 64, &rep);
	struct dp_store_ack a[8];
	struct dp_store_resend r[16];
	struct dp_store_stats s;

	put_range(st, 0x66, 1, base, base + 5, DP_STORE_RELAY);
	cr_assert_eq(wait_acks(st, a, 5), 5);
	dp_store_destroy(st);

	st = open_store(MSG_LOG_FSYNC_ALWAYS, 64, &rep);
	cr_assert_eq(rep.live, 5);
	cr_assert_eq(dp_store_resends_due(st, dp_store_now_ms(), r, 16), 5,
	             "the backlog is found at once");
	for (unsigned i = 0; i < 5; i++) {
		cr_assert_eq(r[i].role, 0);
		cr_assert_eq(r[i].e2e_seq, base + i, "in order");
	}
	dp_store_delivered(st, 0x66, 0, base + 5, dp_store_now_ms(), NULL, 0);
	dp_store_stats(st, &s);
	cr_assert_eq(s.pending, 0);
	cr_assert_eq(s.delivered, 5);
	dp_store_destroy(st);
}

/* A gap in the held numbers (messages the store refused, sent again later):
 * the scan moves past it and still delivers in order. */
Test(dp_store, resend_scan_crosses_gaps)
{
	struct dp_store_report rep;
	struct dp_store *st = open_store(MSG_LOG_FSYNC_NONE, 64, &rep);
	struct dp_store_resend r[16];
	uint8_t b[64];
	size_t len;
	uint64_t t = dp_store_now_ms() + 1000;
	unsigned got = 0;

	put_range(st, 3, 0, 10, 13, DP_STORE_RELAY);
	for (uint64_t q = 5000; q < 5003; q++) {
		inner_for(q, b, &len);
		cr_assert_eq(dp_store_put(st, 3, 0, q, b, len), DP_STORE_HOLD,
		             "far ahead of a backlog: held");
	}
	dp_store_delivered(st, 3, 1, 13, dp_store_now_ms(), NULL,
	                   0); /* 10..12 delivered; 13..4999 never came */
	for (int round = 0; round < 20 && got < 3; round++)
		got += dp_store_resends_due(st, t + (uint64_t)round, r + got, 16 - got);
	cr_assert_eq(got, 3, "the held messages behind the gap go out");
	for (unsigned i = 0; i < 3; i++)
		cr_assert_eq(r[i].e2e_seq, 5000 + i);
	dp_store_destroy(st);
}

/* A recipient that falls behind: new messages more than DP_STORE_HOLD_AHEAD
 * above its oldest held one are stored and held, not relayed, and the scan
 * sends them in order, never running further ahead of the oldest undelivered
 * one than the E2E replay window allows. */
Test(dp_store, slow_recipient_holds_new_messages)
{
	/* room for new messages: the pool less its reserve for holes */
	const unsigned room = DP_STORE_HOLD_AHEAD + 16;
	struct dp_store_report rep;
	struct dp_store *st;
	struct dp_store_resend r[64];
	struct dp_store_stats s;
	uint8_t b[64];
	size_t len;
	uint64_t q, t = dp_store_now_ms();
	unsigned n, pool = room;

	while (pool - pool / DP_STORE_RESERVE_DIV < room)
		pool++;
	st = open_store(MSG_LOG_FSYNC_NONE, pool, &rep);
	for (q = 0; q < DP_STORE_HOLD_AHEAD; q++) {
		inner_for(q, b, &len);
		cr_assert_eq(dp_store_put(st, 4, 0, q, b, len), DP_STORE_RELAY, "seq %llu",
		             (unsigned long long)q);
	}
	for (; q < room; q++) {
		inner_for(q, b, &len);
		cr_assert_eq(dp_store_put(st, 4, 0, q, b, len), DP_STORE_HOLD, "seq %llu",
		             (unsigned long long)q);
	}
	/* Only the reserve for holes is left: a new message is refused, and not
	 * relayed either. */
	inner_for(q, b, &len);
	cr_assert_eq(dp_store_put(st, 4, 0, q, b, len), DP_STORE_REFUSED_HOLD);
	/* Another recipient with nothing held: refused but relayed unstored. */
	cr_assert_eq(dp_store_put(st, 5, 0, 0, b, len), DP_STORE_FULL);
	dp_store_stats(st, &s);
	cr_assert_eq(s.held, 16);
	cr_assert_eq(s.refused_full, 2);

	/* The held ones lie beyond the recipient's window: the re-send scan
	 * leaves them alone, as it does the relayed ones (sent a moment ago). */
	cr_assert_eq(dp_store_resends_due(st, t, r, 64), 0);

	/* The recipient reports 0..99: the window moves up by 100 and the held
	 * ones it now reaches go out at once, in order. */
	n = dp_store_delivered(st, 4, 1, 100, t, r, 64);
	cr_assert_eq(n, 16);
	for (unsigned i = 0; i < n; i++)
		cr_assert_eq(r[i].e2e_seq, DP_STORE_HOLD_AHEAD + i, "in order");
	/* New messages up to 100 + HOLD_AHEAD - 1 are relayed again, beyond that
	 * held. */
	inner_for(q, b, &len);
	cr_assert_eq(dp_store_put(st, 4, 0, q, b, len), DP_STORE_RELAY);
	q = 100 + DP_STORE_HOLD_AHEAD;
	inner_for(q, b, &len);
	cr_assert_eq(dp_store_put(st, 4, 0, q, b, len), DP_STORE_HOLD);
	/* Released in bursts of at most n: the scan sends the rest. */
	cr_assert_eq(dp_store_delivered(st, 4, 1, 101, t, r, 0), 0);
	cr_assert_eq(dp_store_resends_due(st, t, r, 64), 1);
	cr_assert_eq(r[0].e2e_seq, q);

	/* A retransmission of a held message is not stored twice. */
	inner_for(DP_STORE_HOLD_AHEAD, b, &len);
	cr_assert_eq(dp_store_put(st, 4, 0, DP_STORE_HOLD_AHEAD, b, len), DP_STORE_HAVE);
	dp_store_destroy(st);
}

/* A recipient that stays silent: whole passes of re-sends back off (50, 100,
 * 200, 400 ms here), even when a pass ends on a full round; and its first
 * sign of life brings the backlog at once. */
Test(dp_store, silent_recipient_backs_off)
{
	struct dp_store_report rep;
	struct dp_store *st = open_store(MSG_LOG_FSYNC_NONE, 64, &rep);
	struct dp_store_resend r[64];
	uint64_t t0, total = 0;
	unsigned passes = 0;

	put_range(st, 8, 0, 0, 32, DP_STORE_RELAY);
	t0 = dp_store_now_ms() + 60;
	for (uint64_t t = t0; t < t0 + 1000; t++) { /* one call a millisecond, as the lcore */
		unsigned n = dp_store_resends_due(st, t, r, 64);

		if (n && total % 32 == 0)
			passes++;
		total += n;
	}
	cr_assert_eq(total % 32, 0, "whole passes");
	cr_assert_eq(passes, 5, "passes at 0, 50, 150, 350, 750 ms: %u (%llu re-sends)", passes,
	             (unsigned long long)total);
	dp_store_kick(st, 8, 1);
	cr_assert_eq(dp_store_resends_due(st, t0 + 1000, r, 64), 16, "back: at once");
	dp_store_destroy(st);
}

/*
 * Many silent recipients, one message each, and a backoff that grows longer
 * than the scan's timer wheel reaches (8,192 ms): each recipient's passes come
 * exactly at their times (gaps of 50, 100, ..., 12,800 ms), none early, none
 * late, none twice, also after a gap beyond the wheel (linked in its farthest
 * slot, then again).
 */
Test(dp_store, many_recipients_each_resent_at_its_time)
{
	enum { N = 2000, SPAN = 27000 };
	static const uint64_t gaps[] = {50, 100, 200, 400, 800, 1600, 3200, 6400, 12800};
	struct dp_store_config c = {.dir = dir,
	                            .n_lcores = 1,
	                            .fsync = MSG_LOG_FSYNC_NONE,
	                            .pending_max = 4096,
	                            .resend_min_ms = 50,
	                            .resend_max_ms = 20000};
	struct dp_store_report rep;
	struct dp_store *st = dp_store_create(&c, &rep);
	/* Room for one more than can be due: a full out continues the pass of
	 * the recipient that filled it in the next round (as it should), which
	 * would move that one's times by a millisecond. */
	static struct dp_store_resend r[N + 1];
	static uint64_t last[N];
	static unsigned passes[N];
	uint64_t t0;

	cr_assert_not_null(st);
	for (unsigned i = 0; i < N; i++)
		put_range(st, 1000 + i, 0, 0, 1, DP_STORE_RELAY);
	t0 = dp_store_now_ms();
	for (uint64_t t = t0; t < t0 + SPAN; t++) { /* one call a millisecond, as the lcore */
		unsigned n = dp_store_resends_due(st, t, r, N + 1);

		for (unsigned k = 0; k < n; k++) {
			unsigned i = (unsigned)(r[k].session_id - 1000);

			cr_assert_lt(i, N);
			cr_assert_eq(r[k].role, 1);
			if (passes[i])
				cr_assert_eq(
				    t - last[i], gaps[passes[i] - 1],
				    "recipient %u, pass %u: %llu ms after the last, not %llu", i,
				    passes[i], (unsigned long long)(t - last[i]),
				    (unsigned long long)gaps[passes[i] - 1]);
			last[i] = t;
			passes[i]++;
		}
	}
	/* First passes at ~50 ms, then 9 more within 25,550 ms. */
	for (unsigned i = 0; i < N; i++)
		cr_assert_eq(passes[i], 10, "recipient %u: %u passes", i, passes[i]);
	dp_store_destroy(st);
}

/* A repeated delivery report (no progress while later messages arrive) means
 * the message at next_e2e_seq was lost: it goes out again at once, once per
 * hole; the timer covers a lost second copy. */
Test(dp_store, repeated_report_resends_the_hole)
{
	struct dp_store_report rep;
	struct dp_store *st = open_store(MSG_LOG_FSYNC_NONE, 64, &rep);
	struct dp_store_resend r[8];
	uint8_t b[64];
	size_t len;
	uint64_t t = dp_store_now_ms();

	put_range(st, 6, 1, 0, 10, DP_STORE_RELAY);
	cr_assert_eq(dp_store_delivered(st, 6, 0, 3, t, r, 8), 0, "progress: nothing to send");
	cr_assert_eq(dp_store_delivered(st, 6, 0, 3, t, r, 8), 1, "the same report: 3 is missing");
	cr_assert_eq(r[0].e2e_seq, 3);
	cr_assert_eq(r[0].role, 0);
	inner_for(3, b, &len);
	cr_assert_eq(r[0].len, len);
	cr_assert_eq(memcmp(r[0].inner, b, len), 0);
	cr_assert_eq(dp_store_delivered(st, 6, 0, 3, t, r, 8), 0, "once per hole");
	cr_assert_eq(dp_store_delivered(st, 6, 0, 2, t, r, 8), 0, "an overtaken report");
	cr_assert_eq(dp_store_delivered(st, 6, 0, 7, t, r, 8), 0);
	cr_assert_eq(dp_store_delivered(st, 6, 0, 7, t, r, 8), 1, "a new hole");
	cr_assert_eq(r[0].e2e_seq, 7);
	dp_store_destroy(st);
}

/* After a refused message nothing later is taken until the sender gets that
 * one stored: a hole that stayed open would keep the recipient (in-order
 * delivery) from ever reaching the stored messages behind it. */
Test(dp_store, nothing_taken_behind_a_refused_message)
{
	struct dp_store_report rep;
	struct dp_store *st = open_store(MSG_LOG_FSYNC_NONE, 4, &rep);
	struct dp_store_stats s;
	uint8_t b[64];
	size_t len;

	put_range(st, 2, 0, 0, 4, DP_STORE_RELAY);
	inner_for(4, b, &len);
	cr_assert_eq(dp_store_put(st, 2, 0, 4, b, len), DP_STORE_FULL, "relayed unstored, no ACK");
	dp_store_delivered(st, 2, 1, 2, dp_store_now_ms(), NULL, 0); /* room for two */
	inner_for(5, b, &len);
	cr_assert_eq(dp_store_put(st, 2, 0, 5, b, len), DP_STORE_REFUSED_HOLD,
	             "behind the refused one: neither stored nor relayed");
	dp_store_stats(st, &s);
	cr_assert_eq(s.refused_behind_gap, 1);
	inner_for(4, b, &len);
	cr_assert_eq(dp_store_put(st, 2, 0, 4, b, len), DP_STORE_RELAY, "the sender's retry");
	inner_for(5, b, &len);
	cr_assert_eq(dp_store_put(st, 2, 0, 5, b, len), DP_STORE_RELAY, "and the next one again");
	dp_store_destroy(st);
}

/* The refused message was relayed unstored and reached the recipient: its
 * report closes the hole, and later messages are taken again. */
Test(dp_store, refused_message_delivered_unstored_closes_the_gap)
{
	struct dp_store_report rep;
	struct dp_store *st = open_store(MSG_LOG_FSYNC_NONE, 2, &rep);
	uint8_t b[64];
	size_t len;

	put_range(st, 1, 0, 0, 2, DP_STORE_RELAY);
	inner_for(2, b, &len);
	cr_assert_eq(dp_store_put(st, 1, 0, 2, b, len), DP_STORE_FULL);
	dp_store_delivered(st, 1, 1, 3, dp_store_now_ms(), NULL, 0); /* it got 0, 1 and 2 */
	inner_for(2, b, &len);
	cr_assert_eq(dp_store_put(st, 1, 0, 2, b, len), DP_STORE_DONE, "the sender's retry: ACK");
	inner_for(3, b, &len);
	cr_assert_eq(dp_store_put(st, 1, 0, 3, b, len), DP_STORE_RELAY, "no gap any more");
	dp_store_destroy(st);
}

/* ...but the messages refused behind it did not: the hole is now the first
 * one the recipient lacks, and nothing after it is taken before it. */
Test(dp_store, gap_moves_to_the_report_when_messages_were_refused_behind_it)
{
	struct dp_store_report rep;
	struct dp_store *st = open_store(MSG_LOG_FSYNC_NONE, 2, &rep);
	struct dp_store_ack a[8];
	uint8_t b[64];
	size_t len;

	put_range(st, 1, 0, 0, 2, DP_STORE_RELAY);
	put_range(st, 1, 0, 2, 3, DP_STORE_FULL);
	put_range(st, 1, 0, 3, 5, DP_STORE_REFUSED_HOLD);            /* behind the gap */
	dp_store_delivered(st, 1, 1, 3, dp_store_now_ms(), NULL, 0); /* it got 0, 1 and 2 */
	inner_for(4, b, &len);
	cr_assert_eq(dp_store_put(st, 1, 0, 4, b, len), DP_STORE_REFUSED_HOLD,
	             "3 was refused behind 2 and is missing: 4 must not overtake it");
	inner_for(3, b, &len);
	cr_assert_eq(dp_store_put(st, 1, 0, 3, b, len), DP_STORE_RELAY, "the hole itself");
	cr_assert_eq(wait_acks(st, a, 3), 3, "0, 1 and 3 (room in the ACK queue)");
	inner_for(4, b, &len);
	cr_assert_eq(dp_store_put(st, 1, 0, 4, b, len), DP_STORE_RELAY, "then the next one");
	dp_store_destroy(st);
}

/* The pool's last slots are kept for holes: a message below the highest one
 * held for its recipient is stored there, a new one is refused. */
Test(dp_store, reserve_keeps_room_for_a_hole)
{
	const unsigned pool = 2 * DP_STORE_RESERVE_DIV, reserve = pool / DP_STORE_RESERVE_DIV;
	struct dp_store_report rep;
	struct dp_store *st = open_store(MSG_LOG_FSYNC_NONE, pool, &rep);
	struct dp_store_stats s;
	uint8_t b[64];
	size_t len;

	/* 0 was lost on the way: 1.. fill the pool up to its reserve */
	put_range(st, 3, 0, 1, 1 + pool - reserve, DP_STORE_RELAY);
	inner_for(1 + pool - reserve, b, &len);
	cr_assert_eq(dp_store_put(st, 3, 0, 1 + pool - reserve, b, len), DP_STORE_FULL,
	             "new message: only the reserve is left");
	inner_for(0, b, &len);
	cr_assert_eq(dp_store_put(st, 3, 0, 0, b, len), DP_STORE_RELAY,
	             "the hole is stored from the reserve");
	dp_store_stats(st, &s);
	cr_assert_eq(s.pending, pool - reserve + 1);
	dp_store_delivered(st, 3, 1, 1 + pool - reserve + 1, dp_store_now_ms(), NULL, 0);
	dp_store_stats(st, &s);
	cr_assert_eq(s.pending, 0, "the report got past the hole: everything released");
	dp_store_destroy(st);
}

/* Age retention releases messages never delivered, oldest first, and tells the
 * recipient with DATA_SKIP (inner NULL) until its report gets past them; the
 * fresher ones are left alone. */
Test(dp_store, expired_messages_are_skipped)
{
	struct dp_store_report rep;
	struct dp_store *st = open_store_aged(MSG_LOG_FSYNC_NONE, 64, 100, &rep);
	struct dp_store_resend r[16];
	struct dp_store_stats s;
	unsigned n;

	put_range(st, 5, 0, 0, 3, DP_STORE_RELAY);
	usleep(150 * 1000);
	put_range(st, 5, 0, 3, 5, DP_STORE_RELAY);
	n = dp_store_resends_due(st, dp_store_now_ms(), r, 16);
	cr_assert_eq(n, 1, "one notice; 3 and 4 went out a moment ago");
	cr_assert_null(r[0].inner);
	cr_assert_eq(r[0].e2e_seq, 3, "what it lacks below 3 expired");
	cr_assert_eq(r[0].role, 1);
	dp_store_stats(st, &s);
	cr_assert_eq(s.pending, 2);
	cr_assert_eq(s.expired, 3);
	/* Repeated (with backoff) until the report gets there. */
	n = dp_store_resends_due(st, dp_store_now_ms() + 60, r, 16);
	cr_assert_geq(n, 1);
	cr_assert_null(r[0].inner);
	dp_store_delivered(st, 5, 1, 5, dp_store_now_ms(), NULL, 0); /* it got 3 and 4 */
	cr_assert_eq(dp_store_resends_due(st, dp_store_now_ms() + 1000, r, 16), 0,
	             "no more notices once reported");
	dp_store_destroy(st);
}

/* A recipient whose whole backlog expired stays listed until the notice got
 * through; a message's age carries over a restart. */
Test(dp_store, expiry_of_a_whole_backlog_and_across_a_restart)
{
	struct dp_store_report rep;
	struct dp_store *st = open_store_aged(MSG_LOG_FSYNC_ALWAYS, 64, 100, &rep);
	struct dp_store_ack a[8];
	struct dp_store_resend r[16];
	struct dp_store_stats s;

	put_range(st, 9, 1, 0, 4, DP_STORE_RELAY);
	cr_assert_eq(wait_acks(st, a, 4), 4);
	dp_store_destroy(st);
	usleep(150 * 1000);

	st = open_store_aged(MSG_LOG_FSYNC_ALWAYS, 64, 100, &rep);
	cr_assert_eq(rep.live, 4, "the log keeps them: age retention is the store's");
	cr_assert_eq(dp_store_resends_due(st, dp_store_now_ms(), r, 16), 1);
	cr_assert_null(r[0].inner);
	cr_assert_eq(r[0].e2e_seq, 4);
	cr_assert_eq(r[0].role, 0);
	dp_store_stats(st, &s);
	cr_assert_eq(s.pending, 0);
	cr_assert_eq(s.recipients, 1, "listed while the notice is due");
	dp_store_delivered(st, 9, 0, 4, dp_store_now_ms(), NULL, 0);
	dp_store_stats(st, &s);
	cr_assert_eq(s.recipients, 0);
	dp_store_destroy(st);
	st = open_store_aged(MSG_LOG_FSYNC_ALWAYS, 64, 100, &rep);
	cr_assert_eq(rep.live, 0, "released in the log too");
	dp_store_destroy(st);
}

/*
 * The stall of a store=always bench_relay run (store_refused_full 11-20,
 * drop_store_backlog thousands, 256 messages never acknowledged), driven
 * directly: a sender with a window that re-sends its unacknowledged messages
 * in an order its per-message backoff scrambles, a recipient that reports the
 * first message it lacks, a pool too small for the window. Deterministic: no
 * loss but the store's own refusals, acknowledgements collected by count, the
 * re-send clock passed in.
 *
 * What went wrong: a refused message (relayed unstored) reached the recipient
 * and closed the go-back-N gap, but the messages refused behind it were
 * forgotten; their later copies came in after newer ones, which filled the pool
 * above the hole. A pool full of messages the recipient cannot confirm (its
 * report is cumulative) refuses every hole message: the recipient gained one
 * message per sender retransmission (relayed unstored), with the sender's
 * backoff in between - for good, in effect.
 */
#define SIM_N      400
#define SIM_WINDOW 64
#define SIM_POOL   16

struct sim {
	struct dp_store *st;
	uint8_t acked[SIM_N], held[SIM_N], tries[SIM_N];
	unsigned due[SIM_N];
	unsigned base, next, held_low;
	uint64_t clock;
};

static void sim_recv(struct sim *s, uint64_t seq)
{
	if (seq < SIM_N)
		s->held[seq] = 1;
	while (s->held_low < SIM_N && s->held[s->held_low])
		s->held_low++;
}

/* One round: the sender sends what its window allows (unacknowledged ones
 * whose timeout ran out, then new ones), the relay delivers what the store
 * relays, the store's re-sends reach the recipient, which reports. */
static void sim_round(struct sim *s, unsigned round)
{
	struct dp_store_ack a[256];
	struct dp_store_resend r[64];
	unsigned order[SIM_WINDOW], n = 0, want_acks = 0, got = 0, k;
	uint8_t b[64];
	size_t len;

	/* Oldest first, each unacknowledged one once its timeout, which doubles
	 * with every copy (up to 16 rounds), has run out: the device SDK's
	 * retransmission, with one round as its first timeout. */
	for (unsigned q = s->base; q < s->next; q++)
		if (!s->acked[q] && s->due[q] <= round) {
			order[n++] = q;
			s->due[q] = round + (1u << s->tries[q]);
			if (s->tries[q] < 4)
				s->tries[q]++;
		}
	while (s->next < SIM_N && s->next < s->base + SIM_WINDOW && n < SIM_WINDOW) {
		s->due[s->next] = round + 1;
		order[n++] = s->next++;
	}
	for (unsigned i = 0; i < n; i++) {
		uint64_t q = order[i];

		inner_for(q, b, &len);
		switch (dp_store_put(s->st, 77, 0, q, b, len)) {
		case DP_STORE_RELAY:
			sim_recv(s, q);
			want_acks++;
			break;
		case DP_STORE_HOLD:
		case DP_STORE_HAVE:
			want_acks++;
			break;
		case DP_STORE_DONE:
			s->acked[q] = 1;
			break;
		case DP_STORE_FULL:
		case DP_STORE_ERROR:
			sim_recv(s, q); /* relayed unstored */
			break;
		case DP_STORE_REFUSED_HOLD:
			break;
		}
	}
	for (int i = 0; i < 10000 && got < want_acks; i++) {
		unsigned m = dp_store_acks_due(s->st, a, 256);

		for (unsigned j = 0; j < m; j++)
			if (a[j].e2e_seq < SIM_N)
				s->acked[a[j].e2e_seq] = 1;
		got += m;
		if (got < want_acks)
			usleep(500);
	}
	cr_assert_eq(got, want_acks, "every stored message acknowledged once durable");
	while (s->base < s->next && s->acked[s->base])
		s->base++;
	s->clock += 10000;
	k = dp_store_resends_due(s->st, s->clock, r, 64);
	for (unsigned i = 0; i < k; i++)
		if (r[i].inner)
			sim_recv(s, r[i].e2e_seq);
	k = dp_store_delivered(s->st, 77, 1, s->held_low, s->clock, r, 64);
	for (unsigned i = 0; i < k; i++)
		sim_recv(s, r[i].e2e_seq);
}

Test(dp_store, small_pool_and_window_never_stall)
{
	struct dp_store_report rep;
	struct sim *s = calloc(1, sizeof(*s));
	unsigned round;
	struct dp_store_stats ss;

	cr_assert_not_null(s);
	s->st = open_store(MSG_LOG_FSYNC_NONE, SIM_POOL, &rep);
	s->clock = dp_store_now_ms();
	/* 47 rounds with the fix; stuck at a few hundred messages without */
	for (round = 0; round < 400 && (s->base < SIM_N || s->held_low < SIM_N); round++)
		sim_round(s, round);
	dp_store_stats(s->st, &ss);
	cr_log_info("rounds %u: base %u held_low %u stored %llu refused_full %llu behind_gap %llu",
	            round, s->base, s->held_low, (unsigned long long)ss.stored,
	            (unsigned long long)ss.refused_full, (unsigned long long)ss.refused_behind_gap);
	cr_assert_eq(s->base, SIM_N, "every message acknowledged (window base %u)", s->base);
	cr_assert_eq(s->held_low, SIM_N, "every message delivered in order");
	dp_store_destroy(s->st);
	free(s);
}

/* ---- lab mode (hop_replay_window = off) ------------------------------------------------- */

static struct dp_store *open_store_lab(unsigned pending_max, struct dp_store_report *rep)
{
	struct dp_store_config c = {
	    .dir = dir,
	    .lcore_index = 0,
	    .n_lcores = 1,
	    .fsync = MSG_LOG_FSYNC_ALWAYS,
	    .pending_max = pending_max,
	    .resend_min_ms = 50,
	    .resend_max_ms = 400,
	    .lab_replay = 1,
	};
	struct dp_store *st = dp_store_create(&c, rep);

	cr_assert_not_null(st, "dp_store_create: %s", strerror(errno));
	return st;
}

/* A looping pcap: the same 40 messages three times, from a recipient that
 * never reports delivery. Each pass is appended again (a DATA_ACK each, once
 * durable) and relayed, the older copy released: the pool holds 40, and a
 * restart finds 40 live records, not 120. */
Test(dp_store, lab_replayed_keys_appended_again_pool_bounded)
{
	struct dp_store_report rep;
	struct dp_store *st = open_store_lab(64, &rep);
	struct dp_store_ack a[64];
	struct dp_store_stats s;

	for (unsigned pass = 0; pass < 3; pass++) {
		put_range(st, 0x1ab, 0, 0, 40, DP_STORE_RELAY);
		cr_assert_eq(wait_acks(st, a, 40), 40, "pass %u: every copy acknowledged", pass);
		for (unsigned i = 0; i < 40; i++)
			cr_assert_eq(a[i].e2e_seq, i);
		dp_store_stats(st, &s);
		cr_assert_eq(s.pending, 40, "pass %u: the pool holds the distinct messages", pass);
	}
	cr_assert_eq(s.stored, 120, "every copy appended");
	cr_assert_eq(s.lab_reappended, 80);
	cr_assert_eq(s.held, 0);
	dp_store_destroy(st);

	st = open_store_lab(64, &rep);
	cr_assert_eq(rep.live, 40, "the replaced copies were released: %llu live",
	             (unsigned long long)rep.live);
	/* Recovered ones are held keys too. */
	put_range(st, 0x1ab, 0, 0, 40, DP_STORE_RELAY);
	cr_assert_eq(wait_acks(st, a, 40), 40);
	dp_store_stats(st, &s);
	cr_assert_eq(s.pending, 40);
	dp_store_destroy(st);
}

/* Delivered keys come back too: appended (and released at once) and relayed,
 * nothing held; and nothing is held back beyond DP_STORE_HOLD_AHEAD, where the
 * production rules hold everything for a report a generator never sends. */
Test(dp_store, lab_delivered_keys_and_hold_window)
{
	struct dp_store_report rep;
	struct dp_store *st = open_store_lab(1024, &rep);
	struct dp_store_resend rs[8];
	struct dp_store_ack a[512];
	struct dp_store_stats s;
	const unsigned n = DP_STORE_HOLD_AHEAD + 60;

	put_range(st, 0x2cd, 1, 0, n, DP_STORE_RELAY); /* none DP_STORE_HOLD */
	cr_assert_eq(wait_acks(st, a, n), n);
	(void)dp_store_delivered(st, 0x2cd, 0, 100, dp_store_now_ms(), rs, 8);
	dp_store_stats(st, &s);
	cr_assert_eq(s.pending, n - 100);
	cr_assert_eq(s.delivered, 100);
	put_range(st, 0x2cd, 1, 0, n, DP_STORE_RELAY); /* 100 delivered, the rest held */
	cr_assert_eq(wait_acks(st, a, n), n, "every copy acknowledged once durable");
	dp_store_stats(st, &s);
	cr_assert_eq(s.pending, n - 100, "delivered ones are not held again");
	cr_assert_eq(s.stored, 2 * n);
	cr_assert_eq(s.lab_reappended, n);
	cr_assert_eq(s.held, 0);
	dp_store_destroy(st);

	st = open_store_lab(1024, &rep);
	cr_assert_eq(rep.live, n - 100, "re-appended delivered ones were released");
	dp_store_destroy(st);
}

/* M2M: very many quiet devices, each with one message now and then. The
 * recipient records (as many as pool entries) are recycled once idle, so any
 * number of recipients passes through a small store; the index behind them
 * must take a new recipient whenever a record is free. Sized at exactly the
 * record count, its cuckoo table refused adds near full, and at 100,000
 * sessions a sixth of the messages were refused (store_refused_full). */
Test(dp_store, many_quiet_recipients_pass_through_a_small_store)
{
	enum { POOL = 64, BATCH = 32, BATCHES = 200 };
	struct dp_store_report rep;
	struct dp_store *st = open_store(MSG_LOG_FSYNC_NONE, POOL, &rep);
	struct dp_store_ack a[BATCH];
	struct dp_store_stats s;
	uint8_t b[64];
	size_t len;

	inner_for(0, b, &len);
	for (uint64_t k = 0; k < BATCHES; k++) {
		for (uint64_t j = 0; j < BATCH; j++)
			cr_assert_eq(dp_store_put(st, 0x10000 + k * BATCH + j, 0, 0, b, len),
			             DP_STORE_RELAY, "recipient %llu refused",
			             (unsigned long long)(k * BATCH + j));
		cr_assert_eq(wait_acks(st, a, BATCH), BATCH);
		for (uint64_t j = 0; j < BATCH; j++)
			dp_store_delivered(st, 0x10000 + k * BATCH + j, 1, 1, dp_store_now_ms(),
			                   NULL, 0);
	}
	dp_store_stats(st, &s);
	cr_assert_eq(s.stored, BATCH * BATCHES);
	cr_assert_eq(s.refused_full, 0);
	cr_assert_eq(s.pending, 0);
	dp_store_destroy(st);
}

/*
 * A delivered message's late copy after a restart (the sender re-seals what it
 * holds unacknowledged, e.g. a DATA_ACK lost in the restart): DP_STORE_DONE,
 * neither stored nor re-sent, because the recipient's report survives the
 * restart as a delivered mark. Without it, the copy was stored as new and
 * re-sent to a recipient that had already reported it (and, gone, never
 * would again). A genuinely new message is still stored.
 */
Test(dp_store, delivered_copy_after_restart_not_stored_again)
{
	struct dp_store_report rep;
	struct dp_store *st = open_store(MSG_LOG_FSYNC_ALWAYS, 64, &rep);
	struct dp_store_ack a[8];
	struct dp_store_resend r[16];
	struct dp_store_stats s;
	uint8_t b[64];
	size_t len;
	unsigned n;

	put_range(st, 0x66, 0, 0, 6, DP_STORE_RELAY);
	cr_assert_eq(wait_acks(st, a, 6), 6);
	dp_store_delivered(st, 0x66, 1, 5, dp_store_now_ms(), NULL, 0); /* 0..4 reached it */
	dp_store_destroy(st);

	for (int run = 0; run < 2; run++) {
		st = open_store(MSG_LOG_FSYNC_ALWAYS, 64, &rep);
		cr_assert_eq(rep.live, run ? 2 : 1, "run %d: only what was not delivered", run);
		inner_for(2, b, &len);
		cr_assert_eq(dp_store_put(st, 0x66, 0, 2, b, len), DP_STORE_DONE,
		             "run %d: a delivered message is not stored again", run);
		cr_assert_eq(rep.marks, 1, "one mark: the last report");
		inner_for(4, b, &len);
		cr_assert_eq(dp_store_put(st, 0x66, 0, 4, b, len), DP_STORE_DONE);
		if (!run)
			put_range(st, 0x66, 0, 6, 7, DP_STORE_RELAY); /* new: stored */
		n = dp_store_resends_due(st, dp_store_now_ms() + 1000, r, 16);
		cr_assert_eq(n, 2, "run %d: 5 and 6 go out, nothing delivered", run);
		for (unsigned i = 0; i < n; i++)
			cr_assert_geq(r[i].e2e_seq, 5);
		dp_store_stats(st, &s);
		cr_assert_eq(s.stored, run ? 0 : 1);
		cr_assert_eq(s.pending, 2);
		if (!run)
			cr_assert_eq(wait_acks(st, a, 1), 1);
		dp_store_destroy(st);
	}
	/* Reports keep one mark live, however many there were. */
	st = open_store(MSG_LOG_FSYNC_ALWAYS, 64, &rep);
	dp_store_delivered(st, 0x66, 1, 6, dp_store_now_ms(), NULL, 0);
	dp_store_delivered(st, 0x66, 1, 7, dp_store_now_ms(), NULL, 0);
	dp_store_destroy(st);
	st = open_store(MSG_LOG_FSYNC_ALWAYS, 64, &rep);
	cr_assert_eq(rep.live, 0);
	cr_assert_eq(rep.marks, 1);
	inner_for(6, b, &len);
	cr_assert_eq(dp_store_put(st, 0x66, 0, 6, b, len), DP_STORE_DONE);
	dp_store_destroy(st);
}

static void quiet(void *ctx, enum msg_log_level level, const char *msg)
{
	(void)ctx;
	(void)level;
	(void)msg;
}

/* A message whose RELEASE never reached the log (the ring was full) but
 * whose recipient's report did: released at start, not delivered again. */
Test(dp_store, recovered_message_below_its_mark_released)
{
	char sub[96];
	struct msg_log_config lc = {.dir = sub, .fsync = MSG_LOG_FSYNC_ALWAYS, .log_fn = quiet};
	struct msg_rec m = {.session_id = 0x77, .e2e_seq = 3, .role = 1};
	struct dp_store_report rep;
	struct dp_store_resend r[4];
	struct dp_store *st;
	struct msg_log *lg;
	uint64_t lsn;

	snprintf(sub, sizeof(sub), "%s/lcore-0", dir);
	lg = msg_log_open(&lc, NULL, NULL, NULL);
	cr_assert_not_null(lg);
	cr_assert_eq(msg_log_append(lg, &m, "three-xxxxxxxxxx", 16, &lsn), 0);
	m.e2e_seq = 9;
	cr_assert_eq(msg_log_append(lg, &m, "nine-xxxxxxxxxxx", 16, &lsn), 0);
	m.e2e_seq = 4; /* the report: 0..3 reached it */
	m.flags = DP_STORE_REC_MARK;
	cr_assert_eq(msg_log_append(lg, &m, NULL, 0, &lsn), 0);
	msg_log_close(lg);

	st = open_store(MSG_LOG_FSYNC_ALWAYS, 64, &rep);
	cr_assert_eq(rep.dropped_delivered, 1);
	cr_assert_eq(rep.live, 1, "9 only");
	cr_assert_eq(dp_store_resends_due(st, dp_store_now_ms() + 1000, r, 4), 1);
	cr_assert_eq(r[0].e2e_seq, 9);
	dp_store_delivered(st, 0x77, 1, 10, dp_store_now_ms(), NULL, 0);
	dp_store_destroy(st);
	st = open_store(MSG_LOG_FSYNC_ALWAYS, 64, &rep);
	cr_assert_eq(rep.live, 0, "3 was released in the log too");
	cr_assert_eq(rep.dropped_delivered, 0);
	dp_store_destroy(st);
}

/* Counts the DATA_SKIP notices and message copies a recipient gets from one
 * call a millisecond (as the lcore) over ms milliseconds from t0; kick: it
 * sends a frame every millisecond without reporting. */
static void count_sent(struct dp_store *st, uint64_t t0, unsigned ms, bool kick, unsigned *skips,
                       unsigned *copies)
{
	struct dp_store_resend r[64];

	*skips = *copies = 0;
	for (uint64_t t = t0; t < t0 + ms; t++) {
		unsigned n = dp_store_resends_due(st, t, r, 64);

		for (unsigned i = 0; i < n; i++) {
			if (r[i].inner)
				(*copies)++;
			else
				(*skips)++;
		}
		if (kick)
			dp_store_kick(st, 5, 1);
	}
}

/*
 * A silent recipient whose whole backlog expired: one DATA_SKIP per backoff
 * period (50 ms doubling to 400 here: passes at 0, 50, 150, 350, 750, 1150,
 * 1550, 1950 ms), not one a millisecond - the storm of 100-250 notices a
 * second seen for a recipient that went silent. Frames counted, bounds loose.
 */
Test(dp_store, silent_recipient_notices_follow_the_backoff)
{
	struct dp_store_report rep;
	struct dp_store *st = open_store_aged(MSG_LOG_FSYNC_NONE, 64, 100, &rep);
	struct dp_store_stats s;
	unsigned skips, copies;

	put_range(st, 5, 0, 0, 4, DP_STORE_RELAY);
	usleep(150 * 1000);
	count_sent(st, dp_store_now_ms(), 2000, false, &skips, &copies);
	cr_assert_eq(copies, 0);
	cr_assert_geq(skips, 2, "repeated until reported");
	cr_assert_leq(skips, 10, "%u notices in 2 s: the backoff allows 8", skips);
	dp_store_stats(st, &s);
	cr_assert_eq(s.skips, skips);
	cr_assert_gt(s.skips_deferred, 1000, "the rounds without a notice are counted");
	dp_store_destroy(st);
}

/* The same with messages left above the expired ones, more than one round's
 * worth (RESEND_PER_RECIP): a pass spans rounds, and still carries one notice
 * and one copy of each message. */
Test(dp_store, silent_recipient_one_notice_per_pass)
{
	struct dp_store_report rep;
	struct dp_store *st = open_store_aged(MSG_LOG_FSYNC_NONE, 128, 100, &rep);
	unsigned skips, copies;

	put_range(st, 5, 0, 100, 103, DP_STORE_RELAY);
	usleep(150 * 1000);
	put_range(st, 5, 0, 103, 143, DP_STORE_RELAY);
	count_sent(st, dp_store_now_ms() + 60, 2000, false, &skips, &copies);
	cr_assert_geq(skips, 2);
	cr_assert_leq(skips, 10, "%u notices: one per pass (8 passes)", skips);
	cr_assert_leq(copies, 40 * 10, "%u copies: each message once per pass", copies);
	dp_store_destroy(st);
}

/* A recipient that keeps sending (each frame kicks) but never reports: the
 * kick brings its backlog out at once, though no sooner than resend_min_ms
 * after the last pass - not one pass, and notice, per frame of its own. */
Test(dp_store, kicks_do_not_outrun_the_backoff)
{
	struct dp_store_report rep;
	struct dp_store *st = open_store_aged(MSG_LOG_FSYNC_NONE, 64, 100, &rep);
	unsigned skips, copies;

	put_range(st, 5, 0, 0, 4, DP_STORE_RELAY);
	usleep(150 * 1000);
	count_sent(st, dp_store_now_ms(), 2000, true, &skips, &copies);
	cr_assert_geq(skips, 2);
	cr_assert_leq(skips, 2000 / 50 + 2, "%u notices in 2 s at resend_min 50 ms", skips);
	dp_store_destroy(st);
}

/*
 * A re-sealed DATA_UP (PROTOCOL.md 9.4) of a held message: relayed again, and
 * if its bytes differ from the held copy, the held copy - which the recipient
 * may never open, and so wait at for good - is replaced, on disk too. One
 * held back for in-order delivery stays so.
 */
Test(dp_store, resealed_copy_relayed_and_replaces_a_differing_held_copy)
{
	struct dp_store_report rep;
	struct dp_store *st = open_store(MSG_LOG_FSYNC_ALWAYS, 512, &rep);
	static const uint8_t bad[] = "inner-0-garbled!!!!!!";
	struct dp_store_ack a[8];
	struct dp_store_resend r[16];
	struct dp_store_stats s;
	uint8_t b[64];
	size_t len;

	cr_assert_eq(dp_store_put(st, 0x99, 0, 0, bad, sizeof(bad)), DP_STORE_RELAY);
	cr_assert_eq(wait_acks(st, a, 1), 1);
	inner_for(0, b, &len);
	cr_assert_eq(dp_store_put(st, 0x99, 0, 0, b, len), DP_STORE_HAVE);
	cr_assert(dp_store_reseal(st, 0x99, 0, 0, b, len), "relayed again");
	cr_assert_eq(wait_acks(st, a, 1), 1, "and acknowledged again");
	dp_store_stats(st, &s);
	cr_assert_eq(s.resealed_relayed, 1);
	cr_assert_eq(s.resealed_replaced, 1);
	cr_assert_eq(s.pending, 1);
	cr_assert_eq(dp_store_resends_due(st, dp_store_now_ms() + 1000, r, 16), 1);
	cr_assert_eq(r[0].len, len);
	cr_assert_eq(memcmp(r[0].inner, b, len), 0, "the re-send carries the sender's copy");
	/* The same bytes again: relayed, nothing replaced. */
	cr_assert_eq(dp_store_put(st, 0x99, 0, 0, b, len), DP_STORE_HAVE);
	cr_assert(dp_store_reseal(st, 0x99, 0, 0, b, len));
	dp_store_stats(st, &s);
	cr_assert_eq(s.resealed_replaced, 1);
	/* Held back (beyond the delivery window): not relayed out of order. */
	put_range(st, 0x99, 0, 1, DP_STORE_HOLD_AHEAD, DP_STORE_RELAY);
	put_range(st, 0x99, 0, DP_STORE_HOLD_AHEAD, DP_STORE_HOLD_AHEAD + 1, DP_STORE_HOLD);
	inner_for(DP_STORE_HOLD_AHEAD, b, &len);
	cr_assert_eq(dp_store_put(st, 0x99, 0, DP_STORE_HOLD_AHEAD, b, len), DP_STORE_HAVE);
	cr_assert_not(dp_store_reseal(st, 0x99, 0, DP_STORE_HOLD_AHEAD, b, len));
	dp_store_destroy(st);

	/* The replacement is durable: the restart brings back the sender's copy. */
	st = open_store(MSG_LOG_FSYNC_ALWAYS, 512, &rep);
	cr_assert_eq(rep.live, DP_STORE_HOLD_AHEAD + 1);
	inner_for(0, b, &len);
	cr_assert_eq(dp_store_resends_due(st, dp_store_now_ms(), r, 16), 16);
	cr_assert_eq(r[0].e2e_seq, 0);
	cr_assert_eq(r[0].len, len);
	cr_assert_eq(memcmp(r[0].inner, b, len), 0);
	dp_store_delivered(st, 0x99, 1, DP_STORE_HOLD_AHEAD + 1, dp_store_now_ms(), NULL, 0);
	dp_store_destroy(st);
}

static void count_live(void *ctx, const struct msg_rec *meta, const void *payload, size_t len)
{
	(void)meta;
	(void)payload;
	(void)len;
	(*(unsigned *)ctx)++;
}

/* Two copies of one message in the log (a re-sealed copy replaced the held
 * one and the crash came before the older copy's RELEASE): the later copy is
 * the one recovered, the older is released. */
Test(dp_store, recovery_keeps_the_later_copy_of_a_message)
{
	char sub[96];
	struct msg_log_config lc = {.dir = sub, .fsync = MSG_LOG_FSYNC_ALWAYS, .log_fn = quiet};
	struct msg_rec m = {.session_id = 0x88, .e2e_seq = 2, .role = 0};
	unsigned live = 0;
	struct dp_store_report rep;
	struct dp_store_resend r[4];
	struct dp_store *st;
	struct msg_log *lg;
	uint64_t lsn;

	snprintf(sub, sizeof(sub), "%s/lcore-0", dir);
	lg = msg_log_open(&lc, NULL, NULL, NULL);
	cr_assert_not_null(lg);
	cr_assert_eq(msg_log_append(lg, &m, "garbled-copy-xxx", 16, &lsn), 0);
	cr_assert_eq(msg_log_append(lg, &m, "senders-copy-xxx", 16, &lsn), 0);
	msg_log_close(lg);

	for (int run = 0; run < 2; run++) {
		st = open_store(MSG_LOG_FSYNC_ALWAYS, 64, &rep);
		cr_assert_eq(rep.live, 1, "run %d: one message", run);
		cr_assert_eq(rep.dropped, 0);
		cr_assert_eq(dp_store_resends_due(st, dp_store_now_ms(), r, 4), 1);
		cr_assert_eq(r[0].len, 16);
		cr_assert_eq(memcmp(r[0].inner, "senders-copy-xxx", 16), 0);
		dp_store_destroy(st);
	}
	lg = msg_log_open(&lc, count_live, &live, NULL);
	cr_assert_not_null(lg);
	cr_assert_eq(live, 1, "the older copy was released in the log");
	msg_log_close(lg);
}

/* ---- adoption of a replicated backlog (dp_store.h) -------------------------- */

static struct dp_store_resend *find_resend(struct dp_store_resend *rs, unsigned n, uint64_t seq)
{
	for (unsigned i = 0; i < n; i++)
		if (rs[i].e2e_seq == seq)
			return &rs[i];
	return NULL;
}

Test(dp_store, adopted_backlog_held_resent_in_order_never_acknowledged)
{
	const uint64_t sid = 0xad0b7;
	struct dp_store_report rep;
	struct dp_store *st = open_store(MSG_LOG_FSYNC_ALWAYS, 64, &rep);
	struct dp_store_resend rs[32];
	struct dp_store_ack a[16];
	struct dp_store_stats s;
	uint64_t now = dp_store_now_ms();
	uint8_t b[64];
	size_t len;
	unsigned n;

	/* The recipient (role 1) reported everything below 3 to the first gateway. */
	dp_store_adopt_mark(st, sid, 1, 3);
	for (uint64_t q = 1; q < 8; q++) {
		inner_for(q, b, &len);
		cr_assert_eq(dp_store_adopt_put(st, sid, 1, q, b, len, now),
		             q < 3 ? DP_STORE_ADOPT_DONE : DP_STORE_ADOPTED, "seq %llu",
		             (unsigned long long)q);
	}
	inner_for(5, b, &len);
	cr_assert_eq(dp_store_adopt_put(st, sid, 1, 5, b, len, now), DP_STORE_ADOPT_HAVE);
	dp_store_stats(st, &s);
	cr_assert_eq(s.adopted, 5);
	cr_assert_eq(s.adopt_done, 2);
	cr_assert_eq(s.adopt_have, 1);
	cr_assert_eq(s.pending, 5);

	/* No DATA_ACK for them: the next one due is another session's message. */
	put_range(st, 0x77, 0, 0, 1, DP_STORE_RELAY);
	cr_assert_eq(wait_acks(st, a, 1), 1);
	cr_assert_eq(a[0].session_id, 0x77, "an adopted message was acknowledged");
	cr_assert_eq(dp_store_acks_due(st, a, 16), 0);

	/* Delivered by the re-send scan at once, in order, the same bytes. */
	n = dp_store_resends_due(st, now + 1, rs, 32);
	for (uint64_t q = 3; q < 8; q++) {
		struct dp_store_resend *r = find_resend(rs, n, q);

		cr_assert_not_null(r, "seq %llu not sent", (unsigned long long)q);
		cr_assert_eq(r->session_id, sid);
		cr_assert_eq(r->role, 1);
		inner_for(q, b, &len);
		cr_assert_eq(r->len, len);
		cr_assert_eq(memcmp(r->inner, b, len), 0);
		if (q > 3)
			cr_assert_gt(r, find_resend(rs, n, q - 1), "out of order");
	}
	/* A retransmission of an adopted message: held, acknowledged once durable. */
	inner_for(6, b, &len);
	cr_assert_eq(dp_store_put(st, sid, 0, 6, b, len), DP_STORE_HAVE);
	cr_assert_eq(wait_acks(st, a, 1), 1);
	cr_assert_eq(a[0].e2e_seq, 6);

	/* Held in this store's own log: back after a restart. */
	dp_store_destroy(st);
	st = open_store(MSG_LOG_FSYNC_ALWAYS, 64, &rep);
	cr_assert_eq(rep.live, 5 + 1, "5 adopted + the other session's one");
	/* ... and the mark too: a copy below it is delivered already. */
	inner_for(2, b, &len);
	cr_assert_eq(dp_store_put(st, sid, 0, 2, b, len), DP_STORE_DONE);
	dp_store_delivered(st, sid, 1, 8, dp_store_now_ms(), NULL, 0);
	dp_store_delivered(st, 0x77, 1, 1, dp_store_now_ms(), NULL, 0);
	dp_store_stats(st, &s);
	cr_assert_eq(s.pending, 0);
	dp_store_destroy(st);
	st = open_store(MSG_LOG_FSYNC_ALWAYS, 64, &rep);
	cr_assert_eq(rep.live, 0);
	dp_store_destroy(st);
}

Test(dp_store, adopted_mark_releases_what_is_held_below_it)
{
	const uint64_t sid = 0xad0b8;
	struct dp_store_report rep;
	struct dp_store *st = open_store(MSG_LOG_FSYNC_NONE, 64, &rep);
	struct dp_store_stats s;
	uint8_t b[64];
	size_t len;

	put_range(st, sid, 0, 10, 15, DP_STORE_RELAY);
	dp_store_adopt_mark(st, sid, 1, 13); /* another gateway delivered 10..12 */
	dp_store_adopt_mark(st, sid, 1, 11); /* an older mark: no effect */
	dp_store_stats(st, &s);
	cr_assert_eq(s.pending, 2);
	inner_for(12, b, &len);
	cr_assert_eq(dp_store_adopt_put(st, sid, 1, 12, b, len, dp_store_now_ms()),
	             DP_STORE_ADOPT_DONE);
	cr_assert_eq(dp_store_put(st, sid, 0, 11, b, len), DP_STORE_DONE);
	dp_store_destroy(st);
}

Test(dp_store, adopted_backlog_refused_when_the_pool_is_full)
{
	const uint64_t sid = 0xad0b9;
	struct dp_store_report rep;
	struct dp_store *st = open_store(MSG_LOG_FSYNC_NONE, 16, &rep);
	struct dp_store_stats s;
	uint8_t b[64];
	size_t len;
	unsigned ok = 0;

	for (uint64_t q = 0; q < 20; q++) {
		inner_for(q, b, &len);
		ok += dp_store_adopt_put(st, sid, 1, q, b, len, dp_store_now_ms()) ==
		      DP_STORE_ADOPTED;
	}
	dp_store_stats(st, &s);
	cr_assert_eq(ok, 16);
	cr_assert_eq(s.adopt_refused, 4);
	cr_assert_eq(s.pending, 16);
	dp_store_destroy(st);
}

/* The replication hook of every log (dp_store_config.replica): its own
 * context per log, opened before and closed after the log. */
static unsigned repl_opened, repl_closed;
static _Atomic unsigned repl_msgs;

static void *t_repl_open(void *arg, unsigned k)
{
	static int ctx[8];

	(void)arg;
	repl_opened++;
	return &ctx[k % 8];
}

static void t_repl_close(void *ctx)
{
	(void)ctx;
	repl_closed++;
}

static _Atomic uint64_t repl_last_seq; /* e2e_seq of the last MSG the hook saw */

static int t_repl_hook(void *ctx, const struct iovec *iov, int iovcnt, uint64_t last_lsn)
{
	(void)ctx;
	(void)last_lsn;
	for (int i = 0; i < iovcnt; i++)
		for (size_t off = 0; off + MSG_LOG_HDR_LEN <= iov[i].iov_len;) {
			const uint8_t *p = (const uint8_t *)iov[i].iov_base + off;
			uint32_t l = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
			             (uint32_t)p[7] << 24;

			if (p[MSG_LOG_OFF_TYPE] == MSG_LOG_REC_MSG) {
				uint64_t q = 0;

				for (int b = 7; b >= 0; b--)
					q = q << 8 | p[MSG_LOG_OFF_E2E_SEQ + b];
				atomic_store(&repl_last_seq, q);
				atomic_fetch_add(&repl_msgs, 1);
			}
			off += msg_log_rec_len(l);
		}
	return 0;
}

Test(dp_store, replica_hook_per_log)
{
	struct dp_store_replica r = {
	    .hook = t_repl_hook, .open = t_repl_open, .close = t_repl_close};
	struct dp_store_config c = {
	    .dir = dir,
	    .lcore_index = 0,
	    .n_lcores = 1,
	    .fsync = MSG_LOG_FSYNC_NONE,
	    .pending_max = 64,
	    .replica = &r,
	};
	struct dp_store_report rep;
	struct dp_store_ack a[8];
	struct dp_store_stats s;
	struct dp_store *st = dp_store_create(&c, &rep);

	cr_assert_not_null(st);
	cr_assert_eq(repl_opened, 1);
	put_range(st, 0x99, 0, 0, 4, DP_STORE_RELAY);
	cr_assert_eq(wait_acks(st, a, 4), 4);
	cr_assert_eq(atomic_load(&repl_msgs), 4, "replicated before acknowledged");
	dp_store_stats(st, &s);
	cr_assert_geq(s.replicated, 1);
	cr_assert_eq(s.replica_lag, 0);
	dp_store_delivered(st, 0x99, 1, 4, dp_store_now_ms(), NULL, 0);
	dp_store_destroy(st);
	cr_assert_eq(repl_closed, 1);
}

/* A message recovered at start may never have reached the replica (the crash
 * came before): a retransmission of it is appended again, and its DATA_ACK
 * waits for that record to pass the hook; once only. */
Test(dp_store, recovered_message_replicated_again_before_its_ack)
{
	struct dp_store_replica r = {
	    .hook = t_repl_hook, .open = t_repl_open, .close = t_repl_close};
	struct dp_store_config c = {
	    .dir = dir,
	    .lcore_index = 0,
	    .n_lcores = 1,
	    .fsync = MSG_LOG_FSYNC_NONE,
	    .pending_max = 64,
	};
	struct dp_store_report rep;
	struct dp_store_ack a[8];
	struct dp_store *st;
	uint8_t b[64];
	size_t len;
	unsigned before;

	/* Stored without a replica (as if the crash came before replication). */
	st = dp_store_create(&c, &rep);
	cr_assert_not_null(st);
	put_range(st, 0x98, 0, 0, 3, DP_STORE_RELAY);
	cr_assert_eq(wait_acks(st, a, 3), 3);
	dp_store_destroy(st);

	c.replica = &r;
	st = dp_store_create(&c, &rep);
	cr_assert_not_null(st);
	cr_assert_eq(rep.live, 3);
	cr_assert_eq(atomic_load(&repl_msgs), 0, "recovery offers nothing");
	inner_for(1, b, &len);
	cr_assert_eq(dp_store_put(st, 0x98, 0, 1, b, len), DP_STORE_HAVE);
	cr_assert_eq(wait_acks(st, a, 1), 1);
	cr_assert_eq(a[0].e2e_seq, 1);
	cr_assert_eq(atomic_load(&repl_msgs), 1, "acknowledged before it was replicated");
	cr_assert_eq(atomic_load(&repl_last_seq), 1);
	/* Once: the next retransmission is acknowledged from the new record. */
	before = atomic_load(&repl_msgs);
	cr_assert_eq(dp_store_put(st, 0x98, 0, 1, b, len), DP_STORE_HAVE);
	cr_assert_eq(wait_acks(st, a, 1), 1);
	cr_assert_eq(atomic_load(&repl_msgs), before);
	dp_store_delivered(st, 0x98, 1, 3, dp_store_now_ms(), NULL, 0);
	dp_store_destroy(st);
	/* The old copy was released, the new one delivered: nothing comes back. */
	c.replica = NULL;
	st = dp_store_create(&c, &rep);
	cr_assert_eq(rep.live, 0, "%llu live", (unsigned long long)rep.live);
	dp_store_destroy(st);
}
