/* SPDX-License-Identifier: BSD-3-Clause */
/* gw_store.c - see gw_store.h. */
#include <string.h>

#include "gw_store.h"

void gw_store_config(const struct gw_config *cfg, struct store_config *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->unix_socket = cfg->redis_socket[0] ? cfg->redis_socket : NULL;
	sc->host = cfg->redis_host;
	sc->port = (int)cfg->redis_port;
	sc->db = (int)cfg->redis_db;
	sc->timeout_ms = cfg->redis_timeout_ms;
	sc->backoff_max_ms = cfg->redis_backoff_max_ms;
}
