#!/bin/bash
# emulator.sh -- pyroscope-lambda-emulator on its own: the Extensions, Runtime and Telemetry
# APIs as the RIE answers them, event order, freeze, telemetry delivery, timeouts and the
# shutdown deadline, Lambda Managed Instances, the measures (init times, post-response,
# freezes), and the sink as a measuring remote (round trips, timings, TLS resumption), driven
# by fake bash+curl extensions generated in the scratch dir and the floor extension.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"
EMULATOR_BIN=${EMULATOR_BIN:-$TOP_SRCDIR/pyroscope-lambda-emulator}
FLOOR_EXT_BIN=${FLOOR_EXT_BIN:-$TOP_SRCDIR/tools/emulator/floor-extension}
FAKE_DIR=$T/fake
export FAKE_DIR SINK_BIN
FUNCTION="SAMPLE_UPLOADS=0 exec bash $(printf '%q' "$TOP_SRCDIR/tools/lambda-sample-function.sh")"
# A runtime that takes its first invoke and never answers it.
STUCK_FUNCTION='curl -sS -m 30 -o /dev/null "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation/next"; exec sleep 30'
# Our own environment must not leak Lambda settings into the runs.
unset AWS_LAMBDA_FUNCTION_NAME AWS_LAMBDA_FUNCTION_MEMORY_SIZE AWS_REGION _HANDLER 2>/dev/null || true

# The fake extension. Its behaviour comes from $FAKE_DIR/<its file name>.conf; it leaves
# what it saw in $FAKE_DIR/<name>.* (events with the local receive time in ms, etc.).
cat >"$T/fake-ext" <<'EOF'
#!/bin/bash
set -u
name=$(basename "$0")
dir=${FAKE_DIR:?}
EVENTS='"INVOKE","SHUTDOWN"' ON_SHUTDOWN=exit EXIT=0 TICK=0 POST_INVOKE_SLEEP=0 TELEMETRY=0
NEVER_REGISTER=0 WAIT_RUNTIME_DONE=0 INIT_ERROR= TEL_TIMEOUT=25 UPLOAD= UPLOAD_WAIT=1
TEL_SCHEMA=2022-12-13
if [ -f "$dir/$name.conf" ]; then . "$dir/$name.conf"; fi
api="http://$AWS_LAMBDA_RUNTIME_API/2020-01-01/extension"
now_ms() { date +%s%3N; }
env >"$dir/$name.env"
if [ "$NEVER_REGISTER" = 1 ]; then exec sleep 60; fi
if [ "$TICK" = 1 ]; then (while :; do now_ms >>"$dir/$name.ticks"; sleep 0.05; done) & fi
curl -sS -m 10 -D "$dir/$name.reghead" -o "$dir/$name.regbody" -X POST \
	-H "Lambda-Extension-Name: $name" -d "{\"events\":[$EVENTS]}" "$api/register" || exit 1
id=$(awk 'tolower($1) == "lambda-extension-identifier:" { print $2 }' "$dir/$name.reghead" | tr -d '\r')
[ -n "$id" ] || exit 1
echo "$$ $id" >>"$dir/$name.launches"
if [ -n "$INIT_ERROR" ]; then
	curl -sS -m 10 -o "$dir/$name.errbody" -X POST -H "Lambda-Extension-Identifier: $id" \
		-H "Lambda-Extension-Function-Error-Type: $INIT_ERROR" \
		-d '{"errorMessage":"fake init failure","errorType":"Fake"}' "$api/init/error"
	exit 1
fi
if [ "$TELEMETRY" = 1 ]; then
	rm -f "$dir/$name.tport"
	"$SINK_BIN" --listen 127.0.0.1:0 --port-file "$dir/$name.tport" --dir "$dir/$name.tel" --quiet \
		2>/dev/null &
	for _ in $(seq 200); do [ -s "$dir/$name.tport" ] && break; sleep 0.05; done
	curl -sS -m 10 -o "$dir/$name.subbody" -w '%{http_code}' -X PUT \
		-H "Lambda-Extension-Identifier: $id" -d '{"schemaVersion":"'"$TEL_SCHEMA"'",
		"types":["platform"],"buffering":{"timeoutMs":'"$TEL_TIMEOUT"',"maxItems":1000,"maxBytes":262144},
		"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:'"$(cat "$dir/$name.tport")"'/telemetry"}}' \
		"http://$AWS_LAMBDA_RUNTIME_API/2022-07-01/telemetry" >"$dir/$name.substatus"
fi
while :; do
	ev=$(curl -sS -m 120 -H "Lambda-Extension-Identifier: $id" "$api/event/next") || exit 1
	echo "$(now_ms) $ev" >>"$dir/$name.events"
	case $ev in
	*'"SHUTDOWN"'*)
		if [ "$ON_SHUTDOWN" = hang ]; then
			curl -sS -m 120 -H "Lambda-Extension-Identifier: $id" "$api/event/next"
		fi
		exit "$EXIT" ;;
	esac
	# UPLOAD: a file with a sink's port; one POST per INVOKE, waited for unless UPLOAD_WAIT=0.
	if [ -n "$UPLOAD" ]; then
		curl -sS -m 10 -o /dev/null -d x "http://127.0.0.1:$(cat "$UPLOAD")/ingest?name=fake" &
		if [ "$UPLOAD_WAIT" = 1 ]; then wait $!; fi
	fi
	if [ "$WAIT_RUNTIME_DONE" = 1 ]; then
		rid=$(printf '%s' "$ev" | sed -n 's/.*"requestId":"\([^"]*\)".*/\1/p')
		for _ in $(seq 150); do
			cat "$dir/$name.tel"/*.body 2>/dev/null |
				grep -q "\"platform.runtimeDone\",\"record\":{\"requestId\":\"$rid\"" && break
			sleep 0.02
		done
	fi
	sleep "$POST_INVOKE_SLEEP"
done
EOF
chmod +x "$T/fake-ext"

# exts NAME[:CONF]...: a fresh extensions dir $T/ext of fake extensions; CONF is their
# settings, lines separated by \n.
exts() {
	rm -rf "$T/ext" "$FAKE_DIR"
	mkdir -p "$T/ext" "$FAKE_DIR"
	local spec name
	for spec in "$@"; do
		name=${spec%%:*}
		cp "$T/fake-ext" "$T/ext/$name"
		if [ "$spec" != "$name" ]; then printf '%b\n' "${spec#*:}" >"$FAKE_DIR/$name.conf"; fi
	done
}

# emu NAME ARGS...: one bounded run on 127.0.0.1:0 with $T/ext; stdout in $T/NAME.out,
# stderr in $T/NAME.err, the report in $T/NAME.json; sets EMU_STATUS.
emu() {
	local name=$1; shift
	timeout -s KILL $((90 * SLOW)) ${RELAY_VALGRIND:+$RELAY_VALGRIND --log-file=$T/$name.vg} \
		"$EMULATOR_BIN" --extensions "$T/ext" --listen 127.0.0.1:0 --report "$T/$name.json" "$@" \
		>"$T/$name.out" 2>"$T/$name.err"
	EMU_STATUS=$?
	show_vg "$name"
}
# show_vg NAME: valgrind's findings (its exit status 99 means some), as diagnostics.
show_vg() {
	if [ "$EMU_STATUS" = 99 ] && [ -s "$T/$1.vg" ]; then sed 's/^/#   /' "$T/$1.vg"; fi
}
# status_is WANT NAME DESC: the run's exit status, with its output on failure.
status_is() {
	if [ "$EMU_STATUS" = "$1" ]; then ok "$3"; else
		not_ok "$3"; diag "exit status $EMU_STATUS, want $1"
		tail -30 "$T/$2.out" "$T/$2.err" | sed 's/^/#   /'
	fi
}
# jval KEY FILE: the first scalar value of KEY in a pretty-printed report.
jval() { sed -n 's/^ *"'"$1"'": "\{0,1\}\([^",]*\)"\{0,1\},\{0,1\}$/\1/p' "$2" | head -1; }
# jvals KEY FILE: every scalar value of KEY.
jvals() { sed -n 's/^ *"'"$1"'": "\{0,1\}\([^",]*\)"\{0,1\},\{0,1\}$/\1/p' "$2"; }
# extval NAME KEY FILE: KEY of the extension NAME in a report.
extval() {
	awk -v n="\"name\": \"$1\"," -v k="\"$2\": " 'index($0, n) { on = 1 }
		on && index($0, k) { sub(/.*": /, ""); sub(/,$/, ""); gsub(/"/, ""); print; exit }' "$3"
}
# events NAME: the eventType sequence an extension saw, space-separated.
events() { sed -n 's/.*"eventType":"\([A-Z]*\)".*/\1/p' "$FAKE_DIR/$1.events" | tr '\n' ' '; }
# ge A B: A >= B for decimals.
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
between() { ge "$1" "$2" && ge "$3" "$1"; }
# all_ge MIN VALUE...: every VALUE >= MIN.
all_ge() { local min=$1 v; shift; for v in "$@"; do ge "$v" "$min" || return 1; done; }
# all_lt MAX VALUE...: every VALUE < MAX.
all_lt() { local max=$1 v; shift; for v in "$@"; do ge "$v" "$max" && return 1; done; return 0; }
# max_tick_gap NAME: the largest gap (ms) between two ticks of a ticking extension.
max_tick_gap() { awk 'NR > 1 { d = $1 - p; if (d > m) m = d } { p = $1 } END { print m + 0 }' "$FAKE_DIR/$1.ticks"; }

