package prefetch

import (
	"context"
	"errors"
	"testing"
)

func TestTake(t *testing.T) {
	calls := 0
	read := func(context.Context) (int, error) { calls++; return calls, nil }
	var r *Read[int]

	// Nothing started: Take reads now.
	if v, err := Take(context.Background(), &r, read); v != 1 || err != nil {
		t.Fatalf("Take without Start = %d, %v; want 1", v, err)
	}
	// Started: Take returns that read's result, once.
	r = Start(context.Background(), read)
	if v, err := Take(context.Background(), &r, read); v != 2 || err != nil || r != nil {
		t.Fatalf("Take after Start = %d, %v (handle %v); want 2 and the handle gone", v, err, r)
	}
	if v, _ := Take(context.Background(), &r, read); v != 3 {
		t.Fatalf("a second Take reused the prefetched result: %d", v)
	}
	// An error comes through.
	boom := errors.New("boom")
	r = Start(context.Background(), func(context.Context) (int, error) { return 0, boom })
	if _, err := Take(context.Background(), &r, read); !errors.Is(err, boom) {
		t.Fatalf("Take = %v, want boom", err)
	}
	// A caller that gives up does not wait for a read that hangs.
	block := make(chan struct{})
	defer close(block)
	r = Start(context.Background(), func(context.Context) (int, error) { <-block; return 0, nil })
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("stopped")
	cancel(stop)
	if _, err := Take(ctx, &r, read); !errors.Is(err, stop) {
		t.Fatalf("Take with a cancelled context = %v, want its cause", err)
	}
}
