/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_msg_log.c - the durable message store (msgstore/msg_log.h): round trips
 * under each fsync policy, segment rotation and garbage collection (including
 * releases carried forward), torn tails and corrupt segments, kill -9 under load,
 * a full disk (a 1 MiB tmpfs mounted by the test, root only), retention by age
 * and by size, argument errors, and a proof that the producer's calls make no
 * syscall (a seccomp filter traps every syscall of the producer thread).
 *
 * Every message's payload and metadata are a function of its lsn (fill/meta_of),
 * so the recovery callback can check each record byte for byte without keeping
 * copies. Each test works in a fresh mkdtemp directory and removes it.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "msg_crc32c.h"
#include "msg_log.h"
#include "msg_log_priv.h" /* msg_log_test_sync_hook */

/* ------------------------------------------------------------------ helpers */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void fill(uint8_t *p, uint64_t lsn, size_t len)
{
	uint64_t x = lsn * 0x9E3779B97F4A7C15ull + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

static struct msg_rec meta_of(uint64_t lsn, uint64_t ts)
{
	struct msg_rec m = {
	    .timestamp_ms = ts,
	    .session_id = lsn * 3 + 1,
	    .e2e_seq = lsn + 1000,
	    .role = (uint8_t)(lsn & 1),
	    .flags = (uint8_t)(lsn * 7),
	};

	return m;
}

static size_t len_var(uint64_t lsn)
{
	return (size_t)((lsn * 37) % (MSG_LOG_MAX_PAYLOAD + 1));
}

static size_t len_64(uint64_t lsn)
{
	(void)lsn;
	return 64;
}

static size_t len_100(uint64_t lsn)
{
	(void)lsn;
	return 100;
}

static size_t len_1k(uint64_t lsn)
{
	(void)lsn;
	return 1024;
}

/* Log lines captured from the store (writer thread too). */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_lines[128][256];
static unsigned log_n;

static void log_capture(void *ctx, enum msg_log_level lvl, const char *msg)
{
	(void)ctx;
	(void)lvl;
	if (getenv("MSGLOG_VERBOSE"))
		fprintf(stderr, "msgstore: %s\n", msg);
	pthread_mutex_lock(&log_mu);
	snprintf(log_lines[log_n % 128], sizeof(log_lines[0]), "%s", msg);
	log_n++;
	pthread_mutex_unlock(&log_mu);
}

static bool log_has(const char *needle)
{
	bool found = false;

	pthread_mutex_lock(&log_mu);
	for (unsigned i = 0; i < log_n && i < 128; i++)
		found = found || strstr(log_lines[i], needle);
	pthread_mutex_unlock(&log_mu);
	return found;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(p);
	return 0;
}

static char tmp_root[64];
static char log_dir[128];
static char mnt_dir[96];

static void make_dirs(void)
{
	snprintf(tmp_root, sizeof(tmp_root), "/tmp/sga-msglog-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp_root));
	snprintf(log_dir, sizeof(log_dir), "%s/log", tmp_root);
}

static void cleanup_dirs(void)
{
	if (mnt_dir[0])
		umount2(mnt_dir, MNT_DETACH);
	if (tmp_root[0])
		nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Criterion does not run .fini for a skipped test: clean up first. */
#define SKIP(...)                             \
	do {                                  \
		cleanup_dirs();               \
		tmp_root[0] = mnt_dir[0] = 0; \
		cr_skip(__VA_ARGS__);         \
	} while (0)

static struct msg_log_config base_cfg(enum msg_log_fsync pol)
{
	struct msg_log_config c = {
	    .dir = log_dir,
	    .fsync = pol,
	    .ring_bytes = 256 * 1024,
	    .segment_bytes = 64 * 1024,
	    .idle_us = 50,
	    .retry_ms = 20,
	    .log_fn = log_capture,
	};

	return c;
}

/* Recovery callback: checks every record against fill/meta_of. */
struct got {
	uint64_t lsn, ts;
};

struct coll {
	size_t (*len_of)(uint64_t lsn);
	struct got *v;
	size_t n, cap;
	size_t bad; /* records whose payload or metadata differ */
};

static void coll_cb(void *ctx, const struct msg_rec *m, const void *p, size_t len)
{
	struct coll *c = ctx;
	uint8_t want[MSG_LOG_MAX_PAYLOAD];
	struct msg_rec e = meta_of(m->lsn, 0);

	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 1024;
		c->v = realloc(c->v, c->cap * sizeof(*c->v));
		cr_assert_not_null(c->v);
	}
	c->v[c->n].lsn = m->lsn;
	c->v[c->n].ts = m->timestamp_ms;
	c->n++;
	fill(want, m->lsn, len);
	if (len != c->len_of(m->lsn) || memcmp(want, p, len) || m->session_id != e.session_id ||
	    m->e2e_seq != e.e2e_seq || m->role != e.role || m->flags != e.flags)
		c->bad++;
}

static void coll_reset(struct coll *c, size_t (*len_of)(uint64_t))
{
	free(c->v);
	memset(c, 0, sizeof(*c));
	c->len_of = len_of;
}

static struct msg_log *open_ok(const struct msg_log_config *cfg, struct coll *c,
                               struct msg_log_recovery *rep)
{
	struct msg_log *log = msg_log_open(cfg, c ? coll_cb : NULL, c, rep);

	cr_assert_not_null(log, "msg_log_open(%s): %s", cfg->dir, strerror(errno));
	return log;
}

/* Append one message for `lsn` (the lsn it is expected to get). */
static int append_one(struct msg_log *log, uint64_t lsn, size_t len, uint64_t ts, uint64_t *got)
{
	uint8_t buf[MSG_LOG_MAX_PAYLOAD];
	struct msg_rec m = meta_of(lsn, ts);

	fill(buf, lsn, len);
	return msg_log_append(log, &m, buf, len, got);
}

/* Append messages first..last, waiting out a full ring (bounded: 10 s). */
static void append_range(struct msg_log *log, uint64_t first, uint64_t last,
                         size_t (*len_of)(uint64_t), uint64_t ts)
{
	uint64_t deadline = mono_ms() + 10000;

	for (uint64_t l = first; l <= last; l++) {
		uint64_t got = 0;
		int rc;

		while ((rc = append_one(log, l, len_of(l), ts, &got)) == -ENOSPC) {
			cr_assert_lt(mono_ms(), deadline, "ring stays full");
			sleep_ms(1);
		}
		cr_assert_eq(rc, 0, "append lsn %llu: %d", (unsigned long long)l, rc);
		cr_assert_eq(got, l);
	}
}

static void release_range(struct msg_log *log, uint64_t first, uint64_t last)
{
	uint64_t deadline = mono_ms() + 10000;

	for (uint64_t l = first; l <= last; l++) {
		int rc;

		while ((rc = msg_log_release(log, l)) == -ENOSPC) {
			cr_assert_lt(mono_ms(), deadline, "ring stays full");
			sleep_ms(1);
		}
		cr_assert_eq(rc, 0);
	}
}

static struct msg_log_stats stats_of(struct msg_log *log)
{
	struct msg_log_stats st;

	msg_log_stats(log, &st);
	return st;
}

/* Poll until the writer has applied `n` releases (they are not "durable"
 * events the producer sees otherwise). */
static void wait_released(struct msg_log *log, uint64_t n)
{
	uint64_t deadline = mono_ms() + 5000;

	while (stats_of(log).released < n) {
		cr_assert_lt(mono_ms(), deadline, "released %llu < %llu",
		             (unsigned long long)stats_of(log).released, (unsigned long long)n);
		sleep_ms(1);
	}
}

/* Segment files in the log directory, by name. */
static int seg_files(char names[][32], int max)
{
	struct dirent **de;
	int n = scandir(log_dir, &de, NULL, alphasort), k = 0;

	cr_assert_geq(n, 0);
	for (int i = 0; i < n; i++) {
		if (!strncmp(de[i]->d_name, "seg-", 4) && strlen(de[i]->d_name) < 32 && k < max)
			memcpy(names[k++], de[i]->d_name, strlen(de[i]->d_name) + 1);
		free(de[i]);
	}
	free(de);
	return k;
}

static bool seg_exists(uint64_t first_lsn)
{
	char p[192];

	snprintf(p, sizeof(p), "%s/seg-%016llx.log", log_dir, (unsigned long long)first_lsn);
	return access(p, F_OK) == 0;
}

static off_t file_size(const char *name)
{
	char p[192];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", log_dir, name);
	cr_assert_eq(stat(p, &st), 0);
	return st.st_size;
}

static void flip_byte(const char *name, off_t off)
{
	char p[192];
	uint8_t b;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", log_dir, name);
	fd = open(p, O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, &b, 1, off), 1);
	b ^= 0x5a;
	cr_assert_eq(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

static void truncate_file(const char *name, off_t size)
{
	char p[192];

	snprintf(p, sizeof(p), "%s/%s", log_dir, name);
	cr_assert_eq(truncate(p, size), 0);
}

/* c holds exactly the lsns in want[0..n), in that order, all byte-identical. */
static void expect_lsns(const struct coll *c, const uint64_t *want, size_t n)
{
	cr_assert_eq(c->bad, 0, "%zu records differ from what was appended", c->bad);
	cr_assert_eq(c->n, n, "recovered %zu messages, expected %zu", c->n, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(c->v[i].lsn, want[i], "record %zu: lsn %llu, expected %llu", i,
		             (unsigned long long)c->v[i].lsn, (unsigned long long)want[i]);
}

static void expect_range(const struct coll *c, uint64_t first, uint64_t last)
{
	cr_assert_eq(c->bad, 0, "%zu records differ from what was appended", c->bad);
	cr_assert_eq(c->n, last >= first ? last - first + 1 : 0,
	             "recovered %zu, expected %llu..%llu", c->n, (unsigned long long)first,
	             (unsigned long long)last);
	for (size_t i = 0; i < c->n; i++)
		cr_assert_eq(c->v[i].lsn, first + i);
}

TestSuite(msg_log, .init = make_dirs, .fini = cleanup_dirs, .timeout = 60);

/* ------------------------------------------------------------------ CRC-32C */

Test(msg_log, crc32c_vectors)
{
	/* RFC 3720 appendix B.4, and the "123456789" check value of CRC-32C. */
	uint8_t zeros[32] = {0}, ones[32], inc[32], dec[32];
	uint8_t big[4099];

	memset(ones, 0xff, sizeof(ones));
	for (int i = 0; i < 32; i++) {
		inc[i] = (uint8_t)i;
		dec[i] = (uint8_t)(31 - i);
	}
	uint32_t (*const fns[])(uint32_t, const void *, size_t) = {msg_crc32c, msg_crc32c_sw};

	for (int f = 0; f < 2; f++) {
		cr_assert_eq(fns[f](0, "123456789", 9), 0xE3069283u);
		cr_assert_eq(fns[f](0, zeros, 32), 0x8A9136AAu);
		cr_assert_eq(fns[f](0, ones, 32), 0x62A8AB43u);
		cr_assert_eq(fns[f](0, inc, 32), 0x46DD794Eu);
		cr_assert_eq(fns[f](0, dec, 32), 0x113FDB5Cu);
	}
	fill(big, 7, sizeof(big));
	for (size_t off = 0; off < 9; off++) {
		for (size_t len = 0; len + off <= sizeof(big); len += 97) {
			uint32_t a = msg_crc32c(0, big + off, len);

			cr_assert_eq(a, msg_crc32c_sw(0, big + off, len));
			cr_assert_eq(a, msg_crc32c(msg_crc32c(0, big + off, len / 3),
			                           big + off + len / 3, len - len / 3));
		}
	}
	if (getenv("MSGLOG_VERBOSE"))
		fprintf(stderr, "CRC-32C: %s\n", msg_crc32c_hw() ? "SSE4.2" : "table");
}

/* ------------------------------------------------------------- round trips */

static void roundtrip(enum msg_log_fsync pol)
{
	const uint64_t n = 3000;
	struct msg_log_config cfg = base_cfg(pol);
	struct msg_log_recovery rep;
	struct msg_log_stats st;
	struct coll c = {.len_of = len_var};
	struct msg_log *log;
	uint64_t t0 = now_ms(), *want;
	size_t nw = 0;

	cfg.segment_bytes = 256 * 1024; /* several segments at ~750 B per record */
	log = open_ok(&cfg, &c, &rep);
	cr_assert_eq(rep.next_lsn, 1);
	cr_assert_eq(c.n, 0);
	/* odd lsns carry a caller timestamp, even ones are stamped by the writer */
	for (uint64_t l = 1; l <= n; l++)
		append_range(log, l, l, len_var, (l & 1) ? 1000000 + l : 0);
	cr_assert_eq(msg_log_wait_durable(log, n, 10000), 0, "%s: durable %llu",
	             msg_log_fsync_name(pol), (unsigned long long)msg_log_durable_lsn(log));
	st = stats_of(log);
	cr_assert_eq(st.appended, n);
	cr_assert_eq(st.durable_lsn, n);
	cr_assert_eq(st.live, n);
	cr_assert_eq(st.error, 0);
	cr_assert_gt(st.segments, 2);
	if (pol != MSG_LOG_FSYNC_NONE)
		cr_assert_gt(st.syncs, 0);
	/* release every third message */
	for (uint64_t l = 3; l <= n; l += 3)
		release_range(log, l, l);
	wait_released(log, n / 3);
	msg_log_close(log);

	want = calloc(n, sizeof(*want));
	for (uint64_t l = 1; l <= n; l++)
		if (l % 3)
			want[nw++] = l;
	log = open_ok(&cfg, &c, &rep);
	expect_lsns(&c, want, nw);
	cr_assert_eq(rep.n_issues, 0);
	cr_assert_eq(rep.live, nw);
	cr_assert_eq(rep.released, n / 3);
	cr_assert_eq(rep.next_lsn, n + 1);
	for (size_t i = 0; i < c.n; i++) {
		uint64_t l = c.v[i].lsn;

		if (l & 1)
			cr_assert_eq(c.v[i].ts, 1000000 + l);
		else
			cr_assert(c.v[i].ts >= t0 && c.v[i].ts <= now_ms(), "writer timestamp");
	}
	/* the log continues where it stopped */
	append_range(log, n + 1, n + 10, len_var, 0);
	cr_assert_eq(msg_log_wait_durable(log, n + 10, 10000), 0);
	st = stats_of(log);
	cr_assert_eq(st.live, nw + 10);
	msg_log_close(log);
	coll_reset(&c, len_var);
	log = open_ok(&cfg, &c, &rep);
	cr_assert_eq(c.n, nw + 10);
	cr_assert_eq(c.bad, 0);
	msg_log_close(log);
	free(want);
	free(c.v);
}

Test(msg_log, roundtrip_none)
{
	roundtrip(MSG_LOG_FSYNC_NONE);
}

Test(msg_log, roundtrip_interval)
{
	roundtrip(MSG_LOG_FSYNC_INTERVAL);
}

Test(msg_log, roundtrip_always)
{
	roundtrip(MSG_LOG_FSYNC_ALWAYS);
}

/* The CPUs of this process's thread named `comm` (the first one found). */
static int thread_cpus_once(const char *comm, cpu_set_t *out)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int rc = -1;

	cr_assert_not_null(d);
	while (rc && (e = readdir(d)) != NULL) {
		char path[300], name[32] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(name, sizeof(name), f) && !strncmp(name, comm, strlen(comm)))
			rc = sched_getaffinity((pid_t)atoi(e->d_name), sizeof(*out), out);
		fclose(f);
	}
	closedir(d);
	return rc;
}

/* ... waiting up to 2 s for the thread to name itself (it does as it starts). */
static int thread_cpus(const char *comm, cpu_set_t *out)
{
	for (int i = 0; i < 200; i++) {
		if (!thread_cpus_once(comm, out))
			return 0;
		usleep(10000);
	}
	return -1;
}

/* A data-plane process creates its logs on the main lcore's thread, pinned to
 * one CPU; the writer must run where the configuration says (the housekeeping
 * CPUs), not inherit that one. */
Test(msg_log, writer_runs_on_the_configured_cpus)
{
	struct msg_log_config cfg = base_cfg(MSG_LOG_FSYNC_ALWAYS);
	cpu_set_t mine, want, got;
	int first = -1, last = -1;
	struct msg_log *log;

	cr_assert_eq(sched_getaffinity(0, sizeof(mine), &mine), 0);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &mine)) {
			if (first < 0)
				first = cpu;
			last = cpu;
		}
	if (first == last)
		cr_skip_test("one CPU only: nothing to choose between");
	/* The creator on its first CPU, the writer asked onto the last one. */
	cpu_set_t creator;

	CPU_ZERO(&creator);
	CPU_SET(first, &creator);
	cr_assert_eq(sched_setaffinity(0, sizeof(creator), &creator), 0);
	CPU_ZERO(&want);
	CPU_SET(last, &want);
	cfg.writer_cpus = &want;
	log = open_ok(&cfg, NULL, NULL);
	cr_assert_eq(thread_cpus("sga-msgstore", &got), 0, "no writer thread found");
	cr_expect(CPU_EQUAL(&got, &want), "the writer runs on %d CPU(s), not on CPU %d alone",
	          CPU_COUNT(&got), last);
	msg_log_close(log);

	/* Without a set it inherits the creator's. */
	cfg.writer_cpus = NULL;
	log = open_ok(&cfg, NULL, NULL);
	cr_assert_eq(thread_cpus("sga-msgstore", &got), 0);
	cr_expect(CPU_EQUAL(&got, &creator),
	          "without writer_cpus the writer inherits its creator's");
	msg_log_close(log);
	cr_assert_eq(sched_setaffinity(0, sizeof(mine), &mine), 0);
}

