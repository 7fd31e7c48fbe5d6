package scim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "token")
	os.WriteFile(tokFile, []byte("s3cret\n"), 0o600)
	for _, tc := range []struct {
		name string
		cfg  Config
		err  string // "" means valid
	}{
		{"token", Config{URL: "https://x/scim/v2", Token: "t"}, ""},
		{"token file", Config{URL: "https://x/scim/v2", TokenFile: tokFile}, ""},
		{"basic", Config{URL: "https://x/scim/v2", Username: "u", Password: "p"}, ""},
		{"no url", Config{Token: "t"}, "target.scim.url is required"},
		{"http", Config{URL: "http://x/scim", Token: "t"}, "allow_insecure"},
		{"no credentials", Config{URL: "https://x/scim"}, "target.scim.token"},
		{"both", Config{URL: "https://x/scim", Token: "t", Username: "u", Password: "p"}, "not both"},
		{"token twice", Config{URL: "https://x/scim", Token: "t", TokenFile: tokFile}, "not both"},
		{"on_delete", Config{URL: "https://x/scim", Token: "t", OnDelete: "purge"}, "on_delete"},
		{"no userName", Config{URL: "https://x/scim", Token: "t", UserAttributes: map[string]string{"displayName": "{{ .cn }}"}}, "user_attributes.userName is required"},
		{"active mapped", Config{URL: "https://x/scim", Token: "t", UserAttributes: map[string]string{"userName": "{{ .uid }}", "active": "true"}}, "cannot write this attribute"},
		{"filter path", Config{URL: "https://x/scim", Token: "t", UserAttributes: map[string]string{"userName": "{{ .uid }}", `emails[type eq "home"].value`: "{{ .mail }}"}}, "cannot write"},
		{"enterprise", Config{URL: "https://x/scim", Token: "t", UserAttributes: map[string]string{"userName": "{{ .uid }}", EnterpriseSchema + ":department": "{{ .ou }}"}}, ""},
		{"bad template", Config{URL: "https://x/scim", Token: "t", GroupAttributes: map[string]string{"displayName": "{{ .cn "}}, "group_attributes.displayName"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Resolve("")
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("Resolve: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("Resolve = %v, want an error containing %q", err, tc.err)
			}
		})
	}
	c := Config{URL: "https://x/scim/v2", TokenFile: tokFile}
	c.Resolve("")
	if c.Token != "s3cret" || c.OnDelete != OnDeleteDeactivate || c.PageSize != DefaultPageSize || c.PatchOperations != DefaultPatchOperations {
		t.Errorf("resolved %+v, want the token file's token and the defaults", c)
	}
}
