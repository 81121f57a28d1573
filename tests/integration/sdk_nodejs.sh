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
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
skip_point() { tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $*"; }

# --- node and npm: packages go to a cache outside the source tree ------------------------
NPM_ROOT=${PYROSCOPE_TEST_NPM_CACHE:-${HOME:-/tmp}/.cache/pyroscope-relay-tests}
# node_check: true when node >= 20.19 runs; else SKIP_REASON says why.
node_check() {
	local v major minor
	command -v node >/dev/null 2>&1 || { SKIP_REASON="node not found"; return 1; }
	v=$(timeout 10 node --version 2>/dev/null) || { SKIP_REASON="node --version failed"; return 1; }
	major=${v#v}; major=${major%%.*}; minor=${v#v*.}; minor=${minor%%.*}
	case "$major$minor" in *[!0-9]*|"") SKIP_REASON="cannot read node version '$v'"; return 1 ;; esac
	if [ "$major" -lt 20 ] || { [ "$major" -eq 20 ] && [ "$minor" -lt 19 ]; }; then
		SKIP_REASON="node $v is older than 20.19"; return 1
	fi
}
# installed_at DIR PKG@VERSION...: true when each package is installed in DIR at that version.
installed_at() {
	local dir=$1 p; shift
	for p; do
		[ "$(timeout 10 node -p 'require(process.argv[1]).version' "$dir/node_modules/${p%@*}/package.json" 2>/dev/null)" = "${p##*@}" ] || return 1
	done
}
# npm_ready NAME PKG@VERSION...: the packages installed in $NPM_ROOT/NAME (installed there
# once, under a lock, bounded); sets NPM_DIR, or SKIP_REASON and returns 1.
npm_ready() {
	local name=$1; shift
	NPM_DIR=$NPM_ROOT/$name
	installed_at "$NPM_DIR" "$@" && return 0
	command -v npm >/dev/null 2>&1 || { SKIP_REASON="npm not found"; return 1; }
	mkdir -p "$NPM_DIR" 2>/dev/null || { SKIP_REASON="cannot create $NPM_DIR"; return 1; }
	(
		command -v flock >/dev/null 2>&1 && flock -w 60 9
		installed_at "$NPM_DIR" "$@" && exit 0
		cd "$NPM_DIR" || exit 1
		[ -f package.json ] || printf '{"name":"pyroscope-relay-tests-%s","private":true}\n' "$name" >package.json
		timeout 60 npm install --no-audit --no-fund --loglevel=error --ignore-scripts --no-update-notifier \
			--fetch-retries=1 --fetch-timeout=20000 --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=5000 "$@"
	) 9>"$NPM_DIR/.lock" >"$T/npm-$name.log" 2>&1
	if ! installed_at "$NPM_DIR" "$@"; then
		tail -5 "$T/npm-$name.log" | sed 's/^/# npm: /'
		SKIP_REASON="npm install of $* into $NPM_DIR failed (npm registry unreachable?)"
		return 1
	fi
}

# sdk_loads: the SDK (and its prebuilt native module) loads from $NPM_DIR.
sdk_loads() {
	NPM_DIR=$NPM_DIR timeout 30 node -e '
		const r = require("module").createRequire(process.env.NPM_DIR + "/package.json");
		r("@pyroscope/nodejs"); r("pprof-format");' >"$T/load.log" 2>&1 && return 0
	SKIP_REASON="@pyroscope/nodejs does not load here: $(grep -m1 -i error "$T/load.log")"
	return 1
}

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
