package planner

import (
	"github.com/ldapply/ldapply/plan"
)

// drafted is the desired side of a plan, drafted from the directory
// alone.
type drafted struct {
	users, groups desiredKind
	// members holds, by desired group, its member users as ranks in
	// users.byID, sorted; via names, by the same group, the nested group
	// a member came through (nil when none did).
	members [][]int32
	via     []map[int32]string
	// unresolved holds, by desired group, the numbers (in the table of
	// its entry's Members) of its member DNs that match no entry read.
	unresolved [][]uint32
	// nested holds, by desired group, its member groups as indexes into
	// groups.objs (Membership.Groups only).
	nested [][]int32
	// byID orders the desired users by id, and rank is the inverse: a
	// member is a rank, so a group's list sorts as integers and is
	// written out in id order.
	byID, rank []int32
	// held names, by kind, the keys of managed objects the target cannot
	// store as the directory has them now: the plan leaves them as they
	// are.
	held     map[plan.Kind][]string
	warnings []string
	problems []string
}

func (d *drafted) kind(k plan.Kind) *desiredKind {
	if k == plan.KindUser {
		return &d.users
	}
	return &d.groups
}

// objects returns the desired objects, users first.
func (d *drafted) objects() []*plan.Object {
	return append(append(make([]*plan.Object, 0, len(d.users.objs)+len(d.groups.objs)), d.users.objs...), d.groups.objs...)
}

// draft maps dir's users and groups to desired objects and their
// members.
func draft(t Target, r *Rules, dir *plan.Directory, bindings plan.Bindings) (*drafted, error) {
	d := &drafted{}
	users, err := d.desire(t, r, plan.KindUser, dir.Users, bindings)
	if err != nil {
		return nil, err
	}
	groups, err := d.desire(t, r, plan.KindGroup, dir.Groups, bindings)
	if err != nil {
		return nil, err
	}
	d.byID, d.rank = ranks(d.users.objs)
	d.collectMembers(r.Members, newResolver(dir, users, groups))
	return d, nil
}

// desire drafts the objects of kind k from entries and returns, for
// each entry, the index of its object in d.kind(k).objs, or -1.
func (d *drafted) desire(t Target, r *Rules, k plan.Kind, entries []*plan.Entry, bindings plan.Bindings) ([]int32, error) {
	dk := d.kind(k)
	dk.byName = make(map[string]int, len(entries))
	dk.objs = make([]*plan.Object, 0, len(entries))
	at := make([]int32, len(entries))
	checksName := r.Limits.Field(k, "name") != nil
	for i, e := range entries {
		at[i] = -1
		o, warn, err := t.Desire(k, e)
		if err != nil {
			return nil, err
		}
		if o == nil {
			if warn != "" {
				d.warnings = append(d.warnings, warn)
			}
			continue
		}
		if v, ok := r.Limits.Check(k, fields(o, checksName)); !ok {
			_, managed := bindings[k][e.Key]
			if managed {
				if d.held == nil {
					d.held = map[plan.Kind][]string{}
				}
				d.held[k] = append(d.held[k], e.Key)
			}
			d.warnings = append(d.warnings, v.Warning(k, e.DN, r.Target, managed))
			continue
		}
		if other, dup := dk.byName[lower(o.Name)]; dup {
			d.problems = append(d.problems, duplicate(r, k, dk.entries[other].DN, e.DN, o.Name))
			continue
		}
		o.Kind, o.Key = k, e.Key
		if b, ok := bindings[k][e.Key]; ok {
			o.ID = b.ID
		} else {
			o.ID = t.NewID(k, e.Key, o.Name)
		}
		at[i] = int32(len(dk.objs))
		dk.add(o, e)
	}
	return at, nil
}
