#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench_state_cost.sh - what the gateway asks of its Redis, per device
# registration, per session set-up, per relayed message and per session kept,
# for the capacity model of docs/SCALING.md. Counts, not times: the commands
# the server ran (INFO commandstats: calls and the server's own microseconds
# per command), the round trips, and the memory (INFO memory used_memory) and
# keys each step added; and, in the same run, redis-benchmark against the same
# server for the commands per second one Redis core serves, pipelined as the
# gateway pipelines. A benchmark, not a test: it asserts nothing.
#
# Real processes, as the end-to-end tests: redis-server, sga-gateway on an
# af_packet port in a network namespace, sga-device processes in another.
# Run as root; build first (meson setup build && ninja -C build).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PAIRS=10
MESSAGES=2000
GROUPS_LIST=ffdhe2048,x25519

usage() {
	cat <<EOF
Usage: tests/bench/bench_state_cost.sh [OPTIONS]
Redis commands, round trips, server time and memory per registration, per
session set-up, per relayed message and per session, for each profile; and
redis-benchmark on the same server as the reference. Run as root.

  --build DIR      meson build directory (default \$SGA_BUILD or build)
  --pairs N        device pairs, one session set-up each (default $PAIRS)
  --messages N     messages each way on one session (default $MESSAGES)
  --groups LIST    profiles, comma separated (default $GROUPS_LIST)
  --appendfsync P  redis-server's appendfsync: always (default), everysec, no
  -h, --help       this text
EOF
}

export SGA_BUILD=${SGA_BUILD:-$ROOT/build}
while [ $# -gt 0 ]; do
	case $1 in
	--build) SGA_BUILD=$(cd "${2:?}" && pwd); shift 2 ;;
	--pairs) PAIRS=${2:?}; shift 2 ;;
	--messages) MESSAGES=${2:?}; shift 2 ;;
	--groups) GROUPS_LIST=${2:?}; shift 2 ;;
	--appendfsync)
		case ${2:-} in always | everysec | no) export SGA_REDIS_APPENDFSYNC=$2 ;;
		*) echo "bench_state_cost.sh: --appendfsync: always|everysec|no" >&2; exit 2 ;; esac
		shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench_state_cost.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done
for v in "$PAIRS" "$MESSAGES"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || { echo "bench_state_cost.sh: counts are positive integers" >&2; exit 2; }
done
[ "$(id -u)" -eq 0 ] || { echo "bench_state_cost.sh: run as root" >&2; exit 1; }
command -v redis-benchmark >/dev/null || { echo "bench_state_cost.sh: needs redis-benchmark (redis-tools)" >&2; exit 1; }

# snap NAME: the server's totals now, into $SGA_RUN/NAME.snap as "key value"
# lines: calls and usec per command, used_memory, keys, connections received.
snap() {
	{
		sga_cli info commandstats | tr -d '\r' |
			sed -n 's/^cmdstat_\([a-z|]*\):calls=\([0-9]*\),usec=\([0-9]*\),.*/calls.\1 \2\nusec.\1 \3/p'
		sga_cli info memory | tr -d '\r' | sed -n 's/^used_memory:\([0-9]*\)/used_memory \1/p'
		sga_cli info stats | tr -d '\r' |
			sed -n 's/^total_commands_processed:\([0-9]*\)/commands \1/p; s/^total_net_input_bytes:\([0-9]*\)/net_in \1/p'
		sga_cli info memory | tr -d '\r' | sed -n 's/^number_of_cached_scripts:\([0-9]*\)/scripts \1/p'
		echo "keys $(sga_cli dbsize)"
		# The server's CPU time (user + system, in clock ticks): what the
		# commands and their I/O cost it, preemption excluded.
		echo "cpu_ticks $(awk '{ print $14 + $15 }' "/proc/$REDIS_PID/stat")"
		echo "wall_s $(date +%s.%N)"
	} >"$SGA_RUN/$1.snap"
}

# delta A B DIV: one line "what per-unit" of B - A, divided by DIV.
delta() {
	awk -v div="$3" -v what="$4" -v hz="$(getconf CLK_TCK)" -v idle="${IDLE_CPU:-0}" '
		FNR == NR { a[$1] = $2; next }
		{ d[$1] = $2 - a[$1] }
		END {
			c = d["commands"] - 2 * 6 # the snapshots own INFO x3 + DBSIZE, twice
			us = 0; top = ""
			for (k in d) if (k ~ /^usec\./) us += d[k]
			n = 0
			for (k in d) if (k ~ /^calls\./ && d[k] > 0 && k !~ /info|dbsize|memory|scan/) {
				c1 = substr(k, 7)
				n++; list[n] = sprintf("%s %.2f/%.0fus", c1, d[k] / div, d["usec." c1] / div)
			}
			for (i = 1; i <= n; i++) top = top (i > 1 ? ", " : "") list[i]
			cpu = d["cpu_ticks"] / hz - idle * d["wall_s"] # less what it spends idle
			printf "%-22s commands %6.1f  in commands us %6.1f  CPU us %7.1f  memory B %6.0f  keys %4.2f  scripts +%d  (%s)\n",
				what, c / div, us / div, cpu * 1e6 / div, d["used_memory"] / div,
				d["keys"] / div, d["scripts"], top
		}' "$SGA_RUN/$1.snap" "$SGA_RUN/$2.snap"
}

