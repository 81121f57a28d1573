#!/bin/bash
# deb.sh -- owns the .deb check: make deb in a scratch build tree, lintian, dpkg -i on this machine, the installed unit, binary and man page, dpkg --purge leaving nothing behind.
#
# This test installs the package into the machine it runs on (CI runs as root), then
# purges it. It is skipped when not root, when the Debian build tools are missing,
# in the sanitizer and valgrind suites and under make distcheck (the package is built
# from the dist tarball with Debian's flags whatever this tree was configured with:
# the plain suite checks it), and when a file the package would own is already there
# without belonging to a run of this test. A run that was killed half-way leaves a marker behind; the next
# run purges what that run installed before starting.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

NAME=pyroscope-lambda-extension
MARKER=/var/tmp/$NAME.deb-test-installed
ETCDIR=/etc/$NAME

skip_all() { echo "1..0 # SKIP $*"; exit 0; }
[ "$(id -u)" -eq 0 ] || skip_all "not root: dpkg -i and dpkg --purge need root (CI runs as root)"
for tool in dpkg-buildpackage dh dpkg-deb; do
	command -v "$tool" >/dev/null 2>&1 ||
		skip_all "$tool not installed (sh tools/deps-debian.sh packages: debhelper, dpkg-dev)"
done
[ -z "${RELAY_SANITIZED:-}" ] && [ -z "${RELAY_VALGRIND:-}" ] ||
	skip_all "sanitizer or valgrind suite: the package is built from the dist tarball with Debian's own flags, the plain suite checks it"
# make distcheck takes the write bits off the source tree (root writes there anyway: test the bits).
[ -n "$(find "$TOP_SRCDIR" -maxdepth 0 -perm -u=w)" ] ||
	skip_all "the source tree is read-only (make distcheck): the plain suite builds the package from the same dist tarball"
[ -f "$TOP_SRCDIR/config.status" ] &&
	skip_all "the source tree $TOP_SRCDIR is configured in place: this test configures a scratch build tree from it, which needs a clean source tree"

# pkg_state: dpkg's status of the package ("install ok installed", "deinstall ok
# config-files", ...), empty when dpkg does not know it.
pkg_state() { dpkg-query -W -f='${Status}' "$NAME" 2>/dev/null; }

# with_dpkg_lock CMD...: CMD, tried again for up to 5 minutes while another dpkg or
# apt run holds the dpkg lock (other work may install packages on this machine).
with_dpkg_lock() {
	local i out st
	for i in $(seq 1 60); do
		out=$("$@" 2>&1)
		st=$?
		if [ "$st" -ne 0 ] && printf '%s\n' "$out" | grep -qi 'lock'; then
			sleep 5
			continue
		fi
		printf '%s\n' "$out"
		return "$st"
	done
	printf '%s\n' "$out"
	return "$st"
}

# purge_ours: purge the package this test (or a killed earlier run) installed.
purge_ours() {
	[ -e "$MARKER" ] || return 0
	if [ -n "$(pkg_state)" ] && ! with_dpkg_lock dpkg --purge "$NAME" >"$T/purge-left.log" 2>&1; then
		diag "could not purge $NAME left installed by this test:"
		sed 's/^/#   /' "$T/purge-left.log"
		return 1
	fi
	rm -f "$MARKER"
}
trap 'purge_ours; cleanup' EXIT

if [ -e "$MARKER" ]; then
	if purge_ours; then
		diag "purged $NAME left installed by an earlier run of this test ($MARKER)"
	else
		not_ok "purge what an earlier run of this test left installed"
		done_testing
		exit
	fi
elif [ -n "$(pkg_state)" ]; then
	skip_all "$NAME is known to dpkg on this machine ($(pkg_state)) and was not installed by this test: not touching it"
fi
for f in /usr/bin/$NAME $ETCDIR /lib/systemd/system/$NAME.service /usr/lib/systemd/system/$NAME.service; do
	[ -e "$f" ] && skip_all "$f exists and belongs to no run of this test: installing and purging the package would replace or delete it"
done

