package state_test

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ldapply/ldapply/state"
)

// TestGroupCommit: writes queued together share one commit, and a bad
// write fails alone: the good ones of its batch are committed again one
// by one.
func TestGroupCommit(t *testing.T) {
	var biggest atomic.Int32
	var mu sync.Mutex
	var committed []int
	bad := errors.New("bad write")
	g := state.NewGroupCommit(func(batch []int) error {
		if n := int32(len(batch)); n > biggest.Load() {
			biggest.Store(n) // commits run on one goroutine
		}
		time.Sleep(5 * time.Millisecond) // let writes queue up
		if slices.Contains(batch, -1) {
			return bad
		}
		mu.Lock()
		committed = append(committed, batch...)
		mu.Unlock()
		return nil
	})
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := i
			if i == 17 {
				w = -1
			}
			errs[i] = g.Do(w)
		}()
	}
	wg.Wait()
	g.Close()
	for i, err := range errs {
		if (i == 17) != errors.Is(err, bad) {
			t.Errorf("write %d: err %v", i, err)
		}
	}
	slices.Sort(committed)
	if len(committed) != 39 || slices.Contains(committed, -1) {
		t.Errorf("committed %v, want the 39 good writes once each", committed)
	}
	if n := biggest.Load(); n < 2 {
		t.Errorf("the largest commit held %d writes: no batching", n)
	}
}

// TestGroupCommitLinger: while writes come concurrently, one that comes
// within the linger joins the commit; a lone writer does not wait for it.
// The linger is a second here, so the timings cannot be confused.
func TestGroupCommitLinger(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	gate := make(chan struct{})
	g := state.NewGroupCommitLinger(func(batch []int) error {
		mu.Lock()
		sizes = append(sizes, len(batch))
		first := len(sizes) == 1
		mu.Unlock()
		if first {
			<-gate // hold the first commit while two more writes queue
		}
		return nil
	}, time.Second)
	defer g.Close()

	// A lone writer: committed at once.
	start := time.Now()
	var wg sync.WaitGroup
	wg.Go(func() { g.Do(0) })
	for {
		mu.Lock()
		n := len(sizes)
		mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("a lone write waited %v for its commit", d)
	}
	// Two writes queue behind it: concurrent, so the next commit lingers
	// and a third write 50 ms later joins them.
	wg.Go(func() { g.Do(1) })
	wg.Go(func() { g.Do(2) })
	time.Sleep(50 * time.Millisecond)
	close(gate)
	time.Sleep(50 * time.Millisecond)
	wg.Go(func() { g.Do(3) })
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(sizes, []int{1, 3}) {
		t.Errorf("commits of %v writes, want [1 3]: the third write should share the lingering commit", sizes)
	}
}
