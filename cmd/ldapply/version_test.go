package main

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

// TestVersion: version prints the version, the commit set at build time
// and the Go version from the build info.
func TestVersion(t *testing.T) {
	old := commit
	commit, commitTime = "0123456789abcdef0123456789abcdef01234567", "2026-12-07T15:00:00Z"
	defer func() { commit, commitTime = old, "" }()
	var out, errb bytes.Buffer
	if code := Main([]string{"ldapply", "version"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	want := "ldapply " + version + "\ncommit 0123456789abcdef0123456789abcdef01234567 (2026-12-07T15:00:00Z)\n" + runtime.Version() + " "
	if !strings.HasPrefix(out.String(), want) {
		t.Errorf("version printed\n%s\nwant it to start with\n%s", out.String(), want)
	}
}
