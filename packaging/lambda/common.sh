# common.sh -- shared settings and helpers of the static build and layer scripts (sourced, never run).
# Defines: TOP CACHE OUT RECIPE, log/die/step, need_root, apt_install, ensure_deb_src,
# fetch_source, arch_setup. Every apt and download step is bounded by `timeout`.
# shellcheck disable=SC2034  # the variables set here are used by the scripts that source it

TOP=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${PYROSCOPE_STATIC_CACHE:-${HOME:-/root}/.cache/pyroscope-static}
OUT=${PYROSCOPE_STATIC_OUT:-$TOP/build-static}
# Bump when a dependency recipe below changes: it is part of every cache key.
RECIPE=r1
PROG=$(basename "$0")
APT_TIMEOUT=${PYROSCOPE_APT_TIMEOUT:-900}
DEB_SRC_FILE=/etc/apt/sources.list.d/pyroscope-static-src

# The packages the static build, the layers and their checks need (Debian 12).
STATIC_BUILD_PKGS="gcc libc6-dev make perl cmake pkg-config dpkg-dev patch autoconf automake
libtool musl-tools musl-dev linux-libc-dev gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu
linux-libc-dev-arm64-cross qemu-user-static zip unzip util-linux openssl"

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

# step NAME CMD...: run CMD, log how long it took, die naming the step if it fails.
step() {
	_name=$1; shift
	_t0=$(date +%s)
	log "$_name ..."
	"$@" || die "$_name failed (see the output above)"
	log "$_name: done in $(( $(date +%s) - _t0 ))s"
}

need_root() {
	[ "$(id -u)" -eq 0 ] || die "run as root: $1"
}

# apt_install PKG...: install the packages that are missing (apt-get update first, once).
APT_UPDATED=
apt_install() {
	_missing=""
	for _p in "$@"; do
		dpkg-query -W -f='${Status}' "$_p" 2>/dev/null | grep -q 'install ok installed' ||
			_missing="$_missing $_p"
	done
	[ -z "$_missing" ] && return 0
	need_root "installing$_missing"
	log "installing:$_missing"
	if [ -z "$APT_UPDATED" ]; then
		timeout "$APT_TIMEOUT" apt-get update -qq || die "apt-get update failed or timed out"
		APT_UPDATED=1
	fi
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive timeout "$APT_TIMEOUT" \
		apt-get install -y -qq --no-install-recommends $_missing >/dev/null ||
		die "apt-get install$_missing failed or timed out"
}

# deb_src_entries: deb-src entries equivalent to the machine's Debian "deb" entries.
# deb822 stanzas (*.sources) are copied with "Types: deb-src"; one-line entries
# (sources.list, *.list) get "deb-src". Only archives under a /debian path (the
# Debian archive, its security archive, snapshots, mirrors) are kept; stanzas that
# already carry deb-src, or are disabled, are left out. Prints "SOURCES" then the
# deb822 text, "LIST" then the one-line text.
deb_src_entries() {
	echo SOURCES
	for _f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$_f" ] && [ "$_f" != "$DEB_SRC_FILE.sources" ] || continue
		awk '
		function flush(   i) {
			if (n > 0 && types ~ /(^|[ \t])deb([ \t]|$)/ && types !~ /deb-src/ &&
			    uris ~ /\/debian/ && tolower(enabled) != "no") {
				print "Types: deb-src"
				for (i = 1; i <= n; i++) print lines[i]
				print ""
			}
			n = 0; types = ""; uris = ""; enabled = ""
		}
		/^#/ { next }
		/^[ \t]*$/ { flush(); next }
		{
			key = tolower($1)
			if (key == "types:") { types = $0; next }
			if (key == "uris:") uris = $0
			if (key == "enabled:") enabled = $2
			lines[++n] = $0
		}
		END { flush() }' "$_f"
	done
	echo LIST
	for _f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$_f" ] && [ "$_f" != "$DEB_SRC_FILE.list" ] || continue
		awk '$1 == "deb" && $0 ~ /\/debian/ { $1 = "deb-src"; print }' "$_f"
	done
}

# ensure_deb_src: write the deb-src entries into files this script owns and
# run apt-get update when they changed (or when no source index is there yet).
ensure_deb_src() {
	_tmp=$(mktemp -d)
	deb_src_entries >"$_tmp/all"
	sed -n '/^SOURCES$/,/^LIST$/p' "$_tmp/all" | sed '1d;$d' >"$_tmp/sources"
	sed -n '/^LIST$/,$p' "$_tmp/all" | sed '1d' >"$_tmp/list"
	if ! grep -q . "$_tmp/sources" && ! grep -q . "$_tmp/list"; then
		rm -rf "$_tmp"
		die "no Debian 'deb' entry found in /etc/apt/sources.list or /etc/apt/sources.list.d/ to derive deb-src from"
	fi
	_changed=
	for _kind in sources list; do
		_dst=$DEB_SRC_FILE.$_kind
		if grep -q . "$_tmp/$_kind"; then
			if ! cmp -s "$_tmp/$_kind" "$_dst" 2>/dev/null; then
				need_root "writing $_dst"
				{ echo "# Written by packaging/lambda (pyroscope-lambda-extension): Debian source"
				  echo "# packages for the static build, derived from this machine's deb entries."
				  cat "$_tmp/$_kind"; } >"$_tmp/$_kind.new"
				cmp -s "$_tmp/$_kind.new" "$_dst" 2>/dev/null || {
					cp "$_tmp/$_kind.new" "$_dst" && chmod 0644 "$_dst" && _changed=1
				}
			fi
		elif [ -e "$_dst" ]; then
			need_root "removing $_dst"
			rm -f "$_dst"; _changed=1
		fi
	done
	rm -rf "$_tmp"
	if [ -n "$_changed" ] || ! apt-cache showsrc openssl 2>/dev/null | grep -q '^Package:'; then
		need_root "apt-get update"
		log "apt-get update (deb-src entries in $DEB_SRC_FILE.*)"
		timeout "$APT_TIMEOUT" apt-get update -qq || die "apt-get update failed or timed out"
		APT_UPDATED=1
	fi
	apt-cache showsrc openssl 2>/dev/null | grep -q '^Package:' ||
		die "apt-get knows no source packages even after writing $DEB_SRC_FILE.*"
}

