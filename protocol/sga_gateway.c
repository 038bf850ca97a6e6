/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_gateway.c - gateway state machine: registration with the enrollment
 * policy, negotiation (A1-A4), the gateway's part of the key exchange (B2, B4,
 * B5, B6) and the hop-layer relay. Pure functions over the records declared in
 * sga_gateway.h; the caller does all storage and I/O.
 *
 * Each handler works on local copies and writes the caller's records only once
 * every check passed, so a rejected frame leaves all state as it was.
 */
#include <string.h>

#include "sga_check.h"
#include "sga_cursor.h"
#include "sga_gateway.h"
#include "sga_rekey.h"
#include "sga_kex.h"
#include "sga_keys.h"

static int in_list(uint8_t v, const uint8_t *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == v)
			return 1;
	return 0;
}

static void out_add(struct sga_gw_out *out, const uint8_t *id, uint8_t id_len, const uint8_t *frame,
                    size_t len)
{
	/* Callers build frames in place (see out_slot); this records the address. */
	unsigned i = out->n++;

	out->msg[i].to_id_len = id_len;
	memcpy(out->msg[i].to_id, id, id_len);
	if (frame != out->msg[i].frame)
		memcpy(out->msg[i].frame, frame, len);
	out->msg[i].len = len;
}

static uint8_t *out_slot(struct sga_gw_out *out)
{
	return out->msg[out->n].frame;
}

int sga_gw_init_empty(struct sga_gw *gw, const uint8_t *id, uint8_t id_len, const uint8_t *suites,
                      uint8_t n_suites, uint8_t enroll_mode)
{
	int rc;

	memset(gw, 0, sizeof(*gw));
	if (!sga_id_valid(id, id_len) || enroll_mode > SGA_ENROLL_ALLOWLIST)
		return -SGA_E_BAD_FIELD;
	rc = sga_suite_list_check(suites, n_suites);
	if (rc)
		return rc;
	gw->id_len = id_len;
	memcpy(gw->id, id, id_len);
	gw->n_suites = n_suites;
	memcpy(gw->suites, suites, n_suites);
	gw->enroll_mode = enroll_mode;
	return 0;
}

int sga_gw_add_profile(struct sga_gw *gw, uint8_t group, struct sga_pke_priv *pk,
                       struct sga_pke_priv *tpk)
{
	const struct sga_group_info *grp = sga_group_get(group);
	struct sga_gw_profile *p;
	struct sga_package pkg;
	size_t len;
	int rc;

	if (!grp || gw->n_prof >= SGA_GW_PROFILES_MAX || sga_gw_profile(gw, group) || !pk || !tpk ||
	    pk->group != group || tpk->group != group)
		return -SGA_E_BAD_FIELD;
	p = &gw->prof[gw->n_prof];
	memset(&pkg, 0, sizeof(pkg));
	pkg.id_len = gw->id_len;
	memcpy(pkg.id, gw->id, gw->id_len);
	pkg.n_suites = gw->n_suites;
	memcpy(pkg.suites, gw->suites, gw->n_suites);
	pkg.group = group;
	rc = sga_pke_priv_public(pk, pkg.pk_der, sizeof(pkg.pk_der), &len);
	if (rc)
		return rc;
	pkg.pk_len = (uint16_t)len;
	rc = sga_pke_priv_public(tpk, pkg.tpk_der, sizeof(pkg.tpk_der), &len);
	if (rc)
		return rc;
	pkg.tpk_len = (uint16_t)len;
	rc = sga_pkg_encode(&pkg, p->pkg_frame, sizeof(p->pkg_frame), &p->pkg_frame_len);
	if (rc)
		return rc;
	p->pkg = pkg;
	p->grp = grp;
	p->pk = *pk;
	p->tpk = *tpk;
	memset(pk, 0, sizeof(*pk));
	memset(tpk, 0, sizeof(*tpk));
	gw->n_prof++;
	return 0;
}

int sga_gw_init(struct sga_gw *gw, const uint8_t *id, uint8_t id_len, uint8_t group,
                const uint8_t *suites, uint8_t n_suites, struct sga_rsa_key *pk,
                struct sga_rsa_key *tpk, uint8_t enroll_mode)
{
	struct sga_pke_priv kp, tkp;
	int rc;

	rc = sga_gw_init_empty(gw, id, id_len, suites, n_suites, enroll_mode);
	if (rc)
		return rc;
	if (sga_pke_is_hpke(group) || sga_pke_priv_from_rsa(group, pk, &kp))
		return -SGA_E_BAD_FIELD;
	if (sga_pke_priv_from_rsa(group, tpk, &tkp))
		return -SGA_E_BAD_FIELD;
	rc = sga_gw_add_profile(gw, group, &kp, &tkp);
	if (rc)
		memset(gw, 0, sizeof(*gw)); /* pk and tpk stay the caller's */
	return rc;
}

void sga_gw_fini(struct sga_gw *gw)
{
	for (unsigned i = 0; i < gw->n_prof; i++) {
		sga_pke_priv_free(&gw->prof[i].pk);
		sga_pke_priv_free(&gw->prof[i].tpk);
	}
	sga_memzero(gw, sizeof(*gw));
}

