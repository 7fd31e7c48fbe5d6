package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/google/uuid"

	"github.com/ldapply/ldapply/fixtures/icingasim"
	"github.com/ldapply/ldapply/fixtures/slapd"
	"github.com/ldapply/ldapply/providers/icinga"
)

const (
	testLDAPPassword   = "sync-secret"
	testIcingaPassword = "icinga-Secret-42"
)

// env is one end-to-end setup: a real slapd with base.ldif, the Icinga
// simulator, a config file and a state in a temp dir.
type env struct {
	t      *testing.T
	ldap   *slapd.Server
	sim    *icingasim.Server
	dir    string
	config string
}

type envOptions struct {
	extraTarget string // more lines under target.icinga
	extraTop    string // more top-level sections (safety: …)
	referral    string // slapd's olcReferral
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	base, err := filepath.Abs("../../fixtures/ldif/base.ldif")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: t.TempDir()}
	e.ldap = slapd.StartT(t, slapd.Options{LDIF: []string{base}, Referral: o.referral})
	var apiURL string
	e.sim, apiURL = icingasim.Start(t, icingasim.Options{Users: map[string]string{"svc-icinga": testIcingaPassword}})
	e.config = filepath.Join(e.dir, "ldapply.yaml")
	cfg := fmt.Sprintf(`source:
  uri: %s
  allow_insecure: true
  bind_dn: cn=svc-sync,dc=example,dc=com
  bind_password: ${LDAPPLY_TEST_LDAP_PASSWORD}
  connect_delay: 100ms
  page_size: 3
  users:  { base: "ou=people,dc=example,dc=com" }
  groups: { base: "ou=groups,dc=example,dc=com" }
target:
  icinga:
    url: %s
    username: svc-icinga
    password_file: %s
%s
state:
  path: %s
%s`, e.ldap.URL, apiURL, filepath.Join(e.dir, "icinga.pw"), o.extraTarget, filepath.Join(e.dir, "ldapply.state"), o.extraTop)
	if err := os.WriteFile(filepath.Join(e.dir, "icinga.pw"), []byte(testIcingaPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LDAPPLY_TEST_LDAP_PASSWORD", testLDAPPassword)
	t.Setenv("NO_COLOR", "1")
	t.Setenv("LOG_LEVEL", "WARN")
	return e
}

// run runs the CLI in-process with --config added after the command.
func (e *env) run(args ...string) (stdout, stderr string, code int) {
	e.t.Helper()
	full := []string{"ldapply", args[0]}
	if args[0] != "show" && args[0] != "version" && args[0] != "state" {
		full = append(full, "--config", e.config)
	}
	full = append(full, args[1:]...)
	if args[0] == "state" {
		full = append([]string{"ldapply", "state", args[1], "--config", e.config}, args[2:]...)
	}
	var out, errb bytes.Buffer
	code = Main(full, &out, &errb)
	return out.String(), errb.String(), code
}

// must runs the CLI and fails the test unless it exits with want.
func (e *env) must(want int, args ...string) string {
	e.t.Helper()
	out, errs, code := e.run(args...)
	if code != want {
		e.t.Fatalf("ldapply %s exited %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errs)
	}
	return out
}

func (e *env) path(name string) string { return filepath.Join(e.dir, name) }

// sync plans, applies, and checks that a second plan has nothing to do.
// It returns the first plan's text.
func (e *env) sync() string {
	e.t.Helper()
	out := e.must(0, "plan", "--out", e.path("sync.plan"))
	e.must(0, "apply", e.path("sync.plan"))
	if again := e.must(0, "plan", "--detailed-exitcode"); !strings.Contains(again, "No changes.") {
		e.t.Fatalf("plan right after apply is not empty:\n%s", again)
	}
	return out
}

func (e *env) ldif(s string) {
	e.t.Helper()
	if err := e.ldap.Apply(s); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) contact(username string) *icingasim.Contact {
	for _, c := range e.sim.Contacts() {
		if c.Username != nil && *c.Username == username {
			return &c
		}
	}
	return nil
}

func (e *env) group(name string) *icingasim.Group {
	for _, g := range e.sim.Groups() {
		if g.Name == name {
			return &g
		}
	}
	return nil
}

// entryUUID reads an entry's entryUUID as the admin.
func (e *env) entryUUID(dn string) string {
	e.t.Helper()
	c, err := e.ldap.Conn()
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	res, err := c.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"entryUUID"}, nil))
	if err != nil || len(res.Entries) != 1 {
		e.t.Fatalf("read entryUUID of %s: %v", dn, err)
	}
	return res.Entries[0].GetAttributeValue("entryUUID")
}

// memberNames returns the usernames of a group's members.
func (e *env) memberNames(g *icingasim.Group) []string {
	byID := map[string]string{}
	for _, c := range e.sim.Contacts() {
		if c.Username != nil {
			byID[c.ID] = *c.Username
		}
	}
	var out []string
	for _, id := range g.Users {
		out = append(out, byID[id])
	}
	slices.Sort(out)
	return out
}

