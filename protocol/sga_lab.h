/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_lab.h - lab provisioning: N established sessions whose every secret is
 * derived from a lab seed and the session's index, so that a gateway can write
 * them into its store in seconds (controlplane/cp_lab.c) and a load generator
 * (tests/bench/loadgen.c) can play both devices of each without running
 * 100,000 handshakes. NOT FOR PRODUCTION: whoever holds the seed holds every
 * key of every lab session; a gateway refuses the file under
 * `[lab] profile = production` (the default).
 *
 * Derivation (HKDF-SHA256, RFC 5869; ikm = the 32-byte seed, salt = "SGA lab
 * v1", info = label | index as 8 bytes big-endian):
 *   "sid"      4 bytes, once per seed (index 0): the session id's high half;
 *              session_id = sid_tag << 32 | (index + 1), so a frame's clear
 *              session id names its index without a lookup
 *   "session"  224 bytes per session: k_d i | k_d j (each member's device key)
 *              | k_t i | k_t j (each member's temporary key: the hop keys come
 *              from it through sga_key_hop, as after a handshake) | k_isj (32
 *              bytes standing in for the DH value K_isj) | hop epoch i |
 *              hop epoch j (8 bytes each, 0 taken as 1) | H(N_i) | H(N_j)
 *              (standing in for the hashes of the group elements): 240 bytes
 *              in all. Both E2E keys and both key confirmations come from
 *              k_isj and the transcript through sga_dev_sess_derive, as the
 *              device derives them after its KEX_REPLY. A lab session keeps
 *              its hop-down epoch across gateway starts (PROTOCOL.md 8.1) so
 *              that a generator replaying a pcap, which never reads a gateway
 *              frame, echoes it; its nonces stay apart only through the
 *              sequence reservation (clock floor). Lab only.
 * Device ids: "lab-<sid_tag hex>-<index>-i" and "...-j"; the transcript's ID_G
 * is SGA_LAB_ID_G and its preference list the E2E suite alone. A lab device
 * session starts ESTABLISHED as after the key confirmation: e2e_seq 0 of
 * each direction is spent, data starts at 1.
 *
 * The provisioning file is text, one "key = value" per line ('#' comments):
 *   format = sga-lab-1 | seed = 64 hex | sessions = N | suite = E2E suite |
 *   hop_suite = hop suite of both members | group = ffdhe2048 | ffdhe3072
 * It holds the seed: written with mode 0600, refused when group or others may
 * read it.
 */
#ifndef SGA_LAB_H
#define SGA_LAB_H

#include <stddef.h>
#include <stdint.h>

#include "sga_device.h"
#include "sga_gateway.h"

#define SGA_LAB_SEED_LEN     32
#define SGA_LAB_SESSIONS_MAX 16777216u /* the data plane's max_sessions bound */
#define SGA_LAB_ID_G         "sga-lab" /* the transcript's gateway identity */

struct sga_lab_params {
	uint8_t seed[SGA_LAB_SEED_LEN];
	uint32_t sessions;
	uint8_t suite;     /* E2E suite */
	uint8_t hop_suite; /* both members' suite_init */
	uint8_t group;
};

/** One lab session's inputs: what a handshake would have produced. The gateway
 *  records and the device sessions are built from it (sga_lab_gw_records,
 *  sga_lab_dev_sess); a test fills it from a real handshake instead. */
struct sga_lab_sess {
	uint64_t session_id;
	uint8_t suite, group;
	uint64_t req_ctr;
	uint8_t id_len[2];
	uint8_t id[2][SGA_ID_MAX];
	uint8_t hop_suite[2];
	uint8_t k_d[2][SGA_KEY_LEN];
	uint8_t k_t[2][SGA_KEY_LEN];
	uint64_t up_ctr[2], down_ctr[2]; /* the device records' counters */
	uint8_t k_isj[SGA_KEY_LEN];      /* stands in for K_isj (E2E keys) */
	uint64_t hop_epoch[2]; /* each member's fixed hop-down epoch; 0: drawn at install */
	/* The rest of the transcript (PROTOCOL.md 8.2). */
	uint8_t id_g_len;
	uint8_t id_g[SGA_ID_MAX];
	uint8_t n_pref;
	uint8_t prefs[SGA_MAX_SUITES];
	uint8_t n_hash[2][SGA_SHA256_LEN];
};

/** The derived session of index (< p->sessions). 0 or -SGA_E_BAD_FIELD /
 *  -SGA_E_CRYPTO. Wipe with sga_lab_sess_wipe. */
int sga_lab_derive(const struct sga_lab_params *p, uint32_t index,
                   struct sga_lab_sess *out) SGA_MUST_CHECK;
/** The index a lab session id names under p, or -1 if it is not one of p's. */
int64_t sga_lab_index(const struct sga_lab_params *p, uint64_t session_id);
/** The session id of index under p (no other secret derived). */
int sga_lab_session_id(const struct sga_lab_params *p, uint32_t index,
                       uint64_t *session_id) SGA_MUST_CHECK;

/** The gateway's records of an ESTABLISHED session, as sga_gw_kex_init_handle
 *  leaves them (N, K wiped; no cached B5/B6: a lab device never sends
 *  KEX_INIT), and both members' device records. The hop members (s->hop) are
 *  left zero but for their epochs (ls->hop_epoch): whoever relays derives the
 *  keys from k_t (store_session_get, dp_session_install), and 100,000
 *  sessions would pay four HKDFs each for nothing. */
int sga_lab_gw_records(const struct sga_lab_sess *ls, struct sga_gw_device dev[2],
                       struct sga_gw_session *s) SGA_MUST_CHECK;
/** The device side of member role, ESTABLISHED, as the key confirmation
 *  leaves it: hop keys from k_t, E2E keys and confirmations from k_isj and the
 *  transcript (sga_dev_sess_derive), hop sequences at 0, e2e_seq 0 of both
 *  directions spent (the confirms). */
int sga_lab_dev_sess(const struct sga_lab_sess *ls, uint8_t role,
                     struct sga_dev_sess *s) SGA_MUST_CHECK;
void sga_lab_sess_wipe(struct sga_lab_sess *ls);

/** Write p as a provisioning file at path, mode 0600 (O_EXCL unless force).
 *  0 or -errno. */
int sga_lab_file_write(const char *path, const struct sga_lab_params *p, int force);
/** Read a provisioning file. 0, or -1 with a one-line reason in err ("FILE:
 *  ...", "FILE:LINE: ..."); refuses group/other permission bits. */
int sga_lab_file_read(const char *path, struct sga_lab_params *p, char *err, size_t err_len);

#endif /* SGA_LAB_H */
