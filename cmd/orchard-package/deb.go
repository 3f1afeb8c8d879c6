package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
)

// debSpec is one .deb to write.
type debSpec struct {
	repo       string    // the checkout: deploy/ and docs/ come from here
	binary     string    // the orchard binary for target
	target     target    //
	version    string    // Debian version (debVersion)
	mtime      time.Time // every file's time: the commit's
	maintainer string    // the Maintainer field
	outDir     string    // where the .deb goes
}

// fileName is the package's conventional name, orchard_VERSION_ARCH.deb
// (the armv6 build says so after its arch).
func (s debSpec) fileName() string {
	return fmt.Sprintf("orchard_%s_%s.deb", s.version, s.target.name)
}

// writeDeb writes the package with nfpm and returns its path. It installs
// what deploy/install.sh does, at Debian's places: the binary in
// /usr/bin, orchardctl in /usr/sbin, the units in /usr/lib/systemd/system
// (their /usr/local paths rewritten), the cluster file
// /etc/orchard/orchard.toml (from deploy/cluster.example.toml) and
// /etc/logrotate.d/orchard as conffiles, and docs/*.md with the example
// cluster files in /usr/share/doc/orchard. The maintainer scripts are
// deploy/debian/{postinst,prerm,postrm}.
func writeDeb(s debSpec) (string, error) {
	stage, err := os.MkdirTemp("", "orchard-deb-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(stage)
	deploy := filepath.Join(s.repo, "deploy")

	var contents files.Contents
	add := func(src, dst string, mode os.FileMode, typ string) {
		contents = append(contents, &files.Content{
			Source: src, Destination: dst, Type: typ,
			FileInfo: &files.ContentFileInfo{Mode: mode, MTime: s.mtime, Owner: "root", Group: "root"},
		})
	}
	// relocated copies a deploy/ file with /usr/local/ made /usr/: the
	// package owns /usr, install.sh the administrator's /usr/local.
	relocated := func(src string) (string, error) {
		b, err := os.ReadFile(src)
		if err != nil {
			return "", err
		}
		dst := filepath.Join(stage, filepath.Base(src))
		return dst, os.WriteFile(dst, []byte(strings.ReplaceAll(string(b), "/usr/local/", "/usr/")), 0o644)
	}

	add(s.binary, "/usr/bin/orchard", 0o755, "")
	ctl, err := relocated(filepath.Join(deploy, "orchardctl"))
	if err != nil {
		return "", err
	}
	add(ctl, "/usr/sbin/orchardctl", 0o755, "")
	units, err := filepath.Glob(filepath.Join(deploy, "systemd", "*.service"))
	if err != nil || len(units) == 0 {
		return "", fmt.Errorf("no systemd units in %s/systemd (%v)", deploy, err)
	}
	for _, u := range units {
		src, err := relocated(u)
		if err != nil {
			return "", err
		}
		add(src, "/usr/lib/systemd/system/"+filepath.Base(u), 0o644, "")
	}
	add(filepath.Join(deploy, "logrotate", "orchard"), "/etc/logrotate.d/orchard", 0o644, files.TypeConfigNoReplace)
	add(filepath.Join(deploy, "cluster.example.toml"), "/etc/orchard/orchard.toml", 0o640, files.TypeConfigNoReplace)
	docs, err := filepath.Glob(filepath.Join(s.repo, "docs", "*.md"))
	if err != nil {
		return "", err
	}
	examples, err := filepath.Glob(filepath.Join(deploy, "*.example.toml"))
	if err != nil {
		return "", err
	}
	for _, d := range append(docs, examples...) {
		add(d, "/usr/share/doc/orchard/"+filepath.Base(d), 0o644, "")
	}

	info := nfpm.WithDefaults(&nfpm.Info{
		Name:          "orchard",
		Arch:          s.target.deb,
		Platform:      "linux",
		Version:       s.version,
		VersionSchema: "none", // debVersion already made it a Debian version
		Section:       "httpd",
		Priority:      "optional",
		Maintainer:    s.maintainer,
		Homepage:      "https://github.com/orchardhq/orchard",
		Description: "many small websites on a cluster of cheap machines\n" +
			"One static binary runs every role of an orchard cluster: the master\n" +
			"(CMS, admin UI, build and publish), the web nodes that serve each site's\n" +
			"active release from memory, and the load balancer. Publishing is atomic\n" +
			"and sends only what changed. Enable the roles of this machine with\n" +
			"systemctl enable --now orchard-master, orchard-node@NAME or orchard-balancer.",
		MTime: s.mtime,
		Overridables: nfpm.Overridables{
			// useradd and groupadd (passwd) in postinst; runuser
			// (util-linux, essential) in orchardctl.
			Depends:    []string{"passwd"},
			Recommends: []string{"logrotate"},
			Suggests:   []string{"keepalived", "mariadb-server"},
			Contents:   contents,
			Scripts: nfpm.Scripts{
				PostInstall: filepath.Join(deploy, "debian", "postinst"),
				PreRemove:   filepath.Join(deploy, "debian", "prerm"),
				PostRemove:  filepath.Join(deploy, "debian", "postrm"),
			},
			Deb: nfpm.Deb{Compression: "xz"}, // the smallest download for a board; every dpkg reads it
		},
	})
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		return "", fmt.Errorf("package %s: %w", s.target.name, err)
	}
	if err := os.MkdirAll(s.outDir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(s.outDir, s.fileName())
	tmp, err := os.CreateTemp(s.outDir, ".orchard-deb-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if err := deb.Default.Package(info, tmp); err != nil {
		tmp.Close()
		return "", fmt.Errorf("package %s: %w", s.target.name, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return path, os.Rename(tmp.Name(), path)
}
