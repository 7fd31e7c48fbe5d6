package planfile

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/ldapply/ldapply/plan"
)

// fileChange is a [plan.Change] as a plan file line holds it.
type fileChange struct {
	Action plan.Action `json:"action"`
	Kind   plan.Kind   `json:"kind"`
	Key    string      `json:"key"`
	ID     string      `json:"id"`
	Before *fileObject `json:"before,omitempty"`
	After  *fileObject `json:"after,omitempty"`
}

// fileObject is a [plan.Object] as a plan file holds it: a list in
// ListRefs or ListDiffs is not in Lists.
type fileObject struct {
	plan.Object
	ListRefs  map[string]*listRefs `json:"list_refs,omitempty"`
	ListDiffs map[string]*listDiff `json:"list_diffs,omitempty"`
}

// listRefs is a list whose values include ids of earlier changes.
type listRefs struct {
	// Refs are the list's values in order: n >= 0 is the id of change n
	// (0 is the first change in the file), and -k is Others[k-1]. It is
	// never empty, and names each of Others once, in order.
	Refs refNumbers `json:"refs"`
	// Others are the list's values that are not ids of earlier changes.
	Others []string `json:"others,omitempty"`
}

// listDiff is a list of a change's Before, stored against the same
// list of its After: the values After adds and those it removes.
type listDiff struct {
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
}

// lineEncoder makes the lines of changes in file order.
type lineEncoder struct {
	ids map[string]int // id -> number of the first change with it
	n   int            // the number of the change being made: refs are to changes before it
}

// add records that the change being made has id.
func (e *lineEncoder) add(id string) {
	if _, dup := e.ids[id]; !dup {
		e.ids[id] = e.n
	}
	e.n++
}

// fileChange returns c as the file stores it; c is not modified.
func (e *lineEncoder) fileChange(c *plan.Change) *fileChange {
	fc := &fileChange{Action: c.Action, Kind: c.Kind, Key: c.Key, ID: c.ID, After: e.fileObject(c.After)}
	switch b := c.Before; {
	case b == nil:
	case c.Action == plan.Delete:
		o := *b
		o.Lists = nil
		fc.Before = &fileObject{Object: o}
	case c.After != nil:
		fc.Before = listDiffs(b, c.After)
	default:
		fc.Before = e.fileObject(b)
	}
	return fc
}

// fileObject returns o with each list that refers to earlier changes
// moved to ListRefs; o is not modified.
func (e *lineEncoder) fileObject(o *plan.Object) *fileObject {
	if o == nil {
		return nil
	}
	fo := &fileObject{Object: *o}
	for name, list := range o.Lists {
		r := e.listRefs(list)
		if r == nil {
			continue
		}
		if fo.ListRefs == nil {
			fo.ListRefs = map[string]*listRefs{}
			fo.Lists = maps.Clone(o.Lists)
		}
		fo.ListRefs[name] = r
		delete(fo.Lists, name)
	}
	return fo
}

// listRefs returns list as references to the earlier changes whose ids it
// holds, or nil when it holds none.
func (e *lineEncoder) listRefs(list []string) *listRefs {
	if e.n == 0 {
		return nil
	}
	r := listRefs{Refs: make([]int, 0, len(list))}
	for _, v := range list {
		if n, ok := e.ids[v]; ok && n < e.n {
			r.Refs = append(r.Refs, n)
		} else {
			r.Others = append(r.Others, v)
			r.Refs = append(r.Refs, -len(r.Others))
		}
	}
	if len(r.Others) == len(list) {
		return nil
	}
	return &r
}

// listDiffs returns before with each of its lists stored as its
// difference from after's list of that name.
func listDiffs(before, after *plan.Object) *fileObject {
	fo := &fileObject{Object: *before}
	fo.Lists = nil
	if len(before.Lists) == 0 {
		return fo
	}
	fo.ListDiffs = make(map[string]*listDiff, len(before.Lists))
	for name := range before.Lists {
		fo.ListDiffs[name] = &listDiff{}
	}
	for _, a := range plan.AttrChanges(&plan.Object{Lists: before.Lists}, &plan.Object{Lists: after.Lists}) {
		if d := fo.ListDiffs[a.Name]; d != nil {
			d.Added, d.Removed = a.Added, a.Removed
		}
	}
	return fo
}

