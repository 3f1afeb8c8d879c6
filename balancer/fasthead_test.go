package balancer

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParseRequestHead(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		err      error
		n        int // head length, on success
		cl       int64
		close    bool
		host     string
	}{
		{"OK", "GET /a?b HTTP/1.1\r\nHost: a.test\r\n\r\n", nil, 35, -1, false, "a.test"},
		{"ContentLength", "POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\n\r\nabc", nil, 52, 3, false, "a.test"},
		{"Close", "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n", nil, 51, -1, true, "a.test"},
		{"CloseAmongTokens", "GET / HTTP/1.1\r\nhost: a.test\r\nconnection: keep-alive, Close\r\n\r\n", nil, 63, -1, true, "a.test"},
		{"ValueWhiteSpace", "GET / HTTP/1.1\r\nHost:   a.test \t\r\n\r\n", nil, 36, -1, false, "a.test"},
		{"Pipelined", "GET / HTTP/1.1\r\nHost: a.test\r\n\r\nGET /b HTTP/1.1\r\n", nil, 32, -1, false, "a.test"},
		{"IncompleteLine", "GET / HTTP/1.1\r\nHost: a.t", errIncomplete, 0, 0, false, ""},
		{"IncompleteEnd", "GET / HTTP/1.1\r\nHost: a.test\r\n\r", errIncomplete, 0, 0, false, ""},
		{"Empty", "", errIncomplete, 0, 0, false, ""},
		{"HTTP10", "GET / HTTP/1.0\r\n\r\n", errSlow, 0, 0, false, ""},
		{"NoHost", "GET / HTTP/1.1\r\n\r\n", errSlow, 0, 0, false, ""},
		{"TwoHosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", errSlow, 0, 0, false, ""},
		{"Chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", errSlow, 0, 0, false, ""},
		{"Expect", "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", errSlow, 0, 0, false, ""},
		{"Upgrade", "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", errSlow, 0, 0, false, ""},
		{"ConnectionNamesHeader", "GET / HTTP/1.1\r\nHost: a\r\nConnection: X-A\r\n\r\n", errSlow, 0, 0, false, ""},
		{"BadLength", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", errSlow, 0, 0, false, ""},
		{"TwoLengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", errSlow, 0, 0, false, ""},
		{"BareLF", "GET / HTTP/1.1\nHost: a\n\n", errSlow, 0, 0, false, ""},
		{"BareLFHeader", "GET / HTTP/1.1\r\nHost: a\n\r\n", errSlow, 0, 0, false, ""},
		{"NoColon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", errMalformed, 0, 0, false, ""},
		{"SpaceBeforeColon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", errMalformed, 0, 0, false, ""},
		{"ObsFold", "GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n", errMalformed, 0, 0, false, ""},
		{"ControlInValue", "GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n", errMalformed, 0, 0, false, ""},
		{"NoTarget", "GET HTTP/1.1\r\nHost: a\r\n\r\n", errMalformed, 0, 0, false, ""},
		{"BadMethod", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", errMalformed, 0, 0, false, ""},
		{"BadVersion", "GET / HTTQ/1.1\r\nHost: a\r\n\r\n", errMalformed, 0, 0, false, ""},
		{"CRWithoutLF", "GET / HTTP/1.1\r\nHost: a\r\n\rx", errMalformed, 0, 0, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r reqHead
			err := r.parse([]byte(tc.in))
			if !errors.Is(err, tc.err) {
				t.Fatalf("parse(%q) = %v; want %v", tc.in, err, tc.err)
			}
			if err != nil {
				return
			}
			if r.n != tc.n || r.contentLength != tc.cl || r.close != tc.close || string(r.host) != tc.host {
				t.Errorf("parse(%q) = head %d, length %d, close %v, host %q; want %d, %d, %v, %q",
					tc.in, r.n, r.contentLength, r.close, r.host, tc.n, tc.cl, tc.close, tc.host)
			}
		})
	}
}

func TestBuildRequestDropsHopByHop(t *testing.T) {
	var x exchange
	in := "GET /p HTTP/1.1\r\nHost: a.test\r\nKeep-Alive: 5\r\nX-Forwarded-For: 6.6.6.6\r\nX-Orchard-Secret: 1\r\n" +
		"Forwarded: for=x\r\nX-Real-IP: 6.6.6.6\r\nAccept: */*\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi"
	if err := x.req.parse([]byte(in)); err != nil {
		t.Fatal(err)
	}
	x.buildRequest(netip.MustParseAddr("192.0.2.1"), []byte(in[x.req.n:]))
	got := string(x.fwd)
	want := "GET /p HTTP/1.1\r\nHost: a.test\r\nAccept: */*\r\nContent-Length: 2\r\n" +
		"X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a.test\r\n\r\nhi"
	if got != want {
		t.Errorf("request to the member:\n%q\nwant\n%q", got, want)
	}
}

