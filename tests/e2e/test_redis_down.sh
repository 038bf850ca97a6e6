#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Redis goes away: established sessions keep relaying, a new handshake is
# refused with a clear error; Redis returns: handshakes work again.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT

sga_lab_up dev-i dev-j dev-k

sga_dev dev-j --timeout 30000 listen --wait 30000 --recv 2000 >"$SGA_RUN/j.out" 2>"$SGA_RUN/j.err" &
J=$!
sleep 0.3
coproc DEVI { sga_dev dev-i --timeout 30000 connect dev-j --send-file - 2>"$SGA_RUN/i.err"; }
for n in $(seq 1 1000); do echo "message $n" >&"${DEVI[1]}"; done
for _ in $(seq 1 200); do
	[ "$(wc -l <"$SGA_RUN/j.out")" -ge 1000 ] && break
	sleep 0.05
done
[ "$(wc -l <"$SGA_RUN/j.out")" -ge 1000 ] || die "first 1000 messages not delivered"

log "stopping redis-server"
redis-cli -s "$SGA_RUN/redis.sock" shutdown nosave >/dev/null 2>&1 || sga_redis_stop
sleep 0.5
for n in $(seq 1001 2000); do echo "message $n" >&"${DEVI[1]}"; done
exec {DEVI[1]}>&-
wait $J || die "relaying stopped while Redis was down"
seq 1 2000 | sed 's/^/message /' | cmp -s - "$SGA_RUN/j.out" || die "messages lost while Redis was down"
log "2000 messages relayed, 1000 of them with Redis down"

set +e
sga_dev dev-k --timeout 3000 connect dev-j --send x >"$SGA_RUN/k.out" 2>"$SGA_RUN/k.err"
rc=$?
set -e
[ $rc -ne 0 ] || die "a handshake succeeded with Redis down"
grep -qi "unavailable" "$SGA_RUN/k.err" || { cat "$SGA_RUN/k.err" >&2; die "no clear 'unavailable' error"; }
log "handshake refused: $(tail -1 "$SGA_RUN/k.err")"

sga_redis_start_existing
sleep 1
sga_dev dev-j --timeout 20000 listen --wait 20000 --recv 1 >"$SGA_RUN/j2.out" 2>"$SGA_RUN/j2.err" &
J=$!
sleep 0.3
sga_dev dev-k --timeout 20000 connect dev-j --send "after redis" 2>"$SGA_RUN/k2.err" ||
	{ cat "$SGA_RUN/k2.err" >&2; die "handshake after Redis returned"; }
wait $J || die "dev-j did not receive after Redis returned"
grep -q "after redis" "$SGA_RUN/j2.out" || die "wrong message after Redis returned"
log "PASS test_redis_down"
