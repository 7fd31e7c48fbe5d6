package main

import (
	"os"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/planfile"
)

// TestPlanFailOnDelete: plan --fail-on-delete exits 4 when the plan
// deletes anything, after showing it and writing the plan file for
// review, and exits as before when it deletes nothing; the code wins
// over --detailed-exitcode's 2.
func TestPlanFailOnDelete(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.sync()
	e.must(0, "plan", "--fail-on-delete", "--out", e.path("none.plan"))
	deleteUsers(e, "dave")
	out, errs, code := e.run("plan", "--fail-on-delete", "--detailed-exitcode", "--out", e.path("del.plan"))
	want := "the plan deletes 1 user and --fail-on-delete is set"
	if code != exitDeletes || !strings.Contains(errs, want) {
		t.Fatalf("a plan deleting dave exited %d, want %d and %q:\n%s", code, exitDeletes, want, errs)
	}
	if !strings.Contains(out, "- user dave") {
		t.Errorf("the plan is not shown:\n%s", out)
	}
	f, err := os.Open(e.path("del.plan"))
	if err != nil {
		t.Fatalf("the plan file was not written for review: %v", err)
	}
	defer f.Close()
	p, err := planfile.Read(f, nil)
	if err != nil {
		t.Fatalf("the plan file was not written for review: %v", err)
	}
	if s := p.Summarize(); s.Destroy != 1 {
		t.Errorf("the plan file holds %+v, want the delete", s)
	}
	if _, _, code := e.run("plan", "--detailed-exitcode"); code != exitChanges {
		t.Errorf("without --fail-on-delete the plan exited %d, want %d", code, exitChanges)
	}
}
