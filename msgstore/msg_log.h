/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * msg_log.h - the durable message store: one append-only log per data-plane
 * lcore, written without ever stalling that lcore.
 *
 * DESIGN.md "Store and forward": every relayed message is appended to a durable
 * log before its sender gets a STORED acknowledgement, and stays there until the
 * recipient acknowledges delivery or retention expires. This library is that log.
 * It has no DPDK dependency so that it can be unit-tested and crash-tested alone.
 *
 * Shape (and why):
 *   - One log per producer thread (one per data-plane lcore), one directory per
 *     log. No locks between lcores; each log's file offsets are private.
 *   - The producer (the lcore) only copies the record into a preallocated
 *     single-producer/single-consumer byte ring, in its final on-disk layout, and
 *     publishes it with a release store: no syscall, no malloc, no lock, no CRC.
 *     The ring is pre-faulted at open, so the lcore takes no page fault either.
 *   - One writer thread per log drains the ring: it stamps missing timestamps,
 *     computes the CRC-32C (moving that cost off the lcore), and writes everything
 *     that accumulated since its last pass straight from the ring - pwritev of
 *     up to min(ring/4, 1 MiB) each, at most two iovecs (the ring's wrap point) -
 *     followed by one fdatasync per pass under `always`. That is the group
 *     commit: the longer an fdatasync takes, the larger the next batch. The fsync
 *     policy decides when a batch is durable and msg_log_durable_lsn() advances
 *     (release store). One writer per log rather than one for all: logs share
 *     nothing, and the measured cost is the kernel copy and fdatasync, not the
 *     thread (bench_store: ~0.6-0.7 of a dd conv=fdatasync of the same bytes
 *     under always/interval on this host's ext4).
 *   - Under interval and always the writer zero-fills the active segment
 *     MSG_LOG_PREALLOC (4 MiB) ahead of itself and syncs that once, so that a
 *     batch overwrites allocated blocks of a file whose size does not change
 *     and its fdatasync flushes data only. Extending the file instead makes
 *     every fdatasync commit the file system's journal (ext4: jbd2, then a
 *     cache flush), and on a busy machine the journal thread waits for CPU: a
 *     14 KiB batch appended and synced from a busy core took 13.6 ms median
 *     (p90 280 ms) on this VM's ext4, overwritten in place 0.17 ms; bench_store's
 *     always latency went from p50 0.59 / p99 7.6 ms to 0.19 / 2.8 ms. The
 *     log's bytes are written twice (zeros, then records); a rotated or closed
 *     segment is cut back to its records; recovery takes zeros up to a
 *     segment's end as its clean end.
 *     Open: in the gateway under bench_relay (both cores busy) a batch's
 *     fdatasync still takes ~8 ms (0.12 ms for a probe process syncing on the
 *     same file system at the same time): the writer sleeps ~7.5 ms in one of
 *     the ~3 I/O waits of each fdatasync, woken by the disk interrupt (its own
 *     wake-up latency is ~10 us). A STORED ack waits for the sync in flight,
 *     then for its own: 15 ms there, the rate a window of 256 allows 16 k/s.
 *   - The ring keeps every byte until it is durable, so a failed write or a
 *     failed fdatasync (disk full, EIO) is handled by cutting the segment back to
 *     the last durable record boundary (ftruncate) and writing the same bytes
 *     again later: nothing durable is touched, nothing is lost or duplicated, and
 *     after a failed fdatasync the possibly-dropped dirty pages are rewritten
 *     rather than trusted ("fsyncgate").
 *   - The producer never makes a syscall, so the writer polls: it sleeps
 *     `idle_us` when the ring is empty (timer slack set to 1 us). That poll
 *     period bounds the extra STORED-ack latency under the none policy.
 *
 * Durability point per policy (what msg_log_durable_lsn() promises):
 *   MSG_LOG_FSYNC_NONE     the record was written to the page cache (write()
 *                          returned): survives kill -9 of the gateway, not a power cut.
 *   MSG_LOG_FSYNC_INTERVAL fdatasync'ed by the periodic sync, which starts
 *                          fsync_interval_ms after the previous one started
 *                          (at once when that one took longer), or earlier when
 *                          half of the ring holds written-but-unsynced bytes
 *                          (the ring must keep them until they are durable). A
 *                          message is acknowledged at the first sync that
 *                          starts after it was written: within interval + one
 *                          sync, whatever the number of senders (one sync
 *                          covers every message written before it).
 *   MSG_LOG_FSYNC_ALWAYS   fdatasync'ed right after the batch it was written in.
 * A new segment's directory entry is fsync'ed (interval, always) before any record
 * in it is reported durable.
 *
 * On-disk format. Directory `dir` holds `seg-<first lsn, 16 lower-case hex>.log`
 * segment files (and a `LOCK` file held with flock while the log is open). A
 * segment is a sequence of records, each a multiple of 8 bytes, all integers
 * little-endian:
 *
 *   off len field
 *     0   4 magic        MSG_LOG_MAGIC (bytes "MSLG")
 *     4   4 length       payload bytes: MSG 0..MSG_LOG_MAX_PAYLOAD, RELEASE 0
 *     8   4 crc32c       CRC-32C (Castagnoli, reflected, init/xorout ~0) of bytes
 *                        [12, record length): rest of header + payload + padding
 *    12   1 type         MSG_LOG_REC_MSG (1) or MSG_LOG_REC_RELEASE (2)
 *    13   1 flags        MSG: the caller's flags, opaque here; RELEASE: bit 0 =
 *                        carried forward by segment garbage collection
 *    14   1 role         MSG: recipient role; RELEASE: the released MSG's
 *                        (msg_log_release_key), else 0
 *    15   1 version      MSG_LOG_VERSION (1)
 *    16   8 lsn          MSG: its log sequence number; RELEASE: the lsn released
 *    24   8 timestamp_ms CLOCK_REALTIME milliseconds (append or release time)
 *    32   8 session_id   MSG: the session; RELEASE: the released MSG's
 *                        (msg_log_release_key), else 0
 *    40   8 e2e_seq      MSG: the E2E sequence number; RELEASE: as session_id
 *                        (recovery reads neither in a RELEASE: it cancels by lsn)
 *    48   n payload      the opaque E2E ciphertext
 *  48+n   p padding      zero bytes up to the next multiple of 8 (p < 8)
 *
 * The fields of the suggested layout are reordered so that every field is
 * naturally aligned and the header is exactly six 8-byte words; a version byte is
 * added. MSG lsns start at 1 and increase by one per appended message; a RELEASE
 * does not consume an lsn (it names its target), which lets the writer re-emit
 * ("carry forward") releases without touching the lsn sequence. A segment's
 * name is a lower bound of the MSG lsns in it and above all lsns in older
 * segments. A segment only rotates after it holds at least one MSG, so names are
 * unique; a segment may exceed segment_bytes by RELEASE records only.
 *
 * A segment is deleted once every MSG in it is released or expired AND none of
 * its RELEASE records still cancels a MSG in an older segment that is still on
 * disk; if one does, those releases are first re-appended to the current segment
 * and made durable (carried forward), so deleting a segment never brings a
 * released message back. Age retention is applied at run time and again at
 * recovery from the record timestamps; size retention deletes whole segments,
 * oldest first. Either way each expired message is counted and logged.
 *
 * Replication (cfg.replicate, optional; the library stays free of any network
 * code). The writer offers every batch it committed locally to the hook, after
 * the durability point of the fsync policy and before durable_lsn advances past
 * it: the records' on-disk bytes, in ring order, MSG and RELEASE alike (a
 * RELEASE carried forward by segment GC is not offered: it re-emits one offered
 * before). STORED then means "durable locally and accepted by the hook". A hook
 * that fails is a failure of the batch, handled as a failed fdatasync: the
 * segment is cut back to the last committed record, the error state begins
 * (appends get -EIO, releases are queued), and every retry_ms the same bytes are
 * written, synced and offered again until the hook accepts them. So a hook sees
 * a record at least once, and exactly once when it never fails. At close a
 * batch the hook refuses is still committed to the local log (no STORED can
 * follow: the producer has stopped) and logged.
 *
 * Threads: exactly one producer thread per log calls msg_log_append and
 * msg_log_release; msg_log_durable_lsn, msg_log_error and msg_log_stats may be
 * called from any thread; msg_log_open/close from a control thread while no
 * producer runs. The writer thread is internal.
 *
 * Memory: the ring (ring_bytes) plus, per segment on disk, 8 bytes + 1 bit per
 * MSG slot for the pending index (timestamps for age retention).
 *
 * CRC-32C: msg_crc32c.h - SSE4.2 crc32 instruction when the CPU has it (checked
 * once at run time), otherwise slicing-by-8 tables.
 *
 * Data-plane use, per lcore and burst (no blocking anywhere):
 *   rc = msg_log_append(log, &meta, ct, ct_len, &lsn);
 *     0       -> queue (lsn, sender) in the lcore's FIFO of pending STORED acks
 *     -ENOSPC -> the writer is behind: no STORED ack (count it; the sender retries)
 *     -EIO    -> the store is in its error state (msg_log_error() says why):
 *                no STORED ack, tell the sender storage failed
 *   d = msg_log_durable_lsn(log); pop the FIFO while its lsn <= d: send STORED.
 *   Recipient acknowledged delivery of lsn: msg_log_release(log, lsn).
 * Messages queued before an error state began stay pending and are acked if and
 * when they become durable (they are never dropped while the log is open).
 */
