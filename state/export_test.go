package state

import "time"

// NewGroupCommitLinger is NewGroupCommit with a linger of its own.
func NewGroupCommitLinger[W any](commit func(batch []W) error, linger time.Duration) *GroupCommit[W] {
	return newGroupCommit(commit, linger)
}

// Crash closes the state file as a killed process would: the file lock
// goes, the lock record stays.
func (l *Locked) Crash() error { return l.db.Close() }
