#!/bin/bash
# proxy.sh -- the remote through an HTTP proxy: a real tinyproxy on loopback, started here with
# its own log, which proves the traffic went through it. An https remote through CONNECT (the
# remote's certificate verified end to end, a wrong CA failing even through the proxy), an http
# remote with absolute-form requests, proxy credentials (right ones delivered; wrong ones
# answered 407, retried, counted and never logged), NO_PROXY bypasses, NO_PROXY=*, the proxy
# down then started, an unusable proxy URL, and the Lambda API never going through the proxy.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"
EMULATOR_BIN=${EMULATOR_BIN:-$TOP_SRCDIR/pyroscope-lambda-emulator}

if ! command -v tinyproxy >/dev/null 2>&1; then
	echo "1..0 # SKIP tinyproxy is not installed (sh tools/deps-debian.sh test installs it)"
	exit 0
fi

# start_proxy NAME PORT [config line...]: tinyproxy on 127.0.0.1:PORT in the foreground, its
# log in $T/NAME.log; sets NAME_PID.
start_proxy() {
	local name=$1 port=$2 line; shift 2
	{
		printf 'Port %s\nListen 127.0.0.1\nTimeout 30\nMaxClients 50\n' "$port"
		printf 'LogFile "%s"\nLogLevel Info\nPidFile "%s"\n' "$T/$name.log" "$T/$name.pid"
		printf 'Allow 127.0.0.1\nViaProxyName "relaytestproxy"\n'
		for line; do printf '%s\n' "$line"; done
	} >"$T/$name.conf"
	: >"$T/$name.log"
	tinyproxy -d -c "$T/$name.conf" >"$T/$name.out" 2>&1 &
	PIDS="$PIDS $!"
	eval "${name}_PID=$!"
	wait_until 10 grep -q 'Accepting connections' "$T/$name.log" ||
		{ echo "# tinyproxy $name did not start:"; sed 's/^/#   /' "$T/$name.out" "$T/$name.log"; return 1; }
}
# requests NAME: how many requests the proxy NAME logged (CONNECTs and absolute-form alike).
requests() { grep -c 'Request (file descriptor' "$T/$1.log" || true; }
delivered_is() { [ "$(metric delivered_profiles_total)" = "$1" ]; }
dropped_is() { [ "$(metric "dropped_profiles_total{reason=\"$1\"}")" = "$2" ]; }
retries_at_least() { [ "$(metric retries_total)" -ge "$1" ]; }
# stats NAME KEY: a number from the sink's --stats-file.
stats() { sed -n 's/.*"'"$2"'":\([0-9]*\).*/\1/p' "$T/$1.stats" 2>/dev/null; }
b64() { printf '%s' "$1" | base64 -w0; }
# no_secret DESC SECRET...: none of the strings is anywhere in the relay's log.
no_secret() {
	local desc=$1 s; shift
	for s; do
		if grep -qF -- "$s" "$T/relay.log"; then not_ok "$desc"; diag "found in the relay's log: $s"; return; fi
	done
	ok "$desc"
}

fx=$(fixture nodejs-0.6.4-wall-octet-stream.http)
fx2=$(fixture nodejs-0.6.4-heap-octet-stream-basicauth-tenant.http)
fixture_body "$fx" "$T/want.body"
want_line=$(fixture_line "$fx" | sed 's/ HTTP\/1\.1$//')

test_ca proxy-test-ca
check "test CA and a certificate for localhost and 127.0.0.1" test_cert remote 'DNS:localhost,IP:127.0.0.1'
# Another CA, which did not sign the remote's certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$T/other.key" \
	-out "$T/other.pem" -days 2 -subj "/CN=another-ca" 2>/dev/null
start_sink tls --tls-cert "$T/remote.pem" --tls-key "$T/remote.key" --stats-file "$T/tls.stats"
TLS_PORT=$SINK_PORT
start_sink plain
PLAIN_PORT=$SINK_PORT
TP=$(free_port)
start_proxy tp "$TP"

# --- an https remote through CONNECT ----------------------------------------------------------
start_relay PYROSCOPE_REMOTE_ADDRESS="https://127.0.0.1:$TLS_PORT" HTTPS_PROXY="http://127.0.0.1:$TP" \
	SSL_CERT_FILE="$T/ca.pem" PYROSCOPE_LOG_LEVEL=debug
check "the relay says it relays through the proxy" \
	grep -qF "Relaying to https://127.0.0.1:$TLS_PORT through the proxy http://127.0.0.1:$TP (HTTPS_PROXY)" "$T/relay.log"
is "$(send_raw "$fx")" "HTTP/1.1 200 OK" "https: the upload is accepted"
check "https: delivered through the proxy" wait_until 10 delivered_is 1
is "$(sha "$T/tls/req-001.body")" "$(sha "$T/want.body")" "https: the body arrived byte-exact"
is "$(head -1 "$T/tls/req-001.head" | sed 's/__session_id__%3D[0-9a-f]*%2C//')" \
	"$(printf '%s' "$want_line" | sed 's/__session_id__%3D[0-9a-f]*%2C//')" "https: method, path and query unchanged"
is "$(head_header "$T/tls/req-001.head" Host)" "127.0.0.1:$TLS_PORT" "https: Host is the remote's"
check "https: no Proxy-Authorization inside the tunnel" sh -c '! grep -qi "^proxy-" "$1"' sh "$T/tls/req-001.head"
check "https: tinyproxy's log shows the CONNECT to the remote" \
	grep -q "Request (file descriptor [0-9]*): CONNECT 127.0.0.1:$TLS_PORT HTTP/1.1" "$T/tp.log"
check "https: the tunnel opened (debug log)" grep -qF "Tunnel to 127.0.0.1:$TLS_PORT through the proxy http://127.0.0.1:$TP is open" "$T/relay.log"
for i in 2 3; do
	curl -s -o /dev/null --data-binary "kept $i" "http://127.0.0.1:$RELAY_PORT/ingest?name=app.cpu&n=$i"
done
check "https: two more uploads delivered" wait_until 10 delivered_is 3
is "$(grep -c "CONNECT 127.0.0.1:$TLS_PORT" "$T/tp.log")" 1 "https: they reused the kept-alive tunnel (one CONNECT)"
check "https: accounting holds" accounting_holds
# The tunnel's loopback port serves the relay's own connections only: another process that
# connects is closed at once and the proxy never sees a CONNECT for it (its credentials are not
# lent out).
tport=$(ss -Hltnp 2>/dev/null | grep "pid=$RELAY_PID," | sed -n 's/.*127\.0\.0\.1:\([0-9]*\) .*/\1/p' |
	grep -vx "$RELAY_PORT" | head -1)
if [ -n "$tport" ]; then
	got=$(timeout 10 python3 - "$tport" <<'EOF2'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=8)
s.sendall(b"\x16\x03\x01\x00\x05hello")
try:
    got = s.recv(100)
except ConnectionResetError:	# closed with the bytes unread: the kernel answers with a reset
    got = b""
print("closed" if got == b"" else "answered")
EOF2
)
	is "$got" closed "https: another process connecting to the tunnel's port is closed"
	is "$(grep -c "CONNECT 127.0.0.1:$TLS_PORT" "$T/tp.log")" 1 "https: and no CONNECT was made for it"
	check "https: the refusal is logged" grep -q 'Refused a connection to the tunnel.s loopback port from another process' "$T/relay.log"
else
	not_ok "https: the tunnel's loopback port is listed by ss"
fi
stop_relay
check "https: all delivered" grep -q 'received=3 delivered=3 dropped=0' "$T/relay.log"
tls_at_least() { [ "$(stats tls tls_handshakes)" -ge 1 ]; }
check "https: the TLS handshake ended at the remote (end to end through the tunnel)" wait_until 5 tls_at_least

# The remote by name: the proxy resolves it (CONNECT localhost:port), the certificate is checked
# for that name.
if [ "$(awk '!/^#/ { for (i = 2; i <= NF; i++) if ($i == "localhost") print $1 }' /etc/hosts | sort -u)" = 127.0.0.1 ]; then
	start_relay PYROSCOPE_REMOTE_ADDRESS="https://localhost:$TLS_PORT" HTTPS_PROXY="http://127.0.0.1:$TP" \
		SSL_CERT_FILE="$T/ca.pem"
	curl -s -o /dev/null --data-binary "by name" "http://127.0.0.1:$RELAY_PORT/ingest?name=app.cpu"
	check "https by name: delivered" wait_until 10 delivered_is 1
	check "https by name: the proxy was asked for the name" grep -q "CONNECT localhost:$TLS_PORT HTTP/1.1" "$T/tp.log"
	stop_relay
else
	ok "https by name # SKIP localhost is not only 127.0.0.1 in /etc/hosts"
	ok "https by name # SKIP localhost is not only 127.0.0.1 in /etc/hosts"
fi

# A large body through the tunnel: the splice's buffers fill and drain (backpressure), byte-exact.
head -c $((6 << 20)) /dev/urandom >"$T/big.body"
before=$(count_requests tls)
start_relay PYROSCOPE_REMOTE_ADDRESS="https://127.0.0.1:$TLS_PORT" HTTPS_PROXY="http://127.0.0.1:$TP" \
	SSL_CERT_FILE="$T/ca.pem"
is "$(curl -s -m $((30 * SLOW)) -o /dev/null -w '%{http_code}' --data-binary @"$T/big.body" \
	"http://127.0.0.1:$RELAY_PORT/ingest?name=app.cpu&big=1")" 200 "6 MiB body: accepted"
check "6 MiB body: delivered through the tunnel" wait_until 30 delivered_is 1
is "$(sha "$(printf '%s/tls/req-%03d.body' "$T" $((before + 1)))")" "$(sha "$T/big.body")" "6 MiB body: byte-exact at the remote"
stop_relay

# A CA that did not sign the remote's certificate: refused, even through the proxy.
before=$(count_requests tls)
start_relay PYROSCOPE_REMOTE_ADDRESS="https://127.0.0.1:$TLS_PORT" HTTPS_PROXY="http://127.0.0.1:$TP" \
	SSL_CERT_FILE="$T/other.pem" PYROSCOPE_RETRY_MAX_ATTEMPTS=1
connects=$(grep -c "CONNECT 127.0.0.1:$TLS_PORT" "$T/tp.log")
is "$(send_raw "$fx")" "HTTP/1.1 200 OK" "wrong CA: the upload is accepted"
check "wrong CA: the upload fails and is dropped" wait_until 10 dropped_is failed 1
check "wrong CA: the certificate verification failed" grep -q 'certificate verification failed' "$T/relay.log"
check "wrong CA: the attempt went through the proxy" test "$(grep -c "CONNECT 127.0.0.1:$TLS_PORT" "$T/tp.log")" -gt "$connects"
is "$(count_requests tls)" "$before" "wrong CA: nothing reached the remote"
check "wrong CA: accounting holds" accounting_holds
stop_relay

# --- an http remote through the proxy: absolute-form requests ---------------------------------
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$PLAIN_PORT" HTTP_PROXY="http://127.0.0.1:$TP" \
	PYROSCOPE_TENANT_ID=team-a
is "$(send_raw "$fx")" "HTTP/1.1 200 OK" "http: the upload is accepted"
check "http: delivered through the proxy" wait_until 10 delivered_is 1
is "$(sha "$T/plain/req-001.body")" "$(sha "$T/want.body")" "http: the body arrived byte-exact"
check "http: tinyproxy's log shows the absolute-form request" \
	grep -q "Request (file descriptor [0-9]*): POST http://127.0.0.1:$PLAIN_PORT/ingest?" "$T/tp.log"
is "$(head_header "$T/plain/req-001.head" Host)" "127.0.0.1:$PLAIN_PORT" "http: Host at the remote is the remote's"
check "http: the request passed the proxy (its Via)" grep -qi '^via: .*relaytestproxy' "$T/plain/req-001.head"
is "$(head_header "$T/plain/req-001.head" X-Scope-OrgID)" "team-a" "http: the relay's headers go through"
check "http: accounting holds" accounting_holds
stop_relay

# What the relay itself sends to an http proxy, byte for byte: a sink stands in for the proxy.
# The remote's name does not resolve: only the proxy may look it up.
start_sink fakeproxy
start_relay PYROSCOPE_REMOTE_ADDRESS="http://remote.invalid:8080/prefix" \
	HTTP_PROXY="http://p%40user:pass%3Aword@127.0.0.1:$SINK_PORT" PYROSCOPE_LOG_LEVEL=debug
curl -s -o /dev/null --data-binary "absolute" "http://127.0.0.1:$RELAY_PORT/ingest?name=app.cpu&x=1"
check "http: the request reached the proxy" wait_until 10 delivered_is 1
is "$(head -1 "$T/fakeproxy/req-001.head")" "POST http://remote.invalid:8080/prefix/ingest?name=app.cpu%7B__session_id__%3D$(sed -n 's/.*__session_id__%3D\([0-9a-f]*\).*/\1/p' "$T/fakeproxy/req-001.head" | head -1)%7D&x=1" \
	"http: the request line is absolute-form, the remote's path prefix joined"
is "$(head_header "$T/fakeproxy/req-001.head" Host)" "remote.invalid:8080" "http: Host is the remote's authority"
is "$(head_header "$T/fakeproxy/req-001.head" Proxy-Authorization)" "Basic $(b64 'p@user:pass:word')" \
	"http: Proxy-Authorization carries the decoded credentials"
no_secret "http: the proxy credentials are not in the relay's log" 'pass:word' 'pass%3Aword' "$(b64 'p@user:pass:word')"
stop_relay

# --- proxy credentials ------------------------------------------------------------------------
TA=$(free_port)
start_proxy tpa "$TA" 'BasicAuth alice s3cret-PW'
start_relay PYROSCOPE_REMOTE_ADDRESS="https://127.0.0.1:$TLS_PORT" \
	HTTPS_PROXY="http://alice:s3cret-PW@127.0.0.1:$TA" SSL_CERT_FILE="$T/ca.pem"
is "$(send_raw "$fx2")" "HTTP/1.1 200 OK" "credentials, https: the upload is accepted"
check "credentials, https: delivered" wait_until 10 delivered_is 1
check "credentials, https: the proxy let the CONNECT through" grep -q "CONNECT 127.0.0.1:$TLS_PORT" "$T/tpa.log"
check "credentials, https: the relay shows the proxy without credentials" \
	grep -qF "through the proxy http://127.0.0.1:$TA (HTTPS_PROXY)" "$T/relay.log"
no_secret "credentials, https: the password is not in the relay's log" 's3cret-PW' "$(b64 'alice:s3cret-PW')"
stop_relay

before=$(count_requests plain)
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$PLAIN_PORT" \
	http_proxy="http://alice:s3cret-PW@127.0.0.1:$TA"
is "$(send_raw "$fx")" "HTTP/1.1 200 OK" "credentials, http: the upload is accepted"
check "credentials, http: delivered" wait_until 10 delivered_is 1
check "credentials, http: the proxy took the absolute-form request" \
	grep -q "POST http://127.0.0.1:$PLAIN_PORT/ingest?" "$T/tpa.log"
last=$(printf '%s/plain/req-%03d.head' "$T" $((before + 1)))
check "credentials, http: the proxy's credentials do not reach the remote" \
	sh -c '! grep -qi "^proxy-authorization" "$1"' sh "$last"
stop_relay

# Wrong credentials through CONNECT (tinyproxy answers them 401, no credentials 407): the tunnel
# is refused, and the upload retried like one to a remote that is down: not counted against
# PYROSCOPE_RETRY_MAX_ATTEMPTS=2, until PYROSCOPE_RETRY_MAX_AGE drops it as too old.
before=$(requests tpa)
sink_before=$(count_requests tls)
start_relay PYROSCOPE_REMOTE_ADDRESS="https://127.0.0.1:$TLS_PORT" HTTPS_PROXY="http://alice:WRONG-pw-42@127.0.0.1:$TA" \
	SSL_CERT_FILE="$T/ca.pem" PYROSCOPE_RETRY_MAX_ATTEMPTS=2 PYROSCOPE_RETRY_MAX_AGE=4s
is "$(send_raw "$fx")" "HTTP/1.1 200 OK" "wrong credentials, https: the upload is accepted"
check "wrong credentials, https: retried past PYROSCOPE_RETRY_MAX_ATTEMPTS=2 (the remote was never reached)" \
	wait_until 15 retries_at_least 2
check "wrong credentials, https: dropped as too old, counted" wait_until 15 dropped_is too_old 1
check "wrong credentials, https: the proxy's refusal is logged" grep -q "the proxy answered '401 Unauthorized'" "$T/relay.log"
check "wrong credentials, https: every attempt went to the proxy" test "$(requests tpa)" -ge $((before + 3))
is "$(count_requests tls)" "$sink_before" "wrong credentials, https: nothing reached the remote"
check "wrong credentials, https: accounting holds" accounting_holds
no_secret "wrong credentials, https: the password is not in the relay's log" 'WRONG-pw-42' "$(b64 'alice:WRONG-pw-42')"
stop_relay

# No credentials: 407 to the CONNECT. With PYROSCOPE_RETRY_MAX_ATTEMPTS=1 even attempts that
# never reached the remote count: one attempt, dropped as failed.
start_relay PYROSCOPE_REMOTE_ADDRESS="https://127.0.0.1:$TLS_PORT" HTTPS_PROXY="http://127.0.0.1:$TA" \
	SSL_CERT_FILE="$T/ca.pem" PYROSCOPE_RETRY_MAX_ATTEMPTS=1
curl -s -o /dev/null --data-binary "no credentials" "http://127.0.0.1:$RELAY_PORT/ingest?name=app.cpu"
check "no credentials, https: dropped as failed after one attempt (retries off)" wait_until 10 dropped_is failed 1
is "$(metric retries_total)" 0 "no credentials, https: no retry"
check "no credentials, https: the proxy's 407 is logged" \
	grep -q "the proxy answered '407 Proxy Authentication Required'" "$T/relay.log"
stop_relay

# An http remote, no credentials: the proxy answers the upload itself with 407 (and tinyproxy
# closes before the end of that answer): retried like a remote that is down, until too old.
before=$(requests tpa)
sink_before=$(count_requests plain)
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$PLAIN_PORT" HTTP_PROXY="http://127.0.0.1:$TA" \
	PYROSCOPE_RETRY_MAX_ATTEMPTS=2 PYROSCOPE_RETRY_MAX_AGE=4s
is "$(send_raw "$fx")" "HTTP/1.1 200 OK" "no credentials, http: the upload is accepted"
check "no credentials, http: retried past PYROSCOPE_RETRY_MAX_ATTEMPTS=2 (the remote was never reached)" \
	wait_until 15 retries_at_least 2
check "no credentials, http: dropped as too old, counted" wait_until 15 dropped_is too_old 1
check "no credentials, http: the proxy's 407 is logged" \
	grep -qF "the proxy http://127.0.0.1:$TA answered '407 Proxy Authentication Required' (check the credentials in HTTP_PROXY)" "$T/relay.log"
check "no credentials, http: every attempt went to the proxy" test "$(requests tpa)" -ge $((before + 3))
is "$(count_requests plain)" "$sink_before" "no credentials, http: nothing reached the remote"
check "no credentials, http: accounting holds" accounting_holds
stop_relay

# An http remote, wrong credentials: tinyproxy answers 401 (which an http remote could send as
# well, so it is final) and closes before the end of it; either way the upload is not delivered,
# it is counted as dropped, and the password is never logged.
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$PLAIN_PORT" HTTP_PROXY="http://alice:WRONG-pw-42@127.0.0.1:$TA" \
	PYROSCOPE_RETRY_MAX_ATTEMPTS=2 PYROSCOPE_RETRY_MAX_AGE=4s
is "$(send_raw "$fx")" "HTTP/1.1 200 OK" "wrong credentials, http: the upload is accepted"
dropped_any() { [ $(( $(metric 'dropped_profiles_total{reason="failed"}') + $(metric 'dropped_profiles_total{reason="rejected"}') + $(metric 'dropped_profiles_total{reason="too_old"}') )) -eq 1 ]; }
check "wrong credentials, http: dropped, counted" wait_until 15 dropped_any
is "$(count_requests plain)" "$sink_before" "wrong credentials, http: nothing reached the remote"
check "wrong credentials, http: accounting holds" accounting_holds
no_secret "wrong credentials, http: the password is not in the relay's log" 'WRONG-pw-42' "$(b64 'alice:WRONG-pw-42')"
stop_relay

# 407 from an http proxy that reads the whole upload and keeps the connection (a sink stands in).
start_sink proxy407 --status 407
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$PLAIN_PORT" HTTP_PROXY="http://127.0.0.1:$SINK_PORT" \
	PYROSCOPE_RETRY_MAX_ATTEMPTS=2 PYROSCOPE_RETRY_MAX_AGE=4s
curl -s -o /dev/null --data-binary "407" "http://127.0.0.1:$RELAY_PORT/ingest?name=app.cpu"
check "407 from the proxy: retried past PYROSCOPE_RETRY_MAX_ATTEMPTS=2" wait_until 15 retries_at_least 2
check "407 from the proxy: dropped as too old" wait_until 15 dropped_is too_old 1
check "407 from the proxy: every attempt reached the proxy" test "$(count_requests proxy407)" -ge 3
is "$(metric 'dropped_profiles_total{reason="rejected"}')" 0 "407 from the proxy: not taken as the remote's refusal"
stop_relay

# --- NO_PROXY -----------------------------------------------------------------------------------
before=$(requests tp)
start_relay PYROSCOPE_REMOTE_ADDRESS="https://127.0.0.1:$TLS_PORT" HTTPS_PROXY="http://127.0.0.1:$TP" \
	NO_PROXY="example.org, 127.0.0.1" SSL_CERT_FILE="$T/ca.pem"
check "NO_PROXY names the remote: logged" grep -qF "NO_PROXY names the remote: connecting to it directly, not through the proxy in HTTPS_PROXY" "$T/relay.log"
is "$(send_raw "$fx")" "HTTP/1.1 200 OK" "NO_PROXY: the upload is accepted"
check "NO_PROXY: delivered" wait_until 10 delivered_is 1
is "$(requests tp)" "$before" "NO_PROXY: tinyproxy's log shows nothing (the remote was reached directly)"
stop_relay

start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$PLAIN_PORT" HTTP_PROXY="http://127.0.0.1:$TP" no_proxy='*'
curl -s -o /dev/null --data-binary "star" "http://127.0.0.1:$RELAY_PORT/ingest?name=app.cpu"
check "NO_PROXY=*: delivered" wait_until 10 delivered_is 1
is "$(requests tp)" "$before" "NO_PROXY=*: tinyproxy's log shows nothing"
stop_relay

# No implicit bypass: loopback is proxied unless NO_PROXY names it; and no_proxy wins over NO_PROXY.
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$PLAIN_PORT" HTTP_PROXY="http://127.0.0.1:$TP" \
	no_proxy=localhost NO_PROXY=127.0.0.1
curl -s -o /dev/null --data-binary "loopback" "http://127.0.0.1:$RELAY_PORT/ingest?name=app.cpu"
check "loopback remote, NO_PROXY not naming it: delivered" wait_until 10 delivered_is 1
is "$(requests tp)" "$((before + 1))" "loopback remote: it went through the proxy (no implicit bypass; no_proxy wins over NO_PROXY)"
stop_relay

# https_proxy wins over HTTPS_PROXY (here a dead port).
DEAD=$(free_port)
before=$(requests tp)
start_relay PYROSCOPE_REMOTE_ADDRESS="https://127.0.0.1:$TLS_PORT" https_proxy="http://127.0.0.1:$TP" \
	HTTPS_PROXY="http://127.0.0.1:$DEAD" SSL_CERT_FILE="$T/ca.pem"
curl -s -o /dev/null --data-binary "lower" "http://127.0.0.1:$RELAY_PORT/ingest?name=app.cpu"
check "https_proxy wins over HTTPS_PROXY: delivered" wait_until 10 delivered_is 1
is "$(requests tp)" "$((before + 1))" "https_proxy wins over HTTPS_PROXY: through the proxy it names"
stop_relay

# --- the proxy down, then started on that port ------------------------------------------------
DOWN=$(free_port)
before=$(count_requests tls)
start_relay PYROSCOPE_REMOTE_ADDRESS="https://127.0.0.1:$TLS_PORT" HTTPS_PROXY="http://127.0.0.1:$DOWN" \
	SSL_CERT_FILE="$T/ca.pem" PYROSCOPE_RETRY_MAX_ATTEMPTS=2
for i in 1 2 3; do
	is "$(curl -s -o /dev/null -w '%{http_code}' --data-binary "down $i" "http://127.0.0.1:$RELAY_PORT/ingest?name=app.cpu&n=$i")" \
		200 "proxy down: upload $i accepted"
done
check "proxy down: retried past PYROSCOPE_RETRY_MAX_ATTEMPTS=2 (the remote was never reached)" \
	wait_until 20 retries_at_least 7
check "proxy down: the reason is logged" grep -q 'cannot connect to the proxy: Connection refused' "$T/relay.log"
# Waiting, or in flight on an attempt at the proxy (a slow build may be caught in one).
held=$(curl -s -m 5 "http://127.0.0.1:$RELAY_PORT/metrics" | awk '$1 == "pyroscope_relay_queued_profiles" ||
	$1 == "pyroscope_relay_in_flight_profiles" { n += $2 } END { print n + 0 }')
is "$held/$(count_requests tls)" "3/$before" \
	"proxy down: the three wait in the queue, nothing reached the remote"
check "proxy down: accounting holds" accounting_holds
start_proxy tpdown "$DOWN"
check "proxy started: everything queued is delivered" wait_until 40 delivered_is 3
is "$(count_requests tls)" "$((before + 3))" "proxy started: three arrived at the remote"
check "proxy started: through the proxy" test "$(grep -c "CONNECT 127.0.0.1:$TLS_PORT" "$T/tpdown.log")" -ge 1
is "$(metric received_profiles_total)/$(metric delivered_profiles_total)/$(metric dropped_profiles_total{reason=\"failed\"})" \
	"3/3/0" "proxy started: received 3, delivered 3, none dropped"
check "proxy started: accounting holds" accounting_holds
stop_relay

# --- an unusable proxy URL: a configuration problem, nothing sent around it -------------------
env -i PATH="$PATH" PYROSCOPE_REMOTE_ADDRESS="https://127.0.0.1:$TLS_PORT" \
	HTTPS_PROXY="https://bob:Hidden-99@127.0.0.1:$TP" \
	${RELAY_VALGRIND:+$RELAY_VALGRIND --log-file=$T/valgrind.log} "$RELAY_BIN" --check-config >"$T/check.out" 2>&1
is "$?" 1 "unusable proxy URL: --check-config fails"
check "unusable proxy URL: the problem names HTTPS_PROXY" grep -q 'HTTPS_PROXY: unusable proxy URL' "$T/check.out"
check "unusable proxy URL: --check-config does not show the password" sh -c '! grep -q Hidden-99 "$1"' sh "$T/check.out"
before=$(requests tp)
start_relay PYROSCOPE_REMOTE_ADDRESS="https://127.0.0.1:$TLS_PORT" HTTPS_PROXY="socks5://127.0.0.1:$TP"
is "$(send_raw "$fx")" "HTTP/1.1 200 OK" "unusable proxy URL: the SDK still gets 200"
check "unusable proxy URL: the upload is dropped as unsendable" wait_until 10 dropped_is unsendable 1
is "$(requests tp)" "$before" "unusable proxy URL: nothing was sent anywhere"
stop_relay

# --- the Lambda API never goes through a proxy ------------------------------------------------
# Every proxy variable points at tinyproxy, for the extension only: it must register, follow
# events and deliver through the proxy, which sees the uploads and nothing of the Lambda API.
mkdir -p "$T/ext"
printf '#!/bin/sh\nexport http_proxy=%s HTTP_PROXY=%s https_proxy=%s HTTPS_PROXY=%s ALL_PROXY=%s all_proxy=%s\nexec %s %s "$@"\n' \
	"http://127.0.0.1:$TP" "http://127.0.0.1:$TP" "http://127.0.0.1:$TP" "http://127.0.0.1:$TP" \
	"http://127.0.0.1:$TP" "http://127.0.0.1:$TP" \
	"${RELAY_VALGRIND:+$RELAY_VALGRIND --log-file=$T/valgrind.%p.log}" "$RELAY_BIN" >"$T/ext/pyroscope-lambda-extension"
chmod +x "$T/ext/pyroscope-lambda-extension"
before=$(count_requests plain)
: >"$T/tp.log"
port=$(free_port)
: >"$T/lambda.count"
env -i PATH="$PATH" HOME="$T" TZ=UTC ${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS} \
	${UBSAN_OPTIONS:+UBSAN_OPTIONS=$UBSAN_OPTIONS} \
	PYROSCOPE_LISTEN_ADDRESS="127.0.0.1:$port" SAMPLE_RELAY_PORT="$port" SAMPLE_UPLOADS=1 \
	SAMPLE_COUNT_FILE="$T/lambda.count" PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$PLAIN_PORT" \
	timeout $((120 * SLOW)) "$EMULATOR_BIN" --listen 127.0.0.1:0 --extensions "$T/ext" \
	--function "bash $TOP_SRCDIR/tools/lambda-sample-function.sh" --invokes 2 --gap-ms 100 \
	--init-timeout-ms $((10000 * SLOW)) --timeout-ms $((5000 * SLOW)) >"$T/lambda.out" 2>"$T/lambda.err"
is "$?" 0 "Lambda: the run succeeds with every proxy variable set for the extension"
n=$(grep -c . "$T/lambda.count")
check "Lambda: uploads were made ($n)" test "$n" -ge 2
check "Lambda: everything delivered" grep -q "Relay stopped: received=$n delivered=$n dropped=0" "$T/lambda.err"
is "$(count_requests plain)" "$((before + n))" "Lambda: the uploads reached the remote"
is "$(requests tp)" "$n" "Lambda: the proxy saw exactly the uploads"
is "$(grep 'Request (file descriptor' "$T/tp.log" | grep -vc "POST http://127.0.0.1:$PLAIN_PORT/ingest?")" 0 \
	"Lambda: nothing of the Lambda API went through the proxy"
if [ -n "${RELAY_VALGRIND:-}" ]; then
	check "Lambda: valgrind found nothing" sh -c '! grep -q "ERROR SUMMARY: [1-9]\|definitely lost: [1-9]" "$@"' sh "$T"/valgrind.*.log
fi
done_testing
