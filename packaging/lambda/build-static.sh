#!/bin/sh
# build-static.sh -- owns the fully static (musl), stripped pyroscope-lambda-extension builds for Lambda.
#
#   sh packaging/lambda/build-static.sh [x86_64] [arm64]      (default: both)
#
# As root on Debian 12. Installs the build packages it lacks, derives deb-src entries
# from the machine's Debian sources, fetches Debian's source packages of OpenSSL,
# libevent, curl, json-c (and musl, for arm64) with `apt-get source`, builds them
# static into a cache outside the tree, keyed by source version, toolchain and
# recipe, then builds the project against them with the musl compiler:
#   x86_64  Debian's musl-gcc (musl-tools);
#   arm64   musl built from Debian's musl source with Debian's aarch64 cross gcc.
# Results: $OUT/pyroscope-lambda-extension-{x86_64,arm64} (OUT defaults to build-static/),
# stripped but for the symbols the self-profiler names frames with (symbol_args).
#
# Environment: PYROSCOPE_STATIC_CACHE (default ~/.cache/pyroscope-static),
# PYROSCOPE_STATIC_OUT (default <top>/build-static), PYROSCOPE_STATIC_JOBS (default 2).
set -eu
. "$(dirname "$0")/common.sh"

JOBS=${PYROSCOPE_STATIC_JOBS:-2}
# Where OpenSSL looks for openssl.cnf, cert.pem and certs/ by itself. Nothing is
# there on Lambda: no config file is read and the CA store comes from the
# cabundle probe (src/cabundle.c) or SSL_CERT_FILE/SSL_CERT_DIR.
OPENSSLDIR=/opt/pyroscope-lambda-extension/ssl

# ---- what is built, and how ----------------------------------------------------------
# Everything below is part of the dependency cache keys (a hash of it), so a change
# never reuses libraries built otherwise, in this checkout or any other sharing the cache.
#
# C flags of the dependencies and of the project: small code (-Os: the bulk crypto is
# OpenSSL's assembly either way, and relaying costs the same CPU as with -O2/-O3), each
# function and object in its own section for --gc-sections, and no unwind tables
# (nothing unwinds C code here: no C++, no backtraces). packaging/lambda/README.md has
# the measurements, and why there is no LTO.
BUILD_CFLAGS="-Os -pipe -fstack-protector-strong -ffunction-sections -fdata-sections
-fno-asynchronous-unwind-tables -fno-unwind-tables"
BUILD_LDFLAGS="-static -Wl,--gc-sections"
# OpenSSL: a TLS 1.2/1.3 client. Kept: ECDHE (X25519, X448, P-256, P-384, P-521),
# AES-GCM, ChaCha20-Poly1305, AES-CBC, SHA-1/2/3, RSA, RSA-PSS, ECDSA, Ed25519/Ed448,
# X.509 verification, the error strings. Dropped: everything else the relay never
# uses (other protocols and ciphers, DTLS, TLS < 1.2, FFDHE/DSA, engines, config
# loading, deprecated API, CMS/OCSP/CT/TS/CMP, SRP/PSK, multi-buffer code).
OPENSSL_CONFIG="no-shared no-dso no-module no-engine no-afalgeng no-legacy no-tests
no-ui-console no-deprecated no-autoload-config no-async no-secure-memory no-filenames
no-ssl3 no-ssl3-method no-tls1 no-tls1-method no-tls1_1 no-tls1_1-method no-dtls no-dgram
no-sctp no-srtp no-comp no-nextprotoneg no-psk no-srp no-ocsp no-ct no-cms no-cmp no-ts
no-rfc3779 no-dh no-dsa no-ec2m no-gost no-sm2 no-sm3 no-sm4 no-aria no-bf no-camellia
no-cast no-des no-idea no-md4 no-mdc2 no-rc2 no-rc4 no-rc5 no-rmd160 no-seed no-whirlpool
no-blake2 no-cmac no-ocb no-siv no-siphash no-scrypt no-multiblock no-weak-ssl-ciphers
no-ssl-trace enable-ec_nistp_64_gcc_128"
# Edits of OpenSSL's sources (in a copy of its tree, never in the shared one), one
# "FILE SED-SCRIPT" pair per line; each must change its file, or the build stops.
# - P-256 keeps the "nistz256" assembly (about three times faster than the C code on
#   an ECDSA verification) but not its 150 KB table of precomputed multiples of the
#   generator, which alone made the zip 135 KB larger: the generator is then handled
#   like any other point, by the same assembly.
# - The default provider offers only the algorithms a TLS 1.2/1.3 client, X.509
#   verification and the CTR DRBG use: fewer to construct and name on the first
#   handshake, and their code is left out. Gone: AES-192, AES in ECB/CTR (but the
#   DRBG's AES-256), CBC-CTS, OFB, CFB, XTS, CCM and key-wrap modes, plain ChaCha20,
#   SHA-3 and SHAKE-128 (SHAKE-256 stays for Ed448), KMAC and GMAC, the KDFs other
#   than HKDF, TLS 1.3's and TLS 1.2's, the hash and HMAC DRBGs and the test RNG;
#   the legacy names of those ciphers and digests; the key decoders but those of
#   public keys (SubjectPublicKeyInfo), the only ones certificates need.
# - The error strings are not loaded by the first SSL_CTX_new or error state, but
#   by src/tls.c when it first describes an OpenSSL error: the same text in the
#   log, and no hash of a few thousand strings in a relay that never fails.
# packaging/lambda/README.md has what each costs and saves.
OPENSSL_EDITS='crypto/ec/ecp_nistz256.c s/preComputedTable = ecp_nistz256_precomputed;/preComputedTable = NULL;/;s/if (generator != NULL \&\& ecp_nistz256_is_affine_G(generator)) {/if (0) {/
crypto/ec/asm/ecp_nistz256-x86_64.pl s/^while (@line=splice(@arr,0,16)) {$/while (0) {/
crypto/ec/asm/ecp_nistz256-armv8.pl s/^for(1\.\.37) {$/for(1..0) {/
providers/defltprov.c /PROV_NAMES_\(AES_192_[A-Z0-9_]*\|AES_128_ECB\|AES_[0-9]*_CTR\|AES_[0-9]*_CBC_CTS\|AES_[0-9]*_OFB\|AES_[0-9]*_CFB[18]*\|AES_[0-9]*_XTS\|AES_[0-9]*_CCM\|AES_[0-9]*_WRAP[A-Z_]*\|ChaCha20\|SHA3_[0-9]*\|SHAKE_128\|GMAC\|KMAC_[0-9]*\|KECCAK_KMAC_[0-9]*\|SSKDF\|PBKDF2\|PKCS12KDF\|SSHKDF\|X963KDF\|KBKDF\|X942KDF_ASN1\|KRB5KDF\|HASH_DRBG\|HMAC_DRBG\|TEST_RAND\),/{/AES_256_CTR,/b;/[)}],\? *$/!N;d}
providers/decoders.inc /^DECODER.*\(PrivateKeyInfo\|type_specific\|, der, \(EC\|RSA\|SM2\), \|msblob\|pvk\|pem, der\)/d
crypto/evp/c_allc.c /EVP_add_cipher(EVP_\(aes_192_[a-z0-9_]*\|aes_128_ecb\|aes_128_ctr\|aes_[0-9]*_\(cfb[18]\?\|ofb\|xts\|ccm\|wrap\|wrap_pad\)\|chacha20\)());/d;/EVP_add_cipher_alias(SN_\(id_aes[0-9]*_wrap\|aes_192_cbc\), /d
crypto/evp/c_alld.c /EVP_add_digest(EVP_\(sha3_[0-9]*\|shake128\)());/d
crypto/err/err.c /OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);/d
ssl/ssl_lib.c s/OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS, NULL)/OPENSSL_init_ssl(0, NULL)/
ssl/ssl_sess.c s/OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS, NULL)/OPENSSL_init_ssl(0, NULL)/'

