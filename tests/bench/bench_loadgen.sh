#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench_loadgen.sh - M2M-scale load: for each session count (default 1, 1000,
# 100000) a lab provisioning file (sga-loadgen provision), a fresh
# redis-server and sga-gateway under [lab] profile = lab provisioning the
# sessions at start (the time it took is printed), then sga-loadgen over a
# memif pair playing both devices of every session; and, in the same run,
# dpdk-testpmd io forwarding on the same path and lcores (driven by
# sga-bench-relay --raw) as the reference. Prints one table. A benchmark,
# not a test: it asserts nothing. Run as root (hugepages, the memif socket);
# build first: meson setup build-bench && ninja -C build-bench.
#
# Lcores as bench_relay.sh: the gateway's data plane / testpmd's forwarding on
# core 1; the generator, the gateway's main and control threads and
# redis-server on core 0.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${SGA_BUILD:-$ROOT/build-bench}
COUNTS=1,1000,100000
SIZES=64
DURATION=5
RATE=max
DIST=uniform
WINDOW=8
OPEN_EVERY=1
FRAMES= # empty: sga-loadgen's default
GEN_ARGS=()
STORE=off
BOTH=()
KEEP=0
SETS=()
MEMIF_ARGS= # ,rsize=N on every memif port of the run
PERF= # perf.data prefix: profile the data-plane lcore during each window

usage() {
	cat <<EOF
Usage: tests/bench/bench_loadgen.sh [OPTIONS]
sga-loadgen against sga-gateway ([lab] profile = lab, memif) for several session
counts, next to dpdk-testpmd io forwarding on the same path. Run as root.

  --build DIR       meson build directory (default \$SGA_BUILD or build-bench)
  --sessions LIST   session counts, comma separated (default $COUNTS)
  --sizes LIST      payload sizes (default $SIZES)
  --duration S      seconds per measurement at most (default $DURATION)
  --rate R|max      offered msg/s (default $RATE: closed loop)
  --dist D          uniform or zipf:S (default $DIST)
  --window N        per-device window, 0..256 (default $WINDOW)
  --open-every N    the generator opens every Nth DATA_DOWN (and without a window
                    every Nth DATA_ACK): it then costs less per message than the
                    gateway; delivered and lost need 1 (default $OPEN_EVERY)
  --frames N        DATA_UP frames sealed per size (default: sga-loadgen's, 1000000):
                    more make a longer window, e.g. for perf record on the lcore
  --gen-arg ARG     pass ARG to sga-loadgen run (repeatable), e.g.
                    --gen-arg --max-inflight=8192
  --both-directions both members send
  --store MODE      off (default) | none | interval | always (fsync policy)
  --set SEC.KEY=V   add or override a gateway config key (repeatable)
  --memif-rsize N   log2 of the memif rings' size on every port of the run, 1..14
                    (default the PMD's, 10): a larger ring holds what the gateway
                    sends while the generator, on the shared core, is off its CPU
  --perf PREFIX     perf record -e cpu-clock -C 1 (the gateway's lcore) during each
                    measurement window, into PREFIX-<sessions>-<size>.data (needs
                    perf, Debian's linux-perf); read with perf report -i FILE
  --keep            keep the run directory
  -h, --help        this text
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=${2:?}; shift 2 ;;
	--sessions) COUNTS=${2:?}; shift 2 ;;
	--sizes) SIZES=${2:?}; shift 2 ;;
	--duration) DURATION=${2:?}; shift 2 ;;
	--rate) RATE=${2:?}; shift 2 ;;
	--dist) DIST=${2:?}; shift 2 ;;
	--window) WINDOW=${2:?}; shift 2 ;;
	--open-every) OPEN_EVERY=${2:?}; shift 2 ;;
	--frames) FRAMES=${2:?}; shift 2 ;;
	--gen-arg) GEN_ARGS+=("${2:?}"); shift 2 ;;
	--both-directions) BOTH=(--both-directions); shift ;;
	--store) STORE=${2:?}; shift 2 ;;
	--set) SETS+=("${2:?}"); shift 2 ;;
	--memif-rsize)
		[[ ${2:-} =~ ^[0-9]+$ ]] && [ "$2" -ge 1 ] && [ "$2" -le 14 ] ||
			{ echo "bench_loadgen.sh: --memif-rsize: 1..14" >&2; exit 2; }
		MEMIF_ARGS=",rsize=$2"; shift 2 ;;
	--perf) PERF=${2:?}; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench_loadgen.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	log "FAIL: $*"
	exit 1
}
[ "$(id -u)" -eq 0 ] || die "run as root"
GW=$BUILD/gateway/sga-gateway
GEN=$BUILD/tests/sga-loadgen
RAW=$BUILD/tests/sga-bench-relay
for f in "$GW" "$GEN" "$RAW"; do [ -x "$f" ] || die "$f not built"; done
TESTPMD=
for f in /usr/bin/dpdk-testpmd /usr/bin/testpmd; do [ -x "$f" ] && { TESTPMD=$f; break; }; done
[ -n "$TESTPMD" ] || die "no dpdk-testpmd"
[ -z "$PERF" ] || command -v perf >/dev/null || die "--perf needs perf (apt-get install linux-perf)"
case $STORE in off | none | interval | always) ;; *) die "--store: off|none|interval|always" ;; esac
# The generator validates its own options.
"$GEN" --lab /dev/null --rate "$RATE" --dist "$DIST" --window "$WINDOW" --sizes "$SIZES" \
	--duration "$DURATION" --open-every "$OPEN_EVERY" --help >/dev/null || exit 2

