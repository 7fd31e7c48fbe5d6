package apply

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/ldapply/ldapply/plan"
)

// Target performs changes on one target system.
type Target interface {
	// Apply performs c. It must be idempotent: applying a change that
	// already took effect (a crash between the write and its record in
	// the state) must succeed, and deleting an object that is already
	// gone must succeed. Apply may be called from several goroutines.
	Apply(ctx context.Context, c *plan.Change) error
}

// Recorder records applied changes durably; *state.Locked implements it.
type Recorder interface {
	// Put must not return before the binding is durable.
	Put(b plan.Binding) error
	// Remove must not return before the removal is durable.
	Remove(kind plan.Kind, key string) error
}

// Options tune Run.
type Options struct {
	// Parallelism bounds the changes in flight within a phase; 0 means 10.
	Parallelism int
	// Log receives one line per change; nil discards.
	Log *slog.Logger
	// Progress, when set, is called after every finished change
	// (successful or not) with the number finished and the total. It is
	// called from one goroutine at a time.
	Progress func(done, total int)
}

// ChangeError is one failed change.
type ChangeError struct {
	Change *plan.Change
	Err    error
}

func (e *ChangeError) Error() string {
	return fmt.Sprintf("%s %s %s: %v", e.Change.Action, e.Change.Kind, e.Change.Name(), e.Err)
}

func (e *ChangeError) Unwrap() error { return e.Err }

// Result reports what Run did.
type Result struct {
	// Done counts the changes applied and recorded, by action.
	Done map[plan.Action]int
	// Failed lists every change that failed, in the order they failed.
	Failed []*ChangeError
	// Skipped counts changes not started because ctx was cancelled or
	// recording failed.
	Skipped int
}

// ErrRecord is wrapped by Run's error when the state could not record a
// change that the target had already applied; Run stops at once.
var ErrRecord = errors.New("the state could not record an applied change")

// Phases splits changes into apply order: non-deletes by kind in
// plan.Kinds order (kinds not listed there follow, in order of first
// appearance), then deletes in the reverse kind order.
func Phases(changes []plan.Change) [][]*plan.Change {
	kinds := slices.Clone(plan.Kinds)
	for i := range changes {
		if !slices.Contains(kinds, changes[i].Kind) {
			kinds = append(kinds, changes[i].Kind)
		}
	}
	pick := func(k plan.Kind, deletes bool) []*plan.Change {
		var ph []*plan.Change
		for i := range changes {
			c := &changes[i]
			if c.Kind == k && c.Action != plan.NoOp && (c.Action == plan.Delete) == deletes {
				ph = append(ph, c)
			}
		}
		return ph
	}
	var phases [][]*plan.Change
	for _, k := range kinds {
		if ph := pick(k, false); len(ph) > 0 {
			phases = append(phases, ph)
		}
	}
	for _, k := range slices.Backward(kinds) {
		if ph := pick(k, true); len(ph) > 0 {
			phases = append(phases, ph)
		}
	}
	return phases
}

// Run applies p's changes to t, recording each success with rec. It
// returns a non-nil error when any change failed (a joined list of
// *ChangeError), when recording failed (wrapping ErrRecord), or when ctx
// was cancelled (context.Canceled); Result is always filled in.
func Run(ctx context.Context, p *plan.Plan, t Target, rec Recorder, opts Options) (*Result, error) {
	if opts.Parallelism <= 0 {
		opts.Parallelism = 10
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	res := &Result{Done: map[plan.Action]int{}}
	total := len(p.Changes)
	var (
		mu        sync.Mutex
		finished  int
		recordErr error
	)
	// In-flight changes finish even when ctx is cancelled.
	opCtx := context.WithoutCancel(ctx)
	for _, phase := range Phases(p.Changes) {
		// sem bounds the target writes in flight. A change gives its slot
		// back once the target has answered, so the next writes overlap
		// the state's fsync and more results share one commit. recording
		// bounds the changes that wait for it: at most five times
		// Parallelism writes are ever done but not yet recorded (after a
		// crash, the next plan adopts them).
		sem := make(chan struct{}, opts.Parallelism)
		recording := make(chan struct{}, 4*opts.Parallelism)
		var wg sync.WaitGroup
		for _, c := range phase {
			acquired := false
			select {
			case sem <- struct{}{}:
				acquired = true
			case <-ctx.Done():
			}
			mu.Lock()
			stop := recordErr != nil || ctx.Err() != nil
			mu.Unlock()
			if stop {
				if acquired {
					<-sem
				}
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := t.Apply(opCtx, c)
				recording <- struct{}{}
				<-sem
				var rerr error
				if err == nil {
					if c.Action == plan.Delete {
						rerr = rec.Remove(c.Kind, c.Key)
					} else {
						rerr = rec.Put(c.Binding())
					}
				}
				<-recording
				mu.Lock()
				defer mu.Unlock()
				finished++
				switch {
				case err != nil:
					res.Failed = append(res.Failed, &ChangeError{Change: c, Err: err})
					log.Error("Change failed.", "action", c.Action.String(), "kind", c.Kind, "name", c.Name(), "id", c.ID, "err", err)
				case rerr != nil:
					if recordErr == nil {
						recordErr = fmt.Errorf("%w: %s %s %s (id %s) was applied but not recorded: %w", ErrRecord, c.Action, c.Kind, c.Name(), c.ID, rerr)
					}
				default:
					res.Done[c.Action]++
					log.Info("Change applied.", "action", c.Action.String(), "kind", c.Kind, "name", c.Name(), "id", c.ID)
				}
				if opts.Progress != nil {
					opts.Progress(finished, total)
				}
			}()
		}
		wg.Wait()
		if recordErr != nil || ctx.Err() != nil {
			break
		}
	}
	res.Skipped = total - finished
	if recordErr != nil {
		return res, recordErr
	}
	var errs []error
	for _, f := range res.Failed {
		errs = append(errs, f)
	}
	if ctx.Err() != nil {
		errs = append([]error{ctx.Err()}, errs...)
	}
	return res, errors.Join(errs...)
}
