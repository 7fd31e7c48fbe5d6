package scim_test

import (
	"strings"
	"testing"

	"github.com/ldapply/ldapply/fixtures/scimsim"
	"github.com/ldapply/ldapply/providers/ldap"
	"github.com/ldapply/ldapply/providers/providertest"
	"github.com/ldapply/ldapply/providers/scim"
)

// Grace (in no group) leaves the directory's scope and comes back with
// the same entry: a move keeps her primary key.
const (
	graceLeaves = `dn: uid=grace,ou=people,dc=example,dc=com
changetype: modrdn
newrdn: uid=grace
deleteoldrdn: 1
newsuperior: dc=example,dc=com
`
	graceReturns = `dn: uid=grace,dc=example,dc=com
changetype: modrdn
newrdn: uid=grace
deleteoldrdn: 1
newsuperior: ou=people,dc=example,dc=com
`
)

func lifecycleEnv(t *testing.T, opts scimsim.Options, tweak func(*scim.Config)) (*providertest.Env, *scimsim.Server) {
	var sim *scimsim.Server
	h := harness()
	h.Start = func(t *testing.T, _ ldap.Config) *providertest.Sim {
		var s *providertest.Sim
		sim, s = startSCIM(t, opts, tweak)
		return s
	}
	e := providertest.NewEnv(t, h)
	e.Sync()
	return e, sim
}

// TestDeactivateAndReactivate: with on_delete: deactivate (the default)
// against a service that cannot delete, a user gone from the directory
// is deactivated, left alone while away, and active again when she
// comes back.
func TestDeactivateAndReactivate(t *testing.T) {
	for name, opts := range map[string]scimsim.Options{"PATCH": {NoDelete: true}, "PUT": {NoDelete: true, NoPatch: true}} {
		t.Run(name, func(t *testing.T) { deactivateAndReactivate(t, opts) })
	}
}

func deactivateAndReactivate(t *testing.T, opts scimsim.Options) {
	e, sim := lifecycleEnv(t, opts, func(c *scim.Config) { c.OnDelete = scim.OnDeleteDeactivate })
	grace := sim.Find(scimsim.User, "userName", "grace")
	e.LDIF(graceLeaves)
	p := e.MustPlan()
	providertest.WantChanges(t, p, "delete user grace")
	e.MustApply(p)
	if got := sim.Get(grace.ID); got == nil || got.Attrs["active"] != false {
		t.Fatalf("after the delete grace is %+v, want her kept with active false", got)
	}
	providertest.WantChanges(t, e.MustPlan())

	e.LDIF(graceReturns)
	p = e.MustPlan()
	providertest.WantChanges(t, p, "adopt user grace")
	e.MustApply(p)
	if got := sim.Get(grace.ID); got.Attrs["active"] != true || got.ID != grace.ID {
		t.Errorf("after her return grace has active %v, want true", got.Attrs["active"])
	}
	e.Converged()
}

// TestUpsertOnly: with upsert_only nothing is deleted or deactivated;
// the plan says what it leaves.
func TestUpsertOnly(t *testing.T) {
	e, sim := lifecycleEnv(t, scimsim.Options{}, func(c *scim.Config) { c.UpsertOnly = true })
	e.LDIF(graceLeaves + "\n" + `dn: cn=dev,ou=groups,dc=example,dc=com
changetype: delete
`)
	p := e.MustPlan()
	for _, c := range p.Changes {
		if c.Action == '-' {
			t.Errorf("upsert_only plan deletes %s %s", c.Kind, c.Name())
		}
	}
	if w := strings.Join(p.Warnings, "\n"); !strings.Contains(w, "user grace is gone from the directory and stays") || !strings.Contains(w, "group dev") {
		t.Errorf("warnings = %q, want grace and dev named as kept", w)
	}
	e.MustApply(p)
	if g := sim.Find(scimsim.User, "userName", "grace"); g == nil || g.Attrs["active"] != true {
		t.Errorf("grace after an upsert_only apply: %+v, want her there and active", g)
	}
	if sim.Find(scimsim.Group, "displayName", "dev") == nil {
		t.Error("group dev was deleted under upsert_only")
	}
}
