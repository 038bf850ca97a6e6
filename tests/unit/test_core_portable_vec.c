/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_core_portable_vec.c - part of test_core_portable, built with
 * sga_core_cp_names.h forced in: every sga_* name here is the device build's
 * (sources.list + offload/portable, renamed sgacp_sga_*), none is the
 * OpenSSL one. It gives the test the core on the portable crypto as a table
 * (core_api.h) and checks the docs/PROTOCOL.md section 15 vectors the
 * device's code computes (tests/support/protocol_vectors.h, the same bytes
 * test_vectors.c checks on OpenSSL): hop keys and epochs, the DATA_UP
 * "hello" frame and its inner layer, d_j opening the relayed DATA_DOWN, d_i
 * opening the DATA_ACK.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "core_api.h"
#include "protocol_vectors.h"
#include "sga_cursor.h"
#include "sga_device.h"
#include "sga_hop.h"
#include "sga_keys.h"
#include "sga_wire.h"

#if !defined(sga_core_init) || !defined(sga_aead_seal) || !defined(sga_dev_data_seal)
#error "build with -include sga_core_cp_names.h (tests/meson.build)"
#endif

const struct core_api core_api_portable = CORE_API_TABLE("portable");

void core_api_portable_set_random(sga_portable_random_fn fn, void *ctx)
{
	sga_portable_set_random(fn, ctx);
}

/* The inputs of section 15.1 these vectors take. */
#define SID     0x0102030405060708ull
#define EPOCH_I 0xe0e1e2e3e4e5e6e7ull
#define EPOCH_J 0xf0f1f2f3f4f5f6f7ull
static const uint8_t V_DATA_E2E_IJ[16] = {
    0x3c, 0x54, 0xc5, 0xc5, 0x7a, 0x95, 0xec, 0x63, 0x8a, 0xb4, 0xb5, 0x13, 0xf4, 0x9e, 0x1f, 0xbf,
};
static const uint8_t V_DATA_E2E_JI[16] = {
    0xf0, 0xe6, 0xb6, 0x31, 0x67, 0x6a, 0x85, 0xb1, 0x81, 0xb7, 0xa8, 0xfe, 0xd6, 0xeb, 0x21, 0x0d,
};

static uint8_t k_t[SGA_KEY_LEN], k_tj[SGA_KEY_LEN];

static void inputs_init(void)
{
	for (int i = 0; i < SGA_KEY_LEN; i++) {
		k_t[i] = (uint8_t)(0x20 + i);
		k_tj[i] = (uint8_t)(0x40 + i);
	}
}

