package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ldapply/ldapply/fixtures/icingasim"
	"github.com/ldapply/ldapply/fixtures/samba"
	"github.com/ldapply/ldapply/providers/icinga"
)

// adEnv is an end-to-end setup against a real Samba AD DC: env's
// helpers work on it (env.ldap is nil; the directory changes through
// the samba helpers).
type adEnv struct {
	*env
	s                              *samba.Server
	staff, berlin, paris, groupsOU string
	users                          map[string]string // sAMAccountName -> DN
	groups                         map[string]string // cn -> DN
}

// newADEnv provisions a domain with OU=Staff (sub-OUs Berlin and Paris)
// holding the users and OU=Groups holding the groups:
//
//	Berlin: alice, bob, carol, frank (disabled)   Paris: dave, erin
//	ops = alice, bob          dev = carol, dave   all-staff = dev, alice, erin
//	l1 = alice, l2            l2 = bob, l3        l3 = dave       (a chain)
//	cy-a = alice, cy-b        cy-b = erin, cy-a                   (a cycle)
func newADEnv(t *testing.T) *adEnv {
	t.Helper()
	start := time.Now()
	s := samba.StartT(t, samba.Options{})
	t.Logf("Samba AD DC provisioned and started in %s", time.Since(start).Round(time.Millisecond))
	e := &adEnv{env: &env{t: t, dir: t.TempDir()}, s: s, users: map[string]string{}, groups: map[string]string{}}
	e.staff = e.str(s.AddOU("Staff"))
	e.groupsOU = e.str(s.AddOU("Groups"))
	e.berlin = e.str(s.AddOUUnder(e.staff, "Berlin"))
	e.paris = e.str(s.AddOUUnder(e.staff, "Paris"))
	for _, u := range []samba.User{
		{OU: e.berlin, SAMAccountName: "alice", CN: "Alice Adams", DisplayName: "Alice Adams", Mail: "alice@example.com"},
		{OU: e.berlin, SAMAccountName: "bob", DisplayName: "Bob Baker", Mail: "bob@example.com"},
		{OU: e.berlin, SAMAccountName: "carol", DisplayName: "Carol Clark", Mail: "carol@example.com"},
		{OU: e.berlin, SAMAccountName: "frank", DisplayName: "Frank Fox", Mail: "frank@example.com", Disabled: true},
		{OU: e.paris, SAMAccountName: "dave", Mail: "dave@example.com"}, // full name from cn
		{OU: e.paris, SAMAccountName: "erin", DisplayName: "Erin Evans", Mail: "erin@example.com"},
	} {
		e.users[u.SAMAccountName] = e.str(s.AddUser(u))
	}
	u := e.users
	e.addGroup("ops", u["alice"], u["bob"])
	e.addGroup("dev", u["carol"], u["dave"])
	e.addGroup("all-staff", e.groups["dev"], u["alice"], u["erin"])
	e.addGroup("l3", u["dave"])
	e.addGroup("l2", u["bob"], e.groups["l3"])
	e.addGroup("l1", u["alice"], e.groups["l2"])
	e.addGroup("cy-a", u["alice"])
	e.addGroup("cy-b", u["erin"], e.groups["cy-a"])
	e.check(s.AddMembers(e.groups["cy-a"], e.groups["cy-b"]))
	t.Logf("domain ready after %s", time.Since(start).Round(time.Millisecond))

	var apiURL string
	e.sim, apiURL = icingasim.Start(t, icingasim.Options{Users: map[string]string{"svc-icinga": testIcingaPassword}})
	e.config = filepath.Join(e.dir, "ldapply.yaml")
	// A minimal AD configuration (schema ad supplies the filters, the
	// objectGUID key and the sAMAccountName username), plus nested and a
	// range size below AD's 1,500, so that every group goes through
	// range retrieval: Samba, unlike Windows, returns all values of an
	// attribute unless asked for a range.
	cfg := fmt.Sprintf(`source:
  uri: %s
  ca_cert: %s
  schema: ad
  bind_dn: %s
  bind_password: ${LDAPPLY_TEST_LDAP_PASSWORD}
  connect_delay: 100ms
  page_size: 3
  users:  { base: "%s" }
  groups: { base: "%s", nested: true, range_size: 1000 }
target:
  icinga:
    url: %s
    allow_insecure: true
    username: svc-icinga
    password_file: %s
state:
  path: %s
`, s.LDAPSURL, s.CACertFile, s.AdminDN, e.staff, e.groupsOU, apiURL, e.path("icinga.pw"), e.path("ldapply.state"))
	e.check(os.WriteFile(e.path("icinga.pw"), []byte(testIcingaPassword+"\n"), 0o600))
	e.check(os.WriteFile(e.config, []byte(cfg), 0o600))
	t.Setenv("LDAPPLY_TEST_LDAP_PASSWORD", s.AdminPassword)
	t.Setenv("NO_COLOR", "1")
	t.Setenv("LOG_LEVEL", "WARN")
	return e
}

