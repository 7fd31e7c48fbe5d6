package ldap_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/ldapply/ldapply/providers/ldap"
)

func TestResolveDefaults(t *testing.T) {
	cfg := ldap.Config{
		URI:          "ldaps://ldap.example.com",
		BindDN:       svcDN,
		BindPassword: svcPW,
		Users:        ldap.UserConfig{SearchConfig: ldap.SearchConfig{Base: people}},
		Groups:       ldap.GroupConfig{SearchConfig: ldap.SearchConfig{Base: groupsOU}},
	}
	if err := cfg.Resolve(); err != nil {
		t.Fatal(err)
	}
	want := ldap.Config{
		URI:             "ldaps://ldap.example.com",
		BindDN:          svcDN,
		BindPassword:    svcPW,
		Schema:          "inetorgperson",
		ConnectTimeout:  ldap.Duration(10 * time.Second),
		Timeout:         ldap.Duration(10 * time.Second),
		ConnectAttempts: 3,
		ConnectDelay:    ldap.Duration(5 * time.Second),
		PageSize:        500,
		Users:           ldap.UserConfig{SearchConfig: ldap.SearchConfig{Base: people, Scope: "sub", Filter: "(objectClass=inetOrgPerson)", Key: "entryUUID"}},
		Groups: ldap.GroupConfig{SearchConfig: ldap.SearchConfig{Base: groupsOU, Scope: "sub",
			Filter: "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))", Key: "entryUUID"},
			RangeAttributes: []string{"member"}},
	}
	if d := cmp.Diff(want, cfg); d != "" {
		t.Errorf("resolved config (-want +got):\n%s", d)
	}

	ad := ldap.Config{URI: "ldaps://dc.example.com", Schema: "ad", Users: ldap.UserConfig{SearchConfig: ldap.SearchConfig{Base: "dc=example,dc=com"}}, Groups: ldap.GroupConfig{SearchConfig: ldap.SearchConfig{Base: "dc=example,dc=com"}}}
	if err := ad.Resolve(); err != nil {
		t.Fatal(err)
	}
	if ad.Users.Filter != "(&(objectCategory=person)(objectClass=user))" || ad.Groups.Filter != "(objectClass=group)" || ad.Users.Key != "objectGUID" || ad.Groups.Key != "objectGUID" {
		t.Errorf("ad defaults: %+v", ad)
	}
}

