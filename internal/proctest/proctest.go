// Package proctest holds what tests share to watch the processes and
// goroutines they start: a buffer their output can be written to while the
// test reads it, the list of processes running on the machine, and a
// stop that does not wait forever on a child that hangs.
package proctest

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Buffer is a bytes.Buffer that many writers (a child's stdout and stderr,
// a server's goroutines) and the test can share. The zero value is ready.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what has been written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Proc is a process running when List read /proc.
type Proc struct {
	PID  int
	Args []string // its command line; empty for kernel threads
}

// List reads the processes running now from /proc. A process that ends
// while it reads is left out; on a system without /proc the list is empty.
func List() []Proc {
	ents, _ := os.ReadDir("/proc")
	var out []Proc
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		out = append(out, Proc{PID: pid, Args: strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")})
	}
	return out
}
