package balancer_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/balancer"
)

// scriptedMember is a member that answers each request path with fixed
// bytes, written in the pieces given (a piece "<close>" closes the
// connection; HEAD gets the first piece only), so that tests can send
// what a real server rarely does.
type scriptedMember struct {
	ln      net.Listener
	answers map[string][]string
}

func newScriptedMember(t *testing.T, answers map[string][]string) *scriptedMember {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &scriptedMember{ln: ln, answers: answers}
	go m.serve()
	t.Cleanup(func() { ln.Close() })
	return m
}

func (m *scriptedMember) serve() {
	for {
		c, err := m.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			br := bufio.NewReader(c)
			for {
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				pieces := m.answers[req.URL.Path]
				if req.Method == http.MethodHead {
					pieces = pieces[:1] // the head only
				}
				for _, piece := range pieces {
					if piece == "<close>" {
						return
					}
					if _, err := io.WriteString(c, piece); err != nil {
						return
					}
					time.Sleep(time.Millisecond) // separate reads on the balancer's side
				}
			}
		}()
	}
}

func (m *scriptedMember) member() orchard.Member {
	return orchard.Member{Name: "s0", Addr: m.ln.Addr().String(), Weight: 1}
}

// TestFastLoopFraming sends requests through the balancer's HTTP/1.1
// loop to a member answering in every framing, and checks each response
// and that the client connection goes on (or ends) as it should: two
// requests in a row on one connection, the second always GET /next.
func TestFastLoopFraming(t *testing.T) {
	mem := newScriptedMember(t, map[string][]string{
		"/cl":      {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\n", "hello"},
		"/chunked": {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", "lo\r\n", "6\r\n world\r\n0\r\n\r\n"},
		"/204":     {"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"},
		"/304":     {"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\nETag: \"e\"\r\n\r\n"},
		"/close":   {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", "<close>"},
		"/eof":     {"HTTP/1.0 200 OK\r\n\r\nuntil ", "the end", "<close>"},
		"/cut":     {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b", "<close>"},
		"/next":    {"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext"},
		"/big":     {"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", strings.Repeat("x", 40000), strings.Repeat("y", 60000)},
	})
	o := onePool("", mem.member())
	o.Retries = -1
	bal := mustOpen(t, o)
	for _, tc := range []struct {
		name, req  string
		status     int
		body       string
		closes     bool // the balancer closes the connection after the response
		cutOff     bool // the body ends early
		wantHeader string
	}{
		{"ContentLength", "GET /cl HTTP/1.1\r\nHost: a.test\r\n\r\n", 200, "hello", false, false, "X-A"},
		{"Chunked", "GET /chunked HTTP/1.1\r\nHost: a.test\r\n\r\n", 200, "hello world", false, false, ""},
		{"Head", "HEAD /cl HTTP/1.1\r\nHost: a.test\r\n\r\n", 200, "", false, false, "X-A"},
		{"NoContent", "GET /204 HTTP/1.1\r\nHost: a.test\r\n\r\n", 204, "", false, false, "X-A"},
		{"NotModified", "GET /304 HTTP/1.1\r\nHost: a.test\r\n\r\n", 304, "", false, false, "Etag"},
		{"MemberCloses", "GET /close HTTP/1.1\r\nHost: a.test\r\n\r\n", 200, "ok", false, false, ""},
		{"UntilClose", "GET /eof HTTP/1.1\r\nHost: a.test\r\n\r\n", 200, "until the end", true, false, ""},
		{"ClientCloses", "GET /cl HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n", 200, "hello", true, false, ""},
		{"Large", "GET /big HTTP/1.1\r\nHost: a.test\r\n\r\n", 200, strings.Repeat("x", 40000) + strings.Repeat("y", 60000), false, false, ""},
		{"CutMidResponse", "GET /cut HTTP/1.1\r\nHost: a.test\r\n\r\n", 200, "only ten b", true, true, ""},
		{"Post", "POST /cl HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\n\r\nabc", 200, "hello", false, false, ""},
		{"Malformed", "GET /cl HTTP/1.1\r\nHost : a.test\r\n\r\n", 400, "Bad Request\n", true, false, ""},
		{"HeadOverReadBuffer", "GET /cl HTTP/1.1\r\nHost: a.test\r\nX-Big: " + strings.Repeat("b", 10<<10) + "\r\n\r\n", 200, "hello", false, false, ""},
		{"HeadOverLimit", "GET /cl HTTP/1.1\r\nHost: a.test\r\nX-Big: " + strings.Repeat("b", 20<<10) + "\r\n\r\n", 431, "", true, false, ""},
		{"HTTP10", "GET /cl HTTP/1.0\r\nHost: a.test\r\n\r\n", 200, "hello", true, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", bal.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(c, tc.req); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			method := tc.req[:strings.IndexByte(tc.req, ' ')]
			resp, err := http.ReadResponse(br, &http.Request{Method: method})
			if err != nil {
				t.Fatalf("reading the response: %v", err)
			}
			body, err := io.ReadAll(resp.Body)
			if tc.cutOff != (err != nil) {
				t.Errorf("reading the body: err %v; want an error: %v", err, tc.cutOff)
			}
			if resp.StatusCode != tc.status || (tc.body != "" || tc.status != 431) && string(body) != tc.body {
				t.Fatalf("got %d %q; want %d %q", resp.StatusCode, trim(body), tc.status, trim([]byte(tc.body)))
			}
			if tc.wantHeader != "" && resp.Header.Get(tc.wantHeader) == "" {
				t.Errorf("response lacks %s: %v", tc.wantHeader, resp.Header)
			}
			if resp.Header.Get("Keep-Alive") != "" || resp.Header.Get("Transfer-Encoding") != "" && tc.name != "Chunked" {
				t.Errorf("hop-by-hop headers passed on: %v", resp.Header)
			}
			// The connection goes on with the next request, or ends.
			if _, err := io.WriteString(c, "GET /next HTTP/1.1\r\nHost: a.test\r\n\r\n"); err != nil && !tc.closes {
				t.Fatal(err)
			}
			next, err := http.ReadResponse(br, nil)
			if tc.closes {
				if err == nil {
					t.Fatalf("the connection served another request (%d); want it closed", next.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("next request on the connection: %v", err)
			}
			nb, _ := io.ReadAll(next.Body)
			if next.StatusCode != 200 || string(nb) != "next" {
				t.Errorf("next request: %d %q; want 200 \"next\"", next.StatusCode, nb)
			}
		})
	}
}

// TestFastLoopPipelined sends three requests in one write and reads the
// three answers in order.
func TestFastLoopPipelined(t *testing.T) {
	mem := newScriptedMember(t, map[string][]string{
		"/1": {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"},
		"/2": {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n"},
		"/3": {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nthree"},
	})
	bal := mustOpen(t, onePool("", mem.member()))
	c, err := net.Dial("tcp", bal.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /1 HTTP/1.1\r\nHost: a.test\r\n\r\nGET /2 HTTP/1.1\r\nHost: a.test\r\n\r\n"+
		"POST /3 HTTP/1.1\r\nHost: a.test\r\nContent-Length: 4\r\n\r\nbody")
	br := bufio.NewReader(c)
	for _, want := range []string{"one", "two", "three"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %q: %v", want, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != want {
			t.Errorf("got %q; want %q", body, want)
		}
	}
}

func trim(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// TestCloseRightAfterListen closes balancers at once after Listen, before
// their servers' goroutines may have started: Close must still return
// (it waited forever when fasthttp's Shutdown ran before Serve).
func TestCloseRightAfterListen(t *testing.T) {
	mem := newScriptedMember(t, nil)
	for i := 0; i < 20; i++ {
		b := balancer.New(onePool("", mem.member()))
		if err := b.Listen(context.Background()); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			b.Close()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("Close %d did not return", i)
		}
	}
}
