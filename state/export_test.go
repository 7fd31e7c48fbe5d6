package state

import "time"

// NewGroupCommitLinger is NewGroupCommit with a linger of its own.
func NewGroupCommitLinger[W any](commit func(batch []W) error, linger time.Duration) *GroupCommit[W] {
	return newGroupCommit(commit, linger)
}
