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
func parseBlobName(sha string) (name blobName, ok bool) {
	if len(sha) != 2*len(name) {
		return name, false
	}
	for i := range name {
		hi, lo := orchard.HexDigit(sha[2*i]), orchard.HexDigit(sha[2*i+1])
		if hi > 15 || lo > 15 {
			return name, false
		}
		name[i] = hi<<4 | lo
	}
	return name, true
}

// key returns the key of the blob named name in Node.blobs: its first 64
// bits. Two names that share them are told apart by comparing the names.
func (name *blobName) key() uint64 { return binary.BigEndian.Uint64(name[:8]) }
