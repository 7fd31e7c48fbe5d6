package apply

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ldapply/ldapply/plan"
)

// windowTarget is a target as the window sees it: a contention counter
// and, when start > 0, a starting point.
type windowTarget struct {
	signals atomic.Int64
	start   int
}

func (*windowTarget) Apply(context.Context, *plan.Change) error { return nil }
func (t *windowTarget) ContentionSignals() int64                { return t.signals.Load() }
func (t *windowTarget) StartParallelism(plan.Kind) int          { return t.start }

// startWindow returns the window Run makes for t, at its first phase's
// start.
func startWindow(t Target, ceiling int, log *slog.Logger) *window {
	w := newWindow(t, ceiling, log)
	w.restart(plan.KindUser)
	return w
}

// fill starts changes until the window is full and returns their tickets.
func fill(t *testing.T, w *window) []int64 {
	t.Helper()
	var tickets []int64
	for {
		ticket, _ := w.tryAcquire()
		if ticket == 0 {
			return tickets
		}
		tickets = append(tickets, ticket)
	}
}

// TestWindowSettlesAtCapacity: against a target that reports contention
// for every change beyond n in flight, the window grows while the
// contention stays within tolerance, halves at the first round that
// exceeds it, and climbs again: it stays around n, neither collapsing to
// one change nor flooding the target.
func TestWindowSettlesAtCapacity(t *testing.T) {
	const n, ceiling = 6, 20
	// top is the smallest round whose contention exceeds the tolerance:
	// the window never grows past it.
	top := n + 1
	for float64(top-n) <= tolerance*float64(top) {
		top++
	}
	tg := &windowTarget{start: 2}
	w := startWindow(tg, ceiling, nil)
	var sizes []int
	for range 200 {
		round := fill(t, w)
		if len(round) > n {
			tg.signals.Add(int64(len(round) - n))
		}
		for _, ticket := range round {
			w.release(ticket, true)
		}
		sizes = append(sizes, len(round))
	}
	late := sizes[100:]
	lo, hi, sum := late[0], late[0], 0
	for _, s := range late {
		lo, hi, sum = min(lo, s), max(hi, s), sum+s
	}
	mean := float64(sum) / float64(len(late))
	if hi != top || lo < n/2 || mean < n*0.75 || mean > float64(top) {
		t.Errorf("in flight per round after warm-up: min %d, max %d, mean %.1f; want between %d and %d, mean near %d (rounds: %v)", lo, hi, mean, n/2, top, n, late)
	}
}

// TestWindowReachesCeiling: without contention the window grows from its
// start to the ceiling and no further.
func TestWindowReachesCeiling(t *testing.T) {
	tg := &windowTarget{start: 1}
	w := startWindow(tg, 8, nil)
	top := 0
	for range 100 {
		round := fill(t, w)
		top = max(top, len(round))
		for _, ticket := range round {
			w.release(ticket, true)
		}
	}
	if top != 8 || w.limit() != 8 {
		t.Errorf("most in flight %d, window %d; want both at the ceiling 8", top, w.limit())
	}
}

// TestWindowHalvesOncePerBurst: a burst of conflicts among the changes in
// flight halves the window once; the changes started after the halving
// can halve it again, down to one change and not below.
func TestWindowHalvesOncePerBurst(t *testing.T) {
	tg := &windowTarget{start: 8}
	w := startWindow(tg, 10, nil)
	for _, want := range []int{4, 2, 1, 1} {
		round := fill(t, w)
		// Every change of the round meets a conflict, seen as each ends.
		for _, ticket := range round {
			tg.signals.Add(1)
			w.release(ticket, true)
		}
		if got := w.limit(); got != want {
			t.Fatalf("after a burst over %d changes the window is %d, want %d", len(round), got, want)
		}
	}
	// Failures grow nothing; the next successes do.
	round := fill(t, w)
	w.release(round[0], false)
	if got := w.limit(); got != 1 {
		t.Errorf("a failed change grew the window to %d", got)
	}
	round = fill(t, w)
	w.release(round[0], true)
	if got := w.limit(); got != 2 {
		t.Errorf("a success at window 1 left it at %d, want 2", got)
	}
}

