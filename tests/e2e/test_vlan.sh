#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A VLAN-tagged path end to end: the devices sit on the access port of an
# 802.1Q switch (tests/e2e/vlan_port.py, in a namespace of its own between
# the two veth pairs), the gateway's af_packet port on its trunk, VLAN 42 with
# priority 5 (TCI 0xa02a). Every frame from the devices reaches the gateway
# tagged, and the switch passes back to them only frames with exactly that
# tag: nothing works unless the gateway answers ARP, NDP, control and data
# frames with the tag each device's frames came with (PCP included). The
# gateway has an IPv4 and an IPv6 address; dev-i talks to it over IPv4, dev-j
# over IPv6, so every relayed message also changes family on its way.
#
#   sgadev$TAG: sgad$TAG --veth-- sgaa$TAG [sgasw$TAG: vlan_port.py] sgat$TAG --veth-- sgag$TAG: sgagw$TAG
#               untagged                 access               trunk (tagged 42)           DPDK af_packet
SGA_TAG=${SGA_TAG:-net6$$}
SGA_GW_IP6=fd00:77::1
SGA_DEV_IP6=fd00:77::2
SGA_STATS_INTERVAL=1
source "$(dirname "$0")/../../scripts/lab.sh"
NS_SW=sgasw$SGA_TAG
IF_ACC=sgaa$SGA_TAG
IF_TRK=sgat$SGA_TAG
TCI=0xa02a
SW_PID=
N=${SGA_E2E_MESSAGES:-1000}

cleanup() {
	set +e
	[ -z "$SW_PID" ] || kill -TERM "$SW_PID" 2>/dev/null
	sga_cleanup
	ip netns del "$NS_SW" 2>/dev/null
}
trap cleanup EXIT

# The lab's network with the switch in the middle of the devices' link.
net_up_vlan() {
	ip netns add "$NS_GW"
	ip netns add "$NS_DEV"
	ip netns add "$NS_SW"
	ip link add "$IF_GW" type veth peer name "$IF_TRK"
	ip link add "$IF_DEV" type veth peer name "$IF_ACC"
	ip link set "$IF_GW" netns "$NS_GW"
	ip link set "$IF_TRK" netns "$NS_SW"
	ip link set "$IF_DEV" netns "$NS_DEV"
	ip link set "$IF_ACC" netns "$NS_SW"
	for ns in "$NS_GW" "$NS_DEV" "$NS_SW"; do ip -n "$ns" link set lo up; done
	# The kernels at the switch and at the gateway's port send nothing of
	# their own (no IPv6 link-local address, router solicitation or MLD
	# report): what comes back from the trunk is the gateway's.
	ip netns exec "$NS_GW" sysctl -qw "net.ipv6.conf.$IF_GW.disable_ipv6=1"
	ip netns exec "$NS_SW" sysctl -qw "net.ipv6.conf.$IF_TRK.disable_ipv6=1"
	ip netns exec "$NS_SW" sysctl -qw "net.ipv6.conf.$IF_ACC.disable_ipv6=1"
	ip -n "$NS_DEV" addr add "$DEV_IP/24" dev "$IF_DEV"
	ip -n "$NS_DEV" addr add "$DEV_IP6/64" dev "$IF_DEV" nodad
	ip -n "$NS_GW" link set "$IF_GW" up
	ip -n "$NS_DEV" link set "$IF_DEV" up
	ip -n "$NS_SW" link set "$IF_TRK" up
	ip -n "$NS_SW" link set "$IF_ACC" up
	# Room for the tag on the trunk; checksums computed by the kernel.
	ip -n "$NS_SW" link set "$IF_TRK" mtu 1504
	ip -n "$NS_GW" link set "$IF_GW" mtu 1504
	ip netns exec "$NS_DEV" ethtool -K "$IF_DEV" tx off >/dev/null 2>&1 || true
	ip netns exec "$NS_GW" ethtool -K "$IF_GW" tx off >/dev/null 2>&1 || true
	ip netns exec "$NS_SW" python3 "$SGA_ROOT/tests/e2e/vlan_port.py" --access "$IF_ACC" \
		--trunk "$IF_TRK" --tci "$TCI" --stats "$SGA_RUN/switch.json" &
	SW_PID=$!
}

sga_hugepages
net_up_vlan
sga_redis_start
sga_gw_start
grep -q "serving 10.77.0.1:7000 and \[fd00:77::1\]:7000 on port" "$SGA_RUN/gateway.log" ||
	die "the start-up line does not name both addresses"
GW6=(--gateway "[fd00:77::1]:7000")
sga_dev dev-i register || die "dev-i register (IPv4, VLAN 42)"
sga_dev dev-j "${GW6[@]}" register || die "dev-j register (IPv6, VLAN 42)"
log "registered dev-i (IPv4) and dev-j (IPv6) across VLAN 42"

sga_exchange "$N" -- "${GW6[@]}"
log "$N messages each way delivered intact and in order across VLAN 42"

sleep 1.2 # one stats-file refresh
vlan=$(sga_stat dataplane rx_vlan)
arp=$(sga_stat dataplane arp_reply)
ndp=$(sga_stat dataplane ndp_reply)
qinq=$(sga_stat dataplane drop_qinq)
relayed=$(sga_stat dataplane relayed)
held=$(sga_stat dataplane store_held)
log "gateway: rx_vlan $vlan arp_reply $arp ndp_reply $ndp drop_qinq $qinq relayed $relayed held $held"
[ "$arp" -ge 1 ] && [ "$ndp" -ge 1 ] || die "ARP or NDP not answered on the VLAN"
[ "$vlan" -ge $((2 * N)) ] || die "rx_vlan $vlan: the data frames did not arrive tagged"
[ "$qinq" -eq 0 ] || die "frames dropped as QinQ"
[ $((relayed + held)) -ge $((2 * N)) ] || die "relayed $relayed + held $held < $((2 * N))"
# Redis keeps each member's tag with its address.
key=$(sga_cli --scan --pattern 'sga:{sess:*}' | head -1)
a0=$(sga_cli hget "$key" addr0)
a1=$(sga_cli hget "$key" addr1)
log "session addresses in Redis: $a0, $a1"
case "$a0 $a1" in
"10.77.0.2:"*"/tci=$TCI [fd00:77::2]:"*"/tci=$TCI") ;;
*) die "session addresses in Redis lack the VLAN tag or the families" ;;
esac
# What the switch saw coming back from the trunk: the gateway's frames only,
# every one with the devices' TCI.
kill -TERM "$SW_PID"
wait "$SW_PID" 2>/dev/null || true
SW_PID=
sw=$(cat "$SGA_RUN/switch.json")
log "switch: $sw"
python3 -c 'import json,sys; n=json.load(open(sys.argv[1])); sys.exit(0 if n["to_access"] > 0 and n["untagged"] == 0 and n["other_vid"] == 0 and n["tci_changed"] == 0 else 1)' \
	"$SGA_RUN/switch.json" || die "the gateway sent frames without the devices' tag"
log "PASS test_vlan"
