/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_lab.c - lab provisioning (see sga_lab.h): the deterministic derivation
 * of N sessions from a seed, the gateway records and device sessions built
 * from one, and the provisioning file. The keys come through the same key
 * schedule functions a handshake uses (sga_hop_member_init,
 * sga_dev_sess_derive), so a lab session differs from a real one only in
 * where its randomness came from.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sga_check.h"
#include "sga_cursor.h"
#include "sga_hex.h"
#include "sga_keys.h"
#include "sga_lab.h"

#define LAB_SALT   "SGA lab v1"
#define LAB_FORMAT "sga-lab-1"

/* HKDF(seed, salt, label | be64(index)) -> out_len bytes. */
static int lab_kdf(const struct sga_lab_params *p, const char *label, uint64_t index, uint8_t *out,
                   size_t out_len)
{
	uint8_t info[32];
	size_t n = strlen(label);

	if (n + 8 > sizeof(info))
		return -SGA_E_INTERNAL;
	memcpy(info, label, n);
	sga_put_u64(info + n, index);
	return sga_hkdf_sha256(p->seed, SGA_LAB_SEED_LEN, (const uint8_t *)LAB_SALT,
	                       sizeof(LAB_SALT) - 1, info, n + 8, out, out_len)
	           ? -SGA_E_CRYPTO
	           : 0;
}

static int sid_tag(const struct sga_lab_params *p, uint32_t *tag)
{
	uint8_t b[4];
	int rc = lab_kdf(p, "sid", 0, b, sizeof(b));

	*tag = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return rc;
}

int sga_lab_session_id(const struct sga_lab_params *p, uint32_t index, uint64_t *session_id)
{
	uint32_t tag = 0;
	int rc;

	if (index >= p->sessions)
		return -SGA_E_BAD_FIELD;
	CHECK(sid_tag(p, &tag));
	*session_id = (uint64_t)tag << 32 | ((uint64_t)index + 1);
out:
	return rc;
}

int64_t sga_lab_index(const struct sga_lab_params *p, uint64_t session_id)
{
	uint32_t tag = 0, lo = (uint32_t)session_id;

	if (sid_tag(p, &tag) || (uint32_t)(session_id >> 32) != tag || lo == 0 || lo > p->sessions)
		return -1;
	return (int64_t)lo - 1;
}

int sga_lab_derive(const struct sga_lab_params *p, uint32_t index, struct sga_lab_sess *out)
{
	/* One expansion per session (HKDF calls dominate the provisioning of
	 * 100,000 sessions): k_d i | k_d j | k_t i | k_t j | k_isj | hop epoch i
	 * | hop epoch j | H(N_i) | H(N_j) (HKDF's output is prefix-stable: what
	 * came first is what it was before the later fields were appended). */
	uint8_t m[5 * SGA_KEY_LEN + 2 * 8 + 2 * SGA_SHA256_LEN];
	uint32_t tag = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (index >= p->sessions || !sga_suite_get(p->suite) || !sga_suite_get(p->hop_suite) ||
	    !sga_group_get(p->group))
		return -SGA_E_BAD_FIELD;
	CHECK(sid_tag(p, &tag));
	CHECK(lab_kdf(p, "session", index, m, sizeof(m)));
	out->session_id = (uint64_t)tag << 32 | ((uint64_t)index + 1);
	out->suite = p->suite;
	out->group = p->group;
	for (unsigned r = 0; r < 2; r++) {
		int n = snprintf((char *)out->id[r], SGA_ID_MAX, "lab-%08x-%u-%c", tag, index,
		                 r ? 'j' : 'i');

		out->id_len[r] = (uint8_t)n; /* at most 4 + 8 + 1 + 10 + 2 = 25 */
		out->hop_suite[r] = p->hop_suite;
		memcpy(out->k_d[r], m + r * SGA_KEY_LEN, SGA_KEY_LEN);
		memcpy(out->k_t[r], m + (2 + r) * SGA_KEY_LEN, SGA_KEY_LEN);
	}
	memcpy(out->k_isj, m + 4 * SGA_KEY_LEN, SGA_KEY_LEN);
	for (unsigned r = 0; r < 2; r++) {
		out->hop_epoch[r] = sga_get_u64(m + 5 * SGA_KEY_LEN + 8 * r);
		if (out->hop_epoch[r] == 0)
			out->hop_epoch[r] = 1; /* 0 means "none" */
	}
	for (unsigned r = 0; r < 2; r++)
		memcpy(out->n_hash[r], m + 5 * SGA_KEY_LEN + 2 * 8 + r * SGA_SHA256_LEN,
		       SGA_SHA256_LEN);
	out->id_g_len = (uint8_t)(sizeof(SGA_LAB_ID_G) - 1);
	memcpy(out->id_g, SGA_LAB_ID_G, out->id_g_len);
	out->n_pref = 1;
	out->prefs[0] = p->suite;
out:
	sga_memzero(m, sizeof(m));
	if (rc)
		sga_lab_sess_wipe(out);
	return rc;
}

