package apply

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

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

// ContentionReporter is implemented by targets that can tell when they
// are overloaded; Run then adapts how many changes it sends at once.
type ContentionReporter interface {
	// ContentionSignals returns how many answers so far said the target
	// is contended (a serialization failure, 429, 503), retried or not.
	// It must never decrease and must be safe for concurrent use.
	ContentionSignals() int64
}

// ParallelismAdvisor is implemented by targets that know how many
// changes they take well at once.
type ParallelismAdvisor interface {
	// StartParallelism returns how many changes of kind k Run should
	// send at once before it learns more; a value below 1 means no
	// advice. Run never exceeds Options.Parallelism, whatever this
	// returns.
	StartParallelism(k plan.Kind) int
}

// Pruner is implemented by targets whose changes refer to other objects
// (a group to its members). When a create fails, Run asks it to leave the
// object out of the later phases' changes, so that they still do what
// they can.
type Pruner interface {
	// Prune returns c without its references to the target ids in
	// failed (objects whose create failed earlier in this apply)
	// and the ids it left out; (c, nil, nil) when c refers to none.
	// It must not modify c or failed; it may be called from several
	// goroutines.
	Prune(c *plan.Change, failed map[string]bool) (*plan.Change, []string, error)
}

// Preparer is implemented by targets that build a change's request from
// more than the change: Run calls Prepare with the whole plan once,
// before the first Apply. (UDM names a group's members by the DNs this
// apply's creates and renames give them, in the same phase as the
// group's own write.)
type Preparer interface {
	// Prepare must not modify p; it is called from one goroutine.
	Prepare(p *plan.Plan)
}

// Contended is implemented by errors that say the target refused a change
// only because of other work in flight (a serialization failure, 429,
// 503) after the target's own retries. Run sends such a change once more
// at the end of its phase, alone.
type Contended interface {
	Contended() bool
}

// Recorder records applied changes durably; *state.Locked implements it.
type Recorder interface {
	// Put must not return before the binding is durable.
	Put(b plan.Binding) error
	// Remove must not return before the removal is durable.
	Remove(kind plan.Kind, key string) error
}

// Observer is told how each change of a plan ended (an audit log).
type Observer interface {
	// Observe is called exactly once for every change Run was given:
	// applied, failed, or never started (Outcome.Result says which). It
	// is called before Run counts the change, from one goroutine at a
	// time, and holds up every other change while it runs, so it must
	// be quick. o is valid only during the call.
	Observe(o *Outcome)
}

// Outcome is how one change ended.
type Outcome struct {
	Change *plan.Change // as planned
	// Result is Applied, Failed or Skipped.
	Result string
	// Err is the target's error for a failed change; for an applied
	// change the state's error when it could not record it (Run stops
	// then); nil otherwise.
	Err error
	// Without names what an applied change left out (see Degraded).
	Without []string
	// Time is when the change finished, or when Run gave up on it.
	Time time.Time
}

// Outcome results.
const (
	Applied = "applied"
	Failed  = "failed"
	// Skipped: not started, because ctx was cancelled or recording
	// failed.
	Skipped = "skipped"
)

// Options tune Run.
type Options struct {
	// Parallelism is the most changes ever in flight; 0 means 10. Run
	// sends fewer at once while the target reports contention (see
	// ContentionReporter).
	Parallelism int
	// Log receives every failure and warning, a summary of each phase,
	// and one line per change applied up to ChangeLines; nil discards.
	Log *slog.Logger
	// ChangeLines bounds the info lines naming a change applied, so that
	// a log stays bounded however large the plan: beyond it the phase
	// summaries count them, and at the end one line says how many were
	// left out, followed by OmittedHint. 0 means no bound. Failures and
	// warnings are always logged, each.
	ChangeLines int
	// OmittedHint ends the line about the changes left out of the log:
	// where they are recorded, or how to record them.
	OmittedHint string
	// Observer, when set, is told how every change ended.
	Observer Observer
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
	// Degraded lists the changes applied without their references to
	// objects whose create failed (see Pruner), in the order they
	// finished. They are counted in Done and recorded as usual, so the
	// next plan adds what they left out once it exists.
	Degraded []*Degraded
	// Skipped counts changes not started because ctx was cancelled or
	// recording failed.
	Skipped int
}

