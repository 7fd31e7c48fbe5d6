package main

import (
	"strings"
	"testing"
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
		_, err := parseConfig([]byte(cfg))
		want := "target." + name + ".url http://" // the URL, then why
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "the password would travel in clear text") || !strings.Contains(err.Error(), "target."+name+".allow_insecure: true") {
			t.Errorf("%s over http:// without allow_insecure: %v", name, err)
		}
		if _, err := parseConfig([]byte(cfg + "    allow_insecure: true\n")); err != nil {
			t.Errorf("%s over http:// with allow_insecure: %v", name, err)
		}
		// allow_insecure belongs to its target: source's does not count.
		if _, err := parseConfig([]byte(strings.Replace(cfg, "uri: ldaps://ldap.example.com", "uri: ldaps://ldap.example.com\n  allow_insecure: true", 1))); err == nil {
			t.Errorf("%s over http:// passed with source.allow_insecure only", name)
		}
	}
}
