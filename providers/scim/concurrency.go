package scim

import (
	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/plan"
)

var (
	_ apply.ContentionReporter = (*Provider)(nil)
	_ apply.ParallelismAdvisor = (*Provider)(nil)
)

// StartParallelism is how many changes apply sends at once before it
// learns more: SaaS SCIM services rate-limit per token, so apply starts
// low and rises while no 429 comes back.
func (p *Provider) StartParallelism(plan.Kind) int { return 4 }