func TestResolveErrors(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("other\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(emptyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		mod  func(*ldap.Config)
		want string
	}{
		"ldap without TLS":       {func(c *ldap.Config) { c.URI = "ldap://ldap.example.com" }, "source.uri: ldap:// sends the password in clear text; set source.start_tls: true or source.allow_insecure: true"},
		"no uri":                 {func(c *ldap.Config) { c.URI = "" }, "source.uri: required, such as ldaps://ldap.example.com"},
		"bad scheme":             {func(c *ldap.Config) { c.URI = "http://x" }, `source.uri: "http://x": the scheme must be ldaps:// or ldap://`},
		"uri with dn":            {func(c *ldap.Config) { c.URI = "ldaps://x/dc=example,dc=com" }, "source.uri: \"ldaps://x/dc=example,dc=com\": give only scheme, host and port"},
		"ldaps starttls":         {func(c *ldap.Config) { c.StartTLS = true }, "source.start_tls: ldaps:// is already encrypted"},
		"missing ca":             {func(c *ldap.Config) { c.CACert = "/nonexistent.pem" }, "source.ca_cert: open /nonexistent.pem: no such file or directory"},
		"not a ca":               {func(c *ldap.Config) { c.CACert = pwFile }, "source.ca_cert: " + pwFile + " holds no PEM certificate"},
		"schema":                 {func(c *ldap.Config) { c.Schema = "nis" }, `source.schema: unknown schema "nis"; use inetorgperson or ad`},
		"both passwords":         {func(c *ldap.Config) { c.BindPasswordFile = pwFile }, "source.bind_password: set either bind_password or bind_password_file, not both"},
		"no password":            {func(c *ldap.Config) { c.BindPassword = "" }, "source.bind_password: empty; set it or bind_password_file"},
		"empty password file":    {func(c *ldap.Config) { c.BindPassword, c.BindPasswordFile = "", emptyFile }, "source.bind_password_file: " + emptyFile + " is empty"},
		"missing password file":  {func(c *ldap.Config) { c.BindPassword, c.BindPasswordFile = "", "/nonexistent" }, "source.bind_password_file: open /nonexistent: no such file or directory"},
		"password without dn":    {func(c *ldap.Config) { c.BindDN = "" }, "source.bind_dn: empty, but a password is set"},
		"bad bind dn":            {func(c *ldap.Config) { c.BindDN = "svc-sync" }, `source.bind_dn: "svc-sync" is not a DN`},
		"upn without ad":         {func(c *ldap.Config) { c.BindDN = "svc-sync@example.com" }, `source.bind_dn: "svc-sync@example.com" is a user principal name, which only Active Directory accepts in a bind; set schema: ad`},
		"down-level without ad":  {func(c *ldap.Config) { c.BindDN = `EXAMPLE\svc-sync` }, `source.bind_dn: "EXAMPLE\\svc-sync" is a down-level logon name, which only Active Directory accepts`},
		"bad ad logon name":      {func(c *ldap.Config) { c.Schema, c.BindDN = "ad", "svc@sync@example.com" }, `source.bind_dn: "svc@sync@example.com" is not a DN`},
		"no users base":          {func(c *ldap.Config) { c.Users.Base = "" }, "source.users.base: required"},
		"bad groups base":        {func(c *ldap.Config) { c.Groups.Base = "groups" }, `source.groups.base: "groups" is not a DN`},
		"scope":                  {func(c *ldap.Config) { c.Groups.Scope = "base" }, `source.groups.scope: "base" is not a scope; use sub or one`},
		"filter":                 {func(c *ldap.Config) { c.Users.Filter = "objectClass=person" }, `source.users.filter: "objectClass=person" is not a valid LDAP filter`},
		"page size":              {func(c *ldap.Config) { c.PageSize = -1 }, "source.page_size: must be between 1 and 2147483647"},
		"empty include":          {func(c *ldap.Config) { c.Groups.Include = []string{"ops", ""} }, "source.groups.include[1]: empty group name"},
		"ranged range attribute": {func(c *ldap.Config) { c.Groups.RangeAttributes = []string{"member;range=0-9"} }, `source.groups.range_attributes[0]: "member;range=0-9" is not an attribute name`},
		"negative range size":    {func(c *ldap.Config) { c.Groups.RangeSize = -5 }, "source.groups.range_size: must not be negative"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := ldap.Config{
				URI: "ldaps://ldap.example.com", BindDN: svcDN, BindPassword: svcPW,
				Users:  ldap.UserConfig{SearchConfig: ldap.SearchConfig{Base: people}},
				Groups: ldap.GroupConfig{SearchConfig: ldap.SearchConfig{Base: groupsOU}},
			}
			tc.mod(&cfg)
			err := cfg.Resolve()
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one starting %q", err, tc.want)
			}
			if strings.Contains(err.Error(), svcPW) {
				t.Errorf("error contains the password: %v", err)
			}
		})
	}
}

