package plan

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ldapply/ldapply/internal/arena"
)

// Change is one planned operation on one target object.
//
// Before is the object as the target showed it at plan time (nil for
// Create; for Delete of an object already gone from the target, a stub
// built from the state's binding with an empty Version). After is the
// desired object (nil for Delete). A target's Apply builds the request
// it sends from these (the managed values exactly as After has them) and
// from what it reads from the target at apply time: a plan holds no
// request body.
type Change struct {
	Action Action  `json:"action"`
	Kind   Kind    `json:"kind"`
	Key    string  `json:"key"`
	ID     string  `json:"id"`
	Before *Object `json:"before,omitempty"`
	After  *Object `json:"after,omitempty"`
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
	dx := newDiffIndex(in)
	changes, problems := dx.desired(in)
	changes = append(changes, dx.deletes(in.Bindings)...)
	if len(problems) > 0 {
		slices.Sort(problems)
		return nil, &ConflictError{Problems: problems}
	}
	Sort(changes)
	return changes, nil
}

// diffIndex is Diff's index of both sides, by kind.
//
// At 100,000 users the work is map operations, each a few misses of the
// processor's caches: one table per kind finds a current object by id
// and records which desired object took that id (one lookup for both),
// and a key seen twice is found by the set's length, not by a lookup
// before each insert. The maps are made at their final size: a map of
// 100,000 entries grown step by step moves its entries into a larger
// table at every growth and leaves the old tables to the collector
// (BenchmarkDiffInSync measures it).
type diffIndex struct {
	kinds    map[Kind]*diffKind
	newSlots arena.Slab[idSlot] // ids only the desired side has
}

func newDiffIndex(in Input) *diffIndex {
	dx := &diffIndex{kinds: map[Kind]*diffKind{}}
	for _, o := range in.Current {
		dx.kind(o.Kind, in.Bindings).nCurrent++
	}
	for _, d := range in.Desired {
		dx.kind(d.Kind, in.Bindings).nDesired++
	}
	slots := make([]idSlot, len(in.Current))
	for i, o := range in.Current {
		dk := dx.kinds[o.Kind]
		if dk.byID == nil {
			dk.byID = make(map[string]*idSlot, max(dk.nCurrent, dk.nDesired))
		}
		slots[i].cur = o
		dk.byID[o.ID] = &slots[i] // of two with one id, the last
	}
	return dx
}

func (dx *diffIndex) kind(k Kind, bs Bindings) *diffKind {
	dk := dx.kinds[k]
	if dk == nil {
		dk = &diffKind{kind: k, bound: bs[k]}
		dx.kinds[k] = dk
	}
	return dk
}

// desired returns the change each desired object needs, NoOps left out,
// and the problems that keep objects from being planned.
func (dx *diffIndex) desired(in Input) (changes []Change, problems []string) {
	var dk *diffKind
	for _, d := range in.Desired {
		if dk == nil || dk.kind != d.Kind {
			dk = dx.kinds[d.Kind]
			if dk.seenKey == nil {
				dk.seenKey = make(map[string]struct{}, dk.nDesired)
				if dk.byID == nil {
					dk.byID = make(map[string]*idSlot, dk.nDesired)
				}
			}
		}
		n := len(dk.seenKey)
		dk.seenKey[d.Key] = struct{}{}
		if len(dk.seenKey) == n {
			problems = append(problems, fmt.Sprintf("two source %ss have the primary key %q", d.Kind, d.Key))
			continue
		}
		after := d
		b, bound := dk.bound[d.Key]
		if bound {
			dk.seenBound++
			if b.ID != d.ID {
				cp := *d
				cp.ID = b.ID
				after = &cp
			}
		}
		slot := dk.byID[after.ID]
		if slot == nil {
			slot = dx.newSlots.New()
			dk.byID[after.ID] = slot
		}
		if slot.by != nil {
			problems = append(problems, fmt.Sprintf("source %ss %q and %q map to the same target id %s", d.Kind, slot.by.Name, after.Name, after.ID))
			continue
		}
		slot.by = after
		c, problem := dk.change(in.Bindings, d.Key, after, slot.cur, bound)
		if problem != "" {
			problems = append(problems, problem)
		} else if c.Action != NoOp {
			changes = append(changes, c)
		}
	}
	return changes, problems
}

// change classifies the change from cur (nil: none) to after.
func (dk *diffKind) change(bs Bindings, key string, after, cur *Object, bound bool) (Change, string) {
	c := Change{Kind: after.Kind, Key: key, ID: after.ID, After: after, Before: cur}
	switch {
	case cur == nil:
		c.Action = Create
	case !bound:
		if owner, ok := dk.boundID(bs, cur.ID); ok {
			return c, fmt.Sprintf("%s %q would take target id %s, which the state binds to key %q", after.Kind, after.Name, cur.ID, owner.Key)
		}
		c.Action = Adopt
	case cur.Name != after.Name:
		c.Action = Rename
	case !Equal(cur, after):
		c.Action = Update
	default:
		c.Action = NoOp
	}
	return c, ""
}

// deletes returns a delete for each binding no desired object took.
func (dx *diffIndex) deletes(bs Bindings) []Change {
	var changes []Change
	for _, k := range slices.Sorted(maps.Keys(bs)) {
		dk := dx.kind(k, bs)
		if dk.seenBound == len(dk.bound) {
			continue // every binding is desired: nothing to delete
		}
		for _, b := range dk.bound {
			if _, seen := dk.seenKey[b.Key]; seen {
				continue
			}
			var before *Object
			if slot := dk.byID[b.ID]; slot != nil {
				before = slot.cur
			}
			if before == nil {
				before = &Object{Kind: k, Key: b.Key, ID: b.ID, Name: b.Name}
			}
			changes = append(changes, Change{Action: Delete, Kind: k, Key: b.Key, ID: b.ID, Before: before})
		}
	}
	return changes
}

// diffKind is Diff's view of one kind.
type diffKind struct {
	kind               Kind
	nCurrent, nDesired int
	bound              map[string]Binding  // the state's, by key
	byID               map[string]*idSlot  // by target id
	seenKey            map[string]struct{} // the desired keys
	seenBound          int                 // distinct bound keys among the desired
	boundByID          map[string]Binding  // made on demand (see boundID)
}

// idSlot is one target id: the current object that has it (nil for
// none) and the desired object that took it (nil while none has).
type idSlot struct{ cur, by *Object }

// boundID returns the binding in bs of target id, if any. Only an
// adoption asks, which an in-sync plan makes none of: the index of
// 100,000 bindings by id is made on the first call.
func (dk *diffKind) boundID(bs Bindings, id string) (Binding, bool) {
	if dk.boundByID == nil {
		dk.boundByID = bs.ByID(dk.kind)
	}
	b, ok := dk.boundByID[id]
	return b, ok
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

// MergeList returns the list a change makes of a list the target holds
// now: now without what before holds, plus what after holds, sorted and
// never nil. before and after are a change's lists, whole (as plans make
// them: with now as the plan saw it, which apply's drift check proves,
// the result is after) or as their difference (before the values
// removed, after those added). Either way a value the target gained
// since the plan stays. Apply builds the lists it sends with it.
func MergeList(now, before, after []string) []string {
	out := make([]string, 0, len(now)+len(after))
	gone := make(map[string]bool, len(before))
	for _, id := range before {
		gone[id] = true
	}
	for _, id := range now {
		if !gone[id] {
			out = append(out, id)
		}
	}
	out = append(out, after...)
	slices.Sort(out)
	return slices.Compact(out)
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