#ifndef SGA_MSG_LOG_H
#define SGA_MSG_LOG_H

#include <sched.h> /* cpu_set_t (_GNU_SOURCE) */
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h> /* struct iovec */

#define MSG_LOG_MUST_CHECK __attribute__((warn_unused_result))

/** One log; opaque (definition in msg_log_priv.h). */
struct msg_log;

enum {
	MSG_LOG_MAGIC = 0x474c534d, /* "MSLG" as little-endian bytes */
	MSG_LOG_VERSION = 1,
	MSG_LOG_HDR_LEN = 48,
	MSG_LOG_MAX_PAYLOAD = 1500,
	/* largest record on disk: header + payload rounded up to 8 */
	MSG_LOG_MAX_REC = MSG_LOG_HDR_LEN + ((MSG_LOG_MAX_PAYLOAD + 7) & ~7),
};

/* Header field offsets (for tools and tests that inspect segments). */
enum {
	MSG_LOG_OFF_MAGIC = 0,
	MSG_LOG_OFF_LENGTH = 4,
	MSG_LOG_OFF_CRC = 8,
	MSG_LOG_OFF_TYPE = 12,
	MSG_LOG_OFF_FLAGS = 13,
	MSG_LOG_OFF_ROLE = 14,
	MSG_LOG_OFF_VERSION = 15,
	MSG_LOG_OFF_LSN = 16,
	MSG_LOG_OFF_TS = 24,
	MSG_LOG_OFF_SESSION = 32,
	MSG_LOG_OFF_E2E_SEQ = 40,
};

