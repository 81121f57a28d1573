#!/bin/sh
# build-rpm.sh -- owns `make rpm`: one .rpm per architecture (x86_64, aarch64) from the static binaries, built with rpmbuild.
#
#   sh packaging/rpm/build-rpm.sh VERSION OUTDIR [x86_64] [arm64]     (default: both)
#
# The binaries come from $PYROSCOPE_STATIC_OUT (default <top>/build-static), as
# `make static` (packaging/lambda/build-static.sh) leaves them:
# pyroscope-lambda-extension-x86_64 and pyroscope-lambda-extension-arm64. The other
# files come from this script's source tree: the systemd unit (with /usr/bin and /etc
# substituted), conf/pyroscope-lambda-extension.env, the man page and README.md.
# rpmbuild (Debian's rpm package) runs in a scratch directory with a scratch
# database; the results are OUTDIR/pyroscope-lambda-extension-VERSION-1.ARCH.rpm,
# ARCH x86_64 or aarch64. Time stamps come from the spec's %changelog (or
# SOURCE_DATE_EPOCH), so a rebuild of the same binaries gives the same package.
set -eu
PROG=build-rpm.sh
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }

TOP=$(cd "$(dirname "$0")/../.." && pwd)
NAME=pyroscope-lambda-extension
SPEC=$TOP/packaging/rpm/$NAME.spec
STATIC=${PYROSCOPE_STATIC_OUT:-$TOP/build-static}

[ $# -ge 2 ] || die "usage: sh packaging/rpm/build-rpm.sh VERSION OUTDIR [x86_64] [arm64]"
version=$1
out=$2
shift 2
[ $# -gt 0 ] || set -- x86_64 arm64
[ -d "$out" ] || die "no output directory $out"
out=$(cd "$out" && pwd)
command -v rpmbuild >/dev/null 2>&1 ||
	die "rpmbuild not found: install Debian's rpm package (sh tools/deps-debian.sh packages)"

# The spec's newest %changelog entry must be this release.
entry=$(sed -n '/^%changelog/,$p' "$SPEC" | sed -n 's/^\* .* - \([^ ]*\)$/\1/p' | head -1)
[ "${entry%-*}" = "$version" ] ||
	die "the %changelog of $SPEC is at ${entry:-nothing} but the sources are $version: add an entry for $version-1"

# Reproducible: time stamps and the build time from that entry, unless given.
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	day=$(sed -n '/^%changelog/,$p' "$SPEC" | sed -n 's/^\* \([A-Z][a-z]* [A-Z][a-z]* [0-9]* [0-9]*\) .*/\1/p' | head -1)
	SOURCE_DATE_EPOCH=$(date -u -d "$day" +%s) || die "cannot read the date of the %changelog entry ($day)"
	export SOURCE_DATE_EPOCH
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/$NAME-rpm.XXXXXX")
trap 'rm -rf "$work"' EXIT
for arch in "$@"; do
	case $arch in
	x86_64) rpmarch=x86_64 ;;
	arm64|aarch64) arch=arm64 rpmarch=aarch64 ;;
	*) die "unknown architecture '$arch' (x86_64 or arm64)" ;;
	esac
	bin=$STATIC/$NAME-$arch
	[ -f "$bin" ] || die "no static binary $bin: build it first (make static, or sh packaging/lambda/build-static.sh $arch)"

	src=$work/src-$arch
	mkdir -p "$src"
	cp "$bin" "$src/$NAME"
	sed -e 's|@bindir[@]|/usr/bin|g' -e 's|@sysconfdir[@]|/etc|g' \
		"$TOP/packaging/systemd/$NAME.service.in" >"$src/$NAME.service"
	! grep -q '@[A-Za-z_]*@' "$src/$NAME.service" || die "a @...@ is left in the unit"
	cp "$TOP/conf/$NAME.env" "$TOP/packaging/man/$NAME.8" "$TOP/README.md" "$src/"

	log "rpmbuild --target $rpmarch-linux"
	rpmbuild -bb --target "$rpmarch-linux" \
		--define "_topdir $work/top" \
		--define "_sourcedir $src" \
		--define "_rpmdir $work/rpms" \
		--define "_dbpath $work/db" \
		--define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
		--define "pkg_version $version" \
		--define "use_source_date_epoch_as_buildtime 1" \
		--define "clamp_mtime_to_source_date_epoch 1" \
		"$SPEC" >"$work/rpmbuild-$arch.log" 2>&1 || {
		tail -30 "$work/rpmbuild-$arch.log" >&2
		die "rpmbuild for $rpmarch failed (the end of its log is above)"
	}
	rpm=$NAME-$version-1.$rpmarch.rpm
	[ -f "$work/rpms/$rpm" ] || die "rpmbuild made no $rpm"
	mv -f "$work/rpms/$rpm" "$out/$rpm"
	log "built $out/$rpm"
done
