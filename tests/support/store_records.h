/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store_records.h - the device and session records the store suites write
 * (test_store, test_store_cluster): fixed contents, so a read-back compares
 * with what make_dev / make_sess give again.
 */
#ifndef SGA_TEST_STORE_RECORDS_H
#define SGA_TEST_STORE_RECORDS_H

#include <string.h>

#include "sga_gateway.h"

static inline void make_dev(struct sga_gw_device *d, const char *id)
{
	memset(d, 0, sizeof(*d));
	d->id_len = (uint8_t)strlen(id);
	memcpy(d->id, id, d->id_len);
	for (unsigned i = 0; i < SGA_KEY_LEN; i++)
		d->k_d[i] = (uint8_t)(0xa0 + i);
	d->suite_init = SGA_SUITE_AES128_GCM;
	d->n_suites = 3;
	d->suites[0] = SGA_SUITE_AES128_GCM;
	d->suites[1] = SGA_SUITE_CHACHA20_POLY1305;
	d->suites[2] = SGA_SUITE_AES128_CCM8;
	d->up_ctr = 5;
	d->down_ctr = 7;
}

static inline void make_sess(struct sga_gw_session *s, uint64_t sid, uint8_t state)
{
	memset(s, 0, sizeof(*s));
	s->session_id = sid;
	s->state = state;
	s->suite = SGA_SUITE_CHACHA20_POLY1305;
	s->group = SGA_GROUP_FFDHE2048;
	s->req_ctr = 42;
	s->id_len[0] = 5;
	memcpy(s->id[0], "dev-i", 5);
	s->id_len[1] = 5;
	memcpy(s->id[1], "dev-j", 5);
	s->hop_suite[0] = SGA_SUITE_AES128_GCM;
	s->hop_suite[1] = SGA_SUITE_AES256_GCM;
	for (unsigned i = 0; i < SGA_KEY_LEN; i++) {
		s->k_t[0][i] = (uint8_t)(0x10 + i);
		s->k_t[1][i] = (uint8_t)(0x50 + i);
	}
	if (state == SGA_GW_S_KEX) {
		s->have_init = 1;
		memset(s->N[0], 0x33, 256);
		memset(s->K[0], 0x44, 256);
	}
	if (state == SGA_GW_S_ESTABLISHED) {
		s->have_init = 3;
		for (unsigned r = 0; r < 2; r++) {
			s->reply_len[r] = 300;
			memset(s->reply[r], 0x70 + (int)r, 300);
			memset(s->init_hash[r], 0xa0 + (int)r, sizeof(s->init_hash[r]));
		}
	}
}

#endif
