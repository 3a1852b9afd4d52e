#!/bin/sh
# Starts or stops a private PostgreSQL and Redis for development and tests.
#   services.sh start DIR PG_PORT REDIS_PORT   (prints the two URLs)
#   services.sh stop DIR
# Both listen on 127.0.0.1 only. PostgreSQL refuses to run as root, so as
# root it runs as the postgres user; when that user cannot write under DIR
# (a checkout under /root, say) its data goes under /tmp instead.
set -eu

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pg_dir_for() {
	dir=$1
	port=$2
	mkdir -p "$dir"
	if [ "$(id -u)" = 0 ]; then
		if runuser -u postgres -- test -w "$dir" 2>/dev/null; then
			echo "$dir/pg"
		else
			chmod 0777 "$dir" 2>/dev/null || true
			if runuser -u postgres -- test -w "$dir" 2>/dev/null; then
				echo "$dir/pg"
			else
				echo "/tmp/maitred-pg-$port"
			fi
		fi
	else
		echo "$dir/pg"
	fi
}

start() {
	dir=$1 pg_port=$2 redis_port=$3
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	pg=$(pg_dir_for "$dir" "$pg_port")
	echo "$pg" > "$dir/pg.path"

	if [ ! -f "$pg/PG_VERSION" ]; then
		mkdir -p "$pg"
		[ "$(id -u)" = 0 ] && chown postgres:postgres "$pg"
		as_pg "$PG_BIN/initdb" -D "$pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; exit 1; }
	fi
	if ! as_pg "$PG_BIN/pg_ctl" -D "$pg" status >/dev/null 2>&1; then
		as_pg "$PG_BIN/pg_ctl" -D "$pg" -l "$pg/server.log" -w -t 60 \
			-o "-p $pg_port -k $pg -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null
	fi
	as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -tAc \
		"SELECT 1 FROM pg_database WHERE datname = 'maitred'" | grep -q 1 ||
		as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres maitred

	if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
		redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize yes --save '' \
			--appendonly no --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
			sleep 0.2
		done
	fi
	echo "DATABASE_URL=postgresql://postgres@127.0.0.1:$pg_port/maitred"
	echo "REDIS_URL=redis://127.0.0.1:$redis_port/0"
}

stop() {
	dir=$1
	[ -d "$dir" ] || return 0
	if [ -f "$dir/pg.path" ]; then
		pg=$(cat "$dir/pg.path")
		as_pg "$PG_BIN/pg_ctl" -D "$pg" -m fast stop >/dev/null 2>&1 || true
	fi
	if [ -f "$dir/redis.pid" ]; then
		kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
		rm -f "$dir/redis.pid"
	fi
}

case "${1:-}" in
start) shift; start "$@" ;;
stop) shift; stop "$@" ;;
*) echo "usage: $0 start DIR PG_PORT REDIS_PORT | stop DIR" >&2; exit 2 ;;
esac
