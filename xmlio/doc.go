// Package xmlio writes a site's whole content as one XML file and reads it
// back, so a site can move between databases (SQLite, MySQL) and machines.
//
// Export writes an orchard.SiteContent; Decode reads one back, streaming,
// within Limits, validating every value as the admin UI does, and reporting
// the line and element of the first problem. The caller then stores the
// result in one transaction (orchard.Store.ReplaceSite). Rehost moves a
// decoded site to another host name first, when it is imported under one.
//
// # Format, version 1
//
// The file is UTF-8 XML 1.0 without a DTD. The root element names the format
// version and the site's host; its children come in this order, each group
// sorted (aliases by host, redirects by from, categories, pages and assets by path, templates
// and users by name), so the same content always gives the same bytes:
//
//	<?xml version="1.0" encoding="UTF-8"?>
//	<orchard-site version="1" host="example.com">
//	  <settings scheme="http" feed-size="20" created="2026-01-04T17:15:00Z" updated="...">
//	    <title>Example</title>
//	    <description>A small site.</description>
//	    <cache-control>public, max-age=60</cache-control>
//	  </settings>
//	  <alias host="www.example.com"/>
//	  <redirect from="/2019/01/hello/" to="/news/hello/"/>
//	  <category path="/news/" sort="1" created="..." updated="...">
//	    <title>News</title>
//	    <description>What is new.</description>
//	  </category>
//	  <page path="/news/hello/" category="/news/" layout="post" format="markdown"
//	        published="true" created="..." updated="...">
//	    <title>Hello</title>
//	    <description></description>
//	    <body># Hello
//	The body, exactly as stored.</body>
//	  </page>
//	  <template name="layouts/post.html" updated="...">
//	    <body>{{.Page.Title}}</body>
//	  </template>
//	  <asset path="/theme/style.css" type="text/css; charset=utf-8" size="1234" updated="...">
//	    Ym9keSB7IG1hcmdpbjogMCB9Cg==
//	  </asset>
//	  <user name="admin" created="..." password-hash="$argon2id$..."/>
//	</orchard-site>
//
// Rules:
//
//   - version must be "1"; a file of another version is refused.
//   - host is the site's host name (RFC 1123, normalised as by
//     orchard.NormalizeHost); each alias likewise.
//   - A redirect (orchard.Redirect) has a from path and a to path or http(s)
//     URL; from is given at most once.
//   - settings appears exactly once. Its children, and the title, description
//     and body of categories, pages and templates, are text elements: their
//     content is the value exactly, whitespace and line ends included (a
//     carriage return is written as &#xD;). A value holding markup is
//     written as a CDATA section when it can be (it holds no "]]>" and no
//     carriage return), so templates read as templates. A value that XML 1.0 cannot
//     hold (invalid UTF-8, NUL and other control characters except tab and
//     line ends) is written base64-encoded with encoding="base64" instead.
//     An omitted text element means the empty string.
//   - Times are RFC 3339 in UTC with as many fractional digits as stored
//     (time.RFC3339Nano); an omitted time attribute means the zero time.
//   - published is "true" or "false"; sort, feed-size and size are decimal;
//     an omitted sort or feed-size means 0 (for feed-size: the default).
//   - Decode reads within Limits: by default a file of at most 4 GiB and
//     1,000,000 elements, a text of at most 32 MiB, a tag of at most 64 KiB.
//   - An asset's content is standard base64 with padding, in lines of 76
//     characters; whitespace inside it is ignored; size is the decoded length
//     and must match.
//   - A user's password-hash is written only when the export asks for
//     secrets. A user imported without one gets LockedPasswordHash, which no
//     password matches: set a new one (orchard site -p) to log in again.
//   - No DTD, entity declaration, namespace, processing instruction other
//     than the XML declaration, or unknown element or attribute is accepted.
//     Comments are ignored.
//
// Decoding refuses, with an EINVALID *orchard.Error whose message starts
// with "line N: <element ...>:", anything Validate refuses on the domain
// types, a template that does not parse (render.ValidateTemplate), a
// category whose parent is missing, a page whose category is missing, a
// page at the path of a category, and a second item with the same path or
// name.
package xmlio
