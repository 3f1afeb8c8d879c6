package node

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/orchardhq/orchard"
)

// controlHandler serves the control listener: health without
// authentication, everything under /_orchard/v1/ by the handler given to
// SetControlHandler (the publish protocol, signed).
func (n *Node) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+orchard.HealthPath, func(w http.ResponseWriter, r *http.Request) {
		rels, version, delta := n.ReleasesSince(r.URL.Query().Get("since"))
		writeJSON(w, orchard.Health{OK: true, Role: "node", Name: n.cfg.Name, Releases: rels, Version: version, Delta: delta})
	})
	mux.HandleFunc("/_orchard/v1/", func(w http.ResponseWriter, r *http.Request) {
		if h := n.control.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
	})
	if n.cfg.Metrics != nil {
		mux.Handle("GET /metrics", n.cfg.Metrics)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if !strings.HasPrefix(r.URL.Path, "/_orchard/") && r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}
