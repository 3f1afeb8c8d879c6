#!/bin/sh
# install.sh: install orchard on this machine, for any role.
#
#   sudo deploy/install.sh [--binary PATH] [--secret FILE] [--enable ROLE]...
#
# ROLE is master, balancer or a node name (node0 -> orchard-node@node0).
# Creates the system user orchard, /etc/orchard (the cluster file, env file
# and secret), /var/lib/orchard (data) and /var/log/orchard, installs the
# binary as /usr/local/bin/orchard, orchardctl, the systemd units, a
# logrotate file and the docs. Run it again at any time: it never
# overwrites the cluster file, the env file or the secret, and it only
# upgrades the binary and the units.
#
# Without --binary it uses ./orchard, else builds ./cmd/orchard with go.
# DESTDIR=/tmp/x installs into a staging tree (no user, no systemctl).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
binary=""
secret=""
enable=""

die() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "install.sh: $*"; }

while [ $# -gt 0 ]; do
	case "$1" in
	--binary) [ $# -ge 2 ] || die "--binary needs a path"; binary=$2; shift 2 ;;
	--secret) [ $# -ge 2 ] || die "--secret needs a file"; secret=$2; shift 2 ;;
	--enable) [ $# -ge 2 ] || die "--enable needs master, balancer or a node name"; enable="$enable $2"; shift 2 ;;
	-h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done

D=${DESTDIR:-}
if [ -z "$D" ] && [ "$(id -u)" != 0 ]; then
	die "run me as root (sudo $0): I create a user and write to /etc, /usr/local and /var"
fi
for r in $enable; do
	case "$r" in
	master|balancer) ;;
	*) printf '%s' "$r" | grep -Eq '^[A-Za-z0-9_-]{1,32}$' || die "--enable $r: not master, balancer or a node name" ;;
	esac
done

# The binary: given, ./orchard, or built from this checkout.
if [ -z "$binary" ]; then
	if [ -x ./orchard ] && [ ! -d ./orchard ]; then
		binary=./orchard
	elif command -v go >/dev/null 2>&1 && [ -f "$repo/go.mod" ]; then
		tmp=$(mktemp -d)
		trap 'rm -rf "$tmp"' EXIT
		say "building $repo/cmd/orchard"
		(cd "$repo" && CGO_ENABLED=0 go build -trimpath -o "$tmp/orchard" ./cmd/orchard)
		binary=$tmp/orchard
	else
		die "no binary: give --binary PATH (build one with: CGO_ENABLED=0 go build -o orchard ./cmd/orchard)"
	fi
fi
if [ ! -f "$binary" ] || [ ! -x "$binary" ]; then
	die "$binary is not an executable file"
fi
"$binary" version >/dev/null 2>&1 || die "$binary does not run on this machine (wrong GOOS/GOARCH?)"

# The user: a system account with no shell and no login.
if [ -z "$D" ]; then
	if ! getent group orchard >/dev/null; then
		groupadd --system orchard
		say "created group orchard"
	fi
	if ! getent passwd orchard >/dev/null; then
		useradd --system --gid orchard --home-dir /var/lib/orchard --no-create-home \
			--shell /usr/sbin/nologin --comment "orchard web cluster" orchard
		say "created user orchard"
	fi
	owner=orchard
else
	owner=$(id -un)
fi
group=$owner
[ -z "$D" ] || group=$(id -gn)

# Directories: config readable by the service, data and logs its own.
install -d -m 0755 "$D/usr/local/bin" "$D/usr/local/sbin" "$D/etc/systemd/system" \
	"$D/etc/logrotate.d" "$D/usr/local/share/doc/orchard"
install -d -m 0750 -o root -g "$group" "$D/etc/orchard" 2>/dev/null || install -d -m 0750 "$D/etc/orchard"
install -d -m 0750 -o "$owner" -g "$group" "$D/var/lib/orchard" "$D/var/log/orchard"

# Files that are replaced on every run.
install -m 0755 "$binary" "$D/usr/local/bin/orchard.new"
mv -f "$D/usr/local/bin/orchard.new" "$D/usr/local/bin/orchard"
install -m 0755 "$here/orchardctl" "$D/usr/local/sbin/orchardctl"
for u in "$here"/systemd/*.service; do
	install -m 0644 "$u" "$D/etc/systemd/system/$(basename "$u")"
done
install -m 0644 "$here/logrotate/orchard" "$D/etc/logrotate.d/orchard"
for f in "$repo"/docs/*.md; do
	[ -f "$f" ] && install -m 0644 "$f" "$D/usr/local/share/doc/orchard/"
done
install -m 0644 "$here/cluster.example.toml" "$D/usr/local/share/doc/orchard/cluster.example.toml"

# Files that are the operator's: created once, never overwritten.
conf=$D/etc/orchard/orchard.toml
if [ ! -e "$conf" ]; then
	install -m 0640 "$here/cluster.example.toml" "$conf"
	say "wrote $conf from the example: edit the addresses, then run: orchardctl config check"
fi
env=$D/etc/orchard/orchard.env
if [ ! -e "$env" ]; then
	umask 027
	cat >"$env" <<'ENV'
# Read by the orchard units and by orchardctl. KEY=value, no quotes needed.
# The application password of the MySQL/MariaDB DSNs in orchard.toml:
#ORCHARD_DB_PASSWORD=
# Only for `orchardctl db ...` on the machine that sets up replication:
#ORCHARD_DB_ADMIN_PASSWORD=
ENV
	umask 022
	say "wrote $env (put ORCHARD_DB_PASSWORD there when driver = \"mysql\")"
fi
key=$D/etc/orchard/secret.key
if [ -n "$secret" ]; then
	[ -s "$secret" ] || die "--secret $secret: no such file, or empty"
	if [ -e "$key" ] && ! cmp -s "$secret" "$key"; then
		say "replacing $key with $secret (the old one is kept as $key.old)"
		cp -p "$key" "$key.old"
	fi
	install -m 0600 "$secret" "$key"
elif [ ! -e "$key" ]; then
	(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$key" && echo >>"$key")
	say "created a NEW cluster secret $key: every machine of the cluster needs this same file;"
	say "  copy it to the others and install with: sudo deploy/install.sh --secret FILE"
fi
chmod 0600 "$key"
chown "$owner:$group" "$key"
chown "root:$group" "$conf" "$env" 2>/dev/null || true
chmod 0640 "$conf" "$env"

if [ -z "$D" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload
	for r in $enable; do
		case "$r" in
		master) unit=orchard-master.service ;;
		balancer) unit=orchard-balancer.service ;;
		*) unit=orchard-node@$r.service ;;
		esac
		systemctl enable "$unit"
		say "enabled $unit (start it with: systemctl start $unit)"
	done
elif [ -n "$enable" ]; then
	say "no systemd here: not enabling$enable"
fi
say "installed $("$D/usr/local/bin/orchard" version 2>/dev/null || echo orchard) into ${D:-/}"
