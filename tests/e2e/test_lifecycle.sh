#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The end of sessions, end to end (PROTOCOL.md 7.14, OPERATIONS.md "Session
# lifecycle"): a device's close, idle expiry, the operator's close and a
# revocation each tell both devices why, leave nothing of the session in
# Redis, and a frame of it afterwards is dropped and counted; a revoked
# identity is refused until re-enrolled; 10 x max_sessions sessions opened and
# closed over one gateway's life never run out of slots.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
SPOOF="python3 $(dirname "$0")/spoof.py"
ADM=$SGA_BUILD/gateway/sga-admin
CONF=$SGA_RUN/gateway.conf
adm() { "$ADM" -c "$CONF" "$@"; }
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
st() { adm stats | jget "d['$1']"; }
# Session keys without a TTL: an established session's records. A handshake
# that never completed (an invitation sent to a listener's previous socket
# under load, then asked again) keeps its record until its handshake TTL
# expires (300 s, SESSION_TTL_DEFAULT_S in controlplane/store.c): not a closed
# session's leftover, so not counted.
sess_keys() {
	local n=0 k
	for k in $(sga_cli --scan --pattern 'sga:{sess:*'); do
		[ "$(sga_cli ttl "$k")" -eq -1 ] && n=$((n + 1))
	done
	echo $n
}
nothing_in_redis() { # nothing_in_redis WHAT
	[ "$(sess_keys)" -eq 0 ] || {
		for k in $(sga_cli --scan --pattern 'sga:*'); do echo "$k ttl $(sga_cli ttl "$k")"; done >&2
		die "$1: session keys left in Redis"
	}
	[ "$(sga_cli scard sga:sessions)" -eq 0 ] || die "$1: still in the restore index"
}
# wait_sessions N: until the gateway has N sessions installed (bounded).
wait_sessions() {
	for _ in $(seq 1 200); do
		[ "$(st sessions_installed)" -eq "$1" ] && return 0
		sleep 0.05
	done
	die "want $1 sessions installed, have $(st sessions_installed)"
}
closed_said() { # closed_said FILE REASON
	grep -q "session closed by the gateway: $2" "$1" || { cat "$1" >&2; die "$1: not told '$2'"; }
}

export SGA_SESSION_IDLE_S=5 SGA_MAX_SESSIONS=16
sga_lab_up dev-a dev-b dev-c dev-d

# ---- a device closes; a frame of the closed session is dropped and counted
ip netns exec "$NS_GW" $SPOOF sniff "$IF_GW" "$SGA_RUN/frames" 5 >/dev/null &
SNIFF=$!
sleep 0.5
sga_dev dev-b listen --wait 20000 --recv 3 --until-closed >"$SGA_RUN/b.out" 2>"$SGA_RUN/b.err" &
B=$!
sleep 0.3
sga_dev dev-a connect dev-b --count 3 --close 2>"$SGA_RUN/a.err" || { cat "$SGA_RUN/a.err" >&2; die "dev-a connect --close"; }
wait $B || { cat "$SGA_RUN/b.err" >&2; die "dev-b: told of the close"; }
closed_said "$SGA_RUN/b.err" "by a device"
[ "$(wc -l <"$SGA_RUN/b.out")" -eq 3 ] || die "dev-b received its 3 messages before the close"
nothing_in_redis "device close"
wait_sessions 0
wait $SNIFF
f=$(head -1 "$SGA_RUN/frames")
[ -n "$f" ] || die "no DATA_UP captured"
unk0=$(st drop_unknown_session) rel0=$(st relayed)
ip netns exec "$NS_DEV" $SPOOF send "$GW_IP" "$GW_PORT" "$f"
sleep 0.5
[ "$(st drop_unknown_session)" -eq $((unk0 + 1)) ] || die "a frame of the closed session: not counted as drop_unknown_session"
[ "$(st relayed)" -eq "$rel0" ] || die "a frame of the closed session was relayed"
log "ok: device close (both told, Redis empty, a late frame dropped and counted)"

# ---- idle expiry ([sessions] idle_s = 5)
sga_dev dev-b listen --wait 20000 --until-closed 2>"$SGA_RUN/b.err" >/dev/null &
B=$!
sleep 0.3
t0=$(date +%s)
sga_dev dev-a connect dev-b --count 2 --until-closed 2>"$SGA_RUN/a.err" >/dev/null || { cat "$SGA_RUN/a.err" >&2; die "dev-a: idle close"; }
wait $B || die "dev-b: idle close"
closed_said "$SGA_RUN/a.err" idle
closed_said "$SGA_RUN/b.err" idle
[ $(($(date +%s) - t0)) -ge 4 ] || die "closed before idle_s"
[ "$(st cp_expired_idle)" -ge 1 ] || die "cp_expired_idle"
nothing_in_redis "idle expiry"
log "ok: idle expiry"

