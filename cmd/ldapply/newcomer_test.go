package main

import (
	"strings"
	"testing"
)

// TestEmptyPlanSaysNothingToApply: a plan without changes is still saved
// (a pipeline may always apply its plan), but it does not tell the user
// to run apply.
func TestEmptyPlanSaysNothingToApply(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.sync()
	out := e.must(0, "plan", "--out", e.path("none.plan"))
	if want := "Saved the plan to " + e.path("none.plan") + ". It has no changes, so there is nothing to apply."; !strings.Contains(out, want) {
		t.Errorf("an empty plan does not say %q:\n%s", want, out)
	}
	if strings.Contains(out, "ldapply apply") {
		t.Errorf("an empty plan tells the user to apply it:\n%s", out)
	}
	if out := e.must(0, "apply", e.path("none.plan")); !strings.Contains(out, "Nothing to apply.") {
		t.Errorf("applying an empty plan says:\n%s", out)
	}
}
