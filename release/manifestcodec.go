package release

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/orchardhq/orchard"
)

// ManifestContentType is the media type of a manifest in the compact binary
// encoding (EncodeManifest). A body of any other type is JSON.
const ManifestContentType = "application/vnd.orchard.manifest"

// manifestMagic starts every binary manifest (version 1).
var manifestMagic = [4]byte{'O', 'M', 'F', 1}

// minEntryBytes is the fewest bytes one encoded entry takes: prefix,
// suffix length, one path byte, flags, hash, size, type.
const minEntryBytes = 1 + 1 + 1 + 1 + sha256.Size + 1 + 1

// MaxManifestFiles bounds the entries of a decoded manifest.
const MaxManifestFiles = 4 << 20

var crcTable = sync.OnceValue(func() *crc32.Table {
	return crc32.MakeTable(crc32.Castagnoli)
})

// IsBinaryManifest reports whether data starts like a binary manifest.
func IsBinaryManifest(data []byte) bool {
	return len(data) >= len(manifestMagic) && [4]byte(data[:4]) == manifestMagic
}

// EncodeManifest checks m as orchard.Manifest.Validate does (plus a parent
// that is empty or a release id) and returns its compact binary encoding
// and its id (m.ID()), computed in the same pass. Layout, integers as
// (zig-zag for signed) varints:
//
//	"OMF\x01"
//	site (length-prefixed), created (unix seconds, nanoseconds, zone
//	offset seconds), parent (length-prefixed)
//	number of content types, each length-prefixed
//	number of entries, then for each in path order: bytes shared with the
//	previous path, the rest of the path (length-prefixed), flags (1 = has
//	gzip), 32-byte SHA-256, size, content type index, [32-byte gzip
//	SHA-256, gzip size]
//	CRC-32C (Castagnoli) of everything before it, 4 bytes little-endian
func EncodeManifest(m *orchard.Manifest) ([]byte, string, error) {
	if _, err := orchard.NormalizeHost(m.Site); err != nil {
		return nil, "", err
	}
	if len(m.Files) == 0 {
		return nil, "", orchard.Errorf(orchard.EINVALID, "Manifest has no files.")
	}
	if m.Parent != "" && !orchard.ValidReleaseID(m.Parent) {
		return nil, "", orchard.Errorf(orchard.EINVALID, "Parent %q is not a release id.", m.Parent)
	}
	if !jsonYear(m.Created) {
		return nil, "", orchard.Errorf(orchard.EINVALID, "Manifest creation time %v is out of range.", m.Created)
	}
	keys := make([]string, 0, len(m.Files))
	for k := range m.Files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	types := map[string]int{}
	var typeList []string
	for _, k := range keys {
		e := m.Files[k]
		if err := checkEntry(k, e.Size, e.GzipSize); err != nil {
			return nil, "", err
		}
		if !orchard.ValidSHA256(e.SHA256) || (e.Gzip != "" && !orchard.ValidSHA256(e.Gzip)) {
			return nil, "", orchard.Errorf(orchard.EINVALID, "Manifest entry %q has an invalid hash.", k)
		}
		if _, ok := types[e.ContentType]; !ok {
			if !validType(e.ContentType) {
				return nil, "", orchard.Errorf(orchard.EINVALID, "Manifest entry %q has an invalid size or type.", k)
			}
			types[e.ContentType] = len(typeList)
			typeList = append(typeList, e.ContentType)
		}
	}
	b := make([]byte, 0, 64+len(keys)*(2*sha256.Size+24))
	b = append(b, manifestMagic[:]...)
	b = appendLenString(b, m.Site)
	_, off := m.Created.Zone()
	b = binary.AppendVarint(b, m.Created.Unix())
	b = binary.AppendUvarint(b, uint64(m.Created.Nanosecond()))
	b = binary.AppendVarint(b, int64(off))
	b = appendLenString(b, m.Parent)
	b = binary.AppendUvarint(b, uint64(len(typeList)))
	for _, t := range typeList {
		b = appendLenString(b, t)
	}
	b = binary.AppendUvarint(b, uint64(len(keys)))
	idh := newIDHash(m.Site)
	prev := ""
	for _, k := range keys {
		e := m.Files[k]
		shared := commonPrefix(prev, k)
		b = binary.AppendUvarint(b, uint64(shared))
		b = appendLenString(b, k[shared:])
		prev = k
		var flags byte
		if e.Gzip != "" {
			flags = 1
		}
		b = append(b, flags)
		b = appendRawHash(b, e.SHA256)
		b = binary.AppendUvarint(b, uint64(e.Size))
		b = binary.AppendUvarint(b, uint64(types[e.ContentType]))
		if e.Gzip != "" {
			b = appendRawHash(b, e.Gzip)
			b = binary.AppendUvarint(b, uint64(e.GzipSize))
		}
		idh.entry(k, e.SHA256, e.Size, e.ContentType, e.Gzip)
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable()))
	return b, idh.id(), nil
}

