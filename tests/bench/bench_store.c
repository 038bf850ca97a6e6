/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_store.c - append throughput of the durable message store
 * (msgstore/msg_log.h) for 64-byte and 1,024-byte messages under each fsync
 * policy, next to a plain sequential write of the same number of bytes to the
 * same filesystem, measured in the same run right after each store run (the
 * equivalent of `dd bs=1M conv=fdatasync`: write() in 1 MiB blocks, one
 * fdatasync at the end). Prints messages/s, payload MB/s and on-disk MB/s, the
 * ratio store/dd of on-disk bytes per second; then the append-to-durable latency
 * (p50/p99/p99.9) at a steady 20,000 msgs/s - the delay before a STORED ack can
 * go out. Each throughput figure is the median of -r runs (default 3), each run
 * followed by its dd run, because this host's disk varies by several x from one
 * second to the next.
 *
 * One producer thread appends as fast as the store accepts (spinning on a full
 * ring, as an lcore would drop or back off); the clock stops when the last
 * message is durable. A benchmark, not a test: it asserts nothing.
 *
 *   sga-bench-store [-d dir] [-m MiB per run] [-r runs] [-q]
 *     -d  directory on the filesystem to measure (default /var/tmp)
 *     -m  on-disk MiB per run (default 64; -q: 16)
 *     -r  runs per figure, median reported (default 3)
 *     -R  ring size in MiB, a power of two (default: the store's, 4 MiB)
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <sched.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "msg_log.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(p);
	return 0;
}

