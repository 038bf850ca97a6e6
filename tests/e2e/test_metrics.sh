#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The Prometheus endpoint, scraped with a real HTTP client (curl): the text is
# well-formed exposition format (each family once, contiguous, HELP and TYPE
# first), the counters move with traffic per lcore and per drop reason, and
# the stats file, DPDK telemetry and /metrics give the same figures (one
# snapshot renders all three). A reload moves the endpoint.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
PORT=9464
sga_hugepages
sga_net_up
ip -n "$NS_GW" link set lo up
sga_redis_start
SGA_METRICS_LISTEN=127.0.0.1:$PORT sga_gw_start
scrape() { ip netns exec "$NS_GW" curl -sf --max-time 5 "http://127.0.0.1:${2:-$PORT}/metrics" >"$1"; }
metric() { # metric FILE 'name{labels}': the sample's value
	awk -v k="$2" '$1 == k {print $2; found=1} END {if (!found) print "missing"}' "$1"
}

scrape "$SGA_RUN/m0.txt" || die "no /metrics on 127.0.0.1:$PORT"
python3 - "$SGA_RUN/m0.txt" <<'PY' || die "/metrics is not well-formed exposition text"
import re, sys
seen, cur, typed = set(), None, {}
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? [0-9]+$')
for n, line in enumerate(open(sys.argv[1]), 1):
    line = line.rstrip("\n")
    if line.startswith("# HELP ") or line.startswith("# TYPE "):
        name = line.split()[2]
        if line.startswith("# TYPE "):
            if name in seen: sys.exit(f"line {n}: family {name} appears twice")
            seen.add(name); cur = name; typed[name] = line.split()[3]
        continue
    m = sample.match(line)
    if not m: sys.exit(f"line {n}: not a sample: {line!r}")
    if m.group(1) != cur: sys.exit(f"line {n}: {m.group(1)} outside its family ({cur})")
    if typed[cur] == "counter" and not cur.endswith("_total"): sys.exit(f"{cur}: counter without _total")
print(f"{len(seen)} families")
PY
[ "$(metric "$SGA_RUN/m0.txt" 'sga_dataplane_relayed_total{lcore="0"}')" = 0 ] || die "relayed before traffic"
grep -q '^sga_dataplane_dropped_total{reason="hop_auth",lcore="0"} 0$' "$SGA_RUN/m0.txt" || die "drop reasons per lcore"
grep -q '^sga_engine_info{op="aead",suite="aes-128-gcm",engine=".*"} 1$' "$SGA_RUN/m0.txt" || die "engine info"
log "ok: /metrics well-formed ($(grep -c '^# TYPE' "$SGA_RUN/m0.txt") families)"

for id in dev-a dev-b; do sga_dev "$id" register >/dev/null || die "$id register"; done
sga_dev dev-b --timeout 20000 listen --wait 20000 --recv 200 --count 200 >"$SGA_RUN/b.out" 2>&1 &
B=$!
sleep 0.3
sga_dev dev-a --timeout 20000 connect dev-b --count 200 --recv 200 >"$SGA_RUN/a.out" 2>"$SGA_RUN/a.err" ||
	{ cat "$SGA_RUN/a.err" >&2; die "exchange"; }
wait $B || die "dev-b"
# A forged DATA_UP frame: moves a drop reason.
python3 - "$GW_IP" "$GW_PORT" <<'PY' | ip netns exec "$NS_DEV" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
data = sys.stdin.buffer.read()
s.sendto(data, (sys.argv[1], int(sys.argv[2])))' "$GW_IP" "$GW_PORT"
import sys
# version 1, DATA_UP (0x30), body_len, then a session id nobody has (and zeros)
body = b"\x11" * 8 + b"\x00" * 48
sys.stdout.buffer.write(bytes([1, 0x30, 0, len(body)]) + body)
PY
sleep 0.5 # one stats-file refresh and quiet counters
scrape "$SGA_RUN/m1.txt" || die "second scrape"
echo /sga/stats | dpdk-telemetry.py -f "sga$SGA_TAG" >"$SGA_RUN/tel.txt" 2>&1 || die "telemetry"
python3 - "$SGA_RUN/m1.txt" "$SGA_RUN/stats.json" "$SGA_RUN/tel.txt" <<'PY' || die "the three renderings differ"
import json, re, sys
prom = {}
for line in open(sys.argv[1]):
    if line.startswith("#"): continue
    k, v = line.rsplit(" ", 1); prom[k] = int(v)
