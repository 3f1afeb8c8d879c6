#!/usr/bin/env bash
# balancer-vs-haproxy.sh: orchard's balancer beside HAProxy (issues 5 and 7).
#
#   haproxy        HAProxy 2.6 (maxconn 8000, roundrobin, keep-alive) -> 3 nginx
#   orchard        orchard balancer, edge cache off -> 3 backends
#   orchard-cache  orchard balancer, edge cache on  -> 3 backends
#
# MODE=nginx (default): the orchard balancer proxies to the same 3 nginx as
#   HAProxy — a pure-proxy comparison. Each nginx adds X-Orchard-Release and
#   answers /_orchard/health on a control port like a node, so release-aware
#   routing and the edge cache work as they do in front of orchard nodes.
# MODE=nodes: the orchard balancer proxies to 3 `orchard node` processes
#   serving a generated site (built and published with the orchard CLI);
#   HAProxy's nginx serve the very bytes a node serves for the page.
#
# Each round runs wrk (keep-alive, CONNS connections, DUR) against every
# target in turn, each round starting one target later (A B C, B C A,
# C A B, ...: on a machine whose load drifts, no target always runs
# first); the script prints each run, then medians of requests/s and p99
# and the ratios to HAProxy, and the medians of each round's own ratios
# (a target against HAProxy in the same round, so a round the whole
# machine was slower counts as much as any other) with the rounds where
# its p99 was no worse than HAProxy's. Then, unless
# SIEGE=0, the seed's command shape: siege -c350 -d1 (connection close, no
# asset parsing) against HAProxy and orchard, siege's own lines.
#
# BALANCER_WORKERS and NODE_WORKERS set the orchard processes' `workers`
# (CPUs each runs on at once; 0 = every CPU, as HAProxy's default nbthread).
#
# Each run also prints the CPU time the balancer process spent per request
# (user + system, from /proc/PID/stat) and, for orchard, its read and write
# system calls per request (/proc/PID/io: read(2)/write(2) family; HAProxy's
# recvfrom/sendto are not counted there). Both hold on a busy machine, where
# requests/s do not: a balancer that needs less CPU per request serves more
# when the CPUs are the limit. "cs" is its threads' context switches per
# request, voluntary/involuntary (/proc/PID/task/*/status): a thread that
# is preempted rather than sleeping waits longer for a CPU, which shows in
# p99 (docs/balancer-speed.md).
#
# STRACE=1 then counts the system calls per proxied request of HAProxy and of
# orchard without its cache (strace -c -f over one wrk run of STRACE_DUR).
# PERF=1 shows where each orchard balancer's CPU goes (perf record, top of
# perf report; PERF_KEEP=DIR keeps the recordings and the binary).
# BASE=BINARY adds orchard-base: another build's balancer without its cache,
# interleaved with the rest, for an A/B of a change on a noisy machine
# (compare the cpu us/req columns round by round).
#
# Usage: bench/peers/balancer-vs-haproxy.sh     env: MODE DUR ROUNDS CONNS THREADS SIEGE SIEGE_TIME
#                                                    BALANCER_WORKERS NODE_WORKERS STRACE STRACE_DUR
#                                                    PERF PERF_DUR PERF_TOP PERF_KEEP BASE HOLD
# Needs haproxy, nginx, wrk, siege (Debian packages), python3 and go.
set -euo pipefail

MODE=${MODE:-nginx}
DUR=${DUR:-10s}
ROUNDS=${ROUNDS:-5}
CONNS=${CONNS:-64}
THREADS=${THREADS:-1}
BALANCER_WORKERS=${BALANCER_WORKERS:-0}
NODE_WORKERS=${NODE_WORKERS:-0}
SIEGE=${SIEGE:-1}
SIEGE_TIME=${SIEGE_TIME:-15S}
SITE=bench.test
REL=0123456789abcdef
. "$(dirname "$0")/lib.sh"
workdir orchard-balancer-bench

require haproxy nginx wrk siege python3 curl

build_orchard

wait_http() { # URL HOST
	for _ in $(seq 1 100); do
		if curl -fsS -o /dev/null -H "Host: $2" "$1" 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "timed out waiting for $1" >&2
	exit 1
}

NGINX_PORTS=() CTL_PORTS=() NODE_PORTS=() NODE_CTL=()
for i in 0 1 2; do
	NGINX_PORTS+=("$(free_port)")
	CTL_PORTS+=("$(free_port)")
	NODE_PORTS+=("$(free_port)")
	NODE_CTL+=("$(free_port)")
