// Package scim is the start of the `target: scim:` provider (issue 24):
// any SCIM 2.0 service (RFC 7643, RFC 7644) as a target. The rules it
// follows are docs/scim-contract.md.
//
// This first part is the configuration ([Config]) and the client
// ([Client]), sending through providers/httpapi: discovery of the
// service's capabilities, lists read page by page (a short page is
// honoured, itemsPerPage is not trusted), creates that survive a lost
// answer by looking the resource up by externalId, PATCH with If-Match
// (a 412 is [ErrDrift]), group members changed by add and remove
// operations in chunks of at most patch_operations, and SCIM error
// bodies read into messages with their scimType and a hint.
//
// Not yet here: the planner hooks (Desire, NewID, Current, SetVersions
// with externalId as the key), Apply, and the registration in
// cmd/ldapply/targets.go.
package scim
