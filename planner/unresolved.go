package planner

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ldapply/ldapply/plan"
)

// Caps on what the warnings about unresolved members list.
const (
	unresolvedGroups = 10 // groups named, one warning each
	unresolvedDNs    = 3  // DNs named per group
	removalsNamed    = 5  // removed members named per group
)

// unresolvedWarnings returns the warnings about member DNs that match
// no entry read: one per group (the first ten groups, then a count),
// and, first, one per group change that removes members the source
// still has while the group lists such DNs. That is what a plan made
// right after a rename shows before the directory has rewritten the
// groups' member values (slapd's refint overlay): the removal would be
// caused only by the DNs it cannot resolve.
func (m *matched) unresolvedWarnings(changes []plan.Change) []string {
	d := m.d
	var flagged, listed []string
	var byKey map[string]*plan.Change
	moreGroups, moreDNs := 0, 0
	for gi, ids := range d.unresolved {
		if len(ids) == 0 {
			continue
		}
		if byKey == nil {
			byKey = map[string]*plan.Change{}
			for i := range changes {
				if c := &changes[i]; c.Kind == plan.KindGroup {
					byKey[c.Key] = c
				}
			}
		}
		g := d.groups.objs[gi]
		dns := m.someDNs(gi)
		if c := byKey[g.Key]; c != nil {
			if w := m.removalWarning(c, len(ids), dns); w != "" {
				flagged = append(flagged, w)
				continue
			}
		}
		if len(listed) == unresolvedGroups {
			moreGroups++
			moreDNs += len(ids)
			continue
		}
		listed = append(listed, fmt.Sprintf("group %q lists %s (%s): outside the source's bases or filters, or renamed and not yet updated in the group; they are left out of its members",
			g.Name, unmatched(len(ids)), dns))
	}
	if moreGroups > 0 {
		listed = append(listed, fmt.Sprintf("%d more groups list %s", moreGroups, unmatched(moreDNs)))
	}
	return append(flagged, listed...)
}

// someDNs returns the first unresolved member DNs of desired group gi,
// joined, with a count of the rest.
func (m *matched) someDNs(gi int) string {
	ids := m.d.unresolved[gi]
	t := m.d.groups.entries[gi].Members.Table()
	var dns []string
	for _, id := range ids[:min(len(ids), unresolvedDNs)] {
		dns = append(dns, t.At(id))
	}
	s := strings.Join(dns, "; ")
	if len(ids) > len(dns) {
		s += fmt.Sprintf("; and %d more", len(ids)-len(dns))
	}
	return s
}

// removalWarning flags change c of a group that has n unresolved member
// DNs (dns names some) when it removes members the source still has: ""
// when it removes none.
func (m *matched) removalWarning(c *plan.Change, n int, dns string) string {
	if c.Before == nil || c.After == nil || c.Action == plan.Create || c.Action == plan.Delete {
		return ""
	}
	var names []string
	removed, only := 0, c.Action == plan.Update
	for _, a := range plan.AttrChanges(c.Before, c.After) {
		k, isMembers := m.listKind(a.Name)
		if !a.List || !isMembers || len(a.Added) > 0 {
			only = false
		}
		if !isMembers {
			continue
		}
		for _, id := range a.Removed {
			name, desired := m.desiredName(k, id)
			if !desired {
				only = false
				continue
			}
			if removed++; removed <= removalsNamed {
				names = append(names, strconv.Quote(name))
			}
		}
	}
	if removed == 0 {
		return ""
	}
	list := strings.Join(names, ", ")
	if removed > len(names) {
		list += fmt.Sprintf(" and %d more", removed-len(names))
	}
	what := "removes"
	if only {
		what = "only removes"
	}
	return fmt.Sprintf("group %q: this plan %s members the source still has (%s) while the group lists %s (%s); the removal may be caused only by those: if members were renamed, the directory may not have updated the group yet (slapd's refint overlay), so plan again once it has",
		c.Name(), what, list, unmatched(n), dns)
}

// listKind returns the kind of the members the group list name holds,
// and whether it is a member list at all.
func (m *matched) listKind(name string) (plan.Kind, bool) {
	switch {
	case name == m.mem.Users:
		return plan.KindUser, true
	case m.mem.Groups != "" && name == m.mem.Groups:
		return plan.KindGroup, true
	}
	return "", false
}

// desiredName returns the name of the desired object of kind k and id,
// and whether there is one.
func (m *matched) desiredName(k plan.Kind, id string) (string, bool) {
	if m.desiredByID == nil {
		m.desiredByID = map[plan.Kind]map[string]string{}
	}
	names, ok := m.desiredByID[k]
	if !ok {
		objs := m.d.kind(k).objs
		names = make(map[string]string, len(objs))
		for _, o := range objs {
			names[o.ID] = o.Name
		}
		m.desiredByID[k] = names
	}
	name, ok := names[id]
	return name, ok
}

// unmatched says how many member DNs match no entry read.
func unmatched(n int) string {
	if n == 1 {
		return "1 member DN that matches no user or group ldapply read"
	}
	return strconv.Itoa(n) + " member DNs that match no user or group ldapply read"
}
