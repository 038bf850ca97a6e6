#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The production set-up end to end: a Redis with requirepass and an ACL user the
# gateway authenticates as ([redis] user, password_file), allow-list enrollment
# with one-time tokens from sga-admin, read from a file or stdin (sga-device
# --token-file).
#   - a wrong password stops the gateway at start with a clear error;
#   - a password file readable by others is refused (--check);
#   - no token: refused; the listed token: registered, entry gone; reused: refused;
#   - Redis restarts: the gateway's new connections authenticate again.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
GW=$SGA_BUILD/gateway/sga-gateway

export SGA_REDIS_PASS=admin-$RANDOM$RANDOM
export SGA_ENROLLMENT=allowlist
export SGA_GW_REDIS_USER=sga
export SGA_GW_REDIS_PASSWORD_FILE=$SGA_RUN/redis.password
umask 077

sga_hugepages
sga_net_up
sga_redis_start
sga_cli ACL SETUSER sga on '>sga-pw-1' '~sga:*' '+@all' | grep -q OK || die "ACL SETUSER"

# A password file others may read: refused before anything starts.
conf=$(sga_gw_config)
mkdir -p "$SGA_RUN/keys"
"$GW" -c "$conf" --init-keys >>"$SGA_RUN/gateway.log" 2>&1 || die "--init-keys"
echo sga-pw-1 >"$SGA_GW_REDIS_PASSWORD_FILE"
chmod 644 "$SGA_GW_REDIS_PASSWORD_FILE"
if "$GW" -c "$conf" --check >"$SGA_RUN/check.out" 2>&1; then die "--check accepted a 0644 password file"; fi
grep -q "password_file .*readable or writable by group or others" "$SGA_RUN/check.out" ||
	{ cat "$SGA_RUN/check.out" >&2; die "no clear error for a 0644 password file"; }
log "ok: a password file readable by others is refused"

# A wrong password: the gateway says so and stops.
echo wrong-password >"$SGA_GW_REDIS_PASSWORD_FILE"
chmod 600 "$SGA_GW_REDIS_PASSWORD_FILE"
rc=0
timeout 60 ip netns exec "$NS_GW" "$GW" -c "$conf" -- -l 0-1 >"$SGA_RUN/wrong.log" 2>&1 || rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || { cat "$SGA_RUN/wrong.log" >&2; die "gateway with a wrong Redis password: exit $rc"; }
grep -q "refused authentication as user sga" "$SGA_RUN/wrong.log" &&
	grep -q "stopping" "$SGA_RUN/wrong.log" ||
	{ cat "$SGA_RUN/wrong.log" >&2; die "no clear error for a wrong Redis password"; }
grep -q wrong-password "$SGA_RUN/wrong.log" && die "the password was logged"
log "ok: wrong Redis password -> $(grep -m1 'refused authentication' "$SGA_RUN/wrong.log")"

# The right one.
echo sga-pw-1 >"$SGA_GW_REDIS_PASSWORD_FILE"
sga_gw_start
grep -q "enrollment = open" "$SGA_RUN/gateway.log" && die "open-enrollment warning under allowlist"
sga_cli CLIENT LIST | grep -q " user=sga " || die "the gateway does not connect as user sga"

token_for() { # token_for ID FILE: a fresh token in FILE (0600), listed for ID
	rm -f "$2"
	"$SGA_BUILD/gateway/sga-admin" -c "$SGA_RUN/gateway.conf" enroll add "$1" --token-file "$2" >/dev/null ||
		die "sga-admin enroll add $1 (as the ACL user)"
}

# A refused registration gets no answer (PROTOCOL.md 13): the device times out.
rc=0
sga_dev meter-a -t 2000 register 2>"$SGA_RUN/err" || rc=$?
[ $rc -eq 3 ] || { cat "$SGA_RUN/err" >&2; die "unlisted device without a token: exit $rc, want 3"; }
log "ok: no token -> $(head -1 "$SGA_RUN/err")"

token_for meter-a "$SGA_RUN/a.token"
sga_dev meter-a --token-file "$SGA_RUN/a.token" register || die "meter-a with its token"
[ "$(sga_cli EXISTS 'sga:{enroll:meter-a}')" = 0 ] || die "the used token is still listed"
token_for meter-b "$SGA_RUN/b.token"
sga_dev meter-b --token-file - register <"$SGA_RUN/b.token" || die "meter-b, token on stdin"
rc=0
sga_dev meter-c -t 2000 --token-file "$SGA_RUN/a.token" register 2>"$SGA_RUN/err" || rc=$?
[ $rc -eq 3 ] || die "a spent token for an unlisted identity: exit $rc, want 3"
log "ok: tokens from a file and from stdin; spent token refused"

# Redis restarts (same data, same users): the gateway authenticates again.
sga_redis_stop
sga_redis_start_existing
sga_cli ACL SETUSER sga on '>sga-pw-1' '~sga:*' '+@all' | grep -q OK || die "ACL SETUSER again"
token_for meter-d "$SGA_RUN/d.token"
ok=0
for _ in $(seq 1 20); do
	if sga_dev meter-d --token-file "$SGA_RUN/d.token" -t 2000 register 2>/dev/null; then
		ok=1
		break
	fi
	sleep 0.5
done
[ $ok -eq 1 ] || die "no registration after Redis came back"
sga_cli CLIENT LIST | grep -q " user=sga " || die "reconnected, but not as user sga"
log "PASS test_enroll"
