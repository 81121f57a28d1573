#!/bin/bash
# selfprof.sh -- PYROSCOPE_SELF_PROFILING: under load the remote gets the relay's own CPU profiles
# (pyroscope.lambda.extension.cpu, folded stacks naming its request handling functions) with the
# configured credentials, tenant and headers, counted like SDK uploads; the last window at SIGTERM
# and at Lambda's SHUTDOWN; PYROSCOPE_ADHOC_SERVER_ADDRESS sends them to a remote of their own.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"
EMULATOR_BIN=${EMULATOR_BIN:-$TOP_SRCDIR/pyroscope-lambda-emulator}

# The load: uploads with 150 labels and 100 headers each, sequential on one kept-alive
# connection, so that the relay's own request handling (head parsing, header checks, the
# session label, queueing) takes a fair share of its CPU, which the samples measure (CPU
# time, not wall time: a loaded machine changes nothing).
N=$((6000 / SLOW))
BIG_QUEUE="PYROSCOPE_QUEUE_MAX_PROFILES=100000 PYROSCOPE_QUEUE_MAX_BYTES=1GiB"
# load_config PORT COUNT FILE: a curl config of COUNT uploads to the relay on PORT.
load_config() {
	local labels="" i
	for i in $(seq 1 150); do labels="${labels}label$i%3Dvalue$i%2C"; done
	{
		for i in $(seq 1 100); do printf 'header = "X-Header-%d: %s"\n' "$i" "$(printf 'v%.0s' $(seq 1 60))"; done
		for i in $(seq 1 "$2"); do
			printf 'url = "http://127.0.0.1:%s/ingest?name=app.cpu%%7B%sx%%3Dy%%7D&from=1&until=2&n=%d"\n' \
				"$1" "$labels" "$i"
		done
	} >"$3"
}
# load COUNT: COUNT uploads through the relay; prints how many were answered 200.
load() {
	load_config "$RELAY_PORT" "$1" "$T/load.cfg"
	curl -s -m $((120 * SLOW)) -o /dev/null -w '%{http_code}\n' --data-binary 'a;b 1' -K "$T/load.cfg" |
		grep -c '^200$'
}
relay_idle() { [ "$(metric queued_profiles)" = 0 ] && [ "$(metric in_flight_profiles)" = 0 ]; }
# selfprofiles SINK: the .head files of the self-profiles the sink stored.
selfprofiles() {
	grep -rl --include='req-*.head' '^POST /ingest?name=pyroscope\.lambda\.extension\.cpu%7B' "$T/$1" 2>/dev/null | sort
}
# all_have SINK HEADER VALUE: every self-profile of SINK carries HEADER: VALUE.
all_have() {
	local h
	for h in $(selfprofiles "$1"); do [ "$(head_header "$h" "$2")" = "$3" ] || return 1; done
}
bodies() { local h; for h in $(selfprofiles "$1"); do cat "${h%.head}.body"; done; }
received() { sed -n 's/.*Relay stopped: received=\([0-9]*\) .*/\1/p' "$T/relay.log"; }

# --- dev mode: the remote gets the self-profiles, through the relay's own pipeline ----------
start_sink up
# shellcheck disable=SC2086
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" PYROSCOPE_SELF_PROFILING=true \
	PYROSCOPE_AUTH_TOKEN=t0ken PYROSCOPE_TENANT_ID=acme PYROSCOPE_HTTP_HEADERS='{"X-Team":"payments"}' $BIG_QUEUE
t0=$(date +%s)
check "self-profiling announced, with the relay's functions named" \
	wait_until 10 grep -qE "Self-profiling: sampling the relay's CPU at 100 Hz \(([2-9][0-9]{2}|[0-9]{4,}) functions named\); a profile every 15 s to http://127.0.0.1:$SINK_PORT" "$T/relay.log"
