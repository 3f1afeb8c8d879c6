package master

import (
	"fmt"
	"testing"
)

// TestFileCache checks the byte bound and that the least recently used
// file goes first.
func TestFileCache(t *testing.T) {
	c := newFileCache(30)
	for i := range 3 {
		c.put(fmt.Sprint(i), make([]byte, 10))
	}
	if _, ok := c.get("0"); !ok { // "0" is now the most recently used
		t.Fatal("file 0 not kept")
	}
	c.put("3", make([]byte, 10))
	for key, want := range map[string]bool{"0": true, "1": false, "2": true, "3": true} {
		if _, ok := c.get(key); ok != want {
			t.Errorf("file %s kept = %v, want %v", key, ok, want)
		}
	}
	if got := c.size(); got != 30 {
		t.Errorf("size %d, want 30", got)
	}
	c.put("big", make([]byte, 31))
	if _, ok := c.get("big"); ok {
		t.Errorf("a file larger than the budget was kept")
	}
	if got := c.size(); got != 30 {
		t.Errorf("size after a too big file %d, want 30", got)
	}
	none := newFileCache(-1)
	none.put("x", nil)
	none.put("y", []byte("y"))
	if _, ok := none.get("y"); ok || none.size() != 0 {
		t.Errorf("a negative budget kept a file")
	}
}
