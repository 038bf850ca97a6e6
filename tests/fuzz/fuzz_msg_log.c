/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_msg_log.c - libFuzzer harness for the message store's crash recovery
 * (msgstore/msg_log_recover.c, through msg_log_open): the input is an image of
 * a log directory, written to a fresh temporary directory, then opened twice.
 *
 * Image: opts(1), then per file [name(1) | fix(1) | len(2) | bytes(len)].
 * opts: bits 0-3 the number of files (mod 9); bit 4 size retention (max_bytes
 * 8 KiB, two segments), bit 5 age retention (one year: record timestamps decide
 * what expires; the harness moves each well clear of the limit, or the clock
 * would decide), bit 6 fsync interval (the writer zero-fills ahead of itself);
 * opts and configuration are the same for both opens. Per file:
 * the file is seg-<name + 1, 16 hex>.log; fix bit 0 makes the harness stamp
 * magic and version into every record header it walks and bit 1 recompute the
 * CRC-32C of every complete record, so the fuzzer reaches the checks behind
 * the checksum (lsn sequence, releases, segment order) and not only the
 * checksum itself.
 *
 * Property: recovery is idempotent. Whatever the first open found and
 * repaired (torn tails cut, segments deleted, releases carried forward), a
 * second open of the same directory hands back the same live messages (lsn,
 * metadata, payload) and the same next lsn, and finds no torn tail to cut.
 */
#include <ftw.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "msg_crc32c.h"
#include "msg_log.h"

#define MAX_LIVE  4096
#define MAX_FILES 8

struct live {
	struct msg_rec m;
	size_t len;
	uint32_t crc; /* of the payload */
};

struct found {
	struct msg_log_recovery rep;
	size_t n;
	int overflow;
	struct live v[MAX_LIVE];
};

static char base[256], dir[300];
static uint8_t opts;
static struct found first, second;

static void quiet(void *ctx, enum msg_log_level level, const char *msg)
{
	(void)ctx;
	(void)level;
	(void)msg;
}

