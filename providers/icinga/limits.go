package icinga

import (
	"regexp"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/limits"
)

// notEmptyOrZero matches every value but "" and "0": the values PHP's
// empty() takes for missing. It looks at the first two characters only
// (no $): every contact's full_name goes through it.
var notEmptyOrZero = regexp.MustCompile(`(?s)^(?:[^0]|..)`)

// Limits are the field limits Icinga Notifications (Web v0.3.0 on the
// icinga-notifications schema) enforces on what ldapply writes. A
// contact's addresses have none: contact_address.address is text, and
// only the web UI's form stops at 255 characters.
var Limits = limits.Table{
	{
		Kind: plan.KindUser, Name: attrUsername, MaxLen: 254,
		Source: "icinga-notifications schema/pgsql/schema.sql (v0.2.0 and main): CONSTRAINT ck_contact_username_up_to_254_chars CHECK (length(username) <= 254); the real server answers a longer one with a 500 (api/icinga-notifications-v1.md §7, §8)",
	},
	{
		Kind: plan.KindUser, Name: attrFullName, Pattern: notEmptyOrZero,
		Rule:   `Icinga refuses an empty full_name and "0" (PHP's empty()) with a 422`,
		Source: "icinga-notifications-web v0.3.0 library/Notifications/Api/V1/Contacts.php: a REQUIRED_FIELD_TYPES field that is empty() is refused, 422 \"the field full_name must be present\"",
	},
	{
		Kind: plan.KindGroup, Name: "name", Pattern: notEmptyOrZero,
		Rule:   `Icinga refuses an empty group name and "0" (PHP's empty()) with a 422`,
		Source: "icinga-notifications-web v0.3.0 library/Notifications/Api/V1/ContactGroups.php: a REQUIRED_FIELD_TYPES field that is empty() is refused, 422 \"the field name must be present\"",
	},
}
