package icinga

import "github.com/ldapply/ldapply/providers/httpapi"

// APIError is an error answer of the Icinga Notifications API, a
// redirect the client refused to follow, or a request that got no
// answer. Path is relative to the base URL (e.g. "contacts/4f1c…");
// Message is the server's {"message": …} text, or for 302, 401 and 403
// an explanation of what to check.
type APIError = httpapi.Error

// IsNotFound reports whether err is, or wraps, an API answer 404: the
// object (or endpoint) does not exist.
func IsNotFound(err error) bool { return httpapi.IsNotFound(err) }

// IsPermission reports whether err is, or wraps, an API answer 401 or 403:
// the credentials were rejected or the user lacks notifications/api.
// Retrying does not help.
func IsPermission(err error) bool { return httpapi.IsPermission(err) }

// IsTransient reports whether err may go away by itself: an API answer
// 429, 502, 503 or 504, a write's 500 (a serialization failure), a
// refused or reset connection, a connection closed without an answer, or
// a timeout of one request. Cancellation of the caller's context is not
// transient.
func IsTransient(err error) bool { return httpapi.IsTransient(err) }