const struct sga_gw_profile *sga_gw_profile(const struct sga_gw *gw, uint8_t group)
{
	if (!gw->n_prof)
		return NULL;
	if (!group)
		return &gw->prof[0];
	for (unsigned i = 0; i < gw->n_prof; i++)
		if (gw->prof[i].grp->id == group)
			return &gw->prof[i];
	return NULL;
}

uint8_t sga_gw_device_group(const struct sga_gw *gw, const struct sga_gw_device *dev)
{
	if (dev->group)
		return dev->group;
	return gw->n_prof ? gw->prof[0].grp->id : 0;
}

int sga_gw_handle_pkg_req(const struct sga_gw *gw, const uint8_t *frame, size_t len,
                          struct sga_gw_out *out)
{
	const struct sga_gw_profile *p;
	uint8_t group;
	int rc = sga_pkg_req_decode(frame, len, &group);

	if (rc)
		return rc;
	p = sga_gw_profile(gw, group);
	if (!p)
		return -SGA_E_BAD_FIELD;
	out->n = 0;
	out_add(out, (const uint8_t *)"", 0, p->pkg_frame, p->pkg_frame_len);
	return 0;
}

/* ---- registration ---------------------------------------------------------- */

int sga_gw_reg_open(const struct sga_gw *gw, const uint8_t *frame, size_t len,
                    struct sga_reg_req *env, struct sga_reg_plain *req)
{
	const struct sga_gw_profile *p;
	uint8_t plain[SGA_RSA_MAX_LEN];
	size_t plain_len = 0;
	int rc;

	CHECK(sga_reg_req_decode(frame, len, env));
	p = sga_gw_profile(gw, env->group);
	if (!(env->flags & SGA_REG_FLAG_GROUP) && !p) {
		/* No GROUP flag and no ffdhe2048 here: a device of an earlier release
		 * on a gateway of one finite-field profile, which never sent the
		 * flag; it is of that profile (PROTOCOL.md 7.1). */
		for (unsigned i = 0; i < gw->n_prof && !p; i++)
			if (gw->prof[i].grp->kind == SGA_GROUP_KIND_FFDHE)
				p = &gw->prof[i];
		if (p)
			env->group = p->grp->id;
	}
	if (!p) {
		rc = -SGA_E_BAD_FIELD; /* a profile this gateway does not serve */
		goto out;
	}
	/* An RSA ciphertext is the modulus size; an HPKE one as long as what it
	 * seals, which the open checks. */
	if (!sga_pke_is_hpke(p->grp->id) && env->ct_len != sga_pke_sealed_len(&p->pk, 0)) {
		rc = -SGA_E_BAD_LENGTH;
		goto out;
	}
	/* AUTH: not encrypted to our PK, or tampered. */
	CHECK(sga_pke_open(&p->pk, SGA_PKE_REGISTRATION, env->ct, env->ct_len, plain, sizeof(plain),
	                   &plain_len));
	CHECK(sga_reg_plain_decode(plain, plain_len, req));
out:
	sga_memzero(plain, sizeof(plain));
	return rc;
}

static int seal_reg_ack(const struct sga_gw_device *rec, const struct sga_reg_plain *req,
                        uint64_t ctr, struct sga_gw_out *out)
{
	struct sga_reg_ack_plain ack;
	uint8_t plain[SGA_NONCE_LEN], key[SGA_AEAD_MAX_KEY_LEN];
	size_t plain_len, len;
	int rc;

	memcpy(ack.reg_nonce, req->reg_nonce, sizeof(ack.reg_nonce));
	CHECK(sga_reg_ack_plain_encode(&ack, plain, sizeof(plain), &plain_len));
	CHECK(sga_key_ctl(rec->k_d, rec->suite_init, key));
	CHECK(sga_seal_dev_env(SGA_MSG_REG_ACK, rec->id, rec->id_len, ctr, rec->suite_init, key,
	                       plain, plain_len, out_slot(out), SGA_FRAME_MAX, &len));
	out_add(out, rec->id, rec->id_len, out_slot(out), len);
out:
	sga_memzero(key, sizeof(key));
	return rc;
}

static void rec_from_req(struct sga_gw_device *rec, const struct sga_reg_req *env,
                         const struct sga_reg_plain *req)
{
	memset(rec, 0, sizeof(*rec));
	rec->group = env->group;
	rec->id_len = req->id_len;
	memcpy(rec->id, req->id, req->id_len);
	memcpy(rec->k_d, req->k_d, sizeof(rec->k_d));
	rec->suite_init = req->suite_init;
	rec->n_suites = req->n_suites;
	memcpy(rec->suites, req->suites, req->n_suites);
}

int sga_gw_reg_accept(const struct sga_gw *gw, const struct sga_reg_req *env,
                      const struct sga_reg_plain *req, const struct sga_gw_device *existing,
                      const struct sga_gw_enroll *allow, struct sga_gw_device *rec, int *token_used,
                      struct sga_gw_out *out)
{
	struct sga_gw_device nrec;
	uint8_t mac_key[SGA_MAC_LEN], mac[SGA_MAC_LEN], th[SGA_SHA256_LEN];
	uint64_t ack_ctr = 1;
	int rc = 0, used = 0;

