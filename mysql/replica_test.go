package mysql_test

import (
	"context"
	"strings"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/mariadbtest"
	"github.com/orchardhq/orchard/internal/testnet"
	"github.com/orchardhq/orchard/mysql"
)

func replicaReads(db *mysql.DB) (n uint64) {
	for _, r := range db.Replicas() {
		n += r.Reads
	}
	return n
}

// A write through one store is read from a replica by another store that
// has written nothing itself.
func TestReadFromReplica(t *testing.T) {
	writer, c, name := MustOpenDB(t, false)
	ctx := t.Context()
	if err := writer.CreateSite(ctx, &orchard.Site{Host: "example.com", Title: "Hello"}); err != nil {
		t.Fatal(err)
	}
	if err := writer.PutPage(ctx, "example.com", &orchard.Page{Path: "/a/", Title: "A", Body: "from the primary"}); err != nil {
		t.Fatal(err)
	}
	c.WaitReplicas(t)
	reader, err := mysql.Open(ctx, c.Primary().DSN("root", "", name),
		[]string{c.Replicas()[0].DSN("root", "", name), c.Replicas()[1].DSN("root", "", name)}, mysql.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	for range 10 {
		p, err := reader.Page(ctx, "example.com", "/a/")
		if err != nil {
			t.Fatal(err)
		}
		if p.Body != "from the primary" {
			t.Fatalf("body %q", p.Body)
		}
	}
	if got := reader.PrimaryReads(); got != 0 {
		t.Errorf("%d reads went to the primary, want 0", got)
	}
	for _, r := range reader.Replicas() {
		if r.Reads != 5 {
			t.Errorf("replica %s served %d reads, want 5 (round robin)", r.Addr, r.Reads)
		}
	}
}

// Every read after a write sees the write, whichever server serves it.
func TestReadYourWrites(t *testing.T) {
	db, _, _ := MustOpenDB(t, true)
	ctx := t.Context()
	if err := db.CreateSite(ctx, &orchard.Site{Host: "example.com"}); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		body := "version " + string(rune('a'+i%26)) + strings.Repeat("!", i)
		if err := db.PutPage(ctx, "example.com", &orchard.Page{Path: "/x/", Title: "X", Body: body}); err != nil {
			t.Fatal(err)
		}
		p, err := db.Page(ctx, "example.com", "/x/")
		if err != nil {
			t.Fatal(err)
		}
		if p.Body != body {
			t.Fatalf("write %d: read %q, want %q", i, p.Body, body)
		}
	}
	t.Logf("reads: primary %d, replicas %d", db.PrimaryReads(), replicaReads(db))
}

// A replica that lags more than MaxLag is skipped, and used again once it
// has caught up.
func TestLaggingReplicaSkipped(t *testing.T) {
	c := shared.Get(t)
	name := c.NewDatabase(t)
	ctx := t.Context()
	db, err := mysql.Open(ctx, c.Primary().DSN("root", "", name),
		[]string{c.Replicas()[0].DSN("root", "", name)},
		mysql.Options{MaxLag: time.Second, CheckInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateSite(ctx, &orchard.Site{Host: "example.com"}); err != nil {
		t.Fatal(err)
	}
	testnet.WaitFor(t, "the replica to be healthy", func() bool { return db.Replicas()[0].Healthy })

	// Block the replica's SQL thread: it cannot commit while a global read
	// lock is held, so its lag grows.
	conn, err := c.Open(t, c.Replicas()[0], "").Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
		t.Fatal(err)
	}
	unlocked := false
	unlock := func() {
		if !unlocked {
			unlocked = true
			conn.ExecContext(context.Background(), "UNLOCK TABLES")
		}
	}
	defer unlock()
	if err := db.PutPage(ctx, "example.com", &orchard.Page{Path: "/x/", Title: "X", Body: "new"}); err != nil {
		t.Fatal(err)
	}
	testnet.WaitFor(t, "the replica to be skipped for lag", func() bool {
		r := db.Replicas()[0]
		return !r.Healthy && strings.Contains(r.Err, "lags")
	})
	before := db.PrimaryReads()
	for range 5 {
		p, err := db.Page(ctx, "example.com", "/x/")
		if err != nil || p.Body != "new" {
			t.Fatalf("read while the replica lags: %v %+v", err, p)
		}
	}
	if got := db.PrimaryReads() - before; got != 5 {
		t.Errorf("%d of 5 reads went to the primary while the only replica lagged", got)
	}
	unlock()
	testnet.WaitFor(t, "the replica to be used again", func() bool { return db.Replicas()[0].Healthy })
	c.WaitReplicas(t)
	before = replicaReads(db)
	if _, err := db.Page(ctx, "example.com", "/x/"); err != nil {
		t.Fatal(err)
	}
	if replicaReads(db) != before+1 {
		t.Errorf("the caught-up replica was not used")
	}
}

// Stopping a replica keeps reads working: they go to the primary.
func TestStoppedReplica(t *testing.T) {
	c := mariadbtest.Start(t, 2)
	ctx := t.Context()
	dsn := func(i int) string {
		return c.Servers[i].DSN(mariadbtest.AppUser, mariadbtest.AppPassword, mariadbtest.Database)
	}
	db, err := mysql.Open(ctx, dsn(0), []string{dsn(1)}, mysql.Options{CheckInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateSite(ctx, &orchard.Site{Host: "example.com"}); err != nil {
		t.Fatal(err)
	}
	c.WaitReplicas(t)
	if _, err := db.Site(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	if replicaReads(db) == 0 {
		t.Fatalf("the replica served no read before it was stopped: %+v", db.Replicas())
	}
	if err := c.Servers[1].Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := db.Site(ctx, "example.com"); err != nil {
			t.Fatalf("read %d after the replica stopped: %v", i, err)
		}
	}
	testnet.WaitFor(t, "the stopped replica to be skipped", func() bool { return !db.Replicas()[0].Healthy })
	// Writes still work too.
	if err := db.PutPage(ctx, "example.com", &orchard.Page{Path: "/y/", Title: "Y"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Page(ctx, "example.com", "/y/"); err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrors(t *testing.T) {
	c := shared.Get(t)
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		dsn  string
		want []string // substrings of the error
	}{
		{"WrongPassword", c.Primary().DSN(mariadbtest.AppUser, "not-the-password", mariadbtest.Database),
			[]string{"access denied", mariadbtest.AppUser, c.Primary().Addr(), "ORCHARD_DB_PASSWORD"}},
		{"NoDatabase", c.Primary().DSN("root", "", "nosuchdb"), []string{"does not exist", "orchard db init"}},
		{"NoDatabaseInDSN", c.Primary().DSN("root", "", ""), []string{"names no database"}},
		{"Malformed", "root:secret@tcp(127.0.0.1:1/x", []string{"malformed DSN"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := mysql.Open(ctx, tc.dsn, nil, mysql.Options{})
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, secret := range []string{"not-the-password", "secret"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows the password", err)
				}
			}
		})
	}
}

// A password left out of the DSN comes from Options.Password.
func TestPasswordFromOptions(t *testing.T) {
	c := shared.Get(t)
	db, err := mysql.Open(t.Context(), c.Primary().DSN(mariadbtest.AppUser, "", mariadbtest.Database), nil,
		mysql.Options{Password: mariadbtest.AppPassword})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
}
