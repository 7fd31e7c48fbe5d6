package apply_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/plan"
)

type fakeTarget struct {
	mu       sync.Mutex
	order    []string
	fail     map[string]error
	delay    time.Duration
	inflight atomic.Int32
	maxSeen  atomic.Int32
	started  chan string
}

func (f *fakeTarget) Apply(ctx context.Context, c *plan.Change) error {
	n := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	for {
		m := f.maxSeen.Load()
		if n <= m || f.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	if f.started != nil {
		f.started <- c.Name()
	}
	time.Sleep(f.delay)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.order = append(f.order, fmt.Sprintf("%s %s %s", c.Action, c.Kind, c.Name()))
	return f.fail[c.Name()]
}

type fakeRecorder struct {
	mu      sync.Mutex
	put     map[string]plan.Binding
	removed []string
	failOn  string
}

func (r *fakeRecorder) Put(b plan.Binding) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b.Name == r.failOn {
		return errors.New("disk full")
	}
	if r.put == nil {
		r.put = map[string]plan.Binding{}
	}
	r.put[b.Key] = b
	return nil
}

func (r *fakeRecorder) Remove(k plan.Kind, key string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.removed = append(r.removed, key)
	return nil
}

func ch(a plan.Action, k plan.Kind, name string) plan.Change {
	c := plan.Change{Action: a, Kind: k, Key: "k-" + name, ID: "id-" + name}
	o := &plan.Object{Kind: k, Key: c.Key, ID: c.ID, Name: name}
	if a != plan.Delete {
		c.After = o
	}
	if a != plan.Create {
		c.Before = o
	}
	return c
}

