#!/bin/bash
# tls.sh -- HTTPS to the remote with a CA and certificates made here: verified delivery,
# kept-alive and re-opened TLS connections, wrong host name and unknown CA refused.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

test_ca relay-test-ca
check "test CA and a certificate made with the openssl CLI" test_cert good 'DNS:localhost,IP:127.0.0.1'
check "certificate for another host made" test_cert wrong 'DNS:wrong.example'

post() { curl -s -o /dev/null -w '%{http_code}' --data-binary "$1" "http://127.0.0.1:$RELAY_PORT/ingest?name=app.cpu&n=$2"; }

start_sink tls --tls-cert "$T/good.pem" --tls-key "$T/good.key"
start_relay PYROSCOPE_REMOTE_ADDRESS="https://127.0.0.1:$SINK_PORT" SSL_CERT_FILE="$T/ca.pem" \
	PYROSCOPE_NUM_WORKERS=1
fx=$(fixture nodejs-0.6.4-wall-octet-stream.http)
is "$(send_raw "$fx")" "HTTP/1.1 200 OK" "fixture accepted"
wait_until 10 test -f "$T/tls/req-001.head"
fixture_body "$fx" "$T/want.body"
is "$(sha "$T/tls/req-001.body")" "$(sha "$T/want.body")" "delivered over verified TLS, byte-exact"
for i in 2 3 4; do post "s $i" $i >/dev/null; wait_until 10 test -f "$(printf '%s/tls/req-%03d.head' "$T" $i)"; done
is "$(count_requests tls)" 4 "later uploads reuse the kept-alive TLS connection"
stop_relay
check "all delivered" grep -q 'received=4 delivered=4 dropped=0' "$T/relay.log"

start_sink tlsclose --tls-cert "$T/good.pem" --tls-key "$T/good.key" --close
start_relay PYROSCOPE_REMOTE_ADDRESS="https://127.0.0.1:$SINK_PORT" SSL_CERT_FILE="$T/ca.pem" \
	PYROSCOPE_NUM_WORKERS=1
for i in 1 2 3; do post "s $i" $i >/dev/null; wait_until 10 test -f "$(printf '%s/tlsclose/req-%03d.head' "$T" $i)"; done
is "$(count_requests tlsclose)" 3 "the remote closing after each answer: a fresh TLS connection each time"
stop_relay
check "all delivered after closes" grep -q 'received=3 delivered=3 dropped=0' "$T/relay.log"

# By host name: resolved once at startup, connected by address, verified by name (SNI).
start_sink byname --tls-cert "$T/good.pem" --tls-key "$T/good.key"
# (evdns reads /etc/hosts: only run when localhost is 127.0.0.1 there and nothing else)
if [ "$(awk '!/^#/ { for (i = 2; i <= NF; i++) if ($i == "localhost") print $1 }' /etc/hosts | sort -u)" = 127.0.0.1 ]; then
	start_relay PYROSCOPE_REMOTE_ADDRESS="https://localhost:$SINK_PORT" SSL_CERT_FILE="$T/ca.pem" PYROSCOPE_LOG_LEVEL=debug
	wait_until 10 grep -q 'Resolved localhost to 127.0.0.1' "$T/relay.log"	# the lookup is asynchronous
	check "the remote's name is resolved before the first upload" grep -q 'Resolved localhost to 127.0.0.1' "$T/relay.log"
	# (made before the loop runs, so before any upload; under valgrind it takes a while)
	check "the TLS context is made once the relay is up, before the first upload" \
		wait_until 10 grep -q 'Made the TLS context for localhost ahead of the first upload' "$T/relay.log"
	post "by name" 1 >/dev/null
	check "delivered to https://localhost, certificate checked against the name" wait_until 10 test -f "$T/byname/req-001.head"
	is "$(head_header "$T/byname/req-001.head" host)" "localhost:$SINK_PORT" "Host carries the name, not the address"
	stop_relay
else
	ok "# SKIP localhost does not resolve to 127.0.0.1 only here"
fi

start_sink wrongname --tls-cert "$T/wrong.pem" --tls-key "$T/wrong.key"
start_relay PYROSCOPE_REMOTE_ADDRESS="https://127.0.0.1:$SINK_PORT" SSL_CERT_FILE="$T/ca.pem"
is "$(post x 1)" 200 "SDK answered"
wait_until 10 grep -q 'Failed to relay request' "$T/relay.log"
check "wrong host name refused by verification" grep -q 'certificate verification failed' "$T/relay.log"
is "$(count_requests wrongname)" 0 "nothing reached the impostor"
stop_relay

start_sink unknownca --tls-cert "$T/good.pem" --tls-key "$T/good.key"
: >"$T/empty.pem"
start_relay PYROSCOPE_REMOTE_ADDRESS="https://127.0.0.1:$SINK_PORT" SSL_CERT_FILE="$T/empty.pem" SSL_CERT_DIR="$T/nothing"
is "$(post x 1)" 200 "SDK answered"
wait_until 10 grep -q 'Failed to relay request' "$T/relay.log"
check "unknown CA refused" grep -q 'certificate verification failed: unable to get local issuer certificate' "$T/relay.log"
is "$(count_requests unknownca)" 0 "nothing sent to an unverified server"
stop_relay
check "counted as failed" grep -q 'dropped_failed=1' "$T/relay.log"

# --- reconnects resume the TLS session: the remote closes after every answer ---
start_sink resume --tls-cert "$T/good.pem" --tls-key "$T/good.key" --close --stats-file "$T/resume.stats"
start_relay PYROSCOPE_REMOTE_ADDRESS="https://127.0.0.1:$SINK_PORT" SSL_CERT_FILE="$T/ca.pem"
for i in 1 2 3 4; do
	post "resume $i" 1 >/dev/null
	wait_until 10 eval '[ "$(count_requests resume)" -ge '"$i"' ]'
done
wait_until 10 grep -q '"connections":4' "$T/resume.stats"
diag "sink: $(cat "$T/resume.stats" 2>/dev/null)"
check "4 uploads on 4 connections: 1 full handshake, 3 resumed (session tickets)" \
	grep -q '"tls_handshakes":4,"tls_full":1,"tls_resumed":3' "$T/resume.stats"
stop_relay

# --- a kept-alive connection idle longer than PYROSCOPE_KEEPALIVE_MAX_IDLE is replaced ---
start_sink idle --tls-cert "$T/good.pem" --tls-key "$T/good.key" --stats-file "$T/idle.stats"
start_relay PYROSCOPE_REMOTE_ADDRESS="https://127.0.0.1:$SINK_PORT" SSL_CERT_FILE="$T/ca.pem" \
	PYROSCOPE_KEEPALIVE_MAX_IDLE=1s
post "idle 1" 1 >/dev/null; wait_until 10 eval '[ "$(metric delivered_profiles_total)" -ge 1 ]'
post "idle 2" 1 >/dev/null; wait_until 10 eval '[ "$(metric delivered_profiles_total)" -ge 2 ]'
sleep 2
post "idle 3" 1 >/dev/null; wait_until 10 eval '[ "$(metric delivered_profiles_total)" -ge 3 ]'
stop_relay
wait_until 10 grep -q '"connections":2' "$T/idle.stats"
diag "sink: $(cat "$T/idle.stats" 2>/dev/null)"
check "back-to-back uploads share a connection; one after 2 s idle gets a fresh one, resumed" \
	grep -q '"connections":2,"requests":3,"tls_handshakes":2,"tls_full":1,"tls_resumed":1' "$T/idle.stats"
done_testing
