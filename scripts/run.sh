#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Set up a fresh Debian 12 machine and run SGA's main job on the software
# crypto fallback: redis-server, sga-gateway on a DPDK af_packet port (a veth
# pair between two private network namespaces), and two sga-device processes
# that register, negotiate a cipher suite, run the three-party key exchange and
# exchange messages through the gateway. Needs root (namespaces, hugepages).
#   bash scripts/run.sh [MESSAGES]      (default 1000 each way)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
case $N in '' | *[!0-9]*) echo "usage: bash scripts/run.sh [MESSAGES]" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root (network namespaces, hugepages); try: sudo bash scripts/run.sh" >&2; exit 1; }

scripts/install-deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

source scripts/lab.sh
trap sga_cleanup EXIT
say() { printf '\n== %s\n' "$*"; }

say "network: devices $DEV_IP ($NS_DEV) <-veth-> gateway $GW_IP:$GW_PORT ($NS_GW, DPDK net_af_packet)"
sga_hugepages
sga_net_up
say "redis-server on $SGA_RUN/redis.sock"
sga_redis_start
say "sga-gateway (keys, package and logs in $SGA_RUN)"
sga_gw_start
grep -E "fingerprint|serving" "$SGA_RUN/gateway.log" | sed 's/^/   /'

say "1. registration: E_PK(k_d | suite_init | ID | suites | nonce), acknowledged under k_d"
sga_dev meter-1 --suites aes-128-ccm8,aes-128-gcm,chacha20-poly1305 register
sga_dev hub-1 --suites aes-128-gcm,chacha20-poly1305,aes-128-ccm8 register

say "2-3. negotiation (A1-A4) and key exchange (B1-B7), then $N messages each way"
sga_dev hub-1 --timeout 30000 listen --wait 30000 --recv "$N" --echo >"$SGA_RUN/hub.out" 2>"$SGA_RUN/hub.err" &
HUB=$!
sleep 0.3
start=$(date +%s.%N)
sga_dev meter-1 --timeout 30000 -v connect hub-1 --count "$N" --recv "$N" >"$SGA_RUN/meter.out" 2>"$SGA_RUN/meter.err"
wait $HUB
end=$(date +%s.%N)
grep -v "^sga-device: message" "$SGA_RUN/meter.err" | sed 's/^/   /' | head -12
sed 's/^/   /' "$SGA_RUN/hub.err" | head -4
say "4. delivery: hub-1 received $(wc -l <"$SGA_RUN/hub.out") and echoed them; meter-1 received $(wc -l <"$SGA_RUN/meter.out") back, first and last:"
head -1 "$SGA_RUN/meter.out" | sed 's/^/   /'
tail -1 "$SGA_RUN/meter.out" | sed 's/^/   /'
python3 -c 'import sys; n, t = int(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2]); print(f"   {n} messages each way in {t:.2f} s (session set-up included)")' "$N" "$start" "$end"

sleep 0.3
say "gateway counters ($SGA_RUN/stats.json)"
python3 - "$SGA_RUN/stats.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
dp, cp = d["dataplane"], d["controlplane"]
keys = ["rx", "tx", "data_in", "relayed", "ack_sent", "duplicate", "ctrl_in", "arp_reply"]
print("   " + "  ".join(f"{k} {dp[k]}" for k in keys))
drops = {k: v for k, v in dp.items() if k.startswith("drop_") and v}
print("   drops: " + (", ".join(f"{k} {v}" for k, v in drops.items()) or "none"))
print("   control plane: " + "  ".join(f"{k} {v}" for k, v in cp.items()))
st = d.get("store", {})
if st:
    print("   store and forward: " + "  ".join(f"{k} {st[k]}" for k in ["stored", "delivered", "pending", "resent", "bytes_on_disk"]))
eng = d["engines"]
aead = eng.get("aead", {})
if isinstance(aead, dict):
    print("   engines: aead " + ", ".join(f"{k}: {v}" for k, v in aead.items()))
print("   engines: " + ", ".join(f"{k}: {v}" for k, v in eng.items() if k != "aead"))
PY
cmp -s "$SGA_RUN/meter.out" <(seq 1 "$N" | sed 's/^/message /') && say "all $N messages delivered intact and in order, both ways"