func TestConfigYAML(t *testing.T) {
	src := `
uri: ldap://ldap.example.com:1389
start_tls: true
ca_cert: /etc/ca.pem
bind_dn: cn=svc-sync,dc=example,dc=com
bind_password_file: /run/secrets/ldap
timeout: 2s
connect_attempts: 5
connect_delay: 1m30s
page_size: 100
users:
  base: ou=people,dc=example,dc=com
  scope: one
  key: uid
  include_disabled: true
groups:
  base: ou=groups,dc=example,dc=com
  filter: (objectClass=groupOfNames)
  include: [ops, "r&d (lab)*"]
  exclude: [dev]
  range_attributes: [member, memberUid]
  range_size: 1000
  nested: true
`
	var got ldap.Config
	if err := yaml.Unmarshal([]byte(src), &got); err != nil {
		t.Fatal(err)
	}
	want := ldap.Config{
		URI: "ldap://ldap.example.com:1389", StartTLS: true, CACert: "/etc/ca.pem",
		BindDN: svcDN, BindPasswordFile: "/run/secrets/ldap",
		Timeout: ldap.Duration(2 * time.Second), ConnectAttempts: 5, ConnectDelay: ldap.Duration(90 * time.Second), PageSize: 100,
		Users: ldap.UserConfig{SearchConfig: ldap.SearchConfig{Base: people, Scope: "one", Key: "uid"}, IncludeDisabled: true},
		Groups: ldap.GroupConfig{
			SearchConfig: ldap.SearchConfig{Base: groupsOU, Filter: "(objectClass=groupOfNames)"},
			Include:      []string{"ops", "r&d (lab)*"}, Exclude: []string{"dev"},
			RangeAttributes: []string{"member", "memberUid"}, RangeSize: 1000, Nested: true,
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("decoded (-want +got):\n%s", d)
	}

	out, err := yaml.Marshal(ldap.Config{Timeout: ldap.Duration(2 * time.Second)})
	if err != nil || !strings.Contains(string(out), "timeout: 2s\n") {
		t.Errorf("marshal: %v\n%s", err, out)
	}

	var bad ldap.Config
	err = yaml.Unmarshal([]byte("timeout: 10\n"), &bad)
	if err == nil || !strings.Contains(err.Error(), `"10" is not a duration such as 10s, 1m30s or 500ms`) {
		t.Errorf("timeout without a unit: got %v", err)
	}
}

func TestNormalizeDN(t *testing.T) {
	for in, want := range map[string]string{
		"uid=alice,ou=people,dc=example,dc=com":       "uid=alice,ou=people,dc=example,dc=com",
		"UID=Alice, ou=People,  DC=Example , dc=COM":  "uid=alice,ou=people,dc=example,dc=com",
		"commonName=R&D  (Lab)*,2.5.4.11=Groups,dc=x": "cn=r&d (lab)*,ou=groups,dc=x",
		`cn=Smith\, John,ou=people,dc=x`:              `cn=smith\, john,ou=people,dc=x`,
		`cn=a+uid=B,dc=x`:                             `cn=a+uid=b,dc=x`,
		`uid=B+cn=A,dc=x`:                             `cn=a+uid=b,dc=x`,
		`cn=\23hash,dc=x`:                             `cn=\#hash,dc=x`,
		"":                                            "",
	} {
		got, err := ldap.NormalizeDN(in)
		if err != nil {
			t.Errorf("NormalizeDN(%q): %v", in, err)
			continue
		}
		if got != want {
			t.Errorf("NormalizeDN(%q) = %q, want %q", in, got, want)
		}
	}
	if _, err := ldap.NormalizeDN("not a dn"); err == nil {
		t.Error("NormalizeDN(\"not a dn\") succeeded")
	}
}

// TestBindAsADLogonName: with schema ad, bind_dn may be a user principal
// name or a down-level logon name, sent as written; BindAs says which.
func TestBindAsADLogonName(t *testing.T) {
	for bindDN, want := range map[string]string{
		"svc-sync@example.com": "the user principal name svc-sync@example.com",
		`EXAMPLE\svc-sync`:     `the down-level logon name EXAMPLE\svc-sync`,
		`EXAMPLE\Svc Sync`:     `the down-level logon name EXAMPLE\Svc Sync`,
		svcDN:                  "the DN " + svcDN,
		`CN=Doe\, J@x,DC=x`:    `the DN CN=Doe\, J@x,DC=x`,
	} {
		cfg := ldap.Config{
			URI: "ldaps://ldap.example.com", BindDN: bindDN, BindPassword: svcPW, Schema: "ad",
			Users:  ldap.UserConfig{SearchConfig: ldap.SearchConfig{Base: people}},
			Groups: ldap.GroupConfig{SearchConfig: ldap.SearchConfig{Base: groupsOU}},
		}
		if err := cfg.Resolve(); err != nil {
			t.Errorf("bind_dn %q: %v", bindDN, err)
			continue
		}
		if got := cfg.BindAs(); got != want {
			t.Errorf("bind_dn %q: BindAs %q, want %q", bindDN, got, want)
		}
	}
}
