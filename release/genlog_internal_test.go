package release

import (
	"slices"
	"testing"
)

func TestGenLog(t *testing.T) {
	g := genLog{epoch: "e1", seq: 7, moves: []genMove{
		{seq: 5, site: "a.test", id: "0123456789abcdef"},
		{seq: 6, site: "b.test", id: "1123456789abcdef"},
		{seq: 7, site: "a.test", id: "2123456789abcdef"},
	}}
	back, ok := parseGenLog(g.encode())
	if !ok || back.epoch != g.epoch || back.seq != g.seq || !slices.Equal(back.moves, g.moves) {
		t.Fatalf("round trip: %+v, %v; want %+v", back, ok, g)
	}
	tests := []struct {
		epoch string
		seq   uint64
		want  []uint64 // seqs of the moves returned
		all   bool
	}{
		{"e1", 7, nil, true},
		{"e1", 6, []uint64{7}, true},
		{"e1", 4, []uint64{5, 6, 7}, true},
		{"e1", 3, nil, false}, // move 4 is gone
		{"e1", 8, nil, false}, // ahead of the log: another log
		{"e2", 7, nil, false},
	}
	for _, tt := range tests {
		moves, all := g.since(tt.epoch, tt.seq)
		var seqs []uint64
		for _, m := range moves {
			seqs = append(seqs, m.seq)
		}
		if all != tt.all || !slices.Equal(seqs, tt.want) {
			t.Errorf("since(%s, %d) = %v, %v; want %v, %v", tt.epoch, tt.seq, seqs, all, tt.want, tt.all)
		}
	}
	for _, bad := range []string{
		"",
		"1700000000 42\n",           // the older format
		"orchard active gen 2 e1 7", // torn: no newline
		"orchard active gen 2 e1 1\n2 a.test 0123456789abcdef\n", // numbers out of step
		"orchard active gen 2 e1 1\n1 ../x 0123456789abcdef\n",   // not a site
		"orchard active gen 2 e1 1\n1 a.test nothex\n",
		"orchard active gen 2 e1 0\n1 a.test 0123456789abcdef\n", // more moves than numbers
	} {
		if _, ok := parseGenLog([]byte(bad)); ok {
			t.Errorf("parseGenLog(%q) accepted", bad)
		}
	}
}

func FuzzParseGenLog(f *testing.F) {
	f.Add([]byte("orchard active gen 2 e1 7\n6 b.test 1123456789abcdef\n7 a.test 2123456789abcdef\n"))
	f.Add([]byte("orchard active gen 2 e1 0\n"))
	f.Add([]byte("1700000000 42\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, ok := parseGenLog(data)
		if !ok {
			return
		}
		if again, ok := parseGenLog(g.encode()); !ok || again.seq != g.seq || !slices.Equal(again.moves, g.moves) {
			t.Fatalf("%q parsed, but its encoding does not parse back", data)
		}
		if len(g.moves) > maxGenMoves || len(g.moves) > 0 && g.moves[len(g.moves)-1].seq != g.seq {
			t.Fatalf("%q: %d moves, the last %v, seq %d", data, len(g.moves), g.moves, g.seq)
		}
	})
}
