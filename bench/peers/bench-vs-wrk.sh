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
. "$(dirname "$0")/lib.sh"
need wrk
need nginx
workdir bench-vs-wrk
T=$W
build_orchard
ORCHARD=$W/orchard
nginx_page "$PORT"

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

mw=$(printf '%s\n' "${WRK[@]}" | median)
mo=$(printf '%s\n' "${ORC[@]}" | median)
awk -v w="$mw" -v o="$mo" 'BEGIN {
	printf "median: wrk %.0f req/s, orchard bench %.0f req/s, ratio orchard/wrk %.2f\n", w, o, o/w
	if (o/w >= 0.85) print "OK: within 15% of wrk"; else print "SLOWER than wrk by more than 15%"
}'
