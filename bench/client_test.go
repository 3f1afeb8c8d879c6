package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name       string
		raw        string
		head       bool
		status     int
		body       int64
		close      bool
		wantErr    error // errors.Is target; nil means success
		restPrefix string
	}{
		{name: "ContentLength", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloNEXT", status: 200, body: 5, restPrefix: "NEXT"},
		{name: "BareLF", raw: "HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", status: 200, body: 2},
		{name: "NoReason", raw: "HTTP/1.1 204\r\n\r\n", status: 204},
		{name: "Chunked", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\nNEXT", status: 200, body: 15, restPrefix: "NEXT"},
		{name: "ChunkedWinsOverLength", raw: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n", status: 200, body: 2},
		{name: "CloseDelimited", raw: "HTTP/1.1 200 OK\r\n\r\nall of this", status: 200, body: 11, close: true},
		{name: "OtherEncodingRunsToClose", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\nabcd", status: 200, body: 4, close: true},
		{name: "ConnectionClose", raw: "HTTP/1.1 200 OK\r\nConnection: Keep-Alive, close\r\nContent-Length: 0\r\n\r\n", status: 200, close: true},
		{name: "HTTP10", raw: "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", status: 200, body: 1, close: true},
		{name: "HTTP10KeepAlive", raw: "HTTP/1.0 200 OK\r\nconnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", status: 200, body: 1},
		{name: "Head", raw: "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\nNEXT", head: true, status: 200, restPrefix: "NEXT"},
		{name: "NotModified", raw: "HTTP/1.1 304 Not Modified\r\nContent-Length: 500\r\n\r\nNEXT", status: 304, restPrefix: "NEXT"},
		{name: "Continue", raw: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", status: 201, body: 2},
		{name: "SameLengthTwice", raw: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", status: 200, body: 2},

		{name: "ErrConflictingLength", raw: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", wantErr: errMalformed},
		{name: "ErrBadLength", raw: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", wantErr: errMalformed},
		{name: "ErrStatusLine", raw: "HTTP/2 200 OK\r\n\r\n", wantErr: errMalformed},
		{name: "ErrStatusCode", raw: "HTTP/1.1 20x OK\r\n\r\n", wantErr: errMalformed},
		{name: "ErrStatusRange", raw: "HTTP/1.1 600 OK\r\n\r\n", wantErr: errMalformed},
		{name: "ErrStatusGlued", raw: "HTTP/1.1 2000 OK\r\n\r\n", wantErr: errMalformed},
		{name: "ErrHeaderNoColon", raw: "HTTP/1.1 200 OK\r\nbroken\r\n\r\n", wantErr: errMalformed},
		{name: "ErrSwitching", raw: "HTTP/1.1 101 Switching Protocols\r\n\r\n", wantErr: errMalformed},
		{name: "ErrChunkSize", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", wantErr: errMalformed},
		{name: "ErrChunkNoCRLF", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhiX\r\n0\r\n\r\n", wantErr: errMalformed},
		{name: "ErrLineTooLong", raw: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", readBufferSize) + "\r\n\r\n", wantErr: errMalformed},
		{name: "ErrShortBody", raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", wantErr: io.ErrUnexpectedEOF},
		{name: "ErrShortChunk", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", wantErr: io.ErrUnexpectedEOF},
		{name: "ErrCutInHeaders", raw: "HTTP/1.1 200 OK\r\nContent-Le", wantErr: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tt.raw), readBufferSize)
			var resp response
			started, err := readResponse(br, tt.head, &resp)
			if !started {
				t.Errorf("started = false for a non-empty response")
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if resp.status != tt.status || resp.body != tt.body || resp.close != tt.close {
				t.Errorf("got status %d body %d close %v, want %d %d %v", resp.status, resp.body, resp.close, tt.status, tt.body, tt.close)
			}
			rest, _ := io.ReadAll(br)
			if !strings.HasPrefix(string(rest), tt.restPrefix) {
				t.Errorf("left %q unread, want it to start with %q", rest, tt.restPrefix)
			}
		})
	}
}

func TestReadResponseNotStarted(t *testing.T) {
	var resp response
	started, err := readResponse(bufio.NewReader(strings.NewReader("")), false, &resp)
	if started || err != io.EOF {
		t.Errorf("empty stream: started %v err %v, want false, EOF", started, err)
	}
}

func TestBuildRequest(t *testing.T) {
	got, err := buildRequest(Target{URL: "http://127.0.0.1:8000/a/b?c=d", Method: "POST", Body: []byte("x=1")},
		"alpha.localhost", []Header{{"Host", "ignored"}, {"X-One", "1"}, {"user-agent", "ua"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := "POST /a/b?c=d HTTP/1.1\r\nHost: alpha.localhost\r\nAccept: */*\r\nX-One: 1\r\nuser-agent: ua\r\n" +
		"Connection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\nx=1"
	if string(got) != want {
		t.Errorf("request\n%q\nwant\n%q", got, want)
	}
	got, _ = buildRequest(Target{URL: "http://example.com"}, "", nil, true)
	want = "GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: " + DefaultUserAgent + "\r\nAccept: */*\r\n\r\n"
	if string(got) != want {
		t.Errorf("request\n%q\nwant\n%q", got, want)
	}
}

// FuzzReadResponse feeds arbitrary server bytes to the response parser: it
// must never panic, never count more body than it was given, and always say
// that an empty stream had not started.
func FuzzReadResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), false)
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), false)
	f.Add([]byte("HTTP/1.0 200 OK\r\n\r\nbody"), false)
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		br := bufio.NewReaderSize(strings.NewReader(string(data)), 64)
		var resp response
		started, err := readResponse(br, head, &resp)
		if len(data) == 0 && started {
			t.Fatal("started on empty input")
		}
		if resp.body > int64(len(data)) {
			t.Fatalf("body %d > input %d", resp.body, len(data))
		}
		if err == nil && (resp.status < 200 || resp.status > 599) {
			t.Fatalf("accepted status %d", resp.status)
		}
	})
}

// BenchmarkReadResponse parses an 8.7 KB keep-alive response, as the hot path
// does for every request; it must not allocate.
func BenchmarkReadResponse(b *testing.B) {
	raw := []byte("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: 8700\r\n" +
		"Connection: keep-alive\r\nETag: \"abc\"\r\n\r\n" + strings.Repeat("x", 8700))
	r := bytes.NewReader(raw)
	br := bufio.NewReaderSize(r, readBufferSize)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		r.Reset(raw)
		br.Reset(r)
		var resp response
		if _, err := readResponse(br, false, &resp); err != nil || resp.body != 8700 {
			b.Fatal(err, resp.body)
		}
	}
}

func TestResolveLocalhost(t *testing.T) {
	tests := []struct{ host, want string }{
		{"localhost", "127.0.0.1:8000"},
		{"alpha.localhost", "127.0.0.1:8000"},
		{"Beta.Localhost.", "127.0.0.1:8000"},
		{"10.1.2.3", "10.1.2.3:8000"},
	}
	for _, tt := range tests {
		got, err := resolve(context.Background(), tt.host, "8000")
		if err != nil || got != tt.want {
			t.Errorf("resolve(%q) = %q, %v; want %q", tt.host, got, err, tt.want)
		}
	}
}
