package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/auth"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/render"
	"github.com/spf13/cobra"
)

// siteDirs are made under <master data>/sites/<host>/ by --init.
var siteDirs = [...]string{"backups", "exports", "build"}

// siteFlags are the site tool's flags.
type siteFlags struct {
	create, drop, init, password, yes bool
	aliases                           []string
	title                             string
	export, imp                       string
	replace, keepAliases, withSecrets bool
}

func newSiteCmd() *cobra.Command {
	var f siteFlags
	cmd := &cobra.Command{
		Use:   "site -s HOST [-c] [-d [--yes]] [-i] [-p]",
		Short: "Create, drop, initialise, list, export and import sites",
		Long: `The site tool. Flags combine and run in this order: create (-c) or import
(--import), init (-i), password (-p), export (--export). Drop (-d) runs alone.

  orchard site -s example.com -c -i -p     create, initialise, set a password
  orchard site -s example.com -c --alias www.example.com --title "Example"
  orchard site -s example.com -d --yes     drop the site and all of its content
  orchard site -s example.com --export site.xml [--with-secrets]
  orchard site -s example.com --import site.xml -c | --replace
  orchard site -s staging.example.com --import site.xml -c [--keep-aliases]
                                           import a site exported from another host:
                                           its absolute links follow the new name,
                                           its aliases are dropped unless kept
  orchard site list`,
		Example: "  orchard site -s example.com -c -i -p",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected argument %q (did you mean `orchard site list`?)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return runSite(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringP("site", "s", "", "the site's `HOST` name")
	fl.BoolVarP(&f.create, "create", "c", false, "create the site (its settings, then its content)")
	fl.BoolVarP(&f.drop, "drop", "d", false, "drop the site and all of its content (asks unless --yes)")
	fl.BoolVarP(&f.init, "init", "i", false, "create the site's directories and copy the default templates and theme")
	fl.BoolVarP(&f.password, "password", "p", false, "set a random password for the site's user admin and print it once")
	fl.BoolVar(&f.yes, "yes", false, "do not ask before dropping")
	fl.StringSliceVar(&f.aliases, "alias", nil, "another host name of the site (with -c; repeatable)")
	fl.StringVar(&f.title, "title", "", "the site's title (with -c; default the host)")
	fl.StringVar(&f.export, "export", "", "write the site as XML to `FILE` (- for stdout)")
	fl.StringVar(&f.imp, "import", "", "read the site from the XML `FILE` (- for stdin); with -c or --replace")
	fl.BoolVar(&f.replace, "replace", false, "with --import: replace all content of an existing site")
	fl.BoolVar(&f.keepAliases, "keep-aliases", false, "with --import of a file of another host: keep the file's aliases")
	fl.BoolVar(&f.withSecrets, "with-secrets", false, "with --export: include password hashes")
	cmd.AddCommand(newSiteListCmd(), newClusterAdminCmd(), newSiteHTTPSCmd())
	return cmd
}

func runSite(cmd *cobra.Command, f *siteFlags) error {
	host, err := hostArg(cmd)
	if err != nil {
		return err
	}
	switch {
	case f.drop && (f.create || f.init || f.password || f.export != "" || f.imp != ""):
		return usagef("-d/--drop runs alone")
	case f.replace && f.imp == "":
		return usagef("--replace goes with --import")
	case f.keepAliases && f.imp == "":
		return usagef("--keep-aliases goes with --import")
	case f.withSecrets && f.export == "":
		return usagef("--with-secrets goes with --export")
	case !f.drop && !f.create && !f.init && !f.password && f.export == "" && f.imp == "":
		return usagef("nothing to do: give -c, -d, -i, -p, --export or --import")
	case (len(f.aliases) > 0 || f.title != "") && (!f.create || f.imp != ""):
		return usagef("--alias and --title go with -c (an import takes them from the file)")
	case f.export == "-" && f.imp == "-":
		return usagef("--export - and --import - cannot both use the terminal")
	}
	if f.drop {
		if err := confirmDrop(cmd, host, f.yes); err != nil {
			return err
		}
	}
	out := cmd.OutOrStdout()
	return withStore(cmd, func(ctx context.Context, cfg *config.Config, st orchard.Store) error {
		if f.drop {
			fmt.Fprintf(out, "Dropping site %s and all of its content\n", host)
			if err := st.DropSite(ctx, host); err != nil {
				return storeError(err)
			}
			fmt.Fprintln(out, "Dropped site")
			return nil
		}
		switch {
		case f.imp != "":
			if err := runSiteImport(ctx, st, host, f.imp, siteImportMode{create: f.create, replace: f.replace, keepAliases: f.keepAliases}, cmd.InOrStdin(), out); err != nil {
				return err
			}
		case f.create:
			site := &orchard.Site{Host: host, Aliases: f.aliases, Title: f.title}
			if site.Title == "" {
				site.Title = host
			}
			fmt.Fprintf(out, "Creating site %s\n", host)
			if err := st.CreateSite(ctx, site); err != nil {
				return storeError(err)
			}
			fmt.Fprintln(out, "Created site")
		}
		if f.init {
			if err := initSite(ctx, st, host, cfg.Master.Data, out); err != nil {
				return err
			}
		}
		if f.password {
			if err := setAdminPassword(ctx, st, host, out); err != nil {
				return err
			}
		}
		if f.export != "" {
			return runSiteExport(ctx, st, host, f.export, f.withSecrets, out)
		}
		return nil
	})
}

// confirmDrop asks y/N on a terminal; without one, --yes is required.
func confirmDrop(cmd *cobra.Command, host string, yes bool) error {
	if yes {
		return nil
	}
	ok, err := askYes(cmd, cmd.OutOrStdout(), fmt.Sprintf("Drop every table of %s? All its pages, templates, assets and users are lost.", host))
	if errors.Is(err, errNoTerminal) {
		return usagef("refusing to drop %s without confirmation: no terminal to ask on; add --yes", host)
	}
	if !ok {
		return usagef("not dropped")
	}
	return nil
}

// errNoTerminal is askYes's answer when there is no terminal to ask on.
var errNoTerminal = errors.New("no terminal to ask on")

// askYes asks question with [y/N] on w when stdin is a terminal and
// reports whether the answer was yes; errNoTerminal when it is not one (a
// script must say --yes instead).
func askYes(cmd *cobra.Command, w io.Writer, question string) (bool, error) {
	in := cmd.InOrStdin()
	if f, ok := in.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		return false, errNoTerminal
	}
	fmt.Fprintf(w, "%s [y/N] ", question)
	answer, _ := bufio.NewReader(io.LimitReader(in, 64)).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// initSite creates the site's directories under the master's data dir and
// copies in the default templates and theme files it does not have yet.
func initSite(ctx context.Context, st orchard.Store, host, dataDir string, out io.Writer) error {
	if _, err := st.Site(ctx, host); err != nil {
		return storeError(err)
	}
	// host passed NormalizeHost: a DNS name, never "..", "/" or empty.
	root := filepath.Join(dataDir, "sites", host)
	fmt.Fprintf(out, "Creating directories in %s\n", root)
	for _, d := range siteDirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o750); err != nil {
			return fmt.Errorf("init %s: %w", host, err)
		}
	}
	templates, theme := defaultSiteFiles()
	added, kept, err := putMissing(templates,
		func(t orchard.Template) error { _, err := st.Template(ctx, host, t.Name); return err },
		func(t *orchard.Template) error { return st.PutTemplate(ctx, host, t) })
	if err != nil {
		return err
	}
	addedAssets, keptAssets, err := putMissing(theme,
		func(a orchard.Asset) error { _, err := st.Asset(ctx, host, a.Path); return err },
		func(a *orchard.Asset) error { return st.PutAsset(ctx, host, a) })
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Copied %d default templates and %d theme files", added, addedAssets)
	if kept+keptAssets > 0 {
		fmt.Fprintf(out, " (kept the site's own %d templates and %d theme files)", kept, keptAssets)
	}
	fmt.Fprintln(out)
	return nil
}

