#!/bin/sh
# Installs the Debian 12 packages maitred builds, runs and is tested with.
# As root it installs them; otherwise it prints the apt-get line to run.
set -eu
BUILD="build-essential pkg-config libmicrohttpd-dev libcurl4-openssl-dev libpq-dev libhiredis-dev libjansson-dev"
RUN="postgresql postgresql-contrib redis-server"
TEST="python3 python3-pytest python3-yaml nginx prometheus faketime curl chromium"
case "${1:-run}" in
run) wanted="$BUILD $RUN" ;;
test) wanted="$BUILD $RUN $TEST" ;;
*) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

missing=""
for p in $wanted; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# The browser test needs Node.js with npm; machines that ship their own
# build of it keep it, others get Debian's.
if [ "${1:-run}" = test ] && ! command -v npm >/dev/null 2>&1; then
	missing="$missing nodejs npm"
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "maitred needs these Debian packages; install them with:" >&2
	echo "  sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
# Debian starts the packaged services; maitred's scripts run their own.
for s in postgresql redis-server nginx prometheus; do
	service "$s" stop >/dev/null 2>&1 || true
done
