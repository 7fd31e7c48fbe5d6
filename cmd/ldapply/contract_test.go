package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ldapply/ldapply/fixtures/icingasim"
	"github.com/ldapply/ldapply/state"
)

// writes counts the simulator's write requests.
func writes(sim *icingasim.Server) int {
	n := 0
	for _, r := range sim.Requests() {
		if r.Method != "GET" {
			n++
		}
	}
	return n
}

// planText returns a plan file's JSON Lines (plan files are gzip'd).
func planText(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s is not gzip-compressed: %v", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPlanFileHoldsNoSecret(t *testing.T) {
	e := newEnv(t, envOptions{})
	out, errs, code := e.run("plan", "--out", e.path("p.plan"))
	if code != 0 {
		t.Fatalf("plan exited %d: %s", code, errs)
	}
	b := planText(t, e.path("p.plan"))
	if !bytes.Contains(b, []byte(`"email":"alice@example.com"`)) {
		t.Errorf("the plan does not hold the email apply will send")
	}
	if bytes.Contains(b, []byte("contact_addresses")) {
		t.Errorf("the plan uses the blog post's contact_addresses, which the real API ignores")
	}
	for _, secret := range []string{testLDAPPassword, testIcingaPassword} {
		for name, text := range map[string]string{"plan file": string(b), "stdout": out, "stderr": errs} {
			if strings.Contains(text, secret) {
				t.Errorf("%s contains the secret %q", name, secret)
			}
		}
	}
	if fi, _ := os.Stat(e.path("p.plan")); fi.Mode().Perm() != 0o600 {
		t.Errorf("plan file mode = %v, want 0600", fi.Mode().Perm())
	}
}

func TestApplyRefusesPlansThatDoNotFit(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.must(0, "plan", "--out", e.path("a.plan"))
	e.must(0, "plan", "--out", e.path("b.plan"))
	good := planText(t, e.path("b.plan"))

	// Corrupt: cut off.
	os.WriteFile(e.path("cut.plan"), good[:len(good)/2], 0o600)
	// Edited, checksum recomputed by hand: the signature catches it.
	edited := bytes.Replace(good, []byte("alice@example.com"), []byte("mallory@evil.example"), -1)
	lines := bytes.Split(bytes.TrimSuffix(edited, []byte("\n")), []byte("\n"))
	body := bytes.Join(lines[:len(lines)-1], []byte("\n"))
	body = append(body, '\n')
	sum := sha256.Sum256(body)
	trailer := regexp.MustCompile(`"sha256":"[0-9a-f]+"`).ReplaceAll(lines[len(lines)-1], []byte(`"sha256":"`+hex.EncodeToString(sum[:])+`"`))
	os.WriteFile(e.path("edited.plan"), append(append(body, trailer...), '\n'), 0o600)

	before := writes(e.sim)
	for name, tc := range map[string]struct{ file, want string }{
		"corrupt": {e.path("cut.plan"), "corrupt"},
		"edited":  {e.path("edited.plan"), "was edited after it was made: its signature does not match state lineage "},
	} {
		t.Run(name, func(t *testing.T) {
			_, errs, code := e.run("apply", tc.file)
			if code != 1 || !strings.Contains(errs, tc.want) {
				t.Errorf("apply exited %d with %q, want 1 and %q", code, errs, tc.want)
			}
		})
	}
	if w := writes(e.sim); w != before {
		t.Fatalf("refused plans made %d writes", w-before)
	}

	e.must(0, "apply", e.path("a.plan"))
	t.Run("stale", func(t *testing.T) {
		before := writes(e.sim)
		_, errs, code := e.run("apply", e.path("b.plan"))
		if code != 1 || !strings.Contains(errs, "saved plan is stale") || !strings.Contains(errs, "run plan again") {
			t.Errorf("apply of a stale plan exited %d: %s", code, errs)
		}
		// Applying the first plan twice is refused the same way.
		_, errs, code = e.run("apply", e.path("a.plan"))
		if code != 1 || !strings.Contains(errs, "stale") {
			t.Errorf("second apply of the same plan exited %d: %s", code, errs)
		}
		if w := writes(e.sim); w != before {
			t.Errorf("refused plans made %d writes", w-before)
		}
	})

	t.Run("other configuration", func(t *testing.T) {
		e.must(0, "plan", "--out", e.path("c.plan"))
		cfg, _ := os.ReadFile(e.config)
		os.WriteFile(e.config, bytes.Replace(cfg, []byte("page_size: 3"), []byte("page_size: 4"), 1), 0o600)
		defer os.WriteFile(e.config, cfg, 0o600)
		_, errs, code := e.run("apply", e.path("c.plan"))
		if code != 1 || !strings.Contains(errs, "the configuration "+e.config+" changed since the plan was made") {
			t.Errorf("apply with another configuration exited %d: %s", code, errs)
		}
	})

	t.Run("foreign configuration", func(t *testing.T) {
		// A plan made with one configuration file, applied with another
		// (same state): the refusal names the file it came from.
		e.must(0, "plan", "--out", e.path("f.plan"))
		cfg, _ := os.ReadFile(e.config)
		other := e.path("other.yaml")
		os.WriteFile(other, bytes.Replace(cfg, []byte("page_size: 3"), []byte("page_size: 4"), 1), 0o600)
		_, errs, code := e.run("apply", "--config", other, e.path("f.plan"))
		want := "it was made with the configuration " + e.config + ", and this configuration " + other + " differs from it"
		if code != 1 || !strings.Contains(errs, want) {
			t.Errorf("apply with a foreign configuration exited %d: %s\nwant %q", code, errs, want)
		}
	})

	t.Run("other state", func(t *testing.T) {
		e.must(0, "plan", "--out", e.path("d.plan"))
		cfg, _ := os.ReadFile(e.config)
		os.WriteFile(e.config, bytes.Replace(cfg, []byte("ldapply.state"), []byte("other.state"), 1), 0o600)
		defer os.WriteFile(e.config, cfg, 0o600)
		state.Init(context.Background(), e.path("other.state"), time.Second)
		_, errs, code := e.run("apply", e.path("d.plan"))
		// The plan's lineage and state, and the configuration it came
		// from, are named.
		lineage := regexp.MustCompile(`"lineage":"([^"]+)"`).FindSubmatch(planText(t, e.path("d.plan")))
		if lineage == nil {
			t.Fatalf("no lineage in the plan's header")
		}
		want := fmt.Sprintf("it was made against state lineage %s (at %s), but the configured state %s has lineage ", lineage[1], e.path("ldapply.state"), e.path("other.state"))
		if code != 1 || !strings.Contains(errs, want) || !strings.Contains(errs, "apply it with the configuration it was made with ("+e.config+")") {
			t.Errorf("apply against another state exited %d: %s\nwant %q", code, errs, want)
		}
	})
}

