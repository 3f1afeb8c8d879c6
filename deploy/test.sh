#!/bin/sh
# test.sh: check deploy/ without touching this machine: the example cluster
# file passes `orchard config check`, the units parse, and install.sh installs
# into a staging tree (DESTDIR) twice with the same result, keeping the
# operator's files, and refuses to run without root.
#
#   deploy/test.sh [path/to/orchard]     (default: built from this checkout)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

bin=${1:-}
if [ -z "$bin" ]; then
	(cd "$repo" && go build -o "$T/orchard" ./cmd/orchard)
	bin=$T/orchard
fi

# The example passes config check (on a copy: the check creates a secret).
mkdir "$T/ex"
cp "$here/cluster.example.toml" "$T/ex/orchard.toml"
"$bin" config check --config "$T/ex/orchard.toml" >/dev/null || fail "cluster.example.toml does not pass config check"
[ "$(stat -c %a "$T/ex/secret.key")" = 600 ] || fail "secret not created 0600"

# The units parse (systemd-analyze prints every unknown key or bad value).
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir "$T/units"
	for u in "$here"/systemd/*.service; do
		sed "s#/usr/local/bin/orchard#$bin#" "$u" >"$T/units/$(basename "$u")"
	done
	cp "$T/units/orchard-node@.service" "$T/units/orchard-node@node0.service"
	out=$(systemd-analyze verify "$T/units/orchard-master.service" "$T/units/orchard-balancer.service" \
		"$T/units/orchard-node@node0.service" 2>&1 || true)
	[ -z "$out" ] || fail "systemd-analyze verify: $out"
	grep -q '^AmbientCapabilities=CAP_NET_BIND_SERVICE$' "$here/systemd/orchard-balancer.service" || fail "balancer lacks CAP_NET_BIND_SERVICE"
	for u in orchard-master.service orchard-node@.service; do
		grep -q '^CapabilityBoundingSet=$' "$here/systemd/$u" || fail "$u has capabilities"
	done
fi

# install.sh into a staging tree, twice.
D=$T/root
DESTDIR=$D "$here/install.sh" --binary "$bin" >"$T/run1" || fail "first install: $(cat "$T/run1")"
sum1=$(cd "$D" && find . -type f -exec md5sum {} + | sort)
echo "# edited" >>"$D/etc/orchard/orchard.toml"
DESTDIR=$D "$here/install.sh" --binary "$bin" >"$T/run2" || fail "second install"
grep -q '^# edited$' "$D/etc/orchard/orchard.toml" || fail "install.sh overwrote the cluster file"
sed -i '$d' "$D/etc/orchard/orchard.toml"
sum2=$(cd "$D" && find . -type f -exec md5sum {} + | sort)
[ "$sum1" = "$sum2" ] || fail "second install changed files"
for f in etc/orchard/secret.key:600 etc/orchard/orchard.toml:640 etc/orchard/orchard.env:640 usr/local/bin/orchard:755; do
	[ "$(stat -c %a "$D/${f%%:*}")" = "${f##*:}" ] || fail "${f%%:*} is not mode ${f##*:}"
done
"$D/usr/local/bin/orchard" config check --config "$D/etc/orchard/orchard.toml" >/dev/null || fail "installed cluster file does not check"

# --secret installs the given secret.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/s.key"
DESTDIR=$D "$here/install.sh" --binary "$bin" --secret "$T/s.key" >/dev/null || fail "--secret"
cmp -s "$T/s.key" "$D/etc/orchard/secret.key" || fail "--secret not installed"

# Without root (and without DESTDIR) it refuses.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	cp -r "$here" "$T/deploy" && chmod -R a+rX "$T"
	if runuser -u nobody -- "$T/deploy/install.sh" --binary "$bin" >"$T/norootout" 2>&1; then
		fail "install.sh ran without root"
	fi
	grep -q 'run me as root' "$T/norootout" || fail "without root: $(cat "$T/norootout")"
fi
echo "deploy: ok"
