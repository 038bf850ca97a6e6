/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_config.c - libFuzzer harness for the sga-gateway configuration parser
 * (gateway/gw_config.c): gw_config_parse on the input as the file's text.
 *
 * Properties:
 *  - a refusal says why: one NUL-terminated line naming the file;
 *  - an accepted file yields a configuration the gateway can use as it is:
 *    every string terminated inside its buffer, the identity and suite list
 *    valid, the cross-key rules (a Redis endpoint, lab-only keys under the lab
 *    profile, ring size a power of two) kept;
 *  - the parse is a function of the text alone: the same text gives the same
 *    configuration, and a comment line appended changes nothing.
 */
#include "fuzz_common.h"
#include "gw_config.h"
#include "sga_gateway.h"

#define NAME     "fuzz.conf"
#define TEXT_MAX (64 * 1024)

static char text[TEXT_MAX + 32];
static struct gw_config c1, c2;
static char e1[512], e2[512];

#define TERMINATED(field) FUZZ_CHECK(memchr(c1.field, '\0', sizeof(c1.field)) != NULL)

static void check_accepted(void)
{
	TERMINATED(id);
	TERMINATED(rsa_key);
	TERMINATED(trapdoor_key);
	TERMINATED(package);
	TERMINATED(master_key);
	TERMINATED(stats_file);
	TERMINATED(port);
	TERMINATED(redis_socket);
	TERMINATED(redis_host);
	TERMINATED(rsa_engine);
	TERMINATED(crypto_device);
	TERMINATED(store_dir);
	TERMINATED(lab_provision);
	TERMINATED(eal_args);
	FUZZ_CHECK(sga_id_valid((const uint8_t *)c1.id, strlen(c1.id)));
	FUZZ_CHECK(sga_suite_list_check(c1.suites, c1.n_suites) == 0);
	FUZZ_CHECK(sga_group_get(c1.group) != NULL);
	FUZZ_CHECK(c1.enrollment <= SGA_ENROLL_ALLOWLIST);
	FUZZ_CHECK(c1.udp_port >= 1);
	FUZZ_CHECK(c1.rsa_bits == 2048 || c1.rsa_bits == 3072);
	FUZZ_CHECK(c1.redis_socket[0] || c1.redis_host[0]);
	FUZZ_CHECK(c1.ctrl_ring_size && !(c1.ctrl_ring_size & (c1.ctrl_ring_size - 1)));
	FUZZ_CHECK(c1.lab_profile == GW_PROFILE_LAB ||
	           (!c1.lab_provision[0] && c1.lab_hop_replay_window));
	FUZZ_CHECK(!c1.store_max_mb || c1.store_max_mb >= 2 * c1.store_segment_mb);
	FUZZ_CHECK(c1.lcores >= 1 && c1.lcores <= 64 && c1.workers >= 1 && c1.workers <= 64);
	FUZZ_CHECK(c1.store_fsync >= GW_FSYNC_NONE && c1.store_fsync <= GW_FSYNC_ALWAYS);
	FUZZ_CHECK(c1.hugepages >= GW_HUGE_AUTO && c1.hugepages <= GW_HUGE_NO);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = size < TEXT_MAX ? size : TEXT_MAX;
	int rc1, rc2;

	memcpy(text, data, len);
	text[len] = '\0';
	len = strlen(text); /* the parser's text ends at the first NUL */

	gw_config_defaults(&c1);
	memset(e1, 0, sizeof(e1));
	rc1 = gw_config_parse(&c1, NAME, text, e1, sizeof(e1));
	FUZZ_CHECK(rc1 == 0 || rc1 == -1);
	if (rc1) {
		FUZZ_CHECK(memchr(e1, '\0', sizeof(e1)) != NULL);
		FUZZ_CHECK(!strncmp(e1, NAME ":", strlen(NAME ":")) && !strchr(e1, '\n'));
	} else {
		check_accepted();
	}

	/* The same text with a comment line after it. */
	memcpy(text + len, "\n# fuzz\n", sizeof("\n# fuzz\n"));
	gw_config_defaults(&c2);
	memset(e2, 0, sizeof(e2));
	rc2 = gw_config_parse(&c2, NAME, text, e2, sizeof(e2));
	FUZZ_CHECK(rc2 == rc1);
	if (!rc1)
		FUZZ_CHECK(memcmp(&c1, &c2, sizeof(c1)) == 0);
	return 0;
}
