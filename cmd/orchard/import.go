package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/folder"
	"github.com/orchardhq/orchard/wordpress"
)

func newImportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import a site from another system (WordPress, a Hugo or Jekyll folder)",
	}
	cmd.AddCommand(newImportWordPressCmd(), newImportFolderCmd())
	return cmd
}

func newImportWordPressCmd() *cobra.Command {
	var uploads string
	cmd := &cobra.Command{
		Use:   "wordpress -s HOST FILE.xml [--uploads DIR]",
		Short: "Create a site from a WordPress export (WXR, Tools -> Export)",
		Long: `Create the site HOST from a WordPress export file (WXR 1.2), in one
transaction: posts and pages (drafts kept unpublished) as HTML pages, nested
categories, dates and excerpts. Posts go into their first category; tags,
further categories and authors have no place in an orchard page and are
listed. [caption] shortcodes become figures, other shortcodes are listed.
Links to the old site's posts, pages and categories are rewritten, and every
old URL whose path changed redirects (301) to the new one.

Attachments are read from --uploads DIR (a copy of wp-content/uploads) and
never downloaded; without it they are listed as missing with their URLs.
Comments, menus, custom post types, post meta, widgets, themes and plugins
are not imported. The site gets the default templates and theme.`,
		Example: "  orchard import wordpress -s example.com export.xml --uploads ./uploads",
		Args:    oneArg("give one WordPress export FILE.xml"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withSite(cmd, func(ctx context.Context, host string, st orchard.Store) error {
				return runImportWordPress(ctx, st, host, args[0], uploads, cmd.OutOrStdout())
			})
		},
	}
	cmd.Flags().StringP("site", "s", "", "the new site's `HOST` name")
	cmd.Flags().StringVar(&uploads, "uploads", "", "a copy of the old site's wp-content/uploads `DIR` to read attachments from")
	return cmd
}

// oneArg accepts exactly one argument, or says what to give.
func oneArg(what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usagef("%s", what)
		}
		return nil
	}
}

// importListed is how many names a report line lists before "and N more".
const importListed = 10

// importTargetFree says why host cannot be imported into: an import makes
// a new site and never writes over one.
func importTargetFree(ctx context.Context, st orchard.Store, host string) error {
	if _, err := st.Site(ctx, host); err == nil {
		return usagef("import %s: the site already exists; drop it first or import under another name", host)
	} else if orchard.ErrorCode(err) != orchard.ENOTFOUND {
		return xmlShownError("import "+host, err)
	}
	return nil
}

// runImportWordPress creates the site host from the WXR file at path.
func runImportWordPress(ctx context.Context, st orchard.Store, host, path, uploads string, out io.Writer) error {
	start := time.Now()
	if err := importTargetFree(ctx, st, host); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("import %s: %w", host, err)
	}
	defer f.Close()
	opt := wordpress.Options{Host: host}
	if uploads != "" {
		// os.Root keeps every read inside DIR, symbolic links included.
		root, err := os.OpenRoot(uploads)
		if err != nil {
			return usagef("--uploads: %v", err)
		}
		defer root.Close()
		opt.Uploads = root.FS()
	}
	ex, err := wordpress.Parse(ctx, f, 0)
	if err != nil {
		return xmlShownError("import "+path, err)
	}
	c, rep, err := wordpress.Convert(ex, opt)
	if err != nil {
		return xmlShownError("import "+path, err)
	}
	read := fmt.Sprintf("Read %s: %d posts, %d pages (%d unpublished), %d categories, %d attachments", path, rep.Posts, rep.Pages, rep.Drafts, rep.Categories, rep.Assets)
	if err := createImported(ctx, st, host, c, read, start, out); err != nil {
		return err
	}
	printImportReport(out, rep)
	return nil
}

