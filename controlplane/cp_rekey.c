/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cp_rekey.c - REKEY_INIT in the control plane (cp_rekey.h).
 *
 * Order, as at a handshake's end: the up counter by compare-and-set first
 * (another worker that took it answered already), then the record; when the
 * exchange completes, a fresh hop TX range per member, the new generation in
 * Redis, its install in the data plane (the new slot keeps the old up keys
 * for frames in flight, dp_rekey.h), and only then the REKEY_REPLYs. If the
 * data plane refuses the install, the old record is put back and nothing
 * leaves: the devices retry and the session stays on its keys.
 */
#include <string.h>

#include "cp_log.h"
#include "cp_rekey.h"
#include "sga_check.h"
#include "sga_rekey.h"

static uint64_t block_of(const struct cp_handler *h)
{
	return h->tx_block ? h->tx_block : CP_TX_BLOCK_DEFAULT;
}

/* The new generation: TX ranges, record, install. */
static int commit_generation(const struct cp_handler *h, struct store *st,
                             const struct sga_gw_session *s, const struct sga_gw_session *old)
{
	uint64_t limit[2], tx_seq[2], block = block_of(h), rx_next[2] = {0, 0};
	/* Unknown here: the data plane carries the members' addresses and windows
	 * over from the slot it replaces (dp_rekey.h). */
	struct dp_addr addr[2];
	int rc;

	memset(addr, 0, sizeof(addr));

	for (uint8_t r = 0; r < 2; r++) {
		CHECK(store_session_reserve(st, s->session_id, r, block, &limit[r]));
		tx_seq[r] = limit[r] - block;
	}
	CHECK(store_session_put(st, s));
	rc = h->install.fn ? h->install.fn(h->install.ctx, s, addr, tx_seq, limit, rx_next) : -1;
	if (rc) {
		cp_log(CP_LOG_ERR, "session %016llx: rekey to generation %u not installed (%d)",
		       (unsigned long long)s->session_id, s->rk.gen, rc);
		(void)store_session_put(st, old);
		rc = -SGA_E_INTERNAL;
		goto out;
	}
	cp_log(CP_LOG_INFO, "session %016llx rekeyed: generation %u",
	       (unsigned long long)s->session_id, s->rk.gen);
out:
	return rc;
}

int cp_rekey_init(const struct cp_handler *h, struct store *st, const struct sga_gw_peek *pk,
                  const uint8_t *frame, size_t len, const struct dp_addr *src, int *authed,
                  int *quiet)
{
	struct sga_gw_device dev, peer;
	struct sga_gw_session sess, old;
	struct sga_gw_out out;
	uint8_t role = pk->role;
	int fresh = 0, rc;

	memset(&dev, 0, sizeof(dev));
	memset(&peer, 0, sizeof(peer));
	memset(&sess, 0, sizeof(sess));
	memset(&old, 0, sizeof(old));
	out.n = 0;
	if (role > 1) {
		rc = -SGA_E_BAD_FIELD;
		goto out;
	}
	CHECK(cp_load_sess(st, pk->session_id, &sess));
	if (sess.state != SGA_GW_S_ESTABLISHED) {
		rc = -SGA_E_BAD_STATE;
		goto out;
	}
	CHECK(cp_load_dev(st, sess.id[role], sess.id_len[role], &dev));
	CHECK(cp_load_dev(st, sess.id[role ^ 1], sess.id_len[role ^ 1], &peer));
	old = sess;
	rc = sga_gw_rekey_init_handle(h->gw, &dev, &peer, &sess, frame, len, &out, &fresh);
	*authed = rc == 0 || rc == -SGA_E_REPLAY;
	if (rc)
		goto out;
	if (fresh) {
		rc = store_device_set_up_ctr(st, dev.id, dev.id_len, dev.up_ctr);
		if (rc == -SGA_E_REPLAY)
			*quiet = 1; /* another worker took this counter and answered */
		if (rc)
			goto out;
		if (sess.rk.gen != old.rk.gen) {
			CHECK(commit_generation(h, st, &sess, &old));
			if (h->ctr)
				atomic_fetch_add_explicit(&h->ctr->rekeys, 1, memory_order_relaxed);
		} else {
			CHECK(store_session_put(st, &sess)); /* this role's contribution */
		}
		/* Fresh and authentic: its source is the device's address now. */
		(void)store_device_set_addr(st, dev.id, dev.id_len, src);
	}
	cp_deliver(h, st, &out, dev.id, dev.id_len, src);
out:
	sga_memzero(&dev, sizeof(dev));
	sga_memzero(&peer, sizeof(peer));
	sga_gw_session_wipe(&sess);
	sga_gw_session_wipe(&old);
	return rc;
}
