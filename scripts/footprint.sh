#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The device core's footprint on a Cortex-M4: cross-compile device/core +
# the protocol code it runs on (device/core/sources.list, the same list the
# host build uses) + the portable crypto back end (offload/portable) with
# arm-none-eabi-gcc -Os, into a static library and the minimal example
# (device/examples/mcu_minimal.c), and print flash (text + data), RAM
# (data + bss) of the linked example, the library's size and the largest
# stack frame (-fstack-usage), for each profile a device can be built for
# (the groups and suites left in, sga_crypto.h SGA_GROUPS_*, sga_portable.h
# SGA_PORTABLE_*), then one summary table. Usage: scripts/footprint.sh [out-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
top=${1:-build-footprint}
CC=${CROSS_CC:-arm-none-eabi-gcc}
command -v "$CC" >/dev/null || { echo "footprint: $CC not found (apt install gcc-arm-none-eabi libnewlib-arm-none-eabi)" >&2; exit 1; }
BASE_CFLAGS=(-Os -mcpu=cortex-m4 -mthumb -std=c11 -ffunction-sections -fdata-sections -fstack-usage
             -Wall -Wextra -Werror -Wno-unused-parameter
             -Idevice/core -Iprotocol -Ioffload -Ioffload/portable -DSGA_MCU_PORTABLE)

