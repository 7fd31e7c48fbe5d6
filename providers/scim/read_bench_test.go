package scim

import (
	"context"
	"fmt"
	"testing"

	"github.com/ldapply/ldapply/fixtures/scimsim"
	"github.com/ldapply/ldapply/providers"
)

// BenchmarkRead reads a service of 10,000 users and 200 groups of 1,000
// members each, as an in-sync plan does.
func BenchmarkRead(b *testing.B) {
	sim, url := scimsim.Start(b, scimsim.Options{Token: "tok", MaxPageSize: 100})
	var users []string
	for i := range 10000 {
		users = append(users, sim.Seed(scimsim.User, map[string]any{"userName": fmt.Sprint("user", i), "externalId": fmt.Sprint("k", i),
			"name": map[string]any{"givenName": "G", "familyName": "F"}, "displayName": "G F", "active": true,
			"emails": []any{map[string]any{"value": fmt.Sprint("user", i, "@example.com"), "type": "work", "primary": true}}}))
	}
	for g := range 200 {
		sim.Seed(scimsim.Group, map[string]any{"displayName": fmt.Sprint("group", g), "externalId": fmt.Sprint("g", g)}, users[g*50:g*50+1000%len(users)]...)
	}
	cfg := Config{URL: url, Token: "tok", AllowInsecure: true}
	if err := cfg.Resolve("inetorgperson"); err != nil {
		b.Fatal(err)
	}
	p, err := New(cfg, providers.Env{Version: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := p.read(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
