#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Three gateways on a Redis Cluster of three masters and three replicas
# (scripts/lab.sh SGA_REDIS_CLUSTER=1), [sessions] adopt = on and the
# replicated message store ([store] replicate = redis, replicas = 1), all at
# 10.77.0.1, each on its own link to the devices' namespace (the route to
# 10.77.0.1 picks the gateway, as anycast would).
#   1. Under load: dev-i streams N messages to dev-j through gateway A; dev-j
#      is away for a moment, so A acknowledges messages it holds; A is killed
#      (-9) mid-stream and the route moves to gateway C, which adopts the
#      session and the backlog A acknowledged: every message arrives exactly
#      once and in order, with one handshake.
#   2. The devices move to gateway B mid-stream: B adopts (C is fenced at its
#      next replay-mark write, if it writes one), the stream goes on.
#   3. A Redis master dies and its replica takes over; a new pair registers
#      and handshakes through B.
source "$(dirname "$0")/../../scripts/lab.sh"
IF_GWB=sgab$SGA_TAG IF_DEVB=sgae$SGA_TAG
IF_GWC=sgac$SGA_TAG IF_DEVC=sgaf$SGA_TAG
STREAM_J=
J_IP=10.77.0.3
cleanup() {
	set +e
	[ -z "$STREAM_J" ] || kill -CONT "$STREAM_J" 2>/dev/null
	sga_cleanup
}
trap cleanup EXIT
N=${SGA_E2E_MESSAGES:-6000}
export SGA_REDIS_CLUSTER=1 SGA_ADOPT=on SGA_STORE_REPLICATE=redis SGA_STORE_REPLICAS=1
export SGA_STORE_REPLICA_TIMEOUT_MS=${SGA_STORE_REPLICA_TIMEOUT_MS:-2000}
# Three data-plane lcores share core 1: each backs off when idle.
export SGA_IDLE_SLEEP_US=${SGA_IDLE_SLEEP_US:-50}

sga_lab_up dev-i dev-j

# Gateways B and C in the gateways' namespace (the cluster listens on its
# loopback), each on its own link.
sga_gw_other b "$NS_GW" "$IF_GWB" "$IF_DEVB" 10.77.0.2/32
sga_gw_other c "$NS_GW" "$IF_GWC" "$IF_DEVC" 10.77.0.4/32
route_to() {
	ip -n "$NS_DEV" route replace 10.77.0.1/32 dev "$1"
	ip -n "$NS_DEV" neigh flush all
}
stat_of() { SGA_STATS=$SGA_RUN/stats-$1.json sga_stat "$2" "$3"; }
log "gateways A, B and C up at 10.77.0.1 on a 3+3 Redis Cluster (replicate = redis), the devices on A's link"

# 1. A dies under load, holding messages it acknowledged: dev-j (on an
# address of its own) is away for a second while dev-i keeps sending, so A
# stores and acknowledges what it cannot deliver; then A is killed, the route
# moves to C and dev-j comes back. C adopts the session and A's backlog.
ip -n "$NS_DEV" addr add "$J_IP/32" dev "$IF_DEV"
sga_stream_start "$N" --bind "$J_IP:0"
sga_wait_for 20 sga_stream_started || die "the stream did not start"
kill -STOP "$STREAM_J"
ip -n "$NS_DEV" addr del "$J_IP/32" dev "$IF_DEV"
acked0=$(sga_stat dataplane acked_msgs)
grows() { [ "$(sga_stat dataplane acked_msgs)" -ge $((acked0 + 200)) ]; }
sga_wait_for 30 grows || die "gateway A did not acknowledge messages for the absent dev-j"
killed_at=$(wc -l <"$SGA_RUN/j.out")
kill -KILL "$GW_PID"
wait "$GW_PID" 2>/dev/null || true
GW_PID=
route_to "$IF_DEVC"
ip -n "$NS_DEV" addr add "$J_IP/32" dev "$IF_DEV"
kill -CONT "$STREAM_J"
log "gateway A killed under load holding dev-j's messages (dev-j had $killed_at); the devices now reach gateway C"
on_c() { [ "$(wc -l <"$SGA_RUN/j.out")" -ge $((killed_at + 200)) ]; }
sga_wait_for 60 on_c || die "the stream did not go on through gateway C"

# 2. The devices move to B mid-stream: B adopts.
moved_at=$(wc -l <"$SGA_RUN/j.out")
[ "$moved_at" -lt "$N" ] || die "the stream ended before the move to B (raise SGA_E2E_MESSAGES)"
route_to "$IF_DEVB"
log "the devices now reach gateway B (after $moved_at messages)"
sga_one_stream "$STREAM_I" "$STREAM_J" "$N" "gateway A's death and the moves to C and to B"
sleep 0.5 # a stats-file refresh
for g in b c; do
	log "gateway $g: adopted $(stat_of $g controlplane adopted), backlog $(stat_of $g controlplane backlog_msgs), owner_lost $(stat_of $g controlplane owner_lost), sessions set up $(stat_of $g controlplane sessions), relayed $(stat_of $g dataplane relayed)"
	[ "$(stat_of $g controlplane adopted)" -ge 1 ] || die "gateway $g adopted no session"
	[ "$(stat_of $g controlplane sessions)" -eq 0 ] || die "a handshake went through gateway $g"
done
[ "$(stat_of c controlplane backlog_msgs)" -gt 0 ] ||
	die "gateway C took no replicated message over from gateway A"
# C is fenced only if it still wrote replay marks after B's adoption (it
# may have had no frame since): reported above, asserted by test_adopt.sh.

# 3. A Redis master dies; its replica takes over; handshakes go on.
master=$(sga_cluster_masters | head -1)
replica=$(sga_cluster_replica_of "$master")
[ -n "$replica" ] || die "no replica of master $master"
sga_cluster_kill "$master"
sga_cluster_cmd "$replica" cluster failover takeover >/dev/null || die "CLUSTER FAILOVER TAKEOVER"
sga_wait_for 30 sga_cluster_ok || die "the cluster did not recover after master $master died"
log "Redis master $master killed, replica $replica promoted"
registered() { sga_dev "$1" register >/dev/null 2>&1; }
for d in dev-k dev-l; do
	sga_wait_for 30 registered "$d" || die "$d could not register after the Redis failover"
done
SGA_EX_I=dev-k SGA_EX_J=dev-l sga_exchange 20
log "PASS test_three_gateways ($N messages across gateway A's kill -9 under load and two moves, exactly once and in order, one handshake; a new pair after a Redis master failover)"
