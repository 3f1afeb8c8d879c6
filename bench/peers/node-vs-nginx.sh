#!/usr/bin/env bash
# node-vs-nginx.sh: orchard node beside nginx serving the same site (issue 3).
#
# A generated site of PAGES pages of ~8 KB (default 10,000) is written as a
# tree of files for nginx (2 workers, sendfile, open_file_cache,
# root .../$host) and built into a release that `orchard node` serves. wrk
# (keep-alive, 64 connections, 1 thread) then measures, interleaved
# A B A B (RUNS rounds, DUR each), medians:
#   hot:    one page, again and again
#   random: a random page of the PAGES on every request (wrk Lua script)
# It prints requests/s of each and the ratio node/nginx (target >= 1.0).
#
# Each server runs with its own tuning: nginx with the issue's settings
# (NGINX_WORKERS=2 worker processes), the node with NODE_WORKERS=1 (its
# `workers` setting: wrk shares the 2 CPUs, and a second Go worker spinning
# for work competes with it). NGINX_WORKERS=1 gives nginx the same single
# CPU; NODE_WORKERS=0 gives the node every CPU.
#
# Usage: bench/peers/node-vs-nginx.sh [PAGES]      (RUNS=3 DUR=5s CONNS=64)
set -euo pipefail

PAGES=${1:-${PAGES:-10000}}
RUNS=${RUNS:-3}
DUR=${DUR:-5s}
CONNS=${CONNS:-64}
NGINX_WORKERS=${NGINX_WORKERS:-2}
NODE_WORKERS=${NODE_WORKERS:-1}
SITE=bench.test
. "$(dirname "$0")/lib.sh"
workdir orchard-node-bench

need nginx
need wrk
need curl


build_orchard gensite
"$W/gensite" -pages "$PAGES" -host "$SITE" -html "$W/www" -node "$W/node0" -urls "$W/urls.txt" >&2
chmod -R a+rX "$W/www"

NGINX_PORT=$(free_port)
NODE_PORT=$(free_port)
cat >"$W/nginx.conf" <<CONF
user www-data;
worker_processes $NGINX_WORKERS;
pid $W/nginx.pid;
error_log $W/nginx-error.log;
events { worker_connections 4096; }
http {
	include /etc/nginx/mime.types;
	access_log off;
	sendfile on;
	tcp_nopush on;
	open_file_cache max=20000 inactive=60s;
	open_file_cache_valid 60s;
	keepalive_timeout 30s;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		root $W/www/\$host;
		index index.html;
	}
}
CONF
nginx -c "$W/nginx.conf" -g 'daemon off;' &
PIDS+=($!)

one_node_cluster "$NODE_PORT" "workers = $NODE_WORKERS"
"$W/orchard" node node0 --config "$W/orchard.toml" >"$W/node0.log" 2>&1 &
NODE_PID=$!
PIDS+=($NODE_PID)
wait_up "$NGINX_PORT"
wait_up "$NODE_PORT"

HOT=$(head -1 "$W/urls.txt")
cmp <(curl -s -H "Host: $SITE" "http://127.0.0.1:$NGINX_PORT$HOT") <(curl -s -H "Host: $SITE" "http://127.0.0.1:$NODE_PORT$HOT") ||
	{ echo "nginx and the node serve different bytes for $HOT" >&2; exit 1; }

cat >"$W/random.lua" <<'LUA'
local paths = {}
for line in io.lines(os.getenv("URLS")) do paths[#paths + 1] = line end
math.randomseed(os.time())
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
LUA

rps() { # PORT MODE
	local out
	if [ "$2" = hot ]; then
		out=$(wrk -t1 -c"$CONNS" -d"$DUR" -H "Host: $SITE" "http://127.0.0.1:$1$HOT")
	else
		out=$(URLS="$W/urls.txt" wrk -t1 -c"$CONNS" -d"$DUR" -H "Host: $SITE" -s "$W/random.lua" "http://127.0.0.1:$1/")
	fi
	if grep -q "Non-2xx" <<<"$out"; then echo "warning: errors on port $1 ($2): $(grep Non-2xx <<<"$out")" >&2; fi
	awk '/Requests\/sec/ {print $2}' <<<"$out"
}

echo "nginx worker_processes $NGINX_WORKERS, node workers $NODE_WORKERS (0 = every CPU), $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
printf '%-10s %12s %12s %8s\n' case nginx_rps node_rps ratio
for mode in hot random; do
	ng=() nd=()
	for _ in $(seq "$RUNS"); do
		ng+=("$(rps "$NGINX_PORT" "$mode")")
		nd+=("$(rps "$NODE_PORT" "$mode")")
	done
	a=$(printf '%s\n' "${ng[@]}" | median)
	b=$(printf '%s\n' "${nd[@]}" | median)
	printf '%-10s %12.0f %12.0f %7.2fx\n' "$mode" "$a" "$b" "$(echo "$b / $a" | bc -l)"
done
echo "node RSS: $(awk '/VmRSS/ {printf "%.0f MB", $2/1024}' /proc/$NODE_PID/status)" >&2
