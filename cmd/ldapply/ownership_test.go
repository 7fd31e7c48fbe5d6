package main

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ldapply/ldapply/fixtures/icingasim"
)

func ptr(s string) *string { return &s }

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
