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

#endif /* SGA_GW_STORE_H */
