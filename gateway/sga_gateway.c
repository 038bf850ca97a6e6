/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_gateway.c - the sga-gateway executable: reads the configuration, starts
 * DPDK's EAL on the configured port (PCI NIC or vdev), builds the gateway
 * protocol context from its key files, starts the data plane on its lcores and
 * the control-plane thread pool, restores sessions from Redis, reports
 * statistics, and shuts down cleanly on SIGINT/SIGTERM (stop lcores, drain,
 * persist, close).
 *
 * Asymmetric offload, chosen once at start-up and reported in one line each:
 * "rsa: ..." (the OpenSSL provider/engine of [crypto] rsa_engine under
 * rsa_policy; loaded before anything uses RSA, and before --check returns, so
 * a `require` that cannot be met fails both) and "modexp: ..." (the cryptodev
 * MODEX service of [crypto] modexp / modexp_device, once EAL is up). Both also
 * appear in the stats file and in /sga/engines.
 *
 * Bulk AEAD (the data plane's hop open/seal), [crypto] device: dp_create picks
 * and sets up the crypto device; one line per suite says what serves it
 * ("aead aes-128-gcm: cryptodev crypto_aesni_mb", "aead chacha20-poly1305: cpu
 * (crypto_openssl lacks it)"), and the stats file and /sga/engines carry the
 * same table.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include "cp.h"
#include "dp.h"
#include "dp_peer.h"
#include "gw_config.h"
#include "gw_keys.h"
#include "gw_log.h"
#include "gw_notify.h"
#include "gw_prometheus.h"
#include "gw_store.h"
#include "gw_telemetry.h"
#include "sga_asym.h"
#include "sga_crypto.h"
#include "sga_engine.h"
#include "sga_gateway.h"
#include "sga_hex.h"
#include "sga_lab.h"
#include "store_replica.h"
#include "dp_store.h"

/* gw_config.h mirrors these enums without depending on DPDK. */
_Static_assert(GW_MODEXP_AUTO == (int)SGA_ASYM_MODE_AUTO &&
                   GW_MODEXP_CRYPTODEV == (int)SGA_ASYM_MODE_CRYPTODEV &&
                   GW_MODEXP_CPU == (int)SGA_ASYM_MODE_CPU,
               "[crypto] modexp values");
_Static_assert(GW_MODEXP_DEV_AUTO == (int)SGA_ASYM_DEV_AUTO &&
                   GW_MODEXP_DEV_QAT == (int)SGA_ASYM_DEV_QAT &&
                   GW_MODEXP_DEV_OPENSSL == (int)SGA_ASYM_DEV_OPENSSL,
               "[crypto] modexp_device values");

static volatile sig_atomic_t g_stop;
static struct dp *g_dp;
static struct dp_nodes g_nodes; /* [cluster]; n 0: none */
#define NODE_FMT "%u.%u.%u.%u:%u"
#define NODE_ARGS(nd)                                                     \
	((const uint8_t *)&(nd)->ip)[0], ((const uint8_t *)&(nd)->ip)[1], \
	    ((const uint8_t *)&(nd)->ip)[2], ((const uint8_t *)&(nd)->ip)[3], ntohs((nd)->port)

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
	if (g_dp)
		dp_stop(g_dp);
}

static volatile sig_atomic_t g_reload;
static struct gw_telemetry_src g_tel; /* what telemetry, the stats file and /metrics read */
static struct gw_prom *g_prom;        /* the Prometheus endpoint, NULL when off */

static void on_hangup(int sig)
{
	(void)sig;
	g_reload = 1; /* the main loop re-reads the configuration */
}

/*
 * SIGHUP: re-read the configuration file. What can change live (the keys
 * gw_config_is_live lists) is applied at once and named in one line; a file
 * that does not parse, or that changes anything else, is refused with one line
 * naming why, and the gateway runs on with what it has. Sessions are never
 * touched either way.
 */
static void reload_config(struct gw_config *cfg, const char *path, struct sga_gw *gw)
{
	struct gw_config next;
	const char *live[16];
	char err[512], applied[256];
	unsigned n_live = 0;
	size_t off = 0;

	gw_config_defaults(&next);
	if (gw_config_load(&next, path, err, sizeof(err)) ||
	    gw_config_reload_diff(cfg, &next, live, 16, &n_live, err, sizeof(err))) {
		GW_LOG("error", "reload of %s refused: %s; running on unchanged", path, err);
		return;
	}
	if (strcmp(next.metrics_listen, cfg->metrics_listen)) {
		/* The new endpoint first: if it cannot listen, nothing changes. */
		struct gw_prom *np = NULL;

		if (next.metrics_listen[0] &&
		    !(np = gw_prom_start(next.metrics_listen, &g_tel, err, sizeof(err)))) {
			GW_LOG("error", "reload of %s refused: %s; running on unchanged", path,
			       err);
			return;
		}
		gw_prom_stop(g_prom);
		g_prom = np;
	}
	if (next.enrollment != cfg->enrollment)
		sga_gw_set_enroll_mode(gw, next.enrollment);
	if (next.log_level != cfg->log_level)
		gw_log_set_level(next.log_level ? next.log_level : RTE_LOG_INFO);
	if (next.ctrl_rate != cfg->ctrl_rate || next.ctrl_burst != cfg->ctrl_burst)
		(void)dp_set_ctrl_rate(g_dp, next.ctrl_rate, next.ctrl_burst); /* both nonzero */
	if (next.store_max_age_s != cfg->store_max_age_s)
		dp_set_store_max_age(g_dp, (uint64_t)next.store_max_age_s * 1000);
	if (next.session_idle_s != cfg->session_idle_s ||
	    next.session_max_life_s != cfg->session_max_life_s)
		cp_set_expiry(g_tel.cp, next.session_idle_s, next.session_max_life_s);
	/* stats_file and stats_interval_s are read by this thread only. */
	*cfg = next;
	applied[0] = '\0';
	for (unsigned i = 0; i < n_live && off < sizeof(applied); i++)
		off += (size_t)snprintf(applied + off, sizeof(applied) - off, "%s%s", i ? ", " : "",
		                        live[i]);
	GW_LOG("info", "reload of %s: %s", path, n_live ? applied : "nothing changed");
	if (n_live && cfg->enrollment == SGA_ENROLL_OPEN)
		GW_LOG("warning", "enrollment = open: any device may register a new identity");
}

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: sga-gateway [OPTIONS] [-- EAL_OPTIONS]\n"
	        "The SGA security gateway: DPDK data plane, control-plane thread pool, state in "
	        "Redis.\n\n"
	        "  -c, --config FILE   configuration file (default " SGA_DEFAULT_CONFIG ")\n"
	        "      --init-keys     create the key pairs of every profile in [gateway] groups\n"
	        "                      (RSA for ffdhe*, X25519 or P-256 PEM for x25519, p256)\n"
	        "                      and the master key where they do not exist (and their\n"
	        "                      folders, mode 0700), write the package files, then exit\n"
	        "      --check         validate the configuration and key files, write the\n"
	        "                      package files, then exit\n"
	        "  -h, --help          this text\n"
	        "  -V, --version       print the version\n\n"
	        "EAL options after '--' are passed to DPDK (e.g. -l 0-2 --file-prefix gw1). The\n"
	        "gateway adds --no-pci and --vdev for a virtual port, or -a for a PCI port, from\n"
	        "[dataplane] port, and --no-huge when [eal] hugepages = no (or auto without\n"
	        "free hugepages). Signals: SIGINT/SIGTERM stop the gateway cleanly; SIGHUP\n"
	        "re-reads the configuration: what can change live (enrollment, stats_file,\n"
	        "stats_interval_s, log_level, metrics_listen, ctrl_rate, ctrl_burst, [store]\n"
	        "max_age_s) is applied, any other change is refused and the\n"
	        "gateway runs on unchanged. Profiles: [gateway] groups = ffdhe2048, x25519\n"
	        "serves devices of each (the first is the default); one package file per\n"
	        "profile, each named with its fingerprint at start-up. Under systemd (Type=notify) "
	        "it reports READY=1 once\n"
	        "it serves.\n");
}

