#!/bin/sh
# check-static.sh -- owns the check that the Lambda binaries and layer zips are static, stripped (but for the self-profiler's symbols) and of the right architecture (TAP).
#
#   sh packaging/lambda/check-static.sh                 every built binary and zip in $OUT
#   sh packaging/lambda/check-static.sh FILE ARCH ...   the given binaries (ARCH: x86_64 or arm64)
#
# A binary passes when it is an ELF64 executable for ARCH's machine with no program
# interpreter (readelf -l), no NEEDED entry (readelf -d), no debug sections, a symbol table of
# the self-profiler's local function symbols only (the relay's and a marker per library), and fits the
# size budget. A zip passes when it holds exactly extensions/pyroscope-lambda-extension,
# mode 0755, identical to the binary beside it, and fits its budget. Nothing built:
# "1..0 # SKIP".
#
# The budgets (bytes, both architectures): what the layer may weigh. Lambda counts the
# page cache of what a function loads in its memory, and downloads and unpacks the
# layer on every cold start. The builds of 0.1.0 were about 2.2 MB and 1.05 MB
# (packaging/lambda/README.md): a change that pushes them past these is a regression to
# look at, not to wave through.
BINARY_BUDGET=2500000
ZIP_BUDGET=1100000
set -eu
. "$(dirname "$0")/common.sh"
. "$TOP/tests/tap.sh"

# within_budget FILE BUDGET WHAT: a test point for FILE's size against BUDGET.
within_budget() {
	_size=$(wc -c <"$1")
	if [ "$_size" -le "$2" ]; then
		ok "$3: $_size bytes, within the budget of $2"
	else
		not_ok "$3: $_size bytes, within the budget of $2"
		diag "over by $((_size - $2)) bytes: see packaging/lambda/README.md (Size) before raising the budget"
	fi
}

if ! command -v readelf >/dev/null 2>&1; then
	echo "1..0 # SKIP readelf not installed (binutils)"
	exit 0
fi

