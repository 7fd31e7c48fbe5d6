package planner

import (
	"fmt"
	"slices"

	"github.com/ldapply/ldapply/plan"
)

// matched is the desired side set against the target's.
type matched struct {
	d        *drafted
	mem      Membership
	cur      map[plan.Kind]map[string]*plan.Object // by id
	bindings plan.Bindings
	// managed holds, by kind, the ids ldapply manages: bound or desired.
	// An in-sync plan never asks, so it is made on the first question.
	managed map[plan.Kind]map[string]bool
	// desiredByID names the desired objects by kind and id, made on the
	// first question (see desiredName).
	desiredByID map[plan.Kind]map[string]string
}

// match indexes the target's objects, gives each desired object that
// the target has the target's string of its id (lists and the diff then
// compare equal strings by address first), and fills the desired
// groups' member lists.
func match(d *drafted, mem Membership, cur *Current, bindings plan.Bindings) *matched {
	m := &matched{d: d, mem: mem, bindings: bindings, cur: map[plan.Kind]map[string]*plan.Object{
		plan.KindUser: {}, plan.KindGroup: {},
	}}
	for _, o := range cur.Objects {
		if m.cur[o.Kind] == nil {
			m.cur[o.Kind] = map[string]*plan.Object{}
		}
		m.cur[o.Kind][o.ID] = o
	}
	for _, dk := range []*desiredKind{&d.users, &d.groups} {
		for _, o := range dk.objs {
			if c, ok := m.cur[o.Kind][o.ID]; ok {
				o.ID = c.ID
			}
		}
	}
	byRank := make([]string, len(d.byID)) // the ids in rank order: one read per member
	for r, i := range d.byID {
		byRank[r] = d.users.objs[i].ID
	}
	for gi, g := range d.groups.objs {
		g.Lists = map[string][]string{mem.Users: idsOf(d.members[gi], byRank)}
		if mem.Groups != "" {
			ids := make([]string, len(d.nested[gi]))
			for j, i := range d.nested[gi] {
				ids[j] = d.groups.objs[i].ID
			}
			slices.Sort(ids)
			g.Lists[mem.Groups] = ids
		}
	}
	return m
}

// idsOf returns the ids of ranks, in order.
func idsOf(ranks []int32, byRank []string) []string {
	ids := make([]string, len(ranks))
	for j, r := range ranks {
		ids[j] = byRank[r]
	}
	return ids
}

// isManaged reports whether ldapply manages the object of kind k and id.
func (m *matched) isManaged(k plan.Kind, id string) bool {
	if m.managed == nil {
		m.managed = map[plan.Kind]map[string]bool{}
	}
	ids, ok := m.managed[k]
	if !ok {
		ids = map[string]bool{}
		for _, b := range m.bindings[k] {
			ids[b.ID] = true
		}
		for _, o := range m.d.kind(k).objs {
			ids[o.ID] = true
		}
		m.managed[k] = ids
	}
	return ids[id]
}

// keepUnmanagedMembers adds to each desired group the members its
// target copy has that ldapply does not manage (people added them by
// hand): they stay.
func (m *matched) keepUnmanagedMembers() {
	lists := map[string]plan.Kind{m.mem.Users: plan.KindUser}
	if m.mem.Groups != "" {
		lists[m.mem.Groups] = plan.KindGroup
	}
	for _, g := range m.d.groups.objs {
		cur, ok := m.cur[plan.KindGroup][g.ID]
		if !ok {
			continue
		}
		for name, k := range lists {
			g.Lists[name] = m.withUnmanaged(k, g.Lists[name], cur.Lists[name])
		}
	}
}

// withUnmanaged returns want with the values of have that ldapply does
// not manage added. Both are sorted, so one walk finds the values of
// have that want lacks; in sync, there are none.
func (m *matched) withUnmanaged(k plan.Kind, want, have []string) []string {
	n, j := len(want), 0
	for _, id := range have {
		if j < n && want[j] == id { // in sync: mostly one string, compared by address
			j++
			continue
		}
		for j < n && want[j] < id {
			j++
		}
		if j < n && want[j] == id || m.isManaged(k, id) {
			continue
		}
		want = append(want, id)
	}
	if len(want) > n {
		slices.Sort(want)
		want = slices.Compact(want)
	}
	return want
}

// dropCreateOnly removes the create-only attributes from the desired
// objects the target already has.
func (m *matched) dropCreateOnly(attrs []string) {
	if len(attrs) == 0 {
		return
	}
	for _, dk := range []*desiredKind{&m.d.users, &m.d.groups} {
		for _, o := range dk.objs {
			if _, exists := m.cur[o.Kind][o.ID]; !exists {
				continue
			}
			for _, a := range attrs {
				delete(o.Attrs, a)
				o.Sensitive = slices.DeleteFunc(o.Sensitive, func(s string) bool { return s == a })
			}
		}
	}
}

// takenNames returns a conflict for each desired name that an object
// ldapply does not manage already has, and adds a warning instead for
// the kinds whose names the target lets two objects share.
func (m *matched) takenNames(r *Rules, warnings *[]string) []string {
	var problems []string
	for _, k := range plan.Kinds {
		dk := m.d.kind(k)
		for _, c := range m.cur[k] {
			i, ok := dk.byName[lower(c.Name)]
			if !ok || dk.objs[i].ID == c.ID || m.isManaged(k, c.ID) {
				continue
			}
			who, fix := r.Unmanaged(c)
			dn, field := dk.entries[i].DN, r.NameField[k]
			if slices.Contains(r.SharedNames, k) {
				*warnings = append(*warnings, fmt.Sprintf("%s %s maps to %s %q, which %s also has and ldapply does not manage", k, dn, field, c.Name, who))
				continue
			}
			problems = append(problems, fmt.Sprintf("source %s %s maps to %s %q, which %s already has and ldapply does not manage; %s", k, dn, field, c.Name, who, fix))
		}
	}
	return problems
}

// touched returns the target's objects the changes touch, for their
// versions.
func (m *matched) touched(changes []plan.Change) []*plan.Object {
	var out []*plan.Object
	for i := range changes {
		b := changes[i].Before
		if b != nil && b.Version == "" && m.cur[b.Kind][b.ID] == b {
			out = append(out, b)
		}
	}
	return out
}
