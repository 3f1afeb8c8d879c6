// Package orchard holds the vocabulary of the orchard cluster: sites and their
// content (categories, pages, assets, templates, users), releases and their
// manifests, the store interface every database implements, host name and
// request path rules, and the Error type users see.
//
// Every role (master, node, balancer) and every dependency (SQLite, MySQL)
// lives in its own package and speaks in these types; cmd/orchard wires them.
package orchard
