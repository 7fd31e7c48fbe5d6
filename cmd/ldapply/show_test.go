package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// forge writes to dst the plan file src with old replaced by new and its
// checksum recomputed, as someone editing a plan by hand would: only
// the signature, which needs the state, tells it apart.
func forge(t *testing.T, src, dst, old, new string) {
	t.Helper()
	edited := bytes.ReplaceAll(planText(t, src), []byte(old), []byte(new))
	lines := bytes.Split(bytes.TrimSuffix(edited, []byte("\n")), []byte("\n"))
	body := append(bytes.Join(lines[:len(lines)-1], []byte("\n")), '\n')
	sum := sha256.Sum256(body)
	trailer := regexp.MustCompile(`"sha256":"[0-9a-f]+"`).ReplaceAll(lines[len(lines)-1], []byte(`"sha256":"`+hex.EncodeToString(sum[:])+`"`))
	if err := os.WriteFile(dst, append(append(body, trailer...), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestShowSaysWhatItChecked: show renders an edited plan (apply refuses
// it), so every format says that show checked the checksum and that
// only apply checks the signature, against the state.
func TestShowSaysWhatItChecked(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.must(0, "plan", "--out", e.path("p.plan"))
	forge(t, e.path("p.plan"), e.path("edited.plan"), "alice@example.com", "mallory@evil.example")

	text := e.must(0, "show", e.path("edited.plan"))
	if !strings.Contains(text, "mallory@evil.example") {
		t.Fatalf("show did not render the edited plan:\n%s", text)
	}
	for _, want := range []string{"Checked: the plan file's checksum", "Not checked: its signature, which only apply can check, against the state (lineage "} {
		if !strings.Contains(text, want) {
			t.Errorf("show does not say %q:\n%s", want, text)
		}
	}
	md := e.must(0, "show", "--markdown", e.path("edited.plan"))
	if !strings.Contains(md, "ldapply show checked this plan file's checksum, not its signature: only apply can, against the state") {
		t.Errorf("show --markdown does not say what it checked:\n%s", md)
	}
	var doc struct{ Checks map[string]string }
	if err := json.Unmarshal([]byte(e.must(0, "show", "--json", e.path("edited.plan"))), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Checks["checksum"] != "matches" || !strings.HasPrefix(doc.Checks["signature"], "not checked") {
		t.Errorf("show --json checks = %v", doc.Checks)
	}
	_, errs, code := e.run("apply", e.path("edited.plan"))
	if code != 1 || !strings.Contains(errs, "was edited after it was made") {
		t.Errorf("apply of the edited plan exited %d: %s", code, errs)
	}
}
