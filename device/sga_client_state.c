/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_client_state.c - the device's state file and the gateway package file.
 *
 * The state file keeps the long-term part of struct sga_dev across runs: the
 * identity, k_d, the suites, both control counters and whether the gateway
 * acknowledged the registration, plus the package (and its fingerprint) the
 * identity is registered with. Reusing an up counter after a restart would be
 * a replay the gateway refuses, so the client rewrites this file before it
 * sends any frame that uses a new counter.
 *
 * Format (version 1): text, one "key value" per line, keys in exactly this
 * order, every line ending in '\n', nothing else:
 *
 *   sga-device-state 1
 *   id <identity>
 *   suite_init <suite id, decimal>
 *   suites <suite ids, decimal, separated by one space>
 *   registered <0|1>
 *   up_ctr <u64 decimal>
 *   down_ctr <u64 decimal>
 *   k_d <64 hex digits>
 *   [k_d_next <64 hex digits>: a key replacement sent and not yet acknowledged]
 *   package_sha256 <64 hex digits>
 *   package <the package body, hex>
 *   sha256 <64 hex digits: SHA-256 of every byte before this line>
 *
 * It is an explicit serialization (not struct bytes) so a file survives a
 * rebuild or another architecture, and a version line so it can evolve. The
 * checksum catches truncation and hand edits. Files are written atomically
 * (temp file, fsync, rename, fsync of the directory) with mode 0600: k_d is
 * secret. Every buffer that held k_d is wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sga_client_priv.h"

#define STATE_MAGIC   "sga-device-state"
#define STATE_VERSION 1
#define STATE_MAX     8192 /* the largest valid file is about 3.1 KB */

int sga_pkg_fingerprint(const uint8_t *body, size_t len, uint8_t fp[SGA_SHA256_LEN])
{
	struct sga_buf b = {body, len};

	return sga_sha256(&b, 1, fp) ? -EIO : 0;
}

/* Read a whole small file; -EBADMSG if it exceeds cap. */
static int read_file(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			uint8_t extra;

			r = read(fd, &extra, 1);
			if (r > 0)
				rc = -EBADMSG;
			else if (r < 0 && errno == EINTR)
				continue;
			else if (r < 0)
				rc = -errno;
			break;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*len = n;
	return rc;
}

int sga_pkg_file_read(const char *path, uint8_t *body, size_t cap, size_t *len)
{
	return read_file(path, body, cap, len);
}

/* ---- parsing -------------------------------------------------------------- */

/* A cursor over the file's lines. */
struct lines {
	char *p;   /* next line */
	char *end; /* end of the checksummed part */
};

/* The value of the next line if it is "key value"; NULL otherwise. The line is
 * NUL-terminated in place. */
static char *take(struct lines *l, const char *key)
{
	size_t kl = strlen(key);
	char *nl;

	if (l->p >= l->end)
		return NULL;
	nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
	if (!nl)
		return NULL;
	*nl = '\0';
	if (strncmp(l->p, key, kl) || l->p[kl] != ' ' || !l->p[kl + 1]) {
		*nl = '\n';
		return NULL;
	}
	char *v = l->p + kl + 1;
	l->p = nl + 1;
	return v;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *e;

	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1]))
		return -1;
	errno = 0;
	unsigned long long x = strtoull(s, &e, 10);
	if (errno || *e)
		return -1;
	*v = x;
	return 0;
}

static int parse_u8(const char *s, uint8_t *v)
{
	uint64_t x;

	if (parse_u64(s, &x) || x > 255)
		return -1;
	*v = (uint8_t)x;
	return 0;
}

/* "1 2 3": 1..SGA_MAX_SUITES decimal ids separated by single spaces. */
static int parse_suites(char *s, uint8_t *suites, uint8_t *n)
{
	*n = 0;
	for (char *tok = s;;) {
		char *sp = strchr(tok, ' ');

		if (sp)
			*sp = '\0';
		if (*n == SGA_MAX_SUITES || parse_u8(tok, &suites[*n]))
			return -1;
		(*n)++;
		if (!sp)
			break;
		tok = sp + 1;
	}
	return sga_suite_list_check(suites, *n) ? -1 : 0;
}