func (e *adEnv) check(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *adEnv) str(s string, err error) string {
	e.t.Helper()
	e.check(err)
	return s
}

func (e *adEnv) addGroup(cn string, members ...string) {
	e.t.Helper()
	e.groups[cn] = e.str(e.s.AddGroup(e.groupsOU, cn, members...))
}

// guid returns dn's objectGUID in the text form Windows shows, computed
// here from the raw bytes independently of the LDAP source.
func (e *adEnv) guid(dn string) string {
	e.t.Helper()
	raw, err := e.s.ObjectGUID(dn)
	e.check(err)
	b := slices.Clone(raw)
	slices.Reverse(b[0:4])
	slices.Reverse(b[4:6])
	slices.Reverse(b[6:8])
	return uuid.UUID(b).String()
}

func (e *adEnv) wantPlan(out string, wants ...string) {
	e.t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			e.t.Errorf("plan lacks %q:\n%s", w, out)
		}
	}
}

// TestADSeedCases runs the seed test cases, and the Active Directory
// ones, end to end against a real Samba AD DC and the Icinga simulator.
// The subtests share one domain and run in order.
func TestADSeedCases(t *testing.T) {
	e := newADEnv(t)
	first := e.sync()
	e.wantPlan(first, "+ user alice", "+ user dave", "+ group ops", "+ group all-staff", "+ group cy-a",
		"Plan: 13 to add, 0 to change, 0 to rename, 0 to destroy.")
	if strings.Contains(first, "frank") || e.contact("frank") != nil {
		t.Errorf("the disabled user frank was synced:\n%s", first)
	}
	if got := e.memberNames(e.group("all-staff")); !slices.Equal(got, []string{"alice", "carol", "dave", "erin"}) {
		t.Errorf("all-staff members (nested groups flattened) = %v", got)
	}
	if c := e.contact("dave"); c == nil || c.FullName != "dave" {
		t.Errorf("dave (no displayName) = %+v, want full name from cn", c)
	}

	t.Run("object_guid", func(t *testing.T) {
		key := e.guid(e.users["alice"])
		c := e.contact("alice")
		if c.ID != contactID(key) || c.FullName != "Alice Adams" || c.Addresses["email"] != "alice@example.com" {
			t.Errorf("alice = %+v, want id %s (from objectGUID %s)", c, contactID(key), key)
		}
		if st := e.must(0, "state", "show", key); !strings.Contains(st, c.ID) {
			t.Errorf("state does not bind %s to %s:\n%s", key, c.ID, st)
		}
		g := e.group("ops")
		if want := uuid.NewSHA1(uuid.MustParse(icinga.DefaultNamespace), []byte("group:"+e.guid(e.groups["ops"]))).String(); g.ID != want {
			t.Errorf("ops id = %s, want %s", g.ID, want)
		}
	})

	t.Run("nested_chain_and_cycle", func(t *testing.T) {
		for g, want := range map[string][]string{
			"l1": {"alice", "bob", "dave"}, "l2": {"bob", "dave"}, "l3": {"dave"},
			"cy-a": {"alice", "erin"}, "cy-b": {"alice", "erin"},
		} {
			if got := e.memberNames(e.group(g)); !slices.Equal(got, want) {
				t.Errorf("%s members = %v, want %v", g, got, want)
			}
		}
	})

	t.Run("add_user", func(t *testing.T) {
		dn := e.str(e.s.AddUser(samba.User{OU: e.paris, SAMAccountName: "ivan", DisplayName: "Ivan Ivanov", Mail: "ivan@example.com"}))
		e.users["ivan"] = dn
		out := e.sync()
		e.wantPlan(out, "+ user ivan", "Plan: 1 to add, 0 to change")
		c := e.contact("ivan")
		if c == nil {
			t.Fatal("contact ivan was not created")
		}
		if key := e.guid(dn); c.ID != contactID(key) || c.FullName != "Ivan Ivanov" || c.Addresses["email"] != "ivan@example.com" {
			t.Errorf("contact = %+v, want id %s (from objectGUID %s)", c, contactID(key), key)
		}
	})

	t.Run("modify_user", func(t *testing.T) {
		before := e.contact("bob")
		e.check(e.s.Replace(e.users["bob"], "mail", "robert@example.com"))
		e.check(e.s.Replace(e.users["bob"], "displayName", "Robert Baker"))
		out := e.sync()
		e.wantPlan(out, `~ email     = "bob@example.com" -> "robert@example.com"`, "0 to add, 1 to change, 0 to rename, 0 to destroy")
		after := e.contact("bob")
		if after.ID != before.ID || after.Addresses["email"] != "robert@example.com" || after.FullName != "Robert Baker" {
			t.Errorf("bob after = %+v", after)
		}
		if !slices.Equal(after.Groups, before.Groups) {
			t.Errorf("bob's groups changed from %v to %v", before.Groups, after.Groups)
		}
	})

	t.Run("rename_user", func(t *testing.T) {
		// A new sAMAccountName (the username), same objectGUID.
		before := e.contact("carol")
		e.check(e.s.Replace(e.users["carol"], "sAMAccountName", "caroline"))
		out := e.sync()
		e.wantPlan(out, "~> user carol -> caroline", "0 to add, 0 to change, 1 to rename, 0 to destroy")
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

	t.Run("rename_user_rdn", func(t *testing.T) {
		// modrdn changes cn and the DN, not the username; dave's full
		// name comes from cn. AD rewrites the member values itself.
		before := e.contact("dave")
		e.users["dave"] = e.str(e.s.Rename(e.users["dave"], "CN=David Dunn"))
		out := e.sync()
		e.wantPlan(out, "~ user dave", `"dave" -> "David Dunn"`, "0 to add, 1 to change, 0 to rename, 0 to destroy")
		after := e.contact("dave")
		if after == nil || after.ID != before.ID || after.FullName != "David Dunn" || !slices.Equal(after.Groups, before.Groups) {
			t.Errorf("dave after = %+v, before %+v", after, before)
		}
	})

	t.Run("move_user_to_another_ou", func(t *testing.T) {
		before := e.contact("alice")
		e.users["alice"] = e.str(e.s.Move(e.users["alice"], e.paris))
		out := e.must(0, "plan", "--detailed-exitcode")
		if !strings.Contains(out, "No changes.") {
			t.Errorf("a move within users.base is not a no-op:\n%s", out)
		}
		after := e.contact("alice")
		if after.ID != before.ID || !slices.Equal(after.Groups, before.Groups) {
			t.Errorf("alice after the move = %+v, before %+v", after, before)
		}
	})

	t.Run("delete_user", func(t *testing.T) {
		id := e.contact("ivan").ID
		e.check(e.s.Delete(e.users["ivan"]))
		out := e.sync()
		e.wantPlan(out, "- user ivan", "0 to rename, 1 to destroy")
		if e.contact("ivan") != nil {
			t.Error("ivan still exists")
		}
		if st, _, _ := e.run("state", "list"); strings.Contains(st, id) {
			t.Errorf("state still lists ivan:\n%s", st)
		}
	})

	t.Run("disabled_user", func(t *testing.T) {
		e.check(e.s.SetEnabled(e.users["frank"], true))
		out := e.sync()
		e.wantPlan(out, "+ user frank", "Plan: 1 to add, 0 to change")
		e.check(e.s.SetEnabled(e.users["frank"], false))
		out = e.sync()
		e.wantPlan(out, "- user frank", "1 to destroy")
		if e.contact("frank") != nil {
			t.Error("the disabled frank still has a contact")
		}
	})

	t.Run("add_group", func(t *testing.T) {
		e.addGroup("sre", e.users["alice"], e.users["dave"])
		out := e.sync()
		e.wantPlan(out, "+ group sre", "Plan: 1 to add")
		g := e.group("sre")
		if g == nil {
			t.Fatal("group sre was not created")
		}
		if got := e.memberNames(g); !slices.Equal(got, []string{"alice", "dave"}) {
			t.Errorf("sre members = %v", got)
		}
	})

	t.Run("modify_group", func(t *testing.T) {
		// Members change through a nested group (dev, inside all-staff).
		before := e.group("all-staff")
		e.check(e.s.AddMembers(e.groups["dev"], e.users["bob"]))
		out := e.sync()
		e.wantPlan(out, "~ group all-staff", "+ bob")
		after := e.group("all-staff")
		if after.ID != before.ID || !slices.Contains(e.memberNames(after), "bob") {
			t.Errorf("all-staff after = %v", e.memberNames(after))
		}
	})

	t.Run("rename_group", func(t *testing.T) {
		before := e.group("sre")
		e.groups["site-reliability"] = e.str(e.s.Rename(e.groups["sre"], "CN=site-reliability"))
		out := e.sync()
		e.wantPlan(out, "~> group sre -> site-reliability", "1 to rename")
		after := e.group("site-reliability")
		if after == nil || after.ID != before.ID || !slices.Equal(e.memberNames(after), []string{"alice", "dave"}) {
			t.Errorf("renamed group = %+v", after)
		}
	})

	t.Run("rename_nested_group", func(t *testing.T) {
		// l2 sits inside l1; one run renames it and l1 keeps its members.
		before := e.group("l2")
		e.groups["level-2"] = e.str(e.s.Rename(e.groups["l2"], "CN=level-2"))
		out := e.sync()
		e.wantPlan(out, "~> group l2 -> level-2", "0 to add, 0 to change, 1 to rename, 0 to destroy")
		if after := e.group("level-2"); after == nil || after.ID != before.ID {
			t.Errorf("level-2 = %+v, want id %s", after, before.ID)
		}
		if got := e.memberNames(e.group("l1")); !slices.Equal(got, []string{"alice", "bob", "dave"}) {
			t.Errorf("l1 members after renaming l2 = %v", got)
		}
	})

	t.Run("delete_group", func(t *testing.T) {
		e.check(e.s.Delete(e.groups["site-reliability"]))
		out := e.sync()
		e.wantPlan(out, "- group site-reliability", "1 to destroy")
		if e.group("site-reliability") != nil {
			t.Error("the group still exists")
		}
		if e.contact("alice") == nil || e.contact("dave") == nil {
			t.Error("deleting a group deleted its members")
		}
	})

	t.Run("add_member", func(t *testing.T) {
		e.check(e.s.AddMembers(e.groups["ops"], e.users["dave"]))
		out := e.sync()
		e.wantPlan(out, "~ group ops", "+ dave")
		if !slices.Contains(e.memberNames(e.group("ops")), "dave") {
			t.Error("dave is not in ops")
		}
		if !slices.Contains(e.contact("dave").Groups, e.group("ops").ID) {
			t.Error("dave's contact does not list ops")
		}
	})

	t.Run("remove_member", func(t *testing.T) {
		e.check(e.s.RemoveMembers(e.groups["ops"], e.users["alice"]))
		out := e.sync()
		e.wantPlan(out, "~ group ops", "- alice")
		if slices.Contains(e.memberNames(e.group("ops")), "alice") {
			t.Error("alice is still in ops")
		}
		if e.contact("alice") == nil {
			t.Error("alice's contact was deleted")
		}
	})

	t.Run("large_group", func(t *testing.T) {
		if testing.Short() {
			t.Skip("about 15 s; providers/ldap reads a group this large too")
		}
		const n = 2100 // read in three parts of 1,000
		bulk := e.str(e.s.AddOUUnder(e.staff, "Bulk"))
		var users []samba.User
		for i := range n {
			name := fmt.Sprintf("bulk%04d", i)
			users = append(users, samba.User{OU: bulk, SAMAccountName: name, Mail: name + "@example.com", NoPassword: true})
		}
		start := time.Now()
		dns, err := e.s.AddUsers(users)
		e.check(err)
		e.addGroup("big", dns...)
		t.Logf("%d users and their group added in %s", n, time.Since(start).Round(time.Millisecond))
		// Pages of 3 would take 700 round trips per search here.
		b, err := os.ReadFile(e.config)
		e.check(err)
		e.check(os.WriteFile(e.config, []byte(strings.Replace(string(b), "page_size: 3\n", "page_size: 500\n", 1)), 0o600))
		start = time.Now()
		out := e.sync()
		t.Logf("plan, apply, plan in %s", time.Since(start).Round(time.Millisecond))
		e.wantPlan(out, "+ group big", fmt.Sprintf("Plan: %d to add, 0 to change", n+1))
		if got := len(e.group("big").Users); got != n {
			t.Errorf("big has %d members, want %d", got, n)
		}
	})
}
