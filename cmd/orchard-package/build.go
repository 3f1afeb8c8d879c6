package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// target is one architecture orchard is packaged for.
type target struct {
	name    string // in the package file name: orchard_VERSION_NAME.deb
	goarch  string
	goarm   string // GOARM for goarch arm
	deb     string // the Debian architecture
	qemu    string // the qemu-user program that runs it on amd64; "" for amd64
	qemuCPU string // qemu's -cpu, to hold the binary to its oldest CPU
	// optional targets are built only when asked for by name: GOARM=6
	// shares no compiled package with GOARM=7, so it doubles the ARM
	// build (about 14 minutes on a cold cache on the busy 2-core CI).
	optional bool
}

// targets are the architectures of the boards people host small sites on:
// PCs, 64-bit ARM boards, 32-bit ARMv7 (Banana Pi, Pi 2) and, on request,
// ARMv6 (Pi 1 and Zero, whose Raspbian calls itself armhf too: the armv6
// package is the armhf one built for the older CPU).
func targets() []target {
	return []target{
		{name: "amd64", goarch: "amd64", deb: "amd64"},
		{name: "arm64", goarch: "arm64", deb: "arm64", qemu: "qemu-aarch64"},
		{name: "armhf", goarch: "arm", goarm: "7", deb: "armhf", qemu: "qemu-arm", qemuCPU: "cortex-a7"},
		{name: "armhf-armv6", goarch: "arm", goarm: "6", deb: "armhf", qemu: "qemu-arm", qemuCPU: "arm1176", optional: true},
	}
}

// findTargets returns the targets named in a comma-separated list ("" is
// every target but the optional ones).
func findTargets(list string) ([]target, error) {
	all := targets()
	if list == "" {
		var ts []target
		for _, t := range all {
			if !t.optional {
				ts = append(ts, t)
			}
		}
		return ts, nil
	}
	var ts []target
	for _, name := range strings.Split(list, ",") {
		found := false
		for _, t := range all {
			if t.name == name {
				ts, found = append(ts, t), true
			}
		}
		if !found {
			var names []string
			for _, t := range all {
				names = append(names, t.name)
			}
			return nil, fmt.Errorf("unknown architecture %q (known: %s)", name, strings.Join(names, ", "))
		}
	}
	return ts, nil
}

// buildBinary builds ./cmd/orchard of repo for t into out: static
// (CGO_ENABLED=0; SQLite is pure Go), without file paths or VCS state
// (-trimpath, -buildvcs=false: the same commit gives the same bytes
// anywhere), without the symbol table (-s -w: a Pi's SD card is small;
// stack traces keep their function names), with version stamped.
func buildBinary(ctx context.Context, repo string, t target, version, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w -X main.version="+version, "-o", out, "./cmd/orchard")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+t.goarch, "GOARM="+t.goarm,
		"GOAMD64=v1", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build for %s: %w\n%s", t.name, err, b)
	}
	return nil
}
