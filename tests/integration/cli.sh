#!/bin/bash
# cli.sh -- --version, --help, --check-config on good and bad environments, unknown options.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

# cfg VAR=value...: run --check-config with only these variables; output in $T/out.
cfg() { env -i PATH="$PATH" "$@" ${RELAY_VALGRIND:+$RELAY_VALGRIND --log-file=$T/valgrind.log} "$RELAY_BIN" --check-config >"$T/out" 2>&1; }

check "--version prints the name and version" sh -c '"$1" --version | grep -Eq "^pyroscope-lambda-extension [0-9]+\.[0-9]+"' sh "$RELAY_BIN"
check "--help lists --check-config" sh -c '"$1" --help | grep -q -- "--check-config"' sh "$RELAY_BIN"
check "--help names the flush strategy variable" sh -c '"$1" --help | grep -q PYROSCOPE_FLUSH_STRATEGY' sh "$RELAY_BIN"
"$RELAY_BIN" --bogus >/dev/null 2>"$T/err"; is "$?" 2 "unknown option: exit 2"
check "unknown option is named" grep -q "unknown option '--bogus'" "$T/err"

check "empty environment is valid" cfg
check "prints 'configuration OK'" grep -qx 'configuration OK' "$T/out"
check "the example env file passes" sh -c 'set -a; . "$1"; exec "$2" --check-config' sh \
	"$TOP_SRCDIR/conf/pyroscope-lambda-extension.env" "$RELAY_BIN"

# Each bad value: exit 1, the variable and value named.
bad() {	# bad DESC EXPECTED-TEXT VAR=value...
	local desc=$1 text=$2; shift 2
	cfg "$@"
	local rc=$?
	if [ $rc -eq 1 ] && grep -qF -- "$text" "$T/out" && ! grep -q 'configuration OK' "$T/out"; then
		ok "$desc"
	else
		not_ok "$desc"; diag "rc=$rc"; sed 's/^/#   /' "$T/out"
	fi
}
bad "bad duration" "PYROSCOPE_TIMEOUT: invalid duration 'abc'" PYROSCOPE_TIMEOUT=abc
bad "duration without unit" "PYROSCOPE_TIMEOUT: invalid duration '10'" PYROSCOPE_TIMEOUT=10
bad "bad boolean" "PYROSCOPE_FLUSH_ON_INVOKE: invalid boolean 'yes'" PYROSCOPE_FLUSH_ON_INVOKE=yes
bad "bad integer" "PYROSCOPE_NUM_WORKERS: invalid number 'five'" PYROSCOPE_NUM_WORKERS=five
bad "bad log level" "PYROSCOPE_LOG_LEVEL: unknown level 'loud'" PYROSCOPE_LOG_LEVEL=loud
bad "bad remote scheme" "PYROSCOPE_REMOTE_ADDRESS: unusable address" PYROSCOPE_REMOTE_ADDRESS=ftp://x
bad "remote with a space" "PYROSCOPE_REMOTE_ADDRESS: unusable address" "PYROSCOPE_REMOTE_ADDRESS=https://bad host"
bad "headers not JSON" "PYROSCOPE_HTTP_HEADERS: not a JSON object" 'PYROSCOPE_HTTP_HEADERS={"a":'
bad "CR/LF in a header value" "control character" 'PYROSCOPE_HTTP_HEADERS={"X-A":"a\r\nX-B: b"}'
bad "relay-owned header" "header 'Host' is set by the relay itself" 'PYROSCOPE_HTTP_HEADERS={"Host":"x"}'
bad "hop-by-hop header" "header 'Connection' is set by the relay itself" 'PYROSCOPE_HTTP_HEADERS={"Connection":"close"}'
bad "bad listen address" "PYROSCOPE_LISTEN_ADDRESS: invalid list" PYROSCOPE_LISTEN_ADDRESS=localhost
bad "bad size" "PYROSCOPE_MAX_BODY_SIZE: invalid size '1.5MB'" PYROSCOPE_MAX_BODY_SIZE=1.5MB

cfg PYROSCOPE_TIMEOUT=abc PYROSCOPE_NUM_WORKERS=x
is "$(grep -c '^error:' "$T/out")" 2 "every problem is listed, not just the first"
cfg "PYROSCOPE_REMOTE_ADDRESS=https://user:hunter2@bad host"
check "a password in a bad remote address is not printed" eval "! grep -q hunter2 '$T/out'"
cfg PYROSCOPE_SELF_PROFILING=true
check "self-profiling: configuration OK, no warning" sh -c '! grep -q "^warning:" "$1" && grep -qx "configuration OK" "$1"' sh "$T/out"
cfg PYROSCOPE_SELF_PROFILING=true "PYROSCOPE_ADHOC_SERVER_ADDRESS=ftp://u:hunter2@x"
check "self-profiling: an unusable ad-hoc address is an error" grep -q "^error: PYROSCOPE_ADHOC_SERVER_ADDRESS: unusable address" "$T/out"
check "self-profiling: its password is not printed" eval "! grep -q hunter2 '$T/out'"
cfg PYROSCOPE_ADHOC_SERVER_ADDRESS=ftp://x
check "the ad-hoc address is not read without self-profiling" grep -qx "configuration OK" "$T/out"
env -i PATH="$PATH" PYROSCOPE_LISTEN_ADDRESS=127.0.0.1:0 "$RELAY_BIN" 2>"$T/nolambda"
is "$?" 1 "no dev mode and no AWS_LAMBDA_RUNTIME_API: exit 1"
check "with a clear message" grep -q 'Cannot start as a Lambda extension: AWS_LAMBDA_RUNTIME_API is not set; exiting (set PYROSCOPE_DEV_MODE=true to run as a local relay)' "$T/nolambda"
done_testing
