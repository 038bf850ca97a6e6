#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# `meson install` into a DESTDIR puts every product file where an operator and a
# device maker expect it; a program built against the installed SDK through
# pkg-config (the packaged example, as its comment says to build it) registers
# with a real gateway; the installed configuration parses, and the packaged
# systemd unit names the installed binary and configuration.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
DEST=$SGA_RUN/dest
DESTDIR=$DEST meson install -C "$SGA_BUILD" --quiet >"$SGA_RUN/install.log" 2>&1 ||
	{ cat "$SGA_RUN/install.log" >&2; die "meson install"; }
prefix=$(meson introspect "$SGA_BUILD" --buildoptions | python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
P=$DEST$prefix
pc=$(find "$P" -name sga-client.pc | head -1)
[ -n "$pc" ] || die "no sga-client.pc installed"
for f in bin/sga-gateway bin/sga-admin bin/sga-device include/sga/sga_client.h share/man/man8/sga-gateway.8 \
	share/man/man8/sga-admin.8 \
	share/man/man1/sga-device.1 share/doc/sga/OPERATIONS.md share/doc/sga/examples/sga_hello.c \
	lib/systemd/system/sga-gateway.service; do
	[ -e "$P/$f" ] || die "not installed: $prefix/$f"
done
conf=$(find "$DEST" -path '*/sga/gateway.conf' | head -1)
[ -n "$conf" ] || die "no sga/gateway.conf installed"
[ ! -e "$P/bin/sga-demo" ] || die "sga-demo is installed as a product binary"
ls "$(dirname "$pc")"/../libsga-client.so.0 >/dev/null || die "no libsga-client.so.0"
log "installed under $DEST$prefix"

# Man pages render without warnings.
for m in "$P/share/man/man8/sga-gateway.8" "$P/share/man/man8/sga-admin.8" "$P/share/man/man1/sga-device.1"; do
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null) || die "man $m"
	[ -z "$w" ] || die "man $m: $w"
done

# The unit starts the installed binary with the installed configuration.
unit=$P/lib/systemd/system/sga-gateway.service
grep -q "^ExecStart=$prefix/bin/sga-gateway -c .*/sga/gateway.conf$" "$unit" || die "ExecStart in $unit"
grep -q "^Type=notify$" "$unit" || die "Type=notify in $unit"
# systemd's own check; the one complaint allowed is the binary's absence from
# $prefix/bin (it is under DESTDIR).
systemd-analyze verify --man=no "$unit" >"$SGA_RUN/verify.out" 2>&1 || true
if grep -v "Command $prefix/bin/sga-gateway is not executable" "$SGA_RUN/verify.out" | grep .; then
	die "systemd-analyze verify $unit"
fi

# The installed configuration parses (its keys' paths moved into the run dir).
sed "s#/var/lib/sga#$SGA_RUN/varlib#; s#/run/sga#$SGA_RUN#" "$conf" >"$SGA_RUN/installed.conf"
"$P/bin/sga-gateway" -c "$SGA_RUN/installed.conf" --init-keys >"$SGA_RUN/init.out" 2>&1 ||
	{ cat "$SGA_RUN/init.out" >&2; die "--init-keys with the installed configuration"; }
"$P/bin/sga-gateway" -c "$SGA_RUN/installed.conf" --check >"$SGA_RUN/check.out" 2>&1 ||
	{ cat "$SGA_RUN/check.out" >&2; die "--check of the installed configuration"; }
log "the installed configuration is valid"

# Build the example against the installed SDK, as a device maker would.
export PKG_CONFIG_SYSROOT_DIR=$DEST PKG_CONFIG_PATH=$(dirname "$pc")
cc -Wall -Wextra -Werror "$P/share/doc/sga/examples/sga_hello.c" $(pkg-config --cflags --libs sga-client) \
	-o "$SGA_RUN/sga-hello" || die "building against the installed SDK"
log "built sga-hello with: $(pkg-config --cflags --libs sga-client)"

# ... and it works: registration through a real gateway.
sga_lab_up
ip netns exec "$NS_DEV" env LD_LIBRARY_PATH="$(dirname "$(dirname "$pc")")" "$SGA_RUN/sga-hello" \
	"$GW_IP" "$GW_PORT" hello-1 "$SGA_RUN/hello-1.state" "$SGA_RUN/keys/gateway.pkg" ||
	die "sga-hello register through the gateway"
log "PASS test_install"
