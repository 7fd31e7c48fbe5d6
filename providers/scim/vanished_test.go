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
	w := strings.Join(p.Warnings, "\n")
	for _, name := range []string{"alice", "dave", "grace"} {
		if !strings.Contains(w, "user "+name+" was made by ldapply") {
			t.Errorf("warnings %q do not name %s as vanished", w, name)
		}
	}
	if !strings.Contains(w, "3 managed objects vanished") {
		t.Errorf("warnings %q do not count the vanished objects", w)
	}
	e.MustApply(p)
	e.Converged()
}
