package release

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/orchardhq/orchard"
)

// A node restarting with 10,000 sites read 10,000 pointer files (open,
// read, close each) before it could serve. The active index, one file
// beside the sites, keeps each site's active release id with the stamp
// (inode, mtime, size) of the pointer file it was read from. Reading the
// pointers through it costs one directory listing and a stat per site,
// not an open and a read: a pointer whose stamp is the index's was not
// replaced since (every pointer write makes a new file, renamed into
// place), so its id is the index's; any other pointer, and every pointer
// when the index is missing, corrupt or of an older format, is read.
//
// The index is only a cache of the pointers: it is written without fsync,
// after the pointers it describes, and never on the activation path (a
// store-wide write per activation would make activating one site cost
// more as sites are added). After a crash it may be stale, torn or
// missing; each of those costs reading some pointers, never a wrong id.
//
// One hazard of stamps: a file system reuses inode numbers, and mtime has
// the granularity of the kernel's coarse clock. A pointer written twice
// within one tick after the index recorded it could come back with the
// recorded inode, mtime and size. So a stamp is recorded only for a
// pointer at least stampAge old when it is read: any later pointer file
// is younger than that and cannot share its mtime.

const (
	activeIndexFile  = "active.idx"
	activeIndexMagic = "orchard active index 1"
	// stampAge is how old a pointer must be for the index to record its
	// stamp (see above); younger ones are read again at the next use.
	stampAge = 2 * time.Second
)

// fileStamp identifies one pointer file: each write makes a new one.
type fileStamp struct {
	ino   uint64
	mtime int64 // nanoseconds since the epoch
	size  int64
}

func stampOf(fi fs.FileInfo) fileStamp {
	return fileStamp{ino: fileIno(fi), mtime: fi.ModTime().UnixNano(), size: fi.Size()}
}

// pointer is a site's active release as read from its pointer file.
type pointer struct {
	id    string    // "" when the site has no active release
	stamp fileStamp // of the file id was read from; zero when none or too young to trust
}

// ActiveSites returns every site that has releases, sorted, with the id
// of its active release ("" when it has none). It reads the pointers
// through the active index (a stat for each pointer the index holds) and
// rewrites the index when it had to read any pointer.
func (s *Store) ActiveSites() (sites []string, ids []string, err error) {
	ptrs, err := s.pointers(s.readActiveIndex())
	if err != nil {
		return nil, nil, err
	}
	sites = make([]string, 0, len(ptrs))
	for h := range ptrs {
		sites = append(sites, h)
	}
	sort.Strings(sites)
	ids = make([]string, len(sites))
	for i, h := range sites {
		ids[i] = ptrs[h].id
	}
	return sites, ids, nil
}

// pointers reads the active pointer of every site, taking the id from
// known (a site's pointer as last read) when the pointer file's stamp is
// the one recorded there, reading it otherwise. When it read any pointer,
// or known held a site that is gone, it rewrites the index.
func (s *Store) pointers(known map[string]pointer) (map[string]pointer, error) {
	sitesDir := filepath.Join(s.dir, "sites")
	ents, err := os.ReadDir(sitesDir)
	if err != nil {
		return nil, fmt.Errorf("list sites: %w", err)
	}
	out := make(map[string]pointer, len(ents))
	read, used := 0, 0
	now := time.Now()
	for _, e := range ents {
		h := e.Name()
		if !e.IsDir() {
			continue
		}
		if checkSite(h) != nil {
			continue
		}
		k, inIndex := known[h]
		path := filepath.Join(sitesDir, h, "active")
		fi, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			out[h] = pointer{}
			continue
		} else if err != nil {
			return nil, fmt.Errorf("read active release of %s: %w", h, err)
		}
		if inIndex && k.stamp != (fileStamp{}) && k.stamp == stampOf(fi) {
			out[h] = k
			used++
			continue
		}
		p, err := readPointer(h, path, now)
		if err != nil {
			return nil, err
		}
		out[h] = p
		read++
	}
	if read > 0 || used < indexed(known) {
		// A cache: failing to write it costs the next reader some reads.
		_ = WriteCacheFile(filepath.Join(s.dir, activeIndexFile), encodeActiveIndex(out))
	}
	return out, nil
}

// indexed counts the pointers of ptrs the index records: those with an
// id and a stamp.
func indexed(ptrs map[string]pointer) int {
	n := 0
	for _, p := range ptrs {
		if p.id != "" && p.stamp != (fileStamp{}) {
			n++
		}
	}
	return n
}

