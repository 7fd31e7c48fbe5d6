package state

import "time"

// GroupCommit runs a state backend's group commit: Do queues one write and
// waits for its result, and a single goroutine takes every write queued
// meanwhile (up to 1,024) and commits them together with commit. When a
// shared commit fails, each of its writes is committed alone, so that one
// bad write does not fail the others. Do may be called from several
// goroutines; the caller must not call Do after (or while) calling Close.
type GroupCommit[W any] struct {
	queue  chan *gcRequest[W]
	exited chan struct{}
	commit func(batch []W) error
	linger time.Duration // gcLinger; tests set their own
}

type gcRequest[W any] struct {
	w    W
	done chan error
}

const (
	gcQueueSize = 256
	gcMaxBatch  = 1024
	gcLinger    = time.Millisecond
)

// NewGroupCommit starts the writer goroutine. commit must apply the whole
// batch in one transaction, or none of it.
func NewGroupCommit[W any](commit func(batch []W) error) *GroupCommit[W] {
	return newGroupCommit(commit, gcLinger)
}

func newGroupCommit[W any](commit func(batch []W) error, linger time.Duration) *GroupCommit[W] {
	g := &GroupCommit[W]{queue: make(chan *gcRequest[W], gcQueueSize), exited: make(chan struct{}), commit: commit, linger: linger}
	go g.run()
	return g
}

// Do queues w and returns once it is committed, or its error.
func (g *GroupCommit[W]) Do(w W) error {
	r := &gcRequest[W]{w: w, done: make(chan error, 1)}
	g.queue <- r
	return <-r.done
}

// Close lets the pending writes finish and stops the writer goroutine.
func (g *GroupCommit[W]) Close() {
	close(g.queue)
	<-g.exited
}

func (g *GroupCommit[W]) run() {
	defer close(g.exited)
	batch := make([]*gcRequest[W], 0, 64)
	ws := make([]W, 0, 64)
	linger := time.NewTimer(g.linger)
	linger.Stop()
	last := 0 // the last batch's size
	for first := range g.queue {
		batch = append(batch[:0], first)
	drain:
		for len(batch) < gcMaxBatch {
			select {
			case r, ok := <-g.queue:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		// While writes come concurrently, those that arrive within
		// gcLinger share the commit too: gcLinger is about what an fsync
		// costs, and apply's results arrive faster than that, so the
		// wait saves more fsyncs than it adds time. A lone writer does
		// not wait.
		if len(batch) > 1 || last > 1 {
			linger.Reset(g.linger)
		collect:
			for len(batch) < gcMaxBatch {
				select {
				case r, ok := <-g.queue:
					if !ok {
						break collect
					}
					batch = append(batch, r)
				case <-linger.C:
					break collect
				}
			}
			linger.Stop() // since Go 1.23, no stale tick stays behind
		}
		last = len(batch)
		ws = ws[:0]
		for _, r := range batch {
			ws = append(ws, r.w)
		}
		err := g.commit(ws)
		if err == nil || len(batch) == 1 {
			for _, r := range batch {
				r.done <- err
			}
			continue
		}
		for _, r := range batch {
			r.done <- g.commit([]W{r.w})
		}
	}
}
