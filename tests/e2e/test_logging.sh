#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# One logging path: every line of the gateway process goes through a registered
# rte_log type (sga.gw, sga.cp, sga.dp, sga.store, sga.offload), so EAL's
# options govern all of it:
#   - --log-level=sga.cp:debug shows the control plane's debug lines and no
#     other component's;
#   - --log-level=sga.*:error silences every component's info lines, those
#     written before EAL was up included; [gateway] log_level = debug by SIGHUP
#     brings debug lines back;
#   - --syslog daemon sends the lines to syslog (a private /dev/log in a mount
#     namespace of its own), at their level, and DPDK 22.11 keeps them on
#     stderr as well.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
GWLOG=$SGA_RUN/gateway.log
has() { grep -qE -- "$1" "$2"; }

# Two devices exchange a message: registrations and a session to log about.
exchange() { # exchange A B
	sga_dev "$2" --timeout 20000 listen --wait 20000 --recv 1 >"$SGA_RUN/$2.out" 2>"$SGA_RUN/$2.err" &
	local L=$!
	sleep 0.3
	sga_dev "$1" --timeout 20000 connect "$2" --send hello >"$SGA_RUN/$1.out" 2>"$SGA_RUN/$1.err" ||
		{ cat "$SGA_RUN/$1.err" >&2; die "$1 -> $2"; }
	wait $L || { cat "$SGA_RUN/$2.err" >&2; die "$2 did not receive"; }
}

# 1. sga.cp at debug, everything else as configured (info).
SGA_GW_EAL="-l 0-1 --log-level=sga.cp:debug" sga_lab_up dev-a dev-b
exchange dev-a dev-b
has "^sga-cp: debug: device dev-a registered$" "$GWLOG" || die "no sga.cp debug line for a registration"
has "^sga-cp: debug: session [0-9a-f]{16} established between dev-a and dev-b$" "$GWLOG" ||
	die "no sga.cp debug line for the session"
has "^sga.dp: session [0-9a-f]{16} installed" "$GWLOG" && die "sga.dp logged at debug under sga.cp:debug"
for want in "^sga-cp: control plane: " "^sga.store: recovered " "^sga.dp: port 0" \
	"^sga-gateway: .* serving " "^sga-gateway: rsa: "; do
	has "$want" "$GWLOG" || die "the info line '$want' is missing at the default level"
done
offload_info=0
has "^sga.offload: " "$GWLOG" && offload_info=1
log "ok: --log-level=sga.cp:debug: $(grep -c '^sga-cp: debug: ' "$GWLOG") sga.cp debug lines, no sga.dp debug line"
sga_gw_stop
mv "$GWLOG" "$SGA_RUN/gateway-debug.log"

# 2. sga.* at error: no info line from any component. The lab's start waits
# for an info line, so this start waits for the stats file instead.
rm -f "$SGA_RUN/stats.json"
ip netns exec "$NS_GW" "$SGA_BUILD/gateway/sga-gateway" -c "$SGA_RUN/gateway.conf" -- -l 0-1 \
	"--log-level=sga.*:error" >"$GWLOG" 2>&1 &
GW_PID=$!
for _ in $(seq 1 600); do
	[ -s "$SGA_RUN/stats.json" ] && break
	kill -0 "$GW_PID" 2>/dev/null || { cat "$GWLOG" >&2; die "sga-gateway exited"; }
	sleep 0.05
done
sleep 0.5
exchange dev-b dev-a
if grep -E "^sga[-.](gw|gateway|cp|dp|store|offload): " "$GWLOG" | grep -vE "^[^:]*: error: "; then
	die "lines below error under --log-level=sga.*:error (above)"
fi
[ $offload_info -eq 0 ] || log "(sga.offload logged info at the default level and is silent now)"
log "ok: --log-level=sga.*:error: no info line from sga.gw, sga.cp, sga.dp, sga.store, sga.offload"

# ... and [gateway] log_level by SIGHUP sets every sga.* type.
sed -i 's/^\[gateway\]$/[gateway]\nlog_level = debug/' "$SGA_RUN/gateway.conf"
kill -HUP "$GW_PID"
sga_wait_for 30 has "^sga-gateway: reload of .*: log_level$" "$GWLOG" || { cat "$GWLOG" >&2; die "log_level not reloaded"; }
sga_dev dev-c register >/dev/null 2>&1 || die "dev-c register"
has "^sga-cp: debug: device dev-c registered$" "$GWLOG" || die "no sga.cp debug line after log_level = debug"
log "ok: SIGHUP with log_level = debug: $(grep -m1 'device dev-c registered' "$GWLOG")"
sga_gw_stop
sed -i '/^log_level = debug$/d' "$SGA_RUN/gateway.conf"

# 3. --syslog: a private /dev/log (nothing of the host's /dev changes), a
# listener on it, the gateway for a few seconds.
cat >"$SGA_RUN/syslog.sh" <<EOF
set -e
$(declare -f sga_wait_for)
mount -t tmpfs -o mode=755 sga-log-dev /dev
for n in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9; do
	IFS=: read -r nm ma mi <<<"\$n"; mknod -m 666 "/dev/\$nm" c "\$ma" "\$mi"
done
mkdir -p /dev/hugepages /dev/shm
mount -t hugetlbfs nodev /dev/hugepages
mount -t tmpfs tmpfs /dev/shm
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
s.settimeout(20)
with open(sys.argv[1], "w", buffering=1) as f:
    try:
        while True:
            f.write(s.recv(8192).decode(errors="replace").rstrip("\n") + "\n")
    except socket.timeout:
        pass
' "$SGA_RUN/syslog.txt" &
py=\$!
sga_wait_for 30 test -S /dev/log || true
rm -f "$SGA_RUN/stats.json"
ip netns exec "$NS_GW" "$SGA_BUILD/gateway/sga-gateway" -c "$SGA_RUN/gateway.conf" -- -l 0-1 \
	--syslog daemon >"$SGA_RUN/syslog-gw.log" 2>&1 &
gw=\$!
for _ in \$(seq 1 600); do [ -s "$SGA_RUN/stats.json" ] && break; sleep 0.05; done
sleep 1
kill -INT \$gw
wait \$gw
# The listener may lag behind on a loaded machine: its last line, then stop it.
sga_wait_for 30 grep -q "sga-gateway: stopping" "$SGA_RUN/syslog.txt" || true
kill \$py
EOF
if ! unshare -m --propagation private bash "$SGA_RUN/syslog.sh"; then
	die "the --syslog run failed (see $SGA_RUN/syslog-gw.log)"
fi
# <30>: facility daemon (3 << 3) + rte_log's INFO (7) - 1.
has "^<30>.*sga-gateway: .* serving " "$SGA_RUN/syslog.txt" || { cat "$SGA_RUN/syslog.txt" >&2; die "no serving line in syslog (daemon.info)"; }
has "^<30>.*sga-cp: control plane: " "$SGA_RUN/syslog.txt" || die "no sga.cp line in syslog"
has "^<30>.*sga.dp: port 0" "$SGA_RUN/syslog.txt" || die "no sga.dp line in syslog"
has "^<30>.*sga-gateway: stopping" "$SGA_RUN/syslog.txt" || die "no stopping line in syslog"
has "^sga-gateway: .* serving " "$SGA_RUN/syslog-gw.log" || die "DPDK 22.11 writes syslog lines to stderr too"
log "ok: --syslog daemon: $(grep -c . "$SGA_RUN/syslog.txt") lines in syslog, e.g. $(grep -m1 'serving' "$SGA_RUN/syslog.txt" | cut -c1-60)..."
log "PASS test_logging"
