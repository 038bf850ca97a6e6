/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * harness.h - an in-memory gateway and two devices wired together by plain
 * function calls, for the protocol tests and benchmarks. The gateway's records
 * live in this struct the way they live in Redis in the control plane; every
 * frame crosses as bytes, so a test can drop, replay or tamper with any of them.
 */
#ifndef SGA_TEST_HARNESS_H
#define SGA_TEST_HARNESS_H

#include "sga_cookie.h"
#include "sga_device.h"
#include "sga_gateway.h"
#include "sga_hop.h"

struct harness {
	struct sga_gw gw;
	struct sga_gw_device rec[2];  /* gateway records of d_i, d_j */
	struct sga_gw_session gsess;  /* the gateway's session record */
	struct sga_dev dev[2];        /* d_i, d_j */
	struct sga_dev_sess sess[2];  /* their sessions */
	uint8_t frame[SGA_FRAME_MAX]; /* last frame a step produced */
	size_t frame_len;
	struct sga_ack_win ack[2];     /* [role]: what the gateway took charge of from it */
	struct sga_cookie_key *cookie; /* non-NULL: a gateway under load (harness_full_cookie) */
	uint64_t cookie_now_ms;        /* ... its clock */
};

/* Shared RSA keys (generated once per process: RSA keygen is slow), 2048-bit
 * unless harness_set_rsa_bits (2048 or 3072) was called before first use. */
void harness_set_rsa_bits(unsigned bits);
struct sga_rsa_key *harness_rsa_pk(void);
struct sga_rsa_key *harness_rsa_tpk(void);

/** The profile a test runs in: group, except that ffdhe2048 (what most tests
 *  ask for) becomes the group named by the environment's SGA_TEST_GROUP
 *  ("x25519", "p256"), so one suite runs on every profile (tests/meson.build). */
uint8_t harness_group(uint8_t group);
/** Serve group in gw: the shared RSA keys for ffdhe, fresh EC key pairs
 *  otherwise. */
int harness_gw_add_profile(struct sga_gw *gw, uint8_t group);
/** sga_gw_fini for a gateway built with harness_gw_add_profile. */
void harness_gw_fini(struct sga_gw *gw);

/** Gateway (harness_group(group), registry = all suites) and two devices
 *  "dev-i" and "dev-j" with the given suite lists (suite_init = first
 *  entry). 0 or -SGA_E_*. */
int harness_init(struct harness *h, uint8_t group, const uint8_t *suites_i, uint8_t n_i,
                 const uint8_t *suites_j, uint8_t n_j);
void harness_fini(struct harness *h);

/** Register device k (0 or 1) through REG_REQ / REG_ACK. */
int harness_register(struct harness *h, int k);
/** A1..A4 with the initiator's preference list. */
int harness_negotiate(struct harness *h, const uint8_t *prefs, uint8_t n_pref);
/** B1..B7: both sessions ESTABLISHED, key confirmations not yet made. */
int harness_kex_only(struct harness *h);
/** Device `from`'s key confirmation (sga_dev_create_key_confirm; a repeat
 *  re-seals it), relayed by the gateway into relayed: the DATA_DOWN the peer
 *  would receive. Noted in h->ack[from] (e2e_seq 0). */
int harness_confirm_frame(struct harness *h, int from, uint8_t *relayed, size_t cap,
                          size_t *relayed_len);
/** Both confirms made, relayed and verified: both sessions ESTABLISHED. */
int harness_confirm(struct harness *h);
/** B1..B7 and the key confirmation: both sessions ESTABLISHED. */
int harness_kex(struct harness *h);
/** B1..B7, then both sessions marked confirmed without exchanging the
 *  confirmations through the gateway: its hop sequences stay at 0, and the
 *  sessions are as after the confirmations (e2e_seq 0 spent each way, data
 *  from 1). For tests of the relay layers that install the gateway's record
 *  elsewhere (the data plane) right after B7. */