	out->n = 0;
	rec_from_req(&nrec, env, req);
	if (existing) {
		if (sga_ct_memeq(existing->k_d, req->k_d, SGA_KEY_LEN) &&
		    sga_gw_device_group(gw, existing) == env->group &&
		    existing->suite_init == req->suite_init &&
		    existing->n_suites == req->n_suites &&
		    !memcmp(existing->suites, req->suites, req->n_suites)) {
			/* A retransmission of the request that created this record (a first
			 * registration or an applied rekey whose ACK was lost): only the
			 * holder of this k_d can have encrypted it. Re-acknowledge without
			 * touching the counters, so a replay gains nothing. */
			nrec = *existing;
			nrec.group = env->group;
			ack_ctr = existing->down_ctr + 1;
		} else if (env->flags & SGA_REG_FLAG_REKEY) {
			/* Replace only on proof of the old key, with a fresh counter. */
			struct sga_buf part = {env->mac_input, env->mac_input_len};

			CHECK(sga_key_rekey_mac(existing->k_d, mac_key));
			CHECK(sga_err_from_crypto(
			    sga_hmac_sha256(mac_key, sizeof(mac_key), &part, 1, mac)));
			if (!sga_ct_memeq(mac, env->mac, SGA_MAC_LEN)) {
				rc = -SGA_E_AUTH;
				goto out;
			}
			if (req->ctr <= existing->up_ctr) {
				rc = -SGA_E_REPLAY;
				goto out;
			}
		} else {
			rc = -SGA_E_EXISTS;
			goto out;
		}
	} else {
		if (env->flags & SGA_REG_FLAG_REKEY) {
			rc = -SGA_E_UNKNOWN_DEVICE;
			goto out;
		}
		if (sga_gw_enroll_mode(gw) == SGA_ENROLL_ALLOWLIST) {
			struct sga_buf part = {req->token, req->token_len};

			if (!allow || req->token_len == 0) {
				rc = -SGA_E_ENROLL_DENIED;
				goto out;
			}
			CHECK(sga_err_from_crypto(sga_sha256(&part, 1, th)));
			if (!sga_ct_memeq(th, allow->token_hash, sizeof(th))) {
				rc = -SGA_E_ENROLL_DENIED;
				goto out;
			}
			used = 1;
		}
	}
	nrec.down_ctr = ack_ctr;
	CHECK(seal_reg_ack(&nrec, req, ack_ctr, out));
	*rec = nrec;
	*token_used = used;
out:
	sga_memzero(&nrec, sizeof(nrec));
	sga_memzero(mac_key, sizeof(mac_key));
	if (rc)
		out->n = 0;
	return rc;
}

/* ---- negotiation ------------------------------------------------------------- */

/* Open a device envelope of want_type from dev and check its counter is fresh. */
static int open_from_dev(const struct sga_gw_device *dev, uint8_t want_type, const uint8_t *frame,
                         size_t len, uint8_t *plain, size_t cap, size_t *plain_len, uint64_t *ctr)
{
	struct sga_env_dev env;
	uint8_t key[SGA_AEAD_MAX_KEY_LEN];
	int rc;

	CHECK(sga_env_dev_decode(frame, len, &env));
	if (env.type != want_type) {
		rc = -SGA_E_BAD_TYPE;
		goto out;
	}
	if (env.id_len != dev->id_len || memcmp(env.id, dev->id, dev->id_len)) {
		rc = -SGA_E_UNKNOWN_DEVICE;
		goto out;
	}
	/* The tag before the counter: a REPLAY result then says only that an
	 * authentic frame came again, never how a forged counter compares with
	 * the device's (which would let anyone search for it). */
	CHECK(sga_key_ctl(dev->k_d, dev->suite_init, key));
	CHECK(sga_open_env(dev->suite_init, key, env.nonce, env.aad, env.aad_len, env.ct,
	                   env.ct_len, plain, cap, plain_len));
	if (env.ctr <= dev->up_ctr) {
		sga_memzero(plain, cap);
		rc = -SGA_E_REPLAY;
		goto out;
	}
	*ctr = env.ctr;
out:
	sga_memzero(key, sizeof(key));
	return rc;
}

int sga_gw_neg_req_open(const struct sga_gw *gw, const struct sga_gw_device *dev_i,
                        const uint8_t *frame, size_t len, struct sga_neg_req_plain *a1,
                        uint64_t *ctr)
{
	uint8_t plain[128];
	size_t plain_len;
	int rc;

	(void)gw;
	CHECK(open_from_dev(dev_i, SGA_MSG_NEG_REQ, frame, len, plain, sizeof(plain), &plain_len,
	                    ctr));
	CHECK(sga_neg_req_plain_decode(plain, plain_len, a1));
out:
	sga_memzero(plain, sizeof(plain));
	return rc;
}

/* ---- WAKE (7.16) ------------------------------------------------------------- */

int sga_gw_wake_open(const struct sga_gw *gw, const struct sga_gw_device *dev, const uint8_t *frame,
                     size_t len, struct sga_wake_plain *wake, uint64_t *ctr)
{
	uint8_t plain[16];
	size_t plain_len;
	int rc;

	(void)gw;
	CHECK(open_from_dev(dev, SGA_MSG_WAKE, frame, len, plain, sizeof(plain), &plain_len, ctr));
	CHECK(sga_wake_plain_decode(plain, plain_len, wake));
out:
	sga_memzero(plain, sizeof(plain));
	return rc;
}

