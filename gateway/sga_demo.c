/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_demo.c - the whole SGA protocol in one process: a gateway and two devices
 * exchanging real frames through function calls, printing each phase. It shows
 * what the protocol does and what it costs, with no network and no Redis.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: sga-demo [options]\n"
	        "Run registration, cipher negotiation, the three-party key exchange and\n"
	        "message delivery between two devices and a gateway, in one process.\n\n"
	        "  -g, --group NAME      ffdhe2048 (default) or ffdhe3072\n"
	        "  -s, --suites LIST     initiator preference list, comma separated\n"
	        "                        (default aes-128-gcm; known: aes-128-gcm, aes-256-gcm,\n"
	        "                        chacha20-poly1305, aes-128-ccm8, ascon-aead128)\n"
	        "  -r, --rsa-bits N      gateway RSA key size: 2048 (default) or 3072\n"
	        "  -n, --messages N      messages each way (default 1000)\n"
	        "  -h, --help            this text\n"
	        "  -V, --version         print the version\n");
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int parse_suites(char *arg, uint8_t *out, uint8_t *n)
{
	*n = 0;
	for (char *tok = strtok(arg, ","); tok; tok = strtok(NULL, ",")) {
		const struct sga_suite_info *s = sga_suite_by_name(tok);

		if (!s) {
			fprintf(stderr, "sga-demo: unknown suite '%s'\n", tok);
			return -1;
		}
		if (*n == SGA_MAX_SUITES) {
			fprintf(stderr, "sga-demo: at most %d suites\n", SGA_MAX_SUITES);
			return -1;
		}
		out[(*n)++] = s->id;
	}
	return *n ? 0 : -1;
}

static int step(const char *what, int rc, double t0)
{
	if (rc) {
		fprintf(stderr, "  %-28s FAILED: %s (%s)\n", what, sga_err_name(rc),
		        sga_err_desc(rc));
		return -1;
	}
	printf("  %-28s ok  (%.1f ms)\n", what, now_ms() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"group", required_argument, NULL, 'g'},
	    {"suites", required_argument, NULL, 's'},
	    {"rsa-bits", required_argument, NULL, 'r'},
	    {"messages", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	static const uint8_t all[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_AES256_GCM,
	                              SGA_SUITE_CHACHA20_POLY1305, SGA_SUITE_AES128_CCM8,
	                              SGA_SUITE_ASCON_AEAD128};
	const struct sga_group_info *grp = sga_group_get(SGA_GROUP_FFDHE2048);
	uint8_t prefs[SGA_MAX_SUITES] = {SGA_SUITE_AES128_GCM}, n_pref = 1;
	unsigned long messages = 1000, bits = 2048;
	struct harness *h = NULL;
	int c, ret = 1;
	char *end;
	double t0;

	while ((c = getopt_long(argc, argv, "g:s:r:n:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'g':
			grp = sga_group_by_name(optarg);
			if (!grp) {
				fprintf(stderr,
				        "sga-demo: unknown group '%s' (ffdhe2048 or ffdhe3072)\n",
				        optarg);
				return 2;
			}
			break;
		case 's':
			if (parse_suites(optarg, prefs, &n_pref))
				return 2;
			break;
		case 'r':
			bits = strtoul(optarg, &end, 10);
			if (*end || (bits != 2048 && bits != 3072)) {
				fprintf(stderr, "sga-demo: --rsa-bits must be 2048 or 3072\n");
				return 2;
			}
			break;
		case 'n':
			errno = 0;
			messages = strtoul(optarg, &end, 10);
			if (errno || *end || *optarg == '-' || messages > 100000000) {
				fprintf(stderr, "sga-demo: --messages must be 0..100000000\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("sga-demo %s\n", SGA_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "sga-demo: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	h = calloc(1, sizeof(*h));
	if (!h)
		return 1;
	printf("SGA demo: gateway 'gw-test' and devices 'dev-i', 'dev-j' in one process\n");
	printf("  group %s, RSA-%lu, crypto backend '%s'\n\n", grp->name, bits,
	       sga_crypto_backend_get()->name);

	t0 = now_ms();
	harness_set_rsa_bits((unsigned)bits);
	if (step("gateway keys (E_PK, F_G)", harness_rsa_pk() ? 0 : -SGA_E_CRYPTO, t0))
		goto out;
	if (harness_init(h, grp->id, all, sizeof(all), all, sizeof(all))) {
		fprintf(stderr, "sga-demo: initialisation failed\n");
		goto out;
	}
	printf("  package: %zu bytes, %u suites offered\n\n", h->gw.prof[0].pkg_frame_len,
	       h->gw.n_suites);

	printf("1. Registration (E_PK(k_d | suite_init | ID | C | nonce), ack under k_d)\n");
	t0 = now_ms();
	if (step("dev-i registered", harness_register(h, 0), t0))
		goto out;
	t0 = now_ms();
	if (step("dev-j registered", harness_register(h, 1), t0))
		goto out;

	printf("\n2. Cipher negotiation (A1 propose, A2 invite, A3 accept, A4 confirm)\n");
	t0 = now_ms();
	if (step("A1-A4", harness_negotiate(h, prefs, n_pref), t0))
		goto out;
	printf("  session %016llx, suite %s\n", (unsigned long long)h->gsess.session_id,
	       sga_suite_get(h->gsess.suite)->name);

	printf("\n3. Key exchange (B1/B3 contributions, B2/B4 checks, B5/B6 replies, B7 derive)\n");
	t0 = now_ms();
	if (step("B1-B7", harness_kex(h), t0))
		goto out;
	{
		size_t kl = sga_suite_get(h->sess[0].suite)->key_len;
		int same = !memcmp(h->sess[0].e2e_tx_key, h->sess[1].e2e_rx_key, kl) &&
		           !memcmp(h->sess[1].e2e_tx_key, h->sess[0].e2e_rx_key, kl);

		printf("  both devices derived the same E2E keys: %s; the gateway holds g^R_i, "
		       "g^R_j, R_s only\n",
		       same ? "yes" : "NO");
		if (!same)
			goto out;
	}

	printf("\n4. Message delivery (E2E AEAD inside the hop layer, relayed by the gateway)\n");
	t0 = now_ms();
	for (unsigned long m = 0; m < messages; m++) {
		char msg[64], got[SGA_FRAME_MAX];
		size_t len = (size_t)snprintf(msg, sizeof(msg), "message %lu", m), got_len = 0;

		for (int from = 0; from < 2; from++) {
			int rc = harness_send(h, from, (const uint8_t *)msg, len, (uint8_t *)got,
			                      sizeof(got), &got_len);
			if (rc || got_len != len || memcmp(got, msg, len)) {
				fprintf(stderr, "  message %lu from %s FAILED: %s\n", m,
				        from ? "dev-j" : "dev-i", sga_err_name(rc));
				goto out;
			}
		}
	}
	{
		double ms = now_ms() - t0;
		printf(
		    "  %lu messages each way delivered intact and in order (%.1f ms, %.0f msg/s)\n",
		    messages, ms, ms > 0 ? 2.0 * (double)messages / (ms / 1e3) : 0.0);
	}
	printf("\nDone.\n");
	ret = 0;
out:
	if (h) {
		harness_fini(h);
		free(h);
	}
	return ret;
}
