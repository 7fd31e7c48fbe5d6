package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ldapply/ldapply/plan"
)

// VersionReader re-reads the target. Targets that can implement it
// cheaply (one list call per kind) should; apply uses it to refuse a plan
// whose objects changed in the target after it was made.
type VersionReader interface {
	// Versions returns, for each kind, the current version of every object
	// the target holds, by target id, computed exactly as at plan time.
	Versions(ctx context.Context, kinds []plan.Kind) (map[plan.Kind]map[string]string, error)
}

// ErrDrift is wrapped by CheckDrift's error.
var ErrDrift = errors.New("the target changed since the plan was made")

// CheckDrift compares every object p touches with the target now. An
// object created, changed or deleted in the target since the plan is
// drift; CheckDrift returns an error listing them (at most 20 by name).
func CheckDrift(ctx context.Context, p *plan.Plan, r VersionReader) error {
	var kinds []plan.Kind
	for i := range p.Changes {
		if !slices.Contains(kinds, p.Changes[i].Kind) {
			kinds = append(kinds, p.Changes[i].Kind)
		}
	}
	if len(kinds) == 0 {
		return nil
	}
	now, err := r.Versions(ctx, kinds)
	if err != nil {
		return fmt.Errorf("re-read the target to check for drift: %w", err)
	}
	var drifted []string
	for i := range p.Changes {
		c := &p.Changes[i]
		cur, exists := now[c.Kind][c.ID]
		var why string
		switch {
		case c.Action == plan.Create:
			if exists {
				why = "created in the target"
			}
		case c.Before == nil || c.Before.Version == "":
			// Gone at plan time (a delete of an object already gone).
			if exists {
				why = "created in the target"
			}
		case !exists:
			why = "deleted from the target"
		case cur != c.Before.Version:
			why = "changed in the target"
		}
		if why != "" {
			drifted = append(drifted, fmt.Sprintf("%s %s (%s)", c.Kind, c.Name(), why))
		}
	}
	if len(drifted) == 0 {
		return nil
	}
	shown := drifted
	if len(shown) > 20 {
		shown = shown[:20]
	}
	more := ""
	if len(drifted) > len(shown) {
		more = fmt.Sprintf(" and %d more", len(drifted)-len(shown))
	}
	return fmt.Errorf("%w: %d of its objects: %s%s; nothing was written, run plan again (apply --ignore-drift skips this check in an emergency)", ErrDrift, len(drifted), strings.Join(shown, ", "), more)
}