static int parse_state(char *text, size_t len, struct sga_client_state *st)
{
	struct lines l;
	uint8_t sum[SGA_SHA256_LEN], want[SGA_SHA256_LEN], fp[SGA_SHA256_LEN];
	struct sga_core_persist *p = &st->persist;
	char *v, *last;
	uint64_t x;

	memset(st, 0, sizeof(*st));
	if (len == 0 || text[len - 1] != '\n')
		return -EBADMSG;
	/* The checksum line is the last line. */
	text[len - 1] = '\0';
	last = strrchr(text, '\n');
	text[len - 1] = '\n';
	if (!last)
		return -EBADMSG;
	last++;
	l.p = last;
	l.end = text + len;
	v = take(&l, "sha256");
	if (!v || sga_hex_decode(v, strlen(v), want, sizeof(want)))
		return -EBADMSG;
	if (sga_pkg_fingerprint((const uint8_t *)text, (size_t)(last - text), sum) ||
	    !sga_ct_memeq(sum, want, sizeof(sum)))
		return -EBADMSG;

	l.p = text;
	l.end = last;
	v = take(&l, STATE_MAGIC);
	if (!v || parse_u64(v, &x) || x != STATE_VERSION)
		return -EBADMSG;
	v = take(&l, "id");
	if (!v || !sga_id_valid((const uint8_t *)v, strlen(v)))
		return -EBADMSG;
	p->id_len = (uint8_t)strlen(v);
	memcpy(p->id, v, p->id_len);
	v = take(&l, "suite_init");
	if (!v || parse_u8(v, &p->suite_init))
		return -EBADMSG;
	v = take(&l, "suites");
	if (!v || parse_suites(v, p->suites, &p->n_suites) ||
	    !memchr(p->suites, p->suite_init, p->n_suites))
		return -EBADMSG;
	v = take(&l, "registered");
	if (!v || parse_u64(v, &x) || x > 1)
		return -EBADMSG;
	p->registered = (uint8_t)x;
	v = take(&l, "up_ctr");
	if (!v || parse_u64(v, &p->up_ctr))
		return -EBADMSG;
	v = take(&l, "down_ctr");
	if (!v || parse_u64(v, &p->down_ctr))
		return -EBADMSG;
	v = take(&l, "k_d");
	if (!v || sga_hex_decode(v, strlen(v), p->k_d, sizeof(p->k_d)))
		return -EBADMSG;
	v = take(&l, "k_d_next"); /* optional */
	if (v && sga_hex_decode(v, strlen(v), p->k_d_next, sizeof(p->k_d_next)))
		return -EBADMSG;
	p->has_k_d_next = v != NULL;
	v = take(&l, "package_sha256");
	if (!v || sga_hex_decode(v, strlen(v), st->pkg_fp, sizeof(st->pkg_fp)))
		return -EBADMSG;
	v = take(&l, "package");
	if (!v || strlen(v) % 2 || strlen(v) / 2 > sizeof(st->pkg))
		return -EBADMSG;
	st->pkg_len = strlen(v) / 2;
	if (sga_hex_decode(v, strlen(v), st->pkg, st->pkg_len))
		return -EBADMSG;
	if (l.p != l.end)
		return -EBADMSG; /* unknown lines */
	if (sga_pkg_fingerprint(st->pkg, st->pkg_len, fp) ||
	    !sga_ct_memeq(fp, st->pkg_fp, sizeof(fp)))
		return -EBADMSG;
	return 0;
}

int sga_state_load(const char *path, struct sga_client_state *st)
{
	char *buf = malloc(STATE_MAX);
	size_t len = 0;
	int rc;

	if (!buf)
		return -ENOMEM;
	rc = read_file(path, (uint8_t *)buf, STATE_MAX, &len);
	if (!rc)
		rc = parse_state(buf, len, st);
	if (rc)
		sga_memzero(st, sizeof(*st));
	sga_memzero(buf, STATE_MAX);
	free(buf);
	return rc;
}

