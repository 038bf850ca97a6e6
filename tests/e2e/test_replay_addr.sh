#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Replayed control frames from another address (PROTOCOL.md 6.3): an attacker
# who captured an honest device's authentic REG_REQ and KEX_INIT replays them
# from its own address, right after the device started listening from a new
# socket. The gateway must keep the device's address where its last fresh
# authenticated frame came from: the peer's connect still reaches it (its
# NEG_INVITE does not go to the attacker) and the messages flow.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
SPOOF="python3 $(dirname "$0")/spoof.py"
ATT_IP=10.77.0.3
N=5

sga_lab_up dev-r1 dev-r2
ip -n "$NS_DEV" addr add "$ATT_IP/24" dev "$IF_DEV"

# Capture REG_REQ (01) and KEX_INIT (20) frames arriving at the gateway while
# dev-r2 re-registers (same key) and a first session runs.
ip netns exec "$NS_GW" $SPOOF sniff "$IF_GW" "$SGA_RUN/ctl" 10 01 20 >/dev/null &
SNIFF=$!
sga_wait_for 30 test -e "$SGA_RUN/ctl" || die "the sniffer did not start" # bound and listening
sga_dev dev-r2 register || die "dev-r2 register again"
sga_dev dev-r2 listen --wait 20000 --recv $N >"$SGA_RUN/first.out" 2>/dev/null &
L=$!
sleep 0.5
sga_dev dev-r1 connect dev-r2 --count $N 2>/dev/null || die "first session"
wait $L || die "first listener"
wait $SNIFF
reg=$(grep '^0101' "$SGA_RUN/ctl" | tail -1 || true)
# KEX_INIT: session id at bytes 4..11, role at byte 12 (hex 24..25); dev-r2 is role 1.
kex_r2=$(grep '^0120' "$SGA_RUN/ctl" | awk 'substr($0, 25, 2) == "01"' | tail -1 || true)
kex_r1=$(grep '^0120' "$SGA_RUN/ctl" | awk 'substr($0, 25, 2) == "00"' | tail -1 || true)
[ -n "$reg" ] || die "no REG_REQ captured"
[ -n "$kex_r2" ] && [ -n "$kex_r1" ] || die "no KEX_INIT of both roles captured"
log "captured dev-r2's REG_REQ (${#reg} hex digits) and both KEX_INITs of the first session"

# One round: dev-r2 listens from a new socket (a new port: it moved), the
# attacker replays the captured frames from ATT_IP, then dev-r1 connects.
handled_at_least() { [ "$(sga_stat controlplane handled)" -ge "$1" ]; }
round() {
	local what=$1
	shift
	sga_dev dev-r2 -v listen --wait 20000 --recv $N >"$SGA_RUN/$what.out" 2>"$SGA_RUN/$what.err" &
	L=$!
	sga_wait_for 30 grep -q "waiting for an invitation" "$SGA_RUN/$what.err" ||
		die "$what: dev-r2 did not start listening"
	h0=$(sga_stat controlplane handled)
	ip netns exec "$NS_DEV" $SPOOF sendfrom "$ATT_IP" "$GW_IP" "$GW_PORT" "$@" "$@"
	# every replay handled before the peer connects
	sga_wait_for 30 handled_at_least $((h0 + 2 * $#)) || die "$what: the replays were not handled"
	sga_dev dev-r1 --timeout 8000 connect dev-r2 --count $N 2>"$SGA_RUN/$what.r1.err" ||
		{ cat "$SGA_RUN/$what.r1.err" >&2; die "$what: dev-r1 could not reach dev-r2 after the replay"; }
	wait $L || { cat "$SGA_RUN/$what.err" >&2; die "$what: dev-r2 listen"; }
	seq 1 $N | sed 's/^/message /' | cmp -s - "$SGA_RUN/$what.out" ||
		die "$what: dev-r2 did not receive $N messages in order"
	log "$what replayed from $ATT_IP: dev-r1 still connected to dev-r2, $N messages delivered"
}

round "REG_REQ" "$reg"
round "KEX_INIT" "$kex_r2" "$kex_r1"
log "PASS test_replay_addr"
