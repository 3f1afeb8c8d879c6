package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// shutdownGrace is how long Close lets a listener's requests in flight
// finish before it cancels them.
const shutdownGrace = 5 * time.Second

// serving is an HTTP server on its own listener (the master's sites, admin
// UI and control API, the probe's status page), served in the background,
// every request under a context that Close cancels when the grace period
// runs out.
type serving struct {
	srv  *http.Server
	ln   net.Listener
	stop context.CancelFunc // cancels the requests' base context
	done chan struct{}      // closed when Serve has returned
	once sync.Once
	err  error
}

// listenAndServe listens on addr and serves srv there until Close. It sets
// srv's BaseContext (derived from ctx, not cancelled with it) and, when
// srv has none, an ErrorLog at warning level; what names the listener in
// the error of a failed listen.
func listenAndServe(ctx context.Context, what, addr string, srv *http.Server, logger *slog.Logger) (*serving, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s listener: %w", what, err)
	}
	base, stop := context.WithCancel(context.WithoutCancel(ctx))
	srv.BaseContext = func(net.Listener) context.Context { return base }
	if srv.ErrorLog == nil {
		srv.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	}
	s := &serving{srv: srv, ln: ln, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("serve", "err", err)
		}
	}()
	return s, nil
}

// Addr returns the address the listener is bound to ("" on nil).
func (s *serving) Addr() string {
	if s == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops the listener, lets requests in flight finish for
// shutdownGrace, then cancels them and closes their connections, and waits
// for the server. It is safe on nil and more than once.
func (s *serving) Close() error {
	if s == nil {
		return nil
	}
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			s.stop()
			s.err = s.srv.Close()
		}
		s.stop()
		<-s.done
	})
	return s.err
}
