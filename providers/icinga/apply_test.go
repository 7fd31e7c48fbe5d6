package icinga_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/fixtures/icingasim"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/icinga"
)

// seedAlice puts contact alice, managed, with an old full name, the
// given addresses besides her email, and in the given groups, which
// ldapply does not manage; it returns the bindings and her id.
func seedAlice(t *testing.T, p *icinga.Provider, srv *icingasim.Server, addrs map[string]string, groups ...icingasim.Group) (*bindings, string) {
	t.Helper()
	id := p.ContactID("k-alice", "alice")
	a := map[string]string{"email": "alice@example.com"}
	maps.Copy(a, addrs)
	c := icingasim.Contact{ID: id, FullName: "Old Name", Username: ptr("alice"), DefaultChannel: icingasim.DefaultChannelID, Addresses: a}
	for _, g := range groups {
		c.Groups = append(c.Groups, g.ID)
	}
	srv.Seed([]icingasim.Contact{c}, groups)
	rec := &bindings{Bindings: plan.Bindings{}}
	rec.Add(plan.Binding{Kind: plan.KindUser, Key: "k-alice", ID: id, Name: "alice"})
	return rec, id
}

// providerAt returns a provider for the simulator at base.
func providerAt(t *testing.T, base string) *icinga.Provider {
	t.Helper()
	return icinga.NewForTest(t, base, "icinga", "icinga")
}

// aliceOnly is the directory with alice alone, in no group.
func aliceOnly() *plan.Directory {
	return &plan.Directory{Users: []*plan.Entry{entry("uid=alice", "k-alice")}}
}

