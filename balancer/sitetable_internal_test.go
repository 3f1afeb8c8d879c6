package balancer

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
)

// TestSiteTable applies random changes to a siteTable and to a plain map
// side by side: every lookup, length and copy agrees, and an old table
// never sees a later change (copies on write share only untouched shards).
func TestSiteTable(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var tab *siteTable
	want := map[string]string{}
	type snapshot struct {
		tab  *siteTable
		want map[string]string
	}
	var olds []snapshot
	for step := range 2000 {
		changes := map[string]string{}
		for range 1 + r.IntN(20) {
			site := fmt.Sprintf("s%d.test", r.IntN(600))
			id := ""
			if r.IntN(4) > 0 {
				id = fmt.Sprintf("%016x", r.Uint64())
			}
			changes[site] = id
		}
		if r.IntN(2) == 0 {
			tab = tab.with(changes)
		} else {
			for site, id := range changes {
				tab = tab.set(site, id)
			}
		}
		for site, id := range changes {
			if id == "" {
				delete(want, site)
			} else {
				want[site] = id
			}
		}
		if !tab.equal(want) || !maps.Equal(tab.all(), want) || tab.len() != len(want) {
			t.Fatalf("step %d: table %v (len %d), want %v", step, tab.all(), tab.len(), want)
		}
		for site := range changes {
			if got := tab.get([]byte(site)); got != want[site] {
				t.Fatalf("step %d: get(%q) = %q, want %q", step, site, got, want[site])
			}
		}
		if step%100 == 0 {
			olds = append(olds, snapshot{tab, maps.Clone(want)})
		}
	}
	for i, o := range olds {
		if !o.tab.equal(o.want) {
			t.Fatalf("snapshot %d changed after it was taken", i)
		}
	}
}

func TestSiteTableNil(t *testing.T) {
	var tab *siteTable
	if tab.get([]byte("a.test")) != "" || tab.len() != 0 || len(tab.all()) != 0 || !tab.equal(nil) {
		t.Fatal("a nil table is not empty")
	}
	if tab.with(map[string]string{"a.test": ""}) != tab {
		t.Fatal("removing what is not there made a new table")
	}
	one := tab.set("a.test", "0123456789abcdef")
	if one.get([]byte("a.test")) != "0123456789abcdef" || one.len() != 1 {
		t.Fatalf("set on a nil table: %v", one.all())
	}
	if one.set("a.test", "0123456789abcdef") != one {
		t.Fatal("setting the same release made a new table")
	}
}

// BenchmarkSiteTableSet is one site's change in a table of 10,000 sites:
// what a publish costs each member's table and the targets.
func BenchmarkSiteTableSet(b *testing.B) {
	m := map[string]string{}
	for i := range 10000 {
		m[fmt.Sprintf("s%05d.scale.test", i)] = "0123456789abcdef"
	}
	tab := newSiteTable(m)
	i := 0
	for b.Loop() {
		i++
		_ = tab.set("s00001.scale.test", fmt.Sprintf("%016x", i))
	}
}
