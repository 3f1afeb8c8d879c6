package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/render"
	"github.com/spf13/cobra"
)

func newPageCmd() *cobra.Command {
	return newSiteGroupCmd("page -s HOST put|get|ls|rm", "Put, get, list and remove pages of a site",
		`Pages from the command line, for scripts.

  orchard page -s example.com put /about/ --title "About us" < about.md
  orchard page -s example.com put hello --category /news/ --title Hello --draft < hello.md
  orchard page -s example.com get /about/ [--json]
  orchard page -s example.com ls [--category /news/]
  orchard page -s example.com rm /news/hello/

A PATH without slashes is a slug: it goes into --category, or at the top.
A missing trailing slash is added.`,
		newPagePutCmd(), newPageGetCmd(), newPageLsCmd(), newPageRmCmd())
}

// contentPath turns what a user typed into a page or category path: a bare
// slug goes into parent (or the top), slashes are added where missing.
func contentPath(arg, parent string) (string, error) {
	if arg == "" {
		return "", usagef("the path is empty")
	}
	p := arg
	if !strings.Contains(arg, "/") {
		if parent == "" {
			parent = "/"
		}
		p = parent + arg + "/"
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	if err := orchard.ValidateContentPath(p, true); err != nil {
		return "", usagef("%s", orchard.ErrorMessage(err))
	}
	return p, nil
}

// categoryArg normalises a category path as typed ("news", "/news", "news/"
// are "/news/"); "" and "/" (the top) are "".
func categoryArg(arg string) (string, error) {
	if strings.Trim(arg, "/") == "" {
		return "", nil
	}
	return contentPath(strings.Trim(arg, "/")+"/", "")
}

// readBody reads a page body from stdin, refusing to wait on a terminal.
func readBody(in io.Reader) (string, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return "", usagef("pipe the page body on stdin (< file.md; < /dev/null for an empty page)")
	}
	b, err := io.ReadAll(io.LimitReader(in, orchard.MaxBodyLen+1))
	if err != nil {
		return "", fmt.Errorf("read body: %w", err)
	}
	if len(b) > orchard.MaxBodyLen {
		return "", usagef("the body is longer than %d bytes", orchard.MaxBodyLen)
	}
	return string(b), nil
}

