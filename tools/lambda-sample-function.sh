#!/bin/bash
# lambda-sample-function.sh -- a sample Lambda function (a bash "custom runtime") for
# pyroscope-lambda-emulator. Each invoke uploads SAMPLE_UPLOADS small profiles to the
# profiling relay on localhost (as a Pyroscope SDK would), then answers the invoke.
#
#   SAMPLE_UPLOADS      profiles per invoke (default 2)
#   SAMPLE_RELAY_PORT   relay port on localhost (default 4040)
#   SAMPLE_COUNT_FILE   if set, one line is appended per upload answered 200
#   AWS_LAMBDA_RUNTIME_API  set by the emulator (or by Lambda)
#
# Every curl call is bounded; the loop ends when the Runtime API goes away.
set -u

api="http://${AWS_LAMBDA_RUNTIME_API:?AWS_LAMBDA_RUNTIME_API is not set}/2018-06-01/runtime"
uploads=${SAMPLE_UPLOADS:-2}
relay="http://localhost:${SAMPLE_RELAY_PORT:-4040}"
case $uploads in
'' | *[!0-9]*) echo "sample-function: SAMPLE_UPLOADS must be a number, got '$uploads'" >&2; exit 1 ;;
esac
work=$(mktemp -d "${TMPDIR:-/tmp}/lambda-sample.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 0' TERM

# header NAME FILE: the value of a response header (case-insensitive), without CR.
header() {
	awk -v n="$(printf '%s' "$1" | tr 'A-Z' 'a-z')" '
		{ k = $0; sub(/:.*/, "", k) }
		tolower(k) == n { sub(/^[^:]*:[ \t]*/, ""); sub(/\r$/, ""); print; exit }' "$2"
}

n=0
while :; do
	# The long poll: the sandbox may be frozen for a while, so the bound is generous.
	# In the background and waited for: a SIGTERM at shutdown interrupts `wait` (not a
	# foreground command), so the trap runs and the scratch folder is removed.
	curl -sS -m 3600 -D "$work/headers" -o "$work/event" "$api/invocation/next" &
	if ! wait $!; then
		echo "sample-function: the Runtime API is gone; exiting" >&2
		exit 0
	fi
	id=$(header Lambda-Runtime-Aws-Request-Id "$work/headers")
	if [ -z "$id" ]; then
		echo "sample-function: no request id in the answer to next; exiting" >&2
		exit 1
	fi
	n=$((n + 1))
	ok=0
	for k in $(seq 1 "$uploads"); do
		until_s=$(date +%s)
		from_s=$((until_s - 10))
		status=$(printf 'main;work;leaf %d\nmain;idle %d\n' "$((n * 10 + k))" "$k" |
			curl -sS -m 5 -o /dev/null -w '%{http_code}' -X POST \
				-H 'Content-Type: text/plain' --data-binary @- \
				"$relay/ingest?name=sample.app.cpu%7Binvoke%3D$n%7D&from=$from_s&until=$until_s&format=folded&spyName=bash" \
				2>/dev/null) || status=000
		if [ "$status" = 200 ]; then
			ok=$((ok + 1))
			if [ -n "${SAMPLE_COUNT_FILE:-}" ]; then
				echo "$n $k" >>"$SAMPLE_COUNT_FILE"
			fi
		fi
	done
	body=$(printf '{"invoke":%d,"uploads":%d,"uploads_ok":%d}' "$n" "$uploads" "$ok")
	if ! curl -sS -m 10 -o /dev/null -X POST -H 'Content-Type: application/json' \
		--data-binary "$body" "$api/invocation/$id/response"; then
		echo "sample-function: cannot post the response for $id; exiting" >&2
		exit 1
	fi
	echo "sample-function: invoke $n ($id): $ok of $uploads uploads answered 200" >&2
done