# libevent: the relay uses its core, HTTP, DNS, OpenSSL bufferevents and pthreads.
LIBEVENT_CONFIG="--disable-shared --enable-static --enable-openssl --disable-samples
--disable-libevent-regress --disable-doxygen-doc --disable-dependency-tracking
--disable-debug-mode --disable-malloc-replacement"
# curl: the Lambda Extensions API client only: plain HTTP/1.1 to the local API (an
# address and port), no TLS, proxy, authentication, cookies, compression, other protocol.
CURL_CONFIG="--disable-shared --enable-static --disable-dependency-tracking
--without-ssl --without-zlib --without-brotli --without-zstd --without-libidn2
--without-libpsl --without-nghttp2 --without-nghttp3 --without-ngtcp2
--without-quiche --without-msh3 --without-librtmp --without-libssh2
--without-libssh --without-wolfssh --without-libgsasl --without-gssapi
--without-hyper --without-ca-bundle --without-ca-path --without-ca-fallback
--disable-ldap --disable-ldaps --disable-rtsp --disable-dict --disable-telnet
--disable-tftp --disable-pop3 --disable-imap --disable-smtp --disable-gopher
--disable-mqtt --disable-ftp --disable-file --disable-smb --disable-ntlm
--disable-ntlm-wb --disable-manual --disable-alt-svc --disable-hsts
--disable-websockets --disable-doh --disable-netrc --disable-proxy --disable-cookies
--disable-http-auth --disable-crypto-auth --disable-unix-sockets --disable-socketpair
--disable-verbose --disable-mime --disable-dateparse --disable-progress-meter
--disable-dnsshuffle --disable-get-easy-options --disable-headers-api
--disable-libcurl-option --disable-tls-srp"
JSONC_CONFIG="-DCMAKE_BUILD_TYPE=MinSizeRel -DBUILD_SHARED_LIBS=OFF -DBUILD_STATIC_LIBS=ON
-DBUILD_TESTING=OFF -DBUILD_APPS=OFF -DDISABLE_WERROR=ON -DDISABLE_EXTRA_LIBS=ON"
# Bump when the build functions below change in a way the options above do not show.
DEPS_RECIPE=r2

# optkey WORDS...: a short hash of build options, for cache keys.
optkey() { printf '%s\n' "$@" | tr -s ' \n\t' ' ' | sha256sum | cut -c1-10; }

