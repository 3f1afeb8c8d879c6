// Package storetest is the conformance suite every orchard.Store passes.
//
// A store's own tests call Run with a function that opens a fresh, empty
// store:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) orchard.Store {
//			db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "orchard.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			return db
//		})
//	}
//
// The suite checks behaviour, not storage details. The contract it pins down,
// beyond the comments on orchard.Store:
//
//   - Arguments that name something (a host, a path, a name) and name nothing,
//     including ones that are not even valid, give ENOTFOUND. Values being
//     written that fail Validate give EINVALID, and nothing is written.
//   - Hosts are normalised (NormalizeHost) on the way in: "Example.COM." and
//     "example.com" are the same site.
//   - Times are returned in UTC with at least microsecond precision. A Put
//     keeps the Created of an existing item; any zero Created or Updated
//     becomes the time of the write. Puts set the times (and Site.Prefix) on
//     the value they were given.
//   - Lists are sorted by byte order of their key (host, path or name); a
//     MySQL store needs a binary collation for that.
//   - Strings and bytes come back exactly: quotes, Unicode, NUL in bodies.
//   - A page may not have a category's path, nor a category a page's
//     (ECONFLICT), since both would be served at that path.
package storetest