is "$(load "$N")" "$N" "$N uploads with 150 labels and 100 headers each, answered 200"
wait_until 60 relay_idle
stop_relay
t1=$(date +%s)
got=$(selfprofiles up | wc -l)
check "the remote got the relay's self-profile at SIGTERM, with the SDK uploads ($got)" test "$got" -ge 1
is "$(count_requests up)" "$(received)" "every profile the relay counted as received reached the remote"
is "$(( $(received) - N ))" "$got" "the self-profiles were counted as received, as SDK uploads are"
first=$(selfprofiles up | head -1)
line=$(head -1 "$first")
re='^POST /ingest\?name=pyroscope\.lambda\.extension\.cpu%7B__session_id__%3D([0-9a-f]{16})%7D&from=([0-9]+)&until=([0-9]+)&format=folded&sampleRate=100&spyName=pyroscope-lambda-extension&units=samples&aggregationType=sum$'
if [[ $line =~ $re ]]; then
	ok "the upload: /ingest, pyroscope.lambda.extension.cpu{__session_id__}, from, until, format=folded, sampleRate=100"
	from=${BASH_REMATCH[2]} until=${BASH_REMATCH[3]} sid=${BASH_REMATCH[1]}
	check "from <= until, both within the run ($from, $until; run $t0 to $t1)" \
		test "$from" -le "$until" -a "$from" -ge $((t0 - 2)) -a "$until" -le $((t1 + 2))
	sdk=$T/up/req-001.head
	check "its session id is the one the relay gives the SDK uploads ($sid)" grep -q "__session_id__%3D$sid" "$sdk"
else
	not_ok "the upload: /ingest, pyroscope.lambda.extension.cpu{__session_id__}, from, until, format=folded, sampleRate=100"
	diag "request line: $line"
fi
check "credentials: Authorization: Bearer t0ken" all_have up authorization "Bearer t0ken"
check "tenant: X-Scope-OrgID: acme" all_have up x-scope-orgid acme
check "custom headers: X-Team: payments" all_have up x-team payments
check "Content-Type: text/plain" all_have up content-type text/plain
bodies up >"$T/folded"
bad=$(grep -cvE '^[^ ;]+(;[^ ;]+)* [1-9][0-9]*$' "$T/folded")
is "$bad" 0 "folded text: every line is 'frame;frame;... count'"
samples=$(awk '{ s += $NF } END { print s + 0 }' "$T/folded")
check "$samples samples (at least 10: the relay took at least 0.1 s of CPU)" test "$samples" -ge 10
check "stacks name the relay's request handler (on_request;...)" grep -q 'on_request;' "$T/folded"
check "and what it calls (chain_run, upstream_submit, relay_req_take_client_headers, session_on_request, h1_parse_head, ...)" \
	grep -qE '(^|;)(chain_run|submit|upstream_submit|queue_push|relay_req_take_client_headers|session_on_request|flameql_inject_session|h1_parse_head|feed_tail|take_headers)(;| )' "$T/folded"
diag "the heaviest stacks ($(grep "on_request;" "$T/folded" | awk "{ s += \$NF } END { print s + 0 }") samples in on_request, $(grep -E "on_request;|on_input;" "$T/folded" | awk "{ s += \$NF } END { print s + 0 }") in on_request or on_input):"
sort -t' ' -k2 -rn "$T/folded" | head -8 | sed 's/^/#   /'

# --- PYROSCOPE_ADHOC_SERVER_ADDRESS: self-profiles go there, SDK uploads to the remote --------
start_sink remote
REMOTE_PORT=$SINK_PORT
start_sink adhoc
ADHOC_PORT=$SINK_PORT
# shellcheck disable=SC2086
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$REMOTE_PORT" PYROSCOPE_SELF_PROFILING=true \
	PYROSCOPE_ADHOC_SERVER_ADDRESS="http://127.0.0.1:$ADHOC_PORT" PYROSCOPE_BASIC_AUTH_USER=u \
	PYROSCOPE_BASIC_AUTH_PASSWORD=s3cret PYROSCOPE_TENANT_ID=acme PYROSCOPE_HTTP_HEADERS='{"X-Team":"payments"}' \
	$BIG_QUEUE
