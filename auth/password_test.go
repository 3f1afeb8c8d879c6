package auth_test

import (
	"errors"
	"strings"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/auth"
	"golang.org/x/crypto/bcrypt"
)

// fast keeps tests quick; the format and checks are the same.
var fast = auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashPassword(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		h, err := auth.HashPassword("correct horse")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Count(h, "$") != 5 {
			t.Errorf("hash %q is not a PHC argon2id string with the default parameters", h)
		}
		for _, tc := range []struct {
			pw   string
			want bool
		}{{"correct horse", true}, {"correct horse ", false}, {"Correct horse", false}, {"", false}} {
			ok, err := auth.CheckPassword(h, tc.pw)
			if err != nil || ok != tc.want {
				t.Errorf("CheckPassword(%q) = %v, %v; want %v", tc.pw, ok, err, tc.want)
			}
		}
		if auth.NeedsRehash(h) {
			t.Error("a fresh hash needs a rehash")
		}
	})
	t.Run("Salted", func(t *testing.T) {
		a, _ := auth.HashPasswordParams("same", fast)
		b, _ := auth.HashPasswordParams("same", fast)
		if a == b {
			t.Error("two hashes of one password are equal: no salt")
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, pw := range []string{"", strings.Repeat("x", auth.MaxPasswordLen+1)} {
			_, err := auth.HashPassword(pw)
			if orchard.ErrorCode(err) != orchard.EINVALID {
				t.Errorf("HashPassword(%d bytes): %v, want EINVALID", len(pw), err)
			}
		}
		if _, err := auth.HashPasswordParams("x", auth.Params{Memory: 1 << 30, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}); err == nil {
			t.Error("HashPasswordParams accepted 1 TiB of memory")
		}
	})
}

// TestDefaultParams holds the parameters to OWASP's argon2id floor (19 MiB,
// 2 passes, 1 lane) and to what a 1 GB board can afford per check.
func TestDefaultParams(t *testing.T) {
	p := auth.DefaultParams()
	if p.Memory < 19*1024 || p.Time < 2 || p.Threads < 1 {
		t.Errorf("DefaultParams %+v is below OWASP's floor m=19 MiB, t=2, p=1", p)
	}
	if p.Memory > 32*1024 {
		t.Errorf("DefaultParams %+v: %d KiB per check is too much for a 1 GB board", p, p.Memory)
	}
}

// TestOldDefaultsVerify checks that a hash made with the parameters
// orchard used before (64 MiB, 1 pass, 2 lanes) still verifies, and is
// marked for a rehash at the next login.
func TestOldDefaultsVerify(t *testing.T) {
	old := auth.Params{Memory: 64 * 1024, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32}
	h, err := auth.HashPasswordParams("an old password", old)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := auth.CheckPassword(h, "an old password"); !ok || err != nil {
		t.Fatalf("CheckPassword(old-parameter hash) = %v, %v; want true", ok, err)
	}
	if !auth.NeedsRehash(h) {
		t.Error("NeedsRehash(64 MiB hash) = false, want true")
	}
	if auth.NeedsRehashParams(h, old) {
		t.Error("NeedsRehashParams(h, its own parameters) = true")
	}
}

func TestCheckPassword(t *testing.T) {
	argon, err := auth.HashPasswordParams("s3cret", fast)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	bcrypt2a := string(bc)
	bcrypt2b := "$2b$" + bcrypt2a[4:]
	bcrypt2y := "$2y$" + bcrypt2a[4:]
	parts := strings.Split(argon, "$")
	for _, tc := range []struct {
		name, hash, pw string
		want           bool
		bad            bool // want ErrBadHash
	}{
		{"Argon2id", argon, "s3cret", true, false},
		{"Argon2idWrong", argon, "s3creT", false, false},
		{"Bcrypt2a", bcrypt2a, "s3cret", true, false},
		{"Bcrypt2b", bcrypt2b, "s3cret", true, false},
		{"Bcrypt2y", bcrypt2y, "s3cret", true, false},
		{"BcryptWrong", bcrypt2a, "nope", false, false},
		{"BcryptLong", bcrypt2a, strings.Repeat("s", 100), false, false},
		{"Empty", "", "s3cret", false, true},
		{"Plain", "s3cret", "s3cret", false, true},
		{"Argon2i", strings.Replace(argon, "argon2id", "argon2i", 1), "s3cret", false, true},
		{"Version", strings.Replace(argon, "v=19", "v=16", 1), "s3cret", false, true},
		{"HugeMemory", strings.Replace(argon, "m=64,", "m=4194304,", 1), "s3cret", false, true},
		{"HugeTime", strings.Replace(argon, "t=1,", "t=100000,", 1), "s3cret", false, true},
		{"ZeroThreads", strings.Replace(argon, "p=1$", "p=0$", 1), "s3cret", false, true},
		{"ParamOrder", strings.Replace(argon, "m=64,t=1", "t=1,m=64", 1), "s3cret", false, true},
		{"BadSalt", strings.Join([]string{"", parts[1], parts[2], parts[3], "!!!", parts[5]}, "$"), "s3cret", false, true},
		{"ShortKey", strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$"), "s3cret", false, true},
		{"ExtraField", argon + "$x", "s3cret", false, true},
		{"BcryptCost", "$2a$31$" + bcrypt2a[7:], "s3cret", false, true},
		{"BcryptShort", "$2a$10$abc", "s3cret", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := auth.CheckPassword(tc.hash, tc.pw)
			if tc.bad {
				if !errors.Is(err, auth.ErrBadHash) {
					t.Errorf("CheckPassword: %v, %v; want ErrBadHash", ok, err)
				}
				return
			}
			if err != nil || ok != tc.want {
				t.Errorf("CheckPassword = %v, %v; want %v", ok, err, tc.want)
			}
		})
	}
	if !auth.NeedsRehash(bcrypt2a) || !auth.NeedsRehash(argon) {
		t.Error("NeedsRehash: bcrypt and cheap argon2id hashes should be upgraded")
	}
}

func TestRandomPassword(t *testing.T) {
	seen := map[string]bool{}
	counts := map[rune]int{}
	for range 2000 {
		pw := auth.RandomPassword()
		if len(pw) != auth.RandomPasswordLen {
			t.Fatalf("RandomPassword() = %q, %d chars", pw, len(pw))
		}
		if strings.ContainsAny(pw, "0Oo1lI") {
			t.Fatalf("RandomPassword() = %q has a look-alike character", pw)
		}
		if seen[pw] {
			t.Fatalf("RandomPassword repeated %q", pw)
		}
		seen[pw] = true
		for _, r := range pw {
			counts[r]++
		}
	}
	// 40,000 symbols over 56: each appears about 714 times; a broken
	// sampler (say, one that never picks the last symbols) shows here.
	if len(counts) != 56 {
		t.Errorf("only %d distinct symbols used", len(counts))
	}
	for r, n := range counts {
		if n < 400 || n > 1100 {
			t.Errorf("symbol %q appeared %d times in 40000, want about 714", r, n)
		}
	}
}

func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := auth.HashPassword("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
