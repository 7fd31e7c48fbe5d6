package icinga

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/fixtures/icingasim"
	"github.com/ldapply/ldapply/plan"
)

// limitsDir is a directory of two users in one group: alice, and a user
// whose uid is uid.
func limitsDir(uid string) *plan.Directory {
	user := func(key, uid string) *plan.Entry {
		dn := "uid=" + key + ",ou=people,dc=example,dc=com"
		return &plan.Entry{DN: dn, NormDN: dn, Key: key, Attrs: map[string][]string{
			"uid": {uid}, "cn": {key}, "mail": {key + "@example.com"},
		}}
	}
	alice, long := user("alice", "alice"), user("long", uid)
	ops := &plan.Entry{DN: "cn=ops,ou=groups,dc=example,dc=com", NormDN: "cn=ops,ou=groups,dc=example,dc=com", Key: "ops",
		Attrs: map[string][]string{"cn": {"ops"}}, Members: plan.NewDNs(alice.NormDN, long.NormDN)}
	return &plan.Directory{Users: []*plan.Entry{alice, long}, Groups: []*plan.Entry{ops}}
}

func newLimitsProvider(t *testing.T) (*Provider, *icingasim.Server) {
	t.Helper()
	sim, url := icingasim.Start(t, icingasim.Options{})
	return NewForTest(t, url, "icinga", "icinga"), sim
}

// planApply plans dir against p with bs, applies every change and
// returns the plan and the bindings after it.
func planApply(t *testing.T, p *Provider, dir *plan.Directory, bs plan.Bindings) (*plan.Plan, plan.Bindings) {
	t.Helper()
	res, err := p.Plan(context.Background(), dir, bs)
	if err != nil {
		t.Fatal(err)
	}
	next := plan.Bindings{}
	for _, m := range bs {
		for _, b := range m {
			next.Add(b)
		}
	}
	for i := range res.Changes {
		c := &res.Changes[i]
		if err := p.Apply(context.Background(), c); err != nil {
			t.Fatalf("apply %s %s %s: %v", c.Action, c.Kind, c.Name(), err)
		}
		next.Add(c.Binding())
	}
	return res, next
}

func warningsAbout(p *plan.Plan, dn string) []string {
	var out []string
	for _, w := range p.Warnings {
		if strings.Contains(w, dn) {
			out = append(out, w)
		}
	}
	return out
}

// TestPlanLeavesOutTooLongUsername: a 255-character uid is not planned
// (Icinga answers it with a 500), with one warning naming the entry, the
// field, its length and the limit; its group is planned with alice.
func TestPlanLeavesOutTooLongUsername(t *testing.T) {
	p, sim := newLimitsProvider(t)
	longDN := "uid=long,ou=people,dc=example,dc=com"
	res, _ := planApply(t, p, limitsDir(strings.Repeat("x", 255)), plan.Bindings{})

	var users, groups []string
	for _, c := range res.Changes {
		if c.Kind == plan.KindUser {
			users = append(users, c.Name())
		} else {
			groups = append(groups, c.Name())
		}
	}
	if !slices.Equal(users, []string{"alice"}) || !slices.Equal(groups, []string{"ops"}) {
		t.Fatalf("planned users %v and groups %v; want alice and ops", users, groups)
	}
	ws := warningsAbout(res, longDN)
	if len(ws) != 1 {
		t.Fatalf("warnings about %s: %q; want exactly one", longDN, res.Warnings)
	}
	for _, want := range []string{"left out of the plan", "username", "255 characters", "254", "groups that hold it are planned without it"} {
		if !strings.Contains(ws[0], want) {
			t.Errorf("warning %q lacks %q", ws[0], want)
		}
	}
	alice := p.ContactID("alice", "alice")
	for _, g := range sim.Groups() {
		if g.Name == "ops" && !slices.Equal(g.Users, []string{alice}) {
			t.Errorf("ops holds %v; want alice (%s) alone", g.Users, alice)
		}
	}
	if n := len(sim.Contacts()); n != 1 {
		t.Errorf("Icinga has %d contacts; want alice alone", n)
	}

	// 254 characters fit.
	p2, sim2 := newLimitsProvider(t)
	res, _ = planApply(t, p2, limitsDir(strings.Repeat("ä", 254)), plan.Bindings{})
	if len(res.Warnings) != 0 || len(sim2.Contacts()) != 2 {
		t.Errorf("a 254-character username: warnings %q, %d contacts; want none and 2", res.Warnings, len(sim2.Contacts()))
	}
}

