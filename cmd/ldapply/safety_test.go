package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ldapply/ldapply/fixtures/icingasim"
)

func deleteUsers(e *env, users ...string) {
	for _, u := range users {
		e.ldif("dn: uid=" + u + ",ou=people,dc=example,dc=com\nchangetype: delete\n")
	}
}

func TestMassDeleteGuard(t *testing.T) {
	e := newEnv(t, envOptions{extraTop: "safety:\n  max_deletes: 2\n"})
	e.sync()
	deleteUsers(e, "dave", "frank", "henry")
	out, errs, code := e.run("plan", "--out", e.path("big.plan"))
	if code != 1 || !strings.Contains(errs, "the plan deletes 3 objects (3 users), more than safety.max_deletes 2; if that is intended, run plan again with --allow-deletes 3") {
		t.Fatalf("plan over max_deletes exited %d: %s", code, errs)
	}
	if !strings.Contains(out, "- user dave") {
		t.Errorf("the refused plan is not shown for review:\n%s", out)
	}
	if _, err := os.Stat(e.path("big.plan")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused plan was written: %v", err)
	}
	// It was written while shown, then removed.
	if tmp, _ := filepath.Glob(e.path(".ldapply-plan-*")); len(tmp) > 0 {
		t.Errorf("a refused plan left %v behind", tmp)
	}
	if _, errs, code := e.run("plan", "--allow-deletes", "2"); code != 1 || !strings.Contains(errs, "--allow-deletes 3") {
		t.Errorf("--allow-deletes below the count was accepted (exit %d): %s", code, errs)
	}
	e.must(0, "plan", "--allow-deletes", "3", "--out", e.path("ok.plan"))
	e.must(0, "apply", e.path("ok.plan"))
	if e.contact("dave") != nil {
		t.Error("dave was not deleted by the allowed plan")
	}
}

// TestMassDeletePercentGuard: by default a plan may delete at most a
// quarter of the managed users (or groups) once ten are managed, which
// catches the source filter cut too narrow (issue 21, item 3); the
// refusal names the guard and what passes it, and the setting can be
// raised or turned off.
func TestMassDeletePercentGuard(t *testing.T) {
	e := newEnv(t, envOptions{})
	addUsers(e, "ivan", "judy", "kim", "lou") // 12 managed users
	e.sync()
	deleteUsers(e, "dave", "frank", "henry")
	e.must(0, "plan") // 3 of 12: a quarter exactly
	cfg, _ := os.ReadFile(e.config)
	narrow := strings.Replace(string(cfg), `users:  { base: "ou=people,dc=example,dc=com" }`, `users:  { base: "ou=people,dc=example,dc=com", filter: "(uid=alice)" }`, 1)
	os.WriteFile(e.config, []byte(narrow), 0o600)
	out, errs, code := e.run("plan", "--out", e.path("narrow.plan"))
	want := "the plan deletes 11 of the 12 managed users (92%), more than safety.max_delete_percent 25% of a kind, as a source filter or base cut too narrow would; if that is intended, run plan again with --allow-deletes 11 (or raise safety.max_delete_percent)"
	if code != 1 || !strings.Contains(errs, want) {
		t.Fatalf("a plan deleting 11 of 12 users exited %d:\n%s", code, errs)
	}
	if !strings.Contains(out, "- user bob") {
		t.Errorf("the refused plan is not shown for review:\n%s", out)
	}
	if _, err := os.Stat(e.path("narrow.plan")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused plan was written: %v", err)
	}
	if _, errs, code := e.run("sync", "--auto-approve"); code != 1 || !strings.Contains(errs, "run sync again with --allow-deletes 11") {
		t.Errorf("sync deleting 11 of 12 users exited %d: %s", code, errs)
	}
	e.must(0, "plan", "--allow-deletes", "11")
	for _, setting := range []string{"max_delete_percent: 95", "max_delete_percent: -1"} {
		os.WriteFile(e.config, []byte(narrow+"safety:\n  "+setting+"\n"), 0o600)
		e.must(0, "plan")
	}
	if len(e.sim.Contacts()) != 12 {
		t.Errorf("a refused plan deleted contacts: %d left of 12", len(e.sim.Contacts()))
	}
}