// TestWindowStart: the advice starts the window, clamped to the ceiling;
// without advice, or without a contention counter to learn from, it
// starts at the ceiling, which is today's fixed bound.
func TestWindowStart(t *testing.T) {
	for name, tc := range map[string]struct {
		target  Target
		ceiling int
		want    int
	}{
		"advice":               {&windowTarget{start: 3}, 10, 3},
		"advice over ceiling":  {&windowTarget{start: 30}, 10, 10},
		"no advice":            {&windowTarget{}, 10, 10},
		"no contention signal": {noSignals{}, 7, 7},
	} {
		t.Run(name, func(t *testing.T) {
			if got := startWindow(tc.target, tc.ceiling, nil).limit(); got != tc.want {
				t.Errorf("window starts at %d, want %d", got, tc.want)
			}
		})
	}
}

type noSignals struct{}

func (noSignals) Apply(context.Context, *plan.Change) error { return nil }

// TestWindowAcquireWaits: a full window makes acquire wait until a change
// ends, or until ctx does.
func TestWindowAcquireWaits(t *testing.T) {
	w := startWindow(noSignals{}, 1, nil)
	first, ok := w.acquire(context.Background())
	if !ok {
		t.Fatal("acquire of an empty window failed")
	}
	got := make(chan int64)
	go func() {
		ticket, _ := w.acquire(context.Background())
		got <- ticket
	}()
	select {
	case <-got:
		t.Fatal("acquire did not wait for room")
	case <-time.After(20 * time.Millisecond):
	}
	w.release(first, true)
	if ticket := <-got; ticket != 2 {
		t.Errorf("second ticket %d, want 2", ticket)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := w.acquire(ctx); ok {
		t.Error("acquire of a full window succeeded after ctx ended")
	}
}

// TestWindowRestartsEachPhase: a window that grew in one phase starts the
// next where the target advised, not higher; one that shrank stays low.
func TestWindowRestartsEachPhase(t *testing.T) {
	tg := &windowTarget{start: 2}
	w := startWindow(tg, 10, nil)
	for range 20 {
		for _, ticket := range fill(t, w) {
			w.release(ticket, true)
		}
	}
	if w.limit() != 10 {
		t.Fatalf("without contention the window is %d, want the ceiling 10", w.limit())
	}
	w.restart(plan.KindGroup)
	if got := len(fill(t, w)); got != 2 {
		t.Errorf("the next phase starts with %d in flight, want the advised 2", got)
	}
	w = startWindow(tg, 10, nil)
	round := fill(t, w)
	tg.signals.Add(5)
	for _, ticket := range round {
		w.release(ticket, true)
	}
	w.restart(plan.KindGroup)
	if got := w.limit(); got != 1 {
		t.Errorf("a window halved to 1 restarts at %d, want 1", got)
	}
}

// TestWindowHalvesBeforeTheRoundEnds: when the signals exceed what a
// whole round may bring, the window halves at the next change that ends,
// without waiting for the round's other changes to succeed.
func TestWindowHalvesBeforeTheRoundEnds(t *testing.T) {
	tg := &windowTarget{start: 8}
	w := startWindow(tg, 10, nil)
	round := fill(t, w)
	tg.signals.Add(int64(tolerance*8) + 1)
	w.release(round[0], false)
	if got := w.limit(); got != 4 {
		t.Errorf("after %d signals in a round of 8, one change in, the window is %d; want 4", int64(tolerance*8)+1, got)
	}
	w = startWindow(tg, 10, nil)
	round = fill(t, w)
	tg.signals.Add(int64(tolerance * 8))
	w.release(round[0], true)
	if got := w.limit(); got != 8 {
		t.Errorf("signals within tolerance changed the window to %d before the round ended", got)
	}
}
