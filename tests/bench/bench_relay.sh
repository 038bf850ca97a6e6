#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench_relay.sh - the relay-throughput benchmark: the gateway's data plane on one
# lcore relaying DATA_UP -> DATA_DOWN (+ DATA_ACK) between two devices played by
# sga-bench-relay over a memif pair, then dpdk-testpmd io-forwarding frames of the
# same sizes on the same path and the same lcores, in the same run; prints both
# rates and their ratio (medians with --rounds N). A benchmark, not a test: it
# asserts nothing and is not part of scripts/test.sh. Run as root (hugepages,
# memif socket); build first: meson setup build-bench && ninja -C build-bench.
#
# Lcore layout on a 2-core machine (the same for both runs):
#   core 1: the gateway's data-plane lcore / testpmd's forwarding lcore, alone
#   core 0: sga-bench-relay (the load generator, busy-polling) next to the
#           gateway's main thread (sleeps), its control-plane threads and
#           redis-server (idle during a measurement) / testpmd's main thread
#
#   sga-bench-relay (memif client, -l 0) <== memif socket ==> sga-gateway (memif
#   server, -l 0-1), then dpdk-testpmd (memif server, -l 0-1, io, loop topology)
#
# Each run prints how much of each measurement window the generator and the
# forwarding lcore actually spent on a CPU: on a shared machine other jobs take
# CPU time from busy-polling threads and the figures drop (see --nice).
# Everything it starts is stopped and its temporary directory removed on exit,
# failure or Ctrl-C; hugetlbfs is unmounted only if this script mounted it.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${SGA_BUILD:-$ROOT/build-bench}
SIZES=64,1024
DURATION=5
WARMUP=0.5
SUITE=aes-128-gcm
POOL_MB=3072
DELIVERED=16
RSIZE=10
ROUNDS=3
STORE=off
IPV6=() # --ipv6: the generator's frames over IPv6
WINDOW= # empty: 256 with a store, none without
NICE=0
KEEP=0
VERBOSE=()
SETS=()

usage() {
	cat <<EOF
Usage: tests/bench/bench_relay.sh [OPTIONS]
Relay throughput of sga-gateway on one data-plane lcore over memif, next to
dpdk-testpmd io forwarding on the same path and lcore; prints the ratio.
Run as root. Build first: meson setup build-bench && ninja -C build-bench

  --build DIR      meson build directory (default \$SGA_BUILD or build-bench)
  --sizes LIST     payload sizes in bytes (default $SIZES)
  --duration S     measured seconds per size and per run (default $DURATION)
  --warmup S       seconds of traffic before each measurement (default $WARMUP)
  --suite NAME     hop and E2E suite (default $SUITE)
  --rounds N       repeat (gateway run, testpmd run) N times and report the
                   medians (default $ROUNDS; the path's speed varies between runs)
  --pool-mb MB     memory for pre-generated DATA_UP frames per size (default $POOL_MB)
  --delivered N    device 2 sends a DATA_DELIVERED every N DATA_DOWN frames
                   (default $DELIVERED, as the protocol says; 0: never)
  --ipv6           the devices' frames over IPv6 (the gateway gets address6
                   fd00:77::1 next to 10.77.0.1), for the relay and testpmd runs
  --store MODE     the gateway's store and forward: off (default: relay only),
                   or none | interval | always, its fsync policy, with the store
                   in the run directory; device 2 then opens every DATA_DOWN
                   (sga-bench-relay --open-all), which costs the generator time,
                   and device 1 sends within a window (--window)
  --window N       device 1 keeps at most N DATA_UP without their DATA_ACK and
                   re-sends what is not acknowledged within 50 ms (doubling for
                   each re-send of a message), as the device SDK does
                   (sga-bench-relay --window), 0..512, 0: no window,
                   every frame sent once at full rate (default: 256 with
                   --store, which acknowledges only what it stored and refuses
                   the messages behind one it could not store until that one
                   comes again; 0 without)
  --rsize N        memif rings of 2^N slots, 10..14 (default $RSIZE, DPDK's; the
                   client, i.e. the generator, sets them for both runs)
  --set SEC.KEY=V  set (or override) a key of the gateway's config, e.g.
                   --set dataplane.mbufs=32767 (repeatable)
  --nice N         run the gateway, testpmd and the generator at this nice value
                   (e.g. -10 when other jobs load the machine; default $NICE)
  --keep           keep the run directory (logs, config, stats) and print its path
  -v, --verbose    log the generator's control frames
  -h, --help       this text

Exit status: 0 when every run completed, 1 on a failure (the logs of the failing
step are shown), 2 on bad usage.
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=${2:?--build needs a directory}; shift 2 ;;
	--sizes) SIZES=${2:?--sizes needs a list}; shift 2 ;;
	--duration) DURATION=${2:?--duration needs seconds}; shift 2 ;;
	--warmup) WARMUP=${2:?--warmup needs seconds}; shift 2 ;;
	--suite) SUITE=${2:?--suite needs a name}; shift 2 ;;
	--rounds) ROUNDS=${2:?--rounds needs a number}; shift 2 ;;
	--pool-mb) POOL_MB=${2:?--pool-mb needs a number}; shift 2 ;;
	--delivered) DELIVERED=${2:?--delivered needs a number}; shift 2 ;;
	--rsize) RSIZE=${2:?--rsize needs a number}; shift 2 ;;
	--store) STORE=${2:?--store needs off, none, interval or always}; shift 2 ;;
	--ipv6) IPV6=(--ipv6); shift ;;
	--window) WINDOW=${2:?--window needs a number}; shift 2 ;;
	--set) SETS+=("${2:?--set needs SECTION.KEY=VALUE}"); shift 2 ;;
	--nice) NICE=${2:?--nice needs a number}; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-v | --verbose) VERBOSE=(--verbose); shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench_relay.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	log "FAIL: $*"
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root (hugepages and the memif socket need it)"
GW=$BUILD/gateway/sga-gateway
GEN=$BUILD/tests/sga-bench-relay
[ -x "$GW" ] || die "$GW not built (meson setup $BUILD && ninja -C $BUILD)"
[ -x "$GEN" ] || die "$GEN not built (meson setup $BUILD && ninja -C $BUILD)"
command -v redis-server >/dev/null || die "redis-server not installed"
TESTPMD=
for f in /usr/bin/dpdk-testpmd /usr/bin/testpmd; do
	[ -x "$f" ] && { TESTPMD=$f; break; }
