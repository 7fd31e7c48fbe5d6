package icinga_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/fixtures/icingasim"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/icinga"
	"github.com/ldapply/ldapply/providers/providertest"
)

// bindings is an apply.Recorder that keeps the bindings in memory.
type bindings struct {
	mu sync.Mutex
	plan.Bindings
}

func (b *bindings) Put(x plan.Binding) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.Add(x)
	return nil
}

func (b *bindings) Remove(k plan.Kind, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.Bindings[k], key)
	return nil
}

func newProvider(t *testing.T) (*icinga.Provider, *icingasim.Server) {
	t.Helper()
	srv, base := icingasim.Start(t, icingasim.Options{})
	return icinga.NewForTest(t, base, "icinga", "icinga"), srv
}

func entry(rdn, key string, members ...string) *plan.Entry {
	dn := rdn + ",dc=example,dc=com"
	e := &plan.Entry{DN: dn, NormDN: dn, Key: key, Attrs: map[string][]string{}, Members: plan.NewDNs(members...)}
	name := strings.SplitN(rdn, "=", 2)[1]
	if len(members) > 0 {
		e.Attrs["cn"] = []string{name}
	} else {
		e.Attrs["uid"], e.Attrs["cn"], e.Attrs["mail"] = []string{name}, []string{name}, []string{name + "@example.com"}
	}
	return e
}

// directory is alice and bob, both in ops and in dev.
func directory() *plan.Directory {
	alice, bob := entry("uid=alice", "k-alice"), entry("uid=bob", "k-bob")
	return &plan.Directory{Users: []*plan.Entry{alice, bob}, Groups: []*plan.Entry{
		entry("cn=ops", "k-ops", alice.NormDN, bob.NormDN),
		entry("cn=dev", "k-dev", alice.NormDN, bob.NormDN),
	}}
}

// TestPruneApply: a contact whose create fails is left out of the new
// group and of the group update that hold it; both are written with the
// others, and the next plan adds it, after which nothing is left to do.
func TestPruneApply(t *testing.T) {
	p, srv := newProvider(t)
	ctx := context.Background()
	aliceID, bobID := p.ContactID("k-alice", "alice"), p.ContactID("k-bob", "bob")
	devID := p.GroupID("k-dev", "dev")
	// dev exists already, with alice; ldapply manages it.
	srv.Seed([]icingasim.Contact{{ID: aliceID, FullName: "alice", Username: ptr("alice"), DefaultChannel: icingasim.DefaultChannelID,
		Addresses: map[string]string{"email": "alice@example.com"}}}, []icingasim.Group{{ID: devID, Name: "dev", Users: []string{aliceID}}})
	rec := &bindings{Bindings: plan.Bindings{}}
	rec.Add(plan.Binding{Kind: plan.KindUser, Key: "k-alice", ID: aliceID, Name: "alice"})
	rec.Add(plan.Binding{Kind: plan.KindGroup, Key: "k-dev", ID: devID, Name: "dev"})
	pl, err := p.Plan(ctx, directory(), rec.Bindings)
	if err != nil {
		t.Fatal(err)
	}
	srv.Inject(icingasim.Fault{Method: "PUT", Path: "contacts/" + bobID, Status: 422, Message: "Invalid request body: simulated", Count: 1})
	res, err := apply.Run(ctx, pl, p, rec, apply.Options{})
	if err == nil || len(res.Failed) != 1 || res.Failed[0].Change.ID != bobID {
		t.Fatalf("Run = %v, failed %v; want bob's create alone to fail", err, res.Failed)
	}
	var degraded []string
	for _, d := range res.Degraded {
		degraded = append(degraded, d.Change.Name()+" without "+strings.Join(d.Without, ","))
	}
	slices.Sort(degraded)
	if d := cmp.Diff([]string{"dev without bob", "ops without bob"}, degraded); d != "" {
		t.Errorf("degraded (-want +got):\n%s", d)
	}
	for _, g := range srv.Groups() {
		if !slices.Equal(g.Users, []string{aliceID}) {
			t.Errorf("group %s holds %v, want alice alone", g.Name, g.Users)
		}
	}
	if _, ok := rec.Bindings[plan.KindGroup]["k-ops"]; !ok {
		t.Error("the degraded create of ops was not recorded")
	}

	// The fault is spent: the next plan creates bob and adds him.
	pl, err = p.Plan(ctx, directory(), rec.Bindings)
	if err != nil {
		t.Fatal(err)
	}
	providertest.WantChanges(t, pl, "create user bob", "update group dev", "update group ops")
	if _, err := apply.Run(ctx, pl, p, rec, apply.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, g := range srv.Groups() {
		if !slices.Equal(g.Users, sorted(aliceID, bobID)) {
			t.Errorf("group %s holds %v, want alice and bob", g.Name, g.Users)
		}
	}
	if pl, err = p.Plan(ctx, directory(), rec.Bindings); err != nil || len(pl.Changes) != 0 {
		t.Errorf("third plan: %v, %d changes; want none", err, len(pl.Changes))
	}
}

// TestPrune covers Prune on its own: a group whose only member failed,
// a change that names nothing that failed, a contact (whose groups are
// read at apply, never planned), a delete and an adoption.
func TestPrune(t *testing.T) {
	p, _ := newProvider(t)
	failed := map[string]bool{"g-failed": true, "c-failed": true}

	group := &plan.Change{Action: plan.Create, Kind: plan.KindGroup, ID: "g1",
		After: &plan.Object{Kind: plan.KindGroup, ID: "g1", Name: "g", Lists: map[string][]string{"members": {"c-failed", "c-ok"}}}}
	pruned, left, err := p.Prune(group, failed)
	if err != nil || !slices.Equal(left, []string{"c-failed"}) || !slices.Equal(pruned.After.Lists["members"], []string{"c-ok"}) ||
		len(group.After.Lists["members"]) != 2 {
		t.Errorf("Prune of a group with a failed member = %v, %v, %v; want c-ok alone and the planned change untouched", pruned.After.Lists, left, err)
	}

	for name, c := range map[string]*plan.Change{
		"no reference": {Action: plan.Update, Kind: plan.KindGroup, ID: "g2",
			After: &plan.Object{Kind: plan.KindGroup, ID: "g2", Name: "g", Lists: map[string][]string{"members": {"c-ok"}}}},
		"contact": {Action: plan.Update, Kind: plan.KindUser, ID: "c1",
			After: &plan.Object{Kind: plan.KindUser, ID: "c1", Name: "c", Attrs: map[string]string{"username": "c"}}},
		"delete":   {Action: plan.Delete, Kind: plan.KindGroup, ID: "g-failed"},
		"adoption": {Action: plan.Adopt, Kind: plan.KindUser, ID: "c2"},
	} {
		if got, left, err := p.Prune(c, failed); got != c || left != nil || err != nil {
			t.Errorf("%s: Prune = %v, %v, %v; want the change itself", name, got, left, err)
		}
	}
}

func ptr(s string) *string { return &s }

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}
