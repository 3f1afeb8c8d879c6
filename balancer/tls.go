package balancer

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"
)

// TLS termination: after the handshake, a connection that chose HTTP/1.1
// is served by fasthttp exactly as a plain one (tlsconn.go); one that chose
// HTTP/2 goes to net/http, because fasthttp has no HTTP/2, where each
// request is copied into a fasthttp.RequestCtx, handled like a plain one
// (every rule applies), and the response is copied back.

// listenTLS starts the HTTPS listener (HTTP/1.1 and HTTP/2).
func (b *Balancer) listenTLS() error {
	if b.opts.TLSCert != "" { // else only certificates pushed by the master
		cert, err := tls.LoadX509KeyPair(b.opts.TLSCert, b.opts.TLSKey)
		if err != nil {
			return fmt.Errorf("balancer: TLS certificate: %w", err)
		}
		b.cert.Store(&cert)
	}
	ln, err := net.Listen("tcp", b.opts.TLSListen)
	if err != nil {
		return fmt.Errorf("balancer: TLS listen: %w", err)
	}
	b.tlsLn = ln
	b.tlsSrv = &http.Server{
		Handler: b.hsts(http.HandlerFunc(b.serveTLS)),
		TLSConfig: &tls.Config{
			// By SNI from the master's certificates, else the file's, which
			// Reload may replace (a renewal) without a restart.
			GetCertificate: b.getCertificate,
			MinVersion:     tls.VersionTLS12, // Go's default cipher suites: AEAD with forward secrecy only
			NextProtos:     []string{"h2", "http/1.1"},
		},
		ReadHeaderTimeout: b.opts.ReadHeaderTimeout,
		ReadTimeout:       b.opts.ReadHeaderTimeout + b.opts.WriteTimeout,
		WriteTimeout:      b.opts.WriteTimeout,
		IdleTimeout:       b.opts.IdleTimeout,
		MaxHeaderBytes:    b.opts.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(b.log.Handler(), slog.LevelDebug),
		ConnState:         b.tlsConnState(),
	}
	b.tlsFast = b.fastServer(b.serveTLSFast)
	h2 := newConnQueue(ln.Addr())
	b.wg.Add(2)
	go func() {
		defer b.wg.Done()
		// The queue closes with the listener, before or after Shutdown.
		if err := b.tlsSrv.Serve(h2); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			b.log.Error("TLS listener (HTTP/2)", "err", err)
		}
	}()
	go func() {
		defer b.wg.Done()
		b.acceptTLS(ln, h2)
	}()
	return nil
}

// tlsConnState bounds the TLS listener's connections by MaxConns: a
// connection over the limit is closed as soon as it is accepted.
func (b *Balancer) tlsConnState() func(net.Conn, http.ConnState) {
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	return func(c net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch s {
		case http.StateNew:
			if len(open) >= b.opts.MaxConns {
				c.Close()
				return
			}
			open[c] = true
		case http.StateClosed, http.StateHijacked:
			delete(open, c)
		}
	}
}

var ctxPool = sync.Pool{New: func() any { return new(fasthttp.RequestCtx) }}

// serveTLS handles one HTTPS request through handle.
func (b *Balancer) serveTLS(w http.ResponseWriter, r *http.Request) {
	if r.RequestURI == "" || r.RequestURI[0] != '/' {
		// net/http has already replaced the Host header with the request
		// line's authority, so the two cannot be compared: refuse.
		http.Error(w, "This is not a proxy.", http.StatusBadRequest)
		return
	}
	var req fasthttp.Request
	req.Header.SetMethod(r.Method)
	req.Header.SetRequestURI(r.RequestURI)
	req.Header.SetHost(r.Host)
	for k, vs := range r.Header {
		switch strings.ToLower(k) {
		case "host", "content-length", "transfer-encoding", "trailer":
			continue
		}
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if r.Body != nil && r.Body != http.NoBody {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(b.opts.MaxRequestBytes)))
		if err != nil {
			http.Error(w, "Request body too large.", http.StatusRequestEntityTooLarge)
			return
		}
		req.SetBody(body)
	}
	ctx := ctxPool.Get().(*fasthttp.RequestCtx)
	defer ctxPool.Put(ctx)
	var raddr net.Addr
	if a, err := net.ResolveTCPAddr("tcp", r.RemoteAddr); err == nil {
		raddr = a
	}
	ctx.Init(&req, raddr, fasthttpLogger{b.log})
	ctx.Response.Reset() // a pooled ctx keeps its last response otherwise
	b.handle(ctx, true)

	resp := &ctx.Response
	h := w.Header()
	for k, v := range resp.Header.All() {
		if eqFold(k, "Connection") || eqFold(k, "Content-Length") || eqFold(k, "Transfer-Encoding") || eqFold(k, "Keep-Alive") {
			continue
		}
		h.Add(string(k), string(v))
	}
	if ct := resp.Header.ContentType(); len(ct) > 0 && h.Get("Content-Type") == "" {
		h.Set("Content-Type", string(ct))
	}
	if resp.ConnectionClose() && r.ProtoMajor == 1 {
		h.Set("Connection", "close")
	}
	body := resp.Body()
	switch {
	case resp.StatusCode() == http.StatusNotModified:
	case r.Method == http.MethodHead:
		if n := resp.Header.ContentLength(); n >= 0 {
			h.Set("Content-Length", fmt.Sprint(n))
		}
	default:
		h.Set("Content-Length", fmt.Sprint(len(body)))
	}
	w.WriteHeader(resp.StatusCode())
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}
