/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * core_api.h - the device core's API (sga_core.h) as a table, so one test
 * drives the core built on the OpenSSL back end (sga_core_lib) and the core
 * built as a microcontroller builds it (sources.list + offload/portable,
 * renamed sgacp_sga_*: device/core/meson.build) side by side.
 * CORE_API_TABLE expands to the names in scope where it is used: plain, or
 * renamed where sga_core_cp_names.h is forced in (test_core_portable_vec.c
 * defines core_api_portable so).
 */
#ifndef SGA_TEST_CORE_API_H
#define SGA_TEST_CORE_API_H

#include "sga_core.h"
#include "sga_portable.h"

struct core_api {
	const char *name;
	int (*init)(struct sga_core *c, const struct sga_core_io *io, const uint8_t *pkg_body,
	            size_t pkg_len, const struct sga_core_persist *saved, const uint8_t *id,
	            uint8_t id_len, const uint8_t *suites, uint8_t n_suites);
	void (*fini)(struct sga_core *c);
	int (*reg)(struct sga_core *c, const uint8_t *token, uint8_t token_len);
	int (*connect)(struct sga_core *c, const uint8_t *peer, uint8_t peer_len);
	void (*accept)(struct sga_core *c, int on);
	int (*send)(struct sga_core *c, const uint8_t *msg, size_t len, uint64_t *seq);
	void (*input)(struct sga_core *c, const uint8_t *frame, size_t len);
	void (*poll)(struct sga_core *c);
	int32_t (*next_timer)(const struct sga_core *c);
	int (*established)(const struct sga_core *c);
};

#define CORE_API_TABLE(label)                                                             \
	{                                                                                 \
		label, sga_core_init, sga_core_fini, sga_core_register, sga_core_connect, \
		    sga_core_accept, sga_core_send, sga_core_input, sga_core_poll,        \
		    sga_core_next_timer, sga_core_established                             \
	}

/** The core on the portable crypto (test_core_portable_vec.c). */
extern const struct core_api core_api_portable;
/** sga_portable_set_random of that build. */
void core_api_portable_set_random(sga_portable_random_fn fn, void *ctx);

#endif /* SGA_TEST_CORE_API_H */
