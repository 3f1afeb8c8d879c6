// Package certs is the master's side of automatic HTTPS: a Manager obtains a
// certificate from an ACME CA (RFC 8555) for every site host and alias,
// renews it when a third of its lifetime is left, drops it when the site
// goes, and keeps every balancer's set equal to its own. HTTP-01 challenges
// are answered by the balancers, to which the manager pushes each key
// authorization before the CA validates: the balancers never talk to the
// CA. Certificates and keys live in the master's data directory; the
// per-site HTTPS settings in a JSON file beside them (SettingsFile).
package certs