check "self-profiles announced to the ad-hoc address" \
	wait_until 10 grep -q "a profile every 15 s to http://127.0.0.1:$ADHOC_PORT" "$T/relay.log"
is "$(load $((N / 4)))" $((N / 4)) "$((N / 4)) uploads answered 200"
wait_until 60 relay_idle
stop_relay
is "$(count_requests remote) $(selfprofiles remote | wc -l)" "$((N / 4)) 0" \
	"the remote got the SDK uploads, and no self-profile"
check "the ad-hoc address got the self-profile ($(count_requests adhoc))" test "$(count_requests adhoc)" -ge 1
is "$(selfprofiles adhoc | wc -l)" "$(count_requests adhoc)" "and only self-profiles"
is "$(( $(received) - N / 4 ))" "$(count_requests adhoc)" "counted as received too"
check "with the same credentials (Basic u:s3cret)" all_have adhoc authorization "Basic $(printf 'u:s3cret' | base64)"
check "tenant" all_have adhoc x-scope-orgid acme
check "and custom headers" all_have adhoc x-team payments
check "folded stacks there too" eval "bodies adhoc | grep -qE '^[^ ;]+(;[^ ;]+)* [1-9][0-9]*$'"

# The ad-hoc address's own userinfo: Basic for the self-profiles when nothing else is configured.
start_sink remote2
REMOTE_PORT=$SINK_PORT
start_sink adhoc2
ADHOC_PORT=$SINK_PORT
# shellcheck disable=SC2086
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$REMOTE_PORT" PYROSCOPE_SELF_PROFILING=true \
	PYROSCOPE_ADHOC_SERVER_ADDRESS="http://ann:hunter2@127.0.0.1:$ADHOC_PORT" $BIG_QUEUE
load $((N / 10)) >/dev/null
wait_until 60 relay_idle
stop_relay
check "ad-hoc userinfo: the self-profiles carry Basic ann:hunter2 ($(count_requests adhoc2))" \
	all_have adhoc2 authorization "Basic $(printf 'ann:hunter2' | base64)"
check "the SDK uploads to the remote carry no credentials" \
	eval "! grep -rqi --include='req-*.head' '^authorization:' '$T/remote2'"
check "the password is not in the log" eval "! grep -q hunter2 '$T/relay.log'"

# Off (the default): nothing but the SDK uploads, the ad-hoc address not even read.
start_sink remote3
REMOTE_PORT=$SINK_PORT
start_sink adhoc3
ADHOC_PORT=$SINK_PORT
# shellcheck disable=SC2086
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$REMOTE_PORT" \
	PYROSCOPE_ADHOC_SERVER_ADDRESS="http://127.0.0.1:$ADHOC_PORT" $BIG_QUEUE
load $((N / 10)) >/dev/null
wait_until 60 relay_idle
stop_relay
is "$(count_requests remote3) $(count_requests adhoc3)" "$((N / 10)) 0" \
	"self-profiling off: the SDK uploads only, nothing to the ad-hoc address"
check "and no self-profiling line in the log" eval "! grep -q 'Self-profiling' '$T/relay.log'"

