package icinga

import (
	"testing"

	"github.com/ldapply/ldapply/providers"
)

// NewForTest returns a provider for the Icinga simulator at url, logged
// in as user with password; it is how every test of the package makes
// one.
func NewForTest(t testing.TB, url, user, password string) *Provider {
	t.Helper()
	cfg := Config{URL: url, AllowInsecure: true, Username: user, Password: password}
	if err := cfg.Resolve("inetorgperson"); err != nil {
		t.Fatal(err)
	}
	p, err := New(cfg, providers.Env{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
