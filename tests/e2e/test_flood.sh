#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Handshake floods: while forged REG_REQ (random RSA ciphertext) and forged
# NEG_REQ (one registered identity, so all keyed to one worker) arrive from
# spoofed addresses, honest devices still register, connect and exchange
# messages; the gateway goes under load and answers the forgeries with cookie
# challenges (cookie_sent), the honest devices' echoes verify (cookie_valid),
# and a burst from one address runs its token bucket dry (drop_ctrl_rate).
# No timing is asserted beyond generous bounds: the CPU is shared.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
FLOOD="python3 $(dirname "$0")/flood.py"
RATE=${SGA_FLOOD_RATE:-5000}
SECS=${SGA_FLOOD_SECONDS:-25}
export SGA_STATS_INTERVAL=1 SGA_COOKIE_THRESHOLD=${SGA_COOKIE_THRESHOLD:-8}

sga_lab_up dev-v1
sleep 1.2
stat() { sga_stat "$@"; }
reg0=$(stat controlplane registered)

# A burst of 400 from one address: its bucket (burst 200) runs dry.
ip netns exec "$NS_DEV" $FLOOD burst "$GW_IP" "$GW_PORT" 400 10.77.0.251 >/dev/null
ip netns exec "$NS_DEV" $FLOOD flood "$GW_IP" "$GW_PORT" "$SECS" "$RATE" dev-v1 >"$SGA_RUN/flood.out" &
FL=$!
sleep 3 # the flood is on and the gateway under load

ms() { date +%s%3N; }
t0=$(ms)
sga_dev dev-h1 register 2>"$SGA_RUN/h1.err" || die "honest registration during the flood: $(tail -3 "$SGA_RUN/h1.err")"
sga_dev dev-h2 register 2>"$SGA_RUN/h2.err" || die "honest registration during the flood: $(tail -3 "$SGA_RUN/h2.err")"
t1=$(ms)
sga_dev dev-h2 listen --wait 30000 --recv 10 >"$SGA_RUN/h2.out" 2>"$SGA_RUN/h2l.err" &
L=$!
sleep 0.3
sga_dev dev-h1 connect dev-h2 --count 10 2>"$SGA_RUN/h1c.err" || die "honest connect during the flood: $(tail -3 "$SGA_RUN/h1c.err")"
wait $L || die "listener: $(tail -3 "$SGA_RUN/h2l.err")"
t2=$(ms)
sleep 1.2
under=$(stat controlplane under_load)
kill -0 $FL 2>/dev/null || die "the flood ended before the honest handshakes did (raise SGA_FLOOD_SECONDS)"
wait $FL
sent=$(cat "$SGA_RUN/flood.out")
sleep 1.5

cs=$(stat controlplane cookie_sent) cv=$(stat controlplane cookie_valid)
ci=$(stat controlplane cookie_invalid) le=$(stat controlplane load_events)
rate_drops=$(stat dataplane drop_ctrl_rate) spread=$(stat dataplane ctrl_spread)
ring_full=$(stat dataplane drop_ctrl_ring_full) load_drops=$(stat dataplane drop_ctrl_load) reg1=$(stat controlplane registered)
log "flood: $sent forged frames in ${SECS} s (~$RATE/s); honest: 2 registrations $((t1 - t0)) ms, connect + 10 messages $((t2 - t1)) ms"
log "gateway: under_load=$under load_events=$le cookie_sent=$cs cookie_valid=$cv cookie_invalid=$ci ctrl_spread=$spread drop_ctrl_rate=$rate_drops drop_ctrl_ring_full=$ring_full drop_ctrl_load=$load_drops registered +$((reg1 - reg0))"
[ "$under" -eq 1 ] || die "the gateway was not under load during the flood"
[ "$le" -ge 1 ] || die "no load event"
[ "$cs" -gt 100 ] || die "the forgeries were not answered with cookies ($cs)"
[ "$cv" -ge 3 ] || die "the honest devices' cookie echoes did not verify ($cv, want >= 3)"
[ "$spread" -gt 0 ] || die "no frame was spread over the workers under load"
[ "$rate_drops" -ge 100 ] || die "the one-address burst was not rate limited ($rate_drops)"
[ $((reg1 - reg0)) -eq 2 ] || die "forged REG_REQs registered devices: registered +$((reg1 - reg0)), want 2"
[ $((t2 - t0)) -lt 60000 ] || die "honest handshakes took $((t2 - t0)) ms"
grep -q "hello\|message" "$SGA_RUN/h2.out" || [ -s "$SGA_RUN/h2.out" ] || die "no message received"
log "PASS test_flood"
