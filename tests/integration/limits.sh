#!/bin/bash
# limits.sh -- body and header limits, malformed requests, and the bounded queue dropping the oldest.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

start_sink up
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" \
	PYROSCOPE_MAX_BODY_SIZE=64KiB PYROSCOPE_MAX_HEADER_SIZE=2KiB
URL="http://127.0.0.1:$RELAY_PORT/ingest?name=app.cpu"
head -c 100000 /dev/urandom >"$T/100k"
is "$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$T/100k" "$URL")" 413 "body over the limit (Content-Length): 413"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' --data-binary @"$T/100k" "$URL")
check "body over the limit (chunked): refused with 413 or the connection closed (got $code)" \
	test "$code" = 413 -o "$code" = 000
big=$(head -c 3000 /dev/zero | tr '\0' 'a')
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $big" --data-binary 'a 1' "$URL")
check "headers over the limit refused (got $code)" test "$code" -ge 400 -o "$code" = 000
printf 'NOT A REQUEST\r\n\r\n' >"$T/garbage"
status=$(send_raw "$T/garbage")
check "malformed request: 400 or closed (got '$status')" test "${status#HTTP/1.1 400}" != "$status" -o -z "$status"
# Bytes that a lenient server further on could read as a header split: refused, never relayed.
raw() { printf "$1 HTTP/1.1\r\nHost: 127.0.0.1\r\n$2Content-Length: 3\r\n\r\na 1" >"$T/raw"; send_raw "$T/raw"; }
is "$(raw 'POST /ingest?name=app.cpu&a=1\rX-Evil:\t1' '')" "HTTP/1.1 400 Bad Request" "a CR in the request target: 400"
is "$(raw 'POST /ingest?name=app.cpu&a=\x7f' '')" "HTTP/1.1 400 Bad Request" "a DEL in the request target: 400"
is "$(raw 'POST /ingest?name=app.cpu' 'X-Bad: a\r b\r\n')" "HTTP/1.1 400 Bad Request" "a bare CR in a header value: 400"
is "$(raw 'POST /ingest?name=app.cpu' 'X-Bad(: 1\r\n')" "HTTP/1.1 400 Bad Request" "a header name that is not a token: 400"
head -c 60000 /dev/urandom >"$T/60k"
is "$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$T/60k" "$URL")" 200 "body under the limit still accepted"
wait_until 10 test -f "$T/up/req-001.head"
is "$(count_requests up)" 1 "only the accepted upload went upstream"
is "$(sha "$T/up/req-001.body")" "$(sha "$T/60k")" "and it is byte-exact"
# Headers that the client's Connection header names are hop-by-hop: not forwarded.
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'Connection: keep-alive, X-Hop' -H 'X-Hop: 1' -H 'X-End: 2' \
	--data-binary 'a 1' "$URL")" 200 "an upload with Connection: keep-alive, X-Hop accepted"
wait_until 10 test -f "$T/up/req-002.head"
check "the header Connection names is not forwarded" sh -c '! grep -qi "^X-Hop:" "$1"' sh "$T/up/req-002.head"
check "other headers are" grep -qi '^X-End: 2' "$T/up/req-002.head"
stop_relay
is "$RELAY_STATUS" 0 "exit 0"
check "refused requests were never counted as received" grep -q 'received=2 delivered=2 dropped=0' "$T/relay.log"

# Queue of 2, one worker, a slow remote: the oldest queued profiles make room.
start_sink slow --delay-ms $((800 * SLOW))
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" PYROSCOPE_NUM_WORKERS=1 PYROSCOPE_TIMEOUT=$((30 * SLOW))s \
	PYROSCOPE_QUEUE_MAX_PROFILES=2
for i in 1 2 3 4 5 6; do
	code=$(curl -s -o /dev/null -w '%{http_code}' --data-binary "s $i" "http://127.0.0.1:$RELAY_PORT/ingest?name=app.cpu&i=$i")
	[ "$code" = 200 ] || not_ok "upload $i answered $code"
	[ $i -eq 1 ] && wait_until 5 sink_got slow	# the first is in flight
done
ok "every upload answered 200 even with the queue full"
check "queue-full drop logged" grep -q 'Request queue is full' "$T/relay.log"
stop_relay
is "$(count_requests slow)" 3 "in flight + 2 queued delivered"
got=$(cat "$T"/slow/*.head | sed -n 's/.*&i=\([0-9]*\).*/\1/p' | sort -n | tr '\n' ' ')
is "$got" "1 5 6 " "the freshest profiles were kept"
check "accounting: received = delivered + dropped" grep -q 'received=6 delivered=3 dropped=3 dropped_queue_full=3' "$T/relay.log"
done_testing
