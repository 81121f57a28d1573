# lib.sh -- shared setup for the integration tests: scratch dir, sink, relay, raw requests.
# Source it from a bash test after tap.sh. Everything binds to 127.0.0.1 with
# port 0 and every wait is bounded; every process started is killed on exit.

set -u
TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
RELAY_BIN=${RELAY_BIN:-$TOP_SRCDIR/pyroscope-lambda-extension}
SINK_BIN=${SINK_BIN:-$TOP_SRCDIR/pyroscope-sink}
FIXTURES=${FIXTURES:-$TOP_SRCDIR/tests/fixtures/pyroscope-nodejs}
# Under valgrind everything is slower: scale the waits.
SLOW=1
[ -n "${RELAY_VALGRIND:-}" ] && SLOW=10

T=$(mktemp -d "${TMPDIR:-/tmp}/relay-test.XXXXXX")
PIDS=""
# alive: true while any started process still runs.
alive() {
	local p
	for p in $PIDS; do kill -0 "$p" 2>/dev/null && return 0; done
	return 1
}
cleanup() {
	local p i
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for i in 1 2 3 4 5 6 7 8 9 10; do
		alive || break
		sleep 0.1
	done
	for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

# wait_until SECONDS CMD...: poll CMD every 0.05 s until it succeeds; 1 on timeout.
wait_until() {
	local limit=$(( $1 * 20 * SLOW )); shift
	local i=0
	while ! "$@" 2>/dev/null; do
		i=$((i + 1))
		[ $i -ge $limit ] && return 1
		sleep 0.05
	done
	return 0
}

# start_sink NAME [sink options...]: a sink storing into $T/NAME; sets SINK_PORT.
start_sink() {
	local name=$1; shift
	rm -f "$T/$name.port"
	"$SINK_BIN" --listen 127.0.0.1:0 --port-file "$T/$name.port" --dir "$T/$name" "$@" \
		>"$T/$name.out" 2>"$T/$name.err" &
	PIDS="$PIDS $!"
	eval "${name}_PID=$!"
	wait_until 10 test -s "$T/$name.port" || { echo "# sink $name did not start"; cat "$T/$name.err"; return 1; }
	SINK_PORT=$(cat "$T/$name.port")
}

# start_relay VAR=value...: the relay in dev mode on 127.0.0.1:0 with only the
# given environment; its log goes to $T/relay.log. Sets RELAY_PORT and RELAY_PID.
start_relay() {
	: >"$T/relay.log"
	# shellcheck disable=SC2086
	env -i PATH="$PATH" HOME="$T" TZ=UTC PYROSCOPE_DEV_MODE=true \
		PYROSCOPE_LISTEN_ADDRESS=127.0.0.1:0 ${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS} \
		${UBSAN_OPTIONS:+UBSAN_OPTIONS=$UBSAN_OPTIONS} "$@" \
		${RELAY_VALGRIND:+$RELAY_VALGRIND --log-file=$T/valgrind.log} "$RELAY_BIN" 2>"$T/relay.log" &
	RELAY_PID=$!
	PIDS="$PIDS $RELAY_PID"
	# The port is in the "Serving on" line, or, when the log level hides it, in ss.
	if ! wait_until 10 relay_port_known; then
		echo "# relay did not start:"; sed 's/^/#   /' "$T/relay.log"; return 1
	fi
}
relay_port_known() {
	RELAY_PORT=$(sed -n 's/.*Serving on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/relay.log" | head -1)
	[ -n "$RELAY_PORT" ] && return 0
	RELAY_PORT=$(ss -Hltnp 2>/dev/null | grep "pid=$RELAY_PID," | sed -n 's/.*127\.0\.0\.1:\([0-9]*\) .*/\1/p' | head -1)
	[ -n "$RELAY_PORT" ]
}

# stop_relay: SIGTERM, wait (bounded) and set RELAY_STATUS to its exit status.
stop_relay() {
	kill -TERM "$RELAY_PID" 2>/dev/null || true
	local i=0
	while kill -0 "$RELAY_PID" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -ge $((300 * SLOW)) ]; then kill -9 "$RELAY_PID"; break; fi
		sleep 0.05
	done
	wait "$RELAY_PID"
	RELAY_STATUS=$?
	# A sanitizer or valgrind finding makes the exit status non-zero: always a failure.
	if [ "$RELAY_STATUS" -ne 0 ]; then
		not_ok "relay exited with status $RELAY_STATUS"
		tail -40 "$T/relay.log" | sed 's/^/#   /'
		[ -f "$T/valgrind.log" ] && sed 's/^/#   /' "$T/valgrind.log"
	fi
}

# send_raw FILE: write FILE's bytes to the relay on one connection; prints the
# status line of the answer (bounded wait).
send_raw() {
	local file=$1 line=""
	exec 3<>"/dev/tcp/127.0.0.1/$RELAY_PORT" || return 1
	cat "$file" >&3
	IFS= read -r -t $((5 * SLOW)) line <&3 || true
	exec 3<&- 3>&-
	printf '%s\n' "${line%$'\r'}"
}

# fixture NAME: path of a captured SDK request.
fixture() { printf '%s/%s\n' "$FIXTURES" "$1"; }

# fixture_body FILE OUT: the body of a captured request (the last Content-Length bytes).
fixture_body() {
	local cl
	cl=$(head -c 4096 "$1" | tr -d '\r' | awk 'tolower($1) == "content-length:" { print $2; exit }')
	tail -c "$cl" "$1" >"$2"
}

# fixture_line FILE: the request line without CR.
fixture_line() { head -1 "$1" | tr -d '\r'; }

# head_header FILE NAME: the value of header NAME (case-insensitive) in a sink .head file.
head_header() { awk -v n="$(printf '%s' "$2" | tr 'A-Z' 'a-z')" 'NR>1 { k=$0; sub(/:.*/, "", k); if (tolower(k) == n) { sub(/^[^:]*: ?/, ""); print; exit } }' "$1"; }

# has_header FILE NAME: true if a sink .head file has header NAME.
has_header() { awk -v n="$(printf '%s' "$2" | tr 'A-Z' 'a-z')" 'NR>1 { k=$0; sub(/:.*/, "", k); if (tolower(k) == n) f=1 } END { exit !f }' "$1"; }

sha() { sha256sum "$1" | cut -d' ' -f1; }

# count_requests SINKNAME: how many requests the sink stored.
count_requests() { ls "$T/$1" 2>/dev/null | grep -c '\.head$' || true; }

# sink_got SINKNAME: true once the sink stored at least one request.
sink_got() { [ "$(count_requests "$1")" -gt 0 ]; }

# metric NAME[{labels}]: a value from the relay's /metrics (0 if absent).
metric() {
	curl -s -m 5 "http://127.0.0.1:$RELAY_PORT/metrics" |
		awk -v n="pyroscope_relay_$1" '$1 == n { print $2; found=1; exit } END { if (!found) print 0 }'
}

# accounting_holds: received = delivered + dropped + queued + in flight, from /metrics.
accounting_holds() {
	curl -s -m 5 "http://127.0.0.1:$RELAY_PORT/metrics" | awk '
		/^pyroscope_relay_received_profiles_total / { r = $2 }
		/^pyroscope_relay_delivered_profiles_total / { d = $2 }
		/^pyroscope_relay_dropped_profiles_total\{/ { x += $2 }
		/^pyroscope_relay_queued_profiles / { q = $2 }
		/^pyroscope_relay_in_flight_profiles / { f = $2 }
		END { if (r != d + x + q + f) { printf "# received %d != delivered %d + dropped %d + queued %d + in flight %d\n", r, d, x, q, f; exit 1 } }'
}

# lambda_ext DIR [SHELL-LINE [BIN]]: DIR/pyroscope-lambda-extension runs the relay (or BIN)
# as the emulator's only extension: a symlink, or a script when SHELL-LINE must run first,
# when BIN is given, or when the relay runs in valgrind (log in $T/valgrind.<pid>.log).
lambda_ext() {
	local f=$1/pyroscope-lambda-extension
	mkdir -p "$1"
	rm -f "$f"
	if [ -z "${2:-}" ] && [ -z "${3:-}" ] && [ -z "${RELAY_VALGRIND:-}" ]; then
		ln -s "$RELAY_BIN" "$f"
		return
	fi
	printf '#!/bin/sh\n%s\nexec %s %s "$@"\n' "${2:-}" \
		"${RELAY_VALGRIND:+$RELAY_VALGRIND --log-file=$T/valgrind.%p.log}" "${3:-$RELAY_BIN}" >"$f"
	chmod +x "$f"
}

# free_port: a loopback port nothing listens on right now (a sink binds port 0 and is stopped).
free_port() {
	local f="$T/free.$$.$RANDOM" pid port
	"$SINK_BIN" --listen 127.0.0.1:0 --port-file "$f" --quiet >/dev/null 2>&1 &
	pid=$!
	wait_until 10 test -s "$f"
	port=$(cat "$f")
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$f"
	echo "$port"
}

# test_ca CN: a throwaway certificate authority in $T/ca.pem and $T/ca.key (openssl CLI).
test_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$T/ca.key" \
		-out "$T/ca.pem" -days 2 -subj "/CN=$1" 2>/dev/null
}

# test_cert NAME SAN: $T/NAME.key and $T/NAME.pem for SAN (e.g. IP:127.0.0.1), signed by test_ca's CA.
test_cert() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$T/$1.key" \
		-out "$T/$1.csr" -subj "/CN=$1" 2>/dev/null &&
	printf 'subjectAltName=%s\n' "$2" >"$T/$1.ext" &&
	openssl x509 -req -in "$T/$1.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
		-out "$T/$1.pem" -days 2 -extfile "$T/$1.ext" 2>/dev/null
}
