#!/bin/bash
# sdk_lambda.sh -- the real Pyroscope Node.js SDK (@pyroscope/nodejs 0.6.4 from npm) in a Node
# function under the project's Lambda emulator, with the relay as the external extension:
# a few invokes of ~1.2 s of CPU-busy work each, the sandbox frozen (SIGSTOP) between them,
# the SDK flushing every 400 ms (so during invokes) and once more from Pyroscope.stop() on
# SIGTERM at SHUTDOWN. The function (tests/sdk/lambda_runtime.js) records every upload it made
# (body SHA-256 and the relay's answer) as it goes. The adaptive strategy is tuned so that both
# of its modes run: invokes 1-2 flush at their end (warm-up 2), 3-4 at their start (busy
# interval 5 s), so invoke 4's uploads and the SDK's last flush wait for SHUTDOWN. Checked:
# the run is one Lambda accepts, the extension exits 0 on its own, every upload answered 200
# reached the sink byte-exact, none was in flight across a freeze, the relay's exit summary
# has nothing dropped, the profiles decode with the expected types and name. Skipped (never
# failed) when node >= 20.19, the npm registry or the SDK's native module is missing.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"
EMULATOR_BIN=${EMULATOR_BIN:-$TOP_SRCDIR/pyroscope-lambda-emulator}
SDK_DIR=$TOP_SRCDIR/tests/sdk
INVOKES=4
# Our own environment must not leak Lambda settings into the run.
unset AWS_LAMBDA_FUNCTION_NAME AWS_LAMBDA_FUNCTION_MEMORY_SIZE AWS_REGION _HANDLER 2>/dev/null || true

. "$TOP_SRCDIR/tests/npm.sh"

node_check || skip_all "$SKIP_REASON"
npm_ready nodejs-0.6.4 @pyroscope/nodejs@0.6.4 pprof-format@2.3.2 || skip_all "$SKIP_REASON"
sdk_loads || skip_all "$SKIP_REASON"
diag "@pyroscope/nodejs 0.6.4 from $NPM_DIR, node $(node --version)"

# --- the extensions dir: the relay (in valgrind when RELAY_VALGRIND is set) -------------------
lambda_ext "$T/ext"

# --- the run ------------------------------------------------------------------------------
start_sink up || { not_ok "the sink started"; done_testing; exit 1; }
PORT=$(free_port)
APP=lambda-node-app
TAGS=env=lambda-test,function=sdk_lambda
FUNCTION="exec node $(printf '%q' "$SDK_DIR/lambda_runtime.js") run"
start=$(date +%s%3N)
env -i PATH="$PATH" HOME="$T" TZ=UTC ${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS} \
	${UBSAN_OPTIONS:+UBSAN_OPTIONS=$UBSAN_OPTIONS} \
	AWS_LAMBDA_FUNCTION_NAME=sdk_lambda AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512 \
	PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" PYROSCOPE_LISTEN_ADDRESS="127.0.0.1:$PORT" \
	NPM_DIR="$NPM_DIR" SDK_RELAY_PORT="$PORT" SDK_LOG="$T/sdk.jsonl" SDK_APP="$APP" SDK_TAGS="$TAGS" \
	SDK_FLUSH_MS=400 SDK_BUSY_MS=1200 DEBUG=pyroscope PYROSCOPE_LOG_LEVEL=debug \
	PYROSCOPE_FLUSH_ADAPTIVE_WARMUP=2 PYROSCOPE_FLUSH_ADAPTIVE_INTERVAL=5s \
	timeout $((60 * SLOW)) "$EMULATOR_BIN" --listen 127.0.0.1:0 --extensions "$T/ext" \
	--function "$FUNCTION" --invokes $INVOKES --gap-ms 300 --report "$T/emu.json" \
	--init-timeout-ms $((10000 * SLOW)) --timeout-ms $((6000 * SLOW)) >"$T/emu.out" 2>"$T/emu.err"
EMU_STATUS=$?
elapsed=$(( $(date +%s%3N) - start ))

post_runtime() { sed -n 's/.*post-runtime \([0-9.]*\) ms.*/\1/p' "$T/emu.out" | tr '\n' ' '; }
ext_line() { grep 'extension pyroscope-lambda-extension:' "$T/emu.out"; }
diag "emulator run: ${elapsed} ms, exit status $EMU_STATUS"
grep -E '^ *(init:|invoke [0-9]+ |shutdown:|runtime:)' "$T/emu.out" | sed 's/^ */# /'
diag "post-runtime durations (ms): $(post_runtime)"
diag "relay: $(grep -o 'Relay stopped: [^"]*' "$T/emu.err" | head -1)"

