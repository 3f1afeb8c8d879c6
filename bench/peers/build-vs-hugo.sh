#!/usr/bin/env bash
# build-vs-hugo.sh: orchard build beside Hugo on the same Markdown site (issue 3).
#
# A generated site of PAGES Markdown pages (default 10,000) in 20 categories,
# with a base layout and three partials (banner, navbar, footer), is written
# as a Hugo project and into orchard's SQLite database. Measured (RUNS rounds,
# interleaved, medians):
#   full build:        hugo vs orchard build --full: wall time and max RSS
#   incremental build: orchard build after one page edit (whole command, and
#                      the build itself as orchard reports it)
#   node RSS:          orchard node serving two such sites, every page fetched
# Targets: full build <= 0.5x Hugo's time and memory; incremental <= 0.2 s;
# node RSS with two sites < 300 MB.
#
# Usage: bench/peers/build-vs-hugo.sh [PAGES]      (RUNS=3)
set -euo pipefail

PAGES=${1:-${PAGES:-10000}}
RUNS=${RUNS:-3}
SITE=bench.test
. "$(dirname "$0")/lib.sh"
workdir orchard-build-bench

need hugo
need wrk
need curl
[ -x /usr/bin/time ] || { echo "installing time" >&2; apt-get install -y -q time >/dev/null; }


build_orchard gensite
mkdir -p "$W/data"
"$W/gensite" -pages "$PAGES" -host "$SITE" -hugo "$W/hugo" -orchard "$W/data/orchard.db"
NODE_PORT=$(free_port)
one_node_cluster "$NODE_PORT" '[database]' 'driver = "sqlite"' 'path = "data/orchard.db"'

# timed CMD...: prints "seconds maxrss_kb" of the command.
timed() { /usr/bin/time -f '%e %M' -o "$W/time.out" "$@" >"$W/cmd.out" 2>&1 || { cat "$W/cmd.out" >&2; exit 1; }; cat "$W/time.out"; }

ht=() hm=() ot=() om=()
for i in $(seq "$RUNS"); do
	rm -rf "$W/hugo-public"
	sync
	read -r t m < <(timed hugo --quiet -s "$W/hugo" -d "$W/hugo-public")
	ht+=("$t") hm+=("$m")
	sync
	read -r t m < <(timed "$W/orchard" build --config "$W/orchard.toml" -s "$SITE" --full)
	ot+=("$t") om+=("$m")
	[ "$i" = 1 ] && cat "$W/cmd.out" >&2
done
H_T=$(printf '%s\n' "${ht[@]}" | median); H_M=$(printf '%s\n' "${hm[@]}" | median)
O_T=$(printf '%s\n' "${ot[@]}" | median); O_M=$(printf '%s\n' "${om[@]}" | median)
echo "hugo pages: $(find "$W/hugo-public" -name index.html | wc -l)" >&2

it=() ib=()
for i in $(seq "$RUNS"); do
	"$W/gensite" -pages "$PAGES" -host "$SITE" -orchard "$W/data/orchard.db" -edit "$((i * 37))"
	read -r t _ < <(timed "$W/orchard" build --config "$W/orchard.toml" -s "$SITE")
	it+=("$t")
	ib+=("$(sed -n 's/.* reused, \([0-9.]*\)\(m\?s\)$/\1 \2/p' "$W/cmd.out" | awk '{print ($2=="ms") ? $1/1000 : $1}')")
	[ "$i" = 1 ] && cat "$W/cmd.out" >&2
done

printf '%-34s %10s %10s %8s\n' measure hugo orchard ratio
printf '%-34s %10.2f %10.2f %7.2fx\n' "full build, s ($PAGES pages)" "$H_T" "$O_T" "$(echo "$O_T / $H_T" | bc -l)"
printf '%-34s %10.0f %10.0f %7.2fx\n' "full build, max RSS MB" "$(echo "$H_M / 1024" | bc -l)" "$(echo "$O_M / 1024" | bc -l)" "$(echo "$O_M / $H_M" | bc -l)"
printf '%-34s %10s %10.3f\n' "incremental, one page, command s" "-" "$(printf '%s\n' "${it[@]}" | median)"
printf '%-34s %10s %10.3f\n' "incremental, one page, build s" "-" "$(printf '%s\n' "${ib[@]}" | median)"

# Node RSS with two such sites active, every page fetched once.
"$W/gensite" -pages "$PAGES" -host "$SITE" -node "$W/node0" -urls "$W/urls.txt" >&2
"$W/gensite" -pages "$PAGES" -host "two.$SITE" -node "$W/node0" >&2
"$W/orchard" node node0 --config "$W/orchard.toml" >"$W/node0.log" 2>&1 &
NODE_PID=$!
PIDS+=($NODE_PID)
for _ in $(seq 100); do curl -sf -o /dev/null -H "Host: $SITE" "http://127.0.0.1:$NODE_PORT/" && break; sleep 0.1; done
cat >"$W/seq.lua" <<'LUA'
local paths, i = {}, 0
for line in io.lines(os.getenv("URLS")) do paths[#paths + 1] = line end
request = function() i = i % #paths + 1; return wrk.format("GET", paths[i]) end
LUA
for h in "$SITE" "two.$SITE"; do
	URLS="$W/urls.txt" wrk -t1 -c4 -d3s -H "Host: $h" -s "$W/seq.lua" "http://127.0.0.1:$NODE_PORT/" >/dev/null
done
printf '%-34s %10s %10s\n' "node RSS, two sites, MB" "-" "$(awk '/VmRSS/ {printf "%.0f", $2/1024}' /proc/$NODE_PID/status)"