func TestDetailedExitCode(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.must(2, "plan", "--detailed-exitcode", "--out", e.path("p.plan"))
	e.must(0, "apply", e.path("p.plan"))
	e.must(0, "plan", "--detailed-exitcode")
	// Without the flag, changes still exit 0.
	e.ldif("dn: uid=henry,ou=people,dc=example,dc=com\nchangetype: modify\nreplace: mail\nmail: h@example.com\n-\n")
	e.must(0, "plan")
	e.must(2, "plan", "--detailed-exitcode")
}

func TestLockedState(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.must(0, "plan", "--out", e.path("p.plan"))
	info := state.NewLockInfo("apply", "test")
	info.Info = "job 42"
	l, err := state.Lock(context.Background(), e.path("ldapply.state"), info, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"plan", "--lock-timeout", "200ms"},
		{"apply", "--lock-timeout", "200ms", e.path("p.plan")},
	} {
		_, errs, code := e.run(args...)
		if code != exitLocked || !strings.Contains(errs, info.ID) || !strings.Contains(errs, "force-unlock") {
			t.Errorf("%s on a locked state exited %d with %q; want %d naming lock %s", args[0], code, errs, exitLocked, info.ID)
		}
	}
	if w := writes(e.sim); w != 0 {
		t.Errorf("%d writes while locked", w)
	}
	l.Unlock()
	e.must(0, "apply", e.path("p.plan"))
}

func TestDuplicateUsernameNamesBothDNs(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.ldif(`dn: ou=contractors,ou=people,dc=example,dc=com
objectClass: organizationalUnit
ou: contractors

dn: uid=alice,ou=contractors,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: alice
cn: Another Alice
sn: Other
mail: alice2@example.com
`)
	_, errs, code := e.run("plan")
	if code != 1 || !strings.Contains(errs, "uid=alice,ou=contractors,ou=people,dc=example,dc=com") || !strings.Contains(errs, "and uid=alice,ou=people,dc=example,dc=com both") || !strings.Contains(errs, "both map to username \"alice\"") {
		t.Errorf("plan exited %d: %s", code, errs)
	}
}

func TestShowFormats(t *testing.T) {
	e := newEnv(t, envOptions{})
	planned := e.must(0, "plan", "--out", e.path("p.plan"))
	text := e.must(0, "show", e.path("p.plan"))
	// show renders the same diff plan printed (plan adds the "saved"
	// hint, show what it checked).
	text, checked, _ := strings.Cut(text, "\nChecked: the plan file's checksum")
	if !strings.HasPrefix(planned, text) || checked == "" {
		t.Errorf("show differs from plan's output:\nshow:\n%s\nplan:\n%s", text, planned)
	}
	md := e.must(0, "show", "--markdown", e.path("p.plan"))
	if !strings.HasPrefix(md, "**Plan: 13 to add, 0 to change, 0 to rename, 0 to destroy.**") || !strings.Contains(md, "<details><summary>8 users to add</summary>") {
		t.Errorf("markdown:\n%s", md)
	}
	js := e.must(0, "show", "--json", e.path("p.plan"))
	var doc struct {
		FormatVersion string         `json:"format_version"`
		Summary       map[string]int `json:"summary"`
		Changes       []struct {
			Action string `json:"action"`
		} `json:"changes"`
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil || doc.FormatVersion != "1.0" || doc.Summary["add"] != 13 || len(doc.Changes) != 13 {
		t.Errorf("show --json: err %v, doc %+v", err, doc)
	}
	os.WriteFile(e.path("bad.plan"), []byte("not a plan\n"), 0o600)
	if _, errs, code := e.run("show", e.path("bad.plan")); code != 1 || !strings.Contains(errs, "corrupt") {
		t.Errorf("show of a bad file exited %d: %s", code, errs)
	}
}

func TestForceUnlock(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.must(0, "plan")
	// A lock record whose holder is gone (its file lock is free).
	info := state.NewLockInfo("apply", "test")
	b, _ := json.Marshal(info)
	os.WriteFile(e.path("ldapply.state.lock.json"), b, 0o600)
	if _, errs, code := e.run("force-unlock", "not-the-id"); code != 1 || !strings.Contains(errs, info.ID) {
		t.Errorf("force-unlock with a wrong id exited %d: %s", code, errs)
	}
	out := e.must(0, "force-unlock", info.ID)
	if !strings.Contains(out, "Removed the lock "+info.ID) {
		t.Errorf("force-unlock said: %s", out)
	}
	if _, err := os.Stat(e.path("ldapply.state.lock.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock record still there: %v", err)
	}
}
