package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	orchard "github.com/orchardhq/orchard"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen int // bytes
	KeyLen  int // bytes
}

// DefaultParams returns the parameters HashPassword uses: 19 MiB, 2
// passes, 1 lane, OWASP's recommended argon2id floor. It is chosen for a
// 1 GB board: the admin UI checks at most two passwords at a time, so
// logins cost at most 2 x 19 MiB however many arrive (64 MiB per check
// took a Pi's master from 230 MB to 1.4 GB under 20 concurrent guesses).
// 2 passes buy back the time cost the smaller memory gives up (about
// 0.1-0.3 s per check on a Pi-class core).
func DefaultParams() Params {
	return Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Bounds on parameters read from stored hashes.
const (
	maxMemory     = 512 * 1024 // KiB
	maxTime       = 16
	maxBcryptCost = 15
	// MaxPasswordLen is the longest password accepted, in bytes.
	MaxPasswordLen = 1024
)

var b64 = base64.RawStdEncoding

// HashPassword hashes pw with argon2id and DefaultParams.
func HashPassword(pw string) (string, error) {
	return HashPasswordParams(pw, DefaultParams())
}

// HashPasswordParams hashes pw with argon2id and the given parameters.
func HashPasswordParams(pw string, p Params) (string, error) {
	if pw == "" {
		return "", orchard.Errorf(orchard.EINVALID, "Password is empty.")
	}
	if len(pw) > MaxPasswordLen {
		return "", orchard.Errorf(orchard.EINVALID, "Password is longer than %d bytes.", MaxPasswordLen)
	}
	if p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory || p.Time < 1 || p.Time > maxTime ||
		p.Threads < 1 || p.SaltLen < 8 || p.SaltLen > 64 || p.KeyLen < 16 || p.KeyLen > 64 {
		return "", fmt.Errorf("auth: invalid argon2id parameters %+v", p)
	}
	salt := make([]byte, p.SaltLen)
	rand.Read(salt) // never fails (crypto/rand)
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(p.KeyLen))
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// ErrBadHash is returned by CheckPassword for a hash it cannot read.
var ErrBadHash = errors.New("auth: unrecognised or malformed password hash")

// CheckPassword reports whether pw matches hash, an argon2id PHC string or
// a bcrypt hash. A wrong password is (false, nil); a hash that cannot be
// read, or whose cost is out of bounds, is an error wrapping ErrBadHash.
// Comparisons take constant time.
func CheckPassword(hash, pw string) (bool, error) {
	if len(pw) > MaxPasswordLen {
		return false, nil
	}
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		return checkArgon2id(hash, pw)
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		return checkBcrypt(hash, pw)
	}
	return false, ErrBadHash
}

// parseArgon2id reads "$argon2id$v=19$m=M,t=T,p=P$salt$key".
func parseArgon2id(hash string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: want 6 '$'-separated fields", ErrBadHash)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: unsupported argon2 version %q", ErrBadHash, parts[2])
	}
	var m, t, th uint64
	for i, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, perr := strconv.ParseUint(v, 10, 32)
		if !ok || perr != nil || i > 2 || k != "mtp"[i:i+1] {
			return p, nil, nil, fmt.Errorf("%w: parameters %q", ErrBadHash, parts[3])
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			th = n
		}
	}
	if m == 0 || m > maxMemory || t == 0 || t > maxTime || th == 0 || th > 255 || m < 8*th {
		return p, nil, nil, fmt.Errorf("%w: parameters out of bounds %q", ErrBadHash, parts[3])
	}
	if salt, err = b64.Strict().DecodeString(parts[4]); err != nil || len(salt) < 8 || len(salt) > 64 {
		return p, nil, nil, fmt.Errorf("%w: salt", ErrBadHash)
	}
	if key, err = b64.Strict().DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, fmt.Errorf("%w: key", ErrBadHash)
	}
	p = Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(th), SaltLen: len(salt), KeyLen: len(key)}
	return p, salt, key, nil
}

func checkArgon2id(hash, pw string) (bool, error) {
	p, salt, key, err := parseArgon2id(hash)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(p.KeyLen))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

func checkBcrypt(hash, pw string) (bool, error) {
	cost, err := bcrypt.Cost([]byte(hash))
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrBadHash, err)
	}
	if cost > maxBcryptCost {
		return false, fmt.Errorf("%w: bcrypt cost %d is above %d", ErrBadHash, cost, maxBcryptCost)
	}
	if len(pw) > 72 {
		return false, nil // bcrypt never hashed it
	}
	// CompareHashAndPassword compares in constant time.
	err = bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	default:
		return false, fmt.Errorf("%w: %v", ErrBadHash, err)
	}
}

// NeedsRehash reports whether hash should be replaced by a fresh
// HashPassword after a successful login: it is bcrypt, or argon2id with
// parameters other than DefaultParams.
func NeedsRehash(hash string) bool {
	return NeedsRehashParams(hash, DefaultParams())
}

// NeedsRehashParams reports whether hash should be replaced by a hash
// made with p: it is bcrypt, or argon2id with other parameters (weaker
// ones, and also stronger ones, whose memory a login cannot afford).
func NeedsRehashParams(hash string, p Params) bool {
	hp, _, _, err := parseArgon2id(hash)
	return err != nil || hp != p
}

// passwordAlphabet leaves out characters people confuse: 0 O o 1 l I.
const passwordAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// RandomPasswordLen is the length of RandomPassword's result; with 56
// symbols that is about 116 bits.
const RandomPasswordLen = 20

// RandomPassword returns a new random password of RandomPasswordLen
// characters from an alphabet without look-alike characters.
func RandomPassword() string {
	out := make([]byte, 0, RandomPasswordLen)
	buf := make([]byte, 64)
	// Rejection sampling keeps every symbol equally likely.
	limit := byte(256 - 256%len(passwordAlphabet))
	for len(out) < RandomPasswordLen {
		rand.Read(buf)
		for _, b := range buf {
			if b < limit && len(out) < RandomPasswordLen {
				out = append(out, passwordAlphabet[int(b)%len(passwordAlphabet)])
			}
		}
	}
	return string(out)
}