/* ---- key material ------------------------------------------------------------ */

static int file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static int write_secret_file(const char *path, const void *data, size_t len)
{
	char tmp[GW_PATH_MAX + 8];
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len || fsync(fd))
		rc = -errno;
	close(fd);
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

/* A 32-byte secret as 64 hex digits in a new file (mode 0600), unless path
 * exists: the master key, the cluster key. 0, or -1 (logged). */
static int init_secret_key(const char *path)
{
	uint8_t key[32];
	char hex[66];
	int rc;

	if (file_exists(path)) {
		printf("exists: %s\n", path);
		return 0;
	}
	if (sga_random_bytes(key, sizeof(key))) {
		GW_LOG("error", "CSPRNG failure");
		return -1;
	}
	sga_hex_encode(key, sizeof(key), hex);
	hex[64] = '\n';
	rc = write_secret_file(path, hex, 65);
	sga_memzero(key, sizeof(key));
	sga_memzero(hex, sizeof(hex));
	if (rc) {
		GW_LOG("error", "cannot create %s: %s", path, strerror(-rc));
		return -1;
	}
	printf("created: %s\n", path);
	return 0;
}

/* mkdir -p of the folder holding path (not path itself); 0 or -errno. */
static int make_parent_dirs(const char *path, mode_t mode)
{
	char dir[GW_PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, n + 1);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

/* 1 if the configuration serves a finite-field profile (RSA key pairs). */
static int serves_ffdhe(const struct gw_config *c)
{
	for (unsigned i = 0; i < c->n_groups; i++)
		if (!gw_config_group_is_ec(c->groups[i]))
			return 1;
	return 0;
}

/* --init-keys for one EC profile's key file: a fresh PEM where none exists. */
static int init_ec_key(uint8_t group, const char *path)
{
	char pem[1024];
	size_t len = 0;
	int rc;

	if (file_exists(path)) {
		printf("exists: %s\n", path);
		return 0;
	}
	rc = gw_ec_key_generate_pem(group, pem, sizeof(pem), &len);
	if (!rc)
		rc = write_secret_file(path, pem, len);
	sga_memzero(pem, sizeof(pem));
	if (rc) {
		GW_LOG("error", "cannot create %s: %s", path, strerror(-rc));
		return -1;
	}
	printf("created: %s (%s)\n", path, sga_group_get(group)->name);
	return 0;
}

static int init_keys(const struct gw_config *c)
{
	const char *paths[2] = {c->rsa_key, c->trapdoor_key};
	const char *all[4] = {c->rsa_key, c->trapdoor_key, c->master_key, c->package};

	/* A fresh checkout has no run/keys/: secrets go in folders only we read. */
	for (int i = 0; i < 4; i++) {
		int rc = make_parent_dirs(all[i], 0700);

		if (rc) {
			GW_LOG("error", "cannot create the folder of %s: %s", all[i],
			       strerror(-rc));
			return -1;
		}
	}
	for (int i = 0; i < 2 && serves_ffdhe(c); i++) {
		struct sga_rsa_key *k = NULL;
		int rc;

		if (file_exists(paths[i])) {
			printf("exists: %s\n", paths[i]);
			continue;
		}
		rc = sga_rsa_generate(c->rsa_bits, &k);
		if (!rc)
			rc = sga_rsa_save_private_pem(k, paths[i]);
		sga_rsa_free(k);
		if (rc) {
			GW_LOG("error", "cannot create %s: %s", paths[i], strerror(-rc));
			return -1;
		}
		printf("created: %s (RSA-%u)\n", paths[i], c->rsa_bits);
	}
	for (unsigned g = 0; g < c->n_groups; g++) {
		const char *key, *trapdoor;

		if (!gw_config_group_is_ec(c->groups[g]) ||
		    gw_config_key_paths(c, c->groups[g], &key, &trapdoor))
			continue;
		if (make_parent_dirs(key, 0700) || make_parent_dirs(trapdoor, 0700) ||
		    init_ec_key(c->groups[g], key) || init_ec_key(c->groups[g], trapdoor))
			return -1;
	}
	if (init_secret_key(c->master_key))
		return -1;
	/* [cluster]: made once, on the first gateway, then copied to the others. */
	if (c->cluster_key_file[0] && init_secret_key(c->cluster_key_file))
		return -1;
	return 0;
}

/* An RSA private key of a finite-field profile; on failure one line naming the
 * key, the file and what is wrong with it. */
static int load_rsa_private(const char *what, const char *path, struct sga_rsa_key **k)
{
	char held[128];
	int rc = sga_rsa_load_pem(path, k);

	if (!rc && sga_rsa_has_private(*k))
		return 0;
	if (!rc) {
		sga_rsa_free(*k);
		*k = NULL;
		GW_LOG("error",
		       "[gateway] %s = %s: holds an RSA public key only: the private key is "
		       "needed",
		       what, path);
	} else if (rc == -ENOENT) {
		GW_LOG("error", "[gateway] %s = %s: no such file; create it with --init-keys", what,
		       path);
	} else {
		gw_key_describe(path, held, sizeof(held));
		if (!strcmp(held, "no PEM key"))
			GW_LOG("error", "[gateway] %s = %s: not an RSA private key file (%s)", what,
			       path, strerror(-rc));
		else
			GW_LOG("error", "[gateway] %s = %s: holds %s, not an RSA private key", what,
			       path, held);
	}
	return -1;
}

/* The private keys (E_PK, F_G) of an EC profile, checked for their type. */
static int load_ec_private(const struct gw_config *c, uint8_t group, uint8_t key[GW_EC_PRIV_LEN],
                           uint8_t trapdoor[GW_EC_PRIV_LEN])
{
	const char *name = sga_group_get(group)->name, *kp, *tp;
	char why[192];

	if (gw_config_key_paths(c, group, &kp, &tp))
		return -1;
	if (gw_ec_key_load(group, kp, key, why, sizeof(why))) {
		GW_LOG("error", "[gateway] %s_key = %s: %s%s", name, kp, why,
		       file_exists(kp) ? "" : "; create it with --init-keys");
		return -1;
	}
	if (gw_ec_key_load(group, tp, trapdoor, why, sizeof(why))) {
		sga_memzero(key, GW_EC_PRIV_LEN);
		GW_LOG("error", "[gateway] %s_trapdoor_key = %s: %s%s", name, tp, why,
		       file_exists(tp) ? "" : "; create it with --init-keys");
		return -1;
	}
	return 0;
}

/* Write one profile's package body (what devices pin) and name it, with its
 * fingerprint, in one line: "package x25519 /var/lib/sga/gateway-x25519.pkg,
 * fingerprint 3f...". */
static int write_package(const struct gw_config *c, uint8_t group, const uint8_t *body, size_t len)
{
	struct sga_buf b = {body, len};
	char path[GW_PATH_MAX + 16], hex[65];
	uint8_t fp[32];
	int rc;

	if (gw_config_package_path(c, group, path, sizeof(path))) {
		GW_LOG("error", "[gateway] package = %s: name too long for the %s profile's file",
		       c->package, sga_group_get(group)->name);
		return -1;
	}
	rc = write_secret_file(path, body, len);
	if (rc) {
		GW_LOG("error", "%s: cannot write the package: %s", path, strerror(-rc));
		return -1;
	}
	chmod(path, 0644); /* public material */
	if (sga_sha256(&b, 1, fp))
		return -1;
	sga_hex_encode(fp, sizeof(fp), hex);
	GW_LOG("info", "package %s %s, fingerprint %s", sga_group_get(group)->name, path, hex);
	return 0;
}

/*
 * Load every profile's key pairs (and check them: a missing file, another key
 * type, a public key only each get their line), build the protocol context
 * with one profile per group of [gateway] groups, in that order, and write
 * one package per profile.
 */
static int build_gateway(const struct gw_config *c, struct sga_gw *gw)
{
	struct sga_rsa_key *pk = NULL, *tpk = NULL;
	struct sga_pke_priv kp, tkp;
	uint8_t ec_key[GW_EC_PRIV_LEN], ec_tkey[GW_EC_PRIV_LEN];
	int rc, ret = -1;

	memset(&kp, 0, sizeof(kp));
	memset(&tkp, 0, sizeof(tkp));
	rc = sga_gw_init_empty(gw, (const uint8_t *)c->id, (uint8_t)strlen(c->id), c->suites,
	                       c->n_suites, c->enrollment);
	if (rc) {
		GW_LOG("error", "gateway context: %s", sga_err_desc(rc));
		return -1;
	}
	for (unsigned g = 0; g < c->n_groups; g++) {
		const uint8_t group = c->groups[g];

		if (gw_config_group_is_ec(group)) {
			if (load_ec_private(c, group, ec_key, ec_tkey))
				goto out;
			rc = sga_pke_priv_from_ec(group, ec_key, &kp);
			rc = rc ? rc : sga_pke_priv_from_ec(group, ec_tkey, &tkp);
			sga_memzero(ec_key, sizeof(ec_key));
			sga_memzero(ec_tkey, sizeof(ec_tkey));
		} else {
			/* The ffdhe profiles share the RSA pairs: a copy per profile. */
			if (load_rsa_private("rsa_key", c->rsa_key, &pk) ||
			    load_rsa_private("trapdoor_key", c->trapdoor_key, &tpk))
				goto out;
			rc = sga_pke_priv_from_rsa(group, pk, &kp);
			if (!rc)
				pk = NULL; /* kp owns it */
			rc = rc ? rc : sga_pke_priv_from_rsa(group, tpk, &tkp);
			if (!rc)
				tpk = NULL;
		}
		rc = rc ? rc : sga_gw_add_profile(gw, group, &kp, &tkp);
		if (rc) {
			GW_LOG("error", "gateway context, %s profile: %s",
			       sga_group_get(group)->name, sga_err_desc(rc));
			goto out;
		}
	}
	/* The package body (without the frame header) is what devices pin. */
	for (unsigned i = 0; i < gw->n_prof; i++) {
		const struct sga_gw_profile *p = &gw->prof[i];

		if (write_package(c, p->grp->id, p->pkg_frame + SGA_HDR_LEN,
		                  p->pkg_frame_len - SGA_HDR_LEN))
			goto out;
	}
	ret = 0;
out:
	sga_memzero(ec_key, sizeof(ec_key));
	sga_memzero(ec_tkey, sizeof(ec_tkey));
	sga_pke_priv_free(&kp);
	sga_pke_priv_free(&tkp);
	sga_rsa_free(pk);
	sga_rsa_free(tpk);
	if (ret)
		sga_gw_fini(gw);
	return ret;
}

/* ---- EAL arguments -------------------------------------------------------------- */

static int hugepages_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long free_pages = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Free: %ld", &free_pages) == 1)
			break;
	fclose(f);
	return free_pages > 0 && access("/dev/hugepages", F_OK) == 0;
}

