package plan_test

import (
	"slices"
	"testing"

	"github.com/ldapply/ldapply/plan"
)

// TestDNs checks a list's reads against the DNs it was made of, and
// that lists of one table share it.
func TestDNs(t *testing.T) {
	var zero plan.DNs
	if zero.Len() != 0 || len(zero.Strings()) != 0 {
		t.Errorf("the zero DNs has %d DNs", zero.Len())
	}
	want := []string{"cn=dev,ou=groups", "uid=alice,ou=people", "uid=bob,ou=people"}
	l := plan.NewDNs(want...)
	if l.Len() != 3 || l.At(1) != want[1] {
		t.Errorf("Len %d, At(1) %q; want 3, %q", l.Len(), l.At(1), want[1])
	}
	if got := l.Strings(); !slices.Equal(got, want) {
		t.Errorf("Strings() = %q, want %q", got, want)
	}
	var first []string
	for dn := range l.All() {
		first = append(first, dn)
		break
	}
	if !slices.Equal(first, want[:1]) {
		t.Errorf("All stopped early gave %q", first)
	}
	var tab plan.DNTable
	a, b := tab.Add("uid=a"), tab.Add("uid=b")
	one, two := tab.List([]uint32{b, a}), tab.List([]uint32{a})
	tab.Add("uid=c") // added after the lists were made: they still read
	if !slices.Equal(one.Strings(), []string{"uid=b", "uid=a"}) || two.At(0) != "uid=a" || tab.At(2) != "uid=c" {
		t.Errorf("lists of one table read %q and %q", one.Strings(), two.Strings())
	}
}

// TestMergeList: a change's lists, whole or as their difference, make
// the same list of what the target holds now, and a value the target
// gained since the plan stays.
func TestMergeList(t *testing.T) {
	now := []string{"a", "b", "hand"} // hand was added since the plan
	whole := plan.MergeList(now, []string{"a", "b"}, []string{"b", "c"})
	diff := plan.MergeList(now, []string{"a"}, []string{"c"})
	want := []string{"b", "c", "hand"}
	if !slices.Equal(whole, want) || !slices.Equal(diff, want) {
		t.Errorf("whole lists made %q, differences %q; want %q", whole, diff, want)
	}
	if got := plan.MergeList(nil, nil, nil); got == nil || len(got) != 0 {
		t.Errorf("MergeList of nothing = %#v, want an empty list", got)
	}
}
