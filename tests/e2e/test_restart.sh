#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Restart the gateway in the middle of a conversation: the devices carry on
# without a new handshake (the session comes back from Redis) and every message
# the gateway acknowledged reaches the peer.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
N=${SGA_E2E_MESSAGES:-4000}

sga_lab_up dev-i dev-j

# The restart lands mid-stream: dev-i sends N messages, acknowledged ones must
# all arrive.
sga_stream_start "$N"
I=$STREAM_I J=$STREAM_J
before=$(wc -l <"$SGA_RUN/j.out")
log "restarting the gateway after $before messages delivered"
sga_gw_stop
sleep 0.5
sga_gw_start
[ "$(grep -c "restored 1 session" "$SGA_RUN/gateway.log")" -eq 1 ] || die "the session was not restored from Redis"

sga_one_stream $I $J "$N" "the restart"
log "PASS test_restart ($N messages across a gateway restart, one handshake)"
