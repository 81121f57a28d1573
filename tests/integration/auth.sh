#!/bin/bash
# auth.sh -- credentials, tenant and custom headers as the remote sees them, and no secret in logs.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

start_sink up
# upload [curl args...]: one upload through the relay; prints the .head file the sink stored.
upload() {
	local head n
	n=$(( $(count_requests up) + 1 ))
	curl -s -o /dev/null "$@" --data-binary 'a;b 1' "http://127.0.0.1:$RELAY_PORT/ingest?name=app.cpu"
	head=$(printf '%s/up/req-%03d.head' "$T" "$n")
	wait_until 10 test -f "$head"
	echo "$head"
}

# case DESC WANT-AUTH CLIENT-AUTH VAR=value...
auth_case() {
	local desc=$1 want=$2 client=$3; shift 3
	start_relay PYROSCOPE_LOG_LEVEL=trace "$@"
	local head
	if [ -n "$client" ]; then head=$(upload -H "Authorization: $client"); else head=$(upload); fi
	is "$(head_header "$head" authorization)" "$want" "$desc"
	for secret in s3cret t0ken hunter2 client-secret; do
		if grep -q "$secret" "$T/relay.log"; then not_ok "$desc: '$secret' appears in the log"; fi
	done
	stop_relay
}
R="http://127.0.0.1:$SINK_PORT"
auth_case "token -> Bearer, replacing the client's" "Bearer t0ken" "Bearer client-secret" \
	PYROSCOPE_REMOTE_ADDRESS="$R" PYROSCOPE_AUTH_TOKEN=t0ken PYROSCOPE_BASIC_AUTH_USER=u PYROSCOPE_BASIC_AUTH_PASSWORD=s3cret
auth_case "basic-auth variables -> Basic" "Basic $(printf 'u:s3cret' | base64)" "Bearer client-secret" \
	PYROSCOPE_REMOTE_ADDRESS="$R" PYROSCOPE_BASIC_AUTH_USER=u PYROSCOPE_BASIC_AUTH_PASSWORD=s3cret
auth_case "user without password: the client's header passes" "Bearer client-secret" "Bearer client-secret" \
	PYROSCOPE_REMOTE_ADDRESS="$R" PYROSCOPE_BASIC_AUTH_USER=u
auth_case "client's header beats URL userinfo" "Bearer client-secret" "Bearer client-secret" \
	PYROSCOPE_REMOTE_ADDRESS="http://ann:hunter2@127.0.0.1:$SINK_PORT"
auth_case "URL userinfo when nothing else" "Basic $(printf 'ann:hunter2' | base64)" "" \
	PYROSCOPE_REMOTE_ADDRESS="http://ann:hunter2@127.0.0.1:$SINK_PORT"
auth_case "no credentials anywhere: none sent" "" "" PYROSCOPE_REMOTE_ADDRESS="$R"

start_relay PYROSCOPE_REMOTE_ADDRESS="$R" PYROSCOPE_TENANT_ID=acme \
	PYROSCOPE_HTTP_HEADERS='{"X-Team":"payments","X-Env":"prod"}'
head=$(upload -H 'X-Scope-OrgID: evil' -H 'X-Custom: kept')
is "$(head_header "$head" x-scope-orgid)" "acme" "tenant replaces the client's X-Scope-OrgID"
is "$(grep -ci '^x-scope-orgid:' "$head")" 1 "exactly one tenant header"
is "$(head_header "$head" x-team)" "payments" "custom header X-Team applied"
is "$(head_header "$head" x-env)" "prod" "custom header X-Env applied"
is "$(head_header "$head" x-custom)" "kept" "the client's other headers pass"
stop_relay

start_relay PYROSCOPE_REMOTE_ADDRESS="$R"
head=$(upload -H 'X-Scope-OrgID: tenant-b')
is "$(head_header "$head" x-scope-orgid)" "tenant-b" "no tenant configured: the client's passes"
stop_relay
done_testing
