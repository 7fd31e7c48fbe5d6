package scim_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/ldapply/ldapply/fixtures/fault"
	"github.com/ldapply/ldapply/fixtures/scimsim"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers"
	"github.com/ldapply/ldapply/providers/ldap"
	"github.com/ldapply/ldapply/providers/providertest"
	"github.com/ldapply/ldapply/providers/scim"
)

// TestConformance runs the provider conformance suite against the SCIM
// simulator.
func TestConformance(t *testing.T) {
	providertest.Run(t, harness())
}

func harness() providertest.Harness {
	return providertest.Harness{
		Start: func(t *testing.T, _ ldap.Config) *providertest.Sim {
			_, s := startSCIM(t, scimsim.Options{}, nil)
			return s
		},
		Directory:  true,
		Flatten:    true,
		UserProps:  map[string]string{"emails.work": "mail", "name.givenName": "givenName", "name.familyName": "sn"},
		GroupProps: map[string]string{},
		// The plan id is the source key, written to externalId.
		DerivedID: func(_ plan.Kind, key string) string { return key },
		Managed:   providertest.Prop{Kind: plan.KindUser, Object: "bob", Name: "emails.work", Values: []string{"bob@elsewhere.example", "bob@drift.example"}},
		Unmanaged: providertest.Prop{Kind: plan.KindUser, Object: "bob", Name: "title", Values: []string{"Boss"}},
		ErrDrift:  scim.ErrDrift,
		Contend:   throttle,
	}
}

// throttle makes writes fail the way a rate-limited SCIM service answers
// them: 429 with a Retry-After (0 keeps the suite fast), two runs of
// three on the creates and one on the updates.
func throttle(s *providertest.Sim) {
	busy := fault.Fault{Status: http.StatusTooManyRequests, Message: "Too many requests", RetryAfter: "0", Count: 3}
	s.Fault(providertest.Create, busy)
	s.Fault(providertest.Update, busy)
	busy.Skip = 3
	s.Fault(providertest.Create, busy)
}

const token = "scim-Token-1"

