package publish

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/orchardhq/orchard"
)

// BlobSource gives the master's blobs (release.Blobs satisfies it).
type BlobSource interface {
	// Get returns the content of the blob named sha; an error wrapping
	// fs.ErrNotExist when there is none.
	Get(sha string) ([]byte, error)
}

// Catalog is the master's record of releases (cmd/orchard wires the release
// store to it).
type Catalog interface {
	// Active returns the release each site should have active everywhere:
	// the one published last.
	Active() (map[string]string, error)
	// ActiveVersion names the version of Active's answer: it changes
	// whenever the answer may have changed. "" when unknown, and then
	// every node's catch-up reads the whole list.
	ActiveVersion() string
	// ActiveSince returns the active release of every site whose release
	// changed since version (an ActiveVersion answer), and false when it
	// cannot tell (then the node reads the whole list).
	ActiveSince(version string) (map[string]string, bool)
	// Manifest loads release id of site; an error wrapping ErrNotFound or
	// fs.ErrNotExist, or an ENOTFOUND *orchard.Error, when there is none.
	Manifest(site, id string) (*orchard.Manifest, error)
	// SetActive records id as the active release of site, durably.
	SetActive(site, id string) error
}

// MasterConfig holds what the master's control handler needs.
type MasterConfig struct {
	Secret  []byte
	Catalog Catalog
	Blobs   BlobSource
	Version string
	Logger  *slog.Logger
}

// MasterStatus is the answer of GET /_orchard/v1/status on the master.
type MasterStatus struct {
	Role     string            `json:"role"`
	Version  string            `json:"version,omitempty"`
	Uptime   float64           `json:"uptime_seconds"`
	Releases map[string]string `json:"releases"`
}

// NewMasterHandler returns the signed handler for /_orchard/v1/ on the
// master's control listener, from which nodes catch up:
// GET /_orchard/v1/releases, /releases/{site}, /blobs/{sha256}, /status.
func NewMasterHandler(cfg MasterConfig) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	log := cfg.Logger.With("component", "publish", "role", "master")
	started := time.Now()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_orchard/v1/releases", func(w http.ResponseWriter, r *http.Request) {
		// The version first: a pointer moved while Active reads makes the
		// version stale, so the node reads the list again next time.
		version := cfg.Catalog.ActiveVersion()
		since := r.URL.Query().Get("since")
		if version != "" && since == version {
			writeSignedJSON(w, r, cfg.Secret, http.StatusOK, ActiveList{Version: version, Unchanged: true})
			return
		}
		// Changes read after the version may go past it: the node then
		// asks again since this version and gets them again, harmlessly.
		if version != "" && since != "" {
			if changes, ok := cfg.Catalog.ActiveSince(since); ok {
				writeSignedJSON(w, r, cfg.Secret, http.StatusOK, ActiveList{Releases: changes, Version: version, Delta: true})
				return
			}
		}
		act, err := cfg.Catalog.Active()
		if err != nil {
			log.Error("list active releases", "err", err)
			writeError(w, err, nil)
			return
		}
		writeSignedJSON(w, r, cfg.Secret, http.StatusOK, ActiveList{Releases: act, Version: version})
	})
	mux.HandleFunc("GET /_orchard/v1/releases/{site}", func(w http.ResponseWriter, r *http.Request) {
		site := r.PathValue("site")
		if h, err := orchard.NormalizeHost(site); err != nil || h != site {
			writeError(w, fmt.Errorf("%w: %q is not a site name", ErrInvalid, site), nil)
			return
		}
		act, err := cfg.Catalog.Active()
		if err != nil {
			writeError(w, err, nil)
			return
		}
		id := act[site]
		if id == "" {
			writeError(w, fmt.Errorf("%w: no active release of %s", ErrNotFound, site), nil)
			return
		}
		m, err := cfg.Catalog.Manifest(site, id)
		if err != nil {
			log.Error("load manifest", "site", site, "release", id, "err", err)
			writeError(w, notFoundOr(err), nil)
			return
		}
		raw, err := jsonRaw(m)
		if err != nil {
			writeError(w, err, nil)
			return
		}
		writeSignedJSON(w, r, cfg.Secret, http.StatusOK, ActiveRelease{ID: id, Manifest: raw})
	})
	mux.HandleFunc("GET /_orchard/v1/blobs/{sha}", func(w http.ResponseWriter, r *http.Request) {
		sha := r.PathValue("sha")
		if !orchard.ValidSHA256(sha) {
			writeError(w, fmt.Errorf("%w: %q is not a hex SHA-256", ErrInvalid, sha), nil)
			return
		}
		b, err := cfg.Blobs.Get(sha)
		if err != nil {
			writeError(w, notFoundOr(err), nil)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b)
	})
	mux.HandleFunc("GET /_orchard/v1/status", func(w http.ResponseWriter, r *http.Request) {
		act, err := cfg.Catalog.Active()
		if err != nil {
			writeError(w, err, nil)
			return
		}
		writeSignedJSON(w, r, cfg.Secret, http.StatusOK, MasterStatus{
			Role: "master", Version: cfg.Version, Uptime: time.Since(started).Seconds(), Releases: act,
		})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, fmt.Errorf("%w: no endpoint %s %s", ErrNotFound, r.Method, r.URL.Path), nil)
	})
	return requireVerified(NewVerifier(cfg.Secret, MasterTarget, 1<<20), mux)
}

// notFoundOr maps "does not exist" errors to ErrNotFound and leaves others be.
func notFoundOr(err error) error {
	if errors.Is(err, ErrNotFound) || isNotExist(err) || orchard.ErrorCode(err) == orchard.ENOTFOUND {
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	return err
}

func jsonRaw(v any) ([]byte, error) { return json.Marshal(v) }

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
