/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * msg_log.c - the message store's public face: open (configuration, directory
 * lock, recovery, writer start), close, the producer's hot-path calls and the
 * statistics.
 *
 * The producer side is deliberately tiny: msg_log_append/msg_log_release build a
 * 48-byte header on the stack and copy header + payload + padding into the ring
 * at `head`, then publish with one release store. The only shared reads are a
 * relaxed load of the error state and, when the cached tail says the ring is
 * full, an acquire load of `tail`. No syscall, allocation, lock or CRC (the
 * writer computes the CRC). Verified two ways: test_msg_log.c
 * "hot_path_makes_no_syscall" runs 50,000 appends (and releases) on a thread
 * whose every syscall traps through a seccomp filter - zero traps; and the only
 * calls in the compiled msg_log_append/msg_log_release are memcpy (and
 * __stack_chk_fail): `objdump -dr msg_log.c.o`.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "msg_log_priv.h"

#define DEF_RING     (4u << 20)
#define DEF_SEGMENT  (64ull << 20)
#define DEF_INTERVAL 10u
#define DEF_IDLE_US  50u
#define DEF_RETRY_MS 200u
#define MIN_RING     4096u
#define MAX_RING     (1ull << 32)
#define MIN_SEGMENT  4096u
#define LOCK_FILE    "LOCK"

static const uint8_t zero_pad[8];

uint64_t msg_log_realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t msg_log_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t msg_log_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void default_log(void *ctx, enum msg_log_level lvl, const char *msg)
{
	static const char *const names[] = {"info", "warn", "error"};

	fprintf(stderr, "msgstore %s: %s: %s\n", (const char *)ctx, names[lvl], msg);
}

void msg_log_logf(const struct msg_log *log, enum msg_log_level lvl, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (log->cfg.log_fn)
		log->cfg.log_fn(log->cfg.log_ctx, lvl, buf);
	else
		default_log(log->dir, lvl, buf);
}

/* ------------------------------------------------------------------ producer */

/* Single-owner counter: a plain load and store (no locked RMW on the hot path). */
static inline void ctr_inc(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
	                      memory_order_relaxed);
}

static inline void ring_put(struct msg_log *log, uint64_t pos, const void *src, size_t n)
{
	size_t off = (size_t)(pos & log->ring_mask);
	size_t first = (size_t)log->ring_size - off;

	if (likely(n <= first)) {
		memcpy(log->ring + off, src, n);
	} else {
		memcpy(log->ring + off, src, first);
		memcpy(log->ring, (const uint8_t *)src + first, n - first);
	}
}

/* Room for `need` bytes at head? Reloads tail only when the cached copy says no. */
static inline bool ring_room(struct msg_log *log, uint64_t head, uint64_t need)
{
	if (likely(head + need - log->tail_cache <= log->ring_size))
		return true;
	log->tail_cache = atomic_load_explicit(&log->tail, memory_order_acquire);
	return head + need - log->tail_cache <= log->ring_size;
}

int msg_log_append(struct msg_log *log, const struct msg_rec *meta, const void *payload, size_t len,
                   uint64_t *lsn)
{
	uint8_t hdr[MSG_LOG_HDR_LEN];
	uint64_t head, rl;

	if (unlikely(len > MSG_LOG_MAX_PAYLOAD || (!payload && len) || !meta))
		return -EINVAL;
	if (unlikely(atomic_load_explicit(&log->err, memory_order_relaxed))) {
		ctr_inc(&log->refused_error);
		return -EIO;
	}
	rl = msg_log_rec_len(len);
	head = atomic_load_explicit(&log->head, memory_order_relaxed); /* own variable */
	if (unlikely(!ring_room(log, head, rl))) {
		ctr_inc(&log->refused_full);
		return -ENOSPC;
	}
	msg_log_hdr_build(hdr, MSG_LOG_REC_MSG, meta->flags, meta->role, log->next_lsn,
	                  meta->timestamp_ms, meta->session_id, meta->e2e_seq, (uint32_t)len);
	ring_put(log, head, hdr, MSG_LOG_HDR_LEN);
	if (len)
		ring_put(log, head + MSG_LOG_HDR_LEN, payload, len);
	if (rl - MSG_LOG_HDR_LEN - len)
		ring_put(log, head + MSG_LOG_HDR_LEN + len, zero_pad, rl - MSG_LOG_HDR_LEN - len);
	atomic_store_explicit(&log->head, head + rl, memory_order_release);
	if (lsn)
		*lsn = log->next_lsn;
	atomic_store_explicit(&log->last_lsn, log->next_lsn, memory_order_relaxed);
	log->next_lsn++;
	ctr_inc(&log->appended);
	return 0;
}

