package node

import (
	"encoding/binary"

	"github.com/orchardhq/orchard"
)

// blobName is a blob's name, the SHA-256 of its bytes, as those 32
// bytes: half of the 64 hex digits it is written in.
type blobName [32]byte

// parseBlobName returns the name written sha (64 lower-case hex digits,
// as the store names blobs); ok is false for anything else.
func parseBlobName(sha string) (blobName, bool) {
	sum, ok := orchard.DecodeSHA256(sha)
	return blobName(sum), ok
}

// key returns the key of the blob named name in Node.blobs: its first 64
// bits. Two names that share them are told apart by comparing the names.
func (name *blobName) key() uint64 { return binary.BigEndian.Uint64(name[:8]) }

// putHex writes the name into dst in lower-case hex, as hex.Encode does,
// in about half its time: every response formats its ETag so (blob.etag).
// Four bytes at a time, each nibble d gets a byte of its own, then
// becomes '0'+d, plus 'a'-'0'-10 when d > 9 (when d+6 carries into bit 4).
func (name *blobName) putHex(dst *[2 * len(blobName{})]byte) {
	for i := 0; i < len(name); i += 4 {
		x := uint64(binary.BigEndian.Uint32(name[i:]))
		x = (x | x<<16) & 0x0000ffff0000ffff
		x = (x | x<<8) & 0x00ff00ff00ff00ff
		x = (x | x<<4) & 0x0f0f0f0f0f0f0f0f
		letters := (x + 0x0606060606060606) >> 4 & 0x0101010101010101
		x += 0x3030303030303030 + letters*('a'-'0'-10)
		binary.BigEndian.PutUint64(dst[2*i:], x)
	}
}
