package state

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"github.com/ldapply/ldapply/plan"
)

// LockInfo describes the holder of a state lock. It is stored as JSON in
// the sidecar file <path>.lock.json while the lock is held.
type LockInfo struct {
	// ID is a UUID naming this lock; force-unlock needs it.
	ID string `json:"id"`
	// Operation is what the holder is doing: "apply", "state rm", ...
	Operation string `json:"operation"`
	// Who is user@host of the holder.
	Who string `json:"who"`
	// PID is the holder's process id on that host.
	PID int `json:"pid"`
	// Version is the holder's ldapply version.
	Version string `json:"version"`
	// Created is when the lock was taken.
	Created time.Time `json:"created"`
	// Info is free text, e.g. a CI job URL.
	Info string `json:"info,omitempty"`
}

// NewLockInfo returns a LockInfo for the current process with a new ID,
// Who, PID and Created filled in.
func NewLockInfo(operation, version string) LockInfo {
	return LockInfo{
		ID:        uuid.NewString(),
		Operation: operation,
		Who:       who(),
		PID:       os.Getpid(),
		Version:   version,
		Created:   time.Now().UTC(),
	}
}

func who() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return name + "@" + host
}

// lockPath is the sidecar file holding the lock record of the state at path.
func lockPath(path string) string { return path + ".lock.json" }

// readLockInfo returns the lock record of the state at path, or nil when
// there is none.
func readLockInfo(path string) (*LockInfo, error) {
	data, err := os.ReadFile(lockPath(path))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state: cannot read the lock record %s: %w", lockPath(path), err)
	}
	var info LockInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, fmt.Errorf("state: the lock record %s is unreadable; remove it by hand if no ldapply process is running: %w", lockPath(path), err)
	}
	return &info, nil
}

// writeLockInfo replaces the lock record atomically (temp file, fsync,
// rename, fsync of the directory).
func writeLockInfo(path string, info LockInfo) error {
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return fmt.Errorf("state: encode the lock record for %s: %w", path, err)
	}
	data = append(data, '\n')
	dst := lockPath(path)
	f, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".tmp-*")
	if err != nil {
		return fmt.Errorf("state: cannot write the lock record %s; check the directory's permissions: %w", dst, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("state: cannot write the lock record %s; %s: %w", dst, writeAdvice(err), err)
	}
	syncDir(filepath.Dir(dst))
	return nil
}

