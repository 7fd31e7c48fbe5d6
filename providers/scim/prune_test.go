package scim_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/fixtures/scimsim"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/ldap"
	"github.com/ldapply/ldapply/providers/providertest"
)

// TestFailedCreatePruned: when one user's create is refused, the groups
// are still created with their other members, and the next plan and
// apply finish the job.
func TestFailedCreatePruned(t *testing.T) {
	var sim *scimsim.Server
	h := harness()
	h.Start = func(t *testing.T, _ ldap.Config) *providertest.Sim {
		var s *providertest.Sim
		sim, s = startSCIM(t, scimsim.Options{}, nil)
		return s
	}
	e := providertest.NewEnv(t, h)
	sim.Inject(scimsim.Fault{Method: http.MethodPost, Path: "Users", Skip: 2, Count: 1, Status: http.StatusBadRequest, Message: "refused by policy"})
	_, err := e.Apply(e.MustPlan())
	if err == nil || !strings.Contains(err.Error(), "refused by policy") {
		t.Fatalf("apply = %v, want the refused create's error", err)
	}
	users := map[string]bool{}
	for _, o := range sim.Objects(scimsim.User) {
		users[o.Attrs["userName"].(string)] = true
	}
	if len(users) != 6 {
		t.Fatalf("the service holds users %v, want 6 of the 7", users)
	}
	for _, name := range []string{"ops", "dev", "all-staff"} {
		if g := sim.Find(scimsim.Group, "displayName", name); g == nil || len(g.Members) == 0 {
			t.Errorf("group %s was not created with its other members: %+v", name, g)
		}
	}
	p := e.MustPlan()
	var creates []string
	for _, c := range p.Changes {
		if c.Action == plan.Create {
			creates = append(creates, c.Name())
		}
	}
	if len(creates) != 1 || users[creates[0]] {
		t.Errorf("the next plan creates %v, want the one refused user", creates)
	}
	e.MustApply(p)
	e.Converged()
}
