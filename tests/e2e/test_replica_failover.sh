#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The replicated message store ([store] replicate = redis, docs/OPERATIONS.md
# "Replicated message store"): two gateways on one Redis (a primary and one
# replica, replicas = 1), adopt = on, both at 10.77.0.1, each on its own link to
# the devices' namespace (as test_adopt.sh). dev-i sets a session up with
# dev-j through gateway A; then dev-j is away: stopped (SIGSTOP), and its
# address (10.77.0.3) gone from the link, so that the kernel does not queue
# A's copies in the stopped process's socket. dev-i sends N messages, and A
# acknowledges every one as STORED: A holds them, and Redis (primary and
# replica) has them. Gateway A is killed (-9), the route moves to gateway B,
# dev-j comes back (SIGCONT, its address back). dev-i's next message reaches
# B, which adopts the session and with it the backlog A acknowledged: every
# message, the N and the M sent after the move, reaches dev-j exactly once and
# in order, with no new handshake; B counts one adoption, no session set-up,
# and N messages adopted from the replica.
source "$(dirname "$0")/../../scripts/lab.sh"
NS_GWB=sgagwb$SGA_TAG
IF_GWB=sgab$SGA_TAG
IF_DEVB=sgae$SGA_TAG
REPL_PID='' I_PID='' J_PID=''
N=${SGA_E2E_MESSAGES:-200}
M=${SGA_E2E_AFTER:-20}
J_IP=10.77.0.3
cleanup() {
	set +e
	exec 7>&- 2>/dev/null
	[ -z "$J_PID" ] || kill -CONT "$J_PID" 2>/dev/null
	for p in $I_PID $J_PID $REPL_PID; do kill -KILL "$p" 2>/dev/null; done
	for p in $I_PID $J_PID $REPL_PID; do wait "$p" 2>/dev/null; done
	sga_cleanup
}
trap cleanup EXIT
export SGA_ADOPT=on SGA_STORE_REPLICATE=redis SGA_STORE_REPLICAS=1
export SGA_STORE_REPLICA_TIMEOUT_MS=${SGA_STORE_REPLICA_TIMEOUT_MS:-2000}
export SGA_REDIS_TCP_PORT=6379 # in the gateway's namespace, for the replica
export SGA_IDLE_SLEEP_US=${SGA_IDLE_SLEEP_US:-50}

sga_lab_up dev-i dev-j

# The Redis replica, next to its primary in the gateway's namespace.
mkdir -p "$SGA_RUN/replica"
ip netns exec "$NS_GW" redis-server --port 0 --unixsocket "$SGA_RUN/replica.sock" \
	--unixsocketperm 700 --replicaof 127.0.0.1 "$SGA_REDIS_TCP_PORT" --save "" --appendonly no \
	--dir "$SGA_RUN/replica" >"$SGA_RUN/replica.log" 2>&1 &
REPL_PID=$!
repl_cli() { redis-cli -s "$SGA_RUN/replica.sock" "$@"; }
repl_up() { repl_cli info replication 2>/dev/null | grep -q "master_link_status:up" &&
	sga_cli info replication | grep -q '^slave0:.*state=online'; }
sga_wait_for 30 repl_up || die "the Redis replica did not come online with its primary"

# Gateway B: its own namespace and link, the same address, keys and Redis.
sga_gw_other b "$NS_GWB" "$IF_GWB" "$IF_DEVB" 10.77.0.2/32
grep -q "replicate = redis: STORED once" "$SGA_RUN/gateway.log" || die "gateway A does not replicate"
log "gateways A and B up at 10.77.0.1 (replicate = redis, replicas = 1), the devices on A's link"

# dev-j on an address of its own; dev-i sends the lines written to a FIFO.
ip -n "$NS_DEV" addr add "$J_IP/32" dev "$IF_DEV"
mkfifo "$SGA_RUN/i.fifo"
sga_dev dev-j --bind "$J_IP:0" -v --timeout 60000 listen --wait 30000 --recv $((N + M)) \
	>"$SGA_RUN/j.out" 2>"$SGA_RUN/j.err" &
J_PID=$!
sleep 0.3
sga_dev dev-i -v --timeout 60000 connect dev-j --send-file "$SGA_RUN/i.fifo" \
	>"$SGA_RUN/i.out" 2>"$SGA_RUN/i.err" &
I_PID=$!
# The FIFO's one writer (opened after the devices started: they do not
# inherit it): dev-i reads its end when the test closes it.
exec 7<>"$SGA_RUN/i.fifo"
established() { grep -q "session with dev-i established" "$SGA_RUN/j.err" &&
	grep -q "session with dev-j established" "$SGA_RUN/i.err"; }
