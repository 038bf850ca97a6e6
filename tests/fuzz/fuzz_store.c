/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_store.c - libFuzzer harness for the decoders the gateway runs Redis
 * values through (controlplane/store.c, via the connection-free entry points
 * of store.h): the device and session record plaintexts, the sealed record
 * envelope, the address field and the counter fields. No Redis is involved:
 * store_open connects lazily and nothing here sends a command.
 *
 * Properties:
 *  - device records are canonical: decode -> encode -> the same bytes;
 *  - session records normalise in one step: encoding a decoded record gives
 *    bytes that decode to the same record (but for the N/K the encoder keeps
 *    only while they serve) and encode to themselves;
 *  - a sealed record opens to its plaintext under its own key name, and the
 *    input itself never opens (it was not sealed by us);
 *  - an address or counter field that parses prints back to a field that
 *    parses to the same value.
 */
#include <ctype.h>
#include <inttypes.h>

#include "fuzz_common.h"
#include "fuzz_fixture.h"
#include "sga_hex.h"
#include "store.h"

#define PT_MAX 4096

static struct store *st;

/* Seeds: the fixture's records as the store writes them, and field values. */
static void seeds(void)
{
	static struct fuzz_world w;
	static const char *const fields[] = {
	    "10.77.0.2:40000/02:00:00:00:00:02",
	    "0",
	    "18446744073709551615",
	    "0.0.0.0:0/00:00:00:00:00:00",
	    "3333333333333333",
	    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"};
	static uint8_t out[PT_MAX];
	char name[32];
	size_t len;

	FUZZ_SETUP(fuzz_world_init(&w) == 0);
	for (unsigned k = 0; k < 2; k++) {
		FUZZ_SETUP(store_rec_dev_encode(&w.g.rec[k], out, sizeof(out), &len) == 0);
		snprintf(name, sizeof(name), "dev-%u", k);
		fuzz_seed_write(name, out, len);
	}
	/* The KEX session with d_i's B1 in: N and K kept. */
	w.g.sess[1].have_init = 1;
	memset(w.g.sess[1].N[0], 0x4e, sizeof(w.g.sess[1].N[0]));
	memset(w.g.sess[1].K[0], 0x4b, sizeof(w.g.sess[1].K[0]));
	w.g.sess[2].reply_len[0] = 40;
	for (unsigned k = 0; k < FUZZ_N_SESS; k++) {
		FUZZ_SETUP(store_rec_sess_encode(&w.g.sess[k], out, sizeof(out), &len) == 0);
		snprintf(name, sizeof(name), "sess-%u", k);
		fuzz_seed_write(name, out, len);
	}
	for (unsigned k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
		snprintf(name, sizeof(name), "field-%u", k);
		fuzz_seed_write(name, fields[k], strlen(fields[k]));
	}
	exit(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct store_config cfg = {.unix_socket = "/nonexistent/sga-fuzz.sock"};

	(void)argc;
	(void)argv;
	memset(cfg.master_key, 0x6d, sizeof(cfg.master_key));
	st = store_open(&cfg);
	FUZZ_SETUP(st != NULL);
	if (fuzz_seed_dir())
		seeds();
	return 0;
}

static void check_dev(const uint8_t *d, size_t n)
{
	static uint8_t out[PT_MAX];
	struct sga_gw_device rec;
	size_t len = 0;

	if (store_rec_dev_decode(d, n, &rec))
		return;
	FUZZ_CHECK(sga_id_valid(rec.id, rec.id_len));
	FUZZ_CHECK(sga_suite_list_check(rec.suites, rec.n_suites) == 0);
	FUZZ_CHECK(store_rec_dev_encode(&rec, out, sizeof(out), &len) == 0);
	FUZZ_CHECK(len == n && !memcmp(out, d, n));
}

/* What the encoder keeps of a role's N and K (store.c's sess_nk_len). */
static size_t nk_kept(const struct sga_gw_session *s, unsigned role)
{
	const struct sga_group_info *g = sga_group_get(s->group);

	if (g && s->state == SGA_GW_S_ESTABLISHED && (s->rk.have & (1u << role)))
		return g->len; /* a rekey's contribution (store_rekey.h) */
	if (!g || s->state == SGA_GW_S_ESTABLISHED || !(s->have_init & (1u << role)))
		return 0;
	return g->len;
}

static void check_sess(const uint8_t *d, size_t n)
{
	static uint8_t y[PT_MAX], z[PT_MAX];
	static struct sga_gw_session s, s2, want;
	size_t ylen = 0, zlen = 0;

	if (store_rec_sess_decode(d, n, &s))
		return;
	FUZZ_CHECK(s.state >= SGA_GW_S_INVITED && s.state <= SGA_GW_S_ESTABLISHED);
	FUZZ_CHECK(sga_id_valid(s.id[0], s.id_len[0]) && sga_id_valid(s.id[1], s.id_len[1]));
	FUZZ_CHECK(store_rec_sess_encode(&s, y, sizeof(y), &ylen) == 0);
	FUZZ_CHECK(store_rec_sess_decode(y, ylen, &s2) == 0);
	memcpy(&want, &s, sizeof(want));
	for (unsigned r = 0; r < 2; r++) {
		size_t k = nk_kept(&s, r);

		memset(want.N[r] + k, 0, sizeof(want.N[r]) - k);
		memset(want.K[r] + k, 0, sizeof(want.K[r]) - k);
	}
	FUZZ_CHECK(memcmp(&want, &s2, sizeof(s2)) == 0);
	FUZZ_CHECK(store_rec_sess_encode(&s2, z, sizeof(z), &zlen) == 0);
	FUZZ_CHECK(zlen == ylen && !memcmp(y, z, ylen));
	sga_gw_session_wipe(&s);
	sga_gw_session_wipe(&s2);
	sga_gw_session_wipe(&want);
}

static void check_sealed(const uint8_t *d, size_t n)
{
	static uint8_t sealed[PT_MAX + 64], pt[PT_MAX + 64];
	static const char key[] = "sga:{dev:dev-fuzz}";
	size_t slen = 0, plen = 0;

	if (n > PT_MAX)
		n = PT_MAX;
	FUZZ_CHECK(store_rec_open(st, key, d, n, pt, sizeof(pt), &plen) != 0);
	FUZZ_CHECK(store_rec_seal(st, key, d, n, sealed, sizeof(sealed), &slen) == 0);
	FUZZ_CHECK(store_rec_open(st, key, sealed, slen, pt, sizeof(pt), &plen) == 0);
	FUZZ_CHECK(plen == n && !memcmp(pt, d, n));
	/* Under another key name (a record moved in Redis) it does not open. */
	FUZZ_CHECK(store_rec_open(st, "sga:{dev:dev-fuzz2}", sealed, slen, pt, sizeof(pt), &plen) ==
	           -SGA_E_AUTH);
}

static void check_fields(const uint8_t *d, size_t n)
{
	char s[STORE_ADDR_STR_MAX], digits[32];
	struct dp_addr a, b;
	uint64_t v, w;

	if (!store_addr_parse((const char *)d, n, &a)) {
		store_addr_format(&a, s);
		FUZZ_CHECK(strlen(s) < sizeof(s));
		FUZZ_CHECK(store_addr_parse(s, strlen(s), &b) == 0);
		FUZZ_CHECK(!memcmp(&a, &b, sizeof(a)));
	}
	if (!store_u64_parse((const char *)d, n, &v)) {
		FUZZ_CHECK(n >= 1 && n <= 20);
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(d[i] >= '0' && d[i] <= '9');
		snprintf(digits, sizeof(digits), "%" PRIu64, v);
		FUZZ_CHECK(store_u64_parse(digits, strlen(digits), &w) == 0 && w == v);
		memcpy(digits, d, n);
		digits[n] = '\0';
		FUZZ_CHECK(strtoull(digits, NULL, 10) == v);
	}
	/* Hex fields: an enrollment token hash (32 bytes), a session id in the
	 * restore index (8 bytes). What decodes prints back in lower case. */
	for (size_t want = 8; want <= SGA_SHA256_LEN; want += SGA_SHA256_LEN - 8) {
		uint8_t bin[SGA_SHA256_LEN];
		char hex[2 * SGA_SHA256_LEN + 1];

		if (sga_hex_decode((const char *)d, n, bin, want))
			continue;
		sga_hex_encode(bin, want, hex);
		FUZZ_CHECK(strlen(hex) == n);
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(hex[i] == tolower(d[i]));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_dev(data, size);
	check_sess(data, size);
	check_sealed(data, size);
	check_fields(data, size);
	return 0;
}