Test(msg_log, interval_policy_syncs_on_its_period)
{
	struct msg_log_config cfg = base_cfg(MSG_LOG_FSYNC_INTERVAL);
	struct msg_log *log;
	uint64_t t;

	cfg.fsync_interval_ms = 300;
	log = open_ok(&cfg, NULL, NULL);
	append_range(log, 1, 1, len_64, 0); /* first write after idle: synced at once */
	cr_assert_eq(msg_log_wait_durable(log, 1, 2000), 0);
	append_range(log, 2, 2, len_64, 0);
	t = mono_ms();
	cr_assert_eq(msg_log_wait_durable(log, 2, 2000), 0);
	t = mono_ms() - t;
	/* written at once, but durable only with the next periodic sync */
	cr_assert(t >= 150 && t <= 1000, "interval sync after %llu ms", (unsigned long long)t);
	msg_log_close(log);
}

/* A commit sync that takes longer than the interval (150 ms against 100):
 * the gaps between the sync calls, measured in the hook. */
static _Atomic uint64_t hook_last_end_us, hook_gap_us;
static _Atomic int hook_calls;

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int slow_sync(int fd)
{
	uint64_t t = mono_us();
	int rc;

	if (hook_calls++)
		hook_gap_us += t - hook_last_end_us;
	sleep_ms(150);
	rc = fdatasync(fd);
	hook_last_end_us = mono_us();
	return rc;
}

