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
	"time"

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
    allow_insecure: true
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

// TestApplyReportsStateCost: apply says how many commits recording took
// and how long they took, the figure that tells a slow disk apart.
func TestApplyReportsStateCost(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.must(0, "plan", "--out", e.path("p.plan"))
	t.Setenv("LOG_LEVEL", "INFO")
	_, errs, code := e.run("apply", e.path("p.plan"))
	m := regexp.MustCompile(`msg="Recorded the results in the state\." commits=(\d+) committing=\S+ of=(\S+) share=\d+%`).FindStringSubmatch(errs)
	if code != 0 || m == nil {
		t.Fatalf("apply exited %d without the state's cost:\n%s", code, errs)
	}
	took, err := time.ParseDuration(m[2])
	if err != nil {
		t.Fatal(err)
	}
	// 13 changes, group-committed: at least one commit, at most one each,
	// plus the serial's, the run's start and one per runProgressEvery.
	limit := 13 + 2 + int(took/runProgressEvery)
	if n, _ := strconv.Atoi(m[1]); n < 1 || n > limit {
		t.Errorf("%d commits for 13 changes in %s; want at most %d", n, took, limit)
	}
}
