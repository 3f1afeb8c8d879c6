// Package orchard holds the vocabulary of the orchard cluster: sites and their
// content (categories, pages, assets, templates, users), releases and their
// manifests, the store interface every database implements, host name and
// request path rules, and the Error type users see.
//
// Every role (master, node, balancer) and every dependency (SQLite, MySQL)
// lives in its own package and speaks in these types; cmd/orchard wires them.
//
// Construction reads one way across packages. A value that only holds
// collaborators and settings, and starts nothing, is a struct literal with
// exported fields whose zero values mean the defaults (master.Service,
// release.Builder, publish.Publisher). A value that owns goroutines,
// listeners or caches, and so must be closed, comes from New with an
// options struct (balancer.New, admin.New, node.New, publish.NewNode).
// Either way a nil Logger discards: the caller decides what is logged
// (cmd/orchard passes one per role). The one exception is release's crash
// repair of a blob store, which logs to slog.Default because no caller is
// there to ask when a store is opened.
package orchard
