package main

import (
	"context"
	"io"

	orchard "github.com/orchardhq/orchard"
)

// runSiteExport writes a site as XML to path ("-" for out).
func runSiteExport(ctx context.Context, st orchard.Store, host, path string, withSecrets bool, out io.Writer) error {
	return errNotBuilt
}

// runSiteImport reads a site from the XML file at path ("-" for in) into st,
// creating it (create) or replacing it (replace) in one transaction.
func runSiteImport(ctx context.Context, st orchard.Store, host, path string, create, replace bool, in io.Reader, progress io.Writer) error {
	return errNotBuilt
}
