package plan_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/ldapply/ldapply/plan"
)

func user(key, id, name string, attrs map[string]string) *plan.Object {
	return &plan.Object{Kind: plan.KindUser, Key: key, ID: id, Name: name, Attrs: attrs}
}

func group(key, id, name string, members ...string) *plan.Object {
	return &plan.Object{Kind: plan.KindGroup, Key: key, ID: id, Name: name, Lists: map[string][]string{"members": members}}
}

func bindings(bs ...plan.Binding) plan.Bindings {
	out := plan.Bindings{}
	for _, b := range bs {
		out.Add(b)
	}
	return out
}

type row struct {
	action plan.Action
	kind   plan.Kind
	id     string
	name   string
}

func summarize(cs []plan.Change) []row {
	var out []row
	for _, c := range cs {
		out = append(out, row{c.Action, c.Kind, c.ID, c.Name()})
	}
	return out
}

func TestDiff(t *testing.T) {
	mail := func(m string) map[string]string { return map[string]string{"email": m} }
	tests := map[string]struct {
		in   plan.Input
		want []row
	}{
		"create when nothing exists": {
			in:   plan.Input{Desired: []*plan.Object{user("k1", "u1", "alice", mail("a@x"))}},
			want: []row{{plan.Create, plan.KindUser, "u1", "alice"}},
		},
		"no-op when equal": {
			in: plan.Input{
				Desired:  []*plan.Object{user("k1", "u1", "alice", mail("a@x"))},
				Current:  []*plan.Object{user("", "u1", "alice", mail("a@x"))},
				Bindings: bindings(plan.Binding{Kind: plan.KindUser, Key: "k1", ID: "u1", Name: "alice"}),
			},
		},
		"update keeps the bound id even when the derived id differs": {
			in: plan.Input{
				Desired:  []*plan.Object{user("k1", "derived", "alice", mail("new@x"))},
				Current:  []*plan.Object{user("", "bound", "alice", mail("a@x"))},
				Bindings: bindings(plan.Binding{Kind: plan.KindUser, Key: "k1", ID: "bound", Name: "alice"}),
			},
			want: []row{{plan.Update, plan.KindUser, "bound", "alice"}},
		},
		"a changed name with the same key is a rename, not delete and create": {
			in: plan.Input{
				Desired:  []*plan.Object{user("k1", "u-new", "alice.smith", mail("a@x"))},
				Current:  []*plan.Object{user("", "u1", "alice", mail("a@x"))},
				Bindings: bindings(plan.Binding{Kind: plan.KindUser, Key: "k1", ID: "u1", Name: "alice"}),
			},
			want: []row{{plan.Rename, plan.KindUser, "u1", "alice.smith"}},
		},
		"unbound objects are never deleted": {
			in: plan.Input{
				Current: []*plan.Object{user("", "hand", "handmade", mail("h@x")), group("", "g-hand", "team")},
			},
		},
		"bound objects gone from the source are deleted, groups after users in kind order": {
			in: plan.Input{
				Current: []*plan.Object{user("", "u1", "bob", nil), group("", "g1", "ops")},
				Bindings: bindings(
					plan.Binding{Kind: plan.KindUser, Key: "k1", ID: "u1", Name: "bob"},
					plan.Binding{Kind: plan.KindGroup, Key: "k2", ID: "g1", Name: "ops"},
				),
			},
			want: []row{{plan.Delete, plan.KindUser, "u1", "bob"}, {plan.Delete, plan.KindGroup, "g1", "ops"}},
		},
		"a bound object gone from the source is deleted among new and kept ones": {
			in: plan.Input{
				Desired: []*plan.Object{user("k1", "u1", "alice", mail("a@x")), user("k3", "u3", "carol", mail("c@x"))},
				Current: []*plan.Object{user("", "u1", "alice", mail("a@x")), user("", "u2", "bob", nil)},
				Bindings: bindings(
					plan.Binding{Kind: plan.KindUser, Key: "k1", ID: "u1", Name: "alice"},
					plan.Binding{Kind: plan.KindUser, Key: "k2", ID: "u2", Name: "bob"},
				),
			},
			want: []row{{plan.Create, plan.KindUser, "u3", "carol"}, {plan.Delete, plan.KindUser, "u2", "bob"}},
		},
		"a bound object already gone from the target is still deleted (idempotent)": {
			in: plan.Input{
				Bindings: bindings(plan.Binding{Kind: plan.KindUser, Key: "k1", ID: "u1", Name: "bob"}),
			},
			want: []row{{plan.Delete, plan.KindUser, "u1", "bob"}},
		},
		"an object at the derived id but not in the state is adopted": {
			in: plan.Input{
				Desired: []*plan.Object{user("k1", "u1", "alice", mail("a@x"))},
				Current: []*plan.Object{user("", "u1", "alice", mail("a@x"))},
			},
			want: []row{{plan.Adopt, plan.KindUser, "u1", "alice"}},
		},
		"a bound object deleted by hand in the target is created again under its id": {
			in: plan.Input{
				Desired:  []*plan.Object{user("k1", "derived", "alice", mail("a@x"))},
				Bindings: bindings(plan.Binding{Kind: plan.KindUser, Key: "k1", ID: "u1", Name: "alice"}),
			},
			want: []row{{plan.Create, plan.KindUser, "u1", "alice"}},
		},
		"member changes are updates of the group": {
			in: plan.Input{
				Desired:  []*plan.Object{group("g", "g1", "ops", "u1", "u3")},
				Current:  []*plan.Object{group("", "g1", "ops", "u2", "u1")},
				Bindings: bindings(plan.Binding{Kind: plan.KindGroup, Key: "g", ID: "g1", Name: "ops"}),
			},
			want: []row{{plan.Update, plan.KindGroup, "g1", "ops"}},
		},
		"list order does not matter": {
			in: plan.Input{
				Desired:  []*plan.Object{group("g", "g1", "ops", "u1", "u2")},
				Current:  []*plan.Object{group("", "g1", "ops", "u2", "u1")},
				Bindings: bindings(plan.Binding{Kind: plan.KindGroup, Key: "g", ID: "g1", Name: "ops"}),
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := plan.Diff(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, summarize(got), cmp.AllowUnexported(row{})); d != "" {
				t.Errorf("changes (-want +got):\n%s", d)
			}
		})
	}
}

