package scim_test

import (
	"strings"
	"testing"

	"github.com/ldapply/ldapply/fixtures/scimsim"
	"github.com/ldapply/ldapply/providers/providertest"
)

// TestVanishedUsers: users ldapply made and the service lost by hand
// (an admin's script, a restore) are shown as vanished managed objects
// in the plan's warnings, not only as creates.
func TestVanishedUsers(t *testing.T) {
	e, sim := lifecycleEnv(t, scimsim.Options{}, nil)
	for _, name := range []string{"alice", "dave", "grace"} {
		sim.Delete(sim.Find(scimsim.User, "userName", name).ID)
	}
	p := e.MustPlan()
	providertest.WantChanges(t, p, "create user alice", "create user dave", "create user grace",
		"update group all-staff", "update group dev", "update group ops")
	// The planner says it, as for every target.
	w := strings.Join(p.Warnings, "\n")
	if !strings.Contains(w, `3 managed users were deleted outside ldapply: the state binds them, but SCIM no longer has them ("alice", "dave", "grace")`) {
		t.Errorf("warnings %q do not count and name the vanished users", w)
	}
	e.MustApply(p)
	e.Converged()
}
