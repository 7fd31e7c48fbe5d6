package pgstate_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/ldapply/ldapply/fixtures/postgres"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/state"
	"github.com/ldapply/ldapply/state/pgstate"
	"github.com/ldapply/ldapply/state/statetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	postgres.StopShared()
	os.Exit(code)
}

var workspaces atomic.Int64

// newBackend returns a backend on a new workspace in the shared server's
// database "postgres" (so every test also shares the schema with others).
func newBackend(t *testing.T) *pgstate.Backend {
	t.Helper()
	srv := postgres.Shared(t)
	b, err := pgstate.Open(pgstate.Config{DSN: srv.DSN("postgres"), Schema: "ldapply", Workspace: fmt.Sprintf("ws%d", workspaces.Add(1))})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConformance(t *testing.T) {
	statetest.Run(t, func(t *testing.T) state.Backend { return newBackend(t) })
}

// crash ends the session's connection from the server side, as if its
// process had been killed, and waits until the server has ended it.
func crash(t *testing.T, l state.Session) {
	t.Helper()
	pid := l.(*pgstate.Session).BackendPID()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, postgres.Shared(t).DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "SELECT pg_terminate_backend($1, 10000)", int64(pid)); err != nil {
		t.Fatal(err)
	}
}

func TestStaleTakeover(t *testing.T) {
	statetest.StaleTakeover(t, newBackend(t), crash)
}

// TestWritesAfterConnectionLoss checks that a session whose connection
// (and so whose advisory lock) is gone cannot write any more: it must not
// write beside a new holder.
func TestWritesAfterConnectionLoss(t *testing.T) {
	b := newBackend(t)
	l := statetest.MustLock(t, b, "apply")
	crash(t, l)
	l2 := statetest.MustLock(t, b, "apply")
	if err := l.Put(statetest.User("k", "id", "ghost")); err == nil {
		t.Fatal("Put on a session whose connection ended succeeded")
	}
	if _, err := l.BumpSerial(); err == nil {
		t.Fatal("BumpSerial on a session whose connection ended succeeded")
	}
	s, err := l2.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Bindings[plan.KindUser]) != 0 || s.Serial != 0 {
		t.Errorf("the dead session wrote: %+v", s)
	}
}

// TestWorkspacesIndependent checks that two workspaces of one schema have
// their own lineage, bindings and lock.
func TestWorkspacesIndependent(t *testing.T) {
	a, b := newBackend(t), newBackend(t)
	la := statetest.MustLock(t, a, "apply")
	if err := la.Put(statetest.User("k", "id", "a")); err != nil {
		t.Fatal(err)
	}
	lb := statetest.MustLock(t, b, "apply") // not blocked by a's lock
	sa, _ := la.Snapshot()
	sb, _ := lb.Snapshot()
	if sa.Lineage == sb.Lineage {
		t.Error("two workspaces share a lineage")
	}
	if len(sb.Bindings) != 0 {
		t.Errorf("workspace b sees a's bindings: %v", sb.Bindings)
	}
}

