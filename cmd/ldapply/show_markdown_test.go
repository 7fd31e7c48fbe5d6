package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ldapply/ldapply/plan/plantest"
	"github.com/ldapply/ldapply/planfile"
)

// TestShowMarkdownBudget: `show --markdown` keeps a large plan within
// GitHub's comment limit by default and within --max-chars when given,
// and refuses a budget too small for the summary.
func TestShowMarkdownBudget(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.plan")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := planfile.Write(f, plantest.CreatePlan(20000), nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		max  int
	}{
		{nil, 65536},
		{[]string{"--max-chars", "8000"}, 8000},
		{[]string{"--max-chars", "1000000"}, 1000000},
	} {
		var out, errb bytes.Buffer
		args := append(append([]string{"ldapply", "show", "--markdown"}, tc.args...), path)
		if code := Main(args, &out, &errb); code != 0 {
			t.Fatalf("%v exited %d: %s", args, code, errb.String())
		}
		if n := utf8.RuneCount(out.Bytes()); n > tc.max || n < tc.max/2 {
			t.Errorf("%v: %d characters, want at most %d and most of it used", tc.args, n, tc.max)
		}
		if !strings.HasPrefix(out.String(), "**Plan: 20400 to add,") {
			t.Errorf("%v: no summary first: %.100s", tc.args, out.String())
		}
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"ldapply", "show", "--markdown", "--max-chars", "100", path}, &out, &errb); code == 0 ||
		!strings.Contains(errb.String(), "give at least") {
		t.Errorf("a 100-character budget: exit %d, stderr %q; want a refusal naming the minimum", code, errb.String())
	}
}
