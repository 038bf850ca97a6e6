#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# [dataplane] idle_sleep_us: an idle gateway's lcore sleeps instead of taking
# its whole core, and wakes for traffic. The lcore thread's CPU time is read
# from /proc over an idle spell (a busy-polling lcore is on its CPU the whole
# time: this check fails with idle_sleep_us = 0), then messages still go
# through, and the lcore counted its sleeps.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
SPELL_S=2

# The CPU share (per cent of one core) of the gateway's data-plane lcore
# thread over SPELL_S seconds.
lcore_cpu_pct() {
	local t tid="" a b hz
	for t in /proc/"$GW_PID"/task/*; do
		grep -Eq '^(rte|lcore)-worker' "$t/comm" 2>/dev/null && tid=$t
	done
	[ -n "$tid" ] || die "no rte-worker thread in sga-gateway $GW_PID (threads: $(cat /proc/"$GW_PID"/task/*/comm | tr "\n" " "))"
	hz=$(getconf CLK_TCK)
	a=$(awk '{ print $14 + $15 }' "$tid/stat")
	sleep "$SPELL_S"
	b=$(awk '{ print $14 + $15 }' "$tid/stat")
	echo $(((b - a) * 100 / (hz * SPELL_S)))
}

export SGA_IDLE_SLEEP_US=${SGA_IDLE_SLEEP_US-500}
sga_lab_up dev-i dev-j
grep -q "sleeps when idle, up to $SGA_IDLE_SLEEP_US us" "$SGA_RUN/gateway.log" ||
	die "the start log does not say the lcore sleeps when idle"
sga_exchange 200
log "200 messages each way delivered"
pct=$(lcore_cpu_pct)
log "idle lcore on its CPU ${pct}% of ${SPELL_S} s (idle_sleep_us = $SGA_IDLE_SLEEP_US)"
# Busy polling is ~100 %; sleeping up to 500 us between polls a few per cent.
[ "$pct" -lt 40 ] || die "the idle lcore took ${pct}% of a core"
sga_exchange 200
log "after the idle spell: 200 messages each way delivered again"
sleep 0.3 # one stats-file refresh
sleeps=$(sga_stat dataplane idle_sleeps)
[ "$sleeps" -gt 0 ] || die "idle_sleeps is $sleeps"
log "idle_sleeps $sleeps"
log "PASS test_idle"