static int has_arg(int argc, char **argv, const char *a)
{
	for (int i = 0; i < argc; i++)
		if (!strncmp(argv[i], a, strlen(a)))
			return 1;
	return 0;
}

/* Compose the EAL argv from the config and the user's EAL options. */
static int build_eal_args(const struct gw_config *c, int user_argc, char **user_argv, char **out,
                          int max, char *bufs, size_t buf_len)
{
	int n = 0;
	size_t used = 0;

#define PUSH(str)                  \
	do {                       \
		if (n >= max - 1)  \
			return -1; \
		out[n++] = (str);  \
	} while (0)
#define PUSHF(...)                                                           \
	do {                                                                 \
		int w_ = snprintf(bufs + used, buf_len - used, __VA_ARGS__); \
		if (w_ < 0 || (size_t)w_ >= buf_len - used)                  \
			return -1;                                           \
		PUSH(bufs + used);                                           \
		used += (size_t)w_ + 1;                                      \
	} while (0)

	PUSH("sga-gateway");
	if (!has_arg(user_argc, user_argv, "-l") && !has_arg(user_argc, user_argv, "--lcores") &&
	    !has_arg(user_argc, user_argv, "-c"))
		PUSHF("-l0-%u", c->lcores);
	if (gw_config_port_is_pci(c->port)) {
		PUSHF("-a%s", c->port);
	} else {
		PUSH("--no-pci");
		PUSHF("--vdev=%s", c->port);
	}
	if (c->hugepages == GW_HUGE_NO ||
	    (c->hugepages == GW_HUGE_AUTO && !hugepages_available())) {
		if (c->hugepages == GW_HUGE_AUTO)
			GW_LOG("warning", "no free hugepages: running with --no-huge (slower; see "
			                  "docs/OPERATIONS.md)");
		PUSH("--no-huge");
		PUSHF("-m%u", c->memory_mb);
	}
	/* Extra EAL arguments from the config, then the command line's. */
	{
		char *copy = bufs + used, *save = NULL;
		size_t l = strlen(c->eal_args) + 1;

		if (l > buf_len - used)
			return -1;
		memcpy(copy, c->eal_args, l);
		used += l;
		for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
			PUSH(t);
	}
	for (int i = 0; i < user_argc; i++)
		PUSH(user_argv[i]);
	out[n] = NULL;
	return n;
#undef PUSH
#undef PUSHF
}

