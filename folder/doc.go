// Package folder imports a static-site generator's folder as an orchard
// site: a Hugo site (content/, static/) or a Jekyll site (_posts/,
// _drafts/, pages, assets).
//
// Read walks the folder through an os.Root (no path leaves it), refuses
// symbolic links, skips hidden files and reads within limits (files,
// bytes, 16 MiB a file, 64 KB of front matter). It maps:
//
//   - Front matter in YAML (---), TOML (+++) or JSON ({...}): title, date
//     (else publishDate; Jekyll: the file name's date), lastmod, draft
//     (Jekyll: published: false, _drafts/) -> unpublished, slug, url or
//     permalink, aliases -> redirects, description (else summary or
//     excerpt). Categories and tags are reported: a page has one category.
//   - Markdown bodies stay Markdown; HTML files with front matter stay
//     HTML. Hugo shortcodes ({{< x >}}, {{% x %}}) and Liquid tags
//     ({% x %}) are left in place and reported.
//   - Hugo: each directory of content/ is a category (its _index.md gives
//     the title and description), content/_index.md the home page, a
//     bundle's other files assets beside it; static/ holds assets.
//     Jekyll: a post goes into the category of its first category (else
//     /posts/); files without front matter and not excluded are assets.
//   - Every page and asset is at its old URL when orchard can hold the path
//     (lower-case letters, digits, '-', '_', '.'); where it cannot, or a
//     post moves (Jekyll's dated URLs), the old URL redirects to the new
//     path.
//
// Templates, layouts, partials, includes, data files and configuration
// other than the title and description are not imported: the caller gives
// the site orchard's default templates and theme.
package folder