static void on_live(void *ctx, const struct msg_rec *m, const void *payload, size_t len)
{
	struct found *f = ctx;

	if (f->n == MAX_LIVE) {
		f->overflow = 1;
		return;
	}
	f->v[f->n].m = *m;
	f->v[f->n].len = len;
	f->v[f->n].crc = msg_crc32c(0, payload, len);
	f->n++;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* ---- seeds: directory images of the shapes recovery knows -------------------- */

struct image {
	uint8_t b[16384];
	size_t n;
	size_t file_len_at; /* where the open file's length goes */
};

static void img_file(struct image *im, uint8_t name)
{
	im->b[im->n++] = name;
	im->b[im->n++] = 3; /* fix: magic, version and CRC stamped by the harness */
	im->file_len_at = im->n;
	im->n += 2;
}

static void img_rec(struct image *im, uint8_t type, uint64_t lsn, size_t payload)
{
	uint8_t *h = im->b + im->n;
	size_t rl = msg_log_rec_len(type == MSG_LOG_REC_MSG ? payload : 0), flen;

	memset(h, 0, rl);
	h[4] = type == MSG_LOG_REC_MSG ? (uint8_t)payload : 0;
	h[MSG_LOG_OFF_TYPE] = type;
	h[MSG_LOG_OFF_ROLE] = type == MSG_LOG_REC_MSG;
	for (int i = 0; i < 8; i++) {
		h[MSG_LOG_OFF_LSN + i] = (uint8_t)(lsn >> (8 * i));
		h[MSG_LOG_OFF_TS + i] = (uint8_t)(1700000000000ull >> (8 * i));
		h[MSG_LOG_OFF_SESSION + i] = type == MSG_LOG_REC_MSG ? 0x33 : 0;
	}
	memset(h + MSG_LOG_HDR_LEN, 0xab, type == MSG_LOG_REC_MSG ? payload : 0);
	im->n += rl;
	flen = im->n - im->file_len_at - 2;
	im->b[im->file_len_at] = (uint8_t)(flen >> 8);
	im->b[im->file_len_at + 1] = (uint8_t)flen;
}

static void seeds(void)
{
	struct image im;

	/* One segment: three messages, the second released. */
	im.n = 0, im.b[im.n++] = 1;
	img_file(&im, 0);
	img_rec(&im, MSG_LOG_REC_MSG, 1, 5);
	img_rec(&im, MSG_LOG_REC_MSG, 2, 16);
	img_rec(&im, MSG_LOG_REC_MSG, 3, 0);
	img_rec(&im, MSG_LOG_REC_RELEASE, 2, 0);
	fuzz_seed_write("one-segment", im.b, im.n);

	/* Two segments; the newer releases every message of the older one. */
	im.n = 0, im.b[im.n++] = 2;
	img_file(&im, 0);
	img_rec(&im, MSG_LOG_REC_MSG, 1, 8);
	img_rec(&im, MSG_LOG_REC_MSG, 2, 8);
	img_file(&im, 2);
	img_rec(&im, MSG_LOG_REC_MSG, 3, 8);
	img_rec(&im, MSG_LOG_REC_RELEASE, 1, 0);
	img_rec(&im, MSG_LOG_REC_RELEASE, 2, 0);
	fuzz_seed_write("two-segments-released", im.b, im.n);

	/* A torn tail: the last record cut short. */
	im.n = 0, im.b[im.n++] = 1;
	img_file(&im, 0);
	img_rec(&im, MSG_LOG_REC_MSG, 1, 8);
	img_rec(&im, MSG_LOG_REC_MSG, 2, 40);
	im.n -= 20;
	im.b[im.file_len_at + 1] = (uint8_t)(im.b[im.file_len_at + 1] - 20);
	fuzz_seed_write("torn-tail", im.b, im.n);

	/* An older segment with a bad record in the middle, a newer one intact. */
	im.n = 0, im.b[im.n++] = 2;
	img_file(&im, 0);
	img_rec(&im, MSG_LOG_REC_MSG, 1, 8);
	img_rec(&im, MSG_LOG_REC_MSG, 5, 8); /* out of sequence */
	img_rec(&im, MSG_LOG_REC_MSG, 3, 8);
	img_file(&im, 9);
	img_rec(&im, MSG_LOG_REC_MSG, 10, 8);
	img_rec(&im, MSG_LOG_REC_RELEASE, 1, 0);
	fuzz_seed_write("corrupt-older", im.b, im.n);

	/* Zero-filled space after the last record (the writer's preallocation). */
	im.n = 0, im.b[im.n++] = 1;
	img_file(&im, 0);
	img_rec(&im, MSG_LOG_REC_MSG, 1, 8);
	memset(im.b + im.n, 0, 512);
	im.n += 512;
	im.b[im.file_len_at] = (uint8_t)((im.n - im.file_len_at - 2) >> 8);
	im.b[im.file_len_at + 1] = (uint8_t)(im.n - im.file_len_at - 2);
	fuzz_seed_write("prealloc-zeros", im.b, im.n);

	/* Age retention: one message of 2023 (expires), one of 2100 (stays). */
	im.n = 0, im.b[im.n++] = 1 | 32;
	img_file(&im, 0);
	img_rec(&im, MSG_LOG_REC_MSG, 1, 8);
	img_rec(&im, MSG_LOG_REC_MSG, 2, 8);
	for (int i = 0; i < 8; i++)
		im.b[im.n - 56 + MSG_LOG_OFF_TS + i] = (uint8_t)(4102444800000ull >> (8 * i));
	fuzz_seed_write("age-mixed", im.b, im.n);

	/* Three segments over the size limit, fsync interval. */
	im.n = 0, im.b[im.n++] = 3 | 16 | 64;
	for (uint8_t k = 0; k < 3; k++) {
		img_file(&im, (uint8_t)(40 * k));
		for (uint64_t m = 0; m < 40; m++)
			img_rec(&im, MSG_LOG_REC_MSG, 40 * k + m + 1, 64);
	}
	fuzz_seed_write("size-retention", im.b, im.n);
	exit(0);
}

static void remove_base(void)
{
	(void)nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	(void)argc;
	(void)argv;
	snprintf(base, sizeof(base), "%s/sga-fuzz-msglog-XXXXXX", tmp);
	FUZZ_SETUP(mkdtemp(base) != NULL);
	atexit(remove_base);
	snprintf(dir, sizeof(dir), "%s/log", base);
	if (fuzz_seed_dir())
		seeds();
	return 0;
}

#define AGE_MAX_MS (365ull * 24 * 3600 * 1000)

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int crc_ok(const uint8_t *h, size_t rl)
{
	uint32_t crc = msg_crc32c(0, h + MSG_LOG_OFF_TYPE, rl - MSG_LOG_OFF_TYPE);

	return h[8] == (uint8_t)crc && h[9] == (uint8_t)(crc >> 8) &&
	       h[10] == (uint8_t)(crc >> 16) && h[11] == (uint8_t)(crc >> 24);
}

static void crc_put(uint8_t *h, size_t rl)
{
	uint32_t crc = msg_crc32c(0, h + MSG_LOG_OFF_TYPE, rl - MSG_LOG_OFF_TYPE);

	h[8] = (uint8_t)crc, h[9] = (uint8_t)(crc >> 8);
	h[10] = (uint8_t)(crc >> 16), h[11] = (uint8_t)(crc >> 24);
}

/* Under age retention a timestamp near the limit would expire between the two
 * opens (the clock moves): move each one well clear of it, to long ago or to
 * the far future, keeping a valid CRC valid. */
static void snap_ts(uint8_t *h, size_t rl)
{
	uint64_t ts = 0, limit = now_ms() - AGE_MAX_MS;
	int valid = crc_ok(h, rl);

	for (int i = 7; i >= 0; i--)
		ts = ts << 8 | h[MSG_LOG_OFF_TS + i];
	ts = ts < limit ? 1 : UINT64_MAX / 2;
	for (int i = 0; i < 8; i++)
		h[MSG_LOG_OFF_TS + i] = (uint8_t)(ts >> (8 * i));
	if (valid)
		crc_put(h, rl);
}

/* Walk the records of a file image, stamping what fix asks for. */
static void fix_records(uint8_t *p, size_t n, uint8_t fix)
{
	size_t off = 0;

	while (off + MSG_LOG_HDR_LEN <= n) {
		uint8_t *h = p + off;
		uint32_t len;
		size_t rl;

		if (fix & 1) {
			h[0] = 'M', h[1] = 'S', h[2] = 'L', h[3] = 'G';
			h[MSG_LOG_OFF_VERSION] = MSG_LOG_VERSION;
		}
		len = (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 |
		      (uint32_t)h[7] << 24;
		if (len > MSG_LOG_MAX_PAYLOAD)
			return;
		rl = msg_log_rec_len(len);
		if (rl > n - off)
			return;
		if (fix & 2)
			crc_put(h, rl);
		if (opts & 32)
			snap_ts(h, rl);
		off += rl;
	}
}

static int write_image(const uint8_t *data, size_t size)
{
	static uint8_t buf[1 << 16];
	struct fuzz_in in = {data, size};
	unsigned n_files;

	opts = fuzz_u8(&in);
	n_files = (opts & 15) % (MAX_FILES + 1);

	if (mkdir(dir, 0700))
		return -1;
	for (unsigned i = 0; i < n_files; i++) {
		char path[400];
		uint64_t lsn = (uint64_t)fuzz_u8(&in) + 1;
		uint8_t fix = fuzz_u8(&in);
		size_t len;
		const uint8_t *p = fuzz_chunk(&in, &len);
		FILE *f;

		memcpy(buf, p, len);
		fix_records(buf, len, fix);
		snprintf(path, sizeof(path), "%s/seg-%016" PRIx64 ".log", dir, lsn);
		f = fopen(path, "wb");
		FUZZ_SETUP(f && fwrite(buf, 1, len, f) == len && fclose(f) == 0);
	}
	return 0;
}

static void recover(struct found *f)
{
	struct msg_log_config cfg = {
	    .dir = dir,
	    .fsync = opts & 64 ? MSG_LOG_FSYNC_INTERVAL : MSG_LOG_FSYNC_NONE,
	    .ring_bytes = 4096,
	    .segment_bytes = 4096,
	    .max_bytes = opts & 16 ? 8192 : 0,
	    .max_age_ms = opts & 32 ? AGE_MAX_MS : 0,
	    .log_fn = quiet,
	};
	struct msg_log *log;

	memset(f, 0, offsetof(struct found, v));
	log = msg_log_open(&cfg, on_live, f, &f->rep);
	FUZZ_SETUP(log != NULL);
	msg_log_close(log);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (write_image(data, size))
		FUZZ_SETUP(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 &&
		           write_image(data, size) == 0);
	recover(&first);
	recover(&second);
	FUZZ_CHECK(first.rep.next_lsn == second.rep.next_lsn);
	FUZZ_CHECK(second.rep.bytes_cut == 0);
	FUZZ_CHECK(first.overflow == second.overflow && first.n == second.n);
	FUZZ_CHECK(first.rep.live == second.rep.live);
	for (size_t i = 0; i < first.n; i++) {
		const struct live *a = &first.v[i], *b = &second.v[i];

		FUZZ_CHECK(a->m.lsn == b->m.lsn && a->m.session_id == b->m.session_id);
		FUZZ_CHECK(a->m.e2e_seq == b->m.e2e_seq && a->m.timestamp_ms == b->m.timestamp_ms);
		FUZZ_CHECK(a->m.role == b->m.role && a->m.flags == b->m.flags);
		FUZZ_CHECK(a->len == b->len && a->crc == b->crc);
		FUZZ_CHECK(i == 0 || a->m.lsn > first.v[i - 1].m.lsn);
		FUZZ_CHECK(a->m.lsn < first.rep.next_lsn);
	}
	FUZZ_SETUP(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0);
	return 0;
}