/*
 * interval: a message is durable at the next periodic sync, not later. The
 * period ran from the end of the previous sync, so a sync taking S made it
 * interval + S (in the gateway, 10 + 8 ms: acks 17 ms after the message on
 * average instead of 13). Now it runs from the start: a sync longer than the
 * interval is followed by the next one at once. Counted in the hook: the gaps
 * between syncs under steady appends were >= the interval, now they are the
 * writer's poll; asserted against half the interval.
 */
Test(msg_log, interval_period_runs_from_the_start_of_a_sync)
{
	struct msg_log_config cfg = base_cfg(MSG_LOG_FSYNC_INTERVAL);
	struct msg_log *log;
	uint64_t l = 1, t0;
	int calls;

	cfg.fsync_interval_ms = 100;
	hook_calls = 0;
	hook_gap_us = hook_last_end_us = 0;
	log = open_ok(&cfg, NULL, NULL);
	msg_log_test_sync_hook(log, slow_sync);
	for (t0 = mono_ms(); hook_calls < 6 && mono_ms() - t0 < 20000; l++) {
		append_range(log, l, l, len_64, 0);
		sleep_ms(5);
	}
	cr_assert_eq(msg_log_wait_durable(log, l - 1, 5000), 0);
	msg_log_close(log); /* no hook call after this */
	calls = hook_calls;
	cr_assert_geq(calls, 6);
	cr_assert_lt(hook_gap_us / (uint64_t)(calls - 1), 50000,
	             "mean gap between syncs %llu us: the period counted from the sync's end",
	             (unsigned long long)(hook_gap_us / (uint64_t)(calls - 1)));
}

Test(msg_log, oldest_live_and_ring_stats)
{
	struct msg_log_config cfg = base_cfg(MSG_LOG_FSYNC_NONE);
	struct msg_log *log = open_ok(&cfg, NULL, NULL);
	struct msg_log_stats st;
	uint64_t deadline = mono_ms() + 3000;

	append_range(log, 1, 1, len_64, 5000);
	append_range(log, 2, 2, len_64, 7000);
	cr_assert_eq(msg_log_wait_durable(log, 2, 2000), 0);
	do {
		sleep_ms(20);
		st = stats_of(log);
	} while (st.oldest_live_ms != 5000 && mono_ms() < deadline);
	cr_assert_eq(st.oldest_live_ms, 5000);
	release_range(log, 1, 1);
	do {
		sleep_ms(20);
		st = stats_of(log);
	} while (st.oldest_live_ms != 7000 && mono_ms() < deadline);
	cr_assert_eq(st.oldest_live_ms, 7000);
	cr_assert_eq(st.live, 1);
	cr_assert_eq(st.ring_size, 256 * 1024);
	cr_assert_eq(st.ring_used, 0);
	cr_assert_gt(st.bytes_on_disk, 0);
	msg_log_close(log);
}

/* ------------------------------------------------ rotation and segment GC */

Test(msg_log, rotation_and_gc)
{
	struct msg_log_config cfg = base_cfg(MSG_LOG_FSYNC_ALWAYS);
	struct msg_log_recovery rep;
	struct coll c = {.len_of = len_64};
	char names[64][32];
	struct msg_log *log;
	int nseg0, nseg1;
	uint64_t deadline;

	cfg.segment_bytes = 8192; /* 73 records of 112 bytes */
	log = open_ok(&cfg, NULL, NULL);
	append_range(log, 1, 1000, len_64, 0);
	cr_assert_eq(msg_log_wait_durable(log, 1000, 10000), 0);
	nseg0 = seg_files(names, 64);
	cr_assert_eq(nseg0, 14, "1000 records of 112 B in 8 KiB segments: %d files", nseg0);
	cr_assert_eq(stats_of(log).segments, (uint32_t)nseg0);
	for (int i = 0; i < nseg0; i++) /* each segment starts at a multiple of 73 */
		cr_assert(seg_exists(1 + 73 * (uint64_t)i), "%s", names[i]);
	cr_assert_leq(file_size(names[0]), 8192);

	release_range(log, 1, 500);
	wait_released(log, 500);
	/* Segments 1..438 (six of them) are all released; 439..511 is not. The
	 * 500 releases (24000 B) fill segment 950 and open a release-only one,
	 * 1001, which may exceed segment_bytes (only MSGs rotate a segment). */
	deadline = mono_ms() + 3000;
	while (seg_files(names, 64) != nseg0 + 1 - 6 && mono_ms() < deadline)
		sleep_ms(5);
	nseg1 = seg_files(names, 64);
	cr_assert_eq(nseg1, nseg0 + 1 - 6, "%d segment files left", nseg1);
	cr_assert(!seg_exists(1) && !seg_exists(366) && seg_exists(439) && seg_exists(1001));
	while (stats_of(log).segments != (uint32_t)nseg1 && mono_ms() < deadline)
		sleep_ms(1); /* the counter follows the unlink */
	cr_assert_eq(stats_of(log).segments, (uint32_t)nseg1);
	cr_assert_eq(stats_of(log).live, 500);
	msg_log_close(log);

	log = open_ok(&cfg, &c, &rep);
	expect_range(&c, 501, 1000);
	cr_assert_eq(rep.n_issues, 0);
	msg_log_close(log);
	free(c.v);
}

/*
 * Segment GC must not resurrect released messages. 80-byte payloads make
 * 128-byte records, 32 to a 4 KiB segment: A holds 1..32, B 33..64, C 65..96.
 * The releases of B and of A except lsn 1 (63 x 48 B) open D (named 97), which
 * then takes MSGs 97..104; E starts at 105. B goes at once. When D's messages
 * are released too, D may only go after its 31 releases for A (still on disk
 * for lsn 1) are carried forward into E - a reopen must not bring 2..32 back.
 */
static size_t len_80(uint64_t lsn)
{
	(void)lsn;
	return 80;
}

Test(msg_log, gc_carries_releases_forward)
{
	struct msg_log_config cfg = base_cfg(MSG_LOG_FSYNC_ALWAYS);
	struct msg_log_recovery rep;
	struct coll c = {.len_of = len_80};
	struct msg_log_stats st;
	struct msg_log *log;
	uint64_t deadline, want[128];
	size_t nw = 0;

	cfg.segment_bytes = 4096;
	log = open_ok(&cfg, NULL, NULL);
	append_range(log, 1, 96, len_80, 0);
	cr_assert_eq(msg_log_wait_durable(log, 96, 5000), 0);
	cr_assert(seg_exists(1) && seg_exists(33) && seg_exists(65));
	release_range(log, 33, 64);
	release_range(log, 2, 32);
	wait_released(log, 63);
	deadline = mono_ms() + 3000;
	while (seg_exists(33) && mono_ms() < deadline)
		sleep_ms(5);
	cr_assert(!seg_exists(33), "B is all released and pins nothing");
	append_range(log, 97, 130, len_80, 0);
	cr_assert_eq(msg_log_wait_durable(log, 130, 5000), 0);
	cr_assert(seg_exists(1) && seg_exists(97) && seg_exists(105));
	release_range(log, 97, 104);
	wait_released(log, 71);
	deadline = mono_ms() + 3000;
	while (seg_exists(97) && mono_ms() < deadline)
		sleep_ms(5);
	cr_assert(!seg_exists(97), "D deleted after carrying its releases");
	while (stats_of(log).segments != 3 && mono_ms() < deadline)
		sleep_ms(1); /* the counters follow the unlink */
	st = stats_of(log);
	cr_assert_eq(st.segments, 3, "A, C, E");
	cr_assert_eq(st.carried, 31, "carried %llu", (unsigned long long)st.carried);
	cr_assert(seg_exists(1), "A still holds lsn 1");
	msg_log_close(log);

	want[nw++] = 1;
	for (uint64_t l = 65; l <= 96; l++)
		want[nw++] = l;
	for (uint64_t l = 105; l <= 130; l++)
		want[nw++] = l;
	log = open_ok(&cfg, &c, &rep);
	expect_lsns(&c, want, nw);
	/* releasing lsn 1 frees A */
	release_range(log, 1, 1);
	wait_released(log, 1);
	deadline = mono_ms() + 3000;
	while (seg_exists(1) && mono_ms() < deadline)
		sleep_ms(5);
	cr_assert(!seg_exists(1));
	msg_log_close(log);
	coll_reset(&c, len_80);
	log = open_ok(&cfg, &c, &rep);
	expect_lsns(&c, want + 1, nw - 1);
	msg_log_close(log);
	free(c.v);
}

