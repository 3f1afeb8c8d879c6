package publish

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/orchardhq/orchard"
)

// ResponseSignatureHeader carries the signature of a JSON answer: the
// receiver of a signed request checks that the answer came from a holder of
// the secret and belongs to its request (the nonce).
const ResponseSignatureHeader = "X-Orchard-Response-Signature"

// NewHTTPClient returns the HTTP client the protocol uses by default: keep-alive
// connections, perHost of them per peer, and a dial timeout so a node that is
// down is known quickly.
func NewHTTPClient(perHost int) *http.Client {
	perHost = orchard.OrDefault(perHost, 8)
	return &http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   perHost,
		IdleConnTimeout:       60 * time.Second,
		ResponseHeaderTimeout: 2 * time.Minute,
		DisableCompression:    true,
	}}
}

// client makes signed requests to one peer's control listener.
type client struct {
	addr   string // as given to newClient
	base   string // "http://host:port"
	target string // the peer's name in the signed string (see Sign)
	secret []byte
	hc     *http.Client
}

// newClient returns a client for the peer named target (a node name, or
// MasterTarget) listening on addr.
func newClient(addr, target string, secret []byte, hc *http.Client) *client {
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	return &client{addr: addr, base: strings.TrimRight(base, "/"), target: target, secret: secret, hc: hc}
}

// do sends a signed request with body and returns the response when it is
// 2xx; any other status becomes an error wrapping its sentinel.
func (c *client) do(ctx context.Context, method, path string, body []byte, bodyHash string) (*http.Response, string, error) {
	return c.doType(ctx, method, path, body, bodyHash, "application/octet-stream")
}

// doType is do with the body's Content-Type.
func (c *client) doType(ctx context.Context, method, path string, body []byte, bodyHash, contentType string) (*http.Response, string, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if bodyHash == "" {
		sum := sha256.Sum256(body)
		bodyHash = hex.EncodeToString(sum[:])
	}
	signWithHash(req, c.secret, c.target, bodyHash, time.Now())
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	nonce := nonceOf(req.Header.Get("Authorization"))
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, "", responseError(resp)
	}
	return resp, nonce, nil
}

// doJSON sends a signed request and decodes a signed JSON answer into out
// (out nil: the answer is drained and dropped).
func (c *client) doJSON(ctx context.Context, method, path string, body []byte, out any, maxBytes int64) error {
	return c.doJSONType(ctx, method, path, body, "application/octet-stream", out, maxBytes)
}

// doJSONType is doJSON with the body's Content-Type.
func (c *client) doJSONType(ctx context.Context, method, path string, body []byte, contentType string, out any, maxBytes int64) error {
	resp, nonce, err := c.doType(ctx, method, path, body, "", contentType)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if int64(len(b)) > maxBytes {
		return fmt.Errorf("%w: answer over %d bytes", ErrTooLarge, maxBytes)
	}
	if !hmac.Equal([]byte(resp.Header.Get(ResponseSignatureHeader)), []byte(responseSignature(c.secret, nonce, b))) {
		return fmt.Errorf("%w: answer is not signed with the cluster secret", ErrUnauthorized)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%w: decode answer: %v", ErrInvalid, err)
	}
	return nil
}

func nonceOf(auth string) string {
	a, err := parseAuthorization(auth)
	if err != nil {
		return ""
	}
	return a.Nonce
}

func responseSignature(secret []byte, nonce string, body []byte) string {
	sum := sha256.Sum256(body)
	m := hmac.New(sha256.New, secret)
	io.WriteString(m, "response\n"+nonce+"\n"+hex.EncodeToString(sum[:]))
	return hex.EncodeToString(m.Sum(nil))
}

// writeSignedJSON answers v as JSON signed for the request r (see
// ResponseSignatureHeader).
func writeSignedJSON(w http.ResponseWriter, r *http.Request, secret []byte, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, err, nil)
		return
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set(ResponseSignatureHeader, responseSignature(secret, nonceOf(r.Header.Get("Authorization")), b))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// isDown reports whether err means the peer could not be reached at all (as
// opposed to answering with an error).
func isDown(err error) bool {
	if err == nil {
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}
