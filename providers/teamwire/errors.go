package teamwire

import "github.com/ldapply/ldapply/providers/httpapi"

// APIError is an error answer of the Teamwire Enterprise API, or a
// request that got no answer. Path is relative to /v<api_version>/admin/
// (e.g. "ldapsettings/12/"); Message explains the answer: what the
// status means for this endpoint, and the server's own message when it
// sent one.
type APIError = httpapi.Error

// IsNotFound reports whether err is an answer 404: the organisation does
// not exist.
func IsNotFound(err error) bool { return httpapi.IsNotFound(err) }

// IsConflict reports whether err is an answer 409: the organisation is
// disabled or, for an abort, no sync run is active.
func IsConflict(err error) bool { return httpapi.IsConflict(err) }

// IsPermission reports whether err is an answer 401 or 403.
func IsPermission(err error) bool { return httpapi.IsPermission(err) }

// IsTransient reports whether err may go away by itself: an answer 429,
// 502, 503 or 504, a refused or reset connection, or a timeout. The
// caller's cancellation is not transient.
func IsTransient(err error) bool { return httpapi.IsTransient(err) }
