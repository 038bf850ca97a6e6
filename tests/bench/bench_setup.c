/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_setup.c - gateway-side cost of one session setup (negotiation A1-A4 and
 * key exchange B1-B7) on one core, per profile, every profile in the same run
 * (default: ffdhe2048 with RSA-2048, and the EC profiles x25519 and p256 where
 * the build has them), with each profile's set-ups/s as a ratio to the
 * first's (the target: EC >= 10 x RSA-2048/ffdhe2048). For an ffdhe
 * profile also the primitives it is made of, measured in the same run:
 * RSA-OAEP decryption with the trapdoor key (two per session) and
 * 256-bit-exponent modexp in the group (four per session), and the protocol
 * overhead as the ratio of the measured session cost to 2*RSA + 4*modexp.
 * A benchmark, not a test: it asserts nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "sga_hpke.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds per RSA-OAEP decryption of a 32-byte value (the F_G inversion). */
static double bench_rsa(const struct sga_rsa_key *k, double secs, unsigned long *ops)
{
	uint8_t r[SGA_EXPONENT_LEN] = {1}, ct[SGA_RSA_MAX_LEN], pt[SGA_RSA_MAX_LEN];
	size_t ct_len, pt_len;
	double t0, t;
	unsigned long n = 0;

	if (sga_rsa_oaep_encrypt(k, r, sizeof(r), ct, sizeof(ct), &ct_len))
		return -1;
	t0 = now_s();
	do {
		for (int i = 0; i < 16; i++, n++)
			if (sga_rsa_oaep_decrypt(k, ct, ct_len, pt, sizeof(pt), &pt_len))
				return -1;
		t = now_s() - t0;
	} while (t < secs);
	*ops = n;
	return t / (double)n;
}

/* Seconds per N^r mod p with a 256-bit exponent. */
static double bench_modexp(const struct sga_group_info *grp, double secs, unsigned long *ops)
{
	uint8_t e[SGA_EXPONENT_LEN], base[SGA_GROUP_MAX_LEN], out[SGA_GROUP_MAX_LEN];
	double t0, t;
	unsigned long n = 0;

	if (sga_exponent_random(e) || sga_modexp(grp, NULL, e, sizeof(e), base))
		return -1;
	t0 = now_s();
	do {
		for (int i = 0; i < 16; i++, n++)
			if (sga_modexp(grp, base, e, sizeof(e), out))
				return -1;
		t = now_s() - t0;
	} while (t < secs);
	*ops = n;
	return t / (double)n;
}

/* Seconds per shared secret [k]U of an EC group (X25519, or the P-256 x-only
 * ECDH the gateway computes): the EC profile's group operation. */
static double bench_ec_group(const struct sga_group_info *grp, double secs, unsigned long *ops)
{
	uint8_t k[SGA_EXPONENT_LEN], u[SGA_GROUP_MAX_LEN], out[SGA_GROUP_MAX_LEN];
	double t0, t;
	unsigned long n = 0;
	int rc = 0;

	if (sga_group_scalar_random(grp, k) || sga_group_mul(grp, NULL, k, u))
		return -1;
	t0 = now_s();
	do {
		for (int i = 0; i < 16; i++, n++)
			rc |= sga_group_shared(grp, u, k, out);
		t = now_s() - t0;
	} while (t < secs);
	sga_memzero(k, sizeof(k));
	*ops = n;
	return rc ? -1 : t / (double)n;
}

/* Seconds per HPKE open of a 32-byte trapdoor value (the EC profile's F_G
 * inversion, info "SGA v1 F_G"). */
