package main

import (
	"encoding/base64"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestHostileDirectoryValues: DNs with escaped commas and multi-valued
// RDNs, a 1 MB attribute, invalid UTF-8 in a binary attribute, a group
// that contains itself, and two entries with one primary key are each
// handled: synced correctly, or refused with a message naming the entry.
func TestHostileDirectoryValues(t *testing.T) {
	e := newEnv(t, envOptions{})
	big := strings.Repeat("x", 1<<20)
	junk := base64.StdEncoding.EncodeToString([]byte("\xff\xfe\x00bad\x00"))
	e.ldif(`dn: cn=Doe\, John+uid=jdoe,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
cn: Doe, John
uid: jdoe
sn: Doe
mail: jdoe@example.com
description: ` + big + `
audio:: ` + junk + `

dn: cn=selfish,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: selfish
member: cn=selfish,ou=groups,dc=example,dc=com
member: UID=jdoe + CN=Doe\2C John, OU=people, DC=example, DC=com
`)
	out := e.sync()
	if !strings.Contains(out, "+ user jdoe") || !strings.Contains(out, "+ group selfish") {
		t.Fatalf("plan:\n%s", out)
	}
	c := e.contact("jdoe")
	if c == nil || c.FullName != "Doe, John" {
		t.Fatalf("jdoe = %+v", c)
	}
	if got := e.memberNames(e.group("selfish")); !slices.Equal(got, []string{"jdoe"}) {
		t.Errorf("selfish (contains itself, and jdoe under another spelling of the DN) has members %v", got)
	}

	// Two entries with one primary key: the plan fails naming both.
	cfg, _ := os.ReadFile(e.config)
	os.WriteFile(e.config, []byte(strings.Replace(string(cfg), `users:  { base: "ou=people,dc=example,dc=com" }`, `users:  { base: "ou=people,dc=example,dc=com", key: employeeNumber, filter: "(employeeNumber=*)" }`, 1)), 0o600)
	e.ldif("dn: uid=dave,ou=people,dc=example,dc=com\nchangetype: modify\nreplace: employeeNumber\nemployeeNumber: 1001\n-\n")
	_, errs, code := e.run("plan")
	if code != 1 || !strings.Contains(errs, "uid=alice,ou=people,dc=example,dc=com") || !strings.Contains(errs, "uid=dave,ou=people,dc=example,dc=com") || !strings.Contains(errs, "share the key") {
		t.Errorf("plan with a duplicate key exited %d: %s", code, errs)
	}
}