static uint8_t saturate_u8(unsigned v)
{
	return v > 255 ? 255 : (uint8_t)v;
}

int sga_gw_wake_ack_seal(const struct sga_gw_device *dev, uint64_t ctr, unsigned invitations,
                         unsigned stored, struct sga_gw_out *out)
{
	struct sga_wake_ack_plain ack;
	uint8_t plain[SGA_WAKE_ACK_PLAIN_LEN], key[SGA_AEAD_MAX_KEY_LEN];
	size_t plain_len, len;
	int rc;

	out->n = 0;
	ack.invitations = saturate_u8(invitations);
	ack.stored = saturate_u8(stored);
	CHECK(sga_wake_ack_plain_encode(&ack, plain, sizeof(plain), &plain_len));
	/* The envelope's counter echoes the WAKE's: the device takes only the
	 * answer to its latest WAKE, and G's down counter (NEG_INVITE's) is not
	 * spent on an answer the device may never hear. */
	CHECK(sga_key_ctl(dev->k_d, dev->suite_init, key));
	CHECK(sga_seal_dev_env(SGA_MSG_WAKE_ACK, dev->id, dev->id_len, ctr, dev->suite_init, key,
	                       plain, plain_len, out_slot(out), SGA_FRAME_MAX, &len));
	out_add(out, dev->id, dev->id_len, out_slot(out), len);
out:
	sga_memzero(key, sizeof(key));
	if (rc)
		out->n = 0;
	return rc;
}

/* A4 to the initiator, under its k_t (the session envelope binds session_id). */
static int seal_neg_result(const struct sga_gw_session *s, uint8_t status, struct sga_gw_out *out)
{
	struct sga_neg_result_plain a4;
	uint8_t plain[64], key[SGA_AEAD_MAX_KEY_LEN];
	size_t plain_len, len;
	int rc;

	memset(&a4, 0, sizeof(a4));
	a4.req_ctr = s->req_ctr;
	a4.status = status;
	if (!status) {
		a4.suite = s->suite;
		a4.group = s->group;
	}
	a4.peer_id_len = s->id_len[SGA_ROLE_RESPONDER];
	memcpy(a4.peer_id, s->id[SGA_ROLE_RESPONDER], a4.peer_id_len);
	CHECK(sga_neg_result_plain_encode(&a4, plain, sizeof(plain), &plain_len));
	CHECK(sga_key_kex(s->k_t[SGA_ROLE_INITIATOR], s->session_id,
	                  s->hop_suite[SGA_ROLE_INITIATOR], key));
	CHECK(sga_seal_sess_env(SGA_MSG_NEG_RESULT, s->session_id, SGA_ROLE_INITIATOR,
	                        s->hop_suite[SGA_ROLE_INITIATOR], key, plain, plain_len,
	                        out_slot(out), SGA_FRAME_MAX, &len));
	out_add(out, s->id[SGA_ROLE_INITIATOR], s->id_len[SGA_ROLE_INITIATOR], out_slot(out), len);
out:
	sga_memzero(key, sizeof(key));
	return rc;
}

static int random_session_id(uint64_t *sid)
{
	uint8_t b[8];

	do {
		if (sga_random_bytes(b, sizeof(b)))
			return -SGA_E_CRYPTO;
		*sid = sga_get_u64(b);
	} while (*sid == 0);
	return 0;
}