/* ------------------------------------------------- torn tails, corruption */

static void torn_tail_case(bool flip)
{
	struct msg_log_config cfg = base_cfg(MSG_LOG_FSYNC_ALWAYS);
	struct msg_log_recovery rep;
	struct coll c = {.len_of = len_100};
	char names[4][32];
	struct msg_log *log;
	const off_t rl = 152; /* 48 + 104 */

	log = open_ok(&cfg, NULL, NULL);
	append_range(log, 1, 50, len_100, 0);
	cr_assert_eq(msg_log_wait_durable(log, 50, 5000), 0);
	msg_log_close(log);
	cr_assert_eq(seg_files(names, 4), 1);
	cr_assert_eq(file_size(names[0]), 50 * rl);
	if (flip)
		flip_byte(names[0], 49 * rl + MSG_LOG_HDR_LEN + 17); /* payload of lsn 50 */
	else
		truncate_file(names[0], 50 * rl - 10);

	log = open_ok(&cfg, &c, &rep);
	expect_range(&c, 1, 49);
	cr_assert_eq(rep.n_issues, 1);
	cr_assert_eq(rep.issues[0].kind, MSG_LOG_ISSUE_TORN_TAIL);
	cr_assert_str_eq(rep.issues[0].file, names[0]);
	cr_assert_eq(rep.issues[0].offset, (uint64_t)(49 * rl));
	cr_assert_eq(rep.issues[0].bytes, flip ? (uint64_t)rl : (uint64_t)rl - 10);
	cr_assert_eq(rep.bytes_cut, rep.issues[0].bytes);
	cr_assert_eq(rep.next_lsn, 50);
	cr_assert(log_has("torn tail"));
	cr_assert_eq(file_size(names[0]), 49 * rl, "tail cut exactly");
	/* the log goes on after the cut, and the next open is clean */
	append_range(log, 50, 60, len_100, 0);
	cr_assert_eq(msg_log_wait_durable(log, 60, 5000), 0);
	msg_log_close(log);
	coll_reset(&c, len_100);
	log = open_ok(&cfg, &c, &rep);
	expect_range(&c, 1, 60);
	cr_assert_eq(rep.n_issues, 0);
	msg_log_close(log);
	free(c.v);
}

Test(msg_log, torn_tail_truncated)
{
	torn_tail_case(false);
}

Test(msg_log, torn_tail_flipped_byte)
{
	torn_tail_case(true);
}

/* Zeros then garbage after the last record: torn (a zero-filled extent alone
 * is the writer's own preallocated space, see below). */
Test(msg_log, torn_tail_garbage_after_last_record)
{
	struct msg_log_config cfg = base_cfg(MSG_LOG_FSYNC_NONE);
	struct msg_log_recovery rep;
	struct coll c = {.len_of = len_64};
	char names[4][32], p[192];
	uint8_t junk[300];
	struct msg_log *log;
	int fd;

	log = open_ok(&cfg, NULL, NULL);
	append_range(log, 1, 10, len_64, 0);
	msg_log_close(log);
	cr_assert_eq(seg_files(names, 4), 1);
	snprintf(p, sizeof(p), "%s/%s", log_dir, names[0]);
	fd = open(p, O_WRONLY | O_APPEND);
	memset(junk, 0, sizeof(junk));
	junk[sizeof(junk) - 1] = 0x5a; /* something was written after the zeros */
	cr_assert_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	log = open_ok(&cfg, &c, &rep);
	expect_range(&c, 1, 10);
	cr_assert_eq(rep.n_issues, 1);
	cr_assert_eq(rep.issues[0].offset, 10 * 112);
	cr_assert_eq(rep.issues[0].bytes, sizeof(junk));
	msg_log_close(log);
	free(c.v);
}

/* Zeros up to the end of a segment are the space the writer zero-fills ahead
 * of itself (interval, always): the clean end of the segment, no issue -
 * also in an older segment (a crash between rotation and the cut). */
Test(msg_log, zero_filled_tail_is_the_clean_end)
{
	struct msg_log_config cfg = base_cfg(MSG_LOG_FSYNC_NONE);
	struct msg_log_recovery rep;
	struct coll c = {.len_of = len_64};
	char names[8][32], p[512];
	static uint8_t zeros[8192];
	struct msg_log *log;
	int fd, n;

	cfg.segment_bytes = 4096;
	log = open_ok(&cfg, NULL, NULL);
	append_range(log, 1, 80, len_64, 0); /* 36 records of 112 B per segment */
	cr_assert_eq(msg_log_wait_durable(log, 80, 5000), 0);
	msg_log_close(log);
	n = seg_files(names, 8);
	cr_assert_geq(n, 2);
	for (int i = 0; i < 2; i++) { /* the oldest and the last one */
		snprintf(p, sizeof(p), "%s/%s", log_dir, names[i ? n - 1 : 0]);
		fd = open(p, O_WRONLY | O_APPEND);
		cr_assert_eq(write(fd, zeros, sizeof(zeros)), (ssize_t)sizeof(zeros));
		close(fd);
	}
	log = open_ok(&cfg, &c, &rep);
	expect_range(&c, 1, 80);
	cr_assert_eq(rep.n_issues, 0, "zeros to the end are not a torn or corrupt record");
	cr_assert_eq(rep.corrupt_segments, 0);
	cr_assert_eq(rep.bytes_cut, 0);
	cr_assert_eq(rep.next_lsn, 81);
	append_range(log, 81, 90, len_64, 0);
	cr_assert_eq(msg_log_wait_durable(log, 90, 5000), 0);
	msg_log_close(log);
	coll_reset(&c, len_64);
	log = open_ok(&cfg, &c, &rep);
	expect_range(&c, 1, 90);
	cr_assert_eq(rep.n_issues, 0);
	msg_log_close(log);
	free(c.v);
}

/*
 * DATA_UP -> DATA_ACK latency under interval/always: a batch's fdatasync must
 * not extend the segment. Extending it makes each sync commit the file
 * system's journal, which waits for CPU on a busy machine (13.6 ms against 0.17
 * ms for an overwrite, msg_log.h). Structural check:
 * the segment's size stays put across synced batches (the records overwrite
 * space zero-filled ahead), and the zero-filled rest is given back at close.
 */
Test(msg_log, synced_batches_do_not_extend_the_segment)
{
	enum msg_log_fsync pols[] = {MSG_LOG_FSYNC_ALWAYS, MSG_LOG_FSYNC_INTERVAL};

	for (int k = 0; k < 2; k++) {
		struct msg_log_config cfg = base_cfg(pols[k]);
		struct msg_log_recovery rep;
		struct msg_log_stats st;
		struct coll c = {.len_of = len_64};
		char names[4][32];
		struct msg_log *log;
		off_t size1, size2;
		uint64_t syncs1;

		cleanup_dirs();
		make_dirs();
		cfg.fsync_interval_ms = 1;
		log = open_ok(&cfg, NULL, NULL);
		append_range(log, 1, 10, len_64, 0);
		cr_assert_eq(msg_log_wait_durable(log, 10, 5000), 0);
		cr_assert_eq(seg_files(names, 4), 1);
		size1 = file_size(names[0]);
		syncs1 = stats_of(log).syncs;
		append_range(log, 11, 20, len_64, 0);
		cr_assert_eq(msg_log_wait_durable(log, 20, 5000), 0);
		size2 = file_size(names[0]);
		st = stats_of(log);
		cr_assert_gt(st.syncs, syncs1, "%s: a second synced batch",
		             msg_log_fsync_name(pols[k]));
		cr_assert_eq(size2, size1,
		             "%s: the batch's sync extended the segment (%lld -> %lld)",
		             msg_log_fsync_name(pols[k]), (long long)size1, (long long)size2);
		cr_assert_geq(size1, 20 * 112, "room zero-filled ahead");
		cr_assert_geq(st.prealloc_bytes, (uint64_t)size1);
		msg_log_close(log);
		cr_assert_eq(file_size(names[0]), 20 * 112, "zero-filled rest given back at close");
		log = open_ok(&cfg, &c, &rep);
		expect_range(&c, 1, 20);
		cr_assert_eq(rep.n_issues, 0);
		msg_log_close(log);
		free(c.v);
	}
}

