/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * msg_log_priv.h - the message store's private state: the producer/writer ring,
 * the per-segment pending index, and the functions shared by msg_log.c (open,
 * close, producer API), msg_log_writer.c (writer thread, commit, retention, GC)
 * and msg_log_recover.c (start-up scan).
 *
 * Ring positions are byte counters that only grow (index = pos & ring_mask):
 *   tail <= wpos <= head
 *   [tail, wpos)  written to the active segment, not yet durable (writer only)
 *   [wpos, head)  published by the producer, not yet written
 *   [head, tail + ring_size)  free for the producer
 * head is written by the producer (release) and read by the writer (acquire);
 * tail is written by the writer (release) once [.., tail) is durable and read by
 * the producer (acquire) only when its cached copy says the ring is full. The
 * bytes in [tail, wpos) always lie in the active segment at file offsets
 * [cur->size, w_off): every rotation commits first. That is what lets a failure
 * be undone with one ftruncate(cur->size) and a rewrite from tail.
 *
 * The per-segment index has one slot per lsn in [first_lsn, first_lsn + cap):
 * a "live" bit and the message timestamp. It reflects durable state only
 * (commit applies records when they become durable), so a write that must be
 * redone never applies a record twice.
 */
#ifndef SGA_MSG_LOG_PRIV_H
#define SGA_MSG_LOG_PRIV_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "msg_log.h"

#define MSG_LOG_CACHE_LINE 64
#define MSG_LOG_HK_MS      100 /* housekeeping period: age retention, oldest-live stat */

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Test hook: called instead of fdatasync(fd) for the sync that commits a batch. */
typedef int (*msg_log_sync_fn)(int fd);

/* One segment file and its slice of the pending index. Writer-owned. */
struct msg_seg {
	uint64_t first_lsn;   /* from the file name; all MSG lsns in it are >= */
	uint64_t last_lsn;    /* highest durable MSG lsn in it, 0: none */
	uint64_t size;        /* durable bytes (corrupt segment: the file size) */
	uint64_t valid_end;   /* end of the last valid record (== size unless corrupt) */
	uint64_t msgs;        /* durable MSG records */
	uint64_t live;        /* of which neither released nor expired */
	uint64_t pins;        /* RELEASEs in it that name a MSG of an older segment */
	uint64_t cap;         /* slots in live_bits / ts */
	uint64_t scan_from;   /* slots below hold no live MSG */
	uint64_t min_live_ts; /* lower bound of live timestamps, UINT64_MAX: none */
	uint64_t *live_bits;
	uint64_t *ts;
	bool corrupt; /* bad record in an older segment: kept for the operator */
	bool keep;    /* could not be unlinked: no longer a deletion candidate */
	char name[32];
};

struct msg_log {
	/* Producer cache line(s): written only by the producer thread. */
	_Alignas(MSG_LOG_CACHE_LINE) _Atomic uint64_t head;
	uint64_t tail_cache; /* last tail the producer loaded */
	uint64_t next_lsn;   /* lsn of the next MSG */
	_Atomic uint64_t appended, releases, refused_full, refused_error, last_lsn;

	/* Writer-published, read by the producer and by stats readers. */
	_Alignas(MSG_LOG_CACHE_LINE) _Atomic uint64_t tail;
	_Atomic uint64_t durable_lsn;
	_Atomic int err; /* 0 or errno: the error state */
	_Atomic int stop;

	/* Writer-published statistics (relaxed stores by the writer). */
	_Alignas(MSG_LOG_CACHE_LINE) _Atomic uint64_t st_released, st_release_ignored,
	    st_expired_age, st_expired_size, st_live, st_oldest, st_bytes, st_batches, st_syncs,
	    st_carried, st_io_errors, st_prealloc, st_repl_batches, st_repl_failures, st_repl_lsn,
	    st_ring_peak;
	_Atomic uint32_t st_segments, st_corrupt;

	/* Immutable after open. */
	_Alignas(MSG_LOG_CACHE_LINE) uint8_t *ring;
	uint64_t ring_size, ring_mask;
	struct msg_log_config cfg;
	char *dir; /* owned copy of cfg.dir */
	int dirfd, lockfd;
	pthread_t writer;
	bool writer_started;

