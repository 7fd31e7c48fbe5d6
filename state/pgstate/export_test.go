package pgstate

// Commits returns how many write transactions s committed.
func Commits(s *Session) int64 { return s.commits.Load() }
