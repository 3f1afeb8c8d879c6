package admin_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/admin"
	"github.com/orchardhq/orchard/auth"
	"github.com/orchardhq/orchard/internal/testnet"
	"golang.org/x/crypto/bcrypt"
)

// loginRequest is a login form post as a browser sends it (with its
// pre-login token cookie), from the client address addr.
func loginRequest(addr, site, name, pw string) *http.Request {
	tok := strings.Repeat("ab", 32)
	form := url.Values{"token": {tok}, "site": {site}, "name": {name}, "password": {pw}}
	r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(&http.Cookie{Name: "orchard_login", Value: tok})
	r.RemoteAddr = addr
	return r
}

// postLogins sends one login request per element of reqs at once and
// returns the status of each.
func postLogins(ui http.Handler, reqs []*http.Request, done *atomic.Int32) []int {
	codes := make([]int, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() {
			w := httptest.NewRecorder()
			ui.ServeHTTP(w, r)
			codes[i] = w.Code
			done.Add(1)
		})
	}
	wg.Wait()
	return codes
}

// TestLoginConcurrentGuesses sends 50 wrong passwords for one user from one
// address at once: the throttle (5 failures) must let at most 5 reach a
// password check, and answer the rest 429. Checks are held until every
// request is either in a check or answered, so each request sees the
// throttle while the checks of the others are still running (the race the
// throttle lost when it counted failures only after hashing).
func TestLoginConcurrentGuesses(t *testing.T) {
	const n = 50
	var checks, done atomic.Int32
	gate := make(chan struct{})
	u := newUI(t, admin.Options{
		MaxPasswordChecks: n, // the throttle alone must hold
		CheckWait:         time.Minute,
		CheckPassword: func(hash, pw string) (bool, error) {
			checks.Add(1)
			<-gate
			return auth.CheckPassword(hash, pw)
		},
	})
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i] = loginRequest("192.0.2.7:4000", "", rootName, "wrong-"+strconv.Itoa(i))
	}
	var codes []int
	finished := make(chan struct{})
	go func() { codes = postLogins(u.ui, reqs, &done); close(finished) }()
	testnet.WaitFor(t, "every login is checked or answered", func() bool { return checks.Load()+done.Load() >= n })
	close(gate)
	<-finished

	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	if got := checks.Load(); got > 5 {
		t.Errorf("%d of %d concurrent wrong passwords were checked, want at most 5 (statuses %v)", got, n, count)
	}
	if count[http.StatusTooManyRequests] < n-5 || count[http.StatusTooManyRequests]+count[http.StatusUnauthorized] != n {
		t.Errorf("statuses %v, want %d or more 429 and the rest 401", count, n-5)
	}
	// The right password is refused too while the limit holds.
	w := httptest.NewRecorder()
	u.ui.ServeHTTP(w, loginRequest("192.0.2.7:4001", "", rootName, rootPass))
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Errorf("right password after the guesses: %d, Retry-After %q; want 429 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
}

