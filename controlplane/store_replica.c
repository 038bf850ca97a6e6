/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store_replica.c - the message store's Redis replica (store_replica.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cp_log.h"
#include "dp_store.h" /* DP_STORE_REC_MARK */
#include "msg_crc32c.h"
#include "msg_log.h"
#include "sga_crypto.h"
#include "sga_err.h"
#include "store_replica.h"

#define OPS_MIN     1024  /* first size of the batch's op arrays */
#define FAIL_LOG_MS 10000 /* one failure line per this period at most */

/* A record's op and its place in the batch (the order among ops of one field). */
struct batch_op {
	struct store_held_op op;
	uint32_t pos;
};

struct store_replica {
	struct store *st;
	unsigned replicas, timeout_ms;
	struct batch_op *batch;    /* the batch's ops in ring order, then sorted */
	struct store_held_op *ops; /* what is sent: the batch coalesced */
	size_t ops_cap;            /* of both */
	uint64_t fail_logged_ms;   /* when the last failure line was written, 0: none */
	uint64_t fails_unlogged;   /* failures since */
	int failing;
	_Atomic uint64_t batches, failures, records, short_waits, last_lsn, last_acked, ops_sent,
	    ops_coalesced, commands;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

struct store_replica *store_replica_open(const struct store_config *scfg, unsigned replicas,
                                         unsigned timeout_ms)
{
	struct store_config sc;
	struct store_replica *r;

	if (!timeout_ms) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->ops_cap = OPS_MIN;
	r->batch = calloc(r->ops_cap, sizeof(*r->batch));
	r->ops = calloc(r->ops_cap, sizeof(*r->ops));
	/* WAIT blocks up to timeout_ms: the socket timeout must outlast it, or a
	 * WAIT that times out would read as Redis unreachable (and reconnect). */
	sc = *scfg;
	sc.timeout_ms = (sc.timeout_ms ? sc.timeout_ms : 1000) + timeout_ms;
	r->st = store_open(&sc);
	sga_memzero(sc.master_key, sizeof(sc.master_key));
	if (!r->batch || !r->ops || !r->st) {
		store_replica_close(r);
		errno = ENOMEM;
		return NULL;
	}
	r->replicas = replicas;
	r->timeout_ms = timeout_ms;
	return r;
}

void store_replica_close(struct store_replica *r)
{
	if (!r)
		return;
	store_close(r->st);
	free(r->batch);
	free(r->ops);
	free(r);
}

/* Rate-limited: the first failure of a run, then one line per FAIL_LOG_MS. */
static int fail(struct store_replica *r, int rc, const char *what, unsigned acked)
{
	uint64_t now = mono_ms();

	atomic_fetch_add_explicit(&r->failures, 1, memory_order_relaxed);
	if (rc == -EREMOTEIO)
		atomic_fetch_add_explicit(&r->short_waits, 1, memory_order_relaxed);
	r->fails_unlogged++;
	if (!r->failing || now - r->fail_logged_ms >= FAIL_LOG_MS) {
		if (rc == -EREMOTEIO)
			cp_log(CP_LOG_WARNING,
			       "message replica: WAIT confirmed %u of %u replicas within %u ms; "
			       "STORED held back (%" PRIu64 " refused batches)",
			       acked, r->replicas, r->timeout_ms, r->fails_unlogged);
		else
			cp_log(CP_LOG_WARNING,
			       "message replica: %s failed; STORED held back (%" PRIu64
			       " refused batches)",
			       what, r->fails_unlogged);
		r->fail_logged_ms = now;
		r->fails_unlogged = 0;
	}
	r->failing = 1;
	return rc;
}

/* One record (whole, MSG_LOG_* layout) to an op; 0: nothing to do for it. */
static int rec_op(const uint8_t *p, size_t rl, struct store_held_op *op)
{
	uint8_t type = p[MSG_LOG_OFF_TYPE], flags = p[MSG_LOG_OFF_FLAGS];

	memset(op, 0, sizeof(*op));
	op->sid = get64(p + MSG_LOG_OFF_SESSION);
	op->role = p[MSG_LOG_OFF_ROLE];
	op->e2e_seq = get64(p + MSG_LOG_OFF_E2E_SEQ);
	if (!op->sid)
		return 0; /* anonymous: nothing keyed (store_replica.h) */
	if (op->role > 1)
		return -EPROTO;
	if (type == MSG_LOG_REC_RELEASE) {
		op->kind = STORE_HELD_DEL;
		return 1;
	}
	if (type != MSG_LOG_REC_MSG)
		return -EPROTO;
	if (flags & DP_STORE_REC_MARK) {
		op->kind = STORE_HELD_MARK;
		return 1;
	}
	op->kind = STORE_HELD_PUT;
	op->rec = p;
	op->rec_len = rl;
	return 1;
}

/* Room for n ops in both arrays (the writer thread: allocation is fine here). */
static int ops_room(struct store_replica *r, size_t n)
{
	size_t cap = r->ops_cap;
	void *p;

	if (n <= cap)
		return 0;
	while (cap < n)
		cap *= 2;
	p = realloc(r->batch, cap * sizeof(*r->batch));
	if (!p)
		return -ENOMEM;
	r->batch = p;
	p = realloc(r->ops, cap * sizeof(*r->ops));
	if (!p)
		return -ENOMEM;
	r->ops = p;
	r->ops_cap = cap;
	return 0;
}

/* Field ops of one (session, role, e2e_seq) together, in batch order; the
 * marks of a (session, role) after them. */
static int batch_cmp(const void *a, const void *b)
{
	const struct batch_op *x = a, *y = b;
	int xm = x->op.kind == STORE_HELD_MARK, ym = y->op.kind == STORE_HELD_MARK;

	if (x->op.sid != y->op.sid)
		return x->op.sid < y->op.sid ? -1 : 1;
	if (x->op.role != y->op.role)
		return x->op.role < y->op.role ? -1 : 1;
	if (xm != ym)
		return xm - ym;
	if (!xm && x->op.e2e_seq != y->op.e2e_seq)
		return x->op.e2e_seq < y->op.e2e_seq ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int same_target(const struct store_held_op *a, const struct store_held_op *b)
{
	int am = a->kind == STORE_HELD_MARK;

	return a->sid == b->sid && a->role == b->role && am == (b->kind == STORE_HELD_MARK) &&
	       (am || a->e2e_seq == b->e2e_seq);
}

/* The ops of one target from batch[i]: the last PUT not deleted after it, the
 * last DEL, the highest mark. Returns the index past them. */
static size_t target_ops(const struct batch_op *batch, size_t i, size_t n,
                         const struct batch_op **put, const struct batch_op **del,
                         const struct batch_op **mark)
{
	size_t j = i;

	*put = *del = *mark = NULL;
	for (; j < n && same_target(&batch[i].op, &batch[j].op); j++) {
		const struct batch_op *b = &batch[j];

		if (b->op.kind == STORE_HELD_MARK) {
			if (!*mark || b->op.e2e_seq > (*mark)->op.e2e_seq)
				*mark = b;
		} else if (b->op.kind == STORE_HELD_DEL) {
			*del = b;
			*put = NULL; /* deleted after it */
		} else {
			*put = b;
		}
	}
	return j;
}

/*
 * The batch's n ops coalesced into r->ops: what Redis holds after them, in
 * fewer commands. Per field, a HDEL if the batch deletes it (the field may
 * come from an earlier batch), and the last HSET if one follows the last
 * HDEL: a message stored and delivered within one batch is never written.
 * Per (session, role), the highest mark (the script only raises it). Per
 * session the HDELs come first, then the HSETs, then the marks, so that
 * store_held_write sends each kind as one command per session hash; fields
 * differ between ops of one kind, and a field's HDEL precedes its HSET.
 */
static size_t coalesce(struct store_replica *r, size_t n)
{
	size_t out = 0;

	qsort(r->batch, n, sizeof(*r->batch), batch_cmp);
	for (size_t i = 0, end; i < n; i = end) {
		for (end = i; end < n && r->batch[end].op.sid == r->batch[i].op.sid; end++)
			;
		for (int pass = 0; pass < 3; pass++)
			for (size_t j = i; j < end;) {
				const struct batch_op *put, *del, *mark;
				const struct batch_op *take;

				j = target_ops(r->batch, j, end, &put, &del, &mark);
				take = pass == 0 ? del : pass == 1 ? put : mark;
				if (take)
					r->ops[out++] = take->op;
			}
	}
	return out;
}

int store_replica_hook(void *ctx, const struct iovec *iov, int iovcnt, uint64_t last_lsn)
{
	struct store_replica *r = ctx;
	unsigned acked = 0, cmds = 0;
	uint64_t records = 0;
	size_t n = 0, sent;
	int rc;

	for (int i = 0; i < iovcnt; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t off = 0;

		while (off + MSG_LOG_HDR_LEN <= iov[i].iov_len) {
			size_t rl = msg_log_rec_len(get32(p + off + MSG_LOG_OFF_LENGTH));

			if (off + rl > iov[i].iov_len)
				return fail(r, -EPROTO, "a record split across iovecs", 0);
			if (ops_room(r, n + 1))
				return fail(r, -ENOMEM, "memory for the batch", 0);
			rc = rec_op(p + off, rl, &r->batch[n].op);
			if (rc < 0)
				return fail(r, rc, "a malformed record", 0);
			r->batch[n].pos = (uint32_t)n;
			n += (unsigned)rc;
			records++;
			off += rl;
		}
	}
	sent = coalesce(r, n);
	if (sent && (rc = store_held_write(r->st, r->ops, (unsigned)sent, &cmds)))
		return fail(r, rc == -SGA_E_BAD_FIELD ? -EPROTO : -EHOSTDOWN, "the Redis write", 0);
	rc = store_held_wait(r->st, r->replicas, r->timeout_ms, &acked);
	if (rc == -SGA_E_NOSPACE)
		return fail(r, -EREMOTEIO, "WAIT", acked);
	if (rc)
		return fail(r, -EHOSTDOWN, "WAIT", 0);
	if (r->failing) {
		cp_log(CP_LOG_INFO, "message replica: batches replicated again");
		r->failing = 0;
		r->fails_unlogged = 0;
	}
	atomic_fetch_add_explicit(&r->batches, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->records, records, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->ops_sent, sent, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->commands, cmds, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->ops_coalesced, n - sent, memory_order_relaxed);
	if (last_lsn)
		atomic_store_explicit(&r->last_lsn, last_lsn, memory_order_relaxed);
	atomic_store_explicit(&r->last_acked, r->replicas ? acked : 0, memory_order_relaxed);
	return 0;
}

void store_replica_stats(const struct store_replica *r, struct store_replica_stats *out)
{
	struct store_replica *m = (struct store_replica *)r;

	memset(out, 0, sizeof(*out));
	if (!r)
		return;
	out->batches = atomic_load_explicit(&m->batches, memory_order_relaxed);
	out->failures = atomic_load_explicit(&m->failures, memory_order_relaxed);
	out->records = atomic_load_explicit(&m->records, memory_order_relaxed);
	out->short_waits = atomic_load_explicit(&m->short_waits, memory_order_relaxed);
	out->last_lsn = atomic_load_explicit(&m->last_lsn, memory_order_relaxed);
	out->last_acked = atomic_load_explicit(&m->last_acked, memory_order_relaxed);
	out->ops_sent = atomic_load_explicit(&m->ops_sent, memory_order_relaxed);
	out->ops_coalesced = atomic_load_explicit(&m->ops_coalesced, memory_order_relaxed);
	out->commands = atomic_load_explicit(&m->commands, memory_order_relaxed);
}

/* ---- reading the backlog back ---------------------------------------------------- */

struct load_ctx {
	uint64_t sid;
	struct store_replica_msg *v;
	uint8_t **bufs;
	size_t n, cap;
	unsigned bad;
	int oom;
};

/* A field's value is a MSG record of that session, role and e2e_seq, intact. */
static int rec_valid(const uint8_t *p, size_t len, uint64_t sid, uint8_t role, uint64_t seq)
{
	uint32_t plen;

	if (len < MSG_LOG_HDR_LEN || get32(p + MSG_LOG_OFF_MAGIC) != MSG_LOG_MAGIC ||
	    p[MSG_LOG_OFF_VERSION] != MSG_LOG_VERSION || p[MSG_LOG_OFF_TYPE] != MSG_LOG_REC_MSG)
		return 0;
	plen = get32(p + MSG_LOG_OFF_LENGTH);
	if (plen > MSG_LOG_MAX_PAYLOAD || msg_log_rec_len(plen) != len)
		return 0;
	if (msg_crc32c(0, p + MSG_LOG_OFF_TYPE, len - MSG_LOG_OFF_TYPE) !=
	    get32(p + MSG_LOG_OFF_CRC))
		return 0;
	return get64(p + MSG_LOG_OFF_SESSION) == sid && p[MSG_LOG_OFF_ROLE] == role &&
	       get64(p + MSG_LOG_OFF_E2E_SEQ) == seq && !(p[MSG_LOG_OFF_FLAGS] & DP_STORE_REC_MARK);
}

static int load_one(void *arg, uint8_t role, uint64_t seq, const uint8_t *rec, size_t len)
{
	struct load_ctx *c = arg;
	uint8_t *copy;

	if (!rec_valid(rec, len, c->sid, role, seq)) {
		c->bad++;
		return 0;
	}
	if (c->n == c->cap) {
		size_t ncap = c->cap ? 2 * c->cap : 64;
		struct store_replica_msg *nv = realloc(c->v, ncap * sizeof(*nv));
		uint8_t **nb;

		if (!nv)
			goto oom;
		c->v = nv;
		nb = realloc(c->bufs, ncap * sizeof(*nb));
		if (!nb)
			goto oom;
		c->bufs = nb;
		c->cap = ncap;
	}
	copy = malloc(len);
	if (!copy)
		goto oom;
	memcpy(copy, rec, len);
	c->bufs[c->n] = copy;
	c->v[c->n] = (struct store_replica_msg){
	    .sid = c->sid,
	    .e2e_seq = seq,
	    .role = role,
	    .len = (uint16_t)get32(rec + MSG_LOG_OFF_LENGTH),
	    .payload = copy + MSG_LOG_HDR_LEN,
	    .timestamp_ms = get64(rec + MSG_LOG_OFF_TS),
	};
	c->n++;
	return 0;
oom:
	c->oom = 1;
	return -SGA_E_INTERNAL;
}

static int msg_cmp(const void *a, const void *b)
{
	const struct store_replica_msg *x = a, *y = b;

	if (x->role != y->role)
		return x->role < y->role ? -1 : 1;
	return x->e2e_seq < y->e2e_seq ? -1 : x->e2e_seq > y->e2e_seq;
}

int store_replica_load(struct store *st, uint64_t sid,
                       void (*fn)(void *arg, const struct store_replica_msg *m), void *arg,
                       uint64_t marks[2], unsigned *bad)
{
	struct load_ctx c = {.sid = sid};
	unsigned fbad = 0;
	int rc = store_held_load(st, sid, load_one, &c, marks, &fbad);

	if (!rc) {
		qsort(c.v, c.n, sizeof(*c.v), msg_cmp);
		for (size_t i = 0; i < c.n; i++)
			fn(arg, &c.v[i]);
	}
	if (bad)
		*bad = fbad + c.bad;
	for (size_t i = 0; i < c.n; i++)
		free(c.bufs[i]);
	free(c.bufs);
	free(c.v);
	return rc;
}
