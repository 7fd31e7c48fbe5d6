package scim

import (
	"testing"

	"github.com/ldapply/ldapply/plan"
)

// TestOwnProgress: a group read again after a 412 is continued only
// when the change's own writes explain how it differs from the plan's
// before.
func TestOwnProgress(t *testing.T) {
	group := func(name, desc string, members ...string) *plan.Object {
		o := &plan.Object{Kind: plan.KindGroup, Name: name, Attrs: map[string]string{}, Lists: map[string][]string{listMembers: members}}
		if desc != "" {
			o.Attrs["description"] = desc
		}
		return o
	}
	c := &plan.Change{Action: plan.Update, Kind: plan.KindGroup,
		Before: group("dev", "old", "carol", "dave", "erin"),
		After:  group("dev", "new", "alice", "bob", "carol")}
	for _, tc := range []struct {
		name string
		now  *plan.Object
		want bool
	}{
		{"as before", group("dev", "old", "carol", "dave", "erin"), true},
		{"attributes and a first chunk", group("dev", "new", "carol", "erin", "alice"), true},
		{"all but the last chunk", group("dev", "new", "carol", "alice", "bob", "erin"), true},
		{"a member added by someone else", group("dev", "new", "carol", "dave", "erin", "mallory"), false},
		{"a kept member removed by someone else", group("dev", "new", "dave", "erin"), false},
		{"another description", group("dev", "third", "carol", "dave", "erin"), false},
		{"renamed by someone else", group("developers", "old", "carol", "dave", "erin"), false},
	} {
		if got := ownProgress(tc.now, c); got != tc.want {
			t.Errorf("%s: ownProgress = %v, want %v", tc.name, got, tc.want)
		}
	}
}
