// Package statetest is a conformance suite for ldapply state backends
// (state.Backend). A backend passes when Run succeeds against a fresh,
// empty state for every call of open. The bbolt file backend (state.File)
// and the PostgreSQL backend (state/pgstate) run it; every backend must.
//
// Each check is also exported on its own, so a backend's tests can run a
// single one or add their own between them.
package statetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/state"
)

// Backend is the interface under test: state.Backend.
type Backend = state.Backend

// Locked is a state held under the exclusive lock: state.Session.
type Locked = state.Session

// Run runs every check in its own subtest, each against a new, empty
// backend from open.
func Run(t *testing.T, open func(t *testing.T) Backend) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, Backend)
	}{
		{"ReadMissing", ReadMissing},
		{"InitIdempotent", InitIdempotent},
		{"RoundTrip", RoundTrip},
		{"SerialMonotonic", SerialMonotonic},
		{"InvalidBindings", InvalidBindings},
		{"ConcurrentPuts", ConcurrentPuts},
		{"RunsTrimmed", RunsTrimmed},
		{"RunLifecycle", RunLifecycle},
		{"LockContention", LockContention},
		{"ConcurrentWriters", ConcurrentWriters},
		{"ConcurrentSessions", ConcurrentSessions},
		{"ForceUnlockErrors", ForceUnlockErrors},
		{"UnlockIdempotent", UnlockIdempotent},
		{"Import", Import},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

// MustLock locks b for the test and unlocks it in t.Cleanup.
func MustLock(t testing.TB, b Backend, op string) Locked {
	t.Helper()
	l, err := b.Lock(context.Background(), state.NewLockInfo(op, "test"), 0)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	t.Cleanup(func() { _ = l.Unlock() })
	return l
}

// MustRead reads b, failing the test on error.
func MustRead(t testing.TB, b Backend) *state.Snapshot {
	t.Helper()
	s, err := b.Read(context.Background(), 0)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return s
}

// MustUnlock unlocks l, failing the test on error.
func MustUnlock(t testing.TB, l Locked) {
	t.Helper()
	if err := l.Unlock(); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
}

// User returns a user binding for tests.
func User(key, id, name string) plan.Binding {
	return plan.Binding{Kind: plan.KindUser, Key: key, ID: id, Name: name}
}

// Group returns a group binding for tests.
func Group(key, id, name string) plan.Binding {
	return plan.Binding{Kind: plan.KindGroup, Key: key, ID: id, Name: name}
}

// ReadMissing checks that reading a state that does not exist gives an
// empty snapshot with Lineage "".
func ReadMissing(t *testing.T, b Backend) {
	s := MustRead(t, b)
	if s.Lineage != "" || s.Serial != 0 || s.SignKey != nil || len(s.Runs) != 0 {
		t.Errorf("Read of a missing state = %+v, want empty", s)
	}
	if s.Bindings == nil || len(s.Bindings) != 0 {
		t.Errorf("Bindings = %#v, want empty non-nil", s.Bindings)
	}
}

// InitIdempotent checks that Init creates a lineage and sign key once and
// that later Inits keep them.
func InitIdempotent(t *testing.T, b Backend) {
	ctx := context.Background()
	if err := b.Init(ctx, time.Second); err != nil {
		t.Fatalf("Init: %v", err)
	}
	first := MustRead(t, b)
	if first.Lineage == "" {
		t.Fatal("Lineage is empty after Init")
	}
	if len(first.SignKey) != state.SignKeySize {
		t.Fatalf("SignKey has %d bytes, want %d", len(first.SignKey), state.SignKeySize)
	}
	if first.Serial != 0 {
		t.Errorf("Serial = %d after Init, want 0", first.Serial)
	}
	for range 2 {
		if err := b.Init(ctx, time.Second); err != nil {
			t.Fatalf("second Init: %v", err)
		}
	}
	again := MustRead(t, b)
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("state changed by a second Init (-first +again):\n%s", diff)
	}
	l := MustLock(t, b, "apply")
	s, err := l.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if s.Lineage != first.Lineage {
		t.Errorf("Lock changed the lineage from %s to %s", first.Lineage, s.Lineage)
	}
}