// findContact returns the simulator's contact id.
func findContact(t *testing.T, srv *icingasim.Server, id string) icingasim.Contact {
	t.Helper()
	for _, c := range srv.Contacts() {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("Icinga has no contact %s", id)
	return icingasim.Contact{}
}

// TestApplySendsTheChange: the managed fields Icinga stores are those of
// the change as reviewed (After), for a contact and for a group's
// members, not values kept from anywhere else.
func TestApplySendsTheChange(t *testing.T) {
	p, srv := newProvider(t)
	ctx := context.Background()
	rec, aliceID := seedAlice(t, p, srv, nil)
	dir := aliceOnly()
	dir.Users = append(dir.Users, entry("uid=bob", "k-bob"))
	dir.Groups = []*plan.Entry{entry("cn=ops", "k-ops", dir.Users[0].NormDN, dir.Users[1].NormDN)}
	pl, err := p.Plan(ctx, dir, rec.Bindings)
	if err != nil {
		t.Fatal(err)
	}
	for i := range pl.Changes {
		c := &pl.Changes[i]
		switch {
		case c.ID == aliceID:
			c.After.Attrs["full_name"], c.After.Attrs["email"] = "Reviewed Name", "reviewed@example.com"
		case c.Kind == plan.KindGroup:
			c.After.Lists["members"] = []string{aliceID}
		}
	}
	if err := apply.CheckDrift(ctx, pl, p); err != nil {
		t.Fatal(err)
	}
	if _, err := apply.Run(ctx, pl, p, rec, apply.Options{}); err != nil {
		t.Fatal(err)
	}
	alice := findContact(t, srv, aliceID)
	if alice.FullName != "Reviewed Name" || alice.Addresses["email"] != "reviewed@example.com" || alice.Username == nil || *alice.Username != "alice" {
		t.Errorf("alice is %q <%s>; want the change's After: Reviewed Name <reviewed@example.com>", alice.FullName, alice.Addresses["email"])
	}
	groups := srv.Groups()
	if len(groups) != 1 || !slices.Equal(groups[0].Users, []string{aliceID}) {
		t.Errorf("groups %+v; want ops with alice alone, as the change's After lists", groups)
	}
}

// TestApplyKeepsUnmanagedFields: a contact's PUT replaces all its
// addresses and memberships, so it carries the ones ldapply does not
// manage as Icinga holds them when apply reads it: after the drift
// check, from its read; without one (--ignore-drift), from a read of
// its own, which sees what changed by hand since the plan.
func TestApplyKeepsUnmanagedFields(t *testing.T) {
	ctx := context.Background()
	hand := icingasim.Group{ID: "6f1c1a4e-0000-4000-8000-000000000001", Name: "hand"}
	t.Run("drift_checked", func(t *testing.T) {
		p, srv := newProvider(t)
		rec, aliceID := seedAlice(t, p, srv, map[string]string{"webhook": "https://hook.example/alice"}, hand)
		pl, err := p.Plan(ctx, aliceOnly(), rec.Bindings)
		if err != nil {
			t.Fatal(err)
		}
		if err := apply.CheckDrift(ctx, pl, p); err != nil {
			t.Fatal(err)
		}
		srv.ResetRequests()
		if _, err := apply.Run(ctx, pl, p, rec, apply.Options{}); err != nil {
			t.Fatal(err)
		}
		for _, r := range srv.Requests() {
			if r.Method == "GET" {
				t.Errorf("apply sent %s %s; want the drift check's read used", r.Method, r.Path)
			}
		}
		wantAlice(t, srv, aliceID, "https://hook.example/alice", hand.ID)
	})
	t.Run("ignore_drift", func(t *testing.T) {
		srv, base := icingasim.Start(t, icingasim.Options{})
		p, checker := providerAt(t, base), providerAt(t, base)
		rec, aliceID := seedAlice(t, p, srv, nil, hand)
		pl, err := p.Plan(ctx, aliceOnly(), rec.Bindings)
		if err != nil {
			t.Fatal(err)
		}
		// By hand, between plan and apply: a webhook address and one
		// more group. Both are in the contact's version, so the drift
		// check refuses the plan; --ignore-drift applies it anyway.
		hand2 := icingasim.Group{ID: "6f1c1a4e-0000-4000-8000-000000000002", Name: "hand2"}
		seedAlice(t, p, srv, map[string]string{"webhook": "https://hook.example/new"}, hand, hand2)
		if err := apply.CheckDrift(ctx, pl, checker); !errors.Is(err, apply.ErrDrift) {
			t.Fatalf("drift check after a change by hand: %v; want %v", err, apply.ErrDrift)
		}
		if _, err := apply.Run(ctx, pl, p, rec, apply.Options{}); err != nil {
			t.Fatal(err)
		}
		wantAlice(t, srv, aliceID, "https://hook.example/new", hand.ID, hand2.ID)
	})
}

// wantAlice checks that alice has the change's full name, her email, the
// webhook address and exactly the groups given.
func wantAlice(t *testing.T, srv *icingasim.Server, id, webhook string, groups ...string) {
	t.Helper()
	alice := findContact(t, srv, id)
	want := map[string]string{"email": "alice@example.com", "webhook": webhook}
	if alice.FullName != "alice" || !maps.Equal(alice.Addresses, want) {
		t.Errorf("alice is %q with %v; want full name alice (the change's) and addresses %v", alice.FullName, alice.Addresses, want)
	}
	slices.Sort(groups)
	if !slices.Equal(alice.Groups, groups) {
		t.Errorf("alice is in %v; want %v as Icinga held her at apply", alice.Groups, groups)
	}
}

// TestApplyReadsOnceWithoutDriftCheck: without the drift check's read,
// the contact PUTs, sent from several goroutines, share one read of the
// target.
func TestApplyReadsOnceWithoutDriftCheck(t *testing.T) {
	p, srv := newProvider(t)
	ctx := context.Background()
	rec := &bindings{Bindings: plan.Bindings{}}
	dir := &plan.Directory{}
	var seeded []icingasim.Contact
	for _, name := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		key := "k-" + name
		id := p.ContactID(key, name)
		seeded = append(seeded, icingasim.Contact{ID: id, FullName: "Old", Username: ptr(name), DefaultChannel: icingasim.DefaultChannelID,
			Addresses: map[string]string{"email": name + "@example.com", "webhook": "https://hook.example/" + name}})
		rec.Add(plan.Binding{Kind: plan.KindUser, Key: key, ID: id, Name: name})
		dir.Users = append(dir.Users, entry("uid="+name, key))
	}
	srv.Seed(seeded, nil)
	pl, err := p.Plan(ctx, dir, rec.Bindings)
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.Changes) != len(seeded) {
		t.Fatalf("%d changes; want an update of each of the %d contacts", len(pl.Changes), len(seeded))
	}
	srv.ResetRequests()
	if _, err := apply.Run(ctx, pl, p, rec, apply.Options{Parallelism: 4}); err != nil {
		t.Fatal(err)
	}
	reads := 0
	for _, r := range srv.Requests() {
		if r.Method == "GET" && strings.Contains(r.Path, "/contacts") {
			reads++
		}
	}
	if reads != 1 {
		t.Errorf("apply read the contacts %d times; want once", reads)
	}
	for _, c := range srv.Contacts() {
		if c.FullName == "Old" || c.Addresses["webhook"] == "" {
			t.Errorf("contact %s: full name %q, webhook %q; want the new name and the webhook kept", *c.Username, c.FullName, c.Addresses["webhook"])
		}
	}
}

