package icinga

import (
	"encoding/json"
	"fmt"
	"maps"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/plan"
)

var _ apply.Pruner = (*Provider)(nil)

// Prune returns c without its references to the contacts and contact
// groups whose create failed earlier in the apply (failed holds their
// ids), and the ids it left out. A contact group's payload names its
// members in "users", a contact's payload its groups in "groups" (a
// contact PUT replaces its memberships); both are contact or group ids,
// which are the plan's target ids. Icinga refuses a group that names a
// contact it does not have ("User with identifier … not found"), so
// without Prune one failed contact would take every group holding it down
// too. The group's planned member list (After) is pruned alike, so the
// change says what is sent. c itself is not modified.
func (p *Provider) Prune(c *plan.Change, failed map[string]bool) (*plan.Change, []string, error) {
	field := "groups"
	if c.Kind == plan.KindGroup {
		field = "users"
	}
	if len(c.Payload) == 0 || c.Action == plan.Delete {
		return c, nil, nil
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(c.Payload, &body); err != nil {
		return nil, nil, fmt.Errorf("icinga: the plan's payload of %s %s is not a JSON object (%w); run plan again", c.Kind, c.Name(), err)
	}
	raw, ok := body[field]
	if !ok {
		return c, nil, nil
	}
	var ids []string
	if err := json.Unmarshal(raw, &ids); err != nil {
		return nil, nil, fmt.Errorf("icinga: the plan's payload of %s %s has %q that is not a list of ids (%w); run plan again", c.Kind, c.Name(), field, err)
	}
	keep, left := split(ids, failed)
	if len(left) == 0 {
		return c, nil, nil
	}
	var err error
	if body[field], err = json.Marshal(keep); err != nil {
		return nil, nil, err
	}
	pruned := *c
	if pruned.Payload, err = json.Marshal(body); err != nil {
		return nil, nil, err
	}
	if c.Kind == plan.KindGroup && c.After != nil {
		after := *c.After
		after.Lists = maps.Clone(c.After.Lists)
		after.Lists[listMembers], _ = split(c.After.Lists[listMembers], failed)
		pruned.After = &after
	}
	return &pruned, left, nil
}

// split returns the ids not in failed (never nil: Icinga wants a list)
// and those in it.
func split(ids []string, failed map[string]bool) (keep, left []string) {
	keep = make([]string, 0, len(ids))
	for _, id := range ids {
		if failed[id] {
			left = append(left, id)
		} else {
			keep = append(keep, id)
		}
	}
	return keep, left
}
