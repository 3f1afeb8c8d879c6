package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/config"
)

func newReleasesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "releases -s HOST",
		Short: "List the releases of a site",
		Long: `List the releases of a site in the master's release store, newest first:
id, creation time, files, bytes, parent, and where each is active (the
master's pointer, and every node that answers its health check within a
second).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			host, err := hostArg(cmd)
			if err != nil {
				return err
			}
			cfg, store, err := loadReleases(cmd)
			if err != nil {
				return err
			}
			rels, err := store.Releases(host)
			if err != nil {
				return storeError(err)
			}
			if len(rels) == 0 {
				return shownError{orchard.Errorf(orchard.ENOTFOUND, "Site %s has no releases; run orchard build -s %s.", host, host)}
			}
			where := map[string][]string{}
			if id, err := store.Active(host); err == nil && id != "" {
				where[id] = append(where[id], "master")
			}
			for id, nodes := range activeOnNodes(cmd.Context(), cfg, host) {
				where[id] = append(where[id], nodes...)
			}
			tw := newTable(cmd.OutOrStdout(), "ID\tCREATED\tFILES\tBYTES\tPARENT\tACTIVE")
			for _, r := range rels {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", r.ID, r.Created.Local().Format("2006-01-02 15:04:05"),
					r.Files, r.Bytes, dash(r.Parent), dash(strings.Join(where[r.ID], ",")))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringP("site", "s", "", "site host name")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// activeOnNodes asks every node's health endpoint (1 s each, in parallel)
// which release of host it serves, and returns node names by release id.
func activeOnNodes(ctx context.Context, cfg *config.Config, host string) map[string][]string {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[string][]string{}
	for _, n := range cfg.Nodes {
		if n.Control == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.Control+orchard.HealthPath, nil)
			if err != nil {
				return
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			var h orchard.Health
			if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&h) != nil {
				return
			}
			if id := h.Releases[host]; id != "" {
				mu.Lock()
				out[id] = append(out[id], n.Name)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for id := range out {
		sort.Strings(out[id])
	}
	return out
}
