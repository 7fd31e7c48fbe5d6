package apply

import (
	"errors"
	"fmt"

	"github.com/ldapply/ldapply/plan"
)

// ErrStale is wrapped by Check when the state moved since the plan.
var ErrStale = errors.New("saved plan is stale")

// ErrForeign is wrapped by Check when the plan was made for another
// configuration, target or state.
var ErrForeign = errors.New("saved plan does not belong here")

// Expect is what the plan must have been made against. Config and
// State only name the configuration file and the state in refusals.
type Expect struct {
	Lineage      string
	Serial       uint64
	ConfigDigest string
	Target       string
	Config       string
	State        string
}

// Check compares p's header with the world apply is about to change. Each
// error is one sentence saying what differs, naming the configuration
// file and the state on each side, and what to do.
func Check(p *plan.Plan, want Expect) error {
	switch {
	case p.Lineage != want.Lineage:
		return fmt.Errorf("%w: it was made against state lineage %s%s, but %s has lineage %s; apply it with the configuration it was made with%s, or run plan again with this one",
			ErrForeign, orNone(p.Lineage), at(p.State), orThe(want.State, "the configured state"), orNone(want.Lineage), paren(p.Config))
	case p.Target != want.Target:
		return fmt.Errorf("%w: it was made%s for target %q, but %s points at %q; use the configuration the plan was made with",
			ErrForeign, with(p.Config), p.Target, orThe(want.Config, "the configuration"), want.Target)
	case p.ConfigDigest != want.ConfigDigest && (p.Config == "" || p.Config == want.Config):
		return fmt.Errorf("%w: the configuration%s changed since the plan was made (digest %s, now %s); run plan again",
			ErrForeign, spaced(want.Config), short(p.ConfigDigest), short(want.ConfigDigest))
	case p.ConfigDigest != want.ConfigDigest:
		return fmt.Errorf("%w: it was made with the configuration %s, and %s differs from it (digest %s, now %s); apply it with %s, or run plan again with this one",
			ErrForeign, p.Config, orThe(want.Config, "this configuration"), short(p.ConfigDigest), short(want.ConfigDigest), p.Config)
	case p.Serial != want.Serial:
		return fmt.Errorf("%w: the state%s changed since the plan was made (serial %d, now %d), probably by another apply; run plan again", ErrStale, spaced(want.State), p.Serial, want.Serial)
	}
	return nil
}

// at is " (at where)", or "" when where is not known.
func at(where string) string {
	if where == "" {
		return ""
	}
	return " (at " + where + ")"
}

// paren is " (s)", or "".
func paren(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// with is " with the configuration path", or "" when it is not known.
func with(path string) string {
	if path == "" {
		return ""
	}
	return " with the configuration " + path
}

// spaced is " s", or "".
func spaced(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}

// orThe is "the state s", "the configuration s", ..., or what when s is "".
func orThe(s, what string) string {
	if s == "" {
		return what
	}
	return what + " " + s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func short(s string) string {
	if len(s) > 19 {
		return s[:19]
	}
	return s
}