# sanitize STRING: a string fit for a directory name.
sanitize() { printf '%s' "$1" | tr -c 'A-Za-z0-9._+-' '_'; }

# run_logged LOG CMD...: run CMD with its output in LOG; on failure show the end of LOG.
run_logged() {
	_log=$1; shift
	if ! "$@" >>"$_log" 2>&1; then
		log "command failed: $*"
		tail -25 "$_log" | cut -c1-300 | sed 's/^/    /' >&2
		log "full log: $_log"
		return 1
	fi
}

# autoreconf_if_patched DIR: regenerate the build system when Debian's patches change
# its inputs (configure.ac, Makefile.am, *.m4), as Debian's own build does. Once per tree.
autoreconf_if_patched() {
	[ -f "$1/.autoreconf-checked" ] && return 0
	if [ -d "$1/debian/patches" ] &&
	    grep -qhE '^\+\+\+ [^ ]*(configure\.ac|Makefile\.am|\.m4)([[:space:]]|$)' "$1"/debian/patches/*.patch 2>/dev/null; then
		log "autoreconf -fi in $1 (Debian patches change its build system)"
		(cd "$1" && nice -n 19 autoreconf -fi >"$1/.autoreconf.log" 2>&1) ||
			{ tail -20 "$1/.autoreconf.log" >&2; die "autoreconf -fi failed in $1"; }
	fi
	: >"$1/.autoreconf-checked"
}

# curl_openssl_flavour DIR: Debian's curl series ends with the GnuTLS and NSS
# flavour patches, which its debian/rules pops for the plain (OpenSSL) libcurl:
# do the same, so that the library is libcurl, not libcurl-nss. Once per tree.
curl_openssl_flavour() {
	[ -f "$1/.flavour-done" ] && return 0
	_last2=$(grep -v '^[[:space:]]*\(#\|$\)' "$1/debian/patches/series" | tail -2)
	case "$(printf '%s\n' "$_last2" | tr '\n' ' ')" in
	*gnutls*" "*nss*) ;;
	*) die "curl's patch series no longer ends with the gnutls and nss patches: check $1/debian/rules" ;;
	esac
	for _p in $(printf '%s\n' "$_last2" | tail -1) $(printf '%s\n' "$_last2" | head -1); do
		log "curl: reverting Debian's flavour patch $_p (as debian/rules does)"
		if ! (cd "$1" && patch -R -s -p1 <"debian/patches/$_p"); then
			rm -rf "${1%/tree}"	# fetched afresh next time
			die "cannot revert $_p in $1"
		fi
	done
	: >"$1/.flavour-done"
}

# ---- host preparation --------------------------------------------------------------

prepare_host() {
	[ -f /etc/debian_version ] || die "this script builds on Debian (12) only"
	# shellcheck disable=SC2086
	apt_install $STATIC_BUILD_PKGS
	ensure_deb_src
	mkdir -p "$CACHE" "$OUT"
}

fetch_all() {
	fetch_source openssl;  OPENSSL_SRC=$SRC_DIR;  OPENSSL_VER=$SRC_VERSION
	fetch_source libevent; LIBEVENT_SRC=$SRC_DIR; LIBEVENT_VER=$SRC_VERSION
	fetch_source curl;     CURL_SRC=$SRC_DIR;     CURL_VER=$SRC_VERSION
	fetch_source json-c;   JSONC_SRC=$SRC_DIR;    JSONC_VER=$SRC_VERSION
	fetch_source musl;     MUSL_SRC=$SRC_DIR;     MUSL_VER=$SRC_VERSION
	curl_openssl_flavour "$CURL_SRC"
	autoreconf_if_patched "$LIBEVENT_SRC"
	autoreconf_if_patched "$CURL_SRC"
}

# ---- toolchains --------------------------------------------------------------------

pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }

# toolchain: sets CC and TOOLKEY for the current ARCH. CC is a wrapper around a
# musl-targeting gcc that adds two header sets musl does not ship:
#  - the Linux UAPI headers (linux/, asm/, asm-generic/) from Debian's
#    linux-libc-dev packages, which OpenSSL needs;
#  - <sys/queue.h>, the BSD list macros the project uses: glibc's copy from the
#    host's libc6-dev, a self-contained, architecture-independent macro header.
toolchain() {
	case $ARCH in
	x86_64)
		_musl_gcc=/usr/bin/musl-gcc
		[ -x "$_musl_gcc" ] || die "$_musl_gcc missing: apt-get install musl-tools"
		_uapi=/usr/include _uapi_asm=/usr/include/x86_64-linux-gnu/asm
		TOOLKEY=$(sanitize "musl-$(pkgver musl-dev)_gcc-$(pkgver gcc)_uapi-$(pkgver linux-libc-dev)")
		;;
	arm64)
		_uapi=/usr/aarch64-linux-gnu/include _uapi_asm=/usr/aarch64-linux-gnu/include/asm
		TOOLKEY=$(sanitize "musl-${MUSL_VER}_xgcc-$(pkgver gcc-aarch64-linux-gnu)_uapi-$(pkgver linux-libc-dev-arm64-cross)")
		_p=$ARCH_CACHE/musl-$TOOLKEY-$RECIPE
		if [ ! -f "$_p/.done" ]; then
			step "musl $MUSL_VER for aarch64 (from Debian's source)" build_musl "$_p"
		fi
		_musl_gcc=$_p/bin/musl-gcc
		;;
	esac
	for _d in "$_uapi/linux" "$_uapi_asm" "$_uapi/asm-generic"; do
		[ -d "$_d" ] || die "Linux UAPI headers missing: $_d (linux-libc-dev / linux-libc-dev-arm64-cross)"
	done
	_tc=$ARCH_CACHE/toolchain-$TOOLKEY-$RECIPE
	[ -f "/usr/include/$(gcc -dumpmachine)/sys/queue.h" ] || die "sys/queue.h missing: apt-get install libc6-dev"
	mkdir -p "$_tc/uapi" "$_tc/compat/sys" "$_tc/bin"
	ln -sfn "/usr/include/$(gcc -dumpmachine)/sys/queue.h" "$_tc/compat/sys/queue.h"
	ln -sfn "$_uapi/linux" "$_tc/uapi/linux"
	ln -sfn "$_uapi_asm" "$_tc/uapi/asm"
	ln -sfn "$_uapi/asm-generic" "$_tc/uapi/asm-generic"
	CC=$_tc/bin/$TRIPLE-cc
	cat >"$CC.tmp" <<EOF
#!/bin/sh
# C compiler of the static $ARCH build: musl's gcc wrapper plus the Linux UAPI headers.
exec '$_musl_gcc' "\$@" -isystem '$_tc/uapi' -isystem '$_tc/compat'
EOF
	chmod 0755 "$CC.tmp" && mv "$CC.tmp" "$CC"
	# The smallest program, linked static, must run: catches a broken toolchain early.
	_t=$(mktemp -d)
	printf '#include <stdio.h>\n#include <linux/mman.h>\n#include <sys/queue.h>\nint main(void) { puts("ok"); return 0; }\n' >"$_t/t.c"
	"$CC" -static -o "$_t/t" "$_t/t.c" || die "$CC cannot link a static program"
	[ "$($QEMU "$_t/t")" = ok ] || die "a static program from $CC does not run${QEMU:+ under $QEMU}"
	rm -rf "$_t"
}

build_musl() {	# build_musl PREFIX
	_b=$ARCH_CACHE/build/musl
	rm -rf "$1" "$_b"; mkdir -p "$_b"
	_log=$ARCH_CACHE/logs/musl.log; mkdir -p "${_log%/*}"; : >"$_log"
	(cd "$_b" &&
	 run_logged "$_log" "$MUSL_SRC/configure" --prefix="$1" --syslibdir="$1/lib" \
		--target=aarch64-linux-musl --disable-shared --enable-wrapper=gcc \
		CROSS_COMPILE=aarch64-linux-gnu- CC=aarch64-linux-gnu-gcc CFLAGS="-O2 -pipe" &&
	 run_logged "$_log" nice -n 19 make -j"$JOBS" &&
	 run_logged "$_log" make install) || return 1
	[ -x "$1/bin/musl-gcc" ] && [ -f "$1/lib/musl-gcc.specs" ] || { log "musl-gcc wrapper not installed"; return 1; }
	rm -rf "$_b"
	: >"$1/.done"
}

# ---- dependencies ------------------------------------------------------------------

# write_pkgconfig FILE PREFIX...: a pkg-config that sees only PREFIX/lib/pkgconfig
# (never the host's .pc files) and always answers for static linking.
write_pkgconfig() {
	_f=$1; shift
	_dirs=""
	for _d in "$@"; do _dirs="$_dirs${_dirs:+:}$_d/lib/pkgconfig"; done
	mkdir -p "${_f%/*}"
	cat >"$_f.tmp" <<EOF
#!/bin/sh
# pkg-config for the static $ARCH build: the cached dependencies only, static answers.
PKG_CONFIG_LIBDIR='$_dirs' PKG_CONFIG_PATH= PKG_CONFIG_SYSROOT_DIR= exec pkg-config --static "\$@"
EOF
	chmod 0755 "$_f.tmp" && mv "$_f.tmp" "$_f"
}

# dep NAME KEY FUNC: build one dependency into $ARCH_CACHE/NAME-KEY unless it is
# there; sets DEP_PREFIX to that directory. FUNC PREFIX BUILDDIR LOG does the work.
dep() {
	_name=$1 _key=$(sanitize "$2") _fn=$3
	_prefix=$ARCH_CACHE/$_name-$_key
	DEP_PREFIX=$_prefix
	if [ -f "$_prefix/.done" ]; then
		log "$_name: cached ($_prefix)"
		return 0
	fi
	_b=$ARCH_CACHE/build/$_name
	_log=$ARCH_CACHE/logs/$_name.log
	rm -rf "$_prefix" "$_b"; mkdir -p "$_b" "${_log%/*}"; : >"$_log"
	step "$_name for $ARCH" "$_fn" "$_prefix" "$_b" "$_log"
	rm -rf "$_b"
	: >"$_prefix/.done"
}

host_args() { [ "$ARCH" = x86_64 ] || echo "--host=$TRIPLE"; }

# openssl_tree DIR: a copy of OpenSSL's source tree in DIR (hard links where it can)
# with OPENSSL_EDITS applied; dies when an edit no longer changes its file.
openssl_tree() {
	cp -al "$OPENSSL_SRC" "$1" 2>/dev/null || { rm -rf "$1"; cp -a "$OPENSSL_SRC" "$1"; } ||
		die "cannot copy $OPENSSL_SRC"
	printf '%s\n' "$OPENSSL_EDITS" | while read -r _f _script; do
		rm -f "$1/$_f"
		sed -e "$_script" "$OPENSSL_SRC/$_f" >"$1/$_f" || die "cannot write $1/$_f"
		! cmp -s "$OPENSSL_SRC/$_f" "$1/$_f" ||
			die "OpenSSL's $_f changed: its edit in OPENSSL_EDITS no longer applies"
	done
}

build_openssl() {	# PREFIX BUILD LOG
	openssl_tree "$2/src"
	# shellcheck disable=SC2086
	(mkdir -p "$2/build" && cd "$2/build" &&
	 run_logged "$3" env CC="$CC" AR="$AR" RANLIB="$RANLIB" nice -n 19 perl "$2/src/Configure" \
		"$OPENSSL_TARGET" --prefix="$1" --libdir=lib --openssldir="$OPENSSLDIR" \
		$OPENSSL_CONFIG $BUILD_CFLAGS &&
	 run_logged "$3" nice -n 19 make -j"$JOBS" build_libs &&
	 run_logged "$3" make install_dev)
}

build_libevent() {	# PREFIX BUILD LOG
	write_pkgconfig "$2/bin/pkg-config" "$PREFIX_openssl"
	# shellcheck disable=SC2046,SC2086
	(cd "$2" &&
	 run_logged "$3" nice -n 19 "$LIBEVENT_SRC/configure" $(host_args) --prefix="$1" \
		$LIBEVENT_CONFIG CC="$CC" AR="$AR" RANLIB="$RANLIB" \
		PKG_CONFIG="$2/bin/pkg-config" CFLAGS="$(echo $BUILD_CFLAGS)" &&
	 run_logged "$3" nice -n 19 make -j"$JOBS" &&
	 run_logged "$3" make install)
}

build_curl() {	# PREFIX BUILD LOG
	# shellcheck disable=SC2046,SC2086
	(cd "$2" &&
	 run_logged "$3" nice -n 19 "$CURL_SRC/configure" $(host_args) --prefix="$1" \
		$CURL_CONFIG CC="$CC" AR="$AR" RANLIB="$RANLIB" PKG_CONFIG=/bin/false \
		CFLAGS="$(echo $BUILD_CFLAGS)" &&
	 run_logged "$3" nice -n 19 make -j"$JOBS" -C lib &&
	 run_logged "$3" make -C lib install &&
	 run_logged "$3" make -C include install &&
	 run_logged "$3" make install-pkgconfigDATA install-binSCRIPTS)
}

build_jsonc() {	# PREFIX BUILD LOG
	_cross=""
	[ "$ARCH" = x86_64 ] || _cross="-DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=$CMAKE_PROC"
	# shellcheck disable=SC2086
	run_logged "$3" nice -n 19 cmake -S "$JSONC_SRC" -B "$2" -G "Unix Makefiles" $_cross \
		-DCMAKE_C_COMPILER="$CC" -DCMAKE_AR="$(command -v "$AR")" \
		-DCMAKE_RANLIB="$(command -v "$RANLIB")" $JSONC_CONFIG \
		-DCMAKE_C_FLAGS="$(echo $BUILD_CFLAGS)" \
		-DCMAKE_INSTALL_PREFIX="$1" -DCMAKE_INSTALL_LIBDIR=lib &&
	run_logged "$3" nice -n 19 cmake --build "$2" -j "$JOBS" &&
	run_logged "$3" cmake --install "$2"
}

# deps: every dependency, each in a cache directory named after its source version,
# the toolchain and a hash of the options it is built with (libevent's also covers
# OpenSSL's, whose headers it is built against).
deps() {
	_sfx="$TOOLKEY-$DEPS_RECIPE"
	_cflags=$(optkey "$BUILD_CFLAGS")
	_ossl=$(optkey "$_cflags" "$OPENSSL_CONFIG" "$OPENSSL_EDITS" "$OPENSSLDIR")
	dep openssl "$OPENSSL_VER-$_sfx-$_ossl" build_openssl;	PREFIX_openssl=$DEP_PREFIX
	dep libevent "$LIBEVENT_VER-$_sfx-$(optkey "$_cflags" "$LIBEVENT_CONFIG" "$_ossl")" \
		build_libevent;					PREFIX_libevent=$DEP_PREFIX
	dep curl "$CURL_VER-$_sfx-$(optkey "$_cflags" "$CURL_CONFIG")" build_curl;	PREFIX_curl=$DEP_PREFIX
	dep json-c "$JSONC_VER-$_sfx-$(optkey "$_cflags" "$JSONC_CONFIG")" build_jsonc;	PREFIX_json_c=$DEP_PREFIX
	PKGCONF=$ARCH_CACHE/pkg-config/$(optkey "$PREFIX_openssl" "$PREFIX_libevent" "$PREFIX_curl" "$PREFIX_json_c")/pkg-config
	write_pkgconfig "$PKGCONF" "$PREFIX_openssl" "$PREFIX_libevent" "$PREFIX_curl" "$PREFIX_json_c"
}

# ---- the project's sources ---------------------------------------------------------

# The static builds never use the checkout itself: it may be configured in the tree
# (configure then refuses a VPATH build from it) and is the user's. They build from
# $OUT/src, a copy of the sources kept in step with it, taken from the first of:
#   PYROSCOPE_STATIC_SRC  a clean source tree with configure (make static/layer pass
#                         their `make distdir`);
#   a git checkout        the tracked and untracked, not ignored files of the working
#                         tree as they are, then autoreconf -fi in the copy;
#   a configured tree     `make distdir` there (an unpacked release tarball);
#   anything else         the tree's files, without the static output and any build
#                         directory in it (autoreconf -fi when it has no configure).
# Only files whose contents changed are copied, so a rebuild recompiles what changed.

# stage_sources DIR: write a clean copy of the sources into DIR (removed first).
stage_sources() {
	rm -rf "$1"; mkdir -p "$1"
	if [ -n "${PYROSCOPE_STATIC_SRC:-}" ]; then
		[ -x "$PYROSCOPE_STATIC_SRC/configure" ] ||
			die "PYROSCOPE_STATIC_SRC=$PYROSCOPE_STATIC_SRC holds no configure script"
		log "sources: $PYROSCOPE_STATIC_SRC"
		(cd "$PYROSCOPE_STATIC_SRC" && tar -cf - .) | (cd "$1" && tar -xf -)
	elif [ -e "$TOP/.git" ] && command -v git >/dev/null 2>&1 &&
	    git -C "$TOP" rev-parse --show-toplevel >/dev/null 2>&1; then
		log "sources: the files git lists in $TOP (working tree, uncommitted changes included)"
		(cd "$TOP" && git ls-files --cached --others --exclude-standard |
			while IFS= read -r _f; do
				[ -f "$_f" ] && printf '%s\n' "$_f"
			done | tar -cf - -T -) | (cd "$1" && tar -xf -) || return 1
		run_logged "$1.autoreconf.log" sh -c 'cd "$1" && autoreconf -fi && rm -rf autom4te.cache' sh "$1" ||
			return 1
		rm -f "$1.autoreconf.log"
	elif [ -f "$TOP/config.status" ] && [ -f "$TOP/Makefile" ]; then
		log "sources: make distdir in $TOP"
		rmdir "$1"
		run_logged "$1.distdir.log" make -C "$TOP" distdir distdir="$1" || return 1
		rm -f "$1.distdir.log"
	else
		log "sources: the files in $TOP"
		# Leave out the static output and every directory configured as a build tree.
		(cd "$TOP" && find . \( -path "./${OUT#"$TOP"/}" -o -type d -exec test -f '{}/config.status' ';' \) -prune \
			-o ! -type d -print | tar -cf - -T -) | (cd "$1" && tar -xf -) || return 1
		if [ ! -x "$1/configure" ]; then
			run_logged "$1.autoreconf.log" sh -c 'cd "$1" && autoreconf -fi && rm -rf autom4te.cache' sh "$1" ||
				return 1
			rm -f "$1.autoreconf.log"
		fi
	fi
	[ -x "$1/configure" ] || { log "no configure script in the copy of the sources"; return 1; }
}

# sync_sources FROM TO: make TO hold FROM's files: changed or new ones copied (with a
# new time stamp, so make sees them), the others left alone, vanished ones removed.
# When the build system changed, its generated files are stamped after its inputs
# (nothing is regenerated in TO) and SOURCES_RECONFIGURE is set.
sync_sources() {
	SOURCES_RECONFIGURE=
	mkdir -p "$2"
	_changed=$( (cd "$1" && find . -type f) | while IFS= read -r _f; do
		cmp -s "$1/$_f" "$2/$_f" && continue
		mkdir -p "$(dirname "$2/$_f")" && rm -f "$2/$_f" && cp "$1/$_f" "$2/$_f" || exit 1
		printf '%s\n' "$_f"
	done) || die "cannot copy the sources from $1 to $2"
	(cd "$2" && find . -type f) | while IFS= read -r _f; do
		[ -f "$1/$_f" ] || rm -f "$2/$_f"
	done
	[ -n "$_changed" ] || return 0
	log "sources: $(printf '%s\n' "$_changed" | grep -c .) file(s) changed in $2"
	if printf '%s\n' "$_changed" | grep -qE '^\./(configure|configure\.ac|Makefile\.(am|in)|aclocal\.m4|config\.h\.in|m4/.*|build-aux/.*)$'; then
		SOURCES_RECONFIGURE=1
		(cd "$2" && touch aclocal.m4 && touch configure config.h.in Makefile.in)
	fi
}

sources() {
	SRC=$OUT/src
	stage_sources "$OUT/src.new" || die "cannot make a clean copy of the sources in $OUT/src.new"
	sync_sources "$OUT/src.new" "$SRC"
	rm -rf "$OUT/src.new"
}

# ---- the project -------------------------------------------------------------------

# map_sizes MAP: what each archive (or the loose objects) puts into the binary,
# from the linker map: bytes of kept input sections, all and code (.text) only,
# sorted by size. Sections that take no file space (.bss, .tbss) and the
# non-allocated ones (.comment, debug) are left out.
map_sizes() {
	awk '
	function hex(h,   i, v) {
		v = 0; h = tolower(substr(h, 3))
		for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
		return v
	}
	function lib(f,   n, parts) {
		if (f !~ /\.a\(/) return "(objects)"
		sub(/\(.*/, "", f); n = split(f, parts, "/"); return parts[n]
	}
	/^Linker script and memory map/ { on = 1; next }
	!on { next }
	/^\.[^ ]*/ { out = $1 }
	{
		line = $0
		if (pending != "") { line = pending " " line; pending = "" }
		n = split(line, a, /[ \t]+/)
		# A long input section name stands alone; address, size and file follow.
		if (n == 2 && a[1] == "" && a[2] ~ /^\./) { pending = line; next }
		if (a[1] == "") { for (i = 1; i < n; i++) a[i] = a[i + 1]; n-- }
		if (n != 4 || a[1] !~ /^\./ || a[2] !~ /^0x/ || a[3] !~ /^0x/) next
		if (out ~ /^\.(bss|tbss|comment|debug|note\.GNU-stack|gnu\.)/) next
		sz = hex(a[3]); l = lib(a[4]); all[l] += sz; total += sz
		if (out ~ /^\.text/) code[l] += sz
	}
	END {
		for (l in all) printf "%-24s %9d %9d\n", l, all[l], code[l] | "sort -k2,2nr"
		close("sort -k2,2nr")
		printf "%-24s %9d\n", "total", total
	}' "$1"
}

