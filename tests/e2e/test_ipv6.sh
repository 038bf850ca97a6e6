#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Two devices over IPv6 end to end: the gateway has only an IPv6 address
# ([gateway] address = none, address6 = fd00:77::1), the devices' kernel
# finds its MAC by Neighbor Discovery (the gateway answers the solicitation
# for its address), and they register, negotiate, exchange keys and send
# messages each way over IPv6/UDP. Every message must arrive intact and in
# order; the gateway's counters show the NDP answers and no IPv6 drop.
SGA_TAG=${SGA_TAG:-net6$$}
SGA_GW_IP=none
SGA_GW_IP6=fd00:77::1
SGA_DEV_IP6=fd00:77::2
SGA_DEV_GATEWAY="[fd00:77::1]:7000"
SGA_STATS_INTERVAL=1
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
N=${SGA_E2E_MESSAGES:-2000}

sga_lab_up dev-i dev-j
grep -q "serving \[fd00:77::1\]:7000 on port" "$SGA_RUN/gateway.log" ||
	die "the start-up line does not name the IPv6 address"
log "registered dev-i and dev-j over IPv6"

sga_exchange "$N"
log "$N messages each way delivered intact and in order over IPv6"

sleep 1.2 # one stats-file refresh
ndp=$(sga_stat dataplane ndp_reply)
relayed=$(sga_stat dataplane relayed)
held=$(sga_stat dataplane store_held)
csum=$(sga_stat dataplane drop_udp_csum)
zero=$(sga_stat dataplane drop_udp6_csum_zero)
hdr=$(sga_stat dataplane drop_ip6_hdr)
log "gateway: ndp_reply $ndp relayed $relayed held $held drop_udp_csum $csum drop_udp6_csum_zero $zero drop_ip6_hdr $hdr"
[ "$ndp" -ge 1 ] || die "no Neighbor Solicitation answered"
[ $((relayed + held)) -ge $((2 * N)) ] || die "relayed $relayed + held $held < $((2 * N))"
[ "$csum" -eq 0 ] && [ "$zero" -eq 0 ] && [ "$hdr" -eq 0 ] || die "IPv6 frames dropped"
# The session address Redis keeps for each member is the IPv6 one.
key=$(sga_cli --scan --pattern 'sga:{sess:*}' | head -1)
addr=$(sga_cli hget "$key" addr0)
case $addr in
"[fd00:77::2]:"*) log "session address in Redis: $addr" ;;
*) die "session address in Redis is '$addr', not [fd00:77::2]:PORT/MAC" ;;
esac
# The gateway's MAC is in the devices' neighbour table, learned by NDP.
ip -n "$NS_DEV" -6 neigh show fd00:77::1 | grep -q lladdr || die "no neighbour entry for the gateway"
log "PASS test_ipv6"
