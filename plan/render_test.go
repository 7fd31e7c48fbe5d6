package plan_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/plan/plantest"
	"github.com/sergi/go-diff/diffmatchpatch"
)

// Use go test ./plan -update to rewrite the golden files; review the diff.
var update = flag.Bool("update", false, "update golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./plan -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		dmp := diffmatchpatch.New()
		a, b, lines := dmp.DiffLinesToChars(string(want), string(got))
		diffs := dmp.DiffCharsToLines(dmp.DiffMain(a, b, false), lines)
		t.Errorf("%s differs from the golden file:\n%s", name, dmp.DiffPrettyText(diffs))
	}
}

func TestRenderGolden(t *testing.T) {
	for _, tc := range []struct {
		file   string
		format plan.Format
		opts   plan.RenderOptions
	}{
		{"plan.txt.golden", plan.FormatText, plan.RenderOptions{}},
		{"plan.color.golden", plan.FormatText, plan.RenderOptions{Color: true}},
		{"plan.md.golden", plan.FormatMarkdown, plan.RenderOptions{MaxListItems: 2}},
		{"plan.json.golden", plan.FormatJSON, plan.RenderOptions{}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var buf bytes.Buffer
			if err := plan.Render(&buf, plantest.SamplePlan(), tc.format, tc.opts); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, buf.Bytes())
		})
	}
}

func TestRenderEmpty(t *testing.T) {
	p := plantest.SamplePlan()
	p.Changes, p.Warnings = nil, nil
	var buf bytes.Buffer
	if err := plan.Render(&buf, p, plan.FormatText, plan.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte("No changes. The target matches the directory.")) {
		t.Errorf("empty plan text lacks the no-changes line:\n%s", buf.String())
	}
	buf.Reset()
	if err := plan.Render(&buf, p, plan.FormatJSON, plan.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		NoChanges bool              `json:"no_changes"`
		Changes   []json.RawMessage `json:"changes"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil || !doc.NoChanges || doc.Changes == nil || len(doc.Changes) != 0 {
		t.Errorf("empty plan JSON = %s (err %v), want no_changes true and changes []", buf.String(), err)
	}
}

func TestRenderJSONIsValidAndHidesSecrets(t *testing.T) {
	var buf bytes.Buffer
	if err := plan.Render(&buf, plantest.SamplePlan(), plan.FormatJSON, plan.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(buf.Bytes()) {
		t.Fatalf("invalid JSON:\n%s", buf.String())
	}
	for _, secret := range []string{`"h1"`, `"h2"`} {
		if bytes.Contains(buf.Bytes(), []byte(secret)) {
			t.Errorf("JSON output contains the sensitive value %s", secret)
		}
	}
}

// TestRefsName: a member is shown by its name, with the nested group it
// came through in its owner's list only, or by its id when unnamed.
func TestRefsName(t *testing.T) {
	r := plan.Refs{
		Names: map[string]string{"u-dave": "dave", "u-ann": "ann"},
		Via:   map[plan.Via]string{{Owner: "g-ops", Member: "u-dave"}: "dev", {Owner: "g-ops", Member: "u-x"}: "dev"},
	}
	for _, tc := range []struct{ owner, id, want string }{
		{"g-ops", "u-dave", "dave (via dev)"},
		{"g-other", "u-dave", "dave"},
		{"g-ops", "u-ann", "ann"},
		{"g-ops", "u-x", "u-x (via dev)"},
		{"g-ops", "u-none", "u-none"},
	} {
		if got := r.Name(tc.owner, tc.id); got != tc.want {
			t.Errorf("Name(%q, %q) = %q, want %q", tc.owner, tc.id, got, tc.want)
		}
	}
	var empty plan.Refs
	if got := empty.Name("g", "u"); got != "u" {
		t.Errorf("Name on empty refs = %q, want the id", got)
	}
}
