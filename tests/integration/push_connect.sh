#!/bin/bash
# push_connect.sh -- a real Connect client (connect-es 2.2.0, from npm) pushing
# push.v1.PusherService/Push through the relay: binary and JSON, with and without gzip.
# The client call must succeed (the relay's own reply satisfies connect-es), and the sink must
# get the exact body bytes connect-es produced, with a Content-Length instead of the client's
# chunked encoding, the Connect headers unchanged, and the tenant and credentials the relay
# is configured with. Skipped (never failed) when node >= 20.19 or the npm registry is missing.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

SDK_DIR=$TOP_SRCDIR/tests/sdk

. "$TOP_SRCDIR/tests/npm.sh"

node_check || skip_all "$SKIP_REASON"
npm_ready connect @connectrpc/connect@2.2.0 @connectrpc/connect-node@2.2.0 @bufbuild/protobuf@2.17.0 \
	pprof-format@2.3.2 || skip_all "$SKIP_REASON"
diag "connect-es from $NPM_DIR, node $(node --version)"

# run_client SINK OUTNAME CASES [VAR=value...]: push CASES to the relay (or to the sink when
# SINK=direct), bounded; the client's lines go to $T/OUTNAME.out.
run_client() {
	local url out=$2 cases=$3
	if [ "$1" = direct ]; then url=http://127.0.0.1:$SINK_PORT; else url=http://127.0.0.1:$RELAY_PORT; fi
	shift 3
	mkdir -p "$T/$out"
	env NPM_DIR="$NPM_DIR" BASE_URL="$url" OUT="$T/$out" CASES="$cases" "$@" \
		timeout $((60 * SLOW)) node "$SDK_DIR/connect_push.js" push >"$T/$out.out" 2>"$T/$out.err"
	CLIENT_STATUS=$?
	sed 's/^/# client: /' "$T/$out.out"
	[ -s "$T/$out.err" ] && sed 's/^/# client stderr: /' "$T/$out.err" | head -20
	return 0
}
# case_head SINK CASE: the .head the sink stored for the call with x-relay-test-case: CASE.
case_head() {
	local h
	for h in "$T/$1"/req-*.head; do
		[ -f "$h" ] && [ "$(head_header "$h" x-relay-test-case)" = "$2" ] && { echo "$h"; return 0; }
	done
	return 1
}
# check_case SINK OUTNAME CASE TENANT AUTH: every assertion on one call through the relay.
check_case() {
	local sink=$1 out=$2 c=$3 tenant=$4 auth=$5 head body ct ce=""
	ct=application/proto
	case $c in json*) ct=application/json ;; esac
	case $c in *+gzip) ce=gzip ;; esac
	check "$c: the Connect call succeeded with an empty PushResponse" grep -qx "$c ok {}" "$T/$out.out"
	head=$(case_head "$sink" "$c") || { not_ok "$c: the sink got the call"; return; }
	body=${head%.head}.body
	is "$(head -1 "$head")" "POST /push.v1.PusherService/Push" "$c: path"
	is "$(sha "$body")" "$(sha "$T/$out/$c.wire")" "$c: body byte-exact ($(stat -c %s "$T/$out/$c.wire") bytes as connect-es sent them)"
	NPM_DIR=$NPM_DIR timeout 30 node "$SDK_DIR/connect_push.js" decode "$body" "$ct" "$ce" >"$body.json" 2>&1
	if cmp -s "$body.json" "$T/$out/$c.msg.json"; then ok "$c: the upstream body decodes to the PushRequest sent"
	else not_ok "$c: the upstream body decodes to the PushRequest sent"; head -c 300 "$body.json" | sed 's/^/#   got: /'; echo; fi
	is "$(head_header "$head" content-length)" "$(stat -c %s "$body")" "$c: Content-Length upstream"
	check "$c: no Transfer-Encoding upstream" eval "! has_header '$head' transfer-encoding"
	is "$(head_header "$head" content-type)" "$ct" "$c: content-type passed through"
	is "$(head_header "$head" content-encoding)" "$ce" "$c: content-encoding passed through"
	is "$(head_header "$head" connect-protocol-version)" 1 "$c: connect-protocol-version passed through"
	is "$(head_header "$head" connect-timeout-ms)" 20000 "$c: connect-timeout-ms passed through"
	is "$(head_header "$head" user-agent)" connect-es/2.2.0 "$c: user-agent passed through"
	is "$(head_header "$head" accept-encoding)" gzip,br "$c: accept-encoding passed through"
	is "$(head_header "$head" x-scope-orgid)" "$tenant" "$c: X-Scope-OrgID is '$tenant'"
	is "$(grep -ci '^x-scope-orgid:' "$head")" 1 "$c: exactly one X-Scope-OrgID"
	is "$(head_header "$head" authorization)" "$auth" "$c: Authorization is '$auth'"
}
ALL="proto proto+gzip json json+gzip"

