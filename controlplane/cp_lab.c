/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cp_lab.c - lab provisioning (see cp_lab.h). The records come from
 * sga_lab_gw_records, the writes and installs from cp_sessions_commit: the
 * only lab-specific code here is the loop and the check that the file fits
 * this gateway (a session in a group or suite the gateway does not offer could
 * never have come out of its handshake).
 */
#include <stdlib.h>
#include <string.h>

#include "cp_lab.h"
#include "cp_log.h"
#include "sga_check.h"

static int suite_offered(const struct sga_gw *gw, uint8_t suite)
{
	for (unsigned i = 0; i < gw->n_suites; i++)
		if (gw->suites[i] == suite)
			return 1;
	return 0;
}

/* The records of one batch; big (a session record caches two replies), so on
 * the heap, and wiped before it is freed. */
struct lab_batch {
	struct sga_gw_session s[CP_LAB_BATCH];
	struct sga_gw_device dev[CP_LAB_BATCH][2];
	struct store_estab e[CP_LAB_BATCH];
};

int cp_lab_commit(const struct cp_handler *h, struct store *st, const struct sga_lab_sess *ls,
                  unsigned n, const struct dp_addr (*addr)[2])
{
	struct lab_batch *b = NULL;
	int rc = 0;

	if (n > CP_LAB_BATCH)
		return -SGA_E_BAD_FIELD;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -SGA_E_INTERNAL;
	for (unsigned i = 0; i < n; i++) {
		CHECK(sga_lab_gw_records(&ls[i], b->dev[i], &b->s[i]));
		b->e[i].s = &b->s[i];
		b->e[i].dev[0] = &b->dev[i][0];
		b->e[i].dev[1] = &b->dev[i][1];
		if (addr)
			memcpy(b->e[i].addr, addr[i], sizeof(b->e[i].addr));
	}
	rc = cp_sessions_commit(h, st, b->e, n);
out:
	sga_memzero(b, sizeof(*b));
	free(b);
	return rc;
}

int cp_lab_provision(const struct cp_handler *h, struct store *st, const struct sga_lab_params *p,
                     struct cp_lab_report *rep)
{
	struct sga_lab_sess *ls = NULL;
	int rc = 0;

	memset(rep, 0, sizeof(*rep));
	if (h->gw->n_prof && !sga_gw_profile(h->gw, p->group)) {
		cp_log(CP_LOG_ERR,
		       "lab provisioning: the file's group is not one the gateway serves");
		return -SGA_E_BAD_FIELD;
	}
	if (!suite_offered(h->gw, p->suite) || !suite_offered(h->gw, p->hop_suite)) {
		cp_log(CP_LOG_ERR, "lab provisioning: the file's suites are not all offered by the "
		                   "gateway ([gateway] suites)");
		return -SGA_E_BAD_FIELD;
	}
	ls = calloc(CP_LAB_BATCH, sizeof(*ls));
	if (!ls)
		return -SGA_E_INTERNAL;
	for (uint32_t base = 0; base < p->sessions; base += CP_LAB_BATCH) {
		unsigned n = p->sessions - base < CP_LAB_BATCH ? p->sessions - base : CP_LAB_BATCH;

		for (unsigned i = 0; i < n; i++)
			CHECK(sga_lab_derive(p, base + i, &ls[i]));
		rc = cp_lab_commit(h, st, ls, n, NULL);
		if (rc < 0)
			goto out;
		rep->written += n;
		rep->installed += (uint32_t)rc;
		rep->batches++;
		rc = 0;
	}
out:
	sga_memzero(ls, CP_LAB_BATCH * sizeof(*ls));
	free(ls);
	return rc;
}
