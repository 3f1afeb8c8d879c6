package sqlrows

import (
	"context"

	"github.com/orchardhq/orchard"
)

// EachRedirect runs query, which selects site, from_path and to_url, and
// calls fn with each row's site and redirect.
func EachRedirect(ctx context.Context, q Querier, query string, args []any, fn func(site string, r orchard.Redirect)) error {
	return Each(ctx, q, func(sc Scanner) error {
		var site string
		var r orchard.Redirect
		if err := sc.Scan(&site, &r.From, &r.To); err != nil {
			return err
		}
		fn(site, r)
		return nil
	}, query, args...)
}
