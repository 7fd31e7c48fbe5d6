package httpapi

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/ldapply/ldapply/providers/netfail"
)

// Kind classifies an [Error]: what the caller can do about it.
type Kind int

// The kinds of error.
const (
	// Other is any failure none of the kinds below describes: an answer
	// 500 the request did not mark as transient, a redirect, a refused
	// TLS certificate, a cancelled context.
	Other Kind = iota
	// NotFound is an answer 404: the object or endpoint does not exist.
	NotFound
	// Permission is an answer 401 or 403: the credentials were rejected
	// or lack a right. Retrying does not help.
	Permission
	// Conflict is an answer 409 or 412: the object is in a state that
	// refuses the request (412: it changed since it was read).
	Conflict
	// Validation is an answer 400 or 422: the server refused the body.
	Validation
	// Transient may go away by itself: an answer 408, 429, 502, 503 or
	// 504, a 500 the request marked as transient, a refused or reset
	// connection, a connection closed without a (whole) answer, or a
	// timeout. A TLS handshake with a port that does not speak TLS, a
	// refused certificate and an unknown host are not (see
	// netfail.Error.Permanent): their Kind is Other.
	Transient
)

var kindNames = [...]string{"other", "not found", "permission", "conflict", "validation", "transient"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// KindOf returns the kind an answer with status has; retry500 makes a
// 500 transient.
func KindOf(status int, retry500 bool) Kind {
	switch status {
	case http.StatusNotFound:
		return NotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		return Permission
	case http.StatusConflict, http.StatusPreconditionFailed:
		return Conflict
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return Validation
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return Transient
	case http.StatusInternalServerError:
		if retry500 {
			return Transient
		}
	}
	return Other
}

// Error is a failed request: an error answer of the server, or a
// failure to get an answer at all (Status 0, the cause in Err).
type Error struct {
	Kind Kind
	// Target names the API in the message ("icinga").
	Target string
	// Method and Path identify the request; Path is as the target shows
	// it, relative to its base URL.
	Method, Path string
	// Status is the HTTP status of the answer; 0 when there was none.
	Status int
	// Message is the server's own message, or the target's explanation
	// of what the status means for this request.
	Message string
	// Fields holds per-field messages of a refused body (UDM's 422),
	// keyed by field name; when present they replace Message in Error.
	Fields map[string]string
	// Hint tells the user what to check, when the target knows.
	Hint string
	// Err is the cause when there was no (whole) answer.
	Err error
	// Attempts is how many times the request was sent.
	Attempts int

	// serialization marks a 500 the request said is transient: a write
	// that failed because it overlapped another.
	serialization bool
}

// Contended reports whether the server refused the request only because
// other work was in flight: a write's serialization failure, 429 or 503.
// The same request sent when fewer are in flight may succeed; apply
// sends such a change once more on its own (apply.Contended).
func (e *Error) Contended() bool {
	return e.Kind == Transient && (e.serialization || e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable)
}

// Error reads "<target>: <method> <path>: <message>[; <hint>] (HTTP
// <status>)", with the cause in place of the status when there was no
// answer, and "(gave up after N attempts)" when it was sent more than
// once.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s %s: ", e.Target, e.Method, e.Path)
	msg := e.Message
	if len(e.Fields) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
			parts = append(parts, k+": "+e.Fields[k])
		}
		msg = strings.Join(parts, "; ")
	}
	b.WriteString(msg)
	if e.Hint != "" {
		b.WriteString("; " + e.Hint)
	}
	switch {
	case e.Err != nil && msg == "" && e.Hint == "":
		b.WriteString(e.Err.Error())
	case e.Err != nil:
		b.WriteString(": " + e.Err.Error())
	case e.Status != 0:
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (gave up after %d attempts)", e.Attempts)
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// StatusOf returns the HTTP status of err's answer, or 0.
func StatusOf(err error) int {
	if e := As(err); e != nil {
		return e.Status
	}
	return 0
}

// KindOfError returns err's kind: that of its *Error, or for any other
// error Transient when its cause is (see [IsTransient]) and Other when not.
func KindOfError(err error) Kind {
	if e := As(err); e != nil {
		return e.Kind
	}
	if transientCause(err) {
		return Transient
	}
	return Other
}

// IsNotFound reports whether err is an answer 404.
func IsNotFound(err error) bool { return KindOfError(err) == NotFound }

// IsPermission reports whether err is an answer 401 or 403.
func IsPermission(err error) bool { return KindOfError(err) == Permission }

// IsConflict reports whether err is an answer 409 or 412.
func IsConflict(err error) bool { return KindOfError(err) == Conflict }

// IsValidation reports whether err is an answer 400 or 422.
func IsValidation(err error) bool { return KindOfError(err) == Validation }

// IsTransient reports whether err may go away by itself (see
// [Transient]). An error that is not an *Error is transient when its
// cause is a refused or reset connection, a connection closed early, or
// a timeout; the caller's cancellation never is.
func IsTransient(err error) bool { return KindOfError(err) == Transient }

// transientCause reports whether err, a failure without an answer, may
// go away by itself (see netfail.Transient).
func transientCause(err error) bool { return netfail.Transient(err) }
