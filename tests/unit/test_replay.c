/* SPDX-License-Identifier: BSD-3-Clause */
/* test_replay.c - the sliding replay window: fresh numbers accepted once,
 * duplicates and numbers that fell out of the window refused, reordering within
 * the window tolerated. */
#include <criterion/criterion.h>

#include "sga_err.h"
#include "sga_replay.h"

static int accept_seq(struct sga_replay *w, uint64_t seq)
{
	int rc = sga_replay_check(w, seq);

	if (!rc)
		sga_replay_update(w, seq);
	return rc;
}

Test(replay, in_order_once)
{
	struct sga_replay w;

	sga_replay_init(&w);
	for (uint64_t s = 0; s < 5000; s++)
		cr_assert_eq(accept_seq(&w, s), 0, "seq %llu", (unsigned long long)s);
	for (uint64_t s = 5000 - 900; s < 5000; s++)
		cr_assert_eq(accept_seq(&w, s), -SGA_E_REPLAY);
}

Test(replay, reorder_within_window)
{
	struct sga_replay w;

	sga_replay_init(&w);
	cr_assert_eq(accept_seq(&w, 100), 0);
	for (uint64_t s = 0; s < 100; s++)
		cr_assert_eq(accept_seq(&w, s), 0);
	cr_assert_eq(accept_seq(&w, 50), -SGA_E_REPLAY);
}

Test(replay, too_old_refused)
{
	struct sga_replay w;

	sga_replay_init(&w);
	cr_assert_eq(accept_seq(&w, 10000), 0);
	cr_assert_eq(accept_seq(&w, 10000 - SGA_REPLAY_WINDOW), -SGA_E_REPLAY);
	cr_assert_eq(accept_seq(&w, 0), -SGA_E_REPLAY);
	cr_assert_eq(accept_seq(&w, UINT64_MAX), -SGA_E_REPLAY);
}

/* Regression: sliding from a top that is a multiple of 64 left the next word's
 * bits from the previous lap in place, so a fresh number was refused. */
Test(replay, slide_from_word_boundary_clears_stale_bits)
{
	struct sga_replay w;

	sga_replay_init(&w);
	for (uint64_t s = 0; s <= 1087; s++)
		cr_assert_eq(accept_seq(&w, s), 0);
	cr_assert_eq(accept_seq(&w, 1099), 0);
	cr_assert_eq(accept_seq(&w, 1095), 0, "1095 was never seen");
}

/* Every jump size, checked against a reference set of what was accepted. */
Test(replay, random_against_reference)
{
	static uint8_t seen[1 << 16];
	struct sga_replay w;
	uint64_t x = 0x9e3779b97f4a7c15ull, top = 0;

	sga_replay_init(&w);
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t s = top + (x % 96);
		if (x & 0x100 && s > 700)
			s -= x % 700; /* go back, within the window */
		if (s >= sizeof(seen))
			break;
		int rc = accept_seq(&w, s);
		if (seen[s])
			cr_assert_eq(rc, -SGA_E_REPLAY, "seq %llu accepted twice",
			             (unsigned long long)s);
		else if (top < SGA_REPLAY_WINDOW - 64 || s + SGA_REPLAY_WINDOW - 64 >= top + 1)
			cr_assert_eq(rc, 0, "fresh seq %llu refused (top %llu)",
			             (unsigned long long)s, (unsigned long long)top);
		if (!rc) {
			seen[s] = 1;
			if (s > top)
				top = s;
		}
	}
}
