package main

import (
	"log/slog"

	"github.com/ldapply/ldapply/providers/ldap"
	"github.com/ldapply/ldapply/providers/udm"
)

var _ target = (*udm.Provider)(nil)

func init() {
	registerTarget(&targetKind{
		name:      "udm",
		newConfig: func() any { return &udm.Config{} },
		resolve:   func(cfg any, schema string) error { return cfg.(*udm.Config).Resolve(schema) },
		build: func(cfg any, src *ldap.Config, log *slog.Logger) (target, error) {
			p, err := udm.New(*cfg.(*udm.Config), version, log)
			if err != nil {
				return nil, err
			}
			// A mapped user password is evaluated again at apply: plans
			// hold only its hash.
			p.SetSource(ldap.New(*src, log).Read)
			return p, nil
		},
	})
}
