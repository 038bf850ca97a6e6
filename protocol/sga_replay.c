/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_replay.c - sliding bitmap replay window (the RFC 6479 idea: a ring of
 * bits indexed by seq modulo the window, cleared word by word as it slides).
 */
#include <string.h>

#include "sga_err.h"
#include "sga_replay.h"

#define WORDS (SGA_REPLAY_WINDOW / 64)

void sga_replay_init(struct sga_replay *w)
{
	memset(w, 0, sizeof(*w));
}

static int bit_get(const struct sga_replay *w, uint64_t seq)
{
	uint64_t b = seq % SGA_REPLAY_WINDOW;
	return (int)((w->bits[b / 64] >> (b % 64)) & 1u);
}

int sga_replay_check(const struct sga_replay *w, uint64_t seq)
{
	if (seq == UINT64_MAX)
		return -SGA_E_REPLAY; /* reserved: next would wrap */
	if (seq >= w->next)
		return 0;
	if (w->next - seq > SGA_REPLAY_WINDOW - 64)
		return -SGA_E_REPLAY; /* too old: outside the part of the ring we keep */
	return bit_get(w, seq) ? -SGA_E_REPLAY : 0;
}

void sga_replay_update(struct sga_replay *w, uint64_t seq)
{
	if (seq >= w->next) {
		/* Slide: clear the words between the old top and the new one. */
		/* Words after the one holding the old top (next - 1), up to and
		 * including the one holding seq, hold bits of a previous lap. */
		uint64_t old_word = (w->next - 1) / 64, new_word = seq / 64;
		uint64_t n = new_word - old_word;

		if (w->next == 0 || n >= WORDS)
			memset(w->bits, 0, sizeof(w->bits));
		else
			for (uint64_t i = 1; i <= n; i++)
				w->bits[(old_word + i) % WORDS] = 0;
		w->next = seq + 1;
	}
	uint64_t b = seq % SGA_REPLAY_WINDOW;
	w->bits[b / 64] |= (uint64_t)1 << (b % 64);
}
