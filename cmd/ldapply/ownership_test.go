package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ldapply/ldapply/fixtures/icingasim"
)

func ptr(s string) *string { return &s }

// TestOwnership: objects made by hand are never touched, and a hand-made
// group keeps a synced contact when that contact is updated.
func TestOwnership(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.sync()
	alice := e.contact("alice")
	const channel = "0b4e2a9e-3f5d-4c1a-9d6e-2f7a8b9c0d1e"
	hand := icingasim.Contact{ID: "11111111-2222-4333-8444-555555555555", FullName: "Pager Bot", Username: ptr("pagerbot"), DefaultChannel: channel, Addresses: map[string]string{"email": "bot@example.com"}}
	oncall := icingasim.Group{ID: "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", Name: "oncall", Users: []string{alice.ID, hand.ID}}
	e.sim.Seed([]icingasim.Contact{hand}, []icingasim.Group{oncall})
	// The hand-made contact is also put into the managed group ops, and
	// alice gets a webhook address by hand.
	ops := e.group("ops")
	e.sim.Seed(nil, []icingasim.Group{{ID: ops.ID, Name: ops.Name, Users: append(ops.Users, hand.ID)}})
	a := *e.contact("alice")
	a.Addresses["webhook"] = "https://hooks.example.com/alice"
	e.sim.Seed([]icingasim.Contact{a}, nil)

	if out := e.must(0, "plan", "--detailed-exitcode"); !strings.Contains(out, "No changes.") {
		t.Errorf("hand-made objects and members caused changes:\n%s", out)
	}

	// Change alice (a PUT replaces her groups and addresses) and ops.
	e.ldif(`dn: uid=alice,ou=people,dc=example,dc=com
changetype: modify
replace: mail
mail: alice.archer@example.com
-

dn: cn=ops,ou=groups,dc=example,dc=com
changetype: modify
delete: member
member: uid=bob,ou=people,dc=example,dc=com
-
`)
	e.sync()
	after := e.contact("alice")
	if after.Addresses["email"] != "alice.archer@example.com" || after.Addresses["webhook"] != "https://hooks.example.com/alice" {
		t.Errorf("alice's addresses = %v; want the new email and the hand-made webhook kept", after.Addresses)
	}
	if !slices.Contains(after.Groups, oncall.ID) {
		t.Errorf("updating alice dropped her from the hand-made group oncall: groups %v", after.Groups)
	}
	if g := e.group("oncall"); g == nil || !slices.Contains(g.Users, alice.ID) || !slices.Contains(g.Users, hand.ID) {
		t.Errorf("hand-made group oncall = %+v", g)
	}
	if got := e.memberNames(e.group("ops")); !slices.Equal(got, []string{"alice", "carol", "pagerbot"}) {
		t.Errorf("ops members = %v, want alice, carol and the hand-made pagerbot kept", got)
	}

	// Deleting everything from LDAP but one user never deletes hand-made objects.
	for _, dn := range []string{"cn=ops", "cn=dev", "cn=all-staff", "cn=r&d (lab)*", "cn=auditors"} {
		e.ldif("dn: " + dn + ",ou=groups,dc=example,dc=com\nchangetype: delete\n")
	}
	for _, u := range []string{"bob", "carol", "dave", "erin", "frank", "grace", "henry", "nomail"} {
		e.ldif("dn: uid=" + u + ",ou=people,dc=example,dc=com\nchangetype: delete\n")
	}
	out := e.sync()
	if !strings.Contains(out, "0 to rename, 12 to destroy.") {
		t.Errorf("plan should destroy the 7 managed users and 5 groups gone from LDAP, nothing else:\n%s", out)
	}
	if e.contact("pagerbot") == nil || e.group("oncall") == nil {
		t.Error("a hand-made object was deleted")
	}
	if n := len(e.sim.Contacts()); n != 2 {
		t.Errorf("%d contacts left, want alice and pagerbot", n)
	}
}

// TestUsernameTakenByHandMadeContact: a source user whose username an
// unmanaged contact already has is a plan error, not an apply failure.
func TestUsernameTakenByHandMadeContact(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.sim.Seed([]icingasim.Contact{{ID: "11111111-2222-4333-8444-555555555555", FullName: "Old Dave", Username: ptr("DAVE"), DefaultChannel: "0b4e2a9e-3f5d-4c1a-9d6e-2f7a8b9c0d1e", Addresses: map[string]string{"email": "old@example.com"}}}, nil)
	_, errs, code := e.run("plan")
	if code != 1 || !strings.Contains(errs, `maps to username "DAVE", which Icinga contact 11111111-2222-4333-8444-555555555555 already has`) {
		t.Errorf("plan exited %d: %s", code, errs)
	}
}

// TestBlogIDScheme: with id_scheme blog, ids are derived from usernames
// exactly as the blog post's script does, and contacts that script made
// are adopted, not created again.
func TestBlogIDScheme(t *testing.T) {
	e := newEnv(t, envOptions{extraTarget: "    id_scheme: blog\n    namespace: a1b2c3d4-e5f6-7890-abcd-ef1234567890"})
	ns := uuid.MustParse("a1b2c3d4-e5f6-7890-abcd-ef1234567890")
	aliceID := uuid.NewSHA1(ns, []byte("contact:alice")).String()
	opsID := uuid.NewSHA1(ns, []byte("group:ops")).String()
	// What the blog script left behind.
	e.sim.Seed([]icingasim.Contact{{ID: aliceID, FullName: "Alice Archer", Username: ptr("alice"), DefaultChannel: "0b4e2a9e-3f5d-4c1a-9d6e-2f7a8b9c0d1e", Addresses: map[string]string{"email": "alice@example.com"}}},
		[]icingasim.Group{{ID: opsID, Name: "ops", Users: []string{aliceID}}})
	out := e.sync()
	if !strings.Contains(out, "<= user alice") || !strings.Contains(out, "<= group ops") || !strings.Contains(out, "2 to adopt") {
		t.Errorf("plan does not adopt the blog script's objects:\n%s", out)
	}
	if n := len(e.sim.Contacts()); n != 8 {
		t.Errorf("%d contacts, want 8 (no duplicate of alice)", n)
	}
	if got := e.contact("bob").ID; got != uuid.NewSHA1(ns, []byte("contact:bob")).String() {
		t.Errorf("bob's id %s is not UUIDv5(namespace, contact:bob)", got)
	}
	// A rename keeps the id recorded in the state.
	e.ldif("dn: uid=bob,ou=people,dc=example,dc=com\nchangetype: modrdn\nnewrdn: uid=robert\ndeleteoldrdn: 1\n")
	before := uuid.NewSHA1(ns, []byte("contact:bob")).String()
	e.sync()
	if c := e.contact("robert"); c == nil || c.ID != before {
		t.Errorf("renamed contact = %+v, want id %s kept", c, before)
	}
}
