package main

import (
	"io"
	"os"
	"path/filepath"
)

// writeFileAtomic writes path through a temporary file in its directory,
// synced and renamed into place, so a reader (or a process running the old
// file) never sees half of it, and returns the bytes written.
func writeFileAtomic(path string, mode os.FileMode, write func(io.Writer) error) (int64, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return 0, err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	cw := &byteCounter{w: f}
	if err := write(cw); err != nil {
		return 0, err
	}
	if err := f.Chmod(mode); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return 0, err
	}
	ok = true
	return cw.n, nil
}

// byteCounter counts the bytes written through it.
type byteCounter struct {
	w io.Writer
	n int64
}

func (c *byteCounter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
