package plan

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Change is one planned operation on one target object.
//
// Before is the object as the target showed it at plan time (nil for
// Create; for Delete of an object already gone from the target, a stub
// built from the state's binding with an empty Version). After is the
// desired object (nil for Delete). Payload is the exact request body apply
// sends, built by the provider at plan time; it is empty for Delete and
// for an Adopt that only records a binding.
type Change struct {
	Action  Action          `json:"action"`
	Kind    Kind            `json:"kind"`
	Key     string          `json:"key"`
	ID      string          `json:"id"`
	Before  *Object         `json:"before,omitempty"`
	After   *Object         `json:"after,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Name returns the change's display name: the new name when there is one.
func (c *Change) Name() string {
	if c.After != nil {
		return c.After.Name
	}
	if c.Before != nil {
		return c.Before.Name
	}
	return c.ID
}

// Binding returns the state binding apply records when c succeeds.
func (c *Change) Binding() Binding {
	return Binding{Kind: c.Kind, Key: c.Key, ID: c.ID, Name: c.Name()}
}

// Input is everything Diff compares, for one kind or for several.
type Input struct {
	// Desired holds the objects the source asks for, with Key, Name,
	// Attrs and Lists set and ID set to the id the provider derives for a
	// new object. Diff replaces ID with the bound id when a binding
	// exists.
	Desired []*Object
	// Current holds every object the target has of the kinds concerned,
	// managed or not, with ID and Version set.
	Current []*Object
	// Bindings is the state's key map.
	Bindings Bindings
}

// ConflictError reports desired objects that cannot be planned.
type ConflictError struct{ Problems []string }

func (e *ConflictError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0]
	}
	return fmt.Sprintf("%d conflicts:\n  %s", len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// Diff compares desired and current objects and returns the changes that
// make the target match, NoOps left out, sorted by kind, then action order
// (see [Order]), then name.
//
// Only bound objects (in the state) are updated or deleted. A desired
// object without a binding whose derived id already exists in the target
// is adopted; an unbound current object is otherwise never touched.
func Diff(in Input) ([]Change, error) {
	// The maps are made at their final size: growing maps of 100,000
	// entries step by step cost an in-sync diff a third of its memory
	// and an eighth of its time (BenchmarkDiffInSync).
	count := func(objs []*Object) map[Kind]int {
		n := map[Kind]int{}
		for _, o := range objs {
			n[o.Kind]++
		}
		return n
	}
	nCurrent, nDesired := count(in.Current), count(in.Desired)
	current := make(map[Kind]map[string]*Object, len(nCurrent))
	for _, o := range in.Current {
		m := current[o.Kind]
		if m == nil {
			m = make(map[string]*Object, nCurrent[o.Kind])
			current[o.Kind] = m
		}
		m[o.ID] = o
	}
	var problems []string
	// The state's bindings by id are needed only to refuse an adoption
	// of a bound id, which an in-sync plan never makes: built on demand.
	boundIDs := map[Kind]map[string]Binding{}
	boundID := func(k Kind, id string) (Binding, bool) {
		m, ok := boundIDs[k]
		if !ok {
			m = in.Bindings.ByID(k)
			boundIDs[k] = m
		}
		b, ok := m[id]
		return b, ok
	}
	seenKey := map[Kind]map[string]bool{}
	seenID := map[Kind]map[string]string{}
	seenBound := map[Kind]int{} // distinct bound keys among the desired
	var changes []Change
	for _, d := range in.Desired {
		if seenKey[d.Kind] == nil {
			seenKey[d.Kind], seenID[d.Kind] = make(map[string]bool, nDesired[d.Kind]), make(map[string]string, nDesired[d.Kind])
		}
		if seenKey[d.Kind][d.Key] {
			problems = append(problems, fmt.Sprintf("two source %ss have the primary key %q", d.Kind, d.Key))
			continue
		}
		seenKey[d.Kind][d.Key] = true
		after := d
		b, bound := in.Bindings[d.Kind][d.Key]
		if bound {
			seenBound[d.Kind]++
			if b.ID != d.ID {
				cp := *d
				cp.ID = b.ID
				after = &cp
			}
		}
		if other, dup := seenID[d.Kind][after.ID]; dup {
			problems = append(problems, fmt.Sprintf("source %ss %q and %q map to the same target id %s", d.Kind, other, after.Name, after.ID))
			continue
		}
		seenID[d.Kind][after.ID] = after.Name
		cur := current[d.Kind][after.ID]
		c := Change{Kind: d.Kind, Key: d.Key, ID: after.ID, After: after, Before: cur}
		switch {
		case cur == nil:
			c.Action = Create
		case !bound:
			if owner, ok := boundID(d.Kind, cur.ID); ok {
				problems = append(problems, fmt.Sprintf("%s %q would take target id %s, which the state binds to key %q", d.Kind, after.Name, cur.ID, owner.Key))
				continue
			}
			c.Action = Adopt
		case cur.Name != after.Name:
			c.Action = Rename
		case !Equal(cur, after):
			c.Action = Update
		default:
			c.Action = NoOp
		}
		if c.Action != NoOp {
			changes = append(changes, c)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(in.Bindings)) {
		if seenBound[k] == len(in.Bindings[k]) {
			continue // every binding is desired: nothing to delete
		}
		for _, b := range in.Bindings[k] {
			if seenKey[k][b.Key] {
				continue
			}
			before := current[k][b.ID]
			if before == nil {
				before = &Object{Kind: k, Key: b.Key, ID: b.ID, Name: b.Name}
			}
			changes = append(changes, Change{Action: Delete, Kind: k, Key: b.Key, ID: b.ID, Before: before})
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return nil, &ConflictError{Problems: problems}
	}
	Sort(changes)
	return changes, nil
}

// Equal reports whether a and b agree on every managed attribute and list.
// Names are compared too; ids and versions are not.
func Equal(a, b *Object) bool {
	// Called for every object of an in-sync plan: compare without
	// building the AttrChanges list.
	if a.Name != b.Name || !maps.Equal(a.Attrs, b.Attrs) {
		return false
	}
	for name, al := range a.Lists {
		if bl := b.Lists[name]; !slices.Equal(al, bl) {
			if added, removed := setDiff(al, bl); len(added)+len(removed) > 0 {
				return false
			}
		}
	}
	for name, bl := range b.Lists {
		if _, ok := a.Lists[name]; !ok && len(bl) > 0 {
			return false
		}
	}
	return true
}

// actionRank orders actions inside one kind for display and apply.
func actionRank(a Action) int {
	return strings.IndexRune("+&>~-=", rune(a))
}

// Sort orders changes by kind (users first), action, then name, then key.
func Sort(cs []Change) {
	kindRank := func(k Kind) int {
		if i := slices.Index(Kinds, k); i >= 0 {
			return i
		}
		return len(Kinds)
	}
	slices.SortStableFunc(cs, func(a, b Change) int {
		return cmp.Or(
			cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)),
			cmp.Compare(actionRank(a.Action), actionRank(b.Action)),
			cmp.Compare(a.Name(), b.Name()),
			cmp.Compare(a.Key, b.Key),
		)
	})
}

// AttrChange is the difference in one attribute or list between two
// versions of an object.
type AttrChange struct {
	Name string
	// Old and New are the scalar values; HadOld/HasNew say whether the
	// attribute was set at all.
	Old, New       string
	HadOld, HasNew bool
	// List is true for a multi-valued attribute; Added and Removed are
	// then its set differences (sorted).
	List           bool
	Added, Removed []string
	Sensitive      bool
}

// AttrChanges lists the attribute differences from before to after, sorted
// by name. Either may be nil (create, delete).
func AttrChanges(before, after *Object) []AttrChange {
	var bA, aA map[string]string
	var bL, aL map[string][]string
	var sens []string
	if before != nil {
		bA, bL = before.Attrs, before.Lists
		sens = append(sens, before.Sensitive...)
	}
	if after != nil {
		aA, aL = after.Attrs, after.Lists
		sens = append(sens, after.Sensitive...)
	}
	var out []AttrChange
	for _, name := range unionKeys(bA, aA) {
		o, hadO := bA[name]
		n, hasN := aA[name]
		if hadO == hasN && o == n {
			continue
		}
		out = append(out, AttrChange{Name: name, Old: o, New: n, HadOld: hadO, HasNew: hasN, Sensitive: slices.Contains(sens, name)})
	}
	for _, name := range unionKeys(bL, aL) {
		added, removed := setDiff(bL[name], aL[name])
		if len(added) == 0 && len(removed) == 0 {
			continue
		}
		_, hadO := bL[name]
		_, hasN := aL[name]
		out = append(out, AttrChange{Name: name, List: true, Added: added, Removed: removed, HadOld: hadO, HasNew: hasN, Sensitive: slices.Contains(sens, name)})
	}
	slices.SortFunc(out, func(a, b AttrChange) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

func unionKeys[V any](a, b map[string]V) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// setDiff returns the values in b not in a (added) and in a not in b
// (removed), each sorted and without duplicates.
func setDiff(a, b []string) (added, removed []string) {
	if slices.Equal(a, b) {
		return nil, nil
	}
	if slices.IsSorted(a) && slices.IsSorted(b) {
		// Providers keep lists sorted: merge without maps.
		i, j := 0, 0
		for i < len(a) || j < len(b) {
			switch {
			case j == len(b) || (i < len(a) && a[i] < b[j]):
				if len(removed) == 0 || removed[len(removed)-1] != a[i] {
					removed = append(removed, a[i])
				}
				i++
			case i == len(a) || b[j] < a[i]:
				if len(added) == 0 || added[len(added)-1] != b[j] {
					added = append(added, b[j])
				}
				j++
			default:
				v := a[i]
				for i < len(a) && a[i] == v {
					i++
				}
				for j < len(b) && b[j] == v {
					j++
				}
			}
		}
		return added, removed
	}
	inA := make(map[string]bool, len(a))
	for _, v := range a {
		inA[v] = true
	}
	inB := make(map[string]bool, len(b))
	for _, v := range b {
		inB[v] = true
	}
	for v := range inB {
		if !inA[v] {
			added = append(added, v)
		}
	}
	for v := range inA {
		if !inB[v] {
			removed = append(removed, v)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}
