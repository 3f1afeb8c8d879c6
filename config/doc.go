// Package config loads the cluster file, the one TOML file every orchard
// process reads: the database, the master, the web nodes and the balancer.
// Load fills defaults, resolves relative paths against the file's directory,
// creates the cluster secret when missing, and validates everything,
// reporting each mistake as FILE:LINE: KEY: what is wrong. An unknown key is
// an error, never ignored.
//
// Only cmd/orchard imports this package; the role packages take plain Go
// values.
package config
