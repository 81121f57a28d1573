#!/bin/bash
# sdk_lambda_labels.sh -- PYROSCOPE_LAMBDA_LABELS=true with the real Pyroscope Node.js SDK
# (@pyroscope/nodejs 0.6.4 from npm) in a Node function (tests/sdk/lambda_runtime.js) under the
# project's Lambda emulator, the relay as the external extension, as in sdk_lambda.sh. The
# emulator gives the extension AWS_LAMBDA_FUNCTION_NAME and AWS_REGION from its own environment
# (set here) and AWS_LAMBDA_FUNCTION_VERSION=$LATEST. Checked at the sink, for every upload the
# SDK saw answered 200 (tests/sdk/labels_check.js): function_name, function_version and region
# arrive in `name`, which is otherwise the SDK's own name (keys sorted), and every other query
# byte is what the SDK sent. Also: the relay says once what it adds, and delivers everything.
# Skipped (never failed) when node >= 20.19, the npm registry or the SDK's native module is missing.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"
EMULATOR_BIN=${EMULATOR_BIN:-$TOP_SRCDIR/pyroscope-lambda-emulator}
SDK_DIR=$TOP_SRCDIR/tests/sdk
INVOKES=3
FN_NAME=sdk_lambda_labels
REGION=eu-central-1
# Our own environment must not leak Lambda settings into the run.
unset AWS_LAMBDA_FUNCTION_NAME AWS_LAMBDA_FUNCTION_VERSION AWS_LAMBDA_FUNCTION_MEMORY_SIZE AWS_REGION \
	_HANDLER 2>/dev/null || true

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
FUNCTION="exec node $(printf '%q' "$SDK_DIR/lambda_runtime.js") run"
env -i PATH="$PATH" HOME="$T" TZ=UTC ${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS} \
	${UBSAN_OPTIONS:+UBSAN_OPTIONS=$UBSAN_OPTIONS} \
	PYROSCOPE_LAMBDA_LABELS=true AWS_LAMBDA_FUNCTION_NAME=$FN_NAME AWS_REGION=$REGION \
	AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512 \
	PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" PYROSCOPE_LISTEN_ADDRESS="127.0.0.1:$PORT" \
	NPM_DIR="$NPM_DIR" SDK_RELAY_PORT="$PORT" SDK_LOG="$T/sdk.jsonl" SDK_APP=lambda-labels-app \
	SDK_TAGS=env=lambda-test SDK_FLUSH_MS=400 SDK_BUSY_MS=1200 \
	timeout $((60 * SLOW)) "$EMULATOR_BIN" --listen 127.0.0.1:0 --extensions "$T/ext" \
	--function "$FUNCTION" --invokes $INVOKES --gap-ms 300 \
	--init-timeout-ms $((10000 * SLOW)) --timeout-ms $((6000 * SLOW)) >"$T/emu.out" 2>"$T/emu.err"
EMU_STATUS=$?

if [ "$EMU_STATUS" = 0 ]; then ok "the emulator accepts the run (exit 0)"; else
	not_ok "the emulator accepts the run (exit 0)"; diag "exit status $EMU_STATUS"
	tail -30 "$T/emu.out" | sed 's/^/#   out: /'
	tail -40 "$T/emu.err" | sed 's/^/#   err: /'
	cat "$T"/valgrind.*.log 2>/dev/null | sed 's/^/#   valgrind: /'
fi
check "the extension registered and exited 0 at SHUTDOWN" \
	grep -q 'extension pyroscope-lambda-extension: registered, events \[INVOKE, SHUTDOWN\], exited 0$' "$T/emu.out"

# The relay's startup line, once; nothing skipped, nothing wrong.
added=$(grep -c 'PYROSCOPE_LAMBDA_LABELS: adding function_name, function_version, region to the name of /ingest uploads' "$T/emu.err")
is "$added" 1 "the relay says once which labels it adds"
if grep -q 'PYROSCOPE_LAMBDA_LABELS.*not \(set\|added\)\|level=error' "$T/emu.err"; then
	not_ok "no label skipped, no error"; grep 'PYROSCOPE_LAMBDA_LABELS\|level=error' "$T/emu.err" | head -5 | sed 's/^/#   /'
else ok "no label skipped, no error"; fi
summary=$(grep -o 'Relay stopped: received=[0-9]* delivered=[0-9]* dropped=[0-9]*' "$T/emu.err" | head -1)
received=$(printf '%s' "$summary" | sed -n 's/.*received=\([0-9]*\).*/\1/p')
check "relay summary: everything received was delivered ($summary)" \
	test -n "$received" -a "${received:-0}" -gt 0 -a "$summary" = "Relay stopped: received=$received delivered=$received dropped=0"
is "$(count_requests up)" "${received:-missing}" "the sink stored what the relay received"

# At the sink, against what the SDK sent.
rc=0
env SINK_DIR="$T/up" SDK_LOG="$T/sdk.jsonl" MIN_PAIRS=2 \
	LABELS="function_name=$FN_NAME,function_version=\$LATEST,region=$REGION" \
	timeout 60 node "$SDK_DIR/labels_check.js" >"$T/verify" 2>&1 || rc=$?
while IFS= read -r line; do
	case $line in
	"ok "*) ok "${line#ok }" ;;
	"not ok "*) not_ok "${line#not ok }" ;;
	*) printf '# %s\n' "${line#\# }" ;;
	esac
done <"$T/verify"
is "$rc" 0 "the check ran"
if [ "$tap_fail" -gt 0 ]; then
	diag "function and relay output (tail):"
	grep -v '^ *$' "$T/emu.err" | tail -40 | sed 's/^/#   /'
fi
done_testing
