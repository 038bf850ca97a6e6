/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_common.h - what every libFuzzer harness of tests/fuzz shares: the
 * property check that turns a violated invariant into a crash libFuzzer
 * records (with the input that caused it), and a bounded reader over the
 * fuzzer's bytes for harnesses that take structure from them.
 */
#ifndef SGA_FUZZ_COMMON_H
#define SGA_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property the code under test must keep: abort (libFuzzer saves the input
 * as a crash artifact) with the condition that failed. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz property violated: %s:%d: %s\n", __FILE__, __LINE__, \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* A failed set-up step of the harness itself (not a finding). */
#define FUZZ_SETUP(cond)                                                                       \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			fprintf(stderr, "fuzz set-up failed: %s:%d: %s\n", __FILE__, __LINE__, \
			        #cond);                                                        \
			exit(2);                                                               \
		}                                                                              \
	} while (0)

/* The fuzzer's input as a stream: reads past the end give zeros. */
struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t v = 0;

	if (in->left) {
		v = *in->p++;
		in->left--;
	}
	return v;
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t hi = fuzz_u8(in);

	return (uint16_t)(hi << 8 | fuzz_u8(in));
}

static inline uint64_t fuzz_u64(struct fuzz_in *in)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | fuzz_u8(in);
	return v;
}

/* Up to n bytes (fewer when the input ends); *got receives how many. */
static inline const uint8_t *fuzz_bytes(struct fuzz_in *in, size_t n, size_t *got)
{
	const uint8_t *p = in->p;

	if (n > in->left)
		n = in->left;
	in->p += n;
	in->left -= n;
	*got = n;
	return p;
}

/* A chunk prefixed by a 2-byte length (clipped to what is left). */
static inline const uint8_t *fuzz_chunk(struct fuzz_in *in, size_t *got)
{
	return fuzz_bytes(in, fuzz_u16(in), got);
}

/*
 * Seeds: run a harness with SGA_FUZZ_SEEDS=<dir> and its LLVMFuzzerInitialize
 * writes its seed corpus there (frames made with the harness's own fixture)
 * and exits; scripts/fuzz.sh --seeds refreshes tests/fuzz/corpus that way.
 */
static inline const char *fuzz_seed_dir(void)
{
	return getenv("SGA_FUZZ_SEEDS");
}

static inline void fuzz_seed_write(const char *name, const void *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fuzz_seed_dir(), name);
	f = fopen(path, "wb");
	FUZZ_SETUP(f && fwrite(p, 1, n, f) == n && fclose(f) == 0);
}

/* SGA_FUZZ_TRACE=1: one line per step of a step-format input, to read what a
 * seed or a crash artifact does (run the harness on that one file). */
static inline void fuzz_trace(unsigned step, unsigned kind, unsigned type, int rc)
{
	static int on = -1;

	if (on < 0)
		on = getenv("SGA_FUZZ_TRACE") != NULL;
	if (on)
		fprintf(stderr, "step %u kind %u frame type 0x%02x: rc %d\n", step, kind, type, rc);
}

/* A seed of the step format [kind(1) | len(2) | bytes] (gateway, device). */
struct fuzz_steps {
	uint8_t b[8192];
	size_t n;
};

static inline void fuzz_step_add(struct fuzz_steps *s, uint8_t kind, const void *p, size_t n)
{
	FUZZ_SETUP(s->n + 3 + n <= sizeof(s->b) && n <= 0xffff);
	s->b[s->n++] = kind;
	s->b[s->n++] = (uint8_t)(n >> 8);
	s->b[s->n++] = (uint8_t)n;
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

#endif /* SGA_FUZZ_COMMON_H */
