package ldap

import (
	"testing"
)

func TestNormalizeSimpleDN(t *testing.T) {
	for _, tc := range []struct {
		dn, want string
		simple   bool
	}{
		{"uid=jdoe,ou=people,dc=example,dc=com", "uid=jdoe,ou=people,dc=example,dc=com", true},
		{"UID=J.Doe,OU=People,DC=Example,DC=com", "uid=j.doe,ou=people,dc=example,dc=com", true},
		{"cn=svc-sync_01@corp,dc=example", "cn=svc-sync_01@corp,dc=example", true},
		{"x-type1=v", "x-type1=v", true},
		// Anything else takes the parser.
		{"commonName=jdoe,dc=example", "", false}, // an alias (cn)
		{"2.5.4.3=jdoe,dc=example", "", false},    // an OID
		{"cn=John Doe,dc=example", "", false},     // a space to collapse
		{"cn=a+uid=b,dc=example", "", false},      // a multi-valued RDN
		{`cn=a\,b,dc=example`, "", false},         // an escape
		{"cn=a, dc=example", "", false},           // a space after a comma
		{"cn=,dc=example", "", false},             // an empty value
		{"cn=a,", "", false},                      // a trailing comma
		{"=a", "", false},                         // no type
		{"cn", "", false},                         // no value
		{"1cn=a", "", false},                      // a type starting with a digit
		{"cn=a=b", "", false},                     // '=' in a value
		{"cn=#61", "", false},                     // a hex value
		{"cn=Müller", "", false},                  // beyond ASCII
		{"", "", false},
	} {
		got, ok := normalizeSimpleDN(tc.dn)
		if ok != tc.simple || got != tc.want {
			t.Errorf("normalizeSimpleDN(%q) = %q, %v; want %q, %v", tc.dn, got, ok, tc.want, tc.simple)
		}
		if !ok {
			continue
		}
		if slow, err := normalizeParsedDN(tc.dn); err != nil || slow != got {
			t.Errorf("%q: the parser gives %q, %v; the fast path %q", tc.dn, slow, err, got)
		}
	}
	// An already canonical DN comes back as the same string.
	dn := "uid=jdoe,ou=people,dc=example,dc=com"
	if got, _ := normalizeSimpleDN(dn); got != dn {
		t.Fatal(got)
	}
}

// FuzzNormalizeDN: wherever the fast path answers, the parser agrees.
func FuzzNormalizeDN(f *testing.F) {
	for _, dn := range []string{"uid=jdoe,ou=People,dc=example,dc=com", "CN=a-b.c_d@e,DC=x", "cn=a+sn=b", `cn=a\2cb`, "commonname=x", "c=DE", "cn=a,,dc=b"} {
		f.Add(dn)
	}
	f.Fuzz(func(t *testing.T, dn string) {
		fast, ok := normalizeSimpleDN(dn)
		if !ok {
			return
		}
		slow, err := normalizeParsedDN(dn)
		if err != nil || slow != fast {
			t.Fatalf("%q: fast path %q, parser %q (%v)", dn, fast, slow, err)
		}
	})
}
