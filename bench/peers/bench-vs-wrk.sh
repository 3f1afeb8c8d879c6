#!/usr/bin/env bash
# bench-vs-wrk.sh: is `orchard bench -b` as fast a load generator as wrk?
#
# Starts nginx (Debian's) serving one ~8.9 KB page on loopback, then runs
# wrk and `orchard bench -b` against it, interleaved A B A B, with the same
# connections and duration, and prints each run, the medians, the ratio
# orchard/wrk and each tool's CPU time per request (the generator shares the
# 2 cores with nginx, so a heavier generator shows as fewer requests/s).
#
# Environment: CONNS (64), DUR seconds per run (6), RUNS pairs (4),
# WRK_THREADS (2), PORT (18471), ORCHARD (a built binary; default: build it).
# Installs wrk and nginx with apt-get when missing (needs root).
set -euo pipefail

CONNS=${CONNS:-64}
DUR=${DUR:-6}
RUNS=${RUNS:-4}
WRK_THREADS=${WRK_THREADS:-2}
PORT=${PORT:-18471}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

for pkg in wrk:wrk nginx:nginx; do
	if ! command -v "${pkg%%:*}" >/dev/null && ! [ -x "/usr/sbin/${pkg%%:*}" ]; then
		echo "installing ${pkg#*:} with apt-get" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${pkg#*:}" >/dev/null
	fi
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

T=$(mktemp -d /tmp/bench-vs-wrk.XXXXXX)
NGINX_PID=
cleanup() {
	if [ -n "$NGINX_PID" ]; then kill "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true; fi
	rm -rf "$T"
}
trap cleanup EXIT

ORCHARD=${ORCHARD:-}
if [ -z "$ORCHARD" ]; then
	(cd "$ROOT" && go build -o "$T/orchard" ./cmd/orchard)
	ORCHARD=$T/orchard
fi

# One page of about 8.9 KB, like the seed's pages (~8 KB).
mkdir -p "$T/www"
{
	echo '<!doctype html><html><head><title>bench</title></head><body>'
	for i in $(seq 1 135); do echo "<p>orchard page line $i: pear apple branch leaf root blossom</p>"; done
	echo '</body></html>'
} >"$T/www/index.html"
chmod -R a+rX "$T"

cat >"$T/nginx.conf" <<CONF
worker_processes 2;
user www-data;
pid $T/nginx.pid;
error_log $T/error.log;
events { worker_connections 8192; }
http {
  access_log off;
  sendfile on;
  open_file_cache max=100;
  keepalive_requests 100000000;
  client_body_temp_path $T/body;
  proxy_temp_path $T/proxy;
  fastcgi_temp_path $T/fcgi;
  uwsgi_temp_path $T/uwsgi;
  scgi_temp_path $T/scgi;
  server { listen 127.0.0.1:$PORT; root $T/www; }
}
CONF
if curl -s -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; then
	echo "port $PORT is already in use: set PORT" >&2
	exit 1
fi
"$NGINX" -c "$T/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!
URL=http://127.0.0.1:$PORT/
for _ in $(seq 1 50); do
	curl -fs -o /dev/null "$URL" 2>/dev/null && break
	sleep 0.1
done
if ! kill -0 "$NGINX_PID" 2>/dev/null || ! curl -fs -o /dev/null "$URL"; then
	echo "nginx did not start" >&2
	cat "$T/error.log" >&2
	exit 1
fi
echo "target: nginx 2 workers, $(wc -c <"$T/www/index.html") byte page, $URL"
echo "runs: $RUNS x (wrk -t$WRK_THREADS -c$CONNS -d${DUR}s, orchard bench -b -c$CONNS -t${DUR}S), interleaved"

# cpu_of CMD...: runs CMD, stores its output in OUT and its CPU seconds in CPU.
cpu_of() {
	local f=$T/time.$$
	OUT=$(/usr/bin/env time -f '%U %S' -o "$f" "$@" 2>&1)
	CPU=$(awk '{print $1+$2}' "$f")
}

WRK=()
ORC=()
for i in $(seq 1 "$RUNS"); do
	cpu_of wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DUR}s" "$URL"
	w=$(awk '/^Requests\/sec/ {print $2}' <<<"$OUT")
	wcpu=$(awk -v c="$CPU" -v r="$w" -v d="$DUR" 'BEGIN {printf "%.1f", c*1e6/(r*d)}')
	cpu_of "$ORCHARD" bench -q -b -c"$CONNS" -t"${DUR}S" "$URL"
	o=$(awk '/^Transaction rate/ {print $3}' <<<"$OUT")
	ocpu=$(awk -v c="$CPU" -v r="$o" -v d="$DUR" 'BEGIN {printf "%.1f", c*1e6/(r*d)}')
	fails=$(awk '/^Failed transactions/ {print $3}' <<<"$OUT")
	printf 'run %d: wrk %10.0f req/s (%s us CPU/req)   orchard %10.0f req/s (%s us CPU/req, %s failed)\n' \
		"$i" "$w" "$wcpu" "$o" "$ocpu" "$fails"
	WRK+=("$w")
	ORC+=("$o")
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mw=$(median "${WRK[@]}")
mo=$(median "${ORC[@]}")
awk -v w="$mw" -v o="$mo" 'BEGIN {
	printf "median: wrk %.0f req/s, orchard bench %.0f req/s, ratio orchard/wrk %.2f\n", w, o, o/w
	if (o/w >= 0.85) print "OK: within 15% of wrk"; else print "SLOWER than wrk by more than 15%"
}'
