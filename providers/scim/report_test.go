package scim_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/fixtures/scimserver"
	"github.com/ldapply/ldapply/fixtures/scimsim"
	"github.com/ldapply/ldapply/providers"
	"github.com/ldapply/ldapply/providers/scim"
)

func report(t *testing.T, cfg scim.Config) string {
	t.Helper()
	if err := cfg.Resolve("inetorgperson"); err != nil {
		t.Fatal(err)
	}
	p, err := scim.New(cfg, providers.Env{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := p.ReportService(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func wantLines(t *testing.T, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("the report lacks %q:\n%s", w, got)
		}
	}
}

// TestReportServiceSim: what validate prints follows what the
// simulator's discovery endpoints say, option by option, and names a
// mapped attribute its schemas lack.
func TestReportServiceSim(t *testing.T) {
	for name, tc := range map[string]struct {
		opts scimsim.Options
		want []string
	}{
		"strict": {scimsim.Options{}, []string{
			"PATCH           supported: changes are PATCHes, members in chunks of at most 100",
			"ETags           supported: writes carry If-Match",
			"filter          supported (at most 50 results)",
			"bulk            not supported: one POST per create",
			"changePassword  not supported (not used",
			"authentication  oauthbearertoken\n",
			"resource type User at /Users (urn:ietf:params:scim:schemas:core:2.0:User; extension urn:ietf:params:scim:schemas:extension:enterprise:2.0:User, optional)",
			"resource type Group at /Groups",
			"mapped attributes not in the service's schemas (it may refuse or drop them): user_attributes.title",
		}},
		"lax": {scimsim.Options{NoPatch: true, NoETag: true, NoFilter: true, Basic: map[string]string{"u": "p"}, BulkMaxOperations: 10, BulkMaxPayloadSize: 4096}, []string{
			"PATCH           not supported: changes are PUTs",
			"ETags           not supported",
			"filter          not supported",
			"bulk            supported (10 operations, 4096 bytes a request): creates go in bulk",
			"authentication  oauthbearertoken, httpbasic",
		}},
	} {
		t.Run(name, func(t *testing.T) {
			tc.opts.Token = token
			_, url := scimsim.Start(t, tc.opts)
			got := report(t, scim.Config{URL: url, Token: token, AllowInsecure: true,
				UserAttributes: map[string]string{"userName": "{{ .uid }}", "name.givenName": "{{ .givenName }}", "emails.work": "{{ .mail }}",
					"title": "{{ .title }}", scim.EnterpriseSchema + ":department": "{{ .ou }}"}})
			wantLines(t, got, tc.want...)
			if strings.Contains(got, "givenName") || strings.Contains(got, "department") {
				t.Errorf("the report names as missing an attribute the schemas have:\n%s", got)
			}
		})
	}
}

// TestReportServiceSCIMMY: the same against SCIMMY's discovery
// endpoints, which the library builds from its own configuration.
func TestReportServiceSCIMMY(t *testing.T) {
	srv := scimserver.Start(t)
	got := report(t, scim.Config{URL: srv.URL, Token: srv.Token, AllowInsecure: true, PatchOperations: 7})
	wantLines(t, got,
		"PATCH           supported: changes are PATCHes, members in chunks of at most 7",
		"ETags           not supported",
		"filter          supported (at most 1000 results)",
		"bulk            supported (100 operations, 1048576 bytes a request)",
		"authentication  oauthbearertoken",
		"resource type User at /Users",
		"extension urn:ietf:params:scim:schemas:extension:enterprise:2.0:User, optional",
		"mapped attributes: every one is in the service's schemas",
	)
}
