package apply

import (
	"context"
	"log/slog"
	"sync"
)

// window bounds the changes in flight and adapts the bound to the target,
// as TCP's congestion window does: additive increase, multiplicative
// decrease. It grows by one for every window's worth of successful
// changes while the target reports no contention, halves when the
// target's contention counter has risen, and stays between 1 and the
// ceiling.
//
// Each change holds a ticket: the number of changes started before it,
// plus one. A rise of the counter halves the window only when the change
// that sees it started after the last halving; the changes already in
// flight then were started under the old window, so one burst of
// conflicts halves it once (TCP's recovery point). They do not grow the
// window either.
type window struct {
	// signals reads the target's contention counter; nil when the target
	// reports none, and the window then never shrinks.
	signals func() int64
	ceiling float64
	log     *slog.Logger

	mu       sync.Mutex
	size     float64 // floor(size) changes may be in flight
	inflight int
	started  int64         // changes started so far: the last ticket
	recover  int64         // started when the window last halved
	seen     int64         // the counter as last read
	wake     chan struct{} // closed and replaced when a change ends and waiting
	waiting  bool          // someone waits on wake
}

// newWindow returns the window for changes to t, at most ceiling in
// flight. It starts where t's StartParallelism says, else at the ceiling:
// without a ContentionReporter nothing could ever shrink it, so starting
// lower would only be slower than a fixed bound; with one but no advice,
// a few halvings find the target's pace faster than growing towards it.
func newWindow(t Target, ceiling int, log *slog.Logger) *window {
	w := &window{ceiling: float64(max(1, ceiling)), log: log, wake: make(chan struct{})}
	w.size = w.ceiling
	if a, ok := t.(ParallelismAdvisor); ok {
		if n := a.StartParallelism(); n > 0 {
			w.size = min(w.ceiling, float64(n))
		}
	}
	if r, ok := t.(ContentionReporter); ok {
		w.signals = r.ContentionSignals
		w.seen = r.ContentionSignals()
	}
	return w
}

// limit returns how many changes may be in flight now.
func (w *window) limit() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return int(w.size)
}

// acquire waits until the window has room for one more change and
// returns the change's ticket; ok is false when ctx ended first.
func (w *window) acquire(ctx context.Context) (ticket int64, ok bool) {
	for {
		ticket, wake := w.tryAcquire()
		if ticket > 0 {
			return ticket, true
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return 0, false
		}
	}
}

// tryAcquire takes room for one change and returns its ticket, or 0 and
// a channel closed when room may have come free.
func (w *window) tryAcquire() (int64, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.inflight >= int(w.size) {
		w.waiting = true
		return 0, w.wake
	}
	w.inflight++
	w.started++
	return w.started, nil
}

// release ends the change holding ticket; succeeded says whether the
// target took it. It reads the contention counter and resizes the window.
func (w *window) release(ticket int64, succeeded bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inflight--
	before := int(w.size)
	why := ""
	switch {
	case w.contended():
		if ticket > w.recover {
			w.size = max(1, w.size/2)
			w.recover = w.started
			why = "the target reported contention"
		}
	case succeeded && ticket > w.recover:
		w.size = min(w.ceiling, w.size+1/w.size)
		why = "the target reported no contention"
	}
	if after := int(w.size); after != before && w.log != nil {
		w.log.Debug("Changed how many changes apply sends at once.", "from", before, "to", after, "ceiling", int(w.ceiling), "why", why)
	}
	w.wakeAll()
}

// abandon gives back room taken for a change that was not started.
func (w *window) abandon() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inflight--
	w.wakeAll()
}

// contended reports whether the target's contention counter rose since
// it was last read. w.mu must be held.
func (w *window) contended() bool {
	if w.signals == nil {
		return false
	}
	n := w.signals()
	if n <= w.seen {
		return false
	}
	w.seen = n
	return true
}

// wakeAll wakes whoever waits for room. w.mu must be held.
func (w *window) wakeAll() {
	if w.waiting {
		close(w.wake)
		w.wake, w.waiting = make(chan struct{}), false
	}
}
