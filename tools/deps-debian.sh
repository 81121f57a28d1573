#!/bin/sh
# deps-debian.sh -- install what the build, the demo and the tests need (Debian 12, as root).
set -eu
pkgs="gcc make autoconf automake libtool pkg-config libevent-dev libjson-c-dev
libcurl4-openssl-dev libssl-dev openssl curl ca-certificates valgrind procps iproute2 systemd"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing:$missing"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