int sga_gw_neg_req_handle(const struct sga_gw *gw, struct sga_gw_device *dev_i,
                          struct sga_gw_device *dev_j, const struct sga_neg_req_plain *a1,
                          uint64_t ctr, struct sga_gw_session *sess, struct sga_gw_out *out)
{
	struct sga_gw_session s;
	struct sga_neg_invite_plain a2;
	uint8_t plain[128], key[SGA_AEAD_MAX_KEY_LEN], status = 0;
	size_t plain_len, len;
	int rc = 0;

	out->n = 0;
	if (ctr <= dev_i->up_ctr)
		return -SGA_E_REPLAY;
	memset(&s, 0, sizeof(s));
	s.req_ctr = ctr;
	s.group = sga_gw_device_group(gw, dev_i);
	s.id_len[SGA_ROLE_INITIATOR] = dev_i->id_len;
	memcpy(s.id[SGA_ROLE_INITIATOR], dev_i->id, dev_i->id_len);
	s.id_len[SGA_ROLE_RESPONDER] = a1->peer_id_len;
	memcpy(s.id[SGA_ROLE_RESPONDER], a1->peer_id, a1->peer_id_len);
	s.hop_suite[SGA_ROLE_INITIATOR] = dev_i->suite_init;
	memcpy(s.k_t[SGA_ROLE_INITIATOR], a1->k_t, SGA_KEY_LEN);

	if (!dev_j || dev_j->id_len != a1->peer_id_len ||
	    memcmp(dev_j->id, a1->peer_id, a1->peer_id_len)) {
		status = SGA_E_UNKNOWN_DEVICE;
	} else if (dev_j->id_len == dev_i->id_len && !memcmp(dev_j->id, dev_i->id, dev_i->id_len)) {
		status = SGA_E_BAD_FIELD; /* a session with oneself */
	} else if (sga_gw_device_group(gw, dev_j) != s.group || !sga_gw_profile(gw, s.group)) {
		/* A session computes in one group: the two devices registered with
		 * different profiles (or with one this gateway no longer serves). */
		status = SGA_E_NO_COMMON_GROUP;
	} else {
		/* First choice of the initiator that both devices and G support. */
		for (unsigned k = 0; k < a1->n_pref && !s.suite; k++) {
			uint8_t c = a1->prefs[k];
			if (in_list(c, dev_i->suites, dev_i->n_suites) &&
			    in_list(c, dev_j->suites, dev_j->n_suites) &&
			    in_list(c, gw->suites, gw->n_suites))
				s.suite = c;
		}
		if (!s.suite)
			status = SGA_E_NO_COMMON_SUITE;
	}

	if (status) {
		/* Authenticated refusal; no session is created. */
		s.session_id = 0;
		CHECK(seal_neg_result(&s, status, out));
		dev_i->up_ctr = ctr;
		memset(sess, 0, sizeof(*sess));
		goto out;
	}

	CHECK(random_session_id(&s.session_id));
	s.hop_suite[SGA_ROLE_RESPONDER] = dev_j->suite_init;
	s.state = SGA_GW_S_INVITED;
	memset(&a2, 0, sizeof(a2));
	a2.session_id = s.session_id;
	a2.suite = s.suite;
	a2.group = s.group;
	a2.peer_id_len = dev_i->id_len;
	memcpy(a2.peer_id, dev_i->id, dev_i->id_len);
	/* d_j binds d_i's preference list into its transcript: relay it as received. */
	a2.n_pref = a1->n_pref;
	memcpy(a2.prefs, a1->prefs, a1->n_pref);
	CHECK(sga_neg_invite_plain_encode(&a2, plain, sizeof(plain), &plain_len));
	/* Kept while INVITED, for a WAKE to re-seal (sga_gw_neg_invite_reseal):
	 * the responder's reply slot is unused until its KEX_REPLY. */
	memcpy(s.reply[SGA_ROLE_RESPONDER], plain, plain_len);
	s.reply_len[SGA_ROLE_RESPONDER] = (uint16_t)plain_len;
	CHECK(sga_key_ctl(dev_j->k_d, dev_j->suite_init, key));
	CHECK(sga_seal_dev_env(SGA_MSG_NEG_INVITE, dev_j->id, dev_j->id_len, dev_j->down_ctr + 1,
	                       dev_j->suite_init, key, plain, plain_len, out_slot(out),
	                       SGA_FRAME_MAX, &len));
	out_add(out, dev_j->id, dev_j->id_len, out_slot(out), len);
	dev_j->down_ctr++;
	dev_i->up_ctr = ctr;
	*sess = s;
out:
	sga_memzero(&s, sizeof(s));
	sga_memzero(key, sizeof(key));
	if (rc)
		out->n = 0;
	return rc;
}

int sga_gw_neg_invite_reseal(const struct sga_gw_session *sess, struct sga_gw_device *dev_j,
                             struct sga_gw_out *out)
{
	const uint8_t *a2 = sess->reply[SGA_ROLE_RESPONDER];
	uint16_t a2_len = sess->reply_len[SGA_ROLE_RESPONDER];
	uint8_t key[SGA_AEAD_MAX_KEY_LEN];
	size_t len;
	int rc;

	out->n = 0;
	if (sess->state != SGA_GW_S_INVITED)
		return -SGA_E_BAD_STATE;
	if (sess->id_len[SGA_ROLE_RESPONDER] != dev_j->id_len ||
	    memcmp(sess->id[SGA_ROLE_RESPONDER], dev_j->id, dev_j->id_len))
		return -SGA_E_UNKNOWN_SESSION; /* not this device's invitation */
	if (a2_len == 0 || a2_len > SGA_FRAME_MAX)
		return -SGA_E_BAD_STATE; /* a record of an earlier build: nothing kept */
	CHECK(sga_key_ctl(dev_j->k_d, dev_j->suite_init, key));
	CHECK(sga_seal_dev_env(SGA_MSG_NEG_INVITE, dev_j->id, dev_j->id_len, dev_j->down_ctr + 1,
	                       dev_j->suite_init, key, a2, a2_len, out_slot(out), SGA_FRAME_MAX,
	                       &len));
	out_add(out, dev_j->id, dev_j->id_len, out_slot(out), len);
	dev_j->down_ctr++;
out:
	sga_memzero(key, sizeof(key));
	if (rc)
		out->n = 0;
	return rc;
}

int sga_gw_neg_accept_open(const struct sga_gw *gw, const struct sga_gw_device *dev_j,
                           const uint8_t *frame, size_t len, struct sga_neg_accept_plain *a3,
                           uint64_t *ctr)
{
	uint8_t plain[64];
	size_t plain_len;
	int rc;

	(void)gw;
	CHECK(open_from_dev(dev_j, SGA_MSG_NEG_ACCEPT, frame, len, plain, sizeof(plain), &plain_len,
	                    ctr));
	CHECK(sga_neg_accept_plain_decode(plain, plain_len, a3));
out:
	sga_memzero(plain, sizeof(plain));
	return rc;
}

