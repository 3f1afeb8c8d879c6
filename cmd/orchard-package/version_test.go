package main

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestDebVersion: every form of git describe becomes a Debian version
// that orders like the commits.
func TestDebVersion(t *testing.T) {
	commit := time.Date(2026, 12, 5, 10, 48, 31, 0, time.UTC)
	for _, tc := range []struct{ describe, want string }{
		{"v1.2.0", "1.2.0"},
		{"1.2.0", "1.2.0"},
		{"v1.2.0-rc1", "1.2.0~rc1"},
		{"v1.2.0-5-gabc1234", "1.2.0+5.gabc1234"},
		{"v1.2.0-rc1-5-gabc1234", "1.2.0~rc1+5.gabc1234"},
		{"v1.2.0-dirty", "1.2.0+0.dirty"},
		{"v1.2.0-5-gabc1234-dirty", "1.2.0+5.gabc1234.dirty"},
		{"9f44049", "0.0.0+git20261205.104831.9f44049"},
		{"9f44049-dirty", "0.0.0+git20261205.104831.9f44049.dirty"},
	} {
		got, err := debVersion(tc.describe, commit)
		if err != nil || got != tc.want {
			t.Errorf("debVersion(%q) = %q, %v; want %q", tc.describe, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "release-one", "v", "v1.0 beta", "xyz-dirty"} {
		if got, err := debVersion(bad, commit); err == nil {
			t.Errorf("debVersion(%q) = %q, want an error", bad, got)
		}
	}
}

// TestDebVersionOrder: dpkg itself agrees that each later describe is a
// later version, so installing a newer build upgrades.
func TestDebVersionOrder(t *testing.T) {
	dpkg := need(t, "dpkg")
	commit := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	later := commit.Add(time.Hour)
	versions := []struct {
		describe string
		commit   time.Time
	}{
		{"abc1234", commit}, {"def5678", later}, {"v0.1.0-rc1", commit}, {"v0.1.0", commit},
		{"v0.1.0-dirty", commit}, {"v0.1.0-1-g1234567", commit}, {"v0.1.0-2-gabcdef0", commit}, {"v0.2.0", commit},
	}
	prev := ""
	for _, v := range versions {
		cur, err := debVersion(v.describe, v.commit)
		if err != nil {
			t.Fatal(err)
		}
		if prev != "" {
			if out, err := exec.Command(dpkg, "--compare-versions", prev, "lt", cur).CombinedOutput(); err != nil {
				t.Errorf("dpkg says %s is not before %s (%s): %v %s", prev, cur, v.describe, err, strings.TrimSpace(string(out)))
			}
		}
		prev = cur
	}
}

// FuzzDebVersion: whatever git describe prints, debVersion either refuses
// it or returns a version dpkg accepts.
func FuzzDebVersion(f *testing.F) {
	for _, s := range []string{"v1.2.0", "v1.2.0-5-gabc1234-dirty", "9f44049", "v1.0.0-rc.1", "1", "v1..2--3"} {
		f.Add(s)
	}
	commit := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, desc string) {
		v, err := debVersion(desc, commit)
		if err != nil {
			return
		}
		if !debianVersion.MatchString(v) || strings.ContainsAny(v, " -_:") {
			t.Fatalf("debVersion(%q) = %q: not a Debian upstream version", desc, v)
		}
	})
}
