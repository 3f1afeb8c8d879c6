// Package admin is orchard's admin UI, served on the master's admin listener
// only (never on the nodes, never through the balancer).
//
// A person logs in as a site admin (a user whose Site is the site's host) or
// a cluster admin (Site ""), and edits categories, pages, assets, templates
// and theme; a cluster admin also creates and deletes sites. "Build cache",
// "Publish" and "Build & publish" start a job whose page refreshes itself
// until it is done and then shows the result per node; the release history
// has one-click rollback, and the nodes page shows every node's state.
//
// Rules kept by every handler:
//   - sessions live in memory under 256-bit random ids; the cookie is
//     HttpOnly, SameSite=Strict, and Secure when Options.Secure is set;
//   - every state change is a POST carrying the session's CSRF token,
//     compared in constant time (403 when missing or wrong); the login form
//     carries a token bound to a pre-login cookie;
//   - failed logins are throttled per user and per address (5 failures in
//     15 minutes -> 429 with Retry-After);
//   - every input is validated, the message shown next to its field with
//     what was typed kept;
//   - a category can only be moved (its path changed) or deleted while it
//     holds no pages and no sub-categories: move or delete those first;
//   - uploads are limited to orchard.MaxAssetLen and a list of file types;
//   - a template that does not parse is refused with its line and the old
//     one kept;
//   - previews are rendered by package render exactly as the release would,
//     and served with a sandboxing Content-Security-Policy.
//
// The UI works without JavaScript and uses one embedded stylesheet.
package admin
