package udm

import (
	"maps"
	"slices"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/plan"
)

var _ apply.Pruner = (*Provider)(nil)

// Prune returns c without its references to the users and groups whose
// create failed earlier in the apply (failed holds their target ids, the
// source primary keys), and the ids it left out. Only a group refers to
// others: After's users and nestedGroup lists, whose DNs Apply sends. A
// DN that names no object must not be written: where UDM takes it (the
// simulator does), the next plan reads it as a member made by hand and
// keeps it, so the user, once created, is listed twice. c itself is not
// modified.
func (p *Provider) Prune(c *plan.Change, failed map[string]bool) (*plan.Change, []string, error) {
	if c.Kind != plan.KindGroup || c.Action == plan.Delete || c.After == nil || !refersTo(c.After, failed) {
		return c, nil, nil
	}
	after := *c.After
	after.Lists = maps.Clone(c.After.Lists)
	var left []string
	for _, l := range []string{listUsers, listNested} {
		ids := c.After.Lists[l]
		if len(ids) == 0 {
			continue
		}
		after.Lists[l] = slices.DeleteFunc(slices.Clone(ids), func(id string) bool {
			if failed[id] {
				left = append(left, id)
			}
			return failed[id]
		})
	}
	pruned := *c
	pruned.After = &after
	return &pruned, left, nil
}

// refersTo reports whether o's member lists hold an id in failed.
func refersTo(o *plan.Object, failed map[string]bool) bool {
	for _, l := range []string{listUsers, listNested} {
		for _, id := range o.Lists[l] {
			if failed[id] {
				return true
			}
		}
	}
	return false
}
