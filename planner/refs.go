package planner

import (
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
