package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateSaysWhatTheBindSends: with schema ad, bind_dn may be a user
// principal name or a down-level logon name; validate says which, and
// that it is sent as written. Without schema ad, both are refused.
func TestValidateSaysWhatTheBindSends(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ schema, bindDN, want string }{
		{"ad", "svc-sync@example.com", "  source.bind_dn: the bind sends the user principal name svc-sync@example.com\n"},
		{"ad", `'EXAMPLE\svc-sync'`, `  source.bind_dn: the bind sends the down-level logon name EXAMPLE\svc-sync` + "\n"},
		{"ad", "CN=svc-sync,CN=Users,DC=example,DC=com", "  source.bind_dn: the bind sends the DN CN=svc-sync,CN=Users,DC=example,DC=com\n"},
		{"inetorgperson", "svc-sync@example.com", `source.bind_dn: "svc-sync@example.com" is a user principal name, which only Active Directory accepts in a bind; set schema: ad`},
	} {
		cfg := filepath.Join(dir, "ldapply.yaml")
		yaml := `source:
  uri: ldaps://dc1.example.com
  schema: ` + tc.schema + `
  bind_dn: ` + tc.bindDN + `
  bind_password: secret
  users:  { base: "OU=Staff,DC=example,DC=com" }
  groups: { base: "OU=Groups,DC=example,DC=com" }
target:
  icinga:
    url: https://icinga.example.com/icingaweb2/notifications/api/v1
    username: svc-icinga
    password: secret
`
		if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errs bytes.Buffer
		code := Main([]string{"ldapply", "validate", "--config", cfg}, &out, &errs)
		if !strings.Contains(out.String()+errs.String(), tc.want) {
			t.Errorf("bind_dn %s, schema %s: validate exited %d and does not say %q:\n%s%s", tc.bindDN, tc.schema, code, tc.want, out.String(), errs.String())
		}
	}
}
