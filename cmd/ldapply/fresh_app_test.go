package main

import (
	"bytes"
	"testing"
)

// TestCommandsFreshPerApp runs the same command line twice in one process:
// urfave/cli changes a command the first time it runs, so a command shared
// between apps would answer the second run differently.
func TestCommandsFreshPerApp(t *testing.T) {
	for _, args := range [][]string{
		{"ldapply", "teamwire", "status", "--help"},
		{"ldapply", "comment", "--help"},
	} {
		var first, second bytes.Buffer
		c1 := Main(args, &first, &first)
		c2 := Main(args, &second, &second)
		if c1 != c2 || first.String() != second.String() {
			t.Errorf("%v: the second run differs from the first (exit %d, then %d):\n%s\n---\n%s", args[1:], c1, c2, first.String(), second.String())
		}
	}
}
