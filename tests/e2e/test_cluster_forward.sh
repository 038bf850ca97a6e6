#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A cluster of three gateways ([cluster], PROTOCOL.md 9.6) on a Redis Cluster
# of three masters and three replicas, all at 10.77.0.1, each on its own link
# to the devices' namespace, which routes between the links (the gateways'
# node addresses 10.78.0.1-3, next hop 10.78.255.1 on every link).
#   1. Devices homed on different gateways: dev-i's frames reach gateway A,
#      dev-j's (from another address, policy-routed) gateway B. They register,
#      handshake and exchange messages both ways through the two gateways:
#      the one that owns the session gets the other's device frames forwarded
#      (PEER_FWD) and hands it the frames for its device (PEER_EMIT); nothing
#      is adopted, every message arrives once and in order.
#   2. Under load, kill -9 the gateway that owns the session: its lease
#      lapses, the gateway left with a device of the session adopts it, the
#      other device moves to gateway C, which forwards to the new owner; the
#      stream goes on with no new handshake, every message once and in order.
#   3. A frame forwarded with a wrong cluster key is dropped (drop_peer_auth).
source "$(dirname "$0")/../../scripts/lab.sh"
IF_GWB=sgab$SGA_TAG IF_DEVB=sgae$SGA_TAG
IF_GWC=sgac$SGA_TAG IF_DEVC=sgaf$SGA_TAG
J_IP=10.77.0.3
NEXT_HOP=10.78.255.1
trap sga_cleanup EXIT
N=${SGA_E2E_MESSAGES:-4000}
export SGA_REDIS_CLUSTER=1 SGA_ADOPT=on SGA_NODE=gw-a-$SGA_TAG
export SGA_CLUSTER_NODES="gw-a-$SGA_TAG 10.78.0.1:7100, gw-b-$SGA_TAG 10.78.0.2:7100, gw-c-$SGA_TAG 10.78.0.3:7100"
export SGA_CLUSTER_NEXT_HOP=$NEXT_HOP SGA_CLUSTER_LEASE_MS=${SGA_CLUSTER_LEASE_MS:-1500}
# Three data-plane lcores share core 1: each backs off when idle.
export SGA_IDLE_SLEEP_US=${SGA_IDLE_SLEEP_US:-50}

sga_lab_up
# The devices' namespace is the router between the gateways' links.
ip netns exec "$NS_DEV" sysctl -qw net.ipv4.ip_forward=1
ip -n "$NS_DEV" addr add "$NEXT_HOP/32" dev lo
for f in all default lo "$IF_DEV"; do
	ip netns exec "$NS_DEV" sysctl -qw "net.ipv4.conf.$f.rp_filter=0" 2>/dev/null || true
done
ip -n "$NS_DEV" route add 10.78.0.1/32 dev "$IF_DEV"

# Gateways B and C: in the gateways' namespace (the Redis Cluster listens
# on its loopback), each on its own link, node gw-NAME-$SGA_TAG (sga_gw_other),
# their node addresses routed by the devices' namespace to their links.
for g in b c; do
	[ $g = b ] && ifs=("$IF_GWB" "$IF_DEVB" 10.78.0.2) || ifs=("$IF_GWC" "$IF_DEVC" 10.78.0.3)
	sga_gw_other $g "$NS_GW" "${ifs[0]}" "${ifs[1]}" "$NEXT_HOP/32" "/^node = $SGA_NODE\$/d"
	ip -n "$NS_DEV" route add "${ifs[2]}/32" dev "${ifs[1]}"
done
stat_of() {
	local f=$SGA_RUN/stats-$1.json
	[ "$1" != a ] || f=$SGA_RUN/stats.json
	SGA_STATS=$f sga_stat "$2" "$3"
}
log_of() { if [ "$1" = a ]; then echo "$SGA_RUN/gateway.log"; else echo "$SGA_RUN/gateway-$1.log"; fi; }
# Every gateway sees the two others up (their leases) and has resolved its
# next hop towards them.
for g in a b c; do
	seen() { [ "$(grep -c "\[cluster\] gw-.-$SGA_TAG is up" "$(log_of "$g")")" -ge 2 ]; }
	sga_wait_for 30 seen || die "gateway $g did not see its two peers up"
