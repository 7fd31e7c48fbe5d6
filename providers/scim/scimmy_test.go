package scim_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/ldapply/ldapply/fixtures/fault"
	"github.com/ldapply/ldapply/fixtures/scimserver"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers"
	"github.com/ldapply/ldapply/providers/ldap"
	"github.com/ldapply/ldapply/providers/providertest"
	"github.com/ldapply/ldapply/providers/scim"
)

// TestConformanceSCIMMY runs the suite's cases that need no injected
// faults against a SCIM service others maintain (SCIMMY, see
// fixtures/scimserver): its schema handling, filters and PATCH are not
// ours. The hand-made changes go through its SCIM API, as an
// administrator's script would.
func TestConformanceSCIMMY(t *testing.T) {
	h := harness()
	h.Start = startSCIMMY
	for name, c := range map[string]func(*testing.T, providertest.Harness){
		"SeedCases":                providertest.SeedCases,
		"AdoptAfterLostState":      providertest.AdoptAfterLostState,
		"Unmanaged":                providertest.Unmanaged,
		"DriftBetweenPlanAndApply": providertest.DriftBetweenPlanAndApply,
	} {
		t.Run(name, func(t *testing.T) { c(t, h) })
	}
}

func startSCIMMY(t *testing.T, _ ldap.Config) *providertest.Sim {
	return scimmySim(t, false)
}

// TestFaultsSCIMMY runs the suite's transient-failure, lost-answer and
// contention cases against SCIMMY through a fault-injecting proxy
// (scimserver.Proxy): ldapply's requests meet the faults, the hand-made
// changes go to SCIMMY directly.
func TestFaultsSCIMMY(t *testing.T) {
	h := harness()
	h.Start = func(t *testing.T, _ ldap.Config) *providertest.Sim { return scimmySim(t, true) }
	for name, c := range map[string]func(*testing.T, providertest.Harness){
		"Transient":  providertest.Transient,
		"LostAnswer": providertest.LostAnswer,
		"Contention": providertest.Contention,
	} {
		t.Run(name, func(t *testing.T) { c(t, h) })
	}
}

// scimmySim starts SCIMMY and returns the suite's hooks; with proxied,
// the provider reaches it through a fault proxy, whose faults and
// answers the hooks are.
func scimmySim(t *testing.T, proxied bool) *providertest.Sim {
	s, _ := scimmyProxied(t, proxied)
	return s
}

