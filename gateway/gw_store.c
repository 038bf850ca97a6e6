/* SPDX-License-Identifier: BSD-3-Clause */
/* gw_store.c - see gw_store.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gw_store.h"
#include "sga_log.h"

void gw_store_config(const struct gw_config *cfg, struct store_config *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->unix_socket = cfg->redis_socket[0] ? cfg->redis_socket : NULL;
	sc->host = cfg->redis_host;
	sc->port = (int)cfg->redis_port;
	sc->db = (int)cfg->redis_db;
	sc->timeout_ms = cfg->redis_timeout_ms;
	sc->backoff_max_ms = cfg->redis_backoff_max_ms;
	sc->first_group = cfg->group;
	sc->cluster = cfg->redis_cluster[0] ? cfg->redis_cluster : NULL;
	sc->sentinels = cfg->redis_sentinel[0] ? cfg->redis_sentinel : NULL;
	sc->sentinel_master = cfg->redis_sentinel_master;
}

int gw_store_require_aof(struct store *st)
{
	char node[STORE_NODE_NAME_MAX];
	int rc = store_check_aof(st, node, sizeof(node));

	if (rc == 1)
		sga_log(SGA_LOG_SRC_GW, SGA_LOG_ERR,
		        "[redis] require_aof = true: redis node %s has appendonly no (INFO "
		        "persistence aof_enabled:0); set appendonly yes on every master or "
		        "require_aof = false",
		        node);
	else if (rc == -SGA_E_INTERNAL)
		sga_log(SGA_LOG_SRC_GW, SGA_LOG_ERR,
		        "[redis] require_aof = true: redis node %s answered INFO persistence "
		        "without aof_enabled",
		        node);
	else
		return rc ? 1 : 0;
	return -1;
}

/* One password file into out: 0, or -errno with its error line. */
static int load_password(const char *key, const char *path, char out[STORE_PASSWORD_MAX + 1])
{
	int rc = store_load_password(path, out);

	if (rc)
		sga_log(SGA_LOG_SRC_GW, SGA_LOG_ERR, "[redis] %s %s: %s", key, path,
		        rc == -EPERM
		            ? "readable or writable by group or others; refused (chmod 600)"
		        : rc == -EINVAL
		            ? "not a file with the password on its first line (1..256 bytes)"
		            : strerror(-rc));
	return rc;
}

int gw_store_auth(const struct gw_config *cfg, struct store_config *sc,
                  char pw[GW_STORE_SECRETS_LEN])
{
	char *sentinel_pw = pw + STORE_PASSWORD_MAX + 1;

	if (cfg->redis_password_file[0]) {
		if (load_password("password_file", cfg->redis_password_file, pw))
			return -1;
		sc->password = pw;
		sc->user = cfg->redis_user[0] ? cfg->redis_user : NULL;
	}
	if (cfg->redis_sentinel_password_file[0]) {
		if (load_password("sentinel_password_file", cfg->redis_sentinel_password_file,
		                  sentinel_pw))
			return -1;
		sc->sentinel_password = sentinel_pw;
	}
	return 0;
}
