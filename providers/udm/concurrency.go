package udm

import "github.com/ldapply/ldapply/plan"

// ContentionSignals returns how many answers so far meant UCS had too
// much at once (429, or 503, which UCS sends with Retry-After while it is
// busy). It only grows; apply reads it to lower its concurrency when it
// rises.
func (p *Provider) ContentionSignals() int64 { return p.client.ContentionSignals() }

// StartParallelism returns 4, the number of writes apply starts with.
// UDM writes do not fail because they overlap (the contract has no 409;
// a concurrent change shows as 412 on If-Match), but each is an LDAP
// write with listener work behind it on one UCS server, which answers
// 503 when it is overloaded: apply starts with a few in flight, below
// --parallelism's default, and grows while no contention is signalled.
func (p *Provider) StartParallelism(plan.Kind) int { return 4 }