# measure NAME FLAGS...: one profile's build in $top/NAME; appends its row to $top/summary.
measure() {
local name=$1 out=$top/$1
shift
CFLAGS=("${BASE_CFLAGS[@]}" "$@")
rm -rf "$out" && mkdir -p "$out/obj"
echo
echo "#### profile $name: ${*:-(every group and suite)}"

# The one list: what the core and the protocol contribute...
mapfile -t src < <(grep -v '^\s*#' device/core/sources.list | sed '/^\s*$/d')
n_core=${#src[@]}
# ... and the portable back end, with the back-end neutral files it carries
# (offload/portable/meson.build lists the same) and the group table.
crypto=()
if [ -d offload/portable ]; then
	crypto=(offload/portable/*.c offload/sga_crypto_common.c offload/sga_ascon.c offload/sga_groups.c)
	# The EC profile's element checks and HPKE, written over sga_crypto.h for both back ends.
	for f in offload/sga_ec_check.c offload/sga_hpke.c; do
		[ -f "$f" ] && crypto+=("$f")
	done
fi

compile() { # src -> prints the object path
	local o="$out/obj/$(echo "$1" | tr / _ | sed 's/\.c$/.o/')"
	"$CC" "${CFLAGS[@]}" -c "$1" -o "$o"
	echo "$o"
}
core_objs=(); crypto_objs=()
for f in "${src[@]}"; do core_objs+=("$(compile "$f")"); done
for f in "${crypto[@]}"; do crypto_objs+=("$(compile "$f")"); done
arm-none-eabi-ar rcs "$out/libsga_device.a" "${core_objs[@]}" "${crypto_objs[@]}"
ex=$(compile device/examples/mcu_minimal.c)

# Link. What neither the protocol nor the portable back end defines yet (the
# profile's public-key operations, when the back end lacks them) is listed
# and left unresolved, so the sizes say what is there and the list what is not.
LDFLAGS=(-mcpu=cortex-m4 -mthumb --specs=nano.specs --specs=nosys.specs -Wl,--gc-sections)
missing=$("$CC" "${LDFLAGS[@]}" "$ex" "$out/libsga_device.a" -o "$out/mcu_minimal.elf" 2>&1 |
	sed -n "s/.*undefined reference to \`\([^']*\)'.*/\1/p" | sort -u | tr '\n' ' ' || true)
if [ -n "$missing" ]; then
	"$CC" "${LDFLAGS[@]}" -Wl,--unresolved-symbols=ignore-all "$ex" "$out/libsga_device.a" \
		-o "$out/mcu_minimal.elf"
fi

sum_lib() { # objects -> "text data bss" summed
	arm-none-eabi-size "$@" | awk 'NR > 1 { t += $1; d += $2; b += $3 } END { print t, d, b }'
}
read -r lt ld lb < <(sum_lib "${core_objs[@]}")
read -r ct cd cb < <(if ((${#crypto_objs[@]})); then sum_lib "${crypto_objs[@]}"; else echo 0 0 0; fi)
read -r et ed eb < <(arm-none-eabi-size "$out/mcu_minimal.elf" | awk 'NR == 2 { print $1, $2, $3 }')
core_size=$(arm-none-eabi-nm -S "$out/mcu_minimal.elf" | awk '$4 == "core" { print $2 }' | { read -r h; [ -n "$h" ] && echo $((16#$h)); })
# Stack frames of the functions the example links (the library also holds
# gateway-side code of shared files, which gc-sections drops).
arm-none-eabi-nm "$out/mcu_minimal.elf" | awk '$2 ~ /^[tT]$/ { print $3 }' | sort -u >"$out/linked.txt"
awk -F'\t' 'NR == FNR { in_elf[$1] = 1; next } { n = split($1, p, ":"); if (p[n] in in_elf) print }' \
	"$out/linked.txt" "$out"/obj/*.su | sort -t$'\t' -k2 -n >"$out/stack.txt"
stack=$(tail -1 "$out/stack.txt")

echo "== footprint: Cortex-M4, $($CC -dumpversion), -Os, gc-sections, profile $name"
printf '%-44s %8s %8s %8s\n' "" text data bss
printf '%-44s %8d %8d %8d\n' "library: core + protocol ($n_core files)" "$lt" "$ld" "$lb"
printf '%-44s %8d %8d %8d\n' "library: portable crypto (${#crypto_objs[@]} files)" "$ct" "$cd" "$cb"
printf '%-44s %8d %8d %8d\n' "mcu_minimal.elf (linked, newlib-nano)" "$et" "$ed" "$eb"
echo "flash (text + data) of the example: $((et + ed)) B; RAM (data + bss): $((ed + eb)) B, of which struct sga_core ${core_size:-?} B"
echo "largest stack frame: $stack"
echo "deepest frames (linked functions):"; tail -5 "$out/stack.txt" | sed 's/^/  /'
if [ -n "$missing" ]; then
	echo "NOT linked (no portable implementation yet, left unresolved; sizes exclude them): $missing"
fi
printf '| %s | %d B | %d B | %s B | %s |\n' "$name" $((et + ed)) $((ed + eb)) "${core_size:-?}" \
	"$(echo "$stack" | awk -F'\t' '{ n = split($1, p, ":"); print $2 " B (" p[n] ")" }')" >>"$top/summary"
}

mkdir -p "$top" && : >"$top/summary"
# FOOTPRINT_CFLAGS: one more build, e.g. "-DSGA_PORTABLE_AES_GCM=0 -DSGA_PORTABLE_ASCON=0".
if [ -n "${FOOTPRINT_CFLAGS:-}" ]; then
	read -r -a extra <<<"$FOOTPRINT_CFLAGS"
	measure custom "${extra[@]}"
fi
ONLY_FFDHE=(-DSGA_GROUPS_X25519=0 -DSGA_GROUPS_P256=0 -DSGA_PKE_HPKE=0)
ONLY_X25519=(-DSGA_GROUPS_FFDHE=0 -DSGA_GROUPS_P256=0 -DSGA_PORTABLE_RSA=0)
ONLY_P256=(-DSGA_GROUPS_FFDHE=0 -DSGA_GROUPS_X25519=0 -DSGA_PORTABLE_RSA=0)
# HPKE of the x25519 profile seals with ChaCha20-Poly1305: it stays in every x25519 build.
CCM8_CHACHA=(-DSGA_PORTABLE_AES_GCM=0 -DSGA_PORTABLE_AES256_GCM=0 -DSGA_PORTABLE_ASCON=0)
# HPKE of the p256 profile (DHKEM(P-256), sga_hpke.c) seals with AES-128-GCM:
# it stays in every p256 build, next to aes-128-ccm8 for the hop.
CCM8_GCM=(-DSGA_PORTABLE_AES256_GCM=0 -DSGA_PORTABLE_ASCON=0 -DSGA_PORTABLE_CHACHAPOLY=0)
measure ffdhe2048-all-suites "${ONLY_FFDHE[@]}"
measure ffdhe2048-ccm8 "${ONLY_FFDHE[@]}" "${CCM8_CHACHA[@]}" -DSGA_PORTABLE_CHACHAPOLY=0
measure x25519-all-suites "${ONLY_X25519[@]}"
measure x25519-ccm8 "${ONLY_X25519[@]}" "${CCM8_CHACHA[@]}"
measure p256-all-suites "${ONLY_P256[@]}"
measure p256-ccm8 "${ONLY_P256[@]}" "${CCM8_GCM[@]}"
echo
echo "== footprint summary (Cortex-M4, -Os, gc-sections; RAM includes the example's 1,472-byte receive buffer)"
echo "| build | flash (text + data) | RAM (data + bss) | struct sga_core | largest stack frame |"
echo "|---|---|---|---|---|"
cat "$top/summary"