// TestDeletePercentSmallDirectory: below ten managed objects of a kind
// the percentage guard stays quiet (a few deletes are a large share of a
// handful), and max_deletes still applies.
func TestDeletePercentSmallDirectory(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.sync() // 8 managed users, 5 groups
	deleteUsers(e, "dave", "frank", "henry", "grace")
	e.must(0, "plan") // half of the users: under 10 managed, more than half is refused
	deleteUsers(e, "erin")
	_, errs, code := e.run("plan")
	if code != 1 || !strings.Contains(errs, "the plan deletes 5 of the 8 managed users (62%), more than 50% of a kind with fewer than 10 managed") || !strings.Contains(errs, "--allow-deletes 5") {
		t.Errorf("plan deleting 5 of 8 users exited %d: %s", code, errs)
	}
}

func addUsers(e *env, users ...string) {
	for _, u := range users {
		e.ldif("dn: uid=" + u + ",ou=people,dc=example,dc=com\nchangetype: add\nobjectClass: inetOrgPerson\nuid: " + u + "\ncn: " + u + "\nsn: " + u + "\nmail: " + u + "@example.com\n")
	}
}

func TestShortSourceRead(t *testing.T) {
	e := newEnv(t, envOptions{extraTop: "safety:\n  min_source_users: 10\n"})
	_, errs, code := e.run("plan")
	if code != 1 || !strings.Contains(errs, "the source returned 9 users, fewer than safety.min_source_users 10") {
		t.Errorf("plan exited %d: %s", code, errs)
	}
	// A filter that matches nobody never becomes "delete everyone".
	cfg, _ := os.ReadFile(e.config)
	os.WriteFile(e.config, []byte(strings.Replace(strings.Replace(string(cfg), "min_source_users: 10", "min_source_users: 1", 1),
		`users:  { base: "ou=people,dc=example,dc=com" }`, `users:  { base: "ou=people,dc=example,dc=com", filter: "(uid=nobody)" }`, 1)), 0o600)
	if _, errs, code := e.run("plan"); code != 1 || !strings.Contains(errs, "the source returned no users") {
		t.Errorf("plan with an empty read exited %d: %s", code, errs)
	}
}

func TestDriftStopsApply(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.sync()
	e.ldif("dn: uid=bob,ou=people,dc=example,dc=com\nchangetype: modify\nreplace: mail\nmail: b@example.com\n-\n")
	e.must(0, "plan", "--out", e.path("p.plan"))
	// Someone edits bob by hand after the plan was made.
	bob := *e.contact("bob")
	bob.FullName = "Bobby (edited in Icinga)"
	e.sim.Seed([]icingasim.Contact{bob}, nil)
	before := writes(e.sim)
	_, errs, code := e.run("apply", e.path("p.plan"))
	if code != 1 || !strings.Contains(errs, "the target changed since the plan was made: 1 of its objects: user bob (changed in the target)") || !strings.Contains(errs, "run plan again") {
		t.Fatalf("apply after drift exited %d: %s", code, errs)
	}
	if w := writes(e.sim); w != before {
		t.Fatalf("apply wrote %d times despite drift", w-before)
	}
	e.must(0, "apply", "--ignore-drift", e.path("p.plan"))
	if c := e.contact("bob"); c.Addresses["email"] != "b@example.com" {
		t.Errorf("--ignore-drift did not apply: %+v", c)
	}
}

func TestPerObjectFailureDoesNotStopOthers(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.must(0, "plan", "--out", e.path("p.plan"))
	// Every PUT of one contact fails with a validation error (not retried).
	bobID := contactID(e.entryUUID("uid=bob,ou=people,dc=example,dc=com"))
	e.sim.Inject(icingasim.Fault{Method: "PUT", Path: "contacts/" + bobID, Status: 422, Message: "Invalid request body: simulated"})
	out, errs, code := e.run("apply", e.path("p.plan"))
	if code != 1 || !strings.Contains(errs, "create user bob") || !strings.Contains(errs, "simulated") {
		t.Fatalf("apply exited %d:\n%s\n%s", code, out, errs)
	}
	if e.contact("bob") != nil || e.contact("alice") == nil || e.group("dev") == nil {
		t.Errorf("want everything but bob (and groups naming bob) applied")
	}
	snap := e.must(0, "state", "list")
	if strings.Contains(snap, bobID) || !strings.Contains(snap, "alice") {
		t.Errorf("state does not reflect exactly what succeeded:\n%s", snap)
	}
}

