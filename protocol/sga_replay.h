/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_replay.h - sliding-window replay filter for sequence numbers.
 *
 * One per direction per hop, and one per direction end to end (DESIGN.md:
 * "sequence numbers + sliding window per direction, per hop and E2E"). The
 * window accepts any sequence number not seen before that is within
 * SGA_REPLAY_WINDOW of the highest accepted one, so reordering by the network
 * or by store-and-forward redelivery is tolerated while duplicates are not.
 * Check before the (expensive) AEAD open, update only after it succeeded, so a
 * forged frame cannot move the window.
 */
#ifndef SGA_REPLAY_H
#define SGA_REPLAY_H

#include <stdint.h>

#define SGA_REPLAY_WINDOW 1024 /* bits; a multiple of 64 */

struct sga_replay {
	uint64_t next;                         /* highest accepted seq + 1; 0: none yet */
	uint64_t bits[SGA_REPLAY_WINDOW / 64]; /* bit (seq % WINDOW) set: seq seen */
};

void sga_replay_init(struct sga_replay *w);
/** 0 if seq may be accepted, -SGA_E_REPLAY if seen or too old. Read-only. */
int sga_replay_check(const struct sga_replay *w, uint64_t seq);
/** Record seq as accepted (call after authentication succeeded). */
void sga_replay_update(struct sga_replay *w, uint64_t seq);

#endif /* SGA_REPLAY_H */
