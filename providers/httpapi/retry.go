package httpapi

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Policy says how often and how patiently a failed request is sent
// again. Only a transient failure ([Transient]) of a request that is safe
// to repeat (or that its [Request.Recover] makes safe) is retried, and
// never after the caller's context has ended.
type Policy struct {
	// Attempts is how many times in all such a request is sent; 1 means
	// once. 0 means [DefaultAttempts].
	Attempts int
	// Base and Max bound the backoff: before attempt n+1 the client
	// waits a random duration in [d/2, d] where d = Base·2^(n-1), at
	// most Max. The jitter keeps clients that failed together from
	// coming back together. 0 means 200ms and 10s.
	Base, Max time.Duration
	// ContentionAttempts, ContentionBase and ContentionMax take the place
	// of Attempts, Base and Max when the failure is a 500 the request
	// marked as transient ([Request.Retry500]: a serialization failure
	// of overlapping writes). 0 means the value of the field they
	// replace.
	ContentionAttempts            int
	ContentionBase, ContentionMax time.Duration
	// MaxRetryAfter caps the wait a server asks for with Retry-After;
	// 0 means 60s.
	MaxRetryAfter time.Duration
}

// Defaults of [Policy].
const (
	DefaultAttempts      = 5
	DefaultBase          = 200 * time.Millisecond
	DefaultMax           = 10 * time.Second
	DefaultMaxRetryAfter = 60 * time.Second
)

// withDefaults returns p with its zero fields filled.
func (p Policy) withDefaults() Policy {
	if p.Attempts <= 0 {
		p.Attempts = DefaultAttempts
	}
	if p.Base <= 0 {
		p.Base = DefaultBase
	}
	if p.Max <= 0 {
		p.Max = DefaultMax
	}
	if p.ContentionAttempts <= 0 {
		p.ContentionAttempts = p.Attempts
	}
	if p.ContentionBase <= 0 {
		p.ContentionBase = p.Base
	}
	if p.ContentionMax <= 0 {
		p.ContentionMax = p.Max
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultMaxRetryAfter
	}
	return p
}

// attempts returns how many attempts a request may have when its last
// failure was e.
func (p Policy) attempts(e *Error) int {
	if e.serialization {
		return p.ContentionAttempts
	}
	return p.Attempts
}

// Backoff returns the wait after the failed attempt n (1 for the first
// send): a random duration in [d/2, d] where d = base·2^(n-1), at most
// max; base and max are the contention ones when contention is set.
func (p Policy) Backoff(n int, contention bool) time.Duration {
	p = p.withDefaults()
	base, maxd := p.Base, p.Max
	if contention {
		base, maxd = p.ContentionBase, p.ContentionMax
	}
	d := maxd
	if n >= 1 && n <= 31 {
		d = min(base<<(n-1), maxd)
	}
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// RetryAfter reads a Retry-After value, delay-seconds or an HTTP date
// (relative to now), capped at limit; -1 when v is empty or unreadable.
func RetryAfter(v string, now time.Time, limit time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return -1
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return -1
	}
	return max(0, min(d, limit))
}

// sleepCtx waits d or until ctx ends, whichever is first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Sleep waits d or until ctx ends, whichever comes first; it returns
// ctx's error when ctx ended. It is [Config.Sleep]'s default.
func Sleep(ctx context.Context, d time.Duration) error { return sleepCtx(ctx, d) }