// TestApplyGroupMembers: a group's PUT lists the members After lists,
// whether the change holds its lists whole (as Plan makes them) or as
// their difference (as a plan file of format 3 stores them), and keeps
// a member added by hand since the plan.
func TestApplyGroupMembers(t *testing.T) {
	ctx := context.Background()
	for _, form := range []string{"whole", "difference"} {
		t.Run(form, func(t *testing.T) {
			p, srv := newProvider(t)
			aliceID, bobID, carolID := p.ContactID("k-alice", "alice"), p.ContactID("k-bob", "bob"), p.ContactID("k-carol", "carol")
			opsID := p.GroupID("k-ops", "ops")
			var seeded []icingasim.Contact
			rec := &bindings{Bindings: plan.Bindings{}}
			for name, id := range map[string]string{"alice": aliceID, "bob": bobID, "carol": carolID} {
				seeded = append(seeded, icingasim.Contact{ID: id, FullName: name, Username: ptr(name), DefaultChannel: icingasim.DefaultChannelID,
					Addresses: map[string]string{"email": name + "@example.com"}})
				rec.Add(plan.Binding{Kind: plan.KindUser, Key: "k-" + name, ID: id, Name: name})
			}
			srv.Seed(seeded, []icingasim.Group{{ID: opsID, Name: "ops", Users: []string{aliceID, carolID}}})
			rec.Add(plan.Binding{Kind: plan.KindGroup, Key: "k-ops", ID: opsID, Name: "ops"})
			alice, bob, carol := entry("uid=alice", "k-alice"), entry("uid=bob", "k-bob"), entry("uid=carol", "k-carol")
			dir := &plan.Directory{Users: []*plan.Entry{alice, bob, carol}, Groups: []*plan.Entry{entry("cn=ops", "k-ops", alice.NormDN, bob.NormDN)}}
			pl, err := p.Plan(ctx, dir, rec.Bindings)
			if err != nil {
				t.Fatal(err)
			}
			if len(pl.Changes) != 1 || pl.Changes[0].Action != plan.Update {
				t.Fatalf("changes %+v; want the update of ops", pl.Changes)
			}
			if c := &pl.Changes[0]; form == "difference" {
				c.Before.Lists = map[string][]string{"members": {carolID}}
				c.After.Lists = map[string][]string{"members": {bobID}}
			}
			// A contact made by hand, added to ops by hand after the plan.
			dave := icingasim.Contact{ID: "6f1c1a4e-0000-4000-8000-00000000da7e", FullName: "Dave", Username: ptr("dave"), DefaultChannel: icingasim.DefaultChannelID,
				Addresses: map[string]string{"email": "dave@example.com"}, Groups: []string{opsID}}
			srv.Seed([]icingasim.Contact{dave}, nil)
			if _, err := apply.Run(ctx, pl, p, rec, apply.Options{}); err != nil {
				t.Fatal(err)
			}
			want := sorted(aliceID, bobID, dave.ID)
			if g := srv.Groups(); len(g) != 1 || !slices.Equal(g[0].Users, want) {
				t.Errorf("ops holds %v; want alice, bob and dave (added by hand)", g)
			}
		})
	}
}
