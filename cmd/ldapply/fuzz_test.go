package main

import (
	"strings"
	"testing"
)

// FuzzParseConfig: the configuration loader must never panic, and a
// configuration it accepts must have its defaults filled in.
func FuzzParseConfig(f *testing.F) {
	f.Add(minimalConfig)
	f.Add(strings.Replace(minimalConfig, "ldaps://", "ldap://", 1))
	f.Add("source: [1, 2]\ntarget: 7\n")
	f.Add("target:\n  icinga:\n  other: {}\n")
	f.Add("source:\n  uri: ${A}$$${\n")
	f.Add("a: &a [*a]\n")
	f.Fuzz(func(t *testing.T, text string) {
		t.Setenv("LDAPPLY_CFG_TEST_PW", "s3cret")
		cfg, err := parseConfig([]byte(text), testConfigDir)
		if err != nil {
			return
		}
		if cfg.State.Path == "" || cfg.Target.kind == nil || cfg.Safety.MaxDeletes == nil || cfg.Source.PageSize <= 0 {
			t.Fatalf("accepted configuration without defaults: %+v", cfg)
		}
		_ = cfg.Digest()
	})
}
