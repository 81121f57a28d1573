#!/bin/bash
# remote_answers.sh -- owns how the relay reads a remote's answers: interim 1xx answers skipped (the
# connection kept in step, plain and TLS), and nothing secret logged from an answer that echoes it.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

post() { curl -s -o /dev/null -w '%{http_code}' --data-binary "$1" "http://127.0.0.1:$RELAY_PORT/ingest?name=answers.cpu"; }
drops() { curl -s -m 5 "http://127.0.0.1:$RELAY_PORT/metrics" | awk '/^pyroscope_relay_dropped_profiles_total\{/ { s += $2 } END { print s + 0 }'; }

# --- 103 Early Hints before every answer --------------------------------------
start_sink hints --interim 103
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT"
for i in 1 2 3 4 5; do post "hint $i" >/dev/null; done
check "a remote answering 103 before each 200: all 5 uploads delivered" \
	wait_until 20 eval '[ "$(metric delivered_profiles_total)" -eq 5 ]'
is "$(drops)" 0 "none dropped (the 103 was not taken as the answer)"
is "$(count_requests hints)" 5 "each upload reached the remote once"
check "no 'rejected status=103'" eval "! grep -q \"status code: '103'\" '$T/relay.log'"
stop_relay

# --- 500 x 102 Processing, then 200 ---------------------------------------------
start_sink processing --interim 102x500
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT"
for i in 1 2 3; do post "processing $i" >/dev/null; done
check "500 interim answers before each 200: all 3 uploads delivered" \
	wait_until 30 eval '[ "$(metric delivered_profiles_total)" -eq 3 ]'
is "$(drops)" 0 "none dropped"
stop_relay

# --- the same over TLS -----------------------------------------------------------
test_ca "answers test CA"
test_cert remote IP:127.0.0.1
start_sink tlshints --interim 103 --tls-cert "$T/remote.pem" --tls-key "$T/remote.key"
start_relay PYROSCOPE_REMOTE_ADDRESS="https://127.0.0.1:$SINK_PORT" SSL_CERT_FILE="$T/ca.pem"
for i in 1 2 3; do post "tls hint $i" >/dev/null; done
check "TLS: 103 before each 200, all 3 delivered" wait_until 20 eval '[ "$(metric delivered_profiles_total)" -eq 3 ]'
stop_relay

# --- a 401 whose body echoes the request: no secret reaches the log ----------------
TOKEN=tok-SECRET-0123456789
HDR=hdr-SECRET-value
start_sink echo --status 401 --echo
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" PYROSCOPE_AUTH_TOKEN="$TOKEN" \
	PYROSCOPE_HTTP_HEADERS="{\"X-Team-Key\":\"$HDR\"}"
post "echo 1" >/dev/null
wait_until 10 grep -q 'Failed to relay request' "$T/relay.log"
check "the remote's answer is logged" grep -q "status code: '401'. body: 'POST /ingest" "$T/relay.log"
check "the token is not in the log" eval "! grep -q '$TOKEN' '$T/relay.log'"
check "nor the custom header's value" eval "! grep -q '$HDR' '$T/relay.log'"
check "they show as [redacted]" grep -q 'Authorization: \[redacted\]' "$T/relay.log"
stop_relay
B64=$(printf 'user:pw-SECRET-987654' | base64)
start_sink echo2 --status 401 --echo
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" PYROSCOPE_BASIC_AUTH_USER=user \
	PYROSCOPE_BASIC_AUTH_PASSWORD=pw-SECRET-987654
post "echo 2" >/dev/null
wait_until 10 grep -q 'Failed to relay request' "$T/relay.log"
check "basic auth: the encoded credentials are not in the log" eval "! grep -qF '$B64' '$T/relay.log'"
check "nor the password" eval "! grep -q 'pw-SECRET' '$T/relay.log'"
stop_relay
done_testing
