package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
)

// rollbackMark records that a site was rolled back, so that the next publish
// of a newer release can say that it undoes the rollback.
type rollbackMark struct {
	From string    `json:"from"` // release active before the rollback
	To   string    `json:"to"`   // release the rollback activated
	At   time.Time `json:"at"`
}

// rollbackMarkPath is where the master's data dir keeps site's mark. site
// passed NormalizeHost: a DNS name, never a path.
func rollbackMarkPath(data, site string) string {
	return filepath.Join(data, "rollbacks", site+".json")
}

func saveRollbackMark(data, site string, m rollbackMark) error {
	p := rollbackMarkPath(data, site)
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// loadRollbackMark returns site's mark, nil when it has none (or an
// unreadable one: the mark only decides whether to ask).
func loadRollbackMark(data, site string) *rollbackMark {
	b, err := os.ReadFile(rollbackMarkPath(data, site))
	if err != nil {
		return nil
	}
	var m rollbackMark
	if json.Unmarshal(b, &m) != nil || m.To == "" {
		return nil
	}
	return &m
}

func clearRollbackMark(data, site string) error {
	err := os.Remove(rollbackMarkPath(data, site))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// confirmUndoRollback asks before a publish of release id replaces the
// release a rollback of site activated (active): on a terminal y/N, else
// --yes is required. It returns nil when there is nothing to undo.
func confirmUndoRollback(cmd *cobra.Command, data, site, active, id string, yes bool) error {
	m := loadRollbackMark(data, site)
	if m == nil || m.To != active || id == active {
		return nil
	}
	msg := fmt.Sprintf("%s was rolled back from %s to %s at %s; publishing %s undoes that rollback",
		site, m.From, m.To, m.At.Local().Format("2006-01-02 15:04"), id)
	if yes {
		fmt.Fprintln(cmd.ErrOrStderr(), msg+".")
		return nil
	}
	ok, err := askYes(cmd, cmd.ErrOrStderr(), msg+". Publish?")
	if errors.Is(err, errNoTerminal) {
		return usagef("%s. Not published: no terminal to ask on; add --yes to publish anyway", msg)
	}
	if !ok {
		return usagef("not published: %s stays on %s", site, active)
	}
	return nil
}