// change returns the Change fc was written from; ids are those of the
// changes before it.
func (fc *fileChange) change(ids *earlierIDs) (*plan.Change, error) {
	c := &plan.Change{Action: fc.Action, Kind: fc.Kind, Key: fc.Key, ID: fc.ID}
	var err error
	if c.After, err = fc.After.object(ids); err != nil {
		return nil, fmt.Errorf("after: %w", err)
	}
	if fc.After != nil && len(fc.After.ListDiffs) > 0 {
		return nil, errors.New("after holds list_diffs, which only a before has")
	}
	if c.Before, err = fc.before(ids, c.After); err != nil {
		return nil, fmt.Errorf("before: %w", err)
	}
	return c, nil
}

// before returns the Before fc was written from, whose lists, when fc
// has an After, are stored as differences from after's.
func (fc *fileChange) before(ids *earlierIDs, after *plan.Object) (*plan.Object, error) {
	fo := fc.Before
	switch {
	case fo == nil:
		return nil, nil
	case after == nil || fc.Action == plan.Delete:
		if len(fo.ListDiffs) > 0 {
			return nil, errors.New("list_diffs without an after to restore them from")
		}
		if fc.Action == plan.Delete && (len(fo.Lists) > 0 || len(fo.ListRefs) > 0) {
			return nil, errors.New("a delete's before holds lists")
		}
		return fo.object(ids)
	case len(fo.Lists) > 0 || len(fo.ListRefs) > 0:
		return nil, errors.New("lists stored otherwise than as list_diffs")
	}
	o := &fo.Object
	if len(fo.ListDiffs) > 0 {
		o.Lists = make(map[string][]string, len(fo.ListDiffs))
		for name, d := range fo.ListDiffs {
			o.Lists[name] = d.before(after.Lists[name])
		}
	}
	fo.ListDiffs = nil
	return o, nil
}

// before returns the list whose difference from after d is, sorted.
func (d *listDiff) before(after []string) []string {
	if d == nil {
		d = &listDiff{}
	}
	added := make(map[string]bool, len(d.Added))
	for _, v := range d.Added {
		added[v] = true
	}
	list := make([]string, 0, len(after)+len(d.Removed))
	for _, v := range after {
		if !added[v] {
			list = append(list, v)
		}
	}
	list = append(list, d.Removed...)
	slices.Sort(list)
	return slices.Compact(list)
}

// object returns the Object fo was written from; ids are those of the
// changes before it.
func (fo *fileObject) object(ids *earlierIDs) (*plan.Object, error) {
	if fo == nil {
		return nil, nil
	}
	o := &fo.Object
	for _, name := range slices.Sorted(maps.Keys(fo.ListRefs)) {
		if _, dup := o.Lists[name]; dup {
			return nil, fmt.Errorf("the list %q is in both lists and list_refs", name)
		}
		list, err := fo.ListRefs[name].list(ids)
		if err != nil {
			return nil, fmt.Errorf("list_refs %q: %w", name, err)
		}
		if o.Lists == nil {
			o.Lists = map[string][]string{}
		}
		o.Lists[name] = list
	}
	fo.ListRefs = nil
	return o, nil
}

// list restores the list r stands for from the ids of the changes
// before its own.
func (r *listRefs) list(ids *earlierIDs) ([]string, error) {
	if r == nil || len(r.Refs) == 0 {
		return nil, errors.New("no refs")
	}
	list := make([]string, len(r.Refs))
	count, others := ids.len(), 0
	for i, n := range r.Refs {
		switch {
		case n >= count:
			return nil, fmt.Errorf("a ref past the %d changes before it", count)
		case n >= 0:
			list[i] = ids.at(n)
		case others == len(r.Others):
			return nil, fmt.Errorf("the ref %d names a value past the %d others", n, len(r.Others))
		case n != -others-1:
			return nil, fmt.Errorf("the ref %d is out of order: the next of others is %d", n, -others-1)
		default:
			list[i] = r.Others[others]
			others++
		}
	}
	if others < len(r.Others) {
		return nil, fmt.Errorf("the refs name %d of its %d others", others, len(r.Others))
	}
	return list, nil
}
