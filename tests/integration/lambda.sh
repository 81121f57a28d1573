#!/bin/bash
# lambda.sh -- the relay as a Lambda extension under the project's emulator: registration,
# invokes with real freezes, no profile lost, flush strategies (the adaptive default on a busy
# function: ~0 billed time, exactly-once delivery, nothing in flight at a freeze), telemetry
# fallback, a slow remote during the flush, bad configuration, a taken port, SHUTDOWN within
# its deadline.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"
EMULATOR_BIN=${EMULATOR_BIN:-$TOP_SRCDIR/pyroscope-lambda-emulator}
FUNCTION="bash $TOP_SRCDIR/tools/lambda-sample-function.sh"

lambda_ext "$T/ext"

# emulate NAME [emulator options] -- [VAR=value...]: one emulator run; output in $T/NAME.*
emulate() {
	local name=$1; shift
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	local port
	port=$(free_port)
	: >"$T/$name.count"
	env -i PATH="$PATH" HOME="$T" TZ=UTC ${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS} \
		${UBSAN_OPTIONS:+UBSAN_OPTIONS=$UBSAN_OPTIONS} \
		PYROSCOPE_LISTEN_ADDRESS="127.0.0.1:$port" SAMPLE_RELAY_PORT="$port" \
		SAMPLE_COUNT_FILE="$T/$name.count" "$@" \
		timeout $((120 * SLOW)) "$EMULATOR_BIN" --listen 127.0.0.1:0 --extensions "$T/ext" \
		--function "$FUNCTION" --report "$T/$name.json" --init-timeout-ms $((10000 * SLOW)) \
		--timeout-ms $((3000 * SLOW)) "${opts[@]}" >"$T/$name.out" 2>"$T/$name.err"
	EMU_STATUS=$?
}
sent() { grep -c . "$T/$1.count"; }
post_runtime() { sed -n 's/.*post-runtime \([0-9.]*\) ms.*/\1/p' "$T/$1.out" | tr '\n' ' '; }
# warm_p50 NAME: the summary's median post-runtime of the warm invokes, in ms.
warm_p50() { sed -n 's/^ *post-runtime (warm) *p50 \([0-9.]*\) ms.*/\1/p' "$T/$1.out"; }
# inflight NAME SINK: no request to the sink was in flight across a freeze of the sandbox.
inflight() { bash "$TOP_SRCDIR/tools/emulator/inflight-check.sh" "$T/$1.json" "$T/$2"; }
# duplicates SINK: the invoke labels the sink got more than once (one upload per invoke here).
duplicates() { cat "$T/$1"/req-*.head 2>/dev/null | grep -o 'invoke%3D[0-9]*' | sort | uniq -d | tr '\n' ' '; }
ext_line() { grep 'extension pyroscope-lambda-extension:' "$T/$1.out"; }

# --- the normal path: register, invokes with freezes, SHUTDOWN, exit 0 --------
start_sink up
emulate normal --invokes 50 --gap-ms 50 -- PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" \
	SAMPLE_UPLOADS=2
is "$EMU_STATUS" 0 "50 invokes: the emulator accepts the run (exit 0)"
check "registered for INVOKE and SHUTDOWN, exited 0, never SIGKILLed" \
	grep -q 'extension pyroscope-lambda-extension: registered, events \[INVOKE, SHUTDOWN\], exited 0$' "$T/normal.out"
check "every invoke succeeded" test "$(grep -c 'invoke [0-9]* *runtime .*success' "$T/normal.out")" -eq 50
is "$(sent normal)" 100 "the function uploaded 100 profiles during the invokes"
is "$(count_requests up)" "$(sent normal)" "every one reached the remote across 50 freezes"
check "the relay logged no failure" eval "! grep -q 'level=error' '$T/normal.err'"
check "SHUTDOWN: drained and exited on its own" grep -q "Received SHUTDOWN event (reason 'spindown')" "$T/normal.err"
check "no upload in flight across any freeze ($(inflight normal up 2>&1 | tail -1))" inflight normal up
diag "post-runtime durations (ms, adaptive: the first 5 wait for runtimeDone, 25 ms telemetry buffering): $(post_runtime normal | cut -d' ' -f1-10) ..."
diag "$(grep -E '^ *(init|shutdown):' "$T/normal.out" | tr -s ' ' | tr '\n' ';')"

