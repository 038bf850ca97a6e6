#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_relay.sh's scenario (two devices, 10,000 messages each way through a
# real gateway on a DPDK af_packet port) with the hop AEAD on a crypto device:
# once on crypto_aesni_mb, once on crypto_openssl ([crypto] device, from
# SGA_CRYPTO_DEVICE). dev-i's hop suite is ChaCha20-Poly1305, dev-j's
# AES-128-CCM8: aesni_mb serves both, openssl only CCM8, so that run also
# relays every frame between the CPU path and the device. Besides test_relay's
# own checks, the gateway must report its engines as expected (start-up lines
# and stats file) and the device must have done the work, without errors.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
N=${SGA_E2E_MESSAGES:-10000}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	log "FAIL: $*"
	exit 1
}

# A value from the stats file: stat RUN SECTION KEY [SUBKEY]
stat() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
v=d[sys.argv[2]][sys.argv[3]]
print(v[sys.argv[4]] if len(sys.argv) > 4 else v)' "$1/stats.json" "${@:2}"
}

for dev in crypto_aesni_mb crypto_openssl; do
	run=$(mktemp -d /tmp/sga-run.XXXXXX)
	log "== test_relay.sh with [crypto] device = $dev"
	# The key exchange's modexps go through the cryptodev MODEX service too.
	SGA_MODEXP=cryptodev SGA_CRYPTO_DEVICE=$dev SGA_RUN=$run SGA_KEEP_RUN=1 bash "$here/test_relay.sh" ||
		{ tail -20 "$run/gateway.log" >&2 || true; rm -rf "$run"; die "test_relay.sh on $dev"; }

	grep -q "aead aes-128-ccm8: cryptodev $dev" "$run/gateway.log" ||
		die "$dev: no start-up line 'aead aes-128-ccm8: cryptodev $dev'"
	if [ "$dev" = crypto_openssl ]; then
		want_chacha="cpu"
		grep -q "aead chacha20-poly1305: cpu (crypto_openssl lacks it)" "$run/gateway.log" ||
			die "$dev: ChaCha20-Poly1305 not reported on the CPU"
		# i -> j: seal to j; j -> i: open from j: 2 device ops per pair, and the
		# (coalesced) DATA_ACKs to j.
		min_ops=$((2 * N))
	else
		want_chacha="cryptodev:$dev"
		grep -q "aead chacha20-poly1305: cryptodev $dev" "$run/gateway.log" ||
			die "$dev: ChaCha20-Poly1305 not reported on the device"
		# open and seal per message both ways, and every (coalesced) DATA_ACK
		min_ops=$((4 * N + $(stat "$run" dataplane ack_sent)))
	fi
	[ "$(stat "$run" engines aead chacha20-poly1305)" = "$want_chacha" ] ||
		die "$dev: stats file: chacha20-poly1305 engine is not $want_chacha"
	[ "$(stat "$run" engines aead aes-128-ccm8)" = "cryptodev:$dev" ] ||
		die "$dev: stats file: aes-128-ccm8 engine is not cryptodev:$dev"
	ops=$(stat "$run" dataplane crypto_ops)
	err=$(stat "$run" dataplane drop_crypto_err)
	full=$(stat "$run" dataplane drop_crypto_full)
	cpu_sess=$(stat "$run" dataplane crypto_sess_cpu)
	log "$dev: crypto_ops $ops (>= $min_ops), drop_crypto_err $err, drop_crypto_full $full"
	[ "$ops" -ge "$min_ops" ] || die "$dev: the device did $ops ops, expected >= $min_ops"
	[ "$err" -eq 0 ] || die "$dev: $err crypto op errors"
	[ "$full" -eq 0 ] || die "$dev: $full frames dropped for a full crypto queue"
	[ "$cpu_sess" -eq 0 ] || die "$dev: $cpu_sess members fell back to the CPU"
	grep -q "modexp: cryptodev crypto_openssl" "$run/gateway.log" ||
		die "$dev: the key exchange's modexp did not run on the cryptodev MODEX service"
	rm -rf "$run"
done
log "PASS test_relay_cryptodev"