static void quiet_log(void *ctx, enum msg_log_level lvl, const char *msg)
{
	(void)ctx;
	if (lvl != MSG_LOG_LVL_INFO)
		fprintf(stderr, "store: %s\n", msg);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct result {
	double secs;
	uint64_t msgs, payload_bytes, disk_bytes, full_spins, batches, syncs;
};

/* Append n messages of `len` bytes; stop the clock when the last is durable. */
static size_t ring_bytes; /* -R; 0: the store's default */

static int run_store(const char *dir, enum msg_log_fsync pol, size_t len, uint64_t n,
                     struct result *r)
{
	struct msg_log_config cfg = {
	    .dir = dir,
	    .fsync = pol,
	    .fsync_interval_ms = 10,
	    .log_fn = quiet_log,
	    .ring_bytes = ring_bytes,
	};
	uint8_t payload[MSG_LOG_MAX_PAYLOAD];
	struct msg_log_stats st;
	struct msg_log *log;
	uint64_t t0, lsn = 0;

	memset(payload, 0xa5, sizeof(payload));
	memset(r, 0, sizeof(*r));
	log = msg_log_open(&cfg, NULL, NULL, NULL);
	if (!log) {
		fprintf(stderr, "msg_log_open(%s): %s\n", dir, strerror(errno));
		return -1;
	}
	t0 = now_ns();
	for (uint64_t i = 0; i < n; i++) {
		struct msg_rec m = {.session_id = i, .e2e_seq = i, .timestamp_ms = 1};
		int rc;

		payload[0] = (uint8_t)i;
		while ((rc = msg_log_append(log, &m, payload, len, &lsn)) == -ENOSPC) {
			r->full_spins++;
			sched_yield(); /* the host may have fewer free cores than threads */
		}
		if (rc) {
			fprintf(stderr, "append: %s\n", strerror(-rc));
			msg_log_close(log);
			return -1;
		}
	}
	while (msg_log_durable_lsn(log) < lsn)
		sched_yield();
	r->secs = (double)(now_ns() - t0) / 1e9;
	msg_log_stats(log, &st);
	msg_log_close(log);
	r->msgs = n;
	r->payload_bytes = n * len;
	r->disk_bytes = n * msg_log_rec_len(len);
	r->batches = st.batches;
	r->syncs = st.syncs;
	return 0;
}

/* Ack latency at a steady rate well below saturation: append one message every
 * 1e9/rate ns for `secs` and time each until it is durable. */
static int run_paced(const char *dir, enum msg_log_fsync pol, size_t len, uint64_t rate,
                     double secs, double *p50, double *p99, double *p999)
{
	struct msg_log_config cfg = {
	    .dir = dir,
	    .fsync = pol,
	    .fsync_interval_ms = 10,
	    .log_fn = quiet_log,
	};
	uint64_t n = (uint64_t)((double)rate * secs), gap = 1000000000u / rate, done = 0;
	uint64_t *t_app = calloc(n, sizeof(uint64_t)), *lat = calloc(n, sizeof(uint64_t));
	uint8_t payload[MSG_LOG_MAX_PAYLOAD];
	struct msg_log *log;
	uint64_t t0, first = 0, i = 0;

	if (!t_app || !lat)
		return -ENOMEM;
	memset(payload, 0x5a, sizeof(payload));
	log = msg_log_open(&cfg, NULL, NULL, NULL);
	if (!log) {
		free(t_app);
		free(lat);
		return -errno;
	}
	t0 = now_ns();
	while (done < n) {
		uint64_t tn = now_ns(), d = msg_log_durable_lsn(log);

		if (tn - t0 > (uint64_t)(secs * 1e9) + 10000000000ull) {
			fprintf(stderr, "paced run: messages not durable after 10 s\n");
			msg_log_close(log);
			free(t_app);
			free(lat);
			return -ETIMEDOUT;
		}
		while (done < i && first + done <= d)
			lat[done] = tn - t_app[done], done++;
		if (i < n && tn >= t0 + i * gap) {
			struct msg_rec m = {.session_id = i, .timestamp_ms = 1};
			uint64_t lsn;

			if (msg_log_append(log, &m, payload, len, &lsn) == 0) {
				if (!i)
					first = lsn;
				t_app[i++] = tn;
			}
		}
	}
	msg_log_close(log);
	qsort(lat, n, sizeof(uint64_t), cmp_u64);
	*p50 = (double)lat[n / 2] / 1e3;
	*p99 = (double)lat[n * 99 / 100] / 1e3;
	*p999 = (double)lat[n * 999 / 1000] / 1e3;
	free(t_app);
	free(lat);
	return 0;
}

/* dd bs=1M conv=fdatasync of `bytes` into a new file in dir; seconds. */
static double run_dd(const char *dir, uint64_t bytes)
{
	static uint8_t block[1 << 20];
	char path[4200];
	uint64_t t0, done = 0;
	double secs;
	int fd;

	snprintf(path, sizeof(path), "%s/dd.ref", dir);
	memset(block, 0xa5, sizeof(block));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	t0 = now_ns();
	while (done < bytes) {
		size_t n = bytes - done < sizeof(block) ? (size_t)(bytes - done) : sizeof(block);
		ssize_t w = write(fd, block, n);

		if (w <= 0) {
			close(fd);
			unlink(path);
			return -1;
		}
		done += (uint64_t)w;
	}
	if (fdatasync(fd)) {
		close(fd);
		unlink(path);
		return -1;
	}
	secs = (double)(now_ns() - t0) / 1e9;
	close(fd);
	unlink(path);
	return secs;
}

static const char *fs_name(const char *dir)
{
	struct statfs sf;

	if (statfs(dir, &sf))
		return "?";
	switch ((unsigned long)sf.f_type) {
	case 0xEF53:
		return "ext2/3/4";
	case 0x58465342:
		return "xfs";
	case 0x9123683E:
		return "btrfs";
	case 0x01021994:
		return "tmpfs";
	case 0x794c7630:
		return "overlayfs";
	default:
		return "other";
	}
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = {64, 1024};
	static const enum msg_log_fsync pols[] = {MSG_LOG_FSYNC_NONE, MSG_LOG_FSYNC_INTERVAL,
	                                          MSG_LOG_FSYNC_ALWAYS};
	const char *base = "/var/tmp";
	uint64_t mib = 64;
	int reps = 3;
	char root[4096], dir[4104];
	int opt;

	while ((opt = getopt(argc, argv, "d:m:r:R:q")) != -1) {
		switch (opt) {
		case 'd':
			base = optarg;
			break;
		case 'm':
			mib = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		case 'R':
			ring_bytes = (size_t)strtoull(optarg, NULL, 10) << 20;
			break;
		case 'q':
			mib = 16;
			break;
		default:
			fprintf(
			    stderr,
			    "usage: %s [-d dir] [-m MiB per run] [-r reps] [-R ring MiB] [-q]\n",
			    argv[0]);
			return 2;
		}
	}
	if (!mib)
		mib = 1;
	if (reps < 1 || reps > 15)
		reps = 3;
	snprintf(root, sizeof(root), "%s/sga-bench-store-XXXXXX", base);
	if (!mkdtemp(root)) {
		fprintf(stderr, "mkdtemp(%s): %s\n", root, strerror(errno));
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/log", root);
	printf("message store append throughput: %s (%s), %" PRIu64
	       " MiB on disk per run, median of %d runs each interleaved with its dd run;\n"
	       "ring %zu MiB, segments 64 MiB, interval 10 ms\n",
	       base, fs_name(root), mib, reps, ring_bytes ? ring_bytes >> 20 : (size_t)4);
	printf("%-8s %5s %10s %11s %9s %9s %9s %7s %7s %11s\n", "policy", "size", "msgs", "msgs/s",
	       "MB/s pay", "MB/s disk", "dd MB/s", "ratio", "syncs", "batch KiB");
	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		for (size_t pi = 0; pi < sizeof(pols) / sizeof(pols[0]); pi++) {
			uint64_t n = (mib << 20) / msg_log_rec_len(sizes[si]);
			struct result r[15];
			double st_secs[15], dd_secs[15], store_mbs, dd_mbs, dd_med;
			int med;

			for (int k = 0; k < reps; k++) {
				nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
				if (run_store(dir, pols[pi], sizes[si], n, &r[k]))
					return 1;
				nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
				dd_secs[k] = run_dd(root, r[k].disk_bytes);
				st_secs[k] = r[k].secs;
			}
			/* the run with the median store time, and the median dd time */
			med = 0;
			for (int k = 0; k < reps; k++) {
				int below = 0;

				for (int j = 0; j < reps; j++)
					below += st_secs[j] < st_secs[k] ||
					         (st_secs[j] == st_secs[k] && j < k);
				if (below == reps / 2)
					med = k;
			}
			qsort(dd_secs, (size_t)reps, sizeof(double), cmp_double);
			dd_med = dd_secs[reps / 2];
			store_mbs = (double)r[med].disk_bytes / r[med].secs / 1e6;
			dd_mbs = dd_med > 0 ? (double)r[med].disk_bytes / dd_med / 1e6 : 0;
			printf("%-8s %5zu %10" PRIu64 " %11.0f %9.1f %9.1f %9.1f %7.2f %7" PRIu64
			       " %11.0f\n",
			       msg_log_fsync_name(pols[pi]), sizes[si], r[med].msgs,
			       (double)r[med].msgs / r[med].secs,
			       (double)r[med].payload_bytes / r[med].secs / 1e6, store_mbs, dd_mbs,
			       dd_mbs > 0 ? store_mbs / dd_mbs : 0, r[med].syncs,
			       r[med].batches
			           ? (double)r[med].disk_bytes / (double)r[med].batches / 1024
			           : 0);
			fflush(stdout);
		}
	}
	printf("\nSTORED-ack latency (append -> durable) at a steady 20,000 msgs/s of 1,024 B, "
	       "0.5 s per policy:\n");
	printf("%-8s %10s %10s %10s\n", "policy", "p50 us", "p99 us", "p99.9 us");
	for (size_t pi = 0; pi < sizeof(pols) / sizeof(pols[0]); pi++) {
		double p50 = 0, p99 = 0, p999 = 0;

		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		if (run_paced(dir, pols[pi], 1024, 20000, 0.5, &p50, &p99, &p999))
			return 1;
		printf("%-8s %10.0f %10.0f %10.0f\n", msg_log_fsync_name(pols[pi]), p50, p99, p999);
		fflush(stdout);
	}
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	printf(
	    "\nMB/s disk = record bytes (48-byte header + payload padded to 8) per second until\n"
	    "the last message is durable; dd = the same bytes written sequentially in 1 MiB\n"
	    "blocks with one fdatasync (dd bs=1M conv=fdatasync); ratio = store / dd. Under\n"
	    "'none' durable means written to the page cache, so that ratio can exceed 1.\n");
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