#define RC_OK(expr)                                                                 \
	do {                                                                        \
		int rc_ = (expr);                                                   \
		cr_assert_eq(rc_, 0, "%s: %d (%s)", #expr, rc_, sga_err_name(rc_)); \
	} while (0)

static void expect_bytes(const char *what, const uint8_t *got, size_t got_len, const uint8_t *want,
                         size_t want_len)
{
	size_t i = 0;

	while (i < got_len && i < want_len && got[i] == want[i])
		i++;
	cr_assert(got_len == want_len && i == want_len,
	          "%s: %zu bytes, want %zu; first difference at byte %zu", what, got_len, want_len,
	          i);
}

/* A confirmed session (section 15.6 takes the E2E keys as inputs). */
static void sess_established(struct sga_dev_sess *s, uint8_t role, const uint8_t *k_t_dev)
{
	const int init = role == SGA_ROLE_INITIATOR;

	memset(s, 0, sizeof(*s));
	s->state = SGA_DEV_S_ESTABLISHED;
	s->confirm_sent = 1;
	s->peer_confirmed = 1;
	s->role = role;
	s->session_id = SID;
	s->suite = SGA_SUITE_AES128_GCM;
	s->group = SGA_GROUP_FFDHE2048;
	s->hop_suite = SGA_SUITE_AES128_GCM;
	memcpy(s->e2e_tx_key, init ? V_DATA_E2E_IJ : V_DATA_E2E_JI, 16);
	memcpy(s->e2e_rx_key, init ? V_DATA_E2E_JI : V_DATA_E2E_IJ, 16);
	RC_OK(sga_key_hop(k_t_dev, SID, s->hop_suite, SGA_DIR_UP, s->hop_up));
	RC_OK(sga_key_hop(k_t_dev, SID, s->hop_suite, SGA_DIR_DOWN, s->hop_down_base));
	sga_replay_init(&s->hop_rx_win);
	sga_replay_init(&s->e2e_rx_win);
}

TestSuite(core_portable_vectors, .init = inputs_init);

Test(core_portable_vectors, hop_keys_and_epochs)
{
	uint8_t key[SGA_AEAD_MAX_KEY_LEN];

	RC_OK(sga_key_hop(k_t, SID, SGA_SUITE_AES128_GCM, SGA_DIR_UP, key));
	expect_bytes("d_i hop up key", key, 16, V_HOP_UP_GCM, sizeof(V_HOP_UP_GCM));
	RC_OK(sga_key_hop(k_t, SID, SGA_SUITE_AES128_GCM, SGA_DIR_DOWN, key));
	expect_bytes("d_i hop down base", key, 16, V_HOP_DOWN_GCM, sizeof(V_HOP_DOWN_GCM));
	RC_OK(sga_key_hop_epoch(V_HOP_DOWN_GCM, EPOCH_I, SGA_SUITE_AES128_GCM, key));
	expect_bytes("d_i hop down key e0..e7", key, 16, V_HOP_DOWN_E_GCM,
	             sizeof(V_HOP_DOWN_E_GCM));
	RC_OK(sga_key_hop(k_tj, SID, SGA_SUITE_AES128_GCM, SGA_DIR_DOWN, key));
	expect_bytes("d_j hop down base", key, 16, V_J_HOP_DOWN_GCM, sizeof(V_J_HOP_DOWN_GCM));
	RC_OK(sga_key_hop_epoch(V_J_HOP_DOWN_GCM, EPOCH_J, SGA_SUITE_AES128_GCM, key));
	expect_bytes("d_j hop down key f0..f7", key, 16, V_J_HOP_DOWN_E_GCM,
	             sizeof(V_J_HOP_DOWN_E_GCM));
}

Test(core_portable_vectors, data_up_frame)
{
	static struct sga_dev_sess s;
	uint8_t frame[128], nonce[SGA_AEAD_NONCE_LEN], inner[64];
	size_t len, inner_len;

	sess_established(&s, SGA_ROLE_INITIATOR, k_t);
	RC_OK(sga_dev_data_seal(&s, (const uint8_t *)"hello", 5, frame, sizeof(frame), &len));
	expect_bytes("DATA_UP", frame, len, V_DATA_UP, sizeof(V_DATA_UP));
	memset(nonce, 0, sizeof(nonce));
	RC_OK(sga_open_env(SGA_SUITE_AES128_GCM, V_HOP_UP_GCM, nonce, frame, 29, frame + 29,
	                   len - 29, inner, sizeof(inner), &inner_len));
	expect_bytes("DATA_UP inner (e2e_seq | e2e_ct)", inner, inner_len, V_DATA_INNER,
	             sizeof(V_DATA_INNER));
	sga_dev_sess_wipe(&s);
}

Test(core_portable_vectors, data_down_opened_by_d_j)
{
	static struct sga_dev_sess s;
	uint8_t msg[16];
	size_t len;

	sess_established(&s, SGA_ROLE_RESPONDER, k_tj);
	RC_OK(sga_dev_data_open(&s, V_DATA_DOWN, sizeof(V_DATA_DOWN), msg, sizeof(msg), &len));
	expect_bytes("d_j plaintext", msg, len, (const uint8_t *)"hello", 5);
	cr_assert_eq(s.hop_epoch, EPOCH_J, "d_j adopted the epoch of the frame");
	expect_bytes("d_j hop down key", s.hop_down, 16, V_J_HOP_DOWN_E_GCM, 16);
	cr_assert_eq(
	    sga_dev_data_open(&s, V_DATA_DOWN, sizeof(V_DATA_DOWN), msg, sizeof(msg), &len),
	    -SGA_E_REPLAY);
	sga_dev_sess_wipe(&s);
}

Test(core_portable_vectors, data_ack_opened_by_d_i)
{
	static struct sga_dev_sess s;
	struct sga_data_ack_plain got = {0, 0};

	sess_established(&s, SGA_ROLE_INITIATOR, k_t);
	RC_OK(sga_dev_ack_open(&s, V_DATA_ACK, sizeof(V_DATA_ACK), &got));
	cr_assert(got.top == 1 && got.bits == 1);
	sga_dev_sess_wipe(&s);
}
