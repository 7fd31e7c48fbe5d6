package plan_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ldapply/ldapply/plan"
)

// TestDiffMatchesReference compares Diff with referenceDiff, the
// implementation it replaced (one map lookup before each insert, a map
// of current objects and one of seen ids), on random inputs of both
// kinds with everything Diff must tell apart: creates, adoptions,
// renames, updates, no-ops, deletes of objects present and gone, keys
// and ids taken twice, adoptions of a bound id, and current objects
// that share an id. The changes, or the problems, must be the same.
func TestDiffMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for round := range 3000 {
		in := randomDiffInput(r)
		want, wantErr := referenceDiff(in)
		got, gotErr := plan.Diff(in)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("round %d: Diff's error %v, the reference's %v", round, gotErr, wantErr)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("round %d: Diff differs from the reference (-want +got):\n%s", round, d)
		}
	}
}

// randomDiffInput draws a small Input: few names, keys and ids, so that
// they collide often.
func randomDiffInput(r *rand.Rand) plan.Input {
	kinds := []plan.Kind{plan.KindUser, plan.KindGroup}
	pick := func(prefix string, n int) string { return fmt.Sprintf("%s%d", prefix, r.IntN(n)) }
	obj := func(key string) *plan.Object {
		o := &plan.Object{Kind: kinds[r.IntN(2)], Key: key, ID: pick("id", 8), Name: pick("n", 4)}
		if r.IntN(2) == 0 {
			o.Attrs = map[string]string{"email": pick("m", 2)}
		}
		if r.IntN(3) == 0 {
			o.Lists = map[string][]string{"members": {pick("u", 3), pick("u", 3)}}
			slices.Sort(o.Lists["members"])
		}
		return o
	}
	in := plan.Input{Bindings: plan.Bindings{}}
	for range r.IntN(8) {
		in.Desired = append(in.Desired, obj(pick("k", 8)))
	}
	for range r.IntN(8) {
		c := obj("")
		c.Version = pick("v", 3)
		in.Current = append(in.Current, c)
	}
	// A state binds an id once per kind (which of two would answer for
	// it is up to map order, in both implementations).
	boundIDs := map[plan.Kind]map[string]bool{plan.KindUser: {}, plan.KindGroup: {}}
	for range r.IntN(8) {
		b := plan.Binding{Kind: kinds[r.IntN(2)], Key: pick("k", 8), ID: pick("id", 8), Name: pick("n", 4)}
		if old, ok := in.Bindings[b.Kind][b.Key]; ok {
			delete(boundIDs[b.Kind], old.ID)
		}
		if !boundIDs[b.Kind][b.ID] {
			boundIDs[b.Kind][b.ID] = true
			in.Bindings.Add(b)
		}
	}
	if r.IntN(10) == 0 {
		in.Bindings = nil
	}

	return in
}

// referenceDiff is Diff as it was before its maps were merged.
func referenceDiff(in plan.Input) ([]plan.Change, error) {
	// The maps are made at their final size, as Diff's are: a map of
	// 100,000 entries grown step by step moves its entries into a
	// larger table at every growth (BenchmarkDiffInSync).
	count := func(objs []*plan.Object) map[plan.Kind]int {
		n := map[plan.Kind]int{}
		for _, o := range objs {
			n[o.Kind]++
		}
		return n
	}
	nCurrent, nDesired := count(in.Current), count(in.Desired)
	current := make(map[plan.Kind]map[string]*plan.Object, len(nCurrent))
	for _, o := range in.Current {
		m := current[o.Kind]
		if m == nil {
			m = make(map[string]*plan.Object, nCurrent[o.Kind])
			current[o.Kind] = m
		}
		m[o.ID] = o
	}
	var problems []string
	// The state's bindings by id are needed only to refuse an adoption
	// of a bound id, which an in-sync plan never makes: built on demand.
	boundIDs := map[plan.Kind]map[string]plan.Binding{}
	boundID := func(k plan.Kind, id string) (plan.Binding, bool) {
		m, ok := boundIDs[k]
		if !ok {
			m = in.Bindings.ByID(k)
			boundIDs[k] = m
		}
		b, ok := m[id]
		return b, ok
	}
	seenKey := map[plan.Kind]map[string]bool{}
	seenID := map[plan.Kind]map[string]string{}
	seenBound := map[plan.Kind]int{} // distinct bound keys among the desired
	var changes []plan.Change
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
		c := plan.Change{Kind: d.Kind, Key: d.Key, ID: after.ID, After: after, Before: cur}
		switch {
		case cur == nil:
			c.Action = plan.Create
		case !bound:
			if owner, ok := boundID(d.Kind, cur.ID); ok {
				problems = append(problems, fmt.Sprintf("%s %q would take target id %s, which the state binds to key %q", d.Kind, after.Name, cur.ID, owner.Key))
				continue
			}
			c.Action = plan.Adopt
		case cur.Name != after.Name:
			c.Action = plan.Rename
		case !plan.Equal(cur, after):
			c.Action = plan.Update
		default:
			c.Action = plan.NoOp
		}
		if c.Action != plan.NoOp {
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
				before = &plan.Object{Kind: k, Key: b.Key, ID: b.ID, Name: b.Name}
			}
			changes = append(changes, plan.Change{Action: plan.Delete, Kind: k, Key: b.Key, ID: b.ID, Before: before})
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return nil, &plan.ConflictError{Problems: problems}
	}
	plan.Sort(changes)
	return changes, nil
}
