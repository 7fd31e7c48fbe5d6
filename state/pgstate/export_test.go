package pgstate

import "time"

// Commits returns how many write transactions s committed.
func Commits(s *Session) int64 { return s.commits.Load() }

// SetWaitEvery sets how often b logs an exchange that waits.
func SetWaitEvery(b *Backend, d time.Duration) { b.waitEvery = d }