# source_versions PKG: the versions of source package PKG the indexes list, the
# one `apt-get source PKG` would fetch first, then the others, newest first (no epochs).
source_versions() {
	{
		timeout 120 apt-get source --print-uris -qq "$1" 2>/dev/null |
			sed -n "s/^'[^']*' $1_\(.*\)\.dsc .*/\1/p" | head -1
		apt-cache showsrc "$1" 2>/dev/null | awk -v p="$1" '
			$1 == "Package:" { ok = ($2 == p) }
			ok && $1 == "Version:" { v = $2; sub(/^[0-9]+:/, "", v); print v }' | sort -rV
	} | awk '!seen[$0]++'
}

# fetch_source PKG: download and unpack Debian's source package PKG (patches
# applied) into $CACHE/src/PKG_VERSION/ once. Sets SRC_VERSION and SRC_DIR.
# A version whose files the mirror does not serve (seen here: the security
# archive's newest OpenSSL .dsc answering 404) is skipped with a warning for the
# next one listed, and not tried again for a day; PYROSCOPE_STATIC_STRICT_SOURCES=1
# makes that an error instead.
fetch_source() {
	_versions=$(source_versions "$1")
	[ -n "$_versions" ] || die "apt-get source $1: no source version found (deb-src entries missing?)"
	for SRC_VERSION in $_versions; do
		_base=$CACHE/src/$1_$SRC_VERSION
		SRC_DIR=$_base/tree
		[ -f "$_base/.done" ] && return 0
		# A version that failed to download within the last day is not tried again.
		if [ -z "${PYROSCOPE_STATIC_STRICT_SOURCES:-}" ] &&
		    [ -n "$(find "$_base.unavailable" -mmin -1440 2>/dev/null)" ]; then
			log "$1=$SRC_VERSION: not served by the mirror at the last try (see $_base.unavailable); skipped"
			continue
		fi
		rm -rf "$_base" "$_base.tmp"
		mkdir -p "$_base.tmp"
		log "apt-get source $1=$SRC_VERSION"
		if (cd "$_base.tmp" && timeout "$APT_TIMEOUT" apt-get source -qq \
			-o APT::Sandbox::User=root "$1=$SRC_VERSION" >"$_base.tmp/apt.log" 2>&1); then
			_dir=$(find "$_base.tmp" -mindepth 1 -maxdepth 1 -type d | head -1)
			[ -n "$_dir" ] || die "apt-get source $1 left no unpacked directory"
			# Keep the unpacked tree only: the downloaded archives are not needed again.
			mv "$_dir" "$_base.tmp/tree" &&
				find "$_base.tmp" -mindepth 1 -maxdepth 1 -type f ! -name apt.log -delete &&
				mv "$_base.tmp" "$_base" && : >"$_base/.done" || die "cannot store $_base"
			return 0
		fi
		sed 's/^/    /' "$_base.tmp/apt.log" | grep -v '^ *$' | tail -5 >&2
		if [ -n "${PYROSCOPE_STATIC_STRICT_SOURCES:-}" ]; then
			rm -rf "$_base.tmp"
			die "apt-get source $1=$SRC_VERSION failed and PYROSCOPE_STATIC_STRICT_SOURCES is set: no older version"
		fi
		log "warning: apt-get source $1=$SRC_VERSION failed (above); trying an older version"
		cp "$_base.tmp/apt.log" "$_base.unavailable"
		rm -rf "$_base.tmp"
	done
	die "apt-get source $1: no listed version could be fetched ($(printf "%s" "$_versions" | tr "\n" " "))"
}

# arch_setup ARCH: per-target settings. ARCH is x86_64 or arm64.
arch_setup() {
	ARCH=$1
	case $ARCH in
	x86_64)
		TRIPLE=x86_64-linux-musl
		OPENSSL_TARGET=linux-x86_64
		CMAKE_PROC=x86_64
		ELF_MACHINE="Advanced Micro Devices X86-64"
		STRIP=strip AR=ar RANLIB=ranlib OBJCOPY=objcopy NM=nm
		QEMU=""
		;;
	arm64|aarch64)
		ARCH=arm64
		TRIPLE=aarch64-linux-musl
		OPENSSL_TARGET=linux-aarch64
		CMAKE_PROC=aarch64
		ELF_MACHINE="AArch64"
		STRIP=aarch64-linux-gnu-strip AR=aarch64-linux-gnu-ar RANLIB=aarch64-linux-gnu-ranlib
		OBJCOPY=aarch64-linux-gnu-objcopy NM=aarch64-linux-gnu-nm
		QEMU=qemu-aarch64-static
		;;
	*)
		die "unknown architecture '$1' (x86_64 or arm64)"
		;;
	esac
	ARCH_CACHE=$CACHE/$ARCH
	BIN_NAME=pyroscope-lambda-extension-$ARCH
}
