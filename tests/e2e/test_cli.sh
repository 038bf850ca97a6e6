#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Bad configuration files and bad command lines: one clear error line naming
# the problem, a non-zero exit, and nothing started.
source "$(dirname "$0")/../../scripts/lab.sh"
trap 'rm -rf "$SGA_RUN"' EXIT
GW=$SGA_BUILD/gateway/sga-gateway
DEV=$SGA_BUILD/device/sga-device

# expect_fail WANT_TEXT CMD...: CMD must exit non-zero and print WANT_TEXT on stderr.
expect_fail() {
	local want=$1 rc=0
	shift
	"$@" >"$SGA_RUN/out" 2>"$SGA_RUN/err" || rc=$?
	[ $rc -ne 0 ] || die "accepted: $*"
	grep -qF -- "$want" "$SGA_RUN/err" || { cat "$SGA_RUN/err" >&2; die "error for '$*' lacks '$want'"; }
	log "ok ($rc): $* -> $(head -1 "$SGA_RUN/err")"
}

conf() { printf '%b' "$1" >"$SGA_RUN/bad.conf"; echo "$SGA_RUN/bad.conf"; }

expect_fail "cannot open" "$GW" -c /nonexistent/gw.conf
expect_fail "bad.conf:2: unknown key 'udp_prot' in [gateway]" "$GW" -c "$(conf '[gateway]\nudp_prot = 7000\n')"
expect_fail "bad.conf:1: unknown section [gatway]" "$GW" -c "$(conf '[gatway]\n')"
expect_fail "bad.conf:3: group: unknown group 'ffdhe1024'" "$GW" -c "$(conf '[gateway]\n\ngroup = ffdhe1024\n')"
expect_fail "bad.conf:2: udp_port: '0' is not an integer in [1, 65535]" "$GW" -c "$(conf '[gateway]\nudp_port = 0\n')"
expect_fail "bad.conf:2: suites: unknown suite 'rc4'" "$GW" -c "$(conf '[gateway]\nsuites = rc4\n')"
expect_fail "bad.conf:2: groups: unknown group 'curve448'" "$GW" -c "$(conf '[gateway]\ngroups = ffdhe2048, curve448\n')"
expect_fail "bad.conf:3: 'groups' and 'group' both set" "$GW" -c "$(conf '[gateway]\ngroup = ffdhe2048\ngroups = ffdhe3072\n')"
expect_fail "rsa_key = $SGA_RUN/none.pem: no such file; create it with --init-keys" "$GW" -c "$(conf "[gateway]\nrsa_key = $SGA_RUN/none.pem\n")" --check
# A key of the wrong type is named as such.
openssl genpkey -algorithm X25519 -out "$SGA_RUN/x25519.pem" 2>/dev/null
expect_fail "rsa_key = $SGA_RUN/x25519.pem: holds an X25519 private key, not an RSA private key" \
	"$GW" -c "$(conf "[gateway]\nrsa_key = $SGA_RUN/x25519.pem\n")" --check
expect_fail "unrecognized option" "$GW" --bogus
expect_fail "unexpected argument 'extra'" "$GW" -c "$SGA_RUN/bad.conf" extra

expect_fail "unknown command 'fly'" "$DEV" -i d -s "$SGA_RUN/d.state" -p x fly
expect_fail "no command given" "$DEV" -i d
expect_fail "--gateway 'nowhere': expected IPv4:PORT" "$DEV" -g nowhere -i d -s s -p p register
expect_fail "unknown suite 'des'" "$DEV" --suites des -i d -s s -p p register
expect_fail "--id ID is required" "$DEV" -s s -p p register
expect_fail "missing PEER" "$DEV" -i d -s s -p p connect
expect_fail "unknown option '--frobnicate'" "$DEV" --frobnicate
# Enrollment tokens come from a file or stdin, never from argv (ps shows it).
expect_fail "--token is not accepted" "$DEV" -i d -s s -p p --token SECRET register
grep -q SECRET "$SGA_RUN/err" && die "the rejected token was echoed"
printf 'tok-1\n' >"$SGA_RUN/tok"
chmod 644 "$SGA_RUN/tok"
expect_fail "readable or writable by group or others" "$DEV" -i d -s s -p p --token-file "$SGA_RUN/tok" register
chmod 600 "$SGA_RUN/tok"
expect_fail "does not apply to connect" "$DEV" -i d -s s -p p --token-file "$SGA_RUN/tok" connect peer
expect_fail "No such file" "$DEV" -i d -s s -p p --token-file "$SGA_RUN/none.tok" register
: >"$SGA_RUN/empty.tok"
chmod 600 "$SGA_RUN/empty.tok"
expect_fail "no token on its first line" "$DEV" -i d -s s -p p --token-file "$SGA_RUN/empty.tok" register
printf '%040d\n' 0 >"$SGA_RUN/long.tok"
chmod 600 "$SGA_RUN/long.tok"
expect_fail "token longer than 32 bytes" "$DEV" -i d -s s -p p --token-file - register <"$SGA_RUN/long.tok"

