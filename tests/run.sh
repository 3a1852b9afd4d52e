#!/bin/sh
# Runs every test: the C unit tests, then the Python integration tests,
# which start their own maitred and test upstream against a PostgreSQL and a
# Redis that this script starts (on loopback, under data/test).
#   MAITRED_TEST_PG_PORT, MAITRED_TEST_REDIS_PORT   ports (25432, 26379)
#   PYTEST_ARGS                                     extra pytest arguments
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
dir=${MAITRED_TEST_DIR:-$top/data/test}
pg_port=${MAITRED_TEST_PG_PORT:-25432}
redis_port=${MAITRED_TEST_REDIS_PORT:-26379}

stop_services() { sh deploy/dev/services.sh stop "$dir"; }
trap stop_services EXIT INT TERM
sh deploy/dev/services.sh start "$dir" "$pg_port" "$redis_port" >/dev/null

pg_url="postgresql://postgres@127.0.0.1:$pg_port"
psql "$pg_url/postgres" -qtAc "DROP DATABASE IF EXISTS maitred_unit" >/dev/null
psql "$pg_url/postgres" -qtAc "CREATE DATABASE maitred_unit" >/dev/null

export MAITRED_TEST_DATABASE_URL="$pg_url/maitred_unit"
export MAITRED_TEST_PG_URL="$pg_url"
export MAITRED_TEST_REDIS_URL="redis://127.0.0.1:$redis_port"
export MAITRED_TEST_REDIS_PORT="$redis_port"

echo "== unit tests"
build/unit-tests
if [ -x build-asan/unit-tests ]; then
	echo "== unit tests under AddressSanitizer and UndefinedBehaviorSanitizer"
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 build-asan/unit-tests
fi

echo "== integration tests"
# shellcheck disable=SC2086
/usr/bin/python3 -m pytest -q -p no:cacheprovider ${PYTEST_ARGS:-} tests/upstream tests/integration
sh tests/browser/run.sh