enum msg_log_rec_type {
	MSG_LOG_REC_MSG = 1,
	MSG_LOG_REC_RELEASE = 2,
};

#define MSG_LOG_REL_CARRIED 0x01 /* RELEASE flags bit: re-emitted by segment GC */

/** Record length on disk for a payload of `len` bytes. */
static inline size_t msg_log_rec_len(size_t len)
{
	return MSG_LOG_HDR_LEN + ((len + 7) & ~(size_t)7);
}

enum msg_log_fsync {
	MSG_LOG_FSYNC_NONE = 0,
	MSG_LOG_FSYNC_INTERVAL = 1,
	MSG_LOG_FSYNC_ALWAYS = 2,
};

enum msg_log_level {
	MSG_LOG_LVL_INFO = 0,
	MSG_LOG_LVL_WARN = 1,
	MSG_LOG_LVL_ERR = 2,
};

/** Log sink; called from msg_log_open's thread and from the writer thread.
 *  `msg` is one line without a trailing newline. */
typedef void (*msg_log_log_fn)(void *ctx, enum msg_log_level level, const char *msg);

/**
 * Replication hook, called by the writer thread for every committed batch
 * (see "Replication" above). iov[0..iovcnt) (1 <= iovcnt <= 3) hold the batch's
 * records back to back in log order, each record whole inside one iovec (a
 * record that straddles the ring's wrap point is copied into an iovec of its
 * own), laid out as on disk (header fields at MSG_LOG_OFF_*, crc filled in).
 * last_lsn is the batch's highest MSG lsn, 0 when it holds RELEASEs only. The
 * bytes are valid during the call only. Return 0 when the batch is
 * replicated, a negative errno when not (the batch is offered again later;
 * the errno becomes the error state's). Must not call back into the log.
 */
typedef int (*msg_log_replicate_fn)(void *ctx, const struct iovec *iov, int iovcnt,
                                    uint64_t last_lsn);

/** Configuration; zero fields take the default in brackets. */
struct msg_log_config {
	const char *dir;            /* this log's directory; created (mode 0700) if missing */
	enum msg_log_fsync fsync;   /* [NONE] */
	uint32_t fsync_interval_ms; /* INTERVAL period [10] */
	size_t ring_bytes;          /* power of two, >= 4096 [4 MiB] */
	uint64_t segment_bytes;     /* segment rotation size, >= 4096 [64 MiB] */
	uint64_t max_bytes;         /* size retention, 0 = none; else >= 2 * segment_bytes */
	uint64_t max_age_ms;        /* age retention, 0 = none */
	uint32_t idle_us;           /* writer poll period when idle [50] */
	uint32_t retry_ms;          /* retry period in the error state [200] */
	msg_log_log_fn log_fn;      /* [stderr] */
	void *log_ctx;
	/* The writer thread's CPUs, set before it runs; NULL: the creating
	 * thread's. A data-plane process passes its housekeeping CPUs: a writer
	 * next to a spinning lcore waits for CPU time, and so does its fdatasync. */
	const cpu_set_t *writer_cpus;
	msg_log_replicate_fn replicate; /* [NULL: local durability only] */
	void *replicate_ctx;
};

