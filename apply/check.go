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

// Expect is what the plan must have been made against.
type Expect struct {
	Lineage      string
	Serial       uint64
	ConfigDigest string
	Target       string
}

// Check compares p's header with the world apply is about to change. Each
// error is one sentence saying what differs and what to do.
func Check(p *plan.Plan, want Expect) error {
	switch {
	case p.Lineage != want.Lineage:
		return fmt.Errorf("%w: it was made against state lineage %s, but the configured state has lineage %s; run plan again with this configuration", ErrForeign, orNone(p.Lineage), orNone(want.Lineage))
	case p.Target != want.Target:
		return fmt.Errorf("%w: it was made for target %q, but the configuration points at %q; use the configuration the plan was made with", ErrForeign, p.Target, want.Target)
	case p.ConfigDigest != want.ConfigDigest:
		return fmt.Errorf("%w: the configuration changed since the plan was made (digest %s, now %s); run plan again", ErrForeign, short(p.ConfigDigest), short(want.ConfigDigest))
	case p.Serial != want.Serial:
		return fmt.Errorf("%w: the state changed since the plan was made (serial %d, now %d), probably by another apply; run plan again", ErrStale, p.Serial, want.Serial)
	}
	return nil
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