func TestDiffConflicts(t *testing.T) {
	tests := map[string]struct {
		in   plan.Input
		want string
	}{
		"duplicate key": {
			in:   plan.Input{Desired: []*plan.Object{user("k1", "u1", "a", nil), user("k1", "u2", "b", nil)}},
			want: `two source users have the primary key "k1"`,
		},
		"two keys on one id": {
			in:   plan.Input{Desired: []*plan.Object{user("k1", "u1", "a", nil), user("k2", "u1", "b", nil)}},
			want: `source users "a" and "b" map to the same target id u1`,
		},
		"derived id owned by another key": {
			in: plan.Input{
				Desired:  []*plan.Object{user("k2", "u1", "b", nil)},
				Current:  []*plan.Object{user("", "u1", "a", nil)},
				Bindings: bindings(plan.Binding{Kind: plan.KindUser, Key: "k1", ID: "u1", Name: "a"}),
			},
			want: `which the state binds to key "k1"`,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := plan.Diff(tt.in)
			var ce *plan.ConflictError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want a ConflictError containing %q", err, tt.want)
			}
		})
	}
}

func TestAttrChanges(t *testing.T) {
	before := &plan.Object{Attrs: map[string]string{"a": "1", "b": "2", "gone": "x"}, Lists: map[string][]string{"m": {"x", "y"}}}
	after := &plan.Object{Attrs: map[string]string{"a": "1", "b": "3", "new": "n"}, Lists: map[string][]string{"m": {"y", "z"}}}
	got := plan.AttrChanges(before, after)
	want := []plan.AttrChange{
		{Name: "b", Old: "2", New: "3", HadOld: true, HasNew: true},
		{Name: "gone", Old: "x", HadOld: true},
		{Name: "m", List: true, Added: []string{"z"}, Removed: []string{"x"}, HadOld: true, HasNew: true},
		{Name: "new", New: "n", HasNew: true},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("AttrChanges (-want +got):\n%s", d)
	}
}

func TestSetDiffSortedAndUnsortedAgree(t *testing.T) {
	for _, tc := range []struct{ a, b []string }{
		{[]string{"a", "b", "c"}, []string{"b", "c", "d"}},
		{[]string{"a", "a", "b"}, []string{"b", "b"}},
		{nil, []string{"x"}},
		{[]string{"x"}, nil},
		{[]string{"c", "a"}, []string{"a", "d"}},
	} {
		before := &plan.Object{Lists: map[string][]string{"m": tc.a}}
		after := &plan.Object{Lists: map[string][]string{"m": tc.b}}
		got := plan.AttrChanges(before, after)
		// Reference: the same lists shuffled into unsorted order go
		// through the map-based path.
		rev := func(s []string) []string {
			r := append([]string{}, s...)
			slices.Reverse(r)
			return append(r, r...) // duplicates, unsorted
		}
		ref := plan.AttrChanges(&plan.Object{Lists: map[string][]string{"m": rev(tc.a)}}, &plan.Object{Lists: map[string][]string{"m": rev(tc.b)}})
		if d := cmp.Diff(ref, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%v -> %v: sorted and unsorted paths differ:\n%s", tc.a, tc.b, d)
		}
	}
}

// TestEqualAgreesWithAttrChanges: Equal's fast comparison must say "equal"
// exactly when the names match and AttrChanges finds nothing.
func TestEqualAgreesWithAttrChanges(t *testing.T) {
	vals := []string{"", "a", "b"}
	lists := [][]string{nil, {}, {"x"}, {"x", "y"}, {"y", "x"}, {"x", "x"}}
	var objs []*plan.Object
	for _, name := range []string{"n", "m"} {
		for _, v := range vals {
			for _, l := range lists {
				o := &plan.Object{Name: name, Attrs: map[string]string{}, Lists: map[string][]string{}}
				if v != "" {
					o.Attrs["k"] = v
				}
				if v == "b" {
					o.Attrs["empty"] = ""
				}
				if l != nil {
					o.Lists["m"] = l
				}
				objs = append(objs, o)
			}
		}
	}
	for _, a := range objs {
		for _, b := range objs {
			want := a.Name == b.Name && len(plan.AttrChanges(a, b)) == 0
			if got := plan.Equal(a, b); got != want {
				t.Fatalf("Equal(%+v, %+v) = %v, want %v", a, b, got, want)
			}
		}
	}
}
