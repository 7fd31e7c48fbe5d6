package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

// TestGitLabExamplePlanJob runs the whole plan job of
// examples/gitlab-ci.yml, as GitLab's runner does (one bash script, set
// -e), against slapd, the Icinga simulator and a stand-in of GitLab's
// notes API: a plan without deletes passes, posts its review and its
// Terraform report; a plan that deletes fails the job with exit 4 after
// editing the review, which lists the delete first; the pipeline
// variable LDAPPLY_FAIL_ON_DELETE=false lets it pass.
func TestGitLabExamplePlanJob(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.sync()
	job := gitLabPlanJob(t, filepath.Join("..", "..", "examples", "gitlab-ci.yml"), "")
	th := &thread{}
	srv := gitLabStandIn(t, "42", "7", "tok", th)
	env := map[string]string{"GITLAB_CI": "true", "CI_API_V4_URL": srv.URL + "/api/v4", "CI_PROJECT_ID": "42",
		"CI_MERGE_REQUEST_IID": "7", "GITLAB_API_TOKEN": "tok", "LDAPPLY_TEST_LDAP_PASSWORD": testLDAPPassword, "LOG_LEVEL": "WARN"}
	marker := "<!-- ldapply:ldapply -->"
	run := func(wantCode int, wantReport string) string {
		t.Helper()
		out, err := stepCommand(t, job, e.dir, env).CombinedOutput()
		if code := exitStatus(err); code != wantCode {
			t.Fatalf("the job exited %d (%v), want %d:\n%s", code, err, wantCode, out)
		}
		report, err := os.ReadFile(filepath.Join(e.dir, "tfplan.json"))
		if err != nil || strings.TrimSpace(string(report)) != wantReport {
			t.Errorf("tfplan.json is %q (%v), want %s", report, err, wantReport)
		}
		// The report counts what plan.json (show --json) counts.
		var doc struct{ Summary map[string]int }
		if b, err := os.ReadFile(filepath.Join(e.dir, "plan.json")); err != nil || json.Unmarshal(b, &doc) != nil {
			t.Fatalf("plan.json: %v", err)
		}
		s := doc.Summary
		if want := fmt.Sprintf(`{"create":%d,"update":%d,"delete":%d}`, s["add"], s["change"]+s["rename"]+s["adopt"], s["destroy"]); want != wantReport {
			t.Errorf("plan.json counts %v, so the report should be %s", s, want)
		}
		notes := th.withMarker(marker)
		if len(notes) != 1 {
			t.Fatalf("%d notes with the marker, want 1", len(notes))
		}
		return string(out) + "\n" + notes[0].Body
	}
	if got := run(0, `{"create":0,"update":0,"delete":0}`); strings.Contains(got, "CAUTION") || !strings.Contains(got, "No changes.") {
		t.Errorf("a plan without changes:\n%s", got)
	}
	deleteUsers(e, "dave")
	// dave goes, and leaves the two groups he was in.
	got := run(exitDeletes, `{"create":0,"update":2,"delete":1}`)
	caution := strings.Index(got, "> [!CAUTION]\n> **This plan destroys 1 user.**")
	if caution < 0 || !strings.Contains(got[caution:], "> - user `dave` — key") ||
		!strings.Contains(got, "This plan deletes objects (listed at the top of plan.md)") {
		t.Errorf("a plan deleting dave: no callout naming him, or no policy message:\n%s", got)
	}
	if reqs := th.requests(); !slices.Contains(reqs, "POST") || !slices.ContainsFunc(reqs, func(r string) bool { return strings.HasPrefix(r, "PUT ") }) {
		t.Errorf("the two runs made %q, want a note added, then edited", reqs)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "sync.plan")); err != nil {
		t.Errorf("the failed job left no plan file for review: %v", err)
	}
	env["LDAPPLY_FAIL_ON_DELETE"] = "false"
	run(0, `{"create":0,"update":2,"delete":1}`)
}
