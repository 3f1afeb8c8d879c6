#!/usr/bin/env bash
# siege-hangs.sh: how often siege's timed run hangs at its end, per server.
#
# Debian's siege 4.0.7 can hang forever at "Lifting the server siege..." at
# the end of a timed run (JoeDog/siege#66): it cancels its threads
# asynchronously, and one cancelled inside malloc dies holding the heap lock.
# This script asks whether a server makes that likelier. It starts
# `orchard demo` (balancer in front of 3 nodes), nginx serving the same page
# from a file, and HAProxy in front of the same 3 nodes, then runs
# `siege -b -c50 -tTIME` (connection close, RUNS rounds, the targets
# interleaved) against each and counts the runs that have not ended 10 s
# after their time. For a hung run it prints where siege's threads wait: all
# on a futex is the deadlock inside siege.
#
# Usage: bench/peers/siege-hangs.sh          env: RUNS (20) TIME (2S) CONN (close)
set -euo pipefail

RUNS=${RUNS:-20}
TIME=${TIME:-2S}
CONN=${CONN:-close}
SITE=alpha.localhost
. "$(dirname "$0")/lib.sh"
workdir orchard-siege-hangs

require siege nginx haproxy curl python3

build_orchard
BAL_PORT=$(free_port)
"$W/orchard" demo --dir "$W/demo" --listen "127.0.0.1:$BAL_PORT" >"$W/demo.log" 2>&1 &
PIDS+=($!)
wait_up "$BAL_PORT"
mapfile -t NODES < <(sed -n 's|^ *Node node[0-9]*: http://\([0-9.:]*\)/.*|\1|p' "$W/demo.log")
[ "${#NODES[@]}" -ge 1 ] || { echo "no nodes in the demo's output" >&2; cat "$W/demo.log" >&2; exit 1; }

mkdir -p "$W/www"
curl -sf -H "Host: $SITE" "http://${NODES[0]}/" >"$W/www/index.html"
chmod -R a+rX "$W/www"
NGINX_PORT=$(free_port)
cat >"$W/nginx.conf" <<CONF
user www-data;
worker_processes 1;
pid $W/nginx.pid;
error_log $W/nginx-error.log;
events { worker_connections 4096; }
http {
	access_log off;
	server { listen 127.0.0.1:$NGINX_PORT; root $W/www; }
}
CONF
nginx -c "$W/nginx.conf" -g 'daemon off;' &
PIDS+=($!)

HAPROXY_PORT=$(free_port)
{
	printf 'global\n\tmaxconn 8000\ndefaults\n\tmode http\n\ttimeout connect 5s\n\ttimeout client 30s\n\ttimeout server 30s\n'
	printf 'frontend fe\n\tbind 127.0.0.1:%s\n\tdefault_backend nodes\nbackend nodes\n\tbalance roundrobin\n' "$HAPROXY_PORT"
	i=0
	for n in "${NODES[@]}"; do printf '\tserver n%d %s\n' "$i" "$n"; i=$((i + 1)); done
} >"$W/haproxy.cfg"
haproxy -f "$W/haproxy.cfg" &
PIDS+=($!)
wait_up "$NGINX_PORT"
wait_up "$HAPROXY_PORT"

declare -A URL=([orchard-balancer]="http://127.0.0.1:$BAL_PORT/" [orchard-node]="http://${NODES[0]}/"
	[nginx]="http://127.0.0.1:$NGINX_PORT/" [haproxy]="http://127.0.0.1:$HAPROXY_PORT/")
TARGETS=(orchard-balancer nginx haproxy orchard-node)
declare -A HUNG
for t in "${TARGETS[@]}"; do HUNG[$t]=0; done
printf 'limit = 2000\nparser = false\nshow-logfile = false\nlogging = false\nconnection = %s\n' "$CONN" >"$W/siegerc"
limit=$(( ${TIME%[SsMmHh]} + 10 ))

for round in $(seq "$RUNS"); do
	for t in "${TARGETS[@]}"; do
		siege -R "$W/siegerc" -b -c50 -t"$TIME" -H "Host: $SITE" "${URL[$t]}" >"$W/siege.out" 2>&1 &
		p=$!
		for _ in $(seq $((limit * 4))); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
		if kill -0 "$p" 2>/dev/null; then
			HUNG[$t]=$((HUNG[$t] + 1))
			waits=$(for task in /proc/"$p"/task/*; do cat "$task/wchan"; echo; done | sort | uniq -c | tr -s ' \n' ' ')
			echo "round $round: siege against $t hung; its threads wait in:$waits" >&2
			kill -9 "$p"
		fi
		wait "$p" 2>/dev/null || true
	done
	echo "round $round of $RUNS done" >&2
done

echo
echo "siege -b -c50 -t$TIME (connection $CONN), $RUNS runs each: runs that hung"
for t in "${TARGETS[@]}"; do printf '  %-18s %3d of %d\n' "$t" "${HUNG[$t]}" "$RUNS"; done