done
[ -n "$TESTPMD" ] || die "no dpdk-testpmd in /usr/bin (Debian package dpdk)"
[ "$(nproc)" -ge 2 ] || die "needs 2 cores (data plane on core 1, the rest on core 0)"
"$GEN" --sizes "$SIZES" --duration "$DURATION" --warmup "$WARMUP" --suite "$SUITE" \
	--pool-mb "$POOL_MB" --delivered "$DELIVERED" --raw --help >/dev/null ||
	exit 2 # validates the options
usage_error() {
	echo "bench_relay.sh: $*" >&2
	exit 2
}
# in_range VALUE LO HI: VALUE is an integer within [LO, HI].
in_range() {
	[[ "$1" =~ ^-?[0-9]+$ ]] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}
in_range "$ROUNDS" 1 20 || usage_error "--rounds: 1..20"
in_range "$RSIZE" 10 14 || usage_error "--rsize: 10..14"
in_range "$NICE" -20 19 || usage_error "--nice: -20..19"
[ -z "$WINDOW" ] || in_range "$WINDOW" 0 512 || usage_error "--window: 0..512"
case $STORE in
off | none | interval | always) ;;
*) usage_error "--store: off, none, interval or always" ;;
esac
for kv in "${SETS[@]}"; do
	[[ "$kv" =~ ^[a-z]+\.[a-z_]+=.*$ ]] || usage_error "--set: SECTION.KEY=VALUE expected, got '$kv'"
done

TAG=$$
RUN=$(mktemp -d /tmp/sga-bench-relay.XXXXXX)
SOCK=$RUN/memif.sock
PREFIXES=("sgabgw$TAG" "sgabgen$TAG" "sgabtp$TAG")
GW_PID=
TP_PID=
GEN_PID=
GEN_LOG=
TAIL_PID=
REDIS_PID=
MOUNTED=0

source "$ROOT/tests/bench/bench_lib.sh" # stop_pid, redis_start, wait_line

