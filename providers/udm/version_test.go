package udm_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ldapply/ldapply/fixtures/udmsim"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers"
	"github.com/ldapply/ldapply/providers/udm"
)

// TestPlanVersion: Plan gives a change's Before the version of the
// object as the search showed it, which covers what ldapply manages of
// it alone: a property it does not manage, changed in UCS, leaves it as
// it was; a managed one changes it. A delete of an object already gone
// has none.
func TestPlanVersion(t *testing.T) {
	ctx := context.Background()
	sim, url := udmsim.Start(t, udmsim.Options{Users: map[string]string{"svc": "pw"}})
	userOU, groupOU := "cn=users,"+sim.Base(), "cn=groups,"+sim.Base()
	cfg := udm.Config{URL: url, AllowInsecure: true, Username: "svc", Password: "pw", UserOU: userOU, GroupOU: groupOU}
	if err := cfg.Resolve("inetorgperson"); err != nil {
		t.Fatal(err)
	}
	p, err := udm.New(cfg, providers.Env{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	dn := sim.Seed(udmsim.Users, userOU, map[string]any{"username": "old", "lastname": "old", udm.DefaultKeyProperty: "k-old"})
	bs := plan.Bindings{}
	bs.Add(plan.Binding{Kind: plan.KindUser, Key: "k-old", ID: "k-old", Name: "old"})
	bs.Add(plan.Binding{Kind: plan.KindUser, Key: "k-lost", ID: "k-lost", Name: "lost"})
	versions := func() map[string]string {
		t.Helper()
		res, err := p.Plan(ctx, &plan.Directory{}, bs)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, c := range res.Changes {
			if c.Action != plan.Delete || c.Before == nil {
				t.Fatalf("%s %s: want a delete with Before", c.Action, c.Key)
			}
			out[c.Key] = c.Before.Version
		}
		return out
	}
	first := versions()
	if len(first) != 2 || first["k-old"] == "" || first["k-lost"] != "" {
		t.Fatalf("versions %v; want one for k-old and none for k-lost, which is gone", first)
	}
	sim.Modify(dn, map[string]any{"displayName": "By Hand"})
	if v := versions()["k-old"]; v != first["k-old"] {
		t.Errorf("version %s after an unmanaged property changed, want %s as before", v, first["k-old"])
	}
	sim.Modify(dn, map[string]any{"lastname": "changed"})
	if v := versions()["k-old"]; v == first["k-old"] {
		t.Errorf("version %s after lastname changed: want another", v)
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
	p, err := udm.New(cfg, providers.Env{Version: "test"})
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
	p, err = udm.New(cfg, providers.Env{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Plan(ctx, &plan.Directory{}, plan.Bindings{}); err == nil || !strings.Contains(err.Error(), "read groups/group under "+groupOU) {
		t.Errorf("a failed group search: %v", err)
	}
}