# symbol_args BINARY MAP: the objcopy options that give the stripped binary the symbols
# the self-profiler names frames with (src/symtab.c): each function of the relay's own
# code, and a marker where the code of each library (or of the C runtime's objects)
# begins, "[libcrypto]" and the like, which names that code up to the next marker (the
# libraries' own 7,900 function symbols would add 350 KB). From the linker map: the
# input sections of .text and the file each comes from (the relay's: librelay.a and the
# objects named by a relative path); from nm: the relay's functions, by address.
# Each is a size-0 function symbol relative to .text (it ends at the next symbol).
symbol_args() {
	_text=$(awk '/^Linker script and memory map/ { on = 1 } on && /^\.text[ \t]/ && $2 ~ /^0x/ { print $2; exit }' "$2")
	[ -n "$_text" ] || { log "no .text in $2"; return 1; }
	"$NM" -n --defined-only "$1" | awk -v map="$2" -v text="$_text" '
	function hex(h,   i, v) {
		v = 0; h = tolower(h); sub(/^0x/, "", h)
		for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
		return v
	}
	function owner(f,   n, parts) {
		if (f !~ /\.a\(/) return f ~ /^\// ? "[crt]" : "relay"
		sub(/\(.*/, "", f); n = split(f, parts, "/"); f = parts[n]; sub(/\.a$/, "", f)
		return f == "librelay" ? "relay" : "[" f "]"
	}
	BEGIN {
		base = hex(text)
		while ((getline line < map) > 0) {
			if (line ~ /^Linker script and memory map/) on = 1
			if (!on) continue
			if (line ~ /^\.text[ \t]/) { intext = 1; continue }
			if (line ~ /^\./) intext = 0
			if (!intext) continue
			if (pending != "") { line = pending " " line; pending = "" }
			n = split(line, a, /[ \t]+/)
			if (n == 2 && a[1] == "" && a[2] ~ /^\./) { pending = line; continue }
			if (a[1] == "") { for (i = 1; i < n; i++) a[i] = a[i + 1]; n-- }
			if (n != 4 || a[1] !~ /^\./ || a[2] !~ /^0x/ || a[3] !~ /^0x/ || hex(a[3]) == 0) continue
			lo = hex(a[2]); o = owner(a[4])
			if (o == "relay") { rlo[++nr] = lo; rhi[nr] = lo + hex(a[3]) }
			if (o != last) { mark[++nm] = lo; mname[nm] = (o == "relay" ? "[relay]" : o); last = o }
		}
		for (i = 1; i <= nm; i++)
			printf "--add-symbol %s=.text:0x%x,function,local\n", mname[i], mark[i] - base
	}
	$2 ~ /^[Tt]$/ {
		v = hex($1)
		while (r <= nr && (r == 0 || rhi[r] <= v)) r++
		if (r <= nr && rlo[r] <= v && v < rhi[r])
			printf "--add-symbol %s=.text:0x%x,function,local\n", $3, v - base
	}'
}

# hot_ldscript FILE: the linker's own script for this static link, with the functions of
# packaging/lambda/hot-text.txt first in .text, in its order (hot-text.sh says why).
hot_ldscript() {
	# shellcheck disable=SC2086
	"$CC" $BUILD_LDFLAGS -Wl,--verbose -x c /dev/null -o /dev/null 2>/dev/null | awk -v hot="$SRC/packaging/lambda/hot-text.txt" '
		/^=====/ { inside = !inside; next }
		!inside { next }
		/^ *\*\(\.text\.unlikely / && !done {
			while ((getline f < hot) > 0)
				if (f !~ /^#/ && f != "")
					printf "    *(.text.%s)\n", f
			done = 1
		}
		{ print }
		END { exit !done }' >"$1"
}

project() {
	_b=$OUT/build-$ARCH
	_cflags=$(echo $BUILD_CFLAGS)
	_ldflags="$BUILD_LDFLAGS $_cflags -Wl,-T,$_b/hot-text.ld -Wl,-Map=pyroscope-lambda-extension.map"
	_key="$CC $PKGCONF $RECIPE $SRC $_cflags $_ldflags"
	if [ -f "$_b/.static-key" ] && [ "$(cat "$_b/.static-key")" != "$_key" ]; then
		log "dependencies or flags changed: configuring $_b afresh"
		rm -rf "$_b"
	elif [ -n "$SOURCES_RECONFIGURE" ] && [ -d "$_b" ]; then
		log "the build system changed: configuring $_b afresh"
		rm -rf "$_b"
	fi
	mkdir -p "$_b"
	hot_ldscript "$_b/hot-text.ld" || die "cannot write the linker script $_b/hot-text.ld"
	_log=$_b/build.log
	: >"$_log"
	if [ ! -f "$_b/Makefile" ]; then
		# shellcheck disable=SC2046
		(cd "$_b" && run_logged "$_log" nice -n 19 "$SRC/configure" $(host_args) \
			CC="$CC" AR="$AR" RANLIB="$RANLIB" PKG_CONFIG="$PKGCONF" \
			CFLAGS="$_cflags" LDFLAGS="$_ldflags") || die "configure failed for $ARCH (log: $_log)"
		printf '%s\n' "$_key" >"$_b/.static-key"
	fi
	# test_calookup too: check-static.sh runs it to try the static OpenSSL's TLS
	# (versions, suites, groups, certificate types) against real servers.
	# Every link writes pyroscope-lambda-extension.map: the relay is linked last, so that the
	# map is its own (symbol_args and map_sizes read it).
	(cd "$_b" && run_logged "$_log" nice -n 19 make -j"$JOBS" pyroscope-lambda-extension \
		tests/unit/test_calookup && rm -f pyroscope-lambda-extension &&
		run_logged "$_log" nice -n 19 make pyroscope-lambda-extension) || die "make failed for $ARCH (log: $_log)"
	# Stripped, but for the relay's functions and the libraries' markers (symbol_args).
	symbol_args "$_b/pyroscope-lambda-extension" "$_b/pyroscope-lambda-extension.map" >"$_b/symbols.args" &&
		[ -s "$_b/symbols.args" ] || die "cannot list the symbols to keep of $_b/pyroscope-lambda-extension"
	# shellcheck disable=SC2046  # one option a line, no spaces in them
	"$OBJCOPY" --strip-all $(cat "$_b/symbols.args") "$_b/pyroscope-lambda-extension" "$OUT/$BIN_NAME.tmp" &&
		chmod 0755 "$OUT/$BIN_NAME.tmp" && mv "$OUT/$BIN_NAME.tmp" "$OUT/$BIN_NAME" ||
		die "cannot strip $_b/pyroscope-lambda-extension"
	log "$OUT/$BIN_NAME: kept $(grep -c '^--add-symbol \[' "$_b/symbols.args") library markers and $(grep -vc '^--add-symbol \[' "$_b/symbols.args") functions of the relay for the self-profiler"
	if readelf -l "$OUT/$BIN_NAME" | grep -q INTERP || readelf -d "$OUT/$BIN_NAME" | grep -q NEEDED; then
		die "$OUT/$BIN_NAME is not static"
	fi
	_v=$($QEMU "$OUT/$BIN_NAME" --version) || die "$OUT/$BIN_NAME --version failed${QEMU:+ under $QEMU}"
	map_sizes "$_b/pyroscope-lambda-extension.map" >"$OUT/$BIN_NAME.sizes"
	log "$OUT/$BIN_NAME: $(wc -c <"$OUT/$BIN_NAME") bytes, '$_v'; by library (bytes, code bytes):"
	sed 's/^/    /' "$OUT/$BIN_NAME.sizes" >&2
}

# ---- main --------------------------------------------------------------------------

[ $# -gt 0 ] || set -- x86_64 arm64
for a in "$@"; do arch_setup "$a"; done	# validate before any work
T_ALL=$(date +%s)
prepare_host
mkdir -p "$CACHE"
# One build at a time per cache: a second one waits (bounded) for the first.
exec 9>"$CACHE/.lock"
flock -w 7200 9 || die "another build holds $CACHE/.lock"
step "Debian source packages" fetch_all
step "a clean copy of the sources in $OUT/src" sources
for a in "$@"; do
	arch_setup "$a"
	T_ARCH=$(date +%s)
	toolchain
	deps
	step "pyroscope-lambda-extension for $ARCH" project
	log "$ARCH: $(( $(date +%s) - T_ARCH ))s"
done
log "all done in $(( $(date +%s) - T_ALL ))s; binaries in $OUT"
