#!/bin/sh
# build-layer.sh -- owns the Lambda layer zips: pyroscope-lambda-extension-{x86_64,arm64}.zip.
#
#   sh packaging/lambda/build-layer.sh [--no-build] [x86_64] [arm64]     (default: both)
#
# Builds the static binaries with build-static.sh (quick when nothing changed), then
# writes $OUT/pyroscope-lambda-extension-ARCH.zip holding only
# extensions/pyroscope-lambda-extension (mode 0755), as Lambda expects of an external
# extension. With --no-build the binaries already in $OUT are packed as they are.
# The zips are reproducible: fixed time stamps (SOURCE_DATE_EPOCH, else the last
# commit's date), no extra attributes.
set -eu
. "$(dirname "$0")/common.sh"

build=1
if [ "${1:-}" = --no-build ]; then build=0; shift; fi
[ $# -gt 0 ] || set -- x86_64 arm64
for a in "$@"; do arch_setup "$a"; done

if [ "$build" -eq 1 ]; then
	sh "$TOP/packaging/lambda/build-static.sh" "$@" || die "the static build failed"
fi
command -v zip >/dev/null 2>&1 || apt_install zip

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git -C "$TOP" log -1 --format=%ct 2>/dev/null || echo 1577836800)
fi
stamp=$(TZ=UTC date -d "@$SOURCE_DATE_EPOCH" +%Y%m%d%H%M.%S) || die "bad SOURCE_DATE_EPOCH '$SOURCE_DATE_EPOCH'"

for a in "$@"; do
	arch_setup "$a"
	bin=$OUT/$BIN_NAME
	zipf=$OUT/$BIN_NAME.zip
	[ -f "$bin" ] || die "$bin missing: run packaging/lambda/build-static.sh $ARCH"
	stage=$OUT/layer-$ARCH
	rm -rf "$stage" "$zipf.tmp"
	mkdir -p "$stage/extensions"
	cp "$bin" "$stage/extensions/pyroscope-lambda-extension"
	chmod 0755 "$stage/extensions" "$stage/extensions/pyroscope-lambda-extension"
	TZ=UTC touch -t "$stamp" "$stage/extensions/pyroscope-lambda-extension" "$stage/extensions"
	(cd "$stage" && TZ=UTC zip -q -X -r "$zipf.tmp" extensions) || die "zip failed for $ARCH"
	mv "$zipf.tmp" "$zipf"
	rm -rf "$stage"
	log "$zipf: $(wc -c <"$zipf") bytes (binary $(wc -c <"$bin") bytes)"
	unzip -Z "$zipf" | sed -n 's/^\(-[rwx-]*\) .* \(extensions\/.*\)$/    \1 \2/p' >&2
done
