package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/plan/plantest"
	"github.com/ldapply/ldapply/planfile"
)

// writePlanFile writes the sample plan (1 add, 1 adopt, 2 changes, 1
// rename, 2 deletes) to a file and returns its path.
func writePlanFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sample.plan")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := planfile.Write(f, plantest.SamplePlan(), nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestShowGitLabReport: show --gitlab-report writes the three counts
// GitLab's merge-request widget requires, to a file beside the
// Markdown or alone to stdout; renames and adoptions count as updates.
func TestShowGitLabReport(t *testing.T) {
	path := writePlanFile(t)
	want := map[string]any{"create": 1.0, "update": 4.0, "delete": 2.0}
	check := func(name string, b []byte) {
		t.Helper()
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v: %q", name, err, b)
		}
		if len(got) != 3 || got["create"] != want["create"] || got["update"] != want["update"] || got["delete"] != want["delete"] {
			t.Errorf("%s: report %v, want %v", name, got, want)
		}
	}
	report := filepath.Join(t.TempDir(), "tfplan.json")
	var out, errb bytes.Buffer
	if code := Main([]string{"ldapply", "show", "--markdown", "--gitlab-report", report, path}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "**Plan: 1 to add") || !strings.Contains(out.String(), "ldapply show checked") {
		t.Errorf("the Markdown is not whole beside the report:\n%s", out.String())
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	check("file", b)
	out.Reset()
	if code := Main([]string{"ldapply", "show", "--gitlab-report", "-", path}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	check("stdout", out.Bytes())
	if code := Main([]string{"ldapply", "show", "--json", "--gitlab-report", "-", path}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "give the report a file name") {
		t.Errorf("--json with the report on stdout: exit %d, %s", code, errb.String())
	}
}
