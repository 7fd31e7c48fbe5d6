package icinga

import "github.com/ldapply/ldapply/plan"

// ContentionSignals returns how many answers so far meant Icinga had too
// much at once: a write's 500 (the serialization failure of writes that
// overlap, §8 of the API contract), 429 or 503. It only grows; apply
// reads it to lower its concurrency when it rises.
func (p *Provider) ContentionSignals() int64 { return p.client.ContentionSignals() }

// StartParallelism returns where apply starts sending changes of kind k
// at once: 2 for contacts, 1 for groups. Every write runs in a
// SERIALIZABLE transaction and two writes to the same table conflict, so
// more in flight mostly buys retries; contact writes are short, and two
// in flight gain most of what there is to gain (§8 of the API contract),
// but a group PUT rewrites all its memberships, and two of them in
// flight conflict nearly always on the real server, so groups start one
// at a time (apply still tries more while no contention is signalled).
func (p *Provider) StartParallelism(k plan.Kind) int {
	if k == plan.KindGroup {
		return 1
	}
	return 2
}