# --- a busy function (issue 14's workload, shorter): the adaptive default bills ~nothing -----
# Invoked every 100-300 ms, the handler works 30 ms, one upload every 5th invoke, the remote
# 20 ms away. The first 5 invokes flush at their end (warm-up), then at the start of the next
# invoke, overlapping the handler. end-of-invoke on the same workload pays the telemetry
# buffering (>= 25 ms) on every invoke; the bound below (10 ms) sits between the two.
start_sink busy --rtt-ms 20
emulate busy --invokes 40 --gap-ms 100-300 -- PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" \
	SAMPLE_WORK_MS=30 SAMPLE_UPLOADS=1 SAMPLE_UPLOAD_EVERY=5 PYROSCOPE_LOG_LEVEL=debug
is "$EMU_STATUS" 0 "busy function: the emulator accepts the run (exit 0)"
check "the first 5 invokes flushed at their end" \
	test "$(grep -o 'busy streak [0-9]*): flushing at its [a-z]*' "$T/busy.err" | head -5 | grep -c 'its end')" -eq 5
check "later ones at their start ($(grep -c 'flushing at its start' "$T/busy.err") of 40)" \
	test "$(grep -c 'flushing at its start' "$T/busy.err")" -gt 0
is "$(sent busy) $(count_requests busy)" "8 8" "8 uploads, 8 at the remote"
is "$(duplicates busy)" "" "none delivered twice"
check "the relay's summary: received=8 delivered=8 dropped=0" grep -q 'Relay stopped: received=8 delivered=8 dropped=0 ' "$T/busy.err"
check "no upload in flight across any freeze ($(inflight busy busy 2>&1 | tail -1))" inflight busy busy
check "warm post-runtime median < 10 ms (p50 $(warm_p50 busy) ms)" \
	awk -v p="$(warm_p50 busy)" 'BEGIN { exit !(p != "" && p + 0 < 10) }'
diag "$(grep -E '^ *post-(runtime|response) \(warm\)' "$T/busy.out" | tr -s ' ' | tr '\n' ';')"
start_sink busyend --rtt-ms 20
emulate busyend --invokes 12 --gap-ms 100-300 -- PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" \
	SAMPLE_WORK_MS=30 SAMPLE_UPLOADS=1 SAMPLE_UPLOAD_EVERY=5 PYROSCOPE_FLUSH_STRATEGY=end-of-invoke
is "$EMU_STATUS" 0 "the same with end-of-invoke: run accepted"
check "end-of-invoke: warm post-runtime median >= 20 ms, the telemetry buffering (p50 $(warm_p50 busyend) ms)" \
	awk -v p="$(warm_p50 busyend)" 'BEGIN { exit !(p != "" && p + 0 >= 20) }'
is "$(sent busyend) $(count_requests busyend)" "2 2" "end-of-invoke: every upload delivered"
check "end-of-invoke: nothing in flight across a freeze" inflight busyend busyend

# --- telemetry not available: fall back to flushing at the start of invokes ----
start_sink up2
emulate stub --invokes 5 --telemetry stub202 -- PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" \
	SAMPLE_UPLOADS=2 PYROSCOPE_LOG_LEVEL=debug
is "$EMU_STATUS" 0 "telemetry stubbed (202): the run is accepted"
check "the fallback is logged once" test "$(grep -c 'Telemetry API not available' "$T/stub.err")" -eq 1
is "$(count_requests up2)" "$(sent stub)" "every profile delivered without runtimeDone ($(sent stub) sent)"

# --- runtimeDone never arrives: bounded by the deadline, not stuck -------------
start_sink up3
emulate nodone --invokes 2 --runtime-done-delay-ms never --timeout-ms $((1500 * SLOW)) -- \
	PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" SAMPLE_UPLOADS=1
is "$EMU_STATUS" 0 "no runtimeDone: invokes still end before their deadline"
check "no invoke timed out" eval "! grep -q 'timeout' '$T/nodone.out'"
is "$(count_requests up3)" "$(sent nodone)" "and every profile is delivered"

# --- a remote slower than the flush budget ---------------------------------
# 1 s: five times the flush budget, and short enough that the SHUTDOWN drain ends when idle,
# well before its deadline (a drain that runs to the deadline leaves valgrind too little time
# to exit before the SIGKILL).
start_sink slow --delay-ms 1000
emulate slow --invokes 3 -- PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" \
	PYROSCOPE_FLUSH_TIMEOUT=200ms SAMPLE_UPLOADS=1