int sga_gw_neg_accept_handle(const struct sga_gw *gw, struct sga_gw_device *dev_j,
                             struct sga_gw_session *sess, const struct sga_neg_accept_plain *a3,
                             uint64_t ctr, struct sga_gw_out *out)
{
	struct sga_gw_session s;
	int rc = 0;

	(void)gw;
	out->n = 0;
	if (ctr <= dev_j->up_ctr)
		return -SGA_E_REPLAY;
	if (sess->session_id != a3->session_id)
		return -SGA_E_UNKNOWN_SESSION;
	if (sess->state != SGA_GW_S_INVITED)
		return -SGA_E_BAD_STATE;
	if (sess->id_len[SGA_ROLE_RESPONDER] != dev_j->id_len ||
	    memcmp(sess->id[SGA_ROLE_RESPONDER], dev_j->id, dev_j->id_len))
		return -SGA_E_UNKNOWN_SESSION; /* not this device's invitation */
	s = *sess;
	if (a3->accept) {
		memcpy(s.k_t[SGA_ROLE_RESPONDER], a3->k_t, SGA_KEY_LEN);
		s.state = SGA_GW_S_KEX;
		/* The invitation is answered: no WAKE re-sends it any more. */
		sga_memzero(s.reply[SGA_ROLE_RESPONDER], sizeof(s.reply[SGA_ROLE_RESPONDER]));
		s.reply_len[SGA_ROLE_RESPONDER] = 0;
		CHECK(seal_neg_result(&s, 0, out));
		dev_j->up_ctr = ctr;
		*sess = s;
	} else {
		CHECK(seal_neg_result(&s, SGA_E_DECLINED, out));
		dev_j->up_ctr = ctr;
		sga_gw_session_wipe(sess); /* state 0: the caller deletes it */
	}
out:
	sga_memzero(&s, sizeof(s));
	if (rc)
		out->n = 0;
	return rc;
}

/* ---- key exchange ------------------------------------------------------------ */

/* The KEX_REPLY plaintext for role (x_len | X | H(N_peer) | mac): X =
 * N_peer^R_s, f_K(session, ids, K, X, H(N_peer)), from s->N and s->K. The
 * rekey's REPLY carries the same body (sga_rekey.c). */
int sga_gw_reply_body(const struct sga_gw_session *s, uint8_t role, const uint8_t *R_s,
                      uint8_t *plain, size_t cap, size_t *plain_len)
{
	const struct sga_group_info *grp = sga_group_get(s->group);
	uint8_t peer = role ^ 1, X[SGA_GROUP_MAX_LEN], mac[SGA_MAC_LEN];
	uint8_t n_hash[SGA_SHA256_LEN];
	struct sga_kex_reply_plain b5;
	int rc;

	if (!grp)
		return -SGA_E_INTERNAL;
	/* X = [R_s]N_peer. */
	CHECK(sga_kex_element(grp, s->N[peer], R_s, X));
	CHECK(sga_kex_n_hash(grp, s->N[peer], n_hash));
	CHECK(sga_kex_reply_mac(grp, s->K[role], s->session_id, s->id[role], s->id_len[role],
	                        s->id[peer], s->id_len[peer], X, n_hash, mac));
	b5.x_len = (uint16_t)grp->len;
	b5.x = X;
	b5.n_hash_peer = n_hash;
	b5.mac = mac;
	CHECK(sga_kex_reply_plain_encode(&b5, plain, cap, plain_len));
out:
	return rc;
}

/* B5/B6 for role, under k_t(role). */
static int make_reply(struct sga_gw_session *s, uint8_t role, const uint8_t *R_s)
{
	uint8_t key[SGA_AEAD_MAX_KEY_LEN], plain[SGA_GROUP_MAX_LEN + 96];
	size_t plain_len, len;
	int rc;

	CHECK(sga_gw_reply_body(s, role, R_s, plain, sizeof(plain), &plain_len));
	CHECK(sga_key_kex(s->k_t[role], s->session_id, s->hop_suite[role], key));
	CHECK(sga_seal_sess_env(SGA_MSG_KEX_REPLY, s->session_id, role, s->hop_suite[role], key,
	                        plain, plain_len, s->reply[role], sizeof(s->reply[role]), &len));
	s->reply_len[role] = (uint16_t)len;
out:
	sga_memzero(key, sizeof(key));
	return rc;
}

static void emit_reply(const struct sga_gw_session *s, uint8_t role, struct sga_gw_out *out)
{
	out_add(out, s->id[role], s->id_len[role], s->reply[role], s->reply_len[role]);
}

/* B2/B4 on a decrypted KEX_INIT body (also the tail of a REKEY_INIT's), in
 * the session's profile: lengths, the element check of N, r = F_G^-1(F),
 * K = [r]N, f_K(N) and the k_d proof of dev. N_out and K_out receive N
 * (grp->len bytes) and K (grp->secret_len) on success. */