// readPointer reads the pointer file of site at path. The stamp is taken
// from the open file, so it is the stamp of the bytes read, and only when
// the file is at least stampAge older than now.
func readPointer(site, path string, now time.Time) (pointer, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return pointer{}, nil
	} else if err != nil {
		return pointer{}, fmt.Errorf("read active release of %s: %w", site, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return pointer{}, fmt.Errorf("read active release of %s: %w", site, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, 256))
	if err != nil {
		return pointer{}, fmt.Errorf("read active release of %s: %w", site, err)
	}
	id := string(bytes.TrimSpace(data))
	if !orchard.ValidReleaseID(id) {
		return pointer{}, fmt.Errorf("read active release of %s: corrupt pointer %q", site, id)
	}
	p := pointer{id: id}
	if fi.ModTime().Before(now.Add(-stampAge)) {
		p.stamp = stampOf(fi)
	}
	return p, nil
}

// readActiveIndex returns the pointers the index records, or nil when
// it is missing or cannot be trusted.
func (s *Store) readActiveIndex() map[string]pointer {
	return readCacheFile(filepath.Join(s.dir, activeIndexFile), parseActiveIndex)
}

// encodeActiveIndex returns the index of ptrs: a header line, one line
// "HOST ID INO MTIME SIZE" per site whose stamp is known, and a last line
// "sum HEX", the SHA-256 of every byte before it, so that a torn or
// damaged file is refused whole.
func encodeActiveIndex(ptrs map[string]pointer) []byte {
	hosts := make([]string, 0, len(ptrs))
	for h, p := range ptrs {
		if p.id != "" && p.stamp != (fileStamp{}) {
			hosts = append(hosts, h)
		}
	}
	sort.Strings(hosts)
	var b bytes.Buffer
	b.Grow(len(activeIndexMagic) + 1 + len(hosts)*96 + 69)
	b.WriteString(activeIndexMagic)
	b.WriteByte('\n')
	for _, h := range hosts {
		p := ptrs[h]
		buf := b.AvailableBuffer()
		buf = append(buf, h...)
		buf = append(buf, ' ')
		buf = append(buf, p.id...)
		buf = append(buf, ' ')
		buf = strconv.AppendUint(buf, p.stamp.ino, 10)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, p.stamp.mtime, 10)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, p.stamp.size, 10)
		buf = append(buf, '\n')
		b.Write(buf)
	}
	sum := sha256.Sum256(b.Bytes())
	b.WriteString("sum ")
	b.WriteString(hex.EncodeToString(sum[:]))
	b.WriteByte('\n')
	return b.Bytes()
}

// parseActiveIndex parses what encodeActiveIndex wrote. Anything else
// (another format, a bad checksum, a malformed line, an invalid id) is
// an error: the caller then reads every pointer. Its host names are only
// looked up by the names of the site directories, which are checked.
func parseActiveIndex(data []byte) (map[string]pointer, error) {
	body, sumLine, ok := cutLastLine(data)
	if !ok {
		return nil, errors.New("active index: no checksum line")
	}
	hexSum, ok := strings.CutPrefix(sumLine, "sum ")
	if !ok {
		return nil, errors.New("active index: no checksum line")
	}
	sum := sha256.Sum256(body)
	if hexSum != hex.EncodeToString(sum[:]) {
		return nil, errors.New("active index: checksum mismatch")
	}
	text := string(body)
	header, rest, ok := strings.Cut(text, "\n")
	if !ok || header != activeIndexMagic {
		return nil, errors.New("active index: unknown format")
	}
	out := make(map[string]pointer, strings.Count(rest, "\n"))
	for line := range strings.Lines(rest) {
		line = strings.TrimSuffix(line, "\n")
		f := strings.Fields(line)
		if len(f) != 5 || strings.Join(f, " ") != line {
			return nil, fmt.Errorf("active index: malformed line %q", line)
		}
		if !orchard.ValidReleaseID(f[1]) {
			return nil, fmt.Errorf("active index: invalid release id %q", f[1])
		}
		ino, err1 := strconv.ParseUint(f[2], 10, 64)
		mtime, err2 := strconv.ParseInt(f[3], 10, 64)
		size, err3 := strconv.ParseInt(f[4], 10, 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("active index: line %q: %w", line, err)
		}
		st := fileStamp{ino: ino, mtime: mtime, size: size}
		if _, dup := out[f[0]]; dup || st == (fileStamp{}) {
			return nil, fmt.Errorf("active index: line %q repeated or without a stamp", line)
		}
		out[f[0]] = pointer{id: f[1], stamp: st}
	}
	return out, nil
}

// cutLastLine splits data, which must end in a newline, before its last
// line, returning that line without the newline.
func cutLastLine(data []byte) (body []byte, last string, ok bool) {
	if len(data) == 0 || data[len(data)-1] != '\n' {
		return nil, "", false
	}
	i := bytes.LastIndexByte(data[:len(data)-1], '\n')
	if i < 0 {
		return nil, "", false
	}
	return data[:i+1], string(data[i+1 : len(data)-1]), true
}
