package balancer_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/balancer"
	"github.com/orchardhq/orchard/internal/promtest"
	"github.com/orchardhq/orchard/internal/testnet"
)

// loopBackend is a member for the event loops' tests: a page, a large
// body, a chunked one, an echo, and slow answers.
type loopBackend struct {
	name    string
	ln, cln net.Listener
	srv     *http.Server
	ctl     *http.Server
}

var (
	loopPage = bytes.Repeat([]byte("<p>a page of a small website, proxied by an event loop.</p>\n"), 150)
	loopBig  = bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
)

func newLoopBackend(t *testing.T, name string) *loopBackend {
	t.Helper()
	lb := &loopBackend{name: name}
	var err error
	if lb.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if lb.cln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Member", name)
		w.Write(loopPage)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(loopBig)))
		w.Write(loopBig)
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 40; i++ {
			fmt.Fprintf(w, "chunk %02d %s\n", i, strings.Repeat("x", 1000))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		time.Sleep(d)
		io.WriteString(w, "slow")
	})
	lb.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	lb.ctl = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(orchard.Health{OK: true, Role: "node", Name: name})
	})}
	go lb.srv.Serve(lb.ln)
	go lb.ctl.Serve(lb.cln)
	t.Cleanup(func() {
		lb.srv.Close()
		lb.ctl.Close()
	})
	return lb
}

func (lb *loopBackend) member() orchard.Member {
	return orchard.Member{Name: lb.name, Addr: lb.ln.Addr().String(), HealthAddr: lb.cln.Addr().String(), Weight: 1}
}

// loopClient is one keep-alive client connection, read as a browser would.
type loopClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialLoop(t *testing.T, addr string) *loopClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &loopClient{t: t, c: c, br: bufio.NewReader(c)}
}

func (lc *loopClient) send(reqs ...string) {
	lc.t.Helper()
	if _, err := io.WriteString(lc.c, strings.Join(reqs, "")); err != nil {
		lc.t.Fatal(err)
	}
}

func (lc *loopClient) read() (*http.Response, []byte) {
	lc.t.Helper()
	resp, err := http.ReadResponse(lc.br, nil)
	if err != nil {
		lc.t.Fatalf("read response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		lc.t.Fatalf("read body: %v", err)
	}
	return resp, body
}

func loopGet(path string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: " + siteHost + "\r\n\r\n"
}

// TestLoops runs what a client does through the event loops, with the
// loops' waits announced to the Go runtime and not (LoopsKeepCPUs, as
// `orchard balancer` runs them with the edge cache off).
func TestLoops(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the event loops are Linux's")
	}
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("keepCPUs=%v", keep), func(t *testing.T) {
			if keep {
				prev := runtime.GOMAXPROCS(0)
				runtime.GOMAXPROCS(prev + 1) // the one the loop keeps
				t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
			}
			testLoops(t, keep)
		})
	}
}

