#!/bin/bash
# sdk_nodejs.sh -- the real Pyroscope Node.js SDK (@pyroscope/nodejs from npm) through the
# relay: 0.6.4 (raw gzipped pprof, format=pprof) with the SDK's own Basic auth and tenant
# passing through, then with the relay's PYROSCOPE_BASIC_AUTH_* and PYROSCOPE_TENANT_ID
# replacing them, and 0.4.13 (multipart) with the relay's tenant replacing the SDK's. Each run
# is a CPU-busy Node program for RUN_MS with a short flush interval. At the sink: every upload
# the SDK made arrived with its profile bytes unchanged and decodes as pprof with the expected
# sample types, the name and tags are as configured, and the headers are as expected.
# Skipped (never failed) when node >= 20.19, the npm registry or the SDK's native module is
# missing.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

SDK_DIR=$TOP_SRCDIR/tests/sdk
RUN_MS=${RUN_MS:-6000}
FLUSH_MS=${FLUSH_MS:-2000}

. "$TOP_SRCDIR/tests/npm.sh"

# run_sdk LABEL VERSION EXPECT_AUTH EXPECT_TENANT [SDK VAR=value...]: the SDK against the relay
# already started (its sink is named LABEL) for RUN_MS; then the relay is stopped (it drains)
# and what the sink stored is checked against what the SDK sent.
run_sdk() {
	local label=$1 version=$2 auth=$3 tenant=$4 n rc
	shift 4
	rc=0
	env -i PATH="$PATH" HOME="$T" NPM_DIR="$NPM_DIR" SERVER="http://127.0.0.1:$RELAY_PORT" \
		RUN_MS="$RUN_MS" FLUSH_MS="$FLUSH_MS" REQ_LOG="$T/$label.sdk.jsonl" DEBUG=pyroscope "$@" \
		timeout $((RUN_MS / 1000 + 40)) node "$SDK_DIR/sdk_driver.js" run >"$T/$label.sdk.out" 2>"$T/$label.sdk.err" || rc=$?
	is "$rc" 0 "$label: the SDK ran ${RUN_MS} ms and stopped"
	[ "$rc" -eq 0 ] || tail -20 "$T/$label.sdk.err" | sed 's/^/#   sdk: /'
	grep -q 'Server rejected\|Error sending' "$T/$label.sdk.err" &&
		grep 'Server rejected\|Error sending' "$T/$label.sdk.err" | head -5 | sed 's/^/#   sdk: /'
	stop_relay
	is "$RELAY_STATUS" 0 "$label: relay drained and exited 0"
	n=$(grep -c . "$T/$label.sdk.jsonl" 2>/dev/null)
	n=${n:-0}
	check "$label: relay summary: the SDK's $n uploads received and delivered" \
		grep -q "received=$n delivered=$n dropped=0" "$T/relay.log"
	rc=0
	env NPM_DIR="$NPM_DIR" SINK_DIR="$T/$label" REQ_LOG="$T/$label.sdk.jsonl" SDK_VERSION="$version" \
		APP=relay-fixture-app TAGS=env=test,region=local EXPECT_AUTH="$auth" EXPECT_TENANT="$tenant" \
		MIN_WALL=2 MIN_HEAP=1 timeout 60 node "$SDK_DIR/sdk_driver.js" verify >"$T/$label.verify" 2>&1 || rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "$label: ${line#ok }" ;;
		"not ok "*) not_ok "$label: ${line#not ok }" ;;
		*) printf '# %s\n' "${line#\# }" ;;
		esac
	done <"$T/$label.verify"
	is "$rc" 0 "$label: the verifier ran"
}
B64() { printf '%s' "$1" | base64; }

SDK_0413="@pyroscope/nodejs@0.4.13 pprof-format@2.3.2"
node_check || skip_all "$SKIP_REASON"
# 0.4.13 installs in the background (bounded) while 0.6.4 runs.
# shellcheck disable=SC2086
(npm_ready nodejs-0.4.13 $SDK_0413) >/dev/null 2>&1 &
PRE_INSTALL=$!
npm_ready nodejs-0.6.4 @pyroscope/nodejs@0.6.4 pprof-format@2.3.2 || skip_all "$SKIP_REASON"
sdk_loads || skip_all "$SKIP_REASON"
diag "@pyroscope/nodejs 0.6.4 from $NPM_DIR, node $(node --version)"

# --- 0.6.4: the SDK's own Basic auth and tenant pass through -------------------------------
start_sink sdk064
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" PYROSCOPE_LOG_LEVEL=debug
run_sdk sdk064 0.6.4 "Basic $(B64 123456:glc_sdk_dummy)" tenant-sdk \
	BASIC_USER=123456 BASIC_PASS=glc_sdk_dummy TENANT=tenant-sdk
check "sdk064: the SDK's credentials are not logged" \
	eval "! grep -q 'glc_sdk_dummy\|$(B64 123456:glc_sdk_dummy)' '$T/relay.log'"

# --- 0.6.4: the relay's PYROSCOPE_BASIC_AUTH_* and PYROSCOPE_TENANT_ID replace the SDK's ----
start_sink sdk064r
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" PYROSCOPE_LOG_LEVEL=debug \
	PYROSCOPE_BASIC_AUTH_USER=relay-user PYROSCOPE_BASIC_AUTH_PASSWORD=relay-s3cret PYROSCOPE_TENANT_ID=relay-tenant
run_sdk sdk064r 0.6.4 "Basic $(B64 relay-user:relay-s3cret)" relay-tenant \
	BASIC_USER=123456 BASIC_PASS=glc_sdk_dummy TENANT=tenant-sdk
check "sdk064r: the relay's password is not logged" eval "! grep -q 'relay-s3cret' '$T/relay.log'"

# --- 0.4.13 (multipart): the SDK's Basic auth passes, the relay's tenant replaces the SDK's --
wait "$PRE_INSTALL"
NPM_DIR=$NPM_ROOT/nodejs-0.4.13
SKIP_REASON="npm install of $SDK_0413 into $NPM_DIR failed (npm registry unreachable?)"
# shellcheck disable=SC2086
if installed_at "$NPM_DIR" $SDK_0413 && sdk_loads; then
	diag "@pyroscope/nodejs 0.4.13 from $NPM_DIR"
	start_sink sdk0413
	start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" PYROSCOPE_LOG_LEVEL=debug \
		PYROSCOPE_TENANT_ID=relay-tenant
	run_sdk sdk0413 0.4.13 "Basic $(B64 123456:glc_sdk_dummy)" relay-tenant \
		BASIC_USER=123456 BASIC_PASS=glc_sdk_dummy TENANT=tenant-sdk
else
	[ -f "$T/npm-nodejs-0.4.13.log" ] && tail -5 "$T/npm-nodejs-0.4.13.log" | sed 's/^/# npm: /'
	skip_point "@pyroscope/nodejs 0.4.13: $SKIP_REASON"
fi
done_testing
