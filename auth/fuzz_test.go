package auth

import (
	"strings"
	"testing"
)

// FuzzParseArgon2id feeds stored hashes (which may come from an imported
// file) to the parser: it must never panic and only accept bounded values.
func FuzzParseArgon2id(f *testing.F) {
	for _, s := range []string{
		"$argon2id$v=19$m=65536,t=2,p=2$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=,t=,p=$$",
		"$argon2id$$$$$",
		"$2a$10$abcdefghijklmnopqrstuv",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := parseArgon2id(s)
		if err != nil {
			return
		}
		if p.Memory > maxMemory || p.Time > maxTime || p.Threads == 0 || len(salt) < 8 || len(key) < 16 {
			t.Fatalf("accepted out-of-bounds hash %q: %+v", s, p)
		}
		if !strings.HasPrefix(s, "$argon2id$v=19$") {
			t.Fatalf("accepted %q", s)
		}
	})
}