func testLoops(t *testing.T, keep bool) {
	n0, n1 := newLoopBackend(t, "n0"), newLoopBackend(t, "n1")
	o := onePool("", n0.member(), n1.member())
	o.Loops, o.LoopsKeepCPUs = 1, keep
	bal := mustOpen(t, o)

	t.Run("keep-alive", func(t *testing.T) {
		served0, _ := balancer.LoopCounts(bal)
		lc := dialLoop(t, bal.Addr())
		members := map[string]int{}
		for i := 0; i < 20; i++ {
			lc.send(loopGet("/page"))
			resp, body := lc.read()
			if resp.StatusCode != 200 || !bytes.Equal(body, loopPage) {
				t.Fatalf("request %d: %d, %d bytes", i, resp.StatusCode, len(body))
			}
			members[resp.Header.Get("X-Member")]++
		}
		if len(members) != 2 {
			t.Errorf("members that answered: %v; want both", members)
		}
		// A loop counts an exchange once its response is written, so
		// the last count may come a moment after the client read it.
		testnet.WaitFor(t, "the loops to count the 20 requests as their own", func() bool {
			served, _ := balancer.LoopCounts(bal)
			return served-served0 >= 20
		})
		// and an operator sees it in /metrics
		m := promtest.GrepLines(promtest.Scrape(t, bal.Collector()), "orchard_balancer_loop_requests_total ")
		m = m[strings.LastIndexByte(m, '\n')+1:] // the sample, after HELP and TYPE
		var n int
		if _, err := fmt.Sscanf(m, "orchard_balancer_loop_requests_total %d", &n); err != nil || n < 20 {
			t.Errorf("metrics: %q; want orchard_balancer_loop_requests_total of 20 or more", m)
		}
	})

	t.Run("pipelined", func(t *testing.T) {
		lc := dialLoop(t, bal.Addr())
		lc.send(loopGet("/page"), loopGet("/chunked"), loopGet("/page"))
		for i := 0; i < 3; i++ {
			resp, body := lc.read()
			if resp.StatusCode != 200 || len(body) < len(loopPage) {
				t.Fatalf("response %d: %d, %d bytes", i, resp.StatusCode, len(body))
			}
		}
	})

	t.Run("large body to a slow reader", func(t *testing.T) {
		lc := dialLoop(t, bal.Addr())
		lc.send(loopGet("/big"))
		time.Sleep(100 * time.Millisecond) // the socket buffers fill: the loop waits for the client
		resp, body := lc.read()
		if resp.StatusCode != 200 || !bytes.Equal(body, loopBig) {
			t.Fatalf("big: %d, %d bytes; want %d", resp.StatusCode, len(body), len(loopBig))
		}
		lc.send(loopGet("/page")) // and the connection goes on
		if resp, body := lc.read(); resp.StatusCode != 200 || !bytes.Equal(body, loopPage) {
			t.Fatalf("after big: %d, %d bytes", resp.StatusCode, len(body))
		}
	})

	t.Run("chunked", func(t *testing.T) {
		lc := dialLoop(t, bal.Addr())
		lc.send(loopGet("/chunked"))
		_, body := lc.read()
		if lines := strings.Count(string(body), "\n"); lines != 40 || !strings.HasPrefix(string(body), "chunk 00 ") {
			t.Fatalf("chunked body: %d lines, starts %.20q", lines, body)
		}
	})

	t.Run("POST body", func(t *testing.T) {
		lc := dialLoop(t, bal.Addr())
		lc.send("POST /echo HTTP/1.1\r\nHost: " + siteHost + "\r\nContent-Length: 11\r\n\r\nhello loops")
		if resp, body := lc.read(); resp.StatusCode != 200 || string(body) != "hello loops" {
			t.Fatalf("echo: %d %q", resp.StatusCode, body)
		}
	})

	t.Run("handed on, then served", func(t *testing.T) {
		_, handed0 := balancer.LoopCounts(bal)
		lc := dialLoop(t, bal.Addr())
		lc.send(loopGet("/admin/x")) // denied: the goroutine path answers
		if resp, _ := lc.read(); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("/admin/x: %d; want 403", resp.StatusCode)
		}
		lc.send(loopGet("/page"))
		if resp, body := lc.read(); resp.StatusCode != 200 || !bytes.Equal(body, loopPage) {
			t.Fatalf("then /page: %d, %d bytes", resp.StatusCode, len(body))
		}
		if _, handed := balancer.LoopCounts(bal); handed == handed0 {
			t.Error("the denied request was not handed on")
		}
	})

	t.Run("a member gone", func(t *testing.T) {
		n1.srv.Close() // its connections close; new ones are refused
		lc := dialLoop(t, bal.Addr())
		for i := 0; i < 6; i++ {
			lc.send(loopGet("/page"))
			resp, body := lc.read()
			if resp.StatusCode != 200 || resp.Header.Get("X-Member") != "n0" || !bytes.Equal(body, loopPage) {
				t.Fatalf("request %d with n1 gone: %d from %q", i, resp.StatusCode, resp.Header.Get("X-Member"))
			}
		}
	})
}

// TestLoopsTimeouts checks the loops' deadlines: a member too slow gets
// 504, an idle client is closed, and Close lets a request in flight end.
func TestLoopsTimeouts(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the event loops are Linux's")
	}
	n0 := newLoopBackend(t, "n0")
	o := onePool("", n0.member())
	o.Loops, o.Retries = 1, -1
	o.ResponseTimeout = 300 * time.Millisecond
	o.IdleTimeout = 300 * time.Millisecond
	o.DrainTimeout = 5 * time.Second
	bal := mustOpen(t, o)

	lc := dialLoop(t, bal.Addr())
	start := time.Now()
	lc.send(loopGet("/slow?d=3s"))
	resp, _ := lc.read()
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("a member slower than ResponseTimeout: %d; want 504", resp.StatusCode)
	}
	t.Logf("504 after %v (ResponseTimeout 300ms, the member answers after 3s)", time.Since(start).Round(time.Millisecond))

	lc = dialLoop(t, bal.Addr())
	lc.send(loopGet("/page"))
	lc.read()
	lc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := lc.br.ReadByte(); err != io.EOF {
		t.Errorf("an idle client after IdleTimeout: %v; want the connection closed (EOF)", err)
	}

	lc = dialLoop(t, bal.Addr())
	lc.send(loopGet("/slow?d=200ms"))
	time.Sleep(50 * time.Millisecond)
	done := make(chan struct{})
	go func() {
		bal.Close()
		close(done)
	}()
	resp, body := lc.read()
	if resp.StatusCode != 200 || string(body) != "slow" || !resp.Close {
		t.Errorf("a request in flight at Close: %d %q, close %v; want 200 \"slow\" and Connection: close", resp.StatusCode, body, resp.Close)
	}
	<-done
}
