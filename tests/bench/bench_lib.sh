# SPDX-License-Identifier: BSD-3-Clause
# bench_lib.sh - shell helpers the memif benchmarks and the load smoke test
# share (sourced by tests/bench/bench_relay.sh, tests/bench/bench_loadgen.sh,
# tests/e2e/test_loadgen.sh): stopping what they started, a private
# redis-server, waiting for a log line.

# stop_pid PID SIGNAL SECONDS: signal a process we started, wait up to SECONDS,
# then SIGKILL it.
stop_pid() {
	local pid=$1 sig=$2 secs=$3
	[ -n "$pid" ] || return 0
	kill -"$sig" "$pid" 2>/dev/null || true
	for _ in $(seq 1 $((secs * 20))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# redis_start DIR [PREFIX...]: a redis-server on DIR/redis.sock only (no TCP,
# no persistence), its log DIR/redis.log; sets REDIS_PID; 0 once it answers.
# PREFIX: a command to run it under (e.g. taskset -c 0).
redis_start() {
	local dir=$1
	shift
	rm -f "$dir/redis.sock"
	"$@" redis-server --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 700 \
		--save "" --appendonly no --daemonize no --dir "$dir" >>"$dir/redis.log" 2>&1 &
	REDIS_PID=$!
	for _ in $(seq 1 100); do
		redis-cli -s "$dir/redis.sock" ping >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# wait_line FILE PATTERN PID SECONDS: 0 once FILE has a line matching PATTERN;
# 1 if PID exits first or SECONDS pass.
wait_line() {
	for _ in $(seq 1 $(($4 * 20))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.05
	done
	grep -q "$2" "$1" 2>/dev/null
}