Test(msg_log, corrupt_older_segment_is_reported_and_skipped)
{
	struct msg_log_config cfg = base_cfg(MSG_LOG_FSYNC_NONE);
	struct msg_log_recovery rep;
	struct msg_log_stats st;
	struct coll c = {.len_of = len_64};
	char names[16][32];
	struct msg_log *log;
	uint64_t want[300];
	size_t nw = 0;
	int n;

	cfg.segment_bytes = 4096; /* 36 records per segment: 1, 37, 73, ... */
	log = open_ok(&cfg, NULL, NULL);
	append_range(log, 1, 200, len_64, 0);
	msg_log_close(log);
	n = seg_files(names, 16);
	cr_assert_eq(n, 6);
	cr_assert_str_eq(names[1], "seg-0000000000000025.log"); /* 37 */
	flip_byte(names[1], 5 * 112 + 20);                      /* the lsn of record 42 */

	for (uint64_t l = 1; l <= 200; l++)
		if (l < 42 || l > 72)
			want[nw++] = l;
	log = open_ok(&cfg, &c, &rep);
	expect_lsns(&c, want, nw);
	cr_assert_eq(rep.n_issues, 1);
	cr_assert_eq(rep.issues[0].kind, MSG_LOG_ISSUE_CORRUPT);
	cr_assert_str_eq(rep.issues[0].file, names[1]);
	cr_assert_eq(rep.issues[0].offset, 5 * 112);
	cr_assert_eq(rep.issues[0].bytes, 31 * 112);
	cr_assert_eq(rep.corrupt_segments, 1);
	cr_assert(log_has("corrupt segment"));
	st = stats_of(log);
	cr_assert_eq(st.corrupt_segments, 1);
	/* serving continues; even with all its good records released the corrupt
	 * segment stays for the operator */
	append_range(log, 201, 210, len_64, 0);
	release_range(log, 37, 41);
	cr_assert_eq(msg_log_wait_durable(log, 210, 5000), 0);
	wait_released(log, 5);
	sleep_ms(150);
	cr_assert(seg_exists(37));
	msg_log_close(log);
	coll_reset(&c, len_64);
	log = open_ok(&cfg, &c, &rep);
	cr_assert_eq(c.n, nw - 5 + 10);
	cr_assert_eq(rep.corrupt_segments, 1, "reported again at every start");
	msg_log_close(log);
	free(c.v);
}

/*
 * Recovery must be idempotent: a second open of a directory that was already
 * inconsistent finds exactly what the first found. Crafted (a crash cannot make
 * it, a copied or restored file can): segment 1 holds MSGs 1..40, but segment 37
 * exists, so 37..40 in segment 1 break the rule that a segment's name bounds
 * the lsns before it and segment 1 is corrupt from lsn 37 on. Segment 37 holds
 * MSGs 37..50 and releases them all; segment 51 is the last. The first open
 * serves 1..36 and 51..60 and, before the fix, deleted the fully released
 * segment 37 - after which segment 1's 37..40 were valid and came back.
 */
static void put_rec(int fd, uint8_t type, uint64_t lsn)
{
	uint8_t rec[MSG_LOG_MAX_REC];
	size_t plen = type == MSG_LOG_REC_MSG ? 64 : 0, rl = msg_log_rec_len(plen);
	struct msg_rec m = meta_of(lsn, now_ms());

	memset(rec, 0, sizeof(rec));
	if (type == MSG_LOG_REC_MSG)
		msg_log_hdr_build(rec, type, m.flags, m.role, lsn, m.timestamp_ms, m.session_id,
		                  m.e2e_seq, (uint32_t)plen);
	else
		msg_log_hdr_build(rec, type, 0, 0, lsn, m.timestamp_ms, 0, 0, 0);
	fill(rec + MSG_LOG_HDR_LEN, lsn, plen);
	le32_put(rec + MSG_LOG_OFF_CRC,
	         msg_crc32c(0, rec + MSG_LOG_OFF_TYPE, rl - MSG_LOG_OFF_TYPE));
	cr_assert_eq(write(fd, rec, rl), (ssize_t)rl);
}

static int seg_create_file(uint64_t first_lsn)
{
	char p[192];
	int fd;

	snprintf(p, sizeof(p), "%s/seg-%016llx.log", log_dir, (unsigned long long)first_lsn);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0, "%s: %s", p, strerror(errno));
	return fd;
}

Test(msg_log, recovery_is_idempotent_on_an_inconsistent_directory)
{
	struct msg_log_config cfg = base_cfg(MSG_LOG_FSYNC_NONE);
	struct msg_log_recovery rep1, rep2;
	struct coll c1 = {.len_of = len_64}, c2 = {.len_of = len_64};
	struct msg_log *log;
	uint64_t want[64];
	size_t nw = 0;
	int fd;

	cr_assert_eq(mkdir(log_dir, 0700), 0);
	fd = seg_create_file(1);
	for (uint64_t l = 1; l <= 40; l++)
		put_rec(fd, MSG_LOG_REC_MSG, l);
	close(fd);
	fd = seg_create_file(37);
	for (uint64_t l = 37; l <= 50; l++)
		put_rec(fd, MSG_LOG_REC_MSG, l);
	for (uint64_t l = 37; l <= 50; l++)
		put_rec(fd, MSG_LOG_REC_RELEASE, l);
	close(fd);
	fd = seg_create_file(51);
	for (uint64_t l = 51; l <= 60; l++)
		put_rec(fd, MSG_LOG_REC_MSG, l);
	close(fd);

	for (uint64_t l = 1; l <= 36; l++)
		want[nw++] = l;
	for (uint64_t l = 51; l <= 60; l++)
		want[nw++] = l;
	log = open_ok(&cfg, &c1, &rep1);
	expect_lsns(&c1, want, nw);
	cr_assert_eq(rep1.corrupt_segments, 1);
	cr_assert_eq(rep1.issues[0].kind, MSG_LOG_ISSUE_CORRUPT);
	cr_assert_eq(rep1.issues[0].offset, 36 * 112, "at lsn 37 of segment 1");
	msg_log_close(log);

	log = open_ok(&cfg, &c2, &rep2);
	expect_lsns(&c2, want, nw); /* not 1..40: released messages must not return */
	cr_assert_eq(rep2.corrupt_segments, rep1.corrupt_segments);
	cr_assert_eq(rep2.n_issues, rep1.n_issues);
	cr_assert_eq(rep2.issues[0].offset, rep1.issues[0].offset);
	cr_assert_eq(rep2.next_lsn, rep1.next_lsn);
	cr_assert(seg_exists(37), "segment 37 bounds the corrupt segment's lsns: kept");
	msg_log_close(log);
	free(c1.v);
	free(c2.v);
}

/* ------------------------------------------------------------- kill -9 */

/* Child: append under `always` as fast as it can and report every durable lsn
 * it observes on the pipe. Never returns. */
static void crash_child(int wfd, uint64_t first)
{
	struct msg_log_config cfg = base_cfg(MSG_LOG_FSYNC_ALWAYS);
	struct msg_log *log;
	uint64_t l = first, reported = 0, t_end = mono_ms() + 10000;

	cfg.log_fn = NULL;
	cfg.segment_bytes = 256 * 1024;
	log = msg_log_open(&cfg, NULL, NULL, NULL);
	if (!log)
		_exit(2);
	while (mono_ms() < t_end) {
		uint64_t got, d;
		int rc = append_one(log, l, len_var(l), 0, &got);

		if (rc == 0) {
			if (got != l)
				_exit(3);
			l++;
		} else if (rc != -ENOSPC) {
			_exit(4);
		}
		d = msg_log_durable_lsn(log);
		if (d > reported && write(wfd, &d, sizeof(d)) == (ssize_t)sizeof(d))
			reported = d;
	}
	_exit(5); /* not killed in time */
}

Test(msg_log, kill9_loses_no_durable_message)
{
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	struct msg_log_config cfg = base_cfg(MSG_LOG_FSYNC_ALWAYS);
	struct msg_log_recovery rep;
	struct coll c = {.len_of = len_var};
	uint64_t next = 1, total_durable = 0;
	int progress = 0;

	cfg.segment_bytes = 256 * 1024;
	for (int round = 0; round < 6; round++) {
		int pfd[2], status;
		uint64_t v, max_d = 0;
		unsigned delay = 50 + (unsigned)(rand_r(&seed) % 300);
		pid_t pid;

		cr_assert_eq(pipe(pfd), 0);
		pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			close(pfd[0]);
			fcntl(pfd[1], F_SETFL, O_NONBLOCK);
			crash_child(pfd[1], next);
		}
		close(pfd[1]);
		sleep_ms(delay);
		kill(pid, SIGKILL);
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		          "round %d: child exited with %d (seed %u)", round, status, seed);
		while (read(pfd[0], &v, sizeof(v)) == (ssize_t)sizeof(v))
			max_d = v > max_d ? v : max_d;
		close(pfd[0]);

		coll_reset(&c, len_var);
		struct msg_log *log = open_ok(&cfg, &c, &rep);

		msg_log_close(log);
		/* every lsn reported durable is there exactly once, and nothing else
		 * than a gap-free prefix 1..n is */
		cr_assert_eq(c.bad, 0, "round %d (seed %u)", round, seed);
		cr_assert_geq(c.n, max_d, "round %d: %zu recovered, %llu were durable (seed %u)",
		              round, c.n, (unsigned long long)max_d, seed);
		for (size_t i = 0; i < c.n; i++)
			cr_assert_eq(c.v[i].lsn, i + 1,
			             "round %d: duplicate or gap at %zu (seed %u)", round, i, seed);
		for (unsigned i = 0; i < rep.n_issues && i < MSG_LOG_MAX_ISSUES; i++)
			cr_assert_eq(rep.issues[i].kind, MSG_LOG_ISSUE_TORN_TAIL);
		progress += max_d > total_durable;
		total_durable = max_d > total_durable ? max_d : total_durable;
		next = c.n + 1;
		cr_assert_eq(rep.next_lsn, next);
	}
	/* kill times are random and fdatasync can be slow on a loaded host: a
	 * round may end before its first batch is durable, but not all of them */
	cr_assert_geq(progress, 2, "only %d of 6 rounds made anything durable", progress);
	if (getenv("MSGLOG_VERBOSE"))
		fprintf(stderr, "kill -9: %llu messages durable after 6 rounds\n",
		        (unsigned long long)total_durable);
	free(c.v);
}