out=$(env -i PATH="$PATH" PYROSCOPE_DEV_MODE=true PYROSCOPE_SELF_PROFILING=true \
	PYROSCOPE_ADHOC_SERVER_ADDRESS=ftp://nowhere "$RELAY_BIN" --check-config 2>&1)
is "$?" 1 "--check-config: an unusable ad-hoc address fails the check"
check "naming the variable" eval "printf '%s' \"\$out\" | grep -q 'PYROSCOPE_ADHOC_SERVER_ADDRESS: unusable address'"

# --- Lambda: the last window goes out with SHUTDOWN's drain, nothing in flight at a freeze ----
mkdir -p "$T/ext"
ln -s "$RELAY_BIN" "$T/ext/pyroscope-lambda-extension"
if [ -n "${RELAY_VALGRIND:-}" ]; then
	rm "$T/ext/pyroscope-lambda-extension"
	printf '#!/bin/sh\nexec %s --log-file=%s/valgrind.log %s "$@"\n' "$RELAY_VALGRIND" "$T" "$RELAY_BIN" \
		>"$T/ext/pyroscope-lambda-extension"
	chmod +x "$T/ext/pyroscope-lambda-extension"
fi
# A runtime whose every invoke sends the load through the relay.
cat >"$T/function.sh" <<'EOF'
#!/bin/bash
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
trap 'exit 0' TERM
while :; do
	curl -sS -m 3600 -D "$FN_DIR/headers" -o /dev/null "$api/invocation/next" &
	wait $! || exit 0
	id=$(awk 'tolower($1) == "lambda-runtime-aws-request-id:" { sub(/\r$/, "", $2); print $2 }' "$FN_DIR/headers")
	curl -s -m 600 -o /dev/null -w '%{http_code}\n' --data-binary 'a;b 1' -K "$FN_DIR/load.cfg" >>"$FN_DIR/codes"
	curl -sS -m 10 -o /dev/null -X POST --data-binary '{}' "$api/invocation/$id/response"
done
EOF
start_sink lambda
port=$(free_port)
load_config "$port" $((N / 10)) "$T/load.cfg"
env -i PATH="$PATH" HOME="$T" TZ=UTC FN_DIR="$T" ${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS} \
	${UBSAN_OPTIONS:+UBSAN_OPTIONS=$UBSAN_OPTIONS} PYROSCOPE_LISTEN_ADDRESS="127.0.0.1:$port" \
	PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" PYROSCOPE_SELF_PROFILING=true \
	PYROSCOPE_TENANT_ID=acme PYROSCOPE_LOG_LEVEL=debug PYROSCOPE_FLUSH_TIMEOUT=30s $BIG_QUEUE \
	timeout $((240 * SLOW)) "$EMULATOR_BIN" --listen 127.0.0.1:0 --extensions "$T/ext" \
	--function "bash $T/function.sh" --report "$T/lambda.json" --init-timeout-ms $((10000 * SLOW)) \
	--timeout-ms $((60000 * SLOW)) --shutdown-ms $((10000 * SLOW)) --invokes 3 --gap-ms 100 \
	>"$T/lambda.out" 2>"$T/lambda.err"
is "$?" 0 "Lambda: 3 invokes of $((N / 10)) uploads each under the emulator (exit 0)"
check "the extension registered and exited 0 (under valgrind: no error found)" \
	grep -q 'extension pyroscope-lambda-extension: registered, events \[INVOKE, SHUTDOWN\], exited 0$' "$T/lambda.out"
is "$(grep -c '^200$' "$T/codes")" $((3 * (N / 10))) "every upload answered 200"
got=$(selfprofiles lambda | wc -l)
check "the remote got the self-profile ($got)" test "$got" -ge 1
is "$(( $(count_requests lambda) - got ))" $((3 * (N / 10))) "and every SDK upload"
check "the last window was queued as SHUTDOWN arrived, before the drain" \
	eval "grep -B1 'Received SHUTDOWN event' '$T/lambda.err' | head -1 | grep -q 'Self-profiling: a profile of [0-9]* samples .* queued'"
check "with the tenant" all_have lambda x-scope-orgid acme
mkdir -p "$T/lambda-self"
for h in $(selfprofiles lambda); do cp "${h%.head}.time" "$T/lambda-self/"; done
check "no self-profile in flight across any freeze ($(bash "$TOP_SRCDIR/tools/emulator/inflight-check.sh" \
	"$T/lambda.json" "$T/lambda-self" 2>&1 | tail -1))" \
	bash "$TOP_SRCDIR/tools/emulator/inflight-check.sh" "$T/lambda.json" "$T/lambda-self"
done_testing
