package udm_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/fixtures/fault"
	"github.com/ldapply/ldapply/fixtures/udmsim"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers"
	"github.com/ldapply/ldapply/providers/ldap"
	"github.com/ldapply/ldapply/providers/providertest"
	"github.com/ldapply/ldapply/providers/udm"
)

// TestConformance runs the provider conformance suite against the UDM
// REST simulator.
func TestConformance(t *testing.T) {
	providertest.Run(t, harness())
}

func harness() providertest.Harness {
	return providertest.Harness{
		Start: func(t *testing.T, _ ldap.Config) *providertest.Sim {
			_, s := startUDM(t)
			return s
		},
		Directory:  true,
		UserProps:  map[string]string{"mailPrimaryAddress": "mail", "firstname": "givenName", "lastname": "sn", "description": "description"},
		GroupProps: map[string]string{"description": "description"},
		// The target id is the source key, written to the key property.
		DerivedID: func(_ plan.Kind, key string) string { return key },
		Managed:   providertest.Prop{Kind: plan.KindUser, Object: "bob", Name: "mailPrimaryAddress", Values: []string{"bob@elsewhere.example", "bob@drift.example"}},
		Unmanaged: providertest.Prop{Kind: plan.KindUser, Object: "bob", Name: "title", Values: []string{"Boss"}},
		ErrDrift:  udm.ErrDrift,
		Contend:   contendLikeUCSUnderLoad,
	}
}

// TestPlacement: users and groups are created in user_ou and group_ou
// with the name as RDN, a rename moves the DN, the key property holds
// the source key, and mailPrimaryAddress is written lower-cased, as UCS
// stores it.
func TestPlacement(t *testing.T) {
	var sim *udmsim.Server
	h := harness()
	h.Start = func(t *testing.T, _ ldap.Config) *providertest.Sim {
		var s *providertest.Sim
		sim, s = startUDM(t)
		return s
	}
	e := providertest.NewEnv(t, h)
	e.Sync()
	e.LDIF(`dn: uid=ivan,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: ivan
cn: Ivan Ivanov
sn: Ivanov
mail: Ivan@Example.com

dn: uid=carol,ou=people,dc=example,dc=com
changetype: modrdn
newrdn: uid=caroline
deleteoldrdn: 1
`)
	e.MustApply(e.MustPlan())
	for _, o := range e.Sim.Objects() {
		dn := "uid=" + o.Name + "," + userOU
		if o.Kind == plan.KindGroup {
			dn = "cn=" + o.Name + "," + groupOU
		}
		got := sim.Find(udmsim.Users, "username", o.Name)
		if o.Kind == plan.KindGroup {
			got = sim.Find(udmsim.Groups, "name", o.Name)
		}
		if !strings.EqualFold(got.DN, dn) || got.Properties[udm.DefaultKeyProperty] != o.ID {
			t.Errorf("%s %s is at %s with key %v, want %s with key %s", o.Kind, o.Name, got.DN, got.Properties[udm.DefaultKeyProperty], dn, o.ID)
		}
	}
	if got := e.Find(plan.KindUser, "ivan").Props["mailPrimaryAddress"]; got != "ivan@example.com" {
		t.Errorf("ivan's mailPrimaryAddress is %q, want it lower-cased", got)
	}
	if again := e.MustPlan(); len(again.Changes) > 0 {
		t.Errorf("a plan right after the apply has %d changes", len(again.Changes))
	}
}

const (
	udmUser, udmPassword = "svc-udm", "udm-Secret-17"
	userOU               = "cn=synced-users,dc=ucs,dc=test"
	groupOU              = "cn=synced-groups,dc=ucs,dc=test"
)

