// Package render turns a site's content (orchard.SiteContent) into the files
// a release holds: every published page through its layout, a listing per
// category, the home page, the 404 page, sitemap.xml, an RSS 2.0 feed.xml
// and every asset at its path.
//
// Layouts ("layouts/NAME.html") and partials ("partials/NAME.html") are Go
// html/template files; a site's own template replaces the embedded default
// of the same name (DefaultTemplates), and a template includes another by
// its full name: {{template "partials/navbar.html" .}}. Every template is
// executed with a *Data; its fields are the whole of what a template can see.
//
// A Renderer is built once per snapshot of a site (New) and is immutable and
// safe for concurrent use. Besides rendering, it tells what each output
// depends on (Output.Deps) and a hash of every input (Inputs), so a build can
// re-render only the outputs whose inputs changed. Rendering is
// deterministic: the same content gives the same bytes, with no clock read.
//
// A page's input hash is its orchard.Page.ContentDigest, the digest stores
// keep beside each page. NewLazy builds a Renderer from a site's index
// (orchard.Store.LoadSiteIndex: no page bodies, digests given) and fetches
// bodies only for the outputs rendered (Prepare, else Render), refusing a
// body whose page changed since the index was read (ECONFLICT), so an
// incremental build reads a few pages rather than the whole site and never
// mixes two versions of it.
//
// Markdown bodies are rendered with goldmark and GitHub Flavored Markdown
// (tables, strikethrough, autolinks, task lists); raw HTML inside Markdown is
// left out, and a page whose Format is "html" is used as it is.
package render
