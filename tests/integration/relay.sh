#!/bin/bash
# relay.sh -- real SDK requests through the relay to a real upstream on loopback:
# byte-exact bodies, query and content headers, path joining, session id,
# chunked and 100-continue uploads, the push reply, 200 before the upstream answers,
# and the drain on SIGTERM.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

# --- the three captured Node SDK requests, byte for byte --------------------
start_sink up
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" PYROSCOPE_LOG_LEVEL=debug
n=0
for f in nodejs-0.6.4-wall-octet-stream.http nodejs-0.6.4-heap-octet-stream-basicauth-tenant.http \
	nodejs-0.4.13-wall-multipart-bearer.http; do
	n=$((n + 1))
	fx=$(fixture "$f")
	status=$(send_raw "$fx")
	is "$status" "HTTP/1.1 200 OK" "$f: the SDK gets 200"
	head=$(printf '%s/up/req-%03d.head' "$T" "$n")
	wait_until 10 test -f "$head" || true
	# Uploads are concurrent in general; here one at a time, so numbering follows.
	fixture_body "$fx" "$T/want.body"
	is "$(sha "${head%.head}.body")" "$(sha "$T/want.body")" "$f: body byte-exact"
	for h in content-type content-encoding user-agent accept-encoding authorization x-scope-orgid; do
		want=$(head -c 4096 "$fx" | tr -d '\r' | awk -v n="$h" 'NR>1 && /^$/ {exit} NR>1 { k=$0; sub(/:.*/, "", k); if (tolower(k) == n) { sub(/^[^:]*: ?/, ""); print; exit } }')
		is "$(head_header "$head" "$h")" "$want" "$f: $h passed through unchanged"
	done
	is "$(head_header "$head" host)" "127.0.0.1:$SINK_PORT" "$f: Host is the remote's"
	check "$f: no hop-by-hop Connection header" eval "! has_header '$head' connection"
	check "$f: no X-Forwarded-Host" eval "! has_header '$head' x-forwarded-host"
	is "$(head_header "$head" content-length)" "$(stat -c %s "$T/want.body")" "$f: Content-Length of the body"
done

# Node >= 0.6.2 names have dotted keys: the query goes up byte for byte.
i=0
for f in nodejs-0.6.4-wall-octet-stream.http nodejs-0.6.4-heap-octet-stream-basicauth-tenant.http; do
	i=$((i + 1))
	want=$(fixture_line "$(fixture "$f")")
	got=$(head -1 "$T/up/req-00$i.head")
	is "$got" "${want% HTTP/1.1}" "$f: request line (path and query) unchanged"
done
# Node 0.4.x names parse: only the name value changes, every other byte stays.
want=$(fixture_line "$(fixture nodejs-0.4.13-wall-multipart-bearer.http)")
want=${want% HTTP/1.1}
got=$(head -1 "$T/up/req-003.head")
prefix=${want%%name=*}
check "0.4.13: bytes before name unchanged" test "${got#"$prefix"}" != "$got"
check "0.4.13: session id added to the labels" grep -Eq 'name=relay-fixture-app%7B__session_id__%3D[0-9a-f]{16}%2Cenv%3Dtest%2Cregion%3Dlocal%7D&' "$T/up/req-003.head"
is "${got#*%7D}" "${want#*%7D}" "0.4.13: bytes after name unchanged"
check "secrets never logged" eval "! grep -Eq 'dummy-bearer-token|MTIzNDU2OmdsY19kdW1teV90b2tlbg' '$T/relay.log'"
stop_relay
is "$RELAY_STATUS" 0 "SIGTERM: exit 0"
check "summary counts 3 delivered" grep -q 'received=3 delivered=3 dropped=0' "$T/relay.log"

# --- path prefix, chunked, 100-continue, push reply ---------------------------
start_sink up2
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT/prefix/"
head -c 200000 /dev/urandom >"$T/big.bin"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' \
	--data-binary @"$T/big.bin" "http://127.0.0.1:$RELAY_PORT/ingest?name=app&format=pprof")
is "$code" 200 "chunked upload accepted"
wait_until 10 test -f "$T/up2/req-001.head"
is "$(head -1 "$T/up2/req-001.head")" "POST /prefix/ingest?name=app%7B__session_id__%3D$(sed -n 's/.*__session_id__%3D\([0-9a-f]*\).*/\1/p' "$T/up2/req-001.head")%7D&format=pprof" \
	"path joined onto the remote prefix, query kept"
is "$(sha "$T/up2/req-001.body")" "$(sha "$T/big.bin")" "chunked body byte-exact upstream"
check "chunked upload goes up with a Content-Length" has_header "$T/up2/req-001.head" content-length

head -c 1500000 /dev/urandom >"$T/huge.bin"
start=$(date +%s%N)
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Expect: 100-continue' \
	--data-binary @"$T/huge.bin" "http://127.0.0.1:$RELAY_PORT/pyroscope/ingest")
ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$code" 200 "Expect: 100-continue upload accepted"
check "100-continue answered at once (no 1 s client wait; took ${ms} ms)" test "$ms" -lt $((900 * SLOW))
wait_until 10 test -f "$T/up2/req-002.head"
is "$(head -1 "$T/up2/req-002.head")" "POST /prefix/pyroscope/ingest" "/pyroscope/ingest passes through"
is "$(sha "$T/up2/req-002.body")" "$(sha "$T/huge.bin")" "1.5 MB body byte-exact"
check "Expect is not forwarded" eval "! has_header '$T/up2/req-002.head' expect"

out=$(curl -s -D "$T/push.h" -H 'Content-Type: application/json' --data-binary '{"series":[]}' \
	"http://127.0.0.1:$RELAY_PORT/push.v1.PusherService/Push")
is "$out" "{}" "push with JSON: body {}"
check "push: Content-Type echoed" grep -qi '^content-type: application/json' "$T/push.h"
out=$(curl -s -D "$T/push2.h" -H 'Content-Type: application/proto' --data-binary 'x' \
	"http://127.0.0.1:$RELAY_PORT/push.v1.PusherService/Push" | wc -c)
is "$out" 0 "push with proto: empty body"
check "push: proto Content-Type echoed" grep -qi '^content-type: application/proto' "$T/push2.h"
wait_until 10 test -f "$T/up2/req-004.head"
is "$(head -1 "$T/up2/req-004.head")" "POST /prefix/push.v1.PusherService/Push" "push path relayed"
curl -s -o "$T/ingest.out" -D "$T/ingest.h" --data-binary 'a;b 1' "http://127.0.0.1:$RELAY_PORT/ingest?name=x"
is "$(wc -c <"$T/ingest.out")" 0 "/ingest reply has an empty body"
check "/ingest reply has no Content-Type (as the original)" eval "! grep -qi '^content-type' '$T/ingest.h'"
stop_relay

# --- the SDK never waits for the remote; SIGTERM drains what is queued -------
start_sink slow --delay-ms 1500
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" PYROSCOPE_NUM_WORKERS=1
start=$(date +%s%N)
for i in 1 2 3; do
	curl -s -o /dev/null --data-binary "stack;frame $i" "http://127.0.0.1:$RELAY_PORT/ingest?name=app.cpu&i=$i"
done
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "3 uploads answered while the remote takes 1.5 s each (took ${ms} ms)" test "$ms" -lt $((1000 * SLOW))
stop_relay
is "$RELAY_STATUS" 0 "drain then exit 0"
is "$(count_requests slow)" 3 "every queued profile delivered during the drain"
check "drain summary: 3 delivered" grep -q 'received=3 delivered=3 dropped=0' "$T/relay.log"

done_testing
