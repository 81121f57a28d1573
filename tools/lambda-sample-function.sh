#!/bin/bash
# lambda-sample-function.sh -- a sample Lambda function (a bash "custom runtime") for
# pyroscope-lambda-emulator. Each invoke works SAMPLE_WORK_MS, uploads SAMPLE_UPLOADS small
# profiles to the profiling relay on localhost (as a Pyroscope SDK would), then answers.
#
#   SAMPLE_UPLOADS      profiles per uploading invoke (default 2)
#   SAMPLE_UPLOAD_EVERY upload on every Kth invoke only (default 1: every invoke)
#   SAMPLE_WORK_MS      the handler's own work before the uploads, in ms (default 0)
#   SAMPLE_RELAY_PORT   relay port on localhost (default 4040)
#   SAMPLE_COUNT_FILE   if set, one line is appended per upload answered 200
#   AWS_LAMBDA_RUNTIME_API  set by the emulator (or by Lambda)
#   AWS_LAMBDA_MAX_CONCURRENCY  concurrent invokes (Lambda Managed Instances): that many
#                       workers poll invocation/next at once (default 1)
#
# Every curl call is bounded; the loop ends when the Runtime API goes away.
set -u

api="http://${AWS_LAMBDA_RUNTIME_API:?AWS_LAMBDA_RUNTIME_API is not set}/2018-06-01/runtime"
uploads=${SAMPLE_UPLOADS:-2}
every=${SAMPLE_UPLOAD_EVERY:-1}
work_ms=${SAMPLE_WORK_MS:-0}
workers=${AWS_LAMBDA_MAX_CONCURRENCY:-1}
relay="http://localhost:${SAMPLE_RELAY_PORT:-4040}"
for v in uploads every work_ms workers; do
	case ${!v} in
	'' | *[!0-9]*) echo "sample-function: $v must be a number, got '${!v}'" >&2; exit 1 ;;
	esac
done
[ "$every" -ge 1 ] || every=1
[ "$workers" -ge 1 ] || workers=1
work_s=$(printf '%d.%03d' $((work_ms / 1000)) $((work_ms % 1000)))
top=$(mktemp -d "${TMPDIR:-/tmp}/lambda-sample.XXXXXX") || exit 1
trap 'rm -rf "$top"' EXIT
trap 'exit 0' TERM

# header NAME FILE: the value of a response header (case-insensitive), without CR.
header() {
	awk -v n="$(printf '%s' "$1" | tr 'A-Z' 'a-z')" '
		{ k = $0; sub(/:.*/, "", k) }
		tolower(k) == n { sub(/^[^:]*:[ \t]*/, ""); sub(/\r$/, ""); print; exit }' "$2"
}

# worker W: one invoke at a time, in its own scratch folder.
worker() {
local w=$1 work=$top/$1 n=0 id ok k nup status body until_s from_s
mkdir -p "$work" || return 1
while :; do
	# The long poll: the sandbox may be frozen for a while, so the bound is generous.
	# In the background and waited for: a SIGTERM at shutdown interrupts `wait` (not a
	# foreground command), so the trap runs and the scratch folder is removed.
	curl -sS -m 3600 -D "$work/headers" -o "$work/event" "$api/invocation/next" &
	if ! wait $!; then
		echo "sample-function: the Runtime API is gone; exiting" >&2
		return 0
	fi
	id=$(header Lambda-Runtime-Aws-Request-Id "$work/headers")
	if [ -z "$id" ]; then
		echo "sample-function: no request id in the answer to next; exiting" >&2
		return 1
	fi
	n=$((n + 1))
	ok=0
	if [ "$work_ms" -gt 0 ]; then sleep "$work_s"; fi
	nup=$uploads
	[ $((n % every)) -eq 0 ] || nup=0
	for k in $(seq 1 "$nup"); do
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
	body=$(printf '{"worker":%d,"invoke":%d,"uploads":%d,"uploads_ok":%d}' "$w" "$n" "$nup" "$ok")
	if ! curl -sS -m 10 -o /dev/null -X POST -H 'Content-Type: application/json' \
		--data-binary "$body" "$api/invocation/$id/response"; then
		echo "sample-function: cannot post the response for $id; exiting" >&2
		return 1
	fi
	echo "sample-function: worker $w invoke $n ($id): $ok uploads answered 200" >&2
done
}

if [ "$workers" -eq 1 ]; then
	worker 1
	exit $?
fi
pids=""
for w in $(seq 1 "$workers"); do
	worker "$w" &
	pids="$pids $!"
done
# SIGTERM interrupts this wait; the trap exits, and the workers go with the process group.
wait $pids
