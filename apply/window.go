package apply

import (
	"context"
	"log/slog"
	"sync"

	"github.com/ldapply/ldapply/plan"
)

// window bounds the changes in flight and adapts the bound to the target,
// as TCP's congestion window does: additive increase, multiplicative
// decrease, decided once per round (as many successful changes as the
// window holds). A round whose contention signals stay within tolerance
// grows the window by one; a round above it halves the window. It stays
// between 1 and the ceiling.
//
// Each change holds a ticket: the number of changes started before it,
// plus one. A change started before the last halving neither counts
// towards a round nor halves the window again: it was started under the
// old window, so one burst of conflicts halves it once (TCP's recovery
// point).
type window struct {
	// signals reads the target's contention counter; nil when the target
	// reports none, and the window then never shrinks.
	signals func() int64
	advisor ParallelismAdvisor // nil when the target gives no advice
	ceiling float64
	log     *slog.Logger

	mu       sync.Mutex
	size     float64 // floor(size) changes may be in flight
	inflight int
	started  int64         // changes started so far: the last ticket
	round    int           // changes that succeeded in this round
	recover  int64         // started when the window last halved
	seen     int64         // the counter as last read
	wake     chan struct{} // closed and replaced when a change ends and waiting
	waiting  bool          // someone waits on wake
}

// newWindow returns the window for changes to t, at most ceiling in
// flight; restart sets where it starts. Without advice it starts at the
// ceiling: without a ContentionReporter nothing could ever shrink it, so
// starting lower would only be slower than a fixed bound; with one but no
// advice, a few halvings find the target's pace faster than growing
// towards it.
func newWindow(t Target, ceiling int, log *slog.Logger) *window {
	w := &window{ceiling: float64(max(1, ceiling)), log: log, wake: make(chan struct{})}
	w.size = w.ceiling
	w.advisor, _ = t.(ParallelismAdvisor)
	if r, ok := t.(ContentionReporter); ok {
		w.signals = r.ContentionSignals
		w.seen = r.ContentionSignals()
	}
	return w
}

// restart begins a phase that writes objects of kind k: the window goes
// down to where the target advises starting with k, if it is above that.
// Each phase writes another kind, which a target may take worse at once
// than the one before (on the real Icinga server contact creates
// conflict now and then, while group writes of a thousand members
// conflict nearly always), so what the last phase learnt does not carry
// over upwards. Nothing may be in flight.
func (w *window) restart(k plan.Kind) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.advisor != nil {
		if n := w.advisor.StartParallelism(k); n > 0 {
			w.size = min(w.size, w.ceiling, float64(n))
		}
	}
	w.round = 0
	w.recover = w.started
	w.newSignals()
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
// target took it. Once a round of changes (the window's size) has
// succeeded, it compares the target's contention signals in that round
// with those changes: above tolerance, the window halves; otherwise it
// grows by one. Signals above what a whole round may bring halve it at
// once, without waiting for the round to end: when writes are slow and
// conflict often, a round could take longer than a request's attempts.
func (w *window) release(ticket int64, succeeded bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inflight--
	defer w.wakeAll()
	if ticket <= w.recover {
		// Started under the window before the last halving (or the
		// last phase): its signals belong to what that answered.
		w.newSignals()
		return
	}
	if succeeded {
		w.round++
	}
	full := max(1, int(w.size))
	pending := w.pendingSignals()
	if w.round < full && float64(pending) <= tolerance*float64(full) {
		return
	}
	before := int(w.size)
	why := "the target reported little contention"
	if float64(pending) > tolerance*float64(max(1, w.round)) {
		w.size = max(1, w.size/2)
		w.recover = w.started
		why = "the target reported contention"
	} else {
		w.size = min(w.ceiling, w.size+1)
	}
	w.round = 0
	w.newSignals()
	if after := int(w.size); after != before && w.log != nil {
		w.log.Debug("Changed how many changes apply sends at once.", "from", before, "to", after, "ceiling", int(w.ceiling), "why", why)
	}
}

// tolerance is how many contention signals per successful change a round
// may bring before the window halves. A serialization failure costs one
// quick retry of an idempotent write, so some of them are cheaper than
// fewer changes in flight: on the real Icinga server three contact writes
// in flight still gain over two, though about a third of the answers are
// conflicts. One for every two keeps a third of the answers or fewer
// failing; a change that still uses up its attempts is sent again alone
// at the end of its phase (bench/fast-paths.md has the runs behind it).
const tolerance = 0.5

// abandon gives back room taken for a change that was not started.
func (w *window) abandon() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inflight--
	w.wakeAll()
}

// pendingSignals returns how many contention signals the target
// reported since they were last taken. w.mu must be held.
func (w *window) pendingSignals() int64 {
	if w.signals == nil {
		return 0
	}
	return w.signals() - w.seen
}

// newSignals takes the signals reported since the last call and returns
// how many there were. w.mu must be held.
func (w *window) newSignals() int64 {
	if w.signals == nil {
		return 0
	}
	n := w.signals()
	d := n - w.seen
	w.seen = n
	return d
}

// wakeAll wakes whoever waits for room. w.mu must be held.
func (w *window) wakeAll() {
	if w.waiting {
		close(w.wake)
		w.wake, w.waiting = make(chan struct{}), false
	}
}
