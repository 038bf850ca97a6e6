/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gw_store.h - the Redis endpoint of a gateway configuration, for every
 * program that reaches the gateway's state (sga-gateway, sga-admin), so that
 * both connect the same way.
 */
#ifndef SGA_GW_STORE_H
#define SGA_GW_STORE_H

#include "gw_config.h"
#include "store.h"

/** Fill sc from cfg's [redis] section (the master key is left zero: the
 *  caller loads it with store_load_master_key). */
void gw_store_config(const struct gw_config *cfg, struct store_config *sc);

/* The passwords gw_store_auth reads: the primary's, then the sentinels'. */
#define GW_STORE_SECRETS_LEN (2 * (STORE_PASSWORD_MAX + 1))

/** Redis authentication of cfg ([redis] user, password_file,
 *  sentinel_password_file) into sc: the password files read into pw (the
 *  caller wipes it once store_open has copied them), sc->password,
 *  sc->sentinel_password and sc->user pointed at them and at cfg. Nothing to
 *  do without the files. 0, or -errno with one error line (sga_log.h: stderr
 *  in sga-admin, sga.gw in the gateway) naming the file and the reason. */
int gw_store_auth(const struct gw_config *cfg, struct store_config *sc,
                  char pw[GW_STORE_SECRETS_LEN]);

/** [redis] require_aof: whether every master (or the single server) keeps an
 *  append-only file (store_check_aof). 0 yes; 1 not known yet (Redis
 *  unreachable: ask again later); -1 no, with one error line naming the node. */
int gw_store_require_aof(struct store *st);

#endif /* SGA_GW_STORE_H */
