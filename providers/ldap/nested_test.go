package ldap_test

import (
	"slices"
	"testing"

	"github.com/ldapply/ldapply/fixtures/slapd"
	"github.com/ldapply/ldapply/plan"
)

// TestNestedOpenLDAP checks groups.nested without the in-chain rule: the
// source leaves nesting to the planner (which expands the groups read,
// see planner's tests) and Members stay direct, also through a cycle.
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
	cfg.Groups.Nested = true
	dir := read(t, cfg)
	if slices.ContainsFunc(dir.Groups, func(g *plan.Entry) bool { return g.Transitive != nil }) {
		t.Errorf("OpenLDAP has no in-chain rule: the source must leave nesting to the planner")
	}
	if got, want := byCN(t, dir.Groups, "ops").Members.Strings(), []string{group("dev"), user("alice"), user("bob"), user("carol")}; !slices.Equal(got, want) {
		t.Errorf("ops members = %q, want the direct ones %q", got, want)
	}
}
