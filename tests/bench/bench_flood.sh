#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench_flood.sh - honest handshakes while a handshake flood arrives: for each
# case a fresh redis-server and sga-gateway (memif server, one data-plane
# lcore on core 1, two control workers), and sga-floodgen (memif client, core
# 0) timing --pairs honest pairs (two registrations and one session set-up
# each) while it offers forged REG_REQ and NEG_REQ from spoofed addresses:
#   idle       no flood
#   defended   --rate forged frames/s, [controlplane] cookie = auto and the
#              per-source token buckets on (the defaults)
#   undefended the same flood with cookie = off and ctrl_rate = 0 (what the
#              gateway did before the defences)
# Prints one table (p50/p99 of both latencies, successes, failures) and the
# gateway's flood counters. A benchmark, not a test: it asserts nothing. Run
# as root; build first (meson setup build && ninja -C build).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${SGA_BUILD:-$ROOT/build}
RATE=50000
PAIRS=20
CASES=idle,defended,undefended
GIVE_UP=10000
KEEP=0

usage() {
	cat <<USAGE
Usage: tests/bench/bench_flood.sh [--build DIR] [--rate N] [--pairs N] [--cases LIST]
       [--give-up-ms MS] [--keep]
  --rate N       forged frames/s in the flood cases (default $RATE)
  --pairs N      honest pairs per case (default $PAIRS)
  --cases LIST   of idle, defended, undefended (default $CASES)
  --give-up-ms   an honest step not done by then counts as failed (default $GIVE_UP)
USAGE
}
while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=${2:?}; shift 2 ;;
	--rate) RATE=${2:?}; shift 2 ;;
	--pairs) PAIRS=${2:?}; shift 2 ;;
	--cases) CASES=${2:?}; shift 2 ;;
	--give-up-ms) GIVE_UP=${2:?}; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench_flood.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
done

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root"
GW=$BUILD/gateway/sga-gateway
GEN=$BUILD/tests/sga-floodgen
for f in "$GW" "$GEN"; do [ -x "$f" ] || die "$f not built"; done

TAG=flood$$
RUN=$(mktemp -d /tmp/sga-bench-flood.XXXXXX)
SOCK=$RUN/memif.sock
PREFIXES=("sgafgw$TAG" "sgafgen$TAG")
GW_PID= GEN_PID= REDIS_PID=
source "$ROOT/tests/bench/bench_lib.sh" # stop_pid, redis_start, wait_line
cleanup() {
	local rc=$?
	set +e
	stop_pid "$GEN_PID" INT 15
	stop_pid "$GW_PID" TERM 10
	stop_pid "$REDIS_PID" TERM 5
	for p in "${PREFIXES[@]}"; do
		rm -rf "/run/dpdk/$p"
		rm -f /dev/hugepages/"$p"map_* 2>/dev/null
	done
	if [ "$KEEP" -eq 1 ]; then log "run directory kept: $RUN"; else rm -rf "$RUN"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p /dev/hugepages
mountpoint -q /dev/hugepages || mount -t hugetlbfs nodev /dev/hugepages
[ "$(cat /proc/sys/vm/nr_hugepages)" -ge 512 ] || echo 1024 >/proc/sys/vm/nr_hugepages

conf() { # $1 cookie mode, $2 ctrl_rate
	cat <<CONF
[gateway]
id = sga-bench-flood
address = 10.77.0.1
udp_port = 7000
group = ffdhe2048
rsa_key = $RUN/keys/gateway-rsa.pem
trapdoor_key = $RUN/keys/gateway-trapdoor.pem
package = $RUN/keys/gateway.pkg
master_key = $RUN/keys/master.key
stats_file = $RUN/stats.json
stats_interval_s = 0
[dataplane]
port = net_memif0,role=server,socket=$SOCK,id=0
lcores = 1
mbufs = 32767
ctrl_rate = $2
[controlplane]
workers = 2
cookie = $1
[redis]
socket = $RUN/redis.sock
[eal]
hugepages = yes
memory_mb = 512
args = --file-prefix=${PREFIXES[0]} --log-level=*:warning --log-level=sga.*:info --log-level=pmd.net.memif:error
CONF
}
mkdir -p "$RUN/keys"
conf auto 100 >"$RUN/gateway.conf"
"$GW" -c "$RUN/gateway.conf" --init-keys >"$RUN/init.log" 2>&1 || die "--init-keys failed"

stat() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d[sys.argv[2]][sys.argv[3]])' "$RUN/stats.json" "$1" "$2" 2>/dev/null || echo "?"; }