# ---- command line ----
"$EMULATOR_BIN" --help >"$T/help" 2>&1
is "$?" 0 "--help exits 0"
check "--help lists --extensions and --freeze" sh -c 'grep -q -- --extensions "$1" && grep -q -- --freeze "$1"' sh "$T/help"
cli_bad() {	# cli_bad DESC TEXT ARGS...
	local desc=$1 text=$2; shift 2
	"$EMULATOR_BIN" "$@" >/dev/null 2>"$T/cli.err"
	local rc=$?
	if [ $rc -eq 2 ] && grep -qF -- "$text" "$T/cli.err" && [ "$(wc -l <"$T/cli.err")" -eq 1 ]; then
		ok "$desc"
	else
		not_ok "$desc"; diag "rc=$rc"; sed 's/^/#   /' "$T/cli.err"
	fi
}
cli_bad "bad --invokes: exit 2, option and value named" "invalid value 'abc' for --invokes" --function true --invokes abc
cli_bad "negative --gap-ms" "invalid value '-1' for --gap-ms" --function true --gap-ms -1
cli_bad "--listen needs a numeric host" "invalid value 'localhost:9001' for --listen" --function true --listen localhost:9001
cli_bad "bad --freeze" "invalid value 'cgroup1' for --freeze" --function true --freeze cgroup1
cli_bad "bad --telemetry" "invalid value 'yes' for --telemetry" --function true --telemetry yes
cli_bad "bad --payload" "invalid value '{nope' for --payload" --function true --payload '{nope'
cli_bad "missing --extensions dir" "for --extensions" --function true --extensions "$T/missing"
cli_bad "missing --function" "missing --function" --invokes 1
cli_bad "unknown option" "unknown option '--bogus'" --function true --bogus

# ---- a normal run: 3 invokes, frozen gaps, telemetry, post-runtime work ----
# ext-tel waits for platform.runtimeDone, then works 300 ms before its next.
exts "ext-a" "ext-tel:TELEMETRY=1\nWAIT_RUNTIME_DONE=1\nPOST_INVOKE_SLEEP=0.3" "ext-inv:EVENTS='\"INVOKE\"'"
LAMBDA_TASK_ROOT=/var/task AWS_XRAY_DAEMON_ADDRESS=127.0.0.1:2000 emu run --function "$FUNCTION" --invokes 3 --gap-ms 200
status_is 0 run "a clean run exits 0"
is "$(events ext-a)" "INVOKE INVOKE INVOKE SHUTDOWN " "events: INVOKE x3, then SHUTDOWN"
is "$(events ext-tel)" "INVOKE INVOKE INVOKE SHUTDOWN " "every INVOKE+SHUTDOWN subscriber gets the same events"
is "$(events ext-inv)" "INVOKE INVOKE INVOKE " "an INVOKE-only extension gets no SHUTDOWN"
ids_ext=$(sed -n 's/.*"requestId":"\([^"]*\)".*/\1/p' "$FAKE_DIR/ext-a.events" | tr '\n' ' ')
ids_report=$(jvals request_id "$T/run.json" | tr '\n' ' ')
ids_start=$(sed -n 's/^START RequestId: \([^ ]*\) Version: \$LATEST$/\1/p' "$T/run.out" | tr '\n' ' ')
is "$ids_ext" "$ids_report" "request ids: the extension's INVOKEs match the report"
is "$ids_start" "$ids_report" "request ids: START lines match the report"
check "request ids are UUIDs" sh -c 'for i in $1; do echo "$i" | grep -Eq "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$" || exit 1; done' sh "$ids_report"
shut=$(grep '"SHUTDOWN"' "$FAKE_DIR/ext-a.events")
check "SHUTDOWN reason is spindown (lowercase)" sh -c 'printf "%s" "$1" | grep -q "\"shutdownReason\":\"spindown\""' sh "$shut"
left=$(printf '%s' "$shut" | sed -n 's/^\([0-9]*\) .*"deadlineMs":\([0-9]*\).*/\2 - \1/p')
left=$((left))
if between "$left" 1000 1800; then ok "SHUTDOWN deadlineMs is about now + 1700 ms ($left)"; else not_ok "SHUTDOWN deadlineMs is about now + 1700 ms"; diag "deadline - now = $left"; fi
inv=$(grep -m1 '"INVOKE"' "$FAKE_DIR/ext-a.events")
left=$(printf '%s' "$inv" | sed -n 's/^\([0-9]*\) .*"deadlineMs":\([0-9]*\).*/\2 - \1/p')
left=$((left))
if between "$left" 2000 3050; then ok "INVOKE deadlineMs is now + the function timeout ($left)"; else not_ok "INVOKE deadlineMs is now + the function timeout"; diag "deadline - now = $left"; fi
check "INVOKE carries the ARN and tracing" sh -c 'printf "%s" "$1" | grep -q "\"invokedFunctionArn\":\"arn:aws:lambda:us-east-1:012345678912:function:test_function\",\"tracing\":{\"type\":\"X-Amzn-Trace-Id\",\"value\":\"Root=1-"' sh "$inv"
is "$(cat "$FAKE_DIR/ext-a.regbody")" '{"functionName":"test_function","functionVersion":"$LATEST","handler":"handler"}' "register answers functionName, functionVersion, handler"
check "register answers a UUID v4 identifier" grep -Eqi '^lambda-extension-identifier: [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}' "$FAKE_DIR/ext-a.reghead"
check "extensions get AWS_LAMBDA_RUNTIME_API on loopback" grep -Eq '^AWS_LAMBDA_RUNTIME_API=127\.0\.0\.1:[0-9]+$' "$FAKE_DIR/ext-a.env"
check "extensions get the function metadata" sh -c 'grep -qx AWS_LAMBDA_FUNCTION_NAME=test_function "$1" && grep -qx "AWS_LAMBDA_FUNCTION_VERSION=\$LATEST" "$1" && grep -qx AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 "$1" && grep -qx AWS_REGION=us-east-1 "$1" && grep -qx AWS_LAMBDA_INITIALIZATION_TYPE=on-demand "$1"' sh "$FAKE_DIR/ext-a.env"
check "extensions do not get LAMBDA_TASK_ROOT, AWS_XRAY_DAEMON_ADDRESS, _HANDLER" sh -c '! grep -Eq "^(LAMBDA_TASK_ROOT|AWS_XRAY_DAEMON_ADDRESS|_HANDLER)=" "$1"' sh "$FAKE_DIR/ext-a.env"
is "$(grep -c '^START RequestId: ' "$T/run.out") $(grep -c '^END RequestId: ' "$T/run.out") $(grep -c '^REPORT RequestId: ' "$T/run.out")" "3 3 3" "START, END and REPORT once per invoke"
check "INIT_START comes first" sh -c 'head -1 "$1" | grep -q "^INIT_START "' sh "$T/run.out"
check "EXTENSION lines name the events" grep -qP '^EXTENSION\tName: ext-a\tState: Ready\tEvents: \[INVOKE, SHUTDOWN\]$' "$T/run.out"
check "TELEMETRY line for the subscriber" grep -qP '^TELEMETRY\tName: ext-tel\tState: Subscribed\tTypes: \[Platform\]$' "$T/run.out"
posts=$(jvals post_runtime_ms "$T/run.json" | tr '\n' ' ')
if [ "$(echo $posts | wc -w)" -eq 3 ] && all_ge 290 $posts; then
	ok "post-runtime duration measured (an extension works 300 ms after runtimeDone: $posts)"