int msg_log_release(struct msg_log *log, uint64_t lsn)
{
	return msg_log_release_key(log, lsn, 0, 0, 0);
}

int msg_log_release_key(struct msg_log *log, uint64_t lsn, uint64_t session_id, uint8_t role,
                        uint64_t e2e_seq)
{
	uint8_t hdr[MSG_LOG_HDR_LEN];
	uint64_t head;

	if (unlikely(lsn == 0 || lsn >= log->next_lsn))
		return -EINVAL;
	head = atomic_load_explicit(&log->head, memory_order_relaxed);
	if (unlikely(!ring_room(log, head, MSG_LOG_HDR_LEN))) {
		ctr_inc(&log->refused_full);
		return -ENOSPC;
	}
	msg_log_hdr_build(hdr, MSG_LOG_REC_RELEASE, 0, role, lsn, 0, session_id, e2e_seq, 0);
	ring_put(log, head, hdr, MSG_LOG_HDR_LEN);
	atomic_store_explicit(&log->head, head + MSG_LOG_HDR_LEN, memory_order_release);
	ctr_inc(&log->releases);
	return 0;
}

uint64_t msg_log_durable_lsn(const struct msg_log *log)
{
	return atomic_load_explicit(&((struct msg_log *)log)->durable_lsn, memory_order_acquire);
}

int msg_log_error(const struct msg_log *log)
{
	return atomic_load_explicit(&((struct msg_log *)log)->err, memory_order_acquire);
}

/* ------------------------------------------------------------- control side */

int msg_log_wait_durable(const struct msg_log *log, uint64_t lsn, uint32_t timeout_ms)
{
	uint64_t deadline = msg_log_mono_ms() + timeout_ms;
	struct timespec ts = {0, 200 * 1000};

	while (msg_log_durable_lsn(log) < lsn) {
		if (msg_log_mono_ms() >= deadline)
			return -ETIMEDOUT;
		nanosleep(&ts, NULL);
	}
	return 0;
}

#define LD(x) atomic_load_explicit(&((struct msg_log *)log)->x, memory_order_relaxed)

void msg_log_stats(const struct msg_log *log, struct msg_log_stats *st)
{
	uint64_t head = LD(head), tail = LD(tail);

	memset(st, 0, sizeof(*st));
	st->appended = LD(appended);
	st->releases = LD(releases);
	st->refused_full = LD(refused_full);
	st->refused_error = LD(refused_error);
	st->last_lsn = LD(last_lsn);
	st->durable_lsn = msg_log_durable_lsn(log);
	st->released = LD(st_released);
	st->release_ignored = LD(st_release_ignored);
	st->expired_age = LD(st_expired_age);
	st->expired_size = LD(st_expired_size);
	st->live = LD(st_live);
	st->oldest_live_ms = LD(st_oldest);
	st->bytes_on_disk = LD(st_bytes);
	st->segments = LD(st_segments);
	st->corrupt_segments = LD(st_corrupt);
	st->batches = LD(st_batches);
	st->syncs = LD(st_syncs);
	st->prealloc_bytes = LD(st_prealloc);
	st->carried = LD(st_carried);
	st->io_errors = LD(st_io_errors);
	st->replicated = LD(st_repl_batches);
	st->replicate_failures = LD(st_repl_failures);
	st->replicated_lsn = LD(st_repl_lsn);
	st->ring_used = head >= tail ? head - tail : 0;
	st->ring_size = log->ring_size;
	st->ring_peak = LD(st_ring_peak);
	st->error = msg_log_error(log);
	if (st->error) {
		char buf[64];
		const char *s = strerror_r(st->error, buf, sizeof(buf));

		snprintf(st->error_text, sizeof(st->error_text), "%s", s);
	}
}

#undef LD

