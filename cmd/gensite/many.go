package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/release"
	"github.com/orchardhq/orchard/sqlite"
)

// runMany writes n copies of s, each under its own host, into the
// database, the node data dir and the URL list that are given. One store
// stays open for all of them: the figures are about the sites, not about
// process starts.
func runMany(s *site, n int, nodeDir, orchardDB, urls string) error {
	ctx := context.Background()
	hosts := make([]string, n)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("s%05d.%s", i+1, s.host)
	}
	progress := func(i int) {
		if (i+1)%1000 == 0 || i+1 == n {
			fmt.Fprintf(os.Stderr, "  %d of %d sites\n", i+1, n)
		}
	}
	if orchardDB != "" {
		st, err := sqlite.Open(ctx, orchardDB)
		if err != nil {
			return err
		}
		defer st.Close()
		c := s.content()
		for i, h := range hosts {
			c.Site.Host = h
			if err := st.ReplaceSite(ctx, c, true); err != nil {
				return fmt.Errorf("write %s: %w", h, err)
			}
			progress(i)
		}
	}
	if nodeDir != "" {
		st, err := release.OpenStore(nodeDir)
		if err != nil {
			return err
		}
		b := &release.Builder{Store: st}
		for i, h := range hosts {
			res, err := b.Build(ctx, &orchard.Site{Host: h}, s)
			if err != nil {
				return fmt.Errorf("build %s: %w", h, err)
			}
			if _, err := st.SetActive(h, res.Release.ID); err != nil {
				return err
			}
			progress(i)
		}
	}
	if urls != "" {
		var b strings.Builder
		for _, h := range hosts {
			for _, p := range s.pagePaths {
				b.WriteString("http://" + h + p + "\n")
			}
		}
		return os.WriteFile(urls, []byte(b.String()), 0o644)
	}
	return nil
}
