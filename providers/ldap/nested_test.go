package ldap_test

import (
	"slices"
	"testing"

	"github.com/ldapply/ldapply/fixtures/slapd"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/ldap"
)

// TestNestedOpenLDAP checks groups.nested without the in-chain rule: the
// groups read are expanded, a cycle ends, and Members stay direct.
func TestNestedOpenLDAP(t *testing.T) {
	t.Parallel()
	s := slapd.StartT(t, slapd.Options{LDIF: baseLDIF})
	// ops ⊃ dev ⊃ ops closes a cycle through all-staff's two children.
	if err := s.Apply(`dn: cn=dev,ou=groups,dc=example,dc=com
changetype: modify
add: member
member: cn=ops,ou=groups,dc=example,dc=com
-

dn: cn=ops,ou=groups,dc=example,dc=com
changetype: modify
add: member
member: cn=dev,ou=groups,dc=example,dc=com
-
`); err != nil {
		t.Fatal(err)
	}
	cfg := config(s)
	if dir := read(t, cfg); slices.ContainsFunc(dir.Groups, func(g *plan.Entry) bool { return g.Attrs[ldap.TransitiveMembersAttr] != nil }) {
		t.Errorf("transitive members without groups.nested")
	}
	cfg.Groups.Nested = true
	dir := read(t, cfg)
	everyone := []string{user("alice"), user("bob"), user("carol"), user("dave"), user("erin")}
	for cn, want := range map[string][]string{
		"all-staff":  append(slices.Clone(everyone), user("frank")),
		"ops":        everyone,
		"dev":        everyone,
		"auditors":   {user("bob"), user("nomail")},
		"r&d (lab)*": {user("alice"), user("grace")},
	} {
		slices.Sort(want)
		g := byCN(t, dir.Groups, cn)
		if got := g.Attrs[ldap.TransitiveMembersAttr]; !slices.Equal(got, want) {
			t.Errorf("%s transitive members = %q, want %q", cn, got, want)
		}
	}
	if got, want := byCN(t, dir.Groups, "ops").Members.Strings(), []string{group("dev"), user("alice"), user("bob"), user("carol")}; !slices.Equal(got, want) {
		t.Errorf("ops members = %q, want the direct ones %q", got, want)
	}
}
