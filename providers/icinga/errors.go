package icinga

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
)

// APIError is an error answer of the Icinga Notifications API, or a
// redirect the client refused to follow.
type APIError struct {
	// Method and Path identify the request; Path is relative to the base
	// URL (e.g. "contacts/4f1c…").
	Method, Path string
	// Status is the HTTP status code of the answer.
	Status int
	// Message is the server's {"message": …} text, or for 302, 401 and 403
	// an explanation of what to check.
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("icinga: %s %s: %s (HTTP %d)", e.Method, e.Path, e.Message, e.Status)
}

// IsNotFound reports whether err is, or wraps, an API answer 404: the
// object (or endpoint) does not exist.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// IsPermission reports whether err is, or wraps, an API answer 401 or 403:
// the credentials were rejected or the user lacks notifications/api.
// Retrying does not help.
func IsPermission(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden)
}

// IsTransient reports whether err may go away by itself: an API answer
// 429, 502, 503 or 504, a refused or reset connection, a connection closed
// without an answer, or a timeout of one request. Cancellation of the
// caller's context is not transient.
func IsTransient(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		switch ae.Status {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
