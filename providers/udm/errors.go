package udm

import (
	"errors"
	"net/http"

	"github.com/ldapply/ldapply/providers/httpapi"
)

// APIError is an error answer of the UDM REST API, a redirect (which the
// client never follows), or a request that got no answer. Path is
// relative to the API root and unescaped ("users/user/uid=alice,…");
// Message is error.message of the §5 error body, or an explanation;
// Fields holds the per-property messages of a 422, keyed by the last
// element of each udm:error location ("username", "dn"), and replaces
// Message in the error's text.
type APIError = httpapi.Error

// ErrDrift is wrapped by Apply's error when the object changed since the
// plan was made: its managed properties or member lists are no longer
// those the plan saw, it is gone, or UDM answered 412 to the If-Match of
// a PUT more often than a lost answer and the apply's own renames explain
// (see Provider.Apply).
var ErrDrift = errors.New("the object changed in UCS since the plan was made; nothing was written to it, run plan again")

func status(err error) int { return httpapi.StatusOf(err) }

// IsNotFound reports whether err is an API answer 404.
func IsNotFound(err error) bool { return httpapi.IsNotFound(err) }

// IsPrecondition reports whether err is an API answer 412.
func IsPrecondition(err error) bool { return status(err) == http.StatusPreconditionFailed }

// IsPermission reports whether err is an API answer 401 or 403.
func IsPermission(err error) bool { return httpapi.IsPermission(err) }

// IsTransient reports whether err may go away by itself: 429, 502, 503,
// 504, a refused or reset connection, a connection closed without an
// answer, or a timeout. Cancellation is not transient.
func IsTransient(err error) bool { return httpapi.IsTransient(err) }
