#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Disk full under the message store (a small tmpfs mounted for the test): the
# gateway says so clearly, stops acknowledging (senders keep their messages),
# damages nothing already stored, and resumes when space is freed; every
# message arrives once, in order.
source "$(dirname "$0")/../../scripts/lab.sh"
N=${SGA_E2E_MESSAGES:-4000}
STORE=$SGA_RUN/store
cleanup() {
	sga_cleanup_keep_run
	umount "$STORE" 2>/dev/null || true
	[ -n "${SGA_KEEP_RUN:-}" ] || rm -rf "$SGA_RUN"
}
trap cleanup EXIT

mkdir -p "$STORE"
mount -t tmpfs -o size=4m tmpfs "$STORE" || die "cannot mount a tmpfs (needs root)"
sga_lab_up dev-s dev-r

# Leave a few hundred KiB free: the log's first segment fills it.
free_kb=$(df -k --output=avail "$STORE" | tail -1)
dd if=/dev/zero of="$STORE/filler" bs=1k count=$((free_kb - 200)) status=none 2>/dev/null || true
log "store tmpfs: $(df -k --output=avail "$STORE" | tail -1) KiB free"

sga_dev dev-r --timeout 60000 listen --wait 30000 --recv "$N" >"$SGA_RUN/r.out" 2>"$SGA_RUN/r.err" &
R=$!
sleep 0.3
sga_dev dev-s --timeout 60000 connect dev-r --count "$N" >"$SGA_RUN/s.out" 2>"$SGA_RUN/s.err" &
S=$!
for _ in $(seq 1 200); do
	[ "$(sga_stat store refused_error 2>/dev/null || echo 0)" -gt 0 ] && break
	sleep 0.05
done
err=$(sga_stat store error)
refused=$(sga_stat store refused_error)
[ "$refused" -gt 0 ] || die "the store never reported the disk full"
log "disk full: store error '$err', $refused messages refused (no DATA_ACK for them)"
grep -qi "no space" "$SGA_RUN/gateway.log" || die "no clear disk-full error in the gateway log"
kill -0 $S 2>/dev/null || die "the sender finished although the store was full"

log "freeing space"
rm -f "$STORE/filler"
wait $S || { tail -3 "$SGA_RUN/s.err" >&2; die "sender: not every message acknowledged after space returned"; }
wait $R || { tail -3 "$SGA_RUN/r.err" >&2; die "recipient did not receive every message"; }
seq 1 "$N" | sed 's/^/message /' | cmp -s - "$SGA_RUN/r.out" || die "messages lost, duplicated or reordered"
[ -z "$(sga_stat store error)" ] || die "the store did not leave its error state"

# Nothing stored was damaged: a restart recovers the log without cutting or
# skipping anything (its recovery lines count "0 bytes cut, 0 corrupt segments").
lines=$(wc -l <"$SGA_RUN/gateway.log")
sga_gw_stop
sga_gw_start
if tail -n +"$((lines + 1))" "$SGA_RUN/gateway.log" |
	grep -Ei "torn|skipped|\b[1-9][0-9]* bytes cut|\b[1-9][0-9]* (corrupt|issues)"; then
	die "recovery after the disk-full episode found damage"
fi
log "PASS test_store_diskfull ($N messages through a full disk)"
