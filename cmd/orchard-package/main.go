// Command orchard-package builds orchard for the architectures people host
// small sites on and packages each build as a .deb:
//
//	go run ./cmd/orchard-package [-o dist] [-arch amd64,arm64,armhf[,armhf-armv6]]
//
// (scripts/package runs it). The version is `git describe` of the
// checkout, stamped into the binaries; every file time is the commit's
// time, so two runs on one commit write byte-identical packages.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// options of one packaging run.
type options struct {
	repo       string    // the checkout to build
	outDir     string    // where packages and binaries go
	arches     string    // comma-separated target names; "" = all
	describe   string    // the version stamped in the binaries; "" = git describe
	mtime      time.Time // file times; zero = SOURCE_DATE_EPOCH, else the commit's time
	commit     time.Time // the commit's time, for the version; zero = from git
	maintainer string
}

// artifact is what one target produced.
type artifact struct {
	target   target
	binary   string    // path of the orchard binary
	deb      string    // path of the package
	version  string    // the package's Debian version
	describe string    // the version stamped in the binary
	mtime    time.Time // the time of every file in the package
	commit   time.Time // the commit's time
}

func main() {
	o := options{}
	flag.StringVar(&o.repo, "C", ".", "the orchard checkout to build")
	flag.StringVar(&o.outDir, "o", "dist", "output directory")
	flag.StringVar(&o.arches, "arch", "", "comma-separated architectures: amd64, arm64, armhf (ARMv7), armhf-armv6 (Pi 1 and Zero) (default: amd64,arm64,armhf)")
	flag.StringVar(&o.describe, "version", "", "version to stamp (default: git describe --tags --always --dirty)")
	flag.StringVar(&o.maintainer, "maintainer", "orchard developers <orchard@orchardhq.invalid>", "the packages' Maintainer field")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "orchard-package: no arguments expected (see -h)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if _, err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "orchard-package:", err)
		os.Exit(1)
	}
}

// run builds and packages every target of o, printing one line per
// target (binary and package sizes) to w, and writes SHA256SUMS.
func run(ctx context.Context, o options, w io.Writer) ([]artifact, error) {
	ts, err := findTargets(o.arches)
	if err != nil {
		return nil, err
	}
	if o.describe == "" {
		if o.describe, err = describe(ctx, o.repo); err != nil {
			return nil, err
		}
	}
	if o.mtime.IsZero() {
		if o.mtime, err = sourceDateEpoch(ctx, o.repo); err != nil {
			return nil, err
		}
	}
	if o.commit.IsZero() {
		if o.commit, err = commitTime(ctx, o.repo); err != nil {
			return nil, err
		}
	}
	version, err := debVersion(o.describe, o.commit)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "orchard %s (package version %s, files dated %s)\n", o.describe, version, o.mtime.Format(time.RFC3339))
	var arts []artifact
	for _, t := range ts {
		a := artifact{target: t, version: version, describe: o.describe, mtime: o.mtime, commit: o.commit,
			binary: filepath.Join(o.outDir, fmt.Sprintf("orchard_%s_linux_%s", version, t.name))}
		if err := buildBinary(ctx, o.repo, t, o.describe, a.binary); err != nil {
			return nil, err
		}
		if err := os.Chtimes(a.binary, o.mtime, o.mtime); err != nil {
			return nil, err
		}
		a.deb, err = writeDeb(debSpec{repo: o.repo, binary: a.binary, target: t, version: version,
			mtime: o.mtime, maintainer: o.maintainer, outDir: o.outDir})
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "%-12s binary %5.1f MiB  %s %5.1f MiB\n", t.name, mib(a.binary), filepath.Base(a.deb), mib(a.deb))
		arts = append(arts, a)
	}
	return arts, writeSums(o.outDir, arts)
}

// sourceDateEpoch is $SOURCE_DATE_EPOCH when set (the reproducible-builds
// convention), else the commit's time.
func sourceDateEpoch(ctx context.Context, repo string) (time.Time, error) {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", s, err)
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	return commitTime(ctx, repo)
}

func mib(path string) float64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return float64(st.Size()) / (1 << 20)
}

// writeSums writes outDir/SHA256SUMS for the binaries and packages, in
// the format sha256sum -c reads.
func writeSums(outDir string, arts []artifact) error {
	var b strings.Builder
	for _, a := range arts {
		for _, p := range []string{a.binary, a.deb} {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			h := sha256.New()
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return errors.Join(fmt.Errorf("hash %s", p), err)
			}
			fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), filepath.Base(p))
		}
	}
	return os.WriteFile(filepath.Join(outDir, "SHA256SUMS"), []byte(b.String()), 0o644)
}
