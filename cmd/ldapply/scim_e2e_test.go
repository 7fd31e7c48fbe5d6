package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/fixtures/scimsim"
)

// TestSCIMValidateReportsTheService: validate on a scim target reads the
// service's discovery endpoints and prints what it supports; a token the
// service refuses makes validate fail with the hint.
func TestSCIMValidateReportsTheService(t *testing.T) {
	_, url := scimsim.Start(t, scimsim.Options{Token: "scim-Tok-9", NoETag: true, BulkMaxOperations: 50, BulkMaxPayloadSize: 65536})
	dir := t.TempDir()
	write := func(tok string) string {
		cfg := filepath.Join(dir, "ldapply.yaml")
		yaml := fmt.Sprintf(`source:
  uri: ldap://127.0.0.1:9
  allow_insecure: true
  bind_dn: cn=svc-sync,dc=example,dc=com
  bind_password: secret
  users:  { base: "ou=people,dc=example,dc=com" }
  groups: { base: "ou=groups,dc=example,dc=com" }
target:
  scim:
    url: %s
    allow_insecure: true
    token: %s
    patch_operations: 25
state:
  path: %s
`, url, tok, filepath.Join(dir, "ldapply.state"))
		if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	var out, errs bytes.Buffer
	if code := Main([]string{"ldapply", "validate", "--config", write("scim-Tok-9")}, &out, &errs); code != 0 {
		t.Fatalf("validate exited %d: %s%s", code, out.String(), errs.String())
	}
	for _, want := range []string{
		"The SCIM service at " + url + " supports:",
		"PATCH           supported: changes are PATCHes, members in chunks of at most 25",
		"ETags           not supported",
		"bulk            supported (50 operations, 65536 bytes a request): creates go in bulk",
		"mapped attributes: every one is in the service's schemas",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("validate does not say %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	errs.Reset()
	code := Main([]string{"ldapply", "validate", "--config", write("wrong-Tok")}, &out, &errs)
	if code == 0 || !strings.Contains(errs.String(), "check target.scim.token") || strings.Contains(out.String()+errs.String(), "wrong-Tok") {
		t.Errorf("validate with a refused token exited %d, want non-zero with the hint and no token:\n%s%s", code, out.String(), errs.String())
	}
}