// DecodeManifest decodes a binary manifest (EncodeManifest) and returns it
// with its id, checked by the rules of orchard.Manifest.Validate (plus a
// parent that is empty or a release id, and paths in strictly increasing
// order, so no path twice): a manifest it returns needs neither Validate
// nor ID. Counts are checked against the bytes left before anything is
// allocated for them. Errors are EINVALID *orchard.Error values.
func DecodeManifest(data []byte) (*orchard.Manifest, string, error) {
	if !IsBinaryManifest(data) || len(data) < len(manifestMagic)+4 {
		return nil, "", manifestErr("not a binary manifest")
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, crcTable()) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return nil, "", manifestErr("checksum mismatch")
	}
	d := decoder{b: body[len(manifestMagic):]}
	m := &orchard.Manifest{}
	site := d.str(255)
	sec, nsec, off := d.varint(), d.uvarint(), d.varint()
	parent := d.str(orchard.MaxPathLen)
	if d.err != nil {
		return nil, "", d.err
	}
	if _, err := orchard.NormalizeHost(site); err != nil {
		return nil, "", err
	}
	if parent != "" && !orchard.ValidReleaseID(parent) {
		return nil, "", manifestErr("parent is not a release id")
	}
	if nsec >= 1e9 || off < -24*3600 || off > 24*3600 || sec < -1<<40 || sec > 1<<40 {
		return nil, "", manifestErr("invalid creation time")
	}
	m.Site, m.Parent = site, parent
	m.Created = time.Unix(sec, int64(nsec)).UTC()
	if off != 0 {
		m.Created = m.Created.In(time.FixedZone("", int(off)))
	}
	if !jsonYear(m.Created) {
		return nil, "", manifestErr("creation time out of range")
	}
	ntypes := d.count(2)
	types := make([]string, 0, ntypes)
	for range ntypes {
		t := d.str(math.MaxInt32)
		if d.err == nil && !validType(t) {
			d.fail("invalid content type")
		}
		types = append(types, t)
	}
	n := d.count(minEntryBytes)
	if d.err != nil {
		return nil, "", d.err
	}
	if n == 0 {
		return nil, "", orchard.Errorf(orchard.EINVALID, "Manifest has no files.")
	}
	if n > MaxManifestFiles {
		return nil, "", manifestErr("too many entries")
	}
	// Every path and every hex hash share one string each: two allocations
	// instead of three per entry, and little for the GC to walk.
	// Paths share prefixes: bound what they expand to.
	maxPathBytes := 16 * len(data)
	var paths, hexes strings.Builder
	paths.Grow(len(d.b))
	hexes.Grow(n * 2 * sha256.Size)
	var hexBuf [2 * sha256.Size]byte
	ends := make([]int, 0, n)
	type raw struct {
		size, gzSize int64
		typ          int
		gz           bool
	}
	ents := make([]raw, 0, n)
	prevStart := 0
	for range n {
		shared := d.uvarint()
		suffix := d.bytes(orchard.MaxPathLen)
		if d.err != nil {
			return nil, "", d.err
		}
		prev := paths.String()[prevStart:]
		if shared > uint64(len(prev)) || int(shared)+len(suffix) > orchard.MaxPathLen || len(suffix) == 0 ||
			paths.Len()+int(shared)+len(suffix) > maxPathBytes {
			return nil, "", manifestErr("invalid path")
		}
		start := paths.Len()
		paths.WriteString(prev[:shared])
		paths.Write(suffix)
		// Strictly increasing: the path differs from the previous one
		// first within the suffix, by a greater byte, or extends it.
		if len(ends) > 0 && !(len(prev) == int(shared) || prev[shared] < suffix[0]) {
			return nil, "", manifestErr("paths out of order")
		}
		prevStart = start
		ends = append(ends, paths.Len())
		flags := d.byte()
		sha := d.fixed(sha256.Size)
		r := raw{size: d.size(), typ: int(d.uvarint()), gz: flags == 1}
		hex.Encode(hexBuf[:], sha)
		hexes.Write(hexBuf[:])
		if flags > 1 {
			d.fail("invalid flags")
		}
		if r.gz {
			if gz := d.fixed(sha256.Size); len(gz) == sha256.Size {
				hex.Encode(hexBuf[:], gz)
				hexes.Write(hexBuf[:])
			}
			r.gzSize = d.size()
		}
		if d.err == nil && len(sha) != sha256.Size {
			d.fail("truncated")
		}
		if d.err == nil && (r.typ < 0 || r.typ >= len(types)) {
			d.fail("invalid content type index")
		}
		if d.err != nil {
			return nil, "", d.err
		}
		ents = append(ents, r)
	}
	if len(d.b) != 0 {
		return nil, "", manifestErr("trailing bytes")
	}
	allPaths, allHex := paths.String(), hexes.String()
	if paths.Cap() > 2*len(allPaths) { // shared prefixes: keep no more than the paths
		allPaths = strings.Clone(allPaths)
	}
	m.Files = make(map[string]orchard.ManifestEntry, n)
	idh := newIDHash(site)
	start, h := 0, 0
	for i, r := range ents {
		k := allPaths[start:ends[i]]
		start = ends[i]
		if err := checkEntry(k, r.size, r.gzSize); err != nil {
			return nil, "", err
		}
		e := orchard.ManifestEntry{SHA256: allHex[h : h+64], Size: r.size, ContentType: types[r.typ]}
		h += 64
		if r.gz {
			e.Gzip, e.GzipSize = allHex[h:h+64], r.gzSize
			h += 64
		}
		m.Files[k] = e
		idh.entry(k, e.SHA256, e.Size, e.ContentType, e.Gzip)
	}
	return m, idh.id(), nil
}

