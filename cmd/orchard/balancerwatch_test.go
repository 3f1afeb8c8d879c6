package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWatchBalancer(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name string
		end  func(w *os.File) // what the balancer does with its end of the pipe
		want string           // the track file after the watcher returned
	}{
		{"planned stop", func(w *os.File) { w.Write([]byte{'q'}); w.Close() }, "0\n"},
		{"balancer gone", func(w *os.File) { w.Close() }, "1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "keepalived-track")
			if err := setTrack(file, true); err != nil {
				t.Fatal(err)
			}
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			done := make(chan error, 1)
			go func() { done <- watchBalancer(r, file, logger) }()
			tc.end(w)
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the watcher did not return")
			}
			if b, _ := os.ReadFile(file); string(b) != tc.want {
				t.Errorf("track file %q, want %q", b, tc.want)
			}
		})
	}
}
