#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Store and forward with a recipient that reads slower than the sender sends:
# its application stalls now and then, its socket overflows, and the gateway
# must re-send what was lost without letting newer messages run past the
# recipient's E2E replay window (which would make the re-sent ones "too old").
# Every message the gateway acknowledged as STORED reaches the application,
# all, in order, once.
source "$(dirname "$0")/../../scripts/lab.sh"
trap sga_cleanup EXIT
N=${SGA_E2E_MESSAGES:-15000}

sga_lab_up dev-s dev-r

# The application behind the recipient stalls for three seconds after every 4,000
# lines; the device blocks on its stdout meanwhile (200-byte lines fill the pipe
# fast) and stops reading its socket, which overflows.
cat >"$SGA_RUN/slow_reader.py" <<'PY'
import sys, time
out = open(sys.argv[1], "w")
for n, line in enumerate(sys.stdin, 1):
    out.write(line)
    if n % 4000 == 0:
        out.flush()
        time.sleep(3.0)
out.close()
PY
{ sga_dev dev-r --timeout 20000 listen --wait 30000 --recv "$N" 2>"$SGA_RUN/r.err"; echo $? >"$SGA_RUN/r.rc"; } |
	python3 "$SGA_RUN/slow_reader.py" "$SGA_RUN/r.out" &
R=$!
sleep 0.3
pad=$(printf '%0190d' 0)
seq 1 "$N" | sed "s/^/message $pad /" >"$SGA_RUN/expect"
# The sender's application writes 3,000 lines a second, so new messages keep
# coming while the recipient stalls and after it resumes.
cat >"$SGA_RUN/paced_writer.py" <<'PY'
import sys, time
start = time.monotonic()
for n, line in enumerate(open(sys.argv[1]), 1):
    sys.stdout.write(line)
    if n % 100 == 0:
        sys.stdout.flush()
        delay = start + n / 3000.0 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
PY
python3 "$SGA_RUN/paced_writer.py" "$SGA_RUN/expect" |
	sga_dev dev-s --timeout 60000 connect dev-r --send-file - >"$SGA_RUN/s.out" 2>"$SGA_RUN/s.err" ||
	{ tail -3 "$SGA_RUN/s.err" >&2; die "sender: not every message acknowledged as stored"; }
log "sender done: $N messages acknowledged"
wait $R || true
[ "$(cat "$SGA_RUN/r.rc")" = 0 ] || { tail -3 "$SGA_RUN/r.err" >&2; die "recipient did not receive every message"; }
sga_gw_stop
held=$(sga_stat dataplane store_held)
resent=$(sga_stat dataplane resent)
stored=$(sga_stat dataplane stored)
log "gateway: stored $stored held $held resent $resent"
cmp -s "$SGA_RUN/expect" "$SGA_RUN/r.out" || die "messages lost, repeated or out of order"
log "PASS test_store_slow ($N messages to a recipient slower than the sender)"
