#!/usr/bin/env bash
# `make bench`: measures maitred beside a stand-in of the original Python
# design (FastAPI under uvicorn --workers 4) on this machine, in one run.
# Both servers get the same mock upstream and the same load generator. The
# output is one Markdown table with maitred's figure, the original design's,
# their ratio, the target and PASS or MISS. docs/benchmarks.md describes the
# scenarios.
#
#   bash tests/bench/run.sh                      # all scenarios, 3 runs each
#   REPEAT=1 SCENARIOS="1 5" bash tests/bench/run.sh
#
# Environment:
#   REPEAT            runs of each scenario; the table shows medians (3)
#   SCENARIOS         the scenarios to run, out of 1..7 ("1 2 3 4 5 6 7");
#                     6 reads the memory that 3 measures, so 6 adds 3
#   BENCH_KIT         the benchmark kit: peer/, mock-llm/, load/
#                     (default: shared/bench in the repository's parent folder)
#   OUT               results folder (data/bench/results-<UTC time>)
#   BENCH_TIME_LIMIT  seconds after which no further run starts (2700)
#   BENCH_SCALE       factor for guest counts and hold times, above 0 and
#                     at most 1, for a quick check of the script (1); the
#                     table then shows SCALED instead of PASS or MISS
#   BENCH_PG_PORT, BENCH_REDIS_PORT   ports of the private PostgreSQL and
#                     Redis (free ports picked at start)
#   PEER_PYTHON       the interpreter that has python3-fastapi (/usr/bin/python3)
#
# Everything listens on 127.0.0.1 and is stopped by pid when the script ends.
# Results: $OUT/results.md (the table), env.txt (machine and load), one
# JSON or text file per measurement, and the servers' logs.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$TOP/tests/bench
REPEAT=${REPEAT:-3}
SCENARIOS=${SCENARIOS:-"1 2 3 4 5 6 7"}
OUT=${OUT:-$TOP/data/bench/results-$(date -u +%Y%m%dT%H%M%SZ)}
BENCH_TIME_LIMIT=${BENCH_TIME_LIMIT:-2700}
BENCH_SCALE=${BENCH_SCALE:-1}
PEER_PYTHON=${PEER_PYTHON:-/usr/bin/python3}
SERVICES_DIR=$TOP/data/bench/services

# The fixed upstream profile: 300 ms to the first token, then 40 tokens 20 ms
# apart, so a model call takes at least 1,080 ms.
PROFILE_STANDARD="300 20 40"
PROFILE_INSTANT="0 0 40"
# Scenario 7's upstream: a call lasts about a minute, longer than the hold.
PROFILE_SLOW="300 1000 60"

# Debian packages the benchmark needs on top of deploy/dev/install-deps.sh run.
BENCH_PACKAGES="python3-fastapi python3-uvicorn python3-httpx python3-uvloop python3-httptools wrk nginx curl"

PIDS=()          # processes this script started and has not stopped yet
STARTED_AT=$(date +%s)

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---- processes ----

alive() { # pid: running and not a zombie
	local state
	state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[[ -n $state && $state != Z* ]]
}

descendants() { # pid: the pids of all its descendants
	local child
	for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		echo "$child"
		descendants "$child"
	done
}

forget() { # pid: drop it from PIDS
	local keep=() p
	for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

# Sends SIGTERM, waits up to grace seconds, then SIGKILLs the process and any
# descendant it left behind.
stop_pid() { # pid [grace seconds]
	local pid=$1 grace=${2:-30} children i child
	if alive "$pid"; then
		children=$(descendants "$pid")
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < grace * 10; i++)); do alive "$pid" || break; sleep 0.1; done
		if alive "$pid"; then
			log "pid $pid still running ${grace} s after SIGTERM: sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		for child in $children; do
			if alive "$child"; then
				log "pid $child, a child of $pid, outlived it: sending SIGKILL"
				kill -KILL "$child" 2>/dev/null || true
			fi
		done
	fi
	wait "$pid" 2>/dev/null || true
	forget "$pid"
}

cleanup() {
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}" 10; done
	if [[ -f $SERVICES_DIR/pg.path ]]; then
		sh "$TOP/deploy/dev/services.sh" stop "$SERVICES_DIR" || true
	fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_in_use() { # port: true when something listens on it
	ss -Hltn "( sport = :$1 )" 2>/dev/null | grep -q .
}

