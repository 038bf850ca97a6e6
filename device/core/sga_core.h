/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_core.h - the device's protocol engine for microcontrollers: no OS, no
 * allocator, no global state.
 *
 * One struct sga_core is one device talking to one gateway, with at most one
 * session. The caller owns the struct (its size is a compile-time constant),
 * and gives it, through struct sga_core_io, a millisecond clock, the transport
 * (send one datagram to the gateway; datagrams that arrive are handed to
 * sga_core_input), durable storage for the long-term state, and an event
 * callback. Randomness and every cryptographic operation go through
 * sga_crypto.h: the board registers its TRNG with the crypto back end
 * (sga_portable_set_random for the portable one).
 *
 * The storage rule (PROTOCOL.md 9.1, the Linux SDK's state file): the core
 * calls io->save with the new long-term state, and only sends the frame that
 * uses a new up counter (or a new k_d) once save returned 0. A device that
 * restarts from what save wrote never reuses a counter.
 *
 * Nothing blocks: every call does its work and returns. The board's loop
 * feeds datagrams to sga_core_input and calls sga_core_poll when
 * sga_core_next_timer says a timer is due (it may sleep until then).
 */
#ifndef SGA_CORE_H
#define SGA_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sga_cookie.h"
#include "sga_device.h"

/* ---- limits (compile-time; override with -D) ------------------------------ */

#ifndef SGA_CORE_WINDOW
#define SGA_CORE_WINDOW 4 /* messages sent and not yet acknowledged (incl. the key confirmation) */
#endif
#ifndef SGA_CORE_MSG_MAX
#define SGA_CORE_MSG_MAX 256 /* largest application message, either direction */
#endif
#ifndef SGA_CORE_CTL_MAX
#define SGA_CORE_CTL_MAX \
	400 /* a REG_REQ (RSA-3072: 391 bytes) or a NEG_ACCEPT kept for re-sending */
#endif
#ifndef SGA_CORE_RTO_MS
#define SGA_CORE_RTO_MS 500 /* first retransmission timeout; doubles per expiry */
#endif
#ifndef SGA_CORE_RTO_MAX_MS
#define SGA_CORE_RTO_MAX_MS 4000
#endif
#ifndef SGA_CORE_CTL_TRIES
#define SGA_CORE_CTL_TRIES 6 /* transmissions of a control frame before giving up */
#endif
#ifndef SGA_CORE_TIMEOUT_MS
#define SGA_CORE_TIMEOUT_MS \
	20000 /* a message (or the key confirmation) unacknowledged this long ends the session */
#endif
#ifndef SGA_CORE_DLV_DELAY_MS
#define SGA_CORE_DLV_DELAY_MS 20 /* DATA_DELIVERED this long after the first unreported message */
#endif
#define SGA_CORE_DLV_EVERY 16 /* ... or after this many (PROTOCOL.md 7.11a) */

/*
 * SGA_CORE_FULL=1: what a host SDK needs beyond a microcontroller, compiled in
 * only there (the microcontroller build leaves it out and does not grow):
 * timings and a message window chosen at run time, the window's slots in the
 * caller's memory (sga_core_configure), the first timeout of a message from
 * the measured round trip (RFC 6298, Karn's rule) and a fast re-send of a
 * message three later ones overtook, ERROR hints (7.12) that shape the status
 * an exchange gives up with, counters (struct sga_core_stats), and session
 * rekey (7.15: sga_core_rekey, and the steps sga_core_rk_* the Linux SDK's
 * rekey runs on).
 */
#ifndef SGA_CORE_FULL
#define SGA_CORE_FULL 0
#endif
#if SGA_CORE_FULL
#include "sga_rekey.h" /* the rekey's steps (below) */
#endif
#ifndef SGA_CORE_RTO_MIN_MS
#define SGA_CORE_RTO_MIN_MS 100 /* SGA_CORE_FULL: the measured timeout's floor */
#endif
#define SGA_CORE_FAST_RESEND 3 /* SGA_CORE_FULL: later ACKs that make a message count as lost */

/** No answer in time (the number the Linux SDK uses, SGA_CLIENT_E_TIMEOUT). */
#define SGA_CORE_E_TIMEOUT 1000

/* ---- what the caller persists ---------------------------------------------- */

/** The long-term state (PROTOCOL.md 9.1): store it as it is, give it back to
 *  sga_core_init after a restart. Holds k_d: keep it where only the device
 *  reads it. */
struct sga_core_persist {
	uint8_t id_len;
	uint8_t id[SGA_ID_MAX];
	uint8_t k_d[SGA_KEY_LEN];
	uint8_t suite_init;
	uint8_t n_suites;
	uint8_t suites[SGA_MAX_SUITES];
	uint8_t registered;
#if SGA_CORE_FULL
	/* A k_d replacement (PROTOCOL.md 7.1) sent and not yet acknowledged, and
	 * the key it proposed: a device restarted before the REG_ACK proposes the
	 * same key again. The host build's engine writes them
	 * (sga_core_rekey_device), the Linux SDK's state file keeps them; a
	 * microcontroller build, whose engine has no k_d rekey, stores neither. */
	uint8_t has_k_d_next;
	uint8_t k_d_next[SGA_KEY_LEN];
#endif
	uint64_t up_ctr;
	uint64_t down_ctr;
};

/** The long-term part of d (identity, k_d, suites, registration, counters)
 *  into p; p's k_d_next fields are left as they are. The core's save and the
 *  Linux SDK's state file take it the same way. */
static inline void sga_core_persist_from_dev(struct sga_core_persist *p, const struct sga_dev *d)
{
	p->id_len = d->id_len;
	memcpy(p->id, d->id, sizeof(p->id));
	memcpy(p->k_d, d->k_d, sizeof(p->k_d));
	p->suite_init = d->suite_init;
	p->n_suites = d->n_suites;
	memcpy(p->suites, d->suites, sizeof(p->suites));
	p->registered = (uint8_t)d->registered;
	p->up_ctr = d->up_ctr;
	p->down_ctr = d->down_ctr;
}

/** d, set up by sga_dev_init with p's identity and suites, takes p's k_d,
 *  counters and registration: the device as it was when p was saved. */
static inline void sga_core_dev_from_persist(struct sga_dev *d, const struct sga_core_persist *p)
{
	memcpy(d->k_d, p->k_d, sizeof(d->k_d));
	d->up_ctr = p->up_ctr;
	d->down_ctr = p->down_ctr;
	d->registered = p->registered;
}

/* ---- events ------------------------------------------------------------------ */

enum sga_core_event_type {
	SGA_CORE_EV_REGISTERED = 1, /* REG_ACK: the gateway knows this identity */
	SGA_CORE_EV_REG_FAILED,     /* no REG_ACK after SGA_CORE_CTL_TRIES (status) */
	SGA_CORE_EV_ESTABLISHED,    /* both key confirmations done: data may flow (peer) */
	SGA_CORE_EV_SESSION_FAILED, /* connect/accept/session ended with status */
	SGA_CORE_EV_CLOSED, /* the session ended by SESSION_CLOSED (status = reason, seq = delivered) or our close deadline */
	SGA_CORE_EV_MESSAGE, /* the peer's message seq (data, len), exactly once, as it arrives */
	SGA_CORE_EV_ACKED,   /* the gateway took charge of our message seq (stored) */
	SGA_CORE_EV_WOKEN,   /* WAKE_ACK (status 0: seq = sessions whose stored messages come now,
	                      len = invitations re-sent), or no answer (status) */
	SGA_CORE_EV_REKEYED, /* SGA_CORE_FULL, a session rekey: status 0: the keys of generation
	                      seq are taken; or no REKEY_REPLY after the tries (status): the keys
	                      stay, the request waits (sga_core_rekey or a notice sends it again) */
	SGA_CORE_EV_KEY_REPLACED, /* SGA_CORE_FULL, a k_d rekey (sga_core_rekey_device): status 0:
	                      the proposed key is k_d now (saved, counters restarted); or no
	                      REG_ACK after the tries (status): the old key stays, the proposal is
	                      saved and sga_core_rekey_device proposes it again */
};

struct sga_core_event {
	uint8_t type;        /* enum sga_core_event_type */
	int status;          /* 0 or a negated SGA_E_*; the close reason for CLOSED */
	uint64_t seq;        /* e2e_seq of MESSAGE / ACKED (1 = first application message) */
	const uint8_t *data; /* MESSAGE: valid during the callback only; ESTABLISHED: peer id */
	size_t len;
};

/* ---- the board's side ----------------------------------------------------------- */

struct sga_core_io {
	void *ctx; /* passed to every callback */
	/** Monotonic milliseconds. */
	uint64_t (*now_ms)(void *ctx);
	/** One datagram to the gateway. A failure counts as a loss (timers re-send). */
	int (*send)(void *ctx, const uint8_t *frame, size_t len);
	/** Make st durable before returning 0; non-zero: the frame that needed it is not sent. */
	int (*save)(void *ctx, const struct sga_core_persist *st);
	/** What happened; the callback may call sga_core_send / sga_core_close. */
	void (*event)(void *ctx, const struct sga_core_event *ev);
#if SGA_CORE_FULL
	/** Monotonic microseconds for the RTT samples; NULL: now_ms * 1000. */
	uint64_t (*now_us)(void *ctx);
#endif
};

/* ---- the engine ------------------------------------------------------------------ */

enum sga_core_op {
	SGA_CORE_OP_NONE = 0,
	SGA_CORE_OP_REG, /* REG_REQ sent, waiting for REG_ACK */
	SGA_CORE_OP_NEG, /* NEG_REQ sent, waiting for NEG_RESULT */
	SGA_CORE_OP_KEX, /* KEX_INIT (and, as responder, NEG_ACCEPT) sent, waiting for KEX_REPLY */
	SGA_CORE_OP_CONFIRM, /* keys derived, waiting for the peer's key confirmation */
	SGA_CORE_OP_CLOSE,   /* SESSION_CLOSE sent, waiting for SESSION_CLOSED */
};

/* A message sent and not acknowledged yet; slot = e2e_seq % window. */
struct sga_core_tx {
	uint8_t used;
	uint8_t tries;
	uint16_t len;
	uint32_t rto;
	uint64_t seq;
	uint64_t next_ms, give_up_ms;
#if SGA_CORE_FULL
	uint64_t sent_us; /* first transmission, for the RTT sample (Karn's rule) */
	uint64_t stamp;   /* order of the last transmission among all */
	uint32_t later;   /* ACKs of messages sent after that transmission */
#endif
	uint8_t msg[SGA_CORE_MSG_MAX];
};

#if SGA_CORE_FULL
/** Run-time timings and window (sga_core_configure, sga_core_win_init);
 *  sga_core_init sets the compile-time ones (SGA_CORE_RTO_MS ...,
 *  SGA_CORE_WINDOW slots of its own). */
struct sga_core_params {
	uint32_t rto_ms;     /* first timeout of a control frame, and of a message until measured */
	uint32_t rto_min_ms; /* bounds of the measured one */
	uint32_t rto_max_ms; /* and of every doubling */
	/* A message unacknowledged this long ends the session; so do CONFIRM and CLOSE. */
	uint32_t timeout_ms;
	uint16_t ctl_tries; /* transmissions of a control frame (or WAKE) before giving up */
	uint16_t window;    /* messages in flight: the number of slots */
	/* The caller's window slots (NULL: the core's own, window <= SGA_CORE_WINDOW). */
	struct sga_core_tx *slots;
};

/** Frames counted since sga_core_init (what sga_client_stats reports). */
struct sga_core_stats {
	uint64_t retransmits; /* frames sent again by a timer or a fast re-send */
	uint64_t acked;       /* application messages acknowledged */
	uint64_t duplicates;  /* frames that repeated what came before */
	uint64_t dropped;     /* frames that failed a check or came at the wrong time */
	uint64_t hints;       /* ERROR frames */
	uint64_t cookies;     /* cookie challenges answered */
};
#endif

/* The send window (PROTOCOL.md 9.4): the messages sent and not acknowledged,
 * their timers and the first timeout. The core keeps one; in the host build
 * the Linux SDK drives one of its own with the same functions. */
struct sga_core_win {
	uint64_t base, next; /* e2e_seq in [base, next) may be in flight */
#if SGA_CORE_FULL
	struct sga_core_tx *tx;
	uint16_t window;
	uint8_t rtt_valid; /* srtt_us, rttvar_us hold a sample */
	uint32_t in_flight;
	uint32_t rto_min_ms, rto_max_ms, timeout_ms;
	uint32_t data_rto; /* first timeout of a new message (ms): measured, or rto_ms */
	uint64_t srtt_us, rttvar_us;
	uint64_t stamp; /* transmissions of messages so far */
#else
	struct sga_core_tx tx[SGA_CORE_WINDOW];
#endif
};

#if SGA_CORE_FULL
/** A window of p->window slots at p->slots, empty (the other fields of p but
 *  ctl_tries apply); -SGA_E_BAD_FIELD for a zero timing or window, no slots,
 *  or rto_min_ms > rto_max_ms. */
int sga_core_win_init(struct sga_core_win *w, const struct sga_core_params *p) SGA_MUST_CHECK;
#endif
/** Forget (and wipe) every slot; new messages start at e2e_seq 0, and take
 *  rto_ms as their first timeout until a round trip is measured. */
void sga_core_win_reset(struct sga_core_win *w, uint32_t rto_ms);
/** Message seq (len <= SGA_CORE_MSG_MAX bytes) sent for the first time now;
 *  the measured round trip (SGA_CORE_FULL) uses now_us. */
struct sga_core_tx *sga_core_win_arm(struct sga_core_win *w, uint64_t seq, const uint8_t *msg,
                                     size_t len, uint64_t now_ms, uint64_t now_us);
/** Messages that may be armed now. */
unsigned sga_core_win_room(const struct sga_core_win *w);
/** A DATA_ACK names seq: 1 if it was in flight (forgotten and wiped now; its
 *  round trip measured if it went once; each message sent before it one
 *  later ACK closer to a fast re-send), 0 if acknowledged before. */
int sga_core_win_ack(struct sga_core_win *w, uint64_t seq, uint64_t now_us);
/** A message SGA_CORE_FAST_RESEND later ones overtook (SGA_CORE_FULL; NULL:
 *  none): send it again now, then sga_core_win_resent without backoff. */
struct sga_core_tx *sga_core_win_lost(struct sga_core_win *w);
/** A message whose timer is due at now_ms (NULL: none): send it again, then
 *  sga_core_win_resent, or end the session once now_ms >= its give_up_ms. */
struct sga_core_tx *sga_core_win_due(struct sga_core_win *w, uint64_t now_ms);
/** t went again at now_ms; backoff: its timer fired (its timeout doubles). */
void sga_core_win_resent(struct sga_core_win *w, struct sga_core_tx *t, uint64_t now_ms,
                         int backoff);
/** When the next timer is due (ms), 0 if none. */
uint64_t sga_core_win_next_ms(const struct sga_core_win *w);
/** Our confirmation into f (cap bytes, *len) and into the window like a
 *  message (a DATA_ACK releases it, its timer re-seals it): the session's key
 *  confirmation, e2e_seq 0, or (SGA_CORE_FULL) once a rekey's keys are taken,
 *  its confirmation, the generation's first e2e_seq. Send f then. */
int sga_core_win_confirm(struct sga_core_win *w, struct sga_dev_sess *s, uint8_t *f, size_t cap,
                         size_t *len, uint64_t now_ms, uint64_t now_us) SGA_MUST_CHECK;
/** Is e2e_seq seq of session s a key confirmation, not an application
 *  message: e2e_seq 0, or (SGA_CORE_FULL) the first of a rekey's generation? */
int sga_core_is_confirm(const struct sga_dev_sess *s, uint64_t seq);
/** Seal slot t of session s again into f (cap bytes, *len): the key
 *  confirmation, a rekey's confirmation (SGA_CORE_FULL), or the message under
 *  a fresh hop seq. */
int sga_core_reseal(struct sga_dev_sess *s, const struct sga_core_tx *t, uint8_t *f, size_t cap,
                    size_t *len) SGA_MUST_CHECK;

/* The handshake's steps (PROTOCOL.md 10.1) on a device and a session, without
 * the engine: the core's exchange and the Linux SDK's run on them. Each takes
 * what the gateway sent and builds the device's next frame; saving, sending,
 * timers and what the caller reports stay the caller's. */

/** A4 -> B1: the NEG_RESULT f for the NEG_REQ of s (state NEG_SENT). 0: a
 *  suite agreed, the KEX_INIT into kex (cap bytes, *len; the same bytes each
 *  time sga_dev_create_kex_init is asked again). -SGA_E_* with s FAILED: the
 *  attempt ends: the gateway's authenticated refusal, its status (s names no
 *  session: session_id 0), or no KEX_INIT could be built (session_id set).
 *  Another -SGA_E_*: not the answer (forged, late, malformed), s NEG_SENT. */
SGA_MUST_CHECK static inline int sga_core_hs_result(struct sga_dev *d, struct sga_dev_sess *s,
                                                    const uint8_t *f, size_t n, uint8_t *kex,
                                                    size_t cap, size_t *len)
{
	int rc = sga_dev_consume_neg_result(d, s, f, n);

	if (!rc && (rc = sga_dev_create_kex_init(d, s, kex, cap, len)))
		s->state = SGA_DEV_S_FAILED;
	return rc;
}

/** A3 (and B3): answer the invitation consumed into s (state INVITED): the
 *  NEG_ACCEPT into acc (acc_cap bytes, *acc_len), accepting (accept != 0:
 *  the KEX_INIT into kex, kex_cap, *kex_len, to go after it) or declining (s
 *  FAILED, *kex_len 0). The NEG_ACCEPT takes an up counter: save before
 *  either leaves. -SGA_E_* (s FAILED once the NEG_ACCEPT was built). */
SGA_MUST_CHECK static inline int sga_core_hs_answer(struct sga_dev *d, struct sga_dev_sess *s,
                                                    int accept, uint8_t *acc, size_t acc_cap,
                                                    size_t *acc_len, uint8_t *kex, size_t kex_cap,
                                                    size_t *kex_len)
{
	int rc = sga_dev_create_neg_accept(d, s, accept, acc, acc_cap, acc_len);

	*kex_len = 0;
	if (!rc && accept && (rc = sga_dev_create_kex_init(d, s, kex, kex_cap, kex_len)))
		s->state = SGA_DEV_S_FAILED;
	return rc;
}

/** B5/B6 -> B7: the KEX_REPLY f for the KEX_INIT of s (state KEX). 0: keys
 *  derived, our key confirmation into out (cap bytes, *len) and into w like a
 *  message (sga_core_win_confirm): send it. -SGA_E_* with s still KEX: not
 *  the answer (forged, a duplicate, no KEX_INIT yet), s unchanged; with s
 *  ESTABLISHED: the confirmation could not be sealed (the attempt ends). */
SGA_MUST_CHECK static inline int sga_core_hs_keys(struct sga_dev *d, struct sga_dev_sess *s,
                                                  struct sga_core_win *w, const uint8_t *f,
                                                  size_t n, uint8_t *out, size_t cap, size_t *len,
                                                  uint64_t now_ms, uint64_t now_us)
{
	int rc = sga_dev_consume_kex_reply(d, s, f, n);

	return rc ? rc : sga_core_win_confirm(w, s, out, cap, len, now_ms, now_us);
}

/* A WAKE's steps (PROTOCOL.md 7.16) on a device, without the engine: the
 * core's WAKE (sga_core_wake) and the Linux SDK's run on them. Saving,
 * sending, the re-send timer and what the caller reports stay the caller's;
 * a re-send is a new WAKE (sga_core_wake_req again). */

/** A new WAKE asking for flags (SGA_WAKE_WANT_*) into f (cap bytes, *len):
 *  it took the next up counter, save before it leaves. From now on only its
 *  WAKE_ACK is taken (an earlier WAKE's is refused). -SGA_E_BAD_STATE: d not
 *  registered; -SGA_E_BAD_FIELD: unknown flags; nothing built, d unchanged. */
SGA_MUST_CHECK static inline int sga_core_wake_req(struct sga_dev *d, uint8_t flags, uint8_t *f,
                                                   size_t cap, size_t *len)
{
	return sga_dev_create_wake(d, flags, f, cap, len);
}

/** The WAKE_ACK f for our latest WAKE: 0: the gateway took its counter (its
 *  address for d is where f came from), *ack its counts (invitations, and
 *  sessions with stored messages); no WAKE_ACK is taken again until the next
 *  WAKE. -SGA_E_REPLAY: authentic but not for the latest WAKE (late, a
 *  duplicate, or none waits: answered or given up, sga_core_wake_end);
 *  another -SGA_E_*: forged or malformed; d unchanged either way. */
SGA_MUST_CHECK static inline int sga_core_wake_ack(struct sga_dev *d, const uint8_t *f, size_t n,
                                                   struct sga_wake_ack_plain *ack)
{
	return sga_dev_consume_wake_ack(d, f, n, ack);
}

/** The latest WAKE is over (given up, or never sent because saving failed):
 *  its WAKE_ACK, should one come late, is refused. */
static inline void sga_core_wake_end(struct sga_dev *d)
{
	d->wake_ctr = 0;
}

/* A device-key (k_d) rekey's steps (PROTOCOL.md 7.1: the REG_REQ flagged
 * REKEY, MACed under the old k_d, that carries k_d_next) on a device, without
 * the engine: the Linux SDK's runs on them. Saving, sending, the re-send timer
 * and what the caller reports stay the caller's; the caller keeps the proposed
 * key (k_d_next) beside the state it saves. */

/** The REG_REQ replacing d's k_d into f (cap bytes, *len). pending: the key a
 *  replacement sent and not acknowledged proposed (SGA_KEY_LEN bytes), proposed
 *  again so that the replacement converges whether the gateway took it or not;
 *  NULL: a fresh key. next receives the proposed key: it and the up counter the
 *  request took are saved before the frame leaves (a device stopped before the
 *  REG_ACK then finishes the same replacement). -SGA_E_BAD_STATE: d not
 *  registered, nothing built; another -SGA_E_*: nothing to send. */
SGA_MUST_CHECK static inline int sga_core_kd_req(struct sga_dev *d, const uint8_t *pending,
                                                 uint8_t *f, size_t cap, size_t *len,
                                                 uint8_t next[SGA_KEY_LEN])
{
	int rc;

	if (!d->registered)
		return -SGA_E_BAD_STATE;
	if (pending) {
		memcpy(d->reg_k_d, pending, SGA_KEY_LEN);
		d->reg_k_d_set = 1;
	}
	rc = sga_dev_create_reg_req(d, NULL, 0, 1, f, cap, len);
	if (!rc)
		memcpy(next, d->reg_k_d, SGA_KEY_LEN);
	return rc;
}

/** The REG_ACK f for d's pending REG_REQ (a registration's or a k_d rekey's):
 *  0: registered; if it acknowledges the replacement that proposed next
 *  (*has_next), next is d's k_d now (the old one overwritten, the counters
 *  restarted): *has_next = 0 and next wiped; save. -SGA_E_*: not the answer
 *  (forged, malformed, an older request's, none pending), d, *has_next and
 *  next unchanged. */
SGA_MUST_CHECK static inline int sga_core_kd_ack(struct sga_dev *d, const uint8_t *f, size_t n,
                                                 uint8_t *has_next, uint8_t next[SGA_KEY_LEN])
{
	int rc = sga_dev_consume_reg_ack(d, f, n);

	if (rc)
		return rc;
	if (*has_next && sga_ct_memeq(d->k_d, next, SGA_KEY_LEN)) {
		/* The replacement key is the key now. */
		*has_next = 0;
		sga_memzero(next, SGA_KEY_LEN);
		d->reg_k_d_set = 0;
	}
	return 0;
}

#if SGA_CORE_FULL
/* A session rekey's steps (PROTOCOL.md 7.15; SGA_CORE_FULL, as the window's
 * rekey confirmation) on a device and a session, without the engine: the
 * Linux SDK's rekey runs on them. Each takes what the gateway sent or builds
 * the device's next frame; saving, sending, timers and the policy stay the
 * caller's. */

/** A new rekey is held back only by the previous generation's overlap (no
 *  request pending, the old keys still live): start it once settled
 *  (sga_core_rk_settle). */
static inline int sga_core_rk_waits(const struct sga_dev_sess *s)
{
	return !s->rk.pending && !sga_dev_rekey_idle(s);
}

/** The REKEY_INIT for the next generation of s (established, confirmed) into
 *  f (cap bytes, *len). *fresh = 1: a new request, which took the next up
 *  counter: save before it leaves (if saving fails, sga_dev_rekey_abandon);
 *  *fresh = 0: the pending request's same bytes again. -SGA_E_BAD_STATE: not
 *  now (s not established or not confirmed, the overlap not over: see
 *  sga_core_rk_waits), -SGA_E_*: nothing built, s unchanged. */
SGA_MUST_CHECK static inline int sga_core_rk_init(struct sga_dev *d, struct sga_dev_sess *s,
                                                  uint8_t *f, size_t cap, size_t *len, int *fresh)
{
	*fresh = !s->rk.pending;
	if (s->state != SGA_DEV_S_ESTABLISHED)
		return -SGA_E_BAD_STATE;
	return sga_dev_create_rekey_init(d, s, f, cap, len);
}

/** A REKEY_NOTICE f for s: 0 when the peer asks for the next generation
 *  (*gen): answer with sga_core_rk_init (a new request, or ours again if it
 *  is out already). -SGA_E_*: not for s now (s not established, an older
 *  generation, forged): the caller drops it. */
SGA_MUST_CHECK static inline int sga_core_rk_notice(const struct sga_dev *d,
                                                    const struct sga_dev_sess *s, const uint8_t *f,
                                                    size_t n, uint32_t *gen)
{
	return sga_dev_consume_rekey_notice(d, s, f, n, gen);
}

/** A REKEY_REPLY f for the pending request of s: 0: the new generation's
 *  keys taken (the old ones stay for the overlap): its confirmation is due
 *  (sga_core_rk_confirm). -SGA_E_BAD_STATE: no request pending (a duplicate
 *  or late reply); another -SGA_E_*: not the answer (forged, malformed); s
 *  unchanged either way. */
SGA_MUST_CHECK static inline int sga_core_rk_keys(struct sga_dev *d, struct sga_dev_sess *s,
                                                  const uint8_t *f, size_t n)
{
	return sga_dev_consume_rekey_reply(d, s, f, n);
}

/** The confirmation of the generation whose keys s took last: into out (cap
 *  bytes, *len) and into w like a message (sga_core_win_confirm, the
 *  generation's first e2e_seq): send it. *len 0: w has no room yet, ask again
 *  when it has. -SGA_E_*: it could not be sealed (the session cannot go on). */
SGA_MUST_CHECK static inline int sga_core_rk_confirm(struct sga_core_win *w, struct sga_dev_sess *s,
                                                     uint8_t *out, size_t cap, size_t *len,
                                                     uint64_t now_ms, uint64_t now_us)
{
	*len = 0;
	if (!sga_core_win_room(w))
		return 0;
	return sga_core_win_confirm(w, s, out, cap, len, now_ms, now_us);
}

/** End the previous generation's overlap where it is over: its send key
 *  once nothing in w up to the new generation's first e2e_seq waits for a
 *  DATA_ACK (the oldest in flight: w->base), its receive key once every
 *  message below the peer's first under the new keys came up (rx_next: the
 *  first e2e_seq not handed up or given up). */
static inline void sga_core_rk_settle(struct sga_dev_sess *s, const struct sga_core_win *w,
                                      uint64_t rx_next)
{
	sga_dev_rekey_settle(s, w->base, rx_next);
}
#endif

/* An exchange's re-send timer (a control request, or a WAKE): the core's and
 * the Linux SDK's. Each timed (re)send arms it: a try more, the next one rto
 * from now, rto doubled up to a maximum, the cookie echoes' budget (two per
 * period) renewed. */
struct sga_core_xt {
	uint64_t next_ms; /* 0: no timer */
	uint32_t rto;     /* the timeout the next arming takes */
	uint16_t tries;   /* timed transmissions so far */
	uint8_t echoes;   /* cookie echoes sent at once since the last arming */
};

/** A new exchange: no tries, no timer, the first timeout rto0. */
void sga_core_xt_start(struct sga_core_xt *t, uint32_t rto0);
/** A timed transmission went: count it and arm the next one (see above). */
void sga_core_xt_arm(struct sga_core_xt *t, uint64_t now_ms, uint32_t rto_max);
/** 1 if the timer runs and now_ms is at or past it. */
int sga_core_xt_due(const struct sga_core_xt *t, uint64_t now_ms);
/** 1 (and counted) if a cookie echo may go at once, 0 if the period's two went. */
int sga_core_xt_echo(struct sga_core_xt *t);

struct sga_core {
	struct sga_core_io io;
	struct sga_dev dev;
	struct sga_dev_sess sess;

	/* The one control exchange in progress and its re-send timer. */
	struct sga_core_xt ctl_xt;
	uint64_t op_deadline_ms; /* CONFIRM, CLOSE: when the exchange gives up */
	uint8_t op;              /* enum sga_core_op */
	uint8_t accepting;       /* answer invitations (sga_core_accept) */
	uint16_t ctl_len;
	uint8_t ctl[SGA_CORE_CTL_MAX]; /* REG_REQ, NEG_REQ or NEG_ACCEPT: the request sent last */
	uint8_t peer_len;
	uint8_t peer[SGA_ID_MAX]; /* connect: whom to ask again */
	/* The gateway's cookie (PROTOCOL.md 7.13) for the request whose
	 * digest is cookie_for: that request goes inside a COOKIE_ECHO. */
	uint8_t has_cookie;
	uint8_t cookie[SGA_COOKIE_LEN];
	uint8_t cookie_for[SGA_COOKIE_DIGEST_LEN];

	/* A WAKE (sga_core_wake) waiting for its WAKE_ACK, beside any exchange. */
	uint8_t wake_flags;
	struct sga_core_xt wake_xt; /* next_ms 0: none */

	struct sga_core_win win; /* sending */
#if SGA_CORE_FULL
	struct sga_core_params prm;
	struct sga_core_stats stats;
	uint16_t hint; /* the last ERROR hint about us since the exchange began (0: none) */
	struct sga_core_tx tx_own[SGA_CORE_WINDOW]; /* the window's slots without the caller's */
	/* A session rekey (sga_core_rekey): the REKEY_INIT's re-send timer
	 * (next_ms 0: none), a rekey asked for while the previous overlap runs,
	 * our confirmation of new keys waiting for room in the window. */
	struct sga_core_xt rk_xt;
	uint8_t rk_want;
	uint8_t rk_confirm_due;
	/* A k_d rekey (sga_core_rekey_device): the REG_REQ in ctl is one (op
	 * REG); the key proposed and not yet acknowledged, saved with the state. */
	uint8_t kd_op;
	uint8_t kd_has_next;
	uint8_t kd_next[SGA_KEY_LEN];
#endif

	/* Receiving: DATA_DELIVERED state (PROTOCOL.md 7.11a). */
	uint64_t dlv_sent;  /* next_e2e_seq last reported */
	uint64_t dlv_since; /* ms the oldest unreported message came; 0: none */
	uint8_t dlv_force;  /* report at once: the gateway re-sent one we hold */
	uint8_t dlv_count;  /* messages since the last report */

	uint8_t frame[SGA_FRAME_MAX];  /* the frame being built */
	uint8_t msg[SGA_CORE_MSG_MAX]; /* the message being opened */
};

/**
 * Start the engine. pkg_body: the pinned gateway package (PROTOCOL.md 5).
 * saved: what io->save last stored, or NULL for a new identity: then id,
 * suites (suite_init = suites[0]) name it, a fresh k_d is drawn and saved
 * before this returns. 0, -SGA_E_BAD_PACKAGE, -SGA_E_BAD_FIELD, -SGA_E_CRYPTO,
 * -SGA_E_INTERNAL (save failed).
 */
int sga_core_init(struct sga_core *c, const struct sga_core_io *io, const uint8_t *pkg_body,
                  size_t pkg_len, const struct sga_core_persist *saved, const uint8_t *id,
                  uint8_t id_len, const uint8_t *suites, uint8_t n_suites) SGA_MUST_CHECK;
/** The long-term state to io->save now; 0 once it is durable, -SGA_E_INTERNAL
 *  if save failed. The core calls it before every frame that takes a new up
 *  counter or carries a new k_d; a caller that builds such frames itself (the
 *  Linux SDK) calls it the same way. */
int sga_core_save(struct sga_core *c) SGA_MUST_CHECK;
/** Wipe every secret (the struct may then be reused for sga_core_init). */
void sga_core_fini(struct sga_core *c);

/** A COOKIE_REPLY f (7.13) and a request req sent last (REG_REQ, NEG_REQ,
 *  KEX_INIT): 1 if the reply names req (by its digest, into digest) and
 *  cookie holds the gateway's cookie for it, 0 if it names another frame,
 *  -SGA_E_* if malformed. The core's and the Linux SDK's test of a reply. */
int sga_core_cookie_names(const uint8_t *f, size_t n, const uint8_t *req, size_t req_len,
                          uint8_t cookie[SGA_COOKIE_LEN],
                          uint8_t digest[SGA_COOKIE_DIGEST_LEN]) SGA_MUST_CHECK;

#if SGA_CORE_FULL
/** An ERROR frame (7.12, unauthenticated) that came to the device dev in
 *  session sess (SGA_CORE_FULL): 1 if it is about the device, the session, or
 *  nobody in particular (*e holds it), 0 if about someone else, -SGA_E_*
 *  if malformed. The core's, and the Linux SDK's, rule for which hints count. */
int sga_core_error_about_us(const struct sga_dev *dev, const struct sga_dev_sess *sess,
                            const uint8_t *f, size_t n, struct sga_error_msg *e);
#endif

#if SGA_CORE_FULL
/** Timings and window from now on (SGA_CORE_FULL): while no session is set
 *  up (-SGA_E_BAD_STATE otherwise); -SGA_E_BAD_FIELD for a zero timing,
 *  try count or window, rto_min_ms > rto_max_ms, or a window larger than
 *  SGA_CORE_WINDOW without slots. The caller's slots stay its own; the core
 *  wipes what it put in them when a session ends and in sga_core_fini. */
int sga_core_configure(struct sga_core *c, const struct sga_core_params *p) SGA_MUST_CHECK;
#endif

/** Register the identity (REG_REQ, the same bytes re-sent with backoff):
 *  EV_REGISTERED or EV_REG_FAILED. -SGA_E_BAD_STATE while another exchange runs. */
int sga_core_register(struct sga_core *c, const uint8_t *token, uint8_t token_len) SGA_MUST_CHECK;
/** Initiator: a session with peer (A1..A4, B1..B7, key confirmation):
 *  EV_ESTABLISHED or EV_SESSION_FAILED. A NEG_REQ without answer is asked
 *  again as a new request (new counter, saved first). */
int sga_core_connect(struct sga_core *c, const uint8_t *peer, uint8_t peer_len) SGA_MUST_CHECK;
/** Responder: answer invitations (on != 0) or decline them (0, the default). */
void sga_core_accept(struct sga_core *c, int on);
/** Tell the gateway where the device is now (PROTOCOL.md 7.16): after it
 *  woke up, or its address changed (a new network, a NAT that rebound). A
 *  WAKE under a new up counter (saved first) moves the device's address in
 *  the gateway and in every session it holds; flags (SGA_WAKE_WANT_INVITES,
 *  SGA_WAKE_WANT_STORED) ask for the invitations waiting for it and its
 *  stored messages, which then arrive as any others. Re-sent as a new WAKE
 *  on the control timer until the WAKE_ACK: EV_WOKEN. -SGA_E_BAD_STATE if
 *  not registered or while a WAKE is under way. */
int sga_core_wake(struct sga_core *c, uint8_t flags) SGA_MUST_CHECK;
/** Queue one message (<= SGA_CORE_MSG_MAX bytes) to the peer: sealed and sent
 *  now, re-sent until the gateway acknowledges it (EV_ACKED). *seq (may be
 *  NULL) receives its e2e_seq. -SGA_E_NOSPACE while SGA_CORE_WINDOW messages are
 *  in flight; -SGA_E_BAD_STATE without an established session;
 *  -SGA_E_OVERSIZED. */
int sga_core_send(struct sga_core *c, const uint8_t *msg, size_t len, uint64_t *seq) SGA_MUST_CHECK;
/** Messages sga_core_send would take now (SGA_CORE_WINDOW, or the configured
 *  window, less those in flight). */
unsigned sga_core_send_room(const struct sga_core *c);
#if SGA_CORE_FULL
/** Renew the session's keys (PROTOCOL.md 7.15; SGA_CORE_FULL): a REKEY_INIT
 *  under a new up counter (saved first), re-sent on its own timer beside the
 *  traffic, which goes on under the current keys; the gateway asks the peer,
 *  whose own REKEY_INIT completes it. EV_REKEYED when the new keys are taken
 *  (the confirmation of them goes as the next message) or the tries are
 *  spent. A peer's request (REKEY_NOTICE) is answered the same way without a
 *  call. 0 also while one is under way, or when the previous generation's
 *  overlap must end first (it starts then); -SGA_E_BAD_STATE without a
 *  confirmed session or while it closes. */
int sga_core_rekey(struct sga_core *c) SGA_MUST_CHECK;
#endif
#if SGA_CORE_FULL
/** Replace the device's long-term key k_d (PROTOCOL.md 7.1; SGA_CORE_FULL): a
 *  REG_REQ flagged REKEY, MACed under the old key, carrying a fresh one (or,
 *  after a replacement that was not acknowledged, the key it proposed, so that
 *  it converges whether the gateway took it or not), under a new up counter;
 *  the proposed key and the counter are saved (has_k_d_next, k_d_next) before
 *  it leaves. Re-sent as it is on the control timer: EV_KEY_REPLACED. A
 *  session goes on meanwhile (its keys do not depend on k_d). -SGA_E_BAD_STATE
 *  if not registered or while another exchange (or a session's set-up or
 *  close) runs; -SGA_E_INTERNAL if saving failed (nothing sent). */
int sga_core_rekey_device(struct sga_core *c) SGA_MUST_CHECK;
/** Give up the registration or k_d rekey in progress, and a WAKE, without
 *  an event (SGA_CORE_FULL): the caller's own deadline came first. Nothing
 *  is sent again; a k_d rekey's proposal stays saved. A REG_ACK that comes
 *  late is still taken (the gateway holds that registration or key) and
 *  reported; a late WAKE_ACK is refused (sga_core_wake_end). Nothing happens
 *  if none runs. */
void sga_core_abandon(struct sga_core *c);
/** Fire the control exchange's and the WAKE's timers only (SGA_CORE_FULL),
 *  for a caller that runs the session's timers itself: the Linux SDK, whose
 *  registration, k_d rekey and WAKE run on the core's. */
void sga_core_poll_ctl(struct sga_core *c);
#endif
/** End the session (SESSION_CLOSE until SESSION_CLOSED or the deadline):
 *  EV_CLOSED. Unacknowledged messages are dropped. */
int sga_core_close(struct sga_core *c) SGA_MUST_CHECK;

/** A datagram from the gateway. Frames that fail a check change nothing. */
void sga_core_input(struct sga_core *c, const uint8_t *frame, size_t len);
/** Fire due timers (retransmission, DATA_DELIVERED, deadlines). */
void sga_core_poll(struct sga_core *c);
/** Milliseconds until the next timer is due (0: now), -1 if none. */
int32_t sga_core_next_timer(const struct sga_core *c);
/** A session is established and confirmed (data may flow). */
int sga_core_established(const struct sga_core *c);

#endif /* SGA_CORE_H */
