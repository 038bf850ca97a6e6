#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# One gateway, two profiles ([gateway] groups = ffdhe2048, x25519): a package
# file and fingerprint per profile; two devices of each (one x25519 device
# fetches its package by pin with --group x25519, the PKG_REQ group byte);
# sga-admin shows each device's group; a session within each profile relays
# messages both ways, every one exactly once and in order; a connect across
# the profiles is refused with NO_COMMON_GROUP, said so on the device's
# stderr, with exit status 5, and leaves no session behind.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
export SGA_GROUP="ffdhe2048, x25519"
# Until the gateway serves the x25519 profile next to ffdhe2048 (the protocol
# library's part, wt/ec), there is nothing to test: said loudly, with the
# gateway's reason, and the test runs by itself once it does.
if ! sga_gw_serves "$SGA_GROUP" 2>"$SGA_RUN/probe.err"; then
	log "SKIP test_mixed_profile: this build's gateway does not serve groups = $SGA_GROUP:"
	cat "$SGA_RUN/probe.err" >&2
	exit 0
fi
N=${SGA_E2E_MESSAGES:-2000}
ADM=$SGA_BUILD/gateway/sga-admin
adm() { "$ADM" -c "$SGA_RUN/gateway.conf" "$@"; }

sga_lab_up
FF_PKG=$(sga_pkg ffdhe2048)
X_PKG=$(sga_pkg x25519)
[ "$FF_PKG" = "$SGA_RUN/keys/gateway.pkg" ] || die "the first profile's package is [gateway] package"
for g in ffdhe2048 x25519; do
	grep -q "package $g $(sga_pkg $g), fingerprint [0-9a-f]\{64\}" "$SGA_RUN/gateway.log" ||
		{ cat "$SGA_RUN/gateway.log" >&2; die "no package line for $g"; }
	[ -s "$(sga_pkg $g)" ] || die "no package file for $g"
done
cmp -s "$FF_PKG" "$X_PKG" && die "both profiles wrote the same package"
X_PIN=$("$SGA_BUILD/device/sga-device" --package "$X_PKG" fingerprint) || die "fingerprint of $X_PKG"
grep -q "fingerprint $X_PIN" "$SGA_RUN/gateway.log" || die "the x25519 file's fingerprint is not the logged one"
log "two packages, each with its fingerprint in the log"

SGA_DEV_PKG=$FF_PKG sga_dev ff-1 register || die "ff-1 register"
SGA_DEV_PKG=$FF_PKG sga_dev ff-2 register || die "ff-2 register"
SGA_DEV_PKG=$X_PKG sga_dev x-1 register || die "x-1 register"
# x-2 has only the pin: the package comes by PKG_REQ naming the group.
ip netns exec "$NS_DEV" "$SGA_BUILD/device/sga-device" --gateway "$DEV_GATEWAY" --id x-2 \
	--state "$SGA_RUN/x-2.state" --pin "$X_PIN" --group x25519 register ||
	die "x-2 register by pin with --group x25519"
# Without --group, PKG_REQ gets the first profile's package: not the pinned one.
rc=0
ip netns exec "$NS_DEV" "$SGA_BUILD/device/sga-device" --gateway "$DEV_GATEWAY" --id x-3 \
	--state "$SGA_RUN/x-3.state" --pin "$X_PIN" register 2>"$SGA_RUN/x3.err" || rc=$?
[ "$rc" -eq 5 ] || { cat "$SGA_RUN/x3.err" >&2; die "a pin of the x25519 package fetched without --group: exit $rc, not 5"; }
grep -q "ffdhe2048 package .* is not the pinned one" "$SGA_RUN/x3.err" ||
	{ cat "$SGA_RUN/x3.err" >&2; die "the refusal does not name the profile it got"; }
log "registered ff-1, ff-2 (ffdhe2048) and x-1, x-2 (x25519; x-2 by pin and --group)"

adm --json devices >"$SGA_RUN/devices.json" || die "sga-admin devices"
for d in ff-1:ffdhe2048 ff-2:ffdhe2048 x-1:x25519 x-2:x25519; do
	got=$(python3 -c 'import json,sys; print([x["group"] for x in json.load(open(sys.argv[1]))["devices"] if x["id"] == sys.argv[2]][0])' \
		"$SGA_RUN/devices.json" "${d%%:*}")
	[ "$got" = "${d#*:}" ] || die "sga-admin: ${d%%:*} has group '$got', not ${d#*:}"
done
adm devices | grep -q "^x-1 .* x25519 " || { adm devices >&2; die "sga-admin devices: no group column"; }
log "sga-admin shows each device's group"

SGA_DEV_PKG=$FF_PKG SGA_EX_I=ff-1 SGA_EX_J=ff-2 sga_exchange "$N"
log "ffdhe2048: $N messages each way, exactly once and in order"
SGA_DEV_PKG=$X_PKG SGA_EX_I=x-1 SGA_EX_J=x-2 sga_exchange "$N"
log "x25519: $N messages each way, exactly once and in order"

# Across the profiles: refused at negotiation, in the initiator's words.
for pair in "ff-1 x-1 $FF_PKG" "x-2 ff-2 $X_PKG"; do
	read -r from to pkg <<<"$pair"
	set -- "$from" "$to" "$pkg"
	rc=0
	SGA_DEV_PKG=$3 sga_dev "$1" --timeout 10000 connect "$2" --send hi >"$SGA_RUN/x.out" 2>"$SGA_RUN/x.err" || rc=$?
	[ "$rc" -eq 5 ] || { cat "$SGA_RUN/x.err" >&2; die "$1 -> $2 across profiles: exit $rc, not 5 (refused)"; }
	grep -q "NO_COMMON_GROUP" "$SGA_RUN/x.err" ||
		{ cat "$SGA_RUN/x.err" >&2; die "$1 -> $2: the refusal does not say NO_COMMON_GROUP"; }
	log "$1 -> $2 refused: $(grep NO_COMMON_GROUP "$SGA_RUN/x.err" | head -1)"
done
sleep 0.3 # one stats-file refresh
sessions=$(sga_stat controlplane sessions)
[ "$sessions" -eq 2 ] || die "expected the two same-profile sessions, got $sessions"
log "PASS test_mixed_profile"
