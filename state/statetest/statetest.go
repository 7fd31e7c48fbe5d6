// Package statetest is a conformance suite for ldapply state backends. A
// backend passes when Run succeeds against a fresh, empty state for every
// call of open. The bbolt file backend in package state runs it; a remote
// backend should run it too.
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
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/state"
)

// Backend is one state location under test. Its methods mirror the
// functions of package state bound to a path.
type Backend interface {
	Init(ctx context.Context) error
	Read(ctx context.Context, timeout time.Duration) (*state.Snapshot, error)
	Lock(ctx context.Context, info state.LockInfo, timeout time.Duration) (Locked, error)
	ForceUnlock(ctx context.Context, id string) (*state.LockInfo, error)
}

// Locked is a state held under the exclusive lock; *state.Locked has these
// methods.
type Locked interface {
	Snapshot() (*state.Snapshot, error)
	BumpSerial() (uint64, error)
	Put(b plan.Binding) error
	Remove(kind plan.Kind, key string) error
	AddRun(r state.Run) error
	Unlock() error
}

var _ Locked = (*state.Locked)(nil)

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
		{"LockContention", LockContention},
		{"ForceUnlockErrors", ForceUnlockErrors},
		{"UnlockIdempotent", UnlockIdempotent},
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
	if err := b.Init(ctx); err != nil {
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
		if err := b.Init(ctx); err != nil {
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
	if err := b.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ForceUnlock(ctx, "nope"); !errors.Is(err, state.ErrNotLocked) {
		t.Errorf("ForceUnlock of an unlocked state = %v, want ErrNotLocked", err)
	}
	l, err := b.Lock(ctx, state.NewLockInfo("apply", "test"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if _, err := b.ForceUnlock(ctx, "nope"); err == nil {
		t.Error("ForceUnlock while a live holder exists succeeded")
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

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
