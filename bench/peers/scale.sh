#!/usr/bin/env bash
# scale.sh: what each site costs as a cluster grows (issue 23's table).
#
# Runs `orchard demo` (master, 3 nodes, balancer, SQLite), then adds sites
# until there are N of them, each a copy of the sample site alpha.localhost
# (28 pages) imported under its own host with the CLI, as a user would:
#   orchard site -s siteNNNNN.test --import alpha.xml -c
# and prints, beside the issue's targets:
#   - opening the store (orchard site list --filter, median of 5) at 2 sites
#     and at N
#   - creating a site, first and last tenth (mean ms per site)
#   - orchard page ls of one site (median of 5)
#   - build --all + publish --all of every site
#   - one edited page: page put + build -s + publish -s (median of 3)
#   - node0's /metrics: bytes and series; node0's RSS; master CPU while idle
#
# Usage: bench/peers/scale.sh       env: N (100), IDLE (20: seconds of idle CPU)
set -euo pipefail

N=${N:-100}
IDLE=${IDLE:-20}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/orchard-scale.XXXXXX)
DEMO_PID=
cleanup() {
	if [ -n "$DEMO_PID" ]; then kill -INT "$DEMO_PID" 2>/dev/null || true; wait "$DEMO_PID" 2>/dev/null || true; fi
	rm -rf "$W"
}
trap cleanup EXIT
for tool in curl python3; do command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 2; }; done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
# median_ms CMD...: runs CMD 5 times, prints the median wall time in ms.
median_ms() {
	local runs=${RUNS:-5} i t0 ts=()
	for i in $(seq "$runs"); do t0=$(now_ms); "$@" >/dev/null; ts+=($(($(now_ms) - t0))); done
	printf '%s\n' "${ts[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p"
}

echo "building orchard..." >&2
(cd "$ROOT" && go build -o "$W/orchard" ./cmd/orchard)
O="$W/orchard"
PORT=$(free_port)
"$O" demo --dir "$W/demo" --listen "127.0.0.1:$PORT" >"$W/demo.log" 2>&1 &
DEMO_PID=$!
for _ in $(seq 300); do grep -q '^Ready' "$W/demo.log" && break; sleep 0.1; done
grep -q '^Ready' "$W/demo.log" || { cat "$W/demo.log" >&2; exit 1; }
CFG="$W/demo/orchard.toml"
NODE0_CTL=$(sed -n 's|^ *Node node0: .*(control \([0-9.:]*\)).*|\1|p' "$W/demo.log")
cli() { "$O" --config "$CFG" "$@"; }

open_2=$(median_ms cli site list --filter none.invalid)
"$O" --config "$CFG" site -s alpha.localhost --export "$W/alpha.xml" >/dev/null
create_ms=()
for i in $(seq 1 $((N - 2))); do
	host=$(printf 'site%05d.test' "$i")
	t0=$(now_ms)
	cli site -s "$host" --import "$W/alpha.xml" -c >/dev/null
	create_ms+=($(($(now_ms) - t0)))
	if [ $((i % 100)) = 0 ]; then echo "  $((i + 2)) sites" >&2; fi
done
tenth=$(((N - 2 + 9) / 10))
first=$(printf '%s\n' "${create_ms[@]:0:$tenth}" | awk '{s+=$1} END {printf "%.0f", s/NR}')
last=$(printf '%s\n' "${create_ms[@]: -$tenth}" | awk '{s+=$1} END {printf "%.0f", s/NR}')
open_n=$(median_ms cli site list --filter none.invalid)
pagels=$(median_ms cli page -s site00001.test ls)

t0=$(now_ms)
cli build --all >/dev/null
build_all=$(($(now_ms) - t0))
t0=$(now_ms)
cli publish --all -q >/dev/null
publish_all=$(($(now_ms) - t0))

edit_ms=()
for i in 1 2 3; do
	t0=$(now_ms)
	echo "Edited $i at $(date +%s%N)." | cli page -s site00001.test put /about/ --title "About $i" >/dev/null
	cli build -s site00001.test >/dev/null
	cli publish -s site00001.test -q >/dev/null
	edit_ms+=($(($(now_ms) - t0)))
done
edit=$(printf '%s\n' "${edit_ms[@]}" | sort -n | sed -n 2p)

curl -sf "http://$NODE0_CTL/metrics" >"$W/metrics.txt"
metrics_bytes=$(wc -c <"$W/metrics.txt")
metrics_series=$(grep -vc '^#' "$W/metrics.txt")
node_pid=$(pgrep -f "^$O node node0" | head -1)
master_pid=$(pgrep -f "^$O master" | head -1)
node_rss=$(awk '/VmRSS/ {print $2}' "/proc/$node_pid/status")
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
c0=$(ticks "$master_pid")
sleep "$IDLE"
c1=$(ticks "$master_pid")
hz=$(getconf CLK_TCK)
master_cpu=$(awk -v d=$((c1 - c0)) -v hz="$hz" -v s="$IDLE" 'BEGIN {printf "%.1f", 100 * d / hz / s}')

cat <<REPORT

orchard at $N sites (28 pages each), demo cluster on one machine:
  figure                                value          target (issue 23, at 10,000 sites)
  open the store (site list)            ${open_2} ms at 2, ${open_n} ms at $N   within 20 ms of the 10-site time
  create a site: first / last tenth     ${first} / ${last} ms         flat (±20 %)
  page ls of one site                   ${pagels} ms
  build --all                           ${build_all} ms
  publish --all                         ${publish_all} ms       10,000 sites in ≤ 10 min
  one edit: put + build + publish       ${edit} ms         ≤ 200 ms
  node0 /metrics                        ${metrics_bytes} bytes, ${metrics_series} series   ≤ 64 KB
  node0 RSS                             ${node_rss} KiB      heap ≤ 16 KiB per site
  master CPU, idle ${IDLE} s               ${master_cpu} %          ≤ 1 %
REPORT
