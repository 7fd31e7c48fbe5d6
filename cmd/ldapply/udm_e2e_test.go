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
    allow_insecure: true
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
