package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/fixtures/slapd"
	"github.com/ldapply/ldapply/fixtures/udmsim"
)

const (
	testUDMPassword = "udm-Secret-17"
	udmUserOU       = "cn=synced-users,dc=ucs,dc=test"
	udmGroupOU      = "cn=synced-groups,dc=ucs,dc=test"
)

// newUDMEnv starts real slapd with base.ldif and the UDM simulator and
// writes a configuration with target.udm.
func newUDMEnv(t *testing.T) (*env, *udmsim.Server) {
	t.Helper()
	base, err := filepath.Abs("../../fixtures/ldif/base.ldif")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: t.TempDir()}
	e.ldap = slapd.StartT(t, slapd.Options{LDIF: []string{base}})
	sim, apiURL := udmsim.Start(t, udmsim.Options{Users: map[string]string{"svc-udm": testUDMPassword}})
	e.config = filepath.Join(e.dir, "ldapply.yaml")
	cfg := fmt.Sprintf(`source:
  uri: %s
  allow_insecure: true
  bind_dn: cn=svc-sync,dc=example,dc=com
  bind_password: ${LDAPPLY_TEST_LDAP_PASSWORD}
  connect_delay: 100ms
  users:  { base: "ou=people,dc=example,dc=com" }
  groups: { base: "ou=groups,dc=example,dc=com" }
target:
  udm:
    url: %s
    username: svc-udm
    password_file: %s
    connect_timeout: 6s
    read_timeout: 30m
    user_ou: %s
    group_ou: %s
    user_key_property: univentionObjectIdentifier
    group_key_property: univentionObjectIdentifier
    user_properties:
      username: "{{ .uid }}"
      firstname: "{{ .givenName }}"
      lastname: "{{ or .sn .uid }}"
      mailPrimaryAddress: "{{ .mail }}"
      description: "{{ .description }}"
    group_properties:
      name: "{{ .cn }}"
      description: "{{ .description }}"
state:
  path: %s
`, e.ldap.URL, apiURL, filepath.Join(e.dir, "udm.pw"), udmUserOU, udmGroupOU, filepath.Join(e.dir, "ldapply.state"))
	if err := os.WriteFile(filepath.Join(e.dir, "udm.pw"), []byte(testUDMPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LDAPPLY_TEST_LDAP_PASSWORD", testLDAPPassword)
	t.Setenv("NO_COLOR", "1")
	t.Setenv("LOG_LEVEL", "WARN")
	return e, sim
}

func udmUser(sim *udmsim.Server, name string) *udmsim.Object {
	return sim.Find(udmsim.Users, "username", name)
}

func udmGroup(sim *udmsim.Server, name string) *udmsim.Object {
	return sim.Find(udmsim.Groups, "name", name)
}

// udmList returns a list property (DNs), sorted.
func udmList(o *udmsim.Object, prop string) []string {
	var out []string
	switch l := o.Properties[prop].(type) {
	case []string:
		out = append(out, l...)
	case []any:
		for _, v := range l {
			out = append(out, fmt.Sprint(v))
		}
	}
	slices.Sort(out)
	return out
}

func userDN(name string) string  { return "uid=" + name + "," + udmUserOU }
func groupDN(name string) string { return "cn=" + name + "," + udmGroupOU }

func wantContains(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// TestUDMSeedCases runs the UCS connector seed's test cases end to end:
// real slapd, the UDM REST simulator.
func TestUDMSeedCases(t *testing.T) {
	e, sim := newUDMEnv(t)
	first := e.sync()
	wantContains(t, first, "+ user alice", "+ group ops", "+ group all-staff", "to add, 0 to change, 0 to rename, 0 to destroy.")
	alice := udmUser(sim, "alice")
	if alice == nil || alice.DN != userDN("alice") || alice.Properties["univentionObjectIdentifier"] != e.entryUUID("uid=alice,ou=people,dc=example,dc=com") {
		t.Fatalf("alice = %+v", alice)
	}
	if got := udmList(udmGroup(sim, "all-staff"), "nestedGroup"); !slices.Equal(got, []string{groupDN("dev"), groupDN("ops")}) {
		t.Errorf("all-staff nestedGroup = %v", got)
	}
	if got := udmList(udmGroup(sim, "ops"), "users"); !slices.Equal(got, []string{userDN("alice"), userDN("bob"), userDN("carol")}) {
		t.Errorf("ops users = %v", got)
	}
	if got := udmList(udmUser(sim, "carol"), "groups"); !slices.Contains(got, groupDN("ops")) || !slices.Contains(got, groupDN("dev")) {
		t.Errorf("carol's groups view = %v", got)
	}

	t.Run("add_user", func(t *testing.T) {
		e.ldif(`dn: uid=ivan,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: ivan
cn: Ivan Ivanov
sn: Ivanov
mail: Ivan@Example.com
`)
		out := e.sync()
		wantContains(t, out, "+ user ivan", "Plan: 1 to add, 0 to change")
		u := udmUser(sim, "ivan")
		key := e.entryUUID("uid=ivan,ou=people,dc=example,dc=com")
		if u == nil || u.DN != userDN("ivan") || u.Properties["univentionObjectIdentifier"] != key || u.Properties["lastname"] != "Ivanov" || u.Properties["mailPrimaryAddress"] != "ivan@example.com" {
			t.Fatalf("ivan = %+v", u)
		}
		if st := e.must(0, "state", "show", key); !strings.Contains(st, key) {
			t.Errorf("state does not know ivan:\n%s", st)
		}
	})

	t.Run("modify_user", func(t *testing.T) {
		before := udmUser(sim, "bob")
		sim.Modify(before.DN, map[string]any{"title": "Boss"}) // a property ldapply does not manage
		e.ldif(`dn: uid=bob,ou=people,dc=example,dc=com
changetype: modify
replace: mail
mail: robert@example.com
-
add: description
description: Night shift
-
`)
		out := e.sync()
		wantContains(t, out, `~ mailPrimaryAddress = "bob@example.com" -> "robert@example.com"`, `+ description`, "0 to add, 1 to change, 0 to rename, 0 to destroy")
		after := udmUser(sim, "bob")
		if after.UUID != before.UUID || after.Properties["mailPrimaryAddress"] != "robert@example.com" || after.Properties["description"] != "Night shift" {
			t.Errorf("bob after = %+v", after)
		}
		if after.Properties["title"] != "Boss" {
			t.Errorf("the unmanaged property title was changed: %v", after.Properties["title"])
		}
		if !slices.Equal(udmList(after, "groups"), udmList(before, "groups")) {
			t.Errorf("bob's groups changed from %v to %v", udmList(before, "groups"), udmList(after, "groups"))
		}
	})

	t.Run("rename_user", func(t *testing.T) {
		before := udmUser(sim, "carol")
		e.ldif(`dn: uid=carol,ou=people,dc=example,dc=com
changetype: modrdn
newrdn: uid=caroline
deleteoldrdn: 1
`)
		out := e.sync()
		wantContains(t, out, "~> user carol -> caroline", "0 to add, 0 to change, 1 to rename, 0 to destroy")
		after := udmUser(sim, "caroline")
		if after == nil || after.UUID != before.UUID || after.DN != userDN("caroline") {
			t.Fatalf("caroline = %+v, want the same object as carol (%s)", after, before.UUID)
		}
		if udmUser(sim, "carol") != nil {
			t.Error("carol still exists")
		}
		if got := udmList(after, "groups"); len(got) < 2 || !slices.Contains(got, groupDN("ops")) || !slices.Contains(got, groupDN("dev")) {
			t.Errorf("groups after rename = %v", got)
		}
	})

	t.Run("delete_user", func(t *testing.T) {
		e.ldif("dn: uid=ivan,ou=people,dc=example,dc=com\nchangetype: delete\n")
		out := e.sync()
		wantContains(t, out, "- user ivan", "0 to rename, 1 to destroy")
		if udmUser(sim, "ivan") != nil {
			t.Error("ivan still exists")
		}
	})

	t.Run("add_group", func(t *testing.T) {
		e.ldif(`dn: cn=sre,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: sre
description: Site reliability
member: uid=alice,ou=people,dc=example,dc=com
member: uid=dave,ou=people,dc=example,dc=com
`)
		out := e.sync()
		wantContains(t, out, "+ group sre", "Plan: 1 to add")
		g := udmGroup(sim, "sre")
		if g == nil || g.DN != groupDN("sre") || g.Properties["univentionObjectIdentifier"] != e.entryUUID("cn=sre,ou=groups,dc=example,dc=com") || g.Properties["description"] != "Site reliability" {
			t.Fatalf("sre = %+v", g)
		}
		if got := udmList(g, "users"); !slices.Equal(got, []string{userDN("alice"), userDN("dave")}) {
			t.Errorf("sre users = %v", got)
		}
	})

	t.Run("modify_group", func(t *testing.T) {
		e.ldif(`dn: cn=sre,ou=groups,dc=example,dc=com
changetype: modify
replace: description
description: SRE team
-
`)
		out := e.sync()
		wantContains(t, out, "~ group sre", `"Site reliability" -> "SRE team"`, "0 to add, 1 to change")
		if g := udmGroup(sim, "sre"); g.Properties["description"] != "SRE team" {
			t.Errorf("sre = %+v", g)
		}
	})

	t.Run("rename_group", func(t *testing.T) {
		before := udmGroup(sim, "sre")
		e.ldif(`dn: cn=sre,ou=groups,dc=example,dc=com
changetype: modrdn
newrdn: cn=site-reliability
deleteoldrdn: 1
`)
		out := e.sync()
		wantContains(t, out, "~> group sre -> site-reliability", "1 to rename")
		after := udmGroup(sim, "site-reliability")
		if after == nil || after.UUID != before.UUID || after.DN != groupDN("site-reliability") || !slices.Equal(udmList(after, "users"), udmList(before, "users")) {
			t.Errorf("renamed group = %+v", after)
		}
	})

	t.Run("delete_group", func(t *testing.T) {
		e.ldif("dn: cn=site-reliability,ou=groups,dc=example,dc=com\nchangetype: delete\n")
		out := e.sync()
		wantContains(t, out, "- group site-reliability", "1 to destroy")
		if udmGroup(sim, "site-reliability") != nil {
			t.Error("the group still exists")
		}
		if udmUser(sim, "alice") == nil || udmUser(sim, "dave") == nil {
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
		wantContains(t, out, "~ group ops", "+ dave")
		if !slices.Contains(udmList(udmGroup(sim, "ops"), "users"), userDN("dave")) {
			t.Error("dave is not in ops")
		}
		if !slices.Contains(udmList(udmUser(sim, "dave"), "groups"), groupDN("ops")) {
			t.Error("dave's groups view does not list ops")
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
		wantContains(t, out, "~ group ops", "- alice")
		if slices.Contains(udmList(udmGroup(sim, "ops"), "users"), userDN("alice")) {
			t.Error("alice is still in ops")
		}
		if udmUser(sim, "alice") == nil {
			t.Error("alice was deleted")
		}
	})
}
