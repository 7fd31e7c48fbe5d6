package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// readmePath matches what README.md points into the repository: a
// Markdown link's target or a quoted path under docs/, examples/, bench/
// or packaging/.
var readmePath = regexp.MustCompile("(?:\\]\\(|`)((?:docs|examples|bench|packaging)/[^)`\\s#]+)")

// TestReadmeLinksResolve wants every file README.md names to exist, and
// the README to stay short (issue 21: at most about 15 KB; the details
// belong in docs/).
func TestReadmeLinksResolve(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 15*1024 {
		t.Errorf("README.md is %d bytes, over 15 KiB: move details into docs/ and link them", len(b))
	}
	m := readmePath.FindAllSubmatch(b, -1)
	if len(m) < 10 {
		t.Fatalf("README.md names only %d files under docs/, examples/, bench/, packaging/", len(m))
	}
	for _, p := range m {
		name := string(p[1])
		if _, err := os.Stat(filepath.Join("../..", name)); err != nil {
			t.Errorf("README.md names %s, which does not exist", name)
		}
	}
}
