// Package prefetch runs a target's read in the background, so that it
// overlaps the directory read: a plan then takes about the longer of the
// two reads instead of their sum.
package prefetch

import "context"

// Read is a read started in the background, or none (the zero value).
type Read[T any] struct {
	done chan struct{}
	val  T
	err  error
}

// Start runs read(ctx) in a new goroutine and returns its handle.
func Start[T any](ctx context.Context, read func(context.Context) (T, error)) *Read[T] {
	r := &Read[T]{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.val, r.err = read(ctx)
	}()
	return r
}

// Take returns the result of the read started in *r, waiting for it, and
// forgets it; with none started it calls read now. A later Take reads
// again: each read is used once.
func Take[T any](ctx context.Context, r **Read[T], read func(context.Context) (T, error)) (T, error) {
	started := *r
	*r = nil
	if started == nil {
		return read(ctx)
	}
	select {
	case <-started.done:
		return started.val, started.err
	case <-ctx.Done():
		var zero T
		return zero, context.Cause(ctx)
	}
}
