package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ldapply/ldapply/plan"
)

// checkSourceSize refuses a source read that is too small to be true.
func checkSourceSize(cfg *Config, dir *plan.Directory) error {
	min := *cfg.Safety.MinSourceUsers
	if n := len(dir.Users); n < min {
		if urls, referred := dir.Referred[plan.KindUser]; referred && n == 0 {
			return fmt.Errorf("the LDAP server does not hold source.users.base %s and referred the search %s, so no users were read; refusing to plan: point source.uri at the server that holds the base, or fix the base", cfg.Source.Users.Base, referredTo(urls))
		}
		if n == 0 {
			return fmt.Errorf("the source returned no users under %s with filter %s; refusing to plan, because that would delete every managed user: check source.users (or lower safety.min_source_users)", cfg.Source.Users.Base, cfg.Source.Users.Filter)
		}
		return fmt.Errorf("the source returned %d users, fewer than safety.min_source_users %d; refusing to plan, because a short read would delete users: check source.users and the directory, or lower safety.min_source_users", n, min)
	}
	return nil
}

// checkDeletes is the mass-deletion guard. A plan fails unless
// --allow-deletes covers its count of deletes when it deletes more than
// safety.max_deletes objects in all, or, of a kind with at least
// minManagedForPercent managed objects, more than
// safety.max_delete_percent of them (of a smaller kind, from
// minManagedForHalf on, more than half): a filter cut too narrow shows as a
// share long before it reaches an absolute count. managed counts the
// objects of each kind in the state before the plan; command is the
// command to run again ("plan" or "sync").
func checkDeletes(cfg *Config, p *plan.Plan, managed map[plan.Kind]int, allow int, command string) error {
	byKind := map[plan.Kind]int{}
	total := 0
	for i := range p.Changes {
		if p.Changes[i].Action == plan.Delete {
			byKind[p.Changes[i].Kind]++
			total++
		}
	}
	if total == 0 || total <= allow {
		return nil
	}
	kinds := slices.Sorted(maps.Keys(byKind))
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%d %ss", byKind[k], k))
	}
	pass := fmt.Sprintf("if that is intended, run %s again with --allow-deletes %d", command, total)
	if max := *cfg.Safety.MaxDeletes; max >= 0 && total > max {
		return fmt.Errorf("the plan deletes %d objects (%s), more than safety.max_deletes %d; %s (or raise safety.max_deletes)", total, strings.Join(parts, ", "), max, pass)
	}
	pct := *cfg.Safety.MaxDeletePercent
	if pct < 0 {
		return nil
	}
	for _, k := range kinds {
		n, of := byKind[k], managed[k]
		limit := pct
		switch {
		case of < minManagedForHalf:
			continue
		case of < minManagedForPercent:
			limit = max(pct, 50)
		}
		if share := 100 * float64(n) / float64(of); share > limit {
			return fmt.Errorf("the plan deletes %d of the %d managed %ss (%.0f%%), more than %s, as a source filter or base cut too narrow would; %s (or raise safety.max_delete_percent)", n, of, k, share, shareRule(limit, of), pass)
		}
	}
	return nil
}

// shareRule names the share limit that applies to a kind with of
// managed objects, for a refusal.
func shareRule(limit float64, of int) string {
	if of < minManagedForPercent {
		return fmt.Sprintf("%g%% of a kind with fewer than %d managed", limit, minManagedForPercent)
	}
	return fmt.Sprintf("safety.max_delete_percent %g%% of a kind", limit)
}

// minManagedForPercent is how many objects of a kind must be managed
// before safety.max_delete_percent applies to it: in a handful of objects
// a few deletes are a large share without being a mistake. From
// minManagedForHalf on, a plan that deletes more than half of a smaller
// kind is refused all the same: a filter that matches one user of seven
// is a mistake at any size.
const (
	minManagedForPercent = 10
	minManagedForHalf    = 4
)

// countManaged counts the bindings by kind.
func countManaged(b plan.Bindings) map[plan.Kind]int {
	out := make(map[plan.Kind]int, len(b))
	for k, m := range b {
		out[k] = len(m)
	}
	return out
}
