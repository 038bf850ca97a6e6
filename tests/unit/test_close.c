/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_close.c - SESSION_CLOSE and SESSION_CLOSED (protocol/sga_close.h,
 * PROTOCOL.md 7.14): the plaintext codecs, both ends' checks, and the attacks
 * a close invites: a forged, re-addressed, re-typed, reflected or replayed
 * frame must never open as a close.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"
#include "sga_close.h"
#include "sga_cursor.h"
#include "sga_keys.h"
#include "sga_wire.h"

static const uint8_t SUITES_I[] = {SGA_SUITE_AES128_CCM8, SGA_SUITE_AES128_GCM}; /* tag 8 */
static const uint8_t SUITES_J[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_AES128_CCM8}; /* tag 16 */
static const uint8_t PREFS[] = {SGA_SUITE_AES128_GCM};

static struct harness *established(void)
{
	struct harness *h = calloc(1, sizeof(*h));

	cr_assert_not_null(h);
	cr_assert_eq(harness_init(h, SGA_GROUP_FFDHE2048, SUITES_I, 2, SUITES_J, 2), 0);
	cr_assert_eq(harness_full(h, PREFS, 1), 0);
	cr_assert_eq(h->gsess.state, SGA_GW_S_ESTABLISHED);
	return h;
}

static void done(struct harness *h)
{
	harness_fini(h);
	free(h);
}

TestSuite(close, .timeout = 60);

