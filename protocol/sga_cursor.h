/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_cursor.h - bounded cursors for reading and writing wire bytes.
 *
 * Every parser in SGA reads through a struct sga_rd and every encoder writes
 * through a struct sga_wr: typed reads that check the remaining length before
 * touching a byte, so no field is ever read past the end of a frame. A failed
 * read or write latches an error; callers check it once at the end (or after
 * the reads whose values steer further parsing), which keeps parsers linear.
 * All integers are big-endian (network order).
 */
#ifndef SGA_CURSOR_H
#define SGA_CURSOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sga_err.h"

struct sga_rd {
	const uint8_t *p;
	size_t len;
	size_t off;
	int err; /* 0 or -SGA_E_TRUNCATED, latched */
};

struct sga_wr {
	uint8_t *p;
	size_t cap;
	size_t off;
	int err; /* 0 or -SGA_E_NOSPACE, latched */
};

static inline void sga_rd_init(struct sga_rd *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->err = 0;
}

static inline size_t sga_rd_left(const struct sga_rd *r)
{
	return r->err ? 0 : r->len - r->off;
}

/** Pointer to the next n bytes and advance, or NULL (error latched). */
static inline const uint8_t *sga_rd_bytes(struct sga_rd *r, size_t n)
{
	const uint8_t *q;

	if (r->err || n > r->len - r->off) {
		r->err = -SGA_E_TRUNCATED;
		return NULL;
	}
	q = r->p + r->off;
	r->off += n;
	return q;
}

static inline uint8_t sga_rd_u8(struct sga_rd *r)
{
	const uint8_t *q = sga_rd_bytes(r, 1);
	return q ? q[0] : 0;
}

static inline uint16_t sga_rd_u16(struct sga_rd *r)
{
	const uint8_t *q = sga_rd_bytes(r, 2);
	return q ? (uint16_t)((q[0] << 8) | q[1]) : 0;
}

static inline uint64_t sga_rd_u64(struct sga_rd *r)
{
	const uint8_t *q = sga_rd_bytes(r, 8);
	uint64_t v = 0;

	if (q)
		for (int i = 0; i < 8; i++)
			v = (v << 8) | q[i];
	return v;
}

static inline void sga_wr_init(struct sga_wr *w, uint8_t *p, size_t cap)
{
	w->p = p;
	w->cap = cap;
	w->off = 0;
	w->err = 0;
}

/** Reserve n bytes and return a pointer to them, or NULL (error latched). */
static inline uint8_t *sga_wr_reserve(struct sga_wr *w, size_t n)
{
	uint8_t *q;

	if (w->err || n > w->cap - w->off) {
		w->err = -SGA_E_NOSPACE;
		return NULL;
	}
	q = w->p + w->off;
	w->off += n;
	return q;
}

static inline void sga_wr_bytes(struct sga_wr *w, const void *src, size_t n)
{
	uint8_t *q = sga_wr_reserve(w, n);

	if (q && n)
		memcpy(q, src, n);
}

static inline void sga_wr_u8(struct sga_wr *w, uint8_t v)
{
	sga_wr_bytes(w, &v, 1);
}

static inline void sga_wr_u16(struct sga_wr *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	sga_wr_bytes(w, b, 2);
}

static inline void sga_wr_u64(struct sga_wr *w, uint64_t v)
{
	uint8_t b[8];

	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
	sga_wr_bytes(w, b, 8);
}

static inline void sga_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void sga_put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline uint64_t sga_get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

#endif /* SGA_CURSOR_H */
