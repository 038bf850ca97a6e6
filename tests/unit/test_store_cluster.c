/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_store_cluster.c - the store's Redis Cluster client
 * (controlplane/store_cluster.h): key slots as a real server computes them.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "store_cluster.h"

/* ---- key slots ------------------------------------------------------------------ */

static const struct {
	const char *key;
	unsigned slot;
} slot_vec[] = {
    /* CLUSTER KEYSLOT of redis-server 7.0: the first '{' up to the next '}',
     * when something lies between them. */
    {"123456789", 12739},
    {"foo", 12182},
    {"bar", 5061},
    {"{user1000}.following", 3443},
    {"{user1000}.followers", 3443},
    {"foo{}{bar}", 8363},    /* empty tag: the whole key */
    {"foo{{bar}}zap", 4015}, /* tag "{bar" */
    {"foo{bar}{zap}", 5061}, /* the first tag only: "bar" */
    {"{}", 15257},
    {"{", 4092},
    {"}", 12090},
    {"a{b", 13340},
    {"", 0},
    {"sga:sessions", 2103},
    {"sga:{dev:meter-1}", 1218},
    {"sga:{dev:meter-1}:inv", 1218},
    {"sga:{sess:0000000000000001}", 15060},
    {"sga:{enroll:meter-1}", 1721},
};

Test(store_cluster_slot, keyslot_matches_redis)
{
	for (size_t i = 0; i < sizeof(slot_vec) / sizeof(slot_vec[0]); i++)
		cr_expect_eq(stc_keyslot(slot_vec[i].key, strlen(slot_vec[i].key)),
		             slot_vec[i].slot, "'%s': %u, want %u", slot_vec[i].key,
		             stc_keyslot(slot_vec[i].key, strlen(slot_vec[i].key)),
		             slot_vec[i].slot);
}
