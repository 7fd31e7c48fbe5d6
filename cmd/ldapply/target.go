package main

import (
	"context"
	"log/slog"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/icinga"
)

// target is what the CLI needs of a target provider.
type target interface {
	// Describe names the target ("icinga https://…"); plans record it.
	Describe() string
	// Plan reads the target and returns the changes that make it match
	// dir, with Refs, Warnings and Counts; the header is the caller's.
	Plan(ctx context.Context, dir *plan.Directory, b plan.Bindings) (*plan.Plan, error)
	apply.Target
}

var _ target = (*icinga.Provider)(nil)

func newTarget(cfg *Config, log *slog.Logger) (target, error) {
	return icinga.New(*cfg.Target.Icinga, version, log)
}