is "$EMU_STATUS" 0 "slow remote: the extension still calls event/next in time"
check "every invoke succeeded" test "$(grep -c 'invoke [0-9]* *runtime .*success' "$T/slow.out")" -eq 3
check "post-runtime bounded by the flush budget (< 1 s each: $(post_runtime slow))" \
	awk -v l="$(post_runtime slow)" -v max=$((1000 * SLOW)) 'BEGIN { n = split(l, a, " "); for (i = 1; i <= n; i++) if (a[i] + 0 >= max) exit 1 }'
check "the unfinished flush is logged" grep -q 'Flush time is over with' "$T/slow.err"
check "what could not be sent is counted, not silent" grep -Eq 'msg="Relay stopped: received=3 delivered=[0-9]+ dropped=[0-9]+ ' "$T/slow.err"
delivered=$(sed -n 's/.*Relay stopped: received=3 delivered=\([0-9]*\) dropped=\([0-9]*\).*/\1 \2/p' "$T/slow.err")
check "received = delivered + dropped at exit ($delivered)" awk -v d="$delivered" 'BEGIN { split(d, a, " "); exit !(a[1] + a[2] == 3) }'

# --- SIGTERM during a flush: the drain takes the flush over and ends when idle ---
# The remote answers after 2 s, the flush budget is 1.5 s and the drain budget
# (PYROSCOPE_TIMEOUT) 60 s: the relay must exit once the upload is delivered,
# neither pausing it at the end of the flush budget nor waiting for the deadline.
start_sink sigflush --delay-ms $((2000 * SLOW))
( emulate sigterm --invokes 1 --timeout-ms $((8000 * SLOW)) -- \
	PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" PYROSCOPE_FLUSH_TIMEOUT=$((1500 * SLOW))ms \
	PYROSCOPE_TIMEOUT=60s PYROSCOPE_LOG_LEVEL=debug SAMPLE_UPLOADS=1 ) &
emu_bg=$!
relay_pid=""
if wait_until 60 grep -q 'flushing 1 profiles' "$T/sigterm.err"; then
	relay_pid=$(pgrep -f -- "$T/ext/pyroscope-lambda-extension|--log-file=$T/valgrind\." | head -1)
fi
if [ -n "$relay_pid" ]; then
	kill -TERM "$relay_pid"
	ok "SIGTERM sent to the relay during a flush"
	check "the relay exits on its own after the drain" wait_until 40 eval "! kill -0 $relay_pid"
else
	not_ok "SIGTERM sent to the relay during a flush (no flush seen, or no process)"
	sed 's/^/#   /' "$T/sigterm.err" | tail -20
fi
wait "$emu_bg" 2>/dev/null
is "$(count_requests sigflush)" 1 "the profile in flight when the signal came was delivered"
check "the drain ended when idle, not at its deadline" eval "! grep -q 'Drain time (PYROSCOPE_TIMEOUT) is over' '$T/sigterm.err'"
check "summary: received=1 delivered=1 dropped=0" grep -q 'Relay stopped: received=1 delivered=1 dropped=0 ' "$T/sigterm.err"

# --- background strategy: event/next at once ----------------------------------
start_sink up4
emulate bg --invokes 5 -- PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" \
	PYROSCOPE_FLUSH_STRATEGY=background SAMPLE_UPLOADS=1
is "$EMU_STATUS" 0 "background strategy: run accepted"
diag "post-runtime durations (ms, background): $(post_runtime bg)"
is "$(count_requests up4)" "$(sent bg)" "profiles delivered (retried after thaws if needed, drained at SHUTDOWN)"

# --- an HTTPS remote: the TLS context is made once init is over, before the first upload ----
test_ca lambda-test-ca
test_cert tlsup IP:127.0.0.1
start_sink tlsup --tls-cert "$T/tlsup.pem" --tls-key "$T/tlsup.key"
emulate tls --invokes 3 --gap-ms 50 -- PYROSCOPE_REMOTE_ADDRESS="https://127.0.0.1:$SINK_PORT" \
	SSL_CERT_FILE="$T/ca.pem" PYROSCOPE_LOG_LEVEL=debug SAMPLE_WORK_MS=$((200 * SLOW)) SAMPLE_UPLOADS=1
is "$EMU_STATUS" 0 "HTTPS remote: run accepted"
is "$(count_requests tlsup)" "$(sent tls)" "every profile delivered over verified TLS"
# line_of PATTERN FILE: the number of the first line matching PATTERN, or 0.
line_of() { grep -n "$1" "$2" | head -1 | cut -d: -f1 | grep . || echo 0; }
reg=$(line_of 'Registered with the Lambda Extensions API' "$T/tls.err")
made=$(line_of 'Made the TLS context for 127.0.0.1 ahead of the first upload' "$T/tls.err")
first=$(line_of 'Relayed request to remote' "$T/tls.err")
check "the TLS context made after registering (line $reg), before the first upload (line $first): line $made" \
	test "$reg" -gt 0 -a "$made" -gt "$reg" -a "$first" -gt "$made"

# --- bad configuration: the function runs every invoke, the error is logged ---
emulate badcfg --invokes 3 -- "PYROSCOPE_REMOTE_ADDRESS=https://bad host" PYROSCOPE_TIMEOUT=soon SAMPLE_UPLOADS=1
is "$EMU_STATUS" 0 "bad configuration: the emulator accepts the run"
check "every invoke succeeded" test "$(grep -c 'invoke [0-9]* *runtime .*success' "$T/badcfg.out")" -eq 3
check "the errors are logged" grep -q "level=error msg=\"PYROSCOPE_TIMEOUT: invalid duration 'soon'" "$T/badcfg.err"
check "drops are counted" grep -q 'dropped_unsendable=3' "$T/badcfg.err"

# --- the relay's port is taken: still follows events ---------------------------
start_sink squatter
emulate taken --invokes 3 -- PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" \
	PYROSCOPE_LISTEN_ADDRESS="127.0.0.1:$SINK_PORT" SAMPLE_UPLOADS=0
is "$EMU_STATUS" 0 "port taken: the function still runs every invoke"
check "the bind failure is logged loudly" grep -q 'level=error msg="No listen address could be bound' "$T/taken.err"
check "and the extension exits 0 at SHUTDOWN" grep -q 'exited 0$' <(ext_line taken)

# --- event/next fails: exit/error reported, exit 1 --------------------------------
emulate nextfail --invokes 3 --fail-next-after 2 -- PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" SAMPLE_UPLOADS=0
check "event/next failure: exit/error with Extension.NextEventFailed, exit status 1" \
	grep -q 'exited 1, error Extension.NextEventFailed$' <(ext_line nextfail)
check "logged with the cause" grep -q 'level=error msg="Lambda event/next failed: event/next answered HTTP 500' "$T/nextfail.err"

# --- register refused: a clear line and a non-zero exit ---------------------------
# Started under another name than its file's, the relay registers as an internal
# extension, which may not subscribe to SHUTDOWN: the API answers 403.
mv "$T/ext" "$T/ext.real"
mkdir -p "$T/alias"
ln -s "$RELAY_BIN" "$T/alias/other-name"
lambda_ext "$T/ext" "" "$T/alias/other-name"
emulate regfail --invokes 1 --init-timeout-ms $((3000 * SLOW)) -- SAMPLE_UPLOADS=0
check "register refused: logged with the API's answer" \
	grep -q 'level=error msg="Cannot register with the Lambda Extensions API at 127.0.0.1:[0-9]*: register answered HTTP 403' "$T/regfail.err"
check "the API's reason is in the line" grep -q 'Extension.InvalidEventType' "$T/regfail.err"
check "and the extension exits 1 (the platform fails the init)" grep -q 'NOT registered, events \[\], exited 1' <(ext_line regfail)
rm -rf "$T/ext"
mv "$T/ext.real" "$T/ext"

# --- start-of-invoke (the original's FLUSH_ON_INVOKE timing) -------------------
start_sink up5
emulate start --invokes 4 -- PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" \
	PYROSCOPE_FLUSH_STRATEGY=start-of-invoke SAMPLE_UPLOADS=2
is "$EMU_STATUS" 0 "start-of-invoke: run accepted"
is "$(count_requests up5)" "$(sent start)" "every profile delivered (the last invoke's at SHUTDOWN)"
done_testing