// startUDM starts udmsim and returns it with the suite's hooks.
func startUDM(t *testing.T) (*udmsim.Server, *providertest.Sim) {
	sim, url := udmsim.Start(t, udmsim.Options{Users: map[string]string{udmUser: udmPassword}})
	find := func(kind plan.Kind, name string) *udmsim.Object {
		typ, prop := udmsim.Users, "username"
		if kind == plan.KindGroup {
			typ, prop = udmsim.Groups, "name"
		}
		o := sim.Find(typ, prop, name)
		if o == nil {
			t.Fatalf("udmsim has no %s %s", typ, name)
		}
		return o
	}
	return sim, &providertest.Sim{
		New: func() providertest.Provider {
			cfg := udm.Config{URL: url, AllowInsecure: true, Username: udmUser, Password: udmPassword, UserOU: userOU, GroupOU: groupOU,
				UserProperties: map[string]string{"username": "{{ .uid }}", "firstname": "{{ .givenName }}", "lastname": "{{ or .sn .uid }}",
					"mailPrimaryAddress": "{{ .mail }}", "description": "{{ .description }}"},
				GroupProperties: map[string]string{"name": "{{ .cn }}", "description": "{{ .description }}"}}
			if err := cfg.Resolve("inetorgperson"); err != nil {
				t.Fatal(err)
			}
			p, err := udm.New(cfg, providers.Env{Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			return p
		},
		Objects: func() []providertest.Object { return udmObjects(sim) },
		Seed: func(o providertest.Object) {
			if o.Kind == plan.KindUser {
				// A UCS-local user, outside user_ou.
				sim.Seed(udmsim.Users, "cn=users,"+sim.Base(), map[string]any{"username": o.Name, "lastname": "Made by hand", "mailPrimaryAddress": o.Name + "@hand.example.com"})
				return
			}
			// An unbound group in group_ou, which ldapply reads.
			var dns []string
			for _, m := range o.Members {
				dns = append(dns, find(plan.KindUser, m).DN)
			}
			sim.Seed(udmsim.Groups, groupOU, map[string]any{"name": o.Name, "users": dns, "description": "Made by hand"})
		},
		AddMember: func(group, member string) {
			g := find(plan.KindGroup, group)
			if m := sim.Find(udmsim.Groups, "name", member); m != nil {
				sim.Modify(g.DN, map[string]any{"nestedGroup": append(dnList(g.Properties["nestedGroup"]), m.DN)})
				return
			}
			sim.Modify(g.DN, map[string]any{"users": append(dnList(g.Properties["users"]), find(plan.KindUser, member).DN)})
		},
		Set: func(kind plan.Kind, name, prop, value string) {
			sim.Modify(find(kind, name).DN, map[string]any{prop: value})
		},
		Fault: providertest.FaultByMethod(t, "UDM", map[providertest.Op]string{providertest.Read: http.MethodGet, providertest.Create: http.MethodPost,
			providertest.Update: http.MethodPut, providertest.Delete: http.MethodDelete}, sim.Inject),
		Answers: func() []int {
			var out []int
			for _, r := range sim.Requests() {
				out = append(out, r.Status)
			}
			return out
		},
	}
}

// udmObjects returns the users and groups but the built-in Domain
// Users as neutral objects: the id is the key property's value (the DN
// when it has none), the props every single-valued property.
func udmObjects(sim *udmsim.Server) []providertest.Object {
	names := map[string]string{} // lower-case DN -> name
	var out []providertest.Object
	for _, kind := range []plan.Kind{plan.KindUser, plan.KindGroup} {
		typ, nameProp := udmsim.Users, "username"
		if kind == plan.KindGroup {
			typ, nameProp = udmsim.Groups, "name"
		}
		for _, o := range sim.Objects(typ) {
			names[strings.ToLower(o.DN)] = o.Properties[nameProp].(string)
			if strings.EqualFold(o.DN, sim.DomainUsers()) {
				continue
			}
			obj := providertest.Object{Kind: kind, ID: o.DN, Name: names[strings.ToLower(o.DN)], Props: map[string]string{}}
			for k, v := range o.Properties {
				if s, ok := v.(string); ok && s != "" {
					obj.Props[k] = s
				}
			}
			if key := obj.Props[udm.DefaultKeyProperty]; key != "" {
				obj.ID = key
			}
			out = append(out, obj)
		}
	}
	for i := range out {
		o := &out[i]
		if o.Kind != plan.KindGroup {
			continue
		}
		g := sim.Find(udmsim.Groups, "name", o.Name)
		for _, list := range []string{"users", "nestedGroup"} {
			for _, dn := range dnList(g.Properties[list]) {
				o.Members = append(o.Members, names[strings.ToLower(dn)])
			}
		}
		slices.Sort(o.Members)
	}
	return out
}

// dnList returns a list property's DNs.
func dnList(v any) []string {
	switch l := v.(type) {
	case []string:
		return slices.Clone(l)
	case []any:
		var out []string
		for _, x := range l {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

// contendLikeUCSUnderLoad makes writes fail the way a busy UCS answers
// them: 503 with a Retry-After (UCS sends 15 seconds; 0 keeps the
// suite fast), two runs of three on the creates and one on the updates.
func contendLikeUCSUnderLoad(s *providertest.Sim) {
	busy := fault.Fault{Status: http.StatusServiceUnavailable, Message: "Service Unavailable", RetryAfter: "0", Count: 3}
	s.Fault(providertest.Create, busy)
	s.Fault(providertest.Update, busy)
	busy.Skip = 3
	s.Fault(providertest.Create, busy)
}