// heapObjects reads the bytes of the Go heap held by objects (live, and
// dead ones not yet swept).
func heapObjects(s []metrics.Sample) uint64 {
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestLoginMemoryBounded sends 100 logins at once, each from its own
// address for its own (unknown) user so no throttle stops them, with the
// real argon2id parameters: password checks run at most MaxPasswordChecks
// at a time, the others wait briefly and get 503 with Retry-After, and the
// Go heap stays under the bound those checks allow. The heap is sampled
// every millisecond while the logins run (a sample can miss a peak, never
// invent one).
func TestLoginMemoryBounded(t *testing.T) {
	const n, slots = 100, 2
	var inFlight, maxInFlight, checks, done atomic.Int32
	u := newUI(t, admin.Options{
		PasswordParams:    auth.DefaultParams(),
		MaxPasswordChecks: slots,
		CheckPassword: func(hash, pw string) (bool, error) {
			checks.Add(1)
			c := inFlight.Add(1)
			for m := maxInFlight.Load(); c > m && !maxInFlight.CompareAndSwap(m, c); m = maxInFlight.Load() {
			}
			defer inFlight.Add(-1)
			return auth.CheckPassword(hash, pw)
		},
	})
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i] = loginRequest("198.51.100."+strconv.Itoa(i+1)+":5000", "", "guess"+strconv.Itoa(i), "wrong")
	}

	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	runtime.GC()
	base := heapObjects(sample)
	// Each check holds its parameters' memory (m KiB); with the garbage
	// collector's default pacing (GOGC=100) the heap may grow to twice
	// what is live before a collection, plus a margin for the requests and
	// for a collection that ends late: under the race detector on a busy
	// machine the heap peaked at 116 MiB against a margin of 32 (111). A
	// third slot would add 38 MiB, and no bound at all some 2 GB.
	perCheck := uint64(auth.DefaultParams().Memory) << 10
	bound := 2*(base+slots*perCheck) + 48<<20
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			if v := heapObjects(s); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	codes := postLogins(u.ui, reqs, &done)
	close(stop)
	<-sampled

	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	t.Logf("heap: base %d MiB, peak %d MiB, bound %d MiB; %d checks, at most %d at once; statuses %v",
		base>>20, peak.Load()>>20, bound>>20, checks.Load(), maxInFlight.Load(), count)
	if got := maxInFlight.Load(); got > slots {
		t.Errorf("%d password checks ran at once, want at most %d", got, slots)
	}
	if peak.Load() > bound {
		t.Errorf("heap peaked at %d MiB during %d concurrent logins, want under %d MiB (base %d MiB + %d checks x %d MiB, x2 for GC pacing, + 48 MiB)",
			peak.Load()>>20, n, bound>>20, base>>20, slots, perCheck>>20)
	}
	if count[http.StatusUnauthorized]+count[http.StatusServiceUnavailable] != n || count[http.StatusUnauthorized] < 1 {
		t.Errorf("statuses %v, want 401 for those checked and 503 for the rest", count)
	}
}

// TestLoginRehash checks that a hash made with other parameters (an older
// default, or bcrypt) still logs in, and is replaced at that login by one
// with the UI's parameters; a wrong password changes nothing.
func TestLoginRehash(t *testing.T) {
	want := cheapParams()
	want.Memory = 2048 // differs from the users' cheapParams hashes
	u := newUI(t, admin.Options{PasswordParams: want})
	ctx := t.Context()
	bc, err := bcrypt.GenerateFromPassword([]byte("bcrypt-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.store.PutUser(ctx, &orchard.User{Name: "old", PasswordHash: string(bc)}); err != nil {
		t.Fatal(err)
	}
	prefix := "$argon2id$v=19$m=2048,t=1,p=1$"
	for _, tc := range []struct{ name, pw string }{{rootName, rootPass}, {"old", "bcrypt-password"}} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := u.store.User(ctx, "", tc.name)
			if err != nil {
				t.Fatal(err)
			}
			wantStatus(t, "wrong password", u.client().tryLogin("", tc.name, "wrong"), http.StatusUnauthorized)
			if now, _ := u.store.User(ctx, "", tc.name); now.PasswordHash != before.PasswordHash {
				t.Fatal("a wrong password changed the stored hash")
			}
			u.client().login("", tc.name, tc.pw)
			after, err := u.store.User(ctx, "", tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(after.PasswordHash, prefix) {
				t.Fatalf("hash after login %q, want one with %s", after.PasswordHash, prefix)
			}
			// The new hash logs in, and is not rehashed again.
			u.client().login("", tc.name, tc.pw)
			if again, _ := u.store.User(ctx, "", tc.name); again.PasswordHash != after.PasswordHash {
				t.Error("a hash with the current parameters was rehashed")
			}
		})
	}
}
