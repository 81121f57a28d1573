#!/bin/bash
# init-bench.sh -- init cost of an extension against the floor: N starts of each, interleaved
# (floor, extension, floor, ...), each a full init and shutdown under pyroscope-lambda-emulator
# (--invokes 0). Prints the median exec -> register and exec -> first event/next of both and
# their difference, from the emulator's JSON reports.
#
#   usage: init-bench.sh [-n N] EXTENSION [emulator options...]
#   EMULATOR_BIN   the emulator (default ./pyroscope-lambda-emulator)
#   FLOOR_EXT_BIN  the floor extension (default ./tools/emulator/floor-extension)
# The extension runs under its own file name, with this environment (set PYROSCOPE_* here).
set -u
here=$(cd "$(dirname "$0")" && pwd)
EMULATOR_BIN=${EMULATOR_BIN:-./pyroscope-lambda-emulator}
FLOOR_EXT_BIN=${FLOOR_EXT_BIN:-./tools/emulator/floor-extension}
n=10
if [ "${1:-}" = -n ]; then n=$2; shift 2; fi
if [ $# -lt 1 ] || [ ! -x "$1" ]; then
	echo "usage: init-bench.sh [-n N] EXTENSION [emulator options...]" >&2
	exit 2
fi
case $n in '' | *[!0-9]* | 0) echo "init-bench: -n needs a positive number" >&2; exit 2 ;; esac
ext=$1; shift
for v in EMULATOR_BIN FLOOR_EXT_BIN; do
	if [ ! -x "${!v}" ]; then echo "init-bench: $v='${!v}' is not an executable" >&2; exit 2; fi
done
abs() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$(pwd)" "$(basename "$1")"); }
work=$(mktemp -d "${TMPDIR:-/tmp}/init-bench.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
mkdir "$work/floor" "$work/ext"
ln -s "$(abs "$FLOOR_EXT_BIN")" "$work/floor/floor-extension"
ln -s "$(abs "$ext")" "$work/ext/$(basename "$ext")"
fn="SAMPLE_UPLOADS=0 exec bash $(printf '%q' "$here/../lambda-sample-function.sh")"

# run KIND I: one start; appends "register first_next" (ms) to $work/KIND.times.
run() {
	"$EMULATOR_BIN" --extensions "$work/$1" --function "$fn" --listen 127.0.0.1:0 --invokes 0 \
		--quiet --report "$work/$1.json" "${@:3}" >/dev/null 2>"$work/$1.err"
	local rc=$? reg next
	reg=$(sed -n 's/^ *"exec_to_register_ms": \([0-9.]*\).*/\1/p' "$work/$1.json" 2>/dev/null | head -1)
	next=$(sed -n 's/^ *"exec_to_first_next_ms": \([0-9.]*\).*/\1/p' "$work/$1.json" 2>/dev/null | head -1)
	if [ $rc -ne 0 ] || [ -z "$reg" ] || [ -z "$next" ]; then
		echo "init-bench: start $2 of $1 failed (exit $rc):" >&2
		tail -5 "$work/$1.err" >&2
		return 1
	fi
	echo "$reg $next" >>"$work/$1.times"
}
for i in $(seq 1 "$n"); do
	run floor "$i" "$@" || exit 1
	run ext "$i" "$@" || exit 1
done
# median FILE COLUMN
median() { awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '{ v[NR] = $1 } END {
	if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
fr=$(median "$work/floor.times" 1); fn1=$(median "$work/floor.times" 2)
er=$(median "$work/ext.times" 1); en=$(median "$work/ext.times" 2)
printf 'init-bench: %d starts each, interleaved; median ms\n' "$n"
printf '%-32s %16s %20s\n' "" "exec->register" "exec->first next"
printf '%-32s %16s %20s\n' "floor-extension" "$fr" "$fn1"
printf '%-32s %16s %20s\n' "$(basename "$ext")" "$er" "$en"
printf '%-32s %16s %20s\n' "difference" "$(awk -v a="$er" -v b="$fr" 'BEGIN { printf "%.2f", a - b }')" \
	"$(awk -v a="$en" -v b="$fn1" 'BEGIN { printf "%.2f", a - b }')"
