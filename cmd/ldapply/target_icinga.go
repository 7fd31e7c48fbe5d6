package main

import (
	"log/slog"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/providers/icinga"
	"github.com/ldapply/ldapply/providers/ldap"
)

var (
	_ target              = (*icinga.Provider)(nil)
	_ apply.VersionReader = (*icinga.Provider)(nil)
)

func init() {
	registerTarget(&targetKind{
		name:      "icinga",
		newConfig: func() any { return &icinga.Config{} },
		resolve:   func(cfg any, schema string) error { return cfg.(*icinga.Config).Resolve(schema) },
		build: func(cfg any, _ *ldap.Config, log *slog.Logger) (target, error) {
			return icinga.New(*cfg.(*icinga.Config), version, log)
		},
	})
}
