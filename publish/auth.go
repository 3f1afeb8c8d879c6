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

// MasterTarget is the target name of the master's control listener in a
// signed request (nodes are named by their node name, which cannot contain
// '@').
const MasterTarget = "@master"

// BalancerTarget is the target name of a balancer's control listener
// (orchard.RefreshPath).
const BalancerTarget = "@balancer"

// Sign signs req for the control API with the cluster secret: it sets the
// Authorization and X-Orchard-Content-SHA256 headers over the target (the
// receiver's node name, or MasterTarget), the method, the path, the current
// time, a random nonce and the SHA-256 of body (the bytes req will send;
// nil for none). Only the receiver named target accepts it, once.
func Sign(req *http.Request, secret []byte, target string, body []byte) {
	sum := sha256.Sum256(body)
	signWithHash(req, secret, target, hex.EncodeToString(sum[:]), time.Now())
}

// signWithHash signs req for target and a body whose hex SHA-256 is bodyHash.
func signWithHash(req *http.Request, secret []byte, target, bodyHash string, now time.Time) {
	var n [12]byte
	_, _ = rand.Read(n[:])
	nonce := hex.EncodeToString(n[:])
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := signature(secret, target, req.Method, signedPath(req), ts, bodyHash, nonce)
	req.Header.Set("Authorization", AuthScheme+" target="+target+", ts="+ts+", nonce="+nonce+", sig="+sig)
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

// signature is the HMAC of a request. The string starts with a version
// word so no string of the first protocol (which named no target) can
// verify as one of this one.
func signature(secret []byte, target, method, path, ts, bodyHash, nonce string) string {
	m := hmac.New(sha256.New, secret)
	io.WriteString(m, "orchard-v2\n"+target+"\n"+method+"\n"+path+"\n"+ts+"\n"+bodyHash+"\n"+nonce)
	return hex.EncodeToString(m.Sum(nil))
}

// authHeader is a parsed Authorization header.
type authHeader struct {
	Target string
	TS     int64
	Nonce  string
	Sig    string
}

// parseAuthorization parses `Orchard-HMAC-SHA256 target=<name>, ts=<unix>,
// nonce=<hex>, sig=<hex>`. Fields may come in any order, each exactly once;
// the target is 1-64 letters, digits or "-_.:@"; the signature is 64
// lower-case hex digits; the nonce 16-64 hex digits.
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
		case "target":
			if a.Target != "" || !validTarget(v) {
				return a, errors.New("authorization target is not a name")
			}
			a.Target = v
		case "nonce":
			if a.Nonce != "" || len(v) < 16 || len(v) > 64 || !isLowerHex(v) {
				return a, errors.New("authorization nonce is not 16-64 hex digits")
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
	if !haveTS || a.Sig == "" || a.Nonce == "" || a.Target == "" {
		return a, errors.New("authorization needs target, ts, nonce and sig")
	}
	return a, nil
}

// validTarget reports whether s can name a receiver: a node name (letters,
// digits, '-', '_') or MasterTarget, with room for host:port forms.
func validTarget(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.:@", c) >= 0) {
			return false
		}
	}
	return true
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

// Verifier checks signed requests: target, signature, clock skew, replays
// and the body against its signed hash. It is safe for concurrent use.
//
// A request is valid for one receiver and once. The signature covers the
// target, so a request captured on its way to one node is refused by every
// other (401). Within a run, a signature already seen is refused until it
// is too old to pass the clock check. Across a restart the cache of seen
// signatures is gone, so a verifier also refuses every request signed
// before the second it started: a request seen by the previous run can
// never be accepted by this one. We chose that over persisting the newest
// accepted timestamp because it writes nothing on the request path (a
// publish signs hundreds of blob requests) and has no file that a crash or
// a power cut could leave stale; its cost is that a signer whose clock runs
// behind the receiver's by d is refused for d after the receiver starts
// (a publish then reports the node failed and it catches up from the
// master). Requests signed in the very second of the start are accepted so
// that a node started and published to at once works; a replay of the
// previous run's requests from that same second is all that remains, and
// activation refuses going back to an older release anyway.
type Verifier struct {
	secret  []byte
	self    string // the target this verifier answers to
	maxBody int64
	now     func() time.Time
	started int64 // unix seconds: requests signed before are refused

	mu   sync.Mutex
	seen map[string]int64 // signature -> unix time it stops mattering
	next int64            // unix time of the next sweep of seen
}

// NewVerifier returns a Verifier for requests signed with secret for the
// target self (a node's name, or MasterTarget), signed no earlier than now,
// that refuses bodies over maxBody bytes (413).
func NewVerifier(secret []byte, self string, maxBody int64) *Verifier {
	return newVerifierAt(secret, self, maxBody, time.Now)
}

// newVerifierAt is NewVerifier with a clock; the verifier starts at now().
func newVerifierAt(secret []byte, self string, maxBody int64, now func() time.Time) *Verifier {
	return &Verifier{secret: secret, self: self, maxBody: maxBody, now: now, started: now().Unix(), seen: map[string]int64{}}
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
	if a.Target != v.self {
		return fmt.Errorf("%w: request is for %q, not %q", ErrUnauthorized, a.Target, v.self)
	}
	now := v.now()
	if d := now.Unix() - a.TS; d > int64(MaxSkew/time.Second) || d < -int64(MaxSkew/time.Second) {
		return fmt.Errorf("%w: timestamp is %ds away from this node's clock", ErrUnauthorized, d)
	}
	if a.TS < v.started {
		return fmt.Errorf("%w: request signed before this process started", ErrUnauthorized)
	}
	bodyHash := r.Header.Get(ContentHashHeader)
	if bodyHash == "" {
		bodyHash = emptySHA256
	} else if len(bodyHash) != 64 || !isLowerHex(bodyHash) {
		return fmt.Errorf("%w: %s is not a hex SHA-256", ErrUnauthorized, ContentHashHeader)
	}
	want := signature(v.secret, a.Target, r.Method, signedPath(r), strconv.FormatInt(a.TS, 10), bodyHash, a.Nonce)
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

// RequireSignature wraps next so it only sees requests signed with secret
// for the target self, with bodies of at most 64 MiB: others get 401 (or
// 413). The balancer's control listener uses it.
func RequireSignature(secret []byte, self string, next http.Handler) http.Handler {
	return requireVerified(NewVerifier(secret, self, 64<<20), next)
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
