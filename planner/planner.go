package planner

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/limits"
)

// Target is what the planner asks of a target: what only the target
// knows. Everything else (ownership, adoption, names, members, refs) is
// the planner's.
type Target interface {
	// Desire maps the source entry e to the object of kind k the target
	// should hold, with Name, Attrs and Sensitive set; the planner sets
	// Kind, Key, ID and the member lists. A nil object leaves the entry
	// out of the plan, and warn, when not "", tells the reviewer why.
	Desire(k plan.Kind, e *plan.Entry) (o *plan.Object, warn string, err error)
	// NewID returns the target id an object of kind k gets when it is
	// created for the source entry with key and name.
	NewID(k plan.Kind, key, name string) string
	// Current returns what the target holds now. The planner calls it
	// once the desired side is drafted, so that a read the target
	// started earlier overlaps the drafting.
	Current(ctx context.Context) (*Current, error)
	// SetVersions sets the Version of each object in objs, all from
	// Current: the objects the plan's changes touch. Versions are asked
	// for these alone because an in-sync plan of a large target touches
	// none, and hashing every object read would cost as much as reading.
	SetVersions(objs []*plan.Object)
}

// Current is what a target holds.
type Current struct {
	// Objects holds every object of both kinds, managed or not, with ID,
	// Name and the managed Attrs and Lists set. A group's member lists
	// are sorted and hold the members' target ids; a member the target
	// cannot name by id (a DN outside its scope) is held as it is, and
	// kept, since ldapply does not manage it.
	Objects []*plan.Object
	// Counts are added to the plan's counts ("target contacts": 12).
	Counts map[string]int
}

// Rules is what a target declares, as data, about the objects it holds.
type Rules struct {
	// Target names the target in messages: "Icinga", "UCS".
	Target string
	// NameField names, by kind, the target field an object's Name is
	// stored in ("username"), for messages.
	NameField map[plan.Kind]string
	// Limits are the target's field limits: a desired object that
	// breaks one is left out, or held when it is managed.
	Limits limits.Table
	// Members says how the target holds a group's members.
	Members Membership
	// SharedNames lists the kinds whose names an object ldapply does not
	// manage may also have: the plan warns instead of refusing.
	SharedNames []plan.Kind
	// CreateOnly names attributes sent when an object is created and
	// never compared afterwards (a password the target does not return).
	CreateOnly []string
	// Unmanaged names an object ldapply does not manage for a message,
	// and says how to free its name: ("Icinga contact 1f…", "rename or
	// delete that contact in Icinga").
	Unmanaged func(o *plan.Object) (who, fix string)
}

// Membership says where a target keeps a group's members.
type Membership struct {
	// Users is the list of a group that holds its member users' ids.
	Users string
	// Groups is the list that holds its member groups' ids. When it is
	// "", nested groups are flattened: a nested group's users are
	// members of every group that holds it, and the plan shows which
	// nested group each came through.
	Groups string
}

// Plan computes the changes that make the target t hold what dir asks
// for, under the state's bindings. It fills Changes, Refs, Warnings and
// Counts of the plan it returns; the header is the caller's. dir and
// bindings are read, not changed.
func Plan(ctx context.Context, t Target, r *Rules, dir *plan.Directory, bindings plan.Bindings) (*plan.Plan, error) {
	d, err := draft(t, r, dir, bindings)
	if err != nil {
		return nil, err
	}
	cur, err := t.Current(ctx)
	if err != nil {
		return nil, err
	}
	res := &plan.Plan{Counts: map[string]int{
		"source users": len(dir.Users), "source groups": len(dir.Groups),
		"managed users": len(bindings[plan.KindUser]), "managed groups": len(bindings[plan.KindGroup]),
	}}
	for k, n := range cur.Counts {
		res.Counts[k] = n
	}
	bindings = limits.Without(bindings, d.held)
	m := match(d, r.Members, cur, bindings)
	m.keepUnmanagedMembers()
	m.dropCreateOnly(r.CreateOnly)
	problems := append(d.problems, m.takenNames(r, &d.warnings)...)
	changes, err := plan.Diff(plan.Input{Desired: d.objects(), Current: cur.Objects, Bindings: bindings})
	if len(problems) > 0 {
		// These come first: they say what to fix.
		slices.Sort(problems)
		return nil, &plan.ConflictError{Problems: problems}
	}
	if err != nil {
		return nil, err
	}
	t.SetVersions(m.touched(changes))
	res.Changes = changes
	res.Refs = m.refs(changes)
	res.Warnings = append(append(gone(r, changes, bindings), m.unresolvedWarnings(changes)...), d.warnings...)
	return res, nil
}

// goneNamed caps the names a warning about vanished objects lists.
const goneNamed = 5

// gone returns, by kind, a warning about the managed objects the target
// no longer has that the plan creates again: the state binds them, so
// someone deleted them outside ldapply, and the reviewer should know
// before approving what look like plain creates. Only a create asks; an
// in-sync plan has none.
func gone(r *Rules, changes []plan.Change, bindings plan.Bindings) []string {
	var out []string
	for _, k := range plan.Kinds {
		var names []string
		n := 0
		for i := range changes {
			c := &changes[i]
			if c.Action != plan.Create || c.Kind != k {
				continue
			}
			if _, bound := bindings[k][c.Key]; !bound {
				continue
			}
			if n++; n <= goneNamed {
				names = append(names, strconv.Quote(c.Name()))
			}
		}
		if n == 0 {
			continue
		}
		list := strings.Join(names, ", ")
		if n > len(names) {
			list += fmt.Sprintf(" and %d more", n-len(names))
		}
		what := fmt.Sprintf("1 managed %s was", k)
		if n != 1 {
			what = fmt.Sprintf("%d managed %ss were", n, k)
		}
		out = append(out, fmt.Sprintf("%s deleted outside ldapply: the state binds them, but %s no longer has them (%s); this plan creates them again. If that deletion was meant, take them out of the source instead", what, r.Target, list))
	}
	return out
}

// desiredKind is the desired side of one kind.
type desiredKind struct {
	objs    []*plan.Object
	entries []*plan.Entry  // the source entry of each of objs
	byName  map[string]int // lower-case name -> index in objs
}

func (dk *desiredKind) add(o *plan.Object, e *plan.Entry) {
	dk.byName[lower(o.Name)] = len(dk.objs)
	dk.objs = append(dk.objs, o)
	dk.entries = append(dk.entries, e)
}

// lower folds a name for comparison: target names are unique regardless
// of case.
func lower(s string) string { return strings.ToLower(s) }

// fields returns the values of o the limits check: its attributes, and
// its name as "name" when the limits have a field of that name.
func fields(o *plan.Object, checksName bool) map[string]string {
	if _, ok := o.Attrs["name"]; ok || !checksName {
		return o.Attrs
	}
	v := make(map[string]string, len(o.Attrs)+1)
	for k, a := range o.Attrs {
		v[k] = a
	}
	v["name"] = o.Name
	return v
}

// duplicate is the conflict of two source entries that map to one name.
func duplicate(r *Rules, k plan.Kind, dn1, dn2, name string) string {
	return fmt.Sprintf("source %ss %s and %s both map to %s %q; %s %s names are unique (case-insensitive): fix the directory or the mapping", k, dn1, dn2, r.NameField[k], name, r.Target, k)
}