else
	not_ok "post-runtime duration measured"; diag "post_runtime_ms: $posts"
fi
check "REPORT lines carry PostRuntimeExtensionsDuration" sh -c '[ "$(grep -cP "^REPORT .*\tPostRuntimeExtensionsDuration: (29[0-9]|[3-9][0-9][0-9]|[0-9]{4,})\.[0-9]{2} ms" "$1")" -eq 3 ]' sh "$T/run.out"
is "$(jvals status "$T/run.json" | tr '\n' ' ')" "success success success " "every invoke succeeded"
is "$(jval shutdown_reason "$T/run.json")" spindown "report: shutdown reason"
is "$(extval ext-a exit_code "$T/run.json") $(extval ext-a killed "$T/run.json")" "0 false" "report: ext-a exited 0, not killed"
is "$(extval ext-inv killed "$T/run.json") $(extval ext-inv kill_expected "$T/run.json") $(extval ext-inv ok "$T/run.json")" "true true true" "an INVOKE-only extension is SIGKILLed at shutdown, as Lambda does"
check "summary names overheads and each extension's exit" sh -c 'grep -q "^  init: " "$1" && grep -q "^  shutdown: " "$1" && grep -q "extension ext-a: registered, events \[INVOKE, SHUTDOWN\], exited 0" "$1"' sh "$T/run.out"
# Telemetry: the subscriber got platform.start, runtimeDone and report for every request.
is "$(cat "$FAKE_DIR/ext-tel.substatus")" 200 "telemetry subscription: 200"
is "$(cat "$FAKE_DIR/ext-tel.subbody")" OK "telemetry subscription: body OK"
tel_all=$(cat "$FAKE_DIR/ext-tel.tel"/*.body 2>/dev/null)
missing=""
for id in $ids_report; do
	for type in platform.start platform.runtimeDone platform.report; do
		printf '%s' "$tel_all" | grep -q "\"type\":\"$type\",\"record\":{\"requestId\":\"$id\"" || missing="$missing $type:$id"
	done
done
is "$missing" "" "telemetry: platform.start, runtimeDone and report delivered for every request"
check "telemetry: runtimeDone says success with metrics" sh -c 'printf "%s" "$1" | grep -q "\"platform.runtimeDone\",\"record\":{\"requestId\":\"[0-9a-f-]*\",\"status\":\"success\",\"metrics\":{\"durationMs\":[0-9.]*,\"producedBytes\":[0-9]*}"' sh "$tel_all"
check "telemetry: init records (initStart, extension, initReport) delivered" sh -c 'for t in initStart initRuntimeDone extension initReport telemetrySubscription; do printf "%s" "$1" | grep -q "\"type\":\"platform.$t\"" || exit 1; done' sh "$tel_all"
check "telemetry: POSTs are JSON arrays of {time,type,record}" sh -c 'for f in "$1"/*.body; do head -c 10 "$f" | grep -q "^\[{\"time\":\"" || exit 1; done' sh "$FAKE_DIR/ext-tel.tel"

# ---- fault injection: a late platform.runtimeDone holds up an extension waiting for it ----
exts "ext-tel:TELEMETRY=1\nWAIT_RUNTIME_DONE=1"
emu late --function "$FUNCTION" --invokes 2 --gap-ms 0 --runtime-done-delay-ms 400
status_is 0 late "--runtime-done-delay-ms run exits 0"
posts=$(jvals post_runtime_ms "$T/late.json" | tr '\n' ' ')
# The fake gives up waiting after about 3 s: under 2500 ms means runtimeDone did arrive.
if [ "$(echo $posts | wc -w)" -eq 2 ] && all_ge 380 $posts && all_lt 2500 $posts; then
	ok "--runtime-done-delay-ms 400: runtimeDone arrives late, post-runtime grows ($posts)"
else
	not_ok "--runtime-done-delay-ms 400: runtimeDone arrives late"; diag "post_runtime_ms: $posts"
fi

# ---- freeze: no CPU for the sandbox between invokes ----
exts "ext-tick:TICK=1"
emu freeze --function "$FUNCTION" --invokes 2 --gap-ms 1500
status_is 0 freeze "freeze run exits 0"
gap=$(max_tick_gap ext-tick)
if ge "$gap" 1300; then ok "sigstop: a background loop is stopped during the 1500 ms gap (longest pause $gap ms)"; else not_ok "sigstop: a background loop is stopped during the gap"; diag "longest pause between ticks: $gap ms"; fi
n1=$(wc -l <"$FAKE_DIR/ext-tick.ticks"); sleep 0.3; n2=$(wc -l <"$FAKE_DIR/ext-tick.ticks")
is "$n2" "$n1" "the extension's whole process group is gone after the run"
exts "ext-tick:TICK=1"
emu nofreeze --function "$FUNCTION" --invokes 2 --gap-ms 1500 --freeze none
gap=$(max_tick_gap ext-tick)
if ! ge "$gap" 1300; then ok "--freeze none: the loop keeps running through the gap (longest pause $gap ms)"; else not_ok "--freeze none: the loop keeps running"; diag "longest pause: $gap ms"; fi

# ---- an extension that never exits after SHUTDOWN ----
exts "ext-hang:ON_SHUTDOWN=hang" "ext-ok"
emu hang --function "$FUNCTION" --invokes 1 --gap-ms 0 --shutdown-ms 1000
status_is 1 hang "an extension SIGKILLed at the deadline: exit 1"
is "$(extval ext-hang killed "$T/hang.json") $(extval ext-hang ok "$T/hang.json")" "true false" "report: ext-hang killed, not ok"
is "$(extval ext-ok exit_code "$T/hang.json") $(extval ext-ok killed "$T/hang.json")" "0 false" "report: the other extension exited 0"
sd=$(jval shutdown_ms "$T/hang.json")
if between "$sd" 900 1800; then ok "the kill comes at the 1000 ms deadline ($sd ms)"; else not_ok "the kill comes at the deadline"; diag "shutdown_ms=$sd"; fi
check "the kill is logged" grep -q "extension 'ext-hang' did not exit by the shutdown deadline" "$T/hang.err"
check "summary says it was killed" grep -q "extension ext-hang: .*SIGKILLed (did not exit in time)" "$T/hang.out"

# ---- internal extensions only: the Shutdown phase is 500 ms, all of it the runtime's ----
# The runtime registers an internal extension, parks its next, and ignores SIGTERM.
cat >"$T/internal-fn.sh" <<'EOF'
api="http://$AWS_LAMBDA_RUNTIME_API/2020-01-01/extension"
id=$(curl -sS -m 10 -D - -o /dev/null -X POST -H 'Lambda-Extension-Name: internal-probe' \
	-d '{"events":[]}' "$api/register" | awk 'tolower($1) == "lambda-extension-identifier:" { print $2 }' | tr -d '\r')
curl -sS -m 60 -o /dev/null -H "Lambda-Extension-Identifier: $id" "$api/event/next" &
EOF
printf '%s\n' "$FUNCTION" >>"$T/internal-fn.sh"
exts
emu internal --function "trap '' TERM; exec bash $(printf '%q' "$T/internal-fn.sh")" --invokes 1 --gap-ms 0
status_is 0 internal "a run with an internal extension only exits 0"
is "$(extval internal-probe internal "$T/internal.json")" true "report: the internal extension is listed"
sd=$(jval shutdown_ms "$T/internal.json")
if between "$sd" 480 1800; then ok "internal extension only: the runtime gets 500 ms, then SIGKILL ($sd ms)"; else not_ok "internal extension only: the runtime gets 500 ms"; diag "shutdown_ms=$sd"; fi
check "summary: the runtime was SIGKILLed at the end of its share" grep -q "runtime: SIGKILLed (did not exit in time)" "$T/internal.out"

# ---- processes that left their process group end with the run ----
# The function starts a background loop in a session of its own (setsid).
if command -v setsid >/dev/null 2>&1; then
	cat >"$T/setsid-fn.sh" <<'EOF'
setsid sh -c 'echo $$ >"$STRAY_PID_FILE"; while :; do sleep 0.1; done' </dev/null >/dev/null 2>&1 &
EOF
	printf '%s\n' "$FUNCTION" >>"$T/setsid-fn.sh"
	exts "ext-a"
	STRAY_PID_FILE=$T/stray.pid emu setsid --function "bash $(printf '%q' "$T/setsid-fn.sh")" --invokes 2 --gap-ms 100
	status_is 0 setsid "a run whose function leaves a setsid loop behind exits 0"
	stray=$(cat "$T/stray.pid" 2>/dev/null)
	if [ -n "$stray" ]; then
		PIDS="$PIDS $stray"
		if wait_until 10 sh -c '! kill -0 "$1"' sh "$stray"; then ok "the setsid loop ($stray) is gone after the run"; else not_ok "the setsid loop is gone after the run"; diag "pid $stray still exists"; fi
	else
		not_ok "the setsid loop is gone after the run"; diag "the loop never wrote its pid"
	fi
	check "the kill is logged with a count" grep -Eq 'killed [1-9][0-9]* process\(es\) that left their process group' "$T/setsid.err"
else
	ok "# SKIP setsid is not installed"
	ok "# SKIP setsid is not installed"
	ok "# SKIP setsid is not installed"
fi

# ---- init limit; the retry in the next invoke, under the function timeout, fails too ----
exts "ext-never:NEVER_REGISTER=1"
start=$SECONDS
emu inittimeout --function "$FUNCTION" --init-timeout-ms 500 --invokes 1 --timeout-ms 700
status_is 1 inittimeout "init timeout: exit 1"
is "$(jval init_error "$T/inittimeout.json")" Sandbox.Timedout "init timeout: reported as Sandbox.Timedout"
check "init timeout: INIT_REPORT with Status: timeout" grep -qP '^INIT_REPORT Init Duration: [0-9.]+ ms\tPhase: init\tStatus: timeout\tError Type: Sandbox.Timedout$' "$T/inittimeout.out"
check "the retry in invoke 1: INIT_REPORT with Phase: invoke, bounded by the function timeout" grep -qP '^INIT_REPORT Init Duration: (69[0-9]|[7-9][0-9]{2}|[0-9]{4,})\.[0-9]+ ms\tPhase: invoke\tStatus: timeout\tError Type: Sandbox.Timedout$' "$T/inittimeout.out"
is "$(jval status "$T/inittimeout.json") $(jval reinit "$T/inittimeout.json") $(jvals init_status "$T/inittimeout.json" | tail -1)" "timeout true timeout" "report: the invoke that retried init timed out"
is "$(jval resets "$T/inittimeout.json") $(jvals environment "$T/inittimeout.json" | tr '\n' ' ')" "2 1 2 " "report: 2 resets, the extension started in 2 environments"
check "init timeout: the runtime never started" grep -q "runtime: not started" "$T/inittimeout.out"
check "init timeout: ends promptly" test $((SECONDS - start)) -lt $((10 * SLOW))

# ---- init failures reported by or seen on extensions ----
exts "ext-bad:INIT_ERROR=Extension.ConfigInvalid"
emu initerror --function "$FUNCTION" --invokes 1
status_is 1 initerror "init/error: exit 1"
is "$(jval init_error "$T/initerror.json")" Extension.InitError "init/error fails init (Extension.InitError)"
is "$(cat "$FAKE_DIR/ext-bad.errbody")" '{"status":"OK"}' "init/error answers 202 {\"status\":\"OK\"}"
is "$(extval ext-bad type "$T/initerror.json")" Extension.ConfigInvalid "the reported error type is kept"
exts
printf '#!/bin/sh\nexit 0\n' >"$T/ext/ext-crash"
chmod +x "$T/ext/ext-crash"
emu crash --function "$FUNCTION" --invokes 1
status_is 1 crash "an extension exiting 0 during init: exit 1"
is "$(jval init_error "$T/crash.json")" Extension.Crash "it is an Extension.Crash"

# ---- function timeout: reset with reason timeout ----
exts "ext-a"
emu fntimeout --function "$STUCK_FUNCTION" --timeout-ms 500 --invokes 1
status_is 1 fntimeout "function timeout: exit 1"
is "$(events ext-a)" "INVOKE SHUTDOWN " "function timeout: INVOKE, then SHUTDOWN"
check "function timeout: SHUTDOWN reason is timeout" grep -q '"shutdownReason":"timeout"' "$FAKE_DIR/ext-a.events"
is "$(jval status "$T/fntimeout.json") $(jval shutdown_reason "$T/fntimeout.json")" "timeout timeout" "report: invoke status timeout, shutdown reason timeout"
check "function timeout: the Task timed out line" grep -q 'Task timed out after 0.50 seconds' "$T/fntimeout.out"

# ---- resets: the sandbox is re-initialised for the next invoke ----
# A runtime that counts its invokes in $FN_DIR, which a reset leaves alone (as /tmp): it
# sleeps past the timeout on invoke SLEEP_ON; with FAIL_FIRST_INIT its first start exits
# before calling next. Every start appends its pid to $FN_DIR/starts.
cat >"$T/reset-fn.sh" <<'EOF'
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
dir=${FN_DIR:?}
echo $$ >>"$dir/starts"
if [ -n "${FAIL_FIRST_INIT:-}" ] && [ ! -e "$dir/failed-once" ]; then : >"$dir/failed-once"; exit 3; fi
while :; do
	curl -sS -m 120 -D "$dir/head" -o /dev/null "$api/invocation/next" || exit 0
	id=$(awk 'tolower($1) == "lambda-runtime-aws-request-id:" { print $2 }' "$dir/head" | tr -d '\r')
	echo "$id" >>"$dir/invokes"
	if [ "$(wc -l <"$dir/invokes")" = "${SLEEP_ON:-0}" ]; then sleep 60; fi
	curl -sS -m 10 -o /dev/null -X POST -d '"ok"' "$api/invocation/$id/response" || exit 0
done
EOF
# launches NAME: how many times the extension registered; distinct NAME FIELD: distinct
# pids (1) or identifiers (2) among them.
launches() { grep -c . "$FAKE_DIR/$1.launches"; }
distinct() { awk -v f="$2" '{ print $f }' "$FAKE_DIR/$1.launches" | sort -u | grep -c .; }
# reasons NAME: the shutdownReason of every SHUTDOWN the extension saw.
reasons() { sed -n 's/.*"shutdownReason":"\([a-z]*\)".*/\1/p' "$FAKE_DIR/$1.events" | tr '\n' ' '; }

# An invoke timeout: the invoke after it re-runs init with new processes.
exts "ext-a:TELEMETRY=1"
mkdir -p "$T/fn-reset"
emu reset --function "FN_DIR=$T/fn-reset SLEEP_ON=2 exec bash $(printf '%q' "$T/reset-fn.sh")" \
	--invokes 3 --gap-ms 100 --timeout-ms $((4000 * SLOW))
status_is 1 reset "a run with a reset: exit 1"
is "$(jvals status "$T/reset.json" | head -3 | tr '\n' ' ')" "success timeout success " \
	"invokes: success, timeout, then success again"
is "$(jvals reinit "$T/reset.json" | tr '\n' ' ')" "false false true " "only the invoke after the timeout starts with a re-init"
is "$(jval resets "$T/reset.json")" 1 "report: 1 reset"
is "$(launches ext-a) $(distinct ext-a 1) $(distinct ext-a 2)" "2 2 2" \
	"the extension was launched twice: two processes, two identifiers"
is "$(grep -c . "$T/fn-reset/starts")" 2 "the runtime was started twice"
is "$(events ext-a)" "INVOKE INVOKE SHUTDOWN INVOKE SHUTDOWN " "events: the reset's SHUTDOWN, then a new life"
is "$(reasons ext-a)" "timeout spindown " "SHUTDOWN reasons: timeout at the reset, spindown at the end"
left=$(grep -m1 '"SHUTDOWN"' "$FAKE_DIR/ext-a.events" | sed -n 's/^\([0-9]*\) .*"deadlineMs":\([0-9]*\).*/\2 - \1/p')
left=$((left))
if between "$left" 1000 1800; then ok "the reset's SHUTDOWN has the real window ($left ms left)"; else not_ok "the reset's SHUTDOWN has the real window"; diag "deadline - now = $left"; fi
is "$(jvals environment "$T/reset.json" | tr '\n' ' ')" "1 2 " "report: both lives of the extension are listed, by environment"
is "$(jvals ok "$T/reset.json" | tr '\n' ' ')" "true true " "report: each life of the extension ended cleanly"
rinit=$(jvals init_ms "$T/reset.json" | sed -n 4p)
if ge "$rinit" 1 && grep -qP '^  invoke 3 .* success .*, after a re-init of [0-9.]+ ms \(success\)$' "$T/reset.out"; then
	ok "the re-init's duration is reported ($rinit ms)"
else
	not_ok "the re-init's duration is reported"; diag "init_ms: $(jvals init_ms "$T/reset.json" | tr '\n' ' ')"
fi
check "summary: the count of resets" grep -q '^  resets:        1$' "$T/reset.out"
check "the third REPORT carries the re-init's Init Duration" sh -c '[ "$(grep -c "^REPORT .*Init Duration: " "$1")" -eq 2 ]' sh "$T/reset.out"
is "$(grep -c '^TELEMETRY' "$T/reset.out")" 2 "a new Telemetry subscription after the re-init"
check "the new subscription gets the re-init's records (phase invoke)" sh -c 'cat "$1"/*.body | grep -q "\"platform.initStart\",\"record\":{\"initializationType\":\"on-demand\",\"phase\":\"invoke\""' sh "$FAKE_DIR/ext-a.tel"

# A failed init is retried in the first invoke, under the function timeout, and succeeds.
exts "ext-a"
mkdir -p "$T/fn-reinit"
emu reinit --function "FN_DIR=$T/fn-reinit FAIL_FIRST_INIT=1 exec bash $(printf '%q' "$T/reset-fn.sh")" \
	--invokes 2 --gap-ms 100 --timeout-ms $((4000 * SLOW))
status_is 1 reinit "a run whose first init failed: exit 1"
is "$(jval init_status "$T/reinit.json") $(jval init_error "$T/reinit.json")" "error Runtime.ExitError" \
	"report: the first init failed (Runtime.ExitError)"
check "INIT_REPORT for the failed init: Phase: init, Status: error" grep -qP '^INIT_REPORT Init Duration: [0-9.]+ ms\tPhase: init\tStatus: error\tError Type: Runtime.ExitError$' "$T/reinit.out"
is "$(jvals status "$T/reinit.json" | head -2 | tr '\n' ' ')" "success success " "both invokes succeed"
is "$(jvals reinit "$T/reinit.json" | tr '\n' ' ')" "true false " "the first invoke re-ran init"
is "$(jvals init_status "$T/reinit.json" | head -2 | tr '\n' ' ')" "error success " "report: the retry succeeded"
is "$(launches ext-a) $(distinct ext-a 2) $(grep -c . "$T/fn-reinit/starts") $(grep -c . "$T/fn-reinit/invokes")" "2 2 2 2" \
	"extension and runtime started twice; the second runtime took both invokes"
is "$(reasons ext-a)" "failure spindown " "SHUTDOWN reasons: failure after the failed init, then spindown"
is "$(jval resets "$T/reinit.json")" 1 "report: 1 reset"

# ---- telemetry modes ----
exts "ext-tel:TELEMETRY=1"
emu stub --function "$FUNCTION" --invokes 1 --gap-ms 0 --telemetry stub202
status_is 0 stub "stub202 run exits 0"
is "$(cat "$FAKE_DIR/ext-tel.substatus")" 202 "--telemetry stub202: subscription answered 202"
is "$(cat "$FAKE_DIR/ext-tel.subbody")" '{"errorMessage":"Telemetry API is not supported","errorType":"Telemetry.NotSupported"}' "--telemetry stub202: the RIE's body"
exts "ext-tel:TELEMETRY=1"
emu teloff --function "$FUNCTION" --invokes 1 --gap-ms 0 --telemetry off
is "$(cat "$FAKE_DIR/ext-tel.substatus")" 404 "--telemetry off: subscription answered 404"

# ---- the APIs' answers, as the RIE gives them (init held open by an unregistered extension) ----
exts "ext-slow:NEVER_REGISTER=1"
rm -f "$T/api.port"
${RELAY_VALGRIND:+$RELAY_VALGRIND --log-file=$T/api.vg} "$EMULATOR_BIN" --extensions "$T/ext" \
	--function "$FUNCTION" --listen 127.0.0.1:0 --port-file "$T/api.port" --init-timeout-ms $((20000 * SLOW)) \
	--invokes 0 --report "$T/api.json" >"$T/api.out" 2>"$T/api.err" &
api_pid=$!
PIDS="$PIDS $api_pid"
if wait_until 10 test -s "$T/api.port"; then ok "--port-file gets the bound port"; else not_ok "--port-file gets the bound port"; fi
B="http://127.0.0.1:$(cat "$T/api.port" 2>/dev/null)"
# api DESC STATUS TYPE CURL-ARGS...: one call; its status and errorType.
api() {
	local desc=$1 want=$2 type=$3; shift 3
	local got
	got=$(curl -sS -m $((5 * SLOW)) -o "$T/api.body" -w '%{http_code}' "$@" 2>/dev/null)
	if [ "$got" = "$want" ] && { [ -z "$type" ] || grep -q "\"errorType\":\"$type\"" "$T/api.body"; }; then
		ok "$desc"
	else
		not_ok "$desc"; diag "status $got, want $want $type"; diag "body: $(cat "$T/api.body")"
	fi
}
REG="$B/2020-01-01/extension/register"
api "register without Lambda-Extension-Name: 403" 403 Extension.InvalidExtensionName -X POST -d '{}' "$REG"
api "register with bad JSON: 403" 403 InvalidRequestFormat -X POST -H 'Lambda-Extension-Name: probe' -d '{"events":' "$REG"
api "register with an empty body: 403" 403 InvalidRequestFormat -X POST -H 'Lambda-Extension-Name: probe' "$REG"
api "register with configurationKeys: 403" 403 InvalidRequestFormat -X POST -H 'Lambda-Extension-Name: probe' -d '{"configurationKeys":["A"]}' "$REG"
api "register for an unknown event: 403" 403 Extension.InvalidEventType -X POST -H 'Lambda-Extension-Name: probe' -d '{"events":["INVOKE","BOGUS"]}' "$REG"
api "an internal extension (no such file) may not take SHUTDOWN: 403" 403 Extension.InvalidEventType -X POST -H 'Lambda-Extension-Name: probe' -d '{"events":["SHUTDOWN"]}' "$REG"
check "...with the RIE's message" grep -q 'SHUTDOWN: ShutdownEventNotSupportedForInternalExtension' "$T/api.body"
api "an internal extension registers for INVOKE: 200" 200 "" -X POST -D "$T/api.head" -H 'Lambda-Extension-Name: probe' -H 'Lambda-Extension-Accept-Feature: accountId' -d '{"events":["INVOKE"]}' "$REG"
is "$(cat "$T/api.body")" '{"accountId":"012345678912","functionName":"test_function","functionVersion":"$LATEST","handler":"handler"}' "accountId comes first when the feature is asked for"
ID=$(awk 'tolower($1) == "lambda-extension-identifier:" { print $2 }' "$T/api.head" | tr -d '\r')
api "registering the same internal name again: 403" 403 Extension.InvalidExtensionState -X POST -H 'Lambda-Extension-Name: probe' -d '{"events":[]}' "$REG"
NEXT="$B/2020-01-01/extension/event/next"
api "next without an identifier: 403" 403 Extension.MissingExtensionIdentifier "$NEXT"
api "next with a malformed identifier: 403" 403 Extension.InvalidExtensionIdentifier -H 'Lambda-Extension-Identifier: 12345' "$NEXT"
api "next with an unknown identifier: 403" 403 Extension.UnknownExtensionIdentifier -H 'Lambda-Extension-Identifier: 3da1f2dc-3222-475e-9205-e2e6c6318895' "$NEXT"
api "init/error without the error type: 403" 403 Extension.MissingHeader -X POST -H "Lambda-Extension-Identifier: $ID" "$B/2020-01-01/extension/init/error"
api "exit/error with an unknown identifier: 403" 403 Extension.UnknownExtensionIdentifier -X POST -H 'Lambda-Extension-Function-Error-Type: X.Y' -H 'Lambda-Extension-Identifier: 3da1f2dc-3222-475e-9205-e2e6c6318895' "$B/2020-01-01/extension/exit/error"
TEL="$B/2022-07-01/telemetry"
api "telemetry without an identifier: 403" 403 Extension.MissingExtensionIdentifier -X PUT -d '{}' "$TEL"
api "telemetry with a bad schemaVersion: 400" 400 ValidationError -X PUT -H "Lambda-Extension-Identifier: $ID" -d '{"schemaVersion":"2020-08-15","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:9999/"}}' "$TEL"
api "telemetry to another host: 400" 400 ValidationError -X PUT -H "Lambda-Extension-Identifier: $ID" -d '{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://example.com:9999/"}}' "$TEL"
api "telemetry with maxItems out of range: 400" 400 ValidationError -X PUT -H "Lambda-Extension-Identifier: $ID" -d '{"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"maxItems":10},"destination":{"protocol":"HTTP","URI":"http://sandbox:9999/"}}' "$TEL"
api "telemetry with an unknown type: 400" 400 ValidationError -X PUT -H "Lambda-Extension-Identifier: $ID" -d '{"schemaVersion":"2022-12-13","types":["platform","bogus"],"destination":{"protocol":"HTTP","URI":"http://sandbox:9999/"}}' "$TEL"
api "the Logs API is a 202 stub" 202 Logs.NotSupported -X PUT -d '{}' "$B/2020-08-15/logs"
api "a response for an unknown request id: 400" 400 InvalidRequestID -X POST -d '{}' "$B/2018-06-01/runtime/invocation/nope/response"
api "an unknown path: 404" 404 "" "$B/2020-01-01/extension/nothing"
api "a wrong method: 405" 405 "" "$REG"
curl -sS -m $((30 * SLOW)) -o "$T/parked.body" -H "Lambda-Extension-Identifier: $ID" "$NEXT" 2>/dev/null &
parked=$!
PIDS="$PIDS $parked"
sleep 0.3
api "a second concurrent next: 403" 403 Extension.InvalidExtensionState -H "Lambda-Extension-Identifier: $ID" "$NEXT"
check "...State transition from Ready to Ready" grep -q 'State transition from Ready to Ready failed' "$T/api.body"
api "init/error once Ready: 403" 403 Extension.InvalidExtensionState -X POST -H 'Lambda-Extension-Function-Error-Type: Extension.Probe' -H "Lambda-Extension-Identifier: $ID" "$B/2020-01-01/extension/init/error"
api "exit/error: 202 {\"status\":\"OK\"}" 202 "" -X POST -H 'Lambda-Extension-Function-Error-Type: Extension.Probe' -H "Lambda-Extension-Identifier: $ID" -d '{"errorMessage":"probe","errorType":"Probe"}' "$B/2020-01-01/extension/exit/error"
i=0
while kill -0 "$api_pid" 2>/dev/null && [ $i -lt $((200 * SLOW)) ]; do sleep 0.05; i=$((i + 1)); done
wait "$api_pid"
EMU_STATUS=$?
status_is 1 api "exit/error during init fails init: exit 1"
is "$(jval init_error "$T/api.json")" Extension.ExitError "...as Extension.ExitError"
is "$(extval probe message "$T/api.json")" probe "the error body's message is kept"
show_vg api
wait "$parked" 2>/dev/null || true

# ---- SIGTERM to the emulator kills everything ----
exts "ext-tick:TICK=1"
${RELAY_VALGRIND:+$RELAY_VALGRIND --log-file=$T/sig.vg} "$EMULATOR_BIN" --extensions "$T/ext" \
	--function "$FUNCTION" --listen 127.0.0.1:0 --gap-ms 60000 --report "$T/sig.json" >"$T/sig.out" 2>"$T/sig.err" &
sig_pid=$!
PIDS="$PIDS $sig_pid"
wait_until 20 grep -q '^REPORT' "$T/sig.out" || diag "no REPORT line before SIGTERM"
kill -TERM "$sig_pid"
i=0
while kill -0 "$sig_pid" 2>/dev/null && [ $i -lt $((100 * SLOW)) ]; do sleep 0.05; i=$((i + 1)); done
wait "$sig_pid"
EMU_STATUS=$?
status_is 1 sig "SIGTERM: the emulator ends promptly with exit 1"
is "$(jval interrupted "$T/sig.json")" true "SIGTERM: the report says interrupted"
n1=$(wc -l <"$FAKE_DIR/ext-tick.ticks"); sleep 0.3; n2=$(wc -l <"$FAKE_DIR/ext-tick.ticks")
is "$n2" "$n1" "SIGTERM: the extensions' process groups are gone"
show_vg sig

# ---- telemetry batching: a batch goes out timeoutMs after its first record, not sooner ----
# epoch_ms ISO: wall-clock ms of a record's "time".
epoch_ms() { date -u -d "$1" +%s%3N; }
exts "ext-tel:TELEMETRY=1\nWAIT_RUNTIME_DONE=1\nTEL_TIMEOUT=200"
emu batch --function "$FUNCTION" --invokes 3 --gap-ms 100
status_is 0 batch "a run with timeoutMs 200 exits 0"
early="" late="" nrd=0
for body in "$FAKE_DIR/ext-tel.tel"/req-*.body; do
	tf=${body%.body}.time
	recv=$(sed -n 's/^received_ms \([0-9]*\).*/\1/p' "$tf")
	first=$(epoch_ms "$(sed -n 's/^\[{"time":"\([^"]*\)".*/\1/p' "$body")")
	# Both times are cut to the ms and come from two processes: a batch is early below 195 ms.
	[ $((recv - first)) -ge 195 ] || early="$early $((recv - first))"
	for t in $(grep -o '"time":"[^"]*","type":"platform.runtimeDone"' "$body" | sed 's/"time":"\([^"]*\)".*/\1/'); do
		nrd=$((nrd + 1))
		d=$((recv - $(epoch_ms "$t")))
		[ "$d" -le $((200 + 400 * SLOW)) ] || late="$late $d"
	done
done
is "$early" "" "no batch was POSTed before timeoutMs (200 ms) after its first record"
is "$nrd $late" "3 " "each runtimeDone reached the subscriber within timeoutMs (plus delivery) of its emission"

# ---- measures: init times per extension, post-response, warm statistics, freezes, random gaps ----
exts "ext-a" "ext-post:POST_INVOKE_SLEEP=0.2"
cp "$FLOOR_EXT_BIN" "$T/ext/floor-extension"
emu measure --function "SAMPLE_WORK_MS=30 $FUNCTION" --invokes 5 --gap-ms 100-300
status_is 0 measure "a run with --gap-ms 100-300 exits 0"
reg=$(extval floor-extension exec_to_register_ms "$T/measure.json")
nxt=$(extval floor-extension exec_to_first_next_ms "$T/measure.json")
if ge "$reg" 0.01 && ge "$nxt" "$reg" && all_lt $((5000 * SLOW)) "$nxt"; then
	ok "report: the floor extension's exec -> register ($reg ms) <= exec -> first next ($nxt ms)"
else
	not_ok "report: exec -> register and exec -> first next"; diag "register $reg, first next $nxt"
fi
check "summary: an init line per extension with both times" sh -c '[ "$(grep -c "^  extension init [a-z-]* (environment 1): exec -> register [0-9.]* ms, exec -> first next [0-9.]* ms$" "$1")" -eq 3 ]' sh "$T/measure.out"
# ext-post calls next 200 ms after its INVOKE: release -> response -> its next is >= 200 ms,
# and the runtime's next comes after its response.
posts=$(jvals post_response_ms "$T/measure.json" | tr '\n' ' ')
sums=$(paste -d' ' <(jvals runtime_ms "$T/measure.json") <(jvals post_response_ms "$T/measure.json") \
	<(jvals post_runtime_ms "$T/measure.json") | awk '{ printf "%d ", ($1 + $2 >= 195 && $2 >= $3) }')
if [ "$(echo $posts | wc -w)" -eq 5 ] && [ "$sums" = "1 1 1 1 1 " ]; then
	ok "post-response: the runtime's response -> the last extension's next, per invoke ($posts)"
else
	not_ok "post-response per invoke"; diag "post_response_ms: $posts"; diag "checks: $sums"
fi
check "the extension's own next time is reported per invoke" sh -c '[ "$(grep -c "\"ext-post\": [0-9.]*" "$1")" -eq 5 ]' sh "$T/measure.json"
is "$(jvals cold "$T/measure.json" | tr '\n' ' ')" "true false false false false " "only the first invoke is cold"
is "$(jval warm_invokes "$T/measure.json")" 4 "warm statistics over the 4 warm invokes"
check "summary: p50, mean and p99 of warm post-runtime and post-response" sh -c 'grep -Eq "^  post-runtime \(warm\) +p50 [0-9.]+ ms, mean [0-9.]+ ms, p99 [0-9.]+ ms \(4 invokes\)$" "$1" && grep -Eq "^  post-response \(warm\) +p50 [0-9.]+ ms, mean [0-9.]+ ms, p99 [0-9.]+ ms \(4 invokes\)$" "$1"' sh "$T/measure.out"
frozen=$(jvals frozen_at_ms "$T/measure.json" | tr '\n' ' ')
thawed=$(jvals thawed_at_ms "$T/measure.json" | tr '\n' ' ')
gaps=$(awk -v f="$frozen" -v t="$thawed" 'BEGIN { n = split(f, a, " "); split(t, b, " "); for (i = 1; i <= n; i++) printf "%d ", b[i] - a[i] }')
if [ "$(echo $gaps | wc -w)" -eq 5 ] && all_ge 95 $gaps && all_lt $((300 + 700 * SLOW)) $gaps; then
	ok "5 freezes in the report, each thawed 100-300 ms later ($gaps)"
else
	not_ok "freezes in the report"; diag "frozen $frozen"; diag "thawed $thawed"
fi

# ---- the sink: request timings, a remote far away, connection statistics ----
start_sink far --rtt-ms 150 --stats-file "$T/far.stats"
times=$(curl -sS -m 10 -o /dev/null -o /dev/null -w '%{time_total} ' -d a "http://127.0.0.1:$SINK_PORT/ingest" \
	-d b "http://127.0.0.1:$SINK_PORT/ingest")
t1=$(echo $times | cut -d' ' -f1); t2=$(echo $times | cut -d' ' -f2)
if ge "$t1" 0.29 && ge "$t2" 0.145 && all_lt 0.29 "$t2"; then
	ok "--rtt-ms 150: a new connection costs 2 round trips ($t1 s), a reused one 1 ($t2 s)"
else
	not_ok "--rtt-ms 150"; diag "times: $times"
fi
check "req-NNN.time: first byte <= received <= answered, on connection 1" sh -c 'for f in "$1"/req-00[12].time; do awk "{ v[\$1] = \$2 } END { exit !(v[\"first_byte_ms\"] > 0 && v[\"first_byte_ms\"] <= v[\"received_ms\"] && v[\"received_ms\"] + 140 <= v[\"answered_ms\"] && v[\"conn\"] == 1) }" "$f" || exit 1; done' sh "$T/far"
kill "$far_PID"; wait "$far_PID" 2>/dev/null
check "the stats file: 1 connection, 2 requests, bytes both ways" grep -Eq '^\{"connections":1,"requests":2,"tls_handshakes":0,.*"bytes_read":[1-9][0-9]*,"bytes_written":[1-9][0-9]*' "$T/far.stats"
check "a line per closed connection" grep -Eq '^sink: conn 1 closed: requests=2 tls=no handshake=none bytes_read=[0-9]+ bytes_written=[0-9]+$' "$T/far.out"

# ---- no upload in flight across a freeze: the check catches an extension that leaves one ----
# The answer comes 1.5 s after the upload; the invoke is over long before.
start_sink slowup --delay-ms 1500
echo "$SINK_PORT" >"$T/slowup.portfile"
exts "ext-up:UPLOAD=$T/slowup.portfile\nUPLOAD_WAIT=0"
emu inflight --function "$FUNCTION" --invokes 2 --gap-ms 2000
status_is 0 inflight "an extension that does not wait for its upload: the run itself is accepted"
bash "$TOP_SRCDIR/tools/emulator/inflight-check.sh" "$T/inflight.json" "$T/slowup" >"$T/inflight.check"
is "$?" 1 "inflight-check finds the uploads left in flight across the freezes"
check "...and names them" grep -Eq 'req-[0-9]{3} in flight across the freeze at' "$T/inflight.check"
kill "$slowup_PID"; wait "$slowup_PID" 2>/dev/null
start_sink waitup --delay-ms 300
echo "$SINK_PORT" >"$T/waitup.portfile"
exts "ext-up:UPLOAD=$T/waitup.portfile\nUPLOAD_WAIT=1"
emu waited --function "$FUNCTION" --invokes 2 --gap-ms 600
bash "$TOP_SRCDIR/tools/emulator/inflight-check.sh" "$T/waited.json" "$T/waitup" >"$T/waited.check"
is "$?" 0 "inflight-check passes an extension that waits for its uploads before next"
check "...having checked 2 requests and 2 freezes" grep -q 'none of 2 requests was in flight across any of 2 freezes' "$T/waited.check"
kill "$waitup_PID"; wait "$waitup_PID" 2>/dev/null

# ---- Lambda Managed Instances ----
# INVOKE is refused: the extension cannot register, exits, and the init fails (Extension.Crash).
exts "ext-a"
emu lmi-invoke --managed-instances --function "$FUNCTION" --invokes 1
status_is 1 lmi-invoke "LMI: an extension registering for INVOKE fails the init: exit 1"
check "LMI: register for INVOKE answered 403" grep -q '^HTTP/1.1 403' "$FAKE_DIR/ext-a.reghead"
is "$(cat "$FAKE_DIR/ext-a.regbody")" '{"errorMessage":"INVOKE: ErrorInvalidEventType","errorType":"Extension.InvalidEventType"}' \
	"LMI: ...with Extension.InvalidEventType and the real message"
is "$(jval init_status "$T/lmi-invoke.json") $(jval init_error "$T/lmi-invoke.json")" "error Extension.Crash" \
	"LMI: the extension's exit is an Extension.Crash and the init failed"
check "LMI: extensions get AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances" grep -qx AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances "$FAKE_DIR/ext-a.env"

# SHUTDOWN only: accepted; concurrent invokes; no freeze; the floor extension adapts by itself.
exts "ext-s:EVENTS='\"SHUTDOWN\"'\nTELEMETRY=1\nTEL_SCHEMA=2025-01-29" "ext-old:EVENTS='\"SHUTDOWN\"'\nTELEMETRY=1"
cp "$FLOOR_EXT_BIN" "$T/ext/floor-extension"
emu lmi --managed-instances --concurrency 3 --function "env > $(printf '%q' "$FAKE_DIR/fn.env"); SAMPLE_WORK_MS=500 $FUNCTION" \
	--invokes 6 --gap-ms 0
status_is 0 lmi "LMI: SHUTDOWN-only extensions, 6 invokes, 3 at once: exit 0"
is "$(extval floor-extension registered "$T/lmi.json") $(extval floor-extension exit_code "$T/lmi.json")" "true 0" \
	"LMI: the floor extension registered (SHUTDOWN only) and exited 0"
check "LMI: the function gets AWS_LAMBDA_MAX_CONCURRENCY=3" grep -qx AWS_LAMBDA_MAX_CONCURRENCY=3 "$FAKE_DIR/fn.env"
mc=$(jval max_concurrent_invokes "$T/lmi.json")
if ge "$mc" 2; then ok "LMI: invokes ran concurrently (at most $mc at once)"; else not_ok "LMI: invokes ran concurrently"; diag "max_concurrent_invokes=$mc"; fi
is "$(jvals status "$T/lmi.json" | tr '\n' ' ')" "success success success success success success " "LMI: every invoke succeeded"
is "$(grep -c '"frozen_at_ms"' "$T/lmi.json")" 0 "LMI: no freeze"
is "$(events ext-s)" "SHUTDOWN " "LMI: a SHUTDOWN-only extension gets only SHUTDOWN"
is "$(cat "$FAKE_DIR/ext-old.substatus")" 400 "LMI: a Telemetry subscription with schema 2022-12-13 is refused (400)"
is "$(cat "$FAKE_DIR/ext-s.substatus")" 200 "LMI: schema 2025-01-29 is accepted"
tel_all=$(cat "$FAKE_DIR/ext-s.tel"/*.body 2>/dev/null)
missing=""
for id in $(jvals request_id "$T/lmi.json"); do
	printf '%s' "$tel_all" | grep -q "\"type\":\"platform.start\",\"record\":{\"requestId\":\"$id\"" || missing="$missing $id"
done
is "$missing" "" "LMI: platform.start delivered for every request"
check "LMI: no platform.runtimeDone" sh -c '! printf "%s" "$1" | grep -q platform.runtimeDone' sh "$tel_all"
shut=$(grep '"SHUTDOWN"' "$FAKE_DIR/ext-s.events")
left=$(printf '%s' "$shut" | sed -n 's/^\([0-9]*\) .*"deadlineMs":\([0-9]*\).*/\2 - \1/p'); left=$((left))
if between "$left" 1000 2000; then ok "LMI: a runtime that exits at SIGTERM: SHUTDOWN comes at once, deadline 2 s after the start ($left ms left)"; else not_ok "LMI: SHUTDOWN deadline with a prompt runtime"; diag "deadline - now = $left"; fi

# A runtime that ignores SIGTERM keeps its 600 ms; the extensions' deadline stays start + 2 s.
exts "ext-s:EVENTS='\"SHUTDOWN\"'"
emu lmi-term --managed-instances --function "trap '' TERM; $FUNCTION" --invokes 1
status_is 0 lmi-term "LMI: a runtime ignoring SIGTERM: exit 0"
shut=$(grep '"SHUTDOWN"' "$FAKE_DIR/ext-s.events")
left=$(printf '%s' "$shut" | sed -n 's/^\([0-9]*\) .*"deadlineMs":\([0-9]*\).*/\2 - \1/p'); left=$((left))
if between "$left" 500 1450; then ok "LMI: SHUTDOWN after the runtime's 600 ms, deadline start + 2 s ($left ms left)"; else not_ok "LMI: SHUTDOWN after the runtime's 600 ms"; diag "deadline - now = $left"; fi
sd=$(jval shutdown_ms "$T/lmi-term.json")
if between "$sd" 590 $((1900 * SLOW)); then ok "LMI: the runtime was SIGKILLed at 600 ms, then the extension exited ($sd ms)"; else not_ok "LMI: shutdown timing"; diag "shutdown_ms=$sd"; fi
check "LMI: the summary says the runtime was SIGKILLed" grep -q "runtime: SIGKILLed (did not exit in time)" "$T/lmi-term.out"
cli_bad "--concurrency needs --managed-instances" "--concurrency needs --managed-instances" --function true --concurrency 2

# ---- the sink over TLS: handshakes, resumed sessions (tickets) and bytes per connection ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/sink.key" \
	-out "$T/sink.crt" -days 2 -subj /CN=localhost >/dev/null 2>&1
start_sink tlsstats --tls-cert "$T/sink.crt" --tls-key "$T/sink.key" --stats-file "$T/tlsstats.stats"
# tls_post VERSION-FLAG: two connections, the second resuming the first's session (ticket).
tls_post() {
	local i
	rm -f "$T/sess"
	for i in 1 2; do
		printf 'POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx' |
			timeout $((10 * SLOW)) openssl s_client -quiet "$1" -connect "127.0.0.1:$SINK_PORT" \
			$([ -s "$T/sess" ] && echo -sess_in "$T/sess") -sess_out "$T/sess" >/dev/null 2>&1
	done
}
tls_post -tls1_3
tls_post -tls1_2
wait_until 10 test "$(grep -c 'closed:' "$T/tlsstats.out")" -ge 4
kill "$tlsstats_PID"; wait "$tlsstats_PID" 2>/dev/null
is "$(sed -n 's/^sink: conn [0-9]* closed: requests=1 tls=\(TLSv1\.[23]\) handshake=\([a-z]*\) .*/\1 \2/p' "$T/tlsstats.out" | tr '\n' ' ')" \
	"TLSv1.3 full TLSv1.3 resumed TLSv1.2 full TLSv1.2 resumed " "TLS: the sink issues tickets; resumed handshakes are told apart, TLS 1.3 and 1.2"
check "TLS: the stats file counts 4 handshakes, 2 resumed, and bytes" grep -Eq '^\{"connections":4,"requests":4,"tls_handshakes":4,"tls_full":2,"tls_resumed":2,"tls_failed":0,"tls12":2,"tls13":2,"bytes_read":[1-9][0-9]*,"bytes_written":[1-9][0-9]*' "$T/tlsstats.stats"
full=$(sed -n 's/.*tls=TLSv1.3 handshake=full bytes_read=[0-9]* bytes_written=\([0-9]*\)$/\1/p' "$T/tlsstats.out")
resumed=$(sed -n 's/.*tls=TLSv1.3 handshake=resumed bytes_read=[0-9]* bytes_written=\([0-9]*\)$/\1/p' "$T/tlsstats.out")
if [ -n "$full" ] && [ -n "$resumed" ] && [ "$resumed" -lt "$full" ]; then
	ok "TLS 1.3: a resumed connection costs the server fewer bytes ($resumed) than a full one ($full)"
else
	not_ok "TLS 1.3: resumed vs full bytes"; diag "full $full, resumed $resumed"
fi

done_testing