func TestParseResponseHead(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		head     bool // the request was HEAD
		err      error
		status   int
		frame    int
		close    bool
		release  string
	}{
		{"Length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Orchard-Release: r1\r\n\r\nhello", false, nil, 200, bodyLength, false, "r1"},
		{"Chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false, nil, 200, bodyChunked, false, ""},
		{"OtherCoding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, nil, 200, bodyClose, false, ""},
		{"UntilClose", "HTTP/1.1 200 OK\r\n\r\n", false, nil, 200, bodyClose, false, ""},
		{"Head", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true, nil, 200, bodyNone, false, ""},
		{"NoContent", "HTTP/1.1 204 No Content\r\n\r\n", false, nil, 204, bodyNone, false, ""},
		{"NotModified", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", false, nil, 304, bodyNone, false, ""},
		{"Close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false, nil, 200, bodyLength, true, ""},
		{"HTTP10", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false, nil, 200, bodyLength, true, ""},
		{"HTTP10KeepAlive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", false, nil, 200, bodyLength, false, ""},
		{"NoReason", "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", false, nil, 404, bodyLength, false, ""},
		{"Incomplete", "HTTP/1.1 200 OK\r\nContent-Le", false, errIncomplete, 0, 0, false, ""},
		{"NotHTTP", "SSH-2.0-OpenSSH\r\n\r\n", false, errMalformed, 0, 0, false, ""},
		{"BadStatus", "HTTP/1.1 2x0 OK\r\n\r\n", false, errMalformed, 0, 0, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r respHead
			err := r.parse([]byte(tc.in))
			if !errors.Is(err, tc.err) {
				t.Fatalf("parse(%q) = %v; want %v", tc.in, err, tc.err)
			}
			if err != nil {
				return
			}
			if f := r.framing(tc.head); r.status != tc.status || f != tc.frame || r.close != tc.close || string(r.release) != tc.release {
				t.Errorf("parse(%q) = status %d, framing %d, close %v, release %q; want %d, %d, %v, %q",
					tc.in, r.status, f, r.close, r.release, tc.status, tc.frame, tc.close, tc.release)
			}
		})
	}
}

func TestBuildResponse(t *testing.T) {
	var x exchange
	in := "HTTP/1.1 200 OK\r\nX-Member: n0\r\nKeep-Alive: timeout=5\r\nConnection: X-Private\r\nX-Private: secret\r\n" +
		"Transfer-Encoding: chunked\r\nX-Orchard-Cache: hit\r\n\r\n"
	if err := x.resp.parse([]byte(in)); err != nil {
		t.Fatal(err)
	}
	x.buildResponse(true, true)
	want := "HTTP/1.1 200 OK\r\nX-Member: n0\r\nTransfer-Encoding: chunked\r\nX-Orchard-Cache: miss\r\nConnection: close\r\n\r\n"
	if string(x.out) != want {
		t.Errorf("response head:\n%q\nwant\n%q", x.out, want)
	}
}

func TestChunkScanner(t *testing.T) {
	body := "5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\nTrailer: x\r\n\r\n"
	for _, tc := range []struct {
		name, in string
		n        int
		done     bool
		bad      bool
	}{
		{"Whole", body, len(body), true, false},
		{"FollowedByMore", body + "HTTP/1.1", len(body), true, false},
		{"NoTrailers", "3\r\nabc\r\n0\r\n\r\n", 13, true, false},
		{"Partial", body[:9], 9, false, false},
		{"BadSize", "x\r\n", 0, false, true},
		{"NoCRLFAfterData", "1\r\nab\r\n", 0, false, true},
		{"BareLF", "1\nab", 0, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Byte by byte and at once must agree.
			for _, step := range []int{len(tc.in), 1} {
				var s chunkScanner
				total, done := 0, false
				var err error
				for i := 0; i < len(tc.in) && !done && err == nil; i += step {
					var k int
					k, done, err = s.scan([]byte(tc.in[i:min(i+step, len(tc.in))]))
					total += k
				}
				if tc.bad {
					if err == nil {
						t.Errorf("step %d: scan(%q) accepted a malformed body", step, tc.in)
					}
					continue
				}
				if err != nil || total != tc.n || done != tc.done {
					t.Errorf("step %d: scan(%q) = %d, done %v, err %v; want %d, %v", step, tc.in, total, done, err, tc.n, tc.done)
				}
			}
		})
	}
}

// FuzzParseRequestHead checks that the request-head parser never panics
// and that a head it accepts ends at a blank line, has one Host, a method
// and a target, and no header value with a line end or NUL in it.
func FuzzParseRequestHead(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n",
		"POST /x?y HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
		"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nHost: a\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var r reqHead
		err := r.parse([]byte(in))
		if err != nil {
			return
		}
		if r.n > len(in) || !strings.HasSuffix(in[:r.n], "\r\n\r\n") {
			t.Fatalf("parse(%q): head length %d does not end at a blank line", in, r.n)
		}
		for i := range r.hdrs {
			s := &r.hdrs[i]
			if v := r.value(s); strings.ContainsAny(string(v), "\r\n\x00") {
				t.Fatalf("parse(%q): header value %q holds a line end or NUL", in, v)
			}
		}
		if r.nhost != 1 || len(r.method) == 0 || len(r.uri) == 0 {
			t.Fatalf("parse(%q) accepted a head without one Host, a method or a target", in)
		}
	})
}