st = json.load(open(sys.argv[2]))
tel = json.loads(re.search(r'\{"/sga/stats".*\}', open(sys.argv[3]).read()).group(0))["/sga/stats"]
def lsum(name): return sum(v for k, v in prom.items() if k.startswith(name + "{"))
# Only what background frames (IPv6 neighbour discovery, ...) cannot move
# between the three reads: rx and the ethertype drops can.
for name in ("relayed", "data_in", "acked_msgs", "ctrl_in"):
    a, b, c = lsum(f"sga_dataplane_{name}_total"), st["dataplane"][name], tel[name]
    if not (a == b == c) or a == 0: sys.exit(f"{name}: prometheus {a}, stats file {b}, telemetry {c}")
    print(f"{name}: {a} everywhere")
for reason in ("unknown_session", "hop_auth", "hop_replay"):
    a = sum(v for k, v in prom.items() if k.startswith(f'sga_dataplane_dropped_total{{reason="{reason}",'))
    if a != st["dataplane"]["drop_" + reason] or a != tel["drop_" + reason]:
        sys.exit(f"drop {reason}: prometheus {a}, stats file {st['dataplane']['drop_' + reason]}")
for k in ("handled", "sessions", "registered"):
    if prom[f"sga_controlplane_{k}_total"] != st["controlplane"][k] or st["controlplane"][k] != tel["cp_" + k]:
        sys.exit(f"controlplane {k} differs")
if prom["sga_store_stored_total"] != st["store"]["stored"]: sys.exit("store stored differs")
PY
[ "$(metric "$SGA_RUN/m1.txt" 'sga_dataplane_relayed_total{lcore="0"}')" -ge 400 ] || die "relayed did not move on lcore 0"
moved=$(diff <(grep '^sga_dataplane_dropped_total' "$SGA_RUN/m0.txt") <(grep '^sga_dataplane_dropped_total' "$SGA_RUN/m1.txt") |
	grep '^>' | grep -o 'reason="[a-z_]*"' | tr '\n' ' ' || true)
echo "$moved" | grep -q 'reason="unknown_session"' || die "the forged frame's drop reason did not move (moved: $moved)"
log "drop reasons that moved: $moved"
log "ok: counters moved with traffic; /metrics, the stats file and telemetry agree"

# A reload moves the endpoint; a bad address is refused and the old one stays.
sed -i "s/^metrics_listen = .*/metrics_listen = 127.0.0.1:$((PORT + 1))/" "$SGA_RUN/gateway.conf"
kill -HUP "$GW_PID"
sga_wait_for 30 grep -q "reload of .*: metrics_listen" "$SGA_RUN/gateway.log" || die "metrics_listen not reloaded"
scrape "$SGA_RUN/m2.txt" $((PORT + 1)) || die "no /metrics on the reloaded address"
scrape "$SGA_RUN/m3.txt" && die "the old endpoint still answers"
sed -i "s/^metrics_listen = .*/metrics_listen = nowhere/" "$SGA_RUN/gateway.conf"
kill -HUP "$GW_PID"
sga_wait_for 30 grep -q "reload of .* refused: metrics_listen = nowhere: expected IPv4:PORT" "$SGA_RUN/gateway.log" ||
	die "bad metrics_listen not refused"
scrape "$SGA_RUN/m4.txt" $((PORT + 1)) || die "the endpoint went with a refused reload"
log "PASS test_metrics"