// RoundTrip checks Put, Remove and Snapshot, under the lock and after
// Unlock.
func RoundTrip(t *testing.T, b Backend) {
	l := MustLock(t, b, "apply")
	s0, err := l.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if s0.Lineage == "" {
		t.Fatal("Lock on a missing state did not create a lineage")
	}
	puts := []plan.Binding{
		User("k1", "id1", "alice"),
		User("k2", "id2", "bob"),
		Group("g1", "gid1", "admins"),
		User("k1", "id1", "alice2"), // rename replaces
		User("we\x00ird/ключ", "id3", "carol"),
	}
	for _, p := range puts {
		if err := l.Put(p); err != nil {
			t.Fatalf("Put(%+v): %v", p, err)
		}
	}
	for _, r := range []struct {
		kind plan.Kind
		key  string
	}{{plan.KindUser, "k2"}, {plan.KindUser, "missing"}, {plan.KindGroup, "k1"}} {
		if err := l.Remove(r.kind, r.key); err != nil {
			t.Fatalf("Remove(%s, %q): %v", r.kind, r.key, err)
		}
	}
	want := plan.Bindings{}
	want.Add(User("k1", "id1", "alice2"))
	want.Add(Group("g1", "gid1", "admins"))
	want.Add(User("we\x00ird/ключ", "id3", "carol"))
	s, err := l.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, s.Bindings); diff != "" {
		t.Errorf("bindings under lock (-want +got):\n%s", diff)
	}
	run := state.Run{ID: "r1", Operation: "apply", Status: state.StatusSuccess,
		Started:  time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Finished: time.Date(2025, 1, 2, 3, 4, 9, 0, time.UTC),
		Counts:   map[string]int{"create": 3}, Message: "done", Errors: []string{"x"}}
	if err := l.AddRun(run); err != nil {
		t.Fatal(err)
	}
	MustUnlock(t, l)
	after := MustRead(t, b)
	if diff := cmp.Diff(want, after.Bindings); diff != "" {
		t.Errorf("bindings after Unlock (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]state.Run{run}, after.Runs); diff != "" {
		t.Errorf("runs after Unlock (-want +got):\n%s", diff)
	}
	if after.Lineage != s0.Lineage {
		t.Errorf("lineage changed from %s to %s", s0.Lineage, after.Lineage)
	}
}

// SerialMonotonic checks that BumpSerial counts up by one and survives
// relocking.
func SerialMonotonic(t *testing.T, b Backend) {
	var last uint64
	for round := range 3 {
		l := MustLock(t, b, "apply")
		for range 3 {
			n, err := l.BumpSerial()
			if err != nil {
				t.Fatal(err)
			}
			if n != last+1 {
				t.Fatalf("round %d: BumpSerial = %d, want %d", round, n, last+1)
			}
			last = n
		}
		MustUnlock(t, l)
		if s := MustRead(t, b); s.Serial != last {
			t.Fatalf("Read after round %d: Serial = %d, want %d", round, s.Serial, last)
		}
	}
}

// InvalidBindings checks that bindings without a Kind, Key or ID are
// refused with state.ErrInvalidBinding and never written.
func InvalidBindings(t *testing.T, b Backend) {
	l := MustLock(t, b, "apply")
	for _, bad := range []plan.Binding{
		{Kind: "", Key: "k", ID: "i"},
		{Kind: plan.KindUser, Key: "", ID: "i"},
		{Kind: plan.KindUser, Key: "k", ID: ""},
		{Kind: "us\x00er", Key: "k", ID: "i"},
	} {
		if err := l.Put(bad); !errors.Is(err, state.ErrInvalidBinding) {
			t.Errorf("Put(%+v) = %v, want ErrInvalidBinding", bad, err)
		}
	}
	if err := l.Remove(plan.KindUser, ""); !errors.Is(err, state.ErrInvalidBinding) {
		t.Errorf("Remove with empty key = %v, want ErrInvalidBinding", err)
	}
	s, err := l.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Bindings) != 0 {
		t.Errorf("invalid bindings were written: %v", s.Bindings)
	}
}

