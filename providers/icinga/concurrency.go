package icinga

// ContentionSignals returns how many answers so far meant Icinga had too
// much at once: a write's 500 (the serialization failure of writes that
// overlap, §8 of the API contract), 429 or 503. It only grows; apply
// reads it to lower its concurrency when it rises.
func (p *Provider) ContentionSignals() int64 { return p.client.ContentionSignals() }

// StartParallelism returns 2, the number of writes apply starts with.
// Every write runs in a SERIALIZABLE transaction and two writes to the
// same table conflict, so more in flight mostly buys retries: on the
// real server 2 writes in flight gained most of what was to gain, 3
// little more, and 4 or 6 nothing (each request's password hash check
// is CPU-bound; §8 of the API contract has the throughput measured).
func (p *Provider) StartParallelism() int { return 2 }
