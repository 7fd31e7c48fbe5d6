package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/providers/icinga"
)

// TestEmptyPlanSaysNothingToApply: a plan without changes is still saved
// (a pipeline may always apply its plan), but it does not tell the user
// to run apply.
func TestEmptyPlanSaysNothingToApply(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.sync()
	out := e.must(0, "plan", "--out", e.path("none.plan"))
	if want := "Saved the plan to " + e.path("none.plan") + ". It has no changes, so there is nothing to apply."; !strings.Contains(out, want) {
		t.Errorf("an empty plan does not say %q:\n%s", want, out)
	}
	if strings.Contains(out, "ldapply apply") {
		t.Errorf("an empty plan tells the user to apply it:\n%s", out)
	}
	if out := e.must(0, "apply", e.path("none.plan")); !strings.Contains(out, "Nothing to apply.") {
		t.Errorf("applying an empty plan says:\n%s", out)
	}
}

// TestHTTPTargetNeedsAllowInsecure: every target refuses an http:// URL,
// whose requests would carry the password in clear text, unless its own
// allow_insecure is set, as source: refuses ldap:// without StartTLS.
func TestHTTPTargetNeedsAllowInsecure(t *testing.T) {
	t.Setenv("LDAPPLY_CFG_TEST_PW", "s3cret")
	source := minimalConfig[:strings.Index(minimalConfig, "target:")]
	for name, target := range map[string]string{
		"icinga":   "    url: http://icinga.example.com/icingaweb2/notifications/api/v1\n    username: svc\n    password: pw\n",
		"udm":      "    url: http://ucs.example.com/univention/udm/\n    username: svc\n    password: pw\n    user_ou: cn=users,dc=x\n    group_ou: cn=groups,dc=x\n",
		"teamwire": "    url: http://teamwire.example.com/admin-api\n    email: ops@example.com\n    password: pw\n",
	} {
		cfg := source + "target:\n  " + name + ":\n" + target
		_, err := parseConfig([]byte(cfg), testConfigDir)
		want := "target." + name + ".url http://" // the URL, then why
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "the password would travel in clear text") || !strings.Contains(err.Error(), "target."+name+".allow_insecure: true") {
			t.Errorf("%s over http:// without allow_insecure: %v", name, err)
		}
		if _, err := parseConfig([]byte(cfg+"    allow_insecure: true\n"), testConfigDir); err != nil {
			t.Errorf("%s over http:// with allow_insecure: %v", name, err)
		}
		// allow_insecure belongs to its target: source's does not count.
		if _, err := parseConfig([]byte(strings.Replace(cfg, "uri: ldaps://ldap.example.com", "uri: ldaps://ldap.example.com\n  allow_insecure: true", 1)), testConfigDir); err == nil {
			t.Errorf("%s over http:// passed with source.allow_insecure only", name)
		}
	}
}

// TestRelativePathsFollowConfig: relative paths in the configuration are
// relative to its directory, whatever the working directory (issue 21,
// item 1: `cd .. && ldapply plan -c work/ldapply.yaml` started a second
// state); a plan that starts a new state says so; validate shows the
// absolute paths.
func TestRelativePathsFollowConfig(t *testing.T) {
	e := newEnv(t, envOptions{})
	cfg, _ := os.ReadFile(e.config)
	rel := strings.Replace(string(cfg), "password_file: "+e.path("icinga.pw"), "password_file: icinga.pw", 1)
	rel = strings.Replace(rel, "path: "+e.path("ldapply.state"), "path: ./ldapply.state", 1)
	if rel == string(cfg) || strings.Contains(rel, e.dir) {
		t.Fatalf("the test configuration did not become relative:\n%s", rel)
	}
	os.WriteFile(e.config, []byte(rel), 0o600)
	elsewhere := t.TempDir()
	t.Chdir(elsewhere)
	run := func(args ...string) (string, string, int) {
		var out, errs bytes.Buffer
		code := Main(append([]string{"ldapply"}, args...), &out, &errs)
		return out.String(), errs.String(), code
	}
	// The configuration named relative to the working directory.
	relConfig, err := filepath.Rel(elsewhere, e.config)
	if err != nil {
		t.Fatal(err)
	}

	out, errs, code := run("plan", "--config", relConfig, "--out", "p.plan")
	newState := "Warning: No state at " + e.path("ldapply.state") + ": this plan starts a new one."
	if code != 0 || !strings.Contains(out, newState) {
		t.Fatalf("the first plan (exit %d) does not say %q:\n%s\n%s", code, newState, out, errs)
	}
	if _, err := os.Stat(filepath.Join(elsewhere, "ldapply.state")); err == nil {
		t.Error("the state was made in the working directory, not beside the configuration")
	}
	if _, errs, code := run("apply", "--config", relConfig, "p.plan"); code != 0 {
		t.Fatalf("apply exited %d: %s", code, errs)
	}
	if out, _, _ := run("plan", "--config", relConfig); strings.Contains(out, "No state at") {
		t.Errorf("a plan against the state just written says there is none:\n%s", out)
	}

	out, errs, code = run("validate", "--config", relConfig)
	for _, want := range []string{
		"The configuration " + e.config + " is valid",
		"state " + e.path("ldapply.state") + ".",
		"  target.icinga.password_file: " + e.path("icinga.pw") + "\n",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("validate (exit %d) does not say %q:\n%s%s", code, want, out, errs)
		}
	}
}

// TestConfigDigestIgnoresWhereItLives: a plan made from a checkout in one
// directory applies with the same configuration checked out in another
// (two CI runners): file paths count as written.
func TestConfigDigestIgnoresWhereItLives(t *testing.T) {
	t.Setenv("LDAPPLY_CFG_TEST_PW", "s3cret")
	withFile := strings.Replace(minimalConfig, `password: "pa$$word"`, "password_file: secrets/icinga.pw", 1)
	var digests []string
	for _, dir := range []string{t.TempDir(), t.TempDir()} {
		os.Mkdir(filepath.Join(dir, "secrets"), 0o700)
		os.WriteFile(filepath.Join(dir, "secrets", "icinga.pw"), []byte("pw\n"), 0o600)
		cfg, err := parseConfig([]byte(withFile), dir)
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(dir, "secrets", "icinga.pw"); cfg.Target.Config.(*icinga.Config).PasswordFile != want {
			t.Errorf("password_file = %q, want %q", cfg.Target.Config.(*icinga.Config).PasswordFile, want)
		}
		digests = append(digests, cfg.Digest())
	}
	if digests[0] != digests[1] {
		t.Error("the same configuration in two directories has two digests")
	}
}