/* The ethdev port the config names: the vdev's name (before the first comma)
 * or the PCI address. */
static int find_port(const struct gw_config *c, uint16_t *port_id)
{
	char name[GW_PATH_MAX];
	char *comma;

	snprintf(name, sizeof(name), "%s", c->port);
	comma = strchr(name, ',');
	if (comma)
		*comma = '\0';
	if (rte_eth_dev_get_port_by_name(name, port_id) == 0)
		return 0;
	GW_LOG("error",
	       "[dataplane] port '%s': no such DPDK port after EAL start (probed ports: %u)", name,
	       rte_eth_dev_count_avail());
	return -1;
}

/* ---- main ------------------------------------------------------------------------ */

/* --check with [redis] require_aof: one look at Redis if it answers (-1 a
 * node without AOF, logged; 0 otherwise, with a warning when unreachable).
 * INFO needs no master key: the store gets a zero one. */
static int check_aof_once(const struct gw_config *cfg)
{
	char pw[GW_STORE_SECRETS_LEN] = "";
	struct store_config sc;
	struct store *st;
	int rc;

	gw_store_config(cfg, &sc);
	if (gw_store_auth(cfg, &sc, pw))
		return -1;
	st = store_open(&sc);
	sga_memzero(pw, sizeof(pw));
	if (!st) {
		GW_LOG("error", "[redis]: cannot open the store: %s", strerror(errno));
		return -1;
	}
	rc = gw_store_require_aof(st);
	store_close(st);
	if (rc > 0)
		GW_LOG("warning",
		       "[redis] require_aof = true: Redis is not reachable; not checked");
	return rc < 0 ? -1 : 0;
}

/* LAB ONLY: provision the sessions of the lab file once (cp_lab_run); on
 * success *pending = 0 and the seed is wiped. -1 if the file does not fit
 * this gateway (fatal), 0 otherwise (Redis down: call again). */
/*
 * [store] replicate = redis: each message log's writer gets a replica of its
 * own (controlplane/store_replica.h), made while dp_create opens the logs.
 * Its store connects as the control plane's do (the same endpoint and
 * credentials); it needs no master key (the replica's values are the log's
 * records: E2E ciphertext under the devices' keys, never a gateway secret).
 */
