#!/bin/bash
# lambda-local.sh -- the whole Lambda path on this machine (`make lambda-local`): the local
# sink as the remote Pyroscope, the relay as an external extension, the sample function as
# the runtime, all driven by pyroscope-lambda-emulator through init, invokes with the
# sandbox frozen between them, and shutdown. Then it shows what reached the sink and the
# overheads Lambda would bill.
#
#   RELAY_BIN, SINK_BIN, EMULATOR_BIN   binaries (default: ./ in the build directory)
#   LAMBDA_LOCAL_INVOKES                invokes (default 3)
#   LAMBDA_LOCAL_GAP_MS                 frozen time between invokes (default 500)
#   LAMBDA_LOCAL_RELAY_PORT             where the relay listens (default 4040)
#   SAMPLE_UPLOADS                      profiles per invoke (default 2)
#   PYROSCOPE_*                         passed on to the relay (e.g. PYROSCOPE_LOG_LEVEL=debug)
# Extra arguments go to the emulator, e.g. `--freeze none` or `--shutdown-ms 1300`.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
RELAY_BIN=${RELAY_BIN:-./pyroscope-lambda-extension}
SINK_BIN=${SINK_BIN:-./pyroscope-sink}
EMULATOR_BIN=${EMULATOR_BIN:-./pyroscope-lambda-emulator}
invokes=${LAMBDA_LOCAL_INVOKES:-3}
gap_ms=${LAMBDA_LOCAL_GAP_MS:-500}
relay_port=${LAMBDA_LOCAL_RELAY_PORT:-4040}
uploads=${SAMPLE_UPLOADS:-2}

for v in RELAY_BIN SINK_BIN EMULATOR_BIN; do
	if [ ! -x "${!v}" ]; then
		echo "lambda-local: $v='${!v}' is not an executable (run from the build directory, or set $v)" >&2
		exit 2
	fi
done
abs() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$(pwd)" "$(basename "$1")"); }

work=$(mktemp -d "${TMPDIR:-/tmp}/lambda-local.XXXXXX")
sink_pid=""
cleanup() {
	if [ -n "$sink_pid" ]; then
		kill "$sink_pid" 2>/dev/null || true
		wait "$sink_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The remote: a local Pyroscope-compatible sink.
"$SINK_BIN" --listen 127.0.0.1:0 --port-file "$work/sink.port" --dir "$work/received" \
	>"$work/sink.out" 2>"$work/sink.err" &
sink_pid=$!
for _ in $(seq 200); do [ -s "$work/sink.port" ] && break; sleep 0.05; done
if [ ! -s "$work/sink.port" ]; then
	echo "lambda-local: the sink did not start:" >&2
	cat "$work/sink.err" >&2
	exit 1
fi
sink_port=$(cat "$work/sink.port")

# /opt/extensions: the relay under the file name it registers with.
mkdir "$work/extensions"
ln -s "$(abs "$RELAY_BIN")" "$work/extensions/pyroscope-lambda-extension"
: >"$work/uploads"

echo "== lambda-local: sink on 127.0.0.1:$sink_port, relay on localhost:$relay_port, $invokes invokes, ${gap_ms} ms frozen between them"
status=0
env PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$sink_port" \
	PYROSCOPE_LISTEN_ADDRESS="127.0.0.1:$relay_port,[::1]:$relay_port" \
	SAMPLE_RELAY_PORT="$relay_port" SAMPLE_UPLOADS="$uploads" SAMPLE_COUNT_FILE="$work/uploads" \
	"$EMULATOR_BIN" --extensions "$work/extensions" \
	--function "exec bash $(printf '%q' "$here/tools/lambda-sample-function.sh")" \
	--listen 127.0.0.1:0 --invokes "$invokes" --gap-ms "$gap_ms" --report "$work/report.json" \
	"$@" || status=$?

sent=$(wc -l <"$work/uploads" | tr -d ' ')
got=$(find "$work/received" -name 'req-*.head' 2>/dev/null | wc -l | tr -d ' ')
echo
echo "== What the sink (the remote Pyroscope) received"
if [ -s "$work/sink.out" ]; then cat "$work/sink.out"; else echo "(nothing)"; fi
echo
echo "== Profiles: the function had $sent uploads answered 200 by the relay; the sink received $got"

# The overheads, from the emulator's JSON report (one key per line).
report_num() { sed -n "s/^ *\"$1\": \([0-9.]*\).*/\1/p" "$work/report.json"; }
if [ -s "$work/report.json" ]; then
	echo
	echo "== Overheads"
	echo "init:                 $(report_num init_ms | head -1) ms"
	n=0
	for ms in $(report_num post_runtime_ms); do
		n=$((n + 1))
		echo "post-runtime, invoke $n: $ms ms"
	done
	echo "shutdown:             $(report_num shutdown_ms | head -1) ms"
fi
echo
if [ "$status" -ne 0 ]; then
	echo "lambda-local: the emulator reported a run Lambda would not accept (exit $status)"
	exit "$status"
fi
if [ "$sent" != "$got" ]; then
	echo "lambda-local: $sent profiles were accepted by the relay but $got reached the sink"
	exit 1
fi
echo "lambda-local: OK"
