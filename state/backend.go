package state

import (
	"context"
	"time"

	"github.com/ldapply/ldapply/plan"
)

// Backend is one state location: the bbolt file ([File]) or a remote
// store. Every implementation must keep the same semantics: lineage and
// sign key made once by Init; Read is a consistent read-only view that
// waits at most timeout for a writer; Lock gives one writer at a time and
// reports a dead holder's record through Session.StaleLock; a serial that
// never goes backwards.
type Backend interface {
	// Init creates the state when it does not exist; a no-op otherwise.
	Init(ctx context.Context, timeout time.Duration) error
	// Read returns a snapshot; an empty one (Lineage "") when no state
	// exists. A writer holding the lock longer than timeout gives a
	// *LockError.
	Read(ctx context.Context, timeout time.Duration) (*Snapshot, error)
	// Lock opens the state for writing (creating it like Init).
	Lock(ctx context.Context, info LockInfo, timeout time.Duration) (Session, error)
	// ForceUnlock removes the lock record with the given id.
	ForceUnlock(ctx context.Context, id string) (*LockInfo, error)
	// String names the location for messages (a path, a workspace).
	String() string
}

// Session is a locked, writable state. Put and Remove must be durable
// when they return and safe for concurrent use.
type Session interface {
	// StaleLock is the lock record of a dead holder that Lock took over,
	// or nil.
	StaleLock() *LockInfo
	Snapshot() (*Snapshot, error)
	BumpSerial() (uint64, error)
	Put(b plan.Binding) error
	Remove(kind plan.Kind, key string) error
	AddRun(r Run) error
	Unlock() error
}

// File is the bbolt state file at Path.
type File struct{ Path string }

var (
	_ Backend = File{}
	_ Session = (*Locked)(nil)
)

func (f File) Init(ctx context.Context, timeout time.Duration) error {
	return Init(ctx, f.Path, timeout)
}

func (f File) Read(ctx context.Context, timeout time.Duration) (*Snapshot, error) {
	return Read(ctx, f.Path, timeout)
}

func (f File) Lock(ctx context.Context, info LockInfo, timeout time.Duration) (Session, error) {
	l, err := Lock(ctx, f.Path, info, timeout)
	if err != nil {
		return nil, err
	}
	return l, nil
}

func (f File) ForceUnlock(ctx context.Context, id string) (*LockInfo, error) {
	return ForceUnlock(ctx, f.Path, id)
}

func (f File) String() string { return f.Path }

// StaleLock returns l.Stale.
func (l *Locked) StaleLock() *LockInfo { return l.Stale }
