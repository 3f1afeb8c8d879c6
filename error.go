package orchard

import (
	"errors"
	"fmt"
)

// Error codes users see. Each maps to one HTTP status in StatusCode.
const (
	ECONFLICT     = "conflict"
	EINTERNAL     = "internal"
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	EUNAVAILABLE  = "unavailable"
)

// Error is an error meant for users: a code to branch on and a message to show.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("orchard error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, or a
// generic message for any other error, so internal details never reach users.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

var statusCodes = map[string]int{
	ECONFLICT:     409,
	EINVALID:      400,
	ENOTFOUND:     404,
	EUNAUTHORIZED: 401,
	EFORBIDDEN:    403,
	EUNAVAILABLE:  503,
	EINTERNAL:     500,
}

// StatusCode maps an error code to its HTTP status (500 for unknown codes).
func StatusCode(code string) int {
	if s, ok := statusCodes[code]; ok {
		return s
	}
	return 500
}
