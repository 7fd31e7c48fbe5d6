package scim

import (
	"maps"
	"slices"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/plan"
)

var _ apply.Pruner = (*Provider)(nil)

// Prune returns c without its references to the users whose create
// failed earlier in the apply (failed holds their plan ids), and the ids
// it left out, so that a group is still written with the members that
// exist. c itself is not modified.
func (p *Provider) Prune(c *plan.Change, failed map[string]bool) (*plan.Change, []string, error) {
	if c.Kind != plan.KindGroup || c.Action == plan.Delete || c.After == nil ||
		!slices.ContainsFunc(c.After.Lists[listMembers], func(id string) bool { return failed[id] }) {
		return c, nil, nil
	}
	after := *c.After
	after.Lists = maps.Clone(c.After.Lists)
	var left []string
	after.Lists[listMembers] = slices.DeleteFunc(slices.Clone(c.After.Lists[listMembers]), func(id string) bool {
		if failed[id] {
			left = append(left, id)
		}
		return failed[id]
	})
	pruned := *c
	pruned.After = &after
	return &pruned, left, nil
}
