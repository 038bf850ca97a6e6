#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The gateway on a Redis Cluster (three masters, three replicas: scripts/lab.sh
# SGA_REDIS_CLUSTER=1, [redis] cluster and require_aof): a device pair
# handshakes and relays; the gateway restarts and the session comes back from
# the cluster, relaying on without a new handshake; the master holding the
# session's slot is migrated to another master (ASK, then MOVED: counted in
# the statistics), that master is killed and its replica promoted, relaying goes on and a
# new pair handshakes through the promoted cluster; sga-admin lists the
# cluster's devices and sessions; a master without an AOF is refused by
# --check and at start (require_aof).
export SGA_REDIS_CLUSTER=1 SGA_REDIS_REQUIRE_AOF=true
source "$(dirname "$0")/../../scripts/lab.sh"
trap 'exec 3>&- 2>/dev/null; sga_cleanup' EXIT

sga_lab_up dev-i dev-j
grep -q "require_aof: every master keeps an AOF" "$SGA_RUN/gateway.log" ||
	die "the gateway did not check the masters' AOF"

# dev-i sends what the test writes into a pipe, so the one session spans the
# restart and the failover; dev-j receives all of it.
N=500
mkfifo "$SGA_RUN/feed"
sga_dev dev-j --timeout 60000 listen --wait 30000 --recv "$N" >"$SGA_RUN/j.out" 2>"$SGA_RUN/j.err" &
J=$!
sleep 0.3
sga_dev dev-i --timeout 60000 -v connect dev-j --send-file - <"$SGA_RUN/feed" \
	>"$SGA_RUN/i.out" 2>"$SGA_RUN/i.err" &
I=$!
exec 3>"$SGA_RUN/feed"
received() { [ -s "$SGA_RUN/j.out" ] && [ "$(wc -l <"$SGA_RUN/j.out")" -ge "$1" ]; }
# send FROM TO: messages FROM..TO, then wait until dev-j has them all.
send() {
	local k
	for k in $(seq "$1" "$2"); do echo "message $k" >&3; done
	sga_wait_for 30 received "$2" || die "dev-j did not receive messages up to $2"
}

send 1 100
sid=$(sga_cli smembers sga:sessions | head -1)
[ -n "$sid" ] || die "no session in sga:sessions"
key="sga:{sess:$sid}"
master=$(sga_cluster_master_of "$key")
[ -n "$master" ] || die "no master for $key"
log "session $sid on master 127.0.0.1:$master"

log "restarting the gateway"
sga_gw_stop
sleep 0.5
sga_gw_start 3>&- # the gateway must not hold the pipe open: dev-i ends at its EOF
[ "$(grep -c "restored 1 session" "$SGA_RUN/gateway.log")" -eq 1 ] ||
	die "the session was not restored from the cluster"
send 101 200

# The session's slot migrated under the gateway while it persists the marks
# (persist_interval_ms 200, mark_step 64): ASK while the key has moved and
# the slot is migrating, then MOVED once it is handed over.
to=$(sga_cluster_masters | grep -vx "$master" | head -1)
log "migrating the session's slot from $master to $to"
sga_cluster_migrate "$key" "$to" ask || die "migrating the slot (ASK step)"
send 201 300
sleep 1
sga_cluster_migrate "$key" "$to" moved || die "handing the slot over (MOVED step)"
send 301 400
sleep 1
master=$to

# The replica must hold the session's writes before its master dies: WAIT on a
# write of our own to that master (WAIT counts its connection's writes; the
# replication stream is ordered, so an ack of ours covers the gateway's).
replica=$(sga_cluster_replica_of "$master")
[ -n "$replica" ] || die "no replica of $master"
acked=$(printf 'SET fence{sess:%s} 1\nWAIT 1 5000\n' "$sid" | sga_cluster_cmd "$master" | tail -1)
[ "$acked" = 1 ] || die "the replica did not acknowledge the writes (WAIT: $acked)"
log "killing master $master, promoting replica $replica"
sga_cluster_kill "$master"
sga_cluster_cmd "$replica" cluster failover takeover >/dev/null || die "CLUSTER FAILOVER TAKEOVER"
promoted() { [ "$(sga_cluster_master_of "$key")" = "$replica" ] && sga_cluster_ok; }
sga_wait_for 30 promoted || die "the replica was not promoted"
[ "$(sga_cluster_cmd "$replica" exists "$key")" = 1 ] || die "the session's record is not on the promoted replica"
send 401 500
exec 3>&-
sga_one_stream $I $J "$N" "the restart, the migration and the failover"

# A new pair after the failover: registrations and a handshake write records
# on every master, the promoted one included.
for d in dev-k dev-l; do sga_dev "$d" register || die "$d register after the failover"; done
SGA_EX_I=dev-k SGA_EX_J=dev-l sga_exchange 5
# sga-admin reads the same cluster: SCAN on every master, the restore index.
adm() { ip netns exec "$NS_GW" "$SGA_BUILD/gateway/sga-admin" -c "$SGA_RUN/gateway.conf" --json "$@"; }
count() { python3 -c 'import json,sys; print(len(json.load(sys.stdin)[sys.argv[1]]))' "$1"; }
[ "$(adm devices | count devices)" -eq 4 ] || { adm devices >&2; die "sga-admin devices: not the 4 devices"; }
[ "$(adm sessions | count sessions)" -eq 2 ] || { adm sessions >&2; die "sga-admin sessions: not the 2 sessions"; }
sga_gw_stop
moved=$(sga_stat controlplane redis_moved) asked=$(sga_stat controlplane redis_asked)
if [ "$asked" -lt 1 ] || [ "$moved" -lt 1 ]; then
	die "the migration did not show in the statistics (redis_asked=$asked redis_moved=$moved)"
fi

# require_aof: a master without an AOF is named, by --check and at start.
noaof=$(sga_cluster_master_of "$key")
sga_cluster_cmd "$noaof" config set appendonly no >/dev/null
rc=0
ip netns exec "$NS_GW" "$SGA_BUILD/gateway/sga-gateway" -c "$SGA_RUN/gateway.conf" --check \
	>"$SGA_RUN/check.out" 2>&1 || rc=$?
if [ "$rc" -ne 1 ] ||
	! grep -q "require_aof = true: redis node 127.0.0.1:$noaof has appendonly no" "$SGA_RUN/check.out"; then
	cat "$SGA_RUN/check.out" >&2
	die "--check did not refuse the master without an AOF (exit $rc)"
fi
rc=0
# shellcheck disable=SC2086
timeout 60 ip netns exec "$NS_GW" "$SGA_BUILD/gateway/sga-gateway" -c "$SGA_RUN/gateway.conf" -- \
	${SGA_GW_EAL:--l 0-1} >"$SGA_RUN/start.out" 2>&1 || rc=$?
if [ "$rc" -ne 1 ] || ! grep -q "redis node 127.0.0.1:$noaof has appendonly no" "$SGA_RUN/start.out" ||
	grep -q "restored .* session" "$SGA_RUN/start.out"; then
	tail -5 "$SGA_RUN/start.out" >&2
	die "the gateway started on a master without an AOF (exit $rc)"
fi
log "PASS test_cluster_store ($N messages across a restart, a slot migration and a failover, one handshake; a new pair after it; require_aof refused a master without an AOF; redis_moved=$moved redis_asked=$asked)"
