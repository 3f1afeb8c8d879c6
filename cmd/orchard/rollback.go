package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/release"
)

func newRollbackCmd() *cobra.Command {
	var (
		site  string
		quiet bool
	)
	cmd := &cobra.Command{
		Use:   "rollback -s HOST [RELEASE]",
		Short: "Activate an earlier release everywhere",
		Long: `Activate an earlier release of a site on every node: by default the release
built before the one active now, or the RELEASE id given. The old release's
blobs are normally still on the nodes, so only its manifest travels.
Same output and exit status as orchard publish.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if site == "" {
				return usagef("give -s HOST")
			}
			host, err := orchard.NormalizeHost(site)
			if err != nil {
				return usagef("-s %q: %s", site, orchard.ErrorMessage(err))
			}
			cfg, err := config.Load(configPath(cmd))
			if err != nil {
				return usageError{err}
			}
			store, err := release.OpenStore(cfg.Master.Data)
			if err != nil {
				return err
			}
			id := ""
			if len(args) == 1 {
				id = args[0]
				if !orchard.ValidReleaseID(id) {
					return usagef("%q is not a release id (16 hex digits; see orchard releases -s %s)", id, host)
				}
			} else if id, err = previousRelease(store, host); err != nil {
				return err
			}
			m, encoded, err := store.ManifestEncoded(host, id)
			if err != nil {
				if orchard.ErrorCode(err) == orchard.ENOTFOUND {
					return usagef("%s has no release %s (see orchard releases -s %s)", host, id, host)
				}
				return err
			}
			was, err := store.Active(host)
			if err != nil {
				return err
			}
			p := newPublisher(cfg, store, cmdLogger(quiet))
			// An explicit rollback: each node is told which release it replaces,
			// else it refuses to go back to an older release.
			res, err := runPublish(cmd.Context(), cmd, p, host, m, id, encoded, quiet, true)
			notePublish(cfg.Master.Data, host, res, err, p.Logger)
			if err != nil {
				return err
			}
			if !res.OK() {
				return fmt.Errorf("rollback did not activate everywhere")
			}
			if was != "" && was != id {
				// The next publish of a newer release asks first.
				if err := saveRollbackMark(cfg.Master.Data, host, rollbackMark{From: was, To: id, At: time.Now().UTC()}); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "warning: %v\n", err)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&site, "site", "s", "", "site host name")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the result")
	return cmd
}

// previousRelease returns the release listed right after (older than) the
// master's active release of site.
func previousRelease(store *release.Store, site string) (string, error) {
	active, err := store.Active(site)
	if err != nil {
		return "", err
	}
	if active == "" {
		return "", usagef("%s has no published release to roll back from", site)
	}
	rels, err := store.Releases(site)
	if err != nil {
		return "", err
	}
	for i, r := range rels {
		if r.ID == active {
			if i+1 < len(rels) {
				return rels[i+1].ID, nil
			}
			break
		}
	}
	return "", usagef("%s has no release older than the active %s", site, active)
}
