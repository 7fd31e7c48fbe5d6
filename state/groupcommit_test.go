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
