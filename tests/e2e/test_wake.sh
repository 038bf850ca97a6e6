#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# WAKE (PROTOCOL.md 7.16): a registered device that moved announces its new
# address with a WAKE and is answered there (WAKE_ACK); the peer's invitation
# then reaches it at the new address. The WAKE it sent from its old address,
# replayed from there, and a forged one, must not move it back. Then a device
# that moves in the middle of a session (a new socket, sga-device
# --move-after) and WAKEs gets the rest of the peer's messages at the new
# socket without sending a data frame first: the WAKE moved its session
# address in the data plane and restarted the redelivery of what the store
# held meanwhile (7.16 step 3). The re-sent NEG_INVITEs (step 4) are tested
# in test_cp.c.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
SPOOF="python3 $(dirname "$0")/spoof.py"
NEW_IP=10.77.0.4

sga_lab_up dev-w1 dev-w2
ip -n "$NS_DEV" addr add "$NEW_IP/24" dev "$IF_DEV"
addr_of() { sga_cli hget "sga:{dev:$1}" addr; }
handled_at_least() { [ "$(sga_stat controlplane handled)" -ge "$1" ]; }

# Capture the WAKEs (type 14) that reach the gateway.
ip netns exec "$NS_GW" $SPOOF sniff "$IF_GW" "$SGA_RUN/ctl" 8 14 >/dev/null &
SNIFF=$!
sga_wait_for 30 test -e "$SGA_RUN/ctl" || die "the sniffer did not start"

sga_dev dev-w2 --bind "$DEV_IP:0" -v wake 2>"$SGA_RUN/wake-old.err" ||
	{ cat "$SGA_RUN/wake-old.err" >&2; die "WAKE from $DEV_IP"; }
grep -q "the gateway knows where it is" "$SGA_RUN/wake-old.err" || die "no WAKE_ACK reported"
old=$(addr_of dev-w2)
case "$old" in *"$DEV_IP"*) ;; *) die "address after the first WAKE: '$old'" ;; esac

# The device moves: a new IP address and a new socket.
sga_dev dev-w2 --bind "$NEW_IP:0" wake 2>"$SGA_RUN/wake-new.err" ||
	{ cat "$SGA_RUN/wake-new.err" >&2; die "WAKE from $NEW_IP"; }
new=$(addr_of dev-w2)
case "$new" in *"$NEW_IP"*) ;; *) die "the WAKE from $NEW_IP did not move the address: '$new'" ;; esac
log "WAKE from $NEW_IP moved dev-w2's address ($old -> $new)"
wait $SNIFF
mapfile -t wakes < <(grep '^0114' "$SGA_RUN/ctl")
[ "${#wakes[@]}" -ge 2 ] || die "captured ${#wakes[@]} WAKEs, want 2"

# Replays from the old address: both captured WAKEs (their counters are spent),
# and a forged one (the last tag byte flipped).
last=${wakes[${#wakes[@]} - 1]}
flip=$(printf '%02x' $((0x${last: -2} ^ 1)))
forged=${last:0:${#last}-2}$flip
h0=$(sga_stat controlplane handled)
ip netns exec "$NS_DEV" $SPOOF sendfrom "$DEV_IP" "$GW_IP" "$GW_PORT" "${wakes[@]}" "$forged"
sga_wait_for 30 handled_at_least $((h0 + ${#wakes[@]} + 1)) || die "the replays were not handled"
[ "$(addr_of dev-w2)" = "$new" ] || die "a replayed or forged WAKE moved dev-w2 to '$(addr_of dev-w2)'"
log "replayed and forged WAKEs from $DEV_IP: dev-w2 stays at $new"

# So dev-w1's invitation goes to the new address. dev-w2 listens from a socket
# on NEW_IP (its own NEG_REQ-to-itself announcement comes from there too).
sga_dev dev-w2 --bind "$NEW_IP:0" listen --wait 20000 --recv 3 >"$SGA_RUN/w2.out" 2>"$SGA_RUN/w2.err" &
L=$!
sleep 0.5
sga_dev dev-w1 connect dev-w2 --count 3 2>"$SGA_RUN/w1.err" || { cat "$SGA_RUN/w1.err" >&2; die "connect"; }
wait $L || { cat "$SGA_RUN/w2.err" >&2; die "dev-w2 listen"; }
seq 1 3 | sed 's/^/message /' | cmp -s - "$SGA_RUN/w2.out" || die "dev-w2 did not receive 3 messages"

# A move in the middle of a session: dev-w2 takes 100 messages, moves to a new
# socket and WAKEs; what dev-w1 sends after that went to the old socket (gone)
# and is held by the store until the WAKE says where dev-w2 is.
N=400 MOVE=100
sga_dev dev-w2 --timeout 30000 -v listen --wait 20000 --recv $N --move-after $MOVE \
	>"$SGA_RUN/m2.out" 2>"$SGA_RUN/m2.err" &
L=$!
sleep 0.5
sga_dev dev-w1 --timeout 30000 connect dev-w2 --count $N 2>"$SGA_RUN/m1.err" ||
	{ cat "$SGA_RUN/m1.err" >&2; die "connect for the move"; }
wait $L || { cat "$SGA_RUN/m2.err" >&2; die "dev-w2 did not receive $N messages across its move"; }
grep "moved to a new socket after $MOVE messages" "$SGA_RUN/m2.err" >&2 || die "dev-w2 did not move"
seq 1 $N | sed 's/^/message /' | cmp -s - "$SGA_RUN/m2.out" ||
	die "dev-w2 did not receive $N messages intact and in order across its move"
log "dev-w2 moved after $MOVE of $N messages and WAKEd: all $N arrived, in order, at the new socket"
log "PASS test_wake"