scaled() { # count: count times BENCH_SCALE, at least 1
	awk -v n="$1" -v f="$BENCH_SCALE" 'BEGIN { v = int(n * f + 0.5); print (v < 1 ? 1 : v) }'
}

time_left() { # true while runs may still start
	(($(date +%s) - STARTED_AT < BENCH_TIME_LIMIT))
}

# ---- set-up ----

find_kit() {
	local candidates=() dir common
	if [[ -n ${BENCH_KIT:-} ]]; then
		candidates=("$BENCH_KIT")
	else
		candidates=("$(dirname "$TOP")/shared/bench")
		# In a git worktree, also beside the main checkout.
		common=$(git -C "$TOP" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
		[[ -n $common ]] && candidates+=("$(dirname "$(dirname "$common")")/shared/bench")
	fi
	for dir in "${candidates[@]}"; do
		if [[ -f $dir/mock-llm/server.js && -f $dir/peer/app.py && -f $dir/load/chat.js && -f $dir/load/rss.js ]]; then
			KIT=$(cd "$dir" && pwd)
			return 0
		fi
	done
	die "benchmark kit not found in: ${candidates[*]}. It needs mock-llm/server.js, peer/app.py, load/chat.js and load/rss.js; put the kit in shared/bench beside the repository or set BENCH_KIT to its folder"
}

install_packages() {
	local missing=() p
	sh "$TOP/deploy/dev/install-deps.sh" run || die "deploy/dev/install-deps.sh run failed"
	for p in $BENCH_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	command -v node >/dev/null || missing+=("nodejs")
	((${#missing[@]})) || return 0
	if [[ $(id -u) != 0 ]]; then
		die "missing Debian packages; install them with: sudo apt-get install -y ${missing[*]}"
	fi
	log "installing: ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	# Debian starts nginx on port 80; the benchmark runs its own.
	service nginx stop >/dev/null 2>&1 || true
}

check_tools() {
	"$PEER_PYTHON" -c 'import fastapi, uvicorn, httpx' 2>/dev/null ||
		die "$PEER_PYTHON cannot import fastapi, uvicorn and httpx; install python3-fastapi python3-uvicorn python3-httpx or set PEER_PYTHON"
	local tool
	for tool in node wrk nginx curl ss; do
		command -v "$tool" >/dev/null || die "$tool not found in PATH"
	done
	[[ -x $TOP/maitred && -x $TOP/maitred-load ]] || die "maitred or maitred-load missing after make"
}

start_services() {
	PG_PORT=${BENCH_PG_PORT:-$(free_port)}
	REDIS_PORT=${BENCH_REDIS_PORT:-$(free_port)}
	# services.sh reuses any Redis that replies to PING on the port, and that
	# could be someone else's, so both ports must be free.
	port_in_use "$PG_PORT" && die "BENCH_PG_PORT $PG_PORT is in use; pick a free port"
	port_in_use "$REDIS_PORT" && die "BENCH_REDIS_PORT $REDIS_PORT is in use; pick a free port"
	sh "$TOP/deploy/dev/services.sh" start "$SERVICES_DIR" "$PG_PORT" "$REDIS_PORT" >/dev/null
	DATABASE_URL=postgresql://postgres@127.0.0.1:$PG_PORT/maitred
	REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
	REDIS_PID=$(cat "$SERVICES_DIR/redis.pid")
	PG_PID=$(head -1 "$(cat "$SERVICES_DIR/pg.path")/postmaster.pid")
	log "PostgreSQL on port $PG_PORT (pid $PG_PID), Redis on port $REDIS_PORT (pid $REDIS_PID)"
}

write_env() {
	{
		echo "date: $(date -u +%FT%TZ)"
		echo "machine: $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) memory, kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
		echo "maitred: $(git -C "$TOP" describe --always --dirty 2>/dev/null || echo unknown)"
		echo "kit: $KIT"
		echo "node $(node --version); $("$PEER_PYTHON" -c 'import sys, fastapi, uvicorn, httpx; print("python", sys.version.split()[0], "fastapi", fastapi.__version__, "uvicorn", uvicorn.__version__, "httpx", httpx.__version__)')"
		echo "wrk: $(wrk --version 2>&1 | head -1)"
		echo "nginx: $(nginx -v 2>&1)"
		echo "repeat: $REPEAT; scenarios: $SCENARIOS; scale: $BENCH_SCALE"
		echo "loadavg at start: $(cat /proc/loadavg)"
		echo "busiest processes at start:"
		ps -eo pcpu,rss,comm --sort=-pcpu | head -8
	} >"$OUT/env.txt"
}

# ---- servers ----

start_mock() { # profile ("ttft token_ms tokens") log -> MOCK_PID MOCK_PORT
	local ttft token_ms tokens i
	read -r ttft token_ms tokens <<<"$1"
	: >"$2" # the child creates it only once it runs, and the loop below reads it
	node "$KIT/mock-llm/server.js" --port 0 --ttft-ms "$ttft" --token-ms "$token_ms" --tokens "$tokens" \
		--quiet >"$2" 2>&1 &
	MOCK_PID=$!
	PIDS+=("$MOCK_PID")
	MOCK_PORT=
	for ((i = 0; i < 100; i++)); do
		MOCK_PORT=$(sed -n 's|^mock-llm listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$2" || true)
		[[ -n $MOCK_PORT ]] && return 0
		alive "$MOCK_PID" || break
		sleep 0.1
	done
	die "mock-llm did not start: $(tail -5 "$2")"
}

start_peer() { # log -> SERVER_PID SERVER_PORT
	local i up
	SERVER_PORT=$(free_port)
	(cd "$KIT/peer" && exec env OPENAI_BASE_URL="http://127.0.0.1:$MOCK_PORT/v1" OPENAI_API_KEY=sk-mock \
		"$PEER_PYTHON" -m uvicorn app:app --host 127.0.0.1 --port "$SERVER_PORT" --workers 4 --no-access-log) \
		>"$1" 2>&1 &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	for ((i = 0; i < 600; i++)); do # up to 60 s
		up=$(grep -c 'Application startup complete' "$1" || true)
		if ((up >= 4)) && curl -sf --max-time 2 "http://127.0.0.1:$SERVER_PORT/healthz" >/dev/null; then
			return 0
		fi
		alive "$SERVER_PID" || break
		sleep 0.1
	done
	die "the original design's stand-in did not start: $(tail -5 "$1")"
}

# Starts maitred on the mock with the benchmark's settings; extra KEY=VALUE
# arguments override them.
start_maitred() { # log [KEY=VALUE...] -> SERVER_PID SERVER_PORT ADMIN_PORT
	local log_file=$1 i
	shift
	SERVER_PORT=$(free_port)
	ADMIN_PORT=$(free_port)
	redis-cli -p "$REDIS_PORT" flushall >/dev/null
	env HOST=127.0.0.1 PORT="$SERVER_PORT" ADMIN_LISTEN="127.0.0.1:$ADMIN_PORT" \
		SHM_NAME="/maitred-bench-$SERVER_PORT" DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" \
		OPENAI_API_KEY=sk-mock OPENAI_BASE_URL="http://127.0.0.1:$MOCK_PORT/v1" \
		CHAT_RATE_LIMIT=0 LOOKUP_RATE_LIMIT=0 ACCESS_LOG=0 "$@" \
		"$TOP/maitred" >"$log_file" 2>&1 &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	for ((i = 0; i < 600; i++)); do # up to 60 s
		if curl -sf --max-time 2 "http://127.0.0.1:$SERVER_PORT/healthz" >/dev/null &&
			curl -sf --max-time 2 "http://127.0.0.1:$ADMIN_PORT/stats" |
			python3 -c 'import json, sys; w = json.load(sys.stdin)["workers"]; sys.exit(0 if w and all(x["state"] == "ready" for x in w) else 1)' 2>/dev/null; then
			return 0
		fi
		alive "$SERVER_PID" || break
		sleep 0.1
	done
	die "maitred did not start: $(tail -5 "$log_file")"
}

start_nginx() { # dir -> NGINX_PID NGINX_PORT
	local dir=$1 i
	NGINX_PORT=$(free_port)
	mkdir -p "$dir/tmp"
	cat >"$dir/nginx.conf" <<-EOF
		# A throwaway nginx for the /healthz reference figure.
		daemon off;
		worker_processes auto;
		pid $dir/nginx.pid;
		error_log $dir/error.log warn;
		events { worker_connections 4096; }
		http {
		    access_log off;
		    client_body_temp_path $dir/tmp/body;
		    proxy_temp_path $dir/tmp/proxy;
		    fastcgi_temp_path $dir/tmp/fastcgi;
		    uwsgi_temp_path $dir/tmp/uwsgi;
		    scgi_temp_path $dir/tmp/scgi;
		    server {
		        listen 127.0.0.1:$NGINX_PORT;
		        location = /healthz { return 200 "ok\n"; }
		    }
		}
	EOF
	nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/nginx.out" 2>&1 &
	NGINX_PID=$!
	PIDS+=("$NGINX_PID")
	for ((i = 0; i < 100; i++)); do
		curl -sf --max-time 1 "http://127.0.0.1:$NGINX_PORT/healthz" >/dev/null && return 0
		alive "$NGINX_PID" || break
		sleep 0.1
	done
	die "nginx did not start: $(cat "$dir/nginx.out" "$dir/error.log" 2>/dev/null | tail -5)"
}

server_url() { echo "http://127.0.0.1:$SERVER_PORT"; }

# A few turns so that every worker has connected to the upstream once.
warm_up() { # tag
	timeout -k 5 60 node "$KIT/load/chat.js" --url "$(server_url)/v1/chat" --users 8 --turns 2 --duration 30 \
		--label warmup >"$OUT/$1.warmup.txt" 2>&1 || log "warm-up of $1 failed: $(tail -1 "$OUT/$1.warmup.txt")"
	curl -sf --max-time 5 -X POST "http://127.0.0.1:$MOCK_PORT/stats/reset" >/dev/null || true
	sleep 1
}

# ---- measurements ----

sample_idle() { # tag: memory of the server's process tree at rest, 2 s
	node "$KIT/load/rss.js" --pid "$SERVER_PID" --interval-ms 500 --duration 2 \
		--json-out "$OUT/$1.idle.json" >/dev/null 2>&1 || log "idle sample of $1 failed"
}

start_samplers() { # tag with_services: rss.js on the server (and PostgreSQL and Redis)
	SAMPLERS=()
	node "$KIT/load/rss.js" --pid "$SERVER_PID" --interval-ms 500 --duration 900 \
		--json-out "$OUT/$1.rss.json" >/dev/null 2>&1 &
	SAMPLERS+=($!)
	if [[ $2 == 1 ]]; then
		node "$KIT/load/rss.js" --pid "$PG_PID" --interval-ms 500 --duration 900 \
			--json-out "$OUT/$1.pg.json" >/dev/null 2>&1 &
		SAMPLERS+=($!)
		node "$KIT/load/rss.js" --pid "$REDIS_PID" --interval-ms 500 --duration 900 \
			--json-out "$OUT/$1.redis.json" >/dev/null 2>&1 &
		SAMPLERS+=($!)
	fi
	PIDS+=("${SAMPLERS[@]}")
	# rss.js reports only when it stops; a SIGINT before it has set up its
	# handler would end it silently.
	sleep 1
}

stop_samplers() {
	local p
	for p in "${SAMPLERS[@]}"; do
		kill -INT "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
		forget "$p"
	done
}

# Every second while pid runs: maitred's open streams and waiting turns, from
# the admin listener, one JSON line each.
start_stats_sampler() { # tag load_pid
	(
		while alive "$2"; do
			curl -sf --max-time 1 "http://127.0.0.1:$ADMIN_PORT/stats" |
				python3 -c 'import json, sys; s = json.load(sys.stdin); print(json.dumps({"streams": sum(w["streams"] for w in s["workers"]), "connections": sum(w["connections"] for w in s["workers"]), "waiters": s["instance"]["waiters"], "slots_in_use": s["instance"]["slots_in_use"]}))' \
				2>/dev/null || true
			sleep 1
		done
	) >"$OUT/$1.stats.jsonl" &
	STATS_PID=$!
	PIDS+=("$STATS_PID")
}

stop_stats_sampler() {
	wait "$STATS_PID" 2>/dev/null || true
	forget "$STATS_PID"
}

# While the queue is full, a new turn must get 503 with Retry-After. This
# sends up to five probes 2 s apart, each a streaming turn of its own that is
# dropped after 2 s if admitted. It writes one line a probe: the HTTP status
# and the Retry-After value.
start_retry_probe() { # tag load_pid
	(
		local i headers status retry
		sleep 3
		for ((i = 0; i < 5; i++)); do
			alive "$2" || break
			headers=$(curl -s -o /dev/null -D - --max-time 2 -X POST \
				-H 'Content-Type: application/json' -H 'Accept: text/event-stream' \
				-d '{"message":"Which dishes are gluten free?"}' "$(server_url)/v1/chat" 2>/dev/null || true)
			status=$(printf '%s\n' "$headers" | awk 'toupper($1) ~ /^HTTP/ { print $2; exit }')
			retry=$(printf '%s\n' "$headers" | tr -d '\r' | awk -F': *' 'tolower($1) == "retry-after" { print $2; exit }')
			echo "${status:-none} ${retry:--}"
			sleep 2
		done
	) >"$OUT/$1.retry.txt" &
	PROBE_PID=$!
	PIDS+=("$PROBE_PID")
}

stop_retry_probe() {
	wait "$PROBE_PID" 2>/dev/null || true
	forget "$PROBE_PID"
}

save_server_figures() { # tag kind: the mock's counters, and maitred's metrics
	curl -sf --max-time 5 "http://127.0.0.1:$MOCK_PORT/stats" >"$OUT/$1.mock.json" || true
	if [[ $2 == maitred ]]; then
		curl -sf --max-time 5 "http://127.0.0.1:$ADMIN_PORT/metrics" >"$OUT/$1.metrics.txt" || true
	fi
}

note_load() { # tag
	echo "$1 $(date -u +%FT%TZ) loadavg $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/loadavg.txt"
}

# One chat.js run against a fresh server on a fresh mock:
#   chat_run TAG KIND PROFILE USERS TURNS LIMIT_S IDLE [KEY=VALUE for maitred...]
# KIND is peer or maitred. IDLE=1 also samples the memory at rest.
chat_run() {
	local tag=$1 kind=$2 profile=$3 users=$4 turns=$5 limit=$6 idle=$7 load_pid
	shift 7
	note_load "$tag"
	start_mock "$profile" "$OUT/$tag.mock.log"
	if [[ $kind == peer ]]; then start_peer "$OUT/$tag.server.log"; else start_maitred "$OUT/$tag.server.log" "$@"; fi
	warm_up "$tag"
	if [[ $idle == 1 ]]; then sample_idle "$tag"; fi
	start_samplers "$tag" "$([[ $kind == maitred ]] && echo 1 || echo 0)"
	timeout -k 5 $((limit + 60)) node "$KIT/load/chat.js" --url "$(server_url)/v1/chat" \
		--users "$users" --turns "$turns" --duration "$limit" --label "$tag" \
		--json-out "$OUT/$tag.load.json" >"$OUT/$tag.load.txt" 2>&1 &
	load_pid=$!
	PIDS+=("$load_pid")
	if [[ $kind == maitred ]]; then
		start_stats_sampler "$tag" "$load_pid"
		if [[ ${CHECK_RETRY_AFTER:-0} == 1 ]]; then start_retry_probe "$tag" "$load_pid"; fi
	fi
	wait "$load_pid" || log "chat.js $tag exited with status $?"
	forget "$load_pid"
	stop_samplers
	if [[ $kind == maitred ]]; then
		stop_stats_sampler
		if [[ ${CHECK_RETRY_AFTER:-0} == 1 ]]; then stop_retry_probe; fi
	fi
	save_server_figures "$tag" "$kind"
	log "$(tail -1 "$OUT/$tag.load.txt")"
	stop_pid "$SERVER_PID" 40
	stop_pid "$MOCK_PID" 10
}

# One maitred-load run against a fresh maitred, with /healthz probed meanwhile:
#   mload_run TAG PROFILE USERS TURNS LIMIT_S RAMP_MS WARM [KEY=VALUE for maitred...]
# WARM=0 skips the warm-up, for an upstream too slow to finish it.
mload_run() {
	local tag=$1 profile=$2 users=$3 turns=$4 limit=$5 ramp=$6 warm=$7 load_pid
	shift 7
	note_load "$tag"
	start_mock "$profile" "$OUT/$tag.mock.log"
	start_maitred "$OUT/$tag.server.log" "$@"
	if [[ $warm == 1 ]]; then warm_up "$tag"; fi
	sample_idle "$tag"
	start_samplers "$tag" 1
	(cd "$TOP" && exec timeout -k 5 $((limit + 60)) ./maitred-load --url "$(server_url)" \
		--users "$users" --turns "$turns" --duration "$limit" --ramp-ms "$ramp" --timeout-ms 600000 \
		--scenario tests/bench/menu.txt --healthz-url "$(server_url)/healthz" --healthz-rate 10 \
		--label "$tag" --json --no-progress) >"$OUT/$tag.mload.json" 2>"$OUT/$tag.mload.err" &
	load_pid=$!
	PIDS+=("$load_pid")
	start_stats_sampler "$tag" "$load_pid"
	wait "$load_pid" || log "maitred-load $tag exited with status $?"
	forget "$load_pid"
	stop_samplers
	stop_stats_sampler
	save_server_figures "$tag" maitred
	log "$tag: $(python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(r["turns"], "errors", {k: v for k, v in r["errors"].items() if v})' "$OUT/$tag.mload.json" 2>/dev/null || echo 'no result')"
	stop_pid "$SERVER_PID" 40
	stop_pid "$MOCK_PID" 10
}

wrk_run() { # tag url
	note_load "$1"
	timeout -k 5 60 wrk -t2 -c64 -d"${WRK_SECONDS}s" --latency "$2" >"$OUT/$1.wrk.txt" 2>&1 ||
		log "wrk $1 exited with status $?"
	log "$1: $(grep -E 'Requests/sec' "$OUT/$1.wrk.txt" || echo 'no result')"
}

# ---- scenarios ----

# 1: 20 guests x 5 turns; time to first delta beside the upstream's own.
scenario_1() { # rep
	local users
	users=$(scaled 20)
	note_load "s1-upstream-r$1"
	start_mock "$PROFILE_STANDARD" "$OUT/s1-upstream-r$1.mock.log"
	timeout -k 5 120 node "$HERE/upstream_ttft.js" --url "http://127.0.0.1:$MOCK_PORT/v1" --users "$users" \
		--calls 5 --duration 60 --json-out "$OUT/s1-upstream-r$1.ttft.json" >/dev/null ||
		log "upstream_ttft.js exited with status $?"
	stop_pid "$MOCK_PID" 10
	chat_run "s1-peer-r$1" peer "$PROFILE_STANDARD" "$users" 5 60 0
	chat_run "s1-maitred-r$1" maitred "$PROFILE_STANDARD" "$users" 5 60 0
}

# 2: 200 guests x 3 turns, 20 agent slots, then 80 like the original's 4 x 20.
scenario_2() {
	local users
	users=$(scaled 200)
	chat_run "s2-peer-r$1" peer "$PROFILE_STANDARD" "$users" 3 120 0
	chat_run "s2-maitred-r$1" maitred "$PROFILE_STANDARD" "$users" 3 120 0 MAX_CONCURRENT_CREWS=20
	chat_run "s2-maitred80-r$1" maitred "$PROFILE_STANDARD" "$users" 3 120 0 MAX_CONCURRENT_CREWS=80
}

# 3: 1,000 guests x 2 turns with the default MAX_QUEUE (500). chat.js runs
# the side by side, then maitred-load counts queued events and keep-alive
# comments and probes /healthz. Scenario 6 reads the memory measured here.
scenario_3() {
	local users
	users=$(scaled 1000)
	chat_run "s3-peer-r$1" peer "$PROFILE_STANDARD" "$users" 2 180 1
	CHECK_RETRY_AFTER=1 chat_run "s3-maitred-r$1" maitred "$PROFILE_STANDARD" "$users" 2 180 1 MAX_QUEUE=500
	mload_run "s3-mload-r$1" "$PROFILE_STANDARD" "$users" 2 180 0 1 MAX_QUEUE=500
}

# 4: CPU time per turn, with an upstream that streams without delay.
scenario_4() {
	local users
	users=$(scaled 20)
	chat_run "s4-peer-r$1" peer "$PROFILE_INSTANT" "$users" 100 60 0
	chat_run "s4-maitred-r$1" maitred "$PROFILE_INSTANT" "$users" 100 60 0
}

# 5: GET /healthz under wrk, beside nginx serving `return 200`.
scenario_5() {
	start_nginx "$OUT/s5-nginx-r$1"
	wrk_run "s5-nginx-r$1" "http://127.0.0.1:$NGINX_PORT/healthz"
	stop_pid "$NGINX_PID" 10

	start_mock "$PROFILE_STANDARD" "$OUT/s5-maitred-r$1.mock.log"
	start_maitred "$OUT/s5-maitred-r$1.server.log"
	start_samplers "s5-maitred-r$1" 0
	wrk_run "s5-maitred-r$1" "$(server_url)/healthz"
	stop_samplers
	stop_pid "$SERVER_PID" 40

	start_peer "$OUT/s5-peer-r$1.server.log"
	start_samplers "s5-peer-r$1" 0
	wrk_run "s5-peer-r$1" "$(server_url)/healthz"
	stop_samplers
	stop_pid "$SERVER_PID" 40
	stop_pid "$MOCK_PID" 10
}

# 6 is computed from scenario 3's files.
scenario_6() { :; }

# 7: 5,000 streams held open at once on one instance. The upstream is slow,
# so most guests wait in the queue (MAX_QUEUE raised above the guest count,
# QUEUE_TIMEOUT above the hold). The run ends at the hold time, and the turns
# still open then count as "deadline", which is the client's doing. There is
# no warm-up, because it would wait minutes for the slow upstream.
scenario_7() {
	local users hold
	users=$(scaled 5000)
	hold=$(scaled 40)
	mload_run "s7-mload-r$1" "$PROFILE_SLOW" "$users" 1 "$hold" "$(scaled 10000)" 0 \
		MAX_QUEUE=$((users + 1000)) QUEUE_TIMEOUT=600
}

# ---- main ----

select_scenarios() {
	local s list=" $SCENARIOS "
	for s in $SCENARIOS; do
		[[ $s =~ ^[1-7]$ ]] || die "SCENARIOS: invalid scenario \"$s\"; pick from 1 2 3 4 5 6 7"
	done
	if [[ $list == *" 6 "* && $list != *" 3 "* ]]; then
		log "scenario 6 reads scenario 3's memory figures: adding scenario 3"
		list="$list 3 "
	fi
	SELECTED=$(for s in $list; do echo "$s"; done | sort -nu | paste -sd' ')
}

main() {
	[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || die "REPEAT: invalid value \"$REPEAT\"; give a whole number from 1"
	[[ $BENCH_TIME_LIMIT =~ ^[1-9][0-9]*$ ]] || die "BENCH_TIME_LIMIT: invalid value \"$BENCH_TIME_LIMIT\"; give seconds"
	awk -v f="$BENCH_SCALE" 'BEGIN { exit !(f + 0 > 0 && f + 0 <= 1) }' ||
		die "BENCH_SCALE: invalid value \"$BENCH_SCALE\"; give a number above 0 and at most 1"
	select_scenarios
	WRK_SECONDS=10
	[[ $BENCH_SCALE == 1 ]] || WRK_SECONDS=2

	find_kit
	install_packages
	make -C "$TOP" all >/dev/null || die "make all failed; run make to see why"
	check_tools
	mkdir -p "$OUT"
	write_env
	printf 'repeat=%s\nscenarios=%s\nscale=%s\n' "$REPEAT" "$SELECTED" "$BENCH_SCALE" >"$OUT/run.txt"
	log "results in $OUT (loadavg $(cut -d' ' -f1-3 /proc/loadavg))"
	start_services

	local rep s
	for ((rep = 1; rep <= REPEAT; rep++)); do
		for s in $SELECTED; do
			if ! time_left; then
				log "BENCH_TIME_LIMIT ($BENCH_TIME_LIMIT s) reached: skipping scenario $s, run $rep"
				echo "s$s r$rep" >>"$OUT/skipped.txt"
				continue
			fi
			log "run $rep/$REPEAT, scenario $s"
			"scenario_$s" "$rep" </dev/null
		done
	done
	echo "loadavg at end: $(cat /proc/loadavg); elapsed $(($(date +%s) - STARTED_AT)) s" >>"$OUT/env.txt"

	node "$HERE/report.js" "$OUT" | tee "$OUT/results.md"
	log "results in $OUT (results.md, env.txt, loadavg.txt, one file per measurement)"
}

main "$@"