/* ---- writing -------------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* fsync the directory holding path, so the rename itself is durable. */
static int sync_dir(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd, rc = 0;

	if (!slash) {
		snprintf(dir, sizeof(dir), ".");
	} else if (slash == path) {
		snprintf(dir, sizeof(dir), "/");
	} else {
		if ((size_t)(slash - path) >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) && errno != EINVAL)
		rc = -errno;
	close(fd);
	return rc;
}

static int format_state(const struct sga_client_state *st, char *buf, size_t cap, size_t *len)
{
	const struct sga_core_persist *p = &st->persist;
	char hex[2 * SGA_CLIENT_PKG_MAX + 1], id[SGA_ID_MAX + 1];
	uint8_t sum[SGA_SHA256_LEN];
	size_t n = 0;
	int w;

#define OUT(...)                                             \
	do {                                                 \
		w = snprintf(buf + n, cap - n, __VA_ARGS__); \
		if (w < 0 || (size_t)w >= cap - n)           \
			goto nospace;                        \
		n += (size_t)w;                              \
	} while (0)

	memcpy(id, p->id, p->id_len);
	id[p->id_len] = '\0';
	OUT("%s %d\n", STATE_MAGIC, STATE_VERSION);
	OUT("id %s\n", id);
	OUT("suite_init %u\n", p->suite_init);
	OUT("suites");
	for (unsigned i = 0; i < p->n_suites; i++)
		OUT(" %u", p->suites[i]);
	OUT("\n");
	OUT("registered %d\n", p->registered ? 1 : 0);
	OUT("up_ctr %" PRIu64 "\n", p->up_ctr);
	OUT("down_ctr %" PRIu64 "\n", p->down_ctr);
	sga_hex_encode(p->k_d, sizeof(p->k_d), hex);
	OUT("k_d %s\n", hex);
	if (p->has_k_d_next) {
		sga_hex_encode(p->k_d_next, sizeof(p->k_d_next), hex);
		OUT("k_d_next %s\n", hex);
	}
	sga_hex_encode(st->pkg_fp, sizeof(st->pkg_fp), hex);
	OUT("package_sha256 %s\n", hex);
	sga_hex_encode(st->pkg, st->pkg_len, hex);
	OUT("package %s\n", hex);
	if (sga_pkg_fingerprint((const uint8_t *)buf, n, sum))
		goto nospace;
	sga_hex_encode(sum, sizeof(sum), hex);
	OUT("sha256 %s\n", hex);
#undef OUT
	*len = n;
	sga_memzero(hex, sizeof(hex));
	return 0;
nospace:
	sga_memzero(hex, sizeof(hex));
	return -ENOSPC;
}

int sga_state_save(const char *path, const struct sga_client_state *st)
{
	size_t plen = strlen(path), len = 0;
	char *tmp = malloc(plen + 8), *buf = malloc(STATE_MAX);
	int fd = -1, rc;

	if (!tmp || !buf) {
		rc = -ENOMEM;
		goto out;
	}
	rc = format_state(st, buf, STATE_MAX, &len);
	if (rc)
		goto out;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".XXXXXX", 8);
	fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if (fchmod(fd, 0600) || (rc = write_all(fd, buf, len)) || fsync(fd)) {
		rc = rc ? rc : -errno;
		goto out_unlink;
	}
	if (close(fd)) {
		fd = -1;
		rc = -errno;
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path)) {
		rc = -errno;
		goto out_unlink;
	}
	rc = sync_dir(path);
	goto out;
out_unlink:
	if (fd >= 0)
		close(fd);
	fd = -1;
	unlink(tmp);
out:
	if (fd >= 0)
		close(fd);
	if (buf)
		sga_memzero(buf, STATE_MAX);
	free(buf);
	free(tmp);
	return rc;
}
