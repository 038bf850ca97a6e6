#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# CI smoke test of the M2M-scale path: a lab provisioning file of 1,000
# sessions (sga-loadgen provision), sga-gateway under [lab] profile = lab
# provisioning them at start with its store on, and sga-loadgen playing both
# devices of every session over a memif pair for a few seconds. Every message
# must be delivered (opened intact by its recipient) and acknowledged; counts
# are asserted, never times. Also: the same configuration under the
# production profile is refused with a clear message; a pcap of lab
# DATA_UP frames (sga-pcapgen) replayed through the gateway (net_pcap) is
# relayed frame for frame; and the pcap replayed twice with the store on is
# relayed and stored frame for frame with [lab] hop_replay_window = off, its
# second pass refused as replays with the default window. Needs root (hugepages, the memif socket). Build
# first (meson setup build && ninja -C build).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${SGA_BUILD:-$ROOT/build}
GW=$BUILD/gateway/sga-gateway
GEN=$BUILD/tests/sga-loadgen
N=${SGA_LOADGEN_SESSIONS:-1000}
RATE=${SGA_LOADGEN_RATE:-20000}
DURATION=${SGA_LOADGEN_DURATION:-2}

log() { printf '[%s] test_loadgen: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	log "FAIL: $*"
	exit 1
}
[ "$(id -u)" -eq 0 ] || die "run as root (hugepages, the memif socket)"
[ -x "$GW" ] && [ -x "$GEN" ] || die "build first: $GW, $GEN"
command -v redis-server >/dev/null || die "redis-server not installed"

RUN=$(mktemp -d /tmp/sga-loadgen-e2e.XXXXXX)
TAG=lg$$
GW_PID= GEN_PID= REDIS_PID=

