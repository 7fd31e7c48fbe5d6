package planner

import (
	"maps"
	"slices"

	"github.com/ldapply/ldapply/plan"
)

// refs names the ids in the changes' lists: the desired name, else the
// name the target has. A member that came into a group through a nested
// group is named with it.
type refs struct {
	m     *matched
	names map[string]string
	via   map[plan.Via]string // a member that came through a nested group -> its name
	named []bool              // by rank: in names
	// groupAt finds a desired group by key; byID names a desired object
	// by id. Both are made on the first question.
	groupAt map[string]int
	byID    map[string]string
}

func (m *matched) refs(changes []plan.Change) plan.Refs {
	rf := &refs{m: m, names: map[string]string{}}
	for i := range changes {
		c := &changes[i]
		if c.Kind != plan.KindGroup {
			continue
		}
		if c.Before != nil {
			rf.lists(c.Before)
		}
		if c.After != nil {
			rf.after(c)
		}
	}
	return rf.plan()
}

// after names the members of c.After: a desired group's users by their
// ranks, with the nested group each came through.
func (rf *refs) after(c *plan.Change) {
	d := rf.m.d
	if rf.groupAt == nil {
		rf.groupAt = make(map[string]int, len(d.groups.objs))
		for i, g := range d.groups.objs {
			rf.groupAt[g.Key] = i
		}
		rf.named = make([]bool, len(d.users.objs))
	}
	gi, ok := rf.groupAt[c.Key]
	if !ok {
		rf.lists(c.After)
		return
	}
	for _, r := range d.members[gi] {
		if !rf.named[r] {
			rf.named[r] = true
			o := d.users.objs[d.byID[r]]
			rf.names[o.ID] = o.Name
		}
		if d.via != nil {
			if v, ok := d.via[gi][r]; ok {
				if rf.via == nil {
					rf.via = map[plan.Via]string{}
				}
				rf.via[plan.Via{Owner: c.ID, Member: d.users.objs[d.byID[r]].ID}] = v
			}
		}
	}
	if len(c.After.Lists) > 1 || len(c.After.Lists[rf.m.mem.Users]) != len(d.members[gi]) {
		rf.lists(c.After) // unmanaged members kept, or nested groups
	}
	if c.Before != nil && d.via != nil && len(d.via[gi]) > 0 {
		rf.leftThrough(c, gi)
	}
}

// leftThrough names, for the members c's group loses, the nested group
// each leaves it through: one still nested in it (some member still
// comes through it) whose target copy has the member and which loses
// it too. Neither the target nor the state records how a member came
// in, so one whose nested group was taken out of the group altogether
// is shown without one.
func (rf *refs) leftThrough(c *plan.Change, gi int) {
	users := rf.m.mem.Users
	after := setOf(c.After.Lists[users])
	var removed []string
	for _, id := range c.Before.Lists[users] {
		if !after[id] {
			removed = append(removed, id)
		}
	}
	if len(removed) == 0 {
		return
	}
	d := rf.m.d
	names := slices.Compact(slices.Sorted(maps.Values(d.via[gi])))
	for _, name := range names {
		ni, ok := d.groups.byName[lower(name)]
		if !ok {
			continue
		}
		n := d.groups.objs[ni]
		cur := rf.m.cur[plan.KindGroup][n.ID]
		if cur == nil {
			continue
		}
		had, has := setOf(cur.Lists[users]), setOf(n.Lists[users])
		for _, id := range removed {
			v := plan.Via{Owner: c.ID, Member: id}
			if _, named := rf.via[v]; named || !had[id] || has[id] {
				continue
			}
			if rf.via == nil {
				rf.via = map[plan.Via]string{}
			}
			rf.via[v] = name
		}
	}
}

func setOf(ids []string) map[string]bool {
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	return set
}

// lists names every value of o's lists.
func (rf *refs) lists(o *plan.Object) {
	for _, l := range o.Lists {
		for _, id := range l {
			if _, ok := rf.names[id]; ok {
				continue
			}
			if n := rf.nameOf(id); n != "" {
				rf.names[id] = n
			}
		}
	}
}

// nameOf returns the name of the object with target id, desired or
// read, or "".
func (rf *refs) nameOf(id string) string {
	if rf.byID == nil {
		rf.byID = map[string]string{}
		for _, dk := range []*desiredKind{&rf.m.d.users, &rf.m.d.groups} {
			for _, o := range dk.objs {
				rf.byID[o.ID] = o.Name
			}
		}
	}
	if n, ok := rf.byID[id]; ok {
		return n
	}
	for _, k := range plan.Kinds {
		if o, ok := rf.m.cur[k][id]; ok && o.Name != "" {
			return o.Name
		}
	}
	return ""
}

// plan returns the refs as plans hold them.
func (rf *refs) plan() plan.Refs {
	return plan.Refs{Names: rf.names, Via: rf.via}
}