func TestRunOrder(t *testing.T) {
	p := &plan.Plan{Changes: []plan.Change{
		ch(plan.Delete, plan.KindGroup, "old-group"),
		ch(plan.Delete, plan.KindUser, "gone"),
		ch(plan.Update, plan.KindGroup, "ops"),
		ch(plan.Create, plan.KindUser, "alice"),
		ch(plan.Rename, plan.KindUser, "caroline"),
	}}
	tg := &fakeTarget{}
	rec := &fakeRecorder{}
	res, err := apply.Run(context.Background(), p, tg, rec, apply.Options{Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"create user alice", "rename user caroline", "update group ops", "delete group old-group", "delete user gone"}
	if d := cmp.Diff(want, tg.order); d != "" {
		t.Errorf("order (-want +got):\n%s", d)
	}
	if len(rec.put) != 3 || len(rec.removed) != 2 {
		t.Errorf("recorded %d puts and %d removes, want 3 and 2", len(rec.put), len(rec.removed))
	}
	if res.Done[plan.Create] != 1 || res.Done[plan.Delete] != 2 {
		t.Errorf("Done = %v", res.Done)
	}
}

func TestRunParallelismBound(t *testing.T) {
	var cs []plan.Change
	for i := range 40 {
		cs = append(cs, ch(plan.Create, plan.KindUser, fmt.Sprintf("u%02d", i)))
	}
	tg := &fakeTarget{delay: 5 * time.Millisecond}
	if _, err := apply.Run(context.Background(), &plan.Plan{Changes: cs}, tg, &fakeRecorder{}, apply.Options{Parallelism: 4}); err != nil {
		t.Fatal(err)
	}
	if got := tg.maxSeen.Load(); got != 4 {
		t.Errorf("max changes in flight = %d, want 4", got)
	}
}

// slowRecorder holds each Put until release is closed, as an fsync would.
type slowRecorder struct {
	fakeRecorder
	release chan struct{}
	waiting atomic.Int32
}

func (r *slowRecorder) Put(b plan.Binding) error {
	r.waiting.Add(1)
	<-r.release
	return r.fakeRecorder.Put(b)
}

// TestRunOverlapsRecording: the next target writes start while the last
// ones are being recorded, up to four times Parallelism writes awaiting
// the state, and every success is still recorded before Run returns.
func TestRunOverlapsRecording(t *testing.T) {
	var cs []plan.Change
	for i := range 20 {
		cs = append(cs, ch(plan.Create, plan.KindUser, fmt.Sprintf("u%02d", i)))
	}
	tg := &fakeTarget{}
	rec := &slowRecorder{release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := apply.Run(context.Background(), &plan.Plan{Changes: cs}, tg, rec, apply.Options{Parallelism: 2})
		done <- err
	}()
	// With the state stalled, eight writes wait to be recorded, two more
	// are done and wait for a place, and no further write starts.
	deadline := time.Now().Add(5 * time.Second)
	for rec.waiting.Load() < 8 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	tg.mu.Lock()
	written := len(tg.order)
	tg.mu.Unlock()
	if written != 10 || rec.waiting.Load() != 8 {
		t.Errorf("%d target writes and %d awaiting the state while it stalls, want 10 and 8", written, rec.waiting.Load())
	}
	close(rec.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(rec.put) != 20 {
		t.Errorf("%d of 20 changes recorded", len(rec.put))
	}
}

func TestRunContinuesPastFailures(t *testing.T) {
	p := &plan.Plan{Changes: []plan.Change{
		ch(plan.Create, plan.KindUser, "alice"),
		ch(plan.Create, plan.KindUser, "bob"),
		ch(plan.Create, plan.KindUser, "carol"),
	}}
	boom := errors.New("422 Username bob already exists")
	tg := &fakeTarget{fail: map[string]error{"bob": boom}}
	rec := &fakeRecorder{}
	res, err := apply.Run(context.Background(), p, tg, rec, apply.Options{Parallelism: 1})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap the failure", err)
	}
	if len(res.Failed) != 1 || res.Failed[0].Change.Name() != "bob" {
		t.Errorf("Failed = %v", res.Failed)
	}
	if _, ok := rec.put["k-bob"]; ok || len(rec.put) != 2 {
		t.Errorf("recorded %v; want alice and carol only", rec.put)
	}
}

func TestRunStopsWhenRecordingFails(t *testing.T) {
	p := &plan.Plan{Changes: []plan.Change{
		ch(plan.Create, plan.KindUser, "alice"),
		ch(plan.Create, plan.KindUser, "bob"),
		ch(plan.Update, plan.KindGroup, "ops"),
	}}
	tg := &fakeTarget{}
	res, err := apply.Run(context.Background(), p, tg, &fakeRecorder{failOn: "alice"}, apply.Options{Parallelism: 1})
	if !errors.Is(err, apply.ErrRecord) {
		t.Fatalf("err = %v, want ErrRecord", err)
	}
	if len(tg.order) != 1 || res.Skipped != 2 {
		t.Errorf("applied %v, skipped %d; want only alice applied and 2 skipped", tg.order, res.Skipped)
	}
}

func TestRunCancelFinishesInFlight(t *testing.T) {
	var cs []plan.Change
	for i := range 10 {
		cs = append(cs, ch(plan.Create, plan.KindUser, fmt.Sprintf("u%d", i)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	tg := &fakeTarget{delay: 50 * time.Millisecond, started: make(chan string, 10)}
	rec := &fakeRecorder{}
	go func() {
		<-tg.started
		<-tg.started
		cancel()
	}()
	res, err := apply.Run(ctx, &plan.Plan{Changes: cs}, tg, rec, apply.Options{Parallelism: 2})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(tg.order) != 2 || len(rec.put) != 2 {
		t.Errorf("applied %d and recorded %d, want the 2 in flight finished and recorded", len(tg.order), len(rec.put))
	}
	if res.Skipped != 8 {
		t.Errorf("Skipped = %d, want 8", res.Skipped)
	}
}

func TestCheck(t *testing.T) {
	p := &plan.Plan{Lineage: "L", Serial: 3, ConfigDigest: "sha256:aaa", Target: "icinga x"}
	good := apply.Expect{Lineage: "L", Serial: 3, ConfigDigest: "sha256:aaa", Target: "icinga x"}
	if err := apply.Check(p, good); err != nil {
		t.Fatalf("Check of a matching plan: %v", err)
	}
	for name, tc := range map[string]struct {
		mod  func(*apply.Expect)
		want error
	}{
		"serial moved":  {func(e *apply.Expect) { e.Serial = 4 }, apply.ErrStale},
		"other lineage": {func(e *apply.Expect) { e.Lineage = "M" }, apply.ErrForeign},
		"other config":  {func(e *apply.Expect) { e.ConfigDigest = "sha256:bbb" }, apply.ErrForeign},
		"other target":  {func(e *apply.Expect) { e.Target = "icinga y" }, apply.ErrForeign},
	} {
		t.Run(name, func(t *testing.T) {
			e := good
			tc.mod(&e)
			if err := apply.Check(p, e); !errors.Is(err, tc.want) {
				t.Errorf("Check = %v, want %v", err, tc.want)
			}
		})
	}
}

// contendedTarget reports contention, as a serializable database does,
// whenever a change starts while more than capacity are in flight; the
// change still succeeds (its client retried it).
type contendedTarget struct {
	capacity int32
	inflight atomic.Int32
	signals  atomic.Int64
	mu       sync.Mutex
	starts   []int32 // changes in flight as each started, itself included
}

func (f *contendedTarget) Apply(ctx context.Context, c *plan.Change) error {
	n := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	if n > f.capacity {
		f.signals.Add(1)
	}
	f.mu.Lock()
	f.starts = append(f.starts, n)
	f.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	return nil
}

func (f *contendedTarget) ContentionSignals() int64       { return f.signals.Load() }
func (f *contendedTarget) StartParallelism(plan.Kind) int { return 2 }

// TestRunAdaptsToContention: against a target that takes three changes at
// once, Run under a ceiling of 10 keeps close to three in flight: it
// neither floods the target (nearly every change would conflict at a
// fixed 10) nor falls back to one at a time. It tolerates some
// contention (a quarter of a round's changes), so it is often one or two
// above.
func TestRunAdaptsToContention(t *testing.T) {
	var cs []plan.Change
	for i := range 400 {
		cs = append(cs, ch(plan.Create, plan.KindUser, fmt.Sprintf("u%03d", i)))
	}
	tg := &contendedTarget{capacity: 3}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	res, err := apply.Run(context.Background(), &plan.Plan{Changes: cs}, tg, &fakeRecorder{}, apply.Options{Parallelism: 10, Log: log})
	if err != nil || res.Done[plan.Create] != 400 {
		t.Fatalf("Run = %v, %d done", err, res.Done[plan.Create])
	}
	late := tg.starts[200:]
	over, sum := 0, 0
	for _, n := range late {
		sum += int(n)
		if n > tg.capacity {
			over++
		}
	}
	mean := float64(sum) / float64(len(late))
	if over > len(late)/2 || mean < 2 || mean > 5 {
		t.Errorf("after warm-up %d of %d changes started over capacity 3, %.1f in flight on average; want at most half over, 2 to 5 on average", over, len(late), mean)
	}
	for _, want := range []string{"level=DEBUG msg=\"Changed how many changes apply sends at once.\" from=2 to=3", "why=\"the target reported contention\""} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the debug log lacks %q", want)
		}
	}
}

// prunerTarget is a fakeTarget that can leave failed members out of a
// group's "members" list.
type prunerTarget struct {
	fakeTarget
	pruneErr error
	mu2      sync.Mutex
	sent     map[string][]string // members as applied, by group name
}

func (p *prunerTarget) Prune(c *plan.Change, failed map[string]bool) (*plan.Change, []string, error) {
	if p.pruneErr != nil {
		return nil, nil, p.pruneErr
	}
	if c.After == nil {
		return c, nil, nil
	}
	var keep, left []string
	for _, id := range c.After.Lists["members"] {
		if failed[id] {
			left = append(left, id)
		} else {
			keep = append(keep, id)
		}
	}
	if left == nil {
		return c, nil, nil
	}
	after := *c.After
	after.Lists = map[string][]string{"members": keep}
	pruned := *c
	pruned.After = &after
	return &pruned, left, nil
}

func (p *prunerTarget) Apply(ctx context.Context, c *plan.Change) error {
	if c.Kind == plan.KindGroup && c.After != nil {
		p.mu2.Lock()
		if p.sent == nil {
			p.sent = map[string][]string{}
		}
		p.sent[c.Name()] = c.After.Lists["members"]
		p.mu2.Unlock()
	}
	return p.fakeTarget.Apply(ctx, c)
}

func group(a plan.Action, name string, members ...string) plan.Change {
	c := ch(a, plan.KindGroup, name)
	c.After.Lists = map[string][]string{"members": members}
	return c
}

// TestRunDegradesDependents: a user whose create failed is left out of
// the groups written after it; they are applied, recorded and reported
// as degraded, naming the user. Deletes and changes that do not refer to
// it are not degraded.
func TestRunDegradesDependents(t *testing.T) {
	p := &plan.Plan{Changes: []plan.Change{
		ch(plan.Create, plan.KindUser, "alice"),
		ch(plan.Create, plan.KindUser, "bob"),
		ch(plan.Update, plan.KindUser, "carol"),
		group(plan.Create, "ops", "id-alice", "id-bob", "id-carol"),
		group(plan.Update, "dev", "id-carol"),
		ch(plan.Delete, plan.KindGroup, "old"),
	}}
	boom := errors.New("422 invalid")
	tg := &prunerTarget{fakeTarget: fakeTarget{fail: map[string]error{"bob": boom, "carol": boom}}}
	rec := &fakeRecorder{}
	res, err := apply.Run(context.Background(), p, tg, rec, apply.Options{Parallelism: 4})
	if !errors.Is(err, boom) || len(res.Failed) != 2 {
		t.Fatalf("Run = %v, %d failed; want bob's and carol's failures", err, len(res.Failed))
	}
	// carol's update failed, but carol exists: only bob is left out.
	if d := cmp.Diff([]string{"id-alice", "id-carol"}, tg.sent["ops"]); d != "" {
		t.Errorf("ops sent with (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"id-carol"}, tg.sent["dev"]); d != "" {
		t.Errorf("dev sent with (-want +got):\n%s", d)
	}
	if len(res.Degraded) != 1 || res.Degraded[0].Change.Name() != "ops" || !slices.Equal(res.Degraded[0].Without, []string{"bob"}) {
		t.Errorf("Degraded = %+v, want ops without bob", res.Degraded)
	}
	// The change as planned is what the result and the state hold.
	if got := res.Degraded[0].Change.After.Lists["members"]; len(got) != 3 {
		t.Errorf("the degraded change reported is not the planned one: members %v", got)
	}
	if _, ok := rec.put["k-ops"]; !ok || res.Done[plan.Create] != 2 || len(rec.removed) != 1 {
		t.Errorf("recorded %v, removed %v, Done %v; want ops recorded and counted, old removed", rec.put, rec.removed, res.Done)
	}
}

// TestRunDegradesOnlyLaterPhases: a failure is left out of the phases
// after its own, not of changes running beside it.
func TestRunDegradesOnlyLaterPhases(t *testing.T) {
	p := &plan.Plan{Changes: []plan.Change{
		group(plan.Create, "inner"),
		group(plan.Create, "outer", "id-inner"),
	}}
	tg := &prunerTarget{fakeTarget: fakeTarget{fail: map[string]error{"inner": errors.New("no")}}}
	res, _ := apply.Run(context.Background(), p, tg, &fakeRecorder{}, apply.Options{Parallelism: 1})
	if len(res.Degraded) != 0 || !slices.Equal(tg.sent["outer"], []string{"id-inner"}) {
		t.Errorf("a change of the failure's own phase was pruned: degraded %v, outer sent with %v", res.Degraded, tg.sent["outer"])
	}
}

// TestRunPruneFails: a change that cannot be pruned fails without being
// sent.
func TestRunPruneFails(t *testing.T) {
	p := &plan.Plan{Changes: []plan.Change{
		ch(plan.Create, plan.KindUser, "bob"),
		group(plan.Create, "ops", "id-bob"),
	}}
	tg := &prunerTarget{fakeTarget: fakeTarget{fail: map[string]error{"bob": errors.New("no")}}, pruneErr: errors.New("payload is not JSON")}
	res, err := apply.Run(context.Background(), p, tg, &fakeRecorder{}, apply.Options{})
	if len(res.Failed) != 2 || res.Failed[1].Change.Name() != "ops" || !strings.Contains(err.Error(), "payload is not JSON") {
		t.Fatalf("Failed = %v, err = %v; want ops failed with the prune error", res.Failed, err)
	}
	if _, sent := tg.sent["ops"]; sent {
		t.Error("ops was sent although it could not be pruned")
	}
}

// TestRunWithoutPruner: a target without Pruner gets its changes as
// planned after a failure.
func TestRunWithoutPruner(t *testing.T) {
	p := &plan.Plan{Changes: []plan.Change{
		ch(plan.Create, plan.KindUser, "bob"),
		group(plan.Create, "ops", "id-bob"),
	}}
	tg := &fakeTarget{fail: map[string]error{"bob": errors.New("no")}}
	res, _ := apply.Run(context.Background(), p, tg, &fakeRecorder{}, apply.Options{})
	if len(res.Degraded) != 0 || res.Done[plan.Create] != 1 {
		t.Errorf("Degraded %v, Done %v; want ops applied as planned", res.Degraded, res.Done)
	}
}

// conflictError is a target's refusal for contention.
type conflictError struct{}

func (conflictError) Error() string   { return "serialization failure (gave up after 10 attempts)" }
func (conflictError) Contended() bool { return true }

// serialTarget refuses, for contention, every change that overlaps
// another, and always the change named stubborn.
type serialTarget struct {
	inflight atomic.Int32
	stubborn string
	mu       sync.Mutex
	tries    map[string]int
}

func (s *serialTarget) Apply(ctx context.Context, c *plan.Change) error {
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	time.Sleep(time.Millisecond)
	s.mu.Lock()
	s.tries[c.Name()]++
	s.mu.Unlock()
	if n > 1 || s.inflight.Load() > 1 || c.Name() == s.stubborn {
		return fmt.Errorf("put %s: %w", c.Name(), conflictError{})
	}
	return nil
}

// TestRunSendsContendedChangesAgain: changes the target refused only
// because others were in flight are sent once more at the end of their
// phase, alone, and succeed; one that is refused alone too fails once,
// with its error, and is not sent a third time.
func TestRunSendsContendedChangesAgain(t *testing.T) {
	var cs []plan.Change
	for i := range 30 {
		cs = append(cs, ch(plan.Create, plan.KindUser, fmt.Sprintf("u%02d", i)))
	}
	cs = append(cs, ch(plan.Create, plan.KindGroup, "g"))
	tg := &serialTarget{stubborn: "u07", tries: map[string]int{}}
	rec := &fakeRecorder{}
	res, err := apply.Run(context.Background(), &plan.Plan{Changes: cs}, tg, rec, apply.Options{Parallelism: 8})
	if len(res.Failed) != 1 || res.Failed[0].Change.Name() != "u07" || !errors.As(err, new(conflictError)) {
		t.Fatalf("Run = %v, failed %v; want only u07 failed, with its contention error", err, res.Failed)
	}
	if got := res.Done[plan.Create]; got != 30 {
		t.Errorf("%d creates done, want 30 (all but u07)", got)
	}
	if n := tg.tries["u07"]; n != 2 {
		t.Errorf("u07 was sent %d times, want 2 (once with the others, once alone)", n)
	}
	again := 0
	for name, n := range tg.tries {
		if n > 2 {
			t.Errorf("%s was sent %d times, want at most 2", name, n)
		}
		if n == 2 {
			again++
		}
	}
	if again < 2 {
		t.Errorf("only %d changes were sent again; with 8 in flight, most overlap", again)
	}
}

// kindAdvisedTarget advises 3 users at once and groups one at a time,
// and records how many changes of each kind were in flight as each
// started.
type kindAdvisedTarget struct {
	inflight atomic.Int32
	mu       sync.Mutex
	starts   map[plan.Kind][]int32
}

func (k *kindAdvisedTarget) Apply(ctx context.Context, c *plan.Change) error {
	// Counted under the lock, so the starts are listed in the order of
	// their counts (the first start listed saw itself alone).
	k.mu.Lock()
	n := k.inflight.Add(1)
	k.starts[c.Kind] = append(k.starts[c.Kind], n)
	k.mu.Unlock()
	defer k.inflight.Add(-1)
	time.Sleep(2 * time.Millisecond)
	return nil
}

func (k *kindAdvisedTarget) ContentionSignals() int64 { return 0 }
func (k *kindAdvisedTarget) StartParallelism(kind plan.Kind) int {
	if kind == plan.KindGroup {
		return 1
	}
	return 3
}

// TestRunStartsEachPhaseAtItsAdvice: a window that grew over the users
// starts the groups' phase at the advice for groups, one at a time.
func TestRunStartsEachPhaseAtItsAdvice(t *testing.T) {
	var cs []plan.Change
	for i := range 60 {
		cs = append(cs, ch(plan.Create, plan.KindUser, fmt.Sprintf("u%02d", i)))
	}
	for i := range 3 {
		cs = append(cs, ch(plan.Create, plan.KindGroup, fmt.Sprintf("g%d", i)))
	}
	tg := &kindAdvisedTarget{starts: map[plan.Kind][]int32{}}
	if _, err := apply.Run(context.Background(), &plan.Plan{Changes: cs}, tg, &fakeRecorder{}, apply.Options{Parallelism: 10}); err != nil {
		t.Fatal(err)
	}
	users, groups := tg.starts[plan.KindUser], tg.starts[plan.KindGroup]
	if users[0] != 1 || slices.Max(users) < 4 {
		t.Errorf("users started with %v in flight; want the window to grow from the advice 3", users)
	}
	// One at a time: the second group starts only once the first is done
	// (a window carried over from the users would start all three at once).
	if groups[1] != 1 {
		t.Errorf("groups started with %v in flight; want the second alone, after the first (the advice for groups is 1)", groups)
	}
}

// preparerTarget records, at each Apply, how often Prepare ran before.
type preparerTarget struct {
	fakeTarget
	prepared atomic.Int32
	seen     []int32 // Prepare's count at each Apply
	planned  int     // changes in the plan Prepare got
}

func (p *preparerTarget) Prepare(pl *plan.Plan) {
	p.prepared.Add(1)
	p.planned = len(pl.Changes)
}

func (p *preparerTarget) Apply(ctx context.Context, c *plan.Change) error {
	p.mu.Lock()
	p.seen = append(p.seen, p.prepared.Load())
	p.mu.Unlock()
	return p.fakeTarget.Apply(ctx, c)
}

// TestRunPreparesOnce: a Preparer sees the whole plan once, before the
// first change is applied.
func TestRunPreparesOnce(t *testing.T) {
	tg := &preparerTarget{}
	cs := []plan.Change{ch(plan.Create, plan.KindUser, "alice"), ch(plan.Create, plan.KindGroup, "ops"), ch(plan.Delete, plan.KindUser, "bob")}
	if _, err := apply.Run(context.Background(), &plan.Plan{Changes: cs}, tg, &fakeRecorder{}, apply.Options{Parallelism: 2}); err != nil {
		t.Fatal(err)
	}
	if tg.planned != len(cs) || !slices.Equal(tg.seen, []int32{1, 1, 1}) {
		t.Errorf("Prepare got %d changes; Prepare's count at each Apply %v; want %d and 1 each", tg.planned, tg.seen, len(cs))
	}
}