source "$ROOT/tests/bench/bench_lib.sh" # stop_pid, redis_start, wait_line
cleanup() {
	local rc=$?
	set +e
	# The generator stops sending and drains before it disconnects (memif).
	stop_pid "$GEN_PID" INT 15
	stop_pid "$GW_PID" TERM 10
	stop_pid "$REDIS_PID" TERM 5
	for p in "sgagw$TAG" "sgagen$TAG"; do
		rm -rf "/run/dpdk/$p"
		rm -f /dev/hugepages/"$p"map_* 2>/dev/null
	done
	if [ "$rc" -ne 0 ]; then
		for f in gateway.log gen.log gateway-pcap.log gateway-twice-off.log gateway-twice-on.log; do
			[ -f "$RUN/$f" ] && { echo "---- $RUN/$f" >&2; tail -n 30 "$RUN/$f" >&2; }
		done
	fi
	if [ -n "${SGA_KEEP:-}" ]; then
		log "run directory kept: $RUN"
	else
		rm -rf "$RUN"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p /dev/hugepages
mountpoint -q /dev/hugepages || mount -t hugetlbfs nodev /dev/hugepages
[ "$(cat /proc/sys/vm/nr_hugepages)" -ge 256 ] || echo 512 >/proc/sys/vm/nr_hugepages

"$GEN" provision --sessions "$N" --seed "test_loadgen" --out "$RUN/lab.prov" >/dev/null ||
	die "sga-loadgen provision failed"
[ "$(stat -c %a "$RUN/lab.prov")" = 600 ] || die "the provisioning file is not mode 0600"

mkdir -p "$RUN/keys"
write_conf() { # $1: lab profile
	cat <<EOF
[gateway]
id = sga-loadgen-gw
address = 10.77.0.1
udp_port = 7000
group = ffdhe2048
suites = aes-128-gcm, aes-256-gcm, chacha20-poly1305, aes-128-ccm8
rsa_key = $RUN/keys/gateway-rsa.pem
trapdoor_key = $RUN/keys/gateway-trapdoor.pem
package = $RUN/keys/gateway.pkg
master_key = $RUN/keys/master.key
stats_file = $RUN/stats.json
stats_interval_s = 0
[dataplane]
port = net_memif0,role=server,socket=$RUN/memif.sock,id=0
lcores = 1
mbufs = 16383
max_sessions = $((N < 1024 ? 2048 : 2 * N))
[controlplane]
workers = 1
[redis]
socket = $RUN/redis.sock
[store]
dir = $RUN/store
fsync = interval
pending_max = 2048
[eal]
hugepages = yes
memory_mb = 256
args = --file-prefix=sgagw$TAG --log-level=*:warning --log-level=sga.*:info --log-level=pmd.net.memif:error
[lab]
profile = $1
provision = $RUN/lab.prov
EOF
}

# 1. The production profile refuses lab provisioning, before anything starts.
write_conf production >"$RUN/prod.conf"
rc=0
"$GW" -c "$RUN/prod.conf" >"$RUN/prod.log" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || die "a production profile with [lab] provision exited $rc, not 2"
grep -q "refused under profile = production" "$RUN/prod.log" ||
	die "no clear refusal: $(cat "$RUN/prod.log")"
log "profile = production refuses [lab] provision: $(head -c 160 "$RUN/prod.log")"

# 2. A lab gateway provisions the sessions at start.
write_conf lab >"$RUN/gateway.conf"
"$GW" -c "$RUN/gateway.conf" --init-keys >"$RUN/gateway.log" 2>&1 || die "--init-keys failed"
redis_start "$RUN" || die "redis-server did not start"
"$GW" -c "$RUN/gateway.conf" -- -l 0-1 >"$RUN/gateway.log" 2>&1 &
GW_PID=$!
wait_line "$RUN/gateway.log" "restored .* session" "$GW_PID" 30 || die "sga-gateway did not come up"
grep -q "LAB provisioning: $N sessions - not for production ($N installed" "$RUN/gateway.log" ||
	die "the gateway did not log the lab provisioning of $N sessions"
log "$(grep -o "LAB provisioning: .*" "$RUN/gateway.log")"
sleep 0.3
lab=$(sed -n 's/.*"lab_sessions": \([0-9]*\).*/\1/p' "$RUN/stats.json")
[ "$lab" = "$N" ] || die "stats file: lab_sessions '$lab', expected $N"

# 3. Load from both devices of every session, then every message accounted for.
: >"$RUN/gen.log"
timeout --signal=INT --kill-after=20 120 "$GEN" --lab "$RUN/lab.prov" --sessions "$N" \
	--rate "$RATE" --duration "$DURATION" --sizes 64,256 --frames $((2 * RATE * DURATION)) \
	--both-directions --window 8 \
	--stats "$RUN/stats.json" --watch-pid "$GW_PID" --linger 60 -- -l 0 --no-pci \
	--no-huge -m 256 --file-prefix="sgagen$TAG" --log-level='*:warning' \
	--log-level=pmd.net.memif:error "--vdev=net_memif0,role=client,socket=$RUN/memif.sock,id=0" \
	>"$RUN/gen.log" 2>&1 &
GEN_PID=$!
wait_line "$RUN/gen.log" "^sga-loadgen: done;" "$GEN_PID" 120 || die "sga-loadgen failed"
kill -0 "$GW_PID" 2>/dev/null || die "sga-gateway died under load"
# Traffic has stopped: the gateway goes first, then the generator closes its port.
stop_pid "$GW_PID" TERM 10
GW_PID=
stop_pid "$GEN_PID" INT 15
GEN_PID=

# Two payload sizes, each measurement ending before its pool of sealed frames
# is spent (--frames twice what the rate sends): the second size must go on
# from the e2e_seqs the first left unsent. A hole there never fills, the
# recipients' DATA_DELIVERED stays below it, the store keeps every later
# message until its pool (pending_max, small here) is full and refuses the
# rest: the second size stalled for good.
[ "$(grep -c "^RESULT " "$RUN/gen.log")" = 2 ] || die "not one RESULT line per payload size"
while read -r result; do
	val() { echo "$result" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
	msgs=$(val messages)
	log "$(val payload) B: sent $msgs messages over $(val sessions) sessions: delivered" \
		"$(val delivered), acked $(val acked), re-sent $(val retx), bad $(val bad)"
	[ "$(val sessions)" = "$N" ] || die "ran $(val sessions) sessions, not $N"
	[ "$msgs" -gt 0 ] || die "no message sent"
	[ "$msgs" -lt $((2 * RATE * DURATION)) ] || die "the pool was spent: nothing left unsent"
	[ "$(val delivered)" = "$msgs" ] || die "$(val payload) B: delivered $(val delivered) of $msgs"
	[ "$(val acked)" = "$msgs" ] || die "$(val payload) B: acknowledged $(val acked) of $msgs"
	[ "$(val undelivered)" = 0 ] && [ "$(val unacked)" = 0 ] || die "messages left behind"
	[ "$(val bad)" = 0 ] || die "$(val bad) frames did not open or carried a wrong payload"
	# Every frame the generator sends is fresh to the gateway (a copy under a new
	# hop seq); a drop means it mis-tracked its hop seqs (it once read the
	# epoch for the seq: every device's window jumped, its frames went stale).
	[ "$(val gw_drops)" = 0 ] || die "$(val payload) B: the gateway dropped $(val gw_drops) frames"
done < <(grep "^RESULT " "$RUN/gen.log")
stop_pid "$REDIS_PID" TERM 5
REDIS_PID=

# 4. A pcap of lab frames (sga-pcapgen) replayed through the gateway (net_pcap:
#    it reads the file as its RX and writes what it sends): every DATA_UP relayed.
P=100
F=2000
"$GEN" provision --sessions "$P" --seed "test_loadgen pcap" --out "$RUN/pcap.prov" >/dev/null
# The pcap PMD's MAC: 02:70:63:61:70 ("pcap") and the port index.
"$BUILD/tests/sga-pcapgen" --lab "$RUN/pcap.prov" --gw-mac 02:70:63:61:70:00 --frames "$F" \
	--both-directions --out "$RUN/up.pcap" >"$RUN/pcapgen.log" || die "sga-pcapgen failed"
sed -e "s|^port = .*|port = net_pcap0,rx_pcap=$RUN/up.pcap,tx_pcap=$RUN/down.pcap|" \
	-e "s|^provision = .*|provision = $RUN/pcap.prov|" -e "s|^dir = .*|dir =|" \
	-e "s|^hugepages = .*|hugepages = no|" "$RUN/gateway.conf" >"$RUN/pcap.conf"
rm -f "$RUN/stats.json"
redis_start "$RUN" || die "redis-server did not start"
"$GW" -c "$RUN/pcap.conf" -- -l 0-1 >"$RUN/gateway-pcap.log" 2>&1 &
GW_PID=$!
stat_of() { sed -n "s/.*\"$1\": \([0-9]*\).*/\1/p" "$RUN/stats.json" 2>/dev/null | head -n 1; }
for _ in $(seq 1 600); do
	[ "$(stat_of relayed)" = "$F" ] && break
	kill -0 "$GW_PID" 2>/dev/null || die "sga-gateway (pcap) exited"
	sleep 0.05
done
sleep 0.3
stop_pid "$GW_PID" TERM 10
GW_PID=
log "pcap replay of $F DATA_UP over $P lab sessions: data_in $(stat_of data_in), relayed" \
	"$(stat_of relayed), delivered_in $(stat_of delivered_in), drops: $(grep -o '"drop_[a-z_]*": [1-9][0-9]*' "$RUN/stats.json" | tr '\n' ' ')"
[ "$(stat_of delivered_in)" = $((2 * P)) ] || die "not every device taught its address"
[ "$(stat_of data_in)" = "$F" ] && [ "$(stat_of relayed)" = "$F" ] ||
	die "the replayed pcap was not relayed frame for frame"
stop_pid "$REDIS_PID" TERM 5
REDIS_PID=

# 5. The same pcap TWICE (the file concatenated with itself: a bounded stand-in
#    for a generator looping over it), the store on. From the second pass on
#    every hop seq repeats. With [lab] hop_replay_window = off every frame of
#    both passes is opened, stored and relayed; with the default window the
#    second pass is not relayed (authentic duplicates inside the window are
#    acknowledged again; older ones dropped as drop_hop_replay).
{
	cat "$RUN/up.pcap"
	tail -c +25 "$RUN/up.pcap" # the records, without the 24-byte global header
} >"$RUN/up2.pcap"
# $1: config, $2: log; runs a gateway on a fresh Redis and store until it has
# taken 2 x F DATA_UP frames (relayed or not), then stops it.
run_twice() {
	rm -rf "$RUN/store2" "$RUN/stats.json" "$RUN/down2.pcap"
	redis_start "$RUN" || die "redis-server did not start"
	"$GW" -c "$1" -- -l 0-1 >"$2" 2>&1 &
	GW_PID=$!
	for _ in $(seq 1 600); do
		[ "$(stat_of data_in)" = $((2 * F)) ] && break
		kill -0 "$GW_PID" 2>/dev/null || die "sga-gateway ($1) exited"
		sleep 0.05
	done
	sleep 0.5 # the last appends durable, their DATA_ACKs out
	# The flag as DPDK telemetry shows it (/sga/stats).
	TEL_OFF=$(python3 -c 'import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.recv(4096)
s.send(b"/sga/stats")
print(json.loads(s.recv(1 << 16))["/sga/stats"]["lab_hop_replay_off"])' \
		"/var/run/dpdk/sgagw$TAG/dpdk_telemetry.v2" 2>&1) || true
	stop_pid "$GW_PID" TERM 10
	GW_PID=
	stop_pid "$REDIS_PID" TERM 5
	REDIS_PID=
	log "$(basename "$1"): data_in $(stat_of data_in), relayed $(stat_of relayed), stored" \
		"$(stat_of stored), lab_replay_relayed $(stat_of lab_replay_relayed), duplicate" \
		"$(stat_of duplicate), drops: $(grep -o '"drop_[a-z_]*": [1-9][0-9]*' "$RUN/stats.json" | tr '\n' ' ')"
	[ "$(stat_of data_in)" = $((2 * F)) ] || die "$(basename "$1"): not every frame arrived"
}
store_of() { sed -n '/"store": {/,/}/p' "$RUN/stats.json" | sed -n "s/.*\"$1\": \([0-9]*\).*/\1/p" | head -n 1; }
sed -e "s|^port = .*|port = net_pcap0,rx_pcap=$RUN/up2.pcap,tx_pcap=$RUN/down2.pcap|" \
	-e "s|^dir =.*|dir = $RUN/store2|" -e "/^pending_max = /d" "$RUN/pcap.conf" >"$RUN/twice-on.conf"
{
	cat "$RUN/twice-on.conf"
	echo "hop_replay_window = off" # [lab] is the last section
} >"$RUN/twice-off.conf"

# 5a. Refused under the production profile, with the file and line.
sed -e "s|^profile = .*|profile = production|" -e "s|^provision = .*|provision =|" \
	"$RUN/twice-off.conf" >"$RUN/twice-prod.conf"
rc=0
"$GW" -c "$RUN/twice-prod.conf" >"$RUN/twice-prod.log" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || die "hop_replay_window = off under profile = production exited $rc, not 2"
grep -q "twice-prod.conf:[0-9]*: \[lab\] hop_replay_window = off is refused under profile = production" \
	"$RUN/twice-prod.log" || die "no clear refusal: $(cat "$RUN/twice-prod.log")"

# 5b. Window off: every frame of both passes relayed and stored.
run_twice "$RUN/twice-off.conf" "$RUN/gateway-twice-off.log"
grep -q "LAB: hop replay window OFF - replayed frames are relayed; not for production" \
	"$RUN/gateway-twice-off.log" || die "the lab mode was not logged at start"
[ "$(stat_of lab_hop_replay_off)" = 1 ] || die "stats: lab_hop_replay_off is not 1"
[ "$TEL_OFF" = 1 ] || die "/sga/stats: lab_hop_replay_off '$TEL_OFF', not 1"
[ "$(stat_of relayed)" = $((2 * F)) ] || die "window off: relayed $(stat_of relayed) of $((2 * F))"
[ "$(stat_of stored)" = $((2 * F)) ] || die "window off: stored $(stat_of stored) of $((2 * F))"
# The second pass: F DATA_UP and 2 x P DATA_DELIVERED, each taken as fresh.
[ "$(stat_of lab_replay_relayed)" = $((F + 2 * P)) ] && [ "$(stat_of delivered_in)" = $((4 * P)) ] ||
	die "window off: the second pass was not taken as replays"
[ "$(stat_of drop_hop_replay)" = 0 ] && [ "$(stat_of duplicate)" = 0 ] ||
	die "window off: replays dropped or only acknowledged"
[ "$(store_of lab_reappended)" = "$F" ] ||
	die "store: lab_reappended $(store_of lab_reappended), expected $F"
[ "$(store_of pending)" = "$F" ] || die "store: pending $(store_of pending), not bounded at $F"

# 5c. The default window: the second pass is not relayed.
run_twice "$RUN/twice-on.conf" "$RUN/gateway-twice-on.log"
[ "$(stat_of lab_hop_replay_off)" = 0 ] || die "stats: lab_hop_replay_off is not 0"
[ "$TEL_OFF" = 0 ] || die "/sga/stats: lab_hop_replay_off '$TEL_OFF', not 0"
[ "$(stat_of relayed)" = "$F" ] || die "window on: relayed $(stat_of relayed), expected $F"
[ "$(stat_of lab_replay_relayed)" = 0 ] || die "window on: lab_replay_relayed counted"
[ $(($(stat_of duplicate) + $(stat_of drop_hop_replay))) = "$F" ] ||
	die "window on: the second pass was not refused as replays"
log "PASS test_loadgen"
