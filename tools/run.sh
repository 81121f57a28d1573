#!/bin/sh
# run.sh -- one command from a fresh Debian 12 checkout: `demo` or `test`.
#   sh tools/run.sh demo   install dependencies, build, run the local demo
#   sh tools/run.sh test   install dependencies, build, run every test suite
#                          (plain, ASan+UBSan, valgrind, fuzzing, distcheck, a
#                          benchmark smoke); ends with one line "N passed, N failed"
#   PYROSCOPE_FUZZ_TIME    seconds each fuzz target runs in `test` (default 10)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-demo}
jobs=$(nproc 2>/dev/null || echo 2)

sh "$top/tools/deps-debian.sh" "$what"
cd "$top"
[ -x configure ] || autoreconf -fi >/dev/null

build() {	# build DIR CONFIGURE-ARGS...
	dir=$1; shift
	mkdir -p "$dir"
	(cd "$dir" && { [ -f Makefile ] || "$top/configure" --quiet "$@"; } && make -s -j"$jobs" >/dev/null)
}

case $what in
demo)
	build "$top/build"
	make -s -C "$top/build" demo
	;;
test)
	status=0
	passed=0 failed=0 skipped=0
	# count FILE PATTERN: the sum of the automake log's "# NAME: N" lines that match.
	count() { awk -v re="$2" '$0 ~ re { s += $3 } END { print s + 0 }' "$1"; }
	run_suite() {	# run_suite NAME CONFIGURE-ARGS...
		name=$1; shift
		dir=$top/build-$name
		echo "== $name"
		# A suite that cannot build, or leaves no log, counts as one failure.
		if ! build "$dir" "$@"; then
			echo "build failed: $name"; status=1; failed=$((failed + 1)); return
		fi
		rm -f "$dir/test-suite.log"
		make -C "$dir" -j"$jobs" check >"$dir/check.out" 2>&1 || status=1
		grep -aE '^(PASS|FAIL|ERROR|XPASS|SKIP)|^# (TOTAL|PASS|FAIL|ERROR|XPASS|SKIP)' "$dir/check.out" | grep -v '^PASS' || true
		if [ ! -f "$dir/test-suite.log" ]; then
			tail -30 "$dir/check.out"; echo "no test-suite.log: $name"
			status=1; failed=$((failed + 1)); return
		fi
		passed=$((passed + $(count "$dir/test-suite.log" '^# PASS:')))
		failed=$((failed + $(count "$dir/test-suite.log" '^# (FAIL|ERROR|XPASS):')))
		skipped=$((skipped + $(count "$dir/test-suite.log" '^# SKIP:')))
	}
	# The static Lambda layers first: the packaging tests in every suite then check them.
	echo "== static layers (x86_64, arm64)"
	if sh "$top/packaging/lambda/build-layer.sh" >"$top/build-static.log" 2>&1; then
		for z in "$top"/build-static/*.zip; do stat -c '  %n: %s bytes' "$z"; done
	else
		tail -30 "$top/build-static.log"; echo "static build failed (full log: build-static.log)"
		status=1; failed=$((failed + 1))
	fi
	run_suite plain --with-systemdsystemunitdir=/usr/lib/systemd/system
	run_suite sanitizers --enable-asan --enable-ubsan
	run_suite valgrind --enable-valgrind
	# Each fuzz target replays its regression inputs, then fuzzes briefly: one pass or failure per target.
	fuzz_time=${PYROSCOPE_FUZZ_TIME:-10}
	echo "== fuzz (libFuzzer, $fuzz_time s per target)"
	fdir=$top/build-fuzz
	mkdir -p "$fdir"
	if (cd "$fdir" && { [ -f Makefile ] || "$top/configure" --quiet --enable-fuzzing; }) >"$fdir/configure.out" 2>&1; then
		make -C "$fdir" -s -j"$jobs" fuzz FUZZ_TIME="$fuzz_time" >"$fdir/fuzz.out" 2>&1 || status=1
		grep -aE '^fuzz_[a-z0-9_]+: ' "$fdir/fuzz.out" | grep -av ': crashing input' || true
		n_ok=$(grep -acE '^fuzz_[a-z0-9_]+: ok' "$fdir/fuzz.out" || true)
		n_bad=$(grep -acE '^fuzz_[a-z0-9_]+: FAILED' "$fdir/fuzz.out" || true)
		passed=$((passed + n_ok)); failed=$((failed + n_bad))
		[ "$n_bad" -eq 0 ] || echo "fuzz failures: details in build-fuzz/fuzz.out; see tests/fuzz/README.md"
		if ! grep -aq '^fuzz targets: ' "$fdir/fuzz.out"; then
			tail -30 "$fdir/fuzz.out"; echo "fuzz targets did not build (full log: build-fuzz/fuzz.out)"
			status=1; failed=$((failed + 1))
		fi
	else
		tail -30 "$fdir/configure.out"; echo "configure --enable-fuzzing failed"
		status=1; failed=$((failed + 1))
	fi
	echo "== distcheck"
	if build "$top/build-dist" && make -C "$top/build-dist" distcheck >"$top/build-dist/distcheck.out" 2>&1; then
		echo "distcheck: ok"; passed=$((passed + 1))
	else
		[ -f "$top/build-dist/distcheck.out" ] && tail -30 "$top/build-dist/distcheck.out"
		echo "distcheck failed"; status=1; failed=$((failed + 1))
	fi
	echo "== benchmark smoke"
	smoke=$top/build-plain/bench-smoke.out
	if make -s -C "$top/build-plain" bench BENCH_ARGS=--smoke >"$smoke" 2>&1; then
		tail -1 "$smoke"; passed=$((passed + 1))
	else
		tail -30 "$smoke"; echo "benchmark smoke failed"; status=1; failed=$((failed + 1))
	fi
	echo "$skipped skipped (each with its reason in the suites' logs)"
	echo "$passed passed, $failed failed"
	exit $status
	;;
*)
	echo "usage: sh tools/run.sh demo|test" >&2
	exit 2
	;;
esac
