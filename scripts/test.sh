#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Run SGA's whole test suite: install dependencies, build, run every unit test,
# then again under AddressSanitizer + UndefinedBehaviorSanitizer, each fuzz
# harness briefly, then the end-to-end tests through real processes (needs root).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

echo "== format check"
clang-format --dry-run --Werror $(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')

echo "== footprint (device core + portable crypto, Cortex-M4)"
scripts/footprint.sh build-ci-footprint

for variant in normal asan; do
	dir=build-ci-$variant
	opts=()
	[ "$variant" = asan ] && opts=(-Db_sanitize=address,undefined -Db_lundef=false)
	echo "== build ($variant)"
	[ -d "$dir" ] || meson setup "$dir" "${opts[@]}" >/dev/null
	ninja -C "$dir"
	echo "== test ($variant)"
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0 \
		meson test -C "$dir" --print-errorlogs --num-processes 2
done
# Every libFuzzer harness briefly (clang, ASan + UBSan) on its corpus:
# about 2 minutes with the build; scripts/fuzz.sh 3600 is the long hunt.
echo "== fuzz (each harness 10 s)"
FUZZ_BUILD=build-ci-fuzz scripts/fuzz.sh 10
echo "== end-to-end tests (real redis-server, sga-gateway on DPDK, sga-device processes)"
if [ "$(id -u)" -eq 0 ]; then
	SGA_BUILD=$PWD/build-ci-normal bash tests/e2e/run_all.sh
else
	echo "end-to-end tests need root (network namespaces, hugepages): run this script with sudo" >&2
	exit 1
fi
echo "== all tests passed"
