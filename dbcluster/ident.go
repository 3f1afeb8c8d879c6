package dbcluster

import (
	"fmt"
	"strings"
)

// quoteIdent quotes a database, user or host name with backticks. Names are
// validated before they get here; quoting is the second fence.
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

// account returns `user`@`host` for CREATE USER and GRANT.
func (a Account) account() string { return quoteIdent(a.User) + "@" + quoteIdent(a.host()) }

func (a Account) host() string {
	if a.Host == "" {
		return "%"
	}
	return a.Host
}

// validateName checks a database or user name: letters, digits and '_',
// at most max bytes.
func validateName(what, s string, max int) error {
	if s == "" || len(s) > max {
		return fmt.Errorf("%s %q must be 1 to %d characters", what, s, max)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Errorf("%s %q may hold only letters, digits and '_'", what, s)
		}
	}
	return nil
}

// validateAccountHost checks the host part of an account: '%', an address,
// a name or a pattern such as "10.0.1.%" or "10.0.1.0/255.255.255.0".
func validateAccountHost(s string) error {
	if s == "" || len(s) > 255 {
		return fmt.Errorf("account host %q must be 1 to 255 characters", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-_%:/", c) >= 0) {
			return fmt.Errorf("account host %q may hold only letters, digits and . - _ %% : /", s)
		}
	}
	return nil
}

// validate checks an account before any SQL is built with it.
func (a Account) validate(what string) error {
	if err := validateName(what+" user", a.User, 32); err != nil {
		return err
	}
	if err := validateAccountHost(a.host()); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if a.Password == "" {
		return fmt.Errorf("%s user %q has no password", what, a.User)
	}
	return nil
}
