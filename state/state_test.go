package state_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/state"
	"github.com/ldapply/ldapply/state/statetest"
)

// fileBackend is the bbolt backend at one path, for statetest.
type fileBackend = state.File

func newPath(t *testing.T) string { return filepath.Join(t.TempDir(), "ldapply.state") }

func TestConformance(t *testing.T) {
	statetest.Run(t, func(t *testing.T) state.Backend { return state.File{Path: newPath(t)} })
}

// Child processes. The test binary re-executes itself with
// -test.run=TestHelperProcess and helperEnv set to a mode; the child locks
// the state at helperPathEnv, prints "READY <LockInfo JSON>" and then:
//
//	hold: waits for stdin to close, unlocks and exits 0;
//	put:  first records crashBinding, then waits like hold.
const (
	helperEnv     = "LDAPPLY_STATE_TEST_HELPER"
	helperPathEnv = "LDAPPLY_STATE_TEST_PATH"
)

var crashBinding = statetest.User("crash-key", "crash-id", "crash")

func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process for the multi-process tests")
	}
	info := state.NewLockInfo("apply", "test-child")
	info.Info = "child job"
	l, err := state.Lock(context.Background(), os.Getenv(helperPathEnv), info, 10*time.Second)
	if err != nil {
		fmt.Printf("ERROR %v\n", err)
		os.Exit(1)
	}
	if mode == "put" {
		if err := l.Put(crashBinding); err != nil {
			fmt.Printf("ERROR %v\n", err)
			os.Exit(1)
		}
	}
	data, _ := json.Marshal(info)
	fmt.Printf("READY %s\n", data)
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := l.Unlock(); err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}

type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	info  state.LockInfo
}

// startChild runs a helper process in mode on path and waits until it holds
// the lock. Cleanup kills it.
func startChild(t *testing.T, mode, path string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperPathEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case s := <-line:
		rest, ok := strings.CutPrefix(strings.TrimSpace(s), "READY ")
		if !ok {
			t.Fatalf("child said %q, want READY", s)
		}
		if err := json.Unmarshal([]byte(rest), &c.info); err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("child did not take the lock within 20s")
	}
	if c.info.PID != cmd.Process.Pid {
		t.Fatalf("child reports pid %d, but runs as %d", c.info.PID, cmd.Process.Pid)
	}
	return c
}

// kill SIGKILLs the child and reaps it.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c.cmd.Wait()
}

func TestLockContentionBetweenProcesses(t *testing.T) {
	ctx := context.Background()
	path := newPath(t)
	c := startChild(t, "hold", path)

	start := time.Now()
	_, err := state.Lock(ctx, path, state.NewLockInfo("apply", "test"), 300*time.Millisecond)
	statetest.CheckLockError(t, err, c.info)
	if d := time.Since(start); d < 250*time.Millisecond || d > 5*time.Second {
		t.Errorf("Lock gave up after %v, want about 300ms", d)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "child job") {
		t.Errorf("message %q does not name the path and the holder's info", err)
	}
	_, err = state.Read(ctx, path, 300*time.Millisecond)
	statetest.CheckLockError(t, err, c.info)

	// A live holder cannot be force-unlocked, with the right id or not.
	for _, id := range []string{c.info.ID, "wrong"} {
		_, err = state.ForceUnlock(ctx, path, id)
		if !errors.Is(err, state.ErrHolderAlive) {
			t.Errorf("ForceUnlock(%s) of a live holder = %v, want ErrHolderAlive", id, err)
		} else if !strings.Contains(err.Error(), fmt.Sprint(c.info.PID)) {
			t.Errorf("message %q does not name the holder's pid", err)
		}
	}
	if _, err := os.Stat(path + ".lock.json"); err != nil {
		t.Errorf("lock record gone after refused ForceUnlock: %v", err)
	}

	// Read waits for the holder to finish.
	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = c.stdin.Close()
	}()
	s, err := state.Read(ctx, path, 20*time.Second)
	if err != nil {
		t.Fatalf("Read waiting for the holder: %v", err)
	}
	if s.Lineage == "" {
		t.Error("Read after the holder finished: empty lineage")
	}
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	l, err := state.Lock(ctx, path, state.NewLockInfo("apply", "test"), 0)
	if err != nil {
		t.Fatalf("Lock after the holder unlocked: %v", err)
	}
	defer l.Unlock()
	if l.Stale != nil {
		t.Errorf("Stale = %+v after a clean unlock, want nil", l.Stale)
	}
}