/** A message's metadata. On append, lsn is ignored and timestamp_ms == 0 means
 *  "stamp it with the writer's clock"; on recovery every field is filled. */
struct msg_rec {
	uint64_t lsn;
	uint64_t timestamp_ms; /* CLOCK_REALTIME, milliseconds */
	uint64_t session_id;
	uint64_t e2e_seq;
	uint8_t role;  /* recipient role */
	uint8_t flags; /* opaque to the store */
};

/** Called by msg_log_open once per live (unreleased, unexpired) message, in lsn
 *  order, so the data plane can rebuild its pending-delivery index. `payload`
 *  is valid only during the call. */
typedef void (*msg_log_recover_fn)(void *ctx, const struct msg_rec *meta, const void *payload,
                                   size_t len);

enum msg_log_issue_kind {
	MSG_LOG_ISSUE_TORN_TAIL = 1, /* bad record in the last segment: tail cut there */
	MSG_LOG_ISSUE_CORRUPT = 2,   /* bad record in an older segment: rest skipped, file kept */
};

#define MSG_LOG_MAX_ISSUES 8

struct msg_log_issue {
	enum msg_log_issue_kind kind;
	char file[32];   /* segment file name inside the log directory */
	uint64_t offset; /* byte offset of the first bad record */
	uint64_t bytes;  /* bytes cut (torn tail) or skipped (corrupt) */
};

/** What msg_log_open found. Every issue is also logged through log_fn. */
struct msg_log_recovery {
	uint32_t segments;         /* segment files found */
	uint32_t segments_deleted; /* fully released/expired segments removed at open */
	uint64_t records;          /* valid records scanned (MSG + RELEASE) */
	uint64_t msgs;             /* valid MSG records scanned */
	uint64_t released;         /* MSGs cancelled by a RELEASE */
	uint64_t expired_age;      /* MSGs older than max_age_ms */
	uint64_t expired_size;     /* MSGs dropped with segments over max_bytes */
	uint64_t live;             /* MSGs handed to the recovery callback */
	uint64_t bytes_cut;        /* torn tail bytes truncated */
	uint32_t corrupt_segments; /* older segments with a bad record (kept on disk) */
	uint32_t n_issues;         /* issues found; the first MSG_LOG_MAX_ISSUES are below */
	struct msg_log_issue issues[MSG_LOG_MAX_ISSUES];
	uint64_t next_lsn; /* lsn the next append will get */
};

struct msg_log_stats {
	uint64_t appended;         /* MSGs accepted by msg_log_append */
	uint64_t releases;         /* RELEASEs accepted by msg_log_release */
	uint64_t refused_full;     /* appends/releases refused with -ENOSPC (ring full) */
	uint64_t refused_error;    /* appends refused with -EIO (error state) */
	uint64_t last_lsn;         /* last lsn handed out (0: none) */
	uint64_t durable_lsn;      /* see msg_log_durable_lsn */
	uint64_t released;         /* MSGs released (durably) since open */
	uint64_t release_ignored;  /* RELEASEs naming no live MSG (already gone) */
	uint64_t expired_age;      /* since open, including at open */
	uint64_t expired_size;     /* since open, including at open */
	uint64_t live;             /* durable MSGs neither released nor expired */
	uint64_t oldest_live_ms;   /* timestamp of the oldest live MSG in lsn order, 0: none */
	uint64_t bytes_on_disk;    /* sum of segment sizes */
	uint32_t segments;         /* segment files */
	uint32_t corrupt_segments; /* kept for the operator, never deleted automatically */
	uint64_t batches;          /* pwritev calls */
	uint64_t syncs;            /* fdatasync calls that made records durable */
	uint64_t prealloc_bytes;   /* segment bytes zero-filled ahead (and synced) */
	uint64_t carried;          /* RELEASEs carried forward by segment GC */
	uint64_t ring_used;        /* bytes in the ring not yet durable */
	uint64_t ring_size;
	uint64_t ring_peak;          /* the most bytes the ring held (when space was freed) */
	uint64_t io_errors;          /* write/sync/create failures seen */
	uint64_t replicated;         /* batches the replication hook accepted */
	uint64_t replicate_failures; /* batches it refused (each offered again) */
	uint64_t replicated_lsn;     /* highest MSG lsn it accepted */
	int error;                   /* current error state: 0 or an errno (ENOSPC, EIO...) */
	char error_text[64];         /* strerror(error), "" when 0 */
};