int harness_kex_preconfirmed(struct harness *h);
/** The gateway under load: the frame in h->frame (REG_REQ, NEG_REQ or
 *  KEX_INIT), sent from ip:port (network order), is answered with a
 *  COOKIE_REPLY under key k at now_ms; the device checks the reply names its
 *  frame and sends it again inside a COOKIE_ECHO, which the gateway checks
 *  and opens: h->frame holds the frame the gateway handles after all (the
 *  same bytes). 0, or -SGA_E_AUTH (echo refused) and other -SGA_E_*. */
int harness_cookie_round(struct harness *h, struct sga_cookie_key *k, uint64_t now_ms,
                         uint32_t ip_be, uint16_t port_be);
/** harness_full with a cookie round before every REG_REQ, NEG_REQ and KEX_INIT
 *  reaches the gateway. */
int harness_full_cookie(struct harness *h, struct sga_cookie_key *k, const uint8_t *prefs,
                        uint8_t n_pref);
/** register both + negotiate + kex. */
int harness_full(struct harness *h, const uint8_t *prefs, uint8_t n_pref);
/** One more session set-up (A1-A4, B1-B7) between the registered devices, with
 *  every gateway handler call bracketed by begin()/end(): *gw_seconds adds what
 *  end() returns. For the benchmarks that price the gateway's share. */
int harness_session_timed(struct harness *h, const uint8_t *prefs, uint8_t n_pref,
                          double (*begin)(void), double (*end)(double), double *gw_seconds);
/** Session rekey (PROTOCOL.md 7.15): device `first` sends REKEY_INIT, the
 *  peer takes the gateway's REKEY_NOTICE and answers with its own, both take
 *  their REKEY_REPLY. The new generation's confirmations are not sent yet. */
int harness_rekey_only(struct harness *h, int first);
/** harness_rekey_only, then both confirmations relayed and consumed (each
 *  device's sga_dev_data_open reports SGA_DEV_REKEY_CONFIRMED). */
int harness_rekey(struct harness *h, int first);
/** One message from device `from` to the other through the gateway relay; the
 *  relayed message is noted in h->ack[from] (taken charge of). */
int harness_send(struct harness *h, int from, const uint8_t *msg, size_t len, uint8_t *got,
                 size_t cap, size_t *got_len);
/** The gateway's DATA_ACK to device `to` naming what h->ack[to] holds (the
 *  coalesced acknowledgement of everything relayed from it), into h->frame. */
int harness_ack(struct harness *h, int to);

/*
 * The gateway of the device-core worlds (test_core.c, test_core_portable.c):
 * the real handlers of sga_gateway.c behind a frame-in, frames-out call, with
 * one record per device and one session, the way the control plane keeps
 * them in Redis. The worlds add their own network and data path.
 */
struct harness_gw_world {
	struct sga_gw gw;
	struct sga_gw_device rec[2];
	int have_rec[2];
	struct sga_gw_session gs;
	uint8_t id0[SGA_ID_MAX]; /* device 0's identity: any other is device 1 */
	uint8_t id0_len;
};

/** A gateway "gw-core" offering four suites on harness_group(ffdhe2048), and
 *  the body of its package (what sga_core_init takes) in body[0..*blen). */
int harness_gw_world_init(struct harness_gw_world *g, const char *id0, uint8_t *body, size_t cap,
                          size_t *blen);
void harness_gw_world_fini(struct harness_gw_world *g);
/** 0 for device 0's identity, else 1. */
int harness_gw_world_dev(const struct harness_gw_world *g, const uint8_t *id, uint8_t len);

enum harness_gw_rc {
	HARNESS_GW_ANSWERED,      /* handled: the answers are in *out */
	HARNESS_GW_NEW_SESSION,   /* a NEG_REQ replaced the session (answers in *out): reset
	                             what the world keeps per session */
	HARNESS_GW_REFUSED,       /* a handshake frame the handlers refused */
	HARNESS_GW_NOT_HANDSHAKE, /* data, close, ...: the world's own */
};
/** REG_REQ, NEG_REQ, NEG_ACCEPT and KEX_INIT through the handlers; pk is
 *  sga_gw_peek's view of the frame. */
enum harness_gw_rc harness_gw_world_handshake(struct harness_gw_world *g,
                                              const struct sga_gw_peek *pk, const uint8_t *f,
                                              size_t n, struct sga_gw_out *out);

#endif
