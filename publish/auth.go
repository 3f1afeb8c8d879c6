package publish

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AuthScheme is the scheme word of the Authorization header.
const AuthScheme = "Orchard-HMAC-SHA256"

// ContentHashHeader carries the hex SHA-256 of the request body; the
// signature covers it and the verifier checks the body against it.
const ContentHashHeader = "X-Orchard-Content-SHA256"

// MaxSkew is how far a request's timestamp may be from the verifier's clock.
const MaxSkew = 5 * time.Minute

// emptySHA256 is the hex SHA-256 of no bytes.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// Sign signs req for the control API with the cluster secret: it sets the
// Authorization and X-Orchard-Content-SHA256 headers over the method, the
// path, the current time, a random nonce and the SHA-256 of body (the bytes
// req will send; nil for none).
func Sign(req *http.Request, secret []byte, body []byte) {
	sum := sha256.Sum256(body)
	signWithHash(req, secret, hex.EncodeToString(sum[:]), time.Now())
}

// signWithHash signs req for a body whose hex SHA-256 is bodyHash.
func signWithHash(req *http.Request, secret []byte, bodyHash string, now time.Time) {
	var n [12]byte
	_, _ = rand.Read(n[:])
	nonce := hex.EncodeToString(n[:])
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := signature(secret, req.Method, signedPath(req), ts, bodyHash, nonce)
	req.Header.Set("Authorization", AuthScheme+" ts="+ts+", nonce="+nonce+", sig="+sig)
	req.Header.Set(ContentHashHeader, bodyHash)
}

// signedPath is the part of the URL the signature covers: the escaped path
// and the query, if any.
func signedPath(req *http.Request) string {
	p := req.URL.EscapedPath()
	if req.URL.RawQuery != "" {
		p += "?" + req.URL.RawQuery
	}
	return p
}

func signature(secret []byte, method, path, ts, bodyHash, nonce string) string {
	m := hmac.New(sha256.New, secret)
	io.WriteString(m, method+"\n"+path+"\n"+ts+"\n"+bodyHash)
	if nonce != "" {
		io.WriteString(m, "\n"+nonce)
	}
	return hex.EncodeToString(m.Sum(nil))
}

// authHeader is a parsed Authorization header.
type authHeader struct {
	TS    int64
	Nonce string
	Sig   string
}

// parseAuthorization parses `Orchard-HMAC-SHA256 ts=<unix>, sig=<hex>` with an
// optional `nonce=<hex>`. Fields may come in any order, each at most once;
// the signature is 64 lower-case hex digits; the nonce at most 64 hex digits.
func parseAuthorization(h string) (authHeader, error) {
	var a authHeader
	if len(h) > 512 {
		return a, errors.New("authorization header too long")
	}
	rest, ok := strings.CutPrefix(h, AuthScheme+" ")
	if !ok {
		return a, errors.New("authorization scheme is not " + AuthScheme)
	}
	var haveTS bool
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return a, fmt.Errorf("authorization field %q has no value", part)
		}
		switch k {
		case "ts":
			if haveTS || v == "" || len(v) > 12 || strings.TrimLeft(v, "0123456789") != "" {
				return a, errors.New("authorization ts is not unix seconds")
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return a, errors.New("authorization ts is not unix seconds")
			}
			a.TS, haveTS = n, true
		case "nonce":
			if a.Nonce != "" || v == "" || len(v) > 64 || !isLowerHex(v) {
				return a, errors.New("authorization nonce is not hex")
			}
			a.Nonce = v
		case "sig":
			if a.Sig != "" || len(v) != 64 || !isLowerHex(v) {
				return a, errors.New("authorization sig is not 64 hex digits")
			}
			a.Sig = v
		default:
			return a, fmt.Errorf("authorization has unknown field %q", k)
		}
	}
	if !haveTS || a.Sig == "" {
		return a, errors.New("authorization needs ts and sig")
	}
	return a, nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Verifier checks signed requests: signature, clock skew, replays and the
// body against its signed hash. It is safe for concurrent use.
type Verifier struct {
	secret  []byte
	maxBody int64
	now     func() time.Time

	mu   sync.Mutex
	seen map[string]int64 // signature -> unix time it stops mattering
	next int64            // unix time of the next sweep of seen
}