/* -------------------------------------------------------------- disk full */

static int fill_disk(const char *path, size_t leave)
{
	static uint8_t buf[16384];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	size_t total = 0;

	cr_assert_geq(fd, 0);
	memset(buf, 0xee, sizeof(buf));
	for (;;) { /* bounded by the tmpfs size */
		ssize_t w = write(fd, buf, sizeof(buf));

		if (w <= 0)
			break;
		total += (size_t)w;
	}
	/* give back `leave` bytes */
	cr_assert_eq(ftruncate(fd, (off_t)(total > leave ? total - leave : 0)), 0);
	close(fd);
	return 0;
}

Test(msg_log, disk_full_then_space_returns)
{
	struct msg_log_config cfg = base_cfg(MSG_LOG_FSYNC_ALWAYS);
	struct msg_log_recovery rep;
	struct msg_log_stats st;
	struct coll c = {.len_of = len_1k};
	struct msg_log *log;
	char filler[192];
	uint64_t l = 1, durable, deadline;
	int rc = 0;

	if (geteuid() != 0)
		SKIP("disk-full test needs root to mount a 1 MiB tmpfs");
	snprintf(mnt_dir, sizeof(mnt_dir), "%s/mnt", tmp_root);
	cr_assert_eq(mkdir(mnt_dir, 0700), 0);
	if (mount("tmpfs", mnt_dir, "tmpfs", 0, "size=1m")) {
		int e = errno;

		mnt_dir[0] = 0;
		SKIP("cannot mount tmpfs: %s", strerror(e));
	}
	snprintf(log_dir, sizeof(log_dir), "%s/log", mnt_dir);
	snprintf(filler, sizeof(filler), "%s/filler", mnt_dir);
	cfg.segment_bytes = 64 * 1024;
	cfg.ring_bytes = 64 * 1024;
	log = open_ok(&cfg, NULL, NULL);
	fill_disk(filler, 160 * 1024);

	/* phase 1: append until the store refuses */
	deadline = mono_ms() + 10000;
	while (mono_ms() < deadline) {
		uint64_t got;

		rc = append_one(log, l, 1024, 0, &got);
		if (rc == -EIO)
			break;
		if (rc == -ENOSPC) {
			sleep_ms(1);
			continue;
		}
		cr_assert_eq(rc, 0);
		l++;
	}
	cr_assert_eq(rc, -EIO, "appends must turn -EIO when the disk is full");
	st = stats_of(log);
	cr_assert_eq(st.error, ENOSPC, "error %d", st.error);
	cr_assert_str_eq(st.error_text, strerror(ENOSPC));
	cr_assert_gt(st.io_errors, 0);
	cr_assert(log_has("No space left on device"));
	durable = msg_log_durable_lsn(log);
	cr_assert_gt(durable, 10);
	cr_assert_lt(durable, l - 1, "the last appends cannot be durable");
	sleep_ms(100); /* retries fail: durable stays */
	cr_assert_eq(msg_log_durable_lsn(log), durable);
	cr_assert_eq(msg_log_append(log, &(struct msg_rec){0}, NULL, 0, NULL), -EIO);

	/* A restart on the full disk: nothing durable damaged or lost, no
	 * duplicates, nothing that was not appended. (Close tries once more, so a
	 * few more messages may have become durable meanwhile.) */
	msg_log_close(log);
	log = open_ok(&cfg, &c, &rep);
	cr_assert_geq(c.n, durable);
	cr_assert_lt(c.n, l - 1, "the disk is still full");
	expect_range(&c, 1, c.n);
	cr_assert_eq(rep.n_issues, 0, "no corruption after ENOSPC");
	cr_assert(log_has("never written"));
	l = c.n + 1;

	/* phase 2: still full - fails again; free space - resumes */
	deadline = mono_ms() + 10000;
	do {
		rc = append_one(log, l, 1024, 0, NULL);
		if (!rc)
			l++;
		else
			sleep_ms(1);
	} while (rc != -EIO && mono_ms() < deadline);
	cr_assert_eq(rc, -EIO);
	cr_assert_eq(unlink(filler), 0);
	deadline = mono_ms() + 5000;
	while (msg_log_error(log) && mono_ms() < deadline)
		sleep_ms(5);
	cr_assert_eq(msg_log_error(log), 0, "the store resumes once space is back");
	cr_assert(log_has("succeed again"));
	/* what was queued when the disk filled up is written now */
	cr_assert_eq(msg_log_wait_durable(log, l - 1, 5000), 0);
	append_range(log, l, l + 99, len_1k, 0);
	cr_assert_eq(msg_log_wait_durable(log, l + 99, 5000), 0);
	msg_log_close(log);
	coll_reset(&c, len_1k);
	log = open_ok(&cfg, &c, &rep);
	expect_range(&c, 1, l + 99);
	cr_assert_eq(rep.n_issues, 0);
	msg_log_close(log);
	free(c.v);
}

/* -------------------------------------------------------------- retention */

Test(msg_log, retention_by_age)
{
	struct msg_log_config cfg = base_cfg(MSG_LOG_FSYNC_NONE);
	struct msg_log_recovery rep;
	struct msg_log_stats st;
	struct coll c = {.len_of = len_64};
	struct msg_log *log;
	uint64_t deadline, old = now_ms() - 60000;

	cfg.max_age_ms = 30000;
	cfg.segment_bytes = 4096; /* 36 per segment */
	log = open_ok(&cfg, NULL, NULL);
	append_range(log, 1, 72, len_64, old);  /* two whole segments of old messages */
	append_range(log, 73, 80, len_64, 0);   /* fresh */
	append_range(log, 81, 90, len_64, old); /* old again, sharing a segment with fresh */
	cr_assert_eq(msg_log_wait_durable(log, 90, 5000), 0);
	deadline = mono_ms() + 3000;
	while ((st = stats_of(log)).expired_age < 82 && mono_ms() < deadline)
		sleep_ms(10);
	cr_assert_eq(st.expired_age, 82);
	cr_assert_eq(st.live, 8);
	cr_assert(log_has("retention"));
	deadline = mono_ms() + 3000;
	while ((seg_exists(1) || seg_exists(37)) && mono_ms() < deadline)
		sleep_ms(10);
	cr_assert(!seg_exists(1) && !seg_exists(37), "fully expired segments are deleted");
	msg_log_close(log);

	log = open_ok(&cfg, &c, &rep);
	expect_range(&c, 73, 80);
	cr_assert_eq(rep.expired_age, 10, "81..90 are still on disk and expire again");
	msg_log_close(log);
	free(c.v);
}

Test(msg_log, retention_by_size)
{
	struct msg_log_config cfg = base_cfg(MSG_LOG_FSYNC_NONE);
	struct msg_log_recovery rep;
	struct msg_log_stats st;
	struct coll c = {.len_of = len_64};
	struct msg_log *log;
	uint64_t deadline;

	cfg.segment_bytes = 4096; /* 36 records */
	cfg.max_bytes = 4 * 4096; /* at most 4 segments */
	log = open_ok(&cfg, NULL, NULL);
	append_range(log, 1, 500, len_64, 0);
	cr_assert_eq(msg_log_wait_durable(log, 500, 5000), 0);
	msg_log_close(log);
	log = open_ok(&cfg, &c, &rep);
	st = stats_of(log);
	cr_assert_leq(st.bytes_on_disk, cfg.max_bytes);
	cr_assert_gt(c.n, 36 * 3);
	cr_assert_leq(c.n, 36 * 4);
	expect_range(&c, 501 - c.n, 500);
	cr_assert_eq(rep.expired_size, 0, "expired before the restart already");
	msg_log_close(log);
	cr_assert(log_has("max_bytes"));

	/* counted in the stats of the run that expired them */
	coll_reset(&c, len_64);
	log = open_ok(&cfg, &c, &rep);
	append_range(log, 501, 1000, len_64, 0);
	cr_assert_eq(msg_log_wait_durable(log, 1000, 5000), 0);
	deadline = mono_ms() + 3000; /* size retention runs right after the commit */
	/* The writer thread moves bytes_on_disk, expired_size and live one after
	 * the other, and the stats are read without a lock: wait for a snapshot
	 * taken between two of its passes, not in the middle of one. */
	while (((st = stats_of(log)).bytes_on_disk > cfg.max_bytes ||
	        st.expired_size + st.live != c.n + 500) &&
	       mono_ms() < deadline)
		sleep_ms(5);
	cr_assert_leq(st.bytes_on_disk, cfg.max_bytes);
	cr_assert_geq(st.expired_size, 500 - 36 * 4);
	cr_assert_eq(st.expired_size + st.live, c.n + 500);
	msg_log_close(log);
	free(c.v);
}

/* ------------------------------------------------------------- API errors */