done
HAPROXY_PORT=$(free_port)
ORCHARD_PORT=$(free_port)
CACHE_PORT=$(free_port)
mkdir -p "$W/www/$SITE" "$W/logs"

# --- the page: a generated 8.7 KB page (nginx mode) or the node's page ---
cluster_file() { # FILE LISTEN CACHE_BYTES BACKEND_PORTS... : nodes point at the given ports
	local file=$1 listen=$2 cache=$3
	{
		echo 'secret_file = "secret.key"'
		echo '[master]'
		echo "control = \"127.0.0.1:$MASTER_CTL\""
		echo 'data = "master"'
		for i in 0 1 2; do
			echo '[[node]]'
			echo "name = \"node$i\""
			echo "listen = \"127.0.0.1:${BACKENDS[$i]}\""
			echo "control = \"127.0.0.1:${BACKEND_CTL[$i]}\""
			echo "data = \"node$i\""
			echo "workers = $NODE_WORKERS"
		done
		echo '[balancer]'
		echo "listen = \"127.0.0.1:$listen\""
		echo "workers = $BALANCER_WORKERS"
		echo "data = \"balancer-$listen\""
		echo "cache_bytes = $cache"
		echo '[[balancer.pool]]'
		echo 'name = "web"'
		echo 'members = ["node0", "node1", "node2"]'
		echo '[[balancer.vhost]]'
		echo 'hosts = ["*"]'
		echo 'pool = "web"'
		echo 'deny = ["/admin/*"]'
	} >"$file"
}
MASTER_CTL=$(free_port)

if [ "$MODE" = nodes ]; then
	BACKENDS=("${NODE_PORTS[@]}") BACKEND_CTL=("${NODE_CTL[@]}")
	cluster_file "$W/nodes.toml" "$ORCHARD_PORT" -1
	O="$W/orchard"
	C=(--config "$W/nodes.toml")
	echo "generating and publishing the site with orchard..." >&2
	"$O" site "${C[@]}" -s "$SITE" -c -i >/dev/null
	python3 - "$W/page.md" <<'EOF'
import sys
words = "orchard hosts many small websites on a cluster of cheap machines and serves them fast".split()
out, i = [], 0
while sum(len(l) for l in out) < 7600:
    out.append(" ".join(words[(i + j) % len(words)] for j in range(14)) + ".\n\n")
    i += 1
