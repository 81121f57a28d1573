#!/bin/bash
# upstream_errors.sh -- a failing, slow, absent or unusable remote: the SDK is still answered
# at once, the failure is logged once with its cause, counted, and the relay keeps working.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

post() { curl -s -o /dev/null -w '%{http_code}' -m $((5 * SLOW)) --data-binary 'a;b 1' "http://127.0.0.1:$RELAY_PORT/ingest?name=app.cpu"; }

# Retries have their own test (retries.sh): here every failure is final at once.
start_sink e500 --status 500
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" PYROSCOPE_RETRY_MAX_ATTEMPTS=1
is "$(post)" 200 "remote answers 500: the SDK still gets 200"
wait_until 10 grep -q 'Failed to relay request' "$T/relay.log"
check "500 logged with status and the start of the remote's answer" \
	grep -q "response not ok: status code: '500'. body: '{.*injected failure" "$T/relay.log"
check "logged at error level with the path" grep -q 'level=error .*path=/ingest' "$T/relay.log"
is "$(post)" 200 "the relay keeps answering"
stop_relay
check "counted as rejected" grep -q 'received=2 delivered=0 dropped=2 .*dropped_rejected=2' "$T/relay.log"

start_sink stuck --delay-ms 4000
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" PYROSCOPE_TIMEOUT=500ms PYROSCOPE_RETRY_MAX_ATTEMPTS=1
start=$(date +%s%N)
is "$(post)" 200 "remote hangs: the SDK still gets 200"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "answered without waiting for the remote (${ms} ms)" test "$ms" -lt $((1000 * SLOW))
wait_until 10 grep -q 'timed out' "$T/relay.log"
check "timeout logged" grep -q 'Failed to relay request: failed to make request to http://127.0.0.1:[0-9]*: timed out' "$T/relay.log"
is "$(post)" 200 "answers after a timeout"
stop_relay
is "$RELAY_STATUS" 0 "exit 0 after timeouts"
check "timeouts counted as failed" grep -q 'dropped_failed=[12]' "$T/relay.log"

# A port nobody listens on: the sink is stopped and its port reused as the remote.
start_sink gone
kill "$gone_PID"; wait "$gone_PID" 2>/dev/null
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" PYROSCOPE_RETRY_MAX_ATTEMPTS=1
is "$(post)" 200 "remote down: the SDK still gets 200"
wait_until 10 grep -q 'Failed to relay request' "$T/relay.log"
check "refused connection logged with its cause" grep -q 'failed to make request to http://127.0.0.1:[0-9]*: cannot connect' "$T/relay.log"
stop_relay
check "counted as failed" grep -q 'received=1 delivered=0 dropped=1 .*dropped_failed=1' "$T/relay.log"

start_relay "PYROSCOPE_REMOTE_ADDRESS=https://bad host" PYROSCOPE_HTTP_HEADERS='{"X":'
check "bad configuration logged at error level at startup" grep -q 'level=error msg="PYROSCOPE_REMOTE_ADDRESS: unusable address' "$T/relay.log"
is "$(post)" 200 "unusable remote: the relay still runs and answers"
check "the drop is logged" grep -q 'Cannot relay request: PYROSCOPE_REMOTE_ADDRESS is unusable' "$T/relay.log"
stop_relay
is "$RELAY_STATUS" 0 "exit 0"
check "counted as unsendable" grep -q 'received=1 delivered=0 dropped=1 .*dropped_unsendable=1' "$T/relay.log"
done_testing