// createImported creates the site host from the content c an importer
// read, with the default templates and theme, in one transaction: it prints
// read (what was read), then how long the import took since start.
func createImported(ctx context.Context, st orchard.Store, host string, c *orchard.SiteContent, read string, start time.Time, out io.Writer) error {
	c.Templates, c.Assets = defaultSiteFilesWith(c.Assets)
	fmt.Fprintln(out, read)
	fmt.Fprintf(out, "Creating site %s (one transaction)\n", host)
	if err := st.ReplaceSite(ctx, c, false); err != nil {
		return xmlShownError("import "+host, err)
	}
	fmt.Fprintf(out, "Committed site (%s)\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// defaultSiteFilesWith returns the default templates, and the default
// theme with assets added (an imported asset wins over a theme file).
func defaultSiteFilesWith(assets []orchard.Asset) ([]orchard.Template, []orchard.Asset) {
	templates, theme := defaultSiteFiles()
	have := map[string]bool{}
	for _, a := range assets {
		have[a.Path] = true
	}
	for _, a := range theme {
		if !have[a.Path] {
			assets = append(assets, a)
		}
	}
	slices.SortFunc(assets, func(a, b orchard.Asset) int { return strings.Compare(a.Path, b.Path) })
	return templates, assets
}

// printImportReport says what the import did not carry over as it was.
func printImportReport(out io.Writer, rep *wordpress.Report) {
	list := func(items []string) string {
		if len(items) > importListed {
			return strings.Join(items[:importListed], ", ") + fmt.Sprintf(" and %d more", len(items)-importListed)
		}
		return strings.Join(items, ", ")
	}
	if rep.Captions > 0 {
		fmt.Fprintf(out, "Converted %d [caption] shortcodes to figures\n", rep.Captions)
	}
	if len(rep.Shortcodes) > 0 {
		var names []string
		for _, n := range slices.Sorted(maps.Keys(rep.Shortcodes)) {
			names = append(names, fmt.Sprintf("[%s] x%d", n, rep.Shortcodes[n]))
		}
		fmt.Fprintf(out, "Left in place (orchard has no shortcodes): %s, on %s\n", oneLine(strings.Join(names, ", ")), list(rep.ShortcodePages))
	}
	if len(rep.Authors) > 0 {
		var names []string
		for _, n := range slices.Sorted(maps.Keys(rep.Authors)) {
			names = append(names, fmt.Sprintf("%s (%d)", n, rep.Authors[n]))
		}
		fmt.Fprintf(out, "Authors (orchard pages have none; not imported): %s\n", oneLine(strings.Join(names, ", ")))
	}
	if len(rep.Tags) > 0 {
		fmt.Fprintf(out, "Tags and further categories (a page has one category; not imported) on %d pages:\n", len(rep.Tags))
		for _, p := range slices.Sorted(maps.Keys(rep.Tags)) {
			fmt.Fprintf(out, "  %s: %s\n", p, oneLine(strings.Join(rep.Tags[p], ", ")))
		}
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(out, "Skipped %s\n", oneLine(s))
	}
	if len(rep.Missing) > 0 {
		fmt.Fprintf(out, "Missing attachments (give --uploads DIR; nothing is downloaded): %d\n", len(rep.Missing))
		for _, u := range rep.Missing {
			fmt.Fprintf(out, "  %s\n", oneLine(u))
		}
	}
	if len(rep.Unmapped) > 0 {
		fmt.Fprintf(out, "Links to the old site left as they were: %s\n", oneLine(list(rep.Unmapped)))
	}
	if len(rep.Moved) > 0 {
		fmt.Fprintf(out, "%d old URLs have new paths; %d redirect there (301, list them with orchard redirect -s HOST ls):\n", len(rep.Moved), rep.Redirects)
		for i, old := range slices.Sorted(maps.Keys(rep.Moved)) {
			if i == importListed {
				fmt.Fprintf(out, "  ... and %d more\n", len(rep.Moved)-i)
				break
			}
			fmt.Fprintf(out, "  %s -> %s\n", oneLine(old), rep.Moved[old])
		}
	}
}

func newImportFolderCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "folder -s HOST DIR",
		Short: "Create a site from a Hugo or Jekyll folder",
		Long: `Create the site HOST from a Hugo site (DIR/content, DIR/static) or a Jekyll
site (DIR/_posts, _drafts, pages and assets), in one transaction. Front
matter in YAML, TOML or JSON gives each page its title, date, draft state
(unpublished), slug, URL and description; aliases become redirects. Markdown
stays Markdown. Hugo's content directories become categories; a Jekyll post
goes into its first category. static/ (Hugo) and the other files (Jekyll)
become assets. Every old URL orchard cannot keep redirects (301) to the new
path. Shortcodes and Liquid tags are left in place and listed; tags and
further categories are listed. Templates, layouts and data files are not
imported: the site gets the default templates and theme.

DIR is read through a root that no path leaves; symbolic links are refused.`,
		Example: "  orchard import folder -s example.com ./my-hugo-site",
		Args:    oneArg("give one folder DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withSite(cmd, func(ctx context.Context, host string, st orchard.Store) error {
				return runImportFolder(ctx, st, host, args[0], cmd.OutOrStdout())
			})
		},
	}
	cmd.Flags().StringP("site", "s", "", "the new site's `HOST` name")
	return cmd
}

// runImportFolder creates the site host from the Hugo or Jekyll folder dir.
func runImportFolder(ctx context.Context, st orchard.Store, host, dir string, out io.Writer) error {
	start := time.Now()
	if err := importTargetFree(ctx, st, host); err != nil {
		return err
	}
	// os.Root keeps every read inside DIR.
	root, err := os.OpenRoot(dir)
	if err != nil {
		return usagef("import %s: %v", dir, err)
	}
	defer root.Close()
	c, rep, err := folder.Read(ctx, root, folder.Options{Host: host})
	if err != nil {
		return xmlShownError("import "+dir, err)
	}
	read := fmt.Sprintf("Read %s (%s): %d pages (%d unpublished), %d categories, %d assets, %d redirects", dir, rep.Kind, rep.Pages, rep.Drafts, rep.Categories, rep.Assets, rep.Redirects)
	if err := createImported(ctx, st, host, c, read, start, out); err != nil {
		return err
	}
	printFolderReport(out, rep)
	return nil
}

// printFolderReport says what the folder import did not carry over as it was.
func printFolderReport(out io.Writer, rep *folder.Report) {
	if len(rep.Shortcodes) > 0 {
		var names []string
		for _, n := range slices.Sorted(maps.Keys(rep.Shortcodes)) {
			names = append(names, fmt.Sprintf("%s x%d", n, rep.Shortcodes[n]))
		}
		list := rep.ShortcodePages
		more := ""
		if len(list) > importListed {
			list, more = list[:importListed], fmt.Sprintf(" and %d more", len(list)-importListed)
		}
		fmt.Fprintf(out, "Left in place (orchard renders no shortcodes or Liquid): %s, on %s%s\n", oneLine(strings.Join(names, ", ")), strings.Join(list, ", "), more)
	}
	if len(rep.Tags) > 0 {
		fmt.Fprintf(out, "Tags and further categories (a page has one category; not imported) on %d pages:\n", len(rep.Tags))
		for _, p := range slices.Sorted(maps.Keys(rep.Tags)) {
			fmt.Fprintf(out, "  %s: %s\n", p, oneLine(strings.Join(rep.Tags[p], ", ")))
		}
	}
	if len(rep.Ignored) > 0 {
		fmt.Fprintf(out, "Not imported (templates, configuration, data): %s\n", oneLine(strings.Join(rep.Ignored, ", ")))
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(out, "Skipped %s\n", oneLine(s))
	}
}
