#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# SIGHUP re-reads the configuration while two devices exchange messages: a
# live setting (enrollment, stats_interval_s) is applied at once and named in
# one line; a change that needs a restart ([dataplane] port) is refused with one
# line and the gateway runs on. Every message of the running exchange arrives,
# and a new session still relays afterwards.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
N=${SGA_E2E_MESSAGES:-20000}

sga_lab_up dev-i dev-j
CONF=$SGA_RUN/gateway.conf
lines() { grep -c "$1" "$SGA_RUN/gateway.log" || true; }
wait_line() { # wait_line PATTERN COUNT: the gateway logged PATTERN COUNT times
	for _ in $(seq 1 100); do [ "$(lines "$1")" -ge "$2" ] && return 0; sleep 0.05; done
	die "the gateway did not log '$1' (see $SGA_RUN/gateway.log)"
}

sga_dev dev-j --timeout 30000 listen --wait 30000 --recv "$N" --count "$N" >"$SGA_RUN/j.out" 2>"$SGA_RUN/j.err" &
J=$!
sleep 0.3
sga_dev dev-i --timeout 30000 connect dev-j --count "$N" --recv "$N" >"$SGA_RUN/i.out" 2>"$SGA_RUN/i.err" &
I=$!
sleep 0.5

# A live change: applied, named, nothing else touched.
sed -i 's/^enrollment = open$/enrollment = allowlist/; s/^stats_interval_s = .*/stats_interval_s = 7/' "$CONF"
kill -HUP "$GW_PID"
wait_line "reload of $CONF: enrollment, stats_interval_s" 1
log "ok: $(grep "reload of" "$SGA_RUN/gateway.log" | tail -1)"

# A change that needs a restart: refused in one line, the gateway runs on.
sed -i 's/^port = net_af_packet0,iface=\(.*\),qpairs=1/port = net_af_packet0,iface=\1x,qpairs=1/' "$CONF"
kill -HUP "$GW_PID"
wait_line "reload of $CONF refused: \[dataplane\] port changed: it needs a restart; running on unchanged" 1
log "ok: $(grep "refused" "$SGA_RUN/gateway.log" | tail -1)"
# A file that does not parse: refused the same way.
echo "bogus_key = 1" >>"$CONF"
kill -HUP "$GW_PID"
wait_line "reload of $CONF refused: .*unknown key 'bogus_key'" 1
kill -0 "$GW_PID" || die "the gateway died on SIGHUP"

wait $I || { cat "$SGA_RUN/i.err" >&2; die "dev-i exchange across the reloads"; }
wait $J || { cat "$SGA_RUN/j.err" >&2; die "dev-j exchange across the reloads"; }
seq 1 "$N" | sed 's/^/message /' >"$SGA_RUN/expect"
cmp -s "$SGA_RUN/expect" "$SGA_RUN/i.out" || die "dev-i did not receive $N messages intact and in order"
cmp -s "$SGA_RUN/expect" "$SGA_RUN/j.out" || die "dev-j did not receive $N messages intact and in order"
log "ok: $N messages each way across three reloads"

# The applied setting holds: a new identity without a token is refused now.
rc=0
# (refused silently: the gateway tells an unauthenticated sender nothing)
sga_dev dev-k --timeout 3000 register >"$SGA_RUN/k.out" 2>"$SGA_RUN/k.err" || rc=$?
[ $rc -eq 3 ] || { cat "$SGA_RUN/k.err" >&2; die "dev-k registered without a token after enrollment = allowlist (exit $rc)"; }
log "ok: dev-k refused under the reloaded allow-list"

# And the running gateway still opens and relays a new session.
sga_dev dev-j --timeout 20000 listen --wait 20000 --recv 100 --count 100 >"$SGA_RUN/j2.out" 2>&1 &
J=$!
sleep 0.3
sga_dev dev-i --timeout 20000 connect dev-j --count 100 --recv 100 >"$SGA_RUN/i2.out" 2>"$SGA_RUN/i2.err" ||
	{ cat "$SGA_RUN/i2.err" >&2; die "a new session after the reloads"; }
wait $J || die "dev-j second session"
log "PASS test_reload"
