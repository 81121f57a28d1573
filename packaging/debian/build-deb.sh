#!/bin/sh
# build-deb.sh -- owns `make deb`: the binary .deb built with debhelper from the dist tarball, in a scratch copy.
#
#   sh packaging/debian/build-deb.sh TARBALL OUTDIR
#
# TARBALL is the `make dist` archive (pyroscope-lambda-extension-VERSION.tar.gz).
# It is unpacked into a scratch directory under OUTDIR, its packaging/debian/ becomes
# debian/, and dpkg-buildpackage builds the binary package there (unsigned, -b): the
# source tree is never written to, and OUTDIR only receives the results. The .deb, .changes and
# .buildinfo (and the -dbgsym .deb) are moved to OUTDIR, the build log is OUTDIR/*.build,
# then lintian checks them when it is installed: any error or warning fails the
# build (PYROSCOPE_DEB_LINTIAN=no skips it).
# DEB_BUILD_OPTIONS defaults to parallel=2.
set -eu
PROG=build-deb.sh
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }

[ $# -eq 2 ] || die "usage: sh packaging/debian/build-deb.sh TARBALL OUTDIR"
tarball=$1
out=$2
[ -f "$tarball" ] || die "no tarball at $tarball (make dist makes it)"
[ -d "$out" ] || die "no output directory $out"
out=$(cd "$out" && pwd)
for tool in dpkg-buildpackage dpkg-parsechangelog dh; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "$tool not found: install debhelper and dpkg-dev (sh tools/deps-debian.sh packages)"
done

base=$(basename "$tarball" .tar.gz)
version=${base#pyroscope-lambda-extension-}
[ "$version" != "$base" ] || die "$tarball is not a pyroscope-lambda-extension-VERSION.tar.gz"

work=$(mktemp -d "$out/deb-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -xzf "$tarball" -C "$work"
tree=$work/$base
[ -d "$tree/packaging/debian" ] || die "$tarball holds no packaging/debian/"
cp -R "$tree/packaging/debian" "$tree/debian"
rm -f "$tree/debian/build-deb.sh"
chmod 0755 "$tree/debian/rules"

# The package version is the changelog's; it must be the release being packaged.
deb_version=$(cd "$tree" && dpkg-parsechangelog -S Version)
[ "$deb_version" = "$version" ] ||
	die "packaging/debian/changelog is at $deb_version but the sources are $version: add a changelog entry for $version"

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
buildlog=$out/pyroscope-lambda-extension_${version}_$arch.build
log "dpkg-buildpackage -b in $tree (log: $buildlog)"
(cd "$tree" && DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=2} \
	dpkg-buildpackage -b -us -uc >"$buildlog" 2>&1) || {
	tail -40 "$buildlog" >&2
	die "dpkg-buildpackage failed (the end of its log is above)"
}
deb=pyroscope-lambda-extension_${version}_$arch.deb
changes=pyroscope-lambda-extension_${version}_$arch.changes
[ -f "$work/$deb" ] || die "dpkg-buildpackage made no $deb"
# The package, its debug symbols (-dbgsym), and the .changes and .buildinfo naming them.
for f in "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo; do
	[ -f "$f" ] && mv -f "$f" "$out/"
done
log "built $out/$deb"

if [ "${PYROSCOPE_DEB_LINTIAN:-yes}" != no ]; then
	if ! command -v lintian >/dev/null 2>&1; then
		log "lintian not installed: not checked (sh tools/deps-debian.sh packages)"
	elif lintian --fail-on error,warning --display-info "$out/$changes"; then
		log "lintian: no error, no warning"
	else
		die "lintian found errors or warnings in $out/$changes (above)"
	fi
fi
