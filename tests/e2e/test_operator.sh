#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# What an operator sees of a running gateway. Control-plane threads run on the
# CPUs the data plane leaves free, not on the main lcore's CPU they would
# inherit from EAL: the gateway runs with both lcores on CPU 0
# (--lcores 0@0,1@0), so its workers must be on the others. Then the telemetry
# command as OPERATIONS.md gives it, a stats file that cannot be written, and
# systemd's readiness protocol (READY=1 once serving, STOPPING=1 at SIGTERM).
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
mkdir -p "$SGA_RUN"
# systemd's readiness protocol: a datagram socket in $NOTIFY_SOCKET, as systemd
# passes it to a Type=notify unit; the listener writes what it receives.
python3 - "$SGA_RUN/notify.sock" "$SGA_RUN/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(300)  # a slow start on a loaded machine; it ends at STOPPING=1
with open(sys.argv[2], "a", buffering=1) as log:
    try:
        while True:
            msg = s.recv(4096).decode()
            log.write(msg.replace("\n", " ") + "\n")
            if "STOPPING=1" in msg:
                break
    except socket.timeout:
        pass
PY
NOTIFY_PID=$!
sga_wait_for 30 test -S "$SGA_RUN/notify.sock" || die "the notify listener did not start"
if [ "$(nproc)" -ge 2 ]; then eal="--lcores 0@0,1@0"; else eal="-l 0-1"; fi
NOTIFY_SOCKET=$SGA_RUN/notify.sock SGA_GW_EAL=$eal sga_lab_up dev-a
grep -q "READY=1" "$SGA_RUN/notify.log" || die "no READY=1 on \$NOTIFY_SOCKET"
log "ok: READY=1 on \$NOTIFY_SOCKET"
if [ "$(nproc)" -ge 2 ]; then
python3 - "$GW_PID" <<'PY' || die "control-plane threads on the data plane's CPU"
import os, sys
pid = sys.argv[1]
def cpus(spec):
    out = set()
    for part in spec.split(","):
        a, _, b = part.partition("-")
        out.update(range(int(a), int(b or a) + 1))
    return out
seen = 0
for tid in os.listdir(f"/proc/{pid}/task"):
    comm = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
    if not comm.startswith("sga-cp-"):
        continue
    allowed = next(l.split(":")[1].strip() for l in open(f"/proc/{pid}/task/{tid}/status")
                   if l.startswith("Cpus_allowed_list"))
    print(f"{comm}: CPUs {allowed}")
    if 0 in cpus(allowed):
        sys.exit(1)
    seen += 1
sys.exit(0 if seen else 2)
PY
else
	log "one CPU: affinity not checked"
fi
# The telemetry command of docs/OPERATIONS.md, "Watching it", as written there.
echo /sga/stats | dpdk-telemetry.py -f "sga$SGA_TAG" >"$SGA_RUN/tel.out" 2>&1 ||
	{ cat "$SGA_RUN/tel.out" >&2; die "dpdk-telemetry.py -f sga$SGA_TAG"; }
grep -q '"relayed"' "$SGA_RUN/tel.out" || { cat "$SGA_RUN/tel.out" >&2; die "/sga/stats has no counters"; }
log "ok: /sga/stats through dpdk-telemetry.py"
# An unwritable stats file stops the start with one line naming it.
sed "s#^stats_file = .*#stats_file = /nonexistent/sga/stats.json#; s#^dir = .*#dir = $SGA_RUN/store-b#; s#--file-prefix=sga$SGA_TAG#--file-prefix=sga${SGA_TAG}b#" \
	"$SGA_RUN/gateway.conf" >"$SGA_RUN/bad-stats.conf"
rc=0
timeout 30 ip netns exec "$NS_GW" "$SGA_BUILD/gateway/sga-gateway" -c "$SGA_RUN/bad-stats.conf" -- -l 0-1 \
	>"$SGA_RUN/bad-stats.out" 2>"$SGA_RUN/bad-stats.err" || rc=$?
[ $rc -ne 0 ] || die "a gateway with an unwritable stats_file started"
grep -q "stats_file = /nonexistent/sga/stats.json: cannot write it" "$SGA_RUN/bad-stats.err" ||
	{ cat "$SGA_RUN/bad-stats.err" >&2; die "no clear error for an unwritable stats_file"; }
log "ok ($rc): $(grep stats_file "$SGA_RUN/bad-stats.err")"
sga_gw_stop
wait "$NOTIFY_PID" 2>/dev/null || true
grep -q "STOPPING=1" "$SGA_RUN/notify.log" || die "no STOPPING=1 on \$NOTIFY_SOCKET at SIGTERM"
log "ok: STOPPING=1 at SIGTERM"
log "PASS test_operator"
