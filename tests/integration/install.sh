#!/bin/bash
# install.sh -- owns the host install check: `make install DESTDIR=` from the build tree under test, what lands where, the unit (systemd-analyze verify), the installed binary, env file and man page.
#
# The build tree is the directory of RELAY_BIN (make check sets it). Everything is
# installed into a scratch DESTDIR; nothing is written anywhere else (make distcheck
# runs this from a read-only source tree). The test never builds: other tests run
# the same binaries meanwhile, so when the tree is not up to date (sources edited
# since make) it is skipped rather than rebuilt under them. The installed paths come
# from the build tree's own Makefile, so any --prefix/--sysconfdir works; the unit's
# points are skipped when the tree was configured without --with-systemdsystemunitdir.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

BUILD_DIR=$(cd "$(dirname "$RELAY_BIN")" 2>/dev/null && pwd)
if [ -z "$BUILD_DIR" ] || [ ! -f "$BUILD_DIR/Makefile" ]; then
	echo "1..0 # SKIP no configured build tree at $(dirname "$RELAY_BIN") (RELAY_BIN=$RELAY_BIN)"
	exit 0
fi
command -v make >/dev/null 2>&1 || { echo "1..0 # SKIP make not installed"; exit 0; }
NAME=pyroscope-lambda-extension
DEST=$T/dest

# bmake ARGS...: make in the build tree, isolated from a calling make (its jobserver
# and command-line variables are not passed on), never regenerating the Makefile.
bmake() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$BUILD_DIR" -o Makefile "$@"; }

# The configured directories, as the build tree's Makefile expands them.
# shellcheck disable=SC2016  # $(...) is make syntax here, for make to expand
printf 'print-install-dirs:\n\t@echo "bindir=$(bindir)"; echo "sysconfdir=$(sysconfdir)"; echo "unitdir=$(systemdsystemunitdir)"; echo "mandir=$(mandir)"; echo "srcdir=$(abs_top_srcdir)"; echo "devtools=$(ENABLE_DEV_TOOLS)"\n' \
	>"$T/print.mk"
dirs=$(bmake -s -f Makefile -f "$T/print.mk" print-install-dirs 2>"$T/print.err")
bindir=$(printf '%s\n' "$dirs" | sed -n 's/^bindir=//p')
sysconfdir=$(printf '%s\n' "$dirs" | sed -n 's/^sysconfdir=//p')
unitdir=$(printf '%s\n' "$dirs" | sed -n 's/^unitdir=//p')
mandir=$(printf '%s\n' "$dirs" | sed -n 's/^mandir=//p')
srcdir=$(printf '%s\n' "$dirs" | sed -n 's/^srcdir=//p')
devtools=$(printf '%s\n' "$dirs" | sed -n 's/^devtools=//p')
if [ -z "$bindir" ] || [ -z "$sysconfdir" ] || [ -z "$mandir" ] || [ -z "$srcdir" ]; then
	not_ok "the build tree's Makefile names bindir, sysconfdir, mandir and abs_top_srcdir"
	sed 's/^/#   /' "$T/print.err"
	done_testing
	exit
fi