Test(msg_log, open_errors)
{
	struct msg_log_config cfg = base_cfg(MSG_LOG_FSYNC_NONE);
	struct msg_log_config bad;
	struct msg_log *log, *log2;
	char path[192];

	bad = cfg;
	bad.ring_bytes = 5000; /* not a power of two */
	cr_assert_null(msg_log_open(&bad, NULL, NULL, NULL));
	cr_assert_eq(errno, EINVAL);
	bad = cfg;
	bad.max_bytes = bad.segment_bytes; /* below two segments */
	cr_assert_null(msg_log_open(&bad, NULL, NULL, NULL));
	cr_assert_eq(errno, EINVAL);
	bad = cfg;
	bad.dir = NULL;
	cr_assert_null(msg_log_open(&bad, NULL, NULL, NULL));
	cr_assert_eq(errno, EINVAL);
	/* a directory under a regular file is unusable */
	snprintf(path, sizeof(path), "%s/file", tmp_root);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	snprintf(path, sizeof(path), "%s/file/log", tmp_root);
	bad = cfg;
	bad.dir = path;
	cr_assert_null(msg_log_open(&bad, NULL, NULL, NULL));
	cr_assert_eq(errno, ENOTDIR);
	/* one handle per directory */
	log = open_ok(&cfg, NULL, NULL);
	log2 = msg_log_open(&cfg, NULL, NULL, NULL);
	cr_assert_null(log2);
	cr_assert_eq(errno, EBUSY);
	msg_log_close(log);
}

Test(msg_log, append_errors)
{
	struct msg_log_config cfg = base_cfg(MSG_LOG_FSYNC_NONE);
	struct msg_rec m = meta_of(1, 0);
	uint8_t big[MSG_LOG_MAX_PAYLOAD + 1] = {0};
	struct msg_log *log;
	uint64_t lsn = 0;
	int full = 0;

	cfg.ring_bytes = 4096;
	cfg.idle_us = 300000; /* a sleepy writer: the ring fills up */
	log = open_ok(&cfg, NULL, NULL);
	cr_assert_eq(msg_log_append(log, &m, big, sizeof(big), &lsn), -EINVAL);
	cr_assert_eq(msg_log_append(log, &m, NULL, 10, &lsn), -EINVAL);
	cr_assert_eq(msg_log_release(log, 0), -EINVAL);
	cr_assert_eq(msg_log_release(log, 1), -EINVAL, "lsn 1 not handed out yet");
	cr_assert_eq(msg_log_append(log, &m, big, MSG_LOG_MAX_PAYLOAD, &lsn), 0);
	cr_assert_eq(lsn, 1);
	for (int i = 0; i < 100 && !full; i++) {
		int rc = msg_log_append(log, &m, big, MSG_LOG_MAX_PAYLOAD, &lsn);

		cr_assert(rc == 0 || rc == -ENOSPC);
		full = rc == -ENOSPC;
	}
	cr_assert(full, "a 4 KiB ring holds two 1500-byte messages");
	cr_assert_gt(stats_of(log).refused_full, 0);
	/* The writer's next pass finds the ring (nearly) full: its peak says so. */
	for (int i = 0; i < 500 && !stats_of(log).ring_peak; i++)
		sleep_ms(10);
	cr_assert_geq(stats_of(log).ring_peak, 2 * msg_log_rec_len(MSG_LOG_MAX_PAYLOAD));
	cr_assert_leq(stats_of(log).ring_peak, 4096);
	msg_log_close(log);
	cr_assert_eq(msg_log_fsync_parse("interval", &(enum msg_log_fsync){0}), 0);
	cr_assert_eq(msg_log_fsync_parse("sometimes", &(enum msg_log_fsync){0}), -EINVAL);
}

/* ------------------------------------------- the producer makes no syscall */

static atomic_uint sigsys_hits;

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	atomic_fetch_add(&sigsys_hits, 1);
}

struct producer_arg {
	struct msg_log *log;
	uint64_t appended, released;
	unsigned hits; /* SIGSYS count right after the loop */
	int filter_rc;
};

static void *producer(void *arg)
{
	struct producer_arg *pa = arg;
	/* Trap every syscall except those a thread needs to exit and to return
	 * from the SIGSYS handler. x86-64 only (other arches: filter not installed). */
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_rt_sigreturn, 6, 0),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_exit, 5, 0),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_futex, 4, 0),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_munmap, 3, 0),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_madvise, 2, 0),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_rt_sigprocmask, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
	uint8_t payload[1024];
	struct msg_rec m = meta_of(1, 1234);

	memset(payload, 0x42, sizeof(payload));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) {
		pa->filter_rc = -1;
		return NULL;
	}
	/* From here on every syscall of this thread raises SIGSYS. Run until 50k
	 * appends succeeded (the full-ring path is exercised too); bounded. */
	for (long i = 0; i < 200000000L && pa->appended < 50000; i++) {
		uint64_t lsn;
		int rc = msg_log_append(pa->log, &m, payload, (size_t)(i % 1024), &lsn);

		if (rc == 0) {
			pa->appended++;
			if (i % 4 == 0 && msg_log_release(pa->log, lsn) == 0)
				pa->released++;
		}
		(void)msg_log_durable_lsn(pa->log);
		(void)msg_log_error(pa->log);
	}
	pa->hits = atomic_load(&sigsys_hits);
	return NULL;
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

