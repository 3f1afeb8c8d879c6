#!/usr/bin/env bash
# scale.sh: what each site costs as a cluster grows (issue 23's table).
#
# Runs `orchard demo` (master, 3 nodes, balancer, SQLite; 2 sample sites),
# measures the small cluster, then writes N generated sites (PAGES pages of
# BODY bytes each, cmd/gensite, one process through the store, as an import
# would) into its database, builds and publishes them all with the CLI, and
# measures again. Printed beside the issue's targets:
#   - opening the store: `orchard site list --filter` (median of 5), small / N
#   - creating a site with the CLI (`site -s HOST -c`, median of 3), small / N
#   - `page ls` of one site (median of 5), small / N
#   - build --all and publish --all of every site (and its rate, sites a
#     minute: 10,000 in 10 minutes is 1,000); the master's peak RSS
#   - one edited page: page put, build -s, publish -s (median of EDITS, 9,
#     each: single edits move by tens of ms on a busy 2-core machine),
#     and the build and publish as one command (publish -s --build), small /
#     N: both on a generated site (small.test, written at the start,
#     and s00001.scale.test)
#   - one edited page through the master: the admin UI's save, then
#     "Build and publish" until the job is done (adminedit.py, as a
#     browser does it: login token, session cookie, CSRF; median of 5),
#     small / N: no process starts, the path a user takes
#   - node0: /metrics bytes and series, live heap per site, restart time
#     until it serves every site again (kill, start as the demo started it)
#   - the master's CPU while idle (IDLE seconds)
#
# With HOLD=1 the cluster keeps running after the report, for a closer look
# (a profile, more edits), until the file the script names is removed.
#
# Usage: bench/peers/scale.sh    env: N (1000) PAGES (20) BODY (1000) IDLE (20) EDITS (9) HOLD
set -euo pipefail

N=${N:-1000}
PAGES=${PAGES:-20}
BODY=${BODY:-1000}
IDLE=${IDLE:-20}
EDITS=${EDITS:-9}
. "$(dirname "$0")/lib.sh"
require curl python3
workdir orchard-scale
build_orchard gensite
O="$W/orchard"
now_ms() { date +%s%3N; }
# median_ms CMD...: runs CMD RUNS (5) times, prints the median wall time in ms.
median_ms() {
	local runs=${RUNS:-5} i t0 ts=()
	for i in $(seq "$runs"); do t0=$(now_ms); "$@" >/dev/null; ts+=($(($(now_ms) - t0))); done
	printf '%s\n' "${ts[@]}" | median
}

