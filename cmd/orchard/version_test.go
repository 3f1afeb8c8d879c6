package main

import (
	"runtime/debug"
	"testing"
)

// TestVersionFrom: a version stamped at link time wins; without one the
// binary tells what the toolchain recorded rather than nothing.
func TestVersionFrom(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i+1 < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	devel := debug.Module{Path: "github.com/orchardhq/orchard", Version: "(devel)"}
	for _, tc := range []struct {
		name    string
		stamped string
		info    *debug.BuildInfo
		want    string
	}{
		{"Stamped", "v1.2.3-4-gabcdef1", &debug.BuildInfo{Main: devel, Settings: vcs("vcs.revision", "0123456789abcdef")}, "v1.2.3-4-gabcdef1"},
		{"StampedNoTag", "9f44049", nil, "9f44049"},
		{"GoInstall", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.4.0"}}, "v0.4.0"},
		{"Checkout", "", &debug.BuildInfo{Main: devel, Settings: vcs("vcs.revision", "0123456789abcdef", "vcs.modified", "false")}, "dev+0123456789ab"},
		{"DirtyCheckout", "", &debug.BuildInfo{Main: devel, Settings: vcs("vcs.revision", "0123456789abcdef", "vcs.modified", "true")}, "dev+0123456789ab-dirty"},
		{"NoVCS", "", &debug.BuildInfo{Main: devel}, "dev"},
		{"NoBuildInfo", "", nil, "dev"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionFrom(tc.stamped, tc.info); got != tc.want {
				t.Errorf("versionFrom(%q, ...) = %q, want %q", tc.stamped, got, tc.want)
			}
		})
	}
}
