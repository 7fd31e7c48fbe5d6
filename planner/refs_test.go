package planner_test

import (
	"testing"

	"github.com/ldapply/ldapply/plan"
)

// TestRemovedMemberVia: a member who leaves a nested group leaves the
// groups it is nested in with it, and the plan says so, as it does for
// a member who joins through one; a member removed directly is named
// alone.
func TestRemovedMemberVia(t *testing.T) {
	d := (&dirBuilder{}).user("a", "alice").user("b", "bob").user("c", "carol").user("d", "dora").
		group("top", "top", "a", "g:dev").group("dev", "dev", "c").d
	f := &fake{cur: []*plan.Object{
		user("u-a", "alice", ""), user("u-b", "bob", ""), user("u-c", "carol", ""), user("u-d", "dora", ""),
		group("g-top", "top", map[string][]string{"members": {"u-a", "u-b", "u-c", "u-d"}}),
		group("g-dev", "dev", map[string][]string{"members": {"u-b", "u-c"}}),
	}}
	p := mustPlan(t, f, rules(flat), &d, bind("u:a=u-a", "u:b=u-b", "u:c=u-c", "u:d=u-d", "g:top=g-top", "g:dev=g-dev"))
	for _, tc := range []struct{ owner, id, want string }{
		{"g-top", "u-b", "bob (via dev)"},
		{"g-top", "u-c", "carol (via dev)"},
		{"g-top", "u-d", "dora"},
		{"g-dev", "u-b", "bob"},
	} {
		if got := p.Refs.Name(tc.owner, tc.id); got != tc.want {
			t.Errorf("%s in %s is named %q, want %q", tc.id, tc.owner, got, tc.want)
		}
	}
}
