#!/bin/sh
# run.sh -- one command from a fresh Debian 12 checkout: `demo` or `test`.
#   sh tools/run.sh demo   install dependencies, build, run the local demo
#   sh tools/run.sh test   install dependencies, build, run every test suite
#                          (plain, ASan+UBSan, valgrind, distcheck); ends with
#                          one line "N passed, N failed"
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-demo}
jobs=$(nproc 2>/dev/null || echo 2)

sh "$top/tools/deps-debian.sh"
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
	logs=""
	run_suite() {	# run_suite NAME CONFIGURE-ARGS...
		name=$1; shift
		echo "== $name"
		build "$top/build-$name" "$@" || { status=1; echo "build failed: $name"; return; }
		make -C "$top/build-$name" -j"$jobs" check >"$top/build-$name/check.out" 2>&1 || status=1
		grep -aE '^(PASS|FAIL|ERROR|XPASS|SKIP)|^# (TOTAL|PASS|FAIL|ERROR|SKIP)' "$top/build-$name/check.out" | grep -v '^PASS' || true
		grep -aE '^# (TOTAL|PASS|FAIL|ERROR)' "$top/build-$name/check.out" | tr '\n' ' '; echo
		logs="$logs $top/build-$name/test-suite.log"
	}
	# The static Lambda layers first: the packaging tests in every suite then check them.
	echo "== static layers (x86_64, arm64)"
	static_f=0
	if sh "$top/packaging/lambda/build-layer.sh" >"$top/build-static.log" 2>&1; then
		for z in "$top"/build-static/*.zip; do stat -c '  %n: %s bytes' "$z"; done
	else
		tail -30 "$top/build-static.log"; echo "static build failed (full log: build-static.log)"
		status=1; static_f=1
	fi
	run_suite plain --with-systemdsystemunitdir=/usr/lib/systemd/system
	run_suite sanitizers --enable-asan --enable-ubsan
	run_suite valgrind --enable-valgrind
	echo "== distcheck"
	build "$top/build-dist"
	if make -C "$top/build-dist" distcheck >"$top/build-dist/distcheck.out" 2>&1; then
		echo "distcheck: ok"; dist_p=1; dist_f=0
	else
		tail -30 "$top/build-dist/distcheck.out"; status=1; dist_p=0; dist_f=1
	fi
	# shellcheck disable=SC2086
	awk -v dp="$dist_p" -v df="$((dist_f + static_f))" '/^# PASS:/{p+=$3} /^# FAIL:/{f+=$3} /^# ERROR:/{f+=$3}
	    END{printf "%d passed, %d failed\n", p+dp, f+df}' $logs
	exit $status
	;;
*)
	echo "usage: sh tools/run.sh demo|test" >&2
	exit 2
	;;
esac
