#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Store retention by age: messages for a recipient that stays away longer than
# [store] max_age_s are released undelivered (counted), the recipient is told
# (DATA_SKIP) when it is back, counts them lost, and gets every later message,
# in order, instead of waiting at the first expired one for good.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
N=${SGA_E2E_MESSAGES:-200}
export SGA_STORE_MAX_AGE_S=1 SGA_AFP_ARGS=,qdisc_bypass=0

sga_lab_up dev-s dev-r

R_PORT=5999 # the recipient's own port: only its traffic is cut below
sga_dev dev-r --bind "$DEV_IP:$R_PORT" --timeout 20000 listen --wait 30000 --recv $((N + 1)) \
	>"$SGA_RUN/r.out" 2>"$SGA_RUN/r.err" &
R=$!
sleep 0.3
coproc SENDER { sga_dev dev-s --timeout 20000 connect dev-r --send-file - >"$SGA_RUN/s.out" 2>"$SGA_RUN/s.err"; }
S=$SENDER_PID
echo hello >&"${SENDER[1]}"
for _ in $(seq 1 200); do [ -s "$SGA_RUN/r.out" ] && break; sleep 0.05; done
[ -s "$SGA_RUN/r.out" ] || die "first message not delivered"

# Out of coverage: the gateway's frames to the recipient's port are dropped on
# the gateway's side of the link (an htb class whose qdisc is a blackhole; the
# af_packet port is opened with qdisc_bypass=0 so its frames meet the qdisc).
# Its socket would otherwise keep receiving while it is away.
log "recipient out of coverage; $N messages are sent and expire (max_age_s = 1)"
TC="ip netns exec $NS_GW tc"
$TC qdisc add dev "$IF_GW" root handle 1: htb default 10 2>/dev/null &&
	$TC class add dev "$IF_GW" parent 1: classid 1:10 htb rate 10gbit 2>/dev/null &&
	$TC class add dev "$IF_GW" parent 1: classid 1:20 htb rate 10gbit 2>/dev/null &&
	$TC qdisc add dev "$IF_GW" parent 1:20 handle 20: blackhole &&
	$TC filter add dev "$IF_GW" parent 1: protocol ip prio 1 u32 match ip dport "$R_PORT" 0xffff \
		flowid 1:20 || die "cannot set up the tc filter that cuts the recipient off"
for n in $(seq 1 "$N"); do echo "old $n"; done >&"${SENDER[1]}"
sleep 3
log "recipient back in coverage; $N more messages"
$TC qdisc del dev "$IF_GW" root
sleep 0.5
for n in $(seq 1 "$N"); do echo "new $n"; done >&"${SENDER[1]}"
exec {SENDER[1]}>&-
wait $S || { tail -3 "$SGA_RUN/s.err" >&2; die "sender: not every message acknowledged"; }
# sga-device exits 1 when messages were lost, and says how many.
rc=0
wait $R || rc=$?
[ "$rc" -eq 1 ] || { tail -3 "$SGA_RUN/r.err" >&2; die "recipient: exit status $rc, want 1 (messages lost)"; }
{ echo hello; seq 1 "$N" | sed 's/^/new /'; } >"$SGA_RUN/expect"
cmp -s "$SGA_RUN/expect" "$SGA_RUN/r.out" || die "later messages not delivered whole and in order"
grep -q "$N messages from the peer never arrived" "$SGA_RUN/r.err" ||
	{ tail -3 "$SGA_RUN/r.err" >&2; die "the recipient did not report $N lost"; }
sga_gw_stop
expired=$(sga_stat store expired)
skips=$(sga_stat store skips)
log "gateway: expired $expired, DATA_SKIP notices $skips"
[ "$expired" -eq "$N" ] || die "expired $expired, want $N"
[ "$skips" -ge 1 ] || die "no DATA_SKIP sent"
log "PASS test_store_expiry ($N messages expired while the recipient was away, $N later ones delivered)"
