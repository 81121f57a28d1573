#!/bin/bash
# retries.sh -- fault injection at the upstream: what is retried, what is final, recovery
# after an outage, closed keep-alive connections, a remote that never answers; the SDK is
# always answered at once and the counters always add up.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

post() { curl -s -o /dev/null -w '%{http_code}' -m $((5 * SLOW)) --data-binary "$1" "http://127.0.0.1:$RELAY_PORT/ingest?name=app.cpu&n=$2"; }
delivered_is() { [ "$(metric delivered_profiles_total)" = "$1" ]; }
dropped_is() { [ "$(metric "dropped_profiles_total{reason=\"$1\"}")" = "$2" ]; }

# --- 503 twice with Retry-After, then success -------------------------------
start_sink flaky --fail 2 --fail-status 503 --retry-after 1
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT"
start=$(date +%s%N)
is "$(post 'a;b 1' 1)" 200 "503s upstream: the SDK still gets 200 at once"
check "delivered after two retries" wait_until 15 delivered_is 1
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "Retry-After: 1 honoured twice (${ms} ms >= 1900)" test "$ms" -ge 1900
is "$(metric retries_total)" 2 "two retries counted"
is "$(count_requests flaky)" 3 "the remote saw three attempts"
is "$(sha "$T/flaky/req-003.body")" "$(sha "$T/flaky/req-001.body")" "the same bytes each time"
check "retries logged at warning" grep -q "level=warning msg=\"Upload failed: response not ok: status code: '503'.*retrying in" "$T/relay.log"
check "accounting holds" accounting_holds
stop_relay

# --- 429 is retried too ----------------------------------------------------
start_sink limited --fail 1 --fail-status 429 --retry-after 0
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT"
post x 1 >/dev/null
check "429 retried, then delivered" wait_until 10 delivered_is 1
stop_relay

# --- final answers: never retried -------------------------------------------
for code in 400 401 413 501; do
	start_sink "final$code" --status "$code"
	start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT"
	post x 1 >/dev/null
	wait_until 10 dropped_is rejected 1
	is "$(metric retries_total)/$(count_requests "final$code")" "0/1" "$code is final: one attempt, no retry"
	check "$code logged with the remote's answer" grep -qF "response not ok: status code: '$code'. body: '{\\\"code\\\":" "$T/relay.log"
	stop_relay
done

# --- the remote is down, then comes back on the same port --------------------
start_sink outage
port=$SINK_PORT
kill "$outage_PID"; wait "$outage_PID" 2>/dev/null
rm -rf "$T/outage"
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$port" PYROSCOPE_RETRY_MAX_ATTEMPTS=20
for i in 1 2 3; do printf 'stack;frame %d\n' "$i" >"$T/body$i"; is "$(post "@$T/body$i" "$i" 2>/dev/null)" 200 "upload $i during the outage answered 200"; done
for i in 1 2 3; do curl -s -o /dev/null --data-binary @"$T/body$i" "http://127.0.0.1:$RELAY_PORT/ingest?name=app.cpu&n=$i"; done
check "uploads are kept while the remote is down" test "$(metric queued_profiles)" -ge 1
check "accounting holds during the outage" accounting_holds
"$SINK_BIN" --listen "127.0.0.1:$port" --dir "$T/outage" >"$T/outage2.out" 2>&1 &
PIDS="$PIDS $!"
check "after the remote is back, everything queued is delivered" wait_until 30 delivered_is 6
is "$(count_requests outage)" 6 "six uploads arrived"
got=$(for f in "$T"/outage/*.body; do sha "$f"; done | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')
is "$got" "2 2 2 " "byte-exact: each body arrived (twice each, as sent twice)"
check "accounting holds after recovery" accounting_holds
stop_relay

# --- the remote resets the connection instead of answering -------------------
start_sink resets --reset 2
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT"
fx=$(fixture nodejs-0.6.4-wall-octet-stream.http)
is "$(send_raw "$fx")" "HTTP/1.1 200 OK" "reset by the remote: the SDK still gets 200"
check "delivered on the third attempt" wait_until 15 delivered_is 1
is "$(metric retries_total)/$(count_requests resets)" "2/3" "two resets, two retries, three attempts"
fixture_body "$fx" "$T/want.body"
is "$(sha "$T/resets/req-003.body")" "$(sha "$T/want.body")" "the delivered body is byte-exact"
stop_relay

# --- the remote closes kept-alive connections after every answer ------------
start_sink closing --close
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" PYROSCOPE_NUM_WORKERS=1
for i in 1 2 3 4 5; do post "s $i" "$i" >/dev/null; wait_until 10 delivered_is "$i"; done
is "$(metric delivered_profiles_total)/$(metric retries_total)" "5/0" "five delivered, closes cost no retry"
stop_relay

# --- a remote that accepts and never answers --------------------------------
start_sink silent --delay-ms 60000
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" PYROSCOPE_TIMEOUT=300ms PYROSCOPE_RETRY_MAX_ATTEMPTS=2
start=$(date +%s%N)
is "$(post x 1)" 200 "silent remote: the SDK gets 200"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "at once (${ms} ms)" test "$ms" -lt $((1000 * SLOW))
check "two timed-out attempts, then dropped as failed" wait_until 15 dropped_is failed 1
is "$(metric retries_total)" 1 "one retry"
check "timeouts logged" grep -q 'timed out' "$T/relay.log"
check "accounting holds" accounting_holds
stop_relay

# --- too old to retry --------------------------------------------------------
start_sink always503 --status 503 --retry-after 2
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" PYROSCOPE_RETRY_MAX_AGE=1s
post x 1 >/dev/null
check "a retry past PYROSCOPE_RETRY_MAX_AGE is not made: dropped as too old" wait_until 10 dropped_is too_old 1
is "$(count_requests always503)" 1 "one attempt"
stop_relay
check "summary line counts it" grep -q 'dropped_too_old=1' "$T/relay.log"
done_testing
