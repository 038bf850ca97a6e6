/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * core_cp_trng.c - built into test_core_on_portable with sga_core_cp_api.h
 * forced in: the board's part of bringing up the portable crypto, done
 * before main (and so before any test forks): the host's getrandom as the
 * TRNG behind sga_random_bytes of the renamed portable back end.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

#include "sga_portable.h"

static int host_trng(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	while (len) {
		ssize_t n = getrandom(buf, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

__attribute__((constructor)) static void core_cp_trng_install(void)
{
	sga_portable_set_random(host_trng, NULL);
}