# Up to date? The Makefile against what automake and configure regenerate it from,
# then what `all` would build (make -n; nothing regenerated, nothing run).
stale=""
# out_of_order NEWER OLDER ...: pairs of files; sets stale at the first pair where NEWER is the newer.
out_of_order() {
	while [ $# -ge 2 ]; do
		[ "$1" -nt "$2" ] && { stale="$1 is newer than $2"; return; }
		shift 2
	done
}
out_of_order "$srcdir/Makefile.am" "$srcdir/Makefile.in" "$srcdir/configure.ac" "$srcdir/configure" \
	"$srcdir/configure" "$BUILD_DIR/config.status" "$srcdir/Makefile.in" "$BUILD_DIR/Makefile" \
	"$BUILD_DIR/config.status" "$BUILD_DIR/Makefile"
if [ -z "$stale" ]; then
	todo=$(bmake -n -o config.h all-am 2>&1 | grep -v "Nothing to be done")
	if [ -n "$todo" ]; then
		what=$(printf '%s\n' "$todo" | sed -n 's/^echo " *\([A-Z]*\) *" *\([^;]*\);.*/\1 \2/p' | head -3 | tr '\n' ' ')
		[ -n "$what" ] || what=$(printf '%s\n' "$todo" | head -1 | cut -c1-100)
		stale="make would run: ${what% }"
	fi
fi
if [ -n "$stale" ]; then
	echo "1..0 # SKIP the build tree $BUILD_DIR is not up to date (${stale% }); this test installs what was built and never builds: run make first"
	exit 0
fi
diag "build tree $BUILD_DIR: bindir=$bindir sysconfdir=$sysconfdir unitdir=${unitdir:-(none)}"

# --- make install ------------------------------------------------------------
if bmake install DESTDIR="$DEST" >"$T/install.log" 2>&1; then
	ok "make install DESTDIR=<tmp> succeeds"
else
	not_ok "make install DESTDIR=<tmp> succeeds"
	tail -20 "$T/install.log" | sed 's/^/#   /'
fi
check "$bindir/$NAME installed, executable" test -x "$DEST$bindir/$NAME"
for prog in pyroscope-sink pyroscope-lambda-emulator; do
	if [ "$devtools" = yes ]; then
		check "$bindir/$prog installed (configured with --enable-dev-tools)" test -x "$DEST$bindir/$prog"
	else
		check "$bindir/$prog (a test tool) not installed without --enable-dev-tools" test ! -e "$DEST$bindir/$prog"
	fi
done
envfile=$sysconfdir/$NAME/$NAME.env
# Nothing else: the daemon (and the tools when asked), the env file, the man page, the unit.
expected="$bindir/$NAME
$envfile
$mandir/man8/$NAME.8"
[ "$devtools" = yes ] && expected="$expected
$bindir/pyroscope-sink
$bindir/pyroscope-lambda-emulator"
[ -n "$unitdir" ] && expected="$expected
$unitdir/$NAME.service"
extra=$(cd "$DEST" && find . -type f -o -type l | sed 's|^\.||' | sort | comm -23 - <(printf '%s\n' "$expected" | sort))
is "$extra" "" "make install installs nothing but the daemon, its env file, man page and unit (and the tools only when asked)"
check "$envfile installed" test -f "$DEST$envfile"
is "$(stat -c %a "$DEST$envfile" 2>/dev/null)" 644 "the env file has mode 0644 (it holds no secret until edited)"
check "the env file is the one in conf/" cmp -s "$DEST$envfile" "$TOP_SRCDIR/conf/$NAME.env"
manpage=$mandir/man8/$NAME.8
check "$manpage installed" test -f "$DEST$manpage"
check "the man page is the one in packaging/man/" cmp -s "$DEST$manpage" "$TOP_SRCDIR/packaging/man/$NAME.8"
if command -v man >/dev/null 2>&1; then
	is "$(MANPATH="$DEST$mandir" man -w "$NAME" 2>&1)" "$DEST$manpage" "man finds the installed page in the installed man directory"
else
	ok "man finds the installed page in the installed man directory # SKIP man not installed"
fi

# --- the installed binary with the installed env file --------------------------
BIN=$DEST$bindir/$NAME
is "$("$BIN" --version 2>&1)" \
	"$(sed -n 's/^AC_INIT(\[\([^]]*\)\], \[\([^]]*\)\].*/\1 \2/p' "$TOP_SRCDIR/configure.ac")" \
	"the installed binary runs: --version"
# with_envfile FILE CMD...: CMD with only FILE's variables (set -a; . FILE), as a unit would.
with_envfile() {
	local f=$1; shift
	# shellcheck disable=SC2016  # expanded by the inner sh
	env -i PATH="$PATH" sh -c 'set -a; . "$1"; set +a; shift; exec "$@"' sh "$f" "$@"
}
out=$(with_envfile "$DEST$envfile" "$BIN" --check-config 2>&1)
st=$?
is "$st $out" "0 configuration OK" "--check-config with the installed env file: configuration OK"
cp "$DEST$envfile" "$T/bad.env"
echo 'PYROSCOPE_TIMEOUT=soon' >>"$T/bad.env"
out=$(with_envfile "$T/bad.env" "$BIN" --check-config 2>&1)
st=$?
if [ "$st" -eq 1 ] && printf '%s\n' "$out" | grep -q 'PYROSCOPE_TIMEOUT'; then
	ok "--check-config reads the file: a bad value in it fails (exit 1, names the variable)"
else
	not_ok "--check-config reads the file: a bad value in it fails (exit 1, names the variable)"
	printf '%s\n' "exit $st" "$out" | sed 's/^/#   /'
fi

# The installed relay started from the installed env file as the unit starts it:
# the file's variables, then PYROSCOPE_DEV_MODE=true over the file's "false".
# The listener and the remote are moved to loopback test ports.
mapfile -t filevars < <(with_envfile "$DEST$envfile" env | grep '^PYROSCOPE_')
start_sink inst
RELAY_BIN=$BIN
if start_relay "${filevars[@]}" PYROSCOPE_DEV_MODE=true PYROSCOPE_LISTEN_ADDRESS=127.0.0.1:0 \
	PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT"; then
	fx=$(fixture nodejs-0.6.4-wall-octet-stream.http)
	is "$(send_raw "$fx")" "HTTP/1.1 200 OK" "the installed relay, env file loaded, accepts an upload"
	wait_until 10 sink_got inst
	is "$(count_requests inst)" 1 "and relays it"
	stop_relay
	is "$RELAY_STATUS" 0 "and exits 0 on SIGTERM"
else
	not_ok "the installed relay starts with the installed env file"
fi

# --- the systemd unit --------------------------------------------------------------
UNIT_POINTS=("the unit is installed" "no @...@ left in the unit"
	"EnvironmentFile= names the installed env file" "ExecStart= runs the installed binary in dev mode"
	"systemd-analyze verify accepts the unit")
if [ -z "$unitdir" ]; then
	for p in "${UNIT_POINTS[@]}"; do ok "$p # SKIP configured without --with-systemdsystemunitdir"; done
else
	unit=$DEST$unitdir/$NAME.service
	check "the unit is installed" test -f "$unit"
	left=$(grep -n '@[A-Za-z_]*@' "$unit" 2>/dev/null)
	is "$left" "" "no @...@ left in the unit"
	is "$(sed -n 's/^EnvironmentFile=-\{0,1\}//p' "$unit")" "$envfile" \
		"EnvironmentFile= names the installed env file"
	exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
	if [ "${exec_start##* }" = "$bindir/$NAME" ] && [ -x "$DEST${exec_start##* }" ] &&
	    printf '%s\n' "$exec_start" | grep -q ' PYROSCOPE_DEV_MODE=true '; then
		ok "ExecStart= runs the installed binary in dev mode"
	else
		not_ok "ExecStart= runs the installed binary in dev mode"
		diag "ExecStart=$exec_start (want PYROSCOPE_DEV_MODE=true ... $bindir/$NAME)"
	fi
	# systemd-analyze verify loads the unit in a test manager of its own (no
	# systemd as PID 1 needed) and checks the ExecStart= command exists; the
	# relay's own path is an argument of env, checked above. It exits 0 on
	# unknown keys, so its warnings about the file are failures here too.
	if ! command -v systemd-analyze >/dev/null 2>&1; then
		ok "systemd-analyze verify accepts the unit # SKIP systemd-analyze not installed (apt-get install systemd)"
	else
		vout=$(SYSTEMD_LOG_COLOR=0 timeout 60 systemd-analyze verify --man=no "$unit" 2>&1)
		vst=$?
		if [ "$vst" -eq 0 ] && ! printf '%s\n' "$vout" | grep -q "$NAME.service"; then
			ok "systemd-analyze verify accepts the unit"
		else
			not_ok "systemd-analyze verify accepts the unit"
			printf '%s\n' "exit $vst" "$vout" | sed 's/^/#   /'
		fi
	fi
fi

# --- make uninstall leaves nothing behind ------------------------------------------
if bmake uninstall DESTDIR="$DEST" >"$T/uninstall.log" 2>&1; then
	is "$(find "$DEST" ! -type d | sort | tr '\n' ' ')" "" "make uninstall removes every installed file"
else
	not_ok "make uninstall DESTDIR=<tmp> succeeds"
	tail -20 "$T/uninstall.log" | sed 's/^/#   /'
fi
done_testing
