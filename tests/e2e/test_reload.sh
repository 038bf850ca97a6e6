#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# SIGHUP re-reads the configuration while two devices exchange messages: a
# live setting (enrollment, stats_interval_s) is applied at once and named in
# one line; a change that needs a restart ([dataplane] port) is refused with one
# line and the gateway runs on. Every message of the running exchange arrives.
# Then the control-frame rate limit (ctrl_rate, ctrl_burst) and the store's
# retention (max_age_s) change live and take effect: a burst from one address
# the old limit let through is cut by the new one (drop_ctrl_rate), messages
# held for an offline recipient expire once retention is set (expired);
# turning the rate limit off is refused. A new session still relays afterwards.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
N=${SGA_E2E_MESSAGES:-20000}

FLOOD="python3 $(dirname "$0")/flood.py"
M=20 # messages held for the offline recipient
sga_lab_up dev-i dev-j dev-p dev-q
CONF=$SGA_RUN/gateway.conf
lines() { grep -c "$1" "$SGA_RUN/gateway.log" || true; }
logged_at_least() { [ "$(lines "$1")" -ge "$2" ]; }
wait_line() { # wait_line PATTERN COUNT: the gateway logged PATTERN COUNT times
	sga_wait_for 30 logged_at_least "$1" "$2" || die "the gateway did not log '$1' (see $SGA_RUN/gateway.log)"
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
sed -i '/^bogus_key = 1$/d; s/^port = net_af_packet0,iface=\(.*\)x,qpairs=1/port = net_af_packet0,iface=\1,qpairs=1/' "$CONF"

# The control-frame rate, live. A burst of 100 REG_REQ from one (spoofed)
# address passes the lab's limit (ctrl_rate 100, ctrl_burst 200) whole ...
stat() { sga_stat "$@"; }
settle() { sleep 0.5; } # the stats file is rewritten every 100 ms
d0=$(stat dataplane drop_ctrl_rate)
ip netns exec "$NS_DEV" $FLOOD burst "$GW_IP" "$GW_PORT" 100 10.77.0.60 >/dev/null
settle
d1=$(stat dataplane drop_ctrl_rate)
[ "$d1" -eq "$d0" ] || die "a burst of 100 was rate limited under ctrl_burst = 200 ($((d1 - d0)) drops)"
# ... and ctrl_rate 2, ctrl_burst 10 cut the same burst to about 10.
sed -i 's/^ctrl_rate = .*/ctrl_rate = 2/; s/^ctrl_burst = .*/ctrl_burst = 10/' "$CONF"
kill -HUP "$GW_PID"
wait_line "reload of $CONF: ctrl_rate, ctrl_burst" 1
ip netns exec "$NS_DEV" $FLOOD burst "$GW_IP" "$GW_PORT" 100 10.77.0.61 >/dev/null
settle
d2=$(stat dataplane drop_ctrl_rate)
[ $((d2 - d1)) -ge 80 ] || die "ctrl_rate 2, ctrl_burst 10 did not cut a burst of 100 ($((d2 - d1)) drops)"
log "ok: burst of 100 from one address: $((d1 - d0)) dropped under ctrl_rate 100 / ctrl_burst 200, $((d2 - d1)) after the reload to 2 / 10"
# Off is not live: the bucket tables exist only with a rate.
sed -i 's/^ctrl_rate = .*/ctrl_rate = 0/' "$CONF"
kill -HUP "$GW_PID"
wait_line "reload of $CONF refused: \[dataplane\] ctrl_rate changed to 0: turning the control-frame limit off needs a restart; running on unchanged" 1
log "ok: $(grep "ctrl_rate changed to 0" "$SGA_RUN/gateway.log" | tail -1)"
sed -i 's/^ctrl_rate = .*/ctrl_rate = 100/; s/^ctrl_burst = .*/ctrl_burst = 200/' "$CONF"
kill -HUP "$GW_PID"
wait_line "reload of $CONF: ctrl_rate, ctrl_burst" 2

# Retention, live: dev-q takes one message and goes offline; the next M wait in
# the store (max_age_s = 0: kept until delivered) ...
sga_dev dev-q --timeout 20000 listen --wait 20000 --recv 1 >"$SGA_RUN/q.out" 2>"$SGA_RUN/q.err" &
Q=$!
sleep 0.3
coproc SENDER { sga_dev dev-p --timeout 20000 connect dev-q --send-file - >"$SGA_RUN/p.out" 2>"$SGA_RUN/p.err"; }
P=$SENDER_PID
echo hello >&"${SENDER[1]}"
wait $Q || { cat "$SGA_RUN/q.err" >&2; die "dev-q did not get its first message"; }
for n in $(seq 1 "$M"); do echo "held $n"; done >&"${SENDER[1]}"
exec {SENDER[1]}>&-
wait $P || { tail -3 "$SGA_RUN/p.err" >&2; die "dev-p: the held messages were not all stored"; }
sleep 2
e0=$(stat store expired)
[ "$(stat store pending)" -ge "$M" ] || die "the $M messages for the offline dev-q are not pending"
[ "$e0" -eq 0 ] || die "messages expired under max_age_s = 0 ($e0)"
# ... until max_age_s = 1 makes them older than the retention.
sed -i 's/^max_age_s = .*/max_age_s = 1/' "$CONF"
kill -HUP "$GW_PID"
wait_line "reload of $CONF: max_age_s" 1
expired_at_least() { [ "$(stat store expired)" -ge "$1" ]; }
sga_wait_for 30 expired_at_least "$M" || true # the count is checked below
e1=$(stat store expired)
[ "$e1" -ge "$M" ] || die "max_age_s = 1 by reload: $e1 of $M held messages expired"
log "ok: $M messages held for the offline dev-q: expired $e0 under max_age_s = 0, $e1 within seconds of the reload to 1"

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