// putMissing puts each of items that get does not find (ENOTFOUND) and
// keeps the others, so a site's own templates and theme files survive
// `orchard site -i`. It counts both.
func putMissing[T any](items []T, get func(T) error, put func(*T) error) (added, kept int, err error) {
	for i := range items {
		switch err := get(items[i]); orchard.ErrorCode(err) {
		case "":
			kept++
			continue
		case orchard.ENOTFOUND:
		default:
			return added, kept, storeError(err)
		}
		if err := put(&items[i]); err != nil {
			return added, kept, storeError(err)
		}
		added++
	}
	return added, kept, nil
}

// setAdminPassword sets a random password for the site's user "admin",
// stores only its hash and prints the password once.
func setAdminPassword(ctx context.Context, st orchard.Store, host string, out io.Writer) error {
	return setUserPassword(ctx, st, host, "admin", out)
}

// setUserPassword sets a random password for user name of site host ("" for
// a cluster admin), stores only its hash and prints the password once.
func setUserPassword(ctx context.Context, st orchard.Store, host, name string, out io.Writer) error {
	pw := auth.RandomPassword()
	hash, err := auth.HashPassword(pw)
	if err != nil {
		return err
	}
	where := "on " + host
	if host == "" {
		where = "(cluster admin)"
	}
	fmt.Fprintf(out, "Setting the password of %s %s\n", name, where)
	if err := st.PutUser(ctx, &orchard.User{Site: host, Name: name, PasswordHash: hash}); err != nil {
		return storeError(err)
	}
	fmt.Fprintf(out, "Password for %s: %s\n(shown once; only its hash is stored)\n", name, pw)
	return nil
}

