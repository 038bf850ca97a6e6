/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store_rekey.c - the rekey block of a session record (store_rekey.h).
 */
#include <string.h>

#include "store_rekey.h"

static void wr_u32(struct sga_wr *w, uint32_t v)
{
	sga_wr_u16(w, (uint16_t)(v >> 16));
	sga_wr_u16(w, (uint16_t)v);
}

static uint32_t rd_u32(struct sga_rd *r)
{
	uint32_t hi = sga_rd_u16(r);

	return hi << 16 | sga_rd_u16(r);
}

void store_rekey_encode(const struct sga_gw_session *s, struct sga_wr *w)
{
	const struct sga_gw_rekey *rk = &s->rk;
	const struct sga_group_info *g = sga_group_get(s->group);

	if ((rk->gen == 0 && rk->have == 0) || s->state != SGA_GW_S_ESTABLISHED)
		return;
	sga_wr_u8(w, STORE_REKEY_TAG);
	wr_u32(w, rk->gen);
	wr_u32(w, rk->next_gen);
	sga_wr_u8(w, rk->have);
	sga_wr_u8(w, rk->prev_live);
	for (unsigned k = 0; k < 2; k++) {
		uint16_t n = rk->reply_len[k] <= sizeof(rk->reply[k]) ? rk->reply_len[k] : 0;

		sga_wr_bytes(w, rk->init_hash[k], SGA_SHA256_LEN);
		sga_wr_bytes(w, rk->prev_k_t[k], SGA_KEY_LEN);
		sga_wr_u16(w, n);
		sga_wr_bytes(w, rk->reply[k], n);
		if ((rk->have & (1u << k)) && g) {
			sga_wr_bytes(w, rk->k_t_next[k], SGA_KEY_LEN);
			sga_wr_bytes(w, s->N[k], g->len);
			sga_wr_bytes(w, s->K[k], g->len);
		}
	}
}

int store_rekey_decode(struct sga_rd *r, struct sga_gw_session *s)
{
	struct sga_gw_rekey *rk = &s->rk;
	const struct sga_group_info *g = sga_group_get(s->group);
	const uint8_t *q;

	if (!sga_rd_left(r))
		return 0;
	if (sga_rd_u8(r) != STORE_REKEY_TAG)
		return -SGA_E_BAD_TYPE;
	if (!g || s->state != SGA_GW_S_ESTABLISHED)
		return -SGA_E_BAD_FIELD; /* only an established session rekeys */
	rk->gen = rd_u32(r);
	rk->next_gen = rd_u32(r);
	rk->have = sga_rd_u8(r);
	rk->prev_live = sga_rd_u8(r);
	/* Canonical: a session with neither a generation nor a rekey in progress
	 * has no block (store_rekey_encode writes none). */
	if (rk->have > 3 || rk->prev_live > 3 || (rk->have && rk->next_gen != rk->gen + 1) ||
	    (rk->gen == 0 && rk->have == 0))
		return -SGA_E_BAD_FIELD;
	for (unsigned k = 0; k < 2 && !r->err; k++) {
		uint16_t n;

		if ((q = sga_rd_bytes(r, SGA_SHA256_LEN)))
			memcpy(rk->init_hash[k], q, SGA_SHA256_LEN);
		if ((q = sga_rd_bytes(r, SGA_KEY_LEN)))
			memcpy(rk->prev_k_t[k], q, SGA_KEY_LEN);
		n = sga_rd_u16(r);
		if (n > sizeof(rk->reply[k]))
			return -SGA_E_BAD_LENGTH;
		if ((q = sga_rd_bytes(r, n)))
			memcpy(rk->reply[k], q, n);
		rk->reply_len[k] = n;
		if (!(rk->have & (1u << k)))
			continue;
		if ((q = sga_rd_bytes(r, SGA_KEY_LEN)))
			memcpy(rk->k_t_next[k], q, SGA_KEY_LEN);
		if ((q = sga_rd_bytes(r, g->len)))
			memcpy(s->N[k], q, g->len);
		if ((q = sga_rd_bytes(r, g->len)))
			memcpy(s->K[k], q, g->len);
	}
	return r->err;
}
