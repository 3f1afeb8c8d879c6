package proctest_test

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/orchardhq/orchard/internal/proctest"
)

func TestBuffer(t *testing.T) {
	var b proctest.Buffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fmt.Fprintf(&b, "%d", i)
		}()
	}
	wg.Wait()
	if got := len(b.String()); got != 8 {
		t.Errorf("8 concurrent one-byte writes left %d bytes: %q", got, b.String())
	}
}

func TestListFindsItself(t *testing.T) {
	for _, p := range proctest.List() {
		if p.PID == os.Getpid() {
			if !slices.Equal(p.Args, os.Args) {
				t.Errorf("List gives this process the args %q, want %q", p.Args, os.Args)
			}
			return
		}
	}
	t.Errorf("List does not list this process (pid %d)", os.Getpid())
}
