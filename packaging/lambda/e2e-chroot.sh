#!/bin/bash
# e2e-chroot.sh -- owns the end-to-end check of the x86_64 layer in an empty root: chroot, dev mode and under the Lambda emulator, HTTPS to the sink outside (TAP).
#
#   bash packaging/lambda/e2e-chroot.sh [LAYER.zip]   (default: $OUT/pyroscope-lambda-extension-x86_64.zip)
#
# As root. The layer is unpacked into an otherwise empty tree, as Lambda unpacks
# layers into /opt:
#   ROOT/opt/extensions/pyroscope-lambda-extension   the static binary, from the zip
#   ROOT/etc/pki/tls/certs/ca-bundle.crt             a test CA, at the Amazon Linux path
#   ROOT/tmp                                         as on Lambda
# No shared library, no /dev, /proc or /etc/resolv.conf. The relay runs there through
# `unshare --mount --ipc chroot` (the host's loopback stays reachable: no network
# namespace) and relays over HTTPS to pyroscope-sink outside, which serves a
# certificate for 127.0.0.1 signed by that CA. The relay is given no SSL_CERT_FILE:
# it must find the CA at the Amazon Linux path by itself (src/cabundle.c).
#
# Runs: dev mode told where the CA is, dev mode probing for it, then as a real
# Lambda extension under the project's emulator (EMULATOR_BIN, default
# $TOP_SRCDIR/pyroscope-lambda-emulator or build/ in the tree; its points are
# skipped when there is none), then dev mode without a CA in the tree.
# Under the emulator, which runs outside the tree, the extensions folder holds a
# wrapper named pyroscope-lambda-extension that execs
#   unshare --mount --ipc chroot ROOT /opt/extensions/pyroscope-lambda-extension
# (exec all along: the emulator's pid, process group and freezes are the relay's,
# and argv[0]'s base name is the file name, which registration needs). The
# function is tools/lambda-sample-function.sh; it reaches the relay, and the
# relay reaches the emulator's APIs, over the shared loopback.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
OUT=${PYROSCOPE_STATIC_OUT:-$top/build-static}
LAYER=${1:-$OUT/pyroscope-lambda-extension-x86_64.zip}
export TOP_SRCDIR=${TOP_SRCDIR:-$top}
if [ -z "${SINK_BIN:-}" ]; then
	for s in "$top/build/pyroscope-sink" "$top/pyroscope-sink"; do
		[ -x "$s" ] && { SINK_BIN=$s; break; }
	done
fi
if [ -z "${EMULATOR_BIN:-}" ]; then
	for e in "$TOP_SRCDIR/pyroscope-lambda-emulator" "$top/build/pyroscope-lambda-emulator"; do
		[ -x "$e" ] && { EMULATOR_BIN=$e; break; }
	done
fi
EXT=/opt/extensions/pyroscope-lambda-extension
CA_PATH=/etc/pki/tls/certs/ca-bundle.crt

skip() { echo "1..0 # SKIP $*"; exit 0; }
[ -f "$LAYER" ] || skip "no x86_64 layer at $LAYER (run packaging/lambda/build-layer.sh as root)"
[ "$(uname -m)" = x86_64 ] || skip "the x86_64 layer runs natively only on an x86_64 host"
[ "$(id -u)" -eq 0 ] || skip "chroot needs root"
for tool in unshare chroot unzip openssl; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool not installed"
done
[ -n "${SINK_BIN:-}" ] && [ -x "$SINK_BIN" ] || skip "no pyroscope-sink built (SINK_BIN, or build/ in the tree)"
unshare --mount --ipc true 2>/dev/null || skip "unshare --mount is not permitted here"
export SINK_BIN

# The static binary is never run under the valgrind suite's valgrind.
unset RELAY_VALGRIND
. "$TOP_SRCDIR/tests/tap.sh"
. "$TOP_SRCDIR/tests/lib.sh"

ROOT=$T/root
mkdir -p "$ROOT/opt" "$ROOT/tmp" "$ROOT${CA_PATH%/*}"
chmod 1777 "$ROOT/tmp"

# The layer, unpacked as Lambda does.
check "layer unpacked into ROOT/opt" unzip -q "$LAYER" -d "$ROOT/opt"
is "$(stat -c %a "$ROOT$EXT" 2>/dev/null)" 755 "the extension is at $EXT, mode 0755"

# The test CA at the Amazon Linux path; the sink's certificate for 127.0.0.1.
test_ca e2e-chroot-ca && test_cert srv IP:127.0.0.1
check "test CA and a certificate for 127.0.0.1 made with the openssl CLI" test -s "$T/srv.pem"
cp "$T/ca.pem" "$ROOT$CA_PATH"

