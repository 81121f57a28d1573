#!/bin/bash
# lambda_lmi.sh -- the relay on Lambda Managed Instances, under the project's emulator
# (--managed-instances --concurrency N: INVOKE refused at register, no freeze, invokes at once):
# it registers for SHUTDOWN only, so the function's init succeeds; uploads from concurrent
# invokes are forwarded as they come, each reaching the remote within a second of the
# function's upload, exactly once; SHUTDOWN drains what is still in flight and the extension
# exits 0. Then the general case: a relay that does not know it runs there (no
# AWS_LAMBDA_INITIALIZATION_TYPE) gets 403 Extension.InvalidEventType for INVOKE, registers
# again for SHUTDOWN only with one warning, and runs the same way.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"
EMULATOR_BIN=${EMULATOR_BIN:-$TOP_SRCDIR/pyroscope-lambda-emulator}
FUNCTION="bash $TOP_SRCDIR/tools/lambda-sample-function.sh"
# Milliseconds in the relay's log lines, to compare them with the sink's arrival times.
TS_LAYOUT='2006-01-02T15:04:05.000Z07:00'
# An upload reaches the remote within this of the function's upload (valgrind is far slower).
LAG_MAX=$((SLOW > 1 ? 3000 : 1000))

# emulate NAME EXTDIR [emulator options] -- [VAR=value...]: one Managed Instances run; output in
# $T/NAME.*; the relay logs at trace level with millisecond time stamps.
emulate() {
	local name=$1 ext=$2; shift 2
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	local port
	port=$(free_port)
	: >"$T/$name.count"
	env -i PATH="$PATH" HOME="$T" TZ=UTC ${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS} \
		${UBSAN_OPTIONS:+UBSAN_OPTIONS=$UBSAN_OPTIONS} \
		PYROSCOPE_LISTEN_ADDRESS="127.0.0.1:$port" SAMPLE_RELAY_PORT="$port" \
		SAMPLE_COUNT_FILE="$T/$name.count" PYROSCOPE_LOG_LEVEL=trace \
		PYROSCOPE_LOG_TIMESTAMP_FORMAT="$TS_LAYOUT" "$@" \
		timeout $((120 * SLOW)) "$EMULATOR_BIN" --listen 127.0.0.1:0 --extensions "$ext" \
		--function "$FUNCTION" --report "$T/$name.json" --init-timeout-ms $((10000 * SLOW)) \
		--timeout-ms $((5000 * SLOW)) --managed-instances "${opts[@]}" >"$T/$name.out" 2>"$T/$name.err"
	EMU_STATUS=$?
}
sent() { grep -c . "$T/$1.count"; }
ext_line() { grep 'extension pyroscope-lambda-extension:' "$T/$1.out"; }
jval() { sed -n 's/^ *"'"$1"'": "\{0,1\}\([^",]*\)"\{0,1\},\{0,1\}$/\1/p' "$2" | head -1; }
summary() { grep -o 'Relay stopped: received=[0-9]* delivered=[0-9]* dropped=[0-9]*' "$T/$1.err" | head -1; }

# lags NAME SINK: the k-th upload the relay accepted against the k-th request the sink received
# (both in time order): how much later the sink got its first byte, in ms, one line each.
lags() {
	sed -n 's/^time="\([^"]*\)".*msg="Accepted request for relay".*/\1/p' "$T/$1.err" |
		while IFS= read -r ts; do date -d "$ts" +%s%3N; done | sort -n >"$T/$1.accepted"
	for f in "$T/$2"/req-*.time; do
		[ -e "$f" ] || continue
		awk '{ v[$1] = $2 } END { printf "%.3f\n", (v["first_byte_ms"] > 0 ? v["first_byte_ms"] : v["received_ms"]) }' "$f"
	done | sort -n >"$T/$1.arrived"
	paste "$T/$1.accepted" "$T/$1.arrived" | awk 'NF == 2 { printf "%.1f\n", $2 - $1 }'
}

# exactly_once NAME SINK: what the function had answered 200, the relay received and delivered,
# and the sink stored, are the same count; nothing dropped.
exactly_once() {
	local s n
	s=$(summary "$1")
	n=$(sent "$1")
	if [ "$n" -gt 0 ] && [ "$s" = "Relay stopped: received=$n delivered=$n dropped=0" ] &&
		[ "$(count_requests "$2")" -eq "$n" ]; then
		ok "every upload delivered exactly once ($n uploads, sink $(count_requests "$2"), $s)"
	else
		not_ok "every upload delivered exactly once"
		diag "uploads answered 200: $n; sink: $(count_requests "$2"); relay: $s"
	fi
}

# ran_ok NAME WHAT: the emulator accepted the run, init succeeded, the relay registered for
# SHUTDOWN only and exited 0 on its own.
ran_ok() {
	if [ "$EMU_STATUS" = 0 ]; then ok "$2: the emulator accepts the run (exit 0)"; else
		not_ok "$2: the emulator accepts the run (exit 0)"; diag "exit status $EMU_STATUS"
		tail -20 "$T/$1.out" | sed 's/^/#   out: /'
		grep -v 'level=trace' "$T/$1.err" | tail -20 | sed 's/^/#   err: /'
		cat "$T"/valgrind.*.log 2>/dev/null | sed 's/^/#   valgrind: /'
	fi
	is "$(jval init_status "$T/$1.json") $(jval init_error "$T/$1.json")" "success null" \
		"$2: init succeeded (no Extension.Crash)"
	check "$2: registered for SHUTDOWN only, exited 0, never SIGKILLed ($(ext_line "$1" | sed 's/^ *//'))" \
		grep -q 'extension pyroscope-lambda-extension: registered, events \[SHUTDOWN\], exited 0$' "$T/$1.out"
}

