package scim

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/ldapply/ldapply/providers/httpapi"
)

// APIError is an error answer of the SCIM service, or a request that got
// no answer. Message is the SCIM error body's detail, prefixed with its
// scimType ("uniqueness: …"), or an explanation of the status.
type APIError = httpapi.Error

// ErrDrift is wrapped by an error when the resource changed since it was
// read: the service answered 412 to an If-Match.
var ErrDrift = errors.New("the resource changed in the SCIM service since it was read; nothing was written to it, run plan again")

// errorBody is the SCIM error body (RFC 7644 §3.12); status is a string
// by the RFC, a number at some services.
type errorBody struct {
	Status   json.RawMessage `json:"status"`
	ScimType string          `json:"scimType"`
	Detail   string          `json:"detail"`
}

// scimTypes are the scimType values of RFC 7644 §3.12 (and tooLarge of
// bulk answers).
var scimTypes = []string{"invalidFilter", "tooMany", "uniqueness", "mutability", "invalidSyntax",
	"invalidPath", "noTarget", "invalidValue", "invalidVers", "sensitive", "tooLarge"}

// ScimType returns the scimType of an error answer ("uniqueness",
// "invalidValue", …), or "". explain puts it first in the message.
func ScimType(err error) string {
	e := httpapi.As(err)
	if e == nil || e.Status == 0 {
		return ""
	}
	t, _, ok := strings.Cut(e.Message, ": ")
	if ok && slices.Contains(scimTypes, t) {
		return t
	}
	return ""
}

// IsNotFound reports whether err is an answer 404.
func IsNotFound(err error) bool { return httpapi.IsNotFound(err) }

// IsPermission reports whether err is an answer 401 or 403.
func IsPermission(err error) bool { return httpapi.IsPermission(err) }

// IsTransient reports whether err may go away by itself (429, 502, 503,
// 504, a broken connection, a timeout).
func IsTransient(err error) bool { return httpapi.IsTransient(err) }

// IsUniqueness reports whether err is a 409 uniqueness: a create or
// rename whose userName (or group displayName) is taken.
func IsUniqueness(err error) bool {
	return httpapi.StatusOf(err) == http.StatusConflict && ScimType(err) == "uniqueness"
}

// IsPrecondition reports whether err is an answer 412 to an If-Match.
func IsPrecondition(err error) bool { return httpapi.StatusOf(err) == http.StatusPreconditionFailed }

// explain fills Message ("<scimType>: <detail>") and Hint of an error
// answer from the SCIM error body and the status.
func explain(e *httpapi.Error, _ http.Header, body []byte) {
	var b errorBody
	switch {
	case json.Unmarshal(body, &b) == nil && b.ScimType != "" && slices.Contains(scimTypes, b.ScimType):
		e.Message = b.ScimType + ": " + b.Detail
	case b.Detail != "":
		e.Message = b.Detail
	default:
		e.Message = httpapi.ServerMessage(body)
	}
	if e.Message == "" {
		e.Message = http.StatusText(e.Status)
	}
	e.Hint = hint(e.Status, b.ScimType)
}

// hint says what to check for an answer.
func hint(status int, scimType string) string {
	switch {
	case status == http.StatusUnauthorized:
		return "check target.scim.token (or token_file, or username and password): the service did not accept them"
	case status == http.StatusForbidden:
		return "the credentials are valid but may not do this: give them the right to manage users and groups in the service"
	case status == http.StatusPreconditionFailed:
		return ErrDrift.Error()
	case status == http.StatusConflict && scimType == "uniqueness":
		return "another resource already has this name and is not ldapply's: set its externalId to the source key to adopt it, or rename one of them"
	case status == http.StatusNotImplemented:
		return "the service does not support this operation; see what `ldapply validate` reports of its capabilities"
	case scimType == "tooMany":
		return "lower target.scim.patch_operations (or page_size) below the service's limit"
	}
	return ""
}