done
resolved() { for g in a b c; do [ "$(stat_of "$g" dataplane peer_arp_learned)" -ge 1 ] || return 1; done; }
sleep 1.2 # a stats-file refresh
sga_wait_for 30 resolved || die "a gateway did not resolve its next hop towards the peers"

# dev-j lives at J_IP, and what it sends goes to gateway B's link.
ip -n "$NS_DEV" addr add "$J_IP/32" dev "$IF_DEV"
ip -n "$NS_DEV" rule add from "$J_IP" lookup 100
home_j() {
	ip -n "$NS_DEV" route replace 10.77.0.1/32 dev "$1" table 100
	ip -n "$NS_DEV" neigh flush all
}
home_i() {
	ip -n "$NS_DEV" route replace 10.77.0.1/32 dev "$1"
	ip -n "$NS_DEV" neigh flush all
}
home_j "$IF_DEVB"
log "gateways A, B, C in one cluster on a 3+3 Redis Cluster; dev-i reaches A, dev-j (at $J_IP) reaches B"

# 1. Devices homed on different gateways talk to each other.
sga_dev dev-i register || die "dev-i register (through A)"
sga_dev dev-j --bind "$J_IP:0" register || die "dev-j register (through B)"
sga_exchange 300 -- --bind "$J_IP:0"
sleep 1.2
sessions=0 fwd=0 emit=0
for g in a b c; do
	log "gateway $g: sessions $(stat_of $g controlplane sessions), adopted $(stat_of $g controlplane adopted), to_owner $(stat_of $g controlplane to_owner), peer_fwd_out $(stat_of $g dataplane peer_fwd_out), peer_fwd_in $(stat_of $g dataplane peer_fwd_in), peer_emit_out $(stat_of $g dataplane peer_emit_out), peer_emit_in $(stat_of $g dataplane peer_emit_in), drop_peer_auth $(stat_of $g dataplane drop_peer_auth)"
	[ "$(stat_of $g controlplane adopted)" -eq 0 ] || die "gateway $g adopted a session its owner still held"
	sessions=$((sessions + $(stat_of $g controlplane sessions)))
	fwd=$((fwd + $(stat_of $g dataplane peer_fwd_in)))
	emit=$((emit + $(stat_of $g dataplane peer_emit_in)))
done
[ "$sessions" -eq 1 ] || die "$sessions sessions set up (one expected)"
[ "$fwd" -ge 300 ] || die "only $fwd device frames were forwarded to the session's owner"
[ "$emit" -ge 300 ] || die "only $emit frames were handed to the gateway a device reaches"
log "300 messages each way between dev-i (on A) and dev-j (on B), one handshake"

# The operator's close on the gateway that does not own the session is
# refused (exit 5, naming the owner), and the session stays.
adm() { ip netns exec "$NS_GW" "$SGA_BUILD/gateway/sga-admin" "$@"; } # Redis is in $NS_GW
sid=$(adm -c "$SGA_RUN/gateway.conf" --json sessions |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["sessions"][0]["session"])')
# not_owner / not_owner_conf: the one of A and B that did not set the session up
if [ "$(stat_of a controlplane sessions)" -eq 1 ]; then
	not_owner=b not_owner_conf=$SGA_RUN/gateway-b.conf
else
	not_owner=a not_owner_conf=$SGA_RUN/gateway.conf
fi
rc=0
adm -c "$not_owner_conf" close "$sid" 2>"$SGA_RUN/close.err" || rc=$?
[ "$rc" -eq 5 ] || die "sga-admin close on gateway $not_owner, which does not own $sid: exit $rc ($(cat "$SGA_RUN/close.err"))"
grep -q "owned by gateway gw-.-$SGA_TAG" "$SGA_RUN/close.err" || die "the refusal does not name the owner: $(cat "$SGA_RUN/close.err")"
adm -c "$SGA_RUN/gateway.conf" sessions | grep -q "$sid" ||
	die "the refused close removed the session"
log "sga-admin close on gateway $not_owner (not the owner): refused, exit 5: $(cat "$SGA_RUN/close.err")"