// removeLockInfo removes the lock record; a missing record is fine.
func removeLockInfo(path string) error {
	err := os.Remove(lockPath(path))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("state: cannot remove the lock record %s; remove it by hand: %w", lockPath(path), err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

// syncDir makes a rename or remove in dir durable. Failures are ignored:
// some file systems cannot fsync a directory.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// Lock opens the state at path for writing under an exclusive lock,
// creating it like Init when it is missing, and writes info as the lock
// record. It waits up to timeout for the lock (0: do not wait) and gives up
// early when ctx ends. info.ID must not be empty; use NewLockInfo.
//
// When another process holds the lock, Lock returns a *LockError with that
// process's LockInfo (errors.Is(err, ErrLocked) is true). When the file lock
// is free but a lock record exists, its writer died without unlocking: Lock
// takes the lock over and returns the dead holder's record in Locked.Stale,
// so that the caller can report it (the state may hold a half-done run).
//
// The caller must call Unlock when done, also on error paths.
func Lock(ctx context.Context, path string, info LockInfo, timeout time.Duration) (*Locked, error) {
	if info.ID == "" {
		return nil, fmt.Errorf("state: cannot lock %s with an empty lock id; build the LockInfo with NewLockInfo", path)
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := checkDir(path); err != nil {
			return nil, err
		}
	}
	db, err := openDB(ctx, path, false, timeout)
	if err != nil {
		return nil, err
	}
	if err := db.Update(func(tx *bolt.Tx) error { return ensureMeta(tx, path) }); err != nil {
		_ = db.Close()
		return nil, err
	}
	stale, err := readLockInfo(path)
	if err != nil {
		stale = &LockInfo{Info: err.Error()}
	}
	if err := writeLockInfo(path, info); err != nil {
		_ = db.Close()
		return nil, err
	}
	l := &Locked{
		Stale: stale,
		path:  path,
		info:  info,
		db:    db,
	}
	l.gc = NewGroupCommit(func(batch []func(*bolt.Tx) error) error {
		start := time.Now()
		defer func() { l.commits.Add(1); l.committing.Add(int64(time.Since(start))) }()
		return l.db.Update(func(tx *bolt.Tx) error {
			for _, fn := range batch {
				if err := fn(tx); err != nil {
					return err
				}
			}
			return nil
		})
	})
	return l, nil
}

// Locked is a state opened for writing under the exclusive lock. Its
// methods are safe for concurrent use. Writes (Put, Remove, BumpSerial,
// AddRun) are committed and fsynced before they return; writes issued
// concurrently share one transaction (group commit), so recording many
// results in parallel costs few fsyncs.
type Locked struct {
	// Stale is the lock record of a holder that died without unlocking,
	// taken over by Lock; nil normally.
	Stale *LockInfo

	path string
	info LockInfo
	db   *bolt.DB

	mu     sync.RWMutex // guards closed; held (read) while a write waits
	closed bool
	gc     *GroupCommit[func(*bolt.Tx) error]

	unlockOnce sync.Once
	unlockErr  error

	commits    atomic.Int64 // transactions committed
	committing atomic.Int64 // time spent committing them, in nanoseconds
}

// CommitStats returns how many transactions the writes took and how long
// committing them (fsyncs included) took in all.
func (l *Locked) CommitStats() (commits int64, busy time.Duration) {
	return l.commits.Load(), time.Duration(l.committing.Load())
}

// Info returns the lock record this Locked holds.
func (l *Locked) Info() LockInfo { return l.info }

// Path returns the state file's path.
func (l *Locked) Path() string { return l.path }

// submit queues fn and waits until it is committed or has failed.
func (l *Locked) submit(fn func(*bolt.Tx) error) error {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return l.closedError()
	}
	err := l.gc.Do(fn)
	l.mu.RUnlock()
	var se *stateError
	if err != nil && !errors.As(err, &se) {
		return fmt.Errorf("state: writing to %s failed and the change was not recorded; %s: %w", l.path, writeAdvice(err), err)
	}
	return err
}

// writeAdvice says what to do about a failed write to the state's file
// system: the cause when the errno names it, else where to look.
func writeAdvice(err error) string {
	switch {
	case causedBy(err, syscall.ENOSPC):
		return "its file system is full; free space, then run plan and apply again"
	case causedBy(err, syscall.EROFS):
		return "its file system is read-only; make it writable, then run plan and apply again"
	}
	return "check free space and permissions"
}

// causedBy reports whether errno caused err. bbolt formats some causes
// into its own error's text ("file resize error: …") rather than
// wrapping them, so the errno's text counts too.
func causedBy(err error, errno syscall.Errno) bool {
	return errors.Is(err, errno) || strings.Contains(err.Error(), errno.Error())
}

func (l *Locked) closedError() error {
	return errorf(ErrClosed, nil, "%s was already unlocked; lock it again before using it", l.path)
}

// Snapshot returns a copy of the state as committed so far.
func (l *Locked) Snapshot() (*Snapshot, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, l.closedError()
	}
	var s *Snapshot
	err := l.db.View(func(tx *bolt.Tx) error {
		var err error
		s, err = readSnapshot(tx, l.path)
		return err
	})
	return s, err
}

// BumpSerial increments the serial by one, commits it and returns the new
// value. The serial never goes backwards. Apply calls it once before its
// first change, so that any plan made before is seen as stale.
func (l *Locked) BumpSerial() (uint64, error) {
	var serial uint64
	err := l.submit(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		serial = binary.BigEndian.Uint64(meta.Get(keySerial)) + 1
		return meta.Put(keySerial, u64(serial))
	})
	if err != nil {
		return 0, err
	}
	return serial, nil
}

// Put records b, replacing any binding with the same Kind and Key. It
// returns once the binding is committed to disk. A binding with an empty
// Kind, Key or ID is rejected with ErrInvalidBinding and not written.
func (l *Locked) Put(b plan.Binding) error {
	if err := validKey(l.path, b.Kind, b.Key); err != nil {
		return err
	}
	if b.ID == "" {
		return errorf(ErrInvalidBinding, nil, "refusing to record %s %q in %s without a target id; this is a bug in the caller", b.Kind, b.Key, l.path)
	}
	v, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("state: encode binding %s %q: %w", b.Kind, b.Key, err)
	}
	k := bindingKey(b.Kind, b.Key)
	return l.submit(func(tx *bolt.Tx) error { return tx.Bucket(bucketBindings).Put(k, v) })
}

// Remove deletes the binding for kind and key and returns once that is
// committed to disk. Removing a binding that does not exist is not an error.
func (l *Locked) Remove(kind plan.Kind, key string) error {
	if err := validKey(l.path, kind, key); err != nil {
		return err
	}
	k := bindingKey(kind, key)
	return l.submit(func(tx *bolt.Tx) error { return tx.Bucket(bucketBindings).Delete(k) })
}