for c in $(echo "$CASES" | tr ',' ' '); do
	case $c in
	idle) mode=auto rl=100 rate=0 ;;
	defended) mode=auto rl=100 rate=$RATE ;;
	undefended) mode=off rl=0 rate=$RATE ;;
	*) die "unknown case $c" ;;
	esac
	log "$c: cookie = $mode, ctrl_rate = $rl, $rate forged frames/s, $PAIRS honest pairs"
	conf "$mode" "$rl" >"$RUN/gateway.conf"
	rm -f "$RUN/stats.json"
	redis_start "$RUN" taskset -c 0 || die "redis-server did not start"
	"$GW" -c "$RUN/gateway.conf" -- -l 0-1 >"$RUN/gw-$c.log" 2>&1 &
	GW_PID=$!
	wait_line "$RUN/gw-$c.log" "restored .* session" "$GW_PID" 120 || {
		tail -n 20 "$RUN/gw-$c.log" >&2
		die "sga-gateway did not come up"
	}
	: >"$RUN/gen-$c.log"
	timeout --signal=INT --kill-after=20 900 "$GEN" --package "$RUN/keys/gateway.pkg" \
		--rate "$rate" --handshakes "$PAIRS" --give-up-ms "$GIVE_UP" --linger 120 -- -l 0 \
		--no-pci --no-huge -m 1024 --file-prefix="${PREFIXES[1]}" --log-level='*:warning' \
		--log-level=pmd.net.memif:error "--vdev=net_memif0,role=client,socket=$SOCK,id=0" \
		>"$RUN/gen-$c.log" 2>&1 &
	GEN_PID=$!
	wait_line "$RUN/gen-$c.log" "done; the port stays open" "$GEN_PID" 900 || {
		tail -n 20 "$RUN/gen-$c.log" >&2
		die "sga-floodgen failed"
	}
	sleep 0.3 # the stats file (rewritten every 100 ms)
	echo "COUNTERS case=$c cookie_sent=$(stat controlplane cookie_sent)" \
		"cookie_valid=$(stat controlplane cookie_valid) load_events=$(stat controlplane load_events)" \
		"ctrl_spread=$(stat dataplane ctrl_spread) drop_ctrl_rate=$(stat dataplane drop_ctrl_rate)" \
		"drop_ctrl_ring_full=$(stat dataplane drop_ctrl_ring_full) drop_ctrl_load=$(stat dataplane drop_ctrl_load) rx=$(stat dataplane rx)" \
		"handled=$(stat controlplane handled) registered=$(stat controlplane registered)" >>"$RUN/counters"
	grep -E '^\s+(registration|session|cookies)' "$RUN/gen-$c.log" >&2 || true
	# the gateway first (the generator no longer sends), then the generator
	stop_pid "$GW_PID" TERM 10
	GW_PID=
	stop_pid "$GEN_PID" INT 15
	GEN_PID=
	stop_pid "$REDIS_PID" TERM 5
	REDIS_PID=
	grep '^RESULT' "$RUN/gen-$c.log" | sed "s/^RESULT /RESULT case=$c /" >>"$RUN/results"
done

echo
echo "Honest handshakes (sga-floodgen over memif, one gateway lcore, 2 control workers, RSA-2048)"
awk '
	{ delete kv; for (i = 2; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] } }
	/^RESULT/ {
		printf "%-11s %9s/s  register %3s ok %2s failed  p50 %8s ms  p99 %8s ms | set-up %3s ok %2s failed  p50 %8s ms  p99 %8s ms | cookies %s\n",
		       kv["case"], sprintf("%.0f", kv["offered_fps"]), kv["reg_ok"], kv["reg_fail"],
		       kv["reg_p50_ms"], kv["reg_p99_ms"], kv["conn_ok"], kv["conn_fail"],
		       kv["conn_p50_ms"], kv["conn_p99_ms"], kv["cookies"]
	}' "$RUN/results"
echo
echo "Gateway counters per case:"
sed 's/^COUNTERS /  /' "$RUN/counters"
