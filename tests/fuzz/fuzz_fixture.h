/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_fixture.h - the fixed world the protocol fuzzers play in: a gateway on
 * the keys of fuzz_keys.h, two registered devices "dev-i" and "dev-j" with
 * fixed k_d, and sessions between them in every gateway and device state,
 * with fixed k_t. Fixed keys make an authentic frame written today (a seed)
 * authentic tomorrow, and let a harness seal fuzzer bytes under the key the
 * receiver expects, so the fuzzer gets past authentication into the payload
 * parsers and the state transitions behind them.
 */
#ifndef SGA_FUZZ_FIXTURE_H
#define SGA_FUZZ_FIXTURE_H

#include "sga_device.h"
#include "sga_gateway.h"

#define FUZZ_SID_INVITED     0x1111111111111111ull
#define FUZZ_SID_KEX         0x2222222222222222ull
#define FUZZ_SID_ESTABLISHED 0x3333333333333333ull
#define FUZZ_N_SESS          3 /* index: 0 INVITED, 1 KEX, 2 ESTABLISHED */
#define FUZZ_TOKEN           "fuzz-token"
#define FUZZ_NEW_ID          "dev-new" /* on the allow-list, not registered */

/* The gateway's records: what cp_handler.c loads from Redis. */
enum { FUZZ_DEV_I = 0, FUZZ_DEV_J = 1, FUZZ_DEV_NEW = 2, FUZZ_N_REC = 3 };
struct fuzz_gw_state {
	struct sga_gw_device rec[FUZZ_N_REC]; /* dev-i, dev-j, dev-new */
	int have_rec[FUZZ_N_REC];             /* dev-new: only once it registered */
	struct sga_gw_enroll allow;           /* dev-new's token hash, until used */
	int have_allow;
	/* The fixture's sessions, and one a NEG_REQ may create (random id). */
	struct sga_gw_session sess[FUZZ_N_SESS + 1];
};

/* The devices' state: what sga_client keeps. */
struct fuzz_dev_state {
	struct sga_dev dev[2];
	/* [k][state]: device k's session; for dev-i: NEG_SENT, KEX (KEX_INIT made),
	 * ESTABLISHED; for dev-j: INVITED slot (empty until an A2), KEX, ESTABLISHED. */
	struct sga_dev_sess sess[2][FUZZ_N_SESS];
};

struct fuzz_world {
	struct sga_gw gw;
	struct fuzz_gw_state g;
	struct fuzz_dev_state d;
	uint8_t k_d[2][SGA_KEY_LEN];
	uint8_t k_t[FUZZ_N_SESS][2][SGA_KEY_LEN];
	uint8_t kisj[SGA_GROUP_MAX_LEN]; /* the ESTABLISHED session's K_isj */
};

/** Build the world (slow: RSA key parsing, a KEX_INIT per device). Once per
 *  process; harnesses copy w->g / w->d per input. 0 or -SGA_E_*. */
int fuzz_world_init(struct fuzz_world *w);

/** Device k's record as the gateway holds it in g (by id), or NULL. */
struct sga_gw_device *fuzz_gw_device(struct fuzz_gw_state *g, const uint8_t *id, uint8_t id_len);
/** The session of g named sid, or NULL. */
struct sga_gw_session *fuzz_gw_session(struct fuzz_gw_state *g, uint64_t sid);

/** One frame of every message type, made by the real device and gateway
 *  functions on copies of w (so w is unchanged): fn(ctx, name, frame, len)
 *  per frame, names like "REG_REQ" or "DATA_UP". For the seed corpora.
 *  0 or -SGA_E_*. */
typedef void (*fuzz_frame_fn)(void *ctx, const char *name, const uint8_t *frame, size_t len);
int fuzz_world_frames(const struct fuzz_world *w, fuzz_frame_fn fn, void *ctx);

#endif /* SGA_FUZZ_FIXTURE_H */
