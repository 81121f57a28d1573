#!/bin/bash
# demo.sh -- the relay in dev mode on localhost:4040 in front of the local sink;
# real SDK requests (the captured fixtures) are sent through it and the sink
# prints one line per profile it received.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
RELAY_BIN=${RELAY_BIN:-./pyroscope-lambda-extension}
SINK_BIN=${SINK_BIN:-./pyroscope-sink}
FIXTURES=${FIXTURES:-$here/tests/fixtures/pyroscope-nodejs}
PORT=${DEMO_PORT:-4040}
work=$(mktemp -d "${TMPDIR:-/tmp}/relay-demo.XXXXXX")
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT

# die REASON [NAME LOG]: a one-line reason and the end of NAME's log (the scratch
# dir goes at exit), then exit 1.
die() {
	echo "demo: $1" >&2
	if [ $# -ge 3 ] && [ -s "$3" ]; then
		echo "demo: last lines of the $2 log:" >&2
		tail -n 20 "$3" | sed 's/^/  | /' >&2
	fi
	exit 1
}
# alive PID NAME LOG: dies with NAME's log unless PID still runs.
alive() {
	kill -0 "$1" 2>/dev/null || die "the $2 exited unexpectedly" "$2" "$3"
}
# listening HOST: true when something accepts connections on HOST:$PORT.
listening() { (exec 3<>"/dev/tcp/$1/$PORT") 2>/dev/null; }

if listening 127.0.0.1 || listening ::1; then
	die "port $PORT on localhost is already in use by another program; stop it, or run with DEMO_PORT=<a free port>"
fi

"$SINK_BIN" --listen 127.0.0.1:0 --port-file "$work/sink.port" --dir "$work/received" >"$work/sink.out" 2>"$work/sink.err" &
sink=$!
pids="$pids $sink"
for _ in $(seq 100); do
	[ -s "$work/sink.port" ] && break
	alive "$sink" sink "$work/sink.err"
	sleep 0.05
done
[ -s "$work/sink.port" ] || die "the sink did not report its port within 5 s" sink "$work/sink.err"
sink_port=$(cat "$work/sink.port")
echo "sink: listening on 127.0.0.1:$sink_port (a local Pyroscope-compatible server)"

env PYROSCOPE_DEV_MODE=true PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$sink_port" \
	PYROSCOPE_LISTEN_ADDRESS="127.0.0.1:$PORT,[::1]:$PORT" PYROSCOPE_LOG_LEVEL=debug \
	PYROSCOPE_TENANT_ID=demo-tenant \
	"$RELAY_BIN" 2>"$work/relay.log" &
relay=$!
pids="$pids $relay"
for _ in $(seq 100); do
	grep -q 'Serving on' "$work/relay.log" && break
	alive "$relay" relay "$work/relay.log"
	sleep 0.05
done
grep -q 'Serving on' "$work/relay.log" || die "the relay did not start serving within 5 s" relay "$work/relay.log"
echo "relay: listening on localhost:$PORT, relaying to http://127.0.0.1:$sink_port"
echo

n=0
for f in "$FIXTURES"/*.http; do
	alive "$relay" relay "$work/relay.log"
	exec 3<>"/dev/tcp/127.0.0.1/$PORT" || die "cannot connect to the relay on 127.0.0.1:$PORT" relay "$work/relay.log"
	cat "$f" >&3
	IFS= read -r -t 5 status <&3 || status="(no answer)"
	exec 3<&- 3>&-
	n=$((n + 1))
	printf 'sent %-55s -> %s\n' "$(basename "$f")" "${status%$'\r'}"
done
for _ in $(seq 100); do
	[ "$(ls "$work/received" 2>/dev/null | grep -c '\.head$')" -ge "$n" ] && break
	alive "$relay" relay "$work/relay.log"
	alive "$sink" sink "$work/sink.err"
	sleep 0.05
done
kill -TERM "$relay"
wait "$relay" || true

echo
echo "What the remote (the sink) received:"
cat "$work/sink.out"
echo
echo "Relay log:"
cat "$work/relay.log"
got=$(ls "$work/received" | grep -c '\.head$' || true)
echo
echo "$got of $n profiles arrived."
[ "$got" -eq "$n" ]