int sga_gw_kex_contrib_check(const struct sga_gw *gw, const struct sga_gw_device *dev,
                             const struct sga_gw_session *sess, const uint8_t *plain,
                             size_t plain_len, uint8_t *N_out, uint8_t *K_out)
{
	const struct sga_gw_profile *p = sga_gw_profile(gw, sess->group);
	const uint64_t session_id = sess->session_id;
	const struct sga_group_info *grp;
	struct sga_kex_init_plain b1;
	uint8_t ctl[SGA_AEAD_MAX_KEY_LEN], r[SGA_RSA_MAX_LEN], K[SGA_GROUP_MAX_LEN];
	uint8_t mac[SGA_MAC_LEN];
	size_t r_len = 0;
	int rc;

	if (!p || !sess->group)
		return -SGA_E_BAD_STATE; /* the session's profile is no longer served */
	grp = p->grp;
	CHECK(sga_kex_init_plain_decode(plain, plain_len, &b1));
	if (b1.n_len != grp->len || b1.f_len != sga_pke_sealed_len(&p->tpk, SGA_EXPONENT_LEN)) {
		rc = -SGA_E_BAD_LENGTH;
		goto out;
	}
	if (!sga_group_element_ok(grp, b1.n)) {
		rc = -SGA_E_BAD_ELEMENT;
		goto out;
	}
	/* B2/B4: invert the trapdoor, recompute K = [r]N, check f_K(N). */
	if (sga_pke_open(&p->tpk, SGA_PKE_TRAPDOOR, b1.f, b1.f_len, r, sizeof(r), &r_len) ||
	    r_len != SGA_EXPONENT_LEN) {
		rc = -SGA_E_AUTH;
		goto out;
	}
	CHECK(sga_kex_shared(grp, b1.n, r, K));
	CHECK(sga_kex_init_mac(grp, K, session_id, b1.n, mac));
	if (!sga_ct_memeq(mac, b1.mac, SGA_MAC_LEN)) {
		rc = -SGA_E_AUTH;
		goto out;
	}
	/* ...and the paper's E_kd(N xor k_d): the sender holds k_d. */
	CHECK(sga_key_ctl(dev->k_d, dev->suite_init, ctl));
	CHECK(sga_kex_proof_check(dev->suite_init, ctl, dev->k_d, session_id, b1.n, grp->len,
	                          b1.proof, b1.proof_len));
	memcpy(N_out, b1.n, grp->len);
	memcpy(K_out, K, grp->secret_len);
out:
	sga_memzero(ctl, sizeof(ctl));
	sga_memzero(r, sizeof(r));
	sga_memzero(K, sizeof(K));
	return rc;
}

int sga_gw_sess_env_decode(const struct sga_gw_device *dev, const struct sga_gw_session *sess,
                           uint8_t want_type, const uint8_t *frame, size_t len,
                           struct sga_env_sess *env)
{
	int rc;

	CHECK(sga_env_sess_decode(frame, len, env));
	if (env->type != want_type) {
		rc = -SGA_E_BAD_TYPE;
		goto out;
	}
	if (env->session_id != sess->session_id || !sess->session_id) {
		rc = -SGA_E_UNKNOWN_SESSION;
		goto out;
	}
	if (dev->id_len != sess->id_len[env->role] ||
	    memcmp(dev->id, sess->id[env->role], dev->id_len)) {
		rc = -SGA_E_UNKNOWN_DEVICE;
		goto out;
	}
out:
	return rc;
}

int sga_gw_kex_init_handle(const struct sga_gw *gw, const struct sga_gw_device *dev,
                           struct sga_gw_session *sess, const uint8_t *frame, size_t len,
                           struct sga_gw_out *out)
{
	const struct sga_group_info *grp = sga_group_get(sess->group);
	struct sga_env_sess env;
	struct sga_gw_session *s = NULL;
	uint8_t plain[SGA_FRAME_MAX], key[SGA_AEAD_MAX_KEY_LEN];
	uint8_t N[SGA_GROUP_MAX_LEN], K[SGA_GROUP_MAX_LEN], R_s[SGA_EXPONENT_LEN];
	uint8_t init_hash[SGA_SHA256_LEN];
	size_t plain_len;
	struct sga_gw_session work;
	uint8_t role;
	int rc;

	out->n = 0;
	CHECK(sga_gw_sess_env_decode(dev, sess, SGA_MSG_KEX_INIT, frame, len, &env));
	role = env.role;
	if (sess->state != SGA_GW_S_KEX && sess->state != SGA_GW_S_ESTABLISHED) {
		rc = -SGA_E_BAD_STATE;
		goto out;
	}
	CHECK(sga_key_kex(sess->k_t[role], sess->session_id, sess->hop_suite[role], key));
	CHECK(sga_open_env(sess->hop_suite[role], key, env.nonce, env.aad, env.aad_len, env.ct,
	                   env.ct_len, plain, sizeof(plain), &plain_len));
	CHECK(sga_err_from_crypto(sga_sha256(&(struct sga_buf){frame, len}, 1, init_hash)));
	if (sess->have_init & (1u << role)) {
		/* A retransmission is the same bytes (PROTOCOL.md 9.4); any other
		 * authentic KEX_INIT for this role is refused, so the cached reply
		 * answers only the request it was made for. */
		if (!sga_ct_memeq(init_hash, sess->init_hash[role], sizeof(init_hash))) {
			rc = -SGA_E_REPLAY;
			goto out;
		}
		if (sess->state == SGA_GW_S_ESTABLISHED)
			emit_reply(sess, role, out);
		goto out;
	}
	CHECK(sga_gw_kex_contrib_check(gw, dev, sess, plain, plain_len, N, K));

