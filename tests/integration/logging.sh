#!/bin/bash
# logging.sh -- the daemon's own log lines in the original's logrus shapes (text and JSON).
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

start_sink up
R="http://127.0.0.1:$SINK_PORT"
first() { grep -m1 "$1" "$T/relay.log"; }

start_relay PYROSCOPE_REMOTE_ADDRESS="$R"
stop_relay
check "text line shape" grep -Eqx 'time="[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z" level=info msg="Starting relay" svc=pyroscope-lambda-ext-main' \
	<(first 'Starting relay')
check "signal line as the original" grep -q "msg=\"Received signal: 'terminated'. Exiting\"" "$T/relay.log"
check "no debug lines at the default level" eval "! grep -q 'level=debug' '$T/relay.log'"

start_relay PYROSCOPE_REMOTE_ADDRESS="$R" PYROSCOPE_LOG_FORMAT=json
stop_relay
check "JSON line shape, keys sorted" grep -Eqx '\{"level":"info","msg":"Starting relay","svc":"pyroscope-lambda-ext-main","time":"[0-9T:-]+Z"\}' \
	<(first 'Starting relay')
check "every line is JSON" eval "! grep -v '^{.*}\$' '$T/relay.log'"

start_relay PYROSCOPE_REMOTE_ADDRESS="$R" PYROSCOPE_LOG_TIMESTAMP_DISABLE=true \
	PYROSCOPE_LOG_LEVEL_FIELD_NAME=severity PYROSCOPE_LOG_MSG_FIELD_NAME=message
stop_relay
is "$(first 'Starting relay')" 'severity=info message="Starting relay" svc=pyroscope-lambda-ext-main' \
	"renamed keys, no timestamp"

start_relay PYROSCOPE_REMOTE_ADDRESS="$R" PYROSCOPE_LOG_TIMESTAMP_FORMAT='Jan _2 15:04:05.000'
stop_relay
check "Go layout for timestamps" grep -Eq '^time="[A-Z][a-z]{2} [ 123][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}" level=info msg="Starting relay"' \
	"$T/relay.log"

start_relay PYROSCOPE_REMOTE_ADDRESS="$R" PYROSCOPE_LOG_LEVEL=loud
stop_relay
check "invalid level: error naming variable, value and fallback" \
	grep -q "level=error msg=\"PYROSCOPE_LOG_LEVEL: unknown level 'loud' (want panic, fatal, error, warn, info, debug or trace), using 'info'\"" "$T/relay.log"

start_relay PYROSCOPE_REMOTE_ADDRESS="$R" PYROSCOPE_LOG_LEVEL=debug
curl -s -o /dev/null --data-binary 'a 1' "http://127.0.0.1:$RELAY_PORT/ingest?name=app.cpu"
wait_until 10 grep -q 'Relayed request to remote' "$T/relay.log"
stop_relay
check "per-request debug line: method, path, bytes, status, time" \
	grep -Eq 'level=debug msg="Relayed request to remote" attempts=1 bytes=3 duration_ms=[0-9.]+ method=POST outcome=delivered path=/ingest status=200 svc=pyroscope-lambda-ext-main' "$T/relay.log"

start_relay PYROSCOPE_REMOTE_ADDRESS="$R"
curl -s -o /dev/null --data-binary 'a 1' "http://127.0.0.1:$RELAY_PORT/ingest?name=app.cpu"
one_delivered() { [ "$(metric delivered_profiles_total)" = 1 ]; }
wait_until 10 one_delivered
kill -USR1 "$RELAY_PID"
check "SIGUSR1 logs the statistics line" wait_until 10 grep -q 'msg="Relay statistics: received=1 delivered=1 dropped=0 ' "$T/relay.log"
stop_relay
check "the exit summary has the same figures" grep -q 'msg="Relay stopped: received=1 delivered=1 dropped=0 ' "$T/relay.log"

start_relay PYROSCOPE_REMOTE_ADDRESS="$R" PYROSCOPE_LOG_LEVEL=error
stop_relay
is "$(wc -l <"$T/relay.log")" 0 "level error: a healthy run prints nothing"
done_testing