const char *msg_log_fsync_name(enum msg_log_fsync policy)
{
	switch (policy) {
	case MSG_LOG_FSYNC_NONE:
		return "none";
	case MSG_LOG_FSYNC_INTERVAL:
		return "interval";
	case MSG_LOG_FSYNC_ALWAYS:
		return "always";
	}
	return "?";
}

int msg_log_fsync_parse(const char *s, enum msg_log_fsync *policy)
{
	static const enum msg_log_fsync all[] = {MSG_LOG_FSYNC_NONE, MSG_LOG_FSYNC_INTERVAL,
	                                         MSG_LOG_FSYNC_ALWAYS};

	for (size_t i = 0; s && i < sizeof(all) / sizeof(all[0]); i++) {
		if (!strcmp(s, msg_log_fsync_name(all[i]))) {
			*policy = all[i];
			return 0;
		}
	}
	return -EINVAL;
}

static int config_apply(struct msg_log_config *c, const struct msg_log_config *in)
{
	*c = *in;
	if (!c->dir || !c->dir[0])
		return -EINVAL;
	if (c->fsync != MSG_LOG_FSYNC_NONE && c->fsync != MSG_LOG_FSYNC_INTERVAL &&
	    c->fsync != MSG_LOG_FSYNC_ALWAYS)
		return -EINVAL;
	if (!c->fsync_interval_ms)
		c->fsync_interval_ms = DEF_INTERVAL;
	if (!c->ring_bytes)
		c->ring_bytes = DEF_RING;
	if (!c->segment_bytes)
		c->segment_bytes = DEF_SEGMENT;
	if (!c->idle_us)
		c->idle_us = DEF_IDLE_US;
	if (!c->retry_ms)
		c->retry_ms = DEF_RETRY_MS;
	if (c->ring_bytes < MIN_RING || c->ring_bytes > MAX_RING ||
	    (c->ring_bytes & (c->ring_bytes - 1)))
		return -EINVAL;
	if (c->segment_bytes < MIN_SEGMENT)
		return -EINVAL;
	if (c->max_bytes && c->max_bytes < 2 * c->segment_bytes)
		return -EINVAL;
	return 0;
}

static void log_free(struct msg_log *log)
{
	for (size_t i = 0; i < log->n_segs; i++)
		msg_seg_free(log->segs[i]);
	free(log->segs);
	if (log->cur_fd >= 0)
		close(log->cur_fd);
	if (log->lockfd >= 0)
		close(log->lockfd); /* releases the flock */
	if (log->dirfd >= 0)
		close(log->dirfd);
	free(log->carry_buf);
	free(log->ring);
	free(log->dir);
	free(log);
}

