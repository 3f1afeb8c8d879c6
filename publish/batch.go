package publish

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/orchardhq/orchard"
)

// A batch carries many small blobs in one request body
// (POST /_orchard/v1/blobs): for each blob a line "<sha256> <size>\n"
// followed by exactly size bytes. One request per few hundred small pages
// instead of one each is what makes a first publish fast.

// batchItem is one blob of a batch.
type batchItem struct {
	sha  string
	data []byte
}

// maxBatchItems bounds the blobs of one batch.
const maxBatchItems = 4096

// appendBatchItem appends one blob to a batch body.
func appendBatchItem(b []byte, sha string, data []byte) []byte {
	b = append(b, sha...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(data)), 10)
	b = append(b, '\n')
	return append(b, data...)
}

// parseBatch splits a batch body into its blobs; it refuses (ErrInvalid) a
// malformed header line, a size past the end, a bad hash or too many items.
// The data of each item aliases b.
func parseBatch(b []byte) ([]batchItem, error) {
	var items []batchItem
	for len(b) > 0 {
		if len(items) == maxBatchItems {
			return nil, fmt.Errorf("%w: batch has more than %d blobs", ErrInvalid, maxBatchItems)
		}
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 || nl > 64+1+20 {
			return nil, fmt.Errorf("%w: batch header line is malformed", ErrInvalid)
		}
		line := b[:nl]
		if len(line) < 66 || line[64] != ' ' {
			return nil, fmt.Errorf("%w: batch header line is malformed", ErrInvalid)
		}
		sha := string(line[:64])
		if !orchard.ValidSHA256(sha) {
			return nil, fmt.Errorf("%w: batch names an invalid hash", ErrInvalid)
		}
		sizeText := string(line[65:])
		size, err := strconv.ParseInt(sizeText, 10, 64)
		if err != nil || size < 0 || strconv.FormatInt(size, 10) != sizeText {
			return nil, fmt.Errorf("%w: batch size %q is not a number", ErrInvalid, sizeText)
		}
		b = b[nl+1:]
		if size > int64(len(b)) {
			return nil, fmt.Errorf("%w: batch blob %s is cut short", ErrInvalid, sha)
		}
		items = append(items, batchItem{sha: sha, data: b[:size:size]})
		b = b[size:]
	}
	return items, nil
}