PORT=$(free_port)
"$O" demo --dir "$W/demo" --listen "127.0.0.1:$PORT" >"$W/demo.log" 2>&1 &
DEMO_PID=$!
PIDS+=("$DEMO_PID")
for _ in $(seq 600); do grep -q '^Ready' "$W/demo.log" && break; sleep 0.1; done
grep -q '^Ready' "$W/demo.log" || { cat "$W/demo.log" >&2; exit 1; }
CFG="$W/demo/orchard.toml"
DB=$(sed -n 's/^path = "\(.*\)"/\1/p' "$CFG" | head -1)
case "$DB" in /*) ;; *) DB="$W/demo/$DB" ;; esac
NODE0_CTL=$(sed -n 's|^ *Node node0: .*(control \([0-9.:]*\)).*|\1|p' "$W/demo.log")
ADMIN=$(sed -n 's|^Admin UI: *http://\([0-9.:]*\)/.*|\1|p' "$W/demo.log")
PASSWORD=$(cat "$W/demo/admin-password")
NODE0_LISTEN=$(sed -n 's|^ *Node node0: http://\([0-9.:]*\)/.*|\1|p' "$W/demo.log")
cli() { "$O" --config "$CFG" "$@"; }
pid_of() { pgrep -f "^$O $1" | head -1; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# role_ms ROLE: CPU time (ms) so far of every process of ROLE (master, node).
role_ms() {
	local p t=0
	for p in $(pgrep -f "^$O $1"); do t=$((t + $(ticks "$p"))); done
	echo $((t * 1000 / $(getconf CLK_TCK)))
}
# heap_inuse: node0's heap less its blob cache (issue 23 counts the bytes
# per site beyond cached blobs): the heap its last GC found live
# (go_gc_heap_live_bytes), not heap_inuse, which also holds the garbage
# made since (up to GOGC %, 25 on a node).
heap_inuse() { curl -sf "http://$NODE0_CTL/metrics" | awk '$1=="go_memstats_heap_inuse_bytes" {h=$2} $1=="go_gc_heap_live_bytes" {l=$2} $1=="orchard_node_cache_bytes" {c=$2} END {if (l) h = l; printf "%d", h - c}'; }

create_ms() { # PREFIX: three fresh sites through the CLI (with the default templates); the median
	local i t0 ts=()
	for i in 1 2 3; do
		t0=$(now_ms)
		cli site -s "$1$i.test" -c -i >/dev/null
		ts+=($(($(now_ms) - t0)))
	done
	printf '%s\n' "${ts[@]}" | median
}

# edit_figures HOST PATH: edits one page of HOST EDITS times with the CLI and
# sets put_ms, build_ms, publish_ms (build -s, then publish -s) and
# pubbuild_ms (the same as one command, publish -s --build): medians.
edit_figures() {
	local i t0 t1 t2 t3 t4 t5 puts=() builds=() pubs=() pbs=() m0 n0
	m0=$(role_ms master) n0=$(role_ms node)
	for i in $(seq "$EDITS"); do
		t0=$(now_ms)
		echo "Edited $i at $(date +%s%N)." | cli page -s "$1" put "$2" --title "Edited $i" >/dev/null
		t1=$(now_ms)
		cli build -s "$1" >/dev/null
		t2=$(now_ms)
		cli publish -s "$1" -q >/dev/null
		t3=$(now_ms)
		echo "Edited $i again at $(date +%s%N)." | cli page -s "$1" put "$2" --title "Edited $i again" >/dev/null
		t4=$(now_ms)
		cli publish -s "$1" --build -q >/dev/null
		t5=$(now_ms)
		puts+=($((t1 - t0))) builds+=($((t2 - t1))) pubs+=($((t3 - t2))) pbs+=($((t5 - t4)))
	done
	put_ms=$(printf '%s\n' "${puts[@]}" | median)
	build_ms=$(printf '%s\n' "${builds[@]}" | median)
	publish_ms=$(printf '%s\n' "${pubs[@]}" | median)
	pubbuild_ms=$(printf '%s\n' "${pbs[@]}" | median)
	# What the running cluster spent meanwhile, per edit (two publishes
	# each): the master answering catch-ups, the nodes activating.
	sleep 2
	master_cpu_edit=$((($(role_ms master) - m0) / EDITS)) nodes_cpu_edit=$((($(role_ms node) - n0) / EDITS))
}
small=$(cli site list | tail -n +2 | wc -l)
open_small=$(median_ms cli site list --filter none.invalid)
create_small=$(create_ms first)
pagels_small=$(median_ms cli page -s alpha.localhost ls)
heap_small=$(heap_inuse)
admin_edit() { python3 "$(dirname "$0")/adminedit.py" "$ADMIN" "$PASSWORD" "$1" "$2" 5; }
master_edit_small=$(admin_edit alpha.localhost /about/)
# The CLI's edit figures at the small size, on a generated site of the
# same shape as those measured at N (alpha.localhost has a larger theme).
"$W/gensite" -sites 1 -pages "$PAGES" -categories 4 -body "$BODY" -host small.test -orchard "$DB" >&2
cli publish -s small.test --build -q >/dev/null
edit_figures small.test /c00/p00000/
put_small=$put_ms build_small=$build_ms publish_small=$publish_ms pubbuild_small=$pubbuild_ms
mcpu_small=$master_cpu_edit ncpu_small=$nodes_cpu_edit

echo "writing $N sites of $PAGES pages into $DB..." >&2
"$W/gensite" -sites "$N" -pages "$PAGES" -categories 4 -body "$BODY" -host scale.test -orchard "$DB" >&2
total=$(cli site list | tail -n +2 | wc -l)
open_n=$(median_ms cli site list --filter none.invalid)
create_n=$(create_ms last)
pagels_n=$(median_ms cli page -s s00001.scale.test ls)

echo "build --all, publish --all..." >&2
t0=$(now_ms)
cli build --all >/dev/null
build_all=$(($(now_ms) - t0))
master_pid=$(pid_of master)
/usr/bin/env time -f '%M' -o "$W/publish.rss" "$O" --config "$CFG" publish --all -q >/dev/null
publish_all=$(($(now_ms) - t0 - build_all))
publish_rss=$(($(cat "$W/publish.rss") / 1024))
publish_rate=$((N * 60000 / (publish_all > 0 ? publish_all : 1)))

edit_figures s00001.scale.test /c00/p00000/
put_n=$put_ms build_n=$build_ms publish_n=$publish_ms pubbuild_n=$pubbuild_ms
mcpu_n=$master_cpu_edit ncpu_n=$nodes_cpu_edit
version_ms=$(median_ms "$O" version)
master_edit_n=$(admin_edit s00001.scale.test /c00/p00000/)

curl -sf "http://$NODE0_CTL/metrics" >"$W/metrics.txt"
metrics_bytes=$(wc -c <"$W/metrics.txt")
metrics_series=$(grep -vc '^#' "$W/metrics.txt")
heap_n=$(heap_inuse)
heap_per_site=$(((heap_n - heap_small) / (total - small)))
node_pid=$(pid_of "node node0")
node_rss=$(awk '/VmRSS/ {print $2}' "/proc/$node_pid/status")

# node0 restart: the same command line, until the last site answers.
mapfile -d '' -t node_cmd <"/proc/$node_pid/cmdline"
kill "$node_pid"
while kill -0 "$node_pid" 2>/dev/null; do sleep 0.05; done
last=$(printf 's%05d.scale.test' "$N")
t0=$(now_ms)
"${node_cmd[@]}" >"$W/node0-restart.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1200); do
	curl -sf -o /dev/null -H "Host: $last" "http://$NODE0_LISTEN/c00/p00000/" && break
	sleep 0.05
done
restart=$(($(now_ms) - t0))

c0=$(ticks "$master_pid")
sleep "$IDLE"
c1=$(ticks "$master_pid")
master_cpu=$(awk -v d=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v s="$IDLE" 'BEGIN {printf "%.1f", 100 * d / hz / s}')

cat <<REPORT

orchard with $total sites ($N generated: $PAGES pages of ~$BODY bytes; $small at start), demo cluster on one machine:
  figure                                   at $small sites / at $total         target (issue 23)
  open the store (site list)               ${open_small} / ${open_n} ms          within 20 ms of the small figure
  create a site (CLI, site -c)             ${create_small} / ${create_n} ms          flat (±20 %)
  page ls of one site                      ${pagels_small} / ${pagels_n} ms          within 20 ms
  build --all                              ${build_all} ms
  publish --all                            ${publish_all} ms (${publish_rate} sites/min), ${publish_rss} MiB peak RSS   10,000 sites in ≤ 10 min, bounded RSS
  one edit: page put                       ${put_small} / ${put_n} ms          within 20 ms
  one edit: build -s                       ${build_small} / ${build_n} ms          within 20 ms
  one edit: publish -s                     ${publish_small} / ${publish_n} ms          within 20 ms
  one edit: build -s + publish -s          $((build_small + publish_small)) / $((build_n + publish_n)) ms          ≤ 200 ms at N (build + publish)
  one edit: publish -s --build             ${pubbuild_small} / ${pubbuild_n} ms          ≤ 200 ms at N, within 20 ms
  (CPU of the running cluster per edit)    master ${mcpu_small} / ${mcpu_n} ms, 3 nodes ${ncpu_small} / ${ncpu_n} ms (two publishes, 2 s after)
  one edit through the master (admin UI)   ${master_edit_small} / ${master_edit_n} ms          ≤ 200 ms (save + build + publish, no process start)
  (a CLI command that opens nothing)       ${version_ms} ms (orchard version: process start)
  node0 /metrics                           ${metrics_bytes} bytes, ${metrics_series} series   ≤ 64 KB
  node0 live heap per site                 $((heap_per_site / 1024)) KiB (RSS ${node_rss} KiB)   ≤ 16 KiB
  node0 restart until all sites serve      ${restart} ms               ≤ 2 s
  master CPU, idle ${IDLE} s                  ${master_cpu} %                 ≤ 1 %
REPORT

if [ -n "${HOLD:-}" ]; then
	touch "$W/hold"
	echo "holding the cluster: orchard --config $CFG ...; rm $W/hold to stop it" >&2
	while [ -e "$W/hold" ]; do sleep 2; done
fi