# --- control: connect-es straight to the sink sends chunked, without Content-Length -------
start_sink direct
run_client direct client-ctl proto
wait_until 10 sink_got direct || true
h=$(case_head direct proto)
is "$(head_header "$h" transfer-encoding)" chunked "control: connect-es sends the body chunked"
check "control: connect-es sends no Content-Length" eval "! has_header '$h' content-length"

# --- the four encodings, the client's tenant passing through ---------------------------
start_sink up
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" PYROSCOPE_LOG_LEVEL=debug
run_client relay client-a "$ALL" TENANT=tenant-a
is "$CLIENT_STATUS" 0 "client: every call succeeded"
# shellcheck disable=SC2016 # expanded by eval, each poll
wait_until 10 eval '[ "$(count_requests up)" -ge 4 ]' || true
is "$(count_requests up)" 4 "the sink got the 4 pushes"
for c in $ALL; do check_case up client-a "$c" tenant-a ""; done
stop_relay
check "relay: 4 delivered" grep -q 'received=4 delivered=4 dropped=0' "$T/relay.log"

# --- the relay's tenant and token: replacing the client's (client-b), added when the client
# sends none (client-b2)
start_sink up2
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" PYROSCOPE_TENANT_ID=relay-tenant \
	PYROSCOPE_AUTH_TOKEN=relay-t0ken PYROSCOPE_LOG_LEVEL=debug
run_client relay client-b "proto+gzip json" TENANT=tenant-a AUTH='Basic Y2xpZW50OmNsaWVudC1zZWNyZXQ='
is "$CLIENT_STATUS" 0 "client (relay tenant and token replacing the client's): every call succeeded"
run_client relay client-b2 "proto json+gzip"
is "$CLIENT_STATUS" 0 "client (relay tenant and token, none from the client): every call succeeded"
# shellcheck disable=SC2016
wait_until 10 eval '[ "$(count_requests up2)" -ge 4 ]' || true
for c in proto+gzip json; do check_case up2 client-b "$c" relay-tenant "Bearer relay-t0ken"; done
for c in proto json+gzip; do check_case up2 client-b2 "$c" relay-tenant "Bearer relay-t0ken"; done
check "the token is not logged" eval "! grep -q relay-t0ken '$T/relay.log'"
stop_relay

# --- basic-auth variables; no tenant anywhere means none is sent ---------------------------
start_sink up3
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" PYROSCOPE_BASIC_AUTH_USER=123456 \
	PYROSCOPE_BASIC_AUTH_PASSWORD=glc_s3cret
run_client relay client-c "proto+gzip" AUTH='Bearer client-token'
is "$CLIENT_STATUS" 0 "client (relay basic auth): the call succeeded"
wait_until 10 sink_got up3 || true
h=$(case_head up3 proto+gzip)
is "$(head_header "$h" authorization)" "Basic $(printf '123456:glc_s3cret' | base64)" \
	"basic-auth variables replace the client's Authorization"
check "no tenant configured or sent: no X-Scope-OrgID" eval "! has_header '$h' x-scope-orgid"
is "$(sha "${h%.head}.body")" "$(sha "$T/client-c/proto+gzip.wire")" "body byte-exact"
stop_relay
done_testing