// newClusterAdminCmd creates or resets a cluster admin: a user of the admin
// UI who manages every site, creates and deletes sites and sees the dashboard.
func newClusterAdminCmd() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Create a cluster admin (or reset its password) and print the password once",
		Long: `Create a cluster admin of the admin UI, who manages every site, creates and
deletes sites and sees the dashboard, or give an existing one a new random
password. The password is printed once; only its hash is stored. Per-site
admins are made with orchard site -s HOST -p.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := (&orchard.User{Name: name, PasswordHash: "x"}).Validate(); err != nil {
				return usagef("--name: %s", orchard.ErrorMessage(err))
			}
			return withStore(cmd, func(ctx context.Context, _ *config.Config, st orchard.Store) error {
				return setUserPassword(ctx, st, "", name, cmd.OutOrStdout())
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "admin", "user name")
	return cmd
}

func newSiteListCmd() *cobra.Command {
	var filter string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"}, // as page ls, category ls, redirect ls
		Short:   "List the sites: host, aliases, title",
		Example: "  orchard site list --filter '*.example.com'",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pattern, err := orchard.ParseHostPattern(filter)
			if err != nil {
				return usagef("--filter: %s", orchard.ErrorMessage(err))
			}
			return withStore(cmd, func(ctx context.Context, _ *config.Config, st orchard.Store) error {
				sites, err := st.SitesMatching(ctx, pattern)
				if err != nil {
					return storeError(err)
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "HOST\tALIASES\tTITLE")
				for _, s := range sites {
					aliases := strings.Join(s.Aliases, ",")
					if aliases == "" {
						aliases = "-"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\n", s.Host, aliases, oneLine(s.Title))
				}
				return w.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&filter, "filter", "", "list only the sites whose host or an alias matches this shell pattern (*, ?, [a-z])")
	return cmd
}

// oneLine keeps a stored string from breaking a table row or the terminal.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// defaultSiteFiles returns the templates and theme files a new site starts
// with, embedded in the binary by the render package.
func defaultSiteFiles() ([]orchard.Template, []orchard.Asset) {
	return render.DefaultTemplates(), render.DefaultTheme()
}
