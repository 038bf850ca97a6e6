#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Control-plane threads run on the CPUs the data plane leaves free, not on the
# main lcore's CPU they would inherit from EAL. The gateway runs with both
# lcores on CPU 0 (--lcores 0@0,1@0), so its workers must be on the others.
# Then the operator's telemetry command, as OPERATIONS.md gives it.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
[ "$(nproc)" -ge 2 ] || { log "SKIP test_affinity: one CPU"; exit 0; }

SGA_GW_EAL="--lcores 0@0,1@0" sga_lab_up dev-a
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
# The telemetry command of docs/OPERATIONS.md, "Watching it", as written there.
echo /sga/stats | dpdk-telemetry.py -f "sga$SGA_TAG" >"$SGA_RUN/tel.out" 2>&1 ||
	{ cat "$SGA_RUN/tel.out" >&2; die "dpdk-telemetry.py -f sga$SGA_TAG"; }
grep -q '"relayed"' "$SGA_RUN/tel.out" || { cat "$SGA_RUN/tel.out" >&2; die "/sga/stats has no counters"; }
log "ok: /sga/stats through dpdk-telemetry.py"
log "PASS test_affinity"