// TestStaleTakeover runs the conformance suite's check of a dead holder:
// the holder's file is closed without Unlock, as a kill would.
func TestStaleTakeover(t *testing.T) {
	statetest.StaleTakeover(t, state.File{Path: newPath(t)}, func(t *testing.T, l state.Session) {
		if err := l.(*state.Locked).Crash(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestKilledHolderIsStale(t *testing.T) {
	ctx := context.Background()
	path := newPath(t)
	c := startChild(t, "hold", path)
	c.kill(t)

	l, err := state.Lock(ctx, path, state.NewLockInfo("apply", "test"), 0)
	if err != nil {
		t.Fatalf("Lock after the holder was killed: %v", err)
	}
	if l.Stale == nil {
		t.Fatal("Stale is nil, want the killed child's lock record")
	}
	if diff := cmp.Diff(c.info, *l.Stale); diff != "" {
		t.Errorf("Stale (-want +got):\n%s", diff)
	}
	statetest.MustUnlock(t, l)
	if _, err := os.Stat(path + ".lock.json"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock record still present after Unlock: %v", err)
	}
}

func TestForceUnlockDeadHolder(t *testing.T) {
	ctx := context.Background()
	path := newPath(t)
	c := startChild(t, "hold", path)
	c.kill(t)

	_, err := state.ForceUnlock(ctx, path, "wrong-id")
	if !errors.Is(err, state.ErrLockIDMismatch) {
		t.Fatalf("ForceUnlock with a wrong id = %v, want ErrLockIDMismatch", err)
	}
	if !strings.Contains(err.Error(), c.info.ID) {
		t.Errorf("message %q does not name the held id %s", err, c.info.ID)
	}
	got, err := state.ForceUnlock(ctx, path, c.info.ID)
	if err != nil {
		t.Fatalf("ForceUnlock with the right id: %v", err)
	}
	if diff := cmp.Diff(c.info, *got); diff != "" {
		t.Errorf("ForceUnlock returned (-want +got):\n%s", diff)
	}
	if _, err := state.ForceUnlock(ctx, path, c.info.ID); !errors.Is(err, state.ErrNotLocked) {
		t.Errorf("second ForceUnlock = %v, want ErrNotLocked", err)
	}
	l, err := state.Lock(ctx, path, state.NewLockInfo("apply", "test"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if l.Stale != nil {
		t.Errorf("Stale = %+v after ForceUnlock, want nil", l.Stale)
	}
}

func TestPutSurvivesCrash(t *testing.T) {
	ctx := context.Background()
	path := newPath(t)
	c := startChild(t, "put", path)
	c.kill(t) // right after Put returned

	s, err := state.Read(ctx, path, 0)
	if err != nil {
		t.Fatalf("Read after the crash: %v", err)
	}
	want := plan.Bindings{}
	want.Add(crashBinding)
	if diff := cmp.Diff(want, s.Bindings); diff != "" {
		t.Errorf("bindings after the crash (-want +got):\n%s", diff)
	}
	l, err := state.Lock(ctx, path, state.NewLockInfo("apply", "test"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if l.Stale == nil || l.Stale.ID != c.info.ID {
		t.Errorf("Stale = %+v, want the crashed child's record %s", l.Stale, c.info.ID)
	}
}

func TestStaleRecordInProcess(t *testing.T) {
	ctx := context.Background()
	path := newPath(t)
	dead := state.NewLockInfo("state rm", "v0")
	dead.PID = 1 << 22
	data, _ := json.Marshal(dead)
	if err := os.WriteFile(path+".lock.json", data, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := state.Lock(ctx, path, state.NewLockInfo("apply", "test"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if l.Stale == nil || cmp.Diff(dead, *l.Stale) != "" {
		t.Errorf("Stale = %+v, want %+v", l.Stale, dead)
	}
	statetest.MustUnlock(t, l)

	// An unreadable record is taken over too, and reported.
	if err := os.WriteFile(path+".lock.json", []byte("{garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err = state.Lock(ctx, path, state.NewLockInfo("apply", "test"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if l.Stale == nil || !strings.Contains(l.Stale.Info, "unreadable") {
		t.Errorf("Stale = %+v, want a record saying it was unreadable", l.Stale)
	}
}

func TestLockHonoursContext(t *testing.T) {
	path := newPath(t)
	l := statetest.MustLock(t, fileBackend{path}, "apply")
	_ = l
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := state.Lock(ctx, path, state.NewLockInfo("apply", "test"), time.Minute)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Lock returned after %v, want soon after ctx ended", d)
	}
}

// setVersion rewrites the format version of an existing state file.
func setVersion(t *testing.T, path string, v uint64) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("version"), binary.BigEndian.AppendUint64(nil, v))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUnknownFormatVersion(t *testing.T) {
	ctx := context.Background()
	path := newPath(t)
	if err := state.Init(ctx, path, 0); err != nil {
		t.Fatal(err)
	}
	setVersion(t, path, 2)
	_, rerr := state.Read(ctx, path, 0)
	_, lerr := state.Lock(ctx, path, state.NewLockInfo("apply", "test"), 0)
	ierr := state.Init(ctx, path, 0)
	for name, err := range map[string]error{"Read": rerr, "Lock": lerr, "Init": ierr} {
		if !errors.Is(err, state.ErrFormatVersion) {
			t.Errorf("%s = %v, want ErrFormatVersion", name, err)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "state: ") || !strings.Contains(msg, path) || !strings.Contains(msg, "version 2") {
			t.Errorf("%s message %q does not name the file and the version", name, msg)
		}
	}
	if _, err := os.Stat(path + ".lock.json"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("refused Lock left a lock record: %v", err)
	}
}

func TestCorruptFile(t *testing.T) {
	ctx := context.Background()
	big := []byte(strings.Repeat("this is not a bbolt database\n", 2000))
	for name, content := range map[string][]byte{
		"short": []byte("hello\n"),
		"long":  big,
	} {
		t.Run(name, func(t *testing.T) {
			path := newPath(t)
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			_, rerr := state.Read(ctx, path, 0)
			_, lerr := state.Lock(ctx, path, state.NewLockInfo("apply", "test"), 0)
			ierr := state.Init(ctx, path, 0)
			for op, err := range map[string]error{"Read": rerr, "Lock": lerr, "Init": ierr} {
				if !errors.Is(err, state.ErrCorrupt) {
					t.Errorf("%s = %v, want ErrCorrupt", op, err)
				} else if !strings.Contains(err.Error(), path) {
					t.Errorf("%s message %q does not name the path", op, err)
				}
			}
			if got, _ := os.ReadFile(path); string(got) != string(content) {
				t.Error("the corrupt file was modified")
			}
		})
	}
}

func TestForeignBoltFile(t *testing.T) {
	ctx := context.Background()
	path := newPath(t)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
	_ = db.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, rerr := state.Read(ctx, path, 0)
	_, lerr := state.Lock(ctx, path, state.NewLockInfo("apply", "test"), 0)
	for op, err := range map[string]error{"Read": rerr, "Lock": lerr} {
		if !errors.Is(err, state.ErrCorrupt) || !strings.Contains(err.Error(), "not an ldapply state file") {
			t.Errorf("%s = %v, want ErrCorrupt saying it is not a state file", op, err)
		}
	}
}

func TestMissingDirectory(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "missing")
	path := filepath.Join(dir, "x.state")
	if err := state.Init(ctx, path, 0); err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Init in a missing directory = %v, want an error naming %s", err, dir)
	}
	if _, err := state.Lock(ctx, path, state.NewLockInfo("apply", "test"), 0); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("Lock in a missing directory = %v, want an error naming %s", err, dir)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the missing directory was created: %v", err)
	}
	s, err := state.Read(ctx, path, 0)
	if err != nil || s.Lineage != "" {
		t.Errorf("Read in a missing directory = %+v, %v; want an empty snapshot", s, err)
	}
}

func TestEmptyFile(t *testing.T) {
	ctx := context.Background()
	path := newPath(t)
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := state.Read(ctx, path, 0)
	if err != nil || s.Lineage != "" {
		t.Fatalf("Read of an empty file = %+v, %v; want an empty snapshot", s, err)
	}
	if err := state.Init(ctx, path, 0); err != nil {
		t.Fatalf("Init of an empty file: %v", err)
	}
	if s := statetest.MustRead(t, fileBackend{path}); s.Lineage == "" {
		t.Error("Init of an empty file did not create a lineage")
	}
}

func TestLockErrorMessage(t *testing.T) {
	e := &state.LockError{Path: "./x.state", Info: &state.LockInfo{
		ID: "1234", Operation: "apply", Who: "ci@runner", PID: 42, Version: "1.0",
		Created: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
	}}
	want := "state ./x.state is locked by apply (id 1234, who ci@runner, pid 42, version 1.0, since 2025-03-01T12:00:00Z); wait for it to finish, or if that process is gone run `ldapply force-unlock 1234`"
	if got := e.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	if !errors.Is(fmt.Errorf("apply: %w", e), state.ErrLocked) {
		t.Error("a wrapped LockError is not ErrLocked")
	}
}

func TestNewLockInfo(t *testing.T) {
	i := state.NewLockInfo("apply", "1.2.3")
	if i.ID == "" || i.Operation != "apply" || i.Version != "1.2.3" || i.PID != os.Getpid() ||
		!strings.Contains(i.Who, "@") || time.Since(i.Created) > time.Minute {
		t.Errorf("NewLockInfo = %+v", i)
	}
	if j := state.NewLockInfo("apply", "1.2.3"); j.ID == i.ID {
		t.Error("two LockInfos share an id")
	}
}

// TestUnmarshalBindingMatchesEncodingJSON: a stored binding reads as
// encoding/json read it: the names in any case, a name twice (the last
// wins), unknown names, null, bytes that are not UTF-8, escapes, space
// (PostgreSQL's jsonb text), and what encoding/json refuses is refused.
func TestUnmarshalBindingMatchesEncodingJSON(t *testing.T) {
	var dec state.BindingDecoder
	for _, in := range []string{
		`{"kind":"user","key":"k1","id":"u-1","name":"alice"}`,
		`{"kind": "group", "key": "k2", "id": "g-1", "name": "ops"}`,
		`{"KIND":"user","Key":"k","ID":"u","NAME":"n"}`,
		`{"kind":"user","kind":"group","key":"k"}`,
		`{"kind":"user","extra":{"a":[1,2]},"id":"u"}`,
		`{"kind":null,"key":"k"}`,
		"{\"kind\":\"user\",\"name\":\"caf\xe9\"}",
		`{"name":"\u00e9\n\"\ud800"}`,
		`{}`, `null`, `[]`, `"x"`, `{"kind":1}`, `{"kind":"user"`, `{"kind":"user"} x`, ``,
	} {
		var want plan.Binding
		wantErr := json.Unmarshal([]byte(in), &want)
		got, gotErr := state.UnmarshalBinding([]byte(in))
		if (wantErr == nil) != (gotErr == nil) {
			t.Errorf("%s: UnmarshalBinding error %v, encoding/json's %v", in, gotErr, wantErr)
			continue
		}
		if wantErr == nil && got != want {
			t.Errorf("%s: UnmarshalBinding gives %+v, encoding/json %+v", in, got, want)
		}
		// The decoder a state read uses gives the same, its strings copied.
		held, heldErr := dec.Decode([]byte(in))
		if (heldErr == nil) != (gotErr == nil) || held != got {
			t.Errorf("%s: BindingDecoder gives %+v, %v; UnmarshalBinding %+v, %v", in, held, heldErr, got, gotErr)
		}
	}
}