// startSCIM starts scimsim and returns it with the suite's hooks.
// tweak, when not nil, changes the provider's configuration.
func startSCIM(t *testing.T, opts scimsim.Options, tweak func(*scim.Config)) (*scimsim.Server, *providertest.Sim) {
	opts.Token = token
	sim, url := scimsim.Start(t, opts)
	find := func(kind plan.Kind, name string) *scimsim.Object {
		o := sim.Find(scimsim.User, "userName", name)
		if kind == plan.KindGroup {
			o = sim.Find(scimsim.Group, "displayName", name)
		}
		if o == nil {
			t.Fatalf("scimsim has no %s %s", kind, name)
		}
		return o
	}
	return sim, &providertest.Sim{
		New: func() providertest.Provider {
			cfg := scim.Config{URL: url, Token: token, AllowInsecure: true, OnDelete: scim.OnDeleteDelete, PatchOperations: 3,
				UserAttributes: map[string]string{"userName": "{{ .uid }}", "name.givenName": "{{ .givenName }}",
					"name.familyName": "{{ .sn }}", "emails.work": "{{ .mail }}"},
				GroupAttributes: map[string]string{"displayName": "{{ .cn }}"}}
			if tweak != nil {
				tweak(&cfg)
			}
			if err := cfg.Resolve("inetorgperson"); err != nil {
				t.Fatal(err)
			}
			p, err := scim.New(cfg, providers.Env{Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			return p
		},
		Objects: func() []providertest.Object { return objects(sim) },
		Seed: func(o providertest.Object) {
			if o.Kind == plan.KindUser {
				sim.Seed(scimsim.User, map[string]any{"userName": o.Name, "name": map[string]any{"familyName": "Made by hand"}})
				return
			}
			var ids []string
			for _, m := range o.Members {
				ids = append(ids, find(plan.KindUser, m).ID)
			}
			sim.Seed(scimsim.Group, map[string]any{"displayName": o.Name}, ids...)
		},
		AddMember: func(group, member string) {
			m := sim.Find(scimsim.Group, "displayName", member)
			if m == nil {
				m = find(plan.KindUser, member)
			}
			sim.AddMember(find(plan.KindGroup, group).ID, m.ID)
		},
		Set: func(kind plan.Kind, name, prop, value string) {
			o := find(kind, name)
			r := scim.Resource(o.Attrs)
			r.Set(prop, value)
			sim.Modify(o.ID, r)
		},
		Fault: providertest.FaultByMethod(t, "SCIM", map[providertest.Op]string{providertest.Read: http.MethodGet, providertest.Create: http.MethodPost,
			providertest.Update: http.MethodPatch, providertest.Delete: http.MethodDelete}, sim.Inject),
		Answers: func() []int {
			var out []int
			for _, r := range sim.Requests() {
				out = append(out, r.Status)
			}
			return out
		},
	}
}

// objects returns the users and groups as neutral objects: the id is
// the externalId (scim-id:<id> without one), the props every string
// attribute, sub-attributes of name as name.<sub>, and emails.work.
func objects(sim *scimsim.Server) []providertest.Object {
	names := map[string]string{} // service id -> name
	var out []providertest.Object
	for _, kind := range []plan.Kind{plan.KindUser, plan.KindGroup} {
		typ, nameAttr := scimsim.User, "userName"
		if kind == plan.KindGroup {
			typ, nameAttr = scimsim.Group, "displayName"
		}
		for _, o := range sim.Objects(typ) {
			name, _ := o.Attrs[nameAttr].(string)
			names[o.ID] = name
			obj := providertest.Object{Kind: kind, ID: "scim-id:" + o.ID, Name: name, Props: map[string]string{}}
			for k, v := range o.Attrs {
				switch x := v.(type) {
				case string:
					if x != "" && k != nameAttr {
						obj.Props[k] = x
					}
				case map[string]any:
					for sub, sv := range x {
						if s, ok := sv.(string); ok && s != "" {
							obj.Props[k+"."+sub] = s
						}
					}
				}
			}
			if mail := scim.Resource(o.Attrs).Read("emails.work"); mail != "" {
				obj.Props["emails.work"] = mail
			}
			if ext := obj.Props["externalId"]; ext != "" {
				obj.ID = ext
				delete(obj.Props, "externalId")
			}
			out = append(out, obj)
		}
	}
	for i := range out {
		if out[i].Kind != plan.KindGroup {
			continue
		}
		g := sim.Find(scimsim.Group, "displayName", out[i].Name)
		for _, m := range g.Members {
			out[i].Members = append(out[i].Members, names[m.Value])
		}
		slices.Sort(out[i].Members)
	}
	return out
}

// TestConformanceListsWithoutMembers: against a service whose lists
// leave members out, each group is read on its own.
func TestConformanceListsWithoutMembers(t *testing.T) {
	h := harness()
	h.Start = func(t *testing.T, _ ldap.Config) *providertest.Sim {
		_, s := startSCIM(t, scimsim.Options{ListOmitsMembers: true}, nil)
		return s
	}
	providertest.SeedCases(t, h)
}

// TestConformanceWithoutPatch: against a service without PATCH (501),
// changes are PUTs of the whole resource, under If-Match.
func TestConformanceWithoutPatch(t *testing.T) {
	h := harness()
	h.Start = func(t *testing.T, _ ldap.Config) *providertest.Sim {
		_, s := startSCIM(t, scimsim.Options{NoPatch: true}, nil)
		return s
	}
	for name, c := range map[string]func(*testing.T, providertest.Harness){
		"SeedCases":                providertest.SeedCases,
		"Unmanaged":                providertest.Unmanaged,
		"DriftBetweenPlanAndApply": providertest.DriftBetweenPlanAndApply,
	} {
		t.Run(name, func(t *testing.T) { c(t, h) })
	}
}
