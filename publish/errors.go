package publish

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/orchardhq/orchard/release"
)

// Sentinel errors of the protocol. Each has one HTTP status, used by the
// server to answer and by the client to turn an answer back into the error.
// An activation asked before every blob is present is the store's own
// release.ErrBlobsMissing (409), so a node's refusal and the master's read
// of it are the same error.
var (
	// ErrUnauthorized: a missing, malformed, wrong, stale or replayed signature (401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrTooLarge: a body over the size limit (413).
	ErrTooLarge = errors.New("body too large")
	// ErrHashMismatch: a blob whose content does not hash to its name (422).
	ErrHashMismatch = errors.New("blob content does not match its hash")
	// ErrInvalid: a malformed manifest, hash, site or request (400).
	ErrInvalid = errors.New("invalid request")
	// ErrNotFound: an unknown release, site or blob (404).
	ErrNotFound = errors.New("not found")
	// ErrStorage: the receiver could not write to its disk (507).
	ErrStorage = errors.New("storage failure")
	// ErrStale: an activation that would go back to an older release
	// without an explicit rollback, or a rollback that does not replace
	// the active release (412).
	ErrStale = errors.New("activation out of order")
)

var statusOf = []struct {
	err    error
	status int
}{
	{ErrUnauthorized, http.StatusUnauthorized},
	{ErrTooLarge, http.StatusRequestEntityTooLarge},
	{ErrHashMismatch, http.StatusUnprocessableEntity},
	{release.ErrBlobsMissing, http.StatusConflict}, // activation asked before every blob is present
	{ErrInvalid, http.StatusBadRequest},
	{ErrNotFound, http.StatusNotFound},
	{ErrStorage, http.StatusInsufficientStorage},
	{ErrStale, http.StatusPreconditionFailed},
}

// StatusFor returns the HTTP status for err: the status of the first sentinel
// in its chain, else 500.
func StatusFor(err error) int {
	for _, s := range statusOf {
		if errors.Is(err, s.err) {
			return s.status
		}
	}
	return http.StatusInternalServerError
}

// errorFor returns the sentinel for an HTTP status, or nil when there is none.
func errorFor(status int) error {
	for _, s := range statusOf {
		if s.status == status {
			return s.err
		}
	}
	return nil
}

// errorBody is the JSON body of every error answer.
type errorBody struct {
	Error   string   `json:"error"`
	Missing []string `json:"missing,omitempty"`
}

// writeError answers err with its status and a short JSON message. Internal
// errors (500) name no detail beyond the sentinel, so nothing about the
// receiver's disk layout leaks to the caller.
func writeError(w http.ResponseWriter, err error, missing []string) {
	status := StatusFor(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		msg = "internal error"
	}
	writeJSON(w, status, errorBody{Error: msg, Missing: missing})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// responseError turns a non-2xx answer into an error wrapping its sentinel
// (when the status has one), with the server's message.
func responseError(resp *http.Response) error {
	var body errorBody
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &body) != nil || body.Error == "" {
		body.Error = strings.TrimSpace(string(b))
		if len(body.Error) > 200 {
			body.Error = body.Error[:200]
		}
	}
	sentinel := errorFor(resp.StatusCode)
	if sentinel == nil {
		return fmt.Errorf("status %d: %s", resp.StatusCode, body.Error)
	}
	body.Error = strings.TrimPrefix(body.Error, sentinel.Error()+": ")
	if body.Error == sentinel.Error() || body.Error == "" {
		return fmt.Errorf("status %d: %w", resp.StatusCode, sentinel)
	}
	return fmt.Errorf("status %d: %w: %s", resp.StatusCode, sentinel, body.Error)
}