int sga_lab_gw_records(const struct sga_lab_sess *ls, struct sga_gw_device dev[2],
                       struct sga_gw_session *s)
{
	int rc = 0;

	memset(s, 0, sizeof(*s));
	memset(dev, 0, 2 * sizeof(*dev));
	s->session_id = ls->session_id;
	s->state = SGA_GW_S_ESTABLISHED;
	s->suite = ls->suite;
	s->group = ls->group;
	s->have_init = 3; /* both KEX_INIT in */
	s->req_ctr = ls->req_ctr;
	for (unsigned r = 0; r < 2; r++) {
		struct sga_gw_device *d = &dev[r];

		s->id_len[r] = ls->id_len[r];
		memcpy(s->id[r], ls->id[r], ls->id_len[r]);
		s->hop_suite[r] = ls->hop_suite[r];
		memcpy(s->k_t[r], ls->k_t[r], SGA_KEY_LEN);
		s->hop[r].epoch = ls->hop_epoch[r]; /* only the epoch: see sga_lab.h */
		d->id_len = ls->id_len[r];
		memcpy(d->id, ls->id[r], ls->id_len[r]);
		memcpy(d->k_d, ls->k_d[r], SGA_KEY_LEN);
		d->suite_init = ls->hop_suite[r];
		d->suites[d->n_suites++] = ls->suite;
		if (ls->hop_suite[r] != ls->suite)
			d->suites[d->n_suites++] = ls->hop_suite[r];
		d->up_ctr = ls->up_ctr[r];
		d->down_ctr = ls->down_ctr[r];
	}
	return rc;
}

int sga_lab_dev_sess(const struct sga_lab_sess *ls, uint8_t role, struct sga_dev_sess *s)
{
	uint8_t peer = role ^ 1;
	struct sga_transcript t = {
	    .id_g = ls->id_g,
	    .id_g_len = ls->id_g_len,
	    .id_i = ls->id[SGA_ROLE_INITIATOR],
	    .id_i_len = ls->id_len[SGA_ROLE_INITIATOR],
	    .id_j = ls->id[SGA_ROLE_RESPONDER],
	    .id_j_len = ls->id_len[SGA_ROLE_RESPONDER],
	    .prefs = ls->prefs,
	    .n_pref = ls->n_pref,
	    .n_hash = {ls->n_hash[0], ls->n_hash[1]},
	};
	int rc;

	memset(s, 0, sizeof(*s));
	if (role > 1)
		return -SGA_E_BAD_FIELD;
	s->role = role;
	s->session_id = ls->session_id;
	s->peer_id_len = ls->id_len[peer];
	memcpy(s->peer_id, ls->id[peer], ls->id_len[peer]);
	s->suite = ls->suite;
	s->group = ls->group;
	s->hop_suite = ls->hop_suite[role];
	s->req_ctr = role == SGA_ROLE_INITIATOR ? ls->req_ctr : 0;
	s->n_pref = ls->n_pref;
	memcpy(s->prefs, ls->prefs, sizeof(s->prefs));
	CHECK(sga_dev_sess_derive(s, ls->k_isj, SGA_KEY_LEN, ls->k_t[role], &t));
	sga_replay_init(&s->hop_rx_win);
	sga_replay_init(&s->e2e_rx_win);
	/* The gateway seals under the lab epoch: adopted from the start, so even
	 * the first DATA_UP (a pcap's too) echoes it and teaches an address. */
	if (ls->hop_epoch[role]) {
		CHECK(sga_key_hop_epoch(s->hop_down_base, ls->hop_epoch[role], s->hop_suite,
		                        s->hop_down));
		s->hop_epoch = ls->hop_epoch[role];
	}
	/* As after the key confirmation: both confirms (e2e_seq 0) are spent. */
	sga_replay_update(&s->e2e_rx_win, 0);
	sga_memzero(s->confirm_rx, sizeof(s->confirm_rx));
	s->e2e_tx_seq = 1;
	s->confirm_sent = 1;
	s->peer_confirmed = 1;
	s->state = SGA_DEV_S_ESTABLISHED;
out:
	if (rc)
		sga_dev_sess_wipe(s);
	return rc;
}

void sga_lab_sess_wipe(struct sga_lab_sess *ls)
{
	sga_memzero(ls, sizeof(*ls));
}

/* ---- the provisioning file ------------------------------------------------------ */

