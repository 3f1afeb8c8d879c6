package sqlrows

import (
	"context"

	"github.com/orchardhq/orchard"
)

// matchingFew is how many candidate sites SitesMatching reads one by one;
// with more, reading every site at once costs less.
const matchingFew = 64

// SitesMatching does the engines' Store.SitesMatching: query (with arg:
// p's GLOB or LIKE form) lists the hosts of the sites one of whose names
// may match p, each once and sorted, and site reads one of them. With more
// than a few candidates it reads none and reports every: the caller reads
// every site at once and keeps those p.Filter keeps. A candidate dropped
// meanwhile (ENOTFOUND) is skipped.
func SitesMatching(ctx context.Context, q Querier, p orchard.HostPattern, query string, arg any,
	site func(host string) (*orchard.Site, error)) (sites []*orchard.Site, every bool, err error) {
	hosts, err := List(ctx, q, String, query, arg)
	if err != nil || len(hosts) > matchingFew {
		return nil, err == nil, err
	}
	for _, h := range hosts {
		s, err := site(h)
		if orchard.ErrorCode(err) == orchard.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		if p.MatchSite(s) {
			sites = append(sites, s)
		}
	}
	return sites, false, nil
}
