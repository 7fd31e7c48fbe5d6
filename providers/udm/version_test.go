package udm_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ldapply/ldapply/fixtures/udmsim"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/udm"
)

// TestPlanVersionOfDeletes: Plan hashes only the objects its changes
// touch, and still gives a delete's Before the version of the object as
// the search showed it; a delete of an object already gone has none.
func TestPlanVersionOfDeletes(t *testing.T) {
	ctx := context.Background()
	sim, url := udmsim.Start(t, udmsim.Options{Users: map[string]string{"svc": "pw"}})
	userOU, groupOU := "cn=users,"+sim.Base(), "cn=groups,"+sim.Base()
	cfg := udm.Config{URL: url, AllowInsecure: true, Username: "svc", Password: "pw", UserOU: userOU, GroupOU: groupOU}
	if err := cfg.Resolve("inetorgperson"); err != nil {
		t.Fatal(err)
	}
	p, err := udm.New(cfg, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	sim.Seed(udmsim.Users, userOU, map[string]any{"username": "old", "lastname": "old", udm.DefaultKeyProperty: "k-old"})
	bs := plan.Bindings{}
	bs.Add(plan.Binding{Kind: plan.KindUser, Key: "k-old", ID: "k-old", Name: "old"})
	bs.Add(plan.Binding{Kind: plan.KindUser, Key: "k-lost", ID: "k-lost", Name: "lost"})
	res, err := p.Plan(ctx, &plan.Directory{}, bs)
	if err != nil {
		t.Fatal(err)
	}
	client, err := udm.NewClient(udm.ClientConfig{URL: url, Username: "svc", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := client.Search(ctx, udm.TypeUser, userOU)
	if err != nil || len(objs) != 1 {
		t.Fatalf("search: %d objects, %v", len(objs), err)
	}
	want := map[string]string{"k-old": plan.VersionOf(objs[0]), "k-lost": ""}
	if len(res.Changes) != len(want) {
		t.Fatalf("%d changes, want the deletes of k-old and k-lost: %+v", len(res.Changes), res.Changes)
	}
	for _, c := range res.Changes {
		if c.Action != plan.Delete || c.Before == nil {
			t.Fatalf("%s %s: want a delete with Before", c.Action, c.Key)
		}
		if c.Before.Version != want[c.Key] {
			t.Errorf("delete of %s: Before.Version %q, want %q", c.Key, c.Before.Version, want[c.Key])
		}
	}
}

// TestPlanReadsBothListsAtOnce: the user and group searches overlap (one
// list is decoded while UCS still answers the other), and a failed one
// is named.
func TestPlanReadsBothListsAtOnce(t *testing.T) {
	ctx := context.Background()
	sim, url := udmsim.Start(t, udmsim.Options{Users: map[string]string{"svc": "pw"}})
	userOU, groupOU := "cn=users,"+sim.Base(), "cn=groups,"+sim.Base()
	cfg := udm.Config{URL: url, AllowInsecure: true, Username: "svc", Password: "pw", UserOU: userOU, GroupOU: groupOU}
	if err := cfg.Resolve("inetorgperson"); err != nil {
		t.Fatal(err)
	}
	const latency = 500 * time.Millisecond
	for _, typ := range []string{udmsim.Users, udmsim.Groups} {
		sim.Inject(udmsim.Fault{Method: "GET", Path: typ + "/", Latency: latency, Count: 1})
	}
	p, err := udm.New(cfg, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := p.Plan(ctx, &plan.Directory{}, plan.Bindings{}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took >= 2*latency-100*time.Millisecond {
		t.Errorf("the plan took %v with two searches delayed %v each: they ran one after the other", took, latency)
	}
	sim.Inject(udmsim.Fault{Method: "GET", Path: udmsim.Groups + "/", Status: 400, Message: "Bad search"})
	p, err = udm.New(cfg, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Plan(ctx, &plan.Directory{}, plan.Bindings{}); err == nil || !strings.Contains(err.Error(), "read groups/group under "+groupOU) {
		t.Errorf("a failed group search: %v", err)
	}
}
