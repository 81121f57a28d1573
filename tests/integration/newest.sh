#!/bin/bash
# newest.sh -- owns "fresh profiles are worth more": with the remote refusing connections and the
# budget full of uploads waiting to reconnect, the newest profile gets in and reaches the remote.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

N=50
for i in $(seq 1 $N); do
	{ head -c 2097136 /dev/zero; printf 'PROFILE-MARK-%03d' "$i"; } >"$T/b$i"
done
for round in 1 2; do
	port=$(free_port)	# nothing listens there yet: connections are refused
	start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$port"
	codes=""
	for i in $(seq 1 $N); do
		codes="$codes$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$T/b$i" \
			"http://127.0.0.1:$RELAY_PORT/ingest?name=newest.cpu&i=$i") "
	done
	is "$(printf '%s' "$codes" | tr ' ' '\n' | grep -c '^200$')" $N "round $round: all $N uploads of 2 MiB answered 200 while the remote refuses"
	sleep $((5 * SLOW))
	"$SINK_BIN" --listen "127.0.0.1:$port" --dir "$T/up$round" --quiet >"$T/sink$round.out" 2>&1 &
	PIDS="$PIDS $!"
	check "round $round: the newest profile reaches the remote once it is back" \
		wait_until 60 eval "grep -lq PROFILE-MARK-0$N '$T'/up$round/*.body"
	wait_until 60 eval '[ "$(metric queued_profiles)" -eq 0 ] && [ "$(metric in_flight_profiles)" -eq 0 ]'
	check "round $round: the counters add up" accounting_holds
	diag "round $round: delivered $(metric delivered_profiles_total), dropped queue_full $(metric 'dropped_profiles_total{reason="queue_full"}')"
	stop_relay
done
done_testing
