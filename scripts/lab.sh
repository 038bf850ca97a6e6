#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# lab.sh - shared set-up for SGA's end-to-end tests and the run command: a private
# network of two namespaces joined by a veth pair (the gateway's DPDK port is an
# af_packet vdev on one end, the devices' kernel UDP sockets sit on the other),
# a redis-server on a unix socket, the gateway, and helpers to start devices.
# Everything it creates carries the $SGA_TAG suffix and is removed by sga_cleanup.
#
#   devices netns  sgadev$TAG: veth sgad$TAG 10.77.0.2/24 ----+
#   gateway netns  sgagw$TAG:  veth sgag$TAG (DPDK af_packet) -+  gateway 10.77.0.1:7000
#
# IPv6: SGA_GW_IP6 gives the gateway an IPv6 address too ([gateway] address6;
# SGA_GW_IP=none: IPv6 only), SGA_DEV_IP6 the devices' end one, and
# SGA_DEV_GATEWAY is what sga_dev passes to --gateway (default $GW_IP:$GW_PORT).
#
# Profiles: SGA_GROUP is the gateway's [gateway] groups (default ffdhe2048; e.g.
# x25519, or "ffdhe2048, x25519" for a mixed-profile gateway). Devices pin the
# first profile's package ($SGA_RUN/keys/gateway.pkg) unless SGA_DEV_PKG names
# another (sga_pkg GROUP gives a profile's file: gateway-x25519.pkg).
#
# Redis Cluster: SGA_REDIS_CLUSTER=1 makes sga_redis_start start three masters
# and three replicas (appendonly yes) on 127.0.0.1:$SGA_REDIS_CLUSTER_PORT..+5
# (default 7100) inside the gateway's namespace, and the gateway use them
# ([redis] cluster); SGA_REDIS_REQUIRE_AOF sets [redis] require_aof. sga_cli
# then follows redirections (redis-cli -c); sga_cluster_* reach one node.
#
# Redis keeps an append-only file (a cluster's nodes too), fsynced per SGA_REDIS_APPENDFSYNC (always,
# the default; everysec or no for the benchmarks that compare them).
#
# A cluster of gateways ([cluster], PROTOCOL.md 9.6): SGA_CLUSTER_NODES is its
# nodes line, SGA_NODE this gateway's [sessions] node, SGA_CLUSTER_NEXT_HOP and
# SGA_CLUSTER_LEASE_MS (default 1500) the rest; the key is $SGA_RUN/keys/cluster.key.
#
# SGA_REDIS_TCP_PORT: the one redis-server runs in the gateway's namespace and
# also listens on 127.0.0.1:PORT there (for a replica: replicaof needs TCP).
# SGA_STORE_REPLICATE, SGA_STORE_REPLICAS, SGA_STORE_REPLICA_TIMEOUT_MS: the
# [store] replicate, replicas and replica_timeout_ms of the gateway.
#
# More gateways: sga_gw_other starts another one next to the first (its keys,
# address and Redis; its own link, node name, stats file, store and log),
# sga_gw_other_stop / sga_gw_other_kill end one by name, sga_cleanup all.

set -euo pipefail

