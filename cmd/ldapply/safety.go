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

// checkDeletes is the mass-deletion guard: a plan with more deletes than
// safety.max_deletes, or than safety.max_delete_percent of the managed
// objects, fails unless --allow-deletes covers its count.
func checkDeletes(cfg *Config, p *plan.Plan, managed int, allow int) error {
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
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(byKind)) {
		parts = append(parts, fmt.Sprintf("%d %ss", byKind[k], k))
	}
	what := fmt.Sprintf("the plan deletes %d objects (%s)", total, strings.Join(parts, ", "))
	hint := fmt.Sprintf("if that is intended, run plan again with --allow-deletes %d", total)
	if max := *cfg.Safety.MaxDeletes; max >= 0 && total > max {
		return fmt.Errorf("%s, more than safety.max_deletes %d; %s", what, max, hint)
	}
	if pct := cfg.Safety.MaxDeletePercent; pct > 0 && managed > 0 {
		if share := 100 * float64(total) / float64(managed); share > pct {
			return fmt.Errorf("%s, %.1f%% of the %d managed objects, more than safety.max_delete_percent %g%%; %s", what, share, managed, pct, hint)
		}
	}
	return nil
}
