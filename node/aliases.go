package node

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/release"
)

// A lazy site's aliases come from its release's settings, which a restart
// does not read (warm.go); until they are known, a request for a host not
// in the table waits for them. So that it need not, the node keeps the
// aliases of the releases it served in one file beside the store,
// aliasesFile, read at Open: a release's aliases never change (its id
// names its settings), so an entry is right for as long as its release
// is active, and a site whose release has no entry (activated since the
// file was written) is loaded first by the warm-up. It is a cache,
// written without fsync and checked whole; a damaged file is ignored.

const (
	aliasesFile  = "node-aliases.idx"
	aliasesMagic = "orchard node aliases 1"
)

// readAliases returns the aliases the node's file records per release
// id, or nil when it is missing or damaged.
func (n *Node) readAliases() map[string][]string {
	data, err := os.ReadFile(filepath.Join(n.store.Dir(), aliasesFile))
	if err != nil {
		return nil
	}
	al, err := parseAliases(data)
	if err != nil {
		n.log.Warn("ignoring the aliases file", "err", err)
		return nil
	}
	return al
}

// saveAliasesLocked writes the aliases of every release the node knows
// them of (loaded, or lazy with known aliases). The caller holds n.mu.
func (n *Node) saveAliasesLocked() {
	al := make(map[string][]string, len(n.sites))
	for _, sl := range n.sites {
		s := sl.site.Load()
		if s.id != "" && (!s.lazy || s.aliasesKnown) {
			al[s.id] = s.aliases
		}
	}
	path := filepath.Join(n.store.Dir(), aliasesFile)
	if err := release.WriteCacheFile(path, encodeAliases(al)); err != nil {
		n.log.Warn("cannot write the aliases file", "err", err)
		return
	}
	n.aliasesDirty = false
}

// encodeAliases returns the file of al: a header line, a line "ID
// [ALIAS ...]" per release, sorted, and a last line "sum HEX", the
// SHA-256 of every byte before it.
func encodeAliases(al map[string][]string) []byte {
	ids := make([]string, 0, len(al))
	for id := range al {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var b bytes.Buffer
	b.WriteString(aliasesMagic + "\n")
	for _, id := range ids {
		b.WriteString(id)
		for _, a := range al[id] {
			b.WriteByte(' ')
			b.WriteString(a)
		}
		b.WriteByte('\n')
	}
	sum := sha256.Sum256(b.Bytes())
	b.WriteString("sum " + hex.EncodeToString(sum[:]) + "\n")
	return b.Bytes()
}

// parseAliases parses what encodeAliases wrote; anything else (another
// format, a bad checksum, a malformed line, an alias that is not a
// canonical host name) is an error.
func parseAliases(data []byte) (map[string][]string, error) {
	if len(data) == 0 || data[len(data)-1] != '\n' {
		return nil, errors.New("aliases file: torn")
	}
	i := bytes.LastIndexByte(data[:len(data)-1], '\n')
	if i < 0 {
		return nil, errors.New("aliases file: no checksum")
	}
	body, last := data[:i+1], string(data[i+1:len(data)-1])
	sum := sha256.Sum256(body)
	if last != "sum "+hex.EncodeToString(sum[:]) {
		return nil, errors.New("aliases file: checksum mismatch")
	}
	header, rest, ok := strings.Cut(string(body), "\n")
	if !ok || header != aliasesMagic {
		return nil, errors.New("aliases file: unknown format")
	}
	out := map[string][]string{}
	for line := range strings.Lines(rest) {
		f := strings.Split(strings.TrimSuffix(line, "\n"), " ")
		id := f[0]
		if !orchard.ValidReleaseID(id) {
			return nil, fmt.Errorf("aliases file: invalid release id %q", id)
		}
		if _, dup := out[id]; dup {
			return nil, fmt.Errorf("aliases file: release %s twice", id)
		}
		var aliases []string
		for _, a := range f[1:] {
			if h, err := orchard.NormalizeHost(a); err != nil || h != a {
				return nil, fmt.Errorf("aliases file: invalid alias %q", a)
			}
			aliases = append(aliases, a)
		}
		out[id] = aliases
	}
	return out, nil
}
