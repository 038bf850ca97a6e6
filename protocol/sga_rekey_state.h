/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_rekey_state.h - what a session keeps for its rekey (PROTOCOL.md 7.15):
 * the device's and the gateway's part, embedded in struct sga_dev_sess and
 * struct sga_gw_session. The functions that use them are in sga_rekey.h.
 *
 * A session's keys come in generations: generation 0 is the handshake's
 * (B1-B7), each completed rekey makes the next. The session id, both e2e_seq
 * spaces and the hop sequences carry on across generations; only keys change.
 */
#ifndef SGA_REKEY_STATE_H
#define SGA_REKEY_STATE_H

#include <stdint.h>

#include "sga_crypto.h"
#include "sga_replay.h"

#define SGA_REKEY_KEY_LEN 32 /* k_t of a generation */

/* The device's half. The exchange in progress reuses the session's handshake
 * fields (k_t, kex_key, R, K, n_hash, kex_frame), idle once ESTABLISHED. */
struct sga_dev_rekey {
	uint32_t gen;                       /* generation of the keys in use */
	uint8_t transcript[SGA_SHA256_LEN]; /* of generation gen: the next one chains it */
	uint8_t pending;                    /* REKEY_INIT for gen + 1 made: kex_frame, R, K */
	uint8_t confirm_sent;               /* our confirmation of gen sealed (gen > 0) */
	uint8_t peer_confirmed;             /* the peer's confirmation of gen verified */
	/* Overlap (gen > 0): what the previous generation still opens or re-seals. */
	uint8_t prev_down_live;                    /* prev_down, prev_epoch, prev_win usable */
	uint8_t prev_tx_live;                      /* prev_e2e_tx usable */
	uint8_t prev_rx_live;                      /* prev_e2e_rx usable */
	uint64_t prev_epoch;                       /* the epoch adopted under the previous gen */
	uint8_t prev_down[SGA_AEAD_MAX_KEY_LEN];   /* its hop-down key */
	struct sga_replay prev_win;                /* its hop window */
	uint8_t prev_e2e_tx[SGA_AEAD_MAX_KEY_LEN]; /* re-seals e2e_seq < tx_from */
	uint8_t prev_e2e_rx[SGA_AEAD_MAX_KEY_LEN]; /* opens e2e_seq < rx_from */
	uint64_t tx_from;                          /* our first e2e_seq of gen: its confirmation */
	uint64_t rx_from;                          /* the peer's, UINT64_MAX until known */
	uint8_t confirm_rx[SGA_MAC_LEN];           /* the peer's expected confirmation of gen */
};

/* The gateway's half. */
struct sga_gw_rekey {
	uint32_t gen;      /* generation of k_t (and of the installed hop keys) */
	uint32_t next_gen; /* gen + 1 while have != 0 */
	uint8_t have;      /* bit (1 << role): that role's REKEY_INIT of next_gen is in */
	uint8_t prev_live; /* bit (1 << role): prev_k_t[role] still opens up frames in flight */
	uint8_t k_t_next[2][SGA_REKEY_KEY_LEN]; /* from the REKEY_INITs of next_gen */
	uint8_t prev_k_t[2][SGA_REKEY_KEY_LEN]; /* k_t of gen - 1 (gen > 0) */
	uint8_t init_hash[2][SGA_SHA256_LEN];   /* SHA-256 of each role's last REKEY_INIT */
	uint16_t reply_len[2];                  /* REKEY_REPLY of gen, kept for a repeat */
	uint8_t reply[2][1024];                 /* (at most 2 + 384 + 76 + 12 + 25 + 16) */
};

#endif /* SGA_REKEY_STATE_H */
