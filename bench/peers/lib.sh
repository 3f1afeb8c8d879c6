# lib.sh: what the peer scripts share. Source it right after
# `set -euo pipefail`:
#
#   . "$(dirname "$0")/lib.sh"
#   workdir orchard-NAME-bench      # W: a fresh directory, removed on exit
#
# Processes a script starts in the background go into PIDS; on exit each is
# stopped and waited for, then W is removed.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PIDS=()

# workdir NAME: makes W=/tmp/NAME.XXXXXX (readable by nginx's www-data) and
# sets the exit trap.
workdir() {
	W=$(mktemp -d "/tmp/$1.XXXXXX")
	chmod 755 "$W"
	trap peers_cleanup EXIT
}

peers_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$W"
}

# need TOOL [PACKAGE]: installs the Debian package (default: TOOL) when TOOL
# is missing (needs root).
need() {
	command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] && return 0
	echo "installing ${2:-$1} with apt-get" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${2:-$1}" >/dev/null
}

# require TOOL...: stops the script when a tool is missing.
require() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || { echo "missing $t (apt-get install $*)" >&2; exit 2; }
	done
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_up PORT [HOST]: waits up to 20 s for a 2xx answer on 127.0.0.1:PORT.
wait_up() {
	local _
	for _ in $(seq 200); do
		curl -sf -o /dev/null -H "Host: ${2:-${SITE:-localhost}}" "http://127.0.0.1:$1/" && return 0
		sleep 0.1
	done
	echo "server on $1 did not come up" >&2
	exit 1
}

# median: the median of the numbers on stdin, one a line.
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# build_orchard [PACKAGE...]: builds ./cmd/orchard into $W/orchard (unless
# ORCHARD names a built binary) and each further ./cmd/NAME into $W/NAME.
build_orchard() {
	local p
	echo "building orchard $*..." >&2
	if [ -n "${ORCHARD:-}" ]; then
		cp "$ORCHARD" "$W/orchard"
	else
		(cd "$ROOT" && go build -o "$W/orchard" ./cmd/orchard)
	fi
	for p in "$@"; do (cd "$ROOT" && go build -o "$W/$p" "./cmd/$p"); done
}

# haproxy_defaults: the defaults section of every HAProxy the peer scripts
# run (HTTP mode, keep-alive to the backends), so that each comparison gives
# HAProxy the same settings.
haproxy_defaults() {
	cat <<CONF
defaults
	mode http
	timeout connect 3s
	timeout client 30s
	timeout server 30s
	option http-keep-alive
	http-reuse always
CONF
}

# one_node_cluster NODE_PORT [LINE...]: writes $W/orchard.toml, a cluster of
# the master and one node, node0, listening on 127.0.0.1:NODE_PORT (control
# addresses on free ports, data under $W). Each LINE is added at the end: a
# key there is node0's, a [table] starts after it.
one_node_cluster() {
	local port=$1
	shift
	cat >"$W/orchard.toml" <<CONF
secret_file = "secret.key"
[master]
control = "127.0.0.1:$(free_port)"
data = "master"
[[node]]
name = "node0"
listen = "127.0.0.1:$port"
control = "127.0.0.1:$(free_port)"
data = "node0"
CONF
	[ $# -eq 0 ] || printf '%s\n' "$@" >>"$W/orchard.toml"
}

# health_server PORT NAME RELEASES: an nginx server block answering
# /_orchard/health on 127.0.0.1:PORT as node NAME holding RELEASES (a JSON
# object, site -> release) would, so that a balancer routes to it.
health_server() {
	cat <<CONF
server {
	listen 127.0.0.1:$1;
	location = /_orchard/health {
		default_type application/json;
		return 200 '{"ok":true,"role":"node","name":"$2","releases":$3}';
	}
}
CONF
}

# nginx_page PORT [HEALTH_PORT]: Debian's nginx (2 workers, sendfile)
# serving one ~8.9 KB page, like the seed's pages, on 127.0.0.1:PORT, and
# with HEALTH_PORT a node's health check there (health_server); sets URL.
nginx_page() {
	local i nginx
	nginx=$(command -v nginx || echo /usr/sbin/nginx)
	mkdir -p "$W/www"
	{
		echo '<!doctype html><html><head><title>bench</title></head><body>'
		for i in $(seq 1 135); do echo "<p>orchard page line $i: pear apple branch leaf root blossom</p>"; done
		echo '</body></html>'
	} >"$W/www/index.html"
	chmod -R a+rX "$W"
	cat >"$W/nginx.conf" <<CONF
worker_processes 2;
user www-data;
pid $W/nginx.pid;
error_log $W/error.log;
events { worker_connections 8192; }
http {
  access_log off;
  sendfile on;
  open_file_cache max=100;
  keepalive_requests 100000000;
  client_body_temp_path $W/body;
  proxy_temp_path $W/proxy;
  fastcgi_temp_path $W/fcgi;
  uwsgi_temp_path $W/uwsgi;
  scgi_temp_path $W/scgi;
  server { listen 127.0.0.1:$1; root $W/www; }
  ${2:+$(health_server "$2" nginx '{}')}
}
CONF
	if curl -s -o /dev/null "http://127.0.0.1:$1/" 2>/dev/null; then
		echo "port $1 is already in use: set PORT" >&2
		exit 1
	fi
	"$nginx" -c "$W/nginx.conf" -g 'daemon off;' &
	PIDS+=($!)
	URL=http://127.0.0.1:$1/
	for i in $(seq 1 50); do
		curl -fs -o /dev/null "$URL" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "nginx did not start" >&2
	cat "$W/error.log" >&2
	exit 1
}
