#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Crash safety: kill -9 the gateway at random points while a device sends,
# restart it each time; every message the gateway acknowledged as STORED
# reaches the recipient exactly once, in order.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
N=${SGA_E2E_MESSAGES:-6000}
CRASHES=${SGA_E2E_CRASHES:-3}

sga_lab_up dev-s dev-r

sga_dev dev-r --timeout 60000 listen --wait 30000 --recv "$N" >"$SGA_RUN/r.out" 2>"$SGA_RUN/r.err" &
R=$!
sleep 0.3
sga_dev dev-s --timeout 60000 connect dev-r --count "$N" >"$SGA_RUN/s.out" 2>"$SGA_RUN/s.err" &
S=$!
for c in $(seq 1 "$CRASHES"); do
	sleep "0.$((RANDOM % 8 + 2))"
	got=$(wc -l <"$SGA_RUN/r.out")
	log "crash $c: kill -9 the gateway ($got messages delivered so far)"
	kill -KILL "$GW_PID"
	wait "$GW_PID" 2>/dev/null || true
	GW_PID=
	sga_gw_start
done
wait $S || { tail -3 "$SGA_RUN/s.err" >&2; die "sender: not every message acknowledged as stored"; }
wait $R || { tail -3 "$SGA_RUN/r.err" >&2; die "recipient did not receive every message"; }
seq 1 "$N" | sed 's/^/message /' >"$SGA_RUN/expect"
cmp -s "$SGA_RUN/expect" "$SGA_RUN/r.out" || die "messages lost, duplicated or reordered across crashes"
log "PASS test_store_crash ($N messages, $CRASHES crashes)"
