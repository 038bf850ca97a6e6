#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# README.md's "Running a gateway yourself" works as written: the shell blocks
# between its "test_readme: begin" and "test_readme: end" marks run as they
# are, one script under `bash -e`, in a fresh directory that holds only what a
# checkout has (configs/ and the build/ this suite tests). They must set up
# the network, start Redis and the gateway, register two devices that exchange
# a message, and stop everything again.
#
# The README uses fixed names (namespaces sga-gw and sga-dev, EAL prefix
# sga-afp): the test refuses to start when they exist, and removes what the
# block left behind when it fails.
set -euo pipefail
SGA_ROOT=${SGA_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
SGA_BUILD=${SGA_BUILD:-$SGA_ROOT/build}
log() { printf '[%s] test_readme: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
for ns in sga-gw sga-dev; do
	! ip netns list | grep -qw "$ns" || die "namespace $ns exists already (another run?)"
done
T=$(mktemp -d /tmp/sga-readme.XXXXXX)
ln -s "$SGA_ROOT/configs" "$T/configs"
ln -s "$SGA_BUILD" "$T/build"

# The shell blocks between the marks, their fences dropped.
awk '/<!-- test_readme: begin/ { on = 1; next }
     /<!-- test_readme: end/ { on = 0 }
     on && /^```/ { fence = !fence; next }
     on && fence' "$SGA_ROOT/README.md" >"$T/readme.sh"
[ "$(grep -c . "$T/readme.sh")" -ge 10 ] || die "no marked block found in README.md"
log "$(grep -vc '^\s*#\|^\s*$' "$T/readme.sh") command lines from README.md, run in $T"

PG=
cleanup() {
	set +e
	[ -n "$PG" ] && kill -KILL -- "-$PG" 2>/dev/null # the block's own processes
	[ -S "$T/run/redis.sock" ] && redis-cli -s "$T/run/redis.sock" shutdown nosave >/dev/null 2>&1
	ip netns del sga-gw 2>/dev/null
	ip netns del sga-dev 2>/dev/null
	if [ -z "${SGA_KEEP_RUN:-}" ]; then rm -rf "$T"; fi
}
trap cleanup EXIT

# A session of its own, so that cleanup can end whatever the block started.
rc=0
(cd "$T" && exec setsid timeout -k 5 240 bash -euo pipefail readme.sh) >"$T/out" 2>&1 &
PG=$!
wait $PG || rc=$?
if [ $rc -ne 0 ]; then
	tail -20 "$T/out" >&2
	[ -f "$T/run/gateway.log" ] && tail -20 "$T/run/gateway.log" >&2
	die "the README's commands failed (exit $rc)"
fi
PG=
grep -qx hello "$T/out" || { cat "$T/out" >&2; die "hub-1 did not print the message"; }
grep -q "serving 10.77.0.1:7000" "$T/run/gateway.log" || die "no serving line in run/gateway.log"
grep -q "sga-gateway: stopping" "$T/run/gateway.log" || die "the gateway did not stop cleanly"
for ns in sga-gw sga-dev; do
	! ip netns list | grep -qw "$ns" || die "the README's stop commands left namespace $ns"
done
[ -S "$T/run/redis.sock" ] && redis-cli -s "$T/run/redis.sock" ping >/dev/null 2>&1 &&
	die "the README's stop commands left Redis running"
log "ok: $(grep -m1 -o 'sga-gw-demo serving .* on port' "$T/run/gateway.log"); hub-1 received 'hello'; all stopped"
log "PASS test_readme"
