package scim_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/fixtures/scimsim"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/ldap"
	"github.com/ldapply/ldapply/providers/providertest"
	"github.com/ldapply/ldapply/providers/scim"
)

// bulkOpts offers /Bulk with small limits: the 7 users of the suite's
// directory take several requests.
var bulkOpts = scimsim.Options{BulkMaxOperations: 3, BulkMaxPayloadSize: 1100}

// newEnv starts scimsim with opts and returns the suite's environment
// before its first sync.
func newEnv(t *testing.T, opts scimsim.Options, tweak func(*scim.Config)) (*providertest.Env, *scimsim.Server) {
	var sim *scimsim.Server
	h := harness()
	h.Start = func(t *testing.T, _ ldap.Config) *providertest.Sim {
		var s *providertest.Sim
		sim, s = startSCIM(t, opts, tweak)
		return s
	}
	return providertest.NewEnv(t, h), sim
}

// count counts the logged requests with method and path.
func count(sim *scimsim.Server, method, path string) int {
	n := 0
	for _, r := range sim.Requests() {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

// TestBulkCreates: against a service that offers /Bulk, the creates go
// there within maxOperations and maxPayloadSize (the simulator refuses
// a request beyond either with 413, which would send them one by one).
func TestBulkCreates(t *testing.T) {
	e, sim := newEnv(t, bulkOpts, nil)
	e.Sync()
	if n := count(sim, "POST", "Users") + count(sim, "POST", "Groups"); n != 0 {
		t.Errorf("%d creates went alone, want every one in bulk", n)
	}
	bulks := 0
	for _, r := range sim.Requests() {
		if r.Path != "Bulk" {
			continue
		}
		bulks++
		var req struct{ Operations []any }
		json.Unmarshal([]byte(r.Body), &req)
		if r.Status != http.StatusOK || len(req.Operations) > 3 || len(r.Body) > 1100 {
			t.Errorf("bulk request of %d operations, %d bytes answered %d; want 200 within 3 operations and 1100 bytes", len(req.Operations), len(r.Body), r.Status)
		}
	}
	if bulks < 4 { // 7 users in 3s, 3 groups
		t.Errorf("%d bulk requests for 7 users and 3 groups in 3s, want at least 4", bulks)
	}
}

// TestBulkOperationFails: an operation refused inside a bulk request
// fails the change it came from, with the service's words, and no
// other; a transient one (503) is sent again on its own and succeeds.
func TestBulkOperationFails(t *testing.T) {
	e, sim := newEnv(t, bulkOpts, nil)
	p := e.MustPlan()
	var users []string
	for _, c := range p.Changes {
		if c.Kind == plan.KindUser {
			users = append(users, c.Name())
		}
	}
	sim.Inject(scimsim.Fault{Method: "POST", Path: "Users", Skip: 1, Count: 1, Status: http.StatusBadRequest, Message: "the name is not allowed here"})
	sim.Inject(scimsim.Fault{Method: "POST", Path: "Users", Skip: 3, Count: 1, Status: http.StatusServiceUnavailable})
	res, err := e.Apply(p)
	if err == nil || len(res.Failed) != 1 {
		t.Fatalf("apply: %d failed (%v), want exactly the refused user", len(res.Failed), err)
	}
	f := res.Failed[0]
	if f.Change.Name() != users[1] || !strings.Contains(f.Error(), "the name is not allowed here") {
		t.Errorf("the failed change is %s %s (%v); want user %s with the service's detail", f.Change.Kind, f.Change.Name(), f, users[1])
	}
	for i, u := range users {
		if got := sim.Find(scimsim.User, "userName", u) != nil; got != (i != 1) {
			t.Errorf("user %s exists: %v; want every user but %s", u, got, users[1])
		}
	}
	if count(sim, "POST", "Users") != 1 {
		t.Errorf("%d users were created alone, want 1 (the one that met the 503)", count(sim, "POST", "Users"))
	}
	e.MustApply(e.MustPlan())
	e.Converged()
}

// TestBulkLostAnswer: a bulk request that landed but whose answer was
// lost makes no duplicates. Its creates are looked for by externalId
// and found; when that lookup fails too, they fail, and the next plan
// adopts what the request made.
func TestBulkLostAnswer(t *testing.T) {
	t.Run("found", func(t *testing.T) {
		e, sim := newEnv(t, bulkOpts, nil)
		sim.Inject(scimsim.Fault{Method: "POST", Path: "Bulk", Count: 1, Drop: true, AfterWrite: true})
		e.Sync()
		if n := len(sim.Objects(scimsim.User)); n != 7 {
			t.Errorf("%d users after the lost answer, want 7", n)
		}
	})
	t.Run("adopted next time", func(t *testing.T) {
		// Without filters the lookup cannot be made.
		opts := bulkOpts
		opts.NoFilter = true
		e, sim := newEnv(t, opts, nil)
		sim.Inject(scimsim.Fault{Method: "POST", Path: "Bulk", Count: 1, Drop: true, AfterWrite: true})
		res, err := e.Apply(e.MustPlan())
		if err == nil || len(res.Failed) != 3 {
			t.Fatalf("apply: %d failed (%v); want the 3 users of the lost request", len(res.Failed), err)
		}
		if !strings.Contains(res.Failed[0].Error(), "the next plan adopts it") {
			t.Errorf("the failure does not say what happens next: %v", res.Failed[0])
		}
		p := e.MustPlan()
		adopts := 0
		for _, c := range p.Changes {
			if c.Action == plan.Adopt {
				adopts++
			}
			if c.Action == plan.Create {
				t.Errorf("the next plan creates %s %s again", c.Kind, c.Name())
			}
		}
		if adopts != 3 {
			t.Errorf("the next plan adopts %d, want the 3 users the lost request made", adopts)
		}
		e.MustApply(p)
		e.Converged()
		if n := len(sim.Objects(scimsim.User)); n != 7 {
			t.Errorf("%d users, want 7", n)
		}
	})
}

// TestConformanceBulk: the whole suite against a service that offers
// /Bulk, where the injected create faults meet the bulk operations.
func TestConformanceBulk(t *testing.T) {
	h := harness()
	h.Start = func(t *testing.T, _ ldap.Config) *providertest.Sim {
		_, s := startSCIM(t, bulkOpts, nil)
		return s
	}
	providertest.Run(t, h)
}