static struct {
	struct store_config sc;
	unsigned replicas, timeout_ms;
	struct dp_store_replica ops;
} g_repl;

static void *repl_open(void *arg, unsigned log_dir_index)
{
	(void)arg;
	(void)log_dir_index;
	return store_replica_open(&g_repl.sc, g_repl.replicas, g_repl.timeout_ms);
}

static void repl_close(void *ctx)
{
	store_replica_close(ctx);
}

static int lab_step(struct cp *cp, struct sga_lab_params *lab, const char *path, int *pending)
{
	struct cp_lab_report lr;
	struct timespec t0, t1;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = cp_lab_run(cp, lab, &lr);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc == -EINVAL) {
		GW_LOG("error",
		       "[lab] provision = %s does not fit this gateway (see the log above)", path);
		return -1;
	}
	if (rc)
		return 0;
	*pending = 0;
	sga_memzero(lab, sizeof(*lab));
	GW_LOG("info",
	       "LAB provisioning: %u sessions - not for production (%u installed, "
	       "written in %.2f s, %u pipelined round trips)",
	       lr.written, lr.installed,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       lr.batches);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'}, {"init-keys", no_argument, NULL, 'I'},
	    {"check", no_argument, NULL, 'K'},        {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
	};
	const char *config_path = SGA_DEFAULT_CONFIG;
	int init_only = 0, check_only = 0, ch, app_argc = argc, ret = 1;
	char err[512], *eal_argv[96], eal_buf[4096];
	unsigned lcore_ids[64], n_lc = 0, lcore;
	struct gw_config cfg;
	struct sga_gw gw;
	struct dp_config dcfg;
	struct cp_config ccfg;
	cpu_set_t boot_cpus, cp_cpus;
	int stats_failing = 0;
	struct cp *cp = NULL;
	struct sga_asym *asym = NULL;
	const char *aead_engine;
	char report[384];
	int eal_argc, rc_eal, restored = 0, lab_pending = 0, lab_failed = 0, auth_failed = 0;
	int aof_failed = 0;
	struct store *aof_st = NULL; /* [redis] require_aof: until the check passed */
	char redis_password[GW_STORE_SECRETS_LEN] = "";
	time_t last_stats, last_restore = 0;
	struct sga_lab_params lab;

	gw_log_init();
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			app_argc = i;
			break;
		}
	while ((ch = getopt_long(app_argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'I':
			init_only = 1;
			break;
		case 'K':
			check_only = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("sga-gateway %s\n", SGA_VERSION);
			return 0;
		default:
			fprintf(stderr, "Try 'sga-gateway --help'.\n");
			return 2;
		}
	}
	if (optind < app_argc) {
		GW_LOG("error", "unexpected argument '%s' (EAL options go after '--')",
		       argv[optind]);
		return 2;
	}

	gw_config_defaults(&cfg);
	if (gw_config_load(&cfg, config_path, err, sizeof(err))) {
		GW_LOG("error", "%s", err);
		return 2;
	}
	if (init_only) {
		/* Keys first, then the package devices pin (written by build_gateway). */
		if (init_keys(&cfg))
			return 1;
		memset(&gw, 0, sizeof(gw));
		if (build_gateway(&cfg, &gw))
			return 1;
		sga_gw_fini(&gw);
		return 0;
	}
	/* RSA-OAEP decryption (E_PK and the F_G inversion): provider or engine. */
	if (sga_engine_load(cfg.rsa_engine, (enum sga_engine_policy)cfg.rsa_policy, report,
	                    sizeof(report))) {
		GW_LOG("error", "[crypto] rsa_engine = %s, rsa_policy = require: %s",
		       cfg.rsa_engine, report);
		return 1;
	}
	GW_LOG("info", "rsa: %s", report);

	memset(&gw, 0, sizeof(gw));
	if (build_gateway(&cfg, &gw))
		return 1;
	{
		uint8_t mk[32];
		int rc = store_load_master_key(cfg.master_key, mk);

		sga_memzero(mk, sizeof(mk));
		if (rc) {
			GW_LOG("error", "%s: cannot load the master key: %s", cfg.master_key,
			       strerror(-rc));
			sga_gw_fini(&gw);
			return 1;
		}
	}
	if (cfg.redis_password_file[0]) {
		struct store_config probe;
		int rc = gw_store_auth(&cfg, &probe, redis_password);

		sga_memzero(redis_password, sizeof(redis_password));
		if (rc) {
			sga_gw_fini(&gw);
			return 1;
		}
	}
	/* Open enrollment lets anyone who reaches the port create identities:
	 * say so once, loudly, on every start (and --check) that runs with it. */
	if (cfg.enrollment == SGA_ENROLL_OPEN)
		GW_LOG("warning",
		       "[gateway] enrollment = open: any device may register a new identity; "
		       "use enrollment = allowlist (the default) on a production gateway");

	if (check_only && cfg.redis_require_aof && check_aof_once(&cfg)) {
		sga_gw_fini(&gw);
		return 1;
	}
	if (check_only) {
		printf("sga-gateway: configuration %s and key files are valid\n", config_path);
		sga_gw_fini(&gw);
		return 0;
	}

	/* LAB ONLY. The parser already refused provision under profile =
	 * production; the file is read now so that a bad one stops the start. */
	memset(&lab, 0, sizeof(lab));
	if (cfg.lab_profile == GW_PROFILE_LAB) {
		GW_LOG("info", "LAB profile ([lab] profile = lab) - not for production");
		if (cfg.lab_provision[0]) {
			if (sga_lab_file_read(cfg.lab_provision, &lab, err, sizeof(err))) {
				GW_LOG("error", "[lab] provision: %s", err);
				sga_gw_fini(&gw);
				return 2;
			}
			lab_pending = 1;
		}
		/* The parser refused it under profile = production. */
		if (!cfg.lab_hop_replay_window)
			GW_LOG("warning",
			       "LAB: hop replay window OFF - replayed frames are relayed; "
			       "not for production");
	}

	eal_argc = build_eal_args(&cfg, argc - app_argc - (app_argc < argc),
	                          argv + app_argc + (app_argc < argc), eal_argv, 96, eal_buf,
	                          sizeof(eal_buf));
	if (eal_argc < 0) {
		GW_LOG("error", "too many EAL arguments");
		goto out_gw;
	}
	/* The CPUs we may use, before EAL pins this thread to the main lcore's. */
	CPU_ZERO(&boot_cpus);
	if (sched_getaffinity(0, sizeof(boot_cpus), &boot_cpus))
		CPU_ZERO(&boot_cpus);
	rc_eal = rte_eal_init(eal_argc, eal_argv);
	gw_log_release(); /* the start-up's lines, under --log-level now */
	if (rc_eal < 0) {
		/* EAL does not always set rte_errno ("failed: Success"): its own
		 * lines above then say why. */
		GW_LOG("error", "EAL initialisation failed: %s",
		       rte_errno ? rte_strerror(rte_errno) : "see the EAL messages above");
		goto out_gw;
	}
	gw_log_set_level(cfg.log_level); /* [gateway] log_level over --log-level */
	RTE_LCORE_FOREACH_WORKER(lcore)
	{
		if (n_lc < cfg.lcores)
			lcore_ids[n_lc++] = lcore;
	}
	if (n_lc < cfg.lcores) {
		GW_LOG("error",
		       "[dataplane] lcores = %u but EAL has only %u worker lcores (give -l with "
		       "more cores)",
		       cfg.lcores, n_lc);
		goto out_eal;
	}

	/* Control workers and the store's writers on every CPU we were given
	 * except the data-plane lcores' (which spin); all of them if that leaves
	 * none. A thread created now would inherit the main lcore's one CPU: the
	 * writers of every lcore's store and the control workers would share it. */
	cp_cpus = boot_cpus;
	for (unsigned i = 0; i < n_lc; i++) {
		/* The lcore's CPU set: with --lcores 1@0 its "core id" is not a CPU. */
		rte_cpuset_t lc = rte_lcore_cpuset(lcore_ids[i]);

		for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
			if (CPU_ISSET(cpu, &lc))
				CPU_CLR(cpu, &cp_cpus);
	}
	if (CPU_COUNT(&cp_cpus) == 0)
		cp_cpus = boot_cpus;

	memset(&dcfg, 0, sizeof(dcfg));
	if (find_port(&cfg, &dcfg.port_id))
		goto out_eal;
	/* Several gateways on one state store: each session names the gateway
	 * that owns it, and its marks and reservations are fenced by that
	 * name ([sessions] node, else the host name: the [gateway] id is the
	 * identity the devices pin, the same on every gateway). */
	if (cfg.session_adopt && !cfg.session_node[0] &&
	    (gethostname(cfg.session_node, sizeof(cfg.session_node) - 1) || !cfg.session_node[0])) {
		GW_LOG("error", "[sessions] adopt = on: no host name to name this gateway "
		                "by; set [sessions] node");
		goto out_eal;
	}
	if (cfg.cluster_nodes[0]) {
		char why[160];

		if (dp_nodes_parse(cfg.cluster_nodes, cfg.session_node, &g_nodes, why,
		                   sizeof(why))) {
			GW_LOG("error", "%s", why);
			goto out_eal;
		}
		if (store_load_master_key(cfg.cluster_key_file, dcfg.cluster_key)) {
			GW_LOG("error",
			       "[cluster] key_file %s: cannot load the key (64 hex digits)",
			       cfg.cluster_key_file);
			goto out_eal;
		}
		dcfg.nodes = &g_nodes;
		dcfg.next_hop = cfg.cluster_next_hop;
		GW_LOG("info",
		       "[cluster] %u gateways; this one is %s, node %u, at " NODE_FMT
		       "; lease %u ms",
		       g_nodes.n, cfg.session_node, g_nodes.self,
		       NODE_ARGS(&g_nodes.node[g_nodes.self - 1]), cfg.cluster_lease_ms);
	}
	dcfg.n_lcores = cfg.lcores;
	dcfg.lcore_ids = lcore_ids;
	dcfg.gw_ip = cfg.address;
	memcpy(dcfg.gw_ip6, cfg.address6, sizeof(dcfg.gw_ip6));
	dcfg.gw_port = htons(cfg.udp_port);
	dcfg.n_workers = cfg.workers;
	dcfg.rx_desc = cfg.rx_desc;
	dcfg.tx_desc = cfg.tx_desc;
	dcfg.mbufs = cfg.mbufs;
	dcfg.ctrl_ring_size = cfg.ctrl_ring_size;
	dcfg.ctrl_rate = cfg.ctrl_rate;
	dcfg.ctrl_burst = cfg.ctrl_burst;
	dcfg.max_sessions = cfg.max_sessions;
	dcfg.tx_seq_block = cfg.tx_seq_block;
	dcfg.crypto_device = cfg.crypto_device;
	dcfg.crypto_sessions = cfg.aead_sessions;
	dcfg.udp_checksum_zero = (int)cfg.udp_checksum_zero;
	dcfg.idle_sleep_us = cfg.idle_sleep_us;
	dcfg.adopt_sessions = cfg.session_adopt;
	dcfg.store_dir = cfg.store_dir[0] ? cfg.store_dir : NULL;
	dcfg.store_fsync = cfg.store_fsync;
	dcfg.store_fsync_interval_ms = cfg.store_fsync_interval_ms;
	dcfg.store_segment_bytes = (uint64_t)cfg.store_segment_mb << 20;
	dcfg.store_max_bytes = (uint64_t)cfg.store_max_mb << 20;
	dcfg.store_max_age_ms = (uint64_t)cfg.store_max_age_s * 1000;
	dcfg.store_pending_max = cfg.store_pending_max;
	dcfg.store_ring_bytes = (uint64_t)cfg.store_ring_mb << 20;
	dcfg.store_writer_cpus = &cp_cpus;
	dcfg.hop_replay_off = !cfg.lab_hop_replay_window; /* LAB ONLY, see above */
	if (cfg.store_replicate == GW_REPLICATE_REDIS && dcfg.store_dir) {
		gw_store_config(&cfg, &g_repl.sc);
		if (gw_store_auth(&cfg, &g_repl.sc, redis_password))
			goto out_eal;
		g_repl.replicas = cfg.store_replicas;
		g_repl.timeout_ms = cfg.store_replica_timeout_ms;
		g_repl.ops = (struct dp_store_replica){
		    .hook = store_replica_hook, .open = repl_open, .close = repl_close};
		dcfg.store_replica = &g_repl.ops;
		GW_LOG("info",
		       "[store] replicate = redis: STORED once a message is durable here and "
		       "confirmed by %u Redis replicas (WAIT, %u ms)",
		       cfg.store_replicas, cfg.store_replica_timeout_ms);
	}
	g_dp = dp_create(&dcfg);
	sga_memzero(dcfg.cluster_key, sizeof(dcfg.cluster_key));
	/* The replicas' stores copied the password (locked memory). */
	sga_memzero(redis_password, sizeof(redis_password));
	g_repl.sc.password = NULL;
	if (!g_dp) {
		GW_LOG("error", "data plane start-up failed: %s", strerror(errno));
		goto out_eal;
	}
	/* What serves the hop AEAD of each suite ([crypto] device), one line each:
	 * "aead aes-128-gcm: cryptodev crypto_aesni_mb". Also in /sga/engines. */
	{
		const struct sga_suite_info *list;
		char line[160];
		size_t n;

		list = sga_suite_list(&n);
		for (size_t i = 0; i < n; i++)
			GW_LOG("info", "%s", dp_aead_report(g_dp, list[i].id, line, sizeof(line)));
	}

	memset(&ccfg, 0, sizeof(ccfg));
	ccfg.n_workers = cfg.workers;
	gw_store_config(&cfg, &ccfg.store);
	ccfg.backoff_max_ms = cfg.redis_backoff_max_ms;
	ccfg.persist_interval_ms = cfg.persist_interval_ms;
	ccfg.mark_step = cfg.mark_step;
	ccfg.mark_max_age_ms = cfg.mark_max_age_ms;
	ccfg.tx_seq_block = cfg.tx_seq_block;
	ccfg.cpus = &cp_cpus;
	ccfg.async_jobs = cfg.async_jobs;
	ccfg.cookie_mode = (enum cp_cookie_mode)cfg.cookie_mode;
	ccfg.cookie_threshold = cfg.cookie_threshold;
	ccfg.session_idle_s = cfg.session_idle_s;
	ccfg.adopt_sessions = cfg.session_adopt;
	if (cfg.session_adopt) {
		ccfg.store.owner = cfg.session_node;
		GW_LOG("info", "[sessions] adopt = on: this gateway owns sessions as '%s'",
		       cfg.session_node);
	}
	ccfg.replicate_store = cfg.store_replicate == GW_REPLICATE_REDIS;
	if (g_nodes.n) {
		ccfg.nodes = &g_nodes;
		ccfg.lease_ms = cfg.cluster_lease_ms;
		ccfg.store.node = g_nodes.self;
	}
	ccfg.session_max_life_s = cfg.session_max_life_s;

	/* Modexp: the cryptodev MODEX service, installed as the modexp member of
	 * the crypto backend (over whatever backend is installed by now), before
	 * the control-plane workers exist. */
	aead_engine = sga_crypto_backend_get()->name;
	{
		struct sga_asym_config acfg = {
		    .mode = (enum sga_asym_mode)cfg.modexp_mode,
		    .device = (enum sga_asym_device)cfg.modexp_device,
		    .socket_id = -1,
		};
		int rc = sga_asym_start(&acfg, &asym, report, sizeof(report));

		if (rc) {
			GW_LOG("error", "[crypto] modexp: %s", report);
			goto out_dp;
		}
		if (asym && sga_asym_backend_install(asym)) {
			GW_LOG("error", "[crypto] modexp: cannot install the cryptodev backend");
			goto out_dp;
		}
		GW_LOG("info", "modexp: %s", report);
	}
	if (store_load_master_key(cfg.master_key, ccfg.store.master_key)) {
		GW_LOG("error", "%s: cannot load the master key", cfg.master_key);
		goto out_dp;
	}
	if (gw_store_auth(&cfg, &ccfg.store, redis_password)) {
		sga_memzero(ccfg.store.master_key, sizeof(ccfg.store.master_key));
		goto out_dp;
	}
	/* [redis] require_aof: checked before anything is written (lab
	 * provisioning, the restore's reservations); a store of its own. */
	if (cfg.redis_require_aof && !(aof_st = store_open(&ccfg.store))) {
		GW_LOG("error", "[redis]: cannot open the store: %s", strerror(errno));
		sga_memzero(ccfg.store.master_key, sizeof(ccfg.store.master_key));
		sga_memzero(redis_password, sizeof(redis_password));
		goto out_dp;
	}
	cp = cp_start(&ccfg, &gw, g_dp);
	sga_memzero(ccfg.store.master_key, sizeof(ccfg.store.master_key));
	sga_memzero(redis_password, sizeof(redis_password));
	if (!cp) {
		GW_LOG("error", "control plane start-up failed: %s", strerror(errno));
		goto out_dp;
	}

	g_tel.dp = g_dp;
	g_tel.cp = cp;
	g_tel.crypto_backend = aead_engine;
	g_tel.rsa_engine = sga_engine_rsa_name();
	g_tel.modexp_engine = sga_asym_name(asym);
	gw_telemetry_register(&g_tel);
	if (cfg.metrics_listen[0] &&
	    !(g_prom = gw_prom_start(cfg.metrics_listen, &g_tel, err, sizeof(err)))) {
		GW_LOG("error", "[gateway] %s", err);
		gw_telemetry_detach();
		cp_stop(cp);
		goto out_dp;
	}
	/* A stats file that cannot be written is a configuration error: say so
	 * now rather than run without the figures the operator asked for. */
	if (cfg.stats_file[0]) {
		int rc = gw_telemetry_write_file(&g_tel, cfg.stats_file);

		if (rc) {
			GW_LOG("error", "[gateway] stats_file = %s: cannot write it: %s",
			       cfg.stats_file, strerror(-rc));
			gw_prom_stop(g_prom);
			g_prom = NULL;
			gw_telemetry_detach();
			cp_stop(cp);
			goto out_dp;
		}
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	{
		struct sigaction sa = {.sa_handler = on_hangup, .sa_flags = SA_RESTART};

		sigemptyset(&sa.sa_mask);
		sigaction(SIGHUP, &sa, NULL);
	}
	/* LAB ONLY: the lab sessions before the first frame is polled (a replayed
	 * pcap starts at once); if Redis is not up yet, the main loop tries again. */
	if (!aof_st && lab_pending && lab_step(cp, &lab, cfg.lab_provision, &lab_pending))
		lab_failed = g_stop = 1;
	for (unsigned i = 0; i < n_lc; i++)
		if (rte_eal_remote_launch(dp_lcore_main, g_dp, lcore_ids[i])) {
			GW_LOG("error", "cannot launch the data plane on lcore %u", lcore_ids[i]);
			dp_stop(g_dp);
			g_stop = 1;
		}
	{
		/* "10.77.0.1:7000", "[fd00::1]:7000" or both, joined by " and ". */
		char ip[2 * INET6_ADDRSTRLEN + 32] = "", a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];

		if (cfg.address && inet_ntop(AF_INET, &cfg.address, a4, sizeof(a4)))
			snprintf(ip, sizeof(ip), "%s:%u", a4, cfg.udp_port);
		if (memcmp(cfg.address6, (const uint8_t[16]){0}, 16) &&
		    inet_ntop(AF_INET6, cfg.address6, a6, sizeof(a6)))
			snprintf(ip + strlen(ip), sizeof(ip) - strlen(ip), "%s[%s]:%u",
			         ip[0] ? " and " : "", a6, cfg.udp_port);
		GW_LOG("info",
		       "%s serving %s on port '%s' with %u data-plane lcore(s), %u "
		       "control "
		       "worker(s); crypto: AEAD '%s', RSA '%s', modexp '%s'",
		       cfg.id, ip, cfg.port, n_lc, cfg.workers, g_tel.crypto_backend,
		       g_tel.rsa_engine, g_tel.modexp_engine);
		(void)gw_notify("READY=1\nSTATUS=serving");
	}

	last_stats = time(NULL);
	while (!g_stop) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		time_t now;

		nanosleep(&ts, NULL);
		now = time(NULL);
		if (g_reload) {
			g_reload = 0;
			reload_config(&cfg, config_path, &gw);
		}
		if (aof_st && now != last_restore) {
			/* Redis down: again next second, as the restore below. */
			int rc = gw_store_require_aof(aof_st);

			last_restore = now;
			if (rc < 0) {
				aof_failed = 1;
				break;
			}
			if (rc == 0) {
				GW_LOG("info", "[redis] require_aof: every master keeps an AOF");
				store_close(aof_st);
				aof_st = NULL;
			}
			continue;
		}
		if (aof_st)
			continue;
		if (lab_pending && now != last_restore) {
			last_restore = now;
			if (lab_step(cp, &lab, cfg.lab_provision, &lab_pending)) {
				lab_failed = 1;
				break;
			}
			continue;
		}
		if (!restored && now != last_restore) {
			/* Until Redis answers, keep trying: established sessions come back
			 * as soon as it does. */
			int n = cp_restore_sessions(cp);
			last_restore = now;
			if (n >= 0) {
				restored = 1;
				dp_sessions_restored(g_dp);
				GW_LOG("info", "restored %d session(s) from Redis", n);
			} else if (n == -EACCES) {
				/* Not an outage to wait out: the configuration is wrong. */
				GW_LOG(
				    "error",
				    "Redis refused the credentials of [redis] user / password_file "
				    "(see the line above); stopping");
				auth_failed = 1;
				break;
			}
		}
		if (cfg.stats_file[0]) {
			int rc = gw_telemetry_write_file(&g_tel, cfg.stats_file);

			/* Once per failing stretch (a full disk), not ten times a second. */
			if (rc && !stats_failing)
				GW_LOG("warning", "stats_file %s: cannot write it: %s",
				       cfg.stats_file, strerror(-rc));
			stats_failing = rc != 0;
		}
		if (cfg.stats_interval_s && now - last_stats >= (time_t)cfg.stats_interval_s) {
			gw_telemetry_log(&g_tel);
			last_stats = now;
		}
	}
	GW_LOG("info", "stopping");
	(void)gw_notify("STOPPING=1");
	dp_stop(g_dp);
	rte_eal_mp_wait_lcore();
	/* The last figures while cp exists: cp_stop frees it, and the telemetry
	 * reads it (no control frame arrives any more: the lcores have stopped). */
	if (cfg.stats_file[0])
		gw_telemetry_write_file(&g_tel, cfg.stats_file);
	gw_telemetry_log(&g_tel);
	gw_prom_stop(g_prom); /* before cp and dp go: a scrape reads both */
	g_prom = NULL;
	gw_telemetry_detach();
	cp_stop(cp);
	ret = lab_failed || auth_failed || aof_failed ? 1 : 0;
out_dp:
	store_close(aof_st); /* NULL once the check passed */
	/* After the workers (they may have requests in the service), before EAL. */
	sga_asym_stop(asym);
	dp_destroy(g_dp);
	g_dp = NULL;
out_eal:
	rte_eal_cleanup();
out_gw:
	sga_memzero(&lab, sizeof(lab));
	sga_gw_fini(&gw);
	sga_engine_unload();
	return ret;
}