func TestConcurrentApplies(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.must(0, "plan", "--out", e.path("p.plan"))
	e.sim.Inject(icingasim.Fault{Method: "PUT", Latency: 60 * time.Millisecond})
	first, out := e.start("apply", "--parallelism", "1", e.path("p.plan"))
	waitWrites(t, e.sim, 1)
	_, errs, code := e.run("apply", "--lock-timeout", "0s", e.path("p.plan"))
	if code != exitLocked || !strings.Contains(errs, "is locked by apply") || !strings.Contains(errs, "pid") {
		t.Errorf("second apply exited %d: %s", code, errs)
	}
	start := time.Now()
	_, errs, code = e.run("plan", "--lock-timeout", "300ms")
	if code != exitLocked || time.Since(start) > 3*time.Second {
		t.Errorf("plan during apply exited %d after %v: %s", code, time.Since(start), errs)
	}
	// Waiting for the lock works, and then the plan is stale.
	_, errs, code = e.run("apply", "--lock-timeout", "60s", e.path("p.plan"))
	if code != 1 || !strings.Contains(errs, "stale") {
		t.Errorf("waiting apply exited %d: %s", code, errs)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("first apply: %v\n%s", err, out)
	}
}

func TestNoSecretAnywhere(t *testing.T) {
	e := newEnv(t, envOptions{})
	t.Setenv("LOG_LEVEL", "DEBUG")
	var all strings.Builder
	for _, args := range [][]string{{"plan", "--out", e.path("p.plan")}, {"show", e.path("p.plan")}, {"apply", e.path("p.plan")}, {"plan", "--json"}, {"state", "list"}} {
		out, errs, _ := e.run(args...)
		all.WriteString(out + errs)
	}
	e.run("apply", "--config", "/nonexistent")
	_, errs, _ := e.run("plan", "--lock-timeout", "1s")
	all.WriteString(errs)
	all.Write(planText(t, e.path("p.plan")))
	for _, f := range []string{"p.plan", "ldapply.state"} {
		b, err := os.ReadFile(e.path(f))
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
		if fi, _ := os.Stat(e.path(f)); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	if !strings.Contains(all.String(), "level=DEBUG") {
		t.Error("no debug log was produced; the check would prove nothing")
	}
	for _, secret := range []string{testLDAPPassword, testIcingaPassword} {
		if strings.Contains(all.String(), secret) {
			t.Errorf("a secret (%q) appears in output, logs, the plan or the state", secret)
		}
	}
}

// TestReferredSearch: a server that does not hold a search base answers
// with a referral (LDAP result 10). The search is skipped, never an
// error, but never a mass delete either: the managed groups it did not
// return are kept, with a warning; a referred users search refuses the
// plan with a message that names the referral.
func TestReferredSearch(t *testing.T) {
	const other = "ldap://ldap-2.example.com/"
	e := newEnv(t, envOptions{referral: other})
	e.sync()
	groups := len(e.sim.Groups())
	cfg, _ := os.ReadFile(e.config)
	os.WriteFile(e.config, []byte(strings.Replace(string(cfg), `groups: { base: "ou=groups,dc=example,dc=com" }`, `groups: { base: "ou=groups,dc=elsewhere,dc=org" }`, 1)), 0o600)
	out, errs, code := e.run("plan", "--out", e.path("p.plan"))
	if code != 0 {
		t.Fatalf("plan with a referred groups search exited %d: %s", code, errs)
	}
	// slapd appends the base and scope to its olcReferral URL.
	want := "the LDAP server does not hold source.groups.base ou=groups,dc=elsewhere,dc=org and referred the search to " + other + "ou=groups,dc=elsewhere,dc=org??sub, so no groups were read; the 5 managed groups not read are kept as they are this run"
	if !strings.Contains(out+errs, want) {
		t.Errorf("no warning naming the referral and the kept groups:\n%s\n%s", out, errs)
	}
	if strings.Contains(out, "- group") || !strings.Contains(out, "No changes") {
		t.Errorf("a referred groups search changed or deleted groups:\n%s", out)
	}
	e.must(0, "apply", e.path("p.plan"))
	if n := len(e.sim.Groups()); n != groups {
		t.Errorf("the target has %d groups after apply, want all %d kept", n, groups)
	}

	os.WriteFile(e.config, []byte(strings.Replace(string(cfg), `users:  { base: "ou=people,dc=example,dc=com" }`, `users:  { base: "ou=people,dc=elsewhere,dc=org" }`, 1)), 0o600)
	if _, errs, code := e.run("plan"); code != 1 || !strings.Contains(errs, "does not hold source.users.base ou=people,dc=elsewhere,dc=org and referred the search to "+other+"ou=people,dc=elsewhere,dc=org??sub, so no users were read; refusing to plan") {
		t.Errorf("plan with a referred users search exited %d: %s", code, errs)
	}
}
