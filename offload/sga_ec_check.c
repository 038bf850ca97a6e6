/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_ec_check.c - the element check of the x25519 group, in plain C with no
 * crypto library, so the OpenSSL and the portable back ends share it.
 *
 * X25519 itself accepts any 32 bytes, but a peer that sends a point of small
 * order forces the shared secret into a set of at most eight values, and a
 * non-canonical encoding (u >= p, or bit 255 set) gives one point two names,
 * which the transcript hashes would tell apart. Both are refused here
 * (BAD_ELEMENT), the analogue of the ffdhe groups' 2 <= x <= p-2.
 */
#include <string.h>

#include "sga_crypto.h"

/* The u coordinates of small order that are canonical: 0, 1, the two points
 * of order 8, and p - 1 (order 2 on the twist side), little-endian. */
static const uint8_t small_order_u[5][SGA_X25519_LEN] = {
    {0},
    {1},
    {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
     0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
     0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
    {0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
     0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
     0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
};

/* 1 if the little-endian u is below p = 2^255 - 19 (ed ff .. ff 7f). */
static int x25519_canonical(const uint8_t u[SGA_X25519_LEN])
{
	if (u[31] & 0x80)
		return 0;
	if (u[31] != 0x7f)
		return 1;
	for (int i = 30; i >= 1; i--)
		if (u[i] != 0xff)
			return 1;
	return u[0] < 0xed;
}

int sga_x25519_element_ok(const uint8_t u[SGA_X25519_LEN])
{
	/* Elements are public: ordinary comparisons are fine. */
	if (u == NULL || !x25519_canonical(u))
		return 0;
	for (size_t i = 0; i < sizeof(small_order_u) / sizeof(small_order_u[0]); i++)
		if (memcmp(u, small_order_u[i], SGA_X25519_LEN) == 0)
			return 0;
	return 1;
}
