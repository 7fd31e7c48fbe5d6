package udm_test

import (
	"context"
	"testing"

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
	cfg := udm.Config{URL: url, Username: "svc", Password: "pw", UserOU: userOU, GroupOU: groupOU}
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