# check_binary FILE ARCH: the test points of one binary.
check_binary() {
	arch_setup "$2"
	_f=$1
	if [ ! -f "$_f" ]; then
		not_ok "$_f exists"
		return
	fi
	_h=$(readelf -h "$_f" 2>&1) || { not_ok "$_f: readelf -h reads it"; diag "$_h"; return; }
	_machine=$(printf '%s\n' "$_h" | sed -n 's/^ *Machine: *//p')
	is "$_machine" "$ELF_MACHINE" "$ARCH: $(basename "$_f") is for $ELF_MACHINE"
	is "$(printf '%s\n' "$_h" | sed -n 's/^ *Class: *//p')" ELF64 "$ARCH: ELF64"
	_type=$(printf '%s\n' "$_h" | sed -n 's/^ *Type: *\([A-Z]*\).*/\1/p')
	case $_type in
	EXEC|DYN) ok "$ARCH: an executable ($_type)" ;;
	*) not_ok "$ARCH: an executable"; diag "Type: $_type" ;;
	esac
	_interp=$(readelf -lW "$_f" 2>&1 | grep -E 'INTERP|Requesting program interpreter' || true)
	if [ -z "$_interp" ]; then
		ok "$ARCH: no program interpreter (readelf -l)"
	else
		not_ok "$ARCH: no program interpreter (readelf -l)"; diag "$_interp"
	fi
	_needed=$(readelf -dW "$_f" 2>&1 | grep NEEDED || true)
	if [ -z "$_needed" ]; then
		ok "$ARCH: no NEEDED entries (readelf -d: $(readelf -dW "$_f" 2>&1 | grep -v '^ *$' | head -1 | sed 's/^ *//'))"
	else
		not_ok "$ARCH: no NEEDED entries (readelf -d)"; diag "$_needed"
	fi
	_dbg=$(readelf -SW "$_f" 2>/dev/null | grep -cE ' \.(debug|zdebug|stab)' || true)
	is "$_dbg" 0 "$ARCH: stripped (no debug sections)"
	# The symbols kept for the self-profiler (build-static.sh's symbol_args): local functions
	# only, the relay's own and one marker per library; nothing else.
	_syms=$(readelf -sW "$_f" 2>/dev/null | awk '$1 ~ /^[0-9]+:$/ && $4 != "SECTION" && $4 != "FILE" && $8 != "" { print $4, $5, $8 }')
	_n=$(printf '%s
' "$_syms" | grep -c . || true)
	_other=$(printf '%s
' "$_syms" | grep -v '^FUNC LOCAL ' | grep -c . || true)
	if [ "$_n" -gt 100 ] && [ "$_n" -lt 2000 ] && [ "$_other" -eq 0 ]; then
		ok "$ARCH: only the self-profiler's symbols ($_n local functions)"
	else
		not_ok "$ARCH: only the self-profiler's symbols"; diag "$_n symbols, $_other not local functions"
	fi
	for _s in on_request upstream_submit chain_run '\[libcrypto\]' '\[libevent\]'; do
		if printf '%s\n' "$_syms" | grep -q " $_s\$"; then
			ok "$ARCH: the self-profiler can name $_s"
		else
			not_ok "$ARCH: the self-profiler can name $_s"
		fi
	done
	within_budget "$_f" "$BINARY_BUDGET" "$ARCH: binary size"
}

# check_tls ARCH: the unit test of the CA lookup and the TLS client, linked against the
# static libraries by build-static.sh, run on this machine (arm64: under qemu-user):
# real handshakes with openssl s_server and the sink (TLS 1.2 and 1.3, AES-GCM and
# ChaCha20-Poly1305, X25519/P-256/P-384, RSA and ECDSA P-256/P-384 certificates, SNI).
check_tls() {
	arch_setup "$1"
	_t=$OUT/build-$ARCH/tests/unit/test_calookup
	if [ ! -x "$_t" ]; then
		ok "$ARCH: static TLS client # SKIP $_t not built"
		return
	fi
	if [ -z "${SINK_BIN:-}" ] || ! command -v openssl >/dev/null 2>&1 ||
	    { [ -n "$QEMU" ] && ! command -v "$QEMU" >/dev/null 2>&1; }; then
		ok "$ARCH: static TLS client # SKIP needs SINK_BIN, the openssl CLI${QEMU:+ and $QEMU}"
		return
	fi
	_rc=0
	_out=$(SINK_BIN=$SINK_BIN timeout 600 $QEMU "$_t" 2>&1) || _rc=$?
	_plan=$(printf '%s\n' "$_out" | sed -n 's/^1\.\.\([0-9]*\)$/\1/p')
	_bad=$(printf '%s\n' "$_out" | grep -c '^not ok' || true)
	if [ "$_rc" -eq 0 ] && [ "${_plan:-0}" -gt 0 ] && [ "$_bad" -eq 0 ]; then
		ok "$ARCH: static TLS client: test_calookup passes (${_plan} points${QEMU:+, under $QEMU})"
	else
		not_ok "$ARCH: static TLS client: test_calookup passes"
		printf '%s\n' "$_out" | grep -v '^ok' | sed 's/^/#   /'
	fi
}

# check_hot ARCH: build-static.sh links the functions of hot-text.txt first in .text
# (hot_ldscript). From the build tree's linker script and map: of .text's input sections,
# in address order, every .text.NAME section the script names comes before all others.
check_hot() {
	arch_setup "$1"
	_map=$OUT/build-$ARCH/pyroscope-lambda-extension.map
	_ld=$OUT/build-$ARCH/hot-text.ld
	if [ ! -f "$_map" ] || [ ! -f "$_ld" ]; then
		ok "$ARCH: hot functions first in .text # SKIP no linker map and script in $OUT/build-$ARCH"
		return
	fi
	set -- $(awk -v ld="$_ld" '
		BEGIN {
			while ((getline l < ld) > 0)
				if (l ~ /^ *\*\(\.text\.[^ ()]*\)$/) { sub(/^ *\*\(/, "", l); sub(/\)$/, "", l); want[l] = 1 }
		}
		/^Linker script and memory map/ { on = 1; next }
		!on { next }
		/^\.[^ ]*/ { out = $1 }
		out != ".text" { next }
		{
			line = $0
			if (pending != "") { line = pending " " line; pending = "" }
			n = split(line, a, /[ \t]+/)
			if (n == 2 && a[1] == "" && a[2] ~ /^\./) { pending = line; next }
			if (a[1] == "") { for (i = 1; i < n; i++) a[i] = a[i + 1]; n-- }
			if (n != 4 || a[1] !~ /^\./ || a[2] !~ /^0x/ || a[3] ~ /^0x0*$/) next
			if (a[1] in want) { hot++; if (cold) late++ } else if (!cold) { cold = 1; end = a[2] }
		}
		END { printf "%d %d %s\n", hot + 0, late + 0, end }' "$_map")
	if [ "$1" -gt 1000 ] && [ "$2" -eq 0 ]; then
		ok "$ARCH: the $1 hot functions (hot-text.txt) come first in .text, up to $3"
	else
		not_ok "$ARCH: the hot functions (hot-text.txt) come first in .text"
		diag "$1 hot sections, $2 of them after other code"
	fi
}

# check_zip ZIP ARCH: the layer holds the binary, executable, and nothing else.
check_zip() {
	arch_setup "$2"
	_z=$1
	_list=$(unzip -Z1 "$_z" 2>&1 | grep -v '/$' || true)
	is "$_list" "extensions/pyroscope-lambda-extension" "$ARCH layer: exactly extensions/pyroscope-lambda-extension"
	_mode=$(unzip -Z "$_z" extensions/pyroscope-lambda-extension 2>/dev/null | awk '{ print $1; exit }')
	is "$_mode" "-rwxr-xr-x" "$ARCH layer: the extension has mode 0755"
	within_budget "$_z" "$ZIP_BUDGET" "$ARCH layer: zip size"
	if [ -f "$OUT/$BIN_NAME" ]; then
		_a=$(unzip -p "$_z" extensions/pyroscope-lambda-extension | sha256sum | cut -d' ' -f1)
		_b=$(sha256sum <"$OUT/$BIN_NAME" | cut -d' ' -f1)
		is "$_a" "$_b" "$ARCH layer: the same bytes as $BIN_NAME"
	fi
}

if [ $# -gt 0 ]; then
	while [ $# -ge 2 ]; do
		check_binary "$1" "$2"
		shift 2
	done
	[ $# -eq 0 ] || { echo "usage: $0 [FILE ARCH]..." >&2; exit 2; }
	done_testing
	exit
fi

found=0
for a in x86_64 arm64; do
	arch_setup "$a"
	if [ -f "$OUT/$BIN_NAME" ]; then
		found=1
		check_binary "$OUT/$BIN_NAME" "$a"
		check_hot "$a"
		check_tls "$a"
	fi
	if [ -f "$OUT/$BIN_NAME.zip" ]; then
		found=1
		if command -v unzip >/dev/null 2>&1; then
			check_zip "$OUT/$BIN_NAME.zip" "$a"
		else
			ok "$a layer # SKIP unzip not installed"
		fi
	fi
done
if [ "$found" -eq 0 ]; then
	echo "1..0 # SKIP no static binary built in $OUT (run packaging/lambda/build-layer.sh as root)"
	exit 0
fi
done_testing
