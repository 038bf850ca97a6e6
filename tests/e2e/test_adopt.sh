#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Two gateways on one Redis ([sessions] adopt = on, PROTOCOL.md 9.5), both at
# the gateway address 10.77.0.1, each on its own link to the devices'
# namespace. The devices set their session up through gateway A; mid-stream
# the network moves them to gateway B (the route to 10.77.0.1 now leaves by
# B's link, as an anycast or VRRP move would). B adopts the session on its
# first authentic frame: the stream goes on without a new handshake, every
# message arrives exactly once and in order, and B counts an adoption and
# no session set-up. Then the network moves the devices back to A for a
# while: A, which still has the session installed, relays its frames until
# its next replay-mark write, which the state store refuses (B owns the
# session now: the fence); A lets the session go and adopts it back on the
# next frame. Moved to B again, the same happens the other way. Then gateway
# A is killed (-9): nothing changes for the devices, which are on B already.
source "$(dirname "$0")/../../scripts/lab.sh"
NS_GWB=sgagwb$SGA_TAG
IF_GWB=sgab$SGA_TAG
IF_DEVB=sgae$SGA_TAG
trap sga_cleanup EXIT
N=${SGA_E2E_MESSAGES:-8000}
export SGA_ADOPT=on
# Two data-plane lcores share core 1: both back off when idle.
export SGA_IDLE_SLEEP_US=${SGA_IDLE_SLEEP_US:-50}

sga_lab_up dev-i dev-j

# Gateway B: its own namespace and link, the same address, keys and Redis
# (frames of gateway A still reach the devices on A's link after the move).
sga_gw_other b "$NS_GWB" "$IF_GWB" "$IF_DEVB" 10.77.0.2/32 "s|^stats_interval_s = .*|stats_interval_s = 0|"
log "gateways A and B up at 10.77.0.1, the devices on A's link"

sga_stream_start "$N"
before=$(wc -l <"$SGA_RUN/j.out")
[ "$before" -lt "$N" ] || die "the stream ended before the move (raise SGA_E2E_MESSAGES)"
t0=$(date +%s%N)
ip -n "$NS_DEV" route replace 10.77.0.1/32 dev "$IF_DEVB"
ip -n "$NS_DEV" neigh flush all
log "the devices now reach 10.77.0.1 through gateway B (after $before messages)"
# The pause the devices see (reported, not asserted): until dev-j has 50 more.
moved_on() { [ "$(wc -l <"$SGA_RUN/j.out")" -ge $((before + 50)) ]; }
sga_wait_for 30 moved_on && log "the stream went on through B after $((($(date +%s%N) - t0) / 1000000)) ms"
statb() { SGA_STATS=$SGA_RUN/stats-b.json sga_stat "$@"; }
b_adopted() { [ "$(statb controlplane adopted)" -ge 1 ]; }
sga_wait_for 10 b_adopted || die "gateway B did not adopt the session"

# Back to A, which never learnt of B's adoption: fenced at its next mark
# write, it lets the session go, then adopts it back.
t0=$(date +%s%N)
ip -n "$NS_DEV" route replace 10.77.0.1/32 dev "$IF_DEV"
ip -n "$NS_DEV" neigh flush all
back=$(wc -l <"$SGA_RUN/j.out")
log "the devices reach 10.77.0.1 through gateway A again (after $back messages)"
a_fenced() { [ "$(sga_stat controlplane owner_lost)" -ge 1 ] && [ "$(sga_stat controlplane adopted)" -ge 1 ]; }
sga_wait_for 30 a_fenced || die "gateway A was not fenced and did not adopt the session back (owner_lost $(sga_stat controlplane owner_lost), adopted $(sga_stat controlplane adopted))"
log "gateway A: fenced and adopted back $((($(date +%s%N) - t0) / 1000000)) ms after the move"
grep -q "another gateway owns it now" "$SGA_RUN/gateway.log" || die "no fence line in A's log"
[ "$(wc -l <"$SGA_RUN/j.out")" -lt "$N" ] || die "the stream ended before it moved back to B (raise SGA_E2E_MESSAGES)"

ip -n "$NS_DEV" route replace 10.77.0.1/32 dev "$IF_DEVB"
ip -n "$NS_DEV" neigh flush all
log "the devices reach 10.77.0.1 through gateway B again"
sga_one_stream "$STREAM_I" "$STREAM_J" "$N" "the moves between the gateways"

sleep 0.5 # a stats-file refresh
adopted=$(statb controlplane adopted)
setups=$(statb controlplane sessions)
relayed=$(statb dataplane relayed)
asked=$(statb dataplane adopt_asked)
log "gateway B: adopted $adopted, lost $(statb controlplane owner_lost), sessions set up $setups, relayed $relayed, adopt_asked $asked"
[ "$adopted" -ge 1 ] || die "gateway B adopted no session"
[ "$setups" -eq 0 ] || die "gateway B set up $setups sessions: a handshake went through it"
[ "$relayed" -gt 0 ] || die "gateway B relayed nothing"
grep -q "session .* adopted: a frame of member" "$SGA_RUN/gateway-b.log" || die "no adoption line in B's log"

# Gateway A dies: the devices are on B already and carry on there.
kill -KILL "$GW_PID"
wait "$GW_PID" 2>/dev/null || true
GW_PID=
sga_dev dev-j --timeout 30000 listen --wait 30000 --recv 100 >"$SGA_RUN/j2.out" 2>"$SGA_RUN/j2.err" &
J=$!
sleep 0.3
sga_dev dev-i --timeout 30000 connect dev-j --count 100 >"$SGA_RUN/i2.out" 2>"$SGA_RUN/i2.err" ||
	{ tail -5 "$SGA_RUN/i2.err" >&2; die "a new session through B after A died"; }
wait $J || die "dev-j did not receive the new session's messages through B"
log "PASS test_adopt ($N messages across moves between two gateways, one handshake, the old owner fenced; a new session through B)"
