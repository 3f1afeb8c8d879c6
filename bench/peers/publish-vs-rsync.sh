#!/usr/bin/env bash
# publish-vs-rsync.sh: orchard publish beside rsync, the seed's way of pushing
# "Build cache" output to the workers (issue 4).
#
# A generated site of PAGES pages of ~8 KB (default 10,000) is built into the
# master's release store and mirrored as a flat tree of files. Then, for each
# case, the same change is made to both and timed:
#   rsync:   rsync -a --delete TREE/ to 3 local target dirs, one after another
#   publish: orchard publish --config FILE -s SITE to 3 local nodes (end to end:
#            process start, config, manifest, stage, blobs, activate)
# Cases: (a) first copy, (b) one page changed, (c) 100 pages changed,
# (d) a template change (every page changes). Prints both times and the ratio.
#
# Usage: bench/peers/publish-vs-rsync.sh [PAGES]     (RUNS=3 repeats b and c; medians)
set -euo pipefail

PAGES=${1:-${PAGES:-10000}}
RUNS=${RUNS:-3}
SITE=bench.test
. "$(dirname "$0")/lib.sh"
workdir orchard-publish-bench

need rsync
need curl

echo "building orchard and the generator..." >&2
(cd "$ROOT" && go build -o "$W/orchard" ./cmd/orchard && go test -c -o "$W/e2e.test" ./internal/e2e)


{
	echo 'secret_file = "secret.key"'
	echo '[master]'
	echo "control = \"127.0.0.1:$(free_port)\""
	echo 'data = "master"'
	for i in 0 1 2; do
		echo '[[node]]'
		echo "name = \"node$i\""
		echo "listen = \"127.0.0.1:$(free_port)\""
		echo "control = \"127.0.0.1:$(free_port)\""
		echo "data = \"node$i\""
	done
} >"$W/orchard.toml"
"$W/orchard" config check --config "$W/orchard.toml" >/dev/null

gen() { # TOUCH ROUND TEMPLATE
	ORCHARD_GENSITE="$W" PAGES="$PAGES" SITE="$SITE" TOUCH="$1" ROUND="$2" TEMPLATE="$3" \
		"$W/e2e.test" -test.run '^TestHelperGenSite$' | grep '^release' >&2
}

# Nodes: orchard node when it is built, else the test helper that wires the
# same packages in one process.
start_nodes() {
	if "$W/orchard" node node0 --config "$W/orchard.toml" >"$W/node0.log" 2>&1 &
	then
		PIDS+=($!)
		sleep 0.3
		if grep -q "not built" "$W/node0.log"; then
			echo "orchard node is not built yet: serving the nodes from the e2e helper" >&2
			ORCHARD_E2E_NODES="$W/orchard.toml" "$W/e2e.test" -test.run '^TestHelperNodes$' >"$W/nodes.log" 2>&1 &
			PIDS+=($!)
		else
			for i in 1 2; do
				"$W/orchard" node "node$i" --config "$W/orchard.toml" >"$W/node$i.log" 2>&1 &
				PIDS+=($!)
			done
		fi
	fi
	for i in 0 1 2; do
		ctl=$(awk -v n="node$i" '$0 ~ "name = \""n"\"" {f=1} f && /^control/ {gsub(/[" ]/,"",$3); print $3; exit}' "$W/orchard.toml")
		for _ in $(seq 100); do curl -sf "http://$ctl/_orchard/health" >/dev/null && break; sleep 0.1; done
	done
}

now() { date +%s.%N; }
timeit() { local t0; t0=$(now); "$@" >/dev/null; echo "$(now) - $t0" | bc; }
rsync3() { for i in 0 1 2; do rsync -a --delete "$W/tree/" "$W/rsync$i/"; done; }
publish() { "$W/orchard" publish --config "$W/orchard.toml" -s "$SITE" -q; }

start_nodes
printf '%-28s %10s %10s %8s\n' case rsync_s publish_s ratio
row() { printf '%-28s %10.3f %10.3f %7.2fx\n' "$1" "$2" "$3" "$(echo "$3 / $2" | bc -l)"; }

gen 0 0 t1
sync
row "(a) first copy, $PAGES pages" "$(timeit rsync3)" "$(timeit publish)"

round=1
for c in "1:(b) one page changed" "100:(c) 100 pages changed"; do
	n=${c%%:*}
	rs=() ps=()
	for _ in $(seq "$RUNS"); do
		gen "$n" "$round" t1; round=$((round + 1)); sync
		rs+=("$(timeit rsync3)")
		ps+=("$(timeit publish)")
	done
	row "${c#*:}" "$(printf '%s\n' "${rs[@]}" | median)" "$(printf '%s\n' "${ps[@]}" | median)"
done

gen 0 "$round" t2
sync
row "(d) template change (all)" "$(timeit rsync3)" "$(timeit publish)"
"$W/orchard" status --config "$W/orchard.toml" | tail -1 >&2
