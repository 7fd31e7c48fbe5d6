package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/fixtures/icingasim"
	"github.com/ldapply/ldapply/plan"
)

// TestFailedCreateDegradesGroup: grace's create fails, and r&d (lab)*,
// which holds her and alice, is still written, with alice. Apply exits 1
// and its summary counts and lists the failed change and the degraded
// one apart; the run record counts the degraded change. Once the fault
// is gone, the next plan creates grace and adds her, and the plan after
// that is empty.
func TestFailedCreateDegradesGroup(t *testing.T) {
	e := newEnv(t, envOptions{})
	graceID := contactID(e.entryUUID("uid=grace,ou=people,dc=example,dc=com"))
	e.must(0, "plan", "--out", e.path("first.plan"))
	// A validation error is final (never retried). icingasim cannot
	// remove a fault, so it fails the one PUT this apply makes and is
	// spent after it: the cause fixed before the next apply.
	e.sim.Inject(icingasim.Fault{Method: "PUT", Path: "contacts/" + graceID, Status: 422, Message: "Invalid request body: simulated", Count: 1})
	out, errs, code := e.run("apply", e.path("first.plan"))
	if code != exitError {
		t.Fatalf("apply exited %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitError, out, errs)
	}
	for _, want := range []string{
		"; 1 failed, 1 degraded (written without what failed), 0 not started.",
		"Failed:\n  create user grace\n",
		"Degraded (the next plan adds what they left out once it exists):\n  create group r&d (lab)*, without grace\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("apply output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "create user grace") || !strings.Contains(errs, "simulated") || strings.Contains(errs, "create group") {
		t.Errorf("stderr should name grace's failure alone:\n%s", errs)
	}
	if e.contact("grace") != nil {
		t.Fatal("grace was created despite the fault")
	}
	g := e.group("r&d (lab)*")
	if g == nil {
		t.Fatal("the group holding grace was not written")
	}
	if got := e.memberNames(g); !slices.Equal(got, []string{"alice"}) {
		t.Errorf("r&d (lab)* holds %v, want alice alone", got)
	}
	var doc statusDoc
	if err := json.Unmarshal([]byte(e.must(0, "status", "--json")), &doc); err != nil || len(doc.Runs) != 1 {
		t.Fatalf("status --json: %v, %d runs", err, len(doc.Runs))
	}
	if c := doc.Runs[0].Counts; c["failed"] != 1 || c["degraded"] != 1 || c["create"] != 12 {
		t.Errorf("run record counts %v, want 12 create (the degraded group among them), 1 failed, 1 degraded", c)
	}

	second := e.must(exitChanges, "plan", "--detailed-exitcode", "--out", e.path("second.plan"))
	for _, want := range []string{"+ user grace", "~ group r&d (lab)*", "Plan: 1 to add, 1 to change, 0 to rename, 0 to destroy."} {
		if !strings.Contains(second, want) {
			t.Errorf("the plan after the failure lacks %q:\n%s", want, second)
		}
	}
	e.must(0, "apply", e.path("second.plan"))
	if got := e.memberNames(e.group("r&d (lab)*")); !slices.Equal(got, []string{"alice", "grace"}) {
		t.Errorf("r&d (lab)* holds %v, want alice and grace", got)
	}
	if again := e.must(0, "plan", "--detailed-exitcode"); !strings.Contains(again, "No changes.") {
		t.Errorf("a further plan is not empty:\n%s", again)
	}
}

// TestListOutcomesBounded: a long run of failures, and a degraded change
// without many members, are listed in part, saying how many more.
func TestListOutcomesBounded(t *testing.T) {
	res := &apply.Result{}
	var without []string
	for i := range 25 {
		name := fmt.Sprintf("u%02d", i)
		c := &plan.Change{Action: plan.Create, Kind: plan.KindUser, ID: name, After: &plan.Object{Name: name}}
		res.Failed = append(res.Failed, &apply.ChangeError{Change: c, Err: errors.New("no")})
		without = append(without, name)
	}
	g := &plan.Change{Action: plan.Update, Kind: plan.KindGroup, ID: "g", After: &plan.Object{Name: "staff"}}
	res.Degraded = []*apply.Degraded{{Change: g, Without: without}}
	var b strings.Builder
	listOutcomes(&b, res)
	out := b.String()
	for _, want := range []string{"  create user u19\n  and 5 more (the log names each)\n", "  update group staff, without u00, u01, ", "u19 and 5 more\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("listing lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "create user u20") {
		t.Errorf("listing is not bounded:\n%s", out)
	}
}
