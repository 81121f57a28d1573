#!/bin/bash
# smoke-qemu.sh -- owns the arm64 smoke test: the static aarch64 binary under qemu-user, relaying to the x86 sink (TAP).
#
#   bash packaging/lambda/smoke-qemu.sh [BINARY]      (default: $OUT/pyroscope-lambda-extension-arm64)
#
# --version, --check-config (good and bad), then two round trips: the relay under
# qemu-aarch64 in dev mode on 127.0.0.1:0 relays a captured SDK upload to the host's
# pyroscope-sink over HTTP, then over verified HTTPS (a test CA made with the openssl
# CLI), which runs the aarch64 OpenSSL code. Skips when nothing is built.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
OUT=${PYROSCOPE_STATIC_OUT:-$top/build-static}
ARM_BIN=${1:-$OUT/pyroscope-lambda-extension-arm64}
export TOP_SRCDIR=${TOP_SRCDIR:-$top}
if [ -z "${SINK_BIN:-}" ]; then
	for s in "$top/build/pyroscope-sink" "$top/pyroscope-sink"; do
		[ -x "$s" ] && { SINK_BIN=$s; break; }
	done
fi
QEMU=${QEMU_AARCH64:-$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)}

[ -f "$ARM_BIN" ] || { echo "1..0 # SKIP no arm64 static binary at $ARM_BIN (run packaging/lambda/build-static.sh arm64)"; exit 0; }
[ -n "$QEMU" ] || { echo "1..0 # SKIP qemu-aarch64 not installed (apt-get install qemu-user-static)"; exit 0; }
[ -n "${SINK_BIN:-}" ] && [ -x "$SINK_BIN" ] || { echo "1..0 # SKIP no pyroscope-sink built (SINK_BIN, or build/ in the tree)"; exit 0; }
export SINK_BIN

# The static binary is never run under the valgrind suite's valgrind.
unset RELAY_VALGRIND
. "$TOP_SRCDIR/tests/tap.sh"
. "$TOP_SRCDIR/tests/lib.sh"
SLOW=4	# emulation: give every wait more time

# The relay command for lib.sh's start_relay: the arm64 binary under qemu (exec keeps the pid).
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$QEMU" "$ARM_BIN" >"$T/relay-arm64"
chmod +x "$T/relay-arm64"
RELAY_BIN=$T/relay-arm64

want_version=$(sed -n 's/^AC_INIT(\[\([^]]*\)\], \[\([^]]*\)\].*/\1 \2/p' "$TOP_SRCDIR/configure.ac")
is "$("$RELAY_BIN" --version 2>&1)" "$want_version" "--version under $(basename "$QEMU")"

out=$(env -i PYROSCOPE_REMOTE_ADDRESS=https://profiles.example.com "$RELAY_BIN" --check-config 2>&1)
is "$out" "configuration OK" "--check-config accepts a good environment"
out=$(env -i PYROSCOPE_NUM_WORKERS=many "$RELAY_BIN" --check-config 2>&1); rc=$?
is "$rc" 1 "--check-config rejects a bad one (exit 1)"
check "and names the variable" grep -q PYROSCOPE_NUM_WORKERS <<<"$out"

fx=$(fixture nodejs-0.6.4-wall-octet-stream.http)
fixture_body "$fx" "$T/want.body"

# round_trip NAME SCHEME [relay env...]: one upload through the arm64 relay to a sink.
round_trip() {
	local name=$1 scheme=$2; shift 2
	start_relay PYROSCOPE_REMOTE_ADDRESS="$scheme://127.0.0.1:$SINK_PORT" "$@" || { not_ok "$name: relay started"; return; }
	ok "$name: arm64 relay serving on 127.0.0.1:$RELAY_PORT"
	is "$(send_raw "$fx")" "HTTP/1.1 200 OK" "$name: SDK upload accepted"
	wait_until 20 test -f "$T/$name/req-001.body"
	is "$(sha "$T/$name/req-001.body" 2>/dev/null)" "$(sha "$T/want.body")" "$name: delivered to the x86 sink, byte-exact"
	local sent=1
	if command -v curl >/dev/null 2>&1; then
		sent=2
		is "$(curl -s -m 10 -o /dev/null -w '%{http_code}' --data-binary "arm64 $name" \
			"http://127.0.0.1:$RELAY_PORT/ingest?name=smoke.cpu&from=1&until=2")" 200 "$name: curl POST accepted"
		wait_until 20 test -f "$T/$name/req-002.body"
		is "$(cat "$T/$name/req-002.body" 2>/dev/null)" "arm64 $name" "$name: curl's upload arrived at the sink"
	else
		ok "$name: curl upload # SKIP curl not installed"
	fi
	stop_relay
	check "$name: drained on SIGTERM, exit 0" test "$RELAY_STATUS" -eq 0
	check "$name: all $sent accounted as delivered" grep -q "received=$sent delivered=$sent dropped=0" "$T/relay.log"
	[ -f "$T/$name/req-001.body" ] || sed 's/^/#   /' "$T/relay.log"
}

start_sink plain
round_trip plain http

test_ca arm64-smoke-ca && test_cert srv IP:127.0.0.1
check "test CA and server certificate made" test -s "$T/srv.pem"
start_sink tls --tls-cert "$T/srv.pem" --tls-key "$T/srv.key"
round_trip tls https SSL_CERT_FILE="$T/ca.pem"
done_testing