TAG=$$
RUN=$(mktemp -d /tmp/sga-bench-loadgen.XXXXXX)
SOCK=$RUN/memif.sock
PREFIXES=("sgalgw$TAG" "sgalgen$TAG" "sgaltp$TAG")
GW_PID= GEN_PID= TP_PID= REDIS_PID=

source "$ROOT/tests/bench/bench_lib.sh" # stop_pid, redis_start, wait_line
cleanup() {
	local rc=$?
	set +e
	stop_pid "$GEN_PID" INT 15
	stop_pid "$GW_PID" TERM 10
	stop_pid "$TP_PID" INT 10
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

max_count=$(echo "$COUNTS" | tr ',' '\n' | sort -n | tail -n1)
mkdir -p "$RUN/keys"
conf() { # $1: provisioning file
	local kv key
	local keys=(
		"gateway.id=sga-bench-lab" "gateway.address=10.77.0.1" "gateway.udp_port=7000"
		"gateway.group=ffdhe2048" "gateway.suites=aes-128-gcm, aes-256-gcm, chacha20-poly1305, aes-128-ccm8"
		"gateway.rsa_key=$RUN/keys/gateway-rsa.pem" "gateway.trapdoor_key=$RUN/keys/gateway-trapdoor.pem"
		"gateway.package=$RUN/keys/gateway.pkg" "gateway.master_key=$RUN/keys/master.key"
		"gateway.stats_file=$RUN/stats.json" "gateway.stats_interval_s=0"
		"dataplane.port=net_memif0,role=server,socket=$SOCK,id=0$MEMIF_ARGS" "dataplane.lcores=1"
		"dataplane.mbufs=32767" "dataplane.max_sessions=$((max_count < 1024 ? 2048 : 2 * max_count))"
		"controlplane.workers=1" "redis.socket=$RUN/redis.sock"
		"eal.hugepages=yes" "eal.memory_mb=512"
		"eal.args=--file-prefix=${PREFIXES[0]} --log-level=*:warning --log-level=sga.*:info --log-level=pmd.net.memif:error"
		"lab.profile=lab" "lab.provision=$1"
	)
	[ "$STORE" = off ] || keys+=("store.dir=$RUN/store" "store.fsync=$STORE")
	for kv in "${SETS[@]}"; do
		key=${kv%%=*}
		for i in "${!keys[@]}"; do [ "${keys[$i]%%=*}" != "$key" ] || unset 'keys[i]'; done
		keys+=("$kv")
	done
	local secs=()
	for kv in "${keys[@]}"; do
		[[ " ${secs[*]} " == *" ${kv%%.*} "* ]] || secs+=("${kv%%.*}")
	done
	for s in "${secs[@]}"; do
		echo "[$s]"
		for kv in "${keys[@]}"; do
			key=${kv%%=*}
			if [ "${key%%.*}" = "$s" ]; then echo "${key#*.} = ${kv#*=}"; fi
		done
	done
}
"$GEN" provision --sessions 1 --seed keys --out "$RUN/init.prov" >/dev/null
conf "$RUN/init.prov" >"$RUN/gateway.conf"
"$GW" -c "$RUN/gateway.conf" --init-keys >"$RUN/init.log" 2>&1 || die "--init-keys failed"

# perf_windows LOG PID: for each payload size the generator measures (its
# "sealed N DATA_UP frames" line starts the window), a cpu-clock profile of
# core 1 for the window's length, named after the session count and size.
perf_windows() {
	local out=$1 pid=$2 seen=0 size n
	n=$(grep -c . <<<"${SIZES//,/$'\n'}")
	while [ "$seen" -lt "$n" ] && kill -0 "$pid" 2>/dev/null; do
		if [ "$(grep -c '^  sealed ' "$out")" -gt "$seen" ]; then
			seen=$((seen + 1))
			size=$(grep '^payload ' "$out" | sed -n "${seen}p" | awk '{print $2}')
			perf record -q -e cpu-clock -C 1 -o "$PERF-$CUR_N-$size.data" -- \
				sleep "$DURATION" >/dev/null 2>&1
			log "  perf: $PERF-$CUR_N-$size.data"
		fi
		sleep 0.05
	done
}

# gen LOG PEER ARGS...: the generator (memif client, core 0) until it says it is
# done and lingers; the caller stops the peer, then the generator.
gen() {
	local out=$1 peer=$2
	shift 2
	: >"$out"
	timeout --signal=INT --kill-after=20 900 "$@" --watch-pid "$peer" --linger 120 -- -l 0 \
		--no-pci --no-huge -m 1024 --file-prefix="${PREFIXES[1]}" --log-level='*:warning' \
		--log-level=pmd.net.memif:error "--vdev=net_memif0,role=client,socket=$SOCK,id=0$MEMIF_ARGS" \
		>"$out" 2>&1 &
	GEN_PID=$!
	[ -z "$PERF" ] || [ "$peer" != "$GW_PID" ] || perf_windows "$out" "$GEN_PID" &
	wait_line "$out" "done; the port stays open" "$GEN_PID" 900 || {
		tail -n 20 "$out" >&2
		return 1
	}
}

for n in $(echo "$COUNTS" | tr ',' ' '); do
	CUR_N=$n
	log "$n session(s): provisioning file, redis-server, sga-gateway ([lab] profile = lab)"
	"$GEN" provision --sessions "$n" --seed "bench-$n" --out "$RUN/lab-$n.prov" --force >/dev/null
	conf "$RUN/lab-$n.prov" >"$RUN/gateway.conf"
	rm -rf "$RUN/redis.sock" "$RUN/stats.json" "$RUN/store"
	redis_start "$RUN" taskset -c 0 || die "redis-server did not start"
	"$GW" -c "$RUN/gateway.conf" -- -l 0-1 >"$RUN/gw-$n.log" 2>&1 &
	GW_PID=$!
	wait_line "$RUN/gw-$n.log" "restored .* session" "$GW_PID" 300 || {
		tail -n 20 "$RUN/gw-$n.log" >&2
		die "sga-gateway did not come up"
	}
	log "  $(grep -o 'LAB provisioning: .*' "$RUN/gw-$n.log")"
	gen "$RUN/gen-$n.log" "$GW_PID" "$GEN" --lab "$RUN/lab-$n.prov" --rate "$RATE" --dist "$DIST" \
		--window "$WINDOW" --sizes "$SIZES" --duration "$DURATION" --stats "$RUN/stats.json" \
		--open-every "$OPEN_EVERY" ${FRAMES:+--frames "$FRAMES"} "${GEN_ARGS[@]}" \
		"${BOTH[@]}" || die "sga-loadgen failed with $n sessions"
	grep -E '^\s+(window|latency|payload|loss|on a CPU)' "$RUN/gen-$n.log" >&2 || true
	stop_pid "$GW_PID" TERM 10
	GW_PID=
	stop_pid "$GEN_PID" INT 15
	GEN_PID=
	stop_pid "$REDIS_PID" TERM 5
	REDIS_PID=
done

log "reference: dpdk-testpmd io forwarding on the same path (sga-bench-relay --raw)"
"$TESTPMD" -l 0-1 --no-pci --file-prefix="${PREFIXES[2]}" --log-level='*:warning' \
	--log-level=pmd.net.memif:error "--vdev=net_memif0,role=server,socket=$SOCK,id=0$MEMIF_ARGS" -- \
	--forward-mode=io --port-topology=loop --nb-cores=1 --rxq=1 --txq=1 --rxd=1024 --txd=1024 \
	--burst=32 --total-num-mbufs=16383 --stats-period=3600 </dev/null >"$RUN/testpmd.log" 2>&1 &
TP_PID=$!
wait_line "$RUN/testpmd.log" "packet forwarding" "$TP_PID" 10 || die "dpdk-testpmd did not start"
gen "$RUN/gen-raw.log" "$TP_PID" "$RAW" --raw --sizes "$SIZES" --duration "$DURATION" \
	--pool-mb 256 || die "sga-bench-relay --raw failed"
stop_pid "$TP_PID" INT 10
TP_PID=
stop_pid "$GEN_PID" INT 15
GEN_PID=

echo
echo "sga-loadgen, one data-plane lcore (core 1), memif, store $STORE, rate $RATE, $DIST," \
	"window $WINDOW${BOTH:+, both directions}, opening every ${OPEN_EVERY}. DATA_DOWN"
{
	for n in $(echo "$COUNTS" | tr ',' ' '); do
		p=$(grep -o 'LAB provisioning: [0-9]* sessions.*written in [0-9.]* s' "$RUN/gw-$n.log" |
			sed 's/.*written in \([0-9.]*\) s/\1/')
		grep '^RESULT mode=loadgen' "$RUN/gen-$n.log" | sed "s/\$/ provision_s=$p/"
	done
	grep '^RESULT mode=raw' "$RUN/gen-raw.log"
} | awk '
	/^RESULT/ {
		delete kv
		for (i = 2; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
		if (kv["mode"] == "raw") { raw[kv["payload"]] = kv["mpps"]; next }
		line[++n] = sprintf("%9s %7s %11s %11s %11s %11s %8s %9s %9s %9s %9s %8s %7s",
			kv["sessions"], kv["payload"], sprintf("%.0f", kv["offered_mps"]),
			sprintf("%.0f", kv["relayed_mps"]), sprintf("%.0f", kv["delivered_mps"]),
			sprintf("%.0f", kv["acked_mps"]), kv["gbps"], kv["down_p50_us"], kv["down_p99_us"],
			kv["ack_p99_us"], kv["undelivered"], kv["provision_s"], kv["state_bytes_per_session"])
		pl[n] = kv["payload"]; rel[n] = kv["relayed_mps"]
	}
	END {
		printf "%9s %7s %11s %11s %11s %11s %8s %9s %9s %9s %9s %8s %7s\n", "sessions", "payload",
		       "offered/s", "relayed/s", "delivered/s", "acked/s", "Gbit/s", "down p50", "down p99",
		       "ack p99", "lost", "prov. s", "B/sess"
		for (i = 1; i <= n; i++) {
			r = raw[pl[i]] + 0
			printf "%s%s\n", line[i], (r > 0 ? sprintf("  (%.3f x testpmd %.3f Mpps)",
			       rel[i] / 1e6 / r, r) : "")
		}
		print ""
		print "latencies in us from the send to DATA_DOWN (down) and to DATA_ACK (ack); lost ="
		print "never delivered; prov. s = the gateway writing and installing the lab sessions;"
		print "B/sess = the generator state per session; the ratio: relayed / testpmd io forwarding"
		print "of frames of the same size on the same path (Mpps; --open-every > 1: delivered and"
		print "lost count only the DATA_DOWN the generator opened)."
	}'
