package release

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"unsafe"

	"github.com/orchardhq/orchard"
)

// A build record on disk is a compact binary file, about 40% of its JSON
// form and decoded an order of magnitude faster (it is read by every
// incremental build):
//
//	"orchard-build 2\n"
//	uvarint  number of content types, then each as a string
//	uvarint  number of outputs, then per output, sorted by path:
//	  string path, string key, uvarint content type index,
//	  string sum, string sha256, uvarint size, string gzip, uvarint gzip size
//
// where a string is a uvarint length and its bytes. Hex hashes are stored
// as raw bytes (a length of 0 for none). The record is a cache: a file that
// does not decode is ignored and the next build is a full one.

const recordMagic = "orchard-build 2\n"

var errBadRecord = errors.New("malformed build record")

// encode returns the binary form of r (its outputs sorted by path first
// if they are not).
func (r *record) encode() []byte {
	outs := r.Outputs
	if !slices.IsSortedFunc(outs, cmpOutputPath) {
		outs = slices.Clone(outs)
		slices.SortFunc(outs, cmpOutputPath)
	}
	typeIdx := map[string]uint64{}
	var types []string
	size := len(recordMagic) + 16
	for i := range outs {
		o := &outs[i]
		if _, ok := typeIdx[o.ContentType]; !ok {
			typeIdx[o.ContentType] = uint64(len(types))
			types = append(types, o.ContentType)
		}
		size += len(o.Path) + len(o.Key) + 8*4 + len(o.Sum)/2 + 64
	}
	b := make([]byte, 0, size)
	b = append(b, recordMagic...)
	b = binary.AppendUvarint(b, uint64(len(types)))
	for _, t := range types {
		b = appendString(b, t)
	}
	b = binary.AppendUvarint(b, uint64(len(outs)))
	for i := range outs {
		o := &outs[i]
		b = appendString(b, o.Path)
		b = appendString(b, o.Key)
		b = binary.AppendUvarint(b, typeIdx[o.ContentType])
		b = appendHex(b, o.Sum)
		b = appendHex(b, o.Entry.SHA256)
		b = binary.AppendUvarint(b, uint64(o.Entry.Size))
		b = appendHex(b, o.Entry.Gzip)
		b = binary.AppendUvarint(b, uint64(o.Entry.GzipSize))
	}
	return b
}

func cmpOutputPath(a, b recordOutput) int { return strings.Compare(a.Path, b.Path) }

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendHex stores a hex string as raw bytes; the hashes it is given are
// always lower-case hex of even length (checked again on decode).
func appendHex(b []byte, s string) []byte {
	var buf [64]byte
	n := 0
	if len(s) <= 2*len(buf) {
		if d, err := hex.Decode(buf[:], []byte(s)); err == nil {
			n = d
		}
	} // else n = 0: never for the hashes a build makes; decode then refuses the record
	b = binary.AppendUvarint(b, uint64(n))
	return append(b, buf[:n]...)
}

// recordReader reads the fields of a binary record, remembering the first
// error. The strings it returns share one buffer (arena), allocated once
// for the whole record.
type recordReader struct {
	b     []byte
	err   error
	arena []byte // never grown beyond its capacity, so strings stay valid
}

func (r *recordReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errBadRecord
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errBadRecord
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// keep copies b into the arena and returns it as a string.
func (r *recordReader) keep(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(r.arena)+len(b) > cap(r.arena) { // never, as decodeRecord sizes it
		return string(b)
	}
	start := len(r.arena)
	r.arena = append(r.arena, b...)
	return unsafe.String(&r.arena[start], len(b))
}

func (r *recordReader) str() string { return r.keep(r.bytes()) }

// hex returns raw bytes as hex, refusing any length but 0, 16 or 32 bytes
// (the digests and hashes a record holds).
func (r *recordReader) hex() string {
	b := r.bytes()
	switch len(b) {
	case 0:
		return ""
	case 16, 32:
	default:
		r.err = errBadRecord
		return ""
	}
	if len(r.arena)+2*len(b) > cap(r.arena) {
		return hex.EncodeToString(b)
	}
	start := len(r.arena)
	r.arena = hex.AppendEncode(r.arena, b)
	return unsafe.String(&r.arena[start], 2*len(b))
}

func (r *recordReader) size() int64 {
	v := r.uvarint()
	if v > 1<<62 {
		r.err = errBadRecord
	}
	return int64(v)
}

// decodeRecord parses the binary form of a record, checking every hash.
func decodeRecord(data []byte) (*record, error) {
	if len(data) < len(recordMagic) || string(data[:len(recordMagic)]) != recordMagic {
		return nil, errBadRecord
	}
	// Every string is at most its bytes in data, hex twice that.
	r := &recordReader{b: data[len(recordMagic):], arena: make([]byte, 0, 2*len(data))}
	nt := r.uvarint()
	if nt > uint64(len(r.b)) {
		return nil, errBadRecord
	}
	types := make([]string, 0, nt)
	for range nt {
		types = append(types, r.str())
	}
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		return nil, errBadRecord
	}
	rec := &record{Outputs: make([]recordOutput, 0, n)}
	for range n {
		o := recordOutput{Path: r.str(), Key: r.str()}
		if ti := r.uvarint(); ti < uint64(len(types)) {
			o.ContentType = types[ti]
		} else {
			return nil, errBadRecord
		}
		o.Sum = r.hex()
		o.Entry = orchard.ManifestEntry{SHA256: r.hex(), Size: r.size(), ContentType: o.ContentType}
		o.Entry.Gzip, o.Entry.GzipSize = r.hex(), r.size()
		if r.err != nil {
			return nil, r.err
		}
		if len(o.Entry.SHA256) != 64 || (o.Entry.Gzip != "" && len(o.Entry.Gzip) != 64) {
			return nil, errBadRecord
		}
		if k := len(rec.Outputs); k > 0 && rec.Outputs[k-1].Path >= o.Path {
			return nil, errBadRecord // not sorted, or a path twice
		}
		rec.Outputs = append(rec.Outputs, o)
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, errBadRecord
	}
	return rec, nil
}
