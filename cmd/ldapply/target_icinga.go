package main

import (
	"log/slog"

	"github.com/ldapply/ldapply/providers/icinga"
)

var _ target = (*icinga.Provider)(nil)

func init() {
	registerTarget(&targetKind{
		name:      "icinga",
		newConfig: func() any { return &icinga.Config{} },
		resolve:   func(cfg any, schema string) error { return cfg.(*icinga.Config).Resolve(schema) },
		build: func(cfg any, log *slog.Logger) (target, error) {
			return icinga.New(*cfg.(*icinga.Config), version, log)
		},
	})
}
