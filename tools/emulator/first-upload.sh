#!/bin/bash
# first-upload.sh -- the CPU a relay spends on its first HTTPS upload after a cold start, for one
# or more builds side by side: N rounds, the builds interleaved in each, each a fresh copy of the
# binary (as Lambda unpacks a layer) in dev mode in front of pyroscope-sink over TLS. The figure
# is the relay's CPU time, all threads (the first field of /proc/PID/task/*/schedstat), from
# 0.5 s after its start until the sink holds the upload. Prints each build's median and range.
#
#   usage: first-upload.sh [-n N] RELAY...
#   SINK_BIN   the sink (default ./pyroscope-sink)
# SSL_CERT_FILE is the system bundle (/etc/ssl/certs/ca-certificates.crt) plus a test CA
# (sink-certs.sh), so the index and the verification work as they do in Lambda.
set -u
here=$(cd "$(dirname "$0")" && pwd)
SINK_BIN=${SINK_BIN:-./pyroscope-sink}
n=9
if [ "${1:-}" = -n ]; then n=$2; shift 2; fi
case $n in '' | *[!0-9]* | 0) echo "first-upload: -n needs a positive number" >&2; exit 2 ;; esac
if [ $# -lt 1 ]; then echo "usage: first-upload.sh [-n N] RELAY..." >&2; exit 2; fi
for b in "$SINK_BIN" "$@"; do
	if [ ! -x "$b" ]; then echo "first-upload: '$b' is not an executable" >&2; exit 2; fi
done
fixture=$here/../../tests/fixtures/pyroscope-nodejs/nodejs-0.6.4-wall-octet-stream.http
bundle=/etc/ssl/certs/ca-certificates.crt
[ -r "$bundle" ] || { echo "first-upload: no system CA bundle at $bundle" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/first-upload.XXXXXX") || exit 1
pids=
trap 'kill $pids 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

bash "$here/sink-certs.sh" "$work" || exit 1

# wait_for SECONDS COMMAND...: poll every 10 ms.
wait_for() {
	local end=$((SECONDS + $1)); shift
	until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.01; done
}
cpu_ns() { local s=0 a f; for f in /proc/"$1"/task/*/schedstat; do read -r a _ <"$f"; s=$((s + a)); done; echo $s; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
uploaded() { [ -n "$(ls "$work/sink" 2>/dev/null | grep '\.head$')" ]; }

# one K RELAY: one cold start; appends the CPU in ms to $work/K.cpu.
one() {
	local sink relay port c0 c1
	rm -rf "$work/sink" "$work/sink.port"
	mkdir "$work/sink"
	"$SINK_BIN" --listen 127.0.0.1:0 --port-file "$work/sink.port" --dir "$work/sink" \
		--tls-cert "$work/srv.pem" --tls-key "$work/srv.key" --quiet >/dev/null 2>&1 &
	sink=$!
	pids="$sink"
	wait_for 10 test -s "$work/sink.port" || { echo "first-upload: the sink did not start" >&2; return 1; }
	port=$(free_port)
	cp "$2" "$work/pyroscope-lambda-extension"
	env -i SSL_CERT_FILE="$work/bundle.pem" PYROSCOPE_DEV_MODE=true \
		PYROSCOPE_LISTEN_ADDRESS="127.0.0.1:$port" \
		PYROSCOPE_REMOTE_ADDRESS="https://localhost:$(cat "$work/sink.port")" \
		"$work/pyroscope-lambda-extension" 2>"$work/relay.log" &
	relay=$!
	pids="$sink $relay"
	sleep 0.5
	c0=$(cpu_ns "$relay")
	python3 - "$port" "$fixture" <<'EOF' || { echo "first-upload: the relay did not take the upload" >&2; return 1; }
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(open(sys.argv[2], "rb").read())
sys.exit(0 if s.recv(64).startswith(b"HTTP/1.1 200") else 1)
EOF
	wait_for 10 uploaded || { echo "first-upload: the sink got nothing; relay log:" >&2; tail -5 "$work/relay.log" >&2; return 1; }
	sleep 0.05	# the answer read, the connection kept
	c1=$(cpu_ns "$relay")
	kill "$relay" "$sink" 2>/dev/null
	wait "$relay" "$sink" 2>/dev/null
	pids=
	awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f\n", (b - a) / 1e6 }' >>"$work/$1.cpu"
}
for i in $(seq 1 "$n"); do
	k=0
	for b in "$@"; do
		k=$((k + 1))
		one "$k" "$b" || exit 1
	done
done
k=0
for b in "$@"; do
	k=$((k + 1))
	sort -n "$work/$k.cpu" | awk -v name="$b" '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%s: first upload %.2f ms CPU (median of %d; %.2f to %.2f)\n", name, m, NR, v[1], v[NR] }'
done
