#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Spoofed frames at the gateway: a wrong hop tag, an unknown session id, a
# replayed sequence number and a frame from another session's device are each
# dropped and counted, and none is relayed.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
SPOOF="python3 $(dirname "$0")/spoof.py"

sga_lab_up dev-a1 dev-a2 dev-b1 dev-b2

ip netns exec "$NS_GW" $SPOOF sniff "$IF_GW" "$SGA_RUN/frames" 6 >"$SGA_RUN/sniffed" &
SNIFF=$!
sleep 0.5
# Two sessions, A (a1 <-> a2) and B (b1 <-> b2), 20 messages one way each.
sga_dev dev-a2 listen --wait 20000 --recv 20 >"$SGA_RUN/a2.out" 2>/dev/null &
L1=$!
sga_dev dev-b2 listen --wait 20000 --recv 20 >"$SGA_RUN/b2.out" 2>/dev/null &
L2=$!
sleep 0.3
sga_dev dev-a1 connect dev-a2 --count 20 2>/dev/null || die "session A"
sga_dev dev-b1 connect dev-b2 --count 20 2>/dev/null || die "session B"
wait $L1 $L2 || die "listeners"
wait $SNIFF
[ "$(wc -l <"$SGA_RUN/frames")" -ge 40 ] || die "captured $(wc -l <"$SGA_RUN/frames") DATA_UP frames, want 40"

# A frame of session A and one of session B (session id: bytes 4..11 of the frame).
fa=$(sed -n 1p "$SGA_RUN/frames")
sid_a=${fa:8:16}
fb=$(grep -v "^........$sid_a" "$SGA_RUN/frames" | head -1)
[ -n "$fb" ] || die "no frame of the second session captured"

sleep 0.3
stat() { sga_stat dataplane "$1"; }
relayed0=$(stat relayed) auth0=$(stat drop_hop_auth) unk0=$(stat drop_unknown_session) dup0=$(stat duplicate)

flip_last=${fa:0:${#fa}-2}$(printf '%02x' $(((0x${fa: -2} ^ 0x01))))
unknown_sid=${fa:0:8}0123456789abcdef${fa:24}
b_as_a=${fb:0:8}$sid_a${fb:24}
ip netns exec "$NS_DEV" $SPOOF send "$GW_IP" "$GW_PORT" "$flip_last" "$unknown_sid" "$fa" "$b_as_a"
sleep 0.5

relayed1=$(stat relayed) auth1=$(stat drop_hop_auth) unk1=$(stat drop_unknown_session) dup1=$(stat duplicate)
log "after spoofing: relayed +$((relayed1 - relayed0)) hop_auth +$((auth1 - auth0)) unknown_session +$((unk1 - unk0)) duplicate +$((dup1 - dup0))"
[ "$relayed1" -eq "$relayed0" ] || die "a spoofed frame was relayed"
[ $((auth1 - auth0)) -eq 2 ] || die "wrong tag + other session's device: want 2 hop-auth drops"
[ $((unk1 - unk0)) -eq 1 ] || die "unknown session: want 1 drop"
[ $((dup1 - dup0)) -eq 1 ] || die "replayed sequence: want 1 duplicate (acknowledged again, not relayed)"
log "PASS test_spoof"
