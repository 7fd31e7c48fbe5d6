package udm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"syscall"
)

// APIError is an error answer of the UDM REST API (or a redirect, which
// the client never follows).
type APIError struct {
	// Method and Path identify the request; Path is relative to the API
	// root and unescaped ("users/user/uid=alice,…").
	Method, Path string
	Status       int
	// Message is error.message of the §5 error body, or an explanation.
	Message string
	// Properties holds the per-property messages of a 422, keyed by the
	// last element of each udm:error location ("username", "dn").
	Properties map[string]string
}

func (e *APIError) Error() string {
	msg := e.Message
	if len(e.Properties) > 0 {
		var parts []string
		for _, k := range sortedKeys(e.Properties) {
			parts = append(parts, fmt.Sprintf("%s: %s", k, e.Properties[k]))
		}
		msg = strings.Join(parts, "; ")
	}
	return fmt.Sprintf("udm: %s %s: %s (HTTP %d)", e.Method, e.Path, msg, e.Status)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ErrDrift is wrapped by Apply's error when UDM answered 412: the object
// changed since the plan was made.
var ErrDrift = errors.New("the object changed in UCS since the plan was made (HTTP 412 on If-Match); nothing was written to it, run plan again")

func status(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// IsNotFound reports whether err is an API answer 404.
func IsNotFound(err error) bool { return status(err) == http.StatusNotFound }

// IsPrecondition reports whether err is an API answer 412.
func IsPrecondition(err error) bool { return status(err) == http.StatusPreconditionFailed }

// IsPermission reports whether err is an API answer 401 or 403.
func IsPermission(err error) bool {
	s := status(err)
	return s == http.StatusUnauthorized || s == http.StatusForbidden
}

// IsTransient reports whether err may go away by itself: 502, 503, 504,
// a refused or reset connection, a connection closed without an answer,
// or a timeout. Cancellation is not transient.
func IsTransient(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		switch ae.Status {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
