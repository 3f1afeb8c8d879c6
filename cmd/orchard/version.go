package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is the `git describe` of the commit the binary was built from,
// stamped by the packager (cmd/orchard-package) with
// -ldflags "-X main.version=...". Empty in a plain go build, which falls
// back to what the Go toolchain recorded (versionFrom).
var version string

func versionString() string {
	info, _ := debug.ReadBuildInfo()
	return versionFrom(version, info)
}

// versionFrom is the version to print: the stamped one when there is one,
// else the module version of a `go install pkg@version`, else "dev" with
// the VCS revision (and "-dirty" for uncommitted changes) that go build
// records in a checkout.
func versionFrom(stamped string, info *debug.BuildInfo) string {
	if stamped != "" {
		return stamped
	}
	if info == nil {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	v := "dev"
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) >= 12 {
		v += "+" + rev[:12] + dirty
	}
	return v
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "orchard", versionString())
			return nil
		},
	}
}