# ---- the operator closes a session
sga_dev dev-b listen --wait 20000 --until-closed 2>"$SGA_RUN/b.err" >/dev/null &
B=$!
sleep 0.3
sga_dev dev-a connect dev-b --count 1 --until-closed 2>"$SGA_RUN/a.err" >/dev/null &
A=$!
wait_sessions 1
adm --json sessions >"$SGA_RUN/sessions.json"
sid=$(jget 'd["sessions"][0]["session"]' <"$SGA_RUN/sessions.json")
[ "$(jget 'd["sessions"][0]["frames"][0]' <"$SGA_RUN/sessions.json")" -ge 1 ] ||
	{ cat "$SGA_RUN/sessions.json" >&2; die "sessions: traffic from dev-a"; }
adm sessions | grep -q "^$sid .*dev-a" || die "sessions (table)"
adm close "$sid" >/dev/null || die "sga-admin close $sid"
wait $A || die "dev-a: operator close"
wait $B || die "dev-b: operator close"
closed_said "$SGA_RUN/a.err" operator
closed_said "$SGA_RUN/b.err" operator
nothing_in_redis "operator close"
rc=0
adm close "$sid" 2>/dev/null || rc=$?
[ $rc -eq 3 ] || die "sga-admin close of a closed session: exit $rc, want 3"
rc=0
adm close nothex 2>/dev/null || rc=$?
[ $rc -eq 2 ] || die "sga-admin close of a bad id: exit $rc, want 2"
log "ok: operator close"

# ---- revocation: every session of the device, on every lcore at once
sga_dev dev-b listen --wait 20000 --until-closed 2>"$SGA_RUN/b.err" >/dev/null &
B=$!
sga_dev dev-d listen --wait 20000 --until-closed 2>"$SGA_RUN/d.err" >/dev/null &
D=$!
sleep 0.3
sga_dev dev-a connect dev-b --count 1 --until-closed 2>"$SGA_RUN/a.err" >/dev/null &
A=$!
sga_dev dev-c connect dev-d --count 1 --until-closed 2>"$SGA_RUN/c.err" >/dev/null &
C=$!
wait_sessions 2
adm device dev-a | grep -q "dev-b" || die "device dev-a lists its session"
adm --json revoke dev-b >"$SGA_RUN/revoke.json" || die "sga-admin revoke dev-b"
[ "$(jget 'd["sessions_closed"]' <"$SGA_RUN/revoke.json")" -eq 1 ] || die "revoke: one session closed"
wait $A || die "dev-a: revoked peer"
wait $B || die "dev-b: revoked"
closed_said "$SGA_RUN/a.err" revoked
closed_said "$SGA_RUN/b.err" revoked
[ "$(st sessions_installed)" -eq 1 ] || die "the other device's session goes on"
[ "$(adm --json device dev-b | jget 'd["device"]["revoked"]')" = True ] || die "device dev-b: revoked"
rc=0
sga_dev dev-b --timeout 2000 register 2>/dev/null || rc=$?
[ $rc -eq 3 ] || die "a revoked device registering: exit $rc, want 3 (refused in silence)"
rc=0
sga_dev dev-a --timeout 2000 connect dev-b 2>/dev/null || rc=$?
[ $rc -ne 0 ] || die "a session with a revoked device was opened"
adm enroll add dev-b >/dev/null 2>"$SGA_RUN/enroll.err" || die "re-enrol dev-b"
grep -q "was revoked" "$SGA_RUN/enroll.err" || die "enroll add says the revoked record goes"
adm enroll del dev-b >/dev/null
# Re-provisioned: a fresh state file (a new k_d; the revoked one is not trusted).
rm -f "$SGA_RUN/dev-b.state"
sga_dev dev-b register 2>"$SGA_RUN/reg.err" || { cat "$SGA_RUN/reg.err" >&2; die "dev-b registers again once re-enrolled"; }
# The other session went on, until its own idle expiry.
wait $C $D || die "dev-c/dev-d"
closed_said "$SGA_RUN/c.err" idle
nothing_in_redis "revocation"
log "ok: revocation, refusal, re-enrolment"

# ---- 10 x max_sessions sessions over the gateway's life: slots are reused
pair() { # pair INITIATOR RESPONDER ROUNDS
	for _ in $(seq 1 "$3"); do
		sga_dev "$2" listen --wait 20000 --until-closed >/dev/null 2>&1 &
		local l=$!
		sleep 0.1
		sga_dev "$1" connect "$2" --count 1 --close >/dev/null 2>&1 || return 1
		wait $l || return 1
	done
}
closed0=$(st cp_closed)
pair dev-a dev-b 80 &
P1=$!
pair dev-c dev-d 80 || die "dev-c/dev-d rounds"
wait $P1 || die "dev-a/dev-b rounds"
[ $(($(st cp_closed) - closed0)) -eq 160 ] || die "160 sessions closed, have $(($(st cp_closed) - closed0))"
wait_sessions 0
grep -q "slots exhausted\|install failed" "$SGA_RUN/gateway.log" && die "the gateway ran out of session slots"
nothing_in_redis "160 sessions"
log "ok: 160 sessions (10 x max_sessions 16) opened and closed"
log "PASS test_lifecycle"
