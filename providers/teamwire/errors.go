package teamwire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
)

// APIError is an error answer of the Teamwire Enterprise API.
type APIError struct {
	// Method and Path identify the request; Path is relative to
	// /v<api_version>/admin/ (e.g. "ldapsettings/12/").
	Method, Path string
	// Status is the HTTP status code.
	Status int
	// Message explains the answer: what the status means for this
	// endpoint, and the server's own message when it sent one.
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("teamwire: %s %s: %s (HTTP %d)", e.Method, e.Path, e.Message, e.Status)
}

func statusIs(err error, codes ...int) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.Status == c {
			return true
		}
	}
	return false
}

// IsNotFound reports whether err is an answer 404: the organisation does
// not exist.
func IsNotFound(err error) bool { return statusIs(err, http.StatusNotFound) }

// IsConflict reports whether err is an answer 409: the organisation is
// disabled or, for an abort, no sync run is active.
func IsConflict(err error) bool { return statusIs(err, http.StatusConflict) }

// IsPermission reports whether err is an answer 401 or 403.
func IsPermission(err error) bool {
	return statusIs(err, http.StatusUnauthorized, http.StatusForbidden)
}

// IsTransient reports whether err may go away by itself: an answer 429,
// 502, 503 or 504, a refused or reset connection, or a timeout. The
// caller's cancellation is not transient.
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
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