Test(msg_log, hot_path_makes_no_syscall, .timeout = 30)
{
	struct msg_log_config cfg = base_cfg(MSG_LOG_FSYNC_NONE);
	struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
	struct producer_arg pa = {0};
	pthread_t t;

#if !defined(__x86_64__)
	SKIP("seccomp filter written for x86-64");
#endif
#ifdef UNDER_ASAN
	/* The ASan runtime makes syscalls of its own on every thread (signal
	 * stacks, reports): the proof only holds for a plain build. */
	SKIP("no-syscall check skipped under AddressSanitizer");
#endif
	cfg.ring_bytes = 1 << 20;
	pa.log = open_ok(&cfg, NULL, NULL);
	cr_assert_eq(sigaction(SIGSYS, &sa, NULL), 0);
	cr_assert_eq(pthread_create(&t, NULL, producer, &pa), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(pa.filter_rc, 0, "seccomp filter not installed");
	cr_assert_eq(pa.appended, 50000);
	cr_assert_eq(pa.hits, 0, "%u syscalls on the producer's path", pa.hits);
	cr_assert_eq(msg_log_wait_durable(pa.log, pa.appended, 10000), 0);
	msg_log_close(pa.log);
	if (getenv("MSGLOG_VERBOSE"))
		fprintf(stderr, "producer: %llu appends, %llu releases, 0 syscalls\n",
		        (unsigned long long)pa.appended, (unsigned long long)pa.released);
}

/* ---- replication hook (msg_log.h "Replication") ---------------------------- */

/* One record as the hook saw it. */
struct seen {
	uint8_t type, role;
	uint64_t lsn, session, e2e_seq;
	uint32_t len;
	bool payload_ok;
};

static pthread_mutex_t repl_mu = PTHREAD_MUTEX_INITIALIZER;
static struct seen *repl_ok; /* records of the batches the hook accepted */
static size_t repl_n, repl_cap;
static uint64_t repl_first_failed[2]; /* first lsn, record count of a refused batch */
static _Atomic int repl_fail;         /* refuse batches while set */
static _Atomic unsigned repl_refused, repl_calls, repl_bad_lsn;
static _Atomic unsigned repl_bad; /* malformed batches (checked on the test's thread) */

#define REPL_CHECK(cond)                                \
	do {                                            \
		if (!(cond)) {                          \
			atomic_fetch_add(&repl_bad, 1); \
			return -EINVAL;                 \
		}                                       \
	} while (0)

static int repl_hook(void *ctx, const struct iovec *iov, int iovcnt, uint64_t last_lsn)
{
	struct seen tmp[4096];
	size_t n = 0;
	uint64_t max_lsn = 0;

	(void)ctx;
	/* The writer's thread: no cr_assert here (counted, asserted later). */
	REPL_CHECK(iovcnt >= 1 && iovcnt <= 3);
	for (int i = 0; i < iovcnt; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t off = 0;

		REPL_CHECK(iov[i].iov_len % 8 == 0);
		while (off < iov[i].iov_len) {
			const uint8_t *r = p + off;
			uint32_t len = le32_get(r + MSG_LOG_OFF_LENGTH);
			size_t rl = msg_log_rec_len(len);
			struct seen s = {.type = r[MSG_LOG_OFF_TYPE],
			                 .role = r[MSG_LOG_OFF_ROLE],
			                 .lsn = le64_get(r + MSG_LOG_OFF_LSN),
			                 .session = le64_get(r + MSG_LOG_OFF_SESSION),
			                 .e2e_seq = le64_get(r + MSG_LOG_OFF_E2E_SEQ),
			                 .len = len,
			                 .payload_ok = true};

			/* whole records inside one iovec, checksummed as on disk */
			REPL_CHECK(le32_get(r + MSG_LOG_OFF_MAGIC) == MSG_LOG_MAGIC);
			REPL_CHECK(off + rl <= iov[i].iov_len); /* not split between iovecs */
			REPL_CHECK(msg_crc32c(0, r + MSG_LOG_OFF_TYPE, rl - MSG_LOG_OFF_TYPE) ==
			           le32_get(r + MSG_LOG_OFF_CRC));
			if (s.type == MSG_LOG_REC_MSG) {
				uint8_t want[MSG_LOG_MAX_PAYLOAD];

				fill(want, s.lsn, len);
				s.payload_ok = !memcmp(want, r + MSG_LOG_HDR_LEN, len);
				max_lsn = s.lsn;
			}
			REPL_CHECK(n < sizeof(tmp) / sizeof(tmp[0]));
			tmp[n++] = s;
			off += rl;
		}
	}
	atomic_fetch_add(&repl_calls, 1);
	if (max_lsn != last_lsn)
		atomic_fetch_add(&repl_bad_lsn, 1);
	if (atomic_load(&repl_fail)) {
		pthread_mutex_lock(&repl_mu);
		if (!atomic_load(&repl_refused)) {
			repl_first_failed[0] = tmp[0].lsn;
			repl_first_failed[1] = n;
		}
		pthread_mutex_unlock(&repl_mu);
		atomic_fetch_add(&repl_refused, 1);
		return -ECONNREFUSED;
	}
	pthread_mutex_lock(&repl_mu);
	if (repl_n + n > repl_cap) {
		repl_cap = (repl_n + n) * 2;
		repl_ok = realloc(repl_ok, repl_cap * sizeof(*repl_ok));
		if (!repl_ok)
			abort();
	}
	memcpy(repl_ok + repl_n, tmp, n * sizeof(*tmp));
	repl_n += n;
	pthread_mutex_unlock(&repl_mu);
	return 0;
}

static void repl_reset(void)
{
	free(repl_ok);
	repl_ok = NULL;
	repl_n = repl_cap = 0;
	repl_first_failed[0] = repl_first_failed[1] = 0;
	atomic_store(&repl_fail, 0);
	atomic_store(&repl_refused, 0);
	atomic_store(&repl_calls, 0);
	atomic_store(&repl_bad_lsn, 0);
	atomic_store(&repl_bad, 0);
}

/* Release lsn with the identity meta_of gives it, waiting out a full ring. */
static void release_key_one(struct msg_log *log, uint64_t l)
{
	uint64_t deadline = mono_ms() + 10000;
	struct msg_rec m = meta_of(l, 0);
	int rc;

	while ((rc = msg_log_release_key(log, l, m.session_id, m.role, m.e2e_seq)) == -ENOSPC) {
		cr_assert_lt(mono_ms(), deadline, "ring stays full");
		sleep_ms(1);
	}
	cr_assert_eq(rc, 0);
}

/* The hook's accepted records are exactly: MSG 1..n, each followed by its
 * RELEASE when lsn % 3 == 0, in that order (the producer's order). */
static void expect_seen_in_order(uint64_t n)
{
	size_t k = 0;

	pthread_mutex_lock(&repl_mu);
	for (uint64_t l = 1; l <= n; l++) {
		struct msg_rec m = meta_of(l, 0);

		cr_assert_lt(k, repl_n, "lsn %llu never replicated", (unsigned long long)l);
		cr_assert_eq(repl_ok[k].type, MSG_LOG_REC_MSG, "record %zu", k);
		cr_assert_eq(repl_ok[k].lsn, l, "record %zu: lsn %llu, want %llu", k,
		             (unsigned long long)repl_ok[k].lsn, (unsigned long long)l);
		cr_assert_eq(repl_ok[k].session, m.session_id);
		cr_assert_eq(repl_ok[k].e2e_seq, m.e2e_seq);
		cr_assert_eq(repl_ok[k].role, m.role);
		cr_assert(repl_ok[k].payload_ok);
		k++;
		if (l % 3)
			continue;
		cr_assert_lt(k, repl_n);
		cr_assert_eq(repl_ok[k].type, MSG_LOG_REC_RELEASE, "record %zu", k);
		cr_assert_eq(repl_ok[k].lsn, l);
		cr_assert_eq(repl_ok[k].session, m.session_id, "RELEASE carries the session");
		cr_assert_eq(repl_ok[k].e2e_seq, m.e2e_seq, "RELEASE carries the e2e_seq");
		cr_assert_eq(repl_ok[k].role, m.role, "RELEASE carries the role");
		k++;
	}
	cr_assert_eq(k, repl_n, "%zu records replicated, %zu expected", repl_n, k);
	pthread_mutex_unlock(&repl_mu);
	cr_assert_eq(atomic_load(&repl_bad), 0, "a batch was malformed");
	cr_assert_eq(atomic_load(&repl_bad_lsn), 0, "last_lsn is the batch's highest MSG lsn");
}

static void append_and_release(struct msg_log *log, uint64_t first, uint64_t last)
{
	for (uint64_t l = first; l <= last; l++) {
		append_range(log, l, l, len_var, 0);
		if (l % 3 == 0)
			release_key_one(log, l);
	}
}

/* As append_and_release, stopping at the first -EIO (the error state began):
 * returns the last lsn appended. */
static uint64_t append_until_error(struct msg_log *log, uint64_t first, uint64_t last)
{
	uint64_t deadline = mono_ms() + 10000;

	for (uint64_t l = first; l <= last; l++) {
		uint64_t got = 0;
		int rc;

		while ((rc = append_one(log, l, len_var(l), 0, &got)) == -ENOSPC) {
			cr_assert_lt(mono_ms(), deadline, "ring stays full");
			sleep_ms(1);
		}
		if (rc == -EIO)
			return l - 1;
		cr_assert_eq(rc, 0);
		cr_assert_eq(got, l);
		if (l % 3 == 0)
			release_key_one(log, l);
	}
	return last;
}

static void hook_sees_everything(enum msg_log_fsync pol)
{
	struct msg_log_config cfg = base_cfg(pol);
	struct msg_log *log;
	struct coll c = {0};
	struct msg_log_recovery rep;
	const uint64_t n = 3000;

	make_dirs();
	repl_reset();
	cfg.ring_bytes = 16 * 1024; /* wraps often: records straddle the wrap point */
	cfg.replicate = repl_hook;
	log = open_ok(&cfg, NULL, NULL);
	append_and_release(log, 1, n);
	cr_assert_eq(msg_log_wait_durable(log, n, 10000), 0);
	msg_log_close(log);
	expect_seen_in_order(n);
	cr_assert_eq(atomic_load(&repl_refused), 0);

	/* Recovery ignores the RELEASE's identity fields: every third is gone. */
	coll_reset(&c, len_var);
	log = open_ok(&cfg, &c, &rep);
	cr_assert_eq(rep.released, n / 3);
	cr_assert_eq(c.n, n - n / 3);
	cr_assert_eq(c.bad, 0);
	msg_log_close(log);
	coll_reset(&c, len_var);
	repl_reset();
	cleanup_dirs();
}

Test(msg_log, replicate_hook_sees_every_record_once_in_order_none)
{
	hook_sees_everything(MSG_LOG_FSYNC_NONE);
}

Test(msg_log, replicate_hook_sees_every_record_once_in_order_always)
{
	hook_sees_everything(MSG_LOG_FSYNC_ALWAYS);
}

Test(msg_log, replicate_failure_holds_durable_lsn_and_offers_again)
{
	struct msg_log_config cfg = base_cfg(MSG_LOG_FSYNC_INTERVAL);
	struct msg_log *log;
	struct msg_log_stats st;
	uint64_t deadline, last;

	make_dirs();
	repl_reset();
	cfg.replicate = repl_hook;
	log = open_ok(&cfg, NULL, NULL);
	append_and_release(log, 1, 30);
	cr_assert_eq(msg_log_wait_durable(log, 30, 5000), 0);

	atomic_store(&repl_fail, 1);
	last = append_until_error(log, 31, 60);
	cr_assert_geq(last, 31);
	/* Refused three times: the same records offered again and again. */
	deadline = mono_ms() + 10000;
	while (atomic_load(&repl_refused) < 3) {
		cr_assert_lt(mono_ms(), deadline, "hook not called again after a refusal");
		sleep_ms(1);
	}
	st = stats_of(log);
	cr_assert_eq(msg_log_durable_lsn(log), 30, "durable_lsn advanced past a refused batch");
	cr_assert_eq(st.error, ECONNREFUSED);
	cr_assert_geq(st.replicate_failures, 3);
	cr_assert_eq(st.replicated_lsn, 30);
	cr_assert(log_has("replication failed"));
	pthread_mutex_lock(&repl_mu);
	cr_assert_eq(repl_first_failed[0], 31, "the refused batch starts after the accepted ones");
	pthread_mutex_unlock(&repl_mu);
	/* the error state: new messages refused */
	cr_assert_eq(append_one(log, last + 1, 10, 0, NULL), -EIO);

	atomic_store(&repl_fail, 0);
	cr_assert_eq(msg_log_wait_durable(log, last, 10000), 0);
	st = stats_of(log);
	cr_assert_eq(st.error, 0);
	cr_assert_eq(st.replicated_lsn, last);
	msg_log_close(log);
	/* Every record accepted exactly once, in order, the refused ones too. */
	expect_seen_in_order(last);
	repl_reset();
	cleanup_dirs();
}

Test(msg_log, replicate_close_flushes)
{
	struct msg_log_config cfg = base_cfg(MSG_LOG_FSYNC_NONE);
	struct msg_log *log;

	make_dirs();
	repl_reset();
	cfg.replicate = repl_hook;
	cfg.idle_us = 20000; /* the writer sleeps; close must still flush */
	log = open_ok(&cfg, NULL, NULL);
	append_and_release(log, 1, 200);
	msg_log_close(log);
	expect_seen_in_order(200);
	repl_reset();
	cleanup_dirs();
}
