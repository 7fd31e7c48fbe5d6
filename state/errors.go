package state

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. The package never returns them bare: every error it
// returns is one sentence naming the state file and what to do, and wraps
// the matching sentinel (and the underlying cause, if any) so that callers
// can classify it with errors.Is.
var (
	// ErrLocked is returned (inside a *LockError) when another process
	// holds the state's lock longer than the caller was willing to wait.
	ErrLocked = errors.New("state is locked")

	// ErrHolderAlive is returned by ForceUnlock when the process that
	// wrote the lock record still holds the state file open: forcing the
	// unlock would let two writers run at once, so the process must be
	// stopped instead.
	ErrHolderAlive = errors.New("lock holder is still running")

	// ErrNotLocked is returned by ForceUnlock when there is no lock
	// record to remove.
	ErrNotLocked = errors.New("state is not locked")

	// ErrLockIDMismatch is returned by ForceUnlock when the lock record's
	// id is not the one the caller named.
	ErrLockIDMismatch = errors.New("lock id does not match")

	// ErrFormatVersion is returned when the state file was written in a
	// format version this build does not understand.
	ErrFormatVersion = errors.New("unsupported state format version")

	// ErrCorrupt is returned when the file at the state path is not a
	// bbolt database, is damaged, or is a bbolt database that ldapply did
	// not write.
	ErrCorrupt = errors.New("state file is not valid")

	// ErrInvalidBinding is returned by Put and Remove when the binding has
	// an empty Kind, Key or ID (or a Kind containing a NUL byte). Nothing
	// is written.
	ErrInvalidBinding = errors.New("invalid binding")

	// ErrClosed is returned by the methods of a Locked after Unlock.
	ErrClosed = errors.New("state is closed")
)

// LockError reports that the state is locked by another process. Info is
// the holder's lock record; it is nil when the holder has taken the file
// lock but not yet written its record (or is a short-lived reader).
//
// errors.Is(err, ErrLocked) reports true for a *LockError.
type LockError struct {
	Info *LockInfo
	Path string
}

// Error returns one sentence naming the holder and the way out.
func (e *LockError) Error() string {
	if e.Info == nil {
		return fmt.Sprintf("state %s is locked by another process that has not written a lock record (%s); wait for it to finish and try again",
			e.Path, lockPath(e.Path))
	}
	i := e.Info
	extra := ""
	if i.Info != "" {
		extra = ", info " + i.Info
	}
	return fmt.Sprintf("state %s is locked by %s (id %s, who %s, pid %d, version %s, since %s%s); wait for it to finish, or if that process is gone run `ldapply force-unlock %s`",
		e.Path, i.Operation, i.ID, i.Who, i.PID, i.Version, i.Created.Format(time.RFC3339), extra, i.ID)
}

// Is reports whether target is ErrLocked.
func (e *LockError) Is(target error) bool { return target == ErrLocked }

// stateError is the package's error value: a finished sentence, the
// sentinel that classifies it, and an optional cause.
type stateError struct {
	msg   string
	kind  error
	cause error
}

func (e *stateError) Error() string { return e.msg }

func (e *stateError) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// errorf builds a stateError. format must not contain %w; the message is
// prefixed with "state: ".
func errorf(kind, cause error, format string, args ...any) error {
	return &stateError{msg: "state: " + fmt.Sprintf(format, args...), kind: kind, cause: cause}
}