SGA_ROOT=${SGA_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
SGA_BUILD=${SGA_BUILD:-$SGA_ROOT/build}
SGA_TAG=${SGA_TAG:-$$}
SGA_RUN=${SGA_RUN:-$(mktemp -d /tmp/sga-run.XXXXXX)}
mkdir -p "$SGA_RUN"
NS_GW=sgagw$SGA_TAG
NS_DEV=sgadev$SGA_TAG
IF_GW=sgag$SGA_TAG
IF_DEV=sgad$SGA_TAG
GW_IP=${SGA_GW_IP:-10.77.0.1}
GW_IP6=${SGA_GW_IP6:-}
DEV_IP=10.77.0.2
DEV_IP6=${SGA_DEV_IP6:-}
GW_PORT=7000
DEV_GATEWAY=${SGA_DEV_GATEWAY:-$GW_IP:$GW_PORT}
GW_PID=
REDIS_PID=
CLUSTER_PORT=${SGA_REDIS_CLUSTER_PORT:-7100}
CLUSTER_PIDS=()
declare -gA CLUSTER_DEAD=() # ports of nodes sga_cluster_kill killed
declare -gA SGA_GW_OTHERS=() # the pids of the gateways sga_gw_other started, by name
SGA_GW_OTHER_NS=()           # the namespaces sga_gw_other made

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# sga_wait_for SECONDS CMD [ARG...]: run CMD every 0.05 s until it succeeds or
# SECONDS have passed; returns CMD's last status. Tests give generous bounds
# (30 s): a loaded machine is slow, and a wait that succeeds returns at once.
sga_wait_for() {
	local end=$((SECONDS + $1)) rc
	shift
	while :; do
		"$@" && return 0
		rc=$?
		[ "$SECONDS" -lt "$end" ] || return "$rc"
		sleep 0.05
	done
}

# Hugepages when we can (root), else the gateway falls back to --no-huge.
sga_hugepages() {
	if [ "$(id -u)" -eq 0 ]; then
		local want=512 have
		have=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
		[ "$have" -ge "$want" ] || echo "$want" >/proc/sys/vm/nr_hugepages 2>/dev/null || true
		mkdir -p /dev/hugepages
		mountpoint -q /dev/hugepages || mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || true
	fi
}

# sga_link NS_G IF_G NS_D IF_D DEV_ADDR: a veth pair from a gateway's namespace
# (IF_G, its DPDK port) to the devices' (IF_D, given the address DEV_ADDR).
sga_link() {
	ip link add "$2" type veth peer name "$4"
	ip link set "$2" netns "$1"
	ip link set "$4" netns "$3"
	ip -n "$1" link set lo up
	ip -n "$1" link set "$2" up
	ip -n "$3" link set lo up
	ip -n "$3" addr add "$5" dev "$4"
	ip -n "$3" link set "$4" up
	# veth would hand the kernel's UDP frames to DPDK with an unfinished
	# checksum (CHECKSUM_PARTIAL); the gateway verifies checksums, so let the
	# kernel compute them.
	ip netns exec "$3" ethtool -K "$4" tx off >/dev/null 2>&1 || true
	ip netns exec "$1" ethtool -K "$2" tx off >/dev/null 2>&1 || true
}

sga_net_up() {
	ip netns add "$NS_GW"
	ip netns add "$NS_DEV"
	sga_link "$NS_GW" "$IF_GW" "$NS_DEV" "$IF_DEV" "$DEV_IP/24"
	# nodad: usable at once, not tentative for a second.
	[ -z "$DEV_IP6" ] || ip -n "$NS_DEV" addr add "$DEV_IP6/64" dev "$IF_DEV" nodad
}

# Redis keeps an append-only file in the run directory, so a restarted
# redis-server (sga_redis_start_existing) comes back with the gateway's state.
sga_redis_start() {
	rm -f "$SGA_RUN/appendonly.aof" "$SGA_RUN/dump.rdb"
	rm -rf "$SGA_RUN/appendonlydir"
	sga_redis_start_existing
}

# redis-cli on the run's socket, as the default user (SGA_REDIS_PASS: requirepass).
sga_cli() {
	if [ -n "${SGA_REDIS_CLUSTER:-}" ]; then
		ip netns exec "$NS_GW" redis-cli -c -p "$(sga_cluster_live)" "$@"
	elif [ -n "${SGA_REDIS_PASS:-}" ]; then
		REDISCLI_AUTH=$SGA_REDIS_PASS redis-cli -s "$SGA_RUN/redis.sock" "$@"
	else
		redis-cli -s "$SGA_RUN/redis.sock" "$@"
	fi
}

# The cluster's node ports, one a line.
sga_cluster_ports() { seq "$CLUSTER_PORT" $((CLUSTER_PORT + 5)); }

# sga_cluster_cmd PORT ARG...: redis-cli on one node (no redirections).
sga_cluster_cmd() {
	local port=$1
	shift
	ip netns exec "$NS_GW" redis-cli -p "$port" "$@"
}

# The first node not killed (sga_cluster_kill): the one to ask.
sga_cluster_live() {
	local p
	for p in $(sga_cluster_ports); do
		[ -z "${CLUSTER_DEAD[$p]:-}" ] && echo "$p" && return
	done
}

sga_cluster_ok() {
	local p
	for p in $(sga_cluster_ports); do
		[ -n "${CLUSTER_DEAD[$p]:-}" ] && continue
		sga_cluster_cmd "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
	done
}

# sga_cluster_master_of KEY: the port of the master serving KEY's slot.
sga_cluster_master_of() {
	local slot live
	live=$(sga_cluster_live)
	slot=$(sga_cluster_cmd "$live" cluster keyslot "$1")
	sga_cluster_cmd "$live" --raw cluster nodes |
		awk -v s="$slot" '$3 ~ /master/ && $8 == "connected" {
			for (i = 9; i <= NF; i++) { n = split($i, r, "-"); lo = r[1]; hi = (n > 1 ? r[2] : r[1])
				if (lo !~ /\[/ && s + 0 >= lo + 0 && s + 0 <= hi + 0) { split($2, a, "[:@]"); print a[2]; exit } } }'
}

# The ports of the masters serving slots, one a line.
sga_cluster_masters() {
	sga_cluster_cmd "$(sga_cluster_live)" --raw cluster nodes |
		awk '$3 ~ /master/ && $8 == "connected" && NF >= 9 { split($2, a, "[:@]"); print a[2] }' | sort -n
}

# sga_cluster_migrate KEY PORT STEP: move KEY's slot to the master on PORT,
# as redis-cli --cluster reshard does: STEP "ask" marks the slot migrating
# and moves KEY (the old owner answers ASK for it), STEP "moved" hands the
# slot over (the old owner answers MOVED).
sga_cluster_migrate() {
	local key=$1 to=$2 slot from from_id to_id p
	slot=$(sga_cluster_cmd "$(sga_cluster_live)" cluster keyslot "$key")
	to_id=$(sga_cluster_cmd "$to" cluster myid)
	if [ "$3" = ask ]; then
		from=$(sga_cluster_master_of "$key")
		from_id=$(sga_cluster_cmd "$from" cluster myid)
		sga_cluster_cmd "$to" cluster setslot "$slot" importing "$from_id" | grep -q OK || return 1
		sga_cluster_cmd "$from" cluster setslot "$slot" migrating "$to_id" | grep -q OK || return 1
		sga_cluster_cmd "$from" migrate 127.0.0.1 "$to" "$key" 0 5000 | grep -q OK || return 1
	else
		for p in $(sga_cluster_masters); do
			sga_cluster_cmd "$p" cluster setslot "$slot" node "$to_id" | grep -q OK || return 1
		done
	fi
}

# sga_cluster_replica_of PORT: a replica of the master on PORT.
sga_cluster_replica_of() {
	local id
	id=$(sga_cluster_cmd "$1" cluster myid)
	sga_cluster_cmd "$1" --raw cluster nodes |
		awk -v m="$id" '$4 == m && $3 ~ /slave/ { split($2, a, "[:@]"); print a[2]; exit }'
}

# sga_cluster_kill PORT: SIGKILL the node (its pid, as started).
sga_cluster_kill() {
	local i=$(($1 - CLUSTER_PORT))
	kill -KILL "${CLUSTER_PIDS[$i]}" 2>/dev/null || true
	wait "${CLUSTER_PIDS[$i]}" 2>/dev/null || true
	CLUSTER_DEAD[$1]=1
}

sga_cluster_start() {
	local p nodes=()
	for p in $(sga_cluster_ports); do
		mkdir -p "$SGA_RUN/cluster/$p"
		ip netns exec "$NS_GW" redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes \
			--cluster-config-file "$SGA_RUN/cluster/$p/nodes.conf" --cluster-node-timeout 2000 \
			--appendonly yes --appendfsync "${SGA_REDIS_APPENDFSYNC:-always}" --save "" --daemonize no \
			--dir "$SGA_RUN/cluster/$p" >>"$SGA_RUN/cluster/$p/redis.log" 2>&1 &
		CLUSTER_PIDS+=($!)
		nodes+=("127.0.0.1:$p")
	done
	for p in $(sga_cluster_ports); do
		sga_wait_for 30 sga_cluster_cmd "$p" ping >/dev/null 2>&1 || die "cluster node $p did not start"
	done
	timeout 60 ip netns exec "$NS_GW" redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 \
		--cluster-yes >>"$SGA_RUN/cluster/create.log" 2>&1 ||
		die "redis-cli --cluster create failed (see $SGA_RUN/cluster/create.log)"
	sga_wait_for 30 sga_cluster_ok || die "the cluster did not reach cluster_state:ok"
}

sga_cluster_stop() {
	local pid
	for pid in "${CLUSTER_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
	for pid in "${CLUSTER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	CLUSTER_PIDS=()
}

sga_redis_start_existing() {
	if [ -n "${SGA_REDIS_CLUSTER:-}" ]; then
		sga_cluster_start
		return
	fi
	# shellcheck disable=SC2086
	${SGA_REDIS_TCP_PORT:+ip netns exec $NS_GW} redis-server --port "${SGA_REDIS_TCP_PORT:-0}" \
		${SGA_REDIS_TCP_PORT:+--bind 127.0.0.1} --unixsocket "$SGA_RUN/redis.sock" --unixsocketperm 700 \
		--save "" --appendonly yes --appendfsync "${SGA_REDIS_APPENDFSYNC:-always}" --daemonize no --dir "$SGA_RUN" \
		${SGA_REDIS_PASS:+--requirepass "$SGA_REDIS_PASS"} >>"$SGA_RUN/redis.log" 2>&1 &
	REDIS_PID=$!
	sga_wait_for 30 sga_redis_answers || die "redis-server did not start (see $SGA_RUN/redis.log)"
}

sga_redis_answers() { [ "$(sga_cli ping 2>/dev/null)" = PONG ]; }

sga_redis_stop() {
	sga_cluster_stop
	[ -n "$REDIS_PID" ] || return 0
	kill "$REDIS_PID" 2>/dev/null || true
	wait "$REDIS_PID" 2>/dev/null || true
	REDIS_PID=
}

# Write the gateway config for this run (a few values come from SGA_* variables).
sga_gw_config() {
	local conf=$SGA_RUN/gateway.conf
	cat >"$conf" <<CONF
[gateway]
id = sga-gw-$SGA_TAG
address = $GW_IP
${GW_IP6:+address6 = $GW_IP6}
udp_port = $GW_PORT
groups = ${SGA_GROUP:-ffdhe2048}
suites = aes-128-gcm, aes-256-gcm, chacha20-poly1305, aes-128-ccm8, ascon-aead128
enrollment = ${SGA_ENROLLMENT:-open}
rsa_key = $SGA_RUN/keys/gateway-rsa.pem
trapdoor_key = $SGA_RUN/keys/gateway-trapdoor.pem
x25519_key = $SGA_RUN/keys/gateway-x25519.pem
x25519_trapdoor_key = $SGA_RUN/keys/gateway-x25519-trapdoor.pem
p256_key = $SGA_RUN/keys/gateway-p256.pem
p256_trapdoor_key = $SGA_RUN/keys/gateway-p256-trapdoor.pem
package = $SGA_RUN/keys/gateway.pkg
master_key = $SGA_RUN/keys/master.key
stats_file = $SGA_RUN/stats.json
stats_interval_s = ${SGA_STATS_INTERVAL:-0}
metrics_listen = ${SGA_METRICS_LISTEN:-}
[dataplane]
port = net_af_packet0,iface=$IF_GW,qpairs=1${SGA_AFP_ARGS:-}
lcores = 1
mbufs = 8191
ctrl_rate = ${SGA_CTRL_RATE:-100}
ctrl_burst = ${SGA_CTRL_BURST:-200}
${SGA_MAX_SESSIONS:+max_sessions = $SGA_MAX_SESSIONS}
${SGA_IDLE_SLEEP_US:+idle_sleep_us = $SGA_IDLE_SLEEP_US}
[controlplane]
workers = 2
persist_interval_ms = 200
cookie = ${SGA_COOKIE:-auto}
cookie_threshold = ${SGA_COOKIE_THRESHOLD:-32}
[sessions]
idle_s = ${SGA_SESSION_IDLE_S:-0}
max_life_s = ${SGA_SESSION_MAX_LIFE_S:-0}
adopt = ${SGA_ADOPT:-off}
${SGA_NODE:+node = $SGA_NODE}
$(if [ -n "${SGA_CLUSTER_NODES:-}" ]; then
	printf '[cluster]\nnodes = %s\nkey_file = %s\nlease_ms = %s\n' "$SGA_CLUSTER_NODES" \
		"$SGA_RUN/keys/cluster.key" "${SGA_CLUSTER_LEASE_MS:-1500}"
	[ -z "${SGA_CLUSTER_NEXT_HOP:-}" ] || printf 'next_hop = %s\n' "$SGA_CLUSTER_NEXT_HOP"
fi)
[redis]
$(if [ -n "${SGA_REDIS_CLUSTER:-}" ]; then
	printf 'cluster = %s\n' "$(sga_cluster_ports | sed 's/^/127.0.0.1:/' | paste -sd, | sed 's/,/, /g')"
else
	printf 'socket = %s\n' "$SGA_RUN/redis.sock"
fi)
${SGA_REDIS_REQUIRE_AOF:+require_aof = $SGA_REDIS_REQUIRE_AOF}
timeout_ms = 300
backoff_max_ms = 500
${SGA_GW_REDIS_USER:+user = $SGA_GW_REDIS_USER}
${SGA_GW_REDIS_PASSWORD_FILE:+password_file = $SGA_GW_REDIS_PASSWORD_FILE}
[eal]
hugepages = auto
memory_mb = 512
args = --file-prefix=sga$SGA_TAG --log-level=*:warning --log-level=sga.*:info
[store]
dir = ${SGA_STORE_DIR:-$SGA_RUN/store}
fsync = ${SGA_STORE_FSYNC:-always}
max_age_s = ${SGA_STORE_MAX_AGE_S:-0}
${SGA_STORE_REPLICATE:+replicate = $SGA_STORE_REPLICATE}
${SGA_STORE_REPLICAS:+replicas = $SGA_STORE_REPLICAS}
${SGA_STORE_REPLICA_TIMEOUT_MS:+replica_timeout_ms = $SGA_STORE_REPLICA_TIMEOUT_MS}
[crypto]
device = ${SGA_CRYPTO_DEVICE:-auto}
modexp = ${SGA_MODEXP:-auto}
CONF
	echo "$conf"
}

# sga_gw_serves "GROUPS": 0 if this build's gateway takes [gateway] groups =
# GROUPS (its keys made and its packages written, in a scratch folder): what
# a test of a profile checks before it runs.
sga_gw_serves() {
	local d rc=0
	d=$(mktemp -d /tmp/sga-probe.XXXXXX)
	printf '[gateway]\ngroups = %s\nrsa_key = %s/r.pem\ntrapdoor_key = %s/t.pem\nx25519_key = %s/x.pem\nx25519_trapdoor_key = %s/xt.pem\np256_key = %s/p.pem\np256_trapdoor_key = %s/pt.pem\npackage = %s/gw.pkg\nmaster_key = %s/m.key\n' \
		"$1" "$d" "$d" "$d" "$d" "$d" "$d" "$d" "$d" >"$d/gw.conf"
	"$SGA_BUILD/gateway/sga-gateway" -c "$d/gw.conf" --init-keys >"$d/out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || sed 's/^/    /' "$d/out" >&2
	rm -rf "$d"
	return "$rc"
}

sga_gw_start() {
	local conf
	conf=$(sga_gw_config)
	mkdir -p "$SGA_RUN/keys"
	"$SGA_BUILD/gateway/sga-gateway" -c "$conf" --init-keys >>"$SGA_RUN/gateway.log" 2>&1 ||
		die "sga-gateway --init-keys failed (see $SGA_RUN/gateway.log)"
	local before
	before=$(grep -c "restored .* session" "$SGA_RUN/gateway.log" 2>/dev/null || true)
	# SGA_GW_EAL: the gateway's EAL core options (default: main lcore 0, data plane 1).
	# shellcheck disable=SC2086
	ip netns exec "$NS_GW" "$SGA_BUILD/gateway/sga-gateway" -c "$conf" -- ${SGA_GW_EAL:--l 0-1} \
		>>"$SGA_RUN/gateway.log" 2>&1 &
	GW_PID=$!
	for _ in $(seq 1 600); do # 30 s: a generous bound on a loaded machine
		# This start's own line: the log may hold earlier runs.
		[ "$(grep -c "restored .* session" "$SGA_RUN/gateway.log" 2>/dev/null)" -gt "$before" ] && return 0
		kill -0 "$GW_PID" 2>/dev/null || die "sga-gateway exited (see $SGA_RUN/gateway.log)"
		sleep 0.05
	done
	die "sga-gateway did not come up (see $SGA_RUN/gateway.log)"
}

sga_gw_exited() { ! kill -0 "$GW_PID" 2>/dev/null; }

sga_gw_stop() {
	[ -n "$GW_PID" ] || return 0
	kill -TERM "$GW_PID" 2>/dev/null || true
	sga_wait_for 30 sga_gw_exited || true
	kill -KILL "$GW_PID" 2>/dev/null || true
	wait "$GW_PID" 2>/dev/null || true
	GW_PID=
}

# sga_gw_other NAME NS IF_G IF_D ADDR [SED-EXPR...]: start another gateway,
# "gateway NAME", with the first one's keys, address and Redis (sga_gw_start
# first: its $SGA_RUN/gateway.conf is the model).
# - Namespace NS: made if it does not exist (and then deleted by sga_cleanup);
#   "$NS_GW" is fine, and needed for a Redis Cluster, which listens on that
#   namespace's loopback.
# - Link: its own, from IF_G (in NS, its DPDK port) to IF_D (in $NS_DEV, given
#   the address ADDR, e.g. 10.77.0.2/32); one there already, from an earlier
#   start of gateway NAME, is kept. Reverse-path filtering is turned off in
#   $NS_DEV (all, default, $IF_DEV and IF_D): with one gateway address behind
#   two links, either gateway's frames reach the devices whatever the route.
# - Config $SGA_RUN/gateway-NAME.conf: gateway.conf with IF_G for the port,
#   [sessions] node = gw-NAME-$SGA_TAG, stats_file $SGA_RUN/stats-NAME.json
#   (SGA_STATS=$SGA_RUN/stats-NAME.json sga_stat reads it), [store] dir
#   $SGA_RUN/store-NAME and the DPDK --file-prefix sgaNAME$SGA_TAG; then each
#   SED-EXPR (one sed expression an argument) in turn: another value
#   ("s|^stats_interval_s = .*|stats_interval_s = 0|") or another line
#   ("/^\[store\]/a KEY = VALUE").
# - It runs with EAL -l 0-1, its output appended to $SGA_RUN/gateway-NAME.log;
#   its pid is in GW_NAME_PID (NAME upper-cased: gateway b's in GW_B_PID).
# Returns once it is up (a new "restored .* session" line in its log; 30 s at
# most), or dies showing the log's tail. NAME: letters and digits.
sga_gw_other() {
	local name=$1 ns=$2 if_g=$3 if_d=$4 addr=$5 conf=$SGA_RUN/gateway-$1.conf log=$SGA_RUN/gateway-$1.log
	local f before pid end exprs=()
	shift 5
	[[ $name =~ ^[[:alnum:]]+$ ]] || die "sga_gw_other: the name '$name' is not letters and digits"
	[ -z "${SGA_GW_OTHERS[$name]:-}" ] || die "sga_gw_other: gateway $name runs already"
	if ! ip netns list | awk -v n="$ns" '$1 == n { f = 1 } END { exit !f }'; then
		ip netns add "$ns"
		SGA_GW_OTHER_NS+=("$ns")
	fi
	ip -n "$ns" link show "$if_g" >/dev/null 2>&1 || sga_link "$ns" "$if_g" "$NS_DEV" "$if_d" "$addr"
	for f in all default "$IF_DEV" "$if_d"; do
		ip netns exec "$NS_DEV" sysctl -qw "net.ipv4.conf.$f.rp_filter=0" 2>/dev/null || true
	done
	for f in "$@"; do exprs+=(-e "$f"); done
	sed -e "s|iface=$IF_GW,|iface=$if_g,|" -e "s|^adopt = .*|&\nnode = gw-$name-$SGA_TAG|" \
		-e "s|^stats_file = .*|stats_file = $SGA_RUN/stats-$name.json|" \
		-e "s|^dir = .*|dir = $SGA_RUN/store-$name|" \
		-e "s|--file-prefix=sga$SGA_TAG|--file-prefix=sga$name$SGA_TAG|" "${exprs[@]}" \
		"$SGA_RUN/gateway.conf" >"$conf"
	: >>"$log"
	before=$(grep -c "restored .* session" "$log" || true) # this start's own line: the log may hold earlier ones
	ip netns exec "$ns" "$SGA_BUILD/gateway/sga-gateway" -c "$conf" -- -l 0-1 >>"$log" 2>&1 &
	pid=$!
	SGA_GW_OTHERS[$name]=$pid
	declare -g "GW_${name^^}_PID=$pid"
	end=$((SECONDS + 30))
	until [ "$(grep -c "restored .* session" "$log")" -gt "$before" ]; do
		kill -0 "$pid" 2>/dev/null || { tail -5 "$log" >&2; die "gateway $name exited (see $log)"; }
		[ "$SECONDS" -lt "$end" ] || { tail -5 "$log" >&2; die "gateway $name did not come up (see $log)"; }
		sleep 0.05
	done
}

# sga_gw_other_stop NAME: stop gateway NAME (SIGTERM; SIGKILL after 30 s) and
# wait for it. sga_gw_other_kill NAME: kill it (SIGKILL: a crash) and wait.
# Either clears GW_NAME_PID; the name may be started again.
sga_gw_other_stop() { sga_gw_other_end "$1" TERM; }
sga_gw_other_kill() { sga_gw_other_end "$1" KILL; }
sga_gw_other_end() {
	local pid=${SGA_GW_OTHERS[$1]:-}
	[ -n "$pid" ] || return 0
	if [ "$2" = TERM ]; then
		kill -TERM "$pid" 2>/dev/null || true
		sga_wait_for 30 sga_pid_gone "$pid" || true
	fi
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	unset "SGA_GW_OTHERS[$1]"
	declare -g "GW_${1^^}_PID="
}

sga_pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# A counter from the gateway's stats file (SGA_STATS: another gateway's).
sga_stat() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d[sys.argv[2]][sys.argv[3]])' \
		"${SGA_STATS:-$SGA_RUN/stats.json}" "$1" "$2"
}

