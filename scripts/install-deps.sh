#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Install SGA's build and run dependencies from Debian 12's apt (idempotent).
set -euo pipefail

# gcc-arm-none-eabi + libnewlib-arm-none-eabi: the Cortex-M4 footprint build of
# the device core (scripts/footprint.sh).
# clang + libclang-rt-14-dev: the libFuzzer harnesses (scripts/fuzz.sh; the
# fuzzer runtime ships in the latter).
PKGS=(build-essential meson ninja-build pkg-config clang-format clang libclang-rt-14-dev
      libssl-dev openssl libcriterion-dev libhiredis-dev redis-server
      dpdk dpdk-dev libdpdk-dev iproute2 ethtool python3
      man-db systemd libmicrohttpd-dev curl gcc-arm-none-eabi libnewlib-arm-none-eabi)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	echo "install-deps: installing ${missing[*]}"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
