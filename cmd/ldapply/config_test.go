package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/providers/icinga"
)

// testConfigDir is where the tests' configurations pretend to live.
const testConfigDir = "/etc/ldapply"

const minimalConfig = `source:
  uri: ldaps://ldap.example.com
  bind_dn: cn=svc,dc=example,dc=com
  bind_password: ${LDAPPLY_CFG_TEST_PW}
  users:  { base: "ou=people,dc=example,dc=com" }
  groups: { base: "ou=groups,dc=example,dc=com" }
target:
  icinga:
    url: https://icinga.example.com/icingaweb2/notifications/api/v1
    username: svc-icinga
    password: "pa$$word"
`

func TestParseConfigDefaults(t *testing.T) {
	t.Setenv("LDAPPLY_CFG_TEST_PW", "s3cret")
	cfg, err := parseConfig([]byte(minimalConfig), testConfigDir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Source.BindPassword != "s3cret" {
		t.Errorf("bind_password = %q, want the expanded variable", cfg.Source.BindPassword)
	}
	if ic := cfg.Target.Config.(*icinga.Config); cfg.Target.Name != "icinga" || ic.Channel != "email" || ic.IDScheme != "key" || ic.Map.Username != "{{ .uid }}" {
		t.Errorf("target defaults not applied: %s %+v", cfg.Target.Name, ic)
	}
	if cfg.Source.Schema != "inetorgperson" || cfg.Source.Users.Key != "entryUUID" || cfg.Source.Users.Filter != "(objectClass=inetOrgPerson)" || cfg.State.Path != "/etc/ldapply/ldapply.state" {
		t.Errorf("defaults not applied: %+v / %+v", cfg.Source, cfg.State)
	}
	if s := cfg.secrets(); len(s) != 2 || s[1] != "pa$word" {
		t.Errorf("secrets = %q, want the bind password and pa$word ($$ is a literal $)", s)
	}
}

func TestParseConfigErrors(t *testing.T) {
	t.Setenv("LDAPPLY_CFG_TEST_PW", "s3cret")
	for name, tc := range map[string]struct {
		edit func(string) string
		want string
	}{
		"unknown top-level key": {func(s string) string { return s + "extra: 1\n" }, "line 12: unknown key extra"},
		"unknown nested key": {func(s string) string {
			return strings.Replace(s, `users:  { base:`, `users:  { bse: "x", base:`, 1)
		}, "line 5: unknown key source.users.bse"},
		"unknown target key": {func(s string) string { return s + "    pasword: x\n" }, "line 12: unknown key target.icinga.pasword"},
		"unknown target":     {func(s string) string { return strings.Replace(s, "  icinga:", "  nagios:", 1) }, `unknown target "nagios"`},
		"unset variable": {func(s string) string {
			return strings.Replace(s, "LDAPPLY_CFG_TEST_PW", "LDAPPLY_CFG_TEST_UNSET", 1)
		}, "environment variable LDAPPLY_CFG_TEST_UNSET is not set"},
		"insecure ldap": {func(s string) string { return strings.Replace(s, "ldaps://", "ldap://", 1) }, "source.start_tls"},
		"bad id scheme": {func(s string) string { return s + "    id_scheme: name\n" }, "target.icinga.id_scheme"},
		"bad template":  {func(s string) string { return s + "    map: { username: \"{{ .uid \" }\n" }, "target.icinga.map.username"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseConfig([]byte(tc.edit(minimalConfig)), testConfigDir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestConfigDigestIgnoresSecrets(t *testing.T) {
	t.Setenv("LDAPPLY_CFG_TEST_PW", "one")
	a, err := parseConfig([]byte(minimalConfig), testConfigDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("LDAPPLY_CFG_TEST_PW", "two")
	b, _ := parseConfig([]byte(strings.Replace(minimalConfig, "pa$$word", "other", 1)), testConfigDir)
	if a.Digest() != b.Digest() {
		t.Error("changing only passwords changed the configuration digest")
	}
	c, _ := parseConfig([]byte(strings.Replace(minimalConfig, "svc-icinga", "svc-other", 1)), testConfigDir)
	if a.Digest() == c.Digest() {
		t.Error("changing the target user did not change the digest")
	}
	if a.Source.BindPassword != "one" {
		t.Error("Digest changed the configuration it hashed")
	}
}

func TestPasswordFile(t *testing.T) {
	t.Setenv("LDAPPLY_CFG_TEST_PW", "s3cret")
	f := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(f, []byte("from-file\n"), 0o600)
	cfg, err := parseConfig([]byte(strings.Replace(minimalConfig, `password: "pa$$word"`, "password_file: "+f, 1)), testConfigDir)
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.secrets(); s[1] != "from-file" {
		t.Errorf("password from file = %q", s[1])
	}
}
