#!/bin/bash
# inflight-check.sh -- did any request to the sink stay in flight across a freeze of the
# sandbox? Reads the freeze and thaw instants from the emulator's JSON report and each
# request's first byte and answer instants from the sink's DIR/req-NNN.time files (both
# wall-clock epoch ms). A request is in flight across a freeze when its first byte arrived
# before the freeze and its answer was sent after it. Prints each such request and exits 1;
# exits 0 when there is none (and says how many requests and freezes it checked).
#
#   usage: inflight-check.sh REPORT.json SINK_DIR
set -u
if [ $# -ne 2 ] || [ ! -f "$1" ] || [ ! -d "$2" ]; then
	echo "usage: inflight-check.sh REPORT.json SINK_DIR" >&2
	exit 2
fi
report=$1 dir=$2
freezes=$(sed -n 's/^ *"frozen_at_ms": \([0-9.]*\).*/\1/p' "$report" | tr '\n' ' ')
for f in "$dir"/req-*.time; do
	[ -e "$f" ] || continue
	awk -v name="$(basename "$f" .time)" '{ v[$1] = $2 } END {
		printf "%s %.3f %.3f %.3f\n", name, v["first_byte_ms"], v["received_ms"], v["answered_ms"] }' "$f"
done | awk -v freezes="$freezes" '
	BEGIN { nf = split(freezes, fz, " ") }
	{
		n++
		start = $2 > 0 ? $2 : $3
		for (i = 1; i <= nf; i++) {
			if (start < fz[i] && $4 > fz[i]) {
				printf "inflight-check: %s in flight across the freeze at %.3f (first byte %.3f, answered %.3f)\n", $1, fz[i], start, $4
				bad++
			}
		}
	}
	END {
		if (bad) exit 1
		printf "inflight-check: none of %d requests was in flight across any of %d freezes\n", n, nf
	}'
