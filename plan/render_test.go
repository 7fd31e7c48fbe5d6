package plan_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/ldapply/ldapply/plan"
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
			if err := plan.Render(&buf, samplePlan(), tc.format, tc.opts); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, buf.Bytes())
		})
	}
}

func TestRenderEmpty(t *testing.T) {
	p := samplePlan()
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
	if err := plan.Render(&buf, samplePlan(), plan.FormatJSON, plan.RenderOptions{}); err != nil {
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