func validKey(path string, kind plan.Kind, key string) error {
	switch {
	case kind == "":
		return errorf(ErrInvalidBinding, nil, "refusing to record a binding with key %q in %s without a kind; this is a bug in the caller", key, path)
	case containsNUL(string(kind)):
		return errorf(ErrInvalidBinding, nil, "refusing to record a binding of kind %q in %s because the kind contains a NUL byte; this is a bug in the caller", kind, path)
	case key == "":
		return errorf(ErrInvalidBinding, nil, "refusing to record a %s binding in %s without a primary key; this is a bug in the caller", kind, path)
	}
	return nil
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

// AddRun records r in the run history: it replaces the entry with r's ID
// when there is one (a run recorded when it started is updated and
// finished that way), else it appends r and drops the oldest entries
// beyond MaxRuns. An empty r.ID is filled with a new UUID.
func (l *Locked) AddRun(r Run) error {
	if r.ID == "" {
		r.ID = uuid.NewString()
	}
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("state: encode run %s: %w", r.ID, err)
	}
	return l.submit(func(tx *bolt.Tx) error {
		runs := tx.Bucket(bucketRuns)
		c := runs.Cursor()
		n := 0
		for k, old := c.Last(); k != nil; k, old = c.Prev() {
			var id struct{ ID string }
			if json.Unmarshal(old, &id) == nil && id.ID == r.ID {
				return runs.Put(bytes.Clone(k), v)
			}
			n++
		}
		seq, err := runs.NextSequence()
		if err != nil {
			return err
		}
		if err := runs.Put(u64(seq), v); err != nil {
			return err
		}
		// Delete from the front, re-seeking each time: bbolt cursors may
		// skip an entry when Next follows a Delete.
		for n++; n > MaxRuns; n-- {
			if k, _ := c.First(); k == nil {
				break
			}
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

// Unlock waits for pending writes, removes the lock record and closes the
// file, releasing the lock. It is idempotent: later calls return the first
// call's result.
func (l *Locked) Unlock() error {
	l.unlockOnce.Do(func() {
		l.mu.Lock() // waits for writes in flight
		l.closed = true
		l.mu.Unlock()
		l.gc.Close()
		// Remove the record while still holding the file lock, so that no
		// one sees it without the lock and takes it for a dead holder's.
		rerr := removeLockInfo(l.path)
		cerr := l.db.Close()
		if cerr != nil {
			cerr = fmt.Errorf("state: closing %s failed; its last writes were committed: %w", l.path, cerr)
		}
		l.unlockErr = errors.Join(rerr, cerr)
	})
	return l.unlockErr
}

// ForceUnlock removes the lock record of the state at path when its ID is
// id, and returns the removed record. Use it when a holder died and left
// its record behind (Lock would also take such a lock over, reporting it as
// stale). It refuses with ErrHolderAlive while a live process still holds
// the file open for writing, with ErrLockIDMismatch (naming the held id)
// when the record's id is another, and with ErrNotLocked when there is no
// record.
func ForceUnlock(ctx context.Context, path, id string) (*LockInfo, error) {
	if _, err := os.Stat(path); err == nil {
		// A shared lock conflicts only with a writer: if we get it, no
		// live process holds the state for writing, and no writer can
		// start until we are done.
		db, err := openDB(ctx, path, true, 0)
		if err != nil {
			var le *LockError
			if !errors.As(err, &le) {
				return nil, err
			}
			if le.Info == nil {
				return nil, errorf(ErrHolderAlive, nil, "%s is held by a running process; stop that process instead of forcing the unlock", path)
			}
			return nil, errorf(ErrHolderAlive, nil, "%s is held by a running process (%s, id %s, who %s, pid %d); stop that process instead of forcing the unlock",
				path, le.Info.Operation, le.Info.ID, le.Info.Who, le.Info.PID)
		}
		defer db.Close()
	}
	info, err := readLockInfo(path)
	if err != nil {
		return nil, err
	}
	if info == nil {
		return nil, errorf(ErrNotLocked, nil, "%s is not locked (there is no %s); there is nothing to unlock", path, lockPath(path))
	}
	if info.ID != id {
		return nil, errorf(ErrLockIDMismatch, nil, "%s is locked with id %s, not %s; check the id and try again", path, info.ID, id)
	}
	if err := removeLockInfo(path); err != nil {
		return nil, err
	}
	return info, nil
}