/**
 * Open (create) the log in cfg->dir, recover it and start its writer thread.
 * Recovery scans the segments in lsn order, cuts a torn tail of the last segment
 * at its first bad record, reports (and keeps) older corrupt segments, applies
 * releases and retention, and calls `recover` (may be NULL) for every live
 * message. Corrupt data never makes it fail. `rep` (may be NULL) receives the
 * report. Returns NULL and sets errno on an unusable configuration (EINVAL), an
 * unusable directory (EACCES, ENOTDIR, ...), a log already open by another
 * process or handle (EBUSY) or resource exhaustion (ENOMEM, EMFILE...). Blocking;
 * call it at start-up.
 */
struct msg_log *msg_log_open(const struct msg_log_config *cfg, msg_log_recover_fn recover,
                             void *ctx, struct msg_log_recovery *rep) MSG_LOG_MUST_CHECK;

/**
 * Stop the log: the writer writes what is in the ring, fdatasyncs it (whatever
 * the policy) and exits; then everything is freed. The producer must have
 * stopped. If the log is in an error state the writer tries once more; bytes it
 * still cannot write are logged as lost (they were never reported durable).
 * NULL is a no-op.
 */
void msg_log_close(struct msg_log *log);

/**
 * Producer, hot path: copy one message into the ring. Bounded work: one memcpy of
 * MSG_LOG_HDR_LEN + len bytes; no syscall, no allocation, no lock.
 * On success stores the message's lsn in *lsn and returns 0; the message is
 * durable once msg_log_durable_lsn() >= *lsn - only then send STORED.
 * Errors: -EINVAL (len > MSG_LOG_MAX_PAYLOAD, meta NULL, or payload NULL with len > 0),
 * -ENOSPC (ring full: the writer is behind; nothing was stored), -EIO (the log
 * is in an error state, see msg_log_error: nothing was stored). On error no lsn
 * is consumed and the sender must not get STORED.
 */
int msg_log_append(struct msg_log *log, const struct msg_rec *meta, const void *payload, size_t len,
                   uint64_t *lsn) MSG_LOG_MUST_CHECK;

/**
 * Producer, hot path: record that message `lsn` was delivered and acknowledged.
 * Appends a RELEASE record (48 bytes) to the ring; it is accepted in the error
 * state too (it is written when the log recovers). A RELEASE that is lost (ring
 * full, crash before it reached disk) only means the message may be delivered
 * again after a restart (at least once; the recipient's E2E replay window drops
 * the duplicate). Releasing an lsn that is not live is harmless (counted).
 * Returns 0, -EINVAL (lsn 0 or never handed out), or -ENOSPC (ring full).
 */
int msg_log_release(struct msg_log *log, uint64_t lsn) MSG_LOG_MUST_CHECK;

/**
 * msg_log_release, with the released message's identity written into the
 * RELEASE record (session_id, role, e2e_seq: for a replica that deletes by
 * key; recovery ignores them). session_id 0 = anonymous, as msg_log_release.
 */
int msg_log_release_key(struct msg_log *log, uint64_t lsn, uint64_t session_id, uint8_t role,
                        uint64_t e2e_seq) MSG_LOG_MUST_CHECK;

/** Any thread: the highest lsn that reached the durability point of the policy;
 *  every lsn at or below it is durable. One acquire load. */
uint64_t msg_log_durable_lsn(const struct msg_log *log);

/** Any thread: 0, or the errno of the current error state (appends get -EIO). */
int msg_log_error(const struct msg_log *log);

/** Any thread: counters (each read atomically; not one consistent snapshot). */
void msg_log_stats(const struct msg_log *log, struct msg_log_stats *st);

/**
 * Control plane / tests, blocking: wait until msg_log_durable_lsn() >= lsn.
 * Returns 0, or -ETIMEDOUT after timeout_ms. Never call it on an lcore.
 */
int msg_log_wait_durable(const struct msg_log *log, uint64_t lsn, uint32_t timeout_ms);

/** "none", "interval", "always" (or "?"). */
const char *msg_log_fsync_name(enum msg_log_fsync policy);

/** Parse "none" | "always" | "interval" into *policy. Returns 0 or -EINVAL. */
int msg_log_fsync_parse(const char *s, enum msg_log_fsync *policy);

#endif /* SGA_MSG_LOG_H */
