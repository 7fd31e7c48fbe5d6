// Package scim is the `target: scim:` provider (issue 24): any SCIM 2.0
// service (RFC 7643, RFC 7644) as a target, following the rules of
// docs/scim-contract.md.
//
// # Identity
//
// A resource's plan id is its externalId, which holds the source primary
// key; the service's own id is looked up at apply (one list read per
// apply). A resource without an externalId is one ldapply never made: its
// plan id is "scim-id:<id>" and it is never changed or deleted. Two
// resources that share an externalId stop the plan.
//
// # Attributes and membership
//
// user_attributes and group_attributes map attribute paths to templates:
// an attribute (displayName), a sub-attribute (name.givenName),
// emails.work (the primary work address; writing it replaces the emails
// list) or an enterprise extension path. Users are managed with active
// true; a group's members are its users, nested groups flattened.
// Changes are PATCHes: replace or remove of the attributes that differ,
// and members added and removed in chunks of at most patch_operations
// changes, each under If-Match with the ETag the one before returned.
// A group that a list shows without members is read on its own (a
// service may leave members out of lists). List pages are decoded as
// they arrive, a member to its value alone: type, display and $ref are
// skipped, since they are most of a large group's text and ldapply
// reads none of them. A PATCH refused with 412 (a
// chunk that landed before its answer was lost) makes apply read the
// resource again and continue when only the change's own writes moved
// it; anything else is drift.
//
// # Deletes
//
// A user gone from the directory is deactivated (on_delete: deactivate,
// the default) or deleted; a group is deleted; upsert_only leaves every
// delete out of the plan with a warning. A deactivated user who comes
// back is adopted by externalId and made active again.
//
// With adopt_by_username a user without an externalId whose userName
// the source has is adopted too: Current rebinds it to the source key
// (so the planner adopts it), and apply sets its externalId first.
//
// # Caveats
//
// A service whose /ServiceProviderConfig says patch.supported false gets
// PUTs of the whole resource as read, with the managed attributes and
// members of the change, under If-Match.
//
// Creates go through /Bulk when the service offers it (Prepare notes
// the plan's creates; the first create of a kind sends them all, within
// maxOperations and maxPayloadSize). Such a create is done before apply
// records it, so an apply cut short leaves more unrecorded creates than
// apply's own bound; the next plan adopts them by externalId.
//
// Not yet: field limits.
package scim
