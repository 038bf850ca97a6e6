/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_crypto_common.c - the parts of sga_crypto.h that do not depend on a
 * crypto library: wiping and constant-time comparison, the cipher-suite
 * registry, and the argument checks of the hash and AEAD calls. Both back ends
 * (OpenSSL in sga_crypto_soft.c, the portable one in offload/portable/) link
 * this file, so a device and a gateway agree on the registry and on which
 * arguments are refused, and with which error. Portable C99 plus <string.h>.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "sga_crypto.h"
#include "sga_crypto_common.h"

/* ---- secure memory helpers -------------------------------------------- */

void sga_memzero(void *p, size_t n)
{
	if (p == NULL || n == 0)
		return;
#if defined(__GNUC__) || defined(__clang__)
	memset(p, 0, n);
	/* The compiler must assume the asm reads the zeroed bytes, so the memset
	 * cannot be dropped as a dead store before free or return. */
	__asm__ __volatile__("" : : "r"(p) : "memory");
#else
	volatile unsigned char *v = (volatile unsigned char *)p;

	while (n--)
		*v++ = 0;
#endif
}

int sga_ct_memeq(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;

	if (n == 0)
		return 1;
	if (a == NULL || b == NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(x[i] ^ y[i]);
	/* 1 when d == 0, without a branch on d. */
	return (int)(1 & (((unsigned)d - 1) >> 8));
}

/* ---- suite registry ----------------------------------------------------- */

const struct sga_suite_info sga_suite_table[SGA_SUITE_COUNT] = {
    {.id = SGA_SUITE_AES128_GCM, .name = "aes-128-gcm", .key_len = 16, .tag_len = 16},
    {.id = SGA_SUITE_AES256_GCM, .name = "aes-256-gcm", .key_len = 32, .tag_len = 16},
    {.id = SGA_SUITE_CHACHA20_POLY1305, .name = "chacha20-poly1305", .key_len = 32, .tag_len = 16},
    {.id = SGA_SUITE_AES128_CCM8, .name = "aes-128-ccm8", .key_len = 16, .tag_len = 8},
    {.id = SGA_SUITE_ASCON_AEAD128, .name = "ascon-aead128", .key_len = 16, .tag_len = 16},
};

int sga_suite_index(uint8_t id)
{
	for (int i = 0; i < SGA_SUITE_COUNT; i++) {
		if (sga_suite_table[i].id == id)
			return i;
	}
	return -1;
}

const struct sga_suite_info *sga_suite_get(uint8_t id)
{
	int idx = sga_suite_index(id);

	return idx < 0 ? NULL : &sga_suite_table[idx];
}

const struct sga_suite_info *sga_suite_by_name(const char *name)
{
	if (name == NULL)
		return NULL;
	for (int i = 0; i < SGA_SUITE_COUNT; i++) {
		if (strcmp(sga_suite_table[i].name, name) == 0)
			return &sga_suite_table[i];
	}
	return NULL;
}

const struct sga_suite_info *sga_suite_list(size_t *count)
{
	if (count != NULL)
		*count = SGA_SUITE_COUNT;
	return sga_suite_table;
}

/* ---- argument checks ------------------------------------------------------ */

int sga_parts_ok(const struct sga_buf *parts, size_t nparts)
{
	if (parts == NULL)
		return nparts == 0;
	for (size_t i = 0; i < nparts; i++) {
		if (parts[i].p == NULL && parts[i].n != 0)
			return 0;
	}
	return 1;
}

/* 1 if [a, a+an) and [b, b+bn) overlap without being the same start. */
static bool partially_overlapping(const void *a, size_t an, const void *b, size_t bn)
{
	uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;

	if (x == y || an == 0 || bn == 0)
		return false;
	return x < y + bn && y < x + an;
}

int sga_aead_seal_check(uint8_t suite, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                        size_t aad_len, const uint8_t *pt, size_t pt_len, const uint8_t *ct,
                        size_t ct_cap, int *idx)
{
	int i = sga_suite_index(suite);
	size_t tag_len;

	if (i < 0 || key == NULL || nonce == NULL || ct == NULL || (aad == NULL && aad_len != 0) ||
	    (pt == NULL && pt_len != 0))
		return -EINVAL;
	tag_len = sga_suite_table[i].tag_len;
	if (aad_len > INT_MAX || pt_len > INT_MAX - tag_len)
		return -EINVAL;
	if (ct_cap < pt_len + tag_len)
		return -ENOSPC;
	if (partially_overlapping(pt, pt_len, ct, pt_len + tag_len))
		return -EINVAL;
	*idx = i;
	return 0;
}

int sga_aead_open_check(uint8_t suite, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                        size_t aad_len, const uint8_t *ct, size_t ct_len, const uint8_t *pt,
                        size_t pt_cap, int *idx)
{
	int i = sga_suite_index(suite);
	size_t pt_len;

	if (i < 0 || key == NULL || nonce == NULL || ct == NULL || (aad == NULL && aad_len != 0))
		return -EINVAL;
	if (aad_len > INT_MAX || ct_len > INT_MAX)
		return -EINVAL;
	if (ct_len < sga_suite_table[i].tag_len)
		return -EBADMSG;
	pt_len = ct_len - sga_suite_table[i].tag_len;
	if (pt == NULL && pt_len != 0)
		return -EINVAL;
	if (pt_cap < pt_len)
		return -ENOSPC;
	if (partially_overlapping(ct, ct_len, pt, pt_len))
		return -EINVAL;
	*idx = i;
	return 0;
}

/* ---- group elements -------------------------------------------------------- */

/* Public values: an ordinary comparison. p - x, computed bytewise, must not
 * borrow and must be at least 2. */
int sga_group_element_in_range(const uint8_t *p, const uint8_t *x, size_t len)
{
	uint8_t high = 0, x_high = 0;
	int borrow = 0, last = 0;

	if (p == NULL || x == NULL || len == 0)
		return 0;
	for (size_t i = len; i-- > 0;) {
		int d = (int)p[i] - x[i] - borrow;

		borrow = d < 0;
		if (i == len - 1)
			last = d & 0xff;
		else
			high |= (uint8_t)d;
	}
	for (size_t i = 0; i + 1 < len; i++)
		x_high |= x[i];
	return !borrow && (high != 0 || last >= 2) && (x_high != 0 || x[len - 1] >= 2);
}

/* ---- P-256 scalars ------------------------------------------------------- */

/* n, the order of the P-256 base point, big-endian. */
static const uint8_t p256_order[SGA_P256_SCALAR_LEN] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

/* Secret: no early exit. The first differing byte decides lt or gt; the
 * bytes after it are still read, into nothing. */
int sga_p256_scalar_in_range(const uint8_t s[SGA_P256_SCALAR_LEN])
{
	unsigned lt = 0, gt = 0, nz = 0;

	for (size_t i = 0; i < SGA_P256_SCALAR_LEN; i++) {
		unsigned a = s[i], b = p256_order[i];
		unsigned undecided = 1u ^ (lt | gt);

		lt |= undecided & ((a - b) >> 8 & 1);
		gt |= undecided & ((b - a) >> 8 & 1);
		nz |= a;
	}
	return lt && nz != 0;
}