cleanup() {
	local rc=$?
	set +e
	# The generator first: on SIGINT it stops sending, drains and only then
	# disconnects, so the memif server never loses its peer under traffic.
	stop_pid "$GEN_PID" INT 15
	stop_pid "$TAIL_PID" TERM 1
	stop_pid "$GW_PID" TERM 10
	stop_pid "$TP_PID" INT 10
	stop_pid "$REDIS_PID" TERM 5
	for p in "${PREFIXES[@]}"; do
		rm -rf "/run/dpdk/$p"
		rm -f /dev/hugepages/"$p"map_* 2>/dev/null
	done
	[ "$MOUNTED" -eq 1 ] && umount /dev/hugepages
	if [ "$KEEP" -eq 1 ]; then
		log "run directory kept: $RUN"
	else
		rm -rf "$RUN"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

show_log() {
	[ -f "$1" ] || return 0
	echo "---- last lines of $1" >&2
	tail -n "${2:-25}" "$1" >&2
}

# Percentage of the machine's CPU time other processes used over $1 seconds.
cpu_busy_pct() {
	local u n s i u2 n2 s2 i2
	read -r _ u n s i _ </proc/stat
	sleep "$1"
	read -r _ u2 n2 s2 i2 _ </proc/stat
	echo $((100 * (u2 + n2 + s2 - u - n - s) / (u2 + n2 + s2 + i2 - u - n - s - i + 1)))
}

busy=$(cpu_busy_pct 2)
if [ "$busy" -ge 10 ]; then
	log "WARNING: other processes used $busy% of the CPUs in the last 2 s; the figures will"
	log "         be low and noisy (the run reports each thread's CPU share; see --nice)"
fi

# ---- hugepages ---------------------------------------------------------------------
have=$(cat /proc/sys/vm/nr_hugepages)
if [ "$have" -lt 1024 ]; then
	echo 1024 >/proc/sys/vm/nr_hugepages || die "cannot reserve hugepages"
fi
mkdir -p /dev/hugepages
if ! mountpoint -q /dev/hugepages; then
	mount -t hugetlbfs nodev /dev/hugepages || die "cannot mount hugetlbfs on /dev/hugepages"
	MOUNTED=1
fi
free_pages=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
[ "$free_pages" -ge 256 ] || die "only $free_pages free hugepages (2 MB): need 256 or more"

# ---- the gateway's configuration ---------------------------------------------------
mkdir -p "$RUN/keys"
CONF=$RUN/gateway.conf
# These keys, then --set overrides and additions.
CFG_KEYS=(
	"gateway.id=sga-bench-gw"
	"gateway.address=10.77.0.1"
	"gateway.udp_port=7000"
	"gateway.group=ffdhe2048"
	"gateway.suites=aes-128-gcm, aes-256-gcm, chacha20-poly1305, aes-128-ccm8"
	"gateway.enrollment=open"
	"gateway.rsa_key=$RUN/keys/gateway-rsa.pem"
	"gateway.trapdoor_key=$RUN/keys/gateway-trapdoor.pem"
	"gateway.package=$RUN/keys/gateway.pkg"
	"gateway.master_key=$RUN/keys/master.key"
	"gateway.stats_file=$RUN/stats.json"
	"gateway.stats_interval_s=0"
	"dataplane.port=net_memif0,role=server,socket=$SOCK,id=0"
	"dataplane.lcores=1"
	"dataplane.rx_desc=1024"
	"dataplane.tx_desc=1024"
	"dataplane.mbufs=16383"
	"controlplane.workers=2"
	"redis.socket=$RUN/redis.sock"
	"eal.hugepages=yes"
	"eal.args=--file-prefix=${PREFIXES[0]} --log-level=*:warning --log-level=sga.*:info --log-level=pmd.net.memif:error"
)
if [ "$STORE" != off ]; then
	CFG_KEYS+=("store.dir=$RUN/store" "store.fsync=$STORE")
fi
[ ${#IPV6[@]} -eq 0 ] || CFG_KEYS+=("gateway.address6=fd00:77::1")
for kv in "${SETS[@]}"; do
	key=${kv%%=*}
	for i in "${!CFG_KEYS[@]}"; do
		[ "${CFG_KEYS[$i]%%=*}" != "$key" ] || unset 'CFG_KEYS[i]'
	done
	CFG_KEYS+=("$kv")
done
SECTIONS=()
for kv in "${CFG_KEYS[@]}"; do
	sec=${kv%%.*}
	[[ " ${SECTIONS[*]} " == *" $sec "* ]] || SECTIONS+=("$sec")
done
for sec in "${SECTIONS[@]}"; do
	echo "[$sec]"
	for kv in "${CFG_KEYS[@]}"; do
		key=${kv%%=*}
		if [ "${key%%.*}" = "$sec" ]; then echo "${key#*.} = ${kv#*=}"; fi
	done
done >"$CONF"

"$GW" -c "$CONF" --init-keys >"$RUN/gateway.log" 2>&1 || {
	show_log "$RUN/gateway.log"
	die "sga-gateway --init-keys failed"
}

# run_gen NAME PEER_PID ARGS...: start the generator (memif client on lcore 0),
# bounded in time, its output on the terminal and in $RUN/NAME.log; returns once
# it has measured everything and holds its port open unpolled (--linger), or
# with its failure status. The caller stops the peer first, then finish_gen:
# DPDK 22.11's memif PMD may crash a side that polls while its peer leaves.
run_gen() {
	local name=$1 peer=$2 rc n_sizes budget
	shift 2
	n_sizes=$(echo "$SIZES" | tr ',' '\n' | grep -c .)
	# Set-up, then per size: calibration, pre-generation, warm-up, measurement,
	# tails (with a window up to 10 s each, waiting for DATA_ACKs).
	budget=$(awk -v n="$n_sizes" -v d="$DURATION" -v w="$WARMUP" \
		'BEGIN { printf "%d", 150 + n * (140 + d + w + 5) }')
	GEN_LOG=$RUN/$name.log
	: >"$GEN_LOG" # exists before tail follows it
	nice -n "$NICE" timeout --signal=INT --kill-after=20 "$budget" \
		"$GEN" --sizes "$SIZES" --duration "$DURATION" --warmup "$WARMUP" --suite "$SUITE" \
		--pool-mb "$POOL_MB" --watch-pid "$peer" --linger 60 "${VERBOSE[@]}" "$@" -- -l 0 \
		--no-pci --file-prefix="${PREFIXES[1]}" --log-level='*:warning' \
		--log-level=pmd.net.memif:error \
		"--vdev=net_memif0,role=client,socket=$SOCK,id=0,rsize=$RSIZE" >"$GEN_LOG" 2>&1 &
	GEN_PID=$!
	tail -n +1 -f --pid="$GEN_PID" "$GEN_LOG" &
	TAIL_PID=$!
	while kill -0 "$GEN_PID" 2>/dev/null; do
		grep -q "^sga-bench-relay: done;" "$GEN_LOG" && return 0
		sleep 0.1
	done
	rc=0
	wait "$GEN_PID" || rc=$?
	GEN_PID=
	wait "$TAIL_PID" 2>/dev/null || true
	[ "$rc" -ne 124 ] || log "sga-bench-relay ran out of its $budget s budget"
	[ "$rc" -ne 0 ] || rc=1 # it ended without saying it was done
	return "$rc"
}

# finish_gen: the peer has stopped; let the generator close its port and exit.
finish_gen() {
	local rc=0
	kill -INT "$GEN_PID" 2>/dev/null || true
	wait "$GEN_PID" || rc=$?
	GEN_PID=
	wait "$TAIL_PID" 2>/dev/null || true
	[ "$rc" -eq 0 ] || die "sga-bench-relay exited with status $rc after its measurements"
}

# gateway_round R: redis-server and the gateway (fresh state), the generator
# playing two devices, then a clean stop of the gateway.
gateway_round() {
	local r=$1 gw_rc=0 gw_stats
	rm -rf "$RUN/redis.sock" "$RUN/stats.json" "$RUN/store"
	redis_start "$RUN" taskset -c 0 || {
		show_log "$RUN/redis.log"
		die "redis-server did not start"
	}

	log "round $r/$ROUNDS, run 1: sga-gateway relaying (memif server; main lcore 0, data" \
		"plane lcore 1; sga-bench-relay plays two devices)"
	: >"$RUN/gateway.log"
	nice -n "$NICE" "$GW" -c "$CONF" -- -l 0-1 >>"$RUN/gateway.log" 2>&1 &
	GW_PID=$!
	for _ in $(seq 1 200); do
		grep -q "restored .* session" "$RUN/gateway.log" && break
		kill -0 "$GW_PID" 2>/dev/null || {
			show_log "$RUN/gateway.log"
			die "sga-gateway exited at start-up"
		}
		sleep 0.05
	done
	grep -q "restored .* session" "$RUN/gateway.log" || {
		show_log "$RUN/gateway.log"
		die "sga-gateway did not come up within 10 s"
	}

	# With a store, device 2 must open every message to report delivery right,
	# and device 1 must re-send what the store refused: a sender window.
	local open=() window=$WINDOW
	[ "$STORE" = off ] || open=(--open-all)
	[ -n "$window" ] || { [ "$STORE" = off ] && window=0 || window=256; }
	if ! run_gen "gen-sga.$r" "$GW_PID" "${IPV6[@]}" --package "$RUN/keys/gateway.pkg" \
		--stats "$RUN/stats.json" --delivered "$DELIVERED" --window "$window" \
		"${open[@]}"; then
		show_log "$RUN/gateway.log"
		kill -0 "$GW_PID" 2>/dev/null || die "sga-gateway died during the run (its log is above)"
		die "sga-bench-relay failed against the gateway"
	fi
	kill -0 "$GW_PID" 2>/dev/null || {
		show_log "$RUN/gateway.log"
		die "sga-gateway died during the run"
	}

	# Traffic has stopped and the generator no longer polls: stop the gateway first.
	kill -TERM "$GW_PID"
	for _ in $(seq 1 200); do
		kill -0 "$GW_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$GW_PID" 2>/dev/null; then
		stop_pid "$GW_PID" KILL 1
		GW_PID=
		show_log "$RUN/gateway.log"
		die "sga-gateway did not stop within 10 s of SIGTERM"
	fi
	wait "$GW_PID" || gw_rc=$?
	GW_PID=
	cp "$RUN/gateway.log" "$RUN/gateway.$r.log"
	[ "$gw_rc" -eq 0 ] || {
		show_log "$RUN/gateway.log"
		die "sga-gateway exited with status $gw_rc on SIGTERM"
	}
	finish_gen
	gw_stats=$(grep "stats: rx" "$RUN/gateway.log" | tail -n1 || true)
	[ -z "$gw_stats" ] || log "gateway stopped cleanly; at exit: ${gw_stats#*stats: }"
	stop_pid "$REDIS_PID" TERM 5
	REDIS_PID=
}

# testpmd_round R: dpdk-testpmd io forwarding on the same memif path and lcores.
testpmd_round() {
	local r=$1
	log "round $r/$ROUNDS, run 2: dpdk-testpmd io forwarding (memif server; main lcore 0," \
		"forwarding lcore 1)"
	# --stats-period keeps the non-interactive testpmd running until SIGINT.
	nice -n "$NICE" "$TESTPMD" -l 0-1 --no-pci --file-prefix="${PREFIXES[2]}" \
		--log-level='*:warning' --log-level=pmd.net.memif:error \
		"--vdev=net_memif0,role=server,socket=$SOCK,id=0" -- \
		--forward-mode=io --port-topology=loop --nb-cores=1 --rxq=1 --txq=1 --rxd=1024 \
		--txd=1024 --burst=32 --total-num-mbufs=16383 --stats-period=3600 \
		</dev/null >"$RUN/testpmd.$r.log" 2>&1 &
	TP_PID=$!
	for _ in $(seq 1 200); do
		grep -q "packet forwarding" "$RUN/testpmd.$r.log" && break
		kill -0 "$TP_PID" 2>/dev/null || {
			show_log "$RUN/testpmd.$r.log"
			die "dpdk-testpmd exited at start-up"
		}
		sleep 0.05
	done
	grep -q "packet forwarding" "$RUN/testpmd.$r.log" || {
		show_log "$RUN/testpmd.$r.log"
		die "dpdk-testpmd did not start forwarding within 10 s"
	}
	if ! run_gen "gen-raw.$r" "$TP_PID" "${IPV6[@]}" --raw; then
		show_log "$RUN/testpmd.$r.log"
		die "sga-bench-relay failed against dpdk-testpmd"
	fi
	kill -0 "$TP_PID" 2>/dev/null ||
		log "WARNING: dpdk-testpmd exited on its own (see $RUN/testpmd.$r.log; --keep)"
	stop_pid "$TP_PID" INT 10
	TP_PID=
	finish_gen
}

for r in $(seq 1 "$ROUNDS"); do
	gateway_round "$r"
	testpmd_round "$r"
done

# ---- the table -------------------------------------------------------------------------
echo
echo "Relay throughput, one data-plane lcore (core 1), memif, suite $SUITE, store $STORE," \
	"${DURATION} s per point"
[ "$ROUNDS" -eq 1 ] || echo "(medians of $ROUNDS rounds; the ratio is the median of the rounds' ratios)"
for r in $(seq 1 "$ROUNDS"); do
	cat "$RUN/gen-sga.$r.log" "$RUN/gen-raw.$r.log"
done | awk -v rounds="$ROUNDS" '
	function median(list,    a, n, i, j, t) {
		n = split(list, a, " ")
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	/^RESULT / {
		delete kv
		for (i = 2; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
		s = kv["payload"]
		if (!(s in seen)) { seen[s] = 1; order[++n] = s }
		if (kv["mode"] == "sga") {
			r = ++gr[s]; frame[s] = kv["frame"]
			gw[s] = gw[s] " " kv["relay_mpps"]; gwtx[s] = gwtx[s] " " kv["gw_tx_mpps"]
			gbps[s] = gbps[s] " " kv["payload_gbps"]
			cpu[s, r] = "gateway lcore " kv["dut_cpu_pct"] "%, generator " kv["gen_cpu_pct"] "%"
			low = low || kv["dut_cpu_pct"] + 0 < 90 || kv["gen_cpu_pct"] + 0 < 90
			rg[s, r] = kv["relay_mpps"]
			if (kv["window"] + 0 > 0) {
				win = kv["window"]
				wsent[s, r] = kv["sent"]; wretx[s, r] = kv["retx"]; wun[s, r] = kv["unacked"]
			}
		} else {
			r = ++tr[s]
			tp[s] = tp[s] " " kv["mpps"]
			cpu[s, r] = cpu[s, r] "; testpmd lcore " kv["dut_cpu_pct"] "%, generator " kv["gen_cpu_pct"] "%"
			low = low || kv["dut_cpu_pct"] + 0 < 90 || kv["gen_cpu_pct"] + 0 < 90
			rt[s, r] = kv["mpps"]
		}
	}
	END {
		printf "%8s %6s %14s %12s %10s %16s %12s\n", "payload", "frame", "gateway relay",
		       "gateway TX", "payload", "testpmd io fwd", "ratio"
		printf "%8s %6s %14s %12s %10s %16s %12s\n", "(B)", "(B)", "(Mpps)", "(Mpps)",
		       "(Gbit/s)", "(Mpps)", "gw/testpmd"
		for (i = 1; i <= n; i++) {
			s = order[i]
			ratios = ""
			for (r = 1; r <= gr[s] && r <= tr[s]; r++)
				if (rt[s, r] > 0)
					ratios = ratios " " rg[s, r] / rt[s, r]
			printf "%8s %6s %14.3f %12.3f %10.2f %16.3f %12s\n", s, frame[s], median(gw[s]),
			       median(gwtx[s]), median(gbps[s]), median(tp[s]),
			       (ratios != "" ? sprintf("%.3f", median(ratios)) : "n/a")
		}
		print ""
		print "Share of each measurement window the threads spent on a CPU (lcore: the"
		print "gateway data plane or testpmd forwarding on core 1; generator: core 0):"
		for (i = 1; i <= n; i++) {
			s = order[i]
			for (r = 1; r <= gr[s]; r++)
				printf "  %5s B%s: %s\n", s, (rounds > 1 ? sprintf(", round %d (%.3f / %.3f Mpps = %.3f)",
				       r, rg[s, r], rt[s, r], (rt[s, r] > 0 ? rg[s, r] / rt[s, r] : 0)) : ""), cpu[s, r]
		}
		if (low)
			print "  WARNING: below 90%: other processes took CPU time from the benchmark; " \
			      "the figures understate the path (see --nice)."
		if (win) {
			print ""
			print "Device 1 sent within a window of " win " unacknowledged DATA_UP (DATA_UP sent in"
			print "the measurement window, retransmissions included; never acknowledged at the end):"
			for (i = 1; i <= n; i++) {
				s = order[i]
				for (r = 1; r <= gr[s]; r++)
					printf "  %5s B%s: sent %s, of them %s retransmissions; %s unacknowledged\n", s,
					       (rounds > 1 ? sprintf(", round %d", r) : ""), wsent[s, r], wretx[s, r], wun[s, r]
			}
		}
	}'
echo
echo "gateway relay = DATA_DOWN frames delivered to device 2 per second; each DATA_UP in"
echo "gives a DATA_DOWN and a DATA_ACK out (gateway TX = both). testpmd io fwd = frames"
echo "returned per second. frame = Ethernet frame without FCS, the same bytes in both runs."
echo "The generator runs on one core: where its tx queue was rarely full (see each run's"
echo "output) it, not testpmd, set the testpmd figure, and the ratio is an upper bound."
