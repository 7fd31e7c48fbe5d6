// Package providers holds what every target provider is built with; the
// providers themselves live in its subdirectories, one per target (see
// docs/writing-a-target.md).
package providers

import (
	"log/slog"

	"github.com/ldapply/ldapply/providers/ldap"
)

// Env is what a target provider is built with besides its own
// configuration section. Every provider's New takes (Config, Env), so
// that registering a target in cmd/ldapply is one line.
type Env struct {
	// Source is the resolved source configuration: a target may derive
	// settings from it (Teamwire) or read the directory again at apply
	// (UDM's mapped password). Nil in tests that need neither.
	Source *ldap.Config
	// Version is ldapply's version, sent in the User-Agent.
	Version string
	// Log receives the provider's messages; nil discards them.
	Log *slog.Logger
}
