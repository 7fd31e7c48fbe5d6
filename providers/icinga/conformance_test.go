package icinga_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/fixtures/fault"
	"github.com/ldapply/ldapply/fixtures/icingasim"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/icinga"
	"github.com/ldapply/ldapply/providers/ldap"
	"github.com/ldapply/ldapply/providers/providertest"
)

// TestConformance runs the provider conformance suite against the
// Icinga simulator.
func TestConformance(t *testing.T) {
	providertest.Run(t, harness())
}

func harness() providertest.Harness {
	ns := uuid.MustParse(icinga.DefaultNamespace)
	return providertest.Harness{
		Start:      startIcinga,
		Directory:  true,
		Flatten:    true,
		UserProps:  map[string]string{"email": "mail", "full_name": "cn"},
		GroupProps: nil, // a contact group has a name and members only
		DerivedID: func(kind plan.Kind, key string) string {
			if kind == plan.KindUser {
				return uuid.NewSHA1(ns, []byte("contact:"+key)).String()
			}
			return uuid.NewSHA1(ns, []byte("group:"+key)).String()
		},
		Managed:   providertest.Prop{Kind: plan.KindUser, Object: "bob", Name: "email", Values: []string{"bob@elsewhere.example", "bob@drift.example"}},
		Unmanaged: providertest.Prop{Kind: plan.KindUser, Object: "bob", Name: "webhook", Values: []string{"https://hooks.example.com/bob"}},
		ErrDrift:  apply.ErrDrift,
		Contend:   contendLikeTheRealServer,
	}
}

// TestMappingDefaults: with the default mapping a user without a mail
// address is left out of the plan with a warning naming it, and a
// user's displayName wins over its cn as the full name.
func TestMappingDefaults(t *testing.T) {
	e := providertest.NewEnv(t, harness())
	e.Sync()
	e.LDIF(`dn: uid=nomail,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: nomail
cn: No Mail
sn: Mail

dn: uid=bob,ou=people,dc=example,dc=com
changetype: modify
add: displayName
displayName: Robert Baker
-
`)
	p := e.MustPlan()
	providertest.WantChanges(t, p, "update user bob")
	if !slices.ContainsFunc(p.Warnings, func(w string) bool {
		return strings.Contains(w, "uid=nomail,ou=people,dc=example,dc=com") && strings.Contains(w, "has no email address and is skipped")
	}) {
		t.Errorf("plan warnings %q do not say that nomail is skipped for want of an email address", p.Warnings)
	}
	e.MustApply(p)
	if e.Has(plan.KindUser, "nomail") {
		t.Error("the user without mail was created")
	}
	if got := e.Find(plan.KindUser, "bob").Props["full_name"]; got != "Robert Baker" {
		t.Errorf("bob's full name is %q, want his displayName", got)
	}
	if again := e.MustPlan(); len(again.Changes) > 0 {
		t.Errorf("a plan right after the apply has %d changes", len(again.Changes))
	}
}

const icingaUser, icingaPassword = "svc-icinga", "icinga-Secret-42"

func startIcinga(t *testing.T, _ ldap.Config) *providertest.Sim {
	sim, url := icingasim.Start(t, icingasim.Options{Users: map[string]string{icingaUser: icingaPassword}})
	contact := func(username string) icingasim.Contact {
		for _, c := range sim.Contacts() {
			if c.Username != nil && *c.Username == username {
				return c
			}
		}
		t.Fatalf("icingasim has no contact %s", username)
		return icingasim.Contact{}
	}
	group := func(name string) icingasim.Group {
		for _, g := range sim.Groups() {
			if g.Name == name {
				return g
			}
		}
		t.Fatalf("icingasim has no contact group %s", name)
		return icingasim.Group{}
	}
	return &providertest.Sim{
		New: func() providertest.Provider {
			return icinga.NewForTest(t, url, icingaUser, icingaPassword)
		},
		Objects: func() []providertest.Object { return icingaObjects(sim) },
		Seed: func(o providertest.Object) {
			switch o.Kind {
			case plan.KindUser:
				name := o.Name
				sim.Seed([]icingasim.Contact{{ID: uuid.NewString(), FullName: "Made by hand", Username: &name,
					DefaultChannel: icingasim.DefaultChannelID, Addresses: map[string]string{"email": name + "@hand.example.com"}}}, nil)
			case plan.KindGroup:
				var ids []string
				for _, m := range o.Members {
					ids = append(ids, contact(m).ID)
				}
				sim.Seed(nil, []icingasim.Group{{ID: uuid.NewString(), Name: o.Name, Users: ids}})
			}
		},
		AddMember: func(g, member string) {
			grp := group(g)
			sim.Seed(nil, []icingasim.Group{{ID: grp.ID, Name: grp.Name, Users: []string{contact(member).ID}}})
		},
		Set: func(kind plan.Kind, name, prop, value string) {
			if kind != plan.KindUser {
				grp := group(name)
				grp.Name = value // a group's only property
				sim.Seed(nil, []icingasim.Group{grp})
				return
			}
			c := contact(name)
			if prop == "full_name" {
				c.FullName = value
			} else {
				c.Addresses[prop] = value
			}
			sim.Seed([]icingasim.Contact{c}, nil)
		},
		// Creates and updates are both PUTs: an upsert.
		Fault: providertest.FaultByMethod(t, "Icinga", map[providertest.Op]string{providertest.Read: http.MethodGet, providertest.Create: http.MethodPut,
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

// icingaObjects returns the contacts and contact groups as neutral
// objects: a contact's email and other addresses, by channel type, and
// full_name.
func icingaObjects(sim *icingasim.Server) []providertest.Object {
	var out []providertest.Object
	names := map[string]string{}
	for _, c := range sim.Contacts() {
		o := providertest.Object{Kind: plan.KindUser, ID: c.ID, Props: map[string]string{"full_name": c.FullName}}
		if c.Username != nil {
			o.Name = *c.Username
		}
		for k, v := range c.Addresses {
			o.Props[k] = v
		}
		names[c.ID] = o.Name
		out = append(out, o)
	}
	for _, g := range sim.Groups() {
		o := providertest.Object{Kind: plan.KindGroup, ID: g.ID, Name: g.Name}
		for _, id := range g.Users {
			o.Members = append(o.Members, names[id])
		}
		slices.Sort(o.Members)
		out = append(out, o)
	}
	return out
}

// contendLikeTheRealServer adds, to the conflicts icingasim makes by
// default (§8 of the contract: overlapping writes fail with 500 "An
// error occurred, please check the log." and store nothing), two runs of
// three such answers on the first PUTs, so that the case meets
// contention however the simulator's random draws fall.
func contendLikeTheRealServer(s *providertest.Sim) {
	conflict := fault.Fault{Status: http.StatusInternalServerError, Message: "An error occurred, please check the log.", Count: 3}
	s.Fault(providertest.Update, conflict)
	conflict.Skip = 3
	s.Fault(providertest.Update, conflict)
}
