package icinga

import (
	"maps"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/plan"
)

var _ apply.Pruner = (*Provider)(nil)

// Prune returns c without its references to the contacts whose create
// failed earlier in the apply (failed holds their ids), and the ids it
// left out. Only a contact group refers to others: its members, the
// After list Apply sends as "users". Icinga refuses a group that names a
// contact it does not have ("User with identifier … not found"), so
// without Prune one failed contact would take every group holding it
// down too. A contact's PUT names its groups as apply read them, which
// are groups Icinga has, so it never needs pruning. c itself is not
// modified.
func (p *Provider) Prune(c *plan.Change, failed map[string]bool) (*plan.Change, []string, error) {
	if c.Kind != plan.KindGroup || c.Action == plan.Delete || c.After == nil {
		return c, nil, nil
	}
	keep, left := split(c.After.Lists[listMembers], failed)
	if len(left) == 0 {
		return c, nil, nil
	}
	after := *c.After
	after.Lists = maps.Clone(c.After.Lists)
	after.Lists[listMembers] = keep
	pruned := *c
	pruned.After = &after
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
