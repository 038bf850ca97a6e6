#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# End to end through real processes: redis-server, sga-gateway on a DPDK
# af_packet port, two sga-device processes in another network namespace.
# They register, negotiate, exchange keys and send 10,000 messages each way;
# every message must arrive intact and in order, and the gateway's counters
# must account for every frame.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
N=${SGA_E2E_MESSAGES:-10000}

sga_lab_up

# dev-i protects its hop with ChaCha20-Poly1305, dev-j with AES-128-CCM8 (8-byte tags):
# the gateway re-seals every relayed frame between the two.
sga_dev dev-i --suites chacha20-poly1305,aes-128-gcm register || die "dev-i register"
sga_dev dev-j --suites aes-128-ccm8,aes-128-gcm,chacha20-poly1305 register || die "dev-j register"
log "registered dev-i and dev-j"

sga_exchange "$N"
log "$N messages each way delivered intact and in order"

sleep 0.3 # one stats-file refresh
data_in=$(sga_stat dataplane data_in)
relayed=$(sga_stat dataplane relayed)
dup=$(sga_stat dataplane duplicate)
auth=$(sga_stat dataplane drop_hop_auth)
unknown=$(sga_stat dataplane drop_unknown_session)
replay=$(sga_stat dataplane drop_hop_replay)
peer=$(sga_stat dataplane drop_peer_unknown)
held=$(sga_stat dataplane store_held)
backlog=$(sga_stat dataplane drop_store_backlog)
acks=$(sga_stat dataplane ack_sent)
acked=$(sga_stat dataplane acked_msgs)
sessions=$(sga_stat controlplane sessions)
log "gateway: data_in $data_in relayed $relayed held $held duplicate $dup ack_sent $acks acked_msgs $acked auth-drops $auth sessions $sessions"
[ $((relayed + held)) -ge $((2 * N)) ] || die "relayed $relayed + held $held < $((2 * N))"
[ "$auth" -eq 0 ] || die "authentic traffic dropped for bad tags: $auth"
[ "$unknown" -eq 0 ] || die "unknown-session drops: $unknown"
# Every DATA_UP was relayed at once or held by the store (and re-sent in order),
# acknowledged again as a duplicate, or dropped for a counted reason.
[ $((relayed + held + dup + replay + peer + auth + unknown + backlog)) -eq "$data_in" ] ||
	die "counters disagree: data_in $data_in != relayed+duplicate+drops"
# Coalesced DATA_ACKs (PROTOCOL.md 7.11): every message named at least once, by
# at most as many frames.
[ "$acked" -ge $((2 * N)) ] || die "acked_msgs $acked < $((2 * N))"
[ "$acks" -ge 1 ] && [ "$acks" -le "$acked" ] || die "ack_sent $acks vs acked_msgs $acked"
[ "$sessions" -eq 1 ] || die "expected one session, got $sessions"
log "PASS test_relay"