// jsonYear reports whether t has a year JSON (RFC 3339) can hold, as a
// manifest read as JSON must.
func jsonYear(t time.Time) bool { return t.Year() >= 0 && t.Year() <= 9999 }

// checkEntry applies Validate's rules for a path and sizes.
func checkEntry(k string, size, gzSize int64) error {
	if !plainKey(k) {
		clean, err := orchard.CleanRequestPath(k)
		if err != nil || clean != k || orchard.ManifestKey(k) != k {
			return orchard.Errorf(orchard.EINVALID, "Manifest path %q is not a clean file path.", k)
		}
	}
	if size < 0 || gzSize < 0 {
		return orchard.Errorf(orchard.EINVALID, "Manifest entry %q has an invalid size or type.", k)
	}
	return nil
}

// plainKey reports whether k is a manifest key that CleanRequestPath and
// ManifestKey would both leave as it is (a plain path, not "/" nor ending
// in '/'), without calling them. Any other key takes the full check.
func plainKey(k string) bool {
	return len(k) >= 2 && k[len(k)-1] != '/' && orchard.IsPlainPath(k)
}

// validType applies Validate's rule for a content type.
func validType(t string) bool {
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < 0x20 || t[i] == 0x7f {
			return false
		}
	}
	return true
}

func manifestErr(what string) error {
	return orchard.Errorf(orchard.EINVALID, "Binary manifest: %s.", what)
}

