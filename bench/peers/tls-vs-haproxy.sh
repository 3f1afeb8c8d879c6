#!/usr/bin/env bash
# tls-vs-haproxy.sh: the balancer terminating TLS beside HAProxy (issue 21).
#
#   haproxy        HAProxy 2.6, bind ... ssl, roundrobin, keep-alive -> nginx
#   orchard        orchard balancer, tls_listen, edge cache off      -> nginx
#   orchard-cache  the same with the edge cache on
#
# Both terminate TLS with the same ECDSA P-256 certificate (made here with
# openssl, TLS 1.3 on both sides) in front of the same nginx (one worker)
# serving an ~8.9 KB page. Each round runs, against every target in turn
# (interleaved, medians of ROUNDS):
#   keep-alive   wrk -c CONNS over HTTPS: requests/s on open connections
#   handshakes   wrk -c CONNS with "Connection: close": every request a new
#                TCP connection and a full TLS handshake (wrk resumes no
#                session), so requests/s = new handshakes/s
# and prints the ratios to HAProxy (issue 21's target: >= 0.8x on both).
#
# Usage: bench/peers/tls-vs-haproxy.sh     env: DUR (5s) ROUNDS (3) CONNS (64)
#        BALANCER_WORKERS (0 = every CPU); needs haproxy nginx wrk openssl curl python3
set -euo pipefail

DUR=${DUR:-5s}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-64}
BALANCER_WORKERS=${BALANCER_WORKERS:-0}
SITE=bench.test
. "$(dirname "$0")/lib.sh"
require haproxy nginx wrk openssl curl python3
workdir orchard-tls-bench
build_orchard

NGINX_PORT=$(free_port)
CTL_PORT=$(free_port)
# The balancer routes a site to members that report it: the same nginx
# answers the health check as a node would.
nginx_page "$NGINX_PORT" "$CTL_PORT"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
	-subj "/CN=$SITE" -addext "subjectAltName=DNS:$SITE" \
	-keyout "$W/key.pem" -out "$W/cert.pem" 2>/dev/null
cat "$W/cert.pem" "$W/key.pem" >"$W/haproxy.pem"

HAPROXY_PORT=$(free_port)
cat >"$W/haproxy.cfg" <<CONF
global
	maxconn 8000
	ssl-default-bind-options ssl-min-ver TLSv1.2
$(haproxy_defaults)
frontend web
	bind 127.0.0.1:$HAPROXY_PORT ssl crt $W/haproxy.pem alpn http/1.1
	default_backend nginx
backend nginx
	server n0 127.0.0.1:$NGINX_PORT
CONF
haproxy -f "$W/haproxy.cfg" -db >"$W/haproxy.log" 2>&1 &
HAPROXY_PID=$!
PIDS+=($!)

declare -A PORT=([haproxy]=$HAPROXY_PORT) PID=([haproxy]=$HAPROXY_PID)
for t in orchard orchard-cache; do
	cache=-1
	[ "$t" = orchard-cache ] && cache=$((64 << 20))
	PORT[$t]=$(free_port)
	cat >"$W/$t.toml" <<CONF
secret_file = "secret.key"
[[node]]
name = "nginx"
listen = "127.0.0.1:$NGINX_PORT"
control = "127.0.0.1:$CTL_PORT"
[balancer]
listen = "127.0.0.1:$(free_port)"
tls_listen = "127.0.0.1:${PORT[$t]}"
tls_cert = "$W/cert.pem"
tls_key = "$W/key.pem"
workers = $BALANCER_WORKERS
data = "$W/data-$t"
cache_bytes = $cache
[[balancer.pool]]
name = "web"
members = ["nginx"]
[[balancer.vhost]]
hosts = ["*"]
pool = "web"
CONF
	"$W/orchard" balancer --config "$W/$t.toml" >"$W/$t.log" 2>&1 &
	PID[$t]=$!
	PIDS+=($!)
done

TARGETS=(haproxy orchard orchard-cache)
for t in "${TARGETS[@]}"; do
	ok=
	for _ in $(seq 100); do
		if curl -fsk -o /dev/null --resolve "$SITE:${PORT[$t]}:127.0.0.1" "https://$SITE:${PORT[$t]}/"; then ok=1; break; fi
		sleep 0.1
	done
	[ -n "$ok" ] || { echo "$t did not answer over HTTPS" >&2; cat "$W/$t.log" >&2 || true; exit 1; }
done
echo "certificate: $(openssl x509 -in "$W/cert.pem" -noout -text | awk '/Public Key Algorithm|NIST CURVE/ {$1=$1; printf "%s ", $0}')" >&2

HZ=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
RESULTS=$W/results.tsv
: >"$RESULTS"
echo "wrk -t1 -c$CONNS -d$DUR over https, $ROUNDS interleaved rounds, $(nproc) cores"
for r in $(seq 1 "$ROUNDS"); do
	for kind in keepalive handshake; do
		extra=()
		[ "$kind" = handshake ] && extra=(-H "Connection: close")
		for t in "${TARGETS[@]}"; do
			c0=$(ticks "${PID[$t]}")
			out=$(wrk -t1 -c"$CONNS" -d"$DUR" --latency -H "Host: $SITE" "${extra[@]}" "https://127.0.0.1:${PORT[$t]}/")
			c1=$(ticks "${PID[$t]}")
			rps=$(awk '/^Requests\/sec/{print $2}' <<<"$out")
			n=$(awk '/requests in/{print $1}' <<<"$out")
			p99=$(awk '$1=="99%"{print $2}' <<<"$out")
			cpu=$(awk -v c=$((c1 - c0)) -v hz="$HZ" -v n="$n" 'BEGIN{printf "%.1f", c / hz * 1e6 / n}')
			errs=$(awk '/Non-2xx|Socket errors/{print}' <<<"$out" | tr '\n' ' ')
			printf '%s\t%s\t%s\t%s\t%s\n' "$kind" "$t" "$rps" "$p99" "$cpu" >>"$RESULTS"
			printf 'round %d %-9s %-14s %9s req/s  p99 %8s  cpu %6s us/req  %s\n' "$r" "$kind" "$t" "$rps" "$p99" "$cpu" "$errs"
		done
	done
done

python3 - "$RESULTS" <<'EOF'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
print("\nmedians (target: orchard >= 0.8x HAProxy on both)")
for kind in ("keepalive", "handshake"):
    med = {}
    for t in dict.fromkeys(r[1] for r in rows):
        med[t] = (statistics.median(float(r[2]) for r in rows if r[0] == kind and r[1] == t),
                  statistics.median(float(r[4]) for r in rows if r[0] == kind and r[1] == t))
    base = med["haproxy"][0]
    label = "keep-alive req/s" if kind == "keepalive" else "handshakes/s"
    for t, (rps, cpu) in med.items():
        print(f"  {label:16s} {t:14s} {rps:9.0f}  {rps / base:5.2f}x HAProxy  cpu {cpu:6.1f} us/req")
EOF
