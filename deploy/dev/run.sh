#!/bin/sh
# `make run`: starts a PostgreSQL and a Redis of its own under data/dev in
# the checkout and runs maitred on them on port 8000 (PORT overrides), with
# the offline agent unless OPENAI_API_KEY is set. Ctrl-C stops everything.
set -eu
cd "$(dirname "$0")/../.."
dir=$(pwd)/data/dev
pg_port=${DEV_PG_PORT:-5433}
redis_port=${DEV_REDIS_PORT:-6380}

stop_services() { sh deploy/dev/services.sh stop "$dir"; }
trap stop_services EXIT INT TERM
sh deploy/dev/services.sh start "$dir" "$pg_port" "$redis_port" >/dev/null

# A development run listens on loopback unless HOST says otherwise.
export HOST="${HOST:-127.0.0.1}"
export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:$pg_port/maitred}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:$redis_port/0}"
echo "maitred on http://$HOST:${PORT:-8000}/ (admin on ${ADMIN_LISTEN:-127.0.0.1:9000}); Ctrl-C stops it"
./maitred "$@" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid; stop_services' INT TERM
wait $pid
