#!/usr/bin/env bash
# bench-vs-siege.sh: run Debian's siege and `orchard bench` with the same
# flags against the same target and print both summaries side by side.
#
# Usage: bench-vs-siege.sh [siege flags...]   (default: the seed's shape,
#        -c 350 -d 1 -t 10S; try also: -b -c 64 -t 8S, or -c 20 -r 50)
#
# The target is nginx (Debian's, 2 workers) serving one ~8.9 KB page on
# loopback. siege gets an rc file with limit = 2000 (it refuses more than 255
# users otherwise), parser = false (else it fetches page assets) and
# connection = keep-alive (its default is close; orchard bench keeps
# connections alive unless --no-keepalive; KEEPALIVE=0 compares both closing).
# Installs siege and nginx with apt-get when missing (needs root).
# Environment: PORT (18472), ORCHARD (a built binary; default: build it).
set -euo pipefail

PORT=${PORT:-18472}
KEEPALIVE=${KEEPALIVE:-1}
. "$(dirname "$0")/lib.sh"
if [ $# -eq 0 ]; then set -- -c 350 -d 1 -t 10S; fi
need siege
need nginx
workdir bench-vs-siege
T=$W
build_orchard
ORCHARD=$W/orchard
nginx_page "$PORT"

conn=keep-alive
extra=()
if [ "$KEEPALIVE" = 0 ]; then conn=close; extra=(--no-keepalive); fi
cat >"$T/siegerc" <<RC
limit = 2000
parser = false
connection = $conn
protocol = HTTP/1.1
quiet = false
verbose = false
json_output = false
logging = false
show-logfile = false
failures = 1000000
timeout = 30
RC

echo "target: nginx 2 workers, $(wc -c <"$T/www/index.html") byte page; flags: $* ($conn)"
ulimit -n 65536 2>/dev/null || true
siege -R "$T/siegerc" "$@" "$URL" >"$T/siege.out" 2>&1 || true
"$ORCHARD" bench -q "${extra[@]}" "$@" "$URL" >"$T/orchard.out" 2>&1 || true

# Side by side: siege's labels, siege's value, orchard's value.
awk -F'\t+|:[ \t]+' '
	FNR == NR { if (/:/) { split($0, p, ":"); k = p[1]; v = substr($0, length(k) + 2); gsub(/^[ \t]+/, "", v); s[k] = v; order[++n] = k } next }
	{ if (/:/) { split($0, p, ":"); k = p[1]; v = substr($0, length(k) + 2); gsub(/^[ \t]+/, "", v); o[k] = v; if (!(k in s)) extra[++m] = k } }
	END {
		printf "%-26s %-22s %-22s\n", "", "siege 4.0.7", "orchard bench"
		for (i = 1; i <= n; i++) if (order[i] ~ /^(Transactions|Availability|Elapsed time|Data transferred|Response time|Transaction rate|Throughput|Concurrency|Successful transactions|Failed transactions|Longest transaction|Shortest transaction)$/)
			printf "%-26s %-22s %-22s\n", order[i] ":", s[order[i]], o[order[i]]
		for (i = 1; i <= m; i++) printf "%-26s %-22s %-22s\n", extra[i] ":", "-", o[extra[i]]
	}' "$T/siege.out" "$T/orchard.out"