# sga_pkg [GROUP]: the package file of a profile (none: the first profile's).
sga_pkg() {
	local first
	first=$(printf '%s' "${SGA_GROUP:-ffdhe2048}" | cut -d, -f1 | tr -d ' ')
	if [ -z "${1:-}" ] || [ "$1" = "$first" ]; then
		echo "$SGA_RUN/keys/gateway.pkg"
	else
		echo "$SGA_RUN/keys/gateway-$1.pkg"
	fi
}

# sga_dev ID [sga-device args...]: run a device in the devices' namespace.
sga_dev() {
	local id=$1
	shift
	ip netns exec "$NS_DEV" "$SGA_BUILD/device/sga-device" --gateway "$DEV_GATEWAY" --id "$id" \
		--state "$SGA_RUN/$id.state" --package "${SGA_DEV_PKG:-$SGA_RUN/keys/gateway.pkg}" "$@"
}

# The usual start of a test: hugepages, the network, Redis, the gateway, and the
# devices named as arguments registered.
sga_lab_up() {
	local id
	sga_hugepages
	sga_net_up
	sga_redis_start
	sga_gw_start
	for id in "$@"; do sga_dev "$id" register || die "$id register"; done
}

# sga_exchange N [DEV-I OPTION...] [-- DEV-J OPTION...]: dev-j listens, dev-i
# connects to it, each sends the other N messages ("message 1".."message N"),
# and every one must arrive intact and in order. The options go to each
# sga-device before its command; output and stderr land in $SGA_RUN/{i,j}.{out,err}.
# SGA_EX_I / SGA_EX_J name the two devices (default dev-i, dev-j).
sga_exchange() {
	local n=$1 i_opts=() j di=${SGA_EX_I:-dev-i} dj=${SGA_EX_J:-dev-j}
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		i_opts+=("$1")
		shift
	done
	[ $# -eq 0 ] || shift
	sga_dev "$dj" "$@" --timeout 30000 listen --wait 30000 --recv "$n" --count "$n" \
		>"$SGA_RUN/j.out" 2>"$SGA_RUN/j.err" &
	j=$!
	sleep 0.3
	sga_dev "$di" "${i_opts[@]}" --timeout 30000 connect "$dj" --count "$n" --recv "$n" \
		>"$SGA_RUN/i.out" 2>"$SGA_RUN/i.err" || { cat "$SGA_RUN/i.err" >&2; die "$di connect/exchange"; }
	wait "$j" || { cat "$SGA_RUN/j.err" >&2; die "$dj listen"; }
	seq 1 "$n" | sed 's/^/message /' >"$SGA_RUN/expect"
	cmp -s "$SGA_RUN/expect" "$SGA_RUN/i.out" || die "$di did not receive $n messages intact and in order"
	cmp -s "$SGA_RUN/expect" "$SGA_RUN/j.out" || die "$dj did not receive $n messages intact and in order"
}

# sga_stream_start N [DEV-J OPTION...]: dev-j (with the options, e.g. --bind)
# listens for "message 1".."message N" and dev-i (-v) sends them in one
# session (their pids in STREAM_I, STREAM_J; output in j.out, i.err); returns
# once a tenth has arrived (at most 10 s), so that what the caller does next
# lands mid-stream. sga_stream_started says whether it did; sga_one_stream
# checks the end.
sga_stream_start() {
	local n=$1
	shift
	sga_dev dev-j "$@" --timeout 60000 listen --wait 30000 --recv "$n" >"$SGA_RUN/j.out" \
		2>"$SGA_RUN/j.err" &
	STREAM_J=$!
	sleep 0.3
	sga_dev dev-i --timeout 60000 -v connect dev-j --count "$n" >"$SGA_RUN/i.out" \
		2>"$SGA_RUN/i.err" &
	STREAM_I=$!
	STREAM_N=$n
	sga_wait_for 10 sga_stream_started || true
}
sga_stream_started() { [ -s "$SGA_RUN/j.out" ] && [ "$(wc -l <"$SGA_RUN/j.out")" -ge $((STREAM_N / 10)) ]; }

# sga_one_stream I_PID J_PID N WHAT: dev-i (I_PID, stderr in i.err, run with
# -v) sent "message 1".."message N" to dev-j (J_PID, stdout in j.out) in one
# session: both ended well, every message arrived once and in order, and dev-i
# made one handshake - the session outlived WHAT ("the restart").
sga_one_stream() {
	local handshakes
	wait "$1" || { tail -5 "$SGA_RUN/i.err" >&2; die "dev-i did not get every message acknowledged"; }
	wait "$2" || { tail -5 "$SGA_RUN/j.err" >&2; die "dev-j did not receive every message"; }
	seq 1 "$3" | sed 's/^/message /' >"$SGA_RUN/expect"
	cmp -s "$SGA_RUN/expect" "$SGA_RUN/j.out" || die "messages lost, duplicated or out of order across $4"
	handshakes=$(grep -c "asking the gateway for a session" "$SGA_RUN/i.err" || true)
	[ "$handshakes" -le 1 ] || die "dev-i made a new handshake across $4 ($handshakes)"
}

# Stop everything and remove the namespaces, keeping the run directory.
sga_cleanup_keep_run() {
	set +e
	local name ns
	for name in "${!SGA_GW_OTHERS[@]}"; do kill -KILL "${SGA_GW_OTHERS[$name]}" 2>/dev/null; done
	for name in "${!SGA_GW_OTHERS[@]}"; do wait "${SGA_GW_OTHERS[$name]}" 2>/dev/null; done
	SGA_GW_OTHERS=()
	sga_gw_stop
	sga_redis_stop
	pkill -KILL -f -- "--state $SGA_RUN/" 2>/dev/null # devices left behind by a failed test
	for ns in "${SGA_GW_OTHER_NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
	SGA_GW_OTHER_NS=()
	ip netns del "$NS_GW" 2>/dev/null
	ip netns del "$NS_DEV" 2>/dev/null
}

sga_cleanup() {
	sga_cleanup_keep_run
	if [ -z "${SGA_KEEP_RUN:-}" ]; then rm -rf "$SGA_RUN"; fi
}