static int open_dir(struct msg_log *log)
{
	if (mkdir(log->dir, 0700) && errno != EEXIST) {
		int rc = -errno;

		msg_log_logf(log, MSG_LOG_LVL_ERR, "cannot create directory %s: %s", log->dir,
		             strerror(-rc));
		return rc;
	}
	log->dirfd = open(log->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (log->dirfd < 0) {
		int rc = -errno;

		msg_log_logf(log, MSG_LOG_LVL_ERR, "cannot open directory %s: %s", log->dir,
		             strerror(-rc));
		return rc;
	}
	/* Creating LOCK also proves the directory is writable. */
	log->lockfd = openat(log->dirfd, LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (log->lockfd < 0) {
		int rc = -errno;

		msg_log_logf(log, MSG_LOG_LVL_ERR, "cannot create %s/%s: %s", log->dir, LOCK_FILE,
		             strerror(-rc));
		return rc;
	}
	if (flock(log->lockfd, LOCK_EX | LOCK_NB)) {
		int rc = errno == EWOULDBLOCK ? -EBUSY : -errno;

		msg_log_logf(log, MSG_LOG_LVL_ERR, "%s is in use by another log handle: %s",
		             log->dir, strerror(-rc));
		return rc;
	}
	return 0;
}

struct msg_log *msg_log_open(const struct msg_log_config *cfg, msg_log_recover_fn recover,
                             void *ctx, struct msg_log_recovery *rep)
{
	struct msg_log_recovery local;
	struct msg_log *log = NULL;
	uint32_t deleted = 0;
	int rc;

	if (!rep)
		rep = &local;
	memset(rep, 0, sizeof(*rep));
	if (!cfg) {
		errno = EINVAL;
		return NULL;
	}
	log = aligned_alloc(MSG_LOG_CACHE_LINE, (sizeof(*log) + MSG_LOG_CACHE_LINE - 1) &
	                                            ~(size_t)(MSG_LOG_CACHE_LINE - 1));
	if (!log) {
		errno = ENOMEM;
		return NULL;
	}
	memset(log, 0, sizeof(*log));
	log->dirfd = log->lockfd = log->cur_fd = -1;
	rc = config_apply(&log->cfg, cfg);
	if (rc)
		goto err;
	log->dir = strdup(cfg->dir);
	log->cfg.dir = log->dir;
	log->ring_size = log->cfg.ring_bytes;
	log->ring_mask = log->ring_size - 1;
	/* Several chunks per ring: the producer refills freed space while the
	 * writer copies the next chunk (none), and a batch is never one huge copy. */
	log->chunk_max = log->ring_size / 4 < (1u << 20) ? log->ring_size / 4 : (1u << 20);
	log->ring = aligned_alloc(4096, (size_t)log->ring_size);
	log->carry_buf = malloc(MSG_LOG_CARRY_BUF);
	if (!log->dir || !log->ring || !log->carry_buf) {
		rc = -ENOMEM;
		goto err;
	}
	/* Touch every page now so the producer never takes a page fault. */
	memset(log->ring, 0, (size_t)log->ring_size);

	rc = open_dir(log);
	if (rc)
		goto err;
	rc = msg_log_recover(log, rep);
	if (rc)
		goto err;
	/* Retention and GC before replay, so nothing expired is handed out. */
	rep->expired_age = msg_log_expire_age(log, msg_log_realtime_ms());
	rc = msg_log_maintain(log, &deleted);
	if (rc) {
		/* e.g. no space to carry releases forward: not a reason to refuse
		 * service; the writer retries the clean-up later */
		msg_log_logf(log, MSG_LOG_LVL_WARN,
		             "segment clean-up at start-up: %s; retried later", strerror(-rc));
		log->gc_pending = true;
	}
	rep->segments_deleted = deleted;
	rep->expired_size = log->expired_size;
	rc = msg_log_replay_live(log, recover, ctx, rep);
	if (rc)
		goto err;
	rep->next_lsn = log->next_lsn;

	msg_log_publish_stats(log);
	msg_log_logf(log, MSG_LOG_LVL_INFO,
	             "recovered %u segments: %llu records, %llu pending messages, %llu released, "
	             "%llu expired, %llu bytes cut, %u corrupt segments; next lsn %llu; fsync %s",
	             rep->segments, (unsigned long long)rep->records, (unsigned long long)rep->live,
	             (unsigned long long)rep->released,
	             (unsigned long long)(rep->expired_age + rep->expired_size),
	             (unsigned long long)rep->bytes_cut, rep->corrupt_segments,
	             (unsigned long long)log->next_lsn, msg_log_fsync_name(log->cfg.fsync));

	log->next_hk_ms = msg_log_mono_ms();
	log->last_sync_us = msg_log_mono_us();
	{
		pthread_attr_t attr;

		rc = -pthread_attr_init(&attr);
		if (rc)
			goto err;
		if (cfg->writer_cpus && CPU_COUNT(cfg->writer_cpus) > 0)
			rc = -pthread_attr_setaffinity_np(&attr, sizeof(cpu_set_t),
			                                  cfg->writer_cpus);
		if (!rc)
			rc = -pthread_create(&log->writer, &attr, msg_log_writer_main, log);
		pthread_attr_destroy(&attr);
		if (rc) {
			msg_log_logf(log, MSG_LOG_LVL_ERR, "cannot start the writer thread: %s",
			             strerror(-rc));
			goto err;
		}
	}
	log->writer_started = true;
	return log;
err:
	log_free(log);
	errno = -rc;
	return NULL;
}

void msg_log_close(struct msg_log *log)
{
	if (!log)
		return;
	if (log->writer_started) {
		atomic_store_explicit(&log->stop, 1, memory_order_release);
		pthread_join(log->writer, NULL);
	}
	log_free(log);
}
