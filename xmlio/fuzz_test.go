package xmlio_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"

	"github.com/orchardhq/orchard/xmlio"
)

// FuzzDecode feeds Decode arbitrary bytes: it must never panic or hang,
// and whatever it accepts must export and decode back to the same content.
func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob("testdata/*/*.xml")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	lim := xmlio.Limits{MaxBytes: 1 << 20, MaxTokenBytes: 64 << 10, MaxElements: 10_000}
	f.Fuzz(func(t *testing.T, data []byte) {
		type result struct {
			c   *orchard.SiteContent
			err error
		}
		done := make(chan result, 1)
		go func() {
			c, err := xmlio.Decode(context.Background(), bytes.NewReader(data), lim, nil)
			done <- result{c, err}
		}()
		var res result
		select {
		case res = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Decode hangs on %q", data)
		}
		c, err := res.c, res.err
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := xmlio.Export(context.Background(), &out, c, xmlio.ExportOptions{WithSecrets: true}); err != nil {
			t.Fatalf("Export of decoded content: %v", err)
		}
		again, err := xmlio.Decode(context.Background(), bytes.NewReader(out.Bytes()), xmlio.Limits{}, nil)
		if err != nil {
			t.Fatalf("Decode of re-exported content: %v\n%s", err, out.Bytes())
		}
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("content changed on export -> decode:\n got %+v\nwant %+v", again, c)
		}
	})
}