Test(close, plaintext_codecs_are_strict)
{
	struct sga_session_closed_plain c = {SGA_CLOSE_IDLE, 0x0102030405060708ull}, d;
	uint8_t b[16], reason;
	size_t n;

	cr_assert_eq(sga_session_close_plain_encode(SGA_CLOSE_DEVICE, b, sizeof(b), &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(b[0], 1);
	cr_assert_eq(sga_session_close_plain_encode(SGA_CLOSE_IDLE, b, sizeof(b), &n),
	             -SGA_E_BAD_FIELD, "a device closes with reason 1 only");
	cr_assert_eq(sga_session_close_plain_encode(SGA_CLOSE_DEVICE, b, 0, &n), -SGA_E_NOSPACE);
	cr_assert_eq(sga_session_close_plain_decode(b, 1, &reason), 0);
	cr_assert_eq(sga_session_close_plain_decode(b, 0, &reason), -SGA_E_TRUNCATED);
	cr_assert_eq(sga_session_close_plain_decode(b, 2, &reason), -SGA_E_TRAILING);
	b[0] = 4;
	cr_assert_eq(sga_session_close_plain_decode(b, 1, &reason), -SGA_E_BAD_FIELD);

	cr_assert_eq(sga_session_closed_plain_encode(&c, b, sizeof(b), &n), 0);
	cr_assert_eq(n, SGA_SESSION_CLOSED_PLAIN_LEN);
	cr_assert_arr_eq(b, ((uint8_t[]){2, 1, 2, 3, 4, 5, 6, 7, 8}), 9);
	cr_assert_eq(sga_session_closed_plain_decode(b, 9, &d), 0);
	cr_assert_eq(d.reason, SGA_CLOSE_IDLE);
	cr_assert_eq(d.delivered, c.delivered);
	cr_assert_eq(sga_session_closed_plain_decode(b, 8, &d), -SGA_E_TRUNCATED);
	cr_assert_eq(sga_session_closed_plain_decode(b, 10, &d), -SGA_E_TRAILING);
	for (unsigned r = 0; r < 256; r++) {
		b[0] = (uint8_t)r;
		cr_assert_eq(sga_session_closed_plain_decode(b, 9, &d),
		             r >= 1 && r <= SGA_CLOSE_REASON_MAX ? 0 : -SGA_E_BAD_FIELD,
		             "reason %u", r);
	}
	c.reason = 0;
	cr_assert_eq(sga_session_closed_plain_encode(&c, b, sizeof(b), &n), -SGA_E_BAD_FIELD);
	cr_assert_str_eq(sga_close_reason_name(SGA_CLOSE_REVOKED), "revoked");
	cr_assert_str_eq(sga_close_reason_name(0), "unknown");
	cr_assert_str_eq(sga_msg_name(SGA_MSG_SESSION_CLOSE), "SESSION_CLOSE");
}

Test(close, device_close_opens_at_the_gateway_for_each_role)
{
	struct harness *h = established();
	uint8_t f[SGA_FRAME_MAX];
	size_t n;

	for (uint8_t r = 0; r < 2; r++) {
		uint8_t role = 9;

		cr_assert_eq(sga_dev_create_session_close(&h->sess[r], f, sizeof(f), &n), 0);
		cr_assert_eq(f[1], SGA_MSG_SESSION_CLOSE);
		cr_assert_eq(sga_gw_open_session_close(&h->gsess, f, n, &role), 0);
		cr_assert_eq(role, r);
	}
	/* Not before the session is established at the gateway. */
	cr_assert_eq(sga_dev_create_session_close(&h->sess[0], f, sizeof(f), &n), 0);
	h->gsess.state = SGA_GW_S_KEX;
	{
		uint8_t role;

		cr_assert_eq(sga_gw_open_session_close(&h->gsess, f, n, &role), -SGA_E_BAD_STATE);
	}
	done(h);
}

Test(close, forged_or_altered_close_refused)
{
	struct harness *h = established();
	uint8_t f[SGA_FRAME_MAX], g[SGA_FRAME_MAX], role;
	size_t n;

	cr_assert_eq(sga_dev_create_session_close(&h->sess[1], f, sizeof(f), &n), 0);
	/* Every single bit of the frame matters: header, session id, role, nonce
	 * and ciphertext are authenticated (a flip is never a close). */
	for (size_t i = 0; i < n; i++)
		for (unsigned bit = 0; bit < 8; bit++) {
			memcpy(g, f, n);
			g[i] ^= (uint8_t)(1u << bit);
			cr_assert_neq(sga_gw_open_session_close(&h->gsess, g, n, &role), 0,
			              "byte %zu bit %u flipped and still a close", i, bit);
		}
	/* A frame sealed under a key that is not the member's. */
	{
		uint8_t key[SGA_AEAD_MAX_KEY_LEN] = {0}, plain[1] = {SGA_CLOSE_DEVICE};

		cr_assert_eq(sga_seal_sess_env(SGA_MSG_SESSION_CLOSE, h->gsess.session_id, 1,
		                               h->gsess.hop_suite[1], key, plain, 1, g, sizeof(g),
		                               &n),
		             0);
		cr_assert_eq(sga_gw_open_session_close(&h->gsess, g, n, &role), -SGA_E_AUTH);
	}
	done(h);
}

Test(close, close_of_another_session_or_type_refused)
{
	struct harness *a = established(), *b = established();
	uint8_t f[SGA_FRAME_MAX], role;
	size_t n;

	/* A's close replayed at B's record: another session. */
	cr_assert_eq(sga_dev_create_session_close(&a->sess[0], f, sizeof(f), &n), 0);
	cr_assert_eq(sga_gw_open_session_close(&b->gsess, f, n, &role), -SGA_E_UNKNOWN_SESSION);
	/* ... re-addressed to B's id: the key and the AAD are A's. */
	sga_put_u64(f + 4, b->gsess.session_id);
	cr_assert_eq(sga_gw_open_session_close(&b->gsess, f, n, &role), -SGA_E_AUTH);

	/* A KEX_INIT under the same kex key (as the device sends one) is no
	 * close, nor is it re-typed as one: the type is in the AAD. */
	{
		uint8_t key[SGA_AEAD_MAX_KEY_LEN], plain[40] = {0};

		cr_assert_eq(
		    sga_key_kex(a->gsess.k_t[0], a->gsess.session_id, a->gsess.hop_suite[0], key),
		    0);
		cr_assert_eq(sga_seal_sess_env(SGA_MSG_KEX_INIT, a->gsess.session_id, 0,
		                               a->gsess.hop_suite[0], key, plain, sizeof(plain), f,
		                               sizeof(f), &n),
		             0);
		cr_assert_eq(sga_gw_open_session_close(&a->gsess, f, n, &role), -SGA_E_BAD_TYPE);
		f[1] = SGA_MSG_SESSION_CLOSE;
		cr_assert_eq(sga_gw_open_session_close(&a->gsess, f, n, &role), -SGA_E_AUTH);
	}
	/* The gateway's SESSION_CLOSED reflected back as a close. */
	{
		const struct sga_session_closed_plain c = {SGA_CLOSE_OPERATOR, 0};

		cr_assert_eq(sga_gw_create_session_closed(&a->gsess, 0, &c, f, sizeof(f), &n), 0);
		f[1] = SGA_MSG_SESSION_CLOSE;
		cr_assert_eq(sga_gw_open_session_close(&a->gsess, f, n, &role), -SGA_E_AUTH);
	}
	done(a);
	done(b);
}

Test(close, closed_notice_opens_for_its_member_only)
{
	struct harness *a = established(), *b = established();
	const struct sga_session_closed_plain c = {SGA_CLOSE_IDLE, 42};
	struct sga_session_closed_plain got;
	uint8_t f[SGA_FRAME_MAX], g[SGA_FRAME_MAX];
	size_t n;

	for (uint8_t r = 0; r < 2; r++) {
		cr_assert_eq(sga_gw_create_session_closed(&a->gsess, r, &c, f, sizeof(f), &n), 0);
		cr_assert_eq(f[1], SGA_MSG_SESSION_CLOSED);
		cr_assert_eq(sga_dev_consume_session_closed(&a->sess[r], f, n, &got), 0);
		cr_assert_eq(got.reason, SGA_CLOSE_IDLE);
		cr_assert_eq(got.delivered, 42);
		/* Not the other member's, not another session's. */
		cr_assert_eq(sga_dev_consume_session_closed(&a->sess[r ^ 1], f, n, &got),
		             -SGA_E_BAD_FIELD);
		cr_assert_eq(sga_dev_consume_session_closed(&b->sess[r], f, n, &got),
		             -SGA_E_UNKNOWN_SESSION);
		for (size_t i = 0; i < n; i++) {
			memcpy(g, f, n);
			g[i] ^= 0x10;
			cr_assert_neq(sga_dev_consume_session_closed(&a->sess[r], g, n, &got), 0,
			              "byte %zu altered", i);
		}
	}
	/* A device's own close reflected back to it is no notice. */
	cr_assert_eq(sga_dev_create_session_close(&a->sess[0], f, sizeof(f), &n), 0);
	f[1] = SGA_MSG_SESSION_CLOSED;
	cr_assert_eq(sga_dev_consume_session_closed(&a->sess[0], f, n, &got), -SGA_E_AUTH);
	done(a);
	done(b);
}