# --- Managed Instances: 24 invokes, 4 at once, each uploading; a remote 20 ms away --------
lambda_ext "$T/ext"
start_sink up --rtt-ms 20
emulate lmi "$T/ext" --invokes 24 --concurrency 4 -- PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" \
	SAMPLE_WORK_MS=150 SAMPLE_UPLOADS=1
ran_ok lmi "LMI"
check "LMI: invokes ran at once (max $(jval max_concurrent_invokes "$T/lmi.json"))" \
	test "$(jval max_concurrent_invokes "$T/lmi.json")" -gt 1
check "LMI: every invoke succeeded" test "$(grep -c '"status": "success"' "$T/lmi.json")" -eq 24
check "LMI: the relay knows where it runs" \
	grep -q "Registered with the Lambda Extensions API for SHUTDOWN only (function 'test_function', Lambda Managed Instances)" "$T/lmi.err"
check "LMI: no telemetry subscription (none is needed: there is no freeze)" \
	eval "! grep -q '^TELEMETRY' '$T/lmi.out'"
check "LMI: no INVOKE refusal to work around" eval "! grep -q 'refused the INVOKE event' '$T/lmi.err'"
exactly_once lmi up
lag=$(lags lmi up | sort -n | tail -1)
is "$(grep -c . "$T/lmi.accepted") $(grep -c . "$T/lmi.arrived")" "$(sent lmi) $(sent lmi)" \
	"LMI: the relay's acceptance times and the sink's arrival times are there for every upload"
check "LMI: each upload reached the remote within $LAG_MAX ms of the function's upload (at most ${lag:-?} ms)" \
	awk -v l="${lag:-x}" -v max="$LAG_MAX" 'BEGIN { exit !(l != "x" && l + 0 >= 0 && l + 0 < max) }'
check "LMI: SHUTDOWN handled by the relay" grep -q "Received SHUTDOWN event (reason 'spindown')" "$T/lmi.err"
check "LMI: the relay logged no error" eval "! grep -q 'level=error' '$T/lmi.err'"

# --- Managed Instances: SHUTDOWN while uploads are in flight (the remote answers after 1 s) ----
# The function's last uploads are accepted a moment before the invokes end; the runtime gets
# SIGTERM and at most 600 ms, then the relay gets SHUTDOWN with the uploads still in flight.
start_sink slow --delay-ms 1000
emulate drain "$T/ext" --invokes 2 --concurrency 2 -- PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" \
	SAMPLE_WORK_MS=50 SAMPLE_UPLOADS=1
ran_ok drain "LMI drain"
check "LMI drain: SHUTDOWN came with uploads in flight ($(grep -o 'draining [0-9]* profiles' "$T/drain.err"))" \
	grep -q 'Received SHUTDOWN event .*draining [1-9][0-9]* profiles' "$T/drain.err"
exactly_once drain slow
check "LMI drain: the drain ended when idle, within the SHUTDOWN window (shutdown $(jval shutdown_ms "$T/drain.json") ms)" \
	awk -v s="$(jval shutdown_ms "$T/drain.json")" 'BEGIN { exit !(s != "" && s + 0 < 2000) }'
check "LMI drain: not at the deadline" eval "! grep -q 'Shutdown deadline is near' '$T/drain.err'"

# --- INVOKE refused without knowing why: register again for SHUTDOWN only ------------------
lambda_ext "$T/ext-unaware" 'unset AWS_LAMBDA_INITIALIZATION_TYPE'
start_sink up2 --rtt-ms 20
emulate retry "$T/ext-unaware" --invokes 8 --concurrency 2 -- \
	PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" SAMPLE_WORK_MS=30 SAMPLE_UPLOADS=1
ran_ok retry "INVOKE refused"
is "$(grep -c 'level=warning msg="The Lambda Extensions API refused the INVOKE event (Extension.InvalidEventType: INVOKE: ErrorInvalidEventType); registering for SHUTDOWN only' "$T/retry.err")" 1 \
	"INVOKE refused: one warning, with the API's reason"
check "INVOKE refused: then registered for SHUTDOWN only" \
	grep -q "Registered with the Lambda Extensions API for SHUTDOWN only (function 'test_function', INVOKE not offered)" "$T/retry.err"
check "INVOKE refused: no error logged" eval "! grep -q 'level=error' '$T/retry.err'"
exactly_once retry up2
lag=$(lags retry up2 | sort -n | tail -1)
check "INVOKE refused: each upload reached the remote within $LAG_MAX ms (at most ${lag:-?} ms)" \
	awk -v l="${lag:-x}" -v max="$LAG_MAX" 'BEGIN { exit !(l != "x" && l + 0 >= 0 && l + 0 < max) }'
done_testing
