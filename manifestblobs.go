package orchard

// BlobHashes lists every blob m names: each file's content and its gzip
// variant. A blob several files share is listed once per file; the blob
// stores' lookups take duplicates, which costs less than building a set.
func (m *Manifest) BlobHashes() []string {
	out := make([]string, 0, len(m.Files)*2)
	for _, e := range m.Files {
		out = append(out, e.SHA256)
		if e.Gzip != "" {
			out = append(out, e.Gzip)
		}
	}
	return out
}
