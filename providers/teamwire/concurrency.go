package teamwire

import "github.com/ldapply/ldapply/plan"

// ContentionSignals returns how many answers so far meant Teamwire had
// too much at once (429 or 503). It only grows.
func (p *Provider) ContentionSignals() int64 { return p.client.ContentionSignals() }

// StartParallelism returns 1: a plan for Teamwire holds one change per
// organisation's LDAP settings, each a single small POST, and a sync run
// started after them works through the organisations in Teamwire; there
// is nothing to gain from sending them at once.
func (p *Provider) StartParallelism(plan.Kind) int { return 1 }
