#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Build the libFuzzer harnesses (tests/fuzz, clang, ASan + UBSan) and run each
# for SECONDS on its corpus, one after the other; print executions, exec/s and
# coverage (libFuzzer's cov = edges, ft = features) per harness; exit 1 if any
# harness crashed or broke its property. CI runs it briefly (scripts/test.sh);
# for a long hunt give it hours:
#
#   scripts/fuzz.sh [SECONDS] [HARNESS...]   default 30 s, every harness
#   scripts/fuzz.sh --seeds                  rewrite tests/fuzz/corpus/* from the harnesses
#
# Nothing is written to the tree: the growing corpus lives in
# $FUZZ_BUILD/fuzz-corpus/<harness> (seeded from tests/fuzz/corpus/<harness>,
# kept between runs), crash artifacts and logs in $FUZZ_BUILD/fuzz-out/.
# FUZZ_BUILD (default build-fuzz) is the build directory, FUZZ_JOBS=2 runs two
# harnesses at a time. Reproduce an artifact: $FUZZ_BUILD/tests/fuzz/fuzz_<h>
# <artifact> (SGA_FUZZ_TRACE=1 prints what each step of a gateway or device
# input did).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${FUZZ_BUILD:-build-fuzz}
JOBS=${FUZZ_JOBS:-1}
ALL=(wire gateway device dp_pkt dp_peer config msg_log store spki)

seeds=0
secs=30
if [ "${1:-}" = "--seeds" ]; then
	seeds=1
	shift
elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then
	secs=$1
	shift
fi
targets=("$@")
((${#targets[@]})) || targets=("${ALL[@]}")

if [ ! -d "$BUILD" ]; then
	CC=clang meson setup "$BUILD" -Dfuzz=true -Dtests=false \
		-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
built=()
for t in "${targets[@]}"; do
	built+=("tests/fuzz/fuzz_$t")
done
nice ninja -C "$BUILD" -j2 "${built[@]}" >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}

if ((seeds)); then
	for t in "${targets[@]}"; do
		if [ "$t" = config ]; then
			mkdir -p tests/fuzz/corpus/config
			cp configs/*.conf tests/fuzz/corpus/config/
		else
			rm -rf "tests/fuzz/corpus/$t"
			mkdir -p "tests/fuzz/corpus/$t"
			SGA_FUZZ_SEEDS=$PWD/tests/fuzz/corpus/$t "$BUILD/tests/fuzz/fuzz_$t"
		fi
		echo "seeds $t: $(ls "tests/fuzz/corpus/$t" | wc -l) files"
	done
	exit 0
fi

out=$BUILD/fuzz-out
mkdir -p "$out"

run_one() {
	local t=$1 corpus=$BUILD/fuzz-corpus/$1 art=$out/$1
	mkdir -p "$corpus" "$art"
	# New units go to the first directory only: the seeds stay as they are.
	nice "$BUILD/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2560 \
		-print_final_stats=1 -artifact_prefix="$art/" "$corpus" "tests/fuzz/corpus/$t" \
		>"$out/$t.log" 2>&1
}

declare -A rcs
pids=()
names=()
for t in "${targets[@]}"; do
	rm -f "$out/$t"/crash-* "$out/$t"/leak-* "$out/$t"/timeout-* "$out/$t"/oom-* 2>/dev/null || true
	run_one "$t" &
	pids+=($!)
	names+=("$t")
	if ((${#pids[@]} >= JOBS)); then
		wait "${pids[0]}" && rcs[${names[0]}]=0 || rcs[${names[0]}]=$?
		pids=("${pids[@]:1}")
		names=("${names[@]:1}")
	fi
done
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" && rcs[${names[$i]}]=0 || rcs[${names[$i]}]=$?
done

fail=0
printf '%-8s %10s %8s %6s %7s %6s  %s\n' harness execs exec/s cov ft corpus result
for t in "${targets[@]}"; do
	log=$out/$t.log
	stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
	last=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov: ' | tail -1 || true)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
	arts=$(find "$out/$t" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o \
		-name 'timeout-*' -o -name 'oom-*' \) | wc -l)
	result=ok
	if [ "${rcs[$t]}" != 0 ] || [ "$arts" != 0 ]; then
		result="FAILED (rc ${rcs[$t]}, $arts artifact(s) in $out/$t; log $log)"
		fail=1
		grep -m1 -E 'fuzz property violated|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error' \
			"$log" || true
	fi
	printf '%-8s %10s %8s %6s %7s %6s  %s\n' "$t" "$(stat number_of_executed_units)" \
		"$(stat average_exec_per_sec)" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
done
exit $fail
