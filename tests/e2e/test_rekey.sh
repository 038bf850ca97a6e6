#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Rekey under traffic (PROTOCOL.md 7.15) through the real gateway: two
# sga-device processes exchange a numbered stream both ways while both renew
# the session's keys again and again (dev-i's policy after every 300 messages
# it sends, dev-j on SIGUSR1 whenever it has started no more than dev-i: both
# start rekeys, sometimes both at once). Every
# message must arrive exactly once and in order, both devices must end on the
# gateway's key generation, and the gateway must count the rekeys.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
N=${SGA_E2E_MESSAGES:-2000}

sga_hugepages
sga_net_up
sga_redis_start
sga_gw_start

sga_dev dev-i --suites aes-128-gcm,chacha20-poly1305 register || die "dev-i register"
sga_dev dev-j --suites chacha20-poly1305,aes-128-gcm register || die "dev-j register"
log "registered dev-i and dev-j"

sga_dev dev-j -v --timeout 30000 listen --wait 30000 --recv "$N" --count "$N" \
	>"$SGA_RUN/j.out" 2>"$SGA_RUN/j.err" &
J=$!
sleep 0.3
sga_dev dev-i -v --timeout 30000 connect dev-j --count "$N" --recv "$N" --rekey-after 300 \
	>"$SGA_RUN/i.out" 2>"$SGA_RUN/i.err" &
I=$!
# dev-j asks for new keys on SIGUSR1 (ip netns exec runs sga-device in place
# of the subshell's child: its process is the one child of $J), checked every
# 50 ms, but only while dev-j has started no more rekeys than dev-i: every
# rekey, whoever starts it, restarts dev-i's count of 300 messages, so dev-j
# asking every 50 ms regardless starved dev-i's policy on a loaded machine
# (dev-i started none while dev-j started 23). A request that lands while
# dev-i's rekey is in flight starts none and is simply asked again.
started() { grep -c 'rekey to generation .* started (by this device)' "$1" 2>/dev/null || true; }
while kill -0 $I 2>/dev/null; do
	sleep 0.05
	[ "$(started "$SGA_RUN/j.err")" -le "$(started "$SGA_RUN/i.err")" ] || continue
	jp=$(pgrep -P $J || true)
	[ -z "$jp" ] || kill -USR1 $jp 2>/dev/null || true
done
wait $I || { tail -20 "$SGA_RUN/i.err" >&2; die "dev-i connect/exchange"; }
wait $J || { tail -20 "$SGA_RUN/j.err" >&2; die "dev-j listen"; }

seq 1 "$N" | sed 's/^/message /' >"$SGA_RUN/expect"
for d in i j; do
	cmp -s "$SGA_RUN/expect" "$SGA_RUN/$d.out" ||
		die "dev-$d did not receive $N messages exactly once and in order ($(wc -l <"$SGA_RUN/$d.out") lines)"
done
log "$N messages each way delivered exactly once and in order"

started_i=$(started "$SGA_RUN/i.err")
started_j=$(started "$SGA_RUN/j.err")
gen_i=$(sed -n 's/.*session keys renewed: generation \([0-9]*\).*/\1/p' "$SGA_RUN/i.err" | tail -1)
gen_j=$(sed -n 's/.*session keys renewed: generation \([0-9]*\).*/\1/p' "$SGA_RUN/j.err" | tail -1)
sleep 0.3 # one stats-file refresh
rekeys=$(sga_stat controlplane rekeys)
old_gen=$(sga_stat dataplane rekey_old_gen)
retired=$(sga_stat dataplane rekey_retired)
auth=$(sga_stat dataplane drop_hop_auth)
log "rekeys: gateway $rekeys, generation dev-i ${gen_i:-0} dev-j ${gen_j:-0}," \
	"started by dev-i $started_i, by dev-j $started_j; old-generation frames taken $old_gen," \
	"old keys retired $retired, hop-auth drops $auth"
[ "$rekeys" -ge 3 ] || die "the gateway completed $rekeys rekeys, expected several"
[ "$started_i" -ge 1 ] && [ "$started_j" -ge 1 ] || die "both devices should have started rekeys"
# A REKEY_REPLY may still be on its way to one device when the stream ends.
for g in "${gen_i:-0}" "${gen_j:-0}"; do
	[ "$g" -ge $((rekeys - 1)) ] && [ "$g" -le "$rekeys" ] || die "device generation $g, gateway $rekeys"
done
[ "$retired" -ge 1 ] || die "no old up key was retired"
[ "$(sga_stat controlplane sessions)" -eq 1 ] || die "the rekeys must keep the one session"
# The operator's view: the session's record holds the gateway's generation.
adm_gen=$("$SGA_BUILD/gateway/sga-admin" -c "$SGA_RUN/gateway.conf" --json sessions |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["sessions"][0]["key_generation"])')
[ "$adm_gen" -eq "$rekeys" ] || die "sga-admin sessions: key_generation $adm_gen, gateway $rekeys"

# The long-term key from the command line: dev-i replaces its k_d, and a new
# session opens under the new key (the old state file's key would no longer do).
old_kd=$(sed -n 's/^k_d //p' "$SGA_RUN/dev-i.state")
sga_dev dev-i rekey-key 2>"$SGA_RUN/rk.err" || { cat "$SGA_RUN/rk.err" >&2; die "dev-i rekey-key"; }
new_kd=$(sed -n 's/^k_d //p' "$SGA_RUN/dev-i.state")
[ -n "$new_kd" ] && [ "$new_kd" != "$old_kd" ] || die "rekey-key left the state file's key as it was"
grep -q '^k_d_next ' "$SGA_RUN/dev-i.state" && die "rekey-key completed but left k_d_next"
sga_dev dev-j --timeout 20000 listen --wait 20000 --recv 1 --send pong >"$SGA_RUN/j2.out" 2>"$SGA_RUN/j2.err" &
J=$!
sleep 0.3
sga_dev dev-i --timeout 20000 connect dev-j --send ping --recv 1 >"$SGA_RUN/i2.out" 2>"$SGA_RUN/i2.err" ||
	{ cat "$SGA_RUN/i2.err" >&2; die "a session under dev-i's new long-term key"; }
wait $J || { cat "$SGA_RUN/j2.err" >&2; die "dev-j listen (second session)"; }
[ "$(cat "$SGA_RUN/i2.out")" = pong ] && [ "$(cat "$SGA_RUN/j2.out")" = ping ] || die "second session's messages"
log "rekey-key replaced dev-i's long-term key; a new session works under it"
log "PASS test_rekey"
