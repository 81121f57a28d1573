#!/bin/sh
# run.sh -- replay each fuzz target's regression inputs, then fuzz it for a while over its corpus.
#   sh tests/fuzz/run.sh FUZZ_SRCDIR OUTDIR TARGET...
# FUZZ_SRCDIR holds corpus/<target>/ (seeds), regressions/<target>/ (inputs that once failed) and
# dict/<target>.dict (optional). Environment: FUZZ_TIME seconds per target (default 10), or
# FUZZ_RUNS executions per target when set; FUZZ_FLAGS, more libFuzzer flags.
# New corpus entries go to OUTDIR/corpus/<target>/, crashes to OUTDIR/crashes/<target>/, logs to
# OUTDIR/logs/. One line per target; the last line is "fuzz targets: N ok, N failed"; exit 1 on a failure.
set -u
src=$1 out=$2
shift 2
time=${FUZZ_TIME:-10}
runs=${FUZZ_RUNS:-}
flags=${FUZZ_FLAGS:-}
ok=0 bad=0
: "${UBSAN_OPTIONS:=print_stacktrace=1}"
export UBSAN_OPTIONS

# stats LOG: "N runs, cov: N, ft: N, corpus: N" from libFuzzer's last status line and final stats.
stats() {
	awk '/^#[0-9]+/ { for (i = 1; i < NF; i++) { if ($i == "cov:") c = $(i + 1); if ($i == "ft:") f = $(i + 1); if ($i == "corp:") { k = $(i + 1); sub(/\/.*/, "", k) } } }
	    /^stat::number_of_executed_units:/ { n = $2 }
	    END { printf "%s runs, cov: %s, ft: %s, corpus: %s", n, c, f, k }' "$1"
}

for bin; do
	name=$(basename "$bin")
	log=$out/logs/$name.log
	mkdir -p "$out/corpus/$name" "$out/crashes/$name" "$out/logs"
	# Every input that once failed must pass now (the files are run once each).
	regs=$(find "$src/regressions/$name" -type f 2>/dev/null | sort)
	replayed=
	if [ -n "$regs" ]; then
		replayed=", $(echo "$regs" | wc -l) regression inputs replayed"
		# shellcheck disable=SC2086
		if ! "$bin" $regs >"$out/logs/$name.replay.log" 2>&1; then
			echo "$name: FAILED on a regression input (log: $out/logs/$name.replay.log)"
			tail -25 "$out/logs/$name.replay.log"
			bad=$((bad + 1))
			continue
		fi
	fi
	if [ -n "$runs" ]; then limit=-runs=$runs; else limit=-max_total_time=$time; fi
	dict=
	[ -f "$src/dict/$name.dict" ] && dict=-dict=$src/dict/$name.dict
	# The first corpus directory gets the new entries; the committed seeds are only read.
	# shellcheck disable=SC2086
	if nice "$bin" "$limit" -timeout=10 -print_final_stats=1 -artifact_prefix="$out/crashes/$name/" \
	    $dict $flags "$out/corpus/$name" "$src/corpus/$name" >"$log" 2>&1; then
		echo "$name: ok, $(stats "$log")$replayed"
		ok=$((ok + 1))
	else
		echo "$name: FAILED (log: $log)"
		tail -40 "$log"
		for a in "$out/crashes/$name"/*; do
			[ -f "$a" ] && echo "$name: crashing input $a; keep it: cp '$a' tests/fuzz/regressions/$name/"
		done
		bad=$((bad + 1))
	fi
done
echo "fuzz targets: $ok ok, $bad failed"
[ "$bad" -eq 0 ]
