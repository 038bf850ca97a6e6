/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * msg_log_writer.c - the message store's writer thread and everything it owns:
 * group commit, the fsync policy, segment rotation, the pending index,
 * retention, segment garbage collection and the disk-full/EIO error state.
 *
 * One pass of the writer (writer_pass) takes everything published so far:
 *   1. prepare a chunk of [wpos, head): stamp timestamps left at 0, compute each
 *      record's CRC-32C in the ring; a chunk ends where the active segment is
 *      full or after chunk_max bytes (ring/4, at most 1 MiB);
 *   2. one pwritev per chunk (two iovecs at most: the ring's wrap point);
 *   3. per policy, fdatasync and commit: apply the now-durable records to the
 *      pending index, then publish tail (ring space) and durable_lsn (release).
 *      none commits after every chunk (durable = written), so the producer
 *      refills the ring while the next chunk is copied; always syncs once per
 *      pass; interval syncs when the period is over or half the ring waits;
 *   4. with nothing written-but-unsynced: size retention and segment GC.
 * Before a chunk is written past the zero-filled part of the segment, the next
 * MSG_LOG_PREALLOC bytes are zero-filled and synced (prealloc: why in msg_log.h),
 * so the sync of step 3 does not change the file's size. interval's period is
 * counted from the start of the previous sync.
 * Everything the producer appended while the previous pass was in pwritev or
 * fdatasync goes out in the next pass under one fdatasync: group commit
 * without a timer - the slower the disk, the larger the batch.
 *
 * Failure (ENOSPC, EDQUOT, EIO, ...) anywhere in 2-4: cut the active segment back
 * to its durable size, rewind wpos to tail (the bytes are still in the ring),
 * set the error state (appends -> -EIO) and retry every retry_ms. A retry that
 * writes, syncs and commits everything pending ends the error state.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "msg_crc32c.h"
#include "msg_log_priv.h"

/* ------------------------------------------------------------ pending index */

struct msg_seg *msg_seg_new(const char *name, uint64_t first_lsn)
{
	struct msg_seg *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->first_lsn = first_lsn;
	s->min_live_ts = UINT64_MAX;
	return s;
}

void msg_seg_free(struct msg_seg *s)
{
	if (!s)
		return;
	free(s->live_bits);
	free(s->ts);
	free(s);
}

/* Make room for `need` slots. Writer thread only, never on the producer's path. */
static int seg_grow(struct msg_seg *s, uint64_t need)
{
	uint64_t ncap = s->cap ? s->cap : 1024;
	uint64_t *nb, *nt;

	if (need <= s->cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	nb = realloc(s->live_bits, (size_t)(ncap / 64) * sizeof(uint64_t));
	if (!nb)
		return -ENOMEM;
	memset(nb + s->cap / 64, 0, (size_t)((ncap - s->cap) / 64) * sizeof(uint64_t));
	s->live_bits = nb;
	nt = realloc(s->ts, (size_t)ncap * sizeof(uint64_t));
	if (!nt)
		return -ENOMEM;
	s->ts = nt;
	s->cap = ncap;
	return 0;
}

static inline bool bit_get(const uint64_t *b, uint64_t i)
{
	return (b[i / 64] >> (i % 64)) & 1;
}

static inline void bit_clear(uint64_t *b, uint64_t i)
{
	b[i / 64] &= ~(1ull << (i % 64));
}

int msg_log_segs_push(struct msg_log *log, struct msg_seg *s)
{
	if (log->n_segs == log->cap_segs) {
		size_t ncap = log->cap_segs ? 2 * log->cap_segs : 16;
		struct msg_seg **n = realloc(log->segs, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		log->segs = n;
		log->cap_segs = ncap;
	}
	log->segs[log->n_segs++] = s;
	return 0;
}

/* The segment that would hold MSG `lsn`: the last one whose first_lsn <= lsn. */
struct msg_seg *msg_log_find_seg(const struct msg_log *log, uint64_t lsn, size_t *idx)
{
	size_t lo = 0, hi = log->n_segs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (log->segs[mid]->first_lsn <= lsn)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	if (idx)
		*idx = lo - 1;
	return log->segs[lo - 1];
}

int msg_seg_add_msg(struct msg_log *log, struct msg_seg *s, uint64_t lsn, uint64_t ts)
{
	uint64_t slot = lsn - s->first_lsn;
	int rc = seg_grow(s, slot + 1);

	if (rc)
		return rc;
	s->live_bits[slot / 64] |= 1ull << (slot % 64);
	s->ts[slot] = ts;
	s->msgs++;
	s->live++;
	s->last_lsn = lsn;
	if (ts < s->min_live_ts)
		s->min_live_ts = ts;
	log->live++;
	return 0;
}

void msg_log_apply_release(struct msg_log *log, struct msg_seg *holder, uint64_t target)
{
	struct msg_seg *s = msg_log_find_seg(log, target, NULL);
	uint64_t slot;

	if (!s || (slot = target - s->first_lsn) >= s->cap || !bit_get(s->live_bits, slot)) {
		log->release_ignored++;
		return;
	}
	bit_clear(s->live_bits, slot);
	s->live--;
	log->live--;
	log->released++;
	if (s != holder)
		holder->pins++; /* holder must not vanish before s does (carry forward) */
	if (!s->live && s != msg_log_cur(log))
		log->gc_pending = true;
}

static uint64_t seg_slots(const struct msg_seg *s)
{
	return s->last_lsn ? s->last_lsn - s->first_lsn + 1 : 0;
}

/* Age retention over the durable index. Records are expired individually (a
 * segment only goes once all of its records are gone); recovery re-derives the
 * same decision from the timestamps on disk, so nothing is written for it. */
uint64_t msg_log_expire_age(struct msg_log *log, uint64_t now_ms)
{
	uint64_t cutoff, n = 0, lo = UINT64_MAX, hi = 0;

	if (!log->cfg.max_age_ms || now_ms <= log->cfg.max_age_ms)
		return 0;
	cutoff = now_ms - log->cfg.max_age_ms;
	for (size_t i = 0; i < log->n_segs; i++) {
		struct msg_seg *s = log->segs[i];
		uint64_t end = seg_slots(s), min_ts = UINT64_MAX;

		if (!s->live || s->min_live_ts >= cutoff)
			continue;
		for (uint64_t k = s->scan_from; k < end && k < s->cap; k++) {
			if (!bit_get(s->live_bits, k))
				continue;
			if (s->ts[k] < cutoff) {
				bit_clear(s->live_bits, k);
				s->live--;
				n++;
				lo = lo < s->first_lsn + k ? lo : s->first_lsn + k;
				hi = s->first_lsn + k;
			} else if (s->ts[k] < min_ts) {
				min_ts = s->ts[k];
			}
		}
		s->min_live_ts = min_ts;
		if (!s->live && s != msg_log_cur(log))
			log->gc_pending = true;
	}
	if (n) {
		log->live -= n;
		log->expired_age += n;
		msg_log_logf(log, MSG_LOG_LVL_WARN,
		             "retention: %" PRIu64 " pending messages older than %" PRIu64
		             " ms expired (lsn %" PRIu64 "..%" PRIu64 ")",
		             n, log->cfg.max_age_ms, lo, hi);
	}
	return n;
}

/* Timestamp of the first live MSG in lsn order (cursor moves forward only). */
static uint64_t oldest_live(struct msg_log *log)
{
	for (size_t i = 0; i < log->n_segs; i++) {
		struct msg_seg *s = log->segs[i];
		uint64_t end = seg_slots(s);

		if (!s->live)
			continue;
		while (s->scan_from < end && s->scan_from < s->cap &&
		       !bit_get(s->live_bits, s->scan_from))
			s->scan_from++;
		if (s->scan_from < end && s->scan_from < s->cap)
			return s->ts[s->scan_from];
	}
	return 0;
}

void msg_log_publish_stats(struct msg_log *log)
{
#define ST(f, v) atomic_store_explicit(&log->f, v, memory_order_relaxed)
	ST(st_released, log->released);
	ST(st_release_ignored, log->release_ignored);
	ST(st_expired_age, log->expired_age);
	ST(st_expired_size, log->expired_size);
	ST(st_live, log->live);
	ST(st_bytes, log->bytes);
	ST(st_segments, (uint32_t)log->n_segs);
	ST(st_corrupt, log->n_corrupt);
	ST(st_carried, log->carried);
#undef ST
}

/* ------------------------------------------------------------------- files */

static int full_pwrite(int fd, const void *buf, size_t n, uint64_t off)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static int sync_dir(struct msg_log *log)
{
	if (log->cfg.fsync == MSG_LOG_FSYNC_NONE)
		return 0;
	if (fsync(log->dirfd))
		return -errno;
	return 0;
}

/* Create segment `first_lsn` and make it the active one. The new file is created
 * before the old one is closed, so a failure leaves the old one active. */
static int seg_create(struct msg_log *log, uint64_t first_lsn)
{
	char name[32];
	struct msg_seg *s;
	int fd, rc;

	snprintf(name, sizeof(name), "seg-%016" PRIx64 ".log", first_lsn);
	/* O_TRUNC: only a previous failed attempt of ours can have left this name. */
	fd = openat(log->dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = sync_dir(log);
	if (rc)
		goto err;
	s = msg_seg_new(name, first_lsn);
	if (!s) {
		rc = -ENOMEM;
		goto err;
	}
	rc = msg_log_segs_push(log, s);
	if (rc) {
		msg_seg_free(s);
		goto err;
	}
	if (log->cur_fd >= 0) {
		/* The old segment is committed up to its size: give back the
		 * zero-filled space beyond (recovery would skip it anyway). */
		if (log->w_alloc > log->w_off && ftruncate(log->cur_fd, (off_t)log->w_off))
			msg_log_logf(log, MSG_LOG_LVL_WARN, "cannot cut %s back to %" PRIu64 ": %s",
			             log->segs[log->n_segs - 2]->name, log->w_off, strerror(errno));
		close(log->cur_fd);
	}
	log->cur_fd = fd;
	log->w_off = log->w_alloc = 0;
	log->w_msgs = 0;
	log->prealloc_off = false;
	return 0;
err:
	close(fd);
	unlinkat(log->dirfd, name, 0);
	return rc;
}

int msg_log_create_first_seg(struct msg_log *log, uint64_t first_lsn)
{
	return seg_create(log, first_lsn);
}

/*
 * Re-append, durably, the RELEASE records of `s` that cancel a MSG in an older
 * segment still on disk, so that deleting `s` cannot bring those messages back.
 * Precondition: nothing written-but-uncommitted (w_off == active size).
 */
static int carry_forward(struct msg_log *log, struct msg_seg *s)
{
	struct msg_seg *cur = msg_log_cur(log);
	uint64_t size0 = cur->size, off = 0, now = msg_log_realtime_ms(), count = 0;
	size_t n = 0;
	uint8_t *map = NULL;
	int fd, rc = 0;

	if (!s->valid_end)
		return 0;
	fd = openat(log->dirfd, s->name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	map = mmap(NULL, (size_t)s->valid_end, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return -errno;
	while (off + MSG_LOG_HDR_LEN <= s->valid_end) {
		const uint8_t *p = map + off;
		uint64_t rl = msg_log_rec_len(le32_get(p + MSG_LOG_OFF_LENGTH));

		if (p[MSG_LOG_OFF_TYPE] == MSG_LOG_REC_RELEASE) {
			uint64_t target = le64_get(p + MSG_LOG_OFF_LSN);
			struct msg_seg *t = msg_log_find_seg(log, target, NULL);

			/* t: the segment still holding target, if any (find_seg alone
			 * would also match a gap left by a deleted segment) */
			if (t && t != s && target <= t->last_lsn && t->first_lsn < s->first_lsn) {
				uint8_t *h = log->carry_buf + n;

				msg_log_hdr_build(h, MSG_LOG_REC_RELEASE, MSG_LOG_REL_CARRIED, 0,
				                  target, now, 0, 0, 0);
				le32_put(h + MSG_LOG_OFF_CRC,
				         msg_crc32c(0, h + MSG_LOG_OFF_TYPE,
				                    MSG_LOG_HDR_LEN - MSG_LOG_OFF_TYPE));
				n += MSG_LOG_HDR_LEN;
				count++;
			}
		}
		off += rl;
		if (n + MSG_LOG_HDR_LEN > MSG_LOG_CARRY_BUF || (off >= s->valid_end && n)) {
			rc = full_pwrite(log->cur_fd, log->carry_buf, n, log->w_off);
			if (rc)
				goto fail;
			log->w_off += n;
			n = 0;
		}
	}
	if (n) {
		rc = full_pwrite(log->cur_fd, log->carry_buf, n, log->w_off);
		if (rc)
			goto fail;
		log->w_off += n;
	}
	if (count && log->cfg.fsync != MSG_LOG_FSYNC_NONE) {
		if (fdatasync(log->cur_fd)) {
			rc = -errno;
			goto fail;
		}
		atomic_fetch_add_explicit(&log->st_syncs, 1, memory_order_relaxed);
	}
	munmap(map, (size_t)s->valid_end);
	if (log->w_off > log->w_alloc)
		log->w_alloc = log->w_off;
	log->bytes += log->w_off - size0;
	cur->size = log->w_off;
	cur->pins += count;
	log->carried += count;
	return 0;
fail:
	munmap(map, (size_t)s->valid_end);
	if (ftruncate(log->cur_fd, (off_t)size0))
		msg_log_logf(log, MSG_LOG_LVL_ERR, "cannot cut %s back to %" PRIu64 ": %s",
		             cur->name, size0, strerror(errno));
	log->w_off = log->w_alloc = size0;
	return rc;
}

/* Delete segment i (never the active one). 0: deleted, 1: kept (cannot be
 * unlinked), < 0: error (nothing changed). */
static int seg_delete(struct msg_log *log, size_t i)
{
	struct msg_seg *s = log->segs[i];
	int rc;

	if (s->pins) {
		rc = carry_forward(log, s);
		if (rc) {
			msg_log_logf(log, MSG_LOG_LVL_ERR,
			             "cannot carry releases of %s forward: %s; segment kept",
			             s->name, strerror(-rc));
			return rc;
		}
	}
	if (unlinkat(log->dirfd, s->name, 0) && errno != ENOENT) {
		/* Not a durability problem: keep the file, stop trying, carry on. */
		msg_log_logf(log, MSG_LOG_LVL_ERR, "cannot delete %s: %s; keeping it", s->name,
		             strerror(errno));
		s->keep = true;
		return 1;
	}
	log->live -= s->live;
	log->bytes -= s->size;
	memmove(&log->segs[i], &log->segs[i + 1], (log->n_segs - i - 1) * sizeof(log->segs[0]));
	log->n_segs--;
	msg_seg_free(s);
	msg_log_publish_stats(log);
	return 0;
}

/*
 * Size retention, then deletion of every non-active, non-corrupt segment whose
 * messages are all released or expired. Precondition: wpos == tail.
 */
int msg_log_maintain(struct msg_log *log, uint32_t *deleted)
{
	uint32_t n = 0;
	int rc = 0;

	while (log->cfg.max_bytes) {
		uint64_t bytes = 0;
		size_t victim = SIZE_MAX;

		for (size_t i = 0; i < log->n_segs; i++) {
			if (log->segs[i]->corrupt)
				continue; /* kept for the operator, outside the budget */
			bytes += log->segs[i]->size;
			if (victim == SIZE_MAX && i + 1 < log->n_segs && !log->segs[i]->keep)
				victim = i;
		}
		if (bytes <= log->cfg.max_bytes)
			break;
		if (victim == SIZE_MAX) {
			if (!log->size_warned)
				msg_log_logf(log, MSG_LOG_LVL_WARN,
				             "store size %" PRIu64 " above max_bytes %" PRIu64
				             " with only the active segment left",
				             bytes, log->cfg.max_bytes);
			log->size_warned = true;
			break;
		}
		struct msg_seg *s = log->segs[victim];
		uint64_t live = s->live;
		char name[sizeof(s->name)];

		memcpy(name, s->name, sizeof(name));
		rc = seg_delete(log, victim); /* takes its live messages with it */
		if (rc < 0)
			goto out;
		if (rc > 0 && live) {
			/* could not unlink: drop its messages from the index anyway */
			memset(s->live_bits, 0, (size_t)(s->cap / 64) * sizeof(uint64_t));
			s->live = 0;
			log->live -= live;
		}
		log->expired_size += live;
		if (live)
			msg_log_logf(log, MSG_LOG_LVL_WARN,
			             "retention: store size %" PRIu64 " > max_bytes %" PRIu64
			             ": deleted %s with %" PRIu64 " pending messages (expired)",
			             bytes, log->cfg.max_bytes, name, live);
		n += rc == 0;
		rc = 0;
	}
	if (log->gc_pending) {
		log->gc_pending = false;
		for (size_t i = 0; i + 1 < log->n_segs;) {
			struct msg_seg *s = log->segs[i];

			if (s->corrupt || s->keep || s->live) {
				i++;
				continue;
			}
			rc = seg_delete(log, i);
			if (rc < 0) {
				log->gc_pending = true;
				goto out;
			}
			n += rc == 0;
			i += rc > 0;
			rc = 0;
		}
	}
out:
	/* Make the unlinks durable too: a segment coming back after a power cut
	 * could hold releases that an already deleted newer segment relied on. */
	if (n) {
		int rc2 = sync_dir(log);

		if (!rc)
			rc = rc2;
	}
	if (deleted)
		*deleted += n;
	msg_log_publish_stats(log);
	return rc;
}

/* ------------------------------------------------------------- ring access */

static void ring_get(const struct msg_log *log, uint64_t pos, void *dst, size_t n)
{
	size_t off = (size_t)(pos & log->ring_mask);
	size_t first = (size_t)log->ring_size - off;

	if (n <= first) {
		memcpy(dst, log->ring + off, n);
	} else {
		memcpy(dst, log->ring + off, first);
		memcpy((uint8_t *)dst + first, log->ring, n - first);
	}
}

/* Header fields are 8-byte aligned words and the ring size is a multiple of 8,
 * so a field never straddles the wrap point. */
static inline uint8_t *ring_at(const struct msg_log *log, uint64_t pos)
{
	return log->ring + (pos & log->ring_mask);
}

static uint32_t ring_crc(const struct msg_log *log, uint64_t pos, size_t n)
{
	size_t off = (size_t)(pos & log->ring_mask);
	size_t first = (size_t)log->ring_size - off;

	if (n <= first)
		return msg_crc32c(0, log->ring + off, n);
	return msg_crc32c(msg_crc32c(0, log->ring + off, first), log->ring, n - first);
}

/*
 * Stamp and checksum the records in [wpos, head) that fit in the active
 * segment. Returns the end of the prepared range; *rotate is set when the next
 * record belongs in a new segment. A segment rotates only once it holds a MSG
 * (so segment names stay unique); RELEASEs may overflow it.
 */
static uint64_t prepare(struct msg_log *log, uint64_t head, bool *rotate, uint64_t *nmsgs,
                        uint64_t *max_lsn)
{
	uint64_t pos = log->wpos, now = 0;

	*rotate = false;
	*nmsgs = 0;
	while (pos < head) {
		uint8_t hdr[MSG_LOG_HDR_LEN];
		uint64_t rl, seg_bytes;

		ring_get(log, pos, hdr, MSG_LOG_HDR_LEN);
		rl = msg_log_rec_len(le32_get(hdr + MSG_LOG_OFF_LENGTH));
		if (pos > log->wpos && pos - log->wpos + rl > log->chunk_max)
			break; /* write this much, then look again */
		seg_bytes = log->w_off + (pos - log->wpos);
		if (seg_bytes && seg_bytes + rl > log->cfg.segment_bytes &&
		    log->w_msgs + *nmsgs > 0) {
			*rotate = true;
			break;
		}
		if (!le64_get(hdr + MSG_LOG_OFF_TS)) {
			if (!now)
				now = msg_log_realtime_ms();
			le64_put(ring_at(log, pos + MSG_LOG_OFF_TS), now);
		}
		le32_put(ring_at(log, pos + MSG_LOG_OFF_CRC),
		         ring_crc(log, pos + MSG_LOG_OFF_TYPE, (size_t)rl - MSG_LOG_OFF_TYPE));
		if (hdr[MSG_LOG_OFF_TYPE] == MSG_LOG_REC_MSG) {
			(*nmsgs)++;
			*max_lsn = le64_get(hdr + MSG_LOG_OFF_LSN);
		}
		pos += rl;
	}
	return pos;
}

/* One pwritev of ring bytes [wpos, end) at the active segment's write offset. */
static int write_range(struct msg_log *log, uint64_t end)
{
	uint64_t pos = log->wpos, off = log->w_off;

	while (pos < end) {
		size_t ro = (size_t)(pos & log->ring_mask);
		size_t first = (size_t)log->ring_size - ro;
		size_t n = (size_t)(end - pos);
		struct iovec iov[2];
		int cnt = 1;
		ssize_t w;

		iov[0].iov_base = log->ring + ro;
		iov[0].iov_len = n <= first ? n : first;
		if (n > first) {
			iov[1].iov_base = log->ring;
			iov[1].iov_len = n - first;
			cnt = 2;
		}
		w = pwritev(log->cur_fd, iov, cnt, (off_t)off);
		atomic_fetch_add_explicit(&log->st_batches, 1, memory_order_relaxed);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		pos += (uint64_t)w;
		off += (uint64_t)w;
	}
	log->w_off = off;
	if (off > log->w_alloc)
		log->w_alloc = off;
	log->wpos = end;
	return 0;
}

/*
 * Zero-fill the active segment ahead of the writer, MSG_LOG_PREALLOC at a time,
 * and make that durable once, so that the records later written there
 * overwrite allocated, written blocks of a file whose size does not change. A
 * batch's fdatasync then has data alone to flush. Extending the file instead
 * makes every fdatasync commit the file system's journal (ext4: the jbd2
 * thread writes the new size and extents, then a cache flush): measured on
 * this VM's ext4 with both cores busy, 14 KiB fdatasync'ed from a busy core
 * took 13.6 ms median (p90 280 ms) when appended, 0.17 ms when overwriting
 * (tests/bench/bench_store.c has the in-library figures). The price: the log's
 * bytes are written twice (zeros, then records). A failure (disk nearly full)
 * is not an error: the segment is cut back and extended as before.
 */
static void prealloc(struct msg_log *log, uint64_t need)
{
	struct iovec iov[16];
	uint64_t from = log->w_alloc, to, off;
	int rc = 0;

	if (log->cfg.fsync == MSG_LOG_FSYNC_NONE || log->prealloc_off || need <= from)
		return;
	to = from + MSG_LOG_PREALLOC;
	if (to > log->cfg.segment_bytes)
		to = log->cfg.segment_bytes; /* a segment rotates there */
	if (to < need)
		to = need;
	memset(log->carry_buf, 0, MSG_LOG_CARRY_BUF);
	for (unsigned i = 0; i < 16; i++)
		iov[i] = (struct iovec){.iov_base = log->carry_buf, .iov_len = MSG_LOG_CARRY_BUF};
	for (off = from; off < to && !rc;) {
		uint64_t left = to - off;
		int cnt = 0;
		ssize_t w;

		while (cnt < 16 && left > (uint64_t)cnt * MSG_LOG_CARRY_BUF)
			cnt++;
		iov[cnt - 1].iov_len =
		    (size_t)(left - (uint64_t)(cnt - 1) * MSG_LOG_CARRY_BUF < MSG_LOG_CARRY_BUF
		                 ? left - (uint64_t)(cnt - 1) * MSG_LOG_CARRY_BUF
		                 : MSG_LOG_CARRY_BUF);
		w = pwritev(log->cur_fd, iov, cnt, (off_t)off);
		iov[cnt - 1].iov_len = MSG_LOG_CARRY_BUF;
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = w < 0 ? -errno : -EIO;
		else
			off += (uint64_t)w;
	}
	if (!rc && fdatasync(log->cur_fd))
		rc = -errno;
	if (!rc) {
		log->w_alloc = to;
		atomic_fetch_add_explicit(&log->st_prealloc, to - from, memory_order_relaxed);
		return;
	}
	/* Keep what was written before (up to w_off), drop the zeros. */
	if (ftruncate(log->cur_fd, (off_t)(from > log->w_off ? from : log->w_off)))
		msg_log_logf(log, MSG_LOG_LVL_ERR, "cannot cut %s back: %s", msg_log_cur(log)->name,
		             strerror(errno));
	msg_log_logf(log, MSG_LOG_LVL_WARN,
	             "cannot zero-fill %s ahead (%s): extending it instead, syncs get slower",
	             msg_log_cur(log)->name, strerror(-rc));
	log->prealloc_off = true;
}

/*
 * Offer ring bytes [from, to) - whole records, durable locally - to the
 * replication hook (msg_log.h, "Replication"): up to three iovecs, so that no
 * record is split between two (one straddling the ring's wrap point is copied
 * into repl_buf). 0 when there is no hook or it accepted them.
 */
static int replicate(struct msg_log *log, uint64_t from, uint64_t to)
{
	uint64_t wrap = (from & ~log->ring_mask) + log->ring_size, pos = from, last_lsn = 0;
	uint64_t straddle = UINT64_MAX, straddle_len = 0;
	struct iovec iov[3];
	int n = 0, rc;

	if (!log->cfg.replicate || from == to)
		return 0;
	/* The batch's last MSG lsn, and where a record crosses the wrap point. */
	while (pos < to) {
		uint8_t hdr[MSG_LOG_HDR_LEN];
		uint64_t rl;

		ring_get(log, pos, hdr, MSG_LOG_HDR_LEN);
		rl = msg_log_rec_len(le32_get(hdr + MSG_LOG_OFF_LENGTH));
		if (hdr[MSG_LOG_OFF_TYPE] == MSG_LOG_REC_MSG)
			last_lsn = le64_get(hdr + MSG_LOG_OFF_LSN);
		if (pos < wrap && pos + rl > wrap) {
			straddle = pos;
			straddle_len = rl;
		}
		pos += rl;
	}
	if (to <= wrap) {
		iov[n++] = (struct iovec){log->ring + (from & log->ring_mask), (size_t)(to - from)};
	} else if (straddle == UINT64_MAX) {
		iov[n++] =
		    (struct iovec){log->ring + (from & log->ring_mask), (size_t)(wrap - from)};
		iov[n++] = (struct iovec){log->ring, (size_t)(to - wrap)};
	} else {
		if (straddle > from)
			iov[n++] = (struct iovec){log->ring + (from & log->ring_mask),
			                          (size_t)(straddle - from)};
		ring_get(log, straddle, log->repl_buf, (size_t)straddle_len);
		iov[n++] = (struct iovec){log->repl_buf, (size_t)straddle_len};
		if (straddle + straddle_len < to)
			iov[n++] =
			    (struct iovec){log->ring + ((straddle + straddle_len) & log->ring_mask),
			                   (size_t)(to - straddle - straddle_len)};
	}
	rc = log->cfg.replicate(log->cfg.replicate_ctx, iov, n, last_lsn);
	if (rc) {
		atomic_fetch_add_explicit(&log->st_repl_failures, 1, memory_order_relaxed);
		if (!atomic_load_explicit(&log->stop, memory_order_acquire)) {
			log->repl_failed = true;
			return rc < 0 ? rc : -EIO;
		}
		/* Closing: no STORED can follow any more; keep them locally. */
		msg_log_logf(log, MSG_LOG_LVL_ERR,
		             "closing: replication of %" PRIu64 " bytes failed (%s); kept in the "
		             "local log only",
		             to - from, strerror(rc < 0 ? -rc : EIO));
		return 0;
	}
	atomic_fetch_add_explicit(&log->st_repl_batches, 1, memory_order_relaxed);
	if (last_lsn)
		atomic_store_explicit(&log->st_repl_lsn, last_lsn, memory_order_relaxed);
	return 0;
}

/* Offer [tail, wpos) - now durable - to the replication hook; once accepted,
 * apply it to the index, then publish tail and durable_lsn. All of it lies in
 * the active segment. Fails only when the hook refuses (nothing applied). */
static int commit(struct msg_log *log)
{
	struct msg_seg *cur = msg_log_cur(log);
	uint64_t pos = atomic_load_explicit(&log->tail, memory_order_relaxed), max_lsn = 0, used;
	int rc = replicate(log, pos, log->wpos);

	if (rc)
		return rc;

	while (pos < log->wpos) {
		uint8_t hdr[MSG_LOG_HDR_LEN];
		uint64_t lsn;

		ring_get(log, pos, hdr, MSG_LOG_HDR_LEN);
		lsn = le64_get(hdr + MSG_LOG_OFF_LSN);
		if (hdr[MSG_LOG_OFF_TYPE] == MSG_LOG_REC_MSG) {
			/* Capacity was reserved before the write: cannot fail. */
			(void)msg_seg_add_msg(log, cur, lsn, le64_get(hdr + MSG_LOG_OFF_TS));
			max_lsn = lsn;
		} else {
			msg_log_apply_release(log, cur, lsn);
		}
		pos += msg_log_rec_len(le32_get(hdr + MSG_LOG_OFF_LENGTH));
	}
	log->bytes += log->w_off - cur->size;
	cur->size = cur->valid_end = log->w_off;
	/* The most the ring held: here, just before the space is freed, after the
	 * sync and the replication the lcore kept appending through (the writer
	 * alone stores it). */
	used = atomic_load_explicit(&log->head, memory_order_acquire) -
	       atomic_load_explicit(&log->tail, memory_order_relaxed);
	if (used > atomic_load_explicit(&log->st_ring_peak, memory_order_relaxed))
		atomic_store_explicit(&log->st_ring_peak, used, memory_order_relaxed);
	/* Counters first: a reader that sees the new durable_lsn sees them too. */
	msg_log_publish_stats(log);
	atomic_store_explicit(&log->tail, log->wpos, memory_order_release);
	if (max_lsn)
		atomic_store_explicit(&log->durable_lsn, max_lsn, memory_order_release);
	return 0;
}

static int sync_commit(struct msg_log *log);

/* Make [tail, wpos) durable as the policy defines it, then commit. */
static int settle(struct msg_log *log, bool force_sync)
{
	if (log->cfg.fsync == MSG_LOG_FSYNC_NONE && !force_sync)
		return commit(log);
	return sync_commit(log);
}

static int sync_commit(struct msg_log *log)
{
	if (log->wpos > atomic_load_explicit(&log->tail, memory_order_relaxed)) {
		msg_log_sync_fn fn = atomic_load_explicit(&log->sync_fn, memory_order_acquire);

		/* interval's period runs from the start of a sync, not its end: a
		 * sync that takes S no longer stretches the period to interval + S
		 * (every message then waited for the next sync that much later) */
		log->last_sync_us = msg_log_mono_us();
		if (fn ? fn(log->cur_fd) : fdatasync(log->cur_fd))
			return -errno;
		atomic_fetch_add_explicit(&log->st_syncs, 1, memory_order_relaxed);
	}
	return commit(log);
}

/* What failed in settle / sync_commit: the sync, or the replication hook. */
static const char *commit_what(struct msg_log *log)
{
	if (log->repl_failed) {
		log->repl_failed = false;
		return "replication";
	}
	return "fdatasync";
}

/* Undo everything not durable and enter (or stay in) the error state. */
static int writer_fail(struct msg_log *log, int rc, const char *what)
{
	struct msg_seg *cur = msg_log_cur(log);

	/* Always cut: a pwritev that failed half-way has extended the file even
	 * though w_off was not advanced. */
	if (log->cur_fd >= 0 && ftruncate(log->cur_fd, (off_t)cur->size))
		msg_log_logf(log, MSG_LOG_LVL_ERR, "cannot cut %s back to %" PRIu64 ": %s",
		             cur->name, cur->size, strerror(errno));
	log->w_off = log->w_alloc = cur->size;
	log->w_msgs = cur->msgs;
	log->wpos = atomic_load_explicit(&log->tail, memory_order_relaxed);
	atomic_fetch_add_explicit(&log->st_io_errors, 1, memory_order_relaxed);
	if (!atomic_load_explicit(&log->err, memory_order_relaxed)) {
		/* Log before publishing: whoever sees the error state finds the line. */
		msg_log_logf(log, MSG_LOG_LVL_ERR,
		             "%s failed in %s: %s; new messages refused, durable lsn stays %" PRIu64
		             " until it succeeds again",
		             what, cur->name, strerror(-rc),
		             atomic_load_explicit(&log->durable_lsn, memory_order_relaxed));
		atomic_store_explicit(&log->err, -rc, memory_order_release);
	}
	log->next_retry_ms = msg_log_mono_ms() + log->cfg.retry_ms;
	msg_log_publish_stats(log);
	return rc;
}

/*
 * Write what the producer published, apply the fsync policy, maintain.
 * Returns 1 if it did something, 0 if idle, < 0 on failure (error state set).
 */
static int writer_pass(struct msg_log *log, bool force_sync)
{
	uint64_t head = atomic_load_explicit(&log->head, memory_order_acquire), tail;
	int progress = 0, rc;

	while (log->wpos < head) {
		struct msg_seg *cur = msg_log_cur(log);
		bool rotate;
		uint64_t nmsgs, max_lsn = 0, end = prepare(log, head, &rotate, &nmsgs, &max_lsn);

		if (end > log->wpos) {
			/* Reserve index slots now so that commit cannot fail. */
			rc = max_lsn ? seg_grow(cur, max_lsn - cur->first_lsn + 1) : 0;
			if (rc)
				return writer_fail(log, rc, "index allocation");
			prealloc(log, log->w_off + (end - log->wpos));
			rc = write_range(log, end);
			if (rc)
				return writer_fail(log, rc, "write");
			log->w_msgs += nmsgs;
			progress = 1;
			/* none: durable once written; free the ring space right away so
			 * the producer refills it while the next chunk is written */
			if (log->cfg.fsync == MSG_LOG_FSYNC_NONE && !force_sync) {
				rc = commit(log);
				if (rc)
					return writer_fail(log, rc, commit_what(log));
			}
		}
		if (rotate) {
			rc = settle(log, force_sync);
			if (rc)
				return writer_fail(log, rc, commit_what(log));
			rc = seg_create(log, msg_log_cur(log)->last_lsn + 1);
			if (rc)
				return writer_fail(log, rc, "segment creation");
			log->gc_pending = true; /* the old segment may be all released */
			progress = 1;
		}
	}
	tail = atomic_load_explicit(&log->tail, memory_order_relaxed);
	if (log->wpos > tail) {
		bool sync = force_sync;

		switch (log->cfg.fsync) {
		case MSG_LOG_FSYNC_NONE:
			break;
		case MSG_LOG_FSYNC_ALWAYS:
			sync = true;
			break;
		case MSG_LOG_FSYNC_INTERVAL:
			sync = sync ||
			       msg_log_mono_us() - log->last_sync_us >=
			           (uint64_t)log->cfg.fsync_interval_ms * 1000u ||
			       log->wpos - tail >= log->ring_size / 2;
			break;
		}
		if (sync) {
			rc = sync_commit(log);
			if (rc)
				return writer_fail(log, rc, commit_what(log));
			progress = 1;
		} else if (log->cfg.fsync == MSG_LOG_FSYNC_NONE) {
			rc = commit(log);
			if (rc)
				return writer_fail(log, rc, commit_what(log));
			progress = 1;
		}
		/* interval, not due yet: not progress, so the writer sleeps */
	}
	if (log->wpos == atomic_load_explicit(&log->tail, memory_order_relaxed) &&
	    (log->gc_pending || (log->cfg.max_bytes && log->bytes > log->cfg.max_bytes))) {
		rc = msg_log_maintain(log, NULL);
		if (rc)
			return writer_fail(log, rc, "segment cleanup");
	}
	if (progress)
		msg_log_publish_stats(log);
	return progress;
}

void msg_log_test_sync_hook(struct msg_log *log, msg_log_sync_fn fn)
{
	atomic_store_explicit(&log->sync_fn, fn, memory_order_release);
}

/* In the error state with nothing to write: is there space again? */
static int probe_space(struct msg_log *log)
{
	int rc;

	memset(log->carry_buf, 0, 4096);
	rc = full_pwrite(log->cur_fd, log->carry_buf, 4096, log->w_off);
	if (ftruncate(log->cur_fd, (off_t)log->w_off) && !rc)
		rc = -errno;
	log->w_alloc = log->w_off;
	return rc;
}

static int writer_retry(struct msg_log *log)
{
	uint64_t head = atomic_load_explicit(&log->head, memory_order_acquire);
	int rc;

	if (head == atomic_load_explicit(&log->tail, memory_order_relaxed) && !log->gc_pending) {
		rc = probe_space(log);
		if (rc) {
			atomic_fetch_add_explicit(&log->st_io_errors, 1, memory_order_relaxed);
			log->next_retry_ms = msg_log_mono_ms() + log->cfg.retry_ms;
			return rc;
		}
	} else {
		rc = writer_pass(log, true);
		if (rc < 0)
			return rc;
	}
	msg_log_logf(log, MSG_LOG_LVL_INFO, "writes succeed again; durable lsn %" PRIu64,
	             atomic_load_explicit(&log->durable_lsn, memory_order_relaxed));
	atomic_store_explicit(&log->err, 0, memory_order_release);
	log->prealloc_off = false; /* there is space again */
	return 0;
}

static void housekeeping(struct msg_log *log)
{
	msg_log_expire_age(log, msg_log_realtime_ms());
	if (log->wpos == atomic_load_explicit(&log->tail, memory_order_relaxed) &&
	    log->gc_pending && !atomic_load_explicit(&log->err, memory_order_relaxed)) {
		int rc = msg_log_maintain(log, NULL);

		if (rc)
			writer_fail(log, rc, "segment cleanup");
	}
	atomic_store_explicit(&log->st_oldest, oldest_live(log), memory_order_relaxed);
	msg_log_publish_stats(log);
}

static void sleep_us(uint64_t us)
{
	struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};

	nanosleep(&ts, NULL);
}

void *msg_log_writer_main(void *arg)
{
	struct msg_log *log = arg;

	/* The producer cannot wake us (no syscalls on its side): poll, and ask the
	 * kernel for precise sleeps so the idle period is what idle_us says. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	pthread_setname_np(pthread_self(), "sga-msgstore");
	for (;;) {
		bool stopping = atomic_load_explicit(&log->stop, memory_order_acquire);
		uint64_t now = msg_log_mono_ms();
		int rc;

		if (atomic_load_explicit(&log->err, memory_order_relaxed)) {
			if (!stopping && now < log->next_retry_ms) {
				sleep_us(log->cfg.idle_us > 1000 ? log->cfg.idle_us : 1000);
				continue;
			}
			if (writer_retry(log) < 0) {
				if (stopping)
					break;
				continue;
			}
		}
		rc = writer_pass(log, stopping);
		if (rc < 0)
			continue;
		if (now >= log->next_hk_ms) {
			housekeeping(log);
			log->next_hk_ms = now + MSG_LOG_HK_MS;
		}
		if (stopping) {
			if (log->wpos == atomic_load_explicit(&log->tail, memory_order_relaxed) &&
			    atomic_load_explicit(&log->head, memory_order_acquire) == log->wpos)
				break;
			continue;
		}
		if (!rc)
			sleep_us(log->cfg.idle_us);
	}
	uint64_t head = atomic_load_explicit(&log->head, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&log->tail, memory_order_relaxed);

	/* Clean shutdown: durable whatever the policy; no zero-filled tail left. */
	if (log->w_alloc > log->w_off && !ftruncate(log->cur_fd, (off_t)log->w_off))
		log->w_alloc = log->w_off;
	if (!atomic_load_explicit(&log->err, memory_order_relaxed) && fdatasync(log->cur_fd))
		msg_log_logf(log, MSG_LOG_LVL_ERR, "final fdatasync of %s: %s",
		             msg_log_cur(log)->name, strerror(errno));
	if (head != tail)
		msg_log_logf(
		    log, MSG_LOG_LVL_ERR,
		    "closing with %" PRIu64 " bytes never written (%s); lsns above %" PRIu64
		    " were never reported durable",
		    head - tail, strerror(atomic_load_explicit(&log->err, memory_order_relaxed)),
		    atomic_load_explicit(&log->durable_lsn, memory_order_relaxed));
	atomic_store_explicit(&log->st_oldest, oldest_live(log), memory_order_relaxed);
	msg_log_publish_stats(log);
	return NULL;
}