VERSION=$(sed -n 's/^AC_INIT(\[[^]]*\], \[\([^]]*\)\].*/\1/p' "$TOP_SRCDIR/configure.ac")
ARCH=$(dpkg --print-architecture)
DEB=${NAME}_${VERSION}_$ARCH.deb

# --- make deb in a scratch build tree ---------------------------------------------
# Configured afresh, so neither the tree under test nor the source tree is written to.
# Isolated from a calling make (jobserver, command-line variables).
mkdir -p "$T/build"
if (cd "$T/build" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	"$TOP_SRCDIR/configure" --quiet >"$T/configure.log" 2>&1); then
	ok "configure a scratch build tree"
else
	not_ok "configure a scratch build tree"
	tail -20 "$T/configure.log" | sed 's/^/#   /'
	done_testing
	exit
fi
# nocheck: the suite this test belongs to runs the unit tests already; lintian is a test point below.
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL PYROSCOPE_DEB_LINTIAN=no DEB_BUILD_OPTIONS="nocheck parallel=2" \
	make --no-print-directory -C "$T/build" deb >"$T/deb.log" 2>&1; then
	ok "make deb succeeds"
else
	not_ok "make deb succeeds"
	tail -40 "$T/deb.log" | sed 's/^/#   /'
	done_testing
	exit
fi
check "make deb made $DEB" test -f "$T/build/$DEB"
PKG=$T/build/$DEB

# --- what is in it ------------------------------------------------------------------
contents=$(dpkg-deb -c "$PKG" | awk '{ print $NF }' | sed 's|^\.||')
has() { printf '%s\n' "$contents" | grep -qx -- "$1"; }
for f in /usr/bin/$NAME $ETCDIR/$NAME.env /usr/share/man/man8/$NAME.8.gz \
	/usr/share/doc/$NAME/README.md.gz /usr/share/doc/$NAME/changelog.gz /usr/share/doc/$NAME/copyright; do
	check "the package holds $f" has "$f"
done
unit_in_pkg=$(printf '%s\n' "$contents" | grep -E '^(/usr)?/lib/systemd/system/'"$NAME"'\.service$')
is "$(printf '%s\n' "$unit_in_pkg" | grep -c .)" 1 "the package holds the unit in the system unit directory ($unit_in_pkg)"
is "$(printf '%s\n' "$contents" | grep -E 'pyroscope-(sink|lambda-emulator)$')" "" "the sink and the emulator (development tools) are not in it"
is "$(dpkg-deb -f "$PKG" Version)" "$VERSION" "package version = configure.ac version"
is "$(dpkg-deb --ctrl-tarfile "$PKG" | tar -xOf - ./conffiles 2>/dev/null)" "$ETCDIR/$NAME.env" \
	"the env file is the one conffile"

# --- lintian --------------------------------------------------------------------------
if ! command -v lintian >/dev/null 2>&1; then
	ok "lintian: no error, no warning # SKIP lintian not installed (sh tools/deps-debian.sh packages)"
else
	changes=$T/build/${NAME}_${VERSION}_$ARCH.changes
	lout=$(timeout 600 lintian --display-info "$changes" 2>"$T/lintian.err")
	lst=$?
	bad=$(printf '%s\n' "$lout" | grep -E '^[EW]: ')
	if [ "$lst" -le 1 ] && [ -z "$bad" ] && ! grep -qv 'root privileges' "$T/lintian.err"; then
		ok "lintian: no error, no warning ($(printf '%s\n' "$lout" | grep -c '^I: ') info tags)"
	else
		not_ok "lintian: no error, no warning"
		printf '%s\n' "exit $lst" "$lout" | sed 's/^/#   /'
		sed 's/^/#   /' "$T/lintian.err"
	fi
fi

# --- dpkg -i on this machine ------------------------------------------------------------
: >"$MARKER"
if with_dpkg_lock dpkg -i "$PKG" >"$T/install.log" 2>&1; then
	ok "dpkg -i installs it"
else
	not_ok "dpkg -i installs it"
	sed 's/^/#   /' "$T/install.log"