static double bench_hpke_open(uint8_t group, double secs, unsigned long *ops)
{
	static const char info[] = "SGA v1 F_G";
	uint8_t sk[SGA_EXPONENT_LEN], r[SGA_EXPONENT_LEN] = {1};
	uint8_t ct[160], pt[64];
	struct sga_pke_priv key;
	size_t ct_len = 0, pt_len;
	double t0, t;
	unsigned long n = 0;
	int rc = 0;

	/* The gateway's key pair of the group (its public half as the package has it). */
	if (sga_group_scalar_random(sga_group_get(group), sk) ||
	    sga_pke_priv_from_ec(group, sk, &key) ||
	    sga_hpke_seal(group, key.raw, key.raw_len, (const uint8_t *)info, sizeof(info) - 1,
	                  NULL, 0, r, sizeof(r), ct, sizeof(ct), &ct_len))
		return -1;
	t0 = now_s();
	do {
		for (int i = 0; i < 16; i++, n++)
			rc |= sga_hpke_open(group, key.sk, key.raw, key.raw_len,
			                    (const uint8_t *)info, sizeof(info) - 1, NULL, 0, ct,
			                    ct_len, pt, sizeof(pt), &pt_len);
		t = now_s() - t0;
	} while (t < secs);
	sga_memzero(sk, sizeof(sk));
	sga_pke_priv_free(&key);
	*ops = n;
	return rc ? -1 : t / (double)n;
}

static double clock_begin(void)
{
	return now_s();
}

static double clock_end(double t)
{
	return now_s() - t;
}

/* One session; returns the seconds spent in gateway handlers only. */
static double one_session(struct harness *h, const uint8_t *prefs, uint8_t n_pref)
{
	double gw = 0;
	int rc = harness_session_timed(h, prefs, n_pref, clock_begin, clock_end, &gw);

	if (rc) {
		fprintf(stderr, "sga-bench-setup: session failed: %s\n", sga_err_name(rc));
		return -1;
	}
	return gw;
}

/* What one profile measured. */
struct profile_result {
	const struct sga_group_info *grp;
	double t_prim; /* seconds of the primitives one set-up is made of */
	double t_sess; /* seconds per gateway session set-up; 0: not measured */
};

/*
 * One profile: the primitives its set-up is made of (ffdhe: 2 RSA-OAEP
 * decryptions + 4 modexps; EC: 2 HPKE opens + 4 X25519), then, where the
 * protocol library runs the profile, `sessions` set-ups through the harness,
 * timed in the gateway's handlers only. 0, or -1 when nothing could run.
 */
static int bench_profile(const struct sga_group_info *grp, unsigned long sessions, double secs,
                         struct profile_result *res)
{
	static const uint8_t all[] = {SGA_SUITE_AES128_GCM, SGA_SUITE_AES256_GCM,
	                              SGA_SUITE_CHACHA20_POLY1305, SGA_SUITE_AES128_CCM8};
	unsigned long trap_ops = 0, grp_ops = 0;
	double t_trap, t_grp, t_sess = 0;
	struct harness *h = calloc(1, sizeof(*h));
	int ec = grp->id == SGA_GROUP_X25519 || grp->id == SGA_GROUP_P256, have_h, rc = -1;

