/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_rekey.c - a session's rekey in the data plane (dp_rekey.h).
 */
#include <errno.h>
#include <string.h>

#include "dp_priv.h"
#include "dp_rekey.h"
#include "sga_rekey.h"

int dp_rekey_prepare(struct dp_session *slot, const struct dp_session *old,
                     const struct sga_gw_session *s)
{
	uint8_t key[SGA_AEAD_MAX_KEY_LEN];

	if (s->rk.gen == 0)
		return 0;
	for (int r = 0; r < 2; r++) {
		struct dp_member *mb = &slot->m[r];

		if (old && old->session_id == slot->session_id) {
			/* Racy against the old slot's owner lcore, by design: a frame
			 * it accepts after this copy lies in both windows' future, and
			 * is at worst taken once more here (the store and the E2E
			 * window keep it from being delivered twice). */
			mb->hop.rx = old->m[r].hop.rx;
			mb->addr = old->m[r].addr;
			mb->ack = old->m[r].ack;
		}
		if (!(s->rk.prev_live & (1u << r)))
			continue;
		if (sga_gw_rekey_prev_up(s, (uint8_t)r, key))
			continue;
		slot->cs->cpu_open_prev[r] = sga_aead_key_new(mb->hop.suite, SGA_AEAD_OPEN, key);
		sga_memzero(key, sizeof(key));
		if (!slot->cs->cpu_open_prev[r])
			return -errno;
	}
	return 0;
}

void dp_rekey_retire(struct dp_session *s, uint8_t from)
{
	sga_aead_key_free(s->cs->cpu_open_prev[from]); /* wipes the key schedule */
	s->cs->cpu_open_prev[from] = NULL;
}