open(sys.argv[1], "w").write("".join(out))
EOF
	"$O" page "${C[@]}" -s "$SITE" put /page/ --title "A benchmark page" <"$W/page.md" >/dev/null
	"$O" build "${C[@]}" -s "$SITE" >/dev/null
	for i in 0 1 2; do
		"$O" node "node$i" "${C[@]}" >"$W/logs/node$i.log" 2>&1 &
		PIDS+=($!)
	done
	for i in 0 1 2; do wait_http "http://127.0.0.1:${NODE_CTL[$i]}/_orchard/health" x; done
	"$O" publish "${C[@]}" -s "$SITE" -q >/dev/null
	URLPATH=/page/
	wait_http "http://127.0.0.1:${NODE_PORTS[0]}$URLPATH" "$SITE"
	mkdir -p "$W/www/$SITE/page"
	curl -fsS -H "Host: $SITE" -o "$W/www/$SITE/page/index.html" "http://127.0.0.1:${NODE_PORTS[0]}$URLPATH"
	REL=$(curl -fsS -D - -o /dev/null -H "Host: $SITE" "http://127.0.0.1:${NODE_PORTS[0]}$URLPATH" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-orchard-release"{print $2}')
else
	BACKENDS=("${NGINX_PORTS[@]}") BACKEND_CTL=("${CTL_PORTS[@]}")
	URLPATH=/
	python3 - "$W/www/$SITE/index.html" <<'EOF'
import sys
body = "<!doctype html><html><head><title>bench</title></head><body>\n"
i = 0
while len(body) < 8650:
    body += "<p>orchard benchmark paragraph %d: hosts many small websites on a cluster of cheap machines.</p>\n" % i
    i += 1
open(sys.argv[1], "w").write(body[:8660] + "</body></html>\n")
EOF
fi
echo "page: $(wc -c <"$W/www/$SITE/${URLPATH#/}index.html" 2>/dev/null || wc -c <"$W/www/$SITE/index.html") bytes, release $REL" >&2

# --- three nginx, each one worker, like three small nodes ---
for i in 0 1 2; do
	cat >"$W/nginx$i.conf" <<EOF
user www-data;
worker_processes 1;
pid $W/nginx$i.pid;
error_log $W/logs/nginx$i.err warn;
events { worker_connections 4096; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 100000;
	keepalive_timeout 60s;
	types { text/html html; }
	default_type text/html;
	server {
		listen 127.0.0.1:${NGINX_PORTS[$i]} reuseport;
		root $W/www/\$host;
		add_header X-Orchard-Release $REL;
		add_header Cache-Control "public, max-age=60";
	}
	$(health_server "${CTL_PORTS[$i]}" "nginx$i" "{\"$SITE\":\"$REL\"}")
}
EOF
	nginx -c "$W/nginx$i.conf" -g 'daemon off;' &
	PIDS+=($!)
done
chmod -R a+rX "$W/www"
chmod a+x "$W"

cat >"$W/haproxy.cfg" <<EOF
global
	maxconn 8000
$(haproxy_defaults)
frontend web
	bind 127.0.0.1:$HAPROXY_PORT
	default_backend nginx
backend nginx
	balance roundrobin
	server n0 127.0.0.1:${NGINX_PORTS[0]}
	server n1 127.0.0.1:${NGINX_PORTS[1]}
	server n2 127.0.0.1:${NGINX_PORTS[2]}
EOF
haproxy -f "$W/haproxy.cfg" -db >"$W/logs/haproxy.log" 2>&1 &
HAPROXY_PID=$!
PIDS+=($!)

# --- the orchard balancers (cache off and on), to nginx or to the nodes ---
if [ "$MODE" != nodes ]; then
	BACKENDS=("${NGINX_PORTS[@]}") BACKEND_CTL=("${CTL_PORTS[@]}")
fi
cluster_file "$W/orchard.toml" "$ORCHARD_PORT" -1
cluster_file "$W/orchard-cache.toml" "$CACHE_PORT" $((256 << 20))
"$W/orchard" balancer --config "$W/orchard.toml" >"$W/logs/orchard.log" 2>&1 &
ORCHARD_PID=$!
PIDS+=($!)
"$W/orchard" balancer --config "$W/orchard-cache.toml" >"$W/logs/orchard-cache.log" 2>&1 &
CACHE_PID=$!
PIDS+=($!)
# BASE=BINARY: a second orchard balancer without its cache, run from another
# build (e.g. the main branch's), measured interleaved with the others: an
# A/B of a change on a machine too noisy for two separate runs.
BASE_PORT=
if [ -n "${BASE:-}" ]; then
	BASE_PORT=$(free_port)
	cluster_file "$W/orchard-base.toml" "$BASE_PORT" -1
	"$BASE" balancer --config "$W/orchard-base.toml" >"$W/logs/orchard-base.log" 2>&1 &
	BASE_PID=$!
	PIDS+=($!)
fi

for p in "$HAPROXY_PORT" "$ORCHARD_PORT" "$CACHE_PORT" $BASE_PORT; do wait_http "http://127.0.0.1:$p$URLPATH" "$SITE"; done
sleep 3 # the balancers' first health checks: which release each member holds
for p in "$HAPROXY_PORT" "$ORCHARD_PORT" "$CACHE_PORT" $BASE_PORT; do curl -fsS -o /dev/null -H "Host: $SITE" "http://127.0.0.1:$p$URLPATH"; done
curl -fsS -D - -o /dev/null -H "Host: $SITE" "http://127.0.0.1:$CACHE_PORT$URLPATH" | grep -i '^x-orchard-cache' >&2 || true

declare -A PORT=([haproxy]=$HAPROXY_PORT [orchard]=$ORCHARD_PORT [orchard-cache]=$CACHE_PORT)
declare -A PID=([haproxy]=$HAPROXY_PID [orchard]=$ORCHARD_PID [orchard-cache]=$CACHE_PID)
# usage PID: CPU clock ticks (user + system, all threads), read and write
# calls, voluntary and involuntary context switches (all threads)
usage() {
	local f
	read -ra f <"/proc/$1/stat"
	printf '%s %s %s %s\n' "$((f[13] + f[14]))" \
		"$(awk '$1=="syscr:"{print $2}' "/proc/$1/io")" "$(awk '$1=="syscw:"{print $2}' "/proc/$1/io")" \
		"$(cat /proc/"$1"/task/*/status 2>/dev/null | awk '$1=="voluntary_ctxt_switches:"{v+=$2} $1=="nonvoluntary_ctxt_switches:"{n+=$2} END{print v+0, n+0}')"
}
HZ=$(getconf CLK_TCK)
# machine: busy and idle clock ticks of all CPUs together (/proc/stat)
machine() { awk '$1=="cpu"{print $2+$3+$4+$7+$8, $5+$6}' /proc/stat; }
TARGETS=(haproxy orchard orchard-cache)
if [ -n "$BASE_PORT" ]; then
	PORT[orchard-base]=$BASE_PORT PID[orchard-base]=$BASE_PID
	TARGETS+=(orchard-base)
fi
RESULTS=$W/results.tsv
: >"$RESULTS"
echo "mode $MODE: wrk -t$THREADS -c$CONNS -d$DUR, $ROUNDS interleaved rounds, $(nproc) cores, load $(cut -d" " -f1 /proc/loadavg); balancer workers $BALANCER_WORKERS, node workers $NODE_WORKERS (0 = every CPU), HAProxy nbthread default, nginx 1 worker each"
for r in $(seq 1 "$ROUNDS"); do
	for k in "${!TARGETS[@]}"; do
		t=${TARGETS[$(((k + r - 1) % ${#TARGETS[@]}))]}
		read -r c0 r0 w0 v0 i0 < <(usage "${PID[$t]}")
		read -r mb0 mi0 < <(machine)
		out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DUR" --latency -H "Host: $SITE" "http://127.0.0.1:${PORT[$t]}$URLPATH")
		read -r c1 r1 w1 v1 i1 < <(usage "${PID[$t]}")
		read -r mb1 mi1 < <(machine)
		rps=$(awk '/^Requests\/sec/{print $2}' <<<"$out")
		p99=$(awk '$1=="99%"{print $2}' <<<"$out")
		n=$(awk '/requests in/{print $1}' <<<"$out")
		cpu=$(awk -v c=$((c1 - c0)) -v hz="$HZ" -v n="$n" 'BEGIN{printf "%.1f", c / hz * 1e6 / n}')
		box=$(awk -v b=$((mb1 - mb0)) -v i=$((mi1 - mi0)) -v hz="$HZ" -v n="$n" 'BEGIN{printf "box %.1f us/req idle %2.0f%%", b / hz * 1e6 / n, 100 * i / (b + i)}')
		rw=$(awk -v r=$((r1 - r0)) -v w=$((w1 - w0)) -v n="$n" 'BEGIN{if (r + w > 0) printf "read %.2f write %.2f", r / n, w / n}')
		cs=$(awk -v v=$((v1 - v0)) -v i=$((i1 - i0)) -v n="$n" 'BEGIN{printf "cs %.3f/%.3f", v / n, i / n}')
		errs=$(awk '/Non-2xx|Socket errors/{print}' <<<"$out" | tr '\n' ' ')
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$rps" "$p99" "$cpu" "$errs" "$r" >>"$RESULTS"
		printf 'round %d  %-14s %10s req/s  p99 %8s  cpu %6s us/req  %s  %s  %s  %s\n' "$r" "$t" "$rps" "$p99" "$cpu" "$box" "$cs" "$rw" "$errs"
	done
done

python3 - "$RESULTS" <<'EOF'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
def ms(s):
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if s.endswith(unit):
            return float(s[: -len(unit)]) * f
    return float("nan")
med = {}
for t in dict.fromkeys(r[0] for r in rows):
    rps = [float(r[1]) for r in rows if r[0] == t]
    p99 = [ms(r[2]) for r in rows if r[0] == t]
    cpu = [float(r[3]) for r in rows if r[0] == t]
    med[t] = (statistics.median(rps), statistics.median(p99), statistics.median(cpu))
base = med["haproxy"][0]
print("\nmedians")
for t, (rps, p99, cpu) in med.items():
    print(f"  {t:14s} {rps:10.0f} req/s  p99 {p99:7.2f} ms  {rps / base:5.2f}x HAProxy  cpu {cpu:6.1f} us/req")
# Each round's own ratios: a target against HAProxy measured in the same
# round, seconds apart, where the medians above compare runs minutes apart.
by = {(r[0], r[5]): (float(r[1]), ms(r[2])) for r in rows}
rounds = sorted({r[5] for r in rows}, key=int)
print("\nmedians of each round's ratio to HAProxy")
for t in med:
    if t == "haproxy":
        continue
    pairs = [(by[(t, k)], by[("haproxy", k)]) for k in rounds if (t, k) in by and ("haproxy", k) in by]
    rps_r = statistics.median(a[0] / b[0] for a, b in pairs)
    p99_r = statistics.median(a[1] / b[1] for a, b in pairs)
    wins = sum(a[1] <= b[1] for a, b in pairs)
    print(f"  {t:14s} req/s {rps_r:5.2f}x  p99 {p99_r:5.2f}x  p99 no worse in {wins} of {len(pairs)} rounds")
EOF

# STRACE=1: system calls per proxied request, HAProxy beside orchard without
# its cache (strace -c -f attached to each for one wrk run of STRACE_DUR;
# strace slows both, so only the counts mean something, not the speed).
if [ "${STRACE:-0}" != 0 ]; then
	require strace
	declare -A SPID=([haproxy]=$HAPROXY_PID [orchard]=$ORCHARD_PID)
	echo
	echo "system calls per request (strace -c -f, wrk -t$THREADS -c$CONNS -d${STRACE_DUR:-3s})"
	for t in haproxy orchard; do
		strace -c -f -q -o "$W/strace.$t" -p "${SPID[$t]}" &
		sp=$!
		sleep 1
		out=$(wrk -t"$THREADS" -c"$CONNS" -d"${STRACE_DUR:-3s}" -H "Host: $SITE" "http://127.0.0.1:${PORT[$t]}$URLPATH")
		kill -INT "$sp"
		wait "$sp" 2>/dev/null || true
		n=$(awk '/requests in/{print $1}' <<<"$out")
		python3 - "$W/strace.$t" "$n" "$t" <<'PY'
import sys
path, n, t = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = []
for line in open(path):
    f = line.split()
    if len(f) >= 5 and f[0][0].isdigit() and f[-1] != "total":
        rows.append((int(f[3]), f[-1]))
total = sum(c for c, _ in rows)
rows.sort(reverse=True)
top = ", ".join(f"{name} {c / n:.2f}" for c, name in rows[:5])
print(f"  {t:10s} {total / n:6.2f} calls/request over {n} requests ({top})")
PY
	done
fi

# PERF=1: where the balancer's CPU goes, by function (perf record over one
# wrk run of PERF_DUR against orchard without its cache, then against the
# cache), the top of perf report for each. Needs perf (linux-perf).
if [ "${PERF:-0}" != 0 ]; then
	command -v perf >/dev/null || { echo "missing perf (apt-get install linux-perf)" >&2; exit 2; }
	for t in orchard orchard-cache; do
		echo
		echo "perf: $t, wrk -t$THREADS -c$CONNS -d${PERF_DUR:-5s}"
		perf record -q -F 999 -g -o "$W/perf.$t" -p "${PID[$t]}" 2>/dev/null &
		pp=$!
		sleep 0.5
		wrk -t"$THREADS" -c"$CONNS" -d"${PERF_DUR:-5s}" -H "Host: $SITE" "http://127.0.0.1:${PORT[$t]}$URLPATH" | grep -E 'Requests/sec'
		kill -INT "$pp"
		wait "$pp" 2>/dev/null || true
		perf report -i "$W/perf.$t" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -4 || true
		perf report -i "$W/perf.$t" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -"${PERF_TOP:-40}" || true
		[ -z "${PERF_KEEP:-}" ] || cp "$W/perf.$t" "$W/orchard" "$PERF_KEEP/"
	done
fi

if [ "$SIEGE" != 0 ]; then
	printf 'limit = 2000\nparser = false\nshow-logfile = false\nlogging = false\n' >"$W/siegerc"
	for t in haproxy orchard orchard-cache; do
		echo
		echo "siege -c350 -d1 -t$SIEGE_TIME -> $t"
		siege -R "$W/siegerc" -c350 -d1 -t"$SIEGE_TIME" -H "Host: $SITE" "http://127.0.0.1:${PORT[$t]}$URLPATH" 2>&1 |
			grep -E 'Transactions|Availability|Elapsed|Response time|Transaction rate|Throughput|Concurrency|Successful|Failed|Longest' || true
	done
fi

# HOLD=1: everything keeps running after the report, for a closer look
# (perf, strace, wrk by hand); removing the hold file stops it.
if [ -n "${HOLD:-}" ]; then
	touch "$W/hold"
	for t in "${TARGETS[@]}"; do
		echo "holding $t: pid ${PID[$t]}, http://127.0.0.1:${PORT[$t]}$URLPATH (Host: $SITE)" >&2
	done
	echo "rm $W/hold to stop" >&2
	while [ -e "$W/hold" ]; do sleep 2; done
fi
