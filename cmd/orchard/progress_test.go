package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/publish"
)

// TestProgressLines holds the admin UI's progress lines (eventLines) and the
// CLI's (progressPrinter, not on a terminal) to the same phase changes,
// each in its own layout.
func TestProgressLines(t *testing.T) {
	events := []publish.Event{
		{Node: "node0", Phase: publish.PhaseStage},
		{Node: "node0", Phase: publish.PhaseUpload, Total: 3},
		{Node: "node0", Phase: publish.PhaseUpload, Done: 1, Total: 3, Bytes: 10},
		{Node: "node0", Phase: publish.PhaseUpload, Done: 3, Total: 3, Bytes: 2048},
		{Node: "node1", Phase: publish.PhaseDown, Err: errors.New("refused")},
		{Node: "node0", Phase: publish.PhaseStaged},
		{Node: "node0", Phase: publish.PhaseActivated},
	}
	var admin []string
	toAdmin := eventLines(func(s string) { admin = append(admin, s) })
	var cli bytes.Buffer
	toCLI := progressPrinter(&cli)
	for _, e := range events {
		toAdmin(e)
		toCLI(e)
	}
	wantAdmin := "node0: needs 3 blobs|node0: sent 3 blobs, " + orchard.FormatBytes(2048) +
		"|node1: down: refused|node0: staged|node0: activated"
	if got := strings.Join(admin, "|"); got != wantAdmin {
		t.Errorf("admin lines:\n got %s\nwant %s", got, wantAdmin)
	}
	wantCLI := "  node0      needs 3 blobs\n  node1      down: refused\n  node0      staged\n  node0      activated\n"
	if got := cli.String(); got != wantCLI {
		t.Errorf("CLI lines:\n got %q\nwant %q", got, wantCLI)
	}
}