fi
is "$(pkg_state)" "install ok installed" "dpkg reports it installed"
is "$(/usr/bin/$NAME --version 2>&1)" "$NAME $VERSION" "the installed binary runs: --version"
installed_files=$(dpkg -L "$NAME" 2>/dev/null)
unit=$(printf '%s\n' "$installed_files" | grep -E "/systemd/system/$NAME\.service$" | head -1)
check "the unit is installed ($unit)" test -n "$unit" -a -f "$unit"
check "the env file is installed" test -f "$ETCDIR/$NAME.env"
check "the env file is the one in conf/" cmp -s "$ETCDIR/$NAME.env" "$TOP_SRCDIR/conf/$NAME.env"
is "$(sed -n 's/^ExecStart=//p' "$unit" 2>/dev/null)" "/usr/bin/env PYROSCOPE_DEV_MODE=true /usr/bin/$NAME" \
	"ExecStart= runs the installed binary in dev mode"
is "$(sed -n 's/^EnvironmentFile=-\{0,1\}//p' "$unit" 2>/dev/null)" "$ETCDIR/$NAME.env" \
	"EnvironmentFile= names the installed env file"
# Installed, never enabled (nor started) by the package: it needs a remote first.
enabled=$(find /etc/systemd/system -name "$NAME.service" 2>/dev/null)
is "$enabled" "" "the package does not enable the service (no symlink under /etc/systemd/system)"
if command -v man >/dev/null 2>&1; then
	is "$(man -w "$NAME" 2>&1)" "/usr/share/man/man8/$NAME.8.gz" "man finds the installed page"
else
	ok "man finds the installed page # SKIP man not installed"
fi

# systemd-analyze verify runs a test manager of its own (no systemd as PID 1 needed).
# With man installed it also checks that Documentation=man:... resolves. It exits 0
# on unknown keys, so any line about the unit is a failure here too.
if ! command -v systemd-analyze >/dev/null 2>&1; then
	ok "systemd-analyze verify accepts the installed unit # SKIP systemd-analyze not installed (apt-get install systemd)"
else
	manopt=--man=no
	command -v man >/dev/null 2>&1 && manopt=--man=yes
	vout=$(SYSTEMD_LOG_COLOR=0 timeout 60 systemd-analyze verify "$manopt" "$unit" 2>&1)
	vst=$?
	if [ "$vst" -eq 0 ] && ! printf '%s\n' "$vout" | grep -q "$NAME"; then
		ok "systemd-analyze verify $manopt accepts the installed unit"
	else
		not_ok "systemd-analyze verify $manopt accepts the installed unit"
		printf '%s\n' "exit $vst" "$vout" | sed 's/^/#   /'
	fi
fi

# --- dpkg --purge leaves nothing behind -------------------------------------------------
if with_dpkg_lock dpkg --purge "$NAME" >"$T/purge.log" 2>&1; then
	ok "dpkg --purge removes it"
else
	not_ok "dpkg --purge removes it"
	sed 's/^/#   /' "$T/purge.log"
fi
is "$(pkg_state)" "" "dpkg no longer knows the package"
left=""
while IFS= read -r f; do
	[ -n "$f" ] || continue
	# Directories shared with other packages (/usr, /usr/bin, /lib as a link to
	# usr/lib, ...) stay, rightly; one left empty and owned by no package does not.
	if [ -d "$f" ]; then
		dpkg -S "$f" >/dev/null 2>&1 || [ -n "$(ls -A "$f" 2>/dev/null)" ] || left="$left $f"
		continue
	fi
	[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done <<<"$installed_files"
is "${left# }" "" "every file dpkg -L listed is gone"
check "$ETCDIR is gone (conffile and directory)" test ! -e "$ETCDIR"
check "the unit is gone" test ! -e "$unit"
is "$(find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked \
	-name "*$NAME*" 2>/dev/null)" "" "no systemd link or deb-systemd-helper state is left"
check "the binary is gone" test ! -e /usr/bin/$NAME
check "the man page is gone" test ! -e /usr/share/man/man8/$NAME.8.gz
check "the doc directory is gone" test ! -e /usr/share/doc/$NAME
[ -z "$(pkg_state)" ] && rm -f "$MARKER"
done_testing