	if (!h)
		return -1;
	have_h = !harness_init(h, grp->id, all, sizeof(all), all, sizeof(all)) &&
	         !harness_register(h, 0) && !harness_register(h, 1);
	if (ec)
		printf("\ngroup %s, HPKE trapdoor, backend '%s', %lu sessions\n", grp->name,
		       sga_crypto_backend_get()->name, sessions);
	else if (have_h)
		printf("\ngroup %s, RSA-%zu trapdoor, backend '%s', %lu sessions\n", grp->name,
		       8 * sga_rsa_size(h->gw.prof[0].tpk.rsa), sga_crypto_backend_get()->name,
		       sessions);
	if (!have_h) {
		fprintf(stderr, "sga-bench-setup: %s: set-up failed\n", grp->name);
		goto out;
	}
	t_trap = ec ? bench_hpke_open(grp->id, secs, &trap_ops)
	            : bench_rsa(h->gw.prof[0].tpk.rsa, secs, &trap_ops);
	t_grp = ec ? bench_ec_group(grp, secs, &grp_ops) : bench_modexp(grp, secs, &grp_ops);
	if (t_trap < 0 || t_grp < 0) {
		fprintf(stderr, "sga-bench-setup: %s: primitive benchmark failed\n", grp->name);
		goto out;
	}
	res->grp = grp;
	res->t_prim = 2 * t_trap + 4 * t_grp;
	printf("%-44s %12.0f /s  (%lu ops)\n",
	       ec ? "HPKE open (F_G inversion)" : "RSA-OAEP decrypt (F_G inversion)", 1 / t_trap,
	       trap_ops);
	printf("%-44s %12.0f /s  (%lu ops)\n",
	       ec ? (grp->id == SGA_GROUP_X25519 ? "X25519" : "P-256 ECDH (x only)")
	          : "modexp, 256-bit exponent",
	       1 / t_grp, grp_ops);
	printf("%-44s %12.0f /s\n",
	       ec ? "primitives only: 2 HPKE open + 4 group ops"
	          : "primitives only: 2 RSA + 4 modexp",
	       1 / res->t_prim);
	res->t_sess = 0;
	for (unsigned long i = 0; i < sessions; i++) {
		double t = one_session(h, all, 1);

		if (t < 0)
			goto out;
		t_sess += t;
	}
	res->t_sess = t_sess / (double)sessions;
	printf("%-44s %12.0f /s\n", "gateway session setup (A1-A4 + B1-B7)", 1 / res->t_sess);
	printf("protocol overhead ratio (session / primitives): %.3f\n", res->t_sess / res->t_prim);
	rc = 0;
out:
	harness_fini(h);
	free(h);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"group", required_argument, NULL, 'g'},
	    {"sessions", required_argument, NULL, 'n'},
	    {"seconds", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	/* Default: the RSA-2048/ffdhe2048 profile and every EC profile, one run. */
	const struct sga_group_info *list[8];
	struct profile_result res[8];
	unsigned n_list = 0, n_res = 0;
	unsigned long sessions = 300;
	double secs = 2.0;
	char *end;
	int c, failed = 0;

	while ((c = getopt_long(argc, argv, "g:n:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'g': {
			char *save = NULL;

			for (char *tok = strtok_r(optarg, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				const struct sga_group_info *g = sga_group_by_name(tok);

				if (!g) {
					fprintf(stderr, "sga-bench-setup: unknown group '%s'\n",
					        tok);
					return 2;
				}
				if (n_list == 8) {
					fprintf(stderr, "sga-bench-setup: at most 8 groups\n");
					return 2;
				}
				list[n_list++] = g;
			}
			break;
		}
		case 'n':
			sessions = strtoul(optarg, &end, 10);
			if (*end || sessions == 0 || sessions > 1000000) {
				fprintf(stderr, "sga-bench-setup: --sessions must be 1..1000000\n");
				return 2;
			}
			break;
		case 't':
			secs = strtod(optarg, &end);
			if (*end || secs <= 0 || secs > 60) {
				fprintf(stderr, "sga-bench-setup: --seconds must be in (0, 60]\n");
				return 2;
			}
			break;
		case 'h':
			printf(
			    "Usage: sga-bench-setup [-g GROUP[,GROUP...]] [-n SESSIONS] [-t "
			    "SECONDS]\n"
			    "Gateway-side session set-ups per second on one core, per profile "
			    "(default: ffdhe2048 and every EC group this build has), in one run,\n"
			    "with the ratio of each to the first; for ffdhe profiles also its RSA "
			    "and modexp primitives.\n");
			return 0;
		default:
			return 2;
		}
	}
	if (n_list == 0) {
		static const uint8_t defaults[] = {SGA_GROUP_FFDHE2048, SGA_GROUP_X25519,
		                                   SGA_GROUP_P256};

		for (unsigned i = 0; i < sizeof(defaults); i++)
			if ((list[n_list] = sga_group_get(defaults[i])))
				n_list++;
	}
	for (unsigned i = 0; i < n_list; i++) {
		if (bench_profile(list[i], sessions, secs, &res[n_res]))
			failed = 1;
		else
			n_res++;
	}
	if (n_res > 1) {
		printf("\nper core, same run (ratio to %s):\n", res[0].grp->name);
		printf("  %-10s %14s %8s %16s %8s\n", "profile", "set-ups/s", "ratio",
		       "primitives/s", "ratio");
		for (unsigned i = 0; i < n_res; i++) {
			if (res[i].t_sess > 0 && res[0].t_sess > 0)
				printf("  %-10s %14.0f %7.2fx", res[i].grp->name, 1 / res[i].t_sess,
				       res[0].t_sess / res[i].t_sess);
			else
				printf("  %-10s %14s %8s", res[i].grp->name, "n/a", "");
			printf(" %16.0f %7.2fx\n", 1 / res[i].t_prim,
			       res[0].t_prim / res[i].t_prim);
		}
	}
	return failed ? 1 : 0;
}