// Degraded is a change applied without what failed before it.
type Degraded struct {
	Change *plan.Change // as planned
	// Without names the objects left out (their create changes' Name),
	// sorted.
	Without []string
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
	r := &runner{
		target: t, rec: rec, opts: opts, log: log,
		win: newWindow(t, opts.Parallelism, log),
		// In-flight changes finish even when ctx is cancelled.
		opCtx: context.WithoutCancel(ctx),
		// recording bounds the changes that wait for the state: at most
		// five times Parallelism writes are ever done but not yet
		// recorded (after a crash, the next plan adopts them).
		recording: make(chan struct{}, 4*opts.Parallelism),
		total:     len(p.Changes),
		res:       &Result{Done: map[plan.Action]int{}},
		failed:    map[string]string{},
		seen:      make(map[*plan.Change]bool, len(p.Changes)),
	}
	r.pruner, _ = t.(Pruner)
	if pr, ok := t.(Preparer); ok {
		pr.Prepare(p)
	}
	phases := Phases(p.Changes)
	for _, phase := range phases {
		r.win.restart(phase[0].Kind)
		if r.phase(ctx, phase) {
			break
		}
	}
	r.skipRest(phases)
	if r.omitted > 0 {
		log.Info(fmt.Sprintf("Left %d changes applied out of this log; the first %d were logged one by one, the phase summaries count the rest. %s", r.omitted, r.logged, opts.OmittedHint), "omitted", r.omitted)
	}
	log.Debug("Finished the plan; this many changes were allowed in flight at the end.", "window", r.win.limit(), "ceiling", opts.Parallelism)
	res := r.res
	res.Skipped = r.total - r.finished
	if r.recordErr != nil {
		return res, r.recordErr
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

// runner is one Run in progress.
type runner struct {
	target    Target
	rec       Recorder
	pruner    Pruner // nil when the target has none
	opts      Options
	log       *slog.Logger
	win       *window
	opCtx     context.Context
	recording chan struct{}
	total     int

	mu        sync.Mutex
	res       *Result
	finished  int
	recordErr error
	failed    map[string]string     // target id -> name of each create that failed
	again     []*ChangeError        // this phase's changes refused for contention, to send once more
	seen      map[*plan.Change]bool // the changes finished
	logged    int                   // changes applied named in the log
	omitted   int                   // changes applied left out of the log
	phaseDone int                   // changes of this phase applied
	phaseFail int                   // changes of this phase failed
}

// stopped reports whether Run must start no more changes.
func (r *runner) stopped(ctx context.Context) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.recordErr != nil || ctx.Err() != nil
}

// phase runs one phase's changes, each as soon as the window has room,
// and waits for them. It reports whether Run must stop.
func (r *runner) phase(ctx context.Context, changes []*plan.Change) (stop bool) {
	// The creates that failed in the phases before: this phase's changes
	// leave them out. This phase's failures count from the next one on.
	r.mu.Lock()
	failed := failures{names: maps.Clone(r.failed), ids: make(map[string]bool, len(r.failed))}
	r.mu.Unlock()
	for id := range failed.names {
		failed.ids[id] = true
	}
	r.mu.Lock()
	r.phaseDone, r.phaseFail = 0, 0
	r.mu.Unlock()
	started := time.Now()
	var wg sync.WaitGroup
	for _, c := range changes {
		// A change gives its room back once the target has answered, so
		// the next writes overlap the state's fsync and more results
		// share one commit.
		ticket, ok := r.win.acquire(ctx)
		if r.stopped(ctx) {
			if ok {
				r.win.abandon()
			}
			break
		}
		wg.Go(func() { r.one(c, ticket, failed, false) })
	}
	wg.Wait()
	r.sendAgain(ctx, failed)
	r.summarise(changes, time.Since(started))
	return r.stopped(ctx)
}

// summarise logs what one phase did.
func (r *runner) summarise(changes []*plan.Change, took time.Duration) {
	r.mu.Lock()
	done, failed := r.phaseDone, r.phaseFail
	r.mu.Unlock()
	what := "changes"
	if changes[0].Action == plan.Delete {
		what = "deletes"
	}
	args := []any{"kind", changes[0].Kind, "applied", done, "failed", failed, "not_started", len(changes) - done - failed, "took", took.Round(time.Millisecond)}
	r.log.Info(fmt.Sprintf("Finished the %s %s.", changes[0].Kind, what), args...)
}

// skipRest tells the Observer about the changes never started.
func (r *runner) skipRest(phases [][]*plan.Change) {
	if r.opts.Observer == nil {
		return
	}
	now := time.Now()
	for _, phase := range phases {
		for _, c := range phase {
			if !r.seen[c] {
				r.opts.Observer.Observe(&Outcome{Change: c, Result: Skipped, Time: now})
			}
		}
	}
}

// sendAgain sends the phase's changes that the target refused for
// contention once more, one at a time, when nothing else is in flight to
// contend with. A change that fails again, or that ctx leaves unsent,
// fails with its error.
func (r *runner) sendAgain(ctx context.Context, failed failures) {
	r.mu.Lock()
	again := r.again
	r.again = nil
	r.mu.Unlock()
	if len(again) > 0 {
		r.log.Info("Sending again, one at a time, the changes the target refused because other writes were in flight.", "changes", len(again))
	}
	for i, ce := range again {
		var ticket int64
		ok := !r.stopped(ctx)
		if ok {
			ticket, ok = r.win.acquire(ctx)
		}
		if !ok {
			for _, ce := range again[i:] {
				r.finish(ce.Change, ce.Err, nil, nil)
			}
			return
		}
		r.one(ce.Change, ticket, failed, true)
	}
}

// failures are the creates that failed in the phases before one.
type failures struct {
	ids   map[string]bool   // their target ids
	names map[string]string // their names, by target id
}

// one applies c, which holds ticket in the window, records it and counts
// it. Unless last, a change the target refused for contention is kept
// for sendAgain instead.
func (r *runner) one(c *plan.Change, ticket int64, failed failures, last bool) {
	send, without, err := r.prune(c, failed)
	if err == nil {
		err = r.target.Apply(r.opCtx, send)
		if err != nil && len(without) > 0 {
			err = fmt.Errorf("%w (sent without %s, whose create failed)", err, strings.Join(without, ", "))
		}
	}
	r.recording <- struct{}{}
	r.win.release(ticket, err == nil)
	if err != nil && !last && contended(err) {
		<-r.recording
		r.mu.Lock()
		r.again = append(r.again, &ChangeError{Change: c, Err: err})
		r.mu.Unlock()
		return
	}
	var rerr error
	if err == nil {
		if c.Action == plan.Delete {
			rerr = r.rec.Remove(c.Kind, c.Key)
		} else {
			rerr = r.rec.Put(c.Binding())
		}
	}
	<-r.recording
	r.finish(c, err, rerr, without)
}

// contended reports whether err says the target refused the change only
// because of other work in flight.
func contended(err error) bool {
	var ce Contended
	return errors.As(err, &ce) && ce.Contended()
}

// finish counts c as done or failed: err is the target's error, rerr
// the state's, without what c was sent without.
func (r *runner) finish(c *plan.Change, err, rerr error, without []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.observe(c, err, rerr, without)
	r.finished++
	args := []any{"action", c.Action.String(), "kind", c.Kind, "name", c.Name(), "id", c.ID}
	switch {
	case err != nil:
		r.phaseFail++
		r.res.Failed = append(r.res.Failed, &ChangeError{Change: c, Err: err})
		if c.Action == plan.Create {
			r.failed[c.ID] = c.Name()
		}
		r.log.Error("Change failed.", append(args, "err", err)...)
	case rerr != nil:
		if r.recordErr == nil {
			r.recordErr = fmt.Errorf("%w: %s %s %s (id %s) was applied but not recorded: %w", ErrRecord, c.Action, c.Kind, c.Name(), c.ID, rerr)
		}
	case len(without) > 0:
		r.phaseDone++
		r.res.Done[c.Action]++
		r.res.Degraded = append(r.res.Degraded, &Degraded{Change: c, Without: without})
		r.log.Warn("Change applied without the objects whose create failed; the next plan adds them once they exist.", append(args, "without", without)...)
	default:
		r.phaseDone++
		r.res.Done[c.Action]++
		if r.opts.ChangeLines > 0 && r.logged >= r.opts.ChangeLines {
			r.omitted++
			break
		}
		r.logged++
		r.log.Info("Change applied.", args...)
	}
	if r.opts.Progress != nil {
		r.opts.Progress(r.finished, r.total)
	}
}

// observe tells the Observer how c ended (see finish); r.mu is held.
func (r *runner) observe(c *plan.Change, err, rerr error, without []string) {
	r.seen[c] = true
	if r.opts.Observer == nil {
		return
	}
	o := &Outcome{Change: c, Result: Applied, Err: rerr, Without: without, Time: time.Now()}
	if err != nil {
		o.Result, o.Err = Failed, err
	}
	r.opts.Observer.Observe(o)
}

// prune returns c as it is to be sent: without its references to the
// creates in failed, which it names in without.
func (r *runner) prune(c *plan.Change, failed failures) (send *plan.Change, without []string, err error) {
	if len(failed.ids) == 0 || r.pruner == nil || c.Action == plan.Delete {
		return c, nil, nil
	}
	send, left, err := r.pruner.Prune(c, failed.ids)
	if err != nil {
		return nil, nil, fmt.Errorf("could not leave out the objects whose create failed: %w", err)
	}
	if send == nil {
		send = c
	}
	for _, id := range left {
		without = append(without, cmp.Or(failed.names[id], id))
	}
	slices.Sort(without)
	return send, without, nil
}
