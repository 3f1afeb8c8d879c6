package publish

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"x":1}`)
	tests := []struct {
		name    string
		signAt  time.Time
		key     []byte
		body    []byte // what is sent; signed over `body`
		mutate  func(*http.Request)
		want    error
		readErr error
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewVerifier(secret, 1000)
			v.now = func() time.Time { return now }
			req, _ := http.NewRequest("POST", "http://n/_orchard/v1/releases/a.test", bytes.NewReader(tt.body))
			signed := body
			if tt.name == "ErrTooLarge" || tt.name == "ErrTooLargeStreamed" {
				signed = tt.body
			}
			sum := sha256Hex(signed)
			signWithHash(req, tt.key, sum, tt.signAt)
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
	v := NewVerifier(secret, 1000)
	req, _ := http.NewRequest("GET", "http://n/_orchard/v1/status", nil)
	Sign(req, secret, nil)
	if err := v.Verify(req); err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(req); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("replay: %v, want ErrUnauthorized", err)
	}
	// Two identical requests signed in the same second differ by nonce.
	req2, _ := http.NewRequest("GET", "http://n/_orchard/v1/status", nil)
	Sign(req2, secret, nil)
	if err := v.Verify(req2); err != nil {
		t.Fatalf("second request in the same second: %v", err)
	}
	// The format without a nonce still verifies, once.
	req3, _ := http.NewRequest("GET", "http://n/_orchard/v1/status", nil)
	ts := "1800000000"
	v.now = func() time.Time { return time.Unix(1_800_000_000, 0) }
	req3.Header.Set("Authorization", AuthScheme+" ts="+ts+", sig="+signature(secret, "GET", "/_orchard/v1/status", ts, emptySHA256, ""))
	if err := v.Verify(req3); err != nil {
		t.Fatalf("nonce-less form: %v", err)
	}
}

func TestParseAuthorization(t *testing.T) {
	sig := strings.Repeat("ab", 32)
	tests := []struct {
		in string
		ok bool
	}{
		{AuthScheme + " ts=1, sig=" + sig, true},
		{AuthScheme + " sig=" + sig + ", ts=1, nonce=00ff", true},
		{AuthScheme + " ts=1,sig=" + sig, true},
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
	f.Add(AuthScheme + " ts=1, nonce=00, sig=" + strings.Repeat("ab", 32))
	f.Add(AuthScheme + " ts=,sig=")
	f.Add("Bearer x")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseAuthorization(s)
		if err != nil {
			return
		}
		if len(a.Sig) != 64 || !isLowerHex(a.Sig) || a.TS < 0 || len(a.Nonce) > 64 {
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