if [ "$EMU_STATUS" = 0 ]; then ok "the emulator accepts the run (exit 0)"; else
	not_ok "the emulator accepts the run (exit 0)"; diag "exit status $EMU_STATUS"
	tail -30 "$T/emu.out" | sed 's/^/#   out: /'
	tail -40 "$T/emu.err" | sed 's/^/#   err: /'
fi
check "every invoke succeeded ($(grep -c 'invoke [0-9]* *runtime .*success' "$T/emu.out")/$INVOKES)" \
	test "$(grep -c 'invoke [0-9]* *runtime .*success' "$T/emu.out")" -eq $INVOKES
if grep -q 'extension pyroscope-lambda-extension: registered, events \[INVOKE, SHUTDOWN\], exited 0$' "$T/emu.out"; then
	ok "the extension registered, exited 0 at SHUTDOWN, never SIGKILLed"
else
	not_ok "the extension registered, exited 0 at SHUTDOWN, never SIGKILLed"
	diag "$(ext_line)"
	cat "$T"/valgrind.*.log 2>/dev/null | sed 's/^/#   valgrind: /'
fi
# shellcheck disable=SC2016
ext_report=$(timeout 10 node -e 'const r = require(process.argv[1]); const e = r.extensions[0] || {};
	console.log(`${e.name} state=${e.state} exit_code=${e.exit_code} signal=${e.signal} killed=${e.killed} ok=${e.ok}`)' "$T/emu.json" 2>&1)
is "$ext_report" "pyroscope-lambda-extension state=Exited exit_code=0 signal=null killed=false ok=true" \
	"the report: the extension exited 0 on its own"
check "the relay drained at SHUTDOWN on its own" grep -q "Received SHUTDOWN event (reason 'spindown')" "$T/emu.err"
is "$(grep -o 'busy streak [0-9]*): flushing at its [a-z]*' "$T/emu.err" | sed 's/.*its //' | tr '\n' ' ')" \
	"end end start start " "adaptive: invokes 1-2 flushed at their end, 3-4 at their start"
check "no upload in flight across any freeze ($(bash "$TOP_SRCDIR/tools/emulator/inflight-check.sh" "$T/emu.json" "$T/up" 2>&1 | tail -1))" \
	bash "$TOP_SRCDIR/tools/emulator/inflight-check.sh" "$T/emu.json" "$T/up"
if grep -q 'level=error' "$T/emu.err"; then
	not_ok "the relay logged no error"; grep 'level=error' "$T/emu.err" | head -5 | sed 's/^/#   /'
else ok "the relay logged no error"; fi
if grep -q 'Server rejected\|Error sending' "$T/emu.err"; then
	not_ok "the SDK logged no rejected or failed upload"
	grep 'Server rejected\|Error sending' "$T/emu.err" | head -5 | sed 's/^/#   sdk: /'
else ok "the SDK logged no rejected or failed upload"; fi

# The relay's exit summary: everything it received was delivered, and that is what the sink has.
summary=$(grep -o 'Relay stopped: received=[0-9]* delivered=[0-9]* dropped=[0-9]*' "$T/emu.err" | head -1)
received=$(printf '%s' "$summary" | sed -n 's/.*received=\([0-9]*\).*/\1/p')
delivered=$(printf '%s' "$summary" | sed -n 's/.*delivered=\([0-9]*\).*/\1/p')
stored=$(count_requests up)
answered=$(grep -c '"ev":"answer".*"status":200' "$T/sdk.jsonl" 2>/dev/null)
check "relay summary: received = delivered, nothing dropped ($summary)" \
	test -n "$received" -a "$received" = "${delivered:-x}" -a "$received" -gt 0 -a -n "$(printf '%s' "$summary" | grep 'dropped=0$')"
is "$stored" "${delivered:-missing}" "the sink stored what the relay delivered ($stored)"
check "the relay received at least every upload the SDK saw answered 200 ($received >= ${answered:-0})" \
	test "${received:-0}" -ge "${answered:-0}" -a "${answered:-0}" -gt 0

# The function's own record against the sink.
rc=0
env NPM_DIR="$NPM_DIR" SINK_DIR="$T/up" SDK_LOG="$T/sdk.jsonl" SDK_VERSION=0.6.4 APP="$APP" TAGS="$TAGS" \
	MIN_WALL=2 MIN_HEAP=1 MIN_DURING=2 timeout 60 node "$SDK_DIR/lambda_runtime.js" verify >"$T/verify" 2>&1 || rc=$?
while IFS= read -r line; do
	case $line in
	"ok "*) ok "${line#ok }" ;;
	"not ok "*) not_ok "${line#not ok }" ;;
	*) printf '# %s\n' "${line#\# }" ;;
	esac
done <"$T/verify"
is "$rc" 0 "the verifier ran"
if [ "$tap_fail" -gt 0 ]; then
	diag "function and relay output (tail):"
	grep -v '^ *$' "$T/emu.err" | tail -40 | sed 's/^/#   /'
fi
done_testing
