#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Run every end-to-end test (needs root: network namespaces, hugepages) and
# print a summary line "N passed, N failed".
#
# Profiles: every test runs on the default profile (ffdhe2048 / RSA-2048, or
# SGA_GROUP); then the protocol-heavy ones (relay, rekey, lifecycle, enroll,
# replay, spoofing, flood, restart: SGA_E2E_EC_TESTS) run again on the EC
# profile (SGA_E2E_EC_GROUP, default x25519), as SGA_GROUP for scripts/lab.sh.
# The rest (configuration, install, store, Redis outages, the Redis Cluster, lab
# provisioning) do not depend on the profile, and a second pass of all of them
# would double the suite's ~5 minutes. SGA_E2E_BOTH=1 runs the whole list on both profiles.
cd "$(dirname "$0")"
pass=0 fail=0 failed=()
EC_GROUP=${SGA_E2E_EC_GROUP:-x25519}
EC_TESTS=${SGA_E2E_EC_TESTS:-test_relay.sh test_rekey.sh test_lifecycle.sh test_enroll.sh
	test_replay_addr.sh test_spoof.sh test_flood.sh test_restart.sh}

# run_one SCRIPT [GROUP]: GROUP empty = the script's own default profile.
run_one() {
	local t=$1 group=${2:-} name start
	name=$t${group:+ [$group]}
	echo "== e2e: $name"
	start=$(date +%s)
	if SGA_GROUP=${group:-${SGA_GROUP:-}} timeout 600 bash "$t"; then
		pass=$((pass + 1))
		echo "== e2e: $name passed ($(($(date +%s) - start)) s)"
	else
		fail=$((fail + 1))
		failed+=("$name")
		echo "== e2e: $name FAILED ($(($(date +%s) - start)) s)"
	fi
}

# Every test_*.sh here (a new test needs no list to join), or SGA_E2E_TESTS.
all=${SGA_E2E_TESTS:-$(ls test_*.sh)}
# The EC pass and the mixed-profile test need a gateway that serves the group
# (scripts/lab.sh's probe); said loudly and counted as skipped when it does
# not: a test that did not run must not read as one that passed.
skipped=()
if [ "$EC_GROUP" != none ] &&
	! (SGA_RUN=$(mktemp -d /tmp/sga-run.XXXXXX) && trap 'rm -rf "$SGA_RUN"' EXIT &&
		source ../../scripts/lab.sh && sga_gw_serves "$EC_GROUP"); then
	echo "== e2e: NOTE: this build's gateway does not serve groups = $EC_GROUP: the EC profile pass and test_mixed_profile.sh are skipped"
	EC_GROUP=none
fi
for t in $all; do
	[ -f "$t" ] || continue
	if [ "$EC_GROUP" = none ] && [ "$t" = test_mixed_profile.sh ]; then
		skipped+=("$t")
		continue
	fi
	run_one "$t"
done
if [ -n "${SGA_E2E_BOTH:-}" ]; then
	EC_TESTS=$all
fi
if [ "$EC_GROUP" != none ]; then
	for t in $EC_TESTS; do
		[ -f "$t" ] || continue
		[ "$t" != test_mixed_profile.sh ] || continue # sets its own profiles
		case " $(echo $all) " in *" $t "*) ;; *) continue ;; esac # SGA_E2E_TESTS chose
		run_one "$t" "$EC_GROUP"
	done
fi
echo "e2e: $pass passed, $fail failed, ${#skipped[@]} skipped${skipped:+ (${skipped[*]})}"
[ $fail -eq 0 ] || { echo "failed: ${failed[*]}"; exit 1; }
