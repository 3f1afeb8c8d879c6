package release_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// killBlob is blob i of batch n of round r of the kill test.
func killBlob(r, n, i int) []byte {
	return []byte(fmt.Sprintf("round %d batch %d blob %d %s", r, n, i, strings.Repeat("k", 1000+i*37)))
}

// TestPackKillHelper is the process TestPackKill kills: it appends batches
// of blobs, syncing after each and saying so, until it is killed.
func TestPackKillHelper(t *testing.T) {
	dir := os.Getenv("ORCHARD_PACK_KILL_DIR")
	if dir == "" {
		t.Skip("helper process of TestPackKill")
	}
	round, _ := strconv.Atoi(os.Getenv("ORCHARD_PACK_KILL_ROUND"))
	b := openBlobs(t, dir)
	b.PackBytes = 64 << 10
	for n := 0; n < 1000; n++ {
		for i := range 20 {
			putAll(t, b, killBlob(round, n, i))
		}
		mustSync(t, b)
		fmt.Printf("synced %d\n", n)
	}
}

// A process killed (SIGKILL) at any moment of appending and syncing leaves
// a store that opens cleanly, holding every blob synced before the kill,
// whole, and nothing torn.
func TestPackKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	synced := map[int]int{} // round -> last batch reported synced
	for round := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPackKillHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), "ORCHARD_PACK_KILL_DIR="+dir, "ORCHARD_PACK_KILL_ROUND="+strconv.Itoa(round))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		last := -1
		for sc.Scan() && last < 5+round*7 {
			if n, ok := strings.CutPrefix(sc.Text(), "synced "); ok {
				last, _ = strconv.Atoi(n)
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
		if last < 0 {
			t.Fatalf("round %d: the helper synced nothing", round)
		}
		synced[round] = last

		b := openBlobs(t, dir)
		for r := 0; r <= round; r++ {
			for n := 0; n <= synced[r]+3; n++ {
				for i := range 20 {
					d := killBlob(r, n, i)
					has := b.Has(shaOf(d))
					if n <= synced[r] && !has {
						t.Fatalf("round %d: blob %d of synced batch %d of round %d lost", round, i, n, r)
					}
					if has {
						if got, err := b.Get(shaOf(d)); err != nil || !bytes.Equal(got, d) {
							t.Fatalf("round %d: blob %d/%d/%d torn: %v", round, r, n, i, err)
						}
					}
				}
			}
		}
		b.Close()
	}
}