files=$(cd "$ROOT" && find . ! -type d | sort | tr '\n' ' ')
is "$files" "./etc/pki/tls/certs/ca-bundle.crt ./opt/extensions/pyroscope-lambda-extension " \
	"the tree holds the binary and the CA bundle, nothing else"

# run_extension FILE: write the wrapper that runs the extension inside the tree
# (exec all along: the pid stays the relay's). Used as lib.sh's RELAY_BIN in dev
# mode and, named pyroscope-lambda-extension, as the emulator's extension.
run_extension() {
	{
		printf '#!/bin/sh\n'
		printf 'exec "%s" --mount --ipc "%s" "%s" "%s" "$@"\n' \
			"$(command -v unshare)" "$(command -v chroot)" "$ROOT" "$EXT"
	} >"$1" && chmod 0755 "$1"
}
run_extension "$T/relay-chroot"
RELAY_BIN=$T/relay-chroot
MODE_ENV=(PYROSCOPE_DEV_MODE=true)
# What Lambda sets for every process of a function (a subset).
LAMBDA_ENV=(TZ=:UTC LANG=en_US.UTF-8 PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin
	LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib
	AWS_REGION=eu-west-1 AWS_LAMBDA_FUNCTION_NAME=e2e-chroot)

is "$(env -i "${LAMBDA_ENV[@]}" "$RELAY_BIN" --version 2>&1)" \
	"$(sed -n 's/^AC_INIT(\[\([^]]*\)\], \[\([^]]*\)\].*/\1 \2/p' "$TOP_SRCDIR/configure.ac")" \
	"--version runs in the empty root"
is "$(env -i "${LAMBDA_ENV[@]}" PYROSCOPE_REMOTE_ADDRESS="https://127.0.0.1:1" "$RELAY_BIN" --check-config 2>&1)" \
	"configuration OK" "--check-config runs in the empty root"

fx=$(fixture nodejs-0.6.4-wall-octet-stream.http)
fixture_body "$fx" "$T/want.body"

# relay_once NAME [relay env...]: one upload through the chrooted relay to sink NAME.
relay_once() {
	local name=$1; shift
	start_relay "${LAMBDA_ENV[@]}" "${MODE_ENV[@]}" PYROSCOPE_REMOTE_ADDRESS="https://127.0.0.1:$SINK_PORT" \
		PYROSCOPE_NUM_WORKERS=1 "$@" || { not_ok "$name: relay started in the empty root"; return 1; }
	is "$(send_raw "$fx")" "HTTP/1.1 200 OK" "$name: SDK upload accepted"
	wait_until 10 test -f "$T/$name/req-001.body" ||
		wait_until 10 grep -q 'Failed to relay request' "$T/relay.log"
}

# 1. Told where the bundle is: the static TLS stack works inside the tree.
start_sink told --tls-cert "$T/srv.pem" --tls-key "$T/srv.key"
relay_once told SSL_CERT_FILE="$CA_PATH"
is "$(sha "$T/told/req-001.body" 2>/dev/null)" "$(sha "$T/want.body")" \
	"told: with SSL_CERT_FILE=$CA_PATH, delivered over verified HTTPS, byte-exact"
stop_relay
[ -f "$T/told/req-001.body" ] || sed 's/^/#   /' "$T/relay.log"

# 2. Not told: the relay finds the CA at the Amazon Linux path itself.
start_sink probed --tls-cert "$T/srv.pem" --tls-key "$T/srv.key"
relay_once probed
if [ -f "$T/probed/req-001.body" ]; then
	is "$(sha "$T/probed/req-001.body")" "$(sha "$T/want.body")" \
		"probed: no SSL_CERT_FILE, CA found at $CA_PATH, delivered over verified HTTPS, byte-exact"
else
	not_ok "probed: no SSL_CERT_FILE, CA found at $CA_PATH, delivered over verified HTTPS"
	diag "the relay did not trust the CA at $CA_PATH by itself: is cabundle_probe() wired into src/tls.c?"
	sed 's/^/#   /' "$T/relay.log"
fi
stop_relay
check "probed: drained on SIGTERM with the upload accounted as delivered" \
	grep -q 'received=1 delivered=1 dropped=0' "$T/relay.log"

# 3. As a Lambda extension under the project's emulator, which runs outside the
# tree: register, N invokes with SIGSTOP freezes, SHUTDOWN. Still no SSL_CERT_FILE.
EMU_INVOKES=10 EMU_UPLOADS=2
emu_skip() {
	local what
	for what in "emulator: Lambda would accept the run (exit 0)" \
		"emulator: every invoke succeeded" \
		"emulator: registered for INVOKE and SHUTDOWN, exited 0, never SIGKILLed" \
		"emulator: the function's uploads were answered 200" \
		"emulator: every upload arrived at the sink over verified HTTPS" \
		"emulator: the relay dropped nothing and logged no error" \
		"emulator: the Telemetry API reached the relay's listener (no fallback)"; do
		ok "$what # SKIP $1"
	done
}
if [ -z "${EMULATOR_BIN:-}" ]; then
	emu_skip "no pyroscope-lambda-emulator built (EMULATOR_BIN, $TOP_SRCDIR/pyroscope-lambda-emulator or build/ in the tree)"
