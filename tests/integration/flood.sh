#!/bin/bash
# flood.sh -- a flood of uploads while the remote is down: every SDK call answered at once,
# memory stays within the queue budget plus a small constant, the counters add up, and
# what is still queued arrives byte-exact once the remote is back.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

BUDGET=$((2 * 1024 * 1024))
N=$((400 / SLOW + 40))
kib() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$RELAY_PID/status"; }

start_sink later
port=$SINK_PORT
kill "$later_PID"; wait "$later_PID" 2>/dev/null
rm -rf "$T/later"
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$port" PYROSCOPE_QUEUE_MAX_BYTES=$BUDGET \
	PYROSCOPE_QUEUE_MAX_PROFILES=10000 PYROSCOPE_RETRY_MAX_ATTEMPTS=100 PYROSCOPE_RETRY_MAX_AGE=10m
head -c 65536 /dev/urandom >"$T/64k"
curl -s -o /dev/null --data-binary @"$T/64k" "http://127.0.0.1:$RELAY_PORT/ingest?name=warm.cpu"
base_hwm=$(kib VmHWM)
start=$(date +%s%N)
seq "$N" | xargs -P 8 -I{} curl -s -o /dev/null -w '%{http_code}\n' -m $((10 * SLOW)) \
	--data-binary @"$T/64k" "http://127.0.0.1:$RELAY_PORT/ingest?name=flood.cpu&i={}" >"$T/codes"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$(grep -c '^200$' "$T/codes")" "$N" "all $N uploads of 64 KiB answered 200 while the remote is down"
diag "flood: $N x 64 KiB in $ms ms through 8 connections"
hwm=$(kib VmHWM)
diag "memory: VmHWM $base_hwm KiB before the flood, $hwm KiB after; queue budget $((BUDGET / 1024)) KiB"
if [ -n "${RELAY_VALGRIND:-}" ] || [ -n "${RELAY_SANITIZED:-}" ]; then
	ok "# SKIP peak memory is not meaningful under valgrind or sanitizers"
else
	check "peak memory grew by at most the budget + 4 MiB" test $((hwm - base_hwm)) -le $((BUDGET / 1024 + 4096))
fi
check "held bytes within the budget" test "$(metric queued_bytes)" -le "$BUDGET"
check "the oldest were dropped to make room" test "$(metric 'dropped_profiles_total{reason="queue_full"}')" -gt 0
check "accounting holds under the flood" accounting_holds
queued=$(metric queued_profiles)
"$SINK_BIN" --listen "127.0.0.1:$port" --dir "$T/later" --quiet >/dev/null 2>&1 &
PIDS="$PIDS $!"
drained() { [ "$(metric queued_profiles)" = 0 ] && [ "$(metric in_flight_profiles)" = 0 ]; }
check "the queue drains once the remote is back" wait_until 60 drained
got=$(count_requests later)
check "what was queued arrived ($got, queued $queued)" test "$got" -ge "$queued" -a "$got" -gt 0
bad=0
for f in "$T"/later/*.body; do [ "$(sha "$f")" = "$(sha "$T/64k")" ] || bad=$((bad + 1)); done
is "$bad" 0 "every delivered body byte-exact"
is "$(metric delivered_profiles_total)" "$got" "delivered counter matches the remote"
check "accounting holds at the end" accounting_holds
stop_relay
done_testing
