package main

import (
	"context"
	"fmt"

	orchard "github.com/orchardhq/orchard"
	"github.com/spf13/cobra"
)

func newCategoryCmd() *cobra.Command {
	return newSiteGroupCmd("category -s HOST put|ls|rm", "Put, list and remove categories of a site",
		`Categories from the command line, for scripts. A category's path mirrors its
place in the tree: /news/tech/ is a child of /news/, which must exist first.

  orchard category -s example.com put /news/ --title News
  orchard category -s example.com put /news/tech/ --title Tech --sort 2
  orchard category -s example.com ls
  orchard category -s example.com rm /news/tech/`,
		newCategoryPutCmd(), newCategoryLsCmd(), newCategoryRmCmd())
}

func newCategoryPutCmd() *cobra.Command {
	var c orchard.Category
	cmd := &cobra.Command{
		Use:   "put PATH --title T [--description D] [--sort N]",
		Short: "Create or replace a category",
		Args:  exactArgs(1, "PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := categoryArg(args[0])
			if err != nil {
				return err
			} else if path == "" {
				return usagef("a category cannot be the top of the site, /")
			}
			return withSite(cmd, func(ctx context.Context, host string, st orchard.Store) error {
				old, err := st.Category(ctx, host, path)
				if err != nil && orchard.ErrorCode(err) != orchard.ENOTFOUND {
					return storeError(err)
				}
				cat := c
				cat.Path = path
				if old != nil {
					if cat.Title == "" {
						cat.Title = old.Title
					}
					if !cmd.Flags().Changed("description") {
						cat.Description = old.Description
					}
					if !cmd.Flags().Changed("sort") {
						cat.Sort = old.Sort
					}
				} else if cat.Title == "" {
					return usagef("--title is required for a new category")
				}
				if err := st.PutCategory(ctx, host, &cat); err != nil {
					return storeError(err)
				}
				verb := "Created"
				if old != nil {
					verb = "Updated"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s category %s\n", verb, path)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&c.Title, "title", "", "the category's title (required for a new category)")
	cmd.Flags().StringVar(&c.Description, "description", "", "shown on the category's listing page")
	cmd.Flags().IntVar(&c.Sort, "sort", 0, "order among its siblings (then by title)")
	return cmd
}

func newCategoryLsCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"}, // as site list
		Short:   "List categories: path, title, pages",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withSite(cmd, func(ctx context.Context, host string, st orchard.Store) error {
				cats, err := st.Categories(ctx, host)
				if err != nil {
					return storeError(err)
				}
				pages, err := st.Pages(ctx, host, orchard.PageFilter{})
				if err != nil {
					return storeError(err)
				}
				count := map[string]int{}
				for _, p := range pages {
					count[p.Category]++
				}
				w := newTable(cmd.OutOrStdout(), "PATH\tTITLE\tPAGES\tSORT")
				for _, c := range cats {
					fmt.Fprintf(w, "%s\t%s\t%d\t%d\n", c.Path, oneLine(c.Title), count[c.Path], c.Sort)
				}
				return w.Flush()
			})
		},
	}
}

func newCategoryRmCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rm PATH",
		Short: "Remove an empty category",
		Args:  exactArgs(1, "PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := categoryArg(args[0])
			if err != nil {
				return err
			}
			return withSite(cmd, func(ctx context.Context, host string, st orchard.Store) error {
				if err := st.DeleteCategory(ctx, host, path); err != nil {
					return storeError(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Removed category %s\n", path)
				return nil
			})
		},
	}
}
