package balancer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/orchardhq/orchard"
)

// StateFile is the name of the persisted manager state in Options.DataDir.
const StateFile = "manager.json"

// managerState is what operators changed in the manager: it survives
// reloads and restarts (written atomically to DataDir/manager.json).
type managerState struct {
	Members map[string]memberState `json:"members"` // "pool/member" -> changes
}

type memberState struct {
	State  string `json:"state,omitempty"`  // orchard.MemberDisabled, orchard.MemberDraining or "" (enabled)
	Weight int    `json:"weight,omitempty"` // 0 = as configured
	// Changed is when the newest action was asked (by the operator, on
	// whichever balancer): across a tier the newest action wins.
	Changed time.Time `json:"changed,omitzero"`
}

// loadState reads DataDir/manager.json, if any.
func (b *Balancer) loadState() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.state = managerState{Members: map[string]memberState{}}
	if b.opts.DataDir == "" {
		return nil
	}
	path := filepath.Join(b.opts.DataDir, StateFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("balancer: read manager state: %w", err)
	}
	var st managerState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("balancer: manager state %s is damaged (%v); fix or remove it", path, err)
	}
	for k, v := range st.Members {
		if v.State != "" && v.State != orchard.MemberDisabled && v.State != orchard.MemberDraining || v.Weight < 0 || v.Weight > orchard.MaxMemberWeight {
			delete(st.Members, k)
		}
	}
	if st.Members != nil {
		b.state = st
	}
	return nil
}

// saveStateLocked writes the manager state atomically: a temporary file,
// fsync, rename, fsync of the directory. b.mu must be held.
func (b *Balancer) saveStateLocked() error {
	if b.opts.DataDir == "" {
		return nil
	}
	if err := os.MkdirAll(b.opts.DataDir, 0o750); err != nil {
		return fmt.Errorf("balancer: save manager state: %w", err)
	}
	data, err := json.MarshalIndent(b.state, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(b.opts.DataDir, StateFile)
	tmp, err := os.CreateTemp(b.opts.DataDir, StateFile+".tmp*")
	if err != nil {
		return fmt.Errorf("balancer: save manager state: %w", err)
	}
	_, werr := tmp.Write(append(data, '\n'))
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("balancer: save manager state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("balancer: save manager state: %w", err)
	}
	if d, err := os.Open(b.opts.DataDir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// applyStateLocked sets a member's operator state and weight from the
// manager state. b.mu must be held.
func (b *Balancer) applyStateLocked(m *member) {
	s := b.state.Members[m.pool+"/"+m.cfg.Name]
	switch s.State {
	case orchard.MemberDisabled:
		m.admin.Store(adminDisabled)
	case orchard.MemberDraining:
		m.admin.Store(adminDraining)
	default:
		m.admin.Store(adminOK)
	}
	w := m.cfg.Weight
	if s.Weight > 0 {
		w = s.Weight
	}
	m.weight.Store(int32(w))
}
