package node

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
)

// A balancer checks every node's health every second or two, and the
// health document lists the node's active releases: with 10,000 sites some
// 400 KB to encode on the node and to decode on the balancer each time,
// and a publish asks for it at once from every node. So each answer names
// the version of the list, and a balancer that sends it back
// (?since=VERSION) gets only the sites whose release changed since: none
// at all most of the time. releaseLog is that record.

// releaseLogSize is how many changes a node remembers; a balancer further
// behind gets the whole list.
const releaseLogSize = 4096

// releaseLog numbers the changes of the node's active releases. Guarded by
// Node.mu.
type releaseLog struct {
	epoch string   // this process's, so a version of another process never matches
	gen   uint64   // changes so far
	sites []string // the sites of changes gen-len(sites)+1 .. gen, oldest first
}

func newReleaseLog() releaseLog {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return releaseLog{epoch: hex.EncodeToString(b[:])}
}

// note records that site's active release changed.
func (l *releaseLog) note(site string) {
	l.gen++
	if len(l.sites) == releaseLogSize {
		l.sites = append(l.sites[:0], l.sites[releaseLogSize/2:]...)
	}
	l.sites = append(l.sites, site)
}

// version names the list as it is now.
func (l *releaseLog) version() string { return l.epoch + "-" + strconv.FormatUint(l.gen, 10) }

// since returns the sites changed since version v, each once, or ok false
// when v is not one of this log's (another process's, or too old).
func (l *releaseLog) since(v string) (sites []string, ok bool) {
	epoch, g, found := strings.Cut(v, "-")
	if !found || epoch != l.epoch {
		return nil, false
	}
	gen, err := strconv.ParseUint(g, 10, 64)
	if err != nil || gen > l.gen || l.gen-gen > uint64(len(l.sites)) {
		return nil, false
	}
	seen := map[string]bool{}
	for _, s := range l.sites[uint64(len(l.sites))-(l.gen-gen):] {
		if !seen[s] {
			seen[s] = true
			sites = append(sites, s)
		}
	}
	return sites, true
}
