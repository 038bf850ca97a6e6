#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Ascon-AEAD128 (suite 0x05) end to end through real processes: dev-i knows
# only ascon-aead128 (its hop and the E2E suite), dev-j protects its hop with
# AES-128-GCM. The gateway's hop AEAD is on crypto_aesni_mb ([crypto] device),
# which has no Ascon: dev-i's member must relay on the CPU path while dev-j's
# runs on the device, and the gateway must say so (start-up line, stats file).
# 2,000 messages each way must arrive intact and in order.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
N=${SGA_E2E_MESSAGES:-2000}
export SGA_CRYPTO_DEVICE=${SGA_CRYPTO_DEVICE:-crypto_aesni_mb}

sga_lab_up

grep -q "aead ascon-aead128: cpu (no cryptodev algorithm for it in DPDK)" "$SGA_RUN/gateway.log" ||
	die "no start-up line 'aead ascon-aead128: cpu (no cryptodev algorithm for it in DPDK)'"
sga_dev dev-i --suites ascon-aead128 register || die "dev-i register"
sga_dev dev-j --suites aes-128-gcm,ascon-aead128 register || die "dev-j register"
log "registered dev-i (ascon-aead128) and dev-j (aes-128-gcm, ascon-aead128)"

sga_exchange "$N" -v
grep -q "established (ascon-aead128)" "$SGA_RUN/i.err" || die "the E2E suite is not ascon-aead128"
log "$N messages each way delivered intact and in order, E2E and dev-i's hop under ascon-aead128"

sleep 0.3 # one stats-file refresh
engine=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["engines"]["aead"]["ascon-aead128"])' \
	"$SGA_RUN/stats.json")
[ "$engine" = cpu ] || die "stats file: ascon-aead128 engine is '$engine', not cpu"
relayed=$(sga_stat dataplane relayed)
held=$(sga_stat dataplane store_held)
auth=$(sga_stat dataplane drop_hop_auth)
ops=$(sga_stat dataplane crypto_ops)
err=$(sga_stat dataplane drop_crypto_err)
cpu_sess=$(sga_stat dataplane crypto_sess_cpu)
log "gateway: relayed $relayed held $held auth-drops $auth crypto_ops $ops crypto_err $err crypto_sess_cpu $cpu_sess"
[ $((relayed + held)) -ge $((2 * N)) ] || die "relayed $relayed + held $held < $((2 * N))"
[ "$auth" -eq 0 ] || die "authentic traffic dropped for bad tags: $auth"
[ "$err" -eq 0 ] || die "$err crypto op errors"
# dev-j's member on the device: i -> j seals to j, j -> i opens from j.
[ "$ops" -ge $((2 * N)) ] || die "the device did $ops ops for dev-j's member, expected >= $((2 * N))"
# dev-i's member is on the CPU because no PMD has Ascon, not for a spent pool.
[ "$cpu_sess" -eq 0 ] || die "crypto_sess_cpu $cpu_sess: a member lost its device session"
log "PASS test_relay_ascon"
