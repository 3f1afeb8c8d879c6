package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/orchardhq/orchard"
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
			cfg, store, err := loadReleases(cmd)
			if err != nil {
				return err
			}
			svc := newService(cfg, nil, store, cmdLogger(quiet))
			id := ""
			if len(args) == 1 {
				id = args[0]
				if !orchard.ValidReleaseID(id) {
					return usagef("%q is not a release id (16 hex digits; see orchard releases -s %s)", id, host)
				}
			} else if id, err = svc.PreviousRelease(host); err != nil {
				return storeError(err)
			}
			if _, err := store.Manifest(host, id); err != nil {
				if orchard.ErrorCode(err) == orchard.ENOTFOUND {
					return usagef("%s has no release %s (see orchard releases -s %s)", host, id, host)
				}
				return err
			}
			// An explicit rollback: each node is told which release it replaces,
			// else it refuses to go back to an older release. The next publish
			// of a newer release asks first.
			res, err := svc.Rollback(cmd.Context(), host, id, cliProgress(cmd, host, quiet))
			if res != nil {
				printResult(cmd.OutOrStdout(), res, quiet)
			}
			if err != nil {
				return err
			}
			if !res.OK() {
				return fmt.Errorf("rollback did not activate everywhere")
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&site, "site", "s", "", "site host name")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the result")
	return cmd
}