sga_wait_for 30 established || die "no session between dev-i and dev-j"

# dev-j goes away; dev-i sends N messages, which A acknowledges and holds.
kill -STOP "$J_PID"
ip -n "$NS_DEV" addr del "$J_IP/32" dev "$IF_DEV"
sleep 0.3 # a stats-file refresh: the key confirmations' acknowledgements are in
acked0=$(sga_stat dataplane acked_msgs)
seq 1 "$N" | sed 's/^/message /' >&7
acked_n() { echo $(($(sga_stat dataplane acked_msgs 2>/dev/null || echo "$acked0") - acked0)); }
key=
# Message fields are "<recipient role>:<e2e_seq>" (marks: "m<role>"); the N
# messages are dev-j's 1..N (its e2e_seq 0, the session's key confirmation,
# is held too when dev-j stopped before it reported it).
held_in() { "$@" hkeys "$key" | grep -c '^[01]:' || true; }
msgs_in() { "$@" hkeys "$key" | grep -c '^1:[1-9][0-9]*$' || true; }
stored() {
	[ -n "$key" ] || key=$(sga_cli --scan --pattern 'sga:{sess:*}:held' | head -1)
	[ -n "$key" ] && [ "$(acked_n)" -ge "$N" ] && [ "$(msgs_in sga_cli)" -eq "$N" ] &&
		[ "$(msgs_in repl_cli)" -eq "$N" ]
}
sga_wait_for 30 stored || die "of $N messages gateway A acknowledged $(acked_n), Redis holds \
$([ -z "$key" ] || msgs_in sga_cli), its replica $([ -z "$key" ] || msgs_in repl_cli) (${key:-no hash})"
fields=$(held_in sga_cli)
[ ! -s "$SGA_RUN/j.out" ] || die "dev-j received messages while it was away"
pending_a=$(sga_stat store pending)
log "gateway A acknowledged $N messages as STORED and holds $pending_a; Redis and its replica have them ($key)"

# A dies; the devices reach 10.77.0.1 through B; dev-j is back.
kill -KILL "$GW_PID"
wait "$GW_PID" 2>/dev/null || true
GW_PID=
ip -n "$NS_DEV" route replace 10.77.0.1/32 dev "$IF_DEVB"
ip -n "$NS_DEV" neigh flush all
ip -n "$NS_DEV" addr add "$J_IP/32" dev "$IF_DEV"
kill -CONT "$J_PID"
log "gateway A killed, the route moved to gateway B, dev-j back"

# dev-i's next messages go to B, which adopts the session and its backlog.
seq $((N + 1)) $((N + M)) | sed 's/^/message /' >&7
exec 7>&-
wait "$I_PID" || { tail -5 "$SGA_RUN/i.err" >&2; die "dev-i did not get every message acknowledged"; }
I_PID=
wait "$J_PID" || { tail -5 "$SGA_RUN/j.err" >&2; die "dev-j did not receive every message (got $(wc -l <"$SGA_RUN/j.out") of $((N + M)))"; }
J_PID=
seq 1 $((N + M)) | sed 's/^/message /' >"$SGA_RUN/expect"
cmp -s "$SGA_RUN/expect" "$SGA_RUN/j.out" || die "messages lost, duplicated or out of order across the failover"
handshakes=$(grep -c "asking the gateway for a session" "$SGA_RUN/i.err" || true)
[ "$handshakes" -le 1 ] || die "dev-i made a new handshake across the failover ($handshakes)"

sleep 0.5 # a stats-file refresh
statb() { SGA_STATS=$SGA_RUN/stats-b.json sga_stat "$@"; }
adopted=$(statb controlplane adopted)
setups=$(statb controlplane sessions)
backlog=$(statb controlplane backlog_msgs)
held=$(statb store adopted)
log "gateway B: adopted $adopted, sessions set up $setups, backlog handed over $backlog, held from the replica $held"
[ "$adopted" -eq 1 ] || die "gateway B adopted $adopted sessions, not 1"
[ "$setups" -eq 0 ] || die "gateway B set up $setups sessions: a handshake went through it"
[ "$held" -eq "$fields" ] || die "gateway B took $held messages from the replica, not $fields"
grep -q "replicated messages handed to the data plane" "$SGA_RUN/gateway-b.log" ||
	die "no backlog line in B's log"
# Delivered: B's releases emptied the session's hash.
emptied() { [ "$(held_in sga_cli)" -eq 0 ]; }
sga_wait_for 30 emptied || die "Redis still holds $(held_in sga_cli) delivered messages"
log "PASS test_replica_failover ($N messages STORED by gateway A delivered through B after A died, $M more after; one handshake)"
