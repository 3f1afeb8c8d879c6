package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// describe is `git describe` of the checkout at repo: the version stamped
// into the binaries (orchard version prints it).
func describe(ctx context.Context, repo string) (string, error) {
	return git(ctx, repo, "describe", "--tags", "--always", "--dirty", "--match", "v[0-9]*")
}

// commitTime is the committer time of HEAD: every file time in the
// packages, so that two builds of one commit are byte-identical.
func commitTime(ctx context.Context, repo string) (time.Time, error) {
	s, err := git(ctx, repo, "log", "-1", "--format=%ct")
	if err != nil {
		return time.Time{}, err
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("commit time %q: %w", s, err)
	}
	return time.Unix(sec, 0).UTC(), nil
}

func git(ctx context.Context, repo string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = repo
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

var (
	describeTagged = regexp.MustCompile(`^v?([0-9][0-9A-Za-z.+~-]*?)(?:-([0-9]+)-g([0-9a-f]{4,40}))?(-dirty)?$`)
	describeHash   = regexp.MustCompile(`^([0-9a-f]{4,40})(-dirty)?$`)
	debianVersion  = regexp.MustCompile(`^[0-9][0-9A-Za-z.+~]*$`)
)

// debVersion turns a `git describe` into a Debian version that sorts the
// way the commits do, so that dpkg -i of a later build upgrades:
//
//	v1.2.0            -> 1.2.0
//	v1.2.0-rc1        -> 1.2.0~rc1           (before 1.2.0)
//	v1.2.0-5-gabc1234 -> 1.2.0+5.gabc1234    (after 1.2.0)
//	abc1234           -> 0.0.0+git20261205.104831.abc1234 (no tag yet: the commit time orders)
//
// and "-dirty" (uncommitted changes) adds ".dirty" (v1.2.0-dirty ->
// 1.2.0+0.dirty).
func debVersion(desc string, commit time.Time) (string, error) {
	var v string
	// A hash-only describe is also a valid tag pattern ("1234abc" starts
	// with a digit), so the hash form is tried first.
	if m := describeHash.FindStringSubmatch(desc); m != nil {
		v = "0.0.0+git" + commit.UTC().Format("20060102.150405") + "." + m[1]
		if m[2] != "" {
			v += ".dirty"
		}
	} else if m := describeTagged.FindStringSubmatch(desc); m != nil {
		v = strings.ReplaceAll(m[1], "-", "~")
		if m[2] != "" {
			v += "+" + m[2] + ".g" + m[3]
		}
		if m[4] != "" {
			if m[2] == "" {
				v += "+0" // after the tag, before the next commit (+1.g...)
			}
			v += ".dirty"
		}
	} else {
		return "", fmt.Errorf("git describe %q: not a tag (v1.2.3), tag-N-gHASH or HASH", desc)
	}
	if !debianVersion.MatchString(v) {
		return "", fmt.Errorf("git describe %q gives %q, not a Debian version", desc, v)
	}
	return v, nil
}
