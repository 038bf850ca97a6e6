#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# sga-admin against a live gateway and its Redis: devices and sessions listed
# with what they are, the running gateway's counters through telemetry, an
# allow-list token written once (0600) that registers a device exactly once,
# and distinct exit codes for "not found", "unreachable" and bad arguments.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
ADM=$SGA_BUILD/gateway/sga-admin
CONF=$SGA_RUN/gateway.conf
adm() { "$ADM" -c "$CONF" "$@"; }
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
expect_rc() { # expect_rc RC CMD...
	local want=$1 rc=0
	shift
	"$@" >"$SGA_RUN/out" 2>"$SGA_RUN/err" || rc=$?
	[ "$rc" -eq "$want" ] || { cat "$SGA_RUN/err" >&2; die "exit $rc, not $want: $*"; }
	log "ok ($rc): $* -> $(head -1 "$SGA_RUN/err")"
}

sga_lab_up dev-a dev-b
adm devices | grep -q "^dev-a .*$DEV_IP:" || { adm devices >&2; die "devices: dev-a with its address"; }
[ "$(adm --json devices | jget 'len(d["devices"])')" -eq 2 ] || die "devices --json: two devices"
[ "$(adm --json device dev-b | jget 'd["device"]["hop_suite"]')" = aes-128-gcm ] || die "device dev-b --json"

sga_dev dev-b --timeout 20000 listen --wait 20000 --recv 50 --count 50 >"$SGA_RUN/b.out" 2>&1 &
B=$!
sleep 0.3
sga_dev dev-a --timeout 20000 connect dev-b --count 50 --recv 50 >"$SGA_RUN/a.out" 2>"$SGA_RUN/a.err" ||
	{ cat "$SGA_RUN/a.err" >&2; die "dev-a exchange"; }
wait $B || die "dev-b exchange"
sleep 0.5 # the replay marks reach Redis every persist_interval_ms (200)
adm --json sessions >"$SGA_RUN/sessions.json"
[ "$(jget 'len(d["sessions"])' <"$SGA_RUN/sessions.json")" -eq 1 ] || die "sessions: one session"
[ "$(jget 'd["sessions"][0]["initiator"]+"/"+d["sessions"][0]["responder"]' <"$SGA_RUN/sessions.json")" = dev-a/dev-b ] ||
	die "sessions: dev-a -> dev-b"
[ "$(jget 'min(d["sessions"][0]["rx_next"])' <"$SGA_RUN/sessions.json")" -ge 50 ] ||
	{ cat "$SGA_RUN/sessions.json" >&2; die "sessions: 50 messages each way in the marks"; }
adm sessions | grep -q "dev-a .*dev-b" || die "sessions (table)"
[ "$(adm stats | jget 'd["relayed"]')" -ge 100 ] || { adm stats >&2; die "stats: relayed"; }
adm engines | grep -q aead || die "engines"
log "ok: devices, device, sessions, stats, engines"

# Allow-list: switch the running gateway over (SIGHUP), hand out a token.
sed -i 's/^enrollment = open$/enrollment = allowlist/' "$CONF"
kill -HUP "$GW_PID"
sga_wait_for 30 grep -q "reload of $CONF: enrollment" "$SGA_RUN/gateway.log" || die "enrollment not reloaded"
adm enroll add dev-c --token-file "$SGA_RUN/dev-c.token" >/dev/null || die "enroll add"
[ "$(stat -c %a "$SGA_RUN/dev-c.token")" = 600 ] || die "the token file is not 0600"
adm enroll list | grep -qx dev-c || die "enroll list: dev-c"
expect_rc 1 adm enroll add dev-c --token-file "$SGA_RUN/dev-c.token" # never overwrites a token
(umask 077 && echo not-the-token >"$SGA_RUN/wrong.token")
expect_rc 3 sga_dev dev-c --timeout 3000 register --token-file "$SGA_RUN/wrong.token" # refused silently: no hint to an unauthenticated sender
sga_dev dev-c register --token-file "$SGA_RUN/dev-c.token" >/dev/null || die "dev-c register with its token"
adm enroll list | grep -qx dev-c && die "the token of dev-c is still listed after its use"
tok=$(adm enroll add dev-d 2>"$SGA_RUN/d.err")
[ ${#tok} -eq 32 ] || die "enroll add without a file prints the token"
grep -q "shown once" "$SGA_RUN/d.err" || die "enroll add says the token is shown once"
adm enroll del dev-d || die "enroll del"
expect_rc 3 adm enroll del dev-d
(umask 077 && echo "$tok" >"$SGA_RUN/dev-d.token")
expect_rc 3 sga_dev dev-d --timeout 3000 register --token-file - <"$SGA_RUN/dev-d.token"
log "ok: enroll add / list / del, one-time tokens"

expect_rc 3 adm device nosuch
expect_rc 2 adm frobnicate
expect_rc 2 "$ADM" -c /nonexistent.conf frobnicate # the command line first
grep -q "unknown command" "$SGA_RUN/err" || die "a bad command is reported before the config"
expect_rc 2 adm stats extra
expect_rc 2 adm enroll add
expect_rc 2 adm --bogus devices
expect_rc 2 "$ADM" -c /nonexistent.conf devices
sga_gw_stop
expect_rc 4 adm stats
sga_redis_stop
expect_rc 4 adm devices
grep -q "Usage: sga-admin" <<<"$("$ADM" --help)" || die "--help"
log "PASS test_admin"