// NewVerifier returns a Verifier for secret that refuses bodies over maxBody
// bytes (413).
func NewVerifier(secret []byte, maxBody int64) *Verifier {
	return &Verifier{secret: secret, maxBody: maxBody, now: time.Now, seen: map[string]int64{}}
}

// maxSeen bounds the replay cache; signed requests beyond it within one
// window are refused (a flood only a secret holder can cause).
const maxSeen = 1 << 20

// Verify checks r's signature and, when it is good, replaces r.Body with a
// reader that returns ErrUnauthorized instead of io.EOF if the body does not
// match its signed hash, and ErrTooLarge past the size limit. Handlers must
// read a body to its end before they keep anything from it. It returns an
// error wrapping ErrUnauthorized or ErrTooLarge.
func (v *Verifier) Verify(r *http.Request) error {
	a, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnauthorized, err)
	}
	now := v.now()
	if d := now.Unix() - a.TS; d > int64(MaxSkew/time.Second) || d < -int64(MaxSkew/time.Second) {
		return fmt.Errorf("%w: timestamp is %ds away from this node's clock", ErrUnauthorized, d)
	}
	bodyHash := r.Header.Get(ContentHashHeader)
	if bodyHash == "" {
		bodyHash = emptySHA256
	} else if len(bodyHash) != 64 || !isLowerHex(bodyHash) {
		return fmt.Errorf("%w: %s is not a hex SHA-256", ErrUnauthorized, ContentHashHeader)
	}
	want := signature(v.secret, r.Method, signedPath(r), strconv.FormatInt(a.TS, 10), bodyHash, a.Nonce)
	if !hmac.Equal([]byte(want), []byte(a.Sig)) {
		return fmt.Errorf("%w: bad signature", ErrUnauthorized)
	}
	if r.ContentLength > v.maxBody {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, r.ContentLength, v.maxBody)
	}
	if err := v.remember(a.Sig, a.TS, now.Unix()); err != nil {
		return err
	}
	body := r.Body
	if body == nil {
		body = http.NoBody
	}
	r.Body = &verifiedBody{r: body, h: sha256.New(), want: bodyHash, left: v.maxBody}
	return nil
}

// remember records a signature until it can no longer pass the clock check,
// refusing one already seen.
func (v *Verifier) remember(sig string, ts, now int64) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if now >= v.next {
		for s, until := range v.seen {
			if until < now {
				delete(v.seen, s)
			}
		}
		v.next = now + 10
	}
	if _, dup := v.seen[sig]; dup {
		return fmt.Errorf("%w: replayed request", ErrUnauthorized)
	}
	if len(v.seen) >= maxSeen {
		return fmt.Errorf("%w: too many requests in the replay window", ErrUnauthorized)
	}
	v.seen[sig] = ts + int64(MaxSkew/time.Second) + 1
	return nil
}

// verifiedBody hashes a body as it is read and refuses it at its end unless
// it matches the signed hash.
type verifiedBody struct {
	r    io.ReadCloser
	h    hash.Hash
	want string
	left int64
	err  error
}

func (b *verifiedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.r.Read(p)
	b.h.Write(p[:n])
	b.left -= int64(n)
	if b.left < 0 {
		b.err = fmt.Errorf("%w: body over the limit", ErrTooLarge)
		return 0, b.err
	}
	if err == io.EOF {
		if hex.EncodeToString(b.h.Sum(nil)) != b.want {
			b.err = fmt.Errorf("%w: body does not match its signed hash", ErrUnauthorized)
			return n, b.err
		}
		b.err = io.EOF
	} else if err != nil {
		b.err = err
	}
	return n, err
}

func (b *verifiedBody) Close() error { return b.r.Close() }

// DefaultMaxBody is the body limit of RequireSignature, in bytes.
const DefaultMaxBody = 64 << 20

// RequireSignature wraps next so it only sees requests signed with secret,
// with bodies of at most DefaultMaxBody bytes: others get 401 (or 413).
func RequireSignature(secret []byte, next http.Handler) http.Handler {
	return requireVerified(NewVerifier(secret, DefaultMaxBody), next)
}

func requireVerified(v *Verifier, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := v.Verify(r); err != nil {
			if errors.Is(err, ErrUnauthorized) {
				w.Header().Set("WWW-Authenticate", AuthScheme)
			}
			writeError(w, err, nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