func contactID(key string) string {
	return uuid.NewSHA1(uuid.MustParse(icinga.DefaultNamespace), []byte("contact:"+key)).String()
}

// TestSeedCases runs every test case of the UCS connector seed end to end
// against real slapd and the Icinga simulator.
func TestSeedCases(t *testing.T) {
	e := newEnv(t, envOptions{})
	first := e.sync()
	for _, want := range []string{"+ user alice", "+ group ops", "+ group all-staff", "Plan: 13 to add, 0 to change, 0 to rename, 0 to destroy."} {
		if !strings.Contains(first, want) {
			t.Errorf("first plan lacks %q:\n%s", want, first)
		}
	}
	if !strings.Contains(first, "nomail") || !strings.Contains(first, "has no email address and is skipped") {
		t.Errorf("first plan does not warn about the user without mail:\n%s", first)
	}
	if e.contact("nomail") != nil {
		t.Errorf("the user without mail was created")
	}
	if got := e.memberNames(e.group("all-staff")); !slices.Equal(got, []string{"alice", "bob", "carol", "dave", "erin", "frank"}) {
		t.Errorf("all-staff members (nested groups flattened) = %v", got)
	}

	t.Run("add_user", func(t *testing.T) {
		e.ldif(`dn: uid=ivan,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: ivan
cn: Ivan Ivanov
sn: Ivanov
mail: ivan@example.com
`)
		out := e.sync()
		if !strings.Contains(out, "+ user ivan") || !strings.Contains(out, "Plan: 1 to add, 0 to change") {
			t.Errorf("plan:\n%s", out)
		}
		c := e.contact("ivan")
		if c == nil {
			t.Fatal("contact ivan was not created")
		}
		key := e.entryUUID("uid=ivan,ou=people,dc=example,dc=com")
		if c.ID != contactID(key) || c.FullName != "Ivan Ivanov" || c.Addresses["email"] != "ivan@example.com" {
			t.Errorf("contact = %+v, want id %s (from entryUUID %s), full name from cn, email", c, contactID(key), key)
		}
		if st := e.must(0, "state", "show", key); !strings.Contains(st, c.ID) {
			t.Errorf("state does not bind %s to %s:\n%s", key, c.ID, st)
		}
	})

	t.Run("modify_user", func(t *testing.T) {
		before := e.contact("bob")
		e.ldif(`dn: uid=bob,ou=people,dc=example,dc=com
changetype: modify
replace: mail
mail: robert@example.com
-
replace: displayName
displayName: Robert Baker
-
`)
		out := e.sync()
		if !strings.Contains(out, `~ email     = "bob@example.com" -> "robert@example.com"`) || !strings.Contains(out, "0 to add, 1 to change, 0 to rename, 0 to destroy") {
			t.Errorf("plan:\n%s", out)
		}
		after := e.contact("bob")
		if after.ID != before.ID || after.Addresses["email"] != "robert@example.com" || after.FullName != "Robert Baker" {
			t.Errorf("bob after = %+v", after)
		}
		if !slices.Equal(after.Groups, before.Groups) {
			t.Errorf("bob's groups changed from %v to %v", before.Groups, after.Groups)
		}
	})

	t.Run("rename_user", func(t *testing.T) {
		before := e.contact("carol")
		e.ldif(`dn: uid=carol,ou=people,dc=example,dc=com
changetype: modrdn
newrdn: uid=caroline
deleteoldrdn: 1
`)
		out := e.sync()
		if !strings.Contains(out, "~> user carol -> caroline") || !strings.Contains(out, "0 to add, 0 to change, 1 to rename, 0 to destroy") {
			t.Errorf("plan:\n%s", out)
		}
		after := e.contact("caroline")
		if after == nil || after.ID != before.ID {
			t.Fatalf("caroline = %+v, want the same contact as carol (%s)", after, before.ID)
		}
		if e.contact("carol") != nil {
			t.Error("carol still exists")
		}
		if !slices.Equal(after.Groups, before.Groups) || len(after.Groups) == 0 {
			t.Errorf("groups after rename = %v, want %v", after.Groups, before.Groups)
		}
	})

	t.Run("delete_user", func(t *testing.T) {
		id := e.contact("ivan").ID
		e.ldif("dn: uid=ivan,ou=people,dc=example,dc=com\nchangetype: delete\n")
		out := e.sync()
		if !strings.Contains(out, "- user ivan") || !strings.Contains(out, "0 to rename, 1 to destroy") {
			t.Errorf("plan:\n%s", out)
		}
		if e.contact("ivan") != nil {
			t.Error("ivan still exists")
		}
		if st, _, _ := e.run("state", "list"); strings.Contains(st, id) {
			t.Errorf("state still lists ivan:\n%s", st)
		}
	})

	t.Run("add_group", func(t *testing.T) {
		e.ldif(`dn: cn=sre,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: sre
member: uid=alice,ou=people,dc=example,dc=com
member: uid=dave,ou=people,dc=example,dc=com
`)
		out := e.sync()
		if !strings.Contains(out, "+ group sre") || !strings.Contains(out, "Plan: 1 to add") {
			t.Errorf("plan:\n%s", out)
		}
		g := e.group("sre")
		if g == nil {
			t.Fatal("group sre was not created")
		}
		if got := e.memberNames(g); !slices.Equal(got, []string{"alice", "dave"}) {
			t.Errorf("sre members = %v", got)
		}
		key := e.entryUUID("cn=sre,ou=groups,dc=example,dc=com")
		if want := uuid.NewSHA1(uuid.MustParse(icinga.DefaultNamespace), []byte("group:"+key)).String(); g.ID != want {
			t.Errorf("group id = %s, want %s", g.ID, want)
		}
	})

	t.Run("modify_group", func(t *testing.T) {
		// An Icinga contact group has a name and members; its members
		// here change through a nested group (dev, inside all-staff).
		before := e.group("all-staff")
		e.ldif(`dn: cn=dev,ou=groups,dc=example,dc=com
changetype: modify
add: member
member: uid=grace,ou=people,dc=example,dc=com
-
`)
		out := e.sync()
		if !strings.Contains(out, "~ group all-staff") || !strings.Contains(out, "+ grace (via dev)") {
			t.Errorf("plan:\n%s", out)
		}
		after := e.group("all-staff")
		if after.ID != before.ID || !slices.Contains(e.memberNames(after), "grace") {
			t.Errorf("all-staff after = %v", e.memberNames(after))
		}
	})

	t.Run("rename_group", func(t *testing.T) {
		before := e.group("sre")
		e.ldif(`dn: cn=sre,ou=groups,dc=example,dc=com
changetype: modrdn
newrdn: cn=site-reliability
deleteoldrdn: 1
`)
		out := e.sync()
		if !strings.Contains(out, "~> group sre -> site-reliability") || !strings.Contains(out, "1 to rename") {
			t.Errorf("plan:\n%s", out)
		}
		after := e.group("site-reliability")
		if after == nil || after.ID != before.ID || !slices.Equal(e.memberNames(after), []string{"alice", "dave"}) {
			t.Errorf("renamed group = %+v", after)
		}
	})

	t.Run("delete_group", func(t *testing.T) {
		e.ldif("dn: cn=site-reliability,ou=groups,dc=example,dc=com\nchangetype: delete\n")
		out := e.sync()
		if !strings.Contains(out, "- group site-reliability") || !strings.Contains(out, "1 to destroy") {
			t.Errorf("plan:\n%s", out)
		}
		if e.group("site-reliability") != nil {
			t.Error("the group still exists")
		}
		if e.contact("alice") == nil || e.contact("dave") == nil {
			t.Error("deleting a group deleted its members")
		}
	})

	t.Run("add_member", func(t *testing.T) {
		e.ldif(`dn: cn=ops,ou=groups,dc=example,dc=com
changetype: modify
add: member
member: uid=dave,ou=people,dc=example,dc=com
-
`)
		out := e.sync()
		if !strings.Contains(out, "~ group ops") || !strings.Contains(out, "+ dave") {
			t.Errorf("plan:\n%s", out)
		}
		if !slices.Contains(e.memberNames(e.group("ops")), "dave") {
			t.Error("dave is not in ops")
		}
		if !slices.Contains(e.contact("dave").Groups, e.group("ops").ID) {
			t.Error("dave's contact does not list ops")
		}
	})

	t.Run("remove_member", func(t *testing.T) {
		e.ldif(`dn: cn=ops,ou=groups,dc=example,dc=com
changetype: modify
delete: member
member: uid=alice,ou=people,dc=example,dc=com
-
`)
		out := e.sync()
		if !strings.Contains(out, "~ group ops") || !strings.Contains(out, "- alice") {
			t.Errorf("plan:\n%s", out)
		}
		if slices.Contains(e.memberNames(e.group("ops")), "alice") {
			t.Error("alice is still in ops")
		}
		if e.contact("alice") == nil {
			t.Error("alice's contact was deleted")
		}
	})
}

// TestApplyReportsStateCost: apply says how many commits recording took
// and how long they took, the figure that tells a slow disk apart.
func TestApplyReportsStateCost(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.must(0, "plan", "--out", e.path("p.plan"))
	t.Setenv("LOG_LEVEL", "INFO")
	_, errs, code := e.run("apply", e.path("p.plan"))
	m := regexp.MustCompile(`msg="Recorded the results in the state\." commits=(\d+) committing=\S+ of=\S+ share=\d+%`).FindStringSubmatch(errs)
	if code != 0 || m == nil {
		t.Fatalf("apply exited %d without the state's cost:\n%s", code, errs)
	}
	// 13 changes, group-committed: at least one commit, at most one each
	// (plus the serial's).
	if n, _ := strconv.Atoi(m[1]); n < 1 || n > 14 {
		t.Errorf("%d commits for 13 changes", n)
	}
}
