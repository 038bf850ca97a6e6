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

int gw_store_auth(const struct gw_config *cfg, struct store_config *sc,
                  char pw[STORE_PASSWORD_MAX + 1])
{
	int rc;

	if (!cfg->redis_password_file[0])
		return 0;
	rc = store_load_password(cfg->redis_password_file, pw);
	if (rc) {
		sga_log(SGA_LOG_SRC_GW, SGA_LOG_ERR, "[redis] password_file %s: %s",
		        cfg->redis_password_file,
		        rc == -EPERM
		            ? "readable or writable by group or others; refused (chmod 600)"
		        : rc == -EINVAL
		            ? "not a file with the password on its first line (1..256 bytes)"
		            : strerror(-rc));
		return rc;
	}
	sc->password = pw;
	sc->user = cfg->redis_user[0] ? cfg->redis_user : NULL;
	return 0;
}