func newPagePutCmd() *cobra.Command {
	var p orchard.Page
	var category, date string
	var draft bool
	cmd := &cobra.Command{
		Use:   "put PATH [--title T] [--category C] [--layout L] [--format markdown|html] [--description D] [--date D] [--draft] < body",
		Short: "Create or replace a page; the body comes from stdin",
		Long: `Create or replace a page; the body comes from stdin.

A body may start with front matter as Hugo and Jekyll write it: YAML between
"---" lines or TOML between "+++" lines, giving title, date, draft (or
published), description, category and layout. The block is taken out of the
body; flags given on the command line win over it.`,
		Args: exactArgs(1, "PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			host, err := hostArg(cmd)
			if err != nil {
				return err
			}
			body, err := readBody(cmd.InOrStdin())
			if err != nil {
				return err
			}
			fm, body, _, err := render.SplitFrontMatter(body)
			if err != nil {
				return usagef("%s", orchard.ErrorMessage(err))
			}
			page := orchard.Page{Format: orchard.FormatMarkdown, Published: true}
			fm.Apply(&page)
			changed := cmd.Flags().Changed
			for _, f := range []struct {
				flag     string
				dst, val *string
			}{
				{"title", &page.Title, &p.Title},
				{"layout", &page.Layout, &p.Layout},
				{"format", &page.Format, &p.Format},
				{"description", &page.Description, &p.Description},
				{"category", &page.Category, &category},
			} {
				if changed(f.flag) {
					*f.dst = *f.val
				}
			}
			if changed("draft") {
				page.Published = !draft
			}
			if changed("date") {
				if page.Created, err = render.ParseDate(date); err != nil {
					return usagef("--date: %s", orchard.ErrorMessage(err))
				}
			}
			cat, err := categoryArg(page.Category)
			if err != nil {
				return err
			}
			path, err := contentPath(args[0], cat)
			if err != nil {
				return err
			}
			return withStore(cmd, func(ctx context.Context, _ *config.Config, st orchard.Store) error {
				old, err := st.Page(ctx, host, path)
				if err != nil && orchard.ErrorCode(err) != orchard.ENOTFOUND {
					return storeError(err)
				}
				page.Path, page.Body, page.Category = path, body, cat
				if cat != "" {
					if _, err := st.Category(ctx, host, cat); orchard.ErrorCode(err) == orchard.ENOTFOUND {
						return shownError{orchard.Errorf(orchard.ENOTFOUND,
							"Category %s does not exist: a page goes into an existing category, as a category goes into an existing parent. "+
								"Create it first: orchard category -s %s put %s --title TITLE", cat, host, cat)}
					} else if err != nil {
						return storeError(err)
					}
				} else {
					// A page in a category's directory belongs to it.
					if parent := orchard.ParentDir(path); parent != "" {
						if _, err := st.Category(ctx, host, parent); err == nil {
							page.Category = parent
						}
					}
				}
				if page.Title == "" {
					if old == nil {
						return usagef("--title is required for a new page (or a title in its front matter)")
					}
					page.Title = old.Title
				}
				if err := st.PutPage(ctx, host, &page); err != nil {
					return storeError(err)
				}
				verb := "Created"
				if old != nil {
					verb = "Replaced"
				}
				state := "published"
				if !page.Published {
					state = "draft"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s page %s (%s, %s, %d bytes)\n", verb, path, state, page.Created.Format("2006-01-02"), len(body))
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&p.Title, "title", "", "the page's title (required for a new page without one in its front matter)")
	fl.StringVar(&category, "category", "", "the category's path, e.g. /news/")
	fl.StringVar(&p.Layout, "layout", "", "layout name (default post in a category, page outside)")
	fl.StringVar(&p.Format, "format", orchard.FormatMarkdown, "body format: markdown or html")
	fl.StringVar(&p.Description, "description", "", "a short description for listings and meta tags")
	fl.StringVar(&date, "date", "", "the page's date, e.g. 2024-05-01 or \"2024-05-01 10:30\" (UTC); default: when it was first saved")
	fl.BoolVar(&draft, "draft", false, "save unpublished")
	return cmd
}

func newPageGetCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "get PATH [--json]",
		Short: "Print a page's body (or, with --json, the whole page)",
		Args:  exactArgs(1, "PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withPage(cmd, args[0], func(ctx context.Context, host, path string, st orchard.Store) error {
				p, err := st.Page(ctx, host, path)
				if err != nil {
					return storeError(err)
				}
				out := cmd.OutOrStdout()
				if !asJSON {
					_, err := io.WriteString(out, p.Body)
					return err
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(p)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the whole page as JSON")
	return cmd
}

func newPageLsCmd() *cobra.Command {
	var category string
	var published bool
	cmd := &cobra.Command{
		Use:     "ls [--category C] [--published]",
		Aliases: []string{"list"}, // as site list
		Short:   "List pages: path, title, published, updated",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cat, err := categoryArg(category)
			if err != nil {
				return err
			}
			return withSite(cmd, func(ctx context.Context, host string, st orchard.Store) error {
				pages, err := st.Pages(ctx, host, orchard.PageFilter{Category: cat, PublishedOnly: published})
				if err != nil {
					return storeError(err)
				}
				w := newTable(cmd.OutOrStdout(), "PATH\tTITLE\tPUBLISHED\tUPDATED")
				for _, p := range pages {
					state := "yes"
					if !p.Published {
						state = "draft"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", p.Path, oneLine(p.Title), state, p.Updated.Format(time.DateTime))
				}
				return w.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&category, "category", "", "only pages directly in this category")
	cmd.Flags().BoolVar(&published, "published", false, "only published pages")
	return cmd
}

func newPageRmCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rm PATH",
		Short: "Remove a page",
		Args:  exactArgs(1, "PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withPage(cmd, args[0], func(ctx context.Context, host, path string, st orchard.Store) error {
				if err := st.DeletePage(ctx, host, path); err != nil {
					return storeError(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Removed page %s\n", path)
				return nil
			})
		},
	}
}

// withPage is withSite for a command on the page at path arg.
func withPage(cmd *cobra.Command, arg string, fn func(ctx context.Context, host, path string, st orchard.Store) error) error {
	path, err := contentPath(arg, "")
	if err != nil {
		return err
	}
	return withSite(cmd, func(ctx context.Context, host string, st orchard.Store) error {
		return fn(ctx, host, path, st)
	})
}

// exactArgs is cobra.ExactArgs as a usage error that names the argument.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %s (got %d arguments)", cmd.CommandPath(), names, len(args))
		}
		return nil
	}
}
