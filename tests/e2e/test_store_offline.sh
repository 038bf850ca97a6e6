#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Store and forward: the recipient is asleep (SIGSTOP) while the sender sends;
# every message the gateway acknowledged as STORED reaches it, all and in
# order, when it wakes up.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
N=${SGA_E2E_MESSAGES:-10000}

sga_lab_up dev-s dev-r

sga_dev dev-r --timeout 60000 listen --wait 30000 --recv "$N" >"$SGA_RUN/r.out" 2>"$SGA_RUN/r.err" &
R=$!
sleep 0.3
coproc SENDER { sga_dev dev-s --timeout 60000 connect dev-r --send-file - >"$SGA_RUN/s.out" 2>"$SGA_RUN/s.err"; }
S=$SENDER_PID
echo hello >&"${SENDER[1]}"
for _ in $(seq 1 200); do [ -s "$SGA_RUN/r.out" ] && break; sleep 0.05; done
[ -s "$SGA_RUN/r.out" ] || die "first message not delivered"

log "recipient goes to sleep; sender sends $((N - 1)) more messages"
pkill -STOP -f -- "--id dev-r " || die "cannot stop the recipient"
for n in $(seq 1 "$((N - 1))"); do echo "message $n"; done >&"${SENDER[1]}"
exec {SENDER[1]}>&-
# The sender exits once every message is acknowledged as STORED, while the
# recipient still sleeps.
wait $S || { pkill -CONT -f -- "--id dev-r "; tail -3 "$SGA_RUN/s.err" >&2; die "sender: not every message acknowledged as stored"; }
sleep 2
log "recipient wakes up"
pkill -CONT -f -- "--id dev-r "
wait $R || { tail -3 "$SGA_RUN/r.err" >&2; die "recipient did not receive the backlog"; }
{ echo hello; seq 1 "$((N - 1))" | sed 's/^/message /'; } >"$SGA_RUN/expect"
cmp -s "$SGA_RUN/expect" "$SGA_RUN/r.out" || die "backlog not delivered whole and in order"
log "PASS test_store_offline ($N messages, recipient asleep while they were sent)"
