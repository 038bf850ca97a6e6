#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Run every end-to-end test (needs root: network namespaces, hugepages) and
# print a summary line "N passed, N failed".
cd "$(dirname "$0")"
pass=0 fail=0 failed=()
# Every test_*.sh here (a new test needs no list to join), or SGA_E2E_TESTS.
for t in ${SGA_E2E_TESTS:-$(ls test_*.sh)}; do
	[ -f "$t" ] || continue
	echo "== e2e: $t"
	start=$(date +%s)
	if timeout 600 bash "$t"; then
		pass=$((pass + 1))
		echo "== e2e: $t passed ($(($(date +%s) - start)) s)"
	else
		fail=$((fail + 1))
		failed+=("$t")
		echo "== e2e: $t FAILED ($(($(date +%s) - start)) s)"
	fi
done
echo "e2e: $pass passed, $fail failed"
[ $fail -eq 0 ] || { echo "failed: ${failed[*]}"; exit 1; }