# 2. The owner dies under load: the gateway left with one of the devices
# adopts the session once the owner's lease lapses; the device whose gateway
# died moves to C, which forwards to the new owner. (A new session: the
# owner is the gateway that sets it up, A or B.)
declare -A before_s
for g in a b c; do before_s[$g]=$(stat_of $g controlplane sessions); done
sga_stream_start "$N" --bind "$J_IP:0"
sga_wait_for 20 sga_stream_started || die "the stream did not start"
owner=
owner_set() {
	for g in a b; do
		[ "$(stat_of $g controlplane sessions)" -le "${before_s[$g]}" ] || owner=$g
	done
	[ -n "$owner" ]
}
sga_wait_for 10 owner_set || die "neither A nor B set the session up"
if [ "$owner" = a ]; then
	kill -KILL "$GW_PID"
	wait "$GW_PID" 2>/dev/null || true
	GW_PID=
	home_i "$IF_DEVC"
	left=b
else
	sga_gw_other_kill b
	home_j "$IF_DEVC"
	left=a
fi
killed_at=$(wc -l <"$SGA_RUN/j.out")
log "gateway $owner (the owner) killed under load after $killed_at messages; its device now reaches C"
sga_one_stream "$STREAM_I" "$STREAM_J" "$N" "the owner's kill -9"
sleep 1.2
log "gateway $left: adopted $(stat_of $left controlplane adopted), peers_down $(stat_of $left controlplane peers_down); gateway c: adopted $(stat_of c controlplane adopted), to_owner $(stat_of c controlplane to_owner), peer_fwd_out $(stat_of c dataplane peer_fwd_out)"
[ "$(($(stat_of $left controlplane adopted) + $(stat_of c controlplane adopted)))" -ge 1 ] ||
	die "nobody adopted the dead owner's session"
[ "$(stat_of $left controlplane peers_down)" -ge 1 ] || die "gateway $left did not see the owner's lease lapse"
for g in "$left" c; do
	[ "$(stat_of $g controlplane sessions)" -eq "${before_s[$g]}" ] || die "a handshake went through gateway $g"
done

# 3. A forged PEER_EMIT: "send this to 10.77.0.3:40001", from gateway A's
# node address (spoofed), with a tag made without the cluster key. Gateway C
# must drop it (drop_peer_auth) and send nothing to the listener there.
before=$(stat_of c dataplane drop_peer_auth)
mac_c=$(ip -n "$NS_DEV" -j link show "$IF_DEVC" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
ip netns exec "$NS_DEV" python3 - "$J_IP" "$mac_c" <<'PY' || die "the forged PEER_EMIT was relayed to the device address it named"
import os, socket, struct, sys, time
j_ip, mac = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", ""))
listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
listen.bind((j_ip, 40001))
listen.settimeout(2.0)
frame = bytes([1, 5, 0, 8]) + b"forged!!"
enc = (bytes([1, 2, 1, 4, 0, 0]) + struct.pack("!H", 40001) + mac + bytes(2)
       + bytes(10) + b"\xff\xff" + socket.inet_aton(j_ip) + frame + os.urandom(16))
udp = struct.pack("!HHHH", 7100, 7100, 8 + len(enc), 0) + enc  # checksum 0: none (IPv4)
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0x4000, 64, 17, 0,
                 socket.inet_aton("10.78.0.1"), socket.inet_aton("10.78.0.3"))
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
raw.sendto(ip + udp, ("10.78.0.3", 0))
try:
    data, src = listen.recvfrom(2048)
    sys.exit(1)  # the gateway sent the forged frame on
except socket.timeout:
    sys.exit(0)
PY
dropped() { [ "$(stat_of c dataplane drop_peer_auth)" -gt "$before" ]; }
sga_wait_for 10 dropped || die "gateway C did not count the forged gateway-to-gateway datagram"
# 4. A clean stop gives the lease back (after the data plane stopped), so the
# others need not wait for it to lapse; the log line is written only when the
# delete found this run's lease.
sga_gw_other_stop c
grep -q "lease of gw-c-$SGA_TAG given back" "$SGA_RUN/gateway-c.log" ||
	die "gateway C stopped cleanly without giving its lease back"
[ "$(sga_cli EXISTS "sga:{node:gw-c-$SGA_TAG}")" = 0 ] || die "gateway C's lease is still in Redis"
log "PASS test_cluster_forward (devices homed on different gateways; the owner's kill -9 under load: $N messages once and in order, one handshake; a forged encapsulation dropped; a clean stop gives the lease back)"