# key_bytes: MEMORY USAGE of every key, averaged per kind (device, session,
# the rest), and the sessions kept.
key_bytes() {
	sga_cli --scan --pattern 'sga:*' | while read -r k; do
		printf '%s %s\n' "$k" "$(sga_cli memory usage "$k")"
	done | awk -v kept="$(sga_cli scard sga:sessions)" '
		{ kind = $1 ~ /^sga:\{dev:[^}]*\}$/ ? "device" : $1 ~ /^sga:\{sess:/ ? "session" : "other"
		  n[kind]++; b[kind] += $2 }
		END {
			printf "bytes per key (MEMORY USAGE):"
			for (k in n) printf "  %s %.0f (%d keys)", k, b[k] / n[k], n[k]
			printf "; sessions kept %d\n", kept
		}'
}

source "$ROOT/scripts/lab.sh"
trap sga_cleanup EXIT

results=()
for group in ${GROUPS_LIST//,/ }; do
	export SGA_GROUP=$group
	log "profile $group: redis-server, sga-gateway, $((2 * PAIRS)) devices"
	sga_lab_up
	# What the server spends idle (its cron, the gateway's housekeeping
	# polls), per second: subtracted from each step's CPU time.
	snap idle0
	sleep 10
	snap idle1
	IDLE_CPU=$(awk 'FNR == NR { a[$1] = $2; next } { d[$1] = $2 - a[$1] }
		END { printf "%.6f", d["cpu_ticks"] / '"$(getconf CLK_TCK)"' / d["wall_s"] }' \
		"$SGA_RUN/idle0.snap" "$SGA_RUN/idle1.snap")
	snap reg0
	for p in $(seq 1 "$PAIRS"); do
		sga_dev "i$p" register >/dev/null 2>&1 || die "i$p register"
		sga_dev "j$p" register >/dev/null 2>&1 || die "j$p register"
	done
	snap reg1
	# One set-up per pair, one message each way, the session closed at the end.
	for p in $(seq 1 "$PAIRS"); do
		SGA_EX_I=i$p SGA_EX_J=j$p sga_exchange 1
	done
	snap setup1
	# Messages on one session of a fresh pair: the set-up is measured above
	# and subtracted out as one more set-up here.
	sga_dev im register >/dev/null 2>&1 && sga_dev jm register >/dev/null 2>&1 || die "register"
	snap msg0
	SGA_EX_I=im SGA_EX_J=jm sga_exchange "$MESSAGES"
	snap msg1
	results+=("profile $group, appendfsync ${SGA_REDIS_APPENDFSYNC:-always}, $PAIRS set-ups, $MESSAGES messages each way on one session (idle: $IDLE_CPU CPU s/s):")
	results+=("$(delta reg0 reg1 $((2 * PAIRS)) 'per registration')")
	results+=("$(delta reg1 setup1 "$PAIRS" 'per set-up (+2 msgs)')")
	results+=("$(delta msg0 msg1 $((2 * MESSAGES)) 'per message (+set-up)')")
	results+=("$(key_bytes)")
	sga_cleanup_keep_run
	rm -f "$SGA_RUN"/*.state # the next profile's devices register afresh
done

# The reference on the same machine: one redis-server core, the gateway's
# pattern (small hash writes and Lua calls, pipelined 16 deep), 200,000 each.
log "reference: redis-benchmark on a fresh server (unix socket, -P 16)"
sga_redis_start
ref=$(redis-benchmark -s "$SGA_RUN/redis.sock" -n 200000 -P 16 -q -r 100000 \
	hset 'sga:{bench:__rand_int__}' f v 2>/dev/null | tr '\r' '\n' | grep -E 'requests per second' | tail -1)
ref_lua=$(redis-benchmark -s "$SGA_RUN/redis.sock" -n 200000 -P 16 -q -r 100000 \
	eval "return redis.call('HSET', KEYS[1], 'f', ARGV[1])" 1 'sga:{bench:__rand_int__}' v \
	2>/dev/null | tr '\r' '\n' | grep -E 'requests per second' | tail -1)
sga_redis_stop

echo
printf '%s\n' "${results[@]}"
echo "reference, one Redis core: HSET $ref"
echo "reference, one Redis core: EVAL (one HSET) $ref_lua"
echo
echo "commands = what the server ran (pipelined or not, scripts' calls included); in"
echo "commands us = its time inside them (INFO commandstats: wall time, so preemption on a"
echo "busy machine counts too); CPU us = its CPU time (user + system, I/O included; ticks"
echo "of 1/$(getconf CLK_TCK) s, so use enough --pairs); memory B and keys ="
echo "what the step left in Redis; per set-up includes the two messages of its exchange,"
echo "per message the one set-up of its session spread over the messages."