// TestPlanHoldsManagedContact: a managed contact whose uid grows past the
// limit is left as it is (not deleted, not renamed, kept in its group),
// and the warning says so.
func TestPlanHoldsManagedContact(t *testing.T) {
	p, sim := newLimitsProvider(t)
	_, bs := planApply(t, p, limitsDir("long"), plan.Bindings{})
	longID := p.ContactID("long", "long")

	res, _ := planApply(t, p, limitsDir(strings.Repeat("y", 300)), bs)
	if len(res.Changes) != 0 {
		for _, c := range res.Changes {
			t.Errorf("planned %s %s %s", c.Action, c.Kind, c.Name())
		}
	}
	ws := warningsAbout(res, "uid=long,ou=people,dc=example,dc=com")
	if len(ws) != 1 || !strings.Contains(ws[0], "left as it is in Icinga") || !strings.Contains(ws[0], "not deleted") || !strings.Contains(ws[0], "300 characters") {
		t.Errorf("warnings %q; want one saying the contact is left as it is", res.Warnings)
	}
	var held *icingasim.Contact
	for _, c := range sim.Contacts() {
		if c.ID == longID {
			held = &c
		}
	}
	if held == nil || held.Username == nil || *held.Username != "long" {
		t.Fatalf("the managed contact is %+v; want it kept as long", held)
	}
	for _, g := range sim.Groups() {
		if g.Name == "ops" && !slices.Contains(g.Users, longID) {
			t.Errorf("ops lost the held contact: %v", g.Users)
		}
	}
}

// TestPlanLeavesOutGroupNamedZero: Icinga refuses a group name "0" (PHP's
// empty()) with a 422; the group is left out, its users are not.
func TestPlanLeavesOutGroupNamedZero(t *testing.T) {
	p, sim := newLimitsProvider(t)
	dir := limitsDir("bob")
	dir.Groups[0].Attrs["cn"] = []string{"0"}
	res, _ := planApply(t, p, dir, plan.Bindings{})
	if len(sim.Groups()) != 0 || len(sim.Contacts()) != 2 {
		t.Errorf("%d groups and %d contacts; want none and 2", len(sim.Groups()), len(sim.Contacts()))
	}
	ws := warningsAbout(res, "cn=ops,ou=groups,dc=example,dc=com")
	if len(ws) != 1 || !strings.Contains(ws[0], `its name "0"`) || strings.Contains(ws[0], "groups that hold it") {
		t.Errorf("warnings %q; want one about the group's name", res.Warnings)
	}
}

// TestContactBodyEmptyUsernameIsNull: "" is never sent as a username.
func TestContactBodyEmptyUsernameIsNull(t *testing.T) {
	o := &plan.Object{Kind: plan.KindUser, ID: "x", Attrs: map[string]string{attrFullName: "X", attrDefaultChannel: "c"}}
	b, err := json.Marshal(contactBody(o, nil))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"username":null`) {
		t.Errorf("body %s; want username null", b)
	}
}

func TestNotEmptyOrZero(t *testing.T) {
	for v, want := range map[string]bool{"": false, "0": false, "00": true, "0a": true, "a": true, "Jane Doe": true, "\n": true, "0\n": true, "ä": true} {
		if got := notEmptyOrZero.MatchString(v); got != want {
			t.Errorf("notEmptyOrZero(%q) = %v, want %v", v, got, want)
		}
	}
}
