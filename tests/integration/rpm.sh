#!/bin/bash
# rpm.sh -- owns the .rpm check: make rpm from the static binaries, the files and requirements (nothing Amazon Linux 2 lacks), an install into a scratch root where the binary runs.
#
# The tree under test's `make rpm` writes into a scratch directory (RPM_OUT), so the
# build tree is not written to. Skipped when rpmbuild is missing or no static binary
# was built (make static). The install into a scratch root (rpm --root) needs root;
# as another user those points are skipped. The foreign architecture's binary runs
# under qemu-user when it is installed.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

NAME=pyroscope-lambda-extension
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
for tool in rpm rpmbuild; do
	command -v "$tool" >/dev/null 2>&1 ||
		skip_all "$tool not installed (Debian's rpm package: sh tools/deps-debian.sh packages)"
done
BUILD_DIR=$(cd "$(dirname "$RELAY_BIN")" 2>/dev/null && pwd)
[ -n "$BUILD_DIR" ] && [ -f "$BUILD_DIR/Makefile" ] ||
	skip_all "no configured build tree at $(dirname "$RELAY_BIN") (RELAY_BIN=$RELAY_BIN)"
STATIC=${PYROSCOPE_STATIC_OUT:-$TOP_SRCDIR/build-static}
arches=""
for a in x86_64 arm64; do
	[ -f "$STATIC/$NAME-$a" ] && arches="$arches $a"
done
arches=${arches# }
[ -n "$arches" ] ||
	skip_all "no static binary in $STATIC ($NAME-x86_64, $NAME-arm64): make static builds them (as root on Debian 12)"
VERSION=$(sed -n 's/^AC_INIT(\[[^]]*\], \[\([^]]*\)\].*/\1/p' "$TOP_SRCDIR/configure.ac")
HOST=$(uname -m)

# The rpmlib() features Amazon Linux 2's rpm (4.11) provides. A package needing any
# other (PayloadIsZstd, RichDependencies, LargeFiles, Caret...) does not install there.
AL2_RPMLIB="BuiltinLuaScripts CompressedFileNames ConcurrentAccess ExplicitPackageProvide
FileCaps FileDigests HeaderLoadSortsTags PartialHardlinkSets PayloadFilesHavePrefix
PayloadIsBzip2 PayloadIsLzma PayloadIsXz ScriptletExpansion ScriptletInterpreterArgs
TildeInVersions VersionedDependencies"

# --- make rpm ---------------------------------------------------------------------------
mkdir -p "$T/out"
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$BUILD_DIR" -o Makefile \
	rpm RPM_OUT="$T/out" RPM_ARCHES="$arches" >"$T/rpm.log" 2>&1; then
	ok "make rpm succeeds ($arches)"
else
	not_ok "make rpm succeeds ($arches)"
	tail -30 "$T/rpm.log" | sed 's/^/#   /'
	done_testing
	exit
fi
[ "$arches" = "x86_64 arm64" ] || ok "both architectures # SKIP only $arches built in $STATIC (make static builds both)"

for arch in $arches; do
	case $arch in x86_64) rpmarch=x86_64 ;; arm64) rpmarch=aarch64 ;; esac
	pkg=$T/out/$NAME-$VERSION-1.$rpmarch.rpm
	bin=$STATIC/$NAME-$arch
	check "$rpmarch: make rpm made $(basename "$pkg")" test -f "$pkg"
	[ -f "$pkg" ] || continue
	is "$(rpm -qp --qf '%{NAME} %{VERSION} %{ARCH}' "$pkg" 2>/dev/null)" "$NAME $VERSION $rpmarch" \
		"$rpmarch: name, version (configure.ac's) and architecture"

	# Files: exactly the daemon, the unit, the env file (a config file), the man page, the README.
	want_files="/etc/$NAME
