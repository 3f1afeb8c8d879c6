#!/bin/sh
# smoke.sh: install orchard for real and run a whole cluster as the orchard
# user, the way the units do, inside private mount and network namespaces
# (so this machine's /etc, /usr/local, /var and ports are untouched).
# Checks: install.sh creates the user and the tree; master, two nodes and the
# balancer run unprivileged; the balancer cannot bind port 80 without
# CAP_NET_BIND_SERVICE and can with it; a site is created, built, published
# and read through the balancer on port 80; orchardctl works; the SQLite
# online backup works. Needs root, unshare and setpriv (util-linux).
#
#   sudo deploy/smoke.sh [path/to/orchard]     (default: built from this checkout)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
[ "$(id -u)" = 0 ] || { echo "smoke.sh: run me as root" >&2; exit 1; }

if [ "${1:-}" != "--inside" ]; then
	T=$(mktemp -d)
	trap 'rm -rf "$T"' EXIT
	bin=${1:-}
	if [ -z "$bin" ]; then
		(cd "$repo" && CGO_ENABLED=0 go build -o "$T/orchard" ./cmd/orchard)
		bin=$T/orchard
	fi
	unshare --mount --net sh "$0" --inside "$T" "$bin"
	exit
fi

S=$2
bin=$3
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$S"/*.log; do echo "== $f" >&2; tail -5 "$f" >&2; done; exit 1; }

ip link set lo up
mount --make-rprivate /
for d in etc usrlocal varlib varlog; do mkdir -p "$S/$d"; done
cp -a /etc/. "$S/etc/"
mount --bind "$S/etc" /etc
mount --bind "$S/usrlocal" /usr/local
mount --bind "$S/varlib" /var/lib
mount --bind "$S/varlog" /var/log

"$here/install.sh" --binary "$bin" >/dev/null || fail "install.sh"
getent passwd orchard >/dev/null || fail "no user orchard"
cat >/etc/orchard/orchard.toml <<'TOML'
secret_file = "secret.key"
[database]
driver = "sqlite"
path = "/var/lib/orchard/orchard.db"
[master]
listen = "127.0.0.1:8080"
admin = "127.0.0.1:8079"
control = "127.0.0.1:8078"
data = "/var/lib/orchard/master"
[[node]]
name = "node0"
listen = "127.0.0.1:8180"
control = "127.0.0.1:8181"
data = "/var/lib/orchard/node0"
[[node]]
name = "node1"
listen = "127.0.0.1:8280"
control = "127.0.0.1:8281"
data = "/var/lib/orchard/node1"
[balancer]
listen = "127.0.0.1:80"
control = "127.0.0.1:9100"
data = "/var/lib/orchard/balancer"
access_log = "/var/log/orchard/access.log"
TOML
export ORCHARD_CONFIG=/etc/orchard/orchard.toml
cd /var/lib/orchard
# setpriv execs orchard, so $! is the role's own pid (cleanup kills it).
AS="setpriv --reuid orchard --regid orchard --init-groups --no-new-privs"
$AS /usr/local/bin/orchard master >"$S/master.log" 2>&1 & pids="$pids $!"
$AS /usr/local/bin/orchard node node0 >"$S/node0.log" 2>&1 & pids="$pids $!"
$AS /usr/local/bin/orchard node node1 >"$S/node1.log" 2>&1 & pids="$pids $!"
if $AS /usr/local/bin/orchard balancer >"$S/nocap.log" 2>&1; then
	fail "the balancer bound port 80 without CAP_NET_BIND_SERVICE"
fi
grep -q 'permission denied' "$S/nocap.log" || fail "balancer without the capability: $(cat "$S/nocap.log")"
setpriv --reuid orchard --regid orchard --init-groups --inh-caps +net_bind_service \
	--ambient-caps +net_bind_service --bounding-set -all,+net_bind_service --no-new-privs \
	/usr/local/bin/orchard balancer >"$S/balancer.log" 2>&1 & pids="$pids $!"

up() { curl -fs -o /dev/null "http://$1/_orchard/health"; }
i=0
until up 127.0.0.1:8078 && up 127.0.0.1:8181 && up 127.0.0.1:8281 && up 127.0.0.1:9100; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "roles did not come up"; sleep 0.1
done

orchardctl site -s example.com -c -i -p >"$S/site.out" 2>&1 || fail "site -c -i -p: $(cat "$S/site.out")"
echo 'Hello from the smoke test.' | orchardctl page -s example.com put /hello/ --title Hello >/dev/null || fail "page put"
orchardctl publish -s example.com --build -q >"$S/publish.out" 2>&1 || fail "publish: $(cat "$S/publish.out")"
orchardctl status >/dev/null 2>&1 || fail "status"
i=0
until curl -fs -H 'Host: example.com' http://127.0.0.1/hello/ | grep -q 'Hello from the smoke test'; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "page not served through the balancer on port 80"; sleep 0.1
done
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: example.com' http://127.0.0.1/admin/x)
[ "$code" = 403 ] || fail "/admin/* gave $code through the balancer, want 403"
orchardctl site -s example.com --export - | grep -q '<orchard-site version="1" host="example.com">' || fail "export"
[ "$(stat -c %U:%a /var/lib/orchard/orchard.db)" = orchard:600 ] || fail "database not orchard 0600"
if command -v sqlite3 >/dev/null 2>&1; then
	sqlite3 /var/lib/orchard/orchard.db ".backup '$S/backup.db'" || fail "sqlite3 .backup"
	[ "$(sqlite3 "$S/backup.db" 'PRAGMA integrity_check')" = ok ] || fail "backup integrity"
fi
echo "deploy smoke: ok"
