package scim_test

import (
	"net/http"
	"testing"

	"github.com/ldapply/ldapply/fixtures/scimsim"
	"github.com/ldapply/ldapply/providers/providertest"
)

// devReshuffled swaps dev's members: three leave, four join, seven
// member changes, which patch_operations 3 sends in three PATCHes.
const devReshuffled = `dn: cn=dev,ou=groups,dc=example,dc=com
changetype: modify
replace: member
member: uid=alice,ou=people,dc=example,dc=com
member: uid=bob,ou=people,dc=example,dc=com
member: uid=frank,ou=people,dc=example,dc=com
member: uid=grace,ou=people,dc=example,dc=com
`

// TestMemberPatchResumes: when a chunk of a group's member PATCHes
// lands but its answer is lost (or is an error after the write), the
// repeat under If-Match meets 412; ldapply reads the group again, sees
// only its own changes there, and sends the rest instead of reporting
// drift.
func TestMemberPatchResumes(t *testing.T) {
	for name, f := range map[string]scimsim.Fault{
		"lost answer":         {Method: http.MethodPatch, Path: "Groups/", Skip: 1, Count: 2, Drop: true, AfterWrite: true},
		"503 after the write": {Method: http.MethodPatch, Path: "Groups/", Skip: 1, Count: 2, Status: http.StatusServiceUnavailable, AfterWrite: true, RetryAfter: "0"},
	} {
		t.Run(name, func(t *testing.T) {
			e, sim := lifecycleEnv(t, scimsim.Options{}, nil)
			e.LDIF(devReshuffled)
			p := e.MustPlan()
			providertest.WantChanges(t, p, "update group all-staff", "update group dev")
			sim.Inject(f)
			e.MustApply(p)
			e.Converged()
			got := 0
			for _, r := range sim.Requests() {
				if r.Method == http.MethodPatch && r.Status == http.StatusPreconditionFailed {
					got++
				}
			}
			if got == 0 {
				t.Error("no PATCH met a 412: the fault did not make a chunk land twice")
			}
		})
	}
}