/etc/$NAME/$NAME.env
/usr/bin/$NAME
/usr/lib/systemd/system/$NAME.service
/usr/share/doc/$NAME
/usr/share/doc/$NAME/README.md
/usr/share/man/man8/$NAME.8.gz"
	is "$(rpm -qpl "$pkg" 2>/dev/null)" "$want_files" "$rpmarch: rpm -qpl lists exactly the daemon, unit, env file, man page and README"
	is "$(rpm -qpc "$pkg" 2>/dev/null)" "/etc/$NAME/$NAME.env" "$rpmarch: the env file is the one config file"
	is "$(rpm -qp --qf '[%{FILENAMES} %{FILEFLAGS:fflags}\n]' "$pkg" 2>/dev/null | sed -n "s|^/etc/$NAME/$NAME.env ||p")" \
		"cn" "$rpmarch: the env file is %config(noreplace): local edits survive upgrades"

	# Requirements: nothing but rpmlib() features AL2's rpm has and /bin/sh for the
	# scriptlets (the binary is static: no library, no systemd package).
	reqs=$(rpm -qpR "$pkg" 2>/dev/null)
	diag "$rpmarch: rpm -qpR: $(printf '%s\n' "$reqs" | sort -u | tr '\n' ';' | sed 's/;$//; s/;/; /g')"
	bad=""
	while IFS= read -r r; do
		[ -n "$r" ] || continue
		case $r in
		/bin/sh) ;;
		"rpmlib("*)
			f=${r#rpmlib(}; f=${f%%)*}
			printf '%s\n' $AL2_RPMLIB | grep -qx "$f" || bad="$bad; $r"
			;;
		*) bad="$bad; $r" ;;
		esac
	done <<<"$reqs"
	is "${bad#; }" "" "$rpmarch: requires nothing Amazon Linux 2 lacks (rpmlib features of rpm 4.11, /bin/sh)"
	check "$rpmarch: some requirement is listed (rpm -qpR works)" test -n "$reqs"
	is "$(rpm -qp --qf '%{PAYLOADCOMPRESSOR}' "$pkg" 2>/dev/null)" gzip "$rpmarch: gzip payload (AL2's rpm 4.11 reads no zstd)"
	# Installing never enables or starts the service: no %pre or %post scriptlet.
	is "$(rpm -qp --qf '%{PREIN}|%{POSTIN}' "$pkg" 2>/dev/null)" "(none)|(none)" \
		"$rpmarch: no install scriptlet (the service is neither enabled nor started)"

	# --- an install into a scratch root ---------------------------------------------------
	POINTS=("an empty root lacks only /bin/sh (the scriptlets' shell)" "rpm --root installs it"
		"rpm --root -q knows it" "the installed binary is the static one" "--version in the scratch root"
		"the installed env file passes --check-config" "systemd-analyze verify accepts the installed unit"
		"rpm --root -e removes every file")
	if [ "$(id -u)" -ne 0 ]; then
		for p in "${POINTS[@]}"; do ok "$rpmarch: $p # SKIP not root: rpm --root chroots"; done
		continue
	fi
	root=$T/root-$rpmarch
	mkdir -p "$root"
	rpmr() { rpm --root "$root" --dbpath /var/lib/rpm "$@"; }
	rpmr --initdb 2>"$T/initdb.err" || { diag "rpm --initdb:"; sed 's/^/#   /' "$T/initdb.err"; }
	ign=""
	[ "$rpmarch" = "$HOST" ] || ign=--ignorearch
	# A dependency check with nothing installed: only /bin/sh may be missing.
	rpmr -i --test $ign "$pkg" >"$T/test-$arch.log" 2>&1
	missing=$(sed -n 's/^[[:space:]]*\(.*\) is needed by .*/\1/p' "$T/test-$arch.log" | sort -u | tr '\n' ' ')
	is "${missing% }" "/bin/sh" "$rpmarch: ${POINTS[0]}"
	if rpmr -i --nodeps $ign "$pkg" >"$T/install-$arch.log" 2>&1; then
		ok "$rpmarch: ${POINTS[1]}"
	else
		not_ok "$rpmarch: ${POINTS[1]}"
		sed 's/^/#   /' "$T/install-$arch.log"
	fi
	is "$(rpmr -q "$NAME" 2>/dev/null)" "$NAME-$VERSION-1.$rpmarch" "$rpmarch: ${POINTS[2]}"
	check "$rpmarch: ${POINTS[3]}" cmp -s "$root/usr/bin/$NAME" "$bin"

	# The root holds nothing but the package: a static binary runs there alone.
	# cmd: how to run the installed binary (chroot into the root, or qemu-user on it).
	if [ "$rpmarch" = "$HOST" ]; then
		cmd=(chroot "$root" /usr/bin/$NAME)
	elif [ "$rpmarch" = aarch64 ] && command -v qemu-aarch64-static >/dev/null 2>&1; then
		cmd=(qemu-aarch64-static "$root/usr/bin/$NAME")
	else
		cmd=()
	fi
	if [ ${#cmd[@]} -eq 0 ]; then
		ok "$rpmarch: ${POINTS[4]} # SKIP cannot run $rpmarch code on $HOST (apt-get install qemu-user-static)"
		ok "$rpmarch: ${POINTS[5]} # SKIP cannot run $rpmarch code on $HOST"
	else
		is "$("${cmd[@]}" --version 2>&1)" "$NAME $VERSION" "$rpmarch: ${POINTS[4]} (${cmd[0]})"
		# The installed file's variables only, then dev mode over its "false", as the unit does.
		# shellcheck disable=SC2016  # expanded by the inner sh
		mapfile -t filevars < <(env -i sh -c 'set -a; . "$1"; env' sh "$root/etc/$NAME/$NAME.env" | grep '^PYROSCOPE_')
		out=$(env -i PATH="$PATH" "${filevars[@]}" PYROSCOPE_DEV_MODE=true "${cmd[@]}" --check-config 2>&1)
		if [ "${#filevars[@]}" -gt 10 ] && [ "$out" = "configuration OK" ]; then
			ok "$rpmarch: ${POINTS[5]} (${#filevars[@]} variables)"
		else
			not_ok "$rpmarch: ${POINTS[5]}"
			printf '%s\n' "${#filevars[@]} variables" "$out" | sed 's/^/#   /'
		fi
	fi
	unit=$root/usr/lib/systemd/system/$NAME.service
	if ! command -v systemd-analyze >/dev/null 2>&1; then
		ok "$rpmarch: ${POINTS[6]} # SKIP systemd-analyze not installed"
	else
		vout=$(SYSTEMD_LOG_COLOR=0 timeout 60 systemd-analyze verify --man=no "$unit" 2>&1)
		vst=$?
		if [ "$vst" -eq 0 ] && ! printf '%s\n' "$vout" | grep -q "$NAME"; then
			ok "$rpmarch: ${POINTS[6]}"
		else
			not_ok "$rpmarch: ${POINTS[6]}"
			printf '%s\n' "exit $vst" "$vout" | sed 's/^/#   /'
		fi
	fi
	# --noscripts: the scratch root has no /bin/sh for the removal scriptlets.
	rpmr -e --noscripts "$NAME" >"$T/erase-$arch.log" 2>&1
	is "$(find "$root" -path "$root/var/lib/rpm" -prune -o ! -type d -print)" "" "$rpmarch: ${POINTS[7]}"
done
done_testing
