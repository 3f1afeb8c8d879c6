package balancer

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/orchardhq/orchard"
)

// listenControl serves /metrics (Prometheus text format) and
// orchard.HealthPath on Options.Control.
func (b *Balancer) listenControl() error {
	ln, err := net.Listen("tcp", b.opts.Control)
	if err != nil {
		return fmt.Errorf("balancer: control listen: %w", err)
	}
	b.ctlLn = ln
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+orchard.HealthPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if b.leaving.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(orchard.Health{OK: false, Role: "balancer", Releases: map[string]string{}})
			return
		}
		json.NewEncoder(w).Encode(orchard.Health{OK: true, Role: "balancer", Releases: b.Status().Sites})
	})
	if auth := b.opts.ControlAuth; auth != nil {
		mux.Handle("POST "+orchard.RefreshPath, auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
			defer cancel()
			var sites map[string]string
			if site := r.URL.Query().Get("site"); site != "" {
				// One publish's question: that site's release alone.
				sites = map[string]string{}
				if id := b.RefreshSite(ctx, site); id != "" {
					sites[site] = id
				}
			} else {
				sites = b.Refresh(ctx)
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			json.NewEncoder(w).Encode(orchard.Health{OK: true, Role: "balancer", Releases: sites})
		})))
		mux.Handle("GET "+orchard.MembersPath, auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeControlJSON(w, http.StatusOK, b.Members())
		})))
		mux.Handle("POST "+orchard.MembersPath+"/{pool}/{member}", auth(http.HandlerFunc(b.controlSetMember)))
		b.controlCerts(mux, auth)
	}
	if b.opts.Metrics != nil {
		mux.Handle("GET /metrics", b.opts.Metrics)
	} else {
		mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			bw := bufio.NewWriter(w)
			b.writeMetrics(bw)
			bw.Flush()
		})
	}
	b.ctlSrv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(b.log.Handler(), slog.LevelWarn),
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		if err := b.ctlSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.log.Error("control listener", "err", err)
		}
	}()
	return nil
}

// writeMetrics writes the balancer's counters in Prometheus text format.
func (b *Balancer) writeMetrics(w *bufio.Writer) {
	st := b.Status()
	metric := func(name, typ, help string) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	sample := func(name, typ, help string, v any) {
		metric(name, typ, help)
		fmt.Fprintf(w, "%s %d\n", name, v)
	}
	sample("orchard_balancer_requests_total", "counter", "Requests received.", st.Requests)
	sample("orchard_balancer_rejected_total", "counter", "Requests refused by a rule.", st.Rejected)
	sample("orchard_balancer_failed_total", "counter", "Requests answered 502, 503 or 504 by the balancer.", st.Failed)
	sample("orchard_balancer_retries_total", "counter", "Requests retried on another member.", st.Retries)
	if c := st.Cache; c != nil {
		sample("orchard_balancer_cache_hits_total", "counter", "Edge cache hits.", c.Hits)
		sample("orchard_balancer_cache_misses_total", "counter", "Edge cache misses.", c.Misses)
		sample("orchard_balancer_cache_evictions_total", "counter", "Edge cache evictions.", c.Evictions)
		sample("orchard_balancer_cache_bytes", "gauge", "Bytes held by the edge cache.", c.Bytes)
		sample("orchard_balancer_cache_entries", "gauge", "Entries in the edge cache.", c.Entries)
	}
	type series struct {
		name, typ, help string
		val             func(m *MemberStatus) string
	}
	for _, s := range []series{
		{"orchard_balancer_member_requests_total", "counter", "Requests sent to a member.", func(m *MemberStatus) string { return fmt.Sprint(m.Requests) }},
		{"orchard_balancer_member_errors_total", "counter", "Failed requests to a member.", func(m *MemberStatus) string { return fmt.Sprint(m.Errors) }},
		{"orchard_balancer_member_bytes_out_total", "counter", "Response bytes from a member.", func(m *MemberStatus) string { return fmt.Sprint(m.BytesOut) }},
		{"orchard_balancer_member_in_flight", "gauge", "Requests in flight to a member.", func(m *MemberStatus) string { return fmt.Sprint(m.InFlight) }},
		{"orchard_balancer_member_up", "gauge", "1 if the member takes requests.", func(m *MemberStatus) string {
			if m.State == orchard.MemberOK || m.State == orchard.MemberStandby {
				return "1"
			}
			return "0"
		}},
		{"orchard_balancer_member_latency_p99_seconds", "gauge", "99th percentile response time.", func(m *MemberStatus) string { return fmt.Sprint(m.P99 / 1000) }},
	} {
		metric(s.name, s.typ, s.help)
		for _, p := range st.Pools {
			for i := range p.Members {
				m := &p.Members[i]
				fmt.Fprintf(w, "%s{pool=%q,member=%q} %s\n", s.name, promLabel(p.Name), promLabel(m.Name), s.val(m))
			}
		}
	}
}

func promLabel(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// controlSetMember applies a manager action sent by another balancer or
// the CLI (signed; see orchard.MembersPath) on this balancer only, and
// answers this balancer's view of the member.
func (b *Balancer) controlSetMember(w http.ResponseWriter, r *http.Request) {
	// The whole body is read before use: the signature check fails it at
	// its end when it does not match its signed hash.
	data, err := io.ReadAll(io.LimitReader(r.Body, 4<<10+1))
	if err != nil {
		http.Error(w, "Unreadable or unsigned body.", http.StatusUnauthorized)
		return
	}
	var a orchard.MemberAction
	if len(data) > 4<<10 || json.Unmarshal(data, &a) != nil {
		http.Error(w, "The body is not a member action (JSON with action, weight, at).", http.StatusBadRequest)
		return
	}
	pool, name := r.PathValue("pool"), r.PathValue("member")
	set, err := b.setMember(pool, name, a, r.RemoteAddr)
	if err != nil {
		b.log.Warn("member action refused", "addr", r.RemoteAddr, "pool", pool, "member", name, "action", a.Action, "err", err)
		http.Error(w, orchard.ErrorMessage(err), orchard.StatusCode(orchard.ErrorCode(err)))
		return
	}
	writeControlJSON(w, http.StatusOK, set)
}

func writeControlJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