# Open enrollment only when asked for, and then a warning (--check as at start).
mkdir -p "$SGA_RUN/keys"
conf "[gateway]\nrsa_key = $SGA_RUN/keys/rsa.pem\ntrapdoor_key = $SGA_RUN/keys/td.pem\npackage = $SGA_RUN/keys/gw.pkg\nmaster_key = $SGA_RUN/keys/master.key\n" >/dev/null
cp "$SGA_RUN/bad.conf" "$SGA_RUN/allow.conf"
"$GW" -c "$SGA_RUN/allow.conf" --init-keys >/dev/null || die "--init-keys"
"$GW" -c "$SGA_RUN/allow.conf" --check >"$SGA_RUN/out" 2>&1 || { cat "$SGA_RUN/out" >&2; die "--check"; }
grep -q "enrollment = open" "$SGA_RUN/out" && die "warned about open enrollment without it"
printf 'enrollment = open\n' >>"$SGA_RUN/bad.conf"
"$GW" -c "$SGA_RUN/bad.conf" --check >"$SGA_RUN/out" 2>&1 || { cat "$SGA_RUN/out" >&2; die "--check (open)"; }
grep -q "warning: \[gateway\] enrollment = open: any device may register" "$SGA_RUN/out" ||
	{ cat "$SGA_RUN/out" >&2; die "no warning for open enrollment"; }
log "ok: allow-list by default; open enrollment warns"

# The EC profile's key files: missing, or of another type, each named.
ec_conf="[gateway]\ngroups = x25519\npackage = $SGA_RUN/keys/gw.pkg\nmaster_key = $SGA_RUN/keys/master.key\n"
expect_fail "x25519_key = $SGA_RUN/none.pem: cannot open: No such file or directory; create it with --init-keys" \
	"$GW" -c "$(conf "${ec_conf}x25519_key = $SGA_RUN/none.pem\n")" --check
expect_fail "x25519_key = $SGA_RUN/keys/rsa.pem: holds an RSA private key, not an X25519 private key" \
	"$GW" -c "$(conf "${ec_conf}x25519_key = $SGA_RUN/keys/rsa.pem\n")" --check
expect_fail "x25519_trapdoor_key = $SGA_RUN/keys/rsa.pem: holds an RSA private key" \
	"$GW" -c "$(conf "${ec_conf}x25519_key = $SGA_RUN/x25519.pem\nx25519_trapdoor_key = $SGA_RUN/keys/rsa.pem\n")" --check

# --init-keys on a fresh machine: the key folder does not exist yet; it is made
# (0700), and the package devices pin is written, so the README's next step works.
sed "s#run/keys#$SGA_RUN/fresh/keys#" "$SGA_ROOT/configs/gateway-af-packet.conf" >"$SGA_RUN/fresh.conf"
"$GW" -c "$SGA_RUN/fresh.conf" --init-keys >"$SGA_RUN/out" 2>&1 || { cat "$SGA_RUN/out" >&2; die "--init-keys on a fresh folder"; }
for f in gateway-rsa.pem gateway-trapdoor.pem master.key gateway.pkg; do
	[ -s "$SGA_RUN/fresh/keys/$f" ] || die "--init-keys did not create keys/$f"
done
[ "$(stat -c %a "$SGA_RUN/fresh/keys")" = 700 ] || die "key folder mode is not 0700"
[ "$(stat -c %a "$SGA_RUN/fresh/keys/master.key")" = 600 ] || die "master key mode is not 0600"
"$GW" -c "$SGA_RUN/fresh.conf" --init-keys | grep -q "exists: .*master.key" || die "--init-keys twice"
log "ok: --init-keys makes the key folder and the package"

grep -q "Usage: sga-gateway" <<<"$("$GW" --help)" || die "sga-gateway --help"
grep -q "sga-gateway" <<<"$("$GW" --version)" || die "sga-gateway --version"
grep -q "Usage: sga-device" <<<"$("$DEV" --help)" || die "sga-device --help"
grep -q "sga-device" <<<"$("$DEV" --version)" || die "sga-device --version"
log "PASS test_cli"
