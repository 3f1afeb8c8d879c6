package main

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// dpkgDeb runs dpkg-deb with args and returns its output.
func dpkgDeb(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := exec.Command(need(tb, "dpkg-deb"), args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("dpkg-deb %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestPackageContents reads every package with dpkg-deb: the control
// fields, the conffiles, the files with their modes, units that run the
// packaged binary, and a binary for the package's CPU.
func TestPackageContents(t *testing.T) {
	need(t, "dpkg-deb")
	_, arts := mustPackages(t)
	machine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "armhf": elf.EM_ARM}
	for _, a := range arts {
		t.Run(a.target.name, func(t *testing.T) {
			if got, want := filepath.Base(a.deb), "orchard_"+a.version+"_"+a.target.name+".deb"; got != want {
				t.Errorf("package file %s, want %s", got, want)
			}
			for field, want := range map[string]string{
				"Package": "orchard", "Version": a.version, "Architecture": a.target.deb,
				"Maintainer": "orchard tests <test@orchardhq.invalid>", "Depends": "passwd", "Section": "httpd",
			} {
				if got := strings.TrimSpace(dpkgDeb(t, "--field", a.deb, field)); got != want {
					t.Errorf("%s: %q, want %q", field, got, want)
				}
			}
			if got, want := dpkgDeb(t, "--info", a.deb, "conffiles"), "/etc/logrotate.d/orchard\n/etc/orchard/orchard.toml\n"; got != want {
				t.Errorf("conffiles:\n%s\nwant:\n%s", got, want)
			}
			for _, s := range []string{"postinst", "prerm", "postrm"} {
				if !strings.Contains(dpkgDeb(t, "--info", a.deb), " "+s+" ") {
					t.Errorf("no %s maintainer script", s)
				}
			}

			listing := dpkgDeb(t, "--contents", a.deb)
			for path, mode := range map[string]string{
				"./usr/bin/orchard":                                 "-rwxr-xr-x root/root",
				"./usr/sbin/orchardctl":                             "-rwxr-xr-x root/root",
				"./usr/lib/systemd/system/orchard-master.service":   "-rw-r--r-- root/root",
				"./usr/lib/systemd/system/orchard-node@.service":    "-rw-r--r-- root/root",
				"./usr/lib/systemd/system/orchard-balancer.service": "-rw-r--r-- root/root",
				"./etc/orchard/orchard.toml":                        "-rw-r----- root/root",
				"./etc/logrotate.d/orchard":                         "-rw-r--r-- root/root",
				"./usr/share/doc/orchard/install.md":                "-rw-r--r-- root/root",
				"./usr/share/doc/orchard/cluster.example.toml":      "-rw-r--r-- root/root",
			} {
				if !hasEntry(listing, path, mode) {
					t.Errorf("no %s %s in:\n%s", mode, path, listing)
				}
			}
			if strings.Contains(listing, "./usr/local") || strings.Contains(listing, "secret") {
				t.Errorf("the package ships /usr/local or a secret:\n%s", listing)
			}

			root := t.TempDir()
			dpkgDeb(t, "-x", a.deb, root)
			for _, f := range []string{"usr/lib/systemd/system/orchard-master.service", "usr/lib/systemd/system/orchard-keepalived.service", "usr/sbin/orchardctl"} {
				b, err := os.ReadFile(filepath.Join(root, f))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(b), "/usr/bin/orchard") || strings.Contains(string(b), "/usr/local") {
					t.Errorf("%s does not run /usr/bin/orchard, or names /usr/local:\n%s", f, b)
				}
			}
			bin, err := elf.Open(filepath.Join(root, "usr/bin/orchard"))
			if err != nil {
				t.Fatal(err)
			}
			defer bin.Close()
			if want := machine[a.target.deb]; bin.Machine != want {
				t.Errorf("binary for %s, want %s", bin.Machine, want)
			}
			if bin.FileHeader.Type != elf.ET_EXEC {
				t.Errorf("binary of type %s, want a static executable", bin.FileHeader.Type)
			}
			for _, p := range bin.Progs {
				if p.Type == elf.PT_INTERP {
					t.Errorf("binary has an interpreter: it is not static")
				}
			}
		})
	}
}

// hasEntry says whether a dpkg-deb --contents listing has path with mode
// and owner.
func hasEntry(listing, path, modeOwner string) bool {
	for _, line := range strings.Split(listing, "\n") {
		f := strings.Fields(line)
		if len(f) >= 6 && f[len(f)-1] == path && f[0]+" "+f[1] == modeOwner {
			return true
		}
	}
	return false
}

// TestPackagesReproducible builds the armhf package a second time, binary
// included, into another directory: every byte is the same. (One target:
// each link takes half a minute on the busy CI machine.)
func TestPackagesReproducible(t *testing.T) {
	opts, arts := mustPackages(t)
	again := opts
	again.outDir = t.TempDir()
	again.arches = "armhf"
	// The same commit: what the first build read from git (HEAD may have
	// moved since, in a checkout someone works in).
	again.describe, again.mtime, again.commit = arts[0].describe, arts[0].mtime, arts[0].commit
	var log strings.Builder
	second, err := run(context.Background(), again, &log)
	if err != nil {
		t.Fatalf("second build: %v", err)
	}
	for _, b := range second {
		a := artifactFor(t, arts, b.target.name)
		for _, pair := range [][2]string{{a.binary, b.binary}, {a.deb, b.deb}} {
			x, err := os.ReadFile(pair[0])
			if err != nil {
				t.Fatal(err)
			}
			y, err := os.ReadFile(pair[1])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(x, y) {
				t.Errorf("%s differs between two builds (%d and %d bytes)", filepath.Base(pair[0]), len(x), len(y))
			}
		}
	}
	sums1, _ := os.ReadFile(filepath.Join(opts.outDir, "SHA256SUMS"))
	sums2, _ := os.ReadFile(filepath.Join(again.outDir, "SHA256SUMS"))
	for _, line := range strings.Split(strings.TrimSpace(string(sums2)), "\n") {
		if !strings.Contains(string(sums1), line) {
			t.Errorf("SHA256SUMS line %q of the second build is not in the first", line)
		}
	}
}

// fakeRoot is an empty system for dpkg --root: a dpkg database, the
// account files, /run/systemd/system (so the maintainer scripts call
// systemctl) and a systemctl on PATH that logs its arguments.
type fakeRoot struct {
	dir  string
	path string // PATH with the fake systemctl first
}

func newFakeRoot(t *testing.T) *fakeRoot {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/updates", "var/lib/dpkg/info", "etc", "run/systemd/system", "fakebin"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{
		"var/lib/dpkg/status": "",
		"etc/passwd":          "root:x:0:0:root:/root:/bin/sh\n",
		"etc/group":           "root:x:0:\n",
		"etc/shadow":          "root:*:19000:0:99999:7:::\n",
		"etc/gshadow":         "root:*::\n",
		"fakebin/systemctl":   "#!/bin/sh\necho \"$*\" >>\"$(dirname \"$0\")/../systemctl.log\"\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &fakeRoot{dir: dir, path: filepath.Join(dir, "fakebin") + ":" + os.Getenv("PATH")}
}

// dpkg runs dpkg on the fake root without chroot: the maintainer scripts
// see it as $DPKG_ROOT. passwd, the one dependency, is the host's.
func (r *fakeRoot) dpkg(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(need(t, "dpkg"), append([]string{"--root=" + r.dir, "--force-not-root",
		"--force-script-chrootless", "--force-depends", "--log=/dev/null"}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+r.path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (r *fakeRoot) read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// takeSystemctl returns what the maintainer scripts asked systemctl since
// the last call.
func (r *fakeRoot) takeSystemctl(t *testing.T) string {
	t.Helper()
	p := filepath.Join(r.dir, "systemctl.log")
	b, _ := os.ReadFile(p)
	os.Remove(p)
	return string(b)
}

// TestPackageInstall installs the amd64 package with dpkg into an empty
// root: the maintainer scripts create the orchard user, the directories
// and a secret; the installed binary passes `orchard config check` on the
// installed cluster file. Then it upgrades to a newer version: an edited
// cluster file and the secret stay, the running roles are restarted
// (try-restart: only those running); then it removes and purges.
func TestPackageInstall(t *testing.T) {
	need(t, "useradd")
	opts, arts := mustPackages(t)
	a := artifactFor(t, arts, "amd64")
	r := newFakeRoot(t)

	out := r.dpkg(t, "-i", a.deb)
	t.Logf("dpkg -i:\n%s", out)
	if !strings.Contains(r.read(t, "etc/passwd"), "orchard:x:") || !strings.Contains(r.read(t, "etc/group"), "orchard:x:") {
		t.Fatalf("no orchard user or group:\n%s%s", r.read(t, "etc/passwd"), r.read(t, "etc/group"))
	}
	uid, gid := accountIDs(t, r.read(t, "etc/passwd"))
	for path, want := range map[string]string{
		"etc/orchard":              fmt.Sprintf("drwxr-x--- 0:%d", gid),
		"etc/orchard/orchard.toml": fmt.Sprintf("-rw-r----- 0:%d", gid),
		"etc/orchard/orchard.env":  fmt.Sprintf("-rw-r----- 0:%d", gid),
		"etc/orchard/secret.key":   fmt.Sprintf("-rw------- %d:%d", uid, gid),
		"var/lib/orchard":          fmt.Sprintf("drwxr-x--- %d:%d", uid, gid),
		"var/log/orchard":          fmt.Sprintf("drwxr-x--- %d:%d", uid, gid),
		"usr/bin/orchard":          "-rwxr-xr-x 0:0",
	} {
		if got := modeOwner(t, filepath.Join(r.dir, path)); got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
	secret := r.read(t, "etc/orchard/secret.key")
	if len(strings.TrimSpace(secret)) != 64 {
		t.Errorf("secret %q: want 64 hex digits", secret)
	}
	if got := r.takeSystemctl(t); got != "daemon-reload\n" {
		t.Errorf("a first install asked systemctl %q, want only daemon-reload (no role is started)", got)
	}

	bin := filepath.Join(r.dir, "usr/bin/orchard")
	ver, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(ver)) != "orchard "+a.describe {
		t.Errorf("installed orchard version: %q, %v; want %q", ver, err, "orchard "+a.describe)
	}
	check, err := exec.Command(bin, "config", "check", "--config", filepath.Join(r.dir, "etc/orchard/orchard.toml")).CombinedOutput()
	if err != nil {
		t.Fatalf("orchard config check on the installed cluster file: %v\n%s", err, check)
	}
	if got := r.read(t, "etc/orchard/secret.key"); got != secret {
		t.Errorf("config check replaced the secret")
	}

	// Upgrade: the same files under a later version.
	conf := filepath.Join(r.dir, "etc/orchard/orchard.toml")
	edited := r.read(t, "etc/orchard/orchard.toml") + "# edited by the operator\n"
	if err := os.WriteFile(conf, []byte(edited), 0o640); err != nil {
		t.Fatal(err)
	}
	newer := a
	newer.version = a.version + "+1"
	deb2, err := writeDeb(debSpec{repo: opts.repo, binary: a.binary, target: a.target, version: newer.version,
		mtime: a.mtime, maintainer: "orchard tests <test@orchardhq.invalid>", outDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	out = r.dpkg(t, "-i", deb2)
	t.Logf("dpkg -i (upgrade):\n%s", out)
	if !strings.Contains(out, "Unpacking orchard ("+newer.version+") over ("+a.version+")") {
		t.Errorf("not an upgrade from %s to %s:\n%s", a.version, newer.version, out)
	}
	if got := r.read(t, "etc/orchard/orchard.toml"); got != edited {
		t.Errorf("the upgrade replaced the edited cluster file")
	}
	if got := r.read(t, "etc/orchard/secret.key"); got != secret {
		t.Errorf("the upgrade replaced the secret")
	}
	if got := modeOwner(t, conf); got != fmt.Sprintf("-rw-r----- 0:%d", gid) {
		t.Errorf("cluster file after upgrade: %s", got)
	}
	calls := r.takeSystemctl(t)
	if !strings.Contains(calls, "try-restart orchard-master.service orchard-balancer.service orchard-balancer@*.service orchard-node@*.service") ||
		strings.Contains(calls, " start ") || strings.Contains(calls, "enable") {
		t.Errorf("the upgrade asked systemctl:\n%s\nwant try-restart of the roles (restarting only running ones), no start or enable", calls)
	}
	if strings.Count("\n"+r.read(t, "etc/passwd"), "\norchard:") != 1 {
		t.Errorf("the upgrade added a second orchard user:\n%s", r.read(t, "etc/passwd"))
	}

	r.dpkg(t, "--remove", "orchard")
	if calls := r.takeSystemctl(t); !strings.Contains(calls, "stop orchard-*.service") {
		t.Errorf("removal asked systemctl %q, want the roles stopped", calls)
	}
	if _, err := os.Stat(bin); !os.IsNotExist(err) {
		t.Errorf("removal left %s", bin)
	}
	if r.read(t, "etc/orchard/secret.key") != secret {
		t.Errorf("removal (not purge) touched the secret")
	}
	r.dpkg(t, "--purge", "orchard")
	for _, p := range []string{"etc/orchard/secret.key", "etc/orchard/orchard.toml", "etc/orchard/orchard.env"} {
		if _, err := os.Stat(filepath.Join(r.dir, p)); !os.IsNotExist(err) {
			t.Errorf("purge left %s", p)
		}
	}
}

// accountIDs returns orchard's uid and gid from an /etc/passwd.
func accountIDs(t *testing.T, passwd string) (uid, gid int) {
	t.Helper()
	for _, line := range strings.Split(passwd, "\n") {
		f := strings.Split(line, ":")
		if len(f) > 3 && f[0] == "orchard" {
			fmt.Sscan(f[2], &uid)
			fmt.Sscan(f[3], &gid)
			return uid, gid
		}
	}
	t.Fatalf("no orchard in:\n%s", passwd)
	return 0, 0
}

// modeOwner is "MODE UID:GID" of path, as stat -c '%A %u:%g' says.
func modeOwner(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("stat", "-c", "%A %u:%g", path).CombinedOutput()
	if err != nil {
		t.Fatalf("stat %s: %v %s", path, err, out)
	}
	return strings.TrimSpace(string(out))
}
