package main

import (
	"context"
	"fmt"
	"slices"

	orchard "github.com/orchardhq/orchard"
	"github.com/spf13/cobra"
)

func newRedirectCmd() *cobra.Command {
	return newSiteGroupCmd("redirect -s HOST put|ls|rm", "Put, list and remove a site's redirects (301s served by the nodes)",
		`A redirect sends visitors of an old path to a new one with a 301. Redirects are
part of the site's settings and of every release built after the change: build
and publish for the nodes to answer them. A page at the old path wins.

  orchard redirect -s example.com put /2019/01/hello/ /news/hello/
  orchard redirect -s example.com put /old.html https://example.org/new/
  orchard redirect -s example.com ls
  orchard redirect -s example.com rm /2019/01/hello/`,
		newRedirectPutCmd(), newRedirectLsCmd(), newRedirectRmCmd())
}

// editRedirects loads the site, lets edit change its redirects, saves them
// with the site's settings and then prints done.
func editRedirects(cmd *cobra.Command, done string, edit func(rs []orchard.Redirect) ([]orchard.Redirect, error)) error {
	return withSite(cmd, func(ctx context.Context, host string, st orchard.Store) error {
		s, err := st.Site(ctx, host)
		if err != nil {
			return storeError(err)
		}
		if s.Redirects, err = edit(s.Redirects); err != nil {
			return storeError(err)
		}
		if err := st.UpdateSite(ctx, s); err != nil {
			return storeError(err)
		}
		fmt.Fprintln(cmd.OutOrStdout(), done)
		return nil
	})
}

func newRedirectPutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "put FROM TO",
		Short: "Create or replace the redirect from path FROM to path or http(s) URL TO",
		Args:  exactArgs(2, "FROM TO"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r := orchard.Redirect{From: args[0], To: args[1]}
			if err := r.Validate(); err != nil {
				return usagef("%s", orchard.ErrorMessage(err))
			}
			return editRedirects(cmd, "Redirect "+r.From+" -> "+r.To, func(rs []orchard.Redirect) ([]orchard.Redirect, error) {
				rs = slices.DeleteFunc(rs, func(x orchard.Redirect) bool { return x.From == r.From })
				return append(rs, r), nil
			})
		},
	}
}

func newRedirectLsCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"}, // as site list
		Short:   "List redirects: from, to",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withSite(cmd, func(ctx context.Context, host string, st orchard.Store) error {
				s, err := st.Site(ctx, host)
				if err != nil {
					return storeError(err)
				}
				w := newTable(cmd.OutOrStdout(), "FROM\tTO")
				for _, r := range s.Redirects {
					fmt.Fprintf(w, "%s\t%s\n", r.From, r.To)
				}
				return w.Flush()
			})
		},
	}
}

func newRedirectRmCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rm FROM",
		Short: "Remove the redirect from path FROM",
		Args:  exactArgs(1, "FROM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			from, err := orchard.CleanRequestPath(args[0])
			if err != nil {
				return usagef("FROM: %s", orchard.ErrorMessage(err))
			}
			return editRedirects(cmd, "Removed redirect from "+from, func(rs []orchard.Redirect) ([]orchard.Redirect, error) {
				n := len(rs)
				rs = slices.DeleteFunc(rs, func(x orchard.Redirect) bool { return x.From == from })
				if len(rs) == n {
					return nil, orchard.Errorf(orchard.ENOTFOUND, "No redirect from %q.", from)
				}
				return rs, nil
			})
		},
	}
}
