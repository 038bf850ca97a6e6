/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * msg_log_recover.c - the message store's start-up scan: find the segments,
 * validate every record, cut a torn tail, report corruption, rebuild the
 * pending index and hand every live message to the caller.
 *
 * Rules (msg_log.h has the format):
 *   - segments are read in lsn order (their names); a record is valid when its
 *     header is complete, magic/version/type/length are sane, it fits in the
 *     file, its CRC-32C matches and, for a MSG, its lsn is the next one expected
 *     in that segment (lsns are contiguous within a segment and below the next
 *     segment's name);
 *   - the first invalid record of the LAST segment ends the log: the file is
 *     truncated there (a write torn by a crash), reported with file, offset and
 *     bytes cut;
 *   - the first invalid record of an OLDER segment is reported with file and
 *     offset; the rest of that segment is skipped and the file is kept for the
 *     operator (never deleted automatically); the next segment is read normally
 *     and kept as long as the corrupt one is (its name bounds the corrupt
 *     segment's lsns, so the same scan gives the same answer at every start);
 *   - RELEASE records cancel the MSG they name (always an earlier record).
 * Corrupt data never makes the open fail; only I/O on the directory does.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msg_crc32c.h"
#include "msg_log_priv.h"

struct seg_name {
	uint64_t lsn;
	char name[32];
};

static int seg_name_cmp(const void *a, const void *b)
{
	const struct seg_name *x = a, *y = b;

	return x->lsn < y->lsn ? -1 : x->lsn > y->lsn;
}

/* "seg-" + 16 lower-case hex digits + ".log", nothing else. */
static bool parse_seg_name(const char *n, uint64_t *lsn)
{
	uint64_t v = 0;

	if (strlen(n) != 24 || strncmp(n, "seg-", 4) || strcmp(n + 20, ".log"))
		return false;
	for (int i = 4; i < 20; i++) {
		char c = n[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return false;
	}
	*lsn = v;
	return v != 0;
}

static int list_segments(struct msg_log *log, struct seg_name **out, size_t *count)
{
	struct seg_name *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int fd = openat(log->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	errno = 0;
	while ((de = readdir(d))) {
		uint64_t lsn;

		if (!parse_seg_name(de->d_name, &lsn))
			continue;
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			struct seg_name *nv = realloc(v, ncap * sizeof(*nv));

			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
			cap = ncap;
		}
		v[n].lsn = lsn;
		snprintf(v[n].name, sizeof(v[n].name), "%s", de->d_name);
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), seg_name_cmp);
	*out = v;
	*count = n;
	return 0;
}

/* NULL if the record at p (avail bytes left in the file) is valid, else why not. */
static const char *check_rec(const uint8_t *p, uint64_t avail, uint64_t *rl)
{
	uint32_t len;

	if (avail < MSG_LOG_HDR_LEN)
		return "incomplete header";
	if (le32_get(p + MSG_LOG_OFF_MAGIC) != MSG_LOG_MAGIC)
		return "bad magic";
	if (p[MSG_LOG_OFF_VERSION] != MSG_LOG_VERSION)
		return "unknown version";
	len = le32_get(p + MSG_LOG_OFF_LENGTH);
	switch (p[MSG_LOG_OFF_TYPE]) {
	case MSG_LOG_REC_MSG:
		if (len > MSG_LOG_MAX_PAYLOAD)
			return "bad length";
		break;
	case MSG_LOG_REC_RELEASE:
		if (len)
			return "bad length";
		break;
	default:
		return "bad type";
	}
	*rl = msg_log_rec_len(len);
	if (*rl > avail)
		return "incomplete record";
	if (msg_crc32c(0, p + MSG_LOG_OFF_TYPE, (size_t)*rl - MSG_LOG_OFF_TYPE) !=
	    le32_get(p + MSG_LOG_OFF_CRC))
		return "checksum mismatch";
	return NULL;
}

static void add_issue(struct msg_log_recovery *rep, enum msg_log_issue_kind kind, const char *file,
                      uint64_t off, uint64_t bytes)
{
	if (rep->n_issues < MSG_LOG_MAX_ISSUES) {
		struct msg_log_issue *is = &rep->issues[rep->n_issues];

		is->kind = kind;
		snprintf(is->file, sizeof(is->file), "%s", file);
		is->offset = off;
		is->bytes = bytes;
	}
	rep->n_issues++;
}

/* n bytes at p all zero? */
static bool zero_to_end(const uint8_t *p, uint64_t n)
{
	static const uint8_t z[4096];

	while (n) {
		size_t k = n < sizeof(z) ? (size_t)n : sizeof(z);

		if (memcmp(p, z, k))
			return false;
		p += k;
		n -= k;
	}
	return true;
}

/* Scan one segment into the index. Returns 0 or a negative errno for I/O
 * trouble that makes the directory unusable (corruption is never an error). */
static int scan_seg(struct msg_log *log, struct msg_seg *s, bool is_last, uint64_t next_name,
                    uint64_t *last_msg, struct msg_log_recovery *rep)
{
	const char *why = NULL;
	uint8_t *map = NULL;
	uint64_t size, off = 0, rl = 0;
	struct stat st;
	int fd, rc = 0;

	fd = openat(log->dirfd, s->name, (is_last ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		msg_log_logf(log, MSG_LOG_LVL_ERR, "cannot open %s/%s: %s", log->dir, s->name,
		             strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st)) {
		rc = -errno;
		goto out;
	}
	size = (uint64_t)st.st_size;
	if (size) {
		map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			map = NULL;
			rc = -errno;
			msg_log_logf(log, MSG_LOG_LVL_ERR, "cannot map %s: %s", s->name,
			             strerror(-rc));
			goto out;
		}
	}
	while (off < size) {
		const uint8_t *p = map + off;

		why = check_rec(p, size - off, &rl);
		if (!why && p[MSG_LOG_OFF_TYPE] == MSG_LOG_REC_MSG) {
			uint64_t lsn = le64_get(p + MSG_LOG_OFF_LSN);

			if (lsn != s->first_lsn + s->msgs || lsn <= *last_msg || lsn >= next_name)
				why = "lsn out of sequence";
		}
		if (why)
			break;
		if (p[MSG_LOG_OFF_TYPE] == MSG_LOG_REC_MSG) {
			uint64_t lsn = le64_get(p + MSG_LOG_OFF_LSN);

			rc = msg_seg_add_msg(log, s, lsn, le64_get(p + MSG_LOG_OFF_TS));
			if (rc)
				goto out;
			*last_msg = lsn;
			rep->msgs++;
		} else {
			msg_log_apply_release(log, s, le64_get(p + MSG_LOG_OFF_LSN));
		}
		rep->records++;
		off += rl;
	}
	s->valid_end = off;
	s->size = size;
	if (why && zero_to_end(map + off, size - off)) {
		/* Not a torn record: the zero-filled space the writer prepares
		 * ahead of itself (msg_log_writer.c, prealloc). Nothing was ever
		 * written there, so nothing is lost; the active segment gets it
		 * back (cut here, zero-filled again as needed). */
		why = NULL;
		s->size = off;
		if (is_last && ftruncate(fd, (off_t)off)) {
			rc = -errno;
			msg_log_logf(log, MSG_LOG_LVL_ERR, "cannot truncate %s: %s", s->name,
			             strerror(-rc));
			goto out;
		}
	}
	if (why && is_last) {
		msg_log_logf(log, MSG_LOG_LVL_WARN,
		             "torn tail: %s/%s offset %" PRIu64 ": %s; cutting %" PRIu64
		             " bytes, the %" PRIu64 " records before it are kept",
		             log->dir, s->name, off, why, size - off, s->msgs);
		if (ftruncate(fd, (off_t)off) ||
		    (log->cfg.fsync != MSG_LOG_FSYNC_NONE && fdatasync(fd))) {
			rc = -errno;
			msg_log_logf(log, MSG_LOG_LVL_ERR, "cannot truncate %s: %s", s->name,
			             strerror(-rc));
			goto out;
		}
		add_issue(rep, MSG_LOG_ISSUE_TORN_TAIL, s->name, off, size - off);
		rep->bytes_cut += size - off;
		s->size = off;
	} else if (why) {
		msg_log_logf(log, MSG_LOG_LVL_ERR,
		             "corrupt segment: %s/%s offset %" PRIu64
		             ": %s; skipping its last %" PRIu64
		             " bytes, serving the rest; file kept for inspection",
		             log->dir, s->name, off, why, size - off);
		add_issue(rep, MSG_LOG_ISSUE_CORRUPT, s->name, off, size - off);
		rep->corrupt_segments++;
		log->n_corrupt++;
		s->corrupt = true;
	}
	log->bytes += s->size;
out:
	if (map)
		munmap(map, (size_t)size);
	if (rc || !is_last)
		close(fd);
	else
		log->cur_fd = fd;
	return rc;
}

int msg_log_recover(struct msg_log *log, struct msg_log_recovery *rep)
{
	struct seg_name *names = NULL;
	uint64_t last_msg = 0, next;
	size_t n = 0;
	int rc;

	rc = list_segments(log, &names, &n);
	if (rc) {
		msg_log_logf(log, MSG_LOG_LVL_ERR, "cannot list %s: %s", log->dir, strerror(-rc));
		return rc;
	}
	rep->segments = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		struct msg_seg *s = msg_seg_new(names[i].name, names[i].lsn);

		if (!s || msg_log_segs_push(log, s)) {
			msg_seg_free(s);
			rc = -ENOMEM;
			goto out;
		}
		rc = scan_seg(log, s, i + 1 == n, i + 1 < n ? names[i + 1].lsn : UINT64_MAX,
		              &last_msg, rep);
		if (rc)
			goto out;
		/* The next segment's name bounded this one's scan ("lsn out of
		 * sequence"): deleting it would let the next recovery read this
		 * corrupt segment differently. Keep it while this one is kept. */
		if (i && log->segs[log->n_segs - 2]->corrupt)
			s->keep = true;
	}
	rep->released = log->released;
	/* Counters in stats are "since open": recovery's releases are history. */
	log->released = log->release_ignored = 0;

	next = last_msg + 1;
	if (n && names[n - 1].lsn > next)
		next = names[n - 1].lsn; /* the last segment lost its MSGs to a torn tail */
	if (!n) {
		rc = msg_log_create_first_seg(log, next);
		if (rc) {
			msg_log_logf(log, MSG_LOG_LVL_ERR,
			             "cannot create the first segment in %s: %s", log->dir,
			             strerror(-rc));
			goto out;
		}
	} else {
		log->w_off = log->w_alloc = msg_log_cur(log)->size;
		log->w_msgs = msg_log_cur(log)->msgs;
	}
	log->next_lsn = next;
	atomic_store_explicit(&log->last_lsn, next - 1, memory_order_relaxed);
	atomic_store_explicit(&log->durable_lsn, last_msg, memory_order_relaxed);
	log->gc_pending = true;
out:
	free(names);
	return rc;
}

int msg_log_replay_live(struct msg_log *log, msg_log_recover_fn cb, void *ctx,
                        struct msg_log_recovery *rep)
{
	for (size_t i = 0; i < log->n_segs; i++) {
		struct msg_seg *s = log->segs[i];
		uint64_t off = 0;
		uint8_t *map;
		int fd;

		if (!s->live)
			continue;
		fd = openat(log->dirfd, s->name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		map = mmap(NULL, (size_t)s->valid_end, PROT_READ, MAP_PRIVATE, fd, 0);
		close(fd);
		if (map == MAP_FAILED)
			return -errno;
		while (off + MSG_LOG_HDR_LEN <= s->valid_end) {
			const uint8_t *p = map + off;
			uint32_t len = le32_get(p + MSG_LOG_OFF_LENGTH);
			uint64_t lsn = le64_get(p + MSG_LOG_OFF_LSN), slot = lsn - s->first_lsn;

			if (p[MSG_LOG_OFF_TYPE] == MSG_LOG_REC_MSG && slot < s->cap &&
			    (s->live_bits[slot / 64] >> (slot % 64) & 1)) {
				struct msg_rec m = {
				    .lsn = lsn,
				    .timestamp_ms = le64_get(p + MSG_LOG_OFF_TS),
				    .session_id = le64_get(p + MSG_LOG_OFF_SESSION),
				    .e2e_seq = le64_get(p + MSG_LOG_OFF_E2E_SEQ),
				    .role = p[MSG_LOG_OFF_ROLE],
				    .flags = p[MSG_LOG_OFF_FLAGS],
				};

				if (cb)
					cb(ctx, &m, p + MSG_LOG_HDR_LEN, len);
				rep->live++;
			}
			off += msg_log_rec_len(len);
		}
		munmap(map, (size_t)s->valid_end);
	}
	return 0;
}