// ConcurrentPuts checks that Puts from 20 goroutines are all recorded and
// still there after Unlock.
func ConcurrentPuts(t *testing.T, b Backend) {
	const workers, each = 20, 25
	l := MustLock(t, b, "apply")
	want := plan.Bindings{}
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		for i := range each {
			want.Add(User(fmt.Sprintf("k%d-%d", w, i), fmt.Sprintf("id%d-%d", w, i), "n"))
		}
		wg.Go(func() {
			for i := range each {
				if err := l.Put(User(fmt.Sprintf("k%d-%d", w, i), fmt.Sprintf("id%d-%d", w, i), "n")); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Put: %v", err)
	}
	MustUnlock(t, l)
	if diff := cmp.Diff(want, MustRead(t, b).Bindings); diff != "" {
		t.Errorf("bindings after concurrent Puts (-want +got):\n%s", diff)
	}
}

// RunsTrimmed checks that only the newest state.MaxRuns runs are kept,
// oldest first.
func RunsTrimmed(t *testing.T, b Backend) {
	l := MustLock(t, b, "apply")
	const n = state.MaxRuns + 5
	for i := range n {
		if err := l.AddRun(state.Run{ID: fmt.Sprint(i), Operation: "apply", Status: state.StatusSuccess}); err != nil {
			t.Fatal(err)
		}
	}
	MustUnlock(t, l)
	runs := MustRead(t, b).Runs
	if len(runs) != state.MaxRuns {
		t.Fatalf("kept %d runs, want %d", len(runs), state.MaxRuns)
	}
	if runs[0].ID != fmt.Sprint(n-state.MaxRuns) || runs[len(runs)-1].ID != fmt.Sprint(n-1) {
		t.Errorf("kept runs %s..%s, want %d..%d", runs[0].ID, runs[len(runs)-1].ID, n-state.MaxRuns, n-1)
	}
}

// LockContention checks, within one process, that a second Lock and a
// Read fail with a *state.LockError naming the first holder, and succeed
// after Unlock.
func LockContention(t *testing.T, b Backend) {
	ctx := context.Background()
	info := state.NewLockInfo("apply", "test")
	info.Info = "https://ci.example/job/1"
	l, err := b.Lock(ctx, info, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	start := time.Now()
	_, err = b.Lock(ctx, state.NewLockInfo("apply", "test"), 200*time.Millisecond)
	CheckLockError(t, err, info)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("Lock gave up after %v, want about 200ms", d)
	}
	_, err = b.Read(ctx, 0)
	CheckLockError(t, err, info)
	MustUnlock(t, l)
	l2 := MustLock(t, b, "apply")
	MustUnlock(t, l2)
}

// CheckLockError fails the test unless err is a *state.LockError carrying
// want and matching state.ErrLocked.
func CheckLockError(t testing.TB, err error, want state.LockInfo) {
	t.Helper()
	var le *state.LockError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want a *state.LockError", err)
	}
	if !errors.Is(err, state.ErrLocked) {
		t.Errorf("errors.Is(%v, ErrLocked) = false", err)
	}
	if le.Info == nil {
		t.Fatalf("LockError without Info: %v", err)
	}
	if diff := cmp.Diff(want, *le.Info); diff != "" {
		t.Errorf("LockError.Info (-want +got):\n%s", diff)
	}
	if msg := err.Error(); !containsAll(msg, want.ID, want.Operation, want.Who, fmt.Sprint(want.PID), "force-unlock") {
		t.Errorf("LockError message %q does not name the holder", msg)
	}
}

// ForceUnlockErrors checks ForceUnlock on an unlocked state and with a
// wrong id while a live holder exists.
func ForceUnlockErrors(t *testing.T, b Backend) {
	ctx := context.Background()
	if err := b.Init(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ForceUnlock(ctx, "nope"); !errors.Is(err, state.ErrNotLocked) {
		t.Errorf("ForceUnlock of an unlocked state = %v, want ErrNotLocked", err)
	}
	info := state.NewLockInfo("apply", "test")
	l, err := b.Lock(ctx, info, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if _, err := b.ForceUnlock(ctx, "nope"); err == nil {
		t.Error("ForceUnlock while a live holder exists succeeded")
	}
	if _, err := b.ForceUnlock(ctx, info.ID); !errors.Is(err, state.ErrHolderAlive) {
		t.Errorf("ForceUnlock of a live holder's lock = %v, want ErrHolderAlive", err)
	}
}

// UnlockIdempotent checks that Unlock may be called twice and that writes
// after Unlock fail with state.ErrClosed.
func UnlockIdempotent(t *testing.T, b Backend) {
	l := MustLock(t, b, "apply")
	MustUnlock(t, l)
	MustUnlock(t, l)
	if err := l.Put(User("k", "i", "n")); !errors.Is(err, state.ErrClosed) {
		t.Errorf("Put after Unlock = %v, want ErrClosed", err)
	}
	if _, err := l.Snapshot(); !errors.Is(err, state.ErrClosed) {
		t.Errorf("Snapshot after Unlock = %v, want ErrClosed", err)
	}
}

// ConcurrentWriters checks that Put, Remove, BumpSerial and AddRun issued
// at once from many goroutines of one session are all recorded, and that
// BumpSerial hands out every serial exactly once.
func ConcurrentWriters(t *testing.T, b Backend) {
	const workers, each = 16, 10
	l := MustLock(t, b, "apply")
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*4)
	serials := make(chan uint64, workers*each)
	want := plan.Bindings{}
	for w := range workers {
		for i := range each {
			want.Add(User(fmt.Sprintf("k%d-%d", w, i), fmt.Sprintf("id%d-%d", w, i), "n"))
		}
		wg.Go(func() {
			for i := range each {
				if err := l.Put(User(fmt.Sprintf("k%d-%d", w, i), fmt.Sprintf("id%d-%d", w, i), "n")); err != nil {
					errs <- err
				}
				if err := l.Put(Group(fmt.Sprintf("tmp%d-%d", w, i), "x", "tmp")); err != nil {
					errs <- err
				}
				if err := l.Remove(plan.KindGroup, fmt.Sprintf("tmp%d-%d", w, i)); err != nil {
					errs <- err
				}
				n, err := l.BumpSerial()
				if err != nil {
					errs <- err
				}
				serials <- n
				if err := l.AddRun(state.Run{Operation: "apply", Status: state.StatusSuccess}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	close(serials)
	for err := range errs {
		t.Errorf("concurrent write: %v", err)
	}
	seen := map[uint64]bool{}
	for n := range serials {
		if seen[n] || n < 1 || n > workers*each {
			t.Errorf("BumpSerial returned %d twice or out of 1..%d", n, workers*each)
		}
		seen[n] = true
	}
	MustUnlock(t, l)
	s := MustRead(t, b)
	if diff := cmp.Diff(want, s.Bindings); diff != "" {
		t.Errorf("bindings after concurrent writes (-want +got):\n%s", diff)
	}
	if s.Serial != workers*each {
		t.Errorf("Serial = %d, want %d", s.Serial, workers*each)
	}
	if len(s.Runs) != min(workers*each, state.MaxRuns) {
		t.Errorf("kept %d runs, want %d", len(s.Runs), min(workers*each, state.MaxRuns))
	}
}

// ConcurrentSessions checks lock contention between writers: goroutines
// that each Lock (waiting up to a minute), read the serial, bump it and
// unlock never hold the lock at the same time, and the serial ends at the
// number of sessions: it never goes backwards or loses a bump.
func ConcurrentSessions(t *testing.T, b Backend) {
	const sessions = 8
	ctx := context.Background()
	var holders, maxHolders atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	for i := range sessions {
		wg.Go(func() {
			l, err := b.Lock(ctx, state.NewLockInfo(fmt.Sprintf("apply %d", i), "test"), time.Minute)
			if err != nil {
				errs <- err
				return
			}
			defer l.Unlock()
			if n := holders.Add(1); n > maxHolders.Load() {
				maxHolders.Store(n)
			}
			defer holders.Add(-1)
			before, err := l.Snapshot()
			if err != nil {
				errs <- err
				return
			}
			time.Sleep(5 * time.Millisecond)
			n, err := l.BumpSerial()
			if err != nil {
				errs <- err
				return
			}
			if n != before.Serial+1 {
				errs <- fmt.Errorf("session %d: BumpSerial = %d after reading serial %d", i, n, before.Serial)
			}
			if err := l.Put(User(fmt.Sprint("s", i), "id", "n")); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := maxHolders.Load(); n != 1 {
		t.Errorf("%d sessions held the lock at once, want 1", n)
	}
	s := MustRead(t, b)
	if s.Serial != sessions {
		t.Errorf("Serial = %d after %d sessions bumped it once each", s.Serial, sessions)
	}
	if n := len(s.Bindings[plan.KindUser]); n != sessions {
		t.Errorf("%d bindings after %d sessions wrote one each", n, sessions)
	}
}

// RunLifecycle checks that a run recorded when it starts is updated and
// finished in place: AddRun with the ID of an entry replaces it, also
// when it is not the newest, and a Read without a dead holder reports no
// stale lock.
func RunLifecycle(t *testing.T, b Backend) {
	l := MustLock(t, b, "apply")
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	info := state.NewLockInfo("apply", "test")
	info.Created = info.Created.Truncate(time.Second)
	run := state.Run{ID: "run-1", Operation: "apply", Started: started, Status: state.StatusRunning, Total: 20, Holder: &info}
	for _, r := range []state.Run{run, {ID: "other", Operation: "sync", Status: state.StatusSuccess}} {
		if err := l.AddRun(r); err != nil {
			t.Fatal(err)
		}
	}
	run.Done = 7
	if err := l.AddRun(run); err != nil {
		t.Fatal(err)
	}
	MustUnlock(t, l)
	s := MustRead(t, b)
	if len(s.Runs) != 2 || s.Runs[0].ID != "run-1" || s.Runs[0].Done != 7 || s.Runs[0].Status != state.StatusRunning {
		t.Fatalf("runs after recording run-1 twice = %+v, want run-1 (running, 7 done) then other", s.Runs)
	}
	if diff := cmp.Diff(&info, s.Runs[0].Holder); diff != "" {
		t.Errorf("the run's holder (-want +got):\n%s", diff)
	}
	if s.StaleLock != nil {
		t.Errorf("Read after a clean Unlock reports a stale lock %+v", s.StaleLock)
	}
	l = MustLock(t, b, "apply")
	run.Status, run.Done, run.Finished = state.StatusSuccess, 20, started.Add(time.Minute)
	if err := l.AddRun(run); err != nil {
		t.Fatal(err)
	}
	MustUnlock(t, l)
	s = MustRead(t, b)
	if len(s.Runs) != 2 || s.Runs[0].Status != state.StatusSuccess || !s.Runs[0].Finished.Equal(run.Finished) {
		t.Errorf("runs after finishing run-1 = %+v, want it finished in place", s.Runs)
	}
}

// StaleTakeover checks what happens when a holder dies without Unlock.
// crash must make l's holder vanish the way a killed process would (for
// PostgreSQL: end its connection); it is backend-specific, so Run does not
// call StaleTakeover. The next Lock must take the lock over and report the
// dead holder's record through StaleLock; ForceUnlock must then clear a
// record left behind.
func StaleTakeover(t *testing.T, b Backend, crash func(t *testing.T, l Locked)) {
	ctx := context.Background()
	info := state.NewLockInfo("apply", "test")
	l, err := b.Lock(ctx, info, 0)
	if err != nil {
		t.Fatal(err)
	}
	if l.StaleLock() != nil {
		t.Errorf("StaleLock of a fresh lock = %+v, want nil", l.StaleLock())
	}
	if err := l.Put(User("k", "id", "before-crash")); err != nil {
		t.Fatal(err)
	}
	if err := l.AddRun(state.Run{ID: "killed", Operation: "apply", Status: state.StatusRunning, Total: 9, Done: 1, Holder: &info}); err != nil {
		t.Fatal(err)
	}
	crash(t, l)
	// Read, which waits for a live holder, reports the dead one's record
	// and the run it left running.
	dead, err := b.Read(ctx, 10*time.Second)
	if err != nil {
		t.Fatalf("Read after the holder died: %v", err)
	}
	if diff := cmp.Diff(&info, dead.StaleLock); diff != "" {
		t.Errorf("Snapshot.StaleLock after the holder died (-want +got):\n%s", diff)
	}
	if len(dead.Runs) != 1 || dead.Runs[0].Status != state.StatusRunning || dead.Runs[0].Done != 1 {
		t.Errorf("runs after the holder died = %+v, want the one it left running", dead.Runs)
	}
	l2, err := b.Lock(ctx, state.NewLockInfo("apply", "test"), 10*time.Second)
	if err != nil {
		t.Fatalf("Lock after the holder died: %v", err)
	}
	if diff := cmp.Diff(&info, l2.StaleLock()); diff != "" {
		t.Errorf("StaleLock after the holder died (-want +got):\n%s", diff)
	}
	s, err := l2.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if s.Bindings[plan.KindUser]["k"].Name != "before-crash" {
		t.Errorf("the dead holder's committed Put was lost: %v", s.Bindings)
	}
	MustUnlock(t, l2)
	_ = l.Unlock() // may fail: its connection or file is gone

	// A record left behind without a live holder: ForceUnlock clears it.
	info3 := state.NewLockInfo("apply", "test")
	l3, err := b.Lock(ctx, info3, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	crash(t, l3)
	if _, err := b.ForceUnlock(ctx, "wrong-id"); !errors.Is(err, state.ErrLockIDMismatch) {
		t.Errorf("ForceUnlock with a wrong id = %v, want ErrLockIDMismatch", err)
	}
	got, err := b.ForceUnlock(ctx, info3.ID)
	if err != nil {
		t.Fatalf("ForceUnlock of a dead holder's lock: %v", err)
	}
	if got == nil || got.ID != info3.ID {
		t.Errorf("ForceUnlock returned %+v, want the record %s", got, info3.ID)
	}
	_ = l3.Unlock()
	l4 := MustLock(t, b, "apply")
	if l4.StaleLock() != nil {
		t.Errorf("StaleLock after ForceUnlock = %+v, want nil", l4.StaleLock())
	}
}

// Importer is the optional extra of a Session that replaces the whole
// state, lineage, serial and sign key included (ldapply state migrate and
// state push need it of the destination).
type Importer interface {
	Import(s *state.Snapshot) error
}

// Import checks a Session's Import, when it has one: the imported state
// reads back exactly (lineage, serial, sign key, bindings, runs); a second
// Import of it is harmless; an older serial of the same lineage and
// another lineage over a state in use are refused.
func Import(t *testing.T, b Backend) {
	l := MustLock(t, b, "state migrate")
	imp, ok := l.(Importer)
	if !ok {
		t.Skipf("%T has no Import", l)
	}
	want := &state.Snapshot{Lineage: "0b4e2a9e-3f5d-4c1a-9d6e-2f7a8b9c0d1e", Serial: 7, SignKey: []byte(strings.Repeat("k", state.SignKeySize)), Bindings: plan.Bindings{}}
	want.Bindings.Add(User("we\x00ird", "id1", "alice"))
	want.Bindings.Add(Group("g", "gid", "ops"))
	for i := range 3 {
		want.Runs = append(want.Runs, state.Run{ID: fmt.Sprint(i), Operation: "apply", Status: state.StatusSuccess,
			Started: time.Date(2026, 1, 1, i, 0, 0, 0, time.UTC), Finished: time.Date(2026, 1, 1, i, 1, 0, 0, time.UTC)})
	}
	for range 2 {
		if err := imp.Import(want); err != nil {
			t.Fatalf("Import: %v", err)
		}
	}
	MustUnlock(t, l)
	if diff := cmp.Diff(want, MustRead(t, b)); diff != "" {
		t.Errorf("state after Import (-want +got):\n%s", diff)
	}
	l = MustLock(t, b, "apply")
	if n, err := l.BumpSerial(); err != nil || n != 8 {
		t.Fatalf("BumpSerial after Import = %d, %v; want 8", n, err)
	}
	if err := l.(Importer).Import(want); err == nil {
		t.Error("Import of serial 7 over serial 8 of the same lineage succeeded")
	}
	other := *want
	other.Lineage, other.Serial = "another", 100
	if err := l.(Importer).Import(&other); err == nil {
		t.Error("Import of another lineage over a state in use succeeded")
	}
	MustUnlock(t, l)
	if s := MustRead(t, b); s.Lineage != want.Lineage || s.Serial != 8 {
		t.Errorf("a refused Import changed the state: lineage %s serial %d", s.Lineage, s.Serial)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