	/* Writer-private (msg_log_open's thread before the writer starts). */
	uint64_t wpos;
	uint64_t chunk_max; /* bytes per pwritev: ring/4, at most 1 MiB */
	uint64_t w_off;     /* write offset in the active segment */
	uint64_t w_alloc;   /* active segment file size: [w_off, w_alloc) zero-filled */
	bool prealloc_off;  /* zero-filling failed (disk nearly full): extend instead */
	uint64_t w_msgs;    /* MSGs written to the active segment (durable or not) */
	int cur_fd;         /* active segment = segs[n_segs - 1] */
	struct msg_seg **segs;
	size_t n_segs, cap_segs;
	uint64_t live;         /* sum of seg->live */
	uint64_t bytes;        /* sum of seg->size */
	uint64_t last_sync_us; /* when the last commit sync began (interval's period) */
	uint64_t next_retry_ms, next_hk_ms;
	uint32_t n_corrupt; /* corrupt segments (never deleted, so fixed after open) */
	bool gc_pending;    /* a non-active segment may have become deletable */
	bool size_warned;   /* size limit unreachable: warned once */
	uint64_t released, release_ignored, expired_age, expired_size, carried;
	uint8_t *carry_buf;               /* MSG_LOG_CARRY_BUF bytes for carried-forward RELEASEs */
	_Atomic(msg_log_sync_fn) sync_fn; /* NULL: fdatasync (tests: a hook) */
	bool repl_failed;                 /* the last failure was the replication hook's */
	uint8_t repl_buf[MSG_LOG_MAX_REC]; /* a record straddling the ring's wrap point */
};

#define MSG_LOG_CARRY_BUF (64 * 1024)
#define MSG_LOG_PREALLOC  (4u << 20) /* zero-filled ahead of the writer (interval, always) */

static inline struct msg_seg *msg_log_cur(const struct msg_log *log)
{
	return log->segs[log->n_segs - 1];
}

/* Little-endian field access in a record header buffer. */
static inline uint32_t le32_get(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t le64_get(const uint8_t *p)
{
	return (uint64_t)le32_get(p) | (uint64_t)le32_get(p + 4) << 32;
}

static inline void le32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void le64_put(uint8_t *p, uint64_t v)
{
	le32_put(p, (uint32_t)v);
	le32_put(p + 4, (uint32_t)(v >> 32));
}

/* A record header with crc 0 (the writer computes it). */
static inline void msg_log_hdr_build(uint8_t hdr[MSG_LOG_HDR_LEN], uint8_t type, uint8_t flags,
                                     uint8_t role, uint64_t lsn, uint64_t ts, uint64_t session,
                                     uint64_t e2e_seq, uint32_t len)
{
	le32_put(hdr + MSG_LOG_OFF_MAGIC, MSG_LOG_MAGIC);
	le32_put(hdr + MSG_LOG_OFF_LENGTH, len);
	le32_put(hdr + MSG_LOG_OFF_CRC, 0); /* the writer fills it in */
	hdr[MSG_LOG_OFF_TYPE] = type;
	hdr[MSG_LOG_OFF_FLAGS] = flags;
	hdr[MSG_LOG_OFF_ROLE] = role;
	hdr[MSG_LOG_OFF_VERSION] = MSG_LOG_VERSION;
	le64_put(hdr + MSG_LOG_OFF_LSN, lsn);
	le64_put(hdr + MSG_LOG_OFF_TS, ts);
	le64_put(hdr + MSG_LOG_OFF_SESSION, session);
	le64_put(hdr + MSG_LOG_OFF_E2E_SEQ, e2e_seq);
}

/* msg_log.c */
void msg_log_logf(const struct msg_log *log, enum msg_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
uint64_t msg_log_realtime_ms(void);
uint64_t msg_log_mono_ms(void);
uint64_t msg_log_mono_us(void);

/* msg_log_writer.c */
struct msg_seg *msg_seg_new(const char *name, uint64_t first_lsn);
void msg_seg_free(struct msg_seg *s);
int msg_log_segs_push(struct msg_log *log, struct msg_seg *s);
struct msg_seg *msg_log_find_seg(const struct msg_log *log, uint64_t lsn, size_t *idx);
int msg_seg_add_msg(struct msg_log *log, struct msg_seg *s, uint64_t lsn, uint64_t ts);
void msg_log_apply_release(struct msg_log *log, struct msg_seg *holder, uint64_t target);
uint64_t msg_log_expire_age(struct msg_log *log, uint64_t now_ms);
int msg_log_maintain(struct msg_log *log, uint32_t *deleted);
int msg_log_create_first_seg(struct msg_log *log, uint64_t first_lsn);
void msg_log_publish_stats(struct msg_log *log);
void *msg_log_writer_main(void *arg);
/* Tests only: replace the commit sync (NULL: fdatasync again). */
void msg_log_test_sync_hook(struct msg_log *log, msg_log_sync_fn fn);

/* msg_log_recover.c */
int msg_log_recover(struct msg_log *log, struct msg_log_recovery *rep);
int msg_log_replay_live(struct msg_log *log, msg_log_recover_fn cb, void *ctx,
                        struct msg_log_recovery *rep);

#endif /* SGA_MSG_LOG_PRIV_H */