// TestReadCreatesNothing checks that Read of a schema that does not exist
// gives an empty snapshot and creates nothing (a read-only user can plan
// before the first apply).
func TestReadCreatesNothing(t *testing.T) {
	srv := postgres.Shared(t)
	dsn := srv.NewDB(t)
	b, err := pgstate.Open(pgstate.Config{DSN: dsn, Schema: "Odd \"Schema\"", Workspace: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if s := statetest.MustRead(t, b); s.Lineage != "" {
		t.Fatalf("Read of a missing schema = %+v", s)
	}
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", "Odd \"Schema\"").Scan(&n); err != nil || n != 0 {
		t.Fatalf("Read created the schema (count %d, %v)", n, err)
	}
	if err := b.Init(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if s := statetest.MustRead(t, b); s.Lineage == "" {
		t.Error("Init in a schema with an odd name did not create a state")
	}
}

// TestConcurrentInit checks that many processes initialising a fresh
// database at once (tables and state row) agree on one lineage.
func TestConcurrentInit(t *testing.T) {
	dsn := postgres.Shared(t).NewDB(t)
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			b, err := pgstate.Open(pgstate.Config{DSN: dsn, Schema: "ldapply", Workspace: "prod"})
			if err == nil {
				err = b.Init(context.Background(), 0)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// TestGroupCommit checks that concurrent Puts share transactions.
func TestGroupCommit(t *testing.T) {
	b := newBackend(t)
	l, err := b.LockSession(context.Background(), state.NewLockInfo("apply", "test"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	var wg sync.WaitGroup
	for w := range 20 {
		wg.Go(func() {
			for i := range 20 {
				if err := l.Put(statetest.User(fmt.Sprint(w, "-", i), "id", "n")); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n := pgstate.Commits(l); n >= 400 {
		t.Errorf("400 concurrent Puts took %d transactions, want fewer (group commit)", n)
	} else {
		t.Logf("400 concurrent Puts took %d transactions", n)
	}
}

// TestImport checks that Import keeps lineage, serial, sign key, bindings
// and runs, and refuses to overwrite another state or move a serial back.
func TestImport(t *testing.T) {
	ctx := context.Background()
	src := statetest.MustLock(t, state.File{Path: t.TempDir() + "/s.state"}, "apply")
	for _, b := range []plan.Binding{statetest.User("we\x00ird", "id1", "alice"), statetest.Group("g", "gid", "ops")} {
		if err := src.Put(b); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if _, err := src.BumpSerial(); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.AddRun(state.Run{ID: "r1", Operation: "apply", Status: state.StatusSuccess, Started: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	want, err := src.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	dst := newBackend(t)
	l, err := dst.LockSession(ctx, state.NewLockInfo("state migrate", "test"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Import(want); err != nil {
		t.Fatal(err)
	}
	if err := l.Import(want); err != nil {
		t.Errorf("Import of the same state again: %v", err)
	}
	statetest.MustUnlock(t, l)
	got := statetest.MustRead(t, dst)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("state after Import (-want +got):\n%s", diff)
	}

	l, err = dst.LockSession(ctx, state.NewLockInfo("state migrate", "test"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if _, err := l.BumpSerial(); err != nil {
		t.Fatal(err)
	}
	if err := l.Import(want); err == nil || !strings.Contains(err.Error(), "backwards") {
		t.Errorf("Import of an older serial = %v, want a refusal", err)
	}
	other := *want
	other.Lineage = "another-lineage"
	if err := l.Import(&other); err == nil || !strings.Contains(err.Error(), "already holds another state") {
		t.Errorf("Import of another lineage = %v, want a refusal", err)
	}
}

// TestSecretsStayOut checks that the DSN's password appears neither in
// String nor in connection errors.
func TestSecretsStayOut(t *testing.T) {
	srv := postgres.Shared(t)
	for _, dsn := range []string{
		strings.Replace(srv.DSN("postgres"), postgres.Password, "wrong-Pass-99", 1),
		fmt.Sprintf("host=127.0.0.1 port=%d user=ldapply password=wrong-Pass-99 dbname=nope sslmode=disable", srv.Port),
		"postgres://ldapply:wrong-Pass-99@127.0.0.1:1/x?sslmode=disable",
		"postgres://ldapply:wrong-Pass-99@127.0.0.1:notaport/x",
	} {
		b, err := pgstate.Open(pgstate.Config{DSN: dsn, Schema: "ldapply", Workspace: "w"})
		var msgs []string
		if err != nil {
			msgs = append(msgs, err.Error())
		} else {
			msgs = append(msgs, b.String())
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := b.Read(ctx, 0)
			cancel()
			if err == nil {
				t.Errorf("Read with a wrong password succeeded")
				continue
			}
			msgs = append(msgs, err.Error())
		}
		for _, m := range msgs {
			if strings.Contains(m, "wrong-Pass-99") {
				t.Errorf("the password leaks: %s", m)
			}
		}
	}
}

// TestReadWaitsForWriter checks that Read succeeds once a writer unlocks
// within the timeout, and sees its writes.
func TestReadWaitsForWriter(t *testing.T) {
	b := newBackend(t)
	l := statetest.MustLock(t, b, "apply")
	if err := l.Put(statetest.User("k", "id", "n")); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		l.Unlock()
	}()
	s, err := b.Read(context.Background(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Bindings[plan.KindUser]) != 1 {
		t.Errorf("Read after the writer unlocked = %v", s.Bindings)
	}
	if _, err := b.ForceUnlock(context.Background(), "x"); !errors.Is(err, state.ErrNotLocked) {
		t.Errorf("ForceUnlock after Unlock = %v, want ErrNotLocked", err)
	}
}

// TestLockWaitsForReader checks that Lock with timeout 0 does not fail
// because a Read holds the lock in shared mode for a moment.
func TestLockWaitsForReader(t *testing.T) {
	b := newBackend(t)
	if err := b.Init(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := pgx.Connect(ctx, postgres.Shared(t).DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	// Play a slow reader: hold the shared lock for 300 ms.
	if _, err := c.Exec(ctx, "SELECT pg_advisory_lock_shared($1)", pgstate.LockKey("ldapply", b.Workspace())); err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		defer close(released)
		time.Sleep(300 * time.Millisecond)
		c.Exec(ctx, "SELECT pg_advisory_unlock_shared($1)", pgstate.LockKey("ldapply", b.Workspace()))
	}()
	defer func() { <-released }()
	l, err := b.Lock(ctx, state.NewLockInfo("apply", "test"), 0)
	if err != nil {
		t.Fatalf("Lock while a reader held the lock briefly: %v", err)
	}
	statetest.MustUnlock(t, l)
}