elif [ ! -x "$EMULATOR_BIN" ]; then
	emu_skip "EMULATOR_BIN=$EMULATOR_BIN is not an executable"
else
	mkdir -p "$T/ext"
	run_extension "$T/ext/pyroscope-lambda-extension"
	start_sink emu --tls-cert "$T/srv.pem" --tls-key "$T/srv.key"
	emu_port=$(free_port)
	: >"$T/emu.count"
	# TMPDIR: the sample function's scratch directory stays under $T, which is
	# removed at exit even when the function is killed during its long poll.
	env -i "${LAMBDA_ENV[@]}" HOME="$T" TMPDIR="$T" ${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS} \
		${UBSAN_OPTIONS:+UBSAN_OPTIONS=$UBSAN_OPTIONS} \
		PYROSCOPE_REMOTE_ADDRESS="https://127.0.0.1:$SINK_PORT" \
		PYROSCOPE_LISTEN_ADDRESS="127.0.0.1:$emu_port" SAMPLE_RELAY_PORT="$emu_port" \
		SAMPLE_UPLOADS=$EMU_UPLOADS SAMPLE_COUNT_FILE="$T/emu.count" \
		timeout 120 "$EMULATOR_BIN" --listen 127.0.0.1:0 --extensions "$T/ext" \
		--function "bash $(printf '%q' "$TOP_SRCDIR/tools/lambda-sample-function.sh")" --report "$T/emu.json" \
		--invokes $EMU_INVOKES --gap-ms 50 --init-timeout-ms 10000 --timeout-ms 3000 \
		>"$T/emu.out" 2>"$T/emu.err"
	emu_status=$?
	is "$emu_status" 0 "emulator: Lambda would accept the run (exit 0)"
	is "$(grep -c 'invoke [0-9]* *runtime .*success' "$T/emu.out")" $EMU_INVOKES \
		"emulator: every invoke succeeded"
	check "emulator: registered for INVOKE and SHUTDOWN, exited 0, never SIGKILLed" \
		grep -q 'extension pyroscope-lambda-extension: registered, events \[INVOKE, SHUTDOWN\], exited 0$' "$T/emu.out"
	sent=$(grep -c . "$T/emu.count")
	is "$sent" $((EMU_INVOKES * EMU_UPLOADS)) "emulator: the function's uploads were answered 200"
	# Each upload is identified by its leaf value, invoke * 10 + upload number.
	want=$(awk '{ print $1 * 10 + $2 }' "$T/emu.count" | sort -n | tr '\n' ' ')
	got=$(cat "$T"/emu/req-*.body 2>/dev/null | sed -n 's/^main;work;leaf \([0-9]*\)$/\1/p' |
		sort -n | tr '\n' ' ')
	is "$got" "$want" "emulator: every upload arrived at the sink over verified HTTPS ($(count_requests emu) of $sent)"
	check "emulator: the relay dropped nothing and logged no error" eval \
		"grep -q 'Relay stopped: received=$sent delivered=$sent dropped=0 ' '$T/emu.err' &&
		! grep -q 'level=error' '$T/emu.err'"
	check "emulator: the Telemetry API reached the relay's listener (no fallback)" \
		eval "! grep -q 'Telemetry API not available' '$T/emu.err'"
	if [ "$emu_status" -ne 0 ] || ! grep -q 'Relay stopped: received=[0-9]* delivered=[0-9]* dropped=0 ' "$T/emu.err"; then
		sed -n '/^SUMMARY/,$p' "$T/emu.out" | sed 's/^/#   /'
		grep -v '^sample-function' "$T/emu.err" | tail -30 | sed 's/^/#   /'
	fi
	diag "$(grep -E '^ *(init|shutdown):' "$T/emu.out" | tr -s ' ' | tr '\n' ';')"
fi

# 4. No bundle in the tree: nothing from the host is trusted.
rm -f "$ROOT$CA_PATH"
start_sink nobundle --tls-cert "$T/srv.pem" --tls-key "$T/srv.key"
relay_once nobundle
check "nobundle: without a CA bundle in the tree the sink is not trusted" \
	grep -q 'certificate verification failed' "$T/relay.log"
is "$(count_requests nobundle)" 0 \
	"nobundle: nothing sent to the unverified server"
stop_relay
done_testing