func appendLenString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendHex appends the 32 bytes of a checked hex SHA-256.
func appendRawHash(b []byte, s string) []byte {
	var k [sha256.Size]byte
	_, _ = hex.Decode(k[:], []byte(s))
	return append(b, k[:]...)
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// idHash computes orchard.Manifest.ID over entries given in path order.
type idHash struct {
	h   interface{ Write([]byte) (int, error) }
	sum func([]byte) []byte
	buf []byte
}

func newIDHash(site string) *idHash {
	h := sha256.New()
	x := &idHash{h: h, sum: h.Sum, buf: make([]byte, 0, 4096)}
	x.buf = append(append(x.buf, site...), 0)
	return x
}

func (x *idHash) entry(k, sha string, size int64, typ, gz string) {
	x.buf = append(append(x.buf, k...), 0)
	x.buf = append(append(x.buf, sha...), 0)
	x.buf = append(strconv.AppendInt(x.buf, size, 10), 0)
	x.buf = append(append(x.buf, typ...), 0)
	x.buf = append(append(x.buf, gz...), 0)
	if len(x.buf) >= 3072 {
		x.h.Write(x.buf)
		x.buf = x.buf[:0]
	}
}

func (x *idHash) id() string {
	x.h.Write(x.buf)
	return hex.EncodeToString(x.sum(nil))[:16]
}

// decoder reads a binary manifest; the first error sticks and later reads
// return zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = manifestErr(what)
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 { return readVarint(d, binary.Uvarint) }

func (d *decoder) varint() int64 { return readVarint(d, binary.Varint) }

// readVarint reads one number with read, binary.Uvarint or binary.Varint.
func readVarint[T int64 | uint64](d *decoder, read func([]byte) (T, int)) T {
	if d.err != nil {
		return 0
	}
	v, n := read(d.b)
	if n <= 0 {
		d.fail("truncated or overlong number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) size() int64 {
	v := d.uvarint()
	if v > math.MaxInt64 {
		d.fail("size out of range")
		return 0
	}
	return int64(v)
}

// count reads a number of items that take at least per bytes each, failing
// when the bytes left cannot hold them.
func (d *decoder) count(per int) int {
	v := d.uvarint()
	if d.err == nil && v > uint64(len(d.b)/per) {
		d.fail("count larger than the data")
		return 0
	}
	return int(v)
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// bytes reads a length-prefixed byte string of at most limit bytes.
func (d *decoder) bytes(limit int) []byte {
	l := d.uvarint()
	if d.err != nil {
		return nil
	}
	if l > uint64(limit) {
		d.fail("string too long")
		return nil
	}
	return d.fixed(int(l))
}

// fixed reads n bytes.
func (d *decoder) fixed(n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.fail("truncated")
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) str(limit int) string { return string(d.bytes(limit)) }

// manifestBlobKeys calls add with the SHA-256 of every blob a binary
// manifest names (each file and its gzip variant), and returns the
// manifest's site. It checks the checksum and the structure as
// DecodeManifest does, but builds nothing and does not compute the id:
// GC reads every stored manifest for its blobs alone, and decoding each
// whole was most of its work. On an error, add may have been called for
// some of the blobs.
func manifestBlobKeys(data []byte, add func([sha256.Size]byte)) (string, error) {
	if !IsBinaryManifest(data) || len(data) < len(manifestMagic)+4 {
		return "", manifestErr("not a binary manifest")
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, crcTable()) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return "", manifestErr("checksum mismatch")
	}
	d := decoder{b: body[len(manifestMagic):]}
	site := d.str(255)
	d.varint()  // created: seconds,
	d.uvarint() // nanoseconds,
	d.varint()  // zone offset
	d.bytes(orchard.MaxPathLen)
	for range d.count(2) {
		d.bytes(math.MaxInt32)
	}
	n := d.count(minEntryBytes)
	if d.err == nil && (n == 0 || n > MaxManifestFiles) {
		d.fail("no files or too many")
	}
	for i := 0; i < n && d.err == nil; i++ {
		d.uvarint()
		d.bytes(orchard.MaxPathLen)
		flags := d.byte()
		sha := d.fixed(sha256.Size)
		d.size()
		d.uvarint()
		if flags > 1 {
			d.fail("invalid flags")
		}
		if d.err != nil {
			break
		}
		add([sha256.Size]byte(sha))
		if flags == 1 {
			gz := d.fixed(sha256.Size)
			d.size()
			if d.err == nil {
				add([sha256.Size]byte(gz))
			}
		}
	}
	if d.err != nil {
		return "", d.err
	}
	if len(d.b) != 0 {
		return "", manifestErr("trailing bytes")
	}
	return site, nil
}
