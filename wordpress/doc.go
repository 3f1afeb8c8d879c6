// Package wordpress reads a WordPress export (WXR 1.2, the file Tools ->
// Export writes) and turns it into an orchard site.
//
// Parse reads the file, streaming, with encoding/xml: no DTD, one limit on
// the file's size. Convert maps what it read onto orchard's content:
//
//   - Posts and pages become pages in HTML (WordPress's content is HTML);
//     published ones are published, drafts, pending, future and private
//     ones are kept unpublished, trashed ones and auto-drafts are skipped.
//     Paragraphs WordPress adds when it renders (wpautop) are added.
//   - Categories become orchard categories, nested as in WordPress
//     (/parent/child/). A post goes into its first category, at
//     /category-path/slug/; a page at /parent-page/slug/.
//   - Tags, a post's other categories and authors' display names have no
//     place on orchard.Page: the Report lists them.
//   - Excerpts become descriptions; the GMT dates become Created and
//     Updated.
//   - [caption] shortcodes become <figure> with a <figcaption>; other
//     shortcodes are left in place and reported.
//   - Links to the old site's posts, pages and categories are rewritten to
//     their orchard paths; links to uploads to the imported asset (when the
//     uploads directory is given) and other links to the old site are
//     reported.
//   - Every old URL whose path changed becomes a redirect of the site
//     (orchard.Site.Redirects, a 301 on the nodes); an old URL with a query
//     (/?p=12) cannot be one and is reported.
//   - Attachments are read from the uploads directory the caller gives (an
//     fs.FS of wp-content/uploads), never fetched; without it they are
//     reported as missing with their URLs.
//   - Comments, menus, custom post types, post meta (featured images),
//     users' e-mail addresses and passwords, widgets, themes and plugins
//     are not imported.
package wordpress
