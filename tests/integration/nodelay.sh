#!/bin/bash
# nodelay.sh -- owns the data path's latency regression: TCP_NODELAY on every socket the relay
# makes and accepts, so an upload on a kept-alive connection never waits for a delayed ACK.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

head -c 16384 /dev/urandom >"$T/body"
N=30

# --- 30 sequential 16 KiB uploads on one kept-alive client connection ----------
# The remote stores nothing (no disk in the way): what is timed is the network path.
start_sink up --quiet
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT"
args=()
for i in $(seq 1 $N); do
	[ "$i" -gt 1 ] && args+=(--next)
	args+=(-s -o /dev/null --data-binary "@$T/body" -H 'Content-Type: application/octet-stream'
		"http://127.0.0.1:$RELAY_PORT/ingest?name=nodelay.cpu%7B%7D&i=$i")
done
curl "${args[@]}"
check "all $N uploads were delivered" wait_until 20 eval '[ "$(metric delivered_profiles_total)" -eq '"$N"' ]'
fast=$(metric 'upstream_request_duration_seconds_bucket{le="0.025"}')
diag "$fast of $N uploads reached the remote within 25 ms (with Nagle and a delayed ACK each takes >= 40 ms)"
if [ -n "${RELAY_VALGRIND:-}" ]; then
	ok "# SKIP upload time under valgrind is not the network's (the system-call check below covers it)"
else
	check "uploads on a kept-alive connection do not wait for a delayed ACK ($fast of $N within 25 ms, want >= 15: with Nagle none is)" \
		test "$fast" -ge 15
fi
stop_relay

# --- the option itself, seen in the system calls ------------------------------
if ! command -v strace >/dev/null 2>&1; then
	ok "# SKIP strace is not installed (tools/deps-debian.sh test installs it)"
elif [ -n "${RELAY_VALGRIND:-}${RELAY_SANITIZED:-}" ]; then
	ok "# SKIP strace of a sanitized or valgrind build (the plain suite checks it)"
else
	port=$(free_port)
	env -i PATH="$PATH" PYROSCOPE_DEV_MODE=true PYROSCOPE_LISTEN_ADDRESS="127.0.0.1:$port" \
		PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" \
		strace -f -o "$T/strace.txt" -e trace=setsockopt,connect,accept4,accept "$RELAY_BIN" 2>"$T/st.log" &
	st_pid=$!
	PIDS="$PIDS $st_pid"
	wait_until 10 grep -q 'Serving on' "$T/st.log"
	curl -s -o /dev/null --data-binary "@$T/body" "http://127.0.0.1:$port/ingest?name=nodelay.cpu%7B%7D"
	wait_until 10 grep -q 'connect(' "$T/strace.txt"
	sleep 0.2
	# The relay is strace's child: stop it, strace ends with it.
	pkill -TERM -P "$st_pid" 2>/dev/null
	wait_until 10 eval "! kill -0 $st_pid"
	kill -9 "$st_pid" 2>/dev/null
	# The listener's socket (accepted ones inherit it) and the socket connected to the remote.
	listener_fd=$(sed -n 's/.*setsockopt(\([0-9]*\), SOL_TCP, TCP_NODELAY, \[1\].*/\1/p' "$T/strace.txt" | head -1)
	up_fd=$(sed -n "s/.*connect(\([0-9]*\), {sa_family=AF_INET, sin_port=htons($SINK_PORT).*/\1/p" "$T/strace.txt" | head -1)
	check "TCP_NODELAY is set on the listening socket" test -n "$listener_fd"
	check "TCP_NODELAY is set on the socket to the remote (fd ${up_fd:-?})" \
		grep -q "setsockopt(${up_fd:-x}, SOL_TCP, TCP_NODELAY, \[1\]" "$T/strace.txt"
fi
done_testing
