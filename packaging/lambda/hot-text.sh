#!/bin/bash
# hot-text.sh -- writes packaging/lambda/hot-text.txt: the functions the relay runs on its
# common paths, which build-static.sh links first in .text, in this order, so that they
# share as few pages as possible (a static binary's code pages are mapped 64 KB around
# each first touch: scattered, the functions of a start and an upload map most of .text).
#
#   usage: bash packaging/lambda/hot-text.sh BINARY
#   BINARY        the unstripped static x86_64 relay (build-static/build-x86_64/pyroscope-lambda-extension)
#   SINK_BIN      pyroscope-sink of a build tree (default ./pyroscope-sink)
#   EMULATOR_BIN  pyroscope-lambda-emulator of a build tree (default ./pyroscope-lambda-emulator)
#
# Two runs under callgrind, which lists every function that ran: dev mode (start, two
# uploads over TLS to the sink, SIGTERM), and a Lambda extension under the emulator (init,
# two invokes of two uploads each, SHUTDOWN). The list is those functions in the order of
# their addresses in BINARY, so each library's stay together. Names the arm64 build lacks
# (assembly) or a later change renames only lose their place: regenerate after large changes.
set -u
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
SINK_BIN=${SINK_BIN:-./pyroscope-sink}
EMULATOR_BIN=${EMULATOR_BIN:-./pyroscope-lambda-emulator}
die() { echo "hot-text: $*" >&2; exit 1; }
[ $# -eq 1 ] || { echo "usage: hot-text.sh BINARY" >&2; exit 2; }
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
for b in "$bin" "$SINK_BIN" "$EMULATOR_BIN"; do [ -x "$b" ] || die "'$b' is not an executable"; done
for c in valgrind openssl nm python3; do command -v $c >/dev/null || die "needs $c"; done
nm "$bin" | grep -q ' T main$' || die "$bin has no symbols: give the unstripped build"
fixture=$here/../../tests/fixtures/pyroscope-nodejs/nodejs-0.6.4-wall-octet-stream.http
work=$(mktemp -d "${TMPDIR:-/tmp}/hot-text.XXXXXX") || exit 1
pids=
trap 'kill $pids 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

bash "$here/../../tools/emulator/sink-certs.sh" "$work" || exit 1

wait_for() { local end=$((SECONDS + $1)); shift; until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.05; done; }
uploads() { ls "$work/sink" 2>/dev/null | grep -c '\.head$'; }
has_uploads() { [ "$(uploads)" -ge "$1" ]; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

mkdir "$work/sink"
"$SINK_BIN" --listen 127.0.0.1:0 --port-file "$work/sink.port" --dir "$work/sink" \
	--tls-cert "$work/srv.pem" --tls-key "$work/srv.key" --quiet >/dev/null 2>&1 &
pids=$!
wait_for 10 test -s "$work/sink.port" || die "the sink did not start"
remote=https://localhost:$(cat "$work/sink.port")

# Dev mode.
port=$(free_port)
env -i PATH="$PATH" SSL_CERT_FILE="$work/bundle.pem" PYROSCOPE_DEV_MODE=true \
	PYROSCOPE_LISTEN_ADDRESS="127.0.0.1:$port" PYROSCOPE_REMOTE_ADDRESS="$remote" \
	valgrind -q --tool=callgrind --callgrind-out-file="$work/cg.dev" "$bin" 2>"$work/dev.log" &
relay=$!
pids="$pids $relay"
wait_for 60 grep -q 'Serving on' "$work/dev.log" || die "the relay did not start: $(tail -3 "$work/dev.log")"
for k in 1 2; do
	python3 - "$port" "$fixture" <<'EOF' || die "the relay did not take upload $k"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(open(sys.argv[2], "rb").read())
sys.exit(0 if s.recv(64).startswith(b"HTTP/1.1 200") else 1)
EOF
	wait_for 60 has_uploads "$k" || die "the sink did not get upload $k: $(tail -5 "$work/dev.log")"
done
kill -TERM "$relay"
wait "$relay"

# A Lambda extension.
mkdir "$work/ext"
cat >"$work/ext/pyroscope-lambda-extension" <<EOF
#!/bin/sh
exec valgrind -q --tool=callgrind --callgrind-out-file="$work/cg.lambda" "$bin"
EOF
chmod +x "$work/ext/pyroscope-lambda-extension"
SSL_CERT_FILE="$work/bundle.pem" PYROSCOPE_REMOTE_ADDRESS="$remote" SAMPLE_UPLOADS=2 \
	"$EMULATOR_BIN" --extensions "$work/ext" --function "exec bash $here/../../tools/lambda-sample-function.sh" \
	--listen 127.0.0.1:0 --invokes 2 --freeze none --timeout-ms 30000 --init-timeout-ms 30000 \
	--shutdown-ms 10000 --quiet >"$work/lambda.log" 2>&1 || die "the emulator run failed: $(tail -5 "$work/lambda.log")"
[ -s "$work/cg.lambda" ] || die "no profile of the Lambda run"
[ "$(uploads)" -ge 6 ] || die "the sink got $(uploads) uploads of 6"

# The functions that ran, by address in the binary.
sed -n 's/^c\{0,1\}fn=([0-9]*) //p' "$work/cg.dev" "$work/cg.lambda" | sed "s/'[0-9]*\$//" | sort -u >"$work/ran"
nm --defined-only "$bin" | awk '$2 ~ /^[Tt]$/ { print $1, $3 }' | sort -k2,2 >"$work/syms"
{
	echo "# hot-text.txt -- written by hot-text.sh: the functions the relay runs on its common"
	echo "# paths, in the order build-static.sh links them first in .text."
	join -1 2 -2 1 "$work/syms" "$work/ran" | sort -k2,2 -u | sort -k2,2 | awk '{ print $1 }' | awk '!seen[$0]++'
} >"$here/hot-text.txt"
echo "hot-text: $(grep -vc '^#' "$here/hot-text.txt") functions in $here/hot-text.txt"