// scimmyProxied is scimmySim, returning the proxy too (nil without).
func scimmyProxied(t *testing.T, proxied bool) (*providertest.Sim, *scimserver.Proxy) {
	srv := scimserver.Start(t)
	cfg := scim.Config{URL: srv.URL, Token: srv.Token, AllowInsecure: true, OnDelete: scim.OnDeleteDelete, PatchOperations: 3,
		UserAttributes: map[string]string{"userName": "{{ .uid }}", "name.givenName": "{{ .givenName }}",
			"name.familyName": "{{ .sn }}", "emails.work": "{{ .mail }}"},
		GroupAttributes: map[string]string{"displayName": "{{ .cn }}"}}
	if err := cfg.Resolve("inetorgperson"); err != nil {
		t.Fatal(err)
	}
	admin, err := scim.NewClient(scim.ClientConfig{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	list := func(endpoint string) []scim.Resource {
		l, err := admin.List(ctx, endpoint, scim.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	find := func(kind plan.Kind, name string) scim.Resource {
		endpoint, attr := scim.Users, "userName"
		if kind == plan.KindGroup {
			endpoint, attr = scim.Groups, "displayName"
		}
		for _, r := range list(endpoint) {
			if r.Read(attr) == name {
				return r
			}
		}
		t.Fatalf("SCIMMY has no %s %s", kind, name)
		return nil
	}
	sim := &providertest.Sim{
		New: func() providertest.Provider {
			p, err := scim.New(cfg, providers.Env{Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			return p
		},
		Objects: func() []providertest.Object { return neutral(list(scim.Users), list(scim.Groups)) },
		Seed: func(o providertest.Object) {
			if o.Kind == plan.KindUser {
				_, err := admin.Create(ctx, scim.Users, scim.Resource{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
					"userName": o.Name, "name": map[string]any{"familyName": "Made by hand"}})
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			g, err := admin.Create(ctx, scim.Groups, scim.Resource{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": o.Name})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, m := range o.Members {
				ids = append(ids, find(plan.KindUser, m).ID())
			}
			if _, err := admin.PatchMembers(ctx, g.ID(), "", ids, nil, 10); err != nil {
				t.Fatal(err)
			}
		},
		AddMember: func(group, member string) {
			var m scim.Resource
			for _, g := range list(scim.Groups) {
				if g.Read("displayName") == member {
					m = g
				}
			}
			if m == nil {
				m = find(plan.KindUser, member)
			}
			if _, err := admin.PatchMembers(ctx, find(plan.KindGroup, group).ID(), "", []string{m.ID()}, nil, 10); err != nil {
				t.Fatal(err)
			}
		},
		Set: func(kind plan.Kind, name, prop, value string) {
			endpoint := scim.Users
			if kind == plan.KindGroup {
				endpoint = scim.Groups
			}
			op := scim.Op{Op: "replace", Path: prop, Value: value}
			if prop == "emails.work" {
				op = scim.Op{Op: "replace", Path: "emails", Value: []any{map[string]any{"value": value, "type": "work", "primary": true}}}
			}
			if _, err := admin.Patch(ctx, endpoint, find(kind, name).ID(), "", []scim.Op{op}); err != nil {
				t.Fatal(err)
			}
		},
		Fault: func(op providertest.Op, _ fault.Fault) {
			t.Fatalf("SCIMMY without its proxy cannot inject faults (%s)", op)
		},
		Answers: func() []int { return nil },
	}
	var proxy *scimserver.Proxy
	if proxied {
		proxy = srv.Proxy(t)
		cfg.URL = proxy.URL // New reads cfg when called; admin keeps SCIMMY's own URL
		sim.Fault = providertest.FaultByMethod(t, "SCIMMY", map[providertest.Op]string{providertest.Read: http.MethodGet, providertest.Create: http.MethodPost,
			providertest.Update: http.MethodPatch, providertest.Delete: http.MethodDelete}, proxy.Inject)
		sim.Answers = proxy.Answers
	}
	return sim, proxy
}

// TestBulkSCIMMY: SCIMMY offers /Bulk; the creates go there, and a bulk
// request whose answer is lost after it landed makes no duplicates.
func TestBulkSCIMMY(t *testing.T) {
	var proxy *scimserver.Proxy
	h := harness()
	h.Start = func(t *testing.T, _ ldap.Config) *providertest.Sim {
		var s *providertest.Sim
		s, proxy = scimmyProxied(t, true)
		return s
	}
	e := providertest.NewEnv(t, h)
	proxy.Inject(fault.Fault{Method: http.MethodPost, Path: "Bulk", Count: 1, Drop: true, AfterWrite: true})
	e.Sync() // converged: every object once
	bulks, alone := 0, 0
	for _, r := range proxy.Requests() {
		switch {
		case r.Method == http.MethodPost && r.Path == "Bulk":
			bulks++
		case r.Method == http.MethodPost:
			alone++
		}
	}
	if bulks != 2 || alone != 0 {
		t.Errorf("%d bulk requests and %d creates alone; want 2 (users, groups) and none", bulks, alone)
	}
}

// neutral turns resources into the suite's objects, as objects does
// for the simulator's.
func neutral(users, groups []scim.Resource) []providertest.Object {
	names := map[string]string{}
	var out []providertest.Object
	for _, l := range []struct {
		kind plan.Kind
		attr string
		rs   []scim.Resource
	}{{plan.KindUser, "userName", users}, {plan.KindGroup, "displayName", groups}} {
		for _, r := range l.rs {
			names[r.ID()] = r.Read(l.attr)
			obj := providertest.Object{Kind: l.kind, ID: "scim-id:" + r.ID(), Name: r.Read(l.attr), Props: map[string]string{}}
			for k, v := range r {
				switch x := v.(type) {
				case string:
					if x != "" && k != l.attr && k != "id" {
						obj.Props[k] = x
					}
				case map[string]any:
					if k == "meta" {
						continue
					}
					for sub, sv := range x {
						if s, ok := sv.(string); ok && s != "" {
							obj.Props[k+"."+sub] = s
						}
					}
				}
			}
			if mail := r.Read("emails.work"); mail != "" {
				obj.Props["emails.work"] = mail
			}
			if ext := r.ExternalID(); ext != "" {
				obj.ID = ext
				delete(obj.Props, "externalId")
			}
			out = append(out, obj)
		}
	}
	for i, g := range groups {
		o := &out[len(users)+i]
		for _, m := range g.Members() {
			o.Members = append(o.Members, names[m])
		}
		slices.Sort(o.Members)
	}
	return out
}
