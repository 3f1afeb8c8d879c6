package publish

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"x":1}`)
	tests := []struct {
		name      string
		signAt    time.Time
		key       []byte
		body      []byte    // what is sent; signed over `body`
		target    string    // signed for; default node0, the verifier's own name
		startedAt time.Time // when the verifier started; default 10 minutes before now
		mutate    func(*http.Request)
		want      error
		readErr   error
	}{
		{name: "OK", signAt: now, key: secret, body: body},
		{name: "SkewPast4m", signAt: now.Add(-4 * time.Minute), key: secret, body: body},
		{name: "ErrOld", signAt: now.Add(-6 * time.Minute), key: secret, body: body, want: ErrUnauthorized},
		{name: "ErrFuture", signAt: now.Add(6 * time.Minute), key: secret, body: body, want: ErrUnauthorized},
		{name: "ErrKey", signAt: now, key: []byte("another-secret-another-secret-xx"), body: body, want: ErrUnauthorized},
		{name: "ErrNoHeader", signAt: now, key: secret, body: body, mutate: func(r *http.Request) { r.Header.Del("Authorization") }, want: ErrUnauthorized},
		{name: "ErrScheme", signAt: now, key: secret, body: body, mutate: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), AuthScheme, "Bearer", 1))
		}, want: ErrUnauthorized},
		{name: "ErrMethod", signAt: now, key: secret, body: body, mutate: func(r *http.Request) { r.Method = "PUT" }, want: ErrUnauthorized},
		{name: "ErrHashHeader", signAt: now, key: secret, body: body, mutate: func(r *http.Request) { r.Header.Set(ContentHashHeader, emptySHA256) }, want: ErrUnauthorized},
		{name: "ErrBodyTampered", signAt: now, key: secret, body: []byte(`{"x":2}`), readErr: ErrUnauthorized},
		{name: "ErrTooLarge", signAt: now, key: secret, body: bytes.Repeat([]byte("a"), 2000), want: ErrTooLarge},
		{name: "ErrTooLargeStreamed", signAt: now, key: secret, body: bytes.Repeat([]byte("a"), 2000), mutate: func(r *http.Request) { r.ContentLength = -1 }, readErr: ErrTooLarge},
		{name: "ErrOtherTarget", signAt: now, key: secret, body: body, target: "node1", want: ErrUnauthorized},
		{name: "ErrTargetRenamed", signAt: now, key: secret, body: body, target: "node1", mutate: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "target=node1", "target=node0", 1))
		}, want: ErrUnauthorized},
		{name: "ErrNoTarget", signAt: now, key: secret, body: body, mutate: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "target=node0, ", "", 1))
		}, want: ErrUnauthorized},
		{name: "ErrBeforeStart", signAt: now.Add(-time.Second), key: secret, body: body, startedAt: now, want: ErrUnauthorized},
		{name: "StartSecond", signAt: now, key: secret, body: body, startedAt: now.Add(500 * time.Millisecond)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := tt.startedAt
			if start.IsZero() {
				start = now.Add(-10 * time.Minute)
			}
			v := newVerifierAt(secret, "node0", 1000, func() time.Time { return start })
			v.now = func() time.Time { return now }
			target := tt.target
			if target == "" {
				target = "node0"
			}
			req, _ := http.NewRequest("POST", "http://n/_orchard/v1/releases/a.test", bytes.NewReader(tt.body))
			signed := body
			if tt.name == "ErrTooLarge" || tt.name == "ErrTooLargeStreamed" {
				signed = tt.body
			}
			sum := sha256Hex(signed)
			signWithHash(req, tt.key, target, sum, tt.signAt)
			if tt.mutate != nil {
				tt.mutate(req)
			}
			err := v.Verify(req)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			_, err = io.ReadAll(req.Body)
			if !errors.Is(err, tt.readErr) || (tt.readErr == nil) != (err == nil) {
				t.Fatalf("reading body = %v, want %v", err, tt.readErr)
			}
		})
	}
}

func TestVerifyReplay(t *testing.T) {
	v := NewVerifier(secret, "node0", 1000)
	req, _ := http.NewRequest("GET", "http://n/_orchard/v1/status", nil)
	Sign(req, secret, "node0", nil)
	if err := v.Verify(req); err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(req); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("replay: %v, want ErrUnauthorized", err)
	}
	// Two identical requests signed in the same second differ by nonce.
	req2, _ := http.NewRequest("GET", "http://n/_orchard/v1/status", nil)
	Sign(req2, secret, "node0", nil)
	if err := v.Verify(req2); err != nil {
		t.Fatalf("second request in the same second: %v", err)
	}
	// The first protocol's form (no target, no nonce) is refused, even
	// with a good signature of its string.
	req3, _ := http.NewRequest("GET", "http://n/_orchard/v1/status", nil)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	m := hmac.New(sha256.New, secret)
	io.WriteString(m, "GET\n/_orchard/v1/status\n"+ts+"\n"+emptySHA256)
	req3.Header.Set("Authorization", AuthScheme+" ts="+ts+", sig="+hex.EncodeToString(m.Sum(nil)))
	if err := v.Verify(req3); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("first protocol's form: %v, want ErrUnauthorized", err)
	}
}

// TestVerifyAfterRestart checks that a verifier started after a request
// was signed refuses it, although the request is within the clock window
// and the new verifier has never seen it: the replay cache of the previous
// run is gone, the start time stands in for it.
func TestVerifyAfterRestart(t *testing.T) {
	signedAt := time.Unix(1_800_000_000, 0)
	req, _ := http.NewRequest("POST", "http://n/_orchard/v1/releases/a.test/0123456789abcdef/activate", nil)
	signWithHash(req, secret, "node0", emptySHA256, signedAt)
	clock := func(at time.Time) func() time.Time { return func() time.Time { return at } }

	first := newVerifierAt(secret, "node0", 1000, clock(signedAt.Add(-time.Minute)))
	first.now = clock(signedAt)
	if err := first.Verify(req); err != nil {
		t.Fatalf("first run: %v", err)
	}
	again := req.Clone(req.Context())
	restarted := newVerifierAt(secret, "node0", 1000, clock(signedAt.Add(2*time.Second)))
	if err := restarted.Verify(again); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("after restart: %v, want ErrUnauthorized", err)
	}
}

func TestParseAuthorization(t *testing.T) {
	sig := strings.Repeat("ab", 32)
	nonce := strings.Repeat("0f", 12)
	tests := []struct {
		in string
		ok bool
	}{
		{AuthScheme + " target=node0, ts=1, nonce=" + nonce + ", sig=" + sig, true},
		{AuthScheme + " sig=" + sig + ", ts=1, nonce=" + nonce + ", target=@master", true},
		{AuthScheme + " target=n,ts=1,nonce=" + nonce + ",sig=" + sig, true},
		{AuthScheme + " ts=1, nonce=" + nonce + ", sig=" + sig, false},
		{AuthScheme + " target=node0, ts=1, sig=" + sig, false},
		{AuthScheme + " target=node0, ts=1, nonce=00ff, sig=" + sig, false},
		{AuthScheme + " target=, ts=1, nonce=" + nonce + ", sig=" + sig, false},
		{AuthScheme + " target=a b, ts=1, nonce=" + nonce + ", sig=" + sig, false},
		{AuthScheme + " target=a, target=b, ts=1, nonce=" + nonce + ", sig=" + sig, false},
		{AuthScheme + " target=" + strings.Repeat("n", 65) + ", ts=1, nonce=" + nonce + ", sig=" + sig, false},
		{AuthScheme + " ts=1", false},
		{AuthScheme + " sig=" + sig, false},
		{AuthScheme + " ts=-1, sig=" + sig, false},
		{AuthScheme + " ts=+1, sig=" + sig, false},
		{AuthScheme + " ts=1, ts=2, sig=" + sig, false},
		{AuthScheme + " ts=1, sig=" + strings.ToUpper(sig), false},
		{AuthScheme + " ts=1, sig=" + sig[:62], false},
		{AuthScheme + " ts=1, sig=" + sig + ", extra=1", false},
		{AuthScheme + " ts=1, nonce=xyz, sig=" + sig, false},
		{AuthScheme + " ts=99999999999999999999, sig=" + sig, false},
		{"orchard-hmac-sha256 ts=1, sig=" + sig, false},
		{"", false},
	}
	for _, tt := range tests {
		_, err := parseAuthorization(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("parseAuthorization(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add(AuthScheme + " target=node0, ts=1, nonce=" + strings.Repeat("0f", 12) + ", sig=" + strings.Repeat("ab", 32))
	f.Add(AuthScheme + " ts=,sig=")
	f.Add("Bearer x")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseAuthorization(s)
		if err != nil {
			return
		}
		if len(a.Sig) != 64 || !isLowerHex(a.Sig) || a.TS < 0 || len(a.Nonce) > 64 || len(a.Nonce) < 16 || !validTarget(a.Target) {
			t.Fatalf("accepted %q as %+v", s, a)
		}
	})
}

func FuzzParseBatch(f *testing.F) {
	sha := sha256Hex([]byte("hello"))
	f.Add([]byte(sha + " 5\nhello"))
	f.Add([]byte(sha + " 5\nhello" + sha + " 0\n"))
	f.Add([]byte(sha + " 99\nhello"))
	f.Fuzz(func(t *testing.T, b []byte) {
		items, err := parseBatch(b)
		if err != nil {
			return
		}
		var again []byte
		for _, it := range items {
			again = appendBatchItem(again, it.sha, it.data)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("batch does not round-trip: %q -> %q", b, again)
		}
	})
}

func TestPlanBatches(t *testing.T) {
	sizes := map[string]int64{"a": 100, "b": 100, "c": 600, "d": 300, "e": 10}
	got := planBatches([]string{"a", "b", "c", "d", "e"}, sizes, 1000)
	var n int
	for _, g := range got {
		var total int64
		for _, h := range g {
			total += sizes[h] + 90
			n++
		}
		if len(g) > 1 && total > 1000 {
			t.Errorf("batch %v is %d bytes, over 1000", g, total)
		}
	}
	if n != 5 {
		t.Errorf("planned %d blobs, want 5: %v", n, got)
	}
}