int sga_lab_file_write(const char *path, const struct sga_lab_params *p, int force)
{
	char hex[2 * SGA_LAB_SEED_LEN + 1];
	const struct sga_group_info *g = sga_group_get(p->group);
	const struct sga_suite_info *s = sga_suite_get(p->suite), *h = sga_suite_get(p->hop_suite);
	FILE *f;
	int fd, rc = 0;

	if (!g || !s || !h || p->sessions == 0 || p->sessions > SGA_LAB_SESSIONS_MAX)
		return -EINVAL;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), 0600);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0600) || !(f = fdopen(fd, "w"))) {
		rc = -errno;
		close(fd);
		return rc;
	}
	sga_hex_encode(p->seed, SGA_LAB_SEED_LEN, hex);
	fprintf(f,
	        "# SGA lab provisioning file (sga-loadgen provision): NOT FOR PRODUCTION.\n"
	        "# The seed below derives every key of every session listed: keep it in the\n"
	        "# lab. A gateway reads it only under [lab] profile = lab.\n"
	        "format = %s\nseed = %s\nsessions = %u\nsuite = %s\nhop_suite = %s\n"
	        "group = %s\n",
	        LAB_FORMAT, hex, p->sessions, s->name, h->name, g->name);
	sga_memzero(hex, sizeof(hex));
	if (fflush(f) || fsync(fileno(f)))
		rc = -errno;
	if (fclose(f) && !rc)
		rc = -errno;
	return rc;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int sga_lab_file_read(const char *path, struct sga_lab_params *p, char *err, size_t err_len)
{
	enum {
		HAVE_FORMAT = 1,
		HAVE_SEED = 2,
		HAVE_N = 4,
		HAVE_SUITE = 8,
		HAVE_HOP = 16,
		HAVE_GROUP = 32,
		HAVE_ALL = 63
	};
	char line[256];
	unsigned have = 0, lineno = 0;
	struct stat sb;
	FILE *f;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	f = fopen(path, "r");
	if (!f) {
		snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode)) {
		snprintf(err, err_len, "%s: not a regular file", path);
		goto out;
	}
	if (sb.st_mode & 077) {
		snprintf(err, err_len,
		         "%s: readable or writable by group or others (mode %03o): it holds the "
		         "lab seed; chmod 600 it",
		         path, (unsigned)(sb.st_mode & 0777));
		goto out;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s, *eq, *k, *v;

		lineno++;
		if ((s = strchr(line, '#')))
			*s = '\0';
		s = trim(line);
		if (!*s)
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, err_len, "%s:%u: expected 'key = value'", path, lineno);
			goto out;
		}
		*eq = '\0';
		k = trim(s);
		v = trim(eq + 1);
		if (!strcmp(k, "format")) {
			if (strcmp(v, LAB_FORMAT)) {
				snprintf(err, err_len, "%s:%u: format '%s' is not %s", path, lineno,
				         v, LAB_FORMAT);
				goto out;
			}
			have |= HAVE_FORMAT;
		} else if (!strcmp(k, "seed")) {
			if (strlen(v) != 2 * SGA_LAB_SEED_LEN ||
			    sga_hex_decode(v, strlen(v), p->seed, SGA_LAB_SEED_LEN)) {
				snprintf(err, err_len, "%s:%u: seed must be %d hex digits", path,
				         lineno, 2 * SGA_LAB_SEED_LEN);
				goto out;
			}
			have |= HAVE_SEED;
		} else if (!strcmp(k, "sessions")) {
			char *end;
			unsigned long n;

			errno = 0;
			n = strtoul(v, &end, 10);
			if (errno || *end || !*v || *v == '-' || n < 1 ||
			    n > SGA_LAB_SESSIONS_MAX) {
				snprintf(err, err_len, "%s:%u: sessions must be 1..%u", path,
				         lineno, SGA_LAB_SESSIONS_MAX);
				goto out;
			}
			p->sessions = (uint32_t)n;
			have |= HAVE_N;
		} else if (!strcmp(k, "suite") || !strcmp(k, "hop_suite")) {
			const struct sga_suite_info *si = sga_suite_by_name(v);

			if (!si) {
				snprintf(err, err_len, "%s:%u: unknown suite '%s'", path, lineno,
				         v);
				goto out;
			}
			if (k[0] == 's') {
				p->suite = si->id;
				have |= HAVE_SUITE;
			} else {
				p->hop_suite = si->id;
				have |= HAVE_HOP;
			}
		} else if (!strcmp(k, "group")) {
			const struct sga_group_info *g = sga_group_by_name(v);

			if (!g) {
				snprintf(err, err_len, "%s:%u: unknown group '%s'", path, lineno,
				         v);
				goto out;
			}
			p->group = g->id;
			have |= HAVE_GROUP;
		} else {
			snprintf(err, err_len, "%s:%u: unknown key '%s'", path, lineno, k);
			goto out;
		}
	}
	if (have != HAVE_ALL) {
		snprintf(err, err_len,
		         "%s: incomplete (needs format, seed, sessions, suite, hop_suite, group)",
		         path);
		goto out;
	}
	rc = 0;
out:
	fclose(f);
	sga_memzero(line, sizeof(line));
	if (rc)
		sga_memzero(p, sizeof(*p));
	return rc;
}