	/* Commit on a copy: the caller's record changes only if all below works. */
	s = &work;
	*s = *sess;
	memcpy(s->N[role], N, grp->len);
	memcpy(s->K[role], K, grp->secret_len);
	memcpy(s->init_hash[role], init_hash, sizeof(init_hash));
	s->have_init |= (uint8_t)(1u << role);
	if (s->have_init == 3) {
		/* B5/B6: one R_s for both replies; K_isj = g^(R_i R_s R_j) stays out of
		 * our reach: we hold g^R_i, g^R_j and R_s, not R_i or R_j. */
		CHECK(sga_err_from_crypto(sga_group_scalar_random(grp, R_s)));
		CHECK(make_reply(s, SGA_ROLE_INITIATOR, R_s));
		CHECK(make_reply(s, SGA_ROLE_RESPONDER, R_s));
		for (unsigned k = 0; k < 2; k++)
			CHECK(sga_hop_member_init(&s->hop[k], s->k_t[k], s->session_id,
			                          s->hop_suite[k]));
		/* Handshake material has served; keep only what relaying needs. */
		sga_memzero(s->N, sizeof(s->N));
		sga_memzero(s->K, sizeof(s->K));
		s->state = SGA_GW_S_ESTABLISHED;
		emit_reply(s, SGA_ROLE_INITIATOR, out);
		emit_reply(s, SGA_ROLE_RESPONDER, out);
	}
	*sess = *s;
out:
	if (s)
		sga_memzero(s, sizeof(*s));
	sga_memzero(plain, sizeof(plain));
	sga_memzero(key, sizeof(key));
	sga_memzero(N, sizeof(N));
	sga_memzero(K, sizeof(K));
	sga_memzero(R_s, sizeof(R_s));
	if (rc)
		out->n = 0;
	return rc;
}

/* ---- relay --------------------------------------------------------------------- */

int sga_gw_data_relay(struct sga_gw_session *sess, const uint8_t *frame, size_t len, uint8_t *out,
                      size_t cap, size_t *out_len, uint8_t *to_role)
{
	struct sga_env_hop env;
	uint8_t *inner;
	size_t inner_len;
	uint64_t seq;
	uint8_t from;
	int rc;

	/* Work in place in out, as the data plane does in its mbuf. */
	if (len > cap || len > SGA_FRAME_MAX)
		return len > SGA_FRAME_MAX ? -SGA_E_OVERSIZED : -SGA_E_NOSPACE;
	rc = sga_env_hop_decode(frame, len, &env);
	if (rc)
		return rc;
	/* DATA_DELIVERED opens under the same key, but it is for the gateway (its
	 * store): re-sealed as a DATA_DOWN it would reach the peer as an inner of
	 * 8 bytes no device can open. */
	if (env.type != SGA_MSG_DATA_UP)
		return -SGA_E_BAD_TYPE;
	if (env.session_id != sess->session_id || sess->state != SGA_GW_S_ESTABLISHED)
		return -SGA_E_UNKNOWN_SESSION;
	from = env.role;
	memcpy(out, frame, len);
	rc = sga_rekey_relay_open(sess, from, out, len, &seq, &inner, &inner_len);
	if (rc)
		goto out;
	rc = sga_hop_seal_down(&sess->hop[from ^ 1], sess->session_id, from ^ 1, SGA_MSG_DATA_DOWN,
	                       inner, inner_len, out, cap, out_len);
	if (rc)
		goto out;
	sga_replay_update(&sess->hop[from].rx, seq);
	*to_role = from ^ 1;
out:
	if (rc)
		sga_memzero(out, len);
	return rc;
}

int sga_gw_peek(const uint8_t *frame, size_t len, struct sga_gw_peek *pk)
{
	struct sga_hdr h;
	struct sga_env_dev ed;
	struct sga_env_sess es;
	struct sga_env_hop eh;
	int rc = sga_hdr_parse(frame, len, &h);

	memset(pk, 0, sizeof(*pk));
	if (rc)
		return rc;
	pk->type = h.type;
	switch (h.type) {
	case SGA_MSG_NEG_REQ:
	case SGA_MSG_NEG_ACCEPT:
	case SGA_MSG_WAKE:
		rc = sga_env_dev_decode(frame, len, &ed);
		if (!rc) {
			pk->id_len = ed.id_len;
			memcpy(pk->id, ed.id, ed.id_len);
		}
		return rc;
	case SGA_MSG_KEX_INIT:
	case SGA_MSG_SESSION_CLOSE:
	case SGA_MSG_REKEY_INIT:
		rc = sga_env_sess_decode(frame, len, &es);
		if (!rc) {
			pk->session_id = es.session_id;
			pk->role = es.role;
		}
		return rc;
	case SGA_MSG_DATA_UP:
	case SGA_MSG_DATA_DELIVERED:
		rc = sga_env_hop_decode(frame, len, &eh);
		if (!rc) {
			pk->session_id = eh.session_id;
			pk->role = eh.role;
		}
		return rc;
	case SGA_MSG_REG_REQ:
	case SGA_MSG_PKG_REQ:
		return 0;
	default:
		return -SGA_E_BAD_TYPE; /* not a device -> gateway message */
	}
}

void sga_gw_session_wipe(struct sga_gw_session *sess)
{
	sga_memzero(sess, sizeof(*sess));
}
